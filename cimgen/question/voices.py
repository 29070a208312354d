"""Tone templates: each arranges the :class:`~cimgen.question.base.Parts` of a query
into one sentence (see the tone table in docs/questions.md)."""

from __future__ import annotations

from cimgen.question.base import Parts, join_words, the
from cimgen.question.reading import Reader

# --------------------------------------------------------------------------- tone templates


def _tail(parts: Parts, *names: str) -> str:
    return "".join(", " + getattr(parts, n) for n in names if getattr(parts, n))


def _direct(r: Reader, p: Parts, verb: str | None = None, of_form: bool = False) -> str:
    verb = verb or r.pick(("List", "Find", "Show", "Retrieve", "Get"))
    scope = r.scope_phrase(p)
    returns = the(("distinct " if p.distinct else "") + join_words(p.returns)) if p.returns else ""
    if p.aggregate:
        return f"{verb} {returns}{(' ' + p.group) if p.group else ''} for {scope}" + _tail(
            p, "window", "having", "order", "limit"
        )
    if p.top and r.rng.random() < 0.5:
        shown = _tail(p, "window") + (f", showing {returns}" if returns else "")
        if scope == p.subject:
            return f"{verb} {_top_form(p.top, scope)}{shown}"
        # "the 10 <subject, filters> with the highest x" leaves "with ..." ambiguous
        return f"Among {scope}, {verb.lower()} {p.top}{shown}"
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


def _interrogative(r: Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    returns = join_words(p.returns)
    if p.counts_only and len(p.measures) == 1 and p.returns == p.measures:
        return (
            f"How many {scope} are there{(' ' + p.group) if p.group else ''}"
            + _tail(p, "window", "having", "order", "limit")
            + "?"
        )
    if p.aggregate:
        be = "are" if len(p.returns) > 1 else "is"
        return (
            f"What {be} {the(returns)}{(' ' + p.group) if p.group else ''} for {scope}"
            + _tail(p, "window", "having", "order", "limit")
            + "?"
        )
    if r.rng.random() < 0.5 or not returns:
        tail = _tail(p, "window", "order", "limit")
        return f"Which {scope} are there{tail}" + (
            f", and what are their {returns}?" if returns else "?"
        )
    return f"What are {the(returns)} of {scope}" + _tail(p, "window", "order", "limit") + "?"


def _analytical(r: Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    returns = the(join_words(p.returns)) if p.returns else "the records"
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


def _aggregate(r: Reader, p: Parts) -> str:
    scope = r.scope_phrase(p)
    group = (" " + p.group) if p.group else ""
    if p.counts_only and p.returns == p.measures and len(p.measures) == 1:
        return f"Count the {scope}{group}" + _tail(p, "window", "having", "order", "limit")
    returns = the(join_words(p.returns)) if p.returns else "the records"
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


def _spatial(r: Reader, p: Parts) -> str:
    if not any(p.spatial) and not p.spatial_join:
        if any(
            m
            for m in p.measures
            if any(w in m for w in ("area", "distance", "length", "perimeter", "buffer"))
        ):
            return _direct(r, p, r.pick(("Measure", "Compute")), of_form=True)
        return _direct(r, p, r.pick(("Locate", "Map")))
    scope = r.scope_phrase(p, spatial_first=True)
    returns = the(join_words(p.returns)) if p.returns else ""
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


def _temporal(r: Reader, p: Parts) -> str:
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


def _conditional(r: Reader, p: Parts) -> str:
    returns = the(join_words(p.returns)) if p.returns else "the records"
    be = "are" if len(p.returns) > 1 or not p.aggregate else "is"
    group = (" " + p.group) if p.group else ""
    tail = _tail(p, "window", "having", "order", "limit")
    who = r.scope_phrase(Parts(subject=p.subject, joins=p.joins, with_their=p.with_their))
    if not p.filters:
        return f"If we consider all {who}, what {be} {returns}{group}{tail}?"
    k = max(1, len(p.filters) // 2)
    cond, rest = join_words(p.filters[:k]), join_words(p.filters[k:])
    head = r.pick(("If we only consider", "Considering only", "Restricting to"))
    if p.aggregate:
        those = f", among those {rest}" if rest else ""
        return f"{head} {who} {cond}{those}, what {be} {returns}{group}{tail}?"
    those = f" of those {rest}" if rest else ""
    return f"{head} {who} {cond}, what {be} {returns}{those}{tail}?"


TONE_TEMPLATES = {
    "DIRECT": lambda r, p: _direct(r, p),
    "INTERROGATIVE": _interrogative,
    "ANALYTICAL": _analytical,
    "AGGREGATE": _aggregate,
    "SPATIAL_SPECIFIC": _spatial,
    "TEMPORAL": _temporal,
    "CONDITIONAL": _conditional,
}


def setop_sentence(r: Reader, p: Parts, tone: str) -> str:
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


def finish(text: str) -> str:
    text = " ".join(text.split())
    text = text.replace(" ,", ",").replace(",,", ",")
    text = text[0].upper() + text[1:] if text else text
    if not text.endswith(("?", ".")):
        text += "."
    return text
