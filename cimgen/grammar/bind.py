"""Bind an AST to a schema and the function catalogue: the CIM constraint on the language.

The grammar says what a query may look like; binding says whether it means something in
*this* database: tables and columns exist, names are unambiguous, functions are in the
catalogue and get arguments of the right kinds, aggregates are used where SQL allows them.
Problems are :class:`cimgen.models.Finding` data with stable codes (stage ``"bind"``):

======  ==========================================================================
BND001  unknown table (schema-qualified or bare; CTE names count as tables)
BND002  unknown column (not in that table / in any table in scope / not a CTE output)
BND003  ambiguous column (an unqualified name found in several tables in scope)
BND004  unknown function (not in grammar/functions.yaml), or a schema other than public
BND005  argument kind or arity mismatch; operator on the wrong kinds; WHERE/ON/HAVING not
        boolean; set-operation arms or IN-subqueries with the wrong column count
BND006  raster function applied to a geometry, or geometry function to a raster
BND007  aggregate/window misuse: aggregate in WHERE/ON/GROUP BY, nested aggregates,
        column neither grouped nor aggregated, window function without OVER,
        DISTINCT/FILTER on a plain function
BND008  unknown table alias or qualifier (``x.col`` where no FROM item is called x)
BND009  unknown composite field (``(ST_SummaryStats(r)).foo``)
======  ==========================================================================

Kinds are the coarse types of :mod:`cimgen.schema.model` (geometry, raster, integer,
float, text, boolean, timestamp, json) plus ``geography``, ``summarystats`` and ``box``
from the catalogue; ``None`` means "unknown" and never produces a finding, so one mistake
does not cascade into many.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cimgen import ast
from cimgen.catalogue import Catalogue, Function, Signature, load_catalogue
from cimgen.codes import (
    BND001,
    BND002,
    BND003,
    BND004,
    BND005,
    BND006,
    BND007,
    BND008,
    BND009,
    finding,
)
from cimgen.grammar.suggest import close_name, column_hint
from cimgen.models import Finding
from cimgen.schema.model import Schema, Table, classify_type
from cimgen.scope import Output, QuerySource, Scope, Source, column_names, is_open

Kind = str | None
_NOT_NUMERIC = {"geometry", "geography", "raster", "boolean", "text", "summarystats", "box"}
_SPATIAL = {"geometry", "raster"}
# Which argument kinds each catalogue parameter type accepts (None = unknown always does).
_ACCEPTS: dict[str, set[str]] = {
    "float": {"float", "integer"},
    "integer": {"integer"},
    "geometry": {"geometry", "box"},
    "geography": {"geography", "geometry"},  # PostGIS casts geometry to geography implicitly
    "raster": {"raster"},
    "text": {"text"},
    "boolean": {"boolean"},
    "summarystats": {"summarystats"},
    "box": {"box", "geometry"},
}


# --------------------------------------------------------------------------- scopes
# Names resolve through cimgen.scope: a FROM item is a schema Table, a QuerySource whose
# ``output`` the binder has typed (a CTE or derived table), or None (an unknown table).


@dataclass(frozen=True)
class Ctx:
    """Where an expression sits: the clause name and what it may contain."""

    clause: str
    aggregates: bool = False  # aggregates allowed here
    windows: bool = False  # window functions allowed here
    in_aggregate: bool = False


# --------------------------------------------------------------------------- entry point


def bind(query: ast.Query, schema: Schema, catalogue: Catalogue | None = None) -> list[Finding]:
    """All binding findings of ``query`` against ``schema`` (empty list: it binds).

    >>> from cimgen.grammar import parse
    >>> from cimgen.schema.load import load_schema
    >>> [f.code for f in bind(parse("SELECT nope FROM cim_vector.building"),
    ...                       load_schema("cim_wizard"))]
    ['BND002']
    """
    binder = _Binder(schema, catalogue or load_catalogue())
    binder.query(query, None, {})
    return binder.findings


class _Binder:
    def __init__(self, schema: Schema, catalogue: Catalogue) -> None:
        self.schema, self.catalogue = schema, catalogue
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()
        self._typed: dict[int, Output] = {}  # id(CTE node) -> its typed output
        # id(source) -> (source, {column: kind}): kept alive so ids are not reused
        self._kinds: dict[int, tuple[Source, dict[str, Kind]]] = {}
        self.expr_rules: dict[type, Callable[[Any, Scope, Ctx], Kind]] = {
            ast.Number: lambda e, s, c: "float" if any(x in e.text for x in ".eE") else "integer",
            ast.String: lambda e, s, c: None,  # an untyped literal: PostgreSQL adapts it
            ast.Boolean: lambda e, s, c: "boolean",
            ast.Null: lambda e, s, c: None,
            ast.Column: self.column,
            ast.Star: lambda e, s, c: None,
            ast.BinaryOp: self.binary,
            ast.UnaryOp: self.unary,
            ast.Between: self.between,
            ast.InList: self.in_list,
            ast.InSubquery: self.in_subquery,
            ast.Exists: self.exists,
            ast.IsNull: self.is_null,
            ast.Case: self.case,
            ast.Cast: self.cast,
            ast.NamedArg: lambda e, s, c: self.expr(e.value, s, c),
            ast.FuncCall: self.func_call,
            ast.FieldAccess: self.field_access,
            ast.Subquery: self.subquery,
        }

    def add(self, code: str, message: str) -> None:
        if (code, message) not in self._seen:  # the same mistake repeated is one finding
            self._seen.add((code, message))
            self.findings.append(finding(code, message))

    # ------------------------------------------------------------------- queries
    def query(self, q: ast.Query, parent: Scope | None, ctes: dict[str, ast.CTE]) -> Output:
        ctes = dict(ctes)
        for cte in q.ctes:  # each CTE sees the ones before it
            out = self.query(cte.query, parent, ctes)
            if cte.columns and not out.open and len(cte.columns) != len(out.names):
                self.add(
                    BND005,
                    f"CTE {cte.name} names {len(cte.columns)} columns but its "
                    f"query returns {len(out.names)}",
                )
            names = cte.columns or out.names
            self._typed[id(cte)] = Output(tuple(names), out.kinds, out.open)
            ctes[cte.name] = cte
        out, scope, sel = self.body(q.body, parent, ctes)
        for item in q.order_by:
            self.order_item(item, out, scope, sel)
        for e in (q.limit, q.offset):
            if e is not None:
                self.expr(e, Scope(self.schema, {}, parent, ctes), Ctx("LIMIT"))
        return out

    def body(
        self, body: Any, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> tuple[Output, Scope | None, ast.Select | None]:
        if isinstance(body, ast.Select):
            out, scope = self.select(body, parent, ctes)
            return out, scope, body
        if isinstance(body, ast.SetOp):
            left, _, _ = self.body(body.left, parent, ctes)
            right, _, _ = self.body(body.right, parent, ctes)
            if not (left.open or right.open) and len(left.names) != len(right.names):
                self.add(
                    BND005,
                    f"each {body.op} arm must return the same number of "
                    f"columns ({len(left.names)} vs {len(right.names)})",
                )
            return left, None, None
        return self.query(body, parent, ctes), None, None

    def select(
        self, sel: ast.Select, parent: Scope | None, ctes: dict[str, ast.CTE]
    ) -> tuple[Output, Scope]:
        scope = Scope(self.schema, {}, parent, ctes)
        for item in sel.from_:
            self.from_item(item, scope)
        if sel.where is not None:
            self.condition(sel.where, scope, Ctx("WHERE"))
        group = [self.group_key(g, sel, scope) for g in sel.group_by]
        for g in group:
            self.expr(g, scope, Ctx("GROUP BY"))
        names: list[str] = []
        kinds: list[Kind] = []
        open_ = False
        for sitem in sel.items:
            if isinstance(sitem.expr, ast.Star):
                star_open = self.star(sitem.expr, scope, names, kinds)
                open_ = open_ or star_open
                continue
            kinds.append(self.expr(sitem.expr, scope, Ctx("SELECT", True, True)))
            names.append(sitem.alias or output_name(sitem.expr))
        if sel.having is not None:
            self.condition(sel.having, scope, Ctx("HAVING", aggregates=True))
        if (
            sel.group_by
            or any(contains_aggregate(i.expr, self.catalogue) for i in sel.items)
            or (sel.having is not None)
        ):
            self.check_grouping(sel, group, scope)
        return Output(tuple(names), tuple(kinds), open_), scope

    def group_key(self, g: ast.Expr, sel: ast.Select, scope: Scope) -> ast.Expr:
        """GROUP BY 2 and GROUP BY alias mean the select item (input columns win)."""
        items = [i for i in sel.items if not isinstance(i.expr, ast.Star)]
        if isinstance(g, ast.Number) and g.text.isdigit():
            n = int(g.text)
            if 1 <= n <= len(items):
                return items[n - 1].expr
            self.add(BND005, f"GROUP BY position {n} is not in the select list")
        if isinstance(g, ast.Column) and g.table is None and not self.in_scope(g.name, scope):
            for i in items:
                if i.alias == g.name:
                    return i.expr
        return g

    def star(self, star: ast.Star, scope: Scope, names: list[str], kinds: list[Kind]) -> bool:
        sources = [s for r, s in scope.sources.items() if star.table in (None, r)]
        if star.table is not None and not sources:
            self.add(BND008, f"{star.table}.* names no table in FROM ({_refs(scope)})")
            return True
        open_ = False
        for source in sources:
            order = column_names(source)
            if order is None:
                open_ = True
                continue
            names.extend(order)
            columns = self.columns(source)
            kinds.extend(columns[c] for c in order)  # type: ignore[index]
        return open_

    def order_item(
        self, item: ast.OrderItem, out: Output, scope: Scope | None, sel: ast.Select | None
    ) -> None:
        e = item.expr
        if isinstance(e, ast.Number) and e.text.isdigit():
            if not out.open and not 1 <= int(e.text) <= len(out.names):
                self.add(BND005, f"ORDER BY position {e.text} is not in the select list")
            return
        if isinstance(e, ast.Column) and e.table is None and e.name in out.names:
            return  # an output column name (select alias)
        if scope is None:  # ORDER BY of a set operation sees only output columns
            if not out.open:
                self.add(
                    BND002,
                    f"ORDER BY {_show(e)}: a UNION can only be ordered by its "
                    f"output columns ({', '.join(out.names)})",
                )
            return
        self.expr(e, scope, Ctx("ORDER BY", True, True))
        if sel is not None and (
            sel.group_by or any(contains_aggregate(i.expr, self.catalogue) for i in sel.items)
        ):
            keys = [self.group_key(g, sel, scope) for g in sel.group_by]
            self.ungrouped(e, scope, keys, "ORDER BY")

    # ------------------------------------------------------------------- FROM
    def from_item(self, item: ast.FromItem, scope: Scope) -> None:
        if isinstance(item, ast.Join):
            self.from_item(item.left, scope)
            self.from_item(item.right, scope)
            if item.on is not None:
                self.condition(item.on, scope, Ctx("JOIN ... ON"))
            return
        if isinstance(item, ast.DerivedTable):
            # Without LATERAL a derived table sees the outer query, not its FROM siblings.
            out = self.query(item.query, scope.parent, scope.ctes)
            self.add_source(scope, item.alias, QuerySource(item.query, (), scope.ctes, out))
            return
        self.add_source(scope, item.ref_name, self.table_source(item, scope))

    def table_source(self, t: ast.TableRef, scope: Scope) -> Source:
        if t.schema is None and t.name in scope.ctes:
            cte = scope.ctes[t.name]
            return QuerySource(cte.query, cte.columns, scope.ctes, self._typed[id(cte)])
        table = self.schema.find_table(t.name, t.schema)
        if table is None:
            known = [x.qualified for x in self.schema.tables] + list(scope.ctes)
            self.add(BND001, f"unknown table {t.qualified}{close_name(t.qualified, known)}")
        return table

    def add_source(self, scope: Scope, ref: str, source: Source) -> None:
        """Add a FROM item; later FROM items are not visible to an earlier ON."""
        if ref in scope.sources:
            self.add(BND008, f"table name {ref} is used twice in FROM: give one an alias")
        scope.sources[ref] = source

    def columns(self, source: Source) -> dict[str, Kind] | None:
        """``{column: kind}`` of a FROM item (the first of a repeated name); None when its
        columns are not known."""
        if is_open(source):
            return None
        hit = self._kinds.get(id(source))
        if hit is None:
            if isinstance(source, Table):
                kinds = {c.name: _column_kind(c.kind, c.type) for c in source.columns}
            else:
                assert isinstance(source, QuerySource) and source.output is not None
                kinds = {}
                names = source.columns or source.output.names
                for n, k in zip(names, source.output.kinds, strict=False):
                    kinds.setdefault(n, k)
            hit = self._kinds[id(source)] = (source, kinds)
        return hit[1]

    # ------------------------------------------------------------------- expressions
    def expr(self, e: Any, scope: Scope, ctx: Ctx) -> Kind:
        return self.expr_rules[type(e)](e, scope, ctx)

    def condition(self, e: ast.Expr, scope: Scope, ctx: Ctx) -> None:
        kind = self.expr(e, scope, ctx)
        if kind is not None and kind != "boolean":
            self.add(BND005, f"{ctx.clause} needs a boolean condition, got {kind} ({_show(e)})")

    def column(self, col: ast.Column, scope: Scope, ctx: Ctx) -> Kind:
        if col.table is not None:
            found = scope.find(col.table)
            if found is None:
                self.add(
                    BND008,
                    f"{col.table}.{col.name}: no table or alias {col.table} in "
                    f"FROM ({_refs(scope)})",
                )
                return None
            source = found[1]
            columns = self.columns(source)
            if columns is None:
                return None
            if col.name not in columns:
                what = source.qualified if isinstance(source, Table) else col.table
                hint = (
                    column_hint(col.name, [source], self.schema, list(columns))
                    if isinstance(source, Table)
                    else close_name(col.name, list(columns))
                )
                self.add(BND002, f"column {col.table}.{col.name} does not exist in {what}{hint}")
                return None
            return columns[col.name]
        hits = scope.level_hits(col.name)
        if hits is None:
            return None  # could come from an unknown table: already reported
        if len(hits) > 1:
            self.add(
                BND003,
                f"column {col.name} is ambiguous: it is in "
                f"{', '.join(r for r, _ in hits)}; qualify it",
            )
            return None
        if hits:
            return self.columns(hits[0][1])[col.name]  # type: ignore[index]
        cols = [c for s in scope.sources.values() for c in (self.columns(s) or ())]
        tables = [s if isinstance(s, Table) else None for s in scope.sources.values()]
        hint = column_hint(col.name, tables, self.schema, cols)
        self.add(
            BND002,
            f"column {col.name} does not exist in any table in scope "
            f"({_refs(scope) or 'no FROM'}){hint}",
        )
        return None

    def binary(self, e: ast.BinaryOp, scope: Scope, ctx: Ctx) -> Kind:
        left, right = self.expr(e.left, scope, ctx), self.expr(e.right, scope, ctx)
        op = e.op
        if op in ("AND", "OR"):
            for side, kind in ((e.left, left), (e.right, right)):
                if kind is not None and kind != "boolean":
                    self.add(BND005, f"{op} needs boolean operands, got {kind} ({_show(side)})")
            return "boolean"
        if op == "<->":
            for kind in (left, right):
                if kind is not None and kind not in ("geometry", "geography", "box"):
                    self.add(BND005, f"<-> needs geometries, got {kind}")
            return "float"
        if op == "||":
            return "text"
        if op in ("+", "-", "*", "/", "%"):
            for kind in (left, right):
                if kind in _NOT_NUMERIC:
                    self.add(BND005, f"operator {op} does not apply to {kind}")
                    return None
            if left == right == "integer":
                return "integer"
            return "float" if {left, right} <= {"integer", "float"} else None
        return "boolean"  # comparisons, LIKE, ILIKE, &&

    def unary(self, e: ast.UnaryOp, scope: Scope, ctx: Ctx) -> Kind:
        kind = self.expr(e.operand, scope, ctx)
        if e.op == "NOT":
            if kind is not None and kind != "boolean":
                self.add(BND005, f"NOT needs a boolean, got {kind} ({_show(e.operand)})")
            return "boolean"
        if kind in _NOT_NUMERIC:
            self.add(BND005, f"unary {e.op} does not apply to {kind}")
            return None
        return kind

    def between(self, e: ast.Between, scope: Scope, ctx: Ctx) -> Kind:
        for x in (e.expr, e.low, e.high):
            self.expr(x, scope, ctx)
        return "boolean"

    def in_list(self, e: ast.InList, scope: Scope, ctx: Ctx) -> Kind:
        for x in (e.expr, *e.items):
            self.expr(x, scope, ctx)
        return "boolean"

    def in_subquery(self, e: ast.InSubquery, scope: Scope, ctx: Ctx) -> Kind:
        self.expr(e.expr, scope, ctx)
        out = self.query(e.query, scope, scope.ctes)
        if not out.open and len(out.names) != 1:
            self.add(BND005, f"IN (subquery) must return one column, not {len(out.names)}")
        return "boolean"

    def exists(self, e: ast.Exists, scope: Scope, ctx: Ctx) -> Kind:
        self.query(e.query, scope, scope.ctes)
        return "boolean"

    def is_null(self, e: ast.IsNull, scope: Scope, ctx: Ctx) -> Kind:
        self.expr(e.expr, scope, ctx)
        return "boolean"

    def subquery(self, e: ast.Subquery, scope: Scope, ctx: Ctx) -> Kind:
        out = self.query(e.query, scope, scope.ctes)
        if out.open:
            return None
        if len(out.names) != 1:
            self.add(BND005, f"a scalar subquery must return one column, not {len(out.names)}")
            return None
        return out.kinds[0]

    def case(self, e: ast.Case, scope: Scope, ctx: Ctx) -> Kind:
        if e.operand is not None:
            self.expr(e.operand, scope, ctx)
        kinds = []
        for w in e.whens:
            cond = self.expr(w.condition, scope, ctx)
            if e.operand is None and cond is not None and cond != "boolean":
                self.add(BND005, f"CASE WHEN needs a boolean condition, got {cond}")
            kinds.append(self.expr(w.result, scope, ctx))
        if e.else_ is not None:
            kinds.append(self.expr(e.else_, scope, ctx))
        return next((k for k in kinds if k is not None), None)

    def cast(self, e: ast.Cast, scope: Scope, ctx: Ctx) -> Kind:
        self.expr(e.expr, scope, ctx)
        return cast_kind(e.type_name)

    def field_access(self, e: ast.FieldAccess, scope: Scope, ctx: Ctx) -> Kind:
        base = self.expr(e.expr, scope, ctx)
        if base is None:
            return None
        fields = {f for fn in self.catalogue.functions if base in fn.returns for f in fn.fields}
        if e.field not in fields:
            hint = f" (fields: {', '.join(sorted(fields))})" if fields else ""
            self.add(BND009, f"{base} has no field {e.field}{hint}")
            return None
        return "integer" if e.field == "count" else "float"

    # ------------------------------------------------------------------- functions
    def func_call(self, e: ast.FuncCall, scope: Scope, ctx: Ctx) -> Kind:
        fn = self.catalogue.get(e.name)
        if fn is None or e.schema not in (None, "public"):
            shown = f"{e.schema}.{e.name}" if e.schema else e.name
            names = [f.name for f in self.catalogue.functions]
            self.add(BND004, f"unknown function {shown}{close_name(e.name, names)}")
            for a in e.args:
                self.expr(a, scope, ctx)
            return None
        is_agg = fn.is_aggregate_call(len(e.args)) or (e.star and fn.aggregate)
        inner = self.call_context(e, fn, is_agg, ctx)
        kinds = [self.expr(a, scope, inner) for a in e.args]
        if e.filter is not None:
            self.condition(e.filter, scope, Ctx("FILTER", in_aggregate=True))
        if e.over is not None:
            wctx = Ctx("OVER", aggregates=ctx.aggregates)
            for p in e.over.partition_by:
                self.expr(p, scope, wctx)
            for o in e.over.order_by:
                self.expr(o.expr, scope, wctx)
        if e.star:
            if fn.name != "COUNT":
                self.add(BND005, f"{fn.name}(*) is not allowed; only COUNT(*)")
            return "integer"
        return self.signature(e, fn, kinds)

    def call_context(self, e: ast.FuncCall, fn: Function, is_agg: bool, ctx: Ctx) -> Ctx:
        """Check where an aggregate / window call sits; the context for its arguments."""
        if e.over is not None:
            if not ctx.windows:
                self.add(BND007, f"window function {fn.name} is not allowed in {ctx.clause}")
            return Ctx(ctx.clause, aggregates=ctx.aggregates)
        if fn.window:
            self.add(BND007, f"window function {fn.name} needs an OVER (...) clause")
        if not is_agg:
            if e.distinct or e.filter is not None:
                self.add(BND007, f"DISTINCT/FILTER only apply to aggregates, not {fn.name}")
            return ctx
        if ctx.in_aggregate:
            self.add(BND007, f"aggregate {fn.name} is nested inside another aggregate")
        elif not ctx.aggregates:
            self.add(BND007, f"aggregate {fn.name} is not allowed in {ctx.clause}")
        return Ctx(ctx.clause, in_aggregate=True)

    def signature(self, e: ast.FuncCall, fn: Function, kinds: list[Kind]) -> Kind:
        n = len(e.args)
        by_arity = [s for s in fn.signatures if s.accepts_arity(n)]
        if not by_arity:
            arities = sorted({len(s.args) for s in fn.signatures})
            self.add(
                BND005, f"{fn.name} takes {' or '.join(map(str, arities))} argument(s), got {n}"
            )
            return None
        matches = [s for s in by_arity if _fits(s, e.args, kinds)]
        named = {a.name for a in e.args if isinstance(a, ast.NamedArg)}
        unknown = named - {n for s in by_arity for n in s.names}
        if unknown:
            known = sorted({n for s in by_arity for n in s.names if n}) or ["none"]
            self.add(
                BND005,
                f"{fn.name} has no argument named {', '.join(sorted(unknown))} "
                f"(named arguments: {', '.join(known)})",
            )
            return None
        if not matches:
            got = ", ".join(k or "?" for k in kinds)
            wanted = " | ".join(f"({', '.join(s.args)})" for s in by_arity)
            if _raster_swap(by_arity, kinds):
                self.add(
                    BND006,
                    f"{fn.name}({got}): raster and geometry arguments swapped or "
                    f"misused; {fn.name} takes {wanted}",
                )
            else:
                self.add(BND005, f"{fn.name}({got}) does not match {fn.name}{wanted}")
            return None
        returns = {s.returns for s in matches}
        if returns == {"any"}:
            return next((k for k in kinds if k is not None), None)
        return returns.pop() if len(returns) == 1 else None

    # ------------------------------------------------------------------- GROUP BY
    def check_grouping(self, sel: ast.Select, group: list[ast.Expr], scope: Scope) -> None:
        for item in sel.items:
            if isinstance(item.expr, ast.Star):
                if sel.group_by:
                    self.add(BND007, "SELECT * with GROUP BY: list the grouped columns")
                continue
            self.ungrouped(item.expr, scope, group, "SELECT")
        if sel.having is not None:
            self.ungrouped(sel.having, scope, group, "HAVING")

    def ungrouped(self, e: Any, scope: Scope, group: list[ast.Expr], clause: str) -> None:
        """Report columns used outside aggregates that GROUP BY does not cover."""
        if e in group or isinstance(e, ast.Subquery | ast.Exists | ast.InSubquery):
            return
        if isinstance(e, ast.FuncCall) and e.over is None and _is_aggregate(e, self.catalogue):
            return
        if isinstance(e, ast.Column):
            key = self.column_key(e, scope)
            if key is None or self.covered(key, scope, group):
                return
            self.add(
                BND007,
                f"column {_show(e)} in {clause} must appear in GROUP BY or be "
                "used in an aggregate function",
            )
            return
        for child in ast.children(e):
            self.ungrouped(child, scope, group, clause)

    def in_scope(self, name: str, scope: Scope) -> bool:
        """Whether a FROM item of this block has (or may have) a column ``name``."""
        for source in scope.sources.values():
            columns = self.columns(source)
            if columns is None or name in columns:
                return True
        return False

    def column_key(self, col: ast.Column, scope: Scope) -> tuple[str, str] | None:
        """Identity of a column of THIS query level (None: outer, unknown or unresolved)."""
        for ref, source in scope.sources.items():
            columns = self.columns(source)
            if columns is None:
                continue
            if (col.table is None or col.table == ref) and col.name in columns:
                return ref, col.name
        return None

    def covered(self, key: tuple[str, str], scope: Scope, group: list[ast.Expr]) -> bool:
        keys = {self.column_key(g, scope) for g in group if isinstance(g, ast.Column)}
        if key in keys:
            return True
        # Grouping by a table's primary key makes its other columns functionally dependent.
        source = scope.sources[key[0]]
        pk = source.primary_key if isinstance(source, Table) else ()
        return bool(pk) and all((key[0], c) in keys for c in pk)


# --------------------------------------------------------------------------- helpers


def _fits(sig: Signature, args: tuple[Any, ...], kinds: list[Kind]) -> bool:
    for i, (arg, kind) in enumerate(zip(args, kinds, strict=True)):
        if isinstance(arg, ast.NamedArg):
            if arg.name not in sig.names:
                return False
            i = sig.names.index(arg.name)
        want = sig.args[min(i, len(sig.args) - 1)]
        if kind is not None and want != "any" and kind not in _ACCEPTS.get(want, {want}):
            return False
    return True


def _raster_swap(sigs: list[Signature], kinds: list[Kind]) -> bool:
    """Whether some signature fails only because raster and geometry trade places."""
    for sig in sigs:
        for i, kind in enumerate(kinds):
            want = sig.args[min(i, len(sig.args) - 1)]
            if {kind, want} == _SPATIAL:
                return True
    return False


def _is_aggregate(e: ast.FuncCall, catalogue: Catalogue) -> bool:
    fn = catalogue.get(e.name)
    return fn is not None and (fn.is_aggregate_call(len(e.args)) or (e.star and fn.aggregate))


def contains_aggregate(e: Any, catalogue: Catalogue) -> bool:
    """Whether ``e`` holds an aggregate call of its own query level (not in subqueries)."""
    if isinstance(e, ast.Subquery | ast.Exists | ast.InSubquery | ast.Query):
        return False
    if isinstance(e, ast.FuncCall) and e.over is None and _is_aggregate(e, catalogue):
        return True
    return any(contains_aggregate(c, catalogue) for c in ast.children(e))


def output_name(e: Any) -> str:
    """The column name PostgreSQL gives an unaliased select item."""
    if isinstance(e, ast.Column):
        return e.name
    if isinstance(e, ast.FuncCall):
        return e.name.lower()
    if isinstance(e, ast.FieldAccess):
        return e.field
    if isinstance(e, ast.Cast):
        inner = output_name(e.expr)
        return inner if inner != "?column?" else e.type_name.split("(")[0].split()[-1]
    if isinstance(e, ast.Case):
        return "case"
    if isinstance(e, ast.Exists):
        return "exists"
    return "?column?"


def cast_kind(type_name: str) -> Kind:
    """Kind of ``x::type_name``: ``geography`` stays apart from geometry."""
    if type_name.startswith("geography"):
        return "geography"
    if type_name in ("box2d", "box3d"):
        return "box"
    kind = classify_type(type_name)[0]
    return None if kind == "other" else kind


def _column_kind(kind: str, sql_type: str) -> Kind:
    if kind == "geometry" and sql_type.lower().startswith("geography"):
        return "geography"
    return None if kind == "other" else kind


def _refs(scope: Scope) -> str:
    return ", ".join(scope.sources)


def _show(e: Any) -> str:
    if isinstance(e, ast.Column):
        return f"{e.table}.{e.name}" if e.table else e.name
    if isinstance(e, ast.FuncCall):
        return f"{e.name}(...)"
    return type(e).__name__
