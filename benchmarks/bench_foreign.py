"""DDL-only mode on a world cimgen did not make (issue 14): how often do generated queries
return rows on the user's database when cimgen only saw its DDL file and Stage 1 corpus?

    python benchmarks/bench_foreign.py --dsn postgresql://postgres@127.0.0.1:PORT/postgres \
        [--rows 240] [--seed 3] [--keep DIR]

Builds the foreign Turin world (tests/foreign/build_world.py) in a scratch database of the
server ``--dsn`` names (``cimgen db up --dir D`` prints one), runs the corpus's own queries
there (the target share), generates ``--rows`` rows with GaussianCopula from
``tests/foreign/deployed.sql`` + ``tests/foreign/stage1.jsonl`` (no live database: the
embedded fixture stands in for it), executes every accepted row on the foreign PostGIS and
prints the shares and, for each empty row, the predicate that empties it.

The cause of an empty row is found by taking its predicates away one at a time (each WHERE
/ HAVING / ON conjunct of each query block, and LIMIT/OFFSET): the first whose removal
gives rows names the cause, classified by what it compares (a point or box, a distance, an
id or category literal, a numeric threshold, a HAVING count, a join condition). A row that
no single removal fills is "several / structure".
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg
from pglast import ast, parse_sql
from pglast.stream import RawStream
from rich.console import Console

from cimgen.generate import GenerateOptions, run_generate
from cimgen.io import read_jsonl

ROOT = Path(__file__).resolve().parents[1]
FOREIGN = ROOT / "tests" / "foreign"
DDL = FOREIGN / "deployed.sql"
CORPUS = FOREIGN / "stage1.jsonl"


def _rows(conn: psycopg.Connection[Any], sql: str) -> int | None:
    try:
        return len(conn.execute(sql).fetchall())
    except psycopg.Error:
        conn.rollback()
        return None


def _failure(conn: psycopg.Connection[Any], sql: str) -> str:
    """Why ``sql`` did not execute (the error's first line) and its planner cost: the
    EXPLAIN top line's total cost, which is what makes a statement time out."""
    try:
        conn.execute(sql).fetchall()
        return "ran on retry"
    except psycopg.Error as e:
        conn.rollback()
        why = str(e).splitlines()[0][:90]
    try:
        plan = conn.execute(f"EXPLAIN {sql}").fetchone()
        cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", str(plan[0] if plan else ""))
        why += f"; EXPLAIN total cost {float(cost.group(1)):,.0f}" if cost else ""
    except psycopg.Error:
        conn.rollback()
    return why


def _conjuncts(node: Any) -> list[Any]:
    if isinstance(node, ast.BoolExpr) and node.boolop == 0:  # AND_EXPR
        return [c for a in node.args for c in _conjuncts(a)]
    return [node]


def _and(parts: list[Any]) -> Any:
    if not parts:
        return None
    if len(parts) == 1:
        return parts[0]
    return ast.BoolExpr(boolop=0, args=tuple(parts))


def _selects(node: Any, out: list[Any]) -> None:
    """Every SelectStmt under ``node`` (CTEs, subqueries, set operations)."""
    if isinstance(node, ast.SelectStmt):
        out.append(node)
    if isinstance(node, ast.Node):
        for name in node:
            _selects(getattr(node, name), out)
    elif isinstance(node, tuple):
        for v in node:
            _selects(v, out)


def _joins(node: Any, out: list[Any]) -> None:
    if isinstance(node, ast.JoinExpr) and node.quals is not None:
        out.append(node)
    if isinstance(node, ast.Node):
        for name in node:
            _joins(getattr(node, name), out)
    elif isinstance(node, tuple):
        for v in node:
            _joins(v, out)


def _text(node: Any) -> str:
    try:
        return RawStream()(node)
    except Exception:
        return repr(node)[:120]


def _variants(sql: str) -> list[tuple[str, str, str]]:
    """(where, predicate text, sql without it) for each removable predicate of ``sql``."""
    out: list[tuple[str, str, str]] = []
    base = parse_sql(sql)[0].stmt
    n_sel: list[Any] = []
    _selects(base, n_sel)
    for i in range(len(n_sel)):
        for clause in ("whereClause", "havingClause"):
            tree = copy.deepcopy(base)
            sel: list[Any] = []
            _selects(tree, sel)
            parts = _conjuncts(getattr(sel[i], clause))
            if getattr(sel[i], clause) is None:
                continue
            for k in range(len(parts)):
                t2 = copy.deepcopy(base)
                s2: list[Any] = []
                _selects(t2, s2)
                p2 = _conjuncts(getattr(s2[i], clause))
                setattr(s2[i], clause, _and(p2[:k] + p2[k + 1 :]))
                where = "having" if clause == "havingClause" else "where"
                out.append((where, _text(parts[k]), RawStream()(t2)))
        for clause in ("limitOffset",):
            if getattr(n_sel[i], clause) is not None:
                t2 = copy.deepcopy(base)
                s2 = []
                _selects(t2, s2)
                setattr(s2[i], clause, None)
                out.append(("offset", "OFFSET", RawStream()(t2)))
    joins: list[Any] = []
    _joins(base, joins)
    for j in range(len(joins)):
        parts = _conjuncts(joins[j].quals)
        for k in range(len(parts)):
            t2 = copy.deepcopy(base)
            j2: list[Any] = []
            _joins(t2, j2)
            p2 = _conjuncts(j2[j].quals)
            rest = _and(p2[:k] + p2[k + 1 :])
            if rest is None:
                rest = ast.A_Const(isnull=False, val=ast.Boolean(boolval=True))
            j2[j].quals = rest
            out.append(("on", _text(parts[k]), RawStream()(t2)))
    return out


_POINT = re.compile(r"st_makepoint|st_point\b|st_makeenvelope|st_geomfromtext", re.I)
_DIST = re.compile(r"st_dwithin|st_buffer|st_distance", re.I)
_ID = re.compile(r"(project_id|scenario_id|building_id|_id|sez\w*|census_id)\b\s*(=|IN)", re.I)


def classify(where: str, pred: str) -> str:
    """What kind of literal or predicate ``pred`` is (the cause of an empty result)."""
    if where == "offset":
        return "offset beyond the rows"
    if where == "having":
        return "HAVING threshold"
    if where == "on":
        return "join condition (spatial)" if re.search(r"st_", pred, re.I) else "join condition"
    if _DIST.search(pred) and re.search(r"\d", pred):
        return "place: point/box + distance" if _POINT.search(pred) else "distance threshold"
    if _POINT.search(pred):
        return "place: point/box"
    if re.search(r"st_", pred, re.I):
        return "spatial predicate (no literal)"
    if re.search(r"\bIN\s*\(\s*SELECT|EXISTS|= \(SELECT|\(SELECT", pred, re.I):
        return "subquery predicate"
    if _ID.search(pred) and "'" in pred:
        return "id literal"
    if "'" in pred:
        return "category / text literal"
    if re.search(r"\bIS (NOT )?NULL\b", pred, re.I):
        return "NULL test"
    if re.search(r"[<>]=?\s*-?\d|BETWEEN", pred, re.I):
        return "numeric threshold / range"
    if re.search(r"=\s*-?\d", pred):
        return "numeric equality"
    return "other predicate"


def cause(conn: psycopg.Connection[Any], sql: str) -> tuple[str, str]:
    try:
        variants = _variants(sql)
    except Exception as e:
        return "unparsed", str(e)[:80]
    for where, pred, other in variants:
        n = _rows(conn, other)
        if n:
            return classify(where, pred), pred
    return "several / structure", ""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dsn", required=True, help="a PostGIS server (cimgen db up prints one)")
    ap.add_argument("--rows", type=int, default=240)
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--keep", type=Path, help="keep the generated output here")
    ap.add_argument("--examples", type=int, default=2, help="empty rows shown per cause")
    args = ap.parse_args()

    sys.path.insert(0, str(FOREIGN))
    import build_world  # type: ignore[import-not-found]

    name = f"cimgen_foreign_{uuid.uuid4().hex[:8]}"
    base = args.dsn.split("?")[0].rsplit("/", 1)[0]
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"{base}/{name}"
    try:
        build_world.build(dsn)
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("SET default_transaction_read_only = on")
            conn.execute("SET statement_timeout = 10000")
            corpus = [r["sql_postgis"] for r in read_jsonl(CORPUS)]
            cc = [_rows(conn, q) for q in corpus]
            c_ok = sum(1 for n in cc if n)
            print(
                f"corpus: {len(corpus)} queries, {sum(n is not None for n in cc)} execute, "
                f"{c_ok} non-empty = {100 * c_ok / len(corpus):.1f} % (the target)"
            )
            out = args.keep or Path(tempfile.mkdtemp(prefix="bench-foreign.")) / "out"
            t = time.perf_counter()
            opts = GenerateOptions(
                out=out,
                stage1=CORPUS,
                schema=str(DDL),
                rows=args.rows,
                synthesizer="gaussian_copula",
                workers=1,
                seed=args.seed,
                progress=False,
                report=False,
                overwrite=True,
            )
            result = run_generate(opts, Console(quiet=True))
            gen_s = time.perf_counter() - t
            rows = read_jsonl(out / "dataset.jsonl")
            counts = [_rows(conn, str(r["sql_postgis"])) for r in rows]
            ran = [n for n in counts if n is not None]
            full = sum(1 for n in ran if n > 0)
            print(
                f"generated: {len(rows)} accepted (complete={result.complete}, {gen_s:.0f} s), "
                f"{len(ran)} execute = {100 * len(ran) / len(rows):.1f} %, "
                f"{full} non-empty = {100 * full / len(rows):.1f} % of accepted, "
                f"{100 * full / max(1, len(ran)):.1f} % of executed"
            )
            for r, n in zip(rows, counts, strict=True):
                if n is None:
                    sql = str(r["sql_postgis"])
                    print(f"\nFAILED {r['sql_type']}: {_failure(conn, sql)}\n  {sql}")
            causes: Counter[str] = Counter()
            shown: dict[str, list[str]] = {}
            for r, n in zip(rows, counts, strict=True):
                if n == 0:
                    kind, pred = cause(conn, str(r["sql_postgis"]))
                    causes[kind] += 1
                    shown.setdefault(kind, []).append(f"{r['sql_type']}: {pred[:160]}")
            print("\nempty rows by cause (the first predicate whose removal gives rows):")
            print("| cause | rows |\n|---|---:|")
            for kind, k in causes.most_common():
                print(f"| {kind} | {k} |")
            for kind, _ in causes.most_common():
                for ex in shown[kind][: args.examples]:
                    print(f"  {kind}: {ex}")
    finally:
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
