"""AST -> SQL for PostGIS (canonical), DuckDB spatial and SpatiaLite.

>>> from cimgen import ast
>>> q = ast.Query(ast.Select((ast.SelectItem(ast.FuncCall("ST_Area", (ast.Column("geom"),),
...                                                          schema="public")),),))
>>> render_postgis(q)
'SELECT public.ST_Area(geom)'
"""

from __future__ import annotations

from cimgen import ast
from cimgen.render.base import Rendered, quote_ident, quote_string
from cimgen.render.duckdb import render_duckdb
from cimgen.render.postgis import render_postgis
from cimgen.render.spatialite import render_spatialite, spatialite_table_name
from cimgen.schema.model import Schema

BACKENDS = ("postgis", "duckdb", "spatialite")


def render_all(query: ast.Query, schema: Schema) -> dict[str, Rendered]:
    """Every backend's rendering, keyed "postgis", "duckdb", "spatialite"."""
    return {
        "postgis": Rendered(render_postgis(query), None),
        "duckdb": render_duckdb(query, schema),
        "spatialite": render_spatialite(query, schema),
    }


__all__ = [
    "BACKENDS",
    "Rendered",
    "quote_ident",
    "quote_string",
    "render_all",
    "render_duckdb",
    "render_postgis",
    "render_spatialite",
    "spatialite_table_name",
]
