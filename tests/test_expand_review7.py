"""The seventh realism pass (issue 14): a CTE's ``COUNT(*)`` over rows a later join
multiplies, a building's properties read once per level of detail, and a group a filter
fixes to one value. Each test reads the expanded AST the way
``benchmarks/bench_realism_shapes.py`` (``seventh_shapes``) does and, where the defect is
a number, runs both forms on the fixture's DuckDB database."""

from __future__ import annotations

import pytest
from expand_support import SCHEMA, ctx

from cimgen.engines.duckdb import open_fixture
from cimgen.expand.distinct import equate_levels, open_levels
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import (
    count_subjects,
    drop_fixed_groups,
    drop_raster_labels,
    drop_repeated_pins,
    drop_unused_cte_columns,
    fixed_groups,
    one_row_refs,
)
from cimgen.grammar import parse
from cimgen.render import render_duckdb, render_postgis


@pytest.fixture(scope="module")
def con():  # type: ignore[no-untyped-def]
    c = open_fixture(SCHEMA, 0)
    yield c
    c.close()


# a default-job row of c8ec7c0: DBSCAN clusters of buses joined to the lines ending at
# them, "number of buses" per cluster counting bus x line pairs
CLUSTER_COUNT = (
    "WITH grid_bus_clusters AS (SELECT ST_ClusterDBSCAN(ST_Transform(gb.geometry, 32632), "
    "eps := 300, minpoints := 5) OVER () AS cluster_id, gb.bus_id, gb.project_id, "
    "gb.scenario_id FROM cim_vector.grid_bus AS gb "
    "WHERE gb.project_id = 'milan_citta_studi_2024' AND gb.scenario_id = 'optimized') "
    "SELECT gbc.cluster_id, COUNT(*) AS n_grid_buses, AVG(gl.length_km) AS avg_length_km "
    "FROM grid_bus_clusters AS gbc JOIN cim_vector.grid_line AS gl ON gbc.bus_id = gl.to_bus "
    "AND gbc.project_id = gl.project_id AND gbc.scenario_id = gl.scenario_id "
    "WHERE gbc.cluster_id IS NOT NULL GROUP BY gbc.cluster_id"
)


def test_a_cte_count_over_lines_ending_at_its_buses_is_named_after_the_lines() -> None:
    q = parse(CLUSTER_COUNT + " ORDER BY n_grid_buses DESC")
    sql = render_postgis(count_subjects(q, ctx()))
    # each line ends at one bus: COUNT(*) counts lines, and says so
    assert "COUNT(*) AS n_grid_lines" in sql and "ORDER BY n_grid_lines DESC" in sql, sql


# the same count without the clustering (which DuckDB lacks): lines per bus voltage
VOLTAGE_COUNT = (
    "WITH m AS (SELECT gb.voltage_kv, gb.bus_id, gb.project_id, gb.scenario_id "
    "FROM cim_vector.grid_bus AS gb WHERE gb.project_id = '{p}' AND gb.scenario_id = '{s}') "
    "SELECT m.voltage_kv, COUNT(*) AS n_grid_buses, AVG(gl.length_km) AS avg_length_km "
    "FROM m JOIN cim_vector.grid_line AS gl ON m.bus_id = gl.from_bus "
    "AND m.project_id = gl.project_id AND m.scenario_id = gl.scenario_id GROUP BY m.voltage_kv"
)


def test_the_renamed_count_is_the_number_of_lines_on_the_data(con) -> None:  # type: ignore[no-untyped-def]
    # a scenario where some bus starts two lines, so lines and buses differ
    p, s, _ = con.execute(
        "SELECT project_id, scenario_id, from_bus FROM cim_vector.grid_line "
        "GROUP BY ALL HAVING COUNT(*) > 1 ORDER BY ALL LIMIT 1"
    ).fetchone()
    after = count_subjects(parse(VOLTAGE_COUNT.format(p=p, s=s)), ctx())
    assert "COUNT(*) AS n_grid_lines" in render_postgis(after)
    got = {k: n for k, n, _ in con.execute(render_duckdb(after, SCHEMA).sql).fetchall()}
    lines = dict(
        con.execute(
            "SELECT gb.voltage_kv, COUNT(*) FROM cim_vector.grid_line gl "
            "JOIN cim_vector.grid_bus gb ON gl.from_bus = gb.bus_id AND gl.project_id = "
            "gb.project_id AND gl.scenario_id = gb.scenario_id "
            "WHERE gb.project_id = ? AND gb.scenario_id = ? GROUP BY 1",
            [p, s],
        ).fetchall()
    )
    buses = dict(
        con.execute(
            "SELECT gb.voltage_kv, COUNT(*) FROM cim_vector.grid_bus gb "
            "WHERE gb.project_id = ? AND gb.scenario_id = ? AND EXISTS (SELECT 1 FROM "
            "cim_vector.grid_line gl WHERE gl.from_bus = gb.bus_id AND gl.project_id = "
            "gb.project_id AND gl.scenario_id = gb.scenario_id) GROUP BY 1",
            [p, s],
        ).fetchall()
    )
    assert got == lines and sum(lines.values()) > sum(buses.values())


# buses of a CTE near buildings: a building may be near several buses, so the pairs are
# counted by the buses' key, which the CTE chain selects
NEAR_COUNT = (
    "WITH sel AS (SELECT gb.bus_id, gb.geometry FROM cim_vector.grid_bus AS gb "
    "WHERE gb.project_id = '{p}' AND gb.scenario_id = '{s}'), "
    "m AS (SELECT s.bus_id, s.geometry FROM sel AS s) "
    "SELECT COUNT(*) AS n_grid_buses, AVG(ST_Area(b.building_geometry::geography)) AS avg_area_m2 "
    "FROM m JOIN cim_vector.building AS b "
    "ON ST_DWithin(m.geometry::geography, b.building_geometry::geography, 50)"
)


def test_a_cte_chain_selects_the_key_it_is_counted_by(con) -> None:  # type: ignore[no-untyped-def]
    p, s = con.execute(
        "SELECT project_id, scenario_id FROM cim_vector.grid_bus GROUP BY ALL ORDER BY ALL LIMIT 1"
    ).fetchone()
    before = parse(NEAR_COUNT.format(p=p, s=s))
    after = count_subjects(before, ctx())
    sql = render_postgis(after)
    assert "COUNT(DISTINCT m.id) AS n_grid_buses" in sql, sql
    assert "gb.id" in sql and "s.id" in sql
    pairs = con.execute(render_duckdb(before, SCHEMA).sql).fetchone()[0]
    got = con.execute(render_duckdb(after, SCHEMA).sql).fetchone()[0]
    truth_q = parse(
        f"SELECT COUNT(*) FROM cim_vector.grid_bus AS gb WHERE gb.project_id = '{p}' AND "
        f"gb.scenario_id = '{s}' AND EXISTS (SELECT 1 FROM cim_vector.building AS b WHERE "
        "ST_DWithin(gb.geometry::geography, b.building_geometry::geography, 50))"
    )
    truth = con.execute(render_duckdb(truth_q, SCHEMA).sql).fetchone()[0]
    assert 0 < got == truth < pairs


def test_a_grouped_cte_subject_has_no_key_and_is_refused() -> None:
    q = parse(
        "WITH per AS (SELECT gb.zone, gb.geometry FROM cim_vector.grid_bus AS gb "
        "GROUP BY gb.zone, gb.geometry) SELECT COUNT(*) AS n_grid_buses FROM per "
        "JOIN cim_vector.building AS b ON ST_Intersects(per.geometry, b.building_geometry)"
    )
    with pytest.raises(BuildError):
        count_subjects(q, ctx())


# a default-job row of c8ec7c0: a building (one row per level of detail) met through its
# height cache and its properties by building_id alone
LEVELS_OPEN = (
    "SELECT b.building_id, bhc.dsm_avg_height, bp.volume FROM cim_vector.building AS b "
    "JOIN cim_raster.building_height_cache AS bhc ON b.building_id = bhc.building_id "
    "JOIN cim_vector.building_properties AS bp ON bhc.building_id = bp.building_id "
    "AND bhc.project_id = bp.project_id AND bhc.scenario_id = bp.scenario_id "
    "WHERE bhc.project_id = '{p}' AND bhc.scenario_id = '{s}'"
)


def test_a_building_meets_its_properties_at_one_level(con) -> None:  # type: ignore[no-untyped-def]
    p, s = con.execute(
        "SELECT project_id, scenario_id FROM cim_raster.building_height_cache "
        "GROUP BY ALL ORDER BY ALL LIMIT 1"
    ).fetchone()
    before = parse(LEVELS_OPEN.format(p=p, s=s))
    after = equate_levels(before, ctx())
    assert "AND b.lod = bp.lod" in render_postgis(after)
    assert open_levels(before.body, ctx()) and not open_levels(after.body, ctx())
    rows = [r[0] for r in con.execute(render_duckdb(before, SCHEMA).sql).fetchall()]
    kept = [r[0] for r in con.execute(render_duckdb(after, SCHEMA).sql).fetchall()]
    assert len(rows) > len(set(rows))  # a building repeated per level of detail
    assert len(kept) == len(set(kept)) == len(set(rows))


def test_a_key_link_names_one_level_and_is_left() -> None:
    q = parse(
        "SELECT b.building_id, bp.volume FROM cim_vector.building AS b "
        "JOIN cim_vector.building_properties AS bp ON b.id = bp.building_fk"
    )
    assert open_levels(q.body, ctx()) == [] and equate_levels(q, ctx()) == q


def test_a_pinned_building_meets_properties_of_its_level() -> None:
    q = parse(
        "SELECT bhc.building_id, bp.volume FROM cim_raster.building_height_cache AS bhc "
        "JOIN cim_vector.building_properties AS bp ON bhc.building_id = bp.building_id, "
        "cim_vector.building AS b WHERE bhc.building_id = b.building_id AND b.lod = 1"
    )
    assert "bp.lod = b.lod" in render_postgis(equate_levels(q, ctx()))


# default-job rows of main 1ef3833 / c8ec7c0: a rank "within each grid zone" of buses the
# filter keeps in zone 'LV', and a line pinned by name grouped by its destination bus
ZONE_RANK = (
    "SELECT gb.name, RANK() OVER (PARTITION BY gb.zone ORDER BY gb.voltage_kv) AS rank_in_group "
    "FROM cim_vector.grid_bus AS gb WHERE gb.project_id = 'milan_porta_garibaldi_2024' "
    "AND gb.scenario_id = 'proposed' AND gb.zone = 'LV' ORDER BY rank_in_group"
)
ONE_LINE = (
    "SELECT gb.voltage_kv, AVG(gl.length_km) AS avg_length_km FROM cim_vector.grid_line AS gl "
    "JOIN cim_vector.grid_bus AS gb ON gl.scenario_id = gb.scenario_id "
    "AND gl.project_id = gb.project_id AND gl.to_bus = gb.bus_id "
    "WHERE gl.project_id = 'milan_porta_garibaldi_2024' AND gl.scenario_id = 'optimized' "
    "AND gl.name = 'Distribution Line 136' GROUP BY gb.voltage_kv"
)


def test_a_partition_the_filter_pins_is_dropped() -> None:
    q = parse(ZONE_RANK)
    assert fixed_groups(q.body, ctx()) == [q.body.items[1].expr.over.partition_by[0]]
    with pytest.raises(BuildError):  # one partition: the rank is the row's position
        drop_fixed_groups(q, ctx())
    two = parse(ZONE_RANK.replace("PARTITION BY gb.zone", "PARTITION BY gb.zone, gb.in_service"))
    sql = render_postgis(drop_fixed_groups(two, ctx()))
    assert "PARTITION BY gb.in_service ORDER BY" in sql, sql


def test_a_group_of_one_pinned_line_is_refused() -> None:
    q = parse(ONE_LINE)
    assert "gb" in one_row_refs(q.body, ctx())  # the pinned line's destination bus
    with pytest.raises(BuildError):
        drop_fixed_groups(q, ctx())


def test_groups_of_a_project_are_left() -> None:
    q = parse(ONE_LINE.replace(" AND gl.name = 'Distribution Line 136'", ""))
    assert fixed_groups(q.body, ctx()) == [] and drop_fixed_groups(q, ctx()) == q


# a default-job row of c8ec7c0: the raster kind and SRID pinned in the CTE and again on its
# columns outside it
CHM_TWICE = (
    "WITH sel AS (SELECT raster.filename, raster.rast, raster.srid, raster.raster_type "
    "FROM cim_raster.raster_model AS raster "
    "WHERE raster.srid = 4326 AND raster.raster_type = 'CHM') "
    "SELECT s.filename, ST_Value(s.rast, ST_SetSRID(ST_MakePoint(9.2, 45.48), 4326)) AS v "
    "FROM sel AS s WHERE ST_Intersects(s.rast, ST_SetSRID(ST_MakePoint(9.2, 45.48), 4326)) "
    "AND s.srid = 4326 AND s.raster_type = 'CHM'"
)


def test_a_pin_the_cte_applies_is_not_said_again() -> None:
    after = drop_unused_cte_columns(drop_repeated_pins(parse(CHM_TWICE)), ctx())
    sql = render_postgis(after)
    assert sql.count("4326 AND") == 1 and sql.count("'CHM'") == 1, sql
    assert "raster.srid," not in sql  # the CTE column only the repeated pin read
    other = parse(CHM_TWICE.replace("s.raster_type = 'CHM'", "s.raster_type = 'DSM'"))
    assert "s.raster_type = 'DSM'" in render_postgis(drop_repeated_pins(other))


def test_a_raster_joined_for_its_value_does_not_list_its_file_name() -> None:
    q = parse(
        "SELECT gl.name, ST_Value(rm.rast, ST_Centroid(gl.geometry)) AS ground_elevation_m, "
        "rm.filename FROM cim_vector.grid_line AS gl JOIN cim_raster.raster_model AS rm "
        "ON ST_Intersects(rm.rast, ST_Centroid(gl.geometry)) "
        "WHERE rm.srid = 4326 AND rm.raster_type = 'DTM'"
    )
    sql = render_postgis(drop_raster_labels(q, ctx()))
    assert "filename" not in sql and "ground_elevation_m" in sql
    listing = parse(
        "SELECT rm.filename, ST_Value(rm.rast, ST_SetSRID(ST_MakePoint(9.2, 45.48), 4326)) AS v "
        "FROM cim_raster.raster_model AS rm WHERE rm.raster_type = 'DTM'"
    )
    assert drop_raster_labels(listing, ctx()) == listing  # the rasters are the subject
