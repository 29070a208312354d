"""Nesting with a purpose: what a CTE, a derived table or a subquery does for the query.

CTE / derived-table forms (the body is a block of its own; the reader sees an *export*):

* ``filter``  -- a named subset ("the residential buildings of this scenario"), read like a
  table: the reader's references decide which of the anchor's columns the body selects;
* ``measure`` -- the subset plus per-row measurements the reader filters or ranks by;
* ``group``   -- per-group counts and statistics, joined by the reader to the table the
  group key refers to ("buildings per census section" joined to the sections);
* ``cluster`` -- cluster ids the reader counts per cluster.

Subquery forms (one table, predicates true for the pivot's partner):

* ``in`` / ``exists`` -- rows that have a partner meeting a condition;
* ``not_exists`` -- rows with no partner within a distance (smaller than the pivot's
  nearest one);
* ``scalar_cmp`` -- rows above (or below) the average of their scope;
* ``scalar_count`` -- each row with the number of its partners.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimgen import ast
from cimgen.expand.block import Block
from cimgen.expand.frame import Item

CTE_FORMS = ("filter", "measure", "group", "cluster")
SUB_FORMS = ("in", "exists", "not_exists", "scalar_cmp", "scalar_count", "derived")


@dataclass
class Export:
    """A CTE or derived table as the reading block sees it."""

    name: str
    body: Block
    anchor: Item  # the body's subject item
    form: str
    grouped: bool = False
    derived: bool = False  # a grouped export the main block joins (written in FROM: inline)
    inline: bool = False  # a CTE body written as a derived table in its reader's FROM
    needed: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)  # outputs the body defines itself
    key: str | None = None  # the group key (grouped exports)
    # scope columns grouped beside the key (a bus id repeats per project scenario): the
    # reader's join equates them too, or it meets the groups of every scenario
    scope: tuple[str, ...] = ()
    # or the literals the body pins its scope to (one project scenario): the reader's join
    # pins the joined table's scope to them
    pins: tuple[tuple[str, ast.Expr], ...] = ()

    def statistic(self, name: str) -> bool:
        """Is ``name`` an output the body computes (not its group key or scope)?"""
        return bool(name) and name != self.key and name not in self.scope

    def need(self, name: str) -> None:
        if name in self.fixed or name in self.needed:
            return
        if self.grouped:
            from cimgen.expand.frame import BuildError

            raise BuildError(f"{self.name} has no column {name}")
        self.needed.append(name)


def cte_name(form: str, noun: str, taken: set[str], extra: str = "") -> str:
    from cimgen.expand.names import plural, slug

    word = slug(noun)
    many = slug(plural(noun))
    base = {
        "filter": f"selected_{many}",
        "measure": f"{word}_metrics",
        "group": f"{many}_per_{extra}" if extra else f"{word}_summary",
        "cluster": f"{word}_clusters",
    }.get(form, f"{word}_set")
    base = base.replace("__", "_")
    out, n = base, 2
    while out in taken:
        out = f"{base}_{n}"
        n += 1
    taken.add(out)
    return out


def export_items(export: Export) -> tuple[ast.SelectItem, ...]:
    """The select list the body needs after the reader is built: its own outputs first
    (fixed), then the anchor columns the reader referenced."""
    from cimgen.expand.frame import column

    body = export.body
    items = [ast.SelectItem(o.expr, o.name) for o in body.outs]
    have = {o.name or (o.expr.name if isinstance(o.expr, ast.Column) else None) for o in body.outs}
    for name in export.needed:
        if name not in have:
            # through frame.column: a body reading an earlier CTE passes the need on
            items.append(ast.SelectItem(column(export.anchor, name)))
    return tuple(items)
