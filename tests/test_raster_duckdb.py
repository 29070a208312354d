"""Raster queries in DuckDB: STRUCT tiles + rst_* macros agree with the fixture and PostGIS."""

from __future__ import annotations

import json
import math
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from cimgen.check.execute import agree, digest
from cimgen.corpus import iter_demo_records
from cimgen.engines import duckdb as duck
from cimgen.engines.duckdb_raster import MACRO_NAMES, STATS_TYPE
from cimgen.fixtures import generate_fixture
from cimgen.grammar import parse
from cimgen.render import render_duckdb, render_spatialite
from cimgen.schema.load import load_schema

SCHEMA = load_schema("cim_wizard")
PT = "ST_SetSRID(ST_MakePoint(9.16321, 45.49377), 4326)"
B = "(SELECT building_geometry FROM cim_vector.building ORDER BY building_id LIMIT 1)"
# One query per supported raster function (PostGIS SQL, rendered by the DuckDB renderer).
FUNCTION_QUERIES = {
    "ST_Value": f"SELECT SUM(ST_Value(d.rast, {PT})) FROM cim_raster.dtm_raster d",
    "ST_Value band": f"SELECT SUM(ST_Value(d.rast, 1, {PT})) FROM cim_raster.dtm_raster d",
    "ST_SummaryStats": "SELECT (ST_SummaryStats(d.rast)).count, (ST_SummaryStats(d.rast)).sum, "
    "(ST_SummaryStats(d.rast)).mean, (ST_SummaryStats(d.rast)).stddev, "
    "(ST_SummaryStats(d.rast)).min, (ST_SummaryStats(d.rast)).max FROM cim_raster.dsm_raster d",
    "ST_Clip": "SELECT c.sez2011, (ST_SummaryStats(ST_Clip(d.rast, c.geometry, true))).count, "
    "(ST_SummaryStats(ST_Clip(d.rast, c.geometry))).sum, "
    "ST_Width(ST_Clip(d.rast, c.geometry, true)) FROM cim_census.census_geo c "
    "JOIN cim_raster.dtm_raster d ON ST_Intersects(d.rast, c.geometry)",
    "ST_Clip uncropped": "SELECT (ST_SummaryStats(ST_Clip(d.rast, b.building_geometry, "
    "false))).mean FROM cim_vector.building b JOIN cim_raster.dsm_raster d "
    "ON ST_Intersects(b.building_geometry, d.rast) WHERE b.building_id LIKE 'OSM_1%'",
    "accessors": "SELECT ST_Width(rast), ST_Height(rast), ST_PixelWidth(rast), "
    "ST_PixelHeight(rast), ST_NumBands(rast), ST_UpperLeftX(rast), ST_UpperLeftY(rast), "
    "ST_ScaleX(rast), ST_ScaleY(rast), ST_SRID(rast), ST_BandNoDataValue(rast) "
    "FROM cim_raster.raster_model",
    "geometries": "SELECT ST_Area(ST_Envelope(rast)), ST_Area(ST_ConvexHull(rast)), "
    "ST_Area(ST_Polygon(rast)), ST_Area(ST_Transform(ST_Envelope(rast), 4326)::geography) "
    "FROM cim_raster.raster_model",
    "intersects": "SELECT COUNT(*) FROM cim_raster.dsm_raster s, cim_vector.building b "
    "WHERE ST_Intersects(s.rast, b.building_geometry) AND b.building_geometry && s.rast",
}


@pytest.fixture(scope="module")
def con(tmp_path_factory: pytest.TempPathFactory) -> Any:
    c = duck.open_fixture(SCHEMA, 0, cache_dir=tmp_path_factory.mktemp("cache"))
    c.execute("SET enable_progress_bar = false")
    return c


def duck_sql(sql: str) -> str:
    rendered = render_duckdb(parse(sql), SCHEMA)
    assert rendered.sql is not None, rendered.unsupported
    return rendered.sql


def test_macros_exist_on_read_only_connections(con: Any) -> None:
    names = {r[0] for r in con.execute("SELECT function_name FROM duckdb_functions()").fetchall()}
    assert names >= MACRO_NAMES
    with pytest.raises(Exception, match="read-only"):
        con.execute("CREATE TABLE x (a INT)")


@pytest.mark.parametrize("name", sorted(FUNCTION_QUERIES))
def test_every_raster_function_executes(con: Any, name: str) -> None:
    sql = duck_sql(FUNCTION_QUERIES[name])
    assert "rst_" in sql or "struct_extract(rast" in sql
    rows = con.execute(sql).fetchall()
    # (a clip of a footprint smaller than a cell holds only nodata: its mean is NULL)
    assert rows and any(r[0] is not None for r in rows), rows


def test_spatialite_still_reports_rasters_unsupported() -> None:
    out = render_spatialite(parse(FUNCTION_QUERIES["ST_Value"]), SCHEMA)
    assert out.sql is None and "raster" in (out.unsupported or "")


def test_values_and_stats_match_the_fixture_tiles(con: Any) -> None:
    """ST_Value at every cell centre and ST_SummaryStats equal the RasterTile numbers."""
    tiles = generate_fixture(SCHEMA, 0).table("cim_raster.dsm_raster")
    tile = tiles.rows[5][tiles.index("rast")]
    rid = tiles.rows[5][tiles.index("id")]
    (ulx, uly), (sx, sy) = tile.origin, tile.scale
    pts = [(r, c) for r in range(0, tile.height, 7) for c in range(0, tile.width, 5)]
    values = ", ".join(
        f"rst_value(rast, ST_Point({ulx + (c + 0.5) * sx!r}, {uly + (r + 0.5) * sy!r}), 4326)"
        for r, c in pts
    )
    got = con.execute(f"SELECT {values} FROM cim_raster.dsm_raster WHERE id = {rid}").fetchone()
    assert list(got) == [tile.values[r][c] for r, c in pts]
    outside = con.execute(
        f"SELECT rst_value(rast, ST_Point({ulx - sx}, {uly}), 4326) "
        f"FROM cim_raster.dsm_raster WHERE id = {rid}"
    ).fetchone()
    assert outside == (None,)
    stats = con.execute(
        f"SELECT rst_summarystats(rast) FROM cim_raster.dsm_raster WHERE id = {rid}"
    ).fetchone()[0]
    flat = [v for row in tile.values for v in row]
    mean = math.fsum(flat) / len(flat)
    assert stats["count"] == len(flat) and stats["min"] == min(flat) and stats["max"] == max(flat)
    assert stats["mean"] == pytest.approx(mean, rel=1e-12)
    pop = math.sqrt(math.fsum((v - mean) ** 2 for v in flat) / len(flat))
    assert stats["stddev"] == pytest.approx(pop, rel=1e-9)


def test_stored_tile_stats_are_the_computed_ones(con: Any) -> None:
    """The fixture's precomputed ``stats`` equal rst_summarystats on every tile, and the
    renderer reads them for a raster column but computes them for a clipped raster."""
    for table in ("dtm_raster", "dsm_raster", "raster_model"):
        same = con.execute(
            f"SELECT count(*), count(*) FILTER (WHERE rast.stats IS NOT DISTINCT FROM "
            f"rst_summarystats(struct_update(rast, stats := NULL::{STATS_TYPE}))) "
            f"FROM cim_raster.{table}"
        ).fetchone()
        assert same[0] > 0 and same[0] == same[1], table
    assert "rst_tile_stats(d.rast)" in duck_sql(
        "SELECT (ST_SummaryStats(d.rast)).mean FROM cim_raster.dtm_raster d"
    )
    clipped = duck_sql(
        f"SELECT (ST_SummaryStats(ST_Clip(d.rast, ST_Buffer({PT}, 0.001)))).mean "
        "FROM cim_raster.dtm_raster d"
    )
    assert "rst_summarystats(rst_clip(" in clipped
    # through a CTE: a column that is a stored tile in one arm and a clip in the other
    mixed = duck_sql(
        "WITH t AS (SELECT d.rast FROM cim_raster.dtm_raster d UNION ALL "
        f"SELECT ST_Clip(d.rast, ST_Buffer({PT}, 0.001)) FROM cim_raster.dtm_raster d) "
        "SELECT (ST_SummaryStats(t.rast)).count FROM t"
    )
    counts = [r[0] for r in con.execute(mixed).fetchall()]
    expected = con.execute(
        "SELECT struct_extract(rst_summarystats(rast), 'count') FROM cim_raster.dtm_raster "
        "UNION ALL SELECT struct_extract(rst_summarystats(rst_clip(rast, "
        "ST_Buffer(ST_Point(9.16321, 45.49377), 0.001), true, 4326)), 'count') "
        "FROM cim_raster.dtm_raster"
    ).fetchall()
    assert sorted(counts, key=str) == sorted((r[0] for r in expected), key=str)


def test_intersects_srids_and_spatial_join(con: Any) -> None:
    """rst_intersects: the UTM tile of raster_model against an EPSG:4326 geometry far away
    in its coordinates is false (PostGIS: no error while the boxes are apart), a geometry
    in the tile's box with the wrong SRID raises, and a raster-vector join is planned as
    DuckDB's SPATIAL_JOIN."""
    far = con.execute(
        duck_sql(
            "SELECT count(*) FROM cim_raster.raster_model r "
            f"WHERE r.srid = 32632 AND ST_Intersects(r.rast, {PT})"
        )
    ).fetchone()
    assert far == (0,)
    x, y = con.execute(
        "SELECT rast.upperleft_x + 10, rast.upperleft_y - 10 FROM cim_raster.raster_model "
        "WHERE srid = 32632 LIMIT 1"
    ).fetchone()
    inside = f"ST_SetSRID(ST_MakePoint({x}, {y}), 4326)"
    with pytest.raises(Exception, match="same SRID"):
        con.execute(
            duck_sql(
                "SELECT count(*) FROM cim_raster.raster_model r "
                f"WHERE r.srid = 32632 AND ST_Intersects(r.rast, {inside})"
            )
        )
    join = duck_sql(
        "SELECT count(*) FROM cim_raster.dtm_raster d JOIN cim_vector.grid_line g "
        "ON ST_Intersects(d.rast, g.geometry)"
    )
    plan = con.execute("EXPLAIN " + join).fetchall()[0][1]
    assert "SPATIAL_JOIN" in plan
    [(n,)] = con.execute(join).fetchall()
    [(expected,)] = con.execute(
        "SELECT count(*) FROM cim_raster.dtm_raster d, cim_vector.grid_line g "
        "WHERE ST_Intersects(rst_envelope(d.rast), g.geometry)"
    ).fetchall()
    assert n == expected > 0


def test_envelope_of_a_missing_raster_is_null(con: Any) -> None:
    """An outer join's missing raster has no envelope (PostGIS: NULL), not an error
    (found by the default job: ST_MakePolygon of NULL points)."""
    sql = duck_sql(
        "SELECT a.id, ST_Envelope(b.rast) FROM cim_raster.raster_model a "
        "LEFT JOIN cim_raster.raster_model b ON a.id = b.id + 100"
    )
    rows = con.execute(sql).fetchall()
    assert rows and all(envelope is None for _, envelope in rows)


def test_value_errors_like_postgis(con: Any) -> None:
    with pytest.raises(Exception, match="non-point geometry"):
        con.execute(
            duck_sql(f"SELECT ST_Value(rast, ST_Buffer({PT}, 0.01)) FROM cim_raster.dtm_raster")
        )
    utm = (
        "SELECT ST_Value(rast, ST_SetSRID(ST_MakePoint(9.16, 45.49), 4326)) FROM "
        "cim_raster.raster_model WHERE srid = 32632"
    )
    with pytest.raises(Exception, match="same SRID"):
        con.execute(duck_sql(utm))


def test_value_index_binds_column_and_row_once_with_the_same_cells(con: Any) -> None:
    """rst_value_index binds the cell's column and row once (issue 16, twelfth pass): at
    cell centres, on grid lines and beyond every edge of two tiles per raster table it finds
    the cell that the formula written out (each mention computed again) finds."""
    for table in ("dtm_raster", "dsm_raster"):
        rows = con.execute(
            f"""WITH t AS (SELECT rast AS r FROM cim_raster.{table} ORDER BY id LIMIT 2),
            p AS (SELECT r, ST_Point(r.upperleft_x + r.scale_x * i / 2.0,
                                     r.upperleft_y + r.scale_y * j / 2.0) AS g
                  FROM t, range(-3, 2 * r.width + 4) a(i), range(-3, 2 * r.height + 4) b(j))
            SELECT rst_value_index(r, g, NULL),
                   rst_cell_index(r, CAST(floor(rst_xr(r, ST_X(g))) AS BIGINT),
                                  CAST(floor(rst_yr(r, ST_Y(g))) AS BIGINT))
            FROM p"""
        ).fetchall()
        assert rows and all(a == b for a, b in rows), table
        found = {a for a, _ in rows}
        assert None in found and len(found) > 100, table  # outside and inside the tiles


def _demo_raster_records(per_template: int) -> list[dict[str, Any]]:
    seen: Counter[str] = Counter()
    out = []
    for r in iter_demo_records():
        if r.get("sql_type") == "RASTER_VECTOR" and seen[r["template_id"]] < per_template:
            seen[r["template_id"]] += 1
            out.append(r)
    return out


def test_demo_raster_queries_render_and_execute(con: Any) -> None:
    records = _demo_raster_records(per_template=6)
    assert len({r["template_id"] for r in records}) >= 8
    for r in records:
        sql = duck_sql(r["sql_postgis"])
        con.execute(sql).fetchall()


@pytest.mark.postgis
def test_raster_queries_agree_with_postgis(fresh_postgis_db: str, con: Any) -> None:
    import psycopg

    from cimgen.engines.postgis import init_database

    init_database(fresh_postgis_db, SCHEMA, seed=0)
    queries = list(FUNCTION_QUERIES.values()) + [
        r["sql_postgis"] for r in _demo_raster_records(per_template=12)
    ]
    disagree = []
    with psycopg.connect(fresh_postgis_db, autocommit=True) as pg:
        for sql in queries:
            mine = digest(con.execute(duck_sql(sql)).fetchall())
            theirs = digest(pg.execute(sql).fetchall())
            if not agree(mine, theirs, 0.005):
                disagree.append((sql, mine, theirs))
    # Every hand-written query agrees; demo queries may differ only through geometry
    # engines (GEOS versions: ST_PointOnSurface picks another point near a tile edge).
    assert not [d for d in disagree if d[0] in FUNCTION_QUERIES.values()], disagree
    assert len(disagree) <= 0.05 * len(queries), disagree


def test_cache_key_changes_with_storage_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files cached before rasters became STRUCTs are never reused."""
    now = duck.fixture_file(SCHEMA, 0, tmp_path)
    monkeypatch.setattr(duck, "STORAGE_VERSION", "1")
    assert duck.fixture_file(SCHEMA, 0, tmp_path) != now


def test_stored_values_are_the_tiles_values(con: Any) -> None:
    """A stored tile keeps its values as text only; read back, they are the very numbers."""
    fx = generate_fixture(SCHEMA, 0)
    for table in ("dtm_raster", "dsm_raster", "raster_model"):
        tiles = fx.table(f"cim_raster.{table}")
        want = {
            r[tiles.index("id")]: [v for row in r[tiles.index("rast")].values for v in row]
            for r in tiles.rows
            if r[tiles.index("rast")] is not None
        }
        got = con.execute(
            f"SELECT id, rast.vals IS NULL, rst_vals(rast) FROM cim_raster.{table}"
        ).fetchall()
        assert {i: v for i, _, v in got if v is not None} == want, table
        assert all(no_list for _, no_list, _ in got), table
        rid = next(iter(want))
        picks = con.execute(
            f"SELECT rst_at(rast, 1), rst_at(rast, len(rst_vals(rast))), "
            f"rst_rows(rast, 1, 2) FROM cim_raster.{table} WHERE id = {rid}"
        ).fetchone()
        width = len(tiles.rows[0][tiles.index("rast")].values[0])
        assert picks == (want[rid][0], want[rid][-1], want[rid][width : 3 * width]), table


@pytest.fixture(scope="module")
def con_with_lists(con: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The fixture with every stored tile's values back in a list in its row (the storage
    before the values became text): the macros read either."""
    (path,) = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    copy = tmp_path_factory.mktemp("lists") / "fixture.duckdb"
    shutil.copy(path, copy)
    c = duck.connect(copy)
    for table in ("dtm_raster", "dsm_raster", "raster_model"):
        c.execute(
            f"UPDATE cim_raster.{table} SET rast = struct_update(rast, vals := rst_vals(rast), "
            "cells := NULL::VARCHAR, cell_width := NULL::INTEGER) WHERE rast IS NOT NULL"
        )
    return c


def test_generated_raster_queries_read_text_and_lists_alike(con: Any, con_with_lists: Any) -> None:
    """Real generated raster queries (a `generate --rows 300 --seed 0` run: ST_Value,
    ST_Clip + ST_SummaryStats, dimensions, ...) give the same rows on the stored text as on
    lists in every row, and so do the hand-written queries of every function."""
    lines = (Path(__file__).parent / "cases" / "raster_queries.jsonl").read_text().splitlines()
    queries = [json.loads(line)["sql"] for line in lines] + list(FUNCTION_QUERIES.values())
    seen = Counter()
    for sql in queries:
        rendered = duck_sql(sql)
        seen.update(m for m in ("rst_value", "rst_column_value", "rst_clip") if m + "(" in rendered)
        mine = con.execute(rendered).fetchall()
        assert sorted(map(repr, mine)) == sorted(
            map(repr, con_with_lists.execute(rendered).fetchall())
        ), sql
    assert len(queries) >= 60 and min(seen.values()) >= 3, seen
