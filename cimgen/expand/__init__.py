"""Expansion: a sampled structure vector becomes a query AST under schema constraints.

>>> import random
>>> from cimgen.schema.load import load_schema
>>> ctx = ExpansionContext.build(load_schema("cim_wizard"))
>>> e = expand(QueryFeatures(join_count=1, table_count=2, schema_count=1), ctx,
...            random.Random(0))
>>> e.query is not None and not e.findings
True

See docs/expansion.md for how the counts are laid out and the EXP finding codes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from cimgen import ast
from cimgen.expand.build import Builder
from cimgen.expand.context import ExpansionContext, JoinPath
from cimgen.expand.plan import PlanError, make_plan
from cimgen.expand.state import primary
from cimgen.models import SET_OPERATIONS, Candidate, Finding, QueryFeatures

STAGE = "expand"


@dataclass(frozen=True)
class Expansion:
    query: ast.Query | None
    findings: tuple[Finding, ...] = ()


def _impossible(s: QueryFeatures) -> Finding | None:
    """Structures whose counts no query can have, whatever the schema (EXP009)."""
    problems = []
    if s.schema_count > s.table_count or s.schema_count < 1:
        problems.append("schema_count must be between 1 and table_count")
    if s.set_operation not in SET_OPERATIONS:
        problems.append(f"set_operation {s.set_operation} is not a set operation")
    if problems:
        return Finding("EXP009", STAGE, "inconsistent structure: " + "; ".join(problems))
    return None


def _label_conflicts(s: QueryFeatures) -> list[str]:
    """Secondary features that contradict each other: the counts can still be built, but
    not every label can hold (the expansion starts relaxed and says so)."""
    problems = []
    if (s.primary_function_category == "none") != (s.spatial_function_count == 0):
        problems.append("primary_function_category 'none' iff spatial_function_count 0")
    if s.sql_type == "SPATIAL_CLUSTERING" and not s.has_window:
        problems.append("SPATIAL_CLUSTERING without has_window")
    if s.sql_type == "NESTED_QUERY" and s.cte_count + s.subquery_count == 0:
        problems.append("NESTED_QUERY without a CTE or a subquery")
    if s.sql_type == "MULTI_JOIN" and s.join_count < 2:
        problems.append("MULTI_JOIN with join_count < 2")
    if s.sql_type == "AGGREGATION" and s.aggregation == "NONE":
        problems.append("AGGREGATION with aggregation NONE")
    if s.sql_type == "SPATIAL_JOIN" and s.join_count == 0:
        problems.append("SPATIAL_JOIN without a join")
    return problems


# plans tried per relaxation level: exact, no sql_type needs, any primary category,
# any spatial call count. The five fidelity counts are never relaxed.
_TRIES = (3, 2, 2, 2)
_RELAXED = (
    "",
    "the sql_type's needs (raster table, spatial join, measurement / clustering call)",
    "the primary function category",
    "the spatial function count",
)


def expand(structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random) -> Expansion:
    """Build a query AST with exactly the structure's five fidelity counts.

    The other features are met exactly when the schema allows; otherwise the expansion
    relaxes them step by step (sql_type needs, primary category, spatial call count) and
    returns the query with a ``warning`` finding naming what was relaxed and why. When
    even the counts cannot be laid out, ``query`` is None with an ``error`` finding.
    """
    bad = _impossible(structure)
    if bad:
        return Expansion(None, (bad,))
    conflicts = _label_conflicts(structure)
    first: PlanError | None = None
    for relax in range(1 if conflicts else 0, len(_TRIES)):
        for _ in range(_TRIES[relax]):
            try:
                plan = make_plan(structure, ctx, rng, relax)
                builder = Builder(structure, ctx, rng, plan, relax)
                query = builder.build()
            except PlanError as exc:
                first = first or exc
                if exc.code == "EXP001":
                    return Expansion(None, (Finding(exc.code, STAGE, str(exc)),))
                if exc.final:
                    break  # no other layout at this level: relax further
                continue
            if not relax:
                return Expansion(query)
            return Expansion(query, (_relaxed(structure, builder, relax, first, conflicts),))
    assert first is not None
    return Expansion(None, (Finding(first.code, STAGE, str(first)),))


def _relaxed(
    s: QueryFeatures, b: Builder, relax: int, why: PlanError | None, conflicts: list[str]
) -> Finding:
    built_n = sum(b.cats.values())
    built_p = primary(b.cats)
    parts = ["relaxed " + ", ".join(_RELAXED[1 : relax + 1])]
    parts.append(f"because {'; '.join(conflicts) if conflicts else why}")
    if built_n != s.spatial_function_count:
        parts.append(f"spatial_function_count asked {s.spatial_function_count}, built {built_n}")
    if built_p != s.primary_function_category:
        parts.append(
            f"primary_function_category asked {s.primary_function_category}, built {built_p}"
        )
    code = why.code if why is not None else "EXP009"
    return Finding(code, STAGE, "; ".join(parts), "warning")


def query_tables(query: ast.Query, ctx: ExpansionContext) -> tuple[str, ...]:
    return tables_and_functions(query, ctx)[0]


def tables_and_functions(
    query: ast.Query, ctx: ExpansionContext
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Base tables (schema.table) and spatial function names used, sorted (one walk)."""
    tables, funcs = set(), set()
    stack: list[object] = [query]
    while stack:  # ast.walk's dataclasses.fields() per node costs more than the expansion
        n = stack.pop()
        if isinstance(n, ast.TableRef):
            if n.schema:
                tables.add(n.qualified)
            continue
        if isinstance(n, ast.FuncCall) and ctx.catalogue.is_spatial(n.name):
            funcs.add(n.name)
        for v in vars(n).values():
            if isinstance(v, tuple):
                stack.extend(x for x in v if hasattr(x, "__dataclass_fields__"))
            elif hasattr(v, "__dataclass_fields__"):
                stack.append(v)
    return tuple(sorted(tables)), tuple(sorted(funcs))


def make_candidate(
    structure: QueryFeatures,
    ctx: ExpansionContext,
    rng: random.Random,
    index: int,
    id_prefix: str = "s2_",
) -> Candidate | Expansion:
    """Expand, render for every backend and describe; an :class:`Expansion` with findings
    when the structure cannot be realised."""
    from cimgen.render import render_all

    e = expand(structure, ctx, rng)
    if e.query is None:
        return e
    rendered = render_all(e.query, ctx.schema)
    question, instruction = _describe(e.query, structure, ctx, rng)
    unsupported = {k: r.unsupported for k, r in rendered.items() if r.unsupported}
    tables, functions = tables_and_functions(e.query, ctx)
    return Candidate(
        id=f"{id_prefix}{index:06d}",
        structure=structure,
        ast=e.query,
        sql_postgis=rendered["postgis"].sql or "",
        sql_duckdb=rendered["duckdb"].sql,
        sql_spatialite=rendered["spatialite"].sql,
        question=question,
        instruction=instruction,
        tables=tables,
        spatial_functions=functions,
        unsupported=unsupported,
        findings=e.findings,
        render_defects={k: r.defect for k, r in rendered.items() if r.defect},
    )


def _describe(
    query: ast.Query, structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random
) -> tuple[str, str]:
    from cimgen.expand.question import describe

    return describe(query, structure, ctx.schema, rng)


__all__ = ["Expansion", "ExpansionContext", "JoinPath", "expand", "make_candidate"]
