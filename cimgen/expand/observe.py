"""The structure a built AST has, read the way :mod:`cimgen.features` reads SQL.

The expander compares this with the sampled structure to pick among attempts and to say
what it had to relax; the checks re-extract the features from the rendered SQL with
PostgreSQL's parser (the source of truth), and a test asserts both readings agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from cimgen import ast
from cimgen.catalogue import SPATIAL_CATEGORIES, Catalogue
from cimgen.schema.model import Schema


@dataclass(frozen=True)
class Shape:
    cte_count: int
    join_count: int
    subquery_count: int
    table_count: int
    schema_count: int
    spatial_function_count: int
    primary_function_category: str
    aggregation: str
    order_limit: str
    set_operation: str
    has_window: bool
    sql_type: str


def observe(query: ast.Query, schema: Schema, cat: Catalogue) -> Shape:
    ctes = joins = subs = 0
    tables: set[str] = set()
    cte_names: set[str] = set()
    cats: Counter[str] = Counter()
    window = spatial_on = raster_table = False
    stack: list[object] = [query]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Query):
            ctes += len(n.ctes)
            cte_names.update(c.name for c in n.ctes)
        elif isinstance(n, ast.Select):
            if n.where is not None and _several_items(n.from_) and _relates_two(n.where, cat):
                spatial_on = True  # FROM a, b WHERE ST_Intersects(a.g, b.g)
        elif isinstance(n, ast.Join):
            joins += 1
            if n.on is not None and _has_spatial_predicate(n.on, cat):
                spatial_on = True
        elif isinstance(n, (ast.InSubquery, ast.Exists, ast.Subquery, ast.DerivedTable)):
            subs += 1
        elif isinstance(n, ast.TableRef):
            if n.schema:
                tables.add(n.qualified)
                t = schema.table(n.qualified)
                if t is not None and t.raster_columns:
                    raster_table = True
        elif isinstance(n, ast.FuncCall):
            f = cat.get(n.name)
            if f is not None and f.spatial:
                cats[f.category] += 1
            if n.over is not None:
                window = True
        stack.extend(ast.children(n))
    if cats:
        best = max(cats.values())
        primary = next(c for c in SPATIAL_CATEGORIES if cats.get(c) == best)
    else:
        primary = "none"
    body = query.body
    set_op = "NONE"
    if isinstance(body, ast.SetOp):
        set_op = ("UNION_ALL" if body.all else "UNION") if body.op == "UNION" else body.op
    outer = _first_select(body)
    aggregation = _aggregation(outer, cat)
    order_limit = {
        (False, False): "NONE",
        (True, False): "ORDER",
        (False, True): "LIMIT",
        (True, True): "ORDER_LIMIT",
    }[(bool(query.order_by), query.limit is not None)]
    if cats.get("raster") or raster_table:
        sql_type = "RASTER_VECTOR"
    elif cats.get("clustering"):
        sql_type = "SPATIAL_CLUSTERING"
    elif ctes or subs:
        sql_type = "NESTED_QUERY"
    elif spatial_on:
        sql_type = "SPATIAL_JOIN"
    elif joins >= 2:
        sql_type = "MULTI_JOIN"
    elif aggregation != "NONE":
        sql_type = "AGGREGATION"
    elif cats.get("measurements"):
        sql_type = "SPATIAL_MEASUREMENT"
    else:
        sql_type = "SIMPLE_SELECT"
    return Shape(
        cte_count=ctes,
        join_count=joins,
        subquery_count=subs,
        table_count=len(tables),
        schema_count=len({t.split(".")[0] for t in tables}),
        spatial_function_count=sum(cats.values()),
        primary_function_category=primary,
        aggregation=aggregation,
        order_limit=order_limit,
        set_operation=set_op,
        has_window=window,
        sql_type=sql_type,
    )


def _first_select(body: ast.Select | ast.SetOp | ast.Query) -> ast.Select:
    while not isinstance(body, ast.Select):
        body = body.left if isinstance(body, ast.SetOp) else body.body
    return body


def _several_items(from_: tuple[ast.FromItem, ...]) -> bool:
    if len(from_) >= 2:
        return True
    stack: list[object] = list(from_)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Join):
            if n.on is None:
                return True
            stack.extend((n.left, n.right))
    return False


def _relates_two(where: ast.Expr, cat: Catalogue) -> bool:
    """A WHERE conjunct that is a spatial predicate over columns of two FROM items."""
    stack: list[ast.Expr] = [where]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.BinaryOp) and n.op == "AND":
            stack.extend((n.left, n.right))
        elif isinstance(n, ast.FuncCall):
            f = cat.get(n.name)
            if f is not None and f.spatial and f.category == "predicates":
                quals = {c.table for c in _columns(n) if c.table is not None}
                if len(quals) >= 2:
                    return True
    return False


def _columns(expr: object) -> list[ast.Column]:
    out: list[ast.Column] = []
    stack: list[object] = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Query, ast.Subquery, ast.Exists, ast.InSubquery)):
            continue
        if isinstance(n, ast.Column):
            out.append(n)
            continue
        stack.extend(ast.children(n))
    return out


def _has_spatial_predicate(expr: ast.Expr, cat: Catalogue) -> bool:
    """A spatial predicate call in a join condition (not inside a subquery)."""
    stack: list[object] = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Query, ast.Subquery, ast.Exists, ast.InSubquery)):
            continue
        if isinstance(n, ast.FuncCall):
            f = cat.get(n.name)
            if f is not None and f.spatial and f.category == "predicates":
                return True
        stack.extend(ast.children(n))
    return False


def _aggregation(select: ast.Select, cat: Catalogue) -> str:
    if select.having is not None:
        return "GROUP_BY_HAVING"
    if select.group_by:
        return "GROUP_BY"
    for item in select.items:
        if _has_aggregate(item.expr, cat):
            return "AGGREGATE"
    return "NONE"


def _has_aggregate(expr: ast.Expr, cat: Catalogue) -> bool:
    stack: list[object] = [expr]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Query, ast.Subquery)):
            continue
        if isinstance(n, ast.FuncCall) and n.over is None:
            f = cat.get(n.name)
            star = n.star and n.name == "COUNT"
            if star or (f is not None and f.is_aggregate_call(len(n.args))):
                return True
        stack.extend(ast.children(n))
    return False
