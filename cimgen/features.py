"""Structure features of a query, read from PostgreSQL's own parse tree (pglast).

Every count is taken from the parse tree, never from keywords in the text. The exact
definitions live in docs/features.md and are used everywhere: in the Stage 1 features that
train the structure model, and when generated queries are re-extracted to measure fidelity.

Labels (sql_type, difficulty_level, question_tone, usage_frequency) come from the record's
metadata when it has them and are derived from the tree when it does not.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from cimgen.catalogue import SPATIAL_CATEGORIES, Catalogue, load_catalogue
from cimgen.errors import QueryError
from cimgen.models import FEATURE_NAMES, QueryFeatures, Stage1Record
from cimgen.schema.model import Schema

SPATIAL_SQL_TYPES = ("SPATIAL_JOIN", "SPATIAL_MEASUREMENT", "RASTER_VECTOR", "SPATIAL_CLUSTERING")
# labels the sql_type rule (:func:`_derive_sql_type`) gives a query without nesting only
# below two joins (two joins make it MULTI_JOIN)
FLAT_SQL_TYPES = ("SIMPLE_SELECT", "AGGREGATION", "SPATIAL_MEASUREMENT")
_SPATIAL_PREDICATES = {"predicates"}


class SQLParseError(QueryError, ValueError):
    """The SQL is not valid PostgreSQL (pglast rejects it), or is not one SELECT/WITH query.
    (Still a ``ValueError``, as it was before the error root took it in.)"""


# --------------------------------------------------------------------------- derived values


def complexity_score(f: QueryFeatures) -> int:
    """The 0-10 complexity score of a structure (docs/features.md, "complexity_score").

    >>> complexity_score(QueryFeatures(cte_count=1, join_count=2, aggregation="GROUP_BY"))
    5
    """
    raw = (
        2 * f.cte_count
        + f.join_count
        + 2 * f.subquery_count
        + (f.spatial_function_count >= 3)
        + (f.spatial_function_count >= 6)
        + {"NONE": 0, "AGGREGATE": 1, "GROUP_BY": 1, "GROUP_BY_HAVING": 2}.get(f.aggregation, 0)
        + 2 * bool(f.has_window)
        + (f.set_operation != "NONE")
        + max(0, f.schema_count - 1)
    )
    return int(min(10, raw))


def difficulty_for(score: int) -> str:
    """Difficulty level derived from a complexity score (used when a record has none)."""
    if score <= 2:
        return "EASY"
    if score <= 4:
        return "MEDIUM"
    if score <= 7:
        return "HARD"
    return "EXPERT"


def schema_complexity_for(table_count: int, schema_count: int) -> str:
    if table_count <= 1:
        return "SINGLE_TABLE"
    return "SINGLE_SCHEMA" if schema_count <= 1 else "MULTI_SCHEMA"


# --------------------------------------------------------------------------- tree walking


@dataclass
class _Tally:
    ctes: int = 0
    joins: int = 0
    subqueries: int = 0
    predicates: int = 0
    window: bool = False
    spatial_join: bool = False
    raster_table: bool = False
    cte_names: set[str] = field(default_factory=set)
    tables: list[tuple[str | None, str]] = field(default_factory=list)
    spatial_calls: list[str] = field(default_factory=list)


def _node(value: Any) -> tuple[str, dict[str, Any]] | None:
    """``{"SelectStmt": {...}}`` -> ("SelectStmt", {...})."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, body),) = value.items()
        if key[:1].isupper() and isinstance(body, dict):
            return key, body
    return None


def _funcname(body: dict[str, Any]) -> str:
    parts = [p["String"]["sval"] for p in body.get("funcname", []) if "String" in p]
    return parts[-1] if parts else ""


class _Walker:
    def __init__(self, catalogue: Catalogue) -> None:
        self.cat = catalogue
        self.t = _Tally()

    def visit(self, value: Any) -> None:
        if isinstance(value, list):
            for v in value:
                self.visit(v)
            return
        if not isinstance(value, dict):
            return
        named = _node(value)
        if named is None:
            for v in value.values():
                self.visit(v)
            return
        kind, body = named
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(body)
        else:
            for v in body.values():
                self.visit(v)

    def select(self, body: dict[str, Any]) -> None:
        """A SelectStmt body (also the bare dicts of set-operation arms)."""
        for key in ("whereClause", "havingClause"):
            if body.get(key):
                self.t.predicates += _leaf_predicates(body[key])
        where = body.get("whereClause")
        # an implicit spatial join: FROM a, b WHERE ST_Intersects(a.g, b.g)
        if (
            where
            and _several_items(body.get("fromClause") or [])
            and self._relates_two_items(where)
        ):
            self.t.spatial_join = True
        for key, value in body.items():
            if key in ("larg", "rarg") and isinstance(value, dict):
                self.select(value)
            else:
                self.visit(value)

    def _on_SelectStmt(self, body: dict[str, Any]) -> None:
        self.select(body)

    def _on_CommonTableExpr(self, body: dict[str, Any]) -> None:
        self.t.ctes += 1
        self.t.cte_names.add(body.get("ctename", ""))
        self.visit(body.get("ctequery"))

    def _on_JoinExpr(self, body: dict[str, Any]) -> None:
        self.t.joins += 1
        quals = body.get("quals")
        if quals is not None and self._has_spatial_predicate(quals):
            self.t.spatial_join = True
        for v in body.values():
            self.visit(v)

    def _on_RangeSubselect(self, body: dict[str, Any]) -> None:
        self.t.subqueries += 1
        self.visit(body.get("subquery"))

    def _on_SubLink(self, body: dict[str, Any]) -> None:
        self.t.subqueries += 1
        self.visit(body.get("testexpr"))
        self.visit(body.get("subselect"))

    def _on_RangeVar(self, body: dict[str, Any]) -> None:
        self.t.tables.append((body.get("schemaname"), body.get("relname", "")))

    def _on_FuncCall(self, body: dict[str, Any]) -> None:
        name = _funcname(body)
        fn = self.cat.get(name)
        if fn is not None and fn.spatial:
            self.t.spatial_calls.append(fn.category)
        if body.get("over") is not None:
            self.t.window = True
        for key, v in body.items():
            if key != "funcname":
                self.visit(v)

    def _relates_two_items(self, where: Any) -> bool:
        """A spatial predicate among the WHERE conjuncts over columns of two FROM items."""
        stack = [where]
        while stack:
            node = stack.pop()
            named = _node(node)
            if named is None:
                continue
            kind, body = named
            if kind == "BoolExpr" and body.get("boolop") == "AND_EXPR":
                stack.extend(body.get("args", []))
            elif kind == "FuncCall":
                fn = self.cat.get(_funcname(body))
                spatial = fn is not None and fn.spatial and fn.category in _SPATIAL_PREDICATES
                if spatial and len(_qualifiers(body.get("args", []))) >= 2:
                    return True
        return False

    def _has_spatial_predicate(self, expr: Any) -> bool:
        if isinstance(expr, list):
            return any(self._has_spatial_predicate(v) for v in expr)
        if not isinstance(expr, dict):
            return False
        named = _node(expr)
        if named and named[0] == "FuncCall":
            fn = self.cat.get(_funcname(named[1]))
            if fn is not None and fn.spatial and fn.category in _SPATIAL_PREDICATES:
                return True
        if named and named[0] in ("SubLink", "SelectStmt"):
            return False
        return any(self._has_spatial_predicate(v) for v in expr.values())


def _several_items(from_clause: list[Any]) -> bool:
    """Two or more FROM items (a comma list, or a CROSS JOIN)."""
    if len(from_clause) >= 2:
        return True
    stack = list(from_clause)
    while stack:
        named = _node(stack.pop())
        if named and named[0] == "JoinExpr":
            if not named[1].get("quals") and not named[1].get("usingClause"):
                return True
            stack.extend([named[1].get("larg"), named[1].get("rarg")])
    return False


def _qualifiers(value: Any) -> set[str]:
    """Table qualifiers of the column references under ``value`` (not in subqueries)."""
    out: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
            continue
        named = _node(v)
        if named is None:
            if isinstance(v, dict):
                stack.extend(v.values())
            continue
        kind, body = named
        if kind in ("SubLink", "SelectStmt"):
            continue
        if kind == "ColumnRef":
            fields = [f["String"]["sval"] for f in body.get("fields", []) if "String" in f]
            if len(fields) >= 2:
                out.add(fields[0])
            continue
        stack.extend(body.values())
    return out


def _leaf_predicates(expr: Any) -> int:
    """Boolean leaves under AND/OR/NOT (a comparison, IN, EXISTS, a boolean call...)."""
    named = _node(expr)
    if named and named[0] == "BoolExpr":
        return sum(_leaf_predicates(a) for a in named[1].get("args", []))
    return 1


def _outermost_select(stmt: dict[str, Any]) -> dict[str, Any]:
    """The first (leftmost) plain SELECT block of the statement."""
    body = stmt
    while body.get("op", "SETOP_NONE") != "SETOP_NONE" and isinstance(body.get("larg"), dict):
        body = body["larg"]
    return body


def _aggregation(block: dict[str, Any], cat: Catalogue) -> str:
    if block.get("groupClause"):
        return "GROUP_BY_HAVING" if block.get("havingClause") else "GROUP_BY"
    if block.get("havingClause"):
        return "GROUP_BY_HAVING"
    return "AGGREGATE" if _has_aggregate(block.get("targetList"), cat) else "NONE"


def _has_aggregate(value: Any, cat: Catalogue) -> bool:
    if isinstance(value, list):
        return any(_has_aggregate(v, cat) for v in value)
    if not isinstance(value, dict):
        return False
    named = _node(value)
    if named:
        kind, body = named
        if kind in ("SubLink", "SelectStmt", "RangeSubselect"):
            return False
        if kind == "FuncCall" and body.get("over") is None:
            fn = cat.get(_funcname(body))
            if body.get("agg_star") or (fn and fn.is_aggregate_call(len(body.get("args", [])))):
                return True
        return any(_has_aggregate(v, cat) for v in body.values())
    return any(_has_aggregate(v, cat) for v in value.values())


def parse_select(sql: str) -> dict[str, Any]:
    """Parse ``sql`` with PostgreSQL's parser; return the SelectStmt body of its one query."""
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError as exc:
        raise SQLParseError(f"PostgreSQL parser: {exc.args[0]}") from None
    stmts = tree.get("stmts", [])
    if len(stmts) != 1:
        raise SQLParseError(f"expected one statement, found {len(stmts)}")
    named = _node(stmts[0].get("stmt"))
    if not named or named[0] != "SelectStmt":
        kind = named[0] if named else "unknown"
        raise SQLParseError(f"only SELECT/WITH queries are allowed, found {kind}")
    return named[1]


# --------------------------------------------------------------------------- extraction


def extract_features(
    sql: str,
    schema: Schema | None = None,
    labels: dict[str, Any] | None = None,
    catalogue: Catalogue | None = None,
    stmt: dict[str, Any] | None = None,
) -> QueryFeatures:
    """Features of one query. ``labels`` may carry sql_type, difficulty_level,
    question_tone and usage_frequency from the record; missing ones are derived.

    >>> f = extract_features("SELECT ST_Area(b.g) FROM s.t b JOIN s.u u ON b.id = u.id")
    >>> (f.join_count, f.table_count, f.spatial_function_count, f.sql_type)
    (1, 2, 1, 'SPATIAL_MEASUREMENT')
    """
    cat = catalogue or load_catalogue()
    if stmt is None:  # a caller that parsed ``sql`` already passes its SelectStmt body
        stmt = parse_select(sql)
    walker = _Walker(cat)
    walker.select(stmt)
    t = walker.t

    tables: set[tuple[str, str]] = set()
    for schema_name, name in t.tables:
        if schema_name is None and name in t.cte_names:
            continue
        if schema_name is None:
            found = schema.find_table(name) if schema else None
            schema_name = found.schema if found else "public"
        tables.add((schema_name, name))
        if schema is not None:
            table = schema.table(f"{schema_name}.{name}")
            if table is not None and table.raster_columns:
                t.raster_table = True
    table_count = len(tables)
    schema_count = len({s for s, _ in tables})

    outer = _outermost_select(stmt)
    op = stmt.get("op", "SETOP_NONE")
    set_operation = {
        "SETOP_NONE": "NONE",
        "SETOP_UNION": "UNION_ALL" if stmt.get("all") else "UNION",
        "SETOP_INTERSECT": "INTERSECT",
        "SETOP_EXCEPT": "EXCEPT",
    }.get(op, "NONE")
    has_order, has_limit = bool(stmt.get("sortClause")), stmt.get("limitCount") is not None
    order_limit = {
        (False, False): "NONE",
        (True, False): "ORDER",
        (False, True): "LIMIT",
        (True, True): "ORDER_LIMIT",
    }[(has_order, has_limit)]

    categories = Counter(t.spatial_calls)
    if categories:
        best = max(categories.values())
        primary = next(c for c in SPATIAL_CATEGORIES if categories.get(c) == best)
    else:
        primary = "none"

    base = QueryFeatures(
        cte_count=t.ctes,
        join_count=t.joins,
        subquery_count=t.subqueries,
        spatial_function_count=len(t.spatial_calls),
        table_count=table_count,
        schema_count=schema_count,
        predicate_count=t.predicates,
        schema_complexity=schema_complexity_for(table_count, schema_count),
        primary_function_category=primary,
        aggregation=_aggregation(outer, cat),
        order_limit=order_limit,
        set_operation=set_operation,
        has_window=t.window,
    )
    score = complexity_score(base)
    labels = labels or {}
    sql_type = labels.get("sql_type") or _derive_sql_type(base, categories, t)
    difficulty = labels.get("difficulty_level") or difficulty_for(score)
    usage = labels.get("usage_frequency") or (
        "frequent" if difficulty in ("EASY", "MEDIUM") else "low_frequent"
    )
    return QueryFeatures(
        **{
            **base.to_dict(),
            "complexity_score": score,
            "sql_type": str(sql_type),
            "difficulty_level": str(difficulty),
            "usage_frequency": str(usage),
            "question_tone": str(labels.get("question_tone") or "DIRECT"),
        }
    )


def _derive_sql_type(f: QueryFeatures, categories: Counter[str], t: _Tally) -> str:
    """The sql_type of a query whose record carries none (docs/features.md, "sql_type")."""
    if categories.get("raster") or t.raster_table:
        return "RASTER_VECTOR"
    if categories.get("clustering"):
        return "SPATIAL_CLUSTERING"
    if f.cte_count or f.subquery_count:
        return "NESTED_QUERY"
    if t.spatial_join:
        return "SPATIAL_JOIN"
    if f.join_count >= 2:
        return "MULTI_JOIN"
    if f.aggregation != "NONE":
        return "AGGREGATION"
    if categories.get("measurements"):
        return "SPATIAL_MEASUREMENT"
    return "SIMPLE_SELECT"


# --------------------------------------------------------------------------- corpora


@dataclass
class SkipReport:
    """Records not turned into features, counted by reason, with a few examples."""

    counts: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[str]] = field(default_factory=dict)

    def add(self, reason: str, where: str) -> None:
        self.counts[reason] += 1
        self.examples.setdefault(reason, [])
        if len(self.examples[reason]) < 3:
            self.examples[reason].append(where)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {"total": self.total, "by_reason": dict(self.counts), "examples": self.examples}


def record_labels(record: Stage1Record) -> dict[str, Any]:
    return {
        "sql_type": record.sql_type,
        "difficulty_level": record.difficulty_level,
        "question_tone": record.question_tone,
        "usage_frequency": record.usage_frequency,
    }


def iter_features(
    records: Iterable[Stage1Record], schema: Schema | None = None, skipped: SkipReport | None = None
) -> Iterator[tuple[Stage1Record, QueryFeatures]]:
    """Features of each record; records whose SQL does not parse are counted in ``skipped``."""
    cat = load_catalogue()
    for record in records:
        try:
            yield record, extract_features(record.sql, schema, record_labels(record), cat)
        except SQLParseError as exc:
            if skipped is not None:
                reason = (
                    "not a single SELECT/WITH query"
                    if "found" in str(exc)
                    else ("SQL does not parse (PostgreSQL parser)")
                )
                skipped.add(reason, f"line {record.line} ({record.id})")


def features_frame(
    pairs: Iterable[tuple[Stage1Record, QueryFeatures]], labels: tuple[str, ...] = ()
) -> Any:
    """A pandas DataFrame: ``id`` first, then FEATURE_NAMES (ints, strings, bool), then the
    record ``labels`` asked for (e.g. ``sample_dirtiness``: a label of the record, not a
    structure feature, so never in the frame the structure model learns from)."""
    import pandas as pd

    rows = [{"id": r.id, **f.to_dict(), **{k: getattr(r, k) for k in labels}} for r, f in pairs]
    return pd.DataFrame(rows, columns=["id", *FEATURE_NAMES, *labels])
