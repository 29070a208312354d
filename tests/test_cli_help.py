"""``--help`` of every command: effective defaults shown, flags shown as flags."""

from __future__ import annotations

import os

import pytest
from typer.testing import CliRunner

from cimgen.cli.main import app
from cimgen.generate import GenerateOptions

COMMANDS = [
    ["generate"],
    ["validate"],
    ["features"],
    ["fit"],
    ["sample"],
    ["compare"],
    ["bench"],
    ["corpus", "stats"],
    ["db", "init"],
]


def _help(args: list[str]) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


@pytest.mark.parametrize("args", COMMANDS, ids=" ".join)
def test_flags_take_no_value(args: list[str]) -> None:
    assert "<bool>" not in _help(args)


def test_generate_help_shows_every_effective_default() -> None:
    text = _help(["generate"])
    d = GenerateOptions(out=os.devnull)  # type: ignore[arg-type]
    for shown in (
        f"Samples to accept. [default: {d.rows}]",
        f"[default: {d.oversample}]",
        f"[default: {d.synthesizer}]",
        f"Random seed. [default: {d.seed}]",
        f"[default: {d.workers}]",
        f"[default: {d.score.thresholds['overall']}]",
        "[1<=x<=10000000]",  # the range of --rows
    ):
        assert shown in text, shown
    assert "--overwrite Replace" in text  # a flag: no value between name and help
