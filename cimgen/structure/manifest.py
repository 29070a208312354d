"""The model directory: ``synthesizer.pkl`` (SDV's own save) + ``manifest.json``.

The manifest records what is needed to trust and reuse a model: tool, SDV and torch
versions, the synthesizer and its parameters, the feature spec version, the seed, the
sha256 of the training features (and of the corpus they came from), row count, fit time,
loss curve, and the category sets and count ranges seen in training (conditions are checked
against them). A model from a newer cimgen or another feature spec is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from packaging.version import InvalidVersion, Version

from cimgen import __version__
from cimgen.errors import ModelError
from cimgen.models import FEATURE_NAMES, FEATURE_SPEC_VERSION

MANIFEST = "manifest.json"
SYNTHESIZER = "synthesizer.pkl"
MANIFEST_FORMAT = 1


def frame_sha256(frame: pd.DataFrame) -> str:
    """sha256 of the training frame as canonical CSV (same rows => same hash)."""
    return hashlib.sha256(frame.to_csv(index=False, lineterminator="\n").encode()).hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_model_dir(out_dir: Path, synthesizer: Any, manifest: dict[str, Any]) -> None:
    """Write both files into a temp folder beside ``out_dir``, then rename it into place.

    An existing ``out_dir`` is replaced only when it is a model directory itself (it holds a
    manifest), so a typo cannot wipe an unrelated folder.
    """
    out_dir = Path(out_dir)
    if (
        out_dir.exists()
        and not (out_dir / MANIFEST).is_file()
        and (not out_dir.is_dir() or any(out_dir.iterdir()))
    ):
        raise ModelError(
            f"{out_dir}: exists and is not a cimgen model directory. "
            "Choose another --out or remove it."
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_files(tmp, synthesizer, manifest)
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old.", dir=out_dir.parent))
            os.replace(out_dir, old / "model")
            os.replace(tmp, out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_files(directory: Path, synthesizer: Any, manifest: dict[str, Any]) -> None:
    """``synthesizer.pkl`` (SDV's own save) and ``manifest.json`` into an existing folder."""
    synthesizer.save(str(directory / SYNTHESIZER))
    (directory / MANIFEST).write_text(
        json.dumps(manifest, indent=2, default=str) + "\n", encoding="utf-8"
    )


def read_manifest(model_dir: Path) -> dict[str, Any]:
    """The manifest of ``model_dir`` after checking it is complete and compatible."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelError(f"{model_dir}: model directory not found. Fit one with `cimgen fit`.")
    for name in (MANIFEST, SYNTHESIZER):
        if not (model_dir / name).is_file():
            raise ModelError(f"{model_dir}: {name} is missing. Re-fit the model with `cimgen fit`.")
    try:
        manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(
            f"{model_dir / MANIFEST}: not valid JSON ({exc}). Re-fit the model."
        ) from None
    check_manifest(manifest, model_dir)
    return manifest


def check_manifest(manifest: Any, where: Path) -> None:
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ModelError(
            f"{where / MANIFEST}: not a cimgen structure-model manifest (format "
            f"{MANIFEST_FORMAT}). Re-fit the model with `cimgen fit`."
        )
    spec = manifest.get("feature_spec_version")
    if spec != FEATURE_SPEC_VERSION:
        raise ModelError(
            f"{where}: model uses feature spec version {spec}, this cimgen uses "
            f"{FEATURE_SPEC_VERSION}. Re-extract the features and re-fit."
        )
    if list(manifest.get("feature_names") or []) != list(FEATURE_NAMES):
        raise ModelError(
            f"{where}: model's feature names differ from this cimgen's. Re-fit the model."
        )
    version = str((manifest.get("tool") or {}).get("version"))
    try:
        newer = Version(version) > Version(__version__)
    except InvalidVersion:
        raise ModelError(
            f"{where / MANIFEST}: tool version {version!r} is not a version. Re-fit the model."
        ) from None
    if newer:
        raise ModelError(
            f"{where}: model was written by cimgen {version}, newer than this "
            f"cimgen {__version__}. Upgrade cimgen or re-fit the model."
        )
    for key in ("synthesizer", "domain", "seed"):
        if key not in manifest:
            raise ModelError(f"{where / MANIFEST}: key {key!r} is missing. Re-fit the model.")
