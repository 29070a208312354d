"""Name resolution for the backend renderers.

The DuckDB and SpatiaLite renderers need to know what a column reference *is* -- a raster
column (unsupported there), an integer (PostgreSQL's ``int / int`` truncates, DuckDB's does
not), a geometry in which SRID -- so they resolve it against the FROM items in scope: a
schema table, or a CTE / derived table whose select list is resolved in turn.
Resolution is best effort: anything it cannot follow resolves to ``None`` ("unknown").
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimgen import ast
from cimgen.schema.model import Column as SchemaColumn
from cimgen.schema.model import Schema, Table

# How deep a column may be followed through CTEs / derived tables (guards against cycles).
_MAX_DEPTH = 16


@dataclass
class QuerySource:
    """A CTE or derived table in FROM: its query, explicit column names and the CTEs
    visible where it is defined."""

    query: ast.Query
    columns: tuple[str, ...]
    ctes: dict[str, ast.CTE]
    _scope: Scope | None = field(default=None, repr=False)


Source = Table | QuerySource | None
Resolved = SchemaColumn | tuple[ast.Expr, "Scope"] | None


def first_select(body: ast.Select | ast.SetOp | ast.Query) -> ast.Select:
    """The left-most SELECT block of a query body (it names the output columns)."""
    while not isinstance(body, ast.Select):
        body = body.left if isinstance(body, ast.SetOp) else body.body
    return body


class Scope:
    """The FROM items visible in one SELECT block, chained to the enclosing blocks."""

    __slots__ = ("ctes", "parent", "schema", "sources")

    def __init__(
        self,
        schema: Schema,
        sources: dict[str, Source],
        parent: Scope | None,
        ctes: dict[str, ast.CTE],
    ) -> None:
        self.schema = schema
        self.sources = sources
        self.parent = parent
        self.ctes = ctes

    @classmethod
    def of_select(
        cls, select: ast.Select, schema: Schema, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> Scope:
        sources: dict[str, Source] = {}
        stack: list[ast.FromItem] = list(select.from_)
        while stack:
            item = stack.pop()
            if isinstance(item, ast.Join):
                stack.extend((item.right, item.left))
            elif isinstance(item, ast.DerivedTable):
                sources[item.alias] = QuerySource(item.query, (), ctes)
            elif isinstance(item, ast.TableRef):
                sources[item.ref_name] = resolve_table(item, schema, ctes)
        return cls(schema, sources, parent, ctes)

    def table_of(self, ref_name: str) -> Source:
        scope: Scope | None = self
        while scope is not None:
            if ref_name in scope.sources:
                return scope.sources[ref_name]
            scope = scope.parent
        return None

    def resolve(self, col: ast.Column, depth: int = 0) -> Resolved:
        """The schema column, or the defining ``(expression, scope)``, of ``col``."""
        found = self._locate(col, depth)
        return found[2] if found is not None else None

    def base_column(self, col: ast.Column) -> tuple[str, Table, SchemaColumn] | None:
        """(reference name, table, column) when ``col`` names a column of a schema table in
        FROM directly (not through a CTE or derived table); None otherwise."""
        found = self._locate(col, 0)
        if found is not None and isinstance(found[1], Table) and isinstance(found[2], SchemaColumn):
            return found[0], found[1], found[2]
        return None

    def reference_of(self, col: ast.Column) -> str | None:
        """The reference name (alias) of the FROM item ``col`` belongs to, in this block or
        an enclosing one; None when it cannot be followed."""
        found = self._locate(col, 0)
        return found[0] if found is not None else None

    def _locate(self, col: ast.Column, depth: int) -> tuple[str, Source, Resolved] | None:
        """The FROM item ``col`` refers to (its reference name and source) and what the
        column resolves to there; a qualifier in scope is final even if the column is not."""
        if depth > _MAX_DEPTH:
            return None
        scope: Scope | None = self
        while scope is not None:
            if col.table is not None:
                if col.table in scope.sources:
                    source = scope.sources[col.table]
                    return col.table, source, _lookup(source, col.name, self.schema, depth)
            else:
                for ref_name, source in scope.sources.items():
                    found = _lookup(source, col.name, self.schema, depth)
                    if found is not None:
                        return ref_name, source, found
            scope = scope.parent
        return None


def resolve_table(ref: ast.TableRef, schema: Schema, ctes: dict[str, ast.CTE]) -> Source:
    """A table reference's source: a visible CTE (bare names only) or a schema table."""
    if ref.schema is None and ref.name in ctes:
        cte = ctes[ref.name]
        return QuerySource(cte.query, cte.columns, ctes)
    return schema.find_table(ref.name, ref.schema)


def _lookup(source: Source, name: str, schema: Schema, depth: int) -> Resolved:
    if source is None:
        return None
    if isinstance(source, Table):
        return source.column(name)
    select = first_select(source.query.body)
    if source._scope is None:
        ctes = dict(source.ctes)
        ctes.update((c.name, c) for c in source.query.ctes)
        source._scope = Scope.of_select(select, schema, None, ctes)
    scope = source._scope
    if source.columns:
        if name in source.columns:
            index = source.columns.index(name)
            if index < len(select.items):
                return (select.items[index].expr, scope)
        return None
    for item in select.items:
        expr = item.expr
        if isinstance(expr, ast.Star):
            found = scope.resolve(ast.Column(name, expr.table), depth + 1)
            if found is not None:
                return found
            continue
        out = item.alias or (expr.name if isinstance(expr, ast.Column) else None)
        if out == name:
            return (expr, scope)
    return None
