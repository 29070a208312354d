"""The check stage: YAML cases per check, the score, and the diversity state."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cimgen import ast
from cimgen.check import PURPOSE, CheckContext, DiversityState, Subject, run_checks
from cimgen.check.base import NOT_CHECKABLE, OK, EngineResult, block_scopes
from cimgen.grammar import parse
from cimgen.models import Finding, QueryFeatures
from cimgen.schema import load_schema
from cimgen.score import score

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "checks.yaml").read_text())
SCHEMA = load_schema("cim_wizard")
STATIC = ("grammar", "postgres_parse", "bind", "srid", "units", "cartesian", "cost")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_check_case(case: dict) -> None:
    ctx = CheckContext(SCHEMA)
    findings = run_checks(Subject(case["sql"]), ctx, only=tuple(case.get("checks", STATIC)))
    errors = [f.code for f in findings if f.severity == "error"]
    if case.get("pass"):
        assert errors == [], findings
    else:
        assert case["fail"] in errors, findings


def test_complexity_match_reports_each_count() -> None:
    sql = "SELECT b.building_id FROM cim_vector.building b"
    asked = QueryFeatures(join_count=1, table_count=2, schema_count=1)
    subject = Subject(sql, structure=asked)
    findings = run_checks(subject, CheckContext(SCHEMA), only=("complexity",))
    assert sorted(f.message.split(":")[0] for f in findings if f.code == "CPX001") == [
        "join_count",
        "table_count",
    ]
    q = score(findings, {"duckdb": EngineResult(OK, rows=3)})
    assert q.breakdown["complexity"] == pytest.approx(0.6)
    assert not q.accepted


def test_block_scopes_resolved_once_per_query_and_shared_by_the_rules() -> None:
    """The SRID, units and purpose rules read one resolution of the query's names, kept on
    the subject beside the query it belongs to (issue 16); another query gets its own."""
    sql = (
        "WITH t AS (SELECT b.id, b.building_geometry AS g FROM cim_vector.building b) "
        "SELECT t.id FROM t WHERE EXISTS (SELECT 1 FROM cim_census.census_geo c "
        "WHERE ST_Intersects(c.geometry, t.g))"
    )
    subject = Subject(sql)
    run_checks(subject, CheckContext(SCHEMA), only=("grammar", "srid", "units", *PURPOSE))
    assert subject.query is not None and subject.scopes is not None
    assert subject.scopes[0] is subject.query
    scopes = block_scopes(subject, SCHEMA)
    assert scopes is subject.scopes[1]  # read, not resolved again
    main, cte = subject.query.body, subject.query.ctes[0].query.body
    (exists,) = (n.query.body for n in ast.walk(subject.query) if isinstance(n, ast.Exists))
    assert set(scopes) == {id(main), id(cte), id(exists)}
    assert scopes[id(exists)].parent is scopes[id(main)]  # t.g resolves outwards
    assert subject.blocks is not None and subject.blocks[0] is subject.query
    blocks = subject.blocks[1]
    assert [(b.select, b.role) for b in blocks] == [
        (main, "main"),
        (exists, "predicate"),
        (cte, "cte"),
    ]
    assert all(b.scope is scopes[id(b.select)] for b in blocks)

    subject.query = parse("SELECT b.id FROM cim_vector.building b")
    (only,) = (n for n in ast.walk(subject.query) if isinstance(n, ast.Select))
    assert set(block_scopes(subject, SCHEMA)) == {id(only)}


def test_diversity_duplicates_caps_and_stage1_shapes() -> None:
    stage1 = ["SELECT b.lod FROM cim_vector.building b WHERE b.lod = 1"]
    state = DiversityState.from_stage1(stage1, cap=2)
    ctx = CheckContext(SCHEMA, diversity=state)
    same_shape = Subject("SELECT b.lod FROM cim_vector.building b WHERE b.lod = 2")
    assert [f.code for f in run_checks(same_shape, ctx, only=("diversity",))] == ["DIV003"]
    assert state.score(same_shape) == pytest.approx(0.6)
    dup = Subject(stage1[0])
    assert [f.code for f in run_checks(dup, ctx, only=("diversity",))] == ["DIV001"]
    new = [Subject(f"SELECT b.id FROM cim_vector.building b WHERE b.id > {i}") for i in range(3)]
    for s in new[:2]:
        assert run_checks(s, ctx, only=("diversity",)) == []
        state.accept(s)
    assert [f.code for f in run_checks(new[0], ctx, only=("diversity",))] == ["DIV001"]
    assert [f.code for f in run_checks(new[2], ctx, only=("diversity",))] == ["DIV002"]


def test_score_weights_thresholds_and_unverified() -> None:
    ok = score([], {"duckdb": EngineResult(OK, rows=10)})
    assert ok.accepted and ok.score == pytest.approx(1.0)
    unverified = score(
        [Finding("SEM002", "duckdb", "raster", "info")], {"duckdb": EngineResult(NOT_CHECKABLE)}
    )
    assert unverified.breakdown["semantic"] == pytest.approx(0.6) and unverified.accepted
    bad = score([Finding("SEM001", "duckdb", "boom")], {"duckdb": EngineResult("error")})
    assert not bad.accepted and bad.breakdown["semantic"] == 0.0
    assert any(r.startswith("SEM001") for r in bad.reasons)
    empty = score([], {"duckdb": EngineResult(OK, rows=0)})
    assert empty.breakdown["semantic"] == pytest.approx(0.9)
