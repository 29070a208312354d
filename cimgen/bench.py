"""``cimgen bench``: how good are the three dialect renderings of generated queries?

For N queries built from sampled structures, per backend (PostGIS, SpatiaLite, DuckDB):
render time, the share that *parses* in that dialect (each engine's own parser: pglast,
SQLite's prepare through apsw, DuckDB's ``json_serialize_sql``), the share that *executes*
on that engine's fixture database, the share of executions that return rows, the top error
messages, and how often two engines return the same result (row count and numeric column
sums within a tolerance, :func:`cimgen.check.execute.agree`).

PostGIS runs only with ``postgis`` (a URL of a database filled by ``cimgen db init``, or
``"auto"`` for a throwaway cluster removed afterwards). Every execution is read-only and has
a timeout.
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimgen import seeds
from cimgen.check.base import OK, PLANNED
from cimgen.check.execute import agree
from cimgen.codes import RND001
from cimgen.errors import InputError
from cimgen.models import Candidate

BACKENDS = ("postgis", "spatialite", "duckdb")
STAGE1_FALLBACK = Path(__file__).resolve().parents[2] / "shared" / "mission" / "stage1_sample.jsonl"
_SQLITE_SYNTAX = ("syntax error", "incomplete input", "unrecognized token")
MAX_ROUNDS = 8  # sampling rounds to reach the requested number of queries
MIN_BATCH = 64


@dataclass
class Tally:
    """One backend's figures over the benchmark's queries."""

    n: int = 0
    rendered: int = 0
    unsupported: int = 0
    render_s: float = 0.0
    parses: int = 0
    executed: int = 0  # attempted
    executes: int = 0
    with_rows: int = 0
    timeouts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    unsupported_reasons: Counter[str] = field(default_factory=Counter)
    ran: bool = True  # False when the engine was not available (e.g. no PostGIS)
    # queries that use rasters (a raster function or column): SpatiaLite has no form for
    # them, so its target is counted over the other queries
    raster: int = 0
    raster_executes: int = 0

    def to_dict(self) -> dict[str, Any]:
        def pct(part: int, whole: int) -> float | None:
            return round(100.0 * part / whole, 2) if whole else None

        non_raster = self.executes - self.raster_executes
        return {
            "n": self.n,
            "rendered": self.rendered,
            "unsupported": self.unsupported,
            "render_ms_per_query": round(1000 * self.render_s / self.rendered, 3)
            if self.rendered
            else None,
            "parses": self.parses,
            "parses_pct": pct(self.parses, self.rendered),
            "executed": self.executed if self.ran else None,
            "executes": self.executes if self.ran else None,
            "executes_pct": pct(self.executes, self.rendered) if self.ran else None,
            "executes_pct_of_all": pct(self.executes, self.n) if self.ran else None,
            "rows_returned_pct": pct(self.with_rows, self.executes) if self.ran else None,
            "timeouts": self.timeouts if self.ran else None,
            "raster_queries": self.raster,
            "non_raster_executes": non_raster if self.ran else None,
            "non_raster_executes_pct": pct(non_raster, self.n - self.raster) if self.ran else None,
            "errors": [{"message": m, "count": c} for m, c in _top(self.errors)],
            "unsupported_reasons": [
                {"message": m, "count": c} for m, c in _top(self.unsupported_reasons)
            ],
        }


def _top(counter: Counter[str], k: int = 5) -> list[tuple[str, int]]:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[:k]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:200]


# --------------------------------------------------------------------------- parsers


def parse_postgis(sql: str) -> str | None:
    """None when PostgreSQL's parser (pglast) accepts ``sql``, else the error."""
    from pglast.parser import ParseError, parse_sql_json

    try:
        parse_sql_json(sql)
    except ParseError as exc:
        return _first_line(exc)
    return None


def parse_duckdb(con: Any, sql: str) -> str | None:
    """None when DuckDB's own parser accepts ``sql`` (``json_serialize_sql``), else the error."""
    import json

    out = json.loads(con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
    return str(out.get("error_message", "parser error")) if out.get("error") else None


def parse_sqlite(conn: Any, sql: str) -> str | None:
    """None when SQLite's parser accepts ``sql``: it is prepared (``EXPLAIN``) on the fixture
    database; an unknown name is a binding error, not a syntax error, and counts as parsed."""
    import apsw

    try:
        conn.execute("EXPLAIN " + sql).fetchall()
    except apsw.SQLError as exc:
        message = _first_line(exc)
        if any(s in message for s in _SQLITE_SYNTAX):
            return message
    return None


# --------------------------------------------------------------------------- inputs


def emit_json_line(line: dict[str, Any], out: str | Path | None, indent: int | None = None) -> None:
    """A benchmark's result: printed as JSON, and appended as one JSON line to ``out`` (the
    benchmarks' ``--out`` file) when given."""
    print(json.dumps(line, indent=indent), flush=True)
    if out:
        with open(out, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


def corpus_records(stage1: Path | None = None) -> list[Any]:
    """Stage 1 records: ``stage1``, else the bundled demo corpus, else the shared sample."""
    from cimgen.ingest import read_stage1

    if stage1 is not None:
        return list(read_stage1(stage1))
    try:
        from cimgen.corpus import load_demo_corpus

        return list(read_stage1(load_demo_corpus()))
    except (ImportError, FileNotFoundError):
        if not STAGE1_FALLBACK.is_file():
            raise InputError(
                "no bundled demo corpus and no ../shared/mission/"
                "stage1_sample.jsonl. Pass --stage1 FILE."
            ) from None
        return list(read_stage1(STAGE1_FALLBACK))


def structure_model(
    seed: int,
    records: list[Any],
    schema: Any,
    model: Path | None,
    synthesizer: str,
    epochs: int | None,
    progress: bool,
) -> tuple[Any, dict]:
    """A saved structure model, or one fitted now on the features of ``records``."""
    from cimgen.structure import fit_model, load_model

    if model is not None:
        loaded = load_model(model)
        return loaded, {"model": str(model), "synthesizer": loaded.name}
    from cimgen.features import features_frame, iter_features

    frame = features_frame(iter_features(records, schema))
    neural = synthesizer in ("ctgan", "tvae", "copulagan")
    params = {"epochs": epochs} if epochs is not None and neural else {}
    fitted = fit_model(frame, synthesizer, params, seed=seed, progress=progress)
    return fitted, {
        "synthesizer": synthesizer,
        "params": params,
        "fitted_on": len(frame),
        "fit_seconds": fitted.manifest.get("fit_seconds"),
    }


def candidates(
    model: Any,
    context: Any,
    rows: int,
    seed: int,
    expansion_failed: Counter[str],
    progress: bool = False,
) -> Iterator[Candidate]:
    """``rows`` candidates (fewer only if MAX_ROUNDS sampling rounds cannot reach it).

    Structures that cannot be expanded are counted in ``expansion_failed`` and replaced by
    sampling again; the next round asks for as many as the success rate so far suggests.
    Index ``i`` uses ``seeds.expansion_rng(seed, i)``, as ``cimgen generate`` does.
    """
    from cimgen.expand import make_candidate

    made = index = 0
    for round_no in range(1, MAX_ROUNDS + 1):
        need = rows - made
        if need <= 0:
            return
        rate = made / index if index else 1.0
        # At least MIN_BATCH: the model's rare-type guarantee needs a few rows per sql_type.
        size = max(MIN_BATCH, min(20 * need, math.ceil(need / max(rate, 0.05))))
        batch = model.sample(
            size, seed=seeds.structures_seed(seed, round_no, 0), progress=progress
        ).structures()
        for structure in batch:
            result = make_candidate(structure, context, seeds.expansion_rng(seed, index), index)
            index += 1
            if isinstance(result, Candidate):
                made += 1
                yield result
                if made >= rows:
                    return
            else:
                expansion_failed[result.findings[0].code if result.findings else "?"] += 1


@contextlib.contextmanager
def postgis_connection(postgis: str | None, schema: Any, fixture_seed: int) -> Iterator[Any]:
    """A connection for ``postgis`` (URL or "auto": a throwaway cluster), or None."""
    if not postgis:
        yield None
        return
    from cimgen.engines import postgis as pg

    with pg.postgis_dsn(postgis, schema, fixture_seed) as dsn:
        assert dsn is not None
        conn = pg.connect(dsn)
        try:
            yield conn
        finally:
            conn.close()


# --------------------------------------------------------------------------- the run


def _render_timed(candidate: Candidate, schema: Any) -> dict[str, tuple[str | None, float, str]]:
    """Each backend's SQL, render seconds and unsupported reason (re-rendered to time it)."""
    from cimgen.render import render_duckdb, render_postgis, render_spatialite

    out: dict[str, tuple[str | None, float, str]] = {}
    for name, fn in (
        ("postgis", lambda q: render_postgis(q)),
        ("duckdb", lambda q: render_duckdb(q, schema).sql),
        ("spatialite", lambda q: render_spatialite(q, schema).sql),
    ):
        start = time.perf_counter()
        fn(candidate.ast)
        seconds = time.perf_counter() - start
        sql = {
            "postgis": candidate.sql_postgis,
            "duckdb": candidate.sql_duckdb,
            "spatialite": candidate.sql_spatialite,
        }[name]
        why = candidate.unsupported.get(name) or (
            f"renderer defect ({RND001})" if name in candidate.render_defects else ""
        )
        out[name] = (sql or None, seconds, why)
    return out


def run_bench(
    rows: int = 500,
    *,
    model: Path | None = None,
    synthesizer: str = "ctgan",
    epochs: int | None = 30,
    seed: int = 0,
    fixture_seed: int = 0,
    postgis: str | None = None,
    schema: str = "cim_wizard",
    stage1: Path | None = None,
    timeout_s: float = 2.0,
    tolerance: float = 0.005,
    progress: bool = True,
    on_query: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Benchmark ``rows`` generated queries on every backend; the figures as a JSON object."""
    from cimgen.engines import duckdb as duck
    from cimgen.engines import spatialite as spl
    from cimgen.expand.context import ExpansionContext
    from cimgen.schema.load import load_schema

    if rows < 1:
        raise InputError(f"--rows {rows}: ask for at least 1 query.")
    started = time.perf_counter()
    model_schema = load_schema(schema)
    records = corpus_records(stage1)
    structure_src, source = structure_model(
        seed, records, model_schema, model, synthesizer, epochs, progress
    )
    context = ExpansionContext.for_fixture(model_schema, records, fixture_seed)
    tallies = {b: Tally() for b in BACKENDS}
    pairs = [("duckdb", "spatialite"), ("duckdb", "postgis"), ("spatialite", "postgis")]
    agreement: dict[str, Counter[str]] = {f"{a}~{b}": Counter() for a, b in pairs}
    expansion_failed: Counter[str] = Counter()
    from cimgen.check.execute import DuckDBRunner, PostgisRunner, SpatialiteRunner

    duck_con = duck.open_fixture(model_schema, fixture_seed)
    spl_conn = spl.open_fixture(model_schema, fixture_seed)
    prepared = time.perf_counter()
    try:
        with postgis_connection(postgis, model_schema, fixture_seed) as pg_conn:
            runners: dict[str, Any] = {
                "duckdb": DuckDBRunner(duck_con, timeout_s),
                "spatialite": SpatialiteRunner(spl_conn, timeout_s),
                "postgis": PostgisRunner(pg_conn, timeout_s) if pg_conn is not None else None,
            }
            tallies["postgis"].ran = pg_conn is not None
            parsers: dict[str, Callable[[str], str | None]] = {
                "postgis": parse_postgis,
                "duckdb": lambda sql: parse_duckdb(duck_con, sql),
                "spatialite": lambda sql: parse_sqlite(spl_conn, sql),
            }
            for done, made in enumerate(
                candidates(structure_src, context, rows, seed, expansion_failed), start=1
            ):
                digests = _bench_one(made, model_schema, tallies, parsers, runners)
                for a, b in pairs:
                    if digests.get(a) is not None and digests.get(b) is not None:
                        agreement[f"{a}~{b}"]["n"] += 1
                        agreement[f"{a}~{b}"]["agree"] += agree(digests[a], digests[b], tolerance)
                if on_query is not None:
                    on_query(done, rows)
    finally:
        duck_con.close()
        spl.close(spl_conn)
    return {
        "rows": tallies["postgis"].n,
        "rows_requested": rows,
        "seed": seed,
        "fixture_seed": fixture_seed,
        "schema": model_schema.name,
        "structures": source,
        "structures_expanded": tallies["postgis"].n + sum(expansion_failed.values()),
        "expansion_failed": sum(expansion_failed.values()),
        "expansion_failed_by_code": dict(_top(expansion_failed, 20)),
        "backends": {b: tallies[b].to_dict() for b in BACKENDS},
        "agreement": {
            k: {
                "n": v["n"],
                "agree": v["agree"],
                "agree_pct": round(100.0 * v["agree"] / v["n"], 2) if v["n"] else None,
            }
            for k, v in agreement.items()
        },
        "timeout_s": timeout_s,
        "tolerance": tolerance,
        "postgis": ("auto" if postgis == "auto" else "url") if postgis else None,
        "seconds": {
            "prepare": round(prepared - started, 3),
            "queries": round(time.perf_counter() - prepared, 3),
        },
    }


def uses_raster(query: Any, schema: Any) -> bool:
    """Whether a query is a raster query: SpatiaLite has no form for it."""
    from cimgen.render.spatialite import unsupported_constructs

    return "raster" in unsupported_constructs(query, schema)


def _bench_one(
    candidate: Candidate,
    schema: Any,
    tallies: dict[str, Tally],
    parsers: dict[str, Callable[[str], str | None]],
    runners: dict[str, Any],
) -> dict[str, tuple[Any, ...] | None]:
    """Parse and execute one candidate on every backend; the result digests of successes."""
    digests: dict[str, tuple[Any, ...] | None] = {}
    raster = uses_raster(candidate.ast, schema)
    for name, (sql, seconds, why) in _render_timed(candidate, schema).items():
        t = tallies[name]
        t.n += 1
        t.raster += raster
        if sql is None:
            t.unsupported += 1
            t.unsupported_reasons[why or "no rendering"] += 1
            continue
        t.rendered += 1
        t.render_s += seconds
        error = parsers[name](sql)
        if error is not None:
            t.errors[f"parse: {error}"] += 1
            continue
        t.parses += 1
        runner = runners.get(name)
        if runner is None:
            continue
        t.executed += 1
        result, problem = runner.run(sql)
        if result.status == OK:
            t.executes += 1
            t.raster_executes += raster
            t.with_rows += bool(result.rows)
            digests[name] = result.digest
        else:
            t.timeouts += result.status == PLANNED
            message = problem.message if hasattr(problem, "message") else str(problem)
            t.errors[message[:200]] += 1
    return digests
