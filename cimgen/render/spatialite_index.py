"""Spatial-index lookups for SpatiaLite joins.

SQLite never uses a spatial index by itself: a join on ``ST_Intersects(a.geom, b.geom)``
tests every pair (building x grid_bus: 3 million GEOS calls, 3 s on the fixture, where
PostGIS takes milliseconds through its GiST index). SpatiaLite's documented idiom is to add
an R*Tree lookup through its ``SpatialIndex`` virtual table beside the predicate::

    ST_Intersects(a.geom, b.geom)
      AND b.ROWID IN (SELECT ROWID FROM SpatialIndex WHERE f_table_name = 'tbl'
                      AND f_geometry_column = 'geom' AND search_frame = a.geom)

The lookup returns the rows whose bounding box meets ``search_frame``'s: every row the
predicate can accept (the predicates below all imply intersecting bounding boxes; for
ST_DWithin the frame is widened by the distance), so ``predicate AND lookup`` equals
``predicate`` for every pair of rows and the result is unchanged. The SpatiaLite dialect
therefore assumes a spatial index on every geometry column (``CreateSpatialIndex``), as a
SpatiaLite database should have; the fixture database creates them.

:func:`plan_lookups` decides, per SELECT block, which conjuncts get a lookup: a top-level
conjunct of WHERE or of a JOIN's ON whose one side is a geometry column of a schema table
in this block's FROM and whose other side names another FROM item of the block (a join,
not a filter on constants). At most one lookup per table reference; the later table in
FROM order is the one looked up (it becomes the inner loop of the join).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cimgen import ast
from cimgen.scope import Scope

# Predicates that are true only for geometries whose bounding boxes intersect.
BBOX_PREDICATES = frozenset(
    {
        "ST_Intersects",
        "ST_Contains",
        "ST_Within",
        "ST_Touches",
        "ST_Crosses",
        "ST_Overlaps",
        "ST_Equals",
        "ST_Covers",
        "ST_CoveredBy",
    }
)


@dataclass(frozen=True)
class Lookup:
    """A spatial-index lookup for one conjunct: rows of ``alias`` (SpatiaLite table
    ``table``, geometry column ``column``) whose box meets ``frame``'s box, widened by
    ``distance`` (metres when ``geography``, else the geometry's units)."""

    alias: str
    table: str
    column: str
    frame: ast.Expr
    distance: ast.Expr | None = None
    geography: bool = False


def conjuncts(node: Any) -> list[Any]:
    """The operands of a left-deep AND chain, in order (a single condition: itself)."""
    out = []
    while isinstance(node, ast.BinaryOp) and node.op == "AND":
        out.append(node.right)
        node = node.left
    out.append(node)
    out.reverse()
    return out


def from_order(items: tuple[ast.FromItem, ...]) -> list[str]:
    """Reference names of a FROM list's tables and derived tables, left to right."""
    order: list[str] = []

    def walk(item: ast.FromItem) -> None:
        if isinstance(item, ast.Join):
            walk(item.left)
            walk(item.right)
        elif isinstance(item, ast.TableRef):
            order.append(item.ref_name)
        elif isinstance(item, ast.DerivedTable):
            order.append(item.alias)

    for item in items:
        walk(item)
    return order


def _join_conditions(items: tuple[ast.FromItem, ...]) -> list[Any]:
    out: list[Any] = []
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Join):
            if item.on is not None:
                out.append(item.on)
            stack.extend((item.right, item.left))
    return out


def _strip_cast(node: Any) -> tuple[Any, bool]:
    """``x::geography`` / ``x::geometry`` -> (x, is geography)."""
    geography = False
    while isinstance(node, ast.Cast) and node.type_name.split("(")[0].strip() in (
        "geography",
        "geometry",
    ):
        geography = geography or node.type_name.startswith("geography")
        node = node.expr
    return node, geography


def _references(node: Any, scope: Scope, out: set[str]) -> None:
    """Add to ``out`` the reference names of the FROM items ``node``'s columns belong to
    ("" for a nested query, which cannot serve as a plain frame)."""
    if isinstance(node, ast.Column):
        ref = scope.reference_of(node)
        out.add(ref if ref is not None else (node.table or "?"))
        return
    if isinstance(node, ast.Subquery | ast.Exists | ast.InSubquery):
        out.add("")
        return
    if isinstance(node, tuple | list):
        for item in node:
            _references(item, scope, out)
        return
    if hasattr(node, "__dataclass_fields__"):
        for name in node.__dataclass_fields__:
            _references(getattr(node, name), scope, out)


def _sides(node: Any) -> tuple[Any, Any, Any | None] | None:
    """(left, right, distance) of a join predicate the index can serve, else None."""
    if isinstance(node, ast.BinaryOp) and node.op == "&&":
        return node.left, node.right, None
    if not isinstance(node, ast.FuncCall) or node.over is not None or node.filter is not None:
        return None
    if node.name in BBOX_PREDICATES and len(node.args) == 2:
        return node.args[0], node.args[1], None
    if node.name == "ST_DWithin" and len(node.args) in (3, 4):
        return node.args[0], node.args[1], node.args[2]
    return None


def plan_lookups(select: ast.Select, scope: Scope, table_name: Any) -> dict[int, Lookup]:
    """``id(conjunct) -> Lookup`` for the conjuncts of ``select`` that get one (see the
    module docstring). ``table_name`` maps ``schema.table`` to the SpatiaLite table."""
    order = from_order(select.from_)
    position = {name: i for i, name in enumerate(order)}
    plans: dict[int, Lookup] = {}
    taken: set[str] = set()  # table references that have a lookup
    linked: set[frozenset[str]] = set()  # pairs of references a lookup already joins
    conditions = _join_conditions(select.from_)
    if select.where is not None:
        conditions.append(select.where)
    candidates = [
        (conjunct, sides)
        for condition in conditions
        for conjunct in conjuncts(condition)
        if (sides := _sides(conjunct)) is not None
    ]
    # bounding-box predicates first: their lookups are tighter than a widened ST_DWithin's
    candidates.sort(key=lambda c: c[1][2] is not None)
    for conjunct, (left, right, distance) in candidates:
        options = []
        for target, frame in ((left, right), (right, left)):
            option = _option(target, frame, distance, scope, position, table_name)
            if option is None or option[0].alias in taken:
                continue
            lookup, refs = option
            if any(frozenset((lookup.alias, other)) in linked for other in refs):
                continue  # one lookup per pair of tables is enough
            options.append((position[lookup.alias], lookup, refs))
        if options:
            _, best, refs = max(options, key=lambda o: o[0])
            plans[id(conjunct)] = best
            taken.add(best.alias)
            linked.update(frozenset((best.alias, other)) for other in refs)
    return plans


def _option(
    target: Any,
    frame: Any,
    distance: Any,
    scope: Scope,
    position: dict[str, int],
    table_name: Any,
) -> tuple[Lookup, set[str]] | None:
    """A lookup of ``target``'s table by ``frame`` (and the FROM items ``frame`` names),
    when ``target`` is a geometry column of a schema table in this block and ``frame``
    names another FROM item of the block."""
    column, geography = _strip_cast(target)
    if not isinstance(column, ast.Column):
        return None
    found = scope.base_column(column)
    if found is None or found[0] not in position or found[2].kind != "geometry":
        return None
    ref, table, col = found
    if ref not in scope.sources:
        return None
    refs: set[str] = set()
    _references(frame, scope, refs)
    if not any(r in position for r in refs):
        return None  # a filter on constants (or outer columns): not a join
    _references(distance, scope, refs)
    if ref in refs or "" in refs:
        return None  # the frame depends on the row looked up, or holds a subquery
    frame_expr, frame_geography = _strip_cast(frame)
    geography = geography or frame_geography
    return Lookup(ref, table_name(table.qualified), col.name, frame_expr, distance, geography), refs


def plan_ties(select: ast.Select, scope: Scope, relations: Any) -> dict[int, ast.Expr]:
    """``id(conjunct) -> its SQLite form`` for the equalities that only tie two tables of
    ``select`` by same-named key columns (``ps.project_id = bp.project_id AND
    ps.scenario_id = bp.scenario_id``: building properties in the project scenario beside
    them; no other equality joins the two), each column part of a composite key of its
    table (``relations``: the schema's). The earlier table's side (FROM order) gets a
    unary ``+``, which keeps SQLite's planner from reaching the earlier table through an
    automatic index on the tie: on the fixture it chose census zones x project scenarios x
    every property record of the scenario, 22.6 s CPU for a 6,208-row listing, 0.25 s
    with the hint (issue 14, twelfth pass). The result is the same; PostgreSQL and DuckDB
    get the equality as written."""
    position = {name: i for i, name in enumerate(from_order(select.from_))}
    keyed: set[tuple[str, str]] = set()
    for r in relations:
        if len(r.left_columns) >= 2:
            keyed.update((r.left, c) for c in r.left_columns)
        if len(r.right_columns) >= 2:
            keyed.update((r.right, c) for c in r.right_columns)
    pairs: dict[frozenset[str], list[tuple[ast.BinaryOp, str, str]]] = {}
    conditions = _join_conditions(select.from_)
    if select.where is not None:
        conditions.append(select.where)
    for condition in conditions:
        for c in conjuncts(condition):
            if not (
                isinstance(c, ast.BinaryOp)
                and c.op == "="
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.Column)
            ):
                continue
            a, b = scope.base_column(c.left), scope.base_column(c.right)
            if a is None or b is None or a[0] == b[0] or not {a[0], b[0]} <= set(position):
                continue
            tie = c.left.name == c.right.name and all(
                (t.qualified, col.name) in keyed for _, t, col in (a, b)
            )
            pairs.setdefault(frozenset((a[0], b[0])), []).append((c, a[0] if tie else "", b[0]))
    out: dict[int, ast.Expr] = {}
    for group in pairs.values():
        if not all(left for _, left, _ in group):
            continue  # another equality joins the two (a line's bus by its bus_id)
        for c, left, right in group:
            if position[left] < position[right]:
                out[id(c)] = ast.BinaryOp("=", ast.UnaryOp("+", c.left), c.right)
            else:
                out[id(c)] = ast.BinaryOp("=", c.left, ast.UnaryOp("+", c.right))
    return out
