"""What every part of a block's content shares: the base class holding the expansion's
state, and the small rules several parts apply (is an item pinned, a parent, grouped;
one form per quantity: :func:`drop_restated`)."""

from __future__ import annotations

import random
import re
from typing import Any

from cimgen import ast
from cimgen.expand.block import Block, Out
from cimgen.expand.context import ExpansionContext, GeomCol
from cimgen.expand.filters import Filters
from cimgen.expand.frame import Item, Pivots, value
from cimgen.expand.spatial import Spatial

LIMITS = (5, 10, 10, 10, 20, 25, 50, 100)
MAX_OUTPUTS = 5  # what a question can still name briefly
# ST_Clip rasterizes its geometry on the tile's cells once per row: only over few rows
CLIP_ROWS = 300
# the ranking window functions, RANK twice as likely
_RANKS = ("RANK", "RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE")


def spatial_calls(expr: Any, ctx: ExpansionContext) -> int:
    return sum(
        1
        for n in ast.walk(expr)
        if isinstance(n, ast.FuncCall) and ctx.catalogue.is_spatial(n.name)
    )


class ContentBase:
    """The state every part of a block's content reads (the expansion context, the
    random source, the spatial call writer, the pivots, the filters) and the geometry helpers."""

    def __init__(
        self, ctx: ExpansionContext, rng: random.Random, sp: Spatial, pv: Pivots, flt: Filters
    ) -> None:
        self.ctx, self.rng, self.sp, self.pv, self.flt = ctx, rng, sp, pv, flt

    # ------------------------------------------------------------------ helpers

    def dim(self, item: Item, g: GeomCol) -> int:
        if g.dim is not None:
            return g.dim
        geo = self.pv.geo(item.table, g.name, item.pivot)
        return geo.dim if geo is not None else 2

    def geoms(self, item: Item) -> list[GeomCol]:
        if item.ref is not None and item.ref.grouped:
            return []
        return [g for g in item.info.geoms if self.pv.geo(item.table, g.name, item.pivot)]


def _scope_row(item: Item) -> bool:
    """Is the item the scope table itself (a project scenario: its key is its scope)?"""
    info = item.info
    return (
        item.ref is None and bool(info.pk) and bool(info.scope) and set(info.pk) <= set(info.scope)
    )


def _typical(sizes: dict[Any, int]) -> float:
    """The median group size."""
    values = sorted(sizes.values())
    return float(values[len(values) // 2])


def _neighbour(block: Block, item: Item) -> bool:
    """Is the item the other side of a spatial self-join (the neighbour of a listed row)?
    A question about pairs of neighbours narrows the rows it lists, not their neighbours
    (blind review, issue 14: "the filters go on the neighbour rather than the listed zone")."""
    link = item.link
    if link is None or link.path.kind != "spatial":
        return False
    return block.frame.items[link.to].table == item.table


def _pinned(block: Block, item: Item) -> bool:
    """Does the item stand for one row under the block's filters (its key filtered by
    equality, or the scope table of a block filtered to one scope)?"""
    eq = {p.column for p in block.preds if p.item is item and p.kind in ("scope", "label")}
    if item.info.pk and set(item.info.pk) <= eq:
        return True
    scoped = any(p.kind == "scope" for p in block.preds)
    return scoped and bool(item.info.pk) and set(item.info.pk) <= set(item.info.scope)


def _many_to_one(item: Item) -> bool:
    """Is each row of the item's partner met by at most ~one row of it (its parent)?"""
    link = item.link
    if link is None:
        return True
    if link.path.kind == "key":
        return link.path.fan <= 1.5
    return link.relation in ("inside", "raster")


_ADDITIVE = re.compile(
    r"(population|people|famil|number|count|^n_|units|area|volume|length|total|sum|households)"
)


def pair_summary(block: Block) -> bool:
    """Are the block's rows pairs: a joined table met several per row by a spatial link
    (each census section once per neighbour within 300 m)? Then a SUM or AVG of a row's
    own value counts it once per partner (``multiply.refuse_multiplied`` refuses it), and
    what the pairs have to summarise is the link's own measure -- the distance between
    them."""
    return any(
        it.link is not None
        and it.link.path.kind == "spatial"
        and it.mode != "left"
        and not _many_to_one(it)
        and not _pinned(block, it)
        for it in block.frame.items[1:]
    )


def additive(item: Item, col: str) -> bool:
    """Does summing the column mean something (people, areas, counts -- not heights,
    elevations, ratios or years)?"""
    text = col.lower()
    return bool(_ADDITIVE.search(text)) and not re.search(
        r"(ratio|percent|score|year|avg|mean)", text
    )


def count_noun(block: Block) -> str:
    """What COUNT(*) counts: the subject's rows, or the rows of the item a one-to-many
    chain from the subject reaches (a census section's buildings)."""
    return counted(block).info.noun


def counted(block: Block) -> Item:
    """The item whose rows COUNT(*) counts (:func:`count_noun`)."""
    from cimgen.expand.core import multiplies

    item = block.subject
    for it in block.frame.items[1:]:
        link = it.link
        if link is not None and multiplies(link.path, link.relation):
            item = it
    return item


def _scope_filtered(block: Block, item: Item) -> bool:
    return any(p.item is item and p.kind == "scope" for p in block.preds)


def climbed(block: Block, item: Item) -> bool:
    """Is the item a parent of the subject's rows (reached through a many-to-one link)?"""
    from cimgen.expand.core import is_parent

    if item is block.subject or item not in block.frame.items:
        return False
    return is_parent(block.frame, block.frame.items.index(item))


def drop_restated(block: Block) -> None:
    """One form per quantity: a computed length or area makes the item's stored one
    (``length_km``, ``shape_area``) a restatement, and so does a second form of either
    (``length_m`` beside ``length_km``, ``AVG(length_km)`` beside ``AVG(ST_Length(...))``;
    blind review, issue 14). Keeps the computed form, else the first."""
    groups: dict[tuple[str | None, str], list[Out]] = {}
    for o in block.outs:
        q = _quantity(o)
        if q is not None:
            groups.setdefault((o.item.alias if o.item else None, q.split(" ")[-1]), []).append(o)
    drop: list[Out] = []
    for outs in groups.values():
        if any(_computed(o) for o in outs):
            drop += [o for o in outs if not _computed(o)]
            continue
        seen: set[str] = set()  # stored forms only: one per statistic
        for o in outs:
            stat = (_quantity(o) or "").split(" ")[0]
            if stat in seen:
                drop.append(o)
            seen.add(stat)
    block.outs[:] = [o for o in block.outs if not any(o is d for d in drop)]


_QUANTITY = re.compile(r"^(?:shape_)?(length|area|perimeter)(?:_(?:km2|km|m2|m|sqm))?$")
_SIZE_CALLS = {"ST_Length": "length", "ST_Area": "area", "ST_Perimeter": "perimeter"}
_STATS = frozenset({"AVG", "SUM", "MIN", "MAX"})


def _quantity(o: Out) -> str | None:
    """The geometric quantity (length, area, perimeter) an output states: computed by a
    size function, or read from a stored column of that name (``gl.length_km``, also in a
    statistic: ``AVG(gl.length_km)``); None for anything else (``gross_floor_area`` is
    not the footprint's area)."""
    if o.kind not in ("attr", "measure", "agg") or o.item is None:
        return None
    stat = ""  # two statistics of one quantity (its total and its average) are two things
    e = o.expr
    if isinstance(e, ast.FuncCall) and not e.over and e.name.upper() in _STATS:
        stat = e.name.upper() + " "
    sizes = {
        _SIZE_CALLS[n.name]
        for n in ast.walk(o.expr)
        if isinstance(n, ast.FuncCall) and n.name in _SIZE_CALLS
    }
    if len(sizes) == 1:
        return stat + sizes.pop()
    e = o.expr
    if isinstance(e, ast.FuncCall) and not e.over and len(e.args) == 1:
        e = e.args[0]  # a statistic of the quantity
    m = _QUANTITY.match(e.name) if isinstance(e, ast.Column) else None
    return stat + m.group(1) if m else None


def _computed(o: Out) -> bool:
    return any(isinstance(n, ast.FuncCall) and n.name in _SIZE_CALLS for n in ast.walk(o.expr))


def _tiles_at_one_place(block: Block) -> bool:
    """Is the block raster tiles only, met at one point (a colocated pair): one row?"""
    items = block.frame.items
    return all(it.info.rasters and it.ref is None for it in items) and any(
        it.link is not None and it.link.path.kind == "colocated" for it in items
    )


def _coordinate(o: Out) -> bool:
    """A longitude / latitude output (``ST_X`` / ``ST_Y``): a place, not a quantity one
    sorts by (blind review, issue 14: "sorting by the bus's longitude is an odd request")."""
    return isinstance(o.expr, ast.FuncCall) and o.expr.name in ("ST_X", "ST_Y")


def _ranked_by(block: Block) -> list[ast.Expr]:
    """What an overall ranking window of the block orders by: ordering the query by it
    again makes the rank a copy of the row's position ("the ROW_NUMBER just repeats the
    distance ordering")."""
    out = []
    for o in block.outs:
        e = o.expr
        if isinstance(e, ast.FuncCall) and e.over is not None and not e.over.partition_by:
            out += [x.expr for x in e.over.order_by]
    return out


# a raster coverage's tiles share their size and resolution: nothing to order by
_UNIFORM_OUTS = frozenset({"pixel_size", "width_px", "height_px"})


def _geom_word(item: Item, g: GeomCol) -> str | None:
    """What tells two geometries of one table apart in output names (``census_boundary``)
    -- None for a table's only geometry."""
    if len(item.info.geoms) < 2:
        return None
    word = g.name.replace("geometry", "").replace("geom", "").strip("_")
    return word or None


def _join_keys(ctx: ExpansionContext, block: Block, item: Item) -> set[str]:
    """Columns of a key-linked item that repeat what the other side already says: the
    join columns and business keys of the same name and value (``bp.building_id`` =
    ``b.building_id``; not a bus's ``name`` beside its line's ``name``)."""
    link = item.link
    if link is None or link.path.kind != "key":
        return set()
    other = block.frame.items[link.to]
    same = set()
    if other.table != item.table:  # bp.building_id repeats b.building_id
        same = {
            c
            for c in item.info.labels
            if c in other.info.kinds and value(ctx, item, c) == value(ctx, other, c)
        }
    return {b for _, b in link.path.pairs} | same


def _count() -> ast.FuncCall:
    return ast.FuncCall("COUNT", star=True)


def _agg_word(fn: str) -> str:
    return {"AVG": "avg", "SUM": "total", "MAX": "max", "MIN": "min"}[fn]


def _grouped(it: Item) -> bool:
    return it.ref is not None and it.ref.grouped


def _order_ref(o: Out) -> ast.Expr:
    if o.name:
        return ast.Column(o.name)
    return o.expr


def _is_measure(expr: ast.Expr, ctx: ExpansionContext) -> bool:
    for n in ast.walk(expr):
        if isinstance(n, ast.FuncCall):
            f = ctx.catalogue.get(n.name)
            if f is not None and f.category == "measurements":
                return True
    return False


def _same(a: Out, b: Out) -> bool:
    return a.expr == b.expr
