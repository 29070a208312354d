"""CPU time of each SpatiaLite check of a generated run, slowest first.

Re-runs the ``sql_spatialite`` of every row of a run's dataset.jsonl and rejected.jsonl on
a SpatiaLite fixture file (``cimgen generate --config ...`` with ``execute_spatialite``
builds one in the cache: ``$XDG_CACHE_HOME/cimgen/fixtures/cim_wizard-s<SEED>-*.sqlite``),
one statement at a time in this process, with the check's own runner and time limit, and
prints each statement's CPU time (``time.process_time``: the limit the check counts) and
status. Used to see how near a run's slowest query is to the determinism test's limit
(tests/test_generate.py: 40 GaussianCopula rows, seed 3, 30 s).

    python benchmarks/bench_spatialite_rows.py RUN_DIR FIXTURE.sqlite [--top 5] [--timeout 30]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from cimgen.check.execute import SpatialiteRunner
from cimgen.engines import spatialite


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run", type=Path)
    parser.add_argument("fixture", type=Path)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()

    rows = []
    for name in ("dataset.jsonl", "rejected.jsonl"):
        path = args.run / name
        if path.is_file():
            rows += [json.loads(line) for line in path.read_text().splitlines() if line]
    runner = SpatialiteRunner(spatialite.connect(args.fixture, read_only=True), args.timeout)
    timed = []
    try:
        for r in rows:
            sql = r.get("sql_spatialite")
            if not sql:
                continue
            start = time.process_time()
            result, _ = runner.run(sql)
            timed.append((time.process_time() - start, r["id"], result.status, result.rows))
    finally:
        runner.close()
    timed.sort(reverse=True)
    total = sum(t for t, *_ in timed)
    print(f"{len(timed)} SpatiaLite statements, {total:.2f} s CPU in all")
    for cpu, rid, status, n in timed[: args.top]:
        print(f"  {rid}: {cpu:.3f} s CPU, {status}, {n} rows")


if __name__ == "__main__":
    main()
