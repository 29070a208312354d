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
from cimgen.models import Candidate, Finding, QueryFeatures

STAGE = "expand"


@dataclass(frozen=True)
class Expansion:
    query: ast.Query | None
    findings: tuple[Finding, ...] = ()


def _consistency(s: QueryFeatures) -> Finding | None:
    """Structures that no query can realise, whatever the schema (EXP009)."""
    problems = []
    if (s.primary_function_category == "none") != (s.spatial_function_count == 0):
        problems.append("primary_function_category 'none' iff spatial_function_count 0")
    if s.sql_type == "SPATIAL_CLUSTERING" and not s.has_window:
        problems.append("SPATIAL_CLUSTERING needs has_window (clustering is a window function)")
    if s.sql_type == "NESTED_QUERY" and s.cte_count + s.subquery_count == 0:
        problems.append("NESTED_QUERY needs a CTE or a subquery")
    if s.sql_type == "MULTI_JOIN" and s.join_count < 2:
        problems.append("MULTI_JOIN needs join_count >= 2")
    if s.sql_type == "AGGREGATION" and s.aggregation == "NONE":
        problems.append("AGGREGATION needs aggregation other than NONE")
    if s.sql_type == "SPATIAL_JOIN" and s.join_count == 0:
        problems.append("SPATIAL_JOIN needs a join")
    if s.schema_count > s.table_count or s.schema_count < 1:
        problems.append("schema_count must be between 1 and table_count")
    if s.set_operation not in ("NONE", "UNION", "UNION_ALL"):
        problems.append(f"set_operation {s.set_operation} is not generated (UNION / UNION ALL)")
    if problems:
        return Finding("EXP009", STAGE, "inconsistent structure: " + "; ".join(problems))
    return None


def expand(structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random) -> Expansion:
    """Build a query AST with exactly the structure's counts, or findings saying why not."""
    bad = _consistency(structure)
    if bad:
        return Expansion(None, (bad,))
    last: PlanError | None = None
    for _ in range(6):
        try:
            plan = make_plan(structure, ctx, rng)
            return Expansion(Builder(structure, ctx, rng, plan).build())
        except PlanError as exc:
            last = exc
            if exc.code in ("EXP001", "EXP004"):
                break
    assert last is not None
    return Expansion(None, (Finding(last.code, STAGE, str(last)),))


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
    )


def _describe(
    query: ast.Query, structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random
) -> tuple[str, str]:
    from cimgen.expand.question import describe

    return describe(query, structure, ctx.schema, rng)


__all__ = ["Expansion", "ExpansionContext", "JoinPath", "expand", "make_candidate"]
