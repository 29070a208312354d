"""Sampling conditions: ``COL=VALUE[:COUNT]``, checked against what the model saw.

A condition with a count asks for that many rows with ``COL == VALUE``; one without a count
holds for every row of the sample. A condition the model can never meet (unknown column,
unseen category, count outside the training range) is refused up front with a one-line
:class:`ConditionError`, so no reject loop runs for it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cimgen.errors import ConditionError
from cimgen.models import FEATURE_NAMES, NUMERIC_FEATURES


@dataclass(frozen=True)
class Condition:
    """``column == value`` for ``count`` rows (``None``: for every row)."""

    column: str
    value: Any
    count: int | None = None

    def __str__(self) -> str:
        suffix = "" if self.count is None else f":{self.count}"
        return f"{self.column}={self.value}{suffix}"


def parse_condition(text: str) -> Condition:
    """Parse ``COL=VALUE[:COUNT]`` (value checked later, against the model).

    >>> parse_condition("difficulty_level=HARD:20000")
    Condition(column='difficulty_level', value='HARD', count=20000)
    >>> parse_condition("has_window=true")
    Condition(column='has_window', value='true', count=None)
    """
    column, sep, rest = text.partition("=")
    column, rest = column.strip(), rest.strip()
    if not sep or not column or not rest:
        raise ConditionError(
            f"condition {text!r}: expected COL=VALUE[:COUNT], e.g. difficulty_level=HARD:20000."
        )
    value, colon, count_text = rest.rpartition(":") if ":" in rest else (rest, "", "")
    count: int | None = None
    if colon:
        if not count_text.strip().isdigit() or int(count_text) < 1:
            raise ConditionError(
                f"condition {text!r}: COUNT {count_text!r} is not a whole "
                "number >= 1. Write COL=VALUE:COUNT, e.g. sql_type=SPATIAL_JOIN:500."
            )
        count = int(count_text)
    return Condition(column, value.strip(), count)


def resolve(condition: Condition, domain: Mapping[str, Any]) -> Condition:
    """The condition with its value typed (int count, bool has_window, str label), or a
    :class:`ConditionError` when the model never saw that value."""
    col, raw = condition.column, condition.value
    if col not in FEATURE_NAMES:
        raise ConditionError(
            f"condition {condition}: unknown column {col!r}. Use one of {', '.join(FEATURE_NAMES)}."
        )
    value: Any
    if col in NUMERIC_FEATURES:
        try:
            value = int(str(raw))
        except ValueError:
            raise ConditionError(
                f"condition {condition}: {col} is a count; {raw!r} is not a whole number."
            ) from None
        lo, hi = domain["ranges"][col]
        if not lo <= value <= hi:
            raise ConditionError(
                f"condition {condition}: {col}={value} is outside the range "
                f"seen in training ({lo}..{hi}). Pick a value in it."
            )
    elif col == "has_window":
        text = str(raw).strip().lower()
        if text not in ("true", "false", "1", "0"):
            raise ConditionError(f"condition {condition}: has_window is true or false.")
        value = text in ("true", "1")
        if value not in domain["categories"][col]:
            raise ConditionError(
                f"condition {condition}: has_window={text} never occurs in "
                "the training features. Drop the condition."
            )
    else:
        value = str(raw)
        seen = domain["categories"][col]
        if value not in seen:
            raise ConditionError(
                f"condition {condition}: {col} {value!r} was not seen in "
                f"training. Use one of {', '.join(seen)}."
            )
    return Condition(col, value, condition.count)


@dataclass(frozen=True)
class Group:
    """``count`` rows that must all satisfy ``fixed`` (column -> value)."""

    fixed: dict[str, Any]
    count: int


def plan_groups(conditions: Sequence[Condition], rows: int) -> tuple[list[Group], dict[str, Any]]:
    """Split ``rows`` into condition groups plus one free group (last, possibly empty).

    Returns ``(groups, fixed)`` where ``fixed`` holds the count-less conditions that apply
    to every group.
    """
    fixed: dict[str, Any] = {}
    for c in conditions:
        if c.count is None:
            if c.column in fixed and fixed[c.column] != c.value:
                raise ConditionError(
                    f"conditions {c.column}={fixed[c.column]} and {c} both "
                    "hold for every row. Keep one, or give each a :COUNT."
                )
            fixed[c.column] = c.value
    counted = [c for c in conditions if c.count is not None]
    total = sum(c.count or 0 for c in counted)
    if total > rows:
        raise ConditionError(
            f"condition counts add up to {total}, more than --rows {rows}. "
            "Lower the counts or raise --rows."
        )
    groups = []
    for c in counted:
        if c.column in fixed and fixed[c.column] != c.value:
            raise ConditionError(
                f"condition {c} contradicts {c.column}={fixed[c.column]}, "
                "which holds for every row."
            )
        groups.append(Group({**fixed, c.column: c.value}, int(c.count or 0)))
    groups.append(Group(dict(fixed), rows - total))
    return groups, fixed
