"""SpatiaLite (SQLite + mod_spatialite): the dataset's ``sql_spatialite``.

SQLite has no schemas, so ``cim_vector.building`` becomes the table
``cim_vector__building`` (:func:`spatialite_table_name`) with the original table name as its
alias, which keeps ``building.col`` references valid. SpatiaLite geometries keep their SRID,
so ST_Transform / SetSRID work as in PostGIS; geography becomes the ``use_ellipsoid``
argument of the measurement functions. Differences are tabulated in docs/backends.md.
Note: the ellipsoidal functions and ST_Transform need the spatial_ref_sys table
(``SELECT InitSpatialMetadata(1)`` when creating the database).
"""

from __future__ import annotations

import traceback
from typing import ClassVar

import apsw

from cimgen import ast
from cimgen.render.backend import BackendRenderer, split_type
from cimgen.render.base import (
    P_ATOM,
    PG_KEYWORDS,
    Rendered,
    Text,
    Unsupported,
    indent,
)
from cimgen.render.scope import Scope
from cimgen.schema.model import Schema

SQLITE_KEYWORDS = PG_KEYWORDS | {k.lower() for k in apsw.keywords}
GEOGRAPHY_SRID = 4326  # PostGIS geography is lon/lat on WGS 84
_GLOB_LITERAL = {"*": "[*]", "?": "[?]", "[": "[[]"}

# SQLite's operator precedence differs from PostgreSQL's: || binds tightest, LIKE / IN /
# BETWEEN / IS share the level of = and <>, which sits below < <= > >=.
_S_OR, _S_AND, _S_NOT, _S_EQ, _S_REL, _S_ADD, _S_MUL, _S_CONCAT, _S_UNARY = (
    10,
    20,
    30,
    40,
    50,
    70,
    80,
    90,
    100,
)
_SQLITE_BINARY = {
    "OR": _S_OR,
    "AND": _S_AND,
    **dict.fromkeys(("=", "<>", "LIKE", "ILIKE", "GLOB"), _S_EQ),
    **dict.fromkeys(("<", "<=", ">", ">="), _S_REL),
    "+": _S_ADD,
    "-": _S_ADD,
    **dict.fromkeys(("*", "/", "%"), _S_MUL),
    "||": _S_CONCAT,
}
# PostgreSQL type -> SQLite type. numeric becomes REAL: SQLite's NUMERIC affinity turns
# 5.0 into the integer 5, and 5 / 2 would then truncate where PostgreSQL gives 2.5.
_TYPES = {
    **dict.fromkeys(
        ("float", "float4", "float8", "real", "double precision", "numeric", "decimal"), "REAL"
    ),
    **dict.fromkeys(
        ("int", "integer", "int2", "int4", "int8", "smallint", "bigint", "serial", "bigserial"),
        "INTEGER",
    ),
    **dict.fromkeys(
        (
            "text",
            "varchar",
            "character varying",
            "char",
            "character",
            "bpchar",
            "name",
            "uuid",
            "json",
            "jsonb",
            "date",
            "timestamp",
            "timestamptz",
            "timestamp with time zone",
            "timestamp without time zone",
        ),
        "TEXT",
    ),
    **dict.fromkeys(("boolean", "bool"), "INTEGER"),
}


def like_to_glob(pattern: str) -> str:
    """A PostgreSQL LIKE pattern (``%``, ``_``, backslash escapes) as a SQLite GLOB pattern.

    >>> like_to_glob("B%_x*"), like_to_glob("100\\%")
    ('B*?x[*]', '100%')
    """
    out = []
    chars = iter(pattern)
    for ch in chars:
        if ch == "\\":
            ch = next(chars, "\\")
            out.append(_GLOB_LITERAL.get(ch, ch))
        elif ch == "%":
            out.append("*")
        elif ch == "_":
            out.append("?")
        else:
            out.append(_GLOB_LITERAL.get(ch, ch))
    return "".join(out)


def spatialite_table_name(qualified: str) -> str:
    """The SpatiaLite table for a PostgreSQL ``schema.table``: schema and table joined by
    a double underscore (a bare name stays as it is). Names are lowercase identifiers, so
    the result is a valid unquoted identifier.

    >>> spatialite_table_name("cim_vector.building")
    'cim_vector__building'
    """
    schema, dot, table = qualified.rpartition(".")
    return f"{schema}__{table}" if dot else table


class SpatialiteRenderer(BackendRenderer):
    backend = "SpatiaLite"
    catalogue_key = "spatialite"
    keywords = SQLITE_KEYWORDS
    binary_prec = _SQLITE_BINARY
    nonassoc = frozenset({_S_EQ, _S_REL})
    p_not = _S_NOT
    p_is = _S_EQ
    p_like = _S_EQ
    p_unary = _S_UNARY
    special: ClassVar[dict[str, str]] = {
        **dict.fromkeys(("ST_Area", "ST_Length", "ST_Perimeter", "ST_Distance"), "_measure"),
        "ST_DWithin": "_st_dwithin",
        "ST_Buffer": "_st_buffer",
        "ST_Translate": "_st_translate",
        "ST_DistanceSphere": "_st_distancesphere",
    }

    # ------------------------------------------------------------------ names and literals

    def table_ref(self, ref: ast.TableRef, ctes: dict) -> str:
        qualified = self.qualified_table(ref, ctes)
        if qualified is None:
            return super().table_ref(ref, ctes)
        # The alias defaults to the PostgreSQL table name so "building.col" still resolves.
        name = self.ident(spatialite_table_name(qualified))
        return f"{name} AS {self.ident(ref.alias or ref.name)}"

    def _boolean(self, node: ast.Boolean, scope: Scope | None) -> Text:
        return ("1" if node.value else "0"), P_ATOM

    def _named_arg(self, node: ast.NamedArg, scope: Scope | None) -> Text:
        raise Unsupported(f"named argument {node.name} := ... has no SpatiaLite equivalent")

    # ------------------------------------------------------------------ query shape

    def order_items(self, q: ast.Query, scope: Scope | None) -> list[str]:
        # PostgreSQL's ORDER BY name matches an implicit output name (SELECT b.x ... ORDER BY
        # x); SQLite only matches AS aliases and then finds x ambiguous when both joined
        # tables have it. Order by the selected expression itself instead.
        if not isinstance(q.body, ast.Select):
            return super().order_items(q, scope)
        aliases = {i.alias for i in q.body.items if i.alias}
        implicit: dict[str, ast.Column] = {}
        for i in q.body.items:
            expr = i.expr
            if i.alias is None and isinstance(expr, ast.Column) and expr.name not in aliases:
                implicit[expr.name] = expr
        items = []
        for o in q.order_by:
            expr = o.expr
            if isinstance(expr, ast.Column) and expr.table is None and expr.name in implicit:
                o = ast.OrderItem(implicit[expr.name], o.direction, o.nulls)
            items.append(self.order_item(o, scope))
        return items

    def limit_offset(self, q: ast.Query, scope: Scope | None) -> list[str]:
        if q.offset is not None and q.limit is None:  # SQLite: OFFSET only after LIMIT
            return ["LIMIT -1", "OFFSET " + self.text(q.offset, scope)]
        return super().limit_offset(q, scope)

    def set_arm(
        self,
        arm: ast.Select | ast.SetOp | ast.Query,
        parent: Scope | None,
        ctes: dict,
        prec: int,
        right: bool,
    ) -> str:
        # SQLite allows no parenthesised arms and evaluates set operations left to right
        # (INTERSECT does not bind tighter): an arm needing its own ORDER BY / LIMIT, or a
        # set operation on the right, becomes a derived table.
        if isinstance(arm, ast.Query) and not (
            arm.ctes or arm.order_by or arm.limit is not None or arm.offset is not None
        ):
            arm = arm.body
        if isinstance(arm, ast.Query) or (right and isinstance(arm, ast.SetOp)):
            return f"SELECT *\nFROM (\n  {indent(self.body(arm, parent, ctes))}\n)"
        return self.body(arm, parent, ctes)

    # ------------------------------------------------------------------ casts and operators

    def _cast(self, node: ast.Cast, scope: Scope | None) -> Text:
        base, _ = split_type(node.type_name)
        if base in ("geography", "geometry"):
            # Geography is handled by the functions that measure it; geometry is a no-op.
            if isinstance(node.expr, ast.String) and base == "geometry":
                return self.plain("GeomFromText", self.text(node.expr, scope))
            return self.expr(node.expr, scope)
        target = _TYPES.get(base)
        if target is None:
            raise Unsupported(f"cast to {node.type_name} has no SpatiaLite equivalent")
        inner = self.text(node.expr, scope)
        if target == "INTEGER" and self.kind(node.expr, scope) not in ("integer", "boolean"):
            inner = f"ROUND({inner})"  # PostgreSQL rounds to integer; SQLite's CAST truncates
        return f"CAST({inner} AS {target})", P_ATOM

    def binary(
        self, op: str, left: object, right: object, scope: Scope | None, negated: bool = False
    ) -> Text:
        pattern = right.value if isinstance(right, ast.String) else None
        if op == "LIKE" and pattern is not None:
            # SQLite's LIKE ignores case; GLOB is the case-sensitive match PostgreSQL's LIKE is.
            right = ast.String(like_to_glob(pattern))
            op = "GLOB"
        elif op in ("LIKE", "ILIKE"):  # ILIKE, or LIKE on a non-literal pattern: SQLite LIKE
            op = "LIKE"  # (case-insensitive for ASCII letters)
            if pattern is not None and "\\" in pattern:
                text, prec = super().binary(op, left, right, scope, negated)
                return text + " ESCAPE '\\'", prec  # PostgreSQL's default escape character
        return super().binary(op, left, right, scope, negated)

    def _binary(self, node: ast.BinaryOp, scope: Scope | None) -> Text:
        if node.op == "&&":
            return self.plain(
                "MbrIntersects", self.text(node.left, scope), self.text(node.right, scope)
            )
        if node.op == "<->":
            return self.plain(
                "ST_Distance", self.text(node.left, scope), self.text(node.right, scope)
            )
        return super()._binary(node, scope)

    # ------------------------------------------------------------------ special functions

    def _spheroid_flag(
        self, node: ast.FuncCall, n_geoms: int, flag_at: int, scope: Scope | None
    ) -> str | None:
        """SpatiaLite's use_ellipsoid argument: PostGIS's own use_spheroid flag (argument
        ``flag_at``) if given, 1 when a geometry argument is a geography, None (planar)
        otherwise."""
        if len(node.args) > flag_at:
            return self.text(node.args[flag_at], scope)
        if any(self.is_geography(a, scope) for a in node.args[:n_geoms]):
            return "1"
        return None

    def _measure(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        if node.name == "ST_Distance":
            return self._distance(node, 2, scope), P_ATOM
        args = [self.text(a, scope) for a in node.args[:1]]
        flag = self._spheroid_flag(node, 1, 1, scope)
        if flag is not None:
            args.append(flag)
        return self.call_texts(self.function_name(node), node, args, scope), P_ATOM

    def _distance(self, node: ast.FuncCall, flag_at: int, scope: Scope | None) -> str:
        """The distance between the first two arguments, geodesic for geography.

        SpatiaLite's own ST_Distance(a, b, 1) is exact for two points but picks the closest
        points of a polygon in degree space: measured up to 1.8 % off PostGIS on census
        polygons. So find the shortest line in the metric SRID and measure that line on the
        ellipsoid (within 0.01 % of PostGIS there). SpatiaLite's ST_ShortestLine is wrong
        for geometries that intersect (it returns a line to the boundary, or NULL), hence
        the explicit 0 for those."""
        a, b = (self.text(g, scope) for g in node.args[:2])
        flag = self._spheroid_flag(node, 2, flag_at, scope)
        if flag is None:
            return f"ST_Distance({a}, {b})"
        m = self.metric_srid()
        line = f"ST_ShortestLine(ST_Transform({a}, {m}), ST_Transform({b}, {m}))"
        geodesic = f"ST_Length(ST_Transform({line}, {GEOGRAPHY_SRID}), {flag})"
        return f"CASE WHEN ST_Intersects({a}, {b}) THEN 0.0 ELSE {geodesic} END"

    def _st_dwithin(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # PtDistWithin is only right for points (measured: it reports a polygon 1.2 km away
        # as within 10 m), so compare the distance itself.
        if len(node.args) < 3:
            raise Unsupported("ST_DWithin needs 3 arguments")
        limit = self.sub(node.args[2], scope, _S_REL + 1)
        return f"({self._distance(node, 3, scope)} <= {limit})", P_ATOM

    def _st_buffer(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        args = [self.text(a, scope) for a in node.args]
        if not (node.args and self.is_geography(node.args[0], scope)):
            return self.plain("ST_Buffer", *args)
        # A geography buffer is in metres: buffer in the metric SRID and project back.
        metric = self.metric_srid()
        args[0] = f"ST_Transform({args[0]}, {metric})"
        return f"ST_Transform(ST_Buffer({', '.join(args)}), {GEOGRAPHY_SRID})", P_ATOM

    def _st_translate(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        args = [self.text(a, scope) for a in node.args]
        if len(args) == 3:
            args.append("0")  # SpatiaLite's ST_Translate always takes dx, dy, dz
        return self.plain("ST_Translate", *args)

    def _st_distancesphere(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # use_ellipsoid = 0 is SpatiaLite's great-circle distance in metres.
        return self.plain("ST_Distance", *(self.text(a, scope) for a in node.args[:2]), "0")


def render_spatialite(query: ast.Query, schema: Schema) -> Rendered:
    """SpatiaLite SQL for ``query``, or the reason it has none."""
    try:
        return Rendered(SpatialiteRenderer(schema).render(query), None)
    except Unsupported as exc:
        return Rendered(None, str(exc))
    except Exception:  # our bug, not SpatiaLite's gap: a defect (RND001), not "unsupported"
        return Rendered(None, None, traceback.format_exc())
