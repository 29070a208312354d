"""Turn a :class:`~cimgen.expand.plan.Plan` into AST nodes, block by block.

Order of work: join conditions and subquery forms first (they fix some spatial calls and
predicates), then the spatial units that make up the rest of the function budget, then the
SELECT lists, filters, GROUP BY / HAVING, windows, UNION arms and ORDER BY / LIMIT.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from cimgen import ast
from cimgen.catalogue import SPATIAL_CATEGORIES
from cimgen.expand.context import ExpansionContext, TableInfo
from cimgen.expand.plan import Block, Plan, PlanError, Source
from cimgen.expand.predicates import conjoin, filter_for
from cimgen.expand.units import GeoRef, Unit, UnitFactory
from cimgen.models import QueryFeatures

_LIMITS = (5, 10, 10, 20, 25, 50, 100, 100, 200, 500)


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


def primary(cats: Counter[str]) -> str:
    if not cats:
        return "none"
    best = max(cats.values())
    return next(c for c in SPATIAL_CATEGORIES if cats.get(c) == best)


class Builder:
    def __init__(
        self, s: QueryFeatures, ctx: ExpansionContext, rng: random.Random, plan: Plan
    ) -> None:
        self.s, self.ctx, self.rng, self.plan = s, ctx, rng, plan
        self.public = rng.random() < ctx.public_share
        self.f = UnitFactory(ctx, rng, self.public)
        self.states = [BlockState(b) for b in plan.blocks]
        self.states[0].aggregated = s.aggregation
        if s.set_operation != "NONE":
            self.states[1].aggregated = "AGGREGATE" if s.aggregation != "NONE" else "NONE"
        self.cats: Counter[str] = Counter()
        self.names: set[str] = set()
        self.built: dict[int, ast.Query] = {}

    # ------------------------------------------------------------------ entry

    def build(self) -> ast.Query:
        self._joins()
        self._subquery_forms()
        self._spatial_units()
        self._predicates()
        for i in _order(self.plan.blocks):
            if self.plan.blocks[i].role in ("cte", "derived"):
                self.built[i] = self._block_query(i)
        main = self._select(0)
        ctes = tuple(
            ast.CTE(b.name, self.built[i])
            for i, b in enumerate(self.plan.blocks)
            if b.role == "cte"
        )
        body: ast.Select | ast.SetOp = main
        if self.s.set_operation != "NONE":
            arm2 = self._arm2(main)
            body = ast.SetOp("UNION", main, arm2, all=self.s.set_operation == "UNION_ALL")
        order, limit = self._order_limit()
        return ast.Query(body, ctes=_sorted_ctes(ctes, self.plan), order_by=order, limit=limit)

    # ------------------------------------------------------------------ joins

    def _joins(self) -> None:
        need_spatial = self.s.sql_type == "SPATIAL_JOIN"
        budget = self.s.spatial_function_count - sum(
            1
            for t in ("RASTER_VECTOR", "SPATIAL_MEASUREMENT", "SPATIAL_CLUSTERING")
            if self.s.sql_type == t
        )
        if self.s.primary_function_category != "predicates":
            # join predicates must stay fewer than the calls of the primary category
            budget = min(budget, (self.s.spatial_function_count - 1) // 2)
        for st in self.states:
            b = st.block
            for k, src in enumerate(b.sources):
                if k == 0 or src.path is None:
                    continue
                left = b.sources[src.join_to]
                alts = self.ctx.paths_between(left.table.qualified, src.table.qualified)
                keyed = [p for p in alts if p.kind == "key"]
                spatial = [p for p in alts if p.kind != "key"]
                if need_spatial and spatial and budget > 0:
                    path = self.rng.choice(spatial)
                    need_spatial = False
                elif keyed and (budget <= 1 or self.rng.random() < 0.6 or not spatial):
                    path = self.rng.choice(keyed)
                else:
                    path = self.rng.choice(spatial or keyed)
                src.path = path
                cond, cats = self._join_cond(left, src)
                budget -= len(cats)
                self.cats.update(cats)
                st.conds[k] = cond
        if need_spatial:
            raise PlanError(
                "EXP006",
                "SPATIAL_JOIN: no join could be made spatial within the spatial function budget",
            )

    def _join_cond(self, left: Source, right: Source) -> tuple[ast.Expr, tuple[str, ...]]:
        p = right.path
        assert p is not None
        if p.kind == "key":
            parts: list[ast.Expr] = [
                ast.BinaryOp("=", ast.Column(a, left.alias), ast.Column(b, right.alias))
                for a, b in p.pairs
            ]
            return conjoin(parts) or ast.Boolean(True), ()
        assert p.left_column and p.right_column
        lt, rt = left.table, right.table
        if p.kind == "raster":
            if any(r.name == p.left_column for r in lt.rasters):
                args = (
                    ast.Column(p.left_column, left.alias),
                    ast.Column(p.right_column, right.alias),
                )
            else:
                args = (
                    ast.Column(p.right_column, right.alias),
                    ast.Column(p.left_column, left.alias),
                )
            return self.f.call("ST_Intersects", *args), ("predicates",)
        ga = next(g for g in lt.geoms if g.name == p.left_column)
        gb = next(g for g in rt.geoms if g.name == p.right_column)
        a, b = GeoRef(left.alias, ga), GeoRef(right.alias, gb)
        eb, tcats = self.f.align(a, b)
        names = ["ST_Intersects", "ST_Intersects", "ST_DWithin", "ST_Touches"]
        if gb.areal and not ga.areal:
            names += ["ST_Within", "ST_CoveredBy"]
        if ga.areal and not gb.areal:
            names += ["ST_Contains", "ST_Covers"]
        name = self.rng.choice(names)
        if name == "ST_DWithin":
            call = self.f.call(
                name, self.f.geog(a.expr(), ga.srid), self.f.geog(eb, ga.srid), self.f.distance()
            )
        else:
            call = self.f.call(name, a.expr(), eb)
        cond: ast.Expr = call
        if lt.qualified == rt.qualified and (pk := _pk(self.ctx, lt)):
            cond = ast.BinaryOp(
                "AND",
                call,
                ast.BinaryOp("<>", ast.Column(pk, left.alias), ast.Column(pk, right.alias)),
            )
        return cond, ("predicates", *tcats)

    # ------------------------------------------------------------------ subqueries

    def _subquery_forms(self) -> None:
        for st in self.states:
            b = st.block
            if b.role != "expr":
                continue
            assert b.host is not None
            host = self.states[b.host]
            own = b.sources[0]
            links = []
            for hs in host.block.sources:
                for p in self.ctx.paths_between(hs.table.qualified, own.table.qualified):
                    links.append((hs, p))
            key = [(hs, p) for hs, p in links if p.kind == "key"]
            spatial = [(hs, p) for hs, p in links if p.kind == "spatial"]
            forms = ["scalar"]
            if key:
                forms += ["in", "in", "exists", "scalar_corr"]
            if spatial and self.s.spatial_function_count > sum(self.cats.values()) + 1:
                forms += ["exists_sp"]
            if host.aggregated != "NONE" or host.block.role == "arm2":
                forms = [f for f in forms if f != "scalar_corr"] or ["scalar"]
            if host.aggregated != "NONE" and "scalar" in forms and len(forms) > 1:
                forms.remove("scalar")
            form = self.rng.choice(forms)
            st.form = form
            if form in ("in", "exists", "scalar_corr"):
                hs, p = self.rng.choice(key)
                a, c = p.pairs[0]
                st.link = (hs, a, c)
                if form != "in":
                    st.corr = ast.BinaryOp("=", ast.Column(c, own.alias), ast.Column(a, hs.alias))
            elif form == "exists_sp":
                hs, p = self.rng.choice(spatial)
                ga = next(g for g in hs.table.geoms if g.name == p.left_column)
                gb = next(g for g in own.table.geoms if g.name == p.right_column)
                eb, tcats = self.f.align(GeoRef(hs.alias, ga), GeoRef(own.alias, gb))
                st.corr = self.f.call("ST_Intersects", ast.Column(ga.name, hs.alias), eb)
                self.cats.update(("predicates", *tcats))
                st.form = "exists"

    # ------------------------------------------------------------------ spatial units

    def _options(self) -> list[tuple[int, Unit]]:
        out: list[tuple[int, Unit]] = []
        for i, st in enumerate(self.states):
            b = st.block
            if b.role in ("expr", "arm2"):
                continue
            geos = [GeoRef(s.alias, g) for s in b.sources for g in s.table.geoms[:2]]
            rasts = [GeoRef(s.alias, r) for s in b.sources for r in s.table.rasters]
            opts: list[Unit] = []
            for g in geos[:3]:
                opts += self.f.single(g)
                if self.s.has_window and st.aggregated == "NONE":
                    opts += self.f.cluster(g)
                if st.aggregated != "NONE":
                    opts += self.f.aggregates(g)
            if len(geos) >= 2 and geos[0].alias != geos[1].alias:
                opts += self.f.pair(geos[0], geos[1])
            elif len(geos) >= 2:
                other = [g for g in geos if g.alias != geos[0].alias]
                if other:
                    opts += self.f.pair(geos[0], other[0])
            for r in rasts[:2]:
                opts += self.f.raster(r, geos[0] if geos else None)
            if st.aggregated != "NONE":
                opts = [u for u in opts if u.out != "geom" or u.aggregate]
            out += [(i, u) for u in opts]
        return out

    def _spatial_units(self) -> None:
        s = self.s
        base = Counter(self.cats)
        left0 = s.spatial_function_count - sum(base.values())
        if left0 < 0:
            raise PlanError(
                "EXP006",
                f"spatial_function_count {s.spatial_function_count} is "
                "smaller than the spatial joins need",
            )
        target = s.primary_function_category
        options = self._options()
        required = [
            c
            for t, c in (
                ("RASTER_VECTOR", "raster"),
                ("SPATIAL_MEASUREMENT", "measurements"),
                ("SPATIAL_CLUSTERING", "clustering"),
            )
            if s.sql_type == t
        ]
        maxlen = max((len(u.cats) for _, u in options), default=0)
        fits = [[o for o in options if len(o[1].cats) <= k] for k in range(maxlen + 1)]
        hits = [[o for o in f if target in o[1].cats] for f in fits]
        for _ in range(25):
            cats = Counter(base)
            left = left0
            chosen: list[tuple[int, Unit]] = []
            for req in required:
                fit = [o for o in fits[min(left, maxlen)] if req in o[1].cats]
                if not fit:
                    break
                o = self.rng.choice(fit)
                chosen.append(o)
                cats.update(o[1].cats)
                left -= len(o[1].cats)
            ok = True
            while left > 0:
                k = min(left, maxlen)
                fit = fits[k]
                if hits[k] and (primary(cats) != target or self.rng.random() < 0.55):
                    fit = hits[k]
                if not fit:
                    ok = False
                    break
                o = self.rng.choice(fit)
                chosen.append(o)
                cats.update(o[1].cats)
                left -= len(o[1].cats)
            if (
                ok
                and primary(cats) == (target if s.spatial_function_count else "none")
                and all(cats[r] for r in required)
                and (s.has_window or not any(u.window for _, u in chosen))
            ):
                self.cats = cats
                for i, u in chosen:
                    self.states[i].units.append(u)
                return
        raise PlanError(
            "EXP007",
            f"cannot make {s.spatial_function_count} spatial call(s) with "
            f"primary category {target!r} for {s.sql_type} on the chosen tables",
        )

    # ------------------------------------------------------------------ predicates

    def _predicates(self) -> None:
        left = self.s.predicate_count
        for st in self.states:
            if st.form in ("in", "exists"):
                left -= 1
            if st.corr is not None:
                left -= 1
        if self.s.aggregation == "GROUP_BY_HAVING":
            left -= 1
        for st in self.states:
            for u in [u for u in st.units if u.out == "bool"]:
                if left > 0 and self.rng.random() < 0.7:
                    st.units.remove(u)
                    st.where_units.append(u)
                    left -= 1
        weights = [
            {"main": 5, "arm2": 2, "cte": 3, "derived": 2, "expr": 1}[st.block.role]
            for st in self.states
        ]
        for _ in range(max(0, left)):
            self.rng.choices(self.states, weights)[0].filters += 1

    # ------------------------------------------------------------------ blocks

    def _from(self, i: int) -> tuple[ast.FromItem, ...]:
        st = self.states[i]
        item: ast.FromItem | None = None
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
            else:
                kind = (
                    "LEFT"
                    if src.path and src.path.kind == "key" and self.rng.random() < 0.15
                    else "INNER"
                )
                item = ast.Join(kind, item, ref, st.conds[k])
        assert item is not None
        return (item,)

    def _columns(self, src: Source) -> tuple[str, ...]:
        """Columns a source offers: all of a table's, or what a CTE / derived table exposes."""
        return exposed(self.ctx, src.table) if src.ref is not None else src.table.plain

    def _where(self, i: int) -> ast.Expr | None:
        st = self.states[i]
        parts: list[ast.Expr] = list(st.where)
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

    def _add(
        self, st: BlockState, expr: ast.Expr, name: str, kind: str, alias: bool = True
    ) -> None:
        base, n = name, 2
        while name in self.names:
            name = f"{base}_{n}"
            n += 1
            alias = True
        self.names.add(name)
        st.items.append(Item(expr, name, kind, alias))

    def _plain(self, st: BlockState, src: Source, col: str) -> None:
        kind = _kind(src.table, col)
        self._add(st, ast.Column(col, src.alias), col, kind, alias=False)

    def _unit_items(self, st: BlockState) -> None:
        for u in st.units:
            e = u.make()
            kind = u.out
            if st.aggregated != "NONE" and not u.aggregate:
                if kind == "num":
                    e = ast.FuncCall(self.rng.choice(("AVG", "SUM", "MAX", "MIN")), (e,))
                elif kind == "text":
                    e, kind = ast.FuncCall("COUNT", (e,), distinct=True), "num"
                elif kind == "bool":
                    e = ast.FuncCall(
                        "SUM", (ast.Case((ast.When(e, ast.Number("1")),), ast.Number("0")),)
                    )
                    kind = "num"
            elif kind == "bool" and u.make is not None:
                pass
            self._add(st, e, u.alias or u.name, kind)

    def _select(self, i: int) -> ast.Select:
        st = self.states[i]
        b = st.block
        self.names = set()
        anchor = b.sources[0]
        group: tuple[ast.Expr, ...] = ()
        having = None
        if b.role in ("cte", "derived"):
            for col in exposed(self.ctx, anchor.table):
                self._plain(st, anchor, col)
            for src in b.sources[1:]:
                cols = [c for c in self._columns(src) if c not in self.names]
                for col in self.rng.sample(cols, min(len(cols), self.rng.choice((0, 1, 2)))):
                    self._plain(st, src, col)
            self._unit_items(st)
        elif st.aggregated in ("GROUP_BY", "GROUP_BY_HAVING"):
            keys = [
                (src, c)
                for src in b.sources
                for c in src.table.categories
                if c in self._columns(src)
            ]
            if not keys:
                keys = [
                    (src, c)
                    for src in b.sources
                    for c in (*src.table.text, *src.table.ids)
                    if c in self._columns(src)
                ][:3]
            if not keys:
                raise PlanError("EXP008", "GROUP BY needs a groupable column in the tables")
            chosen = self.rng.sample(keys, min(len(keys), self.rng.choice((1, 1, 2))))
            for src, c in chosen:
                self._plain(st, src, c)
            group = tuple(ast.Column(c, src.alias) for src, c in chosen)
            self._aggregates(st)
            if st.aggregated == "GROUP_BY_HAVING":
                having = self._having(st)
        elif st.aggregated == "AGGREGATE":
            self._aggregates(st)
        else:
            picks: list[tuple[Source, str]] = []
            for src in b.sources:
                cols = [c for c in self._columns(src) if _kind(src.table, c) != "time"]
                ids = [c for c in cols if c in src.table.ids]
                rest = [c for c in cols if c not in src.table.ids]
                if ids and (src is anchor or self.rng.random() < 0.3):
                    picks.append((src, self.rng.choice(ids)))
                k = self.rng.choice((0, 1, 1, 2, 3)) if src is anchor else self.rng.choice((0, 1))
                picks += [(src, c) for c in self.rng.sample(rest, min(k, len(rest)))]
            if not picks:
                picks = [(anchor, self._columns(anchor)[0])]
            for src, c in picks:
                if c not in self.names:
                    self._plain(st, src, c)
            self._unit_items(st)
        if (
            self.s.has_window
            and i == 0
            and not any(u.window for s2 in self.states for u in s2.units)
        ):
            self._window(st)
        for j, other in enumerate(self.states):
            if (
                other.block.role == "expr"
                and other.block.host == i
                and other.form in ("scalar_corr", "scalar")
            ):
                self._add(st, self._expr_sub(j), f"{other.block.sources[0].table.name}_stat", "num")
        where = self._where(i)
        items = tuple(ast.SelectItem(it.expr, it.name if it.alias else None) for it in st.items)
        distinct = (
            b.role == "main"
            and st.aggregated == "NONE"
            and self.s.set_operation == "NONE"
            and not self.s.has_window
            and self.rng.random() < 0.08
        )
        return ast.Select(items, self._from(i), where, group, having, distinct)

    def _aggregates(self, st: BlockState) -> None:
        self._add(
            st,
            ast.FuncCall("COUNT", star=True),
            self.rng.choice(("n", "total", "row_count", "n_rows", "count_all")),
            "num",
        )
        nums = [
            (src, c)
            for src in st.block.sources
            for c in src.table.numeric
            if c in self._columns(src)
        ]
        for src, c in self.rng.sample(nums, min(len(nums), self.rng.choice((0, 1, 1, 2)))):
            fn = self.rng.choice(("AVG", "SUM", "MAX", "MIN"))
            self._add(st, ast.FuncCall(fn, (ast.Column(c, src.alias),)), f"{fn.lower()}_{c}", "num")
        self._unit_items(st)

    def _having(self, st: BlockState) -> ast.Expr:
        nums = [
            (src, c)
            for src in st.block.sources
            for c in src.table.numeric
            if c in self._columns(src) and self.ctx.literals.get((src.table.qualified, c))
        ]
        if nums and self.rng.random() < 0.4:
            src, c = self.rng.choice(nums)
            value = self.rng.choice(self.ctx.literals[(src.table.qualified, c)])
            return ast.BinaryOp(
                self.rng.choice((">", ">=", "<")),
                ast.FuncCall("AVG", (ast.Column(c, src.alias),)),
                ast.Number(str(value)),
            )
        return ast.BinaryOp(
            self.rng.choice((">", ">=")),
            ast.FuncCall("COUNT", star=True),
            ast.Number(str(self.rng.choice((1, 2, 3, 5, 10, 20)))),
        )

    def _window(self, st: BlockState) -> None:
        if st.aggregated != "NONE":
            order = ast.OrderItem(ast.FuncCall("COUNT", star=True), "DESC")
            self._add(
                st,
                ast.FuncCall(
                    self.rng.choice(("RANK", "DENSE_RANK", "ROW_NUMBER")),
                    over=ast.Window((), (order,)),
                ),
                "rank_pos",
                "num",
            )
            return
        b = st.block
        nums = [(s, c) for s in b.sources for c in s.table.numeric if c in self._columns(s)]
        cats = [(s, c) for s in b.sources for c in s.table.categories if c in self._columns(s)]
        part: tuple[ast.Expr, ...] = ()
        if cats and self.rng.random() < 0.5:
            ps, pc = self.rng.choice(cats)
            part = (ast.Column(pc, ps.alias),)
        worder: tuple[ast.OrderItem, ...]
        if nums:
            s, c = self.rng.choice(nums)
            worder = (ast.OrderItem(ast.Column(c, s.alias), self.rng.choice(("ASC", "DESC"))),)
        else:
            s = b.sources[0]
            worder = (ast.OrderItem(ast.Column(self._columns(s)[0], s.alias)),)
        fn = self.rng.choice(("ROW_NUMBER", "RANK", "DENSE_RANK", "NTILE"))
        args = (ast.Number("4"),) if fn == "NTILE" else ()
        self._add(
            st,
            ast.FuncCall(fn, args, over=ast.Window(part, worder)),
            {"NTILE": "quartile"}.get(fn, "rank_pos"),
            "num",
        )

    def _block_query(self, i: int) -> ast.Query:
        return ast.Query(self._select(i))

    # ------------------------------------------------------------------ union / order

    def _arm2(self, main: ast.Select) -> ast.Select:
        st = self.states[1]
        kinds = [it.kind for it in self.states[0].items]
        self.names = set()
        srcs = st.block.sources
        by_kind: dict[str, list[ast.Expr]] = {"text": [], "num": [], "bool": [], "geom": []}
        for s in srcs:
            for c in self._columns(s):
                k = _kind(s.table, c)
                if k in by_kind:
                    by_kind[k].append(ast.Column(c, s.alias))
            by_kind["geom"] += [ast.Column(g.name, s.alias) for g in s.table.geoms]
        agg = self.states[0].aggregated != "NONE"
        grouped = self.states[0].aggregated in ("GROUP_BY", "GROUP_BY_HAVING")
        items, group = [], []
        for pos, k in enumerate(kinds):
            pool = by_kind.get(k, [])
            name = self.states[0].items[pos].name
            e: ast.Expr
            if k == "num" and agg:
                e = (
                    ast.FuncCall("COUNT", star=True)
                    if not pool or self.rng.random() < 0.5
                    else ast.FuncCall("AVG", (self.rng.choice(pool),))
                )
            elif pool and not (agg and k == "geom") and not (agg and not grouped):
                e = self.rng.choice(pool)
                if grouped:
                    group.append(e)
            else:
                e = ast.Cast(
                    ast.Null(),
                    {"num": "numeric", "text": "text", "bool": "boolean", "geom": "geometry"}.get(
                        k, "text"
                    ),
                )
            items.append(ast.SelectItem(e, name))
        return ast.Select(tuple(items), self._from(1), self._where(1), tuple(dict.fromkeys(group)))

    def _order_limit(self) -> tuple[tuple[ast.OrderItem, ...], ast.Expr | None]:
        ol = self.s.order_limit
        order: tuple[ast.OrderItem, ...] = ()
        if ol in ("ORDER", "ORDER_LIMIT"):
            items = self.states[0].items
            nums = [it for it in items if it.kind == "num"]
            pool = (
                nums
                if nums and self.rng.random() < 0.8
                else [it for it in items if it.kind in ("num", "text")] or items[:1]
            )
            picks = self.rng.sample(pool, min(len(pool), self.rng.choice((1, 1, 1, 2))))
            order = tuple(
                ast.OrderItem(
                    ast.Column(it.name),
                    self.rng.choice(("DESC", "ASC", None) if it.kind == "num" else ("ASC", None)),
                )
                for it in picks
            )
        limit = (
            ast.Number(str(self.rng.choice(_LIMITS))) if ol in ("LIMIT", "ORDER_LIMIT") else None
        )
        return order, limit


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


def _kind(t: TableInfo, col: str) -> str:
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


def _pk(ctx: ExpansionContext, t: TableInfo) -> str | None:
    table = ctx.schema.table(t.qualified)
    return table.primary_key[0] if table and len(table.primary_key) == 1 else None


def _order(blocks: list[Block]) -> list[int]:
    done: list[int] = []

    def visit(i: int) -> None:
        if i in done:
            return
        for r in blocks[i].refs:
            visit(r)
        done.append(i)

    for i in range(len(blocks)):
        visit(i)
    return done


def _sorted_ctes(ctes: tuple[ast.CTE, ...], plan: Plan) -> tuple[ast.CTE, ...]:
    """CTEs in definition order: a CTE comes after every CTE it reads."""
    order = [plan.blocks[i].name for i in _order(plan.blocks) if plan.blocks[i].role == "cte"]
    by_name = {c.name: c for c in ctes}
    return tuple(by_name[n] for n in order)
