"""One SELECT block under construction: FROM items with their join conditions, WHERE
predicates, outputs, grouping, ordering; and estimates of what it returns.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cimgen import ast
from cimgen.expand.context import ExpansionContext, GeomCol
from cimgen.expand.filters import Pred, keep
from cimgen.expand.frame import Frame, Item, column, pair_terms
from cimgen.expand.names import Names
from cimgen.expand.spatial import Spatial
from cimgen.world.model import TableSample

SPATIAL_RELATIONS = ("inside", "covers", "intersects", "near")


@dataclass
class Out:
    """One output of a block: its expression, name and what it is."""

    expr: ast.Expr
    name: str | None
    kind: str  # label | attr | measure | spatial | agg | count | window | key | const | geom
    item: Item | None = None
    numeric: bool = False
    descending: bool = True  # the direction a "top" ordering on it takes
    qualifier: str | None = None  # what tells it apart when its name is taken (boundary)
    partner: Out | None = None  # an output that only makes sense with this one (lon / lat)

    @property
    def ref(self) -> ast.Expr:
        """How ORDER BY / an outer block refers to it."""
        if self.name:
            return ast.Column(self.name)
        return self.expr


@dataclass
class Block:
    role: str  # main | cte | sub | arm
    frame: Frame
    preds: list[Pred] = field(default_factory=list)
    extra_where: list[ast.Expr] = field(default_factory=list)
    extra_on: dict[int, list[ast.Expr]] = field(default_factory=dict)
    outs: list[Out] = field(default_factory=list)
    group: list[ast.Expr] = field(default_factory=list)
    having: list[ast.Expr] = field(default_factory=list)
    order: list[ast.OrderItem] = field(default_factory=list)
    limit: int | None = None
    distinct: bool = False
    names: Names = field(default_factory=Names)
    # groups a GROUP BY is estimated to return (after HAVING); None when not grouped
    groups: int | None = None

    @property
    def subject(self) -> Item:
        return self.frame.items[0]

    def filtered(self) -> set[str]:
        return {f"{p.item.alias}.{p.column}" for p in self.preds if p.column}

    def add_pred(self, p: Pred | None, ctx: ExpansionContext | None = None) -> bool:
        """Add a predicate unless it filters a column already filtered, or -- judged on
        the sampled rows -- keeps every row the item's other predicates keep (it would be
        redundant: a zone 'HV' already means 132 kV, a project id already names its
        project)."""
        if p is None:
            return False
        key = f"{p.item.alias}.{p.column}"
        if p.column and key in self.filtered():
            return False
        if ctx is not None and p.holds is not None and not self._narrows(p, ctx):
            return False
        self.preds.append(p)
        if p.item is self.subject or p.kind == "scope":
            # a joined table is not there for a condition on itself alone: it still owes
            # the answer an output (blind review, issue 14: "a raster_model join that only
            # filters"); a scope pin says which project scenario the rows are of
            p.item.used = True
        return True

    def _narrows(self, p: Pred, ctx: ExpansionContext) -> bool:
        s = ctx.world.table(p.item.table)
        if s is None:
            return True
        rows = self.passing(p.item, ctx)
        return not rows or any(not p.holds(s, i) for i in rows)  # type: ignore[misc]

    def passing(self, item: Item, ctx: ExpansionContext) -> list[int]:
        """Estimation rows of the item's table that pass the item's predicates (cached
        per number of predicates: predicates are only ever added)."""
        preds = [q.holds for q in self.preds if q.item is item and q.holds is not None]
        key = (item.alias, len(preds))
        got = self._passing.get(key)
        if got is None:
            s = ctx.world.table(item.table)
            if s is None:
                return []
            # the rows that passed the first n-1 predicates, when known, need only the
            # newest one (the same rows in the same order; 30 % of expansion's time was
            # this list rebuilt from every estimation row, issue 16)
            fewer = self._passing.get((item.alias, len(preds) - 1)) if preds else None
            if fewer is not None:
                last = preds[-1]
                got = keep(last, s, fewer)
            else:  # one predicate at a time on the rows the earlier ones kept: the same
                # calls as all() per row, without a generator per row (issue 16)
                got = list(s.estimation_rows())
                for holds in preds:
                    got = keep(holds, s, got)
            self._passing[key] = got
        return got

    def forget_passing(self) -> None:
        """Predicates were removed: the rows cached per number of predicates are stale."""
        self._passing.clear()

    def adopt_required(self) -> None:
        """Predicates the links need (a raster table's SRID and kind)."""
        for it in self.frame.items:
            for p in it.required:
                self.add_pred(p)
            it.required = []

    def add_out(self, out: Out) -> Out:
        base = out.name or (out.expr.name if isinstance(out.expr, ast.Column) else None)
        if base is not None and base in self.names.taken:
            out.name = self.names.take(self._qualified(out, base))
        elif out.name:
            out.name = self.names.take(out.name)
        elif base is not None:
            self.names.reserve(base)
        if out.item is not None:
            out.item.used = True
        self.outs.append(out)
        if out.partner is not None:
            self.add_out(out.partner)
        return out

    def _qualified(self, out: Out, base: str) -> str:
        """A taken name told apart by what it belongs to: ``boundary_perimeter_m``,
        ``bus_name``, ``neighbour_building_id`` (a self-join's second row)."""
        if out.qualifier:
            return f"{out.qualifier}_{base}"
        it = out.item
        if it is None or it is self.subject:
            return base
        if it.table == self.subject.table:
            return f"neighbour_{base}"
        word = it.info.noun.split(" ")[-1].lower()
        return base if base.startswith(word) else f"{word}_{base}"

    def outputs_of(self, item: Item) -> list[Out]:
        return [o for o in self.outs if o.item is item]

    def has_column_out(self, item: Item, name: str) -> bool:
        return any(
            isinstance(o.expr, ast.Column) and o.expr.table == item.alias and o.expr.name == name
            for o in self.outs
        )

    # ------------------------------------------------------------------ SQL

    def from_items(self, sp: Spatial) -> tuple[ast.FromItem, ...]:
        items: list[ast.FromItem] = []
        current: ast.FromItem | None = None
        for k, it in enumerate(self.frame.items):
            ref = _table_ref(it)
            if k == 0:
                current = ref
                continue
            cond = self.join_condition(it, sp)
            extra = self.extra_on.get(k, [])
            if it.mode in ("on", "left"):
                assert current is not None
                current = ast.Join(
                    "LEFT" if it.mode == "left" else "INNER",
                    current,
                    ref,
                    conjoin([cond, *extra]),
                )
            elif it.mode == "cross":
                assert current is not None
                current = ast.Join("CROSS", current, ref, None)
                self._where_links.extend([cond, *extra])
            else:  # comma: a separate FROM item, linked in WHERE
                assert current is not None
                items.append(current)
                current = ref
                self._where_links.extend([cond, *extra])
        assert current is not None
        items.append(current)
        return tuple(items)

    _where_links: list[ast.Expr] = field(default_factory=list)
    _passing: dict[tuple[str, int], list[int]] = field(default_factory=dict)

    def join_condition(self, it: Item, sp: Spatial) -> ast.Expr:
        link = it.link
        assert link is not None
        other = self.frame.items[link.to]
        p = link.path
        if p.kind == "key":
            pairs = list(p.pairs)
            scope_a, scope_b = other.info.scope, it.info.scope
            grouped = [x.ref for x in (other, it) if x.ref is not None and x.ref.grouped]
            if (
                scope_a
                and scope_b
                and len(scope_a) == len(scope_b)
                and not any(a in scope_a for a, _ in pairs)
                # a grouped CTE or derived table joins on the scope it grouped by (a
                # plain group of every scenario has none to offer)
                and (all(g.scope or g.pins for g in grouped) if grouped else p.source != "group")
            ):  # bus numbers repeat in every scenario: the same project scenario too
                pairs += list(zip(scope_a, scope_b, strict=True))
            eqs: list[ast.Expr] = []
            for ca, cb in pairs:
                # a grouped side pinned to one scenario: the joined side gets its literals
                pin_a = _pinned(other, ca) if ca in scope_a else None
                pin_b = _pinned(it, cb) if cb in scope_b else None
                if pin_a is not None:
                    eqs.append(ast.BinaryOp("=", column(it, cb), pin_a))
                elif pin_b is not None:
                    eqs.append(ast.BinaryOp("=", column(other, ca), pin_b))
                else:
                    eqs.append(ast.BinaryOp("=", column(other, ca), column(it, cb)))
            return conjoin(eqs)  # type: ignore[return-value]
        if p.kind == "colocated":
            r = it.info.geom(p.right_column or "")
            assert link.point is not None
            point = sp.point(link.point[0], link.point[1], _tile_srid(sp, it, r))
            return sp.call("ST_Intersects", column(it, r.name), point)
        g_other = other.info.geom(p.left_column or "")
        if p.kind == "raster":
            r = it.info.geom(p.right_column or "")
            tile_srid = _tile_srid(sp, it, r)
            g: ast.Expr = column(other, g_other.name)
            if g_other.dim != 0:
                # the tile under the geometry's centre, where its value is read
                # (Spatial.raster_at): one tile per row, not every tile a line or a large
                # polygon crosses (repeated rows, values read outside their tile: NULL)
                g = sp.call("ST_Centroid", g)
            geom = sp.aligned(g, g_other.srid, tile_srid)
            return sp.call("ST_Intersects", column(it, r.name), geom)
        g_it = it.info.geom(p.right_column or "")
        a, b = column(other, g_other.name), column(it, g_it.name)
        rel = link.relation
        if rel == "near":
            cond = sp.within_distance(
                a, g_other.srid, b, g_it.srid, link.distance or 100.0, lookup="other"
            )
        elif rel in ("inside", "covers"):  # other within it / other contains it
            inner, si, outer, so = (
                (a, g_other.srid, b, g_it.srid)
                if rel == "inside"
                else (b, g_it.srid, a, g_other.srid)
            )
            first = sp.rng.random() < 0.5
            use_within = first if rel == "inside" else not first
            # either spelling the catalogue offers; ST_Intersects (true of every pair inside
            # or covering) where it offers neither
            if sp.ctx.can("ST_Within") and (use_within or not sp.ctx.can("ST_Contains")):
                cond = sp.relate("ST_Within", inner, si, outer, so)
            elif sp.ctx.can("ST_Contains"):
                cond = sp.relate("ST_Contains", outer, so, inner, si)
            else:
                cond = sp.relate("ST_Intersects", a, g_other.srid, b, g_it.srid)
        else:
            cond = sp.relate("ST_Intersects", a, g_other.srid, b, g_it.srid)
        return conjoin([cond, *pair_terms(other, it)])  # type: ignore[return-value]

    def select(self, sp: Spatial) -> ast.Select:
        self._where_links = []
        from_ = self.from_items(sp)
        where = conjoin([*self._where_links, *self.extra_where, *(p.expr for p in self.preds)])
        return ast.Select(
            items=tuple(ast.SelectItem(o.expr, o.name) for o in self.outs),
            from_=from_,
            where=where,
            group_by=tuple(self.group),
            having=conjoin(self.having) if self.having else None,
            distinct=self.distinct,
        )

    # ------------------------------------------------------------------ estimates

    def subject_rows(self, ctx: ExpansionContext) -> list[int]:
        """Sampled rows of the subject that pass the subject's own predicates."""
        return self.passing(self.subject, ctx)

    def estimate(self, ctx: ExpansionContext) -> float:
        """Rough rows returned before grouping (subject rows times link fan-outs)."""
        s = ctx.world.table(self.subject.table)
        rows = len(self.subject_rows(ctx)) * (s.estimation_scale() if s else 1.0)
        for it in self.frame.items[1:]:
            if it.link is not None:
                rows *= max(1.0, it.link.path.fan) if it.link.path.kind == "key" else 1.5
            others = [p for p in self.preds if p.item is it]
            rows *= 0.5 ** len(others)
        return rows

    def group_sizes(self, ctx: ExpansionContext, item: Item, col: str) -> Counter[Any]:
        """Estimated rows per value of ``item.col`` among the subject's passing rows."""
        rows = self.subject_rows(ctx)
        s = ctx.world.table(self.subject.table)
        if s is None:
            return Counter()
        scale = s.estimation_scale()
        if item is self.subject:
            c = Counter(s.value(i, col) for i in rows)
        elif item.link is not None and item.link.path.kind == "key" and item.link.to == 0:
            t = ctx.world.table(item.table)
            if t is None:
                return Counter()
            lcols = tuple(a for a, _ in item.link.path.pairs)
            rcols = tuple(b for _, b in item.link.path.pairs)
            c = Counter()
            for i in rows:
                hit = t.lookup(rcols, tuple(s.value(i, x) for x in lcols))
                if hit:
                    c[t.value(hit[0], col)] += 1
        elif item.link is not None and item.link.path.kind == "spatial" and item.link.to == 0:
            # a container or a neighbour of each subject row (the census zone holding a
            # building), as the world recorded it, passing the item's own conditions: a
            # count per zone of the buildings in a box that one zone holds is one group
            c = self._spatial_group_sizes(ctx, item, col, rows)
        else:
            return Counter()
        return Counter({k: v * scale for k, v in c.items() if k is not None})

    def _spatial_group_sizes(
        self, ctx: ExpansionContext, item: Item, col: str, rows: list[int]
    ) -> Counter[Any]:
        """Rows per value of ``item.col`` where ``item`` is linked to the subject by a
        spatial relation: from the neighbours the world recorded of the subject's rows,
        or, where it recorded too few, a container's box (:func:`containers`)."""
        link, s, t = item.link, ctx.world.table(self.subject.table), ctx.world.table(item.table)
        if link is None or s is None or t is None:
            return Counter()
        meets = {
            "inside": lambda n: n.inside,
            "covers": lambda n: n.covers,
            "intersects": lambda n: n.intersects,
            "near": lambda n: link.distance is not None and n.distance <= link.distance,
        }.get(link.relation)
        if meets is None:
            return Counter()
        path = link.path
        near = s.near.get((path.left_column or "", path.right, path.right_column or ""), {})
        holds = [q.holds for q in self.preds if q.item is item and q.holds is not None]
        known = [i for i in rows if i in near]  # the world records neighbours of some rows
        if len(known) < 3:
            if link.relation != "inside":
                return Counter()
            return Counter(t.value(j, col) for j in containers(s, t, path, rows, holds).values())
        c: Counter[Any] = Counter()
        for i in known:
            for n in near[i]:
                if meets(n) and all(h(t, n.row) for h in holds):
                    c[t.value(n.row, col)] += 1
        return Counter({k: v * len(rows) / len(known) for k, v in c.items()})


def _pinned(it: Item, col: str) -> ast.Expr | None:
    """The literal a grouped CTE or derived table pins its scope column ``col`` to."""
    ref = it.ref
    if ref is None or not ref.grouped:
        return None
    return dict(ref.pins).get(col)


def _tile_srid(sp: Spatial, it: Item, r: GeomCol) -> int | None:
    tile = sp.ctx.world.table(it.table)
    if tile is not None:
        t = tile.tiles.get(r.name)
        if t and t[it.pivot] is not None:
            return t[it.pivot].srid  # type: ignore[union-attr]
    return r.srid


def _table_ref(it: Item) -> ast.TableRef:
    if it.ref is not None:
        return ast.TableRef(it.ref.name, None, it.alias)
    return ast.TableRef(it.info.name, it.info.schema, it.alias)


def conjoin(parts: list[ast.Expr]) -> ast.Expr | None:
    """``a AND b AND c`` (flat: a conjunction inside is spread out, not parenthesised)."""
    parts = [c for p in parts if p is not None for c in ast.conjuncts(p)]
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = ast.BinaryOp("AND", out, p)
    return out


def sample_of(ctx: ExpansionContext, item: Item) -> TableSample | None:
    return ctx.world.table(item.table)


def rng_pick(rng: random.Random, xs: list[Any]) -> Any:
    return xs[rng.randrange(len(xs))]


def containers(s: Any, t: Any, path: Any, rows: list[int], holds: list[Any]) -> dict[int, int]:
    """The row of table ``t`` holding each of ``rows`` of table ``s`` (``path``: the
    spatial link from ``s`` to ``t``), from the geometries' boxes: among ``t``'s estimation
    rows that pass ``holds`` and whose box holds the row's point, the one whose box centre
    is nearest (zones tile the plane: their boxes overlap at the edges). Rows held by
    none are left out. For where the world recorded no neighbours of a row."""
    points = s.geo.get(path.left_column or "", [])
    boxes = t.geo.get(path.right_column or "", [])
    items = [
        (j, g)
        for j in t.estimation_rows()
        if j < len(boxes) and (g := boxes[j]) is not None and all(h(t, j) for h in holds)
    ]
    out: dict[int, int] = {}
    for i in rows:
        p = points[i] if i < len(points) else None
        if p is None:
            continue
        inside = [
            (abs((g.xmin + g.xmax) / 2 - p.x) + abs((g.ymin + g.ymax) / 2 - p.y), j)
            for j, g in items
            if g.xmin <= p.x <= g.xmax and g.ymin <= p.y <= g.ymax
        ]
        if inside:
            out[i] = min(inside)[1]
    return out
