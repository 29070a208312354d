"""Stage 1 ingest: stream records from JSONL (also .jsonl.gz), a JSON array, CSV or Parquet.

Whole-file problems (missing, empty, not JSON at all, no record has the SQL field) raise
:class:`InputError` with file, line and fix. A single malformed line or a record without
SQL is skipped and counted in :class:`IngestReport`, never fatal.
"""

from __future__ import annotations

import csv
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from cimgen.errors import InputError
from cimgen.models import Stage1Record

DEFAULT_SQL_FIELD = "sql_postgis"
FORMATS = ("jsonl", "json", "csv", "parquet")
_BAD_LINE_LIMIT = 20  # consecutive bad lines at the start => the file is not JSONL at all


@dataclass
class IngestReport:
    """What ingest read and what it skipped (reason -> count, with first line numbers)."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)

    def skip(self, reason: str, line: int) -> None:
        self.skipped[reason] += 1
        lines = self.skipped_lines.setdefault(reason, [])
        if len(lines) < 5:
            lines.append(line)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "skipped": self.total_skipped,
            "skipped_by_reason": dict(self.skipped),
            "first_skipped_lines": self.skipped_lines,
        }


def detect_format(path: Path) -> str:
    name = path.name.lower()
    for suffix, fmt in (
        (".jsonl.gz", "jsonl"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
        (".parquet", "parquet"),
    ):
        if name.endswith(suffix):
            return fmt
    return "jsonl"


def _open_text(path: Path) -> IO[str]:
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open("r", encoding="utf-8")


def _difficulty(raw: dict[str, Any]) -> str | None:
    level = raw.get("difficulty_level")
    if not level and isinstance(raw.get("difficulty"), dict):
        level = raw["difficulty"].get("overall_difficulty")
    if not level and isinstance(raw.get("difficulty"), str):
        level = raw["difficulty"]
    return str(level).upper() if level else None


def _label(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    return str(value)


def to_record(raw: dict[str, Any], line: int, sql_field: str) -> Stage1Record | None:
    """Build a record, or None when it has no usable SQL."""
    sql = raw.get(sql_field)
    if not isinstance(sql, str) or not sql.strip():
        return None
    sql_type = _label(raw, "sql_type")
    if sql_type is None and isinstance(raw.get("sql_taxonomy"), dict):
        sql_type = _label(raw["sql_taxonomy"], "operation_type")
    return Stage1Record(
        id=str(raw.get("id") or f"line_{line}"),
        sql=sql,
        line=line,
        question=_label(raw, "question"),
        sql_type=sql_type.upper() if sql_type else None,
        difficulty_level=_difficulty(raw),
        question_tone=(_label(raw, "question_tone") or "").upper() or None,
        usage_frequency=_label(raw, "usage_frequency"),
        raw=raw,
    )


class Stage1Reader:
    """Iterate the Stage 1 records of a file; ``report`` counts what was skipped.

    >>> reader = Stage1Reader("missing.jsonl")  # doctest: +SKIP
    """

    def __init__(
        self, path: str | Path, sql_field: str = DEFAULT_SQL_FIELD, fmt: str | None = None
    ) -> None:
        self.path = Path(path)
        self.sql_field = sql_field
        self.format = fmt or detect_format(self.path)
        if self.format not in FORMATS:
            raise InputError(
                f"{self.path}: unknown format {self.format!r}. Use one of {', '.join(FORMATS)}."
            )
        self.report = IngestReport()
        self._fields_seen: Counter[str] = Counter()
        self._check_file()

    def _check_file(self) -> None:
        if not self.path.exists():
            raise InputError(f"{self.path}: file not found. Check the path given to --stage1.")
        if self.path.is_dir():
            raise InputError(
                f"{self.path}: is a directory. Give a Stage 1 corpus file "
                "(.jsonl, .json, .csv or .parquet)."
            )
        if self.path.stat().st_size == 0:
            raise InputError(
                f"{self.path}: file is empty. Give a Stage 1 corpus with one JSON record per line."
            )

    def __iter__(self) -> Iterator[Stage1Record]:
        raws = {
            "jsonl": self._jsonl,
            "json": self._json_array,
            "csv": self._csv,
            "parquet": self._parquet,
        }[self.format]()
        produced = 0
        for line, raw in raws:
            self._fields_seen.update(raw.keys())
            record = to_record(raw, line, self.sql_field)
            if record is None:
                self.report.skip(f"no SQL in field '{self.sql_field}'", line)
                continue
            self.report.read += 1
            produced += 1
            yield record
        if produced == 0:
            self._raise_no_records()

    def _raise_no_records(self) -> None:
        if self._fields_seen and self.sql_field not in self._fields_seen:
            seen = ", ".join(sorted(self._fields_seen)[:12])
            raise InputError(
                f"{self.path}: no record has the SQL field '{self.sql_field}' "
                f"(fields seen: {seen}). Use --sql-field NAME."
            )
        raise InputError(
            f"{self.path}: no usable Stage 1 record (skipped: "
            f"{dict(self.report.skipped)}). Check the file's format and SQL field."
        )

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any]]]:
        good = 0
        with _open_text(self.path) as fh:
            try:
                for number, text in enumerate(fh, start=1):
                    if not text.strip():
                        continue
                    try:
                        raw = json.loads(text)
                    except json.JSONDecodeError as exc:
                        self.report.skip("invalid JSON", number)
                        if good == 0 and self.report.skipped["invalid JSON"] >= _BAD_LINE_LIMIT:
                            raise InputError.at(
                                self.path,
                                1,
                                f"not JSON Lines ({exc.msg})",
                                "Give one JSON object per line, or a .json/.csv/.parquet file",
                            ) from None
                        continue
                    if not isinstance(raw, dict):
                        self.report.skip("not a JSON object", number)
                        continue
                    good += 1
                    yield number, raw
            except UnicodeDecodeError:
                raise InputError.at(
                    self.path,
                    None,
                    "not a UTF-8 text file",
                    "Give a JSONL/JSON/CSV file or a .parquet file",
                ) from None
        if good == 0 and self.report.skipped["invalid JSON"]:
            first = self.report.skipped_lines["invalid JSON"][0]
            raise InputError.at(
                self.path,
                first,
                "no line is valid JSON",
                "Give one JSON object per line (JSON Lines)",
            )

    def _json_array(self) -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            with _open_text(self.path) as fh:
                data = json.load(fh)
        except json.JSONDecodeError as exc:
            raise InputError.at(
                self.path,
                exc.lineno,
                f"invalid JSON ({exc.msg})",
                "Fix the file, or use .jsonl for one record per line",
            ) from None
        if isinstance(data, dict):
            data = data.get("records") or data.get("data") or [data]
        if not isinstance(data, list):
            raise InputError.at(
                self.path,
                1,
                "a .json corpus must be an array of records",
                "Wrap the records in [ ... ] or use .jsonl",
            )
        for index, raw in enumerate(data, start=1):
            if isinstance(raw, dict):
                yield index, raw
            else:
                self.report.skip("not a JSON object", index)

    def _csv(self) -> Iterator[tuple[int, dict[str, Any]]]:
        with _open_text(self.path) as fh:
            for index, row in enumerate(csv.DictReader(fh), start=2):
                yield index, {k: _maybe_json(v) for k, v in row.items() if k is not None}

    def _parquet(self) -> Iterator[tuple[int, dict[str, Any]]]:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError.at(
                self.path,
                None,
                f"not a readable Parquet file ({exc})",
                "Give a valid .parquet file",
            ) from None
        yield from enumerate(table.to_pylist(), start=1)


def _maybe_json(value: str | None) -> Any:
    """CSV cells holding JSON objects/arrays (e.g. ``difficulty``) are decoded."""
    if value and value[:1] in "{[":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def read_stage1(path: str | Path, sql_field: str = DEFAULT_SQL_FIELD) -> Stage1Reader:
    """A reader over the Stage 1 records of ``path`` (iterate it; then read ``.report``)."""
    return Stage1Reader(path, sql_field)
