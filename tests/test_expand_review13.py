"""The thirteenth realism pass (b) (issue 14): contrived content the blind review of the
twelfth pass and the lead's reads named -- a raster tile's statistic beside the value read
at a place, or as a condition on the listed rows (tiles are storage, not places); a HAVING
every group passes; an aggregate over one named thing. Each
test reads the expanded AST the way ``benchmarks/bench_realism13b.py`` does."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from expand_support import ctx
from test_expand import context, corpus_structures

from cimgen import ast
from cimgen.expand import expand
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import base_table, block_refs, drop_raster_labels
from cimgen.expand.pinned import constant_aggregates, drop_constant_aggregates, named_refs
from cimgen.grammar import parse
from cimgen.render import render_postgis

# a row of main eb16c18 (300 CTGAN rows, seed 0): "... showing bare-earth elevation at
# their centroid, area and LOD, plus the DTM tile's minimum"
TILE_MINIMUM = (
    "SELECT b.building_id, ST_Value(dtm.rast, ST_Centroid(b.building_geometry)) AS "
    "ground_elevation_m, ST_Area(b.building_geometry::geography) AS area_m2, b.lod, "
    "dtm.min_elevation FROM cim_vector.building AS b JOIN cim_raster.dtm_raster AS dtm "
    "ON ST_Intersects(dtm.rast, ST_Centroid(b.building_geometry)) "
    "WHERE b.building_geometry_source = 'osm'"
)


def test_a_tile_statistic_is_not_listed_beside_the_value_read_at_a_place() -> None:
    sql = render_postgis(drop_raster_labels(parse(TILE_MINIMUM), ctx()))
    assert "min_elevation" not in sql and "ground_elevation_m" in sql, sql
    # the tiles as the subject: their statistics are what is asked
    tiles = parse(
        "SELECT dtm.id, dtm.min_elevation, ST_Value(dtm.rast, ST_SetSRID(ST_MakePoint(9.2, "
        "45.48), 4326)) AS v FROM cim_raster.dtm_raster AS dtm"
    )
    assert drop_raster_labels(tiles, ctx()) == tiles
    # a statistic the query also orders by stays (it is read for a purpose)
    ordered = parse(TILE_MINIMUM + " ORDER BY dtm.min_elevation")
    assert "dtm.min_elevation" in render_postgis(drop_raster_labels(ordered, ctx()))


def _tile_conditions(query: ast.Query, c) -> int:  # type: ignore[no-untyped-def]
    """Conditions on a raster tile's own columns in a block whose subject is not tiles
    (pins saying which raster is meant, ``rm.raster_type = 'CHM'``, aside)."""
    found = 0
    for q in (query, *(cte.query for cte in query.ctes)):
        body = q.body
        if not isinstance(body, ast.Select):
            continue
        ctes = {cte.name: cte.query for cte in query.ctes}
        refs = block_refs(body)
        tiles = {}
        for r in refs:
            info = base_table(r, ctes, c)
            if info is not None and info.rasters:
                tiles[r.ref_name] = info
        if not refs or refs[0].ref_name in tiles:
            continue
        for cond in ast.block_conditions(body, outer_joins=True):
            if (
                isinstance(cond, ast.BinaryOp)
                and cond.op == "="
                and not isinstance(cond.right, ast.Column)
            ):
                continue
            cols = [n for n in ast.walk(cond) if isinstance(n, ast.Column)]
            if any(
                col.table in tiles
                and col.name not in {g.name for g in tiles[col.table].rasters}
                and col.name not in tiles[col.table].pk
                for col in cols
            ):
                found += 1
    return found


def test_no_condition_on_a_tile_read_for_its_value_at_the_subjects_place() -> None:
    c = context("cim_wizard")
    rasters = [
        s for s in corpus_structures() if s.sql_type == "RASTER_VECTOR" and s.table_count >= 2
    ]
    rng = random.Random(13)
    built = found = 0
    for k, s in enumerate(rng.sample(rasters, min(120, len(rasters)))):
        q = expand(s, c, random.Random(k)).query
        if q is None:
            continue
        built += 1
        found += _tile_conditions(q, c)
    assert built >= 80, built
    assert found == 0, found


def test_a_having_cuts_some_group_on_a_stand_in_world() -> None:
    """The default job's context (the bundled corpus's literals planted in the fixture): a
    HAVING threshold drawn below the pivot's group and one above the smallest estimated
    group left every group in on 55 of 79 HAVING rows of 1,000 CTGAN rows (seed 1) of
    main eb16c18 (the estimate counts the subject's rows, not the joins' multiples); it
    is now built to keep the pivot's group and cut a smaller one, with the block's join
    and filter factors (``grouping.cut_count``), so it filters something without emptying
    the result."""
    from expand_support import SCHEMA, demo_records, stand_in_context

    from cimgen.engines.duckdb import open_fixture
    from cimgen.generate.pipeline import _planting, _with_metric_srid
    from cimgen.render import render_duckdb
    from cimgen.world.corpus import learn_corpus

    corpus = learn_corpus(SCHEMA, list(demo_records()))
    schema = _with_metric_srid(SCHEMA, corpus, 0)
    c = stand_in_context(0)
    con = open_fixture(schema, 0, plant=_planting(schema, corpus, 0))

    def rows(q: ast.Query) -> int:
        return len(con.execute(render_duckdb(q, c.schema).sql).fetchall())

    grouped = [s for s in corpus_structures() if s.aggregation == "GROUP_BY_HAVING"]
    havings = cut = empty = 0
    try:
        for k, s in enumerate(random.Random(14).sample(grouped, min(90, len(grouped)))):
            q = expand(s, c, random.Random(k)).query
            if q is None or not isinstance(q.body, ast.Select) or q.body.having is None:
                continue
            if not q.body.group_by or q.ctes:
                continue
            havings += 1
            kept = rows(replace(q, limit=None))
            every = rows(replace(q, body=replace(q.body, having=None), limit=None))
            cut += kept < every
            empty += kept == 0
    finally:
        con.close()
    assert havings >= 15, havings
    assert cut >= 0.8 * havings, (cut, havings)
    assert empty <= 0.05 * havings, (empty, havings)


# a row of main eb16c18 (300 CTGAN rows, seed 0): "the maximum area per line name for
# buildings with ID 'OSM_166137'" -- one building's own area, once per line
NAMED_MAXIMUM = (
    "SELECT gl.name, MAX(ST_Area(building.building_geometry::geography)) AS max_area_m2 "
    "FROM cim_vector.building AS building JOIN cim_vector.grid_bus AS gb ON "
    "ST_DWithin(building.building_geometry::geography, gb.geometry::geography, 200) "
    "JOIN cim_vector.grid_line AS gl ON gb.scenario_id = gl.scenario_id AND gb.project_id "
    "= gl.project_id AND gb.bus_id = gl.to_bus WHERE gb.project_id = "
    "'milan_citta_studi_2024' AND gb.scenario_id = 'baseline' AND building.building_id = "
    "'OSM_166137' GROUP BY gl.name"
)


def test_no_aggregate_over_one_named_thing() -> None:
    q = parse(NAMED_MAXIMUM)
    assert isinstance(q.body, ast.Select)
    found = constant_aggregates(q.body, ctx(), {})
    assert [it.alias for it in found] == ["max_area_m2"]
    with pytest.raises(BuildError):  # a grouping left with no aggregate: refused
        drop_constant_aggregates(q, ctx())
    # the lines' own lengths per name, near the named building, stay
    lengths = parse(
        NAMED_MAXIMUM.replace(
            "MAX(ST_Area(building.building_geometry::geography)) AS max_area_m2",
            "SUM(ST_Length(gl.geometry::geography)) AS total_length_m",
        )
    )
    assert isinstance(lengths.body, ast.Select)
    assert constant_aggregates(lengths.body, ctx(), {}) == []
    assert named_refs(lengths.body, ctx(), {}) == {"building"}


_SCOPE_OUTPUTS = {"project_id", "scenario_id", "project_name", "scenario_name"}


def test_a_listing_does_not_fill_with_one_things_scenario_copies() -> None:
    """A row-level listing of building properties (one row per building and project
    scenario) with no scenario pinned listed each building once per scenario, told apart by
    its scenario (and project name) alone: 10 / 30 / 18 rows of main eb16c18 (300 CTGAN s0,
    1,000 CTGAN s1, 300 GaussianCopula s2). Such a listing now picks one scenario (where
    the project scenario row is not read beside it)."""
    from expand_support import SCHEMA, demo_records, stand_in_context

    from cimgen.engines.duckdb import open_fixture
    from cimgen.generate.pipeline import _planting, _with_metric_srid
    from cimgen.render import render_duckdb
    from cimgen.world.corpus import learn_corpus

    corpus = learn_corpus(SCHEMA, list(demo_records()))
    schema = _with_metric_srid(SCHEMA, corpus, 0)
    c = stand_in_context(0)
    con = open_fixture(schema, 0, plant=_planting(schema, corpus, 0))
    listings = [
        s
        for s in corpus_structures()
        if s.aggregation == "NONE" and s.table_count >= 2 and not s.has_window
    ]
    seen = copies = 0
    try:
        for k, s in enumerate(random.Random(21).sample(listings, 200)):
            q = expand(s, c, random.Random(k)).query
            if q is None or not isinstance(q.body, ast.Select) or q.body.distinct:
                continue
            sql = render_postgis(q)
            if "building_properties" not in sql or "project_scenario" in sql:
                continue  # the project scenario row read beside: about several (left open)
            cur = con.execute(render_duckdb(q, c.schema).sql)
            names = [d[0] for d in cur.description]
            rows = cur.fetchmany(2000)
            keep = [i for i, n in enumerate(names) if n not in _SCOPE_OUTPUTS]
            if len(rows) < 2 or len(keep) == len(names):
                seen += len(rows) >= 2
                continue
            seen += 1
            copies += len({repr([r[i] for i in keep]) for r in rows}) < len(rows)
    finally:
        con.close()
    assert seen >= 15, seen
    assert copies == 0, (copies, seen)
