"""DuckDB (with the spatial extension): the backend the semantic check executes.

Every difference from PostGIS lives here; docs/backends.md tabulates them. The central one:
DuckDB geometries carry no SRID and there is no geography type, so this renderer tracks the
SRID of every geometry expression itself (column SRIDs from the schema, ST_SetSRID /
ST_Transform / ST_GeomFromText arguments) and renders

* ``ST_SetSRID(g, n)`` as ``g`` (remembering n),
* ``ST_Transform(g, n)`` as ``ST_Transform(g, 'EPSG:src', 'EPSG:n', always_xy := true)``,
* ``g::geography`` as a transform to the schema's metric SRID (UTM 32N for CIM Wizard), so
  planar metres approximate PostGIS's geodesic metres (tolerance in docs/backends.md), and
  ``geog::geometry`` as the transform back to EPSG:4326.
"""

from __future__ import annotations

from typing import Any, ClassVar

from cimgen import ast
from cimgen.render.backend import BackendRenderer, int_literal, split_type
from cimgen.render.base import P_ATOM, P_CAST, P_MUL, PG_KEYWORDS, Rendered, Text, Unsupported
from cimgen.render.scope import Scope
from cimgen.schema.model import Column as SchemaColumn
from cimgen.schema.model import Schema

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
DEFAULT_SRID = 4326  # what an SRID-less geometry is taken to be (the CIM Wizard data's SRID)

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


def transform(sql: str, src: int, dst: int) -> str:
    return f"ST_Transform({sql}, 'EPSG:{src}', 'EPSG:{dst}', always_xy := true)"


class DuckdbRenderer(BackendRenderer):
    backend = "DuckDB"
    catalogue_key = "duckdb"
    keywords = DUCKDB_KEYWORDS
    special: ClassVar[dict[str, str]] = {
        "ST_SetSRID": "_st_setsrid",
        "ST_Transform": "_st_transform",
        "ST_GeomFromText": "_st_geomfromtext",
        "ST_MakeEnvelope": "_st_makeenvelope",
        "ST_Union": "_st_union",
        "ST_Collect": "_st_collect",
        "ST_DistanceSphere": "_st_distancesphere",
        **dict.fromkeys(
            (
                "ST_Area",
                "ST_Length",
                "ST_Perimeter",
                "ST_Distance",
                "ST_DWithin",
                "ST_Intersects",
                "ST_Covers",
                "ST_CoveredBy",
                "ST_Buffer",
            ),
            "_geography_aware",
        ),
    }

    # ------------------------------------------------------------------ names

    def table_ref(self, ref: ast.TableRef, ctes: dict) -> str:
        qualified = self.qualified_table(ref, ctes)
        if qualified is None or ref.schema is not None:
            return super().table_ref(ref, ctes)  # DuckDB has schemas: keep schema.table
        schema, name = qualified.split(".", 1)
        return super().table_ref(ast.TableRef(name, schema, ref.alias or ref.name), ctes)

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
            if node.name in ("ST_SetSRID", "ST_Transform", "ST_GeomFromText") and len(args) == 2:
                return int_literal(args[1])
            if node.name == "ST_MakeEnvelope" and len(args) == 5:
                return int_literal(args[4])
            if node.name in ("ST_Point", "ST_MakePoint", "ST_MakeEnvelope", "ST_GeomFromText"):
                return None
            if self.kind(node, scope) == "geography":
                return self.metric_srid()
            for arg in args:
                found_srid = self.srid(arg, scope, depth + 1)
                if found_srid is not None:
                    return found_srid
        return None

    def to_geography(self, node: Any, scope: Scope | None) -> Text:
        """``node::geography``: a geometry reprojected to the metric SRID."""
        if self.is_geography(node, scope):
            return self.expr(node, scope)
        src, dst = self.srid(node, scope) or DEFAULT_SRID, self.metric_srid()
        if src == dst:
            return self.expr(node, scope)
        return transform(self.text(node, scope), src, dst), P_ATOM

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
                "ST_Intersects_Extent", self.text(node.left, scope), self.text(node.right, scope)
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
        src = self.srid(geom, scope) or DEFAULT_SRID
        if src == dst:
            return self.expr(geom, scope)
        return transform(self.text(geom, scope), src, dst), P_ATOM

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


def render_duckdb(query: ast.Query, schema: Schema) -> Rendered:
    """DuckDB spatial SQL for ``query``, or the reason it has none."""
    try:
        return Rendered(DuckdbRenderer(schema).render(query), None)
    except Unsupported as exc:
        return Rendered(None, str(exc))
    except Exception as exc:  # never crash the pipeline on an odd tree: report it
        return Rendered(None, f"cannot render for DuckDB: {type(exc).__name__}: {exc}")
