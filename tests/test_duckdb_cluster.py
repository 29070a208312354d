"""Window clusterings on DuckDB (cimgen.engines.duckdb_cluster, cimgen.render.duckdb_cluster):
PostGIS's DBSCAN and k-means, executed by the embedded check and compared with PostGIS."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from cimgen import ast
from cimgen.check import CheckContext, DuckDBRunner, Subject, run_checks
from cimgen.check.execute import agree, digest
from cimgen.corpus import iter_demo_records
from cimgen.engines.duckdb import open_fixture
from cimgen.engines.duckdb_cluster import dbscan, kmeans
from cimgen.grammar.parse import parse
from cimgen.models import QueryFeatures
from cimgen.render import render_duckdb
from cimgen.schema import load_schema

SCHEMA = load_schema("cim_wizard")
CASES = Path(__file__).parent / "cases" / "clustering_queries.jsonl"
_WKT = re.compile(r"[A-Z]+ ?\(")
STRUCTURE = QueryFeatures()  # any structure: the subject is a generated candidate

# Hand-written: one row per input row, identified by its id, so partitions compare exactly.
HAND = {
    "dbscan_buses": (
        "SELECT gb.id, ST_ClusterDBSCAN(ST_Transform(gb.geometry, 32632), eps := 60, "
        "minpoints := 3) OVER () AS cluster_id FROM cim_vector.grid_bus AS gb "
        "WHERE gb.project_id = 'milan_navigli_2023' AND gb.scenario_id = 'baseline'"
    ),
    "dbscan_buildings_border": (
        "SELECT b.id, ST_ClusterDBSCAN(ST_Transform(b.building_geometry, 32632), 25, 4) "
        "OVER (ORDER BY b.id) AS cluster_id FROM cim_vector.building AS b "
        "WHERE ST_Intersects(b.building_geometry, "
        "ST_MakeEnvelope(9.17, 45.46, 9.20, 45.49, 4326))"
    ),
    "dbscan_partitioned": (
        "SELECT gl.id, ST_ClusterDBSCAN(ST_Transform(gl.geometry, 32632), eps := 80, "
        "minpoints := 2) OVER (PARTITION BY gl.project_id, gl.scenario_id) AS cluster_id "
        "FROM cim_vector.grid_line AS gl"
    ),
    "dbscan_minpoints_1": (
        "SELECT cg.sez2011, ST_ClusterDBSCAN(ST_Transform(cg.geometry, 32632), eps := 5, "
        "minpoints := 1) OVER () AS cluster_id FROM cim_census.census_geo AS cg"
    ),
    "kmeans_buildings": (
        "SELECT b.id, ST_ClusterKMeans(ST_Transform(b.building_geometry, 32632), 5) "
        "OVER (ORDER BY b.id) AS cluster_id FROM cim_vector.building AS b WHERE b.lod = 1"
    ),
    "kmeans_partitioned": (
        "SELECT gb.id, ST_ClusterKMeans(ST_Transform(gb.geometry, 32632), 4) "
        "OVER (PARTITION BY gb.project_id ORDER BY gb.id DESC) AS cluster_id "
        "FROM cim_vector.grid_bus AS gb"
    ),
    "kmeans_max_radius": (
        "SELECT cg.sez2011, ST_ClusterKMeans(ST_Transform(cg.geometry, 32632), 2, 400) "
        "OVER (ORDER BY cg.sez2011) AS cluster_id FROM cim_census.census_geo AS cg"
    ),
    "kmeans_grouped_cte": (
        "WITH b5 AS (SELECT b.id, b.building_geometry FROM cim_vector.building AS b "
        "WHERE b.lod = 2) SELECT k.cluster_id, COUNT(*) AS n FROM (SELECT ST_ClusterKMeans("
        "ST_Transform(b5.building_geometry, 32632), 3) OVER (ORDER BY b5.id) AS cluster_id "
        "FROM b5) AS k GROUP BY k.cluster_id"
    ),
}


@pytest.fixture(scope="module")
def con() -> Any:
    connection = open_fixture(SCHEMA, 0)
    connection.execute("SET threads = 1")
    return connection


def duck_sql(sql: str) -> str:
    rendered = render_duckdb(parse(sql), SCHEMA)
    assert rendered.sql is not None, rendered.unsupported or rendered.defect
    return rendered.sql


def _exact(row: Sequence[Any], column: int) -> tuple[Any, ...]:
    return tuple(
        v
        for i, v in enumerate(row)
        if i != column and not isinstance(v, float | Decimal) and not _WKT.match(str(v))
    )


def partition(rows: Sequence[Sequence[Any]], column: int) -> list[tuple[Any, Any]]:
    """The rows with their cluster numbers renamed 0, 1, ... in the order of the rows
    sorted by their other exact columns (floats and WKT left out: measures differ within
    docs/backends.md's tolerance, and the engines print WKT differently), so two engines'
    partitions compare equal whatever numbers each gives its clusters."""

    ordered = sorted(rows, key=lambda r: (repr(_exact(r, column)), repr(r[column])))
    names: dict[Any, int] = {}
    out = [
        (_exact(r, column), None if r[column] is None else names.setdefault(r[column], len(names)))
        for r in ordered
    ]
    return sorted(out, key=repr)


def _numbered(rows: Sequence[Sequence[Any]], column: int) -> list[str]:
    """The rows as :func:`partition` sees them, with the engine's own cluster numbers."""
    return sorted(repr((_exact(r, column), r[column])) for r in rows)


def cluster_column(sql: str) -> int | None:
    """The output position of the clustering: the item that calls it, or the column that
    carries the alias it got in a CTE or derived table."""
    query = parse(sql)
    if not isinstance(query.body, ast.Select):
        return None

    def clusters(e: Any) -> bool:
        return any(
            isinstance(n, ast.FuncCall) and n.name.lower().startswith("st_cluster")
            for n in ast.walk(e)
        )

    names = {n.alias for n in ast.walk(query) if isinstance(n, ast.SelectItem) and clusters(n.expr)}
    for i, item in enumerate(query.body.items):
        if clusters(item.expr) or (isinstance(item.expr, ast.Column) and item.expr.name in names):
            return i
    return None


# ---------------------------------------------------------------- the algorithms


def test_dbscan_border_rows_go_to_the_first_core_and_small_partitions_are_noise() -> None:
    # minpoints 4: rows 0 and 4 are the cores; 3 is a neighbour of both (a border row:
    # the first core in partition order takes it) and of 4's border... 3 and 4 are within
    # eps, yet 3 is no core, so the two clusters stay apart (PostGIS #3572)
    near = [[0, 1, 2, 3], [0, 1, 2], [0, 1, 2], [0, 3, 4], [3, 4, 5, 6], [4, 5], [4, 6]]
    assert dbscan(near, 4) == [0, 0, 0, 0, 1, 1, 1]
    # the same rows with the second core first: it takes the border row
    order = [4, 5, 6, 3, 0, 1, 2]
    where = {old: new for new, old in enumerate(order)}
    moved = [[where[q] for q in near[old]] for old in order]
    assert dbscan(moved, 4) == [0, 0, 0, 0, 1, 1, 1]
    assert dbscan([[0, 1], [0, 1]], 2) == [None, None]  # rows <= minpoints: PostGIS bails
    assert dbscan([[0], [1], None], 1) == [0, 1, None]  # minpoints 1: every row clusters


def test_kmeans_caps_k_at_the_rows_and_skips_missing_geometries() -> None:
    capped = kmeans([(0.0, 0.0), None, (5.0, 5.0)], 4)
    assert capped[1] is None and sorted(capped[::2]) == [0, 1]
    far = [(0.0, 0.0), (0.0, 1.0), (100.0, 0.0), (100.0, 1.0), (50.0, 80.0)]
    labels = kmeans(far, 3)
    assert labels[0] == labels[1] and labels[2] == labels[3] and len(set(labels)) == 3
    # max_radius splits a cluster wider than it: two groups 100 apart, radius 10
    assert len(set(kmeans(far[:4], 1, 10.0))) == 2
    assert kmeans(far[:4], 1) == [0, 0, 0, 0]


# ---------------------------------------------------------------- DuckDB execution


def test_clustering_queries_execute_on_duckdb(con: Any) -> None:
    for name, sql in HAND.items():
        rows = con.execute(duck_sql(sql)).fetchall()
        assert rows, name
        column = cluster_column(sql)
        assert column is not None
        assert any(r[column] is not None for r in rows), name
    demo = [r["sql_postgis"] for r in iter_demo_records() if "ST_Cluster" in r["sql_postgis"]]
    assert len(demo) > 100
    for sql in demo[::10]:
        con.execute(duck_sql(sql)).fetchall()


def test_same_query_same_labels_and_parameters_are_not_confused(con: Any) -> None:
    """Two k of one block share the input query; each gets its own clustering."""
    k2 = duck_sql(HAND["kmeans_buildings"].replace(", 5)", ", 2)"))
    k5 = duck_sql(HAND["kmeans_buildings"])
    first = con.execute(k5).fetchall()
    assert len({r[1] for r in con.execute(k2).fetchall()}) == 2
    assert len({r[1] for r in first}) == 5
    assert con.execute(k5).fetchall() == first


def test_dropped_connections_leave_no_clustering_state_behind(con: Any) -> None:
    """A process that opens and drops connections to one database keeps none of them (the
    state was kept per ``id(connection)``, one entry per connection ever opened), and the
    connection still open clusters on after the later ones are gone."""
    import gc

    from cimgen.engines import duckdb_cluster

    sql = duck_sql(HAND["kmeans_buildings"])
    first = con.execute(sql).fetchall()
    held = len(duckdb_cluster._BY_CONNECTION)
    state = duckdb_cluster._BY_CONNECTION[con]

    def live() -> int:  # other tests' connections to this fixture may still be open
        return len([c for c in state.cons if c() is not None])

    open_before = live()
    for _ in range(4):
        other = open_fixture(SCHEMA, 0)
        assert other.execute(sql).fetchall() == first
        other.close()
        del other
    gc.collect()
    assert len(duckdb_cluster._BY_CONNECTION) == held
    assert live() == open_before
    state.kept.clear()  # computed again, through the connection left
    assert con.execute(sql).fetchall() == first


def test_clusterings_with_non_literal_parameters_stay_not_checkable() -> None:
    sql = (
        "SELECT b.id, ST_ClusterKMeans(b.building_geometry, b.lod) OVER () AS cluster_id "
        "FROM cim_vector.building AS b"
    )
    assert render_duckdb(parse(sql), SCHEMA).unsupported


def _codes(duck: DuckDBRunner, sql: str) -> list[str]:
    subject = Subject(sql, structure=STRUCTURE)
    findings = run_checks(
        subject, CheckContext(SCHEMA, duckdb=duck), only=("grammar", "duckdb", "clustering")
    )
    assert subject.engines["duckdb"].executed, findings
    assert subject.engines["duckdb"].clusters
    return [f.code for f in findings]


def test_clusterings_that_tell_nothing_are_rejected(con: Any) -> None:
    duck = DuckDBRunner(con, timeout_s=5.0)
    base = (
        "SELECT gb.id, {call} OVER () AS cluster_id FROM cim_vector.grid_bus AS gb "
        "WHERE gb.project_id = 'milan_navigli_2023' AND gb.scenario_id = 'baseline'"
    )
    geom = "ST_Transform(gb.geometry, 32632)"
    assert _codes(duck, base.format(call=f"ST_ClusterDBSCAN({geom}, 60, 3)")) == []
    assert _codes(duck, base.format(call=f"ST_ClusterDBSCAN({geom}, 0.01, 3)")) == ["RES004"]
    assert _codes(duck, base.format(call=f"ST_ClusterDBSCAN({geom}, 1e6, 3)")) == ["RES005"]
    assert _codes(duck, base.format(call=f"ST_ClusterKMeans({geom}, 100000)")) == ["RES006"]
    subject = Subject(base.format(call=f"ST_ClusterKMeans({geom}, 4)"), structure=STRUCTURE)
    run_checks(subject, CheckContext(SCHEMA, duckdb=duck), only=("grammar", "duckdb"))
    (summary,) = subject.engines["duckdb"].to_dict()["clusters"]
    assert summary["kind"] == "kmeans" and summary["clusters"] == 4 and summary["noise"] == 0


def test_a_dbscan_too_wide_to_measure_is_refused_the_same_on_every_run(con: Any) -> None:
    """Candidate pairs past MAX_PAIRS: an error (SEM001) before measuring, not a run of
    ~1.5 s of CPU that a loaded box stops at the time limit on one run and not the next."""
    duck = DuckDBRunner(con, timeout_s=5.0)
    sql = (
        "SELECT b.id, ST_ClusterDBSCAN(ST_Transform(b.building_geometry, 32632), "
        "eps := {eps}, minpoints := 5) OVER () AS cluster_id FROM cim_vector.building AS b"
    )
    for _ in range(2):
        subject = Subject(sql.format(eps=500), structure=STRUCTURE)
        findings = run_checks(
            subject, CheckContext(SCHEMA, duckdb=duck), only=("grammar", "duckdb")
        )
        assert [f.code for f in findings] == ["SEM001"]
        assert "too costly to check" in findings[0].message
    narrow = Subject(sql.format(eps=150), structure=STRUCTURE)
    assert run_checks(narrow, CheckContext(SCHEMA, duckdb=duck), only=("grammar", "duckdb")) == []


# ---------------------------------------------------------------- against PostGIS


@pytest.mark.postgis
def test_clusterings_partition_rows_as_postgis_does(fresh_postgis_db: str, con: Any) -> None:
    """The same rows in the same clusters (numbers aside) and the same noise as PostGIS,
    on hand-written queries (exactly), the demo corpus and generated queries."""
    import psycopg

    from cimgen.engines.postgis import init_database

    init_database(fresh_postgis_db, SCHEMA, seed=0)
    generated = [json.loads(line)["sql"] for line in CASES.read_text().splitlines()]
    demo = [r["sql_postgis"] for r in iter_demo_records() if "ST_Cluster" in r["sql_postgis"]]
    queries = list(HAND.values()) + generated + demo[::8]
    differ, same_numbers, agreeing, refused, counted = [], 0, 0, 0, Counter[str]()
    with psycopg.connect(fresh_postgis_db, autocommit=True) as pg:
        for sql in queries:
            try:
                mine = con.execute(duck_sql(sql)).fetchall()
            except duckdb.InvalidInputException as exc:  # past MAX_PAIRS: refused, not run
                assert "too costly to check" in str(exc)
                refused += 1
                continue
            theirs = pg.execute(sql).fetchall()
            agreeing += agree(digest(mine), digest(theirs), 0.005)  # what `cimgen bench` asks
            column = cluster_column(sql)
            assert column is not None, sql
            if len(mine) != len(theirs) or partition(mine, column) != partition(theirs, column):
                differ.append(sql)
                continue
            counted["noise"] += sum(r[column] is None for r in theirs)
            counted["clusters"] += len({r[column] for r in theirs} - {None})
            same_numbers += _numbered(mine, column) == _numbered(theirs, column)
    assert refused <= 0.05 * len(queries), refused
    ran = len(queries) - refused
    assert not [sql for sql in differ if sql in HAND.values()], differ
    # others may differ only where their input rows do: a geography distance filter is
    # planar metres on DuckDB (docs/backends.md), so a row at the edge can be in or out
    assert len(differ) <= 0.05 * ran, differ
    assert counted["clusters"] > 50 and counted["noise"] > 20, counted
    # k-means numbers clusters by seed as PostGIS does, DBSCAN by first row (PostGIS: by
    # R-tree root): most results are identical, and the digests of nearly all agree
    assert same_numbers >= 0.85 * ran, same_numbers
    assert agreeing >= 0.95 * ran, agreeing
