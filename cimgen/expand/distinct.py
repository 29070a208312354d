"""Outputs that tell rows apart: a row-level query over a table that holds several
versions of one thing (a building per level of detail, a building's properties or a grid
line per project scenario) shows the version, or its rows look like repeats (RES002).

A table's *version columns* come from the data: the fewest of its scope columns
(``project_id``, ``scenario_id``) and categories (``lod``) that, with the table's label
(``building_id``, ``name``), tell its sampled rows apart. :func:`distinguish` adds to a
row-level SELECT the version columns of each table it reads that the query neither pins
(``b.lod = 2``), outputs, nor equates to one it outputs or pins (``bp.lod = b.lod``).
:func:`pin_scope` first puts every scoped table in the project scenario the query is pinned
to, and :func:`order_by_what_varies` drops orderings by a row pinned to one value (RES003).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import combinations

from cimgen import ast
from cimgen.equalities import block_equalities, inner_table_refs, one_row_aliases, qualified
from cimgen.expand.context import ExpansionContext, TableInfo

MAX_VERSION_COLUMNS = 3
MAX_LEVELS = 8  # distinct values of a key column that is a level (lod), not an identity


def version_columns(ctx: ExpansionContext, info: TableInfo) -> tuple[str, ...]:
    """The fewest scope or category columns that, with the table's label, tell its sampled
    rows apart; () when the label alone does, or when none do (memoised per process)."""
    key = ("version_columns", info.qualified)
    if key in ctx.memo:
        return tuple(ctx.memo[key])
    ctx.memo[key] = found = _versions(ctx, info)
    return found


def level_columns(ctx: ExpansionContext, info: TableInfo) -> tuple[str, ...]:
    """The table's key columns with few values (``lod`` 0/1/2): levels, not identities."""
    sample = ctx.world.table(info.qualified)
    if sample is None:
        return ()
    return tuple(
        c
        for c in info.ids
        if c not in info.pk
        and c not in info.scope
        and sample.has(c)
        and len(sample.counts(c)) <= MAX_LEVELS
    )


def _versions(ctx: ExpansionContext, info: TableInfo) -> tuple[str, ...]:
    sample = ctx.world.table(info.qualified)
    if sample is None or len(sample) < 2 or not info.labels:
        return ()
    label = info.labels[0]
    if not sample.has(label):
        return ()
    levels = level_columns(ctx, info)  # a key with few values is a version, not an identity
    candidates = [
        c for c in (*info.scope, *levels, *info.categories) if sample.has(c) and c != label
    ]
    for size in range(MAX_VERSION_COLUMNS + 1):
        for cols in combinations(candidates, size):
            keys = {tuple(sample.value(i, c) for c in (label, *cols)) for i in range(len(sample))}
            if len(keys) == len(sample):
                return cols
    return ()


def pin_scope(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` with every scoped table in the project scenario the query is about: when
    one table is pinned to a project and scenario (``gl.scenario_id = 'proposed'``), a
    scoped table it meets with its scope left open (building properties of every scenario)
    gets the same literals, instead of rows of other scenarios beside the asked one."""
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    eq = block_equalities(body)
    same, pinned = eq.classes, dict(eq.pins)
    values: dict[str, ast.Expr | None] = {}
    for (alias, column), lit in pinned.items():
        ref = _ref(body, alias)
        info = ctx.by_name.get(ref.qualified) if ref is not None else None
        if info is not None and column in info.scope:
            values[column] = lit if values.get(column, lit) == lit else None  # two values: leave
    if not any(values.values()):
        return query
    fixed = eq.fixed()
    extra: list[ast.Expr] = []
    for ref in (r for item in body.from_ for r in inner_table_refs(item)):
        info = ctx.by_name.get(ref.qualified)
        alias = ref.alias or ref.name
        if info is None:
            continue
        for column in info.scope:
            given = values.get(column)
            root = same.find((alias, column))
            if given is None or root in fixed:
                continue
            fixed.add(root)
            extra.append(ast.BinaryOp("=", ast.Column(column, alias), given))
    return with_conditions(query, body, extra)


def tie_scopes(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` with its scoped tables in one project scenario when none is pinned: rows
    of two scoped tables met through something unscoped (building properties and the
    project scenarios containing the building; lines near a building and the project
    containing it) would otherwise pair every scenario of one with every scenario of the
    other (lead's read, issue 14: ``bp.scenario_id`` 'proposed' beside ``ps.scenario_id``
    'baseline' on one row; a count of property records over scenario pairs). The first
    scoped table's scope columns are equated with each other's (what :func:`pin_scope`
    does with a literal when one is pinned).

    The equalities go into the ON of the join that meets the later table, or beside the
    WHERE conditions of a comma join (:func:`_join_beside`; a comma made ``JOIN ... ON``
    would change the join count the structure asked for, and with it the label: 1,000
    CTGAN rows, seed 1, five counts 98.9 -> 97.9 %, labels 96.1 -> 94.6 %). SQLite plans
    both alike: the ~30 s plan of one 6,208-row listing (CI's determinism test, main
    e8c957c) came from the tie itself, in the ON as in the WHERE, and the SpatiaLite
    rendering writes a tie with a planner hint (``render.spatialite_index.plan_ties``).

    A step after ``once.say_once``, and a pin first where there is one
    (:func:`pin_scope`): a project scenario say_once pinned to the shared scenario
    ('baseline') puts the properties beside it there too (``bp.scenario_id =
    'baseline'``), the rest is tied, and a bare output of a scope column this fixes goes
    (it would read 'baseline' on every row). Tied before the pin, or tied where a pin
    would do, a listing of buildings beside their project was refused as repeated
    (``returns.repeated_listing`` reads the tie as a to-many link) and the expander built
    another plan (1,000 CTGAN rows: labels 96.1 -> 95.3 %)."""
    before = query.body
    if not isinstance(before, ast.Select):
        return query
    query = pin_scope(query, ctx)  # a pin is better than a tie where the query has one
    body = query.body
    assert isinstance(body, ast.Select)
    eq = block_equalities(body)
    same = eq.classes
    fixed = eq.fixed()
    ties: dict[str, list[ast.Expr]] = {}
    anchor: dict[str, tuple[str, str]] = {}
    first_table: str | None = None
    for ref in (r for item in body.from_ for r in inner_table_refs(item)):
        info = ctx.by_name.get(ref.qualified)
        if info is None or not info.scope:
            continue
        first_table = first_table or ref.qualified
        if ref.qualified == first_table and anchor:
            continue  # a pair of one table's rows: frame.pair_terms says how they meet
        alias = ref.alias or ref.name
        for column in info.scope:
            first = anchor.setdefault(column, (alias, column))
            root, other = same.find((alias, column)), same.find(first)
            if first == (alias, column) or root == other or (root in fixed and other in fixed):
                continue
            same.union((alias, column), first)
            ties.setdefault(alias, []).append(
                ast.BinaryOp("=", ast.Column(column, alias), ast.Column(first[1], first[0]))
            )
    for alias, conds in ties.items():
        body = _join_beside(body, alias, conds)
    if body is before:
        return query
    # a scope column this step fixes (the properties put in the project scenario
    # once.pin_project_scenario pinned to 'baseline') says nothing as a bare output
    was, now = block_equalities(before), block_equalities(body)
    old_fixed, new_fixed = was.fixed(), now.fixed()
    block: ast.Select = body

    def constant(it: ast.SelectItem) -> bool:
        e = it.expr
        if not isinstance(e, ast.Column) or e.table is None:
            return False
        ref = _ref(block, e.table)
        info = ctx.by_name.get(ref.qualified) if ref is not None else None
        return (
            info is not None
            and e.name in info.scope
            and now.classes.find((e.table, e.name)) in new_fixed
            and was.classes.find((e.table, e.name)) not in old_fixed
        )

    items = tuple(it for it in body.items if not constant(it))
    if items and len(items) < len(body.items):
        body = replace(body, items=items)
    return replace(query, body=body)


def _join_beside(body: ast.Select, alias: str, conds: list[ast.Expr]) -> ast.Select:
    """``body`` with ``conds`` (equalities between table ``alias`` and tables before it)
    in the ON of the inner join whose right side is ``alias`` when that join's left side
    holds the tables ``conds`` name; else (a table met by a comma) after the WHERE
    conditions that join it, as the comma join's other conditions are."""
    others = {c.table for cond in conds for c in ast.walk(cond) if isinstance(c, ast.Column)}
    others.discard(alias)
    names = [_item_names(item) for item in body.from_]
    at = next((i for i, n in enumerate(names) if alias in n), None)
    if at is not None and others <= names[at]:
        item = body.from_[at]
        for cond in conds:
            item = _join_on(item, alias, cond)
        if item != body.from_[at]:
            return replace(body, from_=(*body.from_[:at], item, *body.from_[at + 1 :]))
    return replace(body, where=ast.and_all([*ast.conjuncts(body.where), *conds]))


def _item_names(item: ast.FromItem) -> set[str]:
    """The names columns use for every table and derived table of a FROM item, outer
    joins included."""
    if isinstance(item, ast.Join):
        return _item_names(item.left) | _item_names(item.right)
    return {item.ref_name if isinstance(item, ast.TableRef) else item.alias}


def with_conditions(query: ast.Query, body: ast.Select, extra: list[ast.Expr]) -> ast.Query:
    """``query`` whose main block's WHERE also holds ``extra`` (AND-ed after it)."""
    if not extra:
        return query
    where = ast.and_all([body.where, *extra] if body.where is not None else extra)
    return replace(query, body=replace(body, where=where))


def open_levels(body: ast.Select, ctx: ExpansionContext) -> list[tuple[str, str, str]]:
    """(alias, alias, column): two inner-joined tables of the block about one thing (their
    labels equated: ``bhc.building_id = bp.building_id``, ``b.building_id = ...``) that
    both hold a level (:func:`level_columns`: ``lod``) the block neither equates between
    them nor pins on both, and that no key link ties row to row (``b.id =
    bp.building_fk`` names one level): each row of one meets the other at every level."""
    refs = [r for item in body.from_ for r in inner_table_refs(item)]
    eq = block_equalities(body)
    same, fixed = eq.classes, eq.fixed()
    infos = [(r.alias or r.name, ctx.by_name.get(r.qualified)) for r in refs]
    out = []
    for i, (x, ix) in enumerate(infos):
        for y, iy in infos[i + 1 :]:
            if ix is None or iy is None or not ix.labels or ix.labels[:1] != iy.labels[:1]:
                continue
            label = ix.labels[0]
            if same.find((x, label)) != same.find((y, label)):
                continue
            if any(
                eq.reached(a, k, [b]) for a, b, info in ((x, y, ix), (y, x, iy)) for k in info.pk
            ):
                continue
            for c in level_columns(ctx, ix):
                if c not in level_columns(ctx, iy):
                    continue
                rx, ry = same.find((x, c)), same.find((y, c))
                if rx != ry and not (rx in fixed and ry in fixed):
                    out.append((x, y, c))
    return out


def equate_levels(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` with the levels :func:`open_levels` finds equated (``b.lod = bp.lod``, as
    Stage 1 joins a building to its properties), in the top-level block and its CTEs:
    without it a building is listed, counted or averaged once per level of detail, or
    beside the properties of another level. (A pin of the open side to the other's
    literal, ``bp.lod = 1`` beside ``b.lod = 1``, reads as a second condition: the data
    do not make ``lod`` a version of the properties.)"""

    def fix(body: ast.Select) -> ast.Select:
        for x, y, c in open_levels(body, ctx):
            cond: ast.Expr = ast.BinaryOp("=", ast.Column(c, x), ast.Column(c, y))
            from_ = tuple(_join_on(item, y, cond) for item in body.from_)
            if from_ != body.from_:  # in the ON of the join that meets the later table
                body = replace(body, from_=from_)
            else:
                where = body.where
                body = replace(
                    body, where=cond if where is None else ast.BinaryOp("AND", where, cond)
                )
        return body

    ctes = tuple(
        replace(cte, query=replace(cte.query, body=fix(cte.query.body)))
        if isinstance(cte.query.body, ast.Select)
        else cte
        for cte in query.ctes
    )
    body = fix(query.body) if isinstance(query.body, ast.Select) else query.body
    if body is query.body and ctes == query.ctes:
        return query
    return replace(query, ctes=ctes, body=body)


def _join_on(item: ast.FromItem, alias: str, cond: ast.Expr) -> ast.FromItem:
    """``item`` with ``cond`` added to the ON of the inner join whose right side is the
    table ``alias`` (``item`` itself where there is none)."""
    if not isinstance(item, ast.Join):
        return item
    right = item.right
    if (
        item.kind == "INNER"
        and item.on is not None
        and isinstance(right, ast.TableRef)
        and (right.alias or right.name) == alias
    ):
        return replace(item, on=ast.BinaryOp("AND", item.on, cond))
    return replace(item, left=_join_on(item.left, alias, cond))


def _ref(body: ast.Select, alias: str) -> ast.TableRef | None:
    for item in body.from_:
        for r in inner_table_refs(item):
            if (r.alias or r.name) == alias:
                return r
    return None


def distinguish(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` with the version columns it leaves open added to its SELECT list (a
    row-level, non-DISTINCT, top-level SELECT only; anything else is returned as is)."""
    body = query.body
    if not isinstance(body, ast.Select) or body.distinct or body.group_by:
        return query
    if any(_aggregates(it.expr, ctx) for it in body.items):
        return query
    refs = [r for item in body.from_ for r in inner_table_refs(item)]
    if not refs:
        return query
    eq = block_equalities(body)
    same, names_in_block = eq.classes, [r.alias or r.name for r in refs]
    known = eq.fixed()
    known |= {same.find(c) for it in body.items if (c := qualified(it.expr)) is not None}
    added: list[ast.SelectItem] = []
    names = {
        it.alias or (it.expr.name if isinstance(it.expr, ast.Column) else "") for it in body.items
    }
    for ref in refs:
        info = ctx.by_name.get(ref.qualified)
        if info is None:
            continue
        alias = ref.alias or ref.name
        if info.pk and all(eq.reached(alias, k, names_in_block) for k in info.pk):
            continue  # one row per row of the table whose key names it (b.id = bp.building_fk)
        for column in version_columns(ctx, info):
            root = same.find((alias, column))
            if root in known:
                continue
            known.add(root)
            item = ast.SelectItem(ast.Column(column, alias))
            if column in names:  # two tables' scenario_id: name the second by its table
                item = ast.SelectItem(ast.Column(column, alias), f"{alias}_{column}")
            names.add(item.alias or column)
            added.append(item)
    if not added:
        return query
    return replace(query, body=replace(body, items=(*body.items, *added)))


def order_by_what_varies(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """``query`` without orderings and rankings by what is the same on every row (RES003):
    an expression reading only tables pinned to one row (``ps`` with its project and
    scenario fixed: its name, its boundary's area). With a LIMIT, an ordering left empty
    becomes one by the first output that varies, so the cut still means something."""
    body = query.body
    if not isinstance(body, ast.Select) or body.group_by:
        return query
    if any(_aggregates(it.expr, ctx) for it in body.items):
        return query
    one_row = one_row_tables(body, ctx)
    if not one_row:
        return query

    def constant(expr: ast.Expr) -> bool:
        nodes = list(ast.walk(expr))
        if any(isinstance(n, (ast.Query, ast.Subquery)) for n in nodes):
            return False
        cols = [n for n in nodes if isinstance(n, ast.Column)]
        return bool(cols) and all(c.table in one_row for c in cols)

    by_alias = {it.alias: it.expr for it in body.items if it.alias}
    items = body.items
    if not any(isinstance(o.expr, ast.Number) for o in query.order_by):  # ordinals stay put
        items = tuple(it for it in items if not _flat_ranking(it.expr, constant))
    dropped = {it.alias for it in body.items if it not in items and it.alias}

    def flat(o: ast.OrderItem) -> bool:
        e = o.expr
        if isinstance(e, ast.Column) and e.table is None and e.name in by_alias:
            return e.name in dropped or constant(by_alias[e.name])
        return not isinstance(e, ast.Number) and constant(e)

    order = tuple(o for o in query.order_by if not flat(o))
    if order == query.order_by and items == body.items:
        return query
    if query.order_by and not order and query.limit is not None:
        varying = next((it for it in items if not constant(it.expr)), None)
        if varying is not None:
            key = ast.Column(varying.alias) if varying.alias else varying.expr
            order = (ast.OrderItem(key, query.order_by[0].direction),)
    return replace(query, body=replace(body, items=items), order_by=order)


def one_row_tables(body: ast.Select, ctx: ExpansionContext) -> set[str]:
    """Aliases of the block's (inner-joined) tables whose primary key is fixed by literals,
    directly or through the equalities of the block: each stands for one row."""
    return one_row_aliases(body, lambda ref: _primary_key(ctx, ref))


def _primary_key(ctx: ExpansionContext, ref: ast.TableRef) -> tuple[str, ...]:
    info = ctx.by_name.get(ref.qualified)
    return tuple(info.pk) if info is not None else ()


def open_versions(query: ast.Query, ctx: ExpansionContext) -> list[tuple[str, str]]:
    """(alias, column): version columns (:func:`version_columns`) of a joined table -- not
    the first FROM item -- that the block neither pins nor equates to another table's
    column, so one row of the first table meets several versions of the joined one."""
    body = query.body
    if not isinstance(body, ast.Select):
        return []
    refs = [r for f in body.from_ for r in inner_table_refs(f)]
    eq = block_equalities(body)
    fixed, names = eq.fixed(), [r.alias or r.name for r in refs]
    out = []
    for ref in refs[1:]:
        info = ctx.by_name.get(ref.qualified)
        alias = ref.alias or ref.name
        if info is None or (info.pk and all(eq.reached(alias, k, names) for k in info.pk)):
            continue
        for col in version_columns(ctx, info):
            if eq.classes.find((alias, col)) not in fixed and not eq.reached(alias, col, names):
                out.append((alias, col))
    return out


def _flat_ranking(expr: ast.Expr, constant: Callable[[ast.Expr], bool]) -> bool:
    """A ranking window ordered only by constants: every row ranks the same."""
    if not (isinstance(expr, ast.FuncCall) and expr.over is not None):
        return False
    if expr.name.upper() not in _RANKINGS or not expr.over.order_by:
        return False
    return all(constant(o.expr) for o in expr.over.order_by)


_RANKINGS = {"RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE", "PERCENT_RANK", "CUME_DIST"}


def _aggregates(expr: ast.Expr, ctx: ExpansionContext) -> bool:
    stack: list[object] = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Query, ast.Subquery)):
            continue  # a scalar subquery's aggregate is its own
        stack.extend(ast.children(n))
        if isinstance(n, ast.FuncCall) and n.over is None:
            f = ctx.catalogue.get(n.name)
            if (n.star and n.name.upper() == "COUNT") or (
                f is not None and f.is_aggregate_call(len(n.args))
            ):
                return True
    return False
