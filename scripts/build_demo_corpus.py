"""Rebuild the bundled Stage 1 demo corpus (cimgen/data/stage1_demo.jsonl.gz).

    python scripts/build_demo_corpus.py [--seed 0] [--n 10000] [--out PATH]

Deterministic: the same seed and n give the same bytes (tests/test_corpus.py checks the
shipped file against a rebuild).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from rich.progress import Progress

from cimgen.corpus import DEMO_CORPUS
from cimgen.corpus.build import DEFAULT_N, DEFAULT_SEED, build_corpus, write_corpus
from cimgen.paths import package_data
from cimgen.schema import load_schema


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--n", type=int, default=DEFAULT_N)
    ap.add_argument("--out", type=Path, default=package_data(DEMO_CORPUS))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    with Progress(transient=True) as bar:
        task = bar.add_task("building demo corpus", total=args.n)
        records = build_corpus(
            load_schema("cim_wizard"), args.seed, args.n, progress=lambda k: bar.advance(task, k)
        )
    write_corpus(records, args.out)
    print(f"wrote {len(records)} records to {args.out} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
