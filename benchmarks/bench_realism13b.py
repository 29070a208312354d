"""Count the rows the thirteenth pass (b) named (issue 14) in the accepted rows of a run.

usage: bench_realism13b.py RUN_DIR FIXTURE.duckdb [RUN_DIR FIXTURE.duckdb ...]

Each row's PostGIS SQL is parsed with the project grammar; the result-based shapes execute
variants of it on the run's DuckDB fixture world (the check world the row was accepted on):

* ``tile_stat_beside_value`` -- a raster tile's own column (``max_elevation``) output in a
  block that reads a raster's value (``ST_Value``) and whose subject is not the tiles: a
  tile's statistic beside the value at a place (tiles are storage, not places);
* ``tile_stat_filter`` -- a condition on such a tile column in a block whose subject is not
  the tiles ("buildings with the DTM tile under their centroid, with minimum elevation over
  113 m");
* ``having_passes_all`` -- a top-level HAVING that leaves every group in (the grouped query
  without its HAVING returns as many groups);
* ``aggregate_over_one_row`` -- a top-level aggregate whose every group (or the one
  ungrouped set) is one row on the check world;
* ``rows_repeat_but_scope`` -- a row-level top-level result (no DISTINCT) with two rows
  equal once their ``project_id`` / ``scenario_id`` / ``project_name`` / ``scenario_name``
  outputs are set aside (one thing's scenario copies filling a listing; exact repeats are
  RES002's and rejected);
* ``subject_listed_twice`` -- a row-level top-level result with a raster joined to its
  subject where two rows are equal once the outputs read from the raster are set aside (a
  building whose centroid lies on two tiles' edge, listed once per tile);
* ``all_null_answer`` -- a result of one row whose every value is NULL.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.engines.duckdb import connect
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.multiply import aggregated, base_table, block_refs
from cimgen.grammar.parse import parse
from cimgen.render import render_duckdb
from cimgen.schema import load_schema

_SCOPE = {"project_id", "scenario_id", "project_name", "scenario_name"}


def _raster_refs(body: ast.Select, query: ast.Query, ctx: ExpansionContext) -> dict[str, Any]:
    """alias -> TableInfo of the block's FROM items that are raster tables (CTEs resolved)."""
    ctes = {c.name: c.query for c in query.ctes}
    found = {}
    for ref in block_refs(body):
        info = base_table(ref, ctes, ctx)
        if info is not None and info.rasters:
            found[ref.ref_name] = info
    return found


def _tile_columns(e: ast.Expr, tiles: dict[str, TableInfo]) -> bool:
    """Does ``e`` read a raster table's own non-raster column (``dtm.max_elevation``)?"""
    for n in ast.walk(e):
        if isinstance(n, ast.Column) and n.table in tiles:
            info = tiles[n.table]
            if n.name not in {r.name for r in info.rasters} and n.name not in info.pk:
                return True
    return False


def _pin(c: ast.Expr) -> bool:
    return isinstance(c, ast.BinaryOp) and c.op == "=" and not isinstance(c.right, ast.Column)


def tile_shapes(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    found: set[str] = set()
    blocks = [(query, query.body)] + [(c.query, c.query.body) for c in query.ctes]
    for q, body in blocks:
        if not isinstance(body, ast.Select):
            continue
        refs = block_refs(body)
        tiles = _raster_refs(body, q if q is not query else query, ctx)
        if not refs or not tiles or refs[0].ref_name in tiles:
            continue
        valued = any(
            isinstance(n, ast.FuncCall) and n.name.upper() == "ST_VALUE"
            for it in body.items
            for n in ast.walk(it.expr)
        )
        if valued and any(_tile_columns(it.expr, tiles) for it in body.items):
            found.add("tile_stat_beside_value")
        conditions = [
            c
            for c in ast.block_conditions(body, outer_joins=True)
            # a pin saying which raster is meant (``rm.raster_type = 'CHM'``) aside
            if not _pin(c)
        ]
        if any(_tile_columns(c, tiles) for c in conditions):
            found.add("tile_stat_filter")
    return found


def _count(con: Any, query: ast.Query, schema: Any) -> int:
    sql = render_duckdb(query, schema).sql
    return int(con.execute(f"SELECT count(*) FROM ({sql}) AS q").fetchone()[0])


def result_shapes(query: ast.Query, con: Any, schema: Any, ctx: ExpansionContext) -> set[str]:
    found: set[str] = set()
    body = query.body
    if not isinstance(body, ast.Select):
        return found
    open_ = replace(query, order_by=(), limit=None, offset=None)
    if body.having is not None and body.group_by:
        cut = _count(con, open_, schema)
        all_groups = _count(con, replace(open_, body=replace(body, having=None)), schema)
        if cut == all_groups:
            found.add("having_passes_all")
    windowed = any(isinstance(n, ast.FuncCall) and n.over is not None for n in ast.walk(body))
    if aggregated(body) and not windowed:
        sizes = replace(
            open_,
            body=replace(
                body,
                items=(ast.SelectItem(ast.FuncCall("COUNT", star=True), "n_rows_"),),
                having=None,
                distinct=False,
            ),
        )
        sql = render_duckdb(sizes, schema).sql
        top = con.execute(f"SELECT max(n_rows_) FROM ({sql}) AS q").fetchone()[0]
        if top == 1:
            found.add("aggregate_over_one_row")
    cur = con.execute(render_duckdb(query, schema).sql)
    names = [d[0] for d in cur.description]
    rows = cur.fetchmany(5000)
    if len(rows) == 1 and all(v is None for v in rows[0]):
        found.add("all_null_answer")
    if not aggregated(body) and not body.group_by and not body.distinct and len(rows) > 1:
        keep = [i for i, n in enumerate(names) if n not in _SCOPE]
        if len(keep) < len(names):
            seen = {repr(tuple(r[i] for i in keep)) for r in rows}
            if len(seen) < len(rows):
                found.add("rows_repeat_but_scope")
        tiles = _raster_refs(body, query, ctx)
        subject = next(iter(block_refs(body)), None)
        if tiles and subject is not None and subject.ref_name not in tiles:
            own = [
                i for i, it in enumerate(body.items) if not ast.tables_read(it.expr) & set(tiles)
            ]
            if 0 < len(own) < len(names):
                seen = {repr(tuple(r[i] for i in own)) for r in rows}
                if len(seen) < len(rows):
                    found.add("subject_listed_twice")
    return found


def main() -> None:
    from shape_runs import tally

    args = sys.argv[1:]
    schema = load_schema("cim_wizard")
    ctx = ExpansionContext.for_fixture(schema)
    for run, fixture in zip(args[::2], args[1::2], strict=True):
        con = connect(Path(fixture), read_only=True)

        def found_of(record: dict[str, Any], con: Any = con) -> set[str]:
            query = parse(record["sql_postgis"])
            found = tile_shapes(query, ctx)
            if (record.get("checks", {}).get("duckdb") or {}).get("status") == "ok":
                try:
                    found |= result_shapes(query, con, schema, ctx)
                except Exception as e:  # a variant DuckDB cannot run: not judged
                    print("  not judged", record["id"], type(e).__name__, str(e)[:80])
                    found.add("not_judged")
            return found

        tally(run, found_of)


if __name__ == "__main__":
    main()
