"""Nothing constant by construction (issue 14, eighth pass).

The blind reviews call content "contrived" where a value, a group or a filter is fixed by
the query's own pins -- an analyst never writes these. Read from the AST of each attempt,
with the one union-find of equalities (:mod:`cimgen.equalities`), which sees the pins a CTE
applies (:func:`cimgen.equalities.pinned_equalities`) and the tables a pin fixes to one row
(:func:`cimgen.expand.multiply.one_row_refs`):

* :func:`constant_aggregates` -- ``COUNT(DISTINCT ps.project_name)`` of a pinned project
  (always 1), ``MAX(gb.voltage_kv)`` of buses pinned to 0.4 kV: an aggregate whose
  argument the pins fix. :func:`drop_constant_aggregates` drops it where another output
  stays, and refuses the attempt otherwise, through :func:`drop_fixed_aggregates` (which
  drops the aggregates a group's own row decides too: :mod:`cimgen.expand.determined`).
* :func:`constant_subqueries` -- ``EXISTS`` / ``IN`` whose every reference to the outer row
  is a pinned column (the pinned project's scenario asked about again: the same answer on
  every row), and a scalar subquery whose tables the outer pins fix to one row (it
  recomputes a value the pin names). Refused.
* :func:`label_groups` -- a GROUP BY on a value of the one thing a label pin names (the
  building 'CATASTO_UR477' "per geometry source"). Refused.
* in :mod:`cimgen.expand.repeats`: a condition on a CTE's columns that the CTE (or a CTE
  it reads) already applies (``repeated_filters``): a second step that repeats a filter
  of the first. Dropped; a step left passing the first's rows on (or built so:
  ``idle_steps``) takes the main block's conditions on its rows (``fill_idle_steps``).
* in :mod:`cimgen.expand.point`: an output read only from a raster at one literal point
  (the DTM at the query's place) beside per-row values: the same on every row
  (``point_values``); groups, aggregates or windows over the rows at one literal point
  (the buildings containing a point, per census area; a DBSCAN of the buildings at a
  point): a handful of rows by construction (``point_groups``). Refused.

:func:`settle_pins` is the expander's step: it refuses, or drops, each of these.

>>> from cimgen.grammar import parse
>>> q = parse("SELECT COUNT(DISTINCT p.name) AS n FROM p WHERE p.name = 'x'")
>>> [it.alias for it in constant_aggregates(q.body, None, {})]
['n']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from cimgen import ast
from cimgen.equalities import Equalities, pinned_equalities, qualified
from cimgen.expand.context import ExpansionContext
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import (
    base_table,
    block_refs,
    map_selects,
    one_row_refs,
)
from cimgen.expand.point import (
    POINT_MAKERS,
    plain_aggregate,
    point_groups,
    point_values,
    read_per_row,
)
from cimgen.expand.repeats import drop_repeated_filters, repeated_filters

_CONSTANT_AGGS = {"MIN", "MAX", "AVG"}
_NESTED = ast.SUBQUERY_EXPRS


def _one_row(
    body: ast.Select, ctx: ExpansionContext | None, ctes: dict[str, ast.Query]
) -> set[str]:
    return one_row_refs(body, ctx, ctes) if ctx is not None else set()


def _fixed(expr: ast.Expr, pinned: set[tuple[str, str]], one: set[str]) -> bool:
    """Does ``expr`` read only columns the pins fix (and at least one)?"""
    if any(isinstance(n, _NESTED) for n in ast.walk(expr)):
        return False
    cols = [n for n in ast.walk(expr) if isinstance(n, ast.Column)]
    return bool(cols) and all(qualified(c) in pinned or c.table in one for c in cols)


# --------------------------------------------------------------------------- aggregates


def constant_aggregates(
    body: ast.Select, ctx: ExpansionContext | None, ctes: dict[str, ast.Query]
) -> list[ast.SelectItem]:
    """Outputs that aggregate a value the block's pins fix: a distinct count (1), or the
    minimum, maximum or average of one value (the value itself)."""
    asked = []
    for it in body.items:
        e = it.expr
        if isinstance(e, ast.FuncCall) and e.over is None and len(e.args) == 1:
            name = e.name.upper()
            if (name == "COUNT" and e.distinct) or name in _CONSTANT_AGGS:
                asked.append((it, e.args[0]))
    if not asked:
        return []
    pinned = pinned_equalities(body, ctes).pinned()
    one = _one_row(body, ctx, ctes) | named_refs(body, ctx, ctes)
    return [it for it, arg in asked if _fixed(arg, pinned, one)]


def named_refs(
    body: ast.Select, ctx: ExpansionContext | None, ctes: dict[str, ast.Query]
) -> set[str]:
    """Aliases of the block's tables a literal names (their label pinned: ``b.building_id =
    'OSM_166137'``), their versions open or not: one thing (a building in its levels of
    detail), whose maximum area "per line name" is its own area again (the lead's read of
    the twelfth pass: "the maximum over one named building"). Not one row
    (:func:`cimgen.expand.multiply.one_row_refs` wants the versions fixed too), but one
    thing to aggregate over."""
    if ctx is None:
        return set()
    pinned = pinned_equalities(body, ctes).pinned()
    found = set()
    for ref in block_refs(body):
        info = base_table(ref, ctes, ctx)
        if info is not None and info.labels and (ref.ref_name, info.labels[0]) in pinned:
            found.add(ref.ref_name)
    return found


def drop_fixed_aggregates(
    query: ast.Query,
    find: Callable[[ast.Select], list[ast.SelectItem]],
    why: str,
    *,
    no_aggregate: str | None = None,
    joined_for: str | None = None,
) -> ast.Query:
    """``query`` without the outputs ``find`` names in each block: aggregates fixed by
    construction (:func:`constant_aggregates`,
    :func:`cimgen.expand.determined.determined_aggregates`). Refused with ``why`` where a
    block keeps no output or the ordering reads a dropped one; with ``no_aggregate`` (else
    ``why``) where a grouped block keeps no aggregate; with ``joined_for``, if given, where
    a table the dropped outputs read serves nothing else in the block (:func:`serves`)."""
    ordered = {o.expr.name for o in query.order_by if isinstance(o.expr, ast.Column)}

    def fix(body: ast.Select) -> ast.Select:
        drop = find(body)
        if not drop:
            return body
        keep = tuple(it for it in body.items if it not in drop)
        if not keep or any(ast.output_name(it) in ordered for it in drop):
            raise BuildError(why)
        if body.group_by and not any(plain_aggregate(n) for it in keep for n in ast.walk(it.expr)):
            # "for each line name, compute the of ..." (lead's read, issue 14)
            raise BuildError(no_aggregate or why)
        out = replace(body, items=keep)
        if joined_for is not None:
            read = {a for it in drop for a in ast.tables_read(it.expr)}
            if any(not serves(out, a) for a in read):
                raise BuildError(joined_for)
        return out

    return map_selects(query, fix)


def drop_constant_aggregates(
    query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query] | None = None
) -> ast.Query:
    """Without the outputs :func:`constant_aggregates` finds; an attempt left with no
    output, ordered by a dropped one, or with a table joined for nothing else (the
    project scenario joined by its key for ``COUNT(DISTINCT ps.project_name)``) is
    refused."""
    known = ast.ctes_by_name(query) if ctes is None else ctes
    return drop_fixed_aggregates(
        query,
        lambda body: constant_aggregates(body, ctx, known),
        "an aggregate of a value the query's pins fix",
        no_aggregate="a grouping left with no aggregate once the pins fix them",
        joined_for="a table joined only for an aggregate the pins fix",
    )


def serves(body: ast.Select, alias: str) -> bool:
    """Is ``alias`` read by the block's outputs, groups or a condition of its own (a join
    condition, equal keys or a spatial relation, is no use of it: PUR001's rule)?"""
    own = [*body.items, *body.group_by, body.having]
    if any(alias in ast.tables_read(e) for e in own if e is not None):
        return True
    return any(ast.tables_read(c) == {alias} for c in ast.block_conditions(body, outer_joins=True))


def label_groups(
    body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]
) -> list[ast.Expr]:
    """GROUP BY keys read only from a table whose label the pins fix (the building
    'CATASTO_UR477', "per geometry source"): one thing, one group, whichever of its
    versions the block meets; a version column itself (its ``lod``) is not fixed."""
    if not body.group_by:
        return []
    eq = pinned_equalities(body, ctes)
    fixed = eq.fixed()
    named = {}
    for r in block_refs(body):
        info = base_table(r, ctes, ctx)
        if (
            info is not None
            and info.labels
            and eq.classes.find((r.ref_name, info.labels[0])) in fixed
        ):
            named[r.ref_name] = set(version_columns(ctx, info))
    out = []
    for e in body.group_by:
        cols = [n for n in ast.walk(e) if isinstance(n, ast.Column)]
        if cols and all(c.table in named and c.name not in named[c.table] for c in cols):
            out.append(e)
    return out


# --------------------------------------------------------------------------- subqueries


def _outer_columns(sub: ast.Query, outer: set[str]) -> list[ast.Column]:
    own = {r.ref_name for n in ast.walk(sub) if isinstance(n, ast.Select) for r in block_refs(n)}
    return [
        n
        for n in ast.walk(sub)
        if isinstance(n, ast.Column) and n.table in outer and n.table not in own
    ]


def _pin_exprs(eq: Equalities) -> tuple[ast.Expr, ...]:
    """``alias.column = literal`` for every column ``eq`` pins (through its classes)."""
    value: dict[tuple[str, str], ast.Expr] = {}
    for c, v in eq.pins:
        value.setdefault(eq.classes.find(c), v)
    return tuple(
        ast.BinaryOp("=", ast.Column(c[1], c[0]), value[eq.classes.find(c)])
        for c in sorted(eq.pinned())
    )


def constant_subqueries(
    body: ast.Select, ctx: ExpansionContext | None, ctes: dict[str, ast.Query]
) -> list[ast.Expr]:
    """The block's subqueries that its pins make constant (module docstring): an EXISTS /
    IN condition whose references to the outer row are all pinned, and a scalar subquery
    whose every table the outer pins fix to one row."""
    scalars = [
        n
        for e in (*body.items, body.where)
        if e is not None
        for n in ast.walk_own(e)
        if isinstance(n, ast.Subquery) and isinstance(n.query.body, ast.Select)
    ]
    conds = ast.conjuncts(body.where)
    if not scalars and not any(isinstance(n, _NESTED) for c in conds for n in ast.walk_own(c)):
        return []
    eq = pinned_equalities(body, ctes)
    pinned = eq.pinned()
    one = _one_row(body, ctx, ctes)
    outer = {r.ref_name for r in block_refs(body)}
    out: list[ast.Expr] = []
    for c in conds:
        inner = c.operand if isinstance(c, ast.UnaryOp) and c.op == "NOT" else c
        if isinstance(inner, (ast.Exists, ast.InSubquery)):
            refs = _outer_columns(inner.query, outer)
            if isinstance(inner, ast.InSubquery):
                left = [n for n in ast.walk(inner.expr) if isinstance(n, ast.Column)]
                if not left:
                    continue
                refs += left
            if all(qualified(r) in pinned or r.table in one for r in refs):
                out.append(c)
    if ctx is None:
        return out
    extra = _pin_exprs(eq)
    for n in scalars:
        sub = n.query.body
        assert isinstance(sub, ast.Select)
        sub_refs = block_refs(sub)
        correlated = bool(sub_refs) and bool(_outer_columns(n.query, outer))
        if correlated and {r.ref_name for r in sub_refs} <= one_row_refs(sub, ctx, ctes, extra):
            out.append(n)
    return out


# --------------------------------------------------------------------------- the step


def _blocks(query: ast.Query) -> tuple[list[ast.Select], dict[str, ast.Query], set[str]]:
    """The query's SELECT blocks, its CTEs by name and what it holds of what the refusals
    read (``"nested"``: a subquery; ``"point"``: a literal point), in one walk."""
    blocks: list[ast.Select] = []
    ctes: dict[str, ast.Query] = {}
    holds: set[str] = set()
    for n in ast.walk(query):
        if isinstance(n, ast.Query):
            ctes.update((c.name, c.query) for c in n.ctes)
            if isinstance(n.body, ast.Select):
                blocks.append(n.body)
        elif isinstance(n, _NESTED):
            holds.add("nested")
        elif isinstance(n, ast.FuncCall) and n.name.lower() in POINT_MAKERS:
            holds.add("point")
    return blocks, ctes, holds


def _refusal(
    body: ast.Select,
    ctx: ExpansionContext,
    ctes: dict[str, ast.Query],
    holds: set[str],
    top: ast.Select | ast.SetOp | None = None,
) -> str | None:
    if "nested" in holds and constant_subqueries(body, ctx, ctes):
        return "a subquery the query's pins make constant"
    if "point" in holds and body is not top and point_values(body, ctx, ctes):
        return "a value read at one point beside per-row values"
    if "point" in holds and point_groups(body, ctx, ctes):
        return "groups over the rows at one point"
    if label_groups(body, ctx, ctes):
        return "a GROUP BY on a value of the one thing the query names"
    return None


def constant_by_pins(query: ast.Query, ctx: ExpansionContext) -> str | None:
    """Why the query holds something its own pins or place make constant (the refusals of
    the module docstring), or None."""
    blocks, ctes, holds = _blocks(query)
    return next((why for b in blocks if (why := _refusal(b, ctx, ctes, holds))), None)


def settle_pins(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """The expander's step: refuses what :func:`constant_by_pins` names (the main block's
    values at one point aside: :func:`read_per_row` reads them per row where it can), then
    drops the aggregates of pinned values and the filters a CTE already applies (the module
    docstring). One walk for the blocks; a query with nothing to drop is returned as it is."""
    blocks, ctes, holds = _blocks(query)
    aggregates = filters = False
    for body in blocks:
        why = _refusal(body, ctx, ctes, holds, query.body)
        if why is not None:
            raise BuildError(why)
        aggregates = aggregates or bool(constant_aggregates(body, ctx, ctes))
        filters = filters or bool(repeated_filters(body, ctes))
    if "point" in holds:
        query = read_per_row(query, ctx, ctes)
    if aggregates:
        query = drop_constant_aggregates(query, ctx, ctes)
    if filters:
        query = drop_repeated_filters(query, ctes)
    return query


__all__ = [
    "constant_aggregates",
    "constant_by_pins",
    "constant_subqueries",
    "drop_constant_aggregates",
    "drop_fixed_aggregates",
    "label_groups",
    "serves",
    "settle_pins",
]
