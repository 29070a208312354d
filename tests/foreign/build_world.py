"""Build the foreign world: the CIM Wizard database as deployed, filled with a Turin district.

    python tests/foreign/build_world.py postgresql://postgres@127.0.0.1:5432/empty_db [--seed 7]

Creates the schema of ``deployed.sql`` (a pg_dump-style DDL file) in an *empty* PostGIS
database and fills it deterministically from ``random.Random(seed)``: see README.md beside
this file for what the world holds. Written independently of cimgen (nothing is imported from
the cimgen package) so that cimgen can be tested on data it did not make.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.types.json import Json
from world_census import Section, make_sections
from world_city import (
    Building,
    Scenario,
    assign_scenarios,
    base_properties,
    make_buildings,
    make_scenarios,
    renovated,
)
from world_geometry import wkt_line, wkt_point, wkt_shape
from world_grid import Network, make_networks
from world_terrain import SCALE_X, SCALE_Y, TILE, Tile, make_dsm, make_dtm

HERE = Path(__file__).resolve().parent
DDL = HERE / "deployed.sql"
EPOCH = datetime(2023, 1, 9, 8, 0, tzinfo=UTC)
TABLES = (
    "cim_vector.cim_wizard_project_scenario",
    "cim_vector.cim_wizard_building",
    "cim_vector.cim_wizard_building_properties",
    "cim_network.network_buses",
    "cim_network.network_lines",
    "cim_census.censusgeo",
    "cim_raster.dtm",
    "cim_raster.dsm_sansalva",
)


class WorldError(Exception):
    """The target database cannot take the world (not empty, no PostGIS...)."""


def build(dsn: str, seed: int = 7) -> dict[str, int]:
    """Create and fill the world in the empty database at `dsn`; rows per table."""
    rng = random.Random(seed)
    scenarios = make_scenarios(rng)
    buildings = make_buildings(rng)
    assign_scenarios(buildings, scenarios)
    sections = make_sections(rng, buildings)
    networks = make_networks(rng, scenarios)
    properties = _properties(rng, buildings, scenarios)
    dtm = make_dtm(rng)
    dsm = make_dsm(rng, dtm, buildings)
    with psycopg.connect(dsn) as conn:
        if conn.execute("SELECT to_regnamespace('cim_vector')").fetchone() != (None,):
            raise WorldError(
                f"{_where(dsn)} already has a cim_vector schema: use an empty database"
            )
        conn.execute(DDL.read_text(encoding="utf-8"))
        conn.execute("SET search_path = public")  # the dump empties it, as pg_dump does
        _insert_scenarios(conn, scenarios)
        _insert_census(conn, sections)
        _insert_buildings(conn, buildings, properties)
        _insert_networks(conn, scenarios, networks)
        _insert_tiles(conn, "cim_raster.dtm", "dtm_torino_16m", dtm)
        _insert_tiles(conn, "cim_raster.dsm_sansalva", "dsm_sansalva_16m", dsm)
        _derive(conn)
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        counts = {}
        for table in TABLES:
            row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
            counts[table] = int(row[0]) if row else 0
        return counts


def _where(dsn: str) -> str:
    return "database " + (psycopg.conninfo.conninfo_to_dict(dsn).get("dbname") or dsn)


def _at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=round(seconds))


def _properties(
    rng: random.Random, buildings: list[Building], scenarios: list[Scenario]
) -> list[tuple[Building, Scenario, dict[str, Any]]]:
    """Property rows: the present state per project, the 2030 scenario derived from it."""
    by_id = {s.scenario_id: s for s in scenarios}
    rows = []
    for b in buildings:
        if not b.scenarios:
            continue
        base = base_properties(rng, b)
        for sid in b.scenarios:
            s = by_id[sid]
            props = base if s.scenario_id == s.project_id else renovated(rng, base)
            rows.append((b, s, props))
    return rows


def _insert_scenarios(conn: psycopg.Connection[Any], scenarios: list[Scenario]) -> None:
    rows = []
    for s in scenarios:
        ring = [[list(s.boundary)]]
        rows.append((
            s.project_id, s.scenario_id, s.project_name, s.scenario_name, wkt_shape(ring), 16,
            32632, f"/configs/{s.project_id}/cosim_{s.scenario_id[:8]}.json",
            Json({"db": "cim_networks", "collection": "pandapower", "network_id": s.network_id}),
            f"/results/{s.scenario_id}/annual_2023.json", _at(s.created), _at(s.created + 3600),
        ))  # fmt: skip
    conn.cursor().executemany(
        """INSERT INTO cim_vector.cim_wizard_project_scenario (project_id, scenario_id,
           project_name, scenario_name, project_boundary, project_zoom, project_crs,
           cosimulator_config_mongo_path, network_mongo_path, results_mongo_path, created_at,
           updated_at) VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s, %s, %s, %s, %s,
           %s, %s)""",
        rows,
    )


def _insert_census(conn: psycopg.Connection[Any], sections: list[Section]) -> None:
    names = list(sections[0].values)
    cols = ", ".join(names)
    marks = ", ".join(["%s"] * len(names))
    conn.cursor().executemany(
        f"INSERT INTO cim_census.censusgeo (sez2011, geometry, {cols}) "
        f"VALUES (%s, ST_Multi(ST_GeomFromText(%s, 4326)), {marks})",
        [(s.sez2011, wkt_shape([[s.ring]]), *(s.values[n] for n in names)) for s in sections],
    )


def _insert_buildings(
    conn: psycopg.Connection[Any],
    buildings: list[Building],
    properties: list[tuple[Building, Scenario, dict[str, Any]]],
) -> None:
    cur = conn.cursor()
    cur.executemany(
        """INSERT INTO cim_vector.cim_wizard_building (building_id, lod, building_geometry,
           building_geometry_source, osm_id, created_at, updated_at)
           VALUES (%s, %s, ST_GeomFromText(%s, 4326), %s, %s, %s, %s)""",
        [
            (b.uid, b.lod, wkt_shape(b.shape), b.source, b.osm_id, _at(k * 7), _at(k * 7))
            for k, b in enumerate(buildings)
        ],
    )
    ids = dict(cur.execute("SELECT building_id, id FROM cim_vector.cim_wizard_building"))
    names = list(properties[0][2])
    cur.executemany(
        f"""INSERT INTO cim_vector.cim_wizard_building_properties (building_id, project_id,
            scenario_id, lod, building_fk, {", ".join(names)}, created_at, updated_at)
            VALUES ({", ".join(["%s"] * (len(names) + 7))})""",
        [
            (b.uid, s.project_id, s.scenario_id, b.lod, ids[b.uid],
             *(Json(p[n]) if isinstance(p[n], dict) else p[n] for n in names),
             _at(s.created + 7200), _at(s.created + 7200))
            for b, s, p in properties
        ],
    )  # fmt: skip


def _insert_networks(
    conn: psycopg.Connection[Any], scenarios: list[Scenario], networks: dict[str, Network]
) -> None:
    buses, lines = [], []
    for s in scenarios:
        net = networks[s.scenario_id]
        when = _at(s.created + 10_800)
        for b in net.buses:
            buses.append((
                net.network_id, b.bus_id, s.project_id, s.scenario_id, wkt_point(b.point),
                b.name, b.bus_name, b.bus_type, b.voltage_kv, b.zone, b.in_service, when, when,
            ))  # fmt: skip
        for ln in net.lines:
            lines.append((
                net.network_id, ln.line_id, s.project_id, s.scenario_id, wkt_line(ln.points),
                ln.line_name, ln.std_type, ln.from_bus, ln.to_bus, ln.length_km,
                ln.max_loading_percent, ln.in_service, when, when,
            ))  # fmt: skip
    cur = conn.cursor()
    cur.executemany(
        """INSERT INTO cim_network.network_buses (network_id, bus_id, project_id, scenario_id,
           geometry, name, bus_name, bus_type, voltage_kv, zone, in_service, created_at,
           updated_at) VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326), %s, %s, %s, %s, %s,
           %s, %s, %s)""",
        buses,
    )
    cur.executemany(
        """INSERT INTO cim_network.network_lines (network_id, line_id, project_id, scenario_id,
           geometry, line_name, std_type, from_bus_id, to_bus_id, length_km,
           max_loading_percent, in_service, created_at, updated_at) VALUES (%s, %s, %s, %s,
           ST_GeomFromText(%s, 4326), %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        lines,
    )


def _insert_tiles(
    conn: psycopg.Connection[Any], table: str, prefix: str, tiles: list[Tile]
) -> None:
    conn.cursor().executemany(
        f"""INSERT INTO {table} (rast, filename) VALUES (ST_SetValues(ST_AddBand(
            ST_MakeEmptyRaster({TILE}, {TILE}, %s, %s, {SCALE_X}, {SCALE_Y}, 0, 0, 4326),
            '32BF'::text, 0, -9999), 1, 1, 1, %s::double precision[]), %s)""",
        [(t.upper_left[0], t.upper_left[1], t.values, t.filename(prefix)) for t in tiles],
    )


def _derive(conn: psycopg.Connection[Any]) -> None:
    """Columns a deployment computes from the geometry once the data is in."""
    conn.execute(
        """UPDATE cim_vector.cim_wizard_building b SET census_id = c.sez2011
           FROM cim_census.censusgeo c
           WHERE ST_Contains(c.geometry, ST_Centroid(b.building_geometry))"""
    )
    conn.execute(
        """UPDATE cim_vector.cim_wizard_project_scenario ps
           SET project_center = ST_Centroid(ps.project_boundary),
               census_boundary = (SELECT ST_Multi(ST_Union(c.geometry ORDER BY c.sez2011))
                                  FROM cim_census.censusgeo c
                                  WHERE ST_Intersects(c.geometry, ps.project_boundary))"""
    )
    # Neighbours: footprints within half a metre (shared walls, after 7-decimal rounding).
    conn.execute(
        """UPDATE cim_vector.cim_wizard_building_properties p SET neighbours_ids = n.ids
           FROM (SELECT b1.id, json_agg(b2.building_id ORDER BY b2.building_id) AS ids
                 FROM cim_vector.cim_wizard_building b1
                 JOIN cim_vector.cim_wizard_building b2
                   ON b1.id <> b2.id
                  AND ST_DWithin(b1.building_geometry, b2.building_geometry, 0.000005)
                 GROUP BY b1.id) n
           WHERE p.building_fk = n.id"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn", help="URL of an empty PostgreSQL database (PostGIS installed)")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    try:
        counts = build(args.dsn, args.seed)
    except (WorldError, psycopg.Error) as exc:
        print(f"error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    for table, n in counts.items():
        print(f"{table:45s} {n:6d}")
    print(f"built in {time.perf_counter() - start:.1f} s (seed {args.seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
