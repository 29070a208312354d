"""The foreign world's electrical grid: one pandapower-style network per project scenario.

Voltages are Italian distribution levels: 220 kV (AT, transmission into a primary
substation), 20 kV (MT, a ring of secondary substations "Cabina N" with one normally open
line) and 0.4 kV (BT, radial feeders to street nodes). Buses stand at street corners; lines
follow the streets. Bus and line numbers start at 0 in each network, as pandapower numbers
them, so the same number appears in every scenario: only (project, scenario, number) is a key.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
from dataclasses import dataclass, field

from world_city import PARK, PITCH, Scenario
from world_geometry import Point, in_ring, path_length

AT_LINE = "490-AL1/64-ST1A 220.0"
MT_CABLE = "NA2XS2Y 1x185 RM/25 12/20 kV"
BT_CABLE = "NAYY 4x150 SE"
SOUTH_STATION: Point = (1540.0, 0.0)  # "SE Torino Sud", just south of the study area


@dataclass
class Bus:
    bus_id: int
    name: str
    bus_name: str
    bus_type: str
    voltage_kv: float
    zone: str
    in_service: bool
    point: Point


@dataclass
class Line:
    line_id: int
    line_name: str
    std_type: str
    from_bus: int
    to_bus: int
    points: list[Point]
    in_service: bool
    max_loading_percent: float

    @property
    def length_km(self) -> float:
        return round(path_length(self.points) / 1000, 3)


@dataclass
class Network:
    network_id: str
    code: str
    buses: list[Bus] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)

    def bus(self, bus_name: str, bus_type: str, kv: float, point: Point, on: bool = True) -> Bus:
        zone = "AT" if kv >= 100 else "MT" if kv >= 1 else "BT"
        b = Bus(len(self.buses), f"{self.code}_{zone}_{len(self.buses):03d}", bus_name, bus_type,
                kv, zone, on, point)  # fmt: skip
        self.buses.append(b)
        return b

    def line(self, a: Bus, b: Bus, std_type: str, loading: float, on: bool = True) -> Line:
        (x0, y0), (x1, y1) = a.point, b.point
        straight = a.zone == "AT" or math.isclose(x0, x1) or math.isclose(y0, y1)
        points = [a.point, b.point] if straight else [a.point, (x1, y0), b.point]
        name = f"Linea {a.bus_name} - {b.bus_name}"
        ln = Line(
            len(self.lines), name, std_type, a.bus_id, b.bus_id, points, on, round(loading, 1)
        )
        self.lines.append(ln)
        return ln


def _corners_inside(scenario: Scenario) -> list[Point]:
    pts = []
    for i in range(1, 23):
        for j in range(0, 24):
            p = (i * PITCH, j * PITCH)
            in_park = PARK[0] <= p[0] <= PARK[2] and PARK[1] <= p[1] <= PARK[3]
            if in_ring(p, scenario.boundary) and not in_park:
                pts.append(p)
    return pts


def _ring_order(points: list[Point]) -> list[Point]:
    cx = sum(p[0] for p in points) / len(points)
    cy = sum(p[1] for p in points) / len(points)
    return sorted(points, key=lambda p: math.atan2(p[1] - cy, p[0] - cx))


def _feeders(rng: random.Random, net: Network, cabina: Bus, number: int) -> None:
    """The cabina's 0.4 kV busbar and a radial feeder of 1-3 street nodes."""
    x, y = cabina.point
    bt = net.bus(f"Cabina {number} BT", "b", 0.4, (x + 3.0, y + 3.0))
    prev, (px, py) = bt, cabina.point
    dx, dy = rng.choice([(PITCH / 2, 0), (-PITCH / 2, 0), (0, PITCH / 2), (0, -PITCH / 2)])
    for k in range(1, rng.choice([1, 2, 2, 3]) + 1):  # down one street, a node per half block
        px, py = px + dx, py + dy
        node = net.bus(f"Nodo {number}.{k}", "n", 0.4, (px, py), on=rng.random() > 0.06)
        net.line(prev, node, BT_CABLE, rng.uniform(10, 95))
        prev = node


def _mt_ring(
    rng: random.Random, net: Network, source: Bus, n: int, corners: list[Point]
) -> list[Bus]:
    numbers = rng.sample(range(101, 400), n)
    spots = _ring_order(rng.sample(corners, n))
    cabine = [net.bus(f"Cabina {num}", "b", 20.0, p) for num, p in zip(numbers, spots, strict=True)]
    chain = [source, *cabine, source]
    for k, (a, b) in enumerate(itertools.pairwise(chain)):
        # The ring is operated open at one point, as MV rings are.
        net.line(a, b, MT_CABLE, rng.uniform(20, 75), on=k != len(chain) - 2)
    for num, cab in zip(numbers, cabine, strict=True):
        _feeders(rng, net, cab, num)
    return cabine


def _san_salvario(rng: random.Random, s: Scenario) -> Network:
    net = Network(s.network_id, "SSAL")
    south = net.bus("SE Torino Sud", "b", 220.0, SOUTH_STATION)
    cp_at = net.bus("CP Valentino AT", "b", 220.0, (1820.0, 1680.0))
    cp_mt = net.bus("CP Valentino MT", "b", 20.0, (1825.0, 1680.0))
    net.line(south, cp_at, AT_LINE, rng.uniform(30, 60))
    _mt_ring(rng, net, cp_mt, 10, _corners_inside(s))
    return net


def _crocetta(rng: random.Random, s: Scenario) -> Network:
    net = Network(s.network_id, "CROC")
    cp = net.bus("CP Politecnico MT", "b", 20.0, (700.0, 840.0))
    _mt_ring(rng, net, cp, 8, _corners_inside(s))
    for ln in rng.sample([ln for ln in net.lines if ln.std_type == BT_CABLE], 2):
        ln.max_loading_percent = round(rng.uniform(101, 118), 1)  # overloaded feeders
    return net


def _lingotto(rng: random.Random, s: Scenario) -> Network:
    net = Network(s.network_id, "LING")
    south = net.bus("SE Torino Sud", "b", 220.0, SOUTH_STATION)
    cp_at = net.bus("CP Lingotto AT", "b", 220.0, (1260.0, 560.0))
    cp_mt = net.bus("CP Lingotto MT", "b", 20.0, (1265.0, 560.0))
    net.line(south, cp_at, AT_LINE, rng.uniform(30, 60))
    cabine = _mt_ring(rng, net, cp_mt, 7, _corners_inside(s))
    for k, cab in enumerate(rng.sample(cabine, 3), start=1):  # MV customers (factories)
        x, y = cab.point
        plant = net.bus(f"Utenza MT Stabilimento {k}", "b", 20.0, (x + PITCH / 2, y))
        net.line(cab, plant, MT_CABLE, rng.uniform(40, 90))
    cabine[-1].in_service = False  # a substation out of service for works
    return net


def _renovation(rng: random.Random, base: Network, s: Scenario) -> Network:
    """The 2030 scenario: the same network plus photovoltaic connections on BT nodes."""
    net = copy.deepcopy(base)
    net.network_id = s.network_id
    nodes = [b for b in net.buses if b.zone == "BT" and b.bus_type == "n" and b.in_service]
    for k, node in enumerate(rng.sample(nodes, 3), start=1):
        x, y = node.point
        pv = net.bus(f"Nodo FV {k}", "n", 0.4, (x, y + PITCH / 4))
        net.line(node, pv, BT_CABLE, rng.uniform(10, 40))
    return net


def make_networks(rng: random.Random, scenarios: list[Scenario]) -> dict[str, Network]:
    """Networks by scenario id (scenarios as world_city.make_scenarios returns them)."""
    s1, s1b, s2, s3 = scenarios
    ssal = _san_salvario(rng, s1)
    return {
        s1.scenario_id: ssal,
        s1b.scenario_id: _renovation(rng, ssal, s1b),
        s2.scenario_id: _crocetta(rng, s2),
        s3.scenario_id: _lingotto(rng, s3),
    }
