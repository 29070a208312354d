"""Compare the four synthesizers on the same features: fit time, sampling speed, SDMetrics
quality and how much repair/rejection their samples needed."""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from typing import Any

import pandas as pd
from sdv.metadata import Metadata

from cimgen.structure.metadata import build_metadata, single_table_dict, training_frame
from cimgen.structure.synthesizers import NEURAL, SYNTHESIZERS


def quality_scores(
    real_df: pd.DataFrame,
    synthetic_df: pd.DataFrame,
    metadata: Metadata | dict[str, Any] | None = None,
) -> dict[str, float]:
    """SDMetrics single-table quality: overall, column shapes, column pair trends.

    The report's correlation/association thresholds are set to 0, so *every* column pair
    counts in the pair-trend score (by default sdmetrics 0.32 scores only pairs that are
    strongly related in the real data).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the single-table report is marked deprecated
        from sdmetrics.reports.single_table import QualityReport

        real = training_frame(real_df, "real features")
        synthetic = training_frame(synthetic_df, "synthetic features")
        if metadata is None:
            metadata = build_metadata(real)
        table = single_table_dict(metadata) if isinstance(metadata, Metadata) else metadata
        report = QualityReport()
        report.real_correlation_threshold = 0
        report.real_association_threshold = 0
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            report.generate(real, synthetic, table, verbose=False)
        props = report.get_properties().set_index("Property")["Score"]
        return {
            "quality": round(float(report.get_score()), 4),
            "column_shapes": round(float(props["Column Shapes"]), 4),
            "column_pair_trends": round(float(props["Column Pair Trends"]), 4),
        }


def compare_synthesizers(
    features: pd.DataFrame,
    epochs: int = 300,
    rows: int = 5000,
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Fit each synthesizer on ``features`` (``epochs`` for the neural ones), sample
    ``rows`` structures, and return one row of figures per synthesizer."""
    from cimgen.structure.model import fit_model

    real = training_frame(features)
    metadata = build_metadata(real)
    results = []
    for name in SYNTHESIZERS:
        params = {"epochs": epochs} if name in NEURAL else {}
        model = fit_model(real, name, params, seed=seed, progress=progress)
        started = time.perf_counter()
        sample = model.sample(rows, seed=seed, min_share_rare=0, progress=progress)
        seconds = time.perf_counter() - started
        report = sample.report
        results.append(
            {
                "synthesizer": name,
                "epochs": epochs if name in NEURAL else None,
                "fit_seconds": model.manifest["fit_seconds"],
                "sample_rows_per_s": round(rows / max(seconds, 1e-9), 1),
                **quality_scores(real, sample.frame, metadata),
                "drawn": report["drawn"],
                "repaired": sum(report["repaired"].values()),
                "rejected": sum(report["rejected"].values()),
                "repaired_by_rule": report["repaired"],
                "rejected_by_rule": report["rejected"],
            }
        )
    return results
