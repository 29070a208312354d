"""What a block asks and returns: filters, outputs, grouping, ordering, windows.

Rules that keep a block purposeful (the static rules of cimgen.check.static test them):

* every item contributes -- an output, a filter or a group key beyond its join condition;
* outputs are named by what they compute, in their unit;
* nothing is measured that means nothing (no area of a point, no length of a polygon);
* a grouped block groups by a category (never by a key unique per row), and its HAVING
  threshold lies below the pivot's own group, so that group passes;
* clusters are never asked for more than the rows there are.
"""

from __future__ import annotations

import random
import re
from typing import Any

from cimgen import ast
from cimgen.expand.block import Block, Out
from cimgen.expand.context import ExpansionContext, GeomCol, is_name
from cimgen.expand.distinct import version_columns
from cimgen.expand.filters import Filters, Pred
from cimgen.expand.frame import BuildError, Item, Pivots, column, value
from cimgen.expand.names import count_name, raster_value_name
from cimgen.expand.spatial import Spatial
from cimgen.expand.values import literal, nice_below, number, threshold

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


class Content:
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
        self, block: Block, n: int, spatial: int, scope_p: float = 0.55, aggregated: bool = False
    ) -> None:
        """About ``n`` predicate leaves on the block's items, ``spatial`` of them spatial,
        the scope first (most questions are about one project scenario; its columns count
        one leaf each)."""
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
        if any(_scope_row(it) and it.mode != "left" for it in block.frame.items):
            # the project scenario read beside its rows: the query is about several of
            # them (pinned to one, its name would be the same on every row: constant.py)
            scoped = []
        if scoped and (chance or self._scope_needed(block, aggregated)):
            # rows of several project scenarios look like duplicates: most questions pick one
            for p in self.flt.scope(scoped[0]):
                block.add_pred(p)
                n -= 1
        self._pin_versions(block)
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
            if block.add_pred(self.spatial_filter(block, it), self.ctx):
                n -= 1
        tries = 0
        while n > 0 and tries < 8:
            tries += 1
            candidates = [
                it
                for it in block.frame.items
                if it.mode != "left" and not _grouped(it) and not _neighbour(block, it)
            ]
            unused = [it for it in candidates if not it.used and it.link is not None]
            it = (
                unused[0]
                if unused
                else (subject if self.rng.random() < 0.6 else self.rng.choice(candidates))
            )
            if block.add_pred(self.attribute_filter(block, it), self.ctx):
                n -= 1

    def _scope_needed(self, block: Block, aggregated: bool) -> bool:
        """A table that holds one row per project scenario (building properties, grid
        lines), joined to the subject -- or counted -- over every scenario repeats each
        thing once per scenario (review: "the properties join has no scenario filter, so
        buildings repeat"; "counts property records over all scenarios, not buildings")."""
        for it in block.frame.items:
            if it.mode == "left" or it.ref is not None or not it.info.scope:
                continue  # a CTE's rows were scoped where it was built
            if it is block.subject and not aggregated:
                continue  # a listing of versions shows them (distinct.py)
            if set(version_columns(self.ctx, it.info)) & set(it.info.scope):
                return True
        return False

    def _pin_versions(self, block: Block) -> None:
        """A joined table with several versions of one thing (a building per level of
        detail) met by something else than its key is pinned to the partner's version
        (``b.lod = 2``), so each listed row meets one of them (review: "the building join
        ignores lod, so rows may repeat")."""
        for it in block.frame.items[1:]:
            link = it.link
            if link is None or it.mode == "left" or it.ref is not None:
                continue
            joined = {b for _, b in link.path.pairs} if link.path.kind == "key" else set()
            if it.info.pk and set(it.info.pk) <= joined:
                continue  # one row by its key
            for c in version_columns(self.ctx, it.info):
                if c in it.info.scope or c in joined:
                    continue  # the scope is pinned above or equated by the join
                if f"{it.alias}.{c}" not in block.filtered():
                    block.add_pred(self.flt.equal(it, c))

    # ------------------------------------------------------------------ plain outputs

    def label_out(self, block: Block, item: Item) -> bool:
        keys = _join_keys(self.ctx, block, item)
        for col in item.info.labels:
            if col in keys:
                continue  # equal to the other side's key: already said
            if not block.has_column_out(item, col) and value(self.ctx, item, col) is not None:
                block.add_out(Out(column(item, col), None, "label", item))
                return True
        return False

    def attr_out(self, block: Block, item: Item, n: int) -> int:
        keys = _join_keys(self.ctx, block, item)
        cols = [
            (c, "attr", c in item.info.measures)
            for c in (*item.info.categories, *item.info.measures, *item.info.flags)
            if not block.has_column_out(item, c) and c not in keys
        ]
        self.rng.shuffle(cols)
        added = 0
        for c, kind, numeric in cols[:n]:
            block.add_out(Out(column(item, c), None, kind, item, numeric=numeric))
            added += 1
        return added

    def place_distance(self, item: Item, g: GeomCol) -> Out | None:
        """Distance in metres from a place near the pivot ("how far from (lon, lat)")."""
        geo = self.pv.geo(item.table, g.name, item.pivot)
        if geo is None:
            return None
        px, py = self.flt._place_near(geo)
        expr = self.sp.distance(column(item, g.name), g.srid, self.sp.point(px, py, g.srid), g.srid)
        return Out(expr, "distance_m", "measure", item, numeric=True, descending=False)

    def raster_outs(self, item: Item) -> list[Out]:
        """What one asks of a raster tile itself: its statistics, size and resolution."""
        out: list[Out] = []
        if item.link is not None and item.link.path.kind in ("raster", "colocated"):
            return out  # read through the link (a value at a place)
        for r in item.info.rasters:
            ref = column(item, r.name)
            name = raster_value_name(item.meaning or item.table, r.name)
            # not a statistic the tile already stores (min_elevation beside its own min)
            stored = {c.split("_")[0] for c in (*item.info.measures, *item.info.categories)}
            stats = [s for s in ("mean", "max", "min") if s not in stored] or ["mean"]
            stat = self.rng.choice(stats)
            out.append(
                Out(
                    ast.FieldAccess(self.sp.call("ST_SummaryStats", ref), stat),
                    f"{stat}_{name}",
                    "measure",
                    item,
                    numeric=True,
                )
            )
            if self.rng.random() < 0.5:
                out.append(
                    Out(self.sp.call("ST_Width", ref), "width_px", "spatial", item, numeric=True)
                )
                out.append(
                    Out(self.sp.call("ST_Height", ref), "height_px", "spatial", item, numeric=True)
                )
            else:
                out.append(
                    Out(
                        self.sp.call("ST_PixelWidth", ref),
                        "pixel_size",
                        "spatial",
                        item,
                        numeric=True,
                    )
                )
        return [
            o
            for o in out
            if all(
                self.ctx.can(n.name)
                for n in ast.walk(o.expr)
                if isinstance(n, ast.FuncCall) and self.ctx.catalogue.is_spatial(n.name)
            )
        ]

    def spatial_outs(self, block: Block, item: Item, prefer: str) -> list[Out]:
        """Meaningful spatial outputs of one item, by the category the structure prefers."""
        out: list[Out] = self.raster_outs(item)
        for g in self.geoms(item):
            ref = column(item, g.name)
            dim = self.dim(item, g)
            q = _geom_word(item, g)
            if dim >= 1:
                expr, name = self.sp.size(ref, g, dim)
                out.append(Out(expr, name, "measure", item, numeric=True, qualifier=q))
            if dim == 0:
                d = self.place_distance(item, g)
                if d is not None:
                    out.append(d)
            x, y = self.sp.coordinates(ref, dim)
            if prefer in ("accessors", "processing") or dim == 0:
                lat = Out(y[0], y[1], "spatial", item, numeric=True, descending=False, qualifier=q)
                out.append(
                    Out(
                        x[0],
                        x[1],
                        "spatial",
                        item,
                        numeric=True,
                        descending=False,
                        qualifier=q,
                        partner=lat,
                    )
                )
            if dim == 0 and prefer == "accessors":
                out.append(Out(self.sp.call("ST_AsText", ref), "location_wkt", "spatial", item))
        return out

    def link_outs(self, block: Block, item: Item) -> list[Out]:
        """Outputs that exist because of the link: distance to the other item, the raster
        value at the other item's geometry, the overlap with it."""
        link = item.link
        if link is None:
            return []
        other = block.frame.items[link.to]
        p = link.path
        out: list[Out] = []
        if p.kind == "colocated" and link.point is not None:
            for it, col in ((other, p.left_column or ""), (item, p.right_column or "")):
                r = it.info.geom(col)
                tile = self.pv.tile(it.table, r.name, it.pivot)
                point = self.sp.point(link.point[0], link.point[1], tile.srid if tile else r.srid)
                name = raster_value_name(it.meaning or it.table, r.name)
                out.append(
                    Out(
                        self.sp.call("ST_Value", column(it, r.name), point),
                        name,
                        "measure",
                        it,
                        numeric=True,
                    )
                )
            by_name = {o.name: o.expr for o in out}
            if {"surface_elevation_m", "ground_elevation_m"} <= set(by_name):
                # what a surface and a terrain model at one place say together: the height
                # of what stands there (a building, a tree)
                diff = ast.BinaryOp(
                    "-", by_name["surface_elevation_m"], by_name["ground_elevation_m"]
                )
                out.append(Out(diff, "height_above_ground_m", "measure", item, numeric=True))
            return out
        if p.kind == "raster":
            r = item.info.geom(p.right_column or "")
            g = other.info.geom(p.left_column or "")
            tile = self.pv.tile(item.table, r.name, item.pivot)
            rsrid = tile.srid if tile else r.srid
            name = raster_value_name(item.meaning or item.table, r.name)
            dim = self.dim(other, g)
            rref, gref = column(item, r.name), column(other, g.name)
            if dim == 2 and self.rng.random() < 0.5 and block.estimate(self.ctx) <= CLIP_ROWS:
                stat = self.rng.choice(("mean", "max", "min"))
                expr = self.sp.raster_stat(rref, gref, stat, rsrid, g.srid)
                label = name.replace("_m", "") if stat == "mean" else f"{stat}_{name}"
                out.append(
                    Out(
                        expr,
                        ("mean_" + name) if stat == "mean" else label,
                        "measure",
                        item,
                        numeric=True,
                    )
                )
            else:
                expr = self.sp.raster_at(rref, gref, dim, rsrid, g.srid)
                out.append(Out(expr, name, "measure", item, numeric=True))
            return out
        if p.kind == "spatial":
            ga = other.info.geom(p.left_column or "")
            gb = item.info.geom(p.right_column or "")
            if link.relation == "near":  # touching or inside: the distance is 0
                expr = self.sp.distance(
                    column(other, ga.name), ga.srid, column(item, gb.name), gb.srid
                )
                noun = item.info.noun.split(" ")[-1]
                out.append(
                    Out(
                        expr,
                        f"distance_to_{noun}_m",
                        "measure",
                        item,
                        numeric=True,
                        descending=False,
                    )
                )
        return out

    def plain(
        self,
        block: Block,
        spatial_target: int,
        prefer: str,
        measure: bool,
        simple: bool,
        ordered: bool = False,
    ) -> None:
        """A listing: labels, a few attributes, what each link brings, spatial outputs
        until the query has about ``spatial_target`` spatial calls."""
        for k, it in enumerate(block.frame.items):
            if _grouped(it):
                continue
            if k == 0:
                if not self.label_out(block, it):
                    self.attr_out(block, it, 1)
                self.attr_out(block, it, self.rng.choice((0, 1, 1, 1, 2)))
            else:
                got = False
                if not simple:
                    for o in self.link_outs(block, it):
                        block.add_out(o)
                        got = True
                if (not got or self.rng.random() < 0.5) and (
                    not self.label_out(block, it) or self.rng.random() < 0.5
                ):
                    self.attr_out(block, it, 1)
        if simple:
            return
        have = sum(spatial_calls(o.expr, self.ctx) for o in block.outs) + sum(
            spatial_calls(p.expr, self.ctx) for p in block.preds
        )
        cands: list[Out] = []
        for it in block.frame.items:
            # a parent's geometry is the same for all its rows: not a per-row output
            if not _grouped(it) and not climbed(block, it):
                cands += self.spatial_outs(block, it, prefer)
        if not ordered:  # the distance from a place is asked as "nearest first"
            cands = [o for o in cands if o.name != "distance_m"]
        measures = [o for o in cands if o.kind == "measure"]
        if measure and not any(_is_measure(o.expr, self.ctx) for o in block.outs):
            if not measures:
                return
            o = self.rng.choice(measures)
            block.add_out(o)
            have += spatial_calls(o.expr, self.ctx)
            cands.remove(o)
        self.rng.shuffle(cands)
        cands.sort(key=lambda o: o.kind != "measure" if prefer == "measurements" else 0)
        for o in cands:
            if have >= spatial_target or len(block.outs) >= MAX_OUTPUTS:
                break
            if any(_same(o, x) for x in block.outs):
                continue
            block.add_out(o)
            have += spatial_calls(o.expr, self.ctx)
        drop_restated(block)

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
        self.aggregates(block, spatial_target, prefer)
        for other in block.frame.items[1:]:
            if not other.used and not _grouped(other):
                self.aggregate_of(block, other)
        if having:
            got = sizes.get(pivot_value, 0) if sizes else 0
            if got >= 3:
                # well below the pivot's group: a count the data only roughly predicts
                k = max(2, int(nice_below(got * self.rng.uniform(0.1, 0.5), integer=True)))
                if not self.ctx.trusted:
                    k = min(k, 3)
                if k <= got:
                    op = ">=" if self.rng.random() < 0.5 else ">"
                    if op == ">":
                        k = max(1, k - 1)
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
        self.aggregates(block, spatial_target, prefer)
        for other in block.frame.items[1:]:
            if not other.used:
                self.aggregate_of(block, other)

    # ------------------------------------------------------------------ order, limit, windows

    def order_limit(self, block: Block, mode: str) -> None:
        if mode == "NONE":
            return
        if not block.group and any(o.kind == "count" for o in block.outs):
            return  # one summary row: nothing to order or cut
        est = block.estimate(self.ctx)
        if est <= 1.5 and not block.group:
            return  # a lookup of one row
        if block.group and block.groups is not None and block.groups <= 1:
            return  # one group by construction (LV buses per voltage): one row
        if not block.group and _tiles_at_one_place(block):
            return  # a DTM and a DSM tile read at one point: one pair of tiles
        if mode in ("ORDER", "ORDER_LIMIT"):
            ranked = _ranked_by(block)
            numeric = [
                o
                for o in block.outs
                if o.numeric
                and o.kind not in ("key", "window")  # a rank repeats its own ordering
                and o.name not in _UNIFORM_OUTS
                and o.name != "cluster_id"  # a cluster's number is a name, not a size
                and not _coordinate(o)  # nobody sorts places by their longitude
                and o.expr not in ranked  # an overall rank by it says the same
            ]
            # the rows' own values, not a parent's (a line's project area): else by name
            numeric = [o for o in numeric if o.item is None or not climbed(block, o.item)]
            places = [o for o in numeric if o.name == "distance_m"]
            names = [
                o
                for o in block.outs
                if o.kind in ("label", "key", "attr") and not o.numeric and not _coordinate(o)
            ]
            pick = self.rng.choice(places or numeric) if numeric else (names[0] if names else None)
            if pick is None:
                return
            desc = pick.descending if self.rng.random() < 0.8 else not pick.descending
            if not pick.numeric:
                desc = False
            block.order.append(
                ast.OrderItem(
                    _order_ref(pick),
                    "DESC" if desc else ("ASC" if self.rng.random() < 0.3 else None),
                )
            )
        if mode in ("LIMIT", "ORDER_LIMIT"):
            fit = [n for n in LIMITS if n < est] if est > 5 else []
            block.limit = self.rng.choice(fit or LIMITS)

    def window(self, block: Block) -> bool:
        """A rank or a running position within a category, by a measure."""
        numeric = [o for o in block.outs if o.numeric and o.kind in ("attr", "measure", "agg")]
        if not numeric or block.estimate(self.ctx) < 3:
            return False  # ranking one or two rows says nothing
        ranks = tuple(f for f in _RANKS if self.ctx.can(f))
        if not ranks:
            return False  # the grammar admits no window call, or the catalogue no ranking
        by = self.rng.choice(numeric)
        parts: tuple[ast.Expr, ...] = ()
        cats = [o for o in block.outs if o.kind in ("attr", "key", "label") and not o.numeric]
        if block.group:
            cats = []
        cats = [
            o
            for o in cats
            if isinstance(o.expr, ast.Column)
            and o.item is not None
            and o.expr.name not in o.item.info.labels
        ]
        if cats and self.ctx.admits("partition_by") and self.rng.random() < 0.6:
            parts = (cats[0].expr,)
        if not parts:
            # an overall row number is the row's position in the listing, nothing more
            ranks = tuple(f for f in ranks if f != "ROW_NUMBER") or ranks
        fn = self.rng.choice(ranks)
        args: tuple[ast.Expr, ...] = (ast.Number("4"),) if fn == "NTILE" else ()
        win = ast.Window(parts, (ast.OrderItem(by.expr, "DESC" if by.descending else None),))
        name = "quartile" if fn == "NTILE" else ("rank_in_group" if parts else "rank")
        if fn == "ROW_NUMBER":
            name = "position_in_group" if parts else "position"
        block.add_out(
            Out(
                ast.FuncCall(fn, args, over=win),
                name,
                "window",
                None,
                numeric=True,
                descending=False,
            )
        )
        return True

    def clustering(self, block: Block, item: Item) -> bool:
        """``ST_ClusterDBSCAN`` (metric eps) or ``ST_ClusterKMeans`` (k below the rows).

        Never over a block with a distance join: the window clusters every row of the
        join, which nearness multiplies and no LIMIT bounds (on the foreign world such
        clusterings ran past PostGIS's statement timeout, while DuckDB, which runs no
        window clustering, could not time them: issue 14, STA005)."""
        gs = self.geoms(item)
        if not gs or any(
            it.link is not None and it.link.relation == "near" for it in block.frame.items
        ):
            return False
        g = gs[0]
        rows = block.subject_rows(self.ctx)
        s = self.ctx.world.table(item.table)
        n = int(len(rows) * (s.estimation_scale() if s else 1.0)) if item is block.subject else 50
        metric = self.sp.aligned(column(item, g.name), g.srid, self.sp.metric_srid)
        if not isinstance(metric, ast.FuncCall):
            metric = self.sp.call(
                "ST_Transform", column(item, g.name), ast.Number(str(self.sp.metric_srid))
            )
        dbscan, kmeans = self.ctx.can("ST_ClusterDBSCAN"), self.ctx.can("ST_ClusterKMeans")
        if not (dbscan or kmeans):  # the target dialect clusters nothing (SpatiaLite)
            return False
        if self.rng.random() < 0.6 and dbscan:
            eps = self.rng.choice((50, 100, 150, 200, 300, 500))
            minpts = self.rng.choice((2, 3, 5))
            if n < minpts:
                return False
            call = self.sp.call(
                "ST_ClusterDBSCAN",
                metric,
                ast.NamedArg("eps", number(eps)),
                ast.NamedArg("minpoints", ast.Number(str(minpts))),
                over=ast.Window(),
            )
        else:
            if n < 4 or not kmeans:
                return False
            k = min(n // 2, self.rng.choice((3, 4, 5, 6, 8) if self.ctx.trusted else (2, 3)))
            call = self.sp.call("ST_ClusterKMeans", metric, ast.Number(str(k)), over=ast.Window())
        block.add_out(Out(call, "cluster_id", "window", item, numeric=True, descending=False))
        return True


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
    from cimgen.expand.core import multiplies

    noun = block.subject.info.noun
    for it in block.frame.items[1:]:
        link = it.link
        if link is not None and multiplies(link.path, link.relation):
            noun = it.info.noun
    return noun


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
