"""Reader layer 1: scope building (FROM items, joins) and column resolution.

Later layers (expressions, geometry, conditions, query parts) subclass :class:`ScopeReader`;
the few methods this layer needs from them are declared here and raise until overridden.
"""

from __future__ import annotations

import random

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.question.base import (
    METRIC_SRIDS,
    Parts,
    Scope,
    Source,
    conjuncts,
    is_agg_call,
    join_words,
    the,
)
from cimgen.question.vocabulary import TableWords, Term, Vocabulary, humanise, split_unit


class ScopeReader:
    def __init__(self, vocab: Vocabulary, rng: random.Random, metric_srid: int | None) -> None:
        self.v = vocab
        self.rng = rng
        self.cat = load_catalogue()
        self.metric = METRIC_SRIDS | ({metric_srid} if metric_srid else set())
        self.ctes: dict[str, ast.CTE] = {}
        self.inherit = True  # fold CTE filters into the outer description
        self._cte_scopes: dict[int, tuple[Scope, Parts]] = {}

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return options[int(self.rng.random() * len(options))]

    # ------------------------------------------------------------------ scope building

    def scope_for(self, sel: ast.Select, parent: Scope | None, parts: Parts) -> Scope:
        scope = Scope(parent)
        seen: dict[str, int] = {}
        for item in sel.from_:
            self._add_from(item, scope, parts, seen, top=True)
        return scope

    def _source(
        self,
        item: ast.TableRef | ast.DerivedTable,
        scope: Scope,
        seen: dict[str, int],
        parts: Parts,
    ) -> Source:
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
        src = Source(ref, words, key, query, attached=scope.subject is None, label=label)
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
        parts.late += sub.late
        parts.joins += sub.joins
        parts.with_their += sub.with_their
        parts.spatial_join |= sub.spatial_join
        parts.temporal += sub.temporal
        inner = [p for p in (sub.window, sub.group, sub.having) if p]
        if inner:
            parts.window = join_words([parts.window, *inner] if parts.window else inner, "and")
        if sub.top or sub.limit:
            parts.steps.append(sub.top or sub.limit)

    def _cte_parts(self, query: ast.Query) -> Parts:
        hit = self._cte_scopes.get(id(query))
        if hit is None:
            sub, scope = self.query_parts_and_scope(query, None)
            hit = (scope, sub)
            self._cte_scopes[id(query)] = hit
        return hit[1]

    def _add_from(
        self, item: ast.FromItem, scope: Scope, parts: Parts, seen: dict[str, int], top: bool
    ) -> Source | None:
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

    def _join_phrase(self, join: ast.Join, right: Source, scope: Scope, parts: Parts) -> None:
        other = right.label.startswith(("the other ", right.words.singular + " number"))
        noun = ("other " if other else "") + right.words.plural
        optional = " (where available)" if join.kind in ("LEFT", "FULL") else ""
        if join.kind == "CROSS" or join.on is None:
            right.attached = False
            one = ("another " if other else "every ") + right.words.singular
            parts.joins.append(self.pick(("paired with ", "combined with ")) + one)
            return
        conds = conjuncts(join.on)
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
            keyed: list[tuple[ast.Column, ast.Column]] = []
            for a, b in pairs:
                if self.resolve(a, scope)[0] is right:  # type: ignore[arg-type]
                    a, b = b, a
                keyed.append((a, b))  # type: ignore[arg-type]
            if self._natural_key(keyed, right, scope):
                # the schema's own link: the joined rows belong to the subject, so their
                # columns read as its own ("with their building properties ... built after")
                right.attached = True
                parts.with_their.append(noun + optional)
                return
            matches = []
            for a, _ in keyed:
                src, depth = self.resolve(a, scope)
                own = src is None or (src.attached and depth == 0)
                text = self.expr(a, scope)
                matches.append(f"their {text}" if own else the(text))
            parts.joins.append(f"with the {noun} matching {join_words(matches)}{optional}")
            return
        right.attached = False
        spatial_first = next((c for c in conds if self.is_spatial_pred(c)), None)
        rest = [self.cond(c, scope, plain=True) for c in conds if c is not spatial_first]
        if spatial_first is not None:
            parts.spatial_join = True
            rel = self.spatial_pred(spatial_first, scope, about=right, plain=False)
            text = f"with the {noun} {rel}"
        else:
            text = f"with the {noun}"
        if rest:
            text += " where " + join_words(rest)
        parts.joins.append(text + optional)

    def _natural_key(
        self, keyed: list[tuple[ast.Column, ast.Column]], right: Source, scope: Scope
    ) -> bool:
        """Whether the join keys are the schema's relation between the two tables, and the
        only one or a declared foreign key (then "with their X" says it all; grid lines to
        grid buses by from_bus vs to_bus must name the key)."""
        left = self.resolve(keyed[0][0], scope)[0]
        if left is None or left.key is None or right.key is None:
            return False
        if any(self.resolve(a, scope)[0] is not left for a, _ in keyed):
            return False
        got = {(a.name, b.name) for a, b in keyed}
        between = [r for r in self.v.schema.relations if {r.left, r.right} == {left.key, right.key}]
        for r in between:
            cols = set(zip(r.left_columns, r.right_columns, strict=True))
            if r.left == right.key:
                cols = {(b, a) for a, b in cols}
            if cols == got and (r.kind == "foreign_key" or len(between) == 1):
                return True
        return False

    # ------------------------------------------------------------------ resolution

    def resolve(self, col: ast.Column, scope: Scope) -> tuple[Source | None, int]:
        depth, s = 0, scope  # type: int, Scope | None
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

    def _has_column(self, src: Source, name: str) -> bool:
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

    def term(self, col: ast.Column, scope: Scope) -> tuple[Term, Source | None, int]:
        src, depth = self.resolve(col, scope)
        if src is None:
            return self.v.column(None, col.name), None, depth
        if src.query is not None:
            inner = self._outputs(src.query).get(col.name)
            sub_scope = self._cte_scopes.get(id(src.query), (None, None))[0]
            if isinstance(inner, ast.Column) and sub_scope is not None:
                t, _, _ = self.term(inner, sub_scope)
                return t, src, depth
            if isinstance(inner, ast.FuncCall) and sub_scope is not None and is_agg_call(inner):
                text = self.expr(inner, sub_scope)
                if len(text) <= 60:
                    return Term(text), src, depth
            base, unit = split_unit(col.name)
            return Term(humanise(base), unit), src, depth
        return self.v.column(src.key, col.name), src, depth

    def colname(self, col: ast.Column, scope: Scope) -> str:
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

    def note_temporal(self, e: ast.Expr, scope: Scope, parts: Parts) -> None:
        if isinstance(e, ast.Column):
            t, _, _ = self.term(e, scope)
            if t.temporal:
                parts.temporal.append(t.noun)

    def query_parts(self, q: ast.Query, outer: Scope | None) -> Parts:
        return self.query_parts_and_scope(q, outer)[0]

    # ------------------------------------------------------------------ provided by later layers

    def expr(self, e: ast.Expr, scope: Scope) -> str:
        raise NotImplementedError

    def cond(self, e: ast.Expr, scope: Scope, plain: bool = False, negated: bool = False) -> str:
        raise NotImplementedError

    def spatial_pred(
        self,
        e: ast.Expr,
        scope: Scope,
        about: Source | None = None,
        plain: bool = False,
        negated: bool = False,
    ) -> str:
        raise NotImplementedError

    def is_spatial_pred(self, e: ast.Expr) -> bool:
        raise NotImplementedError

    def query_parts_and_scope(self, q: ast.Query, outer: Scope | None) -> tuple[Parts, Scope]:
        raise NotImplementedError
