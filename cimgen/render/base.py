"""The shared AST -> SQL renderer.

:class:`Renderer` renders PostgreSQL/PostGIS text; the backend renderers subclass it and
override a few hooks (function names, casts, operators, table names, literals). Expressions
dispatch on the node class through one table; every expression method returns
``(text, precedence)`` so a parent adds parentheses only where the grammar needs them (the
AST stores none). Layout: one clause per line, nested queries indented by two spaces.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from pglast.keywords import COL_NAME_KEYWORDS, RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from cimgen import ast
from cimgen.errors import QueryError
from cimgen.scope import Scope, first_select


@dataclass(frozen=True)
class Rendered:
    """One backend's rendering. ``sql`` is None when the dialect lacks a construct the query
    uses (``unsupported`` says which: the query is "not checkable" there), or when the
    renderer itself failed (``defect`` holds the traceback: a bug of ours, finding RND001,
    never "not checkable")."""

    sql: str | None
    unsupported: str | None = None
    defect: str | None = None


class Unsupported(QueryError):
    """Raised while rendering for a backend that lacks a construct; becomes a Rendered."""


# --------------------------------------------------------------------------- lexical

_PLAIN_IDENT = re.compile(r"[a-z_][a-z0-9_]*\Z")

# Names quoted even though they are plain: PostgreSQL's reserved, type/function-name and
# column-name keywords, plus the few words cimgen's grammar reserves beyond those.
PG_KEYWORDS = frozenset(RESERVED_KEYWORDS | TYPE_FUNC_NAME_KEYWORDS | COL_NAME_KEYWORDS) | {
    "by",
    "filter",
    "over",
}


def quote_ident(name: str, keywords: frozenset[str] = PG_KEYWORDS) -> str:
    """Quote ``name`` only if it is not a plain lowercase identifier or is a keyword.

    >>> quote_ident("sez2011"), quote_ident("SEZ2011"), quote_ident("order")
    ('sez2011', '"SEZ2011"', '"order"')
    """
    if _PLAIN_IDENT.match(name) and name not in keywords:
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """A standard SQL string literal: quotes doubled, backslashes literal.

    >>> quote_string("O'Brien")
    "'O''Brien'"
    """
    return "'" + value.replace("'", "''") + "'"


# --------------------------------------------------------------------------- precedence

# PostgreSQL's table, lowest first (the grammar in grammar/cim_sql.lark follows it).
P_OR, P_AND, P_NOT, P_IS, P_CMP, P_LIKE, P_OTHER, P_ADD, P_MUL, P_UNARY, P_CAST, P_ATOM = (
    10 * i for i in range(1, 13)
)
_PG_BINARY = {
    "OR": P_OR,
    "AND": P_AND,
    **dict.fromkeys(("=", "<>", "<", "<=", ">", ">="), P_CMP),
    "LIKE": P_LIKE,
    "ILIKE": P_LIKE,
    **dict.fromkeys(("||", "<->", "&&"), P_OTHER),
    "+": P_ADD,
    "-": P_ADD,
    **dict.fromkeys(("*", "/", "%"), P_MUL),
}

LINE_WIDTH = 80  # a SELECT list or WHERE condition longer than this is split over lines
_JOIN_WORDS = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL JOIN"}
_SETOP_PREC = {"UNION": 1, "EXCEPT": 1, "INTERSECT": 2}

Text = tuple[str, int]
ExprMethod = Callable[[Any, Any, Scope | None], Text]


# quote_ident results per keyword set (identifier quoting is the renderer's hottest call).
_IDENT_CACHES: dict[frozenset[str], dict[str, str]] = {}


def indent(text: str) -> str:
    return text.replace("\n", "\n  ")


class Renderer:
    """PostgreSQL / PostGIS rendering; subclasses adapt it to another backend."""

    backend: ClassVar[str] = "PostGIS"
    keywords: ClassVar[frozenset[str]] = PG_KEYWORDS
    binary_prec: ClassVar[dict[str, int]] = _PG_BINARY
    nonassoc: ClassVar[frozenset[int]] = frozenset({P_CMP, P_LIKE, P_IS})
    p_not: ClassVar[int] = P_NOT
    p_is: ClassVar[int] = P_IS
    p_like: ClassVar[int] = P_LIKE  # BETWEEN, IN, LIKE
    p_unary: ClassVar[int] = P_UNARY
    uses_scope: ClassVar[bool] = False  # backends resolve names; PostGIS text needs none

    _dispatch: ClassVar[dict[type, str]] = {
        ast.Number: "_number",
        ast.String: "_string",
        ast.Boolean: "_boolean",
        ast.Null: "_null",
        ast.Column: "_column",
        ast.Star: "_star",
        ast.BinaryOp: "_binary",
        ast.UnaryOp: "_unary",
        ast.Between: "_between",
        ast.InList: "_in_list",
        ast.InSubquery: "_in_subquery",
        ast.Exists: "_exists",
        ast.IsNull: "_is_null",
        ast.Case: "_case",
        ast.Cast: "_cast",
        ast.NamedArg: "_named_arg",
        ast.FuncCall: "_func",
        ast.FieldAccess: "_field_access",
        ast.Subquery: "_subquery",
    }

    def __init__(self) -> None:
        self._methods: dict[type, ExprMethod] = {
            cls: getattr(type(self), name) for cls, name in self._dispatch.items()
        }
        self._idents = _IDENT_CACHES.setdefault(self.keywords, {})

    # ------------------------------------------------------------------ entry points

    def render(self, query: ast.Query) -> str:
        return self.query(query, None, {})

    def ident(self, name: str) -> str:
        quoted = self._idents.get(name)
        if quoted is None:
            if len(self._idents) > 50_000:  # generated aliases are few; bound it anyway
                self._idents.clear()
            quoted = self._idents[name] = quote_ident(name, self.keywords)
        return quoted

    def expr(self, node: Any, scope: Scope | None) -> Text:
        method = self._methods.get(type(node))
        if method is None:
            raise Unsupported(f"cannot render {type(node).__name__} as an expression")
        return method(self, node, scope)

    def text(self, node: Any, scope: Scope | None) -> str:
        return self.expr(node, scope)[0]

    def sub(self, node: Any, scope: Scope | None, need: int) -> str:
        """``node`` as an operand that must bind at least as tightly as ``need``."""
        text, prec = self.expr(node, scope)
        return text if prec >= need else f"({text})"

    # ------------------------------------------------------------------ queries

    def query(self, q: ast.Query, parent: Scope | None, ctes: dict[str, ast.CTE]) -> str:
        lines: list[str] = []
        if q.ctes:
            ctes = dict(ctes)
            parts = []
            for i, cte in enumerate(q.ctes):
                cols = f"({', '.join(map(self.ident, cte.columns))})" if cte.columns else ""
                body = self.query(cte.query, parent, ctes)
                lead = "WITH " if i == 0 else ""
                parts.append(f"{lead}{self.ident(cte.name)}{cols} AS (\n  {indent(body)}\n)")
                ctes[cte.name] = cte
            lines.append(",\n".join(parts))
        lines.append(self.body(q.body, parent, ctes))
        scope = self.order_scope(q, parent, ctes)
        if q.order_by:
            lines.append("ORDER BY " + ", ".join(self.order_items(q, scope)))
        lines.extend(self.limit_offset(q, scope))
        return "\n".join(lines)

    def order_scope(
        self, q: ast.Query, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> Scope | None:
        """ORDER BY may name the FROM items of the (first) SELECT block."""
        if not self.uses_scope or not (q.order_by or q.limit or q.offset):
            return parent
        return self.scope_of(first_select(q.body), parent, ctes)

    def limit_offset(self, q: ast.Query, scope: Scope | None) -> list[str]:
        out = []
        if q.limit is not None:
            out.append("LIMIT " + self.text(q.limit, scope))
        if q.offset is not None:
            out.append("OFFSET " + self.text(q.offset, scope))
        return out

    def body(
        self, body: ast.Select | ast.SetOp | ast.Query, parent: Scope | None, ctes: dict
    ) -> str:
        if isinstance(body, ast.Select):
            return self.select(body, parent, ctes)
        if isinstance(body, ast.SetOp):
            return self.set_op(body, parent, ctes)
        if isinstance(body, ast.Query):
            return self.query(body, parent, ctes)
        raise Unsupported(f"cannot render {type(body).__name__} as a query body")

    def set_op(self, node: ast.SetOp, parent: Scope | None, ctes: dict) -> str:
        prec = _SETOP_PREC.get(node.op, 1)
        left = self.set_arm(node.left, parent, ctes, prec, right=False)
        right = self.set_arm(node.right, parent, ctes, prec, right=True)
        return f"{left}\n{node.op}{' ALL' if node.all else ''}\n{right}"

    def set_arm(
        self,
        arm: ast.Select | ast.SetOp | ast.Query,
        parent: Scope | None,
        ctes: dict,
        prec: int,
        right: bool,
    ) -> str:
        if isinstance(arm, ast.Query):
            if arm.ctes or arm.order_by or arm.limit is not None or arm.offset is not None:
                return f"({indent(self.query(arm, parent, ctes))})"
            arm = arm.body
        text = self.body(arm, parent, ctes)
        if isinstance(arm, ast.SetOp):
            arm_prec = _SETOP_PREC.get(arm.op, 1)
            if arm_prec < prec or (right and arm_prec == prec):
                return f"({indent(text)})"
        return text

    def scope_of(self, select: ast.Select, parent: Scope | None, ctes: dict) -> Scope | None:
        return None

    def select(self, s: ast.Select, parent: Scope | None, ctes: dict) -> str:
        scope = self.scope_of(s, parent, ctes) if self.uses_scope else None
        items = [self.select_item(i, scope) for i in s.items]
        one_line = ", ".join(items)
        if len(one_line) > LINE_WIDTH or "\n" in one_line:  # then one item per line
            one_line = ",\n  ".join(indent(i) for i in items)
        lines = [f"SELECT {'DISTINCT ' if s.distinct else ''}{one_line}"]
        if s.from_:
            froms = ", ".join(self.from_item(f, scope, ctes) for f in s.from_)
            lines.append("FROM " + froms)
        if s.where is not None:
            lines.append("WHERE " + self.condition(s.where, scope))
        if s.group_by:
            lines.append("GROUP BY " + ", ".join(self.text(e, scope) for e in s.group_by))
        if s.having is not None:
            lines.append("HAVING " + self.condition(s.having, scope))
        return "\n".join(lines)

    def condition(self, node: Any, scope: Scope | None) -> str:
        """A WHERE / HAVING condition; a long AND chain gets one conjunct per line."""
        if not (isinstance(node, ast.BinaryOp) and node.op == "AND"):
            return self.text(node, scope)
        conjuncts = []
        while isinstance(node, ast.BinaryOp) and node.op == "AND":  # the left-deep spine
            conjuncts.append(node.right)
            node = node.left
        conjuncts.append(node)
        conjuncts.reverse()
        p_and = self.binary_prec["AND"]
        parts = [self.sub(conjuncts[0], scope, p_and)]
        parts += [self.sub(c, scope, p_and + 1) for c in conjuncts[1:]]
        one_line = " AND ".join(parts)
        if len(one_line) <= LINE_WIDTH and "\n" not in one_line:
            return one_line
        return "\n  AND ".join(indent(p) for p in parts)

    def join_condition(self, node: Any, scope: Scope | None) -> str:
        """A JOIN's ON condition (one line)."""
        return self.text(node, scope)

    def select_item(self, item: ast.SelectItem, scope: Scope | None) -> str:
        text = self.text(item.expr, scope)
        return f"{text} AS {self.ident(item.alias)}" if item.alias else text

    def from_item(self, item: ast.FromItem, scope: Scope | None, ctes: dict) -> str:
        if isinstance(item, ast.TableRef):
            return self.table_ref(item, ctes)
        if isinstance(item, ast.DerivedTable):
            inner = self.query(item.query, None, ctes)  # not LATERAL: no outer names
            return f"(\n  {indent(inner)}\n) AS {self.ident(item.alias)}"
        if isinstance(item, ast.Join):
            left = self.from_item(item.left, scope, ctes)
            right = self.from_item(item.right, scope, ctes)
            if isinstance(item.right, ast.Join):
                right = f"({right})"
            if item.kind == "CROSS":
                return f"{left}\nCROSS JOIN {right}"
            word = _JOIN_WORDS.get(item.kind)
            if word is None:
                raise Unsupported(f"unknown join kind {item.kind!r}")
            on = f" ON {self.join_condition(item.on, scope)}" if item.on is not None else ""
            return f"{left}\n{word} {right}{on}"
        raise Unsupported(f"cannot render {type(item).__name__} in FROM")

    def table_ref(self, ref: ast.TableRef, ctes: dict) -> str:
        name = self.ident(ref.name)
        if ref.schema:
            name = f"{self.ident(ref.schema)}.{name}"
        return f"{name} AS {self.ident(ref.alias)}" if ref.alias else name

    def order_items(self, q: ast.Query, scope: Scope | None) -> list[str]:
        """The rendered ORDER BY items of a query."""
        return [self.order_item(o, scope) for o in q.order_by]

    def order_item(self, item: ast.OrderItem, scope: Scope | None) -> str:
        out = self.text(item.expr, scope)
        if item.direction:
            out += " " + item.direction
        if item.nulls:
            out += " NULLS " + item.nulls
        return out

    def window(self, w: ast.Window, scope: Scope | None) -> str:
        parts = []
        if w.partition_by:
            parts.append("PARTITION BY " + ", ".join(self.text(e, scope) for e in w.partition_by))
        if w.order_by:
            parts.append("ORDER BY " + ", ".join(self.order_item(o, scope) for o in w.order_by))
        return f"OVER ({' '.join(parts)})"

    def nested(self, q: ast.Query, scope: Scope | None) -> str:
        """A parenthesised subquery inside an expression (correlated: sees ``scope``)."""
        ctes = scope.ctes if scope is not None else {}
        return f"({indent(self.query(q, scope, ctes))})"

    # ------------------------------------------------------------------ literals and names

    def _number(self, node: ast.Number, scope: Scope | None) -> Text:
        return node.text, (self.p_unary if node.text.startswith("-") else P_ATOM)

    def _string(self, node: ast.String, scope: Scope | None) -> Text:
        return quote_string(node.value), P_ATOM

    def _boolean(self, node: ast.Boolean, scope: Scope | None) -> Text:
        return ("true" if node.value else "false"), P_ATOM

    def _null(self, node: ast.Null, scope: Scope | None) -> Text:
        return "NULL", P_ATOM

    def _column(self, node: ast.Column, scope: Scope | None) -> Text:
        name = self.ident(node.name)
        return (f"{self.ident(node.table)}.{name}" if node.table else name), P_ATOM

    def _star(self, node: ast.Star, scope: Scope | None) -> Text:
        return (f"{self.ident(node.table)}.*" if node.table else "*"), P_ATOM

    # ------------------------------------------------------------------ operators

    def _binary(self, node: ast.BinaryOp, scope: Scope | None) -> Text:
        return self.binary(node.op, node.left, node.right, scope)

    def binary(
        self, op: str, left: Any, right: Any, scope: Scope | None, negated: bool = False
    ) -> Text:
        """``left op right``; ``negated`` gives ``a NOT LIKE b``."""
        prec = self.binary_prec.get(op, P_OTHER)
        lhs = self.sub(left, scope, prec + 1 if prec in self.nonassoc else prec)
        rhs = self.sub(right, scope, prec + 1)
        return f"{lhs} {'NOT ' if negated else ''}{op} {rhs}", prec

    def _unary(self, node: ast.UnaryOp, scope: Scope | None) -> Text:
        operand = node.operand
        if node.op == "NOT":
            if isinstance(operand, ast.BinaryOp) and operand.op in ("LIKE", "ILIKE"):
                return self.binary(operand.op, operand.left, operand.right, scope, negated=True)
            return f"NOT {self.sub(operand, scope, self.p_not)}", self.p_not
        text = self.sub(operand, scope, self.p_unary)
        if text.startswith(("-", "+")):  # "--" would start a comment
            text = f"({text})"
        return f"{node.op}{text}", self.p_unary

    def _between(self, node: ast.Between, scope: Scope | None) -> Text:
        need = self.p_like + 1
        word = "NOT BETWEEN" if node.negated else "BETWEEN"
        low, high = self.sub(node.low, scope, need), self.sub(node.high, scope, need)
        return f"{self.sub(node.expr, scope, need)} {word} {low} AND {high}", self.p_like

    def _in_list(self, node: ast.InList, scope: Scope | None) -> Text:
        items = ", ".join(self.text(i, scope) for i in node.items)
        word = "NOT IN" if node.negated else "IN"
        return f"{self.sub(node.expr, scope, self.p_like + 1)} {word} ({items})", self.p_like

    def _in_subquery(self, node: ast.InSubquery, scope: Scope | None) -> Text:
        word = "NOT IN" if node.negated else "IN"
        lhs = self.sub(node.expr, scope, self.p_like + 1)
        return f"{lhs} {word} {self.nested(node.query, scope)}", self.p_like

    def _exists(self, node: ast.Exists, scope: Scope | None) -> Text:
        return f"EXISTS {self.nested(node.query, scope)}", P_ATOM

    def _is_null(self, node: ast.IsNull, scope: Scope | None) -> Text:
        word = "IS NOT NULL" if node.negated else "IS NULL"
        return f"{self.sub(node.expr, scope, self.p_is + 1)} {word}", self.p_is

    def _case(self, node: ast.Case, scope: Scope | None) -> Text:
        parts = ["CASE"]
        if node.operand is not None:
            parts.append(self.text(node.operand, scope))
        for w in node.whens:
            parts.append(f"WHEN {self.text(w.condition, scope)} THEN {self.text(w.result, scope)}")
        if node.else_ is not None:
            parts.append("ELSE " + self.text(node.else_, scope))
        parts.append("END")
        return " ".join(parts), P_ATOM

    def _cast(self, node: ast.Cast, scope: Scope | None) -> Text:
        if node.style == "CAST":
            return f"CAST({self.text(node.expr, scope)} AS {node.type_name})", P_ATOM
        return f"{self.sub(node.expr, scope, P_CAST)}::{node.type_name}", P_CAST

    def _named_arg(self, node: ast.NamedArg, scope: Scope | None) -> Text:
        return f"{self.ident(node.name)} := {self.text(node.value, scope)}", P_ATOM

    def _field_access(self, node: ast.FieldAccess, scope: Scope | None) -> Text:
        return f"({self.text(node.expr, scope)}).{self.ident(node.field)}", P_ATOM

    def _subquery(self, node: ast.Subquery, scope: Scope | None) -> Text:
        return self.nested(node.query, scope), P_ATOM

    # ------------------------------------------------------------------ functions

    def _func(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        name = f"{node.schema}.{node.name}" if node.schema else node.name
        return self.call(name, node, node.args, scope), P_ATOM

    def call(
        self, name: str, node: ast.FuncCall, args: tuple[Any, ...], scope: Scope | None
    ) -> str:
        """``name(args)`` with ``node``'s DISTINCT / * / FILTER / OVER decorations."""
        return self.call_texts(name, node, [self.text(a, scope) for a in args], scope)

    def call_texts(
        self, name: str, node: ast.FuncCall, args: list[str], scope: Scope | None
    ) -> str:
        """:meth:`call` with arguments already rendered."""
        if node.star:
            inner = "*"
        else:
            inner = ", ".join(args)
            if node.distinct:
                inner = "DISTINCT " + inner
        out = f"{name}({inner})"
        if node.filter is not None:
            out += f" FILTER (WHERE {self.text(node.filter, scope)})"
        if node.over is not None:
            out += " " + self.window(node.over, scope)
        return out
