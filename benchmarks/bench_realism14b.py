"""Count the rows the fourteenth pass (b) named (issue 14: contrived content) in the
accepted rows of a run.

usage: bench_realism14b.py RUN_DIR FIXTURE.duckdb [RUN_DIR FIXTURE.duckdb ...]

Each row's PostGIS SQL is parsed with the project grammar; what the user's corpus does is
the bundled demo corpus's facts (``cimgen.world.corpus``), as the default job learns them:

* ``joined_unasked_output`` -- a block outputs a column of a table read beside its subject
  (not a copy of the subject's table, nor another table of the same thing: a building
  beside its properties, one ``building_id``) that the corpus, with :data:`EVIDENCE` records
  reading that table so, never outputs in that role (a building's census zone's ``e8``,
  "number of buildings built before 1918"); an aggregate's column and a group key aside
  (the corpus's aggregates and group keys weigh those: ``combine.aggregate_counts``,
  ``combine.group_counts``);
* ``joined_unasked_filter`` -- a condition (not a join of two columns) on such a column the
  corpus never filters in that role (buses by their census zone's housing units);
* ``subquery_unpinned`` -- an ``IN (SELECT ...)`` / ``EXISTS`` subquery over a table held
  per project scenario with no scope pin nor a scope column tied to the outer row, while
  its outer block pins the scope;
* ``null_column`` -- an executed result of two rows or more with an output column NULL in
  every row (it tells nothing);
* ``place_distance_stacked`` -- a distance to a place (``ST_Distance`` of a point
  literal) output beside a clustering, a spatial join of two tables or a subquery / CTE,
  where the corpus computes one only in a plain listing (buses clustered, joined to their
  lines and ranked by the distance to a point at once);
* ``features_over_corpus`` -- a row stacking more "features" (joins, CTEs, subqueries,
  conditions beyond scope pins, ORDER BY a distance to a point, clustering) than the
  corpus's 90th percentile for its ``sql_type`` (computed on the corpus's own SQL).
"""

from __future__ import annotations

import json
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from cimgen import ast
from cimgen.corpus import iter_demo_records
from cimgen.engines.duckdb import connect
from cimgen.expand.context import ExpansionContext
from cimgen.expand.multiply import base_table, block_refs
from cimgen.grammar.parse import parse
from cimgen.models import Stage1Record
from cimgen.render import render_duckdb
from cimgen.schema import load_schema
from cimgen.world.corpus import learn_corpus

_SCOPE = {"project_id", "scenario_id"}
_AGGS = {"AVG", "SUM", "MIN", "MAX", "COUNT", "STDDEV", "VARIANCE", "MEDIAN"}
_CLUSTER = ("ST_CLUSTERDBSCAN", "ST_CLUSTERKMEANS", "ST_CLUSTERWITHIN")


def _blocks(query: ast.Query) -> list[tuple[ast.Select, dict[str, ast.Query]]]:
    ctes = ast.ctes_by_name(query)
    out = []
    for n in ast.walk(query):
        if isinstance(n, ast.Select):
            out.append((n, ctes))
    return out


def _tables(body: ast.Select, ctes: dict[str, ast.Query], ctx: Any) -> dict[str, Any]:
    return {r.ref_name: base_table(r, ctes, ctx) for r in block_refs(body)}


def _asked(t: Any) -> set[str]:
    """The columns the expander asks of a table: labels and attributes (not keys,
    versions such as ``lod``, geometries)."""
    return {*t.labels, *t.categories, *t.measures, *t.flags}


def _pin(c: ast.Expr) -> bool:
    return (
        isinstance(c, ast.BinaryOp)
        and c.op == "="
        and isinstance(c.left, ast.Column)
        and c.left.name in _SCOPE
        and not isinstance(c.right, ast.Column)
    )


def _scope_link(c: ast.Expr) -> bool:
    """``a.scenario_id = b.scenario_id``: a subquery tied to its outer row's scenario."""
    return (
        isinstance(c, ast.BinaryOp)
        and c.op == "="
        and isinstance(c.left, ast.Column)
        and isinstance(c.right, ast.Column)
        and c.left.name in _SCOPE
        and c.right.name in _SCOPE
    )


def joined_shapes(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    combos = ctx.combos
    found: set[str] = set()
    for body, ctes in _blocks(query):
        tables = _tables(body, ctes, ctx)
        refs = block_refs(body)
        if not refs or tables.get(refs[0].ref_name) is None:
            continue
        head = tables[refs[0].ref_name].qualified
        joined = {
            a: t
            for a, t in tables.items()
            if t is not None
            and t.qualified != head
            and combos.evidence(t.qualified, "joined")
            # another table of the same thing (a building beside its properties)
            and not set(t.labels) & set(tables[refs[0].ref_name].labels)
        }
        for it in body.items:
            summed = {
                id(m)
                for n in ast.walk_own(it.expr)
                if isinstance(n, ast.FuncCall) and n.over is None and n.name.upper() in _AGGS
                for m in ast.walk(n)
            }
            if it.expr in body.group_by:
                continue  # a group key: the corpus's group keys weigh it
            for n in ast.walk_own(it.expr):
                if id(n) in summed:
                    continue  # an aggregate's column: the corpus's aggregates weigh it
                if isinstance(n, ast.Column) and n.table in joined:
                    t = joined[n.table]
                    if n.name in _asked(t) and not combos.joined_output(t.qualified, n.name):
                        found.add("joined_unasked_output")
        for c in ast.conjuncts(body.where):
            cols = [n for n in ast.walk_own(c) if isinstance(n, ast.Column)]
            if len(cols) != 1 or _pin(c):
                continue  # a join of two columns, or a scope pin
            col = cols[0]
            if col.table in joined:
                t = joined[col.table]
                if col.name in _asked(t) and not combos.joined_filter(t.qualified, col.name):
                    found.add("joined_unasked_filter")
        pinned = any(_pin(c) for c in ast.conjuncts(body.where))
        if pinned:
            for c in ast.conjuncts(body.where):
                if isinstance(c, ast.UnaryOp):
                    continue  # NOT EXISTS: a neighbour's absence, not a subset
                for n in ast.walk_own(c):
                    if not isinstance(n, (ast.InSubquery, ast.Exists)) or getattr(n, "negated", 0):
                        continue
                    sub = n.query
                    if not isinstance(sub.body, ast.Select):
                        continue
                    inner = _tables(sub.body, ctes, ctx)
                    scoped = [t for t in inner.values() if t is not None and t.scope]
                    inner_conds = ast.conjuncts(sub.body.where)
                    if scoped and not any(_pin(x) or _scope_link(x) for x in inner_conds):
                        found.add("subquery_unpinned")
    return found


_POINTS = {"ST_MAKEPOINT", "ST_POINT", "ST_SETSRID"}


def place_distance_stacked(query: ast.Query) -> bool:
    """A distance to a place beside a clustering, a spatial join or a subquery / CTE."""
    place = any(
        isinstance(n, ast.FuncCall)
        and n.name.upper() == "ST_DISTANCE"
        and any(isinstance(m, ast.FuncCall) and m.name.upper() in _POINTS for m in ast.walk(n))
        for n in ast.walk(query)
    )
    if not place:
        return False
    nodes = list(ast.walk(query))
    if query.ctes or any(isinstance(n, (ast.Subquery, ast.InSubquery, ast.Exists)) for n in nodes):
        return True
    if any(isinstance(n, ast.FuncCall) and n.name.upper() in _CLUSTER for n in nodes):
        return True
    for body, _ in _blocks(query):
        for c in ast.block_conditions(body, outer_joins=True):
            calls = [n for n in ast.walk_own(c) if isinstance(n, ast.FuncCall)]
            tables = {x.table for x in ast.walk_own(c) if isinstance(x, ast.Column)}
            if calls and len(tables) > 1 and not ast.is_box_prefilter(c):
                return True  # two tables' geometries compared
    return False


def features(query: ast.Query) -> int:
    """Joins, CTEs, subqueries, conditions beyond scope pins and joins, ORDER BY a distance
    to a point, clustering calls: what the query stacks."""
    n = len(query.ctes)
    for body, _ in _blocks(query):
        n += max(0, len(block_refs(body)) - 1)
        for c in ast.block_conditions(body, outer_joins=True):
            tables = {x.table for x in ast.walk_own(c) if isinstance(x, ast.Column)}
            if len(tables) > 1 or ast.is_box_prefilter(c):
                continue  # a join condition: the join is counted
            if not _pin(c):
                n += 1
    for x in ast.walk(query):
        if isinstance(x, (ast.Subquery, ast.InSubquery, ast.Exists)):
            n += 1
        if isinstance(x, ast.FuncCall) and x.name.upper() in _CLUSTER:
            n += 1
    for o in query.order_by:
        names = {f.name.upper() for f in ast.walk(o.expr) if isinstance(f, ast.FuncCall)}
        if "ST_DISTANCE" in names and names & {"ST_MAKEPOINT", "ST_POINT", "ST_SETSRID"}:
            n += 1
    return n


def _corpus_features(sql: str) -> int | None:
    """The same count on a corpus record's SQL through pglast (the grammar does not read
    every corpus query): joins (RangeVars - 1 per SELECT), CTEs, sublinks, WHERE leaves
    that are not ``x = y`` of two columns nor scope pins, distance orders, clustering."""
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError:
        return None
    n = 0

    def walk(v: Any, key: str = "") -> Any:
        if isinstance(v, dict):
            for k, x in v.items():
                yield k, x
                yield from walk(x, k)
        elif isinstance(v, list):
            for x in v:
                yield from walk(x, key)

    for k, v in walk(tree):
        if k == "SelectStmt":
            rv = sum(1 for kk, _ in walk(v.get("fromClause") or []) if kk == "RangeVar")
            n += max(0, rv - 1)
            where = v.get("whereClause")
            leaves = []
            stack = [where] if where else []
            while stack:
                w = stack.pop()
                if "BoolExpr" in w and w["BoolExpr"].get("boolop") == "AND_EXPR":
                    stack += w["BoolExpr"]["args"]
                else:
                    leaves.append(w)
            for leaf in leaves:
                cols = [x for kk, x in walk(leaf) if kk == "ColumnRef"]
                names = [f["String"]["sval"] for c in cols for f in c["fields"] if "String" in f]
                consts = [x for kk, x in walk(leaf) if kk == "A_Const"]
                owners = {
                    c["fields"][0]["String"]["sval"]
                    for c in cols
                    if len(c["fields"]) == 2 and "String" in c["fields"][0]
                }
                if len(owners) > 1:
                    continue  # a join condition: the join is counted
                if len(cols) == 1 and names and names[-1] in _SCOPE and consts:
                    continue
                n += 1
            for o in v.get("sortClause") or []:
                fn = [
                    x["funcname"][-1]["String"]["sval"].upper()
                    for kk, x in walk(o)
                    if kk == "FuncCall"
                ]
                if "ST_DISTANCE" in fn and {"ST_MAKEPOINT", "ST_POINT", "ST_SETSRID"} & set(fn):
                    n += 1
        elif k == "CommonTableExpr" or k == "SubLink":
            n += 1
        elif k == "FuncCall":
            name = v["funcname"][-1]["String"]["sval"].upper()
            n += name in _CLUSTER
    return n


def corpus_p90() -> dict[str, int]:
    by: dict[str, list[int]] = defaultdict(list)
    for d in iter_demo_records():
        f = _corpus_features(d["sql_postgis"])
        if f is not None:
            by[d.get("sql_type") or "?"].append(f)
    return {t: sorted(v)[int(0.9 * (len(v) - 1))] for t, v in by.items()}


def null_column(query: ast.Query, con: Any, schema: Any) -> bool:
    cur = con.execute(render_duckdb(query, schema).sql)
    rows = cur.fetchmany(5000)
    if len(rows) < 2:
        return False
    return any(all(r[i] is None for r in rows) for i in range(len(rows[0])))


def main() -> None:
    args = sys.argv[1:]
    schema = load_schema("cim_wizard")
    records = [Stage1Record(id=d["id"], sql=d["sql_postgis"], line=0) for d in iter_demo_records()]
    from cimgen.world import fixture_world

    ctx = ExpansionContext.build(
        schema, fixture_world(schema, 0), corpus=learn_corpus(schema, records)
    )
    p90 = corpus_p90()
    print("corpus p90 features per sql_type", dict(sorted(p90.items())))
    for run, fixture in zip(args[::2], args[1::2], strict=True):
        con = connect(Path(fixture), read_only=True)
        counts: Counter[str] = Counter()
        examples: dict[str, list[str]] = {}
        n = 0
        feats: list[int] = []
        for line in (Path(run) / "dataset.jsonl").read_text().splitlines():
            record = json.loads(line)
            n += 1
            query = parse(record["sql_postgis"])
            found = joined_shapes(query, ctx)
            if place_distance_stacked(query):
                found.add("place_distance_stacked")
            f = features(query)
            feats.append(f)
            if f > p90.get(record["sql_type"], 99):
                found.add("features_over_corpus")
            if (record.get("checks", {}).get("duckdb") or {}).get("status") == "ok":
                try:
                    if null_column(query, con, schema):
                        found.add("null_column")
                except Exception as e:  # a query DuckDB cannot run: not judged
                    counts["not_judged"] += 1
                    print("  not judged", record["id"], type(e).__name__, str(e)[:80])
            for name in found:
                counts[name] += 1
                examples.setdefault(name, []).append(record["id"])
        feats.sort()
        print(run, n, dict(sorted(counts.items())), "features median", feats[n // 2])
        for name, ids in sorted(examples.items()):
            print(f"  {name}: {' '.join(ids[:12])}")


if __name__ == "__main__":
    main()
