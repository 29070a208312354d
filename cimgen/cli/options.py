"""Ranges shared by the options of several commands, so ``--help`` shows them and a value
out of range is one line naming the option before any work (docs/generate.md)."""

from __future__ import annotations

from typing import Any

from cimgen.generate.options import LIMITS

# seeds feed numpy, which takes 0 .. 2**32 - 1
SEED: dict[str, Any] = {"min": LIMITS["seed"].low, "max": LIMITS["seed"].high}
# seconds per query and engine
TIMEOUT: dict[str, Any] = {"min": LIMITS["timeout_s"].low, "max": LIMITS["timeout_s"].high}
ROWS: dict[str, Any] = {"min": LIMITS["rows"].low, "max": LIMITS["rows"].high}
EPOCHS: dict[str, Any] = {"min": LIMITS["epochs"].low, "max": LIMITS["epochs"].high}
