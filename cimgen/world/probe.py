"""Read a :class:`~cimgen.world.model.World` from a database: the embedded DuckDB fixture
(default) or a live PostGIS database (read-only, bounded in time, sampled: never a full
scan of a big table).

Both probes ask the same questions -- sample rows, where each geometry lies, which rows
of other tables are near a pivot row, what each raster tile covers -- in their own SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from cimgen import seeds
from cimgen.schema.model import DEFAULT_SRID, Column, Schema, Table
from cimgen.world.model import Geo, Near, NearKey, TableSample, Tile, World

PLAIN_KINDS = ("integer", "float", "text", "boolean", "timestamp")
NEAR_RADIUS_M = 1500.0  # partners further away than this are not recorded
NEAR_PER_PIVOT = 12  # nearest partners kept per pivot row and table


@dataclass(frozen=True)
class ProbeLimits:
    """How much a probe reads: rows per table, pivot rows per table (with near facts)."""

    rows: int = 8000
    pivots: int = 240
    seed: int = 0


def plain_columns(table: Table) -> tuple[Column, ...]:
    return tuple(c for c in table.columns if c.kind in PLAIN_KINDS)


class _Probe(Protocol):
    def sample(
        self, table: Table, limits: ProbeLimits
    ) -> tuple[list[Any], list[tuple[Any, ...]], int]:
        """(row keys, plain-column rows, total rows of the table)."""
        ...

    def geo(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Geo]: ...

    def near(
        self, a: Table, ga: Column, keys: Sequence[Any], b: Table, gb: Column
    ) -> list[tuple[Any, Any, float, bool, bool, bool]]:
        """(a key, b key, distance m, intersects, a within b, a contains b) for near pairs."""
        ...

    def tiles(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Tile]: ...


def read_world(schema: Schema, probe: _Probe, source: str, limits: ProbeLimits) -> World:
    """Sample every table and read the facts the expander needs (see module docstring).

    A probe over a sampled database (``complete``/``fetch``) also brings in the key
    partners of sampled rows and the rows found near pivots, so that links from a pivot
    land on rows the world knows.
    """
    keys: dict[str, list[Any]] = {}
    rows: dict[str, list[tuple[Any, ...]]] = {}
    totals: dict[str, int] = {}
    for t in schema.tables:
        keys[t.qualified], rows[t.qualified], totals[t.qualified] = probe.sample(t, limits)
    complete = getattr(probe, "complete", None)
    if complete is not None:
        _close_keys(schema, probe, keys, rows)
    samples: dict[str, TableSample] = {}
    for t in schema.tables:
        cols = tuple(c.name for c in plain_columns(t))
        samples[t.qualified] = TableSample(
            t.qualified, cols, rows[t.qualified], totals[t.qualified]
        )
        _facts(probe, t, samples[t.qualified], keys[t.qualified])
        rng = seeds.python_rng(limits.seed, "pivots", t.qualified)
        order = list(range(len(rows[t.qualified])))
        rng.shuffle(order)
        samples[t.qualified].pivots = tuple(sorted(order[: limits.pivots]))
    found_near: list[tuple[Table, Column, Table, Column, list[Any]]] = []
    for a in schema.tables:
        sa = samples[a.qualified]
        pivot_keys = [keys[a.qualified][i] for i in sa.pivots]
        for ga in a.geometry_columns:
            if not pivot_keys:
                continue
            for b in schema.tables:
                for gb in b.geometry_columns:
                    if a.qualified == b.qualified and ga.name != gb.name:
                        continue
                    found_near.append((a, ga, b, gb, probe.near(a, ga, pivot_keys, b, gb)))
    fetch = getattr(probe, "fetch", None)
    if fetch is not None:  # rows met near a pivot that the sample lacks
        for b in schema.tables:
            known = set(keys[b.qualified])
            missing = sorted(
                {r[1] for _, _, t, _, got in found_near if t is b for r in got} - known
            )
            if missing:
                new_keys, new_rows = fetch(b, missing)
                _extend(probe, b, samples[b.qualified], keys[b.qualified], new_keys, new_rows)
    for a, ga, b, gb, got in found_near:
        position = {k: i for i, k in enumerate(keys[a.qualified])}
        bpos = {k: i for i, k in enumerate(keys[b.qualified])}
        near: dict[int, list[Near]] = {}
        for ak, bk, dist, inter, within, contains in got:
            if ak in position and bk in bpos:
                near.setdefault(position[ak], []).append(
                    Near(bpos[bk], round(dist, 2), inter, within, contains)
                )
        key: NearKey = (ga.name, b.qualified, gb.name)
        samples[a.qualified].near[key] = {i: tuple(v) for i, v in sorted(near.items())}
    return World(source, samples, _extent(samples.values()))


def _facts(probe: _Probe, t: Table, sample: TableSample, row_keys: list[Any]) -> None:
    for c in t.columns:
        if c.kind == "geometry":
            found = probe.geo(t, c, row_keys)
            sample.geo[c.name] = [found.get(k) for k in row_keys]
        elif c.kind == "raster":
            tiles = probe.tiles(t, c, row_keys)
            sample.tiles[c.name] = [tiles.get(k) for k in row_keys]


def _extend(
    probe: _Probe,
    t: Table,
    sample: TableSample,
    row_keys: list[Any],
    new_keys: list[Any],
    new_rows: list[tuple[Any, ...]],
) -> None:
    extra = TableSample(t.qualified, sample.columns, new_rows, sample.total)
    _facts(probe, t, extra, new_keys)
    sample.rows.extend(new_rows)
    row_keys.extend(new_keys)
    for col, geos in extra.geo.items():
        sample.geo.setdefault(col, []).extend(geos)
    for col, tiles in extra.tiles.items():
        sample.tiles.setdefault(col, []).extend(tiles)


def _close_keys(
    schema: Schema, probe: Any, keys: dict[str, list[Any]], rows: dict[str, list[tuple[Any, ...]]]
) -> None:
    """One round of key partners: for each relation, the rows of either side whose keys
    the other side's sampled rows hold."""
    for r in schema.relations:
        for src, dst, scols, dcols in (
            (r.left, r.right, r.left_columns, r.right_columns),
            (r.right, r.left, r.right_columns, r.left_columns),
        ):
            st, dt = schema.table(src), schema.table(dst)
            if st is None or dt is None:
                continue
            names = [c.name for c in plain_columns(st)]
            if not all(c in names for c in scols):
                continue
            pos = [names.index(c) for c in scols]
            wanted = {tuple(row[p] for p in pos) for row in rows[src][:2000]}
            wanted = {w for w in wanted if None not in w}
            if not wanted:
                continue
            have = set(keys[dst])
            got = probe.complete(dt, have, {tuple(dcols): wanted})
            for k, row in got[:2000]:
                keys[dst].append(k)
                rows[dst].append(row)


def _extent(samples: Iterable[TableSample]) -> tuple[float, float, float, float] | None:
    boxes = [g for s in samples for col in s.geo.values() for g in col if g is not None]
    if not boxes:
        return None
    return (
        min(g.xmin for g in boxes),
        min(g.ymin for g in boxes),
        max(g.xmax for g in boxes),
        max(g.ymax for g in boxes),
    )


# --------------------------------------------------------------------------- DuckDB


class DuckDBProbe:
    """Facts from the embedded fixture database (``rowid`` identifies a row)."""

    def __init__(self, con: Any, schema: Schema) -> None:
        self.con = con
        self.schema = schema
        con.execute("SET enable_progress_bar = false")

    def _lonlat(self, c: Column) -> str:
        from cimgen.render.duckdb import transform

        srid = c.srid or DEFAULT_SRID
        return _q(c.name) if srid == 4326 else transform(_q(c.name), srid, 4326)

    def _metric(self, t: Table, c: Column) -> str:
        from cimgen.render.duckdb import metric_column_name, metric_columns, transform

        metric = self.schema.metric_srid or 3857
        srid = c.srid or DEFAULT_SRID
        if srid == metric:
            return _q(c.name)
        if any(col.name == c.name for col, _, _ in metric_columns(t, self.schema)):
            return _q(metric_column_name(c.name, metric))
        return transform(_q(c.name), srid, metric)

    def sample(
        self, table: Table, limits: ProbeLimits
    ) -> tuple[list[Any], list[tuple[Any, ...]], int]:
        cols = plain_columns(table)
        select = ", ".join(["rowid", *(_q(c.name) for c in cols)])
        total = self.con.execute(f"SELECT count(*) FROM {_qt(table)}").fetchone()[0]
        order = "rowid" if total <= limits.rows else f"hash(rowid + {int(limits.seed)}), rowid"
        got = self.con.execute(
            f"SELECT {select} FROM {_qt(table)} ORDER BY {order} LIMIT {int(limits.rows)}"
        ).fetchall()
        got.sort(key=lambda r: r[0])
        return [r[0] for r in got], [tuple(r[1:]) for r in got], int(total)

    def geo(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Geo]:
        if not keys:
            return {}
        g4, m = self._lonlat(column), self._metric(table, column)
        sql = f"""
            SELECT rowid, ST_X(p), ST_Y(p), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g),
                   ST_Dimension(g),
                   CASE ST_Dimension(g) WHEN 2 THEN ST_Area(m) WHEN 1 THEN ST_Length(m)
                        ELSE 0 END
            FROM (SELECT rowid, {g4} AS g, ST_PointOnSurface({g4}) AS p, {m} AS m
                  FROM {_qt(table)} WHERE {_q(column.name)} IS NOT NULL
                    AND NOT ST_IsEmpty({_q(column.name)}))
        """
        wanted = set(keys)
        return {
            r[0]: geo_of_row(r)
            for r in self.con.execute(sql).fetchall()
            if r[0] in wanted and r[1] is not None
        }

    def near(
        self, a: Table, ga: Column, keys: Sequence[Any], b: Table, gb: Column
    ) -> list[tuple[Any, Any, float, bool, bool, bool]]:
        if not keys:
            return []
        ma, mb = self._metric(a, ga), self._metric(b, gb)
        same = " AND x.ai <> y.rowid" if a.qualified == b.qualified else ""
        ids = ", ".join(str(int(k)) for k in keys)
        sql = f"""
            WITH x AS (SELECT rowid AS ai, {ma} AS g FROM {_qt(a)}
                       WHERE rowid IN ({ids}) AND {_q(ga.name)} IS NOT NULL)
            SELECT x.ai, y.rowid, ST_Distance(x.g, y.g2), ST_Intersects(x.g, y.g2),
                   ST_Within(x.g, y.g2), ST_Contains(x.g, y.g2)
            FROM x JOIN (SELECT rowid, {mb} AS g2 FROM {_qt(b)}
                         WHERE {_q(gb.name)} IS NOT NULL) y
              ON ST_DWithin(x.g, y.g2, {NEAR_RADIUS_M}){same}
            QUALIFY row_number() OVER (PARTITION BY x.ai
                                       ORDER BY ST_Distance(x.g, y.g2), y.rowid)
                    <= {NEAR_PER_PIVOT}
        """
        return [
            (r[0], r[1], float(r[2]), bool(r[3]), bool(r[4]), bool(r[5]))
            for r in self.con.execute(sql).fetchall()
        ]

    def tiles(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Tile]:
        from cimgen.render.duckdb import crs

        c = _q(column.name)
        rows = self.con.execute(
            f"""SELECT rowid, {c}.upperleft_x, {c}.upperleft_y, {c}.scale_x, {c}.scale_y,
                       {c}.width, {c}.height, {c}.srid, {c}.stats.min, {c}.stats.max,
                       {c}.stats.mean
                FROM {_qt(table)} WHERE {c} IS NOT NULL"""
        ).fetchall()
        out: dict[Any, Tile] = {}
        for key, ux, uy, sx, sy, w, h, srid, lo, hi, mean in rows:
            x0, x1 = sorted((ux, ux + sx * w))
            y0, y1 = sorted((uy, uy + sy * h))
            if srid != 4326:
                env = self.con.execute(
                    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                    "ST_Transform(ST_MakeEnvelope(?, ?, ?, ?), ?, ?, always_xy := true) AS e)",
                    [x0, y0, x1, y1, crs(int(srid)), crs(4326)],
                ).fetchone()
                x0, y0, x1, y1 = env
            out[key] = Tile(x0, y0, x1, y1, int(srid), float(lo), float(hi), float(mean))
        return out


def world_from_fixture(schema: Schema, con: Any, limits: ProbeLimits | None = None) -> World:
    """The world of the embedded fixture database behind ``con`` (a DuckDB connection)."""
    return read_world(schema, DuckDBProbe(con, schema), "fixture", limits or ProbeLimits())


def geo_of_row(r: Sequence[Any]) -> Geo:
    """A Geo from a fact row (key, x, y, xmin, ymin, xmax, ymax, dimension, size)."""
    return Geo(
        float(r[1]),
        float(r[2]),
        float(r[3]),
        float(r[4]),
        float(r[5]),
        float(r[6]),
        float(r[8] or 0.0),
        int(r[7]),
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qt(table: Table) -> str:
    return f"{_q(table.schema)}.{_q(table.name)}"
