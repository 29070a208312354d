"""Read a ``cimgen generate`` output folder into what the report and the card show.

``dataset.jsonl`` and ``rejected.jsonl`` are streamed once each (they may hold 100k lines);
only counters, score histograms and a handful of examples are kept. Examples are picked in
file order, so the same folder always gives the same report.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimgen.errors import InputError
from cimgen.models import (
    AGGREGATIONS,
    CATEGORICAL_FEATURES,
    DIFFICULTY_LEVELS,
    FEATURE_NAMES,
    NUMERIC_FEATURES,
    ORDER_LIMITS,
    SCHEMA_COMPLEXITIES,
    SET_OPERATIONS,
    SQL_TYPES,
)

N_ACCEPTED_EXAMPLES = 12
N_REJECTED_EXAMPLES = 4
SCORE_BINS = 10  # quality-score histogram: [0, 0.1), ..., [0.9, 1.0]
MAX_NUMERIC_BINS = 12
_THRESHOLD_REASON = re.compile(r"^(\w+) [0-9.]+ < [0-9.]+$")

# Known value orders, so charts read naturally (EASY before HARD) rather than alphabetically.
_ORDERS: dict[str, tuple[str, ...]] = {
    "sql_type": SQL_TYPES,
    "difficulty_level": DIFFICULTY_LEVELS,
    "schema_complexity": SCHEMA_COMPLEXITIES,
    "aggregation": AGGREGATIONS,
    "order_limit": ORDER_LIMITS,
    "set_operation": SET_OPERATIONS,
    "has_window": ("False", "True"),
}


@dataclass
class Distribution:
    """One feature's value shares (%) for each source, over shared category labels."""

    feature: str
    categories: list[str]
    shares: dict[str, list[float]]  # source name -> % per category
    counts: dict[str, int]  # source name -> rows


@dataclass
class ReportData:
    out_dir: Path
    stats: dict[str, Any]
    distributions: list[Distribution]
    shape_scores: dict[str, float]  # feature -> Stage 1 vs accepted column-shape score
    score_hist: dict[str, list[int]]  # "accepted" / "rejected" -> counts per score bin
    failed_thresholds: Counter[str]
    finding_codes: Counter[str]
    finding_examples: dict[str, tuple[str, str]]  # code -> (stage, first message)
    accepted_examples: list[dict[str, Any]] = field(default_factory=list)
    rejected_examples: list[dict[str, Any]] = field(default_factory=list)
    n_accepted: int = 0
    n_rejected: int = 0
    first_record: dict[str, Any] | None = None


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Rows of a JSONL file; a bad line is an InputError naming the file and line."""
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError.at(
                    path, n, f"invalid JSON ({exc.msg})", "re-run `cimgen generate`"
                ) from None
            if isinstance(row, dict):
                yield row


def read_stats(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "stats.json"
    if not path.is_file():
        raise InputError(
            f"{path}: file not found. Point at the output folder of `cimgen generate`."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError.at(
            path, exc.lineno, f"invalid JSON ({exc.msg})", "re-run `cimgen generate`"
        ) from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object. Re-run `cimgen generate`.")
    return data


def _read_frame(path: Path) -> Any:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        return pd.DataFrame(columns=list(FEATURE_NAMES))
    # text columns as categories: a million sampled structures take tens of MB, not a GB
    # of separate string objects (docs/scale.md)
    text = [f.name for f in pq.read_schema(path) if pa.types.is_string(f.type)]
    return pq.read_table(path, read_dictionary=text).to_pandas()


def _norm_value(feature: str, value: Any) -> str | int | None:
    if value is None or (isinstance(value, float) and value != value):  # NaN
        return None
    if feature in NUMERIC_FEATURES:
        try:
            return round(float(value))
        except (TypeError, ValueError):
            return None
    if feature == "has_window":
        return str(value in (True, "True", "true", 1, "1"))
    return str(value)


def _numeric_bins(values: set[int]) -> list[tuple[int, int | None]]:
    """Integer bins ``(lo, hi)`` covering ``values``; ``hi`` None means "lo and above"."""
    if not values:
        return [(0, 0)]
    lo, hi = min(values), max(values)
    span = hi - lo + 1
    if span <= MAX_NUMERIC_BINS:
        return [(v, v) for v in range(lo, hi + 1)]
    width = -(-span // (MAX_NUMERIC_BINS - 1))
    bins: list[tuple[int, int | None]] = []
    start = lo
    while start <= hi:
        end = start + width - 1
        bins.append((start, end if end < hi else None))
        start = end + 1
    return bins


def _bin_label(lo: int, hi: int | None) -> str:
    if hi is None:
        return f"≥{lo}"
    return str(lo) if lo == hi else f"{lo}–{hi}"


def distribution(feature: str, sources: dict[str, list[Any]]) -> Distribution:
    """Shares (%) of each value of ``feature`` in each source, on one category axis."""
    cleaned = {
        name: [v for v in (_norm_value(feature, x) for x in values) if v is not None]
        for name, values in sources.items()
    }
    counts = {name: len(vals) for name, vals in cleaned.items()}
    if feature in NUMERIC_FEATURES:
        bins = _numeric_bins({int(v) for vals in cleaned.values() for v in vals})
        categories = [_bin_label(lo, hi) for lo, hi in bins]
        shares: dict[str, list[float]] = {}
        for name, vals in cleaned.items():
            tally = [0] * len(bins)
            for v in vals:
                for i, (lo, hi) in enumerate(bins):
                    if int(v) >= lo and (hi is None or int(v) <= hi):
                        tally[i] += 1
                        break
            shares[name] = [100.0 * t / max(1, counts[name]) for t in tally]
        return Distribution(feature, categories, shares, counts)
    seen = {str(v) for vals in cleaned.values() for v in vals}
    order = [c for c in _ORDERS.get(feature, ()) if c in seen]
    order += sorted(seen - set(order))
    shares = {}
    for name, vals in cleaned.items():
        counter = Counter(str(v) for v in vals)
        shares[name] = [100.0 * counter[c] / max(1, counts[name]) for c in order]
    return Distribution(feature, order, shares, counts)


def shape_score(feature: str, real: list[Any], synthetic: list[Any]) -> float | None:
    """SDMetrics' column-shape score of one feature, computed directly (importing sdmetrics
    costs seconds): KSComplement for counts, TVComplement for categories."""
    a = [v for v in (_norm_value(feature, x) for x in real) if v is not None]
    b = [v for v in (_norm_value(feature, x) for x in synthetic) if v is not None]
    if not a or not b:
        return None
    if feature in NUMERIC_FEATURES:
        # 1 - the two-sample Kolmogorov-Smirnov statistic (max gap between the two ECDFs)
        xs, ys = sorted(int(v) for v in a), sorted(int(v) for v in b)
        gap, i, j = 0.0, 0, 0
        for value in sorted(set(xs) | set(ys)):
            while i < len(xs) and xs[i] <= value:
                i += 1
            while j < len(ys) and ys[j] <= value:
                j += 1
            gap = max(gap, abs(i / len(xs) - j / len(ys)))
        return 1.0 - gap
    # TVComplement as SDMetrics computes it, with its regularisation: a category only the
    # synthetic data has counts 1e-6 in the real data (sdmetrics.utils.get_frequencies)
    ca: Counter[str] = Counter(map(str, a))
    cb = Counter(map(str, b))
    seen: dict[str, float] = dict(ca)
    for k in cb:
        if k not in seen:
            seen[k] = 1e-6
    n_real, n_syn = sum(seen.values()), len(b)
    tv = sum(abs(cb[k] / n_syn - seen[k] / n_real) for k in seen) / 2
    return 1.0 - tv


def _score_bin(score: Any) -> int | None:
    try:
        value = float(score)
    except (TypeError, ValueError):
        return None
    return min(SCORE_BINS - 1, max(0, int(value * SCORE_BINS)))


class _ExamplePicker:
    """Round-robin over sql_types (so a run with few types still shows as many examples),
    keeping the first rows of each type, preferring SpatiaLite renderings."""

    def __init__(self) -> None:
        self.by_type: dict[str, list[dict[str, Any]]] = {}

    def offer(self, row: dict[str, Any]) -> None:
        kept = self.by_type.setdefault(str(row.get("sql_type")), [])
        if len(kept) < N_ACCEPTED_EXAMPLES:
            kept.append(row)
        elif row.get("sql_spatialite") and not all(r.get("sql_spatialite") for r in kept):
            # Swap the first kept sample without a SpatiaLite rendering for this one.
            i = next(i for i, r in enumerate(kept) if not r.get("sql_spatialite"))
            kept[i] = row

    def pick(self, n: int) -> list[dict[str, Any]]:
        types = [t for t in SQL_TYPES if t in self.by_type]
        types += sorted(set(self.by_type) - set(types))
        picked: list[dict[str, Any]] = []
        for rank in range(n):
            for t in types:
                if len(picked) < n and rank < len(self.by_type[t]):
                    picked.append(self.by_type[t][rank])
        return picked


def load(out_dir: Path) -> ReportData:
    """Everything the report needs from ``out_dir``, in one pass over each file."""
    out_dir = Path(out_dir)
    stats = read_stats(out_dir)
    stage1 = _read_frame(out_dir / "stage1_features.parquet")
    sampled = _read_frame(out_dir / "structures.parquet")

    accepted_features: dict[str, list[Any]] = {f: [] for f in FEATURE_NAMES}
    hist = {"accepted": [0] * SCORE_BINS, "rejected": [0] * SCORE_BINS}
    picker = _ExamplePicker()
    data = ReportData(out_dir, stats, [], {}, hist, Counter(), Counter(), {})
    for row in iter_jsonl(out_dir / "dataset.jsonl"):
        data.n_accepted += 1
        if data.first_record is None:
            data.first_record = row
        feats = row.get("features") or row.get("structure") or {}
        for f in FEATURE_NAMES:
            value = feats.get(f)  # one shared string per label, not one per row
            accepted_features[f].append(sys.intern(value) if isinstance(value, str) else value)
        b = _score_bin((row.get("quality") or {}).get("score"))
        if b is not None:
            hist["accepted"][b] += 1
        picker.offer(row)
    data.accepted_examples = picker.pick(N_ACCEPTED_EXAMPLES)

    seen_codes: set[str] = set()
    for row in iter_jsonl(out_dir / "rejected.jsonl"):
        data.n_rejected += 1
        quality = row.get("quality") or {}
        b = _score_bin(quality.get("score"))
        if b is not None:
            hist["rejected"][b] += 1
        for reason in quality.get("reasons") or ():
            if m := _THRESHOLD_REASON.match(str(reason)):
                data.failed_thresholds[m.group(1)] += 1
        findings = [x for x in row.get("findings") or () if isinstance(x, dict)]
        for finding in findings:
            if finding.get("severity", "error") == "error":
                code = str(finding.get("code"))
                data.finding_codes[code] += 1
                data.finding_examples.setdefault(
                    code, (str(finding.get("stage", "")), str(finding.get("message", "")))
                )
        first = next((str(x.get("code")) for x in findings), None)
        if len(data.rejected_examples) < N_REJECTED_EXAMPLES and first not in seen_codes:
            seen_codes.add(str(first))
            data.rejected_examples.append(row)

    for f in FEATURE_NAMES:
        sources = {
            "Stage 1": list(stage1[f]) if f in stage1 else [],
            "sampled": list(sampled[f]) if f in sampled else [],
            "accepted": accepted_features[f],
        }
        data.distributions.append(distribution(f, sources))
        score = shape_score(f, sources["Stage 1"], accepted_features[f])
        if score is not None:
            data.shape_scores[f] = score
    return data


__all__ = [
    "CATEGORICAL_FEATURES",
    "Distribution",
    "ReportData",
    "distribution",
    "load",
    "shape_score",
]
