"""``cimgen validate``: exit codes 0/1/2 and the JSON report shape."""

from __future__ import annotations

import json
from collections import Counter
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
    assert report["totals"] == {"n": 1, "valid": 1, "invalid": 0, "with_warnings": 0}
    assert report["per_code"] == {}
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
    assert report["totals"] == {"n": 3, "valid": 1, "invalid": 2, "with_warnings": 0}
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
    assert report["totals"] == {
        "n": 2,
        "valid": 1,
        "invalid": 1,
        "with_warnings": 0,
        "malformed_lines": 1,
    }
    assert [q["id"] for q in report["queries"]] == ["a", "b"]
    assert report["queries"][1]["findings"][0]["code"] == "BND004"
    assert "line 2" in report["malformed"][0]


def test_stage1_sample_against_deployed_schema(stage1_sample: Path) -> None:
    code, out = _run(str(stage1_sample), "--schema", "cim_wizard_deployed", "--format", "json")
    assert code == 1
    report = json.loads(out)
    # the static rules run without --execute too: 39 ST_Area/ST_Length on SRID 4326 (STA003),
    # 3 of them on a geometry passed through a CTE (cim_006829, cim_006832, cim_006859);
    # two valid queries join a building table nothing is asked of (PUR001, a warning); seven
    # queries' CTEs select columns nothing reads (PUR012, 17 warnings, e.g. cim_005806's
    # building_metrics.building_id)
    assert report["totals"] == {"n": 100, "valid": 32, "invalid": 68, "with_warnings": 9}
    codes = Counter(f["code"] for q in report["queries"] for f in q["findings"])
    assert codes == {
        "SYN001": 41,
        "STA003": 39,
        "STA002": 3,
        "BND002": 3,
        "STA004": 2,
        "PUR001": 2,
        "PUR012": 17,
    }
    assert report["per_code"]["PUR001"] == {"warning": 2}
    assert report["per_code"]["STA003"] == {"error": 39}
    warned = [
        q["id"] for q in report["queries"] if any(f["severity"] == "warning" for f in q["findings"])
    ]
    assert warned == [
        "cim_004173",
        "cim_004189",
        "cim_005806",
        "cim_005963",
        "cim_006271",
        "cim_006287",
        "cim_006829",
        "cim_006832",
        "cim_006859",
    ]


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


def test_static_rules_and_read_only_give_one_verdict_with_or_without_execute(
    tmp_path: Path,
) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(
        "SELECT b.building_id, ST_Area(b.building_geometry) FROM cim_vector.building b;\n"
        "DELETE FROM cim_vector.building;\n"
        "DROP TABLE cim_vector.building;\n"
        "SELECT b.building_id FROM cim_vector.building b WHERE b.lod = 1;\n",
        encoding="utf-8",
    )
    reports = []
    for extra in ((), ("--execute", "duckdb")):
        code, out = _run(str(sql), "--format", "json", *extra)
        assert code == 1
        reports.append(json.loads(out))
    for report in reports:
        codes = [
            [f["code"] for f in q["findings"] if f["stage"] not in ("duckdb", "postgis")]
            for q in report["queries"]
        ]
        assert codes == [["STA003"], ["STA001"], ["STA001"], []]
        assert [q["valid"] for q in report["queries"]] == [False, False, False, True]
    assert "DELETE" in reports[0]["queries"][1]["findings"][0]["message"]


@pytest.mark.parametrize(
    ("query", "hint"),
    [
        (
            "SELECT b.height FROM cim_vector.building b",
            "did you mean cim_vector.building_properties.height through building_id, lod?",
        ),
        (
            "SELECT height FROM cim_vector.building b",
            "did you mean cim_vector.building_properties.height through building_id, lod?",
        ),
        ("SELECT b.lodd FROM cim_vector.building b", "did you mean lod?"),
        (
            "SELECT b.heigth FROM cim_vector.building b",
            "did you mean cim_vector.building_properties.height?",
        ),
        (
            "SELECT g.sez2011 FROM cim_vector.grid_bus g",
            "sez2011 is a column of cim_census.census_geo (join it first)",
        ),
    ],
)
def test_unknown_column_says_where_it_is(query: str, hint: str) -> None:
    code, out = _run(query, "--format", "json")
    assert code == 1
    (finding,) = json.loads(out)["queries"][0]["findings"]
    assert finding["code"] == "BND002" and finding["message"].endswith(hint), finding


def test_validate_grammar_option_checks_against_the_copy(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--grammar: the copy's rules decide the syntax, its folder's functions.yaml the
    functions (issue 19)."""
    import yaml

    from cimgen.grammar.constructs import default_grammar

    folder = tmp_path / "g"
    folder.mkdir()
    copy = folder / "cim_sql.lark"
    copy.write_text(default_grammar().read_text().replace(" over_clause?", ""))
    data = yaml.safe_load((default_grammar().parent / "functions.yaml").read_text())
    del data["spatial"]["ST_Contains"]
    (folder / "functions.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    contains = (
        "SELECT b.building_id FROM cim_vector.building AS b "
        "WHERE ST_Contains(b.building_geometry, b.building_geometry)"
    )
    window = "SELECT b.building_id, ROW_NUMBER() OVER () AS n FROM cim_vector.building AS b"
    for sql in (contains, window):
        assert _run(sql)[0] == 0
    code, text = _run(contains, "--grammar", str(copy), "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(text)["queries"][0]["findings"]] == ["BND004"]
    code, text = _run(window, "--grammar", str(copy), "--format", "json")
    assert code == 1
    assert [f["code"] for f in json.loads(text)["queries"][0]["findings"]] == ["SYN001"]
    with pytest.raises(SystemExit) as info:
        main(["validate", "SELECT 1", "--grammar", str(tmp_path / "missing.lark")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "missing.lark: cannot read the grammar" in err and "Traceback" not in err


# Real queries on the documented schema that break a purpose rule or the cost rule but are
# valid SQL: warnings, not errors (docs/checks.md, "cimgen validate").
UNUSED_AND_CONTRADICTORY = (
    "SELECT b.building_id FROM cim_vector.building AS b "
    "JOIN cim_vector.building_properties AS p ON p.building_id = b.building_id "
    "WHERE b.lod = 1 AND b.lod = 2"
)
TWO_DISTANCE_JOINS = (
    "SELECT b.building_id, g.bus_id, gl.line_id FROM cim_vector.building AS b "
    "JOIN cim_vector.grid_bus AS g "
    "ON ST_DWithin(b.building_geometry::geography, g.geometry::geography, 100) "
    "JOIN cim_vector.grid_line AS gl "
    "ON ST_DWithin(g.geometry::geography, gl.geometry::geography, 50)"
)


@pytest.mark.parametrize(
    ("sql", "codes"),
    [(UNUSED_AND_CONTRADICTORY, ["PUR001", "PUR002"]), (TWO_DISTANCE_JOINS, ["STA005"])],
)
def test_purpose_and_cost_rules_are_warnings(sql: str, codes: list[str]) -> None:
    code, out = _run(sql, "--format", "json")
    assert code == 0
    report = json.loads(out)
    assert report["totals"] == {"n": 1, "valid": 1, "invalid": 0, "with_warnings": 1}
    findings = report["queries"][0]["findings"]
    assert [(f["code"], f["severity"], f["stage"]) for f in findings] == [
        (c, "warning", "static") for c in codes
    ]
    assert report["per_code"] == {c: {"warning": 1} for c in codes}
    code, strict = _run(sql, "--format", "json", "--strict")
    assert code == 1 and json.loads(strict) == report  # --strict: same report, exit 1


def test_human_report_lists_warnings_and_counts_per_code(tmp_path: Path) -> None:
    sql = tmp_path / "q.sql"
    sql.write_text(
        f"{UNUSED_AND_CONTRADICTORY};\n{TWO_DISTANCE_JOINS};\n"
        "SELECT b.building_id FROM cim_vector.building AS b, cim_vector.grid_bus AS g;\n",
        encoding="utf-8",
    )
    code, out = _run(str(sql))
    assert code == 1  # the cartesian product (STA004) is an error
    assert "Invalid queries" in out and "Valid queries with warnings" in out
    warned = out[out.index("Valid queries with warnings") : out.index("Findings per code")]
    assert "STA005 (warning)" in warned and "PUR002 (warning)" in warned
    rows = {
        cells[0]: cells[1:3]
        for line in out[out.index("Findings per code") :].splitlines()
        if (cells := [c.strip() for c in line.split("│")[1:-1]])
    }
    assert rows == {
        "PUR001": ["", "2"],  # one on the invalid query too
        "PUR002": ["", "1"],
        "STA004": ["1", ""],
        "STA005": ["", "1"],
    }
    assert "3 queries: 2 valid, 1 invalid; 3 with warnings" in out
    code, text = _run(str(sql), "--format", "json")
    report = json.loads(text)
    assert report["per_code"] == {
        "PUR001": {"warning": 2},
        "PUR002": {"warning": 1},
        "STA004": {"error": 1},
        "STA005": {"warning": 1},
    }


def test_generate_still_rejects_on_the_purpose_and_cost_rules() -> None:
    """The code table allows a warning for these codes; a finding's default stays error."""
    from cimgen.codes import PUR001, STA005, finding

    assert finding(PUR001, "m").severity == finding(STA005, "m").severity == "error"
