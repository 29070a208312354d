"""How often questions read like a chain of clauses rather than one sentence an analyst writes.

For each ``dataset.jsonl`` given (from ``cimgen generate``), or the bundled Stage 1 corpus
(``--stage1 N``: N questions drawn with ``random.Random(14)``), it counts the questions that
show each pattern the blind review of the thirteenth pass marked as unnatural (issue 14):

* ``with-chain``: three or more ``with`` phrases in one sentence ("buses ... with their
  outgoing lines with maximum loading below 54%, ...");
* ``comma-chain``: a leading ``For / Among / Taking / Considering / Looking at / Restricting``
  phrase that itself holds two or more commas before the question starts ("Taking buildings
  within 750 m of (...), with buses in 'p' within 150 m, with the lines from the bus, what
  ...");
* ``with-with``: a ``with`` phrase naming other rows directly followed by ``with`` (or
  ``among``) and a condition, so the condition hangs off the nearest noun ("with their
  outgoing lines with maximum loading below 54%");
* ``among-the``: a membership said as ``among the <column> of <rows>`` ("buildings among the
  building ID of cached heights with ...");
* ``repeated-noun``: a noun of two words (``census zone``, ``other census zone``) said three
  or more times;
* ``tone-prefix``: a time frame the query does not have ("Right now, ", "Currently, ", "As
  of now, ", "Now, ");
* ``scenario-tag``: the scenario said as a bracketed tag after the project ("in 'p'
  (baseline)"), or ``scenario 's'`` beside ``in 'p'``: counted, not a defect by itself;
* ``long``: a first sentence over 30 words;

and those the blind review of the fourteenth pass marked (natural 2.87; the fifteenth pass):

* ``robotic-opener``: a frame no analyst writes ("Examine ...", "Look at ...", "Review
  ...", "Taking ...", "Restricting to ...", "I'd like ...", "Can you analyse the number of
  ...", "Analyze the count ...");
* ``schema-leak``: a storage word of the schema said as a thing ("buildings that have a
  cached height with calculated height at least 30 m", "the cached height's average
  ground elevation");
* ``garbled-which``: a leading restriction then a bare ``which <verb>`` that runs on into
  more of the question ("Restricting to buildings in 'p', which have a heating system,
  highest volume first?");
* ``count-beside-number``: a bare ``count`` after another "number of" or total, said
  before its grouping and the rows it counts: which count? ("the total number of
  buildings built before 1918 and count by census enumeration area for census zones");
* ``stray-now``: ``currently`` / ``now`` where no query has a time frame;
* ``over-40``: a whole question over 40 words;
* ``key-join``: a join said by its key columns ("the buses where their from bus ID is the
  bus ID": a DDL relation that names the project and scenario too, foreign world);
* ``per-after-bound``: a grouping right after a condition's number, read as the bound's
  ("Count census zones with total population up to 510 per census enumeration area");
  a limit's "top 10 by volume" is not one.

It also prints the mean number of clause pieces of a first sentence (its commas outside a
point or box, and its ``with`` phrases, plus one) and of ``with`` per question.

A question can show several patterns; ``any`` counts the questions with at least one of
the defects (all but ``scenario-tag``). With ``--reask``, each row's PostGIS SQL is asked
again with the code checked out now (row tone, seed = the row's index, as
``bench_question_lengths.py`` does), so a wording change is measured on the same queries
without generating again.

    python benchmarks/bench_question_style.py /tmp/c451-s0/dataset.jsonl --reask --stage1 300
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

_LEADS = r"(?:For|Among|Taking|Considering only|Looking at|Restricting to|Taking only)"
_ASK = r", (?:what|which|how|can|could|is|are|do|does|I|give|list|show|find|count|get)\b"
_STOP = {
    "the", "a", "an", "of", "in", "with", "and", "or", "to", "by", "for", "their", "its",
    "that", "than", "at", "on", "from", "per", "is", "are", "what", "which", "first", "m",
    "within", "showing", "plus", "any", "only", "those", "them", "they", "each", "there",
}  # fmt: skip
_LINKED = re.compile(
    r"\bwith (?:their|the|intersecting|nearby|other|[a-z]+ing) [a-z -]+?"
    r"(?:lines|buses|buildings|zones|tiles|heights|scenarios|properties|areas)"
    r" (?:with|among) (?!their\b|the\b)"
)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?])\s+(?=[A-Z])", text) if s]


def with_chain(q: str) -> bool:
    return any(len(re.findall(r"\bwith\b", s)) >= 3 for s in sentences(q))


def comma_chain(q: str) -> bool:
    m = re.match(rf"{_LEADS} (.*?){_ASK}", sentences(q)[0])
    # a point's or a box's own commas are no clause: "(9.18, 45.48)"
    return bool(m) and re.sub(r"\([^)]*\)", "()", m[1]).count(", ") >= 2  # type: ignore[index]


def with_with(q: str) -> bool:
    return bool(_LINKED.search(q))


def among_the(q: str) -> bool:
    return bool(re.search(r"\bamong the [a-zA-Z -]+ of ", q))


def repeated_noun(q: str) -> bool:
    words = re.findall(r"[a-z]+", q.lower())
    pairs = Counter(f"{a} {b}" for a, b in itertools.pairwise(words) if {a, b}.isdisjoint(_STOP))
    return any(n >= 3 for n in pairs.values())


def tone_prefix(q: str) -> bool:
    return q.startswith(("Right now", "Currently, ", "As of now", "Now, "))


def scenario_tag(q: str) -> bool:
    return bool(re.search(r"in (?:project )?'[^']*' \([a-z_]+\)|, scenario '", q))


def long(q: str) -> bool:
    return len(sentences(q)[0].split()) > 30


_ROBOTIC = re.compile(
    r"^(?:Examine|Look at|Looking at|Review|Taking|Restricting to|I'd like"
    r"|Can you analy[sz]e|Analy[sz]e the (?:number|count|total number))\b"
)


def robotic_opener(q: str) -> bool:
    return bool(_ROBOTIC.match(q))


def schema_leak(q: str) -> bool:
    # the storage table as a thing that owns values; the corpus's own "cached raster
    # height" / "how do cached heights compare" is a value, not a leak
    return bool(re.search(r"\bcached heights?(?:'s| with| in| among| calculation)\b", q))


_GARBLED = re.compile(
    rf"^{_LEADS} [^?]*?, which (?:are|is|have|has|lie|intersect|contain|touch|were|was)\b"
    r"[^?]*?, [^?]*\?"
)


def garbled_which(q: str) -> bool:
    return bool(_GARBLED.match(sentences(q)[0]))


def count_beside_number(q: str) -> bool:
    # "count of buildings" names what it counts; "... and count per use type" does not
    # after the rows are named ("For census zones ..., what are the total families and
    # count?") the count is theirs; before them ("... count by area for census zones") not
    return bool(
        re.search(r"\b(?:number of|total) [^?.]*?(?:,| and) count (?:per|by) [^?.]*\bfor\b", q)
    )


def stray_now(q: str) -> bool:
    return bool(re.search(r"\b(?:currently|now)\b", q, re.IGNORECASE))


def over_40(q: str) -> bool:
    return len(q.split()) > 40


_BOUND_PER = re.compile(r"\b(\w+) \d+(?:\.\d+)?(?: ?(?:m|m²|m³|%|km|kV))? (?:per|by) [a-z]")
_RANKS = {
    "top",
    "bottom",
    "first",
    "last",
    "lowest",
    "highest",
    "latest",
    "earliest",
    "any",
    "only",
}


def per_after_bound(q: str) -> bool:
    return any(m[1].lower() not in _RANKS for m in _BOUND_PER.finditer(q))


def key_join(q: str) -> bool:
    return bool(re.search(r"\bwhere (?:the|their) [a-z ]*\b(?:ID|number)\b", q))


PATTERNS: dict[str, Callable[[str], bool]] = {
    "with-chain": with_chain,
    "comma-chain": comma_chain,
    "with-with": with_with,
    "among-the": among_the,
    "repeated-noun": repeated_noun,
    "tone-prefix": tone_prefix,
    "long": long,
    "robotic-opener": robotic_opener,
    "schema-leak": schema_leak,
    "garbled-which": garbled_which,
    "count-beside-number": count_beside_number,
    "stray-now": stray_now,
    "over-40": over_40,
    "key-join": key_join,
    "per-after-bound": per_after_bound,
    "scenario-tag": scenario_tag,
}
DEFECTS = [k for k in PATTERNS if k != "scenario-tag"]


def counts(questions: list[str]) -> dict[str, int]:
    out = {k: sum(f(q) for q in questions) for k, f in PATTERNS.items()}
    out["any"] = sum(any(PATTERNS[k](q) for k in DEFECTS) for q in questions)
    return out


def reask(rows: list[dict[str, str]], schema_name: str) -> list[str]:
    from cimgen.grammar import parse
    from cimgen.question import ask
    from cimgen.schema.load import load_schema

    schema = load_schema(schema_name)
    return [
        ask(parse(r["sql_postgis"]), schema, r.get("question_tone", "DIRECT"), i)
        for i, r in enumerate(rows)
    ]


def stage1(n: int) -> list[str]:
    path = Path(__file__).resolve().parents[1] / "cimgen" / "data" / "stage1_demo.jsonl.gz"
    with gzip.open(path, "rt") as f:
        rows = [json.loads(line)["question"] for line in f]
    return random.Random(14).sample(rows, min(n, len(rows)))


def pieces(q: str) -> int:
    """Clause pieces of the first sentence: its commas (outside a point or a box) and its
    ``with`` phrases, plus one."""
    first = re.sub(r"\([^)]*\)", "()", sentences(q)[0])
    return 1 + first.count(", ") + len(re.findall(r"\bwith\b", first))


def show(name: str, questions: list[str], examples: int) -> None:
    c = counts(questions)
    n = max(1, len(questions))
    cells = ", ".join(f"{k} {v} ({100 * v / n:.1f} %)" for k, v in c.items())
    mean = sum(pieces(q) for q in questions) / n
    withs = sum(len(re.findall(r"\bwith\b", q)) for q in questions) / n
    print(f"{name} (n {len(questions)}): {cells}; mean pieces {mean:.2f}, 'with' {withs:.2f}")
    for k in DEFECTS[: examples and len(DEFECTS)]:
        hits = [q for q in questions if PATTERNS[k](q)][:examples]
        for q in hits:
            print(f"    [{k}] {q}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("datasets", nargs="*", type=Path, help="dataset.jsonl files")
    ap.add_argument("--schema", default="cim_wizard", help="the datasets' schema")
    ap.add_argument("--reask", action="store_true", help="also ask each row's SQL again now")
    ap.add_argument("--stage1", type=int, default=0, help="also N Stage 1 demo questions")
    ap.add_argument("--examples", type=int, default=0, help="print N examples per pattern")
    args = ap.parse_args()
    for path in args.datasets:
        rows = [json.loads(line) for line in path.open()]
        show(f"{path} as written", [r["question"] for r in rows], args.examples)
        if args.reask:
            show(f"{path} asked now", reask(rows, args.schema), args.examples)
    if args.stage1:
        show("Stage 1 demo corpus", stage1(args.stage1), args.examples)


if __name__ == "__main__":
    main()
