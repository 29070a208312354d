"""A visible fit: per-epoch progress of the neural synthesizers, on a terminal or not.

ctgan (CTGAN, TVAE, and CopulaGAN through CTGAN) wraps its epoch loop in a module-level
``tqdm``; for the duration of a fit it is swapped for a small shim that drives our own
display. On a terminal that is a rich bar with the epoch count, times and the losses ctgan
writes into the description. Elsewhere (a log file, CI, a pipe) a live bar prints nothing
until it ends, so the shim prints one plain line every 5 % of the epochs instead. Before
the first epoch SDV fits its data transformers (seconds to tens of seconds for CTGAN's
mode-specific normalisation), shown as "preparing the data".
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterable, Iterator, Sized
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from cimgen.structure.synthesizers import NEURAL

PLAIN_STEPS = 20  # plain lines per fit: one every 5 % of the epochs


class _EpochBar:
    """Stands in for the ``tqdm`` that ctgan wraps its epoch loop in: iterates the epochs,
    advances a rich bar and shows the losses ctgan writes into the description."""

    def __init__(self, progress: Progress, label: str, preparing: TaskID | None) -> None:
        self._progress, self._label, self._preparing = progress, label, preparing
        self._task: TaskID | None = None
        self._iterable: Iterable[Any] = ()

    def __call__(self, iterable: Iterable[Any], *args: Any, **kwargs: Any) -> _EpochBar:
        self._iterable = iterable
        if self._preparing is not None:  # SDV's transformers are fitted: epochs start
            self._progress.remove_task(self._preparing)
            self._preparing = None
        total = len(iterable) if isinstance(iterable, Sized) else None
        self._task = self._progress.add_task(self._label, total=total, losses="")
        return self

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterable:
            yield item
            self._progress.advance(self._task)  # type: ignore[arg-type]

    def set_description(self, text: str, *args: Any, **kwargs: Any) -> None:
        if self._task is not None:
            self._progress.update(self._task, losses=text)

    def close(self) -> None:
        """tqdm API; nothing to release."""


class _PlainEpochs:
    """The same shim for output that is not a terminal: a line each time another
    1/PLAIN_STEPS of the epochs is done (every epoch when there are fewer), with the
    elapsed time, a naive estimate of the time left and the latest losses."""

    def __init__(self, console: Console, label: str) -> None:
        self._console, self._label = console, label
        self._iterable: Iterable[Any] = ()
        self._total = 0
        self._losses = ""

    def __call__(self, iterable: Iterable[Any], *args: Any, **kwargs: Any) -> _PlainEpochs:
        self._iterable = iterable
        self._total = len(iterable) if isinstance(iterable, Sized) else 0
        return self

    def __iter__(self) -> Iterator[Any]:
        started = time.perf_counter()
        done = 0
        for item in self._iterable:
            yield item
            done += 1
            if self._total and done * PLAIN_STEPS // self._total == (
                (done - 1) * PLAIN_STEPS // self._total
            ):
                continue
            elapsed = time.perf_counter() - started
            line = f"{self._label}: epoch {done}/{self._total or '?'}"
            if self._total:
                left = elapsed / done * (self._total - done)
                line += f" ({100 * done // self._total} %), {elapsed:.1f} s, ~{left:.0f} s left"
            else:
                line += f", {elapsed:.1f} s"
            if self._losses:
                line += f", {self._losses}"
            self._console.print(line, markup=False, highlight=False, soft_wrap=True)

    def set_description(self, text: str, *args: Any, **kwargs: Any) -> None:
        self._losses = text

    def close(self) -> None:
        """tqdm API; nothing to release."""


@contextlib.contextmanager
def fit_progress(name: str, enabled: bool, console: Console | None = None) -> Iterator[None]:
    """Show per-epoch progress while ``name`` fits (module docstring); GaussianCopula, which
    has no epochs, gets a running bar on a terminal and a start and an end line elsewhere."""
    if not enabled:
        yield
        return
    import ctgan.synthesizers.ctgan as ctgan_module
    import ctgan.synthesizers.tvae as tvae_module

    console = console or Console(stderr=True)
    label = f"fitting {name}"
    shim: _EpochBar | _PlainEpochs
    display: contextlib.AbstractContextManager[Any]
    if console.is_terminal:
        progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} epochs" if name in NEURAL else ""),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[losses]}"),
            console=console,
            transient=False,
        )
        if name in NEURAL:
            preparing = progress.add_task(f"{label}: preparing the data", total=None, losses="")
            shim, display = _EpochBar(progress, label, preparing), progress
        else:
            progress.add_task(label, total=None, losses="")
            shim, display = _EpochBar(progress, label, None), progress
    else:
        shim, display = _PlainEpochs(console, label), contextlib.nullcontext()
        first = f"{label}: preparing the data (SDV transformers)…" if name in NEURAL else label
        console.print(first, markup=False, highlight=False)
    saved = (ctgan_module.tqdm, tvae_module.tqdm)
    ctgan_module.tqdm = shim
    tvae_module.tqdm = shim
    started = time.perf_counter()
    try:
        with display:
            yield
    finally:
        ctgan_module.tqdm, tvae_module.tqdm = saved
    if not console.is_terminal:
        console.print(
            f"{label}: done in {time.perf_counter() - started:.1f} s",
            markup=False,
            highlight=False,
        )
