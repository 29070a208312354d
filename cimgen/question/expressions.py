"""Reader layer 2: expressions as noun phrases (columns, arithmetic, CASE, aggregates,
windows, ordering items)."""

from __future__ import annotations

from cimgen import ast
from cimgen.question.base import (
    AGG_WORDS,
    Scope,
    join_words,
    literal,
)
from cimgen.question.scope import ScopeReader
from cimgen.question.vocabulary import humanise, plural, split_unit


class ExprReader(ScopeReader):
    # ------------------------------------------------------------------ expressions (noun phrases)

    def expr(self, e: ast.Expr, scope: Scope) -> str:
        if isinstance(e, ast.Column):
            return self.colname(e, scope)
        v = literal(e)
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

    def arith(self, e: ast.BinaryOp, scope: Scope) -> str:
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
                if len(rest) == 1 and isinstance(rest[0], ast.BinaryOp) and rest[0].op == "/":
                    a, b = self.expr(rest[0].left, scope), self.expr(rest[0].right, scope)
                    return f"{a} as a percentage of {b}"
                return f"{join_words([self.expr(t, scope) for t in rest], 'times')} as a percentage"
            words = [self.expr(t, scope) for t in terms]
            if op == "+":
                return "sum of " + join_words(words)
            return join_words(words, "times" if op == "*" else "followed by")
        if op == "/":
            return f"{self.expr(e.left, scope)} per {self.expr(e.right, scope)}"
        if op == "-":
            return f"{self.expr(e.left, scope)} minus {self.expr(e.right, scope)}"
        if op == "%":
            return f"{self.expr(e.left, scope)} modulo {self.expr(e.right, scope)}"
        if op == "<->":
            return f"distance between {self.geom(e.left, scope)} and {self.geom(e.right, scope)}"
        return "whether " + self.cond(e, scope, plain=True)

    def case(self, e: ast.Case, scope: Scope, name: str = "") -> str:
        """``height class ('tall' if the building height is over 25 m, otherwise 'low')``."""
        results = [w.result for w in e.whens] + ([e.else_] if e.else_ is not None else [])
        name = name or ("category" if all(isinstance(r, ast.String) for r in results) else "value")
        branches = []
        for w in e.whens:
            cond = (
                self.cond(w.condition, scope, plain=True)
                if e.operand is None
                else f"{self.expr(e.operand, scope)} is {self.expr(w.condition, scope)}"
            )
            branches.append(f"{self.expr(w.result, scope)} if {cond}")
        if e.else_ is not None:
            branches.append(f"otherwise {self.expr(e.else_, scope)}")
        return f"{name} (" + ", ".join(branches) + ")"

    def func(self, f: ast.FuncCall, scope: Scope) -> str:
        name = f.name
        up = name.upper()
        args = f.args
        if f.over is not None:
            return self.window(f, scope)
        if up == "COUNT":
            text = self.count(f, scope)
        elif up in AGG_WORDS and args:
            inner = self.expr(args[0], scope).removeprefix("the ")
            word = AGG_WORDS[up]
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
            text = f"{'larger' if up == 'GREATEST' else 'smaller'} of " + join_words(
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
        elif self.is_spatial_pred(f):
            text = "whether " + self.spatial_pred(f, scope, None, plain=True)
        else:
            text = self.spatial_func(f, scope)
        if f.filter is not None:
            text += " " + self.cond(f.filter, scope)
        return text

    def count(self, f: ast.FuncCall, scope: Scope) -> str:
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

    def window(self, f: ast.FuncCall, scope: Scope) -> str:
        over = f.over or ast.Window()
        part = join_words([self.expr(p, scope) for p in over.partition_by])
        within = f" within each {part}" if part else ""
        order = join_words([self.order_item(o, scope) for o in over.order_by])
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

    def cluster_clause(self, f: ast.FuncCall, scope: Scope) -> str:
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
            text += " separately for each " + join_words(
                [self.expr(p, scope) for p in over.partition_by]
            )
        return text

    # ------------------------------------------------------------------ ordering

    def order_item(self, o: ast.OrderItem, scope: Scope, select: ast.Select | None = None) -> str:
        e = o.expr
        if isinstance(e, ast.Number) and select is not None:
            idx = int(e.text) - 1
            if 0 <= idx < len(select.items):
                e = select.items[idx].expr
        elif isinstance(e, ast.Column) and e.table is None and e.name in scope.aliases:
            e = scope.aliases[e.name]
        noun = self.item_phrase(e, None, scope)
        if o.direction == "DESC":
            return f"{noun} {self.pick(('descending', '(highest first)'))}"
        return f"{noun} {self.pick(('ascending', '(lowest first)'))}"

    def item_phrase(self, e: ast.Expr, alias: str | None, scope: Scope) -> str:
        """How a SELECT / ORDER BY / GROUP BY item reads; its alias names a CASE, and stands in
        for readings that get too long."""
        named = ""
        if alias:
            base, unit = split_unit(alias)
            named = humanise(base) + (f" ({unit})" if unit else "")
        text = self.case(e, scope, named) if isinstance(e, ast.Case) else self.expr(e, scope)
        if named and (len(text) > 120 or text.startswith("whether")):
            return named
        return text

    # ------------------------------------------------------------------ provided by later layers

    def geom(self, e: ast.Expr, scope: Scope) -> str:
        raise NotImplementedError

    def spatial_func(self, f: ast.FuncCall, scope: Scope) -> str:
        raise NotImplementedError

    def subquery_clause(self, query: ast.Query, scope: Scope, bare: bool = False) -> str:
        raise NotImplementedError
