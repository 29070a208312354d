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
  pins nor equates (rows of one thing repeat per version).

    python benchmarks/bench_realism_shapes.py out/before out/after
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from pathlib import Path

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
            for name in shapes(parse(sql), sql, ctx, check):
                counts[name] += 1
        print(run, rows, dict(sorted(counts.items())))


if __name__ == "__main__":
    main()
