"""`cimgen generate` end to end: outputs, record format, determinism, workers, refusals,
bounded rounds, and Ctrl-C leaving nothing half-written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from cimgen.cli.main import main
from cimgen.models import FEATURE_NAMES

ROWS = 40
BASE = ["generate", "--rows", str(ROWS), "--synthesizer", "gaussian_copula", "--seed", "3"]


def _run(args: list[str]) -> int:
    try:
        main(args)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A generous engine time limit. Outputs are byte-identical only while no query nears
    the limit (docs/generate.md, "Determinism"); a few of these 40 queries take SpatiaLite
    ~0.7 s on an idle box and over 2 s when the shared box is busy. These tests are about
    seeds and workers, not machine load."""
    cfg = tmp_path_factory.mktemp("cfg") / "patient.yaml"
    cfg.write_text(yaml.safe_dump({"checks": {"timeout_s": 30}}))
    return ["--config", str(cfg)]


@pytest.fixture(scope="module")
def run_dir(
    tmp_path_factory: pytest.TempPathFactory, stage1_sample: Path, patient: list[str]
) -> Path:
    out = tmp_path_factory.mktemp("gen") / "out"
    assert _run([*BASE, *patient, "--out", str(out), "--workers", "1"]) == 0
    return out


def test_outputs_and_record_format(run_dir: Path) -> None:
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "dataset.jsonl",
        "dataset.parquet",
        "rejected.jsonl",
        "stats.json",
        "model",
        "README.md",
        "report.html",
    } <= names
    assert (run_dir / "model" / "manifest.json").is_file()
    records = [json.loads(line) for line in (run_dir / "dataset.jsonl").read_text().splitlines()]
    assert len(records) == ROWS
    for rec in records:
        for key in (
            "id",
            "question",
            "instruction",
            "sql_postgis",
            "sql_type",
            "difficulty_level",
            "question_tone",
            "usage_frequency",
            "database_schema",
            "spatial_functions",
            "structure",
            "features",
            "quality",
            "checks",
            "provenance",
        ):
            assert key in rec, key
        assert set(rec["structure"]) == set(FEATURE_NAMES)
        assert rec["quality"]["accepted"] is True and rec["quality"]["score"] >= 0.7
        assert rec["checks"]["grammar"] == "ok" and rec["checks"]["bind"] == "ok"
        assert rec["instruction"].endswith(rec["question"])
        assert rec["sql_postgis"].lstrip().upper().startswith(("SELECT", "WITH"))
        assert rec["dialect"] == "postgis" and rec["sql"] == rec["sql_postgis"]
        # SpatiaLite ran for the record: its outcome is stored per row
        lite = rec["checks"]["spatialite"]
        if rec["sql_spatialite"] is None:
            assert lite == {"status": "not_checkable"}
        else:
            assert lite["status"] in ("ok", "error", "planned")
            assert lite["status"] != "ok" or isinstance(lite["rows"], int)
    assert len({r["sql_postgis"] for r in records}) == ROWS
    stats = json.loads((run_dir / "stats.json").read_text())
    assert stats["accepted"] == ROWS and stats["complete"] is True
    assert stats["candidates"] == stats["accepted"] + stats["rejected"]
    assert stats["model_hash"]
    assert stats["dialect"] == "postgis" and stats["spatialite"] == "executed"
    lite = stats["dialects"]["spatialite"]
    assert lite["ran"] and not lite["target"] and lite["rows"] == ROWS
    executed = sum(r["checks"]["spatialite"]["status"] == "ok" for r in records)
    assert lite["executed"] == executed and executed > ROWS // 2
    assert stats["dialects"]["postgis"]["engine"] == "duckdb"  # no --postgis: DuckDB ran it


def test_spatialite_dialect_rows_all_ran_on_spatialite(tmp_path: Path) -> None:
    out = tmp_path / "lite"
    rows = 15
    args = ["generate", "--rows", str(rows), "--synthesizer", "gaussian_copula", "--seed", "4"]
    assert _run([*args, "--dialect", "spatialite", "--out", str(out), "--workers", "1"]) == 0
    records = [json.loads(line) for line in (out / "dataset.jsonl").read_text().splitlines()]
    assert len(records) == rows
    for rec in records:
        assert rec["dialect"] == "spatialite"
        assert rec["sql"] == rec["sql_spatialite"] and rec["sql"]
        assert rec["checks"]["spatialite"]["status"] == "ok"
        assert isinstance(rec["checks"]["spatialite"]["rows"], int)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["dialect"] == "spatialite"
    lite = stats["dialects"]["spatialite"]
    assert lite["target"] and lite["executed"] == rows and lite["executed_pct"] == 100.0
    nonempty = sum(bool(r["checks"]["spatialite"]["rows"]) for r in records)
    assert lite["nonempty"] == nonempty
    # what SpatiaLite cannot run is rejected, with its own finding
    for line in (out / "rejected.jsonl").read_text().splitlines():
        rec = json.loads(line)
        codes = {f["code"] for f in rec["findings"] if f["severity"] == "error"}
        if rec["sql_spatialite"] is None and rec["checks"].get("spatialite"):
            assert "SPL002" in codes
    card = (out / "README.md").read_text()
    assert "every row's `sql` ran on SpatiaLite" in card


def test_dialect_must_be_known_and_spatialite_must_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"generate": {"dialect": "sqlite"}}))
    assert _run([*BASE, "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "generate.dialect 'sqlite' is unknown. Use postgis or spatialite." in err
    # a machine without mod_spatialite: the SpatiaLite dialect names the fix, the default
    # dialect goes on without SpatiaLite and says so
    from cimgen.engines import spatialite
    from cimgen.errors import ConfigError, DatabaseError
    from cimgen.generate.options import GenerateOptions
    from cimgen.generate.pipeline import _spatialite
    from cimgen.schema import load_schema

    monkeypatch.setattr(spatialite, "unavailable", lambda: "cannot load mod_spatialite (x)")
    schema = load_schema("cim_wizard")
    with pytest.raises(DatabaseError, match="--dialect spatialite: cannot load mod_spatialite"):
        _spatialite(GenerateOptions(out=tmp_path, dialect="spatialite"), schema)
    assert _spatialite(GenerateOptions(out=tmp_path), schema) == "cannot load mod_spatialite (x)"
    # checks.execute_spatialite: false skips the record-only run, never the target's
    off = GenerateOptions(out=tmp_path, execute_spatialite=False)
    assert _spatialite(off, schema) == "off (checks.execute_spatialite: false)"
    with pytest.raises(ConfigError, match=r"remove checks\.execute_spatialite: false"):
        _spatialite(replace(off, dialect="spatialite"), schema)


def test_same_seed_is_byte_identical_and_workers_do_not_matter(
    run_dir: Path, tmp_path: Path, patient: list[str]
) -> None:
    again = tmp_path / "again"
    assert _run([*BASE, *patient, "--out", str(again), "--workers", "2"]) == 0
    for name in ("dataset.jsonl", "rejected.jsonl", "dataset.parquet", "structures.parquet"):
        assert (run_dir / name).read_bytes() == (again / name).read_bytes(), name


def test_refuses_non_empty_out_unless_overwrite(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert _run([*BASE, "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert _run([*BASE, "--out", str(out), "--overwrite"]) == 0
    assert not (out / "keep.txt").exists() and (out / "dataset.jsonl").exists()


def test_config_unknown_key_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"checks": {"timeout_seconds": 3}}))
    assert _run([*BASE, "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'checks.timeout_seconds'" in err and str(cfg) in err
    assert not (tmp_path / "o").exists()


def test_bounded_rounds_name_the_check_that_rejects_most(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "strict.yaml"
    # an unreachable overall threshold: nothing can be accepted
    cfg.write_text(
        yaml.safe_dump(
            {
                "generate": {"max_rounds": 2, "oversample": 1.0},
                "score": {"thresholds": {"overall": 1.01}},
            }
        )
    )
    out = tmp_path / "o"
    assert _run([*BASE, "--rows", "10", "--out", str(out), "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "stopped after 2 rounds with 0 of 10" in err and "overall" in err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["complete"] is False and stats["accepted"] == 0 and stats["rejected"] == 20


def test_ctrl_c_leaves_nothing_half_written(tmp_path: Path) -> None:
    out = tmp_path / "big"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cimgen.cli",
            "generate",
            "--rows",
            "100000",
            "--synthesizer",
            "gaussian_copula",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
    )
    time.sleep(12)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left either
