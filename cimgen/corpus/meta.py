"""Record metadata derived from a query's parse tree (pglast, the PostgreSQL parser).

Deriving tables, functions and structure flags from the SQL itself -- instead of writing
them by hand next to each template -- keeps them true: ``database_schema.tables`` lists the
base tables the query reads (never aliases, columns or functions).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pglast
from pglast import ast, visitors

from cimgen.catalogue import load_catalogue

_ADVANCED_CATEGORIES = {"raster", "clustering"}


@dataclass
class SqlFacts:
    tables: list[str] = field(default_factory=list)  # schema.table, first-use order
    columns: list[str] = field(default_factory=list)  # schema.table.column
    functions: list[str] = field(default_factory=list)  # canonical names, first-use order
    spatial_functions: list[str] = field(default_factory=list)
    cte_count: int = 0
    subquery_count: int = 0  # sublinks (scalar, IN, EXISTS) + derived tables
    join_count: int = 0
    spatial_join: bool = False
    cross_join: bool = False
    has_aggregation: bool = False
    has_window: bool = False
    set_operation: str | None = None
    has_order_by: bool = False
    has_limit: bool = False


class _Collector(visitors.Visitor):
    def __init__(self) -> None:
        self.facts = SqlFacts()
        self.aliases: dict[str, str] = {}
        self.column_refs: list[tuple[str, str]] = []
        self.cat = load_catalogue()

    def visit_RangeVar(self, ancestors: Any, node: Any) -> None:
        if not node.schemaname:
            return  # a CTE reference
        qualified = f"{node.schemaname}.{node.relname}"
        if qualified not in self.facts.tables:
            self.facts.tables.append(qualified)
        alias = node.alias.aliasname if node.alias else node.relname
        self.aliases[alias] = qualified

    def visit_ColumnRef(self, ancestors: Any, node: Any) -> None:
        names = [f.sval for f in node.fields if isinstance(f, ast.String)]
        if len(names) == 2:
            self.column_refs.append((str(names[0]), str(names[1])))

    def visit_FuncCall(self, ancestors: Any, node: Any) -> None:
        name = node.funcname[-1].sval
        fn = self.cat.get(name)
        canonical = self.cat.canonical_name(name)
        if canonical not in self.facts.functions:
            self.facts.functions.append(canonical)
        if fn is not None and fn.spatial:
            self.facts.spatial_functions.append(canonical)
        if node.over is not None:
            self.facts.has_window = True
        elif (fn is not None and fn.is_aggregate_call(len(node.args or ()))) or node.agg_star:
            self.facts.has_aggregation = True

    def visit_CommonTableExpr(self, ancestors: Any, node: Any) -> None:
        self.facts.cte_count += 1

    def visit_SubLink(self, ancestors: Any, node: Any) -> None:
        self.facts.subquery_count += 1

    def visit_RangeSubselect(self, ancestors: Any, node: Any) -> None:
        self.facts.subquery_count += 1

    def visit_JoinExpr(self, ancestors: Any, node: Any) -> None:
        self.facts.join_count += 1
        if node.quals is None:
            self.facts.cross_join = True
        elif _calls_spatial(node.quals, self.cat):
            self.facts.spatial_join = True

    def visit_SelectStmt(self, ancestors: Any, node: Any) -> None:
        if node.groupClause:
            self.facts.has_aggregation = True
        if node.fromClause and len(node.fromClause) > 1:  # FROM a, b: an implicit cross join
            self.facts.join_count += len(node.fromClause) - 1
            self.facts.cross_join = True


def _calls_spatial(node: Any, cat: Any) -> bool:
    found = False

    class _V(visitors.Visitor):
        def visit_FuncCall(self, ancestors: Any, n: Any) -> None:
            nonlocal found
            found = found or cat.is_spatial(n.funcname[-1].sval)

    _V()(node)
    return found


def analyse(sql: str) -> SqlFacts:
    """Parse ``sql`` (one statement) and collect its facts; raises pglast's ParseError."""
    tree = pglast.parse_sql(sql)
    collector = _Collector()
    root: Any = tree[0].stmt
    collector(root)
    facts = collector.facts
    if isinstance(root, ast.SelectStmt):  # statement-level clauses only, not subqueries
        if root.op is not None and root.op.name != "SETOP_NONE":
            facts.set_operation = root.op.name.removeprefix("SETOP_") + ("_ALL" if root.all else "")
        facts.has_order_by = bool(root.sortClause)
        facts.has_limit = root.limitCount is not None
    facts.columns = sorted(
        {f"{collector.aliases[a]}.{c}" for a, c in collector.column_refs if a in collector.aliases}
    )
    return facts


# --------------------------------------------------------------------------- labels


def _bucket(n: int, top: int) -> str:
    return f"{top}+" if n >= top else str(n)


def spatial_complexity(facts: SqlFacts) -> str:
    cats = {load_catalogue().get(f).category for f in facts.spatial_functions}  # type: ignore[union-attr]
    distinct = len(set(facts.spatial_functions))
    if cats & _ADVANCED_CATEGORIES or distinct >= 5:
        return "ADVANCED"
    if distinct >= 2 or facts.spatial_join:
        return "INTERMEDIATE"
    return "BASIC"


def schema_complexity(facts: SqlFacts) -> str:
    schemas = {t.split(".")[0] for t in facts.tables}
    if len(schemas) > 1:
        return "MULTI_SCHEMA"
    return "SINGLE_TABLE" if len(facts.tables) == 1 else "SINGLE_SCHEMA"


def complexity_score(facts: SqlFacts) -> int:
    """0..10: joins, CTEs, subqueries, distinct spatial functions, aggregation, windows."""
    score = (
        facts.join_count
        + 2 * facts.cte_count
        + facts.subquery_count
        + (len(set(facts.spatial_functions)) + 1) // 2
        + int(facts.has_aggregation)
        + 2 * int(facts.has_window)
        + int(facts.set_operation is not None)
    )
    return min(10, score)


def difficulty(facts: SqlFacts, level: str) -> dict[str, Any]:
    return {
        "query_complexity": level,
        "spatial_complexity": spatial_complexity(facts),
        "schema_complexity": schema_complexity(facts),
        "function_count": _bucket(len(set(facts.spatial_functions)), 3),
        "join_count": _bucket(facts.join_count, 2),
        "complexity_score": complexity_score(facts),
        "overall_difficulty": level,
    }


def taxonomy(facts: SqlFacts, sql_type: str) -> dict[str, Any]:
    if facts.spatial_join:
        join_type = "spatial"
    elif facts.cross_join:
        join_type = "cross"
    elif facts.join_count:
        join_type = "standard"
    else:
        join_type = "none"
    return {
        "operation_type": sql_type,
        "has_cte": facts.cte_count > 0,
        "has_subquery": facts.subquery_count > 0,
        "has_aggregation": facts.has_aggregation,
        "has_window_function": facts.has_window,
        "set_operation": facts.set_operation or "NONE",
        "join_type": join_type,
    }


def limit_strategy(facts: SqlFacts) -> str:
    if facts.has_limit:
        return "TOP_N" if facts.has_order_by else "SAMPLE_N"
    return "ORDERED_ONLY" if facts.has_order_by else "FULL_RESULTS"
