"""The core FROM of a query: a subject, its pivot, and links chosen in small named steps.

1. :func:`choose_subject` -- the entity the question is about, fit for the query's needs
   (a raster to read, a spatial join to make, something to cluster or measure), as often
   as the user's corpus starts from it (:mod:`.combine`);
2. :func:`link_options` -- every way to add a table to the FROM from an item already there
   (a key the pivot's row shares, a geometry it lies in or near, a raster tile covering it),
   each with the partner row it meets;
3. :func:`extend` -- add one link, preferring tables the corpus reads beside the query's
   (:mod:`.combine`; without a corpus, tables that bring something: labels, attributes,
   geometry) and the kind of link the query type asks for.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

from cimgen.expand import combine
from cimgen.expand.context import ExpansionContext, JoinPath, TableInfo
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import BuildError, Frame, Item, Link, Pivots, partner
from cimgen.expand.values import distance_over


@dataclass(frozen=True)
class Needs:
    """What the query type asks of the core FROM."""

    raster: bool = False  # a raster table (RASTER_VECTOR)
    spatial_on: bool = False  # a join whose ON is spatial (SPATIAL_JOIN)
    no_spatial_on: bool = False  # no spatial ON (MULTI_JOIN, AGGREGATION, ...)
    no_raster: bool = False
    geometry: bool = False  # a geometry to measure / cluster
    cluster: bool = False  # enough rows of one geometry table to cluster
    self_join: bool = False  # a spatial join within one table (SPATIAL_JOIN, one table)
    group: bool = False  # a grouped CTE over the table: one the corpus groups by


def richness(t: TableInfo) -> float:
    """How much a table offers an analyst: labels, attributes, geometry, rows."""
    cols = len(t.labels) + len(t.categories) + min(4, len(t.measures)) + len(t.flags)
    return (1 + cols + 2 * bool(t.geoms) + 2 * bool(t.rasters)) * math.log(3 + t.rows)


def choose_subject(
    ctx: ExpansionContext,
    rng: random.Random,
    needs: Needs,
    allowed: Callable[[TableInfo], bool] = lambda t: True,
    have: frozenset[str] = frozenset(),
) -> TableInfo:
    """The query's subject, weighted by how often the corpus starts a query from each
    table (:mod:`.combine`; by :func:`richness` without a corpus). ``have``: the tables
    the query already reads (a later block's subject)."""
    options = []
    for t in ctx.tables:
        if not t.rows or not allowed(t):
            continue
        if needs.no_raster and t.rasters:
            continue
        if needs.geometry and not t.geoms:
            continue
        if needs.cluster and (not t.geoms or t.rows < 20):
            continue
        if (
            needs.raster
            and not t.rasters
            and not any(p.kind == "raster" for p in ctx.paths_from(t.qualified))
        ):
            continue
        if needs.spatial_on and not any(p.kind == "spatial" for p in ctx.paths_from(t.qualified)):
            continue
        w = 1.0
        if needs.raster and t.rasters:
            w *= 0.35  # a raster table on its own: tile metadata, less often than a vector
        options.append((t, w))
    if not options:
        raise BuildError("no table fits the query type")
    tables = [t for t, _ in options]
    if not ctx.combos.subjects:
        return rng.choices(tables, [w * richness(t) for t, w in options])[0]
    counts = [combine.subject_count(ctx, t, have, needs.raster, needs.spatial_on) for t in tables]
    weights = [w if n > 0 else w * richness(t) for (t, w), n in zip(options, counts, strict=True)]
    unseen = ctx.combos.unseen(ctx.combos.records)
    clustered = (
        combine.cluster_counts(ctx, [t.qualified for t in tables]) if needs.cluster else None
    )
    mine = [c if n > 0 else 0 for n, c in zip(counts, clustered or counts, strict=True)]
    if clustered is not None and any(mine):  # what the corpus clusters, of those it combines
        counts, unseen = mine, combine.unseen_summary(ctx, "cluster")
    grouped = combine.grouped_counts(ctx, [t.qualified for t in tables]) if needs.group else None
    mine = [n if g > 0 else 0 for n, g in zip(counts, grouped or counts, strict=True)]
    if grouped is not None and any(mine):  # a grouped CTE: a table the corpus groups by
        counts, unseen = mine, combine.unseen_summary(ctx, "group")
    return combine.choose(rng, tables, weights, counts, unseen)


@dataclass
class Option:
    to: int
    path: JoinPath
    row: int
    relation: str
    distance: float | None


def link_options(
    ctx: ExpansionContext,
    pv: Pivots,
    rng: random.Random,
    frame: Frame,
    needs: Needs,
    fresh: bool,
    have: set[str],
    allowed: Callable[[TableInfo], bool] = lambda t: True,
) -> list[Option]:
    """Ways to add one item: from any item in ``frame`` along a path whose partner exists.

    ``fresh``: the new item must bring a table the query does not read yet (``have``);
    else it must reuse one (another block's table, a second path to a table of this block,
    or a spatial self-join).
    """
    out: list[Option] = []
    used_paths = {
        (
            it.link.to,
            it.link.path.left,
            it.link.path.right,
            it.link.path.pairs,
            it.link.path.left_column,
            it.link.path.right_column,
        )
        for it in frame.items
        if it.link is not None
    }
    for k, it in enumerate(frame.items):
        if it.ref is not None and it.ref.grouped:
            continue  # grouped CTE items link through their own export (forms.py)
        if it.mode == "left":
            continue  # a link from an optional row would make it required
        for p in ctx.paths_from(it.table):
            if (k, p.left, p.right, p.pairs, p.left_column, p.right_column) in used_paths:
                continue
            target = ctx.table(p.right)
            if fresh == (p.right in have) or not allowed(target):
                continue
            if not fresh and p.right in frame.tables() and not _second_path(frame, k, p):
                continue  # back to a table of this block by another way: no new meaning
            if needs.no_raster and p.kind == "raster":
                continue
            if (
                it.link is not None
                and frame.items[it.link.to].table == p.right
                and p.kind == "key"
                and p.pairs == tuple((b, a) for a, b in it.link.path.pairs)
            ):
                continue  # straight back along the way we came
            if p.kind == "spatial" and p.right == it.table and it.info.rows < 5:
                continue
            got = partner(pv, p, it.pivot, rng)
            if got is None:
                continue
            row, rel, dist = got
            if (
                p.kind == "spatial"
                and p.right == it.table
                and (
                    row == it.pivot
                    or rel != "near"
                    or _same_label(ctx, it, row)
                    # neighbours at a distance only the data knows: over a stand-in fixture
                    # only when the label asks for a spatial join and the query has one
                    # table, which a self-join alone can honour (a distance of >= 100 m)
                    or (not ctx.trusted and not needs.self_join)
                )
            ):
                continue  # pairs of neighbours, not a row and its own other version
            if any(o.table == p.right and o.pivot == row and o.ref is None for o in frame.items):
                continue  # the same row again (two keys to one building): nothing new
            if not _scope_consistent(ctx, it, p, row):
                continue
            planted = [c for c in target.scope if (target.qualified, c) in ctx.planted]
            if planted and not pv.planted_row(target.qualified, row, planted):
                continue  # a partner in the fixture's own project scenarios
            if not _offers(target, p):
                continue
            if not _one_version(ctx, target, p, row):
                continue  # it would meet each thing once per version (every building lod)
            if multiplies(p, rel) and (
                _climbed(frame, k)
                or any(
                    o.link is not None
                    and o.link.to == k
                    and multiplies(o.link.path, o.link.relation)
                    for o in frame.items
                )
            ):
                continue  # two children of one row (or a parent's other children): a product
            if (
                fans_out(p, rel)
                and it.link is not None
                and fans_out(it.link.path, it.link.relation)
            ):
                continue  # children of children (also a chain of distance joins, STA005)
            if p.kind == "colocated" and (
                (it.link is not None and it.link.path.kind == "colocated")
                or any(o.link is not None and o.link.path.kind == "colocated" for o in frame.items)
            ):
                continue  # two rasters at one place, not three
            if rel == "near":
                needed = (dist or 0.0) if ctx.trusted else max(dist or 0.0, 100.0)
                dist = distance_over(needed, ctx.pools.distances, rng)
            out.append(Option(k, p, row, rel, dist))
    return out


def _same_label(ctx: ExpansionContext, it: Item, row: int) -> bool:
    s = ctx.world.table(it.table)
    if s is None:
        return False
    return any(s.has(c) and s.value(it.pivot, c) == s.value(row, c) for c in it.info.labels[:1])


def is_parent(frame: Frame, k: int) -> bool:
    """Is item ``k`` itself reached through a many-to-one link (or from such an item)?"""
    it = frame.items[k]
    if it.link is None:
        return False
    if not multiplies(it.link.path, it.link.relation):
        return True
    return _climbed(frame, it.link.to)


def _climbed(frame: Frame, k: int) -> bool:
    """Was item ``k`` reached from the subject through a many-to-one link (a parent)?
    A one-to-many link from a parent pairs the subject with its parent's other children."""
    it = frame.items[k]
    while it.link is not None:
        if not multiplies(it.link.path, it.link.relation):
            return True
        it = frame.items[it.link.to]
    return False


def multiplies(p: JoinPath, relation: str) -> bool:
    """Does the link meet many rows per row (one-to-many, containment of many, nearness)?"""
    if p.kind == "key":
        return p.fan > 1.5
    if p.kind == "spatial":
        return relation != "inside"
    return False


def fans_out(p: JoinPath, relation: str) -> bool:
    """Does the link meet several *other* things per row -- not versions of one thing
    (a building's properties per scenario: fan 2.1) but children (a census section's
    buildings: 16; a project's buses: 128) or places near or inside it? Two such steps in a
    row are a product: census sections near a project, times the project's buildings
    (blind review, issue 14: "DBSCAN over census polygons duplicated by the project x
    building cross product")."""
    if p.kind == "key":
        return p.fan > 3
    return multiplies(p, relation)


def _second_path(frame: Frame, k: int, p: JoinPath) -> bool:
    """A table may appear twice in one block as a spatial self-join (pairs of rows) or
    through a second key path from the same item (a line's source and destination bus)."""
    it = frame.items[k]
    if p.kind == "spatial":
        return p.right == it.table
    if p.kind != "key":
        return False
    return any(
        o.link is not None
        and o.link.to == k
        and o.table == p.right
        and o.link.path.kind == "key"
        and o.link.path.pairs != p.pairs
        for o in frame.items
    )


def _offers(t: TableInfo, p: JoinPath) -> bool:
    """A linked table must bring something to ask about besides the join key."""
    keys = {b for _, b in p.pairs}
    useful = [c for c in (*t.labels, *t.categories, *t.measures, *t.flags) if c not in keys]
    return bool(useful or t.geoms or t.rasters)


def _one_version(ctx: ExpansionContext, t: TableInfo, p: JoinPath, row: int) -> bool:
    """Can the linked table meet one version of its partner thing? Its version columns
    (``cimgen.expand.distinct``: a building's ``lod``) must be joined, be its scope (pinned
    with the query's project scenario), or take a literal the query may write
    (``Content.pin_versions``). Else a building met near a line, or by its ``building_id``
    from a table without levels of detail, comes once per level (blind review, issue 14:
    "joined without matching lod, so rows multiply across LOD combinations")."""
    joined = {b for _, b in p.pairs} if p.kind == "key" else set()
    if t.pk and set(t.pk) <= joined:
        return True
    s = ctx.world.table(t.qualified)
    for c in version_columns(ctx, t):
        if c in t.scope or c in joined or s is None or not s.has(c):
            continue
        if not ctx.literal_ok(t.qualified, c, s.value(row, c)):
            return False
    return True


def _scope_consistent(ctx: ExpansionContext, it: Item, p: JoinPath, row: int) -> bool:
    """Two scoped tables met spatially must be in the same project scenario."""
    if p.kind == "key":
        return True
    other = ctx.table(p.right)
    if not it.info.scope or not other.scope or len(it.info.scope) != len(other.scope):
        return True
    a, b = ctx.world.table(it.table), ctx.world.table(p.right)
    if a is None or b is None:
        return True
    return all(
        a.value(it.pivot, x) == b.value(row, y)
        for x, y in zip(it.info.scope, other.scope, strict=True)
        if a.has(x) and b.has(y)
    )


def extend(
    ctx: ExpansionContext,
    pv: Pivots,
    rng: random.Random,
    frame: Frame,
    needs: Needs,
    mode: str,
    fresh: bool,
    want_spatial_on: bool,
    alias: str,
    have: set[str],
    allowed: Callable[[TableInfo], bool] = lambda t: True,
) -> Item:
    """Add one item to ``frame`` (see the module docstring). A new table follows what the
    corpus combines (:mod:`.combine`): where it never reads any offered table beside the
    query's, a second way to a table already read (the table count relaxed) comes first."""
    options = _narrow(
        link_options(ctx, pv, rng, frame, needs, fresh, have, allowed),
        frame,
        needs,
        want_spatial_on,
    )
    counts = None
    if fresh and ctx.combos.multi:
        counts = [combine.link_count(ctx, frame.items[o.to].table, o.path, have) for o in options]
        unseen = ctx.combos.unseen(ctx.combos.multi)
        if combine.never_made(rng, counts, True, unseen):
            kinds = {o.path.kind for o in options}
            again = [
                o
                for o in link_options(ctx, pv, rng, frame, needs, False, have, allowed)
                if o.path.kind in kinds and not (needs.no_spatial_on and o.path.kind == "spatial")
            ]
            if not again:
                # another attempt (another subject or pivot) finds what the corpus combines
                raise BuildError("the corpus reads no table offered beside the query's")
            options, counts = again, None

    def weight(o: Option) -> float:
        t = ctx.table(o.path.right)
        w = 1.0
        if o.to == 0:
            w *= 2.0  # links from the subject read most naturally
        if o.path.kind == "key":
            w *= 1.5 if o.path.source == "schema" else 1.0
            if o.path.fan > 3:
                w *= 0.4  # a one-to-many link multiplies rows
        if o.relation in ("inside", "covers"):
            w *= 1.3
        if t.scope and t.pk and set(t.pk) <= set(t.scope):
            # the project scenario itself: it mostly shows a name (a query reading it is
            # about several scenarios; content.filters pins none)
            w *= 0.35
        return w

    weights = [
        weight(o) * (1.0 if counts and counts[i] > 0 else richness(ctx.table(o.path.right)))
        for i, o in enumerate(options)
    ]
    o = combine.choose(rng, options, weights, counts, ctx.combos.unseen(ctx.combos.multi))
    link = Link(o.path, o.to, o.relation, o.distance)
    if o.path.kind == "colocated":
        link.point = _shared_point(pv, o, frame.items[o.to], rng)
    item = Item(alias, ctx.table(o.path.right), o.row, link, mode)
    frame.items.append(item)
    return item


def _narrow(
    options: list[Option], frame: Frame, needs: Needs, want_spatial_on: bool
) -> list[Option]:
    """The options of the kind the query type asks for (raises when none is left)."""
    if needs.no_spatial_on:
        # a spatial link in an ON -- or in the WHERE of a comma / CROSS JOIN -- makes the
        # query a spatial join; these query types need another kind of link
        options = [o for o in options if o.path.kind != "spatial"]
        if not options:
            raise BuildError("no key link to add")
    if want_spatial_on:
        spatial = [o for o in options if o.path.kind == "spatial"]
        if spatial:
            options = spatial
    if needs.raster and not any(it.info.rasters for it in frame.items):
        raster = [o for o in options if o.path.kind in ("raster", "colocated")]
        if raster:
            options = raster
    # not a hop beyond a neighbour met by distance (the blind review of the fourteenth
    # pass: "buildings within 1500 m of (x, y), buses within 150 m of them, and the lines
    # to each bus" for one number -- the bundled corpus chains so in none of 10,000)
    options = [o for o in options if not _beyond_neighbour(frame, o)]
    if not options:
        raise BuildError("no link from the FROM items")
    return options


def _beyond_neighbour(frame: Frame, o: Option) -> bool:
    """Does the option link a table to an item that was itself met by a distance?"""
    link = frame.items[o.to].link
    return link is not None and link.path.kind == "spatial" and link.relation == "near"


def _shared_point(pv: Pivots, o: Option, other: Item, rng: random.Random) -> tuple[float, float]:
    """A place inside both tiles (their overlap), away from the edges."""
    a = pv.tile(o.path.left, o.path.left_column or "", other.pivot)
    b = pv.tile(o.path.right, o.path.right_column or "", o.row)
    assert a is not None and b is not None
    x0, x1 = max(a.xmin, b.xmin), min(a.xmax, b.xmax)
    y0, y1 = max(a.ymin, b.ymin), min(a.ymax, b.ymax)
    fx, fy = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    return (round(x0 + fx * (x1 - x0), 5), round(y0 + fy * (y1 - y0), 5))
