"""Plane geometry for the foreign world: local metres around Turin, rings, areas, tests.

The world is laid out in a local metric frame (x east, y north, metres from ORIGIN) and
converted to WGS 84 only when written, so shapes stay simple to build and to reason about.
Kept free of cimgen and of any GIS library on purpose: the foreign world must not share code
with cimgen's own fixture world.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence

Point = tuple[float, float]
Ring = list[Point]  # closed implicitly: the first point is not repeated
Polygon = list[Ring]  # outer ring first, then holes
Shape = list[Polygon]  # one polygon, or the parts of a multipolygon

# South-west corner of the study area (Crocetta / San Salvario / Lingotto, Turin).
ORIGIN_LON, ORIGIN_LAT = 7.66, 45.04
# Metres per degree at 45.055 N (WGS 84 ellipsoid, rounded): good to 0.1 % over 3 km.
M_PER_DEG_LON = 78_760.0
M_PER_DEG_LAT = 111_140.0
EXTENT_X, EXTENT_Y = 3150.0, 3330.0  # metres east / north of ORIGIN


def to_lonlat(p: Point) -> Point:
    return (ORIGIN_LON + p[0] / M_PER_DEG_LON, ORIGIN_LAT + p[1] / M_PER_DEG_LAT)


def to_local(lon: float, lat: float) -> Point:
    return ((lon - ORIGIN_LON) * M_PER_DEG_LON, (lat - ORIGIN_LAT) * M_PER_DEG_LAT)


def rect(x0: float, y0: float, x1: float, y1: float) -> Ring:
    """Counter-clockwise rectangle ring."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def rotated_rect(cx: float, cy: float, w: float, h: float, angle: float) -> Ring:
    c, s = math.cos(angle), math.sin(angle)
    corners = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in corners]


def ring_area(ring: Sequence[Point]) -> float:
    """Signed shoelace area (positive when counter-clockwise)."""
    n = len(ring)
    return 0.5 * sum(
        ring[i][0] * ring[(i + 1) % n][1] - ring[(i + 1) % n][0] * ring[i][1] for i in range(n)
    )


def shape_area(shape: Shape) -> float:
    return sum(abs(ring_area(p[0])) - sum(abs(ring_area(h)) for h in p[1:]) for p in shape)


def _ring_centroid(ring: Sequence[Point]) -> tuple[float, float, float]:
    a = ring_area(ring)
    n = len(ring)
    cx = cy = 0.0
    for i in range(n):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % n]
        cross = x0 * y1 - x1 * y0
        cx += (x0 + x1) * cross
        cy += (y0 + y1) * cross
    return cx / (6 * a), cy / (6 * a), abs(a)


def shape_centroid(shape: Shape) -> Point:
    """Area-weighted centroid (holes subtracted), as PostGIS ST_Centroid computes it."""
    sx = sy = total = 0.0
    for poly in shape:
        for k, ring in enumerate(poly):
            cx, cy, a = _ring_centroid(ring)
            sign = 1.0 if k == 0 else -1.0
            sx += sign * cx * a
            sy += sign * cy * a
            total += sign * a
    return sx / total, sy / total


def in_ring(p: Point, ring: Sequence[Point]) -> bool:
    """Ray casting; points on an edge may fall either way (irrelevant at pixel centres)."""
    x, y = p
    inside = False
    n = len(ring)
    for i in range(n):
        (x0, y0), (x1, y1) = ring[i], ring[(i + 1) % n]
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def in_shape(p: Point, shape: Shape) -> bool:
    return any(in_ring(p, poly[0]) and not any(in_ring(p, h) for h in poly[1:]) for poly in shape)


def bbox(points: Iterable[Point]) -> tuple[float, float, float, float]:
    xs, ys = zip(*points, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


def _coords(ring: Sequence[Point]) -> str:
    pts = [to_lonlat(p) for p in [*ring, ring[0]]]
    return ", ".join(f"{lon:.7f} {lat:.7f}" for lon, lat in pts)


def _polygon_body(poly: Polygon) -> str:
    return "(" + ", ".join(f"({_coords(r)})" for r in poly) + ")"


def wkt_shape(shape: Shape) -> str:
    """POLYGON for one part, MULTIPOLYGON for several (WGS 84 lon/lat, 7 decimals)."""
    if len(shape) == 1:
        return "POLYGON " + _polygon_body(shape[0])
    return "MULTIPOLYGON (" + ", ".join(_polygon_body(p) for p in shape) + ")"


def wkt_point(p: Point) -> str:
    lon, lat = to_lonlat(p)
    return f"POINT ({lon:.7f} {lat:.7f})"


def wkt_line(points: Sequence[Point]) -> str:
    body = ", ".join(f"{lon:.7f} {lat:.7f}" for lon, lat in map(to_lonlat, points))
    return f"LINESTRING ({body})"


def path_length(points: Sequence[Point]) -> float:
    return sum(math.dist(a, b) for a, b in itertools.pairwise(points))
