"""The DuckDB form of PostGIS's window clusterings (``ST_ClusterDBSCAN`` / ``ST_ClusterKMeans``).

A call ``ST_ClusterDBSCAN(g, eps, minpoints) OVER (PARTITION BY p ORDER BY o)`` in a
SELECT block becomes ``cimgen_cluster('dbscan', eps, minpoints, input_sql, key, ST_AsWKB(g))``
(:mod:`cimgen.engines.duckdb_cluster` defines the UDF). ``input_sql`` is the block's own
rows -- its FROM, WHERE, GROUP BY and HAVING, where a window sees them -- selecting ``g``,
the partition and the order expressions, wrapped in the query that numbers them, keys
their partitions and (DBSCAN) lists each row's neighbours within ``eps`` through DuckDB's
spatial join. ``key`` is the same partition key computed on the row at hand.
"""

from __future__ import annotations

from dataclasses import dataclass

from cimgen import ast
from cimgen.render.base import Unsupported
from cimgen.scope import from_refs

CLUSTER_FUNCTION = "cimgen_cluster"  # the UDF of cimgen.engines.duckdb_cluster
# Candidate pairs (envelopes within eps) a DBSCAN may measure: a wider one is refused
# before it is measured (an error, SEM001, the same on every run). DBSCAN with eps 500 m
# over the 3,349 buildings of a fixture has 1.9 M and took 1.2-1.4 s of CPU, with eps 300
# m over 3,286 ~0.9 M and 1.1 s at load 15: close enough to the check's 2 s limit that a
# loaded box stopped one on one run and not on the next (SEM003, another dataset for one
# seed). The DBSCAN input query (:func:`input_sql`) counts them on the way.
MAX_PAIRS = 500_000
_PARAMS = {"st_clusterdbscan": ("eps", "minpoints"), "st_clusterkmeans": ("k", "max_radius")}


@dataclass(frozen=True)
class Clustering:
    """One clustering call: its kind, parameters, and the parts of its block to read."""

    kind: str  # "dbscan" | "kmeans"
    a: float  # eps | k
    b: float  # minpoints | max_radius (0: none)
    geometry: ast.Expr
    partition: tuple[ast.Expr, ...]
    order: tuple[ast.OrderItem, ...]


def _number(node: ast.Expr | None, what: str) -> float:
    if isinstance(node, ast.UnaryOp) and node.op == "-" and isinstance(node.operand, ast.Number):
        return -float(node.operand.text)
    if isinstance(node, ast.Number):
        return float(node.text)
    raise Unsupported(f"a clustering {what} that is not a number literal has no DuckDB form")


def clustering(node: ast.FuncCall) -> Clustering:
    """The parameters of a clustering call (positional or ``name := value``), or
    Unsupported when it is no window or a parameter is not a literal."""
    names = _PARAMS[node.name.lower()]
    if node.over is None:
        raise Unsupported(f"{node.name} without OVER has no DuckDB form")
    if not node.args or isinstance(node.args[0], ast.NamedArg):
        raise Unsupported(f"{node.name} without a geometry argument")
    given: dict[str, ast.Expr] = {}
    for i, arg in enumerate(node.args[1:]):
        if isinstance(arg, ast.NamedArg):
            given[arg.name.lower()] = arg.value
        elif i < len(names):
            given[names[i]] = arg
    if names[0] not in given or (names[0] == "eps" and names[1] not in given):
        raise Unsupported(f"{node.name} without its {' and '.join(names)} has no DuckDB form")
    a = _number(given[names[0]], names[0])
    b = _number(given[names[1]], names[1]) if names[1] in given else 0.0
    kind = "dbscan" if names[0] == "eps" else "kmeans"
    return Clustering(kind, a, b, node.args[0], node.over.partition_by, node.over.order_by)


def _outer_names(block: ast.Select) -> set[str]:
    """Table names the block's own expressions qualify columns with but its FROM does not
    name: a correlated block, whose rows cannot be read on their own."""
    own = {name for item in block.from_ for name, _ in from_refs(item)}
    parts: list[object] = [*block.items, block.where, *block.group_by, block.having]
    used: set[str] = set()
    for part in parts:
        if part is None:
            continue
        used |= {n.table for n in ast.walk_own(part) if isinstance(n, ast.Column) and n.table}
    return used - own


def input_query(block: ast.Select, ctes: dict[str, ast.CTE], call: Clustering) -> ast.Query:
    """The rows the window of ``call`` sees: ``block`` with its select list replaced by the
    geometry (``_g``), the partition (``_p0``...) and the order expressions (``_o0``...)."""
    outer = _outer_names(block)
    if outer:
        raise Unsupported(f"a clustering in a block correlated to {sorted(outer)[0]}")
    items = [ast.SelectItem(call.geometry, "_g")]
    items += [ast.SelectItem(p, f"_p{i}") for i, p in enumerate(call.partition)]
    items += [ast.SelectItem(o.expr, f"_o{i}") for i, o in enumerate(call.order)]
    body = ast.Select(
        items=tuple(items),
        from_=block.from_,
        where=block.where,
        group_by=block.group_by,
        having=block.having,
    )
    return ast.Query(body=body, ctes=tuple(ctes.values()))


def partition_key(parts: list[str]) -> str:
    """The text key of a row's partition (the same SQL in the input query and the call)."""
    return f"CAST(row({', '.join(parts)}) AS VARCHAR)" if parts else "''"


def input_sql(rows_sql: str, call: Clustering) -> str:
    """The query the UDF runs: ``rows_sql`` (:func:`input_query` rendered) numbered in
    window order, with key, WKB, and the DBSCAN neighbours or the k-means centroid."""
    order = [
        f"_o{i}{' ' + o.direction if o.direction else ''}{' NULLS ' + o.nulls if o.nulls else ''}"
        for i, o in enumerate(call.order)
    ]
    number = f"row_number() OVER ({'ORDER BY ' + ', '.join(order) if order else ''}) - 1"
    key = partition_key([f"_p{i}" for i in range(len(call.partition))])
    rows = f"SELECT {number} AS i, {key} AS k, _g AS g FROM (\n{rows_sql}\n) AS _rows"
    if call.kind == "kmeans":
        return (
            f"WITH _in AS MATERIALIZED ({rows}), _c AS (SELECT i, k, g, CASE WHEN NOT "
            "ST_IsEmpty(g) THEN ST_Centroid(g) END AS c FROM _in)\n"
            "SELECT i, k, ST_AsWKB(g) AS wkb, ST_X(c) AS x, ST_Y(c) AS y FROM _c ORDER BY i"
        )
    eps = repr(call.a)
    # the candidate pairs are materialised once, at most MAX_PAIRS + 1 of them, and
    # counted (``pairs`` on every row); past the budget ``_nb`` measures none (its filter
    # on ``_n`` is false) and the UDF refuses the clustering. One query, where a separate
    # count of the pairs ran ``_in`` and the spatial join a second time (~27 % of a
    # DBSCAN's reads on 1,000 CTGAN seed 1, issue 14)
    return (
        f"WITH _in AS MATERIALIZED (SELECT *, ST_MakeEnvelope(ST_XMin(g) - {eps}, "
        f"ST_YMin(g) - {eps}, ST_XMax(g) + {eps}, ST_YMax(g) + {eps}) AS e FROM ({rows})),\n"
        "_near AS MATERIALIZED (SELECT a.i, b.i AS j FROM _in AS a JOIN _in AS b "
        f"ON ST_Intersects(a.e, b.g) LIMIT {MAX_PAIRS + 1}),\n"
        "_n AS (SELECT count(*) AS n FROM _near),\n"
        "_nb AS (SELECT n.i, list(n.j ORDER BY n.j) AS nb FROM _near AS n "
        "JOIN _in AS a ON a.i = n.i JOIN _in AS b ON b.i = n.j, _n "
        f"WHERE _n.n <= {MAX_PAIRS} AND a.k = b.k AND ST_DWithin(a.g, b.g, {eps}) "
        "GROUP BY n.i)\n"
        "SELECT i, k, ST_AsWKB(g) AS wkb, nb, (SELECT n FROM _n) AS pairs "
        "FROM _in LEFT JOIN _nb USING (i) ORDER BY i"
    )


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
