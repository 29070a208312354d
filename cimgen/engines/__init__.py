"""Database engines that hold fixture data: DuckDB (embedded default), SpatiaLite, PostGIS.

Shared helpers: the on-disk cache location (:func:`cimgen.paths.cache_root`) and the cache
key of a fixture build.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

import numpy as np

from cimgen.fixtures import FIXTURE_VERSION, Planting, schema_fingerprint
from cimgen.paths import cache_root
from cimgen.schema.model import Schema


def fixture_key(
    schema: Schema, seed: int, engine: str, engine_version: str, plant: Planting | None = None
) -> str:
    """Cache key: schema content, seed, planting, fixture version, engine and numpy versions."""
    parts = (
        schema_fingerprint(schema),
        str(int(seed)),
        FIXTURE_VERSION,
        engine,
        engine_version,
        np.__version__,
        *((plant.key(),) if plant else ()),
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:20]


def fixture_path(
    schema: Schema,
    seed: int,
    engine: str,
    engine_version: str,
    suffix: str,
    cache_dir: Path | str | None = None,
    plant: Planting | None = None,
) -> Path:
    key = fixture_key(schema, seed, engine, engine_version, plant)
    return cache_root(cache_dir) / "fixtures" / f"{schema.name}-s{int(seed)}-{key}{suffix}"


def temp_sibling(path: Path) -> Path:
    """A unique temporary name next to ``path`` (same filesystem, so rename is atomic)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
