"""``cimgen fit``, ``cimgen sample``, ``cimgen compare``: the structure model from the CLI.

Options are parsed here; everything else is :mod:`cimgen.structure`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from cimgen.cli.main import console, out
from cimgen.cli.options import EPOCHS, ROWS, SEED
from cimgen.errors import ConfigError, InputError
from cimgen.io import read_table, write_json, write_table
from cimgen.structure.synthesizers import (
    NEURAL,
    SYNTHESIZERS,
    check_name,
    load_config,
    resolve_device,
)

if TYPE_CHECKING:  # pandas, SDV and torch load when a command runs, not with the CLI
    import pandas as pd


def _features(
    stage1: Path | None, features: Path | None, schema: str, sql_field: str, id_field: str | None
) -> tuple[pd.DataFrame, Path]:
    if (stage1 is None) == (features is None):
        raise InputError("give exactly one of --stage1 FILE or --features FILE.")
    if features is not None:
        return read_table(features), features
    from cimgen.features import SkipReport, features_frame, iter_features
    from cimgen.ingest import corpus_warnings, read_stage1
    from cimgen.schema import load_schema

    assert stage1 is not None
    skipped = SkipReport()
    reader = read_stage1(stage1, sql_field, id_field)
    with console.status("extracting features…"):
        frame = features_frame(iter_features(reader, load_schema(schema), skipped))
    if reader.report.total_skipped:
        console.print(f"skipped {reader.report.summary()}", highlight=False)
    if skipped.total:
        console.print(f"skipped {skipped.total} record(s): {dict(skipped.counts)}")
    for warning in corpus_warnings(reader.report, len(frame)):
        console.print(f"[bold yellow]warning:[/] {warning}.", highlight=False)
    return frame, stage1


_STAGE1 = typer.Option(None, "--stage1", help="Stage 1 corpus; features are extracted first.")
_FEATURES = typer.Option(
    None, "--features", help="Features table (.csv/.parquet) from `cimgen features`."
)
_SCHEMA = typer.Option("cim_wizard", "--schema", help="Schema for --stage1 feature extraction.")
_SQL_FIELD = typer.Option("sql_postgis", "--sql-field", help="SQL field of --stage1 records.")
_ID_FIELD = typer.Option(
    None, "--id-field", help="Id field of --stage1 records (default: id, id_rule, …)."
)
_DEVICE = typer.Option(
    "auto",
    "--device",
    help="Where ctgan/tvae/copulagan run: auto (CUDA when torch sees one), cpu or cuda.",
)


def fit(
    stage1: Path | None = _STAGE1,
    features: Path | None = _FEATURES,
    synthesizer: str = typer.Option(
        "ctgan", "--synthesizer", help=f"One of {', '.join(SYNTHESIZERS)}."
    ),
    epochs: int | None = typer.Option(
        None, "--epochs", **EPOCHS, help="Training epochs (ctgan, tvae, copulagan)."
    ),
    seed: int = typer.Option(0, "--seed", **SEED, help="Seed: same seed, same model and samples."),
    config: Path | None = typer.Option(
        None, "--config", help="YAML/JSON: synthesizer: {ctgan: {epochs: 100, ...}}."
    ),
    out_dir: Path = typer.Option(..., "--out", help="Model directory to write."),
    schema: str = _SCHEMA,
    sql_field: str = _SQL_FIELD,
    id_field: str | None = _ID_FIELD,
    device: str = _DEVICE,
) -> None:
    """Fit a structure model on Stage 1 features and save it (docs/structure.md)."""
    check_name(synthesizer)
    resolve_device(device)
    params: dict[str, Any] = load_config(config).get(synthesizer, {}) if config else {}
    if epochs is not None:
        if synthesizer not in NEURAL:
            raise ConfigError(
                f"--epochs: {synthesizer} is not trained in epochs. Drop "
                "--epochs or use ctgan, tvae or copulagan."
            )
        params["epochs"] = epochs
    from cimgen.structure import fit_model

    frame, source = _features(stage1, features, schema, sql_field, id_field)
    model = fit_model(
        frame, synthesizer, params, seed=seed, out_dir=out_dir, source=source, device=device
    )
    m = model.manifest
    out.print(
        f"fitted {synthesizer} on {m['training']['rows']} rows in {m['fit_seconds']:.1f}s "
        f"({m['device']}); wrote {out_dir}"
    )


def sample(
    model_dir: Path = typer.Option(..., "--model", help="Model directory from `cimgen fit`."),
    rows: int = typer.Option(..., "--rows", **ROWS, help="Number of structures."),
    seed: int = typer.Option(0, "--seed", **SEED, help="Same seed => same structures."),
    condition: list[str] = typer.Option(
        [],
        "--condition",
        help="COL=VALUE[:COUNT]; COUNT rows with that value (all rows without COUNT). Repeatable.",
    ),
    min_share_rare: float | None = typer.Option(
        None,
        "--min-share-rare",
        min=0.0,
        max=1.0,
        help="Minimum share of each sql_type seen in training (default 0.02; 0 = off).",
    ),
    out_file: Path = typer.Option(..., "--out", help="Output .csv or .parquet."),
    report_file: Path | None = typer.Option(
        None, "--report", help="Also write the sampling report as JSON."
    ),
    device: str = _DEVICE,
) -> None:
    """Sample structurally consistent structure vectors from a saved model."""
    from cimgen.structure import load_model, parse_condition

    conditions = [parse_condition(c) for c in condition]
    if out_file.suffix.lower() not in (".csv", ".parquet"):
        raise InputError(f"{out_file}: unknown output format. Use a .csv or .parquet file name.")
    model = load_model(model_dir, device)
    result = model.sample(rows, seed=seed, conditions=conditions, min_share_rare=min_share_rare)
    write_table(result.frame, out_file)
    if report_file:
        write_json(report_file, result.report)
    r = result.report
    table = Table(title=f"sampled {r['sampled']} structures ({model.name}, seed {seed})")
    table.add_column("what")
    table.add_column("rows", justify="right")
    table.add_row("drawn from the model", str(r["drawn"]))
    for code, n in r["repaired"].items():
        table.add_row(f"repaired {code}", str(n))
    for code, n in r["rejected"].items():
        table.add_row(f"rejected {code}", str(n))
    for t, n in r["sql_type_counts"].items():
        table.add_row(f"sql_type {t}", str(n))
    table.add_row("violations left", "0", style="bold")
    out.print(table)
    unmet = r["min_share_rare"].get("unmet")
    if unmet:
        console.print(f"[yellow]warning:[/] minimum share not reached for {unmet}")
    out.print(f"wrote {out_file}")


def compare(
    stage1: Path | None = _STAGE1,
    features: Path | None = _FEATURES,
    epochs: int = typer.Option(300, "--epochs", **EPOCHS, help="Epochs for the neural ones."),
    rows: int = typer.Option(5000, "--rows", **ROWS, help="Structures sampled from each."),
    seed: int = typer.Option(0, "--seed", **SEED, help="Seed of every fit and sample."),
    out_file: Path | None = typer.Option(
        None, "--out", help="Save the table (.csv, .parquet or .json)."
    ),
    schema: str = _SCHEMA,
    sql_field: str = _SQL_FIELD,
    id_field: str | None = _ID_FIELD,
) -> None:
    """Fit all four synthesizers on the same features and compare them."""
    if out_file and out_file.suffix.lower() not in (".csv", ".parquet", ".json"):
        raise InputError(f"{out_file}: unknown output format. Use .csv, .parquet or .json.")
    import pandas as pd

    from cimgen.structure import compare_synthesizers

    frame, _ = _features(stage1, features, schema, sql_field, id_field)
    results = compare_synthesizers(frame, epochs=epochs, rows=rows, seed=seed)
    table = Table(title=f"synthesizers on {len(frame)} feature rows ({rows} sampled each)")
    cols = (
        "synthesizer",
        "fit_seconds",
        "sample_rows_per_s",
        "quality",
        "column_shapes",
        "column_pair_trends",
        "repaired",
        "rejected",
    )
    for c in cols:
        table.add_column(c, justify="left" if c == "synthesizer" else "right")
    for row in results:
        table.add_row(*(str(row[c]) for c in cols))
    out.print(table)
    if out_file:
        if out_file.suffix.lower() == ".json":
            write_json(out_file, results)
        else:
            flat = [
                {k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()}
                for r in results
            ]
            write_table(pd.DataFrame(flat), out_file)
        out.print(f"wrote {out_file}")


def register(app: typer.Typer) -> None:
    app.command("fit")(fit)
    app.command("sample")(sample)
    app.command("compare")(compare)
