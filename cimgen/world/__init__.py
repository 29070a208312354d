"""Facts about the data the generated queries run on (see :mod:`cimgen.world.model`).

>>> from cimgen.schema.load import load_schema
>>> w = fixture_world(load_schema("cim_wizard"))
>>> w.table("cim_vector.building").total > 0
True
"""

from __future__ import annotations

import hashlib
import os
import pickle
import uuid
from pathlib import Path

from cimgen.fixtures import Planting
from cimgen.schema.model import Schema
from cimgen.world.model import Geo, Near, TableSample, Tile, World
from cimgen.world.probe import ProbeLimits, world_from_fixture

# Part of the cache key of a fixture's world: bump when what a probe reads changes.
WORLD_VERSION = "3"


def utm_srid(lon: float, lat: float) -> int:
    """The EPSG code of the WGS 84 / UTM zone holding (lon, lat).

    >>> utm_srid(9.19, 45.47), utm_srid(7.68, 45.07), utm_srid(151.2, -33.9)
    (32632, 32632, 32756)
    """
    zone = int((lon + 180) // 6) % 60 + 1
    return (32600 if lat >= 0 else 32700) + zone


def fixture_world(
    schema: Schema,
    seed: int = 0,
    cache_dir: Path | str | None = None,
    limits: ProbeLimits | None = None,
    plant: Planting | None = None,
) -> World:
    """The world of the cached fixture database of (schema, seed), itself cached on disk
    beside the database (it is read once per fixture, in a few seconds)."""
    from cimgen.engines.duckdb import connect, fixture_database

    limits = limits or ProbeLimits(seed=seed)
    db = fixture_database(schema, seed, cache_dir, plant)
    key = hashlib.sha256(f"{db.name}|{WORLD_VERSION}|{limits}".encode()).hexdigest()[:16]
    path = db.with_name(f"{db.stem}-world-{key}.pkl")
    if path.is_file():
        try:
            with path.open("rb") as fh:
                world = pickle.load(fh)
            if isinstance(world, World):
                return world
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            pass  # a stale or broken cache entry is rebuilt
    con = connect(db, read_only=True)
    try:
        world = world_from_fixture(schema, con, limits)
    finally:
        con.close()
    # unique per writer (two processes of one pid namespace, or a retried worker)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    with tmp.open("wb") as fh:
        pickle.dump(world, fh, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return world


__all__ = [
    "WORLD_VERSION",
    "Geo",
    "Near",
    "ProbeLimits",
    "TableSample",
    "Tile",
    "World",
    "fixture_world",
    "utm_srid",
    "world_from_fixture",
]
