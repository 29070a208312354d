"""The per-structure work of ``cimgen generate`` (cimgen/generate/work.py) on the real
expander and DuckDB fixture: what a worker answers from memory is what it would compute."""

from __future__ import annotations

from itertools import islice

import pytest
from expand_support import SCHEMA, ctx, demo_records

from cimgen.check import CheckOptions
from cimgen.features import iter_features
from cimgen.generate import work


def _outcomes(items: list) -> tuple[list[work.Outcome], int]:
    """The outcomes of ``items`` in one fresh worker, and its DuckDB memo's hits."""
    spec = work.WorkerSpec(SCHEMA, ctx(), seed=5, fixture_seed=0, check_options=CheckOptions())
    work.init_worker(spec)
    try:
        outcomes = [work.work_one(index, structure) for index, structure in items]
        return outcomes, work._STATE["checks"].duckdb.memo.hits
    finally:
        work.close_worker()


def test_a_repeated_query_answered_from_memory_is_the_outcome_a_run_gives(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker meets the same SQL again (the driver rejects most such candidates as
    DIV001 only after the worker's checks, and their records carry the engine result):
    with the DuckDB memo every outcome -- findings, engine results, features -- is the
    one the worker computes without it."""
    structures = [f for _, f in islice(iter_features(demo_records(), SCHEMA), 16)]
    items = list(enumerate(structures)) * 2  # each index twice: the same SQL again
    remembered, hits = _outcomes(items)
    executed = [o for o in remembered if "duckdb" in o.engines and o.engines["duckdb"].executed]
    assert len(executed) >= 20 and hits >= len(executed) // 2
    monkeypatch.setattr(work, "REMEMBERED", 0)
    fresh, none = _outcomes(items)
    assert none == 0
    assert remembered == fresh
