"""Validate hand-written queries (``cimgen validate``): in the language? Bound to the
schema? Static, cost and purpose rules? And, with ``--execute duckdb|postgis``, executed.

Library first: :func:`read_queries` turns a .sql file, a JSONL file or a literal string into
:class:`QueryItem` values, :func:`validate_queries` checks them and returns a
:class:`ValidationReport`; the CLI only parses options and prints. More checks plug in
through ``checks``: callables ``(item, query_ast) -> list[Finding]`` run on every query that
parsed, such as :class:`ExecutionChecks` (execution on the chosen engines, with pass rates
(NoErr) per engine, totals per finding code and per sql_type).

PostGIS is tried on **every** query, including those the grammar rejects, so its pass rate
is comparable with an independent run over the same corpus. DuckDB needs the AST to render
its dialect: a query that does not parse counts as a DuckDB error; one using what DuckDB
lacks (rasters) is "not checkable" and left out of DuckDB's rate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.catalogue import Catalogue, catalogue_for
from cimgen.check import (
    PURPOSE,
    CheckContext,
    CheckOptions,
    DuckDBRunner,
    PostgisRunner,
    Subject,
    run_checks,
)
from cimgen.check.base import ERROR, NO_ERROR, NOT_CHECKABLE, OK, PLANNED, EngineResult
from cimgen.codes import STA001, finding
from cimgen.errors import InputError
from cimgen.grammar.bind import bind
from cimgen.grammar.parse import split_statements, syntax_findings
from cimgen.models import Finding
from cimgen.schema.model import Schema

DEFAULT_SQL_FIELD = "sql_postgis"
_SQL_SUFFIXES = (".sql",)
_CORPUS_SUFFIXES = (".jsonl", ".json", ".ndjson", ".csv", ".parquet")

# A pluggable check; it runs on every query, ``query_ast`` is None when it did not parse.
Check = Callable[["QueryItem", ast.Query | None], list[Finding]]


@dataclass(frozen=True)
class QueryItem:
    """One query to validate; ``line`` is where it starts in its source file (1-based)."""

    index: int
    source: str
    sql: str
    line: int = 1
    id: str | None = None
    sql_type: str | None = None


@dataclass(frozen=True)
class QueryResult:
    index: int
    source: str
    valid: bool
    findings: tuple[Finding, ...]
    id: str | None = None
    query: ast.Query | None = field(default=None, compare=False, repr=False)

    @property
    def warnings(self) -> int:
        return sum(f.severity == "warning" for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "source": self.source}
        if self.id is not None:
            out["id"] = self.id
        out["valid"] = self.valid
        out["findings"] = [f.to_dict() for f in self.findings]
        return out


@dataclass(frozen=True)
class ValidationReport:
    results: tuple[QueryResult, ...]
    skipped: tuple[str, ...] = ()  # malformed input lines, one message each

    @property
    def valid(self) -> int:
        return sum(r.valid for r in self.results)

    @property
    def invalid(self) -> int:
        return len(self.results) - self.valid

    @property
    def warned(self) -> int:
        """How many queries have a warning (valid or not)."""
        return sum(r.warnings > 0 for r in self.results)

    def per_code(self) -> dict[str, dict[str, int]]:
        """``{code: {severity: findings}}``, codes in order, over every query."""
        out: dict[str, dict[str, int]] = {}
        for r in self.results:
            for f in r.findings:
                counts = out.setdefault(f.code, {})
                counts[f.severity] = counts.get(f.severity, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        totals: dict[str, Any] = {
            "n": len(self.results),
            "valid": self.valid,
            "invalid": self.invalid,
            "with_warnings": self.warned,
        }
        if self.skipped:
            totals["malformed_lines"] = len(self.skipped)
        out: dict[str, Any] = {"totals": totals, "per_code": self.per_code()}
        out["queries"] = [r.to_dict() for r in self.results]
        if self.skipped:
            out["malformed"] = list(self.skipped)
        return out


# Checks that need no engine: run on every query, with or without --execute, so the verdict
# does not depend on the engines chosen (docs/checks.md).
STATIC_CHECKS = ("srid", "units", "cartesian")
# The cost rule and the purpose rules (cimgen.check.PURPOSE, read when a query is checked so
# that a rule added there is reported here too): a costly or odd query is still valid SQL,
# so their findings are warnings here (``cimgen validate --strict`` fails on them).
ADVISORY_CHECK = "cost"


def check_query(
    item: QueryItem,
    schema: Schema,
    catalogue: Catalogue | None = None,
    checks: Sequence[Check] = (),
    grammar: Path | None = None,
) -> QueryResult:
    """PostgreSQL's parser first: a statement that is not one read-only query (DELETE,
    DROP, ...) is STA001 and nothing else. Then the grammar (its first error only; PostgreSQL's
    SYN002 only when the grammar accepted the text, so one typo is not reported twice),
    every binding finding, the static rules, the cost and purpose rules as warnings (they do
    not make the query invalid), and ``checks`` (execution). ``grammar``: another grammar
    file (its folder's functions.yaml, when there is one, is the catalogue)."""
    subject = Subject(item.sql)
    context = CheckContext(schema, CheckOptions(grammar=grammar))
    parsed = run_checks(subject, context, only=("postgres_parse",))
    query = None
    if any(f.code == STA001 for f in parsed):
        findings = parsed
    else:
        query, syntax = syntax_findings(item.sql, grammar)
        findings = [_shift(f, item.line) for f in syntax] or parsed
        if query is not None:
            findings.extend(bind(query, schema, catalogue or catalogue_for(grammar)))
            subject.query, subject.parsed = query, True
            findings.extend(run_checks(subject, context, only=STATIC_CHECKS))
            advisory = run_checks(subject, context, only=(ADVISORY_CHECK, *PURPOSE))
            findings.extend(_as_warning(f) for f in advisory)
    for check in checks:
        findings.extend(check(item, query))
    valid = not any(f.severity == "error" for f in findings)
    return QueryResult(item.index, item.source, valid, tuple(findings), item.id, query)


def validate_queries(
    items: Iterable[QueryItem],
    schema: Schema,
    catalogue: Catalogue | None = None,
    checks: Sequence[Check] = (),
    skipped: Sequence[str] = (),
    grammar: Path | None = None,
) -> ValidationReport:
    """Validate every item against ``schema`` (and ``grammar``, default the bundled one);
    the report keeps input order."""
    catalogue = catalogue or catalogue_for(grammar)
    results = tuple(check_query(i, schema, catalogue, checks, grammar) for i in items)
    return ValidationReport(results, tuple(skipped))


def _as_warning(f: Finding) -> Finding:
    """``f`` as a warning (through the code table, which must allow it for the code)."""
    return finding(f.code, f.message, "warning", line=f.line, column=f.column)


def _shift(f: Finding, start_line: int) -> Finding:
    """Line numbers of a statement relative to its file."""
    if f.line is None or start_line == 1:
        return f
    return Finding(
        f.code,
        f.stage,
        f.message.replace(f"line {f.line},", f"line {f.line + start_line - 1},", 1),
        f.severity,
        f.line + start_line - 1,
        f.column,
    )


# --------------------------------------------------------------------------- input


def read_queries(
    arg: str, sql_field: str = DEFAULT_SQL_FIELD, id_field: str | None = None
) -> tuple[list[QueryItem], list[str]]:
    """Queries from a .sql file, a Stage 1 corpus (JSONL[.gz], JSON, CSV, Parquet, read by
    :mod:`cimgen.ingest`) or a literal query; plus one note per malformed line.

    Raises :class:`InputError` for a missing file, or a file with no query at all.
    """
    path = Path(arg)
    name = path.name.lower().removesuffix(".gz")
    looks_like_file = "\n" not in arg and name.endswith(_SQL_SUFFIXES + _CORPUS_SUFFIXES)
    if looks_like_file and not path.is_file():
        raise InputError.at(
            path, None, "file not found", "Check the path, or pass the query itself in quotes"
        )
    skipped: list[str] = []
    if looks_like_file and name.endswith(_CORPUS_SUFFIXES):
        items, skipped = _read_corpus(path, sql_field, id_field)
    elif looks_like_file:
        items = _statements(_read_sql_file(path), str(path))
    else:
        items = _statements(arg, "<query>")
    if not items:
        where = str(path) if looks_like_file else "the query argument"
        raise InputError.at(
            where,
            None,
            f"no queries found ({len(skipped)} malformed line(s))",
            f"Give SQL statements, or JSONL records with a {sql_field!r} field",
        )
    return items, skipped


def _read_sql_file(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError.at(
            path, None, f"not UTF-8 text (byte offset {exc.start})", "Save the file as UTF-8"
        ) from None


def _statements(text: str, source: str) -> list[QueryItem]:
    return [
        QueryItem(i, f"{source}:{line}", sql, line)
        for i, (sql, line) in enumerate(split_statements(text))
    ]


def _read_corpus(
    path: Path, sql_field: str, id_field: str | None
) -> tuple[list[QueryItem], list[str]]:
    from cimgen.ingest import Stage1Reader, given_id

    reader = Stage1Reader(path, sql_field, id_field=id_field, lines_kept=None)
    items = [
        QueryItem(
            index,
            f"{path}:{record.line}",
            record.sql,
            1,
            given_id(record.raw, id_field),
            record.sql_type,
        )
        for index, record in enumerate(reader)
    ]
    notes = sorted(
        (line, f"{path} line {line}: {_hint(reason)}")
        for reason, lines in reader.report.skipped_lines.items()
        for line in lines
    )
    return items, [note for _, note in notes]


def _hint(reason: str) -> str:
    return f"{reason} (use --sql-field)" if reason.startswith("no SQL") else reason


ENGINES = ("duckdb", "postgis")


@dataclass
class ExecutionChecks:
    """A validate check (``(item, ast | None) -> findings``) that records engine results."""

    schema: Schema
    engines: tuple[str, ...]
    options: CheckOptions
    duckdb: DuckDBRunner | None = None
    postgis: PostgisRunner | None = None
    results: dict[int, tuple[str | None, dict[str, EngineResult]]] = field(default_factory=dict)

    def __call__(self, item: QueryItem, query: ast.Query | None) -> list[Finding]:
        ctx = CheckContext(self.schema, self.options, duckdb=self.duckdb, postgis=self.postgis)
        subject = Subject(item.sql, query=query, parsed=True)
        findings: list[Finding] = []
        if self.duckdb is not None:
            if query is None:
                subject.engines["duckdb"] = EngineResult(
                    ERROR, reason="not in the grammar: no AST to render for DuckDB"
                )
            else:
                findings += run_checks(subject, ctx, only=("duckdb",))
        if self.postgis is not None:
            findings += run_checks(subject, ctx, only=("postgis",))
        self.results[item.index] = (item.sql_type, dict(subject.engines))
        return findings

    def summary(self, report: ValidationReport) -> dict[str, Any]:
        """``engines``, ``per_check`` and ``per_sql_type`` figures for the JSON report."""
        engines: dict[str, dict[str, Any]] = {}
        for name in self.engines:
            statuses = [r[1][name].status for r in self.results.values() if name in r[1]]
            n = sum(1 for s in statuses if s != NOT_CHECKABLE)
            ok = sum(1 for s in statuses if s in NO_ERROR)
            engines[name] = {
                "n": n,
                "ok": ok,
                "ok_pct": round(100.0 * ok / n, 2) if n else None,
                "executed": statuses.count(OK),
                "planned": statuses.count(PLANNED),
                "not_checkable": statuses.count(NOT_CHECKABLE),
            }
        per_check: Counter[str] = Counter()
        per_type: dict[str, Counter[str]] = defaultdict(Counter)
        for result in report.results:
            per_check.update({f.code for f in result.findings if f.severity == "error"})
            sql_type, engine_results = self.results.get(result.index, (None, {}))
            c = per_type[sql_type or "UNKNOWN"]
            c["n"] += 1
            c["valid"] += int(result.valid)
            for name, r in engine_results.items():
                c[f"{name}_n"] += int(r.status != NOT_CHECKABLE)
                c[f"{name}_ok"] += int(r.status in NO_ERROR)
        types = {
            t: {
                "n": c["n"],
                "valid": c["valid"],
                **{
                    f"{e}_ok_pct": round(100.0 * c[f"{e}_ok"] / c[f"{e}_n"], 2)
                    if c[f"{e}_n"]
                    else None
                    for e in self.engines
                },
            }
            for t, c in sorted(per_type.items())
        }
        return {
            "engines": engines,
            "per_check": dict(per_check.most_common()),
            "per_sql_type": types,
        }

    def row_counts(self, index: int) -> dict[str, Any]:
        _, engine_results = self.results.get(index, (None, {}))
        return {name: r.to_dict() for name, r in engine_results.items()}
