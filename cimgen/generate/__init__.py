"""The whole Stage 2 in one call (``cimgen generate``); see :mod:`cimgen.generate.pipeline`.

``run_generate`` and ``GenerateResult`` are imported on first use: every worker process
imports :mod:`cimgen.generate.work` (through this package), and the pipeline behind them
imports the structure stage, SDV and torch -- ~3 s of CPU per worker that a worker never
uses (issue 16).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from cimgen.generate.options import GenerateOptions, load_config

if TYPE_CHECKING:
    from cimgen.generate.pipeline import GenerateResult, run_generate

__all__ = ["GenerateOptions", "GenerateResult", "load_config", "run_generate"]
_FROM_PIPELINE = ("GenerateResult", "run_generate")


def __getattr__(name: str) -> Any:
    if name in _FROM_PIPELINE:
        return getattr(importlib.import_module("cimgen.generate.pipeline"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
