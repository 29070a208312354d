"""Feature extraction: YAML cases, corpus behaviour, and the CLI."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from cimgen.cli.main import app
from cimgen.features import (
    SkipReport,
    SQLParseError,
    complexity_score,
    extract_features,
    features_frame,
    iter_features,
)
from cimgen.ingest import read_stage1
from cimgen.models import FEATURE_NAMES, QueryFeatures
from cimgen.schema import load_schema

CASES = yaml.safe_load((Path(__file__).parent / "cases" / "features.yaml").read_text())
SCHEMA = load_schema("cim_wizard")


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_feature_case(case: dict) -> None:
    got = extract_features(case["sql"], SCHEMA, case.get("labels"))
    for key, want in case["expect"].items():
        assert getattr(got, key) == want, f"{key}: got {getattr(got, key)!r}, want {want!r}"


def test_complexity_score_is_capped_and_consistent() -> None:
    big = QueryFeatures(cte_count=5, join_count=10, subquery_count=5)
    assert complexity_score(big) == 10
    f = extract_features("SELECT 1 FROM a.t x JOIN b.u y ON x.i = y.i JOIN c.v z ON z.i = y.i")
    assert f.complexity_score == complexity_score(f) == 2 + 2  # two joins + two extra schemas


@pytest.mark.parametrize(
    "sql",
    ["SELEC 1", "DELETE FROM cim_vector.building", "SELECT 1; SELECT 2", "SELECT 3LIMIT 1"],
)
def test_rejects_invalid_or_non_select(sql: str) -> None:
    with pytest.raises(SQLParseError):
        extract_features(sql)


def test_stage1_sample_59_accepted_41_skipped(stage1_sample: Path) -> None:
    skipped = SkipReport()
    pairs = list(iter_features(read_stage1(stage1_sample), SCHEMA, skipped))
    assert len(pairs) == 59
    assert skipped.total == 41
    frame = features_frame(pairs)
    assert list(frame.columns) == ["id", *FEATURE_NAMES]
    assert frame["table_count"].min() >= 1
    # schema_count never exceeds table_count, by definition
    assert (frame["schema_count"] <= frame["table_count"]).all()


def test_features_cli_writes_table_and_reports_skips(stage1_sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "f.parquet"
    result = CliRunner().invoke(
        app, ["features", "--stage1", str(stage1_sample), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "41" in result.output and "59" in result.output
    import pandas as pd

    frame = pd.read_parquet(out)
    assert len(frame) == 59 and frame.columns[0] == "id"


def test_features_cli_bad_output_extension(stage1_sample: Path, tmp_path: Path) -> None:
    from cimgen.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["features", "--stage1", str(stage1_sample), "--out", str(tmp_path / "f.txt")])
    assert exc.value.code == 2
    assert not (tmp_path / "f.txt").exists()


@given(st.builds(QueryFeatures))
@settings(max_examples=50)
def test_to_dict_is_asdict(features: QueryFeatures) -> None:
    """to_dict skips asdict's deepcopy (every field is a scalar) but gives the same dict,
    keys in field order."""
    assert list(features.to_dict().items()) == list(dataclasses.asdict(features).items())
