"""Rows that stand for what the query says they are (issue 14, fifth pass).

The blind review of the fourth pass scored cimgen 3.13 "plausible" and 3.87 "SQL makes
sense"; the SQL-side defects it named are shapes of a whole query, seen after a block is
built, so they are read here from the AST of each attempt (``expand`` runs these after
``distinguish``):

* :func:`count_subjects` -- ``COUNT(*)`` after a join that meets several rows per row
  counts pairs: named after the subject ("number of buses" over bus x neighbour pairs,
  over bus x incoming line) it says something false. The subject's distinct rows are
  counted instead (``COUNT(DISTINCT gb.id)``; a CTE's rows by its base table's key,
  which the CTE selects for it); where the subject has no key to count (a CTE that
  groups), the attempt is refused.
* :func:`refuse_multiplied` -- refuses an attempt that clusters copies or one row
  (``ST_ClusterDBSCAN`` over lines times the buildings near them, or over the one line a
  name pins), shows a parent's computed value on each of its children's rows (a project's
  DTM elevation on every bus), joins a table and also asks EXISTS of the same table
  (one condition said twice), or lists rows of four tables one of which is met to-many
  (lines x census zone x source bus x buildings near them).
* :func:`drop_unused_cte_columns` -- a CTE column no reader uses (a ``length_m`` computed
  and never read) is not selected; an attempt whose CTE joins a table only for such a
  column is refused (PUR012).
* :func:`drop_wkt_beside_coords` -- WKT and longitude/latitude of one point say it twice:
  the coordinates stay.
* :func:`output_subject_key` -- an output of a joined table that a join equates to the
  subject's column (``grl.scenario_id`` joined on ``prs.scenario_id``) is read from the
  subject: it is the subject's scenario, not the line's.

and of the seventh pass:

* :func:`drop_fixed_groups` -- a GROUP BY on a value the filter fixes (the destination bus
  of a line pinned by name: :func:`one_row_refs`) makes one group: refused; a partition
  by one goes where the window keeps another.
* :func:`drop_repeated_pins` -- a pin a CTE already applies is not said again on its
  columns (``srd.raster_type = 'CHM'``).
* :func:`drop_raster_labels` -- a raster joined for its value at the place does not list
  its tile's own columns (its file name, its statistics).

:func:`to_many` decides which FROM items a block meets several per row: a key link of fan
over 3 on the data (children, not versions: ``core.fans_out``), a distance or intersection
join, or a container meeting the geometries inside it; a raster tile covering a place is
not one.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import Any

from cimgen import ast
from cimgen.equalities import (
    ColumnClasses,
    block_equalities,
    inner_table_refs,
    pinned_equalities,
    qualified,
)
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import BuildError

_CLUSTERS = {"st_clusterdbscan", "st_clusterkmeans"}
_AGGS = {"COUNT", "SUM", "AVG", "MIN", "MAX"}


def refs_of(item: ast.FromItem) -> list[ast.TableRef]:
    if isinstance(item, ast.TableRef):
        return [item]
    if isinstance(item, ast.Join):
        return [*refs_of(item.left), *refs_of(item.right)]
    return []


def block_refs(body: ast.Select) -> list[ast.TableRef]:
    return [r for f in body.from_ for r in refs_of(f)]


def base_table(ref: ast.TableRef, ctes: dict[str, ast.Query], ctx: ExpansionContext) -> Any:
    """The table a FROM reference reads rows of: a CTE's first table, recursively."""
    for _ in range(5):
        if ref.schema is not None or ref.name not in ctes:
            break
        body = ctes[ref.name].body
        refs = block_refs(body) if isinstance(body, ast.Select) else []
        if not refs:
            return None
        ref = refs[0]
    return ctx.by_name.get(ref.qualified)


def multiplies(
    c: ast.Expr,
    links: list[ast.Expr],
    a: str,
    b: str,
    ia: TableInfo,
    ib: TableInfo,
    ctx: ExpansionContext,
    over: float = 3.0,
) -> str | None:
    """How the link ``c`` meets several rows of ``b`` per row of ``a`` (``links``: the
    block's conditions relating two of its tables): ``"key"`` when the key equalities
    between them follow a path whose fan is over 3 (children, not versions:
    :func:`cimgen.expand.core.fans_out`), ``"spatial"`` for nearness, intersection or ``b``
    inside ``a``; ``None`` when ``c`` meets at most one ``b`` (or too few to count).
    ``over``: the fan above which a key link multiplies (1 for a count, where any second
    row is counted)."""
    if isinstance(c, ast.BinaryOp) and c.op == "=":
        fan = _key_fan(links, a, b, ia, ib, ctx)
        return "key" if fan is not None and fan > over else None
    return _spatial(c, b)


def _key_fan(
    links: list[ast.Expr], a: str, b: str, ia: TableInfo, ib: TableInfo, ctx: ExpansionContext
) -> float | None:
    """The smallest fan of the key paths from ``a`` to ``b`` whose column pairs the
    block's key equalities ``links`` join (None: no such path)."""
    pairs = set()
    for cc in links:
        if (
            isinstance(cc, ast.BinaryOp)
            and cc.op == "="
            and ast.tables_read(cc) == {a, b}
            and isinstance(cc.left, ast.Column)
            and isinstance(cc.right, ast.Column)
        ):
            left, right = cc.left, cc.right
            pairs.add((left.name, right.name) if left.table == a else (right.name, left.name))
    fans = [
        p.fan
        for p in ctx.paths_from(ia.qualified)
        if p.kind == "key" and p.right == ib.qualified and set(p.pairs) <= pairs
    ]
    return min(fans) if fans else None


def _spatial(c: ast.Expr, b: str) -> str | None:
    """``"spatial"`` when the link ``c`` meets ``b`` by nearness, intersection or ``b``
    inside the other table (:func:`multiplies`)."""
    if isinstance(c, ast.FuncCall) and c.name.lower() in ("st_dwithin", "st_intersects"):
        return "spatial"
    if isinstance(c, ast.FuncCall) and c.name.lower() in ("st_within", "st_contains"):
        inner = c.args[0 if c.name.lower() == "st_within" else 1]
        if ast.tables_read(inner) == {b}:  # b inside a: a container meets several
            return "spatial"
    return None


def _spatial_back(c: ast.Expr, a: str) -> str | None:
    """How the spatial link ``c`` meets several rows of ``a`` per row of the other side:
    ``"pair"`` for a distance or intersection (symmetric: several buildings within 150 m of
    one bus, as several buses of one building), ``"inside"`` for ``a`` inside the other (a
    container holds several); ``None`` where the link does not say (a bounding box)."""
    if isinstance(c, ast.FuncCall) and c.name.lower() in ("st_dwithin", "st_intersects"):
        return "pair"
    if isinstance(c, ast.FuncCall) and c.name.lower() in ("st_within", "st_contains"):
        inner = c.args[0 if c.name.lower() == "st_within" else 1]
        return "inside" if ast.tables_read(inner) == {a} else None
    return None


def to_many(
    body: ast.Select,
    ctes: dict[str, ast.Query],
    ctx: ExpansionContext,
    over: float = 3.0,
    links: Links | None = None,
) -> tuple[list[str], dict[str, str]]:
    """The block's aliases in FROM order, and those met several per row of another
    (alias -> the alias whose rows it multiplies; ``over``: see :func:`multiplies`)."""
    names, kinds = many_links(body, ctes, ctx, over, links)
    return names, {b: a for b, (a, _) in kinds.items()}


# A link of a block between two of its tables: (a, b, "spatial" or None, the key fan or None,
# how one row of b meets several of a -- "key" (a parent's children), "pair" or "inside"
# (:func:`_spatial_back`) --, "one" when it meets one, None when the link does not say)
_Link = tuple[str, str, str | None, float | None, str | None]


def _block_links(
    body: ast.Select, ctes: dict[str, ast.Query], ctx: ExpansionContext
) -> tuple[list[str], list[_Link]]:
    """The block's aliases in FROM order and its links whose far table is counted (not a
    raster), in condition order, with what :func:`multiplies` needs whatever ``over``."""
    refs = block_refs(body)
    names = [r.ref_name for r in refs]
    info: dict[str, TableInfo | None] = {r.ref_name: base_table(r, ctes, ctx) for r in refs}
    links = [
        c
        for c in ast.block_conditions(body, outer_joins=True)
        if len(ast.tables_read(c) & set(names)) == 2
    ]
    out: list[_Link] = []
    for c in links:
        a, b = sorted(ast.tables_read(c) & set(names), key=names.index)
        ia, ib = info[a], info[b]
        if ia is None or ib is None or ib.rasters:
            continue
        if isinstance(c, ast.BinaryOp) and c.op == "=":
            back = _key_fan(links, b, a, ib, ia, ctx)
            several = None if back is None else "key" if back > 1.0 else "one"
            out.append((a, b, None, _key_fan(links, a, b, ia, ib, ctx), several))
        else:
            out.append((a, b, _spatial(c, b), None, _spatial_back(c, a)))
    return names, out


class Links:
    """The link analysis of one attempt's blocks (:func:`_block_links`), computed once and
    carried through the post-attempt steps (:data:`cimgen.expand.steps.STEPS`: each takes
    it as the attempt's reading), with the query's CTEs. Keyed
    by the identity of the query and block it was read from (kept alive here), so a step
    that rebuilds a block reads the new one afresh; one object per attempt, no global
    state (issue 16: each step walked every block again). ``.ctes`` is the one cache of
    the CTE map: :func:`cimgen.ast.ctes_by_name` walks afresh (thirteenth pass)."""

    def __init__(self, ctx: ExpansionContext) -> None:
        self.ctx = ctx
        self._ctes: dict[int, tuple[ast.Query, dict[str, ast.Query]]] = {}
        self._blocks: dict[tuple[int, int], tuple[Any, Any, tuple[list[str], list[_Link]]]] = {}

    def ctes(self, query: ast.Query) -> dict[str, ast.Query]:
        got = self._ctes.get(id(query))
        if got is None or got[0] is not query:
            got = self._ctes[id(query)] = (query, ast.ctes_by_name(query))
        return got[1]

    def block(self, body: ast.Select, ctes: dict[str, ast.Query]) -> tuple[list[str], list[_Link]]:
        key = (id(body), id(ctes))
        got = self._blocks.get(key)
        if got is None or got[0] is not body or got[1] is not ctes:
            got = self._blocks[key] = (body, ctes, _block_links(body, ctes, self.ctx))
        return got[2]


def many_links(
    body: ast.Select,
    ctes: dict[str, ast.Query],
    ctx: ExpansionContext,
    over: float = 3.0,
    links: Links | None = None,
) -> tuple[list[str], dict[str, tuple[str, str]]]:
    """:func:`to_many` with how each link multiplies (alias -> (the alias whose rows it
    multiplies, ``"key"`` or ``"spatial"``: :func:`multiplies`)); ``links``: the attempt's
    analysis, read once."""
    names, found = links.block(body, ctes) if links is not None else _block_links(body, ctes, ctx)
    many: dict[str, tuple[str, str]] = {}
    for a, b, spatial, fan, _ in found:
        if b in many:
            continue
        kind = spatial if fan is None else "key" if fan > over else None
        if kind:
            many[b] = (a, kind)
    return names, many


def _selects(query: ast.Query) -> list[ast.Select]:
    return [
        n.body
        for n in ast.walk(query)
        if isinstance(n, ast.Query) and isinstance(n.body, ast.Select)
    ]


def select_list_nodes(body: ast.Select) -> list[Any]:
    """The block's own expression nodes of its SELECT list (not inside subqueries)."""
    out: list[Any] = []
    stack: list[Any] = [it.expr for it in body.items]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Subquery, ast.Query)):
            continue
        out.append(n)
        stack.extend(ast.children(n))
    return out


def aggregated(body: ast.Select) -> bool:
    return any(
        isinstance(n, ast.FuncCall) and n.over is None and n.name.upper() in _AGGS
        for n in select_list_nodes(body)
    )


# --------------------------------------------------------------------------- counts


def _is_count_star(e: Any) -> bool:
    return isinstance(e, ast.FuncCall) and e.name.upper() == "COUNT" and e.star and e.over is None


def count_subjects(
    query: ast.Query, ctx: ExpansionContext, links: Links | None = None
) -> ast.Query:
    """``COUNT(*)`` over pairs named after the subject counts the subject's distinct rows
    (module docstring); a count named after the to-many table (``n_buildings`` of the
    buildings a line crosses) is what it says and stays. Any second row counts here: a
    key link of fan over 1 (a bus's lines) multiplies a count. A subject read from a CTE
    (the buses a clustering labels, joined to their lines) whose to-many table meets one
    subject row per row (each line ends at one bus) counts that table's rows, and is
    named after it (:func:`_count_of_the_many`); otherwise it is counted by its base
    table's key, which the CTE (and the CTEs it reads) select for it (:func:`_cte_key`)."""
    from cimgen.expand.names import count_name

    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)
    keyed: set[str] = set()
    renamed: dict[str, str] = {}
    qualified_reads = {n.name for n in ast.walk(query) if isinstance(n, ast.Column) and n.table}

    def fix(body: ast.Select) -> ast.Select:
        names, kinds = many_links(body, ctes, ctx, over=1.0, links=links)
        many = {b: a for b, (a, _) in kinds.items()}
        if not many or not any(_is_count_star(n) for n in select_list_nodes(body)):
            return body
        refs = {r.ref_name: r for r in block_refs(body)}
        named = set()
        for b, a in many.items():
            ib, ia = base_table(refs[b], ctes, ctx), base_table(refs[a], ctes, ctx)
            if ib is not None and ia is not None and ib.qualified != ia.qualified:
                named.add(count_name(ib.noun))
        items = [it for it in body.items if _is_count_star(it.expr)]
        if all(it.alias in named for it in items):
            counts = [
                n
                for n in select_list_nodes(body)
                if isinstance(n, ast.FuncCall) and n.name.upper() == "COUNT"
            ]
            near = _met_near(kinds, further=len(counts) == len(items))
            return _distinct_near(body, items, near, refs, ctes, ctx)
        subject = refs[names[0]]
        if subject.schema is None:
            name = _count_of_the_many(body, names[0], many, refs, ctes, ctx)
            taken = {ast.output_name(it) for it in body.items}
            if (
                name is not None
                and len(items) == 1
                and name not in taken
                and items[0].alias is not None
                and items[0].alias not in qualified_reads  # no reader of a CTE's column
            ):
                renamed[items[0].alias] = name
                new = tuple(replace(it, alias=name) if it is items[0] else it for it in body.items)
                return replace(body, items=new)
        info = base_table(subject, ctes, ctx)
        key = None
        if info is not None and len(info.pk) == 1:
            key = info.pk[0] if subject.schema is not None else _cte_key(subject.name, ctes, ctx)
        if key is None:
            raise BuildError("COUNT(*) would count pairs, and the subject has no key to count")
        if subject.schema is None:
            keyed.add(subject.name)
        distinct = ast.FuncCall("COUNT", (ast.Column(key, names[0]),), distinct=True)
        return _replace_expr(body, _is_count_star, distinct)

    out = map_selects(query, fix)
    if renamed:
        order = tuple(
            replace(o, expr=ast.Column(renamed[o.expr.name]))
            if isinstance(o.expr, ast.Column) and o.expr.table is None and o.expr.name in renamed
            else o
            for o in out.order_by
        )
        out = replace(out, order_by=order)
    return _select_keys(out, keyed, ctes, ctx) if keyed else out


def _met_near(kinds: dict[str, tuple[str, str]], further: bool = True) -> list[str]:
    """The aliases :func:`many_links` meets by nearness or intersection, and (``further``)
    those met from them by any link (the properties of the buildings within 100 m of a
    bus: a building near two buses brings its properties row twice). The block's counts
    pass ``further=False`` when it has other counts beside the ones counted here (a second
    distinct count of the near table would read as the same number)."""
    near = [b for b, (_, kind) in kinds.items() if kind == "spatial"]
    grown = further
    while grown:
        more = [b for b, (a, _) in kinds.items() if a in near and b not in near]
        near.extend(more)
        grown = bool(more)
    return near


def _distinct_near(
    body: ast.Select,
    items: list[ast.SelectItem],
    near: list[str],
    refs: dict[str, ast.TableRef],
    ctes: dict[str, ast.Query],
    ctx: ExpansionContext,
) -> ast.Select:
    """A count named after a table met by nearness or intersection (``near``: the aliases
    :func:`multiplies` calls ``"spatial"``; ``n_grid_lines`` of the lines within 200 m of
    buildings) counts that table's distinct rows: a line near three buildings is one line,
    not three (the second blind review of the sixth pass: "COUNT(*) counts building-line
    pairs, not lines")."""
    from cimgen.expand.names import count_name

    swap: dict[str, ast.Expr] = {}
    for b in near:
        ref, ib = refs[b], base_table(refs[b], ctes, ctx)
        if ref.schema is None or ib is None or len(ib.pk) != 1:
            continue
        key = ast.Column(ib.pk[0], b)
        swap[count_name(ib.noun)] = ast.FuncCall("COUNT", (key,), distinct=True)
    if not any(it.alias in swap for it in items):
        return body
    new = tuple(
        replace(it, expr=swap[it.alias]) if it in items and it.alias in swap else it
        for it in body.items
    )
    return replace(body, items=new)


def _count_of_the_many(
    body: ast.Select,
    subject: str,
    many: dict[str, str],
    refs: dict[str, ast.TableRef],
    ctes: dict[str, ast.Query],
    ctx: ExpansionContext,
) -> str | None:
    """The count name of the one table the block meets several per subject row when each
    of its rows meets exactly one subject row (a key link back of fan at most 1: a line's
    destination bus), so ``COUNT(*)`` counts its rows; ``None`` otherwise."""
    from cimgen.expand.names import count_name

    if len(many) != 1:
        return None
    ((b, a),) = many.items()
    ib, ia = base_table(refs[b], ctes, ctx), base_table(refs[a], ctes, ctx)
    if a != subject or ib is None or ia is None or ib.qualified == ia.qualified:
        return None
    back = _meets_one(ctx, block_equalities(body).classes, (b, ib), (a, ia.qualified))
    return count_name(ib.noun) if back else None


def _meets_one(
    ctx: ExpansionContext,
    same: ColumnClasses,
    source: tuple[str, TableInfo],
    target: tuple[str, str],
) -> bool:
    """Does each row of ``source`` (alias, table) meet at most one row of ``target`` (alias,
    qualified name) through a key path whose columns the block's equalities ``same`` join?"""
    (a, info), (b, qualified) = source, target
    return any(
        p.kind == "key"
        and p.right == qualified
        and p.fan <= 1.0
        and all(same.find((a, x)) == same.find((b, y)) for x, y in p.pairs)
        for p in ctx.paths_from(info.qualified)
    )


def _row_level(body: Any) -> bool:
    return (
        isinstance(body, ast.Select)
        and not body.group_by
        and not body.distinct
        and not aggregated(body)
        and bool(block_refs(body))
    )


def _cte_key(name: str, ctes: dict[str, ast.Query], ctx: ExpansionContext) -> str | None:
    """The column that tells apart the rows of the CTE ``name``: its base table's one-column
    key, selected (or to be selected) by every CTE of the chain down to that table; ``None``
    where a CTE of the chain groups, is DISTINCT, names its columns or selects another
    column of that name."""
    for _ in range(5):
        q = ctes.get(name)
        if q is None or not _row_level(q.body):
            return None
        body = q.body
        assert isinstance(body, ast.Select)
        first = block_refs(body)[0]
        info = base_table(first, ctes, ctx)
        if info is None or len(info.pk) != 1:
            return None
        key = info.pk[0]
        for it in body.items:
            if ast.output_name(it) == key and it.expr != ast.Column(key, first.ref_name):
                return None
        if first.schema is not None or first.name not in ctes:
            return key
        name = first.name
    return None


def _select_keys(
    query: ast.Query, names: set[str], ctes: dict[str, ast.Query], ctx: ExpansionContext
) -> ast.Query:
    """``query`` with each CTE of ``names`` (and the CTEs it reads rows of) selecting its
    base table's key (:func:`_cte_key`)."""
    todo = set(names)
    for name in names:
        for _ in range(5):
            q = ctes.get(name)
            body = q.body if q is not None else None
            if not isinstance(body, ast.Select):
                break
            first = block_refs(body)[0]
            if first.schema is not None or first.name not in ctes:
                break
            name = first.name
            todo.add(name)
    if not todo <= {c.name for c in query.ctes}:  # a WITH of a nested query
        raise BuildError("COUNT(*) would count pairs, and the subject has no key to count")
    new = []
    for cte in query.ctes:
        body = cte.query.body
        if cte.name in todo and isinstance(body, ast.Select):
            first = block_refs(body)[0]
            key = _cte_key(cte.name, ctes, ctx)
            if key is None:
                raise BuildError("COUNT(*) would count pairs, and the subject has no key to count")
            if not any(ast.output_name(it) == key for it in body.items):
                item = ast.SelectItem(ast.Column(key, first.ref_name))
                cte = replace(
                    cte, query=replace(cte.query, body=replace(body, items=(*body.items, item)))
                )
        new.append(cte)
    return replace(query, ctes=tuple(new))


def _replace_expr(node: Any, match: Any, new: ast.Expr) -> Any:
    """``node`` with every own expression ``match`` accepts replaced (not in subqueries)."""
    if match(node):
        return new
    if isinstance(node, (ast.Subquery, ast.Query)) or not hasattr(node, "__dataclass_fields__"):
        return node
    changes = {}
    for k in ast.node_fields(node):
        v = getattr(node, k)
        if isinstance(v, tuple):
            nv = tuple(_replace_expr(x, match, new) for x in v)
            if nv != v:
                changes[k] = nv
        elif hasattr(v, "__dataclass_fields__"):
            nv = _replace_expr(v, match, new)
            if nv is not v:
                changes[k] = nv
    return replace(node, **changes) if changes else node


def map_selects(query: ast.Query, fn: Any) -> ast.Query:
    """``query`` with ``fn`` applied to every SELECT block (CTEs and nested queries too),
    innermost first. ``fn`` is asked about the blocks as they stand until it changes one:
    when it changes none (most steps on most attempts), ``query`` itself comes back
    without a rebuild of the tree (issue 16: the rebuild walk was ~23 % of the steps' CPU);
    the answers already given are reused by the rebuild, so ``fn`` sees each block once,
    in the same order either way."""
    asked: dict[int, tuple[ast.Select, ast.Select]] = {}
    for body in _selects_innermost_first(query):
        got = asked.get(id(body))
        new = fn(body) if got is None else got[1]
        asked[id(body)] = (body, new)
        if new is not body:
            break
    else:
        return query

    def walk(node: Any) -> Any:
        if not hasattr(node, "__dataclass_fields__"):
            return node
        changes = {}
        for k in ast.node_fields(node):
            v = getattr(node, k)
            if isinstance(v, tuple):
                nv = tuple(walk(x) for x in v)
                if nv != v:
                    changes[k] = nv
            elif hasattr(v, "__dataclass_fields__"):
                nv = walk(v)
                if nv is not v:
                    changes[k] = nv
        if changes:
            out = replace(node, **changes)
        elif isinstance(node, ast.Select) and id(node) in asked:
            return asked[id(node)][1]  # asked above, unchanged since: the same answer
        else:
            out = node
        return fn(out) if isinstance(out, ast.Select) else out

    result: ast.Query = walk(query)
    return result


def _selects_innermost_first(query: ast.Query) -> list[ast.Select]:
    """The SELECT blocks of ``query`` in the order :func:`map_selects`' rebuild reaches
    them: children before their parent, in field order (:func:`ast.walk_up`)."""
    return [n for n in ast.walk_up(query) if isinstance(n, ast.Select)]


# --------------------------------------------------------------------------- refusals


def _label_pinned(body: ast.Select, ctes: dict[str, ast.Query], ctx: ExpansionContext) -> bool:
    refs = {r.ref_name: base_table(r, ctes, ctx) for r in block_refs(body)}
    for c in ast.conjuncts(body.where):
        if (
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.String)
        ):
            info = refs.get(c.left.table or "")
            if info is not None and c.left.name in info.labels:
                return True
    return False


def multiplied(query: ast.Query, ctx: ExpansionContext, links: Links | None = None) -> str | None:
    """Why the query's rows do not stand for what it says (module docstring), or None."""
    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)
    for body in _selects(query):
        names, many = to_many(body, ctes, ctx, links=links)
        if any(
            isinstance(n, ast.FuncCall) and n.name.lower() in _CLUSTERS
            for n in select_list_nodes(body)
        ):
            sources = [body]
            for r in block_refs(body):
                src = ctes.get(r.name) if r.schema is None else None
                if src is not None and isinstance(src.body, ast.Select):
                    sources.append(src.body)
            for s in sources:
                if to_many(s, ctes, ctx, links=links)[1] or _label_pinned(s, ctes, ctx):
                    return "a clustering over copies of rows or over one row"
        joined = {r.qualified for r in block_refs(body)[1:] if r.schema is not None}
        for c in ast.conjuncts(body.where):
            sub = c.query if isinstance(c, (ast.Exists, ast.InSubquery)) else None
            if (
                sub is not None
                and isinstance(sub.body, ast.Select)
                and {r.qualified for r in block_refs(sub.body)} & joined
            ):
                return "a table joined and asked about again in EXISTS / IN"
        if body.group_by or aggregated(body):
            found = links.block(body, ctes) if links is not None else _block_links(body, ctes, ctx)
            once = partial(_once_per_group, body, ctes, ctx)
            if _sums_copies(body, many, found[1], once):
                return "a sum or average of a row's value over the copies a join makes"
            continue
        if not many:
            continue
        if len(names) >= 4:
            return "rows of four tables, one met several per row"
        for it in body.items:
            used = ast.tables_read(it.expr)
            calls = [n for n in ast.walk(it.expr) if isinstance(n, ast.FuncCall)]
            if not calls or any(n.over is not None for n in calls):
                continue
            if used and not used & set(many) and used & set(many.values()):
                return "a parent's computed value repeated on each of its children's rows"
    return None


def _once_per_group(
    body: ast.Select, ctes: dict[str, ast.Query], ctx: ExpansionContext
) -> set[str]:
    """Aliases of the block's tables that are one row in each group: one row overall
    (:func:`one_row_refs`), or grouped by their whole key."""
    one = one_row_refs(body, ctx, ctes)
    keys = {qualified(e) for e in body.group_by}
    for r in block_refs(body):
        info = base_table(r, ctes, ctx)
        if info is not None and info.pk and all((r.ref_name, k) in keys for k in info.pk):
            one.add(r.ref_name)
    return one


def _sums_copies(
    body: ast.Select,
    many: dict[str, str],
    found: list[_Link],
    once: Callable[[], set[str]] = set,
) -> bool:
    """Does the block SUM or AVG a value of a row that a join meets several times (the
    total length of lines over line x nearby-building pairs counts each line once per
    building: the sixth pass's blind review, "SUM/AVG over line-building fan-out inflates
    total length")? A row is met several times by every table met several per row
    (``many``, or a key link of fan over 1) that is neither its own table nor one it is
    reached through (``found``: the block's links): the lines of a bus over bus x
    nearby-building x line rows are copied by the buildings, though they are to-many
    themselves, and the buildings by the lines. MIN, MAX and DISTINCT
    aggregates are the same over copies.

    A table a row is reached through copies it too where one row of the far side meets
    several of it (issue 14, fourteenth pass (a)): a distance or intersection link is
    one-to-many both ways (the lines of the buses within 150 m of buildings: each line's
    loading averaged once per building near its bus), and a key link to a parent is
    one-to-many back (a census zone's population summed once per building inside it) --
    unless that table is one row in each group (``once``: pinned to one row, or grouped by
    its key). The far side's own values over a distance or intersection are one per pair,
    as the sixth pass reads them (the buildings' area over line x nearby-building rows);
    the tables beyond it are copied (the lines of those buses)."""
    parent: dict[str, str] = {}
    several: dict[str, str] = {}  # child -> how its parent meets it several times
    copiers = set(many)  # and any key link that meets a second row (a bus's one or two lines)
    for a, b, spatial, fan, back in found:
        parent.setdefault(b, a)
        if spatial if fan is None else fan > 1.0:
            copiers.add(b)
        if parent[b] == a and back is not None and several.get(b) != "one":
            several[b] = back  # one to-one condition holds it
    held: list[set[str]] = []

    def copied_back(t: str, used: set[str]) -> bool:
        x, seen = t, set()
        while x in parent and x not in seen:
            seen.add(x)
            up = parent[x]
            how = several.get(x, "one")
            if how != "one" and not (how == "pair" and x == t) and up not in used:
                if not held:
                    held.append(once())
                if up not in held[0]:
                    return True
            x = up
        return False

    def copied(t: str, used: set[str]) -> bool:
        above, x = set(), t
        while x in parent and x not in above:
            x = parent[x]
            above.add(x)
        # a value that reads the copying table too is one of each pair (a distance)
        return any(m not in used and m not in above for m in copiers)

    for n in select_list_nodes(body):
        if not (
            isinstance(n, ast.FuncCall)
            and n.over is None
            and not n.distinct
            and n.name.upper() in ("SUM", "AVG")
        ):
            continue
        used = ast.tables_read(n)
        if used and not used & set(many) and used & set(many.values()):
            return True
        if any(copied(t, used) or copied_back(t, used) for t in used):
            return True
    return False


def refuse_multiplied(
    query: ast.Query, ctx: ExpansionContext, links: Links | None = None
) -> ast.Query:
    why = multiplied(query, ctx, links)
    if why is not None:
        raise BuildError(why)
    return query


# --------------------------------------------------------------------------- outputs


# --------------------------------------------------------------------------- one group


def one_row_refs(
    body: ast.Select,
    ctx: ExpansionContext,
    ctes: dict[str, ast.Query] | None = None,
    extra: tuple[ast.Expr, ...] = (),
) -> set[str]:
    """Aliases of the block's inner-joined tables that stand for one row: the key fixed by
    literals, or the label and every version column fixed (a line pinned by name in one
    project scenario), or met by a key link of fan at most 1 from such a table with its
    versions fixed or equated to it (that line's destination bus). With ``ctes``, a CTE
    the block reads stands for its first table, with the pins it applies
    (:func:`cimgen.equalities.pinned_equalities`; ``extra``: an outer block's pins)."""
    refs = [
        r
        for item in body.from_
        for r in inner_table_refs(item)
        if r.schema is not None or (ctes and r.name in ctes)
    ]
    infos = {r.ref_name: base_table(r, ctes or {}, ctx) for r in refs}
    eq = pinned_equalities(body, ctes or {}, extra)
    same, fixed = eq.classes, eq.fixed()

    def held(alias: str, col: str, by: set[str]) -> bool:
        return same.find((alias, col)) in fixed or eq.reached(alias, col, by)

    one: set[str] = set()
    for alias, info in infos.items():
        if info is None:
            continue
        keyed = bool(info.pk) and all(same.find((alias, k)) in fixed for k in info.pk)
        named = bool(info.labels) and all(
            same.find((alias, c)) in fixed for c in (info.labels[0], *version_columns(ctx, info))
        )
        if keyed or named:
            one.add(alias)
    grown = True
    while grown:
        grown = False
        for b, ib in infos.items():
            if b in one or ib is None:
                continue
            for a in sorted(one):
                ia = infos[a]
                if ia is None:
                    continue
                to_one = _meets_one(ctx, same, (a, ia), (b, ib.qualified))
                if to_one and all(held(b, c, {a}) for c in version_columns(ctx, ib)):
                    one.add(b)
                    grown = True
                    break
    return one


def fixed_groups(
    body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query] | None = None
) -> list[ast.Expr]:
    """The block's GROUP BY and PARTITION BY expressions that its filters fix to one value
    (a column pinned, or read only from tables :func:`one_row_refs` finds; with ``ctes``,
    also by the pins of the CTEs it reads): one group by construction."""
    pinned = pinned_equalities(body, ctes or {}).pinned()
    one = one_row_refs(body, ctx, ctes)
    parts = [*body.group_by]
    for n in select_list_nodes(body):
        if isinstance(n, ast.FuncCall) and n.over is not None:
            parts.extend(n.over.partition_by)
    out = []
    for e in parts:
        read = ast.tables_read(e)
        if qualified(e) in pinned or (read and read <= one):
            out.append(e)
    return out


def drop_fixed_groups(
    query: ast.Query, ctx: ExpansionContext, links: Links | None = None
) -> ast.Query:
    """A partition by a value the filter fixes is one partition: it goes where the window
    keeps another (``PARTITION BY gb.zone, gb.voltage_kv`` of the buses of zone 'LV'). A
    GROUP BY on such a value makes one group "per" one thing, and a ranking left without
    a partition is the row's position (PUR009): such an attempt is refused (the expander
    tries the next); ``links``: the attempt's reading (its CTEs read once)."""

    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)

    def fix(body: ast.Select) -> ast.Select:
        fixed = fixed_groups(body, ctx, ctes)
        if not fixed:
            return body
        if any(e in body.group_by for e in fixed):
            raise BuildError("a GROUP BY on a value the filter fixes makes one group")
        out = body
        for n in select_list_nodes(body):
            if not (isinstance(n, ast.FuncCall) and n.over is not None):
                continue
            parts = tuple(e for e in n.over.partition_by if e not in fixed)
            if parts == n.over.partition_by:
                continue
            if not parts:
                raise BuildError("a window partitioned by a value the filter fixes")
            new = replace(n, over=replace(n.over, partition_by=parts))
            out = _replace_expr(out, lambda m, n=n: m == n, new)
        return out

    return map_selects(query, fix)


# --------------------------------------------------------------------------- said once


def _pin(c: ast.Expr) -> tuple[ast.Column, ast.Expr] | None:
    if isinstance(c, ast.BinaryOp) and c.op == "=":
        for col, lit in ((c.left, c.right), (c.right, c.left)):
            if isinstance(col, ast.Column) and isinstance(lit, (ast.Number, ast.String)):
                return col, lit
    return None


def _pinned_by_cte(ctes: dict[str, ast.Query], name: str, column: str, lit: ast.Expr) -> bool:
    """Does the CTE ``name`` keep only rows whose output ``column`` is ``lit`` (its own
    WHERE pins the column it selects, or the CTE it reads does)?"""
    for _ in range(5):
        q = ctes.get(name)
        body = q.body if q is not None else None
        if not isinstance(body, ast.Select):
            return False
        src = next((it.expr for it in body.items if ast.output_name(it) == column), None)
        if not isinstance(src, ast.Column):
            return False
        pins = [p for p in map(_pin, ast.conjuncts(body.where)) if p is not None]
        if any(col == src and value == lit for col, value in pins):
            return True
        refs = {r.ref_name: r for r in block_refs(body)}
        ref = refs.get(src.table or "")
        if ref is None or ref.schema is not None:
            return False
        name, column = ref.name, src.name
    return False


def drop_repeated_pins(query: ast.Query, links: Links | None = None) -> ast.Query:
    """A pin on a CTE's column that the CTE already applies (``srd.srid = 4326`` outside a
    CTE whose WHERE says ``rm.srid = 4326``) says one filter twice: the outer one goes."""
    ctes = links.ctes(query) if links is not None else ast.ctes_by_name(query)

    def fix(body: ast.Select) -> ast.Select:
        refs = {r.ref_name: r for r in block_refs(body)}
        keep = []
        for c in ast.conjuncts(body.where):
            p = _pin(c)
            ref = refs.get(p[0].table or "") if p is not None else None
            if (
                p is not None
                and ref is not None
                and ref.schema is None
                and _pinned_by_cte(ctes, ref.name, p[0].name, p[1])
            ):
                continue
            keep.append(c)
        if len(keep) == len(ast.conjuncts(body.where)):
            return body
        return replace(body, where=ast.and_all(keep))

    return map_selects(query, fix)


def drop_raster_labels(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """A raster joined for its value at the place (not the block's subject) is read for
    that value: its tile's own columns beside it -- its file name (``rm.filename`` on each
    line's row), its statistics (``dtm.max_elevation``: "the DTM tile's maximum" beside the
    elevation at the building's centroid) -- are not attributes of the listed rows: a tile
    is storage, not a place (issue 14, thirteenth pass (b)). Top-level, row-level block
    only; a column the query reads elsewhere (ORDER BY, a condition) stays."""
    body = query.body
    if not isinstance(body, ast.Select) or body.group_by or aggregated(body):
        return query
    refs = block_refs(body)
    if not refs:
        return query
    uses = Counter(n for n in ast.walk(query) if isinstance(n, ast.Column))
    drop = set()
    for ref in refs[1:]:
        info = base_table(ref, {}, ctx) if ref.schema is not None else None
        if info is None or not info.rasters:
            continue
        alias = ref.ref_name
        valued = any(
            not isinstance(it.expr, ast.Column) and alias in ast.tables_read(it.expr)
            for it in body.items
        )
        for it in body.items:
            e = it.expr
            if (
                valued
                and isinstance(e, ast.Column)
                and e.table == alias
                and e.name not in {r.name for r in info.rasters}
                and uses[e] == 1
            ):
                drop.add(id(it))
    if not drop or len(drop) == len(body.items):
        return query
    items = tuple(it for it in body.items if id(it) not in drop)
    return replace(query, body=replace(body, items=items))


def passed_on(step: ast.Select) -> ast.TableRef | None:
    """What a CTE step does with its rows, read once: the one table whose every row the
    step passes on (one FROM table, no condition, no grouping, no DISTINCT), or None where
    it filters, groups or joins. What it selects of them is for the caller to judge
    (:func:`pass_through_steps`, :func:`cimgen.expand.repeats.idle_steps`)."""
    if (
        len(step.from_) == 1
        and isinstance(step.from_[0], ast.TableRef)
        and step.where is None
        and not step.group_by
        and not step.distinct
    ):
        return step.from_[0]
    return None


def pass_through_steps(query: ast.Query) -> list[str]:
    """CTE steps that only pass one table's rows on (:func:`passed_on`) and compute
    nothing (``WITH selected_buildings AS (SELECT b.building_id, b.building_geometry FROM
    cim_vector.building AS b)``; the blind review of the tenth pass: "a pass-through
    CTE")."""
    out = []
    for cte in query.ctes:
        b = cte.query.body
        if (
            isinstance(b, ast.Select)
            and passed_on(b) is not None
            and not any(isinstance(n, ast.FuncCall) for it in b.items for n in ast.walk(it.expr))
        ):
            out.append(cte.name)
    return out


def refuse_pass_through_steps(query: ast.Query) -> ast.Query:
    """``query`` unchanged, or refused when a CTE step only passes rows on."""
    if pass_through_steps(query):
        raise BuildError("a CTE step that only passes its rows on")
    return query


def drop_unused_cte_columns(query: ast.Query, ctx: ExpansionContext | None = None) -> ast.Query:
    """Each CTE selects only what its readers use (the last CTE first: a chain's earlier
    step then sees what the later one still reads). With ``ctx``, a joined table's own
    conditions other than its scope pins do not keep it a purpose once its columns go
    (issue 14, sixth pass: "a raster_model join that only filters"). A CTE whose readers
    read none of its columns (``COUNT(*)`` over a step that took the main block's
    conditions) is refused: no select list is left to keep."""
    for k in reversed(range(len(query.ctes))):
        cte = query.ctes[k]
        body = cte.query.body
        if not isinstance(body, ast.Select) or body.distinct or cte.columns:
            continue
        readers: list[Any] = [query.body, *query.order_by, *(c.query for c in query.ctes[k + 1 :])]
        names = {
            x.ref_name
            for r in readers
            for x in ast.walk(r)
            if isinstance(x, ast.TableRef) and x.schema is None and x.name == cte.name
        }
        used = columns_read(readers, names)
        if used is None or not names:
            continue
        keep = drop_unread(body, used, ctx, refuse=cte.name)
        if not keep:  # every column named and unread: nothing to leave (PUR012)
            raise BuildError(f"CTE {cte.name}: its readers read none of its columns")
        if len(keep) < len(body.items):
            new = replace(cte, query=replace(cte.query, body=replace(body, items=keep)))
            query = replace(query, ctes=(*query.ctes[:k], new, *query.ctes[k + 1 :]))
    return query


def columns_read(readers: list[Any], aliases: set[str]) -> set[str] | None:
    """The column names ``readers`` read of the tables named ``aliases`` (unqualified
    columns count too); ``None`` where a star reads them all."""
    used: set[str] = set()
    for x in (n for r in readers for n in ast.walk(r)):
        if isinstance(x, ast.Star) and (x.table is None or x.table in aliases):
            return None
        if isinstance(x, ast.Column) and (x.table is None or x.table in aliases):
            used.add(x.name)
    return used


def drop_unread(
    body: ast.Select, used: set[str], ctx: ExpansionContext | None, refuse: str | None = None
) -> tuple[ast.SelectItem, ...]:
    """``body``'s items without those its readers do not use (``used``; a grouping key
    stays). An item that is a joined table's last use (:func:`_last_use`) stays -- or, for a
    CTE (``refuse``: its name), is a :class:`BuildError`: the CTE would join a table only
    for a column nobody reads (PUR012 / PUR001). A derived table keeps its last item."""
    keep = body.items
    for it in body.items:
        name = ast.output_name(it)
        if name is None or name in used or it.expr in body.group_by:
            continue
        rest = tuple(x for x in keep if x is not it)
        if refuse is None and not rest:
            continue
        if _last_use(replace(body, items=rest), it, ctx):
            if refuse is not None:
                raise BuildError(f"CTE {refuse} joins a table for {name}, never read")
            continue
        keep = rest
    return keep


def _last_use(body: ast.Select, item: ast.SelectItem, ctx: ExpansionContext | None = None) -> bool:
    """Is ``item`` the only thing asked of a joined table of the CTE ``body`` (whose items
    are the ones kept without it)? Dropping it would leave the table joined for nothing
    (PUR001) -- or, with ``ctx``, for a condition on itself alone, its scope aside."""
    refs = block_refs(body)
    first = refs[0].ref_name if refs else None
    others = [it.expr for it in body.items]  # the items kept without ``item``
    infos = {r.ref_name: ctx.by_name.get(r.qualified) for r in refs} if ctx else {}
    filters = [
        c
        for c in ast.block_conditions(body, outer_joins=True)
        if len(ast.tables_read(c)) == 1 and (ctx is None or _scope_pin(c, infos))
    ]
    for a in ast.tables_read(item.expr) - {first}:
        if not any(a in ast.tables_read(x) for x in (*others, *filters, *body.group_by)):
            return True
    # the first table is what the block's rows are of only where it aggregates (COUNT(*)
    # counts its rows); else it too needs an output, a group or a condition of its own
    # (PUR001: a CTE listing lines through its buses' keys alone; thirteenth pass)
    if first is None or first not in ast.tables_read(item.expr) or aggregated(body):
        return False
    own = [x for x in (*others, *body.group_by, body.having) if x is not None]
    conds = ast.block_conditions(body, outer_joins=True)
    return not any(first in ast.tables_read(x) for x in own) and not any(
        ast.tables_read(c) == {first} for c in conds
    )


def _scope_pin(c: ast.Expr, infos: dict[str, Any]) -> bool:
    """``t.project_id = 'p'``: which project scenario the rows are of."""
    if not (isinstance(c, ast.BinaryOp) and c.op == "=" and isinstance(c.left, ast.Column)):
        return False
    info = infos.get(c.left.table or "")
    return info is not None and c.left.name in info.scope


def _point_of(e: ast.Expr) -> tuple[str, str] | None:
    """(function, geometry) of ``ST_AsText(g)`` / ``ST_X(g)`` / ``ST_Y(ST_Centroid(g))``."""
    if not isinstance(e, ast.FuncCall) or len(e.args) != 1:
        return None
    if e.name.lower() not in ("st_astext", "st_x", "st_y"):
        return None
    arg = e.args[0]
    if isinstance(arg, ast.FuncCall) and arg.name.lower() == "st_centroid" and arg.args:
        arg = arg.args[0]
    return e.name.lower(), repr(arg)


def drop_wkt_beside_coords(query: ast.Query) -> ast.Query:
    """WKT of a geometry whose longitude and latitude the block also outputs is dropped."""

    def fix(body: ast.Select) -> ast.Select:
        seen: dict[str, set[str]] = {}
        for it in body.items:
            p = _point_of(it.expr)
            if p is not None:
                seen.setdefault(p[1], set()).add(p[0])
        twice = {g for g, fns in seen.items() if "st_astext" in fns and fns & {"st_x", "st_y"}}
        if not twice:
            return body
        keep = tuple(
            it
            for it in body.items
            if not ((p := _point_of(it.expr)) and p[0] == "st_astext" and p[1] in twice)
        )
        return replace(body, items=keep)

    top = query.body
    if not isinstance(top, ast.Select):
        return query
    fixed = fix(top)
    if fixed is top:
        return query
    gone = {it.alias for it in top.items if it not in fixed.items and it.alias}
    if any(isinstance(o.expr, ast.Column) and o.expr.name in gone for o in query.order_by):
        return query
    return replace(query, body=fixed)


def output_subject_key(query: ast.Query) -> ast.Query:
    """A joined table's output column equated by a join to the subject's column is read
    from the subject (``prs.scenario_id``, not ``grl.scenario_id``), unless the subject's
    column is already output."""
    body = query.body
    if not isinstance(body, ast.Select) or body.group_by or aggregated(body):
        return query
    refs = block_refs(body)
    if len(refs) < 2:
        return query
    first = refs[0].ref_name
    same: dict[ast.Column, ast.Column] = {}
    for c in ast.block_conditions(body, outer_joins=True):
        if (
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
        ):
            if c.right.table == first and c.left.table not in (None, first):
                same[c.left] = c.right
            elif c.left.table == first and c.right.table not in (None, first):
                same[c.right] = c.left
    if not same:
        return query
    outs = {it.expr for it in body.items}
    ordered = {n for o in query.order_by for n in ast.walk(o.expr)}
    items = []
    for it in body.items:
        e = it.expr
        if (
            isinstance(e, ast.Column)
            and e in same
            and e not in ordered
            and any(x is not it and e.table in ast.tables_read(x.expr) for x in body.items)
        ):
            if same[e] in outs:
                continue  # the subject's own column already says it
            items.append(replace(it, expr=same[e]))
            outs.add(same[e])
            continue
        items.append(it)
    if tuple(items) == body.items or not items:
        return query
    return replace(query, body=replace(body, items=tuple(items)))
