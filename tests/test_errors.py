"""One error root: every exception class cimgen defines derives from
:class:`cimgen.errors.CimgenError`; problems of one query form the :class:`QueryError`
branch, which the CLI does not turn into a user error."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import cimgen
from cimgen.errors import CimgenError, InputError, QueryError


def _modules() -> list[str]:
    return sorted(
        m.name
        for m in pkgutil.walk_packages(cimgen.__path__, "cimgen.")
        if not m.name.endswith("__main__")
    )


def test_every_exception_class_of_the_package_derives_from_the_root() -> None:
    classes = {}
    for name in _modules():
        module = importlib.import_module(name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == name and issubclass(cls, BaseException):
                classes[f"{name}.{cls.__qualname__}"] = cls
    assert len(classes) >= 10, sorted(classes)  # the walk found the package's classes
    outside = sorted(n for n, c in classes.items() if not issubclass(c, CimgenError))
    assert not outside, f"derive these from cimgen.errors.CimgenError: {outside}"


@pytest.mark.parametrize(
    "path",
    [
        "cimgen.grammar.parse.QuerySyntaxError",
        "cimgen.features.SQLParseError",
        "cimgen.render.base.Unsupported",
        "cimgen.expand.frame.BuildError",
    ],
)
def test_problems_of_one_query_are_query_errors_not_user_errors(path: str) -> None:
    module, _, name = path.rpartition(".")
    cls = getattr(importlib.import_module(module), name)
    assert issubclass(cls, QueryError) and not issubclass(cls, InputError)


def test_sql_parse_error_is_still_a_value_error() -> None:
    from cimgen.features import SQLParseError, extract_features

    with pytest.raises(ValueError):
        extract_features("SELEC 1")
    assert issubclass(SQLParseError, ValueError)


def test_a_query_error_reaching_the_cli_is_a_bug_shown_as_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cli_main = importlib.import_module("cimgen.cli.main")
    from cimgen.grammar.parse import QuerySyntaxError

    def broken(*args: object, **kwargs: object) -> None:
        raise QuerySyntaxError(1, 1, "x", ("SELECT",))

    monkeypatch.setattr(cli_main, "app", broken)
    with pytest.raises(QuerySyntaxError):
        cli_main.main(["validate", "SELECT 1"])


def test_a_user_error_reaching_the_cli_is_one_line_and_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cli_main = importlib.import_module("cimgen.cli.main")

    def bad(*args: object, **kwargs: object) -> None:
        raise InputError.at("a.jsonl", 3, "invalid JSON", "Fix the line")

    monkeypatch.setattr(cli_main, "app", bad)
    with pytest.raises(SystemExit) as exit_info:
        cli_main.main(["validate", "x"])
    assert exit_info.value.code == 2
    shown = capsys.readouterr()
    text = (shown.out + shown.err).strip()
    assert text == "error: a.jsonl line 3: invalid JSON. Fix the line."
