"""``cimgen cache list|clear``: the fitted structure models kept for reuse.

Everything else is :mod:`cimgen.structure.cache`.
"""

from __future__ import annotations

import json
from datetime import UTC

import typer
from rich.markup import escape
from rich.table import Table

from cimgen.errors import InputError


def register(app: typer.Typer) -> None:
    group = typer.Typer(
        help="Fitted structure models kept for reuse by `cimgen generate` (docs/generate.md).",
        no_args_is_help=True,
    )
    group.command("list")(list_entries)
    group.command("clear")(clear)
    app.add_typer(group, name="cache")


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def list_entries(
    fmt: str = typer.Option("table", "--format", help="table or json."),
) -> None:
    """List the cached models: key, synthesizer (and device when not cpu), epochs, training
    rows, seed, size and creation date."""
    from cimgen.cli.main import out
    from cimgen.paths import REBUILT, cache_root, rebuilt_files
    from cimgen.structure import cache

    if fmt not in ("table", "json"):
        raise InputError(f"--format {fmt!r}: use table or json.")
    entries = cache.list_entries()
    if fmt == "json":
        out.print_json(json.dumps([e.to_dict() for e in entries]))
        return
    out.print(
        f"cached structure models in {cache.models_dir()}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    table = Table(box=None, pad_edge=False, header_style="bold")
    for name in ("key", "synthesizer", "epochs", "rows", "seed", "size", "created (UTC)"):
        right = name in ("epochs", "rows", "seed", "size")
        table.add_column(name, justify="right" if right else "left", no_wrap=True)
    for e in entries:
        table.add_row(
            e.key[:10],
            escape(e.synthesizer if e.device in (None, "cpu") else f"{e.synthesizer}, {e.device}"),
            "" if e.epochs is None else str(e.epochs),
            "" if e.rows is None else str(e.rows),
            "" if e.seed is None else str(e.seed),
            _size(e.size_bytes),
            e.created.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
            style="yellow" if e.problem else None,
        )
    out.print(table)
    total = sum(e.size_bytes for e in entries)
    out.print(f"{len(entries)} model(s), {_size(total)}", markup=False, highlight=False)
    for e in entries:
        if e.problem:
            out.print(
                f"{e.key[:10]}: {e.problem}; it is refitted when its key comes up "
                f"(`cimgen cache clear {e.key[:10]}` removes it)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    from cimgen.generate.corpus_cache import corpus_dir

    corpora = [p for p in corpus_dir().glob("*") if p.is_dir() and not p.name.startswith(".")]
    if corpora:
        size = _size(sum(f.stat().st_size for p in corpora for f in p.iterdir() if f.is_file()))
        out.print(
            f"also {len(corpora)} corpus entry(ies) (facts, plantings), {size}, in "
            f"{corpus_dir()} (recomputed when missing; `cimgen cache clear` removes them)",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
    for name, files in rebuilt_files().items():
        if files:
            size = _size(sum(p.stat().st_size for p in files))
            out.print(
                f"also {len(files)} {REBUILT[name][1]}, {size}, in {cache_root() / name} "
                "(rebuilt when missing; `cimgen cache clear` removes them)",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )


def clear(
    key: str | None = typer.Argument(
        None, help="A key or unique key prefix (from `cimgen cache list`): remove only that entry."
    ),
    older_than: str | None = typer.Option(
        None, "--older-than", help="Remove only entries older than this: 30d, 12h, 45m."
    ),
) -> None:
    """Remove cached models: all of them, one key, or those older than --older-than."""
    from cimgen.cli.main import out
    from cimgen.structure import cache

    age = cache.parse_age(older_than) if older_than is not None else None
    removed = cache.clear(key=key, older_than=age)
    total = sum(e.size_bytes for e in removed)
    out.print(
        f"removed {len(removed)} model(s), {_size(total)}, from {cache.models_dir()}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
    if key is None and older_than is None:  # clearing everything: the corpus entries too
        from cimgen.generate import corpus_cache

        n = corpus_cache.clear()
        if n:
            out.print(
                f"removed {n} corpus entry(ies) from {corpus_cache.corpus_dir()}",
                markup=False,
                highlight=False,
            )
        from cimgen.paths import REBUILT, cache_root, rebuilt_files

        for name, files in rebuilt_files().items():
            for p in files:
                p.unlink(missing_ok=True)
            if files:
                out.print(
                    f"removed {len(files)} {REBUILT[name][1]} from {cache_root() / name}",
                    markup=False,
                    highlight=False,
                )
