"""The four SDV synthesizers, their documented defaults, config overrides, the torch device
they run on, and the seeding that makes a fit repeatable.

Defaults are in code (docs/structure.md explains each); a config file
(``synthesizer: {ctgan: {epochs: 100}}``, YAML or JSON) and ``--epochs`` override them.
Unknown keys are rejected with the file and key named.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cimgen.config import read_config
from cimgen.errors import ConfigError

if TYPE_CHECKING:
    from sdv.metadata import Metadata
    from sdv.single_table.base import BaseSingleTableSynthesizer

# SDV and torch are imported where a synthesizer is made, placed or seeded, not at module
# import: the CLI reads the names and devices below at start-up, in every worker process of
# `cimgen generate` too (~2.5 s of CPU each; issue 16).

_COMMON = {"enforce_min_max_values": True, "enforce_rounding": True}
_GAN = {
    "epochs": 300,
    "batch_size": 500,
    "embedding_dim": 128,
    "generator_dim": [256, 256],
    "discriminator_dim": [256, 256],
    "generator_lr": 2e-4,
    "generator_decay": 1e-6,
    "discriminator_lr": 2e-4,
    "discriminator_decay": 1e-6,
    "discriminator_steps": 1,
    "log_frequency": True,
    "pac": 10,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "ctgan": {**_COMMON, **_GAN},
    "tvae": {
        **_COMMON,
        "epochs": 300,
        "batch_size": 500,
        "embedding_dim": 128,
        "compress_dims": [128, 128],
        "decompress_dims": [128, 128],
        "l2scale": 1e-5,
        "loss_factor": 2,
    },
    # counts "empirical": each count keeps the training frequencies of its values (below)
    "gaussian_copula": {**_COMMON, "default_distribution": "beta", "counts": "empirical"},
    "copulagan": {**_COMMON, **_GAN, "default_distribution": "beta"},
}
SYNTHESIZERS = tuple(DEFAULTS)
NEURAL = ("ctgan", "tvae", "copulagan")  # trained in epochs, with a loss curve


def _classes() -> dict[str, type[BaseSingleTableSynthesizer]]:
    """The SDV class each synthesizer name stands for."""
    from sdv.single_table import (
        CopulaGANSynthesizer,
        CTGANSynthesizer,
        GaussianCopulaSynthesizer,
        TVAESynthesizer,
    )

    return {
        "ctgan": CTGANSynthesizer,
        "tvae": TVAESynthesizer,
        "gaussian_copula": GaussianCopulaSynthesizer,
        "copulagan": CopulaGANSynthesizer,
    }


_DISTRIBUTIONS = ("norm", "beta", "truncnorm", "uniform", "gamma", "gaussian_kde")
_COUNTS = ("empirical", "fitted")
_OWN = ("counts",)  # cimgen's keys, not arguments of the SDV class


def check_name(name: str) -> str:
    if name not in DEFAULTS:
        raise ConfigError(f"unknown synthesizer {name!r}. Use one of {', '.join(SYNTHESIZERS)}.")
    return name


def resolve_params(
    name: str, overrides: Mapping[str, Any] | None = None, where: str = "parameters"
) -> dict[str, Any]:
    """Defaults of ``name`` updated with ``overrides``; unknown keys and wrong types raise
    :class:`ConfigError` naming ``where`` and the key."""
    params = dict(DEFAULTS[check_name(name)])
    for key, value in (overrides or {}).items():
        if key not in params:
            raise ConfigError(
                f"{where}: unknown key {key!r} for {name}. Valid keys: {', '.join(sorted(params))}."
            )
        params[key] = _check_type(name, key, value, params[key], where)
    if name in ("ctgan", "copulagan") and params["batch_size"] % params["pac"]:
        raise ConfigError(
            f"{where}: {name} batch_size {params['batch_size']} is not a multiple "
            f"of pac {params['pac']}. Pick a batch_size divisible by pac."
        )
    if "default_distribution" in params and params["default_distribution"] not in _DISTRIBUTIONS:
        raise ConfigError(
            f"{where}: default_distribution {params['default_distribution']!r} "
            f"is not one of {', '.join(_DISTRIBUTIONS)}."
        )
    if "counts" in params and params["counts"] not in _COUNTS:
        raise ConfigError(
            f"{where}: {name}.counts = {params['counts']!r} is not one of {', '.join(_COUNTS)}."
        )
    return params


def _check_type(name: str, key: str, value: Any, default: Any, where: str) -> Any:
    def bad(kind: str) -> ConfigError:
        return ConfigError(
            f"{where}: {name}.{key} = {value!r} is not {kind}. The default is {default!r}."
        )

    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad("true or false")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad("a whole number >= 1")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise bad("a number >= 0")
        return float(value)
    if isinstance(default, list):
        if (
            not isinstance(value, list | tuple)
            or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
        ):
            raise bad("a list of layer sizes such as [256, 256]")
        return [int(v) for v in value]
    if not isinstance(value, str):
        raise bad("a string")
    return value


def load_config(path: Path) -> dict[str, dict[str, Any]]:
    """``{synthesizer name: overrides}`` from a YAML or JSON config file."""
    data = read_config(path)  # other sections (generate, checks, score) are not ours
    section = data.get("synthesizer") or {}
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: 'synthesizer' must map synthesizer names to parameters.")
    out: dict[str, dict[str, Any]] = {}
    for name, overrides in section.items():
        if name not in DEFAULTS:
            raise ConfigError(
                f"{path}: unknown key 'synthesizer.{name}'. "
                f"Valid synthesizers: {', '.join(SYNTHESIZERS)}."
            )
        if not isinstance(overrides, dict):
            raise ConfigError(f"{path}: 'synthesizer.{name}' must be a mapping of parameters.")
        resolve_params(name, overrides, where=f"{path}: synthesizer")  # validate now
        out[name] = dict(overrides)
    return out


def make_synthesizer(
    name: str,
    metadata: Metadata,
    params: Mapping[str, Any],
    verbose: bool = False,
    device: str = "cpu",
) -> BaseSingleTableSynthesizer:
    """An unfitted SDV synthesizer; a neural one trains on ``device`` (see resolve_device)."""
    kwargs = {k: v for k, v in params.items() if k not in _OWN}
    for key in ("generator_dim", "discriminator_dim", "compress_dims", "decompress_dims"):
        if key in kwargs:
            kwargs[key] = tuple(kwargs[key])
    if name in NEURAL:
        kwargs["enable_gpu"] = device == "cuda"
        kwargs["verbose"] = verbose
    return _classes()[name](metadata, **kwargs)


def add_constraints(synthesizer: BaseSingleTableSynthesizer, constraints: list[Any]) -> None:
    """``synthesizer.add_constraints(constraints)``, keeping the synthesizer's own transformers.

    SDV 2.0's ``add_constraints`` replaces the data processor with a default one and does
    not re-apply the model's sdtype transformers (CTGAN/TVAE/CopulaGAN: categorical and
    boolean columns pass through untransformed, so CTGAN one-hot encodes them and samples
    its conditional vector over them). Without this, every category reached CTGAN as a
    uniform-encoded float modelled as a continuous column (a Bayesian GMM each): a wider
    network, no training-by-sampling, and about 3× the data preparation. SDV's constructor
    calls the same hook; for GaussianCopula it does nothing.
    """
    synthesizer.add_constraints(constraints)
    synthesizer._update_default_transformers()


def empirical_counts(params: Mapping[str, Any]) -> bool:
    """Whether a fit with ``params`` draws the counts from their training frequencies."""
    return params.get("counts") == "empirical"


def encode_counts(synthesizer: BaseSingleTableSynthesizer, frame: Any, columns: Any) -> None:
    """Give each count column of a GaussianCopula an ordered uniform encoding: value ``v``
    becomes a uniform draw in ``[F(v-), F(v))`` of its training CDF ``F``, so the copula's
    marginal of the count is its training frequencies exactly, and the order (0 < 1 < 2)
    keeps the correlations the copula learns monotone.

    A fitted marginal (``counts: fitted``, the ``default_distribution``) fails on a small,
    skewed count: on the 79-record foreign corpus (tests/foreign/), whose subquery_count is
    0 in 78 records, a beta fit drew 1 in every row and 2 CTEs in 51 % of them (corpus:
    1 record); on the bundled corpus it drew 0.2 % CTE rows against 7.4 %
    (docs/BENCHMARKS.md, "Five counts on a foreign world: fourteenth pass").
    """
    from rdt.transformers import OrderedUniformEncoder

    synthesizer.auto_assign_transformers({"features": frame})
    synthesizer.update_transformers(
        {c: OrderedUniformEncoder(order=sorted(frame[c].unique().tolist())) for c in columns}
    )


def is_fitted_synthesizer(obj: Any, name: str) -> bool:
    """Whether ``obj`` is a fitted SDV synthesizer of the class ``name`` stands for (an
    unpickled cache entry is checked before it is used)."""
    return type(obj) is _classes()[check_name(name)] and bool(getattr(obj, "_fitted", False))


# --------------------------------------------------------------------------- device

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str, name: str | None = None) -> str:
    """``cpu`` or ``cuda``: where a fit and its sampling run (the plan's ``cuda=True``).

    ``auto`` takes CUDA when torch sees one; ``cuda`` without one is a :class:`ConfigError`.
    GaussianCopula (``name`` not neural) has no network to place, so it is always ``cpu``.
    """
    if requested not in DEVICES:
        raise ConfigError(f"--device {requested!r}: use one of {', '.join(DEVICES)}.")
    import torch

    cuda = torch.cuda.is_available()
    if requested == "cuda" and not cuda:
        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
        raise ConfigError(
            f"--device cuda: torch {torch.__version__} ({build}) sees no CUDA device. "
            "Use --device cpu or auto, or install a CUDA build of torch on a machine with a GPU."
        )
    if name is not None and name not in NEURAL:
        return "cpu"
    if requested == "auto":
        return "cuda" if cuda else "cpu"
    return requested


def place(synthesizer: Any, device: str) -> None:
    """Move a fitted neural synthesizer's network to ``device``. Unpickling puts ctgan's
    networks on CUDA whenever there is one; sampling must run where the run asked (CPU and
    GPU draws differ for the same seed)."""
    inner = getattr(synthesizer, "_model", None)
    if inner is not None and hasattr(inner, "set_device"):
        import torch

        inner.set_device(torch.device(device))


# --------------------------------------------------------------------------- seeding


# Torch threads for fitting and sampling. A fixed number, not the machine's core count:
# float reductions depend on it (the same seed gives other weights on 1 and 2 threads), so
# a fixed value keeps a seed's model identical across machines. One, because CTGAN's
# matrices are small (batch 500, layers of 256): two threads meet at a barrier in every op,
# and as soon as another process wants a core one of them waits for it while the other
# spins. On the shared 2-core box (load 9-17) two threads took 8x the wall time and 11x
# the CPU of one per epoch; on an idle box two were ~23 % faster (0.67 vs 0.87 s per
# epoch, 2026-11-25). docs/BENCHMARKS.md "Structure model: fit time (issue 16)".
TORCH_THREADS = 1


@contextlib.contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Seed python, numpy and torch's global generators (CTGAN/TVAE draw from them), run
    on TORCH_THREADS torch threads, then restore the previous global state so callers'
    randomness is untouched."""
    import torch

    py_state, np_state = random.getstate(), np.random.get_state()
    torch_state, threads = torch.get_rng_state(), torch.get_num_threads()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # seeds every CUDA device too
    torch.set_num_threads(TORCH_THREADS)
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)
        torch.set_rng_state(torch_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
        torch.set_num_threads(threads)
