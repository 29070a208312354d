"""The streaming writers of `cimgen generate` (cimgen/generate/sinks.py) and the bounded
per-row state of the driver (digests, word counts)."""

from __future__ import annotations

import doctest
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cimgen.check import diversity
from cimgen.generate import sinks, stats
from cimgen.generate.sinks import RecordSink, StructureSink, flatten
from cimgen.models import QueryFeatures


def test_doctests() -> None:
    for module in (sinks, stats, diversity):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__


_scalars = st.one_of(st.none(), st.integers(-5, 5), st.text(max_size=3), st.booleans())
_records = st.dictionaries(
    st.sampled_from("abcd"),
    st.one_of(_scalars, st.dictionaries(st.sampled_from("xyz"), _scalars, max_size=3)),
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_records, min_size=1, max_size=6))
def test_flatten_gives_json_normalize_columns(records: list[dict]) -> None:
    columns: dict[str, None] = {}
    for record in records:
        for name, _ in flatten(record):
            columns.setdefault(name)
    assert list(columns) == list(pd.json_normalize(records, sep=".").columns)


def test_record_sink_streams_jsonl_and_writes_parquet_in_batches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sinks, "PARQUET_BATCH", 2)  # 5 rows: three batches
    sink = RecordSink(tmp_path)
    rows = [
        {"id": "a", "quality": {"score": 0.9}, "n": 3},
        {"id": "b", "quality": {"score": 0.8}, "n": None, "relaxed": ["x"]},
        {"id": "c", "quality": {}, "n": 1},
        {"id": "d", "quality": {"score": 1.0}, "n": 2, "more": {"k": True}},
        {"id": "é", "quality": {"score": 0.5}, "n": 0},
    ]
    for row in rows:
        sink.accept(row)
    sink.reject({"id": "r", "findings": []})
    assert sink.accepted == 5 and sink.rejected == 1
    sink.close()
    sink.write_parquet()
    lines = (tmp_path / "dataset.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == rows
    assert lines[4] == '{"id": "é", "quality": {"score": 0.5}, "n": 0}'  # UTF-8, not \\u
    table = pq.read_table(tmp_path / "dataset.parquet")
    assert table.column_names == ["id", "n", "quality.score", "relaxed", "more.k"]
    assert pq.ParquetFile(tmp_path / "dataset.parquet").metadata.num_row_groups == 3
    assert table.to_pydict() == {
        "id": ["a", "b", "c", "d", "é"],
        "n": ["3", None, "1", "2", "0"],
        "relaxed": [None, "['x']", None, None, None],
        "quality.score": ["0.9", "0.8", None, "1.0", "0.5"],
        "more.k": [None, None, None, "True", None],
    }
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files


def test_an_aborted_sink_leaves_no_file(tmp_path: Path) -> None:
    sink = RecordSink(tmp_path)
    sink.accept({"id": "a"})
    structures = StructureSink(tmp_path / "structures.parquet")
    structures.write([QueryFeatures()])
    sink.abort()
    structures.abort()
    assert list(tmp_path.iterdir()) == []


def test_structure_sink_keeps_the_feature_types(tmp_path: Path) -> None:
    sink = StructureSink(tmp_path / "s.parquet")
    sink.write([QueryFeatures(join_count=2, has_window=True), QueryFeatures()])
    sink.write([])
    sink.write([QueryFeatures(sql_type="SPATIAL_JOIN")])
    sink.close()
    frame = pd.read_parquet(tmp_path / "s.parquet")
    assert sink.count == 3 and list(frame.columns) == list(QueryFeatures().to_dict())
    assert frame["join_count"].tolist() == [2, 0, 0] and frame["has_window"].dtype == bool
    assert next(QueryFeatures.from_dict(r) for r in frame.to_dict("records")) == QueryFeatures(
        join_count=2, has_window=True
    )


def test_duplicates_are_found_by_digest_of_the_normalised_sql() -> None:
    state = diversity.DiversityState.from_stage1(["SELECT 1 FROM a"])
    assert state.stage1_sql == {diversity.sql_digest("SELECT  1\nFROM a;")}
    assert all(len(d) == 16 for d in state.stage1_sql)


def test_word_stats_from_counts_match_the_sorted_list_rule() -> None:
    words = [7, 3, 12, 3, 9, 30, 4]
    ordered = sorted(words)
    expected_p90 = ordered[min(len(ordered) - 1, -(-9 * len(ordered) // 10) - 1)]
    got = stats._word_stats(Counter(words))
    assert got == {"words_median": ordered[len(ordered) // 2], "words_p90": expected_p90}
    assert stats._word_stats(Counter()) == {"words_median": 0, "words_p90": 0}
