"""Faster, draw-for-draw equivalents of three loops in a CTGAN/TVAE fit (issue 16).

Profiled on the bundled corpus's 10,000 feature rows (docs/BENCHMARKS.md "Structure model:
fit time, tenth pass"), a fit spends time outside the network in three places that this
module replaces while the fit runs, and only while it runs (:func:`fit_speedups`):

* ctgan's ``DataTransformer._parallel_transform`` sends each column to a joblib (loky)
  process pool: on a 2-core box starting the pool and importing pandas, sklearn and rdt in
  each worker cost more than the transform itself. Here the columns are transformed in this
  process, each on a copy of its fitted transformer, as a worker would receive it (pickled),
  so the fitted model keeps the transformers' states exactly as the pool left them.
* rdt's ``ClusterBasedNormalizer._transform`` draws each row's mixture component with one
  ``np.random.choice(k, p=row)`` call per row (80,000 calls for 8 continuous columns). The
  replacement draws the same uniforms with one ``random_sample(n)`` and looks them up in the
  same normalised cumulative sums, as ``RandomState.choice`` does for each call.
* ctgan's ``DataSampler.sample_data`` picks each of a batch's 500 training rows with one
  ``np.random.choice(rows)`` call; ``RandomState.choice`` without ``p`` is
  ``randint(0, len(rows))``, and one ``randint(0, lengths)`` draws the same integers.

numpy's legacy ``RandomState`` streams are frozen (NEP 19), so each replacement consumes the
global generator exactly as the loop it replaces and returns the same values: the fitted
model of a seed is unchanged (tests/test_structure_speedups.py checks values and generator
state against the originals). The replacements copy code from ctgan 0.12.1 and rdt 2.0.0;
with any other version installed nothing is replaced (:func:`supported` says why).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

# The versions whose code the replacements were copied from (and checked against).
PINNED = {"ctgan": "0.12.1", "rdt": "2.0.0"}


def supported() -> tuple[bool, str]:
    """Whether the installed ctgan and rdt are the versions the replacements copy, and if
    not, which one differs."""
    import ctgan
    import rdt

    found = {"ctgan": ctgan.__version__, "rdt": rdt.__version__}
    wrong = [f"{k} {found[k]} (expected {v})" for k, v in PINNED.items() if found[k] != v]
    return (not wrong, "; ".join(wrong) or "ok")


def _in_process_transform(self: Any, raw_data: Any, column_transform_info_list: Any) -> Any:
    """``DataTransformer._parallel_transform`` without the process pool: each column is
    transformed by a copy of its fitted transformer, as a pool worker receives one."""
    return self._synchronous_transform(raw_data, copy.deepcopy(column_transform_info_list))


def _choose_components(component_probs: np.ndarray) -> np.ndarray:
    """One component per row, drawn as ``np.random.choice(np.arange(k), p=p)`` for each
    row ``p = (probs + 1e-6) / sum``: a uniform per row, in row order, searched in the row's
    cumulative sum divided by its last value (``RandomState.choice``'s own steps)."""
    probs = component_probs + 1e-6
    probs = probs / probs.sum(axis=1, keepdims=True)
    cdf = probs.cumsum(axis=1)
    cdf /= cdf[:, -1:]
    uniform = np.random.random_sample(len(probs))
    # searchsorted(cdf_row, u, side="right") == how many of the row's cdf values are <= u
    # (u < 1 = cdf[:, -1], so the count is at most n_valid - 1)
    return (cdf <= uniform[:, None]).sum(axis=1).astype("int")


def _cluster_transform(self: Any, data: Any) -> np.ndarray:
    """rdt 2.0.0 ``ClusterBasedNormalizer._transform`` with the per-row choice loop drawn by
    :func:`_choose_components`; every other line as rdt has it."""
    from rdt.transformers.numerical import FloatFormatter

    data = FloatFormatter._transform(self, data)
    if data.ndim > 1:
        data, model_missing_values = data[:, 0], data[:, 1]

    data = data.reshape((len(data), 1))
    means = self._bgm_transformer.means_.reshape((1, self.max_clusters))
    means = means[:, self.valid_component_indicator]
    stds = np.sqrt(self._bgm_transformer.covariances_).reshape((1, self.max_clusters))
    stds = stds[:, self.valid_component_indicator]

    normalized_values = (data - means) / (self.STD_MULTIPLIER * stds)
    component_probs = self._bgm_transformer.predict_proba(data)
    component_probs = component_probs[:, self.valid_component_indicator]
    selected_component = _choose_components(component_probs)

    aranged = np.arange(len(data))
    normalized = normalized_values[aranged, selected_component].reshape([-1, 1])
    normalized = np.clip(normalized, -0.99, 0.99)
    normalized = normalized[:, 0]
    rows = [normalized, selected_component]
    if self.null_transformer and self.null_transformer.models_missing_values():
        rows.append(model_missing_values)
    return np.stack(rows, axis=1)


def _sample_data(self: Any, data: np.ndarray, n: int, col: Any, opt: Any) -> np.ndarray:
    """ctgan 0.12.1 ``DataSampler.sample_data`` with its per-row ``np.random.choice`` loop as
    one ``np.random.randint(0, lengths)`` (the same integers, in the same order)."""
    if col is None:
        idx = np.random.randint(len(data), size=n)
        return data[idx]
    rows = [self._rid_by_cat_cols[c][o] for c, o in zip(col, opt, strict=True)]
    if not rows:
        return data[[]]
    picks = np.random.randint(0, np.array([len(r) for r in rows]))
    return data[[r[i] for r, i in zip(rows, picks, strict=True)]]


def _targets() -> list[tuple[Any, str, Any]]:
    from ctgan.data_sampler import DataSampler
    from ctgan.data_transformer import DataTransformer
    from rdt.transformers.numerical import ClusterBasedNormalizer

    return [
        (DataTransformer, "_parallel_transform", _in_process_transform),
        (ClusterBasedNormalizer, "_transform", _cluster_transform),
        (DataSampler, "sample_data", _sample_data),
    ]


@contextlib.contextmanager
def fit_speedups(enabled: bool = True) -> Iterator[bool]:
    """Install the replacements for the duration of a fit; yields whether they are in place
    (False when ``enabled`` is False or the installed ctgan/rdt are not :data:`PINNED`)."""
    if not enabled or not supported()[0]:
        yield False
        return
    targets = _targets()
    originals = [(cls, name, cls.__dict__[name]) for cls, name, _ in targets]
    try:
        for cls, name, replacement in targets:
            setattr(cls, name, replacement)
        yield True
    finally:
        for cls, name, original in originals:
            setattr(cls, name, original)
