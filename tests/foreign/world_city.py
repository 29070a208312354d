"""The foreign world's city: projects, scenarios, buildings and their per-scenario properties.

A district of Turin laid out on the street grid of its 19th-century extensions: blocks
(isolati) of 120 m with 20 m streets, each block lined with buildings around a courtyard.
Three projects: San Salvario (two scenarios), Crocetta and Lingotto; the Valentino park and
the Po lie east of San Salvario, the hill (collina) beyond the river. Everything is drawn from
one ``random.Random`` so a seed gives the same world every time.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from world_geometry import Point, Ring, Shape, in_ring, rect, rotated_rect, shape_area
from world_geometry import shape_centroid as centroid

PITCH = 140.0  # block + street, metres
STREET = 20.0
PARK = (1850.0, 700.0, 2250.0, 2500.0)  # Parco del Valentino (no buildings)


@dataclass
class Scenario:
    project_id: str
    scenario_id: str
    project_name: str
    scenario_name: str
    boundary: Ring
    network_id: str
    created: int  # seconds after 2023-01-09 08:00 UTC


@dataclass
class Building:
    uid: str
    shape: Shape
    style: str  # sansalva, crocetta, lingotto, centro, collina
    use: str
    height: float
    year: int
    lod: int
    source: str
    osm_id: int | None
    centre: Point = (0.0, 0.0)
    area: float = 0.0
    scenarios: list[str] = field(default_factory=list)  # scenario ids with properties


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


# -- projects ------------------------------------------------------------------------------

SAN_SALVARIO: Ring = [(1080, 980), (1990, 1010), (2010, 2620), (1120, 2600), (1060, 1800)]
CROCETTA: Ring = [(180, 720), (1140, 700), (1160, 2010), (230, 2040)]
LINGOTTO: Ring = [(820, 40), (2050, 60), (2030, 900), (840, 880)]


def make_scenarios(rng: random.Random) -> list[Scenario]:
    """Four scenarios of three projects; a project's first scenario reuses its UUID."""
    p1, p2, p3 = new_uuid(rng), new_uuid(rng), new_uuid(rng)
    s1b = new_uuid(rng)
    name1 = "San Salvario - riqualificazione energetica"
    day = 86_400
    return [
        Scenario(p1, p1, name1, "Stato di fatto 2023", SAN_SALVARIO, "TO-SSAL-MT01", 0),
        Scenario(p1, s1b, name1, "Scenario 2030 pompe di calore", SAN_SALVARIO, "TO-SSAL-2030",
                 41 * day),
        Scenario(p2, p2, "Crocetta - comunita energetica", "Stato di fatto 2023", CROCETTA,
                 "TO-CROC-MT01", 9 * day),
        Scenario(p3, p3, "Lingotto - distretto produttivo", "Stato di fatto 2022", LINGOTTO,
                 "TO-LING-MT01", 17 * day),
    ]  # fmt: skip


# -- uses, heights, years ------------------------------------------------------------------

USES: dict[str, list[tuple[str, float]]] = {
    "sansalva": [("residenziale", 62), ("misto", 12), ("commerciale", 10), ("servizi", 8),
                 ("ricettivo", 5), ("industriale", 2), ("culto", 1)],
    "centro": [("residenziale", 60), ("misto", 15), ("commerciale", 12), ("servizi", 10),
               ("ricettivo", 3)],
    "crocetta": [("residenziale", 74), ("servizi", 10), ("commerciale", 8), ("misto", 6),
                 ("ricettivo", 2)],
    "lingotto": [("industriale", 50), ("commerciale", 25), ("residenziale", 13), ("servizi", 12)],
    "collina": [("residenziale", 1)],
}  # fmt: skip

# (share, first year, last year) per style
_OLD_CITY = [(55, 1855, 1918), (15, 1919, 1945), (20, 1946, 1975), (7, 1976, 2005),
             (3, 2006, 2016)]  # fmt: skip
ERAS: dict[str, list[tuple[float, int, int]]] = {
    "sansalva": _OLD_CITY,
    "centro": _OLD_CITY,
    "crocetta": [(15, 1890, 1918), (30, 1919, 1945), (40, 1946, 1975), (10, 1976, 2005),
                 (5, 2006, 2018)],
    "lingotto": [(10, 1900, 1918), (35, 1919, 1945), (30, 1946, 1975), (15, 1976, 2005),
                 (10, 2006, 2019)],
    "collina": [(100, 1920, 2010)],
}  # fmt: skip


def _pick(rng: random.Random, weighted: list[tuple[str, float]]) -> str:
    names, weights = zip(*weighted, strict=True)
    return rng.choices(names, weights)[0]


def _year(rng: random.Random, style: str) -> int:
    eras = ERAS[style]
    _, first, last = eras[rng.choices(range(len(eras)), [e[0] for e in eras])[0]]
    return rng.randint(first, last)


def _clip(v: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, v))


def _height(rng: random.Random, style: str, use: str) -> float:
    if use in ("residenziale", "misto", "ricettivo"):
        if style == "collina":
            h = _clip(rng.gauss(8, 1.5), 5, 12)
        elif style == "crocetta" and rng.random() < 0.3:
            h = _clip(rng.gauss(28, 6), 18, 42)  # post-war slabs of 8-12 floors
        elif style == "lingotto":
            h = _clip(rng.gauss(24, 6), 10, 40)
        else:
            h = _clip(rng.gauss(19 if style != "centro" else 21, 3.5), 9, 30)
    elif use == "commerciale":
        h = _clip(rng.gauss(12 if style != "lingotto" else 16, 4), 4, 24)
    elif use == "servizi":
        h = _clip(rng.gauss(16, 5), 6, 30)
    elif use == "industriale":
        h = _clip(rng.gauss(10, 2.5), 6, 16)
    elif use == "culto":
        h = rng.uniform(18, 32)
    else:  # accessorio: garages and sheds in courtyards
        h = rng.uniform(3, 5.5)
    return round(h, 1)


# -- blocks and buildings ------------------------------------------------------------------


def _style_at(p: Point) -> str | None:
    x, y = p
    if PARK[0] <= x <= PARK[2] and PARK[1] <= y <= PARK[3]:
        return None
    if in_ring(p, SAN_SALVARIO):
        return "sansalva"
    if in_ring(p, CROCETTA):
        return "crocetta"
    if in_ring(p, LINGOTTO):
        return "lingotto"
    if y > 2650 and 880 <= x <= 2000:
        return "centro"
    return None


def _cuts(rng: random.Random, lo: float, hi: float, parts: int) -> list[float]:
    """Split [lo, hi] into `parts` pieces, none shorter than 18 m."""
    while True:
        inner = sorted(rng.uniform(lo + 18, hi - 18) for _ in range(parts - 1))
        edges = [lo, *inner, hi]
        if all(b - a >= 18 for a, b in itertools.pairwise(edges)):
            return edges


def _perimeter_block(rng: random.Random, x0: float, y0: float, x1: float, y1: float) -> list[Shape]:
    """Buildings along the four sides of a block, touching, around a courtyard."""
    if rng.random() < 0.1:  # one courtyard building (a polygon with a hole)
        d = rng.uniform(12, 15)
        return [[[rect(x0, y0, x1, y1), rect(x0 + d, y0 + d, x1 - d, y1 - d)[::-1]]]]
    d = rng.uniform(11, 15)
    shapes: list[Shape] = []
    bottom = _cuts(rng, x0, x1, rng.choice([1, 2, 2, 3]))
    top = _cuts(rng, x0, x1, rng.choice([1, 2, 2, 3]))
    # Side wings are built on half of the sides; the others are walls and gates.
    left = _cuts(rng, y0 + d, y1 - d, 1) if rng.random() < 0.5 else []
    right = _cuts(rng, y0 + d, y1 - d, 1) if rng.random() < 0.5 else []
    ell = bool(left) and rng.random() < 0.3  # the south-west building wraps the corner
    for i, (a, b) in enumerate(itertools.pairwise(bottom)):
        if ell and i == 0:
            ly = left[1]
            shapes.append(
                [[[(a, y0), (b, y0), (b, y0 + d), (a + d, y0 + d), (a + d, ly), (a, ly)]]]
            )
        else:
            shapes.append([[rect(a, y0, b, y0 + d)]])
    for a, b in itertools.pairwise(top):
        shapes.append([[rect(a, y1 - d, b, y1)]])
    for i, (a, b) in enumerate(itertools.pairwise(left)):
        if not (ell and i == 0):
            shapes.append([[rect(x0, a, x0 + d, b)]])
    for a, b in itertools.pairwise(right):
        shapes.append([[rect(x1 - d, a, x1, b)]])
    return shapes


def _annex(rng: random.Random, x0: float, y0: float, x1: float, y1: float) -> Ring:
    """A small courtyard building, clear of the perimeter strips by at least 4 m."""
    w, h = rng.uniform(8, 16), rng.uniform(6, 10)
    cx = rng.uniform(x0 + 20 + w / 2, x1 - 20 - w / 2)
    cy = rng.uniform(y0 + 20 + h / 2, y1 - 20 - h / 2)
    return rect(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


def _lots(rng: random.Random, x0: float, y0: float, x1: float, y1: float) -> list[Shape]:
    """Industrial lots: one big shed, sometimes a second smaller one."""
    if rng.random() < 0.45:
        return [[[rect(x0 + 6, y0 + 6, x1 - 6, y1 - 6)]]]
    mid = rng.uniform(x0 + 55, x1 - 45)
    u = rng.uniform
    return [
        [[rect(x0 + u(4, 10), y0 + u(4, 12), mid - 4, y1 - u(4, 12))]],
        [[rect(mid + 4, y0 + u(15, 35), x1 - u(4, 10), y1 - u(15, 35))]],
    ]


def _new_building(rng: random.Random, shape: Shape, style: str, use: str | None = None) -> Building:
    use = use or _pick(rng, USES[style])
    lod = 0 if style == "collina" or use == "accessorio" else rng.choices([1, 2, 0], [88, 8, 4])[0]
    source = (
        "osm" if style == "collina" else rng.choices(["bdtre", "osm", "catasto"], [70, 25, 5])[0]
    )
    b = Building(
        uid=new_uuid(rng),
        shape=shape,
        style=style,
        use=use,
        height=_height(rng, style, use),
        year=rng.randint(1950, 1990) if use == "accessorio" else _year(rng, style),
        lod=lod,
        source=source,
        osm_id=rng.randint(20_000_000, 1_100_000_000) if source == "osm" else None,
    )
    b.centre, b.area = centroid(shape), round(shape_area(shape), 2)
    return b


def make_buildings(rng: random.Random) -> list[Building]:
    """Blocks on one street grid (so districts never overlap), then villas on the hill."""
    out: list[Building] = []
    for j in range(int(3330 // PITCH)):
        for i in range(int(2250 // PITCH)):
            x0, y0 = i * PITCH + STREET / 2, j * PITCH + STREET / 2
            x1, y1 = x0 + PITCH - STREET, y0 + PITCH - STREET
            style = _style_at(((x0 + x1) / 2, (y0 + y1) / 2))
            if style is None or rng.random() < 0.05:  # squares and gardens
                continue
            if style == "lingotto" and rng.random() < 0.7:
                out.extend(_new_building(rng, s, style) for s in _lots(rng, x0, y0, x1, y1))
                continue
            shapes = _perimeter_block(rng, x0, y0, x1, y1)
            buildings = [_new_building(rng, s, style) for s in shapes]
            if len(shapes) > 1 and rng.random() < 0.25:
                annex = _annex(rng, x0, y0, x1, y1)
                if rng.random() < 0.15:  # the annex belongs to a street building: a multipolygon
                    owner = buildings[rng.randrange(len(buildings))]
                    owner.shape = [*owner.shape, [annex]]
                    owner.centre, owner.area = (
                        centroid(owner.shape),
                        round(shape_area(owner.shape), 2),
                    )
                else:
                    buildings.append(_new_building(rng, [[annex]], style, "accessorio"))
            out.extend(buildings)
    villas: list[Point] = []
    while len(villas) < 34:  # villas on the hill east of the Po, in their own gardens
        cx, cy = rng.uniform(2400, 3080), rng.uniform(1500, 3200)
        if any(math.dist((cx, cy), v) < 35 for v in villas):
            continue
        villas.append((cx, cy))
        ring = rotated_rect(cx, cy, rng.uniform(11, 22), rng.uniform(9, 16), rng.uniform(0, 3.1))
        out.append(_new_building(rng, [[ring]], "collina"))
    return out


def assign_scenarios(buildings: list[Building], scenarios: list[Scenario]) -> None:
    """A building gets properties in every scenario whose project boundary holds its centroid."""
    for b in buildings:
        b.scenarios = [s.scenario_id for s in scenarios if in_ring(b.centre, s.boundary)]


# -- properties ----------------------------------------------------------------------------

PERIODS = [(1918, "E8"), (1945, "E9"), (1960, "E10"), (1970, "E11"), (1980, "E12"),
           (1990, "E13"), (2000, "E14"), (2005, "E15"), (9999, "E16")]  # fmt: skip
TABULA = [(1900, "01"), (1920, "02"), (1945, "03"), (1960, "04"), (1975, "05"), (1990, "06"),
          (2005, "07"), (9999, "08")]  # fmt: skip
RESIDENTIAL = ("residenziale", "misto")


def period(year: int) -> str:
    return next(code for last, code in PERIODS if year <= last)


def floors(b: Building) -> float:
    per_floor = 6.0 if b.use == "culto" else 4.5 if b.use == "industriale" else 3.2
    return float(max(1, round(b.height / per_floor)))


def _tabula(b: Building) -> str | None:
    if b.use not in RESIDENTIAL:
        return None
    kind = "SFH" if b.style == "collina" else "AB" if floors(b) > 6 else "MFH"
    return f"IT.N.{kind}.{next(c for last, c in TABULA if b.year <= last)}.Gen"


def _hvac(rng: random.Random, b: Building) -> str | None:
    if b.use == "accessorio":
        return None
    if b.style in ("lingotto", "collina"):
        weights = [("caldaia_gas", 50), ("pompa_di_calore", 30), ("teleriscaldamento", 20)]
    else:  # Turin's district heating network covers the 19th-century districts
        weights = [("teleriscaldamento", 55), ("caldaia_gas", 35), ("pompa_di_calore", 6),
                   ("caldaia_gasolio", 4)]  # fmt: skip
    return _pick(rng, weights)


def _energy_class(rng: random.Random, year: int) -> str:
    base = 6 if year < 1976 else 4 if year < 2006 else 1
    return "ABCDEFG"[min(6, max(0, base + rng.choice([-1, 0, 0, 1])))]


def base_properties(rng: random.Random, b: Building) -> dict[str, Any]:
    """The properties of a building in a project's present-state scenario."""
    n_floors = floors(b)
    gfa = round(b.area * n_floors, 2)
    people: int | None = 0
    if b.use in RESIDENTIAL:
        share = 1.0 if b.use == "residenziale" else 0.7
        people = None if rng.random() < 0.03 else max(1, round(gfa * share / rng.uniform(55, 70)))
    families = (
        None if people is None else (max(1, round(people / rng.uniform(1.9, 2.3))) if people else 0)
    )
    cooling_p = (
        0.75
        if b.use in ("commerciale", "servizi", "ricettivo")
        else 0.3
        if b.use == "industriale"
        else 0.2
    )
    w2w = (rng.uniform(0.3, 0.5) if b.use == "commerciale" else rng.uniform(0.08, 0.18)
           if b.use == "industriale" else _clip(rng.gauss(0.22, 0.04), 0.1, 0.4))  # fmt: skip
    return {
        "height": b.height,
        "area": b.area,
        "volume": round(b.area * b.height, 2),
        "number_of_floors": n_floors,
        "type": b.use,
        "const_period_census": period(b.year),
        "const_year": b.year,
        "const_tabula": _tabula(b),
        "n_people": people,
        "n_family": families,
        "gross_floor_area": gfa,
        "net_leased_area": round(gfa * 0.82, 2),
        "heating": b.use != "accessorio" and rng.random() > 0.02,
        "cooling": rng.random() < cooling_p,
        "w2w": round(w2w, 2),
        "hvac_type": _hvac(rng, b),
        "extra_prop": {
            "fonte_altezza": "lidar_2018" if b.lod >= 1 else "stima",
            "classe_energetica": _energy_class(rng, b.year),
        },
    }  # fmt: skip


def renovated(rng: random.Random, props: dict[str, Any]) -> dict[str, Any]:
    """The 2030 scenario: boilers replaced by heat pumps, a better energy class."""
    new = dict(props, extra_prop=dict(props["extra_prop"]))
    if props["hvac_type"] in ("caldaia_gas", "caldaia_gasolio") and rng.random() < 0.6:
        new["hvac_type"] = "pompa_di_calore"
        new["cooling"] = True
        cls = new["extra_prop"]["classe_energetica"]
        new["extra_prop"]["classe_energetica"] = "ABCDEFG"[max(0, "ABCDEFG".index(cls) - 2)]
    return new
