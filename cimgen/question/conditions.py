"""Reader layer 4: conditions (WHERE, HAVING, ON, CASE, FILTER) as :class:`Clause` objects.

A clause has two forms so a voice can use either: after a noun (``buildings with height
over 25 m``) and after a plural subject (``which buildings have height over 25 m``). Every
literal that changes the result is said, with its unit when the schema or the SQL gives one;
a category value can stand before the noun (``residential buildings``). An identifier of
another thing reads as belonging to it (``project_id = 'p'``: ``in project 'p'``).
"""

from __future__ import annotations

import re

from cimgen import ast
from cimgen.question.base import (
    CMP,
    FLIP,
    NEGATE,
    BlockWords,
    Clause,
    Reading,
    Source,
    belonging,
    in_context,
    indefinite,
    join_words,
    literal,
    the,
    verb_s,
    with_unit,
)
from cimgen.question.geometry import GeometryReader
from cimgen.question.scope import qualify
from cimgen.question.vocabulary import one_of

_COUNT_WORDS = {
    ">": "more than",
    ">=": "at least",
    "<": "fewer than",
    "<=": "at most",
    "=": "exactly",
    "<>": "other than",
}
# a one-word size compared with a measured value: (more, less, the adjective); generic
# English for the column's noun, whatever the schema
_SIZES = {
    "length": ("longer", "shorter", "long"),
    "height": ("taller", "shorter", "tall"),
    "width": ("wider", "narrower", "wide"),
    "depth": ("deeper", "shallower", "deep"),
}
_COUNTED_WORDS = {  # a count compared with a number, before the counted things
    "=": ("",),
    ">": ("more than", "over"),
    ">=": ("at least",),
    "<": ("fewer than", "under"),
    "<=": ("at most", "up to"),
}
_CATEGORY = re.compile(r"(^|\s)(type|zone|class|category|kind|status)$")
_SOURCE = re.compile(r"(^|\s)source$")
_ADJECTIVE = re.compile(r"^[A-Za-z][A-Za-z-]{0,20}$")
_LEADS = ("with", "whose", "that", "where")


# the end of a condition no value can belong to: a point or a box, a number with its unit,
# a size or a state ("within 100 m of (9.1, 45.4)", "at most 15 m tall", "in service")
_ENDS_BARE = re.compile(r"(?:\)|\d|\d (?:m|km|m²|m³|kV)|%| tall| long| in service)$")


def _bare(text: str) -> bool:
    """Whether a condition ends where no value can belong: not inside another thing's
    clause ("that have another line within 150 m of them with maximum loading at least
    89%" ends on the other line's value)."""
    return not _nested(text) and not text.startswith("with ") and bool(_ENDS_BARE.search(text))


def _nested(text: str) -> bool:
    """Whether a condition says another thing's clause ("that have another line ...",
    "whose census zone has ...", "... containing them with ..."): a value said after it
    would read as that thing's."""
    return text.startswith(("that ", "whose ")) or " with " in text


# a thing that contains the rows: "census zone containing them with total population ..."
_CONTAINING = re.compile(r"([a-z][a-z -]*?) containing them((?: with [^,]*)?)")
_RELATIONS = ("within ", "intersecting ", "containing ", "inside ", "touching ", "not ", "whose ")


def _relation(text: str) -> bool:
    """Whether a clause relates the rows to something else (a spatial relation, a
    reference): said after the rows' own states inside another clause."""
    return text.startswith(_RELATIONS) and not text.startswith("not in service")


class ConditionReader(GeometryReader):
    def clause(self, e: ast.Expr, scope: BlockWords, negated: bool = False) -> Clause:
        """``e`` as a clause about the scope's focus (the subject unless a joined table's
        conditions are being read)."""
        if isinstance(e, ast.UnaryOp) and e.op == "NOT":
            return self.clause(e.operand, scope, not negated)
        if self.is_spatial_pred(e):
            return self.spatial_clause(e, scope, negated)
        if isinstance(e, ast.BinaryOp):
            if e.op in ("AND", "OR"):
                return self._junction(e, scope, negated)
            if e.op in FLIP:
                return self.compare(e.op, e.left, e.right, scope, negated)
            if e.op in ("LIKE", "ILIKE"):
                return self.like(e, scope, negated)
        if isinstance(e, ast.Between):
            return self.between(e, scope, negated != e.negated)
        if isinstance(e, ast.InList):
            return self.in_list(e, scope, negated != e.negated)
        if isinstance(e, ast.IsNull):
            noun, owner, _ = self._left(e.expr, scope)
            known = negated != e.negated
            if owner:
                text = f"{qualify(noun, owner)} is {'known' if known else 'missing'}"
                return self._sentence_clause(text)
            if known and noun == "cluster":  # DBSCAN's noise points left out
                return Clause("in a cluster", "are in a cluster")
            if known:
                return Clause(f"with a known {noun}", f"have a known {noun}")
            return Clause(f"with no {noun}", f"have no {noun}")
        if isinstance(e, ast.Exists):
            return self.exists(e.query, scope, negated)
        if isinstance(e, ast.InSubquery):
            return self.in_subquery(e, scope, negated != e.negated)
        if isinstance(e, ast.Column):
            return self.boolean(e, not negated, scope)
        if isinstance(e, ast.Boolean):
            word = "always" if e.value != negated else "never"
            return Clause(word, word)
        if isinstance(e, ast.BinaryOp) and e.op == "&&":
            # a bounding-box test a hand-written query may carry (generate's own `&&` is an
            # index prefilter, stripped before phrasing); phrased here, since the fallback
            # below reads an operator as a yes/no value, which reads it as a clause again
            other, _ = self.np(e.right, scope)
            verb = "does not overlap" if negated else "overlaps"
            return Clause(
                f"whose bounding box {verb} {other}",
                f"have a bounding box that {verb} {other}".replace(" does not ", " do not "),
                spatial=True,
            )
        text = self.expr(e, scope)
        return self._sentence_clause(("not " if negated else "") + text)

    def _junction(self, e: ast.BinaryOp, scope: BlockWords, negated: bool) -> Clause:
        parts = [self.clause(c, scope) for c in (e.left, e.right)]
        rel = [p.rel for p in parts]
        pred = [p.verb for p in parts]
        spatial = any(p.spatial for p in parts)
        if e.op == "AND":
            if negated:
                return Clause(f"not both {' and '.join(rel)}", f"do not both {' and '.join(pred)}")
            return Clause(join_words(rel), join_words(pred), spatial)
        if negated:
            return Clause(f"neither {' nor '.join(rel)}", f"neither {' nor '.join(pred)}")
        return Clause(f"either {' or '.join(rel)}", f"either {' or '.join(pred)}", spatial)

    def _sentence_clause(self, text: str) -> Clause:
        return Clause(f"where {text}", f"are such that {text}")

    def _left(self, e: ast.Expr, scope: BlockWords) -> tuple[str, str, str]:
        """(noun, owner label, unit) of the tested side."""
        if isinstance(e, ast.Column):
            t, _, _ = self.term(e, scope)
            noun, owner = self.np(e, scope)
            return noun, owner, t.unit
        noun, owner = self.np(e, scope)
        unit = ""
        if (
            isinstance(e, ast.FuncCall)
            and e.name in ("ST_Area", "ST_Length", "ST_Perimeter")
            and e.args
        ):
            base = self.units(e.args[0], scope)
            unit = {"m": "m", "degrees": "degrees"}.get(base, "")
            if e.name == "ST_Area" and unit:
                unit = "m²" if unit == "m" else "square degrees"  # "150 m²", as people write
        return noun, owner, unit

    # ------------------------------------------------------------------ comparisons

    def compare(
        self, op: str, left: ast.Expr, right: ast.Expr, scope: BlockWords, negated: bool
    ) -> Clause:
        if literal(left) is not None and literal(right) is None:
            left, right, op = right, left, FLIP[op]
        if negated:
            op = NEGATE[op]
        if isinstance(left, ast.Column) and isinstance(right, ast.Boolean) and op in ("=", "<>"):
            return self.boolean(left, right.value == (op == "="), scope)
        if (
            isinstance(left, ast.Column)
            and isinstance(right, ast.Column)
            and left.name == right.name
            and op in ("=", "<>")
        ):
            same = self.same_column(left, right, op == "=", scope)
            if same is not None:
                return same
        noun, owner, unit = self._left(left, scope)
        value = literal(right)
        if value is not None:
            value = with_unit(value, unit)
        elif self._overall_average(left, right, scope):
            value = "average"  # "with height above average": the mean over the whole table
        else:
            value = self._value(right, scope)
        if owner:
            word = {"=": "is", "<>": "is not"}.get(op) or f"is {CMP[op][0]}"
            return self._sentence_clause(f"{qualify(noun, owner)} {word} {value}")
        if op == "=" and isinstance(left, ast.Column):
            entity = self._entity(left, noun, scope)
            if entity:
                thing = f"{entity} {value}"
                return Clause(f"in {thing}", f"are in {thing}", within=thing, noun=noun)
            if isinstance(right, ast.String) and self._category(noun, right.value):
                return Clause(
                    f"with {noun} {value}", f"are {right.value}", adjective=right.value, noun=noun
                )
            if (
                isinstance(right, ast.String)
                and _SOURCE.search(noun)
                and _ADJECTIVE.match(right.value)
            ):
                # "osm buildings": where the rows come from, before the noun ("which
                # buildings are osm" would not read: the predicate keeps the noun)
                return Clause(
                    f"with {noun} {value}", f"have {noun} {value}", adjective=right.value, noun=noun
                )
            if unit and isinstance(right, ast.Number | ast.UnaryOp) and self._measured(noun):
                # a measure with its unit says what it is before the noun: "0.4 kV buses"
                return Clause(
                    f"with {noun} {value}", f"have {noun} {value}", adjective=value, noun=noun
                )
            if noun == "SRID" and isinstance(right, ast.Number):
                # a reference system is where the data is, not a kind of it: "the DSM raster
                # datasets in SRID 4326", not "the SRID 4326 DSM raster datasets" (lead's read)
                thing = f"{noun} {value}"
                return Clause(f"in {thing}", f"are in {thing}", noun=noun)
            if noun.isupper() and isinstance(right, ast.Number):  # "LOD 2 buildings"
                return Clause(
                    f"with {noun} {value}",
                    f"have {noun} {value}",
                    adjective=f"{noun} {value}",
                    noun=noun,
                )
        temporal = self._temporal(left, scope)
        counted = self._counted(noun, op, value, right) if op == "=" else ""
        if counted:  # "with 3 floors"
            return Clause(f"with {counted}", f"have {counted}", temporal=temporal, noun=noun)
        if op == "=" and noun == "name" and isinstance(right, ast.String):
            # "lines named 'Distribution Line 27'", not "with name '...'"
            return Clause(f"named {value}", f"are named {value}", temporal=temporal, noun=noun)
        if op in ("=", "<>"):
            word = "" if op == "=" else "other than "
            return Clause(
                f"with {noun} {word}{value}",
                f"have {noun} {word}{value}",
                temporal=temporal,
                noun=noun,
            )
        if self._built(noun):
            word = {">": "after", ">=": "in or after", "<": "before", "<=": "in or before"}[op]
            return Clause(
                f"built {word} {value}", f"were built {word} {value}", temporal=temporal, noun=noun
            )
        counted = self._counted(noun, op, value, right)
        if counted:  # "with at least 3 floors", not "with number of floors at least 3"
            return Clause(f"with {counted}", f"have {counted}", temporal=temporal, noun=noun)
        if value == "average" and noun.startswith("number of ") and op in ("<", ">"):
            # "with fewer buildings built before 1918 than average", not "with number of
            # buildings built before 1918 less than average"
            more = f"{'more' if op == '>' else 'fewer'} {noun.removeprefix('number of ')}"
            return Clause(
                f"with {more} than average",
                f"have {more} than average",
                temporal=temporal,
                noun=noun,
            )
        size = _SIZES.get(noun)
        if size and unit and literal(right) is not None and not self.fixed:
            # "longer than 0.04 km", "at most 20 m tall": a size the way people compare it
            said = {
                ">": f"{size[0]} than {value}",
                "<": f"{size[1]} than {value}",
                ">=": f"at least {value} {size[2]}",
                "<=": f"at most {value} {size[2]}",
            }[op]
            return Clause(said, f"are {said}", temporal=temporal, noun=noun)
        word = self.pick(CMP[op])
        return Clause(
            f"with {noun} {word} {value}",
            f"have {noun} {word} {value}",
            temporal=temporal,
            noun=noun,
        )

    def _overall_average(self, left: ast.Expr, right: ast.Expr, scope: BlockWords) -> bool:
        """Whether ``right`` is ``(SELECT AVG(c) FROM t)``: the same column ``left`` is, over
        all rows of its own table (no condition, no grouping)."""
        if not (isinstance(left, ast.Column) and isinstance(right, ast.Subquery)):
            return False
        q = right.query
        sel = q.body
        if q.ctes or q.limit is not None or not isinstance(sel, ast.Select):
            return False
        if sel.where is not None or sel.group_by or sel.having is not None:
            return False
        if len(sel.items) != 1 or len(sel.from_) != 1:
            return False
        agg, table = sel.items[0].expr, sel.from_[0]
        if not (
            isinstance(agg, ast.FuncCall)
            and agg.name.upper() == "AVG"
            and len(agg.args) == 1
            and isinstance(agg.args[0], ast.Column)
            and agg.args[0].name == left.name
            and isinstance(table, ast.TableRef)
        ):
            return False
        src = self.term(left, scope)[1]
        return src is not None and src.key == self.v.table_key(table.name, table.schema)

    def _value(self, e: ast.Expr, scope: BlockWords) -> str:
        text = self.expr(e, scope)
        return the(text) if isinstance(e, ast.Column | ast.Subquery | ast.FuncCall) else text

    def _entity(self, col: ast.Column, noun: str, scope: BlockWords) -> str:
        """``project`` for ``project_id = 'p'``: an identifier of a thing the rows belong to
        (``in project 'p'``), not of the rows themselves (``with ID 'x'``)."""
        t, src, _ = self.term(col, scope)
        if not (t.identifier and t.noun.endswith(" ID")) or src is None or col.name == "id":
            return ""
        entity = t.noun[: -len(" ID")]
        focus = scope.focus or scope.subject
        if focus is not None and entity in (focus.words.singular, focus.words.plural):
            return ""
        return entity if entity.count(" ") < 2 and not entity.startswith("internal") else ""

    def _counted(self, noun: str, op: str, value: str, right: ast.Expr) -> str:
        """A count compared with a number, the way people say it: ``at least 3 floors``,
        ``fewer than 2 buildings built before 1918``, ``1 family``; "" for anything else."""
        things = noun.removeprefix("number of ")
        if things == noun or not isinstance(right, ast.Number) or op not in _COUNTED_WORDS:
            return ""
        if value == "1":
            things = one_of(things)
        word = self.pick(_COUNTED_WORDS[op])
        return f"{word} {value} {things}".strip()

    def _measured(self, noun: str) -> bool:
        """Whether the unit alone says which value of the row is meant (``0.4 kV`` is a
        bus's voltage; ``3 m`` could be a height, a width or a length)."""
        return len(noun.split()) == 1 and not self._built(noun)

    def _category(self, noun: str, value: str) -> bool:
        return bool(_CATEGORY.search(noun)) and bool(_ADJECTIVE.match(value))

    def _built(self, noun: str) -> bool:
        return "construction year" in noun

    def _temporal(self, e: ast.Expr, scope: BlockWords) -> str:
        if isinstance(e, ast.Column):
            t, _, _ = self.term(e, scope)
            if t.temporal:
                return t.brief
        return ""

    def same_column(
        self, left: ast.Column, right: ast.Column, equal: bool, scope: BlockWords
    ) -> Clause | None:
        """``x.type = outer.type``: ``with the same use type`` (as the outer row)."""
        t, lsrc, ldepth = self.term(left, scope)
        _, rsrc, rdepth = self.term(right, scope)
        if lsrc is None or rsrc is None or lsrc is rsrc:
            return None
        if scope.own(rsrc, rdepth) and not scope.own(lsrc, ldepth):
            left, right, lsrc, rsrc, ldepth, rdepth = right, left, rsrc, lsrc, rdepth, ldepth
        if not scope.own(lsrc, ldepth):
            return None
        other = self.owner_of(rsrc, rdepth, scope)
        as_ = "" if other == "their" else f" as {other}"
        if equal:
            return Clause(f"with the same {t.brief}{as_}", f"have the same {t.brief}{as_}")
        frm = "" if other == "their" else f" from {other}"
        return Clause(f"with a different {t.brief}{frm}", f"have a different {t.brief}{frm}")

    def boolean(self, col: ast.Column, truth: bool, scope: BlockWords) -> Clause:
        t, src, depth = self.term(col, scope)
        if src is not None:
            src.mentioned = True
        owner = self.owner_of(src, depth, scope)
        if owner:
            state = t.noun.removeprefix("is ")
            many = owner == "their"
            who = "they" if many else owner
            if state.startswith("has "):
                have = (
                    ("have" if many else "has")
                    if truth
                    else ("do not have" if many else "does not have")
                )
                text = f"{who} {have} {state[4:]}"
            else:
                text = f"{who} {'are' if many else 'is'} {'' if truth else 'not '}{state}"
            return self._sentence_clause(text)
        state = t.noun.removeprefix("is ")
        # the value it tests is said: returning it too ("in service, showing whether in
        # service") would only repeat the condition
        said = self.brief(t, src, "", scope)
        if state.startswith("has "):
            thing = state[4:]
            if truth:
                return Clause(f"with {thing}", f"have {thing}", noun=said)
            thing = thing.removeprefix("a ").removeprefix("an ")
            return Clause(f"without a {thing}", f"have no {thing}", noun=said)
        if state.startswith("in "):
            return Clause(
                state if truth else f"not {state}",
                f"are {'' if truth else 'not '}{state}",
                noun=said,
            )
        if not t.noun.startswith(("is ", "in ", "has ")) and t.kind != "boolean":
            noun = t.brief  # a non-boolean column tested for truth
            word = "set" if truth else "not set"
            return Clause(f"with {noun} {word}", f"have {noun} {word}")
        return Clause(
            f"that are {'' if truth else 'not '}{state}",
            f"are {'' if truth else 'not '}{state}",
            noun=said,
        )

    def between(self, e: ast.Between, scope: BlockWords, negated: bool) -> Clause:
        noun, owner, unit = self._left(e.expr, scope)
        lo, hi = self.expr(e.low, scope), with_unit(self.expr(e.high, scope), unit)
        span = f"{'not ' if negated else ''}between {lo} and {hi}"
        if owner:
            return self._sentence_clause(f"{qualify(noun, owner)} is {span}")
        temporal = self._temporal(e.expr, scope)
        if self._built(noun) and not negated:
            return Clause(f"built {span}", f"were built {span}", temporal=temporal, noun=noun)
        if not negated and not self.fixed:
            span = f"{lo} to {hi}"  # "with gross floor area 1500 to 4000 m²", as people write
            size = _SIZES.get(noun)
            if size and unit:  # "0.04 to 0.055 km long"
                said = f"{span} {size[2]}"
                return Clause(said, f"are {said}", temporal=temporal, noun=noun)
        return Clause(f"with {noun} {span}", f"have {noun} {span}", temporal=temporal, noun=noun)

    def in_list(self, e: ast.InList, scope: BlockWords, negated: bool) -> Clause:
        noun, owner, _ = self._left(e.expr, scope)
        items = [self.expr(i, scope) for i in e.items]
        if negated:
            if len(items) == 2:
                values = f"neither {items[0]} nor {items[1]}"
            else:
                values = ("other than " if len(items) == 1 else "not ") + join_words(items, "or")
        else:
            values = join_words(items, "or")
        if owner:
            return self._sentence_clause(f"{qualify(noun, owner)} is {values}")
        strings = [i.value for i in e.items if isinstance(i, ast.String)]
        if (
            not negated
            and len(strings) == len(items) <= 3
            and all(self._category(noun, s) for s in strings)
        ):
            adjective = join_words(strings, "or")
            return Clause(
                f"with {noun} {values}", f"are {adjective}", adjective=adjective, noun=noun
            )
        if (
            not negated
            and len(strings) == len(items) <= 2
            and _SOURCE.search(noun)
            and all(_ADJECTIVE.match(s) for s in strings)
        ):
            # where the rows come from, before the noun, as for one source: "catasto or
            # lidar buildings" (was "buildings with geometry source 'catasto' or 'lidar'")
            adjective = join_words(strings, "or")
            return Clause(
                f"with {noun} {values}", f"have {noun} {values}", adjective=adjective, noun=noun
            )
        temporal = self._temporal(e.expr, scope)
        return Clause(
            f"with {noun} {values}", f"have {noun} {values}", temporal=temporal, noun=noun
        )

    def like(self, e: ast.BinaryOp, scope: BlockWords, negated: bool) -> Clause:
        noun, owner, _ = self._left(e.left, scope)
        pat = e.right.value if isinstance(e.right, ast.String) else self.expr(e.right, scope)
        core = pat.strip("%")
        if "%" not in core and "_" not in core and pat != core:
            if pat.startswith("%") and pat.endswith("%"):
                how = "containing"
            else:
                how = "ending with" if pat.startswith("%") else "starting with"
            test = f"{how} '{core}'"
        else:
            test = f"matching '{pat}'"
        test = ("not " if negated else "") + test + (" (any case)" if e.op == "ILIKE" else "")
        if owner:
            return self._sentence_clause(f"{qualify(noun, owner)} is {test}")
        return Clause(f"with {noun} {test}", f"have {noun} {test}", noun=noun)

    # ------------------------------------------------------------------ subqueries

    def exists(self, query: ast.Query, scope: BlockWords, negated: bool) -> Clause:
        sub, sub_scope = self.read_query(query, scope)
        about = scope.focus or scope.subject
        own = about is not None and sub.singular == about.words.singular
        if (
            own
            and not negated
            and (sub.filters or sub.adjectives)
            and not sub.links
            and self._own_rows(query, sub_scope)
        ):
            # the rows' own records seen from another table (a building's properties, its
            # building_id and lod equated): what they hold is the rows' own, "buildings
            # with at most 80 residents", never "that have another building with ..."
            # (lead's read, twelfth pass); a value said as an adjective is the rows' own
            # too: "catasto buildings", not "buildings that have another catasto building"
            if not sub.adjectives:
                said = self.rel_list(sub.filters, nested=True)
                return Clause(said, join_words([c.verb for c in sub.filters]))
            adjective = " ".join(sub.adjectives)
            rest = f" {self.rel_list(sub.filters, nested=True)}" if sub.filters else ""
            what = f"{adjective} {sub.subject}{rest}"
            return Clause(f"that are {what}", f"are {what}", adjective="" if rest else adjective)
        if negated:
            what = f"no {self.noun_phrase(sub, nested=True)}"
            return Clause(f"with {what}", f"have {what}")
        what = self.noun_phrase(sub, singular=True, nested=True)
        an = "another" if own else indefinite(what)  # a bus near a bus: "another bus ..."
        inside = _CONTAINING.fullmatch(what)
        if inside and not own:
            # "buses inside a census zone with total housing units below 550", not "buses
            # that have a census zone containing them with ...": where they are, said as a
            # place (a clause fewer in a chain; the thirteenth pass's blind review)
            where = f"inside {an} {inside[1]}{inside[2]}"
            return Clause(where, f"lie {where}", spatial=True)
        return Clause(f"that have {an} {what}", f"have {an} {what}")

    def _own_rows(self, query: ast.Query, scope: BlockWords) -> bool:
        """Whether a subquery's rows are the outer row's own: a correlation equates a
        column of one inner table with the same column of an outer one of the same things
        (``bp.building_id = b.building_id``) or with the column a declared relation
        references (``bp.building_fk = b.id``: a building's properties and its footprint,
        not "another building"), and no ``<>`` sets the two apart."""
        body = query.body
        if not isinstance(body, ast.Select):
            return False
        same = False
        for c in ast.conjuncts(body.where):
            if not (
                isinstance(c, ast.BinaryOp)
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.Column)
            ):
                continue
            (a, da), (b, db) = self.resolve(c.left, scope), self.resolve(c.right, scope)
            if a is None or b is None or (da == 0) == (db == 0):
                continue
            if c.left.name != c.right.name and not self._related(
                (a.key, c.left.name), (b.key, c.right.name)
            ):
                continue
            if c.op == "<>":
                return False
            inner, outer = (a, b) if da == 0 else (b, a)
            same |= c.op == "=" and inner.words.singular == outer.words.singular
        return same

    def _related(self, one: tuple[str | None, str], other: tuple[str | None, str]) -> bool:
        """Whether a declared relation joins ``(table, column)`` to the other, one column
        each way (``building_properties.building_fk`` -> ``building.id``)."""
        for r in self.v.schema.relations:
            ends = {(r.left, r.left_columns), (r.right, r.right_columns)}
            if ends == {(one[0], (one[1],)), (other[0], (other[1],))}:
                return True
        return False

    def in_subquery(self, e: ast.InSubquery, scope: BlockWords, negated: bool) -> Clause:
        noun, owner, _ = self._left(e.expr, scope)
        sub, _ = self.read_query(e.query, scope)
        what = self.noun_phrase(sub, nested=True)
        among = f"{'not ' if negated else ''}among the {what}"
        picked = [i.text for i in sub.returns]
        if sub.returns and not (len(picked) == 1 and picked[0] in ("ID", noun)):
            among = f"{'not ' if negated else ''}among the {join_words(picked)} of {what}"
        if owner:
            return self._sentence_clause(f"{qualify(noun, owner)} is {among}")
        if self._names_them(e, sub, noun):
            # the rows' own business key among another table's: "buildings that appear
            # among cached heights with calculated height above 19 m", not "buildings among
            # the building ID of cached heights with ..." (the thirteenth pass's read)
            rows = f"{'do not ' if negated else ''}appear among {what}"
            return Clause(f"that {rows}", rows)
        if isinstance(e.expr, ast.Column) and (e.expr.name.lower() == "id" or noun == "ID"):
            return Clause(among, f"are {among}")  # the rows themselves are among them
        role = noun
        for tail in (" number", " ID", " reference"):
            role = role.removesuffix(tail)
        return Clause(f"whose {role} is {among}", f"have a {role} {among}")

    def _names_them(self, e: ast.InSubquery, sub: Reading, noun: str) -> bool:
        """Whether ``x IN (SELECT y ...)`` tests the rows by their own key: the subquery
        returns one column of the same name (``building_id IN (SELECT building_id ...)``)
        that reads as this table's identifier (``building ID`` of buildings)."""
        body = e.query.body
        if not isinstance(body, ast.Select) or len(body.items) != 1 or len(sub.returns) > 1:
            return False
        inner = body.items[0].expr
        if not (isinstance(inner, ast.Column) and isinstance(e.expr, ast.Column)):
            return False
        if inner.name != e.expr.name or inner.name.lower() == "id":  # a surrogate key: the
            return False  # same table's rows ("among the buildings with ...")
        # said "among the <rows>" already when the value is their ID or the same noun
        picked = sub.returns[0].text if sub.returns else noun
        return picked not in ("ID", noun) and picked.endswith(("ID", "id", noun))

    # ------------------------------------------------------------------ forms

    def whether(self, e: ast.Expr, scope: BlockWords) -> str:
        """A condition as a returned yes/no value: ``whether they lie within 100 m of
        (9.18, 45.48) in SRID 4326``, ``whether the project has a valid geometry``."""
        c = self.clause(e, scope)
        if c.rel.startswith("where "):
            return "whether " + c.rel[len("where ") :]
        return "whether they " + c.verb

    def brief_cond(self, e: ast.Expr, scope: BlockWords, rel: bool = False) -> str:
        """A condition in few words: ``height over 25 m`` (``rel``: ``with height ...``)."""
        text = self.clause(e, scope).rel
        if rel:
            return text
        for lead in ("with ", "where ", "that are ", "that "):
            if text.startswith(lead):
                return text[len(lead) :]
        return text

    def sentence(self, e: ast.Expr, scope: BlockWords) -> str:
        """A condition across tables as a sentence: ``the census zone has total population
        over 500``."""
        refs = [s for s in scope.sources.values() if s in self.refs(e, scope)]
        about: Source | None = next((s for s in refs if not s.attached), refs[0] if refs else None)
        saved = scope.focus
        scope.focus = about
        try:
            c = self.clause(e, scope)
        finally:
            scope.focus = saved
        if c.rel.startswith("where "):
            return c.rel[len("where ") :]
        who = about.label if about is not None else "they"
        return f"{who} {verb_s(c.verb)}" if about is not None else f"{who} {c.verb}"

    def rel_list(self, clauses: list[Clause], nested: bool = False) -> str:
        """Relative clauses joined so they read as one phrase: clauses with the same lead
        word share it (``with A``, ``with B`` -> ``with A and B``).

        >>> r = ConditionReader.__new__(ConditionReader)
        >>> r.rel_list([Clause("in project 'p'"), Clause("with height over 25 m"),
        ...             Clause("with type 'x'"), Clause("within 5 m of them")])
        "in project 'p' with height over 25 m and type 'x', within 5 m of them"
        """
        groups: dict[str, list[str]] = {}
        within = list(dict.fromkeys(c.within for c in clauses if c.within))
        if within:
            # a joined table's project and one-word scenario, short: "in 'p' (baseline)"
            groups["in"] = [in_context("", "in " + belonging(within), "after").strip()]
        for c in dict.fromkeys(c.rel for c in clauses if not c.within):
            lead, _, rest = c.partition(" ")
            key = lead if lead in _LEADS and rest else f"{c}\0{len(groups)}"
            if lead == "within" and rest.startswith("the "):  # "within the project
                key = lead  # boundary and the box (...)": places, not distances
            if key in groups:
                groups[key].append(rest)
            else:
                groups[key] = [c]
        texts = [join_words(g) for g in groups.values()]
        if nested:  # "a bus within 100 m of them with grid zone other than 'MV'"
            # the relation to the outer rows first, its values after: "a bus with grid
            # zone other than 'MV' and within 100 m of them" read as two things (review)
            # a state before it: "another bus in service within 200 m of them" (was "...
            # within 200 m of them and in service": whose service?)
            ranks = [2 if t.startswith("with ") else 1 if _relation(t) else 0 for t in texts]
            ranked = list(zip(texts, ranks, strict=True))
            parts = [" and ".join(t for t, r in ranked if r == k) for k in range(3)]
            return " ".join(p for p in parts if p)
        keys = list(groups)
        plain = not any(" and " in t for t in texts)
        owned = [i for i, t in enumerate(texts) if t.startswith("with ")]
        if plain and len(owned) == 1 and owned[0] < len(texts) - 1:
            # a value after the place or state that follows it: "lines within 750 m of
            # (9.18, 45.48) with maximum loading below 32%", not "lines with maximum
            # loading below 32%, within 750 m of (...)" (a clause fewer in the chain)
            i = owned[0]
            if _bare(texts[-1]):
                texts.append(texts.pop(i))
                keys.append(keys.pop(i))
        if plain and len(owned) == 1 and any(_nested(t) for t in texts[: owned[0]]):
            # the rows' own value before another thing's clause: "lines with maximum
            # loading at least 60% that have another line within 150 m of them with ...",
            # not "lines that have another line ... at least 89%, with maximum loading at
            # least 60%" (whose loading?)
            i, at = owned[0], int(keys[0] == "in" or keys[0].startswith("in "))
            texts.insert(at, texts.pop(i))
            keys.insert(at, keys.pop(i))
        out = texts[0] if texts else ""
        last = len(texts) - 1
        for i, (prev, text) in enumerate(zip(keys, texts[1:], strict=False), 1):
            # "in project 'p' with height ..." reads on without a comma
            if (prev == "in" or prev.startswith("in ")) and not text.startswith("in "):
                out += " "
            elif (
                i == last and plain and text.startswith(("with ", "whose ")) and _bare(texts[i - 1])
            ):
                # a value after a place, a size or a state: "within 1000 m of (9.18,
                # 45.48) with volume at most 3600 m³", "in service with voltage 0.4 kV"
                # (never after a noun: "inside a census zone, with a heating system")
                out += " "
            elif text.startswith(("that ", "whose ")) and texts[i - 1].startswith("with "):
                out += " "  # "with maximum loading at least 60% that have another line ..."
            elif (
                i == last and plain and not text.startswith("where ") and not _nested(texts[i - 1])
            ):
                # a list's last piece with "and": "with a heating system and built after
                # 1900", not "..., built after 1900, showing ...": a chain of clauses
                out += " and "
            else:
                out += ", "
            out += text
        return out

    def having_clause(self, c: ast.Expr, scope: BlockWords, rows: str) -> Clause:
        if isinstance(c, ast.BinaryOp) and c.op in FLIP:
            left, right, op = c.left, c.right, c.op
            if literal(left) is not None:
                left, right, op = right, left, FLIP[op]
            if (
                isinstance(left, ast.FuncCall)
                and left.name.upper() == "COUNT"
                and (left.star or not left.args)
                and literal(right) is not None
            ):
                value = literal(right)
                if value == "1":  # "more than 1 building", not "more than 1 buildings"
                    rows = one_of(rows)
                what = f"{_COUNT_WORDS[op]} {value} {rows}"
                return Clause(f"with {what}", f"have {what}")
        return self.clause(c, scope)

    # ------------------------------------------------------------------ provided by reading

    def noun_phrase(
        self, r: Reading, singular: bool = False, context: bool = True, nested: bool = False
    ) -> str:
        raise NotImplementedError
