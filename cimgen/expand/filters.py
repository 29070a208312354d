"""Predicates that hold for the pivot row, chosen like an analyst narrows a question.

Every :class:`Pred` knows the item and column it constrains (a block never filters one
column twice, so no contradictory or redundant conditions) and how to evaluate itself on
a sampled row (``holds``), so the block can estimate how many rows and groups survive --
for HAVING thresholds, k-means cluster counts and "no aggregate over a group of one".
Spatial predicates are evaluated approximately, on each row's point and box.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext, GeomCol
from cimgen.expand.frame import Item, Pivots, column, value
from cimgen.expand.spatial import Spatial
from cimgen.expand.values import (
    EARTH_M_PER_DEG,
    distance_over,
    literal,
    pooled_threshold,
    threshold,
)
from cimgen.world.model import Geo, TableSample
from cimgen.world.pools import Pool

Holds = Callable[[TableSample, int], bool]
PLACE_REACH_M = 1200.0  # how far from the query's place a later predicate may reach


@dataclass
class Pred:
    expr: ast.Expr
    item: Item
    column: str | None  # the column (or geometry column) it constrains
    kind: str  # scope | pin | category | measure | flag | label | like | spatial
    holds: Holds | None = None
    place: bool = False  # names the query's place (a point or box: Filters.place / .box)

    @property
    def asked(self) -> bool:
        """Is it a condition the question asks (an attribute or a place), not a pin that
        says which project scenario, version or raster is meant?"""
        return self.kind not in ("scope", "pin")


def asked_count(preds: list[Pred]) -> int:
    """How many conditions ``preds`` ask: each attribute one, and the query's place once
    however many predicates name it (two tiles read at one point)."""
    return sum(1 for p in preds if p.asked and not p.place) + any(p.place for p in preds)


def metres(x0: float, y0: float, x1: float, y1: float) -> float:
    """Approximate distance in metres between two lon/lat points (equirectangular)."""
    k = math.cos(math.radians((y0 + y1) / 2))
    return math.hypot((x1 - x0) * EARTH_M_PER_DEG * k, (y1 - y0) * EARTH_M_PER_DEG)


class Equals:
    """Holds where a row's ``column`` equals ``value`` (a scope, pin, category, flag or
    label). :meth:`keep` filters a list of rows with one lookup of the column: equalities
    are most of the predicates ``Block.passing`` tests, ~1,300 rows per structure
    (issue 16)."""

    __slots__ = ("column", "value")

    def __init__(self, column: str, value: Any) -> None:
        self.column, self.value = column, value

    def __call__(self, s: TableSample, i: int) -> bool:
        return bool(s.value(i, self.column) == self.value)

    def keep(self, s: TableSample, rows: Iterable[int]) -> list[int]:
        """The ``rows`` (in order) where it holds."""
        k, data, v = s.position(self.column), s.rows, self.value
        return [i for i in rows if data[i][k] == v]


def keep(holds: Holds, s: TableSample, rows: Iterable[int]) -> list[int]:
    """The ``rows`` of ``s`` (in order) where ``holds``."""
    if isinstance(holds, Equals):
        return holds.keep(s, rows)
    return [i for i in rows if holds(s, i)]


def _eq(col: str, v: Any) -> Holds:
    return Equals(col, v)


def _equals(item: Item, col: str, v: Any, kind: str) -> Pred:
    """``item.col = v``, a predicate of ``kind`` that holds where the column equals ``v``."""
    return Pred(ast.BinaryOp("=", column(item, col), literal(v)), item, col, kind, _eq(col, v))


class Filters:
    """Builds pivot-true predicates for the items of one query.

    One place per query (blind review, issue 14: "a filter and an ordering on two unrelated
    points"): the first point or box a predicate or an output names is the query's place
    (``place`` / ``box``); later distances reuse that point, or are not asked. One condition
    per place (the fifteenth pass (b): "buildings within 1000 m and within 750 m of one
    point", a CTE's filter to the point repeated by the query that reads it): once a
    condition names the place (``place_asked``, set by ``Content.add_spatial``), no other
    point, box or tile condition is made.
    """

    def __init__(self, ctx: ExpansionContext, rng: random.Random, sp: Spatial, pv: Pivots) -> None:
        self.ctx, self.rng, self.sp, self.pv = ctx, rng, sp, pv
        self.place: tuple[float, float] | None = None
        self.box: tuple[float, float, float, float] | None = None
        self.place_asked = False

    # ------------------------------------------------------------------ attributes

    def _ok(self, item: Item, col: str, v: Any) -> bool:
        return self.ctx.literal_ok(item.table, col, v)

    def scope(self, item: Item) -> list[Pred]:
        out = []
        for c in item.info.scope:
            v = value(self.ctx, item, c)
            if v is None or not self._ok(item, c, v):
                return []
            out.append(_equals(item, c, v, "scope"))
        return out

    def scope_as(self, item: Item, preds: list[Pred]) -> list[Pred]:
        """``item``'s scope pinned to the project scenario another item's scope ``preds``
        name (a subquery over a table held per scenario, its outer query pinned to one:
        the same scenario, not every one); none unless ``preds`` pin all of it."""
        pinned = {
            p.column: value(self.ctx, p.item, p.column)
            for p in preds
            if p.kind == "scope" and p.column is not None
        }
        if not item.info.scope or any(pinned.get(c) is None for c in item.info.scope):
            return []
        return [_equals(item, c, pinned[c], "scope") for c in item.info.scope]

    def equal(self, item: Item, col: str) -> Pred | None:
        """A pin: which version, SRID or raster kind the link means (``b.lod = 2``)."""
        v = value(self.ctx, item, col)
        if v is None or not self._ok(item, col, v):
            return None
        return _equals(item, col, v, "pin")

    def level(self, item: Item, col: str) -> Pred | None:
        """A pin to the pivot's level (``b.lod = 1``): a value the literals may name, or one
        the schema documents for the column (its examples: the user's own description of
        its levels, where the corpus never writes one)."""
        p = self.equal(item, col)
        if p is not None:
            return p
        v = value(self.ctx, item, col)
        table = self.ctx.schema.table(item.table)
        spec = table.column(col) if table is not None else None
        if v is None or spec is None or v not in spec.examples:
            return None
        return _equals(item, col, v, "pin")

    def category(self, item: Item, col: str) -> Pred | None:
        v = value(self.ctx, item, col)
        if v is None or not self._ok(item, col, v):
            return None
        s = self.pv.sample(item.table)
        counts = s.counts(col)
        others = [w for w, _ in counts.most_common(8) if w != v and self._ok(item, col, w)]
        pool = self.ctx.pools.get(item.table, col)
        if pool is not None:
            others = [w for w in others if w in pool] or others
        ref = column(item, col)
        r = self.rng.random()
        if r < 0.2 and others:
            extra = self.rng.choice(others[:3])
            items = sorted((v, extra), key=str)
            return Pred(
                ast.InList(ref, tuple(literal(x) for x in items)),
                item,
                col,
                "category",
                lambda s, i, c=col, ok=frozenset(items): s.value(i, c) in ok,  # type: ignore[misc]
            )
        if r < 0.28 and others and len(counts) >= 3:
            w = self.rng.choice(others[:3])
            return Pred(
                ast.BinaryOp("<>", ref, literal(w)),
                item,
                col,
                "category",
                lambda s, i, c=col, w=w: s.value(i, c) not in (w, None),  # type: ignore[misc]
            )
        return Pred(ast.BinaryOp("=", ref, literal(v)), item, col, "category", _eq(col, v))

    def measure(self, item: Item, col: str) -> Pred | None:
        v = value(self.ctx, item, col)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            return None
        pool = self.ctx.pools.get(item.table, col)
        if not self.ctx.trusted and (pool is None or pool.source == "fixture"):
            return None  # the stand-in's numbers say nothing of the user's data
        integer = col in item.info.integer
        ref = column(item, col)
        dec = self.pv.sample(item.table).deciles(col)
        r = self.rng.random()
        if r < 0.2:
            lo = self._threshold(v, "below", pool, integer, dec)
            hi = self._threshold(v, "above", pool, integer, dec)
            if (
                lo is not None
                and hi is not None
                and lo < hi
                and (not dec or (hi - lo >= (dec[6] - dec[4]) and (lo > dec[0] or hi < dec[10])))
            ):
                return Pred(
                    ast.Between(ref, literal(_num(lo, integer)), literal(_num(hi, integer))),
                    item,
                    col,
                    "measure",
                    lambda s, i, c=col, lo=lo, hi=hi: _in(s.value(i, c), lo, hi),  # type: ignore[misc]
                )
        if r < 0.65:
            lo = self._threshold(v, "below", pool, integer, dec)
            if lo is None or (dec and (lo <= dec[0] or lo >= dec[9])):
                return None  # (nearly) every row passes, or only the extremes: no question
            op = ">=" if lo == v or self.rng.random() < 0.5 else ">"
            if op == ">" and lo >= v:
                op = ">="
            return Pred(
                ast.BinaryOp(op, ref, literal(_num(lo, integer))),
                item,
                col,
                "measure",
                lambda s, i, c=col, lo=lo, op=op: _cmp(s.value(i, c), op, lo),  # type: ignore[misc]
            )
        hi = self._threshold(v, "above", pool, integer, dec)
        if hi is None or (dec and (hi >= dec[10] or hi <= dec[1])):
            return None
        op = "<=" if hi == v or self.rng.random() < 0.5 else "<"
        if op == "<" and hi <= v:
            op = "<="
        return Pred(
            ast.BinaryOp(op, ref, literal(_num(hi, integer))),
            item,
            col,
            "measure",
            lambda s, i, c=col, hi=hi, op=op: _cmp(s.value(i, c), op, hi),  # type: ignore[misc]
        )

    def _threshold(
        self, v: float, side: str, pool: Pool | None, integer: bool, dec: list[float]
    ) -> float | None:
        """A threshold the pivot passes: over a stand-in fixture only one of the corpus's
        own (:func:`pooled_threshold`), whatever the stand-in's range."""
        if not self.ctx.trusted:
            return pooled_threshold(v, side, pool, self.rng, integer)
        return threshold(v, side, pool, self.rng, integer, dec)

    def flag(self, item: Item, col: str) -> Pred | None:
        v = value(self.ctx, item, col)
        if not isinstance(v, bool):
            return None
        if not self.ctx.trusted:
            counts = self.pv.sample(item.table).counts(col)
            if counts.get(v, 0) * 2 < sum(counts.values()):
                return None  # the rare side of a stand-in's flag: a fact of our data only
        ref = column(item, col)
        r = self.rng.random()
        if r < 0.45:
            expr: ast.Expr = ast.BinaryOp("=", ref, ast.Boolean(v))
        else:
            expr = ref if v else ast.UnaryOp("NOT", ref)
        return Pred(expr, item, col, "flag", _eq(col, v))

    def label(self, item: Item, col: str) -> Pred | None:
        v = value(self.ctx, item, col)
        if v is None or not self._ok(item, col, v):
            return None
        return _equals(item, col, v, "label")

    def like(self, item: Item, col: str) -> Pred | None:
        v = value(self.ctx, item, col)
        if not isinstance(v, str) or len(v) < 4 or not self._ok(item, col, v):
            return None
        s = self.pv.sample(item.table)
        prefixes = s.prefix_counts(col)
        total = len(s)
        for cut in _prefixes(v):
            n = prefixes.get(cut, 0)
            if 2 <= n < total * 0.9:
                # 'Baseline%', not 'Baseline %': a trailing space reads as a typo (review)
                cut = cut.rstrip(" ")
                return Pred(
                    ast.BinaryOp("LIKE", column(item, col), ast.String(cut + "%")),
                    item,
                    col,
                    "like",
                    lambda s, i, c=col, p=cut: str(s.value(i, c) or "").startswith(p),  # type: ignore[misc]
                )
        return None

    # ------------------------------------------------------------------ spatial

    def _geo(self, item: Item, g: GeomCol) -> Geo | None:
        return self.pv.geo(item.table, g.name, item.pivot)

    def near_point(self, item: Item, g: GeomCol, small: bool = False) -> Pred | None:
        """``ST_DWithin(g, <a point near the pivot>, d)``: a corpus place when one lies
        close to the pivot, else a point a short walk from it (``small``: a few metres)."""
        geo = self._geo(item, g)
        if geo is None or self.box is not None or self.place_asked:
            return None
        if self.place is not None:
            px, py = self.place
            if metres(px, py, geo.x, geo.y) > PLACE_REACH_M:
                return None
        else:
            px, py = (round(geo.x, 5), round(geo.y, 5)) if small else self._place_near(geo)
            self.place = (px, py)
        needed = metres(px, py, geo.x, geo.y)
        if not self.ctx.trusted:  # a stand-in's rows lie roughly where the user's do
            needed = max(needed, 300.0)
        d = distance_over(needed, self.ctx.pools.distances, self.rng)
        ref = column(item, g.name)
        expr = self.sp.within_distance(ref, g.srid, self.sp.point(px, py, g.srid), g.srid, d)
        return Pred(
            expr,
            item,
            g.name,
            "spatial",
            lambda s, i, c=g.name, px=px, py=py, d=d: _near(s, c, i, px, py, d),  # type: ignore[misc]
            place=True,
        )

    def in_box(self, item: Item, g: GeomCol) -> Pred | None:
        geo = self._geo(item, g)
        if geo is None or self.place is not None or self.box is not None or self.place_asked:
            return None
        lo, hi = (150, 700) if self.ctx.trusted else (500, 1500)
        pad = [self.rng.uniform(lo, hi) / EARTH_M_PER_DEG for _ in range(4)]
        k = math.cos(math.radians(geo.y))
        box = (
            math.floor((geo.xmin - pad[0] / k) * 1e4) / 1e4,
            math.floor((geo.ymin - pad[1]) * 1e4) / 1e4,
            math.ceil((geo.xmax + pad[2] / k) * 1e4) / 1e4,
            math.ceil((geo.ymax + pad[3]) * 1e4) / 1e4,
        )
        self.box = box
        ref = column(item, g.name)
        env = self.sp.envelope(box, g.srid)
        within = g.dim == 0 or self.rng.random() < 0.3
        name = "ST_Within" if within and self.ctx.can("ST_Within") else "ST_Intersects"
        if name == "ST_Within" and not (
            box[0] <= geo.xmin and box[1] <= geo.ymin and box[2] >= geo.xmax and box[3] >= geo.ymax
        ):
            name = "ST_Intersects"
        expr = self.sp.call(name, ref, env)
        return Pred(
            expr,
            item,
            g.name,
            "spatial",
            lambda s, i, c=g.name, b=box: _in_box(s, c, i, b),  # type: ignore[misc]
            place=True,
        )

    def contains_point(self, item: Item, g: GeomCol) -> Pred | None:
        """For polygons: the one containing a point (the pivot's point on surface)."""
        geo = self._geo(item, g)
        if geo is None or geo.dim != 2 or not self.ctx.trusted or self.box is not None:
            return None
        if self.place_asked:
            return None
        px, py = round(geo.x, 5), round(geo.y, 5)
        if self.place not in (None, (px, py)):
            return None  # a second place
        self.place = (px, py)
        ref = column(item, g.name)
        contains = self.rng.random() < 0.6 and self.ctx.can("ST_Contains")
        name = "ST_Contains" if contains else "ST_Intersects"
        expr = self.sp.call(name, ref, self.sp.point(px, py, g.srid))
        return Pred(
            expr,
            item,
            g.name,
            "spatial",
            lambda s, i, c=g.name, b=(px, py, px, py): _in_box(s, c, i, b),  # type: ignore[misc]
            place=True,
        )

    def size_over(self, item: Item, g: GeomCol) -> Pred | None:
        """``ST_Area(g) >= a`` (polygons) or ``ST_Length(g) >= l`` (lines), in metres."""
        geo = self._geo(item, g)
        if geo is None or geo.dim == 0 or geo.size <= 0 or not self.ctx.trusted:
            return None
        dec = self.pv.sample(item.table).size_deciles(g.name)
        lo = threshold(geo.size, "below", None, self.rng, True, dec)
        if lo <= 0:
            return None
        ref = column(item, g.name)
        fn = self.sp.area if geo.dim == 2 else self.sp.length
        expr = ast.BinaryOp(
            ">=" if self.rng.random() < 0.5 else ">", fn(ref, g.srid), literal(int(lo))
        )
        if isinstance(expr, ast.BinaryOp) and expr.op == ">" and lo >= geo.size:
            expr = ast.BinaryOp(">=", expr.left, expr.right)
        return Pred(
            expr,
            item,
            g.name + "$size",
            "spatial",
            lambda s, i, c=g.name, lo=lo: _size(s, c, i) >= lo,  # type: ignore[misc]
        )

    def raster_at(self, item: Item, r: GeomCol) -> Pred | None:
        """The tile covering a place (inside the pivot's tile)."""
        at = self.pv.tile_point(item.table, r.name, item.pivot)
        tile = self.pv.tile(item.table, r.name, item.pivot)
        if at is None or tile is None or self.box is not None or self.place_asked:
            return None
        if self.place is not None:
            if not tile.covers(*self.place):
                return None  # a second place
            at = self.place
        self.place = at
        point = self.sp.point(at[0], at[1], tile.srid)
        expr = self.sp.call("ST_Intersects", column(item, r.name), point)
        return Pred(
            expr,
            item,
            r.name,
            "spatial",
            lambda s, i, c=r.name, x=at[0], y=at[1]: _tile_covers(s, c, i, x, y),  # type: ignore[misc]
            place=True,
        )

    def place_for(self, geo: Geo) -> tuple[float, float] | None:
        """The query's place for a distance from ``geo`` (chosen near it when the query
        has none yet); None when the query's place is a box or lies too far."""
        if self.box is not None:
            return None
        if self.place is None:
            self.place = self._place_near(geo)
        elif metres(*self.place, geo.x, geo.y) > PLACE_REACH_M:
            return None
        return self.place

    def _place_near(self, geo: Geo) -> tuple[float, float]:
        places = [
            p
            for p in self.ctx.pools.points_near(geo.x, geo.y)
            if metres(p[0], p[1], geo.x, geo.y) <= 1200
            and (self.ctx.trusted or self.ctx.pools.in_region(p[0], p[1]))
        ]
        if places and (self.rng.random() < 0.8 or not self.ctx.trusted):
            return self.rng.choice(places)
        pools = self.ctx.pools
        for _ in range(8):  # a stand-in's point: inside the corpus's region
            r = self.rng.uniform(20, 400)
            a = self.rng.uniform(0, 2 * math.pi)
            k = math.cos(math.radians(geo.y))
            x = round(geo.x + r * math.cos(a) / (EARTH_M_PER_DEG * k), 5)
            y = round(geo.y + r * math.sin(a) / EARTH_M_PER_DEG, 5)
            if self.ctx.trusted or pools.in_region(x, y):
                break
        else:
            x, y = round(geo.x, 5), round(geo.y, 5)
        return x, y


def _prefixes(v: str) -> list[str]:
    out = []
    for sep in (" ", "_", "-"):
        if sep in v:
            head = v.split(sep)[0] + sep
            if len(head) >= 3:
                out.append(head)
    return out


def _num(v: float, integer: bool) -> int | float:
    return int(v) if integer or float(v).is_integer() else v


def _in(v: Any, lo: float, hi: float) -> bool:
    return isinstance(v, (int, float)) and lo <= v <= hi


def _cmp(v: Any, op: str, t: float) -> bool:
    if not isinstance(v, (int, float)) or isinstance(v, bool):
        return False
    return {">=": v >= t, ">": v > t, "<=": v <= t, "<": v < t}[op]


def _geo_of(s: TableSample, col: str, i: int) -> Geo | None:
    g = s.geo.get(col)
    return g[i] if g else None


def _near(s: TableSample, col: str, i: int, px: float, py: float, d: float) -> bool:
    g = _geo_of(s, col, i)
    return g is not None and metres(g.x, g.y, px, py) <= d


def _in_box(s: TableSample, col: str, i: int, b: tuple[float, float, float, float]) -> bool:
    g = _geo_of(s, col, i)
    return g is not None and not (g.xmax < b[0] or g.xmin > b[2] or g.ymax < b[1] or g.ymin > b[3])


def _tile_covers(s: TableSample, col: str, i: int, x: float, y: float) -> bool:
    t = s.tiles.get(col)
    return bool(t and t[i] is not None and t[i].covers(x, y))  # type: ignore[union-attr]


def _size(s: TableSample, col: str, i: int) -> float:
    g = _geo_of(s, col, i)
    return g.size if g is not None else 0.0
