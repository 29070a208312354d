"""Benchmark the stages of ``cimgen generate`` after fitting (issues 6/7/8).

(a) fits GaussianCopula on the bundled demo corpus features and samples N structures;
(b) times, in one process, each per-candidate step: ``make_candidate`` (expand + render +
    question), every check in ``cimgen.check.CHECKS`` except postgis / diversity, and the
    distribution of DuckDB execution times (p50 / p90 / p99, share over 100 ms; with the
    pipeline's 0.1 s budget, so "planned" queries cost ~0.1 s);
(c) runs ``cimgen.generate.run_generate`` with 1 and 2 workers and reports accepted rows/s
    of its "expand+check" stage.

    python benchmarks/bench_pipeline.py [--n 600] [--rows 2000] [--workers 1 2] [--skip-run]

Timings are wall clock on whatever machine runs it; print the load average beside them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from rich.console import Console

from cimgen import seeds
from cimgen.check import CHECKS, CheckContext, DuckDBRunner, Subject
from cimgen.check.base import NOT_CHECKABLE, PLANNED
from cimgen.corpus import load_demo_corpus
from cimgen.engines.duckdb import open_fixture
from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import features_frame, iter_features
from cimgen.generate.options import GenerateOptions
from cimgen.generate.pipeline import run_generate
from cimgen.ingest import read_stage1
from cimgen.models import Candidate
from cimgen.schema import load_schema
from cimgen.structure import fit_model


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


def per_candidate(n: int, seed: int, timeout_s: float, slow_out: Path | None) -> None:
    schema = load_schema("cim_wizard")
    pairs = list(iter_features(read_stage1(load_demo_corpus()), schema))
    model = fit_model(features_frame(pairs), "gaussian_copula", seed=seed, progress=False)
    structures = model.sample(n, seed=seed, progress=False).structures()
    ctx = ExpansionContext.for_fixture(schema, [r for r, _ in pairs], seed)
    con = open_fixture(schema, seed)
    con.execute("SET threads = 1")  # as a pipeline worker
    check_ctx = CheckContext(schema, duckdb=DuckDBRunner(con, timeout_s))

    times: dict[str, list[float]] = defaultdict(list)
    duck: list[tuple[float, str, str]] = []
    statuses: Counter[str] = Counter()
    made = 0
    for i, s in enumerate(structures):
        t0 = time.perf_counter()
        c = make_candidate(s, ctx, seeds.expansion_rng(seed, i), i)
        times["make_candidate"].append(time.perf_counter() - t0)
        if not isinstance(c, Candidate):
            continue
        made += 1
        subject = Subject(
            c.sql_postgis,
            sql_duckdb=c.sql_duckdb,
            duckdb_unsupported=c.unsupported.get("duckdb"),
            structure=c.structure,
        )
        for name, check in CHECKS:
            if name in ("postgis", "diversity"):
                continue
            t0 = time.perf_counter()
            check(subject, check_ctx)
            dt = time.perf_counter() - t0
            times[name].append(dt)
            if name == "duckdb" and "duckdb" in subject.engines:
                status = subject.engines["duckdb"].status
                statuses[status] += 1
                if status != NOT_CHECKABLE:  # not run at all
                    duck.append((dt, status, c.sql_duckdb or ""))

    print(f"\n(b) per candidate, one process: {made} candidates from {n} structures")
    total = 0.0
    print(f"{'step':<16}{'mean ms':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'per s':>9}")
    for name, vals in times.items():
        mean = statistics.fmean(vals)
        total += sum(vals)
        print(
            f"{name:<16}{1000 * mean:>9.2f}{1000 * pct(vals, 0.5):>9.2f}"
            f"{1000 * pct(vals, 0.9):>9.2f}{1000 * pct(vals, 0.99):>9.2f}{1 / mean:>9.0f}"
        )
    print(
        f"total per candidate: {1000 * total / max(1, made):.2f} ms "
        f"({made / total:.0f} candidates/s, one core)"
    )
    d = [t for t, _, _ in duck]
    if d:
        slow = sum(t > 0.1 for t in d)
        print(
            f"DuckDB executed {len(d)}: p50 {1000 * pct(d, 0.5):.1f} ms, "
            f"p90 {1000 * pct(d, 0.9):.1f} ms, p99 {1000 * pct(d, 0.99):.1f} ms, "
            f"> 100 ms {100 * slow / len(d):.1f} %, planned (budget hit) "
            f"{100 * statuses[PLANNED] / len(d):.1f} %; share of DuckDB time in the tail "
            f"{100 * sum(t for t in d if t > 0.05) / sum(d):.0f} %; statuses {dict(statuses)}"
        )
        print(f"DuckDB checks/s (one core): {len(d) / sum(d):.0f}")
    if slow_out is not None:
        worst = sorted(duck, reverse=True)[:40]
        slow_out.write_text(
            "\n\n".join(f"-- {1000 * t:.0f} ms {st}\n{sql};" for t, st, sql in worst) + "\n"
        )
        print(f"slowest DuckDB queries written to {slow_out}")


def pipeline(rows: int, workers: list[int], seed: int) -> None:
    print(f"\n(c) run_generate --rows {rows} --synthesizer gaussian_copula")
    console = Console(quiet=True)
    for w in workers:
        with tempfile.TemporaryDirectory() as tmp:
            opts = GenerateOptions(
                out=Path(tmp) / "out",
                rows=rows,
                synthesizer="gaussian_copula",
                workers=w,
                seed=seed,
                progress=False,
                report=False,
            )
            load0 = os.getloadavg()[0]
            result = run_generate(opts, console)
            load1 = os.getloadavg()[0]
        sec = result.timings.get("expand+check", float("nan"))
        accepted = result.stats.get("accepted", rows)
        print(
            f"workers {w}: expand+check {sec:.1f} s, {accepted} accepted -> "
            f"{accepted / sec:.0f} accepted rows/s; timings {result.timings}; "
            f"load {load0:.2f}->{load1:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=600)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=0.1)
    parser.add_argument("--slow-out", type=Path)
    parser.add_argument("--skip-run", action="store_true")
    parser.add_argument("--skip-profile", action="store_true")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}")
    if not args.skip_profile:
        per_candidate(args.n, args.seed, args.timeout, args.slow_out)
    if not args.skip_run:
        pipeline(args.rows, args.workers, args.seed)
    print(f"load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
