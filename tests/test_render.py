"""Renderers: exact PostGIS text, precedence, escaping, and DuckDB / SpatiaLite / PostGIS
renderings EXECUTED on the real engines (DuckDB spatial loaded from the wheel, SpatiaLite
through apsw + mod_spatialite, PostGIS through the ``postgis_dsn`` fixtures)."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Any

import apsw
import duckdb
import duckdb_extension_spatial
import pglast
import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from cimgen import ast
from cimgen.catalogue import load_catalogue
from cimgen.engines.duckdb_cluster import install_clustering
from cimgen.grammar import parse
from cimgen.render import (
    Rendered,
    render_all,
    render_duckdb,
    render_postgis,
    render_spatialite,
    spatialite_table_name,
)
from cimgen.render.duckdb import crs, metric_column_name, metric_columns, transform
from cimgen.schema.load import load_schema

SCHEMA = load_schema("cim_wizard")
SPATIAL_EXT = (
    Path(duckdb_extension_spatial.__file__).parent / "extensions/v1.5.5/spatial.duckdb_extension"
)
# Fixture-like geometries near Milan (45.46 N, 9.19 E).
BUILDING = "POLYGON((9.19 45.46, 9.19038 45.46, 9.19038 45.46018, 9.19 45.46018, 9.19 45.46))"
BLOCK = "POLYGON((9.18 45.45, 9.193 45.45, 9.193 45.459, 9.18 45.459, 9.18 45.45))"
BUS = "POINT(9.195 45.4625)"
LINE = "LINESTRING(9.19 45.46, 9.2 45.47)"
POINT2 = "POINT(9.2 45.47)"

# --------------------------------------------------------------------------- AST helpers


def c(name: str, table: str | None = None) -> ast.Column:
    return ast.Column(name, table)


def n(text: str | int | float) -> ast.Number:
    return ast.Number(str(text))


def s(value: str) -> ast.String:
    return ast.String(value)


def f(name: str, *args: Any, **kw: Any) -> ast.FuncCall:
    return ast.FuncCall(name, tuple(args), **kw)


def b(op: str, left: Any, right: Any) -> ast.BinaryOp:
    return ast.BinaryOp(op, left, right)


def geom(wkt: str, srid: int | None = 4326) -> ast.FuncCall:
    return f("ST_GeomFromText", s(wkt), n(srid)) if srid else f("ST_GeomFromText", s(wkt))


def select(*items: Any, **kw: Any) -> ast.Query:
    """A one-block query; items are expressions or (expression, alias) pairs."""
    query_kw = {k: kw.pop(k) for k in ("ctes", "order_by", "limit", "offset") if k in kw}
    sel_items = tuple(
        ast.SelectItem(*i) if isinstance(i, tuple) else ast.SelectItem(i) for i in items
    )
    if "from_" in kw and not isinstance(kw["from_"], tuple):
        kw["from_"] = (kw["from_"],)
    return ast.Query(ast.Select(sel_items, **kw), **query_kw)


def building(alias: str | None = "b") -> ast.TableRef:
    return ast.TableRef("building", "cim_vector", alias)


def one(query: ast.Query) -> str:
    return render_postgis(query)


def ok(rendered: Rendered) -> str:
    assert rendered.unsupported is None, rendered.unsupported
    assert rendered.sql is not None
    return rendered.sql


# --------------------------------------------------------------------------- engines


@pytest.fixture(scope="module")
def duck() -> Any:
    con = duckdb.connect()
    con.execute(f"LOAD '{SPATIAL_EXT}'")
    install_clustering(con)  # what every fixture connection has (engines.duckdb.connect)
    con.execute("CREATE SCHEMA cim_vector; CREATE SCHEMA cim_census")
    con.execute(
        "CREATE TABLE cim_vector.building (id INTEGER, building_id VARCHAR, lod INTEGER, "
        "building_geometry GEOMETRY)"
    )
    con.execute(
        "INSERT INTO cim_vector.building VALUES "
        f"(1, 'B1', 0, ST_GeomFromText('{BUILDING}')), (2, 'B2', 0, ST_GeomFromText('{BLOCK}'))"
    )
    con.execute(
        "CREATE TABLE cim_vector.grid_bus (id INTEGER, bus_id INTEGER, "
        "geometry GEOMETRY, in_service BOOLEAN)"
    )
    con.execute(f"INSERT INTO cim_vector.grid_bus VALUES (1, 7, ST_GeomFromText('{BUS}'), true)")
    con.execute(
        "CREATE TABLE cim_census.census_geo (id INTEGER, sez2011 BIGINT, "
        "geometry GEOMETRY, p1 INTEGER, p60 INTEGER, p62 INTEGER)"
    )
    con.execute(
        f"INSERT INTO cim_census.census_geo VALUES (1, 15146, ST_GeomFromText('{BLOCK}'),"
        " 700, 7, 2)"
    )
    for table in ("cim_vector.building", "cim_vector.grid_bus", "cim_census.census_geo"):
        t = SCHEMA.table(table)
        assert t is not None
        for col, src, dst in metric_columns(t, SCHEMA):  # what the fixture build adds
            name = metric_column_name(col.name, dst)
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" GEOMETRY')
            con.execute(f'UPDATE {table} SET "{name}" = {transform(col.name, src, dst)}')
    yield con
    con.close()


@pytest.fixture(scope="module")
def lite() -> Any:
    con = apsw.Connection(":memory:")
    con.enable_load_extension(True)
    con.load_extension("mod_spatialite")
    con.execute("SELECT InitSpatialMetadata(1)")  # spatial_ref_sys: ellipsoids, ST_Transform
    t = spatialite_table_name
    con.execute(
        f"CREATE TABLE {t('cim_vector.building')} (id INTEGER, building_id TEXT, "
        "lod INTEGER, building_geometry BLOB)"
    )
    con.execute(
        f"INSERT INTO {t('cim_vector.building')} VALUES "
        f"(1, 'B1', 0, GeomFromText('{BUILDING}', 4326)), "
        f"(2, 'B2', 0, GeomFromText('{BLOCK}', 4326))"
    )
    con.execute(
        f"CREATE TABLE {t('cim_vector.grid_bus')} (id INTEGER, bus_id INTEGER, "
        "geometry BLOB, in_service INTEGER)"
    )
    con.execute(
        f"INSERT INTO {t('cim_vector.grid_bus')} VALUES (1, 7, GeomFromText('{BUS}', 4326), 1)"
    )
    con.execute(
        f"CREATE TABLE {t('cim_census.census_geo')} (id INTEGER, sez2011 INTEGER, "
        "geometry BLOB, p1 INTEGER, p60 INTEGER, p62 INTEGER)"
    )
    con.execute(
        f"INSERT INTO {t('cim_census.census_geo')} VALUES "
        f"(1, 15146, GeomFromText('{BLOCK}', 4326), 700, 7, 2)"
    )
    yield con
    con.close()


def run_duck(con: Any, query: ast.Query) -> list[tuple[Any, ...]]:
    return con.execute(ok(render_duckdb(query, SCHEMA))).fetchall()


def run_lite(con: Any, query: ast.Query) -> list[tuple[Any, ...]]:
    return list(con.execute(ok(render_spatialite(query, SCHEMA))))


# --------------------------------------------------------------------------- PostGIS text

EXACT = [
    (
        select(
            c("building_id", "b"),
            (f("ST_Area", c("building_geometry", "b"), schema="public"), "area"),
            from_=ast.Join(
                "INNER",
                building(),
                ast.TableRef("building_properties", "cim_vector", "bp"),
                b("=", c("building_id", "b"), c("building_id", "bp")),
            ),
            where=b(">", c("height", "bp"), n(20)),
            order_by=(ast.OrderItem(c("area"), "DESC", "LAST"),),
            limit=n(10),
            offset=n(5),
        ),
        "SELECT b.building_id, public.ST_Area(b.building_geometry) AS area\n"
        "FROM cim_vector.building AS b\n"
        "JOIN cim_vector.building_properties AS bp ON b.building_id = bp.building_id\n"
        "WHERE bp.height > 20\n"
        "ORDER BY area DESC NULLS LAST\n"
        "LIMIT 10\n"
        "OFFSET 5",
    ),
    (
        select(
            (f("COUNT", star=True), "n"),
            f("COUNT", c("x"), distinct=True, filter=b(">", c("x"), n(0))),
            f("ROW_NUMBER", over=ast.Window((c("y"),), (ast.OrderItem(c("z"), "DESC"),))),
            f(
                "ST_ClusterDBSCAN",
                c("geom"),
                ast.NamedArg("eps", n(2000)),
                ast.NamedArg("minpoints", n(5)),
                over=ast.Window(),
            ),
            from_=ast.TableRef("t"),
            group_by=(c("y"),),
            having=b(">", f("COUNT", star=True), n(1)),
            ctes=(ast.CTE("t", select(n(1), n(2)), ("x", "y")),),
        ),
        "WITH t(x, y) AS (\n  SELECT 1, 2\n)\n"
        "SELECT COUNT(*) AS n,\n"
        "  COUNT(DISTINCT x) FILTER (WHERE x > 0),\n"
        "  ROW_NUMBER() OVER (PARTITION BY y ORDER BY z DESC),\n"
        "  ST_ClusterDBSCAN(geom, eps := 2000, minpoints := 5) OVER ()\n"
        "FROM t\nGROUP BY y\nHAVING COUNT(*) > 1",
    ),
    (
        ast.Query(
            ast.SetOp(
                "UNION",
                ast.Select((ast.SelectItem(s("DTM"), "kind"),)),
                select(s("DSM"), order_by=(ast.OrderItem(n(1)),), limit=n(1)),
                all=True,
            )
        ),
        "SELECT 'DTM' AS kind\nUNION ALL\n(SELECT 'DSM'\n  ORDER BY 1\n  LIMIT 1)",
    ),
    (
        select(
            ast.Case((ast.When(b(">", c("h"), n(20)), s("high")),), s("low")),
            ast.Case((ast.When(n(1), s("one")),), None, c("k")),
            (ast.FieldAccess(f("ST_SummaryStats", c("rast")), "mean"), "m"),
            ast.Cast(c("p1"), "double precision", "CAST"),
            ast.Star("b"),
            from_=(
                ast.Join(
                    "CROSS",
                    ast.Join(
                        "LEFT",
                        building(),
                        ast.TableRef("grid_bus", "cim_vector", "g"),
                        b("=", c("id", "b"), c("id", "g")),
                    ),
                    ast.DerivedTable(select(ast.Star()), "d"),
                ),
            ),
        ),
        "SELECT CASE WHEN h > 20 THEN 'high' ELSE 'low' END,\n"
        "  CASE k WHEN 1 THEN 'one' END,\n"
        "  (ST_SummaryStats(rast)).mean AS m,\n"
        "  CAST(p1 AS double precision),\n"
        "  b.*\n"
        "FROM cim_vector.building AS b\n"
        "LEFT JOIN cim_vector.grid_bus AS g ON b.id = g.id\n"
        "CROSS JOIN (\n  SELECT *\n) AS d",
    ),
    (
        select(
            ast.Star(),
            from_=building(None),
            where=b(
                "AND",
                b(
                    "AND",
                    ast.Between(c("lod"), n(0), n(2), negated=True),
                    ast.InList(c("id"), (n(1), n(2))),
                ),
                b(
                    "OR",
                    ast.IsNull(c("x"), negated=True),
                    ast.UnaryOp("NOT", ast.Exists(select(ast.Null()))),
                ),
            ),
        ),
        "SELECT *\nFROM cim_vector.building\n"
        "WHERE lod NOT BETWEEN 0 AND 2\n"
        "  AND id IN (1, 2)\n"
        "  AND (x IS NOT NULL OR NOT EXISTS (SELECT NULL))",
    ),
]


@pytest.mark.parametrize("query, expected", EXACT, ids=range(len(EXACT)))
def test_postgis_exact_text(query: ast.Query, expected: str) -> None:
    assert one(query) == expected
    pglast.parser.parse_sql(expected)
    assert parse(expected) == query  # the parser agrees: this is the canonical text


def _all_nodes() -> list[ast.Query]:
    """Queries that between them use every node type (checked below)."""
    g = c("building_geometry", "b")
    return [q for q, _ in EXACT] + [
        select(
            f("ST_Area", ast.Cast(g, "geography")),
            ast.InSubquery(c("id"), select(c("id"), from_=building(None)), negated=True),
            ast.Subquery(select(f("MAX", c("lod")), from_=building(None))),
            b("LIKE", c("building_id"), s("B%")),
            ast.UnaryOp("NOT", b("ILIKE", c("building_id"), s("b%"))),
            ast.Boolean(True),
            b("<->", g, geom(BUS)),
            b("&&", g, geom(BUS)),
            b("||", s("a"), c("building_id")),
            ast.UnaryOp("-", c("lod")),
            from_=building(),
        ),
    ]


def test_every_node_type_is_covered_and_pglast_parses_every_rendering() -> None:
    seen = set()
    for query in _all_nodes():
        seen.update(type(node) for node in ast.walk(query))
        pglast.parser.parse_sql(one(query))
    node_types = {
        getattr(ast, name) for name in ast.__all__ if isinstance(getattr(ast, name), type)
    }
    assert node_types - seen == set()


# --------------------------------------------------------------------------- precedence

PRECEDENCE = [
    (b("-", c("a"), b("-", c("b"), c("c"))), "a - (b - c)"),
    (b("-", b("-", c("a"), c("b")), c("c")), "a - b - c"),
    (b("AND", b("OR", c("a"), c("b")), c("c")), "(a OR b) AND c"),
    (b("OR", c("a"), b("AND", c("b"), c("c"))), "a OR b AND c"),
    (ast.UnaryOp("NOT", b("AND", c("a"), c("b"))), "NOT (a AND b)"),
    (ast.UnaryOp("NOT", b("=", c("a"), c("b"))), "NOT a = b"),
    (ast.UnaryOp("-", c("x")), "-x"),
    (ast.UnaryOp("-", b("+", c("x"), n(1))), "-(x + 1)"),
    (ast.UnaryOp("-", ast.UnaryOp("-", c("x"))), "-(-x)"),
    (ast.Cast(b("/", c("a"), c("b")), "numeric"), "(a / b)::numeric"),
    (ast.Cast(ast.UnaryOp("-", c("a")), "int"), "(-a)::int"),
    (ast.UnaryOp("-", ast.Cast(c("a"), "int")), "-a::int"),
    (b("*", b("+", c("a"), c("b")), c("c")), "(a + b) * c"),
    (b("||", c("a"), b("+", c("b"), c("c"))), "a || b + c"),
    (b("+", b("||", c("a"), c("b")), c("c")), "(a || b) + c"),
    (b("=", b("=", c("a"), c("b")), ast.Boolean(True)), "(a = b) = true"),
    (b("=", b("LIKE", c("a"), c("b")), ast.Boolean(True)), "a LIKE b = true"),
    (ast.IsNull(b("=", c("a"), c("b"))), "a = b IS NULL"),
    (
        ast.Between(c("x"), b("+", c("a"), n(1)), b("AND", c("p"), c("q"))),
        "x BETWEEN a + 1 AND (p AND q)",
    ),
    (ast.FieldAccess(c("s"), "mean"), "(s).mean"),
]


@pytest.mark.parametrize("tree, expected", PRECEDENCE, ids=[e for _, e in PRECEDENCE])
def test_precedence_adds_only_needed_parentheses(tree: Any, expected: str) -> None:
    query = select(tree)
    assert one(query) == f"SELECT {expected}"
    assert parse(one(query)) == query


_leaf = st.one_of(
    st.sampled_from([c("a"), c("b", "t"), n(1), n("2.5"), s("x'y"), ast.Null()]),
)
_tree = st.recursive(
    _leaf,
    lambda sub: st.one_of(
        st.builds(
            ast.BinaryOp,
            st.sampled_from(["OR", "AND", "=", "<", "+", "-", "*", "/", "%", "||", "LIKE"]),
            sub,
            sub,
        ),
        st.builds(ast.UnaryOp, st.sampled_from(["NOT", "-"]), sub),
        st.builds(ast.Cast, sub, st.sampled_from(["int", "double precision"])),
        st.builds(ast.IsNull, sub, st.booleans()),
        st.builds(ast.Between, sub, sub, sub, st.booleans()),
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(_tree)
def test_any_expression_tree_round_trips_through_the_parser(tree: Any) -> None:
    query = select(tree)
    text = one(query)
    assert parse(text) == query, text
    pglast.parser.parse_sql(text)


def test_sqlite_precedence_differs_and_is_respected(lite: Any) -> None:
    # PostgreSQL: || binds looser than +; SQLite: tighter. Both must give 'a3'.
    concat = select(b("||", s("a"), b("+", n(1), n(2))))
    assert one(concat) == "SELECT 'a' || 1 + 2"
    assert ok(render_spatialite(concat, SCHEMA)) == "SELECT 'a' || (1 + 2)"
    assert run_lite(lite, concat) == [("a3",)]
    # PostgreSQL: LIKE binds tighter than =; SQLite: same level, left to right.
    like = select(b("=", ast.Boolean(True), b("LIKE", s("ab"), s("a%"))))
    assert ok(render_spatialite(like, SCHEMA)) == "SELECT 1 = ('ab' GLOB 'a*')"
    assert run_lite(lite, like) == [(1,)]


# --------------------------------------------------------------------------- lexical


@pytest.mark.parametrize("value", ["O'Brien", "back\\slash", "'; DROP TABLE x; --", "a''b\\'"])
def test_strings_are_escaped_so_values_cannot_inject(value: str, duck: Any, lite: Any) -> None:
    query = select(s(value))
    text = one(query)
    stmt = pglast.parser.parse_sql(text)
    assert len(stmt) == 1
    assert stmt[0].stmt.targetList[0].val.val.sval == value
    assert run_duck(duck, query) == [(value,)]
    assert run_lite(lite, query) == [(value,)]


def test_identifiers_are_quoted_only_when_needed() -> None:
    query = select(
        c("SEZ2011"),
        c("order", "t"),
        (c("filter"), "Total Count"),
        c("sez2011"),
        from_=ast.TableRef("Weird Table", "cim_vector", "t"),
    )
    assert one(query) == (
        'SELECT "SEZ2011", t."order", "filter" AS "Total Count", sez2011\n'
        'FROM cim_vector."Weird Table" AS t'
    )
    assert parse(one(query)) == query


# --------------------------------------------------------------------------- DuckDB


def _area_query(cast: bool = True) -> ast.Query:
    g = c("building_geometry", "b")
    return select(
        f("ST_Area", ast.Cast(g, "geography") if cast else g, schema="public"),
        from_=building(),
        where=b("=", c("id", "b"), n(1)),
    )


def test_duckdb_geography_area_is_metric_and_close_to_the_ellipsoid(duck: Any, lite: Any) -> None:
    duck_sql = ok(render_duckdb(_area_query(), SCHEMA))
    assert 'ST_Area(b."building_geometry$srid32632")' in duck_sql  # the stored metric copy
    [(duck_area,)] = duck.execute(duck_sql).fetchall()
    [(lite_area,)] = run_lite(lite, _area_query())  # SpatiaLite: ST_Area(g, 1), ellipsoid
    assert lite_area == pytest.approx(594.58, abs=0.01)  # PostGIS geography gives 594.58
    assert duck_area == pytest.approx(lite_area, rel=1e-3)  # UTM 32N: -0.08 % near Milan
    [(planar,)] = run_duck(duck, _area_query(cast=False))
    assert planar == pytest.approx(0.00038 * 0.00018, rel=1e-9)  # no cast: degrees², as PostGIS


def test_duckdb_setsrid_point_transform_and_distances(duck: Any, lite: Any) -> None:
    point = f("ST_SetSRID", f("ST_MakePoint", n(9.195), n(45.4625)), n(4326))
    g = c("building_geometry", "b")
    query = select(
        f("ST_Distance", ast.Cast(g, "geography"), ast.Cast(point, "geography")),
        f("ST_DWithin", ast.Cast(g, "geography"), ast.Cast(point, "geography"), n(500)),
        f("ST_DWithin", ast.Cast(g, "geography"), ast.Cast(point, "geography"), n(300)),
        f("ST_X", f("ST_Transform", point, n(32632))),
        b("<->", g, point),
        b("&&", g, point),
        b("&&", g, geom(BUILDING)),
        from_=building(),
        where=b("=", c("id", "b"), n(1)),
    )
    [d_row] = run_duck(duck, query)
    [l_row] = run_lite(lite, query)
    assert l_row[0] == pytest.approx(443.9, abs=0.1)  # ellipsoidal metres
    assert d_row[0] == pytest.approx(l_row[0], rel=5e-4)
    assert d_row[1:3] == (True, False) and l_row[1:3] == (1, 0)
    assert d_row[3] == pytest.approx(l_row[3], abs=1e-3)
    assert d_row[3] == pytest.approx(515244.8, abs=0.1)  # UTM 32N easting of 9.195 E
    assert d_row[4] == pytest.approx(l_row[4]) == pytest.approx(0.00517, abs=1e-5)
    assert d_row[5:] == (False, True) and l_row[5:] == (0, 1)


def test_duckdb_crs_strings_give_the_epsg_numbers(cim_duck: Any) -> None:
    """WGS 84 and UTM zones go to DuckDB as PROJ strings (no database lookup per query):
    the transforms must give exactly what the EPSG codes give, both ways, on every fixture
    geometry of a table, and the southern / other zones must name the right projection."""
    assert crs(32733) == "+proj=utm +zone=33 +south +datum=WGS84 +units=m +no_defs"
    assert crs(3857) == "EPSG:3857"

    def wkt(src: str, dst: str, column: str, table: str) -> list[Any]:
        return cim_duck.execute(
            f"SELECT ST_AsText(ST_Transform({column}, '{src}', '{dst}', always_xy := true)) "
            f"FROM {table} ORDER BY id"
        ).fetchall()

    for table, column in (
        ("cim_vector.building", "building_geometry"),
        ("cim_vector.grid_line", "geometry"),
        ("cim_census.census_geo", "geometry"),
    ):
        there = wkt("EPSG:4326", "EPSG:32632", column, table)
        assert there == wkt(crs(4326), crs(32632), column, table), table
        utm = f'"{metric_column_name(column, 32632)}"'
        assert wkt("EPSG:32632", "EPSG:4326", utm, table) == wkt(
            crs(32632), crs(4326), utm, table
        ), table
    south = "ST_Point(15.5, -20.25)"
    assert wkt("EPSG:4326", "EPSG:32733", south, "(SELECT 1 AS id)") == wkt(
        crs(4326), crs(32733), south, "(SELECT 1 AS id)"
    )


@pytest.fixture(scope="module")
def cim_duck() -> Any:
    from cimgen.engines.duckdb import open_fixture

    con = open_fixture(SCHEMA, 0)
    yield con
    con.close()


def test_duckdb_transform_source_srid_follows_setsrid_and_geography_round_trip(
    duck: Any,
) -> None:
    utm = f("ST_SetSRID", f("ST_MakePoint", n(515235), n(5034342)), n(32632))
    sql = ok(render_duckdb(select(f("ST_Transform", utm, n(4326))), SCHEMA))
    assert sql == (
        f"SELECT ST_Transform(ST_Point(515235, 5034342), '{crs(32632)}', '{crs(4326)}', "
        "always_xy := true)"
    )
    back = f("ST_Transform", f("ST_Transform", geom(BUS), n(32632)), n(4326))
    buffered = ast.Cast(f("ST_Buffer", ast.Cast(geom(BUS), "geography"), n(100)), "geometry")
    query = select(
        f("ST_X", back),
        f("ST_Y", back),
        f("ST_Intersects", buffered, geom("POINT(9.1955 45.4625)")),
        f("ST_Intersects", buffered, geom("POINT(9.198 45.4625)")),
    )
    [(x, y, near, far)] = run_duck(duck, query)
    assert (x, y) == (pytest.approx(9.195, abs=1e-4), pytest.approx(45.4625, abs=1e-4))
    assert (near, far) == (True, False)  # 39 m inside a 100 m buffer, 234 m outside


def test_duckdb_integer_division_truncates_like_postgresql(duck: Any, lite: Any) -> None:
    ratio = b("/", c("p62", "c"), c("p60", "c"))
    query = select(
        ratio,
        b("/", ast.Cast(c("p62", "c"), "float"), c("p60", "c")),
        from_=ast.TableRef("census_geo", "cim_census", "c"),
    )
    [row] = run_duck(duck, query)
    assert row[0] == 0 and row[1] == pytest.approx(2 / 7)
    assert run_lite(lite, query) == [(0, pytest.approx(2 / 7))]


def test_duckdb_aggregates_and_ctes(duck: Any, lite: Any) -> None:
    g = c("building_geometry")
    cte = ast.CTE(
        "geoms",
        select(c("id", "b"), (c("building_geometry", "b"), "building_geometry"), from_=building()),
    )
    query = select(
        f("ST_Area", f("ST_Union", g)),
        f("ST_NumGeometries", f("ST_Collect", g)),
        f("ST_XMin", f("ST_Extent", g)),
        f("ST_Area", ast.Cast(f("ST_Union", g), "geography")),
        from_=ast.TableRef("geoms"),
        ctes=(cte,),
    )
    sql = ok(render_duckdb(query, SCHEMA))
    assert "ST_Union_Agg(building_geometry)" in sql and "ST_Collect(LIST(" in sql
    # The SRID of building_geometry is followed through the CTE to the schema column.
    assert f"'{crs(4326)}', '{crs(32632)}'" in sql
    [d_row] = duck.execute(sql).fetchall()
    [l_row] = run_lite(lite, query)
    union = 0.013 * 0.009 + 0.00038 * 0.00018  # the two footprints are disjoint
    assert d_row[0] == pytest.approx(l_row[0]) == pytest.approx(union, rel=1e-6)
    assert d_row[1] == l_row[1] == 2
    assert d_row[2] == pytest.approx(l_row[2]) == pytest.approx(9.18)
    assert d_row[3] == pytest.approx(l_row[3], rel=1e-3)


def test_duckdb_keeps_schemas_and_qualifies_bare_tables(duck: Any) -> None:
    query = select(
        f("COUNT", star=True),
        from_=ast.TableRef("grid_bus"),
        where=b("=", c("in_service"), ast.Boolean(True)),
    )
    sql = ok(render_duckdb(query, SCHEMA))
    assert "FROM cim_vector.grid_bus AS grid_bus" in sql
    assert duck.execute(sql).fetchall() == [(1,)]


# --------------------------------------------------------------------------- SpatiaLite


def test_spatialite_table_names_and_aliases(lite: Any) -> None:
    assert spatialite_table_name("cim_vector.building") == "cim_vector__building"
    assert spatialite_table_name("census_geo") == "census_geo"
    query = select(
        c("building_id", "building"),
        from_=building(None),
        where=b("ILIKE", c("building_id", "building"), s("b1")),
    )
    sql = ok(render_spatialite(query, SCHEMA))
    assert sql == (
        "SELECT building.building_id\nFROM cim_vector__building AS building\n"
        "WHERE building.building_id LIKE 'b1'"
    )
    assert run_lite(lite, query) == [("B1",)]


def test_spatialite_geography_forms(lite: Any) -> None:
    g = ast.Cast(c("building_geometry", "b"), "geography")
    query = select(
        f("ST_Area", g),
        f("ST_Perimeter", g),
        f("ST_Length", ast.Cast(geom(LINE), "geography")),
        f("ST_Area", f("ST_Buffer", g, n(10))),
        f("ST_Area", g, ast.Boolean(False)),
        from_=building(),
        where=b("=", c("id", "b"), n(1)),
    )
    sql = ok(render_spatialite(query, SCHEMA))
    assert "ST_Area(b.building_geometry, 1)" in sql
    # geography buffers: in a local frame (no ST_Transform: SpatiaLite caches one PROJ
    # transformation), with PostGIS's 8 segments per quarter circle
    assert "ST_Transform" not in sql
    assert "ST_Area(ST_Buffer(ScaleCoords(b.building_geometry, " in sql
    assert sql.count(", 10, 8)") == 1
    assert "ST_Area(b.building_geometry, 0)" in sql
    [(area, perimeter, length, buffered, sphere)] = list(lite.execute(sql))
    assert area == pytest.approx(594.58, abs=0.01)
    assert perimeter == pytest.approx(99.45, abs=0.01)
    assert length == pytest.approx(1359.0, abs=1)
    # a 10 m buffer of a 30 x 20 m rectangle: 594.6 + 10 * 99.45 + pi * 100 (roughly)
    assert buffered == pytest.approx(594.58 + 994.5 + math.pi * 100, rel=0.01)
    assert sphere == pytest.approx(area, rel=0.01)


def _geography_measures() -> dict[str, ast.Expr]:
    """Geography measurements of the 1 km block (building id 2) in metres."""
    g = ast.Cast(c("building_geometry", "b"), "geography")
    far = ast.Cast(geom(POINT2), "geography")
    inside = ast.Cast(geom("POINT(9.185 45.455)"), "geography")
    line = ast.Cast(geom(LINE), "geography")
    return {
        "area": f("ST_Area", g),
        "perimeter": f("ST_Perimeter", g),
        "length": f("ST_Length", line),
        "distance": f("ST_Distance", g, far),
        "distance inside": f("ST_Distance", g, inside),
        "distance line": f("ST_Distance", line, far),
        "buffer area": f("ST_Area", f("ST_Buffer", g, n(50))),
        # the buffer polygon itself (back in lon/lat), then measured on the ellipsoid
        "buffer polygon area": f(
            "ST_Area", ast.Cast(ast.Cast(f("ST_Buffer", g, n(50)), "geometry"), "geography")
        ),
        "point buffer area": f("ST_Area", f("ST_Buffer", far, n(300))),
    }


def test_geography_measures_agree_between_duckdb_and_spatialite(duck: Any, lite: Any) -> None:
    for name, expr in _geography_measures().items():
        query = select(expr, from_=building(), where=b("=", c("id", "b"), n(2)))
        [(in_duck,)] = run_duck(duck, query)
        [(in_lite,)] = run_lite(lite, query)
        assert in_duck == pytest.approx(in_lite, rel=1.5e-3, abs=1e-6), name
        if name == "distance inside":
            assert in_lite == 0  # SpatiaLite's ST_ShortestLine alone would say 500 m
        elif name == "distance":
            assert in_lite == pytest.approx(1339.5, abs=0.1)  # PostGIS: 1339.52


def test_spatialite_set_operations_offset_and_booleans(lite: Any) -> None:
    arm = select(
        c("id"), from_=building(None), order_by=(ast.OrderItem(c("id"), "DESC"),), limit=n(1)
    )
    query = ast.Query(
        ast.SetOp(["UNION", "ALL"][0], ast.Select((ast.SelectItem(n(0)),)), arm, all=True),
        order_by=(ast.OrderItem(n(1)),),
        offset=n(1),
    )
    sql = ok(render_spatialite(query, SCHEMA))
    assert "LIMIT -1\nOFFSET 1" in sql
    assert list(lite.execute(sql)) == [(2,)]
    nested = ast.Query(
        ast.SetOp(
            "UNION",
            ast.Select((ast.SelectItem(n(1)),)),
            ast.SetOp(
                "INTERSECT",
                ast.Select((ast.SelectItem(n(1)),)),
                ast.Select((ast.SelectItem(n(2)),)),
            ),
        )
    )
    assert run_lite(lite, nested) == [(1,)]  # 1 UNION (1 INTERSECT 2), not (1 UNION 1) ∩ 2


def test_spatialite_order_by_implicit_output_name(duck: Any, lite: Any) -> None:
    # PostgreSQL (and DuckDB) match ORDER BY id to the output column b.id; SQLite would
    # call it ambiguous (both tables have id) unless ordered by b.id itself.
    query = select(
        c("id", "b"),
        from_=ast.Join("CROSS", building(), ast.TableRef("grid_bus", "cim_vector", "g")),
        order_by=(ast.OrderItem(c("id"), "DESC"),),
        distinct=True,
    )
    assert ok(render_spatialite(query, SCHEMA)).endswith("ORDER BY b.id DESC")
    assert run_lite(lite, query) == run_duck(duck, query) == [(2,), (1,)]


LIKE_QUERY = select(
    b("LIKE", s("50%"), s("50\\%")),
    b("LIKE", s("50x"), s("50\\%")),
    b("LIKE", s("Abc"), s("a%")),  # PostgreSQL's LIKE is case-sensitive (SQLite's is not)
    b("ILIKE", s("Abc"), s("a%")),
    ast.UnaryOp("NOT", b("LIKE", s("a*b"), s("a*_"))),
    b("LIKE", s("a_c"), s("a\\_c")),
    b("LIKE", s("abc"), s("a\\_c")),
    b("LIKE", s("a[c"), s("a[_")),
)
LIKE_POSTGRES = (True, False, False, True, False, True, False, True)  # checked on PostGIS below


def test_like_semantics_follow_postgresql(duck: Any, lite: Any) -> None:
    assert run_duck(duck, LIKE_QUERY) == [LIKE_POSTGRES]
    assert run_lite(lite, LIKE_QUERY) == [tuple(int(v) for v in LIKE_POSTGRES)]
    assert "GLOB 'a*'" in ok(render_spatialite(LIKE_QUERY, SCHEMA))


def test_spatialite_dwithin_is_a_distance_comparison(lite: Any) -> None:
    g, bus = c("building_geometry", "b"), c("geometry", "g")
    query = select(
        f("ST_DWithin", ast.Cast(g, "geography"), ast.Cast(bus, "geography"), n(450)),
        f("ST_DWithin", ast.Cast(g, "geography"), ast.Cast(bus, "geography"), n(440)),
        f("ST_DWithin", g, bus, n(0.006)),  # planar: degrees, as PostGIS geometry
        from_=(building(), ast.TableRef("grid_bus", "cim_vector", "g")),
        where=b("AND", b("=", c("id", "b"), n(1)), b("=", c("in_service", "g"), ast.Boolean(True))),
    )
    assert run_lite(lite, query) == [(1, 0, 1)]


# --------------------------------------------------------------------------- the catalogue

_WKT = {"POINT": "POINT(9.19 45.46)", "LINESTRING": LINE, "MULTILINESTRING": LINE}
_INT_ARG = {
    "ST_Transform": 32632,
    "ST_SetSRID": 4326,
    "ST_GeomFromText": 4326,
    "ST_MakeEnvelope": 4326,
    "ST_Buffer": 8,
    "ST_ClusterKMeans": 1,
}


def _sample_call(fn: Any) -> ast.FuncCall | None:
    """A call of ``fn`` on small literal arguments, from its first geometry signature."""
    sigs = [
        g for g in fn.signatures if not set(g.args) & {"raster", "geography", "box", "summarystats"}
    ]
    if not sigs:
        return None
    sig = sigs[0]
    first = _WKT.get(fn.applies_to[0] if fn.applies_to else "", BUILDING)
    args: list[Any] = []
    for i, kind in enumerate(sig.args):
        if kind == "geometry":
            args.append(geom(first if not any(a == "geometry" for a in sig.args[:i]) else POINT2))
            if fn.name == "ST_MakeLine":
                args[-1] = geom(_WKT["POINT"] if i == 0 else POINT2)
        elif kind == "float":
            args.append(n("0.0001") if fn.name != "ST_MakeEnvelope" else n(9 + i))
        elif kind == "integer":
            args.append(n(_INT_ARG.get(fn.name, 2)))
        elif kind == "text":
            args.append(s(BUILDING) if fn.name == "ST_GeomFromText" else s(","))
        elif kind == "boolean":
            args.append(ast.Boolean(True))
        else:
            args.append(n(1))
    window = ast.Window((), (ast.OrderItem(n(1)),)) if fn.window else None
    return f(fn.name, *args, over=window)


_FUNCTIONS = [fn for fn in load_catalogue().functions if fn.category not in ("raster",)]


def _run_everywhere(fn: Any, duck: Any, lite: Any) -> dict[str, Any]:
    """``SELECT fn(sample args)`` on DuckDB and SpatiaLite where the catalogue says the
    backend has ``fn`` (elsewhere the rendering must say unsupported); backend -> value."""
    call = _sample_call(fn)
    assert call is not None, f"no geometry signature to test {fn.name}"
    query = select(call)
    results = {}
    for backend, render, execute in (
        ("duckdb", render_duckdb, lambda sql: duck.execute(sql).fetchall()),
        ("spatialite", render_spatialite, lambda sql: list(lite.execute(sql))),
    ):
        rendered = render(query, SCHEMA)
        if backend not in fn.dialects:
            assert rendered.sql is None and fn.name in (rendered.unsupported or "")
            continue
        results[backend] = execute(ok(rendered))[0][0]
    return results


@pytest.mark.parametrize("fn", _FUNCTIONS, ids=[fn.name for fn in _FUNCTIONS])
def test_catalogue_names_execute_on_duckdb_and_spatialite(fn: Any, duck: Any, lite: Any) -> None:
    results = _run_everywhere(fn, duck, lite)
    values = [v for v in results.values() if isinstance(v, int | float)]
    if len(values) == 2:
        # Same planar semantics in both engines (booleans: True == 1).
        rel = 5e-3 if fn.name == "ST_DistanceSphere" else 1e-6
        assert float(values[0]) == pytest.approx(float(values[1]), rel=rel, abs=1e-9), results


def test_unsupported_constructs_give_reasons_not_crashes() -> None:
    rast = c("rast", "r")
    raster_from = ast.TableRef("dtm_raster", "cim_raster", "r")
    cases = [
        (select(f("ST_Value", rast, geom(BUS)), from_=raster_from), "raster function ST_Value"),
        (
            select(ast.FieldAccess(f("ST_SummaryStats", rast), "mean"), from_=raster_from),
            "raster function ST_SummaryStats",
        ),
        (select(f("ST_Intersects", rast, geom(BUS)), from_=raster_from), "raster column r.rast"),
        (
            select(
                f("ST_ClusterKMeans", c("building_geometry"), n(3), over=ast.Window()),
                from_=building(None),
            ),
            "window clustering function ST_ClusterKMeans",
        ),
        (select(ast.FieldAccess(c("x"), "y")), "composite field access"),
    ]
    for query, reason in cases:
        backends = [render_spatialite(query, SCHEMA)]
        # DuckDB has raster macros (tests/test_raster_duckdb.py) and the clustering UDF
        # (tests/test_duckdb_cluster.py)
        if "raster" not in reason and "clustering" not in reason:
            backends.append(render_duckdb(query, SCHEMA))
        for rendered in backends:
            assert rendered.sql is None
            assert rendered.unsupported is not None and reason in rendered.unsupported
        assert render_all(query, SCHEMA)["postgis"].sql == one(query)
    lod = f("ST_ClusterKMeans", c("building_geometry"), c("lod"), over=ast.Window())
    assert "not a number literal" in (
        render_duckdb(select(lod, from_=building(None)), SCHEMA).unsupported or ""
    )
    odd = select(f("ST_Transform", geom(BUS), c("srid")))
    assert "literal target SRID" in (render_duckdb(odd, SCHEMA).unsupported or "")
    named = select(f("ROUND", ast.NamedArg("x", n(1))))
    assert "named argument" in (render_spatialite(named, SCHEMA).unsupported or "")
    broken = select(ast.When(n(1), n(2)))  # not an expression: reported, never raised
    assert "cannot render" in (render_duckdb(broken, SCHEMA).unsupported or "")


# --------------------------------------------------------------------------- Stage 1 sample


def _sample_queries(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        try:
            pglast.parser.parse_sql(record["sql_postgis"])
        except pglast.parser.ParseError:
            continue
        out.append((record["id"], record["sql_postgis"]))
    return out


def test_stage1_sample_round_trips_and_backends_parse(stage1_sample: Path) -> None:
    samples = _sample_queries(stage1_sample)
    assert len(samples) == 59
    duck = duckdb.connect()  # json_serialize_sql: DuckDB's own parser, no tables needed
    unsupported = 0
    for qid, sql in samples:
        tree = parse(sql)
        text = render_postgis(tree)
        assert parse(text) == tree, qid
        assert render_postgis(tree) == text  # deterministic
        pglast.parser.parse_sql(text)
        out = render_all(tree, SCHEMA)
        if out["spatialite"].sql is None:
            unsupported += 1
            assert "raster" in (out["spatialite"].unsupported or ""), qid
        assert out["duckdb"].sql is not None, (qid, out["duckdb"].unsupported)
        parsed = json.loads(
            duck.execute("SELECT json_serialize_sql(?)", [out["duckdb"].sql]).fetchone()[0]
        )
        assert parsed["error"] is False, (qid, parsed)
        if out["spatialite"].sql is not None:
            sqlglot.parse_one(ok(out["spatialite"]), read="sqlite")
    # The raster queries of the sample (ST_Value, ST_Clip, ST_SummaryStats): no SpatiaLite
    # form; DuckDB renders them with its raster macros.
    assert unsupported == 9


# --------------------------------------------------------------------------- PostGIS


@pytest.mark.postgis
def test_postgis_executes_renderings_and_agrees_with_duckdb(
    fresh_postgis_db: str, duck: Any, lite: Any
) -> None:
    import psycopg

    with psycopg.connect(fresh_postgis_db, autocommit=True) as pg:
        pg.execute("CREATE SCHEMA cim_vector")
        pg.execute(
            "CREATE TABLE cim_vector.building (id integer, building_id varchar, "
            "lod integer, building_geometry geometry(Geometry, 4326))"
        )
        pg.execute(
            f"INSERT INTO cim_vector.building VALUES "
            f"(1, 'B1', 0, ST_GeomFromText('{BUILDING}', 4326)), "
            f"(2, 'B2', 0, ST_GeomFromText('{BLOCK}', 4326))"
        )
        assert pg.execute(render_postgis(LIKE_QUERY)).fetchall() == [LIKE_POSTGRES]
        [(pg_area,)] = pg.execute(render_postgis(_area_query())).fetchall()
        [(direct,)] = pg.execute(
            f"SELECT ST_Area(ST_GeomFromText('{BUILDING}', 4326)::geography)"
        ).fetchall()
        assert pg_area == pytest.approx(direct)
        [(duck_area,)] = run_duck(duck, _area_query())
        [(lite_area,)] = run_lite(lite, _area_query())
        assert duck_area == pytest.approx(pg_area, rel=1e-3)
        assert lite_area == pytest.approx(pg_area, rel=1e-6)
        for name, expr in _geography_measures().items():
            query = select(expr, from_=building(), where=b("=", c("id", "b"), n(2)))
            [(expected,)] = pg.execute(render_postgis(query)).fetchall()
            [(in_duck,)] = run_duck(duck, query)
            [(in_lite,)] = run_lite(lite, query)
            assert in_duck == pytest.approx(expected, rel=1e-3, abs=1e-6), name
            # PostGIS buffers geography in a UTM zone, whose metres are 0.04 % short of
            # true metres near 9 E; SpatiaLite buffers in true metres: a point's buffer
            # area differs by 2 x 0.04 % (measured -7.9e-4; DuckDB, planar UTM: the same)
            rel = 1e-3 if name == "point buffer area" else 1e-4
            assert in_lite == pytest.approx(expected, rel=rel, abs=1e-6), name
        for fn in _FUNCTIONS:  # every catalogue function's PostGIS rendering runs ...
            call = _sample_call(fn)
            assert call is not None
            [(value,)] = pg.execute(render_postgis(select(call))).fetchall()
            if isinstance(value, Decimal | bool | int | float):
                # ... and numbers agree with the other engines wherever they have the function
                for backend, other in _run_everywhere(fn, duck, lite).items():
                    if isinstance(other, int | float):
                        rel = 5e-3 if fn.name == "ST_DistanceSphere" else 1e-6
                        assert float(value) == pytest.approx(float(other), rel=rel, abs=1e-9), (
                            backend
                        )


# --------------------------------------------------------------------------- defects


@pytest.mark.parametrize("backend", ["duckdb", "spatialite"])
def test_only_unsupported_means_not_checkable(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A construct the dialect lacks is ``unsupported``; any other exception is a defect
    (RND001) with its traceback, never an "unsupported" reason."""
    from cimgen.render.duckdb import DuckdbRenderer
    from cimgen.render.spatialite import SpatialiteRenderer

    schema = load_schema("cim_wizard")
    render = {"duckdb": render_duckdb, "spatialite": render_spatialite}[backend]
    lacking = {  # a construct each dialect lacks
        "duckdb": "SELECT ST_Transform(b.building_geometry, b.lod) FROM cim_vector.building b",
        "spatialite": "SELECT ST_Value(r.rast, 1, 1) FROM cim_raster.dtm_raster r",
    }[backend]
    gap = render(parse(lacking), schema)
    assert gap.sql is None and gap.unsupported and gap.defect is None

    cls = {"duckdb": DuckdbRenderer, "spatialite": SpatialiteRenderer}[backend]

    def broken(self: Any, query: Any) -> str:
        return {}["no such key"]  # a KeyError: the kind of bug a renderer can have

    monkeypatch.setattr(cls, "render", broken)
    bug = render(parse("SELECT b.id FROM cim_vector.building b"), schema)
    assert bug.sql is None and bug.unsupported is None
    assert bug.defect is not None and "KeyError: 'no such key'" in bug.defect


def test_duckdb_self_join_inequality_keeps_the_spatial_join(cim_duck: Any) -> None:
    """``a.id <> b.id`` beside ``ST_DWithin(a.g, b.g, d)`` is written ``(...) IS TRUE`` so
    DuckDB plans a SPATIAL_JOIN instead of a nested loop over every pair (issue 16: such
    neighbour self-joins ran past the 2 s check limit); the rows are the same."""
    sql = (
        "SELECT a.id, b.id AS other FROM cim_vector.building AS a, "
        "cim_vector.building AS b WHERE ST_DWithin(a.building_geometry::geography, "
        "b.building_geometry::geography, 100) AND a.id <> b.id "
        "AND ST_Intersects(a.building_geometry, ST_MakeEnvelope(9.18, 45.47, 9.19, 45.48, 4326)) "
        "AND ST_Intersects(b.building_geometry, ST_MakeEnvelope(9.18, 45.47, 9.19, 45.48, 4326))"
    )
    duck_sql = ok(render_duckdb(parse(sql), SCHEMA))
    assert "(a.id <> b.id) IS TRUE" in duck_sql
    plan = cim_duck.execute(f"EXPLAIN {duck_sql}").fetchall()[0][1]
    assert "SPATIAL_JOIN" in plan and "NESTED_LOOP_JOIN" not in plan
    plain = duck_sql.replace("(a.id <> b.id) IS TRUE", "a.id <> b.id")
    assert "NESTED_LOOP_JOIN" in cim_duck.execute(f"EXPLAIN {plain}").fetchall()[0][1]
    got = sorted(cim_duck.execute(duck_sql).fetchall())
    assert got and got == sorted(cim_duck.execute(plain).fetchall())
    assert all(a != b for a, b in got)
    # only a top-level conjunct: under OR or NOT, IS TRUE would change the result
    either = (
        "SELECT a.id FROM cim_vector.building AS a, cim_vector.building AS b "
        "WHERE a.id <> b.id OR a.lod = 1"
    )
    assert "IS TRUE" not in ok(render_duckdb(parse(either), SCHEMA))
