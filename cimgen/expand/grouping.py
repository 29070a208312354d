"""Grouping and summaries of a block: group keys with a purpose, counts and statistics,
HAVING below the pivot's own group, one summary row."""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

from cimgen import ast
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


class Grouping(Outputs):
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
                for c in it.info.labels[:1]:
                    keys.append((it, c))
        return keys

    def grouped(self, block: Block, having: bool, spatial_target: int, prefer: str) -> bool:
        keys = self.group_keys(block)
        if not keys:
            return False
        # links first: "per census section", "per building type of the property record"
        while True:
            linked = [k for k in keys if k[0] is not block.subject]
            it, col = (
                self.rng.choice(linked)
                if linked and self.rng.random() < 0.5
                else self.rng.choice(keys)
            )
            sizes = block.group_sizes(self.ctx, it, col)
            sample = self.ctx.world.table(block.subject.table)
            scale = sample.estimation_scale() if sample is not None else 1.0
            if col not in it.info.labels or not sizes or _typical(sizes) >= 2 * scale:
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

    def aggregates(self, block: Block, spatial_target: int, prefer: str) -> None:
        subject = block.subject
        measures = [c for c in subject.info.measures if not _grouped(subject)]
        self.rng.shuffle(measures)
        for k, c in enumerate(measures[: self.rng.choice((1, 1, 2))]):
            fns = ("AVG", "SUM", "MAX", "MIN") if additive(subject, c) else ("AVG", "MAX", "MIN")
            fn = "AVG" if k == 0 and self.rng.random() < 0.6 else self.rng.choice(fns)
            block.add_out(
                Out(
                    ast.FuncCall(fn, (column(subject, c),)),
                    f"{_agg_word(fn)}_{c}",
                    "agg",
                    subject,
                    numeric=True,
                )
            )
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
                    fn = self.rng.choice(("SUM", "AVG", "MAX"))
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
            for c in it.info.categories[:1]:
                ref = column(it, c)
                block.add_out(Out(ref, None, "key", it))
                block.group.append(ref)
                return
        for o in self.link_outs(block, it):
            if o.numeric:
                block.add_out(
                    Out(ast.FuncCall("AVG", (o.expr,)), f"avg_{o.name}", "agg", it, numeric=True)
                )
                return
        for c in it.info.measures:
            block.add_out(
                Out(ast.FuncCall("AVG", (column(it, c),)), f"avg_{c}", "agg", it, numeric=True)
            )
            return
        key = it.info.labels[:1] or it.info.pk[:1]
        if key and _pinned(block, it):
            # counting the distinct rows of a table pinned to one row always gives 1
            raise BuildError(f"{it.table} is pinned to one row: nothing to count")
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


def _count_serves(block: Block) -> None:
    """A joined item COUNT(*) is named after (the LOD 1 buildings of a census zone) and
    that the block filters is used: the count and its condition are what it is for, and
    a ``COUNT(DISTINCT b.building_id)`` beside it would say the same number again."""
    item = counted(block)
    if item is not block.subject and any(p.item is item for p in block.preds):
        item.used = True
