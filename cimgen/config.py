"""Config files: one YAML/JSON format shared by every command that takes ``--config``.

Sections (each optional): ``generate``, ``checks``, ``score`` (docs/generate.md) and
``synthesizer`` (docs/structure.md). Defaults live in code next to what they configure;
a file overrides them and command-line flags override the file. Unknown sections and
keys are rejected with the file and the key named.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cimgen.errors import ConfigError

SECTIONS = ("generate", "checks", "score", "synthesizer")


def read_config(path: Path) -> dict[str, Any]:
    """The parsed config file, checked to be a mapping of known sections."""
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Check the path given to --config.")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        where = f"{path} line {line + 1}" if line is not None else str(path)
        raise ConfigError(
            f"{where}: not valid YAML/JSON ({str(exc).splitlines()[0]}). Fix the syntax."
        ) from None
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: a config file must be a mapping of sections "
            f"({', '.join(SECTIONS)}). See docs/generate.md."
        )
    reject_unknown(path, "", data, set(SECTIONS))
    return data


def reject_unknown(path: Path, prefix: str, data: Any, allowed: set[str]) -> None:
    """Raise for a non-mapping or for the first key not in ``allowed``."""
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: '{prefix.rstrip('.')}' must be a mapping.")
    for key in data:
        if key not in allowed:
            raise ConfigError(
                f"{path}: unknown key '{prefix}{key}'. Allowed: {', '.join(sorted(allowed))}."
            )
