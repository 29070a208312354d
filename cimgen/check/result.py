"""Result checks: a generated query judged by what it returns, on the engine whose result
counts (:func:`cimgen.check.base.counting_engine`: SpatiaLite for the SpatiaLite dialect,
PostGIS when it executed the query, else DuckDB).

* ``RES002`` the result repeats a row exactly: a join multiplies rows (LOD versions of a
  building, one row per scenario) that the SELECT list cannot tell apart;
* ``RES003`` the result (2+ rows) is ordered or ranked by an output that is the same on
  every row;
* ``RES004`` a window clustering makes every row noise (DBSCAN: no cluster at all) -- an
  empty answer in all but name (bad: ``ST_ClusterDBSCAN(g, eps := 5, minpoints := 9)`` over
  buildings 50 m apart; good: an eps that joins neighbours);
* ``RES005`` a window clustering puts every row of each partition into one cluster (an eps
  wider than the area, k-means over one distinct place): the labels tell no row apart;
* ``RES006`` a window clustering makes every row its own cluster (k-means asked for at
  least as many clusters as there are rows -- PostGIS caps k at the rows --, DBSCAN with
  ``minpoints := 1`` and an eps below every gap).

The engines only *profile* a result (repeated rows, constant columns, over its first
:data:`REPEAT_WINDOW` rows) when asked to -- for generated candidates, never for the
hand-written queries of ``cimgen validate`` -- so one check decides on one engine's result
instead of each engine deciding on its own (DuckDB's fixture is not the user's database).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from cimgen import ast
from cimgen.check.base import CheckContext, Subject, counting_engine
from cimgen.codes import RES002, RES003, RES004, RES005, RES006, finding
from cimgen.models import Finding

REPEAT_WINDOW = 2000  # rows of a result looked at for repeated rows and constant columns


def arrow_repeats(table: Any) -> int:
    """How many of the first :data:`REPEAT_WINDOW` rows of an Arrow table repeat an earlier
    row exactly (0 for none). Grouping by every column is done by Arrow; types it cannot
    group (nested raster structs) are compared as Python values.

    >>> import pyarrow as pa
    >>> arrow_repeats(pa.table({"a": [1, 1, 2], "b": ["x", "x", "y"]}))
    1
    >>> arrow_repeats(pa.table({"a": [1, 1], "b": ["x", "y"]}))
    0
    """
    head = table.slice(0, REPEAT_WINDOW)
    if head.num_rows < 2:
        return 0
    head = head.rename_columns([f"c{i}" for i in range(head.num_columns)])
    try:
        distinct = head.group_by(head.column_names).aggregate([]).num_rows
    except Exception:  # pyarrow cannot group some types; compare the values themselves
        values = [c.to_pylist() for c in head.columns]
        distinct = len({repr(row) for row in zip(*values, strict=True)})
    return int(head.num_rows - distinct)


def arrow_constant_columns(table: Any) -> tuple[int, ...]:
    """Columns holding one value (nulls included) on every one of the first
    :data:`REPEAT_WINDOW` rows, when there are at least two rows.

    >>> import pyarrow as pa
    >>> arrow_constant_columns(pa.table({"a": [1, 1], "b": ["x", "y"], "c": [2.5, 2.5]}))
    (0, 2)
    """
    head = table.slice(0, REPEAT_WINDOW)
    if head.num_rows < 2:
        return ()
    return tuple(i for i, n, _ in _distinct_counts(head) if n == 1)


def _distinct_counts(head: Any) -> Iterator[tuple[int, int, Any]]:
    """``(index, distinct values with nulls, column)`` of each column of ``head`` that Arrow
    can count (a nested raster struct cannot: not judged)."""
    import pyarrow.compute as pc

    for i, column in enumerate(head.columns):
        try:
            n = pc.count_distinct(column, mode="all").as_py()
        except Exception:  # a type Arrow cannot count (nested raster structs): not judged
            continue
        yield i, n, column


# Arrow types whose values are equal exactly when Arrow's hash kernels say so (no NaN, no
# -0.0): a column of one of them with a distinct value on every row proves that no row repeats
_EXACT = (
    "is_integer",
    "is_string",
    "is_large_string",
    "is_binary",
    "is_large_binary",
    "is_boolean",
    "is_date",
    "is_timestamp",
    "is_decimal",
)


def arrow_profile(table: Any) -> tuple[int, tuple[int, ...]]:
    """:func:`arrow_repeats` and :func:`arrow_constant_columns` of one result, sharing the
    per-column distinct counts: when a column of exact values (integers, text, ...) is
    distinct on every row of the window, no row can repeat, and the group-by over all
    columns (the dearest part of profiling a result: p50 0.28 ms of the 0.54 ms, issue 16)
    is not needed. The same answers as the two functions, by construction.

    >>> import pyarrow as pa
    >>> arrow_profile(pa.table({"a": [1, 2, 3], "b": ["x", "x", "x"]}))
    (0, (1,))
    >>> arrow_profile(pa.table({"a": [1.5, 1.5], "b": ["x", "x"]}))
    (1, (0, 1))
    """
    import pyarrow as pa

    head = table.slice(0, REPEAT_WINDOW)
    if head.num_rows < 2:
        return 0, ()
    constant, unique = [], False
    for i, n, column in _distinct_counts(head):
        if n == 1:
            constant.append(i)
        elif n == head.num_rows and any(getattr(pa.types, t)(column.type) for t in _EXACT):
            unique = True
    return (0 if unique else arrow_repeats(head)), tuple(constant)


def row_repeats(rows: Sequence[Sequence[Any]]) -> int:
    """:func:`arrow_repeats` of Python rows (PostGIS, SpatiaLite). Values are compared by
    ``repr`` so unhashable ones (arrays, JSON) and NaN compare as equal text.

    >>> row_repeats([(1, "x"), (1, "x"), (2, "y")])
    1
    >>> row_repeats([(float("nan"),), (float("nan"),)])
    1
    """
    head = rows[:REPEAT_WINDOW]
    if len(head) < 2:
        return 0
    return len(head) - len({repr(tuple(row)) for row in head})


def row_constant_columns(rows: Sequence[Sequence[Any]]) -> tuple[int, ...]:
    """:func:`arrow_constant_columns` of Python rows.

    >>> row_constant_columns([(1, "x", None), (1, "y", None)])
    (0, 2)
    """
    head = rows[:REPEAT_WINDOW]
    if len(head) < 2:
        return ()
    width = len(head[0])
    return tuple(i for i in range(width) if len({repr(row[i]) for row in head}) == 1)


def ordering_columns(query: ast.Query) -> set[int]:
    """Output positions (0-based) the query's result is ordered or ranked by: ORDER BY keys
    that are output columns (by alias, by position or by the same expression), and window
    ranking outputs (RANK, DENSE_RANK, ROW_NUMBER, NTILE, PERCENT_RANK)."""
    if not isinstance(query.body, ast.Select):
        return set()
    items = query.body.items
    aliases = {it.alias: i for i, it in enumerate(items) if it.alias}
    found = set()
    for o in query.order_by:
        e = o.expr
        if isinstance(e, ast.Column) and e.table is None and e.name in aliases:
            found.add(aliases[e.name])
        elif isinstance(e, ast.Number) and e.text.isdigit() and 0 < int(e.text) <= len(items):
            found.add(int(e.text) - 1)
        else:
            found.update(i for i, it in enumerate(items) if it.expr == e)
    for i, it in enumerate(items):
        e = it.expr
        if isinstance(e, ast.FuncCall) and e.over is not None and e.name.upper() in _RANKINGS:
            found.add(i)
    return found


_RANKINGS = {"RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE", "PERCENT_RANK", "CUME_DIST"}


def check_result(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """RES002 / RES003 on the result of the engine that counts, for generated candidates
    (``subject.structure`` set) only."""
    if subject.structure is None:
        return []
    engine = counting_engine(subject.engines, ctx.options.dialect)
    if engine is None:
        return []
    result = subject.engines[engine]
    if result.repeats:
        message = (
            f"{result.repeats} {engine} result rows repeat an earlier row exactly: a join "
            "multiplies rows (versions, scenarios) that the SELECT list cannot tell apart"
        )
        return [finding(RES002, message)]
    if result.constant and subject.query is not None:
        names = _output_names(subject.query)
        flat = sorted(ordering_columns(subject.query) & set(result.constant))
        if flat:
            what = ", ".join(names[i] if i < len(names) else f"column {i + 1}" for i in flat)
            message = (
                f"the {engine} result is ordered or ranked by {what}, which is the same on "
                "every row"
            )
            return [finding(RES003, message)]
    return []


def check_clustering(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """RES004-RES006: a window clustering whose labels tell nothing, judged on what the
    DuckDB check computed (PostGIS's algorithms, :mod:`cimgen.engines.duckdb_cluster`),
    for generated candidates only."""
    result = subject.engines.get("duckdb")
    if subject.structure is None or result is None:
        return []
    for c in result.clusters:
        name = "DBSCAN" if c.kind == "dbscan" else "k-means"
        if c.rows == 0:
            continue  # no row to cluster: the empty result says so (RES001)
        if c.clusters == 0:
            message = f"{name} makes all {c.rows} rows noise: no cluster at all"
            return [finding(RES004, message)]
        if c.clusters == c.partitions and c.noise == 0 and c.rows > c.partitions:
            where = "its one cluster" if c.partitions == 1 else "one cluster per partition"
            return [finding(RES005, f"{name} puts all {c.rows} rows in {where}")]
        if c.clusters == c.rows:
            asked = f" (k = {c.asked})" if c.kind == "kmeans" else ""
            message = f"{name}{asked} makes each of the {c.rows} rows its own cluster"
            return [finding(RES006, message)]
    return []


def _output_names(query: ast.Query) -> list[str]:
    if not isinstance(query.body, ast.Select):
        return []
    return [ast.output_name(it) or "?" for it in query.body.items]
