"""Small helpers the template samplers share: scenario, building, thresholds, readable names."""

from __future__ import annotations

import math
import random
import re

from cimgen.corpus.pools import BuildingRow, Pools, ScenarioRow
from cimgen.corpus.templates import Params, Text, nice, quantile, threshold

# Readable names for the fixture's projects; other projects get a title-cased id.
_LABELS = {
    "milan_porta_garibaldi_2024": "Porta Garibaldi",
    "milan_citta_studi_2024": "Città Studi",
    "milan_navigli_2023": "Navigli",
}


def project_label(project_id: str) -> str:
    if project_id in _LABELS:
        return _LABELS[project_id]
    core = re.sub(r"^milan_|_(19|20)\d\d$", "", project_id)
    return core.replace("_", " ").title()


def network_label(network_id: str) -> str:
    """``milan_grid_lv_06`` -> ``the LV network 06`` (how an engineer names a feeder)."""
    m = re.match(r"^.*?_grid_([a-z]+)_(\w+)$", network_id)
    return f"the {m.group(1).upper()} network {m.group(2)}" if m else f"network {network_id}"


def project_year(project_id: str) -> str:
    m = re.search(r"(19|20)\d\d$", project_id)
    return m.group(0) if m else "current"


def scenario_params(ps: ScenarioRow) -> Params:
    """The parameters every scenario-scoped template uses."""
    return {
        "project": ps.project_id,
        "scenario": ps.scenario_id,
        "project_label": Text(project_label(ps.project_id)),
        "scenario_label": Text(ps.scenario_id.replace("_", " ")),
        "year": Text(project_year(ps.project_id)),
    }


def pick_scenario(
    pools: Pools, rng: random.Random, need: str = "buildings"
) -> tuple[ScenarioRow, Params]:
    ps = pools.scenario(rng, need)
    return ps, scenario_params(ps)


def pick_type(rows: tuple[BuildingRow, ...], rng: random.Random, min_rows: int = 3) -> str:
    """A building type with at least ``min_rows`` buildings (else any present type)."""
    counts: dict[str, int] = {}
    for b in rows:
        counts[b.type] = counts.get(b.type, 0) + 1
    common = sorted(t for t, n in counts.items() if n >= min_rows) or sorted(counts)
    return rng.choice(common)


def of_type(rows: tuple[BuildingRow, ...], btype: str) -> list[BuildingRow]:
    return [b for b in rows if b.type == btype]


def limit(rng: random.Random) -> int:
    return rng.choice((5, 10, 10, 20, 25, 50))


def above(values: list[float], rng: random.Random, lo: float = 0.3, hi: float = 0.8) -> float:
    """A threshold that some (20-70 %) of ``values`` exceed."""
    return threshold(values, rng, lo, hi)


def below(values: list[float], rng: random.Random, lo: float = 0.2, hi: float = 0.6) -> float:
    """A threshold that some of ``values`` fall below (never below the minimum)."""
    t = nice(quantile(values, rng.uniform(lo, hi)))
    return t if t > min(values) else nice(quantile(values, hi)) + 0.0


def year_range(years: list[int], rng: random.Random) -> tuple[int, int]:
    """A construction-year window that contains some buildings."""
    anchor = rng.choice(sorted(years))
    start = anchor - anchor % 10
    return start, start + rng.choice((9, 19, 29))


def point_near(b: BuildingRow, rng: random.Random) -> tuple[float, float]:
    """A point a few tens of metres from building ``b`` (lon, lat, rounded like a map click)."""
    lon = round(b.lon + rng.uniform(-0.0006, 0.0006), 5)
    lat = round(b.lat + rng.uniform(-0.0004, 0.0004), 5)
    return lon, lat


def envelope(lon: float, lat: float, radius_m: float) -> Params:
    """A lon/lat box around a point that contains the ``radius_m`` circle.

    Queries put ``geom && ST_MakeEnvelope(...)`` before an exact ``ST_DWithin`` on
    geography: the cheap box test (index-assisted where an index exists) keeps the
    expensive geodesic test to a few rows.
    """
    dlat = radius_m / 111_000 * 1.1
    dlon = radius_m / (111_000 * math.cos(math.radians(lat))) * 1.1
    return {
        "xmin": round(lon - dlon, 5),
        "ymin": round(lat - dlat, 5),
        "xmax": round(lon + dlon, 5),
        "ymax": round(lat + dlat, 5),
    }
