"""Issue 14, the lead's read of the merged eighth pass: a count named after a table met
*from* a table met by nearness (the properties of the buildings within 100 m of buses)
counted bus x building pairs: a building near two buses of one voltage counted twice
(``COUNT(*) AS n_property_records`` per voltage, read "the number of buildings")."""

from __future__ import annotations

import pytest
from expand_support import SCHEMA, ctx

from cimgen.engines.duckdb import open_fixture
from cimgen.expand.multiply import count_subjects
from cimgen.grammar import parse
from cimgen.render import render_duckdb, render_postgis

NEAR = """SELECT gb.voltage_kv, {counts}, AVG(bp.height) AS avg_height
FROM cim_vector.grid_bus AS gb
JOIN cim_vector.building AS b
  ON ST_DWithin(gb.geometry::geography, b.building_geometry::geography, 100)
JOIN cim_vector.building_properties AS bp ON b.id = bp.building_fk
WHERE gb.project_id = 'milan_porta_garibaldi_2024' AND gb.scenario_id = 'optimized'
  AND b.lod = 1
  AND bp.project_id = 'milan_porta_garibaldi_2024' AND bp.scenario_id = 'optimized'
GROUP BY gb.voltage_kv"""


@pytest.fixture(scope="module")
def con():  # type: ignore[no-untyped-def]
    c = open_fixture(SCHEMA, 0)
    yield c
    c.close()


def test_a_count_of_what_a_near_table_brings_counts_distinct_rows(con) -> None:  # type: ignore[no-untyped-def]
    q = parse(NEAR.format(counts="COUNT(*) AS n_property_records"))
    after = count_subjects(q, ctx())
    sql = render_postgis(after)
    assert "COUNT(DISTINCT bp.id) AS n_property_records" in sql, sql
    before_rows = {r[0]: r[1] for r in con.execute(render_duckdb(q, SCHEMA).sql).fetchall()}
    after_rows = {r[0]: r[1] for r in con.execute(render_duckdb(after, SCHEMA).sql).fetchall()}
    distinct = {
        r[0]: r[1]
        for r in con.execute(
            render_duckdb(
                parse(NEAR.format(counts="COUNT(DISTINCT b.building_id) AS n")), SCHEMA
            ).sql
        ).fetchall()
    }
    assert after_rows == distinct  # one property record per building here: the buildings
    assert any(before_rows[k] > after_rows[k] for k in after_rows)  # pairs counted before


def test_beside_another_count_the_pair_count_is_left() -> None:
    # a second count of the near table would read as the same number ("number of distinct
    # buildings" twice); such a block is left as it was
    q = parse(NEAR.format(counts="COUNT(*) AS n_property_records, COUNT(DISTINCT b.id) AS n_b"))
    assert "COUNT(*) AS n_property_records" in render_postgis(count_subjects(q, ctx()))
