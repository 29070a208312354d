"""Outputs that tell rows apart and orderings by what varies (cimgen.expand.distinct), and
the value-realism rules of the expander: judged on the real fixture in DuckDB."""

from __future__ import annotations

import random

import pytest
from expand_support import Result, ctx

from cimgen import ast
from cimgen.check.result import arrow_constant_columns, arrow_repeats, ordering_columns
from cimgen.expand.context import is_count
from cimgen.expand.distinct import (
    distinguish,
    order_by_what_varies,
    pin_scope,
    version_columns,
)
from cimgen.expand.values import threshold
from cimgen.grammar import parse
from cimgen.render import render_postgis
from cimgen.schema.model import Column
from cimgen.world.pools import Pool


def test_version_columns_come_from_the_data() -> None:
    c = ctx()
    got = {t.qualified: version_columns(c, t) for t in c.tables}
    assert got["cim_vector.building"] == ("lod",)  # one building, several levels of detail
    assert got["cim_vector.grid_line"] == ("scenario_id",)  # one line per scenario
    assert got["cim_census.census_geo"] == ()  # a census section is one row


def test_distinguish_adds_the_version_the_rows_differ_by(duckdb_result: Result) -> None:
    query = parse(
        "SELECT b.building_id, b.building_geometry_source FROM cim_vector.building AS b "
        "WHERE b.building_geometry_source = 'osm'"
    )
    before = duckdb_result(query)
    assert arrow_repeats(before) > 0  # the same building at several LODs
    after = distinguish(query, ctx())
    assert "b.lod" in render_postgis(after)
    table = duckdb_result(after)
    assert arrow_repeats(table) == 0 and table.num_rows == before.num_rows


@pytest.mark.parametrize(
    "sql",
    [
        # pinned to one level
        "SELECT b.building_id FROM cim_vector.building AS b WHERE b.lod = 1",
        # already output through an equal column of another table
        "SELECT b.building_id, bp.lod, bp.scenario_id FROM cim_vector.building AS b "
        "JOIN cim_vector.building_properties AS bp ON b.building_id = bp.building_id "
        "AND b.lod = bp.lod",
        # one summary per group: not row-level
        "SELECT b.building_geometry_source, COUNT(*) AS n FROM cim_vector.building AS b "
        "GROUP BY b.building_geometry_source",
        "SELECT DISTINCT b.building_id FROM cim_vector.building AS b",
    ],
)
def test_distinguish_leaves_settled_queries_alone(sql: str) -> None:
    query = parse(sql)
    assert distinguish(query, ctx()) == query


def test_a_second_tables_version_is_named_by_its_table() -> None:
    query = parse(
        "SELECT gl.name, gl.scenario_id, gb.name AS bus FROM cim_vector.grid_line AS gl "
        "JOIN cim_vector.grid_bus AS gb ON gl.to_bus = gb.bus_id AND gl.project_id = gb.project_id"
    )
    items = distinguish(query, ctx()).body.items  # type: ignore[union-attr]
    assert items[-1] == ast.SelectItem(ast.Column("scenario_id", "gb"), "gb_scenario_id")


PINNED = (
    "SELECT ps.project_name, gb.name, gb.zone, "
    "RANK() OVER (ORDER BY ps.project_name) AS rank_in_project "
    "FROM cim_vector.project_scenario AS ps, cim_vector.grid_bus AS gb "
    "WHERE ps.project_id = gb.project_id AND ps.scenario_id = gb.scenario_id "
    "AND ps.project_id = 'milan_porta_garibaldi_2024' AND ps.scenario_id = 'optimized' "
    "ORDER BY ps.project_name ASC"
)


def test_no_ordering_or_ranking_by_a_pinned_row(duckdb_result: Result) -> None:
    query = parse(PINNED)
    table = duckdb_result(query)
    assert ordering_columns(query) & set(arrow_constant_columns(table))  # RES003 before
    fixed = order_by_what_varies(query, ctx())
    assert fixed.order_by == () and len(fixed.body.items) == 3  # type: ignore[union-attr]
    limited = order_by_what_varies(parse(PINNED + " LIMIT 5"), ctx())
    assert limited.order_by == (ast.OrderItem(ast.Column("name", "gb"), "ASC"),)
    table = duckdb_result(limited)
    assert not ordering_columns(limited) & set(arrow_constant_columns(table))
    varying = parse(PINNED.replace("ORDER BY ps.project_name", "ORDER BY gb.name"))
    assert order_by_what_varies(varying, ctx()).order_by == varying.order_by


def test_counts_are_compared_with_whole_numbers() -> None:
    floors = Column.of("number_of_floors", "float", description="number of floors")
    assert is_count(floors) and not is_count(Column.of("height", "float"))
    info = ctx().by_name["cim_vector.building_properties"]
    assert "number_of_floors" in info.integer and "height" not in info.integer
    pool = Pool((4.1, 4.4, 3.6), (1.0, 1.0, 1.0), "corpus")  # a corpus's fractional floor counts
    rng = random.Random(0)
    for _ in range(20):
        lo = threshold(4.5, "below", pool, rng, integer=True)
        hi = threshold(3.0, "above", pool, rng, integer=True)
        assert lo.is_integer() and lo <= 4.5 and hi.is_integer() and hi >= 3.0
    assert threshold(4.5, "below", pool, rng, integer=False) in (4.1, 4.4, 3.6)


def test_pin_scope_keeps_the_rows_in_the_asked_scenario(duckdb_result: Result) -> None:
    query = parse(
        "SELECT gl.name, b.building_id, bp.net_leased_area "
        "FROM cim_vector.grid_line AS gl, cim_vector.building AS b, "
        "cim_vector.building_properties AS bp "
        "WHERE ST_Intersects(gl.geometry, b.building_geometry) AND b.id = bp.building_fk "
        "AND gl.project_id = 'milan_navigli_2023' AND gl.scenario_id = 'proposed'"
    )
    pinned = pin_scope(query, ctx())
    sql = render_postgis(pinned)
    assert "bp.project_id = 'milan_navigli_2023'" in sql and "bp.scenario_id = 'proposed'" in sql
    # the building is named by its properties row (b.id = bp.building_fk): no lod to add
    assert distinguish(pinned, ctx()) == pinned
    table = duckdb_result(pinned)
    assert table.num_rows > 0 and arrow_repeats(table) == 0
    assert pin_scope(pinned, ctx()) == pinned  # nothing left open
