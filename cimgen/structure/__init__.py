"""The structure model: SDV synthesizers that learn and sample query structure vectors.

The names below are imported on first use: the CLI registers its commands with this
package's light parts (synthesizer names, devices) at start-up, and every worker process of
``cimgen generate`` imports the CLI again (``spawn``); SDV and torch cost ~2.5 s of CPU per
process that only a fit or a sample needs (issue 16).

>>> from cimgen.structure import parse_condition
>>> parse_condition("sql_type=SPATIAL_JOIN:500").count
500
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cimgen.structure.compare import compare_synthesizers, quality_scores
    from cimgen.structure.conditions import Condition, parse_condition
    from cimgen.structure.consistency import RULES, structural_violations, violation_counts
    from cimgen.structure.model import SampleResult, StructureModel, fit_model, load_model
    from cimgen.structure.synthesizers import DEFAULTS, SYNTHESIZERS

__all__ = [
    "DEFAULTS",
    "RULES",
    "SYNTHESIZERS",
    "Condition",
    "SampleResult",
    "StructureModel",
    "compare_synthesizers",
    "fit_model",
    "load_model",
    "parse_condition",
    "quality_scores",
    "structural_violations",
    "violation_counts",
]
_FROM = {
    "compare": ("compare_synthesizers", "quality_scores"),
    "conditions": ("Condition", "parse_condition"),
    "consistency": ("RULES", "structural_violations", "violation_counts"),
    "model": ("SampleResult", "StructureModel", "fit_model", "load_model"),
    "synthesizers": ("DEFAULTS", "SYNTHESIZERS"),
}
_MODULE_OF = {name: module for module, names in _FROM.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"cimgen.structure.{module}"), name)
