"""The foreign world's elevation rasters: a DTM of the whole area, a DSM of San Salvario only.

Pixels are 0.0002 x 0.00015 degrees (about 16 x 17 m) in 50 x 50 tiles, WGS 84, one 32-bit
float band with nodata -9999, as raster2pgsql -t 50x50 would load them. The ground falls
from about 245 m in the west to the Po (about 218 m) and climbs the hill beyond it to about
275 m. The DSM adds building heights (a pixel whose centre lies in a footprint) and the
trees of the Valentino park to the same ground values.
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from dataclasses import dataclass

from world_city import PARK, SAN_SALVARIO, Building
from world_geometry import ORIGIN_LON, Point, bbox, in_shape, to_local

TILE = 50
SCALE_X, SCALE_Y = 0.0002, -0.00015
TOP_LAT = 45.07
TILES_X = TILES_Y = 4  # 0.04 x 0.03 degrees: the whole study area


@dataclass
class Tile:
    row: int
    col: int
    upper_left: tuple[float, float]  # lon, lat
    values: list[list[float]]  # values[row][column], row 0 at the top

    def filename(self, prefix: str) -> str:
        return f"{prefix}_r{self.row:02d}c{self.col:02d}.tif"


def ground(p: Point) -> float:
    x, y = p
    river = 2250 + 40 * math.sin(y / 500)
    d = x - river
    if d < -60:
        z = 220.5 + (-60 - d) * 0.0085
    elif d <= 60:
        z = 218.5 + 2 * abs(d) / 60
    else:
        z = 220.5 + 58 * (1 - math.exp(-(d - 60) / 350))
    return z + 0.0015 * y


def _centres(row: int, col: int) -> list[list[Point]]:
    ulx, uly = ORIGIN_LON + col * TILE * SCALE_X, TOP_LAT + row * TILE * SCALE_Y
    return [
        [to_local(ulx + (c + 0.5) * SCALE_X, uly + (r + 0.5) * SCALE_Y) for c in range(TILE)]
        for r in range(TILE)
    ]


def _upper_left(row: int, col: int) -> tuple[float, float]:
    return (
        round(ORIGIN_LON + col * TILE * SCALE_X, 6),
        round(TOP_LAT + row * TILE * SCALE_Y, 6),
    )


def make_dtm(rng: random.Random) -> list[Tile]:
    tiles = []
    for row in range(TILES_Y):
        for col in range(TILES_X):
            values = [
                [round(ground(p) + rng.gauss(0, 0.25), 2) for p in line]
                for line in _centres(row, col)
            ]
            tiles.append(Tile(row, col, _upper_left(row, col), values))
    return tiles


def _index(buildings: list[Building]) -> dict[tuple[int, int], list[Building]]:
    cells: dict[tuple[int, int], list[Building]] = defaultdict(list)
    for b in buildings:
        x0, y0, x1, y1 = bbox(p for poly in b.shape for p in poly[0])
        for i in range(int(x0 // 100), int(x1 // 100) + 1):
            for j in range(int(y0 // 100), int(y1 // 100) + 1):
                cells[(i, j)].append(b)
    return cells


def _covers_san_salvario(tile: Tile) -> bool:
    x0, y0, x1, y1 = bbox(SAN_SALVARIO)
    (west, north), (east, south) = (
        tile.upper_left,
        (
            tile.upper_left[0] + TILE * SCALE_X,
            tile.upper_left[1] + TILE * SCALE_Y,
        ),
    )
    (tx0, ty0), (tx1, ty1) = to_local(west, south), to_local(east, north)
    return tx0 < x1 and x0 < tx1 and ty0 < y1 and y0 < ty1


def make_dsm(rng: random.Random, dtm: list[Tile], buildings: list[Building]) -> list[Tile]:
    """Surface = ground + the building or tree on each pixel, over San Salvario's tiles."""
    cells = _index(buildings)
    tiles = []
    for base in (t for t in dtm if _covers_san_salvario(t)):
        values = []
        for line, ground_line in zip(_centres(base.row, base.col), base.values, strict=True):
            out = []
            for p, z in zip(line, ground_line, strict=True):
                near = cells.get((int(p[0] // 100), int(p[1] // 100)), [])
                hit = next((b for b in near if in_shape(p, b.shape)), None)
                in_park = PARK[0] <= p[0] <= PARK[2] and PARK[1] <= p[1] <= PARK[3]
                if hit is not None:
                    z += hit.height
                elif in_park and rng.random() < 0.55:
                    z += rng.uniform(8, 20)
                out.append(round(z, 2))
            values.append(out)
        tiles.append(Tile(base.row, base.col, base.upper_left, values))
    return tiles
