"""Reader layer 2: expressions as short noun phrases.

:meth:`ExprReader.np` reads an expression into ``(text, owner)``: the words, and the label
of the table they belong to when that is not the one being described (``""`` for the
subject's own, ``"their"`` for the subject seen from a joined table or a subquery). Keeping
the owner apart lets a list say it once (``the project's centroid, hull and buffer area``).
Phrases are what a planner says, not a reading of the tree: ``AVG(height)`` is ``average
height``, ``SUM(CASE WHEN valid THEN 1 ELSE 0 END)`` is ``number of buildings with a valid
geometry``, ``a / b * 100`` is ``a as a percentage of b``.
"""

from __future__ import annotations

import re
from typing import Any

from cimgen import ast
from cimgen.question.base import (
    AGG_WORDS,
    BlockWords,
    compound,
    join_words,
    literal,
)
from cimgen.question.scope import ScopeReader, qualify
from cimgen.question.vocabulary import humanise, plural, split_unit

_TILES = {"2": "half", "3": "tercile", "4": "quartile", "5": "quintile", "10": "decile"}
_RANKS = {
    "ROW_NUMBER": "position",
    "RANK": "rank",
    "DENSE_RANK": "dense rank",
    "PERCENT_RANK": "percent rank",
    "CUME_DIST": "cumulative share",
}


class ExprReader(ScopeReader):
    def expr(self, e: ast.Expr, scope: BlockWords) -> str:
        """``e`` as one noun phrase, owner included (``the census zone's population``)."""
        return qualify(*self.np(e, scope))

    def np(self, e: ast.Expr, scope: BlockWords) -> tuple[str, str]:
        if isinstance(e, ast.Column):
            t, src, depth = self.term(e, scope)
            if src is not None:
                src.mentioned = True
            owner = self.owner_of(src, depth, scope) if t.kind != "derived" else ""
            if t.noun.startswith(("has ", "in ", "is ")):  # a boolean told as a state
                return state(t.noun, owner), ""
            return self.brief(t, src, owner, scope), owner
        v = literal(e)
        if v is not None:
            return v, ""
        if isinstance(e, ast.Cast | ast.NamedArg):
            return self.np(e.expr if isinstance(e, ast.Cast) else e.value, scope)
        if isinstance(e, ast.FuncCall):
            return self.func(e, scope)
        if isinstance(e, ast.BinaryOp):
            return self.arith(e, scope)
        if isinstance(e, ast.FieldAccess):
            return self.field(e, scope)
        if isinstance(e, ast.Case):
            return self.case(e, scope), ""
        if isinstance(e, ast.Subquery):
            return self.sub_phrase(e.query, scope), ""
        if isinstance(e, ast.Star):
            if e.table is None or scope.own(scope.sources.get(e.table), 0):
                return "all columns", ""
            src = scope.sources.get(e.table)
            return "all columns", src.label if src else ""
        if isinstance(e, ast.UnaryOp) and e.op == "-":
            text, owner = self.np(e.operand, scope)
            return f"negative {text}", owner
        return self.whether(e, scope), ""

    # ------------------------------------------------------------------ arithmetic, CASE

    def arith(self, e: ast.BinaryOp, scope: BlockWords) -> tuple[str, str]:
        op = e.op
        if op == "<->":
            return self.distance("distance", e.left, e.right, scope)
        if op in ("+", "*", "||"):
            terms = _flatten(e, op)
            hundred = [t for t in terms if isinstance(t, ast.Number) and t.text in ("100", "100.0")]
            rest = [t for t in terms if t not in hundred]
            if op == "*" and hundred and len(rest) == 1:
                inner = rest[0]
                if isinstance(inner, ast.BinaryOp) and inner.op == "/":
                    return self._joined(inner.left, inner.right, scope, "as a percentage of")
                text, owner = self.np(inner, scope)
                return f"{text} as a percentage", owner
            word = {"+": "plus", "*": "times", "||": "followed by"}[op]
            return self._joined_many(terms, scope, word)
        if op == "/":
            return self._joined(e.left, e.right, scope, "per")
        if op in ("-", "%"):
            return self._joined(e.left, e.right, scope, "minus" if op == "-" else "modulo")
        return self.whether(e, scope), ""

    def _joined(self, a: ast.Expr, b: ast.Expr, scope: BlockWords, word: str) -> tuple[str, str]:
        return self._joined_many([a, b], scope, word)

    def _joined_many(self, terms: list[ast.Expr], scope: BlockWords, word: str) -> tuple[str, str]:
        parts = [self.np(t, scope) for t in terms]
        at = parts[0][0].rpartition(" at ")[2]
        if " at " in parts[0][0] and all(
            not o and text.endswith(" at " + at) for text, o in parts
        ):  # "surface minus bare-earth elevation at that point": the place said once
            heads = [text[: -len(" at " + at)] for text, _ in parts]
            return f" {word} ".join(heads) + " at " + at, ""
        owners = {o for _, o in parts if o}
        if len(owners) == 1 and all(
            o or literal(t) is not None for (_, o), t in zip(parts, terms, strict=True)
        ):
            return f" {word} ".join(text for text, _ in parts), owners.pop()
        return f" {word} ".join(qualify(text, o) for text, o in parts), ""

    def case(self, e: ast.Case, scope: BlockWords, name: str = "") -> str:
        """``height class ('tall' if height over 25 m, else 'low')``."""
        saved, self.fixed = self.fixed, True
        try:
            return self._case(e, scope, name)
        finally:
            self.fixed = saved

    def _case(self, e: ast.Case, scope: BlockWords, name: str) -> str:
        results = [w.result for w in e.whens] + ([e.else_] if e.else_ is not None else [])
        name = name or ("category" if all(isinstance(r, ast.String) for r in results) else "value")
        branches = []
        for w in e.whens:
            if e.operand is None:
                cond = self.brief_cond(w.condition, scope)
            else:
                cond = f"{self.expr(e.operand, scope)} is {self.expr(w.condition, scope)}"
            branches.append(f"{self.expr(w.result, scope)} if {cond}")
        if e.else_ is not None:
            branches.append(f"else {self.expr(e.else_, scope)}")
        return f"{name} (" + ", ".join(branches) + ")"

    # ------------------------------------------------------------------ functions

    def func(self, f: ast.FuncCall, scope: BlockWords) -> tuple[str, str]:
        up = f.name.upper()
        args = f.args
        if f.over is not None:
            return self.window(f, scope)
        if up == "COUNT":
            return self.count(f, scope), ""
        if up == "SUM" and args and _is_indicator(args[0]):
            case = args[0]
            assert isinstance(case, ast.Case)
            return self.count_where(case.whens[0].condition, scope), ""
        if up in AGG_WORDS and args:
            text, owner = self.np(args[0], scope)
            if up == "SUM" and text.startswith("number of "):
                # "total residents", as the corpus says ("total residents per cluster"),
                # not "total number of residents": two words less beside a count
                text = f"total {text.removeprefix('number of ')}"
            else:
                text = f"{_aggregate_word(up, text)} {text}".lstrip()
        elif up == "STRING_AGG" and args:
            text, owner = self.np(args[0], scope)
            text = f"list of {plural(text)}"
        elif up == "BOOL_AND" and args:
            return "whether all " + self.brief_cond(args[0], scope), ""
        elif up in ("ROUND", "TRUNC", "FLOOR", "CEIL", "CEILING") and args:
            text, owner = self.np(args[0], scope)
            how = {"FLOOR": "rounded down", "CEIL": "rounded up", "CEILING": "rounded up"}
            text = f"{text} ({how.get(up, 'rounded')})"
        elif up in ("NULLIF", "UPPER", "LOWER", "ABS", "SQRT") and args:
            text, owner = self.np(args[0], scope)
            text = {"ABS": "absolute ", "SQRT": "square root of "}.get(up, "") + text
        elif up == "COALESCE" and args:
            text, owner = self.np(args[0], scope)
            if len(args) > 1:
                text += f" (or {self.expr(args[1], scope)})"
        elif up in ("GREATEST", "LEAST") and args:
            word = "larger" if up == "GREATEST" else "smaller"
            return f"{word} of " + join_words([self.expr(a, scope) for a in args]), ""
        elif up == "POWER" and len(args) == 2:
            text, owner = self.np(args[0], scope)
            text += f" to the power {self.expr(args[1], scope)}"
        elif self.is_spatial_pred(f):
            return self.whether(f, scope), ""
        else:
            return self.spatial(f, scope)
        if f.filter is not None:
            text += " " + self.brief_cond(f.filter, scope)
        return text, owner

    def count(self, f: ast.FuncCall, scope: BlockWords) -> str:
        """``number of buildings``, ``number of distinct use types``."""
        subject = self.rows_noun(scope)
        if f.filter is not None:
            return self.count_where(f.filter, scope)
        if f.star or not f.args:
            return f"number of {subject}"
        arg = f.args[0]
        distinct = "distinct " if f.distinct else ""
        if isinstance(arg, ast.Column):
            t, src, _ = self.term(arg, scope)
            if src is not None and t.short in ("ID", "internal ID"):
                # a CTE passes its table's key through: its rows are that table's
                # ("number of distinct buses" of clustered buses, was "... internal IDs")
                return f"number of {distinct}{src.words.plural}"
        text, owner = self.np(arg, scope)
        if f.distinct:
            head, sep, tail = text.partition(" of ")
            text = plural(head) + sep + tail
        if owner and owner != "their":
            text = f"{owner.removeprefix('the ')} {text}"
        return f"number of {distinct}{text}"

    def count_where(self, cond: ast.Expr, scope: BlockWords) -> str:
        return f"number of {self.rows_noun(scope)} {self.brief_cond(cond, scope, rel=True)}"

    def rows_noun(self, scope: BlockWords) -> str:
        """What a row of ``scope`` is: its subject's, or the joined table's when the
        subject meets several of its rows (:meth:`counted`)."""
        counted = self.counted(scope) if scope.focus is None else None
        focus = counted or scope.focus or scope.subject
        return focus.words.plural if focus is not None else "rows"

    def field(self, e: ast.FieldAccess, scope: BlockWords) -> tuple[str, str]:
        inner = e.expr
        if isinstance(inner, ast.FuncCall) and inner.name == "ST_SummaryStats" and inner.args:
            g = self.geo(inner.args[0], scope)
            measure = self.v.raster_value(g.source.key) if g.source is not None else ""
            if (
                measure
                and g.core.startswith("raster clipped to ")
                and e.field in ("mean", "min", "max")
            ):  # "mean surface elevation over them": the measure says which raster
                word = {"min": "minimum", "max": "maximum"}.get(e.field, e.field)
                target = g.core.removeprefix("raster clipped to ")
                over = "" if target == "them" else f" over {target}"  # a zone's own: its area
                return f"{word} {measure}{over}", ""
            word = {"mean": "mean value", "stddev": "value spread", "count": "pixel count"}.get(
                e.field, f"{e.field} value"
            )
            return (word if g.main else compound(g.core, word)), g.owner
        text, owner = self.np(inner, scope)
        return f"{e.field} of {text}", owner

    # ------------------------------------------------------------------ windows

    def window(self, f: ast.FuncCall, scope: BlockWords) -> tuple[str, str]:
        over = f.over or ast.Window()
        part = join_words([self.expr(p, scope) for p in over.partition_by])
        # "within each grid zone", "split by whether the bus is in service": not "per",
        # which reads as the query's own grouping (blind review)
        # another table's value as a compound after "each": "within each destination bus
        # voltage", never "within each the destination bus's voltage"
        part = re.sub(r"^the ([a-z]+(?: [a-z]+)?)'s ([a-z]+(?: [a-z]+)?)$", r"\1 \2", part)
        within = f" {'split by' if part.startswith('whether') else 'within each'} {part}"
        within = within if part else ""
        order = join_words([self.order_noun(o, scope) for o in over.order_by])
        up = f.name.upper()
        if f.name in ("ST_ClusterDBSCAN", "ST_ClusterKMeans"):
            return "cluster", ""
        if up in _RANKS:
            return f"{_RANKS[up]} by {order or 'default order'}{within}", ""
        if up == "NTILE" and f.args:
            n = self.expr(f.args[0], scope)
            tile = _TILES.get(n, n + "-tile group")
            if order.endswith(" (highest first)"):  # "height quartile (highest first)"
                return (
                    f"{order.removesuffix(' (highest first)')} {tile} (highest first){within}",
                    "",
                )
            return f"{order} {tile}{within}", ""
        if up in ("LAG", "LEAD") and f.args:
            which = "previous" if up == "LAG" else "next"
            return f"{which} {self.expr(f.args[0], scope)} by {order}{within}", ""
        text, owner = self.func(ast.FuncCall(f.name, f.args, f.schema, f.distinct, f.star), scope)
        if order:
            return f"running {text} by {order}{within}", owner
        return text + (within or " over all rows"), owner

    def cluster_clause(self, f: ast.FuncCall, scope: BlockWords) -> str:
        over = f.over or ast.Window()
        named = {a.name: self.expr(a.value, scope) for a in f.args if isinstance(a, ast.NamedArg)}
        pos = [self.expr(a, scope) for a in f.args[1:] if not isinstance(a, ast.NamedArg)]
        g = self.geo(f.args[0], scope) if f.args else None
        of = "" if g is None or g.main else f" of their {g.core}"
        if f.name == "ST_ClusterDBSCAN":
            eps = named.get("eps", pos[0] if pos else "?")
            pts = named.get("minpoints", pos[1] if len(pos) > 1 else "?")
            # what a DBSCAN user writes: its two parameters, briefly
            text = f"clustered by DBSCAN{of} (eps {eps}, min {pts} points)"
        else:
            k = named.get("k", pos[0] if pos else "?")
            text = f"in {k} k-means clusters{of}"
        if over.partition_by:
            text += " per " + join_words([self.expr(p, scope) for p in over.partition_by])
        return text

    def order_noun(self, o: ast.OrderItem, scope: BlockWords) -> str:
        noun = self.expr(self.unalias(o.expr, scope), scope)
        return noun + (" (highest first)" if o.direction == "DESC" else "")

    def unalias(self, e: ast.Expr, scope: BlockWords, select: ast.Select | None = None) -> ast.Expr:
        """An ORDER BY / GROUP BY item as the expression it names (alias or position)."""
        if isinstance(e, ast.Number) and select is not None:
            idx = int(e.text) - 1
            if 0 <= idx < len(select.items):
                return select.items[idx].expr
        if isinstance(e, ast.Column) and e.table is None and e.name in scope.aliases:
            return scope.aliases[e.name]
        return e

    def alias_name(self, alias: str) -> str:
        return humanise(split_unit(alias)[0])

    # ------------------------------------------------------------------ provided by later layers

    def spatial(self, f: ast.FuncCall, scope: BlockWords) -> tuple[str, str]:
        raise NotImplementedError

    def distance(self, word: str, a: ast.Expr, b: ast.Expr, scope: BlockWords) -> tuple[str, str]:
        raise NotImplementedError

    def geo(self, e: ast.Expr, scope: BlockWords) -> Any:
        raise NotImplementedError

    def brief_cond(self, e: ast.Expr, scope: BlockWords, rel: bool = False) -> str:
        raise NotImplementedError

    def whether(self, e: ast.Expr, scope: BlockWords) -> str:
        raise NotImplementedError

    def sub_phrase(self, query: ast.Query, scope: BlockWords) -> str:
        raise NotImplementedError


def state(noun: str, owner: str) -> str:
    """A boolean column told as a state: ``in service`` -> ``in service``, ``has a heating
    system`` -> ``they have a heating system`` / ``the building has a heating system``."""
    if not owner and not noun.startswith("has "):
        return "whether " + noun.removeprefix("is ")
    who = owner if owner and owner != "their" else "they"
    plural_who = who == "they"
    if noun.startswith("has "):
        return f"whether {who} {'have' if plural_who else 'has'} {noun[4:]}"
    noun = noun.removeprefix("is ")
    return f"whether {who} {'are' if plural_who else 'is'} {noun}"


def _aggregate_word(up: str, noun: str) -> str:
    """The word for aggregate ``up`` over a column called ``noun``: ``average height``;
    over a column whose noun already starts with that word, what still tells it apart:
    MAX(max_elevation) is the ``largest maximum ...``, MIN(min_elevation) the ``smallest
    minimum ...``, but the average of an average (AVG(dtm_avg_height)) is an ``average
    ground elevation`` and the total of totals a ``total ...`` (not "smallest")."""
    word = AGG_WORDS[up]
    if not noun.startswith(word + " "):
        return word
    return {"MAX": "largest", "MIN": "smallest"}.get(up, "")


def _flatten(e: ast.BinaryOp, op: str) -> list[ast.Expr]:
    terms: list[ast.Expr] = []
    stack: list[ast.Expr] = [e]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.BinaryOp) and n.op == op:
            stack += [n.right, n.left]
        else:
            terms.append(n)
    return terms


def _is_indicator(e: ast.Expr) -> bool:
    """``CASE WHEN c THEN 1 ELSE 0 END``: summing it counts the rows where ``c`` holds."""
    return (
        isinstance(e, ast.Case)
        and e.operand is None
        and len(e.whens) == 1
        and literal(e.whens[0].result) == "1"
        and e.else_ is not None
        and literal(e.else_) == "0"
    )
