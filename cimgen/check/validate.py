"""Execution checks for ``cimgen validate --execute duckdb|postgis`` on any Stage 1 or
Stage 2 corpus: execution on the chosen engines (the static rules run on every query, with
or without --execute: :func:`cimgen.grammar.validate.check_query`), with pass rates (NoErr)
per engine, totals per finding code and per sql_type.

PostGIS is tried on **every** query, including those the grammar rejects, so its pass rate
is comparable with an independent run over the same corpus. DuckDB needs the AST to render
its dialect: a query that does not parse counts as a DuckDB error; one using what DuckDB
lacks (rasters) is "not checkable" and left out of DuckDB's rate.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from cimgen import ast
from cimgen.check import CheckContext, CheckOptions, DuckDBRunner, PostgisRunner, Subject
from cimgen.check import run_checks as _run_checks
from cimgen.check.base import ERROR, NO_ERROR, NOT_CHECKABLE, OK, PLANNED, EngineResult
from cimgen.grammar.validate import QueryItem, ValidationReport
from cimgen.models import Finding
from cimgen.schema.model import Schema

ENGINES = ("duckdb", "postgis")


@dataclass
class ExecutionChecks:
    """A validate check (``(item, ast | None) -> findings``) that records engine results."""

    schema: Schema
    engines: tuple[str, ...]
    options: CheckOptions
    duckdb: DuckDBRunner | None = None
    postgis: PostgisRunner | None = None
    results: dict[int, tuple[str | None, dict[str, EngineResult]]] = field(default_factory=dict)

    def __call__(self, item: QueryItem, query: ast.Query | None) -> list[Finding]:
        ctx = CheckContext(self.schema, self.options, duckdb=self.duckdb, postgis=self.postgis)
        subject = Subject(item.sql, query=query, parsed=True)
        findings: list[Finding] = []
        if self.duckdb is not None:
            if query is None:
                subject.engines["duckdb"] = EngineResult(
                    ERROR, reason="not in the grammar: no AST to render for DuckDB"
                )
            else:
                findings += _run_checks(subject, ctx, only=("duckdb",))
        if self.postgis is not None:
            findings += _run_checks(subject, ctx, only=("postgis",))
        self.results[item.index] = (item.sql_type, dict(subject.engines))
        return findings

    def summary(self, report: ValidationReport) -> dict[str, Any]:
        """``engines``, ``per_check`` and ``per_sql_type`` figures for the JSON report."""
        engines: dict[str, dict[str, Any]] = {}
        for name in self.engines:
            statuses = [r[1][name].status for r in self.results.values() if name in r[1]]
            n = sum(1 for s in statuses if s != NOT_CHECKABLE)
            ok = sum(1 for s in statuses if s in NO_ERROR)
            engines[name] = {
                "n": n,
                "ok": ok,
                "ok_pct": round(100.0 * ok / n, 2) if n else None,
                "executed": statuses.count(OK),
                "planned": statuses.count(PLANNED),
                "not_checkable": statuses.count(NOT_CHECKABLE),
            }
        per_check: Counter[str] = Counter()
        per_type: dict[str, Counter[str]] = defaultdict(Counter)
        for result in report.results:
            per_check.update({f.code for f in result.findings if f.severity == "error"})
            sql_type, engine_results = self.results.get(result.index, (None, {}))
            c = per_type[sql_type or "UNKNOWN"]
            c["n"] += 1
            c["valid"] += int(result.valid)
            for name, r in engine_results.items():
                c[f"{name}_n"] += int(r.status != NOT_CHECKABLE)
                c[f"{name}_ok"] += int(r.status in NO_ERROR)
        types = {
            t: {
                "n": c["n"],
                "valid": c["valid"],
                **{
                    f"{e}_ok_pct": round(100.0 * c[f"{e}_ok"] / c[f"{e}_n"], 2)
                    if c[f"{e}_n"]
                    else None
                    for e in self.engines
                },
            }
            for t, c in sorted(per_type.items())
        }
        return {
            "engines": engines,
            "per_check": dict(per_check.most_common()),
            "per_sql_type": types,
        }

    def row_counts(self, index: int) -> dict[str, Any]:
        _, engine_results = self.results.get(index, (None, {}))
        return {name: r.to_dict() for name, r in engine_results.items()}
