"""Reader layer 1: the tables of a SELECT, the links between them, and column names.

A join is read the way a person would say it, whether it is written as ``JOIN ... ON`` or as
a comma and WHERE equalities:

* keys the schema declares (or same-named keys) are never spelled out: a table whose rows
  belong to the subject (many-to-one, or the same entity seen from another table) reads as
  the subject's own (``buildings with height over 25 m``), and is only named (``with their
  project scenarios``) when nothing of it is otherwise said;
* equalities that only tie two tables to the same project / scenario are implied
  (``grid buses and the grid lines``);
* where two declared relations join the same tables, the key names the role (``grid lines
  with their source buses``);
* a spatial join is a relative clause about the joined table (``and the census zones that
  contain their centroid``); conditions on a joined table follow its name.

Later layers (expressions, geometry, conditions, query) subclass :class:`ScopeReader`; the
few methods this layer needs from them are declared at the end and raise until overridden.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.question.base import (
    METRIC_SRIDS,
    BlockWords,
    Clause,
    Reading,
    Source,
    columns_in,
    join_words,
    possessive,
    verb_s,
)
from cimgen.question.vocabulary import TableWords, Term, Vocabulary, humanise, plural, split_unit
from cimgen.scope import Scope as NameScope
from cimgen.scope import named_outputs

# the roles of a link's two ends when the keys say them with a preposition
_END_ROLES = {"from": "source", "to": "destination"}


@dataclass(eq=False)
class Link:
    """How a joined source hangs on the one before it (rendered once the whole query is read,
    when it is known whether anything of the joined table was named)."""

    source: Source
    to: Source | None  # the source it is linked to (None: a cross join)
    kind: str  # "same", "up", "down", "sibling", "keyed", "spatial", "cross", "other"
    role: str = ""  # "source" (grid lines with their *source* buses)
    conds: list[ast.Expr] = field(default_factory=list)
    outer: bool = False  # LEFT / FULL join: "if any"


class ScopeReader:
    def __init__(self, vocab: Vocabulary, rng: random.Random, metric_srid: int | None) -> None:
        self.v = vocab
        self.rng = rng
        self.cat = load_catalogue()
        self.metric = METRIC_SRIDS | ({metric_srid} if metric_srid else set())
        self.ctes: dict[str, ast.CTE] = {}
        self._sub: dict[int, tuple[Reading, BlockWords]] = {}  # CTE / derived table readings
        self.links: dict[int, list[Link]] = {}  # per scope
        self._pending: dict[int, list[ast.Expr]] = {}  # per scope: conditions that filter

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        if self.fixed:  # a phrase that must read the same wherever it is said
            return options[0]
        return options[int(self.rng.random() * len(options))]

    fixed = False

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # ------------------------------------------------------------------ sources

    def scope_for(self, sel: ast.Select, parent: BlockWords | None, reading: Reading) -> BlockWords:
        """The sources of ``sel`` and their links; returns the scope (links kept aside)."""
        scope = self.new_scope(parent, sel)
        seen: dict[str, int] = {}
        outer: set[str] = set()
        on: list[ast.Expr] = []
        stack: list[ast.FromItem] = list(reversed(sel.from_))
        while stack:
            item = stack.pop()
            if isinstance(item, ast.Join):
                if item.kind in ("LEFT", "FULL") and not isinstance(item.right, ast.Join):
                    outer.add(_ref(item.right))
                on += ast.conjuncts(item.on)
                stack += [item.right, item.left]
                continue
            src = self._source(item, seen, reading, first=scope.subject is None)
            scope.sources[src.ref] = src
            if scope.subject is None:
                scope.subject = src
                src.attached = True
        self.links[id(scope)] = []
        # conditions still unread are filters, told by the WHERE reader
        self._pending[id(scope)] = self._link(scope, on + ast.conjuncts(sel.where), outer)
        return scope

    def pending(self, scope: BlockWords) -> list[ast.Expr]:
        """The conditions of a SELECT (ON and WHERE) that are not join links."""
        return self._pending.pop(id(scope), [])

    def _source(
        self,
        item: ast.TableRef | ast.DerivedTable,
        seen: dict[str, int],
        reading: Reading,
        first: bool,
    ) -> Source:
        derived: Reading | None = None
        query: ast.Query | None = None
        key: str | None = None
        if isinstance(item, ast.DerivedTable):
            query, ref = item.query, item.alias
        elif item.schema is None and item.name in self.ctes:
            query, ref = self.ctes[item.name].query, item.ref_name
        if query is not None:
            derived, _ = self.sub_reading(query)
            if first:  # the rows are the CTE's: its clauses are the question's
                self.fold(reading, derived)
            words = TableWords(derived.subject or "rows", derived.singular or "row")
        else:
            assert isinstance(item, ast.TableRef)
            words, ref = self.v.table(item.name, item.schema), item.ref_name
            key = self.v.table_key(item.name, item.schema)
        same = key or (query and str(id(query))) or ref
        n = seen.get(same, 0)
        seen[same] = n + 1
        if n:  # a second copy of one table: "the other building"
            other = "other " if n == 1 else f"{('third', 'fourth')[min(n, 3) - 2]} "
            words = TableWords(other + words.plural, other + words.singular, other + words.owner)
        src = Source(ref, words, key, query, f"the {words.owner}")
        if derived is not None and not first:  # a joined CTE: its clauses describe it
            src.filters += (
                [Clause(f"in {derived.context[3:]}", within=derived.context[3:])]
                if (derived.context.startswith("in "))
                else []
            )
            src.filters += derived.filters + derived.having
            reading.links += derived.links
        return src

    def sub_reading(self, query: ast.Query) -> tuple[Reading, BlockWords]:
        hit = self._sub.get(id(query))
        if hit is None:
            hit = self.read_query(query, None)
            self._sub[id(query)] = hit
        return hit

    def fold(self, reading: Reading, sub: Reading) -> None:
        """The clauses of a CTE or derived table say something about the outer rows too."""
        reading.adjectives += sub.adjectives
        if sub.context and not reading.context:
            reading.context, reading.context_form = sub.context, sub.context_form
            reading.within += sub.within  # what it names: not said again (blind review)
        reading.filters += sub.filters
        reading.links += sub.links
        reading.where += sub.where
        reading.temporal += sub.temporal
        reading.shaping += sub.shaping
        reading.spatial_link |= sub.spatial_link
        reading.aggregate |= sub.aggregate  # the rows are groups
        reading.said |= sub.said
        inner = [*sub.extra]
        if sub.group and not reading.group:
            reading.group = list(sub.group)  # the rows are the CTE's groups
            reading.group_plural = sub.group_plural
        elif sub.group:
            inner.append("per " + join_words(sub.group))
        inner += [h.rel for h in sub.having]
        if sub.limit:
            inner.append(self.limit_phrase(sub, inner=True))
        reading.extra += inner

    # ------------------------------------------------------------------ resolution

    def new_scope(self, parent: BlockWords | None, sel: ast.Select | None = None) -> BlockWords:
        """A reading scope for ``sel`` (None: a set operation, which has no FROM of its
        own), its names resolved by :mod:`cimgen.scope` in the enclosing blocks' chain."""
        outer = parent.names if parent is not None else None
        if sel is None:
            names = NameScope(self.v.schema, {}, outer, self.ctes)
        else:
            names = NameScope.of_select(sel, self.v.schema, outer, self.ctes)
        return BlockWords(parent, names)

    def resolve(self, col: ast.Column, scope: BlockWords) -> tuple[Source | None, int]:
        """The FROM item ``col`` belongs to and how many blocks out it is; an unqualified
        name nothing has reads as the subject's own."""
        found = scope.names.locate(col) if scope.names is not None else None
        if found is not None:
            ref, _, depth = found
            s: BlockWords | None = scope
            for _ in range(depth):
                s = s.parent if s is not None else None
            src = s.sources.get(ref) if s is not None else None
            if src is not None:
                return src, depth
        if col.table is None and scope.subject is not None:
            return scope.subject, 0
        return None, 0

    outputs = staticmethod(named_outputs)

    def term(self, col: ast.Column, scope: BlockWords) -> tuple[Term, Source | None, int]:
        src, depth = self.resolve(col, scope)
        if src is None:
            return self.v.column(None, col.name), None, depth
        if src.query is None:
            return self.v.column(src.key, col.name), src, depth
        inner = self.outputs(src.query).get(col.name)
        _, sub_scope = self.sub_reading(src.query)
        if isinstance(inner, ast.Column):
            t, _, _ = self.term(inner, sub_scope)
            return t, src, depth
        if isinstance(inner, ast.Case):
            text = self.case(inner, sub_scope, self.alias_name(col.name))
            if len(text.split()) <= 20:
                return Term(text, kind="derived", short=text), src, depth
        elif inner is not None:
            text = self.expr(inner, sub_scope)
            if len(text.split()) <= 6:
                return Term(text, kind="derived", short=text), src, depth
        base, unit = split_unit(col.name)
        return Term(humanise(base), unit), src, depth

    def brief(self, t: Term, src: Source | None, owner: str, scope: BlockWords) -> str:
        """A column's short noun where its table is said (``height`` of buildings, ``the
        bus's name``), its full noun where it reads as another table's own (``project
        CRS`` of a building's project)."""
        focus = scope.focus or scope.subject
        if owner or src is None or focus is None or src.words.plural == focus.words.plural:
            return t.brief
        return t.noun

    def owner_of(self, src: Source | None, depth: int, scope: BlockWords) -> str:
        """How a column of ``src`` is owned where ``scope`` is read: ``""`` for the focus's
        own, ``"their"`` for the subject seen from a joined table or from a subquery, else
        the source's label (``the census zone``)."""
        if src is None or scope.own(src, depth):
            return ""
        if depth == 0 and (src is scope.subject or src.attached):
            return "their"
        if depth > 0:
            parent = scope.parent
            while parent is not None and depth > 1:
                parent, depth = parent.parent, depth - 1
            if parent is not None and (src is parent.subject or src.attached):
                return "their"
        return src.label

    # ------------------------------------------------------------------ links

    def refs(self, e: ast.Expr, scope: BlockWords) -> set[Source]:
        """The sources of this scope that condition ``e`` reads."""
        out: set[Source] = set()
        for col in columns_in(e):
            if col.table is not None and col.table not in scope.sources:
                continue
            src, depth = self.resolve(col, scope)
            if src is not None and depth == 0:
                out.add(src)
        return out

    def _link(self, scope: BlockWords, conds: list[ast.Expr], outer: set[str]) -> list[ast.Expr]:
        """Read the joins out of ``conds``; return the conditions that are filters."""
        subject = scope.subject
        sources = list(scope.sources.values())
        placed = [subject] if subject is not None else []
        used: set[int] = set()
        refs = [self.refs(c, scope) for c in conds] if len(sources) > 1 else []
        for src in sources[1:]:
            link = self._find_link(src, placed, conds, refs, used, scope)
            link.outer = src.ref in outer
            if link.role:
                # the role tells the copies apart: "their destination buses", not
                # "their destination other buses" (lead's read, twelfth pass)
                src.words = _first_copy(src.words)
            if link.role and link.kind == "up":
                # a role's table is not the subject's own: a line's destination bus has the
                # zone the condition tests, not the line ("lines to HV buses", blind review)
                src.label = f"the {link.role} {src.words.singular}"
            elif (
                link.kind in ("same", "up")
                and link.to is not None
                and link.to.attached
                and (link.kind == "same" or self._belongs_to(src))
            ):
                src.attached = True
            self.links[id(scope)].append(link)
            placed.append(src)
        rest = [c for i, c in enumerate(conds) if i not in used]
        # a self-join's "a.id <> b.id" is what "the other building" says; a subquery's key
        # equality with the outer row is what "their" says
        return [
            c for c in rest if not self._other_copy(c, scope) and not self._correlation(c, scope)
        ]

    def _belongs_to(self, src: Source) -> bool:
        """Whether the rows' parent ``src`` is what they belong to (a project scenario),
        so that its values read as theirs ("buildings with project name ..."); another
        parent is a thing of its own: a building's census zone has the population, not the
        building ("buildings whose census zone has total population over 1200", sixth
        pass's review)."""
        return src.query is not None or bool(set(src.words.singular.split()) & self.v.scope_words)

    def _correlation(self, c: ast.Expr, scope: BlockWords) -> bool:
        """``x.project_id = outer.project_id`` in a subquery: the rows of the outer one."""
        if not (
            isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
        ):
            return False
        (a, da), (b, db) = self.resolve(c.left, scope), self.resolve(c.right, scope)
        if a is None or b is None or (da == 0) == (db == 0):
            return False
        inner, outer = (a, b) if da == 0 else (b, a)
        cols = (c.left, c.right) if da == 0 else (c.right, c.left)
        link = self._key_link(inner, outer, [(cols[1], cols[0])])
        return link.kind in ("same", "up", "down", "sibling")

    def _find_link(
        self,
        src: Source,
        placed: list[Source],
        conds: list[ast.Expr],
        refs: list[set[Source]],
        used: set[int],
        scope: BlockWords,
    ) -> Link:
        keyed: list[tuple[Link, list[tuple[int, ast.Column, ast.Column]]]] = []
        for to in reversed(placed):
            pairs = []
            for i, c in enumerate(conds):
                if i in used or refs[i] != {src, to}:
                    continue
                if (
                    isinstance(c, ast.BinaryOp)
                    and c.op == "="
                    and isinstance(c.left, ast.Column)
                    and isinstance(c.right, ast.Column)
                ):
                    a, b = c.left, c.right
                    if self.resolve(a, scope)[0] is src:
                        a, b = b, a
                    pairs.append((i, a, b))
            if pairs:
                keyed.append((self._key_link(src, to, [(a, b) for _, a, b in pairs]), pairs))
        if keyed:
            # keys to two tables (a building's properties: its building by building_fk, and
            # the project scenario its scope is tied to): the rows' own thing is the link,
            # and a tie of same-named columns to the other says "in that project scenario",
            # not "where their internal ID is the reference" (lead's read, twelfth pass)

            def tie(pairs: list[tuple[int, ast.Column, ast.Column]]) -> bool:
                return all(a.name == b.name for _, a, b in pairs)

            link, pairs = next(
                ((k, p) for k, p in keyed if k.kind in ("same", "up") and not tie(p)),
                next(((k, p) for k, p in keyed if not tie(p)), keyed[0]),
            )
            used.update(i for i, _, _ in pairs)
            for other, tied in keyed:
                if other is not link and tie(tied):
                    used.update(i for i, _, _ in tied)
            return link
        for to in reversed(placed):
            for i, c in enumerate(conds):
                if i not in used and refs[i] == {src, to}:
                    used.add(i)
                    kind = "spatial" if self.is_spatial_pred(c) else "other"
                    return Link(src, to, kind, conds=[c])
        return Link(src, None, "cross")

    def _base(self, col: ast.Column, src: Source) -> tuple[ast.Column, Source]:
        """A column of a CTE / derived table as the base-table column it passes through
        (so that its keys are the schema's relations)."""
        if src.query is None:
            return col, src
        inner = self.outputs(src.query).get(col.name)
        if not isinstance(inner, ast.Column):
            return col, src
        _, sub_scope = self.sub_reading(src.query)
        inner_src, _ = self.resolve(inner, sub_scope)
        if inner_src is not None and inner_src.query is not None:  # a CTE over a CTE
            inner, inner_src = self._base(inner, inner_src)
        if inner_src is None or inner_src.key is None:
            return col, src
        return inner, Source(src.ref, src.words, inner_src.key, None, src.label)

    def _key_link(
        self, src: Source, to: Source, pairs: list[tuple[ast.Column, ast.Column]]
    ) -> Link:
        """Classify equalities ``to.a = src.b`` (see the module docstring)."""
        if src.query is not None or to.query is not None:
            based = [(self._base(a, to), self._base(b, src)) for a, b in pairs]
            tos = {x[1].key for x, _ in based}
            srcs = {y[1].key for _, y in based}
            if len(tos) == len(srcs) == 1 and None not in tos | srcs:
                link = self._key_link(
                    based[0][1][1], based[0][0][1], [(x[0], y[0]) for x, y in based]
                )
                link.source, link.to = src, to
                return link
        core = [
            (a, b) for a, b in pairs if not (a.name == b.name and self._scope_key(a.name, to, src))
        ]
        if not core:
            return Link(src, to, "sibling")
        if to.words.plural == src.words.plural:
            return Link(src, to, "same")
        got = {(a.name, b.name) for a, b in core}
        # a relation that names the project and scenario too (a DDL's "FOREIGN KEY
        # (project_id, scenario_id, from_bus_id) REFERENCES buses (project_id, scenario_id,
        # bus_id)"): the same relation, not "the buses where their from bus ID is the bus ID"
        whole = {(a.name, b.name) for a, b in pairs}
        between = [
            r for r in self.v.schema.relations if to.key and {r.left, r.right} == {to.key, src.key}
        ]
        for r in between:
            cols = set(zip(r.left_columns, r.right_columns, strict=True))
            up = r.left == to.key  # the subject side holds the reference: many-to-one
            if not up:
                cols = {(b, a) for a, b in cols}
            if cols in (got, whole):
                role = self._role(core, to, src, up) if len(between) > 1 else ""
                return Link(src, to, "up" if up else "down", role)
        if all(a.name == b.name for a, b in core):
            return Link(src, to, "same")
        return Link(src, to, "keyed", conds=[ast.BinaryOp("=", a, b) for a, b in core])

    def _scope_key(self, name: str, a: Source, b: Source) -> bool:
        """Whether both tables reference a third one on column ``name`` (the project /
        scenario both belong to): equal values only say "the same project"."""
        parents: dict[str, set[str]] = {}
        for r in self.v.schema.relations:
            if name in r.left_columns and r.left in (a.key, b.key):
                parents.setdefault(r.right, set()).add(r.left)
        return any(
            p not in (a.key, b.key) and {a.key, b.key} <= owners for p, owners in parents.items()
        )

    def _role(
        self, core: list[tuple[ast.Column, ast.Column]], to: Source, src: Source, up: bool
    ) -> str:
        """The key that tells two relations apart, as a role (``from_bus`` -> ``source``)."""
        col, owner = (core[0][0], to) if up else (core[0][1], src)
        term = self.v.column(owner.key, col.name)
        noun = term.noun
        for tail in (" number", " ID", " reference"):
            noun = noun.removesuffix(tail)
        target = (src if up else to).words
        for word in (target.singular, target.owner, target.singular.split(" ")[-1]):
            if noun == word:
                return ""
            noun = noun.removesuffix(" " + word)
        if noun == term.noun:
            return ""
        # a key named by a preposition ("from_bus_id", "to_bus_id") names the line's ends
        return _END_ROLES.get(noun, noun)

    def _other_copy(self, c: ast.Expr, scope: BlockWords) -> bool:
        if not (
            isinstance(c, ast.BinaryOp)
            and c.op == "<>"
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
            and c.left.name == c.right.name
        ):
            return False
        a, b = self.resolve(c.left, scope)[0], self.resolve(c.right, scope)[0]
        if a is None or b is None or a is b:
            return False
        if a.key == b.key:
            return True
        # a CTE of the same table (clustered census zones and the census zones near them):
        # its id passed through is the table's, so "a.id <> b.id" is still "the other one"
        # (was "with a different internal ID", review of the fifth pass)
        (col_a, base_a), (col_b, base_b) = self._base(c.left, a), self._base(c.right, b)
        return base_a.key is not None and base_a.key == base_b.key and col_a.name == col_b.name

    def counted(self, scope: BlockWords) -> Source | None:
        """The joined table whose rows a ``COUNT(*)`` of ``scope`` counts, when the subject
        meets several of its rows: census zones joined to their buildings count buildings,
        buildings joined to the lines within 200 m of them count lines (the lead's read of
        the fifth pass: "Count buildings ..." over a query that counts lines). None when no
        join fans out, or more than one does (the rows are then combinations)."""
        many = [
            link.source
            for link in self.links.get(id(scope), [])
            if link.to is scope.subject and scope.subject is not None and _fans_out(link, self)
        ]
        return many[0] if len(many) == 1 else None

    def link_phrases(self, scope: BlockWords) -> list[str]:
        """The links of ``scope`` as phrases, now that it is known what was named."""
        out = []
        links = self.links.get(id(scope), [])
        for link in links:
            src, to = link.source, link.to
            if (
                to is not None
                and not src.attached
                and not to.attached
                and link.kind in ("up", "down", "same")
                and not link.role
                and src.words.plural == to.words.plural
            ):
                # the same things from another table (a building's properties and its
                # footprint): one noun with both tables' conditions, "the LOD 1 buildings
                # with ISTAT construction period 'E8'", not "the buildings with ISTAT
                # construction period 'E8', with their LOD 1 buildings" (sixth pass's review)
                to.filters += src.filters
                src.filters = []
                to.mentioned = to.mentioned or src.mentioned
        for link in links:
            text = self.link_phrase(link, scope)
            if text:
                out.append(text + (" (if any)" if link.outer else ""))
        return out

    def link_phrase(self, link: Link, scope: BlockWords) -> str:
        src, to = link.source, link.to
        w = src.words
        # the last two, in the query's order: "the SRID 4326 DSM raster datasets", not
        # "the DSM raster datasets ..., with SRID 4326"
        before = [c for c in src.filters if c.adjective and not c.within][-2:]
        adjective = before[-1] if before else None
        if adjective is not None and not src.attached:
            # a filter said before the joined noun: "the LOD 1 buildings within 100 m of
            # them", "the DSM raster datasets ...", not "..., with type 'DSM'"
            src.filters = [c for c in src.filters if c not in before]
            a = " ".join(c.adjective for c in before)

            def lead(noun: str) -> str:  # "the other LOD 2 buildings"
                other, _, rest = noun.partition(" ")
                return f"{other} {a} {rest}" if other == "other" and rest else f"{a} {noun}"

            w = TableWords(lead(w.plural), lead(w.singular), w.short)
        filters = self.source_filters(src) or (" " if adjective is not None else "")
        if src.attached and not link.role:
            if (
                src.mentioned
                or filters
                or w.plural == (scope.subject.words.plural if scope.subject else "")
            ):
                return ""
            return f"with their {w.plural}"
        their = (
            "their" if to is None or to is scope.subject or to.attached else possessive(to.label)
        )
        they = "they" if their == "their" else to.label if to else "they"
        # "with their incoming lines that have maximum loading below 54%", not "... lines
        # with maximum loading below 54%": two "with"s in a row read as the rows' own
        # condition (the thirteenth pass's blind review)
        that = _that_have(filters)
        noun = f"{w.plural}{filters}"
        if link.kind == "up":
            if not filters and (not link.role or not src.listed):
                # the one parent every row has (a line's project scenario): what is said of
                # it is said with its owner ("plus the project's name", "source bus
                # voltage": a role is in the owner's name); joining it changes nothing else
                # worth a phrase; only a role's rows asked for by name are said
                return ""
            if their == "their" and src.filters and adjective is None:
                # "lines whose source bus has voltage at least 132 kV", "buildings whose
                # census zone has total population over 1200": the condition is the
                # parent's, said as the parent's (not "lines with voltage ...")
                said = join_words([verb_s(c.verb) for c in src.filters])
                return f"whose {link.role} {w.singular} {said}".replace("  ", " ")
            return f"with {their} {link.role} {w.plural}{that}"
        if link.kind == "down":
            if link.role:
                head = to.words.singular.split(" ")[-1] if to else w.singular
                them = "them" if they == "they" else they
                if link.role in _ROLE_WORDS and them == "them":
                    # "with their incoming lines (with length over 2 km)": the lines to them
                    way = "incoming" if _ROLE_WORDS[link.role] == "to" else "outgoing"
                    if that != filters:  # "with outgoing lines that have ..."
                        return f"with {way} {w.plural}{that}"
                    return f"with their {way} {w.plural}{filters}"
                if link.role in _ROLE_WORDS:  # "the lines to the bus"
                    return f"with the {w.plural} {_ROLE_WORDS[link.role]} {them}{that}"
                return f"with the {noun} that have {them} as {link.role} {head}"
            if src.mentioned and not filters:
                return ""  # "plus the cached height's confidence score" says they are joined
            return f"with {their} {w.plural}{that}"
        if link.kind == "same" and not filters:
            return ""  # the same things seen from another table ("buildings" twice)
        if link.kind in ("sibling", "same"):
            return "" if src.mentioned and not filters else f"and the {noun}"
        if link.kind == "cross":
            return self.pick(("with every ", "and every ")) + f"{w.singular}{filters}"
        saved = scope.focus
        scope.focus = src
        try:
            if link.kind == "spatial":
                if (
                    src.mentioned
                    and not src.filters
                    and self.v.raster_value(src.key)
                    and (_at_a_point(link.conds[0]) or self._on_points(link.conds[0], scope))
                ):
                    # the tile under a point is one tile: "surface elevation at their
                    # centroid" says the DSM tile it is read from
                    return ""
                rel = self.relation(link.conds[0], scope, src)
                rest = [c for c in src.filters if c.rel != rel]
                # "the DSM raster datasets in SRID 4326 intersecting them": where the rows
                # are, said with the noun
                pins = [c.rel for c in rest if c.rel.startswith("in SRID ")]
                rest = [c for c in rest if not c.rel.startswith("in SRID ")]
                more = (", " + self.rel_list(rest)) if rest else ""
                noun = " ".join([w.plural, *pins])
                # only the joined rows' own project and scenario after the noun: "with lines
                # in 'p' (optimized) within 100 m", said right after it
                own = " " + self.rel_list(rest) if rest and all(c.within for c in rest) else ""
                region = _REGION.fullmatch(rel)
                if region and not src.listed and all(c.within for c in src.filters):
                    # a project scenario that only bounds the rows (its boundary contains
                    # them, it is pinned, nothing of it is shown): where the rows are, not a
                    # second list -- "inside the census boundary of 'p' (baseline)", not
                    # "and the project scenarios whose census boundary contains them" (the
                    # merged fifteenth pass's read: 117 of 1,000 s1 questions)
                    area = region[1] or "area"
                    if rest:
                        return f"inside the {area} of {self.rel_list(rest).removeprefix('in ')}"
                    return f"inside that {w.singular}'s {area}"
                near = _NEAR.fullmatch(rel)
                if near and (not more or own):  # "with LOD 1 buildings within 100 m", not
                    # "and the LOD 1 buildings within 100 m of them": the distance is to the rows
                    return f"with {noun}{own} {near[1]}"
                if rel == "intersecting them" and (not more or own):
                    return f"with intersecting {noun}{own}"  # not "and the buses intersecting them"
                if rel.startswith("intersecting their ") and self._raster(src):
                    # the tiles under a point of theirs: "with the DSM tiles under their
                    # centroid", not "and the DSM tiles intersecting their centroid"
                    return f"with the {noun} under {rel.removeprefix('intersecting ')}{more}"
                return f"and the {noun} {rel}{more}"
            where = join_words([self.sentence(c, scope) for c in link.conds])
        finally:
            scope.focus = saved
        return f"and the {noun} where {where}"

    def _on_points(self, c: ast.Expr, scope: BlockWords) -> bool:
        """Whether ``c`` is ``ST_Intersects(rast, <a point column>)`` (a bus's location):
        one tile per row too, "bare-earth elevation" of buses says it."""
        if not (isinstance(c, ast.FuncCall) and c.name.removeprefix("public.") == "ST_Intersects"):
            return False
        for a in c.args:
            if isinstance(a, ast.Column):
                src, _ = self.resolve(a, scope)
                table = self.v.schema.table(src.key) if src is not None and src.key else None
                col = table.column(a.name) if table is not None else None
                if col is not None and (col.geometry_type or "").upper() == "POINT":
                    return True
        return False

    def _raster(self, src: Source) -> bool:
        table = self.v.schema.table(src.key) if src.key else None
        return table is not None and bool(table.raster_columns)

    def source_filters(self, src: Source) -> str:
        if not src.filters:
            return ""
        # one phrase, no comma: "with their buses within their census boundary with name
        # starting with 'Substation'"; after a comma the name read as the rows' own
        # (the eighth pass's review: "project scenarios ..., with name starting with ...")
        return " " + self.rel_list(src.filters, nested=True)

    # ------------------------------------------------------------------ provided by later layers

    def expr(self, e: ast.Expr, scope: BlockWords) -> str:
        raise NotImplementedError

    def case(self, e: ast.Case, scope: BlockWords, name: str = "") -> str:
        raise NotImplementedError

    def alias_name(self, alias: str) -> str:
        raise NotImplementedError

    def sentence(self, e: ast.Expr, scope: BlockWords) -> str:
        raise NotImplementedError

    def relation(self, e: ast.Expr, scope: BlockWords, about: Source) -> str:
        raise NotImplementedError

    def is_spatial_pred(self, e: ast.Expr) -> bool:
        raise NotImplementedError

    def rel_list(self, clauses: list[Clause], nested: bool = False) -> str:
        raise NotImplementedError

    def limit_phrase(self, r: Reading, inner: bool = False) -> str:
        raise NotImplementedError

    def read_query(self, q: ast.Query, outer: BlockWords | None) -> tuple[Reading, BlockWords]:
        raise NotImplementedError


_COPIES = ("other ", "third ", "fourth ")


def _that_have(filters: str) -> str:
    """A joined table's own conditions after ``with <noun>`` as a relative clause: `` with
    maximum loading below 54%`` -> `` that have maximum loading below 54%``; other
    conditions (``in 'p' (baseline)``, ``within 100 m of them``) as they are.

    >>> _that_have(" with maximum loading below 54% and length over 2 km"), _that_have(" in 'p'")
    (' that have maximum loading below 54% and length over 2 km', " in 'p'")
    """
    return " that have " + filters[6:] if filters.startswith(" with ") else filters


def _first_copy(words: TableWords) -> TableWords:
    """``words`` without the "other" that a second copy of one table was given."""
    for prefix in _COPIES:
        if words.plural.startswith(prefix):
            n = len(prefix)
            short = words.short[n:] if words.short.startswith(prefix) else words.short
            return TableWords(words.plural[n:], words.singular[n:], short)
    return words


# a role that says a direction in one word: the lines whose destination bus they are
# are the lines "to them"
_ROLE_WORDS = {"destination": "to", "target": "to", "source": "from", "origin": "from"}
# a joined table's distance to the rows: "within 100 m of them"
_NEAR = re.compile(r"(within [^,]+?) of them")
_REGION = re.compile(r"(?:whose (.+) contains?|containing) them")


def qualify(text: str, owner: str) -> str:
    """``municipality name`` of ``the census zone`` -> ``the census zone's municipality name``.

    >>> qualify("height", ""), qualify("height", "their"), qualify("name", "the bus")
    ('height', 'their height', "the bus's name")
    """
    if not owner:
        return text
    if owner == "their":
        return f"their {text}"
    return f"{possessive(owner)} {text}"


_POINTS = {"ST_Centroid", "ST_PointOnSurface", "ST_SetSRID", "ST_MakePoint", "ST_Point"}


# the argument that contains the other
_CONTAINER = {"ST_Within": 1, "ST_CoveredBy": 1, "ST_Contains": 0, "ST_Covers": 0}


def _fans_out(link: Link, reader: ScopeReader) -> bool:
    """Whether ``link`` meets several rows of its table per row it hangs on: a table's
    children (``down``) or a spatial join other than the one area containing the rows or
    the raster tile under them."""
    if link.kind == "down":
        return True
    if link.kind != "spatial" or not link.conds or reader.v.raster_value(link.source.key):
        return False
    c = link.conds[0]
    if isinstance(c, ast.FuncCall):
        # ST_Within(row, joined) / ST_Contains(joined, row): one container per row
        at = _CONTAINER.get(c.name.removeprefix("public."))
        if at is not None and len(c.args) == 2:
            inner = c.args[at]
            return not any(
                isinstance(col, ast.Column) and col.table == link.source.ref
                for col in columns_in(inner)
            )
    return True


def _at_a_point(c: ast.Expr) -> bool:
    """Whether ``c`` is ``ST_Intersects(rast, <a point>)``: one tile per row."""
    return (
        isinstance(c, ast.FuncCall)
        and c.name.removeprefix("public.") == "ST_Intersects"
        and any(isinstance(a, ast.FuncCall) and a.name in _POINTS for a in c.args)
    )


def _ref(item: ast.FromItem) -> str:
    if isinstance(item, ast.TableRef):
        return item.ref_name
    if isinstance(item, ast.DerivedTable):
        return item.alias
    return ""


__all__ = ["Link", "ScopeReader", "plural", "qualify"]
