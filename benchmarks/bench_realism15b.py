"""Count the kitchen sinks the fifteenth pass (b) named (issue 14) in the accepted rows of
one or more runs.

usage: bench_realism15b.py RUN_DIR [RUN_DIR ...]

Each row's PostGIS SQL is parsed with the project grammar; a row may show several shapes:

* ``place_twice`` -- one place (a point or a box literal) in two conditions of one query:
  two distance filters to one point (1,000 m and 750 m), a box and a distance to a point
  inside it, or one table's filter to the place and a joined table's filter to it again;
* ``cte_filter_repeated`` -- a condition of a CTE repeated by the outer query that reads
  it (the same call on the same place, the CTE's column read in its stead);
* ``raster_tile_filter_beside_value`` -- one raster's tiles filtered by a tile attribute
  (``max_elevation > 120``) beside a value read from another raster;
* ``raster_pixel_size`` -- a DTM / DSM tile's pixel size output (tiles are storage);
* ``census_count_beside_dsm`` -- a census zone's count (not its key or label) output
  beside a DSM value read at the zone (``ST_Value`` / ``ST_Clip``: the surface at a zone
  is whatever stands there; the corpus's tiles joined to zones by their footprints aside);
* ``listed_per_version`` -- a project scenario joined by its boundary (a spatial join)
  whose scenario nothing pins (a literal on it or on a table tied to it by scenario):
  each subject counted or listed once per scenario of its area;
* ``proximity_chain`` -- a block that joins a second table to its subject by distance and a
  third table to that neighbour ("buildings within 1500 m of (x, y), buses within 150 m
  of them, and the lines to each bus"): three hops for one answer.
"""

from __future__ import annotations

import sys
from collections import Counter

from bench_realism14b import _pin  # one reading of a scope pin

from cimgen import ast
from cimgen.grammar.parse import parse

_PLACES = {"st_makepoint", "st_point", "st_makeenvelope"}
_PIXEL = {"st_pixelwidth", "st_pixelheight", "st_scalex", "st_scaley"}
_RASTERS = {"dtm_raster", "dsm_raster"}
_CENSUS_NAMES = {"sez2011", "ace", "geometry", "id", "sez", "nsez"}


def _places(node: ast.Expr) -> list[tuple[str, ...]]:
    """The place literals under ``node``: a point's or a box's numbers."""
    out = []
    for n in ast.walk_own(node):  # a subquery's conditions are its own block's
        if isinstance(n, ast.FuncCall) and n.name.lower() in _PLACES:
            nums = tuple(a.text for a in n.args if isinstance(a, ast.Number))
            if len(nums) >= 2:
                out.append((n.name.lower()[:7], *nums[:4]))
    return out


def _selects(query: ast.Query) -> list[ast.Select]:
    return [n for n in ast.walk(query) if isinstance(n, ast.Select)]


def _refs(body: ast.Select) -> dict[str, str]:
    """alias -> table name (a CTE's name for a CTE) of a block's own FROM."""
    out: dict[str, str] = {}
    stack: list[ast.FromItem] = list(body.from_)
    while stack:
        it = stack.pop()
        if isinstance(it, ast.Join):
            stack += [it.left, it.right]
        elif isinstance(it, ast.TableRef):
            out[it.alias or it.name] = it.name
    return out


def _bare(e: ast.Expr) -> str:
    """A condition with its columns' qualifiers stripped (a CTE column read for its source)."""

    def strip(n: object) -> object:
        if isinstance(n, ast.Column):
            return ast.Column(n.name)
        if isinstance(n, ast.FuncCall):  # one point, however it is written
            name = "st_makepoint" if n.name.lower() == "st_point" else n.name.lower()
            return ast.FuncCall(name, n.args)
        return n

    return repr(ast.to_dict(_map(e, strip)))


def _map(node: object, fn: object) -> object:
    from dataclasses import fields, is_dataclass, replace

    if isinstance(node, tuple):
        return tuple(_map(v, fn) for v in node)
    if not is_dataclass(node) or isinstance(node, type):
        return node
    node = fn(node)  # type: ignore[operator]
    if not is_dataclass(node) or isinstance(node, type):
        return node
    return replace(node, **{f.name: _map(getattr(node, f.name), fn) for f in fields(node)})


def place_twice(query: ast.Query) -> bool:
    seen: Counter[tuple[str, ...]] = Counter()
    for body in _selects(query):
        for c in ast.block_conditions(body, outer_joins=True):
            if ast.is_box_prefilter(c) or {
                x.name for x in ast.walk(c) if isinstance(x, ast.Column)
            } <= {"rast"}:
                continue  # a tile read at the place: where a value comes from
            for p in set(_places(c)):
                seen[p[1:3]] += 1  # a point and the box around it share their first corner
    return any(n > 1 for n in seen.values())


def cte_filter_repeated(query: ast.Query) -> bool:
    if not query.ctes or not isinstance(query.body, ast.Select):
        return False
    inner = {
        _bare(c)
        for cte in query.ctes
        for body in _selects(cte.query)
        for c in ast.block_conditions(body, outer_joins=True)
        if not ast.is_box_prefilter(c) and len(ast.tables_read(c)) <= 1
    }
    return any(
        _bare(c) in inner
        for c in ast.conjuncts(query.body.where)
        if len(ast.tables_read(c)) <= 1 and not _pin(c)
    )


def raster_shapes(query: ast.Query) -> set[str]:
    found: set[str] = set()
    for body in _selects(query):
        refs = _refs(body)
        rasters = {a for a, t in refs.items() if t in _RASTERS}
        filtered = {
            c.table
            for w in ast.conjuncts(body.where)
            for c in ast.walk(w)
            if isinstance(c, ast.Column) and c.table in rasters and c.name != "rast"
        }
        if filtered and len({refs[a] for a in rasters}) > 1:
            found.add("raster_tile_filter_beside_value")
        for it in body.items:
            for n in ast.walk(it.expr):
                if (
                    isinstance(n, ast.FuncCall)
                    and n.name.lower() in _PIXEL
                    and ast.tables_read(n) & rasters
                ):
                    found.add("raster_pixel_size")
        dsm = {a for a in rasters if refs[a] == "dsm_raster"}
        census = {a for a, t in refs.items() if t == "census_geo"}
        if dsm and census:
            counts = any(
                isinstance(n, ast.Column) and n.table in census and n.name not in _CENSUS_NAMES
                for it in body.items
                for n in ast.walk(it.expr)
            )
            read = any(  # a DSM value read at the zone (not the tiles' footprints)
                isinstance(n, ast.FuncCall)
                and n.name.lower() in ("st_value", "st_clip")
                and ast.tables_read(n) & dsm
                and ast.tables_read(n) & census
                for it in body.items
                for n in ast.walk(it.expr)
            )
            if counts and read:
                found.add("census_count_beside_dsm")
    return found


def listed_per_version(query: ast.Query) -> bool:
    tests = {  # an EXISTS / IN subquery asks whether a row is there: it multiplies nothing
        id(n.query.body) for n in ast.walk(query) if isinstance(n, (ast.Exists, ast.InSubquery))
    }
    for body in _selects(query):
        if id(body) in tests:
            continue
        refs = _refs(body)
        conds = ast.block_conditions(body, outer_joins=True)
        rasters = {a for a, t in refs.items() if t in _RASTERS}
        spatial = set()
        for c in conds:
            for n in ast.walk(c):
                if not isinstance(n, ast.FuncCall) or not n.name.lower().startswith("st_"):
                    continue
                read = ast.tables_read(n) - rasters
                boundary = {
                    col.table
                    for col in ast.walk(n)
                    if isinstance(col, ast.Column)
                    and col.name.endswith("boundary")
                    and refs.get(col.table or "") == "project_scenario"
                }
                if boundary and len(read) > 1:
                    spatial |= boundary  # type: ignore[arg-type]
        if not spatial:
            continue
        pinned = {
            c.left.table
            for c in conds
            if _pin(c) and isinstance(c.left, ast.Column) and c.left.name == "scenario_id"
        }
        links = [
            {c.left.table, c.right.table}
            for c in conds
            if isinstance(c, ast.BinaryOp)
            and c.op == "="
            and isinstance(c.left, ast.Column)
            and isinstance(c.right, ast.Column)
            and c.left.name == c.right.name == "scenario_id"
        ]
        grew = True
        while grew:
            grew = False
            for pair in links:
                if pair & pinned and not pair <= pinned:
                    pinned |= pair  # type: ignore[arg-type]
                    grew = True
        if spatial - pinned:
            return True
    return False


def proximity_chain(query: ast.Query) -> bool:
    for body in _selects(query):
        refs = _refs(body)
        if len(refs) < 3:
            continue
        conds = ast.block_conditions(body, outer_joins=True)
        near: set[str] = set()  # the aliases met by a distance to another table
        for c in conds:
            for n in ast.walk(c):
                if isinstance(n, ast.FuncCall) and n.name.lower() == "st_dwithin":
                    read = ast.tables_read(n)
                    near |= read if len(read) == 2 else set()
        first = next(iter(_first_alias(body)), None)
        for c in conds:
            read = ast.tables_read(c)
            if len(read) == 2 and (read & (near - {first})) and not read <= near:
                return True  # a third table joined to the neighbour met by distance
    return False


def _first_alias(body: ast.Select) -> list[str]:
    item = body.from_[0] if body.from_ else None
    while isinstance(item, ast.Join):
        item = item.left
    return [item.alias or item.name] if isinstance(item, ast.TableRef) else []


def shapes(query: ast.Query) -> set[str]:
    found = raster_shapes(query)
    for name, fn in (
        ("place_twice", place_twice),
        ("cte_filter_repeated", cte_filter_repeated),
        ("listed_per_version", listed_per_version),
        ("proximity_chain", proximity_chain),
    ):
        if fn(query):
            found.add(name)
    return found


def main() -> None:
    from shape_runs import tally

    for run in sys.argv[1:]:
        tally(run, lambda record: shapes(parse(record["sql_postgis"])))


if __name__ == "__main__":
    main()
