"""Fit, save, load and sample a structure model: the public face of :mod:`cimgen.structure`.

``fit`` and ``sample`` validate, then call small private steps (the SDV lifecycle habit);
a model records the versions that made it and refuses to load from a newer cimgen.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sdv
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sdv.cag import Inequality

from cimgen import __version__, seeds
from cimgen.errors import ModelError
from cimgen.models import FEATURE_NAMES, FEATURE_SPEC_VERSION, NUMERIC_FEATURES, QueryFeatures
from cimgen.structure import manifest as mf
from cimgen.structure import sampling
from cimgen.structure.conditions import Condition, plan_groups, resolve
from cimgen.structure.consistency import violation_counts
from cimgen.structure.metadata import TABLE_NAME, build_metadata, training_domain, training_frame
from cimgen.structure.progress import fit_progress
from cimgen.structure.speedups import fit_speedups
from cimgen.structure.synthesizers import (
    NEURAL,
    TORCH_THREADS,
    add_constraints,
    empirical_counts,
    encode_counts,
    make_synthesizer,
    place,
    resolve_device,
    resolve_params,
    seeded,
)


@dataclass(frozen=True)
class SampleResult:
    """Sampled structures: ``frame`` (FEATURE_NAMES columns) and ``report`` (requested,
    sampled, drawn, repaired / rejected per rule code, min-share outcome)."""

    frame: pd.DataFrame
    report: dict[str, Any]

    def structures(self) -> list[QueryFeatures]:
        return [QueryFeatures.from_dict(r) for r in self.frame.to_dict("records")]


class StructureModel:
    """A fitted SDV synthesizer plus its manifest."""

    def __init__(self, synthesizer: Any, manifest: dict[str, Any]) -> None:
        self.synthesizer = synthesizer
        self.manifest = manifest

    @property
    def name(self) -> str:
        return str(self.manifest["synthesizer"])

    @property
    def ranges(self) -> dict[str, tuple[int, int]]:
        return {c: (int(lo), int(hi)) for c, (lo, hi) in self.manifest["domain"]["ranges"].items()}

    def save(self, out_dir: Path) -> None:
        """Write ``synthesizer.pkl`` + ``manifest.json`` atomically into ``out_dir``."""
        mf.write_model_dir(Path(out_dir), self.synthesizer, self.manifest)

    def sample(
        self,
        rows: int,
        seed: int = 0,
        conditions: list[Condition] | None = None,
        min_share_rare: float | None = None,
        progress: bool = True,
    ) -> SampleResult:
        """``rows`` structurally consistent structures; same seed => same frame.

        ``min_share_rare`` (default 0.02; 0 turns it off) guarantees each sql_type seen in
        training at least that share of the rows, taken from the unconditioned rows.
        """
        if rows < 1:
            raise ModelError(f"--rows {rows}: ask for at least 1 row.")
        share = sampling.DEFAULT_MIN_SHARE_RARE if min_share_rare is None else min_share_rare
        if not 0 <= share < 1:
            raise ModelError(f"--min-share-rare {share}: use a share in [0, 1), e.g. 0.02.")
        domain = self.manifest["domain"]
        n_types = len(domain["categories"]["sql_type"])
        if min_share_rare is None and math.ceil(share * rows) * n_types > rows:
            share = 0.0  # the default guarantee cannot hold for so few rows (a small last
            # round of generate): draw them freely; an explicit share still says why not
        resolved = [resolve(c, domain) for c in conditions or []]
        groups, fixed = plan_groups(resolved, rows)
        stats = sampling.DrawStats()
        started = time.perf_counter()
        draw_seed = seeds.int_seed(seed, "sample")  # this call's stream (cimgen.seeds)
        with seeded(draw_seed), _sample_bar(rows, progress) as advance:
            self.synthesizer.reset_sampling()
            # SDV 2.0 has no public per-call seed; this is the hook its own sample() uses.
            self.synthesizer._set_random_state(draw_seed)
            frames = sampling.draw_all(self.synthesizer, groups, self.ranges, stats, advance)
            frames, share_info = sampling.top_up_rare(
                self.synthesizer,
                frames,
                fixed,
                list(domain["categories"]["sql_type"]),
                share,
                rows,
                self.ranges,
                stats,
                lambda n: None,  # replacements: bar is already full
            )
        frame = sampling.finish(frames, seed)
        left = violation_counts(frame, self.ranges)
        if left or len(frame) != rows:  # repair_and_filter guarantees this; say so if not
            raise ModelError(f"internal: {len(frame)} rows, violations {left} after repair.")
        report = {
            "requested": rows,
            "sampled": len(frame),
            "drawn": stats.drawn,
            "repaired": dict(sorted(stats.repairs.repaired.items())),
            "rejected": dict(sorted(stats.repairs.rejected.items())),
            "violations": 0,
            "conditions": [str(c) for c in resolved],
            "min_share_rare": share_info,
            "sql_type_counts": {
                str(k): int(v) for k, v in frame["sql_type"].value_counts().sort_index().items()
            },
            "seed": seed,
            "seconds": round(time.perf_counter() - started, 3),
        }
        return SampleResult(frame, report)


@contextmanager
def _sample_bar(rows: int, enabled: bool) -> Iterator[Callable[[int], None]]:
    if not enabled:
        yield lambda n: None
        return
    bar = Progress(
        TextColumn("[bold]sampling structures"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
    )
    with bar:
        task = bar.add_task("sample", total=rows)
        yield lambda n: bar.advance(task, n)


def _loss_curve(synth: Any, name: str) -> list[dict[str, float]]:
    if name not in NEURAL:
        return []
    losses = synth.get_loss_values()
    if "Batch" in losses.columns:  # TVAE logs per batch: keep the epoch mean
        losses = losses.drop(columns=["Batch"]).groupby("Epoch", as_index=False).mean()
    return [
        {str(k): round(float(v), 6) for k, v in row.items()} for row in losses.to_dict("records")
    ]


def fit_model(
    features: pd.DataFrame,
    synthesizer: str = "ctgan",
    params: dict[str, Any] | None = None,
    seed: int = 0,
    out_dir: Path | None = None,
    progress: bool = True,
    *,
    source: Path | None = None,
    device: str = "auto",
) -> StructureModel:
    """Fit ``synthesizer`` on a features table (``id`` + FEATURE_NAMES; ``id`` is dropped).

    ``params`` override the documented defaults (:data:`synthesizers.DEFAULTS`); ``source``
    (the corpus or features file) is hashed into the manifest; ``device`` is ``auto``,
    ``cpu`` or ``cuda`` (:func:`synthesizers.resolve_device`). A change here that changes
    the model a fit produces must bump :data:`cimgen.structure.cache.MODEL_VERSION`.
    """
    resolved = resolve_params(synthesizer, params)
    on = resolve_device(device, synthesizer)
    frame = training_frame(features, where=str(source) if source else "features")
    discrete = empirical_counts(resolved)
    metadata = build_metadata(frame, discrete_counts=discrete)
    synth = make_synthesizer(synthesizer, metadata, resolved, verbose=progress, device=on)
    constraints = []
    if discrete:
        encode_counts(synth, frame, NUMERIC_FEATURES)
        constraints.append("OrderedUniformEncoder(counts)")
    # SDV's Inequality models schema_count as table_count minus a non-negative gap, so no
    # sample breaks STR002; it needs training data that obeys it (real features always do)
    # and numerical counts (empirical counts leave STR002 to the repair).
    elif (frame["schema_count"] <= frame["table_count"]).all():
        add_constraints(synth, [Inequality("schema_count", "table_count")])
        constraints.append("Inequality(schema_count <= table_count)")
    started = time.perf_counter()
    fit_seed = seeds.int_seed(seed, "fit")  # the fit's stream (cimgen.seeds)
    with (
        seeded(fit_seed),
        fit_progress(synthesizer, progress),
        fit_speedups(),  # the same draws, fewer Python loops (speedups.py)
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        synth.fit({TABLE_NAME: frame})
    seconds = time.perf_counter() - started
    manifest = {
        "format": mf.MANIFEST_FORMAT,
        "tool": {"name": "cimgen", "version": __version__},
        "sdv_version": sdv.__version__,
        "torch_version": torch.__version__,
        "torch_threads": TORCH_THREADS,
        "device": on,
        "synthesizer": synthesizer,
        "parameters": resolved,
        "constraints": constraints,
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "feature_names": list(FEATURE_NAMES),
        "seed": seed,
        "training": {
            "rows": len(frame),
            "features_sha256": mf.frame_sha256(frame),
            "source": {"path": str(source), "sha256": mf.file_sha256(source)}
            if source and Path(source).is_file()
            else None,
            "violations": violation_counts(frame),
        },
        "fit_seconds": round(seconds, 3),
        "fitted_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "loss": _loss_curve(synth, synthesizer),
        "domain": training_domain(frame),
    }
    model = StructureModel(synth, manifest)
    if out_dir is not None:
        model.save(Path(out_dir))
    return model


def load_model(model_dir: Path, device: str = "auto") -> StructureModel:
    """Load a model directory, refusing an incomplete or incompatible one (ModelError);
    a neural model is placed on ``device`` (``auto``: CUDA when torch sees one)."""
    from sdv.utils import load_synthesizer

    model_dir = Path(model_dir)
    manifest = mf.read_manifest(model_dir)
    on = resolve_device(device, str(manifest["synthesizer"]))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            synth = load_synthesizer(str(model_dir / mf.SYNTHESIZER))
    except Exception as exc:
        raise ModelError(
            f"{model_dir / mf.SYNTHESIZER}: cannot be loaded "
            f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}). "
            "Re-fit the model with `cimgen fit`."
        ) from None
    place(synth, on)
    return StructureModel(synth, manifest)
