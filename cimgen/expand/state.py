"""State shared by the build steps: per-block state, the FROM / WHERE assembly and helpers.

:class:`Base` holds what every step reads (structure, context, rng, plan, block states)
and turns a block's sources into ``FROM`` items and its conditions into ``WHERE``;
:mod:`~cimgen.expand.compose` (spatial units), :mod:`~cimgen.expand.selects` (select
lists, UNION arm, ORDER BY) and :mod:`~cimgen.expand.build` (joins, subqueries,
predicates) extend it.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from cimgen import ast
from cimgen.catalogue import SPATIAL_CATEGORIES
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.plan import Block, Plan, Source, block_order
from cimgen.expand.predicates import conjoin, filter_for
from cimgen.expand.units import Unit, UnitFactory
from cimgen.models import QueryFeatures


@dataclass
class Item:
    expr: ast.Expr
    name: str
    kind: str  # num | text | bool | geom | label
    alias: bool = True


@dataclass
class BlockState:
    block: Block
    aggregated: str = "NONE"
    units: list[Unit] = field(default_factory=list)
    where_units: list[Unit] = field(default_factory=list)
    where: list[ast.Expr] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    filters: int = 0
    conds: dict[int, ast.Expr] = field(default_factory=dict)
    form: str = ""  # expr blocks: in | exists | scalar_corr | scalar
    corr: ast.Expr | None = None
    link: tuple[Source, str, str] | None = None  # host source, host column, own column
    links: list[ast.Expr] = field(default_factory=list)  # CROSS / comma links (WHERE)


def primary(cats: Counter[str]) -> str:
    if not cats:
        return "none"
    best = max(cats.values())
    return next(c for c in SPATIAL_CATEGORIES if cats.get(c) == best)


class Base:
    def __init__(
        self,
        s: QueryFeatures,
        ctx: ExpansionContext,
        rng: random.Random,
        plan: Plan,
        relax: int = 0,
    ) -> None:
        self.s, self.ctx, self.rng, self.plan, self.relax = s, ctx, rng, plan, relax
        self.public = rng.random() < ctx.public_share
        self.f = UnitFactory(ctx, rng, self.public)
        self.states = [BlockState(b) for b in plan.blocks]
        self.states[0].aggregated = s.aggregation
        if s.set_operation != "NONE":
            self.states[1].aggregated = "AGGREGATE" if s.aggregation != "NONE" else "NONE"
        self.cats: Counter[str] = Counter()
        self.names: set[str] = set()
        self.built: dict[int, ast.Query] = {}

    def _from(self, i: int) -> tuple[ast.FromItem, ...]:
        st = self.states[i]
        item: ast.FromItem | None = None
        commas: list[ast.FromItem] = []
        for k, src in enumerate(st.block.sources):
            ref: ast.FromItem
            if src.ref is None:
                ref = ast.TableRef(src.table.name, src.table.schema, src.alias)
            elif self.plan.blocks[src.ref].role == "cte":
                ref = ast.TableRef(self.plan.blocks[src.ref].name, None, src.alias)
            else:
                ref = ast.DerivedTable(self.built[src.ref], src.alias)
            if item is None:
                item = ref
            elif src.mode == "comma":
                commas.append(ref)
            elif src.mode == "cross":
                item = ast.Join("CROSS", item, ref)
            else:
                kind = (
                    "LEFT"
                    if src.path and src.path.kind == "key" and self.rng.random() < 0.15
                    else "INNER"
                )
                item = ast.Join(kind, item, ref, st.conds[k])
        assert item is not None
        return (item, *commas)

    def _columns(self, src: Source) -> tuple[str, ...]:
        """Columns a source offers: all of a table's, or what a CTE / derived table exposes."""
        return exposed(self.ctx, src.table) if src.ref is not None else src.table.plain

    def _where(self, i: int) -> ast.Expr | None:
        st = self.states[i]
        parts: list[ast.Expr] = [*st.where, *st.links]
        if st.corr is not None:
            parts.append(st.corr)
        parts += [u.make() for u in st.where_units]
        for _ in range(st.filters):
            src = self.rng.choice(st.block.sources)
            cols = self._columns(src) if src.ref is not None else None
            parts.append(filter_for(self.ctx, self.rng, src.table, src.alias, cols))
        for j, other in enumerate(self.states):
            if (
                other.block.role == "expr"
                and other.block.host == i
                and other.form != ("scalar_corr")
                and other.form != "scalar"
            ):
                parts.append(self._expr_sub(j))
        self.rng.shuffle(parts)
        return conjoin(parts)

    def _expr_sub(self, j: int) -> ast.Expr:
        st = self.states[j]
        own = st.block.sources[0]
        if st.form == "in":
            assert st.link
            hs, a, c = st.link
            q = ast.Query(
                ast.Select(
                    (ast.SelectItem(ast.Column(c, own.alias)),), self._from(j), self._where(j)
                )
            )
            return ast.InSubquery(ast.Column(a, hs.alias), q)
        if st.form == "exists":
            q = ast.Query(
                ast.Select((ast.SelectItem(ast.Number("1")),), self._from(j), self._where(j))
            )
            return ast.Exists(q)
        value: ast.Expr = ast.FuncCall("COUNT", star=True)
        nums = [c for c in own.table.numeric if c in self._columns(own)]
        if nums and self.rng.random() < 0.6:
            value = ast.FuncCall(
                self.rng.choice(("AVG", "MAX", "MIN", "SUM")),
                (ast.Column(self.rng.choice(nums), own.alias),),
            )
        q = ast.Query(ast.Select((ast.SelectItem(value),), self._from(j), self._where(j)))
        return ast.Subquery(q)


# --------------------------------------------------------------------------- helpers


def exposed(ctx: ExpansionContext, t: TableInfo) -> tuple[str, ...]:
    """Columns a CTE or derived table over ``t`` passes on: keys, geometry, attributes."""
    keys = [a for p in ctx.paths.get(t.qualified, ()) if p.kind == "key" for a, _ in p.pairs]
    cols = [
        *keys,
        *t.ids[:3],
        *(g.name for g in t.geoms),
        *(r.name for r in t.rasters),
        *t.categories,
        *t.text[:1],
        *t.numeric[:3],
        *t.booleans[:1],
    ]
    return tuple(dict.fromkeys(cols))


def kind_of(t: TableInfo, col: str) -> str:
    if col in t.numeric or col in t.integer:
        return "num"
    if col in t.booleans:
        return "bool"
    if any(g.name == col for g in t.geoms):
        return "geom"
    if any(r.name == col for r in t.rasters):
        return "raster"
    if col in t.text or col in t.ids or col in t.categories:
        return "num" if col in t.integer else "text"
    return "time"


def pk_of(ctx: ExpansionContext, t: TableInfo) -> str | None:
    table = ctx.schema.table(t.qualified)
    return table.primary_key[0] if table and len(table.primary_key) == 1 else None


def sorted_ctes(ctes: tuple[ast.CTE, ...], plan: Plan) -> tuple[ast.CTE, ...]:
    """CTEs in definition order: a CTE comes after every CTE it reads."""
    order = [plan.blocks[i].name for i in block_order(plan.blocks) if plan.blocks[i].role == "cte"]
    by_name = {c.name: c for c in ctes}
    return tuple(by_name[n] for n in order)
