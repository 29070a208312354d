"""Shared pieces of the question reader: word helpers, the scope model, clauses and the
:class:`Reading` a query is read into.

The reader (:mod:`cimgen.question.reading`) is built in layers, one module each: scope and
links between tables (:mod:`~cimgen.question.scope`), expressions as short noun phrases
(:mod:`~cimgen.question.expressions`), geometry (:mod:`~cimgen.question.geometry`),
conditions (:mod:`~cimgen.question.conditions`) and whole queries; the voices
(:mod:`~cimgen.question.voices`) then arrange a :class:`Reading` into a sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from cimgen import ast
from cimgen.question.vocabulary import TableWords
from cimgen.scope import Scope as NameScope

TONES = (
    "DIRECT",
    "INTERROGATIVE",
    "ANALYTICAL",
    "AGGREGATE",
    "SPATIAL_SPECIFIC",
    "TEMPORAL",
    "CONDITIONAL",
)
METRIC_SRIDS = {3857, 3003, 3004, 2154, 27700, 6707, 6708, 7791, 7792, 3035}
AGG_WORDS = {
    "SUM": "total",
    "AVG": "average",
    "MIN": "minimum",
    "MAX": "maximum",
    "STDDEV": "spread of",
}
CMP = {  # operator -> phrasings before the value (one word where one will do)
    ">": ("over", "above"),
    ">=": ("at least",),
    "<": ("below", "under"),
    "<=": ("at most", "up to"),
}
FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
NEGATE = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "<>", "<>": "="}
AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "BOOL_AND", "STRING_AGG", "ST_Extent"}


# --------------------------------------------------------------------------- small helpers


def join_words(items: list[str], last: str = "and") -> str:
    """``a, b and c``.

    >>> join_words(["height", "area", "volume"])
    'height, area and volume'
    """
    items = [i for i in items if i]
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def merge_heads(nouns: list[str]) -> list[str]:
    """Nouns that differ only in their first word share the rest, the way people say them.

    >>> merge_heads(["average height", "maximum height", "project ID", "scenario ID", "area"])
    ['average and maximum height', 'project and scenario ID', 'area']
    """
    heads: list[list[str]] = []
    tails: list[str] = []
    index: dict[str, int] = {}
    for noun in dict.fromkeys(nouns):
        head, _, tail = noun.partition(" ")
        if tail and not head[:1].isdigit() and not head.startswith(("'", "(")):
            if tail in index:
                heads[index[tail]].append(head)
                continue
            index[tail] = len(heads)
            heads.append([head])
            tails.append(tail)
        else:
            heads.append([noun])
            tails.append("")
    return [f"{join_words(h)} {t}" if t else h[0] for h, t in zip(heads, tails, strict=True)]


_SHARED_LEADS = ("average", "total", "minimum", "maximum")


def share_leads(nouns: list[str]) -> list[str]:
    """Neighbours that start with the same aggregate word share it.

    >>> share_leads(["average height", "average area", "average volume", "count"])
    ['average height, area and volume', 'count']
    """
    out: list[list[str]] = []
    lead = ""
    for noun in nouns:
        head, _, rest = noun.partition(" ")
        if rest.startswith("and "):  # already shared ("maximum and total area")
            lead = ""
            out.append([noun])
            continue
        if head in _SHARED_LEADS and rest and head == lead:
            out[-1].append(rest)
            continue
        lead = head if head in _SHARED_LEADS and rest else ""
        out.append([noun])
    return [join_words(g) for g in out]


def compound(core: str, word: str) -> str:
    """``convex hull`` + ``area`` -> ``convex hull area``; a core that is a phrase of its
    own keeps apart: ``area of the overlap with the project``."""
    if any(w in core for w in (" with ", " to ", " around ", " of ", " outside ", "(")):
        return f"{word} of {core if core.startswith('the ') else 'the ' + core}"
    return f"{core} {word}"


# letters whose names start with a vowel sound: an acronym said letter by letter takes "an"
_AN_LETTERS = frozenset("AEFHILMNORSX")


def indefinite(phrase: str) -> str:
    """``a`` or ``an`` for ``phrase``, by its first sound: an acronym is said letter by
    letter ("an LV bus", "an HV line", "a DSM tile"), a word by its first letter.

    >>> [indefinite(w) for w in ("LV bus", "heating system", "invalid geometry", "DSM tile")]
    ['an', 'a', 'an', 'a']
    """
    word = phrase.split(" ", 1)[0]
    if len(word) > 1 and word.isalpha() and word.isupper():
        return "an" if word[0] in _AN_LETTERS else "a"
    return "an" if word[:1].lower() in "aeiou" else "a"


def belonging(things: list[str]) -> str:
    """What rows belong to: ``project 'p'`` + ``scenario 's'`` -> ``'p', scenario 's'``
    (the first named by its value alone when both are one word and a value: the fourth
    pass's ``'p'/'s'`` read as code).

    >>> belonging(["project 'p'", "scenario 's'"]), belonging(["project 'p'"])
    ("'p', scenario 's'", "project 'p'")
    """
    if len(things) == 2:
        a, b = things
        short = all(t.count(" ") == 1 and t.endswith("'") for t in things)
        return f"{a.partition(' ')[2]}, {b}" if short else f"{a}, {b}"
    return join_words(things)


# "in 'p', scenario 's'" with a one-word scenario, said shorter
_CONTEXT = re.compile(r"in ('[^']*'), \w+ '([a-z]{3,})'")
CONTEXT_FORMS = ("after", "before")  # how a short project and scenario may be said


def in_context(noun: str, context: str, form: str = "") -> str:
    """``noun`` in its project and scenario. A one-word scenario is said the way Stage 1's
    authors say it, in three words where ``in 'p', scenario 's'`` took four (in two of
    three questions of the default job, sixth pass): after the project (``form``
    "after": ``buildings in 'p' (baseline)``) or as the adjective people use for it
    ("before": ``baseline LV buses in 'p'``); other contexts, and ``form`` "", follow the
    noun as they are.

    >>> in_context("LV buses", "in 'p', scenario 'baseline'", "before")
    "baseline LV buses in 'p'"
    >>> in_context("lines", "in 'p', scenario 'optimized'", "after")
    "lines in 'p' (optimized)"
    >>> in_context("lines", "in project 'p'", "before")
    "lines in project 'p'"
    """
    m = _CONTEXT.fullmatch(context)
    if m and form == "before":
        return f"{m[2]} {noun} in {m[1]}"
    if m and form == "after":
        return f"{noun} in {m[1]} ({m[2]})"
    return f"{noun} {context}" if context else noun


def with_links(text: str, links: list[str], bare: bool) -> str:
    """``text`` followed by the tables joined to it: right after a bare noun a link reads
    on (``lines with their source buses``, ``lines and the census zones containing
    them``); after conditions or another link it is set apart with a comma, so that
    ``within the box (...), and the other buses within 100 m of them`` cannot read as
    "within the box and the other buses" (blind review, fifth pass)."""
    for i, link in enumerate(links):
        tight = bare and i == 0 and link.startswith(("and ", "with ", "whose "))
        if i and link.startswith("with the ") and links[i - 1].startswith("with "):
            # a join of the joined rows goes with them: "with buses within 150 m and the
            # lines from the bus", not "..., with buses within 150 m, with the lines from
            # the bus" (a chain of clauses: the thirteenth pass's blind review)
            # ... "and the lines from each bus": the bus is each of the buses just named
            m = re.search(r" (?:from|to) the ([a-z]+(?: [a-z]+)?)$", link)
            if m and re.search(rf"\b{m[1]}(?:e?s)\b", links[i - 1]):
                link = link[: m.start(1) - 4] + "each " + m[1]
            text += " and " + link.removeprefix("with ")
            continue
        text += (" " if tight else ", ") + link
    return text


def verb_s(phrase: str) -> str:
    """Third person singular: ``lie within`` -> ``lies within``, ``are covered by`` ->
    ``is covered by``, ``do not touch`` -> ``does not touch``."""
    head, _, rest = phrase.partition(" ")
    head = {"are": "is", "do": "does", "have": "has"}.get(
        head, head + ("es" if head.endswith(("ch", "sh", "ss", "x")) else "s")
    )
    return f"{head} {rest}" if rest else head


def the(noun: str) -> str:
    if noun.startswith(("the ", "a ", "an ", "all ", "their ", "its ", "'", "(", "whether ")) or (
        noun[:1].isdigit()
    ):
        return noun
    return "the " + noun


def possessive(label: str) -> str:
    """``the census zone`` -> ``the census zone's`` (labels are singular)."""
    return label + "'s"


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
    if isinstance(e, ast.Cast):
        return literal(e.expr)
    return None


def with_unit(value: str, unit: str) -> str:
    if not unit or value.startswith("'"):
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


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
    """Whether ``e`` aggregates (outside subqueries)."""
    stack: list[object] = [e]
    while stack:
        node = stack.pop()
        if is_agg_call(node):  # type: ignore[arg-type]
            return True
        if isinstance(node, ast.Subquery | ast.Exists | ast.InSubquery | ast.Query):
            continue
        stack.extend(ast.children(node))
    return False


def columns_in(e: object) -> list[ast.Column]:
    """The column references of ``e``, subqueries included (they may correlate)."""
    out: list[ast.Column] = []
    stack: list[object] = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Column):
            out.append(node)
            continue
        stack.extend(ast.children(node))
    return out


# --------------------------------------------------------------------------- scope


@dataclass(eq=False)
class Source:
    """A FROM item as the question sees it."""

    ref: str
    words: TableWords
    key: str | None  # schema table (qualified) of a base table
    query: ast.Query | None  # body of a CTE or derived table
    label: str  # "the census zone", "the other building"
    attached: bool = False  # its columns read as the subject's own ("with height ...")
    mentioned: bool = False  # a column of it was named somewhere in the question
    listed: bool = False  # its own name or identifier is returned: its rows are asked for
    filters: list[Clause] = field(default_factory=list)  # clauses about this source


@dataclass(eq=False)
class BlockWords:
    """One SELECT block as the question reads it: its FROM items in words (``sources``,
    by reference name) and who the rows are; ``names`` is the block's name resolution
    (:mod:`cimgen.scope`), chained like ``parent``."""

    parent: BlockWords | None
    names: NameScope | None = None
    sources: dict[str, Source] = field(default_factory=dict)
    subject: Source | None = None
    aliases: dict[str, ast.Expr] = field(default_factory=dict)
    focus: Source | None = None  # the source relative clauses are about (default: subject)

    def own(self, src: Source | None, depth: int) -> bool:
        """Whether columns of ``src`` read unqualified here ("with height over 25 m")."""
        if src is None:
            return True
        if depth:
            return False
        focus = self.focus or self.subject
        if focus is None or src is focus:
            return True
        return src.attached and focus is self.subject


@dataclass(frozen=True)
class Clause:
    """One condition as words: ``rel`` follows a noun (``with height over 25 m``),
    ``pred`` follows a plural subject (``have height over 25 m``); ``adjective`` is set when
    the clause reads best before the noun (``residential``)."""

    rel: str
    pred: str = ""
    spatial: bool = False
    adjective: str = ""
    temporal: str = ""  # the time noun it tests ("construction year")
    within: str = ""  # "project 'p'": the thing the rows belong to
    noun: str = ""  # the subject's own value it tests ("height"): said, so not listed again

    @property
    def verb(self) -> str:
        return self.pred or f"are {self.rel}"


@dataclass(frozen=True)
class Item:
    """One returned thing: ``text`` (``height``, ``distance to (9.19, 45.47)``) and the label
    of the table it belongs to when that is not the subject (``the census zone``)."""

    text: str
    owner: str = ""
    measure: bool = False


@dataclass
class Order:
    noun: str
    descending: bool
    distance: str = ""  # what the distance is to, when ordering by a distance
    temporal: bool = False  # a time: "latest" / "earliest"
    text: bool = False  # words (a name): "first 5 by name", "in reverse order"


@dataclass
class Reading:
    """What one query says, in short phrases; a voice arranges it into a sentence."""

    subject: str = ""
    singular: str = ""
    adjectives: list[str] = field(default_factory=list)
    context: str = ""  # project / scenario: "in project 'p', scenario 's'"
    context_form: str = ""  # how it is said (base.CONTEXT_FORMS; "": as it is)
    within: list[str] = field(default_factory=list)  # what context names: "project 'p'"
    filters: list[Clause] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    where: list[str] = field(default_factory=list)  # conditions across tables, as sentences
    returns: list[Item] = field(default_factory=list)
    aggregate: bool = False
    counts_only: bool = False  # every measure is a row count
    group: list[str] = field(default_factory=list)
    group_plural: str = ""  # "municipalities" when the grouping key names things
    having: list[Clause] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)  # windows, subquery columns, CTE limits
    shaping: list[str] = field(default_factory=list)  # "grouped into DBSCAN clusters ..."
    order: list[Order] = field(default_factory=list)
    limit: str = ""
    # the LIMIT of unordered rows, said before the noun: "10 LV buses", "the first 10
    # buildings" (in the stable order by ID); never a trailing ", only 10"
    counted: str = ""
    offset: str = ""
    distinct: bool = False
    labels: list[str] = field(default_factory=list)  # constant columns ("'DTM'")
    arms: list[tuple[str, Reading]] = field(default_factory=list)  # set operation arms
    temporal: list[str] = field(default_factory=list)
    spatial_link: bool = False
    # an output says where a row is (coordinates, a centroid, a geometry): only then is a
    # question asked with "where" (blind review of the fourteenth pass: "'Where are' without
    # location output")
    located: bool = False
    said: set[str] = field(default_factory=set)  # own values the conditions already name
    rasters: int = 0  # raster tables the block reads (a tile's statistic says whose)

    @property
    def spatial(self) -> bool:
        return self.spatial_link or any(c.spatial for c in self.filters)
