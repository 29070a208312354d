"""Parameter pools: the values templates may put into questions and SQL.

Every literal of the demo corpus comes from here, and everything here is read from the
fixture database (``cimgen.engines.duckdb.open_fixture``), so a query names building ids,
census sections, buses and raster files that exist, and its thresholds are quantiles of the
fixture's own value distributions. The queries below are portable SQL (DuckDB spatial and
PostGIS both run them) and fully ordered, so the pools -- and the corpus -- are
deterministic.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Key = tuple[str, str]  # (project_id, scenario_id)
Execute = Callable[[str], Sequence[Sequence[Any]]]


@dataclass(frozen=True)
class ScenarioRow:
    project_id: str
    scenario_id: str
    project_name: str
    scenario_name: str

    @property
    def key(self) -> Key:
        return (self.project_id, self.scenario_id)


@dataclass(frozen=True)
class BuildingRow:
    building_id: str
    lod: int
    type: str
    height: float
    area: float
    volume: float
    floors: float
    const_year: int
    n_people: int
    n_family: int
    hvac_type: str
    heating: bool
    cooling: bool
    census_id: int
    const_tabula: str
    lon: float
    lat: float


@dataclass(frozen=True)
class CensusRow:
    sez2011: int
    p1: int
    st1: int
    pf1: int
    shape_area: float
    e8: int
    e16: int
    ace: str
    lon: float
    lat: float


@dataclass(frozen=True)
class BusRow:
    bus_id: int
    network_id: str
    name: str
    voltage_kv: float
    zone: str
    in_service: bool
    lon: float
    lat: float


@dataclass(frozen=True)
class LineRow:
    line_id: int
    network_id: str
    name: str
    from_bus: int
    to_bus: int
    length_km: float
    max_loading_percent: float


@dataclass(frozen=True)
class CacheRow:
    building_id: str
    building_height: float
    confidence_score: float
    coverage_percentage: float
    calculation_method: str


@dataclass(frozen=True)
class RasterRow:
    filename: str
    min_elevation: float
    max_elevation: float


_SCENARIOS = """
SELECT project_id, scenario_id, project_name, scenario_name
FROM cim_vector.project_scenario ORDER BY project_id, scenario_id"""

# Buildings as the corpus queries see them: properties joined to footprints on (id, lod).
_BUILDINGS = """
SELECT bp.project_id, bp.scenario_id, bp.building_id, bp.lod, bp.type,
       CAST(bp.height AS DOUBLE PRECISION), CAST(bp.area AS DOUBLE PRECISION),
       CAST(bp.volume AS DOUBLE PRECISION), CAST(bp.number_of_floors AS DOUBLE PRECISION),
       bp.const_year, bp.n_people, bp.n_family, bp.hvac_type, bp.heating, bp.cooling,
       b.census_id, bp.const_tabula,
       ST_X(ST_Centroid(b.building_geometry)), ST_Y(ST_Centroid(b.building_geometry))
FROM cim_vector.building_properties bp
JOIN cim_vector.building b ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.height IS NOT NULL AND bp.area IS NOT NULL AND bp.type IS NOT NULL
ORDER BY bp.project_id, bp.scenario_id, bp.building_id, bp.lod"""

_CENSUS = """
SELECT sez2011, p1, st1, pf1, CAST(shape_area AS DOUBLE PRECISION), e8, e16, ace,
       ST_X(ST_Centroid(geometry)), ST_Y(ST_Centroid(geometry))
FROM cim_census.census_geo WHERE p1 IS NOT NULL ORDER BY sez2011"""

_BUSES = """
SELECT project_id, scenario_id, bus_id, network_id, name,
       CAST(voltage_kv AS DOUBLE PRECISION), zone, in_service, ST_X(geometry), ST_Y(geometry)
FROM cim_vector.grid_bus ORDER BY project_id, scenario_id, bus_id, id"""

_LINES = """
SELECT project_id, scenario_id, line_id, network_id, name, from_bus, to_bus,
       CAST(length_km AS DOUBLE PRECISION), CAST(max_loading_percent AS DOUBLE PRECISION)
FROM cim_vector.grid_line ORDER BY project_id, scenario_id, line_id, id"""

_CACHE = """
SELECT project_id, scenario_id, building_id, CAST(building_height AS DOUBLE PRECISION),
       CAST(confidence_score AS DOUBLE PRECISION),
       CAST(coverage_percentage AS DOUBLE PRECISION), calculation_method
FROM cim_raster.building_height_cache
WHERE building_height IS NOT NULL ORDER BY project_id, scenario_id, building_id, id"""

_RASTER = """
SELECT filename, CAST(min_elevation AS DOUBLE PRECISION), CAST(max_elevation AS DOUBLE PRECISION)
FROM cim_raster.{table} ORDER BY filename, id"""

_RASTER_MODEL = """
SELECT DISTINCT raster_type FROM cim_raster.raster_model
WHERE raster_type IS NOT NULL ORDER BY raster_type"""


@dataclass(frozen=True)
class Pools:
    """Everything the samplers draw from, grouped by (project_id, scenario_id)."""

    scenarios: tuple[ScenarioRow, ...]
    buildings: dict[Key, tuple[BuildingRow, ...]]
    census: tuple[CensusRow, ...]
    buses: dict[Key, tuple[BusRow, ...]]
    lines: dict[Key, tuple[LineRow, ...]]
    cache: dict[Key, tuple[CacheRow, ...]]
    dtm: tuple[RasterRow, ...]
    dsm: tuple[RasterRow, ...]
    raster_types: tuple[str, ...]

    @classmethod
    def from_execute(cls, execute: Execute) -> Pools:
        """Build pools by running the pool queries through ``execute(sql) -> rows``."""
        scenarios = tuple(ScenarioRow(*map(str, r)) for r in execute(_SCENARIOS))
        buildings: dict[Key, list[BuildingRow]] = defaultdict(list)
        for r in execute(_BUILDINGS):
            buildings[(r[0], r[1])].append(BuildingRow(*r[2:]))
        buses: dict[Key, list[BusRow]] = defaultdict(list)
        for r in execute(_BUSES):
            buses[(r[0], r[1])].append(BusRow(*r[2:]))
        lines: dict[Key, list[LineRow]] = defaultdict(list)
        for r in execute(_LINES):
            lines[(r[0], r[1])].append(LineRow(*r[2:]))
        cache: dict[Key, list[CacheRow]] = defaultdict(list)
        for r in execute(_CACHE):
            cache[(r[0], r[1])].append(CacheRow(*r[2:]))
        return cls(
            scenarios=scenarios,
            buildings={k: tuple(v) for k, v in buildings.items()},
            census=tuple(CensusRow(*r) for r in execute(_CENSUS)),
            buses={k: tuple(v) for k, v in buses.items()},
            lines={k: tuple(v) for k, v in lines.items()},
            cache={k: tuple(v) for k, v in cache.items()},
            dtm=tuple(RasterRow(*r) for r in execute(_RASTER.format(table="dtm_raster"))),
            dsm=tuple(RasterRow(*r) for r in execute(_RASTER.format(table="dsm_raster"))),
            raster_types=tuple(str(r[0]) for r in execute(_RASTER_MODEL)),
        )

    # ------------------------------------------------------------------ picking

    def scenario(self, rng: random.Random, need: str = "buildings") -> ScenarioRow:
        """A scenario that has rows in ``need`` (buildings | buses | lines | cache)."""
        table: dict[Key, Any] = getattr(self, need)
        candidates = [s for s in self.scenarios if table.get(s.key)]
        if not candidates:
            raise LookupError(f"the fixture has no scenario with {need}")
        return rng.choice(candidates)

    def building_types(self, key: Key) -> list[str]:
        return sorted({b.type for b in self.buildings[key]})
