"""Name resolution: what a table alias or a column reference of a query *is*.

One :class:`Scope` per SELECT block holds the FROM items visible there (its *sources*),
chained to the scope of the enclosing block (a correlated subquery sees the outer FROM) and
carrying the CTEs visible where the block is written. A source is a schema table, a
:class:`QuerySource` (a CTE or a derived table: its query, explicit column names and the
CTEs visible where it is defined), or ``None`` (a table the schema does not know).

A column reference resolves to the schema column it names, or to the ``(expression,
scope)`` that defines it in a CTE / derived table's select list (followed through ``*`` and
pass-through columns), so type and SRID questions go to the one place that knows. Every
stage asks this module -- the binder (:mod:`cimgen.grammar.bind`), the renderers
(:mod:`cimgen.render`), the static rules (:mod:`cimgen.check.static`) and the question
reader (:mod:`cimgen.question`) -- so a new construct (a lateral join, say) is taught here
once. Modelled on sqlglot's ``optimizer/scope.py``.

Resolution is best effort: what it cannot follow resolves to ``None`` ("unknown"), which
no caller turns into an error on its own. The binder reports unknown names; it uses
:meth:`Scope.find` and :meth:`Scope.level_hits` to tell "no such alias" and "ambiguous"
apart from "unknown".

>>> from cimgen.grammar import parse
>>> from cimgen.schema.load import load_schema
>>> q = parse("WITH t AS (SELECT building_geometry AS g FROM cim_vector.building) "
...           "SELECT t.g FROM t")
>>> scope = query_scopes(q, load_schema("cim_wizard"))[id(q.body)]
>>> expr, inner = scope.resolve(ast.Column("g", "t"))
>>> inner.resolve(expr).kind, scope.srid(ast.Column("g", "t"))
('geometry', 4326)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimgen import ast
from cimgen.schema.model import Column as SchemaColumn
from cimgen.schema.model import Schema, Table

# How deep a column may be followed through CTEs / derived tables (guards against cycles).
_MAX_DEPTH = 16


@dataclass(frozen=True)
class Output:
    """The columns a query produces, as a type checker sees them: names in order, their
    kinds (``None``: unknown), and ``open`` when the list is not knowable (``SELECT *``
    over an unknown table)."""

    names: tuple[str, ...]
    kinds: tuple[str | None, ...]
    open: bool = False


@dataclass(eq=False)
class QuerySource:
    """A CTE or derived table in FROM: its query, explicit column names and the CTEs
    visible where it is defined; ``output`` is set by a caller that has typed the query
    (the binder), so its column list and kinds need not be worked out again."""

    query: ast.Query
    columns: tuple[str, ...]
    ctes: dict[str, ast.CTE]
    output: Output | None = None
    _scope: Scope | None = field(default=None, repr=False)


Source = Table | QuerySource | None
Resolved = SchemaColumn | tuple[ast.Expr, "Scope"] | None


def first_select(body: ast.Select | ast.SetOp | ast.Query) -> ast.Select:
    """The left-most SELECT block of a query body (it names the output columns)."""
    while not isinstance(body, ast.Select):
        body = body.left if isinstance(body, ast.SetOp) else body.body
    return body


def from_refs(item: ast.FromItem) -> list[tuple[str, ast.TableRef | ast.DerivedTable]]:
    """The FROM leaves of ``item`` with the names columns use for them, left to right."""
    if isinstance(item, ast.Join):
        return from_refs(item.left) + from_refs(item.right)
    if isinstance(item, ast.DerivedTable):
        return [(item.alias, item)]
    return [(item.ref_name, item)]


class Scope:
    """The FROM items visible in one SELECT block, chained to the enclosing blocks."""

    __slots__ = ("ctes", "parent", "schema", "sources")

    def __init__(
        self,
        schema: Schema,
        sources: dict[str, Source] | None = None,
        parent: Scope | None = None,
        ctes: dict[str, ast.CTE] | None = None,
    ) -> None:
        self.schema = schema
        self.sources: dict[str, Source] = sources if sources is not None else {}
        self.parent = parent
        self.ctes: dict[str, ast.CTE] = ctes if ctes is not None else {}

    @classmethod
    def of_select(
        cls, select: ast.Select, schema: Schema, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> Scope:
        """The scope of ``select``: its FROM items resolved (CTE names first, then the
        schema); a later item with the same reference name replaces an earlier one."""
        sources: dict[str, Source] = {}
        for item in select.from_:
            for ref_name, leaf in from_refs(item):
                if isinstance(leaf, ast.DerivedTable):
                    sources[ref_name] = QuerySource(leaf.query, (), ctes)
                else:
                    sources[ref_name] = resolve_table(leaf, schema, ctes)
        return cls(schema, sources, parent, ctes)

    # ------------------------------------------------------------------ sources

    def find(self, ref_name: str) -> tuple[Scope, Source] | None:
        """The scope (this block or an enclosing one) where ``ref_name`` is a FROM item,
        and its source; None when no block in the chain has it."""
        scope: Scope | None = self
        while scope is not None:
            if ref_name in scope.sources:
                return scope, scope.sources[ref_name]
            scope = scope.parent
        return None

    def table_of(self, ref_name: str) -> Source:
        found = self.find(ref_name)
        return found[1] if found is not None else None

    def level_hits(self, name: str) -> list[tuple[str, Source]] | None:
        """For an unqualified column ``name``: the FROM items of the nearest block that
        has it (several: ambiguous), walking outwards; None when a block with a source
        whose columns are unknown is reached first (the column may come from there)."""
        scope: Scope | None = self
        while scope is not None:
            hits = [(r, s) for r, s in scope.sources.items() if has_column(s, name, self.schema)]
            if hits:
                return hits
            if any(is_open(s) for s in scope.sources.values()):
                return None
            scope = scope.parent
        return []

    # ------------------------------------------------------------------ columns

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

    def locate(self, col: ast.Column) -> tuple[str, Source, int] | None:
        """The FROM item ``col`` belongs to: reference name, source and how many blocks
        out it is (0: this block; a correlated reference is 1 or more)."""
        found = self._locate(col, 0, with_level=True)
        return (found[0], found[1], found[3]) if found is not None else None

    def _locate(
        self, col: ast.Column, depth: int, with_level: bool = False
    ) -> tuple[str, Source, Resolved, int] | None:
        """The FROM item ``col`` refers to (its reference name and source), what the
        column resolves to there and the block level; a qualifier in scope is final even
        if the column is not."""
        if depth > _MAX_DEPTH:
            return None
        scope: Scope | None = self
        level = 0
        while scope is not None:
            if col.table is not None:
                if col.table in scope.sources:
                    source = scope.sources[col.table]
                    return col.table, source, _lookup(source, col.name, self.schema, depth), level
            else:
                for ref_name, source in scope.sources.items():
                    found = _lookup(source, col.name, self.schema, depth)
                    if found is not None:
                        return ref_name, source, found, level
            scope = scope.parent
            level += 1
        return None

    def srid(self, col: ast.Column, depth: int = 0) -> int | None:
        """The SRID of a geometry column, followed through CTE / derived-table columns that
        pass a column through unchanged; None when unknown or not a geometry."""
        found = self.resolve(col, depth)
        while isinstance(found, tuple) and isinstance(found[0], ast.Column) and depth < _MAX_DEPTH:
            depth += 1
            found = found[1].resolve(found[0], depth)
        if isinstance(found, SchemaColumn) and found.kind == "geometry":
            return found.srid
        return None


# Calls whose SRID argument says what their result is in: name -> (arity, SRID argument).
_SRID_ARGUMENT = {
    "ST_SetSRID": (2, 1),
    "ST_Transform": (2, 1),
    "ST_GeomFromText": (2, 1),
    "ST_MakeEnvelope": (5, 4),
}


def states_srid(call: ast.FuncCall) -> bool:
    """Does ``call`` name its result's SRID in an argument (``ST_SetSRID(g, 4326)``,
    ``ST_Transform(g, 32632)``, ``ST_GeomFromText(wkt, 4326)``, ``ST_MakeEnvelope(..., 4326)``)?
    The static rules and the DuckDB renderer both read SRIDs through this and
    :func:`stated_srid`."""
    arity = _SRID_ARGUMENT.get(call.name)
    return arity is not None and len(call.args) == arity[0]


def stated_srid(call: ast.FuncCall) -> int | None:
    """The SRID a call that :func:`states_srid` names, when it is an integer literal.

    >>> from cimgen.grammar import parse
    >>> stated_srid(parse("SELECT ST_Transform(g, 32632) FROM t").body.items[0].expr)
    32632
    """
    if not states_srid(call):
        return None
    arg = call.args[_SRID_ARGUMENT[call.name][1]]
    return int(arg.text) if isinstance(arg, ast.Number) and arg.text.isdigit() else None


def query_scopes(query: ast.Query, schema: Schema) -> dict[int, Scope]:
    """The scope of every SELECT block of ``query``, keyed by ``id(select)``: each CTE
    sees the CTEs before it, a subquery in an expression sees the block it sits in (a
    correlated reference resolves outwards), a derived table sees the enclosing blocks but
    not its FROM siblings (no LATERAL), ORDER BY / LIMIT subqueries see the first block."""
    out: dict[int, Scope] = {}

    def visit_query(q: ast.Query, parent: Scope | None, ctes: dict[str, ast.CTE]) -> None:
        visible = dict(ctes)
        for cte in q.ctes:
            visit_query(cte.query, parent, visible)
            visible[cte.name] = cte
        visit_body(q.body, parent, visible)
        first = out.get(id(q.body)) if isinstance(q.body, ast.Select) else None
        tail: list[object] = [*q.order_by, q.limit, q.offset]
        for nested in _nested_queries(tail):
            visit_query(nested[0], first or parent, visible)

    def visit_body(
        body: ast.Select | ast.SetOp | ast.Query, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> None:
        if isinstance(body, ast.Query):
            visit_query(body, parent, ctes)
        elif isinstance(body, ast.SetOp):
            visit_body(body.left, parent, ctes)
            visit_body(body.right, parent, ctes)
        else:
            scope = Scope.of_select(body, schema, parent, ctes)
            out[id(body)] = scope
            parts: list[object] = [
                *body.items,
                *body.from_,
                *body.group_by,
                body.where,
                body.having,
            ]
            for nested, derived in _nested_queries(parts):
                visit_query(nested, parent if derived else scope, ctes)

    visit_query(query, None, {})
    return out


def _nested_queries(nodes: list[object]) -> list[tuple[ast.Query, bool]]:
    """Queries directly nested in ``nodes`` (not through further nesting), in order, each
    with whether it is a derived table."""
    found: list[tuple[ast.Query, bool]] = []
    stack = [n for n in reversed(nodes) if n is not None]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.DerivedTable):
            found.append((node.query, True))
        elif isinstance(node, ast.Exists | ast.InSubquery | ast.Subquery):
            found.append((node.query, False))
        elif isinstance(node, ast.Query):
            found.append((node, False))
        else:
            stack.extend(reversed(ast.children(node)))
    return found


def named_outputs(query: ast.Query) -> dict[str, ast.Expr]:
    """The select items of ``query``'s first block that have a name of their own (an
    alias, or a plain column), by that name: what a reader says a CTE column *is*."""
    out: dict[str, ast.Expr] = {}
    for item in first_select(query.body).items:
        if item.alias:
            out[item.alias] = item.expr
        elif isinstance(item.expr, ast.Column):
            out[item.expr.name] = item.expr
    return out


def resolve_table(ref: ast.TableRef, schema: Schema, ctes: dict[str, ast.CTE]) -> Source:
    """A table reference's source: a visible CTE (bare names only) or a schema table."""
    if ref.schema is None and ref.name in ctes:
        cte = ctes[ref.name]
        return QuerySource(cte.query, cte.columns, ctes)
    return schema.find_table(ref.name, ref.schema)


def column_kind(column: SchemaColumn) -> str:
    """A schema column's coarse kind, with ``geography`` kept apart from geometry."""
    if column.kind == "geometry" and column.type.lower().startswith("geography"):
        return "geography"
    return column.kind


def column_names(source: Source) -> tuple[str, ...] | None:
    """The columns ``source`` exposes, in order (a name may repeat); None when not
    knowable (an unknown table, an open or untyped query)."""
    if isinstance(source, Table):
        return tuple(c.name for c in source.columns)
    if isinstance(source, QuerySource) and source.output is not None and not source.output.open:
        return source.columns or source.output.names
    return None


def is_open(source: Source) -> bool:
    """Whether any column name may come from ``source`` (its columns are not known)."""
    if source is None:
        return True
    if isinstance(source, QuerySource) and source.output is not None:
        return source.output.open
    return False


def has_column(source: Source, name: str, schema: Schema) -> bool:
    """Whether ``source`` certainly has a column ``name``."""
    if isinstance(source, Table):
        return source.column(name) is not None
    if isinstance(source, QuerySource) and source.output is not None:
        return not source.output.open and name in (source.columns or source.output.names)
    return _lookup(source, name, schema, 0) is not None


def query_scope(source: QuerySource, schema: Schema) -> Scope:
    """The scope of a CTE / derived table's first SELECT (cached on the source)."""
    if source._scope is None:
        ctes = dict(source.ctes)
        ctes.update((c.name, c) for c in source.query.ctes)
        source._scope = Scope.of_select(first_select(source.query.body), schema, None, ctes)
    return source._scope


def _lookup(source: Source, name: str, schema: Schema, depth: int) -> Resolved:
    if source is None:
        return None
    if isinstance(source, Table):
        return source.column(name)
    select = first_select(source.query.body)
    scope = query_scope(source, schema)
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
        if ast.output_name(item) == name:
            return (expr, scope)
    return None


__all__ = [
    "Output",
    "QuerySource",
    "Resolved",
    "Scope",
    "Source",
    "column_kind",
    "column_names",
    "first_select",
    "from_refs",
    "has_column",
    "is_open",
    "named_outputs",
    "query_scope",
    "query_scopes",
    "resolve_table",
]
