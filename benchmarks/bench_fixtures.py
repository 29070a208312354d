"""Fixture build times: generation, DuckDB file, SpatiaLite file, PostGIS load.

    python benchmarks/bench_fixtures.py [--schema cim_wizard] [--dsn postgresql://...]

Builds into a fresh temporary cache (nothing cached is reused). PostGIS is timed only when
``--dsn`` (or CIMGEN_TEST_POSTGIS_DSN) names a server; a scratch database is created and
dropped. Figures go to docs/BENCHMARKS.md with the machine and date.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid

from cimgen.engines import duckdb as duck
from cimgen.engines import postgis, spatialite
from cimgen.fixtures import _generate
from cimgen.schema.load import load_schema


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", default="cim_wizard")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dsn", default=os.environ.get("CIMGEN_TEST_POSTGIS_DSN"))
    args = ap.parse_args()
    schema = load_schema(args.schema)

    t = time.perf_counter()
    fx = _generate(schema, args.seed)
    print(
        f"generate_fixture: {time.perf_counter() - t:.2f} s, "
        f"{sum(fx.row_counts().values())} rows in {len(fx.tables)} tables"
    )
    with tempfile.TemporaryDirectory() as cache:
        t = time.perf_counter()
        path = duck.fixture_database(schema, args.seed, cache_dir=cache)
        print(
            f"DuckDB file (incl. generation): {time.perf_counter() - t:.2f} s, "
            f"{path.stat().st_size / 1e6:.1f} MB"
        )
        t = time.perf_counter()
        duck.fixture_database(schema, args.seed, cache_dir=cache)
        con = duck.open_fixture(schema, args.seed, cache_dir=cache)
        print(f"DuckDB cached open: {(time.perf_counter() - t) * 1000:.0f} ms")
        con.close()
        t = time.perf_counter()
        path = spatialite.fixture_database(schema, args.seed, cache_dir=cache)
        print(
            f"SpatiaLite file: {time.perf_counter() - t:.2f} s, {path.stat().st_size / 1e6:.1f} MB"
        )
    if args.dsn:
        import psycopg
        from psycopg.conninfo import conninfo_to_dict, make_conninfo

        name = f"cimgen_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.dsn, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        params = conninfo_to_dict(args.dsn)
        params["dbname"] = name
        try:
            t = time.perf_counter()
            postgis.init_database(make_conninfo(**params), schema, args.seed)
            print(f"PostGIS init (extensions, DDL, COPY, ANALYZE): {time.perf_counter() - t:.2f} s")
        finally:
            with psycopg.connect(args.dsn, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
