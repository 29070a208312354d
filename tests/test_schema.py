"""Schema sources (bundled, YAML/JSON, DDL, live PostgreSQL), export, and `cimgen schema`."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from pglast import parse_sql

from cimgen.cli.main import main
from cimgen.errors import DatabaseError, SchemaError
from cimgen.schema.ddl import load_ddl, schema_from_ddl
from cimgen.schema.export import to_ddl, to_yaml
from cimgen.schema.live import load_live, redact
from cimgen.schema.load import load_schema, load_schema_file
from cimgen.schema.model import Column, Relation, Schema, Table

CASES = Path(__file__).resolve().parent / "cases" / "schema"
SMALL_YAML = CASES / "small.yaml"
SMALL_SQL = CASES / "small.sql"


def _cases(name: str) -> list[Any]:
    cases = yaml.safe_load((CASES / name).read_text(encoding="utf-8"))
    return [pytest.param(c, id=c["name"]) for c in cases]


def _shape(schema: Schema) -> dict[str, Any]:
    """What DDL and live round trips must keep: tables, columns, kinds, geometry, keys."""
    return {
        t.qualified: (
            [(c.name, c.kind, c.geometry_type, c.srid) for c in t.columns],
            t.primary_key,
        )
        for t in schema.tables
    }


def _foreign_keys(schema: Schema) -> set[Relation]:
    return {r for r in schema.relations if r.kind == "foreign_key"}


def _sans_source(schema: Schema) -> Schema:
    return replace(schema, source="")


def _url(conninfo: str) -> str:
    """The fixture's key=value DSN as the postgresql:// URL that --schema accepts."""
    from psycopg.conninfo import conninfo_to_dict

    p = conninfo_to_dict(conninfo)
    auth = f"{p['user']}{':' + str(p['password']) if p.get('password') else ''}@"
    return f"postgresql://{auth}{p.get('host', 'localhost')}:{p.get('port', 5432)}/{p['dbname']}"


# -- bundled and YAML/JSON files ----------------------------------------------------------


def test_small_yaml_fixture_reads_every_key() -> None:
    s = load_schema(str(SMALL_YAML))
    assert (s.name, s.metric_srid, s.schemas) == ("city_demo", 32632, ("city", "elevation"))
    building = s.table("city.building")
    assert building is not None and building.description == "Building footprints"
    footprint = building.column("footprint")
    assert footprint is not None
    assert (footprint.kind, footprint.geometry_type, footprint.srid) == (
        "geometry",
        "POLYGON",
        4326,
    )
    centre = building.column("centre")
    assert centre is not None and not centre.nullable and centre.geometry_type == "POINT"
    height = building.column("height")
    assert height is not None and height.examples == (12.5, 30.0)
    assert height.description.startswith("Height above ground")
    dtm = s.table("elevation.dtm")
    assert dtm is not None and [c.kind for c in dtm.raster_columns] == ["raster"]
    assert [r.kind for r in s.relations] == ["foreign_key", "key_equality"]


def test_docs_example_is_the_tested_fixture() -> None:
    doc = (Path(__file__).resolve().parents[1] / "docs" / "schema-format.md").read_text()
    block = doc.split("### A complete small example", 1)[1].split("```yaml\n", 1)[1]
    assert block.split("```", 1)[0] == SMALL_YAML.read_text(encoding="utf-8")


@pytest.mark.parametrize("case", _cases("invalid_yaml.yaml"))
def test_yaml_errors(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(case["text"], encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_schema(str(path))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{path} line {case['line']}: "), message
    for words in case["expect"]:
        assert words in message, message
    assert message.rstrip().endswith(".")


def test_json_schema_file_equals_yaml(tmp_path: Path) -> None:
    yaml_model = load_schema(str(SMALL_YAML))
    path = tmp_path / "city_demo.json"
    path.write_text(json.dumps(yaml_model.to_dict()), encoding="utf-8")
    assert _sans_source(load_schema(str(path))) == _sans_source(yaml_model)


def test_bad_json_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"name": "x",\n "schemas": 3,}\n', encoding="utf-8")
    with pytest.raises(SchemaError, match=r"bad\.json line 2: not valid YAML/JSON"):
        load_schema(str(path))


def test_unknown_schema_spec_lists_choices() -> None:
    with pytest.raises(SchemaError, match=r"unknown schema 'nope'.*cim_wizard"):
        load_schema("nope")
    with pytest.raises(SchemaError, match="schema file not found"):
        load_schema("missing.sql")


# -- DDL files ---------------------------------------------------------------------------


def test_ddl_fixture() -> None:
    s = load_ddl(SMALL_SQL)
    assert s.name == "small"
    assert [t.qualified for t in s.tables] == [
        "city.district",
        "city.building",
        "public.dtm",
        "public.dtm_tile",
    ]
    district, building = s.table("city.district"), s.table("city.building")
    assert district is not None and building is not None
    assert district.primary_key == ("id",) and building.primary_key == ("id",)
    assert [c.type for c in building.columns] == [
        "bigserial",
        "integer",
        "double precision",
        "geometry(Polygon,4326)",
        "geography(Point,4326)",
        "timestamp with time zone",
        "json",
    ]
    boundary = district.column("boundary")
    assert boundary is not None and (boundary.geometry_type, boundary.srid) == (
        "MULTIPOLYGON",
        4326,
    )
    centre = building.column("centre")
    assert centre is not None and centre.kind == "geometry" and not centre.nullable
    # PRIMARY KEY columns are NOT NULL, as PostgreSQL makes them.
    id_col = building.column("id")
    assert id_col is not None and not id_col.nullable
    assert building.description == "Building footprints"
    height = building.column("height")
    assert height is not None and height.description == "Height above ground in metres"
    dtm = s.table("public.dtm")
    assert dtm is not None and dtm.raster_columns[0].name == "rast"
    tile = s.table("public.dtm_tile")
    assert tile is not None and tile.primary_key == ("rid", "tile")
    assert [c.name for c in tile.columns] == ["rid", "tile", "note", "created"]
    assert set(s.relations) == {
        Relation("city.building", ("district_id",), "city.district", ("id",), "foreign_key"),
        Relation("public.dtm", ("district",), "city.district", ("id",), "foreign_key"),
        Relation("public.dtm_tile", ("rid",), "public.dtm", ("rid",), "foreign_key"),
    }


@pytest.mark.parametrize("case", _cases("invalid_ddl.yaml"))
def test_ddl_errors(case: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "bad.sql"
    path.write_text(case["text"], encoding="utf-8")
    with pytest.raises(SchemaError) as info:
        load_schema(str(path))
    message = str(info.value)
    assert "\n" not in message
    place = f"{path} line {case['line']}: " if case["line"] else f"{path}: "
    assert message.startswith(place), message
    for words in case["expect"]:
        assert words in message, message


def test_ddl_line_numbers_count_characters_not_bytes(tmp_path: Path) -> None:
    path = tmp_path / "accents.sql"
    path.write_text(
        "-- città, perché, così: ÀÈÌÒÙ\nCREATE TABLE a (id int);\n\n"
        "CREATE TABLE b (g geometry(Point));\n",
        encoding="utf-8",
    )
    with pytest.raises(SchemaError, match=r"accents\.sql line 4: "):
        load_ddl(path)


# -- export and round trips --------------------------------------------------------------


@pytest.mark.parametrize("spec", ["cim_wizard", str(SMALL_YAML)])
def test_yaml_to_ddl_to_model_round_trip(spec: str) -> None:
    model = load_schema(spec)
    ddl = to_ddl(model)
    assert ddl.index("CREATE EXTENSION IF NOT EXISTS postgis;") < ddl.index("CREATE TABLE")
    assert "CREATE EXTENSION IF NOT EXISTS postgis_raster;" in ddl
    back = schema_from_ddl(ddl)
    assert _shape(back) == _shape(model)
    assert _foreign_keys(back) == _foreign_keys(model)
    # Types come back as written, up to PostgreSQL's spelling of float.
    for table in model.tables:
        again = back.table(table.qualified)
        assert again is not None
        for col, col2 in zip(table.columns, again.columns, strict=True):
            assert (
                col2.type == col.type
                or (col.type, col2.type) == ("float", "double precision")
                or col.type == "geometry"
            ), (col, col2)


@pytest.mark.parametrize("spec", ["cim_wizard", str(SMALL_YAML), str(SMALL_SQL)])
def test_to_yaml_round_trips_to_an_equal_model(spec: str, tmp_path: Path) -> None:
    model = load_schema(spec)
    path = tmp_path / "exported.yaml"
    path.write_text(to_yaml(model), encoding="utf-8")
    assert _sans_source(load_schema_file(path)) == _sans_source(model)


def test_ddl_keeps_only_primary_key_foreign_keys_as_constraints() -> None:
    model = load_schema(str(SMALL_YAML))
    not_pk = Relation(
        "city.building", ("district_name",), "city.district", ("name",), "foreign_key"
    )
    model = replace(model, relations=(*model.relations, not_pk), _index={})
    ddl = to_ddl(model)
    statements = [s.stmt for s in parse_sql(ddl)]
    fks = [s for s in statements if type(s).__name__ == "AlterTableStmt"]
    assert len(fks) == 1
    assert "-- key_equality: city.building (district_name) = city.district (name)" in ddl
    assert (
        "-- foreign_key: city.building (district_name) = city.district (name) "
        "(foreign key not on the target's primary key)"
    ) in ddl
    # A nullable=false column and a separate geometry_type/srid column are written for PostGIS.
    assert "    name varchar(100) NOT NULL," in ddl
    assert "    footprint geometry(Polygon,4326)," in ddl


def test_ddl_quotes_identifiers_that_need_it() -> None:
    table = Table(
        "My Schema",
        "user",
        (Column.of("select", "integer"), Column.of("x", "integer")),
        ("select",),
    )
    ddl = to_ddl(Schema("q", (table,)))
    assert 'CREATE TABLE "My Schema"."user" (' in ddl and '"select" integer' in ddl
    back = schema_from_ddl(ddl)
    assert _shape(back) == _shape(Schema("q", (table,)))


# -- live databases ------------------------------------------------------------------------


def test_unreachable_server_is_one_line_database_error() -> None:
    with pytest.raises(DatabaseError) as info:
        load_schema("postgresql://someone:secret@127.0.0.1:1/nowhere")
    message = str(info.value)
    assert message.startswith("cannot connect to postgresql://someone:***@127.0.0.1:1/nowhere: ")
    assert "secret" not in message and "\n" not in message
    assert message.endswith("Check the URL and that the server runs (cimgen db up starts one).")


def test_redact_leaves_passwordless_urls_alone() -> None:
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"


@pytest.mark.postgis
def test_cim_wizard_ddl_applies_and_introspects_back(fresh_postgis_db: str) -> None:
    import psycopg

    model = load_schema("cim_wizard")
    with psycopg.connect(fresh_postgis_db, autocommit=True) as conn:
        conn.execute(to_ddl(model).encode())
        # A PostGIS-style table without typmod: type and SRID come from geometry_columns.
        conn.execute("CREATE TABLE public.legacy (gid serial PRIMARY KEY, geom geometry)")
        conn.execute("SELECT AddGeometryColumn('public', 'legacy', 'pt', 3857, 'POINT', 2)")
    live = load_schema(_url(fresh_postgis_db))
    assert live.source.startswith("postgresql://")
    assert live.table("public.spatial_ref_sys") is None
    legacy = live.table("public.legacy")
    assert legacy is not None
    pt = legacy.column("pt")
    assert pt is not None and (pt.geometry_type, pt.srid) == ("POINT", 3857)
    live = replace(live, tables=tuple(t for t in live.tables if t.name != "legacy"), _index={})
    assert _shape(live) == _shape(model)
    assert _foreign_keys(live) == _foreign_keys(model)
    building = live.table("cim_vector.building")
    assert building is not None
    id_col, model_building = building.column("id"), model.table("cim_vector.building")
    assert id_col is not None and model_building is not None
    assert (id_col.type, id_col.nullable) == ("serial", False)
    assert building.description == model_building.description
    model_id = model_building.column("id")
    assert model_id is not None and id_col.description == model_id.description


@pytest.mark.postgis
def test_ddl_fixture_applies_and_matches_live(fresh_postgis_db: str) -> None:
    import psycopg

    with psycopg.connect(fresh_postgis_db, autocommit=True) as conn:
        conn.execute(SMALL_SQL.read_bytes())
    live, ddl = load_live(fresh_postgis_db), load_ddl(SMALL_SQL)
    assert _shape(live) == _shape(ddl)
    assert set(live.relations) == set(ddl.relations)
    assert [(c.name, c.nullable) for t in live.tables for c in t.columns] == [
        (c.name, c.nullable) for t in ddl.tables for c in t.columns
    ]


@pytest.mark.postgis
def test_empty_database_is_a_schema_error(fresh_postgis_db: str) -> None:
    with pytest.raises(SchemaError, match="no user tables found"):
        load_live(fresh_postgis_db)


# -- CLI ---------------------------------------------------------------------------------


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = 0
    try:
        main(args)
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_show_summarises_the_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["schema", "show", "--schema", str(SMALL_YAML)], capsys)
    model = load_schema(str(SMALL_YAML))
    assert code == 0
    assert f"{len(model.tables)} table(s)" in out
    assert f"{len(model.relations)} relation(s)" in out
    for table in model.tables:
        assert table.name in out
    assert "Polygon 4326" in out and "geography Point 4326" in out and "raster" in out


@pytest.mark.parametrize("fmt", ["ddl", "yaml"])
def test_cli_export_stdout_and_file(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = load_schema("cim_wizard")
    expected = to_ddl(model) if fmt == "ddl" else to_yaml(model)
    code, out, _ = _cli(["schema", "export", "--format", fmt], capsys)
    assert (code, out) == (0, expected)
    target = tmp_path / f"cim.{fmt}"
    code, out, err = _cli(["schema", "export", "-f", fmt, "--out", str(target)], capsys)
    assert code == 0 and out == "" and str(target) in err
    assert target.read_text(encoding="utf-8") == expected
    assert [p.name for p in tmp_path.iterdir()] == [target.name]  # no temp file left over


def test_cli_bad_schema_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.sql"
    bad.write_text("CREATE TABLE (;\n", encoding="utf-8")
    code, _, err = _cli(["schema", "show", "--schema", str(bad)], capsys)
    assert code == 2
    assert err.count("\n") == 1 and "bad.sql line 1: SQL syntax error" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("spec", ["cim_wizard", str(SMALL_YAML), str(SMALL_SQL)])
def test_cli_show_accepts_every_file_source(spec: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _cli(["schema", "show", "-s", spec], capsys)
    assert code == 0 and f"{len(load_schema(spec).tables)} table(s)" in out


def test_ddl_reads_pg_dump_qualified_postgis_types() -> None:
    # pg_dump runs with an empty search_path and writes public.geometry / public.raster.
    s = schema_from_ddl(
        "CREATE TABLE r.dtm (rid integer NOT NULL, rast public.raster, "
        "g public.geometry(Point,4326));"
    )
    dtm = s.table("r.dtm")
    assert dtm is not None
    rast, g = dtm.column("rast"), dtm.column("g")
    assert rast is not None and (rast.type, rast.kind) == ("raster", "raster")
    assert g is not None and (g.kind, g.srid) == ("geometry", 4326)
