"""The AST's traversal (cimgen/ast.py): children skip only fields that cannot hold nodes."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from cimgen import ast
from cimgen.grammar.parse import parse

SQL = (
    "WITH t (a, b) AS (SELECT b.building_id, COUNT(*) FILTER (WHERE b.height > 3) "
    "FROM cim_vector.building AS b GROUP BY b.building_id HAVING COUNT(*) > 1) "
    "SELECT t.a, CASE WHEN t.b BETWEEN 1 AND 2 THEN 'x' ELSE NULL END AS c, "
    "ROW_NUMBER() OVER (PARTITION BY t.a ORDER BY t.b DESC NULLS LAST), "
    "CAST(t.b AS numeric)::text, (SELECT MAX(p.x) FROM p) "
    "FROM t JOIN (SELECT * FROM q WHERE q.k IN (1, 2)) AS d ON d.k = t.a "
    "WHERE NOT EXISTS (SELECT 1 FROM r WHERE r.id = t.a) AND t.a IS NOT NULL "
    "AND t.a IN (SELECT s.id FROM s) "
    "UNION ALL SELECT 1, 'y', 2, 3, 4 ORDER BY 1 LIMIT 5 OFFSET 1"
)


def every_field_child(node: Any) -> list[Any]:
    """The children read from every field (what ``children`` did before it skipped plain
    fields)."""
    out: list[Any] = []
    for f in fields(node):
        value = getattr(node, f.name)
        values = value if isinstance(value, tuple) else (value,)
        out.extend(v for v in values if hasattr(v, "__dataclass_fields__"))
    return out


def test_children_are_those_of_every_field() -> None:
    query = parse(SQL)
    kinds = set()
    for node in ast.walk(query):
        kinds.add(type(node).__name__)
        got, want = ast.children(node), every_field_child(node)
        assert len(got) == len(want) and all(a is b for a, b in zip(got, want, strict=True))
    # the query reaches most node kinds, so the skipped fields were tried on them
    assert {"CTE", "Case", "When", "Window", "Exists", "InSubquery", "DerivedTable"} <= kinds


def test_plain_fields_are_skipped() -> None:
    assert ast.node_fields(ast.Column("a", "t")) == ()
    assert ast.node_fields(ast.TableRef("building", "cim_vector", "b")) == ()
    assert ast.node_fields(ast.CTE("t", parse("SELECT 1"), ("a",))) == ("query",)
    assert ast.node_fields(ast.FuncCall("COUNT", star=True)) == ("args", "filter", "over")


@dataclass(frozen=True)
class Holder:  # a node kind outside cimgen.ast, with an untyped field
    label: str
    payload: Any


def test_a_field_of_any_type_is_read() -> None:
    inner = ast.Column("a")
    assert ast.children(Holder("x", inner)) == [inner]
    assert ast.children(Holder("x", (inner, "y"))) == [inner]


def test_walk_is_depth_first_in_field_order() -> None:
    query = parse(SQL)
    want, stack = [], [query]
    while stack:
        node = stack.pop()
        want.append(node)
        stack.extend(reversed(every_field_child(node)))
    got = list(ast.walk(query))
    assert len(got) == len(want) > 60 and all(a is b for a, b in zip(got, want, strict=True))


def test_conjuncts_spread_nested_ands_left_to_right() -> None:
    where = parse(
        "SELECT 1 FROM t WHERE (a = 1 AND (b = 2 AND c = 3)) AND ((d = 4 OR e = 5) AND f = 6)"
    ).body.where
    names = []
    for c in ast.conjuncts(where):
        assert isinstance(c, ast.BinaryOp) and c.op in ("=", "OR")
        first = c.left.left if c.op == "OR" else c.left  # type: ignore[union-attr]
        names.append(first.name)  # type: ignore[union-attr]
    assert names == ["a", "b", "c", "d", "f"]
    assert ast.conjuncts(None) == []
    single = ast.BinaryOp("=", ast.Column("a"), ast.Number("1"))
    assert ast.conjuncts(single) == [single]


def test_box_prefilters_are_left_out_and_the_rest_kept() -> None:
    query = parse(
        "SELECT b.id FROM b JOIN g ON g.geom && ST_Expand(b.geom, 0.01) "
        "AND ST_DWithin(b.geom, g.geom, 100) WHERE b.lod = 1"
    )
    plain = ast.without_box_prefilters(query)
    assert not any(ast.is_box_prefilter(n) for n in ast.walk(plain))
    join = plain.body.from_[0]
    assert isinstance(join.on, ast.FuncCall) and join.on.name.lower() == "st_dwithin"
    assert plain.body.where is query.body.where  # untouched parts are the same objects


def test_walk_up_puts_every_node_after_its_children_in_field_order() -> None:
    def post_order(node: Any) -> list[Any]:
        return [n for c in every_field_child(node) for n in post_order(c)] + [node]

    query = parse(SQL)
    got, want = ast.walk_up(query), post_order(query)
    assert len(got) == len(want) and all(a is b for a, b in zip(got, want, strict=True))
    assert got[-1] is query and {id(n) for n in got} == {id(n) for n in ast.walk(query)}
