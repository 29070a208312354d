"""Binding rules as YAML cases (tests/cases/bind.yaml): each passes clean or fails with its code."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
import yaml

from cimgen.grammar import bind, parse
from cimgen.schema.load import load_schema
from cimgen.schema.model import Schema
from tests.conftest import CASES

_CASES: list[dict[str, Any]] = yaml.safe_load((CASES / "bind.yaml").read_text(encoding="utf-8"))


@cache
def _schema(name: str) -> Schema:
    return load_schema(name)


@pytest.mark.parametrize("case", _CASES, ids=[c["name"] for c in _CASES])
def test_bind_case(case: dict[str, Any]) -> None:
    assert ("pass" in case) != ("fail" in case), "a case says pass: true or fail: CODE"
    findings = bind(parse(case["sql"]), _schema(case.get("schema", "cim_wizard")))
    codes = [f.code for f in findings]
    if case.get("pass"):
        assert findings == [], [f.message for f in findings]
    else:
        assert case["fail"] in codes, [f"{f.code} {f.message}" for f in findings]
        assert all(f.stage == "bind" for f in findings)
