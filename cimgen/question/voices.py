"""Voices: a :class:`~cimgen.question.base.Reading` arranged into one sentence.

Three voices -- an imperative (``List ...``), a question (``Which ...?``) and a planner's goal
(``I need to know which ...``) -- each with several skeletons per shape of query (a list,
a count, measures, measures per group, a set operation), so one shape does not always give
one sentence. The tone sets how likely each voice is and adds its frame: CONDITIONAL starts
from a restriction (``If we only look at ...``), SPATIAL_SPECIFIC may lead with the spatial
condition, TEMPORAL with the time the data describes, INTERROGATIVE always asks. Every
choice is drawn from the reader's seeded ``random.Random``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace

from cimgen.question.base import TONES, Clause, Reading, in_context, with_links
from cimgen.question.reading import SUPERLATIVES, QueryReader, one_ranked, ordered_by

# (imperative, question, goal) weights per tone
_WEIGHTS = {
    "DIRECT": (0.6, 0.3, 0.1),
    "INTERROGATIVE": (0.0, 1.0, 0.0),
    "ANALYTICAL": (0.55, 0.25, 0.2),
    "AGGREGATE": (0.55, 0.3, 0.15),
    "SPATIAL_SPECIFIC": (0.55, 0.3, 0.15),
    "TEMPORAL": (0.55, 0.3, 0.15),
    "CONDITIONAL": (0.0, 1.0, 0.0),
}
# a planner's goal ("I'd like to study ...") only frames a short body: subject, conditions,
# joins and what is returned in at most this many words; longer ones get a short voice
GOAL_BODY_WORDS = 10
# a body (subject, conditions, joins, what is returned) longer than this has much to say
# already: it gets the shortest frame of its voice ("What are ...", not "Can you tell me
# ..."; "For X, ..." with all its conditions, not "Considering only X, ... among those ...")
LONG_BODY_WORDS = 10
# a question whose body, group filter and ordering would take more than this many words
# says the group filter and the ordering in a short second sentence ("What are ... for
# buildings with ...? Only use types with at least 5 buildings, highest count first."):
# the blind review of the twelfth pass read one sentence that lists every column, filter,
# join and the order as a run-on (natural 2.87)
SPLIT_WORDS = 30
# the most words such a second sentence may take, as counted before it is said
SECOND_WORDS = 20
_LIST_VERBS = {
    "DIRECT": ("List", "Show", "Find", "Get", "Give me"),
    # no "Examine / Review / Look at ..." (the fourteenth pass's blind review: robotic);
    # "Identify" is the corpus's own ("Identify the 10 biggest district heating buildings")
    "ANALYTICAL": ("Identify", "List", "Find", "Show"),
    "AGGREGATE": ("Summarize", "List", "Show"),
    "SPATIAL_SPECIFIC": ("Map", "Locate", "Find", "Show"),
    "TEMPORAL": ("List", "Show", "Find"),
}
_MEASURE_VERBS = {
    "DIRECT": ("Give", "Get", "Show", "Find"),
    "ANALYTICAL": ("Find", "Compute", "Calculate", "Work out"),  # not "Analyze the number of"
    "AGGREGATE": ("Summarize", "Compute", "Calculate", "Total up"),
    "SPATIAL_SPECIFIC": ("Measure", "Compute", "Give"),
    "TEMPORAL": ("Give", "Show", "Compute"),
}
# no "I'd like ..." / "I'd like to study ..." (the fourteenth pass's blind review)
_GOALS = {
    "DIRECT": ("I need", "I want", "Please find", "Please get me"),
    "ANALYTICAL": ("For my analysis I need", "I need", "Please find"),
    "AGGREGATE": ("For a summary I need", "I need", "Summarise for me"),
    "SPATIAL_SPECIFIC": ("For the map I need", "I want to map", "Please map"),
    "TEMPORAL": ("I need", "I want", "Please find"),
}
_ASK_GOALS = ("I want to know", "I need to know", "Find out", "Tell me")
_WHICH = {  # a question about rows, by tone: {h} the noun phrase, {p} its predicate
    "DIRECT": ("Which {h} {p}", "What {h} {p}"),
    "INTERROGATIVE": ("Which {h} {p}", "What {h} {p}"),
    "ANALYTICAL": ("Which {h} {p}", "Among {h}, which {p}"),
    "AGGREGATE": ("Which {h} {p}", "What {h} {p}"),
    "SPATIAL_SPECIFIC": ("Where are the {h} that {p}", "Which {h} {p}"),
    # the rows as recorded, not "currently": no query has a "now"
    "TEMPORAL": ("Which recorded {h} {p}", "Which {h} {p}"),
}


def _determined(head: str) -> bool:
    """Does the noun phrase bring its own determiner ("the first 100 buildings")? Then it
    is not asked with "which": "the first 100 buildings that have ...", never "What the
    first 100 buildings have ..." (the lead's read of the thirteenth pass) nor "Which of
    the first 100 buildings have ..." (the LIMIT before the conditions, unlike the SQL)."""
    return head.startswith(("the ", "any ", "a "))


def _which(head: str, pred: str, what: str = "") -> str:
    """``which <head> <pred>`` (``which <head> are there`` without a predicate); a
    determined head: ``[what] <head> that <pred>``."""
    if _determined(head):
        text = f"{head} that {pred}" if pred else head
        return f"{what} {text}" if what else text
    return f"which {head} {pred}" if pred else f"which {head} are there"


_THERE = {  # the same, when no condition is left to ask with
    "DIRECT": ("Which {n} are there", "Can you list {n}"),
    "INTERROGATIVE": ("Which {n} are there", "What are the {n}", "Could you list {n}"),
    "ANALYTICAL": ("Which {n} are there", "What {n} do we have", "Can you show me the {n}"),
    "AGGREGATE": ("What {n} are there", "Which {n} are recorded", "Can you list {n}"),
    "SPATIAL_SPECIFIC": ("Where are the {n}", "Which {n} are there"),
    "TEMPORAL": ("Which {n} are on record", "Which {n} are recorded"),
}
_WHAT = {  # a question about measures: {R} what is measured, {n} of what
    "DIRECT": ("What {be} {R}{of}{n}", "Can you give me {R}{of}{n}"),
    "INTERROGATIVE": ("What {be} {R}{of}{n}", "Can you tell me {R}{of}{n}"),
    "ANALYTICAL": ("What {be} {R}{of}{n}", "Can you get {R}{of}{n}"),
    "AGGREGATE": (
        "What {be} {R}{of}{n}",
        "Can you total up {R}{of}{n}",
        "Can you summarise {R}{of}{n}",
    ),
    "SPATIAL_SPECIFIC": (
        "What {be} {R}{of}{n}",
        "Can you measure {R}{of}{n}",
        "Can you work out {R}{of}{n}",
    ),
    "TEMPORAL": ("Can you find {R}{of}{n}", "What {be} {R}{of}{n}"),
}
# a long body's question about rows: four words of frame at most ("Can you show me the"
# took five, on the questions that had the most to say already); a tone without such a
# form of its own gets one of these
_THERE_MORE = ("What are the {n}", "Which are the {n}")
# "Where are the {n}" of rows that show no place
_FIND = "Can you find the {n}"
# a question for any N rows, by tone ("Could you locate any 20 buildings ...")
_SAMPLE_ASKS = {
    "DIRECT": ("Can you list", "Could you show me"),
    "ANALYTICAL": ("Could you pull", "Can you list"),
    "AGGREGATE": ("Can you list", "Could you give me"),
    "SPATIAL_SPECIFIC": ("Can you map", "Could you locate"),
    "TEMPORAL": ("Could you find", "Can you list"),
}
# no "Restricting to / Taking only ..." (the fourteenth pass's blind review); the corpus
# says "Considering only lines above 49% loading, ..."
_IF = ("Among", "Considering only", "For", "Of all", "Among")
_IF_SHORT = ("Among", "For")


class Voices:
    def __init__(self, r: QueryReader, reading: Reading, tone: str) -> None:
        self.r = r
        self.g = reading
        self.tone = tone if tone in _WEIGHTS else "DIRECT"
        body = len(f"{self.np()} {self.returns()}".split())
        # the group filter and the ordering said after the question (:meth:`second`)
        self.later: list[str] | None = [] if self._run_on(body) else None
        # the rows' own conditions said after the question when they would make it run on:
        # "List buildings in 'p', showing area and LOD. Only those with height over 20 m
        # and at least 3 floors, largest first."
        self.only = ""
        if self._moves_filters(body):
            g = reading
            who = "those" if not g.aggregate else " ".join([*g.adjectives, g.subject])
            self.only = f"only {who} {self.r.rel_list(g.filters)}"
            g.filters = []
            self.later = self.later if self.later is not None else []
            body = len(f"{self.np()} {self.returns()}".split())
        self.long = body > LONG_BODY_WORDS

    def _moves_filters(self, body: int) -> bool:
        """Whether the rows' conditions go to a second sentence: two or more of them, eight
        words or more, in a question that would run on; not with a group filter (two
        "only"s), a count (its conditions are what it counts) or the CONDITIONAL tone
        (it leads with them)."""
        g = self.g
        if self.tone == "CONDITIONAL" or g.having or g.arms or g.counted or len(g.filters) < 2:
            return False
        if g.counts_only and len(g.returns) == 1:
            return False
        if g.rasters:  # a tile's value "there" needs the place said before it
            return False
        said = len(self.r.rel_list(g.filters).split())
        rest = sum(len(o.noun.split()) + 2 for o in g.order) + (2 if g.limit else 0)
        who = 1 if not g.aggregate else len([*g.adjectives, *g.subject.split()])
        # a second sentence of at most SECOND_WORDS: "Only those ..., largest first."
        if said < 8 or 1 + who + said + rest > SECOND_WORDS:
            return False
        return body + rest + 3 > SPLIT_WORDS

    def _run_on(self, body: int) -> bool:
        """Whether the sentence would run on: the body, the HAVING clauses and the
        order / limit counted (without drawing from the seeded choices)."""
        g = self.g
        if not (g.having or g.order or g.limit) or g.arms:
            return False
        rest = sum(len(c.rel.split()) + 2 for c in g.having)
        rest += sum(len(o.noun.split()) + 2 for o in g.order) + (2 if g.limit else 0)
        return body + rest + 3 > SPLIT_WORDS

    def pick(self, options: tuple[str, ...] | list[str]) -> str:
        return self.r.pick(options)

    # ------------------------------------------------------------------ pieces

    def np(self, context: bool = True) -> str:
        return self.r.noun_phrase(self.g, context=context)

    def head(self) -> tuple[str, str]:
        """(noun phrase without its last filter, that filter as a predicate): ``buildings in
        project 'p'`` + ``have height over 25 m``; the predicate is "" when there is none."""
        g = self.g
        text = " ".join([*g.adjectives, g.subject])
        lead = f"{g.counted} " if g.counted else ""  # "Which 10 LV buses are in service"
        filters = list(g.filters)
        pred = ""
        if filters and not filters[-1].rel.startswith("where "):
            pred = filters.pop().verb
        elif g.context and not filters and not g.links and not g.shaping:
            full = in_context(text, g.context, g.context_form)
            if not full.endswith(g.context):  # "Which baseline buildings are in 'p'"
                noun, _, place = full.partition(" in '")
                return lead + noun, f"are in '{place}"
            pred = "are " + re.sub(r"^for (.*) \((.*)\)$", r"in \1, \2", g.context)
            return lead + text, pred
        text = lead + in_context(text, g.context, g.context_form)
        if filters:
            text += " " + self.r.rel_list(filters)
        if g.shaping:
            text += ", " + ", ".join(g.shaping) + ","
        if pred and g.links:  # "which grid lines, with their source buses, have ..."
            return f"{text}, {self._with_links('').lstrip(', ').strip()},", pred
        return self._with_links(text, not filters and not g.shaping), pred

    def _with_links(self, text: str, bare: bool = False) -> str:
        return with_links(text, self.g.links, bare)

    def where(self) -> str:
        return ", where " + " and ".join(self.g.where) if self.g.where else ""

    def forward(self, R: str) -> bool:
        """Whether ``R`` points at rows not yet named (``the number of lines within 100 m
        of them``, ``the distance to the other bus``): said before the rows ("What are R of
        N") it cannot be parsed (blind review, fifth pass), so the rows come first. So do
        a yes/no value inside a list ("the length and whether the destination bus is in
        service of lines") and a joined table named in a value before its join ("distance
        to the line" of buses "with the lines from them": the lead's read of the fifth
        pass)."""
        if _FORWARD.search(R) or "whether " in R or _READ_AT.search(R):
            # a value read at a place ("bare-earth elevation at (9.2, 45.47)") before the
            # rows says the place before the rows that are there: "Map the minimum
            # surface elevation, surface and bare-earth elevation at (x, y), and ... at that
            # point of DSM tiles intersecting that point" (lead's read, twelfth pass)
            return True
        if re.search(r", plus [^,]*'s [^,]*$", R):
            # another table's value last, as its own: "the DTM tile's minimum" before "for
            # buses" reads as a minimum over the buses
            return True
        joined = " ".join(self.g.links)
        # a joined table's value said as a compound ("bus coordinates", "bus voltage")
        # before the rows reads as the rows' own: "the bus voltage of project scenarios
        # with their buses" (the lead's read of 8c79c29)
        for i in self.g.returns:
            owner = i.owner.removeprefix("the ").split() if i.owner != "their" else []
            if owner and re.search(rf"\b{re.escape(owner[-1])}(?:e?s)?\b", joined):
                return True
        for m in _NAMED.finditer(R):
            head = m[1].split()[-1]
            if re.search(rf"\b{re.escape(head)}(?:e?s)?\b", joined):
                return True
        return False

    def returns(self) -> str:
        return self.r.returns_text(self.g)

    def what(self, R: str) -> str:
        """A question about what is returned: ``What are the R of n``; yes/no values alone
        are asked for directly; a tone's verb only where it fits (totals are totalled,
        measurements measured)."""
        if R.startswith("whether"):
            return f"For {self.np()}, can you tell me {_they(R)}"
        form = self.pick(self.what_forms(R))
        return form.format(be=self.be(), R=self.the(R), of=self.of(R), n=self.np())

    def what_forms(self, R: str) -> list[str]:
        """The tone's "What are ..." forms that fit ``R``; for a long body, those with a
        word of frame at most, the tone's own first ("Can you get ...", "Can you
        find ..."), so that tones still read apart."""
        forms = [f for f in _WHAT.get(self.tone, _WHAT["DIRECT"]) if self.fits(f, R)]
        if self.long:
            short = [f for f in forms if len(f.split()) <= 4]
            own = [f for f in short if f != _WHAT["DIRECT"][0]]
            return own or [_WHAT["DIRECT"][0]]
        return forms or list(_WHAT["DIRECT"])

    def fits(self, phrase: str, R: str) -> bool:
        if "total" in phrase.lower():  # a sum, not a column named "total ..." averaged
            return R.startswith(("total ", "the total ")) or ", total " in R
        if "measure" in phrase.lower():
            return any(w in R for w in ("area", "length", "distance", "perimeter"))
        return True

    def verb(self, options: tuple[str, ...]) -> str:
        R = self.returns()
        return self.pick([v for v in options if self.fits(v, R)] or ["Give"])

    def of(self, R: str) -> str:
        """``the height of buildings``, but ``the bus's voltage for buildings``."""
        return " for " if "'s " in R.split(" of ")[0] else " of "

    def the(self, text: str) -> str:
        return text if text.startswith(("the ", "their ", "whether ")) else "the " + text

    def be(self) -> str:
        n = len(self.g.returns)
        return "are" if n > 1 or " and " in self.returns() else "is"

    def tail(self, skip_limit: bool = False) -> str:
        parts = self.r.tail(self.g, skip_limit)
        if self.later is not None:  # windows stay with the values they compute
            extra = len(self.g.extra)
            self.later += parts[extra:]
            parts = parts[:extra]
        return "".join(", " + t for t in parts)

    def extras(self) -> str:
        return "".join(", " + e for e in self.g.extra)

    def having(self) -> str:
        if not self.g.having:
            return ""
        who = self.g.group_plural or "groups"
        if self.later is not None:
            self.later.insert(0, f"only {who} {self.r.rel_list(self.g.having)}")
            return ""
        return f", {self.pick(('only', 'keeping only'))} {who} {self.r.rel_list(self.g.having)}"

    def second(self, text: str) -> str:
        """A run-on's group filter and ordering, taken out of ``text``, as a short second
        sentence: ``... first? Only use types with at least 5 buildings, highest count
        first.``"""
        if not self.later and not self.only:
            return text
        rest = ", ".join([self.only, *(self.later or [])] if self.only else self.later or [])
        if rest.startswith("by "):  # "Sorted by name.", not a bare "By name."
            rest = f"sorted {rest}"
        end = "" if text.endswith(("?", ".")) else "."
        return f"{text}{end} {rest[0].upper()}{rest[1:]}."

    def per(self) -> str:
        keys = " and ".join(self.g.group)
        if keys.startswith(("the ", "their ")):
            return self.pick((f"per {keys}", f"by {keys}"))
        # "for each" is the lead form ("For each use type, ..."): after the values, one word
        return self.pick((f"per {keys}", f"by {keys}"))

    def goal(self) -> str:
        return self.pick(_GOALS.get(self.tone, _GOALS["DIRECT"]))

    def with_returns(self) -> str:
        if not self.g.returns:
            return ""
        own = all(not i.owner for i in self.g.returns)
        R = self.returns()
        if R.startswith(("whether", "distinct")):
            return f", {self.pick(('showing ', 'including '))}{R}"
        lead = self.pick(("with ", "showing ", "including ") if own else ("showing ", "with "))
        if lead == "with " and self._has_with():
            # not "buses with voltage 0.4 kV, with LOD 0 buildings within 150 m, with
            # distance to the building": a "with" that returns reads as one more condition
            lead = "showing " if own else "including "
        return f", {lead}{R}"

    def _has_with(self) -> bool:
        """Whether the rows' own phrase says a "with" already (a condition or a join); read
        without drawing from the seeded choices (the phrase is said again after)."""
        state = self.r.rng.getstate()
        try:
            return bool(re.search(r"\bwith\b", self.np()))
        finally:
            self.r.rng.setstate(state)

    # ------------------------------------------------------------------ sentences

    def sentence(self) -> str:
        g = self.g
        if g.arms:
            return self.setop()
        w = _WEIGHTS[self.tone]
        x = self.r.rng.random()
        voice = "imperative" if x < w[0] else ("question" if x < w[0] + w[1] else "goal")
        if voice == "goal" and len(f"{self.np()} {self.returns()}".split()) > GOAL_BODY_WORDS:
            voice = "imperative" if w[0] else "question"
        for _ in range(TONES.index(self.tone)):  # one seed: other skeletons in other tones
            self.r.rng.random()
        if self.tone == "CONDITIONAL" and (g.filters or g.context):
            return self.second(self.conditional())
        if g.group:
            shape = self.grouped
        elif g.counts_only and len(g.returns) == 1:
            shape = self.count
        elif g.aggregate:
            shape = self.measures
        else:
            shape = self.listing
        text = shape(voice)
        return self.second(self.frame(text))

    def frame(self, text: str) -> str:
        """The tone's frame around a finished sentence: none. A TEMPORAL question says the
        time the query tests ("built between 1960 and 1980") or asks about the data as it
        is; it no longer opens with "Right now, " / "Currently, " / "As of now, " when the
        query has no time in it (the thirteenth pass's blind review: a time frame the SQL
        does not have)."""
        return text

    def listing(self, voice: str) -> str:
        g, r = self.g, self.r
        R = self.returns()
        if g.limit == "1" and len(g.order) == 1 and not g.offset:
            return self.one(voice, R)
        if _sample(g):  # "Can you list any 10 ...", not "Which any 10 ... are there"
            if voice == "imperative":
                verb = self.pick(_LIST_VERBS.get(self.tone, _LIST_VERBS["DIRECT"]))
                return f"{verb} {self.np()}{self.with_returns()}{self.tail()}"
            ask = self.pick(_SAMPLE_ASKS.get(self.tone, _SAMPLE_ASKS["DIRECT"]))
            return f"{ask} {self.np()}{self.with_returns()}{self.tail()}?"
        top = _top(g)
        lead = self._spatial_lead() if voice != "goal" else ""
        if voice == "imperative":
            verb = self.pick(_LIST_VERBS.get(self.tone, _LIST_VERBS["DIRECT"]))
            if verb == "Show" and g.returns:
                verb = self.pick(("List", "Find"))  # not "Show ..., showing ..."
            if lead:
                return f"{lead}, {verb.lower()} {self.np()}{self.with_returns()}{self.tail()}"
            if top and not g.filters and not g.where and not g.links and r.chance(0.6):
                return (
                    f"{verb} the {top[0]} {self.np()} {top[1]}{self.extras()}{self.with_returns()}"
                )
            if g.limit and not g.order and not g.offset and not g.counted and r.chance(0.5):
                return f"{verb} {g.limit} {self.np()}{self.extras()}{self.with_returns()}"
            if R and r.chance(0.4) and not self.forward(R):
                return f"{verb} {self.the(R)}{self.of(R)}{self.np()}{self.tail()}"
            return f"{verb} {self.np()}{self.with_returns()}{self.tail()}"
        if voice == "question":
            head, pred = self.head()
            if lead:
                body = _which(head, pred, "what are")
                return f"{lead}, {body}{self.where()}{self._then(R, self._and_their)}?"
            if R and (not pred or r.chance(0.35)) and not self.forward(R):
                return f"{self.what(R)}{self.tail()}?"
            # not "Which buildings, and the buses within 100 m of them, intersect ...": a
            # join wedged between the rows and their predicate (blind reviews, fifth and
            # sixth passes); the rows, their conditions and joins said in one piece instead
            if pred and not g.links:
                forms = list(_WHICH.get(self.tone, _WHICH["DIRECT"]))
                if self.long:  # a word of frame at most: "Among {h}, which {p}"
                    forms = [f for f in forms if len(f.split()) <= 4]
                ask = self.pick(forms)
                if ask.startswith("Where") and not g.located:  # "where" asks for a place
                    ask = "Which {h} {p}"
                if ask.startswith("Among") and (R or g.order or g.limit or g.offset or g.extra):
                    # not "Among LOD 1 buildings, which are in 'p', with area, largest
                    # first?": a bare "which" that runs on (the fourteenth pass's review)
                    ask = "Which of the {h} {p}"
                if _determined(head):  # the LIMIT after the conditions, as the SQL has it
                    ask = "What are {h} that {p}"
                text = ask.format(h=head, p=pred)
                return f"{text}{self.where()}{self._then(R, self._and_their)}?"
            forms = list(_THERE.get(self.tone, _THERE["DIRECT"]))
            if not g.located:  # "where" asks for a place the rows do not show
                forms = [_FIND if f.startswith("Where") else f for f in forms]
            if self.long or g.links:  # not "Which lines ..., with X are there": the verb first
                # rows with joins come here too (not "Which X, and the Y, ..."): a tone
                # without a form of its own gets one of three, so tones still read apart
                more = _THERE_MORE[TONES.index(self.tone) % len(_THERE_MORE)]
                forms = [f for f in forms if f.endswith("{n}") and len(f.split()) <= 5] or [more]
            form, np = self.pick(forms), self.np()
            if _determined(np):  # "What are the first 10 ...", not "Which the first 10 ..."
                form = form.replace("the {n}", "{n}")
                form = "What are {n}" if form.startswith(("Which {n}", "What {n}")) else form
            text = form.format(n=np)
            return f"{text}{self._then(R, self._and_their)}?"
        head, pred = self.head()
        if pred and not g.links and r.chance(0.5):
            ask = self.pick(_ASK_GOALS)
            return f"{ask} {_which(head, pred)}{self.where()}{self._then(R, self._with)}"
        goal = self.goal()
        if R and r.chance(0.5) and not self.forward(R):
            return f"{goal} {self.the(R)}{self.of(R)}{self.np()}{self.tail()}"
        some = self.pick(("a list of ", "the ", "all ")) if goal.endswith(("need", "want")) else ""
        np = self.np()
        if _determined(np) and some:
            some = "a list of "  # not "I need the the first 25 buildings"
        return f"{goal} {some}{np}{self.with_returns()}{self.tail()}"

    def one(self, voice: str, R: str) -> str:
        """The one row a LIMIT 1 keeps, as a superlative: ``Which of the buildings in 'p'
        is the tallest, and what are its area and LOD?`` (was "..., only the one with the
        highest height")."""
        g = self.g
        ranked = one_ranked(g.order[0])
        if ranked.startswith("one with "):  # "has the highest volume"
            pred = f"has {ranked.removeprefix('one with ')}"
        elif ranked.startswith(("first ", "last ")):
            pred = f"comes {ranked}"
        elif ranked.startswith(("latest ", "earliest ")):
            pred = f"is the {ranked}"
        elif ranked.startswith(("nearest ", "farthest ")):
            pred = f"is {ranked}"
        else:
            pred = f"is the {ranked}"
        body = f"which of the {self.np()}{self.extras()} {pred}{self.where()}"
        its = ""
        if R:
            plain = not re.search(r"'s |\bwhether\b|\btheir\b|\bthem\b", R)
            if voice == "question":
                its = f", and what {self.be()} its {R}" if plain else f", showing {R}"
            else:
                its = f", and give its {R}" if plain else f", showing {R}"
        if voice == "question":
            return f"{body[0].upper()}{body[1:]}{its}?"
        return f"{self.pick(('Find', 'Show me', 'Tell me'))} {body}{its}"

    def _then(self, R: str, values: Callable[[str], str]) -> str:
        """The values asked for, then the order they come in: "..., showing destination
        bus voltage, sorted by length" (was "..., sorted by length, showing ..."); a limit
        or a window stays by the rows it keeps ("..., top 5 by volume, showing ...")."""
        tail = self.tail()  # drawn first, as before
        said = values(R)
        g = self.g
        if g.limit or g.offset or g.extra:
            return tail + said
        return said + tail

    def _with(self, R: str) -> str:
        return self.with_returns()

    def _and_their(self, R: str) -> str:
        if not R:
            return ""
        if "'s " in R or "whether" in R:
            return f", showing {R}"
        if self.long:  # a body that has much to say already: the values without "their"
            said = self.pick((f", with {R}", f", showing {R}"))
        else:
            said = self.pick((f", with their {R}", f", and their {R}"))
        if said.startswith(", with ") and self._has_with():  # as in with_returns
            said = f", showing {R}" if self.long else f", and their {R}"
        return said

    def theirs(self, R: str) -> str:
        """``their height``, but ``the census zone's section number`` (not "their the ...")."""
        return R if R.startswith(("the ", "their ")) else f"their {R}"

    def count(self, voice: str) -> str:
        r = self.r
        if voice == "imperative":
            verb = "Count" if self.long else self.pick(("Count", "Count the", "Give the number of"))
            return f"{verb} {self.np()}{self.tail()}"
        head, pred = self.head()
        if voice == "question":
            if pred:
                return f"How many {head} {pred}{self.where()}{self.tail()}?"
            return f"How many {self.np()} are there{self.tail()}?"
        if pred and r.chance(0.5):
            return f"{self.pick(_ASK_GOALS)} how many {head} {pred}{self.where()}{self.tail()}"
        return f"{self.goal()} the number of {self.np()}{self.tail()}"

    def measures(self, voice: str) -> str:
        R = self.returns()
        if self.forward(R):  # "For buses ..., what are the average distance to the other bus"
            return self.rows_first(voice, R, "")
        if voice == "imperative":
            verb = self.verb(_MEASURE_VERBS.get(self.tone, _MEASURE_VERBS["DIRECT"]))
            return f"{verb} {self.the(R)}{self.of(R)}{self.np()}{self.tail()}"
        if voice == "question":
            return f"{self.what(R)}{self.tail()}?"
        return f"{self.goal()} {self.the(R)}{self.of(R)}{self.np()}{self.tail()}"

    def grouped(self, voice: str) -> str:
        g, r = self.g, self.r
        R = self.returns()
        count = g.counts_only and len(g.returns) == 1
        if voice == "question" and g.having and g.group_plural and r.chance(0.5):
            pred = " and ".join(c.verb for c in g.having)
            what = "how many there are" if count else f"what {self.be()} {self.theirs(R)}"
            among = "Of all" if self.tone == "TEMPORAL" else "Among"  # tones read apart
            return f"{among} {self.np()}, which {g.group_plural} {pred}, and {what}{self.tail()}?"
        having = self.having()  # said here, or after the question (:meth:`second`)
        if count:
            np = self.np()
            # "Count lines, in 3 k-means clusters, per cluster", not "... clusters per cluster";
            # the grouping set apart from a condition: "Count census zones with total
            # population up to 510, per census enumeration area", not "... up to 510 per
            # census enumeration area" (a bound per area; this pass's read)
            sep = ", " if np.endswith(("clusters", "points)")) or g.filters else " "
            if voice == "imperative":
                return f"Count {np}{sep}{self.per()}{having}{self.tail()}"
            if voice == "question":
                return f"How many {np} are there {self.per()}{having}{self.tail()}?"
            return f"{self.goal()} the number of {np}{sep}{self.per()}{having}{self.tail()}"
        if g.group == [g.singular]:  # grouped by the rows' own identity: one row per group
            return self.each(voice, R, having)
        if self.forward(R):
            return self.rows_first(voice, R, f" {self.per()}{having}")
        if voice == "imperative":
            verb = self.verb(_MEASURE_VERBS.get(self.tone, _MEASURE_VERBS["DIRECT"]))
            if self.tone == "ANALYTICAL" and r.chance(0.5):
                keys = " and ".join(g.group)
                by = ", by" if g.filters else " by"  # not "... at most 3000 by area"
                return f"Break down {self.the(R)} of {self.np()}{by} {keys}{having}{self.tail()}"
            if r.chance(0.4) and not g.group[0].startswith(("the ", "their ")):
                keys = " and ".join(g.group)
                what = f"{verb.lower()} {self.the(R)} of {self.np()}"
                return f"For each {keys}, {what}{having}{self.tail()}"
            return f"{verb} {self._per_for(R)}{having}{self.tail()}"
        if voice == "question":
            if _count_of(R, g.subject) != R:
                what = self.pick(self.what_forms(R)).format(
                    be=self.be(), R=self.the(R), of=" of ", n=self.np()
                )
                return f"{what}, {self.per()}{having}{self.tail()}?"
            return (
                self.pick(self.what_forms(R)).format(
                    be=self.be(), R=f"{self.the(R)} {self.per()}", of=" for ", n=self.np()
                )
                + f"{having}{self.tail()}?"
            )
        return f"{self.goal()} {self._per_for(R)}{having}{self.tail()}"

    def _per_for(self, R: str) -> str:
        """``the R per <keys> for <rows>``; a row count said last beside another total is
        the count of the rows, said before the grouping: "the total buildings built
        before 1918 and count of census zones with ..., per census enumeration area" (was
        "... and count by census enumeration area for census zones with ...": which
        count? the fourteenth pass's blind review)."""
        if _count_of(R, self.g.subject) != R:
            # the grouping set apart: "... of buildings with volume at most 7000 m³, per use
            # type", not "... at most 7000 m³ per use type"
            return f"{self.the(R)} of {self.np()}, {self.per()}"
        return f"{self.the(R)} {self.per()} for {self.np()}"

    def rows_first(self, voice: str, R: str, per: str) -> str:
        """``For <rows>, what are the <R>?``: the rows named before what points at them."""
        lead = f"{self.pick(('For', 'Across', 'Of all'))} {self.np()}, "
        if per.startswith((" per ", " by ")) and re.search(r", plus |\bwhether ", R):
            # the grouping before a list that ends on another table's value or a yes/no:
            # "..., per destination bus, give the count, plus destination bus scenario",
            # not "the count and whether the destination bus is in service, plus
            # destination bus scenario per destination bus number" (eighth pass's review)
            lead, per = f"{lead}per {per.split(' ', 2)[2]}, ", ""
        if voice == "imperative":
            verb = self.verb(_MEASURE_VERBS.get(self.tone, _MEASURE_VERBS["DIRECT"]))
            return f"{lead}{verb.lower()} {self.the(R)}{per}{self.tail()}"
        if voice == "question":
            return f"{lead}what {self.be()} {self.the(R)}{per}{self.tail()}?"
        return f"{lead}{_lower_first(self.goal())} {self.the(R)}{per}{self.tail()}"

    def each(self, voice: str, R: str, having: str) -> str:
        """``Compute the total length for each of the grid lines with ...``."""
        what = f"{self.the(R)} for each of the {self.np()}{having}{self.tail()}"
        if voice == "imperative":
            return f"{self.verb(_MEASURE_VERBS.get(self.tone, _MEASURE_VERBS['DIRECT']))} {what}"
        if voice == "question":
            return f"What {self.be()} {what}?"
        return f"{self.goal()} {what}"

    # ------------------------------------------------------------------ tone frames

    def conditional(self) -> str:
        """``If we only look at <subject and the first half of its conditions>, <a question
        about the rest>?``"""
        g = self.g
        filters = list(g.filters)
        cond = in_context(" ".join([*g.adjectives, g.subject]), g.context, g.context_form)
        if g.counted and not _sample(g):
            cond = f"{g.counted} {cond}"
        elif g.counted:  # not "Among any 10 buildings with ...": the LIMIT comes last
            return f"{self._conditional(filters, cond)} {_upper_first(g.counted)} will do."
        return self._conditional(filters, cond)

    def _conditional(self, filters: list[Clause], cond: str) -> str:
        g, r = self.g, self.r
        k = len(filters) // 2 if g.context else max(1, len(filters) // 2)
        if self.long:  # "For X with A and B, what ...": not "... among those with B"
            k = len(filters)
        first, rest = filters[:k], filters[k:]
        if first:
            cond += " " + r.rel_list(first)
        if g.shaping:
            cond += ", " + ", ".join(g.shaping)
        cond = self._with_links(cond, not first and not g.shaping)
        lead = f"{self.pick(_IF_SHORT if self.long else _IF)} {cond}, "
        R = self.returns()
        tail = self.tail()
        rest_rel = (" " + r.rel_list(rest)) if rest else ""
        rest_pred = " and ".join(c.verb for c in rest)
        if g.group:
            what = (
                "how many are there"
                if g.counts_only and len(g.returns) == 1
                else f"what {self.be()} the {R}"
            )
            among = f" among those{rest_rel}" if rest else ""
            if not rest and re.search(r", plus |\bwhether ", R):  # as in rows_first
                per = "per " + self.per().split(" ", 1)[1]  # a lead "by X, ..." reads odd
                return f"{lead}{per}, {what}{self.having()}{tail}?"
            return f"{lead}{what} {self.per()}{among}{self.having()}{tail}?"
        if g.counts_only and len(g.returns) == 1:
            return f"{lead}how many {rest_pred or 'are there'}{self.where()}{tail}?"
        if g.aggregate:
            among = f" for those{rest_rel}" if rest else ""
            return f"{lead}what {self.be()} the {R}{among}{self.where()}{tail}?"
        if rest_pred:
            # the values and the order in a second sentence: "Among proposed catasto
            # buildings in 'p', which have a heating system? Show their perimeter, tallest
            # first." (was "Taking only ..., which have a heating system, and their
            # perimeter, tallest first?": a bare "which" that runs on, the fourteenth
            # pass's blind review)
            ask = f"{lead}which {rest_pred}{self.where()}?"
            more = _show_them(R, tail)
            return f"{ask} {more}" if more else ask
        if R.startswith("whether"):  # not "what are their whether they have ..."
            return f"{lead}can you tell me {_they(R)}{self.where()}{tail}?"
        if R:
            return f"{lead}what {self.be()} {self.theirs(R)}{self.where()}{tail}?"
        if _determined(cond):  # "What are the first 10 census zones ...?"
            return f"What are {cond}{self.where()}{tail}?"
        if ", " in cond:  # not "Which buses in service, with their lines are there"
            return f"What are the {cond}{self.where()}{tail}?"
        return f"Which {cond} are there{self.where()}{tail}?"  # not "Among ..., which are they"

    def _spatial_lead(self) -> str:
        """SPATIAL_SPECIFIC may open with the spatial condition: ``Within 500 m of ...``."""
        g = self.g
        if self.tone != "SPATIAL_SPECIFIC" or not self.r.chance(0.5):
            return ""
        for i, c in enumerate(g.filters):
            if c.spatial and c.rel.startswith(("within ", "intersecting ", "inside ", "touching ")):
                g.filters = g.filters[:i] + g.filters[i + 1 :]
                return c.rel[0].upper() + c.rel[1:]
        return ""

    # ------------------------------------------------------------------ set operations

    def setop(self) -> str:
        r, g = self.r, self.g
        arms = []
        same = len({r.returns_text(a) for _, a in g.arms}) == 1
        for op, arm in g.arms:
            np = r.noun_phrase(arm)
            word = _SETOP_WORDS.get(op, "and") if op else ""
            R = r.returns_text(arm)
            if same and op:
                arms.append(
                    f"{word} of {np}"
                    if word in ("and", "and, without duplicates,")
                    else f"{word} {np}"
                )
            else:
                text = f"the {R} of {np}" if R else np
                arms.append(f"{word} {text}".strip())
        body = " ".join(arms) + self.tail()
        if self.tone in ("INTERROGATIVE", "CONDITIONAL"):
            return f"What are {body}?"
        verb = {
            "ANALYTICAL": ("Compare", "Analyze"),
            "AGGREGATE": ("Summarize", "Report"),
            "SPATIAL_SPECIFIC": ("Map", "Show"),
        }.get(self.tone, ("List", "Show", "Give"))
        return f"{self.pick(verb)} {body}"


_SETOP_WORDS = {
    "UNION ALL": "and",
    "UNION": "and, without duplicates,",
    "INTERSECT": "that also appear among",
    "INTERSECT ALL": "that also appear among",
    "EXCEPT": "except those among",
    "EXCEPT ALL": "except those among",
}


def _top(g: Reading) -> tuple[str, str] | None:
    """(``top 10``, ``by height``) when the query asks for the first N by one value."""
    if not g.limit or len(g.order) != 1 or g.offset or g.limit == "1":
        return None
    o = replace(g.order[0], noun=ordered_by(g.order[0].noun))
    if o.distance:
        return (g.limit, f"{'farthest from' if o.descending else 'nearest to'} {o.distance}")
    if o.noun in SUPERLATIVES:  # "the 10 tallest buildings"
        return (f"{g.limit} {SUPERLATIVES[o.noun][0 if o.descending else 1]}", "")
    if o.text:  # a name is not low or high: "the first 50 ... by name"
        return (f"{'last' if o.descending else 'first'} {g.limit}", f"by {o.noun}")
    if o.descending:
        return (f"top {g.limit}", f"by {o.noun}")
    return (g.limit, f"with the lowest {o.noun}")


_FORWARD = re.compile(r"\b(them|they|their|the other)\b")
_READ_AT = re.compile(r"\bat (?:\(|that point\b|the point\b)|\bthere\b")
# a value that names another thing: "distance to the line", "the bus's voltage"
# (two words at most, never a list's "and": "distance to the line and LOD" names lines)
_NAMED = re.compile(r"\b(?:to|from|at|of) the ([a-z]+(?: (?!(?:and|or|plus|per|by)\b)[a-z]+)?)")


def _sample(g: Reading) -> bool:
    """Whether the rows are any N of them (a LIMIT without an ORDER BY)."""
    return g.counted.startswith(("any ", "a sample of "))


def _count_of(R: str, subject: str) -> str:
    """``R`` with a row count said last, beside another total, named: "the total
    buildings built before 1918 and number of census zones"; ``R`` itself otherwise.
    Asked only whether it changes: such a count said before the rows and their grouping
    reads as anything's ("... and count by census enumeration area for census zones":
    which count? the fourteenth pass's blind review), so :meth:`Voices._per_for` says
    the rows first. After the rows ("For census zones ..., what are the total families
    and count?") the count is theirs."""
    if not re.search(r"\b(?:number of|total) ", R) or not re.search(r"(?:, | and )count$", R):
        return R
    return f"{R.removesuffix('count')}number of {subject}"


def _show_them(R: str, tail: str) -> str:
    """What rows a "which" question picked show, and in what order, as a sentence: "Show
    their perimeter, tallest first.", "Give the top 10 by volume.", "List them by name.";
    "" when there is nothing to show or order."""
    if R:
        said = _they(R) if R.startswith(("whether", "the ", "their ")) else f"their {R}"
        return f"Show {said}{tail}."
    order = tail.removeprefix(", ")
    if not order:
        return ""
    if re.match(r"(?:top|bottom|first|last) \d", order):
        return f"Give the {order}."
    if order.startswith("the "):
        return f"Give {order}."
    return f"List them {order}."


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _they(R: str) -> str:
    """A yes/no value asked for on its own is a clause: "can you tell me whether they are
    in service", not "... whether in service" (a list's short form)."""
    return re.sub(r"^whether (in|on|out of|under) ", r"whether they are \1 ", R)


def _lower_first(text: str) -> str:
    if text[:2] == "I " or text[:2] == "I'" or not text[1:2].islower():
        return text
    return text[0].lower() + text[1:]


# a point ``(9.19, 45.47, SRID 4326)`` or a box ``the box (9.1, 45.4, 9.2, 45.5, SRID 4326)``
_PLACE = re.compile(r"(?:the box )?\((?:-?\d+(?:\.\d+)?, ){1,3}-?\d+(?:\.\d+)?(?:, SRID \d+)?\)")


def say_once(text: str) -> str:
    """A point or box the question names more than once is written out the first time and
    then called ``that point`` / ``that box`` (a raster query reads its point in the
    filter, the join and the value: people say the coordinates once). Only when the
    question names one point (one box): with two, "that point" would not say which."""
    places = _PLACE.findall(text)
    for kind in ("point", "box"):
        same = {p for p in places if p.startswith("the box") == (kind == "box")}
        if len(same) != 1:
            continue
        place = same.pop()
        first = text.index(place) + len(place)
        text = text[:first] + text[first:].replace(place, f"that {kind}")
    return text


# a project and scenario: "in 'p', scenario 's'" / "in project 'p', scenario 's'"
_SCENARIO = re.compile(r"in (?:project )?'[^']*', scenario '[^']*'")
_SCENARIO_PARTS = re.compile(r"in (?:project )?('[^']*'), scenario '([a-z]{3,})'")


def same_scenario(text: str) -> str:
    """The same project and scenario named again (a subquery's average over the rows'
    own scenario) is ``in that scenario``: "below the average height of buildings in that
    scenario", not the two names twice; the first may be the short form ("baseline
    buildings in 'p' ... of buildings in that scenario")."""
    found = _SCENARIO.findall(text)
    if not found or len(set(found)) != 1:
        return text
    short = _SCENARIO_PARTS.fullmatch(found[0])
    first = text.index(found[0]) + len(found[0])
    if short and len(found) == 1:  # said before as "<scenario> ... in '<project>'"?
        before = text[: text.index(found[0])]
        p, s = re.escape(short[1]), re.escape(short[2])
        said = re.search(rf"\b{s} [^,]*\bin {p}|\bin {p} \({s}\)", before)
        if not said:
            return text
        first = 0
    elif len(found) < 2:
        return text
    return text[:first] + text[first:].replace(found[0], "in that scenario")


# a value read at a place: "the raster's value at their centroid", "elevation at that point"
_AT_PLACE = re.compile(
    r" at (that point|them|their (?:[a-z-]+ )*?(?:centroid|centre point))(?=[,?.]|$| and | plus )"
)


def said_there(text: str) -> str:
    """Values read at the place a join or condition has just named are read ``there``:
    "the DSM tiles intersecting their centroid, showing the raster's value there", not
    "... value at their centroid" again. Only when every value is read at that one place
    (with two, "there" would not say which) and the place was named by ``intersecting``
    or ``containing`` (the rows or tiles at it) before the first value."""
    places = {m[1] for m in _AT_PLACE.finditer(text)}
    if len(places) != 1:
        return text
    place = places.pop()
    first = _AT_PLACE.search(text)
    assert first is not None
    before = text[: first.start()]
    named = rf"\b(?:intersecting|containing|under) {re.escape(place)}\b"
    if place == "that point":  # said once in full, then "that point" (:func:`say_once`)
        named = r"\b(?:intersecting|containing|under) (?:that point\b|\(-?\d)"
    if not re.search(named, before):
        return text
    return text[: first.start()] + _AT_PLACE.sub(" there", text[first.start() :])


# a value compared with its own average over the rows' scenario: "with height below the
# average height of buildings in that scenario"
_SCENARIO_AVERAGE = re.compile(
    r"\b(with|have|has) ([a-z][a-z -]*?) (above|below|under|over|at least|at most|up to) "
    r"the (average )?\2 of ([a-z][a-z ]*?) in that scenario\b"
)


_BUILT_AVERAGE = re.compile(
    r"\bbuilt ((?:in or )?(?:after|before)) the average ([a-z ]+?) of ([a-z][a-z ]*?) "
    r"in that scenario\b"
)


def scenario_average(text: str) -> str:
    """A value compared with its average over the rows' own scenario says that average
    briefly: "buildings in 'p' (baseline) with height below that scenario's average" (was
    "... below the average height of buildings in that scenario": the value and the rows
    said twice). Only when those rows are the ones the question is about (named before)."""

    def brief(m: re.Match[str]) -> str:
        averaged = m[4] or m[2].startswith("average ")  # "the average ground elevation"
        if not averaged or not re.search(rf"\b{re.escape(m[5])}\b", text[: m.start()]):
            return m[0]
        return f"{m[1]} {m[2]} {m[3]} that scenario's average"

    def built(m: re.Match[str]) -> str:  # "built after that scenario's average year"
        if not re.search(rf"\b{re.escape(m[3])}\b", text[: m.start()]):
            return m[0]
        return f"built {m[1]} that scenario's average {m[2]}"

    return _BUILT_AVERAGE.sub(built, _SCENARIO_AVERAGE.sub(brief, text))


# a value of the thing just named by a distance: "distance to the other census zone, plus
# the other census zone's occupied housing units"
_ITS = re.compile(r"\b(to|from) the ([a-z][a-z -]*?), plus the \2's ")


def said_its(text: str) -> str:
    """Another row's value right after the distance to it is ``its`` value: "showing
    distance to the other census zone and its occupied housing units", not "..., plus the
    other census zone's occupied housing units" (the same noun three times in one
    question: the thirteenth pass's blind review).

    >>> said_its("zones, showing distance to the other zone, plus the other zone's area?")
    'zones, showing distance to the other zone and its area?'
    """
    return _ITS.sub(lambda m: f"{m[1]} the {m[2]} and its ", text)


def finish(text: str) -> str:
    """Spaces, capital, end mark; a repeated point or box said once (:func:`say_once`),
    the same for a project and scenario (:func:`same_scenario`), values read at a place
    just named read ``there`` (:func:`said_there`), the value of a row a distance has just
    named ``its`` (:func:`said_its`)."""
    text = said_there(scenario_average(same_scenario(say_once(" ".join(text.split())))))
    text = said_its(text)
    text = text.replace(" ,", ",").replace(",,", ",").replace(", ,", ",").replace(" ?", "?")
    text = text[0].upper() + text[1:] if text else text
    if not text.endswith(("?", ".")):
        text += "."
    return text


ShapeFn = Callable[[str], str]
__all__ = ["Clause", "Voices", "finish"]
