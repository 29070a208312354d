"""Benchmark SpatiaLite as a check engine: how many generated queries it can express and run,
how long each takes (beside DuckDB on the same queries), and how often the two agree.

Candidates come from the real pipeline (a structure model fitted on the bundled demo corpus,
or --stage1 FILE, expanded and rendered), checked one at a time in one process, as in a
generate worker. Raster queries have no SpatiaLite form and are counted apart.

    python benchmarks/bench_spatialite.py [--n 1000] [--synthesizer gaussian_copula]
        [--epochs N] [--seed 0] [--timeout 2]

The --dialect spatialite targets (100 % executed, >= 90 % non-empty, >= 50 % distinct
shapes) are measured on a real run instead:
``cimgen generate --dialect spatialite --rows N --out DIR`` and its stats.json ``dialects``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from cimgen import seeds
from cimgen.bench import corpus_records, uses_raster
from cimgen.check.execute import DuckDBRunner, SpatialiteRunner, agree
from cimgen.engines import duckdb, spatialite
from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import features_frame, iter_features
from cimgen.models import Candidate
from cimgen.schema import load_schema
from cimgen.structure import fit_model


def _quantile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--synthesizer", default="gaussian_copula")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--stage1", type=Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=2.0)
    args = parser.parse_args()

    schema = load_schema("cim_wizard")
    pairs = list(iter_features(corpus_records(args.stage1), schema))
    params = {"epochs": args.epochs} if args.epochs else {}
    model = fit_model(
        features_frame(pairs), args.synthesizer, params, seed=args.seed, progress=False
    )
    structures = model.sample(args.n, seed=args.seed, progress=False).structures()
    ctx = ExpansionContext.for_fixture(schema, [r for r, _ in pairs], 0)
    cands = [
        c
        for i, s in enumerate(structures)
        if isinstance(c := make_candidate(s, ctx, seeds.expansion_rng(args.seed, i), i), Candidate)
    ]
    raster = [c for c in cands if uses_raster(c.ast, schema)]
    other = [c for c in cands if not uses_raster(c.ast, schema)]
    rendered = [c for c in other if c.sql_spatialite]
    print(
        f"{len(cands)} candidates from {len(structures)} structures: {len(raster)} raster "
        f"(no SpatiaLite form), {len(other)} others, {len(rendered)} of them rendered "
        f"({100 * len(rendered) / max(1, len(other)):.1f} %)"
    )

    lite = SpatialiteRunner(spatialite.open_fixture(schema, 0), args.timeout)
    con = duckdb.open_fixture(schema, 0)
    con.execute("SET threads = 1")  # per core, as in the pipeline's worker processes
    duck = DuckDBRunner(con, args.timeout)
    lite_times, duck_times = [], []
    ok = nonempty = timeouts = errors = compared = agreeing = 0
    for c in rendered:
        start = time.perf_counter()
        result, _ = lite.run(c.sql_spatialite or "")
        lite_times.append(time.perf_counter() - start)
        ok += result.status == "ok"
        nonempty += result.status == "ok" and bool(result.rows)
        timeouts += result.status == "planned"
        errors += result.status == "error"
        if c.sql_duckdb:
            start = time.perf_counter()
            d, _ = duck.run(c.sql_duckdb)
            duck_times.append(time.perf_counter() - start)
            if d.status == "ok" and result.status == "ok":
                compared += 1
                agreeing += agree(d.digest, result.digest, 0.005)
    lite.close()
    con.close()
    n = max(1, len(other))
    print(
        f"SpatiaLite executes {ok} of {len(other)} non-raster queries ({100 * ok / n:.1f} %); "
        f"{timeouts} timeouts, {errors} errors; {nonempty} returned rows "
        f"({100 * nonempty / max(1, ok):.1f} % of executed)"
    )
    for name, times in (("SpatiaLite", lite_times), ("DuckDB", duck_times)):
        times.sort()
        tail = sum(t for t in times if t >= 0.1)
        print(
            f"{name}: mean {1000 * statistics.mean(times):.1f} ms, "
            f"p50 {1000 * _quantile(times, 0.5):.1f} ms, p90 {1000 * _quantile(times, 0.9):.0f} "
            f"ms, p99 {1000 * _quantile(times, 0.99):.0f} ms; queries >= 0.1 s: "
            f"{sum(t >= 0.1 for t in times)} taking {tail:.1f} of {sum(times):.1f} s"
        )
    print(f"SpatiaLite vs DuckDB agreement: {agreeing} of {compared}")


if __name__ == "__main__":
    main()
