"""Where a question's words go: lengths of a dataset's questions, and words per part.

For each ``dataset.jsonl`` given (from ``cimgen generate``) it prints the length of its own
questions (words split on white space: median, 90th percentile, mean, max), then asks each
row's PostGIS SQL again with the code checked out now (the two steps of
``cimgen.question.ask``, :func:`~cimgen.question.read` and :func:`~cimgen.question.say`, the
row's tone, seed = the row's index) and splits those questions into parts, mean words per
question:

* ``returns``: what is returned (:meth:`QueryReader.returns_text`),
* ``conditions``: the subject's adjectives and clauses, the HAVING clauses, cross-table
  conditions,
* ``order/limit``: the ordering, limit and windows tail,
* ``joins``: the joined tables (links),
* ``context``: the project / scenario phrase,
* ``grouping``: the grouping keys,
* ``frame``: everything else (verbs, "Which ... are there", "I'd like to study", "for",
  "of", "per"): the question's length minus the parts above, at least 0.

The parts are read off the :class:`~cimgen.question.base.Reading` the question was arranged
from, so they count what each part *would* say in full; a voice that drops or folds a part
(``top 10 by height`` for a returned height) shows up as a smaller ``frame``. The re-asked
questions' lengths are printed too: asking again lets a phrasing change be measured on the
same queries without generating again (the SQL read back is the rendered query, so its
questions are close to, not the same as, the dataset's own).

    python benchmarks/bench_question_lengths.py /tmp/q3/gc/dataset.jsonl /tmp/q3/ctgan/dataset.jsonl

``--longest 20`` also prints the 20 longest re-asked questions with their parts' words.
"""

from __future__ import annotations

import argparse
import copy
import math
import re
import statistics
from pathlib import Path
from typing import Any

PARTS = ("returns", "conditions", "order/limit", "joins", "context", "grouping", "frame")


def figures(words: list[int]) -> str:
    if not words:
        return "no questions"
    w = sorted(words)
    n = len(w)
    median = w[n // 2] if n % 2 else (w[n // 2 - 1] + w[n // 2]) / 2
    p90 = w[min(n - 1, math.ceil(0.9 * n) - 1)]
    p95 = w[min(n - 1, math.ceil(0.95 * n) - 1)]
    mean = statistics.fmean(w)
    return f"n {n}, median {median}, p90 {p90}, p95 {p95}, mean {mean:.1f}, max {w[-1]}"


def count(text: str) -> int:
    return len(text.split())


def sentences(text: str) -> list[str]:
    """A question's sentences: a long one may say its order or its group filter in a short
    second sentence ("...? Only use types with at least 5 buildings, highest count first.")."""
    return [s for s in re.split(r"(?<=[.?])\s+(?=[A-Z])", text) if s]


def split(sql: str, schema: Any, tone: str, seed: int) -> tuple[str, dict[str, int]]:
    """The question for ``sql`` (as :func:`cimgen.question.ask` says it) and its parts."""
    from cimgen.grammar import parse
    from cimgen.question import read, say
    from cimgen.question.base import in_context

    reader, reading = read(parse(sql), schema, seed)
    g = copy.deepcopy(reading)  # the voices may take a clause out of the reading
    question = say(reader, reading, tone)
    conditions = " ".join(g.adjectives) + " " + (reader.rel_list(g.filters) if g.filters else "")
    conditions += " " + " ".join(c.rel for c in g.having) + " " + " ".join(g.where)
    parts = {
        "returns": count(reader.returns_text(g)) if g.returns else 0,
        "conditions": count(conditions),
        "order/limit": sum(count(t) for t in reader.tail(g)),
        "joins": sum(count(link) for link in g.links),
        # as said: "in 'p' (s)" / "s ... in 'p'" is one word shorter than the full form
        "context": count(in_context("x", g.context, g.context_form)) - 1,
        "grouping": sum(count(k) for k in g.group),
    }
    parts["frame"] = max(0, count(question) - sum(parts.values()))
    return question, parts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("datasets", nargs="+", type=Path, help="dataset.jsonl files")
    ap.add_argument("--schema", default="cim_wizard", help="the datasets' schema")
    ap.add_argument(
        "--longest", type=int, default=0, help="also print the N longest re-asked questions"
    )
    args = ap.parse_args()

    from cimgen.io import read_jsonl
    from cimgen.schema.load import load_schema

    schema = load_schema(args.schema)
    for path in args.datasets:
        rows = read_jsonl(path)
        print(f"{path}")
        print(f"  dataset questions: {figures([count(r['question']) for r in rows])}")
        first = [count(sentences(r["question"])[0]) for r in rows]
        two = sum(len(sentences(r["question"])) > 1 for r in rows)
        print(f"  their first sentence: {figures(first)}; {two} with a second sentence")
        asked: list[int] = []
        totals = dict.fromkeys(PARTS, 0)
        long: list[tuple[int, int, str, dict[str, int]]] = []
        for i, r in enumerate(rows):
            question, parts = split(r["sql_postgis"], schema, r.get("question_tone", "DIRECT"), i)
            asked.append(count(question))
            long.append((-count(question), i, question, parts))
            for k, v in parts.items():
                totals[k] += v
        print(f"  asked again now:   {figures(asked)}")
        n = max(1, len(rows))
        print("  mean words per part: " + ", ".join(f"{k} {totals[k] / n:.1f}" for k in PARTS))
        for words, i, question, parts in sorted(long)[: args.longest]:
            big = ", ".join(f"{k} {v}" for k, v in parts.items() if v)
            print(f"\n  [{i}] {-words} words ({big})\n  {question}")


if __name__ == "__main__":
    main()
