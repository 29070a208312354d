"""Introspect a live PostgreSQL/PostGIS database into a schema model.

Types come from ``pg_catalog`` (``format_type``, which already prints
``geometry(Polygon,4326)``); ``geometry_columns`` / ``raster_columns`` fill in geometry type
and SRID where the column type has no typmod; primary and foreign keys come from
``pg_constraint``. System and PostGIS schemas, and tables owned by an extension (such as
``public.spatial_ref_sys``), are skipped.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from cimgen.errors import DatabaseError, SchemaError
from cimgen.schema.model import Column, Relation, Schema, Table

SKIPPED_SCHEMAS = (
    "information_schema",
    "pg_catalog",
    "pg_toast",
    "topology",
    "tiger",
    "tiger_data",
)
_SERIAL = {"integer": "serial", "bigint": "bigserial", "smallint": "smallserial"}

_USER_TABLES = """
    c.relkind IN ('r', 'p')
    AND n.nspname <> ALL(%(skip)s)
    AND n.nspname NOT LIKE 'pg\\_%%'
    AND NOT EXISTS (SELECT 1 FROM pg_depend dep
                    WHERE dep.classid = 'pg_class'::regclass AND dep.objid = c.oid
                      AND dep.deptype = 'e')
"""

_COLUMNS = f"""
SELECT n.nspname, c.relname, obj_description(c.oid, 'pg_class'),
       a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid), col_description(c.oid, a.attnum)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE {_USER_TABLES}
ORDER BY c.oid, a.attnum
"""

_CONSTRAINTS = f"""
SELECT con.contype, n.nspname, c.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num
             ORDER BY k.ord),
       fn.nspname, fc.relname,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(num, ord)
             JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.num
             ORDER BY k.ord)
FROM pg_constraint con
JOIN pg_class c ON c.oid = con.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class fc ON fc.oid = con.confrelid
LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace
WHERE con.contype IN ('p', 'f') AND {_USER_TABLES}
ORDER BY con.oid
"""

_GEOMETRY = """
SELECT f_table_schema, f_table_name, f_geometry_column, upper(type), srid
FROM geometry_columns
"""
_RASTER = "SELECT r_table_schema, r_table_name, r_raster_column, srid FROM raster_columns"


def redact(url: str) -> str:
    """The URL with any password replaced by ``***`` (messages must not leak it).

    >>> redact("postgresql://bob:secret@db:5432/cim")
    'postgresql://bob:***@db:5432/cim'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def load_live(url: str) -> Schema:
    """Introspect the database at ``url`` (``postgresql://user@host:port/dbname``)."""
    import psycopg

    shown = redact(url)
    try:
        conn = psycopg.connect(url, connect_timeout=5)
    except (psycopg.Error, ValueError) as exc:
        reason = " ".join(str(exc).split()).rstrip(" .?") or type(exc).__name__
        raise DatabaseError(
            f"cannot connect to {shown}: {reason}. Check the URL and that the server runs "
            "(cimgen db up starts one)."
        ) from None
    try:
        with conn:
            return _introspect(conn, shown)
    except psycopg.Error as exc:
        reason = " ".join(str(exc).split()).rstrip(" .?")
        raise DatabaseError(
            f"cannot read the catalog of {shown}: {reason}. Check that the "
            "user may read the database's tables."
        ) from None


def _introspect(conn: Any, shown: str) -> Schema:
    params = {"skip": list(SKIPPED_SCHEMAS)}
    columns: dict[str, list[Column]] = {}
    descriptions: dict[str, str] = {}
    for nsp, rel, tdesc, att, typ, notnull, default, cdesc in conn.execute(_COLUMNS, params):
        qualified = f"{nsp}.{rel}"
        descriptions[qualified] = tdesc or ""
        columns.setdefault(qualified, []).append(
            Column.of(att, _type_text(typ, default), nullable=not notnull, description=cdesc or "")
        )
    if not columns:
        raise SchemaError(
            f"{shown}: no user tables found (system and PostGIS schemas are "
            "skipped). Create the tables first (cimgen db init) or give another "
            "database to --schema."
        )
    _fill_spatial(conn, columns)
    pks: dict[str, tuple[str, ...]] = {}
    relations: list[Relation] = []
    for kind, nsp, rel, cols, fnsp, frel, fcols in conn.execute(_CONSTRAINTS, params):
        if kind == "p":
            pks[f"{nsp}.{rel}"] = tuple(cols)
        elif f"{fnsp}.{frel}" in columns:  # a key into a skipped table is no join we can use
            relations.append(
                Relation(f"{nsp}.{rel}", tuple(cols), f"{fnsp}.{frel}", tuple(fcols), "foreign_key")
            )
    tables = tuple(
        Table(
            schema=q.split(".", 1)[0],
            name=q.split(".", 1)[1],
            columns=tuple(cols),
            primary_key=pks.get(q, ()),
            description=descriptions[q],
        )
        for q, cols in columns.items()
    )
    return Schema(name=conn.info.dbname, tables=tables, relations=tuple(relations), source=shown)


def _type_text(sql_type: str, default: str | None) -> str:
    """``format_type`` output, with ``integer DEFAULT nextval(...)`` shown as ``serial``."""
    if default and default.startswith("nextval(") and sql_type in _SERIAL:
        return _SERIAL[sql_type]
    return sql_type


def _fill_spatial(conn: Any, columns: dict[str, list[Column]]) -> None:
    """Take geometry type and SRID from PostGIS's views where the type has no typmod."""
    found = conn.execute(
        "SELECT to_regclass('geometry_columns') IS NOT NULL, "
        "to_regclass('raster_columns') IS NOT NULL"
    ).fetchone()
    rows: list[tuple[str, str, str, str | None, int | None]] = []
    if found[0]:
        rows += [tuple(r) for r in conn.execute(_GEOMETRY)]
    if found[1]:
        rows += [(s, t, c, None, srid) for s, t, c, srid in conn.execute(_RASTER)]
    for nsp, rel, name, gtype, srid in rows:
        cols = columns.get(f"{nsp}.{rel}")
        if not cols:
            continue
        for i, col in enumerate(cols):
            if col.name != name:
                continue
            changes: dict[str, Any] = {}
            if col.srid is None and srid:
                changes["srid"] = int(srid)
            if col.kind == "geometry" and gtype and not re.search(r"\(", col.type):
                changes["geometry_type"] = gtype
            if changes:
                cols[i] = replace(col, **changes)
