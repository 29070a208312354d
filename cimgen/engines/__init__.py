"""Database engines that hold fixture data: DuckDB (embedded default), SpatiaLite, PostGIS.

Shared helpers: the on-disk cache location (:func:`cimgen.paths.cache_root`) and the cache
key of a fixture build.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import uuid
from pathlib import Path
from typing import Any

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


_FACTS: dict[Path, object] = {}


def fixture_facts(schema: Schema, seed: int = 0, cache_dir: Path | str | None = None) -> Any:
    """The :class:`~cimgen.fixtures.facts.FixtureFacts` of the plain fixture of (schema,
    seed): read from the cache (memoised in the process), else computed from
    :func:`cimgen.fixtures.generate_fixture` once and cached (temp file, then rename)."""
    from cimgen.fixtures import generate_fixture
    from cimgen.fixtures.facts import FACTS_VERSION, FixtureFacts, facts_of

    path = fixture_path(schema, seed, "facts", FACTS_VERSION, ".pkl", cache_dir)
    hit = _FACTS.get(path)
    if hit is not None:
        return hit
    facts: FixtureFacts | None = None
    if path.is_file():
        try:
            with path.open("rb") as fh:
                loaded = pickle.load(fh)
            if isinstance(loaded, FixtureFacts):
                facts = loaded
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
            facts = None  # a stale or broken entry is rebuilt
    if facts is None:
        facts = facts_of(schema, generate_fixture(schema, seed))
        tmp = temp_sibling(path)
        try:
            with tmp.open("wb") as fh:
                pickle.dump(facts, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    _FACTS[path] = facts
    return facts
