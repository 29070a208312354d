"""Stage 1 ingest: formats, metadata, skipped lines and one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        ("\n\noops\n", "line 3: not JSON Lines"),
        ('[{"id": 1, "sql_postgis": "SELECT 1"}]', "line 1: holds a JSON array, not JSON Lines"),
        ("\n \n", "no record in the file"),
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


# --------------------------------------------------------------------------- damaged input


def test_undecodable_lines_are_skipped_with_line_numbers(tmp_path: Path) -> None:
    good = json.dumps(REC).encode()
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\n".join([good, b"\xff\xfe", good, b"caf\xe9", good, b""]))
    reader = read_stage1(path)
    assert [r.line for r in reader] == [1, 3, 5]
    assert reader.report.skipped == {"not UTF-8": 2}
    assert reader.report.skipped_lines["not UTF-8"] == [2, 4]
    assert reader.report.summary() == "2 not UTF-8 (lines 2, 4)"


def test_a_byte_order_mark_is_not_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(REC).encode() + b"\n")
    reader = read_stage1(path)
    assert len(list(reader)) == 1 and reader.report.total_skipped == 0


def test_truncated_and_fake_gzip_are_one_line_errors(tmp_path: Path) -> None:
    whole = gzip.compress(("\n".join([json.dumps(REC)] * 400) + "\n").encode())
    truncated = tmp_path / "t.jsonl.gz"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match="truncated or corrupt after line"):
        list(read_stage1(truncated))
    fake = tmp_path / "f.jsonl.gz"
    fake.write_text(json.dumps(REC) + "\n")
    with pytest.raises(InputError, match="not a gzip file"):
        list(read_stage1(fake))


def test_json_lines_named_json_gets_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(REC) + "\n" + json.dumps(REC) + "\n")
    with pytest.raises(InputError, match=r"line 2: invalid JSON \(Extra data\).*name the file"):
        list(read_stage1(path))


@pytest.mark.parametrize("suffix", ["json", "csv"])
def test_whole_document_formats_name_the_undecodable_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"a.{suffix}"
    path.write_bytes(b"id,sql_postgis\n1,SELECT 1\n2,SELECT '\xff'\n")
    with pytest.raises(InputError, match=r"line 3: not UTF-8 text \(byte 0xff\)"):
        list(read_stage1(path))


# --------------------------------------------------------------------------- the flat format

FLAT = Path(__file__).resolve().parent / "cases" / "stage1" / "flat.jsonl"


def test_flat_format_ids_and_labels() -> None:
    reader = read_stage1(FLAT)
    records = {r.id: r for r in reader}
    assert list(records) == ["R01-0001", "R02-0001", "R03-0001", "R04-0001", "R05-0001"]
    got = {
        rid: (r.sql_type, r.difficulty_level, r.usage_frequency, r.schema_complexity)
        for rid, r in records.items()
    }
    assert got == {
        "R01-0001": ("SIMPLE_SELECT", "EASY", "frequent", "SINGLE_TABLE"),
        "R02-0001": ("SPATIAL_JOIN", "MEDIUM", "low_frequent", "SINGLE_SCHEMA"),
        "R03-0001": ("AGGREGATION", "HARD", "rare", "MULTI_SCHEMA"),
        "R04-0001": ("NESTED_QUERY", "EXPERT", "seasonal", "SINGLE_SCHEMA"),
        "R05-0001": ("SPATIAL_MEASUREMENT", "C", "frequent", "SINGLE_TABLE"),
    }
    assert records["R02-0001"].question_tone == "INTERROGATIVE"
    assert [r.sample_dirtiness for r in records.values()] == [
        "clean",
        "typos",
        "clean",
        "abbreviations",
        "clean",
    ]
    assert reader.report.with_question == 5 and reader.report.duplicate_ids == 0


def test_flat_format_labels_reach_the_features() -> None:
    from cimgen.features import features_frame, iter_features
    from cimgen.schema import load_schema

    pairs = list(iter_features(read_stage1(FLAT), load_schema("cim_wizard")))
    assert len(pairs) == 5
    by_id = {r.id: f for r, f in pairs}
    assert by_id["R02-0001"].sql_type == "SPATIAL_JOIN"
    assert by_id["R03-0001"].difficulty_level == "HARD"
    assert by_id["R03-0001"].usage_frequency == "rare"
    # schema_complexity is a structure feature: read from the tree, not the label
    assert by_id["R04-0001"].schema_complexity == "SINGLE_TABLE"
    frame = features_frame(pairs, labels=("sample_dirtiness",))
    assert list(frame.columns)[-1] == "sample_dirtiness"
    assert list(frame["sample_dirtiness"])[:2] == ["clean", "typos"]
    assert "sample_dirtiness" not in features_frame(pairs).columns


def test_id_field_option(tmp_path: Path) -> None:
    path = _write_jsonl(
        tmp_path / "a.jsonl",
        [json.dumps({"id": "a", "key": "k1", "sql_postgis": "SELECT 1"})],
    )
    assert [r.id for r in read_stage1(path)] == ["a"]
    assert [r.id for r in read_stage1(path, id_field="key")] == ["k1"]
    with pytest.raises(InputError, match=r"no record has the id field 'nope'.*--id-field"):
        list(read_stage1(path, id_field="nope"))


def test_corpus_warnings_name_the_problem(tmp_path: Path) -> None:
    from cimgen.ingest import corpus_warnings

    path = _write_jsonl(
        tmp_path / "a.jsonl", [json.dumps({"id": "x", "sql_postgis": "SELECT 1"})] * 2
    )
    reader = read_stage1(path)
    list(reader)
    text = " | ".join(corpus_warnings(reader.report, 2))
    assert "only 2 Stage 1 record(s) have features" in text
    assert "has a 'question' field" in text
    assert "1 Stage 1 record id(s) repeat" in text
    reader = read_stage1(FLAT)
    list(reader)
    assert corpus_warnings(reader.report, 60) == []


# --------------------------------------------------------------------------- property


def _good(i: int) -> bytes:
    return json.dumps({"id": f"good{i}", "sql_postgis": f"SELECT {i}"}).encode()


_LINE = st.one_of(
    st.binary(max_size=40).map(lambda b: b.replace(b"\n", b"")),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(st.sampled_from(["id", "sql_postgis", "q", ""]), inner, max_size=3)
        ),
        max_leaves=6,
    ).map(lambda v: json.dumps(v).encode()),
    st.just(b"GOOD"),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(_LINE, max_size=25), gz=st.booleans())
def test_ingest_never_raises_but_input_error_and_keeps_every_good_line(
    tmp_path: Path, lines: list[bytes], gz: bool
) -> None:
    goods = []
    out = []
    for number, line in enumerate(lines, start=1):
        if line == b"GOOD":
            line = _good(number)
            goods.append((f"good{number}", number))
        out.append(line)
    data = b"\n".join(out)
    path = tmp_path / ("h.jsonl.gz" if gz else "h.jsonl")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    try:
        reader = read_stage1(path)
        records = list(reader)
    except InputError as exc:
        assert not goods, f"a good line was lost to: {exc}"
        assert "\n" not in str(exc)
        return
    got = {(r.id, r.line) for r in records}
    assert set(goods) <= got
    assert reader.report.read == len(records)
