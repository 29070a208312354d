"""The eighth realism pass (issue 14): nothing the query's own pins make constant or
redundant (:mod:`cimgen.expand.pinned`, and :func:`cimgen.expand.multiply.drop_fixed_groups`
seeing through a CTE's pins). The queries are rows of main 8c79c29's 300-row CTGAN run
(seed 0), or their shapes; where the defect is a number, it is run on the fixture's DuckDB
database."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from expand_support import SCHEMA, ctx

from cimgen import ast
from cimgen.engines.duckdb import open_fixture
from cimgen.equalities import cte_pins
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import drop_fixed_groups, fixed_groups
from cimgen.expand.pinned import (
    constant_aggregates,
    constant_subqueries,
    drop_constant_aggregates,
    drop_fixed_aggregates,
    label_groups,
    settle_pins,
)
from cimgen.expand.point import point_groups, point_values
from cimgen.expand.repeats import (
    drop_repeated_filters,
    fill_idle_steps,
    idle_steps,
    repeated_filters,
)
from cimgen.grammar import parse
from cimgen.render import render_duckdb, render_postgis


@pytest.fixture(scope="module")
def con():  # type: ignore[no-untyped-def]
    c = open_fixture(SCHEMA, 0)
    yield c
    c.close()


# --------------------------------------------------------------------------- item 1

PROJECT_COUNT = (
    "SELECT gb.zone, COUNT(*) AS n_grid_buses, AVG(gb.voltage_kv) AS avg_voltage_kv, "
    "COUNT(DISTINCT project.project_name) AS n_project_names "
    "FROM cim_vector.grid_bus AS gb JOIN cim_vector.project_scenario AS project "
    "ON ST_Within(gb.geometry, project.census_boundary) "
    "AND gb.project_id = project.project_id AND gb.scenario_id = project.scenario_id "
    "WHERE gb.project_id = 'milan_citta_studi_2024' AND gb.scenario_id = 'baseline' "
    "GROUP BY gb.zone"
)


def test_a_distinct_count_of_the_pinned_project_is_refused(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(PROJECT_COUNT)
    # always 1 on the data: the pins fix the project
    counts = {n for *_, n in con.execute(render_duckdb(q, SCHEMA).sql).fetchall()}
    assert counts == {1}
    assert [it.alias for it in constant_aggregates(q.body, ctx(), {})] == ["n_project_names"]
    # the project is then joined for its link alone (PUR001): the attempt is refused
    with pytest.raises(BuildError):
        drop_constant_aggregates(q, ctx())


def test_a_distinct_count_of_a_pinned_column_is_dropped() -> None:
    q = parse(PROJECT_COUNT.replace("project.project_name", "gb.scenario_id"))
    sql = render_postgis(drop_constant_aggregates(q, ctx()))
    assert "COUNT(DISTINCT" not in sql and "AVG(gb.voltage_kv)" in sql, sql


def test_an_aggregate_of_an_open_value_stays() -> None:
    q = parse(
        PROJECT_COUNT.replace("WHERE gb.project_id = 'milan_citta_studi_2024' AND ", "WHERE ")
    )
    assert constant_aggregates(q.body, ctx(), {}) == []
    assert drop_constant_aggregates(q, ctx()) == q


def test_an_ordering_by_a_constant_aggregate_is_refused() -> None:
    q = parse(
        PROJECT_COUNT.replace("project.project_name", "gb.scenario_id")
        + " ORDER BY n_project_names DESC"
    )
    with pytest.raises(BuildError):
        drop_constant_aggregates(q, ctx())


def test_one_helper_drops_fixed_aggregates_and_names_each_refusal() -> None:
    # the finder is the caller's (pins, or a group's own row); the refusals are shared
    sql = (
        "SELECT gb.zone, MAX(gb.voltage_kv) AS v, COUNT(*) AS n FROM cim_vector.grid_bus AS gb "
        "GROUP BY gb.zone"
    )
    grouped = parse(sql)

    def named(*names: str) -> Callable[[ast.Select], list[ast.SelectItem]]:
        return lambda body: [it for it in body.items if it.alias in names]

    kept = drop_fixed_aggregates(grouped, named("v"), "why")
    assert [it.alias for it in kept.body.items] == [None, "n"]  # type: ignore[union-attr]
    with pytest.raises(BuildError, match=r"^left$"):
        drop_fixed_aggregates(grouped, named("v", "n"), "why", no_aggregate="left")
    with pytest.raises(BuildError, match=r"^why$"):
        drop_fixed_aggregates(grouped, named("v", "n"), "why")
    with pytest.raises(BuildError, match=r"^why$"):  # the ordering reads the dropped one
        drop_fixed_aggregates(parse(sql + " ORDER BY v DESC"), named("v"), "why")
    # a table read only by the dropped output serves nothing once it goes
    joined = parse(
        "SELECT gb.zone, COUNT(DISTINCT ps.project_name) AS names, COUNT(*) AS n "
        "FROM cim_vector.grid_bus AS gb JOIN cim_vector.project_scenario AS ps "
        "ON gb.project_id = ps.project_id AND gb.scenario_id = ps.scenario_id GROUP BY gb.zone"
    )
    assert drop_fixed_aggregates(joined, named("names"), "why") != joined
    with pytest.raises(BuildError, match=r"^idle$"):
        drop_fixed_aggregates(joined, named("names"), "why", joined_for="idle")


# /tmp/m8: buses a two-step CTE pins to one project scenario, lines per project name
PROJECT_GROUP = (
    "WITH selected_grid_buses AS (SELECT gb.in_service, gb.scenario_id, gb.project_id, "
    "gb.bus_id FROM cim_vector.grid_bus AS gb WHERE gb.project_id = 'milan_citta_studi_2024' "
    "AND gb.scenario_id = 'baseline'), grid_bus_metrics AS (SELECT sgb.in_service, "
    "sgb.scenario_id, sgb.project_id, sgb.bus_id FROM selected_grid_buses AS sgb "
    "WHERE sgb.in_service) "
    "SELECT project.project_name, COUNT(*) AS n_grid_lines, AVG(gl.length_km) AS avg_length_km "
    "FROM grid_bus_metrics AS gbm JOIN cim_vector.grid_line AS gl ON gbm.scenario_id = "
    "gl.scenario_id AND gbm.project_id = gl.project_id AND gbm.bus_id = gl.from_bus "
    "JOIN cim_vector.project_scenario AS project ON gbm.project_id = project.project_id "
    "AND gbm.scenario_id = project.scenario_id WHERE gbm.in_service "
    "GROUP BY project.project_name"
)


def test_a_group_fixed_by_a_cte_pin_through_a_join_is_refused() -> None:
    q = parse(PROJECT_GROUP)
    pins = cte_pins("grid_bus_metrics", ast.ctes_by_name(q))
    assert sorted(pins) == ["project_id", "scenario_id"]  # through the first step
    assert fixed_groups(q.body, ctx()) == []  # one block's own filters do not fix it
    assert len(fixed_groups(q.body, ctx(), ast.ctes_by_name(q))) == 1  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        drop_fixed_groups(q, ctx())


def test_a_group_a_cte_leaves_open_stays() -> None:
    q = parse(
        PROJECT_GROUP.replace("WHERE gb.project_id = 'milan_citta_studi_2024' AND ", "WHERE ")
    )
    assert drop_fixed_groups(q, ctx()) == q


# /tmp/m8: CHM rasters pinned by a CTE, ranked within each raster type
RASTER_PARTITION = (
    "WITH selected_raster_datasets AS (SELECT raster.filename, raster.rast, raster.raster_type "
    "FROM cim_raster.raster_model AS raster WHERE raster.srid = 4326 "
    "AND raster.raster_type = 'CHM') "
    "SELECT srd.filename, ST_Height(srd.rast) AS height_px, "
    "NTILE(4) OVER (PARTITION BY srd.raster_type ORDER BY ST_Width(srd.rast) DESC) AS q, "
    "RANK() OVER (PARTITION BY srd.raster_type, srd.filename ORDER BY ST_Width(srd.rast)) AS r "
    "FROM selected_raster_datasets AS srd"
)


def test_a_partition_by_a_value_the_cte_pins() -> None:
    q = parse(RASTER_PARTITION)
    with pytest.raises(BuildError):  # the NTILE would be left with no partition
        drop_fixed_groups(q, ctx())
    two = parse(
        RASTER_PARTITION.replace("NTILE(4) OVER (PARTITION BY srd.raster_type ", "NTILE(4) OVER (")
    )
    sql = render_postgis(drop_fixed_groups(two, ctx()))
    assert "PARTITION BY srd.filename" in sql and "raster_type ORDER" not in sql, sql


# --------------------------------------------------------------------------- item 2

# /tmp/m8: cached heights of a pinned project "that have a project scenario" named 'Citta%'
PINNED_EXISTS = (
    "SELECT COUNT(*) AS n_building_heights, AVG(bhc.building_height) AS avg_building_height "
    "FROM cim_raster.building_height_cache AS bhc WHERE EXISTS (SELECT 1 "
    "FROM cim_vector.project_scenario AS ps WHERE bhc.project_id = ps.project_id "
    "AND bhc.scenario_id = ps.scenario_id AND ps.project_name LIKE 'Citta%') "
    "AND bhc.project_id = 'milan_citta_studi_2024' AND bhc.scenario_id = 'baseline'"
)


def test_an_exists_on_the_pinned_project_is_refused() -> None:
    q = parse(PINNED_EXISTS)
    assert len(constant_subqueries(q.body, ctx(), {})) == 1  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(q, ctx())


def test_an_exists_on_each_row_stays() -> None:
    # correlated on the building: true for some rows, false for others
    q = parse(
        "SELECT bp.building_id FROM cim_vector.building_properties AS bp WHERE EXISTS "
        "(SELECT 1 FROM cim_raster.building_height_cache AS bhc "
        "WHERE bp.building_id = bhc.building_id AND bp.project_id = bhc.project_id "
        "AND bp.scenario_id = bhc.scenario_id AND bhc.building_height > 30) "
        "AND bp.project_id = 'milan_citta_studi_2024' AND bp.scenario_id = 'baseline'"
    )
    assert constant_subqueries(q.body, ctx(), {}) == []  # type: ignore[arg-type]
    assert settle_pins(q, ctx()) == q
    # and without the outer pins, the project's name varies by row
    open_ = parse(PINNED_EXISTS.replace(" AND bhc.project_id = 'milan_citta_studi_2024'", ""))
    assert constant_subqueries(open_.body, ctx(), {}) == []  # type: ignore[arg-type]


def test_an_in_on_a_pinned_column_and_a_scalar_of_the_pinned_row_are_refused() -> None:
    q = parse(
        "SELECT bp.building_id FROM cim_vector.building_properties AS bp "
        "WHERE bp.project_id IN (SELECT ps.project_id FROM cim_vector.project_scenario AS ps "
        "WHERE ps.project_name LIKE 'Citta%') AND bp.project_id = 'milan_citta_studi_2024'"
    )
    assert len(constant_subqueries(q.body, ctx(), {})) == 1  # type: ignore[arg-type]
    scalar = parse(
        "SELECT bp.building_id, (SELECT ps.project_name FROM cim_vector.project_scenario AS ps "
        "WHERE ps.project_id = bp.project_id AND ps.scenario_id = bp.scenario_id) AS name "
        "FROM cim_vector.building_properties AS bp "
        "WHERE bp.project_id = 'milan_citta_studi_2024' AND bp.scenario_id = 'baseline'"
    )
    with pytest.raises(BuildError):
        settle_pins(scalar, ctx())
    # an average over the pinned project's buildings is a value of many rows: it stays
    avg = parse(
        "SELECT bp.building_id FROM cim_vector.building_properties AS bp "
        "WHERE bp.height > (SELECT AVG(b2.height) FROM cim_vector.building_properties AS b2 "
        "WHERE b2.project_id = bp.project_id AND b2.scenario_id = bp.scenario_id) "
        "AND bp.project_id = 'milan_citta_studi_2024' AND bp.scenario_id = 'baseline'"
    )
    assert settle_pins(avg, ctx()) == avg


# --------------------------------------------------------------------------- item 3


def test_a_second_step_that_repeats_a_filter_says_it_once() -> None:
    q = parse(PROJECT_GROUP.replace("project.project_name", "gl.name"))
    assert len(repeated_filters(q.body, ast.ctes_by_name(q))) == 1  # type: ignore[arg-type]
    sql = render_postgis(drop_repeated_filters(q))
    assert sql.count("in_service") == 3, sql  # selected by both steps, filtered by one
    assert "WHERE sgb.in_service" in sql and "WHERE gbm.in_service" not in sql


def test_a_tile_and_a_dataset_read_at_one_point_keep_their_link() -> None:
    point = "ST_SetSRID(ST_MakePoint(9.20324, 45.48332), 4326)"
    q = parse(
        f"WITH t AS (SELECT dtm.rast, dtm.max_elevation FROM cim_raster.dtm_raster AS dtm "
        f"WHERE ST_Intersects(dtm.rast, {point})) "
        f"SELECT ST_Value(t.rast, {point}) AS a, ST_Value(r.rast, {point}) AS b "
        f"FROM t, cim_raster.raster_model AS r WHERE ST_Intersects(r.rast, {point}) "
        f"AND ST_Intersects(t.rast, {point}) AND r.raster_type = 'DTM'"
    )
    assert repeated_filters(q.body, ast.ctes_by_name(q)) == []  # type: ignore[arg-type]


# --------------------------------------------------------------------------- items 4, 5

# /tmp/m8: census zones near a point with the DTM at each centroid and at the point
POINT_VALUE = (
    "SELECT cg.sez2011, ST_Value(dr.rast, ST_Centroid(cg.geometry)) AS ground_elevation_m, "
    "ST_Value(dr.rast, ST_SetSRID(ST_Point(9.16335, 45.49377), 4326)) AS at_point_m "
    "FROM cim_census.census_geo AS cg JOIN cim_raster.dtm_raster AS dr "
    "ON ST_Intersects(dr.rast, ST_Centroid(cg.geometry)) "
    "WHERE ST_Intersects(dr.rast, ST_SetSRID(ST_MakePoint(9.16335, 45.49377), 4326)) "
    "AND ST_DWithin(ST_Transform(cg.geometry, 32632), "
    "ST_Transform(ST_SetSRID(ST_MakePoint(9.16335, 45.49377), 4326), 32632), 1000)"
)


def test_a_value_at_one_point_beside_per_row_values_is_read_per_row(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(POINT_VALUE)
    assert [it.alias for it in point_values(q.body, ctx(), {})] == ["at_point_m"]  # type: ignore[arg-type]
    at = {r[-1] for r in con.execute(render_duckdb(q, SCHEMA).sql).fetchall()}
    assert len(at) == 1  # the same on every zone's row
    sql = render_postgis(settle_pins(q, ctx()))
    assert "at_point_m" not in sql and "ST_Intersects(dr.rast, ST_SetSRID" not in sql, sql
    assert "ST_Value(dr.rast, ST_Centroid(cg.geometry))" in sql and "ST_DWithin" in sql
    # a raster read at the point alone (a DSM joined by a comma) is refused
    alone = parse(
        POINT_VALUE.replace(
            "ST_Value(dr.rast, ST_SetSRID(ST_Point(9.16335, 45.49377), 4326)) AS at_point_m",
            "ST_Value(dsm.rast, ST_SetSRID(ST_Point(9.16335, 45.49377), 4326)) AS at_point_m",
        )
        .replace(
            "JOIN cim_raster.dtm_raster AS dr",
            ", cim_raster.dsm_raster AS dsm JOIN cim_raster.dtm_raster AS dr",
        )
        .replace(
            "ST_Intersects(dr.rast, ST_SetSRID(ST_MakePoint",
            "ST_Intersects(dsm.rast, ST_SetSRID(ST_MakePoint",
        )
    )
    assert [it.alias for it in point_values(alone.body, ctx(), {})] == ["at_point_m"]  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(alone, ctx())
    per_row = parse(
        "SELECT cg.sez2011, ST_Value(dr.rast, ST_Centroid(cg.geometry)) AS ground_elevation_m "
        "FROM cim_census.census_geo AS cg JOIN cim_raster.dtm_raster AS dr "
        "ON ST_Intersects(dr.rast, ST_Centroid(cg.geometry)) WHERE cg.p2 >= 150"
    )
    assert settle_pins(per_row, ctx()) == per_row


# /tmp/m8: average height per project name and census area of the buildings at one point
POINT_GROUP = (
    "SELECT ps.project_name, cg.ace, COUNT(*) AS n, AVG(bp.height) AS avg_height "
    "FROM cim_vector.building AS b JOIN cim_census.census_geo AS cg "
    "ON ST_Contains(cg.geometry, b.building_geometry) "
    "JOIN cim_vector.building_properties AS bp ON b.building_id = bp.building_id "
    "AND b.lod = bp.lod, cim_vector.project_scenario AS ps "
    "WHERE ST_Within(b.building_geometry, ps.project_boundary) "
    "AND ST_Contains(b.building_geometry, ST_SetSRID(ST_Point(9.22278, 45.48163), 4326)) "
    "GROUP BY ps.project_name, cg.ace"
)


def test_groups_over_the_rows_at_one_point_are_refused(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(POINT_GROUP)
    rows = con.execute(render_duckdb(q, SCHEMA).sql).fetchall()
    assert 0 < len(rows) <= 3  # the handful of rows at the point
    assert point_groups(q.body, ctx(), {})  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(q, ctx())
    # the lines near that building are many: grouping them is a real question
    near = parse(
        "SELECT gb.voltage_kv, COUNT(DISTINCT gl.id) AS n_grid_lines "
        "FROM cim_vector.building AS b, cim_vector.grid_line AS gl, cim_vector.grid_bus AS gb "
        "WHERE ST_DWithin(ST_Transform(b.building_geometry, 32632), "
        "ST_Transform(gl.geometry, 32632), 100) AND gl.from_bus = gb.bus_id "
        "AND gl.project_id = gb.project_id AND gl.scenario_id = gb.scenario_id "
        "AND ST_Contains(b.building_geometry, ST_SetSRID(ST_MakePoint(9.22278, 45.48163), 4326)) "
        "GROUP BY gb.voltage_kv"
    )
    assert not point_groups(near.body, ctx(), {})  # type: ignore[arg-type]


# lead, twelfth pass: 18 of 300 rows of a deployed-schema run on the shared Stage 1 sample
# (s2_000007 of /tmp/dep1), here in the bundled schema's names
P12 = "ST_SetSRID(ST_MakePoint(9.19, 45.478), 4326)"
TILES_AVERAGED = (
    "SELECT COUNT(*) AS n_dtm_tiles, AVG(d.min_elevation) AS avg_min_elevation, "
    f"AVG(ST_Value(d.rast, {P12})) AS avg_ground_elevation_m "
    "FROM cim_raster.dtm_raster AS d "
    f"JOIN cim_raster.dsm_raster AS ds ON ST_Intersects(ds.rast, {P12}) "
    f"WHERE ST_Intersects(d.rast, {P12})"
)


def test_a_summary_of_the_tiles_at_one_point_is_refused(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(TILES_AVERAGED)
    ((n, avg_min, avg_value),) = con.execute(render_duckdb(q, SCHEMA).sql).fetchall()
    # listed, the tile's reading at the point is one honest value (no group) ...
    listed = parse(
        f"SELECT d.min_elevation, ST_Value(d.rast, {P12}) AS ground_elevation_m "
        f"FROM cim_raster.dtm_raster AS d WHERE ST_Intersects(d.rast, {P12})"
    )
    tile = con.execute(render_duckdb(listed, SCHEMA).sql).fetchall()
    assert not point_groups(listed.body, ctx(), {})  # type: ignore[arg-type]
    # ... which the summary repeats: the tile there (two where the point is on their edge,
    # one reading a value), counted once per DSM tile met
    assert 1 <= len(tile) <= 2 and n >= len(tile) and avg_value in {v for _, v in tile}
    assert min(m for m, _ in tile) <= avg_min <= max(m for m, _ in tile)
    assert point_groups(q.body, ctx(), {})  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(q, ctx())


# the read of 20 rows after the first fixes: one building by its ID, "per geometry source"
LABEL_GROUP = (
    "SELECT b.building_geometry_source, COUNT(DISTINCT gb.id) AS n_grid_buses "
    "FROM cim_vector.building AS b JOIN cim_vector.grid_bus AS gb "
    "ON ST_DWithin(b.building_geometry::geography, gb.geometry::geography, 100) "
    "WHERE gb.project_id = 'milan_citta_studi_2024' AND gb.scenario_id = 'optimized' "
    "AND b.building_id = 'CATASTO_UR477' GROUP BY b.building_geometry_source"
)


def test_a_group_by_a_value_of_the_one_named_thing_is_refused() -> None:
    q = parse(LABEL_GROUP)
    assert len(label_groups(q.body, ctx(), {})) == 1  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(q, ctx())
    # per level of detail: the named building's versions are several groups
    lod = parse(LABEL_GROUP.replace("b.building_geometry_source", "b.lod"))
    assert label_groups(lod.body, ctx(), {}) == []  # type: ignore[arg-type]


# /tmp/m8: a second step that passes the first's lines on, the project pinned outside
IDLE_STEP = (
    "WITH selected_grid_lines AS (SELECT gl.name, gl.project_id, gl.scenario_id, "
    "gl.length_km, gl.to_bus FROM cim_vector.grid_line AS gl "
    "WHERE gl.max_loading_percent > 74 AND gl.length_km <= 0.045), "
    "grid_line_metrics AS (SELECT sgl.name, sgl.project_id, sgl.scenario_id, sgl.length_km, "
    "sgl.to_bus FROM selected_grid_lines AS sgl) "
    "SELECT glm.name, glm.length_km, gb.name AS bus_name "
    "FROM grid_line_metrics AS glm, cim_vector.grid_bus AS gb "
    "WHERE glm.scenario_id = gb.scenario_id AND glm.project_id = gb.project_id "
    "AND glm.to_bus = gb.bus_id AND glm.project_id = 'milan_citta_studi_2024' "
    "AND glm.scenario_id = 'baseline' ORDER BY glm.name"
)


def test_an_idle_second_step_takes_the_main_blocks_filter_on_its_rows(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(IDLE_STEP)
    assert idle_steps(q) == ["grid_line_metrics"]
    after = fill_idle_steps(q)
    assert idle_steps(after) == []
    sql = render_postgis(after)
    assert (
        "FROM selected_grid_lines AS sgl\n  WHERE sgl.project_id = 'milan_citta_studi_2024'" in sql
    )
    assert "glm.project_id = 'milan" not in sql, sql
    # the same rows, in the same order
    run = [con.execute(render_duckdb(x, SCHEMA).sql).fetchall() for x in (q, after)]
    assert run[0] == run[1] and run[0]


def test_a_clustering_of_the_rows_a_cte_cuts_at_one_point_is_refused() -> None:
    # the read of 20 rows after: DBSCAN of the lidar buildings intersecting one point
    point = "ST_SetSRID(ST_Point(9.21413, 45.4805), 4326)"
    q = parse(
        f"WITH sb AS (SELECT b.building_id, b.building_geometry FROM cim_vector.building AS b "
        f"WHERE b.building_geometry_source = 'lidar' AND ST_Intersects(b.building_geometry, "
        f"{point})) SELECT s.building_id, ST_ClusterDBSCAN(ST_Transform(s.building_geometry, "
        f"32632), eps := 150, minpoints := 5) OVER () AS cluster_id FROM sb AS s"
    )
    assert point_groups(q.body, ctx(), ast.ctes_by_name(q))  # type: ignore[arg-type]
    with pytest.raises(BuildError):
        settle_pins(q, ctx())
    near = parse(render_postgis(q).replace(f"ST_Intersects(b.building_geometry, {point})", "TRUE"))
    assert not point_groups(near.body, ctx(), ast.ctes_by_name(near))  # type: ignore[arg-type]


def test_a_step_at_the_point_beside_another_table_keeps_its_condition_outside() -> None:
    # the two tables meet only through the point they are both read at (STA004 reads that
    # as their link); moving the step's condition into it would leave a cartesian product
    # (found by test_expand's property test on the deployed schema after the merge)
    point = "ST_SetSRID(ST_MakePoint(9.18, 45.47), 4326)"
    q = parse(
        "WITH s AS (SELECT dtm.rast, dtm.max_elevation FROM cim_raster.dtm_raster AS dtm "
        "WHERE dtm.max_elevation > 120), "
        "m AS (SELECT s.rast, s.max_elevation FROM s) "
        "SELECT COUNT(*) AS n, AVG(m.max_elevation) AS a "
        "FROM m, cim_raster.dsm_raster AS dsm "
        f"WHERE ST_Intersects(dsm.rast, {point}) AND ST_Intersects(m.rast, {point})"
    )
    got = render_postgis(fill_idle_steps(q, ctx()))
    assert got.count("ST_Intersects(m.rast") == 1, got


def test_a_step_whose_columns_the_move_leaves_unread_is_refused() -> None:
    # the thirteenth pass: a Hypothesis draw (tests/test_expand.py) where the main block
    # only counts the step's rows; its conditions moved into the step, nothing reads the
    # step's columns and no select list is left to keep (PUR012)
    q = parse(
        "WITH selected_grid_buses AS (SELECT gb.geometry, gb.in_service "
        "FROM cim_vector.grid_bus AS gb "
        "WHERE gb.project_id = 'milan_navigli_2023' AND gb.scenario_id = 'baseline'), "
        "grid_bus_metrics AS (SELECT sgb.geometry, sgb.in_service "
        "FROM selected_grid_buses AS sgb) "
        "SELECT COUNT(*) AS n_grid_buses FROM grid_bus_metrics AS gbm "
        "WHERE ST_DWithin(gbm.geometry::geography, "
        "ST_SetSRID(ST_MakePoint(9.17352, 45.47375), 4326)::geography, 1500) "
        "AND gbm.in_service = true"
    )
    assert idle_steps(q) == ["grid_bus_metrics"]
    with pytest.raises(BuildError, match="none of its columns"):
        fill_idle_steps(q, ctx())
    # a reader of one of them keeps the step, cut to what is read
    read = parse(render_postgis(q).replace("COUNT(*) AS n", "COUNT(DISTINCT gbm.in_service) AS n"))
    got = render_postgis(fill_idle_steps(read, ctx()))
    assert "SELECT sgb.in_service\n  FROM selected_grid_buses" in got, got
