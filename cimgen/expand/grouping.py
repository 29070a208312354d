"""Grouping and summaries of a block: group keys with a purpose, counts and statistics,
HAVING below the pivot's own group, one summary row."""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

from cimgen import ast
from cimgen.expand import combine
from cimgen.expand.block import Block, Out
from cimgen.expand.content_base import (
    _agg_word,
    _count,
    _grouped,
    _many_to_one,
    _pinned,
    _typical,
    additive,
    climbed,
    count_noun,
    counted,
    pair_summary,
    spatial_calls,
)
from cimgen.expand.frame import BuildError, Item, column, value
from cimgen.expand.names import count_name
from cimgen.expand.outputs import Outputs
from cimgen.expand.values import literal, nice_below, threshold


def cut_count(sizes: list[float], got: float) -> int | None:
    """A threshold ``k`` for ``HAVING COUNT(*) >= k`` built like a pivoted predicate: true
    for the pivot's group (``got`` rows) and false for a smaller one, so it filters
    something (the blind review of the twelfth pass: "a HAVING >= 3 over groups that all
    pass"). ``sizes`` are the groups' estimated rows; ``k`` sits in the widest gap (by
    ratio) between a group smaller than the pivot's and the next larger one, at a round
    number below the gap's geometric middle -- where the estimate is off by a common
    factor (a join's fan, filters on joined tables), the middle of the widest gap is the
    threshold that still cuts, and still keeps the larger group, for the widest range of
    factors. None where no group is smaller than the pivot's, or no whole number of at
    least 2 fits.

    >>> cut_count([4.0, 5.0, 40.0, 60.0], 60.0)
    10
    >>> cut_count([12.0, 12.0], 12.0) is None
    True
    """
    values = sorted({*sizes, got})
    gaps = [(hi / lo, lo, hi) for lo, hi in pairwise(values) if lo < got and hi <= got and lo > 0]
    if not gaps:
        return None
    _, lo, hi = max(gaps)
    k = int(nice_below(math.sqrt(lo * hi), integer=True))
    if k <= lo:
        k = math.floor(lo) + 1
    return k if 2 <= k <= got else None


def _aggregate(fn: str, it: Item, col: str) -> Out:
    """``fn(it.col)`` as a numeric aggregate output named ``<word>_<col>`` (``avg_height``)."""
    return Out(
        ast.FuncCall(fn, (column(it, col),)), f"{_agg_word(fn)}_{col}", "agg", it, numeric=True
    )


class Grouping(Outputs):
    # the sampled label the builder honours ("" when none): a table whose link makes it
    # (the one spatial join of a SPATIAL_JOIN, the second join of a MULTI_JOIN) stays
    label = ""

    # ------------------------------------------------------------------ grouped outputs

    def group_keys(self, block: Block) -> list[tuple[Item, str]]:
        keys = []
        for it in block.frame.items:
            if _grouped(it) or it.mode == "left":
                continue
            if it is not block.subject and not _many_to_one(it):
                continue  # grouping the subject by what it meets many of counts pairs
            if _pinned(block, it):
                continue  # one row given the filters: one group
            for c in it.info.categories:
                if f"{it.alias}.{c}" in block.filtered():
                    continue  # grouping by a column filtered to one value: one group
                keys.append((it, c))
            if it is not block.subject and _many_to_one(it):
                # not the key it is joined on: the subject holds it (b.census_id grouped
                # as cg.sez2011 joins the zone for nothing)
                joined = {b for _, b in it.link.path.pairs} if it.link is not None else set()
                for c in it.info.labels[:1]:
                    if c not in joined:
                        keys.append((it, c))
        return keys

    def grouped(self, block: Block, having: bool, spatial_target: int, prefer: str) -> bool:
        keys = self.group_keys(block)
        if not keys:
            return False
        while True:
            key = self.pick_key(block, keys)
            if key is None:
                return False  # one summary row instead: no grouping the corpus never makes
            it, col = key
            sizes = block.group_sizes(self.ctx, it, col)
            sample = self.ctx.world.table(block.subject.table)
            scale = sample.estimation_scale() if sample is not None else 1.0
            # the filters leave one value of the key: a count per group of one group, by
            # construction (the lead's read of the fourteenth pass: "0.4 kV buses per grid
            # zone", every such bus in one zone)
            one = len(sizes) == 1
            if not one and (col not in it.info.labels or not sizes or _typical(sizes) >= 2 * scale):
                break  # (a label's groups: at least two sampled rows each, typically)
            # per named row (a building id) with a row or two each: not a grouping
            keys.remove((it, col))
            if not keys:
                return False
        pivot_value = value(self.ctx, it, col)
        if sizes and max(sizes.values()) < 2:
            return False  # every group would hold one row
        block.groups = len(sizes) if sizes else None
        ref = column(it, col)
        block.add_out(Out(ref, None, "key", it))
        block.group.append(ref)
        block.add_out(Out(_count(), count_name(count_noun(block)), "count", None, numeric=True))
        _count_serves(block)
        self.aggregates(block, spatial_target, prefer)
        for other in block.frame.items[1:]:
            if not other.used and not _grouped(other):
                self.aggregate_of(block, other)
        if having:
            got = sizes.get(pivot_value, 0) if sizes else 0
            # the groups' sizes count the subject's rows; the joins multiply them and the
            # joined tables' conditions cut them (Block.estimate's factors)
            base = len(block.subject_rows(self.ctx)) * scale
            f = block.estimate(self.ctx) / base if base else 1.0
            k = cut_count([n * f for n in sizes.values()], got * f) if got * f >= 3 else None
            if k is not None:
                op = ">=" if self.rng.random() < 0.5 else ">"
                if op == ">":
                    k -= 1
                block.having.append(ast.BinaryOp(op, _count(), ast.Number(str(k))))
                kept = k + 1 if op == ">" else k
                block.groups = sum(1 for n in sizes.values() if n >= kept)
            if not block.having:
                self.having_on_average(block, it, col, pivot_value)
        return True

    def pick_key(self, block: Block, keys: list[tuple[Item, str]]) -> tuple[Item, str] | None:
        """A group key: one the corpus groups by, in proportion to how often (one it
        never does with the chance :func:`combine.unseen_summary` leaves; None when the
        corpus groups by none of ``keys``, has shown enough summaries of their tables for
        that to count (:func:`combine.evidence`) and that chance does not come); the
        links' keys first without the corpus ("per census section", "per building type of the
        property record")."""
        linked = [k for k in keys if k[0] is not block.subject]
        counts = combine.group_counts(self.ctx, [(it.table, c) for it, c in keys])
        if counts is None:
            return (
                self.rng.choice(linked)
                if linked and self.rng.random() < 0.5
                else self.rng.choice(keys)
            )
        weights = [1.0 + len(keys) / len(linked) * (k in linked) if linked else 1.0 for k in keys]
        unseen = combine.unseen_summary(self.ctx, "group")
        shown = any(combine.evidence(self.ctx, it.table, "summary") for it, _ in keys)
        if combine.never_made(self.rng, counts, shown, unseen):
            return None  # the corpus groups by none of them, and it would have shown it
        return combine.choose(self.rng, keys, weights, counts, unseen)

    def pick_measures(self, item: Item, measures: list[str], n: int) -> list[str]:
        """Up to ``n`` of ``measures`` to aggregate: those the corpus aggregates on the
        item's table by how often (one it never does only by the unseen's chance, and
        none but those only where the corpus has shown enough summaries of the table,
        :func:`combine.evidence`); a random ``n`` without the corpus's aggregates."""
        counts = combine.aggregate_counts(self.ctx, item.table, measures)
        if counts is None:
            self.rng.shuffle(measures)
            return measures[:n]
        unseen = combine.unseen_summary(self.ctx, "aggregate")
        seen = dict(zip(measures, counts, strict=True))
        shown = combine.evidence(self.ctx, item.table, "summary")
        out: list[str] = []
        left = list(measures)
        while left and len(out) < n:
            if combine.never_made(self.rng, [seen[c] for c in left], shown, unseen):
                break  # only measures the corpus never aggregates (and would have shown)
            c = combine.choose(self.rng, left, [1.0] * len(left), [seen[c] for c in left], unseen)
            out.append(c)
            left.remove(c)
        return out

    def functions(self, item: Item, col: str) -> tuple[str, ...]:
        """The aggregates that mean something over ``item.col``: no SUM of a height or a
        ratio -- unless the corpus sums the column (``SUM(c.p1)``: its name says nothing
        of what it counts, the user's queries do)."""
        if additive(item, col) or self.ctx.combos.aggregate(item.table, col, "sum"):
            return ("AVG", "SUM", "MAX", "MIN")
        return ("AVG", "MAX", "MIN")

    def pick_function(self, item: Item, col: str, fns: tuple[str, ...], first: bool) -> str:
        """The aggregate of ``item.col``: the corpus's functions for it by how often
        (else mostly AVG for the first measure, as without the corpus)."""
        counts = combine.function_counts(self.ctx, item.table, col, fns)
        if counts is None:
            return "AVG" if first and self.rng.random() < 0.6 else self.rng.choice(fns)
        weights = [(1.0 + 1.5 * len(fns) * first) if fn == "AVG" else 1.0 for fn in fns]
        return combine.choose(
            self.rng, fns, weights, counts, combine.unseen_summary(self.ctx, "aggregate")
        )

    def aggregates(
        self, block: Block, spatial_target: int, prefer: str, average: bool = False
    ) -> None:
        """The subject's statistics (and a geometry's size, up to ``spatial_target``
        spatial calls); ``average``: the first an average, of a measure the corpus
        averages when it averages any (a per-group CTE a row is compared against). None
        over pairs (:func:`pair_summary`): their link's measure is the aggregate."""
        subject = block.subject
        if pair_summary(block):
            # the pairs' summary is the distance between them (aggregate_of), not the
            # rows' own values or sizes counted once per partner
            return
        measures = [c for c in subject.info.measures if not _grouped(subject)]
        n = self.rng.choice((1, 1, 2))
        averaged = [c for c in measures if self.ctx.combos.aggregate(subject.table, c, "avg")]
        if average and averaged:
            first = self.pick_measures(subject, averaged, 1)
            rest = [c for c in measures if c not in first]
            picked = first + self.pick_measures(subject, rest, n - 1)
        else:
            picked = self.pick_measures(subject, measures, n)
        for k, c in enumerate(picked):
            fns = self.functions(subject, c)
            fn = "AVG" if k == 0 and average else self.pick_function(subject, c, fns, k == 0)
            block.add_out(_aggregate(fn, subject, c))
        have = sum(spatial_calls(o.expr, self.ctx) for o in block.outs) + sum(
            spatial_calls(p.expr, self.ctx) for p in block.preds
        )
        for it in block.frame.items:
            if have >= spatial_target:
                break
            if climbed(block, it):
                continue  # a parent's size is one value per group: nothing to aggregate
            for g in self.geoms(it):
                dim = self.dim(it, g)
                ref = column(it, g.name)
                if dim >= 1:
                    expr, name = self.sp.size(ref, g, dim)
                    fns = ("SUM", "AVG", "MAX")
                    counts = combine.function_counts(self.ctx, it.table, g.name, fns)
                    fn = combine.choose(
                        self.rng,
                        fns,
                        [1.0] * 3,
                        counts,
                        combine.unseen_summary(self.ctx, "aggregate"),
                    )
                    e = ast.FuncCall(fn, (expr,))
                    block.add_out(Out(e, f"{_agg_word(fn)}_{name}", "agg", it, numeric=True))
                    have += spatial_calls(e, self.ctx)
                elif prefer in ("processing", "accessors") and self.ctx.can("ST_Collect"):
                    e = self.sp.call("ST_Centroid", self.sp.call("ST_Collect", ref))
                    block.add_out(Out(e, "centre_point", "agg", it))
                    have += 2
                break

    def aggregate_of(self, block: Block, it: Item) -> None:
        """Give an otherwise unused linked item a purpose in a grouped block: a parent is
        one more group key (its name); a child or a measured link is summarised."""
        if _grouped(it):
            return  # a derived table's statistics come with the block's outputs
        if block.group and _many_to_one(it) and not _pinned(block, it):
            # a category of the parent; its name beside the block's key splits the groups
            # into ones of a row or two (review: "GROUP BY ... building id")
            c = self.parent_key(it)
            if c is None and self._leaves(block, it, "summary"):
                self.drop(block, it)  # a key the corpus never groups by: no table for it
                return
            if c is None and it is block.subject:
                return  # the first table: the block's counts and statistics are of its rows
            if c is None and not self.summarised(it):
                c = (it.info.categories[:1] or [None])[0]  # nothing better: as before
            if c is not None:
                ref = column(it, c)
                block.add_out(Out(ref, None, "key", it))
                block.group.append(ref)
                return
        for o in self.link_outs(block, it):
            if o.numeric:
                read = [
                    x.name
                    for x in ast.walk(o.expr)
                    if isinstance(x, ast.Column) and x.table == it.alias
                ]
                if self.drop_filler(block, it, read, "AVG"):
                    return
                block.add_out(
                    Out(ast.FuncCall("AVG", (o.expr,)), f"avg_{o.name}", "agg", it, numeric=True)
                )
                return
        for c in self.pick_measures(it, list(it.info.measures), 1)[:1] or it.info.measures[:1]:
            fns = self.functions(it, c)
            fn = "AVG" if not self.ctx.combos.aggregating else self.pick_function(it, c, fns, True)
            if self.drop_filler(block, it, [c], fn):
                return
            block.add_out(_aggregate(fn, it, c))
            return
        key = it.info.labels[:1] or it.info.pk[:1]
        if key and _pinned(block, it):
            # counting the distinct rows of a table pinned to one row always gives 1
            raise BuildError(f"{it.table} is pinned to one row: nothing to count")
        if key and self.drop_filler(block, it, key[:1], "COUNT"):
            return
        if key:
            block.add_out(
                Out(
                    ast.FuncCall("COUNT", (column(it, key[0]),), distinct=True),
                    count_name(it.info.noun),
                    "agg",
                    it,
                    numeric=True,
                )
            )

    def parent_key(self, it: Item) -> str | None:
        """The category of a parent item to add as a group key: one the corpus groups
        by (by how often), else its first -- unless the corpus groups by none of them,
        has shown enough summaries of the table for that to count
        (:func:`combine.evidence`) and the unseen's chance does not let one through
        (None: the item is summarised instead, or it leaves the block)."""
        cats = list(it.info.categories)
        counts = combine.group_counts(self.ctx, [(it.table, c) for c in cats])
        if not cats or counts is None:
            return cats[0] if cats else None
        unseen = combine.unseen_summary(self.ctx, "group")
        shown = combine.evidence(self.ctx, it.table, "summary")
        if combine.never_made(self.rng, counts, shown, unseen):
            return None
        return combine.choose(self.rng, cats, [1.0] * len(cats), counts, unseen)

    def summarised(self, it: Item) -> bool:
        """Does the corpus aggregate one of ``it``'s measures (what :meth:`aggregate_of`
        writes instead of a key)? A distinct count is not offered: beside a COUNT(*)
        that ``once.drop_twin_counts`` may keep, it would leave the table unread."""
        combos = self.ctx.combos
        return any(combos.aggregate(it.table, c) for c in it.info.measures)

    def drop_filler(self, block: Block, it: Item, columns: Sequence[str], fn: str) -> bool:
        """Take ``it`` out of the block instead of giving it ``fn`` over ``columns`` as its
        only contribution, where the corpus never aggregates them so (a project scenario
        joined for ``COUNT(DISTINCT p.project_name)``; blind review of the tenth pass,
        "contrived") and nothing else depends on it: the table count is relaxed, recorded
        by the expansion. True when dropped."""
        if not combine.evidence(self.ctx, it.table, "summary"):
            return False  # too few of the corpus's summaries read it to call it a filler
        if not combine.never_aggregated(self.ctx, self.rng, it.table, columns, fn):
            return False
        if not droppable(block, it) or self.makes_label(block, it):
            return False  # (_leaves without its evidence test: passed above)
        self.drop(block, it)
        return True

    def _leaves(self, block: Block, it: Item, kind: str) -> bool:
        """May ``it`` leave the block as a filler: :func:`droppable`, the honoured label
        does not rest on it, and the corpus has shown enough of its queries of ``kind``
        (:func:`combine.evidence`) for its contribution's absence to count?"""
        return (
            droppable(block, it)
            and not self.makes_label(block, it)
            and combine.evidence(self.ctx, it.table, kind)
        )

    def drop_scope_only(self, block: Block) -> None:
        """Take out the joined items whose only contribution is a pin of their project
        scenario (building properties joined to a CTE's buildings for
        ``bp.scenario_id = 'proposed'`` and nothing else, there to reach a table count):
        the count is relaxed, as for a filler aggregate."""
        for it in block.frame.items[1:]:
            own = [p for p in block.preds if p.item is it]
            if not own or any(p.kind != "scope" for p in own) or self.makes_label(block, it):
                continue
            if not combine.evidence(self.ctx, it.table, "cte"):
                continue  # too few of the corpus's CTE queries read it to call it a filler
            it.used = False
            if droppable(block, it, own):
                self.drop(block, it)
            else:
                it.used = True

    def drop(self, block: Block, it: Item) -> None:
        """Take ``it`` (:func:`droppable`) out of the block, with its pins."""
        block.preds = [p for p in block.preds if p.item is not it]
        block.forget_passing()
        items = block.frame.items
        k = items.index(it)
        items.pop(k)
        for o in items[k:]:  # the later items' links point one place lower
            if o.link is not None and o.link.to > k:
                o.link.to -= 1
        block.extra_on = {i - (i > k): v for i, v in block.extra_on.items() if i != k}

    def makes_label(self, block: Block, it: Item) -> bool:
        """Would the honoured label go with ``it``: the block's only spatial join of a
        SPATIAL_JOIN, or one of two joins of a MULTI_JOIN?"""
        items = block.frame.items
        if self.label == "MULTI_JOIN":
            return len(items) <= 3
        if self.label == "SPATIAL_JOIN" and it.link is not None:
            spatial = [o for o in items if o.link is not None and o.link.path.kind == "spatial"]
            return spatial == [it]
        return False

    def having_on_average(self, block: Block, it: Item, col: str, pivot_value: Any) -> None:
        if not self.ctx.trusted:
            return  # an average only the user's data knows
        s = self.ctx.world.table(block.subject.table)
        subject = block.subject
        if s is None or not subject.info.measures or it is not subject:
            return
        m = self.rng.choice(subject.info.measures)
        rows = [i for i in block.subject_rows(self.ctx) if s.value(i, col) == pivot_value]
        vals = [s.value(i, m) for i in rows if isinstance(s.value(i, m), (int, float))]
        if len(vals) < 2:
            return
        avg = sum(vals) / len(vals)
        lo = threshold(avg, "below", None, self.rng, m in subject.info.integer)
        block.having.append(
            ast.BinaryOp(
                ">" if lo < avg else ">=", ast.FuncCall("AVG", (column(subject, m),)), literal(lo)
            )
        )

    def aggregate_only(self, block: Block, spatial_target: int, prefer: str) -> None:
        """One summary row: a count and statistics over the filtered rows."""
        block.add_out(Out(_count(), count_name(count_noun(block)), "count", None, numeric=True))
        _count_serves(block)
        self.aggregates(block, spatial_target, prefer)
        for other in block.frame.items[1:]:
            if not other.used:
                self.aggregate_of(block, other)


def droppable(block: Block, it: Item, pins: Sequence[Any] = ()) -> bool:
    """Can ``it`` leave ``block`` with nothing else changed: not the first item, no item
    linked through it, not a CTE's, a raster's or the one COUNT(*) counts, with no
    condition (but its ``pins``), output or join term of its own?"""
    items = block.frame.items
    if it not in items[1:] or it.ref is not None or it.used:
        return False
    k = items.index(it)
    if any(o.link is not None and o.link.to == k for o in items):
        return False
    if it.info.rasters or (it.link is not None and it.link.path.kind in ("raster", "colocated")):
        return False
    counts = any(o.kind == "count" for o in block.outs)
    if (counts and it is counted(block)) or any(
        p.item is it and p not in pins for p in block.preds
    ):
        return False
    if block.extra_on.get(k) or any(o.item is it for o in block.outs):
        return False
    read = {
        x.table
        for e in (*block.extra_where, *block.group, *block.having)
        for x in ast.walk(e)
        if isinstance(x, ast.Column)
    }
    return it.alias not in read


def _count_serves(block: Block) -> None:
    """A joined item COUNT(*) is named after (the LOD 1 buildings of a census zone) and
    that the block filters is used: the count and its condition are what it is for, and
    a ``COUNT(DISTINCT b.building_id)`` beside it would say the same number again. A pin
    (which level of detail, which scenario) asks nothing of it: a neighbour pinned to
    LOD 1 and nothing else is not what the count is for (``theme.pin_only_joins``)."""
    item = counted(block)
    if item is not block.subject and any(p.item is item and p.asked for p in block.preds):
        item.used = True
