"""cimgen.seeds: one derivation of named streams from the run seed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cimgen import seeds
from cimgen.fixtures.rng import rng_for

tags = st.lists(st.one_of(st.integers(0, 2**40), st.text(max_size=12)), max_size=3)


@given(st.integers(0, 2**32 - 1), tags)
def test_a_stream_is_a_function_of_seed_and_tags(seed: int, names: list[str | int]) -> None:
    assert seeds.int_seed(seed, *names) == seeds.int_seed(seed, *names)
    a, b = seeds.python_rng(seed, *names), seeds.python_rng(seed, *names)
    assert [a.random() for _ in range(3)] == [b.random() for _ in range(3)]
    assert 0 <= seeds.int_seed(seed, *names) < 2**32


def test_streams_differ_by_purpose_index_and_seed() -> None:
    draws = {
        seeds.python_rng(s, *t).random()
        for s in (0, 1)
        for t in (("expand", 0), ("expand", 1), ("pivots", "a"), ("fit",))
    }
    assert len(draws) == 8
    assert seeds.structures_seed(3, 0, 0) != seeds.structures_seed(3, 1, 0)
    assert seeds.structures_seed(3, 0, 0) != seeds.structures_seed(3, 0, 1)
    assert seeds.expansion_rng(3, 5).random() == seeds.python_rng(3, "expand", 5).random()


def test_the_fixture_streams_are_the_same_derivation() -> None:
    assert rng_for(7, "fill", "t").random() == seeds.numpy_rng(7, "fill", "t").random()


def test_a_negative_tag_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        seeds.int_seed(0, -1)
