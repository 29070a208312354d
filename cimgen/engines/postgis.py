"""PostGIS: fixture loading, a throwaway local cluster, and ``--postgis URL|auto``.

``init_database`` loads exactly the rows of :func:`cimgen.fixtures.generate_fixture`, so a
query's result can be compared with the DuckDB copy row for row. Geometries go in as EWKT
and rasters as hex WKB through COPY, i.e. the server parses the very same text. The DDL
comes from :mod:`cimgen.schema.export` (cimgen's one DDL writer): tables first, rows, then
foreign keys and the spatial / join-key indexes a deployed database has, then ANALYZE.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from cimgen.errors import DatabaseError
from cimgen.fixtures import Planting, RasterTile, generate_fixture
from cimgen.schema.export import (
    foreign_key_statements,
    index_statements,
    qualified_ident,
    quote_ident,
    table_statements,
)
from cimgen.schema.model import Column, Schema, Table

PG_BIN = Path(os.environ.get("CIMGEN_PG_BIN", "/usr/lib/postgresql/15/bin"))


# --- connecting -----------------------------------------------------------------------------


def connect(dsn: str, autocommit: bool = True) -> psycopg.Connection[Any]:
    """A psycopg connection; failures become one-line :class:`DatabaseError` messages."""
    try:
        return psycopg.connect(dsn, autocommit=autocommit, connect_timeout=5)
    except psycopg.Error as exc:
        raise DatabaseError(
            f"cannot connect to PostgreSQL at {_redact(dsn)}: {_first(exc)}. Start a server "
            "(`cimgen db up`) or fix the DSN."
        ) from None


def _redact(dsn: str) -> str:
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparsable DSN>"
    host = params.get("host") or "localhost"
    return f"{host}:{params.get('port') or 5432}/{params.get('dbname') or ''}"


def _first(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


# --- loading --------------------------------------------------------------------------------


def init_database(
    dsn: str, schema: Schema, seed: int = 0, replace: bool = False, plant: Planting | None = None
) -> dict[str, int]:
    """Create the schema's tables in ``dsn`` and fill them with the fixture; rows per table."""
    fx = generate_fixture(schema, seed, plant)
    with connect(dsn) as conn:
        _ensure_extensions(conn, schema)
        existing = _existing_tables(conn, schema)
        if existing and not replace:
            shown = ", ".join(existing[:3]) + (
                f" and {len(existing) - 3} more" if len(existing) > 3 else ""
            )
            raise DatabaseError(
                f"tables already exist in {_redact(dsn)}: {shown}. "
                "Use --replace to drop and recreate them."
            )
        with conn.transaction():
            for name in existing:
                conn.execute(_sql(f"DROP TABLE IF EXISTS {qualified_ident(name)} CASCADE"))
            conn.execute(_sql("\n".join(table_statements(schema))))
            for table in schema.tables:
                _copy(conn, table, fx.table(table.qualified).rows)
                _advance_serials(conn, table)
            # after the rows: no load order to respect, and one index build instead of
            # per-row maintenance
            for stmt in (*foreign_key_statements(schema), *index_statements(schema)):
                try:
                    conn.execute(_sql(stmt))
                except psycopg.Error as exc:
                    raise DatabaseError(
                        f"{stmt.rstrip(';')} failed on the fixture rows: {_first(exc)}"
                    ) from None
        # planner statistics for the loaded rows: without them the indexes go unused
        tables = ", ".join(qualified_ident(t.qualified) for t in schema.tables)
        conn.execute(_sql(f"ANALYZE {tables}"))
    return fx.row_counts()


def _ensure_extensions(conn: psycopg.Connection[Any], schema: Schema) -> None:
    needed = ["postgis"] + (
        ["postgis_raster"] if any(t.raster_columns for t in schema.tables) else []
    )
    have = {
        r[0]
        for r in conn.execute(
            "SELECT name FROM pg_available_extensions WHERE name = ANY(%s)", (needed,)
        )
    }
    for ext in needed:
        if ext not in have:
            raise DatabaseError(
                f"PostgreSQL extension {ext} is not available on the server. "
                "Install PostGIS (e.g. apt-get install postgresql-15-postgis-3)."
            )
        try:
            conn.execute(_sql(f"CREATE EXTENSION IF NOT EXISTS {quote_ident(ext)}"))
        except psycopg.Error as exc:
            raise DatabaseError(
                f"cannot create extension {ext}: {_first(exc)}. Connect as a "
                "user allowed to create extensions."
            ) from None


def _existing_tables(conn: psycopg.Connection[Any], schema: Schema) -> list[str]:
    names = [t.qualified for t in schema.tables]
    rows = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema || '.' || table_name = ANY(%s)",
        (names,),
    ).fetchall()
    found = {r[0] for r in rows}
    return [n for n in names if n in found]


def pg_value(col: Column, value: Any) -> Any:
    """A fixture value as COPY input: geometry -> EWKT, raster -> hex WKB."""
    if value is None:
        return None
    if col.kind == "geometry":
        return f"SRID={col.srid};{value}" if col.srid is not None else value
    if isinstance(value, RasterTile):
        return value.hex_wkb()
    return value


def _sql(text: str) -> bytes:
    """A statement whose identifiers :func:`cimgen.schema.export.quote_ident` quoted."""
    return text.encode()


def _copy(conn: psycopg.Connection[Any], table: Table, rows: tuple[tuple[Any, ...], ...]) -> None:
    cols = ", ".join(quote_ident(c.name) for c in table.columns)
    stmt = _sql(f"COPY {qualified_ident(table.qualified)} ({cols}) FROM STDIN")
    with conn.cursor() as cur, cur.copy(stmt) as copy:
        for row in rows:
            copy.write_row([pg_value(c, v) for c, v in zip(table.columns, row, strict=True)])


def _advance_serials(conn: psycopg.Connection[Any], table: Table) -> None:
    """Move serial sequences past the loaded ids, so later inserts do not collide."""
    for c in table.columns:
        if c.type.lower() in ("serial", "bigserial", "smallserial"):
            name = qualified_ident(table.qualified)
            conn.execute(
                _sql(
                    "SELECT setval(pg_get_serial_sequence(%s, %s), "
                    f"COALESCE((SELECT max({quote_ident(c.name)}) FROM {name}), 0) + 1, false)"
                ),
                (name, c.name),
            )


# --- throwaway cluster ----------------------------------------------------------------------


def _as_postgres(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: drop to the postgres user when we are root."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(_as_postgres(cmd), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise DatabaseError(f"{what} failed: {detail[-1] if detail else proc.returncode}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ready(dsn: str) -> bool:
    try:
        with psycopg.connect(dsn, connect_timeout=2) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def cluster_up(directory: Path, port: int | None = None) -> str:
    """Start (or reuse) a local PostgreSQL 15 cluster in ``directory``; returns its DSN.

    Trust auth, listening on 127.0.0.1 only, unix socket in the directory; the DSN is also
    written to ``directory/dsn``. Returns once the server accepts connections.
    """
    directory = Path(directory).resolve()
    data, dsn_file = directory / "data", directory / "dsn"
    if dsn_file.is_file() and (data / "postmaster.pid").is_file():
        dsn = dsn_file.read_text().strip()
        if _ready(dsn):
            return dsn
    if not (PG_BIN / "initdb").is_file():
        raise DatabaseError(
            f"PostgreSQL binaries not found in {PG_BIN}. Install postgresql-15 "
            "or set CIMGEN_PG_BIN."
        )
    created = [p for p in (directory, *directory.parents) if not p.exists()]
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        try:
            # the cluster folder itself, and parents we made; never re-own other folders
            for path in dict.fromkeys([directory, *created]):
                shutil.chown(path, "postgres", "postgres")
        except (LookupError, OSError) as exc:
            raise DatabaseError(f"cannot hand {directory} to user postgres: {exc}") from None
        probe = subprocess.run(_as_postgres(["test", "-w", str(directory)]), check=False)
        if probe.returncode != 0:
            raise DatabaseError(
                f"user postgres cannot write to {directory}: a parent folder is "
                "private (e.g. mode 700). Choose a directory under /tmp."
            )
    if not (data / "PG_VERSION").is_file():
        _run(
            [
                str(PG_BIN / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--no-instructions",
            ],
            f"initdb in {data} (the postgres user needs access to every parent folder)",
        )
    port = port or _free_port()
    opts = (
        f"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off"
    )
    _run(
        [
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(directory / "server.log"),
            "-w",
            "-t",
            "60",
            "-o",
            opts,
            "start",
        ],
        f"starting PostgreSQL on port {port} (see {directory / 'server.log'})",
    )
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    deadline = time.monotonic() + 30
    while not _ready(dsn):
        if time.monotonic() > deadline:
            raise DatabaseError(
                f"PostgreSQL in {directory} did not accept connections within "
                f"30 s. See {directory / 'server.log'}."
            )
        time.sleep(0.2)
    tmp = dsn_file.with_suffix(".tmp")
    tmp.write_text(dsn + "\n")
    os.replace(tmp, dsn_file)
    return dsn


def cluster_down(directory: Path) -> None:
    """Stop the cluster in ``directory`` (if running) and remove the directory."""
    directory = Path(directory).resolve()
    data = directory / "data"
    if (data / "postmaster.pid").is_file():
        _run(
            [str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "60", "stop"],
            f"stopping PostgreSQL in {directory}",
        )
    shutil.rmtree(directory, ignore_errors=True)


# --- --postgis URL|auto ---------------------------------------------------------------------


@contextmanager
def throwaway_postgis(
    schema: Schema, seed: int = 0, plant: Planting | None = None
) -> Iterator[str]:
    """A fresh local cluster holding the fixture of ``schema`` (``seed``, ``plant``): its DSN.

    The one implementation of ``--postgis auto`` (generate, validate, bench): the cluster
    lives in a new temporary folder and is stopped and removed on leaving, whatever
    happened inside -- so an interrupted run leaves no server behind.
    """
    directory = Path(tempfile.mkdtemp(prefix="cimgen-pg-"))
    try:
        dsn = cluster_up(directory)
        init_database(dsn, schema, seed=seed, replace=True, plant=plant)
        yield dsn
    finally:
        cluster_down(directory)


@contextmanager
def postgis_dsn(
    postgis: str | None, schema: Schema, seed: int = 0, plant: Planting | None = None
) -> Iterator[str | None]:
    """The DSN an option ``--postgis`` names: None without one, the URL as given (its
    database is the user's: nothing is loaded), or a :func:`throwaway_postgis` for
    ``"auto"``."""
    if not postgis:
        yield None
    elif postgis != "auto":
        yield postgis
    else:
        with throwaway_postgis(schema, seed, plant) as dsn:
            yield dsn
