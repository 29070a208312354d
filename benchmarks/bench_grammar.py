"""Grammar parse speed: the 59 Stage 1 samples PostgreSQL accepts, parsed repeatedly.

    python benchmarks/bench_grammar.py [--repeat 20]

Prints queries/s for parse (text -> AST) and for parse + bind (against
cim_wizard_deployed). Figures go to docs/BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pglast

from cimgen.grammar import bind, parse
from cimgen.grammar.parse import parser
from cimgen.io import read_jsonl
from cimgen.schema.load import load_schema

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "mission" / "stage1_sample.jsonl"


def _valid_samples() -> list[str]:
    out = []
    for record in read_jsonl(SAMPLE):
        sql = record["sql_postgis"]
        try:
            pglast.parse_sql(sql)
        except pglast.parser.ParseError:
            continue
        out.append(sql)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=20)
    args = ap.parse_args()
    queries = _valid_samples()
    t0 = time.perf_counter()
    parser()
    build = time.perf_counter() - t0
    schema = load_schema("cim_wizard_deployed")
    n = len(queries) * args.repeat
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for q in queries:
            parse(q)
    parse_s = time.perf_counter() - t0
    trees = [parse(q) for q in queries]
    t0 = time.perf_counter()
    for _ in range(args.repeat):
        for tree in trees:
            bind(tree, schema)
    bind_s = time.perf_counter() - t0
    chars = sum(len(q) for q in queries) / len(queries)
    print(f"grammar build: {build * 1000:.0f} ms (once per process)")
    print(
        f"parse: {n} queries (mean {chars:.0f} chars) in {parse_s:.2f} s = "
        f"{n / parse_s:,.0f} queries/s"
    )
    print(f"bind: {n} queries in {bind_s:.2f} s = {n / bind_s:,.0f} queries/s")
    print(f"parse+bind 100,000 queries: ~{100_000 * (parse_s + bind_s) / n / 60:.1f} min")


if __name__ == "__main__":
    main()
