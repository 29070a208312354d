"""What a query asks, read from its AST (issue 14, sixth pass: "plausible as a query an
analyst would write"): the conditions it sets on literals, the places it names, and the
joined tables whose only role is a condition on themselves.

The blind review of the fifth pass found content no analyst would write: four census
thresholds in one query, a filter and an ordering on two unrelated points, a
``raster_model`` join that only filters. The expander now asks at most
``build.ASKED_CONDITIONS`` conditions, names one place (``filters.Filters``) and gives a
joined table an output; these readers measure it (``benchmarks/bench_realism_shapes.py``,
tests/test_expand_review6.py).

>>> from cimgen.grammar import parse
>>> q = parse("SELECT b.building_id FROM cim_vector.building AS b WHERE "
...           "ST_DWithin(b.building_geometry::geography, "
...           "ST_SetSRID(ST_MakePoint(9.18, 45.47), 4326)::geography, 300) "
...           "ORDER BY ST_Distance(b.building_geometry::geography, "
...           "ST_SetSRID(ST_MakePoint(9.19, 45.48), 4326)::geography)")
>>> sorted(places(q))
[('point', ('9.18', '45.47')), ('point', ('9.19', '45.48'))]
"""

from __future__ import annotations

from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext
from cimgen.expand.distinct import version_columns
from cimgen.expand.multiply import base_table, block_refs
from cimgen.expand.names import count_name

_LITERAL_GEOMS = frozenset({"st_makepoint", "st_point", "st_makeenvelope", "st_geomfromtext"})
_NESTED = (ast.Exists, ast.InSubquery, ast.Subquery)


def places(node: Any) -> set[tuple[str, tuple[str, ...]]]:
    """The distinct places a query (or an expression) names: each literal point or box, by
    its coordinates (one point filtered on and measured from is one place)."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.FuncCall) and n.name.lower() in _LITERAL_GEOMS:
            nums = tuple(a.text for a in n.args if isinstance(a, ast.Number))
            kind = "box" if n.name.lower() == "st_makeenvelope" else "point"
            out.add((kind, nums[:4] if kind == "box" else nums[:2]))
    return out


def condition_kind(c: ast.Expr, info: Any, ctx: ExpansionContext) -> str:
    """``place`` (a literal point or box), ``pin`` (an equality on scope, version or
    raster-kind columns: which project scenario, level of detail or raster is meant), else
    ``attribute``."""
    if any(isinstance(n, ast.FuncCall) and n.name.lower() in _LITERAL_GEOMS for n in ast.walk(c)):
        return "place"
    cols = {n.name for n in ast.walk(c) if isinstance(n, ast.Column)}
    if info is not None and isinstance(c, ast.BinaryOp) and c.op == "=":
        pins = {*info.scope, *version_columns(ctx, info)}
        if info.rasters:
            pins |= {*info.categories, *info.ids}
        if cols and cols <= pins:
            return "pin"
    return "attribute"


def literal_conditions(
    body: ast.Select, ctes: dict[str, ast.Query], ctx: ExpansionContext
) -> list[tuple[str, str]]:
    """(alias, kind) of each condition of the block on one of its own FROM items (not a
    join between two, not a subquery predicate, not an index prefilter)."""
    refs = block_refs(body)
    names = {r.ref_name for r in refs}
    infos = {r.ref_name: base_table(r, ctes, ctx) for r in refs}
    out = []
    for c in ast.block_conditions(body, outer_joins=True):
        if ast.is_box_prefilter(c) or any(isinstance(n, _NESTED) for n in ast.walk(c)):
            continue
        read = ast.tables_read(c)
        if len(read) != 1 or not read <= names:
            continue  # a join, or a correlation with an outer block
        (alias,) = read
        out.append((alias, condition_kind(c, infos[alias], ctx)))
    return out


def asked_conditions(query: ast.Query, ctx: ExpansionContext) -> int:
    """How many conditions the query asks, all blocks together: each one on an attribute,
    and each distinct place once (two tiles read at one point ask one thing); pins aside."""
    ctes = ast.ctes_by_name(query)
    attrs = 0
    for n in ast.walk(query):
        if isinstance(n, ast.Query) and isinstance(n.body, ast.Select):
            attrs += sum(1 for _, k in literal_conditions(n.body, ctes, ctx) if k == "attribute")
    named: set[tuple[str, tuple[str, ...]]] = set()
    for n in ast.walk(query):
        if isinstance(n, ast.Query) and isinstance(n.body, ast.Select):
            for c in ast.block_conditions(n.body, outer_joins=True):
                if not any(isinstance(x, _NESTED) for x in ast.walk(c)):
                    named |= places(c)
    return attrs + len(named)


def _read_beyond_links(body: ast.Select, order_by: tuple[Any, ...], alias: str) -> bool:
    """Is ``alias`` read by the block's outputs, grouping, HAVING, ordering or a subquery
    predicate (anything but its joins and its own conditions)?"""
    parts: list[Any] = [*(it.expr for it in body.items), *body.group_by, *order_by]
    if body.having is not None:
        parts.append(body.having)
    parts += [
        c
        for c in ast.block_conditions(body, outer_joins=True)
        if any(isinstance(n, _NESTED) for n in ast.walk(c))
    ]
    return any(alias in ast.tables_read(p) for p in parts)


def filter_only_joins(query: ast.Query, ctx: ExpansionContext) -> list[str]:
    """Joined base tables (every block) whose only role is a condition on themselves: read
    by nothing but their one link and their own conditions (not a bridge to a third
    table, not the rows a ``COUNT(*)`` named after them counts: "LOD 1 buildings per
    zone"). Stage 1 writes some (properties joined for "mixed-use buildings")."""
    return [r.qualified for r, _ in _filter_only(query, ctx)]


def pin_only_joins(query: ast.Query, ctx: ExpansionContext) -> list[str]:
    """Of :func:`filter_only_joins`, those whose own conditions are all pins, not only its
    scope: a ``raster_model`` joined for ``raster_type = 'DTM' AND srid = 4326`` and
    nothing else (blind review, issue 14: "a raster_model join that only filters")."""
    out = []
    for r, own in _filter_only(query, ctx):
        info = ctx.by_name.get(r.qualified)
        scope = set(info.scope) if info is not None else set()
        if all(condition_kind(c, info, ctx) == "pin" for c in own) and not all(
            ast.tables_read(c)
            and {n.name for n in ast.walk(c) if isinstance(n, ast.Column)} <= scope
            for c in own
        ):  # a table joined for its project scenario names which rows are meant
            out.append(r.qualified)
    return out


def _filter_only(
    query: ast.Query, ctx: ExpansionContext
) -> list[tuple[ast.TableRef, list[ast.Expr]]]:
    out = []
    for q in (n for n in ast.walk(query) if isinstance(n, ast.Query)):
        body = q.body
        if not isinstance(body, ast.Select):
            continue
        refs = block_refs(body)
        names = {r.ref_name for r in refs}
        conds = ast.block_conditions(body, outer_joins=True)
        counts = {
            it.alias
            for it in body.items
            if isinstance(it.expr, ast.FuncCall) and it.expr.star and it.expr.over is None
        }
        for r in refs[1:]:
            a = r.ref_name
            if r.schema is None:
                continue  # a CTE read: its own block says what it is for
            linked = {b for c in conds if a in ast.tables_read(c) for b in ast.tables_read(c)}
            linked = (linked & names) - {a}
            own = [c for c in conds if ast.tables_read(c) & names == {a}]
            if own and len(linked) <= 1 and not _read_beyond_links(body, q.order_by, a):
                info = ctx.by_name.get(r.qualified)
                if info is not None and count_name(info.noun) in counts:
                    continue  # what COUNT(*) counts
                if info is not None and _region(conds, own, a, info):
                    continue  # a region named by its project scenario: the link filters
                out.append((r, own))
    return out


def _region(conds: list[ast.Expr], own: list[ast.Expr], alias: str, info: Any) -> bool:
    """Is the table met by a spatial relation and pinned by its scope alone (the buildings
    inside project P's boundary, ``ps.project_id = ... AND ps.scenario_id = ...``)? Its
    geometry is the condition, on the other table's rows; the pins say which region. The
    bundled corpus meets a project scenario by its boundary so in 218 of 218 queries
    (fifteenth pass (b): unpinned, each building came once per scenario of its area)."""
    scope = set(info.scope)
    pins = all(
        isinstance(c, ast.BinaryOp)
        and c.op == "="
        and {n.name for n in ast.walk(c) if isinstance(n, ast.Column)} <= scope
        for c in own
    )
    spatial = any(
        isinstance(n, ast.FuncCall)
        and n.name.lower().startswith("st_")
        and alias in ast.tables_read(n)
        and len(ast.tables_read(n)) > 1
        for c in conds
        for n in ast.walk(c)
    )
    return bool(scope) and pins and spatial
