"""The report stage: report.html (rendered in a real headless Chromium) and the dataset card.

The output folder under test is made by the real pipeline (``run_generate``) on the Stage 1
sample, with the fast GaussianCopula synthesizer, so the report reads what
``cimgen generate`` really writes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from cimgen.errors import InputError
from cimgen.io import read_jsonl
from cimgen.models import FEATURE_NAMES
from cimgen.report import write_card, write_report
from cimgen.report.card import FIELDS, size_category, undocumented
from cimgen.report.data import MAX_NUMERIC_BINS, distribution, load, shape_score
from cimgen.score import ScoreConfig

RUN_SCORE = ScoreConfig(
    weights={
        "syntactic": 0.25,
        "schema": 0.35,
        "semantic": 0.2,
        "complexity": 0.1,
        "diversity": 0.1,
    },
    thresholds={
        "overall": 0.75,
        "syntactic": 0.9,
        "schema": 0.8,
        "semantic": 0.6,
        "diversity": 0.5,
    },
)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SECTIONS = (
    "Overview",
    "Fidelity: Stage 1 vs synthetic",
    "Acceptance and rejection",
    "Pass rate per sql_type and engine",
    "Coverage",
    "Novelty and diversity",
    "Examples",
    "Run",
)


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory, stage1_sample: Path) -> Path:
    from rich.console import Console

    from cimgen.generate import GenerateOptions, run_generate

    out = tmp_path_factory.mktemp("report") / "stage2"
    # not the default ScoreConfig, so the card must describe the run as it ran
    opts = GenerateOptions(
        score=RUN_SCORE,
        out=out,
        stage1=stage1_sample,
        rows=60,
        synthesizer="gaussian_copula",
        seed=5,
        progress=False,
        report=False,
        max_rounds=3,
    )
    run_generate(opts, Console(stderr=True, quiet=True))
    assert (out / "dataset.jsonl").is_file() and (out / "stats.json").is_file()
    return out


@pytest.fixture(scope="module")
def report(out_dir: Path) -> Path:
    return write_report(out_dir)


def _rows(path: Path) -> list[dict]:
    return read_jsonl(path)


# --------------------------------------------------------------------------- HTML content


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external scripts, styles, images or fonts.
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert not re.search(r"url\(", html)
    urls = set(re.findall(r"https?://[^\s\"'<>]+", html))
    assert urls <= {"http://www.w3.org/2000/svg"}, urls


def test_report_has_every_section_and_feature(report: Path, out_dir: Path) -> None:
    html = report.read_text(encoding="utf-8")
    for title in SECTIONS:
        assert f"<h2>{title}</h2>" in html
    for feature in FEATURE_NAMES:
        assert f"<b>{feature}</b>" in html, feature
    stats = json.loads((out_dir / "stats.json").read_text())
    assert f">{stats['accepted']:,}<" in html  # the overview tile shows the real count


def test_report_examples_come_from_the_dataset(report: Path, out_dir: Path) -> None:
    html = report.read_text(encoding="utf-8")
    accepted = _rows(out_dir / "dataset.jsonl")
    rejected = _rows(out_dir / "rejected.jsonl")
    data = load(out_dir)
    assert len(data.accepted_examples) == min(12, len(accepted))
    # Round robin across sql_types: as many types as the dataset offers (up to 12).
    types_available = {r["sql_type"] for r in accepted}
    assert len({r["sql_type"] for r in data.accepted_examples}) == min(12, len(types_available))
    assert html.count('class="card accepted"') == len(data.accepted_examples)
    from html import escape

    for row in data.accepted_examples:
        assert escape(row["question"]) in html
        assert escape(row["sql_postgis"]) in html
    if rejected:
        assert 1 <= html.count('class="card rejected"') <= 4
        first_codes = {r["findings"][0]["code"] for r in data.rejected_examples}
        assert len(first_codes) == len(data.rejected_examples)  # one example per first code
        for code in first_codes:
            assert f"<b>{code}</b>" in html


def test_report_is_deterministic(out_dir: Path, report: Path) -> None:
    first = report.read_bytes()
    assert write_report(out_dir).read_bytes() == first


def test_report_counts_match_the_files(out_dir: Path) -> None:
    data = load(out_dir)
    accepted = _rows(out_dir / "dataset.jsonl")
    rejected = _rows(out_dir / "rejected.jsonl")
    assert (data.n_accepted, data.n_rejected) == (len(accepted), len(rejected))
    assert sum(data.score_hist["accepted"]) == len(accepted)
    codes = Counter(
        f["code"] for r in rejected for f in r["findings"] if f.get("severity", "error") == "error"
    )
    assert data.finding_codes == codes
    for d in data.distributions:
        for name, shares in d.shares.items():
            if d.counts[name]:
                assert sum(shares) == pytest.approx(100.0), (d.feature, name)


def test_question_lengths_are_reported(out_dir: Path, report: Path) -> None:
    """stats.json's question length figures are the dataset's (issue 17), and the report
    shows them."""
    questions = (json.loads((out_dir / "stats.json").read_text())).get("questions", {})
    words = sorted(len(r["question"].split()) for r in _rows(out_dir / "dataset.jsonl"))
    n = len(words)
    median = words[n // 2] if n % 2 else (words[n // 2 - 1] + words[n // 2]) / 2
    assert questions["words_median"] == median
    assert questions["words_p90"] == words[-(-9 * n // 10) - 1]  # nearest rank
    assert "question words, median / p90" in report.read_text(encoding="utf-8")


def test_missing_output_folder_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"stats\.json: file not found"):
        write_report(tmp_path)
    (tmp_path / "stats.json").write_text("{}\n")
    (tmp_path / "dataset.jsonl").write_text('{"id": 1}\n{oops\n')
    with pytest.raises(InputError, match=r"dataset\.jsonl line 2: invalid JSON"):
        write_report(tmp_path)
    assert not (tmp_path / "report.html").exists()


# --------------------------------------------------------------------------- small units


def test_numeric_distribution_bins_wide_ranges() -> None:
    d = distribution("complexity_score", {"a": list(range(31)), "b": [0, 0, 30]})
    assert len(d.categories) <= MAX_NUMERIC_BINS
    assert d.categories[0] == "0–2" and d.categories[-1].startswith("≥")
    assert sum(d.shares["a"]) == pytest.approx(100.0)
    assert d.shares["b"][0] == pytest.approx(200 / 3)


def test_categorical_distribution_uses_the_documented_order() -> None:
    d = distribution("difficulty_level", {"a": ["HARD", "EASY", "EXPERT"], "b": ["EASY"]})
    assert d.categories == ["EASY", "HARD", "EXPERT"]
    assert d.shares["b"] == [100.0, 0.0, 0.0]


def test_shape_score_matches_sdmetrics(out_dir: Path) -> None:
    import pandas as pd
    from sdmetrics.single_column import KSComplement, TVComplement

    real = pd.read_parquet(out_dir / "stage1_features.parquet")
    synthetic = pd.DataFrame([r["features"] for r in _rows(out_dir / "dataset.jsonl")])
    for feature in ("join_count", "complexity_score", "sql_type", "aggregation"):
        metric = KSComplement if feature in ("join_count", "complexity_score") else TVComplement
        expected = metric.compute(real[feature], synthetic[feature])
        assert shape_score(feature, list(real[feature]), list(synthetic[feature])) == (
            pytest.approx(expected, abs=1e-9)
        )


# --------------------------------------------------------------------------- browser


def _require_chromium() -> None:
    if not Path(CHROMIUM).is_file():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"chromium not found at {CHROMIUM}: CI must install Debian's chromium")
        pytest.skip("chromium is not installed (apt-get install chromium)")


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    profile = tmp_path / "profile"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


def _png_residuals(path: Path) -> tuple[int, int, bytes]:
    """Width, height and the decompressed (still filtered) scanlines of a PNG.

    PNG filters store each byte as its difference from a neighbour, so on a blank page the
    residuals are almost all zero; a drawn page has non-zero residuals on most rows. That is
    enough to tell "blank" from "drawn" without a full decoder.
    """
    blob = path.read_bytes()
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(blob):
        length, kind = struct.unpack(">I4s", blob[pos : pos + 8])
        if kind == b"IHDR":
            width, height = struct.unpack(">II", blob[pos + 8 : pos + 16])
        elif kind == b"IDAT":
            idat += blob[pos + 8 : pos + 8 + length]
        pos += 12 + length
    return width, height, zlib.decompress(idat)


def test_plots_render_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    _require_chromium()
    done = _chromium(tmp_path, "--dump-dom", report.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    # The script ran: it built the table of contents and counted plots and marks.
    assert dom.count('class="toc-link"') == len(SECTIONS)
    n_plots = int(re.search(r'<body[^>]* data-plots="(\d+)"', dom).group(1))
    n_marks = int(re.search(r'<body[^>]* data-marks="(\d+)"', dom).group(1))
    plots = dom.split('<svg class="plot"')[1:]
    assert n_plots == len(plots) >= len(FEATURE_NAMES) + 5
    # Every plot drew data marks, and the per-feature plots drew one per series and value.
    marks = [p.split("</svg>")[0].count('class="mark"') for p in plots]
    assert all(m > 0 for m in marks), marks
    assert n_marks == sum(marks)


def test_screenshot_is_not_blank(report: Path, tmp_path: Path) -> None:
    _require_chromium()
    png = tmp_path / "report.png"
    done = _chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,4000", report.as_uri())
    assert done.returncode == 0 and png.is_file(), done.stderr[-2000:]
    assert png.stat().st_size > 100_000  # a blank page of this size compresses to a few KB
    width, height, raw = _png_residuals(png)
    assert (width, height) == (1280, 4000)
    stride = len(raw) // height
    assert 1 - raw.count(0) / len(raw) > 0.01  # a blank page: ~0.0003
    drawn_rows = sum(
        1 for y in range(height) if raw[y * stride + 1 : (y + 1) * stride].count(0) < stride - 9
    )
    assert drawn_rows > 0.25 * height  # a blank page: none


# --------------------------------------------------------------------------- the card


def test_card_front_matter_and_sections(out_dir: Path, stage1_sample: Path) -> None:
    text = write_card(out_dir).read_text(encoding="utf-8")
    assert text.startswith("---\n")
    front = yaml.safe_load(text.split("---\n")[1])
    stats = json.loads((out_dir / "stats.json").read_text())
    assert front["license"] == "mit"
    assert front["language"] == ["en"]
    assert {"text-to-sql", "postgis", "spatial"} <= set(front["tags"])
    assert set(front["task_categories"]) == {"text-generation", "table-question-answering"}
    assert front["size_categories"] == [size_category(stats["accepted"])]
    assert front["annotations_creators"] == ["machine-generated"]
    for heading in (
        "## Dataset summary",
        "### Stage 1, Stage 2, Stage 3",
        "## Dataset structure",
        "### Data instances",
        "### Data fields",
        "### Data splits",
        "## Dataset creation",
        "### Source data",
        "### How it was generated",
        "### Quality filter",
        "## Statistics",
        "## Limitations",
        "## Licence",
        "## Citation",
    ):
        assert heading in text
    assert "BUSL-1.1" in text and "@misc{cimgen_stage2_" in text
    assert f"| accepted samples | {stats['accepted']:,} |" in text
    assert f"seed {stats['seed']}" in text
    # the ScoreConfig the run used, not the defaults
    assert "Weights and thresholds as this run used them" in text
    assert "| schema | 0.35 | 0.80 |" in text and "| syntactic | 0.25 | 0.90 |" in text
    assert "| overall | – | 0.75 |" in text
    assert "| schema | 0.30 |" not in text
    # the source corpus and its hash
    digest = hashlib.sha256(stage1_sample.read_bytes()).hexdigest()
    assert "`stage1_sample.jsonl`" in text and digest in text
    # an example record: the first row of the dataset, as JSON
    block = text.split("```json\n", 1)[1].split("\n```", 1)[0]
    first = _rows(out_dir / "dataset.jsonl")[0]
    assert json.loads(block)["id"] == first["id"]
    assert json.loads(block)["sql_postgis"] == first["sql_postgis"][:400] + (
        " …" if len(first["sql_postgis"]) > 400 else ""
    )
    assert "Also present" not in text  # every field is documented


def test_card_and_report_say_na_for_what_was_not_measured(out_dir: Path) -> None:
    stats = json.loads((out_dir / "stats.json").read_text())
    assert stats["postgis"] is False and stats["agreement"]["agree_pct"] is None
    text = write_card(out_dir).read_text(encoding="utf-8")
    assert "| DuckDB / PostGIS result agreement | n/a (no query ran on both engines) |" in text
    assert "| PostGIS execution ok | n/a (not run) |" in text
    html = write_report(out_dir).read_text(encoding="utf-8")
    assert "Cross-engine agreement: n/a" in html


def test_per_sql_type_rates_leave_out_what_was_not_checkable(out_dir: Path) -> None:
    stats = json.loads((out_dir / "stats.json").read_text())
    rows = [
        json.loads(line)
        for name in ("dataset.jsonl", "rejected.jsonl")
        for line in (out_dir / name).read_text().splitlines()
    ]
    for sql_type, figures in stats["per_sql_type"].items():
        duck = [r["checks"].get("duckdb") for r in rows if r["sql_type"] == sql_type]
        duck = [d for d in duck if d]
        checked = [d for d in duck if d["status"] != "not_checkable"]
        assert figures["duckdb_checked"] == len(checked), sql_type
        assert figures["duckdb_not_checkable"] == len(duck) - len(checked), sql_type
        ok = [d for d in checked if d["status"] in ("ok", "planned")]
        expected = round(100.0 * len(ok) / len(checked), 2) if checked else None
        assert figures["duckdb_ok_pct"] == expected, sql_type


def test_result_sizes_and_unexecuted_reasons_match_the_records(out_dir: Path) -> None:
    stats = json.loads((out_dir / "stats.json").read_text())
    accepted = _rows(out_dir / "dataset.jsonl")
    executed = [r["checks"]["duckdb"]["rows"] for r in accepted if "rows" in r["checks"]["duckdb"]]
    sizes = stats["result_sizes"]["duckdb"]
    assert sizes["executed"] == len(executed) and sum(sizes["bins"].values()) == len(executed)
    assert sizes["empty"] == sizes["bins"]["0"] == executed.count(0)
    assert sizes["bins"][">100"] == sum(1 for n in executed if n > 100)
    unexecuted = [r for r in accepted if "rows" not in r["checks"]["duckdb"]]
    assert stats["accepted_not_executed"] == len(unexecuted)
    unchecked = [r for r in unexecuted if r["checks"]["duckdb"]["status"] == "not_checkable"]
    assert stats["accepted_unverified"] == len(unchecked)
    for row in unexecuted:  # every one says why, per engine
        assert row["checks"]["duckdb"]["reason"] and row["checks"]["postgis"]["status"] == "not_run"
    reasons = Counter(r["checks"]["duckdb"]["reason"] for r in unexecuted)
    listed = {
        x["reason"]: x["count"] for x in stats["unverified_reasons"] if x["engine"] == "duckdb"
    }
    assert listed == dict(reasons)
    html = write_report(out_dir).read_text(encoding="utf-8")
    assert "Result sizes of accepted samples" in html
    assert f"Accepted samples no engine executed ({len(unexecuted):,})" in html
    card = write_card(out_dir).read_text(encoding="utf-8")
    assert f"| duckdb | {len(executed):,} | {executed.count(0):,} |" in card


def test_card_documents_every_dataset_field(out_dir: Path) -> None:
    rows = _rows(out_dir / "dataset.jsonl")
    assert rows
    for row in rows:
        assert undocumented(row) == [], row["id"]
    assert undocumented({"id": 1, "surprise": 2, "quality": {"score": 1, "new": 0}}) == [
        "surprise",
        "quality.new",
    ]
    assert all(FIELDS[k] for k in FIELDS)


def test_size_categories() -> None:
    assert [size_category(n) for n in (0, 999, 1000, 50_000, 100_000, 2_000_000)] == [
        "n<1K",
        "n<1K",
        "1K<n<10K",
        "10K<n<100K",
        "100K<n<1M",
        "1M<n<10M",
    ]
