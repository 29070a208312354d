"""Spatial units: small expressions made of catalogue functions whose argument types fit.

A unit knows the catalogue category of every spatial call it makes (``cats``), so the
expander can hit ``spatial_function_count`` and ``primary_function_category`` exactly. Units
are offered per query block from the geometry / raster columns in scope; metric results go
through ``::geography`` (SRID 4326) and mixed SRIDs are aligned with ``ST_Transform``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from cimgen import ast
from cimgen.expand.context import ExpansionContext, GeomCol

Call = Callable[..., ast.FuncCall]

# Tables with at least this many (fixture) rows are "big": no ST_DWithin on ::geography
# between two of them (evaluated pair by pair: no index in PostGIS, per-pair transforms in
# DuckDB).
BIG_TABLE = 300
# ST_Union only over fewer estimated input rows: dissolving ~3,000 building footprints takes
# ~0.6 s in DuckDB (ST_Collect of the same rows ~2 ms); ~900 grid lines ~20 ms.
UNION_ROWS = 1000
# ST_Clip only over fewer estimated rows: a clip rasterizes its geometry on the tile's cells
# (~0.03 ms for a footprint, ~2.5 ms for a project boundary over a 2,500-cell tile) once per
# row, and clips per row of a join product were most of the DuckDB check's slowest queries.
CLIP_ROWS = 300


@dataclass(frozen=True)
class Unit:
    name: str
    cats: tuple[str, ...]
    out: str  # num | bool | geom | text
    make: Callable[[], ast.Expr]
    alias: str = ""
    window: bool = False
    aggregate: bool = False


@dataclass(frozen=True)
class GeoRef:
    alias: str
    col: GeomCol

    def expr(self) -> ast.Column:
        return ast.Column(self.col.name, self.alias)


def num(value: float, digits: int = 4) -> ast.Number:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return ast.Number(text or "0")


class UnitFactory:
    """Builds the unit options of one block; ``call`` adds ``public.`` when the query does."""

    def __init__(self, ctx: ExpansionContext, rng: random.Random, public: bool) -> None:
        self.ctx, self.rng, self.public = ctx, rng, public
        self.metric = ctx.schema.metric_srid

    def call(self, name: str, *args: ast.Expr, **kw: object) -> ast.FuncCall:
        return ast.FuncCall(name, tuple(args), schema="public" if self.public else None, **kw)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ helpers

    def geog(self, e: ast.Expr, srid: int | None) -> ast.Expr:
        return ast.Cast(e, "geography") if srid in (4326, None) else e

    def point(self, srid: int | None) -> tuple[ast.Expr, tuple[str, ...]]:
        x0, y0, x1, y1 = self.ctx.extent
        lon = round(self.rng.uniform(x0, x1), 5)
        lat = round(self.rng.uniform(y0, y1), 5)
        p: ast.Expr = self.call(
            "ST_SetSRID", self.call("ST_MakePoint", num(lon, 5), num(lat, 5)), ast.Number("4326")
        )
        if srid not in (4326, None):
            return self.call("ST_Transform", p, ast.Number(str(srid))), (
                "constructors",
                "constructors",
                "transforms",
            )
        return p, ("constructors", "constructors")

    def envelope(self, srid: int | None) -> tuple[ast.Expr, tuple[str, ...]]:
        x0, y0, x1, y1 = self.ctx.extent
        w, h = (x1 - x0) / 3, (y1 - y0) / 3
        ax, ay = self.rng.uniform(x0, x1 - w), self.rng.uniform(y0, y1 - h)
        env: ast.Expr = self.call(
            "ST_MakeEnvelope",
            num(ax, 4),
            num(ay, 4),
            num(ax + w, 4),
            num(ay + h, 4),
            ast.Number("4326"),
        )
        if srid not in (4326, None):
            return self.call("ST_Transform", env, ast.Number(str(srid))), (
                "constructors",
                "transforms",
            )
        return env, ("constructors",)

    def align(self, a: GeoRef, b: GeoRef) -> tuple[ast.Expr, tuple[str, ...]]:
        """``b`` in ``a``'s SRID."""
        if a.col.srid == b.col.srid or a.col.srid is None or b.col.srid is None:
            return b.expr(), ()
        return self.call("ST_Transform", b.expr(), ast.Number(str(a.col.srid))), ("transforms",)

    def distance(self) -> ast.Number:
        return ast.Number(str(self.rng.choice((50, 100, 150, 200, 250, 300, 500, 750, 1000))))

    # ------------------------------------------------------------------ options

    def single(self, g: GeoRef) -> list[Unit]:
        c, e, s = self, g.expr(), g.col.srid
        w = g.col.name.split("_")[0][:8]
        out = [
            Unit("npoints", ("accessors",), "num", lambda: c.call("ST_NPoints", e), "n_vertices"),
            Unit(
                "gtype", ("accessors",), "text", lambda: c.call("ST_GeometryType", e), "geom_type"
            ),
            Unit(
                "wkt",
                ("accessors",),
                "text",
                lambda: c.call(c.rng.choice(("ST_AsText", "ST_AsGeoJSON")), e),
                f"{w}_text",
            ),
            Unit(
                "bbox",
                ("accessors",),
                "num",
                lambda: c.call(c.rng.choice(("ST_XMin", "ST_XMax", "ST_YMin", "ST_YMax")), e),
                f"{w}_bound",
            ),
            Unit("valid", ("predicates",), "bool", lambda: c.call("ST_IsValid", e), "is_valid"),
            Unit(
                "centroid",
                ("processing",),
                "geom",
                lambda: c.call(c.rng.choice(("ST_Centroid", "ST_Envelope", "ST_ConvexHull")), e),
                f"{w}_shape",
            ),
            Unit(
                "transform",
                ("transforms",),
                "geom",
                lambda: c.call("ST_Transform", e, ast.Number(str(c.metric or 3857))),
                f"{w}_utm",
            ),
            Unit(
                "cx",
                ("accessors", "processing"),
                "num",
                lambda: c.call(c.rng.choice(("ST_X", "ST_Y")), c.call("ST_Centroid", e)),
                "centroid_x",
            ),
        ]
        if g.col.point:
            # a measurement on points: the area of a metric buffer around them
            out.append(
                Unit(
                    "buffer_area",
                    ("measurements", "processing"),
                    "num",
                    lambda: c.call(
                        "ST_Area",
                        c.call("ST_Buffer", ast.Cast(e, "geography"), c.distance()),
                    ),
                    "buffer_m2",
                )
            )
            out.append(
                Unit(
                    "xy",
                    ("accessors",),
                    "num",
                    lambda: c.call(c.rng.choice(("ST_X", "ST_Y")), e),
                    c.rng.choice(("lon", "lat", "x_coord")),
                )
            )
        if g.col.areal:
            out += [
                Unit(
                    "area",
                    ("measurements",),
                    "num",
                    lambda: c.call(c.rng.choice(("ST_Area", "ST_Perimeter")), c.geog(e, s)),
                    c.rng.choice(("area_m2", "area_sqm", "perimeter_m", "footprint_m2")),
                ),
                Unit(
                    "area_utm",
                    ("measurements", "transforms"),
                    "num",
                    lambda: c.call(
                        "ST_Area", c.call("ST_Transform", e, ast.Number(str(c.metric or 3857)))
                    ),
                    "area_utm",
                ),
                Unit(
                    "hull_area",
                    ("measurements", "processing"),
                    "num",
                    lambda: c.call("ST_Area", ast.Cast(c.call("ST_ConvexHull", e), "geography")),
                    "hull_m2",
                ),
                Unit(
                    "pos",
                    ("processing",),
                    "geom",
                    lambda: c.call("ST_PointOnSurface", e),
                    "inner_point",
                ),
            ]
        if g.col.linear:
            out += [
                Unit(
                    "length",
                    ("measurements",),
                    "num",
                    lambda: c.call("ST_Length", c.geog(e, s)),
                    c.rng.choice(("length_m", "line_length")),
                ),
                Unit(
                    "length_utm",
                    ("measurements", "transforms"),
                    "num",
                    lambda: c.call(
                        "ST_Length", c.call("ST_Transform", e, ast.Number(str(c.metric or 3857)))
                    ),
                    "length_utm",
                ),
            ]
        pt, pcats = self.point(s)
        env, ecats = self.envelope(s)
        out += [
            Unit(
                "dist_pt",
                ("measurements", *pcats),
                "num",
                lambda: c.call("ST_Distance", c.geog(e, s), c.geog(pt, s)),
                "dist_m",
            ),
            Unit(
                "dwithin_pt",
                ("predicates", *pcats),
                "bool",
                lambda: c.call("ST_DWithin", c.geog(e, s), c.geog(pt, s), c.distance()),
                "near_point",
            ),
            Unit(
                "in_env",
                ("predicates", *ecats),
                "bool",
                lambda: c.call(c.rng.choice(("ST_Intersects", "ST_Within")), e, env),
                "in_area",
            ),
        ]
        return out

    def pair(self, a: GeoRef, b: GeoRef) -> list[Unit]:
        c, ea, s = self, a.expr(), a.col.srid
        eb, tcats = self.align(a, b)
        preds = ["ST_Intersects", "ST_Touches", "ST_Disjoint"]
        if a.col.areal:
            preds += ["ST_Contains", "ST_Covers"]
        if b.col.areal:
            preds += ["ST_Within", "ST_CoveredBy"]
        out = [
            Unit(
                "dist",
                ("measurements", *tcats),
                "num",
                lambda: c.call("ST_Distance", c.geog(ea, s), c.geog(eb, s)),
                "distance_m",
            ),
            Unit(
                "pred2",
                ("predicates", *tcats),
                "bool",
                lambda: c.call(c.rng.choice(preds), ea, eb),
                "related",
            ),
            Unit(
                "dwithin",
                ("predicates", *tcats),
                "bool",
                lambda: c.call("ST_DWithin", c.geog(ea, s), c.geog(eb, s), c.distance()),
                "is_near",
            ),
        ]
        if a.col.point and b.col.point:
            out.append(
                Unit(
                    "line_length",
                    ("measurements", "constructors", *tcats),
                    "num",
                    lambda: c.call(
                        "ST_Length", ast.Cast(c.call("ST_MakeLine", ea, eb), "geography")
                    ),
                    "segment_m",
                )
            )
        if a.col.areal and b.col.areal:
            out.append(
                Unit(
                    "overlap",
                    ("measurements", "processing", *tcats),
                    "num",
                    lambda: c.call(
                        "ST_Area", ast.Cast(c.call("ST_Intersection", ea, eb), "geography")
                    ),
                    "overlap_m2",
                )
            )
        return out

    def raster(self, r: GeoRef, g: GeoRef | None, rows: float = 0.0) -> list[Unit]:
        """Raster units; clipping (``ST_Clip``) only below ``CLIP_ROWS`` estimated rows."""
        c, er = self, r.expr()
        out = [
            Unit(
                "rmeta",
                ("raster",),
                "num",
                lambda: c.call(
                    c.rng.choice(
                        (
                            "ST_Width",
                            "ST_Height",
                            "ST_NumBands",
                            "ST_PixelWidth",
                            "ST_ScaleX",
                            "ST_UpperLeftX",
                            "ST_UpperLeftY",
                        )
                    ),
                    er,
                ),
                "raster_meta",
            ),
            Unit(
                "rstats",
                ("raster",),
                "num",
                lambda: ast.FieldAccess(
                    c.call("ST_SummaryStats", er), c.rng.choice(("mean", "max", "min"))
                ),
                "tile_stat",
            ),
            Unit(
                "rhull", ("processing",), "geom", lambda: c.call("ST_Envelope", er), "tile_extent"
            ),
        ]
        if g is not None:
            eg = g.expr()
            if g.col.point:
                out.append(
                    Unit(
                        "rvalue",
                        ("raster",),
                        "num",
                        lambda: c.call("ST_Value", er, eg),
                        "elevation",
                    )
                )
            out.append(
                Unit(
                    "rvalue_c",
                    ("raster", "processing"),
                    "num",
                    lambda: c.call("ST_Value", er, c.call("ST_Centroid", eg)),
                    "elevation",
                )
            )
            if g.col.areal and rows < CLIP_ROWS:
                out.append(
                    Unit(
                        "rclip",
                        ("raster", "raster"),
                        "num",
                        lambda: ast.FieldAccess(
                            c.call("ST_SummaryStats", c.call("ST_Clip", er, eg)),
                            c.rng.choice(("mean", "max", "min")),
                        ),
                        "clipped_stat",
                    )
                )
            out.append(
                Unit(
                    "rinter",
                    ("predicates",),
                    "bool",
                    lambda: c.call("ST_Intersects", er, eg),
                    "covers_tile",
                )
            )
        return out

    def cluster(self, g: GeoRef) -> list[Unit]:
        c, e = self, g.expr()
        return [
            Unit(
                "dbscan",
                ("clustering",),
                "num",
                lambda: ast.FuncCall(
                    "ST_ClusterDBSCAN",
                    (
                        e,
                        ast.NamedArg("eps", num(c.rng.choice((0.0005, 0.001, 0.002)))),
                        ast.NamedArg("minpoints", ast.Number(str(c.rng.choice((2, 3, 5))))),
                    ),
                    schema="public" if c.public else None,
                    over=ast.Window(),
                ),
                "cluster_id",
                window=True,
            ),
            Unit(
                "kmeans",
                ("clustering",),
                "num",
                lambda: ast.FuncCall(
                    "ST_ClusterKMeans",
                    (e, ast.Number(str(c.rng.choice((3, 4, 5, 8))))),
                    schema="public" if c.public else None,
                    over=ast.Window(),
                ),
                "cluster_id",
                window=True,
            ),
        ]

    def aggregates(self, g: GeoRef, rows: float = 0.0) -> list[Unit]:
        """Geometry aggregates; over ``UNION_ROWS`` estimated input rows or more (a big
        table, or a join product) they collect instead of dissolving (ST_Union grows much
        faster than linearly with overlapping inputs and dominated the execution checks)."""
        c, e = self, g.expr()
        merge = ("ST_Union", "ST_Collect") if rows < UNION_ROWS else ("ST_Collect",)
        return [
            Unit(
                "union",
                ("processing",),
                "geom",
                lambda: c.call(c.rng.choice(merge), e),
                "merged_geom",
                aggregate=True,
            ),
            Unit(
                "union_area",
                ("measurements", "processing"),
                "num",
                lambda: c.call("ST_Area", ast.Cast(c.call(c.rng.choice(merge), e), "geography")),
                "total_area_m2",
                aggregate=True,
            ),
        ]
