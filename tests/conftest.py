"""Shared test fixtures.

Tests that need PostGIS are marked ``@pytest.mark.postgis`` and take the ``postgis_dsn``
fixture: a DSN of a server with the postgis and postgis_raster extensions available, from
``CIMGEN_TEST_POSTGIS_DSN`` (set by .ci/run, which starts a throwaway cluster). In CI
(``CI=true``) a missing DSN fails those tests instead of skipping them.

Tests never touch the user's cache folder: without ``CIMGEN_CACHE_DIR`` (scripts/test.sh
sets it) the session gets a temporary one, removed at the end.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

if not os.environ.get("CIMGEN_CACHE_DIR"):
    _SESSION_CACHE = tempfile.mkdtemp(prefix="cimgen-test-cache.")
    os.environ["CIMGEN_CACHE_DIR"] = _SESSION_CACHE

    def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
        shutil.rmtree(_SESSION_CACHE, ignore_errors=True)


ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
STAGE1_SAMPLE = SHARED / "mission" / "stage1_sample.jsonl"
CASES = Path(__file__).resolve().parent / "cases"


def run_cli(args: list[str]) -> int:
    """``cimgen ARGS`` run in this process (``cimgen.cli.main.main``, as the console script
    does): its exit code."""
    from cimgen.cli.main import main

    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


# CI runs the property tests on fixed examples (hypothesis derandomized, no example
# database): a red CI then says the code changed, never that a new draw was tried. Local
# runs keep exploring at random (and remember what failed in .hypothesis/).
settings.register_profile("ci", derandomize=True, database=None)
if _in_ci():
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def postgis_dsn() -> str:
    dsn = os.environ.get("CIMGEN_TEST_POSTGIS_DSN")
    if not dsn:
        if _in_ci():
            pytest.fail("CIMGEN_TEST_POSTGIS_DSN is not set in CI: .ci/run must start PostGIS")
        pytest.skip("no PostGIS: set CIMGEN_TEST_POSTGIS_DSN (see README, 'Tests')")
    return dsn


@contextlib.contextmanager
def new_postgis_database(server_dsn: str, prefix: str = "cimgen_t") -> Iterator[str]:
    """The DSN of a new, empty database (``prefix`` and a random suffix) on the server of
    ``server_dsn``; dropped afterwards, whatever happened."""
    import psycopg
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(server_dsn)
    params["dbname"] = name
    try:
        yield make_conninfo(**params)
    finally:
        with psycopg.connect(server_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def fresh_postgis_db(postgis_dsn: str) -> Iterator[str]:
    """A new, empty database with postgis + postgis_raster; dropped afterwards."""
    import psycopg

    with new_postgis_database(postgis_dsn) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis_raster")
        yield dsn


@pytest.fixture(scope="session")
def stage1_sample() -> Path:
    if not STAGE1_SAMPLE.is_file():
        pytest.fail(f"{STAGE1_SAMPLE} missing: tests expect ../shared beside the repository")
    return STAGE1_SAMPLE


@pytest.fixture(scope="session")
def duckdb_result() -> Iterator[Callable[[Any], Any]]:
    """``duckdb_result(query)``: the rows of a query AST, rendered for DuckDB, on the
    documented schema's fixture database (seed 0), as a pyarrow Table; one connection per
    session."""
    from cimgen.engines.duckdb import open_fixture
    from cimgen.render import render_duckdb
    from cimgen.schema import load_schema

    schema = load_schema("cim_wizard")
    con = open_fixture(schema, 0)
    try:
        yield lambda query: con.execute(render_duckdb(query, schema).sql).to_arrow_table()
    finally:
        con.close()
