"""``cimgen generate``: ingest → features → fit (or reuse) → sample → expand/render → check
→ score → write, until exactly N samples are accepted or a bounded number of rounds ends.

Everything is written into a temporary folder beside DIR and renamed onto DIR at the end,
so an interrupted run leaves no half-written output.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cimgen.check import CheckContext, CheckOptions, DiversityState
from cimgen.check.diversity import check_diversity
from cimgen.errors import ConfigError, DatabaseError, InputError
from cimgen.generate.options import GenerateOptions
from cimgen.generate.records import dataset_record, provenance, rejected_record
from cimgen.generate.stats import RunStats
from cimgen.generate.work import Outcome, WorkerSpec, close_worker, init_worker, work_chunk
from cimgen.io import make_public_dir, write_json, write_jsonl, write_table
from cimgen.models import QueryFeatures
from cimgen.score import score


@dataclass
class GenerateResult:
    out: Path
    stats: dict[str, Any]
    complete: bool
    message: str = ""
    timings: dict[str, float] = field(default_factory=dict)


class _Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not enabled,
        transient=False,
    )


def _prepare_out(out: Path, overwrite: bool) -> Path:
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not overwrite:
        raise InputError(
            f"{out}: output folder is not empty. Choose another --out or pass --overwrite."
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    make_public_dir(tmp)
    return tmp


def _finish_out(tmp: Path, out: Path) -> None:
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        if old.exists():
            shutil.rmtree(old)
        out.rename(old)
        tmp.rename(out)
        shutil.rmtree(old)
    else:
        tmp.rename(out)


def run_generate(opts: GenerateOptions, console: Console) -> GenerateResult:
    """Run the whole Stage 2 (see module docstring); returns the summary figures."""
    tmp = _prepare_out(opts.out, opts.overwrite)
    try:
        with _postgis(opts, console) as (dsn, _cluster):
            result = _run(opts, console, tmp, dsn)
        _finish_out(tmp, opts.out)
        result.out = opts.out
        return result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _postgis(opts: GenerateOptions, console: Console) -> Iterator[tuple[str | None, Any]]:
    if not opts.postgis:
        yield None, None
        return
    from cimgen.engines import postgis as pg
    from cimgen.schema import load_schema

    if opts.postgis != "auto":
        yield opts.postgis, None
        return
    directory = Path(tempfile.mkdtemp(prefix="cimgen-pg-"))
    try:
        with console.status("starting a throwaway PostGIS cluster…"):
            dsn = pg.cluster_up(directory)
            pg.init_database(dsn, load_schema(opts.schema), seed=opts.seed, replace=True)
        yield dsn, directory
    finally:
        pg.cluster_down(directory)


def _load_corpus(opts: GenerateOptions) -> Any:
    from cimgen.ingest import read_stage1

    if opts.stage1 is not None:
        return read_stage1(opts.stage1, opts.sql_field)
    from cimgen.corpus import load_demo_corpus

    return read_stage1(load_demo_corpus(), opts.sql_field)


def _run(opts: GenerateOptions, console: Console, tmp: Path, dsn: str | None) -> GenerateResult:
    from cimgen.expand.context import ExpansionContext
    from cimgen.features import SkipReport, features_frame, iter_features
    from cimgen.fixtures import generate_fixture
    from cimgen.schema import load_schema
    from cimgen.structure import fit_model, load_model

    timer = _Timer()
    schema = load_schema(opts.schema)
    with timer.stage("ingest+features"), console.status("reading Stage 1 and extracting features…"):
        reader = _load_corpus(opts)
        skipped = SkipReport()
        pairs = list(iter_features(reader, schema, skipped))
        records = [r for r, _ in pairs]
        stage1 = features_frame(pairs)
    write_table(stage1, tmp / "stage1_features.parquet")
    console.print(
        f"Stage 1: {reader.report.read + reader.report.total_skipped} records, "
        f"{len(records)} with features, {reader.report.total_skipped + skipped.total} "
        "skipped"
    )

    with timer.stage("fit"):
        if opts.model is not None:
            model = load_model(opts.model)
            shutil.copytree(opts.model, tmp / "model")
        else:
            params = dict(opts.synthesizer_params.get(opts.synthesizer, {}))
            if opts.epochs is not None:
                params["epochs"] = opts.epochs
            model = fit_model(
                stage1,
                opts.synthesizer,
                params,
                seed=opts.seed,
                out_dir=tmp / "model",
                progress=opts.progress,
            )
    if (tmp / "model").is_dir():
        make_public_dir(tmp / "model")
    model_hash = _model_hash(model.manifest)
    synthesizer = str(model.manifest.get("synthesizer", opts.synthesizer))

    with (
        timer.stage("context"),
        console.status("building the expansion context and fixture database…"),
    ):
        fixture = generate_fixture(schema, opts.seed)
        context = ExpansionContext.build(schema, records, fixture)
        from cimgen.engines.duckdb import fixture_database

        fixture_database(schema, opts.seed)
        spatialite = _spatialite(opts, schema)
    diversity = DiversityState.from_stage1((r.sql for r in records), cap=opts.shape_cap)
    check_opts = CheckOptions(
        timeout_s=opts.timeout_s,
        shape_cap=opts.shape_cap,
        agreement_tolerance=opts.agreement_tolerance,
        execute_postgis=opts.postgis_execute,
        dialect=opts.dialect,
    )
    spec = WorkerSpec(
        schema, context, opts.seed, opts.seed, check_opts, dsn, spatialite=spatialite is None
    )
    stats = RunStats(tolerance=opts.agreement_tolerance, dialect=opts.dialect)
    prov = provenance(synthesizer, model_hash, opts.seed)
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    structures: list[QueryFeatures] = []
    sample_report: dict[str, Any] = {}
    div_ctx = CheckContext(schema, check_opts, diversity=diversity)

    next_index = 0
    rounds = 0
    with _progress(console, opts.progress) as progress, _pool(opts.workers, spec) as pool:
        bar = progress.add_task("accepted", total=opts.rows)
        while len(accepted) < opts.rows and rounds < opts.max_rounds:
            rounds += 1
            need = opts.rows - len(accepted)
            n = max(1, math.ceil(need * opts.oversample))
            with timer.stage("sample"):
                sampled = model.sample(n, seed=opts.seed * 1000 + rounds, progress=False)
            _merge(sample_report, sampled.report)
            batch = sampled.structures()
            structures.extend(batch)
            items = list(enumerate(batch, start=next_index))
            next_index += len(items)
            size = _chunk_size(opts.chunk_size, len(items), opts.workers)
            chunks = [items[i : i + size] for i in range(0, len(items), size)]
            with timer.stage("expand+check"):
                for outcomes in pool(chunks):
                    for outcome in outcomes:
                        if len(accepted) >= opts.rows:
                            break
                        _decide(outcome, div_ctx, diversity, stats, opts, prov, accepted, rejected)
                    progress.update(bar, completed=len(accepted))
                    if len(accepted) >= opts.rows:
                        break

    complete = len(accepted) >= opts.rows
    message = (
        ""
        if complete
        else (
            f"stopped after {rounds} rounds with {len(accepted)} of {opts.rows} samples accepted; "
            f"the check that rejects most is {stats.top_rejection()}"
        )
    )
    with timer.stage("write"), console.status("writing outputs…"):
        write_jsonl(tmp / "dataset.jsonl", accepted)
        write_jsonl(tmp / "rejected.jsonl", rejected)
        import pandas as pd

        flat = pd.json_normalize(accepted, sep=".") if accepted else pd.DataFrame()
        write_table(flat.astype(str) if not flat.empty else flat, tmp / "dataset.parquet")
        write_table(pd.DataFrame([s.to_dict() for s in structures]), tmp / "structures.parquet")
        summary = stats.to_dict()
        summary.update(
            _header(
                opts,
                schema.name,
                synthesizer,
                model_hash,
                reader,
                skipped,
                len(records),
                structures,
                sample_report,
                rounds,
            )
        )
        summary["spatialite"] = "executed" if spatialite is None else f"not run: {spatialite}"
        summary["sdmetrics"] = _sdmetrics(stage1, accepted)
        summary["timings"] = timer.seconds
        summary["complete"] = complete
        summary["message"] = message
        write_json(tmp / "stats.json", summary)
        if opts.report:
            from cimgen.report import write_card, write_report

            write_report(tmp)
            write_card(tmp)
    return GenerateResult(opts.out, summary, complete, message, timer.seconds)


def _decide(
    outcome: Outcome,
    div_ctx: CheckContext,
    diversity: DiversityState,
    stats: RunStats,
    opts: GenerateOptions,
    prov: dict[str, Any],
    accepted: list[dict[str, Any]],
    rejected: list[dict[str, Any]],
) -> None:
    from cimgen.check.base import Subject

    div_score = 0.0
    if outcome.candidate is not None:
        subject = Subject(outcome.candidate.sql_postgis, fingerprint=outcome.fingerprint)
        outcome.findings.extend(check_diversity(subject, div_ctx))
        div_score = diversity.score(subject)
    quality = score(outcome.findings, _gating(outcome.engines, opts.dialect), div_score, opts.score)
    ok = quality.accepted and outcome.candidate is not None
    stats.add(outcome, quality, ok, diversity.stage1_shapes)
    if ok:
        assert outcome.candidate is not None
        diversity.accept(Subject(outcome.candidate.sql_postgis, fingerprint=outcome.fingerprint))
        accepted.append(dataset_record(outcome, quality, prov, dialect=opts.dialect))
    else:
        rejected.append(rejected_record(outcome, quality, prov, dialect=opts.dialect))


def _gating(engines: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The engine results that decide acceptance: with the PostGIS dialect SpatiaLite runs
    for the record only (its outcome is stored, not scored)."""
    if dialect == "spatialite" or "spatialite" not in engines:
        return engines
    return {name: result for name, result in engines.items() if name != "spatialite"}


def _spatialite(opts: GenerateOptions, schema: Any) -> str | None:
    """None when SpatiaLite checks run (its fixture file is built now), else why not. The
    SpatiaLite dialect needs SpatiaLite: without it, a one-line error naming the fix."""
    from cimgen.engines import spatialite

    if not opts.execute_spatialite:
        if opts.dialect == "spatialite":
            raise ConfigError(
                "--dialect spatialite executes every row on SpatiaLite: remove "
                "checks.execute_spatialite: false from the config file."
            )
        return "off (checks.execute_spatialite: false)"
    problem = spatialite.unavailable()
    if problem is not None:
        if opts.dialect == "spatialite":
            raise DatabaseError(f"--dialect spatialite: {problem}")
        return problem
    spatialite.fixture_database(schema, opts.seed)
    return None


_MAX_CHUNK = 16  # structures per task: ~0.1-0.3 s of work, so little is computed in vain


def _chunk_size(configured: int, n: int, workers: int) -> int:
    """Structures per task: at most ``configured`` and ``_MAX_CHUNK``, and small enough
    for every worker to get several tasks. The run stops as soon as N samples are accepted
    and results come back in order, so a big task means work done for nothing at the end
    (a 200-structure task is seconds) and idle workers behind a slow one; pickling a task
    costs ~0.1 ms, so small tasks are cheap."""
    return max(1, min(configured, _MAX_CHUNK, math.ceil(n / (4 * max(1, workers)))))


@contextmanager
def _pool(workers: int, spec: WorkerSpec) -> Iterator[Any]:
    """A function mapping chunks to outcomes, in order: in-process or a process pool."""
    if workers <= 1:
        init_worker(spec)
        try:
            yield lambda chunks: (work_chunk(c) for c in chunks)
        finally:
            close_worker()
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=init_worker, initargs=(spec,)) as pool:
        yield lambda chunks: pool.imap(work_chunk, chunks)


def _model_hash(manifest: dict[str, Any]) -> str:
    """sha256 of what defines a fitted model: synthesizer, parameters, seed, training data.

    (The pickled synthesizer itself is not byte-stable across fits, so it is not hashed.)
    """
    import hashlib
    import json

    key = {
        k: manifest.get(k) for k in ("synthesizer", "parameters", "seed", "feature_spec_version")
    }
    key["features_sha256"] = (manifest.get("training") or {}).get("features_sha256")
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()


def _merge(total: dict[str, Any], report: dict[str, Any]) -> None:
    for key, value in (report or {}).items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            total[key] = total.get(key, 0) + value
        elif isinstance(value, dict):
            _merge(total.setdefault(key, {}), value)


def _header(
    opts: GenerateOptions,
    schema: str,
    synthesizer: str,
    model_hash: str,
    reader: Any,
    skipped: Any,
    n_features: int,
    structures: list[QueryFeatures],
    sample_report: dict[str, Any],
    rounds: int,
) -> dict[str, Any]:
    from cimgen import __version__

    return {
        "tool": {"name": "cimgen", "version": __version__},
        "seed": opts.seed,
        "schema": schema,
        "synthesizer": synthesizer,
        "model_hash": model_hash,
        "rows_requested": opts.rows,
        "workers": opts.workers,
        "postgis": bool(opts.postgis),
        "dialect": opts.dialect,
        "records": {
            "read": reader.report.read + reader.report.total_skipped,
            "skipped": reader.report.total_skipped + skipped.total,
            "skipped_by_reason": {**dict(reader.report.skipped), **dict(skipped.counts)},
            "features": n_features,
        },
        "structures": {"sampled": len(structures), "report": sample_report},
        "rounds": rounds,
    }


def _sdmetrics(stage1: Any, accepted: list[dict[str, Any]]) -> dict[str, Any]:
    """SDMetrics quality of the accepted samples' features against Stage 1's."""
    if not accepted:
        return {}
    import pandas as pd

    try:
        from cimgen.structure import quality_scores
    except ImportError:
        return {}
    synthetic = pd.DataFrame([r["features"] for r in accepted if r.get("features")])
    real = stage1.drop(columns=["id"])
    try:
        return dict(quality_scores(real, synthetic[real.columns]))
    except Exception as exc:  # a report must not lose a finished run
        return {"error": str(exc).splitlines()[0]}


__all__ = ["GenerateOptions", "GenerateResult", "run_generate"]
