"""Write a schema model out as PostGIS DDL or as the YAML schema-file format.

This is cimgen's one DDL writer: ``cimgen schema export`` writes :func:`to_ddl`, and
``cimgen db init`` (:func:`cimgen.engines.postgis.init_database`) runs the same statements
in load order: :func:`table_statements` before loading rows, :func:`foreign_key_statements`
and :func:`index_statements` after. So the database cimgen creates is exactly the model it
generates against.
"""

from __future__ import annotations

import hashlib
import re

import yaml
from pglast.keywords import RESERVED_KEYWORDS, TYPE_FUNC_NAME_KEYWORDS

from cimgen.schema.ddl import DEFAULT_SCHEMA, camel_geometry
from cimgen.schema.model import Column, Relation, Schema, Table

_PLAIN_IDENT = re.compile(r"^[a-z_][a-z0-9_$]*$")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier only where PostgreSQL needs it.

    >>> quote_ident("building"), quote_ident("user"), quote_ident("Mixed Case")
    ('building', '"user"', '"Mixed Case"')
    """
    if (
        _PLAIN_IDENT.match(name)
        and name not in RESERVED_KEYWORDS
        and name not in TYPE_FUNC_NAME_KEYWORDS
    ):
        return name
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def qualified_ident(qualified: str) -> str:
    schema, _, name = qualified.partition(".")
    return f"{quote_ident(schema)}.{quote_ident(name)}"


def column_ddl_type(col: Column) -> str:
    """The column's type as written in the model, with a typmod added where the model keeps
    geometry type and SRID in separate keys (PostGIS must see them to record them)."""
    if col.kind == "geometry" and "(" not in col.type and col.srid is not None:
        base = col.type.strip().split()[0].lower()
        return f"{base}({camel_geometry(col.geometry_type or 'GEOMETRY')},{col.srid})"
    return col.type


def exportable_foreign_key(schema: Schema, rel: Relation) -> bool:
    """A relation becomes a FOREIGN KEY constraint only when it is declared as one and its
    referenced columns are exactly the target's primary key (PostgreSQL needs a unique key)."""
    target = schema.table(rel.right)
    return (
        rel.kind == "foreign_key"
        and target is not None
        and len(rel.right_columns) == len(target.primary_key)
        and set(rel.right_columns) == set(target.primary_key)
    )


def to_ddl(schema: Schema) -> str:
    """PostGIS DDL that creates ``schema`` in an empty database (idempotent extensions).

    >>> from cimgen.schema.load import load_schema
    >>> "CREATE TABLE cim_vector.building (" in to_ddl(load_schema("cim_wizard"))
    True
    """
    out = [f"-- cimgen schema: {schema.name}"]
    if schema.description:
        out.append(f"-- {_one_line(schema.description)}")
    if schema.metric_srid:
        out.append(f"-- metric_srid: {schema.metric_srid}")
    out += [
        "CREATE EXTENSION IF NOT EXISTS postgis;",
        "CREATE EXTENSION IF NOT EXISTS postgis_raster;",
        "",
    ]
    out += table_statements(schema)
    fks = foreign_key_statements(schema)
    if fks:
        out += ["", *fks]
    others = [r for r in schema.relations if not exportable_foreign_key(schema, r)]
    if others:
        out += ["", "-- Join relations without a constraint behind them:"]
    for rel in others:
        why = "" if rel.kind == "key_equality" else " (foreign key not on the target's primary key)"
        out.append(
            f"-- {rel.kind}: {rel.left} ({', '.join(rel.left_columns)}) = "
            f"{rel.right} ({', '.join(rel.right_columns)}){why}"
        )
    indexes = index_statements(schema)
    if indexes:
        out += ["", "-- Spatial indexes and join-key indexes (both sides of every relation):"]
        out += indexes
    return "\n".join(out) + "\n"


def table_statements(schema: Schema) -> list[str]:
    """CREATE SCHEMA and CREATE TABLE (primary keys, comments) lines; no extensions, no
    foreign keys, so rows can be loaded in any table order afterwards."""
    out = [
        f"CREATE SCHEMA IF NOT EXISTS {quote_ident(name)};"
        for name in schema.schemas
        if name != DEFAULT_SCHEMA
    ]
    for table in schema.tables:
        out += ["", *_table_ddl(table)]
    return out


def foreign_key_statements(schema: Schema) -> list[str]:
    """ALTER TABLE ... ADD FOREIGN KEY, one per :func:`exportable_foreign_key` relation."""
    return [
        f"ALTER TABLE {qualified_ident(rel.left)} ADD FOREIGN KEY "
        f"({_idents(rel.left_columns)}) REFERENCES {qualified_ident(rel.right)} "
        f"({_idents(rel.right_columns)});"
        for rel in schema.relations
        if exportable_foreign_key(schema, rel)
    ]


def index_statements(schema: Schema) -> list[str]:
    """CREATE INDEX statements, as a deployed spatial database has them.

    GiST on every geometry column and on the convex hull of every raster column (what
    ``raster2pgsql -I`` builds; raster ``&&`` / ``ST_Intersects`` use it); btree on the
    columns of both sides of every relation, unless the primary key or a wider relation
    index already leads with them.

    >>> from cimgen.schema.load import load_schema
    >>> [s for s in index_statements(load_schema("cim_wizard")) if "grid_line_from" in s]
    ['CREATE INDEX grid_line_from_bus_idx ON cim_vector.grid_line (from_bus);']
    """
    out: list[str] = []
    for table in schema.tables:
        for col in table.columns:
            if col.kind == "geometry":
                out.append(_index(table, (col.name,), "gist", quote_ident(col.name)))
            elif col.kind == "raster":
                expr = f"ST_ConvexHull({quote_ident(col.name)})"
                out.append(_index(table, (col.name,), "gist", expr))
    keys: list[tuple[str, tuple[str, ...]]] = []
    for rel in schema.relations:
        keys += [(rel.left, rel.left_columns), (rel.right, rel.right_columns)]
    keys = list(dict.fromkeys(keys))
    for name, cols in keys:
        target = schema.table(name)
        if target is None:
            continue
        covered = [tuple(target.primary_key)]
        covered += [c for n, c in keys if n == name and len(c) > len(cols)]
        if any(tuple(c[: len(cols)]) == tuple(cols) for c in covered):
            continue  # an index leading with these columns serves lookups on them too
        out.append(_index(target, cols, "btree", _idents(cols)))
    return out


def _index(table: Table, cols: tuple[str, ...], method: str, expr: str) -> str:
    name = "_".join((table.name, *cols, "idx"))
    if len(name.encode()) > 63:  # PostgreSQL truncates at 63 bytes: keep names distinct
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        name = name.encode()[:50].decode(errors="ignore") + "_" + digest + "_idx"
    using = "" if method == "btree" else f" USING {method}"
    return (
        f"CREATE INDEX {quote_ident(name)} ON {qualified_ident(table.qualified)}{using} ({expr});"
    )


def tables_ddl(schema: Schema, names: tuple[str, ...]) -> str:
    """CREATE TABLE statements (columns, types, primary key; no comments) of the tables
    ``names`` (``schema.table``), in that order: the schema context of one query.

    >>> from cimgen.schema.load import load_schema
    >>> print(tables_ddl(load_schema("cim_wizard"), ("cim_raster.dtm_raster",)))
    CREATE TABLE cim_raster.dtm_raster (
        id serial,
        rast raster,
        filename varchar(255),
        upload_date timestamp with time zone,
        srid integer,
        min_elevation float,
        max_elevation float,
        PRIMARY KEY (id)
    );
    """
    tables = [t for t in (schema.table(n) for n in names) if t is not None]
    return "\n\n".join("\n".join(_table_ddl(t, comments=False)) for t in tables)


def _table_ddl(table: Table, comments: bool = True) -> list[str]:
    lines = []
    for col in table.columns:
        null = "" if col.nullable or col.name in table.primary_key else " NOT NULL"
        lines.append(f"    {quote_ident(col.name)} {column_ddl_type(col)}{null}")
    if table.primary_key:
        lines.append(f"    PRIMARY KEY ({_idents(table.primary_key)})")
    out = [f"CREATE TABLE {qualified_ident(table.qualified)} (", ",\n".join(lines), ");"]
    if not comments:
        return out
    if table.description:
        out.append(
            f"COMMENT ON TABLE {qualified_ident(table.qualified)} IS "
            f"{quote_literal(table.description)};"
        )
    for col in table.columns:
        if col.description:
            out.append(
                f"COMMENT ON COLUMN {qualified_ident(table.qualified)}."
                f"{quote_ident(col.name)} IS {quote_literal(col.description)};"
            )
    return out


def _idents(names: tuple[str, ...]) -> str:
    return ", ".join(quote_ident(n) for n in names)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def to_yaml(schema: Schema) -> str:
    """The schema in the YAML schema-file format; ``load_schema_file`` reads it back equal.

    >>> from cimgen.schema.load import load_schema
    >>> to_yaml(load_schema("cim_wizard")).splitlines()[1]
    'name: cim_wizard'
    """
    header = f"# cimgen schema file (format: docs/schema-format.md): {schema.name}\n"
    body = yaml.safe_dump(
        schema.to_dict(), sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    return header + body
