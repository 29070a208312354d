"""The finding-code table (cimgen/codes.py) is the one source: the docs' code tables agree
with it, the package writes no code as a string literal, and a finding of an undeclared
code or severity is refused."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from cimgen import codes
from cimgen.codes import TABLE, UnknownCodeError, finding, lookup
from cimgen.errors import CimgenError

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
CODE = re.compile(r"[A-Z]{3}\d{3}")


def _codes_in(cell: str) -> list[str]:
    """``BND002`` / ``EXP010, EXP011`` / ``BND001–BND009`` -> the codes named."""
    cell = cell.strip().strip("`")
    if m := re.fullmatch(r"([A-Z]{3})(\d{3})\s*[–-]\s*([A-Z]{3})(\d{3})", cell):
        assert m.group(1) == m.group(3), cell
        return [f"{m.group(1)}{n:03d}" for n in range(int(m.group(2)), int(m.group(4)) + 1)]
    names = [c.strip().strip("`") for c in cell.split(",")]
    assert all(CODE.fullmatch(n) for n in names), f"not a code cell: {cell!r}"
    return names


def _code_tables(path: Path) -> list[list[dict[str, str]]]:
    """Every markdown table of ``path`` whose first column is ``code``, as rows of cells."""
    tables: list[list[dict[str, str]]] = []
    header: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if header is None:
            header = cells
            if cells[0] == "code":
                tables.append([])
        elif set(line) <= set("|-: "):
            continue
        elif header[0] == "code":
            tables[-1].append(dict(zip(header, cells, strict=False)))
    return tables


def _rows(path: Path) -> dict[str, dict[str, str]]:
    """``{code: row}`` over the code tables of a doc (rows naming a non-code, such as
    structure.md's ``COND``, skipped)."""
    out: dict[str, dict[str, str]] = {}
    for table in _code_tables(path):
        for row in table:
            if not CODE.match(row["code"]):
                continue
            for code in _codes_in(row["code"]):
                assert code not in out, f"{path.name}: {code} listed twice"
                out[code] = row
    return out


def _severities(cell: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in cell.split("/"))


def test_checks_md_lists_exactly_the_table() -> None:
    rows = _rows(DOCS / "checks.md")
    assert sorted(rows) == sorted(TABLE), (
        f"only in docs/checks.md: {sorted(set(rows) - set(TABLE))}; "
        f"only in cimgen/codes.py: {sorted(set(TABLE) - set(rows))}"
    )
    for code, row in rows.items():
        assert row["stage"] == TABLE[code].stage, code
        assert _severities(row["severity"]) == TABLE[code].severities, code


@pytest.mark.parametrize("doc", ["grammar.md", "expansion.md", "structure.md"])
def test_other_docs_code_tables_agree(doc: str) -> None:
    rows = _rows(DOCS / doc)
    assert rows, f"docs/{doc} has no code table"
    for code, row in rows.items():
        assert code in TABLE, f"docs/{doc} lists {code}, which cimgen/codes.py does not declare"
        if "stage" in row:
            assert row["stage"] == TABLE[code].stage, (doc, code)
        if "severity" in row:
            assert _severities(row["severity"]) == TABLE[code].severities, (doc, code)


def test_each_constant_is_named_for_its_code() -> None:
    for code in TABLE:
        assert getattr(codes, code) == code
    names = [n for n in vars(codes) if CODE.fullmatch(n)]
    assert sorted(names) == sorted(TABLE)


def _string_constants(tree: ast.AST) -> list[tuple[int, str]]:
    """Non-docstring string constants (f-string parts included) with their lines."""
    docstrings = {
        id(body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and (body := node.body)
        and isinstance(body[0], ast.Expr)
        and isinstance(body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if id(node) not in docstrings
    ]


def test_no_code_is_written_as_a_literal_outside_the_table() -> None:
    found = []
    for path in sorted((ROOT / "cimgen").rglob("*.py")):
        if path.name == "codes.py" and path.parent.name == "cimgen":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, text in _string_constants(tree):
            if re.search(r"\b[A-Z]{3}\d{3}\b", text):
                found.append(f"{path.relative_to(ROOT)}:{line}: {text!r}")
    assert not found, "write these by name (cimgen.codes):\n" + "\n".join(found)


def test_finding_takes_the_stage_and_default_severity_from_the_table() -> None:
    f = finding(codes.SPL002, "no SpatiaLite rendering: raster")
    assert (f.code, f.stage, f.severity) == ("SPL002", "spatialite", "error")
    assert finding(codes.SPL002, "m", "info").severity == "info"
    g = finding(codes.SYN001, "syntax", line=2, column=5)
    assert (g.stage, g.line, g.column) == ("grammar", 2, 5)


def test_undeclared_codes_and_severities_are_refused() -> None:
    with pytest.raises(UnknownCodeError, match="unknown finding code ABC123"):
        finding("ABC123", "m")
    with pytest.raises(UnknownCodeError, match="DIV003 is never 'error'"):
        finding(codes.DIV003, "m", "error")
    with pytest.raises(UnknownCodeError):
        lookup("bnd002")
    assert issubclass(UnknownCodeError, CimgenError)


def test_every_severity_is_known() -> None:
    for row in TABLE.values():
        assert row.severities and set(row.severities) <= set(codes.SEVERITIES), row.code
        assert row.meaning and "\n" not in row.meaning, row.code
