"""Where cimgen's files live: bundled data (grammar, schemas, demo corpus) and the cache.

In a source checkout the bundled data are the top-level ``grammar/`` and ``schema/``
folders; in an installed wheel they are copied to ``cimgen/_data/``. The cache (fixture
databases, fitted structure models) is the user's cache folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir

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


def cache_root(cache_dir: Path | str | None = None) -> Path:
    """``cache_dir``, else ``$CIMGEN_CACHE_DIR``, else the user's cache folder (platformdirs:
    ``~/.cache/cimgen`` on Linux, honouring ``$XDG_CACHE_HOME``). Tests set the variable so
    they never touch the real one."""
    if cache_dir is not None:
        return Path(cache_dir)
    env = os.environ.get("CIMGEN_CACHE_DIR")
    return Path(env) if env else Path(user_cache_dir("cimgen", appauthor=False))


# Cache folders of files that are rebuilt when missing: `cimgen cache list` sizes them and
# `cimgen cache clear` (everything) removes them.
REBUILT = {
    "fixtures": ("*", "fixture database file(s)"),
    "grammar": ("*.lark", "compiled grammar parser(s)"),
}


def rebuilt_files(cache_dir: Path | str | None = None) -> dict[str, list[Path]]:
    """The files of each :data:`REBUILT` folder in the cache, by folder name."""
    root = cache_root(cache_dir)
    return {
        name: sorted(p for p in (root / name).glob(pattern) if p.is_file())
        for name, (pattern, _) in REBUILT.items()
    }
