"""The post-attempt steps (cimgen/expand/steps.py): one ordered tuple, one reading.

The steps once ran as nested calls in ``expand``; the chain written out here is that
code (the rules called without the attempt's reading), so a reordered, dropped or added
step, or a reading that changes a result, fails here."""

from __future__ import annotations

import random
from functools import cache

from expand_support import SCHEMA, demo_records, stand_in_context

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
    steps,
)
from cimgen.expand.build import Builder
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import Links
from cimgen.features import iter_features
from cimgen.models import QueryFeatures


def _chain(query: ast.Query, ctx) -> ast.Query:  # type: ignore[no-untyped-def]
    """The steps as ``expand`` called them before steps.py (cb43bef and the lead's
    drop_determined_aggregates, refuse_pass_through_steps; refuse_level_only of the
    fifteenth pass (c))."""
    query = distinct.pin_scope(query, ctx)
    query = distinct.order_by_what_varies(distinct.equate_levels(query, ctx), ctx)
    query = distinct.distinguish(constant.drop_constants(query, ctx), ctx)
    query = multiply.refuse_multiplied(multiply.count_subjects(query, ctx), ctx)
    query = determined.drop_determined_aggregates(multiply.drop_fixed_groups(query, ctx), ctx)
    query = multiply.drop_raster_labels(
        multiply.drop_repeated_pins(pinned.settle_pins(query, ctx)), ctx
    )
    query = distinct.tie_scopes(once.say_once(query, ctx), ctx)
    query = returns.trim_listing(returns.theme_aggregates(returns.drop_equal_outputs(query)), ctx)
    query = returns.refuse_repeated_listing(query, ctx)
    query = multiply.output_subject_key(
        multiply.drop_wkt_beside_coords(multiply.drop_unused_cte_columns(query, ctx))
    )
    query = once.refuse_level_only(query, ctx)  # fifteenth pass (c)
    query = returns.drop_unused_derived_columns(query, ctx)
    return multiply.refuse_pass_through_steps(repeats.fill_idle_steps(query, ctx))


@cache
def _structures() -> list[QueryFeatures]:
    """Every 25th record of the demo corpus (400 structures of every kind)."""
    return [f for _, f in iter_features(demo_records()[::25], SCHEMA)]


def _outcome(f, query: ast.Query, *args) -> ast.Query | str:  # type: ignore[no-untyped-def]
    try:
        return f(query, *args)  # type: ignore[no-any-return]
    except BuildError as exc:
        return f"refused: {exc}"


def test_every_step_says_what_it_does_in_one_line() -> None:
    names = [s.__name__ for s in steps.STEPS]
    assert len(names) == len(set(names)) == 25
    for s in steps.STEPS:
        doc = (s.__doc__ or "").strip()
        assert doc and "\n" not in doc, s.__name__
    assert names[0] == "pin_scope" and names[-1] == "refuse_pass_through_steps"


def test_the_steps_give_what_the_nested_calls_gave() -> None:
    ctx = stand_in_context(0)
    seen = refused = 0
    for k, s in enumerate(_structures()):
        rng = random.Random(k)
        try:
            built = Builder(s, ctx, rng, True).build()
        except BuildError:
            continue
        seen += 1
        want = _outcome(_chain, built, ctx)
        got = _outcome(steps.run_steps, built, Links(ctx))
        assert got == want, s
        refused += isinstance(got, str)
    assert seen >= 300 and 0 < refused < seen / 2


def test_a_refusal_stops_the_steps() -> None:
    def refuse(query: ast.Query, reading: Links) -> ast.Query:
        """Refuse everything."""
        raise BuildError("no")

    def after(query: ast.Query, reading: Links) -> ast.Query:
        """Must not run."""
        raise AssertionError("ran after a refusal")

    saved = steps.STEPS
    steps.STEPS = (refuse, after)
    try:
        q = ast.Query(body=ast.Select(items=(ast.SelectItem(ast.Number("1")),)))
        assert _outcome(steps.run_steps, q, Links(stand_in_context(0))) == "refused: no"
    finally:
        steps.STEPS = saved


def test_the_reading_is_kept_while_the_query_is_unchanged() -> None:
    ctx = stand_in_context(0)
    reading = Links(ctx)
    q = ast.Query(body=ast.Select(items=(ast.SelectItem(ast.Number("1")),)))
    cte = ast.CTE("c", q)
    outer = ast.Query(body=q.body, ctes=(cte,))
    first = reading.ctes(outer)
    assert first == {"c": q} and reading.ctes(outer) is first
    rebuilt = ast.Query(body=q.body, ctes=(ast.CTE("d", q),))
    assert reading.ctes(rebuilt) == {"d": q}
