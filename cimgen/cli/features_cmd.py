"""``cimgen features``: Stage 1 corpus -> one feature row per accepted record."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from cimgen.cli.main import console, out
from cimgen.errors import InputError
from cimgen.features import SkipReport, features_frame, iter_features
from cimgen.ingest import DEFAULT_SQL_FIELD, LABEL_COLUMNS, corpus_warnings, read_stage1
from cimgen.io import write_table
from cimgen.schema import load_schema


def features(
    stage1: Path = typer.Option(
        ..., "--stage1", help="Stage 1 corpus (.jsonl[.gz], .json, .csv, .parquet)."
    ),
    out_file: Path = typer.Option(..., "--out", help="Output table: features.csv or .parquet."),
    schema: str = typer.Option(
        "cim_wizard",
        "--schema",
        help="Bundled name, .yaml/.json/.sql "
        "file or postgresql:// URL (resolves unqualified tables).",
    ),
    sql_field: str = typer.Option(DEFAULT_SQL_FIELD, "--sql-field", help="Field holding the SQL."),
    id_field: str | None = typer.Option(
        None, "--id-field", help="Field holding the record id (default: id, id_rule, …)."
    ),
) -> None:
    """Extract the structure features of every record (docs/features.md); record labels
    that are not features (sample_dirtiness) follow as extra columns (docs/ingest.md)."""
    if out_file.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"{out_file}: unknown output format. Use a .csv or .parquet file name.")
    model = load_schema(schema)
    reader = read_stage1(stage1, sql_field, id_field)
    skipped = SkipReport()
    with console.status("extracting features…"):
        pairs = list(iter_features(reader, model, skipped))
    labels = tuple(k for k in LABEL_COLUMNS if any(getattr(r, k) is not None for r, _ in pairs))
    frame = features_frame(pairs, labels)
    write_table(frame, out_file)
    table = Table(title=f"features of {stage1.name}", show_header=True)
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("records read", str(reader.report.read + reader.report.total_skipped))
    for reason, n in sorted(reader.report.skipped.items()):
        lines = ", ".join(map(str, reader.report.skipped_lines.get(reason, [])))
        table.add_row(f"skipped: {reason} (first lines {lines})", str(n))
    for reason, n in sorted(skipped.counts.items()):
        table.add_row(f"skipped: {reason}", str(n))
    table.add_row("feature rows written", str(len(frame)), style="bold")
    out.print(table)
    for warning in corpus_warnings(reader.report, len(frame)):
        console.print(f"[bold yellow]warning:[/] {warning}.", highlight=False)
    out.print(f"wrote {out_file}")


def register(app: typer.Typer) -> None:
    app.command("features")(features)
