"""No constant columns, and no table that is only there to show one.

A table whose key the query pins to one row -- a project scenario once the query is about
``project_id = 'p' AND scenario_id = 's'`` -- gives every row of a listing the same project
name, the same boundary area, the same centroid. An analyst does not ask for them: they are
the question's own constants (blind review, issue 14: "the project name is a constant
column", "joins project_scenario only to output a project name nobody asked for").

:func:`drop_constants` removes such outputs (and orderings by them) from a top-level SELECT
of several tables, and then the one-row table itself when all that is left of it is its join
(``bp.project_id = ps.project_id AND ...``) and its pins: a pin moves to the column the join
equated it with (``bp.project_id = 'p'``), so the query asks the same with one table less.
The expander ranks that attempt by the counts it then has; where no attempt keeps the
structure's table count, the relaxation is recorded (EXP010).
"""

from __future__ import annotations

from dataclasses import replace

from cimgen import ast
from cimgen.equalities import (
    block_equalities,
    equalities,
    inner_table_refs,
    is_literal,
    qualified,
)
from cimgen.expand.context import ExpansionContext
from cimgen.expand.distinct import one_row_tables
from cimgen.expand.frame import BuildError


def _constant(expr: ast.Expr, one_row: set[str]) -> bool:
    nodes = list(ast.walk(expr))
    if any(isinstance(n, (ast.Query, ast.Subquery)) for n in nodes):
        return False
    if any(isinstance(n, ast.FuncCall) and n.over is not None for n in nodes):
        return False  # a window over a constant is RES003's business (distinct.py)
    cols = [n for n in nodes if isinstance(n, ast.Column)]
    return bool(cols) and all(c.table in one_row for c in cols)


def drop_constants(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` without outputs (and orderings) that read only one-row tables, and without
    a one-row table that then serves nothing but its join (see the module docstring); also
    without a plain column the query pins to one literal (:func:`without_pinned_outputs`)."""
    query = without_pinned_outputs(query)
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    refs = [r for item in body.from_ for r in inner_table_refs(item)]
    one_row = one_row_tables(body, ctx)
    if not one_row or len(refs) < 2 or all((r.alias or r.name) in one_row for r in refs):
        return query  # a lookup of one row: its columns are the answer
    grouped = body.group_by
    # a constant group key stays (the grouping is the query's); a constant aggregate goes
    keep = tuple(it for it in body.items if not _constant(it.expr, one_row) or it.expr in grouped)
    if not keep:
        return query
    dropped = {it.alias for it in body.items if it not in keep and it.alias}
    dropped |= {
        it.expr.name for it in body.items if it not in keep and isinstance(it.expr, ast.Column)
    }
    order = tuple(
        o
        for o in query.order_by
        if not (
            (isinstance(o.expr, ast.Column) and o.expr.table is None and o.expr.name in dropped)
            or (not isinstance(o.expr, ast.Number) and _constant(o.expr, one_row))
        )
    )
    if query.order_by and not order and query.limit is not None:
        first = keep[0]
        key = ast.Column(first.alias) if first.alias else first.expr
        order = (ast.OrderItem(key, query.order_by[0].direction),)
    if any(isinstance(o.expr, ast.Number) for o in query.order_by) and keep != body.items:
        return query  # ordinals would point elsewhere: leave the query as built
    query = replace(query, body=replace(body, items=keep), order_by=order)
    for alias in sorted(one_row):
        query = _without_table(query, alias)
        if _only_linked(query, alias):
            # its join is spatial (lines inside the project's own boundary): it cannot go,
            # and it would serve nothing (PUR001) -- another attempt builds the query
            raise BuildError(f"{alias} is one row joined only to show constants")
    return query


def pinned_columns(body: ast.Select) -> set[tuple[str, str]]:
    """The (alias, column) pairs that an inner condition of ``body`` fixes to one literal,
    directly (``r.raster_type = 'DTM'``) or through equalities (``gl.scenario_id =
    ps.scenario_id AND ps.scenario_id = 's'``)."""
    return block_equalities(body).pinned()


def without_pinned_outputs(query: ast.Query) -> ast.Query:
    """``query`` without a plain output column that its conditions fix to one literal: the
    same value on every row, already in the question (blind review, issue 14: "raster_type
    is a constant output", "the 'line scenario' output equals the project scenario it is
    joined on"). A grouping keeps its keys; a query whose every output is pinned, or whose
    ordering names a dropped output, is left as built."""
    body = query.body
    if not isinstance(body, ast.Select) or body.group_by or body.distinct:
        return query
    pinned = pinned_columns(body)
    if not pinned:
        return query
    keep = tuple(it for it in body.items if qualified(it.expr) not in pinned)
    if not keep or len(keep) == len(body.items):
        return query
    gone = {it.alias or getattr(it.expr, "name", "") for it in body.items if it not in keep}
    for o in query.order_by:
        if isinstance(o.expr, ast.Number) or (
            isinstance(o.expr, ast.Column) and o.expr.table is None and o.expr.name in gone
        ):
            return query
    return replace(query, body=replace(body, items=keep))


def _only_linked(query: ast.Query, alias: str) -> bool:
    """Is ``alias`` still in the block, read only by conditions that also read another
    table (its joins), with no condition of its own?"""
    body = query.body
    assert isinstance(body, ast.Select)
    conds = [c for c in ast.block_conditions(body) if alias in ast.tables_read(c)]
    if not conds or any(ast.tables_read(c) == {alias} for c in conds):
        return False
    reads = [n for n in ast.walk(query) if isinstance(n, ast.Column) and n.table == alias]
    in_conds = [n for c in conds for n in ast.walk(c) if isinstance(n, ast.Column)]
    return len(reads) == sum(1 for n in in_conds if n.table == alias)


def _without_table(query: ast.Query, alias: str) -> ast.Query:
    """``query`` without the table ``alias`` when only its join and its pins mention it."""
    body = query.body
    assert isinstance(body, ast.Select)
    conds = ast.block_conditions(body)
    mine = [c for c in conds if alias in ast.tables_read(c)]
    if not mine or not all(_link_or_pin(c, alias) for c in mine):
        return query

    def reads(node: object) -> int:
        return sum(1 for n in ast.walk(node) if isinstance(n, ast.Column) and n.table == alias)

    if reads(query) != sum(reads(c) for c in mine):
        return query  # an output, a grouping, an ordering or a subquery reads it
    new_from = _drop_item(body.from_, alias)
    if new_from is None:
        return query
    items, moved = new_from
    stripped = _strip_on(items, mine)
    if stripped is None:
        return query
    items = stripped
    rest = [c for c in conds if c not in mine]
    # what the table's conditions said about the others must still be said
    full = equalities(conds).classes
    pinned: dict[tuple[str, str], ast.Expr] = {}
    for c in mine:
        assert isinstance(c, ast.BinaryOp)
        left, right = qualified(c.left), qualified(c.right)
        if left and not right:
            pinned[left] = c.right
        elif right and not left:
            pinned[right] = c.left
    rest_eq = equalities(rest)
    reduced, kept_pins = rest_eq.classes, {c for c, _ in rest_eq.pins}
    members: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key in {*full.members(), *pinned}:
        members.setdefault(full.find(key), []).append(key)
    extra: list[ast.Expr] = []
    for _, cols in sorted(members.items()):
        cols.sort()
        others = sorted(c for c in cols if c[0] != alias)
        mine_pins = [pinned[c] for c in cols if c in pinned]
        if not others:
            if mine_pins:
                return query  # a pin on the table alone: it filters, it stays
            continue
        head = others[0]
        for o in others[1:]:
            if reduced.find(o) != reduced.find(head):
                link = ast.BinaryOp("=", ast.Column(head[1], head[0]), ast.Column(o[1], o[0]))
                extra.append(link)
                reduced.union(head, o)
        if mine_pins and not any(reduced.find(p) == reduced.find(head) for p in kept_pins):
            extra.append(ast.BinaryOp("=", ast.Column(head[1], head[0]), mine_pins[0]))
    where_parts = [c for c in ast.conjuncts(body.where) if c not in mine] if body.where else []
    where_parts += [c for c in moved if c not in mine] + extra
    return replace(query, body=replace(body, from_=items, where=ast.and_all(where_parts)))


def _strip_on(
    items: tuple[ast.FromItem, ...], mine: list[ast.Expr]
) -> tuple[ast.FromItem, ...] | None:
    """The FROM items with the dropped table's conditions taken out of the ON clauses left;
    None where an ON would be left empty."""

    def strip(item: ast.FromItem) -> ast.FromItem | None:
        if not isinstance(item, ast.Join):
            return item
        left, right = strip(item.left), strip(item.right)
        if left is None or right is None:
            return None
        on = item.on
        if on is not None:
            parts = [c for c in ast.conjuncts(on) if c not in mine]
            if not parts:
                return None
            on = parts[0]
            for c in parts[1:]:
                on = ast.BinaryOp("AND", on, c)
        return replace(item, left=left, right=right, on=on)

    out = [strip(it) for it in items]
    if any(it is None for it in out):
        return None
    return tuple(it for it in out if it is not None)


def _link_or_pin(c: ast.Expr, alias: str) -> bool:
    """``alias.c = other.d`` or ``alias.c = literal``: a join or a pin, nothing more."""
    if not (isinstance(c, ast.BinaryOp) and c.op == "="):
        return False
    left, right = qualified(c.left), qualified(c.right)
    if left and right:
        return (left[0] == alias) != (right[0] == alias)
    col = left or right
    lit = c.right if left else c.left
    return col is not None and col[0] == alias and is_literal(lit)


def _drop_item(
    items: tuple[ast.FromItem, ...], alias: str
) -> tuple[tuple[ast.FromItem, ...], list[ast.Expr]] | None:
    """The FROM list without the table ``alias`` (a comma item or a side of an inner
    join), and the ON conditions of a join it was part of; None where it cannot go."""
    out: list[ast.FromItem] = []
    moved: list[ast.Expr] = []
    found = False
    for item in items:
        if isinstance(item, ast.TableRef) and (item.alias or item.name) == alias:
            found = True
            continue
        got = _drop_in_join(item, alias, moved) if isinstance(item, ast.Join) else None
        if got is not None:
            found = True
            out.append(got)
        else:
            out.append(item)
    if not found or not out:
        return None
    return tuple(out), moved


def _drop_in_join(item: ast.Join, alias: str, moved: list[ast.Expr]) -> ast.FromItem | None:
    if item.kind in ("LEFT", "RIGHT", "FULL"):
        return None
    for side, other in ((item.right, item.left), (item.left, item.right)):
        if isinstance(side, ast.TableRef) and (side.alias or side.name) == alias:
            if item.on is not None:
                moved += ast.conjuncts(item.on)
            return other
    if isinstance(item.left, ast.Join):
        got = _drop_in_join(item.left, alias, moved)
        if got is not None:
            return replace(item, left=got)
    if isinstance(item.right, ast.Join):
        got = _drop_in_join(item.right, alias, moved)
        if got is not None:
            return replace(item, right=got)
    return None
