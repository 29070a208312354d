"""Aggregates that a group's own row decides (issue 14, the lead's read of the tenth pass).

A grouped block whose GROUP BY names one row of a table (its key, or its label with its
project scenario fixed) meets exactly one row of each table that row points to by a
to-one key: a line's destination bus, a property record's building. An aggregate of such
a table is the same in every group, by construction: ``COUNT(DISTINCT gb.id)`` per line
name is 1 (s2_000292: "the number of distinct buses by line name", every value 1), a
minimum or maximum of the bus's voltage is the bus's voltage. Those outputs are dropped;
a block left with no aggregate, or ordered by a dropped output, is refused.
"""

from __future__ import annotations

from cimgen import ast
from cimgen.equalities import Equalities, block_equalities, inner_table_refs
from cimgen.expand.context import ExpansionContext
from cimgen.expand.pinned import drop_fixed_aggregates

TO_ONE = 1.05  # a key path's fan (right rows per left row) at most this meets one row
_PER_ROW = {"COUNT", "MIN", "MAX", "AVG"}  # with one row, each is fixed (COUNT: distinct only)


def _group_rows(
    body: ast.Select, refs: dict[str, ast.TableRef], eq: Equalities, ctx: ExpansionContext
) -> set[str]:
    """Aliases whose one row each group fixes: the GROUP BY holds the table's key, or its
    label with each scope column grouped or pinned."""
    grouped = {
        eq.classes.find((c.table, c.name))
        for c in body.group_by
        if isinstance(c, ast.Column) and c.table is not None
    }
    fixed = eq.fixed()

    def held(alias: str, col: str) -> bool:
        root = eq.classes.find((alias, col))
        return root in grouped or root in fixed

    out = set()
    for alias, ref in refs.items():
        info = ctx.by_name.get(ref.qualified)
        if info is None:
            continue
        if (info.pk and all(held(alias, k) for k in info.pk)) or (
            info.labels
            and info.scope
            and held(alias, info.labels[0])
            and all(held(alias, s) for s in info.scope)
        ):
            out.add(alias)
    return out


def _determined(
    refs: dict[str, ast.TableRef], eq: Equalities, ctx: ExpansionContext, rows: set[str]
) -> set[str]:
    """Aliases reached from a group's row by to-one key paths (transitively)."""
    out = set(rows)
    changed = True
    while changed:
        changed = False
        for alias, ref in refs.items():
            if alias in out:
                continue
            for g in list(out):
                left = refs[g].qualified
                for p in ctx.paths_from(left):
                    if p.kind != "key" or p.right != ref.qualified or p.fan > TO_ONE:
                        continue
                    if p.pairs and all(
                        eq.classes.find((g, a)) == eq.classes.find((alias, b)) for a, b in p.pairs
                    ):
                        out.add(alias)
                        changed = True
                        break
                if alias in out:
                    break
    return out


def determined_aggregates(body: ast.Select, ctx: ExpansionContext) -> list[ast.SelectItem]:
    """The outputs of a grouped block that aggregate only tables each group's row fixes."""
    if not body.group_by:
        return []
    refs = {r.alias or r.name: r for f in body.from_ for r in inner_table_refs(f) if r.schema}
    if len(refs) < 2:
        return []
    eq = block_equalities(body)
    rows = _group_rows(body, refs, eq, ctx)
    if not rows:
        return []
    fixed_by_group = _determined(refs, eq, ctx, rows) - rows
    if not fixed_by_group:
        return []
    out = []
    for it in body.items:
        e = it.expr
        if not (isinstance(e, ast.FuncCall) and e.over is None and len(e.args) == 1):
            continue
        name = e.name.upper()
        if name not in _PER_ROW or (name == "COUNT" and not e.distinct):
            continue
        read = ast.tables_read(e.args[0])
        if read and read <= fixed_by_group:
            out.append(it)
    return out


def drop_determined_aggregates(query: ast.Query, ctx: ExpansionContext) -> ast.Query:
    """Without the outputs :func:`determined_aggregates` finds; refused when none of the
    block's aggregates is left, the ordering reads a dropped one, or a table the dropped
    one read would serve nothing else (a bridge or leaf joined for ``AVG(gl.length_km)``
    alone: PUR001; Hypothesis draws, thirteenth pass)
    (:func:`cimgen.expand.pinned.drop_fixed_aggregates`)."""
    return drop_fixed_aggregates(
        query,
        lambda body: determined_aggregates(body, ctx),
        "an aggregate the group's own row decides",
        joined_for="a table joined only for an aggregate the group's own row decides",
    )
