"""Read a schema model from a SQL DDL file, parsed with PostgreSQL's own grammar (pglast).

Understood: ``CREATE SCHEMA``, ``CREATE TABLE`` (column types incl. ``geometry(Type,SRID)``,
``geography(Type,SRID)`` and ``raster``; ``NOT NULL``; column or table ``PRIMARY KEY``;
column ``REFERENCES`` and table ``FOREIGN KEY ... REFERENCES``), ``ALTER TABLE ... ADD
COLUMN / ADD [CONSTRAINT] PRIMARY KEY / FOREIGN KEY`` and ``COMMENT ON TABLE/COLUMN`` (read
as descriptions). Every other statement (``CREATE EXTENSION``, ``CREATE INDEX``, ``SET``,
``INSERT`` ...) is tolerated and ignored. Unqualified tables live in schema ``public``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from pglast import ast, parse_sql
from pglast.enums import AlterTableType, ConstrType, ObjectType
from pglast.parser import ParseError
from pglast.stream import RawStream

from cimgen.errors import SchemaError
from cimgen.schema.model import GEOMETRY_TYPES, Column, Relation, Schema, Table

DEFAULT_SCHEMA = "public"

# PostGIS spells geometry types in CamelCase; the model stores them upper case.
CAMEL_GEOMETRY = {
    "GEOMETRY": "Geometry",
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
_DIMS = re.compile(r"(ZM|Z|M)$")


def camel_geometry(gtype: str) -> str:
    """PostGIS spelling of a geometry type name, keeping a Z/M/ZM suffix.

    >>> camel_geometry("MULTIPOLYGONZ")
    'MultiPolygonZ'
    """
    upper = gtype.upper()
    base, dims = (upper, "") if upper in CAMEL_GEOMETRY else _split_dims(upper)
    return CAMEL_GEOMETRY.get(base, base) + dims


def _split_dims(upper: str) -> tuple[str, str]:
    m = _DIMS.search(upper)
    if m and upper[: m.start()] in CAMEL_GEOMETRY:
        return upper[: m.start()], m.group(1)
    return upper, ""


def known_geometry_type(gtype: str) -> bool:
    """True for a PostGIS geometry type name, with or without a Z/M/ZM suffix."""
    return _split_dims(gtype.upper())[0] in GEOMETRY_TYPES


def load_ddl(path: Path) -> Schema:
    """Load a schema model from a ``.sql`` DDL file (see the module docstring)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SchemaError.at(
            path, None, f"not UTF-8 text ({exc.reason})", "Save the DDL file as UTF-8"
        ) from None
    return schema_from_ddl(text, source=str(path), name=Path(path).stem)


def schema_from_ddl(sql: str, source: str = "<ddl>", name: str = "schema") -> Schema:
    """Build a schema model from DDL text.

    >>> s = schema_from_ddl("CREATE TABLE t (id int PRIMARY KEY, g geometry(Point,4326));")
    >>> s.table("public.t").primary_key, s.table("public.t").column("g").srid
    (('id',), 4326)
    """
    return _Reader(sql, source).read(name)


@dataclass
class _TableDraft:
    schema: str
    name: str
    line: int
    columns: dict[str, Column] = field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    description: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass
class _ForeignKey:
    table: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]  # empty: the target's primary key
    line: int


class _Reader:
    """One pass over the statements, collecting drafts; relations resolved at the end."""

    def __init__(self, sql: str, source: str) -> None:
        self.sql = sql
        self.source = source
        self.tables: dict[str, _TableDraft] = {}
        self.fkeys: list[_ForeignKey] = []

    # -- entry ------------------------------------------------------------------------
    def read(self, name: str) -> Schema:
        try:
            stmts = parse_sql(self.sql)
        except ParseError as exc:
            message, index = (*exc.args, None, None)[:2]
            end = len(self.sql.rstrip())  # "at end of input": the last written line
            line = self._line(index if isinstance(index, int) else end)
            raise SchemaError.at(
                self.source,
                line,
                f"SQL syntax error: {message}",
                "Fix the statement (PostgreSQL DDL syntax)",
            ) from None
        for raw in stmts:
            self._statement(raw.stmt, self._line(raw.stmt_location or 0))
        if not self.tables:
            raise SchemaError.at(
                self.source,
                None,
                "no CREATE TABLE statement found",
                "Add at least one CREATE TABLE",
            )
        relations = [self._relation(fk) for fk in self.fkeys]
        tables = tuple(self._table(d) for d in self.tables.values())
        return Schema(name=name, tables=tables, relations=tuple(relations), source=self.source)

    def _table(self, draft: _TableDraft) -> Table:
        for k in draft.primary_key:
            col = draft.columns.get(k)
            if col is None:
                raise self._fail(
                    draft.line,
                    f"primary key column {k!r} is not a column of {draft.qualified}",
                    "Fix the PRIMARY KEY column list",
                )
            # PostgreSQL makes primary-key columns NOT NULL; the model says so too.
            draft.columns[k] = replace(col, nullable=False)
        return Table(
            schema=draft.schema,
            name=draft.name,
            columns=tuple(draft.columns.values()),
            primary_key=draft.primary_key,
            description=draft.description,
        )

    def _line(self, index: int) -> int:
        # pglast reports character (not byte) offsets.
        return self.sql.count("\n", 0, max(index, 0)) + 1

    def _fail(self, line: int, problem: str, fix: str) -> SchemaError:
        return cast(SchemaError, SchemaError.at(self.source, line, problem, fix))

    # -- statements -------------------------------------------------------------------
    def _statement(self, stmt: Any, line: int) -> None:
        if isinstance(stmt, ast.CreateStmt):
            self._create_table(stmt, line)
        elif isinstance(stmt, ast.AlterTableStmt):
            self._alter_table(stmt, line)
        elif isinstance(stmt, ast.CommentStmt):
            self._comment(stmt, line)
        # CREATE SCHEMA/EXTENSION/INDEX and anything else: nothing the model needs.

    def _create_table(self, stmt: Any, line: int) -> None:
        rel = stmt.relation
        line = self._line(rel.location) if rel.location is not None else line
        draft = _TableDraft(rel.schemaname or DEFAULT_SCHEMA, rel.relname, line)
        if draft.qualified in self.tables:
            raise self._fail(
                line,
                f"table {draft.qualified} is created twice",
                "Remove the duplicate CREATE TABLE",
            )
        self.tables[draft.qualified] = draft
        for elt in stmt.tableElts or ():
            if isinstance(elt, ast.ColumnDef):
                self._column(draft, elt, line)
            elif isinstance(elt, ast.Constraint):
                self._table_constraint(draft, elt, line)

    def _alter_table(self, stmt: Any, line: int) -> None:
        rel = stmt.relation
        qualified = f"{rel.schemaname or DEFAULT_SCHEMA}.{rel.relname}"
        draft = self.tables.get(qualified)
        for cmd in stmt.cmds or ():
            if cmd.subtype not in (AlterTableType.AT_AddColumn, AlterTableType.AT_AddConstraint):
                continue
            if draft is None:
                raise self._fail(
                    line,
                    f"ALTER TABLE of unknown table {qualified}",
                    "Create the table before altering it",
                )
            if isinstance(cmd.def_, ast.ColumnDef):
                self._column(draft, cmd.def_, line)
            elif isinstance(cmd.def_, ast.Constraint):
                self._table_constraint(draft, cmd.def_, line)

    def _comment(self, stmt: Any, line: int) -> None:
        names: list[str] = [n.sval for n in stmt.object] if isinstance(stmt.object, tuple) else []
        text = stmt.comment or ""
        if stmt.objtype == ObjectType.OBJECT_TABLE and names:
            draft = self._find(names, line)
            draft.description = text
        elif stmt.objtype == ObjectType.OBJECT_COLUMN and len(names) >= 2:
            draft = self._find(names[:-1], line)
            col = draft.columns.get(names[-1])
            if col is None:
                raise self._fail(
                    line,
                    f"COMMENT ON COLUMN: {draft.qualified} has no column {names[-1]!r}",
                    "Fix the column name",
                )
            draft.columns[col.name] = replace(col, description=text)

    def _find(self, names: list[str], line: int) -> _TableDraft:
        qualified = ".".join(names) if len(names) > 1 else f"{DEFAULT_SCHEMA}.{names[0]}"
        draft = self.tables.get(qualified)
        if draft is None:
            raise self._fail(
                line,
                f"COMMENT ON unknown table {qualified}",
                "Create the table before commenting on it",
            )
        return draft

    # -- columns and constraints --------------------------------------------------------
    def _column(self, draft: _TableDraft, col: Any, line: int) -> None:
        line = self._line(col.location) if col.location is not None else line
        type_text = self._type_text(col.typeName, draft, col.colname, line)
        nullable = not col.is_not_null
        for con in col.constraints or ():
            if con.contype == ConstrType.CONSTR_NOTNULL:
                nullable = False
            elif con.contype == ConstrType.CONSTR_PRIMARY:
                self._set_pk(draft, (col.colname,), line)
                nullable = False
            elif con.contype == ConstrType.CONSTR_FOREIGN:
                self._add_fk(draft, (col.colname,), con, line)
        if col.colname in draft.columns:
            raise self._fail(
                line,
                f"column {draft.qualified}.{col.colname} is defined twice",
                "Remove the duplicate column",
            )
        draft.columns[col.colname] = Column.of(col.colname, type_text, nullable=nullable)

    def _type_text(self, tn: Any, draft: _TableDraft, cname: str, line: int) -> str:
        """The column type as a reader would write it (pg_catalog. prefixes dropped)."""
        base = tn.names[-1].sval.lower()
        bounds = "[]" * len(tn.arrayBounds or ())
        if base in ("geometry", "geography"):
            mods = [_typmod_value(m) for m in tn.typmods or ()]
            where = f"{draft.qualified}.{cname}"
            if not mods or len(mods) != 2 or not isinstance(mods[1], int):
                raise self._fail(
                    line,
                    f"{base} column {where} needs a type and an SRID",
                    f"Write {base}(Type,SRID), e.g. {base}(Polygon,4326)",
                )
            gtype = str(mods[0])
            if not known_geometry_type(gtype):
                raise self._fail(
                    line,
                    f"column {where}: unknown geometry type {gtype!r}",
                    "Use one of " + ", ".join(CAMEL_GEOMETRY.values()),
                )
            return f"{base}({camel_geometry(gtype)},{mods[1]}){bounds}"
        if base == "raster":
            # pg_dump qualifies extension types with their schema (public.raster).
            return f"raster{bounds}"
        text = RawStream()(tn)
        text = text.replace("pg_catalog.", "")
        return re.sub(r",\s+", ",", text)

    def _table_constraint(self, draft: _TableDraft, con: Any, line: int) -> None:
        if con.location is not None:
            line = self._line(con.location)
        if con.contype == ConstrType.CONSTR_PRIMARY:
            keys = tuple(k.sval for k in con.keys or ())
            self._set_pk(draft, keys, line)
        elif con.contype == ConstrType.CONSTR_FOREIGN:
            self._add_fk(draft, tuple(k.sval for k in con.fk_attrs or ()), con, line)

    def _set_pk(self, draft: _TableDraft, keys: tuple[str, ...], line: int) -> None:
        if draft.primary_key:
            raise self._fail(
                line, f"table {draft.qualified} has two primary keys", "Keep one PRIMARY KEY"
            )
        draft.primary_key = keys

    def _add_fk(self, draft: _TableDraft, cols: tuple[str, ...], con: Any, line: int) -> None:
        target = con.pktable
        self.fkeys.append(
            _ForeignKey(
                table=draft.qualified,
                columns=cols,
                target=f"{target.schemaname or DEFAULT_SCHEMA}.{target.relname}",
                target_columns=tuple(k.sval for k in con.pk_attrs or ()),
                line=line,
            )
        )

    def _relation(self, fk: _ForeignKey) -> Relation:
        target = self.tables.get(fk.target)
        if target is None:
            raise self._fail(
                fk.line,
                f"foreign key of {fk.table} references unknown table {fk.target}",
                "Create the referenced table in the same file "
                "(unqualified names are in schema public)",
            )
        target_cols = fk.target_columns or target.primary_key
        if not target_cols:
            raise self._fail(
                fk.line,
                f"foreign key of {fk.table} references {fk.target}, which has no primary key",
                "Name the referenced columns",
            )
        for qualified, cols in ((fk.table, fk.columns), (fk.target, target_cols)):
            draft = self.tables[qualified]
            for c in cols:
                if c not in draft.columns:
                    raise self._fail(
                        fk.line,
                        f"foreign key: {qualified} has no column {c!r}",
                        "Fix the column name",
                    )
        if len(fk.columns) != len(target_cols):
            raise self._fail(
                fk.line,
                f"foreign key of {fk.table}: {len(fk.columns)} column(s) "
                f"reference {len(target_cols)}",
                "Give equally many columns",
            )
        return Relation(fk.table, fk.columns, fk.target, tuple(target_cols), "foreign_key")


def _typmod_value(node: Any) -> Any:
    if isinstance(node, ast.ColumnRef) and node.fields:
        return node.fields[-1].sval
    if isinstance(node, ast.A_Const) and node.val is not None:
        val = node.val
        for attr in ("ival", "sval", "fval"):
            if hasattr(val, attr):
                return getattr(val, attr)
    return None
