"""The structure model: SDV synthesizers that learn and sample query structure vectors.

>>> from cimgen.structure import parse_condition
>>> parse_condition("sql_type=SPATIAL_JOIN:500").count
500
"""

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
