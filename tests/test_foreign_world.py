"""The foreign world (tests/foreign/): a database and Stage 1 corpus cimgen did not make.

The PostGIS test builds the world into a fresh database and runs the whole corpus on it: every
query must execute, return the row count recorded in stage1.jsonl, and the non-empty share
must be the one tests/foreign/README.md states, so the world stays as documented. The other
tests check, without PostGIS, that the files load and agree with each other.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import psycopg
import pytest

from cimgen.io import read_jsonl
from cimgen.schema import load_schema

FOREIGN = Path(__file__).resolve().parent / "foreign"
README = (FOREIGN / "README.md").read_text(encoding="utf-8")
CORPUS = read_jsonl(FOREIGN / "stage1.jsonl")


def _builder() -> ModuleType:
    # The builder is a script beside its helper modules, not a package: import it from there.
    if str(FOREIGN) not in sys.path:
        sys.path.insert(0, str(FOREIGN))
    return importlib.import_module("build_world")


def _documented_share() -> tuple[int, int]:
    m = re.search(r"return at least one row \| (\d+) of (\d+) ", README)
    assert m, "README.md must state the non-empty share as '... return at least one row | N of M'"
    return int(m.group(1)), int(m.group(2))


def _documented_rows() -> dict[str, int]:
    return {t: int(n) for t, n in re.findall(r"^\| `(cim_\w+\.\w+)` \| (\d+) \|", README, re.M)}


def test_deployed_ddl_loads_as_the_samples_see_the_database() -> None:
    s = load_schema(str(FOREIGN / "deployed.sql"))
    assert {t.qualified for t in s.tables} == set(_builder().TABLES)
    dtm, dsm = s.table("cim_raster.dtm"), s.table("cim_raster.dsm_sansalva")
    assert dtm is not None and [c.name for c in dtm.raster_columns] == ["rast"]
    assert dsm is not None and [c.name for c in dsm.raster_columns] == ["rast"]
    building = s.table("cim_vector.cim_wizard_building")
    assert building is not None
    geom = building.column("building_geometry")
    assert geom is not None and (geom.kind, geom.srid) == ("geometry", 4326)
    # Columns the real Stage 1 samples use under names the metadata document does not have.
    for table, column in (
        ("cim_network.network_buses", "bus_name"),
        ("cim_network.network_lines", "from_bus_id"),
        ("cim_network.network_lines", "line_name"),
        ("cim_census.censusgeo", "sez2011"),
        ("cim_census.censusgeo", "p62"),
    ):
        t = s.table(table)
        assert t is not None and t.column(column) is not None, (table, column)
    assert len(s.relations) == 7


def test_corpus_is_a_stage1_corpus_with_recorded_results(stage1_sample: Path) -> None:
    sample_fields = set(json.loads(stage1_sample.read_text().splitlines()[0]))
    assert 50 <= len(CORPUS) <= 80
    assert len({r["id"] for r in CORPUS}) == len(CORPUS)
    for r in CORPUS:
        assert sample_fields <= set(r), sorted(sample_fields - set(r))
        assert r["has_results"] == (r["result_rows"] > 0)
        assert r["sql_postgis"].lstrip().upper().startswith(("SELECT", "WITH"))
    full, total = _documented_share()
    assert (full, total) == (sum(r["has_results"] for r in CORPUS), len(CORPUS))


def _run(conn: psycopg.Connection[Any], sql: str) -> int:
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SET LOCAL statement_timeout = '20s'")
        return len(conn.execute(sql.rstrip().rstrip(";")).fetchall())


@pytest.mark.postgis
def test_world_builds_as_documented_and_runs_its_corpus(fresh_postgis_db: str) -> None:
    builder = _builder()
    counts = builder.build(fresh_postgis_db)
    assert counts == _documented_rows()
    with psycopg.connect(fresh_postgis_db, autocommit=True) as conn:
        checks = conn.execute(
            """SELECT
                 (SELECT count(*) FROM cim_vector.cim_wizard_building
                  WHERE NOT ST_IsValid(building_geometry)),
                 (SELECT count(*) FROM cim_vector.cim_wizard_building b
                  JOIN cim_census.censusgeo c ON b.census_id = c.sez2011
                  WHERE NOT ST_Contains(c.geometry, ST_Centroid(b.building_geometry))),
                 (SELECT count(*) FROM cim_vector.cim_wizard_building_properties bp
                  JOIN cim_vector.cim_wizard_building b ON b.id = bp.building_fk
                  WHERE (b.building_id, b.lod) <> (bp.building_id, bp.lod)),
                 (SELECT count(DISTINCT project_id) FROM cim_vector.cim_wizard_project_scenario)"""
        ).fetchone()
        assert checks == (0, 0, 0, 3)
        rows = {r["id"]: _run(conn, r["sql_postgis"]) for r in CORPUS}
    assert rows == {r["id"]: r["result_rows"] for r in CORPUS}
    assert (sum(n > 0 for n in rows.values()), len(rows)) == _documented_share()
    with pytest.raises(builder.WorldError, match="already has a cim_vector schema"):
        builder.build(fresh_postgis_db)  # never over an existing world
