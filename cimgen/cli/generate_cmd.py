"""``cimgen generate``: the whole Stage 2 in one command."""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from cimgen.cli.main import EXIT_FINDINGS, console, out
from cimgen.codes import RES001, RND001
from cimgen.errors import ConfigError
from cimgen.generate import GenerateOptions, load_config, run_generate
from cimgen.generate.options import LIMITS
from cimgen.structure.synthesizers import resolve_device

_D = GenerateOptions(out=Path("."))  # the documented defaults, shown in --help


def _range(name: str) -> dict[str, Any]:
    """typer's min/max for a count option: the same range the library checks."""
    return {"min": LIMITS[name].low, "max": LIMITS[name].high}


class Dialect(StrEnum):
    postgis = "postgis"
    spatialite = "spatialite"


class Executor(StrEnum):
    local = "local"
    ray = "ray"


def generate(
    ctx: typer.Context,
    out_dir: Path = typer.Option(
        ..., "--out", help="Output folder (must be empty, or use --overwrite)."
    ),
    stage1: Path | None = typer.Option(
        None, "--stage1", help="Stage 1 corpus; default: the bundled demo corpus."
    ),
    schema: str = typer.Option(
        _D.schema, "--schema", help="Bundled name, .yaml/.json/.sql file or postgresql:// URL."
    ),
    grammar: Path | None = typer.Option(
        None,
        "--grammar",
        help="Another grammar file (a variant of grammar/cim_sql.lark): generate only what "
        "it admits, and check with it.",
    ),
    rows: int = typer.Option(_D.rows, "--rows", **_range("rows"), help="Samples to accept."),
    oversample: float = typer.Option(
        _D.oversample,
        "--oversample",
        **_range("oversample"),
        help="Structures sampled per missing row, per round.",
    ),
    synthesizer: str = typer.Option(
        _D.synthesizer, "--synthesizer", help="ctgan, tvae, gaussian_copula or copulagan."
    ),
    epochs: int | None = typer.Option(
        None,
        "--epochs",
        **_range("epochs"),
        help="Training epochs of ctgan, tvae, copulagan (300 unless set); not for gaussian_copula.",
    ),
    model: Path | None = typer.Option(
        None, "--model", help="Reuse a fitted structure model folder (from cimgen fit)."
    ),
    seed: int = typer.Option(_D.seed, "--seed", **_range("seed"), help="Random seed."),
    device: str = typer.Option(
        "auto",
        "--device",
        help="Where ctgan/tvae/copulagan fit and sample: auto (CUDA when torch sees one), "
        "cpu or cuda.",
    ),
    refit: bool = typer.Option(
        False, "--refit", help="Fit the structure model even when the cache holds it."
    ),
    no_cache: bool = typer.Option(
        False, "--no-cache", help="Neither reuse nor keep a fitted model in the cache folder."
    ),
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
    workers: int = typer.Option(
        _D.workers,
        "--workers",
        **_range("workers"),
        help="Processes for expansion and checks (default: CPU cores, at most 4); the "
        "output is identical for any value.",
    ),
    executor: Executor | None = typer.Option(
        None,
        "--executor",
        help="Where expansion and checks run: local (this machine's processes) or ray (Ray "
        "actors; needs pip install 'cimgen[ray]'); the output is identical "
        "[default: local].",
    ),
    ray_address: str | None = typer.Option(
        None,
        "--ray-address",
        help="With --executor ray: the Ray cluster (HOST:6379, ray://HOST:10001 or auto); "
        "default: a local Ray instance with --workers CPUs.",
    ),
    min_score: float = typer.Option(
        _D.score.thresholds["overall"],
        "--min-score",
        min=0.0,
        max=1.0,
        help="Overall quality score a sample needs (score.thresholds.overall).",
    ),
    config: Path | None = typer.Option(
        None, "--config", help="YAML/JSON config file (docs/generate.md); flags win over it."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a non-empty --out."),
    empty_share: float = typer.Option(
        _D.empty_share,
        "--empty-share",
        **_range("empty_share"),
        help="Share of the rows asked for whose result may be empty, kept on purpose and "
        f"labelled; beyond it empty results are rejected ({RES001}).",
    ),
    sql_field: str = typer.Option(_D.sql_field, "--sql-field", help="Stage 1 SQL field."),
    id_field: str | None = typer.Option(
        None, "--id-field", help="Stage 1 id field (default: id, id_rule, sample_id, …)."
    ),
) -> None:
    """Run Stage 2: ingest, features, fit, sample, expand, check, score, write."""
    resolve_device(device)
    if refit and model is not None:
        raise ConfigError("--refit with --model: a given model is not refitted. Drop one of them.")
    opts = GenerateOptions(
        out=out_dir,
        stage1=stage1,
        model=model,
        device=device,
        refit=refit,
        cache=not no_cache,
        postgis=postgis,
        postgis_execute=not no_execute,
        overwrite=overwrite,
        sql_field=sql_field,
        id_field=id_field,
    )
    if config is not None:
        opts = load_config(config, opts)
    # flags the user typed win over the config file; unset ones keep the file's value
    flags: dict[str, Any] = {
        "schema": schema,
        "grammar": grammar,
        "rows": rows,
        "oversample": oversample,
        "synthesizer": synthesizer,
        "epochs": epochs,
        "seed": seed,
        "workers": workers,
        "empty_share": empty_share,
        "dialect": dialect.value if dialect is not None else None,
        "executor": executor.value if executor is not None else None,
        "ray_address": ray_address,
    }
    given = {k: v for k, v in flags.items() if _given(ctx, k) or config is None}
    opts = replace(opts, **{k: v for k, v in given.items() if v is not None})
    if _given(ctx, "min_score") or config is None:
        thresholds = {**opts.score.thresholds, "overall": min_score}
        opts = replace(opts, score=replace(opts.score, thresholds=thresholds))
    result = run_generate(opts, console)
    _summary(result.stats)
    out.print(f"wrote {result.out}")
    if not result.complete:
        console.print(f"[bold yellow]warning:[/] {result.message}")
        raise typer.Exit(EXIT_FINDINGS)


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed the option (rather than it keeping its default)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name != "DEFAULT"


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
        rate = "n/a" if e["ok_pct"] is None else f"{e['ok_pct']}%"
        t.add_row(
            f"{engine} pass rate",
            f"{rate} of {e['n']} (+{e['not_checkable']} not checkable; {e['planned']} timed out)",
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
    a = stats.get("agreement", {})
    if a.get("n"):
        t.add_row("DuckDB/PostGIS agreement", f"{a['agree_pct']}% of {a['n']}")
    for engine, sizes in stats.get("result_sizes", {}).items():
        t.add_row(f"{engine}: accepted with 0 rows", f"{sizes['empty']} of {sizes['executed']}")
    t.add_row("accepted, no engine executed", str(stats.get("accepted_not_executed", 0)))
    defects = stats.get("render_defects", {}).get("count", 0)
    t.add_row(f"renderer defects ({RND001})", str(defects), style="bold red" if defects else None)
    nov = stats.get("novelty", {})
    t.add_row(
        "distinct SQL / shapes",
        f"{nov.get('distinct_sql_pct', 0)}% / {nov.get('distinct_shapes', 0)} shapes",
    )
    t.add_row("shapes not in Stage 1", f"{nov.get('novel_shape_pct', 0)}%")
    t.add_row(
        "structure fidelity (5 counts)", f"{stats.get('fidelity', {}).get('five_counts_pct', 0)}%"
    )
    acc = stats.get("accepted_fidelity", {})
    t.add_row(
        "accepted: 5 counts / sql_type label agree",
        f"{acc.get('five_counts_pct', 0)}% / {acc.get('sql_type_label_agreement_pct', 0)}%",
    )
    t.add_row("mean quality", str(stats.get("quality", {}).get("mean", 0)))
    _model_rows(t, stats.get("structure_model") or {})
    if corpus := stats.get("corpus_cache"):
        t.add_row("corpus facts, planting", f"{corpus.get('facts')}, {corpus.get('planting')}")
    for stage, seconds in stats.get("timings", {}).items():
        t.add_row(f"time: {stage}", f"{seconds:.1f} s")
    out.print(t)


def _model_rows(t: Table, info: dict[str, Any]) -> None:
    source = info.get("source")
    how = {"fitted": "fitted", "reused": "reused from the cache", "given": "loaded from --model"}
    t.add_row("structure model", f"{how.get(str(source), '?')} on {info.get('device')}")
    if source != "given":
        t.add_row("model cache", escape(str(info.get("cache_dir") or "off (--no-cache)")))
        t.add_row("model cache key", str(info.get("cache_key", ""))[:12])


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
