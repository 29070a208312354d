"""Where cimgen's bundled data lives (grammar, schemas, demo corpus).

In a source checkout they are the top-level ``grammar/`` and ``schema/`` folders; in an
installed wheel they are copied to ``cimgen/_data/``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The bundled data folder ``name`` (``"grammar"`` or ``"schema"``)."""
    for candidate in (_PACKAGE.parent / name, _PACKAGE / "_data" / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"bundled data folder {name!r} not found next to {_PACKAGE}")


def grammar_dir() -> Path:
    return data_dir("grammar")


def schema_dir() -> Path:
    return data_dir("schema")


def package_data(name: str) -> Path:
    """A file shipped inside the package (``cimgen/data/<name>``), e.g. the demo corpus."""
    return _PACKAGE / "data" / name
