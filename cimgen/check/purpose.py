"""Static rules of purpose: every table and clause of a query is there for a reason.

Each rule is one function with a stable code (stage ``static``, severity ``error``):

* ``PUR001`` unused table -- a FROM item (or a CTE) that contributes nothing but its join
  condition (bad: ``SELECT b.id FROM building b JOIN project_scenario p ON ...``, p unused;
  good: ``SELECT b.id, p.project_name FROM ...``). EXISTS / IN / scalar subqueries are
  exempt: existence is their purpose.
* ``PUR002`` contradictory predicates on one column (bad: ``x = 1 AND x = 2``,
  ``h > 50 AND h < 10``).
* ``PUR003`` redundant predicates on one column (bad: ``h > 10 AND h > 5``; ``t = 'a' AND
  t IN ('a', 'b')``; the same predicate twice).
* ``PUR004`` a function applied where its result means nothing for the geometry type
  (bad: ``ST_Area(bus.geometry)`` of points, ``ST_Length`` of polygons, ``ST_Centroid`` of a
  point, ``ST_X`` of a polygon).
* ``PUR005`` an aggregate over groups of one row by construction (bad: ``GROUP BY b.id``
  over ``building`` alone; ``WHERE b.id = 7`` with ``COUNT(*)``).
* ``PUR006`` an outer join made inner: the optional side of a LEFT JOIN filtered in WHERE
  other than by ``IS [NOT] NULL`` (bad: ``LEFT JOIN c ... WHERE c.x = 1``; good: the
  filter in the ON clause, or ``WHERE c.id IS NULL``).
* ``PUR007`` an output named for another quantity (bad: ``ST_Perimeter(...) AS area_sqm``).
* ``PUR008`` a constant output: a column (or an aggregate of one) read only from a table
  whose primary key the block pins to one row, beside tables it does not pin (bad:
  ``SELECT gl.name, ps.project_name FROM grid_line gl JOIN project_scenario ps ON ...
  WHERE ps.project_id = 'p' AND ps.scenario_id = 's'`` -- the project name on every row;
  good: the same without ``ps``, pinned by ``gl.project_id = 'p' AND gl.scenario_id = 's'``).
* ``PUR009`` an overall ranking the ORDER BY repeats: ``ROW_NUMBER()`` / ``RANK()`` /
  ``DENSE_RANK()`` over no partition, ordered by what the query orders by (bad:
  ``ROW_NUMBER() OVER (ORDER BY d) AS position ... ORDER BY d`` -- the row's position;
  good: ``RANK() OVER (PARTITION BY zone ORDER BY d)``, or another ordering).
* ``PUR010`` an ordering by a coordinate (bad: ``ORDER BY ST_X(geometry)`` or by an output
  ``lon`` computed so; good: by a measure, a distance to a named place, a name).
* ``PUR011`` ORDER BY or LIMIT on one row by construction: a block with aggregates and no
  GROUP BY (bad: ``SELECT COUNT(*) ... ORDER BY 1 LIMIT 5``).
* ``PUR012`` a CTE column no reader uses (bad: ``WITH m AS (SELECT ST_Length(g) AS
  length_m, name FROM line) SELECT m.name FROM m``; group keys, unnamed items, a CTE read
  by ``*``, with a column list or DISTINCT are exempt).
* ``PUR013`` WKT and longitude/latitude of one geometry in one SELECT list (bad:
  ``ST_AsText(g) AS wkt, ST_X(g) AS lon, ST_Y(g) AS lat``; also of its centroid).
* ``PUR014`` a clustering window (``ST_ClusterDBSCAN`` / ``ST_ClusterKMeans``) over rows a
  join multiplies: its block, or the CTE it reads, joins two vector tables by distance or
  intersection, so each geometry is clustered once per partner (bad: lines joined to the
  buildings within 150 m, then DBSCAN of the lines).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from cimgen import ast
from cimgen.check.base import CheckContext, Subject, block_scopes
from cimgen.codes import (
    PUR001,
    PUR002,
    PUR003,
    PUR004,
    PUR005,
    PUR006,
    PUR007,
    PUR008,
    PUR009,
    PUR010,
    PUR011,
    PUR012,
    PUR013,
    PUR014,
    finding,
)
from cimgen.equalities import inner_table_refs, one_row_aliases
from cimgen.models import Finding
from cimgen.schema.model import Column as SchemaColumn
from cimgen.scope import Scope

_SPATIAL_LINKS = frozenset(
    {
        "st_intersects",
        "st_contains",
        "st_within",
        "st_dwithin",
        "st_touches",
        "st_crosses",
        "st_overlaps",
        "st_covers",
        "st_coveredby",
        "st_equals",
        "st_disjoint",
    }
)
_POINTS = {"POINT", "MULTIPOINT"}
_LINES = {"LINESTRING", "MULTILINESTRING"}
_POLYGONS = {"POLYGON", "MULTIPOLYGON"}
# function -> geometry types its first argument must NOT have
_MEANINGLESS = {
    "ST_Area": _POINTS | _LINES,
    "ST_Perimeter": _POINTS | _LINES,
    "ST_Length": _POINTS | _POLYGONS,
    "ST_Centroid": _POINTS,
    "ST_PointOnSurface": _POINTS,
    "ST_ConvexHull": _POINTS,
    "ST_Envelope": _POINTS,
    "ST_X": _LINES | _POLYGONS,
    "ST_Y": _LINES | _POLYGONS,
    "ST_StartPoint": _POINTS | _POLYGONS,
    "ST_EndPoint": _POINTS | _POLYGONS,
    "ST_ExteriorRing": _POINTS | _LINES,
}
_WRAPPERS = {"ST_Transform", "ST_SetSRID", "ST_Force2D", "ST_Multi", "ST_MakeValid"}
_MEASURE_WORDS = {
    "area": {"ST_Area"},
    "perimeter": {"ST_Perimeter"},
    "length": {"ST_Length"},
    "distance": {"ST_Distance", "ST_DistanceSphere", "ST_MaxDistance", "ST_HausdorffDistance"},
}
_MEASURES = {f for fs in _MEASURE_WORDS.values() for f in fs}


@dataclass
class _Block:
    select: ast.Select
    scope: Scope
    order_by: tuple[ast.OrderItem, ...]
    role: str  # main | cte | derived | predicate (EXISTS / IN / scalar)


def _blocks(subject: Subject, ctx: CheckContext) -> tuple[_Block, ...]:
    """Every SELECT block of the subject's query with its scope and role, outermost
    first; none where the subject has no parsed query (so a rule that only reads blocks
    needs no guard of its own). Built once per query and kept on the subject: every rule
    asks for the blocks of each candidate in turn, and rebuilding their scopes was half of
    the rules' CPU (issue 16)."""
    q = subject.query
    if q is None:
        return ()
    if subject.blocks is None or subject.blocks[0] is not q:
        subject.blocks = (q, tuple(_walk_blocks(q, block_scopes(subject, ctx.schema))))
    return subject.blocks[1]


def _walk_blocks(query: ast.Query, scopes: dict[int, Scope]) -> Iterator[_Block]:
    stack: list[tuple[ast.Query, str]] = [(query, "main")]
    while stack:
        q, role = stack.pop()
        stack.extend((c.query, "cte") for c in q.ctes)
        selects = _selects(q.body)
        for k, sel in enumerate(selects):
            yield _Block(
                sel, scopes[id(sel)], q.order_by if k == 0 and len(selects) == 1 else (), role
            )
            stack.extend(_nested(sel))


def _selects(body: ast.Select | ast.SetOp | ast.Query) -> list[ast.Select]:
    if isinstance(body, ast.Select):
        return [body]
    if isinstance(body, ast.SetOp):
        return _selects(body.left) + _selects(body.right)
    return _selects(body.body)


def _nested(select: ast.Select) -> Iterator[tuple[ast.Query, str]]:
    """Queries nested in a block (not through further nesting)."""
    stack: list[Any] = [*select.items, *select.from_, *select.group_by]
    stack += [x for x in (select.where, select.having) if x is not None]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.DerivedTable):
            yield n.query, "derived"
            continue
        if isinstance(n, (ast.Exists, ast.InSubquery, ast.Subquery)):
            yield n.query, "predicate"
            continue
        stack.extend(ast.children(n))


def _leaves(item: ast.FromItem) -> list[str]:
    if isinstance(item, ast.TableRef):
        return [item.ref_name]
    if isinstance(item, ast.DerivedTable):
        return [item.alias]
    return _leaves(item.left) + _leaves(item.right)


def _refs(e: Any) -> set[str | None]:
    """Qualifiers of the columns under ``e``, nested queries included (correlation)."""
    return {n.table for n in ast.walk(e) if isinstance(n, ast.Column)}


def _is_link(e: ast.Expr) -> bool:
    """A pure join condition: equal columns, or a spatial predicate between two sides."""
    refs = {r for r in _refs(e) if r is not None}
    if len(refs) < 2:
        return False
    if isinstance(e, ast.BinaryOp) and e.op == "=":
        return isinstance(e.left, ast.Column) and isinstance(e.right, ast.Column)
    if isinstance(e, ast.BinaryOp) and e.op == "<>":  # a row is not its own neighbour
        return isinstance(e.left, ast.Column) and isinstance(e.right, ast.Column)
    return isinstance(e, ast.FuncCall) and e.name.lower() in _SPATIAL_LINKS


# --------------------------------------------------------------------------- PUR001


def check_unused_tables(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR001: a FROM item or CTE that contributes nothing but its join condition."""
    q = subject.query
    if q is None:
        return []
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        sel = b.select
        aliases = [a for item in sel.from_ for a in _leaves(item)]
        if len(aliases) < 2 or (b.role == "predicate" and len(aliases) < 2):
            continue
        used: set[str | None] = set()
        if _aggregates(sel, ctx):
            used.add(aliases[0])  # COUNT(*) and friends count the rows of the first item
        for it in sel.items:
            used |= _refs(it.expr)
            if isinstance(it.expr, ast.Star):
                used.add(it.expr.table) if it.expr.table else used.update(aliases)
        for e in (*sel.group_by, sel.having, *(o.expr for o in b.order_by)):
            if e is not None:
                used |= _refs(e)
        conds = ast.conjuncts(sel.where) + [c for j in _joins(sel) for c in ast.conjuncts(j.on)]
        for c in conds:
            if not _is_link(c):
                used |= _refs(c)
        for a in aliases:
            if a not in used:
                found.append(
                    finding(PUR001, f"{a} is joined but nothing is asked of it; drop it or use it")
                )
    names = set(ast.ctes_by_name(q))
    read = {n.name for n in ast.walk(q) if isinstance(n, ast.TableRef) and n.schema is None}
    for name in sorted(names - read):
        found.append(finding(PUR001, f"CTE {name} is never read"))
    return found


def _joins(sel: ast.Select) -> list[ast.Join]:
    out: list[ast.Join] = []
    stack: list[Any] = list(sel.from_)
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Join):
            out.append(n)
            stack.extend((n.left, n.right))
    return out


# --------------------------------------------------------------------------- PUR002 / PUR003


@dataclass
class _Constraint:
    op: str  # = <> < <= > >= in between
    values: tuple[Any, ...]
    text: str


def _literal(e: ast.Expr) -> Any:
    if isinstance(e, ast.Number):
        return float(e.text)
    if isinstance(e, ast.String):
        return e.value
    if isinstance(e, ast.Boolean):
        return e.value
    if isinstance(e, ast.UnaryOp) and e.op == "-" and isinstance(e.operand, ast.Number):
        return -float(e.operand.text)
    return None


_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "<>": "<>"}


def _constraint(e: ast.Expr) -> tuple[tuple[str | None, str], _Constraint] | None:
    if isinstance(e, ast.BinaryOp) and e.op in _FLIP:
        if isinstance(e.left, ast.Column) and _literal(e.right) is not None:
            return (e.left.table, e.left.name), _Constraint(e.op, (_literal(e.right),), repr(e))
        if isinstance(e.right, ast.Column) and _literal(e.left) is not None:
            col = e.right
            return (col.table, col.name), _Constraint(_FLIP[e.op], (_literal(e.left),), repr(e))
    if isinstance(e, ast.InList) and not e.negated and isinstance(e.expr, ast.Column):
        vals = tuple(_literal(v) for v in e.items)
        if None not in vals:
            return (e.expr.table, e.expr.name), _Constraint("in", vals, repr(e))
    if isinstance(e, ast.Between) and not e.negated and isinstance(e.expr, ast.Column):
        lo, hi = _literal(e.low), _literal(e.high)
        if lo is not None and hi is not None:
            return (e.expr.table, e.expr.name), _Constraint("between", (lo, hi), repr(e))
    return None


def _admits(c: _Constraint, v: Any) -> bool:
    try:
        if c.op == "=":
            return bool(v == c.values[0])
        if c.op == "<>":
            return bool(v != c.values[0])
        if c.op == "in":
            return v in c.values
        if c.op == "between":
            return bool(c.values[0] <= v <= c.values[1])
        return bool(
            {
                "<": v < c.values[0],
                "<=": v <= c.values[0],
                ">": v > c.values[0],
                ">=": v >= c.values[0],
            }[c.op]
        )
    except TypeError:
        return True


def _probe_values(cs: list[_Constraint]) -> list[Any]:
    """Values at and around every bound: enough to decide emptiness and implication of
    a conjunction of comparisons on one column."""
    out: set[Any] = set()
    for c in cs:
        for v in c.values:
            out.add(v)
            if isinstance(v, float):
                out.update({v - 1e-6, v + 1e-6, v - 1e6, v + 1e6})
    return sorted(out, key=lambda v: (type(v).__name__, v))


def check_predicates(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR002 contradictory, PUR003 redundant predicates on one column."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        by_col: dict[tuple[str | None, str], list[_Constraint]] = {}
        seen: set[str] = set()
        for c in ast.conjuncts(b.select.where):
            text = repr(c)
            if text in seen:
                found.append(finding(PUR003, "the same predicate is written twice"))
                continue
            seen.add(text)
            got = _constraint(c)
            if got is not None:
                by_col.setdefault(got[0], []).append(got[1])
        for (table, name), cs in by_col.items():
            if len(cs) < 2:
                continue
            col = f"{table}.{name}" if table else name
            probes = _probe_values(cs)
            if not any(all(_admits(c, v) for c in cs) for v in probes):
                found.append(finding(PUR002, f"the conditions on {col} exclude each other"))
                continue
            for i, con in enumerate(cs):
                others = cs[:i] + cs[i + 1 :]
                if all(_admits(con, v) for v in probes if all(_admits(o, v) for o in others)):
                    found.append(finding(PUR003, f"a condition on {col} is implied by the others"))
                    break
    return found


# --------------------------------------------------------------------------- PUR004


def _base_column(e: ast.Expr, scope: Scope) -> SchemaColumn | None:
    """The schema column a geometry argument reads (through casts and SRID changes)."""
    while True:
        if isinstance(e, ast.Cast):
            e = e.expr
        elif isinstance(e, ast.FuncCall) and e.name in _WRAPPERS and e.args:
            e = e.args[0]
        else:
            break
    if not isinstance(e, ast.Column):
        return None
    found = scope.resolve(e)
    if isinstance(found, SchemaColumn):
        return found
    if isinstance(found, tuple):
        return _base_column(found[0], found[1])
    return None


def check_geometry_fit(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR004: a function whose result means nothing for the geometry type it gets."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        for call in _calls(b.select):
            bad = _MEANINGLESS.get(call.name)
            if not bad or not call.args:
                continue
            col = _base_column(call.args[0], b.scope)
            if col is not None and col.kind == "geometry" and (col.geometry_type or "") in bad:
                found.append(
                    finding(
                        PUR004,
                        f"{call.name} of {col.name} ({col.geometry_type}) means nothing",
                    )
                )
    return found


def _calls(select: ast.Select) -> list[ast.FuncCall]:
    out: list[ast.FuncCall] = []
    stack: list[Any] = [*select.items, *select.from_, *select.group_by]
    stack += [x for x in (select.where, select.having) if x is not None]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Query, ast.Select)):
            continue
        if isinstance(n, ast.FuncCall):
            out.append(n)
        stack.extend(ast.children(n))
    return out


# --------------------------------------------------------------------------- PUR005


def _aggregates(select: ast.Select, ctx: CheckContext) -> bool:
    for it in select.items:
        for n in ast.walk_own(it.expr):  # a scalar subquery's COUNT is not this block's
            if isinstance(n, ast.FuncCall) and n.over is None:
                if n.star and n.name == "COUNT":
                    return True
                fn = _catalogue().get(n.name)
                if fn is not None and fn.is_aggregate_call(len(n.args)):
                    return True
    return False


def _catalogue() -> Any:
    from cimgen.catalogue import load_catalogue

    return load_catalogue()


def check_group_of_one(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR005: aggregates over groups that hold one row by construction."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        sel = b.select
        if len(sel.from_) != 1 or not isinstance(sel.from_[0], ast.TableRef):
            continue
        ref = sel.from_[0]
        table = ctx.schema.find_table(ref.name, ref.schema)
        if table is None or not table.primary_key or not _aggregates(sel, ctx):
            continue
        pk = set(table.primary_key)
        grouped = {
            e.name
            for e in sel.group_by
            if isinstance(e, ast.Column) and e.table in (None, ref.ref_name)
        }
        pinned = set()
        for c in ast.conjuncts(sel.where):
            got = _constraint(c)
            if got is not None and got[1].op == "=" and got[0][0] in (None, ref.ref_name):
                pinned.add(got[0][1])
        if pk <= grouped or pk <= pinned:
            found.append(
                finding(PUR005, f"every group holds one {table.name} row: nothing to aggregate")
            )
    return found


# --------------------------------------------------------------------------- PUR006


def check_outer_join(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR006: the optional side of a LEFT JOIN filtered in WHERE (an inner join then)."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        optional: set[str] = set()
        for j in _joins(b.select):
            if j.kind == "LEFT":
                optional.update(_leaves(j.right))
            elif j.kind == "RIGHT":
                optional.update(_leaves(j.left))
        if not optional:
            continue
        for c in ast.conjuncts(b.select.where):
            if isinstance(c, ast.IsNull):
                continue
            hit = sorted(r for r in _refs(c) if r in optional)
            if hit:
                found.append(
                    finding(
                        PUR006,
                        f"WHERE filters the optional side {hit[0]} of an outer join; "
                        "put the condition in its ON clause",
                    )
                )
    return found


# --------------------------------------------------------------------------- PUR007


def _measure_of(e: ast.Expr) -> str | None:
    """The spatial measure an output expression computes (through aggregates, rounding)."""
    for n in ast.walk(e):
        if isinstance(n, ast.FuncCall) and n.name in _MEASURES:
            return n.name
    return None


def check_alias_meaning(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR007: an output named for another quantity than it computes."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        for it in b.select.items:
            if not it.alias:
                continue
            measure = _measure_of(it.expr)
            if measure is None:
                continue
            words = [w for w in _MEASURE_WORDS if w in it.alias.lower()]
            if words and not any(measure in _MEASURE_WORDS[w] for w in words):
                found.append(
                    finding(PUR007, f"{it.alias} names a {words[0]} but computes {measure}")
                )
    return found


# --------------------------------------------------------------------------- PUR008


def _inner_conditions(sel: ast.Select) -> list[ast.Expr]:
    out = ast.conjuncts(sel.where)
    stack: list[ast.FromItem] = list(sel.from_)
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Join) and item.kind not in ("LEFT", "RIGHT", "FULL"):
            out += ast.conjuncts(item.on)
            stack += [item.left, item.right]
    return out


def _one_row_aliases(sel: ast.Select, ctx: CheckContext) -> tuple[set[str], set[str]]:
    """(aliases pinned to one row by literals on their whole primary key, directly or
    through the block's equalities; all inner-joined table aliases)."""

    def primary_key(ref: ast.TableRef) -> tuple[str, ...]:
        table = ctx.schema.find_table(ref.name, ref.schema)
        return tuple(table.primary_key) if table is not None else ()

    every = {r.ref_name for item in sel.from_ for r in inner_table_refs(item)}
    return one_row_aliases(sel, primary_key), every


def check_constant_outputs(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR008: an output read only from a row the block pins, beside rows it does not."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        if b.role != "main":
            continue
        one, every = _one_row_aliases(b.select, ctx)
        if not one or not (every - one):
            continue  # nothing pinned, or a lookup of one row: its columns are the answer
        for it in b.select.items:
            nodes = list(ast.walk(it.expr))
            if any(isinstance(n, (ast.Query, ast.Subquery)) for n in nodes):
                continue
            if any(isinstance(n, ast.FuncCall) and n.over is not None for n in nodes):
                continue
            if it.expr in b.select.group_by:
                continue
            cols = [n for n in nodes if isinstance(n, ast.Column)]
            if cols and all(c.table in one for c in cols):
                name = it.alias or (cols[0].name if isinstance(it.expr, ast.Column) else "?")
                found.append(
                    finding(
                        PUR008,
                        f"{name} is the same on every row (read from {cols[0].table}, pinned "
                        "to one row); drop it",
                    )
                )
    return found


_REPEATING_RANKS = frozenset({"ROW_NUMBER", "RANK", "DENSE_RANK"})


def _order_exprs(b: _Block) -> list[tuple[ast.Expr, str | None]]:
    """The block's ORDER BY expressions, an output's name resolved to what it computes,
    each with the output name it used (or None)."""
    named = {it.alias: it.expr for it in b.select.items if it.alias}
    out: list[tuple[ast.Expr, str | None]] = []
    for o in b.order_by:
        e = o.expr
        if isinstance(e, ast.Column) and e.table is None and e.name in named:
            out.append((named[e.name], e.name))
        else:
            out.append((e, None))
    return out


def check_ordering(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR009 / PUR010 / PUR011: orderings that say nothing (module docstring)."""
    q = subject.query
    if q is None:
        return []
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        if b.role != "main":
            continue
        order = _order_exprs(b)
        if order:
            first, name = order[0]
            for it in b.select.items:
                w = it.expr
                if not (isinstance(w, ast.FuncCall) and w.over is not None):
                    continue
                if w.name.upper() not in _REPEATING_RANKS or w.over.partition_by:
                    continue
                if (w.over.order_by and w.over.order_by[0].expr == first) or (
                    name is not None and name == it.alias
                ):
                    found.append(
                        finding(
                            PUR009,
                            f"{w.name}() over no partition repeats the query's ORDER BY: the "
                            "row's position; partition it or drop it",
                        )
                    )
        for e, _ in order:
            calls = {n.name.upper() for n in ast.walk(e) if isinstance(n, ast.FuncCall)}
            if calls & {"ST_X", "ST_Y"}:
                found.append(
                    finding(
                        PUR010,
                        "ORDER BY a longitude/latitude; order by a measure, a distance or a name",
                    )
                )
                break
        aggregated = _aggregates(b.select, ctx) and not b.select.group_by
        windowed = any(
            isinstance(n, ast.FuncCall) and n.over is not None
            for it in b.select.items
            for n in ast.walk(it.expr)
        )
        if aggregated and not windowed and (b.order_by or _limit(q, b)):
            found.append(
                finding(PUR011, "ORDER BY/LIMIT on one summary row (aggregates, no GROUP BY)")
            )
    return found


def _limit(q: ast.Query, b: _Block) -> bool:
    return b.role == "main" and q.limit is not None and b.select is _selects(q.body)[0]


# --------------------------------------------------------------------------- PUR012-PUR014


def check_cte_columns(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR012: a CTE column that no later CTE, main block or ordering reads."""
    q = subject.query
    if q is None:
        return []
    found: list[Finding] = []
    for query in (n for n in ast.walk(q) if isinstance(n, ast.Query)):
        for k, cte in enumerate(query.ctes):
            body = cte.query.body
            if not isinstance(body, ast.Select) or body.distinct or cte.columns:
                continue
            readers: list[Any] = [query.body, *query.order_by]
            readers += [c.query for c in query.ctes[k + 1 :]]
            nodes = [n for r in readers for n in ast.walk(r)]
            names = {
                n.ref_name
                for n in nodes
                if isinstance(n, ast.TableRef) and n.schema is None and n.name == cte.name
            }
            if not names or any(
                isinstance(n, ast.Star) and (n.table is None or n.table in names) for n in nodes
            ):
                continue
            used = {
                n.name
                for n in nodes
                if isinstance(n, ast.Column) and (n.table is None or n.table in names)
            }
            for it in body.items:
                name = ast.output_name(it)
                if name and name not in used and it.expr not in body.group_by:
                    found.append(
                        finding(PUR012, f"CTE {cte.name} selects {name}; nothing reads it")
                    )
    return found


def _point_output(e: ast.Expr) -> tuple[str, ast.Expr] | None:
    if not isinstance(e, ast.FuncCall) or len(e.args) != 1:
        return None
    fn = e.name.lower()
    if fn not in ("st_astext", "st_x", "st_y"):
        return None
    arg = e.args[0]
    if isinstance(arg, ast.FuncCall) and arg.name.lower() == "st_centroid" and arg.args:
        arg = arg.args[0]
    return fn, arg


def check_overlapping_outputs(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR013: WKT beside the longitude/latitude of the same geometry."""
    found: list[Finding] = []
    for b in _blocks(subject, ctx):
        fns: dict[Any, set[str]] = {}
        for it in b.select.items:
            p = _point_output(it.expr)
            if p is not None:
                fns.setdefault(p[1], set()).add(p[0])
        if any("st_astext" in v and v & {"st_x", "st_y"} for v in fns.values()):
            found.append(finding(PUR013, "WKT and lon/lat of one geometry: keep one form"))
    return found


_MULTIPLYING_LINKS = frozenset({"st_dwithin", "st_intersects"})
_CLUSTERING = frozenset({"st_clusterdbscan", "st_clusterkmeans"})


def _multiplied(b: _Block) -> bool:
    """Does the block join two vector tables by distance or intersection?"""
    for c in _inner_conditions(b.select):
        if not (isinstance(c, ast.FuncCall) and c.name.lower() in _MULTIPLYING_LINKS):
            continue
        if len(c.args) < 2 or len(_refs(c.args[0]) | _refs(c.args[1])) < 2:
            continue
        cols = [_base_column(a, b.scope) for a in c.args[:2]]
        if all(col is not None and col.kind == "geometry" for col in cols):
            return True
    return False


def check_clustering_input(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """PUR014: a clustering over the copies a distance / intersection join makes."""
    q = subject.query
    if q is None:
        return []
    blocks = list(_blocks(subject, ctx))
    ctes = set(ast.ctes_by_name(q))
    found: list[Finding] = []
    for b in blocks:
        clusters = any(
            isinstance(n, ast.FuncCall) and n.name.lower() in _CLUSTERING
            for it in b.select.items
            for n in ast.walk_own(it.expr)
        )
        if not clusters:
            continue
        refs = [r for f in b.select.from_ for r in inner_table_refs(f)]
        read = {r.name for r in refs if r.schema is None} & ctes
        sources = [b] + [
            o
            for o in blocks
            if o.role == "cte" and any(_is_cte_body(q, name, o.select) for name in read)
        ]
        if any(_multiplied(s) for s in sources):
            found.append(finding(PUR014, "clustering rows a distance/intersection join multiplies"))
    return found


def _is_cte_body(q: ast.Query, name: str, sel: ast.Select) -> bool:
    return any(
        c.name == name and c.query.body is sel
        for n in ast.walk(q)
        if isinstance(n, ast.Query)
        for c in n.ctes
    )


PURPOSE_CHECKS = (
    ("unused", check_unused_tables),
    ("predicates", check_predicates),
    ("geometry_fit", check_geometry_fit),
    ("group_of_one", check_group_of_one),
    ("outer_join", check_outer_join),
    ("alias_meaning", check_alias_meaning),
    ("constant_output", check_constant_outputs),
    ("ordering", check_ordering),
    ("cte_columns", check_cte_columns),
    ("overlapping_outputs", check_overlapping_outputs),
    ("clustering_input", check_clustering_input),
)
