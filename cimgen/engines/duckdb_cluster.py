"""PostGIS's window clusterings (``ST_ClusterDBSCAN``, ``ST_ClusterKMeans``) on DuckDB.

DuckDB spatial has no clustering function, and a scalar UDF sees chunks of rows, never a
window's partition. The DuckDB renderer (:mod:`cimgen.render.duckdb`) therefore writes a
clustering call as ``cimgen_cluster(kind, a, b, input_sql, key, ST_AsWKB(g))``:
``input_sql`` is a self-contained query returning every row the window sees (its
position ``i``, partition key ``k``, geometry as WKB, and what the algorithm needs: the
neighbours within ``eps`` for DBSCAN, computed by DuckDB with a spatial join; the
centroid for k-means). On its first call the UDF runs ``input_sql`` on a second cursor of
the same (read-only) database, clusters each partition here, and answers every row by
(partition key, WKB) -- rows with equal geometry in one partition get one label in both
algorithms. Answers are kept per (kind, parameters, input query) -- the fixture is
read-only --, so a query costs one extra scan of the clustered rows (and, for DBSCAN, the
pairs within eps: a DBSCAN with more than ``MAX_PAIRS`` candidate pairs is refused).

Semantics follow PostGIS 3.3 (liblwgeom ``lwgeom_geos_cluster.c``, ``lwkmeans.c``):

* DBSCAN: a row is core when at least ``minpoints`` rows (itself included) lie within
  ``eps`` (planar, in the geometry's units); cores within ``eps`` of each other share a
  cluster; a border row joins the cluster of the first core, in partition order, that
  reaches it; the rest is noise (NULL). A partition of at most ``minpoints`` rows has no
  cluster (PostGIS bails out); with ``minpoints <= 1`` every row is in a cluster.
* k-means: on the centroid of each non-empty geometry; PostGIS's deterministic seeding
  (the greedy farthest pair, then farthest points), Lloyd iterations until no row moves,
  ``k`` capped at the number of non-empty rows, and the ``max_radius`` split pass.

Cluster numbers: k-means clusters are numbered by their seeds as in PostGIS, so they are
PostGIS's numbers whenever the rows reach the window in the same order (a table scan:
insertion order in both engines; an ORDER BY in the window). PostGIS numbers DBSCAN
clusters by their union-find roots, which depend on its R-tree's visiting order; here
they are numbered 0, 1, ... in the order of their first row -- often the same numbers;
the partition is PostGIS's (tests/test_duckdb_cluster.py compares; docs/backends.md).
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from duckdb.func import FunctionNullHandling, PythonUDFType

from cimgen.errors import QueryError
from cimgen.render.duckdb_cluster import CLUSTER_FUNCTION as FUNCTION
from cimgen.render.duckdb_cluster import MAX_PAIRS

_KEPT = 32  # input queries whose labels are kept per connection


@dataclass(frozen=True)
class ClusterSummary:
    """What one clustering call made of its rows (all partitions together): the result
    checks judge it (RES004-RES006) and records carry it (``checks.duckdb.clusters``)."""

    kind: str  # "dbscan" | "kmeans"
    asked: int  # minpoints | k
    rows: int  # rows with a geometry
    partitions: int
    clusters: int
    noise: int  # rows with a geometry but no cluster (DBSCAN)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "asked": self.asked,
            "rows": self.rows,
            "partitions": self.partitions,
            "clusters": self.clusters,
            "noise": self.noise,
        }


_Call = tuple[str, float, float, str]  # kind, a, b, input query
_Labels = dict[tuple[str, bytes], int | None]  # (partition key, WKB) -> cluster number


class _Clusterer:
    """The UDF's state for one database: labels per call, and the log of the calls served
    since :func:`take_clusterings` last asked.

    A database file opened twice in one process is one DuckDB instance, and a Python UDF
    belongs to the instance: the second connection finds the function defined and shares
    this state; nested queries run on a cursor of the latest connection. The connections
    are held weakly: a process that opens and drops many keeps none of them alive."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cons = [weakref.ref(con)]  # connections to the instance, latest last
        self.cursor: duckdb.DuckDBPyConnection | None = None
        # labels per (kind, a, b, input query): one input query serves k = 2 and k = 3
        self.kept: dict[_Call, tuple[_Labels, ClusterSummary]] = {}
        self.log: dict[_Call, ClusterSummary] = {}

    def attach(self, con: duckdb.DuckDBPyConnection) -> None:
        self.cons = [c for c in self.cons if c() is not None] + [weakref.ref(con)]
        self.cursor = None

    def _read(self, sql: str) -> pa.Table:
        """Run an input query on a cursor of a connection still open (latest first)."""
        while True:
            try:
                if self.cursor is None:
                    con = self.cons[-1]()
                    if con is None:
                        raise duckdb.ConnectionException("the connection was dropped")
                    self.cursor = con.cursor()
                return self.cursor.execute(sql).to_arrow_table()
            except duckdb.ConnectionException:
                if len(self.cons) == 1:
                    raise
                self.cons.pop()
                self.cursor = None

    def labels(self, call: _Call) -> tuple[_Labels, ClusterSummary]:
        done = self.kept.get(call)
        if done is None:
            table = self._read(call[3])
            if (
                call[0] == "dbscan"
                and table.num_rows
                and table.column("pairs")[0].as_py() > MAX_PAIRS
            ):
                raise QueryError(
                    f"DBSCAN with eps {call[1]:g} has over {MAX_PAIRS:,} candidate pairs "
                    "of rows to measure: too costly to check"
                )
            done = _labels(table, call[0], call[1], call[2])
            if len(self.kept) >= _KEPT:
                self.kept.clear()
            self.kept[call] = done
        self.log[call] = done[1]
        return done

    def __call__(self, kind: Any, a: Any, b: Any, sql: Any, key: Any, wkb: Any) -> pa.Array:
        """Labels for one chunk of rows. ``kind``, ``a``, ``b`` and ``sql`` are the literals
        of one call site (the renderer writes them), so only their first value is read: the
        input query repeated on every row was ~5 MB of text per query over 3,000 rows."""
        if len(wkb) == 0:
            return pa.array([], pa.int32())
        call = (kind[0].as_py(), float(a[0].as_py()), float(b[0].as_py()), sql[0].as_py())
        labels, _ = self.labels(call)
        got = labels.get
        return pa.array(
            [
                None if w is None else got((k, w))
                for k, w in zip(key.to_pylist(), wkb.to_pylist(), strict=True)
            ],
            pa.int32(),
        )


_BY_DATABASE: dict[str, _Clusterer] = {}  # by the file the instance opened ("" in memory)
# by the connection itself, weakly: an entry goes with its connection (keyed by ``id``, one
# stayed per connection ever opened, and a new connection could reuse a dropped one's id)
_BY_CONNECTION: weakref.WeakKeyDictionary[duckdb.DuckDBPyConnection, _Clusterer] = (
    weakref.WeakKeyDictionary()
)


def take_clusterings(con: duckdb.DuckDBPyConnection) -> tuple[ClusterSummary, ...]:
    """The summaries of the clusterings ``con`` computed or served since the last call."""
    state = _BY_CONNECTION.get(con)
    if state is None or not state.log:
        return ()
    out = tuple(state.log.values())
    state.log.clear()
    return out


def dbscan(neighbours: Sequence[Sequence[int] | None], minpoints: int) -> list[int | None]:
    """Cluster numbers (None: noise or no geometry) of rows ``0..n-1`` from each row's
    neighbours within eps (itself included; None for a NULL or empty geometry).

    >>> dbscan([[0, 1], [0, 1, 2], [1, 2], [3]], 2)
    [0, 0, 0, None]
    """
    n = len(neighbours)
    if minpoints > 1 and n <= minpoints:
        return [None] * n
    parent = list(range(n))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(a: int, b: int) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    if minpoints <= 1:
        member = [nb is not None for nb in neighbours]
        for p, nb in enumerate(neighbours):
            for q in nb or ():
                union(p, q)
    else:
        member = [False] * n
        core = [False] * n
        for p, nb in enumerate(neighbours):
            if nb is None or len(nb) < minpoints:
                continue
            core[p] = member[p] = True
            for q in nb:
                if not member[q]:  # a border row is taken by the first core reaching it
                    member[q] = True
                    union(p, q)
                elif core[q]:
                    union(p, q)
    numbers: dict[int, int] = {}
    out: list[int | None] = []
    for i in range(n):
        if not member[i]:
            out.append(None)
            continue
        out.append(numbers.setdefault(find(i), len(numbers)))
    return out


def _sq(a: tuple[float, float], b: tuple[float, float]) -> float:
    return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2


def _seeds(points: list[tuple[float, float]], k: int) -> list[tuple[float, float]]:
    """PostGIS's ``kmeans_init``: the greedy farthest pair, then the farthest points."""
    if k < 2:
        return [points[0]]
    p1 = p2 = 0
    best = -1.0
    for i in range(1, len(points)):
        d1, d2 = _sq(points[i], points[p1]), _sq(points[i], points[p2])
        if d1 > best or d2 > best:
            if d1 > d2:
                best, p2 = d1, i
            else:
                best, p1 = d2, i
    centers = [points[p1], points[p2]]
    if k > 2:
        dist = [_sq(p, centers[0]) for p in points]
        dist[p1] = dist[p2] = -1.0
        for c in range(2, k):
            pick, far = 0, -float("inf")
            for j, p in enumerate(points):
                if dist[j] < 0:
                    continue
                dist[j] = min(dist[j], _sq(p, centers[c - 1]))
                if dist[j] > far:
                    pick, far = j, dist[j]
            dist[pick] = -1.0
            centers.append(points[pick])
    return centers


def _update_r(
    points: Any, assign: Any, centers: list[tuple[float, float]]
) -> tuple[bool, list[float]]:
    """Move each row to its nearest centre (the first on a tie): (moved, squared radii).
    ``points`` an (n, 2) float array, ``assign`` an int array changed in place: numpy does
    per row what PostGIS's loop does (the same float operations, ``argmin`` keeps the
    first of equal distances), ~20x faster than a Python loop on thousands of rows."""
    c = np.asarray(centers, dtype=float)
    d = (points[:, None, 0] - c[None, :, 0]) ** 2 + (points[:, None, 1] - c[None, :, 1]) ** 2
    at = np.argmin(d, axis=1)
    best = d[np.arange(len(points)), at]
    moved = bool(np.any(assign != at))
    assign[:] = at
    radii = np.zeros(len(centers))
    np.maximum.at(radii, at, best)
    return moved, [float(r) for r in radii]


def _update_means(points: Any, assign: Any, centers: list[tuple[float, float]]) -> None:
    """Each centre becomes the mean of its rows ((0, 0) for a centre with none); the sums
    are taken in row order, as the loop did (``bincount`` adds in index order)."""
    k = len(centers)
    sx = np.bincount(assign, weights=points[:, 0], minlength=k)
    sy = np.bincount(assign, weights=points[:, 1], minlength=k)
    w = np.bincount(assign, minlength=k)
    for c in range(k):
        centers[c] = (float(sx[c] / w[c]), float(sy[c] / w[c])) if w[c] else (0.0, 0.0)


def _iterate(points: Any, assign: Any, centers: list[tuple[float, float]]) -> list[float]:
    """Lloyd iterations until no row moves (at most 1,000): the squared radii."""
    radii: list[float] = []
    for _ in range(1000):
        moved, radii = _update_r(points, assign, centers)
        if not moved:
            break
        _update_means(points, assign, centers)
    return radii


def _kmeans(
    points: list[tuple[float, float]], k: int, max_radius: float
) -> tuple[list[int], list[tuple[float, float]], list[float]]:
    """PostGIS's ``kmeans``: seeds, one full pass, iterations, then (``max_radius``) the
    x-means pass that splits every cluster wider than the radius in two, until none is."""
    centers = _seeds(points, k)
    xy = np.asarray(points, dtype=float).reshape(-1, 2)
    assign = np.zeros(len(points), dtype=np.int64)
    _update_r(xy, assign, centers)
    _update_means(xy, assign, centers)
    radii = _iterate(xy, assign, centers)
    for _ in range(1000):
        if max_radius <= 0 or not _split(points, assign, centers, radii, max_radius):
            break
        radii = _iterate(xy, assign, centers)
    return [int(a) for a in assign], centers, radii


def _split(
    points: list[tuple[float, float]],
    assign: Any,
    centers: list[tuple[float, float]],
    radii: list[float],
    max_radius: float,
) -> bool:
    """PostGIS's ``improve_structure``: 2-means on each cluster wider than ``max_radius``
    (in place); whether any was split."""
    limit, k = max_radius * max_radius, len(centers)
    grown = False
    for c in range(k):
        members = [i for i, a in enumerate(assign) if a == c]
        if radii[c] <= limit or len(members) <= 1:
            continue
        sub, sub_centers, sub_radii = _kmeans([points[i] for i in members], 2, 0.0)
        new = len(centers)
        for i, s in zip(members, sub, strict=True):
            if s:
                assign[i] = new
        centers[c], radii[c] = sub_centers[0], sub_radii[0]
        centers.append(sub_centers[1])
        radii.append(sub_radii[1])
        grown = True
    return grown


def kmeans(
    points: Sequence[tuple[float, float] | None], k: int, max_radius: float = 0.0
) -> list[int | None]:
    """Cluster numbers (None: no geometry) of each row's centroid, PostGIS's k-means.

    >>> kmeans([(0, 0), (0, 1), (10, 0), None], 2)
    [0, 0, 1, None]
    """
    dense = [p for p in points if p is not None]
    k = min(k, len(dense))
    if k <= 0:
        return [None] * len(points)
    assign, _, _ = _kmeans(dense, k, max_radius)
    it = iter(assign)  # numbered by seed, as PostGIS numbers them
    return [None if p is None else next(it) for p in points]


def _labels(
    table: pa.Table, kind: str, a: float, b: float
) -> tuple[dict[tuple[str, bytes], int | None], ClusterSummary]:
    """(partition key, WKB) -> cluster number for the rows ``input_sql`` returned, and the
    summary of the clustering."""
    keys = table.column("k").to_pylist()
    wkbs = table.column("wkb").to_pylist()
    parts: dict[str, list[int]] = {}
    for i, key in enumerate(keys):
        parts.setdefault(key, []).append(i)
    out: dict[tuple[str, bytes], int | None] = {}
    rows_with, clusters, noise = 0, 0, 0

    def tally(rows: list[int], got: list[int | None]) -> None:
        nonlocal rows_with, clusters, noise
        for r, label in zip(rows, got, strict=True):
            if wkbs[r] is None:
                continue
            rows_with += 1
            noise += label is None
            out.setdefault((keys[r], wkbs[r]), label)
        clusters += len({g for g in got if g is not None})

    if kind == "dbscan":
        nbs = table.column("nb").to_pylist()
        for rows in parts.values():
            local = {r: j for j, r in enumerate(rows)}
            got = dbscan(
                [None if nbs[r] is None else [local[q] for q in nbs[r]] for r in rows], int(b)
            )
            tally(rows, got)
    else:
        xs, ys = table.column("x").to_pylist(), table.column("y").to_pylist()
        for rows in parts.values():
            pts = [None if xs[r] is None else (xs[r], ys[r]) for r in rows]
            tally(rows, kmeans(pts, int(a), b))
    asked = int(b) if kind == "dbscan" else int(a)
    return out, ClusterSummary(kind, asked, rows_with, len(parts), clusters, noise)


def install_clustering(con: duckdb.DuckDBPyConnection) -> None:
    """Define the ``cimgen_cluster`` UDF on ``con``'s database (once per instance)."""
    path = con.execute(
        "SELECT coalesce(path, '') FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    where = str(path[0]) if path else ""
    defined = con.execute(
        "SELECT count(*) FROM duckdb_functions() WHERE function_name = ?", [FUNCTION]
    ).fetchone()
    state = _BY_DATABASE.get(where) if where and defined and defined[0] else None
    if state is not None:
        state.attach(con)
    else:
        state = _Clusterer(con)
        if where:
            _BY_DATABASE[where] = state
        con.create_function(
            FUNCTION,
            state,
            ["VARCHAR", "DOUBLE", "DOUBLE", "VARCHAR", "VARCHAR", "BLOB"],
            "INTEGER",
            type=PythonUDFType.ARROW,
            null_handling=FunctionNullHandling.SPECIAL,
        )
    _BY_CONNECTION[con] = state
