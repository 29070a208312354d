"""Nothing constant by construction (issue 14, eighth pass).

The blind reviews call content "contrived" where a value, a group or a filter is fixed by
the query's own pins -- an analyst never writes these. Read from the AST of each attempt,
with the one union-find of equalities (:mod:`cimgen.equalities`), which sees the pins a CTE
applies (:func:`cimgen.equalities.pinned_equalities`) and the tables a pin fixes to one row
(:func:`cimgen.expand.multiply.one_row_refs`):

* :func:`constant_aggregates` -- ``COUNT(DISTINCT ps.project_name)`` of a pinned project
  (always 1), ``MAX(gb.voltage_kv)`` of buses pinned to 0.4 kV: an aggregate whose
  argument the pins fix. :func:`drop_constant_aggregates` drops it where another output
  stays, and refuses the attempt otherwise.
* :func:`constant_subqueries` -- ``EXISTS`` / ``IN`` whose every reference to the outer row
  is a pinned column (the pinned project's scenario asked about again: the same answer on
  every row), and a scalar subquery whose tables the outer pins fix to one row (it
  recomputes a value the pin names). Refused.
* :func:`repeated_filters` -- a condition on a CTE's columns that the CTE (or a CTE it
  reads) already applies: a second step that repeats a filter of the first. Dropped by
  :func:`drop_repeated_filters`; a step left passing the first's rows on (or built so:
  :func:`idle_steps`) takes the main block's conditions on its rows
  (:func:`fill_idle_steps`).
* :func:`point_values` -- an output read only from a raster at one literal point (the DTM
  at the query's place) beside per-row values: the same on every row. Refused.
* :func:`label_groups` -- a GROUP BY on a value of the one thing a label pin names (the
  building 'CATASTO_UR477' "per geometry source"). Refused.
* :func:`point_groups` -- groups, aggregates or windows over the rows at one literal point
  (the buildings containing a point, per census area; a DBSCAN of the buildings at a
  point): a handful of rows by construction.
  Refused.

:func:`settle_pins` is the expander's step: it refuses, or drops, each of these.

>>> from cimgen.grammar import parse
>>> q = parse("SELECT COUNT(DISTINCT p.name) AS n FROM p WHERE p.name = 'x'")
>>> [it.alias for it in constant_aggregates(q.body, None, {})]
['n']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.equalities import Equalities, pinned_equalities, qualified
from cimgen.expand.context import ExpansionContext
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import (
    _ctes,
    _item_name,
    _map_selects,
    _own,
    base_table,
    block_refs,
    drop_unused_cte_columns,
    one_row_refs,
    to_many,
)
from cimgen.expand.theme import places

_CONSTANT_AGGS = {"MIN", "MAX", "AVG"}
_POINTS = {"st_makepoint", "st_point"}
_NESTED = (ast.Exists, ast.InSubquery, ast.Subquery)


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
    one = _one_row(body, ctx, ctes)
    return [it for it, arg in asked if _fixed(arg, pinned, one)]


def drop_constant_aggregates(
    query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query] | None = None
) -> ast.Query:
    """Without the outputs :func:`constant_aggregates` finds; an attempt left with no
    output, ordered by a dropped one, or with a table joined for nothing else (the
    project scenario joined by its key for ``COUNT(DISTINCT ps.project_name)``) is
    refused."""
    ctes = _ctes(query) if ctes is None else ctes
    ordered = {o.expr.name for o in query.order_by if isinstance(o.expr, ast.Column)}

    def fix(body: ast.Select) -> ast.Select:
        drop = constant_aggregates(body, ctx, ctes)
        if not drop:
            return body
        keep = tuple(it for it in body.items if it not in drop)
        if not keep or any(_item_name(it) in ordered for it in drop):
            raise BuildError("an aggregate of a value the query's pins fix")
        if body.group_by and not any(_aggregate(n) for it in keep for n in ast.walk(it.expr)):
            # "for each line name, compute the of ..." (lead's read, issue 14)
            raise BuildError("a grouping left with no aggregate once the pins fix them")
        out = replace(body, items=keep)
        read = {a for it in drop for a in ast.tables_read(it.expr)}
        if any(not _serves(out, a) for a in read):
            raise BuildError("a table joined only for an aggregate the pins fix")
        return out

    return _map_selects(query, fix)


def _serves(body: ast.Select, alias: str) -> bool:
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


# --------------------------------------------------------------------------- CTE steps


def _through(c: ast.Expr, alias: str, cte: ast.Select) -> ast.Expr | None:
    """``c`` (on the columns of ``alias``, a reader's name for the CTE ``cte``) written on
    the CTE's own columns; None where an output it reads is not a plain column."""
    exprs = {_item_name(it): it.expr for it in cte.items}

    def sub(n: Any) -> Any:
        if isinstance(n, ast.Column) and n.table == alias:
            e = exprs.get(n.name)
            if not isinstance(e, ast.Column):
                raise KeyError(n.name)
            return e
        if not hasattr(n, "__dataclass_fields__") or isinstance(n, _NESTED):
            return n
        changes = {}
        for k, v in vars(n).items():
            nv = tuple(sub(x) for x in v) if isinstance(v, tuple) else sub(v)
            if nv != v:
                changes[k] = nv
        return replace(n, **changes) if changes else n

    try:
        out: ast.Expr = sub(c)
    except KeyError:
        return None
    return out


def _applied(
    c: ast.Expr, name: str, alias: str, ctes: dict[str, ast.Query], depth: int = 0
) -> bool:
    """Does every row of the CTE ``name`` (read as ``alias``) meet ``c`` already?"""
    q = ctes.get(name)
    if q is None or depth > 5 or not isinstance(q.body, ast.Select):
        return False
    mapped = _through(c, alias, q.body)
    if mapped is None:
        return False
    if mapped in ast.block_conditions(q.body):
        return True
    read = ast.tables_read(mapped)
    refs = {r.ref_name: r for r in block_refs(q.body)}
    if len(read) == 1:
        (a,) = read
        ref = refs.get(a)
        if ref is not None and ref.schema is None:
            return _applied(mapped, ref.name, a, ctes, depth + 1)
    return False


def repeated_filters(body: ast.Select, ctes: dict[str, ast.Query]) -> list[ast.Expr]:
    """The block's conditions on one CTE's columns that the CTE already applies to every
    row it keeps (``ST_Intersects(sgl.geometry, box)`` again in the step that reads
    ``selected_grid_lines``). A condition at the query's place that another table of the
    block is also read at stays: it is what links the two (a tile and a dataset at one
    point)."""
    refs = {r.ref_name: r for r in block_refs(body)}
    if all(r.schema is not None for r in refs.values()):
        return []
    conds = ast.block_conditions(body)
    out = []
    for c in ast.conjuncts(body.where):
        read = ast.tables_read(c)
        if len(read) != 1 or any(isinstance(n, _NESTED) for n in ast.walk(c)):
            continue
        (a,) = read
        at = places(c)
        if at and any(places(o) & at and ast.tables_read(o) - read for o in conds):
            continue  # two tables read at one place: the link of the pair (STA004)
        ref = refs.get(a)
        if ref is not None and ref.schema is None and _applied(c, ref.name, a, ctes):
            out.append(c)
    return out


def drop_repeated_filters(query: ast.Query, ctes: dict[str, ast.Query] | None = None) -> ast.Query:
    """Without the conditions :func:`repeated_filters` finds (said once, in the CTE)."""
    ctes = _ctes(query) if ctes is None else ctes

    def fix(body: ast.Select) -> ast.Select:
        drop = repeated_filters(body, ctes)
        if not drop:
            return body
        where = None
        for c in ast.conjuncts(body.where):
            if c not in drop:
                where = c if where is None else ast.BinaryOp("AND", where, c)
        return replace(body, where=where)

    return _map_selects(query, fix)


def _and(conds: list[ast.Expr]) -> ast.Expr | None:
    out: ast.Expr | None = None
    for c in conds:
        out = c if out is None else ast.BinaryOp("AND", out, c)
    return out


def idle_steps(query: ast.Query) -> list[str]:
    """CTEs that only pass another CTE's rows on: one CTE read, plain columns selected,
    no condition, no grouping (a ``grid_line_metrics`` whose metrics went, or whose one
    filter repeated the first step's)."""
    names = {c.name for c in query.ctes}
    out = []
    for c in query.ctes:
        b = c.query.body
        if (
            isinstance(b, ast.Select)
            and len(b.from_) == 1
            and isinstance(b.from_[0], ast.TableRef)
            and b.from_[0].schema is None
            and b.from_[0].name in names
            and b.where is None
            and not b.group_by
            and not b.distinct
            and all(isinstance(it.expr, ast.Column) for it in b.items)
        ):
            out.append(c.name)
    return out


def fill_idle_steps(query: ast.Query, ctx: ExpansionContext | None = None) -> ast.Query:
    """An idle step (:func:`idle_steps`) read once by the main block takes the main block's
    conditions on its rows alone (``glm.project_id = 'p'`` becomes the step's
    ``sgl.project_id = 'p'``): the second step filters what the first selected, as an
    analyst's chain does. A step nothing can move into is left (refusing it relaxed three
    sql_type labels of 1,000 CTGAN rows: the structure's two CTEs then fall to a
    clustering). The expander runs it last,
    once unused CTE columns have gone (a step's metric nobody reads leaves it idle), and
    drops the columns the move leaves unread."""
    body = query.body
    idle = idle_steps(query)
    if not idle or not isinstance(body, ast.Select):
        return query
    ctes = list(query.ctes)
    for k, cte in enumerate(ctes):
        step = cte.query.body
        if cte.name not in idle or not isinstance(step, ast.Select):
            continue
        readers = [r for r in block_refs(body) if r.schema is None and r.name == cte.name]
        read_by_ctes = {
            n.name
            for c in ctes
            if c is not cte
            for n in ast.walk(c.query)
            if isinstance(n, ast.TableRef) and n.schema is None
        }
        if len(readers) != 1 or cte.name in read_by_ctes:
            continue
        alias = readers[0].ref_name
        others = len(block_refs(body)) > 1
        moved: list[ast.Expr] = []
        kept: list[ast.Expr] = []
        for c in ast.conjuncts(body.where):
            nested = any(isinstance(n, _NESTED) for n in ast.walk(c))
            # with other tables beside it, the step's rows at a literal point are what ties
            # them to the others' rows at that point (STA004 reads it so): it stays
            shared = others and any(_literal_point(n) for n in ast.walk(c) if n is not c)
            idle_c = nested or shared or ast.tables_read(c) != {alias}
            mapped = None if idle_c else _through(c, alias, step)
            if mapped is None:
                kept.append(c)
            else:
                moved.append(mapped)
        if not moved:
            continue
        ctes[k] = replace(cte, query=replace(cte.query, body=replace(step, where=_and(moved))))
        body = replace(body, where=_and(kept))
    if body is query.body:
        return query
    return drop_unused_cte_columns(replace(query, ctes=tuple(ctes), body=body), ctx)


# --------------------------------------------------------------------------- one point


def _literal_point(e: ast.Expr) -> bool:
    """A geometry written from literals alone (``ST_SetSRID(ST_MakePoint(9.1, 45.4), 4326)``)."""
    nodes = list(ast.walk(e))
    return not any(isinstance(n, ast.Column) for n in nodes) and any(
        isinstance(n, ast.FuncCall) and n.name.lower() in _POINTS for n in nodes
    )


def at_point(body: ast.Select) -> set[str]:
    """Aliases of the block's tables cut to the rows at one literal point: a geometry or
    raster that contains or intersects it (not a distance: the rows near a point are many)."""
    out = set()
    for c in ast.block_conditions(body):
        if not (isinstance(c, ast.FuncCall) and len(c.args) >= 2):
            continue
        name = c.name.lower()
        if name not in ("st_intersects", "st_contains", "st_within", "st_covers"):
            continue
        a, b = c.args[0], c.args[1]
        for geom, point in ((a, b), (b, a)):
            if name == "st_within" and geom is a:
                continue  # ST_Within(g, point): g inside a point is no containment of it
            if name in ("st_contains", "st_covers") and geom is b:
                continue
            read = ast.tables_read(geom)
            if _literal_point(point) and len(read) == 1:
                out |= read
    return out


def point_values(
    body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]
) -> list[ast.SelectItem]:
    """Outputs of a row-level block read only from rasters at one literal point, where the
    block's first table is not itself cut to that point: one value on every row."""
    refs = block_refs(body)
    if len(refs) < 2 or body.group_by or any(_aggregate(n) for n in _own(body)):
        return []
    points = at_point(body)
    if refs[0].ref_name in points:
        return []
    rasters = set()
    for r in refs[1:]:
        info = base_table(r, ctes, ctx)
        if info is not None and info.rasters and r.ref_name in points:
            rasters.add(r.ref_name)
    out = []
    for it in body.items:
        read = ast.tables_read(it.expr)
        if read and read <= rasters and not any(isinstance(n, _NESTED) for n in ast.walk(it.expr)):
            out.append(it)
    return out


def _has_point(e: Any) -> bool:
    return any(isinstance(n, ast.FuncCall) and n.name.lower() in _POINTS for n in ast.walk(e))


def read_per_row(query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> ast.Query:
    """The main block without its values at one point (:func:`point_values`) where each of
    those rasters is also read at each row (the DTM at a zone's centroid and at the
    query's point): the point's condition on it and its values there go, its per-row reads
    stay. Refused where a raster is read at the point alone, where the condition is not in
    WHERE, or where the ordering reads a value that goes."""
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    items = point_values(body, ctx, ctes)
    if not items:
        return query
    rasters = {a for it in items for a in ast.tables_read(it.expr)}
    conds = ast.block_conditions(body)
    where = ast.conjuncts(body.where)
    drop_conds = [c for c in where if len(ast.tables_read(c) & rasters) == 1 and _has_point(c)]
    drop_items = [it for it in items if _has_point(it.expr)]
    ordered = {o.expr.name for o in query.order_by if isinstance(o.expr, ast.Column)}
    for r in rasters:
        linked = any(r in ast.tables_read(c) and len(ast.tables_read(c)) >= 2 for c in conds)
        at = [c for c in conds if ast.tables_read(c) == {r} and _has_point(c)]
        if not linked or any(c not in drop_conds for c in at):
            raise BuildError("a value read at one point beside per-row values")
    keep = tuple(it for it in body.items if it not in drop_items)
    if not keep or any(_item_name(it) in ordered for it in drop_items):
        raise BuildError("a value read at one point beside per-row values")
    new = replace(body, items=keep, where=_and([c for c in where if c not in drop_conds]))
    if point_values(new, ctx, ctes):
        raise BuildError("a value read at one point beside per-row values")
    return replace(query, body=new)


def _aggregate(n: Any) -> bool:
    return (
        isinstance(n, ast.FuncCall)
        and n.over is None
        and n.name.upper() in ("COUNT", "SUM", "AVG", "MIN", "MAX")
    )


def _first_at_point(body: ast.Select, ctes: dict[str, ast.Query], depth: int = 0) -> bool:
    """Is the block's first table cut to one literal point, here or in the CTE it reads?"""
    refs = block_refs(body)
    if not refs or depth > 5:
        return False
    if refs[0].ref_name in at_point(body):
        return True
    q = ctes.get(refs[0].name) if refs[0].schema is None else None
    return (
        q is not None
        and isinstance(q.body, ast.Select)
        and _first_at_point(q.body, ctes, depth + 1)
    )


def point_groups(body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> bool:
    """Does the block group, aggregate or window (a clustering, a rank) rows whose first
    table is cut to one literal point, here or in the CTE it reads (the buildings
    containing a point, per census area; DBSCAN of the lidar buildings at a point), no join
    meeting several rows per row (the lines near that building are many)? A raster tile at
    a point aside: its value there is one reading, not a group."""
    refs = block_refs(body)
    own = _own(body)
    windowed = any(isinstance(n, ast.FuncCall) and n.over is not None for n in own)
    if not refs or not (body.group_by or windowed or any(_aggregate(n) for n in own)):
        return False
    info = base_table(refs[0], ctes, ctx)
    if info is None or info.rasters or not _first_at_point(body, ctes):
        return False
    return not to_many(body, ctes, ctx)[1]  # no table met several per row widens them


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
        elif isinstance(n, ast.FuncCall) and n.name.lower() in _POINTS:
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
    "at_point",
    "constant_aggregates",
    "constant_by_pins",
    "constant_subqueries",
    "drop_constant_aggregates",
    "drop_repeated_filters",
    "fill_idle_steps",
    "idle_steps",
    "label_groups",
    "point_groups",
    "point_values",
    "read_per_row",
    "repeated_filters",
    "settle_pins",
]
