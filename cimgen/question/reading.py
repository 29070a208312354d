"""Reader layer 5: a whole query (CTEs, set operations, SELECT list, grouping, ordering,
limits) read into a :class:`~cimgen.question.base.Reading`.

What is returned is named by what it means, briefly: the subject's own identifiers and names
are what "list the buildings" asks for, a value the ordering already names is not said
twice, and the rest is named by short nouns grouped by owner (``the project's centroid, hull
and buffer area``) -- never "and N other columns". A CTE or derived table is folded into the
description of the rows it feeds (its filters, joins and grouping are said; the columns it
merely passes through are not).
"""

from __future__ import annotations

import re
from dataclasses import replace

from cimgen import ast
from cimgen.question.base import (
    CONTEXT_FORMS,
    BlockWords,
    Clause,
    Item,
    Order,
    Reading,
    Source,
    belonging,
    has_agg,
    in_context,
    join_words,
    literal,
    merge_heads,
    share_leads,
    with_links,
)
from cimgen.question.conditions import ConditionReader
from cimgen.question.scope import qualify
from cimgen.question.vocabulary import Term, plural

_CLUSTERS = ("ST_ClusterDBSCAN", "ST_ClusterKMeans")
# functions whose result tells where a thing is (a point's coordinates, a shape as text)
_PLACES = frozenset(
    {"ST_X", "ST_Y", "ST_Centroid", "ST_PointOnSurface", "ST_AsText", "ST_AsGeoJSON", "ST_AsEWKT"}
)
_RANKED = re.compile(r"^(?:dense rank|rank|position) by ")


class QueryReader(ConditionReader):
    def read_query(self, q: ast.Query, outer: BlockWords | None) -> tuple[Reading, BlockWords]:
        for cte in q.ctes:
            self.ctes[cte.name] = cte
        body = q.body
        if isinstance(body, ast.SetOp):
            reading, scope = self.setop(body, outer), self.new_scope(outer)
            select = None
        else:
            reading = Reading()
            scope = self.select(body, outer, reading)
            select = body
        self.order_limit(q, scope, reading, select)
        _in_clusters(reading)
        for src in scope.sources.values():  # the project and scenario are said once
            src.filters = [c for c in src.filters if not c.within or c.within not in reading.within]
        reading.links = self.link_phrases(scope) + reading.links
        return reading, scope

    # ------------------------------------------------------------------ SELECT

    def select(self, sel: ast.Select, outer: BlockWords | None, reading: Reading) -> BlockWords:
        scope = self.scope_for(sel, outer, reading)
        subject = scope.subject
        if subject is not None:
            reading.subject, reading.singular = subject.words.plural, subject.words.singular
        for item in sel.items:
            if item.alias:
                scope.aliases[item.alias] = item.expr
        for src in scope.sources.values():  # a joined CTE whose rows are the subject's
            if src.attached and src.filters:
                reading.filters += src.filters
                src.filters = []
        self.where(self.pending(scope), scope, reading)
        reading.rasters = sum(self._raster(src) for src in scope.sources.values())
        keys = [self.unalias(g, scope, sel) for g in sel.group_by]
        if keys:
            nouns = [self._key_noun(k, scope) for k in keys]
            reading.said.update(text for text, owner in nouns if not owner)
            # "per source bus name", not "per the source bus's name": a compound, as returned
            reading.group = [self.owned([Item(text, owner) for text, owner in nouns], compact=True)]
            reading.group_plural = self._group_plural(keys, scope)
        self.returns(sel, set(keys), scope, reading)
        if sel.having is not None:
            rows = self.rows_noun(scope)
            reading.having = [self.having_clause(c, scope, rows) for c in ast.conjuncts(sel.having)]
        reading.distinct = sel.distinct
        links = self.links.get(id(scope), [])
        reading.spatial_link |= any(link.kind == "spatial" for link in links)
        return scope

    def where(self, conds: list[ast.Expr], scope: BlockWords, reading: Reading) -> None:
        """Conditions about the subject become its clauses, those about one joined table
        that table's (said with its name), the rest sentences."""
        own: list[Clause] = []
        seen: set[ast.Expr] = set()
        for c in conds:
            if c in seen:  # the same condition twice says nothing more
                continue
            seen.add(c)
            refs = self.refs(c, scope)
            loose = [s for s in scope.sources.values() if s in refs and not s.attached]
            if not loose:
                own.append(self.clause(c, scope))
            elif len(loose) == 1:
                scope.focus = loose[0]
                try:
                    clause = self.clause(c, scope)
                finally:
                    scope.focus = None
                loose[0].filters.append(clause)
                if clause.noun:  # "whose source bus has voltage ...": not returned again
                    reading.said.add(qualify(clause.noun, loose[0].label))
            else:
                reading.where.append(self.sentence(c, scope))
        within = [k for k in own if k.within]
        reading.said.update(k.noun for k in within if k.noun)
        if within:
            things = list(dict.fromkeys(k.within for k in within))
            reading.within += things
            context = "in " + belonging(things)
            # a CTE's "in scenario 's'" (folded in already) and the query's own both hold;
            # the same project and scenario twice are said once (blind review)
            folded = reading.within[: -len(things)]
            if reading.context and not set(things) <= set(folded):
                reading.context = f"{context}, {reading.context}"
            elif not reading.context:
                reading.context = context
            if not reading.context_form:
                # drawn even where phrases are fixed (a condition's wording): a form, not a word
                reading.context_form = CONTEXT_FORMS[int(self.rng.random() * len(CONTEXT_FORMS))]
        for k in own:
            if k in within:
                continue
            if k.noun:
                reading.said.add(k.noun)
            # the adjective where there is one ("osm buildings"), 9 in 10: the clause form
            # ("buildings with geometry source 'osm'") is kept now and then for variety
            if k.adjective and not reading.adjectives and self.chance(0.9):
                reading.adjectives.append(k.adjective)
            else:
                reading.filters.append(k)
            if k.temporal:
                reading.temporal.append(k.temporal)

    def _key_noun(self, key: ast.Expr, scope: BlockWords) -> tuple[str, str]:
        """A grouping key as (noun, owner); a table's own identity is the table itself
        (GROUP BY building_id: ``per building``)."""
        if isinstance(key, ast.Column):
            t, src, depth = self.term(key, scope)
            if src is not None:
                src.mentioned = True
            if t.identifier and self._identity(t, src, key, scope):  # not a name: not unique
                assert src is not None
                return src.words.singular, ""
            owner = self.owner_of(src, depth, scope)
            return self._referenced(self.brief(t, src, owner, scope), key, scope), owner
        return self.np(key, scope)

    def _referenced(self, noun: str, col: ast.Column, scope: BlockWords) -> str:
        """A key that references another table's rows groups by those rows: ``per
        destination bus``, not ``per destination bus number`` (``to_bus`` is a bus; through
        a CTE's column too)."""
        head, _, tail = noun.rpartition(" ")
        if tail not in ("number", "ID", "id") or not head:
            return noun
        src, _ = self.resolve(col, scope)
        for _ in range(4):  # a CTE's column is its table's: follow it down
            if src is None or src.query is None:
                break
            inner = self.outputs(src.query).get(col.name)
            if not isinstance(inner, ast.Column):
                return noun
            _, sub = self.sub_reading(src.query)
            col, (src, _) = inner, self.resolve(inner, sub)
        if src is None or not src.key:
            return noun
        for r in self.v.schema.relations:
            if (
                r.left == src.key
                and r.left_columns == (col.name,)
                and head.split()[-1] == self.v.table(r.right).singular.split()[-1]
            ):
                return head
        return noun

    def _identity(self, t: Term, src: Source | None, col: ast.Expr, scope: BlockWords) -> bool:
        """Whether a column names the rows of its table (an identifier that references no
        other table, or a name): what "the buildings" already asks for."""
        if src is None or not t.naming or not isinstance(col, ast.Column):
            return False
        table = self.v.schema.table(src.key) if src.key else None
        if table is not None and col.name in table.primary_key:
            return True
        for r in self.v.schema.relations:
            # a reference to another thing (project_id of a building) is not the row's name
            if (
                r.left == src.key
                and col.name in r.left_columns
                and self.v.table(r.right).plural != src.words.plural
            ):
                return False
        words = src.words
        return (
            t.short in ("ID", "name", "internal ID")
            or t.short != t.noun
            or t.noun.startswith((words.singular + " ", words.owner + " "))
            or (t.identifier and not t.noun.endswith(" ID"))
            or col.name.lower() == "id"
            or self._keyed(col.name, src)
        )

    def _keyed(self, name: str, src: Source) -> bool:
        """Whether other tables reference this column (the table's business key)."""
        return src.key is not None and any(
            r.right == src.key and name in r.right_columns for r in self.v.schema.relations
        )

    def _group_plural(self, keys: list[ast.Expr], scope: BlockWords) -> str:
        """``municipalities`` for GROUP BY municipality name: what the groups are."""
        if len(keys) != 1 or not isinstance(keys[0], ast.Column):
            return ""
        t, src, _ = self.term(keys[0], scope)
        if t.identifier and self._identity(t, src, keys[0], scope):
            return src.words.plural if src is not None else ""
        noun = self.brief(t, src, "", scope)
        for tail in (" name", " ID", " code"):
            if noun.endswith(tail) and noun != tail.strip():
                noun = noun.removesuffix(tail)
                break
        if noun.startswith(("has ", "in ", "is ", "number")) or noun[:1].isdigit():
            return ""
        head, _, rest = noun.rpartition(" ")
        return f"{head} {plural(rest)}".strip()

    def returns(
        self, sel: ast.Select, keys: set[ast.Expr], scope: BlockWords, reading: Reading
    ) -> None:
        subject = scope.subject
        aggregates = 0
        versions: list[Item] = []
        for item in sel.items:
            e = item.expr
            reading.located |= _locates(e, self, scope)
            if isinstance(e, ast.FuncCall) and e.name in _CLUSTERS:
                reading.shaping.append(self.cluster_clause(e, scope))
                reading.returns.append(Item("cluster", measure=True))
                continue
            if e in keys:
                continue
            if isinstance(e, ast.String | ast.Number):
                if not all(isinstance(i.expr, ast.String | ast.Number) for i in sel.items):
                    reading.labels.append(literal(e) or "")  # not EXISTS (SELECT 1 ...)
                continue
            if isinstance(e, ast.Column):
                t, src, depth = self.term(e, scope)
                if src is not None:
                    src.mentioned = True
                owner = self.owner_of(src, depth, scope) if t.kind != "derived" else ""
                if t.temporal:
                    reading.temporal.append(t.brief)
                if (
                    subject is not None
                    and src is not None
                    and (src.words.plural == subject.words.plural or not src.attached)
                    and self._identity(t, src, e, scope)
                ):
                    src.listed = True
                    continue  # a name or identifier of a table the question names
                brief = self.brief(t, src, owner, scope)
                if (brief if not owner else qualify(brief, owner)) in reading.said:
                    continue  # a condition or the grouping already names it
                version = self._version(t, e, scope)
                if version and not sel.group_by:
                    # owned like any other value: "bus coordinates and scenario", not
                    # "..., and bus scenario, and bus coordinates" (blind review)
                    versions.append(Item(version, owner if owner != "their" else ""))
                    continue
                if t.noun.startswith(("has ", "in ", "is ")):
                    text, owner = self.np(e, scope)
                    reading.returns.append(Item(text, owner))
                    continue
                reading.returns.append(Item(brief, owner))
                continue
            if isinstance(e, ast.Case) and item.alias:
                text, owner = self.case(e, scope, self.alias_name(item.alias)), ""
            else:
                text, owner = self.np(e, scope)
            aggregates += has_agg(e)
            if not owner and text in reading.said:
                continue
            reading.returns.append(Item(text, owner, measure=True))
        # a value a window is split by is said with the window: "rank by distance split by
        # whether in service", not "... split by whether in service and whether in service"
        windows = [i.text for i in reading.returns if i.measure]
        reading.returns = [
            i
            for i in reading.returns
            if i.measure
            or not any(f"split by {i.text}" in w or f"within each {i.text}" in w for w in windows)
        ]
        # said among the returned values ("..., area and LOD"), never as "per LOD": "per"
        # reads as a grouping ("top 10 per scenario"), which the query does not do
        reading.returns += list(dict.fromkeys(versions))
        reading.aggregate = reading.aggregate or aggregates > 0 or bool(sel.group_by)
        measures = [i for i in reading.returns if i.measure]
        # a count of the rows themselves ("Count buildings ..."), not of a joined table's
        # rows ("number of buildings" of census zones with their buildings)
        counted = self.counted(scope) if scope.subject is not None else None
        theirs = f"number of {counted.words.plural}" if counted is not None else ""
        # a distinct count of another table's rows ("number of distinct lines" of buildings
        # with the lines near them) is theirs too, never "How many buildings ..."
        own = scope.subject.words.plural if scope.subject is not None else ""
        reading.counts_only = (
            aggregates > 0
            and len(measures) == len(reading.returns)
            and all(i.text.startswith("number of ") for i in measures)
            and not any(i.text == theirs for i in measures)
            and not any(
                i.text.startswith("number of distinct ") and i.text != f"number of distinct {own}"
                for i in measures
            )
        )

    def _version(self, t: Term, col: ast.Column, scope: BlockWords) -> str:
        """A column returned so that rows can be told apart (the scenario or project a row
        belongs to, a level of detail -- see ``cimgen.expand.distinct``) in one or two words:
        ``scenario``, ``LOD`` (said among the returned values, with their owner)."""
        if t.noun.endswith(("level of detail", "LOD")):
            word = "LOD"
        else:
            word = self._entity(col, t.noun, scope)
            if word not in self.v.scope_words:  # "building" of a cached height: its identity
                return ""
        return word

    def order_limit(
        self, q: ast.Query, scope: BlockWords, reading: Reading, select: ast.Select | None
    ) -> None:
        by_id = False
        for o in q.order_by:
            e = self.unalias(o.expr, scope, select)
            if o.direction != "DESC" and o is q.order_by[-1] and self._by_id(e, scope):
                by_id = True
                continue  # the rows in their stable order: "the first 10", not "... by ID"
            text, owner = self.np(e, scope)
            noun = qualify(text, owner)
            if noun == f"number of {reading.subject}" and reading.aggregate:
                noun = "count"  # "top 5 by count", "highest count first": the count asked for
            if any(o.noun == noun for o in reading.order):
                continue  # ORDER BY a, a: the second says nothing
            target = text.removeprefix("distance to ") if not owner else ""
            temporal = words = False
            if isinstance(e, ast.Column):
                t = self.term(e, scope)[0]
                temporal, words = t.temporal, t.kind == "text"
            reading.order.append(
                Order(
                    noun, o.direction == "DESC", target if target != text else "", temporal, words
                )
            )
            # the value the ordering names is not said again in the list of what is returned
            # (a measure of a grouped query is: "top 5 by number of lines" does not ask for it)
            reading.returns = [
                i
                for i in reading.returns
                if qualify(i.text, i.owner) != noun or (reading.aggregate and i.measure)
            ]
            if isinstance(e, ast.Column):
                t, _, _ = self.term(e, scope)
                if t.temporal:
                    reading.temporal.append(t.brief)
        _by_its_lead(reading)
        if q.limit is not None:
            reading.limit = self.expr(q.limit, scope)
        if q.offset is not None:
            reading.offset = self.expr(q.offset, scope)
        n = reading.limit
        if (
            n.isdigit()
            and n != "1"
            and not (reading.order or reading.offset or reading.aggregate or reading.group)
        ):
            # "Can you analyse the LOD of any 10 catasto buildings?", not "... of catasto
            # buildings, only 10?" (lead's read, twelfth pass); rows in no order are any
            # N of them (the brief of the thirteenth pass), in the stable order by ID the
            # first N
            any_n = (f"any {n}", f"a sample of {n}")
            reading.counted = f"the first {n}" if by_id else self.pick(any_n)

    def _by_id(self, e: ast.Expr, scope: BlockWords) -> bool:
        """Whether ``e`` is the subject's own identifier (not its name): ordering by it
        ascending is the technical stable order people do not mention."""
        if not isinstance(e, ast.Column) or scope.subject is None:
            return False
        t, src, _ = self.term(e, scope)
        return (
            src is scope.subject
            and t.identifier
            and not t.noun.endswith("name")
            and self._identity(t, src, e, scope)
        )

    # ------------------------------------------------------------------ set operations

    def setop(self, node: ast.SetOp, outer: BlockWords | None) -> Reading:
        arms: list[tuple[str, ast.Select | ast.SetOp | ast.Query]] = []

        def flatten(n: ast.Select | ast.SetOp | ast.Query, op: str) -> None:
            if isinstance(n, ast.SetOp):
                flatten(n.left, op)
                flatten(n.right, n.op + (" ALL" if n.all else ""))
            else:
                arms.append((op, n))

        flatten(node, "")
        reading = Reading()
        for op, arm in arms:
            q = arm if isinstance(arm, ast.Query) else ast.Query(arm)
            sub, _ = self.read_query(q, outer)
            reading.arms.append((op, sub))
            reading.temporal += sub.temporal
            reading.spatial_link |= sub.spatial
        first = reading.arms[0][1]
        reading.subject, reading.singular = first.subject, first.singular
        reading.aggregate = first.aggregate
        return reading

    # ------------------------------------------------------------------ phrases

    def noun_phrase(
        self, r: Reading, singular: bool = False, context: bool = True, nested: bool = False
    ) -> str:
        """``residential buildings in project 'p' with height over 25 m and the census zones
        that contain them``; ``nested`` (inside another clause) joins its own clauses with
        "and" so they cannot be read as the outer one's."""
        text = " ".join([*r.adjectives, r.singular if singular else r.subject])
        if context and r.context:
            # nested (a subquery's rows): the full form, which same_scenario can say once
            text = f"{text} {r.context}" if nested else in_context(text, r.context, r.context_form)
        if r.counted and not singular and not nested:
            text = f"{r.counted} {text}"  # "10 baseline buses in 'p'", not "baseline 10 ..."
        if r.filters:
            text += " " + self.rel_list(r.filters, nested)
        if r.shaping:
            text += ", " + ", ".join(r.shaping)
        if r.labels:
            text += f" (labelled {join_words(r.labels)})"
        if nested:
            for link in r.links:
                text += (" " if link.startswith(("and ", "with ", "whose ")) else ", ") + link
        else:
            text = with_links(text, r.links, not r.filters and not r.shaping and not r.labels)
        if r.where:
            text += ", where " + join_words(r.where)
        return text

    def returns_text(self, r: Reading) -> str:
        """What is returned, the subject's own first, then per owner: ``height and volume,
        plus the census zone's code and population``; the row count next to other values
        is the ``count``, said last."""
        # another table of the same things (a building's properties) is the subject's own:
        # "buildings ..., with volume", not "plus the building's volume"
        returns = [
            Item(i.text, "", i.measure) if r.singular and i.owner == f"the {r.singular}" else i
            for i in r.returns
        ]
        own = [i for i in returns if not i.owner]
        items = [
            i
            for i in returns
            if not (i.text == f"number of {r.subject}" and len(own) > 1 and not i.owner)
        ]
        if len(items) < len(returns):
            items.append(Item("count"))
        if r.rasters == 1:
            items = _tile_statistic(items, [r.subject, *r.links])
        # yes/no values last: "the height and whether they have a heating system"
        items.sort(key=lambda i: i.text.startswith("whether"))
        text = self.owned(items, compact=True)
        return ("distinct " + text) if r.distinct and text else text

    def owned(self, items: list[Item], compact: bool = False) -> str:
        """Nouns grouped by owner, the subject's own first: ``height and volume, plus the
        census zone's code and population``; ``compact``: another table's one or two values
        as compound nouns, the way people list them (``grid zone and line length``)."""
        groups: dict[str, list[str]] = {"": []}
        for i in items:
            groups.setdefault(i.owner, []).append(i.text)
        text = _list(share_leads(merge_heads(_coordinates(groups.pop("")))))
        for owner, texts in groups.items():
            nouns = share_leads(merge_heads(_coordinates(texts)))
            head = owner.removeprefix("the ")
            if compact and _compound(head, nouns):
                words = _compound_words(head, nouns)
                if not text.strip():  # nothing of the subject's own: "bus voltage and ..."
                    text = words
                elif " and " in text:  # "length and count, plus average building height"
                    text = f"{text}, plus {words}"
                elif " and " in words:
                    text = f"{text}, and {words}"
                else:
                    text = f"{text} and {words}"
                continue
            words = qualify(_list(nouns), owner)
            text = f"{text}, plus {words}" if text else words
        return text.removeprefix(" and ").strip()

    def tail(self, r: Reading, skip_limit: bool = False) -> list[str]:
        """Trailing phrases: windows and clusters, grouping conditions, ordering, limit."""
        out = list(r.extra)
        if r.order or (r.limit and not skip_limit) or r.offset:
            text = self.limit_phrase(r) if not skip_limit else self.order_phrase(r)
            if text:
                out.append(text)
        return out

    def order_phrase(self, r: Reading) -> str:
        if not r.order:
            return ""
        first, *rest = r.order
        first = replace(first, noun=ordered_by(first.noun))
        if first.distance:
            head = f"{'farthest from' if first.descending else 'nearest to'} {first.distance} first"
        elif first.temporal:
            head = f"{'latest' if first.descending else 'earliest'} {first.noun} first"
        elif first.text:
            head = f"by {first.noun} in reverse order" if first.descending else f"by {first.noun}"
        elif _RANKED.match(first.noun):  # ORDER BY a rank: "ranked by ...", not "by rank by"
            ranked = _RANKED.sub("ranked by ", first.noun, count=1)
            head = f"{ranked}, in reverse order" if first.descending else ranked
        elif first.noun.startswith("number of ") and " " not in first.noun[10:]:
            # "most lines first", "fewest buildings first": not "highest number of lines"
            head = f"{'most' if first.descending else 'fewest'} {first.noun[10:]} first"
        elif first.descending and first.noun in SUPERLATIVES:  # "longest first"
            head = f"{SUPERLATIVES[first.noun][0]} first"
        elif first.descending:  # the short forms first: "highest height first"
            plain = not first.noun.startswith(("the ", "their ")) and "(" not in first.noun
            head = f"highest {first.noun} first" if plain else f"by {first.noun}, highest first"
        else:
            plain = not first.noun.startswith(("the ", "their ")) and "(" not in first.noun
            low = f"lowest {first.noun} first"
            if first.noun in SUPERLATIVES:  # "shortest first", not "lowest length first"
                low = f"{SUPERLATIVES[first.noun][1]} first"
            # not a bare "by count": after "per use type" it reads as a second grouping
            head = self.pick((f"sorted by {first.noun}",) + ((low,) if plain else ()))
        more = [o.noun + (" (highest first)" if o.descending else "") for o in rest]
        return head + ("".join(f", then {m}" for m in more) if more else "")

    def limit_phrase(self, r: Reading, inner: bool = False) -> str:
        """``top 10 by height``, ``the 5 nearest to (9.19, 45.47)``, ``first 20``."""
        n, skip = r.limit, (f"skipping the first {r.offset}" if r.offset else "")
        if n and len(r.order) == 1 and not skip:
            o = replace(r.order[0], noun=ordered_by(r.order[0].noun))
            target = o.distance
            if n == "1" and r.group:  # "only the use type with the most buildings"
                group = r.group[0] if len(r.group) == 1 else "group"
                if o.noun == "count":
                    most = "most" if o.descending else "fewest"
                    return f"only the {group} with the {most} {r.subject}"
                return (
                    f"only the {group} with the {'highest' if o.descending else 'lowest'} {o.noun}"
                )
            if n == "1":  # "only the tallest", "only the first by name"
                return f"only the {one_ranked(o)}"
            if o.distance:
                return f"the {n} {'farthest from' if o.descending else 'nearest to'} {target}"
            if _RANKED.match(o.noun):  # ORDER BY a rank: "first 10 ranked by distance"
                ranked = _RANKED.sub("ranked by ", o.noun, count=1)
                return f"{'last' if o.descending else 'first'} {n} {ranked}"
            if o.temporal:
                return f"{'latest' if o.descending else 'earliest'} {n} by {o.noun}"
            if o.text:  # a name is not high or low: first or last in order
                return f"{'last' if o.descending else 'first'} {n} by {o.noun}"
            if o.noun in SUPERLATIVES:  # "the 10 tallest": the size said once
                return f"the {n} {SUPERLATIVES[o.noun][0 if o.descending else 1]}"
            if o.descending:  # "top 10 by height": the way people say it, always
                return f"top {n} by {o.noun}"
            return self.pick((f"bottom {n} by {o.noun}", f"lowest {n} by {o.noun}"))
        order = self.order_phrase(r)
        if inner and n:
            return ", ".join(p for p in (order, f"first {n}", skip) if p)
        if r.counted:
            return ", ".join(p for p in (order, skip) if p)  # said before the noun
        # not "at most 20": after a condition it reads as the condition's bound
        # ("window-to-wall ratio at least 0.2, at most 20": the lead's read of 8c79c29)
        lim = "only 1" if n == "1" else (self.pick((f"first {n}", f"only {n}")) if n else "")
        return ", ".join(p for p in (order, lim, skip) if p)

    def sub_phrase(self, query: ast.Query, scope: BlockWords) -> str:
        """A scalar subquery as a noun phrase: ``the average height of buildings with use
        type 'commercial'``; the correlation to the outer row is implied."""
        sub, _ = self.read_query(query, scope)
        what = self.noun_phrase(sub, nested=True)
        if sub.counts_only and len(sub.returns) == 1:
            text = f"number of {what}"
        else:
            text = f"{self.returns_text(sub) or 'value'} of {what}"
        tail = self.tail(sub)
        if sub.group:
            tail.insert(0, "per " + join_words(sub.group))
        return text + "".join(f", {t}" for t in tail) if tail else text


_OWNED = re.compile(r"the ([a-z]+(?: [a-z]+)?)'s ([a-z-]+(?: [a-z-]+)?)")


def one_ranked(o: Order) -> str:
    """The one row a LIMIT 1 keeps, by its one ordering, as a superlative: ``tallest``,
    ``nearest to (9.1, 45.4)``, ``first by name``, ``latest by construction year``, ``one
    with the highest volume`` (not "the one with the lowest name": the lead's read of the
    twelfth pass)."""
    o = replace(o, noun=ordered_by(o.noun))
    if o.distance:
        return f"{'farthest from' if o.descending else 'nearest to'} {o.distance}"
    if o.noun in SUPERLATIVES:
        return SUPERLATIVES[o.noun][0 if o.descending else 1]
    if o.text:
        return f"{'last' if o.descending else 'first'} by {o.noun}"
    if o.temporal:
        return f"{'latest' if o.descending else 'earliest'} by {o.noun}"
    return f"one with the {'highest' if o.descending else 'lowest'} {o.noun}"


def ordered_by(noun: str) -> str:
    """Another table's value as people order by it: ``line length``, not ``the line's
    length`` ("highest line length first", "top 5 by line length"); longer values, and
    those that point somewhere ("the bus's distance to ..."), as they are.

    >>> ordered_by("the line's length"), ordered_by("the bus's distance to (9.1, 45.4)")
    ('line length', "the bus's distance to (9.1, 45.4)")
    """
    m = _OWNED.fullmatch(noun)
    if not m or _repeats(m[1], m[2]) or m[2].split()[0] == m[1].split()[0]:
        return noun
    return _compound_noun(m[1], m[2])


def _compound(head: str, nouns: list[str]) -> bool:
    """Whether another table's values read as compound nouns (``line length``, ``bus
    name``, ``source bus voltage``): a one- or two-word owner that is not "their" / "the
    other ...", and short nouns that do
    not start with its own name or an article."""
    return (
        (" " not in head or (head.count(" ") == 1 and not head.startswith("other ")))
        and head not in ("their", "")
        and len(nouns) <= 2
        and all(
            # a raster's value at a place reads as one: "raster value at their centroid"
            (len(n.split()) <= 3 or n.startswith("value at "))
            and not n.startswith((head, "the ", "whether", "("))
            and n.split()[0] != head.split()[0]  # not "census zone census enumeration area"
            and not _repeats(head, n)
            and f"{n} " not in _STATISTIC  # "the tile's maximum", never "tile maximum"
            for n in nouns
        )
        and not _stacked(head, nouns)
    )


_SHORT_LEADS = ("average", "total")
# the rows' own one-word size, ordered: (most, least); generic English, whatever the schema
SUPERLATIVES = {
    "length": ("longest", "shortest"),
    "height": ("tallest", "shortest"),
    "width": ("widest", "narrowest"),
    "depth": ("deepest", "shallowest"),
    "area": ("largest", "smallest"),
}


def _by_its_lead(reading: Reading) -> None:
    """An ordering by a returned average or total says its lead word only: "the average
    height and count per use type, highest average first" (was "highest average height
    first": the value named twice), when no other returned value has that lead."""
    if not reading.aggregate or len(reading.order) != 1:
        return
    o = reading.order[0]
    lead = o.noun.split(" ", 1)[0]
    if lead not in _SHORT_LEADS or o.noun == lead:
        return
    named = [qualify(i.text, i.owner) for i in reading.returns if i.measure]
    same = [n for n in named if n.split(" ", 1)[0] == lead]
    if same == [o.noun]:
        reading.order[0] = replace(o, noun=lead)


def _stacked(head: str, nouns: list[str]) -> bool:
    """Whether an aggregate's word before a two-word owner and a noun of two words would
    read as the owner's aggregate: "average cached height ground elevation" (the lead's
    read of 8c79c29) is "the cached height's average ground elevation"; without the
    aggregate's word the compound reads ("cached height confidence score", "census zone
    section number"), and so does a noun that starts with the owner's last word ("census
    zone area")."""
    if " " not in head:
        return False
    for n in nouns:
        lead, _, rest = n.partition(" ")
        if lead in _LEADS and " " in rest and rest.split()[0] != head.split()[-1]:
            return True
    return False


def _repeats(head: str, noun: str) -> bool:
    """Whether a word of a two-word owner recurs inside the noun: "cached height" /
    "height estimate" + "calculated height" would read "height estimate calculated
    height" (a noun that starts with the owner's last word merges instead: "census zone" +
    "zone area" -> "census zone area")."""
    words = noun.split()
    if words[0] in _LEADS and len(words) > 1:
        words = words[1:]
    return " " in head and any(w in words[1:] for w in head.split())


def _compound_noun(head: str, noun: str) -> str:
    """``line`` + ``length`` -> ``line length``; an aggregate keeps its word first:
    ``average line length``."""
    lead, _, rest = noun.partition(" ")
    if lead in _LEADS and rest:
        return f"{lead} {_compound_noun(head, rest)}"
    last = head.rsplit(" ", 1)[-1]
    if noun.startswith(last + " "):  # "census zone" + "zone area": "census zone area"
        return f"{head} {noun[len(last) + 1 :]}"
    return f"{head} {noun}"


_LEADS = ("average", "total", "maximum", "minimum", "largest", "smallest")


def _compound_words(head: str, nouns: list[str]) -> str:
    """``bus`` + ``coordinates``, ``scenario`` -> ``bus coordinates and scenario`` (the
    owner said once); an aggregate keeps its word first: ``average line length``."""
    if len(nouns) > 1 and all(_compound_noun(head, n).startswith(head + " ") for n in nouns):
        return f"{head} {_list(nouns)}"
    return _list([_compound_noun(head, n) for n in nouns])


def _in_clusters(reading: Reading) -> None:
    """DBSCAN's noise left out (``cluster IS NOT NULL``) and the clustering said at once:
    ``in DBSCAN clusters (eps 100, min 3 points)``, not ``in a cluster, clustered by
    DBSCAN (...)``."""
    noise = [c for c in reading.filters if c.rel == "in a cluster"]
    if noise and any("k-means clusters" in t for t in reading.shaping):
        # k-means puts every row in a cluster: the test changes nothing worth saying
        reading.filters = [c for c in reading.filters if c.rel != "in a cluster"]
        return
    shaped = [i for i, t in enumerate(reading.shaping) if t.startswith("clustered by DBSCAN")]
    if noise and shaped:
        reading.filters = [c for c in reading.filters if c.rel != "in a cluster"]
        i = shaped[0]
        reading.shaping[i] = "in DBSCAN clusters" + reading.shaping[i][len("clustered by DBSCAN") :]


_KMEANS = re.compile(r"in (\d+) k-means clusters")
_DBSCAN = re.compile(r"in DBSCAN clusters (\(eps [^)]*\))")
_DBSCAN_KEPT = re.compile(r"clustered by DBSCAN (\(eps [^)]*\))")


def per_cluster(reading: Reading) -> None:
    """Rows grouped by the clusters they are put in say the clustering once, as the
    grouping: ``per DBSCAN cluster (eps 100, min 3 points)``, ``per k-means cluster (6
    clusters)`` (was ``..., in DBSCAN clusters (eps 100, min 3 points), per cluster``).
    DBSCAN's noise is no cluster: only the form that leaves it out (``in DBSCAN
    clusters``) is said this way; with the noise kept it stays ``clustered by DBSCAN
    (...), per cluster``. Applied to the whole query's reading only (a CTE's clusters
    are grouped by the query around it)."""
    if len(reading.shaping) != 1:
        return
    text = reading.shaping[0]
    kmeans, dbscan = _KMEANS.fullmatch(text), _DBSCAN.fullmatch(text)
    kept = _DBSCAN_KEPT.fullmatch(text)
    returned = [i for i in reading.returns if i.text == "cluster" and not i.owner]
    if kmeans:
        key = f"k-means cluster ({kmeans[1]} clusters)"
    elif dbscan or (kept and returned and "cluster" not in reading.group):
        key = f"DBSCAN cluster {(dbscan or kept)[1]}"  # type: ignore[index]
    else:
        return
    if "cluster" in reading.group:
        reading.group = [key if k == "cluster" else k for k in reading.group]
    elif returned and not dbscan:
        # the cluster returned, noise kept: "showing coordinates and DBSCAN cluster (eps
        # 50, min 2 points)", not "..., clustered by DBSCAN (...), showing ... and cluster"
        reading.returns = [replace(i, text=key) if i is returned[0] else i for i in reading.returns]
    else:
        return
    reading.shaping = []


def _coordinates(nouns: list[str]) -> list[str]:
    """``longitude`` and ``latitude`` of the same thing are its ``coordinates``:
    ``centroid longitude, centroid latitude`` -> ``centroid coordinates``."""
    out = list(nouns)
    for i, noun in enumerate(out):
        if noun == "longitude" or noun.endswith(" longitude"):
            lat = noun.removesuffix("longitude") + "latitude"
            if lat in out:
                out[i] = noun.removesuffix("longitude") + "coordinates"
                out.remove(lat)
    return out


def _list(items: list[str]) -> str:
    """``a, b and c``; ``a and b, and c`` when an item has its own "and"."""
    if len(items) > 1 and any(" and " in i for i in items):
        return ", ".join(items[:-1]) + ", and " + items[-1]
    return join_words(items)


_STATISTIC = ("maximum ", "minimum ", "average ", "mean ")


def _tile_statistic(items: list[Item], links: list[str]) -> list[Item]:
    """A tile's statistic beside a value the rows read from it: "surface elevation at
    their centroid, plus the DSM tile's maximum", not "plus the DSM tile's maximum surface
    elevation"; "the tile's maximum" once the joins name the tile. Only with one tile among
    the values (its label the only raster the subject and joins name; the caller checks the
    block reads one raster) and its measure's head word already said."""
    tiles = {i.owner for i in items if i.owner.endswith(" tile")}
    if len(tiles) != 1:
        return items
    owner = tiles.pop()
    label = owner.removeprefix("the ").removesuffix(" tile")
    named = re.findall(r"(\S+) (?:tiles?|raster datasets?)\b", " ".join(links))
    if any(n != label for n in named if n not in ("every", "the", "intersecting", "their")):
        return items
    mine = [i for i in items if i.owner == owner]
    said = " ".join(i.text for i in items if not i.owner and i.measure)
    if len(mine) != 1 or not mine[0].text.startswith(_STATISTIC):
        return items
    lead, rest = mine[0].text.split(" ", 1)
    if not said or rest.split()[-1] not in said.split():
        return items
    # "the tile" once the joins name it ("with intersecting DTM tiles"), else its label
    short = "the tile" if label in named else owner
    return [Item(lead, short, i.measure) if i is mine[0] else i for i in items]


def _locates(e: ast.Expr, reader: QueryReader, scope: BlockWords) -> bool:
    """Does an output say where its row is: a geometry column, or a function whose result
    is a place (``ST_X(ST_Centroid(geom))``, ``ST_AsText(geom)``)?"""
    if isinstance(e, ast.Column):
        return reader.term(e, scope)[0].kind == "geometry"
    return any(isinstance(n, ast.FuncCall) and n.name in _PLACES for n in ast.walk(e))
