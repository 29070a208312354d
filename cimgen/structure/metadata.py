"""The training table and its SDV 2.x ``Metadata``, built from the documented feature spec.

Types are set explicitly, never auto-detected: SDV would read small integer columns as
``ordinal`` with unsorted values. Counts are ``numerical`` with ``decimal_places`` 0 and the
training range (SDV 2.0 dropped ``computer_representation``; rounding and the min/max come
from ``enforce_rounding`` / ``enforce_min_max_values`` on the synthesizer), labels are
``categorical`` (a synthesizer only produces categories it saw), ``has_window`` is
``boolean``. The ``id`` column of a features table is dropped: it names a record, it is not
structure.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sdv.metadata import Metadata

from cimgen.errors import InputError
from cimgen.models import CATEGORICAL_FEATURES, FEATURE_NAMES, NUMERIC_FEATURES

TABLE_NAME = "features"
_TRUE = {"true", "1", "yes", "t"}
_FALSE = {"false", "0", "no", "f", ""}


def training_frame(features: pd.DataFrame, where: str = "features") -> pd.DataFrame:
    """The FEATURE_NAMES columns of ``features`` with int64 counts, str labels and a bool
    ``has_window``; ``id`` and any other extra column dropped.

    Raises :class:`InputError` naming ``where`` for missing columns, empty or null values.
    """
    missing = [c for c in FEATURE_NAMES if c not in features.columns]
    if missing:
        raise InputError(
            f"{where}: missing feature column(s) {', '.join(missing)}. "
            "Write the table with `cimgen features` (docs/features.md)."
        )
    if len(features) == 0:
        raise InputError(f"{where}: no rows. Give a features table with at least one row.")
    frame = features.loc[:, list(FEATURE_NAMES)].reset_index(drop=True)
    nulls = [c for c in FEATURE_NAMES if frame[c].isna().any()]
    if nulls:
        first = int(frame[nulls[0]].isna().to_numpy().argmax())
        raise InputError(
            f"{where}: empty value in column {nulls[0]} (row {first + 1}). "
            "Re-extract the features or drop the row."
        )
    for col in NUMERIC_FEATURES:
        values = pd.to_numeric(frame[col], errors="coerce")
        if values.isna().any() or (values.round() != values).any() or (values < 0).any():
            bad = frame[col][values.isna() | (values.round() != values) | (values < 0)].iloc[0]
            raise InputError(
                f"{where}: column {col} holds {bad!r}, not a count. Counts are whole numbers >= 0."
            )
        frame[col] = values.astype("int64")
    for col in CATEGORICAL_FEATURES:
        if col == "has_window":
            frame[col] = _as_bool(frame[col], where)
        else:
            frame[col] = frame[col].astype(str)
    return frame


def _as_bool(values: pd.Series, where: str) -> pd.Series:
    if values.dtype == bool:
        return values
    text = values.astype(str).str.strip().str.lower()
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        raise InputError(f"{where}: has_window holds {values[bad].iloc[0]!r}. Use true/false.")
    return text.isin(_TRUE)


def training_domain(frame: pd.DataFrame) -> dict[str, Any]:
    """Category sets and count ranges seen in training (kept in the manifest)."""
    return {
        "categories": {
            c: sorted(str(v) for v in frame[c].unique())
            if c != "has_window"
            else sorted(bool(v) for v in frame[c].unique())
            for c in CATEGORICAL_FEATURES
        },
        "ranges": {c: [int(frame[c].min()), int(frame[c].max())] for c in NUMERIC_FEATURES},
    }


def build_metadata(frame: pd.DataFrame, discrete_counts: bool = False) -> Metadata:
    """SDV metadata for one table ``features`` with the documented sdtypes; with
    ``discrete_counts`` the counts are ``categorical`` (a GaussianCopula's empirical counts:
    :func:`cimgen.structure.synthesizers.encode_counts` orders them)."""
    columns: dict[str, dict[str, Any]] = {}
    for col in NUMERIC_FEATURES:
        columns[col] = (
            {"sdtype": "categorical"}
            if discrete_counts
            else {
                "sdtype": "numerical",
                "decimal_places": 0,
                "range_min": int(frame[col].min()),
                "range_max": int(frame[col].max()),
            }
        )
    for col in CATEGORICAL_FEATURES:
        columns[col] = {"sdtype": "boolean"} if col == "has_window" else {"sdtype": "categorical"}
    metadata = Metadata.load_from_dict({"tables": {TABLE_NAME: {"columns": columns}}})
    metadata.validate()
    return metadata


def single_table_dict(metadata: Metadata) -> dict[str, Any]:
    """The one table's metadata as the plain dict SDMetrics reports take."""
    tables: dict[str, Any] = metadata.to_dict()["tables"]
    return dict(tables[TABLE_NAME])
