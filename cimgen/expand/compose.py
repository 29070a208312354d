"""Choose the spatial units that make up a structure's spatial function budget.

Each block offers units over the geometry / raster columns in scope (``_options``); a
randomized search picks units until their calls add up to ``spatial_function_count`` with
the requested primary category winning and the sql_type's needs met.
"""

from __future__ import annotations

from collections import Counter

from cimgen.expand.plan import PlanError, Source
from cimgen.expand.state import Base, primary
from cimgen.expand.units import GeoRef, Unit


class Compose(Base):
    def _options(self) -> list[tuple[int, Unit]]:
        out: list[tuple[int, Unit]] = []
        for i, st in enumerate(self.states):
            b = st.block
            if b.role in ("expr", "arm2"):
                continue
            geos = [GeoRef(s.alias, g) for s in b.sources for g in s.table.geoms[:2]]
            rasts = [GeoRef(s.alias, r) for s in b.sources for r in s.table.rasters]
            opts: list[Unit] = []
            rows = self._block_rows(b.sources)
            for g in geos[:3]:
                opts += self.f.single(g)
                if self.s.has_window and st.aggregated == "NONE":
                    opts += self.f.cluster(g)
                if st.aggregated != "NONE":
                    opts += self.f.aggregates(g, rows)
            if len(geos) >= 2 and geos[0].alias != geos[1].alias:
                opts += self.f.pair(geos[0], geos[1])
            elif len(geos) >= 2:
                other = [g for g in geos if g.alias != geos[0].alias]
                if other:
                    opts += self.f.pair(geos[0], other[0])
            for r in rasts[:2]:
                opts += self.f.raster(r, geos[0] if geos else None, rows)
            if st.aggregated != "NONE":
                opts = [u for u in opts if u.out != "geom" or u.aggregate]
            out += [(i, u) for u in opts]
        return out

    def _block_rows(self, sources: list[Source]) -> float:
        """Estimated rows of a block's FROM product (fixture rows times link fan-outs)."""
        if not sources:
            return 0.0
        rows = float(self.ctx.row_count(sources[0].table.qualified))
        for src in sources[1:]:
            rows *= self.ctx.fanout(src.path) if src.path is not None else 1.0
        return rows

    def _spatial_units(self) -> None:
        """Pick units so the calls add up exactly; ``relax`` loosens the sql_type's needs
        (1), the primary category (2) and finally the call count itself (3)."""
        s = self.s
        base = Counter(self.cats)
        left0 = s.spatial_function_count - sum(base.values())
        if left0 < 0 and self.relax < 3:
            raise PlanError(
                "EXP006",
                f"spatial_function_count {s.spatial_function_count} is "
                "smaller than the spatial joins need",
            )
        options = self._options()
        maxlen = max((len(u.cats) for _, u in options), default=0)
        fits = [[o for o in options if len(o[1].cats) <= k] for k in range(maxlen + 1)]
        # at relax 3 the count may shrink: the exact count first, then fewer calls
        counts = [left0] if self.relax < 3 else list(range(max(left0, 0), -1, -1))
        for left in counts:
            if self._search(base, left, fits, maxlen, 25 if len(counts) == 1 else 8):
                return
        raise PlanError(
            "EXP007",
            f"cannot make {s.spatial_function_count} spatial call(s) with primary category "
            f"{s.primary_function_category!r} for {s.sql_type} on the chosen tables",
        )

    def _search(
        self,
        base: Counter[str],
        left0: int,
        fits: list[list[tuple[int, Unit]]],
        maxlen: int,
        tries: int,
    ) -> bool:
        s = self.s
        target = s.primary_function_category
        required = (
            []
            if self.relax
            else [
                c
                for t, c in (
                    ("RASTER_VECTOR", "raster"),
                    ("SPATIAL_MEASUREMENT", "measurements"),
                    ("SPATIAL_CLUSTERING", "clustering"),
                )
                if s.sql_type == t
            ]
        )
        hits = [[o for o in f if target in o[1].cats] for f in fits]
        for _ in range(tries):
            cats = Counter(base)
            left = left0
            chosen: list[tuple[int, Unit]] = []
            for req in required:
                fit = [o for o in fits[min(left, maxlen)] if req in o[1].cats]
                if not fit:
                    break
                o = self.rng.choice(fit)
                chosen.append(o)
                cats.update(o[1].cats)
                left -= len(o[1].cats)
            ok = True
            while left > 0:
                k = min(left, maxlen)
                fit = fits[k]
                if hits[k] and (primary(cats) != target or self.rng.random() < 0.55):
                    fit = hits[k]
                if not fit:
                    ok = False
                    break
                o = self.rng.choice(fit)
                chosen.append(o)
                cats.update(o[1].cats)
                left -= len(o[1].cats)
            want = target if sum(cats.values()) else "none"
            if (
                ok
                and (self.relax >= 2 or primary(cats) == want)
                and all(cats[r] for r in required)
                and (s.has_window or not any(u.window for _, u in chosen))
            ):
                self.cats = cats
                for i, u in chosen:
                    self.states[i].units.append(u)
                return True
        return False
