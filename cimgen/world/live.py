"""The world of a live PostGIS database: sampled rows, spatial facts and PostgreSQL's own
column statistics -- read-only, in one REPEATABLE READ transaction, each statement bounded
by a timeout, big tables sampled (``TABLESAMPLE SYSTEM``), never scanned whole.

Rows are identified by their primary key (``ctid`` within the snapshot for a table without
one: a KNN index scan does not return valid ctids, so those tables are met through
``ST_DWithin`` instead).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from cimgen.errors import DatabaseError
from cimgen.schema.model import Column, Schema, Table
from cimgen.world.model import Geo, Tile, World
from cimgen.world.pools import POOL_SIZE, Pool
from cimgen.world.probe import (
    NEAR_PER_PIVOT,
    NEAR_RADIUS_M,
    ProbeLimits,
    geo_of_row,
    plain_columns,
    read_world,
)

STATEMENT_TIMEOUT_MS = 20_000
_FETCH_CHUNK = 500


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qt(t: Table) -> str:
    return f"{_q(t.schema)}.{_q(t.name)}"


def _key(t: Table, alias: str = "") -> str:
    """The expression identifying a row (see module docstring)."""
    p = f"{alias}." if alias else ""
    if len(t.primary_key) == 1:
        return f"{p}{_q(t.primary_key[0])}"
    if t.primary_key:
        return "ROW(" + ", ".join(f"{p}{_q(c)}" for c in t.primary_key) + ")::text"
    return f"{p}ctid::text"


def _match(t: Table, alias: str = "") -> str:
    """``<key> = ANY(%s)`` with the right array type."""
    p = f"{alias}." if alias else ""
    if len(t.primary_key) == 1:
        return f"{p}{_q(t.primary_key[0])} = ANY(%s)"
    if t.primary_key:
        return f"{_key(t, alias)} = ANY(%s::text[])"
    return f"{p}ctid = ANY(%s::tid[])"


class PostgisProbe:
    """Facts from a live database (see module docstring)."""

    def __init__(self, conn: Any, schema: Schema) -> None:
        self.conn, self.schema = conn, schema

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self.conn.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def _g4(self, c: Column) -> str:
        srid = c.srid or 4326
        return _q(c.name) if srid == 4326 else f"ST_Transform({_q(c.name)}, 4326)"

    def sample(
        self, table: Table, limits: ProbeLimits
    ) -> tuple[list[Any], list[tuple[Any, ...]], int]:
        cols = plain_columns(table)
        select = ", ".join([_key(table), *(_q(c.name) for c in cols)])
        est = self._rows(
            "SELECT c.reltuples::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = "
            "c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
            (table.schema, table.name),
        )
        total = int(est[0][0]) if est and est[0][0] is not None and est[0][0] >= 0 else -1
        if total < 0 or total <= limits.rows * 2:
            got = self._rows(f"SELECT {select} FROM {_qt(table)} LIMIT {int(limits.rows)}")
            total = max(total, len(got))
        else:
            pct = min(100.0, 100.0 * limits.rows * 1.5 / total)
            got = self._rows(
                f"SELECT {select} FROM {_qt(table)} TABLESAMPLE SYSTEM ({pct:.6f}) "
                f"REPEATABLE ({int(limits.seed)}) LIMIT {int(limits.rows)}"
            )
        return [r[0] for r in got], [tuple(r[1:]) for r in got], total

    def geo(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Geo]:
        out: dict[Any, Geo] = {}
        g4 = self._g4(column)
        for k in range(0, len(keys), 2000):
            chunk = list(keys[k : k + 2000])
            rows = self._rows(
                f"""SELECT k, ST_X(p), ST_Y(p), ST_XMin(g), ST_YMin(g), ST_XMax(g),
                           ST_YMax(g), ST_Dimension(g),
                           CASE ST_Dimension(g) WHEN 2 THEN ST_Area(g::geography)
                                WHEN 1 THEN ST_Length(g::geography) ELSE 0 END
                    FROM (SELECT {_key(table)} AS k, {g4} AS g, ST_PointOnSurface({g4}) AS p
                          FROM {_qt(table)}
                          WHERE {_match(table)} AND {_q(column.name)} IS NOT NULL
                            AND NOT ST_IsEmpty({_q(column.name)})) x""",
                (chunk,),
            )
            for r in rows:
                if r[1] is not None:
                    out[r[0]] = geo_of_row(r)
        return out

    def near(
        self, a: Table, ga: Column, keys: Sequence[Any], b: Table, gb: Column
    ) -> list[tuple[Any, Any, float, bool, bool, bool]]:
        """The nearest rows of ``b`` to each pivot: index-assisted KNN (``<->``), then
        distances on the spheroid (geography)."""
        if not keys:
            return []
        srid = gb.srid or 4326
        same = f"WHERE {_key(b, 'y')} <> {_key(a, 'x')}" if a.qualified == b.qualified else ""
        xg = f"x.{_q(ga.name)}"
        align = f"ST_Transform({xg}, {srid})" if (ga.srid or 4326) != srid else xg
        yg = f"y.{_q(gb.name)}"
        rows = self._rows(
            f"""SELECT {_key(a, "x")}, n.bi, n.d, n.i, n.w, n.c
                FROM {_qt(a)} x CROSS JOIN LATERAL (
                  SELECT {_key(b, "y")} AS bi,
                         ST_Distance(ST_Transform({xg}, 4326)::geography,
                                     ST_Transform({yg}, 4326)::geography) AS d,
                         ST_Intersects({align}, {yg}) AS i,
                         ST_Within({align}, {yg}) AS w,
                         ST_Contains({align}, {yg}) AS c
                  FROM {_qt(b)} y {same}
                  ORDER BY {yg} <-> {align}
                  LIMIT {NEAR_PER_PIVOT}) n
                WHERE {_match(a, "x")} AND {xg} IS NOT NULL AND n.d <= {NEAR_RADIUS_M}""",
            (list(keys),),
        )
        return [(r[0], r[1], float(r[2]), bool(r[3]), bool(r[4]), bool(r[5])) for r in rows]

    def tiles(self, table: Table, column: Column, keys: Sequence[Any]) -> dict[Any, Tile]:
        out: dict[Any, Tile] = {}
        c = _q(column.name)
        for k in range(0, len(keys), 500):
            rows = self._rows(
                f"""SELECT k, ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), s,
                           (st).min, (st).max, (st).mean
                    FROM (SELECT {_key(table)} AS k, ST_Transform(ST_Envelope({c}), 4326) AS e,
                                 ST_SRID({c}) AS s, ST_SummaryStats({c}) AS st
                          FROM {_qt(table)} WHERE {_match(table)} AND {c} IS NOT NULL) x""",
                (list(keys[k : k + 500]),),
            )
            for r in rows:
                if r[1] is not None and r[6] is not None:
                    out[r[0]] = Tile(
                        float(r[1]),
                        float(r[2]),
                        float(r[3]),
                        float(r[4]),
                        int(r[5]),
                        float(r[6]),
                        float(r[7]),
                        float(r[8]),
                    )
        return out

    def fetch(self, table: Table, ctids: Sequence[Any]) -> tuple[list[Any], list[tuple[Any, ...]]]:
        """Rows by ctid (rows met near a pivot that the sample lacks)."""
        cols = plain_columns(table)
        select = ", ".join([_key(table), *(_q(c.name) for c in cols)])
        got = self._rows(
            f"SELECT {select} FROM {_qt(table)} WHERE {_match(table)}", (list(ctids)[:5000],)
        )
        return [r[0] for r in got], [tuple(r[1:]) for r in got]

    def complete(
        self, table: Table, have: set[Any], wanted: dict[tuple[str, ...], set[tuple[Any, ...]]]
    ) -> list[tuple[Any, tuple[Any, ...]]]:
        """Rows of ``table`` whose key columns take the wanted values (partners of other
        tables' sampled rows), not already sampled."""
        cols = plain_columns(table)
        select = ", ".join([_key(table), *(_q(c.name) for c in cols)])
        out: list[tuple[Any, tuple[Any, ...]]] = []
        for key_cols, values in wanted.items():
            vals = sorted(values, key=str)
            for k in range(0, len(vals), _FETCH_CHUNK):
                chunk = vals[k : k + _FETCH_CHUNK]
                cond = " OR ".join(
                    "(" + " AND ".join(f"{_q(c)} = %s" for c in key_cols) + ")" for _ in chunk
                )
                params = [v for row in chunk for v in row]
                for r in self._rows(f"SELECT {select} FROM {_qt(table)} WHERE {cond}", params):
                    if r[0] not in have:
                        have.add(r[0])
                        out.append((r[0], tuple(r[1:])))
        return out


def world_from_postgis(schema: Schema, dsn: str, limits: ProbeLimits | None = None) -> World:
    """Read the world of the live database at ``dsn`` (see module docstring)."""
    from cimgen.engines.postgis import connect

    limits = limits or ProbeLimits(rows=3000, pivots=240)
    conn = connect(dsn, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cur.execute(f"SET LOCAL statement_timeout = {STATEMENT_TIMEOUT_MS}")
        probe = PostgisProbe(conn, schema)
        try:
            return read_world(schema, probe, "postgis", limits)
        except Exception as exc:  # psycopg errors: one line for the user
            raise DatabaseError(
                f"reading the data of the live database failed: {str(exc).splitlines()[0]}"
            ) from None
    finally:
        conn.rollback()
        conn.close()


# --------------------------------------------------------------------------- pg_stats


def live_pools(schema: Schema, dsn: str) -> dict[tuple[str, str], Pool]:
    """Pools from ``pg_stats``: most common values (weighted by their frequency) and the
    histogram bounds, per column, cast to the column's kind."""
    from cimgen.engines.postgis import connect

    out: dict[tuple[str, str], Pool] = {}
    with connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        cur.execute(
            """SELECT schemaname, tablename, attname, most_common_vals::text,
                      most_common_freqs, histogram_bounds::text
               FROM pg_stats WHERE schemaname = ANY(%s)""",
            (list(schema.schemas),),
        )
        for sname, tname, col, mcv, freqs, hist in cur.fetchall():
            table = schema.table(f"{sname}.{tname}")
            column = table.column(col) if table is not None else None
            if column is None or column.kind not in ("integer", "float", "text", "boolean"):
                continue
            values: list[Any] = []
            weights: list[float] = []
            for v, f in zip(_array(mcv), freqs or [], strict=False):
                typed = _typed(v, column.kind)
                if typed is not None:
                    values.append(typed)
                    weights.append(float(f))
            for v in _array(hist):
                typed = _typed(v, column.kind)
                if typed is not None and typed not in values:
                    values.append(typed)
                    weights.append(0.0)
            if values:
                out[(f"{sname}.{tname}", col)] = Pool(
                    tuple(values[:POOL_SIZE]), tuple(weights[:POOL_SIZE]), "live"
                )
    return out


def _array(text: str | None) -> list[str | None]:
    """Elements of a PostgreSQL array literal (``{a,"b c",NULL}``)."""
    if not text or len(text) < 2:
        return []
    body, out, cur, quoted, esc, was_quoted = text[1:-1], [], [], False, False, False
    for ch in body:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\":
            esc = True
        elif ch == '"':
            quoted = not quoted
            was_quoted = True
        elif ch == "," and not quoted:
            item = "".join(cur)
            out.append(None if item == "NULL" and not was_quoted else item)
            cur, was_quoted = [], False
        else:
            cur.append(ch)
    item = "".join(cur)
    out.append(None if item == "NULL" and not was_quoted else item)
    return out


def _typed(v: str | None, kind: str) -> Any:
    if v is None:
        return None
    if kind == "text":
        return v
    if kind == "boolean":
        return v in ("t", "true")
    try:
        f = float(v)
    except ValueError:
        return None
    if not math.isfinite(f):
        return None
    return int(f) if kind == "integer" and f.is_integer() else f
