"""The blind review of the merged sixth pass (issue 14): clusters over one project
scenario ("clusters buses across all projects/scenarios, so duplicated buses inflate the
counts"), name prefixes without a trailing space ("LIKE 'Baseline %' -- a trailing-space
literal is a generator artefact"), no SUM or AVG over the copies a join makes ("SUM/AVG over
line-building fan-out inflates total length"), thresholds inside the column's data (the
lead's read: "built between 2000 and 2500")."""

from __future__ import annotations

import random

from expand_support import ctx, stand_in_context

from cimgen import ast
from cimgen.equalities import block_equalities, inner_table_refs
from cimgen.expand import ExpansionContext, expand
from cimgen.models import QueryFeatures

CLUSTERINGS = (
    QueryFeatures(table_count=1, sql_type="SPATIAL_CLUSTERING", spatial_function_count=2),
    QueryFeatures(
        table_count=1,
        cte_count=1,
        sql_type="SPATIAL_CLUSTERING",
        spatial_function_count=2,
        aggregation="GROUP_BY",
    ),
    QueryFeatures(
        table_count=2,
        join_count=1,
        cte_count=1,
        sql_type="SPATIAL_CLUSTERING",
        spatial_function_count=2,
        aggregation="GROUP_BY",
    ),
)


def _blocks(query: ast.Query) -> list[ast.Select]:
    return [n for n in ast.walk(query) if isinstance(n, ast.Select)]


def _clusters(body: ast.Select) -> bool:
    return any(
        isinstance(n, ast.FuncCall) and n.name.lower() in ("st_clusterkmeans", "st_clusterdbscan")
        for it in body.items
        for n in ast.walk(it.expr)
    )


def _open_scopes(body: ast.Select, context: ExpansionContext) -> list[str]:
    """The scoped tables of a clustering block whose project scenario no literal fixes
    (directly, or through a join to a CTE, whose rows were scoped where it was built)."""
    eq = block_equalities(body)
    pinned = eq.pinned()
    ctes = [
        r.alias or r.name for item in body.from_ for r in inner_table_refs(item) if r.schema is None
    ]
    out = []
    for ref in (r for item in body.from_ for r in inner_table_refs(item)):
        info = context.by_name.get(ref.qualified)
        alias = ref.alias or ref.name
        if info is None or not info.scope:
            continue
        if any((alias, c) not in pinned and not eq.reached(alias, c, ctes) for c in info.scope):
            out.append(ref.qualified)
    return out


def test_a_clustering_of_scoped_rows_is_in_one_project_scenario() -> None:
    # before: 'WITH grid_bus_clusters AS (SELECT ST_ClusterDBSCAN(...) OVER () ... FROM
    # grid_bus WHERE voltage_kv IN (0.4, 15))' clustered each bus once per scenario
    for context in (ctx(), stand_in_context(0)):
        seen = 0
        for s in CLUSTERINGS:
            for k in range(12):
                e = expand(s, context, random.Random(k))
                if e.query is None:
                    continue
                for body in _blocks(e.query):
                    if _clusters(body):
                        seen += 1
                        assert not _open_scopes(body, context), (k, s, e.query)
        assert seen >= 15


def test_a_name_prefix_has_no_trailing_space() -> None:
    likes = []
    context = stand_in_context(0)
    for table_count in (1, 2):
        s = QueryFeatures(table_count=table_count, predicate_count=3, sql_type="SIMPLE_SELECT")
        for k in range(150):
            e = expand(s, context, random.Random(k))
            if e.query is None:
                continue
            likes += [
                n.right.value
                for n in ast.walk(e.query)
                if isinstance(n, ast.BinaryOp)
                and n.op == "LIKE"
                and isinstance(n.right, ast.String)
            ]
    assert likes, "no LIKE drawn: the test reaches nothing"
    assert not [v for v in likes if v.endswith(" %")], likes


SUM_OVER_COPIES = """
SELECT COUNT(DISTINCT gl.id) AS n_grid_lines, {agg}(gl.length_km) AS x
FROM cim_vector.grid_line AS gl
JOIN cim_vector.building AS b ON public.ST_DWithin(gl.geometry::geography,
  b.building_geometry::geography, 100)
WHERE gl.project_id = 'milan_porta_garibaldi_2024' AND gl.scenario_id = 'optimized'
  AND b.lod = 1
"""


def test_a_sum_over_the_copies_a_join_makes_is_refused() -> None:
    # the sixth pass's review: "SUM/AVG over line-building fan-out inflates total length"
    from cimgen.expand.multiply import multiplied
    from cimgen.grammar import parse

    for agg in ("SUM", "AVG"):
        why = multiplied(parse(SUM_OVER_COPIES.format(agg=agg)), ctx())
        assert why is not None and "copies" in why, agg
    for agg in ("MIN", "MAX"):  # the same over copies
        assert multiplied(parse(SUM_OVER_COPIES.format(agg=agg)), ctx()) is None, agg
    # the to-many side's own values are summed once per pair: what they mean
    own = SUM_OVER_COPIES.replace("{agg}(gl.length_km)", "SUM(public.ST_Area(b.building_geometry))")
    assert multiplied(parse(own), ctx()) is None


def test_a_round_threshold_stays_inside_the_data() -> None:
    from cimgen.expand.values import nice_above, nice_below

    years = (1860.0, 2039.0)
    assert nice_above(2021, True) == 2500  # by magnitude alone: beyond every building
    assert nice_above(2021, True, years) == 2030
    assert nice_below(1919, True, years) == 1900
    assert nice_below(1865, True, years) == 1860
    # columns whose data spans the round step keep it
    assert nice_above(377, False, (10.0, 5000.0)) == 400
    assert nice_below(23.7, False, (3.0, 60.0)) == 20
    # nothing round fits: the value itself
    assert nice_above(117.06, False, (113.0, 117.06)) == 117.06


NEAR_COUNT = """
SELECT gb.name, COUNT(*) AS n_grid_lines
FROM cim_vector.building AS b
JOIN cim_vector.grid_line AS gl ON public.ST_DWithin(b.building_geometry::geography,
  gl.geometry::geography, 200)
JOIN cim_vector.grid_bus AS gb ON gl.from_bus = gb.bus_id AND gl.project_id = gb.project_id
  AND gl.scenario_id = gb.scenario_id
WHERE gl.project_id = 'milan_porta_garibaldi_2024' AND gl.scenario_id = 'baseline'
GROUP BY gb.name
"""


def test_a_count_of_things_met_by_nearness_counts_each_once() -> None:
    # the second review: "COUNT(*) counts building-line pairs, not lines" -- a line within
    # 200 m of three buildings is one line
    from cimgen.expand.multiply import count_subjects
    from cimgen.grammar import parse
    from cimgen.render import render_postgis

    sql = render_postgis(count_subjects(parse(NEAR_COUNT), ctx()))
    assert "COUNT(DISTINCT gl.id) AS n_grid_lines" in sql, sql


def test_a_clusterings_subquery_is_the_derived_table_it_clusters_in() -> None:
    # Stage 1 clusters inside a derived table (FROM (SELECT ..., ST_ClusterKMeans(...)
    # OVER () AS cluster_id ...) AS k GROUP BY k.cluster_id) -- the subquery its structure
    # counts; a neighbour count or an EXISTS beside the clustering read as contrived
    from cimgen.features import extract_features
    from cimgen.render import render_postgis

    s = QueryFeatures(
        table_count=1, subquery_count=1, sql_type="SPATIAL_CLUSTERING", spatial_function_count=2
    )
    built = 0
    for k in range(8):
        e = expand(s, stand_in_context(0), random.Random(k))
        if e.query is None:
            continue
        built += 1
        derived = [n for n in ast.walk(e.query) if isinstance(n, ast.DerivedTable)]
        assert derived and not e.query.ctes, e.query
        assert _clusters(derived[0].query.body)  # type: ignore[arg-type]
        assert not [n for n in ast.walk(e.query) if isinstance(n, (ast.Exists, ast.Subquery))]
        f = extract_features(render_postgis(e.query))
        assert (f.subquery_count, f.cte_count) == (1, 0)
    assert built >= 6
