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
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cimgen.check import CheckContext, CheckOptions, DiversityState
from cimgen.check.diversity import check_diversity
from cimgen.codes import RES001, finding
from cimgen.errors import DatabaseError, InputError
from cimgen.generate.options import GenerateOptions, check_options
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
    if out.exists() and not out.is_dir():
        raise InputError(
            f"{out}: is a file, not a folder. Give --out a folder name (new or empty)."
        )
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(
            f"{out}: output folder is not empty. Choose another --out or pass --overwrite."
        )
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise InputError(
            f"{out}: cannot write beside it in {exc.filename or out.parent} "
            f"({exc.strerror or exc}). Choose an --out in a writable folder."
        ) from None
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
    check_options(opts)  # every bad value and combination, before anything is read or written
    if opts.postgis and opts.postgis != "auto":
        from cimgen.engines import postgis as pg

        # reach the server now, before the long work: a worker that cannot connect would
        # fail only after the fit, and a pool initializer that raises is restarted forever
        pg.connect(opts.postgis).close()
    tmp = _prepare_out(opts.out, opts.overwrite)
    try:
        with ExitStack() as stack:  # a throwaway PostGIS cluster, once the corpus is read
            result = _run(opts, console, tmp, stack)
        _finish_out(tmp, opts.out)
        result.out = opts.out
        return result
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _postgis(
    opts: GenerateOptions, console: Console, schema: Any, plant: Any
) -> Iterator[str | None]:
    """The PostGIS DSN to check on: ``--postgis`` (a throwaway cluster with the fixture,
    ``plant`` included, for ``auto``), else a schema read from a live database."""
    if not opts.postgis:
        # a schema read from a live database is checked on that database too
        live = opts.schema if opts.schema.startswith(("postgresql://", "postgres://")) else None
        yield live
        return
    from cimgen.engines import postgis as pg

    if opts.postgis != "auto":  # reached already, in run_generate
        yield opts.postgis
        return
    with ExitStack() as stack:
        with console.status("starting a throwaway PostGIS cluster…"):
            dsn = stack.enter_context(pg.throwaway_postgis(schema, opts.seed, plant))
        yield dsn


def _load_corpus(opts: GenerateOptions) -> Any:
    from cimgen.ingest import read_stage1

    if opts.stage1 is not None:
        return read_stage1(opts.stage1, opts.sql_field, opts.id_field)
    from cimgen.corpus import load_demo_corpus

    return read_stage1(load_demo_corpus(), opts.sql_field, opts.id_field)


def _with_metric_srid(schema: Any, corpus: Any, seed: int) -> Any:
    """A schema without a metric SRID (a DDL file, a live database) gets the UTM zone of
    where its data lies (the corpus's places, else the fixture's), so distances and areas
    can be measured in metres everywhere."""
    if schema.metric_srid:
        return schema
    from dataclasses import replace as _replace

    from cimgen.fixtures import generate_fixture
    from cimgen.fixtures.plant import wkt_center
    from cimgen.world import utm_srid

    place = corpus.place()
    if place is None:
        base = generate_fixture(schema, seed)
        wkts = [
            r[k]
            for t in schema.tables
            for k, c in enumerate(t.columns)
            if c.kind == "geometry" and (c.srid or 4326) == 4326
            for r in base.table(t.qualified).rows[:200]
            if isinstance(r[k], str)
        ]
        place = wkt_center(wkts)
    if place is None:
        return schema
    return _replace(schema, metric_srid=utm_srid(*place), _index={})


def _planting(schema: Any, corpus: Any, seed: int) -> Any:
    """What the fixture must hold of the corpus (its ids, categories, place)."""
    from cimgen.fixtures import generate_fixture
    from cimgen.fixtures.plant import planting_for, wkt_center

    base = generate_fixture(schema, seed)
    values: dict[tuple[str, str], set[Any]] = {}
    wkts: list[str] = []
    for t in schema.tables:
        rows = base.table(t.qualified).rows
        for k, c in enumerate(t.columns):
            if c.kind in ("text", "integer"):
                values[(t.qualified, c.name)] = {r[k] for r in rows}
            elif c.kind == "geometry" and (c.srid or 4326) == 4326:
                wkts.extend(r[k] for r in rows[:500] if isinstance(r[k], str))
    plant = planting_for(schema, corpus, values, wkt_center(wkts))
    return plant if plant else None


def _run(opts: GenerateOptions, console: Console, tmp: Path, stack: ExitStack) -> GenerateResult:
    from cimgen.expand.context import ExpansionContext
    from cimgen.features import SkipReport, features_frame, iter_features
    from cimgen.fixtures import schema_fingerprint
    from cimgen.ingest import corpus_warnings
    from cimgen.schema import load_schema
    from cimgen.structure import load_model
    from cimgen.structure.cache import obtain_model
    from cimgen.world import fixture_world

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
        "skipped" + (f" ({reader.report.summary()})" if reader.report.total_skipped else "")
    )
    warnings = corpus_warnings(reader.report, len(records))
    for warning in warnings:
        console.print(f"[bold yellow]warning:[/] {warning}.", highlight=False)

    with timer.stage("fit"):
        if opts.model is not None:
            model = load_model(opts.model, opts.device)
            shutil.copytree(opts.model, tmp / "model")
            model_info: dict[str, Any] = {"source": "given", "cache_key": None, "cache_dir": None}
        else:
            params = dict(opts.synthesizer_params.get(opts.synthesizer, {}))
            if opts.epochs is not None:
                params["epochs"] = opts.epochs
            got = obtain_model(
                stage1,
                opts.synthesizer,
                params,
                seed=opts.seed,
                device=opts.device,
                schema_sha256=schema_fingerprint(schema),
                use_cache=opts.cache,
                refit=opts.refit,
                out_dir=tmp / "model",
                progress=opts.progress,
                warn=lambda m: console.print(
                    f"[bold yellow]warning:[/] {escape(m)}", highlight=False
                ),
            )
            model, model_info = got.model, got.to_dict()
    model_info["device"] = model.manifest.get("device")
    if (tmp / "model").is_dir():
        make_public_dir(tmp / "model")
    model_hash = _model_hash(model.manifest)
    synthesizer = str(model.manifest.get("synthesizer", opts.synthesizer))

    with (
        timer.stage("context"),
        console.status("building the expansion context and fixture database…"),
    ):
        from cimgen.world.corpus import learn_corpus

        corpus = learn_corpus(schema, records)
        schema = _with_metric_srid(schema, corpus, opts.seed)
        plant = _planting(schema, corpus, opts.seed)
        dsn = stack.enter_context(_postgis(opts, console, schema, plant))
        live = dsn if dsn and opts.postgis != "auto" else None
        if live:  # literals and pivots from the user's own database
            from cimgen.world import ProbeLimits
            from cimgen.world.live import live_pools, world_from_postgis

            world = world_from_postgis(schema, live, ProbeLimits(rows=3000, seed=opts.seed))
            pools = live_pools(schema, live)
        else:
            world, pools = fixture_world(schema, opts.seed, plant=plant), None
        context = ExpansionContext.build(
            schema,
            world,
            records,
            pools,
            corpus=corpus,
            planting=plant,
            dialect=opts.dialect,
            grammar=opts.grammar,
        )
        spatialite = _spatialite(opts, schema, plant)
    diversity = DiversityState.from_stage1((r.sql for r in records), cap=opts.shape_cap)
    check_opts = CheckOptions(
        timeout_s=opts.timeout_s,
        shape_cap=opts.shape_cap,
        agreement_tolerance=opts.agreement_tolerance,
        execute_postgis=opts.postgis_execute,
        dialect=opts.dialect,
        grammar=opts.grammar,
    )
    spec = WorkerSpec(
        schema, context, opts.seed, opts.seed, check_opts, dsn, plant, spatialite=spatialite is None
    )
    stats = RunStats(tolerance=opts.agreement_tolerance, dialect=opts.dialect)
    prov = provenance(synthesizer, model_hash, opts.seed)
    accepted: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    structures: list[QueryFeatures] = []
    sample_report: dict[str, Any] = {}
    div_ctx = CheckContext(schema, check_opts, diversity=diversity)
    empties = EmptyBudget(math.floor(opts.empty_share * opts.rows))

    next_index = 0
    rounds = 0
    with _progress(console, opts.progress) as progress, _pool(opts.workers, spec) as pool:
        bar = progress.add_task("accepted", total=opts.rows)
        while len(accepted) < opts.rows and rounds < opts.max_rounds:
            rounds += 1
            need = opts.rows - len(accepted)
            n = max(1, math.ceil(need * opts.oversample))
            with timer.stage("sample"):
                sampled = model.sample(n, seed=(opts.seed * 1000 + rounds) % 2**32, progress=False)
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
                        _decide(
                            outcome,
                            div_ctx,
                            diversity,
                            empties,
                            stats,
                            opts,
                            prov,
                            accepted,
                            rejected,
                        )
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
        summary["warnings"] = warnings
        summary["structure_model"] = model_info
        summary["spatialite"] = "executed" if spatialite is None else f"not run: {spatialite}"
        summary["sdmetrics"] = _sdmetrics(stage1, accepted)
        summary["empty_results"] = {
            "share_allowed": opts.empty_share,
            "kept_on_purpose": empties.kept,
            "rejected": empties.rejected,
        }
        summary["literal_sources"] = context.pools.sources()
        _manifest_sources(tmp / "model" / "manifest.json", summary["literal_sources"])
        summary["planted"] = plant.to_dict() if plant else None
        summary["world"] = context.world.summary()
        summary["timings"] = timer.seconds
        summary["complete"] = complete
        summary["message"] = message
        write_json(tmp / "stats.json", summary)
        if opts.report:
            from cimgen.report import write_card, write_report

            write_report(tmp)
            write_card(tmp)
    return GenerateResult(opts.out, summary, complete, message, timer.seconds)


@dataclass
class EmptyBudget:
    """How many accepted rows may return no row (kept on purpose, labelled); decided in
    index order in the main process, so the outcome does not depend on the workers."""

    limit: int
    kept: int = 0
    rejected: int = 0

    def admit(self) -> bool:
        if self.kept < self.limit:
            self.kept += 1
            return True
        self.rejected += 1
        return False


def _decide(
    outcome: Outcome,
    div_ctx: CheckContext,
    diversity: DiversityState,
    empties: EmptyBudget,
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
    engine, rows = outcome.result(opts.dialect)
    empty_kept = False
    if ok and rows == 0:
        if empties.admit():
            empty_kept = True
        else:
            empty = finding(
                RES001,
                f"empty result on {engine} (the --empty-share of empty answers is used up)",
            )
            outcome.findings.append(empty)
            quality = replace(
                quality, accepted=False, reasons=(*quality.reasons, f"{RES001}: {empty.message}")
            )
            ok = False
    stats.add(outcome, quality, ok, diversity.stage1_shapes)
    if ok:
        assert outcome.candidate is not None
        diversity.accept(Subject(outcome.candidate.sql_postgis, fingerprint=outcome.fingerprint))
        record = dataset_record(outcome, quality, prov, schema=div_ctx.schema, dialect=opts.dialect)
        record["result"]["empty_on_purpose"] = empty_kept
        accepted.append(record)
    else:
        rejected.append(rejected_record(outcome, quality, prov, dialect=opts.dialect))


def _gating(engines: dict[str, Any], dialect: str) -> dict[str, Any]:
    """The engine results that decide acceptance: with the PostGIS dialect SpatiaLite runs
    for the record only (its outcome is stored, not scored)."""
    if dialect == "spatialite" or "spatialite" not in engines:
        return engines
    return {name: result for name, result in engines.items() if name != "spatialite"}


def _spatialite(opts: GenerateOptions, schema: Any, plant: Any) -> str | None:
    """None when SpatiaLite checks run (its fixture file is built now), else why not. The
    SpatiaLite dialect needs SpatiaLite: without it, a one-line error naming the fix."""
    from cimgen.engines import spatialite

    if not opts.execute_spatialite and opts.dialect != "spatialite":
        return "off (checks.execute_spatialite: false)"
    problem = spatialite.unavailable()
    if problem is not None:
        if opts.dialect == "spatialite":
            raise DatabaseError(f"--dialect spatialite: {problem}")
        return problem
    spatialite.fixture_database(schema, opts.seed, plant=plant)
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


def _manifest_sources(path: Path, sources: dict[str, Any]) -> None:
    """Record in the output model's manifest where each column's literal pool came from."""
    import json

    if not path.is_file():
        return
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["literal_sources"] = sources
    write_json(path, manifest)


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
    if manifest.get("device") not in (None, "cpu"):  # a GPU fit is another model
        key["device"] = manifest["device"]
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
        "stage1": {
            "file": reader.path.name,
            "bundled": opts.stage1 is None,
            "format": reader.format,
            "sha256": _sha256(reader.path),
        },
        "score_config": asdict(opts.score),
        "dialect": opts.dialect,
        **({"grammar": str(opts.grammar)} if opts.grammar is not None else {}),
        "records": {
            "read": reader.report.read + reader.report.total_skipped,
            "skipped": reader.report.total_skipped + skipped.total,
            "skipped_by_reason": {**dict(reader.report.skipped), **dict(skipped.counts)},
            "first_skipped_lines": reader.report.skipped_lines,
            "features": n_features,
            "with_question": reader.report.with_question,
        },
        "structures": {"sampled": len(structures), "report": sample_report},
        "rounds": rounds,
    }


def _sha256(path: Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


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
