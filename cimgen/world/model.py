"""Facts about the data the generated queries will run on: sampled rows, where each
geometry lies, which rows are near which, which raster tile covers what.

A :class:`World` is read once per run from the check database (the embedded fixture, or
a live PostGIS database when one is given; :mod:`cimgen.world.probe`) and handed to the
expander, which builds every predicate *true for a chosen row* (a pivot, as in SQLancer's
pivoted query synthesis), so that queries return rows by construction.

All coordinates here are lon/lat (EPSG:4326); sizes and distances are metres.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Geo:
    """Where one geometry value lies: a point on its surface, its box and its size
    (area in m² for polygons, length in m for lines, 0 for points)."""

    x: float
    y: float
    xmin: float
    ymin: float
    xmax: float
    ymax: float
    size: float
    dim: int  # 0 point, 1 line, 2 polygon


@dataclass(frozen=True)
class Near:
    """Another row close to a pivot row: ``row`` indexes the other table's sample;
    ``inside``: the pivot geometry lies within the other; ``covers``: the pivot geometry
    contains the other; ``distance`` in metres (0 when they intersect)."""

    row: int
    distance: float
    intersects: bool
    inside: bool
    covers: bool


@dataclass(frozen=True)
class Tile:
    """A raster tile: its box (lon/lat), SRID and cell statistics (nodata excluded)."""

    xmin: float
    ymin: float
    xmax: float
    ymax: float
    srid: int
    min: float
    max: float
    mean: float

    def covers(self, x: float, y: float) -> bool:
        return self.xmin <= x <= self.xmax and self.ymin <= y <= self.ymax


NearKey = tuple[str, str, str]
ESTIMATION_ROWS = 400  # (geometry column, other table, other geometry column)


@dataclass
class TableSample:
    """Sampled rows of one table with their facts.

    ``rows`` hold the plain (scalar) columns in ``columns`` order. ``geo[col][i]`` is the
    :class:`Geo` of row *i*'s geometry (None when NULL); ``tiles[col][i]`` the :class:`Tile`
    of row *i*'s raster. ``near[(col, other, other_col)][i]`` lists the nearest rows of the
    other table for the *pivot* rows (``pivots``) only. ``total`` is the table's row count
    (an estimate on a live database).
    """

    table: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    total: int
    geo: dict[str, list[Geo | None]] = field(default_factory=dict)
    tiles: dict[str, list[Tile | None]] = field(default_factory=dict)
    pivots: tuple[int, ...] = ()
    near: dict[NearKey, dict[int, tuple[Near, ...]]] = field(default_factory=dict)
    _pos: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _indexes: dict[tuple[str, ...], dict[tuple[Any, ...], list[int]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _counts: dict[str, Counter[Any]] = field(default_factory=dict, repr=False, compare=False)
    _lists: dict[str, list[float]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._pos.update({c: i for i, c in enumerate(self.columns)})

    def __len__(self) -> int:
        return len(self.rows)

    def has(self, column: str) -> bool:
        return column in self._pos

    def value(self, i: int, column: str) -> Any:
        return self.rows[i][self._pos[column]]

    def position(self, column: str) -> int:
        """Where ``column`` is in each of :attr:`rows`."""
        return self._pos[column]

    def values(self, column: str) -> list[Any]:
        k = self._pos[column]
        return [r[k] for r in self.rows]

    def lookup(self, columns: tuple[str, ...], key: tuple[Any, ...]) -> list[int]:
        """Rows whose ``columns`` equal ``key`` (an index built on first use)."""
        index = self._indexes.get(columns)
        if index is None:
            pos = [self._pos[c] for c in columns]
            index = {}
            for i, r in enumerate(self.rows):
                index.setdefault(tuple(r[p] for p in pos), []).append(i)
            self._indexes[columns] = index
        return index.get(key, [])

    def counts(self, column: str) -> Counter[Any]:
        """Rows per non-NULL value of ``column`` (cached; treat as read-only)."""
        got = self._counts.get(column)
        if got is None:
            got = Counter(v for v in self.values(column) if v is not None)
            self._counts[column] = got
        return got

    def deciles(self, column: str) -> list[float]:
        """The 0th, 10th, ..., 100th percentiles of a numeric column (cached)."""
        key = "deciles:" + column
        got = self._lists.get(key)
        if got is None:
            vals = sorted(
                v
                for v in self.values(column)
                if isinstance(v, (int, float)) and not isinstance(v, bool)
            )
            got = [float(vals[(len(vals) - 1) * k // 10]) for k in range(11)] if vals else []
            self._lists[key] = got
        return got

    def size_deciles(self, column: str) -> list[float]:
        """Deciles of the geometry sizes (m² or m) of a geometry column (cached)."""
        key = "sizes:" + column
        got = self._lists.get(key)
        if got is None:
            vals = sorted(g.size for g in self.geo.get(column, []) if g is not None and g.size > 0)
            got = [vals[(len(vals) - 1) * k // 10] for k in range(11)] if vals else []
            self._lists[key] = got
        return got

    def prefix_counts(self, column: str) -> dict[str, int]:
        """Rows per leading word (up to and with the first space, ``_`` or ``-``) of a
        text column (cached)."""
        key = "prefix:" + column
        got = self._counts.get(key)
        if got is None:
            got = Counter()
            for v, n in self.counts(column).items():
                if isinstance(v, str):
                    for sep in (" ", "_", "-"):
                        if sep in v:
                            got[v.split(sep)[0] + sep] += n
            self._counts[key] = got
        return got

    def scale(self) -> float:
        """Rows of the table one sampled row stands for."""
        return self.total / len(self.rows) if self.rows else 1.0

    def estimation_rows(self) -> range:
        """Evenly spaced rows (at most ESTIMATION_ROWS) to estimate result sizes on."""
        step = max(1, len(self.rows) // ESTIMATION_ROWS)
        return range(0, len(self.rows), step)

    def estimation_scale(self) -> float:
        """Rows of the table one estimation row stands for."""
        n = len(self.estimation_rows())
        return self.total / n if n else 1.0

    def __getstate__(self) -> dict[str, Any]:  # caches are rebuilt where they are used
        state = dict(self.__dict__)
        state["_indexes"] = {}
        state["_counts"] = {}
        state["_lists"] = {}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for cache in ("_indexes", "_counts", "_lists"):
            self.__dict__.setdefault(cache, {})


@dataclass
class World:
    """The sampled rows and facts of every table, and where they came from."""

    source: str  # "fixture" | "postgis"
    tables: dict[str, TableSample]
    extent: tuple[float, float, float, float] | None = None  # lon/lat box of all geometries

    def table(self, qualified: str) -> TableSample | None:
        return self.tables.get(qualified)

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "extent": list(self.extent) if self.extent else None,
            "tables": {
                name: {"sampled": len(t), "rows": t.total, "pivots": len(t.pivots)}
                for name, t in sorted(self.tables.items())
            },
        }
