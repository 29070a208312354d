"""Turn a :class:`~cimgen.expand.plan.Plan` into AST nodes, block by block.

Order of work: join conditions and subquery forms first (they fix some spatial calls and
predicates), then the spatial units that make up the rest of the function budget
(:mod:`~cimgen.expand.compose`), then the SELECT lists, filters, GROUP BY / HAVING,
windows, UNION arms and ORDER BY / LIMIT (:mod:`~cimgen.expand.selects`).
"""

from __future__ import annotations

from cimgen import ast
from cimgen.expand.compose import Compose
from cimgen.expand.plan import PlanError, Source, block_order, spatial_budget
from cimgen.expand.predicates import conjoin
from cimgen.expand.selects import Selects
from cimgen.expand.state import pk_of, sorted_ctes
from cimgen.expand.units import BIG_TABLE, GeoRef


class Builder(Selects, Compose):
    # ------------------------------------------------------------------ entry

    def build(self) -> ast.Query:
        self._joins()
        self._subquery_forms()
        self._spatial_units()
        self._predicates()
        for i in block_order(self.plan.blocks):
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
            op = self.s.set_operation
            body = ast.SetOp(op.split("_")[0], main, arm2, all=op == "UNION_ALL")
        order, limit = self._order_limit()
        return ast.Query(body, ctes=sorted_ctes(ctes, self.plan), order_by=order, limit=limit)

    # ------------------------------------------------------------------ joins

    def _joins(self) -> None:
        """Join / link conditions. The plan chose a key path wherever one exists and a
        spatial path only where none does (``forced``); key joins turn spatial while the
        spatial budget left over allows, SPATIAL_JOIN first."""
        joined = [
            (st, k, src)
            for st in self.states
            for k, src in enumerate(st.block.sources)
            if k > 0 and src.path is not None
        ]
        forced = sum(src.path.kind != "key" for _, _, src in joined if src.path)
        spare = spatial_budget(self.s, self.relax) - forced
        need_spatial = (
            self.s.sql_type == "SPATIAL_JOIN"
            and not self.relax
            and not any(
                src.path and src.path.kind != "key" and src.mode != "comma" for _, _, src in joined
            )
        )
        for st, k, src in joined:
            left = st.block.sources[src.join_to]
            assert src.path is not None
            if src.path.kind == "key":
                alts = self.ctx.paths_between(left.table.qualified, src.table.qualified)
                spatial = [p for p in alts if p.kind != "key"]
                want = (need_spatial and src.mode != "comma") or self.rng.random() < 0.35
                if spatial and spare > 0 and want:
                    src.path = self.rng.choice(spatial)
                    spare -= 1
                    need_spatial = need_spatial and src.mode == "comma"
                else:
                    bases = left.ref is None and src.ref is None
                    keyed = [
                        p
                        for p in alts
                        if p.kind == "key" and not (bases and p.source == "identity")
                    ]
                    # any key of about the least fan-out (not a many-to-many one when a
                    # one-to-one / many-to-one key exists: it multiplies the rows)
                    least = min(self.ctx.fanout(p) for p in keyed)
                    src.path = self.rng.choice(
                        [p for p in keyed if self.ctx.fanout(p) <= 2 * least + 1]
                    )
            cond, cats = self._join_cond(left, src)
            self.cats.update(cats)
            if src.mode == "on":
                st.conds[k] = cond
            else:  # CROSS JOIN / comma item: the link goes to WHERE (no cartesian product)
                st.links.append(cond)
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
        names = ["ST_Intersects", "ST_Intersects", "ST_Touches"]
        # ST_DWithin on ::geography casts of both columns is evaluated pair by pair (no
        # index in PostGIS, transforms per pair in DuckDB): a link between two big tables
        # uses the predicates both engines answer with a spatial index / spatial join.
        small = min(self.ctx.row_count(lt.qualified), self.ctx.row_count(rt.qualified))
        if small < BIG_TABLE:
            names.append("ST_DWithin")
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
        if lt.qualified == rt.qualified and (pk := pk_of(self.ctx, lt)):
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

    # ------------------------------------------------------------------ predicates

    def _predicates(self) -> None:
        left = self.s.predicate_count
        for st in self.states:
            if st.form in ("in", "exists"):
                left -= 1
            if st.corr is not None:
                left -= 1
            left -= sum(_leaves(c) for c in st.links)
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


def _leaves(e: ast.Expr) -> int:
    """Boolean leaves of an AND chain (what predicate_count counts)."""
    if isinstance(e, ast.BinaryOp) and e.op == "AND":
        return _leaves(e.left) + _leaves(e.right)
    return 1
