"""Table combinations a corpus never makes, in the accepted rows of a run (issue 14, tenth
pass (a)): blind reviewers called the *combinations* contrived (DTM values at grid-line
centroids, a bus beside buildings and a census aggregate) while each query was valid SQL.

    python benchmarks/bench_combinations.py RUN [RUN ...] [--corpus STAGE1.jsonl[.gz]]
        [--schema cim_wizard|DDL.sql]

Each row's SQL and each corpus record are read by the same reader the expander learns from
(:func:`cimgen.world.corpus.learn_corpus`: pglast, tables resolved against the schema).
Per run it prints the rows that read

* ``unseen_pair`` -- a pair of tables no corpus query reads together;
* ``unseen_raster_at`` -- a raster at a vector table's geometry the corpus never reads that
  raster at (only for rasters the corpus reads at some geometry);
* ``unseen_meet`` -- two vector tables' geometries compared by one spatial call, which no
  corpus query compares (only when the corpus compares some);
* ``unseen_subject`` -- a first table no corpus query starts from;

and, twelfth pass (b), what the rows summarise:

* ``unseen_group_key`` -- a GROUP BY column no corpus query groups by;
* ``unseen_aggregate`` -- an aggregate of a column, with a function, that no corpus query
  writes (``:geometry`` -- of a geometry column's size, ``SUM(ST_Area(b.geom))``);
* ``unseen_cluster`` -- a clustering of a table the corpus never clusters;
* ``filler_join`` -- a joined table (not a block's first) whose only contribution is one
  aggregate output: no plain output, no condition of its own, no GROUP BY / ORDER BY /
  HAVING (``COUNT(DISTINCT p.project_name)`` of a project scenario joined for nothing
  else; a pin of its scope, ``p.scenario_id = 'baseline'``, is not a condition of its
  own); the corpus's own share is printed beside the runs' (``:unseen`` -- the aggregate
  it contributes is one the corpus never writes, ``COUNT(DISTINCT p.project_name)``);

and how far the rows' subjects are from the corpus's (total variation distance of the two
shares; 0 = the same mix, 1 = disjoint).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from cimgen.expand.context import _scope_columns
from cimgen.models import Stage1Record
from cimgen.schema import load_schema
from cimgen.schema.model import Schema
from cimgen.world.corpus import Combinations, learn_corpus

_AGGS = {"avg", "sum", "min", "max", "count", "stddev", "variance", "median"}

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "cimgen" / "data" / "stage1_demo.jsonl.gz"


def _records(path: Path) -> Iterator[Stage1Record]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                raw = json.loads(line)
                sql = raw.get("sql_postgis") or raw.get("sql") or ""
                yield Stage1Record(id=str(raw.get("id", n)), sql=sql, line=n)


def unseen(schema: Schema, record: Stage1Record, corpus: Combinations) -> tuple[set[str], str]:
    """The combinations of ``record`` that ``corpus`` never makes, and its subject."""
    own = learn_corpus(schema, [record]).combinations()
    out = set()
    if any(corpus.pair(a, b) == 0 for a, b in own.pairs):
        out.add("unseen_pair")
    if any(corpus.read_at(r, v) == 0 for r, v in own.raster_at if _read_somewhere(corpus, r)):
        out.add("unseen_raster_at")
    if corpus.meets and any(corpus.meet(a, b) == 0 for a, b in own.meets):
        out.add("unseen_meet")
    subject = next(iter(own.subjects), "")
    if subject and corpus.subject(subject) == 0:
        out.add("unseen_subject")
    if corpus.grouping and any(corpus.group(t, c) == 0 for t, c in own.groups):
        out.add("unseen_group_key")
    if corpus.aggregating:
        for t, c, fn in own.aggregates:
            if corpus.aggregate(t, c, fn) == 0:
                kind = schema.table(t).column(c).kind  # type: ignore[union-attr]
                out.add("unseen_aggregate" + (":geometry" if kind == "geometry" else ""))
    if corpus.clustering and any(corpus.cluster(t) == 0 for t in own.clusters):
        out.add("unseen_cluster")
    fillers = filler_joins(record.sql, _scope_names(schema))
    if fillers:
        out.add("filler_join")
    if corpus.aggregating and any(
        corpus.aggregate(t, c, fn) == 0 for t, c, fn in _filler_aggregates(schema, record, fillers)
    ):
        out.add("filler_join:unseen")
    return out, subject


@cache
def _scope_names(schema: Schema) -> frozenset[str]:
    """The columns that tie a row to a project scenario (``project_id``, ``scenario_id``)."""
    return frozenset(c for cols in _scope_columns(schema).values() for c in cols)


def _filler_aggregates(
    schema: Schema, record: Stage1Record, aliases: list[str]
) -> list[tuple[str, str, str]]:
    """The (table, column, function) of the aggregates that the filler ``aliases`` read."""
    if not aliases:
        return []
    own = learn_corpus(schema, [record]).combinations()
    tables = {_table_of(schema, record.sql, a) for a in aliases}
    return [k for k in own.aggregates if k[0] in tables]


def _table_of(schema: Schema, sql: str, alias: str) -> str | None:
    tree = json.loads(parse_sql_json(sql))
    stack: list[Any] = [tree]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            rv = v.get("RangeVar")
            if isinstance(rv, dict) and rv.get("schemaname"):
                name = (rv.get("alias") or {}).get("aliasname") or rv.get("relname")
                if name == alias:
                    t = next((t for t in schema.tables if t.name == rv.get("relname")), None)
                    return t.qualified if t else None
            stack.extend(v.values())
    return None


def filler_joins(sql: str, scope: frozenset[str] = frozenset()) -> list[str]:
    """The aliases of joined tables whose only contribution to their block is one
    aggregate output (see the module docstring); an equality of a ``scope`` column to a
    literal is a pin, not a condition of its own."""
    try:
        tree = json.loads(parse_sql_json(sql))
    except ParseError:
        return []
    blocks: list[dict[str, Any]] = []
    _select_stmts(tree, blocks)
    out = []
    for body in blocks:
        aliases = _from_aliases(body.get("fromClause") or [])
        for alias in aliases[1:]:
            if _only_one_aggregate(body, alias, scope):
                out.append(alias)
    return out


def _select_stmts(value: Any, out: list[dict[str, Any]]) -> None:
    if isinstance(value, list):
        for v in value:
            _select_stmts(v, out)
    elif isinstance(value, dict):
        if "SelectStmt" in value and isinstance(value["SelectStmt"], dict):
            out.append(value["SelectStmt"])
        for v in value.values():
            _select_stmts(v, out)


def _from_aliases(items: list[Any]) -> list[str]:
    out: list[str] = []
    for item in items:
        if "JoinExpr" in item:
            j = item["JoinExpr"]
            out += _from_aliases([j["larg"], j["rarg"]])
        elif "RangeVar" in item:
            rv = item["RangeVar"]
            out.append(str((rv.get("alias") or {}).get("aliasname") or rv.get("relname")))
    return out


def _reads(value: Any, alias: str, outside_aggregates: bool = False) -> set[str]:
    """The aliases ``value`` reads columns of (``outside_aggregates``: leaving out the
    columns read inside an aggregate call); ``alias`` only matters for the caller."""
    found: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, dict):
            fc = v.get("FuncCall")
            if outside_aggregates and isinstance(fc, dict) and not fc.get("over"):
                names = [p["String"]["sval"] for p in fc.get("funcname", []) if "String" in p]
                if names and names[-1].lower() in _AGGS:
                    continue
            ref = v.get("ColumnRef")
            if isinstance(ref, dict):
                fields = [f["String"]["sval"] for f in ref.get("fields", []) if "String" in f]
                if len(fields) == 2:
                    found.add(fields[0])
            stack.extend(v.values())
    return found


def _conjuncts(node: Any) -> list[Any]:
    if not node:
        return []
    b = node.get("BoolExpr") if isinstance(node, dict) else None
    if b and b.get("boolop") == "AND_EXPR":
        return [c for a in b.get("args", []) for c in _conjuncts(a)]
    return [node]


def _pin(cond: Any, scope: frozenset[str]) -> bool:
    e = cond.get("A_Expr") if isinstance(cond, dict) else None
    if not e or e.get("kind") != "AEXPR_OP" or "A_Const" not in (e.get("rexpr") or {}):
        return False
    fields = (e.get("lexpr") or {}).get("ColumnRef", {}).get("fields", [])
    return bool(fields) and "String" in fields[-1] and fields[-1]["String"]["sval"] in scope


def _join_quals(items: list[Any], out: list[Any]) -> None:
    for item in items:
        if "JoinExpr" in item:
            j = item["JoinExpr"]
            out += _conjuncts(j.get("quals"))
            _join_quals([j["larg"], j["rarg"]], out)


def _only_one_aggregate(body: dict[str, Any], alias: str, scope: frozenset[str]) -> bool:
    conds = _conjuncts(body.get("whereClause"))
    _join_quals(body.get("fromClause") or [], conds)
    if any(_reads(c, alias) == {alias} and not _pin(c, scope) for c in conds):
        return False  # a condition of its own
    for clause in ("groupClause", "sortClause", "havingClause", "distinctClause"):
        if alias in _reads(body.get(clause), alias):
            return False
    outs = [t for t in body.get("targetList") or [] if alias in _reads(t, alias)]
    return len(outs) == 1 and alias not in _reads(outs[0], alias, outside_aggregates=True)


def _read_somewhere(corpus: Combinations, raster: str) -> bool:
    return any(r == raster for r, _ in corpus.raster_at)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="cimgen generate output folders")
    ap.add_argument("--corpus", type=Path, default=BUNDLED, help="Stage 1 JSONL (.gz)")
    ap.add_argument("--schema", default="cim_wizard", help="a bundled name or a DDL file")
    args = ap.parse_args()
    schema = load_schema(args.schema)
    corpus = learn_corpus(schema, _records(args.corpus)).combinations()
    total = sum(corpus.subjects.values())
    fillers = sum(bool(filler_joins(r.sql, _scope_names(schema))) for r in _records(args.corpus))
    print(
        f"corpus {args.corpus}: {corpus.records} queries, {len(corpus.pairs)} pairs, "
        f"{len(corpus.groups)} group keys, {len(corpus.aggregates)} aggregates, "
        f"filler_join {fillers} ({100 * fillers / max(corpus.records, 1):.1f} %)"
    )
    for run in args.runs:
        counts: Counter[str] = Counter()
        subjects: Counter[str] = Counter()
        rows = 0
        for rec in _records(run / "dataset.jsonl"):
            rows += 1
            found, subject = unseen(schema, rec, corpus)
            counts.update(found)
            subjects[subject] += 1
        tvd = 0.5 * sum(
            abs(subjects[t] / max(rows, 1) - corpus.subject(t) / max(total, 1))
            for t in set(subjects) | set(corpus.subjects)
        )
        shares = ", ".join(f"{k} {v} ({100 * v / max(rows, 1):.1f} %)" for k, v in counts.items())
        print(f"{run}: {rows} rows; {shares or 'none unseen'}; subjects' distance {tvd:.3f}")
        top = ", ".join(f"{t.split('.')[-1]} {n}" for t, n in subjects.most_common(8))
        print(f"  subjects: {top}")


if __name__ == "__main__":
    main()
