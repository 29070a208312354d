"""Reader layer 5: a whole query (CTEs, set operations, SELECT lists, grouping, ordering,
limits) read into :class:`~cimgen.question.base.Parts`."""

from __future__ import annotations

from dataclasses import replace

from cimgen import ast
from cimgen.question.base import (
    Parts,
    Scope,
    filter_list,
    has_agg,
    join_words,
    the,
)
from cimgen.question.conditions import ConditionReader
from cimgen.question.vocabulary import humanise

_MAX_RETURNS = 4  # longer SELECT lists name their measures and a few columns, then "N other"


class Reader(ConditionReader):
    # ------------------------------------------------------------------ query parts

    def query_parts_and_scope(self, q: ast.Query, outer: Scope | None) -> tuple[Parts, Scope]:
        for cte in q.ctes:
            self.ctes[cte.name] = cte
        body = q.body
        if isinstance(body, ast.SetOp):
            parts = self.setop_parts(body, outer)
            scope = Scope(outer)
        else:
            parts = Parts()
            scope = self.select_parts(body, outer, parts)
        self.order_limit(q, scope, parts, body if isinstance(body, ast.Select) else None)
        if q.ctes and not self.inherit:
            parts.steps = [self._step(c) for c in q.ctes] + parts.steps
        return parts, scope

    def _step(self, cte: ast.CTE) -> str:
        """A CTE as a step: what it computes, from what, under which conditions. Columns it
        passes through are left out (the final SELECT names what is returned); a CTE that
        only passes columns through is no step at all ("")."""
        sub = self._cte_parts(cte.query)
        brief = replace(sub, returns=list(dict.fromkeys(sub.measures)))
        if not (
            brief.returns
            or sub.filters
            or sub.joins
            or sub.with_their
            or sub.window
            or sub.group
            or sub.having
            or sub.limit
        ):
            return ""
        verb = self.pick(("compute", "take", "derive"))
        return f"{verb} {self.clause(brief)} (as {humanise(cte.name)})"

    def setop_parts(self, node: ast.SetOp, outer: Scope | None) -> Parts:
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
            parts.late += sub.late
        parts.returns = [", ".join(texts)]
        parts.measures = parts.returns
        parts.setop = True
        return parts

    def select_parts(self, sel: ast.Select, outer: Scope | None, parts: Parts) -> Scope:
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
            ) + join_words(nouns)
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
                text = self.pick(("also giving ", "alongside ")) + the(self.expr(e, scope))
                parts.window = join_words([parts.window, text]) if parts.window else text
                continue
            text = self.item_phrase(e, item.alias, scope)
            if isinstance(e, ast.String | ast.Number):
                labels.append(text)
                continue
            if has_agg(e):
                aggs += 1
                parts.measures.append(text)
                parts.has_sum |= "total " in text
            elif isinstance(e, ast.FuncCall | ast.BinaryOp | ast.FieldAccess | ast.Case):
                parts.measures.append(text)
            parts.returns.append(text)
            self.note_temporal(e, scope, parts)
        if labels and len(labels) < len(sel.items):  # not for EXISTS (SELECT 1 ...)
            parts.subject += f" (labelled {join_words(labels)})"
        parts.aggregate = aggs > 0 or bool(sel.group_by)
        parts.counts_only = aggs > 0 and all(r.startswith("number of ") for r in parts.measures)
        parts.distinct = sel.distinct
        if sel.having is not None:
            parts.having = self.having(sel.having, scope, parts)
        # a column asked for twice reads once
        parts.returns = list(dict.fromkeys(parts.returns))
        parts.measures = list(dict.fromkeys(parts.measures))
        if len(parts.returns) > _MAX_RETURNS + 1:  # "and 1 other column" says no less
            # measures change the result and are all named; plain columns are listed while
            # the sentence stays short (Stage 1 questions name none of them)
            plain = [r for r in parts.returns if r not in parts.measures]
            shown = plain[: max(1, _MAX_RETURNS - 1 - len(parts.measures))]
            keep = [r for r in parts.returns if r in parts.measures or r in shown]
            extra = len(parts.returns) - len(keep)
            parts.returns = [*keep, f"{extra} other columns"] if extra > 1 else parts.returns
        return scope

    def order_limit(self, q: ast.Query, scope: Scope, parts: Parts, sel: ast.Select | None) -> None:
        if q.order_by:
            items = [self.order_item(o, scope, sel) for o in q.order_by]
            parts.order = self.pick(("sorted by ", "ordered by ")) + join_words(items)
            for o in q.order_by:
                if isinstance(o.expr, ast.Column):
                    t, _, _ = self.term(o.expr, scope)
                    if t.temporal:
                        parts.temporal.append(t.noun)
        if q.limit is not None:
            n = self.expr(q.limit, scope)
            s = "" if n == "1" else "s"
            parts.limit = self.pick(
                (f"at most {n} row{s}", f"only the first {n}", f"limited to {n} row{s}")
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
            parts.limit = join_words(
                [p for p in (parts.limit,) if p]
                + [f"skipping the first {self.expr(q.offset, scope)}"]
            )

    # ------------------------------------------------------------------ sentences

    def scope_phrase(self, parts: Parts, spatial_first: bool = False) -> str:
        """``<subject> with their <attached> <own filters>, <joins>, <filters on joined>``."""
        filters = list(zip(parts.filters, parts.spatial, parts.late, strict=True))
        if spatial_first:
            filters.sort(key=lambda fs: not fs[1])
        text = parts.subject
        if parts.with_their:
            text += " with their " + join_words(parts.with_their)
        # the same clause twice (ST_IsValid on two copies of one column) reads once
        filters = list({f: (f, s, late) for f, s, late in reversed(filters)}.values())[::-1]
        early = [f for f, _, late in filters if not late]
        if early:
            text += " " + filter_list(early)
        if parts.joins:
            text += (", " if early else " ") + filter_list(parts.joins)
        late = [f for f, _, late in filters if late]
        if late:
            text += ", " + filter_list(late)
        return text

    def clause(self, parts: Parts) -> str:
        """``the <returns> of <subject, joins, filters>, <grouping>, <order>, <limit>``."""
        tail = "".join(
            ", " + p
            for p in (parts.window, parts.group, parts.having, parts.order, parts.limit)
            if p
        )
        returns = join_words(parts.returns)
        scope = self.scope_phrase(parts)
        of = " for " if parts.aggregate else " of "
        return f"{the(returns)}{of}{scope}{tail}" if returns else f"{scope}{tail}"
