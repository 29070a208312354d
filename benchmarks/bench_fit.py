"""Our overhead around SDV's fit: a bare ``CTGANSynthesizer.fit`` against cimgen's fit on the
same frame, in one run (issue 16; target: at most 5 % more).

Variants, each fitted ``--repeats`` times in interleaved order (A B C D A B C D ...) so that
load from other processes spreads over all of them; medians are compared:

* ``bare``: ``CTGANSynthesizer(metadata, **same parameters).fit(frame)``: SDV alone.
* ``bare+constraint``: the same plus the ``Inequality(schema_count, table_count)`` constraint
  that cimgen adds (SDV's work, but our choice), with the synthesizer's own transformers
  re-applied as :func:`cimgen.structure.synthesizers.add_constraints` does, so that it fits
  the same model as ``fit_model``.
* ``fit_model``: :func:`cimgen.structure.fit_model`, progress off: validation, metadata,
  constraint, seeding, manifest (frame hash, rule counts, loss curve, domain).
* ``generate``: what ``cimgen generate`` does around the fit:
  :func:`cimgen.structure.cache.obtain_model` with ``refit=True`` (cache key, fit with the
  per-epoch progress printing to a non-terminal, storing the entry, copying to the output).

All run on the same training frame (the bundled demo corpus's features, 10,000 rows), the
same seed and :data:`TORCH_THREADS` torch threads. Wall and CPU seconds are reported; CPU is
this process's (all threads). The two bare variants transform their data in ctgan's joblib
worker processes, whose CPU this misses (a lower bound) and whose start-up their wall time
pays; ``fit_model`` and ``generate`` transform in process (:mod:`cimgen.structure.speedups`).
A few epochs are enough: the overhead is per fit, not per epoch, so fewer epochs make the
ratio stricter.

Then each of our own steps around the fit is timed alone (median of 5), which is steadier
than a difference of two noisy fits: input validation, metadata, the manifest's hashes, rule
counts, domain and loss curve, the cache key, storing the entry and copying it to the output.

    python benchmarks/bench_fit.py [--epochs 5] [--repeats 3] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sdv.cag import Inequality
from sdv.single_table import CTGANSynthesizer

from cimgen.bench import emit_json_line
from cimgen.corpus import load_demo_corpus
from cimgen.features import features_frame, iter_features
from cimgen.ingest import read_stage1
from cimgen.schema import load_schema
from cimgen.structure import fit_model
from cimgen.structure.cache import obtain_model
from cimgen.structure.metadata import TABLE_NAME, build_metadata, training_frame
from cimgen.structure.synthesizers import (
    TORCH_THREADS,
    add_constraints,
    make_synthesizer,
    resolve_params,
    seeded,
)


def _corpus_features() -> pd.DataFrame:
    pairs = iter_features(read_stage1(load_demo_corpus()), load_schema("cim_wizard"))
    return features_frame(pairs)


def _bare(frame: pd.DataFrame, params: dict, seed: int, constraint: bool) -> None:
    metadata = build_metadata(frame)  # the same metadata; building it is not timed below
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    synth = CTGANSynthesizer(metadata, enable_gpu=False, verbose=False, **kwargs)
    if constraint:
        add_constraints(synth, [Inequality("schema_count", "table_count")])
    with seeded(seed), warnings.catch_warnings():  # same threads and seed as ours
        warnings.simplefilter("ignore")
        _timed(lambda: synth.fit({TABLE_NAME: frame}))


_LAST: dict[str, float] = {}


def _timed(fn: Callable[[], object]) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    _LAST["wall"], _LAST["cpu"] = time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="append the JSON result line to this file")
    args = parser.parse_args()

    features = _corpus_features()
    frame = training_frame(features)
    params = resolve_params("ctgan", {"epochs": args.epochs})
    make_synthesizer("ctgan", build_metadata(frame), params)  # warm imports before timing
    # The first fit in a process pays one-off costs (lazy imports inside rdt and ctgan, torch's
    # first kernels, joblib's worker pool): an untimed one-epoch fit takes them before any
    # variant is timed (on an idle 16-core machine the first timed fit took 22.2 s, the same
    # variant's second 5.9 s).
    _bare(frame, resolve_params("ctgan", {"epochs": 1}), args.seed, constraint=False)
    work = Path(tempfile.mkdtemp(prefix="bench-fit-"))

    def ours() -> None:
        _timed(lambda: fit_model(features, "ctgan", params, seed=args.seed, progress=False))

    def generate_like(i: int) -> None:
        sink = io.StringIO()  # the progress lines go here: a non-terminal, as in a log
        with contextlib.redirect_stderr(sink):
            _timed(
                lambda: obtain_model(
                    features,
                    "ctgan",
                    params,
                    seed=args.seed,
                    device="cpu",
                    schema_sha256="bench",
                    refit=True,
                    cache_dir=work / "cache",
                    out_dir=work / f"model{i}",
                    progress=True,
                )
            )

    variants: dict[str, Callable[[int], None]] = {
        "bare": lambda i: _bare(frame, params, args.seed, constraint=False),
        "bare+constraint": lambda i: _bare(frame, params, args.seed, constraint=True),
        "fit_model": lambda i: ours(),
        "generate": generate_like,
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in variants}
    load_before = os.getloadavg()[0]
    for i in range(args.repeats):
        for name, run in variants.items():
            run(i)
            times[name].append((_LAST["wall"], _LAST["cpu"]))
            print(f"{name:16s} wall {_LAST['wall']:7.2f} s  cpu {_LAST['cpu']:7.2f} s", flush=True)

    def median(name: str, k: int) -> float:
        return statistics.median(t[k] for t in times[name])

    line = {
        "benchmark": "fit_overhead",
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.machine()} {os.cpu_count()} cpu",
        "load_avg_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "train_rows": len(frame),
        "epochs": args.epochs,
        "repeats": args.repeats,
        "torch_threads": TORCH_THREADS,
        "median_wall_s": {n: round(median(n, 0), 2) for n in variants},
        "median_cpu_s": {n: round(median(n, 1), 2) for n in variants},
        "ratio_wall_vs_bare": {n: round(median(n, 0) / median("bare", 0), 3) for n in variants},
        "ratio_cpu_vs_bare": {n: round(median(n, 1) / median("bare", 1), 3) for n in variants},
        "ratio_cpu_fit_model_vs_bare_constraint": round(
            median("fit_model", 1) / median("bare+constraint", 1), 3
        ),
    }
    line["own_steps_s"] = _own_steps(features, frame, params, work)
    line["own_steps_total_s"] = round(sum(line["own_steps_s"].values()), 3)
    line["own_steps_vs_bare_wall"] = round(line["own_steps_total_s"] / median("bare", 0), 4)
    emit_json_line(line, args.out, indent=2)


def _own_steps(
    features: pd.DataFrame, frame: pd.DataFrame, params: dict, work: Path
) -> dict[str, float]:
    """Median seconds of each step cimgen adds around SDV's fit (module docstring)."""
    from cimgen.structure import cache
    from cimgen.structure import manifest as mf
    from cimgen.structure.consistency import violation_counts
    from cimgen.structure.metadata import training_domain
    from cimgen.structure.model import _loss_curve

    model = fit_model(features, "ctgan", {**params, "epochs": 1}, progress=False)
    ck = cache.cache_key(frame, "ctgan", params, 0, "cpu", "bench")
    steps: dict[str, Callable[[], object]] = {
        "training_frame": lambda: training_frame(features),
        "build_metadata": lambda: build_metadata(frame),
        "frame_sha256 (manifest)": lambda: mf.frame_sha256(frame),
        "violation_counts": lambda: violation_counts(frame),
        "training_domain": lambda: training_domain(frame),
        "loss_curve": lambda: _loss_curve(model.synthesizer, "ctgan"),
        "cache_key (frame_sha256 again)": lambda: cache.cache_key(
            frame, "ctgan", params, 0, "cpu", "bench"
        ),
        "store entry (pickle, write, sha256)": lambda: cache._store(
            work / "steps", ck, model, True, print
        ),
        "copy to the output (pickle, write)": lambda: mf.write_model_dir(
            work / "steps-out", model.synthesizer, model.manifest
        ),
    }
    out: dict[str, float] = {}
    for name, step in steps.items():
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            step()
            runs.append(time.perf_counter() - started)
        out[name] = round(statistics.median(runs), 4)
    return out


if __name__ == "__main__":
    main()
