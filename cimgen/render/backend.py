"""What the DuckDB and SpatiaLite renderers share: schema-aware name resolution, type
inference, catalogue-driven function names and the "unsupported" rules common to both."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from cimgen import ast
from cimgen.catalogue import Function, load_catalogue
from cimgen.render.base import P_ATOM, Renderer, Text, Unsupported
from cimgen.schema.model import Column as SchemaColumn
from cimgen.schema.model import Schema, classify_type
from cimgen.scope import Scope

# Standard functions whose result has the kind of their first argument.
_SAME_KIND_AS_ARG = frozenset(
    {"SUM", "MIN", "MAX", "ABS", "NULLIF", "COALESCE", "GREATEST", "LEAST", "LAG", "LEAD"}
)
_MAX_DEPTH = 16

Handler = Callable[[Any, ast.FuncCall, Scope | None], Text]


def split_type(type_name: str) -> tuple[str, str]:
    """``"numeric(10,2)"`` -> ``("numeric", "(10,2)")``."""
    base, paren, mods = type_name.partition("(")
    return base.strip(), paren + mods


def int_literal(node: Any) -> int | None:
    """The value of an unsigned integer literal (an SRID argument), else None."""
    return int(node.text) if isinstance(node, ast.Number) and node.text.isdigit() else None


_RASTER_NAMES: dict[int, tuple[Schema, frozenset[str]]] = {}


def raster_column_names(schema: Schema) -> frozenset[str]:
    """Names of the schema's raster columns: only columns so named need resolving to tell
    whether they are raster (cached per schema object; the schema is kept alive with it)."""
    cached = _RASTER_NAMES.get(id(schema))
    if cached is None or cached[0] is not schema:
        if len(_RASTER_NAMES) > 16:
            _RASTER_NAMES.clear()
        names = frozenset(c.name for t in schema.tables for c in t.columns if c.kind == "raster")
        cached = _RASTER_NAMES[id(schema)] = (schema, names)
    return cached[1]


class BackendRenderer(Renderer):
    """A non-PostgreSQL backend: names come from the catalogue key ``catalogue_key``;
    functions in ``special`` (canonical name -> method name) are rewritten by hand."""

    uses_scope = True
    catalogue_key: ClassVar[str] = ""
    special: ClassVar[dict[str, str]] = {}
    # True where the backend stores raster columns in a form its raster handlers understand.
    supports_raster: ClassVar[bool] = False

    def __init__(self, schema: Schema) -> None:
        super().__init__()
        self.schema = schema
        self.catalogue = load_catalogue()
        self._special: dict[str, Handler] = {
            name: getattr(type(self), method) for name, method in self.special.items()
        }
        self._raster_names = raster_column_names(schema)

    # ------------------------------------------------------------------ names

    def scope_of(self, select: ast.Select, parent: Scope | None, ctes: dict) -> Scope:
        return Scope.of_select(select, self.schema, parent, ctes)

    def qualified_table(self, ref: ast.TableRef, ctes: dict) -> str | None:
        """``schema.name`` of a base table (bare names resolved when unique), else None."""
        if ref.schema is None and ref.name in ctes:
            return None
        if ref.schema is not None:
            return f"{ref.schema}.{ref.name}"
        table = self.schema.find_table(ref.name)
        return table.qualified if table is not None else None

    def _column(self, node: ast.Column, scope: Scope | None) -> Text:
        if not self.supports_raster and scope is not None and node.name in self._raster_names:
            found = scope.resolve(node)
            if isinstance(found, SchemaColumn) and found.kind == "raster":
                ref = f"{node.table}.{node.name}" if node.table else node.name
                raise Unsupported(f"raster column {ref} has no {self.backend} equivalent")
        return super()._column(node, scope)

    def _field_access(self, node: ast.FieldAccess, scope: Scope | None) -> Text:
        self.text(node.expr, scope)  # a raster function inside reports itself first
        raise Unsupported(
            f"composite field access (...).{node.field} has no {self.backend} equivalent"
        )

    # ------------------------------------------------------------------ functions

    def _func(self, node: ast.FuncCall, scope: Scope | None) -> Text:
        handler = self._special.get(node.name)
        if handler is not None:
            return handler(self, node, scope)
        return self.call(self.function_name(node), node, node.args, scope), P_ATOM

    def function_name(self, node: ast.FuncCall) -> str:
        """The backend's name for ``node`` (no schema prefix), or Unsupported."""
        f = self.catalogue.get(node.name)
        if f is None:
            return node.name
        name: str | None = getattr(f, self.catalogue_key)
        if name is None:
            raise Unsupported(self.why_unsupported(f))
        return name

    def why_unsupported(self, f: Function) -> str:
        what = {"raster": "raster function", "clustering": "window clustering function"}
        return f"{what.get(f.category, 'function')} {f.name} has no {self.backend} equivalent"

    def plain(self, name: str, *args: str) -> Text:
        return f"{name}({', '.join(args)})", P_ATOM

    # ------------------------------------------------------------------ type inference

    def kind(self, node: Any, scope: Scope | None, depth: int = 0) -> str | None:
        """The coarse type of an expression (see schema KINDS, plus "geography"), or None."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, ast.Column):
            found = scope.resolve(node, depth) if scope is not None else None
            if isinstance(found, SchemaColumn):
                return "geography" if found.type.lower().startswith("geography") else found.kind
            if isinstance(found, tuple):
                return self.kind(found[0], found[1], depth + 1)
            return None
        if isinstance(node, ast.Number):
            return "integer" if node.text.lstrip("-").isdigit() else "float"
        if isinstance(node, ast.String):
            return "text"
        if isinstance(node, ast.Boolean):
            return "boolean"
        if isinstance(node, ast.Cast):
            base, _ = split_type(node.type_name)
            return "geography" if base == "geography" else classify_type(node.type_name)[0]
        if isinstance(node, ast.FuncCall):
            return self._func_kind(node, scope, depth)
        if isinstance(node, ast.BinaryOp):
            return self._binary_kind(node, scope, depth)
        if isinstance(node, ast.UnaryOp):
            return "boolean" if node.op == "NOT" else self.kind(node.operand, scope, depth + 1)
        if isinstance(node, ast.Case) and node.whens:
            return self.kind(node.whens[0].result, scope, depth + 1)
        if isinstance(node, ast.Between | ast.InList | ast.InSubquery | ast.Exists | ast.IsNull):
            return "boolean"
        return None

    def _func_kind(self, node: ast.FuncCall, scope: Scope | None, depth: int) -> str | None:
        if node.name == "COUNT":
            return "integer"
        if node.name in _SAME_KIND_AS_ARG:
            return self.kind(node.args[0], scope, depth + 1) if node.args else None
        f = self.catalogue.get(node.name)
        if f is None:
            return None
        returns = f.returns
        if "geography" in returns and node.args:
            first = self.kind(node.args[0], scope, depth + 1)
            return "geography" if first == "geography" else "geometry"
        if len(returns) == 1:
            kind = next(iter(returns))
            return {"any": None, "box": "geometry"}.get(kind, kind)
        return None

    def _binary_kind(self, node: ast.BinaryOp, scope: Scope | None, depth: int) -> str | None:
        op = node.op
        if op in ("+", "-", "*", "/", "%"):
            kinds = {
                self.kind(node.left, scope, depth + 1),
                self.kind(node.right, scope, depth + 1),
            }
            if kinds == {"integer"}:
                return "integer"
            return "float" if kinds <= {"integer", "float"} else None
        if op == "||":
            return "text"
        if op == "<->":
            return "float"
        return "boolean"

    def is_geography(self, node: Any, scope: Scope | None) -> bool:
        return self.kind(node, scope) == "geography"

    def metric_srid(self) -> int:
        if not self.schema.metric_srid:
            raise Unsupported(
                f"schema {self.schema.name} has no metric_srid, so {self.backend} cannot "
                "measure geography in metres"
            )
        return self.schema.metric_srid
