"""PostGIS: the canonical rendering (the dataset's ``sql_postgis``).

The base renderer already speaks PostgreSQL; this module only names it. The invariant
``parse(render_postgis(q)) == q`` holds for canonical trees (see cimgen/ast.py).
"""

from __future__ import annotations

from cimgen import ast
from cimgen.render.base import Renderer


class PostgisRenderer(Renderer):
    backend = "PostGIS"


_RENDERER = PostgisRenderer()  # stateless: no scope, no schema


def render_postgis(query: ast.Query) -> str:
    """Canonical PostGIS SQL for ``query`` (multi-line, no trailing semicolon).

    >>> from cimgen import ast
    >>> q = ast.Query(ast.Select((ast.SelectItem(ast.Column("id")),),
    ...                          (ast.TableRef("building", "cim_vector", "b"),)))
    >>> print(render_postgis(q))
    SELECT id
    FROM cim_vector.building AS b
    """
    return _RENDERER.render(query)
