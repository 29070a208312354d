"""What a block asks and returns: filters, outputs, grouping, ordering, windows.

Rules that keep a block purposeful (the static rules of cimgen.check.static test them):

* every item contributes -- an output, a filter or a group key beyond its join condition;
* outputs are named by what they compute, in their unit;
* nothing is measured that means nothing (no area of a point, no length of a polygon);
* a grouped block groups by a category (never by a key unique per row), and its HAVING
  threshold lies below the pivot's own group, so that group passes;
* clusters are never asked for more than the rows there are.

The block's content is one class in parts by concern: filters here, outputs in
``outputs.py``, grouping and summaries in ``grouping.py``, ordering, windows and
clustering in ``ordering.py``, the shared state and small rules in ``content_base.py``.
"""

from __future__ import annotations

from cimgen.expand.block import Block
from cimgen.expand.combine import asked_of_joined, joined
from cimgen.expand.content_base import (
    _grouped,
    _neighbour,
    _scope_filtered,
    _scope_row,
    drop_restated,
)
from cimgen.expand.context import ExpansionContext, is_name
from cimgen.expand.distinct import version_columns
from cimgen.expand.filters import Pred, asked_count
from cimgen.expand.frame import Item
from cimgen.expand.grouping import Grouping
from cimgen.expand.ordering import Ordering


class Content(Grouping, Ordering):
    """A block's content: its filters here, outputs, grouping and ordering in the parts it
    inherits (outputs.py, grouping.py, ordering.py)."""

    # ------------------------------------------------------------------ filters

    def attribute_filter(self, block: Block, item: Item) -> Pred | None:
        info = item.info
        done = block.filtered()
        kinds: list[tuple[str, str]] = []
        kinds += [("category", c) for c in info.categories]
        kinds += [("measure", c) for c in info.measures]
        kinds += [("flag", c) for c in info.flags]
        if not any(p.kind == "like" for p in block.preds):  # one pattern per question
            kinds += [
                ("like", c) for c in info.labels if is_name(c) and info.kinds.get(c) == "text"
            ]
        kinds = [k for k in kinds if f"{item.alias}.{k[1]}" not in done]
        self.rng.shuffle(kinds)
        if joined(block.frame.items, item):  # what the corpus asks of it beside a subject
            order = asked_of_joined(self.ctx, self.rng, item.table, [c for _, c in kinds], "filter")
            kinds = [k for col in order for k in kinds if k[1] == col]
        for kind, col in kinds[:6]:
            p = getattr(self.flt, kind)(item, col)
            if p is not None:
                return p
        return None

    def spatial_filter(self, block: Block, item: Item, prefer: str | None = None) -> Pred | None:
        gs = [g for g in self.geoms(item) if f"{item.alias}.{g.name}" not in block.filtered()]
        if not gs:
            rs = [r for r in item.info.rasters if f"{item.alias}.{r.name}" not in block.filtered()]
            if rs and (item.link is None or item.link.path.kind not in ("raster", "colocated")):
                return self.flt.raster_at(item, rs[0])
            return None
        g = self.rng.choice(gs)
        dim = self.dim(item, g)
        # a project scenario is found by the place it contains, not by a point or box
        # drawn around its own centre
        scope_row = bool(item.info.scope) and set(item.info.scope) == set(item.info.pk)
        makers = [] if scope_row else ["near_point", "in_box"]
        if dim == 2:
            makers += ["contains_point"]
        if dim >= 1 and prefer == "measurements":
            makers = ["size_over"]
        self.rng.shuffle(makers)
        for m in makers:
            p = getattr(self.flt, m)(item, g)
            if p is not None:
                return p
        return None

    def filters(
        self,
        block: Block,
        n: int,
        spatial: int,
        scope_p: float = 0.55,
        aggregated: bool = False,
        asked: int = 2,
        clustered: bool = False,
    ) -> None:
        """About ``n`` predicate leaves on the block's items, ``spatial`` of them spatial,
        the scope first (most questions are about one project scenario; its columns count
        one leaf each); at most ``asked`` of them conditions on attributes or places, on
        the subject or an item linked to it (one theme: ``build.ASKED_CONDITIONS``)."""
        subject = block.subject
        scoped = [
            it
            for it in block.frame.items
            if it.info.scope
            and it.mode != "left"
            and not _grouped(it)
            and not _scope_filtered(block, it)
            # the scope table itself, pinned to one scenario, is one row: not for aggregates
            and not (aggregated and set(it.info.pk) <= set(it.info.scope))
        ]
        chance = self.rng.random() < scope_p and n > 0
        rows = [it for it in block.frame.items if _scope_row(it) and it.mode != "left"]
        if rows:
            # the project scenario read beside its rows: the query is about several of
            # them (pinned to one, its name would be the same on every row: constant.py)
            scoped = []
            boundary = rows[0].link is not None and rows[0].link.path.kind == "spatial"
            # the project scenario as the subject, its boundary meeting the rows an
            # aggregate reads: summed or averaged over every scenario of the area, each
            # thing counted once per scenario (the merged fifteenth pass)
            k = block.frame.items.index(rows[0])
            summed = (
                aggregated
                and rows[0] is subject
                and any(
                    it.link is not None and it.link.to == k and it.link.path.kind == "spatial"
                    for it in block.frame.items
                )
            )
            if (
                ((clustered or boundary) and rows[0] is not subject) or summed
            ) and not _scope_filtered(block, rows[0]):
                # ... but a clustering of the things inside each scenario's boundary
                # clusters each thing once per scenario, and a listing or a count of them
                # meets each thing once per scenario of its area (the blind review of the
                # fourteenth pass: "a building listed per scenario inside a census
                # boundary"): one scenario
                for p in self.flt.scope(rows[0]):
                    block.add_pred(p)
                    n -= 1
        if scoped and (chance or self._scope_needed(block, aggregated)):
            # rows of several project scenarios look like duplicates: most questions pick one
            for p in self.flt.scope(scoped[0]):
                block.add_pred(p)
                n -= 1
        n -= self.pin_versions(block)
        n = min(n, asked - asked_count(block.preds))
        for _ in range(spatial):
            if n <= 0:
                break
            items = [
                it
                for it in block.frame.items
                if (self.geoms(it) or it.info.rasters)
                and it.mode != "left"
                and not _neighbour(block, it)
            ]
            if not items:
                break
            it = items[0] if self.rng.random() < 0.6 else self.rng.choice(items)
            if self.add_spatial(block, self.spatial_filter(block, it), self.ctx):
                n -= 1
        tries = 0
        rasters = sum(1 for it in block.frame.items if it.info.rasters)
        while n > 0 and tries < 8:
            tries += 1
            # the question's theme: the subject, or an item linked to it (not a table met
            # through another: "lines whose bus's census zone has ..."; not a raster read
            # for its value at the subject's place: a tile's statistics are storage, not
            # the subject's -- "buildings with the DTM tile under their centroid, with
            # minimum ground elevation over 113 m", issue 14, thirteenth pass (b))
            candidates = [
                it
                for it in block.frame.items
                if it.mode != "left"
                and not _grouped(it)
                and not _neighbour(block, it)
                and (it is subject or (it.link is not None and it.link.to == 0))
                and (it is subject or not it.info.rasters or subject.info.rasters)
                # nor a tile's stored statistics beside a value read from another raster
                # ("DTM tiles above 120 m beside the DSM value at a point", the lead's read
                # of the fourteenth pass): the values are the answer, the tiles storage
                and not (it.info.rasters and rasters > 1)
            ]
            if not candidates:
                break
            others = [it for it in candidates if it is not subject]
            if subject in candidates and (not others or self.rng.random() < 0.65):
                it = subject
            else:
                it = self.rng.choice(others)
            if block.add_pred(self.attribute_filter(block, it), self.ctx):
                n -= 1

    def add_spatial(
        self, block: Block, p: Pred | None, ctx: ExpansionContext | None = None
    ) -> bool:
        """Add a spatial condition to the block; one naming the query's place marks it
        asked, so no other condition names it again (:class:`Filters`)."""
        if p is None or not block.add_pred(p, ctx):
            return False
        self.flt.place_asked |= p.place
        return True

    def _scope_needed(self, block: Block, aggregated: bool) -> bool:
        """A table that holds one row per project scenario (building properties, grid
        lines), joined to the subject -- or counted -- over every scenario repeats each
        thing once per scenario (review: "the properties join has no scenario filter, so
        buildings repeat"; "counts property records over all scenarios, not buildings")."""
        for it in block.frame.items:
            if it.mode == "left" or it.ref is not None or not it.info.scope:
                continue  # a CTE's rows were scoped where it was built
            # a listing of the subject's scenario copies shows one thing once per project
            # scenario (the lead's read of the twelfth pass: "one building's scenario
            # copies fill the listing"); its levels of detail, not its scope, are shown
            # instead (distinct.py)
            if set(version_columns(self.ctx, it.info)) & set(it.info.scope):
                return True
        return False

    def pin_versions(self, block: Block) -> int:
        """Each item held at several versions of one thing (a building per level of detail:
        its version columns beside its label, scope aside) is pinned to one version, the
        pivot's (``b.lod = 1``), in one step for the subject and the tables joined to it:

        * the subject, listed, counted or clustered over every level, came once per level
          (the blind review of the thirteenth pass: "per-LOD footprints clustered twice";
          the lead: "LOD rows counted twice");
        * a joined table met by something else than its key meets each row of the subject
          once per version (review: "the building join ignores lod, so rows may repeat");
          one joined by its whole key, or on that column, is one row already.

        The level is written where the literals may name it or the schema documents it
        (:meth:`Filters.level`). A CTE's rows were pinned where it was built. Returns the
        subject's pins: they count as predicate leaves, like the scope's; a partner's pin
        says what its link means."""
        made = 0
        for it in block.frame.items:
            if it.ref is not None or it.mode == "left":
                continue
            subject = it is block.subject
            joined = _joined_columns(it)
            if not subject and it.info.pk and set(it.info.pk) <= joined:
                continue  # one row by its key
            for c in version_columns(self.ctx, it.info):
                if c in it.info.scope or c in joined or f"{it.alias}.{c}" in block.filtered():
                    continue  # the scope is pinned apart, or the join equates the column
                added = block.add_pred(self.flt.level(it, c))
                made += added if subject else 0
        return made

    def scenarios_open(self, block: Block) -> bool:
        """Does a table joined in the block hold one row per project scenario of each thing
        (its versions are its scope: a building's properties, a bus) with nothing tying it
        to one -- no scope pin, no key to rows that carry a scope? A block that sets no
        filters of its own (a cluster summary's reader) would either meet every scenario's
        copy or narrow the rows the clusters were made of to one project (then one
        cluster shows: 7 of 1,000 CTGAN s1 rows once such readers were pinned; issue 14,
        fifteenth pass (c))."""
        for it in block.frame.items[1:]:
            link = it.link
            if link is None or it.ref is not None or it.mode == "left":
                continue
            versions = set(version_columns(self.ctx, it.info))
            if not versions & set(it.info.scope) or set(it.info.scope) & _joined_columns(it):
                continue
            if link.path.kind == "key" and block.frame.items[link.to].info.scope:
                continue  # by key to scoped rows: their scope is tied to it (tie_scopes)
            if not _scope_filtered(block, it):
                return True
        return False


def _joined_columns(it: Item) -> set[str]:
    """``it``'s columns its key link equates (none for a spatial link)."""
    link = it.link
    return {b for _, b in link.path.pairs} if link and link.path.kind == "key" else set()


__all__ = ["Content", "drop_restated"]
