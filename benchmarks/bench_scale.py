"""Benchmark ``cimgen generate --executor ray`` (issue 18): scaling and driver memory.

``scaling``  accepted rows/s of the "expand+check" stage (after the fit and after the
             workers opened their engines) with 1 and 2 Ray workers on a local Ray
             instance, and their ratio (target >= 1.7x on a 2-core box).
``memory``   one ``cimgen generate`` driver process per size, each on its own local Ray
             instance; prints the driver's peak resident memory (VmHWM of its own process:
             Ray's workers are other processes) and the wall time. Flat figures across
             sizes mean the driver streams (target < 2 GiB at 1,000,000 rows).
``million``  ``memory`` at 1,000,000 rows: hours on a 2-core machine.
``replay``   the driver alone at scale, in hours less: a real ``--executor ray`` run whose
             driver decides every real outcome ``--copies`` times, each copy made distinct
             (its SQL and question get a numbered suffix, its shape a unique fingerprint, so
             no copy is a duplicate or hits the shape cap). Everything the driver does per
             row runs for real -- diversity, score, stats, streaming both JSONL files,
             dataset.parquet, SDMetrics, the report and card -- on ``--sizes`` rows; only the
             workers' expansion and checks are done once per ``--copies`` rows. Prints the
             driver's peak memory per size.

    python benchmarks/bench_scale.py scaling [--rows 600] [--workers 1 2] [--executor ray|local]
    python benchmarks/bench_scale.py memory [--sizes 2000 10000 20000] [--workers 2]
    python benchmarks/bench_scale.py million [--workers N] [--ray-address ADDR]
    python benchmarks/bench_scale.py replay [--sizes 50000 200000 1000000] [--copies 500]

Every run uses GaussianCopula on the bundled demo corpus with a fixed seed; the model is
fitted once and then reused from the model cache (``CIMGEN_CACHE_DIR``). Timings are wall
clock on whatever machine runs it: the load average is printed beside them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SEED = 11


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _options(
    out: Path,
    rows: int,
    workers: int,
    address: str | None,
    spatialite: bool,
    executor: str = "ray",
) -> object:
    from dataclasses import replace

    from cimgen.generate import GenerateOptions

    opts = GenerateOptions(
        out=out,
        rows=rows,
        synthesizer="gaussian_copula",
        seed=SEED,
        workers=workers,
        executor=executor,
        ray_address=address,
        overwrite=True,
        progress=False,
    )
    return replace(opts, execute_spatialite=spatialite)


def scaling(rows: int, workers: list[int], spatialite: bool, executor: str) -> None:
    from rich.console import Console

    from cimgen.generate import run_generate

    console = Console(stderr=True)
    rates: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale.") as tmp:
        for w in workers:
            load = _load()
            start = time.perf_counter()
            opts = _options(Path(tmp) / f"w{w}", rows, w, None, spatialite, executor)
            result = run_generate(opts, console)  # type: ignore[arg-type]
            wall = time.perf_counter() - start
            seconds = result.timings["expand+check"]
            rates[w] = result.stats["accepted"] / seconds
            print(
                f"{executor} workers {w}: {result.stats['accepted']} accepted in {seconds:.1f} s "
                f"expand+check = {rates[w]:.1f} rows/s (wall {wall:.1f} s; load before {load})",
                flush=True,
            )
    if 1 in rates and 2 in rates:
        print(f"scaling 2 vs 1 worker: {rates[2] / rates[1]:.2f}x (target >= 1.7x)")


_CHILD = """
import json, sys, time
from pathlib import Path
from rich.console import Console
sys.path.insert(0, {bench!r})
from bench_scale import _options
from cimgen.generate import run_generate
start = time.perf_counter()
opts = _options(Path({out!r}), {rows}, {workers}, {address!r}, {spatialite})
result = run_generate(opts, Console(stderr=True))
wall = time.perf_counter() - start
status = Path("/proc/self/status").read_text()
peak_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
print(json.dumps({{"rows": {rows}, "accepted": result.stats["accepted"],
    "complete": result.complete, "wall_s": round(wall, 1),
    "expand_check_s": result.timings.get("expand+check"),
    "driver_peak_mib": round(peak_kib / 1024, 1)}}))
"""


def memory(sizes: list[int], workers: int, address: str | None, spatialite: bool) -> None:
    here = str(Path(__file__).resolve().parent)
    with tempfile.TemporaryDirectory(prefix="bench-scale.") as tmp:
        for rows in sizes:
            code = _CHILD.format(
                bench=here,
                out=str(Path(tmp) / f"r{rows}"),
                rows=rows,
                workers=workers,
                address=address,
                spatialite=spatialite,
            )
            load = _load()
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                print(f"rows {rows}: failed ({done.returncode})\n{done.stderr[-2000:]}")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps({**figures, "load_before": load}), flush=True)


_REPLAY = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
from rich.console import Console
sys.path.insert(0, {bench!r})
from bench_scale import _options
from cimgen.generate import pipeline, run_generate

COPIES = {copies}
decide = pipeline._Decider.__call__

def replayed(self, outcome):
    for j in range(COPIES):
        if self.accepted >= self.opts.rows:
            return
        cand = outcome.candidate
        if cand is not None:
            cand = replace(cand, sql_postgis=f"{{cand.sql_postgis}} -- copy {{j}}",
                           question=f"{{cand.question}} (copy {{j}})")
        decide(self, replace(outcome, index=outcome.index * COPIES + j, candidate=cand,
                             findings=list(outcome.findings),
                             fingerprint=f"{{outcome.fingerprint}}:{{j}}"))

pipeline._Decider.__call__ = replayed
start = time.perf_counter()
opts = _options(Path({out!r}), {rows}, {workers}, None, {spatialite})
result = run_generate(opts, Console(stderr=True))
wall = time.perf_counter() - start
status = Path("/proc/self/status").read_text()
peak_kib = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))
size = sum(f.stat().st_size for f in Path({out!r}).iterdir() if f.is_file())
print(json.dumps({{"rows": {rows}, "copies": COPIES, "accepted": result.stats["accepted"],
    "complete": result.complete, "wall_s": round(wall, 1), "timings": result.timings,
    "output_mib": round(size / 2**20), "driver_peak_mib": round(peak_kib / 1024, 1)}}))
"""


def replay(sizes: list[int], workers: int, copies: int, spatialite: bool) -> None:
    here = str(Path(__file__).resolve().parent)
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-scale.") as tmp:
            code = _REPLAY.format(
                bench=here,
                out=str(Path(tmp) / f"r{rows}"),
                rows=rows,
                workers=workers,
                copies=copies,
                spatialite=spatialite,
            )
            load = _load()
            done = subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=False
            )
            if done.returncode not in (0,):
                print(f"rows {rows}: failed ({done.returncode})\n{done.stderr[-2000:]}")
                continue
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            print(json.dumps({**figures, "load_before": load}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("scaling", "memory", "million", "replay"))
    parser.add_argument("--copies", type=int, default=500)
    parser.add_argument("--executor", choices=("ray", "local"), default="ray")
    parser.add_argument("--rows", type=int, default=600)
    parser.add_argument("--workers", type=int, nargs="+", default=None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 20000])
    parser.add_argument("--ray-address", default=None)
    parser.add_argument(
        "--no-spatialite",
        action="store_true",
        help="checks.execute_spatialite false (faster; the driver's work is the same)",
    )
    args = parser.parse_args()
    spatialite = not args.no_spatialite
    print(f"cpus {os.cpu_count()}, load {_load()}, {time.strftime('%Y-%m-%d %H:%M')}")
    if args.mode == "scaling":
        scaling(args.rows, args.workers or [1, 2], spatialite, args.executor)
    elif args.mode == "replay":
        replay(args.sizes, (args.workers or [2])[0], args.copies, spatialite)
    else:
        sizes = [1_000_000] if args.mode == "million" else args.sizes
        workers = (args.workers or [2])[0]
        memory(sizes, workers, args.ray_address, spatialite)


if __name__ == "__main__":
    main()
