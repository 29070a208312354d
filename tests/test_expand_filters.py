"""expand/filters.py: an equality predicate filters a list of rows as it tests one row."""

from __future__ import annotations

from cimgen.expand.filters import Equals, keep
from cimgen.world.model import TableSample

SAMPLE = TableSample(
    table="cim_vector.t",
    columns=("kind", "lod", "name"),
    rows=[("a", 1, "x"), ("b", 2, None), ("a", 2, "y"), (None, 1, "x"), ("a", 1.0, "z")],
    total=5,
)


def test_equals_keeps_the_rows_it_holds_on_in_order() -> None:
    for column, value in (("kind", "a"), ("lod", 1), ("name", None), ("name", "x")):
        holds = Equals(column, value)
        rows = [4, 0, 3, 2, 1]
        want = [i for i in rows if holds(SAMPLE, i)]
        assert holds.keep(SAMPLE, rows) == keep(holds, SAMPLE, rows) == want
    assert Equals("kind", "a").keep(SAMPLE, range(5)) == [0, 2, 4]
    assert Equals("lod", 1).keep(SAMPLE, range(5)) == [0, 3, 4]  # 1.0 == 1, as tested per row


def test_other_predicates_are_tested_row_by_row() -> None:
    def short_name(s: TableSample, i: int) -> bool:
        return s.value(i, "name") is not None and s.value(i, "name") < "y"

    assert keep(short_name, SAMPLE, range(5)) == [0, 3]
