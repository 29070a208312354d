"""The foreign world's ISTAT 2011 census sections of Torino, with their census variables.

An 8 x 8 tiling of the study area with jittered shared corners (so sections meet exactly and
every building lies in one). Codes follow ISTAT: SEZ2011 = PRO_COM * 10^7 + NSEZ, Torino's
PRO_COM being 1272 (codes 1272000xxxx). Population and building counts come from the
buildings whose centroid lies in a section, so census and buildings agree; sections of the
Valentino park and the river have no residents, the hill very few.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from world_city import RESIDENTIAL, Building, floors, period
from world_geometry import EXTENT_X, EXTENT_Y, Ring, in_ring, path_length, ring_area

COLS = ROWS = 8
PRO_COM = 1272

# ISTAT variable blocks kept in the deployed table (see deployed.sql).
P_VARS = [*range(1, 67), *range(128, 141)]
ST_VARS = list(range(1, 16))
E_VARS = list(range(1, 32))
A_VARS = list(range(2, 49))
PF_VARS = list(range(1, 10))
# Share of residents per 5-year age class, P14 (0-4) ... P29 (75+): an old city.
AGE_SHARES = [3.8, 4.1, 4.2, 4.3, 4.6, 5.4, 5.9, 6.6, 7.9, 8.2, 7.4, 6.7, 6.4, 6.1, 5.9, 12.5]


@dataclass
class Section:
    sez2011: int
    nsez: int
    ace: str
    ring: Ring
    values: dict[str, Any]


def _corners(rng: random.Random) -> list[list[tuple[float, float]]]:
    dx, dy = EXTENT_X / COLS, EXTENT_Y / ROWS
    grid = []
    for j in range(ROWS + 1):
        row = []
        for i in range(COLS + 1):
            inner = 0 < i < COLS and 0 < j < ROWS
            jx, jy = (rng.uniform(-55, 55), rng.uniform(-55, 55)) if inner else (0.0, 0.0)
            row.append((i * dx + jx, j * dy + jy))
        grid.append(row)
    return grid


def _split(rng: random.Random, total: int, weights: list[float]) -> list[int]:
    """Integers proportional to `weights` (jittered) that add up to `total`."""
    w = [max(0.0, x * rng.uniform(0.8, 1.2)) for x in weights]
    raw = [total * x / sum(w) for x in w]
    out = [int(x) for x in raw]
    for k in sorted(range(len(raw)), key=lambda k: raw[k] - out[k], reverse=True)[
        : total - sum(out)
    ]:
        out[k] += 1
    return out


def _population(rng: random.Random, p1: int, graduates: float) -> dict[str, int]:
    v = {f"p{k}": 0 for k in P_VARS}
    v["p1"] = p1
    v["p2"] = round(p1 * rng.uniform(0.46, 0.5))
    v["p3"] = p1 - v["p2"]
    for k, n in zip(range(14, 30), _split(rng, p1, AGE_SHARES), strict=True):
        v[f"p{k}"] = n
    adults = p1 - v["p14"] - v["p15"] - v["p16"]
    married, single = round(adults * rng.uniform(0.45, 0.55)), round(adults * rng.uniform(0.3, 0.4))
    v.update(p4=single, p5=married, p6=round(adults * 0.06), p7=round(adults * 0.08))
    v.update(p8=v["p2"] - round(v["p2"] * 0.03), p9=v["p3"] - round(v["p3"] * 0.03))
    for k in (*range(10, 14), *range(30, 47), *range(48, 60), *range(63, 67), *range(128, 141)):
        v[f"p{k}"] = round(adults * rng.uniform(0.0, 0.25))
    v["p47"] = round(adults * graduates)
    v["p60"] = round(adults * rng.uniform(0.5, 0.58))  # labour force
    v["p61"] = round(v["p60"] * rng.uniform(0.86, 0.94))  # employed
    v["p62"] = v["p60"] - v["p61"]  # looking for work
    return v


def _housing(rng: random.Random, p1: int) -> dict[str, int]:
    families = round(p1 / rng.uniform(1.95, 2.15)) if p1 else 0
    v = {f"pf{k}": 0 for k in PF_VARS}
    v["pf1"], v["pf2"] = families, p1
    for k, n in zip(
        range(3, 10), _split(rng, families, [41, 28, 16, 10, 3, 1.5, 0.5]), strict=True
    ):
        v[f"pf{k}"] = n  # 1, 2, 3, 4, 5, 6+ persons; pf9 other
    dwellings = families + round(families * rng.uniform(0.08, 0.16))
    v.update({f"st{k}": round(dwellings * rng.uniform(0.0, 0.3)) for k in ST_VARS})
    v.update(st1=dwellings, st2=families, st3=dwellings - families)
    v.update({f"a{k}": round(dwellings * rng.uniform(0.0, 0.4)) for k in A_VARS})
    v["a2"] = dwellings
    return v


def _buildings(rng: random.Random, inside: list[Building]) -> dict[str, int]:
    v = {f"e{k}": 0 for k in E_VARS}
    res = [b for b in inside if b.use in RESIDENTIAL]
    v["e1"], v["e3"] = len(inside), len(res)
    v["e2"] = len(res)
    v["e4"] = len(inside) - len(res)
    for b in res:
        v[f"e{period(b.year)[1:]}"] += 1
        storeys = floors(b)
        v[
            "e17" if storeys <= 1 else "e18" if storeys <= 2 else "e19" if storeys <= 3 else "e20"
        ] += 1
    for k in (5, 6, 7, *range(21, 32)):
        v[f"e{k}"] = round(len(res) * rng.uniform(0.0, 0.5))
    return v


def make_sections(rng: random.Random, buildings: list[Building]) -> list[Section]:
    corners = _corners(rng)
    sections: list[Section] = []
    nsez = 2000
    for j in range(ROWS):
        for i in range(COLS):
            ring = [corners[j][i], corners[j][i + 1], corners[j + 1][i + 1], corners[j + 1][i]]
            nsez += rng.choice([1, 1, 1, 2, 3])  # numbering has gaps, as ISTAT's does
            inside = [b for b in buildings if in_ring(b.centre, ring)]
            residents = sum(
                max(1, round(b.area * floors(b) / 62)) for b in inside if b.use in RESIDENTIAL
            )
            p1 = round(residents * rng.uniform(0.85, 1.1))
            graduates = rng.uniform(0.25, 0.4) if i < 4 and j < 5 else rng.uniform(0.12, 0.28)
            values: dict[str, Any] = {
                "crs": "urn:ogc:def:crs:OGC:1.3:CRS84",
                "shape_area": round(abs(ring_area(ring)), 3),
                "shape_len": round(path_length([*ring, ring[0]]), 3),
                "codreg": "01",
                "regione": "Piemonte",
                "codpro": "001",
                "provincia": "Torino",
                "codcom": "001272",
                "comune": "Torino",
                "procom": "001272",
                "nsez": str(nsez),
                "ace": f"{8 + i // 3 + 3 * (j // 3):03d}",
                "codloc": "10001",
                "codasc": "",
                **_population(rng, p1, graduates),
                **_housing(rng, p1),
                **_buildings(rng, inside),
            }
            sections.append(Section(PRO_COM * 10**7 + nsez, nsez, values["ace"], ring, values))
    return sections
