"""The whole Stage 2 in one call (``cimgen generate``); see :mod:`cimgen.generate.pipeline`."""

from cimgen.generate.options import GenerateOptions, load_config
from cimgen.generate.pipeline import GenerateResult, run_generate

__all__ = ["GenerateOptions", "GenerateResult", "load_config", "run_generate"]
