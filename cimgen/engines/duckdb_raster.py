"""Rasters in DuckDB: a STRUCT per tile plus SQL macros that reproduce PostGIS raster calls.

DuckDB has no raster type. A raster column is stored as :data:`RASTER_TYPE`, a STRUCT with
the tile's georeference and its cell values (row-major, row 0 = the upper row) -- the very
numbers ``cimgen db init`` writes into PostGIS. A stored tile keeps them as fixed-width
text (``cells``), which joins pass by reference, and the macros read a cell by position
(``rst_at``); a computed raster (ST_Clip) holds them as a list (``vals``).
:func:`install_macros` defines one TEMP macro per emulated function on a connection (TEMP:
they live in the connection, so they work on read-only fixture files and in every worker
process). The DuckDB renderer maps raster calls to these macros (docs/backends.md has the
table); the semantics follow PostGIS 3.3:

* ``rst_value``: the cell containing the point (floor of the raster coordinate computed
  with GDAL's inverse geotransform, as PostGIS 3.3's nearest-neighbour ST_Value), NULL
  outside or on nodata; a non-point or an SRID that differs
  from the raster's raises the PostGIS error.
* ``rst_summarystats``: count / sum / mean / population stddev / min / max over the cells
  that are not nodata; NULL fields for an empty raster. A stored tile carries the result
  in its ``stats`` field, computed by this very macro when the fixture is built, and
  ``rst_tile_stats`` reads it (the renderer uses it for ST_SummaryStats of a raster column;
  computing the statistics of a 2,500-cell tile per row was most of the DuckDB check's
  time on raster queries).
* ``rst_clip``: PostGIS's RASTER_clip: the geometry is intersected with the raster's hull and
  rasterized (GDAL: a cell is in when its centre is inside a polygon) on a mask grid whose
  size follows rt_raster_gdal_rasterize (extent / scale rounded, one more cell when the
  extent's corner is off the grid); with crop the result is the mask's extent within the
  tile. Cells outside the polygon get the band's nodata value -- or, when the band has none,
  the pixel type's minimum (-FLT_MAX for 32BF) *without* a nodata flag, so PostGIS's
  summary statistics count them, and so do ours. Points and lines (rare in clips) are
  approximated by the cells they touch.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa

from cimgen.fixtures import RasterTile

STATS_FIELDS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("count", "BIGINT", pa.int64()),
    ("sum", "DOUBLE", pa.float64()),
    ("mean", "DOUBLE", pa.float64()),
    ("stddev", "DOUBLE", pa.float64()),
    ("min", "DOUBLE", pa.float64()),
    ("max", "DOUBLE", pa.float64()),
)


def _struct_type(fields: tuple[tuple[str, str, pa.DataType], ...]) -> str:
    return "STRUCT(" + ", ".join(f"{n} {t}" for n, t, _ in fields) + ")"


STATS_TYPE = _struct_type(STATS_FIELDS)
RASTER_FIELDS: tuple[tuple[str, str, pa.DataType], ...] = (
    ("upperleft_x", "DOUBLE", pa.float64()),
    ("upperleft_y", "DOUBLE", pa.float64()),
    ("scale_x", "DOUBLE", pa.float64()),
    ("scale_y", "DOUBLE", pa.float64()),
    ("width", "INTEGER", pa.int32()),
    ("height", "INTEGER", pa.int32()),
    ("srid", "INTEGER", pa.int32()),
    ("pixel_min", "DOUBLE", pa.float64()),  # the pixel type's minimum (ST_Clip's fill value)
    ("nodata", "DOUBLE", pa.float64()),  # NULL: the band has no nodata value
    # The cell values: a list in a computed raster (ST_Clip). A stored tile has NULL here and
    # its values in ``cells`` instead: each value's shortest round-trip decimal text,
    # right-aligned in ``cell_width`` - 1 characters, the values separated by commas (see
    # drop_value_lists).
    ("vals", "DOUBLE[]", pa.list_(pa.float64())),
    ("cells", "VARCHAR", pa.string()),
    ("cell_width", "INTEGER", pa.int32()),
    # rst_summarystats of the tile, filled in by the fixture build; NULL in computed rasters.
    ("stats", STATS_TYPE, pa.struct([(n, a) for n, _, a in STATS_FIELDS])),
)
RASTER_TYPE = _struct_type(RASTER_FIELDS)
ARROW_RASTER_TYPE = pa.struct([(n, a) for n, _, a in RASTER_FIELDS])

# rt_pixtype_get_min_value: the minimum of each float pixel type we emit.
_PIXEL_MIN = {"32BF": -3.4028234663852886e38, "64BF": -1.7976931348623157e308}


def tile_struct(tile: RasterTile | None) -> dict[str, Any] | None:
    """The STRUCT value of one tile (None stays NULL), with its values both as a list and
    as ``cells`` text: the fixture build computes the statistics from the list and then
    drops it (:func:`drop_value_lists`)."""
    if tile is None:
        return None
    values = [float(v) for row in tile.values for v in row]
    texts = [repr(v) for v in values]  # shortest text that reads back as the same double
    width = max((len(t) for t in texts), default=0) + 1  # + the comma
    return {
        "upperleft_x": tile.origin[0],
        "upperleft_y": tile.origin[1],
        "scale_x": tile.scale[0],
        "scale_y": tile.scale[1],
        "width": tile.width,
        "height": tile.height,
        "srid": tile.srid,
        "pixel_min": _PIXEL_MIN[tile.pixel_type],
        "nodata": tile.nodata,
        "vals": values,
        "cells": ",".join(t.rjust(width - 1) for t in texts),
        "cell_width": width,
        "stats": None,  # computed in DuckDB by the fixture build (fill_tile_stats)
    }


def fill_tile_stats(con: duckdb.DuckDBPyConnection, table_sql: str, column_sql: str) -> None:
    """Store each tile's rst_summarystats in its ``stats`` field."""
    con.execute(
        f"UPDATE {table_sql} SET {column_sql} = struct_update({column_sql}, "
        f"stats := rst_summarystats({column_sql})) WHERE {column_sql} IS NOT NULL"
    )


def drop_value_lists(con: duckdb.DuckDBPyConnection, table_sql: str, column_sql: str) -> None:
    """Leave each stored tile's values in ``cells`` only.

    A list of ~2,500 values is copied wherever the column passes a join or a lambda (a
    building x tile join that reads ST_Value copied it once per pair); a VARCHAR is passed
    by reference, one cell is read by position (``rst_at``) and the whole list by one
    string_split (``rst_vals``; a lambda would copy the text once per cell).
    """
    con.execute(
        f"UPDATE {table_sql} SET {column_sql} = struct_update({column_sql}, "
        f"vals := NULL::DOUBLE[]) WHERE {column_sql} IS NOT NULL"
    )


# PostGIS's FLT_EQ tolerance (FLT_EPSILON), used where PostGIS compares with it.
_EPS = "1.1920928955078125e-07"

_NULL_STATS = f"NULL::{STATS_TYPE}"

# (name, parameters, body). Bodies may call macros defined earlier in the list.
#
# Why ``list_transform([x], v -> ...)[1]`` everywhere: it binds an expression to a lambda
# parameter ("let"). DuckDB re-evaluates an expression captured by a lambda once per list
# element, so a raster argument that is itself a computed raster (ST_Clip) used inside the
# per-cell lambdas would be recomputed per cell (quadratic); lambda parameters are not.
MACROS: tuple[tuple[str, str, str], ...] = (
    # rt_raster_geopoint_to_cell: floor, except values within FLT_EPSILON of an integer round.
    (
        "rst_floor",
        "v",
        f"CAST(CASE WHEN abs(v - round(v)) <= {_EPS} THEN round(v) ELSE floor(v) END AS BIGINT)",
    ),
    # World -> raster coordinates exactly as PostGIS computes them: GDALInvGeoTransform's
    # inverse (-ul / scale, 1 / scale), not (x - ul) / scale -- the two differ in the last
    # bits, which decides the cell of a point lying on a grid line.
    ("rst_xr", "r, x", "(-r.upperleft_x / r.scale_x) + (1.0 / r.scale_x) * x"),
    ("rst_yr", "r, y", "(-r.upperleft_y / r.scale_y) + (1.0 / r.scale_y) * y"),
    (
        "rst_envelope",
        "r",  # NULL for a NULL raster (an outer join's missing side), as in PostGIS
        "CASE WHEN r IS NULL THEN NULL::GEOMETRY ELSE "
        "ST_MakePolygon(ST_MakeLine([ST_Point(r.upperleft_x, r.upperleft_y), "
        "ST_Point(r.upperleft_x + r.scale_x * r.width, r.upperleft_y), "
        "ST_Point(r.upperleft_x + r.scale_x * r.width, r.upperleft_y + r.scale_y * r.height), "
        "ST_Point(r.upperleft_x, r.upperleft_y + r.scale_y * r.height), "
        "ST_Point(r.upperleft_x, r.upperleft_y)])) END",
    ),
    ("rst_srid_check", "r, gsrid", "gsrid IS NULL OR r.srid = gsrid"),
    # The tile's rectangle as ST_MakeEnvelope (the same area as rst_envelope, cheaper to
    # build; for tests of intersection, where the ring's order does not matter).
    (
        "rst_box",
        "r",
        "ST_MakeEnvelope(least(r.upperleft_x, r.upperleft_x + r.scale_x * r.width), "
        "least(r.upperleft_y, r.upperleft_y + r.scale_y * r.height), "
        "greatest(r.upperleft_x, r.upperleft_x + r.scale_x * r.width), "
        "greatest(r.upperleft_y, r.upperleft_y + r.scale_y * r.height))",
    ),
    # ST_Intersects(raster, geometry): geom intersects the hull; different SRIDs raise only
    # when the boxes overlap (PostGIS checks in _st_intersects). A top-level AND, so that
    # DuckDB can plan the ST_Intersects half as a SPATIAL_JOIN (the CASE it replaced was
    # evaluated pair by pair). Should DuckDB evaluate the ST_Intersects half first, a pair of
    # different SRIDs whose boxes overlap but whose shapes do not is false, not the error.
    (
        "rst_srid_guard",
        "r, g, gsrid",
        "CASE WHEN rst_srid_check(r, gsrid) THEN true "
        "WHEN ST_Intersects_Extent(rst_box(r), g) "
        "THEN error('Raster and geometry do not have the same SRID') ELSE false END",
    ),
    (
        "rst_intersects",
        "r, g, gsrid",
        "(ST_Intersects(rst_box(r), g) AND rst_srid_guard(r, g, gsrid))",
    ),
    # ---- Cell values: the list of a computed raster, else the stored tile's cells text.
    (
        "rst_at",
        "r, k",
        "CASE WHEN r.vals IS NOT NULL THEN r.vals[k] "
        "ELSE CAST(substr(r.cells, (k - 1) * r.cell_width + 1, r.cell_width - 1) AS DOUBLE) END",
    ),
    (
        "rst_vals",
        "r",
        "CASE WHEN r.vals IS NOT NULL OR r.cells IS NULL THEN r.vals "
        "ELSE CAST(string_split(r.cells, ',') AS DOUBLE[]) END",
    ),
    # The raster with its values as a list (ST_Clip and ST_Polygon read many cells).
    (
        "rst_full",
        "r",
        "CASE WHEN r.vals IS NOT NULL OR r.cells IS NULL THEN r "
        "ELSE struct_update(r, vals := rst_vals(r), cells := NULL::VARCHAR) END",
    ),
    # The values of rows r0 .. r0 + nr - 1 (ST_Clip reads its window's rows only).
    (
        "rst_rows",
        "r, r0, nr",
        "CASE WHEN nr <= 0 OR r.width = 0 THEN []::DOUBLE[] "
        "WHEN r.vals IS NOT NULL OR r.cells IS NULL "
        "THEN list_slice(r.vals, r0 * r.width + 1, (r0 + nr) * r.width) "
        "ELSE CAST(string_split(substr(r.cells, r0 * r.width * r.cell_width + 1, "
        "nr * r.width * r.cell_width - 1), ',') AS DOUBLE[]) END",
    ),
    # The raster without its cells text (bound to per-cell lambdas, which copy it per cell).
    (
        "rst_light",
        "r",
        "CASE WHEN r.cells IS NULL THEN r ELSE struct_update(r, cells := NULL::VARCHAR) END",
    ),
    # The 1-based position in vals of cell (c, rw), NULL outside the raster.
    (
        "rst_cell_index",
        "r, c, rw",
        "CASE WHEN c < 0 OR rw < 0 OR c >= r.width OR rw >= r.height THEN NULL "
        "ELSE rw * r.width + c + 1 END",
    ),
    (
        "rst_cell",
        "r, c, rw",
        "CASE WHEN c < 0 OR rw < 0 OR c >= r.width OR rw >= r.height THEN NULL "
        "WHEN r.nodata IS NOT NULL AND rst_at(r, rw * r.width + c + 1) = r.nodata THEN NULL "
        "ELSE rst_at(r, rw * r.width + c + 1) END",
    ),
    (
        "rst_value",
        "r, g, gsrid",
        "list_transform([r], rr -> list_transform([g], gg -> "
        "CASE WHEN rr IS NULL OR gg IS NULL THEN NULL "
        "WHEN ST_GeometryType(gg) <> 'POINT' "
        "THEN error('Attempting to get the value of a pixel with a non-point geometry') "
        "WHEN NOT rst_srid_check(rr, gsrid) "
        "THEN error('Raster and geometry do not have the same SRID') "
        "ELSE rst_cell(rr, CAST(floor(rst_xr(rr, ST_X(gg))) AS BIGINT), "
        "CAST(floor(rst_yr(rr, ST_Y(gg))) AS BIGINT)) END)[1])[1]",
    ),
    # ST_Value of a raster column (the renderer's choice): the same value without binding
    # the raster to a lambda. ``list_transform([r], ...)`` copies the tile -- ~2,500 values
    # -- once per row, and a building x tile join reads ST_Value once per pair; here the
    # cell is found from the tile's scalar fields and read with one list_extract, so the
    # values are never copied. (For a computed raster, an ST_Clip, rst_value binds it once
    # rather than evaluating it at each mention here.) The column and row are bound once
    # (a "let", inside the ELSE, so a non-point still meets its error first):
    # rst_cell_index names each three times, and as text each copy of
    # ``floor(rst_xr(r, ST_X(g)))`` was bound, optimised and evaluated again (issue 16,
    # twelfth pass: 128 raster queries, EXPLAIN 8.8 -> 7.0 ms, run 18.6 -> 15.8 ms, rows
    # identical).
    (
        "rst_value_index",
        "r, g, gsrid",
        "CASE WHEN r IS NULL OR g IS NULL THEN NULL "
        "WHEN ST_GeometryType(g) <> 'POINT' "
        "THEN error('Attempting to get the value of a pixel with a non-point geometry') "
        "WHEN NOT rst_srid_check(r, gsrid) "
        "THEN error('Raster and geometry do not have the same SRID') "
        "ELSE list_transform([CAST(floor(rst_xr(r, ST_X(g))) AS BIGINT)], c -> "
        "list_transform([CAST(floor(rst_yr(r, ST_Y(g))) AS BIGINT)], rw -> "
        "rst_cell_index(r, c, rw))[1])[1] END",
    ),
    (
        "rst_column_value",
        "r, g, gsrid",
        "list_transform([rst_at(r, rst_value_index(r, g, gsrid))], v -> "
        "CASE WHEN v = r.nodata THEN NULL ELSE v END)[1]",
    ),
    (
        "rst_stats_of",
        "d",
        "{'count': CAST(len(d) AS BIGINT), 'sum': list_sum(d), 'mean': list_avg(d), "
        "'stddev': sqrt(list_aggregate(d, 'var_pop')), 'min': list_min(d), 'max': list_max(d)}",
    ),
    (
        "rst_summarystats",
        "r",
        "list_transform([r], rr -> CASE WHEN rr IS NULL OR rr.width * rr.height = 0 THEN "
        f"{_NULL_STATS} WHEN rr.stats IS NOT NULL THEN rr.stats "
        "WHEN rr.nodata IS NULL THEN rst_stats_of(rst_vals(rr)) "
        "ELSE list_transform([rr.nodata], nd -> "
        "rst_stats_of(list_filter(rst_vals(rr), x -> x <> nd)))[1] END)[1]",
    ),
    # For a column: the stored statistics; a computed raster that reaches a column (a CTE
    # arm of ST_Clip, say) has none and gets them computed.
    (
        "rst_tile_stats",
        "r",
        "CASE WHEN r.stats IS NOT NULL THEN r.stats ELSE rst_summarystats(r) END",
    ),
    # ---- ST_Clip. m = the mask grid {c0, nc, r0, nr} in the tile's cell indices;
    # o = the output window in the same indices.
    (
        "rst_clip_grid",
        "r, xmin, xmax, ymin, ymax",
        "{'c0': rst_floor(rst_xr(r, xmin)), "
        "'nc': CAST(greatest(floor((xmax - xmin + abs(r.scale_x) / 2) / abs(r.scale_x)), 1) "
        "+ CASE WHEN abs(r.upperleft_x + abs(r.scale_x) * "
        f"rst_floor(rst_xr(r, xmin)) - xmin) > {_EPS} "
        "THEN 1 ELSE 0 END AS BIGINT), "
        "'r0': rst_floor(rst_yr(r, ymax)), "
        "'nr': CAST(greatest(floor((ymax - ymin + abs(r.scale_y) / 2) / abs(r.scale_y)), 1) "
        "+ CASE WHEN abs(r.upperleft_y - abs(r.scale_y) * "
        f"rst_floor(rst_yr(r, ymax)) - ymax) > {_EPS} "
        "THEN 1 ELSE 0 END AS BIGINT)}",
    ),
    # Points / lines: rt_raster_gdal_rasterize widens their extent by half a cell.
    (
        "rst_clip_mask",
        "r, gi",
        "CASE WHEN ST_Dimension(gi) = 2 THEN rst_clip_grid(r, ST_XMin(gi), ST_XMax(gi), "
        "ST_YMin(gi), ST_YMax(gi)) ELSE rst_clip_grid(r, ST_XMin(gi) - abs(r.scale_x) / 2, "
        "ST_XMax(gi) + abs(r.scale_x) / 2, ST_YMin(gi) - abs(r.scale_y) / 2, "
        "ST_YMax(gi) + abs(r.scale_y) / 2) END",
    ),
    (
        "rst_clip_in",
        "r, gi, m, c, rw",
        "c >= m.c0 AND c < m.c0 + m.nc AND rw >= m.r0 AND rw < m.r0 + m.nr AND CASE "
        "WHEN ST_Dimension(gi) = 2 THEN ST_Intersects(ST_Point(r.upperleft_x + (c + 0.5) * "
        "r.scale_x, r.upperleft_y + (rw + 0.5) * r.scale_y), gi) "
        "ELSE ST_Intersects(ST_MakeEnvelope(r.upperleft_x + c * r.scale_x, r.upperleft_y + "
        "(rw + 1) * r.scale_y, r.upperleft_x + (c + 1) * r.scale_x, r.upperleft_y + rw * "
        "r.scale_y), gi) END",
    ),
    (
        "rst_clip_window",
        "r, m, crop",
        "CASE WHEN crop THEN {'c0': greatest(m.c0, 0), 'r0': greatest(m.r0, 0), "
        "'nc': greatest(least(m.c0 + m.nc, r.width) - greatest(m.c0, 0), 0), "
        "'nr': greatest(least(m.r0 + m.nr, r.height) - greatest(m.r0, 0), 0)} "
        "ELSE {'c0': 0, 'r0': 0, 'nc': r.width, 'nr': r.height} END",
    ),
    (
        "rst_clip_fill",  # w: the values of rows o.r0 .. o.r0 + o.nr - 1 (rst_rows)
        "r, gi, m, o, w",
        "{'upperleft_x': r.upperleft_x + o.c0 * r.scale_x, "
        "'upperleft_y': r.upperleft_y + o.r0 * r.scale_y, "
        "'scale_x': r.scale_x, 'scale_y': r.scale_y, "
        "'width': CAST(o.nc AS INTEGER), 'height': CAST(o.nr AS INTEGER), 'srid': r.srid, "
        "'pixel_min': r.pixel_min, 'nodata': r.nodata, "
        "'vals': list_transform(range(CAST(o.nc * o.nr AS BIGINT)), i -> "
        "CASE WHEN rst_clip_in(r, gi, m, o.c0 + i % o.nc, o.r0 + i // o.nc) "
        "AND w[(i // o.nc) * r.width + o.c0 + i % o.nc + 1] IS NOT NULL "
        "AND NOT (r.nodata IS NOT NULL AND w[(i // o.nc) * r.width + o.c0 + i % o.nc + 1] "
        "= r.nodata) THEN w[(i // o.nc) * r.width + o.c0 + i % o.nc + 1] "
        "ELSE coalesce(r.nodata, r.pixel_min) END), "
        f"'cells': NULL::VARCHAR, 'cell_width': NULL::INTEGER, 'stats': {_NULL_STATS}}}",
    ),
    (
        "rst_empty",
        "r",
        "{'upperleft_x': r.upperleft_x, 'upperleft_y': r.upperleft_y, 'scale_x': 0.0, "
        "'scale_y': 0.0, 'width': 0, 'height': 0, 'srid': r.srid, 'pixel_min': r.pixel_min, "
        "'nodata': r.nodata, 'vals': []::DOUBLE[], 'cells': NULL::VARCHAR, "
        f"'cell_width': NULL::INTEGER, 'stats': {_NULL_STATS}}}",
    ),
    # Macro arguments are substituted as text, so each of o, the window's rows and the
    # raster without its text is bound to a lambda parameter once, not evaluated per cell.
    (
        "rst_clip_bound",
        "r, gi, m, win",
        "list_transform([win], o -> list_transform([rst_rows(r, o.r0, o.nr)], w -> "
        "list_transform([rst_light(r)], rl -> rst_clip_fill(rl, gi, m, o, w))[1])[1])[1]",
    ),
    (
        "rst_clip_gi",
        "r, gi, crop",
        "CASE WHEN ST_IsEmpty(gi) AND crop THEN rst_empty(r) "
        "WHEN ST_IsEmpty(gi) THEN list_transform([{'c0': 0, 'nc': 0, 'r0': 0, 'nr': 0}], "
        "m -> rst_clip_bound(r, gi, m, rst_clip_window(r, m, false)))[1] "
        "ELSE list_transform([rst_clip_mask(r, gi)], m -> "
        "rst_clip_bound(r, gi, m, rst_clip_window(r, m, crop)))[1] END",
    ),
    (
        "rst_clip",
        "r, g, crop, gsrid",
        "list_transform([r], rr -> CASE WHEN rr IS NULL OR NOT rst_srid_check(rr, gsrid) "
        "THEN NULL ELSE list_transform([ST_Intersection(g, rst_envelope(rr))], gi -> "
        "CASE WHEN gi IS NULL THEN NULL ELSE rst_clip_gi(rr, gi, coalesce(crop, true)) END"
        ")[1] END)[1]",
    ),
    # ST_Polygon: the union of the cells that are not nodata (the envelope when none is).
    (
        "rst_polygon",
        "r",
        "list_transform([rst_full(r)], rr -> CASE WHEN rr.nodata IS NULL OR NOT "
        "list_contains(rst_vals(rr), rr.nodata) THEN ST_Multi(rst_envelope(rr)) "
        "ELSE ST_Multi(list_reduce(list_transform(list_filter(range(rr.width * rr.height), "
        "i -> rst_at(rr, i + 1) <> rr.nodata), i -> ST_MakeEnvelope("
        "rr.upperleft_x + (i % rr.width) * rr.scale_x, "
        "rr.upperleft_y + (i // rr.width + 1) * rr.scale_y, "
        "rr.upperleft_x + (i % rr.width + 1) * rr.scale_x, "
        "rr.upperleft_y + (i // rr.width) * rr.scale_y)), (a, b) -> ST_Union(a, b))) END)[1]",
    ),
)


def macro_sql() -> list[str]:
    """The CREATE statements, in dependency order."""
    return [f"CREATE OR REPLACE TEMP MACRO {n}({p}) AS {b}" for n, p, b in MACROS]


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Define the raster macros on ``con`` (idempotent)."""
    for stmt in macro_sql():
        con.execute(stmt)


MACRO_NAMES = frozenset(name for name, _, _ in MACROS)
