"""Reader layer 4: conditions (WHERE, HAVING, JOIN ON) as relative clauses or sentences."""

from __future__ import annotations

from cimgen import ast
from cimgen.question.base import (
    CMP,
    FLIP,
    Parts,
    Scope,
    Source,
    conjuncts,
    filter_list,
    join_words,
    literal,
    the,
    verb_s,
    with_unit,
)
from cimgen.question.geometry import GeometryReader
from cimgen.question.vocabulary import plural


class ConditionReader(GeometryReader):
    def cond(self, e: ast.Expr, scope: Scope, plain: bool = False, negated: bool = False) -> str:
        """A predicate as a relative clause (``whose height is above 20 m``) or, with
        ``plain``, as a sentence (``the height is above 20 m``)."""
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.cond(e.operand, scope, plain, not negated)
        if self.is_spatial_pred(e):
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
                return join_words(parts) if e.op == "AND" else "either " + " or ".join(parts)
            if e.op in FLIP:
                return self.compare(e.op, e.left, e.right, scope, plain, negated)
            if e.op in ("LIKE", "ILIKE"):
                return self.like(e, scope, plain, negated)
        if isinstance(e, ast.Between):
            neg = negated != e.negated
            lo, hi = self.expr(e.low, scope), self.expr(e.high, scope)
            subject, unit, year = self._subject_of(e.expr, scope, plain)
            rng_txt = f"between {lo} and {with_unit(hi, unit)}"
            if year and not neg and not plain and subject.startswith("with "):
                return f"built between {lo} and {hi}"
            if not neg and not plain and subject.startswith("with "):
                return f"{subject} {rng_txt}"
            return (
                f"{subject} {'is not' if neg else 'is'} {rng_txt}".replace("with ", "whose ", 1)
                if subject.startswith("with ")
                else f"{subject} {'is not' if neg else 'is'} {rng_txt}"
            )
        if isinstance(e, ast.InList):
            neg = negated != e.negated
            items = join_words([self.expr(i, scope) for i in e.items], "or")
            if not neg and not plain:
                subject, _, _ = self._subject_of(e.expr, scope, plain)
                if subject.startswith("with "):
                    return f"{subject} {items}"
            subject, _, _ = self._subject_of(e.expr, scope, plain, rel="whose")
            return f"{subject} is {'none' if neg else 'one'} of {items}"
        if isinstance(e, ast.IsNull):
            neg = negated != e.negated
            noun = self.expr(e.expr, scope)
            if plain:
                return f"{the(noun)} is {'known' if neg else 'missing'}"
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
        self, e: ast.Expr, scope: Scope, plain: bool, rel: str = "with"
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
            return the(noun), unit, year
        return (
            (f"whose {noun}" if rel == "whose" or not noun[:1].isalpha() else f"{rel} {noun}"),
            unit,
            year,
        )

    def compare(
        self, op: str, left: ast.Expr, right: ast.Expr, scope: Scope, plain: bool, negated: bool
    ) -> str:
        if literal(left) is not None and literal(right) is None:
            left, right, op = right, left, FLIP[op]
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
        if (
            isinstance(left, ast.Column)
            and isinstance(right, ast.Column)
            and left.name == right.name
            and op in ("=", "<>")
        ):
            same = self.same_column(left, right, op == "=", scope, plain)
            if same:
                return same
        subject, unit, year = self._subject_of(left, scope, plain)
        value = literal(right)
        if value is None:
            value = self.expr(right, scope)
            if isinstance(right, ast.Subquery | ast.Column):
                value = the(value)
        else:
            value = with_unit(value, unit)
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
        word = self.pick(CMP[op])
        if not plain and subject.startswith("with "):
            return f"{subject} {word} {value}"
        return f"{subject} is {word} {value}"

    def same_column(
        self, left: ast.Column, right: ast.Column, equal: bool, scope: Scope, plain: bool
    ) -> str:
        """``x.project_id = outer.project_id`` -> ``with the same project identifier as the
        project scenario`` (correlations and self-join exclusions); "" when not two sources."""
        t, lsrc, ldepth = self.term(left, scope)
        _, rsrc, rdepth = self.term(right, scope)
        if lsrc is None or rsrc is None or lsrc is rsrc:
            return ""
        if rsrc.attached and rdepth == 0 and not (lsrc.attached and ldepth == 0):
            lsrc, rsrc = rsrc, lsrc
        if plain or not (lsrc.attached and ldepth == 0):
            same = "the same" if equal else "different"
            return f"{lsrc.label} and {rsrc.label} have {same} {plural(t.noun)}"
        same, prep = ("the same", "as") if equal else ("a different", "from")
        return f"with {same} {t.noun} {prep} {rsrc.label}"

    def boolean(self, col: ast.Column, truth: bool, scope: Scope, plain: bool) -> str:
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

    def like(self, e: ast.BinaryOp, scope: Scope, plain: bool, negated: bool) -> str:
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
            how = f"does not {kind}" if negated else verb_s(kind)
            text = f"{subject} {how} '{core}'"
        else:
            text = f"{subject} {'does not match' if negated else 'matches'} the pattern '{pat}'"
        return text + (" (case-insensitive)" if e.op == "ILIKE" else "")

    def exists(self, query: ast.Query, scope: Scope, negated: bool, plain: bool) -> str:
        sub = self.query_parts(query, scope)
        filters = (" " + join_words(sub.filters)) if sub.filters else ""
        text = f"{'no' if negated else 'at least one of the'} {sub.subject}{filters}"
        if plain:
            return f"there {'are' if negated else 'is'} {text}"
        return f"for which there {'are' if negated else 'is'} {text}"

    def subquery_clause(self, query: ast.Query, scope: Scope, bare: bool = False) -> str:
        saved = self.inherit
        self.inherit = True
        sub = self.query_parts(query, scope)
        self.inherit = saved
        returns = join_words(sub.returns) or "rows"
        tail = "".join(f", {p}" for p in (sub.group, sub.having, sub.order) if p)
        filters = (" " + join_words(sub.filters)) if sub.filters else ""
        joins = (" " + join_words(sub.joins)) if sub.joins else ""
        lim = f" ({sub.limit})" if sub.limit else ""
        if sub.counts_only and len(sub.returns) == 1:
            return f"{returns.removeprefix('the ')}{joins}{filters}{tail}{lim}"
        if bare and not sub.aggregate:
            head, sep, rest = returns.partition(" of ")
            return f"{plural(head)}{sep}{rest} of {sub.subject}{joins}{filters}{tail}{lim}"
        return f"{returns.removeprefix('the ')} of {sub.subject}{joins}{filters}{tail}{lim}"

    def about_joined(self, e: ast.Expr, scope: Scope) -> bool:
        """Whether condition ``e`` reads a column of a table joined to (not attached to) the
        subject: such a clause is told after the joins that introduce the table."""
        stack: list[object] = [e]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Column):
                src, depth = self.resolve(node, scope)
                if src is not None and depth == 0 and not src.attached:
                    return True
            elif not isinstance(node, ast.Exists | ast.InSubquery | ast.Subquery | ast.Query):
                for v in vars(node).values():  # ast.children's fields() is slow here
                    if isinstance(v, tuple):
                        stack.extend(x for x in v if hasattr(x, "__dataclass_fields__"))
                    elif hasattr(v, "__dataclass_fields__"):
                        stack.append(v)
        return False

    def where(self, where: ast.Expr, scope: Scope, parts: Parts) -> None:
        conds = conjuncts(where)
        project = scenario = None
        owner: Source | None = None
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
            self.note_temporal(
                c.left
                if isinstance(c, ast.BinaryOp)
                else (c.expr if isinstance(c, ast.Between) else c),
                scope,
                parts,
            )
            late = self.about_joined(c, scope)
            # a clause about a joined table is a sentence of its own after the joins
            parts.filters.append(
                "where " + self.cond(c, scope, plain=True) if late else self.cond(c, scope)
            )
            parts.spatial.append(self.is_spatial_pred(c))
            parts.late.append(late)
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
            parts.late.insert(0, False)

    def having(self, e: ast.Expr, scope: Scope, parts: Parts) -> str:
        conds = []
        for c in conjuncts(e):
            if isinstance(c, ast.BinaryOp) and c.op in FLIP:
                left, right, op = c.left, c.right, c.op
                if literal(left) is not None:
                    left, right, op = right, left, FLIP[op]
                if (
                    isinstance(left, ast.FuncCall)
                    and left.name.upper() == "COUNT"
                    and left.star
                    and literal(right) is not None
                ):
                    word = {
                        ">": "more than",
                        ">=": "at least",
                        "<": "fewer than",
                        "<=": "at most",
                        "=": "exactly",
                        "<>": "other than",
                    }[op]
                    conds.append(f"with {word} {literal(right)} {parts.subject or 'rows'}")
                    continue
            conds.append(self.cond(c, scope))
        return self.pick(("keeping only groups ", "only for groups ")) + filter_list(conds)
