"""Run corpus queries on a PostGIS database filled by ``cimgen db init``.

One connection, one READ ONLY transaction, a statement timeout, and a savepoint per
query, so a failing query is recorded and the run goes on. Used by tests/test_corpus.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class QueryOutcome:
    id: str
    template_id: str
    rows: int  # -1 when the query failed
    seconds: float
    error: str | None = None


def execute_records(
    dsn: str,
    records: Iterable[dict[str, Any]],
    timeout_ms: int = 5000,
    explain: bool = True,
    progress: Callable[[int], None] | None = None,
) -> list[QueryOutcome]:
    """EXPLAIN (optionally) and execute each record's ``sql_postgis``; count result rows."""
    import psycopg

    out: list[QueryOutcome] = []
    with psycopg.connect(dsn) as conn:
        conn.execute(f"SET statement_timeout = {int(timeout_ms)}")
        conn.execute("BEGIN READ ONLY")
        with conn.cursor() as cur:
            for rec in records:
                sql = rec["sql_postgis"].rstrip().rstrip(";")
                start = time.perf_counter()
                cur.execute("SAVEPOINT q")
                try:
                    if explain:
                        cur.execute("EXPLAIN " + sql)
                    cur.execute(sql)
                    rows = len(cur.fetchall())
                    error = None
                    cur.execute("RELEASE SAVEPOINT q")
                except psycopg.Error as exc:
                    rows, error = -1, str(exc).strip().splitlines()[0]
                    cur.execute("ROLLBACK TO SAVEPOINT q")
                out.append(
                    QueryOutcome(
                        rec["id"],
                        rec.get("template_id", ""),
                        rows,
                        time.perf_counter() - start,
                        error,
                    )
                )
                if progress:
                    progress(1)
        conn.rollback()
    return out
