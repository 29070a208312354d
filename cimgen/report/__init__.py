"""The report stage: ``report.html`` and the dataset card ``README.md`` of an output folder.

Both read only the files ``cimgen generate`` wrote (stats.json, dataset.jsonl,
rejected.jsonl, stage1_features.parquet, structures.parquet), so they can be rebuilt at any
time from a finished run, and both are written atomically.
"""

from __future__ import annotations

from pathlib import Path

from cimgen.io import atomic_text


def write_report(out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` (self-contained, opens offline); return its path."""
    from cimgen.report import data, html

    out_dir = Path(out_dir)
    text = html.render(data.load(out_dir))
    target = out_dir / "report.html"
    with atomic_text(target) as fh:
        fh.write(text)
    return target


def write_card(out_dir: Path, license_id: str = "mit") -> Path:
    """Write the Hugging Face style dataset card ``out_dir/README.md``; return its path."""
    from cimgen.report import card

    out_dir = Path(out_dir)
    text = card.render(out_dir, license_id=license_id)
    target = out_dir / "README.md"
    with atomic_text(target) as fh:
        fh.write(text)
    return target


__all__ = ["write_card", "write_report"]
