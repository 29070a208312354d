"""What every check sees: the query under check (:class:`Subject`) and the shared
:class:`CheckContext` (schema, engines, diversity state, options)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cimgen import ast
from cimgen.models import Finding, QueryFeatures
from cimgen.schema.model import Schema
from cimgen.scope import Scope, query_scopes

if TYPE_CHECKING:
    from cimgen.engines.duckdb_cluster import ClusterSummary

# Engine outcomes recorded per query. "ok": executed without error; "planned": the engine
# planned (EXPLAIN / prepare) it without error but execution ran past the time limit (the
# query is rejected: SEM003 / PGS003 / SPL003); "not_checkable": the engine lacks
# something the query needs -- never counted as passed.
OK, ERROR, PLANNED, NOT_CHECKABLE = "ok", "error", "planned", "not_checkable"
NO_ERROR = (OK, PLANNED)


@dataclass
class EngineResult:
    """One engine's verdict on one query: status, rows returned, and a result digest
    (row count + column sums) used to compare engines."""

    status: str
    rows: int | None = None
    digest: tuple[Any, ...] | None = None
    sqlstate: str | None = None
    reason: str | None = None  # why it did not execute: set for every status but "ok"
    # The result's profile, taken only when asked (generated candidates) and judged by
    # cimgen.check.result on the engine that counts: rows of the result (its first
    # REPEAT_WINDOW rows) identical to an earlier row -- a join that multiplies rows the
    # SELECT list cannot tell apart (RES002) -- and output columns (0-based) holding one
    # value on every row of a result of 2+ rows: an ordering by them means nothing (RES003)
    repeats: int | None = None
    constant: tuple[int, ...] = ()
    # What each window clustering the engine computed made of its rows (DuckDB: the
    # cimgen_cluster UDF, cimgen.engines.duckdb_cluster); judged by RES004-RES006
    clusters: tuple[ClusterSummary, ...] = ()

    @property
    def executed(self) -> bool:
        """Ran to the end with a result (not only planned, not EXPLAIN only)."""
        return self.status == OK and self.rows is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status}
        if self.rows is not None:
            out["rows"] = self.rows
        if self.sqlstate:
            out["sqlstate"] = self.sqlstate
        if self.reason:
            out["reason"] = self.reason
        if self.repeats:
            out["repeats"] = self.repeats
        if self.clusters:
            out["clusters"] = [c.to_dict() for c in self.clusters]
        return out


@dataclass
class Subject:
    """A query being checked. Checks fill in what later checks need (the parsed AST, the
    DuckDB rendering, engine results); ``structure`` is set for generated candidates."""

    sql: str
    query: ast.Query | None = None
    sql_duckdb: str | None = None
    duckdb_unsupported: str | None = None
    sql_spatialite: str | None = None
    spatialite_unsupported: str | None = None
    structure: QueryFeatures | None = None
    features: QueryFeatures | None = None
    engines: dict[str, EngineResult] = field(default_factory=dict)
    fingerprint: str | None = None
    parsed: bool = False
    # PostgreSQL's parse tree (the SelectStmt body, pglast JSON) of ``sql``, kept by the
    # postgres_parse check so the complexity check does not parse the same text again
    pg_select: dict[str, Any] | None = None
    # structure features the expansion recorded as relaxed (EXP010): not CPX001 errors
    relaxed: frozenset[str] = frozenset()
    # Derived once per query and read by every rule that asks, each beside the query it
    # belongs to: the scope of every SELECT block (:func:`block_scopes`) and the purpose
    # rules' blocks built on them (cimgen.check.purpose)
    scopes: tuple[ast.Query, dict[int, Scope]] | None = field(
        default=None, repr=False, compare=False
    )
    blocks: tuple[ast.Query, tuple[Any, ...]] | None = field(
        default=None, repr=False, compare=False
    )


def block_scopes(subject: Subject, schema: Schema) -> dict[int, Scope]:
    """The scope of every SELECT block of the subject's query, keyed by ``id(select)``
    (:func:`cimgen.scope.query_scopes`), resolved once per query: the static and purpose
    rules all read the same scopes (issue 16: each rule resolved the names again)."""
    query = subject.query
    if query is None:
        return {}
    if subject.scopes is None or subject.scopes[0] is not query:
        subject.scopes = (query, query_scopes(query, schema))
    return subject.scopes[1]


@dataclass
class CheckOptions:
    """Check settings (documented defaults; overridable from a config file)."""

    timeout_s: float = 2.0  # time limit per query per engine; past it: rejected
    execute_duckdb: bool = True
    # the dataset's target dialect: "postgis", or "spatialite" (then every accepted row
    # must have run on SpatiaLite; otherwise SpatiaLite runs for the record only)
    dialect: str = "postgis"
    # the grammar file the grammar check parses with (None: the bundled one)
    grammar: Path | None = None
    execute_postgis: bool = True  # False: EXPLAIN only (--no-execute)
    shape_cap: int = 50
    agreement_tolerance: float = 0.005


@dataclass
class CheckContext:
    schema: Schema
    options: CheckOptions = field(default_factory=CheckOptions)
    duckdb: Any = None  # cimgen.check.execute.DuckDBRunner
    postgis: Any = None  # cimgen.check.execute.PostgisRunner
    spatialite: Any = None  # cimgen.check.execute.SpatialiteRunner
    diversity: Any = None  # cimgen.check.diversity.DiversityState


Check = Callable[[Subject, CheckContext], list[Finding]]


def counting_engine(engines: dict[str, EngineResult], dialect: str = "postgis") -> str | None:
    """The engine whose result counts (its rows are the record's result, its profile is
    judged by the result checks): SpatiaLite for the SpatiaLite dialect; otherwise PostGIS
    when it executed the query, else DuckDB. None when none of them executed it."""
    order = ("spatialite",) if dialect == "spatialite" else ("postgis", "duckdb")
    for engine in order:
        r = engines.get(engine)
        if r is not None and r.executed:
            return engine
    return None
