"""Which columns a block's equalities make equal and which they pin (cimgen.equalities): the
one union-find behind the expander's rewrites and the purpose rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cimgen import ast
from cimgen.equalities import (
    ColumnClasses,
    block_equalities,
    equalities,
    inner_table_refs,
    is_literal,
    one_row_aliases,
)
from cimgen.grammar import parse

_COLUMNS = st.tuples(st.sampled_from("abc"), st.sampled_from(["id", "x", "y"]))
_PAIRS = st.lists(st.tuples(_COLUMNS, _COLUMNS), max_size=12)


def _components(pairs: list[tuple[tuple[str, str], tuple[str, str]]]) -> list[set[tuple[str, str]]]:
    """Connected components by repeated merging: the reference the union-find must match."""
    groups: list[set[tuple[str, str]]] = []
    for a, b in pairs:
        touching = [g for g in groups if a in g or b in g]
        merged = {a, b}.union(*touching)
        groups = [g for g in groups if g not in touching] + [merged]
    return groups


@settings(max_examples=200, deadline=None)
@given(_PAIRS, st.randoms(use_true_random=False))
def test_classes_are_the_connected_components_whatever_the_order(pairs, rnd) -> None:
    classes = ColumnClasses()
    for a, b in pairs:
        classes.union(a, b)
    shuffled = ColumnClasses()
    for a, b in rnd.sample(pairs, len(pairs)):
        shuffled.union(b, a)
    for group in _components(pairs):
        assert {classes.find(c) for c in group} == {min(group)}  # the root is the smallest
        assert {shuffled.find(c) for c in group} == {min(group)}
    assert classes.members() == {c for a, b in pairs if a != b for c in (a, b)}


@settings(max_examples=200, deadline=None)
@given(_PAIRS, st.lists(_COLUMNS, max_size=3))
def test_pinned_is_every_column_in_a_class_with_a_pin(pairs, pins) -> None:
    conds: list[ast.Expr] = [
        ast.BinaryOp("=", ast.Column(a[1], a[0]), ast.Column(b[1], b[0])) for a, b in pairs
    ]
    conds += [ast.BinaryOp("=", ast.Number("7"), ast.Column(c[1], c[0])) for c in pins]
    eq = equalities(conds)
    want = {c for g in _components(pairs) if g & set(pins) for c in g} | set(pins)
    assert eq.pinned() == want
    assert [c for c, _ in eq.pins] == pins  # in the order the conditions give them


def test_only_equalities_to_a_column_or_a_literal_count() -> None:
    body = parse(
        "SELECT 1 FROM b, p WHERE b.p_id = p.id AND p.id = -3 AND b.h > 10 "
        "AND b.name = lower(p.name) AND 'x' = b.kind AND b.flag = TRUE AND p.n = p.m + 1"
    ).body
    assert isinstance(body, ast.Select)
    eq = block_equalities(body)
    assert [c for c, _ in eq.pins] == [("p", "id"), ("b", "kind"), ("b", "flag")]
    assert eq.pinned() == {("b", "p_id"), ("p", "id"), ("b", "kind"), ("b", "flag")}
    assert eq.classes.find(("p", "id")) == ("b", "p_id")
    assert eq.classes.find(("p", "n")) == ("p", "n")  # an expression is no column


def test_literals_include_a_negated_number_only() -> None:
    assert is_literal(ast.UnaryOp("-", ast.Number("3")))
    assert not is_literal(ast.UnaryOp("-", ast.Column("x", "a")))
    assert not is_literal(ast.Null())
    assert not is_literal(ast.Column("x"))


def test_reached_means_equated_to_another_table() -> None:
    body = parse("SELECT 1 FROM b, bp, c WHERE b.id = bp.b_id AND c.x = c.y").body
    assert isinstance(body, ast.Select)
    eq = block_equalities(body)
    assert eq.reached("b", "id", ["b", "bp", "c"])
    assert not eq.reached("c", "x", ["b", "bp", "c"])  # only its own other column
    assert not eq.reached("b", "id", ["b", "c"])


def test_an_outer_join_neither_pins_nor_counts_as_one_row() -> None:
    q = parse(
        "SELECT 1 FROM ps JOIN b ON b.pid = ps.pid LEFT JOIN g ON g.id = 5 WHERE ps.pid = 'p'"
    )
    body = q.body
    assert isinstance(body, ast.Select)
    assert [r.name for f in body.from_ for r in inner_table_refs(f)] == []  # under the LEFT
    inner = parse("SELECT 1 FROM ps JOIN b ON b.pid = ps.pid, g WHERE ps.pid = 'p'").body
    assert isinstance(inner, ast.Select)
    assert [r.name for f in inner.from_ for r in inner_table_refs(f)] == ["ps", "b", "g"]
    keys = {"ps": ("pid",), "b": ("bid",), "g": ("id",)}

    def pk(ref: ast.TableRef) -> tuple[str, ...]:
        return keys.get(ref.name, ())

    assert one_row_aliases(inner, pk) == {"ps"}
    outer = parse(
        "SELECT 1 FROM h LEFT JOIN b ON b.bid = 5, ps, g WHERE g.id = ps.pid AND ps.pid = 1"
    )
    body = outer.body
    assert isinstance(body, ast.Select)
    assert one_row_aliases(body, pk) == {"ps", "g"}  # g through its equality with ps; not b


def test_a_table_without_a_known_key_is_never_one_row() -> None:
    body = parse("SELECT 1 FROM t WHERE t.id = 1").body
    assert isinstance(body, ast.Select)
    assert one_row_aliases(body, lambda ref: ()) == set()
    assert one_row_aliases(body, lambda ref: ("id",)) == {"t"}
    assert one_row_aliases(body, lambda ref: ("id", "v")) == set()  # half a key is not one row
