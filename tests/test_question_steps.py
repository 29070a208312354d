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


def test_bounding_box_test_is_said() -> None:
    """A hand-written `g && ST_MakeEnvelope(...)` is said as a bounding-box test (it recursed
    without end: the operator fell back to a yes/no value, read as a clause again)."""
    query = parse(
        "SELECT b.building_id FROM cim_vector.building AS b "
        "WHERE b.building_geometry && ST_MakeEnvelope(9.18, 45.46, 9.19, 45.47, 4326)"
    )
    for tone in sorted(TONES):
        text = ask(query, SCHEMA, tone, 0)
        assert "bounding box" in text and "9.18" in text and "45.47" in text
