"""Files on disk (cimgen.io): what write_jsonl writes, read_jsonl reads back."""

from __future__ import annotations

import gzip
from pathlib import Path

from cimgen.io import read_jsonl, write_jsonl


def test_jsonl_round_trip(tmp_path: Path) -> None:
    rows = [{"id": 1, "question": "Which buildings è alti?"}, {"id": 2, "sql": "SELECT 1"}]
    assert write_jsonl(tmp_path / "d.jsonl", rows) == 2
    assert read_jsonl(tmp_path / "d.jsonl") == rows


def test_gzip_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"a": 1}\n\n{"a": 2}\n   \n')
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
