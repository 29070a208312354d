"""Structure-model cache (cimgen/structure/cache.py), the device choice and the fit progress:
reuse gives the same samples as the fit, every input is in the key, corrupt and foreign
entries are refitted with a warning (never unpickled unverified), concurrent stores leave
one complete entry, `cimgen cache list|clear`. Real SDV, small data."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import pickle
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from conftest import run_cli as _run
from rich.console import Console

from cimgen.errors import ConfigError, InputError
from cimgen.structure import cache, load_model
from cimgen.structure.demo import demo_features
from cimgen.structure.metadata import training_frame
from cimgen.structure.progress import fit_progress
from cimgen.structure.synthesizers import resolve_device, resolve_params

GC = "gaussian_copula"


@pytest.fixture(scope="module")
def features() -> pd.DataFrame:
    return demo_features(300, seed=11)


def _obtain(features: pd.DataFrame, root: Path, **kw: Any) -> tuple[cache.Obtained, list[str]]:
    warnings: list[str] = []
    kw.setdefault("synthesizer", GC)
    kw.setdefault("seed", 2)
    kw.setdefault("progress", False)
    got = cache.obtain_model(
        features, cache_dir=root, warn=warnings.append, schema_sha256="s", **kw
    )
    return got, warnings


def _sample(model: Any) -> pd.DataFrame:
    # min_share_rare=0: no conditional top-up, which is slow on a 1-epoch CTGAN
    return model.sample(100, seed=5, min_share_rare=0, progress=False).frame


@pytest.fixture(scope="module")
def pristine(
    tmp_path_factory: pytest.TempPathFactory, features: pd.DataFrame
) -> tuple[Path, cache.Obtained, pd.DataFrame]:
    """A cache holding one fitted GaussianCopula entry, and that model's samples."""
    root = tmp_path_factory.mktemp("pristine")
    got, warnings = _obtain(features, root)
    assert got.source == "fitted" and got.entry is not None and warnings == []
    return root, got, _sample(got.model)


def _copy_cache(pristine: tuple[Path, cache.Obtained, pd.DataFrame], to: Path) -> Path:
    """A private copy of the pristine cache (the entry at the same key); returns the entry."""
    root, got, _ = pristine
    shutil.copytree(root / "models", to / "models")
    return to / "models" / got.key


@pytest.fixture(scope="module")
def ctgan_fit(
    tmp_path_factory: pytest.TempPathFactory, features: pd.DataFrame
) -> tuple[Path, cache.Obtained, str]:
    """One real 1-epoch CTGAN fit through the cache, with progress on and stderr kept (not
    a terminal): CTGAN fits cost seconds even this small (SDV's transformers)."""
    root = tmp_path_factory.mktemp("ctgan")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        got, warnings = _obtain(
            features, root, synthesizer="ctgan", params={"epochs": 1}, progress=True
        )
    assert got.source == "fitted" and warnings == []
    return root, got, err.getvalue()


# --------------------------------------------------------------------------- reuse


def test_second_obtain_reuses_and_samples_identically(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame], features: pd.DataFrame, tmp_path: Path
) -> None:
    root, first, reference = pristine
    second, warnings = _obtain(features, root, out_dir=tmp_path / "copy")
    assert second.source == "reused" and warnings == []
    assert second.key == first.key and first.entry == root / "models" / first.key
    pd.testing.assert_frame_equal(_sample(second.model), reference)
    assert second.model.manifest == first.model.manifest
    # the copy in out_dir is a model directory `--model` accepts
    pd.testing.assert_frame_equal(_sample(load_model(tmp_path / "copy")), reference)
    assert {p.name for p in (root / "models").iterdir()} == {first.key}  # no temp left


def test_a_cached_ctgan_samples_like_the_fitted_one(
    ctgan_fit: tuple[Path, cache.Obtained, str], features: pd.DataFrame
) -> None:
    root, first, _ = ctgan_fit
    second, warnings = _obtain(features, root, synthesizer="ctgan", params={"epochs": 1})
    assert second.source == "reused" and warnings == []
    pd.testing.assert_frame_equal(_sample(second.model), _sample(first.model))


def test_key_covers_every_input(features: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = training_frame(features)
    params = resolve_params("ctgan", {"epochs": 3})

    def key(**change: Any) -> str:
        args = {
            "frame": frame,
            "synthesizer": "ctgan",
            "params": params,
            "seed": 0,
            "device": "cpu",
            "schema_sha256": "a",
        }
        return cache.cache_key(**{**args, **change}).key

    base = key()
    assert key() == base
    changed = [
        key(frame=frame.iloc[:-1]),
        key(frame=frame.assign(cte_count=frame["cte_count"].iloc[::-1].to_numpy())),
        key(synthesizer="tvae", params=resolve_params("tvae", {"epochs": 3})),
        key(params=resolve_params("ctgan", {"epochs": 4})),
        key(seed=1),
        key(device="cuda"),
        key(schema_sha256="b"),
    ]
    monkeypatch.setattr(cache, "_package_version", lambda name: "0.0.0")
    changed.append(key())  # other SDV / torch / ... versions
    monkeypatch.undo()
    monkeypatch.setattr(cache, "MODEL_VERSION", "999")
    changed.append(key())
    assert base not in changed and len(set(changed)) == len(changed)


def test_refit_replaces_and_no_cache_keeps_nothing(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame], features: pd.DataFrame, tmp_path: Path
) -> None:
    entry = _copy_cache(pristine, tmp_path)
    (entry / "marker").write_text("old entry")
    again, _ = _obtain(features, tmp_path, refit=True)
    assert again.source == "fitted" and again.entry == entry
    assert not (entry / "marker").exists()  # a new entry took its place
    assert _obtain(features, tmp_path)[0].source == "reused"
    off = tmp_path / "off"
    got, _ = _obtain(features, off, use_cache=False, out_dir=tmp_path / "m")
    assert got.source == "fitted" and got.cache_dir is None and not off.exists()
    assert (tmp_path / "m" / "synthesizer.pkl").is_file()


# --------------------------------------------------------------------------- never trusted


def _rehash(entry: Path) -> None:
    """Make entry.json's hashes match the files again (a consistent but wrong entry)."""
    data = json.loads((entry / cache.ENTRY).read_text())
    for name in data["files"]:
        data["files"][name] = hashlib.sha256((entry / name).read_bytes()).hexdigest()
    (entry / cache.ENTRY).write_text(json.dumps(data))


def _edit_json(entry: Path, name: str, change: Callable[[dict], None]) -> None:
    data = json.loads((entry / name).read_text())
    change(data)
    (entry / name).write_text(json.dumps(data))


def _truncate(e: Path) -> None:
    pkl = e / "synthesizer.pkl"
    pkl.write_bytes(pkl.read_bytes()[:100])


def _garbage_rehashed(e: Path) -> None:
    (e / "synthesizer.pkl").write_bytes(b"not a pickle")
    _rehash(e)


def _other_class_rehashed(e: Path) -> None:
    (e / "synthesizer.pkl").write_bytes(pickle.dumps({"a": "dict, not a synthesizer"}))
    _rehash(e)


def _manifest_seed_rehashed(e: Path) -> None:
    _edit_json(e, "manifest.json", lambda m: m.update(seed=99))
    _rehash(e)


def _foreign_inputs(e: Path) -> None:
    _edit_json(e, cache.ENTRY, lambda d: d["inputs"].update(seed=99))


def _foreign_key(e: Path) -> None:
    _edit_json(e, cache.ENTRY, lambda d: d.update(key="0" * 24))


CORRUPTIONS: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated pickle": (_truncate, "does not match its recorded sha256"),
    "unloadable pickle": (_garbage_rehashed, "does not load"),
    "other object": (_other_class_rehashed, "does not hold a fitted gaussian_copula"),
    "manifest of another fit": (_manifest_seed_rehashed, "manifest describes another fit"),
    "inputs of another fit": (_foreign_inputs, "fitted for other inputs"),
    "key of another entry": (_foreign_key, "is foreign"),
    "entry.json not JSON": (lambda e: (e / cache.ENTRY).write_text("{"), "not valid JSON"),
    "pickle missing": (lambda e: (e / "synthesizer.pkl").unlink(), "synthesizer.pkl is missing"),
    "manifest of a newer cimgen": (
        lambda e: (
            _edit_json(e, "manifest.json", lambda m: m["tool"].update(version="99.0")),
            _rehash(e),
        ),
        "newer than this cimgen",
    ),
}


@pytest.mark.parametrize("case", list(CORRUPTIONS))
def test_bad_entries_are_refitted_with_a_warning(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame],
    features: pd.DataFrame,
    tmp_path: Path,
    case: str,
) -> None:
    entry = _copy_cache(pristine, tmp_path)
    spoil, message = CORRUPTIONS[case]
    spoil(entry)
    got, warnings = _obtain(features, tmp_path)
    assert got.source == "fitted" and len(warnings) == 1, warnings
    assert message in warnings[0] and str(entry) in warnings[0]
    pd.testing.assert_frame_equal(_sample(got.model), pristine[2])
    again, warnings = _obtain(features, tmp_path)  # the refit replaced the bad entry
    assert again.source == "reused" and warnings == []


class _Boom:
    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.write_text, (Path(os.environ["CIMGEN_TEST_MARKER"]), "unpickled!"))


def test_a_pickle_that_does_not_match_its_hash_is_never_loaded(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame],
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = tmp_path / "marker"
    monkeypatch.setenv("CIMGEN_TEST_MARKER", str(marker))
    entry = _copy_cache(pristine, tmp_path)
    (entry / "synthesizer.pkl").write_bytes(pickle.dumps(_Boom()))
    got, warnings = _obtain(features, tmp_path)
    assert got.source == "fitted" and "sha256" in warnings[0]
    assert not marker.exists()


def _key(features: pd.DataFrame) -> cache.CacheKey:
    """The key _obtain(features, ...) uses."""
    return cache.cache_key(training_frame(features), GC, resolve_params(GC), 2, "cpu", "s")


def _hammer(root: str, model_dir: str, rounds: int) -> None:
    """Store the same entry over and over, replacing it each time (what --refit does)."""
    model, ck = load_model(Path(model_dir)), _key(demo_features(300, seed=11))
    for _ in range(rounds):
        assert cache._store(Path(root), ck, model, True, pytest.fail) == Path(root) / ck.key


def test_concurrent_stores_leave_one_complete_entry(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame], features: pd.DataFrame, tmp_path: Path
) -> None:
    """Two processes replace the same entry 30 times each while this one reads it: every
    model read is complete and samples like the original; one entry is left, no temp."""
    root, got, reference = pristine
    ck = _key(features)
    assert ck.key == got.key
    entry, models = root / "models" / ck.key, tmp_path / "models"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(models), str(entry), 30)) for _ in range(2)]
    for p in procs:
        p.start()
    while not (models / ck.key).exists() and any(p.is_alive() for p in procs):
        time.sleep(0.01)  # the children are still importing SDV
    reads, hits, warnings = 0, 0, []
    while any(p.is_alive() for p in procs):
        found = cache._lookup(models / ck.key, ck, "cpu", warnings.append)
        reads += 1
        if found is not None:
            hits += 1
            assert found[0].manifest == got.model.manifest
            if hits == 1:
                pd.testing.assert_frame_equal(_sample(found[0]), reference)
    for p in procs:
        p.join()
        assert p.exitcode == 0
    again, warned = _obtain(features, tmp_path)
    assert again.source == "reused" and warned == [], (reads, hits, warnings)
    assert [p.name for p in models.iterdir()] == [ck.key]  # no temp folders left


# --------------------------------------------------------------------------- list, clear


def test_list_and_clear(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame],
    features: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(tmp_path))
    a_entry = _copy_cache(pristine, tmp_path)
    a = pristine[1]
    b, _ = _obtain(features, tmp_path, seed=3)
    stray = tmp_path / "models" / ("c" * 24)  # someone else's folder under our name
    shutil.copytree(a_entry, stray)
    entries = {e.key: e for e in cache.list_entries(tmp_path)}
    assert set(entries) == {a.key, b.key, stray.name}
    e = entries[a.key]
    assert (e.synthesizer, e.rows, e.seed, e.device, e.problem) == (GC, 300, 2, "cpu", "")
    assert e.size_bytes == sum(p.stat().st_size for p in e.path.iterdir()) > 1000
    assert "foreign" in entries[stray.name].problem
    (stray / "synthesizer.pkl").unlink()
    assert "incomplete" in {x.key: x for x in cache.list_entries(tmp_path)}[stray.name].problem

    assert b.entry is not None
    _edit_json(b.entry, cache.ENTRY, lambda d: d.update(created="2020-01-01T00:00:00+00:00"))
    assert [x.key for x in cache.clear(tmp_path, older_than=timedelta(days=30))] == [b.key]
    assert {x.key for x in cache.list_entries(tmp_path)} == {a.key, stray.name}
    with pytest.raises(InputError, match="no cache entry with a key starting 'zz'"):
        cache.clear(tmp_path, key="zz")
    assert [x.key for x in cache.clear(tmp_path, key=a.key[:6])] == [a.key]
    rebuilt = [tmp_path / "fixtures" / "w-s0-x.duckdb", tmp_path / "grammar" / "abc.lark"]
    for p in rebuilt:  # files rebuilt when missing go with everything else
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"x")
    assert _run(["cache", "clear"]) == 0
    assert cache.list_entries(tmp_path) == []
    assert not any(p.exists() for p in rebuilt)


def test_cli_cache_list_and_clear_output(
    pristine: tuple[Path, cache.Obtained, pd.DataFrame],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(tmp_path))
    _copy_cache(pristine, tmp_path)
    got = pristine[1]
    capsys.readouterr()
    assert _run(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "models") in out and got.key[:10] in out and GC in out
    assert "1 model(s)" in out
    assert _run(["cache", "list", "--format", "json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(x["key"], x["rows"], x["synthesizer"]) for x in listed] == [(got.key, 300, GC)]
    assert _run(["cache", "clear", "--older-than", "nope"]) == 2
    err = capsys.readouterr().err
    assert "--older-than 'nope': not an age" in err and "\n" not in err.strip()
    assert _run(["cache", "clear", got.key[:8]]) == 0
    assert "removed 1 model(s)" in capsys.readouterr().out
    assert cache.parse_age("12h") == timedelta(hours=12) and cache.parse_age("7") == timedelta(7)


# --------------------------------------------------------------------------- device


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU refusal")
def test_device_without_a_gpu(
    ctgan_fit: tuple[Path, cache.Obtained, str],
    features: pd.DataFrame,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert resolve_device("auto") == "cpu" and resolve_device("cpu", "ctgan") == "cpu"
    assert resolve_device("auto", GC) == "cpu"
    with pytest.raises(ConfigError, match=r"--device cuda: torch .* sees no CUDA device"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="--device 'tpu': use one of auto, cpu, cuda"):
        resolve_device("tpu")
    table = tmp_path / "f.csv"
    features.to_csv(table, index=False)
    for argv in (
        ["generate", "--device", "cuda", "--rows", "5", "--out", str(tmp_path / "o")],
        ["fit", "--features", str(table), "--device", "cuda", "--out", str(tmp_path / "m")],
    ):
        capsys.readouterr()
        assert _run(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: --device cuda") and err.count("\n") == 1
        assert not (tmp_path / "o").exists() and not (tmp_path / "m").exists()
    model = ctgan_fit[1].model  # fitted with device="auto"
    assert model.manifest["device"] == "cpu"
    assert next(model.synthesizer._model._generator.parameters()).device.type == "cpu"


# --------------------------------------------------------------------------- progress


def _fake_fit(console: Console, epochs: int) -> str:
    """Drive fit_progress the way ctgan does: tqdm(range(epochs)) + set_description."""
    import ctgan.synthesizers.ctgan as ctgan_module

    with fit_progress("ctgan", True, console):
        bar = ctgan_module.tqdm(range(epochs), disable=False)
        for i in bar:
            bar.set_description(f"Gen. ({i}) | Discrim. (-{i})")
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_plain_progress_prints_a_line_every_5_percent() -> None:
    text = _fake_fit(Console(file=io.StringIO(), force_terminal=False, width=200), 300)
    lines = [line for line in text.splitlines() if ": epoch " in line]
    assert len(lines) == 20
    assert lines[0].startswith("fitting ctgan: epoch 15/300 (5 %)")
    assert lines[-1].startswith("fitting ctgan: epoch 300/300 (100 %)")
    assert "Gen. (299) | Discrim. (-299)" in lines[-1]
    assert text.splitlines()[0].startswith("fitting ctgan: preparing the data")
    assert "fitting ctgan: done in" in text.splitlines()[-1]
    few = _fake_fit(Console(file=io.StringIO(), force_terminal=False), 3)
    assert [line.split(",")[0] for line in few.splitlines() if ": epoch " in line] == [
        "fitting ctgan: epoch 1/3 (33 %)",
        "fitting ctgan: epoch 2/3 (66 %)",
        "fitting ctgan: epoch 3/3 (100 %)",
    ]


def test_terminal_progress_is_a_rich_bar() -> None:
    text = _fake_fit(Console(file=io.StringIO(), force_terminal=True, width=200), 30)
    assert "30/30 epochs" in text and "Gen. (29)" in text and ": epoch " not in text


def test_a_real_fit_reports_its_epochs(ctgan_fit: tuple[Path, cache.Obtained, str]) -> None:
    err = ctgan_fit[2]
    assert err.splitlines()[0] == "fitting ctgan: preparing the data (SDV transformers)…"
    assert [line.split(" (")[0] for line in err.splitlines() if ": epoch " in line] == [
        "fitting ctgan: epoch 1/1"
    ]
    assert "Gen. (" in err and "fitting ctgan: done in" in err
