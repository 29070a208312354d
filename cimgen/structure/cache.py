"""The structure-model cache: ``generate`` reuses a fitted model when nothing that
determines it has changed, instead of fitting CTGAN again (minutes on a CPU).

The key is a sha256 of the *key inputs*: the training features (the canonical-CSV sha256
the manifest records), the schema's content, the synthesizer and its resolved parameters,
the seed, the device (a CUDA fit and a CPU fit of the same seed are different models; with
the device in the key a run's outputs never depend on which device happened to fit first),
the torch thread count, :data:`MODEL_VERSION`, the feature spec version and the versions of
cimgen, SDV, rdt, copulas, ctgan, torch, numpy and pandas.

An entry is ``<cache root>/models/<key>/``: a model directory (``manifest.json`` +
``synthesizer.pkl``, so ``--model`` accepts one) plus ``entry.json`` with the key, the key
inputs and the sha256 of the other two files. An entry is never trusted: it is reused only
when ``entry.json`` names this key and these inputs, both files match their recorded
sha256 (the pickle is loaded from the very bytes that were hashed), the manifest passes
the model-directory checks and agrees with the inputs, and the pickle loads to a fitted
synthesizer of the right class. Anything else is a warning and a refit that replaces the
entry. The hashes guard against corruption and mix-ups, not against someone who can write
to the user's cache folder: that folder is trusted as much as the user's home.

Entries are written into a temporary folder beside the final one and renamed into place;
a replaced or cleared entry is first renamed aside. So a reader sees a complete entry or
none, and two runs storing the same key at once leave one complete entry (the loser's
rename fails and its copy is dropped; both are fits of the same inputs).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import pickle
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

from cimgen import __version__
from cimgen.errors import CimgenError, InputError, ModelError
from cimgen.io import file_sha256, remove_tree
from cimgen.models import FEATURE_SPEC_VERSION
from cimgen.paths import cache_root
from cimgen.structure import manifest as mf
from cimgen.structure.metadata import training_frame
from cimgen.structure.model import StructureModel, fit_model
from cimgen.structure.synthesizers import (
    TORCH_THREADS,
    is_fitted_synthesizer,
    place,
    resolve_device,
    resolve_params,
)

# Part of the key: bump when fit_model changes the model a fit produces (constraints,
# metadata, seeding), so entries fitted by older code are not reused.
MODEL_VERSION = "3"  # 3: categories stay discrete under the constraint (issue 16)
ENTRY = "entry.json"
ENTRY_FORMAT = 1
_PACKAGES = ("sdv", "rdt", "copulas", "ctgan", "torch", "numpy", "pandas")
_STALE_TEMP_S = 3600  # a temp folder this old belongs to no running store

Warn = Callable[[str], None]


def models_dir(cache_dir: Path | str | None = None) -> Path:
    """Where model entries live: ``<cache root>/models`` (see :func:`cimgen.paths.cache_root`)."""
    return cache_root(cache_dir) / "models"


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


@dataclass(frozen=True)
class CacheKey:
    """The cache key and the inputs it hashes (recorded in the entry, compared on reuse)."""

    key: str
    inputs: dict[str, Any] = field(hash=False)


def cache_key(
    frame: pd.DataFrame,
    synthesizer: str,
    params: Mapping[str, Any],
    seed: int,
    device: str,
    schema_sha256: str | None,
) -> CacheKey:
    """The key of a fit of ``synthesizer`` (resolved ``params``, resolved ``device``) on the
    training ``frame`` (FEATURE_NAMES columns, as :func:`training_frame` returns it)."""
    inputs = {
        "model_version": MODEL_VERSION,
        "feature_spec_version": FEATURE_SPEC_VERSION,
        "features_sha256": mf.frame_sha256(frame),
        "schema_sha256": schema_sha256,
        "synthesizer": synthesizer,
        "parameters": dict(params),
        "seed": int(seed),
        "device": device,
        "torch_threads": TORCH_THREADS,
        "versions": {"cimgen": __version__, **{p: _package_version(p) for p in _PACKAGES}},
    }
    inputs = json.loads(_canonical(inputs))  # exactly what entry.json will hold
    return CacheKey(hashlib.sha256(_canonical(inputs).encode()).hexdigest()[:24], inputs)


# --------------------------------------------------------------------------- fit or reuse


@dataclass(frozen=True)
class Obtained:
    """A structure model and where it came from: ``fitted`` or ``reused`` (from the cache)."""

    model: StructureModel
    source: str
    key: str
    cache_dir: Path | None  # the models folder; None with the cache off
    entry: Path | None  # the entry now holding this model, if any

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "cache_key": self.key,
            "cache_dir": str(self.cache_dir) if self.cache_dir else None,
            "device": self.model.manifest.get("device"),
            "fit_seconds": self.model.manifest.get("fit_seconds"),
        }


def obtain_model(
    features: pd.DataFrame,
    synthesizer: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    device: str = "auto",
    schema_sha256: str | None = None,
    use_cache: bool = True,
    refit: bool = False,
    cache_dir: Path | str | None = None,
    out_dir: Path | None = None,
    progress: bool = True,
    warn: Warn = lambda message: None,
) -> Obtained:
    """Reuse the cached model for these inputs, or fit one (and keep it unless
    ``use_cache`` is off). ``refit`` fits even when an entry exists and replaces it.
    ``out_dir`` gets a copy of the model directory either way."""
    resolved = resolve_params(synthesizer, params)
    on = resolve_device(device, synthesizer)
    ck = cache_key(training_frame(features), synthesizer, resolved, seed, on, schema_sha256)
    root = models_dir(cache_dir) if use_cache else None
    replace = refit
    if root is not None and not refit:
        found = _lookup(root / ck.key, ck, on, warn)
        if found is not None:
            model, files = found
            if out_dir is not None:
                _write_dir(out_dir, files)
            return Obtained(model, "reused", ck.key, root, root / ck.key)
        replace = (root / ck.key).exists()  # a bad entry: the new fit takes its place
    model = fit_model(features, synthesizer, resolved, seed=seed, progress=progress, device=on)
    entry = _store(root, ck, model, replace, warn) if root is not None else None
    if out_dir is not None:
        model.save(out_dir)
    return Obtained(model, "fitted", ck.key, root, entry)


class _BadEntry(CimgenError):
    """Why an entry cannot be reused (turned into a warning, never raised to the user)."""


def _lookup(
    path: Path, ck: CacheKey, device: str, warn: Warn
) -> tuple[StructureModel, dict[str, bytes]] | None:
    for attempt in (1, 2):  # a second read, in case a concurrent --refit swapped the entry
        if not path.exists():
            return None
        try:
            return _read_entry(path, ck, device)
        except _BadEntry as exc:
            if attempt == 2:
                warn(f"model cache entry {path} {exc}; fitting a new model, which replaces it.")
    return None


def _read_entry(path: Path, ck: CacheKey, device: str) -> tuple[StructureModel, dict[str, bytes]]:
    files: dict[str, bytes] = {}
    for name in (ENTRY, mf.MANIFEST, mf.SYNTHESIZER):
        try:
            files[name] = (path / name).read_bytes()
        except FileNotFoundError:
            raise _BadEntry(f"is incomplete ({name} is missing)") from None
        except OSError as exc:
            raise _BadEntry(f"cannot be read ({name}: {exc.strerror})") from None
    entry = _json(files[ENTRY], ENTRY)
    if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
        raise _BadEntry(f"is not a cimgen model-cache entry (format {ENTRY_FORMAT})")
    if entry.get("key") != ck.key or path.name != ck.key:
        raise _BadEntry(f"is foreign (its entry.json names key {entry.get('key')!r})")
    if _canonical(entry.get("inputs")) != _canonical(ck.inputs):
        raise _BadEntry("is foreign (it was fitted for other inputs than its key says)")
    recorded = entry.get("files") or {}
    for name in (mf.MANIFEST, mf.SYNTHESIZER):
        if hashlib.sha256(files[name]).hexdigest() != recorded.get(name):
            raise _BadEntry(f"is corrupt ({name} does not match its recorded sha256)")
    manifest = _json(files[mf.MANIFEST], mf.MANIFEST)
    try:
        mf.check_manifest(manifest, path)
    except ModelError as exc:
        raise _BadEntry(f"has an unusable manifest ({exc})") from None
    inputs = ck.inputs
    if (
        manifest["synthesizer"] != inputs["synthesizer"]
        or manifest["seed"] != inputs["seed"]
        or manifest.get("device") != inputs["device"]
        or _canonical(manifest.get("parameters")) != _canonical(inputs["parameters"])
        or (manifest.get("training") or {}).get("features_sha256") != inputs["features_sha256"]
    ):
        raise _BadEntry("is foreign (its manifest describes another fit)")
    try:
        synth = pickle.loads(files[mf.SYNTHESIZER])  # the bytes just verified
    except Exception as exc:
        raise _BadEntry(f"does not load ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not is_fitted_synthesizer(synth, inputs["synthesizer"]):
        raise _BadEntry(f"does not hold a fitted {inputs['synthesizer']} synthesizer")
    place(synth, device)
    return StructureModel(synth, manifest), files


def _json(data: bytes, name: str) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _BadEntry(f"is corrupt ({name} is not valid JSON)") from None


def _store(
    root: Path, ck: CacheKey, model: StructureModel, replace: bool, warn: Warn
) -> Path | None:
    """Put ``model`` under ``root/key`` atomically; a failure to write only warns (the
    cache saves time, the run does not need it)."""
    final = root / ck.key
    if final.exists() and not replace:
        return final  # a concurrent run stored the same fit first
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{ck.key[:8]}-", dir=root))
        mf.write_files(tmp, model.synthesizer, model.manifest)
        entry = {
            "format": ENTRY_FORMAT,
            "key": ck.key,
            "inputs": ck.inputs,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {n: file_sha256(tmp / n) for n in (mf.MANIFEST, mf.SYNTHESIZER)},
        }
        (tmp / ENTRY).write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
        if replace:
            remove_tree(final)
        try:
            os.rename(tmp, final)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            # another run renamed its entry into place first: keep that one
        return final
    except OSError as exc:
        warn(f"cannot write the model cache in {root} ({exc}); the model is used but not kept.")
        return None
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _write_dir(out_dir: Path, files: Mapping[str, bytes]) -> None:
    """A model directory from verified bytes (the reused entry's manifest and pickle)."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        for name in (mf.MANIFEST, mf.SYNTHESIZER):
            (tmp / name).write_bytes(files[name])
        os.rename(tmp, out_dir)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- list, clear


@dataclass(frozen=True)
class CacheEntry:
    """One model entry as ``cimgen cache list`` shows it; ``problem`` is set for an entry
    that would not be reused (it is refitted when its key comes up)."""

    key: str
    path: Path
    synthesizer: str
    rows: int | None
    epochs: int | None
    seed: int | None
    device: str | None
    size_bytes: int
    created: datetime
    problem: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "path": str(self.path),
            "synthesizer": self.synthesizer,
            "rows": self.rows,
            "epochs": self.epochs,
            "seed": self.seed,
            "device": self.device,
            "size_bytes": self.size_bytes,
            "created": self.created.isoformat(timespec="seconds"),
            "problem": self.problem,
        }


def list_entries(cache_dir: Path | str | None = None) -> list[CacheEntry]:
    """The model entries, newest first. Cheap: manifests are read, pickles are not."""
    root = models_dir(cache_dir)
    if not root.is_dir():
        return []
    entries = [_describe(p) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return sorted(entries, key=lambda e: (e.created, e.key), reverse=True)


def _describe(path: Path) -> CacheEntry:
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    created = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    problem, manifest = "", {}
    try:
        entry = json.loads((path / ENTRY).read_text(encoding="utf-8"))
        manifest = json.loads((path / mf.MANIFEST).read_text(encoding="utf-8"))
        if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
            problem = "not a cimgen model-cache entry"
        elif entry.get("key") != path.name:
            problem = "foreign (key differs from its folder)"
        created = datetime.fromisoformat(str(entry.get("created")))
        if not (path / mf.SYNTHESIZER).is_file():
            problem = "incomplete (synthesizer.pkl missing)"
    except (OSError, ValueError) as exc:
        problem = problem or f"unreadable ({type(exc).__name__})"
    if not isinstance(manifest, dict):
        manifest, problem = {}, problem or "manifest is not a JSON object"
    params = manifest.get("parameters") or {}
    rows = (manifest.get("training") or {}).get("rows")
    return CacheEntry(
        key=path.name,
        path=path,
        synthesizer=str(manifest.get("synthesizer", "?")),
        rows=rows if isinstance(rows, int) else None,
        epochs=params.get("epochs") if isinstance(params, dict) else None,
        seed=manifest.get("seed"),
        device=manifest.get("device"),
        size_bytes=size,
        created=created,
        problem=problem,
    )


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``45m`` or a plain number of days (``--older-than``).

    >>> parse_age("2d")
    datetime.timedelta(days=2)
    """
    units = {"d": "days", "h": "hours", "m": "minutes"}
    raw = text.strip().lower()
    unit = units.get(raw[-1:], "days")
    number = raw[:-1] if raw[-1:] in units else raw
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value < 0:
        raise InputError(
            f"--older-than {text!r}: not an age. Use a number with d, h or m, e.g. 30d or 12h."
        )
    return timedelta(**{unit: value})


def clear(
    cache_dir: Path | str | None = None,
    key: str | None = None,
    older_than: timedelta | None = None,
) -> list[CacheEntry]:
    """Remove model entries: all, the one whose key starts with ``key``, or those created
    more than ``older_than`` ago; leftovers of interrupted stores go too. Returns what was
    removed."""
    entries = list_entries(cache_dir)
    if key is not None:
        entries = [e for e in entries if e.key.startswith(key)]
        if len(entries) != 1:
            found = "no cache entry" if not entries else f"{len(entries)} cache entries"
            raise InputError(
                f"{found} with a key starting {key!r} in {models_dir(cache_dir)}. "
                "Run `cimgen cache list` and give a longer key prefix."
            )
    if older_than is not None:
        cutoff = datetime.now(UTC) - older_than
        entries = [e for e in entries if e.created < cutoff]
    for e in entries:
        remove_tree(e.path)
    _sweep(models_dir(cache_dir))
    return entries


def _sweep(root: Path) -> None:
    """Delete temp and set-aside folders that no running store can still be using."""
    if not root.is_dir():
        return
    for p in root.iterdir():
        try:
            stale = time.time() - p.stat().st_mtime > _STALE_TEMP_S
        except FileNotFoundError:
            continue
        if stale and p.name.startswith((".tmp-", ".old-")):
            shutil.rmtree(p, ignore_errors=True)
