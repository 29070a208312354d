"""The per-structure work of ``cimgen generate``: expand, render, question, and every check
except diversity (which depends on what was accepted before, so it runs in order in the
main process). Runs in worker processes; each worker opens its own read-only DuckDB
connection, a read-only SpatiaLite connection when SpatiaLite is on (``spatialite``), and
a PostGIS connection when one is given.

The randomness of structure ``index`` is its own stream of the run seed
(:func:`cimgen.seeds.expansion_rng`): the output is the same whatever the number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from cimgen import seeds
from cimgen.check import (
    CHECK_NAMES,
    CheckContext,
    CheckOptions,
    DuckDBRunner,
    PostgisRunner,
    SpatialiteRunner,
    Subject,
)
from cimgen.check import run_checks as _run_checks
from cimgen.check.base import EngineResult, counting_engine
from cimgen.check.execute import RENDER_DEFECT, render_defect
from cimgen.codes import SYN003, finding
from cimgen.models import Candidate, Finding, QueryFeatures
from cimgen.schema.model import Schema

# every registered check but diversity, which the driver decides in index order (pipeline.py);
# derived from the registry so that a new rule cannot be left out of generation
_CHECKS_IN_WORKER = tuple(name for name in CHECK_NAMES if name != "diversity")


@dataclass(frozen=True)
class WorkerSpec:
    """Everything a worker needs to rebuild its state (picklable)."""

    schema: Schema
    context: Any  # cimgen.expand.context.ExpansionContext
    seed: int
    fixture_seed: int
    check_options: CheckOptions
    postgis_dsn: str | None = None
    plant: Any = None  # cimgen.fixtures.Planting of the corpus, when one was planted
    spatialite: bool = False  # execute SpatiaLite renderings (the fixture file is built)


@dataclass
class Outcome:
    """What a worker learned about one structure."""

    index: int
    structure: QueryFeatures
    candidate: Candidate | None
    findings: list[Finding] = field(default_factory=list)
    engines: dict[str, EngineResult] = field(default_factory=dict)
    fingerprint: str | None = None
    features: QueryFeatures | None = None

    def result(self, dialect: str = "postgis") -> tuple[str | None, int | None]:
        """The engine whose result counts (SpatiaLite for the SpatiaLite dialect; PostGIS
        when it executed the query, else DuckDB) and the rows it returned; (None, None)
        when no engine executed it."""
        engine = counting_engine(self.engines, dialect)
        return (engine, self.engines[engine].rows) if engine is not None else (None, None)


_STATE: dict[str, Any] = {}
# DuckDB answers a worker keeps (DuckDBRunner's memo): ~0.3 KB each. In the default job
# (50,000 rows, two workers) 20,000 keep 99 % of the repeats an unbounded memo would find
REMEMBERED = 20_000


def init_worker(spec: WorkerSpec) -> None:
    """Open the engines once per worker process."""
    from cimgen.engines.duckdb import open_fixture

    con = open_fixture(spec.schema, spec.fixture_seed, plant=spec.plant)
    # one thread: one worker per core; the answers of the last REMEMBERED distinct queries
    # kept, as a worker meets the same SQL again (duplicates the driver rejects later)
    duck = DuckDBRunner(con, spec.check_options.timeout_s, remember=REMEMBERED)
    postgis = None
    if spec.postgis_dsn:
        from cimgen.engines.postgis import connect

        postgis = PostgisRunner(
            connect(spec.postgis_dsn),
            spec.check_options.timeout_s,
            spec.check_options.execute_postgis,
        )
    lite = None
    if spec.spatialite:
        from cimgen.engines import spatialite

        lite = SpatialiteRunner(
            spatialite.open_fixture(spec.schema, spec.fixture_seed, plant=spec.plant),
            spec.check_options.timeout_s,
        )
    _STATE["spec"] = spec
    _STATE["checks"] = CheckContext(
        spec.schema, spec.check_options, duckdb=duck, postgis=postgis, spatialite=lite
    )


def close_worker() -> None:
    ctx: CheckContext | None = _STATE.pop("checks", None)
    if ctx is not None:
        ctx.duckdb.con.close()
        if ctx.spatialite is not None:
            ctx.spatialite.close()
        if ctx.postgis is not None:
            ctx.postgis.conn.close()


def work_one(index: int, structure: QueryFeatures) -> Outcome:
    from cimgen.expand import make_candidate

    spec: WorkerSpec = _STATE["spec"]
    rng = seeds.expansion_rng(spec.seed, index)
    made = make_candidate(structure, spec.context, rng, index)
    if not isinstance(made, Candidate):
        return Outcome(index, structure, None, findings=list(made.findings))
    defects = made.render_defects  # a renderer bug rejects the candidate (RND001)
    subject = Subject(
        sql=made.sql_postgis,
        sql_duckdb=made.sql_duckdb,
        duckdb_unsupported=made.unsupported.get("duckdb")
        or (RENDER_DEFECT if "duckdb" in defects else None),
        sql_spatialite=made.sql_spatialite,
        spatialite_unsupported=made.unsupported.get("spatialite")
        or (RENDER_DEFECT if "spatialite" in defects else None),
        structure=structure,
        relaxed=frozenset(made.relaxed),
    )
    findings = list(made.findings)  # expansion warnings (a relaxed secondary feature)
    findings += [render_defect(backend, trace) for backend, trace in sorted(defects.items())]
    findings += _run_checks(subject, _STATE["checks"], only=_CHECKS_IN_WORKER)
    if subject.query is not None and subject.query != made.ast:
        findings.append(
            finding(
                SYN003,
                "round trip: the SQL parses to a different AST than the one it was rendered from",
                "warning",
            )
        )
    # the main process needs the candidate's strings and labels, not its AST: dropping it
    # keeps the pickle sent back per outcome small
    return Outcome(
        index,
        structure,
        replace(made, ast=None),
        findings,
        subject.engines,
        subject.fingerprint,
        subject.features,
    )


def work_chunk(items: list[tuple[int, QueryFeatures]]) -> list[Outcome]:
    return [work_one(index, structure) for index, structure in items]
