"""Render speed: the 59 Stage 1 samples PostgreSQL accepts, parsed once, rendered repeatedly.

    python benchmarks/bench_render.py [--repeat 50]

Prints microseconds per query for each backend and for all three together, over the sample
and for one medium query (cim_006271: two CTEs, three joins, a cross join, GROUP BY/HAVING).
Figures go to docs/BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import pglast

from cimgen import ast
from cimgen.grammar import parse
from cimgen.io import read_jsonl
from cimgen.render import render_all, render_duckdb, render_postgis, render_spatialite
from cimgen.schema.load import load_schema

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "mission" / "stage1_sample.jsonl"
MEDIUM = "cim_006271"


def _valid_samples() -> dict[str, ast.Query]:
    out = {}
    for record in read_jsonl(SAMPLE):
        try:
            pglast.parse_sql(record["sql_postgis"])
        except pglast.parser.ParseError:
            continue
        out[record["id"]] = parse(record["sql_postgis"])
    return out


def _per_query_us(
    fn: Callable[[ast.Query], object], queries: list[ast.Query], repeat: int
) -> float:
    t0 = time.perf_counter()
    for _ in range(repeat):
        for q in queries:
            fn(q)
    return (time.perf_counter() - t0) / (repeat * len(queries)) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=50)
    args = ap.parse_args()
    samples = _valid_samples()
    schema = load_schema("cim_wizard")
    backends: dict[str, Callable[[ast.Query], object]] = {
        "postgis": render_postgis,
        "duckdb": lambda q: render_duckdb(q, schema),
        "spatialite": lambda q: render_spatialite(q, schema),
        "all three": lambda q: render_all(q, schema),
    }
    print(f"{'backend':12s} {'sample mean (us)':>17s} {MEDIUM + ' (us)':>18s}")
    for name, fn in backends.items():
        mean = _per_query_us(fn, list(samples.values()), args.repeat)
        medium = _per_query_us(fn, [samples[MEDIUM]], args.repeat * 20)
        print(f"{name:12s} {mean:17.1f} {medium:18.1f}")


if __name__ == "__main__":
    main()
