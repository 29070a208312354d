"""Semantic checks by execution: DuckDB spatial (embedded), SpatiaLite (embedded) and
PostGIS (the gold check).

* ``SEM001`` DuckDB raised an error planning or executing the DuckDB rendering;
* ``SEM002`` not checkable in DuckDB (e.g. raster functions) -- info, never a pass;
* ``SEM003`` DuckDB planned the query without error but its execution ran past the time
  limit ("planned") -- an error: a query is not accepted unverified;
* ``PGS001`` PostGIS EXPLAIN failed (message carries the SQLSTATE);
* ``PGS002`` PostGIS execution failed (SQLSTATE);
* ``PGS003`` PostGIS statement timeout after a successful EXPLAIN ("planned") -- an error;
* ``SPL001`` SpatiaLite raised an error preparing or executing the SpatiaLite rendering;
* ``SPL002`` no SpatiaLite rendering (rasters, clustering windows);
* ``SPL003`` SpatiaLite's execution ran past the time limit ("planned").

The SPL findings are errors when SpatiaLite is the target dialect (``--dialect spatialite``:
every accepted row ran on SpatiaLite); with the default PostGIS dialect SpatiaLite is
executed for the record only (SPL001 / SPL003 warnings, SPL002 info) and does not gate
acceptance.

Every engine runs read-only: DuckDB and SpatiaLite open the fixture file read-only;
PostGIS runs every query inside ``BEGIN READ ONLY`` with ``SET LOCAL statement_timeout``
(and ``jit = off``) and rolls back. A query near the time limit makes the outcome depend
on the machine's load, hence on the run (docs/checks.md).
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from cimgen.check.base import (
    ERROR,
    NOT_CHECKABLE,
    OK,
    PLANNED,
    CheckContext,
    EngineResult,
    Subject,
)
from cimgen.check.result import arrow_profile, row_constant_columns, row_repeats
from cimgen.codes import (
    PGS001,
    PGS002,
    PGS003,
    RND001,
    SEM001,
    SEM002,
    SEM003,
    SPL001,
    SPL002,
    SPL003,
    finding,
)
from cimgen.engines.duckdb_cluster import take_clusterings
from cimgen.errors import CimgenError
from cimgen.models import Finding

_MAX_ROWS = 100_000  # rows fetched for the digest; more is counted but not summed


def digest(rows: list[tuple[Any, ...]]) -> tuple[Any, ...]:
    """Order-insensitive summary of a result: row count and per-column numeric sums."""
    if not rows:
        return (0,)
    sums: list[float | None] = []
    for col in range(len(rows[0])):
        total, numeric = 0.0, False
        for row in rows:
            value = row[col]
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, (int, float, Decimal)) and not (
                isinstance(value, float) and math.isnan(value)
            ):
                total += float(value)
                numeric = True
        sums.append(total if numeric else None)
    return (len(rows), *sums)


def arrow_digest(table: Any) -> tuple[Any, ...]:
    """:func:`digest` of an Arrow table (DuckDB hands results over as Arrow: no Python
    object per value). Numeric columns are integers, floats, decimals and booleans -- the
    types whose Python values :func:`digest` sums; NaN is left out as there."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if table.num_rows == 0:
        return (0,)
    sums: list[float | None] = []
    for column in table.columns:
        kind = column.type
        if pa.types.is_boolean(kind):
            column, kind = pc.cast(column, pa.int64()), pa.int64()
        if not (
            pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind)
        ):
            sums.append(None)
            continue
        if pa.types.is_floating(kind):
            column = pc.filter(column, pc.invert(pc.is_nan(column)))
        if column.null_count == len(column):  # no numeric value at all (also: none left)
            sums.append(None)
            continue
        if pa.types.is_decimal(kind) or pa.types.is_integer(kind):
            column = pc.cast(column, pa.float64())  # as digest: float(value), then summed
        total = pc.sum(column).as_py()
        sums.append(float(total) if total is not None else None)
    return (table.num_rows, *sums)


def agree(a: tuple[Any, ...] | None, b: tuple[Any, ...] | None, tolerance: float) -> bool:
    """Same row count and numeric column sums within a relative tolerance."""
    if a is None or b is None or a[0] != b[0] or len(a) != len(b):
        return False
    for x, y in zip(a[1:], b[1:], strict=True):
        if x is None or y is None:
            continue
        if abs(x - y) > tolerance * max(1.0, abs(x), abs(y)):
            return False
    return True


WALL_FACTOR = 5.0  # a DuckDB query is stopped after this many times its limit in wall time


class DuckDBRunner:
    """Executes DuckDB renderings on the embedded fixture database within a time limit; a
    query still running when it ends is interrupted and only planned ("planned").

    The limit counts the CPU time of this process (DuckDB runs a query in the calling
    thread with ``threads = 1``, as the workers set it), not wall time: on a shared box a
    self-join that needs 0.2 s of CPU took more than 2 s of wall time at load 15 and was
    rejected (SEM003) on one run and accepted on the next, so the rows depended on the
    load (issue 16). A query that waits instead of computing is still stopped after
    :data:`WALL_FACTOR` times the limit in wall time.

    The runner sets ``threads = 1`` on the connection it is given: the CPU-time limit
    assumes it, and on two threads DuckDB's result depends on the schedule (a float sum's
    last digits; which of two tied rows a LIMIT keeps), so ``cimgen bench`` gave another
    cross-engine agreement on a second run of the same seed under load (CI, stop 30)."""

    def __init__(self, connection: Any, timeout_s: float, remember: int = 0) -> None:
        connection.execute("SET threads = 1")
        self.con = connection
        self.timeout_s = timeout_s
        self.memo = ResultMemo(remember)
        self._lock = threading.Lock()
        self._running = False
        self._interrupted = False
        self._watchdog: _Watchdog | None = None
        self._started = (0.0, 0.0)  # (process CPU time, monotonic time) at the query's start

    def _interrupt(self) -> float | None:
        """Interrupt the running query when its CPU time (or wall cap) is spent; else the
        seconds of CPU left, for the watchdog to wait again."""
        with self._lock:  # never interrupt a query that is already finished (or the next)
            if not self._running:
                return None
            cpu0, wall0 = self._started
            left = self.timeout_s - (time.process_time() - cpu0)
            cap = self.timeout_s * WALL_FACTOR - (time.monotonic() - wall0)
            if left > 0.005 and cap > 0:
                return min(left, cap)
            self._interrupted = True
            self.con.interrupt()
            return None

    def run(self, sql: str, profile: bool = False) -> tuple[EngineResult, str | None]:
        """Execute; only a query stopped by the time limit is planned (EXPLAIN) instead,
        so an error is an error either way and the common case costs one statement.
        ``profile``: also record repeated rows and constant columns (result checks).

        A runner made with ``remember=N`` answers a query it ran among its last N distinct
        ones from memory (:class:`ResultMemo`)."""
        if not self.memo.size:
            return self._execute(sql, profile)
        key = self.memo.key(sql, profile)
        known = self.memo.get(key)
        if known is not None:
            return known
        answer = self._execute(sql, profile)
        self.memo.put(key, answer)
        return answer

    def _execute(self, sql: str, profile: bool) -> tuple[EngineResult, str | None]:
        if self._watchdog is None:
            self._watchdog = _Watchdog(self._interrupt)
        self._running, self._interrupted = True, False
        self._started = (time.process_time(), time.monotonic())
        timer = self._watchdog
        take_clusterings(self.con)  # a clustering logged by a query not run here
        timer.arm(self.timeout_s)
        try:
            # batches of _MAX_ROWS, not DuckDB's default 1,000,000: a result the digest
            # reads is still one Arrow chunk (the same sums), and a median query's fetch
            # costs ~0.1-0.3 ms less CPU (7-8 % of the DuckDB check, issue 16)
            table = self.con.execute(sql).to_arrow_table(_MAX_ROWS)
            count = table.num_rows
            summary = arrow_digest(table) if count <= _MAX_ROWS else (count,)
            result = EngineResult(OK, rows=count, digest=summary)
            result.clusters = take_clusterings(self.con)
            if profile:
                result.repeats, result.constant = arrow_profile(table)
            return result, None
        except Exception as exc:  # duckdb raises many error types; all are findings
            if not self._interrupted:
                return EngineResult(ERROR, reason=_first_line(exc)), _first_line(exc)
        finally:
            with self._lock:
                self._running = False
            timer.cancel()
        try:
            self.con.execute(f"EXPLAIN {sql}")
        except Exception as exc:
            return EngineResult(ERROR, reason=_first_line(exc)), _first_line(exc)
        why = f"execution exceeded {self.timeout_s:g} s"
        return EngineResult(PLANNED, reason=why), why


class ResultMemo:
    """The last ``size`` distinct answers of one runner, by a digest of the SQL text.

    Why: a generation worker meets the same SQL again and again -- 12 % of the default
    job's candidates are exact duplicates of an accepted row (DIV001), which the driver
    can only reject after the worker's checks, and their records carry the engine result,
    so the query must still have one. The fixture is read-only and DuckDB runs on one
    thread, so a query's answer is a function of its text (a query near the time limit
    was already load-dependent; here it keeps its first answer). Each hit returns a copy,
    so no two outcomes share a mutable result. ``size`` 0: remember nothing."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.hits = 0
        self._answers: OrderedDict[bytes, tuple[EngineResult, str | None]] = OrderedDict()

    def key(self, sql: str, profile: bool) -> bytes:
        kind = b"profiled" if profile else b"plain"
        return hashlib.blake2b(sql.encode(), digest_size=16, person=kind).digest()

    def get(self, key: bytes) -> tuple[EngineResult, str | None] | None:
        known = self._answers.get(key)
        if known is None:
            return None
        self._answers.move_to_end(key)
        self.hits += 1
        return replace(known[0]), known[1]

    def put(self, key: bytes, answer: tuple[EngineResult, str | None]) -> None:
        if self.size <= 0:
            return
        self._answers[key] = (replace(answer[0]), answer[1])
        if len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def __len__(self) -> int:
        return len(self._answers)


class _Watchdog:
    """One daemon thread per runner that calls ``interrupt`` when an armed deadline
    passes. A ``threading.Timer`` per query started a thread per query (~0.2 ms of CPU,
    a few percent of a median check); this thread waits on a condition instead. The
    runner's own lock still decides whether a query is running when the deadline fires,
    so a late wake-up never interrupts the next query."""

    def __init__(self, interrupt: Callable[[], float | None]) -> None:
        self._interrupt = interrupt
        self._cond = threading.Condition()
        self._deadline: float | None = None
        threading.Thread(target=self._loop, name="duckdb-watchdog", daemon=True).start()

    def arm(self, seconds: float) -> None:
        with self._cond:
            self._deadline = time.monotonic() + seconds
            self._cond.notify()

    def cancel(self) -> None:
        with self._cond:
            self._deadline = None

    def _loop(self) -> None:
        with self._cond:
            while True:
                if self._deadline is None:
                    self._cond.wait()
                    continue
                left = self._deadline - time.monotonic()
                if left > 0:
                    self._cond.wait(left)
                    continue
                self._deadline = None
                # takes the runner's lock; the runner never waits on this condition while
                # holding it (it cancels after releasing it). Seconds back: CPU time the
                # query has left, so wait again
                again = self._interrupt()
                if again is not None:
                    self._deadline = time.monotonic() + again


RENDER_DEFECT = f"the renderer failed ({RND001})"


def render_defect(backend: str, trace: str) -> Finding:
    """RND001: a renderer raised something other than ``Unsupported`` -- a bug of ours, so
    the query is rejected, never accepted as "not checkable"."""
    last = trace.strip().splitlines()[-1] if trace.strip() else "unknown error"
    return finding(RND001, f"{backend} renderer failed: {last[:300]}")


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]


def check_duckdb(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """SEM001-SEM003: execute the DuckDB rendering on the fixture database (RND001 when
    the renderer itself fails on a query that was not rendered before)."""
    runner: DuckDBRunner | None = ctx.duckdb
    if runner is None or not ctx.options.execute_duckdb:
        return []
    if subject.sql_duckdb is None and subject.duckdb_unsupported is None:
        if subject.query is None:
            return []
        from cimgen.render import render_duckdb

        rendered = render_duckdb(subject.query, ctx.schema)
        subject.sql_duckdb, subject.duckdb_unsupported = rendered.sql, rendered.unsupported
        if rendered.defect is not None:
            subject.engines["duckdb"] = EngineResult(NOT_CHECKABLE, reason=RENDER_DEFECT)
            return [render_defect("duckdb", rendered.defect)]
    if subject.sql_duckdb is None:
        reason = subject.duckdb_unsupported or "no DuckDB rendering"
        subject.engines["duckdb"] = EngineResult(NOT_CHECKABLE, reason=reason)
        return [finding(SEM002, f"not checkable in DuckDB: {reason}", "info")]
    result, error = runner.run(subject.sql_duckdb, profile=subject.structure is not None)
    subject.engines["duckdb"] = result
    if result.status == PLANNED:
        return [finding(SEM003, f"DuckDB planned it; {error}")]
    if result.status == ERROR:
        return [finding(SEM001, f"DuckDB: {error}")]
    return []


def _result(rows: list[Any], count: int, exact: bool, profile: bool) -> EngineResult:
    """An executed result from Python rows (PostGIS, SpatiaLite): the digest when every row
    was fetched, and the profile when asked."""
    result = EngineResult(OK, rows=count, digest=digest(rows) if exact else (count,))
    if profile:
        result.repeats = row_repeats(rows)
        result.constant = row_constant_columns(rows)
    return result


class PostgisRunner:
    """EXPLAINs and executes queries on PostGIS inside READ ONLY transactions."""

    def __init__(self, connection: Any, timeout_s: float, execute: bool = True) -> None:
        self.conn = connection
        self.timeout_ms = max(1, int(timeout_s * 1000))
        self.execute = execute

    def run(self, sql: str, profile: bool = False) -> tuple[EngineResult, Finding | None]:
        """EXPLAIN, then execute (unless EXPLAIN only); ``profile``: also record repeated
        rows and constant columns of the result (result checks)."""
        self._reset()
        try:
            result, found = self._run(sql, profile)
            if found is not None and found.code == PGS001 and result.sqlstate == "57014":
                # a statement-timeout cancel meant for the previous query can land on this
                # one's EXPLAIN (which takes milliseconds): run it once more
                self._reset()
                result, found = self._run(sql, profile)
            return result, found
        finally:
            self._reset()

    def _reset(self) -> None:
        """Leave no transaction open: a statement-timeout cancel that arrives as a query ends
        can cancel the ROLLBACK after it (seen once in a 50,000-query run), which left the
        connection in a failed transaction and failed every later check on it."""
        import psycopg
        from psycopg import pq

        for _ in range(3):
            if self.conn.info.transaction_status == pq.TransactionStatus.IDLE:
                return
            try:
                self.conn.execute("ROLLBACK")
            except psycopg.Error:
                continue

    def _run(self, sql: str, profile: bool) -> tuple[EngineResult, Finding | None]:
        import psycopg

        conn = self.conn
        stage = "explain"
        try:
            with conn.transaction():
                # one round trip; JIT off: compiling the expression-heavy plans of big
                # products took longer than running them (-40 % time on the slowest 600
                # queries of a generated set; results are the same)
                conn.execute(
                    "SET TRANSACTION READ ONLY; "
                    f"SET LOCAL statement_timeout = {self.timeout_ms}; SET LOCAL jit = off"
                )
                conn.execute(f"EXPLAIN {sql}")
                if not self.execute:
                    raise _Rollback(EngineResult(OK, reason="EXPLAIN only (--no-execute)"))
                stage = "execute"
                cursor = conn.execute(sql)
                rows = cursor.fetchmany(_MAX_ROWS)
                count = len(rows)
                while batch := cursor.fetchmany(_MAX_ROWS):
                    count += len(batch)
                exact = count == len(rows)
                raise _Rollback(_result(rows, count, exact, profile))
        except _Rollback as done:
            return done.result, None
        except psycopg.Error as exc:
            state = exc.sqlstate or "?"
            message = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            if state == "57014" and stage == "execute":
                return EngineResult(
                    PLANNED, sqlstate=state, reason="execution hit the statement timeout"
                ), finding(
                    PGS003,
                    f"PostGIS planned it; statement timeout [{state}]",
                )
            code = PGS001 if stage == "explain" else PGS002
            return EngineResult(ERROR, sqlstate=state, reason=message), finding(
                code, f"PostGIS {stage} failed [{state}]: {message}"
            )
        raise AssertionError("unreachable: the transaction block always raises")


class _Rollback(CimgenError):
    """Leaves the transaction block (rolling back) carrying the result."""

    def __init__(self, result: EngineResult) -> None:
        self.result = result


def check_postgis(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PGS001-PGS003: EXPLAIN (and execute) the PostGIS SQL read-only."""
    runner: PostgisRunner | None = ctx.postgis
    if runner is None:
        return []
    result, finding = runner.run(subject.sql, profile=subject.structure is not None)
    subject.engines["postgis"] = result
    return [finding] if finding else []


class SpatialiteRunner:
    """Executes SpatiaLite renderings on the read-only SpatiaLite fixture within a time
    limit: SQLite calls a progress handler every 1000 virtual-machine steps, which aborts
    the statement (SQLITE_INTERRUPT) once the limit is spent. A single long SQL function
    call (one GEOS operation) is not interrupted until it returns.

    Like :class:`DuckDBRunner`, the limit counts this process's CPU time (SQLite runs the
    statement in the calling thread), with a cap of :data:`WALL_FACTOR` times the limit in
    wall time: a wall-clock limit made a query of 6,208 rows "ok" on an idle box and
    "planned" (SPL003) under load, so two runs of one seed differed (the determinism test
    failed in three helpers' suites at load 10+)."""

    def __init__(self, connection: Any, timeout_s: float) -> None:
        self.conn = connection
        self.timeout_s = timeout_s
        # no deadline outside run() (parsing, EXPLAIN): (CPU deadline, wall deadline)
        self._deadline = (float("inf"), float("inf"))
        connection.set_progress_handler(self._expired, 1000)

    def _expired(self) -> bool:
        cpu, wall = self._deadline
        return time.process_time() > cpu or time.monotonic() > wall

    def run(self, sql: str, profile: bool = False) -> tuple[EngineResult, str | None]:
        """Execute; the statement is prepared first, so an error in it is an error either
        way. A query stopped at the limit is "planned" (prepared without error).
        ``profile``: also record repeated rows and constant columns (result checks)."""
        import apsw

        self._deadline = (
            time.process_time() + self.timeout_s,
            time.monotonic() + self.timeout_s * WALL_FACTOR,
        )
        try:
            rows = []
            count = 0
            for row in self.conn.execute(sql):
                count += 1
                if count <= _MAX_ROWS:
                    rows.append(row)
            exact = count == len(rows)
            return _result(rows, count, exact, profile), None
        except apsw.InterruptError:
            return EngineResult(PLANNED), f"execution exceeded {self.timeout_s:g} s"
        except apsw.Error as exc:
            return EngineResult(ERROR), _first_line(exc)
        finally:
            self._deadline = (float("inf"), float("inf"))

    def close(self) -> None:
        from cimgen.engines.spatialite import close

        close(self.conn)


def check_spatialite(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """SPL001-SPL003: execute the SpatiaLite rendering on the SpatiaLite fixture."""
    runner: SpatialiteRunner | None = ctx.spatialite
    if runner is None:
        return []
    primary = ctx.options.dialect == "spatialite"
    if subject.sql_spatialite is None and subject.spatialite_unsupported is None:
        if subject.query is None:
            return []
        from cimgen.render import render_spatialite

        rendered = render_spatialite(subject.query, ctx.schema)
        subject.sql_spatialite, subject.spatialite_unsupported = rendered.sql, rendered.unsupported
    if subject.sql_spatialite is None:
        subject.engines["spatialite"] = EngineResult(NOT_CHECKABLE)
        reason = subject.spatialite_unsupported or "no SpatiaLite rendering"
        severity = "error" if primary else "info"
        return [finding(SPL002, f"not checkable in SpatiaLite: {reason}", severity)]
    result, error = runner.run(subject.sql_spatialite, profile=subject.structure is not None)
    subject.engines["spatialite"] = result
    severity = "error" if primary else "warning"
    if result.status == PLANNED:
        return [finding(SPL003, f"SpatiaLite: {error}", severity)]
    if result.status == ERROR:
        return [finding(SPL001, f"SpatiaLite: {error}", severity)]
    return []
