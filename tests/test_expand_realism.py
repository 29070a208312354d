"""What an analyst would write (issue 14, third pass): the shapes the blind review did
not keep are not built. Each test expands real structures on the real fixture."""

from __future__ import annotations

import random
from functools import cache

from cimgen import ast
from cimgen.expand import ExpansionContext, expand
from cimgen.models import QueryFeatures
from cimgen.schema import load_schema

SCHEMA = load_schema("cim_wizard")


@cache
def ctx() -> ExpansionContext:
    return ExpansionContext.for_fixture(SCHEMA)


def _conjuncts(e: ast.Expr | None) -> list[ast.Expr]:
    if e is None:
        return []
    if isinstance(e, ast.BinaryOp) and e.op == "AND":
        return [*_conjuncts(e.left), *_conjuncts(e.right)]
    return [e]


def _aliases(e: ast.Expr) -> set[str]:
    return {n.table for n in ast.walk(e) if isinstance(n, ast.Column) and n.table}


def test_a_pair_of_neighbours_is_filtered_on_the_listed_side() -> None:
    """``FROM t a, t b WHERE <a near b>``: the place and attribute filters narrow the rows
    listed (``a``), not their neighbours (review: "the point and population filters go on
    the neighbour rather than the listed zone")."""
    s = QueryFeatures(
        table_count=1,
        schema_count=1,
        spatial_function_count=3,
        predicate_count=5,
        sql_type="SPATIAL_JOIN",
        primary_function_category="predicates",
    )
    pairs = 0
    for k in range(30):
        e = expand(s, ctx(), random.Random(k))
        assert e.query is not None
        body = e.query.body
        assert isinstance(body, ast.Select)
        refs = [f for f in body.from_ if isinstance(f, ast.TableRef)]
        if len(refs) != 2 or refs[0].name != refs[1].name:
            continue
        pairs += 1
        listed, other = refs[0].alias, refs[1].alias
        for c in _conjuncts(body.where):
            if _aliases(c) == {other}:
                # only the scope both sides share (pin_scope) may name the neighbour alone
                assert isinstance(c, ast.BinaryOp) and c.op == "=", (listed, c)
                col = c.left if isinstance(c.left, ast.Column) else c.right
                assert isinstance(col, ast.Column)
                info = ctx().by_name[f"{refs[1].schema}.{refs[1].name}"]
                assert col.name in info.scope, c
    assert pairs >= 10
