"""DuckDB (embedded) fixture databases with the spatial extension loaded offline.

The spatial extension is LOADed by path from the ``duckdb-extension-spatial`` wheel;
extension auto-install and auto-load are switched off, so nothing touches the network.
The wheel's extension is signed, so ``allow_unsigned_extensions`` stays off.

Rasters: DuckDB has no raster type. Raster columns are stored as a STRUCT with the tile's
georeference and cell values, and every connection gets TEMP macros that reproduce the
PostGIS raster functions on it (:mod:`cimgen.engines.duckdb_raster`, docs/fixtures.md).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from cimgen.engines import fixture_path, temp_sibling
from cimgen.engines.duckdb_cluster import install_clustering
from cimgen.engines.duckdb_raster import (
    ARROW_RASTER_TYPE,
    RASTER_TYPE,
    drop_value_lists,
    fill_tile_stats,
    install_macros,
    tile_struct,
)
from cimgen.errors import DatabaseError
from cimgen.fixtures import FixtureTable, Planting, RasterTile, generate_fixture
from cimgen.render.duckdb import metric_column_name, metric_columns, transform
from cimgen.schema.model import Column, Schema, Table

# Part of the fixture cache key: bump when the DuckDB storage of fixture rows changes (v2:
# rasters as STRUCTs instead of WKB BLOBs; v4: metric copies of geometry columns and stored
# raster statistics; v5: stored tiles' values as fixed-width text), so stale cached files
# are rebuilt.
STORAGE_VERSION = "5"
_CONFIG = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def spatial_extension_path() -> Path:
    """The spatial extension file shipped in the ``duckdb-extension-spatial`` wheel."""
    try:
        import duckdb_extension_spatial as pkg
    except ImportError:
        raise DatabaseError(
            "the DuckDB spatial extension wheel is not installed. Run "
            f"`pip install duckdb-extension-spatial=={duckdb.__version__}`."
        ) from None
    root = Path(pkg.__file__).resolve().parent / "extensions"
    path = root / f"v{duckdb.__version__}" / "spatial.duckdb_extension"
    if not path.is_file():
        found = sorted(p.parent.name for p in root.glob("*/spatial.duckdb_extension"))
        raise DatabaseError(
            f"no spatial extension for DuckDB v{duckdb.__version__} under {root} (found: "
            f"{', '.join(found) or 'none'}). Install duckdb-extension-spatial=="
            f"{duckdb.__version__}."
        )
    return path


def connect(path: Path | str = ":memory:", read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with spatial loaded (offline), the session time zone UTC, the
    raster macros defined (TEMP, so read-only connections have them too) and the
    clustering UDF (:mod:`cimgen.engines.duckdb_cluster`)."""
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=dict(_CONFIG))
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot open DuckDB database {path}: {_first(exc)}") from None
    con.execute(f"LOAD '{_sql_str(str(spatial_extension_path()))}'")
    con.execute("SET TimeZone = 'UTC'")
    install_macros(con)
    install_clustering(con)
    return con


def duckdb_type(col: Column) -> str:
    """The DuckDB column type used for a schema column."""
    base = re.sub(r"\(.*\)$", "", col.type.lower()).strip()
    if col.kind == "geometry":
        return "GEOMETRY"
    if col.kind == "raster":
        return RASTER_TYPE
    if col.kind == "integer":
        if base in ("bigint", "int8", "bigserial"):
            return "BIGINT"
        return "SMALLINT" if base in ("smallint", "int2", "smallserial") else "INTEGER"
    if col.kind == "float":
        return "FLOAT" if base in ("real", "float4") else "DOUBLE"
    if col.kind == "boolean":
        return "BOOLEAN"
    if col.kind == "timestamp":
        if base == "date":
            return "DATE"
        if base.startswith("time") and not base.startswith("timestamp"):
            return "TIME"
        return "TIMESTAMPTZ" if "with time zone" in base or base == "timestamptz" else "TIMESTAMP"
    if col.kind == "json":
        return "JSON"
    return "VARCHAR"


def _arrow_type(col: Column) -> pa.DataType:
    if col.kind == "raster":
        return ARROW_RASTER_TYPE
    t = duckdb_type(col)
    return {
        "GEOMETRY": pa.string(),
        "BLOB": pa.binary(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int64(),
        "SMALLINT": pa.int64(),
        "FLOAT": pa.float64(),
        "DOUBLE": pa.float64(),
        "BOOLEAN": pa.bool_(),
        "DATE": pa.date32(),
        "TIME": pa.time64("us"),
        "TIMESTAMPTZ": pa.timestamp("us", tz="UTC"),
        "TIMESTAMP": pa.timestamp("us"),
    }.get(t, pa.string())


def create_tables(con: duckdb.DuckDBPyConnection, schema: Schema) -> None:
    for s in schema.schemas:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {_q(s)}")
    for t in schema.tables:
        cols = [f"{_q(c.name)} {duckdb_type(c)}" for c in t.columns]
        cols += [
            f"{_q(metric_column_name(c.name, dst))} GEOMETRY"
            for c, _, dst in metric_columns(t, schema)
        ]
        if t.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(_q(k) for k in t.primary_key)})")
        con.execute(f"CREATE TABLE {_qt(t)} ({', '.join(cols)})")


def load_table(
    con: duckdb.DuckDBPyConnection, table: Table, data: FixtureTable, schema: Schema
) -> None:
    """Bulk insert through Arrow; geometry WKT is parsed by ST_GeomFromText in SQL, and the
    metric copies are the very ST_Transform the DuckDB renderer would otherwise emit."""
    arrays = []
    for i, col in enumerate(table.columns):
        values: list[Any] = [r[i] for r in data.rows]
        if col.kind == "raster":
            values = [tile_struct(v) if isinstance(v, RasterTile) else None for v in values]
        arrays.append(pa.array(values, type=_arrow_type(col)))
    names = [f"c{i}" for i in range(len(table.columns))]
    con.register("_cimgen_staged", pa.Table.from_arrays(arrays, names=names))
    select = []
    for name, col in zip(names, table.columns, strict=True):
        if col.kind == "geometry":
            select.append(f"ST_GeomFromText({name})")
        else:
            select.append(f"CAST({name} AS {duckdb_type(col)})")
    position = {c.name: names[i] for i, c in enumerate(table.columns)}
    for col, src, dst in metric_columns(table, schema):
        select.append(transform(f"ST_GeomFromText({position[col.name]})", src, dst))
    try:
        con.execute(f"INSERT INTO {_qt(table)} SELECT {', '.join(select)} FROM _cimgen_staged")
    finally:
        con.unregister("_cimgen_staged")


def build_database(
    path: Path, schema: Schema, seed: int = 0, plant: Planting | None = None
) -> dict[str, int]:
    """Create ``path`` (must not exist) with the schema's tables and fixture rows."""
    fx = generate_fixture(schema, seed, plant)
    con = connect(path)
    try:
        create_tables(con, schema)
        for t in schema.tables:
            load_table(con, t, fx.table(t.qualified), schema)
            for c in t.columns:
                if c.kind == "raster":
                    fill_tile_stats(con, _qt(t), _q(c.name))
                    drop_value_lists(con, _qt(t), _q(c.name))
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return fx.row_counts()


def fixture_file(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> Path:
    """Where the cached fixture database for (schema, seed, planting) lives (built or not)."""
    engine_version = f"{duckdb.__version__}+storage{STORAGE_VERSION}"
    return fixture_path(schema, seed, "duckdb", engine_version, ".duckdb", cache_dir, plant)


def fixture_database(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> Path:
    """The cached fixture database file for (schema, seed), built on first use.

    Built into a temporary file and renamed into place, so concurrent builders and
    interrupted builds never leave a half-written database under the cached name.
    """
    path = fixture_file(schema, seed, cache_dir, plant)
    if path.is_file():
        return path
    tmp = temp_sibling(path)
    try:
        build_database(tmp, schema, seed, plant)
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            leftover.unlink(missing_ok=True)
    return path


def open_fixture(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the cached fixture database (spatial loaded)."""
    return connect(fixture_database(schema, seed, cache_dir, plant), read_only=True)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _qt(table: Table) -> str:
    return f"{_q(table.schema)}.{_q(table.name)}"


def _sql_str(text: str) -> str:
    return text.replace("'", "''")


def _first(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
