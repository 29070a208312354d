"""Shared pieces of the question generator: word helpers, the scope model and :class:`Parts`.

A question is read off the AST by a reader (:mod:`cimgen.question.reading`) built in layers:
scope and column resolution (:mod:`~cimgen.question.scope`), expressions
(:mod:`~cimgen.question.expressions`), geometry (:mod:`~cimgen.question.geometry`),
conditions (:mod:`~cimgen.question.conditions`), query parts; tone templates
(:mod:`~cimgen.question.voices`) then arrange the :class:`Parts`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimgen import ast
from cimgen.question.vocabulary import TableWords

TONES = (
    "DIRECT",
    "INTERROGATIVE",
    "ANALYTICAL",
    "AGGREGATE",
    "SPATIAL_SPECIFIC",
    "TEMPORAL",
    "CONDITIONAL",
)
GEOGRAPHIC_SRIDS = {4326, 4258, 4269, 4030}
METRIC_SRIDS = {3857, 3003, 3004, 2154, 27700, 6707, 6708, 7791, 7792, 3035}
AGG_WORDS = {
    "SUM": "total",
    "AVG": "average",
    "MIN": "minimum",
    "MAX": "maximum",
    "STDDEV": "standard deviation of",
}
CMP = {  # operator -> phrasings after "is" (the value follows)
    ">": ("over", "above", "more than"),
    ">=": ("at least", "no less than"),
    "<": ("below", "under", "less than"),
    "<=": ("at most", "no more than"),
    "=": ("equal to",),
    "<>": ("different from", "not equal to"),
}
FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
INVERSE = {
    "ST_Within": "ST_Contains",
    "ST_Contains": "ST_Within",
    "ST_Covers": "ST_CoveredBy",
    "ST_CoveredBy": "ST_Covers",
}
GENERIC_GEOMS = {
    "",
    "geometry",
    "geom",
    "the geom",
    "rast",
    "raster",
    "location",
    "path",
    "shape",
    "DTM raster",
    "DSM raster",
}
AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "BOOL_AND", "STRING_AGG", "ST_Extent"}


# --------------------------------------------------------------------------- small helpers


def join_words(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


_LEADS = ("with", "whose", "that", "where")


def filter_list(items: list[str]) -> str:
    """Relative clauses joined so they read as one phrase: clauses with the same lead word
    share it (``with A``, ``with B`` -> ``with A and B``), the project / scenario phrase leads.

    >>> filter_list(["in project 'p'", "with height over 25 m", "whose type is 'x'",
    ...              "with area below 90 square metres"])
    "in project 'p' with height over 25 m and area below 90 square metres, whose type is 'x'"
    """
    groups: dict[str, list[str]] = {}
    for item in items:
        lead, _, rest = item.partition(" ")
        key = lead if lead in _LEADS and rest else f"{item}\0{len(groups)}"
        if key in groups:
            groups[key].append(rest)
        else:
            groups[key] = [item]
    texts = [join_words(g) for g in groups.values()]
    out = texts[0] if texts else ""
    for prev, text in zip(groups, texts[1:], strict=False):
        # "in project 'p', scenario 's' with height ..." reads on without a comma
        out += " " if prev.startswith(("in project", "in scenario", "for project")) else ", "
        out += text
    return out


def the(noun: str) -> str:
    if (
        noun.startswith(("the ", "a ", "an ", "all ", "their ", "'", "whether "))
        or noun[:1].isdigit()
    ):
        return noun
    return "the " + noun


def verb_s(phrase: str) -> str:
    """Third person singular of a catalogue verb phrase (``lie within`` -> ``lies within``)."""
    if phrase.startswith("are "):
        return "is " + phrase[4:]
    head, _, rest = phrase.partition(" ")
    head = head + ("es" if head.endswith(("ch", "sh", "ss", "x")) else "s")
    return f"{head} {rest}" if rest else head


def literal(e: ast.Expr) -> str | None:
    if isinstance(e, ast.Number):
        return e.text
    if isinstance(e, ast.String):
        return f"'{e.value}'"
    if isinstance(e, ast.Boolean):
        return "true" if e.value else "false"
    if isinstance(e, ast.Null):
        return "null"
    if isinstance(e, ast.UnaryOp) and e.op == "-" and isinstance(e.operand, ast.Number):
        return "-" + e.operand.text
    return None


def with_unit(value: str, unit: str) -> str:
    if not unit or value.startswith("'"):
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def conjuncts(e: ast.Expr) -> list[ast.Expr]:
    if isinstance(e, ast.BinaryOp) and e.op == "AND":
        return conjuncts(e.left) + conjuncts(e.right)
    return [e]


def is_agg_call(e: ast.Expr) -> bool:
    return (
        isinstance(e, ast.FuncCall)
        and e.over is None
        and (
            e.name.upper() in AGGREGATES
            or (e.name in ("ST_Union", "ST_Collect") and len(e.args) == 1)
            or e.name == "ST_Extent"
        )
    )


def has_agg(e: ast.Expr) -> bool:
    stack: list[object] = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FuncCall):
            if is_agg_call(node):
                return True
            stack.extend(node.args)
        elif isinstance(node, ast.BinaryOp):
            stack += [node.left, node.right]
        elif isinstance(node, ast.Cast | ast.UnaryOp | ast.FieldAccess):
            stack.append(node.expr if not isinstance(node, ast.UnaryOp) else node.operand)
        elif isinstance(node, ast.Case):
            stack.extend(w.result for w in node.whens)
    return False


# --------------------------------------------------------------------------- scope


@dataclass
class Source:
    ref: str
    words: TableWords
    key: str | None  # vocabulary key of a base table
    query: ast.Query | None  # body of a CTE or derived table
    attached: bool  # columns read as the subject's own ("whose height")
    label: str  # how other columns are qualified ("the grid bus", "the other building")


@dataclass
class Scope:
    parent: Scope | None
    sources: dict[str, Source] = field(default_factory=dict)
    subject: Source | None = None
    aliases: dict[str, ast.Expr] = field(default_factory=dict)


@dataclass
class Parts:
    """The described pieces of one SELECT (see module docstring)."""

    subject: str = ""
    singular: str = ""
    returns: list[str] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    aggregate: bool = False
    counts_only: bool = False
    has_sum: bool = False
    filters: list[str] = field(default_factory=list)
    spatial: list[bool] = field(default_factory=list)
    late: list[bool] = field(default_factory=list)  # about a joined table: after the joins
    joins: list[str] = field(default_factory=list)
    with_their: list[str] = field(default_factory=list)  # attached tables ("their properties")
    spatial_join: bool = False
    setop: bool = False
    group: str = ""
    having: str = ""
    window: str = ""
    order: str = ""
    limit: str = ""
    top: str = ""  # "the 10 ... with the highest x" form of order + limit
    temporal: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    distinct: bool = False
