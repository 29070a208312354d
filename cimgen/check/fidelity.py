"""Complexity match: the re-extracted features against the structure a query was built from.

* ``CPX001`` one of the five fidelity counts (cte, join, table, schema, subquery) differs
  and the expansion did not record it as relaxed -- an error;
* ``CPX002`` another structural feature differs (aggregation, order/limit, set operation,
  window, spatial function count, primary function category, sql_type) -- a warning;
* ``CPX003`` the PostGIS SQL yields no features (does not parse) -- an error;
* ``CPX004`` a count differs as the expansion recorded (``EXP010``) -- a warning.

Labels tell the truth: ``sql_type`` and ``primary_function_category`` of the re-extracted
features are derived from the SQL (docs/features.md), never copied from the sampled
structure; only the metadata labels (difficulty, tone, usage) are carried over.
"""

from __future__ import annotations

from cimgen.check.base import CheckContext, Subject
from cimgen.codes import CPX001, CPX002, CPX003, CPX004, finding
from cimgen.features import SQLParseError, extract_features
from cimgen.models import FIDELITY_COUNTS, Finding

# metadata labels a generated query carries from its structure (not readable from SQL)
LABELS = ("difficulty_level", "question_tone", "usage_frequency")
SECONDARY = (
    "aggregation",
    "order_limit",
    "set_operation",
    "has_window",
    "spatial_function_count",
    "primary_function_category",
    "sql_type",
)


def check_complexity(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """CPX001-CPX003: re-extract features from the PostGIS SQL and compare."""
    try:
        # the postgres_parse check's tree when it ran (one parse of the SQL per candidate);
        # the metadata labels come from the structure, sql_type is derived from the tree
        labels = {k: getattr(subject.structure, k) for k in LABELS} if subject.structure else None
        subject.features = extract_features(subject.sql, ctx.schema, labels, stmt=subject.pg_select)
    except SQLParseError as exc:
        return [finding(CPX003, f"no features: {exc}")]
    if subject.structure is None:
        return []
    found: list[Finding] = []
    for name, (want, got) in subject.structure.mismatches(
        subject.features, FIDELITY_COUNTS
    ).items():
        if name in subject.relaxed:
            found.append(
                finding(
                    CPX004,
                    f"{name}: asked {want}, built {got} (relaxed)",
                    "warning",
                )
            )
        else:
            found.append(finding(CPX001, f"{name}: asked {want}, built {got}"))
    for name, (want, got) in subject.structure.mismatches(subject.features, SECONDARY).items():
        found.append(finding(CPX002, f"{name}: asked {want}, built {got}", "warning"))
    return found
