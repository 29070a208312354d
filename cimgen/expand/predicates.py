"""Attribute filters on real columns with literals from the context's pools.

Identifier columns (ids, codes, keys) only ever take values seen in the pools (corpus
literals, schema examples, fixture data); numeric thresholds come from the observed values.
A column without a pool is filtered with ``IS [NOT] NULL`` only.
"""

from __future__ import annotations

import random
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.units import num


def literal(value: Any, integer: bool = False) -> ast.Expr:
    if isinstance(value, bool):
        return ast.Boolean(value)
    if isinstance(value, (int, float)):
        return ast.Number(str(round(value)) if integer else num(float(value), 2).text)
    return ast.String(str(value))


def filter_for(
    ctx: ExpansionContext,
    rng: random.Random,
    t: TableInfo,
    alias: str,
    columns: tuple[str, ...] | None = None,
) -> ast.Expr:
    """One boolean leaf on a column of ``t`` (restricted to ``columns`` when given)."""
    allowed = set(columns) if columns is not None else None

    def ok(c: str) -> bool:
        return allowed is None or c in allowed

    pooled = [
        c
        for c in (*t.ids, *t.categories, *t.text, *t.numeric, *t.booleans)
        if ok(c) and ctx.literals.get((t.qualified, c))
    ]
    if not pooled:
        plain = [c for c in t.plain if ok(c)] or [t.plain[0]] if t.plain else []
        if not plain:
            geo = (t.geoms or t.rasters)[0].name
            return ast.IsNull(ast.Column(geo, alias), negated=True)
        return ast.IsNull(ast.Column(rng.choice(plain), alias), negated=rng.random() < 0.8)
    c = rng.choice(sorted(set(pooled)))
    col = ast.Column(c, alias)
    pool = ctx.literals[(t.qualified, c)]
    if c in t.booleans:
        return ast.BinaryOp("=", col, ast.Boolean(bool(rng.choice(pool))))
    if c in t.numeric:
        is_int = c in t.integer
        values = sorted(float(v) for v in pool if not isinstance(v, bool))
        lo, hi = values[0], values[-1]
        r = rng.random()
        if r < 0.25 and hi > lo:
            a = rng.uniform(lo, (lo + hi) / 2)
            b = rng.uniform((lo + hi) / 2, hi)
            return ast.Between(col, literal(a, is_int), literal(b, is_int))
        op = rng.choice((">", ">=", "<", "<=", ">", ">="))
        value = rng.choice(values) if r < 0.6 or hi == lo else rng.uniform(lo, hi)
        return ast.BinaryOp(op, col, literal(value, is_int))
    is_int = c in t.integer
    r = rng.random()
    if len(pool) >= 2 and r < 0.3:
        items = rng.sample(pool, min(len(pool), rng.choice((2, 2, 3))))
        return ast.InList(
            col,
            tuple(literal(v, is_int) for v in items),
            negated=c in t.categories and rng.random() < 0.2,
        )
    value = rng.choice(pool)
    if c in t.categories and isinstance(value, str) and len(value) > 3 and r < 0.45:
        return ast.BinaryOp(rng.choice(("LIKE", "ILIKE")), col, ast.String(value[:3] + "%"))
    if c in t.categories and r < 0.55:
        return ast.BinaryOp("<>", col, literal(value, is_int))
    return ast.BinaryOp("=", col, literal(value, is_int))


def conjoin(parts: list[ast.Expr]) -> ast.Expr | None:
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = ast.BinaryOp("AND", out, p)
    return out
