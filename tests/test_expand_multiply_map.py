"""multiply.map_selects and the CTE map (issue 16, twelfth pass; one cache, thirteenth
pass): the fast path for a rewrite that changes nothing, and the CTE map kept per query by
the attempt's reading (multiply.Links), give what the full rebuild and a fresh walk give."""

from __future__ import annotations

import contextlib
from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.expand import multiply
from cimgen.grammar.parse import parse

SQL = (
    "WITH t AS (SELECT b.id, b.height FROM cim_vector.building AS b WHERE b.lod = 1), "
    "u AS (SELECT t.id FROM t WHERE t.height > (SELECT AVG(t2.height) FROM t AS t2)) "
    "SELECT u.id, (SELECT COUNT(*) FROM p WHERE p.id = u.id) AS n FROM u "
    "WHERE EXISTS (SELECT 1 FROM r WHERE r.id = u.id)"
)


def rebuild(query: ast.Query, fn: Any) -> ast.Query:
    """main's map_selects before the fast path (bf68964): always the full rebuild."""

    def walk(node: Any) -> Any:
        if not hasattr(node, "__dataclass_fields__"):
            return node
        changes = {}
        for k in ast.node_fields(node):
            v = getattr(node, k)
            if isinstance(v, tuple):
                nv = tuple(walk(x) for x in v)
                if nv != v:
                    changes[k] = nv
            elif hasattr(v, "__dataclass_fields__"):
                nv = walk(v)
                if nv is not v:
                    changes[k] = nv
        out = replace(node, **changes) if changes else node
        return fn(out) if isinstance(out, ast.Select) else out

    result: ast.Query = walk(query)
    return result


def recording(change: str | None) -> tuple[list[str], Any]:
    """``fn`` that records the blocks it is asked about (by their first FROM name) and
    adds ``DISTINCT`` to the block reading ``change``."""
    seen: list[str] = []

    def fn(body: ast.Select) -> ast.Select:
        name = multiply.block_refs(body)[0].name if multiply.block_refs(body) else "-"
        seen.append(name)
        return replace(body, distinct=True) if name == change else body

    return seen, fn


def test_nothing_changed_gives_the_query_itself_after_asking_each_block_once() -> None:
    query = parse(SQL)
    seen, fn = recording(None)
    assert multiply.map_selects(query, fn) is query
    seen_before, fn_before = recording(None)
    assert rebuild(query, fn_before) is query
    assert seen == seen_before and len(seen) == 6  # innermost first, each block once


def test_a_change_gives_the_rebuild_and_asks_in_the_same_order() -> None:
    query = parse(SQL)
    for change in ("building", "t", "p", "r", "u"):
        seen, fn = recording(change)
        seen_before, fn_before = recording(change)
        got, want = multiply.map_selects(query, fn), rebuild(query, fn_before)
        assert got == want and got is not query, change
        assert seen == seen_before, change


def test_a_refusal_is_raised_at_the_same_block() -> None:
    query = parse(SQL)

    def refuse_at(name: str, seen: list[str]) -> Any:
        def fn(body: ast.Select) -> ast.Select:
            seen.append(multiply.block_refs(body)[0].name)
            if seen[-1] == name:
                raise ValueError(name)
            return body

        return fn

    for name in ("t", "u"):
        seen: list[str] = []
        seen_before: list[str] = []
        for f, got in ((multiply.map_selects, seen), (rebuild, seen_before)):
            with contextlib.suppress(ValueError):
                f(query, refuse_at(name, got))
        assert seen == seen_before and seen[-1] == name


def test_the_cte_map_is_fresh_and_follows_the_query() -> None:
    query = parse(SQL)
    first = ast.ctes_by_name(query)
    assert sorted(first) == ["t", "u"]
    first.clear()  # a caller's change never reaches the next caller
    assert sorted(ast.ctes_by_name(query)) == ["t", "u"]
    other = parse("WITH v AS (SELECT 1 AS x) SELECT v.x FROM v")
    assert sorted(ast.ctes_by_name(other)) == ["v"]
    assert ast.ctes_by_name(query)["t"] is query.ctes[0].query


def test_the_attempts_reading_keeps_one_map_per_query_and_follows_a_change() -> None:
    query = parse(SQL)
    links = multiply.Links(None)  # type: ignore[arg-type]  # .ctes reads no context
    first = links.ctes(query)
    assert links.ctes(query) is first and first == ast.ctes_by_name(query)
    changed = replace(query, ctes=query.ctes[:1])
    assert sorted(links.ctes(changed)) == ["t"]
    assert links.ctes(query) is first  # the earlier version's map is still the same
