"""SpatiaLite fixture databases (apsw + mod_spatialite), used to execute SpatiaLite renderings.

SQLite has no schemas: ``schema.table`` becomes the table
``cimgen.render.spatialite_table_name(qualified)`` (``schema__table``). Geometry columns are
registered with ``AddGeometryColumn`` and filled with ``GeomFromText(wkt, srid)``; rasters
are BLOBs of PostGIS raster WKB; booleans are 0/1; timestamps are UTC text
``YYYY-MM-DD HH:MM:SS``; JSON is text.
"""

from __future__ import annotations

import os
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import apsw

from cimgen.engines import fixture_path, temp_sibling
from cimgen.errors import DatabaseError
from cimgen.fixtures import Planting, RasterTile, generate_fixture
from cimgen.schema.model import Column, Schema, Table

try:
    from cimgen.render import spatialite_table_name
except ImportError:  # the renderer package is optional for fixture building

    def spatialite_table_name(qualified: str) -> str:
        schema, dot, table = qualified.rpartition(".")
        return f"{schema}__{table}" if dot else table


def connect(path: Path | str = ":memory:", read_only: bool = False) -> apsw.Connection:
    """An apsw connection with mod_spatialite loaded."""
    flags = (
        apsw.SQLITE_OPEN_READONLY
        if read_only
        else apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE
    )
    conn = apsw.Connection(str(path), flags=flags)
    try:
        conn.enable_load_extension(True)
        conn.load_extension("mod_spatialite")
    except apsw.Error as exc:
        conn.close()
        raise DatabaseError(
            f"cannot load mod_spatialite ({str(exc).strip()}). Install it: "
            "bash scripts/setup.sh (or apt-get install libsqlite3-mod-spatialite)."
        ) from None
    return conn


def unavailable() -> str | None:
    """None when mod_spatialite loads here, else why not (the message names the fix)."""
    try:
        close(connect())
    except DatabaseError as exc:
        return str(exc)
    return None


def close(conn: apsw.Connection) -> None:
    """Close a SpatiaLite connection. After a query through the ``SpatialIndex`` virtual
    table the first close reports SQLITE_BUSY (mod_spatialite finalises the virtual table's
    own statements only as the connection closes); the next attempt closes it."""
    for _ in range(3):
        try:
            conn.close()
            return
        except apsw.BusyError:
            continue
    conn.close(True)


def sqlite_type(col: Column) -> str:
    return {"integer": "INTEGER", "float": "DOUBLE", "boolean": "INTEGER", "raster": "BLOB"}.get(
        col.kind, "TEXT"
    )


def sqlite_value(col: Column, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, RasterTile):
        return value.to_wkb()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date | time):
        return value.isoformat()
    return value


def create_and_load(conn: apsw.Connection, table: Table, rows: tuple[tuple[Any, ...], ...]) -> None:
    name = spatialite_table_name(table.qualified)
    plain = [c for c in table.columns if c.kind != "geometry"]
    defs = [f'"{c.name}" {sqlite_type(c)}' for c in plain]
    if table.primary_key and all(table.column(k) in plain for k in table.primary_key):
        defs.append("PRIMARY KEY (" + ", ".join(f'"{k}"' for k in table.primary_key) + ")")
    conn.execute(f'CREATE TABLE "{name}" ({", ".join(defs)})')
    for c in table.geometry_columns:
        ok = conn.execute(
            "SELECT AddGeometryColumn(?, ?, ?, ?, 'XY')",
            (name, c.name, c.srid or 0, c.geometry_type or "GEOMETRY"),
        ).fetchall()
        if not ok or ok[0][0] != 1:
            raise DatabaseError(
                f"SpatiaLite refused geometry column {name}.{c.name} "
                f"({c.geometry_type}, SRID {c.srid})."
            )
    cols = ", ".join(f'"{c.name}"' for c in table.columns)
    marks = ", ".join(
        f"GeomFromText(?, {int(c.srid or 0)})" if c.kind == "geometry" else "?"
        for c in table.columns
    )
    conn.executemany(
        f'INSERT INTO "{name}" ({cols}) VALUES ({marks})',
        [tuple(sqlite_value(c, v) for c, v in zip(table.columns, r, strict=True)) for r in rows],
    )


def create_spatial_indexes(conn: apsw.Connection, table: Table) -> None:
    """An R*Tree (``CreateSpatialIndex``) on every geometry column of ``table``: the
    SpatiaLite dialect's join lookups use them (cimgen/render/spatialite_index.py)."""
    name = spatialite_table_name(table.qualified)
    for c in table.geometry_columns:
        ok = conn.execute("SELECT CreateSpatialIndex(?, ?)", (name, c.name)).fetchall()
        if not ok or ok[0][0] != 1:
            raise DatabaseError(f"SpatiaLite refused a spatial index on {name}.{c.name}.")


def build_database(
    path: Path, schema: Schema, seed: int = 0, plant: Planting | None = None
) -> dict[str, int]:
    fx = generate_fixture(schema, seed, plant)
    conn = connect(path)
    try:
        # InitSpatialMetadata(1, ...) runs its own transaction; WGS84 includes UTM zones
        conn.execute("SELECT InitSpatialMetadata(1, 'WGS84')")
        with conn:
            for t in schema.tables:
                create_and_load(conn, t, fx.table(t.qualified).rows)
                create_spatial_indexes(conn, t)
        # table and index statistics: the query planner otherwise guesses row counts and
        # may, e.g., prefer an automatic index on a boolean column to a spatial-index lookup
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return fx.row_counts()


def fixture_database(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> Path:
    """The cached SpatiaLite fixture file for (schema, seed, planting), built on first use."""
    # "rtree1": spatial indexes and ANALYZE statistics (older files lack both)
    version = f"apsw{apsw.apsw_version()}-{spatialite_table_name('s.t')}-rtree1"
    path = fixture_path(schema, seed, "spatialite", version, ".sqlite", cache_dir, plant)
    if path.is_file():
        return path
    tmp = temp_sibling(path)
    try:
        build_database(tmp, schema, seed, plant)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def open_fixture(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> apsw.Connection:
    """A read-only connection to the cached SpatiaLite fixture (mod_spatialite loaded)."""
    return connect(fixture_database(schema, seed, cache_dir, plant), read_only=True)
