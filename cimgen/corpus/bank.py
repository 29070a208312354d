"""The template bank of the demo corpus: every template, in a fixed order.

Its own module, above the types (:mod:`cimgen.corpus.templates`), the samplers' helpers
(:mod:`cimgen.corpus.params`) and the two template lists, so that those import in one
direction only: templates <- params <- templates_basic / templates_advanced <- bank.

>>> bank = all_templates()
>>> len({t.id for t in bank}) == len(bank) > 0
True
"""

from __future__ import annotations

from cimgen.corpus import templates_advanced, templates_basic
from cimgen.corpus.templates import Template


def all_templates() -> tuple[Template, ...]:
    """Every template of the bank, in a fixed order (ids are unique)."""
    bank = templates_basic.TEMPLATES + templates_advanced.TEMPLATES
    ids = [t.id for t in bank]
    if len(ids) != len(set(ids)):
        raise ValueError("duplicate template ids in the bank")
    return bank
