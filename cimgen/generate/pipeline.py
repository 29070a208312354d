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

from cimgen import seeds
from cimgen.check import CheckContext, CheckOptions, DiversityState
from cimgen.check.diversity import check_diversity
from cimgen.codes import RES001, finding
from cimgen.errors import DatabaseError, InputError
from cimgen.generate import corpus_cache
from cimgen.generate.executors import ChunkFailed, open_executor
from cimgen.generate.options import GenerateOptions, check_options
from cimgen.generate.records import dataset_record, provenance, rejected_record
from cimgen.generate.sinks import RecordSink, StructureSink
from cimgen.generate.stats import RunStats
from cimgen.generate.work import Outcome, WorkerSpec
from cimgen.io import file_sha256, make_public_dir, write_json, write_table
from cimgen.score import score
from cimgen.structure.progress import PLAIN_STEPS


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


class _PlainLines:
    """Where the output is no terminal (a log file, CI), rich draws the bar only when it
    stops: one plain line every 1/PLAIN_STEPS of the rows instead, with the time so far."""

    def __init__(self, console: Console, enabled: bool, total: int) -> None:
        self.console, self.total = console, max(total, 1)
        self.enabled = enabled and not console.is_terminal
        self.start, self.next_step = time.perf_counter(), 1

    def __call__(self, done: int) -> None:
        if not self.enabled or done * PLAIN_STEPS < self.next_step * self.total:
            return
        self.next_step = done * PLAIN_STEPS // self.total + 1
        seconds = time.perf_counter() - self.start
        self.console.print(
            f"accepted {done:,}/{self.total:,} ({100 * done // self.total} %), {seconds:.1f} s",
            highlight=False,
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

    from cimgen.engines import fixture_facts
    from cimgen.fixtures.plant import wkt_center
    from cimgen.world import utm_srid

    place = corpus.place()
    if place is None:
        place = wkt_center(fixture_facts(schema, seed).wkt_sample(200))
    if place is None:
        return schema
    return _replace(schema, metric_srid=utm_srid(*place), _index={})


def _planting(schema: Any, corpus: Any, seed: int) -> Any:
    """What the fixture must hold of the corpus (its ids, categories, place), from the
    plain fixture's facts (cached: the plain fixture is not generated again each run)."""
    from cimgen.engines import fixture_facts
    from cimgen.fixtures.plant import planting_for, wkt_center

    facts = fixture_facts(schema, seed)
    plant = planting_for(schema, corpus, facts.values, wkt_center(facts.wkt_sample(500)))
    return plant if plant else None


def _run(opts: GenerateOptions, console: Console, tmp: Path, stack: ExitStack) -> GenerateResult:
    from cimgen.expand.context import ExpansionContext
    from cimgen.features import features_frame
    from cimgen.fixtures import schema_fingerprint
    from cimgen.ingest import corpus_warnings
    from cimgen.schema import load_schema
    from cimgen.structure import load_model
    from cimgen.structure.cache import obtain_model
    from cimgen.world import fixture_world

    timer = _Timer()
    schema = load_schema(opts.schema)

    def warn(message: str) -> None:
        console.print(f"[bold yellow]warning:[/] {escape(message)}", highlight=False)

    with timer.stage("ingest+features"), console.status("reading Stage 1 and extracting features…"):
        reader = _load_corpus(opts)
        facts_ck = corpus_cache.facts_key(
            reader.path, reader.sql_field, reader.id_field, schema_fingerprint(schema)
        )
        facts, facts_reused = corpus_cache.cached(
            facts_ck,
            lambda: corpus_cache.read_corpus(reader, schema),
            use_cache=opts.cache,
            refresh=opts.refit,
            warn=warn,
        )
        reader.report, skipped, pairs = facts.report, facts.skipped, facts.pairs
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
                warn=warn,
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
        corpus = facts.corpus
        schema = _with_metric_srid(schema, corpus, opts.seed)
        plant_ck = corpus_cache.planting_key(facts_ck, opts.seed, schema_fingerprint(schema))
        planted, plant_reused = corpus_cache.cached(
            plant_ck,
            lambda: {"plant": _planting(schema, corpus, opts.seed)},
            use_cache=opts.cache,
            refresh=opts.refit,
            warn=warn,
        )
        plant = planted["plant"]
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
    diversity = DiversityState(  # Stage 1's SQL digests and shapes, from the corpus read
        stage1_shapes=set(facts.diversity.stage1_shapes),
        stage1_sql=set(facts.diversity.stage1_sql),
        cap=opts.shape_cap,
    )
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
    sample_report: dict[str, Any] = {}
    div_ctx = CheckContext(schema, check_opts, diversity=diversity)
    empties = EmptyBudget(math.floor(opts.empty_share * opts.rows))
    decide = _Decider(div_ctx, diversity, empties, stats, opts, prov, RecordSink(tmp))
    structures = StructureSink(tmp / "structures.parquet")
    failed: ChunkFailed | None = None

    next_index = 0
    rounds = 0
    try:
        with ExitStack() as running:
            with console.status(f"starting {opts.workers} {opts.executor} worker(s)…"):
                run_chunks = running.enter_context(
                    open_executor(opts.executor, opts.workers, spec, opts.ray_address)
                )
            progress = running.enter_context(_progress(console, opts.progress))
            bar = progress.add_task("accepted", total=opts.rows)
            plain = _PlainLines(console, opts.progress, opts.rows)
            while decide.accepted < opts.rows and rounds < opts.max_rounds and not failed:
                rounds += 1
                n = max(1, math.ceil((opts.rows - decide.accepted) * opts.oversample))
                for block, size in enumerate(_blocks(n)):
                    if decide.accepted >= opts.rows:
                        break
                    with timer.stage("sample"):
                        seed = seeds.structures_seed(opts.seed, rounds, block)
                        sampled = model.sample(size, seed=seed, progress=False)
                    _merge(sample_report, sampled.report)
                    batch = sampled.structures()
                    del sampled
                    structures.write(batch)
                    items = list(enumerate(batch, start=next_index))
                    next_index += len(items)
                    step = _chunk_size(opts.chunk_size, len(items), opts.workers)
                    chunks = [items[i : i + step] for i in range(0, len(items), step)]
                    del batch, items
                    with timer.stage("expand+check"):
                        try:
                            for outcomes in run_chunks(chunks):
                                for outcome in outcomes:
                                    if decide.accepted >= opts.rows:
                                        break
                                    decide(outcome)
                                progress.update(bar, completed=decide.accepted)
                                plain(decide.accepted)
                                if decide.accepted >= opts.rows:
                                    break
                        except ChunkFailed as exc:
                            failed = exc
                            break
        decide.sink.close()
        structures.close()
    except BaseException:
        decide.sink.abort()
        structures.abort()
        raise

    complete = decide.accepted >= opts.rows
    message = _message(complete, failed, rounds, decide.accepted, opts.rows, stats)
    with timer.stage("write"), console.status("writing outputs…"):
        decide.sink.write_parquet()
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
                structures.count,
                sample_report,
                rounds,
            )
        )
        summary["warnings"] = warnings
        summary["structure_model"] = model_info
        summary["corpus_cache"] = {
            "facts": "reused" if facts_reused else "computed",
            "planting": "reused" if plant_reused else "computed",
            "key": facts_ck.key,
            "cache_dir": str(corpus_cache.corpus_dir()) if opts.cache else None,
        }
        summary["spatialite"] = "executed" if spatialite is None else f"not run: {spatialite}"
        summary["sdmetrics"] = _sdmetrics(stage1, decide.features)
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
        summary["executor"] = _executor(opts, failed)
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


class _Decider:
    """Decides each outcome in index order (diversity, empty-share budget, score) and
    streams its record to the sink; keeps only counters, hashes and the features of the
    first SDMETRICS_ROWS accepted rows, so memory does not grow with the row count."""

    def __init__(
        self,
        div_ctx: CheckContext,
        diversity: DiversityState,
        empties: EmptyBudget,
        stats: RunStats,
        opts: GenerateOptions,
        prov: dict[str, Any],
        sink: RecordSink,
    ) -> None:
        self.div_ctx, self.diversity, self.empties = div_ctx, diversity, empties
        self.stats, self.opts, self.prov, self.sink = stats, opts, prov, sink
        self.features: list[dict[str, Any]] = []

    @property
    def accepted(self) -> int:
        return self.sink.accepted

    def __call__(self, outcome: Outcome) -> None:
        from cimgen.check.base import Subject

        opts, diversity = self.opts, self.diversity
        div_score = 0.0
        if outcome.candidate is not None:
            subject = Subject(outcome.candidate.sql_postgis, fingerprint=outcome.fingerprint)
            outcome.findings.extend(check_diversity(subject, self.div_ctx))
            div_score = diversity.score(subject)
        gating = _gating(outcome.engines, opts.dialect)
        quality = score(outcome.findings, gating, div_score, opts.score)
        ok = quality.accepted and outcome.candidate is not None
        engine, rows = outcome.result(opts.dialect)
        empty_kept = False
        if ok and rows == 0:
            if self.empties.admit():
                empty_kept = True
            else:
                empty = finding(
                    RES001,
                    f"empty result on {engine} (the --empty-share of empty answers is used up)",
                )
                outcome.findings.append(empty)
                reasons = (*quality.reasons, f"{RES001}: {empty.message}")
                quality = replace(quality, accepted=False, reasons=reasons)
                ok = False
        self.stats.add(outcome, quality, ok, diversity.stage1_shapes)
        if ok:
            assert outcome.candidate is not None
            diversity.accept(
                Subject(outcome.candidate.sql_postgis, fingerprint=outcome.fingerprint)
            )
            record = dataset_record(
                outcome, quality, self.prov, schema=self.div_ctx.schema, dialect=opts.dialect
            )
            record["result"]["empty_on_purpose"] = empty_kept
            self.sink.accept(record)
            if record.get("features") and len(self.features) < SDMETRICS_ROWS:
                self.features.append(record["features"])
        else:
            self.sink.reject(
                rejected_record(
                    outcome, quality, self.prov, dialect=opts.dialect, schema=self.div_ctx.schema
                )
            )


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


SAMPLE_BLOCK = 50_000  # structures sampled at a time: bounds the driver's memory


def _blocks(n: int) -> list[int]:
    """A round's ``n`` structures, sampled in blocks of at most SAMPLE_BLOCK; each block is
    sampled only when the rows are still wanted."""
    return [min(SAMPLE_BLOCK, n - start) for start in range(0, n, SAMPLE_BLOCK)]


def _message(
    complete: bool,
    failed: ChunkFailed | None,
    rounds: int,
    accepted: int,
    rows: int,
    stats: RunStats,
) -> str:
    if failed is not None:
        return (
            f"stopped with {accepted} of {rows} samples accepted: {failed}; the outputs hold "
            "every structure decided before it"
        )
    if complete:
        return ""
    return (
        f"stopped after {rounds} rounds with {accepted} of {rows} samples accepted; "
        f"the check that rejects most is {stats.top_rejection()}"
    )


def _executor(opts: GenerateOptions, failed: ChunkFailed | None) -> dict[str, Any]:
    return {
        "name": opts.executor,
        "workers": opts.workers,
        "ray_address": opts.ray_address if opts.executor == "ray" else None,
        "failed_chunk": None
        if failed is None
        else {
            "first_index": failed.first_index,
            "last_index": failed.last_index,
            "tries": failed.tries,
            "error": failed.cause,
        },
    }


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
    sampled: int,
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
            "sha256": file_sha256(reader.path),
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
        "structures": {"sampled": sampled, "report": sample_report},
        "rounds": rounds,
    }


SDMETRICS_ROWS = 50_000  # accepted rows compared by SDMetrics: the first ones, in order


def _sdmetrics(stage1: Any, features: list[dict[str, Any]]) -> dict[str, Any]:
    """SDMetrics quality of the accepted samples' features against Stage 1's (the first
    SDMETRICS_ROWS accepted rows with features: a bounded cost at any row count)."""
    if not features:
        return {}
    import pandas as pd

    try:
        from cimgen.structure import quality_scores
    except ImportError:
        return {}
    synthetic = pd.DataFrame(features)
    real = stage1.drop(columns=["id"])
    try:
        return dict(quality_scores(real, synthetic[real.columns]))
    except Exception as exc:  # a report must not lose a finished run
        return {"error": str(exc).splitlines()[0]}


__all__ = ["GenerateOptions", "GenerateResult", "run_generate"]
