"""Structure-model benchmark: fit time per synthesizer and sampling 75,000 structures.

Targets (docs/BENCHMARKS.md, "Structure model"): CTGAN 300 epochs on 10,000 rows <= 4 min;
GaussianCopula fit <= 15 s; sampling 75,000 structures <= 15 s for any synthesizer.
Not a test: run it by hand, on an idle machine when possible::

    python benchmarks/bench_structure.py --rows 10000 --epochs 300 --synthesizers ctgan
    python benchmarks/bench_structure.py --rows 10000 --epochs 5   # quick, all four

Training data is :func:`cimgen.structure.demo.demo_features` (deterministic, consistent).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from cimgen.bench import emit_json_line
from cimgen.structure import fit_model
from cimgen.structure.demo import demo_features
from cimgen.structure.synthesizers import NEURAL, SYNTHESIZERS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000, help="training rows")
    parser.add_argument("--epochs", type=int, default=300, help="epochs for neural ones")
    parser.add_argument("--sample", type=int, default=75_000, help="structures to sample")
    parser.add_argument("--synthesizers", default=",".join(SYNTHESIZERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="append the JSON result lines to this file")
    args = parser.parse_args()

    features = demo_features(args.rows, seed=args.seed)
    for name in args.synthesizers.split(","):
        params = {"epochs": args.epochs} if name in NEURAL else {}
        model = fit_model(features, name, params, seed=args.seed, progress=False)
        started = time.perf_counter()
        result = model.sample(args.sample, seed=args.seed, progress=False)
        sample_s = time.perf_counter() - started
        line = {
            "synthesizer": name,
            "train_rows": args.rows,
            "epochs": args.epochs if name in NEURAL else None,
            "fit_s": model.manifest["fit_seconds"],
            "sample_rows": args.sample,
            "sample_s": round(sample_s, 2),
            "drawn": result.report["drawn"],
            "repaired": sum(result.report["repaired"].values()),
            "rejected": sum(result.report["rejected"].values()),
            "machine": f"{platform.machine()} {os.cpu_count()} cpu",
            "load_avg": round(os.getloadavg()[0], 2),
        }
        emit_json_line(line, args.out)


if __name__ == "__main__":
    main()
