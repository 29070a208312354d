"""The bundled Stage 1 demo corpus: determinism, coverage, validity, execution on PostGIS."""

from __future__ import annotations

import gzip
import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from cimgen.catalogue import SPATIAL_CATEGORIES, load_catalogue
from cimgen.cli.main import main
from cimgen.corpus import iter_demo_records, load_demo_corpus
from cimgen.corpus.bank import all_templates
from cimgen.corpus.build import build_corpus, corpus_bytes, gzip_bytes
from cimgen.corpus.templates import sql_literal
from cimgen.models import DIFFICULTY_LEVELS, SQL_TYPES
from cimgen.question import TONES
from cimgen.schema import load_schema

SCHEMA = load_schema("cim_wizard")


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return list(iter_demo_records())


def test_rebuild_is_byte_identical() -> None:
    # the whole build takes ~10-15 s here, so the full file is compared, not a subset
    shipped = load_demo_corpus().read_bytes()
    rebuilt = gzip_bytes(corpus_bytes(build_corpus(SCHEMA, seed=0, n=10_000)))
    assert rebuilt == shipped, "run `python scripts/build_demo_corpus.py` and commit the file"


def test_gzip_header_has_no_timestamp() -> None:
    head = load_demo_corpus().read_bytes()[:10]
    assert head[:2] == b"\x1f\x8b" and head[4:8] == b"\x00\x00\x00\x00"


def test_size_ids_and_uniqueness(records: list[dict]) -> None:
    assert len(records) == 10_000
    assert len({r["id"] for r in records}) == 10_000
    assert len({(r["question"], r["sql_postgis"]) for r in records}) == 10_000


def test_template_bank() -> None:
    import random

    from cimgen.corpus.build import load_pools
    from cimgen.corpus.templates import render_question, render_sql

    bank = all_templates()
    assert len(bank) >= 50
    pools, rng = load_pools(SCHEMA, 0), random.Random(1)
    for t in bank:
        assert t.sql_type in SQL_TYPES, t.id
        assert t.difficulty in DIFFICULTY_LEVELS, t.id
        assert set(t.questions) <= set(TONES) and len(t.questions) >= 2, t.id
        params = t.sample(pools, rng)
        assert t.placeholders() | t.question_placeholders() <= set(params), t.id
        render_sql(t, params)
        for variants in t.questions.values():
            for v in variants:
                assert "{" not in render_question(v, params), t.id


def test_coverage(records: list[dict]) -> None:
    tables = {tbl for r in records for tbl in r["database_schema"]["tables"]}
    assert tables == {t.qualified for t in SCHEMA.tables}
    assert {r["sql_type"] for r in records} == set(SQL_TYPES)
    assert {r["difficulty_level"] for r in records} == set(DIFFICULTY_LEVELS)
    assert {r["question_tone"] for r in records} == set(TONES)
    cat = load_catalogue()
    funcs = {f for r in records for f in r["evidence"]["functions"] if cat.is_spatial(f)}
    assert len(funcs) >= 30
    categories = {cat.get(f).category for f in funcs}  # type: ignore[union-attr]
    assert set(SPATIAL_CATEGORIES) <= categories  # every category of the catalogue
    tax = [r["sql_taxonomy"] for r in records]
    for flag in ("has_cte", "has_subquery", "has_aggregation", "has_window_function"):
        assert sum(t[flag] for t in tax) >= 100, flag
    assert any(t["set_operation"] == "UNION_ALL" for t in tax)
    assert any("EXISTS (" in r["sql_postgis"] for r in records)
    assert any(" IN (\n" in r["sql_postgis"] for r in records)
    assert {r["usage_frequency"] for r in records} == {"frequent", "low_frequent", "rare"}


def test_database_schema_lists_real_tables_only(records: list[dict]) -> None:
    real = {t.qualified for t in SCHEMA.tables}
    for r in records[:2000]:
        assert set(r["database_schema"]["tables"]) <= real, r["id"]
        assert r["database_schema"]["table_count"] == len(r["database_schema"]["tables"])


def test_questions_read_naturally(records: list[dict]) -> None:
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-")
    for r in records:
        q = r["question"]
        assert "{" not in q and not uuid.search(q) and "milan_" not in q, r["id"]
        assert r["instruction"].endswith(q)


def test_sql_semantics(records: list[dict]) -> None:
    for r in records:
        sql = r["sql_postgis"]
        assert sql.lstrip().upper().startswith(("SELECT", "WITH")), r["id"]
        assert "{" not in sql, r["id"]
        # points are built in 4326; distances/buffers in metres go through geography
        assert "ST_MakePoint" not in sql or "ST_SetSRID(ST_MakePoint(" in sql.replace(
            "public.", ""
        ), r["id"]
        if "ST_DWithin" in sql:
            assert "::geography" in sql, r["id"]


def test_literals_are_escaped() -> None:
    assert sql_literal("O'Brien") == "'O''Brien'"


def test_every_query_parses_with_grammar_and_features(records: list[dict]) -> None:
    from cimgen.features import extract_features
    from cimgen.grammar.parse import parse

    # one record per (template, public. prefix) keeps this quick; templates fix the shape
    sample: dict[tuple[str, bool], dict] = {}
    for r in records:
        sample.setdefault((r["template_id"], "public." in r["sql_postgis"]), r)
    for r in sample.values():
        parse(r["sql_postgis"])
        extract_features(r["sql_postgis"])


def _cli(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as done:
        return int(done.code or 0)
    return 0


def test_cli_export_and_stats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "demo.jsonl"
    assert _cli(["corpus", "export", "--out", str(target)]) == 0
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 10_000 and json.loads(lines[0])["database_name"] == "cim_wizard"
    assert target.read_bytes() == gzip.decompress(load_demo_corpus().read_bytes())
    capsys.readouterr()
    assert _cli(["corpus", "stats", "--stage1", str(target), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["records"] == 10_000 and stats["distinct_spatial_functions"] >= 30


def test_cli_stats_missing_file(tmp_path: Path) -> None:
    assert _cli(["corpus", "stats", "--stage1", str(tmp_path / "nope.jsonl")]) == 2


@pytest.mark.postgis
def test_all_records_execute_on_postgis(fresh_postgis_db: str, records: list[dict]) -> None:
    from cimgen.corpus.verify import execute_records
    from cimgen.engines.postgis import init_database

    init_database(fresh_postgis_db, SCHEMA, seed=0)
    start = time.perf_counter()
    outcomes = execute_records(fresh_postgis_db, records, timeout_ms=10_000)
    elapsed = time.perf_counter() - start
    failed = [o for o in outcomes if o.error]
    assert not failed, f"{len(failed)} failed, e.g. {failed[0]}"
    with_rows = sum(o.rows > 0 for o in outcomes)
    assert with_rows >= 0.9 * len(outcomes), Counter(o.template_id for o in outcomes if o.rows == 0)
    print(f"\n{len(outcomes)} queries in {elapsed:.1f} s, {with_rows} returned rows")
