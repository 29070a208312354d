"""The fourteenth realism pass (b) (issue 14): contrived content the lead's read of 20
rows and the thirteenth pass's blind review named -- a joined table's column that means
nothing beside the subject (every building with its census zone's "number of buildings
built before 1918"), a distance to a place stacked on a clustering, a spatial join or a
CTE ("buses clustered, with their outgoing lines, nearest to (lon, lat) first"), a
subquery over a table held per project scenario left open beside an outer query pinned
to one. Each test reads the expanded AST the way ``benchmarks/bench_realism14b.py`` does;
what the corpus does is the bundled demo corpus's facts."""

from __future__ import annotations

from types import ModuleType

from expand_support import SCHEMA, bench_module, demo_combinations, expanded_sample
from test_expand import context, corpus_structures

from cimgen import ast
from cimgen.expand.context import ExpansionContext
from cimgen.expand.multiply import base_table, block_refs
from cimgen.models import Stage1Record
from cimgen.world.corpus import learn_corpus

_SCOPE = {"project_id", "scenario_id"}
_AGGS = {"AVG", "SUM", "MIN", "MAX", "COUNT"}
_POINTS = {"ST_MAKEPOINT", "ST_POINT", "ST_SETSRID"}
_CLUSTER = {"ST_CLUSTERDBSCAN", "ST_CLUSTERKMEANS"}


def _bench() -> ModuleType:
    return bench_module("bench_realism14b")  # its detectors: one reading of each shape


def test_the_corpus_says_what_a_query_asks_of_a_table_it_joins() -> None:
    records = [
        Stage1Record(
            "a",
            "SELECT b.building_id, cg.sez2011, cg.p1 FROM cim_vector.building b "
            "JOIN cim_census.census_geo cg ON b.census_id = cg.sez2011 WHERE cg.p1 > 100",
            1,
        ),
        Stage1Record(
            "b",
            "SELECT cg.sez2011, cg.e8 FROM cim_census.census_geo cg WHERE cg.e8 > 3",
            2,
        ),
        Stage1Record(
            "c",
            "SELECT b.building_id, ST_Distance(b.building_geometry::geography, "
            "ST_SetSRID(ST_MakePoint(9.19, 45.48), 4326)::geography) AS distance_m "
            "FROM cim_vector.building b ORDER BY distance_m",
            3,
        ),
        Stage1Record(
            "d",
            "SELECT gb.name, ST_ClusterDBSCAN(gb.geometry, 50, 2) OVER () AS cid, "
            "ST_Distance(gb.geometry, ST_SetSRID(ST_MakePoint(9.19, 45.48), 4326)) AS d "
            "FROM cim_vector.grid_bus gb",
            4,
        ),
    ]
    c = learn_corpus(SCHEMA, records).combinations()
    geo = "cim_census.census_geo"
    # read beside the buildings: its id and population, as an output and a filter
    assert c.joined == {geo: 1}
    assert c.joined_output(geo, "sez2011") == c.joined_output(geo, "p1") == 1
    assert c.joined_filter(geo, "p1") == 1
    # as the subject (record b), its columns say nothing of the joined role
    assert c.joined_output(geo, "e8") == c.joined_filter(geo, "e8") == 0
    assert c.place_distances == {"plain": 1, "clustered": 1}


def _joined_unasked(query: ast.Query, ctx: ExpansionContext) -> int:
    """Outputs and conditions reading a label or attribute of a table joined beside the
    block's subject (not a copy of its table, nor another table of the same thing) that
    the corpus, with evidence, never asks of that table in that role; aggregates' columns
    and group keys aside."""
    c = ctx.combos
    ctes = ast.ctes_by_name(query)
    found = 0
    for body in (n for n in ast.walk(query) if isinstance(n, ast.Select)):
        refs = block_refs(body)
        infos = {r.ref_name: base_table(r, ctes, ctx) for r in refs}
        head = infos.get(refs[0].ref_name) if refs else None
        if head is None:
            continue
        joined = {
            a: t
            for a, t in infos.items()
            if t is not None
            and t.qualified != head.qualified
            and c.evidence(t.qualified, "joined")
            # another table of the same thing (a building beside its properties: one
            # building_id) may still give an attribute when it must contribute one
            and not set(t.labels) & set(head.labels)
        }

        def asked(t: object) -> set[str]:
            return {*t.labels, *t.categories, *t.measures, *t.flags}  # type: ignore[attr-defined]

        for it in body.items:
            if it.expr in body.group_by:
                continue
            summed = {
                id(m)
                for n in ast.walk_own(it.expr)
                if isinstance(n, ast.FuncCall) and n.over is None and n.name.upper() in _AGGS
                for m in ast.walk(n)
            }
            for n in ast.walk_own(it.expr):
                if id(n) in summed or not isinstance(n, ast.Column) or n.table not in joined:
                    continue
                t = joined[n.table]
                found += n.name in asked(t) and not c.joined_output(t.qualified, n.name)
        for cond in ast.conjuncts(body.where):
            cols = [n for n in ast.walk_own(cond) if isinstance(n, ast.Column)]
            if len(cols) == 1 and cols[0].table in joined and cols[0].name not in _SCOPE:
                t = joined[cols[0].table]
                found += cols[0].name in asked(t) and not c.joined_filter(t.qualified, cols[0].name)
    return found


def test_a_joined_table_gives_what_the_corpus_asks_of_it() -> None:
    """Main cc36931 output or filtered a joined table's column the corpus never asks of it
    in that role in 79 + 42 of 300 CTGAN rows (seed 0): "every building with its census
    zone's section number and number of buildings built before 1918". The labels,
    attributes and attribute conditions of a joined table now follow
    ``Combinations.joined_outputs`` / ``joined_filters`` (the unseen's chance aside); of
    these 150 corpus structures main expanded 19 of 149 so (another table of the same
    thing, a building beside its properties, aside: it may still have to give one)."""
    c = context("cim_wizard")
    multi = [s for s in corpus_structures() if s.table_count >= 2 and s.sql_type != "AGGREGATION"]
    queries = expanded_sample(multi, 150, 14)
    found = sum(_joined_unasked(q, c) > 0 for q in queries)
    assert len(queries) >= 100, len(queries)
    assert found <= 0.04 * len(queries), (found, len(queries))


def _place_distance(query: ast.Query) -> bool:
    return any(
        isinstance(n, ast.FuncCall)
        and n.name.upper() == "ST_DISTANCE"
        and any(isinstance(m, ast.FuncCall) and m.name.upper() in _POINTS for m in ast.walk(n))
        for n in ast.walk(query)
    )


def _stacked(query: ast.Query) -> bool:
    """A distance to a place beside a clustering, a spatial join of two tables or a
    subquery / CTE (the corpus computes one only in a plain listing)."""
    if not _place_distance(query):
        return False
    nodes = list(ast.walk(query))
    if query.ctes or any(isinstance(n, (ast.Subquery, ast.InSubquery, ast.Exists)) for n in nodes):
        return True
    if any(isinstance(n, ast.FuncCall) and n.name.upper() in _CLUSTER for n in nodes):
        return True
    for body in (n for n in nodes if isinstance(n, ast.Select)):
        for cond in ast.block_conditions(body, outer_joins=True):
            tables = {x.table for x in ast.walk_own(cond) if isinstance(x, ast.Column)}
            calls = [n for n in ast.walk_own(cond) if isinstance(n, ast.FuncCall)]
            if calls and len(tables) > 1 and not ast.is_box_prefilter(cond):
                return True
    return False


def test_no_distance_to_a_place_stacked_on_another_purpose() -> None:
    """The lead's row of 1,000 CTGAN rows (seed 1) of main cc36931: "What are the
    coordinates and DBSCAN cluster of 0.4 kV buses ..., with their outgoing lines,
    nearest to (9.1687, 45.4637) first?" -- the corpus computes a distance to a place in
    314 plain listings and never beside a clustering, a spatial join or a CTE (12 of those
    1,000 rows stack one so)."""
    assert demo_combinations().place_distances == {"plain": 314}
    kinds = ("SPATIAL_CLUSTERING", "SPATIAL_JOIN", "NESTED_QUERY")
    ordered = [
        s
        for s in corpus_structures()
        if s.sql_type in kinds and s.order_limit in ("ORDER", "ORDER_LIMIT")
    ]
    # every ordered structure of those kinds (2,301): main made 8 such rows of 2,297
    queries = expanded_sample(ordered, len(ordered), 15)
    places = sum(_place_distance(q) for q in queries)
    stacked = sum(_stacked(q) for q in queries)
    assert len(queries) >= 2000, len(queries)
    # the unseen's chance (5 / (5 + 314) per distance on offer) leaves a few, not main's 8
    assert stacked <= 3, (stacked, places, len(queries))


def test_a_subquery_takes_its_outer_querys_scenario() -> None:
    """``EXISTS (SELECT 1 FROM building_height_cache ... WHERE confidence_score >= 0.81)``
    beside ``bp.project_id = ... AND bp.scenario_id = ...``: the cache of every scenario
    (2 of 300 CTGAN rows of main cc36931, seed 0; 6 of these 49 expansions). The
    subquery now pins the outer query's scenario where its correlation does not tie it."""
    c = context("cim_wizard")
    nested = [s for s in corpus_structures() if s.subquery_count >= 1]
    open_ = pinned_outer = 0
    for q in expanded_sample(nested, 200, 16):
        ctes = ast.ctes_by_name(q)
        for body in (n for n in ast.walk(q) if isinstance(n, ast.Select)):
            conds = ast.conjuncts(body.where)
            if not any(_bench()._pin(x) for x in conds):
                continue
            for cond in conds:
                for n in ast.walk_own(cond):
                    if not isinstance(n, (ast.InSubquery, ast.Exists)):
                        continue
                    if not isinstance(n.query.body, ast.Select):
                        continue
                    sub = n.query.body
                    infos = [base_table(r, ctes, c) for r in block_refs(sub)]
                    if not any(t is not None and t.scope for t in infos):
                        continue
                    pinned_outer += 1
                    inner = ast.conjuncts(sub.where)
                    open_ += not any(_bench()._pin(x) or _bench()._scope_link(x) for x in inner)
    assert pinned_outer >= 10, pinned_outer
    assert open_ == 0, (open_, pinned_outer)


def test_a_distance_is_ordered_nearest_first() -> None:
    """Pairs listed farthest first (the thirteenth pass's blind review; 11 of 1,000 CTGAN
    rows of main cc36931, seed 1): the bundled corpus orders by a distance 725 times, never
    descending. The order's one-in-five flip of direction no longer applies to a
    distance (main: 21 of these 118 distance orders descending)."""
    ordered = [
        s
        for s in corpus_structures()
        if s.sql_type in ("SPATIAL_JOIN", "SPATIAL_MEASUREMENT")
        and s.order_limit in ("ORDER", "ORDER_LIMIT")
        and s.aggregation == "NONE"
    ]
    by_distance = farthest = 0
    for q in expanded_sample(ordered, 600, 17):
        for o in q.order_by:
            name = o.expr.name if isinstance(o.expr, ast.Column) else ""
            if name.startswith("distance"):
                by_distance += 1
                farthest += o.direction == "DESC"
    assert by_distance >= 30, by_distance
    assert farthest == 0, (farthest, by_distance)


def _joined_for_its_key(query: ast.Query) -> bool:
    """A table joined by key equality (``JOIN census_geo cg ON b.census_id = cg.sez2011``)
    that the query reads nothing else of: the other side holds that key already, so the
    join adds nothing (``b.census_id`` is ``cg.sez2011``)."""
    cols = [n for n in ast.walk(query) if isinstance(n, ast.Column)]
    for join in (n for n in ast.walk(query) if isinstance(n, ast.Join)):
        right = join.right
        if not isinstance(right, ast.TableRef) or join.on is None:
            continue
        alias = right.alias or right.name
        keyed = set()
        for c in ast.conjuncts(join.on):
            if (
                isinstance(c, ast.BinaryOp)
                and c.op == "="
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.Column)
            ):
                keyed |= {x.name for x in (c.left, c.right) if x.table == alias}
        read = {c.name for c in cols if c.table == alias}
        if keyed and read <= keyed:
            return True
    return False


def test_a_table_joined_by_key_gives_more_than_that_key() -> None:
    """The merged fourteenth pass output a joined census zone's key beside the building
    that holds it (``cg.sez2011`` of ``JOIN census_geo cg ON b.census_id = cg.sez2011``,
    and nothing else of the zone) in 956 of 50,000 default-job rows (15 of 1,000 CTGAN
    s1; cc36931: 2): a pointless join. A joined table now gives what the corpus asks of
    it other than the key it is joined on (6c14e7d: 11 of these 299 expansions). The one
    4c22d6f left, a building beside its own properties giving only its level (``b.lod``,
    equal to ``bp.lod``), is refused (``once.level_only``), and a joined zone is not
    grouped by the key it is joined on (fifteenth pass (c))."""
    multi = [s for s in corpus_structures() if s.table_count >= 2]
    queries = expanded_sample(multi, 300, 41)
    assert len(queries) >= 200, len(queries)
    assert sum(_joined_for_its_key(q) for q in queries) == 0
