"""``benchmarks/bench_fit_gpu.sh``: the prepared CPU-vs-CUDA fit benchmark stops with a
one-line error (exit 2) where it cannot run, before any work (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_fit_gpu.sh"


def _run(**env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(SCRIPT)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_stops_at_once() -> None:
    done = _run(PY=sys.executable)
    assert done.returncode == 2, done.stderr
    assert "sees no CUDA device" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stdout == ""


def test_a_python_without_cimgen_needs_is_named(tmp_path: Path) -> None:
    done = _run(PY=str(tmp_path / "no-python"))
    assert done.returncode == 2
    assert "cannot import cimgen's needs" in done.stderr
    assert "no-python" in done.stderr
