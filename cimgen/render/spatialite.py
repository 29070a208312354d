"""SpatiaLite (SQLite + mod_spatialite): the dataset's ``sql_spatialite``.

SQLite has no schemas, so ``cim_vector.building`` becomes the table
``cim_vector__building`` (:func:`spatialite_table_name`) with the original table name as its
alias, which keeps ``building.col`` references valid. SpatiaLite geometries keep their SRID,
so ST_Transform / SetSRID work as in PostGIS; geography is measured on the ellipsoid
(:mod:`cimgen.render.spatialite_geo`); joins on spatial predicates look rows up in the
spatial index (:mod:`cimgen.render.spatialite_index`). Differences are tabulated in
docs/backends.md. Note: the ellipsoidal functions and ST_Transform need the
spatial_ref_sys table (``SELECT InitSpatialMetadata(1)`` when creating the database).

What SpatiaLite cannot express at all is listed for the expander, which should not offer
it when generating for SpatiaLite: per function in the catalogue
(``load_catalogue().available("spatialite")``), per construct in
:data:`UNSUPPORTED_CONSTRUCTS` (:func:`unsupported_constructs` finds them in a query).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import ClassVar

import apsw

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.render.backend import BackendRenderer, raster_column_names, split_type
from cimgen.render.base import (
    P_ATOM,
    PG_KEYWORDS,
    Rendered,
    Text,
    Unsupported,
    indent,
    quote_string,
)
from cimgen.render.spatialite_geo import SpatialiteGeography, widened
from cimgen.render.spatialite_index import Lookup, conjuncts, plan_lookups, plan_ties
from cimgen.schema.model import Schema
from cimgen.scope import Scope

SQLITE_KEYWORDS = PG_KEYWORDS | {k.lower() for k in apsw.keywords}
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

    >>> like_to_glob("B%_x*"), like_to_glob(r"100\\%")
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


# Constructs of the grammar SpatiaLite has no form for (the renderer answers "unsupported"
# for them): what an expander generating for SpatiaLite must not build. Functions are
# listed per dialect by the catalogue (``load_catalogue().available("spatialite")``).
UNSUPPORTED_CONSTRUCTS: dict[str, str] = {
    "raster": "raster columns and raster functions (SpatiaLite has no raster type); so no "
    "RASTER_VECTOR queries",
    "clustering": "window clustering functions ST_ClusterDBSCAN / ST_ClusterKMeans; so no "
    "SPATIAL_CLUSTERING queries",
    "function": "any other function the catalogue does not list for SpatiaLite "
    "(ST_ClosestPoint, ST_ShortestLine: SpatiaLite's are wrong for intersecting inputs)",
    "named_argument": "named arguments (name := value)",
    "field_access": "composite field access ((f(x)).field): SQLite has no composite types",
    "cast": "casts to types outside CAST_TYPES",
}
# sql_type values whose defining construct is unsupported (see UNSUPPORTED_CONSTRUCTS).
UNSUPPORTED_SQL_TYPES = frozenset({"RASTER_VECTOR", "SPATIAL_CLUSTERING"})
_CATEGORY_CONSTRUCT = {"raster": "raster", "clustering": "clustering"}


@dataclass(frozen=True)
class _RawSQL:
    """Rendered SQL spliced into a condition (a spatial-index lookup)."""

    sql: str


class SpatialiteRenderer(SpatialiteGeography):
    backend = "SpatiaLite"
    catalogue_key = "spatialite"
    keywords = SQLITE_KEYWORDS
    binary_prec = _SQLITE_BINARY
    nonassoc = frozenset({_S_EQ, _S_REL})
    p_not = _S_NOT
    p_is = _S_EQ
    p_like = _S_EQ
    p_unary = _S_UNARY
    _dispatch: ClassVar[dict[type, str]] = {**BackendRenderer._dispatch, _RawSQL: "_raw"}
    special: ClassVar[dict[str, str]] = {
        **SpatialiteGeography.special,
        "ST_Translate": "_st_translate",
        "ST_Azimuth": "_st_azimuth",
    }

    def __init__(self, schema: Schema, index_lookups: bool = True) -> None:
        super().__init__(schema)
        # False: no spatial-index lookups (tests compare results with and without them)
        self.index_lookups = index_lookups
        # per SELECT block being rendered: its lookup plan and the conjuncts already served
        self._lookups: list[tuple[dict[int, Lookup], set[int]]] = []
        # per SELECT block: its scope ties written with a planner hint (plan_ties)
        self._ties: list[dict[int, ast.Expr]] = []

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

    # ------------------------------------------------------------------ spatial-index lookups

    def select(self, s: ast.Select, parent: Scope | None, ctes: dict) -> str:
        # which join conjuncts of this block get an R*Tree lookup (spatialite_index.py)
        plan = {}
        scope = self.scope_of(s, parent, ctes)
        if self.index_lookups:
            plan = plan_lookups(s, scope, spatialite_table_name)
        self._lookups.append((plan, set()))
        self._ties.append(plan_ties(s, scope, self.schema.relations))
        try:
            return super().select(s, parent, ctes)
        finally:
            self._lookups.pop()
            self._ties.pop()

    def condition(self, node: object, scope: Scope | None) -> str:
        return super().condition(self._with_lookups(node, scope), scope)

    def join_condition(self, node: object, scope: Scope | None) -> str:
        return self.text(self._with_lookups(node, scope), scope)

    def _with_lookups(self, node: object, scope: Scope | None) -> object:
        """``node`` with each planned lookup ANDed after its conjunct (as raw SQL), and
        each scope tie in its hinted form (:func:`plan_ties`)."""
        ties = self._ties[-1] if self._ties else {}
        if not self._lookups or not (self._lookups[-1][0] or ties):
            return node
        plan, done = self._lookups[-1]
        parts: list[object] = []
        for conjunct in conjuncts(node):
            parts.append(ties.get(id(conjunct), conjunct))
            lookup = plan.get(id(conjunct))
            if lookup is not None and id(conjunct) not in done:
                done.add(id(conjunct))
                parts.append(_RawSQL(self._lookup_sql(lookup, scope)))
        out = parts[0]
        for part in parts[1:]:
            out = ast.BinaryOp("AND", out, part)  # type: ignore[arg-type]  # _RawSQL too
        return out

    def _lookup_sql(self, lookup: Lookup, scope: Scope | None) -> str:
        frame = self.text(lookup.frame, scope)
        if lookup.distance is not None:
            d = self.sub(lookup.distance, scope, _S_MUL + 1)
            frame = widened(frame, d, lookup.geography)
        return (
            f"{self.ident(lookup.alias)}.ROWID IN (SELECT ROWID FROM SpatialIndex "
            f"WHERE f_table_name = {quote_string(lookup.table)} "
            f"AND f_geometry_column = {quote_string(lookup.column)} AND search_frame = {frame})"
        )

    def _raw(self, node: _RawSQL, scope: Scope | None) -> Text:
        return node.sql, _S_EQ

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

    def _st_azimuth(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        # SpatiaLite's ST_Azimuth is ellipsoidal for lon/lat points (0.613 where PostGIS's
        # planar geometry azimuth is 0.785 for a 45 degree step): compute PostGIS's, the
        # clockwise angle from the +y axis in [0, 2 pi), NULL for coincident points.
        if len(node.args) != 2:
            raise Unsupported("ST_Azimuth needs 2 arguments")
        a, b = (self.text(g, scope) for g in node.args)
        dx, dy = f"ST_X({b}) - ST_X({a})", f"ST_Y({b}) - ST_Y({a})"
        angle = f"mod(atan2({dx}, {dy}) + 2 * pi(), 2 * pi())"
        return f"CASE WHEN {dx} = 0 AND {dy} = 0 THEN NULL ELSE {angle} END", P_ATOM

    def _st_translate(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        args = [self.text(a, scope) for a in node.args]
        if len(args) == 3:
            args.append("0")  # SpatiaLite's ST_Translate always takes dx, dy, dz
        return self.plain("ST_Translate", *args)


# PostgreSQL types a cast may name in a query meant for SpatiaLite (docs/backends.md).
CAST_TYPES = frozenset(_TYPES) | {"geometry", "geography"}


def unsupported_constructs(query: ast.Query, schema: Schema) -> frozenset[str]:
    """The :data:`UNSUPPORTED_CONSTRUCTS` keys ``query`` uses: empty exactly when
    :func:`render_spatialite` renders it (tests/test_render_spatialite.py checks both ways
    on the Stage 1 sample and on one query per construct). A column counts as raster when
    the schema has a raster column of that name.

    >>> from cimgen.grammar import parse
    >>> from cimgen.schema.load import load_schema
    >>> sorted(unsupported_constructs(parse("SELECT ROUND(x := 1.5)"), load_schema("cim_wizard")))
    ['named_argument']
    """
    catalogue = load_catalogue()
    available = catalogue.available("spatialite")
    rasters = raster_column_names(schema)
    found: set[str] = set()
    stack: list[object] = [query]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FuncCall):
            f = catalogue.get(node.name)
            if f is not None and f.name not in available:
                found.add(_CATEGORY_CONSTRUCT.get(f.category, "function"))
        elif isinstance(node, ast.Column) and node.name in rasters:
            found.add("raster")
        elif isinstance(node, ast.NamedArg):
            found.add("named_argument")
        elif isinstance(node, ast.FieldAccess):
            found.add("field_access")
        elif isinstance(node, ast.Cast) and split_type(node.type_name)[0] not in CAST_TYPES:
            found.add("cast")
        if isinstance(node, tuple | list):
            stack.extend(node)
        elif hasattr(node, "__dataclass_fields__"):
            stack.extend(getattr(node, name) for name in node.__dataclass_fields__)
    return frozenset(found)


def render_spatialite(query: ast.Query, schema: Schema) -> Rendered:
    """SpatiaLite SQL for ``query``, or the reason it has none."""
    try:
        return Rendered(SpatialiteRenderer(schema).render(query), None)
    except Unsupported as exc:
        return Rendered(None, str(exc))
    except Exception:  # our bug, not SpatiaLite's gap: a defect (RND001), not "unsupported"
        return Rendered(None, None, traceback.format_exc())
