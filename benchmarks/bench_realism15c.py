"""Count "groups and pins that do not hold" (issue 14, fifteenth pass (c)) in the accepted
rows of a run.

usage: bench_realism15c.py RUN_DIR [RUN_DIR ...]

Read from each accepted record (its PostGIS SQL parsed with the project grammar, and what
the DuckDB check recorded), no execution:

* ``one_cluster`` -- a window clustering (DBSCAN or k-means) whose rows all land in one
  cluster per partition, noise aside (``checks.duckdb.clusters``: clusters <= partitions):
  "how many per DBSCAN cluster" answered by one cluster;
* ``one_group`` -- a top-level GROUP BY (no HAVING, no LIMIT 1) whose result is one row:
  a count per zone where the filters leave one zone;
* ``scenario_only`` -- a table held per project scenario (its scope columns are not its
  whole key: a building's properties, a bus) with one scope column pinned to a literal
  (``bp.scenario_id = 'baseline'``) and another scope column neither pinned nor equated
  to anything: every project's copy of that scenario meets the rows;
  ``scenario_only:scope_table`` the same on the scope table itself (the project
  scenarios, one row per project in that scenario: a listing of projects, kept);
* ``level_only`` -- a table joined to another on a version column (``b.lod = bp.lod``)
  whose only column read beyond its join keys is that version column (``b.lod`` beside
  ``bp.lod``: said from the joined copy).
"""

from __future__ import annotations

import sys
from collections import Counter
from typing import Any

from cimgen import ast
from cimgen.equalities import block_equalities
from cimgen.expand.context import ExpansionContext
from cimgen.expand.distinct import version_columns
from cimgen.expand.multiply import block_refs
from cimgen.grammar.parse import parse
from cimgen.schema import load_schema


def one_cluster(record: dict) -> bool:
    clusters = (record.get("checks", {}).get("duckdb") or {}).get("clusters") or []
    return any(c["rows"] > 0 and 0 < c["clusters"] <= c["partitions"] for c in clusters)


def one_group(record: dict, query: ast.Query) -> bool:
    body = query.body
    if not isinstance(body, ast.Select) or not body.group_by or body.having is not None:
        return False
    if isinstance(query.limit, ast.Number) and query.limit.text == "1":
        return False
    return (record.get("result") or {}).get("rows") == 1


def _blocks(query: ast.Query) -> list[ast.Select]:
    return [
        n.body
        for n in ast.walk(query)
        if isinstance(n, ast.Query) and isinstance(n.body, ast.Select)
    ]


def scenario_only(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    found = set()
    for body in _blocks(query):
        eq = block_equalities(body)
        fixed = eq.fixed()
        tied = eq.classes.members()
        for ref in block_refs(body):
            info = ctx.by_name.get(ref.qualified)
            if info is None or len(info.scope) < 2:
                continue
            alias = ref.ref_name
            pinned = [c for c in info.scope if eq.classes.find((alias, c)) in fixed]
            open_ = [
                c
                for c in info.scope
                if eq.classes.find((alias, c)) not in fixed and (alias, c) not in tied
            ]
            if pinned and open_:
                scope_table = set(info.pk) <= set(info.scope)
                found.add("scenario_only:scope_table" if scope_table else "scenario_only")
    return found


def level_only(query: ast.Query, ctx: ExpansionContext) -> bool:
    cols = [n for n in ast.walk(query) if isinstance(n, ast.Column)]
    for join in (n for n in ast.walk(query) if isinstance(n, ast.Join)):
        if join.on is None:
            continue
        keyed: dict[str, set[str]] = {}
        for c in ast.conjuncts(join.on):
            if (
                isinstance(c, ast.BinaryOp)
                and c.op == "="
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.Column)
            ):
                for x in (c.left, c.right):
                    keyed.setdefault(x.table or "", set()).add(x.name)
        for ref in (join.left, join.right):
            if not isinstance(ref, ast.TableRef):
                continue
            info = ctx.by_name.get(ref.qualified)
            alias = ref.ref_name
            if info is None or alias not in keyed:
                continue
            versions = set(version_columns(ctx, info)) - set(info.scope)
            joined_on = keyed[alias]
            if not versions & joined_on:
                continue
            counted = Counter(c.name for c in cols if c.table == alias)
            beyond = {n for n, k in counted.items() if n not in joined_on or k > 1}
            if beyond and beyond <= versions:
                return True
    return False


def main() -> None:
    from shape_runs import tally

    schema = load_schema("cim_wizard")
    ctx = ExpansionContext.for_fixture(schema)

    def found_of(record: dict[str, Any]) -> set[str]:
        query = parse(record["sql_postgis"])
        found: set[str] = set(scenario_only(query, ctx))
        if one_cluster(record):
            found.add("one_cluster")
        if one_group(record, query):
            found.add("one_group")
        if level_only(query, ctx):
            found.add("level_only")
        return found

    for run in sys.argv[1:]:
        tally(run, found_of)


if __name__ == "__main__":
    main()
