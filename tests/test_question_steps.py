"""The two steps of :func:`cimgen.question.ask`, exposed for tools that look at the reading
(benchmarks/bench_question_lengths.py): reading then saying is asking."""

from __future__ import annotations

import copy
import random

import pytest
import yaml
from conftest import CASES

from cimgen.grammar import parse
from cimgen.question import TONES, ask, read, say
from cimgen.schema.load import load_schema

SCHEMA = load_schema("cim_wizard")
QUERIES = [
    parse(c["sql"])
    for c in yaml.safe_load((CASES / "questions.yaml").read_text(encoding="utf-8"))
    if c.get("schema", "cim_wizard") == "cim_wizard"
]


@pytest.mark.parametrize("tone", sorted(TONES))
def test_read_then_say_is_ask(tone: str) -> None:
    for i, query in enumerate(QUERIES):
        reader, reading = read(query, SCHEMA, i)
        kept = copy.deepcopy(reading)
        assert say(reader, reading, tone) == ask(query, SCHEMA, tone, i)
        # a seeded random source is advanced the same way
        rng = random.Random(i)
        assert say(*read(query, SCHEMA, rng), tone) == ask(query, SCHEMA, tone, i)
        assert kept.returns == read(query, SCHEMA, i)[1].returns  # reading alone draws alike
