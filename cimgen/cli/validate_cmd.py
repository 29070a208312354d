"""``cimgen validate``: check hand-written queries against the grammar and the schema."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, nullcontext
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cimgen.check.validate import DEFAULT_SQL_FIELD, ValidationReport, read_queries
from cimgen.check.validate import validate_queries as run_validation
from cimgen.cli.main import EXIT_FINDINGS, EXIT_OK, console, out
from cimgen.cli.options import SEED, TIMEOUT
from cimgen.codes import lookup
from cimgen.errors import InputError
from cimgen.io import atomic_text, write_jsonl
from cimgen.models import Finding
from cimgen.schema.load import DEFAULT_SCHEMA, load_schema


class Format(StrEnum):
    human = "human"
    json = "json"


def validate(
    query_or_file: str = typer.Argument(
        ...,
        help="A .sql file (one or many statements), a JSONL file, or a literal query in quotes.",
    ),
    schema: str = typer.Option(
        DEFAULT_SCHEMA, "--schema", "-s", help="Bundled schema name, .yaml/.json/.sql file or URL."
    ),
    grammar: Path | None = typer.Option(
        None,
        "--grammar",
        help="Another grammar file (a variant of grammar/cim_sql.lark; a functions.yaml "
        "beside it is its function catalogue): check against it.",
    ),
    fmt: Format = typer.Option(Format.human, "--format", "-f", help="human or json."),
    sql_field: str = typer.Option(
        DEFAULT_SQL_FIELD, "--sql-field", help="JSONL field holding the SQL."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the report to this file."
    ),
    execute: list[str] = typer.Option(
        [],
        "--execute",
        "-x",
        help="Also execute on an engine: duckdb (embedded fixture "
        "database) and/or postgis (needs --postgis). Repeatable.",
    ),
    postgis: str | None = typer.Option(
        None,
        "--postgis",
        help="PostGIS URL holding the schema and data (cimgen db init), "
        "or 'auto' for a throwaway cluster filled with fixture data.",
    ),
    no_execute: bool = typer.Option(False, "--no-execute", help="PostGIS: EXPLAIN only."),
    timeout: float = typer.Option(
        2.0, "--timeout", **TIMEOUT, help="Seconds per query per engine."
    ),
    seed: int = typer.Option(0, "--seed", **SEED, help="Fixture data seed."),
    id_field: str | None = typer.Option(
        None, "--id-field", help="Corpus id field (default: id, id_rule, sample_id, …)."
    ),
    rejected: Path | None = typer.Option(
        None, "--rejected", help="Write the invalid queries with their findings (JSONL)."
    ),
    strict: bool = typer.Option(
        False, "--strict", help="Fail (exit 1) on warnings too: the cost and purpose rules."
    ),
) -> None:
    """Check queries against the grammar and the schema; with --execute, run them too.

    Syntax errors are SYN001 with line, column and what was expected; binding findings
    have BND codes; the cost rule (STA005) and the purpose rules (PUR…) are warnings: a
    costly or odd query is still valid SQL (docs/checks.md). Exit 0 all valid, 1 some
    invalid (or, with --strict, some warned), 2 user error.
    """
    engines = tuple(dict.fromkeys(e.lower() for e in execute))
    for engine in engines:
        if engine not in ("duckdb", "postgis"):
            raise InputError(f"--execute {engine!r}: unknown engine. Use duckdb or postgis.")
    if "postgis" in engines and not postgis:
        raise InputError("--execute postgis needs --postgis URL (or --postgis auto).")
    if grammar is not None:
        from cimgen.catalogue import catalogue_for
        from cimgen.grammar.constructs import grammar_facts

        grammar_facts(grammar)  # readable and a grammar: a one-line ConfigError if not
        catalogue_for(grammar)  # and its catalogue, when it has one
    items, skipped = read_queries(query_or_file, sql_field, id_field)
    model = load_schema(schema)
    with _execution(model, engines, postgis, timeout, seed, not no_execute) as execution:
        checks = [execution] if execution is not None else []
        with console.status(f"validating {len(items)} queries…"):
            report = run_validation(items, model, checks=checks, skipped=skipped, grammar=grammar)
    data: dict[str, Any] = report.to_dict()
    if execution is not None:
        data.update(execution.summary(report))
        for entry in data["queries"]:
            entry["engines"] = execution.row_counts(entry["index"])
    text = json.dumps(data, indent=2) + "\n" if fmt is Format.json else _human(report, data)
    if fmt is Format.json:
        out.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        for table in _human_tables(report):
            out.print(table)
        out.print(_summary(report))
        if execution is not None:
            out.print(_engine_table(data))
    if out_file is not None:
        with atomic_text(out_file) as fh:
            fh.write(text)
    if rejected is not None:
        write_jsonl(
            rejected,
            (
                {
                    "index": r.index,
                    "source": r.source,
                    "id": r.id,
                    "sql": items[r.index].sql,
                    "findings": [f.to_dict() for f in r.findings],
                }
                for r in report.results
                if not r.valid
            ),
        )
    failed = report.invalid or (strict and report.warned)
    raise typer.Exit(EXIT_FINDINGS if failed else EXIT_OK)


@contextmanager
def _execution(
    schema: Any,
    engines: tuple[str, ...],
    postgis: str | None,
    timeout: float,
    seed: int,
    execute: bool,
) -> Iterator[Any]:
    """The execution check with its engines open, or None without --execute."""
    if not engines:
        yield None
        return
    from cimgen.check import CheckOptions, DuckDBRunner, PostgisRunner
    from cimgen.check.validate import ExecutionChecks

    options = CheckOptions(timeout_s=timeout, execute_postgis=execute)
    check = ExecutionChecks(schema, engines, options)
    with ExitStack() as stack:
        if "duckdb" in engines:
            from cimgen.engines.duckdb import open_fixture

            with console.status("opening the DuckDB fixture database…"):
                check.duckdb = DuckDBRunner(open_fixture(schema, seed), timeout)
            stack.callback(check.duckdb.con.close)
        if "postgis" in engines and postgis:
            from cimgen.engines import postgis as pg

            auto = postgis == "auto"
            with (
                console.status("starting a throwaway PostGIS with fixture data…")
                if auto
                else nullcontext()
            ):
                dsn = stack.enter_context(pg.postgis_dsn(postgis, schema, seed))
            assert dsn is not None
            check.postgis = PostgisRunner(pg.connect(dsn), timeout, execute)
            stack.callback(check.postgis.conn.close)
        yield check


def _engine_table(data: dict[str, Any]) -> Table:
    table = Table(title="Execution (NoErr pass rate per engine)")
    table.add_column("engine")
    table.add_column("n", justify="right")
    table.add_column("ok", justify="right")
    table.add_column("ok %", justify="right")
    table.add_column("not checkable", justify="right")
    for name, e in data.get("engines", {}).items():
        table.add_row(
            name,
            str(e["n"]),
            str(e["ok"]),
            "n/a" if e["ok_pct"] is None else f"{e['ok_pct']:.1f}",
            str(e["not_checkable"]),
        )
    return table


def _human_tables(report: ValidationReport) -> list[Table]:
    """The invalid queries with their findings, the valid ones with warnings, and the
    findings per code: each table only when it has a row."""
    tables = []
    for title, rows in (
        ("Invalid queries", [r for r in report.results if not r.valid]),
        ("Valid queries with warnings", [r for r in report.results if r.valid and r.warnings]),
    ):
        if not rows:
            continue
        table = Table(title=title, show_lines=True)
        table.add_column("#", justify="right")
        table.add_column("source")
        table.add_column("findings")
        for r in rows:
            lines = [_finding_line(f) for f in r.findings]
            table.add_row(str(r.index), r.id or r.source, "\n".join(lines))
        tables.append(table)
    per_code = report.per_code()
    if per_code:
        table = Table(title="Findings per code")
        table.add_column("code")
        table.add_column("errors", justify="right")
        table.add_column("warnings", justify="right")
        table.add_column("meaning")
        for code, counts in per_code.items():
            errors, warnings = counts.get("error", 0), counts.get("warning", 0)
            table.add_row(code, str(errors or ""), str(warnings or ""), lookup(code).meaning)
        tables.append(table)
    return tables


def _finding_line(f: Finding) -> str:
    warning = " [yellow](warning)[/]" if f.severity == "warning" else ""
    return f"[bold]{f.code}[/]{warning} {_escape(f.message)}"


def _summary(report: ValidationReport) -> str:
    n = len(report.results)
    parts = [f"{n} queries: [green]{report.valid} valid[/], [red]{report.invalid} invalid[/]"]
    if report.warned:
        parts.append(f"[yellow]{report.warned} with warnings[/] (cost and purpose rules)")
    if report.skipped:
        parts.append(
            f"{len(report.skipped)} malformed line(s) skipped (first: {_escape(report.skipped[0])})"
        )
    return "; ".join(parts)


def _human(report: ValidationReport, data: dict[str, Any] | None = None) -> str:
    buf = io.StringIO()
    text_console = Console(file=buf, width=120, no_color=True, force_terminal=False)
    for table in _human_tables(report):
        text_console.print(table)
    text_console.print(_summary(report))
    if data and data.get("engines"):
        text_console.print(_engine_table(data))
    return buf.getvalue()


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
