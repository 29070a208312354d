"""Costly shapes are not built (issue 14: a foreign corpus/DDL executes on PostGIS on every
seed). Window clusterings over distance joins and chains of distance joins ran past
PostGIS's statement timeout on the foreign world; a bare ``::geography`` distance join is
served by no index. The expander builds neither shape, writes distance joins with the
bounding-box test an index serves, and STA005 (``cimgen/check/static.py``) catches a shape
that would still slip through. The PostGIS side (same rows, index used) is in
tests/test_foreign_generate.py."""

from __future__ import annotations

import math
import random

from expand_support import SCHEMA, ctx
from hypothesis import given
from hypothesis import strategies as st

from cimgen import ast
from cimgen.check import CheckContext, Subject, run_checks
from cimgen.codes import STA005
from cimgen.expand import expand
from cimgen.expand.spatial import degrees_for
from cimgen.models import QueryFeatures

EARTH_M = 6_371_008.8  # mean radius: a sphere's degree is shorter than the spheroid's


@given(
    metres=st.floats(min_value=1.0, max_value=5_000.0),
    latitude=st.floats(min_value=-70.0, max_value=70.0),
)
def test_the_box_margin_holds_every_geometry_within_the_distance(
    metres: float, latitude: float
) -> None:
    """The widest reach in longitude of a great circle of ``metres`` from a point at
    ``latitude`` (and the reach in latitude) lies inside the margin, so the box test drops
    no row the metric ``ST_DWithin`` keeps."""
    deg = degrees_for(metres, latitude)
    reach = metres / EARTH_M
    lon = math.degrees(math.asin(min(1.0, math.sin(reach) / math.cos(math.radians(latitude)))))
    assert lon <= deg
    assert math.degrees(reach) <= deg
    assert deg <= 1.25 * metres / (111_000.0 * math.cos(math.radians(latitude))) + 1e-5


def _distance_joins(q: ast.Query) -> list[tuple[ast.Expr, list[ast.Expr]]]:
    """(ST_DWithin relating two columns, the conjuncts beside it) for each distance join."""
    out = []
    for node in ast.walk(q):
        parts = ast.conjuncts(node) if isinstance(node, ast.BinaryOp) else []
        if isinstance(node, ast.BinaryOp) and node.op == "AND":
            for c in parts:
                if (
                    isinstance(c, ast.FuncCall)
                    and c.name == "ST_DWithin"
                    and len({n.table for n in ast.walk(c) if isinstance(n, ast.Column)}) >= 2
                ):
                    out.append((c, parts))
    return out


def _alias(item: ast.FromItem) -> str | None:
    return item.alias or item.name if isinstance(item, ast.TableRef) else None


def _boxes_on_the_looked_up_side(q: ast.Query) -> int:
    """Each box test's bare column is the table looked up per row: a join's right side, or
    a table of the (sub)query block whose WHERE holds it -- the index serves only that
    side. Returns how many box tests there are."""
    n = 0
    for node in ast.walk(q):
        if isinstance(node, ast.Join) and node.on is not None:
            for c in ast.conjuncts(node.on):
                if ast.is_box_prefilter(c):
                    n += 1
                    assert isinstance(c.left, ast.Column), c  # type: ignore[attr-defined]
                    assert c.left.table == _alias(node.right), c  # type: ignore[attr-defined]
        if isinstance(node, ast.Select):
            own = {_alias(f) for f in node.from_}
            for c in ast.conjuncts(node.where):
                if ast.is_box_prefilter(c):
                    n += 1
                    assert c.left.table in own, c  # type: ignore[attr-defined]
    return n


def test_clusterings_and_distance_joins_are_built_cheap() -> None:
    """Over clustering and spatial-join structures of two and three tables: no STA005
    finding, and each ``::geography`` distance join has its box test beside it, on the
    side an index can serve (a box on the other side left a 26 s EXISTS on PostGIS)."""
    joins = clusters = boxes = 0
    for sql_type, category in (
        ("SPATIAL_CLUSTERING", "clustering"),
        ("SPATIAL_JOIN", "predicates"),
    ):
        for tables in (2, 3):
            s = QueryFeatures(
                table_count=tables,
                join_count=tables - 1,
                schema_count=1,
                spatial_function_count=3,
                predicate_count=3,
                sql_type=sql_type,
                primary_function_category=category,
                has_window=sql_type == "SPATIAL_CLUSTERING",
            )
            for k in range(25):
                e = expand(s, ctx(), random.Random(k))
                if e.query is None:
                    continue
                findings = run_checks(
                    Subject("", query=e.query), CheckContext(SCHEMA), only=("cost",)
                )
                assert not [f for f in findings if f.code == STA005], (findings, e.query)
                clusters += "Cluster" in repr(e.query)
                boxes += _boxes_on_the_looked_up_side(e.query)
                for call, beside in _distance_joins(e.query):
                    if any(isinstance(a, ast.Cast) for a in call.args):  # type: ignore[attr-defined]
                        joins += 1
                        assert any(ast.is_box_prefilter(b) for b in beside), call
    assert clusters >= 10 and joins >= 5 and boxes >= joins, (clusters, joins, boxes)
