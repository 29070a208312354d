"""Repeated filters and idle CTE steps (issue 14, eighth pass; split from
:mod:`cimgen.expand.pinned`).

* :func:`repeated_filters` -- a condition on a CTE's columns that the CTE (or a CTE it
  reads) already applies: a second step that repeats a filter of the first. Dropped by
  :func:`drop_repeated_filters` (a step of :func:`cimgen.expand.pinned.settle_pins`).
* :func:`idle_steps` -- a CTE left passing another's rows on (or built so); it takes the
  main block's conditions on its rows (:func:`fill_idle_steps`, the expander's last step).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext
from cimgen.expand.multiply import (
    block_refs,
    drop_unused_cte_columns,
    map_selects,
    passed_on,
)
from cimgen.expand.point import literal_point
from cimgen.expand.theme import places

_NESTED = ast.SUBQUERY_EXPRS


def _through(c: ast.Expr, alias: str, cte: ast.Select) -> ast.Expr | None:
    """``c`` (on the columns of ``alias``, a reader's name for the CTE ``cte``) written on
    the CTE's own columns; None where an output it reads is not a plain column."""
    exprs = {ast.output_name(it): it.expr for it in cte.items}

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
    ctes = ast.ctes_by_name(query) if ctes is None else ctes

    def fix(body: ast.Select) -> ast.Select:
        drop = repeated_filters(body, ctes)
        if not drop:
            return body
        return replace(
            body, where=ast.and_all([c for c in ast.conjuncts(body.where) if c not in drop])
        )

    return map_selects(query, fix)


def idle_steps(query: ast.Query) -> list[str]:
    """CTEs that only pass another CTE's rows on (:func:`cimgen.expand.multiply.passed_on`
    of a CTE) selecting plain columns (a ``grid_line_metrics`` whose metrics went, or whose one
    filter repeated the first step's)."""
    names = {c.name for c in query.ctes}
    out = []
    for c in query.ctes:
        b = c.query.body
        if not isinstance(b, ast.Select):
            continue
        source = passed_on(b)
        if (
            source is not None
            and source.schema is None
            and source.name in names
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
            shared = others and any(literal_point(n) for n in ast.walk(c) if n is not c)
            idle_c = nested or shared or ast.tables_read(c) != {alias}
            mapped = None if idle_c else _through(c, alias, step)
            if mapped is None:
                kept.append(c)
            else:
                moved.append(mapped)
        if not moved:
            continue
        new_step = replace(step, where=ast.and_all(moved))
        ctes[k] = replace(cte, query=replace(cte.query, body=new_step))
        body = replace(body, where=ast.and_all(kept))
    if body is query.body:
        return query
    return drop_unused_cte_columns(replace(query, ctes=tuple(ctes), body=body), ctx)


__all__ = ["drop_repeated_filters", "fill_idle_steps", "idle_steps", "repeated_filters"]
