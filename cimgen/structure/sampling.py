"""Drawing structures from a fitted synthesizer: bounded batches, repair/reject, conditions,
and a guaranteed minimum share for rare sql_types.

Every batch goes through :func:`cimgen.structure.consistency.repair_and_filter`; rejected
rows are replaced by drawing again, at most ``MAX_ROUNDS`` times per group, each batch sized
from the acceptance rate seen so far (and capped). Conditioned groups use SDV's
``sample_from_conditions`` (native in GaussianCopula, reject-based in the GANs, with
``max_tries_per_batch``); its result is checked again here, so a fallback to plain sampling
plus filtering is always correct. A group that stays short fails with one line.
"""

from __future__ import annotations

import contextlib
import io
import math
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sdv.sampling import Condition as SdvCondition

from cimgen import seeds
from cimgen.errors import ConditionError, ModelError
from cimgen.models import FEATURE_NAMES, NUMERIC_FEATURES
from cimgen.structure.conditions import Group
from cimgen.structure.consistency import RepairReport, repair_and_filter
from cimgen.structure.metadata import TABLE_NAME

MAX_ROUNDS = 8  # draws per group before giving up
MAX_TRIES_PER_BATCH = 20  # SDV's own reject loop inside one conditional draw
MIN_RATE = 0.02  # never size a batch for an acceptance rate below 2 %
DEFAULT_MIN_SHARE_RARE = 0.02
CONDITION_CODE = "COND"  # a repair changed a conditioned value, so the row no longer fits


@dataclass
class DrawStats:
    drawn: int = 0
    repairs: RepairReport = field(default_factory=lambda: RepairReport({}, {}))


def _raw(synth: Any, n: int, fixed: Mapping[str, Any]) -> pd.DataFrame:
    # SDV shows its own tqdm bars on stderr; ours is the rich bar, so theirs are swallowed.
    with contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if not fixed:
            return synth.sample(n)[TABLE_NAME]
        try:
            cond = SdvCondition(dict(fixed), num_rows=n)
            return synth.sample_from_conditions(
                [cond], max_tries_per_batch=MAX_TRIES_PER_BATCH, batch_size=n
            )[TABLE_NAME]
        except Exception:
            return synth.sample(n)[TABLE_NAME]


def _matches(df: pd.DataFrame, fixed: Mapping[str, Any]) -> pd.Series:
    ok = pd.Series(True, index=df.index)
    for col, value in fixed.items():
        ok &= df[col] == value
    return ok


def draw_group(
    synth: Any,
    group: Group,
    ranges: Mapping[str, tuple[int, int]],
    stats: DrawStats,
    advance: Callable[[int], None],
) -> pd.DataFrame:
    """Up to ``group.count`` consistent rows that satisfy ``group.fixed``."""
    parts: list[pd.DataFrame] = []
    have, rate = 0, 1.0
    for _ in range(MAX_ROUNDS):
        if have >= group.count:
            break
        missing = group.count - have
        ask = min(max(math.ceil(missing / max(rate, MIN_RATE) * 1.1), 64), 20 * missing + 1000)
        raw = _raw(synth, ask, group.fixed).reset_index(drop=True)
        stats.drawn += len(raw)
        good, report = repair_and_filter(raw, ranges)
        misfit = ~_matches(good, group.fixed)
        if misfit.any():
            report.rejected[CONDITION_CODE] = int(misfit.sum())
            good = good.loc[~misfit]
        stats.repairs.add(report)
        rate = len(good) / max(ask, 1)
        take = good.head(missing)
        parts.append(take)
        have += len(take)
        advance(len(take))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=FEATURE_NAMES)


def shortfall_message(group: Group, got: int, drawn: int) -> str:
    what = ", ".join(f"{k}={v}" for k, v in group.fixed.items()) or "no condition"
    return (
        f"the model produced only {got} of {group.count} consistent rows with {what} "
        f"in {MAX_ROUNDS} rounds ({drawn} rows drawn). Drop or lower the condition, or "
        "re-fit with more epochs / another --synthesizer."
    )


def draw_all(
    synth: Any,
    groups: list[Group],
    ranges: Mapping[str, tuple[int, int]],
    stats: DrawStats,
    advance: Callable[[int], None],
) -> list[pd.DataFrame]:
    frames = []
    for group in groups:
        if group.count == 0:
            frames.append(pd.DataFrame(columns=FEATURE_NAMES))
            continue
        before = stats.drawn
        frame = draw_group(synth, group, ranges, stats, advance)
        if len(frame) < group.count:
            message = shortfall_message(group, len(frame), stats.drawn - before)
            raise (ConditionError if group.fixed else ModelError)(message)
        frames.append(frame)
    return frames


def plan_removals(
    totals: dict[str, int], free: dict[str, int], need: int, k: int
) -> dict[str, int]:
    """Which ``k`` rows of the free group to give up, taking from the sql_types furthest
    above ``need`` first (ties by name, so the choice is deterministic)."""
    totals, free = dict(totals), dict(free)
    out: dict[str, int] = {}
    for _ in range(k):
        donors = [t for t in free if free[t] > 0 and totals[t] > need]
        if not donors:
            break
        t = min(donors, key=lambda x: (-(totals[x] - need), x))
        totals[t] -= 1
        free[t] -= 1
        out[t] = out.get(t, 0) + 1
    return out


def top_up_rare(
    synth: Any,
    frames: list[pd.DataFrame],
    fixed: Mapping[str, Any],
    seen_types: list[str],
    share: float,
    rows: int,
    ranges: Mapping[str, tuple[int, int]],
    stats: DrawStats,
    advance: Callable[[int], None],
) -> tuple[list[pd.DataFrame], dict[str, Any]]:
    """Replace rows of the free (last) group so every seen sql_type reaches
    ``ceil(share * rows)`` rows. Returns the new frames and what was done."""
    need = math.ceil(share * rows)
    info: dict[str, Any] = {"share": share, "per_type": need, "topped_up": {}, "unmet": {}}
    if share <= 0 or rows == 0:
        return frames, info
    if "sql_type" in fixed:
        info["skipped"] = "sql_type is fixed by a condition"
        return frames, info
    if need * len(seen_types) > rows:
        raise ConditionError(
            f"--min-share-rare {share} for {len(seen_types)} sql_types needs "
            f"{need * len(seen_types)} rows, more than --rows {rows}. Lower it."
        )
    everything = pd.concat(frames, ignore_index=True)
    totals = {t: int((everything["sql_type"] == t).sum()) for t in seen_types}
    deficits = {t: need - n for t, n in totals.items() if n < need}
    if not deficits:
        return frames, info
    free_frame = frames[-1]
    free = {t: int((free_frame["sql_type"] == t).sum()) for t in seen_types}
    extra: list[pd.DataFrame] = []
    for t, k in sorted(deficits.items()):
        room = sum(plan_removals(totals, free, need, k).values())
        got = pd.DataFrame(columns=FEATURE_NAMES)
        if room:
            got = draw_group(synth, Group({**fixed, "sql_type": t}, room), ranges, stats, advance)
        removals = plan_removals(totals, free, need, len(got))
        drop: list[int] = []
        for donor, n in removals.items():
            idx = free_frame.index[free_frame["sql_type"] == donor]
            drop.extend(idx[-n:])
            totals[donor] -= n
            free[donor] -= n
        free_frame = free_frame.drop(index=drop)
        totals[t] += len(got)
        extra.append(got)
        info["topped_up"][t] = len(got)
        if len(got) < k:
            info["unmet"][t] = k - len(got)
    return [*frames[:-1], free_frame, *extra], info


def finish(frames: list[pd.DataFrame], seed: int) -> pd.DataFrame:
    """One frame in a seeded shuffled order (top-up rows are not left at the end), with
    int64 counts and a bool has_window."""
    frame = pd.concat(frames, ignore_index=True).loc[:, list(FEATURE_NAMES)]
    order = seeds.numpy_rng(seed, "shuffle").permutation(len(frame))
    frame = frame.iloc[order].reset_index(drop=True)
    return frame.astype({c: "int64" for c in NUMERIC_FEATURES} | {"has_window": "bool"})
