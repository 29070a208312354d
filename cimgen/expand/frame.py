"""FROM clauses with a reason: a subject table, a pivot row of it, and links to other tables
that the pivot really meets in the data.

A block's FROM is built outwards from its *subject* (the entity the question is about)
and one *pivot* row of it (SQLancer's pivoted query synthesis: every predicate the block
gets holds for the pivot, so the result is not empty). Each further item is linked to an
earlier one through a path of the context's join graph, and gets the *partner* of the
earlier item's pivot -- a row it meets through that path (an equal key, containment or
nearness recorded in the world, the raster tile covering the geometry). Links are chosen
for what the other table adds (labels, attributes, a geometry to measure against); the
block later makes sure every item contributes to the answer.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cimgen import ast
from cimgen.errors import QueryError
from cimgen.expand.context import ExpansionContext, JoinPath, TableInfo
from cimgen.world.model import Geo, Near, TableSample, Tile

NEAR_MAX_M = 600.0  # "near" links and filters beyond this are not what people ask
SMALL_POLYGON_M2 = 10_000.0  # a polygon below a hectare (a building) is hit by chance


class BuildError(QueryError):
    """This attempt cannot be built (the caller retries or relaxes). Internal to expand."""


@dataclass
class Link:
    path: JoinPath
    to: int  # index of the earlier item this one joins
    relation: str  # key | inside | covers | intersects | near | raster | colocated
    distance: float | None = None  # ST_DWithin distance (relation "near")
    point: tuple[float, float] | None = None  # the place two rasters are read at


@dataclass
class Item:
    """One FROM item. ``pivot`` indexes the world sample of ``info``'s table: the row the
    block's predicates hold for (for a CTE reference: the CTE's anchor row)."""

    alias: str
    info: TableInfo
    pivot: int
    link: Link | None = None
    mode: str = "first"  # first | on | left | cross | comma
    ref: Any = None  # a cimgen.expand.forms.Export when the item reads a CTE / derived table
    used: bool = False
    required: list[Any] = field(default_factory=list)  # predicates the link needs (Pred)
    meaning: str | None = None  # what a raster's cells are, when a category says (DTM)

    @property
    def table(self) -> str:
        return self.info.qualified


@dataclass
class Frame:
    """The FROM items of one block, in order."""

    items: list[Item] = field(default_factory=list)

    def tables(self) -> set[str]:
        return {it.table for it in self.items if it.ref is None}


class Pivots:
    """Pivot rows and their partners, read from the world sample."""

    def __init__(self, ctx: ExpansionContext, rng: random.Random) -> None:
        self.ctx, self.rng = ctx, rng

    def sample(self, table: str) -> TableSample:
        s = self.ctx.world.table(table)
        if s is None or not len(s):
            raise BuildError(f"no rows of {table} in the data")
        return s

    def choose(self, info: TableInfo, need_spatial: bool = False) -> int:
        s = self.sample(info.qualified)
        pool = self.pool(info, s, need_spatial)
        for _ in range(8):
            i = self.rng.choice(pool)
            if all(s.value(i, c) is not None for c in info.labels[:1]):
                return i
        return self.rng.choice(pool)

    def pool(self, info: TableInfo, s: TableSample, need_spatial: bool) -> Sequence[int]:
        """The rows a pivot may be: with a planting, those in the user's project scenarios
        (not the fixture's own) and inside the corpus's region (where the user's data is
        known to lie, :func:`cimgen.world.pools.corpus_region`). The same for every
        structure, so computed once per context and table (it scans the whole sample)."""
        key = ("pivot_pool", info.qualified, need_spatial and bool(s.pivots))
        memo = self.ctx.memo
        if key not in memo:
            pool: Sequence[int] = s.pivots if need_spatial and s.pivots else range(len(s))
            planted = [c for c in info.scope if (info.qualified, c) in self.ctx.planted]
            if planted:
                mine = [i for i in pool if self.planted_row(info.qualified, i, planted)]
                pool = mine or pool
            if not self.ctx.trusted and self.ctx.pools.region is not None:
                inside = [i for i in pool if self.in_region(s, i)]
                pool = inside or pool
            memo[key] = pool
        pool_: Sequence[int] = memo[key]
        return pool_

    def in_region(self, s: TableSample, i: int) -> bool:
        """Whether every geometry and raster tile of row ``i`` lies in the corpus's region
        (a row without either does)."""
        pools = self.ctx.pools
        for geos in s.geo.values():
            g = geos[i] if i < len(geos) else None
            if g is not None and not pools.in_region(g.x, g.y):
                return False
        for tiles in s.tiles.values():
            t = tiles[i] if i < len(tiles) else None
            if t is not None and not pools.in_region((t.xmin + t.xmax) / 2, (t.ymin + t.ymax) / 2):
                return False
        return True

    def planted_row(self, table: str, i: int, columns: Sequence[str]) -> bool:
        s = self.sample(table)
        return all(self.ctx.literal_ok(table, c, s.value(i, c)) for c in columns if s.has(c))

    def geo(self, table: str, column: str, i: int) -> Geo | None:
        col = self.sample(table).geo.get(column)
        return col[i] if col else None

    def tile(self, table: str, column: str, i: int) -> Tile | None:
        col = self.sample(table).tiles.get(column)
        return col[i] if col else None

    def key_partners(self, path: JoinPath, i: int) -> list[int]:
        left, right = self.sample(path.left), self.sample(path.right)
        lcols = tuple(a for a, _ in path.pairs)
        rcols = tuple(b for _, b in path.pairs)
        if not all(left.has(c) for c in lcols) or not all(right.has(c) for c in rcols):
            return []
        key = tuple(left.value(i, c) for c in lcols)
        if any(v is None for v in key):
            return []
        return right.lookup(rcols, key)

    def near(self, path: JoinPath, i: int) -> tuple[Near, ...]:
        s = self.sample(path.left)
        table = s.near.get((path.left_column or "", path.right, path.right_column or ""), {})
        return table.get(i, ())

    def tile_point(self, table: str, column: str, i: int) -> tuple[float, float] | None:
        """A place inside tile ``i`` (away from its edges), lon/lat."""
        t = self.tile(table, column, i)
        if t is None:
            return None
        fx, fy = self.rng.uniform(0.25, 0.75), self.rng.uniform(0.25, 0.75)
        return (
            round(t.xmin + fx * (t.xmax - t.xmin), 5),
            round(t.ymin + fy * (t.ymax - t.ymin), 5),
        )

    def colocated(self, path: JoinPath, i: int) -> int | None:
        t = self.tile(path.left, path.left_column or "", i)
        if t is None:
            return None
        x, y = (t.xmin + t.xmax) / 2, (t.ymin + t.ymax) / 2
        tiles = self.sample(path.right).tiles.get(path.right_column or "", [])
        rows = [k for k, u in enumerate(tiles) if u is not None and u.covers(x, y)]
        # two rasters at one place are two kinds (a DSM dataset beside the DTM tiles, not
        # the DTM dataset: the same ground twice, cimgen.expand.once.rasters_read_twice);
        # none of another kind there: no partner through this path
        other = [k for k in rows if not self.same_kind(path.left, i, path.right, k)]
        return other[0] if other else None

    def kind(self, table: str, i: int) -> str | None:
        """The kind row ``i`` of a raster table holds: its first category's value
        (``raster_type = 'DTM'``), lower case; None for a table of one kind."""
        info = self.ctx.table(table)
        s = self.sample(table)
        if not info.categories or not s.has(info.categories[0]):
            return None
        v = s.value(i, info.categories[0])
        return str(v).lower() if v is not None else None

    def same_kind(self, a: str, i: int, b: str, k: int) -> bool:
        """Do row ``i`` of ``a`` and row ``k`` of ``b`` hold one kind: one's kind is a word of
        the other's table name (``dtm`` of ``dtm_raster``), or both have the same kind?"""
        ka, kb = self.kind(a, i), self.kind(b, k)
        words_a = set(self.ctx.table(a).name.lower().split("_"))
        words_b = set(self.ctx.table(b).name.lower().split("_"))
        return (ka is not None and (ka in words_b or ka == kb)) or (
            kb is not None and kb in words_a
        )

    def raster_partners(self, path: JoinPath, i: int) -> list[int]:
        g = self.geo(path.left, path.left_column or "", i)
        if g is None:
            return []
        tiles = self.sample(path.right).tiles.get(path.right_column or "", [])
        return [k for k, t in enumerate(tiles) if t is not None and t.covers(g.x, g.y)]


def spatial_relation(
    pv: Pivots, path: JoinPath, pivot: int, rng: random.Random, want: str | None = None
) -> tuple[str, int, float] | None:
    """A relation the pivot really has with a row of the other table, as (relation,
    partner row, distance): ``inside`` (pivot geometry within the other), ``covers``,
    ``intersects`` -- preferred when they hold -- or else ``near`` (within the distance)."""
    met = pv.near(path, pivot)
    if not met:
        return None
    touching: list[tuple[str, Near]] = []
    for n in met:
        if not pv.ctx.trusted and _accidental(pv, path, pivot, n):
            continue  # no relation the user's data is known to have
        if n.inside:
            touching.append(("inside", n))
        elif n.covers:
            touching.append(("covers", n))
        elif n.intersects:
            touching.append(("intersects", n))
    nearest = [("near", n) for n in met if not n.intersects and n.distance <= NEAR_MAX_M][:3]
    if path.left == path.right:  # a table with itself: neighbours, never containment
        want = "near"
    if want == "near":
        options = nearest
    elif want:
        options = [o for o in touching if o[0] == want]
    else:
        options = touching or nearest
    if not options:
        return None
    weights = [3.0 if rel in ("inside", "covers") else 1.0 for rel, _ in options]
    rel, n = rng.choices(options, weights)[0]
    return rel, n.row, n.distance


def _accidental(pv: Pivots, path: JoinPath, pivot: int, n: Near) -> bool:
    """Does a point or line meet a small polygon (a building) only by the fixture's
    chance? A project's centre inside a building, a grid line across one: where the
    fixture stands in for the user's data, such a touch says nothing of it (the user's
    lines run along streets). Not turned into nearness: a line "within 250 m" of
    buildings meets dozens, and over ``::geography`` (no index) such joins ran past the
    statement timeout on the foreign world."""
    if not n.intersects:
        return False
    a = pv.geo(path.left, path.left_column or "", pivot)
    b = pv.geo(path.right, path.right_column or "", n.row)
    if a is None or b is None:
        return False
    for small, other in ((a, b), (b, a)):
        if small.dim < 2 and other.dim == 2 and other.size < SMALL_POLYGON_M2:
            return True
    return False


def partner(
    pv: Pivots, path: JoinPath, pivot: int, rng: random.Random
) -> tuple[int, str, float | None] | None:
    """(partner row, relation, distance) of ``pivot`` through ``path``, or None."""
    if path.kind == "key":
        rows = pv.key_partners(path, pivot)
        return (rng.choice(rows), "key", None) if rows else None
    if path.kind == "raster":
        rows = pv.raster_partners(path, pivot)
        return (rng.choice(rows), "raster", None) if rows else None
    if path.kind == "colocated":
        tile = pv.colocated(path, pivot)
        return (tile, "colocated", None) if tile is not None else None
    found = spatial_relation(pv, path, pivot, rng)
    if found is None:
        return None
    rel, row, dist = found
    return row, rel, dist


def column(item: Item, name: str) -> ast.Column:
    """A reference to ``name`` of ``item`` (a CTE reference records that it needs it)."""
    if item.ref is not None:
        item.ref.need(name)
    return ast.Column(name, item.alias)


def thing_key(info: TableInfo) -> str | None:
    """The column that tells two rows of ``info`` apart as two things: its business id (an
    ``..._id`` label such as ``building_id``: a building's levels of detail are rows of one
    building, and its footprint at LOD 2 is no neighbour of itself at LOD 1 -- the blind
    review of the thirteenth pass: "other buildings" counted the building itself), else its
    primary key, else its first label."""
    if info.pk[:1] and info.pk[0] in info.scope:
        return info.pk[0]  # the key is the scope (a project scenario): see pair_terms
    business = [
        c
        for c in info.labels
        if c in info.ids and c not in info.scope and c.lower().endswith("_id")
    ]
    key = business[:1] or list(info.pk[:1]) or list(info.labels[:1])
    return key[0] if key else None


def pair_terms(a: Item, b: Item) -> list[ast.Expr]:
    """What ties two rows of a spatial pair besides the spatial test: within one table a row
    is not its own neighbour (``a.key <> b.key``), and rows of two scoped tables belong to
    the same project scenario (``a.project_id = b.project_id ...``). A table whose key *is*
    the scope (the project scenario: one row per project and scenario) has no neighbour in
    its own scenario, so its pair is another project: the distinctness is kept and the scope
    equality left out (both together could never be true)."""
    terms: list[ast.Expr] = []
    scope_a, scope_b = a.info.scope, b.info.scope
    same_scope = bool(scope_a and scope_b and len(scope_a) == len(scope_b))
    if a.table == b.table:
        key = thing_key(a.info)
        if key:
            terms.append(ast.BinaryOp("<>", column(a, key), column(b, key)))
            same_scope = same_scope and key not in scope_a
    if same_scope:
        terms += [
            ast.BinaryOp("=", column(a, x), column(b, y))
            for x, y in zip(scope_a, scope_b, strict=True)
        ]
    return terms


def value(ctx: ExpansionContext, item: Item, name: str) -> Any:
    """The pivot's value of ``name`` (None when the world does not hold it)."""
    s = ctx.world.table(item.table)
    if s is None or not s.has(name):
        return None
    return s.value(item.pivot, name)
