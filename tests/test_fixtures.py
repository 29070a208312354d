"""Fixture data: determinism, relations, plausibility, example values, generic schemas."""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from pathlib import Path

import pytest

from cimgen.fixtures import _generate, generate_fixture
from cimgen.fixtures.cim_world import PERIOD_TABULA, PERIOD_YEARS, PROJECTS
from cimgen.fixtures.model import RasterTile
from cimgen.schema.load import load_schema, load_schema_file
from cimgen.schema.model import Schema

ID_LIKE = (
    "project_id",
    "scenario_id",
    "building_id",
    "census_id",
    "sez2011",
    "bus_id",
    "line_id",
    "from_bus",
    "to_bus",
    "network_id",
    "lod",
    "type",
    "zone",
    "nsez",
    "raster_type",
    "filename",
    "hvac_type",
    "const_period_census",
    "const_tabula",
    "building_geometry_source",
    "comune",
    "calculation_method",
    "srid",
)


@pytest.fixture(scope="module")
def cim() -> Schema:
    return load_schema("cim_wizard")


@pytest.fixture(scope="module")
def fx(cim: Schema):  # type: ignore[no-untyped-def]
    return generate_fixture(cim, seed=0)


def test_same_seed_gives_identical_rows_and_other_seed_differs(cim: Schema, fx) -> None:  # type: ignore[no-untyped-def]
    again = _generate(cim, 0)  # bypasses the in-process memo
    assert again.tables == fx.tables
    other = _generate(cim, 1)
    assert other.table("cim_vector.building").rows != fx.table("cim_vector.building").rows


def test_every_table_has_rows_and_sizes_are_modest(fx) -> None:  # type: ignore[no-untyped-def]
    counts = fx.row_counts()
    assert all(n > 0 for n in counts.values()), counts
    buildings = fx.values("cim_vector.building", "building_id")
    assert 2500 <= len(buildings) <= 3500
    assert sum(counts.values()) < 40000


def test_every_schema_relation_holds(cim: Schema, fx) -> None:  # type: ignore[no-untyped-def]
    for rel in cim.relations:
        left, right = fx.table(rel.left), fx.table(rel.right)
        li = [left.index(c) for c in rel.left_columns]
        ri = [right.index(c) for c in rel.right_columns]
        keys = {tuple(r[i] for i in ri) for r in right.rows}
        orphans = [r for r in left.rows if tuple(r[i] for i in li) not in keys]
        assert not orphans, f"{rel.left}{rel.left_columns} -> {rel.right}: {orphans[:1]}"


def test_primary_keys_are_unique(cim: Schema, fx) -> None:  # type: ignore[no-untyped-def]
    for t in cim.tables:
        data = fx.table(t.qualified)
        idx = [data.index(k) for k in t.primary_key]
        keys = [tuple(r[i] for i in idx) for r in data.rows]
        assert len(keys) == len(set(keys)), t.qualified


def test_example_values_of_id_like_columns_exist(cim: Schema, fx) -> None:  # type: ignore[no-untyped-def]
    for t in cim.tables:
        for c in t.columns:
            if c.name in ID_LIKE and c.examples:
                have = set(fx.values(t.qualified, c.name))
                missing = [e for e in c.examples if e not in have]
                assert not missing, f"{t.qualified}.{c.name} lacks {missing}"
    lines = fx.table("cim_vector.grid_line").dicts()
    assert {(ln["from_bus"], ln["to_bus"]) for ln in lines} >= {(1, 2), (15, 16), (847, 848)}


def test_projects_and_scenarios_follow_the_schema_examples(fx) -> None:  # type: ignore[no-untyped-def]
    rows = fx.table("cim_vector.project_scenario").dicts()
    pairs = {(r["project_id"], r["scenario_id"]) for r in rows}
    assert pairs == {(p.project_id, s) for p in PROJECTS for s in p.scenarios}
    for r in rows:  # boundaries in the Milan box
        coords = [
            float(v)
            for v in r["project_boundary"]
            .removeprefix("POLYGON ((")
            .removesuffix("))")
            .replace(",", " ")
            .split()
        ]
        lons, lats = coords[0::2], coords[1::2]
        assert min(lons) >= 9.15 and max(lons) <= 9.23
        assert min(lats) >= 45.46 and max(lats) <= 45.50


def test_building_properties_are_plausible_and_consistent(fx) -> None:  # type: ignore[no-untyped-def]
    rows = fx.table("cim_vector.building_properties").dicts()
    types = Counter(r["type"] for r in rows)
    assert types.most_common(1)[0][0] == "residential"
    assert {"commercial", "industrial", "mixed", "public"} <= set(types)
    for r in rows:
        assert 3.0 <= r["height"] <= 60.0
        assert math.isclose(r["volume"], r["height"] * r["area"], abs_tol=0.01)
        assert math.isclose(r["number_of_floors"], r["height"] / 3.2, abs_tol=0.051)
        lo, hi = PERIOD_YEARS[r["const_period_census"]]
        assert lo <= r["const_year"] <= hi
        assert r["const_tabula"] == PERIOD_TABULA[r["const_period_census"]]
        assert math.isclose(r["net_leased_area"], r["gross_floor_area"] * 0.9, abs_tol=0.01)
        assert (r["n_family"] > 0) == (r["n_people"] > 0)
        assert 0.1 <= r["w2w"] <= 0.5
    heights = sorted(r["height"] for r in rows)
    assert 10 < heights[len(heights) // 2] < 30  # median of a plausible city


def test_census_variables_are_consistent(fx) -> None:  # type: ignore[no-untyped-def]
    rows = fx.table("cim_census.census_geo").dicts()
    for r in rows:
        assert r["p1"] == r["p2"] + r["p3"]
        assert r["p1"] == sum(r[f"p{k}"] for k in range(14, 30))  # age bands
        assert r["e3"] == sum(r[f"e{k}"] for k in range(8, 17))  # building ages
        assert r["comune"] == "Milano"
        assert r["sez2011"] == 151460000000 + int(r["nsez"])
        assert 50_000 < r["shape_area"] < 400_000


def test_grid_voltages_zones_and_lines(fx) -> None:  # type: ignore[no-untyped-def]
    buses = fx.table("cim_vector.grid_bus").dicts()
    zone = {0.4: "LV", 15.0: "MV", 132.0: "HV"}
    assert {b["voltage_kv"] for b in buses} == set(zone)
    assert all(zone[b["voltage_kv"]] == b["zone"] for b in buses)
    assert 0.85 < sum(b["in_service"] for b in buses) / len(buses) < 1.0
    by_id = {b["bus_id"]: b for b in buses}
    for ln in fx.table("cim_vector.grid_line").dicts():
        a, b = by_id[ln["from_bus"]], by_id[ln["to_bus"]]
        assert (a["project_id"], a["scenario_id"]) == (ln["project_id"], ln["scenario_id"])
        assert (b["project_id"], b["scenario_id"]) == (ln["project_id"], ln["scenario_id"])
        assert ln["geometry"].startswith("LINESTRING") and ln["length_km"] > 0


def test_rasters_and_height_cache(fx) -> None:  # type: ignore[no-untyped-def]
    dtm = fx.table("cim_raster.dtm_raster").dicts()
    dsm = fx.table("cim_raster.dsm_raster").dicts()
    assert len(dtm) == len(dsm) == 16
    for a, b in zip(dtm, dsm, strict=True):
        ta, tb = a["rast"], b["rast"]
        assert isinstance(ta, RasterTile) and (ta.width, ta.height, ta.srid) == (50, 50, 4326)
        assert ta.stats()[0] > 105 and ta.stats()[1] < 135
        assert all(
            vb >= va
            for ra, rb in zip(ta.values, tb.values, strict=True)
            for va, vb in zip(ra, rb, strict=True)
        )
        assert (a["min_elevation"], a["max_elevation"]) == ta.stats()[:2]
    assert any(b["max_elevation"] > a["max_elevation"] + 5 for a, b in zip(dtm, dsm, strict=True))
    for r in fx.table("cim_raster.building_height_cache").dicts():
        assert math.isclose(
            r["dsm_avg_height"] - r["dtm_avg_height"], r["building_height"], abs_tol=0.011
        )


def test_raster_wkb_header_is_postgis_layout() -> None:
    tile = RasterTile(
        origin=(9.0, 45.0), scale=(0.5, -0.5), width=2, height=1, srid=4326, values=((1.0, 2.5),)
    )
    wkb = tile.to_wkb()
    assert wkb[:5] == b"\x01\x00\x00\x01\x00"  # NDR, version 0, one band
    assert len(wkb) == 5 + 6 * 8 + 4 + 2 + 2 + 1 + 4 + 2 * 4
    with pytest.raises(ValueError):
        RasterTile(origin=(0, 0), scale=(1, -1), width=2, height=2, srid=4326, values=((1.0,),))


def test_values_are_distinct_sorted_and_non_null(fx) -> None:  # type: ignore[no-untyped-def]
    vals = fx.values("cim_vector.building_properties", "height")
    assert list(vals) == sorted(set(vals)) and None not in vals
    assert fx.values("cim_vector.project_scenario", "scenario_id") == (
        "baseline",
        "optimized",
        "proposed",
    )


GENERIC_YAML = """
name: shops
schemas:
  retail:
    tables:
      store:
        primary_key: [store_code]
        columns:
          store_code: {type: "varchar(20)", examples: ["MI-001"]}
          opened: "date"
          rating: "real"
          location: "geometry(Point,4326)"
          catchment: "geometry(MultiPolygon,32632)"
          footprint: "geometry(Polygon,3857)"
          meta: "jsonb"
      sale:
        primary_key: [id]
        columns:
          id: "serial"
          store_code: "varchar(20)"
          amount: {type: "numeric", examples: [12.5]}
          at: "timestamp"
          route: "geometry(LineString,4326)"
          stops: "geometry(MultiPoint,4326)"
          paths: "geometry(MultiLineString,4326)"
          anything: "geometry(Geometry,4326)"
          paid: "boolean"
relations:
  - {from: retail.sale, columns: [store_code], to: retail.store, to_columns: [store_code]}
"""


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> Schema:
    path: Path = tmp_path_factory.mktemp("schema") / "shops.yaml"
    path.write_text(GENERIC_YAML)
    return load_schema_file(path)


def test_generic_schema_rows_keys_relations_and_determinism(shops: Schema) -> None:
    fx = _generate(shops, 3)
    assert _generate(shops, 3).tables == fx.tables
    store, sale = fx.table("retail.store"), fx.table("retail.sale")
    assert 200 <= len(store) <= 400 and 200 <= len(sale) <= 400
    codes = store.column("store_code")
    assert len(set(codes)) == len(codes) and "MI-001" in codes
    assert set(sale.column("store_code")) <= set(codes)
    assert 12.5 in sale.column("amount")
    assert all(w.startswith("POINT") for w in store.column("location"))
    assert all(w.startswith("MULTIPOLYGON") for w in store.column("catchment"))
    # SRID-specific coordinates: UTM 32N metres around Milan, web mercator around 1.0e6 m
    x = float(store.column("catchment")[0].split("(((")[1].split()[0])
    assert 450_000 < x < 560_000
    y = float(store.column("footprint")[0].split("((")[1].split(",")[0].split()[1])
    assert 5_600_000 < y < 5_800_000


# --- the deployed schema (table/column aliases, example ids) ------------------------------


@pytest.fixture(scope="module")
def deployed() -> Schema:
    return load_schema("cim_wizard_deployed")


@pytest.fixture(scope="module")
def dfx(deployed: Schema):  # type: ignore[no-untyped-def]
    return generate_fixture(deployed, seed=0)


def test_deployed_schema_gets_the_milan_world_renamed(fx, dfx) -> None:  # type: ignore[no-untyped-def]
    from cimgen.fixtures.aliases import ALIASES

    for name, alias in ALIASES.items():
        mine, world = dfx.table(name), fx.table(alias.world)
        assert len(mine) == len(world), name
        for col in ("geometry", "building_geometry", "height", "p1", "voltage_kv", "rast"):
            if col in mine.column_names:
                assert mine.column(col) == world.column(col), (name, col)
    lines, glines = dfx.table("cim_network.network_lines"), fx.table("cim_vector.grid_line")
    assert lines.column("from_bus_id") == glines.column("from_bus")
    assert lines.column("line_name") == glines.column("name")
    buses = dfx.table("cim_network.network_buses")
    assert buses.column("bus_name") == buses.column("name")
    # in_service exists only in the deployed lines: in service iff both buses are
    up = dict(zip(buses.column("bus_id"), buses.column("in_service"), strict=True))
    for ln in lines.dicts():
        assert ln["in_service"] == (up[ln["from_bus_id"]] and up[ln["to_bus_id"]])
    assert 0.7 < sum(lines.column("in_service")) / len(lines) < 1.0


def test_deployed_relations_hold_and_keys_are_unique(deployed: Schema, dfx) -> None:  # type: ignore[no-untyped-def]
    assert len(deployed.relations) == 6
    for rel in deployed.relations:
        left, right = dfx.table(rel.left), dfx.table(rel.right)
        li = [left.index(c) for c in rel.left_columns]
        ri = [right.index(c) for c in rel.right_columns]
        keys = {tuple(r[i] for i in ri) for r in right.rows}
        orphans = [r for r in left.rows if tuple(r[i] for i in li) not in keys]
        assert not orphans, f"{rel.left}{rel.left_columns} -> {rel.right}: {orphans[:1]}"
    for t in deployed.tables:
        data = dfx.table(t.qualified)
        idx = [data.index(k) for k in t.primary_key]
        assert len({tuple(r[i] for i in idx) for r in data.rows}) == len(data), t.qualified


def test_deployed_example_ids_exist_and_are_tied_as_the_samples_use_them(
    deployed: Schema, dfx
) -> None:  # type: ignore[no-untyped-def]

    for t in deployed.tables:
        for c in t.columns:
            if (c.name in ID_LIKE or c.name.endswith("_id")) and c.examples:
                missing = set(c.examples) - set(dfx.values(t.qualified, c.name))
                assert not missing, f"{t.qualified}.{c.name} lacks {missing}"
    props = deployed.table("cim_vector.cim_wizard_building_properties")
    assert props is not None
    ex = [props.column(n).examples for n in ("building_id", "project_id", "scenario_id")]  # type: ignore[union-attr]
    rows = {
        (r["building_id"], r["project_id"], r["scenario_id"])
        for r in dfx.table("cim_vector.cim_wizard_building_properties").dicts()
    }
    assert set(zip(*ex, strict=True)) <= rows  # each example building is in its project
    scen = dfx.table("cim_vector.cim_wizard_project_scenario").dicts()
    assert len(scen) == 7 and all(r["project_id"] == r["scenario_id"] for r in scen)
    uuid = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
    bids = dfx.values("cim_vector.cim_wizard_building", "building_id")
    assert all(uuid.match(b) or b in ex[0] for b in bids)
    neighbours = {
        n
        for v in dfx.table("cim_vector.cim_wizard_building_properties").column("neighbours_ids")
        for n in json.loads(v)
    }
    assert neighbours <= set(bids)  # ids inside JSON renamed with the column
    assert 151460000101 in dfx.values("cim_census.censusgeo", "sez2011")


def test_deployed_fixture_is_deterministic(deployed: Schema, dfx) -> None:  # type: ignore[no-untyped-def]
    assert _generate(deployed, 0).tables == dfx.tables
    other = _generate(deployed, 1)
    assert other.values("cim_vector.cim_wizard_project_scenario", "project_id") == dfx.values(
        "cim_vector.cim_wizard_project_scenario", "project_id"
    )
    assert (
        other.table("cim_vector.cim_wizard_building").rows
        != dfx.table("cim_vector.cim_wizard_building").rows
    )


def test_plain_fixture_facts_are_cached_so_a_warm_run_generates_no_fixture(
    shops: Schema, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 19: the planting and the metric SRID read the plain fixture's facts; a second
    run (a new process: empty memos) reads them from the cache and generates no fixture."""
    import cimgen.engines as engines
    import cimgen.fixtures as fixtures
    from cimgen.fixtures.facts import facts_of
    from cimgen.generate.pipeline import _planting, _with_metric_srid
    from cimgen.world.corpus import learn_corpus

    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(tmp_path))
    calls: list[object] = []

    def counted(*args: object) -> object:
        calls.append(args)
        return _generate(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(fixtures, "_generate", counted)
    corpus = learn_corpus(shops, [])
    for run in range(2):
        monkeypatch.setattr(fixtures, "_memo", {})
        monkeypatch.setattr(engines, "_FACTS", {})
        schema = _with_metric_srid(shops, corpus, 4)
        assert _planting(schema, corpus, 4) is None  # an empty corpus plants nothing
        if run == 0:
            first = len(calls)
    assert schema.metric_srid and shops.metric_srid is None  # from the fixture's place
    assert first >= 1 and len(calls) == first  # the second run generated nothing
    assert engines.fixture_facts(shops, 4) == facts_of(shops, _generate(shops, 4))
