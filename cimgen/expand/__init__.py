"""Expansion: a sampled structure vector becomes a purposeful query AST on the user's data.

>>> import random
>>> from cimgen.schema.load import load_schema
>>> ctx = ExpansionContext.for_fixture(load_schema("cim_wizard"))
>>> e = expand(QueryFeatures(join_count=1, table_count=2, schema_count=1), ctx,
...            random.Random(0))
>>> e.query is not None, e.shape.join_count, e.shape.table_count
(True, 1, 2)

Every predicate holds for a pivot row of the data (so results are not empty by
construction), every table in FROM contributes to the answer, functions fit the geometry
they get, and literals come from the live database, the Stage 1 corpus or the fixture, in
that order. The structure's counts and labels are honoured when a purposeful query can
have them; otherwise the closest attempt is kept and what was relaxed is recorded
(``EXP010`` counts, ``EXP011`` sql_type). See docs/expansion.md.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from cimgen import ast
from cimgen.codes import EXP001, EXP002, EXP009, EXP010, EXP011, finding
from cimgen.expand.build import Builder
from cimgen.expand.context import ExpansionContext, JoinPath
from cimgen.expand.frame import BuildError
from cimgen.expand.layout import label_room
from cimgen.expand.multiply import Links
from cimgen.expand.observe import Shape, observe
from cimgen.expand.steps import run_steps
from cimgen.models import FIDELITY_COUNTS, SET_OPERATIONS, Candidate, Finding, QueryFeatures

ATTEMPTS = 14  # the last few drop the sql_type's needs
_SECONDARY = (
    "aggregation",
    "order_limit",
    "set_operation",
    "has_window",
    "primary_function_category",
)


@dataclass(frozen=True)
class Expansion:
    query: ast.Query | None
    findings: tuple[Finding, ...] = ()
    shape: Shape | None = None

    @property
    def relaxed(self) -> frozenset[str]:
        """Features the expansion recorded as relaxed (EXP010 / EXP011 warnings)."""
        out = set()
        for f in self.findings:
            if f.code in (EXP010, EXP011) and f.severity == "warning":
                out.add(f.message.split(":", 1)[0].replace("relaxed ", ""))
        return frozenset(out)


def _impossible(s: QueryFeatures, ctx: ExpansionContext) -> Finding | None:
    """Counts no query can have on this schema (EXP001 / EXP009)."""
    if s.schema_count > s.table_count or s.schema_count < 1 or s.table_count < 1:
        return finding(
            EXP009,
            "inconsistent structure: schema_count must be between 1 and table_count",
        )
    if s.set_operation not in SET_OPERATIONS:
        return finding(EXP009, f"set_operation {s.set_operation} is not a set operation")
    n_schemas = len({t.schema for t in ctx.tables})
    if s.schema_count > n_schemas:
        return finding(
            EXP001,
            f"schema_count {s.schema_count} but the schema has only {n_schemas} schema(s)",
        )
    return None


def _miss(s: QueryFeatures, shape: Shape) -> list[str]:
    return [n for n in FIDELITY_COUNTS if getattr(s, n) != getattr(shape, n)]


def _rank(s: QueryFeatures, shape: Shape) -> tuple[int, int, int]:
    counts = sum(abs(getattr(s, n) - getattr(shape, n)) for n in FIDELITY_COUNTS)
    label = int(shape.sql_type != s.sql_type)
    secondary = sum(getattr(s, n) != getattr(shape, n) for n in _SECONDARY)
    return counts, label, secondary


def _plan(
    structure: QueryFeatures, room: QueryFeatures | None, certain: bool
) -> list[tuple[QueryFeatures, bool]]:
    """The attempts: (structure to build, honour its label); the last few never honour
    the label (the closest query when its needs cannot be met)."""
    honoured = ATTEMPTS - 4
    if room is None:
        first = [(structure, True)] * honoured
    elif certain:
        first = [(room, True)] * honoured
    else:
        first = [(structure, True)] * (honoured // 2) + [(room, True)] * (honoured // 2)
    return first + [(structure, False)] * (ATTEMPTS - honoured)


# structure feature -> (value that needs no construct, the constructs any one of which it needs)
_NEEDS: dict[str, tuple[object, tuple[str, ...]]] = {
    "cte_count": (0, ("cte",)),
    "subquery_count": (0, ("scalar_subquery", "exists", "in_subquery", "derived_table")),
    "has_window": (False, ("window",)),
}
_SET_CONSTRUCT = {"UNION": "union", "UNION_ALL": "union", "INTERSECT": "intersect"}


def fit_to_grammar(
    structure: QueryFeatures, ctx: ExpansionContext
) -> tuple[QueryFeatures, list[Finding]]:
    """``structure`` without what the loaded grammar cannot write (a CTE count where it has
    no WITH, a window where it has no OVER, ...), and one EXP010 warning per feature so
    relaxed: the expander then builds what the grammar admits instead of attempts the
    grammar check would reject.

    >>> from cimgen.expand.context import ExpansionContext
    >>> ctx = ExpansionContext.__new__(ExpansionContext)
    >>> object.__setattr__(ctx, "constructs", frozenset({"order_by", "limit"}))
    >>> fitted, why = fit_to_grammar(QueryFeatures(cte_count=1, has_window=True), ctx)
    >>> fitted.cte_count, fitted.has_window, len(why)
    (0, False, 2)
    """
    changes: dict[str, object] = {}
    for name, (plain, needs) in _NEEDS.items():
        if getattr(structure, name) != plain and not any(c in ctx.constructs for c in needs):
            changes[name] = plain
    op = structure.set_operation
    if op != "NONE" and _SET_CONSTRUCT.get(op, "except") not in ctx.constructs:
        changes["set_operation"] = "NONE"
    order = "order_by" in ctx.constructs and "ORDER" in structure.order_limit
    limit = "limit" in ctx.constructs and "LIMIT" in structure.order_limit
    order_limit = {(False, False): "NONE", (True, False): "ORDER", (False, True): "LIMIT"}.get(
        (order, limit), "ORDER_LIMIT"
    )
    if order_limit != structure.order_limit:
        changes["order_limit"] = order_limit
    if not changes:
        return structure, []
    findings = [
        finding(
            EXP010,
            f"relaxed {name}: asked {getattr(structure, name)}, the grammar allows {value}",
            "warning",
        )
        for name, value in changes.items()
    ]
    return replace(structure, **changes), findings  # type: ignore[arg-type]


def expand(structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random) -> Expansion:
    """Build the query that best honours ``structure`` (see the module docstring)."""
    bad = _impossible(structure, ctx)
    if bad:
        return Expansion(None, (bad,))
    asked = structure
    structure, fitted = fit_to_grammar(structure, ctx)
    best: tuple[tuple[int, int, int], ast.Query, Shape] | None = None
    last = "no attempt"
    # counts that leave the label no room give way to it (layout.label_room): then the
    # label ranks first, and an attempt on the relaxed structure follows the attempts on
    # the sampled one (which may still fit, unless the rule excludes it)
    room, certain = label_room(structure)
    plan = _plan(structure, room, certain)
    for target, honour in plan:
        try:
            query = Builder(target, ctx, rng, honour).build()
            # the post-attempt steps (steps.STEPS), with the attempt's reading of the tree
            query = run_steps(query, Links(ctx))
        except BuildError as exc:
            last = str(exc)
            continue
        refused = ctx.refusal(query)
        if refused is not None:  # the grammar or catalogue lacks something it uses
            last = refused
            continue
        shape = observe(query, ctx.schema, ctx.catalogue)
        rank = _rank(structure, shape)
        if room is not None:
            rank = (rank[1], rank[0], rank[2])
        if best is None or rank < best[0]:
            best = (rank, query, shape)
        if _rank(target, shape) == (0, 0, 0) or (rank[0] + rank[1] == 0 and rank[2] <= 1):
            break
    if best is None:
        return Expansion(None, (finding(EXP002, f"no purposeful query fits: {last}"),))
    _, query, shape = best
    findings = [f for f in fitted if f.message.split(":", 1)[0][8:] not in FIDELITY_COUNTS]
    structure = asked
    for name in _miss(structure, shape):
        findings.append(
            finding(
                EXP010,
                f"relaxed {name}: asked {getattr(structure, name)}, built {getattr(shape, name)}",
                "warning",
            )
        )
    if shape.sql_type != structure.sql_type:
        findings.append(
            finding(
                EXP011,
                f"relaxed sql_type: asked {structure.sql_type}, built {shape.sql_type}",
                "warning",
            )
        )
    return Expansion(query, tuple(findings), shape)


def tables_and_functions(
    query: ast.Query, ctx: ExpansionContext
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Base tables (schema.table) and spatial function names used, sorted (one walk)."""
    tables, funcs = set(), set()
    stack: list[object] = [query]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.TableRef):
            if n.schema:
                tables.add(n.qualified)
            continue
        if isinstance(n, ast.FuncCall) and ctx.catalogue.is_spatial(n.name):
            funcs.add(n.name)
        stack.extend(ast.children(n))
    return tuple(sorted(tables)), tuple(sorted(funcs))


def query_tables(query: ast.Query, ctx: ExpansionContext) -> tuple[str, ...]:
    return tables_and_functions(query, ctx)[0]


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
        relaxed=tuple(sorted(e.relaxed)),
        render_defects={k: r.defect for k, r in rendered.items() if r.defect},
    )


def _describe(
    query: ast.Query, structure: QueryFeatures, ctx: ExpansionContext, rng: random.Random
) -> tuple[str, str]:
    from cimgen.question import ask, instruction

    question = ask(query, ctx.schema, structure.question_tone, rng)
    return question, instruction(question, ctx.schema)


__all__ = ["BuildError", "Expansion", "ExpansionContext", "JoinPath", "expand", "make_candidate"]
