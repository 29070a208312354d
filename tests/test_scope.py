"""Name resolution (cimgen/scope.py): sources, CTEs, derived tables, correlated references,
shadowing, and type / SRID lookup, on parsed queries against the bundled schema."""

from __future__ import annotations

import doctest
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cimgen.scope
from cimgen import ast
from cimgen.grammar import parse
from cimgen.schema.load import load_schema
from cimgen.schema.model import Column as SchemaColumn
from cimgen.schema.model import Schema, Table
from cimgen.scope import (
    QuerySource,
    Scope,
    column_kind,
    first_select,
    query_scopes,
    stated_srid,
    states_srid,
)


@cache
def _schema() -> Schema:
    return load_schema("cim_wizard")


def _scopes(sql: str) -> tuple[ast.Query, dict[int, Scope]]:
    q = parse(sql)
    return q, query_scopes(q, _schema())


def _selects(q: ast.Query) -> list[ast.Select]:
    return [n for n in ast.walk(q) if isinstance(n, ast.Select)]


def test_module_examples_run() -> None:
    assert doctest.testmod(cimgen.scope).failed == 0


def test_base_table_alias_and_srid() -> None:
    q, scopes = _scopes("SELECT b.height FROM cim_vector.building b")
    scope = scopes[id(q.body)]
    assert isinstance(scope.sources["b"], Table)
    found = scope.resolve(ast.Column("building_geometry", "b"))
    assert isinstance(found, SchemaColumn) and found.srid == 4326
    assert scope.srid(ast.Column("building_geometry")) == 4326
    assert scope.srid(ast.Column("building_id", "b")) is None  # not a geometry
    assert scope.resolve(ast.Column("nope", "b")) is None
    assert scope.find("x") is None  # unknown alias: the binder's BND008


def test_unknown_table_is_an_unknown_source() -> None:
    q, scopes = _scopes("SELECT t.a FROM nowhere t")
    scope = scopes[id(q.body)]
    assert scope.find("t") == (scope, None)  # known alias, unknown columns
    assert scope.resolve(ast.Column("a", "t")) is None
    assert scope.level_hits("a") is None  # may come from there: not "unknown column"


def test_cte_columns_resolve_to_their_definition() -> None:
    q, scopes = _scopes(
        "WITH t AS (SELECT building_geometry AS g, height FROM cim_vector.building) "
        "SELECT t.g, height FROM t"
    )
    scope = scopes[id(q.body)]
    source = scope.sources["t"]
    assert isinstance(source, QuerySource)
    expr, inner = scope.resolve(ast.Column("g", "t"))  # type: ignore[misc]
    assert expr == ast.Column("building_geometry")
    assert isinstance(inner.resolve(expr), SchemaColumn)
    assert scope.srid(ast.Column("g", "t")) == 4326  # followed through the CTE
    assert scope.reference_of(ast.Column("height")) == "t"
    assert scope.base_column(ast.Column("height")) is None  # not a table in FROM directly


def test_cte_explicit_column_names_and_star() -> None:
    q, scopes = _scopes(
        "WITH t (geom_x, h) AS (SELECT building_geometry, height FROM cim_vector.building), "
        "u AS (SELECT * FROM t) SELECT u.geom_x FROM u"
    )
    scope = scopes[id(q.body)]
    assert scope.srid(ast.Column("geom_x", "u")) == 4326  # through * and the column list
    assert scope.resolve(ast.Column("building_geometry", "u")) is None  # renamed by t (...)


def test_each_cte_sees_only_the_ones_before_it() -> None:
    q = parse(
        "WITH a AS (SELECT building_id FROM cim_vector.building), "
        "b AS (SELECT building_id FROM a) SELECT building_id FROM b"
    )
    scopes = query_scopes(q, _schema())
    a_sel, b_sel = (first_select(c.query.body) for c in q.ctes)
    assert set(scopes[id(a_sel)].ctes) == set()
    assert set(scopes[id(b_sel)].ctes) == {"a"}
    assert isinstance(scopes[id(b_sel)].sources["a"], QuerySource)


def test_derived_table() -> None:
    q, scopes = _scopes(
        "SELECT d.area FROM (SELECT ST_Area(building_geometry) AS area "
        "FROM cim_vector.building) AS d"
    )
    scope = scopes[id(q.body)]
    expr, _ = scope.resolve(ast.Column("area", "d"))  # type: ignore[misc]
    assert isinstance(expr, ast.FuncCall) and expr.name == "ST_Area"
    assert scope.srid(ast.Column("area", "d")) is None  # an expression, not a column


def test_correlated_reference_resolves_outwards() -> None:
    q, scopes = _scopes(
        "SELECT b.building_id FROM cim_vector.building b WHERE EXISTS ("
        "SELECT 1 FROM cim_census.census_geo c WHERE ST_Contains(c.geometry, b.building_geometry))"
    )
    outer, inner = _selects(q)
    inner_scope = scopes[id(inner)]
    assert inner_scope.parent is scopes[id(outer)]
    assert inner_scope.locate(ast.Column("building_geometry", "b"))[2] == 1  # type: ignore[index]
    assert inner_scope.locate(ast.Column("geometry", "c"))[2] == 0  # type: ignore[index]
    assert inner_scope.srid(ast.Column("building_geometry", "b")) == 4326


def test_derived_table_does_not_see_its_from_siblings() -> None:
    q, scopes = _scopes(
        "SELECT 1 FROM cim_vector.building b, (SELECT g.geometry FROM cim_census.census_geo g) AS d"
    )
    _, inner = _selects(q)
    assert scopes[id(inner)].parent is None  # no LATERAL: b is not visible inside d
    assert scopes[id(inner)].find("b") is None


def test_alias_shadowing_inner_wins() -> None:
    q, scopes = _scopes(
        "SELECT b.building_id FROM cim_vector.building b WHERE b.height > ("
        "SELECT AVG(b.geometry_x) FROM cim_vector.grid_bus b)"
    )
    _, inner = _selects(q)
    scope = scopes[id(inner)]
    hit = scope.find("b")
    assert hit is not None and hit[0] is scope
    assert isinstance(hit[1], Table) and hit[1].name == "grid_bus"
    assert scope.resolve(ast.Column("height", "b")) is None  # the qualifier is final


def test_unqualified_ambiguity_and_outer_fallback() -> None:
    q, scopes = _scopes(
        "SELECT 1 FROM cim_vector.building a JOIN cim_vector.building_properties p "
        "ON a.building_id = p.building_id"
    )
    scope = scopes[id(q.body)]
    hits = scope.level_hits("building_id")
    assert hits is not None and [r for r, _ in hits] == ["a", "p"]  # ambiguous
    assert scope.level_hits("no_such_column") == []


def test_geography_kind() -> None:
    column = SchemaColumn.of("g", "geography(Point,4326)")
    assert column_kind(column) == "geography"
    assert column_kind(SchemaColumn.of("g", "geometry(Point,4326)")) == "geometry"


_TABLES = list(load_schema("cim_wizard").tables)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(_TABLES),
    st.sampled_from(["x", "y", "t1"]),
    st.integers(min_value=0, max_value=3),
)
def test_column_resolves_to_its_table_through_any_nesting(
    table: Table, alias: str, depth: int
) -> None:
    """A column of a table, wrapped in ``depth`` pass-through CTE layers, resolves to
    the schema column it started as, with its kind and SRID."""
    column = table.columns[0]
    sql = f"SELECT {column.name} FROM {table.qualified} {alias}"
    ref = alias
    for level in range(depth):
        sql = f"WITH c{level} AS ({sql}) SELECT c{level}.{column.name} FROM c{level}"
        ref = f"c{level}"
    q, scopes = _scopes(sql)
    scope = scopes[id(q.body)]
    found = scope.resolve(ast.Column(column.name, ref))
    while isinstance(found, tuple):
        found = found[1].resolve(found[0])  # type: ignore[arg-type]
    assert found == column
    expected = column.srid if column.kind == "geometry" else None
    assert scope.srid(ast.Column(column.name, ref)) == expected


@pytest.mark.parametrize(
    ("expr", "states", "srid"),
    [
        ("ST_SetSRID(ST_MakePoint(9.19, 45.47), 4326)", True, 4326),
        ("ST_Transform(t.g, 32632)", True, 32632),
        ("ST_GeomFromText('POINT(9 45)', 3003)", True, 3003),
        ("ST_MakeEnvelope(9.1, 45.4, 9.2, 45.5, 4326)", True, 4326),
        ("ST_Transform(t.g, t.srid)", True, None),  # stated, but not as a literal
        ("ST_GeomFromText('POINT(9 45)')", False, None),
        ("ST_MakeEnvelope(9.1, 45.4, 9.2, 45.5)", False, None),
        ("ST_Buffer(t.g, 10)", False, None),
    ],
)
def test_the_srid_a_call_states(expr: str, states: bool, srid: int | None) -> None:
    body = parse(f"SELECT {expr} FROM t").body
    assert isinstance(body, ast.Select)
    call = body.items[0].expr
    assert isinstance(call, ast.FuncCall)
    assert (states_srid(call), stated_srid(call)) == (states, srid)
