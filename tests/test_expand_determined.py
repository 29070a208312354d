"""Issue 14, the lead's read of the tenth pass: an aggregate of a table that each group's
own row decides ("the number of distinct buses per line name": a line has one destination
bus, so every group counts 1)."""

from __future__ import annotations

import pytest
from expand_support import SCHEMA, ctx

from cimgen.engines.duckdb import open_fixture
from cimgen.expand.determined import determined_aggregates, drop_determined_aggregates
from cimgen.expand.frame import BuildError
from cimgen.grammar import parse
from cimgen.render import render_duckdb

PER_LINE = """SELECT gl.name, {aggs}
FROM cim_vector.building AS b
JOIN cim_vector.grid_bus AS gb ON ST_DWithin(b.building_geometry::geography,
  gb.geometry::geography, 150)
JOIN cim_vector.grid_line AS gl ON gb.bus_id = gl.to_bus AND gb.project_id = gl.project_id
  AND gb.scenario_id = gl.scenario_id
WHERE gb.project_id = 'milan_citta_studi_2024' AND gb.scenario_id = 'baseline'
GROUP BY gl.name"""


def test_a_count_of_the_groups_own_bus_is_one_on_every_group() -> None:
    q = parse(PER_LINE.format(aggs="COUNT(DISTINCT gb.id) AS n_grid_buses"))
    con = open_fixture(SCHEMA, 0)
    try:
        got = con.execute(render_duckdb(q, SCHEMA).sql).fetchall()
    finally:
        con.close()
    assert got and {r[1] for r in got} == {1}  # what the rule says, on the data
    assert [it.alias for it in determined_aggregates(q.body, ctx())] == ["n_grid_buses"]
    with pytest.raises(BuildError, match="group's own row"):
        drop_determined_aggregates(q, ctx())


def test_another_aggregate_stays_without_the_fixed_one() -> None:
    q = parse(
        PER_LINE.format(
            aggs="COUNT(DISTINCT gb.id) AS n_grid_buses, "
            "MAX(ST_Area(b.building_geometry::geography)) AS max_area_m2"
        )
    )
    got = drop_determined_aggregates(q, ctx())
    assert [it.alias for it in got.body.items[1:]] == ["max_area_m2"]


def test_a_count_of_what_the_group_does_not_decide_stays() -> None:
    # per bus, the buildings within 150 m are several: not decided by the bus
    q = parse(
        "SELECT gb.name, COUNT(DISTINCT b.id) AS n_buildings FROM cim_vector.grid_bus AS gb "
        "JOIN cim_vector.building AS b ON ST_DWithin(b.building_geometry::geography, "
        "gb.geometry::geography, 150) WHERE gb.project_id = 'milan_citta_studi_2024' "
        "AND gb.scenario_id = 'baseline' GROUP BY gb.name"
    )
    assert determined_aggregates(q.body, ctx()) == []
    # per line name over every scenario, a name is several lines: their buses are several
    open_scope = parse(
        "SELECT gl.name, COUNT(DISTINCT gb.id) AS n FROM cim_vector.grid_line AS gl "
        "JOIN cim_vector.grid_bus AS gb ON gb.bus_id = gl.to_bus "
        "AND gb.project_id = gl.project_id AND gb.scenario_id = gl.scenario_id GROUP BY gl.name"
    )
    assert determined_aggregates(open_scope.body, ctx()) == []
