"""Generation against a world cimgen did not make (tests/foreign/: a Turin district with
UUID ids, Italian category names and other voltages, built by a script independent of
cimgen/fixtures, and a Stage 1 corpus written against it).

From the live database (literals and pivots from it), generated queries return rows on it
at least as often as the corpus's own queries do. From its DDL file alone (the fixture
planted with the corpus's literals and moved to its place, only the corpus's literals
trusted) they all execute there, and most return rows -- measured 75 % against the
corpus's 89 % (docs/BENCHMARKS.md, "Realism"): the fixture cannot know where the user's
rows lie beyond what the corpus shows. The bound below guards what was reached.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import psycopg
import pytest
from rich.console import Console

from cimgen.expand.spatial import degrees_for
from cimgen.generate import GenerateOptions, run_generate
from cimgen.io import read_jsonl

FOREIGN = Path(__file__).parent / "foreign"
DDL = FOREIGN / "deployed.sql"
CORPUS = FOREIGN / "stage1.jsonl"
ROWS = 120

pytestmark = pytest.mark.slow  # and each test that reads the database: postgis


def _build(dsn: str) -> None:
    sys.path.insert(0, str(FOREIGN))
    try:
        import build_world  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    build_world.build(dsn)


def _rows(dsn: str, sql: str) -> int | None:
    """Rows the query returns on the foreign database (None when it fails)."""
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET statement_timeout = 10000")
            return len(conn.execute(sql).fetchall())
    except psycopg.Error:
        return None


def _shares(dsn: str, sqls: list[str]) -> tuple[float, float]:
    counts = [_rows(dsn, q) for q in sqls]
    ran = [n for n in counts if n is not None]
    return len(ran) / len(counts), sum(1 for n in ran if n > 0) / len(counts)


def _generate(tmp: Path, schema: str) -> list[dict[str, object]]:
    opts = GenerateOptions(
        out=tmp / "out",
        stage1=CORPUS,
        schema=schema,
        rows=ROWS,
        synthesizer="gaussian_copula",
        workers=1,
        seed=3,
        progress=False,
        report=False,
    )
    result = run_generate(opts, Console(quiet=True))
    assert result.complete
    return read_jsonl(tmp / "out" / "dataset.jsonl")


def test_the_five_counts_hold_on_the_foreign_corpus(tmp_path: Path) -> None:
    """Issue 14: the five counts (CTE, join, subquery, table, schema) of the sampled
    structure hold for at least 95 % of the accepted rows, from the DDL file alone (the
    embedded check; no PostGIS). Main cc36931 kept 78.66 % at 240 rows: its GaussianCopula
    drew a subquery in every structure and two CTEs in half (the corpus: one record each),
    and structures under flat labels with nesting or two joins, which the expander built
    with the count dropped (docs/BENCHMARKS.md, "Five counts on a foreign world:
    fourteenth pass"). Measured here 97.5 % (labels 90.0 %)."""
    rows = _generate(tmp_path, str(DDL))
    fidelity = json.loads((tmp_path / "out" / "stats.json").read_text())["accepted_fidelity"]
    counts = ("cte_count", "join_count", "subquery_count", "table_count", "schema_count")
    five = sum(all(r["structure"][k] == r["features"][k] for k in counts) for r in rows)  # type: ignore[index]
    assert fidelity["five_counts_pct"] == round(100 * five / len(rows), 2)
    assert five / len(rows) >= 0.95, fidelity


@pytest.fixture(scope="module")
def foreign_db(postgis_dsn: str) -> object:
    name = "cimgen_foreign_gen"
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    # a URL (the form --schema takes): the cluster's URL with this database
    dsn = postgis_dsn.split("?")[0].rsplit("/", 1)[0] + f"/{name}"
    _build(dsn)
    corpus = [r["sql_postgis"] for r in read_jsonl(CORPUS)]
    yield dsn, _shares(dsn, corpus)
    with psycopg.connect(postgis_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.postgis
def test_generated_from_the_ddl_file_return_rows_on_the_database(
    foreign_db: tuple[str, tuple[float, float]], tmp_path: Path
) -> None:
    dsn, (_, corpus_nonempty) = foreign_db
    rows = _generate(tmp_path, str(DDL))
    executed, nonempty = _shares(dsn, [str(r["sql_postgis"]) for r in rows])
    assert executed >= 0.995  # issue 14: window clusterings over distance joins timed out
    assert corpus_nonempty > 0.8 and nonempty >= corpus_nonempty, (nonempty, corpus_nonempty)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["planted"] and stats["planted"]["place"]  # the world moved to Turin


@pytest.mark.postgis
def test_generated_from_the_live_database_return_rows_on_it(
    foreign_db: tuple[str, tuple[float, float]], tmp_path: Path
) -> None:
    dsn, (_, corpus_nonempty) = foreign_db
    rows = _generate(tmp_path, dsn)
    executed, nonempty = _shares(dsn, [str(r["sql_postgis"]) for r in rows])
    assert executed >= 0.99
    assert nonempty >= corpus_nonempty, (nonempty, corpus_nonempty)
    stats = json.loads((tmp_path / "out" / "stats.json").read_text())
    assert stats["literal_sources"]["counts"]["live"] > 0
    assert all(r["checks"]["postgis"]["status"] == "ok" for r in rows)  # type: ignore[index]


@pytest.mark.postgis
def test_the_box_test_keeps_the_rows_and_an_index_serves_it(
    foreign_db: tuple[str, tuple[float, float]],
) -> None:
    """A distance join as the expander writes it (``cimgen.expand.spatial``) returns the
    pairs the bare ``::geography`` join returns, and PostGIS serves it by the geometry
    index instead of measuring every pair."""
    dsn, _ = foreign_db
    pairs = (
        ("cim_network.network_buses", "geometry", 150.0),
        ("cim_network.network_lines", "geometry", 150.0),
        ("cim_census.censusgeo", "geometry", 50.0),
    )
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SET statement_timeout = 60000")
        lat = conn.execute(
            "SELECT max(abs(ST_YMax(building_geometry))) FROM cim_vector.cim_wizard_building"
        ).fetchone()
        assert lat is not None
        for table, col, metres in pairs:
            dwithin = f"ST_DWithin(o.{col}::geography, b.building_geometry::geography, {metres})"
            box = f"o.{col} && ST_Expand(b.building_geometry, {degrees_for(metres, lat[0])})"
            base = f"SELECT o.id, b.id FROM {table} o JOIN cim_vector.cim_wizard_building b ON "
            bare = set(conn.execute(base + dwithin).fetchall())
            boxed = set(conn.execute(f"{base}{box} AND {dwithin}").fetchall())
            assert bare and boxed == bare, table
            plan = "\n".join(r[0] for r in conn.execute(f"EXPLAIN {base}{box} AND {dwithin}"))
            assert "Index Cond" in plan and "st_expand" in plan.lower(), plan
