"""Stage 1 ingest: stream records from JSONL (also .jsonl.gz), a JSON array, CSV or Parquet.

Two record layouts are recognised (docs/ingest.md): the nested one of the Stage 1 sample
(``sql_type``, ``sql_taxonomy``, ``difficulty {...}``, ``usage_frequency``) and the flat one
of the newer Stage 1 corpora (``id_rule``, ``task_type``, ``task_complexity``,
``task_frequency``, ``domain_type``, ``sample_dirtiness``, ...). Both become the same
:class:`Stage1Record`.

A JSONL file is read line by line as bytes, so one bad line -- invalid JSON, not UTF-8,
not an object, no SQL -- is skipped and counted in :class:`IngestReport` (with the first
line numbers) and never costs the good lines around it. Only a file with no usable record,
or one that cannot be read at all (missing, empty, a damaged gzip stream), is an
:class:`InputError` with file, line and fix.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import json
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimgen.errors import InputError
from cimgen.models import Stage1Record

DEFAULT_SQL_FIELD = "sql_postgis"
FORMATS = ("jsonl", "json", "csv", "parquet")
# Fields that name a record, tried in this order when no --id-field is given.
ID_FIELDS = ("id", "id_rule", "sample_id", "record_id", "uid")
FIRST_LINES_KEPT = 5  # line numbers kept per skip reason for the report
MIN_RECORDS = 50  # below this a corpus gets a warning: too small to learn structures from
# Record labels that are not structure features; `cimgen features` writes them as extra
# columns when a corpus has them (docs/ingest.md says why the model does not learn them).
LABEL_COLUMNS = ("sample_dirtiness",)

# Level spellings of the flat format mapped onto the nested format's labels (docs/ingest.md).
# Anything else is kept as the corpus spells it (upper-case for difficulty).
_DIFFICULTY = {
    **dict.fromkeys(("EASY", "SIMPLE", "BASIC", "LOW", "BEGINNER", "1"), "EASY"),
    **dict.fromkeys(("MEDIUM", "MODERATE", "INTERMEDIATE", "MID", "2"), "MEDIUM"),
    **dict.fromkeys(("HARD", "COMPLEX", "ADVANCED", "HIGH", "DIFFICULT", "3"), "HARD"),
    **dict.fromkeys(("EXPERT", "VERY_HARD", "VERY_HIGH", "4"), "EXPERT"),
}
_FREQUENCY = {
    **dict.fromkeys(("frequent", "high", "common", "very_frequent", "often"), "frequent"),
    **dict.fromkeys(
        ("low_frequent", "medium", "moderate", "occasional", "infrequent", "less_frequent"),
        "low_frequent",
    ),
    **dict.fromkeys(("rare", "low", "very_rare", "very_low"), "rare"),
}


@dataclass
class IngestReport:
    """What ingest read and what it skipped (reason -> count, with first line numbers)."""

    read: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    skipped_lines: dict[str, list[int]] = field(default_factory=dict)
    with_question: int = 0
    duplicate_ids: int = 0
    lines_kept: int | None = FIRST_LINES_KEPT  # line numbers kept per reason (None: all)

    def skip(self, reason: str, line: int) -> None:
        self.skipped[reason] += 1
        lines = self.skipped_lines.setdefault(reason, [])
        if self.lines_kept is None or len(lines) < self.lines_kept:
            lines.append(line)

    @property
    def total_skipped(self) -> int:
        return sum(self.skipped.values())

    def summary(self) -> str:
        """One line: ``2 invalid JSON (lines 4, 9); 1 not UTF-8 (line 7)``; "" if none."""
        parts = []
        for reason, n in self.skipped.most_common():
            lines = self.skipped_lines.get(reason, [])
            where = ", ".join(map(str, lines)) + (", …" if n > len(lines) else "")
            parts.append(f"{n} {reason} (line{'s' if n > 1 else ''} {where})")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "skipped": self.total_skipped,
            "skipped_by_reason": dict(self.skipped),
            "first_skipped_lines": self.skipped_lines,
            "with_question": self.with_question,
            "duplicate_ids": self.duplicate_ids,
        }


def detect_format(path: Path) -> str:
    name = path.name.lower().removesuffix(".gz")
    for suffix, fmt in (
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".csv", "csv"),
        (".parquet", "parquet"),
    ):
        if name.endswith(suffix):
            return fmt
    return "jsonl"


# --------------------------------------------------------------------------- labels


def _label(raw: dict[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "" or isinstance(value, (dict, list)):
        return None
    return str(value)


def _token(value: str) -> str:
    """``"Very hard"`` / ``"very-hard"`` -> ``"VERY_HARD"``."""
    return "_".join(value.replace("-", " ").split()).upper()


def _first(raw: dict[str, Any], *keys: str) -> str | None:
    for key in keys:
        value = _label(raw, key)
        if value is not None:
            return value
    return None


def _difficulty(raw: dict[str, Any]) -> str | None:
    nested = raw.get("difficulty")
    level = _label(raw, "difficulty_level")
    if level is None and isinstance(nested, dict):
        level = _label(nested, "overall_difficulty")
    if level is None and isinstance(nested, str) and nested:
        level = nested
    if level is not None:
        return level.upper()
    flat = _first(raw, "task_complexity", "domain_complexity")
    return _DIFFICULTY.get(_token(flat), _token(flat)) if flat else None


def _frequency(raw: dict[str, Any]) -> str | None:
    value = _label(raw, "usage_frequency")
    if value is not None:
        return value
    flat = _first(raw, "task_frequency", "domain_frequency")
    if flat is None:
        return None
    token = _token(flat).lower()
    return _FREQUENCY.get(token, token)


def _sql_type(raw: dict[str, Any]) -> str | None:
    value = _label(raw, "sql_type")
    if value is None and isinstance(raw.get("sql_taxonomy"), dict):
        value = _label(raw["sql_taxonomy"], "operation_type")
    if value is None:
        value = _label(raw, "task_type")
    return _token(value) if value else None


def _schema_complexity(raw: dict[str, Any]) -> str | None:
    value = _label(raw, "domain_type")
    if value is None and isinstance(raw.get("difficulty"), dict):
        value = _label(raw["difficulty"], "schema_complexity")
    return _token(value) if value else None


def given_id(raw: dict[str, Any], id_field: str | None = None) -> str | None:
    """The record's own id: ``id_field`` when given, else the first of :data:`ID_FIELDS`
    present; None when it has none."""
    for key in (id_field,) if id_field else ID_FIELDS:
        value = raw.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value):
            return str(value)
    return None


def to_record(
    raw: dict[str, Any], line: int, sql_field: str, id_field: str | None = None
) -> Stage1Record | None:
    """Build a record, or None when it has no usable SQL."""
    sql = raw.get(sql_field)
    if not isinstance(sql, str) or not sql.strip():
        return None
    tone = _label(raw, "question_tone")
    return Stage1Record(
        id=given_id(raw, id_field) or f"line_{line}",
        sql=sql,
        line=line,
        question=_label(raw, "question"),
        sql_type=_sql_type(raw),
        difficulty_level=_difficulty(raw),
        question_tone=_token(tone) if tone else None,
        usage_frequency=_frequency(raw),
        schema_complexity=_schema_complexity(raw),
        sample_dirtiness=_label(raw, "sample_dirtiness"),
        raw=raw,
    )


# --------------------------------------------------------------------------- reading


class Stage1Reader:
    """Iterate the Stage 1 records of a file; ``report`` counts what was read and skipped.

    >>> from cimgen.corpus import load_demo_corpus
    >>> reader = Stage1Reader(load_demo_corpus())
    >>> sum(1 for _ in reader), reader.report.read, reader.report.summary()
    (10000, 10000, '')
    """

    def __init__(
        self,
        path: str | Path,
        sql_field: str = DEFAULT_SQL_FIELD,
        fmt: str | None = None,
        id_field: str | None = None,
        lines_kept: int | None = FIRST_LINES_KEPT,
    ) -> None:
        self.path = Path(path)
        self.sql_field = sql_field
        self.id_field = id_field or None
        self.format = fmt or detect_format(self.path)
        if self.format not in FORMATS:
            raise InputError(
                f"{self.path}: unknown format {self.format!r}. Use one of {', '.join(FORMATS)}."
            )
        self.report = IngestReport(lines_kept=lines_kept)
        self._fields_seen: Counter[str] = Counter()
        self._first_text = ""
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
        ids: set[str] = set()
        id_found = False
        for line, raw in raws:
            self._fields_seen.update(raw.keys())
            record = to_record(raw, line, self.sql_field, self.id_field)
            if record is None:
                self.report.skip(f"no SQL in field '{self.sql_field}'", line)
                continue
            self.report.read += 1
            self.report.with_question += record.question is not None
            if record.id in ids:
                self.report.duplicate_ids += 1
            ids.add(record.id)
            if self.id_field and not id_found:
                id_found = given_id(raw, self.id_field) is not None
            produced += 1
            yield record
        if produced == 0:
            self._raise_no_records()
        if self.id_field and not id_found:
            raise InputError(
                f"{self.path}: no record has the id field '{self.id_field}' (fields seen: "
                f"{self._seen()}). Use --id-field NAME, or drop it to use "
                f"{', '.join(ID_FIELDS)}."
            )

    def _seen(self) -> str:
        return ", ".join(sorted(self._fields_seen)[:12])

    def _raise_no_records(self) -> None:
        if self._fields_seen and self.sql_field not in self._fields_seen:
            raise InputError(
                f"{self.path}: no record has the SQL field '{self.sql_field}' "
                f"(fields seen: {self._seen()}). Use --sql-field NAME."
            )
        skipped = self.report.summary()
        if self.format == "jsonl" and self._first_text.lstrip().startswith("["):
            raise InputError.at(
                self.path,
                1,
                "holds a JSON array, not JSON Lines",
                "Name the file .json, or write one JSON object per line",
            )
        if self.format == "jsonl" and self.report.skipped and not self._fields_seen:
            first = min(min(lines) for lines in self.report.skipped_lines.values())
            raise InputError.at(
                self.path,
                first,
                f"not JSON Lines: no line holds a JSON object (skipped: {skipped})",
                "Give one JSON object per line, or a .json/.csv/.parquet file",
            )
        raise InputError(
            f"{self.path}: no usable Stage 1 record ("
            + (f"skipped: {skipped}" if skipped else "no record in the file")
            + "). Check the file's format and SQL field."
        )

    def _lines(self) -> Iterator[tuple[int, bytes]]:
        return binary_lines(self.path)

    def _jsonl(self) -> Iterator[tuple[int, dict[str, Any]]]:
        for number, data in self._lines():
            value = decode_line(number, data)
            if value is None:
                continue
            if not self._first_text:
                self._first_text = data.decode("utf-8", "replace")
            if isinstance(value, str):
                self.report.skip(value, number)
                continue
            yield number, value

    def _read_text(self) -> str:
        data = b"".join(line for _, line in self._lines())
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError.at(
                self.path,
                line,
                f"not UTF-8 text (byte {data[exc.start]:#04x})",
                "Save the file as UTF-8, or convert it to JSON Lines (bad lines are then skipped)",
            ) from None

    def _json_array(self) -> Iterator[tuple[int, dict[str, Any]]]:
        text = self._read_text()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = (
                "It looks like JSON Lines: name the file .jsonl"
                if exc.msg == "Extra data"
                else "Fix the file, or use .jsonl for one record per line"
            )
            raise InputError.at(self.path, exc.lineno, f"invalid JSON ({exc.msg})", hint) from None
        except (ValueError, RecursionError) as exc:
            raise InputError.at(
                self.path, None, f"unreadable JSON ({type(exc).__name__})", "Fix the file"
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
        import io

        reader = csv.DictReader(io.StringIO(self._read_text(), newline=""))
        try:
            for index, row in enumerate(reader, start=2):
                yield index, {k: _maybe_json(v) for k, v in row.items() if isinstance(k, str)}
        except csv.Error as exc:
            raise InputError.at(
                self.path, reader.line_num, f"not a readable CSV file ({exc})", "Fix the file"
            ) from None

    def _parquet(self) -> Iterator[tuple[int, dict[str, Any]]]:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(self.path)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputError.at(
                self.path,
                None,
                f"not a readable Parquet file ({str(exc).splitlines()[0] if str(exc) else exc!r})",
                "Give a valid .parquet file",
            ) from None
        yield from enumerate(table.to_pylist(), start=1)


def binary_lines(path: Path) -> Iterator[tuple[int, bytes]]:
    """(line number, raw bytes) of every line of a text or .gz file, read as bytes so that
    one undecodable line costs only itself; a damaged file is one InputError."""
    number = 0
    try:
        with gzip.open(path, "rb") if path.name.lower().endswith(".gz") else path.open("rb") as fh:
            for number, data in enumerate(fh, start=1):
                yield number, data
    except (OSError, EOFError, zlib.error) as exc:
        raise _damaged(path, exc, number) from None


def _damaged(path: Path, exc: BaseException, line: int) -> InputError:
    if isinstance(exc, gzip.BadGzipFile):
        return InputError.at(
            path, None, f"not a gzip file ({exc})", "Decompress it or drop the .gz suffix"
        )
    if isinstance(exc, (EOFError, zlib.error)):
        return InputError.at(
            path,
            line + 1,
            f"the gzip stream is truncated or corrupt after line {line} ({exc})",
            "The file is incomplete: copy or compress it again",
        )
    reason = getattr(exc, "strerror", None) or str(exc)
    return InputError.at(path, None, f"cannot read the file ({reason})", "Check it")


def decode_line(number: int, data: bytes) -> dict[str, Any] | str | None:
    """One JSON Lines line: the object, the reason it is unusable, or None when blank."""
    if number == 1 and data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "not UTF-8"
    if not text.strip():
        return None
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError, huge ints, deep nesting
        return "invalid JSON"
    return raw if isinstance(raw, dict) else "not a JSON object"


def _maybe_json(value: str | None) -> Any:
    """CSV cells holding JSON objects/arrays (e.g. ``difficulty``) are decoded."""
    if value and value[:1] in "{[":
        try:
            return json.loads(value)
        except (ValueError, RecursionError):
            return value
    return value


def read_stage1(
    path: str | Path, sql_field: str = DEFAULT_SQL_FIELD, id_field: str | None = None
) -> Stage1Reader:
    """A reader over the Stage 1 records of ``path`` (iterate it; then read ``.report``)."""
    return Stage1Reader(path, sql_field, id_field=id_field)


def corpus_warnings(report: IngestReport, with_features: int) -> list[str]:
    """Problems with a corpus that still loads: too few records to learn structures from,
    no questions (is it a text-to-SQL corpus at all?), ids that repeat."""
    warnings = []
    if 0 < with_features < MIN_RECORDS:
        warnings.append(
            f"only {with_features} Stage 1 record(s) have features: a structure model learns "
            f"little from fewer than {MIN_RECORDS}, so sampled structures will mostly repeat "
            "them. Give a bigger corpus"
        )
    if report.read and not report.with_question:
        warnings.append(
            f"none of the {report.read} Stage 1 records has a 'question' field: is this a "
            "text-to-SQL corpus? (only its SQL is used; cimgen writes its own questions)"
        )
    if report.duplicate_ids:
        warnings.append(
            f"{report.duplicate_ids} Stage 1 record id(s) repeat an earlier one; "
            "use --id-field to pick a unique field"
        )
    return warnings
