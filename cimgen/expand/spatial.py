"""Spatial expressions that mean something: each builder knows which geometry types it fits
and returns metres where it measures.

* areas and perimeters only of polygons, lengths only of lines, coordinates of points
  (or of a polygon's centroid), distances between two geometries;
* measurements in metres through ``::geography`` (SRID 4326 data) or ``ST_Transform`` to
  the schema's metric SRID -- never in degrees;
* geometries of different SRIDs meet only through ``ST_Transform`` (to the column's SRID);
* constructed points and boxes are in SRID 4326 (``ST_SetSRID(ST_MakePoint(lon, lat),
  4326)``), transformed to the column's SRID when it differs;
* a distance *join* between two geographic columns is index-friendly by construction:
  ``b && ST_Expand(a, degrees) AND ST_DWithin(a::geography, b::geography, metres)``, ``b``
  the table looked up per row of ``a``. A bare
  ``ST_DWithin`` on ``::geography`` (or on ``ST_Transform``-ed columns) is served by no index
  (the indexes are on the geometry), so PostGIS measures every pair: on the foreign world a
  clustering over two such joins ran past the 60 s statement timeout (issue 14). The box is
  a superset of the metric test (see :func:`degrees_for`), so the rows are the same.
"""

from __future__ import annotations

import math
import random

from cimgen import ast
from cimgen.expand.context import ExpansionContext, GeomCol
from cimgen.expand.values import number
from cimgen.schema.model import DEFAULT_SRID, GEOGRAPHIC_SRIDS

METRES_PER_DEGREE = 111_320.0  # along a meridian (and along the equator)
BOX_LATITUDE = 60.0  # without a corpus region, boxes are wide enough up to this latitude


def degrees_for(metres: float, latitude: float) -> float:
    """Degrees of longitude (the wider of the two) that ``metres`` span at ``latitude``,
    with a 10 % margin for the spheroid and rounded up to 5 decimals: a box widened by it
    holds every geometry within ``metres``.

    >>> degrees_for(100.0, 45.0)
    0.0014
    """
    lat = min(abs(latitude), 85.0)
    deg = 1.1 * metres / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    return math.ceil(deg * 1e5) / 1e5


class Spatial:
    """Builders of spatial expressions for one query (``public.`` qualification is drawn
    once per query, as the corpus writes it)."""

    def __init__(self, ctx: ExpansionContext, rng: random.Random) -> None:
        self.ctx, self.rng = ctx, rng
        self.public = rng.random() < ctx.public_share
        self.metric_srid = ctx.schema.metric_srid or 3857
        self.use_geography = rng.random() < 0.7  # vs ST_Transform(g, metric SRID)

    def call(self, name: str, *args: ast.Expr, **kw: object) -> ast.FuncCall:
        return ast.FuncCall(name, tuple(args), schema="public" if self.public else None, **kw)  # type: ignore[arg-type]

    # ------------------------------------------------------------------ metric

    def metric(self, g: ast.Expr, srid: int | None) -> ast.Expr:
        """``g`` in a metric space: ``g::geography`` or ``ST_Transform(g, metric)``."""
        srid = srid or DEFAULT_SRID
        if srid == self.metric_srid:
            return g
        if srid == 4326 and (self.use_geography or not self.ctx.can("ST_Transform")):
            return ast.Cast(g, "geography")
        return self.call("ST_Transform", g, ast.Number(str(self.metric_srid)))

    def area(self, g: ast.Expr, srid: int | None) -> ast.Expr:
        return self.call("ST_Area", self.metric(g, srid))

    def perimeter(self, g: ast.Expr, srid: int | None) -> ast.Expr:
        return self.call("ST_Perimeter", self.metric(g, srid))

    def length(self, g: ast.Expr, srid: int | None) -> ast.Expr:
        return self.call("ST_Length", self.metric(g, srid))

    def size(self, g: ast.Expr, col: GeomCol, dim: int) -> tuple[ast.Expr, str]:
        """The natural size of a geometry: area (m²) of polygons, length (m) of lines."""
        if dim == 2:
            if self.rng.random() < 0.15 and self.ctx.can("ST_Perimeter"):
                return self.perimeter(g, col.srid), "perimeter_m"
            return self.area(g, col.srid), "area_m2"
        return self.length(g, col.srid), "length_m"

    def aligned(self, g: ast.Expr, srid: int | None, target: int | None) -> ast.Expr:
        """``g`` in ``target``'s SRID (ST_Transform when they differ)."""
        if (srid or DEFAULT_SRID) == (target or DEFAULT_SRID):
            return g
        return self.call("ST_Transform", g, ast.Number(str(target or DEFAULT_SRID)))

    def distance(self, a: ast.Expr, sa: int | None, b: ast.Expr, sb: int | None) -> ast.Expr:
        """Distance in metres between two geometries (SRIDs aligned first)."""
        b = self.aligned(b, sb, sa)
        return self.call("ST_Distance", self.metric(a, sa), self.metric(b, sa))

    # ------------------------------------------------------------------ constructed

    def point(self, lon: float, lat: float, target: int | None) -> ast.Expr:
        make = (
            "ST_MakePoint"
            if self.rng.random() < 0.8 or not self.ctx.can("ST_Point")
            else "ST_Point"
        )
        p: ast.Expr = self.call(
            "ST_SetSRID", self.call(make, number(lon, 5), number(lat, 5)), ast.Number("4326")
        )
        return self.aligned(p, 4326, target)

    def envelope(self, box: tuple[float, float, float, float], target: int | None) -> ast.Expr:
        env: ast.Expr = self.call(
            "ST_MakeEnvelope", *(number(v, 4) for v in box), ast.Number("4326")
        )
        return self.aligned(env, 4326, target)

    def within_distance(
        self,
        g: ast.Expr,
        sg: int | None,
        other: ast.Expr,
        so: int | None,
        d: float,
        *,
        lookup: str = "",
    ) -> ast.Expr:
        """``ST_DWithin`` in metres (geography, or both sides in the metric SRID). In a join
        of two geographic columns, ``lookup`` names the side looked up per row of the other
        (``"g"`` or ``"other"``: the joined table, the subquery's table), and the test is
        prefixed with the bounding-box test its index serves, ``looked_up && ST_Expand(
        row's, degrees)`` (module docstring). The index serves only the bare column:
        ``a && ST_Expand(b, d)`` is looked up in ``a``'s index, never in ``b``'s."""
        other = self.aligned(other, so, sg)
        mg, mo = self.metric(g, sg), self.metric(other, sg)
        test = self.call("ST_DWithin", mg, mo, number(d, 1))
        geographic = (sg or DEFAULT_SRID) in GEOGRAPHIC_SRIDS
        if not lookup or mg is g or not geographic or not self.ctx.can("ST_Expand"):
            return test
        deg = number(degrees_for(d, self.box_latitude()), 5)
        looked, row = (g, other) if lookup == "g" else (other, g)
        box = ast.BinaryOp("&&", looked, self.call("ST_Expand", row, deg))
        return ast.BinaryOp("AND", box, test)

    def box_latitude(self) -> float:
        """The highest latitude the data reaches (the corpus region's, else BOX_LATITUDE)."""
        region = self.ctx.pools.region
        if region is None:
            return BOX_LATITUDE
        return max(abs(region[1]), abs(region[3])) + 1.0

    def relate(
        self, name: str, a: ast.Expr, sa: int | None, b: ast.Expr, sb: int | None
    ) -> ast.Expr:
        return self.call(name, a, self.aligned(b, sb, sa))

    # ------------------------------------------------------------------ accessors

    def coordinates(
        self, g: ast.Expr, dim: int
    ) -> tuple[tuple[ast.Expr, str], tuple[ast.Expr, str]]:
        """Longitude and latitude of a point, or of a polygon's / line's centroid."""
        base = g if dim == 0 else self.call("ST_Centroid", g)
        return (self.call("ST_X", base), "lon"), (self.call("ST_Y", base), "lat")

    # ------------------------------------------------------------------ raster

    def raster_at(
        self, rast: ast.Expr, g: ast.Expr, dim: int, rsrid: int | None, gsrid: int | None
    ) -> ast.Expr:
        """The raster's value at a point, or at a geometry's centroid (where a raster link
        meets the geometry: ``cimgen.expand.block``)."""
        if dim != 0:
            g = self.call("ST_Centroid", g)
        return self.call("ST_Value", rast, self.aligned(g, gsrid, rsrid))

    def raster_stat(
        self, rast: ast.Expr, g: ast.Expr, stat: str, rsrid: int | None, gsrid: int | None
    ) -> ast.Expr:
        """``(ST_SummaryStats(ST_Clip(rast, g))).stat`` -- a statistic over a polygon."""
        clip = self.call("ST_Clip", rast, self.aligned(g, gsrid, rsrid))
        return ast.FieldAccess(self.call("ST_SummaryStats", clip), stat)
