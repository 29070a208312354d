"""Which columns a block's equalities make equal, and which they pin to a literal.

``a.x = b.y`` puts two columns in one class; ``a.x = 'v'`` pins ``a.x`` (and with it its
whole class) to a literal. One union-find for every reader that asks: the expander's
rewrites (:mod:`cimgen.expand.distinct`, :mod:`cimgen.expand.constant`) and the purpose
rules (:mod:`cimgen.check.purpose`), so they agree on which columns are equal and which
tables stand for one row.

>>> from cimgen.grammar import parse
>>> body = parse("SELECT b.id FROM b, p WHERE b.p_id = p.id AND p.id = 7").body
>>> eq = block_equalities(body)
>>> eq.classes.find(("p", "id")), sorted(eq.pinned())
(('b', 'p_id'), [('b', 'p_id'), ('p', 'id')])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from cimgen import ast

Key = tuple[str, str]
"""A qualified column: (table alias, column name)."""

_OUTER = ("LEFT", "RIGHT", "FULL")


def qualified(expr: ast.Expr) -> Key | None:
    """``(alias, column)`` of a qualified column reference; None for anything else."""
    if isinstance(expr, ast.Column) and expr.table is not None:
        return (expr.table, expr.name)
    return None


def is_literal(expr: ast.Expr) -> bool:
    """A number (also negated), a string or a boolean: what an equality can pin a column to."""
    if isinstance(expr, ast.UnaryOp) and expr.op == "-":
        return isinstance(expr.operand, ast.Number)
    return isinstance(expr, (ast.Number, ast.String, ast.Boolean))


class ColumnClasses:
    """Union-find over qualified columns; a class's root is its smallest member, so the
    roots do not depend on the order of the unions."""

    def __init__(self) -> None:
        self.parent: dict[Key, Key] = {}

    def find(self, c: Key) -> Key:
        while self.parent.get(c, c) != c:
            c = self.parent[c]
        return c

    def union(self, a: Key, b: Key) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    def members(self) -> set[Key]:
        """Every column that a union joined to another (``a.x = a.x`` joins nothing)."""
        return {*self.parent, *self.parent.values()}


@dataclass(frozen=True)
class Equalities:
    """The classes of columns that conditions equate, and their pins: (column, literal)
    in the order the conditions give them (a column pinned twice appears twice)."""

    classes: ColumnClasses
    pins: tuple[tuple[Key, ast.Expr], ...]

    def fixed(self) -> set[Key]:
        """The roots of the classes that some pin fixes to a literal."""
        return {self.classes.find(c) for c, _ in self.pins}

    def pinned(self) -> set[Key]:
        """Every column fixed to one literal, directly or through the equalities."""
        roots = self.fixed()
        cols = {*self.classes.members(), *(c for c, _ in self.pins)}
        return {c for c in cols if self.classes.find(c) in roots}

    def reached(self, alias: str, column: str, others: Iterable[str]) -> bool:
        """Is ``alias.column`` equated to a column of one of the tables ``others``?"""
        root = self.classes.find((alias, column))
        names = set(others) - {alias}
        return any(self.classes.find(c) == root for c in self.classes.members() if c[0] in names)


def equalities(conds: Iterable[ast.Expr]) -> Equalities:
    """The equalities among ``conds`` (other conditions are passed over): column = column
    joins two classes, column = literal pins one."""
    classes = ColumnClasses()
    pins: list[tuple[Key, ast.Expr]] = []
    for c in conds:
        if not (isinstance(c, ast.BinaryOp) and c.op == "="):
            continue
        left, right = qualified(c.left), qualified(c.right)
        if left and right:
            classes.union(left, right)
        elif left and is_literal(c.right):
            pins.append((left, c.right))
        elif right and is_literal(c.left):
            pins.append((right, c.left))
    return Equalities(classes, tuple(pins))


def block_equalities(body: ast.Select) -> Equalities:
    """The equalities of what every row of the block meets (:func:`ast.block_conditions`)."""
    return equalities(ast.block_conditions(body))


def inner_table_refs(item: ast.FromItem) -> list[ast.TableRef]:
    """The tables of a FROM item whose rows the block's inner conditions decide: a table,
    or both sides of an inner join; nothing under an outer join (its optional side is NULL
    where nothing matches) and nothing of a derived table (its own SELECT decides)."""
    if isinstance(item, ast.TableRef):
        return [item]
    if isinstance(item, ast.Join) and item.kind not in _OUTER:
        return [*inner_table_refs(item.left), *inner_table_refs(item.right)]
    return []


def one_row_aliases(
    body: ast.Select, primary_key: Callable[[ast.TableRef], Sequence[str]]
) -> set[str]:
    """Aliases of the block's inner-joined tables whose whole primary key
    (``primary_key(ref)``; empty when unknown) is fixed by literals, directly or through the
    block's equalities: each stands for one row."""
    eq = block_equalities(body)
    fixed = eq.fixed()
    out = set()
    for ref in (r for item in body.from_ for r in inner_table_refs(item)):
        key = primary_key(ref)
        if key and all(eq.classes.find((ref.ref_name, k)) in fixed for k in key):
            out.add(ref.ref_name)
    return out


def cte_pins(name: str, ctes: Mapping[str, ast.Query], depth: int = 0) -> dict[str, ast.Expr]:
    """The columns that every row of the CTE ``name`` has fixed to a literal, by its own
    conditions or by the CTEs it reads, named as a reader of the CTE names them: an output
    by its name, and a column of the CTE's first table that it does not select by that
    column's name (a CTE of lines named 'Line 10' is about that line, selected or not).

    >>> from cimgen.grammar import parse
    >>> q = parse("WITH l AS (SELECT g.id, g.pid FROM g WHERE g.pid = 'p' AND g.name = 'x') "
    ...           "SELECT l.id FROM l")
    >>> cte_pins("l", {c.name: c.query for c in q.ctes})
    {'pid': String(value='p'), 'name': String(value='x')}
    """
    q = ctes.get(name)
    if q is None or depth > 5 or not isinstance(q.body, ast.Select):
        return {}
    body = q.body
    eq = equalities([*ast.block_conditions(body), *pin_conditions(body, ctes, depth + 1)])
    value: dict[Key, ast.Expr] = {}
    for c, v in eq.pins:
        value.setdefault(eq.classes.find(c), v)
    out: dict[str, ast.Expr] = {}
    names = set()
    for it in body.items:
        key = qualified(it.expr)
        label = it.alias or (key[1] if key else None)
        names.add(label)
        if label and key and eq.classes.find(key) in value:
            out[label] = value[eq.classes.find(key)]
    refs = [r for item in body.from_ for r in inner_table_refs(item)]
    if refs:
        first = refs[0].ref_name
        for c in sorted(eq.pinned()):
            if c[0] == first and c[1] not in names:
                out.setdefault(c[1], value[eq.classes.find(c)])
    return out


def pin_conditions(
    body: ast.Select, ctes: Mapping[str, ast.Query], depth: int = 0
) -> list[ast.Expr]:
    """``alias.column = literal`` for each pin that a CTE the block inner-joins applies to
    its rows (:func:`cte_pins`): conditions the block meets without saying them."""
    out: list[ast.Expr] = []
    for item in body.from_:
        for r in inner_table_refs(item):
            if r.schema is None and r.name in ctes:
                for col, v in cte_pins(r.name, ctes, depth).items():
                    out.append(ast.BinaryOp("=", ast.Column(col, r.ref_name), v))
    return out


def pinned_equalities(
    body: ast.Select, ctes: Mapping[str, ast.Query], extra: Iterable[ast.Expr] = ()
) -> Equalities:
    """:func:`block_equalities` with the pins the block's CTEs apply (:func:`pin_conditions`)
    and ``extra`` conditions (an outer block's pins, for a subquery)."""
    return equalities([*ast.block_conditions(body), *pin_conditions(body, ctes), *extra])
