"""How the expander's attempts end, and what each kind costs (issue 16).

``cimgen.expand.expand`` tries up to 14 plans per structure: a plan is built
(``Builder.build``), then passed through the post-attempt steps, any of which may refuse it
(a ``BuildError``), and a complete attempt is kept unless it fits the structure exactly.
This benchmark wraps the builder, every step of ``cimgen.expand.steps.STEPS`` and
``observe`` with ``time.process_time`` and, on structures captured by
``bench_work_stages.py capture``, prints per structure: the CPU of each step, how many
attempts ended in which way (refused by which step, or complete) with their CPU per
attempt, and the builder's refusal messages.
The outcome hash is ``bench_work_stages.py``'s, so runs of two code versions compare.

    python benchmarks/bench_attempts.py CAP.pkl [--n 1000]
"""

from __future__ import annotations

import argparse
import collections
import pickle
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_work_stages import work_all  # the same outcome hash (run from this folder's path)


class Meter:
    """CPU per step and per attempt; an attempt runs from one build to the next."""

    def __init__(self) -> None:
        self.step_cpu: collections.Counter[str] = collections.Counter()
        self.step_calls: collections.Counter[str] = collections.Counter()
        self.ended: collections.Counter[str] = collections.Counter()
        self.ended_cpu: collections.Counter[str] = collections.Counter()
        self.build_refusals: collections.Counter[str] = collections.Counter()
        self.started: float | None = None
        self.refused_by: str | None = None

    def close(self, last: bool = False) -> None:
        if self.started is None:
            return
        if self.refused_by is not None:
            kind = f"refused by {self.refused_by}"
        else:
            kind = "complete, the last" if last else "complete, not an exact fit"
        self.ended[kind] += 1
        self.ended_cpu[kind] += time.process_time() - self.started
        self.started, self.refused_by = None, None

    def timed(self, name: str, f: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.process_time()
            try:
                return f(*args, **kwargs)
            except Exception as exc:
                self.refused_by = name
                if name == "Builder.build":
                    self.build_refusals[str(exc)[:70]] += 1
                raise
            finally:
                self.step_cpu[name] += time.process_time() - t
                self.step_calls[name] += 1

        return wrapper


def run(path: Path, n: int) -> None:
    import cimgen.expand as expand
    from cimgen.expand import steps
    from cimgen.expand.build import Builder
    from cimgen.expand.context import ExpansionContext
    from cimgen.generate import work

    m = Meter()
    steps.STEPS = tuple(m.timed(s.__name__, s) for s in steps.STEPS)
    expand.observe = m.timed("observe", expand.observe)  # type: ignore[assignment]
    build, refusal, whole = Builder.build, ExpansionContext.refusal, expand.expand

    def timed_build(self: Any) -> Any:
        m.close()
        m.started = time.process_time()
        return m.timed("Builder.build", build)(self)

    def timed_refusal(self: Any, query: Any) -> Any:
        got = m.timed("ctx.refusal", refusal)(self, query)
        if got is not None:
            m.refused_by = "ctx.refusal"
        return got

    def timed_expand(*args: Any, **kwargs: Any) -> Any:
        t = time.process_time()
        try:
            return whole(*args, **kwargs)
        finally:
            m.close(last=True)
            m.step_cpu["expand (all attempts)"] += time.process_time() - t

    Builder.build = timed_build  # type: ignore[method-assign]
    ExpansionContext.refusal = timed_refusal  # type: ignore[method-assign]
    expand.expand = timed_expand  # type: ignore[assignment]

    got = pickle.loads(path.read_bytes())
    work.init_worker(got["spec"])
    items = got["items"][:n]
    t0 = time.process_time()
    digest = work_all(items)
    total = time.process_time() - t0
    work.close_worker()
    k = len(items)
    print(f"{k} structures: CPU {1000 * total / k:.2f} ms each, outcomes sha256 {digest}")
    print("step                          ms per structure  calls per structure")
    for name, s in m.step_cpu.most_common():
        print(f"  {name:28s} {1000 * s / k:8.2f}  {m.step_calls[name] / k:8.2f}")
    print("attempts ended               per structure  ms per attempt  ms per structure")
    for kind, c in m.ended.most_common():
        cpu = m.ended_cpu[kind]
        print(f"  {kind:34s} {c / k:6.2f}  {1000 * cpu / c:8.2f}  {1000 * cpu / k:8.2f}")
    print("refusals inside Builder.build, per structure")
    for why, c in m.build_refusals.most_common(12):
        print(f"  {c / k:5.2f}  {why}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path", type=Path)
    parser.add_argument("--n", type=int, default=sys.maxsize)
    args = parser.parse_args()
    run(args.path, args.n)


if __name__ == "__main__":
    main()
