"""The post-attempt steps: what every built query passes through, in order (issue 16).

:meth:`cimgen.expand.build.Builder.build` writes one attempt; :func:`run_steps` then passes
it through :data:`STEPS`, one small function each, in the order below. A step returns the
query, changed or not (the same object where nothing changes keeps the reading valid), or
raises :class:`~cimgen.expand.frame.BuildError` to refuse the attempt (the expander tries
its next plan). Each step takes the query and the attempt's reading,
:class:`~cimgen.expand.multiply.Links`: its context (``.ctx``), the query's CTEs
(``.ctes(query)``) and each block's links (``.block(body, ctes)``), read once and kept
while the query they were read from is unchanged, so the steps after a step that changes
nothing do not walk the tree again for them.

To add a step: write ``step(query, reading) -> query`` with a one-line docstring saying
what it does for the reader of the question, and place it in :data:`STEPS` where what it
needs has run (the steps that cut outputs run before the ones that drop unread CTE
columns; :func:`fill_idle_steps` and :func:`refuse_pass_through_steps` last).

>>> [s.__name__ for s in STEPS][:3]
['pin_scope', 'equate_levels', 'order_by_what_varies']
"""

from __future__ import annotations

from collections.abc import Callable

from cimgen import ast
from cimgen.expand import (
    constant,
    determined,
    distinct,
    multiply,
    once,
    pinned,
    repeats,
    returns,
)
from cimgen.expand.multiply import Links

Step = Callable[[ast.Query, Links], ast.Query]


def pin_scope(query: ast.Query, reading: Links) -> ast.Query:
    """Put a scoped table met beside a pinned one in the same project scenario."""
    return distinct.pin_scope(query, reading.ctx)


def tie_scopes(query: ast.Query, reading: Links) -> ast.Query:
    """Keep the scoped tables in one project scenario when none is pinned (in the ON)."""
    return distinct.tie_scopes(query, reading.ctx)


def equate_levels(query: ast.Query, reading: Links) -> ast.Query:
    """Equate the level of detail two joined tables share (``b.lod = bp.lod``)."""
    return distinct.equate_levels(query, reading.ctx)


def order_by_what_varies(query: ast.Query, reading: Links) -> ast.Query:
    """Drop orderings by what is the same on every row (a LIMIT keeps one that varies)."""
    return distinct.order_by_what_varies(query, reading.ctx)


def drop_constants(query: ast.Query, reading: Links) -> ast.Query:
    """Drop outputs read only from one-row tables, and a table left serving only its join."""
    return constant.drop_constants(query, reading.ctx)


def distinguish(query: ast.Query, reading: Links) -> ast.Query:
    """Add the version columns a row-level listing leaves open to its outputs."""
    return distinct.distinguish(query, reading.ctx)


def count_subjects(query: ast.Query, reading: Links) -> ast.Query:
    """Count the subject's distinct rows where a to-many join multiplies them."""
    return multiply.count_subjects(query, reading.ctx, reading)


def refuse_multiplied(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse rows that do not stand for what the query says (a to-many join repeats them)."""
    return multiply.refuse_multiplied(query, reading.ctx, reading)


def drop_fixed_groups(query: ast.Query, reading: Links) -> ast.Query:
    """Drop a partition by a value the filter fixes; refuse such a GROUP BY."""
    return multiply.drop_fixed_groups(query, reading.ctx, reading)


def drop_determined_aggregates(query: ast.Query, reading: Links) -> ast.Query:
    """Drop an aggregate each group's own row decides (distinct buses per line name: 1)."""
    return determined.drop_determined_aggregates(query, reading.ctx)


def settle_pins(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse or drop what the query's own pins or place make constant."""
    return pinned.settle_pins(query, reading.ctx)


def drop_repeated_pins(query: ast.Query, reading: Links) -> ast.Query:
    """Drop a pin on a CTE's column that the CTE already applies."""
    return multiply.drop_repeated_pins(query, reading)


def drop_raster_labels(query: ast.Query, reading: Links) -> ast.Query:
    """Drop the file name of a raster joined only for its value at the place."""
    return multiply.drop_raster_labels(query, reading.ctx)


def say_once(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse what reads one thing several ways; drop outputs said twice."""
    return once.say_once(query, reading.ctx, reading)


def drop_equal_outputs(query: ast.Query, reading: Links) -> ast.Query:
    """Drop the later of two outputs that the block's joins make equal."""
    return returns.drop_equal_outputs(query)


def theme_aggregates(query: ast.Query, reading: Links) -> ast.Query:
    """Cut a block's aggregates to one theme and a readable number."""
    return returns.theme_aggregates(query, reading)


def trim_listing(query: ast.Query, reading: Links) -> ast.Query:
    """Cut a wide listing of several tables towards a readable number of columns."""
    return returns.trim_listing(query, reading.ctx, reading)


def refuse_repeated_listing(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse a listing that repeats one table's values on another's rows."""
    return returns.refuse_repeated_listing(query, reading.ctx, reading)


def drop_unused_cte_columns(query: ast.Query, reading: Links) -> ast.Query:
    """Drop CTE columns no reader reads."""
    return multiply.drop_unused_cte_columns(query, reading.ctx)


def drop_wkt_beside_coords(query: ast.Query, reading: Links) -> ast.Query:
    """Drop a geometry's WKT where its longitude and latitude are output."""
    return multiply.drop_wkt_beside_coords(query)


def output_subject_key(query: ast.Query, reading: Links) -> ast.Query:
    """Read an output the joins equate to the subject's column from the subject."""
    return multiply.output_subject_key(query)


def refuse_level_only(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse a table read only for a level its partner holds (``b.lod`` beside ``bp.lod``)."""
    return once.refuse_level_only(query, reading.ctx)


def drop_unused_derived_columns(query: ast.Query, reading: Links) -> ast.Query:
    """Drop derived-table columns no reader reads."""
    return returns.drop_unused_derived_columns(query, reading.ctx)


def fill_idle_steps(query: ast.Query, reading: Links) -> ast.Query:
    """Give a CTE that only passes rows on the main block's conditions on them (last)."""
    return repeats.fill_idle_steps(query, reading.ctx)


def refuse_pass_through_steps(query: ast.Query, reading: Links) -> ast.Query:
    """Refuse a CTE step that still only passes one table's rows on."""
    return multiply.refuse_pass_through_steps(query)


STEPS: tuple[Step, ...] = (
    pin_scope,
    equate_levels,
    order_by_what_varies,
    drop_constants,
    distinguish,
    count_subjects,
    refuse_multiplied,
    drop_fixed_groups,
    drop_determined_aggregates,
    settle_pins,
    drop_repeated_pins,
    drop_raster_labels,
    say_once,
    tie_scopes,
    drop_equal_outputs,
    theme_aggregates,
    trim_listing,
    refuse_repeated_listing,
    drop_unused_cte_columns,
    drop_wkt_beside_coords,
    output_subject_key,
    refuse_level_only,
    drop_unused_derived_columns,
    fill_idle_steps,
    refuse_pass_through_steps,
)


def run_steps(query: ast.Query, reading: Links) -> ast.Query:
    """``query`` through every step of :data:`STEPS`, in order (a step may refuse it)."""
    for step in STEPS:
        query = step(query, reading)
    return query


__all__ = ["STEPS", "Step", "run_steps"]
