"""Literals: how values are written, and how thresholds are chosen so a pivot row passes.

A threshold is a value a person would type: one from the column's pool (the live
database's statistics, the corpus's literals, the fixture's values -- in that order) when
one lies on the pivot's side, else the pivot's value rounded to a "nice" number on the safe
side (``23.7`` passes ``>= 20`` and ``<= 25``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

from cimgen import ast
from cimgen.world.pools import Pool

EARTH_M_PER_DEG = 111_320.0  # metres per degree of latitude (and of longitude at the equator)
NICE_DISTANCES = (25, 50, 100, 150, 200, 250, 300, 500, 750, 1000, 1500, 2000, 3000, 5000)


def fmt(value: float, digits: int = 6) -> str:
    """A float as a person writes it: ``15.5``, ``132``, ``0.45``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def literal(value: Any) -> ast.Expr:
    if isinstance(value, bool):
        return ast.Boolean(value)
    if isinstance(value, int):
        return ast.Number(str(value))
    if isinstance(value, float):
        return ast.Number(fmt(value))
    if value is None:
        return ast.Null()
    return ast.String(str(value))


def number(value: float, digits: int = 6) -> ast.Number:
    return ast.Number(fmt(value, digits))


def _step(value: float) -> float:
    """Half a power of ten below ``value``: 23.7 -> 5, 377 -> 50, 0.45 -> 0.05."""
    return 10 ** math.floor(math.log10(abs(value))) / 2 if value else 1.0


def _clean(got: float, integer: bool) -> float:
    got = round(got, 6)
    return float(int(got)) if integer or float(got).is_integer() else got


def _rounded(value: float, integer: bool, up: bool, bounds: tuple[float, float] | None) -> float:
    """``value`` rounded down (or ``up``) to the roundest step that keeps it inside
    ``bounds`` (the column's smallest and largest value): years rounded by 500 leave the
    data ('built before 2500'), by 50 or 10 they stay in it."""
    step = _step(value)
    for _ in range(8):
        got = _clean((math.ceil if up else math.floor)(value / step) * step, integer)
        if bounds is None or bounds[0] <= got <= bounds[1]:
            return got
        step /= 5 if f"{step:e}".startswith("5") else 2  # 500, 100, 50, 10, 5, ...
    return _clean(value, integer)


def nice_below(
    value: float, integer: bool = False, bounds: tuple[float, float] | None = None
) -> float:
    """A round number at most ``value`` and not far below it (23.7 -> 20, 377 -> 350),
    inside ``bounds`` when given."""
    return _rounded(value, integer, False, bounds)


def nice_above(
    value: float, integer: bool = False, bounds: tuple[float, float] | None = None
) -> float:
    """A round number at least ``value`` and not far above it (23.7 -> 25, 377 -> 400),
    inside ``bounds`` when given."""
    return _rounded(value, integer, True, bounds)


def threshold(
    value: float,
    side: str,
    pool: Pool | None,
    rng: random.Random,
    integer: bool = False,
    deciles: list[float] | None = None,
) -> float:
    """A value ``v`` with ``pivot >= v`` (side ``"below"``) or ``pivot <= v`` (``"above"``).

    A literal the corpus or the live database's statistics hold for the column, on that
    side and within the column's range, when there is one; else a round number at one of
    the column's deciles on that side (so "height >= 15" keeps a sensible share of rows,
    not just the pivot); else the pivot's value rounded to the safe side.
    """
    lo_range = deciles[1] if deciles else None
    hi_range = deciles[9] if deciles else None
    if pool is not None and pool.source in ("corpus", "live"):
        cands = [
            float(v)
            for v in pool.values
            if isinstance(v, (int, float))
            and not isinstance(v, bool)
            and ((side == "below" and v <= value) or (side == "above" and v >= value))
            and (lo_range is None or lo_range <= v <= (hi_range if hi_range is not None else v))
        ]
        if cands:
            cands.sort(key=lambda v: abs(v - value))
            pick = rng.choice(cands[:3])
            if integer:  # a corpus's 4.1 floors on a count: the whole number on the safe side
                return float(math.floor(pick) if side == "below" else math.ceil(pick))
            return pick
    bounds = (deciles[0], deciles[-1]) if deciles else None
    if deciles:
        if side == "below":
            qs = [q for q in deciles[1:8] if q <= value]
            if qs:
                q = rng.choice(qs[-3:])
                got = nice_below(q, integer, bounds) if q > 0 else q
                if got <= value:
                    return got
        else:
            qs = [q for q in deciles[3:10] if q >= value]
            if qs:
                q = rng.choice(qs[:3])
                got = nice_above(q, integer, bounds) if q > 0 else q
                if got >= value:
                    return got
    if side == "below":
        return nice_below(value, integer, bounds)
    return nice_above(value, integer, bounds)


def pooled_threshold(
    value: float, side: str, pool: Pool | None, rng: random.Random, integer: bool = False
) -> float | None:
    """A literal of the corpus's (or live database's) pool on ``side`` of the pivot's
    ``value``, or None -- for a fixture that stands in for the user's database: its
    deciles are ours, not the user's, so a threshold taken inside them may lie beyond the
    user's data; the corpus's own thresholds are where its author knew the data to be.

    >>> from cimgen.world.pools import Pool
    >>> pool = Pool((1.5, 5.0), (1.0, 1.0), "corpus")
    >>> pooled_threshold(0.04, "above", pool, random.Random(0)) in (1.5, 5.0)
    True
    >>> pooled_threshold(0.04, "below", pool, random.Random(0)) is None
    True
    """
    if pool is None or pool.source not in ("corpus", "live"):
        return None
    return threshold(value, side, pool, rng, integer) if _on_side(value, side, pool) else None


def _on_side(value: float, side: str, pool: Pool) -> bool:
    return any(
        isinstance(v, (int, float))
        and not isinstance(v, bool)
        and ((side == "below" and v <= value) or (side == "above" and v >= value))
        for v in pool.values
    )


def distance_over(needed: float, pool: tuple[float, ...], rng: random.Random) -> float:
    """A distance a person would type that is at least ``needed`` metres (with margin)."""
    want = needed * 1.15 + 5.0
    pooled = sorted(d for d in pool if d >= want)
    if pooled and pooled[0] <= max(4 * want, want + 500):
        return pooled[0] if rng.random() < 0.7 else rng.choice(pooled[:3])
    nice = [d for d in NICE_DISTANCES if d >= want]
    if nice:
        return float(nice[0] if rng.random() < 0.7 else rng.choice(nice[:2]))
    return float(math.ceil(want / 1000.0) * 1000)


def neighbour_distance(
    points: list[tuple[float, float]], k: int, scale: float, quantile: float = 0.5
) -> float | None:
    """The ``quantile`` over ``points`` (lon, lat) of the distance in metres from each to its
    ``k``-th nearest other point, as in a table ``scale`` times as dense (the sampled rows
    stand for ``scale`` rows each: distances shrink by sqrt(scale)); None with k or fewer
    points. Measured from at most :data:`NEIGHBOUR_POINTS` of them (every n-th, in order)
    to all of them."""
    import numpy as np

    if len(points) <= k or k < 1:
        return None
    xy = np.asarray(points, dtype=float)
    ask = xy[:: max(1, math.ceil(len(points) / NEIGHBOUR_POINTS))]
    ky = EARTH_M_PER_DEG
    kx = ky * math.cos(math.radians(float(xy[:, 1].mean())))
    dx = (ask[:, None, 0] - xy[None, :, 0]) * kx
    dy = (ask[:, None, 1] - xy[None, :, 1]) * ky
    dist = np.partition(np.hypot(dx, dy), k, axis=1)[:, k]  # column 0: the point itself
    return float(np.quantile(dist, quantile)) / math.sqrt(max(scale, 1.0))


NEIGHBOUR_POINTS = 400
CHAIN_MARGIN = 2.0  # dbscan_clusters' eps widening beyond the sample's thinning


def dbscan_clusters(
    boxes: list[tuple[float, float, float, float]], eps: float, minpoints: int, scale: float
) -> int:
    """How many clusters DBSCAN (PostGIS's: a core has ``minpoints`` rows, itself included,
    within ``eps`` metres; cores within ``eps`` share a cluster) makes of the rows whose
    boxes (lon/lat: xmin, ymin, xmax, ymax) are ``boxes``, sampled one for ``scale`` rows
    each: the gap between two boxes (0 where they touch: a line network is one piece)
    against ``eps`` widened by sqrt(scale), so each sampled row finds as many sampled
    neighbours as a full row finds full ones, and by :data:`CHAIN_MARGIN` (buildings on
    blocks chain more readily than a random thinning of them keeps: of 200 clustering
    expansions on the stand-in world of seed 1, 6 of 110 DBSCAN still made one cluster
    without it, 1 of 86 with it). At most :data:`NEIGHBOUR_POINTS` boxes are
    read (every n-th, the scale widened to match); only clusters of two sampled cores or
    more are counted (one alone may be the thinning's gap); 0 with ``minpoints`` rows or
    fewer (PostGIS makes no cluster of them)."""
    return dbscan_counter(boxes, minpoints, scale)(eps)


def dbscan_counter(
    boxes: list[tuple[float, float, float, float]], minpoints: int, scale: float
) -> Callable[[float], int]:
    """:func:`dbscan_clusters` of ``boxes`` for any ``eps``: the gaps between the sampled
    boxes are measured once, and each eps tried only compares against them (an expansion
    tries up to ten round distances; group15 measured the matrix rebuilt per eps as +20 %
    of the expansion's CPU)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    if len(boxes) * max(scale, 1.0) <= minpoints or not boxes:
        return lambda eps: 0
    step = max(1, math.ceil(len(boxes) / NEIGHBOUR_POINTS))
    b = np.asarray(boxes[::step], dtype=float)
    scale = max(scale, 1.0) * len(boxes) / len(b)
    ky = EARTH_M_PER_DEG
    kx = ky * math.cos(math.radians(float((b[:, 1].mean() + b[:, 3].mean()) / 2)))
    gx = np.maximum(0.0, np.maximum(b[None, :, 0] - b[:, None, 2], b[:, None, 0] - b[None, :, 2]))
    gy = np.maximum(0.0, np.maximum(b[None, :, 1] - b[:, None, 3], b[:, None, 1] - b[None, :, 3]))
    gaps = np.hypot(gx * kx, gy * ky)
    root = math.sqrt(scale)

    def clusters(eps: float) -> int:
        near = gaps <= eps * root * CHAIN_MARGIN  # as written before: the same floats
        core = near.sum(axis=1) >= minpoints
        if not core.any():
            return 0
        _, labels = connected_components(csr_matrix(near[np.ix_(core, core)]), directed=False)
        # a cluster of one sampled core may be a thinning artefact: in the full table its
        # neighbours chain it to the rest
        return int((np.bincount(labels) >= 2).sum())

    return clusters


def nice_distance(metres: float) -> float:
    """The round distance a person would type nearest to ``metres`` (on a log scale)."""
    return float(min(NICE_DISTANCES, key=lambda d: abs(math.log(d / max(metres, 1.0)))))


def distance_under(limit: float, pool: tuple[float, ...]) -> float | None:
    """A round distance clearly below ``limit`` metres (for "no X within d")."""
    want = limit * 0.8 - 5.0
    pooled = sorted((d for d in pool if d <= want), reverse=True)
    if pooled:
        return pooled[0]
    nice = [d for d in NICE_DISTANCES if d <= want]
    return float(nice[-1]) if nice else None
