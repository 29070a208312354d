"""Static semantic rules on the AST: read-only, SRIDs, units, cartesian products.

Each rule is one function with a stable code:

* ``STA001`` not read-only -- only a single SELECT/WITH query may pass
  (bad: ``DELETE FROM t``; good: ``SELECT * FROM t``);
* ``STA002`` mixed SRIDs -- a spatial call combines geometries of different SRIDs
  (bad: ``ST_Intersects(b.geom, ST_MakePoint(9.19, 45.46))``, SRID 4326 vs 0;
  good: ``ST_Intersects(b.geom, ST_SetSRID(ST_MakePoint(9.19, 45.46), 4326))``);
* ``STA003`` degrees, not metres -- a length/area/distance on a geographic SRID
  (bad: ``ST_Area(b.geom)`` on 4326; good: ``ST_Area(b.geom::geography)`` or
  ``ST_Area(ST_Transform(b.geom, 32632))``);
* ``STA004`` cartesian product -- a CROSS JOIN or comma join with no predicate linking
  its sides (bad: ``FROM a CROSS JOIN b``; good: ``... WHERE ST_DWithin(a.g, b.g, 50)``);
* ``STA005`` a costly shape -- in one block, a window clustering over a distance join, or
  two distance joins (each multiplies the rows by every neighbour; together, and under a
  window that clusters every row, they ran past PostGIS's statement timeout on a 1,000-row
  world, issue 14) (bad: ``SELECT ST_ClusterKMeans(b.g, 3) OVER () FROM b JOIN l ON
  ST_DWithin(b.g::geography, l.g::geography, 150)``; good: the clustering over ``b`` alone).
"""

from __future__ import annotations

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.check.base import CheckContext, Subject, block_scopes
from cimgen.codes import STA002, STA003, STA004, STA005, finding
from cimgen.models import Finding
from cimgen.schema.model import DEFAULT_SRID, GEOGRAPHIC_SRIDS, Schema
from cimgen.schema.model import Column as SchemaColumn
from cimgen.scope import Scope, stated_srid, states_srid

GEOGRAPHY = -1  # pseudo-SRID of a ::geography expression (always metres)
UNKNOWN = None
_METRIC_MEASURES = {"ST_Area", "ST_Length", "ST_Perimeter", "ST_Distance"}
_DISTANCE_ARG = {"ST_DWithin": 2, "ST_Buffer": 1}
_MAX_DEPTH = 16  # how far an output is followed through CTEs and derived tables
_SRID_ZERO = {"ST_MakePoint", "ST_Point", "ST_MakeLine", "ST_GeomFromText", "ST_MakeEnvelope"}


def srid_of(expr: ast.Expr, scope: Scope, depth: int = 0) -> int | None:
    """The SRID an expression's geometry has, GEOGRAPHY, or None when unknown/not spatial. A
    CTE's or derived table's output is followed to the expression that defines it
    (``ST_Transform(g, 32632) AS g`` is in 32632), as the DuckDB renderer follows it."""
    if depth > _MAX_DEPTH:
        return UNKNOWN
    if isinstance(expr, ast.Column):
        found = scope.resolve(expr, depth)
        if isinstance(found, tuple):
            return srid_of(found[0], found[1], depth + 1)
        return found.srid if isinstance(found, SchemaColumn) and found.kind == "geometry" else None
    if isinstance(expr, ast.Cast):
        if expr.type_name == "geography":
            return GEOGRAPHY
        if expr.type_name != "geometry":
            return UNKNOWN
        inner = srid_of(expr.expr, scope, depth + 1)
        return DEFAULT_SRID if inner == GEOGRAPHY else inner  # geography::geometry is lon/lat
    if isinstance(expr, ast.FuncCall):
        if states_srid(expr):
            return stated_srid(expr)
        if expr.name in _SRID_ZERO:
            return 0  # a constructor without an SRID: PostGIS gives it SRID 0
        fn = load_catalogue().get(expr.name)
        if fn is not None and fn.spatial and fn.returns & {"geometry", "geography"}:
            for arg in expr.args:
                srid = srid_of(arg, scope, depth + 1)
                if srid is not None:
                    return srid
    return UNKNOWN


def _blocks(subject: Subject, schema: Schema) -> list[tuple[ast.Select, Scope]]:
    """Every SELECT block with its scope (:mod:`cimgen.scope`), in tree order."""
    scopes = block_scopes(subject, schema)
    return [(n, scopes[id(n)]) for n in ast.walk(subject.query) if isinstance(n, ast.Select)]


def _calls_in(select: ast.Select) -> list[ast.FuncCall]:
    """Function calls of this block, not of nested queries (they have their own scope)."""
    out: list[ast.FuncCall] = []
    stack: list[object] = [*select.items, *select.from_]
    stack += [x for x in (select.where, select.having) if x is not None]
    stack += list(select.group_by)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Query, ast.Select)):
            continue
        if isinstance(node, ast.FuncCall):
            out.append(node)
        stack.extend(ast.children(node))
    return out


def check_mixed_srid(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """STA002: geometries of different SRIDs combined in one spatial call."""
    if subject.query is None:
        return []
    cat = load_catalogue()
    found: list[Finding] = []
    for select, scope in _blocks(subject, ctx.schema):
        for call in _calls_in(select):
            fn = cat.get(call.name)
            if fn is None or not fn.spatial or call.name in ("ST_SetSRID", "ST_Transform"):
                continue
            srids = {s for a in call.args if (s := srid_of(a, scope)) is not None}
            if len(srids) > 1:
                shown = sorted("geography" if s == GEOGRAPHY else str(s) for s in srids)
                found.append(
                    finding(
                        STA002,
                        f"{call.name} mixes SRIDs {', '.join(shown)}; "
                        "use ST_SetSRID/ST_Transform to the column's SRID",
                    )
                )
    return found


def check_units(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """STA003: lengths, areas and distances on a geographic SRID are in degrees."""
    if subject.query is None:
        return []
    found: list[Finding] = []
    for select, scope in _blocks(subject, ctx.schema):
        for call in _calls_in(select):
            if not call.args:
                continue
            srid = srid_of(call.args[0], scope)
            if srid not in GEOGRAPHIC_SRIDS:
                continue
            if call.name in _METRIC_MEASURES:
                found.append(
                    finding(
                        STA003,
                        f"{call.name} on SRID {srid} measures degrees, "
                        "not metres; cast to ::geography or ST_Transform to a "
                        "projected SRID",
                    )
                )
            elif call.name in _DISTANCE_ARG and len(call.args) > _DISTANCE_ARG[call.name]:
                dist = call.args[_DISTANCE_ARG[call.name]]
                if isinstance(dist, ast.Number) and float(dist.text) > 1:
                    found.append(
                        finding(
                            STA003,
                            f"{call.name} distance {dist.text} on SRID "
                            f"{srid} is in degrees; use ::geography for metres",
                        )
                    )
    return found


def _refs(expr: ast.Expr | None) -> set[str | None]:
    if expr is None:
        return set()
    return {n.table for n in ast.walk(expr) if isinstance(n, ast.Column)}


def _sides(item: ast.FromItem) -> set[str]:
    if isinstance(item, ast.TableRef):
        return {item.ref_name}
    if isinstance(item, ast.DerivedTable):
        return {item.alias}
    return _sides(item.left) | _sides(item.right)


def check_cartesian(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """STA004: a CROSS JOIN / comma join whose sides no predicate links."""
    if subject.query is None:
        return []
    found: list[Finding] = []
    for select in (n for n in ast.walk(subject.query) if isinstance(n, ast.Select)):
        where_refs = _refs(select.where)
        pairs: list[tuple[set[str], set[str]]] = []

        def collect(item: ast.FromItem, pairs: list[tuple[set[str], set[str]]] = pairs) -> None:
            if isinstance(item, ast.Join):
                collect(item.left)
                collect(item.right)
                if item.kind == "CROSS" or item.on is None:
                    pairs.append((_sides(item.left), _sides(item.right)))

        for item in select.from_:
            collect(item)
        for i in range(1, len(select.from_)):  # comma joins: each item links to one before
            before = set().union(*(_sides(x) for x in select.from_[:i]))
            pairs.append((before, _sides(select.from_[i])))
        for lhs, rhs in pairs:
            if None in where_refs:  # unqualified columns: cannot tell which side they link
                continue
            if not (where_refs & lhs and where_refs & rhs):
                found.append(
                    finding(
                        STA004,
                        f"{'/'.join(sorted(lhs))} x {'/'.join(sorted(rhs))} is a cartesian "
                        "product: no predicate links the two sides",
                    )
                )
    return found


_WINDOW_CLUSTERING = {"st_clusterkmeans", "st_clusterdbscan"}


def _distance_joins(select: ast.Select) -> list[ast.FuncCall]:
    """The ``ST_DWithin`` calls of this block that relate two of its FROM items."""
    aliases: set[str] = set().union(*(_sides(x) for x in select.from_)) if select.from_ else set()
    out = []
    for call in _calls_in(select):
        if call.name.lower() != "st_dwithin":
            continue
        tables = {n.table for a in call.args for n in ast.walk(a) if isinstance(n, ast.Column)}
        if len(tables & aliases) >= 2:
            out.append(call)
    return out


def check_cost(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """STA005: a window clustering over a distance join, or two distance joins, in a block."""
    if subject.query is None:
        return []
    found: list[Finding] = []
    for select in (n for n in ast.walk(subject.query) if isinstance(n, ast.Select)):
        joins = _distance_joins(select)
        if not joins:
            continue
        clusters = [
            c.name
            for c in _calls_in(select)
            if c.over is not None and c.name.lower() in _WINDOW_CLUSTERING
        ]
        if clusters:
            found.append(
                finding(
                    STA005,
                    f"{clusters[0]} clusters every row of a distance join; "
                    "cluster the table's own rows (a CTE) before joining",
                )
            )
        elif len(joins) >= 2:
            found.append(
                finding(
                    STA005,
                    f"{len(joins)} distance joins in one block multiply the rows by every "
                    "neighbour of every neighbour; keep one",
                )
            )
    return found
