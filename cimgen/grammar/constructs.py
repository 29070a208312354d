"""What the loaded grammar admits: the constructs an expansion may build, read from the
grammar's own rules at start-up.

The grammar (``grammar/cim_sql.lark``) is the one definition of the language, so the
expander asks it rather than assuming: a grammar without ``over_clause`` admits no window
function, and :meth:`cimgen.expand.context.ExpansionContext.build` then offers none (nor
the catalogue's window-only functions, the clustering ones included) -- the expander never
builds what the validator would reject as ``SYN001``.

A construct is admitted when every rule, alias or terminal :data:`CONSTRUCTS` names for it
is in the compiled grammar:

>>> facts = grammar_facts()
>>> facts.admits("window"), facts.admits("cte"), len(facts.constructs) == len(CONSTRUCTS)
(True, True, True)
>>> text = default_grammar().read_text().replace(" over_clause?", "")
>>> "window" in constructs_of(text), "partition_by" in constructs_of(text)
(False, False)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lark import Lark
from lark.exceptions import LarkError

from cimgen import ast
from cimgen.errors import ConfigError
from cimgen.grammar.parse import GRAMMAR_FILE
from cimgen.paths import grammar_dir

# construct -> the rule names, rule aliases or terminal names (all needed) that express it
# in cim_sql.lark. Only constructs a query can do without: SELECT and FROM are the language.
CONSTRUCTS: dict[str, tuple[str, ...]] = {
    "cte": ("with_clause", "cte"),
    "derived_table": ("derived_table",),
    "inner_join": ("join_on", "inner"),
    "left_join": ("join_on", "left"),
    "right_join": ("join_on", "right"),
    "full_join": ("join_on", "full"),
    "cross_join": ("cross_join",),
    "union": ("union",),
    "intersect": ("intersect",),
    "except": ("except_",),
    "scalar_subquery": ("subquery",),
    "exists": ("exists",),
    "in_subquery": ("in_query",),
    "in_list": ("in_list",),
    "between": ("between",),
    "like": ("like",),
    "is_null": ("is_null",),
    "case": ("case_expr",),
    "cast": ("cast",),
    "group_by": ("group_by",),
    "having": ("having",),
    "order_by": ("order_by",),
    "limit": ("limit_clause",),
    "aggregate_filter": ("filter_clause",),
    "window": ("over_clause",),
    "partition_by": ("over_clause", "partition_by"),
    "named_argument": ("named_arg",),
    "field_access": ("field_access",),
    "knn": ("KNN",),
    "distinct": ("select_quant", "DISTINCT"),
    "distinct_argument": ("args_distinct",),
    "offset": ("limit_offset",),
}
ALL_CONSTRUCTS = frozenset(CONSTRUCTS)

# operator (as :class:`cimgen.ast.BinaryOp` / ``UnaryOp`` spell it) -> the terminal or rule
# alias that writes it; an operator whose name is missing from the grammar is not offered.
OPERATORS: dict[str, str] = {
    "=": "EQ",
    "<>": "NE",
    "!=": "NE2",
    "<": "LT",
    "<=": "LE",
    ">": "GT",
    ">=": "GE",
    "||": "CONCAT",
    "<->": "KNN",
    "&&": "OVERLAPS",
    "+": "PLUS",
    "-": "MINUS",
    "*": "STAR",
    "/": "SLASH",
    "%": "PERCENT",
    "AND": "and_",
    "OR": "or_",
    "NOT": "not_",
    "LIKE": "LIKE",
    "ILIKE": "ILIKE",
}
ALL_OPERATORS = frozenset(OPERATORS)


@dataclass(frozen=True)
class GrammarFacts:
    """The constructs one grammar file admits."""

    path: Path
    constructs: frozenset[str]
    operators: frozenset[str] = ALL_OPERATORS

    def admits(self, construct: str) -> bool:
        if construct not in CONSTRUCTS:
            raise KeyError(f"unknown construct {construct!r}: one of {sorted(CONSTRUCTS)}")
        return construct in self.constructs


def default_grammar() -> Path:
    """The bundled grammar file."""
    return grammar_dir() / GRAMMAR_FILE


def _names(text: str) -> set[str]:
    """Rule names, aliases and terminal names of a grammar (compiled by Lark, as the
    parser compiles it, so an unreachable or malformed rule is not counted)."""
    grammar = Lark(text, parser="lalr", lexer="basic", maybe_placeholders=False)
    names = {str(t.name) for t in grammar.terminals}
    for rule in grammar.rules:
        names.add(str(rule.origin.name))
        if rule.alias:
            names.add(str(rule.alias))
    return names


def constructs_of(text: str) -> frozenset[str]:
    """The constructs grammar ``text`` admits."""
    return _constructs(_names(text))


def _constructs(names: set[str]) -> frozenset[str]:
    return frozenset(c for c, needs in CONSTRUCTS.items() if all(n in names for n in needs))


def _operators(names: set[str]) -> frozenset[str]:
    return frozenset(op for op, name in OPERATORS.items() if name in names)


@lru_cache(maxsize=8)
def grammar_facts(path: Path | None = None) -> GrammarFacts:
    """What the grammar at ``path`` (default: the bundled one) admits; read once per file."""
    path = Path(path) if path is not None else default_grammar()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the grammar ({exc.strerror}). Fix the path."
        ) from None
    try:
        names = _names(text)
        return GrammarFacts(path, _constructs(names), _operators(names))
    except LarkError as exc:
        first = (str(exc).strip().splitlines() or ["invalid grammar"])[0]
        raise ConfigError(f"{path}: not a Lark grammar ({first}). Fix the file.") from None


_JOINS = {
    "INNER": "inner_join",
    "LEFT": "left_join",
    "RIGHT": "right_join",
    "FULL": "full_join",
    "CROSS": "cross_join",
}
_SETOPS = {"UNION": "union", "INTERSECT": "intersect", "EXCEPT": "except"}
_NODES: dict[type, str] = {
    ast.DerivedTable: "derived_table",
    ast.Subquery: "scalar_subquery",
    ast.Exists: "exists",
    ast.InSubquery: "in_subquery",
    ast.InList: "in_list",
    ast.Between: "between",
    ast.IsNull: "is_null",
    ast.Case: "case",
    ast.Cast: "cast",
    ast.NamedArg: "named_argument",
    ast.FieldAccess: "field_access",
}


@dataclass(frozen=True)
class Uses:
    """What one query is written with: constructs, operators and function names."""

    constructs: frozenset[str]
    operators: frozenset[str]
    functions: frozenset[str]


def uses(query: ast.Query) -> Uses:
    """The constructs (names of :data:`CONSTRUCTS`), operators (:data:`OPERATORS`) and
    function names ``query`` uses: what a grammar and a catalogue must admit for it.

    >>> from cimgen.grammar.parse import parse
    >>> u = uses(parse("SELECT DISTINCT ST_Area(geom) FROM t WHERE a LIKE 'x%' LIMIT 3"))
    >>> sorted(u.constructs), sorted(u.operators), sorted(u.functions)
    (['distinct', 'like', 'limit'], ['LIKE'], ['ST_Area'])
    """
    constructs: set[str] = set()
    operators: set[str] = set()
    functions: set[str] = set()
    for n in ast.walk(query):
        kind = _NODES.get(type(n))
        if kind is not None:
            constructs.add(kind)
        if isinstance(n, ast.Query):
            if n.ctes:
                constructs.add("cte")
            if n.order_by:
                constructs.add("order_by")
            if n.limit is not None:
                constructs.add("limit")
            if n.offset is not None:
                constructs.add("offset")
        elif isinstance(n, ast.Select):
            if n.group_by:
                constructs.add("group_by")
            if n.having is not None:
                constructs.add("having")
            if n.distinct:
                constructs.add("distinct")
        elif isinstance(n, ast.Join):
            constructs.add(_JOINS.get(n.kind.upper(), "inner_join"))
        elif isinstance(n, ast.SetOp):
            constructs.add(_SETOPS[n.op.upper()])
        elif isinstance(n, (ast.BinaryOp, ast.UnaryOp)):
            op = n.op.upper()
            operators.add(op)
            if op in ("LIKE", "ILIKE"):
                constructs.add("like")
            elif op == "<->":
                constructs.add("knn")
        elif isinstance(n, ast.FuncCall):
            functions.add(n.name)
            if n.filter is not None:
                constructs.add("aggregate_filter")
            if n.distinct:
                constructs.add("distinct_argument")
            if n.over is not None:
                constructs.add("window")
                if n.over.partition_by:
                    constructs.add("partition_by")
    return Uses(frozenset(constructs), frozenset(operators), frozenset(functions))
