"""What a query returns: the outputs an analyst would ask for (issue 14, eighth pass).

Rewrites run by :func:`cimgen.expand.expand` after a query is built, each ``Query -> Query``:

* :func:`drop_equal_outputs` -- of two outputs a join makes equal (``b.building_id`` and
  ``bp.building_id``; ``gl.from_bus`` beside ``gb.bus_id``) one is kept;
* :func:`theme_aggregates` -- a kitchen-sink aggregate (measures of three tables, or four
  aggregates over two) keeps a count and the measures that belong together; a block with
  aggregates (its own, or a grouped CTE's joined back to its rows) returns at most
  :data:`MAX_AGGREGATE_OUTPUTS` values, any block at most :data:`MAX_OUTPUTS` read from
  several tables;
* :func:`trim_listing` -- a row-level listing of several tables' values keeps at most
  :data:`MAX_LISTING_OUTPUTS` where the joined tables' plain columns can go (the
  kitchen-sink listing of a line's project, source bus and census zone);
* :func:`drop_unused_derived_columns` -- a derived table in FROM (a clustering's
  ``(SELECT ..., ST_ClusterKMeans(...) OVER () AS cluster_id ...) AS k``) selects only
  what its reader uses, as :func:`cimgen.expand.multiply.drop_unused_cte_columns` does for
  CTEs.

The bounds are Stage 1's: in the bundled demo corpus (10,000 records, parsed with
PostgreSQL's parser) no aggregate query's aggregates read more than two tables, none with
four or more aggregates reads two, no aggregate query returns more than 6 values, and no
query returns more than 8 values read from two or more tables (docs/BENCHMARKS.md,
"Realism: eighth pass (b)").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import (
    Links,
    aggregated,
    base_table,
    block_refs,
    columns_read,
    drop_unread,
    many_links,
)

MAX_AGGREGATE_TABLES = 2  # tables whose values a block's aggregates read
MAX_AGGREGATES_OVER_TWO = 3  # aggregates when they read two tables (a count and a measure each)
MAX_OUTPUTS = 8  # values a block returns when they are read from two or more tables
MAX_AGGREGATE_OUTPUTS = 6  # values a block with aggregates (its own or a CTE's) returns
# values a listing of two or more tables' values is trimmed to where plain columns can go
MAX_LISTING_OUTPUTS = 6
_AGGS = {"COUNT", "SUM", "AVG", "MIN", "MAX"}


# --------------------------------------------------------------------------- uses


def _is_aggregate(e: ast.Expr) -> bool:
    return isinstance(e, ast.FuncCall) and e.over is None and e.name.upper() in _AGGS


def _ordered(query: ast.Query) -> tuple[set[str], set[Any]]:
    """Output names and expressions the query's ORDER BY reads."""
    names: set[str] = set()
    exprs: set[Any] = set()
    for o in query.order_by:
        for n in ast.walk(o.expr):
            exprs.add(n)
            if isinstance(n, ast.Column) and n.table is None:
                names.add(n.name)
    return names, exprs


def _protected(it: ast.SelectItem, body: ast.Select, query: ast.Query) -> bool:
    """An output the ordering, HAVING or grouping reads: not to be dropped."""
    names, exprs = _ordered(query)
    if (it.alias and it.alias in names) or it.expr in exprs or it.expr in body.group_by:
        return True
    return body.having is not None and it.expr in set(ast.walk(body.having))


def _uses(body: ast.Select, query: ast.Query, items: tuple[ast.SelectItem, ...]) -> set[str]:
    """Aliases a block reads for a purpose (outputs ``items``, the subject's conditions,
    grouping, HAVING, ordering), its links aside: a joined table's own conditions are no
    purpose (it owes an output; docs/expansion.md, "One theme per query")."""
    used: set[str] = set()
    for it in items:
        used |= ast.tables_read(it.expr)
    first = _subject(body)
    if first is not None and any(
        ast.tables_read(c) == {first} for c in ast.block_conditions(body, outer_joins=True)
    ):
        used.add(first)
    for g in body.group_by:
        used |= ast.tables_read(g)
    if body.having is not None:
        used |= ast.tables_read(body.having)
    for o in query.order_by:
        used |= ast.tables_read(o.expr)
    return used


def _drop(query: ast.Query, body: ast.Select, it: ast.SelectItem) -> ast.Select | None:
    """``body`` without ``it``, or None when that would leave a table it reads with no
    purpose or the block with no output."""
    rest = tuple(x for x in body.items if x is not it)
    if not rest or _protected(it, body, query):
        return None
    used = _uses(body, query, rest)
    if ast.tables_read(it.expr) - used:
        return None
    return replace(body, items=rest)


# --------------------------------------------------------------------------- equal outputs


def equal_classes(body: ast.Select) -> dict[ast.Column, int]:
    """Columns an inner join or WHERE equates, by class (union of ``a.x = b.y``)."""
    parent: dict[ast.Column, ast.Column] = {}

    def find(c: ast.Column) -> ast.Column:
        while parent.get(c, c) != c:
            c = parent[c]
        return c

    for c in ast.block_conditions(body):
        if (
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
            and c.left.table
            and c.right.table
            and c.left.table != c.right.table
        ):
            a, b = find(c.left), find(c.right)
            if a != b:
                parent[b] = a
    roots: dict[ast.Column, int] = {}
    out: dict[ast.Column, int] = {}
    for c in list(parent):
        out[c] = roots.setdefault(find(c), len(roots))
    for r, k in roots.items():
        out[r] = k
    return out


def drop_equal_outputs(query: ast.Query) -> ast.Query:
    """Of two outputs of the top block that its joins make equal, the later is dropped
    (or the earlier, when the later's table has no other purpose).

    >>> from cimgen.grammar import parse
    >>> q = parse("SELECT b.building_id, bp.building_id, bp.height FROM s.building b "
    ...           "JOIN s.building_properties bp ON b.building_id = bp.building_id")
    >>> [it.expr.table for it in drop_equal_outputs(q).body.items]
    ['b', 'bp']
    """
    body = query.body
    if not isinstance(body, ast.Select) or body.distinct:
        return query
    classes = equal_classes(body)
    if not classes:
        return query
    seen: dict[int, ast.SelectItem] = {}
    for it in body.items:
        e = it.expr
        if not isinstance(e, ast.Column) or e not in classes:
            continue
        k = classes[e]
        if k not in seen:
            seen[k] = it
            continue
        fixed = _drop(query, body, it) or _drop(query, body, seen[k])
        if fixed is None:
            continue
        if seen[k] not in fixed.items:
            seen[k] = it
        body = fixed
    return query if body is query.body else replace(query, body=body)


# --------------------------------------------------------------------------- kitchen sinks


def _aggregate_tables(items: tuple[ast.SelectItem, ...]) -> tuple[int, set[str]]:
    """How many aggregates ``items`` hold and the tables their arguments read."""
    n = 0
    tables: set[str] = set()
    for it in items:
        aggs = [x for x in ast.walk_own(it.expr) if _is_aggregate(x)]
        n += len(aggs)
        for a in aggs:
            tables |= ast.tables_read(a)
    return n, tables


def grouped_outputs(
    body: ast.Select, query: ast.Query, links: Links | None = None
) -> dict[tuple[str, str], bool]:
    """The aggregate outputs of grouped CTEs and derived tables the block reads: (alias,
    column) -> whether it is a count (a bus-level CTE's ``n_grid_lines`` and
    ``avg_max_loading_percent``); ``links``: the attempt's reading (its CTEs read once)."""
    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)
    sources: list[tuple[str, ast.Query]] = [
        (r.ref_name, ctes[r.name]) for r in block_refs(body) if r.schema is None and r.name in ctes
    ]
    stack: list[Any] = list(body.from_)
    while stack:  # a grouped join written in FROM (``JOIN (SELECT ... GROUP BY ...) AS s``)
        f = stack.pop()
        if isinstance(f, ast.Join):
            stack += [f.left, f.right]
        elif isinstance(f, ast.DerivedTable):
            sources.append((f.alias, f.query))
    out: dict[tuple[str, str], bool] = {}
    for alias, source in sources:
        if not isinstance(source.body, ast.Select):
            continue
        for it in source.body.items:
            aggs = [x for x in ast.walk_own(it.expr) if _is_aggregate(x)]
            name = ast.output_name(it)
            if aggs and name:
                count = isinstance(it.expr, ast.FuncCall) and it.expr.name.upper() == "COUNT"
                out[(alias, name)] = count
    return out


def _reads_grouped(it: ast.SelectItem, grouped: dict[tuple[str, str], bool]) -> bool:
    return any(
        isinstance(n, ast.Column) and (n.table, n.name) in grouped for n in ast.walk(it.expr)
    )


def kitchen_sink(body: ast.Select, grouped: dict[tuple[str, str], bool] | None = None) -> bool:
    """Do the block's outputs go past what Stage 1 asks together (module docstring)?
    ``grouped``: :func:`grouped_outputs` (a CTE's aggregates read by the block)."""
    n, tables = _aggregate_tables(body.items)
    if len(tables) > MAX_AGGREGATE_TABLES:
        return True
    if len(tables) == MAX_AGGREGATE_TABLES and n > MAX_AGGREGATES_OVER_TWO:
        return True
    aggregating = n > 0 or any(_reads_grouped(it, grouped or {}) for it in body.items)
    if aggregating and len(body.items) > MAX_AGGREGATE_OUTPUTS:
        return True
    read = set().union(*(ast.tables_read(it.expr) for it in body.items))
    return len(body.items) > MAX_OUTPUTS and len(read) > 1


def _subject(body: ast.Select) -> str | None:
    refs = block_refs(body)
    return refs[0].ref_name if refs else None


def _aggregates_of(it: ast.SelectItem) -> list[ast.FuncCall]:
    return [x for x in ast.walk_own(it.expr) if _is_aggregate(x)]


def _cut(
    query: ast.Query,
    body: ast.Select,
    candidates: list[ast.SelectItem],
    done: Callable[[ast.Select], bool],
    counts: frozenset[ast.SelectItem] = frozenset(),
) -> ast.Select:
    """Drop ``candidates`` (last first) while ``done(body)`` is false and a drop keeps every
    table a purpose; a ``COUNT(*)`` (or a CTE's count, ``counts``) stays."""
    for it in reversed(candidates):
        if done(body):
            break
        if it in counts or any(a.star for a in _aggregates_of(it)):
            continue
        if it in body.items:
            body = _drop(query, body, it) or body
    return body


def _past_first(
    query: ast.Query, body: ast.Select, group: list[ast.SelectItem]
) -> list[ast.SelectItem]:
    """``group`` but the one measure that stays: the first the ordering or HAVING reads,
    else the first."""
    kept = next((it for it in group if _protected(it, body, query)), group[0] if group else None)
    return [it for it in group if it is not kept]


def theme_aggregates(query: ast.Query, links: Links | None = None) -> ast.Query:
    """The top block's outputs cut to one theme (:func:`kitchen_sink`): the aggregates of
    a third table go; of two tables' aggregates, a count and one measure of each stay (the
    joined table's extra measures go first, then the subject's); past
    :data:`MAX_AGGREGATE_OUTPUTS` (a block with aggregates, its own or a grouped CTE's or
    join's: :func:`grouped_outputs`) or :data:`MAX_OUTPUTS`, other tables' values go first,
    then the subject's. An output the ordering, HAVING or
    grouping reads, a ``COUNT(*)``, and a table's last use stay; a block that cannot be
    brought within the bounds is refused (the next attempt builds another query).

    >>> from cimgen.grammar import parse
    >>> q = parse("SELECT COUNT(*) AS n, AVG(p.floors) AS f, AVG(p.year) AS y, "
    ...           "AVG(h.dtm) AS d FROM s.props AS p JOIN s.heights AS h ON p.id = h.id")
    >>> [it.alias for it in theme_aggregates(q).body.items]
    ['n', 'f', 'd']
    """
    body = query.body
    if not isinstance(body, ast.Select) or body.distinct:
        return query
    grouped = grouped_outputs(body, query, links)
    if not kitchen_sink(body, grouped):
        return query
    first = _subject(body)
    aggs = [it for it in body.items if _aggregates_of(it)]
    other = [it for it in aggs if ast.tables_read(it.expr) - {first}]
    own = [it for it in aggs if it not in other]
    counts = frozenset(
        it
        for it in body.items
        if isinstance(it.expr, ast.Column) and grouped.get((it.expr.table or "", it.expr.name))
    )

    def tables_ok(b: ast.Select) -> bool:
        return len(_aggregate_tables(b.items)[1]) <= MAX_AGGREGATE_TABLES

    def done(b: ast.Select) -> bool:
        return not kitchen_sink(b, grouped)

    # a third table's aggregates: the later tables' go
    body = _cut(query, body, other, tables_ok)
    if not tables_ok(body):
        raise BuildError("aggregates of more than two tables")
    # two tables: past the first measure of each, the joined table's, then the subject's
    by_table: dict[frozenset[str], list[ast.SelectItem]] = {}
    for it in other:
        by_table.setdefault(frozenset(ast.tables_read(it.expr)), []).append(it)
    extra = [x for group in by_table.values() for x in _past_first(query, body, group)]
    body = _cut(query, body, extra, done)
    measures = [it for it in own if not any(a.star for a in _aggregates_of(it))]
    body = _cut(query, body, _past_first(query, body, measures), done)
    # too many values: other tables' plain values, then the subject's (a CTE's count stays)
    plain = [it for it in body.items if not _aggregates_of(it)]
    joined = [it for it in plain if ast.tables_read(it.expr) - {first}]
    body = _cut(query, body, joined, done, counts)
    body = _cut(query, body, [it for it in plain if it not in joined], done, counts)
    if not done(body):
        raise BuildError("outputs of more than one theme")
    return replace(query, body=body)


def trim_listing(
    query: ast.Query, ctx: ExpansionContext | None = None, links: Links | None = None
) -> ast.Query:
    """The top block of a row-level listing whose values are read from two or more tables,
    cut towards :data:`MAX_LISTING_OUTPUTS`: the joined tables' attributes (a measure,
    category or flag of ``ctx``'s table; any column without a context) go, last first,
    where the ordering does not read them and each table keeps a purpose. The subject's
    values, computed ones, and identifiers, labels and scope columns (what tells the rows
    apart) stay; :data:`MAX_OUTPUTS` is the bound that refuses.

    >>> from cimgen.grammar import parse
    >>> q = parse("SELECT l.name, l.len, l.kv, b.name AS bn, b.kv AS bkv, b.zone, "
    ...           "p.name AS pn FROM s.l AS l JOIN s.b AS b ON l.b = b.id "
    ...           "JOIN s.p AS p ON l.p = p.id")
    >>> [ast.output_name(it) for it in trim_listing(q).body.items]
    ['name', 'len', 'kv', 'bn', 'bkv', 'pn']
    """
    body = query.body
    if not isinstance(body, ast.Select) or body.distinct or body.group_by or aggregated(body):
        return query
    if len(body.items) <= MAX_LISTING_OUTPUTS:
        return query
    if len(set().union(*(ast.tables_read(it.expr) for it in body.items))) < 2:
        return query
    first = _subject(body)
    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)
    refs = {r.ref_name: r for r in block_refs(body)}

    def attribute(e: ast.Column) -> bool:
        if ctx is None:
            return True
        ref = refs.get(e.table or "")
        info = base_table(ref, ctes, ctx) if ref is not None else None
        return info is not None and e.name in (*info.measures, *info.categories, *info.flags)

    joined = [
        it
        for it in body.items
        if isinstance(it.expr, ast.Column)
        and it.expr.table not in (None, first)
        and attribute(it.expr)
    ]
    for it in reversed(joined):
        if len(body.items) <= MAX_LISTING_OUTPUTS:
            break
        body = _drop(query, body, it) or body
    return replace(query, body=body)


# --------------------------------------------------------------------------- derived tables


def _trim_derived(item: ast.FromItem, read: list[Any], ctx: ExpansionContext | None) -> Any:
    if isinstance(item, ast.Join):
        return replace(
            item,
            left=_trim_derived(item.left, read, ctx),
            right=_trim_derived(item.right, read, ctx),
        )
    if not isinstance(item, ast.DerivedTable):
        return item
    inner = drop_unused_derived_columns(item.query, ctx)
    body = inner.body
    if (
        not isinstance(body, ast.Select)
        or body.distinct
        or (aggregated(body) and not body.group_by)
    ):
        return replace(item, query=inner)
    used = columns_read(read, {item.alias})
    if used is None:
        return replace(item, query=inner)
    keep = drop_unread(body, used, ctx)
    unread = [
        it
        for it in keep
        if (name := ast.output_name(it)) is not None
        and name not in used
        and it.expr not in body.group_by
    ]
    if unread and len(unread) < len(keep):
        # kept only as a joined table's last use: the derived table joins a table for a
        # column its reader never reads (a clustering of lines "with their source buses"
        # whose bus name nobody reads: the merged fifteenth pass's blind review), as a
        # CTE's would (multiply.drop_unused_cte_columns)
        raise BuildError(f"{item.alias} joins a table for {ast.output_name(unread[0])}, never read")
    if len(keep) < len(body.items):
        inner = replace(inner, body=replace(body, items=keep))
    return replace(item, query=inner)


def drop_unused_derived_columns(query: ast.Query, ctx: ExpansionContext | None = None) -> ast.Query:
    """Each derived table in FROM (of the query and its CTEs) selects only what its
    reading block uses; an output that is a joined table's last use stays.

    >>> from cimgen.grammar import parse
    >>> q = parse("SELECT k.cluster_id, COUNT(*) AS n FROM (SELECT b.name, "
    ...           "ST_ClusterKMeans(b.g, 3) OVER () AS cluster_id FROM s.bus AS b) AS k "
    ...           "GROUP BY k.cluster_id")
    >>> [it.alias for it in drop_unused_derived_columns(q).body.from_[0].query.body.items]
    ['cluster_id']
    """
    ctes = tuple(replace(c, query=drop_unused_derived_columns(c.query, ctx)) for c in query.ctes)
    body = query.body
    if isinstance(body, ast.Select) and body.from_:
        read: list[Any] = [
            *(it.expr for it in body.items),
            *ast.block_conditions(body, outer_joins=True),
            *body.group_by,
            *([body.having] if body.having is not None else []),
            *(o.expr for o in query.order_by),
        ]
        body = replace(body, from_=tuple(_trim_derived(f, read, ctx) for f in body.from_))
    out = replace(query, ctes=ctes, body=body)
    return query if out == query else out


# --------------------------------------------------------------------------- listings


def repeated_listing(query: ast.Query, ctx: ExpansionContext, links: Links | None = None) -> bool:
    """Is the top block a row-level listing of three or more tables in which a table met
    several per row of another (:func:`cimgen.expand.multiply.many_links`: a key of fan
    over 3, a distance or intersection) returns values beside that other table's, so the
    other's values repeat on each of its rows ("buildings at a point, the buses within
    200 m and the lines to each bus")? Stage 1 joins a third table to such a pair only to
    filter it (its project scenario), never lists both sides. ``links``: the attempt's
    reading (its CTEs and each block's links, read once)."""
    body = query.body
    if not isinstance(body, ast.Select) or body.group_by or aggregated(body):
        return False
    if len(block_refs(body)) < 3:
        return False
    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)
    _, many = many_links(body, ctes, ctx, links=links)
    _, met = many_links(body, ctes, ctx, 1.0, links)  # any second row: a bus's lines
    shown = set().union(*(ast.tables_read(it.expr) for it in body.items))
    for b, (a, _) in many.items():
        # the to-many table and the tables met from it alone (the lines of each bus)
        under = {b} | {c for c, (src, _) in met.items() if src == b}
        if a in shown and under & shown:
            return True
    return False


def refuse_repeated_listing(
    query: ast.Query, ctx: ExpansionContext, links: Links | None = None
) -> ast.Query:
    """``query``, or a BuildError when it is a :func:`repeated_listing` (the next attempt
    builds another query for the structure)."""
    if repeated_listing(query, ctx, links):
        raise BuildError("a listing repeats one table's values on another's rows")
    return query
