"""Files on disk: atomic output (write to a temp file beside the target, then rename), and
the JSON Lines reader that goes with :func:`write_jsonl`.

A crash or Ctrl-C never leaves a half-written output file behind.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from cimgen.errors import InputError


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temp path in the target's folder; rename it onto ``target`` on success."""
    target = Path(target)
    if target.is_dir():
        raise InputError(f"{target}: is a folder. Give a file name.")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise InputError(
            f"{target}: cannot write here ({exc.strerror or exc}). "
            "Check the path and its permissions."
        ) from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs are ordinary files
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def make_public_dir(path: Path) -> None:
    """Give a folder made by mkdtemp (0700) the usual permissions."""
    os.chmod(path, 0o777 & ~_umask())


@contextlib.contextmanager
def atomic_text(target: str | Path) -> Iterator[IO[str]]:
    """Open a text file for writing that appears at ``target`` only when complete."""
    with atomic_path(target) as tmp, tmp.open("w", encoding="utf-8", newline="\n") as fh:
        yield fh


def write_jsonl(target: str | Path, rows: Iterable[dict[str, Any]]) -> int:
    """Write rows as JSON Lines (keys in insertion order, UTF-8); returns the row count."""
    n = 0
    with atomic_text(target) as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False, default=str))
            fh.write("\n")
            n += 1
    return n


def read_jsonl(source: str | Path) -> list[dict[str, Any]]:
    """The rows of a JSON Lines file (``.gz``: gzip-compressed), blank lines skipped: what
    :func:`write_jsonl` writes (``dataset.jsonl``, ``rejected.jsonl``) or a Stage 1 corpus."""
    path = Path(source)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write_json(target: str | Path, data: Any) -> None:
    with atomic_text(target) as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")


def write_table(frame: Any, target: str | Path) -> None:
    """Write a pandas DataFrame as CSV or Parquet, chosen by the file extension."""
    target = Path(target)
    suffix = target.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise InputError(
            f"{target}: unknown output format {suffix or '(none)'!r}. "
            "Use a .csv or .parquet file name."
        )
    with atomic_path(target) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)


def read_table(source: str | Path) -> Any:
    """Read a CSV or Parquet table written by :func:`write_table`."""
    import pandas as pd

    source = Path(source)
    if not source.is_file():
        raise InputError(f"{source}: file not found. Check the path.")
    suffix = source.suffix.lower()
    if suffix == ".csv":
        return pd.read_csv(source)
    if suffix == ".parquet":
        return pd.read_parquet(source)
    raise InputError(f"{source}: unknown table format {suffix!r}. Use .csv or .parquet.")


def file_sha256(path: str | Path) -> str:
    """The sha256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def remove_tree(path: Path) -> None:
    """Rename ``path`` aside (it disappears at once for readers), then delete it; a path
    already gone (a concurrent clear or refresh) is fine."""
    aside = path.with_name(f".old-{path.name[:8]}-{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    shutil.rmtree(aside, ignore_errors=True)
