"""The bundled Stage 1 demo corpus: ~10,000 cim_wizard question/SQL records built from a
bank of hand-written templates over the fixture database (see docs/corpus.md).

>>> next(iter_demo_records())["database_name"]
'cim_wizard'
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cimgen.paths import package_data

DEMO_CORPUS = "stage1_demo.jsonl.gz"


def load_demo_corpus() -> Path:
    """Path of the bundled demo corpus (gzip-compressed JSONL)."""
    path = package_data(DEMO_CORPUS)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: rebuild it with `python scripts/build_demo_corpus.py`"
        )
    return path


def iter_demo_records() -> Iterator[dict[str, Any]]:
    """The demo corpus records, in file order."""
    with gzip.open(load_demo_corpus(), "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)
