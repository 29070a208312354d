"""What an analyst would write (issue 14, fourth pass): the shapes of the last blind review
-- orderings nobody asks for, rankings that repeat the ordering, joins that multiply rows,
a quantity in two forms -- are not built. Each test expands real structures on the real
fixture and fails on the shape it names."""

from __future__ import annotations

import random
from dataclasses import replace

from expand_support import SCHEMA, ctx, stand_in_context

from cimgen import ast
from cimgen.expand import ExpansionContext, expand
from cimgen.models import QueryFeatures

RANKS = {"RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE"}


def _resolved(e: ast.Expr, body: ast.Select) -> ast.Expr:
    if isinstance(e, ast.Column) and e.table is None:
        return {it.alias: it.expr for it in body.items if it.alias}.get(e.name, e)
    return e


def _listings(
    s: QueryFeatures, n: int, c: ExpansionContext | None = None
) -> list[tuple[ast.Query, ast.Select]]:
    out = []
    for k in range(n):
        e = expand(s, c or ctx(), random.Random(k))
        if e.query is not None and isinstance(e.query.body, ast.Select):
            out.append((e.query, e.query.body))
    return out


def test_orderings_are_by_what_a_person_sorts_by() -> None:
    """No ORDER BY a longitude or latitude ("sorting by the bus's longitude is an odd
    request"), and no overall ranking window the query's ORDER BY repeats ("the ROW_NUMBER
    just repeats the distance ordering")."""
    ordered = ranked = 0
    for sql_type, cat, window in (
        ("SPATIAL_MEASUREMENT", "accessors", False),
        ("SIMPLE_SELECT", "accessors", True),
        ("SPATIAL_JOIN", "accessors", True),
        ("SPATIAL_MEASUREMENT", "measurements", True),
    ):
        s = QueryFeatures(
            table_count=2 if sql_type == "SPATIAL_JOIN" else 1,
            join_count=1 if sql_type == "SPATIAL_JOIN" else 0,
            schema_count=1,
            spatial_function_count=4,
            predicate_count=2,
            sql_type=sql_type,
            primary_function_category=cat,
            order_limit="ORDER_LIMIT",
            has_window=window,
        )
        for query, body in _listings(s, 25):
            order = [_resolved(o.expr, body) for o in query.order_by]
            ordered += bool(order)
            for e in order:
                calls = {n.name for n in ast.walk(e) if isinstance(n, ast.FuncCall)}
                assert not calls & {"ST_X", "ST_Y"}, query
            for it in body.items:
                w = it.expr
                if not (isinstance(w, ast.FuncCall) and w.over is not None):
                    continue
                if w.name.upper() not in RANKS or w.over.partition_by:
                    continue
                ranked += 1
                assert w.name.upper() != "ROW_NUMBER", query  # a row's position, no more
                if query.order_by:
                    first = query.order_by[0].expr
                    assert _resolved(first, body) != w.over.order_by[0].expr, query
                    assert first != ast.Column(it.alias or "?"), query
    assert ordered >= 40 and ranked >= 10, (ordered, ranked)


def test_one_group_by_construction_is_not_ordered() -> None:
    """A grouping the filters cut to one group ("LV buses per voltage") returns one row:
    no ORDER BY or LIMIT on it ("ordering what is usually a single row is pointless")."""
    s = QueryFeatures(
        table_count=1,
        schema_count=1,
        predicate_count=4,
        sql_type="AGGREGATION",
        aggregation="GROUP_BY",
        order_limit="ORDER_LIMIT",
    )
    c = ctx()
    from cimgen.engines.duckdb import open_fixture
    from cimgen.render import render_duckdb

    con = open_fixture(SCHEMA, 0)
    try:
        ordered = 0
        for query, _ in _listings(s, 60):
            if not (query.order_by or query.limit is not None):
                continue
            ordered += 1
            # the groups before the LIMIT cuts them ("the top one" of several is a question)
            whole = replace(query, limit=None)
            rows = con.execute(render_duckdb(whole, c.schema).sql).fetchall()
            assert len(rows) != 1, query
        assert ordered >= 20
    finally:
        con.close()


def test_a_joined_table_is_met_at_one_version_where_no_literal_may_pin_it() -> None:
    """A building met near a line (or by ``building_id`` from the height cache, which has no
    level of detail) comes once per ``lod``; where the fixture stands in for the user's
    database no ``lod`` literal may be written, so such a link is not built ("the building
    and properties tables are joined without matching lod, so rows multiply")."""
    from cimgen.expand.distinct import open_versions

    c = stand_in_context(7)  # the review's context
    assert not c.trusted and "lod" in version_columns_of(c, "cim_vector.building")
    joined = 0
    for sql_type, tables, joins in (
        ("SPATIAL_JOIN", 3, 1),
        ("SPATIAL_JOIN", 2, 1),
        ("SIMPLE_SELECT", 2, 1),
        ("SPATIAL_CLUSTERING", 3, 2),
    ):
        s = QueryFeatures(
            table_count=tables,
            join_count=joins,
            schema_count=1 if sql_type != "SIMPLE_SELECT" else 2,
            spatial_function_count=3,
            predicate_count=3,
            sql_type=sql_type,
            has_window=sql_type == "SPATIAL_CLUSTERING",
        )
        for k in range(25):
            e = expand(s, c, random.Random(k))
            if e.query is None:
                continue
            assert [v for v in open_versions(e.query, c) if v[1] == "lod"] == [], e.query
            refs = [n.name for n in ast.walk(e.query) if isinstance(n, ast.TableRef)]
            joined += "building" in refs and len(refs) > 1
    assert joined >= 10


def version_columns_of(c: ExpansionContext, table: str) -> tuple[str, ...]:
    from cimgen.expand.distinct import version_columns

    return version_columns(c, c.by_name[table])


def test_no_children_of_children_in_one_block() -> None:
    """Two one-to-many steps in a row multiply each row twice over: census sections near a
    project scenario times the project's buildings ("DBSCAN over census polygons duplicated
    by the project x building cross product yields meaningless clusters"). From an item met
    by such a step, no further such step is offered."""
    from cimgen.expand.build import Builder
    from cimgen.expand.core import Needs, fans_out
    from cimgen.expand.frame import BuildError, Frame, Item

    s = QueryFeatures(table_count=3, join_count=2, schema_count=2, sql_type="SPATIAL_JOIN")
    grown = 0
    for subject in ("cim_census.census_geo", "cim_vector.building", "cim_vector.grid_bus"):
        info = ctx().by_name[subject]
        for k in range(25):
            b = Builder(s, ctx(), random.Random(k), True)
            frame = Frame([Item("t0", info, b.pv.choose(info, need_spatial=True))])
            b.take(info)
            try:
                b.grow(frame, 2, 0, Needs())
            except BuildError:
                continue
            grown += 1
            for it in frame.items[1:]:
                link = it.link
                assert link is not None
                up = frame.items[link.to].link
                assert not (
                    fans_out(link.path, link.relation)
                    and up is not None
                    and fans_out(up.path, up.relation)
                ), [(x.table, x.link and (x.link.path.kind, x.link.relation)) for x in frame.items]
    assert grown >= 30


def test_one_form_per_quantity() -> None:
    """A stored length beside the computed one of the same row, or two statistics of one
    length in two forms (``AVG(length_km)`` beside ``AVG(ST_Length(...))``), say one thing
    twice -- also in a pair of neighbouring lines."""
    import re

    stored = re.compile(r"^(?:shape_)?(length|area)(?:_(?:km2|km|m2|m|sqm))?$")
    sizes = {"ST_Length": "length", "ST_Area": "area"}
    seen = 0
    for agg, sql_type, spatial in (
        ("NONE", "SPATIAL_MEASUREMENT", 3),
        ("AGGREGATE", "AGGREGATION", 3),
        ("GROUP_BY", "AGGREGATION", 3),
        ("NONE", "SPATIAL_JOIN", 8),  # pairs of neighbours, each one measured
    ):
        s = QueryFeatures(
            table_count=1,
            schema_count=1,
            spatial_function_count=spatial,
            predicate_count=3 if sql_type == "SPATIAL_JOIN" else 1,
            sql_type=sql_type,
            primary_function_category="measurements",
            aggregation=agg,
        )
        for query, body in _listings(s, 40) + _listings(s, 100, stand_in_context(2)):
            forms: dict[tuple[str, str], set[str]] = {}
            for it in body.items:
                e = it.expr
                calls = {
                    sizes[n.name]
                    for n in ast.walk(e)
                    if isinstance(n, ast.FuncCall) and n.name in sizes
                }
                owners = ast.tables_read(e)
                if len(calls) == 1 and len(owners) == 1:
                    forms.setdefault((owners.pop(), calls.pop()), set()).add("computed")
                    continue
                if isinstance(e, ast.FuncCall) and len(e.args) == 1 and e.over is None:
                    e = e.args[0]
                if isinstance(e, ast.Column) and e.table and (m := stored.match(e.name)):
                    forms.setdefault((e.table, m.group(1)), set()).add("stored")
            seen += any(k[1] == "length" for k in forms)
            assert all(len(v) == 1 for v in forms.values()), query
    assert seen >= 10


def test_a_pair_of_tiles_at_one_point_is_not_ordered() -> None:
    """A DTM and a DSM tile read at one point are one row: no ORDER BY / LIMIT on it
    ("ordering what is usually a single row is pointless")."""
    s = QueryFeatures(
        table_count=2,
        join_count=0,
        schema_count=1,
        spatial_function_count=4,
        predicate_count=1,
        sql_type="RASTER_VECTOR",
        primary_function_category="raster",
        order_limit="ORDER_LIMIT",
    )
    pairs = 0
    for query, _ in _listings(s, 60):
        refs = [n.name for n in ast.walk(query) if isinstance(n, ast.TableRef)]
        if sorted(refs) != ["dsm_raster", "dtm_raster"]:
            continue
        pairs += 1
        assert not query.order_by and query.limit is None, query
    assert pairs >= 5, pairs


def test_a_computed_size_under_a_qualified_name_still_replaces_the_stored_one() -> None:
    """Names told apart by what they belong to (``census_boundary_area_m2``, a neighbour's
    ``length_m``) still state an area or a length: the stored ``shape_area`` of the same
    row goes (the quantity is read from the size function, not from the output's name)."""
    from cimgen.expand.block import Block, Out
    from cimgen.expand.content import drop_restated
    from cimgen.expand.frame import Frame, Item

    cg = Item("cg", ctx().by_name["cim_census.census_geo"], 0)
    b = Block("main", Frame([cg]))
    area = ast.FuncCall("ST_Area", (ast.Column("geometry", "cg"),))
    b.add_out(Out(ast.Column("shape_area", "cg"), None, "attr", cg, numeric=True))
    b.add_out(Out(area, "census_boundary_area_m2", "measure", cg, numeric=True))
    b.add_out(Out(ast.Column("p1", "cg"), None, "attr", cg, numeric=True))
    drop_restated(b)
    assert [o.name or getattr(o.expr, "name", "") for o in b.outs] == [
        "census_boundary_area_m2",
        "p1",
    ]
