"""Structural consistency rules for feature vectors, each a small named rule with a stable code.

A sampled structure must describe a query that can exist: a join needs two relations, a
NESTED_QUERY needs a CTE or a subquery, and so on. SDV learns these relations only
approximately, so every sampled row passes through :func:`repair_and_filter`: rules with a
*repair* fix derived values (e.g. ``schema_complexity`` follows from the counts), rules with
``reject`` drop the row (the sampler then draws more, within a bound). Every repair and
rejection is counted per rule code, so the report can say why rows changed.

Each rule's ``ok`` is written with comparisons, ``&`` and ``|`` only, so the same function
checks one row (a mapping of Python scalars) and a whole DataFrame (column Series) at once.
This module is the single source of the rules; docs/structure.md lists them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cimgen.codes import (
    STR001,
    STR002,
    STR003,
    STR004,
    STR005,
    STR006,
    STR007,
    STR008,
    STR009,
    STR010,
    STR011,
    STR012,
    STR013,
    STR014,
)
from cimgen.features import FLAT_SQL_TYPES, SPATIAL_SQL_TYPES, schema_complexity_for
from cimgen.features import complexity_score as features_complexity
from cimgen.models import NUMERIC_FEATURES, QueryFeatures

# labels the sql_type rule never gives a query with a CTE or subquery and the corpora never
# nest (STR013); RASTER_VECTOR and SPATIAL_CLUSTERING outrank nesting in the rule
NEVER_NESTED = ("SIMPLE_SELECT", "AGGREGATION", "MULTI_JOIN", "SPATIAL_JOIN")

Row = Any  # a pandas DataFrame (vectorised) or a mapping of scalars (one row)


def _in(value: Any, allowed: tuple[str, ...]) -> Any:
    if isinstance(value, pd.Series):
        return value.isin(allowed)
    return value in allowed


def _not(value: Any) -> Any:
    return value == False  # noqa: E712 - works for Series and for scalars, unlike ``not``/``~``


# --------------------------------------------------------------------------- derived values

_COMPLEXITY_INPUTS = (
    "cte_count",
    "join_count",
    "subquery_count",
    "spatial_function_count",
    "aggregation",
    "has_window",
    "set_operation",
    "schema_count",
)


def _per_combination(
    df: pd.DataFrame, columns: tuple[str, ...], fn: Callable[..., Any]
) -> pd.Series:
    """Apply a one-row function over a frame by evaluating it once per distinct combination
    of its inputs (a few hundred at most), which keeps :mod:`cimgen.features` the single
    source of the formula while costing milliseconds on 75,000 rows."""
    keys = df[list(columns)]
    combos = keys.drop_duplicates()
    values = [fn(dict(zip(columns, row, strict=True))) for row in combos.itertuples(index=False)]
    table = combos.assign(_value=values)
    merged = keys.merge(table, how="left", on=list(columns))
    return pd.Series(merged["_value"].to_numpy(), index=df.index)


def _complexity_one(d: Mapping[str, Any]) -> int:
    return features_complexity(QueryFeatures.from_dict(dict(d)))


def complexity_of(d: Row) -> Any:
    """``complexity_score`` of docs/features.md for one row or a whole frame
    (:func:`cimgen.features.complexity_score` is the formula)."""
    if isinstance(d, pd.DataFrame):
        return _per_combination(d, _COMPLEXITY_INPUTS, _complexity_one).astype("int64")
    return _complexity_one(d)


def schema_complexity_of(d: Row) -> Any:
    """SINGLE_TABLE when one table, MULTI_SCHEMA when several schemas, else SINGLE_SCHEMA
    (:func:`cimgen.features.schema_complexity_for`)."""
    if isinstance(d, pd.DataFrame):
        return _per_combination(
            d,
            ("table_count", "schema_count"),
            lambda r: schema_complexity_for(int(r["table_count"]), int(r["schema_count"])),
        )
    return schema_complexity_for(int(d["table_count"]), int(d["schema_count"]))


# --------------------------------------------------------------------------- rules

Repair = Callable[[pd.DataFrame], None]


@dataclass(frozen=True)
class Rule:
    """One consistency rule. ``repair`` fixes the frame in place (only called on bad rows);
    without one, a bad row is rejected."""

    code: str
    name: str
    description: str
    ok: Callable[[Row], Any]
    repair: Callable[[pd.DataFrame], pd.DataFrame] | None = None


def _repair_schema_count(df: pd.DataFrame) -> pd.DataFrame:
    df["schema_count"] = np.minimum(df["schema_count"], df["table_count"])
    return df


def _repair_schema_complexity(df: pd.DataFrame) -> pd.DataFrame:
    df["schema_complexity"] = schema_complexity_of(df)
    return df


def _repair_window(df: pd.DataFrame) -> pd.DataFrame:
    df["has_window"] = True
    return df


def _repair_complexity(df: pd.DataFrame) -> pd.DataFrame:
    df["complexity_score"] = complexity_of(df)
    return df


def _unjoined(d: Row) -> Any:
    """Tables a structure's joins and nesting cannot hold: each would be a comma product."""
    return d["table_count"] - 1 - d["join_count"] - d["cte_count"] - d["subquery_count"]


def _repair_unjoined(df: pd.DataFrame) -> pd.DataFrame:
    """Join the tables a comma product would have held -- or, where the label allows one
    join at most (FLAT_SQL_TYPES without nesting: two joins make the rule say MULTI_JOIN),
    join one and drop the rest. ``predicate_count`` shrinks by the joins added (a comma
    item's link is a WHERE leaf, a join's is in its ON; a GROUP_BY_HAVING keeps its HAVING
    leaf); the schema count, schema complexity and complexity follow the new counts (their
    rules ran before this one)."""
    nested = df["cte_count"] + df["subquery_count"]
    flat = df["sql_type"].isin(FLAT_SQL_TYPES) & (nested == 0)
    wanted = df["join_count"] + _unjoined(df)
    joins = np.where(flat, np.minimum(wanted, 1), wanted)
    floor = np.where(df["aggregation"] == "GROUP_BY_HAVING", 1, 0)
    df["predicate_count"] = np.maximum(df["predicate_count"] - (joins - df["join_count"]), floor)
    df["join_count"] = joins
    df["table_count"] = np.minimum(df["table_count"], 1 + joins + nested)
    df["schema_count"] = np.minimum(df["schema_count"], df["table_count"])
    return _repair_complexity(_repair_schema_complexity(df))


# Order matters: repairs run first to last (complexity after the counts it reads; STR012,
# which changes a count after it, recomputes the complexity itself).
RULES: tuple[Rule, ...] = (
    Rule(
        STR001,
        "join_needs_relations",
        "join_count > 0 needs at least two relations (tables, CTEs or subqueries) and at "
        "most table_count + cte_count + subquery_count - 1 joins",
        lambda d: (
            (d["join_count"] == 0)
            | (d["join_count"] <= d["table_count"] + d["cte_count"] + d["subquery_count"] - 1)
        ),
    ),
    Rule(
        STR002,
        "schemas_within_tables",
        "1 <= schema_count <= table_count",
        lambda d: (d["schema_count"] <= d["table_count"]) & (d["schema_count"] >= 1),
        _repair_schema_count,
    ),
    Rule(
        STR003,
        "schema_complexity_matches_counts",
        "SINGLE_TABLE iff table_count 1; SINGLE_SCHEMA iff schema_count 1 with more tables; "
        "MULTI_SCHEMA iff schema_count > 1",
        lambda d: d["schema_complexity"] == schema_complexity_of(d),
        _repair_schema_complexity,
    ),
    Rule(
        STR004,
        "spatial_type_needs_function",
        "a spatial sql_type (SPATIAL_JOIN, SPATIAL_MEASUREMENT, RASTER_VECTOR, "
        "SPATIAL_CLUSTERING) needs spatial_function_count >= 1",
        lambda d: _not(_in(d["sql_type"], SPATIAL_SQL_TYPES)) | (d["spatial_function_count"] >= 1),
    ),
    Rule(
        STR005,
        "function_category_matches_count",
        "primary_function_category 'none' iff spatial_function_count 0",
        lambda d: (d["primary_function_category"] == "none") == (d["spatial_function_count"] == 0),
    ),
    Rule(
        STR006,
        "clustering_is_windowed",
        "SPATIAL_CLUSTERING implies has_window (clustering functions are window functions)",
        lambda d: (d["sql_type"] != "SPATIAL_CLUSTERING") | (d["has_window"] == True),  # noqa: E712
        _repair_window,
    ),
    Rule(
        STR007,
        "nested_needs_nesting",
        "NESTED_QUERY needs cte_count + subquery_count >= 1",
        lambda d: (d["sql_type"] != "NESTED_QUERY") | (d["cte_count"] + d["subquery_count"] >= 1),
    ),
    Rule(
        STR008,
        "aggregation_matches_type",
        "sql_type AGGREGATION needs aggregation other than NONE; GROUP_BY_HAVING needs "
        "predicate_count >= 1 (the HAVING predicate)",
        lambda d: (
            ((d["sql_type"] != "AGGREGATION") | (d["aggregation"] != "NONE"))
            & ((d["aggregation"] != "GROUP_BY_HAVING") | (d["predicate_count"] >= 1))
        ),
    ),
    Rule(
        STR009,
        "multi_join_has_joins",
        "MULTI_JOIN needs join_count >= 2",
        lambda d: (d["sql_type"] != "MULTI_JOIN") | (d["join_count"] >= 2),
    ),
    Rule(
        STR010,
        "complexity_matches_formula",
        "complexity_score equals the formula of docs/features.md",
        lambda d: d["complexity_score"] == complexity_of(d),
        _repair_complexity,
    ),
    Rule(
        STR012,
        "tables_are_joined",
        "table_count <= 1 + join_count + cte_count + subquery_count: a table beyond the "
        "joins and nesting would be a comma product (FROM a JOIN b ON ..., c WHERE ...), "
        "which the Stage 1 corpora use only for pairs of one table and analysts rarely "
        "write (the expander builds no set operation that could hold it); repaired into "
        "joins (one join at most for a flat label, the other tables dropped)",
        lambda d: _unjoined(d) <= 0,
        _repair_unjoined,
    ),
    Rule(
        STR013,
        "flat_type_has_no_nesting",
        "SIMPLE_SELECT, AGGREGATION, MULTI_JOIN and SPATIAL_JOIN have no CTE or subquery: "
        "the sql_type rule (docs/features.md) calls a query with one NESTED_QUERY, and the "
        "Stage 1 corpora never nest under these labels (a measurement in a CTE they do "
        "label SPATIAL_MEASUREMENT); the expander would drop the nesting or the label",
        lambda d: (
            _not(_in(d["sql_type"], NEVER_NESTED)) | (d["cte_count"] + d["subquery_count"] == 0)
        ),
    ),
    Rule(
        STR014,
        "flat_type_has_one_join",
        "SIMPLE_SELECT, AGGREGATION and SPATIAL_MEASUREMENT without nesting have one join "
        "at most: the sql_type rule calls a flat query with two joins MULTI_JOIN, and the "
        "Stage 1 corpora never join twice under these labels; the expander would drop the "
        "joins or the label",
        lambda d: (
            _not(_in(d["sql_type"], FLAT_SQL_TYPES))
            | (d["cte_count"] + d["subquery_count"] > 0)
            | (d["join_count"] <= 1)
        ),
    ),
)
RANGE_CODE = STR011  # counts outside the ranges seen in training (needs the ranges: not in RULES)
RULE_CODES = (*(r.code for r in RULES), RANGE_CODE)


def structural_violations(
    f: QueryFeatures | Mapping[str, Any], ranges: Mapping[str, tuple[int, int]] | None = None
) -> list[str]:
    """Codes of the rules one structure breaks (``[]`` when consistent). A join over one
    table breaks STR001; its ``complexity_score`` left at 0 is not the formula's (STR010):

    >>> structural_violations(QueryFeatures(join_count=1, table_count=1))
    ['STR001', 'STR010']
    """
    d = f.to_dict() if isinstance(f, QueryFeatures) else dict(f)
    codes = [r.code for r in RULES if not bool(r.ok(d))]
    if ranges and any(not lo <= d[c] <= hi for c, (lo, hi) in ranges.items() if c in d):
        codes.append(RANGE_CODE)
    return codes


def violation_counts(
    df: pd.DataFrame, ranges: Mapping[str, tuple[int, int]] | None = None
) -> dict[str, int]:
    """``{code: number of rows breaking it}`` over a frame (only codes with breaks)."""
    counts = {r.code: int((~r.ok(df).astype(bool)).sum()) for r in RULES}
    if ranges:
        counts[RANGE_CODE] = int((~_in_ranges(df, ranges)).sum())
    return {c: n for c, n in counts.items() if n}


def _in_ranges(df: pd.DataFrame, ranges: Mapping[str, tuple[int, int]]) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for col, (lo, hi) in ranges.items():
        if col in df.columns and col in NUMERIC_FEATURES:
            ok &= df[col].between(lo, hi)
    return ok


@dataclass
class RepairReport:
    """Rows changed (repaired) or dropped (rejected) per rule code."""

    repaired: dict[str, int]
    rejected: dict[str, int]

    def add(self, other: RepairReport) -> None:
        for mine, theirs in ((self.repaired, other.repaired), (self.rejected, other.rejected)):
            for code, n in theirs.items():
                mine[code] = mine.get(code, 0) + n


def repair_and_filter(
    df: pd.DataFrame, ranges: Mapping[str, tuple[int, int]] | None = None
) -> tuple[pd.DataFrame, RepairReport]:
    """Repair what a rule can repair, drop rows that still break a rule; count both per code.

    Out-of-range counts (``STR011``) are clipped into the training range first, then each
    repairable rule fixes its bad rows in order; finally any row that breaks a rule is
    rejected and counted under the first rule it breaks (``STR011`` last: a repair such as
    the recomputed complexity can leave the training range).
    """
    df = df.copy()
    repaired: dict[str, int] = {}
    rejected: dict[str, int] = {}
    if ranges:
        bad = ~_in_ranges(df, ranges)
        if bad.any():
            repaired[RANGE_CODE] = int(bad.sum())
            for col, (lo, hi) in ranges.items():
                if col in df.columns and col in NUMERIC_FEATURES:
                    df[col] = df[col].clip(lo, hi)
    for rule in RULES:
        if rule.repair is None:
            continue
        bad = ~rule.ok(df).astype(bool)
        if bad.any():
            repaired[rule.code] = int(bad.sum())
            fixed = rule.repair(df.loc[bad].copy())
            df.loc[bad, fixed.columns] = fixed
    keep = pd.Series(True, index=df.index)
    for rule in RULES:
        bad = keep & ~rule.ok(df).astype(bool)
        if bad.any():
            rejected[rule.code] = int(bad.sum())
            keep &= ~bad
    if ranges:  # a repair (e.g. the recomputed complexity) can leave the training range
        bad = keep & ~_in_ranges(df, ranges)
        if bad.any():
            rejected[RANGE_CODE] = int(bad.sum())
            keep &= ~bad
    return df.loc[keep], RepairReport(repaired, rejected)
