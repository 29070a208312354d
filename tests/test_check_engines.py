"""Execution checks on the real engines: DuckDB spatial and SpatiaLite (embedded) and
PostGIS (gold)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psycopg
import pytest
from conftest import new_postgis_database
from typer.testing import CliRunner

from cimgen.check import (
    CheckContext,
    CheckOptions,
    DuckDBRunner,
    PostgisRunner,
    SpatialiteRunner,
    Subject,
    agree,
    run_checks,
)
from cimgen.check.base import ERROR, NOT_CHECKABLE, OK, PLANNED, EngineResult
from cimgen.check.execute import arrow_digest, digest
from cimgen.cli.main import app
from cimgen.engines.duckdb import open_fixture
from cimgen.models import QueryFeatures
from cimgen.schema import load_schema

SCHEMA = load_schema("cim_wizard")
GOOD = (
    "SELECT bp.type, COUNT(*) AS n, SUM(ST_Area(b.building_geometry::geography)) AS area_m2 "
    "FROM cim_vector.building b JOIN cim_vector.building_properties bp "
    "ON b.building_id = bp.building_id AND b.lod = bp.lod "
    "WHERE bp.project_id = 'milan_navigli_2023' GROUP BY bp.type"
)
RASTER = "SELECT AVG((ST_SummaryStats(d.rast)).mean) AS m FROM cim_raster.dtm_raster d"
# Band 2: the fixture rasters have one band, so DuckDB's raster macros have no form for it.
UNCHECKABLE = "SELECT AVG((ST_SummaryStats(d.rast, 2)).mean) AS m FROM cim_raster.dtm_raster d"


@pytest.fixture(scope="module")
def duck() -> DuckDBRunner:
    return DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0)


def _ctx(duck: DuckDBRunner | None = None, pg: PostgisRunner | None = None) -> CheckContext:
    return CheckContext(SCHEMA, duckdb=duck, postgis=pg)


def test_duckdb_executes_and_counts_rows(duck: DuckDBRunner) -> None:
    subject = Subject(GOOD)
    findings = run_checks(subject, _ctx(duck), only=("grammar", "duckdb"))
    assert findings == []
    result = subject.engines["duckdb"]
    assert result.status == OK and result.rows and result.rows > 0


def test_arrow_digest_is_the_row_digest(duck: DuckDBRunner) -> None:
    """DuckDB results are summarised from Arrow; the PostGIS side from Python rows: both
    must give the same digest, or engine agreement would compare different things."""
    queries = [
        "SELECT * FROM (VALUES (1, 2.5::DECIMAL(10, 2), true, NULL::INT, 'nan'::DOUBLE, "
        "'a', 7::HUGEINT, 3::UTINYINT), (2, 0.25, false, NULL, 1.5, 'b', 8, 4)) "
        "AS t(a, b, c, d, e, f, g, h)",
        "SELECT 'x' AS t, NULL::DOUBLE AS n, 'nan'::DOUBLE AS only_nan",
        "SELECT id, ST_Area(building_geometry), building_geometry, building_id "
        "FROM cim_vector.building",
        "SELECT rst_tile_stats(rast), rast.width FROM cim_raster.dtm_raster",
        "SELECT id FROM cim_vector.building WHERE false",
    ]
    for sql in queries:
        rows = duck.con.execute(sql).fetchall()
        table = duck.con.execute(sql).to_arrow_table()
        expected, got = digest(rows), arrow_digest(table)
        assert len(got) == len(expected) and got[0] == expected[0], sql
        for x, y in zip(got[1:], expected[1:], strict=True):
            assert (x is None and y is None) or x == pytest.approx(y, rel=1e-12), sql
        assert agree(got, expected, 1e-9)


def test_duckdb_error_is_a_finding(duck: DuckDBRunner) -> None:
    subject = Subject("SELECT b.building_id / 'x' FROM cim_vector.building b")
    codes = [f.code for f in run_checks(subject, _ctx(duck), only=("grammar", "duckdb"))]
    assert "SEM001" in codes


STRUCTURE = QueryFeatures()  # any structure: the subject is a generated candidate
REPEATED = (
    "SELECT b.building_id, b.building_geometry_source FROM cim_vector.building b "
    "JOIN cim_vector.building_properties bp ON bp.building_fk = b.id"
)
CONSTANT = (
    "SELECT ps.project_name, b.building_id, "
    "RANK() OVER (ORDER BY ps.project_name) AS rank_in_project "
    "FROM cim_vector.project_scenario ps JOIN cim_vector.building_properties bp "
    "ON bp.project_id = ps.project_id AND bp.scenario_id = ps.scenario_id "
    "JOIN cim_vector.building b ON b.id = bp.building_fk "
    "WHERE ps.project_id = 'milan_navigli_2023' AND ps.scenario_id = 'baseline' "
    "ORDER BY ps.project_name"
)
UNIQUE = (
    "SELECT b.id, b.building_id, b.lod FROM cim_vector.building b ORDER BY b.building_id, b.lod"
)
RESULT_CASES = ((REPEATED, "RES002"), (CONSTANT, "RES003"), (UNIQUE, None))


def _result_codes(ctx: CheckContext, engine: str, sql: str, structure: bool) -> list[str]:
    subject = Subject(sql, structure=STRUCTURE if structure else None)
    findings = run_checks(subject, ctx, only=("grammar", engine, "result"))
    assert subject.engines[engine].executed, (engine, sql, findings)
    if not structure:  # hand-written queries are executed, never profiled
        assert subject.engines[engine].repeats is None and subject.engines[engine].constant == ()
    return [f.code for f in findings]


def test_results_that_repeat_rows_or_order_by_a_constant_are_rejected(
    duck: DuckDBRunner,
) -> None:
    """RES002 / RES003 judge a generated query by its result: identical rows (a join that
    multiplies rows the SELECT list cannot tell apart: building ids repeat across LODs and
    properties across scenarios) and an ordering or ranking by a value that is the same on
    every row. Hand-written queries (no structure) are only executed, not judged so."""
    for sql, code in RESULT_CASES:
        assert _result_codes(_ctx(duck), "duckdb", sql, True) == ([code] if code else []), sql
        assert _result_codes(_ctx(duck), "duckdb", sql, False) == [], sql
    result = Subject(REPEATED, structure=STRUCTURE)
    run_checks(result, _ctx(duck), only=("grammar", "duckdb"))
    assert result.engines["duckdb"].repeats and "repeats" in result.engines["duckdb"].to_dict()


def test_result_checks_judge_the_engine_that_counts() -> None:
    """One decision on one result: PostGIS's when it executed the query (DuckDB's fixture
    is not the user's database), SpatiaLite's for the SpatiaLite dialect, else DuckDB's."""
    from cimgen.check.result import check_result

    def codes(dialect: str, **engines: EngineResult) -> list[str]:
        subject = Subject(REPEATED, structure=STRUCTURE, engines=dict(engines))
        ctx = CheckContext(SCHEMA, CheckOptions(dialect=dialect))
        return [f.code for f in check_result(subject, ctx)]

    repeats, clean = EngineResult(OK, rows=4, repeats=2), EngineResult(OK, rows=4, repeats=0)
    explain_only = EngineResult(OK)  # --no-execute: PostGIS did not run it
    assert codes("postgis", duckdb=repeats, postgis=clean) == []
    assert codes("postgis", duckdb=clean, postgis=repeats) == ["RES002"]
    assert codes("postgis", duckdb=repeats, postgis=explain_only) == ["RES002"]
    assert codes("postgis", duckdb=repeats, spatialite=clean) == ["RES002"]
    assert codes("spatialite", duckdb=repeats, spatialite=clean) == []
    assert codes("spatialite", duckdb=clean, spatialite=repeats) == ["RES002"]
    assert codes("postgis", duckdb=EngineResult(ERROR, reason="x")) == []


def test_raster_executes_in_duckdb(duck: DuckDBRunner) -> None:
    subject = Subject(RASTER)
    assert run_checks(subject, _ctx(duck), only=("grammar", "duckdb")) == []
    result = subject.engines["duckdb"]
    assert result.status == OK and result.rows == 1


def test_unrenderable_raster_is_not_checkable_never_passed(duck: DuckDBRunner) -> None:
    subject = Subject(UNCHECKABLE)
    findings = run_checks(subject, _ctx(duck), only=("grammar", "duckdb"))
    assert [f.code for f in findings] == ["SEM002"]
    assert subject.engines["duckdb"].status == NOT_CHECKABLE


def test_duckdb_timeout() -> None:
    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=0.05)
    heavy = (
        "SELECT COUNT(*) FROM cim_vector.building_properties a, "
        "cim_vector.building_properties b, cim_vector.building_properties c"
    )
    result, error = runner.run(heavy)
    assert result.status == "planned" and error and "exceeded" in error
    subject = Subject(heavy + " WHERE a.lod = 1")
    findings = run_checks(subject, CheckContext(SCHEMA, duckdb=runner), only=("grammar", "duckdb"))
    # a timeout is a rejection, not an unverified pass
    assert [(f.code, f.severity) for f in findings] == [("SEM003", "error")]
    # the next query is not hit by a late interrupt
    ok, _ = runner.run("SELECT 1")
    assert ok.status == OK


def test_duckdb_runner_runs_on_one_thread() -> None:
    """The CPU-time limit and a seed's results assume one thread: on two, a float sum's last
    digits and the rows a LIMIT keeps depend on the schedule (``cimgen bench`` gave another
    agreement on a second run of one seed in CI)."""
    con = open_fixture(SCHEMA, 0)
    con.execute("SET threads = 2")
    runner = DuckDBRunner(con, timeout_s=5.0)
    assert runner.con.execute("SELECT current_setting('threads')").fetchone() == (1,)


def test_duckdb_time_limit_costs_no_thread_per_query() -> None:
    """One watchdog thread per runner, not a timer thread per query; a deadline that
    passes between queries interrupts nothing."""
    import threading

    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=0.5)
    runner.run("SELECT 1")
    before = threading.active_count()
    for _ in range(50):
        result, _ = runner.run("SELECT COUNT(*) FROM cim_vector.building")
        assert result.status == OK
    time.sleep(0.7)  # the last deadline passes with no query running
    assert threading.active_count() == before
    assert runner.run("SELECT 1")[0].status == OK


def test_a_remembering_runner_answers_a_repeated_query_without_running_it() -> None:
    """``remember=N``: the answer of a query run before among the last N distinct ones,
    not a second execution -- ``random()`` tells them apart -- and a copy each time."""
    rand = "SELECT random() AS r FROM range(3)"
    fresh = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0)
    assert fresh.run(rand)[0].digest != fresh.run(rand)[0].digest  # no memory by default
    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0, remember=2)
    first, error = runner.run(rand)
    assert first.status == OK and first.rows == 3 and error is None
    again, _ = runner.run(rand)
    assert again == first and again is not first
    again.rows = -1  # a caller's change to its copy reaches no later answer
    assert runner.run(rand)[0] == first
    # profiled and plain answers are kept apart (a profile fills repeats and constants)
    profiled, _ = runner.run(rand, profile=True)
    assert profiled.repeats is not None and first.repeats is None
    # the least recently used answer leaves first: the plain one, used after the profiled
    assert runner.run(rand)[0] == first
    runner.run("SELECT 2")
    assert runner.run(rand)[0] == first
    assert runner.run(rand, profile=True)[0].digest != profiled.digest


def test_a_remembered_error_is_the_same_error() -> None:
    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0, remember=8)
    bad = "SELECT no_such_column FROM cim_vector.building"
    first = runner.run(bad)
    assert first[0].status == ERROR and first[1]
    assert runner.run(bad) == first


# --------------------------------------------------------------------------- SpatiaLite


@pytest.fixture(scope="module")
def lite() -> SpatialiteRunner:
    from cimgen.engines import spatialite

    runner = SpatialiteRunner(spatialite.open_fixture(SCHEMA, 0), timeout_s=5.0)
    yield runner
    runner.close()


def _lite_ctx(lite: SpatialiteRunner, dialect: str) -> CheckContext:
    return CheckContext(SCHEMA, CheckOptions(dialect=dialect), spatialite=lite)


def test_spatialite_executes_and_counts_rows(duck: DuckDBRunner, lite: SpatialiteRunner) -> None:
    subject = Subject(GOOD)
    ctx = CheckContext(SCHEMA, duckdb=duck, spatialite=lite)
    assert run_checks(subject, ctx, only=("grammar", "duckdb", "spatialite")) == []
    d, s = subject.engines["duckdb"], subject.engines["spatialite"]
    assert s.status == OK and s.rows == d.rows and s.rows
    assert agree(d.digest, s.digest, 0.005)
    assert subject.sql_spatialite and "cim_vector__building" in subject.sql_spatialite


def test_spatialite_findings_gate_only_the_spatialite_dialect(lite: SpatialiteRunner) -> None:
    """Raster SQL has no SpatiaLite form: a rejection when SpatiaLite is the target dialect,
    information otherwise; an engine error likewise (error vs warning)."""
    for dialect, severity in (("spatialite", "error"), ("postgis", "info")):
        subject = Subject(RASTER)
        findings = run_checks(subject, _lite_ctx(lite, dialect), only=("grammar", "spatialite"))
        assert [(f.code, f.severity) for f in findings] == [("SPL002", severity)]
        assert subject.engines["spatialite"].status == NOT_CHECKABLE
    for dialect, severity in (("spatialite", "error"), ("postgis", "warning")):
        subject = Subject("SELECT b.id FROM cim_vector.building AS b", sql_spatialite="SELECT x(")
        findings = run_checks(subject, _lite_ctx(lite, dialect), only=("spatialite",))
        assert [(f.code, f.severity) for f in findings] == [("SPL001", severity)]
        assert subject.engines["spatialite"].status == ERROR


def test_result_checks_on_spatialite(lite: SpatialiteRunner) -> None:
    """The SpatiaLite dialect's rows are SpatiaLite's: its result is profiled and judged."""
    for sql, code in RESULT_CASES:
        codes = _result_codes(_lite_ctx(lite, "spatialite"), "spatialite", sql, True)
        assert codes == ([code] if code else []), sql
        assert _result_codes(_lite_ctx(lite, "spatialite"), "spatialite", sql, False) == []


def test_spatialite_runner_is_read_only_times_out_and_recovers() -> None:
    from cimgen.engines import spatialite

    runner = SpatialiteRunner(spatialite.open_fixture(SCHEMA, 0), timeout_s=0.3)
    try:
        forever = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"
        )
        start = time.monotonic()
        result, message = runner.run(forever)
        assert result.status == PLANNED and "exceeded 0.3 s" in (message or "")
        assert time.monotonic() - start < 5
        subject = Subject("SELECT 1", sql_spatialite=forever)
        findings = run_checks(subject, _lite_ctx(runner, "spatialite"), only=("spatialite",))
        assert [(f.code, f.severity) for f in findings] == [("SPL003", "error")]
        result, message = runner.run(
            "SELECT ST_Area(GeomFromText('POLYGON((0 0,2 0,2 2,0 2,0 0))'))"
        )
        assert result.status == OK and message is None
        assert result.rows == 1 and result.digest == (1, 4.0)
        result, message = runner.run("DELETE FROM cim_vector__building")
        assert result.status == ERROR and "readonly" in (message or "")
        result, message = runner.run("SELECT count(*) FROM cim_vector__building")
        assert result.status == OK and result.digest and result.digest[1] > 0
        result, message = runner.run("SELECT * FROM nowhere")
        assert result.status == ERROR and "no such table" in (message or "")
    finally:
        runner.close()


@pytest.fixture(scope="module")
def pg_dsn(postgis_dsn: str) -> str:
    """A database filled by db init (module-scoped: built once)."""
    from cimgen.engines.postgis import init_database

    with new_postgis_database(postgis_dsn, "cimgen_chk") as dsn:
        init_database(dsn, SCHEMA, seed=0)
        yield dsn


@pytest.mark.postgis
def test_postgis_gold_check_and_agreement(pg_dsn: str, duck: DuckDBRunner) -> None:
    from cimgen.engines.postgis import connect

    pg = PostgisRunner(connect(pg_dsn), timeout_s=5.0)
    subject = Subject(GOOD)
    assert run_checks(subject, _ctx(duck, pg), only=("grammar", "duckdb", "postgis")) == []
    d, p = subject.engines["duckdb"], subject.engines["postgis"]
    assert p.status == OK and p.rows == d.rows
    assert agree(d.digest, p.digest, 0.005)  # geography vs UTM 32N areas within 0.5%
    raster = Subject(RASTER)
    assert run_checks(raster, _ctx(None, pg), only=("postgis",)) == []
    assert raster.engines["postgis"].rows == 1


@pytest.mark.postgis
def test_result_checks_on_postgis(pg_dsn: str, duck: DuckDBRunner) -> None:
    """With PostGIS given, its result is the one judged (the message names it)."""
    from cimgen.engines.postgis import connect

    pg = PostgisRunner(connect(pg_dsn), timeout_s=5.0)
    for sql, code in RESULT_CASES:
        assert _result_codes(_ctx(None, pg), "postgis", sql, True) == ([code] if code else [])
        assert _result_codes(_ctx(None, pg), "postgis", sql, False) == []
    subject = Subject(REPEATED, structure=STRUCTURE)
    findings = run_checks(subject, _ctx(duck, pg), only=("grammar", "duckdb", "postgis", "result"))
    assert [f.code for f in findings] == ["RES002"] and "postgis result" in findings[0].message


@pytest.mark.postgis
def test_postgis_read_only_timeout_and_sqlstate(pg_dsn: str) -> None:
    from cimgen.engines.postgis import connect

    conn = connect(pg_dsn)
    pg = PostgisRunner(conn, timeout_s=0.2)
    before = conn.execute("SELECT last_value FROM cim_vector.building_id_seq").fetchone()
    result, finding = pg.run("SELECT nextval('cim_vector.building_id_seq')")
    assert finding is not None and finding.code == "PGS002" and "[25006]" in finding.message
    after = conn.execute("SELECT last_value FROM cim_vector.building_id_seq").fetchone()
    assert before == after  # nothing a checked query does can modify the database
    result, finding = pg.run("SELECT pg_sleep(2)")
    assert finding is not None and finding.code == "PGS003" and result.status == "planned"
    assert finding.severity == "error"
    result, finding = pg.run("SELECT nope FROM cim_vector.building")
    assert finding is not None and finding.code == "PGS001" and "[42703]" in finding.message
    explain_only = PostgisRunner(conn, timeout_s=1.0, execute=False)
    result, finding = explain_only.run(GOOD)
    assert finding is None and result.status == OK and result.rows is None
    # a connection left in a failed transaction (a cancelled ROLLBACK) is reset first
    conn.execute("BEGIN")
    with pytest.raises(psycopg.Error):
        conn.execute("SELECT nope FROM cim_vector.building")
    result, finding = pg.run("SELECT 1")
    assert finding is None and result.status == OK and result.rows == 1
    assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    # the session settings are the check's own, inside its transaction only
    result, finding = pg.run(
        "SELECT 1 WHERE current_setting('jit') = 'off' "
        "AND current_setting('transaction_read_only') = 'on' "
        "AND current_setting('statement_timeout') = '200ms'"
    )
    assert finding is None and result.rows == 1
    assert conn.execute("SELECT current_setting('statement_timeout')").fetchone() == ("0",)


def test_validate_execute_duckdb_json(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    bad = "SELECT b.building_id / 'x' FROM cim_vector.building b"
    sql.write_text(f"{GOOD};\n{UNCHECKABLE};\n{bad};\n")
    report = tmp_path / "r.json"
    rejected = tmp_path / "rej.jsonl"
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(sql),
            "--execute",
            "duckdb",
            "--format",
            "json",
            "--out",
            str(report),
            "--rejected",
            str(rejected),
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    assert data["engines"]["duckdb"] == {
        "n": 2,
        "ok": 1,
        "ok_pct": 50.0,
        "executed": 1,
        "planned": 0,
        "not_checkable": 1,
    }
    assert data["per_check"]["SEM001"] == 1
    assert data["queries"][0]["engines"]["duckdb"]["status"] == "ok"
    lines = rejected.read_text().splitlines()
    assert len(lines) == 1 and "SEM001" in lines[0]


@pytest.mark.postgis
def test_validate_execute_postgis_counts_every_query(pg_dsn: str, tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(f"{GOOD};\nSELECT 1 FROM cim_vector.building WHERE lod = 1LIMIT 2;\n{RASTER};\n")
    report = tmp_path / "r.json"
    result = CliRunner().invoke(
        app,
        [
            "validate",
            str(sql),
            "--execute",
            "postgis",
            "--postgis",
            pg_dsn,
            "--format",
            "json",
            "--out",
            str(report),
        ],
    )
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    # the syntax error is tried on PostGIS too (an independent run would count it)
    assert data["engines"]["postgis"] == {
        "n": 3,
        "ok": 2,
        "ok_pct": 66.67,
        "executed": 2,
        "planned": 0,
        "not_checkable": 0,
    }


def test_validate_execute_needs_postgis_url(capsys: pytest.CaptureFixture[str]) -> None:
    from cimgen.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["validate", GOOD, "--execute", "postgis"])
    assert exc.value.code == 2
    assert "needs --postgis URL" in capsys.readouterr().err


def test_duckdb_sorts_by_geometry_type(duck: DuckDBRunner) -> None:
    """DuckDB's GEOMETRY_TYPE enum cannot be sorted in every plan; the renderer casts it."""
    sql = (
        "SELECT ST_GeometryType(g.geometry) AS t, ST_DWithin(g.geometry, g.geometry, 1) AS x "
        "FROM cim_vector.grid_bus g JOIN cim_vector.grid_line l ON g.bus_id = l.from_bus "
        "ORDER BY t"
    )
    subject = Subject(sql)
    assert run_checks(subject, _ctx(duck), only=("grammar", "duckdb")) == []
    assert subject.engines["duckdb"].status == OK


def test_duckdb_geojson_in_a_union_with_text(duck: DuckDBRunner) -> None:
    """DuckDB's ST_AsGeoJSON returns JSON; a UNION with a text arm must not cast text to JSON."""
    sql = (
        "SELECT ST_AsGeoJSON(g.geometry) AS t FROM cim_vector.grid_bus g WHERE g.bus_id = 1 "
        "UNION ALL SELECT g.name FROM cim_vector.grid_bus g WHERE g.bus_id = 1"
    )
    subject = Subject(sql)
    assert run_checks(subject, _ctx(duck), only=("grammar", "duckdb")) == []
    assert subject.engines["duckdb"].rows and subject.engines["duckdb"].rows >= 2


def test_duckdb_time_limit_counts_cpu_time() -> None:
    """The limit is CPU time of the process (issue 16: wall time made a 0.2 s query a
    SEM003 rejection at load 15): a heavy query is stopped once it has used about the limit
    in CPU, not before, and the wall cap stops it at the latest."""
    from cimgen.check.execute import WALL_FACTOR

    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=0.3)
    heavy = (
        "SELECT COUNT(*) FROM cim_vector.building_properties a, "
        "cim_vector.building_properties b, cim_vector.building_properties c"
    )
    cpu, wall = time.process_time(), time.monotonic()
    result, _ = runner.run(heavy)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    assert result.status == "planned"
    assert cpu >= 0.3 * 0.9 or wall >= 0.3 * WALL_FACTOR * 0.9
    assert wall < 0.3 * WALL_FACTOR + 2.0
    assert runner.run("SELECT 1")[0].status == OK


def test_spatialite_time_limit_counts_cpu_time() -> None:
    """SpatiaLite's limit is CPU time too (a wall-clock limit made one 6,208-row query "ok"
    on an idle box and "planned" under load: the same seed gave two outputs). A statement
    that waits 0.3 s of wall time on 0.1 s of limit, using almost no CPU, runs to its end;
    one that waits past the wall cap is stopped."""
    import apsw

    from cimgen.check.execute import WALL_FACTOR

    conn = apsw.Connection(":memory:")
    conn.create_scalar_function("pause", lambda s: time.sleep(s) or 0, 1)
    runner = SpatialiteRunner(conn, timeout_s=0.1)
    waits = (
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 20000) "
        "SELECT count(*) FROM c WHERE x % 1000 <> 0 OR pause({s}) = 0"
    )
    try:
        result, message = runner.run(waits.format(s=0.3 / 20))
        assert result.status == OK and message is None and result.rows == 1
        start = time.monotonic()
        result, message = runner.run(waits.format(s=2 * 0.1 * WALL_FACTOR / 20))
        assert result.status == PLANNED, message
        assert time.monotonic() - start < 0.1 * WALL_FACTOR + 1.0
    finally:
        conn.close()
