"""Issue 14, the lead's read of 2a85859 (300 CTGAN rows, seed 0): a spatial join between
big sides narrowed its subject to one named row *beside* the place the query already
asked ("buildings within 750 m of (9.22, 45.47), with ID 'OSM_194056'": one building
named twice; 6 of 300 rows), and a grouped block whose only aggregate the pins fixed kept
its GROUP BY with no aggregate ("For each line name ..., compute the of ...")."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from expand_support import Result, ctx, result_rows
from test_expand import context, corpus_structures

from cimgen import ast
from cimgen.expand import expand
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import block_refs
from cimgen.expand.pinned import drop_constant_aggregates
from cimgen.grammar import parse
from cimgen.render import render_postgis

_PLACES = frozenset({"st_makepoint", "st_makeenvelope"})


def _named_and_placed(query: ast.Query, c: object) -> bool:
    """A block that names one row by a label (``gb.name = 'Distribution Point 250'``) and
    also asks a vector row for a literal point or box."""
    for body in (n for n in ast.walk(query) if isinstance(n, ast.Select)):
        tables = {r.alias or r.name: r for r in block_refs(body)}
        named = placed = False
        for cond in ast.conjuncts(body.where):
            if (
                isinstance(cond, ast.BinaryOp)
                and cond.op == "="
                and isinstance(cond.left, ast.Column)
                and isinstance(cond.right, ast.String)
            ):
                ref = tables.get(cond.left.table or "")
                if ref is not None and ref.schema is not None:
                    info = c.table(f"{ref.schema}.{ref.name}")  # type: ignore[attr-defined]
                    named |= cond.left.name in info.labels and cond.left.name not in info.scope
            funcs = {n.name.lower() for n in ast.walk(cond) if isinstance(n, ast.FuncCall)}
            rast = any(isinstance(n, ast.Column) and n.name == "rast" for n in ast.walk(cond))
            placed |= bool(funcs & _PLACES) and not rast
        if named and placed:
            return True
    return False


def test_a_row_named_to_bound_a_spatial_join_is_not_also_placed() -> None:
    c = context("cim_wizard")
    rng = random.Random(11)
    built = hit = 0
    for k, s in enumerate(rng.sample(corpus_structures(), 400)):
        e = expand(s, c, random.Random(k))
        if e.query is None:
            continue
        built += 1
        if _named_and_placed(e.query, c):
            hit += 1
            print(render_postgis(e.query))
    assert built > 300
    assert hit == 0


GROUPED = """SELECT gl.name, b.building_geometry_source, COUNT(DISTINCT gb.id) AS n_grid_buses
FROM cim_vector.grid_bus AS gb
JOIN cim_vector.building AS b ON ST_Within(gb.geometry, b.building_geometry)
JOIN cim_vector.grid_line AS gl ON gb.scenario_id = gl.scenario_id
  AND gb.project_id = gl.project_id AND gb.bus_id = gl.from_bus
WHERE gb.project_id = 'milan_citta_studi_2024' AND gb.scenario_id = 'optimized'
  AND b.lod = 1 AND gb.name = 'Distribution Point 568'
GROUP BY gl.name, b.building_geometry_source"""


def test_a_grouping_whose_only_aggregate_the_pins_fix_is_refused() -> None:
    with pytest.raises(BuildError, match="grouping left with no aggregate"):
        drop_constant_aggregates(parse(GROUPED), ctx())


def test_a_grouping_keeps_an_aggregate_the_pins_do_not_fix() -> None:
    q = parse(GROUPED.replace("COUNT(DISTINCT gb.id)", "COUNT(DISTINCT b.id)"))
    assert drop_constant_aggregates(q, ctx()) == q


MIXED = """SELECT b.building_id, bp.hvac_type, ps.project_name, bp.scenario_id,
  ps.scenario_id AS ps_scenario_id
FROM cim_vector.building AS b
JOIN cim_vector.building_properties AS bp ON b.id = bp.building_fk
JOIN cim_vector.project_scenario AS ps ON ST_Contains(ps.census_boundary, b.building_geometry)
WHERE b.building_geometry_source = 'osm'"""


def test_scoped_tables_met_through_an_unscoped_one_share_the_scenario(
    duckdb_result: Result,
) -> None:
    from cimgen.expand.distinct import tie_scopes

    q = parse(MIXED)
    tied = tie_scopes(q, ctx())
    sql = render_postgis(tied)
    assert "ps.project_id = bp.project_id" in sql and "ps.scenario_id = bp.scenario_id" in sql
    before, after = result_rows(duckdb_result, q), result_rows(duckdb_result, tied)
    assert any(r[3] != r[4] for r in before)  # rows of two scenarios side by side
    assert after and all(r[3] == r[4] for r in after)
    assert tie_scopes(tied, ctx()) == tied  # tied once


def test_a_pair_of_one_scoped_tables_rows_is_left_to_its_link() -> None:
    from cimgen.expand.distinct import tie_scopes

    q = parse(
        "SELECT a.project_name, b.project_name AS other FROM cim_vector.project_scenario AS a "
        "JOIN cim_vector.project_scenario AS b ON ST_Intersects(a.project_boundary, "
        "b.project_boundary) AND a.project_id <> b.project_id"
    )
    assert tie_scopes(q, ctx()) == q


PASS_THROUGH = """WITH selected_buildings AS (
  SELECT building.building_geometry FROM cim_vector.building AS building
),
building_clusters AS (
  SELECT ST_ClusterDBSCAN(ST_Transform(sb.building_geometry, 32632), eps := 50,
    minpoints := 2) OVER () AS cluster_id
  FROM selected_buildings AS sb
)
SELECT bc.cluster_id, COUNT(*) AS n_buildings FROM building_clusters AS bc
WHERE bc.cluster_id IS NOT NULL GROUP BY bc.cluster_id"""


def test_a_cte_step_that_only_passes_rows_on_is_refused() -> None:
    from cimgen.expand.multiply import pass_through_steps, refuse_pass_through_steps

    q = parse(PASS_THROUGH)
    assert pass_through_steps(q) == ["selected_buildings"]  # the clustering step computes
    with pytest.raises(BuildError, match="only passes its rows on"):
        refuse_pass_through_steps(q)
    narrowed = parse(
        PASS_THROUGH.replace(
            "FROM cim_vector.building AS building\n",
            "FROM cim_vector.building AS building WHERE building.lod = 2\n",
        )
    )
    assert refuse_pass_through_steps(narrowed) == narrowed


COMMA = """SELECT census.sez2011, COUNT(*) AS n_property_records, AVG(bp.height) AS avg_height
FROM cim_vector.building AS b
JOIN cim_census.census_geo AS census ON ST_Within(b.building_geometry, census.geometry)
JOIN cim_vector.building_properties AS bp ON b.id = bp.building_fk,
  cim_vector.project_scenario AS ps
WHERE ST_Within(b.building_geometry, ps.census_boundary)
  AND b.building_geometry_source = 'osm'
  AND ps.scenario_id = 'baseline'
GROUP BY census.sez2011"""


def test_a_scope_tie_goes_into_the_on_of_a_join_and_beside_a_comma_join_s_conditions(
    duckdb_result: Result,
) -> None:
    """Issue 14, twelfth pass: a table met by a JOIN gets the tie in its ON; a comma join
    keeps its comma (its join count, and so the structure's counts and label) and gets
    the tie beside the WHERE condition that joins it, a pinned scenario copied as a pin;
    the result is the tied one."""
    from cimgen.expand.distinct import tie_scopes
    from cimgen.features import extract_features

    mixed_q = parse(MIXED)
    joined = tie_scopes(mixed_q, ctx())
    body = joined.body
    assert isinstance(body, ast.Select) and isinstance(body.from_[0], ast.Join)
    on = body.from_[0].on
    assert on is not None and body.where == mixed_q.body.where  # type: ignore[union-attr]
    said = render_postgis(replace(joined, body=ast.Select((ast.SelectItem(on),))))
    assert "ps.project_id = bp.project_id" in said and "ps.scenario_id = bp.scenario_id" in said

    q = parse(COMMA)
    tied = tie_scopes(q, ctx())
    body = tied.body
    assert isinstance(body, ast.Select) and len(body.from_) == 2  # the comma stays
    sql = render_postgis(tied)
    # the scenario pinned on one side is a pin on the other (a pin is better than a tie)
    assert "ps.project_id = bp.project_id" in sql and "bp.scenario_id = 'baseline'" in sql
    assert "ps.scenario_id = bp.scenario_id" not in sql
    before, after = extract_features(render_postgis(q)), extract_features(sql)
    assert (before.join_count, before.table_count) == (after.join_count, after.table_count)
    mixed, tied_rows = result_rows(duckdb_result, q), result_rows(duckdb_result, tied)
    assert tied_rows and tied_rows != mixed
    assert tie_scopes(tied, ctx()) == tied  # tied once
