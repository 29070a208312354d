"""Issue 14, ninth pass: the eighth pass (b)'s left defects. A grouped CTE of a scoped
table (lines per ``to_bus``) joined back to the buses on ``bus_id`` alone met each group
with the bus of that number in every project scenario; an average of the lines of a bus
over bus x nearby-building x line rows weighted each line by the buildings (a row copied by
a second to-many table, not the measured one)."""

from __future__ import annotations

import random

from expand_support import Result, ctx

from cimgen import ast
from cimgen.equalities import block_equalities
from cimgen.expand.block import Block
from cimgen.expand.build import Builder, _group_scope
from cimgen.expand.filters import Pred
from cimgen.expand.frame import BuildError, Frame, Item
from cimgen.expand.multiply import multiplied
from cimgen.grammar import parse
from cimgen.models import QueryFeatures

GROUPED_CTE = QueryFeatures(
    table_count=2, join_count=1, cte_count=1, aggregation="GROUP_BY", sql_type="AGGREGATION"
)


def _grouped_scoped(seeds: range) -> list[tuple[ast.Query, str, str, bool]]:
    """(query, the grouped CTE's alias, the joined table's alias, whether that table is the
    group's parent -- not the grouped table itself, each row against its group) of each
    build over a scoped table's groups."""
    out = []
    for k in seeds:
        b = Builder(GROUPED_CTE, ctx(), random.Random(k))
        try:
            q = b.build()
        except BuildError:
            continue
        grouped = [x for x in b.exports if x.grouped and not x.derived]
        if not grouped or not grouped[0].anchor.info.scope:
            continue
        body = q.body
        assert isinstance(body, ast.Select)
        join = body.from_[0]
        assert isinstance(join, ast.Join) and isinstance(join.right, ast.TableRef)
        assert isinstance(join.left, ast.TableRef)
        joined = ctx().by_name.get(join.right.qualified)
        if joined is None or not joined.scope:
            continue
        parent = join.right.qualified != grouped[0].anchor.info.qualified
        out.append((q, join.left.ref_name, join.right.ref_name, parent))
    return out


def test_a_grouped_cte_joins_back_in_its_own_scenario(duckdb_result: Result) -> None:
    found = _grouped_scoped(range(120))
    assert len(found) >= 5
    for q, cte, joined, parent in found:
        body = q.body
        assert isinstance(body, ast.Select)
        eq = block_equalities(body)
        same, fixed = eq.classes, eq.fixed()
        for c in ("project_id", "scenario_id"):  # equated to the groups' or pinned
            assert (
                same.find((cte, c)) == same.find((joined, c)) or same.find((joined, c)) in fixed
            ), c
        if parent:  # each group meets one row: no more rows than the CTE has groups
            groups = ast.Query(q.ctes[-1].query.body, q.ctes)
            assert duckdb_result(q).num_rows <= duckdb_result(groups).num_rows


def test_a_pinned_group_pins_the_joined_table() -> None:
    found = _grouped_scoped(range(120))
    for q, _, joined, _ in found:
        body = q.body
        assert isinstance(body, ast.Select)
        pins = dict(block_equalities(body).pins)
        assert (joined, "scenario_id") in pins and (joined, "project_id") in pins


def test_an_open_group_groups_by_its_scope() -> None:
    # rows of every scenario: grouped by the bus number and the project scenario, which
    # the reader's join then equates (no pin to repeat)
    c = ctx()
    info = c.by_name["cim_vector.grid_line"]
    item = Item("gl", info, 0)
    body = Block("cte", Frame([item]))
    scope, pins = _group_scope(body, item, "to_bus")
    assert scope == ("project_id", "scenario_id") and pins == ()
    assert [g.name for g in body.group if isinstance(g, ast.Column)] == [
        "project_id",
        "scenario_id",
    ]
    pinned = Block("cte", Frame([item]))
    for col, v in (("project_id", "milan_navigli_2023"), ("scenario_id", "proposed")):
        pinned.add_pred(
            Pred(ast.BinaryOp("=", ast.Column(col, "gl"), ast.String(v)), item, col, "scope")
        )
    scope, pins = _group_scope(pinned, item, "to_bus")
    assert scope == () and [col for col, _ in pins] == ["project_id", "scenario_id"]
    assert not pinned.group


AVG_OVER_A_SIBLING = """
SELECT gb.voltage_kv, COUNT(DISTINCT b.id) AS n_buildings, {agg}(gl.length_km) AS x
FROM cim_vector.grid_bus AS gb
JOIN cim_vector.building AS b ON ST_DWithin(gb.geometry::geography,
  b.building_geometry::geography, 200)
JOIN cim_vector.grid_line AS gl ON gb.scenario_id = gl.scenario_id
  AND gb.project_id = gl.project_id AND gb.bus_id = gl.from_bus
WHERE gb.project_id = 'milan_navigli_2023' AND gb.scenario_id = 'baseline' AND b.lod = 1
GROUP BY gb.voltage_kv
"""

# the buildings crossing the lines of a bus: each building is met once per line it crosses
# (its own table's pairs, as the sixth pass counts them), no other table copies them
AVG_DOWN_A_CHAIN = """
SELECT gb.voltage_kv, AVG(ST_Area(b.building_geometry)) AS x
FROM cim_vector.grid_bus AS gb
JOIN cim_vector.grid_line AS gl ON gb.scenario_id = gl.scenario_id
  AND gb.project_id = gl.project_id AND gb.bus_id = gl.from_bus
JOIN cim_vector.building AS b ON ST_Intersects(gl.geometry, b.building_geometry)
WHERE gb.project_id = 'milan_navigli_2023' AND gb.scenario_id = 'baseline' AND b.lod = 1
GROUP BY gb.voltage_kv
"""


def test_an_average_over_the_copies_a_second_to_many_table_makes_is_refused() -> None:
    # s2_000242 of the base's 300 CTGAN rows: the average line length over bus x building
    # x line rows counts each line once per building near its bus
    for agg in ("AVG", "SUM"):
        why = multiplied(parse(AVG_OVER_A_SIBLING.format(agg=agg)), ctx())
        assert why is not None and "copies" in why, agg
    for agg in ("MIN", "MAX"):  # the same over copies
        assert multiplied(parse(AVG_OVER_A_SIBLING.format(agg=agg)), ctx()) is None, agg
    distinct = AVG_OVER_A_SIBLING.format(agg="AVG").replace("AVG(gl", "AVG(DISTINCT gl")
    assert multiplied(parse(distinct), ctx()) is None
    # the buildings' own values, copied by the lines of the bus: refused as well
    areas = AVG_OVER_A_SIBLING.format(agg="MAX").replace(
        "COUNT(DISTINCT b.id)", "AVG(ST_Area(b.building_geometry))"
    )
    assert "copies" in (multiplied(parse(areas), ctx()) or "")
    assert multiplied(parse(AVG_DOWN_A_CHAIN), ctx()) is None


def test_an_average_of_a_pair_is_not_over_copies() -> None:
    # a value reading the to-many table too is one per pair: the average distance from each
    # bus to the other buses near it (the 40-row GaussianCopula seed-3 run's s2_000026)
    pair = """
    SELECT gb.zone, COUNT(DISTINCT gb.id) AS n_grid_buses,
      AVG(ST_Distance(gb.geometry::geography, grb.geometry::geography)) AS d
    FROM cim_vector.grid_bus AS gb, cim_vector.grid_bus AS grb
    WHERE ST_DWithin(gb.geometry::geography, grb.geometry::geography, 150)
      AND gb.id <> grb.id AND gb.project_id = grb.project_id
      AND gb.scenario_id = grb.scenario_id AND gb.project_id = 'milan_navigli_2023'
      AND gb.scenario_id = 'baseline'
    GROUP BY gb.zone
    """
    assert multiplied(parse(pair), ctx()) is None
