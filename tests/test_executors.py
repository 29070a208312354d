"""The executor seam of `cimgen generate` (cimgen/generate/executors.py): the missing-Ray
error, and on a real local Ray cluster a worker that dies mid-chunk (retried by Ray, the
same output) and a chunk that keeps failing (the run ends with what it has, complete false).
The equality of `--executor ray` and `local` is in tests/test_generate.py."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import run_cli as _run

from cimgen.generate import executors, work

HERE = Path(__file__).resolve().parent
ARGS = ["generate", "--rows", "20", "--synthesizer", "gaussian_copula", "--seed", "5"]


def _ray_or_skip() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Ray is not installed in CI: scripts/setup.sh --dev installs cimgen[ray]")
        pytest.skip("Ray is not installed (pip install 'cimgen[ray]')")


def test_executor_ray_without_ray_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    out = tmp_path / "o"
    assert _run([*ARGS, "--out", str(out), "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'cimgen[ray]'" in err, err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_ray_address_needs_the_ray_executor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run([*ARGS, "--out", str(tmp_path / "o"), "--ray-address", "127.0.0.1:6379"]) == 2
    assert "--ray-address needs --executor ray" in capsys.readouterr().err


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    cfg = tmp_path_factory.mktemp("cfg") / "patient.yaml"  # see tests/test_generate.py
    cfg.write_text(yaml.safe_dump({"checks": {"timeout_s": 30}}))
    return ["--config", str(cfg)]


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A local Ray cluster of 2 CPUs whose worker processes read fault files from the
    folder yielded (tests/ray_hooks.py); shut down at the end of the module."""
    _ray_or_skip()
    import ray

    folder = tmp_path_factory.mktemp("faults")
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "CIMGEN_TEST_FAULTS")}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(HERE), os.environ.get("PYTHONPATH")) if p
    )
    os.environ["CIMGEN_TEST_FAULTS"] = str(folder)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"worker_process_setup_hook": "ray_hooks.install"},
    )
    try:
        yield folder
    finally:
        ray.shutdown()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@pytest.fixture(scope="module")
def clean(faults: Path, patient: list[str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "out"
    argv = [*ARGS, *patient, "--out", str(out), "--executor", "ray", "--workers", "2"]
    assert _run(argv) == 0
    return out


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_a_worker_dying_mid_chunk_is_retried_by_ray(
    faults: Path, clean: Path, patient: list[str], tmp_path: Path
) -> None:
    (faults / "die-3").touch()
    out = tmp_path / "o"
    assert _run([*ARGS, *patient, "--out", str(out), "--executor", "ray", "--workers", "2"]) == 0
    assert not (faults / "die-3").exists()  # a worker did die on structure 3
    for name in ("dataset.jsonl", "rejected.jsonl", "dataset.parquet", "structures.parquet"):
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name
    stats = json.loads((out / "stats.json").read_text())
    assert stats["complete"] is True and stats["executor"]["failed_chunk"] is None


def _decided_before(clean: Path, index: int) -> tuple[list[str], list[str]]:
    keep: dict[str, list[str]] = {}
    for name in ("dataset", "rejected"):
        keep[name] = [
            line
            for line in _lines(clean / f"{name}.jsonl")
            if json.loads(line)["provenance"]["index"] < index
        ]
    return keep["dataset"], keep["rejected"]


def _run_with_faults(faults: Path, files: dict[str, str], patient: list[str], out: Path) -> Path:
    """A 2-worker Ray run with the fault ``files`` (name -> text) in place; it must fail
    (exit 1). The files are removed afterwards; returns ``out``."""
    for name, text in files.items():
        (faults / name).write_text(text)
    try:
        argv = [*ARGS, *patient, "--out", str(out), "--executor", "ray", "--workers", "2"]
        assert _run(argv) == 1
    finally:
        for name in files:
            (faults / name).unlink()
    return out


def test_a_chunk_that_keeps_failing_ends_the_run_with_what_it_has(
    faults: Path,
    clean: Path,
    patient: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _run_with_faults(faults, {"fail-7": ""}, patient, tmp_path / "o")
    err = capsys.readouterr().err
    assert "injected failure at structure 7" in err and "failed 3 time(s)" in err, err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["complete"] is False
    failed = stats["executor"]["failed_chunk"]
    assert failed["first_index"] <= 7 <= failed["last_index"] and failed["tries"] == 3
    # every structure before the failing chunk was decided, exactly as in the clean run
    accepted, rejected = _decided_before(clean, failed["first_index"])
    assert _lines(out / "dataset.jsonl") == accepted
    assert _lines(out / "rejected.jsonl") == rejected
    assert not [p for p in out.parent.iterdir() if p.name.startswith(".")]  # no temp folder


def test_a_failure_waits_for_the_chunks_before_it(
    faults: Path,
    clean: Path,
    patient: list[str],
    tmp_path: Path,
) -> None:
    # the first chunk is still working when a later chunk has failed for good (as on a
    # loaded box): the run still ends with every structure before the failed chunk decided
    out = _run_with_faults(faults, {"slow-0": "20", "fail-7": ""}, patient, tmp_path / "o")
    failed = json.loads((out / "stats.json").read_text())["executor"]["failed_chunk"]
    assert failed["first_index"] > 0  # structure 0 sits in an earlier chunk
    accepted, rejected = _decided_before(clean, failed["first_index"])
    assert accepted and _lines(out / "dataset.jsonl") == accepted
    assert _lines(out / "rejected.jsonl") == rejected


def test_local_executor_reports_a_failing_chunk_the_same_way(
    patient: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = work.work_one

    def faulty(index: int, structure: object) -> work.Outcome:
        if index == 7:
            raise RuntimeError("injected failure at structure 7")
        return original(index, structure)  # type: ignore[arg-type]

    monkeypatch.setattr(work, "work_one", faulty)
    out = tmp_path / "o"
    assert _run([*ARGS, *patient, "--out", str(out), "--workers", "1"]) == 1
    stats = json.loads((out / "stats.json").read_text())
    failed = stats["executor"]["failed_chunk"]
    assert stats["complete"] is False and failed["tries"] == 1
    assert failed["first_index"] <= 7 <= failed["last_index"]
    assert "RuntimeError: injected failure at structure 7" in failed["error"]
    # every structure before the failing chunk was decided, in order, and none after
    indices = [
        json.loads(line)["provenance"]["index"]
        for name in ("dataset.jsonl", "rejected.jsonl")
        for line in _lines(out / name)
    ]
    assert sorted(indices) == list(range(failed["first_index"]))


def test_chunk_failed_names_the_structures_and_the_cause() -> None:
    exc = executors.ChunkFailed(16, 31, 3, "Traceback ...\nRuntimeError: boom\n")
    assert str(exc) == "structures 16-31 failed 3 time(s) (RuntimeError: boom)"
