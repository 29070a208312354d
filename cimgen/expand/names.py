"""Output names that say what an expression computes, in its unit (``area_m2``,
``distance_m``, ``n_buildings``, ``avg_height``), unique within a block."""

from __future__ import annotations

import re

_IRREGULAR = {"property record": "property records", "bus": "buses", "census": "census"}


def plural(noun: str) -> str:
    if noun in _IRREGULAR:
        return _IRREGULAR[noun]
    last = noun.split(" ")[-1]
    head = noun[: len(noun) - len(last)]
    if last.endswith(("s", "x", "ch", "sh")):
        return f"{head}{last}es"
    if last.endswith("y") and last[-2:-1] not in "aeiou":
        return f"{head}{last[:-1]}ies"
    return f"{head}{last}s"


def slug(text: str) -> str:
    out = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return out or "x"


def count_name(noun: str) -> str:
    return "n_" + slug(plural(noun))


def raster_value_name(kind: str, column: str) -> str:
    """What a raster's cell values are, by the usual names of elevation models (``kind``:
    the raster's type when a category says it, else its table name)."""
    low = kind.lower()
    if "dtm" in low or "terrain" in low:
        return "ground_elevation_m"
    if "dsm" in low or "surface" in low:
        return "surface_elevation_m"
    if "chm" in low or "canopy" in low:
        return "canopy_height_m"
    return f"{slug(kind.split('.')[-1])}_value"


class Names:
    """Unique output names of one block."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def take(self, name: str) -> str:
        base = slug(name)
        if base[0].isdigit():
            base = "v_" + base
        out, n = base, 2
        while out in self.taken:
            out = f"{base}_{n}"
            n += 1
        self.taken.add(out)
        return out

    def reserve(self, name: str) -> None:
        self.taken.add(name)
