"""Count "a thing counted or listed more than once" (issue 14, fourteenth pass (a)) in the
accepted rows of a run.

usage: bench_realism14a.py RUN_DIR FIXTURE.duckdb [RUN_DIR FIXTURE.duckdb ...]

Each row's PostGIS SQL is parsed with the project grammar; variants of each SELECT block
(the top level and every CTE body) execute on the run's DuckDB fixture world:

* ``listed_per_version`` -- a row-level top-level block (no aggregate, no DISTINCT) whose
  result holds one thing (its :func:`cimgen.expand.frame.thing_key`, ``building_id``) in
  two versions: two rows of a table whose version columns
  (:func:`cimgen.expand.distinct.version_columns`, scope columns aside: ``lod``) tell its
  rows apart, with one thing key and two primary keys -- for the first FROM item overall,
  for a joined one per row of the first (a building listed at LOD 1 and LOD 2, clustered
  with its own other footprint);
* ``counted_per_version`` -- the same inside one group of an aggregating block (a count of
  buildings that counts a building once per LOD), unless the block counts the thing key
  DISTINCT;
* ``summed_over_copies`` -- an aggregate that a repeated row changes (``SUM`` / ``AVG`` /
  ``COUNT(col)``, not DISTINCT) of one table's columns (a distance between two is one per
  pair) in a block where one row of that table
  enters one group more than once (a line's loading averaged once per building near its
  bus, a census zone's population summed once per building inside it); ``:spatial`` when
  the block's conditions hold a spatial test between two tables, ``:key`` otherwise.

Nothing is judged where a variant does not run (``not_judged``).
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.engines.duckdb import connect
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.distinct import version_columns
from cimgen.expand.frame import thing_key
from cimgen.expand.multiply import aggregated, block_refs
from cimgen.grammar.parse import parse
from cimgen.render import render_duckdb
from cimgen.schema import load_schema

_CHANGED_BY_REPEATS = {"SUM", "AVG", "COUNT", "STDDEV", "STDDEV_SAMP", "VARIANCE"}


def _versioned(info: TableInfo, ctx: ExpansionContext) -> tuple[str, ...]:
    """The version columns of ``info`` that are not its scope (``lod``)."""
    return tuple(c for c in version_columns(ctx, info) if c not in info.scope)


def _base_refs(body: ast.Select, ctx: ExpansionContext) -> list[tuple[ast.TableRef, TableInfo]]:
    return [
        (r, ctx.by_name[r.qualified])
        for r in block_refs(body)
        if r.schema is not None and r.qualified in ctx.by_name
    ]


def _run(con: Any, query: ast.Query, schema: Any) -> list[tuple[Any, ...]]:
    return list(con.execute(render_duckdb(query, schema).sql).fetchall())


def _block_query(query: ast.Query, body: ast.Select) -> ast.Query:
    return replace(query, body=body, order_by=(), limit=None, offset=None)


def _col(ref: ast.TableRef, name: str) -> ast.Column:
    return ast.Column(name, ref.ref_name)


def _spatial_between(body: ast.Select) -> bool:
    for cond in ast.block_conditions(body, outer_joins=True):
        for n in ast.walk(cond):
            if (
                isinstance(n, ast.FuncCall)
                and n.name.upper().startswith("ST_")
                and len({c.table for c in ast.walk(n) if isinstance(c, ast.Column)}) >= 2
            ):
                return True
    return False


def version_shapes(
    query: ast.Query, body: ast.Select, con: Any, schema: Any, ctx: ExpansionContext
) -> set[str]:
    """``listed_per_version`` / ``counted_per_version`` of one block (see the module)."""
    found: set[str] = set()
    refs = _base_refs(body, ctx)
    if not refs or body.distinct:
        return found
    grouped = aggregated(body) or bool(body.group_by)
    first = block_refs(body)[0]
    for ref, info in refs:
        key = thing_key(info)
        if not _versioned(info, ctx) or key is None or not info.pk or key in info.pk:
            continue
        if grouped:
            counted = [
                n
                for it in body.items
                for n in ast.walk(it.expr)
                if isinstance(n, ast.FuncCall) and n.distinct and n.name.upper() == "COUNT"
            ]
            if any(
                isinstance(a, ast.Column) and a.table == ref.ref_name and a.name == key
                for f in counted
                for a in f.args
            ):
                continue  # the things are counted once
            around: tuple[ast.Expr, ...] = body.group_by
        elif ref.ref_name == first.ref_name:
            around = ()
        else:
            around = tuple(_col(first, k) for k in (info_pk(first, ctx) or ()))
            if not around:
                continue
        items = tuple(
            ast.SelectItem(e, f"g{i}_")
            for i, e in enumerate((*around, _col(ref, key), _col(ref, info.pk[0])))
        )
        variant = replace(body, items=items, group_by=(), having=None, distinct=True)
        rows = _run(con, _block_query(query, variant), schema)
        seen = Counter(r[:-1] for r in rows)
        if any(v > 1 for v in seen.values()):
            found.add("counted_per_version" if grouped else "listed_per_version")
    return found


def info_pk(ref: ast.TableRef, ctx: ExpansionContext) -> tuple[str, ...]:
    info = ctx.by_name.get(ref.qualified) if ref.schema else None
    return tuple(info.pk) if info is not None else ()


def copies_shapes(
    query: ast.Query, body: ast.Select, con: Any, schema: Any, ctx: ExpansionContext
) -> set[str]:
    """``summed_over_copies`` of one aggregating block (see the module)."""
    if not (aggregated(body) or body.group_by):
        return set()
    refs = dict((r.ref_name, (r, info)) for r, info in _base_refs(body, ctx))
    summed: set[str] = set()
    for it in body.items:
        for n in ast.walk(it.expr):
            if (
                isinstance(n, ast.FuncCall)
                and n.over is None
                and not n.distinct
                and not n.star
                and n.name.upper() in _CHANGED_BY_REPEATS
            ):
                read = {c.table for a in n.args for c in ast.walk(a) if isinstance(c, ast.Column)}
                if len(read) == 1:  # a value of two tables (a distance) is one per pair
                    summed |= read
    for alias in sorted(a for a in summed if a in refs):
        ref, info = refs[alias]
        if not info.pk:
            continue
        keys = (*body.group_by, *(_col(ref, k) for k in info.pk))
        items = (
            *(ast.SelectItem(e, f"g{i}_") for i, e in enumerate(keys)),
            ast.SelectItem(ast.FuncCall("COUNT", star=True), "n_"),
        )
        variant = replace(body, items=items, group_by=keys, having=None, distinct=False)
        rows = _run(con, _block_query(query, variant), schema)
        if any(r[-1] > 1 for r in rows):
            kind = "spatial" if _spatial_between(body) else "key"
            return {"summed_over_copies", f"summed_over_copies:{kind}"}
    return set()


def shapes(query: ast.Query, con: Any, schema: Any, ctx: ExpansionContext) -> set[str]:
    found: set[str] = set()
    if isinstance(query.body, ast.Select):
        found |= version_shapes(query, query.body, con, schema, ctx)
        found |= copies_shapes(query, query.body, con, schema, ctx)
    for cte in query.ctes:
        body = cte.query.body
        if isinstance(body, ast.Select) and not cte.query.ctes:
            inner = replace(query, body=body)
            found |= {
                s
                for s in version_shapes(inner, body, con, schema, ctx)
                if s == "counted_per_version"
            }
            found |= copies_shapes(inner, body, con, schema, ctx)
    return found


def main() -> None:
    from shape_runs import tally

    args = sys.argv[1:]
    schema = load_schema("cim_wizard")
    ctx = ExpansionContext.for_fixture(schema)
    for run, fixture in zip(args[::2], args[1::2], strict=True):
        con = connect(Path(fixture), read_only=True)
        con.execute("SET threads = 1")

        def found_of(record: dict[str, Any], con: Any = con) -> set[str]:
            if (record.get("checks", {}).get("duckdb") or {}).get("status") != "ok":
                return set()
            try:
                return set(shapes(parse(record["sql_postgis"]), con, schema, ctx))
            except Exception as e:  # a variant DuckDB cannot run: not judged
                print("  not judged", record["id"], type(e).__name__, str(e)[:80])
                return {"not_judged"}

        tally(run, found_of)
        con.close()


if __name__ == "__main__":
    main()
