"""How the DuckDB check's CPU per query scales with the size of the fixture world.

Issue 16 asks for "a check database sized for checking": smaller, with every literal pool
and id kept. Before building one, this measures what a smaller world would save: the same
DuckDB renderings (GaussianCopula structures of the bundled corpus, expanded against the
seed's full world, as in ``bench_checks.py``) run on fixture databases whose projects hold
a fraction of their buildings (and so of building_properties and building_height_cache;
the grid, census sections and raster tiles do not depend on the building count), one
thread, interleaved, the minimum CPU time of ``--passes`` passes per query.

    python benchmarks/bench_check_world.py [--n 600] [--factors 1,0.5,0.25] [--seed 0]

The non-empty counts of the smaller worlds are a lower bound: the literals were drawn from
the full world, and a check world would keep every pooled literal and id.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import cimgen.fixtures
from cimgen import seeds
from cimgen.bench import corpus_records
from cimgen.check import DuckDBRunner
from cimgen.engines.duckdb import open_fixture
from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import features_frame, iter_features
from cimgen.fixtures import cim_wizard
from cimgen.models import Candidate
from cimgen.schema import load_schema
from cimgen.structure import fit_model

TABLES = (
    "cim_vector.building",
    "cim_vector.building_properties",
    "cim_raster.building_height_cache",
    "cim_vector.grid_bus",
    "cim_census.census_geo",
    "cim_raster.dtm_raster",
)


def renderings(n: int, seed: int) -> list[str]:
    schema = load_schema("cim_wizard")
    pairs = list(iter_features(corpus_records(None), schema))
    model = fit_model(features_frame(pairs), "gaussian_copula", seed=seed, progress=False)
    structures = model.sample(n, seed=seed, progress=False).structures()
    ctx = ExpansionContext.for_fixture(schema, [r for r, _ in pairs], seed)
    out = []
    for i, s in enumerate(structures):
        c = make_candidate(s, ctx, seeds.expansion_rng(seed, i), i)
        if isinstance(c, Candidate) and c.sql_duckdb:
            out.append(c.sql_duckdb)
    return out


def scaled_runner(factor: float, seed: int, folder: Path) -> DuckDBRunner:
    """A runner on the fixture database of a world with ``factor`` of the buildings.

    The world's size is a module constant (the projects' building counts), so it is
    swapped for the build and put back; the fixture memo is cleared either side so no
    other world is handed out for the same key.
    """
    full = cim_wizard.PROJECTS
    cim_wizard.PROJECTS = tuple(
        dataclasses.replace(p, n_buildings=max(1, round(p.n_buildings * factor))) for p in full
    )
    cimgen.fixtures._memo.clear()
    try:
        con = open_fixture(load_schema("cim_wizard"), seed, cache_dir=folder / str(factor))
    finally:
        cim_wizard.PROJECTS = full
        cimgen.fixtures._memo.clear()
    con.execute("SET threads = 1")  # per core, as in the pipeline's workers
    return DuckDBRunner(con, timeout_s=2.0)


def _cpu(runner: DuckDBRunner, sql: str) -> float:
    t = time.process_time()
    runner.run(sql)
    return time.process_time() - t


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--factors", default="1,0.5,0.25")
    parser.add_argument("--passes", type=int, default=2)
    args = parser.parse_args()
    factors = [float(f) for f in args.factors.split(",")]

    sqls = renderings(args.n, args.seed)
    print(f"{len(sqls)} DuckDB renderings of {args.n} structures")
    with tempfile.TemporaryDirectory() as tmp:
        runners = {f: scaled_runner(f, args.seed, Path(tmp)) for f in factors}
        for f, r in runners.items():
            sizes = {t: r.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}
            print(f"factor {f:g}: " + ", ".join(f"{t.split('.')[1]} {k}" for t, k in sizes.items()))
        best = {f: [float("inf")] * len(sqls) for f in factors}
        outcome: dict[float, list[tuple[str, int | None]]] = {f: [] for f in factors}
        for p in range(args.passes):
            for i, sql in enumerate(sqls):
                for f in factors:
                    t = time.process_time()
                    result, _ = runners[f].run(sql)
                    best[f][i] = min(best[f][i], time.process_time() - t)
                    if p == 0:
                        outcome[f].append((result.status, result.rows))
        floor = runners[factors[0]]
        trivial = min(_cpu(floor, "SELECT 1") for _ in range(200))
        for r in runners.values():
            r.con.close()
    print(f"a trivial SELECT 1 through the runner: {1000 * trivial:.2f} ms of CPU (the floor)")
    base = sum(best[factors[0]])
    for f in factors:
        cpu = sorted(best[f])
        total = sum(cpu)
        ok = sum(s == "ok" for s, _ in outcome[f])
        rows = sum(s == "ok" and bool(n) for s, n in outcome[f])
        print(
            f"factor {f:g}: CPU {total:.2f} s ({total / base:.2f} of factor {factors[0]:g}), "
            f"{len(cpu) / total:.0f} q per CPU s, p50 {1000 * cpu[len(cpu) // 2]:.2f} ms, "
            f"p90 {1000 * cpu[int(0.9 * len(cpu))]:.2f} ms, slowest 50 {sum(cpu[-50:]):.2f} s; "
            f"ok {ok}, non-empty {rows} of {len(cpu)}"
        )


if __name__ == "__main__":
    main()
