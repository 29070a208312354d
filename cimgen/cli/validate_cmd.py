"""``cimgen validate``: check hand-written queries against the grammar and the schema."""

from __future__ import annotations

import io
import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cimgen.cli.main import EXIT_FINDINGS, EXIT_OK, out
from cimgen.grammar.validate import DEFAULT_SQL_FIELD, ValidationReport, read_queries
from cimgen.grammar.validate import validate_queries as run_validation
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
    fmt: Format = typer.Option(Format.human, "--format", "-f", help="human or json."),
    sql_field: str = typer.Option(
        DEFAULT_SQL_FIELD, "--sql-field", help="JSONL field holding the SQL."
    ),
    out_file: Path | None = typer.Option(
        None, "--out", "-o", help="Also write the report to this file."
    ),
) -> None:
    """Check queries: in the language (SYN001 with line/column/expected) and bound to the
    schema (BND codes). Exit 0 all valid, 1 some invalid, 2 user error."""
    items, skipped = read_queries(query_or_file, sql_field)
    report = run_validation(items, load_schema(schema), skipped=skipped)
    text = json.dumps(report.to_dict(), indent=2) + "\n" if fmt is Format.json else _human(report)
    if fmt is Format.json:
        out.print(text, end="", markup=False, highlight=False, soft_wrap=True)
    else:
        if report.invalid:
            out.print(_human_table(report))
        out.print(_summary(report))
    if out_file is not None:
        _write_atomic(out_file, text)
    raise typer.Exit(EXIT_OK if report.invalid == 0 else EXIT_FINDINGS)


def _human_table(report: ValidationReport) -> Table:
    table = Table(title="Invalid queries", show_lines=True)
    table.add_column("#", justify="right")
    table.add_column("source")
    table.add_column("findings")
    for r in report.results:
        if r.valid:
            continue
        lines = [f"[bold]{f.code}[/] {_escape(f.message)}" for f in r.findings]
        table.add_row(str(r.index), r.id or r.source, "\n".join(lines))
    return table


def _summary(report: ValidationReport) -> str:
    n = len(report.results)
    parts = [f"{n} queries: [green]{report.valid} valid[/], [red]{report.invalid} invalid[/]"]
    if report.skipped:
        parts.append(
            f"{len(report.skipped)} malformed line(s) skipped (first: {_escape(report.skipped[0])})"
        )
    return "; ".join(parts)


def _human(report: ValidationReport) -> str:
    buf = io.StringIO()
    console = Console(file=buf, width=120, no_color=True, force_terminal=False)
    if report.invalid:
        console.print(_human_table(report))
    console.print(_summary(report))
    return buf.getvalue()


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
