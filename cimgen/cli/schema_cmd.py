"""``cimgen schema show|export``: inspect a schema model and write it as DDL or YAML."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer
from rich.table import Table as RichTable

from cimgen.io import atomic_text
from cimgen.schema.ddl import camel_geometry
from cimgen.schema.export import exportable_foreign_key, to_ddl, to_yaml
from cimgen.schema.load import DEFAULT_SCHEMA, load_schema
from cimgen.schema.model import Column, Schema

SCHEMA_HELP = "Schema: a bundled name (cim_wizard), a .yaml/.json/.sql file or a postgresql:// URL."


class ExportFormat(StrEnum):
    ddl = "ddl"
    yaml = "yaml"


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Inspect and export the schema model queries are generated for.", no_args_is_help=True
    )
    group.command("show")(show)
    group.command("export")(export)
    app.add_typer(group, name="schema")


def show(
    schema: str = typer.Option(DEFAULT_SCHEMA, "--schema", "-s", help=SCHEMA_HELP),
) -> None:
    """Summarise a schema: tables, column counts, spatial columns, keys and relations."""
    from cimgen.cli.main import out

    model = load_schema(schema)
    spatial = sum(len(t.geometry_columns) + len(t.raster_columns) for t in model.tables)
    out.print(f"[bold]{model.name}[/]  ({model.source or schema})")
    if model.description:
        out.print(model.description, highlight=False)
    out.print(
        f"{len(model.schemas)} schema(s), {len(model.tables)} table(s), "
        f"{sum(len(t.columns) for t in model.tables)} column(s), {spatial} spatial column(s), "
        f"{len(model.relations)} relation(s)"
        + (f"; metric SRID {model.metric_srid}" if model.metric_srid else "")
    )
    for pg_schema in model.schemas:
        grid = RichTable(title=f"schema {pg_schema}", title_justify="left")
        grid.add_column("table", style="bold")
        grid.add_column("columns", justify="right")
        grid.add_column("primary key")
        grid.add_column("geometry / raster columns (type SRID)")
        for t in model.tables:
            if t.schema != pg_schema:
                continue
            grid.add_row(
                t.name,
                str(len(t.columns)),
                ", ".join(t.primary_key) or "-",
                "\n".join(_spatial(c) for c in t.columns if c.is_spatial) or "-",
            )
        out.print(grid)
    if model.relations:
        out.print(_relations(model))


def _spatial(col: Column) -> str:
    if col.kind == "raster":
        return f"{col.name}: raster" + (f", SRID {col.srid}" if col.srid else "")
    srid = col.srid if col.srid is not None else "unknown"
    geography = "geography " if col.type.lower().startswith("geography") else ""
    return f"{col.name}: {geography}{camel_geometry(col.geometry_type or 'GEOMETRY')} {srid}"


def _relations(model: Schema) -> RichTable:
    grid = RichTable(title="relations", title_justify="left")
    for name in ("from", "to", "kind"):
        grid.add_column(name)
    for r in model.relations:
        kind = r.kind
        if r.kind == "foreign_key" and not exportable_foreign_key(model, r):
            kind += " (not on target's primary key)"
        grid.add_row(
            f"{r.left} ({', '.join(r.left_columns)})",
            f"{r.right} ({', '.join(r.right_columns)})",
            kind,
        )
    return grid


def export(
    fmt: ExportFormat = typer.Option(
        ...,
        "--format",
        "-f",
        case_sensitive=False,
        help="ddl: PostGIS CREATE statements; yaml: schema file.",
    ),
    schema: str = typer.Option(DEFAULT_SCHEMA, "--schema", "-s", help=SCHEMA_HELP),
    out_path: Path | None = typer.Option(
        None, "--out", "-o", dir_okay=False, help="Write here (atomically); stdout when omitted."
    ),
) -> None:
    """Write the schema as PostGIS DDL or as a YAML schema file."""
    from cimgen.cli.main import console

    model = load_schema(schema)
    text = to_ddl(model) if fmt == ExportFormat.ddl else to_yaml(model)
    if out_path is None:
        typer.echo(text, nl=False)
        return
    with atomic_text(out_path) as fh:
        fh.write(text)
    console.print(f"wrote {out_path} ({fmt.value}, {len(model.tables)} tables)", highlight=False)
