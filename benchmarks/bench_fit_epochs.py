"""CTGAN milliseconds per epoch on the bundled corpus's features, by variant (issue 16).

Why the default job's fit got slower: this times the epoch loop alone (wall and CPU of this
process per epoch) for

* ``sdv``: ``add_constraints([Inequality(schema_count, table_count)])`` as SDV 2.0 leaves it
  (its default data processor: every category a uniform-encoded float, modelled as a
  continuous column; what cimgen fitted before the fix);
* ``kept``: the same constraint through :func:`cimgen.structure.synthesizers.add_constraints`
  (the synthesizer's own transformers re-applied: categories one-hot, CTGAN's conditional
  vector over them; what cimgen fits now);
* ``bare``: no constraint at all;

each at the torch thread counts given (``--threads 1,2``). SDV's data preparation (one
Bayesian GMM per continuous column) runs once per variant and is reported as ``prep_s``;
later fits of the same variant reuse its transformed data, so only the epoch loop differs
between thread counts. CPU seconds are this process's, all threads: a thread spinning at a
barrier counts, which is what makes oversubscribed torch threads visible.

    python benchmarks/bench_fit_epochs.py [--variants sdv,kept,bare] [--threads 1,2]
        [--epochs 3] [--out results.jsonl]
"""

from __future__ import annotations

import argparse
import copy
import os
import platform
import statistics
import time
import warnings
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import ctgan.synthesizers.ctgan as ctgan_module
import pandas as pd
import torch
from sdv.cag import Inequality
from sdv.single_table import CTGANSynthesizer

from cimgen.bench import emit_json_line
from cimgen.corpus import load_demo_corpus
from cimgen.features import features_frame, iter_features
from cimgen.ingest import read_stage1
from cimgen.schema import load_schema
from cimgen.structure.metadata import TABLE_NAME, build_metadata, training_frame
from cimgen.structure.synthesizers import add_constraints, resolve_params, seeded

_RealTransformer = ctgan_module.DataTransformer
_PREPARED: dict[str, Any] = {}


class _ReusedTransformer(_RealTransformer):  # type: ignore[misc,valid-type]
    """ctgan's DataTransformer, fitted and applied once per variant, then reused."""

    def fit(self, raw_data: Any, discrete_columns: Any = ()) -> None:
        if "state" not in _PREPARED:
            super().fit(raw_data, discrete_columns)
            _PREPARED["state"] = copy.deepcopy(self.__dict__)
        else:
            self.__dict__.update(copy.deepcopy(_PREPARED["state"]))

    def transform(self, raw_data: Any) -> Any:
        if "data" not in _PREPARED:
            _PREPARED["data"] = super().transform(raw_data)
        return _PREPARED["data"].copy()


class _EpochClock:
    """Stands in for the tqdm around ctgan's epoch loop; records each epoch's times."""

    def __init__(self) -> None:
        self.epochs: list[tuple[float, float]] = []
        self._iterable: Iterable[Any] = ()

    def __call__(self, iterable: Iterable[Any], *args: Any, **kwargs: Any) -> _EpochClock:
        self._iterable = iterable
        return self

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            wall, cpu = time.perf_counter(), time.process_time()
            yield item
            self.epochs.append((time.perf_counter() - wall, time.process_time() - cpu))

    def set_description(self, *args: Any, **kwargs: Any) -> None:
        """tqdm API."""

    def close(self) -> None:
        """tqdm API."""


def _fit(frame: pd.DataFrame, variant: str, epochs: int, threads: int) -> dict[str, Any]:
    params = resolve_params("ctgan", {"epochs": epochs})
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    synth = CTGANSynthesizer(build_metadata(frame), enable_gpu=False, verbose=False, **kwargs)
    constraint = [Inequality("schema_count", "table_count")]
    if variant == "sdv":
        synth.add_constraints(constraint)
    elif variant == "kept":
        add_constraints(synth, constraint)
    clock = _EpochClock()
    ctgan_module.tqdm = clock
    started = time.perf_counter()
    with seeded(0), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(threads)  # inside seeded(), which set TORCH_THREADS
        synth.fit({TABLE_NAME: frame})
    total = time.perf_counter() - started
    inner = synth._model
    return {
        "variant": variant,
        "threads": threads,
        "width": int(inner._transformer.output_dimensions),
        "discrete_columns": sum(
            i.column_type == "discrete" for i in inner._transformer._column_transform_info_list
        ),
        "fit_s": round(total, 1),
        "epoch_ms": [round(1000 * w) for w, _ in clock.epochs],
        "epoch_cpu_ms": [round(1000 * c) for _, c in clock.epochs],
        "median_epoch_ms": round(1000 * statistics.median(w for w, _ in clock.epochs)),
        "median_epoch_cpu_ms": round(1000 * statistics.median(c for _, c in clock.epochs)),
        "load_avg": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", default="sdv,kept,bare")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", help="append the JSON result lines to this file")
    args = parser.parse_args()
    pairs = iter_features(read_stage1(load_demo_corpus()), load_schema("cim_wizard"))
    frame = training_frame(features_frame(pairs))
    ctgan_module.DataTransformer = _ReusedTransformer
    head = {
        "benchmark": "fit_epochs",
        "date": datetime.now(UTC).isoformat(timespec="minutes"),
        "machine": f"{platform.processor() or platform.machine()} {os.cpu_count()} cpu",
        "train_rows": len(frame),
    }
    for variant in args.variants.split(","):
        _PREPARED.clear()
        prep_started = time.perf_counter()
        first = True
        for threads in (int(t) for t in args.threads.split(",")):
            line = {**head, **_fit(frame, variant, args.epochs, threads)}
            if first:  # the first fit of a variant prepared the data
                line["prep_s"] = round(
                    time.perf_counter() - prep_started - sum(line["epoch_ms"]) / 1000, 1
                )
                first = False
            emit_json_line(line, args.out)


if __name__ == "__main__":
    main()
