"""Where the per-structure work of ``cimgen generate`` runs: the executor seam.

An executor maps chunks of ``(index, structure)`` pairs to lists of
:class:`~cimgen.generate.work.Outcome` and yields them **in chunk order**, whatever order the
workers finish in. The driver (``pipeline.py``) decides diversity, the empty-share budget and
the score in that order, so the output does not depend on the executor or the worker count.

* ``local`` (default): in-process for one worker, else a ``multiprocessing`` pool on this
  machine.
* ``ray``: one Ray actor per worker (``--workers``), on a local Ray instance or the cluster
  at ``--ray-address``. Each actor opens its grammar, DuckDB (and SpatiaLite) check
  database and PostGIS connection once, before its first chunk. An actor that dies mid-chunk
  is restarted and the chunk retried by Ray itself (``max_restarts``/``max_task_retries``); a
  chunk that still fails ends the run with what it has (:class:`ChunkFailed`). Ray is an
  optional extra (``pip install 'cimgen[ray]'``).

Executors bound the work in flight (a few chunks per worker): a run stops as soon as N
samples are accepted, and results waiting for an earlier slow chunk must not pile up in
the driver's memory.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from cimgen.errors import CimgenError, ConfigError, DatabaseError
from cimgen.generate.work import Outcome, WorkerSpec, close_worker, init_worker, work_chunk
from cimgen.models import QueryFeatures

Chunk = list[tuple[int, QueryFeatures]]
MapChunks = Callable[[Sequence[Chunk]], Iterator[list[Outcome]]]

RAY_EXTRA = "pip install 'cimgen[ray]'"
TRIES = 3  # Ray's tries of one chunk: the first and two retries (a restarted actor each time)
IN_FLIGHT_PER_WORKER = 2  # chunks submitted ahead per worker


class ChunkFailed(CimgenError):
    """A chunk of structures failed on every try; the run ends with what it has (the
    pipeline catches it: complete = false, exit 1)."""

    exit_code = 1

    def __init__(self, first_index: int, last_index: int, tries: int, cause: str) -> None:
        self.first_index, self.last_index, self.tries = first_index, last_index, tries
        self.cause = cause.strip().splitlines()[-1] if cause.strip() else "unknown error"
        super().__init__(
            f"structures {first_index}-{last_index} failed {tries} time(s) ({self.cause})"
        )


@contextmanager
def open_executor(
    name: str, workers: int, spec: WorkerSpec, ray_address: str | None = None
) -> Iterator[MapChunks]:
    """The executor ``name`` with ``workers`` workers initialised from ``spec``."""
    if name == "ray":
        with _ray(workers, spec, ray_address) as run:
            yield run
    else:
        with _local(workers, spec) as run:
            yield run


def _failed(chunk: Chunk, tries: int, exc: BaseException) -> ChunkFailed:
    first, last = (chunk[0][0], chunk[-1][0]) if chunk else (-1, -1)
    return ChunkFailed(first, last, tries, f"{type(exc).__name__}: {exc}")


@contextmanager
def _local(workers: int, spec: WorkerSpec) -> Iterator[MapChunks]:
    """In-process (one worker) or a process pool; a chunk that raises ends the run."""
    if workers <= 1:
        init_worker(spec)
        try:

            def run_here(chunks: Sequence[Chunk]) -> Iterator[list[Outcome]]:
                for chunk in chunks:
                    try:
                        outcomes = work_chunk(chunk)
                    except Exception as exc:
                        raise _failed(chunk, 1, exc) from exc
                    yield outcomes

            yield run_here
        finally:
            close_worker()
        return
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(workers, initializer=init_worker, initargs=(spec,)) as pool:

        def run_pool(chunks: Sequence[Chunk]) -> Iterator[list[Outcome]]:
            results = pool.imap(work_chunk, chunks)
            for chunk in chunks:
                try:
                    outcomes = next(results)
                except Exception as exc:
                    raise _failed(chunk, 1, exc) from exc
                yield outcomes

        yield run_pool


def ray_module() -> Any:
    """The ``ray`` package, or a one-line error naming the extra that installs it."""
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"--executor ray needs Ray, which is not installed. Install the extra: {RAY_EXTRA}"
        ) from None
    return ray


class _Worker:
    """A Ray actor: one worker's engines, opened once per process.

    The spec comes with each call as ``[object ref]`` (a reference, not a copy) and the
    engines open on the first call, so an actor Ray restarts opens them again on the retried
    chunk; constructor arguments in the object store would make Ray warn about restarts."""

    def __init__(self) -> None:
        self._ready = False

    def _open(self, spec: list[Any]) -> None:
        if not self._ready:
            import ray

            init_worker(ray.get(spec[0]))
            self._ready = True

    def start(self, spec: list[Any]) -> str:
        """Open the engines now (a failure surfaces before any chunk); the cimgen version."""
        from cimgen import __version__

        self._open(spec)
        return __version__

    def work(self, spec: list[Any], chunk: Chunk) -> list[Outcome]:
        self._open(spec)
        return work_chunk(chunk)


@contextmanager
def _ray(workers: int, spec: WorkerSpec, address: str | None) -> Iterator[MapChunks]:
    ray = ray_module()
    # nothing at run time may reach the internet: Ray's usage statistics stay off
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    started = not ray.is_initialized()
    if started:
        _ray_init(ray, workers, address)
    actors: list[Any] = []
    try:
        cpus = int(ray.cluster_resources().get("CPU", 0))
        if cpus < workers:
            raise ConfigError(
                f"--workers {workers}: the Ray cluster has {cpus} CPU(s). "
                f"Use --workers {max(1, cpus)} or add nodes."
            )
        remote = ray.remote(num_cpus=1, max_restarts=TRIES - 1, max_task_retries=TRIES - 1)(_Worker)
        shared = [ray.put(spec)]  # once in the object store, not once per actor or chunk
        actors = [remote.remote() for _ in range(workers)]
        _same_version(ray, actors, shared)
        yield lambda chunks: _ray_map(ray, actors, shared, chunks)
    finally:
        for actor in actors:
            with contextlib.suppress(Exception):  # already dead
                ray.kill(actor, no_restart=True)
        if started:
            ray.shutdown()


def _ray_init(ray: Any, workers: int, address: str | None) -> None:
    import logging

    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "logging_level": logging.ERROR,
        "log_to_driver": False,
        "configure_logging": True,
    }
    try:
        if address:
            ray.init(address=address, **kwargs)
        else:  # a local instance on this machine, one CPU per worker
            ray.init(num_cpus=workers, **kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = address or "a local Ray instance"
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseError(
            f"--ray-address {where}: cannot connect ({first}). Check the address "
            "(ray://HOST:10001 or HOST:6379) and that `ray start --head` runs there."
            if address
            else f"cannot start {where} ({first})."
        ) from None


def _same_version(ray: Any, actors: list[Any], spec: list[Any]) -> None:
    """Every worker must run this cimgen version (a cluster node with another install
    would generate other rows); waiting for the answer also surfaces a failing init."""
    from cimgen import __version__

    try:
        versions = set(ray.get([a.start.remote(spec) for a in actors]))
    except Exception as exc:  # the actor's __init__ raised: say why, in one line
        cause = str(getattr(exc, "cause", None) or exc).strip().splitlines()
        raise DatabaseError(
            f"a Ray worker could not start ({cause[-1] if cause else type(exc).__name__})."
        ) from None
    if versions != {__version__}:
        raise ConfigError(
            f"Ray workers run cimgen {', '.join(sorted(versions))}, this driver {__version__}. "
            "Install the same cimgen version on every node."
        )


def _ray_map(
    ray: Any, actors: list[Any], spec: list[Any], chunks: Sequence[Chunk]
) -> Iterator[list[Outcome]]:
    """Chunks to the least busy actors, results in chunk order. Each actor has up to
    IN_FLIGHT_PER_WORKER chunks queued (no idle gap while the driver sends the next), and
    no chunk is sent further than that many per worker past the next one to yield."""
    busy = [0] * len(actors)  # chunks queued per actor
    pending: dict[Any, tuple[int, int]] = {}  # object ref -> (chunk number, actor number)
    done: dict[int, list[Outcome]] = {}
    window = IN_FLIGHT_PER_WORKER * len(actors)
    submitted = yielded = 0
    # the first chunk that failed for good: raised once every chunk before it is yielded
    # (the run ends with all it decided before that chunk, however the chunks finished)
    failure: tuple[int, ChunkFailed] | None = None
    try:
        while yielded < len(chunks):
            limit = len(chunks) if failure is None else failure[0]
            while submitted < limit and submitted - yielded < window:
                k = min(range(len(actors)), key=busy.__getitem__)
                if busy[k] >= IN_FLIGHT_PER_WORKER:
                    break
                # retry_exceptions: a chunk that raises is tried again too (a dropped
                # connection); an actor that dies is restarted and the chunk retried
                work = actors[k].work.options(retry_exceptions=True)
                pending[work.remote(spec, chunks[submitted])] = (submitted, k)
                busy[k] += 1
                submitted += 1
            if yielded in done:
                yield done.pop(yielded)
                yielded += 1
                continue
            if failure is not None and yielded == failure[0]:
                raise failure[1]
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                number, k = pending.pop(ref)
                busy[k] -= 1
                try:
                    done[number] = ray.get(ref)
                except Exception as exc:  # Ray tried it TRIES times already
                    if failure is None or number < failure[0]:
                        failure = (number, _failed(chunks[number], TRIES, _cause(exc)))
    finally:  # stopped early (enough rows, Ctrl-C, a failed chunk): drop the rest
        for ref in pending:
            with contextlib.suppress(Exception):  # already finished, or the actor is gone
                ray.cancel(ref)


def _cause(exc: BaseException) -> BaseException:
    """The worker's own exception inside Ray's wrapper, when there is one."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
