"""Lark parse tree -> :mod:`cimgen.ast`, applied inline by the LALR parser.

Every callback is named after a rule (or rule alias) of ``grammar/cim_sql.lark`` and returns
an AST node in canonical form (see the :mod:`cimgen.ast` docstring): identifiers case-folded
the PostgreSQL way, function names spelled as in the catalogue, ``!=`` stored as ``<>``,
``NOT LIKE`` as ``UnaryOp("NOT", BinaryOp("LIKE", ...))``, no parenthesis nodes.

Clauses that only make sense inside a larger node (WHERE, ORDER BY, LIMIT...) come back as
:class:`_Part` tags that the enclosing rule sorts out, because optional clauses make their
positions among the children vary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lark import Token, Transformer

from cimgen import ast
from cimgen.catalogue import Catalogue, load_catalogue

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class _Part:
    """A clause on its way into the node that owns it."""

    tag: str
    value: Any


def identifier(token: str) -> str:
    """Case-fold an identifier: ``Foo`` -> ``foo``; ``"Foo"`` stays ``Foo``.

    >>> identifier('"SEZ2011"'), identifier("SEZ2011")
    ('SEZ2011', 'sez2011')
    """
    if token.startswith('"'):
        return token[1:-1].replace('""', '"')
    return token.lower()


def _parts(children: list[Any]) -> dict[str, Any]:
    return {c.tag: c.value for c in children if isinstance(c, _Part)}


class ToAst(Transformer[Token, Any]):
    """Builds :mod:`cimgen.ast` nodes; one method per grammar rule or alias."""

    def __init__(self, catalogue: Catalogue | None = None) -> None:
        super().__init__(visit_tokens=False)
        self.catalogue = catalogue or load_catalogue()

    # ---------------------------------------------------------------- statements
    def start(self, c: list[Any]) -> ast.Query:
        query: ast.Query = c[0]
        return query

    def query(self, c: list[Any]) -> ast.Query:
        body = next(x for x in c if not isinstance(x, _Part))
        p = _parts(c)
        limit, offset = p.get("limit", (None, None))
        return ast.Query(
            body=body,
            ctes=p.get("with", ()),
            order_by=p.get("order_by", ()),
            limit=limit,
            offset=offset,
        )

    def with_clause(self, c: list[ast.CTE]) -> _Part:
        return _Part("with", tuple(c))

    def cte(self, c: list[Any]) -> ast.CTE:
        columns = c[1] if len(c) == 3 else ()
        return ast.CTE(name=c[0], query=c[-1], columns=columns)

    def cte_columns(self, c: list[str]) -> tuple[str, ...]:
        return tuple(c)

    def _setop(self, op: str, c: list[Any]) -> ast.SetOp:
        quant = c[1] if len(c) == 3 else None
        return ast.SetOp(op=op, left=c[0], right=c[-1], all=quant == "ALL")

    def union(self, c: list[Any]) -> ast.SetOp:
        return self._setop("UNION", c)

    def except_(self, c: list[Any]) -> ast.SetOp:
        return self._setop("EXCEPT", c)

    def intersect(self, c: list[Any]) -> ast.SetOp:
        return self._setop("INTERSECT", c)

    def set_quant(self, c: list[Token]) -> str:
        return c[0].upper()

    select_quant = set_quant

    def paren_query(self, c: list[ast.Query]) -> ast.Query | ast.Select | ast.SetOp:
        # "(SELECT ...)" as a set-operation arm: a bare body needs no Query wrapper.
        q = c[0]
        if not (q.ctes or q.order_by or q.limit is not None or q.offset is not None):
            return q.body
        return q

    def select_core(self, c: list[Any]) -> ast.Select:
        p = _parts(c)
        return ast.Select(
            items=p["items"],
            from_=p.get("from", ()),
            where=p.get("where"),
            group_by=p.get("group_by", ()),
            having=p.get("having"),
            distinct=any(x == "DISTINCT" for x in c if isinstance(x, str)),
        )

    def select_list(self, c: list[ast.SelectItem]) -> _Part:
        return _Part("items", tuple(c))

    def select_expr(self, c: list[Any]) -> ast.SelectItem:
        return ast.SelectItem(expr=c[0], alias=c[1] if len(c) > 1 else None)

    def select_star(self, c: list[Any]) -> ast.SelectItem:
        return ast.SelectItem(expr=ast.Star())

    def select_table_star(self, c: list[Any]) -> ast.SelectItem:
        return ast.SelectItem(expr=ast.Star(table=c[0]))

    # ---------------------------------------------------------------- FROM
    def from_clause(self, c: list[ast.FromItem]) -> _Part:
        return _Part("from", tuple(c))

    def join_on(self, c: list[Any]) -> ast.Join:
        return ast.Join(kind=c[1], left=c[0], right=c[2], on=c[3])

    def cross_join(self, c: list[Any]) -> ast.Join:
        return ast.Join(kind="CROSS", left=c[0], right=c[1])

    def inner(self, c: list[Any]) -> str:
        return "INNER"

    def left(self, c: list[Any]) -> str:
        return "LEFT"

    def right(self, c: list[Any]) -> str:
        return "RIGHT"

    def full(self, c: list[Any]) -> str:
        return "FULL"

    def table_ref(self, c: list[Any]) -> ast.TableRef:
        schema, name = c[0]
        return ast.TableRef(name=name, schema=schema, alias=c[1] if len(c) > 1 else None)

    def derived_table(self, c: list[Any]) -> ast.DerivedTable:
        return ast.DerivedTable(query=c[0], alias=c[1])

    def qualified_name(self, c: list[str]) -> tuple[str | None, str]:
        return (c[0], c[1]) if len(c) == 2 else (None, c[0])

    def where_clause(self, c: list[Any]) -> _Part:
        return _Part("where", c[0])

    def group_by(self, c: list[Any]) -> _Part:
        return _Part("group_by", tuple(c))

    def having(self, c: list[Any]) -> _Part:
        return _Part("having", c[0])

    # ---------------------------------------------------------------- ORDER BY / LIMIT
    def order_by(self, c: list[ast.OrderItem]) -> _Part:
        return _Part("order_by", tuple(c))

    def order_item(self, c: list[Any]) -> ast.OrderItem:
        p = _parts(c)
        return ast.OrderItem(expr=c[0], direction=p.get("dir"), nulls=p.get("nulls"))

    def direction(self, c: list[Token]) -> _Part:
        return _Part("dir", c[0].upper())

    def nulls_order(self, c: list[Token]) -> _Part:
        return _Part("nulls", c[1].upper())

    def limit_offset(self, c: list[Any]) -> _Part:
        return _Part("limit", (c[0], c[1] if len(c) > 1 else None))

    def offset_limit(self, c: list[Any]) -> _Part:
        return _Part("limit", (c[1] if len(c) > 1 else None, c[0]))

    # ---------------------------------------------------------------- operators
    def or_(self, c: list[Any]) -> ast.BinaryOp:
        return ast.BinaryOp("OR", c[0], c[1])

    def and_(self, c: list[Any]) -> ast.BinaryOp:
        return ast.BinaryOp("AND", c[0], c[1])

    def not_(self, c: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp("NOT", c[0])

    def is_null(self, c: list[Any]) -> ast.IsNull:
        return ast.IsNull(c[0])

    def is_not_null(self, c: list[Any]) -> ast.IsNull:
        return ast.IsNull(c[0], negated=True)

    def comparison(self, c: list[Any]) -> ast.BinaryOp:
        op = "<>" if c[1] == "!=" else str(c[1])
        return ast.BinaryOp(op, c[0], c[2])

    def binary(self, c: list[Any]) -> ast.BinaryOp:
        return ast.BinaryOp(str(c[1]), c[0], c[2])

    def unary(self, c: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp(str(c[0]), c[1])

    def between(self, c: list[Any]) -> ast.Between:
        return ast.Between(c[0], c[1], c[2])

    def not_between(self, c: list[Any]) -> ast.Between:
        return ast.Between(c[0], c[1], c[2], negated=True)

    def in_list(self, c: list[Any]) -> ast.InList:
        return ast.InList(c[0], c[1])

    def not_in_list(self, c: list[Any]) -> ast.InList:
        return ast.InList(c[0], c[1], negated=True)

    def in_query(self, c: list[Any]) -> ast.InSubquery:
        return ast.InSubquery(c[0], c[1])

    def not_in_query(self, c: list[Any]) -> ast.InSubquery:
        return ast.InSubquery(c[0], c[1], negated=True)

    def like(self, c: list[Any]) -> ast.BinaryOp:
        return ast.BinaryOp(c[1].upper(), c[0], c[2])

    def not_like(self, c: list[Any]) -> ast.UnaryOp:
        return ast.UnaryOp("NOT", self.like(c))

    def cast(self, c: list[Any]) -> ast.Cast:
        return ast.Cast(c[0], c[1], "::")

    def cast_call(self, c: list[Any]) -> ast.Cast:
        return ast.Cast(c[0], c[1], "CAST")

    def simple_type(self, c: list[Any]) -> str:
        base = _SPACES.sub(" ", str(c[0])).lower()
        return base + (c[1] if len(c) > 1 else "")

    def type_mods(self, c: list[Token]) -> str:
        return "(" + ",".join(str(t).lower() for t in c) + ")"

    def expr_list(self, c: list[Any]) -> tuple[Any, ...]:
        return tuple(c)

    # ---------------------------------------------------------------- primaries
    def exists(self, c: list[Any]) -> ast.Exists:
        return ast.Exists(c[0])

    def subquery(self, c: list[Any]) -> ast.Subquery:
        return ast.Subquery(c[0])

    def field_access(self, c: list[Any]) -> ast.FieldAccess:
        return ast.FieldAccess(c[0], c[1])

    def column_ref(self, c: list[str]) -> ast.Column:
        return ast.Column(name=c[1], table=c[0]) if len(c) == 2 else ast.Column(name=c[0])

    def number(self, c: list[Token]) -> ast.Number:
        return ast.Number(str(c[0]))

    def string(self, c: list[Token]) -> ast.String:
        return ast.String(c[0][1:-1].replace("''", "'"))

    def true(self, c: list[Any]) -> ast.Boolean:
        return ast.Boolean(True)

    def false(self, c: list[Any]) -> ast.Boolean:
        return ast.Boolean(False)

    def null(self, c: list[Any]) -> ast.Null:
        return ast.Null()

    def case_expr(self, c: list[Any]) -> ast.Case:
        whens = tuple(x for x in c if isinstance(x, ast.When))
        first = next(i for i, x in enumerate(c) if isinstance(x, ast.When))
        operand = c[0] if first == 1 else None
        else_ = c[-1] if not isinstance(c[-1], ast.When) else None
        return ast.Case(whens=whens, else_=else_, operand=operand)

    def when_clause(self, c: list[Any]) -> ast.When:
        return ast.When(c[0], c[1])

    def func_call(self, c: list[Any]) -> ast.FuncCall:
        schema, name = c[0]
        p = _parts(c)
        args: _Args = p.get("args", _NO_ARGS)
        return ast.FuncCall(
            name=self.catalogue.canonical_name(name),
            args=args.args,
            schema=schema,
            distinct=args.distinct,
            star=args.star,
            filter=p.get("filter"),
            over=p.get("over"),
        )

    def func_name(self, c: list[str]) -> tuple[str | None, str]:
        return (c[0], c[1]) if len(c) == 2 else (None, c[0])

    def args_star(self, c: list[Any]) -> _Part:
        return _Part("args", _Args((), star=True))

    def args_distinct(self, c: list[Any]) -> _Part:
        return _Part("args", _Args(tuple(c[1:]), distinct=True))

    def args(self, c: list[Any]) -> _Part:
        return _Part("args", _Args(tuple(c)))

    def named_arg(self, c: list[Any]) -> ast.NamedArg:
        return ast.NamedArg(c[0], c[2])

    def filter_clause(self, c: list[Any]) -> _Part:
        return _Part("filter", c[0])

    def over_clause(self, c: list[Any]) -> _Part:
        p = _parts(c)
        return _Part(
            "over",
            ast.Window(partition_by=p.get("partition_by", ()), order_by=p.get("order_by", ())),
        )

    def partition_by(self, c: list[Any]) -> _Part:
        return _Part("partition_by", tuple(c[1:]))  # c[0] is the PARTITION keyword

    def name(self, c: list[Token]) -> str:
        return identifier(str(c[0]))


@dataclass(frozen=True)
class _Args:
    args: tuple[Any, ...]
    star: bool = False
    distinct: bool = False


_NO_ARGS = _Args(())
