"""Benchmark the check stage: DuckDB execution checks/s and PostGIS EXPLAIN checks/s.

Candidates come from the real pipeline: a GaussianCopula structure model fitted on the
bundled demo corpus (or --stage1 FILE), expanded and rendered. Each figure is per core
(one process).

    python benchmarks/bench_checks.py [--n 2000] [--postgis URL] [--stage1 FILE]

With --postgis, the URL must hold the schema and fixture data (`cimgen db init`).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from cimgen import seeds
from cimgen.bench import corpus_records
from cimgen.check import CheckContext, DuckDBRunner, PostgisRunner, Subject, run_checks
from cimgen.engines.duckdb import open_fixture
from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import features_frame, iter_features
from cimgen.models import Candidate
from cimgen.schema import load_schema
from cimgen.structure import fit_model

STATIC = ("grammar", "postgres_parse", "bind", "srid", "units", "cartesian", "complexity")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--postgis")
    parser.add_argument("--stage1", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    schema = load_schema("cim_wizard")
    pairs = list(iter_features(corpus_records(args.stage1), schema))
    model = fit_model(features_frame(pairs), "gaussian_copula", seed=args.seed, progress=False)
    structures = model.sample(args.n, seed=args.seed, progress=False).structures()
    ctx = ExpansionContext.for_fixture(schema, [r for r, _ in pairs], 0)
    cands = [
        c
        for i, s in enumerate(structures)
        if isinstance(c := make_candidate(s, ctx, seeds.expansion_rng(args.seed, i), i), Candidate)
    ]
    print(f"{len(cands)} candidates from {len(structures)} structures")

    check_ctx = CheckContext(schema)
    t0 = time.perf_counter()
    for c in cands:
        run_checks(Subject(c.sql_postgis, structure=c.structure), check_ctx, only=STATIC)
    static = time.perf_counter() - t0
    print(f"static checks (grammar, pglast, bind, rules, fidelity): {len(cands) / static:.0f} q/s")

    con = open_fixture(schema, 0)
    con.execute("SET threads = 1")  # per core, as in the pipeline's worker processes
    duck = DuckDBRunner(con, timeout_s=2.0)
    runnable = [c for c in cands if c.sql_duckdb]
    ok = 0
    t0 = time.perf_counter()
    times, cpu = [], []  # wall and CPU seconds per query (CPU: steadier on a shared box)
    for c in runnable:
        start, start_cpu = time.perf_counter(), time.process_time()
        result, _ = duck.run(c.sql_duckdb or "")
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        ok += result.status == "ok"
    elapsed = time.perf_counter() - t0
    times.sort()
    cpu.sort()
    p50, p90, p99 = (times[int(len(times) * q)] for q in (0.5, 0.9, 0.99))
    tail = sum(t for t in times if t >= 0.1)
    print(
        f"DuckDB execution: p50 {1000 * p50:.1f} ms, p90 {1000 * p90:.1f} ms, "
        f"p99 {1000 * p99:.0f} ms, queries >= 0.1 s: "
        f"{sum(t >= 0.1 for t in times)} taking {tail:.1f} s of {elapsed:.1f} s"
    )
    c50, c90 = cpu[len(cpu) // 2], cpu[int(len(cpu) * 0.9)]
    print(
        f"DuckDB execution CPU: p50 {1000 * c50:.2f} ms, p90 {1000 * c90:.2f} ms, "
        f"{len(runnable) / sum(cpu):.0f} q/s per CPU second"
    )
    print(
        f"DuckDB execution: {len(runnable) / elapsed:.0f} q/s over {len(runnable)} "
        f"({100 * ok / max(1, len(runnable)):.1f}% ok; "
        f"{len(cands) - len(runnable)} not checkable)"
    )

    if args.postgis:
        from cimgen.engines.postgis import connect

        for execute in (False, True):
            pg = PostgisRunner(connect(args.postgis), timeout_s=2.0, execute=execute)
            ok = 0
            t0 = time.perf_counter()
            for c in cands:
                result, _ = pg.run(c.sql_postgis)
                ok += result.status == "ok"
            elapsed = time.perf_counter() - t0
            what = "EXPLAIN + execute" if execute else "EXPLAIN"
            print(
                f"PostGIS {what}: {len(cands) / elapsed:.0f} q/s ({100 * ok / len(cands):.1f}% ok)"
            )
            pg.conn.close()
    del check_ctx


if __name__ == "__main__":
    main()
