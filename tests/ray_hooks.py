"""Faults injected into Ray worker processes by tests/test_executors.py.

Ray runs :func:`install` in every worker process it starts (``worker_process_setup_hook``),
including an actor it restarts. With ``CIMGEN_TEST_FAULTS`` naming a folder, a file
``die-<i>`` there makes the worker process exit while working on structure ``i`` (once: the
file is removed first), ``fail-<i>`` makes structure ``i`` raise on every try, and
``slow-<i>`` makes structure ``i`` wait the seconds the file holds first.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def install() -> None:
    folder = os.environ.get("CIMGEN_TEST_FAULTS")
    if not folder:
        return
    from cimgen.generate import work

    original = work.work_one

    def faulty(index: int, structure: Any) -> Any:
        die = Path(folder) / f"die-{index}"
        if die.exists():
            die.unlink()
            os._exit(1)  # the process dies mid-chunk, as if killed
        slow = Path(folder) / f"slow-{index}"
        if slow.exists():
            time.sleep(float(slow.read_text()))
        if (Path(folder) / f"fail-{index}").exists():
            raise RuntimeError(f"injected failure at structure {index}")
        return original(index, structure)

    work.work_one = faulty
