"""No constant columns and no table joined only to show one (cimgen.expand.constant),
judged on the real fixture in DuckDB: the rewritten query returns the same rows, less the
columns that were the same on every row."""

from __future__ import annotations

import pytest
from expand_support import Result, ctx

from cimgen import ast
from cimgen.check.result import arrow_constant_columns
from cimgen.expand.constant import drop_constants
from cimgen.expand.frame import BuildError
from cimgen.grammar import parse
from cimgen.render import render_postgis

# blind review, issue 14 (item 34): the project scenario joined only for its name
PINNED_NAME = (
    "SELECT gb.name, gb.in_service, gl.line_id, gl.max_loading_percent, project.project_name "
    "FROM cim_vector.grid_bus AS gb, cim_vector.grid_line AS gl, "
    "cim_vector.project_scenario AS project "
    "WHERE gb.bus_id = gl.to_bus AND gb.project_id = gl.project_id "
    "AND gb.scenario_id = gl.scenario_id AND gl.project_id = project.project_id "
    "AND gl.scenario_id = project.scenario_id "
    "AND gb.project_id = 'milan_porta_garibaldi_2024' AND gb.scenario_id = 'optimized' "
    "ORDER BY gl.max_loading_percent DESC"
)


def test_a_pinned_project_is_neither_shown_nor_joined(duckdb_result: Result) -> None:
    before = parse(PINNED_NAME)
    b = duckdb_result(before)
    assert b.num_rows > 1
    assert b.column_names.index("project_name") in arrow_constant_columns(b)
    after = drop_constants(before, ctx())
    sql = render_postgis(after)
    assert "project_scenario" not in sql and "project_name" not in sql
    a = duckdb_result(after)
    assert a.num_rows == b.num_rows
    assert sorted(map(str, a.to_pylist())) == sorted(
        map(str, b.drop_columns(["project_name"]).to_pylist())
    )


def test_the_pin_moves_to_the_column_the_join_equated() -> None:
    # the pin is on the project scenario itself: it moves to the grid line
    q = parse(
        "SELECT gl.name, ps.project_name FROM cim_vector.grid_line AS gl "
        "JOIN cim_vector.project_scenario AS ps ON gl.project_id = ps.project_id "
        "AND gl.scenario_id = ps.scenario_id "
        "WHERE ps.project_id = 'milan_navigli_2023' AND ps.scenario_id = 'proposed'"
    )
    sql = render_postgis(drop_constants(q, ctx()))
    assert "project_scenario" not in sql and "JOIN" not in sql
    assert "gl.project_id = 'milan_navigli_2023'" in sql
    assert "gl.scenario_id = 'proposed'" in sql


def test_an_aggregate_of_a_pinned_row_goes() -> None:
    # blind review item 46: MAX of one project's boundary area per line name
    q = parse(
        "SELECT gl.name, COUNT(*) AS n_grid_buses, "
        "MAX(ST_Area(project.project_boundary::geography)) AS max_area_m2 "
        "FROM cim_vector.project_scenario AS project, cim_vector.grid_bus AS gb, "
        "cim_vector.grid_line AS gl WHERE project.project_id = gb.project_id "
        "AND project.scenario_id = gb.scenario_id AND gb.bus_id = gl.to_bus "
        "AND gb.project_id = 'milan_porta_garibaldi_2024' AND gb.scenario_id = 'proposed' "
        "GROUP BY gl.name"
    )
    sql = render_postgis(drop_constants(q, ctx()))
    assert "max_area_m2" not in sql and "project_scenario" not in sql


@pytest.mark.parametrize(
    "sql",
    [
        # a lookup of one project scenario: its columns are the answer
        "SELECT ps.project_name FROM cim_vector.project_scenario AS ps "
        "WHERE ps.project_id = 'p' AND ps.scenario_id = 's'",
        # the project scenario filters (a line near its centre): it stays
        "SELECT gl.name, ST_Distance(gl.geometry, ps.project_center) AS d "
        "FROM cim_vector.grid_line AS gl, cim_vector.project_scenario AS ps "
        "WHERE gl.project_id = ps.project_id AND gl.scenario_id = ps.scenario_id "
        "AND ps.project_id = 'p' AND ps.scenario_id = 's'",
        # several projects: the name varies
        "SELECT gl.name, ps.project_name FROM cim_vector.grid_line AS gl, "
        "cim_vector.project_scenario AS ps WHERE gl.project_id = ps.project_id "
        "AND gl.scenario_id = ps.scenario_id",
    ],
)
def test_queries_without_constants_are_left_alone(sql: str) -> None:
    q = parse(sql)
    assert drop_constants(q, ctx()) == q


def test_a_pinned_row_that_cannot_go_and_serves_nothing_is_refused() -> None:
    # the project scenario is met spatially (lines inside its boundary): once its constant
    # name is dropped it serves nothing (PUR001), so the attempt is refused
    q = parse(
        "SELECT gl.name, ps.project_name, ST_Length(gl.geometry::geography) AS length_m "
        "FROM cim_vector.grid_line AS gl, cim_vector.project_scenario AS ps "
        "WHERE ST_Contains(ps.census_boundary, gl.geometry) "
        "AND gl.project_id = ps.project_id AND gl.scenario_id = ps.scenario_id "
        "AND gl.project_id = 'milan_porta_garibaldi_2024' AND gl.scenario_id = 'optimized'"
    )
    with pytest.raises(BuildError):
        drop_constants(q, ctx())


# blind review, issue 14 (night of 2026-12-03): "raster_type is a constant output"; "the
# 'line scenario' output equals the project scenario it is joined on"
PINNED_OUTPUTS = (
    "SELECT r.filename, r.raster_type, gl.name, gl.scenario_id AS line_scenario "
    "FROM cim_raster.raster_model AS r, cim_vector.grid_line AS gl, "
    "cim_vector.project_scenario AS ps "
    "WHERE r.raster_type = 'DTM' AND gl.project_id = ps.project_id "
    "AND gl.scenario_id = ps.scenario_id AND ps.scenario_id = 'baseline' "
    "AND ST_Intersects(r.rast, ST_Centroid(gl.geometry)) ORDER BY gl.name"
)


def test_an_output_the_conditions_pin_to_one_literal_is_dropped() -> None:
    from cimgen.expand.constant import pinned_columns, without_pinned_outputs

    query = parse(PINNED_OUTPUTS)
    assert isinstance(query.body, ast.Select)
    pinned = pinned_columns(query.body)
    assert {("r", "raster_type"), ("gl", "scenario_id"), ("ps", "scenario_id")} <= pinned
    assert ("gl", "project_id") not in pinned  # equated to another column, never to a literal
    after = without_pinned_outputs(query)
    assert isinstance(after.body, ast.Select)
    assert [it.alias or getattr(it.expr, "name", None) for it in after.body.items] == [
        "filename",
        "name",
    ]
    assert after.order_by == query.order_by and after.body.where == query.body.where


def test_a_grouping_keeps_its_pinned_key_and_an_all_pinned_lookup_stays() -> None:
    from cimgen.expand.constant import without_pinned_outputs

    grouped = parse(
        "SELECT bp.scenario_id, COUNT(*) AS n FROM cim_vector.building_properties AS bp "
        "WHERE bp.scenario_id = 'baseline' GROUP BY bp.scenario_id"
    )
    assert without_pinned_outputs(grouped) == grouped
    lookup = parse("SELECT b.building_id FROM cim_vector.building AS b WHERE b.building_id = 'x'")
    assert without_pinned_outputs(lookup) == lookup
