"""CPU of one spawned ``cimgen generate`` worker from interpreter start to ready (issue 16).

A ``spawn`` worker imports its parent's main module again; for the ``cimgen`` console
script that is ``cimgen.cli``, so this file imports it the same way. Each start is a pool
of one worker, initialised from the worker spec of a ``bench_work_stages.py capture``; the
worker reports its own ``time.process_time()`` once ``init_worker`` ran and the grammar's
parser is built (or loaded from the cache folder).

    python benchmarks/bench_worker_start.py CAP.pkl [--starts 3]
"""

from __future__ import annotations

import argparse
import multiprocessing
import pickle
from pathlib import Path

from cimgen.cli import main as _cli  # noqa: F401  (as the console script: spawn re-imports it)


def ready(_: int) -> tuple[float, int]:
    """The worker's CPU so far and how many modules it imported."""
    import sys
    import time

    from cimgen.grammar.parse import parser

    parser()
    return time.process_time(), len(sys.modules)


def main() -> None:
    from cimgen.generate.work import init_worker

    args = argparse.ArgumentParser()
    args.add_argument("capture", type=Path)
    args.add_argument("--starts", type=int, default=3)
    opts = args.parse_args()
    spec = pickle.loads(opts.capture.read_bytes())["spec"]
    ctx = multiprocessing.get_context("spawn")
    got = []
    for _ in range(opts.starts):
        with ctx.Pool(1, initializer=init_worker, initargs=(spec,)) as pool:
            got.append(pool.map(ready, [0])[0])
    cpu = ", ".join(f"{c:.2f}" for c, _ in got)
    print(f"worker start CPU: {cpu} s; modules imported: {got[0][1]}")


if __name__ == "__main__":
    main()
