"""The fourteenth realism pass (a) (issue 14): each thing once. A table that holds several
versions of one thing (a building per level of detail) listed, counted or clustered over
every version repeats each thing once per version; a value summed or averaged over the
copies a spatial link makes (a line's loading once per building near its bus), or a key
link back to a parent (a census zone's population once per building inside it), is
counted several times. Each test reads the expanded AST, or its result on the stand-in
world, the way ``benchmarks/bench_realism14a.py`` does."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import replace
from typing import Any

import pytest
from expand_support import ctx
from test_expand import corpus_structures

from cimgen import ast
from cimgen.expand import expand
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import thing_key
from cimgen.expand.multiply import aggregated, block_refs, multiplied
from cimgen.grammar import parse

# the lead's read of the thirteenth pass (1,000 CTGAN rows, seed 1): "buildings within
# 750 m of a point, with buses within 150 m, with the lines from the bus: number of
# distinct buses and average maximum line loading" -- each line averaged once per building
LOADING = (
    "SELECT COUNT(DISTINCT gb.id) AS n_grid_buses, AVG(gl.max_loading_percent) AS avg_load "
    "FROM cim_vector.building AS b JOIN cim_vector.grid_bus AS gb ON ST_DWithin("
    "b.building_geometry::geography, gb.geometry::geography, 150) JOIN cim_vector.grid_line "
    "AS gl ON gb.bus_id = gl.from_bus AND gb.project_id = gl.project_id AND gb.scenario_id "
    "= gl.scenario_id WHERE b.lod = 1 AND ST_DWithin(b.building_geometry::geography, "
    "ST_SetSRID(ST_MakePoint(9.19, 45.47), 4326)::geography, 750)"
)
# 300 CTGAN rows of main cc36931, seed 0 (s2_000019): a zone's population once per building
POPULATION = (
    "SELECT COUNT(*) AS n_buildings, SUM(cg.p1) AS total_p1 FROM cim_vector.building AS b "
    "JOIN cim_census.census_geo AS cg ON b.census_id = cg.sez2011 "
    "WHERE b.building_geometry_source = 'catasto'"
)


@pytest.mark.parametrize(
    "sql",
    [
        LOADING,
        POPULATION,
        # a zone containing buildings: its population once per building inside
        "SELECT AVG(cg.p1) AS avg_p1 FROM cim_vector.building AS b JOIN cim_census.census_geo "
        "AS cg ON ST_Within(b.building_geometry, cg.geometry) WHERE b.lod = 1",
        # one building by its label, its levels open: each line once per level
        "SELECT SUM(gl.length_km) AS s FROM cim_vector.building AS b JOIN cim_vector.grid_bus "
        "AS gb ON ST_DWithin(b.building_geometry::geography, gb.geometry::geography, 100) "
        "JOIN cim_vector.grid_line AS gl ON gb.bus_id = gl.from_bus AND gb.project_id = "
        "gl.project_id AND gb.scenario_id = gl.scenario_id WHERE b.building_id = 'OSM_1'",
    ],
)
def test_a_value_summed_over_the_copies_a_link_makes_is_refused(sql: str) -> None:
    assert multiplied(parse(sql), ctx()) is not None


@pytest.mark.parametrize(
    "sql",
    [
        # a distance is one per pair
        "SELECT AVG(ST_Distance(b.building_geometry::geography, gb.geometry::geography)) AS d "
        "FROM cim_vector.building AS b JOIN cim_vector.grid_bus AS gb ON ST_DWithin("
        "b.building_geometry::geography, gb.geometry::geography, 100) WHERE b.lod = 1",
        # the subject's own value over a link to one parent
        "SELECT SUM(ST_Area(b.building_geometry::geography)) AS a FROM cim_vector.building AS "
        "b JOIN cim_census.census_geo AS cg ON b.census_id = cg.sez2011 WHERE cg.p1 > 100",
        # one building (its key): each line once
        "SELECT SUM(gl.length_km) AS s FROM cim_vector.building AS b JOIN cim_vector.grid_bus "
        "AS gb ON ST_DWithin(b.building_geometry::geography, gb.geometry::geography, 100) "
        "JOIN cim_vector.grid_line AS gl ON gb.bus_id = gl.from_bus AND gb.project_id = "
        "gl.project_id AND gb.scenario_id = gl.scenario_id WHERE b.id = 5",
        # per building (its key): each line once in each group
        "SELECT b.id, SUM(gl.length_km) AS s FROM cim_vector.building AS b JOIN "
        "cim_vector.grid_bus AS gb ON ST_DWithin(b.building_geometry::geography, "
        "gb.geometry::geography, 100) JOIN cim_vector.grid_line AS gl ON gb.bus_id = "
        "gl.from_bus AND gb.project_id = gl.project_id AND gb.scenario_id = gl.scenario_id "
        "GROUP BY b.id",
        # the far side's own values over a distance: one per pair (the sixth pass's reading)
        "SELECT SUM(gb.voltage_kv) AS s FROM cim_vector.building AS b JOIN cim_vector.grid_bus "
        "AS gb ON ST_DWithin(b.building_geometry::geography, gb.geometry::geography, 100) "
        "WHERE b.lod = 1",
        # MAX is the same over copies
        "SELECT MAX(cg.p1) AS m FROM cim_vector.building AS b JOIN cim_census.census_geo AS cg "
        "ON b.census_id = cg.sez2011",
    ],
)
def test_a_value_once_per_row_is_kept(sql: str) -> None:
    assert multiplied(parse(sql), ctx()) is None


def _versions_repeat(con: Any, q: ast.Query, c: Any) -> bool:
    """Does the top-level block meet one thing of a versioned table (first FROM item) in two
    versions: one thing key with two primary keys, overall for a listing, in one group for
    an aggregate (unless it counts the thing DISTINCT)?"""
    from cimgen.render import render_duckdb

    body = q.body
    assert isinstance(body, ast.Select)
    ref = block_refs(body)[0]
    info = c.by_name[ref.qualified]
    key = thing_key(info)
    assert key is not None
    grouped = aggregated(body) or bool(body.group_by)
    if grouped and any(
        isinstance(n, ast.FuncCall)
        and n.distinct
        and any(isinstance(a, ast.Column) and a.name == key for a in n.args)
        for it in body.items
        for n in ast.walk(it.expr)
    ):
        return False
    cols = (*body.group_by, ast.Column(key, ref.ref_name), ast.Column(info.pk[0], ref.ref_name))
    variant = replace(
        q,
        body=replace(
            body,
            items=tuple(ast.SelectItem(e, f"g{i}_") for i, e in enumerate(cols)),
            group_by=(),
            having=None,
            distinct=True,
        ),
        order_by=(),
        limit=None,
        offset=None,
    )
    rows = con.execute(render_duckdb(variant, c.schema).sql).fetchall()
    return any(v > 1 for v in Counter(r[:-1] for r in rows).values())


def test_a_listing_count_or_clustering_meets_each_thing_at_one_level() -> None:
    """Buildings are one row per building and level of detail (the table's version column,
    from the data: :func:`cimgen.expand.distinct.version_columns`). Main cc36931 listed one
    building at two levels in 51 / 207 / 73 rows (300 CTGAN s0, 1,000 CTGAN s1, 300
    GaussianCopula s2) and counted one twice in 7 / 42 / 4; the subject is now pinned to
    one level (the pivot's)."""
    from expand_support import SCHEMA, demo_records, stand_in_context

    from cimgen.engines.duckdb import open_fixture
    from cimgen.generate.pipeline import _planting, _with_metric_srid
    from cimgen.world.corpus import learn_corpus

    corpus = learn_corpus(SCHEMA, list(demo_records()))
    schema = _with_metric_srid(SCHEMA, corpus, 0)
    c = stand_in_context(0)
    con = open_fixture(schema, 0, plant=_planting(schema, corpus, 0))
    about = [s for s in corpus_structures() if not s.has_window]
    seen = repeats = 0
    try:
        for k, s in enumerate(random.Random(14).sample(about, 200)):
            q = expand(s, c, random.Random(k)).query
            if q is None or not isinstance(q.body, ast.Select) or q.body.distinct:
                continue
            refs = block_refs(q.body)
            info = c.by_name.get(refs[0].qualified) if refs else None
            if info is None or not [v for v in version_columns(c, info) if v not in info.scope]:
                continue
            seen += 1
            repeats += _versions_repeat(con, q, c)
    finally:
        con.close()
    assert seen >= 30, seen
    assert repeats == 0, (repeats, seen)
