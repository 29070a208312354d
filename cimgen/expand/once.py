"""One reading, said once (issue 14, tenth pass).

The lead's reads of 20 rows and the blind review of the eighth pass kept rows out where a
query reads one thing several ways, or ranks and groups what is one row by construction:

* :func:`point_windows` -- a window (``NTILE(4)``, a rank) in a block whose every table is
  cut to one literal point: the DTM and DSM tiles at a point are one row each, ranked
  against themselves. :func:`cimgen.expand.point.point_groups` leaves a raster first table
  aside (its value at the point is one reading); a window over it ranks that one reading.
  :func:`drop_point_windows` drops it from the main block (the values stay).
* :func:`rasters_read_twice` -- two raster tables of one kind in one query: a raster
  dataset pinned to a kind (``raster_type = 'DTM'``) beside the tiles whose table the kind
  names (``dtm_raster``), read at the same point or clipped to the same zone: the same
  values given twice.
* :func:`identity_groups` -- a ``GROUP BY`` on what identifies a row of a table (its
  primary key, or the columns another table's one-to-one key reaches it by, with its
  scope grouped or pinned: a bus number in one scenario), in a block where no table is met
  several per row: every group is one row, and the aggregates list it.
* :func:`container_pivots` -- a scoped table met as the container of the block's rows
  (the project scenario whose boundary holds a bus) from whose geometry a third table is
  reached (the census zone containing the project's centre): rows multiplied through a
  containment the question is not about.
* :func:`drop_repeated_outputs` -- an output whose expression an earlier output of its
  block already returns (the DTM at a bus as ``ground_elevation_m`` and again as
  ``tile_ground_elevation_m``) goes; a CTE's readers read the kept name.
* :func:`twin_counts` -- ``COUNT(*)`` beside ``COUNT(DISTINCT t.k)`` of a key in one block:
  "the number of buildings and the number of distinct buildings" (the rows and the
  distinct things the rows are copies of). :func:`drop_twin_counts` keeps the distinct
  count where the ordering or HAVING does not read the other.

:func:`say_once` is the expander's step: it refuses the others and drops a window at one
point and a twin count.

>>> from cimgen.grammar import parse
>>> q = parse("SELECT COUNT(*) AS n, COUNT(DISTINCT b.id) AS nb FROM b")
>>> [it.alias for it in twin_counts(q.body)]
['n']
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.equalities import block_equalities
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.distinct import open_versions, version_columns, with_conditions
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import (
    Links,
    aggregated,
    base_table,
    block_refs,
    select_list_nodes,
    to_many,
)
from cimgen.expand.pinned import serves
from cimgen.expand.point import at_point, first_at_point, plain_aggregate

# ----------------------------------------------------------------------------- windows


def point_windows(body: ast.Select, ctes: dict[str, ast.Query]) -> bool:
    """Does the block window rows whose every table is cut to one literal point (here, or
    in the CTE a table is read from)?"""
    refs = block_refs(body)
    if not refs or not any(
        isinstance(n, ast.FuncCall) and n.over is not None for n in select_list_nodes(body)
    ):
        return False
    here = at_point(body)
    for r in refs:
        if r.ref_name in here:
            continue
        q = ctes.get(r.name) if r.schema is None else None
        if q is None or not isinstance(q.body, ast.Select) or not first_at_point(q.body, ctes):
            return False
    return True


def _windowed(it: ast.SelectItem) -> bool:
    return any(isinstance(n, ast.FuncCall) and n.over is not None for n in ast.walk_own(it.expr))


def drop_point_windows(query: ast.Query, ctes: dict[str, ast.Query] | None = None) -> ast.Query:
    """The main block without its windows over the rows at one point
    (:func:`point_windows`): the values there stay, the rank of one row against itself
    goes. Refused where the ordering reads a window, where nothing else is returned, or
    where the block is a CTE's (its reader may read the window). ``ctes``: the query's
    CTEs by name, if the caller has them."""
    body = query.body
    ctes = ast.ctes_by_name(query) if ctes is None else ctes
    for n in ast.walk(query):
        if (
            isinstance(n, ast.Query)
            and n is not query
            and isinstance(n.body, ast.Select)
            and point_windows(n.body, ctes)
        ):
            raise BuildError("a window over the rows at one point")
    if not isinstance(body, ast.Select) or not point_windows(body, ctes):
        return query
    drop = [it for it in body.items if _windowed(it)]
    if len(drop) == len(body.items) or any(_reads(query, body, it) for it in drop):
        raise BuildError("a window over the rows at one point")
    return replace(query, body=replace(body, items=tuple(x for x in body.items if x not in drop)))


# ----------------------------------------------------------------------------- rasters


def _kinds(
    alias: str, info: TableInfo, pins: dict[tuple[str, str], ast.Expr]
) -> tuple[set[str], set[str]]:
    """(the kinds a pin names, the words of the table's name): a raster dataset pinned to
    ``raster_type = 'DTM'`` is of kind ``dtm``; a tile table ``dtm_raster`` is named by it."""
    named = {
        v.value.lower()
        for c in info.categories
        if isinstance(v := pins.get((alias, c)), ast.String)
    }
    return named, set(info.name.lower().split("_"))


def rasters_read_twice(
    query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query] | None = None
) -> bool:
    """Does the query read two raster tables of one kind (:func:`_kinds`), in any of its
    blocks? Both cover the same places (the DTM dataset and the DTM tiles at a point, or
    clipped to a census zone): the same values twice. ``ctes``: the query's CTEs by name,
    if the caller has them."""
    ctes = ast.ctes_by_name(query) if ctes is None else ctes
    reads: list[tuple[str, set[str], set[str]]] = []
    for n in ast.walk(query):
        if not (isinstance(n, ast.Query) and isinstance(n.body, ast.Select)):
            continue
        pins = dict(block_equalities(n.body).pins)
        for ref in block_refs(n.body):
            info = base_table(ref, ctes, ctx) if ref.schema is not None else None
            if info is None or not info.rasters:
                continue
            named, words = _kinds(ref.ref_name, info, pins)
            reads.append((info.qualified, named, words))
    return any(a[0] != b[0] and a[1] & b[2] for a in reads for b in reads)


# ----------------------------------------------------------------------------- groups


def _identifiers(info: TableInfo, ctx: ExpansionContext) -> list[set[str]]:
    """Column sets that identify one row of the table: its primary key, and the columns
    a key path from another table reaches it by when each row there meets one row here."""
    out = [set(info.pk)] if info.pk else []
    for paths in ctx.paths.values():
        for p in paths:
            if p.right == info.qualified and p.kind == "key" and p.fan <= 1.0 and p.pairs:
                key = {b for _, b in p.pairs}
                if key not in out:
                    out.append(key)
    return out


def identity_groups(body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> bool:
    """Does the block group by what identifies one row of its first table
    (:func:`_identifiers`; a scoped table's scope grouped or pinned too), with no table met
    several per row of it: groups of one row? (A later table's identity is no such group:
    the lines in a census zone, per zone, are several.)"""
    if not body.group_by:
        return False
    grouped = {(g.table, g.name) for g in body.group_by if isinstance(g, ast.Column)}
    if not grouped:
        return False
    eq = block_equalities(body)
    fixed = eq.fixed()

    def held(alias: str, column: str) -> bool:
        return (alias, column) in grouped or eq.classes.find((alias, column)) in fixed

    refs = block_refs(body)
    r = refs[0] if refs else None
    info = ctx.by_name.get(r.qualified) if r is not None and r.schema is not None else None
    if r is None or info is None:
        return False
    a = r.ref_name
    if not all(held(a, s) for s in info.scope):
        return False
    for key in _identifiers(info, ctx):
        if any((a, k) in grouped for k in key) and all(held(a, k) for k in key):
            return not to_many(body, ctes, ctx, over=1.0)[1]
    return False


# ----------------------------------------------------------------------------- containers

_CONTAINS = ("st_within", "st_contains")
_SPATIAL = ("st_within", "st_contains", "st_intersects", "st_dwithin", "st_covers", "st_touches")


def _container(c: ast.Expr) -> tuple[set[str], set[str]] | None:
    """(the container's tables, the contained's) of ``ST_Contains(outer, inner)`` /
    ``ST_Within(inner, outer)``, or None."""
    if not (isinstance(c, ast.FuncCall) and c.name.lower() in _CONTAINS and len(c.args) >= 2):
        return None
    within = c.name.lower() == "st_within"
    outer, inner = c.args[1 if within else 0], c.args[0 if within else 1]
    return ast.tables_read(outer), ast.tables_read(inner)


def level_only(
    body: ast.Select, ctx: ExpansionContext, order_by: tuple[ast.OrderItem, ...] = ()
) -> bool:
    """Does the block read a table only for a version column its join equates to another
    table's, and output it (``b.lod`` beside ``bp.lod`` of ``JOIN building b ON
    bp.building_id = b.building_id AND bp.lod = b.lod``)? The other table holds that level
    already: the join adds nothing, the level is said from the joined copy. (A building
    read only for a pin of that level, ``b.lod = 2``, is left: refusing it moved those
    groupings to keys the corpus never uses, test_expand_summaries.) 1 of 299
    corpus-structure expansions of main 4c22d6f; issue 14, fifteenth pass (c)."""
    refs = block_refs(body)
    if len(refs) < 2:
        return False
    links: list[ast.Expr] = []
    equated: dict[str, set[str]] = {}
    conditions = ast.block_conditions(body, outer_joins=True)
    for c in conditions:
        if (
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
            and c.left.table != c.right.table
        ):
            links.append(c)
            for x in (c.left, c.right):
                equated.setdefault(x.table or "", set()).add(x.name)
    read: dict[str, set[str]] = {}
    for e in (
        *(it.expr for it in body.items),
        *(c for c in conditions if not any(c is k for k in links)),
        *body.group_by,
        *([body.having] if body.having is not None else []),
        *(o.expr for o in order_by),
    ):
        for n in ast.walk(e):
            if isinstance(n, ast.Column) and n.table is not None:
                read.setdefault(n.table, set()).add(n.name)
    said = {
        n.table
        for it in body.items
        for n in ast.walk(it.expr)
        if isinstance(n, ast.Column) and n.table is not None
    }
    for ref in refs:
        info = ctx.by_name.get(ref.qualified)
        extra = read.get(ref.ref_name, set())
        if info is None or not extra or ref.ref_name not in said:
            continue  # (a pin of the level on the joined copy alone says nothing twice)
        versions = set(version_columns(ctx, info)) - set(info.scope)
        if extra <= versions & equated.get(ref.ref_name, set()):
            return True
    return False


def container_pivots(body: ast.Select, ctx: ExpansionContext) -> bool:
    """Does the block meet a scoped table (its rows repeat per project scenario) as the
    container of another table's rows, and then reach a third table spatially from that
    container's geometry (the buses in a project's boundary x the census zone containing
    the project's centre)? The third table is about the container, not the rows listed."""
    refs = {r.ref_name: r for r in block_refs(body)}
    if len(refs) < 3:
        return False
    conds = ast.block_conditions(body, outer_joins=True)
    for c in conds:
        got = _container(c)
        if got is None or len(got[0]) != 1 or len(got[1]) != 1 or got[0] == got[1]:
            continue
        (b,) = got[0]
        ref = refs.get(b)
        info = ctx.by_name.get(ref.qualified) if ref is not None and ref.schema else None
        if info is None or not info.scope:
            continue
        others = set(refs) - got[0] - got[1]
        for x in conds:
            read = ast.tables_read(x)
            if (
                isinstance(x, ast.FuncCall)
                and x.name.lower() in _SPATIAL
                and b in read
                and read & others
                and len(read) == 2
            ):
                return True
    return False


# ----------------------------------------------------------------------------- counts


def _count(e: Any) -> bool:
    return isinstance(e, ast.FuncCall) and e.name.upper() == "COUNT" and e.over is None


def _counts_rows(e: Any, body: ast.Select, ctx: ExpansionContext | None) -> bool:
    """``COUNT(DISTINCT t.k)`` of an identifier of ``t`` (``TableInfo.ids``; any column
    without a context): a count of ``t``'s rows."""
    if not (_count(e) and e.distinct and e.args and isinstance(e.args[0], ast.Column)):
        return False
    col = e.args[0]
    if ctx is None:
        return True
    ref = next((r for r in block_refs(body) if r.ref_name == col.table), None)
    info = ctx.by_name.get(ref.qualified) if ref is not None and ref.schema else None
    return info is not None and col.name in info.ids


def twin_counts(body: ast.Select, ctx: ExpansionContext | None = None) -> list[ast.SelectItem]:
    """The ``COUNT(*)`` outputs of a block that also counts the distinct rows of a table
    (:func:`_counts_rows`): two counts of one thing's rows."""
    stars = [
        it
        for it in body.items
        if isinstance(it.expr, ast.FuncCall) and _count(it.expr) and it.expr.star
    ]
    if not any(_counts_rows(it.expr, body, ctx) for it in body.items):
        return []
    return stars


def _reads(query: ast.Query, body: ast.Select, it: ast.SelectItem) -> bool:
    """Does the ordering, HAVING or a reader of the output read ``it``?"""
    names = {n.name for o in query.order_by for n in ast.walk(o.expr) if isinstance(n, ast.Column)}
    if (it.alias and it.alias in names) or any(
        it.expr in set(ast.walk(o.expr)) for o in query.order_by
    ):
        return True
    return body.having is not None and it.expr in set(ast.walk(body.having))


def drop_twin_counts(query: ast.Query, ctx: ExpansionContext | None = None) -> ast.Query:
    """The main block without its ``COUNT(*)`` beside a distinct count (:func:`twin_counts`),
    or without the distinct counts where the ordering or HAVING reads the ``COUNT(*)`` --
    refused where a dropped count was all the block asked of its table
    (:func:`cimgen.expand.pinned.serves`)."""
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    stars = twin_counts(body, ctx)
    if not stars:
        return query
    drop = [it for it in stars if not _reads(query, body, it)]
    if len(drop) < len(stars):  # a COUNT(*) the query reads: the distinct counts go
        drop = [
            it
            for it in body.items
            if _counts_rows(it.expr, body, ctx) and not _reads(query, body, it)
        ]
    if not drop:
        return query
    out = replace(body, items=tuple(it for it in body.items if it not in drop))
    read = {a for it in drop for a in ast.tables_read(it.expr)} - {_first_name(body)}
    if any(not serves(out, a) for a in read):
        # the distinct count was all the block asked of its table (PUR001: a building
        # joined to clusters of lines, counted, then left serving nothing)
        raise BuildError("a twin count the HAVING reads beside a table's only use")
    return replace(query, body=out)


def _first_name(body: ast.Select) -> str | None:
    """The name the block's first FROM item is read by (the rows ``COUNT(*)`` counts)."""
    item: Any = body.from_[0] if body.from_ else None
    while isinstance(item, ast.Join):
        item = item.left
    if isinstance(item, ast.DerivedTable):
        return item.alias
    return item.ref_name if isinstance(item, ast.TableRef) else None


# ----------------------------------------------------------------------------- repeats


def _renamed(node: Any, names: dict[tuple[str, str], str]) -> Any:
    """``node`` with each column ``alias.name`` that ``names`` maps given the new name, in
    every block below it."""
    if isinstance(node, ast.Column):
        new = names.get((node.table or "", node.name))
        return replace(node, name=new) if new else node
    if not hasattr(node, "__dataclass_fields__"):
        return node
    changes = {}
    for k, v in vars(node).items():
        if isinstance(v, tuple):
            nv = tuple(_renamed(x, names) for x in v)
            if nv != v:
                changes[k] = nv
        elif hasattr(v, "__dataclass_fields__"):
            nv = _renamed(v, names)
            if nv is not v:
                changes[k] = nv
    return replace(node, **changes) if changes else node


def _once(body: ast.Select) -> tuple[ast.Select, dict[str, str]]:
    """``body`` without an output that repeats an earlier one's expression, and the names
    dropped -> the name kept."""
    seen: dict[ast.Expr, str | None] = {}
    keep, gone = [], {}
    for it in body.items:
        name = it.alias or (it.expr.name if isinstance(it.expr, ast.Column) else None)
        if it.expr in seen:
            gone[name or ""] = seen[it.expr] or ""
            continue
        seen[it.expr] = name
        keep.append(it)
    return (replace(body, items=tuple(keep)), gone) if gone else (body, {})


def drop_repeated_outputs(query: ast.Query) -> ast.Query:
    """The query without an output that repeats an earlier output of its block
    (``ST_Value(dr.rast, gb.geometry)`` as ``ground_elevation_m`` and again as
    ``tile_ground_elevation_m``): a CTE's repeat goes and its readers read the kept name;
    the main block's goes where the ordering does not name it."""
    ctes = list(query.ctes)
    for k, cte in enumerate(ctes):
        body = cte.query.body
        if not isinstance(body, ast.Select):
            continue
        new, gone = _once(body)
        if not gone:
            continue
        ctes[k] = replace(cte, query=replace(cte.query, body=new))
        aliases = {
            r.ref_name
            for n in ast.walk(query)
            if isinstance(n, ast.Select)
            for r in block_refs(n)
            if r.schema is None and r.name == cte.name
        }
        names = {(a, old): kept for a in aliases for old, kept in gone.items() if old and kept}
        rest = tuple(_renamed(c, names) for c in ctes[k + 1 :])
        ctes[k + 1 :] = list(rest)
        query = replace(
            query,
            ctes=tuple(ctes),
            body=_renamed(query.body, names),
            order_by=tuple(_renamed(o, names) for o in query.order_by),
        )
    body = query.body
    if isinstance(body, ast.Select):
        new, gone = _once(body)
        ordered = {
            n.name
            for o in query.order_by
            for n in ast.walk(o.expr)
            if isinstance(n, ast.Column) and n.table is None
        }
        if gone and not any(old in ordered and old != kept for old, kept in gone.items()):
            query = replace(query, body=new)
    return query


# ------------------------------------------------------- a value at one point, aggregated


def point_aggregates(body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> bool:
    """Does an aggregating block read a raster only at one literal point while its first
    table's rows are not at that point? ``AVG(ST_Value(dr.rast, <point>))`` over buildings
    is the one value at the point on every row, averaged; a DSM tile joined only at the
    point and read by nothing else only multiplies nothing.
    :func:`cimgen.expand.pinned.point_values` sees row-level blocks only."""
    refs = block_refs(body)
    own = select_list_nodes(body)
    if len(refs) < 2 or not (body.group_by or any(plain_aggregate(n) for n in own)):
        return False
    points = at_point(body)
    if refs[0].ref_name in points:
        return False
    rasters = set()
    for r in refs[1:]:
        info = base_table(r, ctes, ctx)
        if info is not None and info.rasters and r.ref_name in points:
            rasters.add(r.ref_name)
    if not rasters:
        return False
    for n in own:
        if plain_aggregate(n):
            read = ast.tables_read(n)
            if read and read <= rasters:
                return True
    used: set[str] = set()
    for e in (*(it.expr for it in body.items), *body.group_by, body.having):
        if e is not None:
            used |= ast.tables_read(e)
    for c in ast.block_conditions(body):
        read = ast.tables_read(c)
        if len(read) > 1:  # a condition meeting another table reads it per row
            used |= read
    return bool(rasters - used)


# ------------------------------------------------------------ one scenario of the project


def _scenario_level(ctx: ExpansionContext, info: TableInfo, column: str) -> set[str]:
    """Columns of a scope table whose values differ between the rows of one project (the
    rows that agree on every other scope column): what one scenario has of its own."""
    sample = ctx.world.table(info.qualified)
    if sample is None:
        return {column}
    project = tuple(c for c in info.scope if c != column and sample.has(c))
    rows: dict[tuple[Any, ...], list[int]] = {}
    for i in range(len(sample)):
        rows.setdefault(tuple(sample.value(i, c) for c in project), []).append(i)
    out = {column}
    for t in ctx.schema.tables:
        if t.qualified != info.qualified:
            continue
        for c in t.columns:
            if not sample.has(c.name):
                continue
            for group in rows.values():
                if len({repr(sample.value(i, c.name)) for i in group}) > 1:
                    out.add(c.name)
                    break
    return out


def _baseline(
    ctx: ExpansionContext, info: TableInfo, column: str, projects: set[Any] | None
) -> Any | None:
    """The value of the scope column every project (or every one of ``projects``) has,
    most frequent in its literal pool first (the corpus's or the database's most asked
    scenario); None where no value is shared."""
    sample = ctx.world.table(info.qualified)
    pool = ctx.pools.get(info.qualified, column)
    if sample is None or pool is None or not sample.has(column):
        return None
    project = [c for c in info.scope if c != column and sample.has(c)]
    if len(project) != 1:
        return None
    having: dict[Any, set[Any]] = {}
    for i in range(len(sample)):
        having.setdefault(sample.value(i, project[0]), set()).add(sample.value(i, column))
    wanted = [v for p, v in having.items() if projects is None or p in projects]
    if not wanted:
        return None
    for value in pool.values:
        if all(value in v for v in wanted) and ctx.literal_ok(info.qualified, column, value):
            return value
    return None


def _literal(value: Any) -> ast.Expr | None:
    if isinstance(value, str):
        return ast.String(value)
    return None


def _first_open(body: ast.Select, ctx: ExpansionContext) -> list[tuple[str, str]]:
    """(alias, column): the scope columns of a block's first table when it is the scope
    table itself, left open, and no other table of the block has a scope (project
    scenarios with the DTM under their census boundary: one value per project, repeated
    per scenario); a scoped partner (a scenario's buildings) makes the rows differ."""
    refs = block_refs(body)
    if len(refs) < 2:  # the project scenarios themselves listed: the scenarios are the rows
        return []
    info = ctx.by_name.get(refs[0].qualified)
    if info is None or not info.scope or not set(info.pk) <= set(info.scope):
        return []
    if any((i := ctx.by_name.get(r.qualified)) is not None and i.scope for r in refs[1:]):
        return []
    eq = block_equalities(body)
    fixed = eq.fixed()
    alias = refs[0].ref_name
    return [
        (alias, c)
        for c in version_columns(ctx, info)
        if c in info.scope and eq.classes.find((alias, c)) not in fixed
    ]


def pin_project_scenario(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """The main block with a joined project-scenario table pinned to one scenario where the
    query is about the project (its name, boundary or centre) and reads nothing a scenario
    has of its own: the buildings in a project's boundary, or a bus near its centre, are
    otherwise listed (or counted) once per scenario, the same values on every copy. The
    scenario is the one every project the rows may meet has, most frequent in the column's
    literal pool (the corpus's, or the database's, baseline), never a name written here; a
    bare output of the scenario column (:func:`cimgen.expand.distinct.distinguish`'s) goes.
    Left as is where no scenario is shared or the scenario is grouped, ordered or read."""
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    eq = block_equalities(body)
    extra: list[ast.Expr] = []
    dropped: set[tuple[str, str]] = set()
    for alias, column in [*open_versions(query, ctx), *_first_open(body, ctx)]:
        ref = next((r for r in block_refs(body) if r.ref_name == alias), None)
        info = ctx.by_name.get(ref.qualified) if ref is not None else None
        if info is None or column not in info.scope or not set(info.pk) <= set(info.scope):
            continue  # the scope table itself only (a project scenario)
        own = _scenario_level(ctx, info, column)
        bare = [
            it
            for it in body.items
            if isinstance(it.expr, ast.Column) and it.expr.table == alias and it.expr.name == column
        ]
        reads = [
            n
            for e in (
                *(it.expr for it in body.items if not any(it is b for b in bare)),
                *body.group_by,
                *(o.expr for o in query.order_by),
                *([body.having] if body.having is not None else []),
                *ast.block_conditions(body),
            )
            for n in ast.walk(e)
            if isinstance(n, ast.Column) and n.table == alias and n.name in own
        ]
        named = {it.alias or column for it in bare}
        ordered = any(
            isinstance(n, ast.Column) and n.table is None and n.name in named
            for o in query.order_by
            for n in ast.walk(o.expr)
        )
        if reads or ordered or len(bare) >= len(body.items):
            continue
        projects = {
            getattr(lit, "value", None)
            for (a, c), lit in eq.pins
            if a == alias and c in info.scope and c != column
        }
        value = _literal(_baseline(ctx, info, column, projects or None))
        if value is None:
            continue
        extra.append(ast.BinaryOp("=", ast.Column(column, alias), value))
        dropped.add((alias, column))
    if not extra:
        return query
    where = body.where
    for cond in extra:
        where = cond if where is None else ast.BinaryOp("AND", where, cond)
    items = tuple(
        it
        for it in body.items
        if not (isinstance(it.expr, ast.Column) and (it.expr.table, it.expr.name) in dropped)
    )
    return replace(query, body=replace(body, where=where, items=items))


def pin_copies_aggregated(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """The main block with its one scoped table that is not the scope table itself (a
    building's properties, one record per project scenario) pinned to one scenario where
    the block aggregates over it and reads no scenario: "the average height and count
    per k-means cluster" otherwise counts and averages every scenario's copy of each
    building (lead's read, twelfth pass). The scenario is :func:`pin_project_scenario`'s
    (the one every project the rows may meet has, most frequent in the column's literal
    pool); left as is where none is shared or another scoped table (tied or pinned by
    ``distinct``) is there; refused where the rest of the scope (the project) is open: the
    scenario alone would meet every project's copy (issue 14, fifteenth pass (c))."""
    body = query.body
    if not isinstance(body, ast.Select) or not aggregated(body):
        return query
    scoped = [
        (r, info)
        for r in block_refs(body)
        if (info := ctx.by_name.get(r.qualified)) is not None and info.scope
    ]
    if len(scoped) != 1 or set(scoped[0][1].pk) <= set(scoped[0][1].scope):
        return query
    ref, info = scoped[0]
    alias = ref.ref_name
    eq = block_equalities(body)
    fixed = eq.fixed()
    read = {
        n.name
        for e in (
            *(it.expr for it in body.items),
            *body.group_by,
            *(o.expr for o in query.order_by),
            *([body.having] if body.having is not None else []),
        )
        for n in ast.walk(e)
        if isinstance(n, ast.Column) and n.table == alias
    }
    for column in version_columns(ctx, info):
        if column not in info.scope or column in read:
            continue
        if eq.classes.find((alias, column)) in fixed or (alias, column) in eq.classes.members():
            return query  # pinned, or tied to another scope (a CTE's buses of one scenario)
        others = [c for c in info.scope if c != column]
        if any(
            eq.classes.find((alias, c)) not in fixed
            and (alias, c) not in eq.classes.members()
            and c not in read  # grouped by the project: each project's scenario apart
            for c in others
        ):
            # a scenario named without its project meets that scenario of every project
            # holding the rows (a building in two projects counted twice); the builder
            # pins the whole scope where it knows the pivot's (Content.pin_versions)
            raise BuildError("a table held per project scenario aggregated over every project")
        projects = {
            getattr(lit, "value", None) for (a, c), lit in eq.pins if a == alias and c != column
        }
        value = _literal(_baseline(ctx, info, column, projects or None))
        if value is None:
            return query
        return with_conditions(query, body, [ast.BinaryOp("=", ast.Column(column, alias), value)])
    return query


# ----------------------------------------------------------------------------- the step


def said_twice(
    query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query] | None = None
) -> str | None:
    """Why the query reads one thing several ways or groups single rows (the refusals of
    the module docstring), or None; a window over the rows at one point aside
    (:func:`drop_point_windows`). ``ctes``: the query's CTEs by name, if the caller has
    them."""
    ctes = ast.ctes_by_name(query) if ctes is None else ctes
    for n in ast.walk(query):
        if not (isinstance(n, ast.Query) and isinstance(n.body, ast.Select)):
            continue
        if identity_groups(n.body, ctx, ctes):
            return "a GROUP BY on what identifies one row"
        if container_pivots(n.body, ctx):
            return "a table reached through the container of the rows"
        if point_aggregates(n.body, ctx, ctes):
            return "an aggregate of a raster read at one point"
    if rasters_read_twice(query, ctx, ctes):
        return "one raster kind read twice"
    return None


def refuse_level_only(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """The expander's step: refuses a query one of whose blocks reads a table only for a
    level its partner holds (:func:`level_only`), once the outputs are final."""
    for n in ast.walk(query):
        if (
            isinstance(n, ast.Query)
            and isinstance(n.body, ast.Select)
            and level_only(n.body, ctx, n.order_by)
        ):
            raise BuildError("a table joined for a level its partner holds")
    return query


def say_once(query: ast.Query, ctx: ExpansionContext, links: Links | None = None) -> ast.Query:
    """The expander's step: refuses what :func:`said_twice` names, then drops an output
    repeated in its block (:func:`drop_repeated_outputs`), a window over the rows at one
    point (:func:`drop_point_windows`) and a twin count (:func:`drop_twin_counts`).
    ``links``: the attempt's reading, whose CTE map the checks read."""
    ctes = links.ctes if links is not None else ast.ctes_by_name
    why = said_twice(query, ctx, ctes(query))
    if why is not None:
        raise BuildError(why)
    query = drop_repeated_outputs(pin_copies_aggregated(pin_project_scenario(query, ctx), ctx))
    return drop_twin_counts(drop_point_windows(query, ctes(query)), ctx)


__all__ = [
    "container_pivots",
    "drop_point_windows",
    "drop_repeated_outputs",
    "drop_twin_counts",
    "identity_groups",
    "level_only",
    "pin_copies_aggregated",
    "pin_project_scenario",
    "point_aggregates",
    "point_windows",
    "rasters_read_twice",
    "refuse_level_only",
    "said_twice",
    "say_once",
    "twin_counts",
]
