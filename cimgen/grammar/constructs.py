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
}
ALL_CONSTRUCTS = frozenset(CONSTRUCTS)


@dataclass(frozen=True)
class GrammarFacts:
    """The constructs one grammar file admits."""

    path: Path
    constructs: frozenset[str]

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
    names = _names(text)
    return frozenset(c for c, needs in CONSTRUCTS.items() if all(n in names for n in needs))


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
        return GrammarFacts(path, constructs_of(text))
    except LarkError as exc:
        first = (str(exc).strip().splitlines() or ["invalid grammar"])[0]
        raise ConfigError(f"{path}: not a Lark grammar ({first}). Fix the file.") from None
