"""Stage 1 ingest: formats, metadata, skipped lines and one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from cimgen.errors import InputError
from cimgen.ingest import read_stage1

REC = {
    "id": "r1",
    "question": "How many buildings?",
    "sql_postgis": "SELECT COUNT(*) FROM cim_vector.building",
    "sql_type": "aggregation",
    "difficulty": {"overall_difficulty": "medium"},
    "question_tone": "interrogative",
    "usage_frequency": "frequent",
}


def _write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_sample_with_metadata(stage1_sample: Path) -> None:
    reader = read_stage1(stage1_sample)
    records = list(reader)
    assert len(records) == 100 and reader.report.total_skipped == 0
    first = records[0]
    assert first.id == "cim_000167" and first.sql_type == "SPATIAL_MEASUREMENT"
    assert first.difficulty_level == "EASY" and first.question_tone == "DIRECT"
    assert first.line == 1 and first.raw["template_id"].startswith("CIM_A1")


def test_derives_labels_from_nested_metadata(tmp_path: Path) -> None:
    rec = next(iter(read_stage1(_write_jsonl(tmp_path / "a.jsonl", [json.dumps(REC)]))))
    assert (rec.sql_type, rec.difficulty_level, rec.question_tone) == (
        "AGGREGATION",
        "MEDIUM",
        "INTERROGATIVE",
    )


def test_missing_labels_are_none(tmp_path: Path) -> None:
    raw = {"id": "x", "sql_postgis": "SELECT 1"}
    rec = next(iter(read_stage1(_write_jsonl(tmp_path / "a.jsonl", [json.dumps(raw)]))))
    assert rec.sql_type is None and rec.difficulty_level is None and rec.question_tone is None


def test_malformed_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "a.jsonl",
        [json.dumps(REC), "{not json", "[1, 2]", json.dumps({"id": "nosql"}), json.dumps(REC)],
    )
    reader = read_stage1(path)
    assert len(list(reader)) == 2
    assert reader.report.skipped["invalid JSON"] == 1
    assert reader.report.skipped["not a JSON object"] == 1
    assert reader.report.skipped["no SQL in field 'sql_postgis'"] == 1
    assert reader.report.skipped_lines["invalid JSON"] == [2]


@pytest.mark.parametrize("fmt", ["json", "csv", "parquet", "jsonl.gz"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / f"c.{fmt}"
    if fmt == "json":
        path.write_text(json.dumps([REC, REC]))
    elif fmt == "csv":
        pd.DataFrame([{**REC, "difficulty": json.dumps(REC["difficulty"])}] * 2).to_csv(
            path, index=False
        )
    elif fmt == "parquet":
        pd.DataFrame([{k: v for k, v in REC.items() if k != "difficulty"}] * 2).to_parquet(path)
    else:
        with gzip.open(path, "wt") as fh:
            fh.write(json.dumps(REC) + "\n" + json.dumps(REC) + "\n")
    records = list(read_stage1(path))
    assert len(records) == 2 and records[0].sql.startswith("SELECT COUNT")


def test_custom_sql_field(tmp_path: Path) -> None:
    path = _write_jsonl(tmp_path / "a.jsonl", [json.dumps({"id": 1, "query": "SELECT 1"})])
    assert [r.sql for r in read_stage1(path, sql_field="query")] == ["SELECT 1"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "file not found"),
        ("", "file is empty"),
        ("\n".join(["this is not json"] * 25), "line 1: not JSON Lines"),
        ("oops\n", "line 1: no line is valid JSON"),
        (json.dumps({"id": 1, "sql": "SELECT 1"}), "no record has the SQL field 'sql_postgis'"),
    ],
)
def test_whole_file_errors_are_one_line(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "c.jsonl"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as exc:
        list(read_stage1(path))
    text = str(exc.value)
    assert message in text and "\n" not in text and str(path) in text
