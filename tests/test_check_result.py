"""The result profile of a DuckDB check (cimgen/check/result.py): arrow_profile gives the
answers of arrow_repeats and arrow_constant_columns, whatever the column types (issue 16)."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from cimgen.check.result import (
    REPEAT_WINDOW,
    arrow_constant_columns,
    arrow_profile,
    arrow_repeats,
)

_VALUES = {
    "int": (pa.int64(), st.one_of(st.none(), st.integers(-3, 3))),
    "text": (pa.string(), st.one_of(st.none(), st.sampled_from(["a", "b", "c"]))),
    "float": (
        pa.float64(),
        st.one_of(st.none(), st.sampled_from([0.0, -0.0, 1.5, float("nan")])),
    ),
    "bool": (pa.bool_(), st.one_of(st.none(), st.booleans())),
}


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    kinds = draw(st.lists(st.sampled_from(sorted(_VALUES)), min_size=1, max_size=4))
    n = draw(st.integers(0, 8))
    arrays = {}
    for i, kind in enumerate(kinds):
        arrow_type, values = _VALUES[kind]
        arrays[f"c{i}"] = pa.array(draw(st.lists(values, min_size=n, max_size=n)), arrow_type)
    return pa.table(arrays)


@settings(max_examples=300, deadline=None)
@given(tables())
def test_profile_is_repeats_and_constant_columns(table: pa.Table) -> None:
    assert arrow_profile(table) == (arrow_repeats(table), arrow_constant_columns(table))


def test_profile_skips_the_group_by_only_for_exact_unique_columns() -> None:
    # unique integers: no row repeats, whatever the other columns hold
    assert arrow_profile(pa.table({"id": [1, 2, 3], "x": [0.5, 0.5, 0.5]})) == (0, (1,))
    # no exact column is distinct on every row: the group-by decides, and finds the repeat
    table = pa.table({"x": [0.5, 0.5, 1.0], "t": ["a", "a", "b"]})
    assert arrow_profile(table) == (1, ())
    assert arrow_profile(pa.table({"a": [1]})) == (0, ())


def test_profile_reads_the_window_only() -> None:
    # the repeat beyond the window is not seen, as by arrow_repeats
    ids = [*list(range(REPEAT_WINDOW)), 0]
    table = pa.table({"id": ids})
    assert arrow_profile(table) == (arrow_repeats(table), arrow_constant_columns(table)) == (0, ())
