"""A natural-language question (and a Stage 1 style instruction) for a query, from its AST.

The question is built in two steps:

1. :class:`_Reader` walks the outermost :class:`~cimgen.ast.Query` and collects :class:`Parts`:
   the subject (``buildings``), what is returned, the filters as relative clauses (``whose
   building height is greater than 25 m``, ``in project X, scenario 'baseline'``), joins,
   grouping, HAVING, window/clustering, ordering and the limit. Every literal of the WHERE
   clause, every threshold and the LIMIT end up in some phrase: faithfulness comes first.
2. a tone template (``DIRECT``, ``INTERROGATIVE``...) arranges the parts; several phrasings per
   construct are picked with the caller's seeded ``random.Random`` so similar queries still
   read differently. Unknown tones fall back to ``DIRECT``. docs/questions.md has the tone table.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.expand.vocabulary import (
    TableWords,
    Term,
    Vocabulary,
    humanise,
    plural,
    split_unit,
    vocabulary,
)
from cimgen.models import QueryFeatures
from cimgen.schema.model import Schema

TONES = (
    "DIRECT",
    "INTERROGATIVE",
    "ANALYTICAL",
    "AGGREGATE",
    "SPATIAL_SPECIFIC",
    "TEMPORAL",
    "CONDITIONAL",
)
_GEOGRAPHIC_SRIDS = {4326, 4258, 4269, 4030}
_METRIC_SRIDS = {3857, 3003, 3004, 2154, 27700, 6707, 6708, 7791, 7792, 3035}
_AGG_WORDS = {
    "SUM": "total",
    "AVG": "average",
    "MIN": "minimum",
    "MAX": "maximum",
    "STDDEV": "standard deviation of",
}
_CMP = {  # operator -> phrasings after "is" (the value follows)
    ">": ("greater than", "more than", "above", "over"),
    ">=": ("at least", "greater than or equal to", "no less than"),
    "<": ("less than", "below", "under"),
    "<=": ("at most", "less than or equal to", "no more than"),
    "=": ("equal to",),
    "<>": ("different from", "not equal to"),
}
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">=", "=": "=", "<>": "<>"}
_INVERSE = {
    "ST_Within": "ST_Contains",
    "ST_Contains": "ST_Within",
    "ST_Covers": "ST_CoveredBy",
    "ST_CoveredBy": "ST_Covers",
}
_GENERIC_GEOMS = {
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
_AGGREGATES = {"COUNT", "SUM", "AVG", "MIN", "MAX", "STDDEV", "BOOL_AND", "STRING_AGG", "ST_Extent"}


# --------------------------------------------------------------------------- small helpers


def _join(items: list[str], last: str = "and") -> str:
    if len(items) <= 1:
        return items[0] if items else ""
    return ", ".join(items[:-1]) + f" {last} " + items[-1]


def _the(noun: str) -> str:
    if (
        noun.startswith(("the ", "a ", "an ", "all ", "their ", "'", "whether "))
        or noun[:1].isdigit()
    ):
        return noun
    return "the " + noun


def _verb_s(phrase: str) -> str:
    """Third person singular of a catalogue verb phrase (``lie within`` -> ``lies within``)."""
    if phrase.startswith("are "):
        return "is " + phrase[4:]
    head, _, rest = phrase.partition(" ")
    head = head + ("es" if head.endswith(("ch", "sh", "ss", "x")) else "s")
    return f"{head} {rest}" if rest else head


def _value(e: ast.Expr) -> str | None:
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


def _with_unit(value: str, unit: str) -> str:
    if not unit or value.startswith("'"):
        return value
    return f"{value}{unit}" if unit == "%" else f"{value} {unit}"


def _conjuncts(e: ast.Expr) -> list[ast.Expr]:
    if isinstance(e, ast.BinaryOp) and e.op == "AND":
        return _conjuncts(e.left) + _conjuncts(e.right)
    return [e]


def _is_agg_call(e: ast.Expr) -> bool:
    return (
        isinstance(e, ast.FuncCall)
        and e.over is None
        and (
            e.name.upper() in _AGGREGATES
            or (e.name in ("ST_Union", "ST_Collect") and len(e.args) == 1)
            or e.name == "ST_Extent"
        )
    )


def _has_agg(e: ast.Expr) -> bool:
    stack: list[object] = [e]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.FuncCall):
            if _is_agg_call(node):
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
class _Source:
    ref: str
    words: TableWords
    key: str | None  # vocabulary key of a base table
    query: ast.Query | None  # body of a CTE or derived table
    attached: bool  # columns read as the subject's own ("whose height")
    label: str  # how other columns are qualified ("the grid bus", "the other building")


@dataclass
class _Scope:
    parent: _Scope | None
    sources: dict[str, _Source] = field(default_factory=dict)
    subject: _Source | None = None
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


# --------------------------------------------------------------------------- the reader


class _Reader:
    def __init__(self, vocab: Vocabulary, rng: random.Random, metric_srid: int | None) -> None:
        self.v = vocab
        self.rng = rng
        self.cat = load_catalogue()
        self.metric = _METRIC_SRIDS | ({metric_srid} if metric_srid else set())
        self.ctes: dict[str, ast.CTE] = {}
        self.inherit = True  # fold CTE filters into the outer description
        self._cte_scopes: dict[int, tuple[_Scope, Parts]] = {}

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.random() * len(options))]

    # ------------------------------------------------------------------ scope building

    def scope_for(self, sel: ast.Select, parent: _Scope | None, parts: Parts) -> _Scope:
        scope = _Scope(parent)
        seen: dict[str, int] = {}
        for item in sel.from_:
            self._add_from(item, scope, parts, seen, top=True)
        return scope

    def _source(
        self,
        item: ast.TableRef | ast.DerivedTable,
        scope: _Scope,
        seen: dict[str, int],
        parts: Parts,
    ) -> _Source:
        if isinstance(item, ast.DerivedTable):
            words, query, key, ref = (
                self._derived_words(item.query, parts),
                item.query,
                None,
                item.alias,
            )
        elif item.schema is None and item.name in self.ctes:
            cte = self.ctes[item.name]
            words, query, key, ref = (
                self._derived_words(cte.query, parts),
                cte.query,
                None,
                item.ref_name,
            )
        else:
            words = self.v.table(item.name, item.schema)
            query, ref = None, item.ref_name
            key = self.v.table_key(item.name, item.schema)
        n = seen.get(words.plural, 0)
        seen[words.plural] = n + 1
        label = (
            f"the {words.singular}"
            if n == 0
            else ("the other " + words.singular if n == 1 else f"{words.singular} number {n + 1}")
        )
        src = _Source(ref, words, key, query, attached=scope.subject is None, label=label)
        scope.sources[ref] = src
        if scope.subject is None:
            scope.subject = src
        return src

    def _derived_words(self, query: ast.Query, parts: Parts) -> TableWords:
        """A CTE / derived table reads as its own subject; its clauses join the outer ones."""
        sub = self._cte_parts(query)
        if self.inherit:
            self._merge(parts, sub)
        return TableWords(sub.subject or "rows", sub.singular or "row")

    def _merge(self, parts: Parts, sub: Parts) -> None:
        parts.filters += sub.filters
        parts.spatial += sub.spatial
        parts.joins += sub.joins
        parts.with_their += sub.with_their
        parts.spatial_join |= sub.spatial_join
        parts.temporal += sub.temporal
        inner = [p for p in (sub.window, sub.group, sub.having) if p]
        if inner:
            parts.window = _join([parts.window, *inner] if parts.window else inner, "and")
        if sub.top or sub.limit:
            parts.steps.append(sub.top or sub.limit)

    def _cte_parts(self, query: ast.Query) -> Parts:
        hit = self._cte_scopes.get(id(query))
        if hit is None:
            sub, scope = self._query(query, None)
            hit = (scope, sub)
            self._cte_scopes[id(query)] = hit
        return hit[1]

    def _add_from(
        self, item: ast.FromItem, scope: _Scope, parts: Parts, seen: dict[str, int], top: bool
    ) -> _Source | None:
        if isinstance(item, ast.Join):
            self._add_from(item.left, scope, parts, seen, top)
            right = self._add_from(item.right, scope, parts, seen, False)
            if right is not None:
                self._join_phrase(item, right, scope, parts)
            return None
        src = self._source(item, scope, seen, parts)
        if scope.subject is not src and top:  # comma join: a separate source
            src.attached = False
            parts.joins.append(f"combined with {src.words.plural}")
        return src

    def _join_phrase(self, join: ast.Join, right: _Source, scope: _Scope, parts: Parts) -> None:
        other = right.label.startswith(("the other ", right.words.singular + " number"))
        noun = ("other " if other else "") + right.words.plural
        optional = " (where available)" if join.kind in ("LEFT", "FULL") else ""
        if join.kind == "CROSS" or join.on is None:
            right.attached = False
            one = ("another " if other else "every ") + right.words.singular
            parts.joins.append(self.pick(("paired with ", "combined with ")) + one)
            return
        conds = _conjuncts(join.on)
        if all(
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
            for c in conds
        ):
            pairs = [(c.left, c.right) for c in conds if isinstance(c, ast.BinaryOp)]
            if all(a.name == b.name for a, b in pairs):  # type: ignore[union-attr]
                # the same entity seen from another table: its columns read as the subject's
                right.attached = True
                parts.with_their.append(
                    (right.words.singular + " records" if other else right.words.plural) + optional
                )
                return
            right.attached = False
            matches = []
            for a, b in pairs:
                if self.resolve(a, scope)[0] is right:  # type: ignore[arg-type]
                    a, b = b, a
                own = self.term(b, scope)[0].noun  # type: ignore[arg-type]
                matches.append(f"{own} matches {_the(self.expr(a, scope))}")
            text = _join(matches)
            parts.joins.append(f"together with the {noun} whose {text}{optional}")
            return
        right.attached = False
        spatial_first = next((c for c in conds if self._is_spatial_pred(c)), None)
        rest = [self.cond(c, scope, plain=True) for c in conds if c is not spatial_first]
        if spatial_first is not None:
            parts.spatial_join = True
            rel = self.spatial_pred(spatial_first, scope, about=right, plain=False)
            text = f"and the {noun} {rel}"
        else:
            text = f"joined with the {noun}"
        if rest:
            text += " where " + _join(rest)
        parts.joins.append(text + optional)

    # ------------------------------------------------------------------ resolution

    def resolve(self, col: ast.Column, scope: _Scope) -> tuple[_Source | None, int]:
        depth, s = 0, scope  # type: int, _Scope | None
        while s is not None:
            if col.table is not None:
                if col.table in s.sources:
                    return s.sources[col.table], depth
            else:
                for src in s.sources.values():
                    if self._has_column(src, col.name):
                        return src, depth
            s, depth = s.parent, depth + 1
        if col.table is None and scope.subject is not None:
            return scope.subject, 0
        return None, 0

    def _has_column(self, src: _Source, name: str) -> bool:
        if src.query is not None:
            return name in self._outputs(src.query)
        table = self.v.schema.table(src.key or "") or self.v.schema.find_table(src.key or "")
        return table is not None and table.column(name) is not None

    def _outputs(self, query: ast.Query) -> dict[str, ast.Expr]:
        body = query.body
        while isinstance(body, ast.SetOp):
            body = body.left.body if isinstance(body.left, ast.Query) else body.left
        out: dict[str, ast.Expr] = {}
        for item in body.items:
            if item.alias:
                out[item.alias] = item.expr
            elif isinstance(item.expr, ast.Column):
                out[item.expr.name] = item.expr
        return out

    def term(self, col: ast.Column, scope: _Scope) -> tuple[Term, _Source | None, int]:
        src, depth = self.resolve(col, scope)
        if src is None:
            return self.v.column(None, col.name), None, depth
        if src.query is not None:
            inner = self._outputs(src.query).get(col.name)
            sub_scope = self._cte_scopes.get(id(src.query), (None, None))[0]
            if isinstance(inner, ast.Column) and sub_scope is not None:
                t, _, _ = self.term(inner, sub_scope)
                return t, src, depth
            if isinstance(inner, ast.FuncCall) and sub_scope is not None and _is_agg_call(inner):
                text = self.expr(inner, sub_scope)
                if len(text) <= 60:
                    return Term(text), src, depth
            base, unit = split_unit(col.name)
            return Term(humanise(base), unit), src, depth
        return self.v.column(src.key, col.name), src, depth

    def colname(self, col: ast.Column, scope: _Scope) -> str:
        t, src, depth = self.term(col, scope)
        if t.noun.startswith(("has ", "in ")):  # boolean described as a state
            who = "they" if src is None or (src.attached and depth == 0) else src.label
            verb = (
                ("have " if who == "they" else "has ")
                if t.noun.startswith("has ")
                else ("are " if who == "they" else "is ")
            )
            return f"whether {who} {verb}{t.noun.removeprefix('has ')}"
        if (
            src is not None
            and (depth > 0 or not src.attached)
            and not t.noun.startswith(src.words.singular)
        ):
            return f"{t.noun} of {src.label}"
        return t.noun

    # ------------------------------------------------------------------ expressions (noun phrases)

    def expr(self, e: ast.Expr, scope: _Scope) -> str:
        if isinstance(e, ast.Column):
            return self.colname(e, scope)
        v = _value(e)
        if v is not None:
            return v
        if isinstance(e, ast.FuncCall):
            return self.func(e, scope)
        if isinstance(e, ast.Cast):
            return self.expr(e.expr, scope)
        if isinstance(e, ast.BinaryOp):
            return self.arith(e, scope)
        if isinstance(e, ast.FieldAccess):
            inner = e.expr
            if isinstance(inner, ast.FuncCall) and inner.name == "ST_SummaryStats" and inner.args:
                return f"{e.field} value of {self.geom(inner.args[0], scope)}"
            return f"{e.field} of {self.expr(inner, scope)}"
        if isinstance(e, ast.Case):
            return self.case(e, scope)
        if isinstance(e, ast.Subquery):
            return self.subquery_clause(e.query, scope)
        if isinstance(e, ast.Star):
            return "all attributes" if e.table is None else f"all attributes of {e.table}"
        if isinstance(e, ast.UnaryOp):
            return (
                f"negative {self.expr(e.operand, scope)}"
                if e.op == "-"
                else self.cond(e, scope, plain=True)
            )
        if isinstance(e, ast.NamedArg):
            return self.expr(e.value, scope)
        return "whether " + self.cond(e, scope, plain=True)

    def arith(self, e: ast.BinaryOp, scope: _Scope) -> str:
        op = e.op
        if op in ("+", "*", "||"):
            terms: list[ast.Expr] = []
            stack: list[ast.Expr] = [e]
            while stack:
                n = stack.pop()
                if isinstance(n, ast.BinaryOp) and n.op == op:
                    stack += [n.right, n.left]
                else:
                    terms.append(n)
            if op == "*" and any(
                isinstance(t, ast.Number) and t.text in ("100", "100.0") for t in terms
            ):
                rest = [
                    t for t in terms if not (isinstance(t, ast.Number) and t.text.startswith("100"))
                ]
                return f"{_join([self.expr(t, scope) for t in rest], 'times')} as a percentage"
            words = [self.expr(t, scope) for t in terms]
            if op == "+":
                return "sum of " + _join(words)
            return _join(words, "times" if op == "*" else "followed by")
        if op == "/":
            return f"ratio of {self.expr(e.left, scope)} to {self.expr(e.right, scope)}"
        if op == "-":
            return f"{self.expr(e.left, scope)} minus {self.expr(e.right, scope)}"
        if op == "%":
            return f"{self.expr(e.left, scope)} modulo {self.expr(e.right, scope)}"
        if op == "<->":
            return f"distance between {self.geom(e.left, scope)} and {self.geom(e.right, scope)}"
        return "whether " + self.cond(e, scope, plain=True)

    def case(self, e: ast.Case, scope: _Scope) -> str:
        branches = []
        for w in e.whens:
            cond = (
                self.cond(w.condition, scope, plain=True)
                if e.operand is None
                else f"{self.expr(e.operand, scope)} is {self.expr(w.condition, scope)}"
            )
            branches.append(f"{self.expr(w.result, scope)} when {cond}")
        if e.else_ is not None:
            branches.append(f"otherwise {self.expr(e.else_, scope)}")
        return "classification (" + "; ".join(branches) + ")"

    def func(self, f: ast.FuncCall, scope: _Scope) -> str:
        name = f.name
        up = name.upper()
        args = f.args
        if f.over is not None:
            return self.window(f, scope)
        if up == "COUNT":
            text = self.count(f, scope)
        elif up in _AGG_WORDS and args:
            inner = self.expr(args[0], scope)
            word = _AGG_WORDS[up]
            if inner.startswith(word):  # MAX(max_elevation)
                word = "largest" if up == "MAX" else "smallest"
            text = f"{word} {inner}"
        elif up == "STRING_AGG" and args:
            text = f"list of {self.expr(args[0], scope)}"
        elif up == "BOOL_AND" and args:
            text = f"whether all satisfy {self.expr(args[0], scope)}"
        elif up in ("ROUND", "TRUNC") and args:
            digits = (
                f" to {args[1].text} decimals"
                if len(args) > 1 and isinstance(args[1], ast.Number)
                else ""
            )
            text = f"{self.expr(args[0], scope)} (rounded{digits})"
        elif up in ("NULLIF", "UPPER", "LOWER", "ABS") and args:
            text = ("absolute " if up == "ABS" else "") + self.expr(args[0], scope)
        elif up == "COALESCE" and args:
            text = self.expr(args[0], scope) + (
                f" (or {self.expr(args[1], scope)} when missing)" if len(args) > 1 else ""
            )
        elif up in ("GREATEST", "LEAST") and args:
            text = f"{'larger' if up == 'GREATEST' else 'smaller'} of " + _join(
                [self.expr(a, scope) for a in args]
            )
        elif up in ("FLOOR", "CEIL", "SQRT") and args:
            word = {"FLOOR": "rounded down", "CEIL": "rounded up", "SQRT": "square root"}[up]
            text = (
                f"square root of {self.expr(args[0], scope)}"
                if up == "SQRT"
                else f"{self.expr(args[0], scope)} ({word})"
            )
        elif up == "POWER" and len(args) == 2:
            text = f"{self.expr(args[0], scope)} to the power {self.expr(args[1], scope)}"
        elif self._is_spatial_pred(f):
            text = "whether " + self.spatial_pred(f, scope, None, plain=True)
        else:
            text = self.spatial_func(f, scope)
        if f.filter is not None:
            text += " " + self.cond(f.filter, scope)
        return text

    def count(self, f: ast.FuncCall, scope: _Scope) -> str:
        subj = scope.subject.words.plural if scope.subject else "rows"
        if f.star or not f.args:
            return f"number of {subj}"
        arg = f.args[0]
        distinct = "distinct " if f.distinct else ""
        if isinstance(arg, ast.Column):
            t, src, _ = self.term(arg, scope)
            if t.identifier and src is not None and t.noun.startswith(src.words.singular):
                return f"number of {distinct}{src.words.plural}"
        noun = self.expr(arg, scope)
        if f.distinct:
            head, sep, tail = noun.partition(" of ")
            noun = plural(head) + sep + tail
        return f"number of {distinct}{noun}"

    def window(self, f: ast.FuncCall, scope: _Scope) -> str:
        over = f.over or ast.Window()
        part = _join([self.expr(p, scope) for p in over.partition_by])
        within = f" within each {part}" if part else ""
        order = _join([self.order_item(o, scope) for o in over.order_by])
        up = f.name.upper()
        if f.name in ("ST_ClusterDBSCAN", "ST_ClusterKMeans"):
            return "cluster id"
        if up in ("ROW_NUMBER", "RANK", "DENSE_RANK", "PERCENT_RANK"):
            word = {
                "ROW_NUMBER": "position",
                "RANK": "rank",
                "DENSE_RANK": "dense rank",
                "PERCENT_RANK": "percent rank",
            }[up]
            return f"{word} by {order or 'default order'}{within}"
        if up == "NTILE" and f.args:
            return f"{self.expr(f.args[0], scope)}-tile group by {order}{within}"
        if up in ("LAG", "LEAD") and f.args:
            which = "previous" if up == "LAG" else "next"
            return f"{which} {self.expr(f.args[0], scope)} ordered by {order}{within}"
        inner = self.func(ast.FuncCall(f.name, f.args, f.schema, f.distinct, f.star), scope)
        per = f" per {part}" if part else " over all rows"
        return inner + per + (f" (running, ordered by {order})" if order else "")

    def cluster_clause(self, f: ast.FuncCall, scope: _Scope) -> str:
        over = f.over or ast.Window()
        geom = self.geom(f.args[0], scope) if f.args else "their geometry"
        named = {a.name: self.expr(a.value, scope) for a in f.args if isinstance(a, ast.NamedArg)}
        pos = [self.expr(a, scope) for a in f.args[1:] if not isinstance(a, ast.NamedArg)]
        if f.name == "ST_ClusterDBSCAN":
            eps = named.get("eps", pos[0] if pos else "?")
            pts = named.get("minpoints", pos[1] if len(pos) > 1 else "?")
            text = (
                f"grouped into DBSCAN clusters of {geom} with eps {eps} and at least "
                f"{pts} points per cluster"
            )
        else:
            k = named.get("k", pos[0] if pos else "?")
            text = f"grouped into {k} k-means clusters of {geom}"
        if over.partition_by:
            text += " separately for each " + _join(
                [self.expr(p, scope) for p in over.partition_by]
            )
        return text

    # ------------------------------------------------------------------ geometry phrases

    def units(self, e: ast.Expr, scope: _Scope) -> str:
        """``m`` when ``e`` is measured in metres, ``degrees`` in lon/lat, ``""`` if unknown."""
        while True:
            if isinstance(e, ast.Cast):
                if e.type_name == "geography":
                    return "m"
                e = e.expr
            elif isinstance(e, ast.FuncCall) and e.args:
                if (
                    e.name in ("ST_Transform", "ST_SetSRID")
                    and len(e.args) > 1
                    and isinstance(e.args[1], ast.Number)
                ):
                    srid = int(float(e.args[1].text))
                    return self._srid_unit(srid)
                e = e.args[0]
            elif isinstance(e, ast.Column):
                t, _, _ = self.term(e, scope)
                return self._srid_unit(t.srid) if t.srid else ""
            else:
                return ""

    def _srid_unit(self, srid: int | None) -> str:
        if srid in self.metric or (
            srid is not None and (32601 <= srid <= 32760 or 25828 <= srid <= 25838)
        ):
            return "m"
        return "degrees" if srid in _GEOGRAPHIC_SRIDS else ""

    def geom(self, e: ast.Expr, scope: _Scope) -> str:
        """A geometry as an object: ``the building footprint``, ``the point (9.19, 45.47)``."""
        if isinstance(e, ast.Cast):
            return self.geom(e.expr, scope)
        if isinstance(e, ast.Column):
            t, src, depth = self.term(e, scope)
            noun = t.noun.removesuffix(" geometry").removesuffix(" data")
            if src is None:
                return _the(noun)
            own = depth == 0 and src.attached
            label = f"the {src.words.singular}" if own else src.label
            if t.kind == "raster" or noun in _GENERIC_GEOMS or noun == src.words.singular:
                return label
            if noun.startswith(src.words.singular) or own:
                return _the(noun)
            return f"the {noun} of {src.label}"
        if isinstance(e, ast.FuncCall):
            return _the(self.spatial_func(e, scope))
        return self.expr(e, scope)

    def spatial_func(self, f: ast.FuncCall, scope: _Scope) -> str:
        name, args = f.name, f.args
        if name in ("ST_Transform", "ST_Force2D", "ST_Multi", "ST_MakeValid") and args:
            inner = self.geom(args[0], scope)
            if name == "ST_Transform" and len(args) > 1 and self.units(f, scope) != "m":
                return f"{inner} reprojected to SRID {self.expr(args[1], scope)}"
            return inner
        if name == "ST_SetSRID" and len(args) == 2:
            return f"{self.geom(args[0], scope)} with SRID {self.expr(args[1], scope)}"
        if name in ("ST_MakePoint", "ST_Point") and len(args) >= 2:
            return f"point ({self.expr(args[0], scope)}, {self.expr(args[1], scope)})"
        if name == "ST_MakeEnvelope" and len(args) >= 4:
            a = [self.expr(x, scope) for x in args]
            srid = f" in SRID {a[4]}" if len(a) > 4 else ""
            return f"box from ({a[0]}, {a[1]}) to ({a[2]}, {a[3]}){srid}"
        if name == "ST_GeomFromText" and args:
            srid = f" in SRID {self.expr(args[1], scope)}" if len(args) > 1 else ""
            return f"geometry {self.expr(args[0], scope)}{srid}"
        if name == "ST_Buffer" and len(args) >= 2:
            d = _with_unit(self.expr(args[1], scope), self._dist_unit(args[0], scope))
            return f"{d} buffer around {self.geom(args[0], scope)}"
        if name in ("ST_Area", "ST_Length", "ST_Perimeter") and args:
            unit = self.units(args[0], scope)
            suffix = (
                (" in square metres" if name == "ST_Area" else " in metres") if unit == "m" else ""
            )
            return f"{self._of(self._phrase(name), args[0], scope)}{suffix}"
        if (
            name in ("ST_Distance", "ST_MaxDistance", "ST_HausdorffDistance", "ST_DistanceSphere")
            and len(args) >= 2
        ):
            unit = (
                " in metres"
                if self._dist_unit(args[0], scope) == "m" or name == "ST_DistanceSphere"
                else ""
            )
            return (
                f"{self._phrase(name)} between {self.geom(args[0], scope)} and "
                f"{self.geom(args[1], scope)}{unit}"
            )
        if name == "ST_Value" and len(args) >= 2:
            return f"{self.geom(args[0], scope)} value at {self.geom(args[-1], scope)}"
        if name == "ST_Clip" and len(args) >= 2:
            geom = next(
                (a for a in args[1:] if not isinstance(a, ast.Number | ast.Boolean)), args[1]
            )
            return f"{self.geom(args[0], scope)} clipped to {self.geom(geom, scope)}"
        if name in ("ST_ClusterDBSCAN", "ST_ClusterKMeans"):
            return "cluster id"
        if name in ("ST_Union", "ST_Collect") and len(args) == 1:
            return f"merged {self.geom(args[0], scope).removeprefix('the ')}"
        phrase = self._phrase(name)
        if not args:
            return phrase
        fn = self.cat.get(name)
        if (
            len(args) == 1
            and self._geomish(args[0])
            and fn is not None
            and fn.category in ("measurements", "accessors", "raster")
        ):
            return self._of(phrase, args[0], scope)
        objs = [self.geom(a, scope) if self._geomish(a) else self.expr(a, scope) for a in args]
        if len(objs) == 1:
            return f"{phrase} of {objs[0]}"
        return f"{phrase} of {_join(objs)}"

    def _of(self, phrase: str, arg: ast.Expr, scope: _Scope) -> str:
        """``area`` for the subject's main geometry, else ``area of <geometry>``."""
        col = arg
        if isinstance(col, ast.Cast):
            col = col.expr
        if isinstance(col, ast.FuncCall) and col.name == "ST_Transform" and col.args:
            col = col.args[0]
        if isinstance(col, ast.Column):
            _, src, depth = self.term(col, scope)
            if src is not None and src.attached and depth == 0 and src.key is not None:
                table = self.v.schema.table(src.key)
                geoms = (table.geometry_columns + table.raster_columns) if table else ()
                if not geoms or geoms[0].name == col.name:
                    return phrase
        return f"{phrase} of {self.geom(arg, scope)}"

    def _phrase(self, name: str) -> str:
        fn = self.cat.get(name)
        return fn.phrase if fn and fn.phrase else humanise(name.removeprefix("ST_"))

    def _geomish(self, e: ast.Expr) -> bool:
        return isinstance(e, ast.Column | ast.FuncCall | ast.Cast)

    def _dist_unit(self, e: ast.Expr, scope: _Scope) -> str:
        return self.units(e, scope)

    # ------------------------------------------------------------------ conditions

    def _is_spatial_pred(self, e: ast.Expr) -> bool:
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self._is_spatial_pred(e.operand)
        if isinstance(e, ast.FuncCall):
            fn = self.cat.get(e.name)
            return bool(fn and fn.category == "predicates")
        if isinstance(e, ast.BinaryOp) and e.op in _FLIP and isinstance(e.left, ast.FuncCall):
            return e.left.name in ("ST_Distance", "ST_DistanceSphere")
        return False

    def _owner(self, e: ast.Expr, scope: _Scope, about: _Source | None) -> bool:
        """Whether geometry ``e`` is (a column of) the source the clause is about."""
        while isinstance(e, ast.Cast | ast.FuncCall):
            if isinstance(e, ast.Cast):
                e = e.expr
            elif e.name in ("ST_Transform", "ST_SetSRID") and e.args:
                e = e.args[0]
            else:
                return False
        if not isinstance(e, ast.Column):
            return False
        _, src, depth = self.term(e, scope)
        if about is None:
            return src is not None and src.attached and depth == 0
        return src is about

    def spatial_pred(
        self,
        e: ast.Expr,
        scope: _Scope,
        about: _Source | None = None,
        plain: bool = False,
        negated: bool = False,
    ) -> str:
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.spatial_pred(e.operand, scope, about, plain, not negated)
        if isinstance(e, ast.BinaryOp):  # ST_Distance(a, b) < d
            f = e.left
            assert isinstance(f, ast.FuncCall)
            d = _with_unit(self.expr(e.right, scope), self._dist_unit(f.args[0], scope))
            word = {
                "<": "less than",
                "<=": "at most",
                ">": "more than",
                ">=": "at least",
                "=": "exactly",
                "<>": "not exactly",
            }[e.op]
            if negated:
                word = "not " + word
            a, b = f.args[0], f.args[1]
            if not plain and self._owner(b, scope, about):
                a, b = b, a
            if not plain and self._owner(a, scope, about):
                return f"that lie {word} {d} from {self.geom(b, scope)}"
            return (
                f"{self.geom(a, scope)} lies {word} {d} from {self.geom(b, scope)}"
                if plain
                else f"where {self.geom(a, scope)} lies {word} {d} from {self.geom(b, scope)}"
            )
        assert isinstance(e, ast.FuncCall)
        name, args = e.name, e.args
        if len(args) == 1:
            what = {"ST_IsValid": "valid", "ST_IsEmpty": "empty"}.get(name, self._phrase(name))
            what = ("not " if negated else "") + what
            return (
                f"{self.geom(args[0], scope)} is {what}"
                if plain or not self._owner(args[0], scope, about)
                else f"with a {what} geometry"
            )
        a, b = args[0], args[1]
        extra = ""
        phrase = self._phrase(name)
        if name == "ST_DWithin" and len(args) >= 3:
            d = _with_unit(self.expr(args[2], scope), self._dist_unit(a, scope))
            phrase, extra = "lie within", f"{d} of "
        if not plain and not self._owner(a, scope, about) and self._owner(b, scope, about):
            a, b = b, a
            inv = _INVERSE.get(name)
            if inv:
                phrase = self._phrase(inv)
        if not plain and self._owner(a, scope, about):
            verb = (
                phrase
                if not negated
                else ("are not " + phrase[4:] if phrase.startswith("are ") else "do not " + phrase)
            )
            return f"that {verb} {extra}{self.geom(b, scope)}"
        verb = _verb_s(phrase)
        if negated:
            verb = "does not " + phrase if not phrase.startswith("are ") else "is not " + phrase[4:]
        text = f"{self.geom(a, scope)} {verb} {extra}{self.geom(b, scope)}"
        return text if plain else "where " + text

    def cond(self, e: ast.Expr, scope: _Scope, plain: bool = False, negated: bool = False) -> str:
        """A predicate as a relative clause (``whose height is above 20 m``) or, with
        ``plain``, as a sentence (``the height is above 20 m``)."""
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.cond(e.operand, scope, plain, not negated)
        if self._is_spatial_pred(e):
            return self.spatial_pred(e, scope, None, plain, negated)
        if isinstance(e, ast.BinaryOp):
            if e.op in ("AND", "OR"):
                parts = [self.cond(c, scope, plain) for c in (e.left, e.right)]
                if negated:
                    return (
                        "not (" + " and ".join(parts) + ")"
                        if e.op == "AND"
                        else ("neither " + " nor ".join(parts))
                    )
                return _join(parts) if e.op == "AND" else "either " + " or ".join(parts)
            if e.op in _FLIP:
                return self.compare(e.op, e.left, e.right, scope, plain, negated)
            if e.op in ("LIKE", "ILIKE"):
                return self.like(e, scope, plain, negated)
        if isinstance(e, ast.Between):
            neg = negated != e.negated
            lo, hi = self.expr(e.low, scope), self.expr(e.high, scope)
            subject, unit, year = self._subject_of(e.expr, scope, plain)
            rng_txt = f"between {lo} and {_with_unit(hi, unit)}"
            if year and not neg and not plain and subject.startswith("with "):
                return f"built between {lo} and {hi}"
            return (
                f"{subject} {'is not' if neg else 'is'} {rng_txt}".replace("with ", "whose ", 1)
                if subject.startswith("with ")
                else f"{subject} {'is not' if neg else 'is'} {rng_txt}"
            )
        if isinstance(e, ast.InList):
            neg = negated != e.negated
            items = _join([self.expr(i, scope) for i in e.items], "or")
            subject, _, _ = self._subject_of(e.expr, scope, plain, rel="whose")
            return f"{subject} is {'none' if neg else 'one'} of {items}"
        if isinstance(e, ast.IsNull):
            neg = negated != e.negated
            noun = self.expr(e.expr, scope)
            if plain:
                return f"{_the(noun)} is {'known' if neg else 'missing'}"
            return f"that have a known {noun}" if neg else f"with no recorded {noun}"
        if isinstance(e, ast.Exists):
            return self.exists(e.query, scope, negated, plain)
        if isinstance(e, ast.InSubquery):
            neg = negated != e.negated
            subject, _, _ = self._subject_of(e.expr, scope, plain, rel="whose")
            among = self.subquery_clause(e.query, scope, bare=True)
            return f"{subject} is {'not ' if neg else ''}among the {among}"
        if isinstance(e, ast.Column):
            return self.boolean(e, not negated, scope, plain)
        if isinstance(e, ast.Boolean):
            return "always" if e.value != negated else "never"
        text = self.expr(e, scope)
        return (
            ("not " if negated else "") + text
            if plain
            else (f"where {'not ' if negated else ''}{text}")
        )

    def _subject_of(
        self, e: ast.Expr, scope: _Scope, plain: bool, rel: str = "with"
    ) -> tuple[str, str, bool]:
        """(``whose height`` | ``the height``, unit, is-a-year) for the left side of a test."""
        unit, year = "", False
        if isinstance(e, ast.Column):
            t, src, depth = self.term(e, scope)
            unit, year = t.unit, "year" in e.name and t.kind in ("integer", "other")
            if src is not None and (depth > 0 or not src.attached):
                noun = f"the {t.noun} of {src.label}"
                return (noun if plain else f"where {noun}"), unit, year
            noun = t.noun
        elif isinstance(e, ast.FuncCall) and e.name in ("ST_Area", "ST_Length", "ST_Perimeter"):
            noun = self.expr(e, scope)
            unit = (
                "square metres"
                if "square metres" in noun
                else ("m" if " in metres" in noun else "")
            )
            noun = noun.replace(" in square metres", "").replace(" in metres", "")
        else:
            noun = self.expr(e, scope)
        if plain:
            return _the(noun), unit, year
        return (
            (f"whose {noun}" if rel == "whose" or not noun[:1].isalpha() else f"{rel} {noun}"),
            unit,
            year,
        )

    def compare(
        self, op: str, left: ast.Expr, right: ast.Expr, scope: _Scope, plain: bool, negated: bool
    ) -> str:
        if _value(left) is not None and _value(right) is None:
            left, right, op = right, left, _FLIP[op]
        if negated:
            op = {">": "<=", ">=": "<", "<": ">=", "<=": ">", "=": "<>", "<>": "="}[op]
        if (
            isinstance(left, ast.Column)
            and isinstance(right, ast.String)
            and op == "="
            and left.name in ("project_id", "scenario_id")
            and not plain
        ):
            _, src, depth = self.term(left, scope)
            if src is None or (src.attached and depth == 0):
                word = "project" if left.name == "project_id" else "scenario"
                return f"in {word} '{right.value}'"
        if isinstance(left, ast.Column) and isinstance(right, ast.Boolean) and op in ("=", "<>"):
            return self.boolean(left, right.value == (op == "="), scope, plain)
        subject, unit, year = self._subject_of(left, scope, plain)
        value = _value(right)
        if value is None:
            value = self.expr(right, scope)
            if isinstance(right, ast.Subquery | ast.Column):
                value = _the(value)
        else:
            value = _with_unit(value, unit)
        if year and op in (">", ">=", "<", "<=") and not plain and not subject.startswith("where"):
            word = {
                ">": "built after",
                ">=": "built in or after",
                "<": "built before",
                "<=": "built in or before",
            }[op]
            return f"{word} {value}"
        if op == "=":
            if not plain and subject.startswith("with "):
                return f"{subject} {value}"
            return f"{subject} is {value}"
        if op == "<>":
            return f"{subject.replace('with ', 'whose ', 1)} is not {value}"
        word = self.pick(_CMP[op])
        if not plain and subject.startswith("with "):
            return f"{subject} {word} {value}"
        return f"{subject} is {word} {value}"

    def boolean(self, col: ast.Column, truth: bool, scope: _Scope, plain: bool) -> str:
        t, src, depth = self.term(col, scope)
        noun = t.noun
        own = src is None or (src.attached and depth == 0)
        if noun.startswith("has "):
            verb = ("have " if truth else "do not have ") + noun[4:]
            if own and not plain:
                return "that " + verb
            who = src.label if src else "it"
            text = f"{who} {'has ' if truth else 'does not have '}{noun[4:]}"
            return text if plain else "where " + text
        if noun.startswith("in ") or noun.startswith("is "):
            state = noun.removeprefix("is ")
            if own and not plain:
                return f"that are {'' if truth else 'not '}{state}"
            text = f"{src.label if src else 'it'} is {'' if truth else 'not '}{state}"
            return text if plain else "where " + text
        subject = f"the {noun}" if own else f"the {noun} of {src.label if src else 'it'}"
        text = f"{subject} flag is {'set' if truth else 'not set'}"
        return text if plain else "where " + text

    def like(self, e: ast.BinaryOp, scope: _Scope, plain: bool, negated: bool) -> str:
        subject, _, _ = self._subject_of(e.left, scope, plain, rel="whose")
        pat = e.right.value if isinstance(e.right, ast.String) else self.expr(e.right, scope)
        core = pat.strip("%")
        if "%" not in core and "_" not in core and pat != core:
            kind = (
                "contain"
                if pat.startswith("%") and pat.endswith("%")
                else "end with"
                if pat.startswith("%")
                else "start with"
            )
            how = f"does not {kind}" if negated else _verb_s(kind)
            text = f"{subject} {how} '{core}'"
        else:
            text = f"{subject} {'does not match' if negated else 'matches'} the pattern '{pat}'"
        return text + (" (case-insensitive)" if e.op == "ILIKE" else "")

    def exists(self, query: ast.Query, scope: _Scope, negated: bool, plain: bool) -> str:
        sub = self.query_parts(query, scope)
        filters = (" " + _join(sub.filters)) if sub.filters else ""
        text = f"{'no' if negated else 'at least one of the'} {sub.subject}{filters}"
        if plain:
            return f"there {'are' if negated else 'is'} {text}"
        return f"for which there {'are' if negated else 'is'} {text}"

    def subquery_clause(self, query: ast.Query, scope: _Scope, bare: bool = False) -> str:
        saved = self.inherit
        self.inherit = True
        sub = self.query_parts(query, scope)
        self.inherit = saved
        returns = _join(sub.returns) or "rows"
        tail = "".join(f", {p}" for p in (sub.group, sub.having, sub.order) if p)
        filters = (" " + _join(sub.filters)) if sub.filters else ""
        joins = (" " + _join(sub.joins)) if sub.joins else ""
        lim = f" ({sub.limit})" if sub.limit else ""
        if sub.counts_only and len(sub.returns) == 1:
            return f"{returns.removeprefix('the ')}{joins}{filters}{tail}{lim}"
        if bare and not sub.aggregate:
            head, sep, rest = returns.partition(" of ")
            return f"{plural(head)}{sep}{rest} of {sub.subject}{joins}{filters}{tail}{lim}"
        return f"{returns.removeprefix('the ')} of {sub.subject}{joins}{filters}{tail}{lim}"

    # ------------------------------------------------------------------ ordering

    def order_item(self, o: ast.OrderItem, scope: _Scope, select: ast.Select | None = None) -> str:
        e = o.expr
        if isinstance(e, ast.Number) and select is not None:
            idx = int(e.text) - 1
            if 0 <= idx < len(select.items):
                e = select.items[idx].expr
        elif isinstance(e, ast.Column) and e.table is None and e.name in scope.aliases:
            e = scope.aliases[e.name]
        noun = self.item_phrase(e, None, scope)
        if o.direction == "DESC":
            return f"{noun} {self.pick(('descending', '(highest first)', 'in descending order'))}"
        return f"{noun} {self.pick(('ascending', '(lowest first)', 'in ascending order'))}"

    def item_phrase(self, e: ast.Expr, alias: str | None, scope: _Scope) -> str:
        text = self.expr(e, scope)
        if alias and (len(text) > 120 or text.startswith(("classification", "whether", "ratio"))):
            base, unit = split_unit(alias)
            text = humanise(base) + (f" ({unit})" if unit else "")
        return text

    # ------------------------------------------------------------------ query parts

    def query_parts(self, q: ast.Query, outer: _Scope | None) -> Parts:
        return self._query(q, outer)[0]

    def _query(self, q: ast.Query, outer: _Scope | None) -> tuple[Parts, _Scope]:
        for cte in q.ctes:
            self.ctes[cte.name] = cte
        body = q.body
        if isinstance(body, ast.SetOp):
            parts = self.setop_parts(body, outer)
            scope = _Scope(outer)
        else:
            parts = Parts()
            scope = self.select_parts(body, outer, parts)
        self.order_limit(q, scope, parts, body if isinstance(body, ast.Select) else None)
        if q.ctes and not self.inherit:
            parts.steps = [self._step(c) for c in q.ctes] + parts.steps
        return parts, scope

    def _step(self, cte: ast.CTE) -> str:
        sub = self._cte_parts(cte.query)
        verb = self.pick(("compute", "take", "derive"))
        return f"{verb} {self.clause(sub)} (as {humanise(cte.name)})"

    def setop_parts(self, node: ast.SetOp, outer: _Scope | None) -> Parts:
        arms: list[tuple[str, ast.Select | ast.SetOp | ast.Query]] = []

        def flatten(n: ast.Select | ast.SetOp | ast.Query, op: str) -> None:
            if isinstance(n, ast.SetOp):
                flatten(n.left, op)
                flatten(n.right, n.op + (" ALL" if n.all else ""))
            else:
                arms.append((op, n))

        flatten(node, "")
        parts = Parts()
        texts = []
        for op, arm in arms:
            q = arm if isinstance(arm, ast.Query) else ast.Query(arm)
            saved = self.inherit
            self.inherit = True
            sub = self.query_parts(q, outer)
            self.inherit = saved
            clause = self.clause(sub)
            if not parts.subject:
                parts.subject, parts.singular = sub.subject, sub.singular
                parts.aggregate = sub.aggregate
            parts.temporal += sub.temporal
            joiner = {
                "": "",
                "UNION ALL": "together with ",
                "UNION": "combined without duplicates with ",
                "INTERSECT": "keeping only rows also found in ",
                "EXCEPT": "excluding rows found in ",
            }.get(
                op.replace(" ALL", "") if op.startswith(("INTERSECT", "EXCEPT")) else op,
                "together with ",
            )
            texts.append(joiner + clause)
            parts.spatial_join |= sub.spatial_join or any(sub.spatial)
            parts.filters += sub.filters  # for CONDITIONAL / SPATIAL emphasis checks only
            parts.spatial += sub.spatial
        parts.returns = [", ".join(texts)]
        parts.measures = parts.returns
        parts.setop = True
        return parts

    def select_parts(self, sel: ast.Select, outer: _Scope | None, parts: Parts) -> _Scope:
        scope = self.scope_for(sel, outer, parts)
        subj = scope.subject
        parts.subject = subj.words.plural if subj else ""
        parts.singular = subj.words.singular if subj else ""
        for item in sel.items:
            if item.alias:
                scope.aliases[item.alias] = item.expr
        if sel.where is not None:
            self.where(sel.where, scope, parts)
        group_keys = set(sel.group_by)
        if sel.group_by:
            nouns = []
            for g in sel.group_by:
                if isinstance(g, ast.Number) and 0 < int(g.text) <= len(sel.items):
                    g = sel.items[int(g.text) - 1].expr
                    group_keys.add(g)
                elif isinstance(g, ast.Column) and g.table is None and g.name in scope.aliases:
                    g = scope.aliases[g.name]
                    group_keys.add(g)
                nouns.append(self.item_phrase(g, None, scope))
            parts.group = self.pick(
                ("per ", "for each ", "grouped by ", "broken down by ")
            ) + _join(nouns)
        aggs = 0
        labels: list[str] = []
        for item in sel.items:
            e = item.expr
            if isinstance(e, ast.FuncCall) and e.name in ("ST_ClusterDBSCAN", "ST_ClusterKMeans"):
                parts.window = self.cluster_clause(e, scope)
                parts.returns.append("cluster id")
                continue
            if e in group_keys:
                continue
            if isinstance(e, ast.Subquery):  # reads badly inside the list: a tail clause
                text = self.pick(("also giving ", "alongside ")) + _the(self.expr(e, scope))
                parts.window = _join([parts.window, text]) if parts.window else text
                continue
            text = self.item_phrase(e, item.alias, scope)
            if isinstance(e, ast.String | ast.Number):
                labels.append(text)
                continue
            if _has_agg(e):
                aggs += 1
                parts.measures.append(text)
                parts.has_sum |= "total " in text
            elif isinstance(e, ast.FuncCall | ast.BinaryOp | ast.FieldAccess | ast.Case):
                parts.measures.append(text)
            parts.returns.append(text)
            self._note_temporal(e, scope, parts)
        if labels and len(labels) < len(sel.items):  # not for EXISTS (SELECT 1 ...)
            parts.subject += f" (labelled {_join(labels)})"
        parts.aggregate = aggs > 0 or bool(sel.group_by)
        parts.counts_only = aggs > 0 and all(r.startswith("number of ") for r in parts.measures)
        parts.distinct = sel.distinct
        if sel.having is not None:
            parts.having = self.having(sel.having, scope, parts)
        if len(parts.returns) > 6:
            plain = [r for r in parts.returns if r not in parts.measures]
            keep = [r for r in parts.returns if r in parts.measures or r in plain[:3]]
            extra = len(parts.returns) - len(keep)
            other = "other attribute" if extra == 1 else "other attributes"
            parts.returns = [*keep, f"{extra} {other}"] if extra else keep
        return scope

    def _note_temporal(self, e: ast.Expr, scope: _Scope, parts: Parts) -> None:
        if isinstance(e, ast.Column):
            t, _, _ = self.term(e, scope)
            if t.temporal:
                parts.temporal.append(t.noun)

    def where(self, where: ast.Expr, scope: _Scope, parts: Parts) -> None:
        conds = _conjuncts(where)
        project = scenario = None
        owner: _Source | None = None
        for c in conds:
            if (
                isinstance(c, ast.BinaryOp)
                and c.op == "="
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.String)
                and c.left.name in ("project_id", "scenario_id")
            ):
                src, depth = self.resolve(c.left, scope)
                own = src is None or (src.attached and depth == 0)
                if own or owner is None or src is owner:
                    if c.left.name == "project_id" and project is None:
                        project, owner = c, (None if own else src)
                        continue
                    if c.left.name == "scenario_id" and scenario is None:
                        scenario, owner = c, (None if own else src)
                        continue
            self._note_temporal(
                c.left
                if isinstance(c, ast.BinaryOp)
                else (c.expr if isinstance(c, ast.Between) else c),
                scope,
                parts,
            )
            parts.filters.append(self.cond(c, scope))
            parts.spatial.append(self._is_spatial_pred(c))
        if project is not None or scenario is not None:
            p = (
                f"'{project.right.value}'"
                if project and isinstance(project.right, ast.String)
                else ""
            )
            s = (
                f"'{scenario.right.value}'"
                if scenario and isinstance(scenario.right, ast.String)
                else ""
            )
            if p and s:
                text = self.pick(
                    (
                        f"in project {p}, scenario {s}",
                        f"in scenario {s} of project {p}",
                        f"for project {p} (scenario {s})",
                    )
                )
            elif p:
                text = f"in project {p}"
            else:
                text = f"in scenario {s}"
            if owner is not None:
                what = text.removeprefix("for ").removeprefix("in ")
                text = f"where {owner.label} belongs to {what}"
            parts.filters.insert(0, text)
            parts.spatial.insert(0, False)

    def having(self, e: ast.Expr, scope: _Scope, parts: Parts) -> str:
        conds = []
        for c in _conjuncts(e):
            if isinstance(c, ast.BinaryOp) and c.op in _FLIP:
                left, right, op = c.left, c.right, c.op
                if _value(left) is not None:
                    left, right, op = right, left, _FLIP[op]
                if (
                    isinstance(left, ast.FuncCall)
                    and left.name.upper() == "COUNT"
                    and left.star
                    and _value(right) is not None
                ):
                    word = {
                        ">": "more than",
                        ">=": "at least",
                        "<": "fewer than",
                        "<=": "at most",
                        "=": "exactly",
                        "<>": "other than",
                    }[op]
                    conds.append(f"with {word} {_value(right)} {parts.subject or 'rows'}")
                    continue
            conds.append("where " + self.cond(c, scope, plain=True))
        return self.pick(("keeping only groups ", "only for groups ")) + _join(conds)

    def order_limit(
        self, q: ast.Query, scope: _Scope, parts: Parts, sel: ast.Select | None
    ) -> None:
        if q.order_by:
            items = [self.order_item(o, scope, sel) for o in q.order_by]
            parts.order = self.pick(("sorted by ", "ordered by ")) + _join(items)
            for o in q.order_by:
                if isinstance(o.expr, ast.Column):
                    t, _, _ = self.term(o.expr, scope)
                    if t.temporal:
                        parts.temporal.append(t.noun)
        if q.limit is not None:
            n = self.expr(q.limit, scope)
            s = "" if n == "1" else "s"
            parts.limit = self.pick(
                (f"limit to {n} result{s}", f"return at most {n} row{s}", f"only the first {n}")
            )
            if q.order_by and len(q.order_by) == 1 and n != "1" and q.offset is None:
                o = q.order_by[0]
                noun = self.order_item(ast.OrderItem(o.expr), scope, sel).rsplit(" ", 1)[0]
                noun = noun.removesuffix(" (lowest").removesuffix(" in ascending")
                if noun.startswith("distance"):
                    word = "nearest" if o.direction != "DESC" else "farthest"
                    parts.top = f"the {n} {word} by {noun}"
                else:
                    word = "highest" if o.direction == "DESC" else "lowest"
                    parts.top = f"the {n} with the {word} {noun}"
        if q.offset is not None:
            parts.limit = _join(
                [p for p in (parts.limit,) if p]
                + [f"skipping the first {self.expr(q.offset, scope)}"]
            )

    # ------------------------------------------------------------------ sentences

    def scope_phrase(self, parts: Parts, spatial_first: bool = False) -> str:
        filters = list(zip(parts.filters, parts.spatial, strict=True))
        if spatial_first:
            filters.sort(key=lambda fs: not fs[1])
        bits = [parts.subject]
        if parts.with_their:
            bits.append(
                self.pick(("together with their ", "with their ", "and their "))
                + _join(parts.with_their)
            )
        text = " ".join(b for b in bits + parts.joins if b)
        if filters:
            text += " " + _join([f for f, _ in filters])
        return text

    def clause(self, parts: Parts) -> str:
        """``the <returns> of <subject, joins, filters>, <grouping>, <order>, <limit>``."""
        tail = "".join(
            ", " + p
            for p in (parts.window, parts.group, parts.having, parts.order, parts.limit)
            if p
        )
        returns = _join(parts.returns)
        scope = self.scope_phrase(parts)
        of = " for " if parts.aggregate else " of "
        return f"{_the(returns)}{of}{scope}{tail}" if returns else f"{scope}{tail}"


# --------------------------------------------------------------------------- tone templates


def _tail(parts: Parts, *names: str) -> str:
    return "".join(", " + getattr(parts, n) for n in names if getattr(parts, n))


def _direct(r: _Reader, p: Parts, verb: str | None = None, of_form: bool = False) -> str:
    verb = verb or r.pick(("List", "Find", "Show", "Retrieve", "Get"))
    scope = r.scope_phrase(p)
    returns = _the(("distinct " if p.distinct else "") + _join(p.returns)) if p.returns else ""
    if p.aggregate:
        return f"{verb} {returns}{(' ' + p.group) if p.group else ''} for {scope}" + _tail(
            p, "window", "having", "order", "limit"
        )
    if p.top and r.rng.random() < 0.5:
        return (
            f"{verb} {_top_form(p.top, scope)}"
            + _tail(p, "window")
            + (f", showing {returns}" if returns else "")
        )
    if (of_form or r.rng.random() < 0.5) and returns:
        return f"{verb} {returns} of {scope}" + _tail(p, "window", "order", "limit")
    return (
        f"{verb} {scope}"
        + _tail(p, "window")
        + (f", showing {returns}" if returns else "")
        + _tail(p, "order", "limit")
    )


def _top_form(top: str, scope: str) -> str:
    """``the 10 with the highest height`` + ``buildings in ...`` ->
    ``the 10 buildings in ... with the highest height``."""
    head, _, rest = top.partition(" with the ")
    if rest:
        return f"{head} {scope} with the {rest}"
    head, _, by = top.partition(" by ")
    return f"{head} {scope} by {by}"


def _interrogative(r: _Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    returns = _join(p.returns)
    if p.counts_only and len(p.measures) == 1 and p.returns == p.measures:
        return (
            f"How many {scope} are there{(' ' + p.group) if p.group else ''}"
            + _tail(p, "window", "having", "order", "limit")
            + "?"
        )
    if p.aggregate:
        be = "are" if len(p.returns) > 1 else "is"
        return (
            f"What {be} {_the(returns)}{(' ' + p.group) if p.group else ''} for {scope}"
            + _tail(p, "window", "having", "order", "limit")
            + "?"
        )
    if r.rng.random() < 0.5 or not returns:
        tail = _tail(p, "window", "order", "limit")
        return f"Which {scope} are there{tail}" + (
            f", and what are their {returns}?" if returns else "?"
        )
    return f"What are {_the(returns)} of {scope}" + _tail(p, "window", "order", "limit") + "?"


def _analytical(r: _Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    returns = _the(_join(p.returns)) if p.returns else "the records"
    if p.group:
        keys = (
            p.group.split(" ", 1)[1]
            if p.group.startswith(("per ", "grouped ", "broken "))
            else (p.group.removeprefix("for each "))
        )
        keys = keys.removeprefix("by ").removeprefix("down by ")
        verb = r.pick(("Compare {R} across {K}", "Break down {R} by {K}", "Analyze {R} per {K}"))
        head = verb.replace("{R}", returns).replace("{K}", keys)
        return f"{head} for {scope}" + _tail(p, "window", "having", "order", "limit")
    verb = r.pick(("Analyze", "Examine", "Assess"))
    return f"{verb} {returns} of {scope}" + _tail(p, "window", "having", "order", "limit")


def _aggregate(r: _Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    group = (" " + p.group) if p.group else ""
    if p.counts_only and p.returns == p.measures and len(p.measures) == 1:
        return f"Count the {scope}{group}" + _tail(p, "window", "having", "order", "limit")
    returns = _the(_join(p.returns)) if p.returns else "the records"
    if p.aggregate:
        verb = r.pick(
            ("Summarize", "Aggregate", "Compute")
            if not p.has_sum
            else ("Total up", "Summarize", "Aggregate")
        )
        return f"{verb} {returns}{group} for {scope}" + _tail(
            p, "window", "having", "order", "limit"
        )
    verb = r.pick(("Summarize", "Compile"))
    return f"{verb} {returns} of {scope}" + _tail(p, "window", "order", "limit")


def _spatial(r: _Reader, p: Parts) -> str:
    if not any(p.spatial) and not p.spatial_join:
        if any(
            m
            for m in p.measures
            if any(w in m for w in ("area", "distance", "length", "perimeter", "buffer"))
        ):
            return _direct(r, p, r.pick(("Measure", "Compute")), of_form=True)
        return _direct(r, p, r.pick(("Locate", "Map")))
    scope = r.scope_phrase(p, spatial_first=True)
    returns = _the(_join(p.returns)) if p.returns else ""
    group = (" " + p.group) if p.group else ""
    if p.aggregate:
        return f"For {scope}, compute {returns}{group}" + _tail(
            p, "window", "having", "order", "limit"
        )
    if r.rng.random() < 0.5:
        return (
            f"Which {scope}"
            + _tail(p, "window", "order", "limit")
            + (f"? Return {returns}" if returns else "?")
        )
    return (
        f"{r.pick(('Locate', 'Find', 'Map'))} {scope}"
        + _tail(p, "window")
        + (f", showing {returns}" if returns else "")
        + _tail(p, "order", "limit")
    )


def _temporal(r: _Reader, p: Parts) -> str:
    base = _direct(r, p)
    base = base[0].lower() + base[1:]
    if p.temporal:
        noun = p.temporal[0]
        return (
            r.pick(
                (
                    f"Looking at {noun}, ",
                    f"Taking {noun} into account, ",
                    f"With attention to {noun}, ",
                )
            )
            + base
        )
    return r.pick(("As currently recorded, ", "In the current data, ", "At present, ")) + base


def _conditional(r: _Reader, p: Parts) -> str:
    returns = _the(_join(p.returns)) if p.returns else "the records"
    be = "are" if len(p.returns) > 1 or not p.aggregate else "is"
    group = (" " + p.group) if p.group else ""
    tail = _tail(p, "window", "having", "order", "limit")
    who = r.scope_phrase(Parts(subject=p.subject, joins=p.joins, with_their=p.with_their))
    if not p.filters:
        return f"If we consider all {who}, what {be} {returns}{group}{tail}?"
    k = max(1, len(p.filters) // 2)
    cond, rest = _join(p.filters[:k]), _join(p.filters[k:])
    head = r.pick(("If we only consider", "Considering only", "Restricting to"))
    if p.aggregate:
        those = f", among those {rest}" if rest else ""
        return f"{head} {who} {cond}{those}, what {be} {returns}{group}{tail}?"
    those = f" of those {rest}" if rest else ""
    return f"{head} {who} {cond}, what {be} {returns}{those}{tail}?"


_TONES = {
    "DIRECT": lambda r, p: _direct(r, p),
    "INTERROGATIVE": _interrogative,
    "ANALYTICAL": _analytical,
    "AGGREGATE": _aggregate,
    "SPATIAL_SPECIFIC": _spatial,
    "TEMPORAL": _temporal,
    "CONDITIONAL": _conditional,
}


def _setop(r: _Reader, p: Parts, tone: str) -> str:
    """Set operations: the arms are already full clauses joined by "together with"."""
    body = p.returns[0] + _tail(p, "order", "limit")
    if tone == "INTERROGATIVE":
        return f"What are {body}?"
    if tone == "CONDITIONAL":
        return f"If we combine both sources, what are {body}?"
    verb = {
        "ANALYTICAL": ("Compare", "Analyze"),
        "AGGREGATE": ("Summarize", "Report"),
        "SPATIAL_SPECIFIC": ("Map", "Show"),
    }.get(tone, ("List", "Show", "Retrieve"))
    text = f"{r.pick(verb)} {body}"
    if tone == "TEMPORAL":
        text = (
            r.pick(("As currently recorded, ", "In the current data, "))
            + text[0].lower()
            + text[1:]
        )
    return text


def _finish(text: str) -> str:
    text = " ".join(text.split())
    text = text.replace(" ,", ",").replace(",,", ",")
    text = text[0].upper() + text[1:] if text else text
    if not text.endswith(("?", ".")):
        text += "."
    return text


def describe(
    query: ast.Query, structure: QueryFeatures, schema: Schema, rng: random.Random
) -> tuple[str, str]:
    """The question and the Stage 1 style instruction for ``query``.

    Deterministic for the state of ``rng``; the tone is ``structure.question_tone`` (unknown
    tones read as ``DIRECT``).

    >>> from cimgen.schema.load import load_schema
    >>> q = ast.Query(ast.Select((ast.SelectItem(ast.Column("height")),),
    ...     (ast.TableRef("building_properties", "cim_vector"),),
    ...     ast.BinaryOp(">", ast.Column("height"), ast.Number("25")), ), limit=ast.Number("10"))
    >>> question, instruction = describe(q, QueryFeatures(question_tone="INTERROGATIVE"),
    ...                                  load_schema("cim_wizard"), random.Random(1))
    >>> question.endswith("?") and "25 m" in question and "10" in question
    True
    """
    vocab = vocabulary(schema)
    reader = _Reader(vocab, rng, schema.metric_srid)
    tone = structure.question_tone if structure.question_tone in _TONES else "DIRECT"
    steps_wanted = (
        bool(query.ctes)
        and (tone == "ANALYTICAL" or structure.sql_type == "NESTED_QUERY")
        and rng.random() < 0.6
    )
    reader.inherit = not steps_wanted
    parts = reader.query_parts(query, None)
    text = _setop(reader, parts, tone) if parts.setop else _TONES[tone](reader, parts)
    if parts.steps:
        steps = [s for s in parts.steps if s]
        if steps_wanted:
            text = "First " + "; then ".join(steps) + "; finally, " + text[0].lower() + text[1:]
        else:
            text = (
                text.rstrip(".?")
                + " ("
                + "; ".join(steps)
                + ")"
                + ("?" if text.endswith("?") else "")
            )
    question = _finish(text)
    return (
        question,
        f"Convert this natural language question to PostGIS spatial SQL for "
        f"{vocab.database}: {question}",
    )


__all__ = ["TONES", "Parts", "describe"]
