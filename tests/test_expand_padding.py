"""Issue 14, blind review of the tenth pass: "HAVING >= 3 and LIMIT 10 over 3 groups are
template padding". A grouped block's LIMIT is drawn below the groups it is estimated to
return (it compared the rows before grouping), and a HAVING threshold lies above the
smallest group, so each cuts something on the check world."""

from __future__ import annotations

import random
from dataclasses import replace

from test_expand import context, corpus_structures

from cimgen import ast
from cimgen.engines.duckdb import open_fixture
from cimgen.expand import expand
from cimgen.render import render_duckdb


def _rows(con, query: ast.Query, schema) -> int:  # type: ignore[no-untyped-def]
    return len(con.execute(render_duckdb(query, schema).sql).fetchall())


def test_a_grouped_limit_and_having_cut_something() -> None:
    ctx = context("cim_wizard")
    con = open_fixture(ctx.schema)
    rng = random.Random(5)
    grouped = [
        s
        for s in corpus_structures()
        if s.aggregation in ("GROUP_BY", "GROUP_BY_HAVING") and "LIMIT" in s.order_limit
    ]
    limits = cut = havings = filtered = 0
    try:
        for k, s in enumerate(rng.sample(grouped, min(80, len(grouped)))):
            q = expand(s, ctx, random.Random(k)).query
            if q is None or not isinstance(q.body, ast.Select) or not q.body.group_by:
                continue
            if q.limit is not None and not q.ctes:
                limits += 1
                cut += _rows(con, replace(q, limit=None), ctx.schema) > int(q.limit.text)
            if q.body.having is not None and not q.ctes:
                havings += 1
                open_q = replace(q, body=replace(q.body, having=None), limit=None)
                filtered += _rows(con, open_q, ctx.schema) > _rows(
                    con, replace(q, limit=None), ctx.schema
                )
    finally:
        con.close()
    assert limits >= 15 and havings >= 10, (limits, havings)
    assert cut >= 0.8 * limits, (cut, limits)
    assert filtered >= 0.6 * havings, (filtered, havings)
