"""The template bank of the bundled Stage 1 demo corpus: the types and the rendering.

A :class:`Template` is one hand-written question/SQL pair with named parameters. Its
``sample`` function draws the parameters from :class:`cimgen.corpus.pools.Pools` (values
that exist in the fixture database, thresholds from quantiles of the fixture's values), so
every rendered query refers to real rows and usually returns some.

Placeholders are ``{name}`` in both the SQL and the question variants:

* in SQL a value is rendered as a literal (:func:`sql_literal`: strings quoted with ``'``
  doubled, numbers plain); an :class:`Ident` renders its ``sql`` text (a column or keyword
  chosen from a fixed list, never user data); a :class:`Text` may not appear in SQL;
* in a question every value renders as readable text (:func:`text_value`).

The templates themselves live in :mod:`templates_basic` and :mod:`templates_advanced`
(their samplers' helpers in :mod:`params`), which import this module and are imported by
none it imports; :func:`cimgen.corpus.bank.all_templates` returns them in a fixed order.
"""

from __future__ import annotations

import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cimgen.corpus.pools import Pools

# 'frequent': everyday look-ups an analyst runs daily; 'low_frequent': occasional studies;
# 'rare': specialist analyses (clustering, raster statistics). docs/corpus.md explains.
USAGE_FREQUENCIES = ("frequent", "low_frequent", "rare")


@dataclass(frozen=True)
class Ident:
    """A non-literal SQL fragment chosen from a fixed list (a column, ``ASC``/``DESC``)."""

    sql: str
    text: str


@dataclass(frozen=True)
class Text:
    """Question-only text (a project's readable name); using it in SQL is a bug."""

    text: str


Params = dict[str, Any]
Sampler = Callable[["Pools", random.Random], Params]


@dataclass(frozen=True)
class Template:
    """One hand-written question/SQL template.

    ``questions`` maps a tone (one of :data:`cimgen.question.TONES`) to its question variants.
    ``weight`` is the template's relative share of the corpus.
    """

    id: str
    sql_type: str
    difficulty: str
    usage: str
    tags: tuple[str, ...]
    sql: str
    questions: Mapping[str, tuple[str, ...]]
    sample: Sampler
    weight: float = 1.0

    def placeholders(self) -> set[str]:
        return _fields(self.sql)

    def question_placeholders(self) -> set[str]:
        return set().union(*(_fields(v) for vs in self.questions.values() for v in vs))


def _fields(fmt: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(fmt) if name}


# --------------------------------------------------------------------------- rendering


def sql_literal(value: Any) -> str:
    """Render a parameter as a SQL literal (strings escaped by doubling ``'``).

    >>> sql_literal("O'Brien"), sql_literal(25.0), sql_literal(0.15), sql_literal(True)
    ("'O''Brien'", '25', '0.15', 'TRUE')
    """
    if isinstance(value, Ident):
        return value.sql
    if isinstance(value, Text):
        raise TypeError(f"question-only text {value.text!r} used in SQL")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(f"cannot render {value!r} as a SQL literal")


def text_value(value: Any) -> str:
    """Render a parameter for a question."""
    if isinstance(value, Ident | Text):
        return value.text
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return _number(value)
    return str(value)


def _number(value: float) -> str:
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.6g}"


def render_sql(template: Template, params: Params) -> str:
    return template.sql.format(**{k: sql_literal(params[k]) for k in template.placeholders()})


def render_question(fmt: str, params: Params) -> str:
    names = _fields(fmt)
    text = fmt.format(**{k: text_value(params[k]) for k in names})
    return text[:1].upper() + text[1:]


_ST_CALL = re.compile(r"(?<![\w.])(ST_[A-Za-z0-9]+)\(")


def add_public_prefix(sql: str) -> str:
    """Spell PostGIS calls ``public.ST_x(...)`` as many Stage 1 samples do."""
    return _ST_CALL.sub(r"public.\1(", sql)


# --------------------------------------------------------------------------- helpers


def nice(value: float) -> float:
    """Round a threshold to a value a person would type (2 significant digits)."""
    if value == 0:
        return 0.0
    mag = 10 ** (len(str(int(abs(value)))) - 2) if abs(value) >= 10 else 0.1
    if abs(value) < 1:
        return round(value, 2)
    return float(round(value / mag) * mag)


def quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank; values need not be sorted)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("quantile of no values")
    idx = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return float(ordered[idx])


def threshold(values: list[float], rng: random.Random, lo: float = 0.3, hi: float = 0.8) -> float:
    """A 'nice' threshold between the ``lo`` and ``hi`` quantiles: a '>' filter keeps rows."""
    t = nice(quantile(values, rng.uniform(lo, hi)))
    top = max(values)
    return t if t < top else nice(quantile(values, lo))
