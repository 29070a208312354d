"""Lay a structure out as query blocks so that the counts come out exactly.

Blocks: the main SELECT (two arms for UNION), one body per CTE (a chain: each CTE is read by
a later CTE, a subquery or the main block), derived tables in FROM and expression
subqueries (IN / EXISTS / scalar). Every block has ``1 + joins`` FROM items; items are base
tables or references to CTE / derived blocks. Tables are chosen slot by slot so that exactly
``table_count`` distinct tables from exactly ``schema_count`` schemas appear, each joined
item connected to an earlier one by a join path of the context.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cimgen.expand.context import ExpansionContext, JoinPath, TableInfo
from cimgen.models import QueryFeatures


@dataclass
class Source:
    """One FROM item: a base table or a reference to a CTE / derived block."""

    alias: str
    table: TableInfo  # the base table, or the provenance table of a referenced block
    ref: int | None = None  # index of the referenced block
    path: JoinPath | None = None  # joins an earlier source (path.left is its table)
    join_to: int = 0


@dataclass
class Block:
    role: str  # main | arm2 | cte | derived | expr
    host: int | None = None  # block hosting a derived / expr block, or reading a CTE
    joins: int = 0
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

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def make_plan(s: QueryFeatures, ctx: ExpansionContext, rng: random.Random) -> Plan:
    last: PlanError | None = None
    for _ in range(12):
        try:
            return _attempt(s, ctx, rng)
        except PlanError as exc:
            last = exc
    assert last is not None
    raise last


def _attempt(s: QueryFeatures, ctx: ExpansionContext, rng: random.Random) -> Plan:
    blocks = [Block("main")]
    if s.set_operation != "NONE":
        blocks.append(Block("arm2"))
    arms = list(range(len(blocks)))
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
    if base_slots < s.table_count:
        raise PlanError(
            "EXP002",
            f"table_count {s.table_count} needs more FROM items than "
            f"{s.join_count} join(s) and {len(blocks)} query block(s) provide",
        )
    if s.table_count == 0:
        raise PlanError("EXP002", "table_count 0: every generated query reads a table")
    _assign_tables(s, ctx, rng, blocks, base_slots)
    tables = sorted({src.table.qualified for b in blocks for src in b.sources if src.ref is None})
    del arms
    return Plan(blocks, tables)


def _order(blocks: list[Block]) -> list[int]:
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


def _assign_tables(
    s: QueryFeatures,
    ctx: ExpansionContext,
    rng: random.Random,
    blocks: list[Block],
    base_slots: int,
) -> None:
    used: list[str] = []
    schemas: set[str] = set()
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
    want_raster = s.sql_type == "RASTER_VECTOR"
    if want_raster and not any(t.rasters for t in ctx.tables):
        raise PlanError("EXP004", "RASTER_VECTOR needs a raster table; the schema has none")
    slots_left = base_slots

    def pick(cands: list[TableInfo]) -> TableInfo:
        nonlocal slots_left
        new_left = s.table_count - len(used)
        fresh = [t for t in cands if t.qualified not in used]
        ok_new = []
        for t in fresh:
            sc = len(schemas | {t.schema})
            # after taking t, the remaining new tables must still be able to reach K schemas
            if sc <= s.schema_count and s.schema_count - sc <= new_left - 1:
                ok_new.append(t)
        if want_raster and not any(ctx.table(q).rasters for q in used):
            rast = [t for t in ok_new if t.rasters]
            if rast and (rng.random() < 0.6 or slots_left <= new_left):
                ok_new = rast
        reuse = [t for t in cands if t.qualified in used]
        must_new = slots_left <= new_left
        take_new = ok_new and new_left > 0 and (must_new or not reuse or rng.random() < 0.7)
        slots_left -= 1
        if take_new:
            t = rng.choice(ok_new)
        elif reuse and not must_new:
            t = rng.choice(reuse)
        else:
            raise PlanError("EXP002", "no connected table fits table_count / schema_count")
        if t.qualified not in used:
            used.append(t.qualified)
            schemas.add(t.schema)
        return t

    all_tables = list(ctx.tables)
    style = rng.choices((0, 1, 2), (6, 3, 1))[0]
    aliases: set[str] = set()  # one alias namespace per query: correlations stay unambiguous
    for bi in _order(blocks):
        b = blocks[bi]
        refs = list(b.refs)
        rng.shuffle(refs)
        items = b.joins + 1
        for k in range(items):
            if k < len(refs):
                prov = blocks[refs[k]].anchor_table
                src = Source(_ref_alias(blocks, refs[k], aliases, rng), prov, ref=refs[k])
                if k > 0:
                    src.path, src.join_to = _connect(ctx, rng, b.sources, prov)
                b.sources.append(src)
                aliases.add(src.alias)
                continue
            if not b.sources:
                t = pick(all_tables)
                b.sources.append(Source(_alias(t, aliases, style), t))
                aliases.add(b.sources[-1].alias)
                continue
            reach = sorted(
                {p.right for src in b.sources for p in ctx.paths.get(src.table.qualified, ())}
            )
            t = pick([ctx.table(q) for q in reach])
            path, to = _connect(ctx, rng, b.sources, t)
            b.sources.append(Source(_alias(t, aliases, style), t, path=path, join_to=to))
            aliases.add(b.sources[-1].alias)
    if len(used) != s.table_count or len(schemas) != s.schema_count:
        raise PlanError(
            "EXP002",
            f"could not place {s.table_count} tables from "
            f"{s.schema_count} schema(s) with the joins available",
        )
    if want_raster and not any(ctx.table(q).rasters for q in used):
        raise PlanError("EXP004", "RASTER_VECTOR: no raster table could be placed")


def _connect(
    ctx: ExpansionContext, rng: random.Random, sources: list[Source], t: TableInfo
) -> tuple[JoinPath, int]:
    options = [
        (p, i)
        for i, src in enumerate(sources)
        for p in ctx.paths_between(src.table.qualified, t.qualified)
    ]
    if not options:
        raise PlanError("EXP005", f"no join path reaches {t.qualified}")
    keyed = [o for o in options if o[0].kind == "key"]
    pool = keyed if keyed and rng.random() < 0.55 else options
    return rng.choice(pool)


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
