"""Options of ``cimgen generate``: documented defaults, overridable by a config file and flags.

Config file (YAML or JSON), every section optional; unknown keys are rejected::

    generate:   {rows: 50000, oversample: 1.5, seed: 0, max_rounds: 6, workers: 2,
                 dialect: postgis}
    checks:     {timeout_s: 2.0, shape_cap: 50, agreement_tolerance: 0.005,
                 execute_spatialite: true}
    score:      {weights: {syntactic: 0.3, ...}, thresholds: {overall: 0.7, ...}}
    synthesizer: {ctgan: {epochs: 300, batch_size: 500, ...}}   # see docs/structure.md
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from cimgen.config import read_config, reject_unknown
from cimgen.errors import ConfigError
from cimgen.score import ScoreConfig

DIALECTS = ("postgis", "spatialite")  # target dialects of a generated dataset


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    stage1: Path | None = None  # None: the bundled demo corpus
    schema: str = "cim_wizard"
    sql_field: str = "sql_postgis"
    rows: int = 50_000
    oversample: float = 1.5  # structures sampled per wanted row, per round (the plan's 1.5x)
    synthesizer: str = "ctgan"
    epochs: int | None = None
    model: Path | None = None  # reuse a fitted structure model instead of fitting
    seed: int = 0
    postgis: str | None = None  # a postgresql:// URL, or "auto" for a throwaway cluster
    postgis_execute: bool = True
    # The dataset's target dialect: "postgis" (default) or "spatialite" (every accepted row
    # ran on SpatiaLite; its SpatiaLite text is the row's ``sql``). docs/generate.md
    dialect: str = "postgis"
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    overwrite: bool = False
    max_rounds: int = 6
    # Safety limit per query and engine (the plan is always checked first). Generous on
    # purpose: outputs are byte-identical only while no query hits it.
    timeout_s: float = 2.0
    shape_cap: int = 50
    agreement_tolerance: float = 0.005
    # PostGIS dialect: also execute each SpatiaLite rendering for the record (the slowest
    # engine: docs/BENCHMARKS.md). The SpatiaLite dialect always executes it.
    execute_spatialite: bool = True
    chunk_size: int = 200
    score: ScoreConfig = field(default_factory=ScoreConfig)
    synthesizer_params: dict[str, dict[str, Any]] = field(default_factory=dict)
    progress: bool = True
    report: bool = True


_GENERATE_KEYS = {
    "rows",
    "oversample",
    "seed",
    "max_rounds",
    "workers",
    "synthesizer",
    "epochs",
    "schema",
    "chunk_size",
    "dialect",
}
_CHECK_KEYS = {"timeout_s", "shape_cap", "agreement_tolerance", "execute_spatialite"}
_SCORE_KEYS = {
    "weights",
    "thresholds",
    "unverified_semantic",
    "planned_semantic",
    "empty_result_penalty",
}


def load_config(path: Path, base: GenerateOptions) -> GenerateOptions:
    """Apply a config file to ``base``; flags given on the command line are applied after."""
    data = read_config(path)
    opts = base
    gen = data.get("generate") or {}
    reject_unknown(path, "generate.", gen, _GENERATE_KEYS)
    opts = replace(opts, **gen)
    if opts.dialect not in DIALECTS:
        raise ConfigError(
            f"{path}: generate.dialect {opts.dialect!r} is unknown. Use postgis or spatialite."
        )
    checks = data.get("checks") or {}
    reject_unknown(path, "checks.", checks, _CHECK_KEYS)
    opts = replace(opts, **checks)
    score = data.get("score") or {}
    reject_unknown(path, "score.", score, _SCORE_KEYS)
    if score:
        cfg = opts.score
        weights = {**cfg.weights, **(score.get("weights") or {})}
        thresholds = {**cfg.thresholds, **(score.get("thresholds") or {})}
        reject_unknown(path, "score.weights.", weights, set(cfg.weights))
        reject_unknown(path, "score.thresholds.", thresholds, set(cfg.thresholds))
        extra = {k: v for k, v in score.items() if k not in ("weights", "thresholds")}
        opts = replace(opts, score=replace(cfg, weights=weights, thresholds=thresholds, **extra))
    synth = data.get("synthesizer") or {}
    if not isinstance(synth, dict):
        raise ConfigError(f"{path}: 'synthesizer' must map a synthesizer name to parameters.")
    opts = replace(opts, synthesizer_params={**opts.synthesizer_params, **synth})
    return opts


def option_names() -> list[str]:
    return [f.name for f in fields(GenerateOptions)]
