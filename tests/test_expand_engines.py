"""Generated queries run on the real engines: a sample executes on PostGIS (db init data)
and on DuckDB (the embedded fixture), and both engines agree on the results."""

from __future__ import annotations

import random

import pytest

from cimgen.check import DuckDBRunner, PostgisRunner, agree
from cimgen.check.base import NO_ERROR, OK
from cimgen.corpus import load_demo_corpus
from cimgen.engines.duckdb import open_fixture
from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import features_frame, iter_features
from cimgen.ingest import read_stage1
from cimgen.models import Candidate
from cimgen.schema import load_schema
from cimgen.structure import fit_model

SCHEMA = load_schema("cim_wizard")
N = 80


@pytest.fixture(scope="module")
def candidates() -> list[Candidate]:
    pairs = list(iter_features(read_stage1(load_demo_corpus()), SCHEMA))
    model = fit_model(features_frame(pairs), "gaussian_copula", seed=5, progress=False)
    structures = model.sample(N, seed=5, progress=False).structures()
    ctx = ExpansionContext.for_fixture(SCHEMA, [r for r, _ in pairs])
    made = [make_candidate(s, ctx, random.Random(f"5:{i}"), i) for i, s in enumerate(structures)]
    return [c for c in made if isinstance(c, Candidate)]


def test_generated_sample_executes_on_duckdb(candidates: list[Candidate]) -> None:
    runner = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0)
    runnable = [c for c in candidates if c.sql_duckdb]
    assert len(runnable) >= N // 2
    results = [runner.run(c.sql_duckdb or "") for c in runnable]
    errors = [
        (c.sql_duckdb, msg)
        for c, (r, msg) in zip(runnable, results, strict=True)
        if r.status not in NO_ERROR
    ]
    assert errors == [], errors[:3]
    # pivoted synthesis: predicates hold for a row of the data, so results are not empty
    nonempty = sum(r.status == OK and (r.rows or 0) > 0 for r, _ in results)
    assert nonempty >= 0.9 * len(runnable)


@pytest.mark.postgis
def test_generated_sample_executes_on_postgis_and_agrees(
    candidates: list[Candidate], fresh_postgis_db: str
) -> None:
    from cimgen.engines.postgis import connect, init_database

    init_database(fresh_postgis_db, SCHEMA, seed=0)
    pg = PostgisRunner(connect(fresh_postgis_db), timeout_s=5.0)
    duck = DuckDBRunner(open_fixture(SCHEMA, 0), timeout_s=5.0)
    errors, both, agreeing = [], 0, 0
    for c in candidates:
        result, finding = pg.run(c.sql_postgis)
        if finding is not None and result.status not in NO_ERROR:
            errors.append((c.sql_postgis, finding.message))
            continue
        if c.sql_duckdb and result.status == OK:
            d, _ = duck.run(c.sql_duckdb)
            if d.status == OK:
                both += 1
                agreeing += agree(d.digest, result.digest, 0.005)
    assert errors == [], errors[:3]
    assert both >= 20 and agreeing / both >= 0.9
