"""Count the shapes a blind review did not keep (issue 14) in the accepted rows of a run.

Reads the ``dataset.jsonl`` of one or more ``cimgen generate`` output folders (schema
``cim_wizard``), parses each row's PostGIS SQL with the project grammar and counts, per
folder, the rows with:

* ``constant_output`` -- an output read only from a table the query pins to one row
  (PUR008's rule: a pinned project's name on every row);
* ``scope_table_pinned`` -- the project scenario table read beside a literal project pin;
* ``neighbour_filter`` -- a spatial self-join filtered on the neighbour side only;
* ``order_by_cluster_id`` -- an ordering by a cluster number;
* ``joined_version_open:<column>`` -- a joined table whose version column
  (``cimgen.expand.distinct.version_columns``: ``lod``, ``scenario_id``) the query neither
  pins nor equates (rows of one thing repeat per version);

and the shapes of the fourth pass's review (docs/BENCHMARKS.md, "Realism: fourth pass"):

* ``order_by_coordinate`` -- ORDER BY a longitude / latitude (``ST_X`` / ``ST_Y``);
* ``order_by_parent`` -- ORDER BY a value of a table the listed rows belong to only (a
  line's project scenario, the census section containing a building);
* ``order_on_one_row`` -- ORDER BY / LIMIT on one row (an aggregate without GROUP BY, or a
  result of one row on the check engine);
* ``window_repeats_order`` -- an overall ranking window whose ordering the query's own
  ORDER BY repeats;
* ``stored_and_computed`` -- one quantity twice: a stored length / area beside the one
  computed from the same table's geometry, or two stored forms (``length_m``,
  ``length_km``);
* ``multiplying_join:label_only`` / ``:chain`` -- see ``_multiplying``.

    python benchmarks/bench_realism_shapes.py out/before out/after
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.check.base import CheckContext
from cimgen.check.purpose import _one_row_aliases
from cimgen.expand import ExpansionContext
from cimgen.expand.distinct import open_versions
from cimgen.grammar import parse
from cimgen.schema import load_schema


def shapes(query: ast.Query, sql: str, ctx: ExpansionContext, check: CheckContext) -> set[str]:
    body = query.body
    if not isinstance(body, ast.Select):
        return set()
    found = set()
    one, every = _one_row_aliases(body, check)
    if one and every - one:
        for it in body.items:
            nodes = list(ast.walk(it.expr))
            if any(isinstance(n, (ast.Query, ast.Subquery)) for n in nodes):
                continue
            if any(isinstance(n, ast.FuncCall) and n.over is not None for n in nodes):
                continue
            cols = [n for n in nodes if isinstance(n, ast.Column)]
            if it.expr not in body.group_by and cols and all(c.table in one for c in cols):
                found.add("constant_output")
    if not body.group_by:
        found |= {f"joined_version_open:{c}" for _, c in open_versions(query, ctx)}
    refs = [f for f in body.from_ if isinstance(f, ast.TableRef)]
    if len(refs) == 2 and refs[0].name == refs[1].name:
        for c in ast.conjuncts(body.where):
            if ast.tables_read(c) == {refs[1].alias} and not (
                isinstance(c, ast.BinaryOp) and c.op == "="
            ):
                found.add("neighbour_filter")
    if any(isinstance(o.expr, ast.Column) and o.expr.name == "cluster_id" for o in query.order_by):
        found.add("order_by_cluster_id")
    if "project_scenario" in sql and re.search(r"project_id = '", sql):
        found.add("scope_table_pinned")
    return found


# --- issue 14, fourth pass: the shapes of the last blind review --------------------------

_RANKS = {"RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE", "PERCENT_RANK", "CUME_DIST"}
_COORDS = {"ST_X", "ST_Y"}
_STORED = re.compile(r"^(?:shape_)?(length|area)(?:_(?:km2|km|m2|m|sqm))?$")


def _outputs(body: ast.Select) -> dict[str, ast.Expr]:
    return {it.alias: it.expr for it in body.items if it.alias}


def _resolved(expr: ast.Expr, body: ast.Select) -> ast.Expr:
    """An ORDER BY item with the output it names (``ORDER BY lon`` -> ``ST_X(...)``)."""
    if isinstance(expr, ast.Column) and expr.table is None:
        return _outputs(body).get(expr.name, expr)
    return expr


def _calls(expr: ast.Expr) -> set[str]:
    return {n.name for n in ast.walk(expr) if isinstance(n, ast.FuncCall)}


def _aliases(expr: ast.Expr) -> set[str]:
    return {n.table for n in ast.walk(expr) if isinstance(n, ast.Column) and n.table}


def _aggregated(body: ast.Select) -> bool:
    """An aggregate of the block itself (not of a subquery in its SELECT list)."""
    aggs = {"COUNT", "SUM", "AVG", "MIN", "MAX"}
    stack: list[Any] = [it.expr for it in body.items]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Subquery, ast.Query)):
            continue
        if isinstance(n, ast.FuncCall) and n.name.upper() in aggs and n.over is None:
            return True
        stack.extend(ast.children(n))
    return False


def review_shapes(query: ast.Query, record: dict[str, Any], ctx: ExpansionContext) -> set[str]:
    """The fourth pass's shapes (module docstring) of one accepted row."""
    body = query.body
    if not isinstance(body, ast.Select):
        return set()
    found: set[str] = set()
    refs = [r for f in body.from_ for r in _refs(f)]
    order = [_resolved(o.expr, body) for o in query.order_by]
    if any(_calls(e) & _COORDS for e in order):
        found.add("order_by_coordinate")
    parents = _parents(body, refs, ctx)
    for e in order:
        used = _aliases(e)
        if used and used <= parents:
            found.add("order_by_parent")
    one_row = (_aggregated(body) and not body.group_by) or (
        (record.get("result") or {}).get("rows") == 1
    )
    if (query.order_by or query.limit is not None) and one_row:
        found.add("order_on_one_row")
    for it in body.items:
        e = it.expr
        if isinstance(e, ast.FuncCall) and e.over is not None and e.name.upper() in _RANKS:
            if e.over.partition_by or not e.over.order_by or not query.order_by:
                continue
            w = e.over.order_by[0].expr
            q = query.order_by[0].expr
            if _resolved(q, body) == w or (
                isinstance(q, ast.Column) and q.table is None and q.name == it.alias
            ):
                found.add("window_repeats_order")
    # one quantity in two forms: a stored length/area beside the computed one
    stored = {
        (n.table, m.group(1))
        for it in body.items
        for n in ast.walk(it.expr)
        if isinstance(n, ast.Column) and n.table and (m := _STORED.match(n.name))
    }
    computed = {
        (a, "length" if c.name == "ST_Length" else "area")
        for it in body.items
        for c in ast.walk(it.expr)
        if isinstance(c, ast.FuncCall) and c.name in ("ST_Length", "ST_Area")
        for a in _aliases(c)
    }
    stored_cols = [
        n.name
        for it in body.items
        for n in ast.walk(it.expr)
        if isinstance(n, ast.Column) and n.table and _STORED.match(n.name)
    ]
    if stored & computed or len(set(stored_cols)) > len(
        {_STORED.match(c).group(1) for c in stored_cols}
    ):  # type: ignore[union-attr]
        found.add("stored_and_computed")
    if not body.group_by and not _aggregated(body) and len(refs) > 1:
        found |= {f"multiplying_join:{k}" for k in _multiplying(body, refs, ctx)}
    return found


def _parents(body: ast.Select, refs: list[ast.TableRef], ctx: ExpansionContext) -> set[str]:
    """Aliases of tables the first table's rows belong to: met by a key each first row
    meets one of while one of them meets several first rows (a line's project scenario),
    or containing the first table's geometry (``ST_Within(first, it)``)."""
    if not refs:
        return set()
    first = refs[0].alias or refs[0].name
    info = {r.alias or r.name: ctx.by_name.get(r.qualified) for r in refs}
    out = set()
    for c in ast.block_conditions(body, outer_joins=True):
        sides = _aliases(c)
        if first not in sides or len(sides) != 2:
            continue
        (b,) = sides - {first}
        ia, ib = info.get(first), info.get(b)
        if ia is None or ib is None:
            continue
        if isinstance(c, ast.FuncCall) and c.args:
            inner = {"st_within": 0, "st_contains": 1}.get(c.name.lower())
            if inner is not None and _aliases(c.args[inner]) == {first}:
                out.add(b)
        elif isinstance(c, ast.BinaryOp) and c.op == "=":
            up = [p.fan for p in ctx.paths_from(ia.qualified) if p.right == ib.qualified]
            down = [p.fan for p in ctx.paths_from(ib.qualified) if p.right == ia.qualified]
            if up and down and max(up) <= 1.5 and min(down) > 1.5:
                out.add(b)
    return out


def _refs(item: ast.FromItem) -> list[ast.TableRef]:
    if isinstance(item, ast.TableRef):
        return [item]
    if isinstance(item, ast.Join):
        return [*_refs(item.left), *_refs(item.right)]
    return []


def _multiplying(body: ast.Select, refs: list[ast.TableRef], ctx: ExpansionContext) -> set[str]:
    """How a row-level block's joined tables multiply its rows:

    * ``label_only`` -- a table met by a key of which one row meets several other things
      (fan over 3 on the fixture: a section's buildings, a project's buses -- not versions),
      contributing only plain columns to the SELECT list (no filter, no ordering, no
      computed output);
    * ``chain`` -- a table met (by such a key, or spatially) from a table itself met that
      way: the product of two one-to-many steps.
    """
    names = [r.alias or r.name for r in refs]
    info = {r.alias or r.name: ctx.by_name.get(r.qualified) for r in refs}
    conds = ast.block_conditions(body, outer_joins=True)
    links = [c for c in conds if len(_aliases(c) & set(names)) == 2]
    many: dict[str, tuple[str, str]] = {}  # alias -> (the alias it multiplies, how)
    for c in links:
        a, b = sorted(_aliases(c) & set(names), key=names.index)
        ia, ib = info[a], info[b]
        if ia is None or ib is None or b in many:
            continue
        if isinstance(c, ast.BinaryOp) and c.op == "=":
            pairs = set()
            for cc in links:
                if isinstance(cc, ast.BinaryOp) and cc.op == "=" and _aliases(cc) == {a, b}:
                    left, right = cc.left, cc.right
                    if isinstance(left, ast.Column) and isinstance(right, ast.Column):
                        pairs.add(
                            (left.name, right.name) if left.table == a else (right.name, left.name)
                        )
            fans = [
                p.fan
                for p in ctx.paths_from(ia.qualified)
                if p.kind == "key" and p.right == ib.qualified and set(p.pairs) <= pairs
            ]
            if fans and min(fans) > 3:  # children, not versions (cimgen.expand.core.fans_out)
                many[b] = (a, "key")
        elif isinstance(c, ast.FuncCall) and c.name.lower() in ("st_dwithin", "st_intersects"):
            many[b] = (a, "spatial")
        elif isinstance(c, ast.FuncCall) and c.name.lower() in ("st_within", "st_contains"):
            inner = c.args[0 if c.name.lower() == "st_within" else 1]
            if _aliases(inner) == {b}:  # b inside a: a container meets several
                many[b] = (a, "spatial")
    out = set()
    for b, (a, how) in many.items():
        outs = [it.expr for it in body.items if b in _aliases(it.expr)]
        filtered = any(b in _aliases(c) for c in conds if c not in links)
        if how == "key" and outs and not filtered and all(isinstance(e, ast.Column) for e in outs):
            out.add("label_only")
        if a in many:
            out.add("chain")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="cimgen generate output folders")
    args = ap.parse_args()
    schema = load_schema("cim_wizard")
    ctx = ExpansionContext.for_fixture(schema)
    check = CheckContext(schema=schema)
    for run in args.runs:
        counts: Counter[str] = Counter()
        rows = 0
        for line in (run / "dataset.jsonl").read_text().splitlines():
            record = json.loads(line)
            rows += 1
            sql = record["sql_postgis"]
            query = parse(sql)
            for name in shapes(query, sql, ctx, check) | review_shapes(query, record, ctx):
                counts[name] += 1
        print(run, rows, dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
