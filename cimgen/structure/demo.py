"""A deterministic, internally consistent feature table for tests and benchmarks.

Real training features come from :mod:`cimgen.features` over a Stage 1 corpus; this table
stands in where no corpus is at hand (unit tests, benchmarks at 10,000 rows). Its columns
are correlated the way real queries are (more tables -> more joins and schemas, spatial
types -> spatial functions, complexity -> difficulty) and every row passes
:mod:`cimgen.structure.consistency`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from cimgen import seeds
from cimgen.models import FEATURE_NAMES, NUMERIC_FEATURES
from cimgen.structure.consistency import NEVER_NESTED, complexity_of, schema_complexity_of

_TYPES = {  # sql_type: (weight, table range, spatial function range, category)
    "SIMPLE_SELECT": (0.33, (1, 2), (0, 2), "accessors"),
    "MULTI_JOIN": (0.15, (3, 5), (0, 3), "predicates"),
    "NESTED_QUERY": (0.13, (1, 4), (0, 3), "measurements"),
    "SPATIAL_MEASUREMENT": (0.11, (1, 2), (1, 4), "measurements"),
    "AGGREGATION": (0.10, (1, 2), (0, 2), "measurements"),  # one join at most (STR014)
    "RASTER_VECTOR": (0.09, (2, 3), (1, 4), "raster"),
    "SPATIAL_JOIN": (0.06, (2, 3), (1, 3), "predicates"),
    "SPATIAL_CLUSTERING": (0.03, (1, 2), (1, 3), "clustering"),
}
_CATEGORIES = ("predicates", "measurements", "processing", "accessors", "constructors")
_TONES = ("DIRECT", "ANALYTICAL", "AGGREGATE", "SPATIAL_SPECIFIC", "TEMPORAL", "INTERROGATIVE")


def demo_features(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    """``rows`` feature vectors with an ``id`` column first; same seed => same frame.

    >>> demo_features(5, seed=1).columns[0]
    'id'
    """
    rng = seeds.numpy_rng(seed, "demo")
    names = list(_TYPES)
    weights = np.array([t[0] for t in _TYPES.values()])
    records = []
    for i in range(rows):
        sql_type = names[rng.choice(len(names), p=weights / weights.sum())]
        _, (t_lo, t_hi), (f_lo, f_hi), category = _TYPES[sql_type]
        tables = int(rng.integers(t_lo, t_hi + 1))
        schemas = 1 if tables == 1 else int(rng.integers(1, min(3, tables) + 1))
        joins = tables - 1
        fewer = sql_type != "MULTI_JOIN" and rng.random() < 0.1
        ctes = subqueries = 0
        if sql_type == "NESTED_QUERY":
            ctes = int(rng.integers(0, 3))
            subqueries = int(rng.integers(1 if ctes == 0 else 0, 3))
        elif rng.random() < 0.08 and sql_type not in NEVER_NESTED:  # STR013
            ctes = 1
        if fewer and ctes + subqueries:
            joins = max(tables - 2, 0)  # a table of the CTE or subquery (STR012)
        functions = int(rng.integers(f_lo, f_hi + 1))
        if sql_type in ("SIMPLE_SELECT", "AGGREGATION") and rng.random() < 0.6:
            functions = 0
        if functions == 0:
            category = "none"
        elif rng.random() < 0.25 and sql_type not in ("RASTER_VECTOR", "SPATIAL_CLUSTERING"):
            category = _CATEGORIES[int(rng.integers(len(_CATEGORIES)))]
        if sql_type == "AGGREGATION":
            aggregation = ("AGGREGATE", "GROUP_BY", "GROUP_BY_HAVING")[int(rng.integers(3))]
        elif sql_type == "SPATIAL_CLUSTERING" or rng.random() < 0.1:
            aggregation = "GROUP_BY"
        else:
            aggregation = "NONE"
        predicates = int(rng.integers(1 if aggregation == "GROUP_BY_HAVING" else 0, 5))
        window = sql_type == "SPATIAL_CLUSTERING" or rng.random() < 0.04
        row: dict[str, Any] = {
            "id": f"demo_{i:06d}",
            "cte_count": ctes,
            "join_count": joins,
            "subquery_count": subqueries,
            "spatial_function_count": functions,
            "table_count": tables,
            "schema_count": schemas,
            "predicate_count": predicates,
            "sql_type": sql_type,
            "usage_frequency": "frequent" if rng.random() < 0.55 else "low_frequent",
            "question_tone": _TONES[int(rng.integers(len(_TONES)))],
            "primary_function_category": category,
            "aggregation": aggregation,
            "order_limit": ("NONE", "ORDER", "LIMIT", "ORDER_LIMIT")[int(rng.integers(4))],
            "set_operation": "UNION" if rng.random() < 0.03 else "NONE",
            "has_window": bool(window),
        }
        row["schema_complexity"] = schema_complexity_of(row)
        score = int(complexity_of(row))
        row["complexity_score"] = score
        row["difficulty_level"] = (
            "EASY" if score <= 2 else "MEDIUM" if score <= 4 else "HARD" if score <= 7 else "EXPERT"
        )
        records.append(row)
    frame = pd.DataFrame.from_records(records, columns=["id", *FEATURE_NAMES])
    return frame.astype({c: "int64" for c in NUMERIC_FEATURES} | {"has_window": "bool"})
