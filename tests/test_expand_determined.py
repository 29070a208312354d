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
from cimgen.render import render_duckdb, render_postgis

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


# the thirteenth pass: Hypothesis draws (tests/test_expand.py) where dropping the decided
# aggregate left the table it read joined for nothing (PUR001); the query is the draw's
# attempt as it reached the step
NEIGHBOUR = """WITH selected_grid_lines AS (
  SELECT gl.name, gl.project_id, gl.scenario_id, gl.length_km, gl.to_bus
  FROM cim_vector.grid_line AS gl WHERE gl.max_loading_percent >= 24)
SELECT grl.name, COUNT(*) AS n_grid_lines, AVG(sgl.length_km) AS avg_length_km,
  gb.voltage_kv, AVG(gl2.length_km) AS neighbour_avg_length_km
FROM selected_grid_lines AS sgl
JOIN cim_vector.grid_bus AS gb ON sgl.to_bus = gb.bus_id AND sgl.project_id = gb.project_id
  AND sgl.scenario_id = gb.scenario_id
JOIN cim_vector.grid_line AS grl ON gb.bus_id = grl.from_bus AND gb.project_id = grl.project_id
  AND gb.scenario_id = grl.scenario_id
JOIN cim_vector.grid_line AS gl2 ON gb.scenario_id = gl2.scenario_id
  AND gb.project_id = gl2.project_id AND gb.bus_id = gl2.to_bus
WHERE sgl.project_id = 'milan_porta_garibaldi_2024' AND sgl.scenario_id = 'optimized'
GROUP BY grl.name, gb.voltage_kv"""


def test_a_table_joined_only_for_the_decided_aggregate_is_refused() -> None:
    q = parse(NEIGHBOUR)
    assert [it.alias for it in determined_aggregates(q.body, ctx())] == [  # type: ignore[arg-type]
        "neighbour_avg_length_km"
    ]
    with pytest.raises(BuildError, match="joined only"):
        drop_determined_aggregates(q, ctx())
    # read elsewhere (its own condition), the table keeps a purpose: the aggregate goes
    kept = parse(NEIGHBOUR.replace("GROUP BY", "AND gl2.length_km > 0.01\nGROUP BY"))
    out = drop_determined_aggregates(kept, ctx())
    assert "neighbour_avg_length_km" not in render_postgis(out)
