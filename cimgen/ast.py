"""The AST of CIM-constrained spatial SQL.

One tree, three producers and consumers:

* the Lark grammar (``grammar/cim_sql.lark``) parses text into it (``cimgen.grammar``);
* the expander builds it from a sampled structure (``cimgen.expand``);
* the renderers turn it into PostGIS, SpatiaLite and DuckDB SQL (``cimgen.render``).

Nodes are small frozen dataclasses holding tuples, so trees are hashable, comparable with
``==`` and never mutated behind anyone's back: "parse, render, parse again" must give an
equal tree.

Canonical forms (the parser normalises to them, the expander must produce them):

* identifiers are stored case-folded the PostgreSQL way: unquoted names lowercase, quoted
  names as written (``"SEZ2011"`` stays ``SEZ2011``); the renderer quotes a name only when
  it is not a plain lowercase identifier or is a reserved word;
* function names are spelled as in the function catalogue (``ST_Area``) or, for functions
  outside it, upper case (``COUNT``, ``ROUND``) -- see :func:`cimgen.catalogue.canonical_name`;
* ``JOIN`` and ``INNER JOIN`` are both kind ``"INNER"``; ``LEFT OUTER JOIN`` is ``"LEFT"``;
* ``!=`` is stored as ``"<>"``; keywords (``AND``, ``LIKE``...) upper case;
* redundant parentheses are not stored: the renderer adds them from operator precedence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import Any, Union

# --------------------------------------------------------------------------- literals


@dataclass(frozen=True)
class Number:
    """A numeric literal, kept as written (``132.0`` and ``132`` differ)."""

    text: str


@dataclass(frozen=True)
class String:
    """A string literal; ``value`` is unescaped (``O'Brien``), the renderer escapes it."""

    value: str


@dataclass(frozen=True)
class Boolean:
    value: bool


@dataclass(frozen=True)
class Null:
    pass


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class Column:
    """A column reference ``table.name`` (``table`` is an alias, table or CTE name)."""

    name: str
    table: str | None = None


@dataclass(frozen=True)
class Star:
    """``*`` or ``t.*``."""

    table: str | None = None


# --------------------------------------------------------------------------- expressions


@dataclass(frozen=True)
class BinaryOp:
    """Binary operator.

    ``op`` is one of: ``OR AND = <> < <= > >= + - * / % || <-> && LIKE ILIKE``
    (``NOT LIKE`` is ``UnaryOp("NOT", BinaryOp("LIKE", ...))``).
    """

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True)
class UnaryOp:
    """``NOT x``, ``-x`` or ``+x``."""

    op: str
    operand: Expr


@dataclass(frozen=True)
class Between:
    expr: Expr
    low: Expr
    high: Expr
    negated: bool = False


@dataclass(frozen=True)
class InList:
    expr: Expr
    items: tuple[Expr, ...]
    negated: bool = False


@dataclass(frozen=True)
class InSubquery:
    expr: Expr
    query: Query
    negated: bool = False


@dataclass(frozen=True)
class Exists:
    """``EXISTS (query)``; ``NOT EXISTS`` is ``UnaryOp("NOT", Exists(...))``."""

    query: Query


@dataclass(frozen=True)
class IsNull:
    expr: Expr
    negated: bool = False


@dataclass(frozen=True)
class When:
    condition: Expr
    result: Expr


@dataclass(frozen=True)
class Case:
    whens: tuple[When, ...]
    else_: Expr | None = None
    operand: Expr | None = None


@dataclass(frozen=True)
class Cast:
    """``expr::type`` (style ``"::"``) or ``CAST(expr AS type)`` (style ``"CAST"``).

    ``type_name`` is lower case with single spaces: ``geography``, ``numeric``,
    ``double precision``, ``numeric(10,2)``.
    """

    expr: Expr
    type_name: str
    style: str = "::"


@dataclass(frozen=True)
class NamedArg:
    """A named function argument ``name := value`` (``=>`` parses to the same node)."""

    name: str
    value: Expr


@dataclass(frozen=True)
class OrderItem:
    expr: Expr
    direction: str | None = None  # "ASC" | "DESC"
    nulls: str | None = None  # "FIRST" | "LAST"


@dataclass(frozen=True)
class Window:
    """``OVER (PARTITION BY ... ORDER BY ...)``."""

    partition_by: tuple[Expr, ...] = ()
    order_by: tuple[OrderItem, ...] = ()


@dataclass(frozen=True)
class FuncCall:
    """A function call, aggregate or window function.

    ``schema`` is ``"public"`` for ``public.ST_Area(...)``; ``star`` is ``COUNT(*)``.
    """

    name: str
    args: tuple[Expr, ...] = ()
    schema: str | None = None
    distinct: bool = False
    star: bool = False
    filter: Expr | None = None
    over: Window | None = None


@dataclass(frozen=True)
class FieldAccess:
    """Composite field access: ``(ST_SummaryStats(rast)).mean``."""

    expr: Expr
    field: str


@dataclass(frozen=True)
class Subquery:
    """A scalar subquery used as an expression: ``(SELECT ...)``."""

    query: Query


Expr = Union[
    Number,
    String,
    Boolean,
    Null,
    Column,
    Star,
    BinaryOp,
    UnaryOp,
    Between,
    InList,
    InSubquery,
    Exists,
    IsNull,
    Case,
    Cast,
    NamedArg,
    FuncCall,
    FieldAccess,
    Subquery,
]

SUBQUERY_EXPRS = (Exists, InSubquery, Subquery)  # the expressions that hold a query

# --------------------------------------------------------------------------- FROM


@dataclass(frozen=True)
class TableRef:
    """A base table or CTE reference: ``schema.name alias``."""

    name: str
    schema: str | None = None
    alias: str | None = None

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}" if self.schema else self.name

    @property
    def ref_name(self) -> str:
        """The name columns use to refer to this table (alias, else the bare name)."""
        return self.alias or self.name


@dataclass(frozen=True)
class DerivedTable:
    """A subquery in FROM: ``(SELECT ...) AS alias``."""

    query: Query
    alias: str


@dataclass(frozen=True)
class Join:
    """``left <kind> JOIN right ON on``; kind is INNER, LEFT, RIGHT, FULL or CROSS."""

    kind: str
    left: FromItem
    right: FromItem
    on: Expr | None = None


FromItem = Union[TableRef, DerivedTable, Join]

# --------------------------------------------------------------------------- queries


@dataclass(frozen=True)
class SelectItem:
    expr: Expr
    alias: str | None = None


@dataclass(frozen=True)
class Select:
    """One SELECT block (no WITH / ORDER BY / LIMIT: those belong to :class:`Query`)."""

    items: tuple[SelectItem, ...]
    from_: tuple[FromItem, ...] = ()
    where: Expr | None = None
    group_by: tuple[Expr, ...] = ()
    having: Expr | None = None
    distinct: bool = False


@dataclass(frozen=True)
class SetOp:
    """``left UNION [ALL] right`` (also INTERSECT / EXCEPT). An arm that needs its own
    ORDER BY / LIMIT / WITH is a parenthesised :class:`Query`."""

    op: str
    left: Select | SetOp | Query
    right: Select | SetOp | Query
    all: bool = False


@dataclass(frozen=True)
class CTE:
    name: str
    query: Query
    columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    """A complete query expression: ``WITH ... body ORDER BY ... LIMIT ... OFFSET ...``.

    Statements, subqueries, CTE bodies and derived tables are all ``Query`` nodes.
    """

    body: Select | SetOp
    ctes: tuple[CTE, ...] = ()
    order_by: tuple[OrderItem, ...] = ()
    limit: Expr | None = None
    offset: Expr | None = None


Node = Union[Expr, FromItem, Query, Select, SetOp, CTE, SelectItem, OrderItem, Window, When]

# --------------------------------------------------------------------------- traversal


_FIELDS: dict[type, tuple[str, ...]] = {}
# names an annotation may use for a field that never holds a node ("str | None",
# "tuple[str, ...]"): such fields are not read when looking for children
_PLAIN_NAMES = frozenset({"str", "int", "float", "bool", "None", "tuple"})


def _plain(annotation: object) -> bool:
    """Whether a field annotated so holds plain values only (no node can be in it)."""
    if not isinstance(annotation, str):  # a module without postponed annotations
        return annotation in (str, int, float, bool)
    names = re.findall(r"[A-Za-z_][A-Za-z_0-9.]*", annotation)
    return bool(names) and all(n in _PLAIN_NAMES for n in names)


def _field_names(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold nodes, in declaration order (the names, ops
    and flags of a node are skipped: most fields of a tree are such plain values)."""
    names = _FIELDS.get(cls)
    if names is None:
        names = tuple(f.name for f in fields(cls) if not _plain(f.type))
        _FIELDS[cls] = names
    return names


def node_fields(node: Any) -> tuple[str, ...]:
    """The names of ``node``'s fields that may hold child nodes (or tuples of them), in
    field order: for rewrites that rebuild a tree (``replace`` with changed children).

    >>> node_fields(BinaryOp("=", Column("a"), Number("1")))
    ('left', 'right')
    """
    names = _FIELDS.get(type(node))
    return _field_names(type(node)) if names is None else names


_IS_NODE: dict[type, bool] = {}


def _is_node(cls: type) -> bool:
    """Whether instances of ``cls`` are nodes (dataclasses), asked once per type."""
    known = _IS_NODE.get(cls)
    if known is None:
        known = _IS_NODE[cls] = hasattr(cls, "__dataclass_fields__")
    return known


def _node_children(node: Any, names: tuple[str, ...]) -> list[Any]:
    """The child nodes in ``node``'s fields ``names`` (its :func:`node_fields`), flattening
    tuples; whether a value is a node is looked up per type. The one copy of the loop
    :func:`children` and :func:`walk` share."""
    out: list[Any] = []
    known = _IS_NODE
    for name in names:
        value = getattr(node, name)
        if value is None:
            continue
        if isinstance(value, tuple):
            for v in value:
                node_v = known.get(type(v))
                if node_v or (node_v is None and _is_node(type(v))):
                    out.append(v)
            continue
        node_v = known.get(type(value))
        if node_v or (node_v is None and _is_node(type(value))):
            out.append(value)
    return out


def children(node: Any) -> list[Any]:
    """The direct child nodes of ``node`` (dataclass fields, flattening tuples). Fields
    annotated with plain types only (names, operators, flags) are not read: the walks of
    the checks and the expander call this ~800 times per candidate (issue 16)."""
    names = _FIELDS.get(type(node))
    return _node_children(node, _field_names(type(node)) if names is None else names)


def walk(node: Any) -> Any:
    """Yield ``node`` and every node below it, depth first, in field order."""
    # a node without node fields (a column, a literal) is not read at all: most are such
    stack = [node]
    pop, by_type = stack.pop, _FIELDS
    while stack:
        current = pop()
        yield current
        names = by_type.get(type(current))
        if names is None:
            names = _field_names(type(current))
        if names:
            found = _node_children(current, names)
            if found:
                found.reverse()
                stack.extend(found)


def walk_up(node: Any) -> list[Any]:
    """``node`` and every node below it, each after its children (post-order), children
    in field order: the order a bottom-up rebuild reaches them.

    >>> [type(n).__name__ for n in walk_up(BinaryOp("=", Column("a"), Number("1")))]
    ['Column', 'Number', 'BinaryOp']
    """
    out: list[Any] = []
    stack = [node]
    pop, by_type = stack.pop, _FIELDS
    while stack:  # a node, then its children right to left: reversed, post-order
        current = pop()
        out.append(current)
        names = by_type.get(type(current))
        if names is None:
            names = _field_names(type(current))
        if names:
            stack.extend(_node_children(current, names))
    out.reverse()
    return out


def walk_own(node: Any) -> Any:
    """Like :func:`walk`, but a nested query (a scalar subquery, EXISTS, IN (SELECT ...), a
    derived table) is yielded without what is inside it: the nodes of ``node``'s own block
    (a COUNT(*) in a scalar subquery does not make the outer block aggregated)."""
    nested = (Subquery, Exists, InSubquery, DerivedTable, Query)
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if current is not node and isinstance(current, nested):
            continue
        stack.extend(reversed(children(current)))


def conjuncts(e: Expr | None) -> list[Expr]:
    """``a AND b AND c`` as ``[a, b, c]`` (nested ANDs spread out); nothing for ``None``."""
    if e is None:
        return []
    if not (isinstance(e, BinaryOp) and e.op == "AND"):
        return [e]
    out: list[Expr] = []
    stack: list[Expr] = [e]  # left before right, as the recursion read them (issue 16)
    while stack:
        x = stack.pop()
        if isinstance(x, BinaryOp) and x.op == "AND":
            stack += (x.right, x.left)
        else:
            out.append(x)
    return out


def and_all(conds: list[Expr]) -> Expr | None:
    """``[a, b, c]`` as ``a AND b AND c`` (left-deep, the parts as given: a conjunction
    among them is not spread out); ``None`` for none."""
    out: Expr | None = None
    for c in conds:
        out = c if out is None else BinaryOp("AND", out, c)
    return out


_OUTER = ("LEFT", "RIGHT", "FULL")


def block_conditions(body: Select, *, outer_joins: bool = False) -> list[Expr]:
    """The conjuncts of a block's WHERE and of the ON clauses of its joins (nested joins
    included), WHERE first: what a row of the block must meet. An outer join's ON does not
    filter the block's rows (its side is NULL instead), so it is left out unless
    ``outer_joins``; the tables under an outer join are still walked. One walk for the
    expander's rewrites and the purpose rules (through :mod:`cimgen.equalities`) and the
    benchmarks that classify shapes, so they agree on what "the conditions" are.
    """
    out = conjuncts(body.where)
    stack: list[FromItem] = list(body.from_)
    while stack:
        item = stack.pop()
        if isinstance(item, Join):
            if item.on is not None and (outer_joins or item.kind not in _OUTER):
                out += conjuncts(item.on)
            stack += [item.left, item.right]
    return out


def ctes_by_name(query: Query) -> dict[str, Query]:
    """Every CTE of ``query``, those of its nested queries too, by name (the later of two
    that share a name wins; a fresh dict, one walk of the tree).

    The expansion steps ask the attempt's reading instead
    (:meth:`cimgen.expand.multiply.Links.ctes`), which keeps the map while the query is
    unchanged: the one cache of it (thirteenth pass)."""
    return {c.name: c.query for n in walk(query) if isinstance(n, Query) for c in n.ctes}


def output_name(item: SelectItem) -> str | None:
    """The name a reader sees a select item by: its alias, or a plain column's name."""
    return item.alias or (item.expr.name if isinstance(item.expr, Column) else None)


def tables_read(node: Any) -> set[str]:
    """The table names or aliases that the columns below ``node`` are qualified with."""
    return {n.table for n in walk(node) if isinstance(n, Column) and n.table}


def is_box_prefilter(e: Any) -> bool:
    """``g && ST_Expand(h, d)``: the bounding-box test that lets an index serve a distance
    join (``cimgen.expand.spatial``); it repeats the ``ST_DWithin`` beside it, so readers
    (the question) skip it."""
    return (
        isinstance(e, BinaryOp)
        and e.op == "&&"
        and isinstance(e.right, FuncCall)
        and e.right.name.lower() == "st_expand"
    )


def without_box_prefilters(node: Any) -> Any:
    """``node`` with every ``... AND g && ST_Expand(h, d)`` conjunct left out."""
    if isinstance(node, tuple):
        items = tuple(without_box_prefilters(v) for v in node)
        return node if all(a is b for a, b in zip(items, node, strict=True)) else items
    if not is_dataclass(node) or isinstance(node, type):
        return node
    if isinstance(node, BinaryOp) and node.op == "AND":
        if is_box_prefilter(node.left):
            return without_box_prefilters(node.right)
        if is_box_prefilter(node.right):
            return without_box_prefilters(node.left)
    changes: dict[str, Any] = {}
    for name in node_fields(node):  # names and flags hold no prefilter
        value = getattr(node, name)
        new = without_box_prefilters(value)
        if new is not value:
            changes[name] = new
    return replace(node, **changes) if changes else node


def to_dict(node: Any) -> Any:
    """A JSON-ready nested dict of the tree (``{"_": "FuncCall", "name": ...}``)."""
    if isinstance(node, tuple):
        return [to_dict(v) for v in node]
    if is_dataclass(node):
        out: dict[str, Any] = {"_": type(node).__name__}
        for f in fields(node):
            out[f.name] = to_dict(getattr(node, f.name))
        return out
    return node


__all__ = [
    "CTE",
    "SUBQUERY_EXPRS",
    "Between",
    "Boolean",
    "Case",
    "Cast",
    "Column",
    "DerivedTable",
    "Exists",
    "Expr",
    "FieldAccess",
    "FromItem",
    "FuncCall",
    "InList",
    "InSubquery",
    "IsNull",
    "Join",
    "NamedArg",
    "Node",
    "Null",
    "Number",
    "OrderItem",
    "Query",
    "Select",
    "SelectItem",
    "SetOp",
    "Star",
    "String",
    "Subquery",
    "TableRef",
    "UnaryOp",
    "When",
    "Window",
    "and_all",
    "block_conditions",
    "children",
    "conjuncts",
    "ctes_by_name",
    "output_name",
    "tables_read",
    "to_dict",
    "walk",
    "walk_up",
]
