"""Benchmark expansion: fidelity, variety and speed on sampled structures.

Structures (``--structures``): ``gaussian_copula`` (default) fits
``cimgen.structure.fit_model(frame, "gaussian_copula", seed=0)`` on the features of the demo
corpus (``cimgen.corpus.load_demo_corpus()``, or ``--corpus FILE``) and samples ``--n``;
``perturb`` resamples and perturbs the corpus features (counts +-1, categorical features
redrawn, then made consistent) without a model. Prints structure fidelity over all
structures and over expanded ones (five counts re-extracted from the PostGIS SQL), findings
(errors) and relaxations (warnings) by code, secondary-feature exactness, distinct SQL %,
distinct query shapes % (pglast fingerprint) and queries/s for expand + render (PostGIS,
DuckDB, SpatiaLite) + question, per CPU second (one core) and per wall second, with the
load average.

    python benchmarks/bench_expand.py [--n 10000] [--seed 0] [--structures perturb]
"""

from __future__ import annotations

import argparse
import os
import random
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

from pglast.parser import fingerprint

from cimgen.check import fidelity
from cimgen.codes import EXP001, EXP009
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


GENUINE = (EXP001, EXP009)  # the schema / structure cannot realise the counts
# the complexity check's secondary features, less sql_type (a label the expander may relax)
SECONDARY = tuple(name for name in fidelity.SECONDARY if name != "sql_type")


def load_structures(args: argparse.Namespace, records: list, schema: object) -> list:
    pairs = list(iter_features(records, schema))  # type: ignore[arg-type]
    if args.structures == "perturb":
        feats = [f for _, f in pairs]
        rng = random.Random(args.seed)
        return [perturb(rng.choice(feats), rng) for _ in range(args.n)]
    from cimgen.features import features_frame
    from cimgen.structure import fit_model

    model = fit_model(features_frame(pairs), args.structures, seed=args.seed, progress=False)
    return model.sample(args.n, seed=args.seed, progress=False).structures()


def default_corpus() -> Path:
    try:
        from cimgen.corpus import load_demo_corpus

        return load_demo_corpus()
    except (ImportError, FileNotFoundError):
        return SAMPLE


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--corpus", type=Path, default=None)
    ap.add_argument(
        "--structures", default="gaussian_copula", help="perturb | gaussian_copula | ctgan | ..."
    )
    args = ap.parse_args()
    corpus = args.corpus or default_corpus()
    schema = load_schema("cim_wizard")
    records = list(read_stage1(corpus))
    ctx = ExpansionContext.for_fixture(schema, records)
    structures = load_structures(args, records, schema)
    rng = random.Random(args.seed)

    load0 = os.getloadavg()[0]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    results = [make_candidate(s, ctx, rng, i) for i, s in enumerate(structures)]
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    load1 = os.getloadavg()[0]
    cands = [r for r in results if isinstance(r, Candidate)]
    errors = Counter(r.findings[0].code for r in results if not isinstance(r, Candidate))
    relaxed = Counter(c.findings[0].code for c in cands if c.findings)
    genuine = sum(v for k, v in errors.items() if k in GENUINE)

    exact = secondary = 0
    per_count: Counter[str] = Counter()
    for c in cands:
        got = extract_features(c.sql_postgis, schema)
        mm = c.structure.mismatches(got, FIDELITY_COUNTS)
        exact += not mm
        per_count.update(mm.keys())  # the names of the differing counts
        secondary += not c.structure.mismatches(got, SECONDARY)
    sqls = {c.sql_postgis for c in cands}
    shapes = {fingerprint(c.sql_postgis) for c in cands}
    n, n_ok = len(structures), len(cands) or 1
    print(f"corpus                {corpus} ({len(records)} records)")
    print(f"structures            {n} ({args.structures}, seed {args.seed})")
    print(
        f"expanded              {len(cands)} ({100 * len(cands) / n:.2f} %); "
        f"findings {dict(sorted(errors.items()))} (genuine {genuine})"
    )
    print(
        f"relaxed (warnings)    {sum(relaxed.values())} ({100 * sum(relaxed.values()) / n:.2f} %)"
        f" {dict(sorted(relaxed.items()))}"
    )
    print(
        f"fidelity (5 counts)   {100 * exact / n:.2f} % of all, {100 * exact / n_ok:.2f} % of "
        f"expanded, {100 * exact / max(1, n - genuine):.2f} % of realisable; "
        f"mismatches {dict(per_count)}"
    )
    print(
        f"secondary exact       {100 * secondary / n_ok:.2f} % of expanded ({', '.join(SECONDARY)})"
    )
    print(f"distinct SQL          {100 * len(sqls) / n_ok:.2f} %")
    print(f"distinct shapes       {100 * len(shapes) / n_ok:.2f} % (pglast fingerprint)")
    print(
        f"throughput            {n / cpu:.0f} structures/CPU-s ({1000 * cpu / n:.2f} ms each; "
        f"expand + 3 renders + question, 1 core); {n / wall:.0f}/s wall; "
        f"load average {load0:.1f} -> {load1:.1f}"
    )


if __name__ == "__main__":
    main()
