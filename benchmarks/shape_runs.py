"""What the realism detectors' runners share (bench_realism13b, 14a, 15b, 15c): read each
generate run's ``dataset.jsonl``, tally the shapes a detector finds per record, and print the
counts and up to 12 example ids per shape."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any


def tally(run: str | Path, found_of: Callable[[dict[str, Any]], set[str]]) -> None:
    """Print ``run``'s record count, the count of each shape ``found_of`` names per record,
    and example ids (``found_of`` may name ``not_judged`` for a record it could not read)."""
    counts: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    n = 0
    for line in (Path(run) / "dataset.jsonl").read_text().splitlines():
        record = json.loads(line)
        n += 1
        for name in found_of(record):
            counts[name] += 1
            examples.setdefault(name, []).append(record["id"])
    print(run, n, dict(sorted(counts.items())))
    for name, ids in sorted(examples.items()):
        print(f"  {name}: {' '.join(ids[:12])}")
