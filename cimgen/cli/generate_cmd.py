"""``cimgen generate``: the whole Stage 2 in one command."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cimgen.cli.main import EXIT_FINDINGS, console, out
from cimgen.generate import GenerateOptions, load_config, run_generate


class Dialect(StrEnum):
    postgis = "postgis"
    spatialite = "spatialite"


def generate(
    out_dir: Path = typer.Option(
        ..., "--out", help="Output folder (must be empty, or use --overwrite)."
    ),
    stage1: Path | None = typer.Option(
        None, "--stage1", help="Stage 1 corpus; default: the bundled demo corpus."
    ),
    schema: str = typer.Option(
        "cim_wizard", "--schema", help="Bundled name, .yaml/.json/.sql file or postgresql:// URL."
    ),
    rows: int | None = typer.Option(None, "--rows", help="Samples to accept [default: 50000]."),
    oversample: float | None = typer.Option(
        None, "--oversample", help="Structures sampled per wanted row [default: 1.5]."
    ),
    synthesizer: str | None = typer.Option(
        None, "--synthesizer", help="ctgan | tvae | gaussian_copula | copulagan [default: ctgan]."
    ),
    epochs: int | None = typer.Option(None, "--epochs", help="Training epochs (GAN/VAE)."),
    model: Path | None = typer.Option(
        None, "--model", help="Reuse a fitted structure model folder (from cimgen fit)."
    ),
    seed: int | None = typer.Option(None, "--seed", help="Random seed [default: 0]."),
    postgis: str | None = typer.Option(
        None,
        "--postgis",
        help="PostGIS URL for the gold check, or 'auto' for a throwaway local cluster.",
    ),
    no_execute: bool = typer.Option(False, "--no-execute", help="PostGIS: EXPLAIN only."),
    dialect: Dialect | None = typer.Option(
        None,
        "--dialect",
        help="Target dialect of each row's `sql`: postgis, or spatialite (every accepted row "
        "ran on SpatiaLite) [default: postgis].",
    ),
    workers: int | None = typer.Option(
        None,
        "--workers",
        help="Processes for expansion and checks [default: CPU cores, at most 4]; the "
        "output is identical for any value.",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML/JSON config file (docs/generate.md)."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
    sql_field: str = typer.Option("sql_postgis", "--sql-field", help="Stage 1 SQL field."),
) -> None:
    """Run Stage 2: ingest, features, fit, sample, expand, check, score, write."""
    opts = GenerateOptions(
        out=out_dir,
        stage1=stage1,
        schema=schema,
        model=model,
        postgis=postgis,
        postgis_execute=not no_execute,
        overwrite=overwrite,
        sql_field=sql_field,
    )
    if config is not None:
        opts = load_config(config, opts)
    flags: dict[str, Any] = {
        "rows": rows,
        "oversample": oversample,
        "synthesizer": synthesizer,
        "epochs": epochs,
        "seed": seed,
        "workers": workers,
        "dialect": dialect.value if dialect is not None else None,
    }
    opts = replace(opts, **{k: v for k, v in flags.items() if v is not None})
    result = run_generate(opts, console)
    _summary(result.stats)
    out.print(f"wrote {result.out}")
    if not result.complete:
        console.print(f"[bold yellow]warning:[/] {result.message}")
        raise typer.Exit(EXIT_FINDINGS)


def _summary(stats: dict[str, Any]) -> None:
    t = Table(title="cimgen generate — summary")
    t.add_column("figure")
    t.add_column("value", justify="right")
    rec = stats.get("records", {})
    t.add_row("Stage 1 records read / skipped", f"{rec.get('read', 0)} / {rec.get('skipped', 0)}")
    t.add_row("structures sampled", str(stats.get("structures", {}).get("sampled", 0)))
    t.add_row("candidates", str(stats.get("candidates", 0)))
    t.add_row("accepted", str(stats.get("accepted", 0)), style="bold green")
    t.add_row("rejected", str(stats.get("rejected", 0)))
    for code, n in list(stats.get("rejected_by_code", {}).items())[:6]:
        t.add_row(f"  rejected by {code}", str(n))
    for engine, e in stats.get("engines", {}).items():
        t.add_row(
            f"{engine} pass rate",
            f"{e['ok_pct']}% of {e['n']} (+{e['not_checkable']} not checkable; "
            f"{e['planned']} timed out)",
        )
    for dialect, d in stats.get("dialects", {}).items():
        name = {"postgis": "PostGIS", "spatialite": "SpatiaLite"}.get(dialect, dialect)
        if d.get("ran"):
            t.add_row(
                f"{name} SQL executed / returned rows" + (" (target)" if d.get("target") else ""),
                f"{d['executed_pct']}% / {d['nonempty_pct']}% (on {d['engine']})",
            )
        else:
            t.add_row(f"{name} SQL executed", "not run")
    if stats.get("agreement", {}).get("n"):
        a = stats["agreement"]
        t.add_row("DuckDB/PostGIS agreement", f"{a['agree_pct']}% of {a['n']}")
    nov = stats.get("novelty", {})
    t.add_row(
        "distinct SQL / shapes",
        f"{nov.get('distinct_sql_pct', 0)}% / {nov.get('distinct_shapes', 0)} shapes",
    )
    t.add_row("shapes not in Stage 1", f"{nov.get('novel_shape_pct', 0)}%")
    t.add_row(
        "structure fidelity (5 counts)", f"{stats.get('fidelity', {}).get('five_counts_pct', 0)}%"
    )
    t.add_row("mean quality", str(stats.get("quality", {}).get("mean", 0)))
    for stage, seconds in stats.get("timings", {}).items():
        t.add_row(f"time: {stage}", f"{seconds:.1f} s")
    out.print(t)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
