"""The finding codes: one table (code, stage, severities, one-line meaning) and nothing else.

Every code cimgen writes -- a check's finding, an expansion's, a consistency rule of the
structure model -- is declared here once and referred to by name elsewhere
(``codes.BND002``), so a new check adds one line here and the docs follow:
``tests/test_codes.py`` compares the code tables of docs/checks.md (and of
docs/grammar.md, docs/expansion.md, docs/structure.md) with this one.

The table lives beside :mod:`cimgen.models` rather than in :mod:`cimgen.check` because the
grammar, the expander and the structure model -- stages below the checks -- write codes
too, and ``cimgen.check`` imports them.

:func:`finding` builds a :class:`~cimgen.models.Finding` with the stage the table gives and
refuses a code or a severity the table does not know:

>>> f = finding(BND002, "column b.heigth does not exist")
>>> f.code, f.stage, f.severity
('BND002', 'bind', 'error')
>>> lookup("XYZ999")
Traceback (most recent call last):
...
cimgen.codes.UnknownCodeError: unknown finding code XYZ999: declare it in cimgen/codes.py
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cimgen.errors import CimgenError
from cimgen.models import Finding

SEVERITIES: Final = ("error", "warning", "info")


class UnknownCodeError(CimgenError):
    """A code or a severity the table does not declare: a bug of cimgen, not of the input."""


@dataclass(frozen=True)
class Code:
    """One row of the table. ``severities[0]`` is the one :func:`finding` uses by default;
    a code listed with several (``SPL001``: error or warning) takes the one its check
    decides."""

    code: str
    stage: str
    severities: tuple[str, ...]
    meaning: str


TABLE: dict[str, Code] = {}


def _declare(code: str, stage: str, severities: str, meaning: str) -> str:
    """Add a row (``severities`` as ``"error"`` or ``"error / warning"``); return the code."""
    levels = tuple(s.strip() for s in severities.split("/"))
    assert code not in TABLE and all(s in SEVERITIES for s in levels), code
    TABLE[code] = Code(code, stage, levels, meaning)
    return code


# ----------------------------------------------------------------- syntax (cimgen.grammar)
SYN001: Final = _declare("SYN001", "grammar", "error", "not in the language of the grammar")
SYN002: Final = _declare("SYN002", "postgres_parse", "error", "PostgreSQL's parser rejects it")
SYN003: Final = _declare(
    "SYN003", "grammar", "warning", "the rendered SQL parses to another AST than its source"
)
STA001: Final = _declare("STA001", "static", "error", "not a single read-only SELECT/WITH query")

# ----------------------------------------------------------------- binding (cimgen.grammar.bind)
BND001: Final = _declare("BND001", "bind", "error", "unknown table")
BND002: Final = _declare("BND002", "bind", "error", "unknown column")
BND003: Final = _declare("BND003", "bind", "error", "ambiguous unqualified column")
BND004: Final = _declare("BND004", "bind", "error", "unknown function, or a schema but public")
BND005: Final = _declare("BND005", "bind", "error", "wrong arity, argument or operand kinds")
BND006: Final = _declare("BND006", "bind", "error", "raster function on a geometry, or back")
BND007: Final = _declare("BND007", "bind", "error", "aggregate or window function misused")
BND008: Final = _declare("BND008", "bind", "error", "unknown alias or qualifier; a name twice")
BND009: Final = _declare("BND009", "bind", "error", "unknown composite field")

# ----------------------------------------------------------------- static rules (cimgen.check)
# Purpose and cost rules: errors that reject a generated query, warnings in ``cimgen
# validate`` (a costly or odd hand-written query is still valid SQL; --strict fails on them).
_ADVISORY = "error / warning"
STA002: Final = _declare("STA002", "static", "error", "a spatial call mixes SRIDs")
STA003: Final = _declare("STA003", "static", "error", "a measure in degrees on a geographic SRID")
STA004: Final = _declare("STA004", "static", "error", "cartesian product: sides not linked")
STA005: Final = _declare("STA005", "static", _ADVISORY, "costly: distance joins clustered/chained")
PUR001: Final = _declare("PUR001", "static", _ADVISORY, "a FROM item or CTE contributes nothing")
PUR002: Final = _declare("PUR002", "static", _ADVISORY, "contradictory predicates on one column")
PUR003: Final = _declare("PUR003", "static", _ADVISORY, "redundant predicates on one column")
PUR004: Final = _declare("PUR004", "static", _ADVISORY, "a function meaningless for the geometry")
PUR005: Final = _declare("PUR005", "static", _ADVISORY, "an aggregate over one-row groups")
PUR006: Final = _declare("PUR006", "static", _ADVISORY, "outer join's optional side filtered")
PUR007: Final = _declare("PUR007", "static", _ADVISORY, "an output named for another quantity")
PUR008: Final = _declare("PUR008", "static", _ADVISORY, "an output the same on every row")
PUR009: Final = _declare("PUR009", "static", _ADVISORY, "a ranking the ORDER BY repeats")
PUR010: Final = _declare("PUR010", "static", _ADVISORY, "an ordering by a coordinate")
PUR011: Final = _declare("PUR011", "static", _ADVISORY, "an ordering of one summary row")
PUR012: Final = _declare("PUR012", "static", _ADVISORY, "a CTE column no reader uses")
PUR013: Final = _declare("PUR013", "static", _ADVISORY, "WKT beside lon/lat of one geometry")
PUR014: Final = _declare("PUR014", "static", _ADVISORY, "a clustering over rows a join multiplies")

# ----------------------------------------------------------------- fidelity and diversity
CPX001: Final = _declare("CPX001", "complexity", "error", "a fidelity count differs")
CPX002: Final = _declare("CPX002", "complexity", "warning", "another structural feature differs")
CPX003: Final = _declare("CPX003", "complexity", "error", "the SQL yields no features")
CPX004: Final = _declare("CPX004", "complexity", "warning", "a count differs, as recorded")
DIV001: Final = _declare("DIV001", "diversity", "error", "exact duplicate")
DIV002: Final = _declare("DIV002", "diversity", "error", "its query shape reached the cap")
DIV003: Final = _declare("DIV003", "diversity", "info", "its query shape occurs in Stage 1")

# ----------------------------------------------------------------- rendering and execution
RND001: Final = _declare("RND001", "render", "error", "a renderer failed: a bug of cimgen")
SEM001: Final = _declare("SEM001", "duckdb", "error", "DuckDB failed to plan or execute it")
SEM002: Final = _declare("SEM002", "duckdb", "info", "not checkable in DuckDB")
SEM003: Final = _declare("SEM003", "duckdb", "error", "DuckDB execution passed the time limit")
PGS001: Final = _declare("PGS001", "postgis", "error", "PostGIS EXPLAIN failed")
PGS002: Final = _declare("PGS002", "postgis", "error", "PostGIS execution failed")
PGS003: Final = _declare("PGS003", "postgis", "error", "PostGIS hit the statement timeout")
SPL001: Final = _declare(
    "SPL001", "spatialite", "error / warning", "SpatiaLite failed to prepare or execute it"
)
SPL002: Final = _declare("SPL002", "spatialite", "error / info", "no SpatiaLite rendering")
SPL003: Final = _declare(
    "SPL003", "spatialite", "error / warning", "SpatiaLite execution passed the time limit"
)

# ----------------------------------------------------------------- expansion and results
EXP001: Final = _declare("EXP001", "expand", "error", "the schema has too few schemas")
EXP002: Final = _declare("EXP002", "expand", "error", "no purposeful query fits the structure")
EXP009: Final = _declare("EXP009", "expand", "error", "counts no query can have")
EXP010: Final = _declare("EXP010", "expand", "warning", "a fidelity count relaxed (recorded)")
EXP011: Final = _declare("EXP011", "expand", "warning", "the sql_type label relaxed (recorded)")
RES001: Final = _declare("RES001", "result", "error", "empty result, the empty share used up")
RES002: Final = _declare(
    "RES002", "result", "error", "the result repeats a row exactly: a join multiplies rows"
)
RES003: Final = _declare(
    "RES003", "result", "error", "the result is ordered or ranked by a constant"
)
RES004: Final = _declare("RES004", "result", "error", "the clustering makes every row noise")
RES005: Final = _declare(
    "RES005", "result", "error", "the clustering puts every row in one cluster"
)
RES006: Final = _declare(
    "RES006", "result", "error", "the clustering makes every row its own cluster"
)

# ----------------------------------------------------------------- structure model rules
# Consistency rules of sampled structures (cimgen.structure.consistency): a row that breaks
# one is repaired or rejected before expansion, never reaches the checks (docs/structure.md).
STR001: Final = _declare("STR001", "structure", "error", "joins need relations")
STR002: Final = _declare("STR002", "structure", "error", "1 <= schema_count <= table_count")
STR003: Final = _declare("STR003", "structure", "error", "schema_complexity matches the counts")
STR004: Final = _declare("STR004", "structure", "error", "a spatial sql_type needs a function")
STR005: Final = _declare("STR005", "structure", "error", "function category matches the count")
STR006: Final = _declare("STR006", "structure", "error", "clustering is windowed")
STR007: Final = _declare("STR007", "structure", "error", "a nested query needs nesting")
STR008: Final = _declare("STR008", "structure", "error", "aggregation matches the sql_type")
STR009: Final = _declare("STR009", "structure", "error", "MULTI_JOIN needs two joins")
STR010: Final = _declare("STR010", "structure", "error", "complexity_score follows its formula")
STR011: Final = _declare("STR011", "structure", "error", "counts within the training ranges")
STR012: Final = _declare("STR012", "structure", "error", "every table is joined or nested")
STR013: Final = _declare("STR013", "structure", "error", "a flat sql_type has no nesting")
STR014: Final = _declare("STR014", "structure", "error", "a flat sql_type has one join at most")


def lookup(code: str) -> Code:
    """The row of ``code``; :class:`UnknownCodeError` for a code not declared here."""
    try:
        return TABLE[code]
    except KeyError:
        raise UnknownCodeError(
            f"unknown finding code {code}: declare it in cimgen/codes.py"
        ) from None


def finding(
    code: str,
    message: str,
    severity: str | None = None,
    *,
    line: int | None = None,
    column: int | None = None,
) -> Finding:
    """A finding of ``code`` at the stage the table gives, with ``severity`` (default: the
    code's first) checked against the severities the table allows for it."""
    row = lookup(code)
    level = severity or row.severities[0]
    if level not in row.severities:
        raise UnknownCodeError(
            f"{code} is never {level!r} (it is {' / '.join(row.severities)}): "
            "change the severity or the table in cimgen/codes.py"
        )
    return Finding(code, row.stage, message, level, line, column)
