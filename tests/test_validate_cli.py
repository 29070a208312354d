"""``cimgen validate``: exit codes 0/1/2 and the JSON report shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cimgen.cli.main import app, main

runner = CliRunner()


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, ["validate", *args])
    return result.exit_code, result.stdout


def test_valid_literal_query_exits_0() -> None:
    code, out = _run("SELECT b.id FROM cim_vector.building b", "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["totals"] == {"n": 1, "valid": 1, "invalid": 0}
    assert report["queries"][0] == {
        "index": 0,
        "source": "<query>:1",
        "valid": True,
        "findings": [],
    }


def test_sql_file_with_many_statements(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(
        "SELECT id FROM cim_vector.building;\n\n-- broken one\nSELECT id\n"
        "FROM cim_vector.building WHERE id > 5LIMIT 1;\n"
        "SELECT nope FROM cim_vector.building;\n",
        encoding="utf-8",
    )
    out_file = tmp_path / "report.json"
    code, out = _run(str(sql), "--format", "json", "--out", str(out_file))
    assert code == 1
    report = json.loads(out)
    assert json.loads(out_file.read_text(encoding="utf-8")) == report
    assert report["totals"] == {"n": 3, "valid": 1, "invalid": 2}
    sources = [q["source"] for q in report["queries"]]
    assert sources == [f"{sql}:1", f"{sql}:4", f"{sql}:6"]
    syn = report["queries"][1]["findings"]
    assert [(f["code"], f["stage"], f["line"], f["column"]) for f in syn] == [
        ("SYN001", "grammar", 5, 37)
    ]
    assert "'5LIMIT'" in syn[0]["message"]
    assert [f["code"] for f in report["queries"][2]["findings"]] == ["BND002"]


def test_jsonl_with_malformed_line_and_other_field(tmp_path: Path) -> None:
    data = tmp_path / "c.jsonl"
    data.write_text(
        json.dumps({"id": "a", "q": "SELECT 1"})
        + "\n{not json\n"
        + json.dumps({"id": "b", "q": "SELECT ST_Nope(1)"})
        + "\n",
        encoding="utf-8",
    )
    code, out = _run(str(data), "--sql-field", "q", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["totals"] == {"n": 2, "valid": 1, "invalid": 1, "malformed_lines": 1}
    assert [q["id"] for q in report["queries"]] == ["a", "b"]
    assert report["queries"][1]["findings"][0]["code"] == "BND004"
    assert "line 2" in report["malformed"][0]


def test_stage1_sample_against_deployed_schema(stage1_sample: Path) -> None:
    code, out = _run(str(stage1_sample), "--schema", "cim_wizard_deployed", "--format", "json")
    assert code == 1
    report = json.loads(out)
    assert report["totals"] == {"n": 100, "valid": 56, "invalid": 44}  # 41 SYN001 + 3 BND002
    codes = [f["code"] for q in report["queries"] for f in q["findings"]]
    assert (codes.count("SYN001"), codes.count("BND002"), len(codes)) == (41, 3, 44)


def test_human_format_summarises() -> None:
    code, out = _run("SELECT x.id FROM cim_vector.building b")
    assert code == 1
    assert "BND008" in out and "1 queries: 0 valid, 1 invalid" in out


def test_user_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("{bad\n", encoding="utf-8")
    for arg, said in (
        (str(tmp_path / "missing.sql"), "file not found"),
        (str(empty), "line 1: not JSON Lines"),
    ):
        with pytest.raises(SystemExit) as info:
            main(["validate", arg])
        assert info.value.code == 2
        err = capsys.readouterr().err
        assert said in err and "Traceback" not in err


def test_main_passes_exit_1_on() -> None:
    with pytest.raises(SystemExit) as info:
        main(["validate", "SELECT nope FROM cim_vector.building", "--format", "json"])
    assert info.value.code == 1
