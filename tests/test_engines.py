"""Engines: DuckDB (offline spatial, cached file), SpatiaLite, PostGIS (identical rows)."""

from __future__ import annotations

import re
import shutil
import struct
import tempfile
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cimgen.engines import duckdb as duck
from cimgen.engines import postgis, spatialite
from cimgen.errors import DatabaseError
from cimgen.fixtures import generate_fixture
from cimgen.grammar import parse
from cimgen.render import render_duckdb
from cimgen.render.duckdb import metric_column_name, metric_columns, transform
from cimgen.schema import export
from cimgen.schema.load import load_schema
from cimgen.schema.model import Schema, Table


@pytest.fixture(scope="module")
def cim() -> Schema:
    return load_schema("cim_wizard")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cimgen-cache")


@pytest.fixture(scope="module")
def duck_con(cim: Schema, cache: Path) -> Any:
    con = duck.open_fixture(cim, 0, cache_dir=cache)
    yield con
    con.close()


def _order(t: Table) -> str:
    return ", ".join(f'"{k}"' for k in (t.primary_key or [c.name for c in t.columns[:1]]))


def raster(value: Any) -> Any:
    """A raster as comparable numbers, from PostGIS WKB (bytes) or a DuckDB STRUCT (dict):
    (upper-left x, y, scale x, y, width, height, srid, nodata, cell values)."""
    if value is None:
        return None
    if isinstance(value, dict):
        keys = ("upperleft_x", "upperleft_y", "scale_x", "scale_y", "width", "height", "srid")
        # a stored tile's values are text (storage v5): read back, the very doubles
        vals = value["vals"]
        if vals is None:
            vals = [float(t) for t in value["cells"].split(",")]
        return (*(value[k] for k in keys), value["nodata"], tuple(vals))
    data = bytes(value)
    sx, sy, ox, oy = struct.unpack_from("<4d", data, 5)
    srid, width, height = struct.unpack_from("<iHH", data, 53)
    flags = data[61]
    fmt = {10: "f", 11: "d"}[flags & 0x0F]
    size = struct.calcsize(fmt)
    nodata = struct.unpack_from("<" + fmt, data, 62)[0] if flags & 0x40 else None
    vals = struct.unpack_from(f"<{width * height}{fmt}", data, 62 + size)
    return (ox, oy, sx, sy, width, height, srid, nodata, tuple(float(v) for v in vals))


def duck_rows(con: duckdb.DuckDBPyConnection, t: Table) -> list[tuple[Any, ...]]:
    cols = [f'ST_AsWKB("{c.name}")' if c.kind == "geometry" else f'"{c.name}"' for c in t.columns]
    rows = con.execute(
        f'SELECT {", ".join(cols)} FROM "{t.schema}"."{t.name}" ORDER BY {_order(t)}'
    ).fetchall()
    return [
        tuple(
            raster(v) if c.kind == "raster" else bytes(v) if isinstance(v, bytes | bytearray) else v
            for c, v in zip(t.columns, r, strict=True)
        )
        for r in rows
    ]


def pg_rows(conn: Any, t: Table) -> list[tuple[Any, ...]]:
    def expr(c: Any) -> str:
        if c.kind == "geometry":
            return f'ST_AsBinary("{c.name}")'
        if c.kind == "raster":
            return f'"{c.name}"::bytea'
        return f'"{c.name}"::text' if c.kind == "json" else f'"{c.name}"'

    rows = conn.execute(
        f"SELECT {', '.join(expr(c) for c in t.columns)} "
        f'FROM "{t.schema}"."{t.name}" ORDER BY {_order(t)}'
    ).fetchall()
    return [
        tuple(
            raster(v)
            if c.kind == "raster"
            else bytes(v)
            if isinstance(v, memoryview | bytes)
            else v
            for c, v in zip(t.columns, r, strict=True)
        )
        for r in rows
    ]


# --- DuckDB ---------------------------------------------------------------------------------


def test_spatial_loads_offline_by_path() -> None:
    path = duck.spatial_extension_path()
    assert path.is_file() and path.name == "spatial.duckdb_extension"
    con = duck.connect()
    settings = con.execute(
        "SELECT current_setting('autoinstall_known_extensions'), "
        "current_setting('autoload_known_extensions')"
    ).fetchone()
    assert settings == (False, False)
    area = con.execute("SELECT ST_Area(ST_GeomFromText('POLYGON((0 0,2 0,2 1,0 1,0 0))'))")
    assert area.fetchone() == (2.0,)


def test_fixture_database_is_cached_atomically(cim: Schema, cache: Path, duck_con: Any) -> None:
    path = duck.fixture_database(cim, 0, cache_dir=cache)
    stamp = path.stat().st_mtime_ns
    assert duck.fixture_database(cim, 0, cache_dir=cache) == path
    assert path.stat().st_mtime_ns == stamp  # reused, not rebuilt
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    assert duck.fixture_database(cim, 1, cache_dir=cache) != path


def test_duckdb_holds_exactly_the_fixture_rows(cim: Schema, duck_con: Any) -> None:
    fx = generate_fixture(cim, 0)
    for t in cim.tables:
        got = duck_rows(duck_con, t)
        expected = []
        for row in sorted(
            fx.table(t.qualified).rows,
            key=lambda r: tuple(
                r[t.columns.index(t.column(k))]  # type: ignore[arg-type]
                for k in t.primary_key
            ),
        ):
            out = []
            for c, v in zip(t.columns, row, strict=True):
                if c.kind == "geometry":
                    v = duck_con.execute("SELECT ST_AsWKB(ST_GeomFromText(?))", [v]).fetchone()[0]
                    v = bytes(v)
                elif c.kind == "raster":
                    v = raster(v.to_wkb())
                out.append(v)
            expected.append(tuple(out))
            if len(expected) >= 300:  # geometry re-parsing is per value: sample each table
                break
        assert got[: len(expected)] == expected, t.qualified
        assert len(got) == len(fx.table(t.qualified)), t.qualified


def test_duckdb_geometries_are_valid_declared_and_related(cim: Schema, duck_con: Any) -> None:
    declared = {
        "POLYGON": {"POLYGON"},
        "POINT": {"POINT"},
        "LINESTRING": {"LINESTRING"},
        "MULTIPOLYGON": {"MULTIPOLYGON"},
        "GEOMETRY": {"POLYGON", "MULTIPOLYGON"},
    }
    for t in cim.tables:
        for c in t.geometry_columns:
            bad, types = duck_con.execute(
                f'SELECT count(*) FILTER (WHERE NOT ST_IsValid("{c.name}")), '
                f'list(DISTINCT ST_GeometryType("{c.name}")::VARCHAR) '
                f'FROM "{t.schema}"."{t.name}"'
            ).fetchone()
            assert bad == 0, f"{t.qualified}.{c.name}"
            assert set(types) <= declared[c.geometry_type or "GEOMETRY"], (c.name, types)
    q = duck_con.execute
    n = q("SELECT count(*) FROM cim_vector.building").fetchone()[0]
    in_zone = q(
        "SELECT count(*) FROM cim_vector.building b JOIN cim_census.census_geo c "
        "ON b.census_id = c.sez2011 "
        "WHERE ST_Contains(c.geometry, ST_Centroid(b.building_geometry))"
    ).fetchone()[0]
    assert in_zone == n  # census_id = section containing the centroid
    inside = q(
        "SELECT count(DISTINCT b.id) FROM cim_vector.building b "
        "JOIN cim_vector.building_properties p ON p.building_fk = b.id "
        "JOIN cim_vector.project_scenario s USING (project_id, scenario_id) "
        "WHERE ST_Within(b.building_geometry, s.project_boundary)"
    ).fetchone()[0]
    linked = q("SELECT count(DISTINCT building_fk) FROM cim_vector.building_properties")
    assert inside == linked.fetchone()[0]
    multi = q(
        "SELECT count(*) FROM cim_vector.building "
        "WHERE ST_GeometryType(building_geometry) = 'MULTIPOLYGON'"
    ).fetchone()[0]
    assert 0.01 * n < multi < 0.1 * n
    tiling = q(
        "SELECT abs(sum(ST_Area(geometry)) - ST_Area(ST_Union_Agg(geometry))) "
        "FROM cim_census.census_geo"
    ).fetchone()[0]
    assert tiling < 1e-9  # sections do not overlap


def test_metric_copies_equal_the_transform_and_stay_out_of_star(cim: Schema, duck_con: Any) -> None:
    """Each stored metric copy is exactly ST_Transform of its column; ``SELECT *`` (bare and
    qualified) does not show them; a column through a CTE is transformed, not read."""
    copies = 0
    for t in cim.tables:
        for col, src, dst in metric_columns(t, cim):
            name = metric_column_name(col.name, dst)
            differ = duck_con.execute(
                f'SELECT count(*) FROM "{t.schema}"."{t.name}" WHERE NOT '
                f'ST_Equals("{name}", {transform(col.name, src, dst)}) '
                f'OR ("{name}" IS NULL) <> ("{col.name}" IS NULL)'
            ).fetchone()
            assert differ == (0,), t.qualified
            copies += 1
    assert copies >= 5
    star = ok_sql(
        "SELECT * FROM cim_vector.building b JOIN cim_vector.grid_bus g ON b.lod = g.bus_id"
    )
    names = [d[0] for d in duck_con.execute(star + " LIMIT 0").description]
    building, bus = cim.table("cim_vector.building"), cim.table("cim_vector.grid_bus")
    assert building is not None and bus is not None
    assert names == [c.name for c in building.columns] + [c.name for c in bus.columns]
    qualified = ok_sql("SELECT g.* FROM cim_vector.grid_bus g")
    assert [d[0] for d in duck_con.execute(qualified + " LIMIT 0").description] == [
        c.name for c in bus.columns
    ]
    through_cte = ok_sql(
        "WITH b AS (SELECT building_geometry AS g FROM cim_vector.building) "
        "SELECT ST_Area(b.g::geography) FROM b"
    )
    assert "$srid" not in through_cte and "ST_Transform(b.g" in through_cte
    assert duck_con.execute(through_cte).fetchall()


def ok_sql(sql: str) -> str:
    rendered = render_duckdb(parse(sql), load_schema("cim_wizard"))
    assert rendered.sql is not None, rendered.unsupported
    return rendered.sql


def test_open_fixture_is_read_only(duck_con: Any) -> None:
    with pytest.raises(duckdb.Error):
        duck_con.execute("DELETE FROM cim_vector.building")


# --- SpatiaLite -----------------------------------------------------------------------------


def test_spatialite_fixture(cim: Schema, cache: Path) -> None:
    from cimgen.render import spatialite_table_name

    path = spatialite.fixture_database(cim, 0, cache_dir=cache)
    assert spatialite.fixture_database(cim, 0, cache_dir=cache) == path
    conn = spatialite.connect(path, read_only=True)
    fx = generate_fixture(cim, 0)
    for t in cim.tables:
        name = spatialite_table_name(t.qualified)
        count = conn.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
        assert count == len(fx.table(t.qualified)), name
        for c in t.geometry_columns:
            valid = conn.execute(
                f'SELECT sum(ST_IsValid("{c.name}")), min(ST_SRID("{c.name}")) FROM "{name}"'
            ).fetchall()[0]
            assert valid == (count, c.srid), (name, c.name)
            # a spatial index (the SpatiaLite dialect's join lookups) holding every row
            indexed = conn.execute(
                "SELECT count(*) FROM SpatialIndex WHERE f_table_name = ? "
                "AND f_geometry_column = ? AND search_frame = BuildMbr(-180, -90, 180, 90)",
                (name, c.name),
            ).fetchall()[0][0]
            assert indexed == count, (name, c.name)
    assert conn.execute("SELECT count(*) FROM sqlite_stat1").fetchall()[0][0] > 0  # ANALYZE
    spatialite.close(conn)
    assert spatialite.unavailable() is None


def test_setup_installs_spatialite_without_dev() -> None:
    """The README's first command (``bash scripts/setup.sh``, no --dev) installs what
    generate, validate and bench need: mod_spatialite among them."""
    text = (Path(__file__).resolve().parents[1] / "scripts" / "setup.sh").read_text()
    match = re.search(r"^debs=\((.*)\)$", text, re.MULTILINE)
    assert match is not None and "libsqlite3-mod-spatialite" in match.group(1).split()


# --- PostGIS --------------------------------------------------------------------------------


@pytest.mark.postgis
def test_postgis_rows_identical_to_duckdb(
    cim: Schema, fresh_postgis_db: str, duck_con: Any
) -> None:
    counts = postgis.init_database(fresh_postgis_db, cim, seed=0)
    assert counts == generate_fixture(cim, 0).row_counts()
    with postgis.connect(fresh_postgis_db) as conn:
        conn.execute("SET TIME ZONE 'UTC'")
        for t in cim.tables:
            pg, dk = pg_rows(conn, t), duck_rows(duck_con, t)
            assert len(pg) == len(dk) == counts[t.qualified]
            for a, b in zip(pg, dk, strict=True):
                assert a == b, f"{t.qualified}: {a[:3]} != {b[:3]}"
        valid = conn.execute(
            "SELECT bool_and(ST_IsValid(building_geometry)) FROM cim_vector.building"
        ).fetchone()
        assert valid == (True,)
        cell = conn.execute(
            "SELECT ST_Value(rast, 1, 1) FROM cim_raster.dtm_raster WHERE id = 1"
        ).fetchone()[0]
        assert (
            cell
            == generate_fixture(cim, 0)
            .table("cim_raster.dtm_raster")
            .column("rast")[0]
            .values[0][0]
        )


@pytest.mark.postgis
def test_postgis_refuses_existing_tables_without_replace(
    cim: Schema, fresh_postgis_db: str
) -> None:
    postgis.init_database(fresh_postgis_db, cim, seed=0)
    with pytest.raises(DatabaseError, match=r"already exist.*--replace"):
        postgis.init_database(fresh_postgis_db, cim, seed=0)
    counts = postgis.init_database(fresh_postgis_db, cim, seed=1, replace=True)
    with postgis.connect(fresh_postgis_db) as conn:
        n = conn.execute("SELECT count(*) FROM cim_vector.building").fetchone()[0]
    assert n == counts["cim_vector.building"]


def test_unreachable_server_is_a_one_line_error(cim: Schema) -> None:
    with pytest.raises(DatabaseError) as err:
        postgis.init_database("postgresql://postgres@127.0.0.1:1/nowhere", cim)
    message = str(err.value)
    assert "\n" not in message and "cannot connect" in message and "127.0.0.1:1" in message


def test_cli_db_init_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    from cimgen.cli.main import main

    with pytest.raises(SystemExit) as exit_:
        main(["db", "init", "--dsn", "postgresql://postgres@127.0.0.1:1/nowhere"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "cannot connect" in err and "Traceback" not in err


def test_postgis_ddl_is_the_export_writer() -> None:
    # one DDL writer: the engine builds its tables with cimgen.schema.export, no copy of it
    assert not hasattr(postgis, "ddl_for") and not hasattr(postgis, "column_type")
    assert postgis.table_statements is export.table_statements
    assert postgis.index_statements is export.index_statements


def test_index_statements_cover_geometry_rasters_and_both_sides_of_relations(
    cim: Schema,
) -> None:
    stmts = export.index_statements(cim)
    for t in cim.tables:
        for c in t.geometry_columns:
            assert f"ON {t.qualified} USING gist ({c.name});" in "\n".join(stmts), c.name
    assert "ON cim_raster.dtm_raster USING gist (ST_ConvexHull(rast));" in "\n".join(stmts)
    btree = {s.split(" ON ")[1] for s in stmts if "USING" not in s}
    for rel in cim.relations:
        for table, cols in ((rel.left, rel.left_columns), (rel.right, rel.right_columns)):
            target = cim.table(table)
            assert target is not None
            pk_led = tuple(target.primary_key[: len(cols)]) == tuple(cols)
            led = [b for b in btree if b.startswith(f"{table} ({', '.join(cols)}")]
            assert pk_led or led, (table, cols)
    assert "cim_vector.building (building_id);" not in btree  # (building_id, lod) serves it
    assert len(stmts) == len(set(stmts))
    names = [s.split()[2] for s in stmts]
    assert len(names) == len(set(names)) and all(len(n) <= 63 for n in names)


@pytest.mark.postgis
def test_postgis_has_indexes_foreign_keys_and_statistics(
    cim: Schema, fresh_postgis_db: str
) -> None:
    postgis.init_database(fresh_postgis_db, cim, seed=0)
    with postgis.connect(fresh_postgis_db) as conn:
        idx = conn.execute(
            "SELECT schemaname || '.' || tablename, indexdef FROM pg_indexes "
            "WHERE schemaname LIKE 'cim_%'"
        ).fetchall()
        fks = conn.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND connamespace::regnamespace::text LIKE 'cim_%'"
        ).fetchall()[0][0]
        analysed = conn.execute(
            "SELECT count(*) FROM pg_stat_user_tables "
            "WHERE schemaname LIKE 'cim_%' AND last_analyze IS NOT NULL"
        ).fetchall()[0][0]
        plan = "\n".join(
            r[0]
            for r in conn.execute(
                "EXPLAIN SELECT id FROM cim_vector.building "
                "WHERE ST_Intersects(building_geometry, "
                "ST_MakeEnvelope(9.18, 45.48, 9.181, 45.481, 4326))"
            )
        )
    gist = [d for _, d in idx if "USING gist" in d]
    geometry_columns = sum(len(t.geometry_columns) + len(t.raster_columns) for t in cim.tables)
    assert len(gist) == geometry_columns
    assert any("(building_id, lod)" in d and "building_properties" in d for _, d in idx)
    assert fks == sum(export.exportable_foreign_key(cim, r) for r in cim.relations) > 0
    assert analysed == len(cim.tables)
    assert "building_building_geometry_idx" in plan


@pytest.mark.postgis
def test_cluster_up_and_down_round_trip() -> None:
    if not (postgis.PG_BIN / "initdb").is_file():
        pytest.skip("PostgreSQL binaries not installed")
    # not pytest's tmp_path: its parents are private to root, and postgres must reach the dir
    directory = Path(tempfile.mkdtemp(prefix="cimgen-test-pg-"))
    try:
        dsn = postgis.cluster_up(directory)
        assert (directory / "dsn").read_text().strip() == dsn
        assert postgis.cluster_up(directory) == dsn  # already running: reused
        with postgis.connect(dsn) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            assert conn.execute("SELECT ST_AsText(ST_MakePoint(1, 2))").fetchone() == (
                "POINT(1 2)",
            )
        postgis.cluster_down(directory)
        assert not directory.exists()
        with pytest.raises(DatabaseError):
            postgis.connect(dsn)
    finally:
        if (directory / "data").exists():
            postgis.cluster_down(directory)
        shutil.rmtree(directory, ignore_errors=True)


def test_postgis_dsn_without_auto_starts_nothing(cim: Schema) -> None:
    with postgis.postgis_dsn(None, cim) as none:
        assert none is None
    url = "postgresql://someone@example.invalid:5/db"
    with postgis.postgis_dsn(url, cim) as given:
        assert given == url  # the user's database: nothing started, nothing loaded


@pytest.mark.postgis
def test_throwaway_postgis_loads_the_fixture_and_always_goes(cim: Schema) -> None:
    if not (postgis.PG_BIN / "initdb").is_file():
        pytest.skip("PostgreSQL binaries not installed")
    with postgis.postgis_dsn("auto", cim, seed=0) as dsn:
        assert dsn is not None
        with postgis.connect(dsn) as conn:
            counts = {
                t.qualified: conn.execute(
                    f"SELECT count(*) FROM {export.qualified_ident(t.qualified)}"
                ).fetchone()[0]
                for t in cim.tables
            }
    assert counts == generate_fixture(cim, 0).row_counts()
    with pytest.raises(DatabaseError):
        postgis.connect(dsn)  # stopped on leaving
    with pytest.raises(RuntimeError, match="inside"), postgis.throwaway_postgis(cim) as dsn2:
        postgis.connect(dsn2).close()
        raise RuntimeError("inside")
    with pytest.raises(DatabaseError):
        postgis.connect(dsn2)  # stopped when the body raised, too
