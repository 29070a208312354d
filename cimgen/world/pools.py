"""Literal pools: the values each column may be compared with, and where they came from.

Precedence, per column (issue "literals from where the data is"):

1. ``live`` -- a live database: PostgreSQL's own statistics (``pg_stats`` most common
   values and histogram bounds), read by :func:`cimgen.world.live.live_stats`;
2. ``corpus`` -- the Stage 1 corpus: the literals it compares the column with, weighted by
   how often it does;
3. ``fixture`` -- the values of the sampled world (the embedded fixture).

Points and distances follow the same order (live: the sampled rows of the live database;
corpus: its ``ST_MakePoint`` / ``ST_MakeEnvelope`` / ``ST_DWithin`` literals).

The corpus's places also give a *region* (:func:`corpus_region`): the box of its point
literals, an outlier far from the others left out, padded by a few hundred metres. When
the fixture stands in for the user's database (a DDL file), the fixture is bigger than
what the corpus shows of the user's data, so pivots, points and boxes are kept inside this
region: a place the corpus never went near is a place the user's data may not reach.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cimgen.schema.model import Schema
from cimgen.world.corpus import CorpusFacts
from cimgen.world.model import World

SOURCES = ("live", "corpus", "fixture")
POOL_SIZE = 60  # values kept per column (most frequent first)
REGION_KM = 3.0  # a corpus place further than this from the median place is an outlier
REGION_PAD_M = 400.0  # the region reaches this far beyond the corpus's places
M_PER_DEG = 111_320.0

Box = tuple[float, float, float, float]  # lon/lat: xmin, ymin, xmax, ymax


@dataclass(frozen=True)
class Pool:
    values: tuple[Any, ...]  # most frequent first
    weights: tuple[float, ...]
    source: str

    def __contains__(self, v: object) -> bool:
        return v in self.values


@dataclass
class LiteralPools:
    columns: dict[tuple[str, str], Pool] = field(default_factory=dict)
    distances: tuple[float, ...] = ()
    distance_source: str = "default"
    points: tuple[tuple[float, float], ...] = ()
    point_source: str = "none"
    region: Box | None = None  # where the corpus's places lie (corpus_region)

    _grid: dict[tuple[int, int], list[tuple[float, float]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def get(self, table: str, column: str) -> Pool | None:
        return self.columns.get((table, column))

    def points_near(self, x: float, y: float) -> list[tuple[float, float]]:
        """Pool points in the 0.02-degree cells around (x, y) (a grid built on first use)."""
        if not self._grid and self.points:
            for p in self.points:
                self._grid.setdefault((int(p[0] // 0.02), int(p[1] // 0.02)), []).append(p)
        cx, cy = int(x // 0.02), int(y // 0.02)
        out: list[tuple[float, float]] = []
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                out.extend(self._grid.get((cx + dx, cy + dy), ()))
        return out

    def sources(self) -> dict[str, Any]:
        """Where each column's pool came from (recorded in the model manifest)."""
        by_column = {f"{t}.{c}": p.source for (t, c), p in sorted(self.columns.items())}
        counts = Counter(by_column.values())
        return {
            "columns": by_column,
            "counts": {s: counts.get(s, 0) for s in SOURCES},
            "distances": self.distance_source,
            "points": self.point_source,
            "region": list(self.region) if self.region else None,
        }

    def in_region(self, x: float, y: float) -> bool:
        """Whether (x, y) lies in the corpus's region (True without one)."""
        r = self.region
        return r is None or (r[0] <= x <= r[2] and r[1] <= y <= r[3])


def build_pools(
    schema: Schema,
    world: World,
    corpus: CorpusFacts | None = None,
    live: dict[tuple[str, str], Pool] | None = None,
) -> LiteralPools:
    """Pools for every plain column: live statistics, else corpus literals, else the world."""
    out = LiteralPools()
    for t in schema.tables:
        sample = world.table(t.qualified)
        for c in t.columns:
            key = (t.qualified, c.name)
            if live and key in live and live[key].values:
                out.columns[key] = live[key]
                continue
            seen = corpus.literals.get(key) if corpus else None
            if seen:
                ranked = seen.most_common(POOL_SIZE)
                out.columns[key] = Pool(
                    tuple(v for v, _ in ranked), tuple(float(n) for _, n in ranked), "corpus"
                )
                continue
            if sample is not None and sample.has(c.name):
                counts = sample.counts(c.name).most_common(POOL_SIZE)
                if counts:
                    out.columns[key] = Pool(
                        tuple(v for v, _ in counts),
                        tuple(float(n) for _, n in counts),
                        "live" if world.source == "postgis" else "fixture",
                    )
    if corpus and corpus.distances:
        out.distances = tuple(sorted(corpus.distances))
        out.distance_source = "corpus"
    if world.source == "postgis":
        out.point_source = "live"
    elif corpus and corpus.points:
        out.points = tuple(sorted(corpus.points))
        out.point_source = "corpus"
        out.region = corpus_region(corpus.points)
    else:
        out.point_source = "fixture"
    return out


def corpus_region(points: Counter[tuple[float, float]]) -> Box | None:
    """The box of the corpus's place literals (lon/lat), padded by :data:`REGION_PAD_M`.

    A place further than :data:`REGION_KM` from the median place is left out (a query
    about a landmark outside the data, as real corpora have: it returned nothing). None
    without places.

    >>> from collections import Counter
    >>> corpus_region(Counter({(7.68, 45.05): 2, (7.69, 45.06): 1, (7.77, 45.08): 1}))
    (7.67491, 45.04641, 7.69509, 45.06359)
    """
    if not points:
        return None
    xs = sorted(p[0] for p, n in points.items() for _ in range(n))
    ys = sorted(p[1] for p, n in points.items() for _ in range(n))
    mx, my = xs[len(xs) // 2], ys[len(ys) // 2]
    k = math.cos(math.radians(my))
    kept = [
        p
        for p in points
        if math.hypot((p[0] - mx) * M_PER_DEG * k, (p[1] - my) * M_PER_DEG) <= REGION_KM * 1000
    ]
    if not kept:
        return None
    px, py = REGION_PAD_M / (M_PER_DEG * k), REGION_PAD_M / M_PER_DEG
    return (
        round(min(p[0] for p in kept) - px, 5),
        round(min(p[1] for p in kept) - py, 5),
        round(max(p[0] for p in kept) + px, 5),
        round(max(p[1] for p in kept) + py, 5),
    )
