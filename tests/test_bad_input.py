"""Bad input, table-driven, across every command that reads a file or takes a count.

Each case runs the real CLI in-process and checks what a user sees: exit code 2 and exactly
one line on stderr that names the problem (or, for skipped lines, exit 0 and the count on
screen), never a traceback, and nothing left behind: no output, no temporary file or folder.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from cimgen.cli.main import main

GOOD = {
    "id": "g",
    "question": "Buildings?",
    "sql_postgis": "SELECT b.id FROM cim_vector.building b",
}
UNREACHABLE = "postgresql://nobody@127.0.0.1:9/none"  # port 9 (discard): nothing listens


def _jsonl(path: Path, *records: object) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return str(path)


def _bytes(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _truncated_gz(path: Path) -> str:
    whole = gzip.compress(("\n".join([json.dumps(GOOD)] * 500) + "\n").encode(), mtime=0)
    return _bytes(path, whole[: len(whole) // 2])


def _mixed(path: Path) -> str:
    lines = [json.dumps(GOOD).encode(), b"\xff\xfe broken", b"{oops", json.dumps(GOOD).encode()]
    return _bytes(path, b"\n".join(lines) + b"\n")


def _read_only_dir(tmp: Path) -> Path:
    """A folder nobody may write in. Root ignores permission bits, so there sysfs (which
    refuses new entries even to root) stands in for it."""
    if os.geteuid() == 0:
        return Path("/sys/fs")
    ro = tmp / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    return ro


@dataclass(frozen=True)
class Case:
    name: str
    argv: Callable[[Path], list[str]]
    said: str  # text the one line must contain
    code: int = 2


FAST_GEN = ["generate", "--synthesizer", "gaussian_copula", "--rows", "5"]

CASES = [
    # ---- Stage 1 corpora (generate, features, fit, corpus stats)
    Case(
        "missing corpus",
        lambda t: [*FAST_GEN, "--stage1", str(t / "nope.jsonl"), "--out", str(t / "o")],
        "nope.jsonl: file not found",
    ),
    Case(
        "empty corpus",
        lambda t: [*FAST_GEN, "--stage1", _bytes(t / "e.jsonl", b""), "--out", str(t / "o")],
        "file is empty",
    ),
    Case(
        "binary corpus",
        lambda t: [
            "features",
            "--stage1",
            _bytes(t / "b.jsonl", bytes(range(256)) * 8),
            "--out",
            str(t / "f.csv"),
        ],
        "not JSON Lines",
    ),
    Case(
        "truncated gzip",
        lambda t: [*FAST_GEN, "--stage1", _truncated_gz(t / "t.jsonl.gz"), "--out", str(t / "o")],
        "gzip stream is truncated or corrupt",
    ),
    Case(
        "not gzip at all",
        lambda t: ["fit", "--stage1", _jsonl(t / "n.jsonl.gz", GOOD), "--out", str(t / "m")],
        "not a gzip file",
    ),
    Case(
        "a JSON array in a .jsonl file",
        lambda t: [
            "features",
            "--stage1",
            _bytes(t / "a.jsonl", json.dumps([GOOD, GOOD]).encode()),
            "--out",
            str(t / "f.csv"),
        ],
        "holds a JSON array, not JSON Lines",
    ),
    Case(
        "wrong field names",
        lambda t: [
            "features",
            "--stage1",
            _jsonl(t / "w.jsonl", {"id": 1, "query": "SELECT 1"}),
            "--out",
            str(t / "f.csv"),
        ],
        "no record has the SQL field 'sql_postgis' (fields seen: id, query)",
    ),
    Case(
        "an --id-field no record has",
        lambda t: [
            "features",
            "--stage1",
            _jsonl(t / "i.jsonl", GOOD),
            "--id-field",
            "key",
            "--out",
            str(t / "f.csv"),
        ],
        "no record has the id field 'key'",
    ),
    Case(
        "a .csv corpus that is not UTF-8",
        lambda t: [
            "corpus",
            "stats",
            "--stage1",
            _bytes(t / "c.csv", b"id,sql_postgis\n1,SELECT '\xff'\n"),
        ],
        "line 2: not UTF-8 text",
    ),
    Case(
        "mixed good and bad lines are skipped and counted",
        lambda t: ["features", "--stage1", _mixed(t / "m.jsonl"), "--out", str(t / "f.csv")],
        "skipped: invalid JSON (first lines 3)",
        code=0,
    ),
    # ---- counts and option combinations
    Case(
        "generate --rows -5",
        lambda t: [*FAST_GEN, "--rows", "-5", "--out", str(t / "o")],
        "'--rows'",
    ),
    Case(
        "generate --workers 0",
        lambda t: [*FAST_GEN, "--workers", "0", "--out", str(t / "o")],
        "'--workers'",
    ),
    Case(
        "generate --oversample 0",
        lambda t: [*FAST_GEN, "--oversample", "0", "--out", str(t / "o")],
        "'--oversample'",
    ),
    Case(
        "generate --seed -1",
        lambda t: [*FAST_GEN, "--seed", "-1", "--out", str(t / "o")],
        "'--seed'",
    ),
    Case(
        "generate --min-score 1.5",
        lambda t: [*FAST_GEN, "--min-score", "1.5", "--out", str(t / "o")],
        "'--min-score'",
    ),
    Case(
        "generate --epochs with gaussian_copula",
        lambda t: [*FAST_GEN, "--epochs", "10", "--out", str(t / "o")],
        "--epochs: gaussian_copula is not trained in epochs",
    ),
    Case(
        "fit --epochs 0",
        lambda t: [
            "fit",
            "--stage1",
            _jsonl(t / "g.jsonl", GOOD),
            "--epochs",
            "0",
            "--out",
            str(t / "m"),
        ],
        "'--epochs'",
    ),
    Case(
        "fit --epochs with gaussian_copula",
        lambda t: [
            "fit",
            "--stage1",
            _jsonl(t / "g.jsonl", GOOD),
            "--synthesizer",
            "gaussian_copula",
            "--epochs",
            "5",
            "--out",
            str(t / "m"),
        ],
        "--epochs: gaussian_copula is not trained in epochs",
    ),
    Case(
        "sample --rows 0",
        lambda t: ["sample", "--model", str(t), "--rows", "0", "--out", str(t / "s.csv")],
        "'--rows'",
    ),
    Case(
        "sample from a folder that is no model",
        lambda t: [
            "sample",
            "--model",
            str(t / "nomodel"),
            "--rows",
            "5",
            "--out",
            str(t / "s.csv"),
        ],
        "nomodel",
    ),
    Case(
        "compare --rows -1",
        lambda t: ["compare", "--stage1", _jsonl(t / "g.jsonl", GOOD), "--rows", "-1"],
        "'--rows'",
    ),
    Case("bench --rows 0", lambda t: ["bench", "--rows", "0"], "'--rows'"),
    Case(
        "validate --timeout 0", lambda t: ["validate", "SELECT 1", "--timeout", "0"], "'--timeout'"
    ),
    Case(
        "validate a binary corpus",
        lambda t: ["validate", _bytes(t / "b.jsonl", b"\x00\x01\xff\n\xfe\n")],
        "not JSON Lines",
    ),
    # ---- schemas and config files
    Case(
        "bad YAML schema",
        lambda t: [
            "validate",
            "SELECT 1",
            "--schema",
            _bytes(t / "s.yaml", b"name: x\nschemas: {cim_vector: [1, 2\n"),
        ],
        "s.yaml",
    ),
    Case(
        "bad DDL schema",
        lambda t: [
            "schema",
            "show",
            "--schema",
            _bytes(t / "bad.sql", b"CREATE TABLE cim_vector.b (id integer,,);\n"),
        ],
        "bad.sql",
    ),
    Case(
        "invalid YAML config",
        lambda t: [
            *FAST_GEN,
            "--config",
            _bytes(t / "c.yaml", b"generate: [1, 2\n"),
            "--out",
            str(t / "o"),
        ],
        "not valid YAML/JSON",
    ),
    Case(
        "config count out of range",
        lambda t: [
            *FAST_GEN,
            "--config",
            _bytes(t / "c.yaml", b"generate: {max_rounds: 0}\n"),
            "--out",
            str(t / "o"),
        ],
        "generate.max_rounds = 0 must be a whole number from 1 to",
    ),
    # ---- databases and output paths
    Case(
        "unreachable PostGIS for generate",
        lambda t: [*FAST_GEN, "--postgis", UNREACHABLE, "--out", str(t / "o")],
        "cannot connect to PostgreSQL at 127.0.0.1:9/none",
    ),
    Case(
        "unreachable PostGIS for validate",
        lambda t: ["validate", "SELECT 1", "--execute", "postgis", "--postgis", UNREACHABLE],
        "cannot connect to PostgreSQL",
    ),
    Case(
        "generate --out is a file",
        lambda t: [*FAST_GEN, "--out", _bytes(t / "file.txt", b"x")],
        "file.txt: is a file, not a folder",
    ),
    Case(
        "generate --out in a read-only folder",
        lambda t: [*FAST_GEN, "--out", str(_read_only_dir(t) / "out")],
        "cannot write",
    ),
    Case(
        "features --out in a read-only folder",
        lambda t: [
            "features",
            "--stage1",
            _jsonl(t / "g.jsonl", GOOD),
            "--out",
            str(_read_only_dir(t) / "f.csv"),
        ],
        "Check the path and its permissions",
    ),
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    work.mkdir()
    argv = case.argv(work)
    inputs = _tree(work)  # the files the case wrote before running
    with pytest.raises(SystemExit) as info:
        main(argv)
        raise SystemExit(0)  # main returns on success
    captured = capsys.readouterr()
    shown = captured.out + captured.err
    assert "Traceback" not in shown
    assert info.value.code == case.code, shown
    if case.code == 2:
        lines = [line for line in captured.err.splitlines() if line.strip()]
        assert len(lines) == 1, captured.err
        assert lines[0].startswith("error: ") and case.said in lines[0], lines[0]
        assert _tree(work) == inputs, "something was left behind"
        if argv[0] == "generate":  # nor beside --out (a read-only case writes nowhere)
            assert not [p for p in work.iterdir() if p.name.startswith(".")]
    else:
        assert case.said in " ".join(shown.split()), shown


def test_at_least_twenty_cases_and_every_command(tmp_path: Path) -> None:
    commands = {c.argv(tmp_path)[0] for c in CASES}
    assert len(CASES) >= 20
    assert {"generate", "features", "fit", "sample", "compare", "bench", "validate"} <= commands
