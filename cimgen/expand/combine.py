"""Table combinations an analyst asks for: how the expander's choice of a subject and of a
table to link follows what the user's corpus combines
(:class:`cimgen.world.corpus.Combinations`).

A combination the corpus makes is preferred in proportion to how often it makes it; one it
never makes is taken with the small chance additive smoothing leaves it
(:meth:`Combinations.unseen`), or when nothing the corpus combines is on offer. Without
the information (an empty corpus) the caller's own weights decide, as before.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, TypeVar

from cimgen.expand.context import ExpansionContext, JoinPath, TableInfo
from cimgen.world.corpus import EVIDENCE, Combinations

if TYPE_CHECKING:
    from cimgen.expand.frame import Item

T = TypeVar("T")


def choose(
    rng: random.Random,
    options: Sequence[T],
    weights: Sequence[float],
    counts: Sequence[int] | None,
    unseen: float,
) -> T:
    """One of ``options``: by ``weights`` alone without ``counts``; else a combination the
    corpus makes (weight times its count) unless, with chance ``unseen``, one it never
    makes (by weight) -- when there are both kinds. The never-made ones together never get
    more than their share of ``weights``: a small corpus (the chance of the unseen 5 / 7
    after two clusterings) lowers their chance, it does not raise it."""
    if counts is None:
        return rng.choices(options, weights)[0]
    seen = [i for i, n in enumerate(counts) if n > 0]
    never = [i for i, n in enumerate(counts) if n <= 0]
    if never and seen:
        unseen = min(unseen, sum(weights[i] for i in never) / (sum(weights) or 1.0))
    if never and (not seen or rng.random() < unseen):
        return options[rng.choices(never, [weights[i] for i in never])[0]]
    return options[rng.choices(seen, [weights[i] * counts[i] for i in seen])[0]]


def with_all(combos: Combinations, table: str, have: Iterable[str]) -> bool:
    """Is ``table`` read, in the corpus, beside every table the query already reads?"""
    return all(combos.pair(x, table) > 0 for x in have if x != table)


def subject_count(
    ctx: ExpansionContext, t: TableInfo, have: Iterable[str], raster: bool, spatial: bool
) -> int:
    """How often the corpus starts a query from ``t`` -- 0 when it never reads ``t``
    beside the query's other tables, or (``raster``: the query reads a raster at its
    subject) never reads a raster at ``t``'s geometry, or (``spatial``: the query meets a
    table by a spatial relation) never reads beside ``t`` a table it can meet so."""
    combos = ctx.combos
    if not with_all(combos, t.qualified, have):
        return 0
    if spatial and not any(
        p.kind == "spatial" and (p.right == t.qualified or combos.meet(t.qualified, p.right))
        for p in ctx.paths_from(t.qualified)
    ):
        return 0
    if raster and not t.rasters:
        rasters = [p.right for p in ctx.paths_from(t.qualified) if p.kind == "raster"]
        if not any(combos.read_at(r, t.qualified) > 0 for r in rasters):
            return 0
    return combos.subject(t.qualified)


def link_count(ctx: ExpansionContext, left: str, path: JoinPath, have: Iterable[str]) -> int:
    """How often the corpus reads ``path.right`` beside ``left`` (a raster: at ``left``'s
    geometry, or a vector table by a raster's tile; a spatial link: the two geometries
    compared) -- 0 when it never reads it beside
    every table the query already reads."""
    combos = ctx.combos
    right = path.right
    if not with_all(combos, right, have):
        return 0
    if path.kind == "raster":
        raster, vector = (right, left) if ctx.table(right).rasters else (left, right)
        return combos.read_at(raster, vector)
    if path.kind == "spatial" and right != left:
        return combos.meet(left, right)
    return combos.pair(left, right)


def prefer(
    ctx: ExpansionContext,
    rng: random.Random,
    left: str,
    paths: list[JoinPath],
    have: Iterable[str],
) -> list[JoinPath]:
    """``paths`` from ``left`` (already shuffled), those to a table the corpus reads beside
    ``left`` and the query's tables first -- unless, with the chance the corpus leaves an
    unseen combination, their order is kept. Without the corpus's pairs: unchanged."""
    if not ctx.combos.multi or len(paths) < 2:
        return paths
    if rng.random() < ctx.combos.unseen(ctx.combos.multi):
        return paths
    have = tuple(have)
    return sorted(paths, key=lambda p: link_count(ctx, left, p, have) <= 0)


# --------------------------------------------------------------------------- summaries
# (twelfth pass (b)): which columns the corpus groups by, which it aggregates with which
# function, and which tables it clusters, per table (Combinations.groups / aggregates /
# clusters); None where the corpus has no such query at all (the caller's own draw)


def group_counts(ctx: ExpansionContext, keys: Sequence[tuple[str, str]]) -> list[int] | None:
    """How often the corpus groups by each ``(table, column)`` of ``keys``."""
    c = ctx.combos
    return [c.group(t, col) for t, col in keys] if c.grouping else None


def grouped_counts(ctx: ExpansionContext, tables: Sequence[str]) -> list[int] | None:
    """How often the corpus groups by a column of each of ``tables``; None below
    :data:`EVIDENCE` grouping records (too few to narrow a grouped CTE's subject to the
    tables they group: the foreign corpus's 16)."""
    c = ctx.combos
    return [c.grouped_by(t) for t in tables] if c.grouping >= EVIDENCE else None


def aggregate_counts(
    ctx: ExpansionContext, table: str, columns: Sequence[str], fn: str | None = None
) -> list[int] | None:
    """How often an aggregate (``fn``, else any) reads each of ``table``'s ``columns``."""
    c = ctx.combos
    return [c.aggregate(table, col, fn) for col in columns] if c.aggregating else None


def function_counts(
    ctx: ExpansionContext, table: str, column: str, fns: Sequence[str]
) -> list[int] | None:
    """How often the corpus aggregates ``table.column`` with each of ``fns``."""
    c = ctx.combos
    return [c.aggregate(table, column, fn) for fn in fns] if c.aggregating else None


def cluster_counts(ctx: ExpansionContext, tables: Sequence[str]) -> list[int] | None:
    """How often the corpus clusters each of ``tables``' geometries; None below
    :data:`EVIDENCE` clustering records (the foreign corpus's 2)."""
    c = ctx.combos
    return [c.cluster(t) for t in tables] if c.clustering >= EVIDENCE else None


def unseen_summary(ctx: ExpansionContext, kind: str) -> float:
    """The chance left to a grouping / aggregate / clustering (``kind``) never seen."""
    c = ctx.combos
    observed = {"group": c.grouping, "aggregate": c.aggregating, "cluster": c.clustering}
    return c.unseen(observed[kind])


def evidence(ctx: ExpansionContext, table: str, kind: str) -> bool:
    """Has the corpus shown often enough what it does with ``table`` (``summary`` /
    ``cte``: :meth:`Combinations.evidence`) for a table to leave a query as a filler?"""
    return ctx.combos.evidence(table, kind)


def never_made(rng: random.Random, counts: Sequence[int], shown: bool, unseen: float) -> bool:
    """Does the corpus make none of the options (``counts``), has it shown enough for
    that to count (``shown``: :func:`evidence`), and does the unseen's chance not come?
    The chance is drawn only when the first two hold."""
    return not any(counts) and shown and rng.random() >= unseen


def never_aggregated(
    ctx: ExpansionContext, rng: random.Random, table: str, columns: Iterable[str], fn: str
) -> bool:
    """Is ``fn`` over ``table``'s ``columns`` an aggregate the corpus never writes (none
    of the columns read so) -- and not let through by the unseen's chance? False without
    the corpus's aggregates."""
    c = ctx.combos
    if not c.aggregating or any(c.aggregate(table, col, fn) > 0 for col in columns):
        return False
    return rng.random() >= unseen_summary(ctx, "aggregate")


# --------------------------------------------------------------------------- joined tables
# (fourteenth pass (b)): what a query asks of a table it reads beside its subject -- the
# columns the corpus outputs of it, and those it filters, in that role
# (Combinations.joined_outputs / joined_filters): a building's census zone is asked for
# its id and its population, not for its number of buildings built before 1918


def joined(items: Sequence[Item], item: Item) -> bool:
    """Is ``item`` read beside another subject (not the block's first item, nor another
    copy of its table: the other buildings of a self-pair are the subject's kind)?"""
    return item is not items[0] and item.table != items[0].table


def asked_of_joined(
    ctx: ExpansionContext, rng: random.Random, table: str, columns: Sequence[str], kind: str
) -> list[str]:
    """``columns`` of ``table``, read beside another subject, as the corpus asks them
    (``kind`` ``output``: in a SELECT list, ``filter``: in a WHERE): see :func:`asked_of`."""
    return asked_of(ctx, rng, "joined", table, columns, kind)


def asked_of(
    ctx: ExpansionContext,
    rng: random.Random,
    role: str,
    table: str,
    columns: Sequence[str],
    kind: str = "output",
    by_share: bool = False,
) -> list[str]:
    """``columns`` of ``table`` in ``role`` (``joined``: read beside another subject;
    ``subject``: the table the query is about, outputs only) as the corpus asks them
    (``kind`` ``output``: in a SELECT list, ``filter``: in a WHERE): those it asks, drawn
    by how often (without replacement) -- ``by_share``: each kept with the share of the
    records in that role that ask it (a building's geometry source, selected in 2 of the
    foreign corpus's 29 building queries, is not in most of its listings) -- then, only
    when the unseen's chance comes, the others. Unchanged without :data:`EVIDENCE`
    records reading the table so."""
    c = ctx.combos
    if not columns or not c.evidence(table, role):
        return list(columns)
    if role == "subject":
        count, observed = c.subject_output, c.subject(table)
    else:
        count = c.joined_output if kind == "output" else c.joined_filter
        observed = c.joined.get(table, 0)
    seen = {col: n for col in columns if (n := count(table, col)) > 0}
    order: list[str] = []
    while seen:
        pick = rng.choices(list(seen), list(seen.values()))[0]
        order.append(pick)
        del seen[pick]
    if by_share:
        order = [col for col in order if rng.random() * observed < count(table, col)]
    if rng.random() < c.unseen(observed):
        order += [col for col in columns if not count(table, col)]
    return order


def place_distance_asked(ctx: ExpansionContext, rng: random.Random, kind: str) -> bool:
    """May a query that also does ``kind`` (``plain``, ``subquery``, ``spatial_join``,
    ``clustered``: :func:`cimgen.world.corpus.place_kind`) output the distance to a
    place ("nearest to (lon, lat) first")? Yes where the corpus does so, or without
    :data:`EVIDENCE` records computing one; else only with the unseen's chance (an
    analyst's query has one purpose: not buses clustered, joined to their lines and
    ranked by the distance to a point at once)."""
    c = ctx.combos
    total = sum(c.place_distances.values())
    if total < EVIDENCE or c.place_distance(kind) > 0:
        return True
    return rng.random() < c.unseen(total)
