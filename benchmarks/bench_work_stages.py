"""Where the CPU of one generated row goes, without a profiler's distortion.

cProfile makes pure-Python parts (the expander, the AST walks) look several times dearer
than DuckDB's native work; this benchmark times each stage of the per-structure work
(:func:`cimgen.generate.work.work_one`) with ``time.process_time`` wrappers instead, on
structures captured from a real ``cimgen generate`` run (its worker spec: schema, expansion
context, planted fixture), and prints a hash of every outcome so two code versions can be
compared for identical results (issue 16).

    python benchmarks/bench_work_stages.py capture CAP.pkl [--rows 400] [--seed 3]
        [--synthesizer ctgan]  # with a cached model: the default job's structures
    python benchmarks/bench_work_stages.py stages CAP.pkl [--n 1000]
    python benchmarks/bench_work_stages.py memo CAP.pkl [--remember 0]  # the DuckDB memo

``capture`` runs ``cimgen generate --synthesizer gaussian_copula --workers 1`` into a
temporary folder (the model and corpus caches of the user's cache folder are used).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import hashlib
import pickle
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def capture(out: Path, rows: int, seed: int, synthesizer: str) -> None:
    import cimgen.generate.executors as ex
    from cimgen.cli import main

    got: dict[str, Any] = {"items": []}
    init, chunk = ex.init_worker, ex.work_chunk

    def spy_init(spec: Any) -> None:
        got["spec"] = spec
        init(spec)

    def spy_chunk(items: list[Any]) -> Any:
        got["items"].extend(items)
        return chunk(items)

    ex.init_worker, ex.work_chunk = spy_init, spy_chunk  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as tmp:
        argv = ["generate", "--synthesizer", synthesizer, "--rows", str(rows)]
        argv += ["--seed", str(seed), "--workers", "1", "--out", str(Path(tmp) / "out")]
        with contextlib.suppress(SystemExit):
            main(argv)
    out.write_bytes(pickle.dumps(got))
    print(f"captured {len(got['items'])} structures to {out}")


def work_all(items: list[Any]) -> str:
    """Run ``work_one`` on the captured ``(index, structure)`` items (after ``init_worker``)
    and return a hash of every outcome: candidate, findings, engine results, features."""
    from cimgen.generate import work

    h = hashlib.sha256()
    for index, structure in items:
        o = work.work_one(index, structure)
        engines = sorted(
            (k, v.status, v.rows, v.digest, v.repeats, v.constant) for k, v in o.engines.items()
        )
        findings = [(f.code, f.severity, f.message) for f in o.findings]
        h.update(repr((o.index, o.candidate, findings, engines, o.fingerprint)).encode())
        h.update(repr(o.features).encode())
    return h.hexdigest()[:16]


def stages(path: Path, n: int) -> None:
    import cimgen.check as checks
    import cimgen.expand as expand
    import cimgen.render as render
    from cimgen.check import execute
    from cimgen.generate import work

    spent: collections.Counter[str] = collections.Counter()

    def timed(name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return f(*args, **kwargs)
            finally:
                spent[name] += time.process_time() - t

        return wrapper

    checks.CHECKS = tuple((name, timed(f"check {name}", f)) for name, f in checks.CHECKS)
    expand.expand = timed("expand (every attempt)", expand.expand)  # type: ignore[assignment]
    render.render_all = timed("render (3 dialects)", render.render_all)  # type: ignore[assignment]
    expand._describe = timed("question", expand._describe)  # type: ignore[assignment]
    execute.DuckDBRunner.run = timed("  of it DuckDBRunner.run", execute.DuckDBRunner.run)  # type: ignore[method-assign]

    got = pickle.loads(path.read_bytes())
    work.init_worker(got["spec"])
    items = got["items"][:n]
    t0, w0 = time.process_time(), time.perf_counter()
    digest = work_all(items)
    total = time.process_time() - t0
    work.close_worker()
    print(
        f"{len(items)} structures: CPU {total:.2f} s ({1000 * total / len(items):.2f} ms each), "
        f"wall {time.perf_counter() - w0:.1f} s, outcomes sha256 {digest}"
    )
    for name, s in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:32s} {s:7.2f} s {100 * s / total:5.1f} % {1000 * s / len(items):6.2f} ms")


def memo(path: Path, n: int, remember: int) -> None:
    """The captured structures in one worker whose DuckDB runner keeps ``remember``
    answers (``work.REMEMBERED``; 0: none): CPU, the memo's hits and the outcomes hash,
    which must be the same for any ``remember`` (issue 14, fifteenth pass). Run each
    setting in its own process, side by side: a second worker in one process would find
    the first one's clustering labels kept by the DuckDB instance."""
    import os

    from cimgen.generate import work

    got = pickle.loads(path.read_bytes())
    items = got["items"][:n]
    work.REMEMBERED = remember
    work.init_worker(got["spec"])
    t0 = time.process_time()
    digest = work_all(items)
    total = time.process_time() - t0
    hits = work._STATE["checks"].duckdb.memo.hits
    work.close_worker()
    print(
        f"remember {remember}: {len(items)} structures, CPU {total:.2f} s "
        f"({1000 * total / len(items):.2f} ms each), {hits} answers from memory, "
        f"outcomes sha256 {digest}, load {os.getloadavg()[0]:.1f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=("capture", "stages", "memo"))
    parser.add_argument("path", type=Path)
    parser.add_argument("--rows", type=int, default=400)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--n", type=int, default=sys.maxsize)
    parser.add_argument("--synthesizer", default="gaussian_copula")
    parser.add_argument("--remember", type=int, default=20_000, help="memo mode: answers kept")
    args = parser.parse_args()
    if args.mode == "capture":
        capture(args.path, args.rows, args.seed, args.synthesizer)
    elif args.mode == "memo":
        memo(args.path, args.n, args.remember)
    else:
        stages(args.path, args.n)


if __name__ == "__main__":
    main()
