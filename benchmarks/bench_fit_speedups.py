"""A CTGAN fit with and without :mod:`cimgen.structure.speedups`, side by side (issue 16).

Each fit runs :func:`cimgen.structure.fit_model` on the bundled corpus's features (10,000
rows, seed 0, progress off) in a fresh process, so both pay the same one-off imports, and
the two modes alternate (off on off on ...) over ``--repeats``. A line per fit: wall and
CPU seconds of the fit, CPU of child processes (ctgan's joblib pool, reaped at the end),
the data preparation before the first epoch (wall, CPU), the median epoch (wall, CPU),
the load average, and a hash of the generator's weights (equal in both modes: the same
model). Then, in this process, the replaced loops alone (CPU seconds, median of 5).

    python benchmarks/bench_fit_speedups.py [--epochs 3] [--repeats 1] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from cimgen.bench import emit_json_line
from cimgen.corpus import load_demo_corpus
from cimgen.features import features_frame, iter_features
from cimgen.ingest import read_stage1
from cimgen.schema import load_schema
from cimgen.structure import speedups
from cimgen.structure.metadata import training_frame


def _features() -> pd.DataFrame:
    return features_frame(iter_features(read_stage1(load_demo_corpus()), load_schema("cim_wizard")))


class _EpochMarks:
    """Stands in for the tqdm around ctgan's epoch loop: (wall, CPU) at its start and after
    each epoch."""

    def __init__(self) -> None:
        self.marks: list[tuple[float, float]] = []
        self._iterable: Iterable[Any] = ()

    def __call__(self, iterable: Iterable[Any], *args: Any, **kwargs: Any) -> _EpochMarks:
        self._iterable = iterable
        return self

    def __iter__(self) -> Iterator[Any]:
        self.marks.append((time.perf_counter(), time.process_time()))
        for item in self._iterable:
            yield item
            self.marks.append((time.perf_counter(), time.process_time()))

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        """tqdm API."""

    def close(self) -> None:
        """tqdm API."""


def _child(mode: str, epochs: int) -> dict[str, Any]:
    """One fit in this process, speedups ``on`` or ``off``."""
    import ctgan.synthesizers.ctgan as ctgan_module
    from joblib.externals.loky import get_reusable_executor

    import cimgen.structure.model as model_module

    features = _features()
    model_module.fit_speedups = lambda: speedups.fit_speedups(mode == "on")  # type: ignore[assignment]
    clock = _EpochMarks()
    ctgan_module.tqdm = clock  # type: ignore[assignment]
    load = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    model = model_module.fit_model(
        features, "ctgan", {"epochs": epochs}, seed=0, progress=False, device="cpu"
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    get_reusable_executor().shutdown(wait=True)  # reap the pool, if any, to count its CPU
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    marks = clock.marks
    steps = list(itertools.pairwise(marks))
    weights = model.synthesizer._model._generator.state_dict().values()
    return {
        "mode": mode,
        "epochs": epochs,
        "fit_s": round(wall, 1),
        "fit_cpu_s": round(cpu, 1),
        "children_cpu_s": round(children.ru_utime + children.ru_stime, 1),
        "prep_s": round(wall - (marks[-1][0] - marks[0][0]), 1),
        "prep_cpu_s": round(cpu - (marks[-1][1] - marks[0][1]), 1),
        "median_epoch_ms": round(1000 * statistics.median(b[0] - a[0] for a, b in steps)),
        "median_epoch_cpu_ms": round(1000 * statistics.median(b[1] - a[1] for a, b in steps)),
        "weights_sha256": hashlib.sha256(
            b"".join(w.numpy().tobytes() for w in weights)
        ).hexdigest()[:16],
        "load_avg": [round(load, 2), round(os.getloadavg()[0], 2)],
    }


def _cpu(fn: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        started = time.process_time()
        fn()
        times.append(time.process_time() - started)
    return statistics.median(times)


def _loops() -> dict[str, Any]:
    """The replaced loops alone, on the bundled corpus's transformed data."""
    from ctgan.data_sampler import DataSampler
    from ctgan.data_transformer import DataTransformer

    frame = training_frame(_features())
    discrete = [c for c in frame.columns if frame[c].dtype in (object, bool)]
    transformer = DataTransformer()
    transformer.fit(frame, discrete)
    infos = transformer._column_transform_info_list
    loop_s = _cpu(lambda: transformer._synchronous_transform(frame, infos))
    with speedups.fit_speedups():
        vector_s = _cpu(lambda: transformer._synchronous_transform(frame, infos))
        data = np.concatenate(transformer._synchronous_transform(frame, infos), axis=1)
    sampler = DataSampler(data, transformer.output_info_list, log_frequency=True)
    conds = [sampler.sample_condvec(500) for _ in range(20)]  # one epoch's batches
    original = DataSampler.__dict__["sample_data"]

    def epoch(sample: Callable[..., Any]) -> Callable[[], object]:
        return lambda: [sample(sampler, data, 500, c[2], c[3]) for c in conds]

    return {
        "transform_per_row_choice_cpu_s": round(loop_s, 3),
        "transform_vectorised_cpu_s": round(vector_s, 3),
        "sample_data_epoch_loop_cpu_ms": round(1000 * _cpu(epoch(original)), 1),
        "sample_data_epoch_vectorised_cpu_ms": round(1000 * _cpu(epoch(speedups._sample_data)), 1),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--modes", default="off,on")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--out", help="append the JSON result lines to this file")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.epochs)))
        return
    head = {
        "benchmark": "fit_speedups",
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.processor() or platform.machine()} {os.cpu_count()} cpu",
        "speedups": speedups.supported()[1],
    }
    for _ in range(args.repeats):
        for mode in args.modes.split(","):
            cmd = [sys.executable, __file__, "--child", mode, "--epochs", str(args.epochs)]
            done = subprocess.run(cmd, check=True, capture_output=True, text=True)
            emit_json_line({**head, **json.loads(done.stdout.splitlines()[-1])}, args.out)
    emit_json_line({**head, "loops": _loops()}, args.out)


if __name__ == "__main__":
    main()
