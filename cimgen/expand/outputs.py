"""What a block returns: labels, attributes, what each link brings (a label, a distance,
a raster value or statistic), spatial outputs that fit the geometry, a plain listing."""

from __future__ import annotations

from cimgen import ast
from cimgen.expand.block import Block, Out
from cimgen.expand.combine import asked_of, asked_of_joined, joined, place_distance_asked
from cimgen.expand.content_base import (
    CLIP_ROWS,
    MAX_OUTPUTS,
    ContentBase,
    _geom_word,
    _grouped,
    _is_measure,
    _join_keys,
    _same,
    climbed,
    drop_restated,
    spatial_calls,
)
from cimgen.expand.context import GeomCol
from cimgen.expand.frame import Item, column, value
from cimgen.expand.names import raster_value_name


class Outputs(ContentBase):
    # ------------------------------------------------------------------ plain outputs

    def label_out(self, block: Block, item: Item) -> bool:
        keys = _join_keys(self.ctx, block, item)
        labels: list[str] = list(item.info.labels)
        if joined(block.frame.items, item):
            # what the corpus asks of the table in this role, not its section number; never
            # the key it is joined on, which the other side holds already (a census zone
            # joined only to show b.census_id again is a pointless join: 956 of 50,000
            # default-job rows of the merged fourteenth pass)
            labels = asked_of_joined(self.ctx, self.rng, item.table, labels, "output")
        else:  # the subject: the labels the corpus asks of it, in the schema's order
            asked = asked_of(self.ctx, self.rng, "subject", item.table, labels)
            labels = [c for c in labels if c in asked]
        for col in labels:
            if col in keys:
                continue  # equal to the other side's key: already said
            if not block.has_column_out(item, col) and value(self.ctx, item, col) is not None:
                block.add_out(Out(column(item, col), None, "label", item))
                return True
        return False

    def attr_out(self, block: Block, item: Item, n: int, measure: bool = False) -> int:
        """Up to ``n`` attributes of ``item`` the corpus asks of its table in its role
        (:func:`combine.asked_of`). Where it asks none and the item shows nothing yet,
        what it asks of the table's geometry (:meth:`geometry_out`; a size only where
        ``measure``), else -- relaxed -- the others."""
        keys = _join_keys(self.ctx, block, item)
        cols = [
            (c, "attr", c in item.info.measures)
            for c in (*item.info.categories, *item.info.measures, *item.info.flags)
            if not block.has_column_out(item, c) and c not in keys
        ]
        self.rng.shuffle(cols)
        role = "joined" if joined(block.frame.items, item) else "subject"
        # what the corpus asks of the table in its role: a building listed alone is shown by
        # its id, its size, its place -- not by the source of its footprint, which the
        # bundled corpus never selects (366 of 1,000 questions asked it on main 4c22d6f)
        names = [c for c, *_ in cols]
        order = asked_of(self.ctx, self.rng, role, item.table, names, by_share=role == "subject")
        # an item asked nothing must still contribute: a joined one (PUR001) unless it
        # serves already, the subject unless it shows something already
        shown = item.used if role == "joined" else bool(block.outputs_of(item))
        if order or shown:
            cols = [x for name in order for x in cols if x[0] == name]
        elif n > 0 and (g := self.geometry_out(block, item, role, measure)) is not None:
            block.add_out(g)  # a building beside its properties: its area, not its source
            return 1
        added = 0
        for c, kind, numeric in cols[:n]:
            block.add_out(Out(column(item, c), None, kind, item, numeric=numeric))
            added += 1
        return added

    def geometry_out(self, block: Block, item: Item, role: str, measure: bool) -> Out | None:
        """What the corpus asks of ``item``'s geometry in ``role`` (``subject`` /
        ``joined``): its size (a computed area, a length) where ``measure``, else its place
        (the centroid's coordinates); None where it asks no geometry of the table."""
        c = self.ctx.combos
        count = c.subject_output if role == "subject" else c.joined_output
        for g in self.geoms(item):
            if not count(item.table, g.name) or block.has_column_out(item, g.name):
                continue
            ref, dim, q = column(item, g.name), self.dim(item, g), _geom_word(item, g)
            if measure and dim >= 1 and self.ctx.can("ST_Area") and self.ctx.can("ST_Length"):
                expr, name = self.sp.size(ref, g, dim)
                return Out(expr, name, "measure", item, numeric=True, qualifier=q)
            if not all(self.ctx.can(f) for f in ("ST_X", "ST_Y", "ST_Centroid")):
                continue
            x, y = self.sp.coordinates(ref, dim)
            lat = Out(y[0], y[1], "spatial", item, numeric=True, descending=False, qualifier=q)
            lon = Out(x[0], x[1], "spatial", item, numeric=True, descending=False, qualifier=q)
            lon.partner = lat
            return lon
        return None

    def place_distance(self, item: Item, g: GeomCol) -> Out | None:
        """Distance in metres from a place near the pivot ("how far from (lon, lat)")."""
        geo = self.pv.geo(item.table, g.name, item.pivot)
        place = self.flt.place_for(geo) if geo is not None else None
        if place is None:
            return None
        px, py = place
        expr = self.sp.distance(column(item, g.name), g.srid, self.sp.point(px, py, g.srid), g.srid)
        return Out(expr, "distance_m", "measure", item, numeric=True, descending=False)

    def raster_outs(self, item: Item, subject: bool = True) -> list[Out]:
        """What one asks of a raster tile itself: its statistics, size and resolution --
        the size (``ST_Width`` / ``ST_Height``) and the resolution (``ST_PixelWidth``) of
        the ``subject`` as often as the corpus outputs them of that table as the subject
        (a DSM tile's width and height in 97 of its 138 records, a DTM tile's in 6 of 218,
        a tile's pixel size never); half and half without that evidence."""
        combos = self.ctx.combos
        judged = subject and combos.evidence(item.table, "subject")

        def share(col: str, *fns: str) -> float:
            if not judged:
                return 0.5
            n = min(combos.subject_call(item.table, col, f) for f in fns)
            return n / max(1, combos.subject(item.table))

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
            draw, size = self.rng.random(), share(r.name, "ST_Width", "ST_Height")
            if draw < size:
                w, h = self.sp.call("ST_Width", ref), self.sp.call("ST_Height", ref)
                out.append(Out(w, "width_px", "spatial", item, numeric=True))
                out.append(Out(h, "height_px", "spatial", item, numeric=True))
            elif draw < size + share(r.name, "ST_PixelWidth"):
                px = self.sp.call("ST_PixelWidth", ref)
                out.append(Out(px, "pixel_size", "spatial", item, numeric=True))
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
        out: list[Out] = self.raster_outs(item, not joined(block.frame.items, item))
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
        place_kind: str = "plain",
    ) -> None:
        """A listing: labels, a few attributes, what each link brings, spatial outputs
        until the query has about ``spatial_target`` spatial calls; the distance to a
        place only when ``ordered`` and the corpus computes one in a query of
        ``place_kind`` (:func:`combine.place_distance_asked`, asked only where a distance
        to a place is on offer)."""
        for k, it in enumerate(block.frame.items):
            if _grouped(it):
                continue
            if k == 0:
                if not self.label_out(block, it):
                    self.attr_out(block, it, 1, measure=not simple)
                n = self.rng.choice((0, 1, 1, 1, 2))
                if n and not self.attr_out(block, it, n):
                    # an attribute wanted, none asked (a building alone: only its source):
                    # what the corpus asks of its geometry -- where it is, how large
                    g = self.geometry_out(block, it, "subject", measure=not simple)
                    if g is not None:
                        block.add_out(g)
            else:
                got = False
                if not simple:
                    for o in self.link_outs(block, it):
                        block.add_out(o)
                        got = True
                if (not got or self.rng.random() < 0.5) and (
                    not self.label_out(block, it) or self.rng.random() < 0.5
                ):
                    self.attr_out(block, it, 1, measure=not simple)
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
        if not ordered or (  # the distance from a place is asked as "nearest first"
            any(o.name == "distance_m" for o in cands)
            and not place_distance_asked(self.ctx, self.rng, place_kind)
        ):
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
