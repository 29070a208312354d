"""SELECT lists, GROUP BY / HAVING, windows, the UNION arm and ORDER BY / LIMIT.

CTE and derived bodies pass on keys, geometry and attributes of their first table (later
joins and filters use them); the main block picks ids and attributes or group keys and
aggregates; spatial units in aggregated blocks are wrapped in an aggregate.
"""

from __future__ import annotations

from cimgen import ast
from cimgen.expand.plan import PlanError, Source
from cimgen.expand.state import Base, BlockState, Item, exposed, kind_of

_LIMITS = (5, 10, 10, 20, 25, 50, 100, 100, 200, 500)


class Selects(Base):
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
        kind = kind_of(src.table, col)
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
                cols = [c for c in self._columns(src) if kind_of(src.table, c) != "time"]
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

    def _arm2(self, main: ast.Select) -> ast.Select:
        st = self.states[1]
        kinds = [it.kind for it in self.states[0].items]
        self.names = set()
        srcs = st.block.sources
        by_kind: dict[str, list[ast.Expr]] = {"text": [], "num": [], "bool": [], "geom": []}
        for s in srcs:
            for c in self._columns(s):
                k = kind_of(s.table, c)
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
