"""Benchmark expansion: fidelity, variety and speed on sampled structures.

Structures: no trained structure model is required -- the features of the Stage 1 sample
are resampled and perturbed (counts +-1, categorical features redrawn, then made
consistent). Prints structure fidelity (five counts re-extracted from the PostGIS SQL),
distinct SQL %, distinct query shapes % (pglast fingerprint) and queries/s for expand +
render (PostGIS, DuckDB, SpatiaLite) + question.

    python benchmarks/bench_expand.py [--n 10000] [--seed 0]
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from pglast.parser import fingerprint

from cimgen.expand import ExpansionContext, make_candidate
from cimgen.features import extract_features, iter_features
from cimgen.ingest import read_stage1
from cimgen.models import (
    AGGREGATIONS,
    FIDELITY_COUNTS,
    ORDER_LIMITS,
    Candidate,
    QueryFeatures,
)
from cimgen.schema.load import load_schema

SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "mission" / "stage1_sample.jsonl"
CATS = ("predicates", "measurements", "processing", "accessors", "constructors", "transforms")


def perturb(f: QueryFeatures, rng: random.Random) -> QueryFeatures:
    def jiggle(v: int, lo: int = 0) -> int:
        return max(lo, v + rng.choice((-1, 0, 0, 1)))

    # tables and joins move together, as they do in real queries
    dt = rng.choice((-1, 0, 0, 1)) if f.table_count > 1 else rng.choice((0, 0, 1))
    s = replace(
        f,
        cte_count=min(3, jiggle(f.cte_count)),
        subquery_count=min(3, jiggle(f.subquery_count)),
        join_count=max(0, f.join_count + dt),
        table_count=f.table_count + dt,
        schema_count=f.schema_count + (dt if dt < 0 or rng.random() < 0.3 else 0),
        spatial_function_count=jiggle(f.spatial_function_count),
        predicate_count=jiggle(f.predicate_count),
        order_limit=rng.choice(ORDER_LIMITS) if rng.random() < 0.3 else f.order_limit,
        aggregation=rng.choice(AGGREGATIONS) if rng.random() < 0.2 else f.aggregation,
        set_operation=rng.choice(("UNION", "UNION_ALL"))
        if rng.random() < 0.05
        else f.set_operation,
        has_window=f.has_window or rng.random() < 0.05,
    )
    return make_consistent(s, rng)


def make_consistent(s: QueryFeatures, rng: random.Random) -> QueryFeatures:
    t = s.sql_type
    joins = min(s.join_count, s.table_count + s.cte_count + s.subquery_count - 1)
    if t == "MULTI_JOIN":
        joins = max(joins, 2)
    if t == "SPATIAL_JOIN":
        joins = max(joins, 1)
    n = s.spatial_function_count
    if t in ("SPATIAL_JOIN", "SPATIAL_MEASUREMENT", "RASTER_VECTOR", "SPATIAL_CLUSTERING"):
        n = max(n, 1)
    cat = s.primary_function_category
    if n == 0:
        cat = "none"
    elif cat == "none":
        cat = rng.choice(CATS)
    tables = max(s.table_count, 1)
    return replace(
        s,
        join_count=joins,
        spatial_function_count=n,
        primary_function_category=cat,
        table_count=tables,
        schema_count=max(1, min(s.schema_count, tables)),
        cte_count=s.cte_count if t != "NESTED_QUERY" or s.cte_count + s.subquery_count else 1,
        aggregation="GROUP_BY" if t == "AGGREGATION" and s.aggregation == "NONE" else s.aggregation,
        has_window=s.has_window or t == "SPATIAL_CLUSTERING",
        set_operation=s.set_operation
        if s.set_operation in ("NONE", "UNION", "UNION_ALL")
        else "NONE",
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=SAMPLE)
    args = ap.parse_args()
    schema = load_schema("cim_wizard")
    records = list(read_stage1(args.corpus))
    ctx = ExpansionContext.build(schema, records)
    feats = [f for _, f in iter_features(records, schema)]
    rng = random.Random(args.seed)
    structures = [perturb(rng.choice(feats), rng) for _ in range(args.n)]

    start = time.perf_counter()
    results = [make_candidate(s, ctx, rng, i) for i, s in enumerate(structures)]
    elapsed = time.perf_counter() - start
    cands = [r for r in results if isinstance(r, Candidate)]
    codes = Counter(r.findings[0].code for r in results if not isinstance(r, Candidate))

    exact = 0
    per_count: Counter[str] = Counter()
    for c in cands:
        got = extract_features(c.sql_postgis, schema)
        mm = c.structure.mismatches(got, FIDELITY_COUNTS)
        exact += not mm
        per_count.update(mm)
    sqls = {c.sql_postgis for c in cands}
    shapes = {fingerprint(c.sql_postgis) for c in cands}
    n_ok = len(cands) or 1
    print(f"structures            {args.n} (Stage 1 sample features, resampled + perturbed)")
    print(
        f"expanded              {len(cands)} ({100 * len(cands) / args.n:.1f} %); "
        f"findings {dict(sorted(codes.items()))}"
    )
    print(
        f"fidelity (5 counts)   {100 * exact / n_ok:.2f} % of expanded, "
        f"{100 * exact / args.n:.2f} % of all; mismatches {dict(per_count)}"
    )
    print(f"distinct SQL          {100 * len(sqls) / n_ok:.2f} %")
    print(f"distinct shapes       {100 * len(shapes) / n_ok:.2f} % (pglast fingerprint)")
    print(
        f"throughput            {args.n / elapsed:.0f} structures/s "
        f"({len(cands) / elapsed:.0f} candidates/s; expand + 3 renders + question, 1 core)"
    )


if __name__ == "__main__":
    main()
