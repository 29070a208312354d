"""Options of ``cimgen generate``: documented defaults, overridable by a config file and flags.

Config file (YAML or JSON), every section optional; unknown keys are rejected::

    generate:   {rows: 50000, oversample: 1.5, seed: 0, max_rounds: 6, workers: 2,
                 dialect: postgis, executor: local, ray_address: null}
    checks:     {timeout_s: 2.0, shape_cap: 50, agreement_tolerance: 0.005,
                 execute_spatialite: false}
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
EXECUTORS = ("local", "ray")  # where expansion and checks run (cimgen.generate.executors)


@dataclass(frozen=True)
class GenerateOptions:
    out: Path
    stage1: Path | None = None  # None: the bundled demo corpus
    schema: str = "cim_wizard"
    # another grammar file (a variant of grammar/cim_sql.lark): the expander offers only
    # what it admits, and the grammar check parses with it (docs/grammar.md)
    grammar: Path | None = None
    sql_field: str = "sql_postgis"
    id_field: str | None = None  # None: the first of cimgen.ingest.ID_FIELDS a record has
    rows: int = 50_000
    oversample: float = 1.5  # structures sampled per wanted row, per round (the plan's 1.5x)
    synthesizer: str = "ctgan"
    epochs: int | None = None
    model: Path | None = None  # reuse a fitted structure model instead of fitting
    device: str = "auto"  # where a neural synthesizer fits and samples: auto | cpu | cuda
    refit: bool = False  # fit even when the model cache holds this model, and replace it
    cache: bool = True  # reuse and keep fitted models in the cache folder (docs/generate.md)
    seed: int = 0
    postgis: str | None = None  # a postgresql:// URL, or "auto" for a throwaway cluster
    postgis_execute: bool = True
    # The dataset's target dialect: "postgis" (default) or "spatialite" (every accepted row
    # ran on SpatiaLite; its SpatiaLite text is the row's ``sql``). docs/generate.md
    dialect: str = "postgis"
    workers: int = field(default_factory=lambda: min(4, os.cpu_count() or 1))
    # Where expansion and checks run: "local" (this machine's processes) or "ray" (Ray
    # actors on a local Ray instance, or the cluster at ray_address). docs/scale.md
    executor: str = "local"
    ray_address: str | None = None
    overwrite: bool = False
    max_rounds: int = 6
    # Safety limit per query and engine (the plan is always checked first). Generous on
    # purpose: outputs are byte-identical only while no query hits it.
    timeout_s: float = 2.0
    shape_cap: int = 50
    agreement_tolerance: float = 0.005
    # share of the accepted rows whose result may be empty, kept on purpose and labelled
    # (questions whose honest answer is "none"); beyond it empty results are rejected
    empty_share: float = 0.05
    # PostGIS dialect: also execute each SpatiaLite rendering, for the record. Off by
    # default: SpatiaLite is the slowest engine (it made expand+check 3.6x slower on a
    # 300-row run, docs/BENCHMARKS.md) and its tail makes the record timing-dependent.
    # The SpatiaLite dialect always executes it (it decides acceptance there).
    execute_spatialite: bool = False
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
    "executor",
    "ray_address",
}
_CHECK_KEYS = {"timeout_s", "shape_cap", "agreement_tolerance", "empty_share", "execute_spatialite"}
_SCORE_KEYS = {
    "weights",
    "thresholds",
    "unverified_semantic",
    "planned_semantic",
    "empty_result_penalty",
}


@dataclass(frozen=True)
class Limit:
    """The allowed range of a number option, inclusive."""

    low: float
    high: float
    kind: type = int

    def problem(self, value: Any) -> str | None:
        """None when ``value`` is allowed, else what is wrong: "must be ...".

        >>> Limit(1, 10_000_000).problem(0)
        'must be a whole number from 1 to 10,000,000'
        >>> Limit(0.01, 3600.0, float).problem(-1.0)
        'must be a number from 0.01 to 3,600'
        """
        whole = self.kind is int
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or (whole and not isinstance(value, int))
            or not self.low <= value <= self.high
        ):
            what = "a whole number" if whole else "a number"
            return f"must be {what} from {_number(self.low)} to {_number(self.high)}"
        return None


def _number(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


# Ranges of the count options of ``cimgen generate``, for flags and config keys alike.
LIMITS: dict[str, Limit] = {
    "rows": Limit(1, 10_000_000),
    "oversample": Limit(1.0, 100.0, float),
    "epochs": Limit(1, 100_000),
    "seed": Limit(0, 2**32 - 1),
    "workers": Limit(1, 256),
    "max_rounds": Limit(1, 1_000),
    "chunk_size": Limit(1, 100_000),
    "timeout_s": Limit(0.01, 3_600.0, float),
    "shape_cap": Limit(1, 10_000_000),
    "agreement_tolerance": Limit(0.0, 1.0, float),
    "empty_share": Limit(0.0, 1.0, float),
}


def flag_name(option: str) -> str:
    """How a user names an option: ``--rows`` for a flag, the config key otherwise."""
    if option in ("max_rounds", "chunk_size"):
        return f"generate.{option}"
    if option in ("timeout_s", "shape_cap", "agreement_tolerance"):
        return f"checks.{option}"
    return "--" + option.replace("_", "-")


def check_options(opts: GenerateOptions) -> None:
    """Refuse, before any work, every option value out of range and every combination
    that cannot run; one :class:`ConfigError` listing them all."""
    from cimgen.structure.synthesizers import NEURAL, SYNTHESIZERS, resolve_params

    problems = []
    for option, limit in LIMITS.items():
        value = getattr(opts, option)
        if value is not None and (problem := limit.problem(value)):
            problems.append(f"{flag_name(option)} {value!r} {problem}")
    if opts.model is None and opts.synthesizer not in SYNTHESIZERS:
        problems.append(
            f"--synthesizer {opts.synthesizer!r} is not one of {', '.join(SYNTHESIZERS)}"
        )
    elif opts.model is None and opts.epochs is not None and opts.synthesizer not in NEURAL:
        problems.append(
            f"--epochs: {opts.synthesizer} is not trained in epochs; drop --epochs or use "
            "ctgan, tvae or copulagan"
        )
    if opts.model is not None and opts.epochs is not None:
        problems.append("--epochs has no effect with --model (the model is already fitted)")
    for name, value in opts.score.thresholds.items():
        if (problem := Limit(0.0, 1.0, float).problem(value)) is not None:
            option = "--min-score" if name == "overall" else f"score.thresholds.{name}"
            problems.append(f"{option} {value!r} {problem}")
    weights = opts.score.weights
    if any(not isinstance(w, int | float) or w < 0 for w in weights.values()) or not sum(
        weights.values()
    ):
        problems.append(f"score.weights {weights} must be numbers >= 0, not all 0")
    if opts.executor not in EXECUTORS:
        problems.append(f"--executor {opts.executor!r} is not one of {', '.join(EXECUTORS)}")
    elif opts.ray_address and opts.executor != "ray":
        problems.append("--ray-address needs --executor ray")
    if problems:
        raise ConfigError("; ".join(problems) + ".")
    if opts.grammar is not None:
        from cimgen.catalogue import catalogue_for
        from cimgen.grammar.constructs import grammar_facts

        grammar_facts(opts.grammar)  # readable and a grammar: a one-line ConfigError if not
        catalogue_for(opts.grammar)  # its functions.yaml, when it has one, loads too
    if opts.executor == "ray":
        from cimgen.generate.executors import ray_module

        ray_module()  # installed? else a one-line error naming the extra, before any work
    for name, params in opts.synthesizer_params.items():
        resolve_params(name, params, where="config synthesizer")


def load_config(path: Path, base: GenerateOptions) -> GenerateOptions:
    """Apply a config file to ``base``; flags given on the command line are applied after.
    Every value is checked here, so an error names the file and the key."""
    data = read_config(path)
    opts = base
    gen = data.get("generate") or {}
    reject_unknown(path, "generate.", gen, _GENERATE_KEYS)
    checks = data.get("checks") or {}
    reject_unknown(path, "checks.", checks, _CHECK_KEYS)
    for section, values in (("generate", gen), ("checks", checks)):
        for key, value in values.items():
            limit = LIMITS.get(key)
            problem = limit.problem(value) if limit is not None else None
            if (
                problem is None
                and key in ("synthesizer", "schema", "executor", "ray_address")
                and not isinstance(value, str)
            ):
                problem = "must be a string"
            if problem is not None:
                raise ConfigError(f"{path}: {section}.{key} = {value!r} {problem}.")
    opts = replace(opts, **gen, **checks)
    if opts.dialect not in DIALECTS:
        raise ConfigError(
            f"{path}: generate.dialect {opts.dialect!r} is unknown. Use postgis or spatialite."
        )
    score = data.get("score") or {}
    reject_unknown(path, "score.", score, _SCORE_KEYS)
    if score:
        cfg = opts.score
        weights = {**cfg.weights, **(score.get("weights") or {})}
        thresholds = {**cfg.thresholds, **(score.get("thresholds") or {})}
        reject_unknown(path, "score.weights.", weights, set(cfg.weights))
        reject_unknown(path, "score.thresholds.", thresholds, set(cfg.thresholds))
        extra = {k: v for k, v in score.items() if k not in ("weights", "thresholds")}
        for prefix, values in (("weights.", weights), ("thresholds.", thresholds), ("", extra)):
            for key, value in values.items():
                if (problem := Limit(0.0, 1.0, float).problem(value)) is not None:
                    raise ConfigError(f"{path}: score.{prefix}{key} = {value!r} {problem}.")
        opts = replace(opts, score=replace(cfg, weights=weights, thresholds=thresholds, **extra))
    synth = data.get("synthesizer") or {}
    if not isinstance(synth, dict):
        raise ConfigError(f"{path}: 'synthesizer' must map a synthesizer name to parameters.")
    opts = replace(opts, synthesizer_params={**opts.synthesizer_params, **synth})
    return opts


def option_names() -> list[str]:
    return [f.name for f in fields(GenerateOptions)]
