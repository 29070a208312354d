"""Lay a structure out as query blocks so that the counts come out exactly.

Blocks: the main SELECT (two arms for UNION), one body per CTE (a chain: each CTE is read by
a later CTE, a subquery or the main block), derived tables in FROM and expression
subqueries (IN / EXISTS / scalar). Every block has ``1 + joins`` FROM items; items are base
tables or references to CTE / derived blocks. Tables are chosen slot by slot so that exactly
``table_count`` distinct tables from exactly ``schema_count`` schemas appear, each joined
item connected to an earlier one by a join path of the context.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from cimgen.expand.context import ExpansionContext, JoinPath, TableInfo
from cimgen.models import QueryFeatures


@dataclass
class Source:
    """One FROM item: a base table or a reference to a CTE / derived block.

    ``mode``: ``first`` (the block's first item), ``on`` (``JOIN … ON``), ``cross``
    (``CROSS JOIN`` linked by a WHERE predicate) or ``comma`` (``FROM a, b`` linked by a
    WHERE predicate; not a join, so it adds a table without adding to ``join_count``).
    """

    alias: str
    table: TableInfo  # the base table, or the provenance table of a referenced block
    ref: int | None = None  # index of the referenced block
    path: JoinPath | None = None  # joins an earlier source (path.left is its table)
    join_to: int = 0
    mode: str = "first"


@dataclass
class Block:
    role: str  # main | arm2 | cte | derived | expr
    host: int | None = None  # block hosting a derived / expr block, or reading a CTE
    joins: int = 0
    commas: int = 0  # extra FROM items linked in WHERE (not joins)
    refs: list[int] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)
    name: str = ""

    @property
    def anchor_table(self) -> TableInfo:
        return self.sources[0].table


@dataclass
class Plan:
    blocks: list[Block]
    tables: list[str]


class PlanError(Exception):
    """The structure cannot be laid out on this schema (carries an EXP code)."""

    def __init__(self, code: str, message: str, final: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.final = final  # the search was exhaustive and nothing in it was random


def spatial_budget(s: QueryFeatures, relax: int = 0) -> int:
    """How many join / link predicates may be spatial calls (each costs one call)."""
    if relax >= 3:
        return 99
    need = (
        0
        if relax
        else sum(
            1
            for t in ("RASTER_VECTOR", "SPATIAL_MEASUREMENT", "SPATIAL_CLUSTERING")
            if s.sql_type == t
        )
    )
    budget = s.spatial_function_count - need
    if s.primary_function_category != "predicates" and relax < 2:
        # join predicates must stay fewer than the calls of the primary category
        budget = min(budget, (s.spatial_function_count - 1) // 2)
    return max(0, budget)


def make_plan(s: QueryFeatures, ctx: ExpansionContext, rng: random.Random, relax: int = 0) -> Plan:
    """A layout of ``s`` on ``ctx``; ``relax`` >= 1 drops the sql_type's table needs
    (a raster table, a spatial join), >= 3 lifts the spatial-call budget of joins."""
    _check_schema(s, ctx, relax)
    last: PlanError | None = None
    # one block: the layout is fixed and the table search exhaustive, so one try says it
    single = s.cte_count + s.subquery_count == 0 and s.set_operation == "NONE"
    for _ in range(1 if single else 4):  # block layouts are random; their tables searched
        try:
            return _attempt(s, ctx, rng, relax)
        except PlanError as exc:
            last = exc
            exc.final = exc.final and single
    assert last is not None
    raise last


def _check_schema(s: QueryFeatures, ctx: ExpansionContext, relax: int) -> None:
    n_schemas = len({t.schema for t in ctx.tables})
    if s.schema_count > n_schemas:
        raise PlanError(
            "EXP001", f"schema_count {s.schema_count} but the schema has only {n_schemas} schema(s)"
        )
    if s.table_count > len(ctx.tables):
        raise PlanError(
            "EXP001",
            f"table_count {s.table_count} but the schema has only {len(ctx.tables)} tables",
        )
    if s.table_count == 0:
        raise PlanError("EXP001", "table_count 0: every generated query reads a table")
    if s.sql_type == "RASTER_VECTOR" and not relax and not any(t.rasters for t in ctx.tables):
        raise PlanError("EXP004", "RASTER_VECTOR needs a raster table; the schema has none")


def _attempt(s: QueryFeatures, ctx: ExpansionContext, rng: random.Random, relax: int) -> Plan:
    blocks = [Block("main")]
    if s.set_operation != "NONE":
        blocks.append(Block("arm2"))
    cte_ids = []
    for _ in range(s.cte_count):
        blocks.append(Block("cte", name=""))
        cte_ids.append(len(blocks) - 1)
    # Subqueries: derived tables in FROM or expressions (IN / EXISTS / scalar).
    sub_ids: list[int] = []
    for _ in range(s.subquery_count):
        role = "derived" if rng.random() < 0.3 else "expr"
        hosts = (
            [0, *cte_ids]
            if role == "derived"
            else [0, *cte_ids, *[i for i in sub_ids if blocks[i].role == "derived"]]
        )
        host = rng.choice(hosts) if rng.random() < 0.5 else 0
        blocks.append(Block(role, host=host))
        sub_ids.append(len(blocks) - 1)
        if role == "derived":
            blocks[host].refs.append(len(blocks) - 1)
    # CTE chain: each CTE is read by a later CTE, by the main block or by an expr subquery.
    for k, ci in enumerate(cte_ids):
        later = cte_ids[k + 1 :]
        readers = later[:1] if later and rng.random() < 0.6 else [0]
        exprs = [
            i
            for i in sub_ids
            if blocks[i].role == "expr" and not blocks[i].refs and blocks[i].host == 0
        ]
        if exprs and rng.random() < 0.25:
            readers = [rng.choice(exprs)]
        blocks[ci].host = readers[0]
        blocks[readers[0]].refs.append(ci)
    # Joins: each block needs refs-1 of them to hold its references; the rest are spread.
    need = [max(0, len(b.refs) - 1) for b in blocks]
    spare = s.join_count - sum(need)
    if spare < 0:
        raise PlanError(
            "EXP003",
            f"join_count {s.join_count} is too small to read "
            f"{s.cte_count} CTE(s) and derived tables",
        )
    weights = [
        {"main": 4, "arm2": 1.5, "cte": 3, "derived": 2, "expr": 0.6}[b.role] for b in blocks
    ]
    for _ in range(spare):
        need[rng.choices(range(len(blocks)), weights)[0]] += 1
    for b, j in zip(blocks, need, strict=True):
        b.joins = j
    base_slots = sum(b.joins + 1 - len(b.refs) for b in blocks)
    # More tables than FROM items: the extra tables come in as comma items (FROM a, b
    # WHERE <link>), which PostgreSQL's tree does not count as joins.
    comma_weights = [w if b.role != "expr" else 0.3 for w, b in zip(weights, blocks, strict=True)]
    for _ in range(max(0, s.table_count - base_slots)):
        rng.choices(blocks, comma_weights)[0].commas += 1
    _assign_tables(s, ctx, rng, blocks, relax)
    tables = sorted({src.table.qualified for b in blocks for src in b.sources if src.ref is None})
    return Plan(blocks, tables)


def block_order(blocks: list[Block]) -> list[int]:
    """Blocks in an order where every referenced block comes before its reader."""
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


@dataclass
class _Slot:
    block: int
    k: int  # position in the block's FROM items
    ref: int | None  # referenced block, or None for a base table
    mode: str


_MAX_NODES = 200  # tables tried per layout before giving up on it
# A block whose estimated row count (fixture rows times the fan-out of its links) would
# pass this is laid out only when no smaller layout fits -- a first search refuses such
# products, a second one (only when the first finds nothing) allows them: they make the
# execution checks slow (and would be slow on real data too).
ROW_CAP = 20_000


def _assign_tables(
    s: QueryFeatures,
    ctx: ExpansionContext,
    rng: random.Random,
    blocks: list[Block],
    relax: int,
) -> None:
    """Fill the FROM items with tables by depth-first search with backtracking.

    Candidates at each slot are tried in a seeded-shuffled order (fresh tables first with
    probability 0.7), so the search is reproducible and finds a layout whenever one exists
    within ``_MAX_NODES`` tries, instead of giving up after a few random draws.
    """
    want_raster = s.sql_type == "RASTER_VECTOR" and not relax
    need_spatial_join = s.sql_type == "SPATIAL_JOIN" and not relax and s.join_count > 0
    budget = spatial_budget(s, relax)
    slots: list[_Slot] = []
    for bi in block_order(blocks):
        b = blocks[bi]
        refs = list(b.refs)
        rng.shuffle(refs)
        for k in range(b.joins + 1 + b.commas):
            mode = "first" if k == 0 else "comma" if k > b.joins else "on"
            if mode == "on" and rng.random() < 0.12:
                mode = "cross"
            slots.append(_Slot(bi, k, refs[k] if k < len(refs) else None, mode))
    n_base = sum(sl.ref is None for sl in slots)
    if n_base < s.table_count:
        raise PlanError("EXP002", f"table_count {s.table_count} needs more FROM items")
    style = rng.choices((0, 1, 2), (6, 3, 1))[0]
    all_tables = list(ctx.tables)
    used: list[str] = []
    state = {"nodes": 0, "spatial": 0, "sjoin": 0, "capable": 0}
    cap = [float(ROW_CAP)]  # the first search refuses bigger products; the second does not

    between = ctx.between

    def reachable(b: Block, t: TableInfo, ref: bool) -> list[tuple[JoinPath, int]]:
        out = []
        q = t.qualified
        for i, src in enumerate(b.sources):
            for p in between.get((src.table.qualified, q), ()):
                if p.source == "identity" and not (ref or src.ref is not None):
                    continue
                out.append((p, i))
        return out

    def candidates(b: Block) -> list[TableInfo]:
        near: set[str] = set()
        for src in b.sources:
            near |= ctx.neighbours[src.table.qualified]
            if src.ref is not None:
                near.add(src.table.qualified)  # a table joins a CTE over itself by its key
        return [t for t in all_tables if t.qualified in near]

    est: dict[int, float] = {}  # block -> estimated rows of its FROM product so far

    def choose(options: list[tuple[JoinPath, int]]) -> tuple[JoinPath, int, bool] | None:
        """A key path when there is one (free), the one with the least fan-out; else a
        spatial one within the budget."""
        keyed = [o for o in options if o[0].kind == "key"]
        if keyed:
            p, i = min(keyed, key=lambda o: ctx.fanout(o[0]))
            return p, i, False
        if options and state["spatial"] < budget:
            p, i = options[0]
            return p, i, True
        return None

    def capable(b: Block, src: Source) -> bool:
        left = b.sources[src.join_to].table.qualified
        return any(p.kind != "key" for p in between.get((left, src.table.qualified), ()))

    def dfs(n: int, base_left: int) -> bool:
        state["nodes"] += 1
        if state["nodes"] > _MAX_NODES:
            return False
        if n == len(slots):
            schemas = {ctx.table(q).schema for q in used}
            return (
                len(used) == s.table_count
                and len(schemas) == s.schema_count
                and (not want_raster or any(ctx.table(q).rasters for q in used))
                and (
                    not need_spatial_join
                    or state["sjoin"] > 0
                    or (state["capable"] > 0 and state["spatial"] < budget)
                )
            )
        sl = slots[n]
        b = blocks[sl.block]
        if sl.ref is not None:
            prov = blocks[sl.ref].anchor_table
            src = Source("", prov, ref=sl.ref, mode=sl.mode)
            spatial = False
            if sl.k > 0:
                opts = reachable(b, prov, True)
                rng.shuffle(opts)
                got = choose(opts)
                if got is None:
                    return False
                src.path, src.join_to, spatial = got
            return _push(sl.block, src, spatial, lambda: dfs(n + 1, base_left))
        new_left = s.table_count - len(used)
        schemas = {ctx.table(q).schema for q in used}
        cands = all_tables if sl.k == 0 else candidates(b)
        fresh, reuse = [], []
        for t in cands:
            if t.qualified in used:
                reuse.append(t)
                continue
            sc = len(schemas | {t.schema})
            if sc <= s.schema_count and s.schema_count - sc <= new_left - 1:
                fresh.append(t)
        rng.shuffle(fresh)
        rng.shuffle(reuse)
        if want_raster and not any(ctx.table(q).rasters for q in used):
            # prune: a raster table must still fit (a new slot and a schema left for it)
            if not any(
                t.rasters
                and t.qualified not in used
                and (t.schema in schemas or len(schemas) < s.schema_count)
                for t in all_tables
            ):
                return False
            if rng.random() < 0.6:
                fresh.sort(key=lambda t: not t.rasters)
        if new_left == 0:
            fresh = []
        if base_left <= new_left:
            reuse = []  # every remaining base slot must bring a new table
        order = fresh + reuse if rng.random() < 0.7 else reuse + fresh
        tries: list[Source] = []
        for t in order:
            src = Source("", t, mode=sl.mode)
            if sl.k > 0:
                opts = reachable(b, t, False)
                rng.shuffle(opts)
                got = choose(opts)
                if got is None:
                    continue
                src.path, src.join_to, _ = got
            tries.append(src)
        # small products first (the second search allows big ones; stable order)
        tries.sort(key=lambda src: _rows_after(sl.block, src) > ROW_CAP)
        for src in tries:
            t = src.table
            spatial = src.path is not None and src.path.kind != "key"
            fresh_t = t.qualified not in used
            if fresh_t:
                used.append(t.qualified)
            if _push(sl.block, src, spatial, lambda: dfs(n + 1, base_left - 1)):
                return True
            if fresh_t:
                used.pop()
            if state["nodes"] > _MAX_NODES:
                return False
        return False

    def _rows_after(bi: int, src: Source) -> float:
        table_rows = float(ctx.row_count(src.table.qualified))
        # a CTE / derived table repeats each row of its anchor table (est / anchor rows) times
        dup = 1.0
        if src.ref is not None and table_rows > 0:
            dup = max(1.0, est.get(src.ref, table_rows) / table_rows)
        if src.path is None:
            return table_rows * dup
        return est.get(bi, 1.0) * ctx.fanout(src.path) * dup

    def _push(bi: int, src: Source, spatial: bool, rest: Callable[[], bool]) -> bool:
        b = blocks[bi]
        rows = _rows_after(bi, src)
        if rows > cap[0]:
            return False
        joined = src.mode in ("on", "cross")
        sj = spatial and joined
        cap_join = joined and not spatial and capable(b, src)
        before = est.get(bi, 1.0)
        b.sources.append(src)
        est[bi] = rows
        state["spatial"] += spatial
        state["sjoin"] += sj
        state["capable"] += cap_join
        if rest():
            return True
        est[bi] = before
        b.sources.pop()
        state["spatial"] -= spatial
        state["sjoin"] -= sj
        state["capable"] -= cap_join
        return False

    found = dfs(0, n_base)
    if not found:  # no layout under ROW_CAP: search again allowing bigger products
        cap[0], state["nodes"] = math.inf, 0
        found = dfs(0, n_base)
    if not found:
        code = "EXP004" if want_raster else "EXP002"
        raise PlanError(
            code,
            f"no layout of {s.table_count} table(s) from {s.schema_count} schema(s) "
            f"with {s.join_count} join(s) fits the join graph"
            + (" with a raster table" if want_raster else ""),
            final=state["nodes"] <= _MAX_NODES,
        )
    # aliases are given once the search is over (CTE names need their anchors); one alias
    # namespace per query keeps correlations unambiguous
    taken: set[str] = set()
    for bi in block_order(blocks):
        for src in blocks[bi].sources:
            if src.ref is None:
                src.alias = _alias(src.table, taken, style)
            else:
                src.alias = _ref_alias(blocks, src.ref, taken, rng)
            taken.add(src.alias)


def _alias(t: TableInfo, taken: set[str], style: int) -> str:
    for a in (*t.aliases[style:], *t.aliases[:style]):
        if a not in taken:
            return a
    n = 2
    while f"{t.aliases[0]}{n}" in taken:
        n += 1
    return f"{t.aliases[0]}{n}"


CTE_SUFFIXES = (
    "filtered",
    "selected",
    "candidates",
    "scope",
    "base",
    "subset",
    "enriched",
    "metrics",
    "summary",
    "ranked",
    "matches",
    "overview",
    "profile",
    "set",
)


def _ref_alias(blocks: list[Block], i: int, taken: set[str], rng: random.Random) -> str:
    """Name a CTE (``building_metrics``) and alias the reference (``bm``)."""
    b = blocks[i]
    if b.role == "cte" and not b.name:
        word = b.anchor_table.name.split("_")[0]
        used = {x.name for x in blocks}
        for suffix in rng.sample(CTE_SUFFIXES, len(CTE_SUFFIXES)):
            if f"{word}_{suffix}" not in used:
                b.name = f"{word}_{suffix}"
                break
        else:
            b.name = f"{word}_cte{i}"
    base = (
        "".join(w[0] for w in b.name.split("_"))
        if b.role == "cte"
        else rng.choice(("sub", "d", "agg", "q"))
    )
    n = 1
    alias = (
        base
        if base not in taken and base not in ("as", "do", "by", "in", "is", "on", "or", "to")
        else f"{base}{n}"
    )
    while alias in taken:
        n += 1
        alias = f"{base}{n}"
    return alias
