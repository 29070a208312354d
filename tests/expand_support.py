"""What the expander's tests share (``from expand_support import ...``), built once per
session: the documented schema, the demo corpus's records, the expansion context on its
fixture, and the stand-in context ``cimgen generate`` builds. Running a query on the
fixture's DuckDB database is the ``duckdb_result`` fixture (tests/conftest.py)."""

from __future__ import annotations

import importlib
import random
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from cimgen import ast
from cimgen.corpus import load_demo_corpus
from cimgen.expand import ExpansionContext
from cimgen.ingest import read_stage1
from cimgen.models import QueryFeatures, Stage1Record
from cimgen.schema import load_schema
from cimgen.world.corpus import Combinations, learn_corpus

SCHEMA = load_schema("cim_wizard")
Result = Callable[[ast.Query], Any]  # the duckdb_result fixture: query -> pyarrow.Table


def result_rows(duckdb_result: Result, query: ast.Query) -> list[tuple[Any, ...]]:
    """The rows of ``query`` on the fixture database (seed 0), as tuples in column order."""
    return [tuple(r.values()) for r in duckdb_result(query).to_pylist()]


@cache
def demo_records() -> tuple[Stage1Record, ...]:
    """The bundled demo corpus's records (a tuple: shared, so not to be changed)."""
    return tuple(read_stage1(load_demo_corpus()))


@cache
def ctx() -> ExpansionContext:
    """The expansion context on the documented schema's fixture (seed 0, no corpus)."""
    return ExpansionContext.for_fixture(SCHEMA)


@cache
def stand_in_context(seed: int) -> ExpansionContext:
    """The default job's context, as ``cimgen generate`` builds it: the bundled corpus's
    literals planted in the fixture, which then stands in for the user's database
    (``trusted`` False: only the corpus's literals may be written)."""
    from cimgen.generate.pipeline import _planting, _with_metric_srid
    from cimgen.world import fixture_world
    from cimgen.world.corpus import learn_corpus

    records = list(demo_records())
    corpus = learn_corpus(SCHEMA, records)
    schema = _with_metric_srid(SCHEMA, corpus, seed)
    plant = _planting(schema, corpus, seed)
    world = fixture_world(schema, seed, plant=plant)
    return ExpansionContext.build(schema, world, records, corpus=corpus, planting=plant)


@cache
def demo_combinations() -> Combinations:
    """What the bundled corpus's queries combine (``learn_corpus(...).combinations()``)."""
    return learn_corpus(SCHEMA, list(demo_records())).combinations()


@cache
def _corpus_context() -> ExpansionContext:
    """The expansion context on the documented schema's fixture with the demo corpus."""
    return ExpansionContext.for_fixture(SCHEMA, list(demo_records()))


def expanded_sample(structures: list[QueryFeatures], n: int, seed: int) -> list[ast.Query]:
    """The queries of ``n`` of ``structures`` drawn with ``seed`` (attempt ``k`` seeded
    ``k``), expanded on the corpus's fixture context; structures that fail are left out."""
    from cimgen.expand import expand

    c = _corpus_context()
    rng = random.Random(seed)
    out = []
    for k, s in enumerate(rng.sample(structures, min(n, len(structures)))):
        q = expand(s, c, random.Random(k)).query
        if q is not None:
            out.append(q)
    return out


BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@cache
def bench_module(name: str) -> ModuleType:
    """A benchmark script of ``benchmarks/`` as a module (its detectors: one reading of each
    shape for the bench and the test that bars it); the folder goes on ``sys.path`` so a
    bench may import a sibling's detector."""
    if str(BENCHMARKS) not in sys.path:
        sys.path.insert(0, str(BENCHMARKS))
    return importlib.import_module(name)
