"""Values and groups at one literal point (issue 14, eighth pass; split from
:mod:`cimgen.expand.pinned`).

A block whose first table is cut to the rows containing one literal point
(:func:`at_point`) holds a handful of rows by construction: a raster value read there
beside per-row values is the same on every row (:func:`point_values`, read per row instead
by :func:`read_per_row` where it can be), and groups, aggregates or windows over those rows
say little (:func:`point_groups`). :func:`cimgen.expand.pinned.settle_pins` refuses both.

>>> from cimgen.grammar import parse
>>> q = parse("SELECT b.id FROM b WHERE ST_Contains(b.geom, ST_MakePoint(9.1, 45.4))")
>>> at_point(q.body)
{'b'}
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext
from cimgen.expand.frame import BuildError
from cimgen.expand.multiply import base_table, block_refs, select_list_nodes, to_many

POINT_MAKERS = {"st_makepoint", "st_point"}
_NESTED = ast.SUBQUERY_EXPRS


def literal_point(e: ast.Expr) -> bool:
    """A geometry written from literals alone (``ST_SetSRID(ST_MakePoint(9.1, 45.4), 4326)``)."""
    nodes = list(ast.walk(e))
    return not any(isinstance(n, ast.Column) for n in nodes) and any(
        isinstance(n, ast.FuncCall) and n.name.lower() in POINT_MAKERS for n in nodes
    )


def at_point(body: ast.Select) -> set[str]:
    """Aliases of the block's tables cut to the rows at one literal point: a geometry or
    raster that contains or intersects it (not a distance: the rows near a point are many)."""
    out = set()
    for c in ast.block_conditions(body):
        if not (isinstance(c, ast.FuncCall) and len(c.args) >= 2):
            continue
        name = c.name.lower()
        if name not in ("st_intersects", "st_contains", "st_within", "st_covers"):
            continue
        a, b = c.args[0], c.args[1]
        for geom, point in ((a, b), (b, a)):
            if name == "st_within" and geom is a:
                continue  # ST_Within(g, point): g inside a point is no containment of it
            if name in ("st_contains", "st_covers") and geom is b:
                continue
            read = ast.tables_read(geom)
            if literal_point(point) and len(read) == 1:
                out |= read
    return out


def point_values(
    body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]
) -> list[ast.SelectItem]:
    """Outputs of a row-level block read only from rasters at one literal point, where the
    block's first table is not itself cut to that point: one value on every row."""
    refs = block_refs(body)
    if len(refs) < 2 or body.group_by or any(plain_aggregate(n) for n in select_list_nodes(body)):
        return []
    points = at_point(body)
    if refs[0].ref_name in points:
        return []
    rasters = set()
    for r in refs[1:]:
        info = base_table(r, ctes, ctx)
        if info is not None and info.rasters and r.ref_name in points:
            rasters.add(r.ref_name)
    out = []
    for it in body.items:
        read = ast.tables_read(it.expr)
        if read and read <= rasters and not any(isinstance(n, _NESTED) for n in ast.walk(it.expr)):
            out.append(it)
    return out


def has_point(e: Any) -> bool:
    return any(isinstance(n, ast.FuncCall) and n.name.lower() in POINT_MAKERS for n in ast.walk(e))


def read_per_row(query: ast.Query, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> ast.Query:
    """The main block without its values at one point (:func:`point_values`) where each of
    those rasters is also read at each row (the DTM at a zone's centroid and at the
    query's point): the point's condition on it and its values there go, its per-row reads
    stay. Refused where a raster is read at the point alone, where the condition is not in
    WHERE, or where the ordering reads a value that goes."""
    body = query.body
    if not isinstance(body, ast.Select):
        return query
    items = point_values(body, ctx, ctes)
    if not items:
        return query
    rasters = {a for it in items for a in ast.tables_read(it.expr)}
    conds = ast.block_conditions(body)
    where = ast.conjuncts(body.where)
    drop_conds = [c for c in where if len(ast.tables_read(c) & rasters) == 1 and has_point(c)]
    drop_items = [it for it in items if has_point(it.expr)]
    ordered = {o.expr.name for o in query.order_by if isinstance(o.expr, ast.Column)}
    for r in rasters:
        linked = any(r in ast.tables_read(c) and len(ast.tables_read(c)) >= 2 for c in conds)
        at = [c for c in conds if ast.tables_read(c) == {r} and has_point(c)]
        if not linked or any(c not in drop_conds for c in at):
            raise BuildError("a value read at one point beside per-row values")
    keep = tuple(it for it in body.items if it not in drop_items)
    if not keep or any(ast.output_name(it) in ordered for it in drop_items):
        raise BuildError("a value read at one point beside per-row values")
    new = replace(body, items=keep, where=ast.and_all([c for c in where if c not in drop_conds]))
    if point_values(new, ctx, ctes):
        raise BuildError("a value read at one point beside per-row values")
    return replace(query, body=new)


def plain_aggregate(n: Any) -> bool:
    return (
        isinstance(n, ast.FuncCall)
        and n.over is None
        and n.name.upper() in ("COUNT", "SUM", "AVG", "MIN", "MAX")
    )


def first_at_point(body: ast.Select, ctes: dict[str, ast.Query], depth: int = 0) -> bool:
    """Is the block's first table cut to one literal point, here or in the CTE it reads?"""
    refs = block_refs(body)
    if not refs or depth > 5:
        return False
    if refs[0].ref_name in at_point(body):
        return True
    q = ctes.get(refs[0].name) if refs[0].schema is None else None
    return (
        q is not None and isinstance(q.body, ast.Select) and first_at_point(q.body, ctes, depth + 1)
    )


def point_groups(body: ast.Select, ctx: ExpansionContext, ctes: dict[str, ast.Query]) -> bool:
    """Does the block group, aggregate or window (a clustering, a rank) rows whose first
    table is cut to one literal point, here or in the CTE it reads (the buildings
    containing a point, per census area; DBSCAN of the lidar buildings at a point), no join
    meeting several rows per row (the lines near that building are many)? The raster tiles
    at a point too, when aggregated or grouped (the DTM tiles intersecting a point are one
    tile: their count and "average" value there are that tile's reading; lead, twelfth
    pass); a window over them is :func:`cimgen.expand.once.point_windows`' (dropped, the
    values stay)."""
    refs = block_refs(body)
    own = select_list_nodes(body)
    windowed = any(isinstance(n, ast.FuncCall) and n.over is not None for n in own)
    aggregated = bool(body.group_by) or any(plain_aggregate(n) for n in own)
    if not refs or not (aggregated or windowed):
        return False
    info = base_table(refs[0], ctes, ctx)
    if info is None or (info.rasters and not aggregated) or not first_at_point(body, ctes):
        return False
    return not to_many(body, ctes, ctx)[1]  # no table met several per row widens them


__all__ = [
    "POINT_MAKERS",
    "at_point",
    "first_at_point",
    "has_point",
    "literal_point",
    "plain_aggregate",
    "point_groups",
    "point_values",
    "read_per_row",
]
