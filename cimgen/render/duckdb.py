"""DuckDB (with the spatial extension): the backend the semantic check executes.

Every difference from PostGIS lives here; docs/backends.md tabulates them. The central one:
DuckDB geometries carry no SRID and there is no geography type, so this renderer tracks the
SRID of every geometry expression itself (column SRIDs from the schema, ST_SetSRID /
ST_Transform / ST_GeomFromText arguments) and renders

* ``ST_SetSRID(g, n)`` as ``g`` (remembering n),
* ``ST_Transform(g, n)`` as ``ST_Transform(g, 'EPSG:src', 'EPSG:n', always_xy := true)``
  (WGS 84 and its UTM zones as the equivalent PROJ strings, :func:`crs`),
* ``g::geography`` as a transform to the schema's metric SRID (UTM 32N for CIM Wizard), so
  planar metres approximate PostGIS's geodesic metres (tolerance in docs/backends.md), and
  ``geog::geometry`` as the transform back to EPSG:4326.

Metric copies: for every geometry column whose SRID is not the schema's metric SRID, the
DuckDB fixture stores a second column (:func:`metric_columns`) holding exactly
``ST_Transform(g, 'EPSG:src', 'EPSG:metric', always_xy := true)``, computed once when the
fixture is built. A transform of a plain table column to the metric SRID (geography casts,
``ST_Transform(g, metric)``) reads that column instead of reprojecting every row -- or every
pair of rows, in a join condition -- at check time (the same values; ~20x faster on queries
that measure in metres). ``SELECT *`` excludes the copies.

Rasters are STRUCTs in the DuckDB fixture; raster calls become the ``rst_*`` macros of
:mod:`cimgen.engines.duckdb_raster` (table in docs/backends.md). Geometries derived from a
raster (its envelope) take their SRID from the raster at run time.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import Any, ClassVar

from cimgen import ast
from cimgen.render.backend import BackendRenderer, int_literal, split_type
from cimgen.render.base import P_ATOM, P_CAST, P_MUL, PG_KEYWORDS, Rendered, Text, Unsupported
from cimgen.render.duckdb_cluster import (
    CLUSTER_FUNCTION,
    clustering,
    input_query,
    input_sql,
    partition_key,
    sql_string,
)
from cimgen.schema.model import DEFAULT_SRID, Schema, Table
from cimgen.schema.model import Column as SchemaColumn
from cimgen.scope import Scope, stated_srid, states_srid

# DuckDB's reserved words beyond PostgreSQL's (SELECT keyword_name FROM duckdb_keywords()
# WHERE keyword_category = 'reserved').
DUCKDB_KEYWORDS = PG_KEYWORDS | {
    "describe",
    "lambda",
    "pivot",
    "pivot_longer",
    "pivot_wider",
    "qualify",
    "show",
    "summarize",
    "unpivot",
}

# PostgreSQL type -> DuckDB type. PostgreSQL's bare ``float`` is 8 bytes (DuckDB's FLOAT is
# 4) and bare ``numeric`` is arbitrary precision (DuckDB's is DECIMAL(18,3)): both DOUBLE.
_TYPES = {
    **dict.fromkeys(("float", "float8", "double precision", "numeric", "decimal"), "DOUBLE"),
    **dict.fromkeys(("real", "float4"), "REAL"),
    **dict.fromkeys(("int", "integer", "int4", "serial"), "INTEGER"),
    **dict.fromkeys(("bigint", "int8", "bigserial"), "BIGINT"),
    **dict.fromkeys(("smallint", "int2"), "SMALLINT"),
    **dict.fromkeys(
        ("text", "varchar", "character varying", "char", "character", "bpchar", "name"), "VARCHAR"
    ),
    **dict.fromkeys(("boolean", "bool"), "BOOLEAN"),
    **dict.fromkeys(("timestamp", "timestamp without time zone"), "TIMESTAMP"),
    **dict.fromkeys(("timestamptz", "timestamp with time zone"), "TIMESTAMPTZ"),
    "date": "DATE",
    "uuid": "UUID",
    **dict.fromkeys(("json", "jsonb"), "JSON"),
}
# PostGIS measurement calls whose trailing use_spheroid flag DuckDB has no place for,
# keyed by the argument count that includes the flag.
_SPHEROID_FLAG_ARITY = {
    "ST_Area": 2,
    "ST_Length": 2,
    "ST_Perimeter": 2,
    "ST_Distance": 3,
    "ST_DWithin": 4,
}


# Raster accessors that read one field of the raster STRUCT (docs/fixtures.md).
_RASTER_FIELDS = {
    "ST_Width": "width",
    "ST_Height": "height",
    "ST_UpperLeftX": "upperleft_x",
    "ST_UpperLeftY": "upperleft_y",
    "ST_ScaleX": "scale_x",
    "ST_ScaleY": "scale_y",
    "ST_BandNoDataValue": "nodata",
    "ST_SRID": "srid",
}
# Raster -> geometry functions (the hull of an unskewed tile is its envelope).
_RASTER_GEOMETRY = {"ST_Envelope": "rst_envelope", "ST_ConvexHull": "rst_envelope"}
# Functions a raster-derived geometry's SRID does not pass through.
_SRID_SETTERS = frozenset(
    {"ST_SetSRID", "ST_Transform", "ST_GeomFromText", "ST_MakeEnvelope", "ST_Point", "ST_MakePoint"}
)


def metric_column_name(column: str, srid: int) -> str:
    """The DuckDB fixture's column holding ``column`` reprojected to ``srid``."""
    return f"{column}$srid{srid}"


def metric_columns(table: Table, schema: Schema) -> list[tuple[SchemaColumn, int, int]]:
    """(column, source SRID, metric SRID) of each geometry column of ``table`` that the
    DuckDB fixture also stores reprojected to the schema's metric SRID."""
    metric = schema.metric_srid
    if not metric:
        return []
    return [
        (c, c.srid or DEFAULT_SRID, metric)
        for c in table.columns
        if c.kind == "geometry"
        and not c.type.lower().startswith("geography")
        and (c.srid or DEFAULT_SRID) != metric
    ]


def crs(srid: int) -> str:
    """The CRS text DuckDB's ST_Transform gets for an SRID: a PROJ string for WGS 84 and its
    UTM zones, ``EPSG:n`` otherwise. Same numbers (tests/test_render.py compares them on the
    fixture), but PROJ builds the operation from a string without looking the codes up in
    its database: ~0.25 ms instead of ~0.7 ms per ST_Transform call site and query."""
    if srid == 4326:
        return "+proj=longlat +datum=WGS84 +no_defs"
    if 32601 <= srid <= 32660 or 32701 <= srid <= 32760:
        south = " +south" if srid > 32700 else ""
        return f"+proj=utm +zone={srid % 100}{south} +datum=WGS84 +units=m +no_defs"
    return f"EPSG:{srid}"


def transform(sql: str, src: int | str, dst: int) -> str:
    """``src``: an SRID, or SQL text of a VARCHAR CRS computed per row (raster SRIDs)."""
    source = f"'{crs(src)}'" if isinstance(src, int) else src
    return f"ST_Transform({sql}, {source}, '{crs(dst)}', always_xy := true)"


@dataclass(frozen=True)
class _IsTrue:
    """``(expr) IS TRUE``: a WHERE / ON conjunct that DuckDB must not take as a join key."""

    expr: ast.Expr


def _other_table_inequality(node: ast.Expr) -> bool:
    """``a.x <> b.y`` between columns of two different tables (a self-join's ``b.id <>
    building.id``)."""
    return (
        isinstance(node, ast.BinaryOp)
        and node.op in ("<>", "!=")
        and isinstance(node.left, ast.Column)
        and isinstance(node.right, ast.Column)
        and node.left.table is not None
        and node.right.table is not None
        and node.left.table != node.right.table
    )


def keep_spatial_join(condition: ast.Expr) -> ast.Expr:
    """``condition`` (a WHERE or ON condition) with each top-level conjunct ``a.x <> b.y``
    written ``(a.x <> b.y) IS TRUE``, which keeps the same rows there (a conjunct that is
    NULL drops the row either way).

    Why: DuckDB plans ``a.x <> b.y`` as the condition of a nested-loop join and the spatial
    predicate beside it (``ST_DWithin(a.g, b.g, d)``) as a filter over every pair, so a
    neighbour self-join of the fixture's 3,338 buildings ran 2.2 s and was rejected at the
    2 s limit (SEM003: 23 of 1,120 candidates, 46 s of CPU, in a 1,000-row run); written
    this way DuckDB plans its SPATIAL_JOIN and the same query takes 0.2 s (issue 16)."""
    parts = ast.conjuncts(condition)
    if not any(_other_table_inequality(c) for c in parts):
        return condition
    out: Any = None
    for c in parts:
        c2: Any = _IsTrue(c) if _other_table_inequality(c) else c
        out = c2 if out is None else ast.BinaryOp("AND", out, c2)
    return out


class DuckdbRenderer(BackendRenderer):
    backend = "DuckDB"
    catalogue_key = "duckdb"
    keywords = DUCKDB_KEYWORDS
    supports_raster = True
    special: ClassVar[dict[str, str]] = {
        **dict.fromkeys(_RASTER_FIELDS, "_raster_field"),
        **dict.fromkeys(_RASTER_GEOMETRY, "_raster_geometry"),
        "ST_Value": "_st_value",
        "ST_SummaryStats": "_st_summarystats",
        "ST_Clip": "_st_clip",
        "ST_PixelWidth": "_st_pixelsize",
        "ST_PixelHeight": "_st_pixelsize",
        "ST_NumBands": "_st_numbands",
        "ST_Polygon": "_st_polygon",
        "ST_SetSRID": "_st_setsrid",
        "ST_Transform": "_st_transform",
        "ST_GeomFromText": "_st_geomfromtext",
        "ST_MakeEnvelope": "_st_makeenvelope",
        "ST_Union": "_st_union",
        "ST_Collect": "_st_collect",
        "ST_DistanceSphere": "_st_distancesphere",
        "ST_GeometryType": "_st_geometrytype",
        "ST_AsGeoJSON": "_st_asgeojson",
        **dict.fromkeys(
            (
                "ST_Area",
                "ST_Length",
                "ST_Perimeter",
                "ST_Distance",
                "ST_DWithin",
                "ST_Covers",
                "ST_CoveredBy",
                "ST_Buffer",
            ),
            "_geography_aware",
        ),
        "ST_Intersects": "_st_intersects",
        "ST_ClusterDBSCAN": "_st_cluster",
        "ST_ClusterKMeans": "_st_cluster",
    }

    _dispatch: ClassVar[dict[type, str]] = {**BackendRenderer._dispatch, _IsTrue: "_is_true"}

    def __init__(self, schema: Schema) -> None:
        super().__init__(schema)
        self._blocks: list[tuple[ast.Select, dict[str, ast.CTE]]] = []  # being rendered

    def select(self, s: ast.Select, parent: Scope | None, ctes: dict) -> str:
        self._blocks.append((s, ctes))
        try:
            return super().select(s, parent, ctes)
        finally:
            self._blocks.pop()

    def condition(self, node: Any, scope: Scope | None) -> str:
        return super().condition(keep_spatial_join(node), scope)

    def join_condition(self, node: Any, scope: Scope | None) -> str:
        return super().join_condition(keep_spatial_join(node), scope)

    def _is_true(self, node: _IsTrue, scope: Scope | None) -> Text:
        return f"({self.text(node.expr, scope)}) IS TRUE", self.p_is

    # ------------------------------------------------------------------ names

    def table_ref(self, ref: ast.TableRef, ctes: dict) -> str:
        qualified = self.qualified_table(ref, ctes)
        if qualified is None or ref.schema is not None:
            return super().table_ref(ref, ctes)  # DuckDB has schemas: keep schema.table
        schema, name = qualified.split(".", 1)
        return super().table_ref(ast.TableRef(name, schema, ref.alias or ref.name), ctes)

    def _star(self, node: ast.Star, scope: Scope | None) -> Text:
        text, prec = super()._star(node, scope)
        if scope is None:
            return text, prec
        hidden = []
        for ref_name, source in scope.sources.items():
            if isinstance(source, Table) and node.table in (None, ref_name):
                prefix = "" if node.table else f"{self.ident(ref_name)}."
                hidden += [
                    prefix + self.ident(metric_column_name(c.name, dst))
                    for c, _, dst in metric_columns(source, self.schema)
                ]
        return (f"{text} EXCLUDE ({', '.join(hidden)})" if hidden else text), prec

    # ------------------------------------------------------------------ SRID tracking

    def srid(self, node: Any, scope: Scope | None, depth: int = 0) -> int | None:
        """The SRID ``node``'s coordinates are in, as rendered for DuckDB (None: unknown)."""
        if depth > 16:
            return None
        if isinstance(node, ast.Column):
            found = scope.resolve(node, depth) if scope is not None else None
            if isinstance(found, SchemaColumn):
                return found.srid
            if isinstance(found, tuple):
                return self.srid(found[0], found[1], depth + 1)
            return None
        if isinstance(node, ast.Cast):
            base, _ = split_type(node.type_name)
            if base == "geography":
                return self.metric_srid()
            if self.is_geography(node.expr, scope):
                return DEFAULT_SRID
            return self.srid(node.expr, scope, depth + 1)
        if isinstance(node, ast.FuncCall):
            args = node.args
            if states_srid(node):
                return stated_srid(node)
            if node.name in ("ST_Point", "ST_MakePoint", "ST_MakeEnvelope", "ST_GeomFromText"):
                return None
            if self.kind(node, scope) == "geography":
                return self.metric_srid()
            for arg in args:
                found_srid = self.srid(arg, scope, depth + 1)
                if found_srid is not None:
                    return found_srid
        return None

    def transformed(self, node: Any, scope: Scope | None, src: int, dst: int) -> Text:
        """``node`` reprojected from ``src`` to ``dst``: a table column's stored metric copy
        when there is one, else ST_Transform."""
        if isinstance(node, ast.Column) and scope is not None:
            found = scope.base_column(node)
            if found is not None:
                ref_name, table, column = found
                for c, c_src, c_dst in metric_columns(table, self.schema):
                    if c.name == column.name and (c_src, c_dst) == (src, dst):
                        name = self.ident(metric_column_name(c.name, dst))
                        return f"{self.ident(ref_name)}.{name}", P_ATOM
        return transform(self.text(node, scope), src, dst), P_ATOM

    def to_geography(self, node: Any, scope: Scope | None) -> Text:
        """``node::geography``: a geometry reprojected to the metric SRID."""
        if self.is_geography(node, scope):
            return self.expr(node, scope)
        dynamic = self.raster_crs(node, scope)
        if dynamic is not None:
            return transform(self.text(node, scope), dynamic, self.metric_srid()), P_ATOM
        src, dst = self.srid(node, scope) or DEFAULT_SRID, self.metric_srid()
        if src == dst:
            return self.expr(node, scope)
        return self.transformed(node, scope, src, dst)

    # ------------------------------------------------------------------ casts and operators

    def _cast(self, node: ast.Cast, scope: Scope | None) -> Text:
        base, mods = split_type(node.type_name)
        if base == "geography":
            return self.to_geography(node.expr, scope)
        if base == "geometry":
            if self.is_geography(node.expr, scope):
                src = self.metric_srid()
                return transform(self.text(node.expr, scope), src, DEFAULT_SRID), P_ATOM
            if isinstance(node.expr, ast.String):
                return self.plain("ST_GeomFromText", self.text(node.expr, scope))
            return self.expr(node.expr, scope)
        if base in ("numeric", "decimal") and mods:
            duck = "DECIMAL" + mods
        elif base in ("varchar", "character varying", "char", "character"):
            duck = "VARCHAR"
        else:
            duck = _TYPES.get(base, node.type_name.upper())
        if node.style == "CAST":
            return f"CAST({self.text(node.expr, scope)} AS {duck})", P_ATOM
        return f"{self.sub(node.expr, scope, P_CAST)}::{duck}", P_CAST

    def _binary(self, node: ast.BinaryOp, scope: Scope | None) -> Text:
        if node.op == "&&":  # bounding boxes intersect: DuckDB's native test for exactly that
            return self.plain(
                "ST_Intersects_Extent",
                self.geometry_text(node.left, scope),
                self.geometry_text(node.right, scope),
            )
        if node.op == "<->":
            return self.plain(
                "ST_Distance", self.text(node.left, scope), self.text(node.right, scope)
            )
        if node.op == "/" and (
            self.kind(node.left, scope) == "integer" == self.kind(node.right, scope)
        ):
            # PostgreSQL's int / int truncates; DuckDB's / is float division, // truncates.
            lhs = self.sub(node.left, scope, P_MUL)
            return f"({lhs} // {self.sub(node.right, scope, P_MUL + 1)})", P_ATOM
        return super()._binary(node, scope)

    def binary(
        self, op: str, left: Any, right: Any, scope: Scope | None, negated: bool = False
    ) -> Text:
        text, prec = super().binary(op, left, right, scope, negated)
        if op in ("LIKE", "ILIKE") and isinstance(right, ast.String) and "\\" in right.value:
            text += " ESCAPE '\\'"  # PostgreSQL's default LIKE escape; DuckDB has none
        return text, prec

    # ------------------------------------------------------------------ special functions

    def _st_setsrid(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) != 2:
            raise Unsupported("ST_SetSRID needs 2 arguments")
        return self.expr(node.args[0], scope)  # DuckDB geometries carry no SRID

    def _st_transform(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        dst = int_literal(node.args[1]) if len(node.args) == 2 else None
        if dst is None:
            raise Unsupported("ST_Transform without a literal target SRID has no DuckDB form")
        geom = node.args[0]
        dynamic = self.raster_crs(geom, scope)
        if dynamic is not None:
            return transform(self.text(geom, scope), dynamic, dst), P_ATOM
        src = self.srid(geom, scope) or DEFAULT_SRID
        if src == dst:
            return self.expr(geom, scope)
        return self.transformed(geom, scope, src, dst)

    def _st_geomfromtext(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # DuckDB's optional 2nd argument is a boolean (ignore_invalid), not an SRID.
        return self.plain("ST_GeomFromText", self.text(node.args[0], scope))

    def _st_makeenvelope(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        return self.plain("ST_MakeEnvelope", *(self.text(a, scope) for a in node.args[:4]))

    def _st_union(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) == 1:  # the aggregate form
            return self.call("ST_Union_Agg", node, node.args, scope), P_ATOM
        return self.call("ST_Union", node, node.args, scope), P_ATOM

    def _st_collect(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) == 1:  # aggregate: collect a list of the group's geometries
            return f"ST_Collect({self.call('LIST', node, node.args, scope)})", P_ATOM
        items = ", ".join(self.text(a, scope) for a in node.args)
        return f"ST_Collect([{items}])", P_ATOM

    def _st_geometrytype(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # DuckDB returns its GEOMETRY_TYPE enum, which it cannot sort or group by in every
        # plan ("Type with name GEOMETRY_TYPE does not exist"); PostgreSQL returns text.
        return f"CAST({self.call('ST_GeometryType', node, node.args, scope)} AS VARCHAR)", P_ATOM

    def _st_asgeojson(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # DuckDB returns JSON, which a UNION with a text arm casts the text to (and fails);
        # PostgreSQL returns text.
        return f"CAST({self.call('ST_AsGeoJSON', node, node.args, scope)} AS VARCHAR)", P_ATOM

    def _st_distancesphere(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # DuckDB's haversine expects [lat, lon] axis order; PostGIS geometries are [lon, lat].
        a, b = (f"ST_FlipCoordinates({self.text(g, scope)})" for g in node.args[:2])
        return self.plain("ST_Distance_Sphere", a, b)

    def _geography_aware(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        """Functions with geography overloads: drop PostGIS's use_spheroid flag, and cast
        plain geometry arguments to geography when another one is (PostGIS's implicit
        geometry -> geography cast) so every argument ends up in the same SRID."""
        args = node.args
        if _SPHEROID_FLAG_ARITY.get(node.name) == len(args):
            args = args[:-1]
        kinds = [self.kind(a, scope) for a in args]
        if "geography" in kinds:
            args = tuple(
                ast.Cast(a, "geography") if k == "geometry" else a
                for a, k in zip(args, kinds, strict=True)
            )
        return self.call(self.function_name(node), node, args, scope), P_ATOM

    def _st_cluster(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        """A window clustering: the ``cimgen_cluster`` UDF reading its block's rows
        (:mod:`cimgen.render.duckdb_cluster`)."""
        call = clustering(node)
        if not self._blocks:
            raise Unsupported(f"{node.name} outside a SELECT block")
        block, ctes = self._blocks[-1]
        rows = DuckdbRenderer(self.schema).render(input_query(block, ctes, call))
        key = partition_key([self.text(p, scope) for p in call.partition])
        geometry = self.text(call.geometry, scope)
        args = [sql_string(call.kind), repr(call.a), repr(call.b)]
        args += [sql_string(input_sql(rows, call)), key, f"ST_AsWKB({geometry})"]
        return f"{CLUSTER_FUNCTION}({', '.join(args)})", P_ATOM

    # ------------------------------------------------------------------ rasters

    def is_raster(self, node: Any, scope: Scope | None) -> bool:
        return self.kind(node, scope) == "raster"

    def geometry_text(self, node: Any, scope: Scope | None) -> str:
        """``node`` as a geometry: a raster becomes its envelope (PostGIS's raster::geometry)."""
        if self.is_raster(node, scope):
            return f"rst_envelope({self.text(node, scope)})"
        return self.text(node, scope)

    def srid_arg(self, node: Any, scope: Scope | None) -> str:
        """The SRID a geometry argument is known to have, for the macros' SRID check."""
        found = self.srid(node, scope)
        return str(found) if found is not None else "NULL"

    def raster_crs(self, node: Any, scope: Scope | None, depth: int = 0) -> str | None:
        """SQL for the CRS of a geometry derived from a raster (``'EPSG:' || srid``), when
        that is where its SRID comes from; None otherwise."""
        if depth > 16 or self.srid(node, scope) is not None:
            return None
        if isinstance(node, ast.Cast):
            return self.raster_crs(node.expr, scope, depth + 1)
        if not isinstance(node, ast.FuncCall) or node.name in _SRID_SETTERS:
            return None
        raster_call = node.name in (*_RASTER_GEOMETRY, "ST_Polygon") and node.args
        if raster_call and self.is_raster(node.args[0], scope):
            rast = self.text(node.args[0], scope)
            return f"('EPSG:' || CAST(struct_extract({rast}, 'srid') AS VARCHAR))"
        for arg in node.args:
            found = self.raster_crs(arg, scope, depth + 1)
            if found is not None:
                return found
        return None

    def _raster_args(self, node: ast.FuncCall, scope: Scope | None) -> tuple[Any, Any]:
        """(raster, geometry) of a raster-geometry call with an optional band argument."""
        args = node.args
        if len(args) >= 3 and isinstance(args[1], ast.Number):
            if int_literal(args[1]) != 1:
                raise Unsupported(f"{node.name} on a band other than 1 (fixture rasters have one)")
            return args[0], args[2]
        return args[0], args[1]

    def _raster_field(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if not node.args or not self.is_raster(node.args[0], scope):
            return self.call(self.function_name(node), node, node.args, scope), P_ATOM
        rast = self.text(node.args[0], scope)
        return f"struct_extract({rast}, '{_RASTER_FIELDS[node.name]}')", P_ATOM

    def _raster_geometry(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) == 1 and self.is_raster(node.args[0], scope):
            return self.plain(_RASTER_GEOMETRY[node.name], self.text(node.args[0], scope))
        return self.call(self.function_name(node), node, node.args, scope), P_ATOM

    def _st_polygon(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        return self.plain("rst_polygon", self.text(node.args[0], scope))

    def _st_pixelsize(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        field = "scale_x" if node.name == "ST_PixelWidth" else "scale_y"
        return f"abs(struct_extract({self.text(node.args[0], scope)}, '{field}'))", P_ATOM

    def _st_numbands(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        rast = self.text(node.args[0], scope)
        return f"CASE WHEN {rast} IS NULL THEN NULL ELSE 1 END", P_ATOM

    def _st_value(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) not in (2, 3):
            raise Unsupported(f"ST_Value with {len(node.args)} arguments has no DuckDB form")
        rast, geom = self._raster_args(node, scope)
        # a raster column: the macro that does not copy the tile per row (duckdb_raster)
        macro = "rst_column_value" if isinstance(rast, ast.Column) else "rst_value"
        return self.plain(
            macro,
            self.text(rast, scope),
            self.text(geom, scope),
            self.srid_arg(geom, scope),
        )

    def _st_summarystats(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) == 2 and int_literal(node.args[1]) != 1:
            raise Unsupported("ST_SummaryStats on a band other than 1 has no DuckDB form")
        rast = node.args[0]
        if isinstance(rast, ast.Column) and scope is not None:
            found = scope.resolve(rast)
            if isinstance(found, SchemaColumn) and found.kind == "raster":
                # a stored tile (directly or through CTEs): its precomputed statistics
                return self.plain("rst_tile_stats", self.text(rast, scope))
        return self.plain("rst_summarystats", self.text(rast, scope))

    def _st_clip(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        args = node.args
        if len(args) == 4:
            if int_literal(args[1]) != 1:
                raise Unsupported("ST_Clip on a band other than 1 has no DuckDB form")
            args = (args[0], args[2], args[3])
        if len(args) not in (2, 3):
            raise Unsupported(f"ST_Clip with {len(node.args)} arguments has no DuckDB form")
        crop = self.text(args[2], scope) if len(args) == 3 else "true"
        return self.plain(
            "rst_clip",
            self.text(args[0], scope),
            self.text(args[1], scope),
            crop,
            self.srid_arg(args[1], scope),
        )

    def _st_intersects(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if len(node.args) == 2:
            a, b = node.args
            if self.is_raster(a, scope) and self.is_raster(b, scope):
                raise Unsupported("ST_Intersects of two rasters has no DuckDB form")
            if self.is_raster(b, scope):
                a, b = b, a
            if self.is_raster(a, scope):
                return self.plain(
                    "rst_intersects",
                    self.text(a, scope),
                    self.text(b, scope),
                    self.srid_arg(b, scope),
                )
        return self._geography_aware(node, scope)

    def _field_access(self, node: ast.FieldAccess, scope: Scope | None) -> Text:
        expr = node.expr
        if isinstance(expr, ast.FuncCall) and expr.name == "ST_SummaryStats":
            fields = self.catalogue.get("ST_SummaryStats")
            allowed = fields.fields if fields is not None else ()
            if node.field not in allowed:
                raise Unsupported(f"ST_SummaryStats has no field {node.field}")
            return f"struct_extract({self.text(expr, scope)}, '{node.field}')", P_ATOM
        return super()._field_access(node, scope)


def render_duckdb(query: ast.Query, schema: Schema) -> Rendered:
    """DuckDB spatial SQL for ``query``, or the reason it has none."""
    try:
        return Rendered(DuckdbRenderer(schema).render(query), None)
    except Unsupported as exc:
        return Rendered(None, str(exc))
    except Exception:  # our bug, not DuckDB's gap: a defect (RND001), not "not checkable"
        return Rendered(None, None, traceback.format_exc())
