"""``cimgen bench``: render, parse and execute generated queries on every backend.

Thin: options -> :func:`cimgen.bench.run_bench`; a progress bar while it runs, a table (or
JSON) at the end.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cimgen.cli.options import EPOCHS, ROWS, SEED, TIMEOUT
from cimgen.schema.load import DEFAULT_SCHEMA

BACKEND_TITLES = {"postgis": "PostGIS", "spatialite": "SpatiaLite", "duckdb": "DuckDB"}


class Format(StrEnum):
    human = "human"
    json = "json"


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)


def bench(
    rows: int = typer.Option(500, "--rows", "-n", **ROWS, help="Number of generated queries."),
    model: Path | None = typer.Option(
        None, "--model", help="A structure model folder (`cimgen fit`); default: fit one now."
    ),
    epochs: int = typer.Option(
        30,
        "--epochs",
        **EPOCHS,
        help="Epochs when fitting a neural model now (ignored for gaussian_copula).",
    ),
    synthesizer: str = typer.Option(
        "ctgan",
        "--synthesizer",
        help="Synthesizer when fitting now: ctgan, tvae, gaussian_copula, copulagan.",
    ),
    stage1: Path | None = typer.Option(
        None,
        "--stage1",
        help="Stage 1 corpus to fit on and learn literals from (default: the bundled demo corpus).",
    ),
    seed: int = typer.Option(0, "--seed", **SEED, help="Sampling and expansion seed."),
    fixture_seed: int = typer.Option(
        0,
        "--fixture-seed",
        **SEED,
        help="Fixture data seed (use the one given to `cimgen db init`).",
    ),
    postgis: str | None = typer.Option(
        None,
        "--postgis",
        help="postgresql:// URL of a database filled by `cimgen db init`, "
        "or 'auto' for a throwaway cluster.",
    ),
    schema: str = typer.Option(
        DEFAULT_SCHEMA, "--schema", "-s", help="Bundled schema name, .yaml/.json/.sql file or URL."
    ),
    timeout: float = typer.Option(
        2.0, "--timeout", **TIMEOUT, help="Seconds per query and engine."
    ),
    fmt: Format = typer.Option(Format.human, "--format", "-f", help="human or json."),
    out_file: Path | None = typer.Option(
        None, "--out", "-o", help="Write the result here (atomically) instead of stdout."
    ),
) -> None:
    """Benchmark the PostGIS, SpatiaLite and DuckDB renderings of generated queries."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from cimgen.bench import run_bench
    from cimgen.cli.main import console, out
    from cimgen.errors import InputError
    from cimgen.io import atomic_text

    if model is None:
        from cimgen.structure.synthesizers import check_name

        check_name(synthesizer)
    if model is not None and not model.is_dir():
        raise InputError(f"--model {model}: not a folder. Pass a folder written by `cimgen fit`.")
    progress = Progress(
        TextColumn("[bold]benchmarking queries"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("bench", total=rows)
        result = run_bench(
            rows,
            model=model,
            synthesizer=synthesizer,
            epochs=epochs,
            seed=seed,
            fixture_seed=fixture_seed,
            postgis=postgis,
            schema=schema,
            stage1=stage1,
            timeout_s=timeout,
            progress=console.is_terminal,
            on_query=lambda done, total: progress.update(task, completed=done),
        )
    if fmt is Format.json:
        text = json.dumps(result, indent=2) + "\n"
        if out_file is None:
            out.print(text, end="", highlight=False, soft_wrap=True, markup=False)
        else:
            with atomic_text(out_file) as fh:
                fh.write(text)
        return
    table = summary_table(result)
    lines = [spatialite_line(result), agreement_line(result), *error_lines(result)]
    if out_file is None:
        out.print(table)
        for line in lines:
            out.print(line, highlight=False, markup=False)
    else:
        from rich.console import Console

        with atomic_text(out_file) as fh:
            file_console = Console(file=fh, width=120, color_system=None)
            file_console.print(table)
            for line in lines:
                file_console.print(line, highlight=False, markup=False)


def _cell(value: Any, unit: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.1f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def summary_table(result: dict[str, Any]) -> Any:
    """The rich table of per-backend figures."""
    from rich import box
    from rich.table import Table

    title = f"cimgen bench: {result['rows']} queries (seed {result['seed']})"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True)
    table.add_column("backend", no_wrap=True)
    heads = ("rendered", "unsupp.", "ms/query", "parses", "executes", "rows>0", "timeouts")
    for head in heads:
        table.add_column(head, justify="right", no_wrap=True)
    for name, b in result["backends"].items():
        ms = b["render_ms_per_query"]
        table.add_row(
            BACKEND_TITLES.get(name, name),
            _cell(b["rendered"]),
            _cell(b["unsupported"]),
            "–" if ms is None else f"{ms:.3f}",
            _cell(b["parses_pct"], "%"),
            _cell(b["executes_pct"], "%") if b["executes"] is not None else "not run",
            _cell(b["rows_returned_pct"], "%"),
            _cell(b["timeouts"]),
        )
    return table


def error_lines(result: dict[str, Any]) -> list[str]:
    """The most frequent error messages per backend (parse and execution)."""
    lines = []
    for name, b in result["backends"].items():
        for e in b["errors"][:3]:
            lines.append(f"{BACKEND_TITLES.get(name, name)} ({e['count']}x): {e['message']}")
    return lines


def spatialite_line(result: dict[str, Any]) -> str:
    """SpatiaLite over the queries it can express: raster queries have no SpatiaLite form."""
    b = result["backends"]["spatialite"]
    n, raster = b["n"], b["raster_queries"]
    return (
        f"SpatiaLite executes {b['non_raster_executes']} of the {n - raster} non-raster "
        f"queries ({_cell(b['non_raster_executes_pct'], '%')}); the {raster} raster queries "
        "have no SpatiaLite equivalent (SpatiaLite has no raster type)."
    )


def agreement_line(result: dict[str, Any]) -> str:
    parts = []
    for pair, a in result["agreement"].items():
        left, right = pair.split("~")
        name = f"{BACKEND_TITLES.get(left, left)} vs {BACKEND_TITLES.get(right, right)}"
        parts.append(f"{name} {_cell(a['agree_pct'], '%')} of {a['n']}" if a["n"] else f"{name}: –")
    failed = result.get("expansion_failed", 0)
    return (
        f"Result agreement (row count + numeric sums): {'; '.join(parts)}. "
        f"Structures that could not be expanded: {failed}."
    )
