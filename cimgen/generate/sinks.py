"""Streaming output of ``cimgen generate``: records go to disk as they are decided, so the
driver's memory does not grow with the row count (docs/scale.md).

* ``dataset.jsonl`` / ``rejected.jsonl`` are appended line by line (the same bytes
  :func:`cimgen.io.write_jsonl` writes) inside the run's temporary folder, which is renamed
  onto ``--out`` only when the run ends, so nothing half-written ever appears there.
* ``dataset.parquet`` is ``dataset.jsonl`` flattened (``quality.score``, ``structure.cte_count``,
  …), every column a string, null where a row lacks the field. Its columns are the union of
  the rows' fields, known only at the end, so it is written after the run from
  ``dataset.jsonl`` in batches through a pyarrow ``ParquetWriter``.
* ``structures.parquet`` (every sampled structure) is written block by block as the
  structure model samples them.

Batch sizes are constants, never the number of workers, so the files are byte-identical for
any executor and worker count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

from cimgen.io import atomic_path
from cimgen.models import QueryFeatures

PARQUET_BATCH = 5_000  # rows per record batch of dataset.parquet


def flatten(record: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(dotted field, value)`` of a record in ``pandas.json_normalize``'s column order:
    the top level's plain fields first, then its objects flattened depth first (``a.b``);
    an empty object gives no field.

    >>> list(flatten({"a": 1, "b": {"c": None, "x": {"y": 2}, "d": [1]}, "e": 3, "f": {}}))
    [('a', 1), ('e', 3), ('b.c', None), ('b.x.y', 2), ('b.d', [1])]
    """
    for key, value in record.items():
        if not isinstance(value, dict):
            yield key, value
    for key, value in record.items():
        if isinstance(value, dict):
            yield from _nested(value, f"{key}.")


def _nested(record: dict[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in record.items():
        if isinstance(value, dict):
            yield from _nested(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


class RecordSink:
    """``dataset.jsonl`` and ``rejected.jsonl`` in ``folder``, one line per decided record."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._stack = ExitStack()
        self._files: dict[str, IO[str]] = {}
        for name in ("dataset", "rejected"):
            path = self._stack.enter_context(atomic_path(folder / f"{name}.jsonl"))
            self._files[name] = self._stack.enter_context(
                path.open("w", encoding="utf-8", newline="\n")
            )
        self.columns: dict[str, None] = {}  # dataset.parquet's columns, in first-seen order
        self.accepted = 0
        self.rejected = 0

    def accept(self, record: dict[str, Any]) -> None:
        self._write("dataset", record)
        for name, _ in flatten(record):
            if name not in self.columns:
                self.columns[name] = None
        self.accepted += 1

    def reject(self, record: dict[str, Any]) -> None:
        self._write("rejected", record)
        self.rejected += 1

    def _write(self, name: str, record: dict[str, Any]) -> None:
        fh = self._files[name]
        fh.write(json.dumps(record, ensure_ascii=False, default=str))
        fh.write("\n")

    def close(self) -> None:
        """Finish both files (renamed into place inside the temporary folder)."""
        self._stack.close()

    def abort(self) -> None:
        """Drop both files (an exception is on its way up)."""
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def write_parquet(self, target: Path | None = None) -> None:
        """``dataset.parquet`` from the finished ``dataset.jsonl``, a batch at a time."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = list(self.columns)
        schema = pa.schema([(c, pa.string()) for c in columns])
        target = target or self.folder / "dataset.parquet"
        with atomic_path(target) as tmp, pq.ParquetWriter(tmp, schema) as writer:
            for batch in _batches(self.folder / "dataset.jsonl", PARQUET_BATCH):
                data: dict[str, list[str | None]] = {c: [None] * len(batch) for c in columns}
                for i, record in enumerate(batch):
                    for name, value in flatten(record):
                        data[name][i] = _text(value)
                writer.write_table(pa.Table.from_pydict(data, schema=schema))


def _batches(path: Path, size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            batch.append(json.loads(line))
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


def _structure_schema() -> Any:
    import pyarrow as pa

    kinds = {int: pa.int64(), str: pa.string(), bool: pa.bool_()}
    return pa.schema(
        [(f.name, kinds[type(f.default)]) for f in fields(QueryFeatures)]  # defaults give types
    )


class StructureSink:
    """``structures.parquet``: the sampled structures, one row group per sampled block."""

    def __init__(self, target: Path) -> None:
        import pyarrow.parquet as pq

        self._stack = ExitStack()
        self._schema = _structure_schema()
        tmp = self._stack.enter_context(atomic_path(target))
        self._writer = self._stack.enter_context(pq.ParquetWriter(tmp, self._schema))
        self.count = 0

    def write(self, structures: Iterable[QueryFeatures]) -> None:
        import pyarrow as pa

        rows = [s.to_dict() for s in structures]
        if rows:
            self._writer.write_table(pa.Table.from_pylist(rows, schema=self._schema))
            self.count += len(rows)

    def close(self) -> None:
        self._stack.close()

    def abort(self) -> None:
        self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)
