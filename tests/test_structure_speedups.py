"""cimgen.structure.speedups: each replacement draws what the loop it replaces draws, and a
fit with them is the fit without them."""

from __future__ import annotations

import pickle

import ctgan
import numpy as np
import pandas as pd
import pytest
import torch
from ctgan.data_sampler import DataSampler
from ctgan.data_transformer import DataTransformer
from rdt.transformers.numerical import ClusterBasedNormalizer

from cimgen.structure import speedups
from cimgen.structure.demo import demo_features
from cimgen.structure.metadata import TABLE_NAME
from cimgen.structure.model import fit_model


def _state() -> tuple[bytes, int]:
    _, keys, pos, *_ = np.random.get_state()
    return keys.tobytes(), int(pos)


@pytest.mark.parametrize("seed", range(6))
def test_component_choice_matches_a_choice_per_row(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 11))  # ClusterBasedNormalizer keeps up to 10 components
    probs = rng.dirichlet(np.ones(k), size=3000)
    probs[rng.random(probs.shape) < 0.4] = 0.0  # components a row cannot belong to
    np.random.seed(seed)
    expected = []
    for row in probs:
        p = row + 1e-6
        expected.append(np.random.choice(np.arange(k), p=p / p.sum()))
    after_loop = _state()
    np.random.seed(seed)
    got = speedups._choose_components(probs)
    assert got.tolist() == expected
    assert _state() == after_loop  # the generator moved exactly as far


@pytest.fixture(scope="module")
def transformed() -> tuple[DataTransformer, np.ndarray]:
    frame = demo_features(1200, seed=5).drop(columns=["id"])
    discrete = [c for c in frame.columns if frame[c].dtype == object or frame[c].dtype == bool]
    transformer = DataTransformer()
    transformer.fit(frame, discrete)
    return transformer, transformer.transform(frame)


def test_sample_data_matches_the_per_row_loop(transformed) -> None:
    transformer, data = transformed
    sampler = DataSampler(data, transformer.output_info_list, log_frequency=True)
    original = DataSampler.__dict__["sample_data"]
    for seed in range(4):
        np.random.seed(seed)
        _, _, col, opt = sampler.sample_condvec(500)
        np.random.seed(seed + 100)
        expected = original(sampler, data, 500, col, opt)
        after_loop = _state()
        np.random.seed(seed + 100)
        got = speedups._sample_data(sampler, data, 500, col, opt)
        assert np.array_equal(got, expected)
        assert _state() == after_loop
    np.random.seed(9)  # no discrete column: ctgan's own uniform rows
    expected = original(sampler, data, 7, None, None)
    np.random.seed(9)
    assert np.array_equal(speedups._sample_data(sampler, data, 7, None, None), expected)


def test_transform_matches_the_pool_and_leaves_the_transformers_alone(transformed) -> None:
    transformer, expected = transformed  # transformed by ctgan's process pool (1,200 rows)
    frame = demo_features(1200, seed=5).drop(columns=["id"])
    before = pickle.dumps(transformer)
    with speedups.fit_speedups() as on:
        assert on
        got = transformer.transform(frame)
    assert np.array_equal(got, expected)
    assert pickle.dumps(transformer) == before  # as after the pool: workers had copies


def test_a_fit_with_the_speedups_is_the_fit_without_them(monkeypatch) -> None:
    features = demo_features(1500, seed=11)
    models = {}
    for on in (False, True):
        monkeypatch.setattr(
            "cimgen.structure.model.fit_speedups", lambda on=on: speedups.fit_speedups(on)
        )
        models[on] = fit_model(features, "ctgan", {"epochs": 2}, seed=3, progress=False)
    off, on = models[False], models[True]
    assert off.manifest["loss"] == on.manifest["loss"]
    weights_off = off.synthesizer._model._generator.state_dict()
    weights_on = on.synthesizer._model._generator.state_dict()
    assert all(torch.equal(weights_off[k], weights_on[k]) for k in weights_off)
    pd.testing.assert_frame_equal(
        off.synthesizer.sample(300)[TABLE_NAME], on.synthesizer.sample(300)[TABLE_NAME]
    )


def test_refuses_other_versions_and_always_restores(monkeypatch) -> None:
    originals = {
        "sample_data": DataSampler.__dict__["sample_data"],
        "_parallel_transform": DataTransformer.__dict__["_parallel_transform"],
        "_transform": ClusterBasedNormalizer.__dict__["_transform"],
    }
    with pytest.raises(RuntimeError), speedups.fit_speedups() as on:
        assert on and DataSampler.__dict__["sample_data"] is speedups._sample_data
        raise RuntimeError("a fit that fails")
    assert DataSampler.__dict__["sample_data"] is originals["sample_data"]
    assert DataTransformer.__dict__["_parallel_transform"] is originals["_parallel_transform"]
    assert ClusterBasedNormalizer.__dict__["_transform"] is originals["_transform"]

    monkeypatch.setattr(ctgan, "__version__", "0.13.0")
    ok, why = speedups.supported()
    assert not ok and "ctgan 0.13.0 (expected 0.12.1)" in why
    with speedups.fit_speedups() as on:
        assert not on
        assert DataSampler.__dict__["sample_data"] is originals["sample_data"]
    with speedups.fit_speedups(enabled=False) as on:
        assert not on
