"""Count the shapes a blind review did not keep (issue 14) in the accepted rows of a run.

Reads the ``dataset.jsonl`` of one or more ``cimgen generate`` output folders (schema
``cim_wizard``), parses each row's PostGIS SQL with the project grammar and counts, per
folder, the rows with:

* ``constant_output`` -- an output read only from a table the query pins to one row
  (PUR008's rule: a pinned project's name on every row);
* ``scope_table_pinned`` -- the project scenario table read beside a literal project pin;
* ``neighbour_filter`` -- a spatial self-join filtered on the neighbour side only;
* ``order_by_cluster_id`` -- an ordering by a cluster number;
* ``joined_version_open:<column>`` -- a joined table whose version column
  (``cimgen.expand.distinct.version_columns``: ``lod``, ``scenario_id``) the query neither
  pins nor equates (rows of one thing repeat per version);

and the shapes of the fourth pass's review (docs/BENCHMARKS.md, "Realism: fourth pass"):

* ``order_by_coordinate`` -- ORDER BY a longitude / latitude (``ST_X`` / ``ST_Y``);
* ``order_by_parent`` -- ORDER BY a value of a table the listed rows belong to only (a
  line's project scenario, the census section containing a building);
* ``order_on_one_row`` -- ORDER BY / LIMIT on one row (an aggregate without GROUP BY, or a
  result of one row on the check engine);
* ``window_repeats_order`` -- an overall ranking window whose ordering the query's own
  ORDER BY repeats;
* ``stored_and_computed`` -- one quantity twice: a stored length / area beside the one
  computed from the same table's geometry, or two stored forms (``length_m``,
  ``length_km``);
* ``multiplying_join:label_only`` / ``:chain`` -- see ``_multiplying``;

and the shapes of the fifth pass's review (docs/BENCHMARKS.md, "Realism: fifth pass"), per
SELECT block (CTE bodies too; see ``fifth_shapes``):

* ``count_pairs`` -- ``COUNT(*)`` in a block with a table met to-many (a key of fan over 3,
  a distance or intersection join), not named after that table: pairs counted as subjects;
* ``parent_value_repeated`` -- a row-level block with a to-many table and a computed
  output read only from the other side (a project's DTM elevation on each of its buses);
* ``rows_of_another`` -- a row-level block of three or more tables with a to-many one
  (``:4`` -- of four or more: the review's lines x zone x bus x buildings);
* ``join_and_exists`` -- a table joined and also read by an EXISTS / IN of the same block;
* ``cluster_input`` -- a clustering over rows a to-many join multiplies, or pinned to one
  label (``gl.name = '...'``), in the block or the CTE it reads;
* ``unused_cte_column`` -- a CTE output no reader uses;
* ``wkt_and_coords`` -- WKT and longitude/latitude of the same geometry;
* ``output_join_key`` -- an output column of a joined table equated to a column of another;

and the shapes of the sixth pass (docs/BENCHMARKS.md, "Realism: sixth pass"; the readers
are ``cimgen.expand.theme``'s, the expander's own):

* ``conditions:3`` / ``conditions:4`` -- three / four or more conditions on attributes or
  places in the query, all blocks together (pins of a project scenario, version or raster
  kind aside; one place counted once however many predicates name it);
* ``table_conditions:3`` -- three or more attribute conditions on one table of a block
  ("four census thresholds");
* ``condition_tables:3`` -- conditions on three or more tables of a block (the place once);
* ``two_places`` -- two different literal points or boxes in one query (a box filter and a
  distance ordering from another point);
* ``filter_only_join`` -- a joined table read by nothing but its link and its own
  conditions (``:pins`` -- by pins other than its scope alone: a ``raster_model`` joined
  for ``raster_type = 'DTM' AND srid = 4326``);
* ``tables_in_block:4`` -- a block of four or more FROM items.

and the shapes of the seventh pass (docs/BENCHMARKS.md, "Realism: seventh pass"; readers
of ``cimgen.expand.multiply`` and ``cimgen.expand.distinct``):

* ``count_pairs:fan1`` -- ``count_pairs`` where any second row counts (a key link of fan
  over 1: a bus's lines); ``:cte`` -- of those, the counted subject read from a CTE (a
  clustering's buses joined to their lines);
* ``count_misnamed`` -- ``COUNT(DISTINCT a.key) AS n_<other>``: one table's rows counted
  under another's name (lines counted as ``n_property_records``);
* ``level_open`` -- two tables about one thing (labels equated) that both hold a level
  (``lod``) the block neither equates nor pins on both (a building per level of detail
  beside its properties);
* ``fixed_group:group_by`` / ``:partition`` -- a GROUP BY / PARTITION BY value the block's
  filters fix (a pinned column, or a table pinned to one row: a line by name, and its
  destination bus);
* ``pin_repeated`` -- a pin on a CTE's column that the CTE's own WHERE applies
  (``multiply.drop_repeated_pins``); ``raster_label`` -- a raster joined for its value
  that also lists its file name (``multiply.drop_raster_labels``).

and the shapes of the eighth pass (b) (docs/BENCHMARKS.md, "Realism: eighth pass (b)";
readers of ``cimgen.expand.returns``):

* ``aggregate_sink:tables`` -- the top block's aggregates read three or more tables (the
  lead's "all-projects aggregate of five unrelated values");
* ``aggregate_sink:two`` -- four or more aggregates reading two tables;
* ``outputs:9`` -- more than 8 outputs read from two or more tables (Stage 1's demo
  corpus: none);
* ``aggregate_outputs:7`` -- more than 6 outputs in a block with aggregates, its own or a
  grouped CTE's read back (a bus-level CTE joined to buses and projects; Stage 1: none);
* ``output_equal_pair`` -- two outputs of the top block a join makes equal
  (``b.building_id`` and ``bp.building_id``);
* ``repeated_listing`` -- a row-level listing of three or more tables whose to-many table
  (or a table met from it) returns values beside the table it multiplies;
* ``unused_derived_column`` -- a derived table's output its reading block does not use.

The ninth pass's shapes (issue 14):

* ``scope_mixed`` -- a grouped CTE or derived table of a scoped table (lines per
  ``to_bus``) joined to a scoped table (the buses) without equating the scope columns,
  the joined table's scope not pinned either: one scenario's groups beside another
  scenario's rows;
* ``sum_over_copies`` -- a SUM or AVG of a value a join repeats (``multiplied``: the
  lines of a bus averaged over bus x nearby-building x line rows).

It also prints, per folder, the outputs per query read with PostgreSQL's parser
(``cimgen.features.parse_select``): their mean, the share over 6, and the aggregates'
(number, tables read) pairs; ``--corpus FILE`` prints the same for a Stage 1 JSONL (or
``.jsonl.gz``) file.

and the shapes of the eighth pass (a) (docs/BENCHMARKS.md, "Realism: eighth pass (a)";
readers of ``cimgen.expand.pinned``), a value, group or filter the query's own pins make
constant or redundant:

* ``constant_aggregate:count`` / ``:value`` -- ``COUNT(DISTINCT ps.project_name)`` of a
  pinned project (always 1) / a MIN, MAX or AVG of a value the pins fix;
* ``fixed_group:cte`` -- a GROUP BY / PARTITION BY value fixed by the pins a CTE applies
  (seen through its joins); ``fixed_group:label`` -- a GROUP BY on a value of the one thing
  a label pin names (the building 'CATASTO_UR477' per geometry source);
* ``constant_subquery:exists`` / ``:scalar`` -- an EXISTS / IN whose outer references are
  all pinned / a scalar subquery of a row the outer pins fix;
* ``filter_repeated`` -- a condition a CTE (or the CTE it reads) already applies;
  ``cte_step_idle`` -- a CTE that only passes another CTE's rows on;
* ``point_value`` -- a raster value at one literal point beside per-row values;
* ``point_group`` -- groups or aggregates over the rows a literal point cuts;

and the shapes of the tenth pass (b) (docs/BENCHMARKS.md, "Realism: tenth pass (b)";
readers of ``cimgen.expand.once``):

* ``point_window`` -- a window over rows whose every table one literal point cuts (NTILE
  over the DTM and DSM tiles at a point);
* ``raster_read_twice`` -- two raster tables of one kind in a query (a DTM dataset beside
  the DTM tiles);
* ``identity_group`` -- a GROUP BY on what identifies one row of the block's first table,
  nothing met several per row (a bus number in one scenario);
* ``container_pivot`` -- a table reached spatially through a scoped container of the rows
  (the census zone containing the project's centre, on each bus's row);
* ``twin_counts`` -- ``COUNT(*)`` beside ``COUNT(DISTINCT t.k)`` of a key;
* ``listing_outputs:7`` -- a row-level main block returning 7 or more values;
* ``census_columns:4`` -- four or more census variables (ids and areas aside) in a query.

and the shapes of the eleventh pass (docs/BENCHMARKS.md, "Realism: eleventh pass"):

* ``point_aggregate`` -- an aggregate of a raster read at one literal point over rows
  elsewhere, or a raster joined only at that point and read by nothing
  (``cimgen.expand.once.point_aggregates``);
* ``scenario_copies`` -- a joined project scenario whose scenario is left open while the
  query reads only what the project has (name, boundary, centre): each row once per
  scenario (what ``cimgen.expand.once.pin_project_scenario`` pins);
* ``owner_lost`` -- the question says "whose project/census boundary" (or centre) of rows
  whose own geometry it is not (read from the question's words: this schema's nouns).

It also prints the mean number of conditions per query (Stage 1's demo corpus: 1.02 on
600 random records, none with three or more).

    python benchmarks/bench_realism_shapes.py out/before out/after
    python benchmarks/bench_realism_shapes.py --corpus cimgen/data/stage1_demo.jsonl.gz
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.check.base import CheckContext
from cimgen.check.purpose import _one_row_aliases
from cimgen.expand import ExpansionContext
from cimgen.expand.distinct import open_levels, open_versions
from cimgen.expand.multiply import (
    base_table,
    block_refs,
    drop_raster_labels,
    drop_repeated_pins,
    fixed_groups,
    multiplies,
    to_many,
)
from cimgen.expand.names import count_name
from cimgen.expand.pinned import constant_aggregates, constant_subqueries, label_groups
from cimgen.expand.point import point_groups, point_values
from cimgen.expand.repeats import idle_steps, repeated_filters
from cimgen.expand.returns import (
    MAX_AGGREGATE_OUTPUTS,
    MAX_OUTPUTS,
    drop_unused_derived_columns,
    equal_classes,
    grouped_outputs,
    repeated_listing,
)
from cimgen.expand.theme import (
    asked_conditions,
    filter_only_joins,
    literal_conditions,
    pin_only_joins,
    places,
)
from cimgen.features import _outermost_select, parse_select
from cimgen.grammar import parse
from cimgen.io import read_jsonl
from cimgen.schema import load_schema


def shapes(query: ast.Query, sql: str, ctx: ExpansionContext, check: CheckContext) -> set[str]:
    body = query.body
    if not isinstance(body, ast.Select):
        return set()
    found = set()
    one, every = _one_row_aliases(body, check)
    if one and every - one:
        for it in body.items:
            nodes = list(ast.walk(it.expr))
            if any(isinstance(n, (ast.Query, ast.Subquery)) for n in nodes):
                continue
            if any(isinstance(n, ast.FuncCall) and n.over is not None for n in nodes):
                continue
            cols = [n for n in nodes if isinstance(n, ast.Column)]
            if it.expr not in body.group_by and cols and all(c.table in one for c in cols):
                found.add("constant_output")
    if not body.group_by:
        found |= {f"joined_version_open:{c}" for _, c in open_versions(query, ctx)}
    refs = [f for f in body.from_ if isinstance(f, ast.TableRef)]
    if len(refs) == 2 and refs[0].name == refs[1].name:
        for c in ast.conjuncts(body.where):
            if ast.tables_read(c) == {refs[1].alias} and not (
                isinstance(c, ast.BinaryOp) and c.op == "="
            ):
                found.add("neighbour_filter")
    if any(isinstance(o.expr, ast.Column) and o.expr.name == "cluster_id" for o in query.order_by):
        found.add("order_by_cluster_id")
    if "project_scenario" in sql and re.search(r"project_id = '", sql):
        found.add("scope_table_pinned")
    return found


# --- issue 14, fourth pass: the shapes of the last blind review --------------------------

_RANKS = {"RANK", "DENSE_RANK", "ROW_NUMBER", "NTILE", "PERCENT_RANK", "CUME_DIST"}
_COORDS = {"ST_X", "ST_Y"}
_STORED = re.compile(r"^(?:shape_)?(length|area)(?:_(?:km2|km|m2|m|sqm))?$")


def _outputs(body: ast.Select) -> dict[str, ast.Expr]:
    return {it.alias: it.expr for it in body.items if it.alias}


def _resolved(expr: ast.Expr, body: ast.Select) -> ast.Expr:
    """An ORDER BY item with the output it names (``ORDER BY lon`` -> ``ST_X(...)``)."""
    if isinstance(expr, ast.Column) and expr.table is None:
        return _outputs(body).get(expr.name, expr)
    return expr


def _calls(expr: ast.Expr) -> set[str]:
    return {n.name for n in ast.walk(expr) if isinstance(n, ast.FuncCall)}


def _aliases(expr: ast.Expr) -> set[str]:
    return {n.table for n in ast.walk(expr) if isinstance(n, ast.Column) and n.table}


def _aggregated(body: ast.Select) -> bool:
    """An aggregate of the block itself (not of a subquery in its SELECT list)."""
    aggs = {"COUNT", "SUM", "AVG", "MIN", "MAX"}
    stack: list[Any] = [it.expr for it in body.items]
    while stack:
        n = stack.pop()
        if isinstance(n, (ast.Subquery, ast.Query)):
            continue
        if isinstance(n, ast.FuncCall) and n.name.upper() in aggs and n.over is None:
            return True
        stack.extend(ast.children(n))
    return False


def review_shapes(query: ast.Query, record: dict[str, Any], ctx: ExpansionContext) -> set[str]:
    """The fourth pass's shapes (module docstring) of one accepted row."""
    body = query.body
    if not isinstance(body, ast.Select):
        return set()
    found: set[str] = set()
    refs = [r for f in body.from_ for r in _refs(f)]
    order = [_resolved(o.expr, body) for o in query.order_by]
    if any(_calls(e) & _COORDS for e in order):
        found.add("order_by_coordinate")
    parents = _parents(body, refs, ctx)
    for e in order:
        used = _aliases(e)
        if used and used <= parents:
            found.add("order_by_parent")
    one_row = (_aggregated(body) and not body.group_by) or (
        (record.get("result") or {}).get("rows") == 1
    )
    if (query.order_by or query.limit is not None) and one_row:
        found.add("order_on_one_row")
    for it in body.items:
        e = it.expr
        if isinstance(e, ast.FuncCall) and e.over is not None and e.name.upper() in _RANKS:
            if e.over.partition_by or not e.over.order_by or not query.order_by:
                continue
            w = e.over.order_by[0].expr
            q = query.order_by[0].expr
            if _resolved(q, body) == w or (
                isinstance(q, ast.Column) and q.table is None and q.name == it.alias
            ):
                found.add("window_repeats_order")
    # one quantity in two forms: a stored length/area beside the computed one
    stored = {
        (n.table, m.group(1))
        for it in body.items
        for n in ast.walk(it.expr)
        if isinstance(n, ast.Column) and n.table and (m := _STORED.match(n.name))
    }
    computed = {
        (a, "length" if c.name == "ST_Length" else "area")
        for it in body.items
        for c in ast.walk(it.expr)
        if isinstance(c, ast.FuncCall) and c.name in ("ST_Length", "ST_Area")
        for a in _aliases(c)
    }
    stored_cols = [
        n.name
        for it in body.items
        for n in ast.walk(it.expr)
        if isinstance(n, ast.Column) and n.table and _STORED.match(n.name)
    ]
    if stored & computed or len(set(stored_cols)) > len(
        {_STORED.match(c).group(1) for c in stored_cols}
    ):  # type: ignore[union-attr]
        found.add("stored_and_computed")
    if not body.group_by and not _aggregated(body) and len(refs) > 1:
        found |= {f"multiplying_join:{k}" for k in _multiplying(body, refs, ctx)}
    return found


def _parents(body: ast.Select, refs: list[ast.TableRef], ctx: ExpansionContext) -> set[str]:
    """Aliases of tables the first table's rows belong to: met by a key each first row
    meets one of while one of them meets several first rows (a line's project scenario),
    or containing the first table's geometry (``ST_Within(first, it)``)."""
    if not refs:
        return set()
    first = refs[0].alias or refs[0].name
    info = {r.alias or r.name: ctx.by_name.get(r.qualified) for r in refs}
    out = set()
    for c in ast.block_conditions(body, outer_joins=True):
        sides = _aliases(c)
        if first not in sides or len(sides) != 2:
            continue
        (b,) = sides - {first}
        ia, ib = info.get(first), info.get(b)
        if ia is None or ib is None:
            continue
        if isinstance(c, ast.FuncCall) and c.args:
            inner = {"st_within": 0, "st_contains": 1}.get(c.name.lower())
            if inner is not None and _aliases(c.args[inner]) == {first}:
                out.add(b)
        elif isinstance(c, ast.BinaryOp) and c.op == "=":
            up = [p.fan for p in ctx.paths_from(ia.qualified) if p.right == ib.qualified]
            down = [p.fan for p in ctx.paths_from(ib.qualified) if p.right == ia.qualified]
            if up and down and max(up) <= 1.5 and min(down) > 1.5:
                out.add(b)
    return out


def _refs(item: ast.FromItem) -> list[ast.TableRef]:
    if isinstance(item, ast.TableRef):
        return [item]
    if isinstance(item, ast.Join):
        return [*_refs(item.left), *_refs(item.right)]
    return []


def _multiplying(body: ast.Select, refs: list[ast.TableRef], ctx: ExpansionContext) -> set[str]:
    """How a row-level block's joined tables multiply its rows:

    * ``label_only`` -- a table met by a key of which one row meets several other things
      (fan over 3 on the fixture: a section's buildings, a project's buses -- not versions),
      contributing only plain columns to the SELECT list (no filter, no ordering, no
      computed output);
    * ``chain`` -- a table met (by such a key, or spatially) from a table itself met that
      way: the product of two one-to-many steps.
    """
    names = [r.alias or r.name for r in refs]
    info = {r.alias or r.name: ctx.by_name.get(r.qualified) for r in refs}
    conds = ast.block_conditions(body, outer_joins=True)
    links = [c for c in conds if len(_aliases(c) & set(names)) == 2]
    many: dict[str, tuple[str, str]] = {}  # alias -> (the alias it multiplies, how)
    for c in links:
        a, b = sorted(_aliases(c) & set(names), key=names.index)
        ia, ib = info[a], info[b]
        if ia is None or ib is None or b in many:
            continue
        how = multiplies(c, links, a, b, ia, ib, ctx)
        if how:
            many[b] = (a, how)
    out = set()
    for b, (a, how) in many.items():
        outs = [it.expr for it in body.items if b in _aliases(it.expr)]
        filtered = any(b in _aliases(c) for c in conds if c not in links)
        if how == "key" and outs and not filtered and all(isinstance(e, ast.Column) for e in outs):
            out.add("label_only")
        if a in many:
            out.add("chain")
    return out


# --- issue 14, fifth pass -----------------------------------------------------------------

_CLUSTERS = {"st_clusterdbscan", "st_clusterkmeans"}


def _blocks(query: ast.Query) -> list[tuple[ast.Query, ast.Select]]:
    """Every SELECT block of ``query`` with the query it heads (CTEs, subqueries too)."""
    out = []
    for n in ast.walk(query):
        if isinstance(n, ast.Query) and isinstance(n.body, ast.Select):
            out.append((n, n.body))
    return out


def _many(
    body: ast.Select, query: ast.Query, ctx: ExpansionContext
) -> tuple[list[str], dict[str, str]]:
    """The block's aliases, and those met to-many (``cimgen.expand.multiply.to_many``)."""
    return to_many(body, ast.ctes_by_name(query), ctx)


def _base(ref: ast.TableRef, query: ast.Query, ctx: ExpansionContext) -> Any:
    return base_table(ref, ast.ctes_by_name(query), ctx)


def _pairs_named_as_subject(
    body: ast.Select, query: ast.Query, ctx: ExpansionContext, over: float = 3.0
) -> bool:
    """COUNT(*) over a to-many join not named after the table met several per row
    (``over``: the key fan above which a link multiplies; see ``multiply.multiplies``); a
    count named after any table met more than once per row is what it says."""
    _, many = to_many(body, ast.ctes_by_name(query), ctx, over)
    _, met = to_many(body, ast.ctes_by_name(query), ctx, 1.0)
    refs = {r.ref_name: r for f in body.from_ for r in _refs(f)}
    named = set()
    for b, a in met.items():
        ib, ia = _base(refs[b], query, ctx), _base(refs[a], query, ctx)
        if ib is not None and ia is not None and ib.qualified != ia.qualified:
            named.add(count_name(ib.noun))
    counts = [
        it
        for it in body.items
        if isinstance(it.expr, ast.FuncCall)
        and it.expr.name.upper() == "COUNT"
        and it.expr.star
        and it.expr.over is None
    ]
    return bool(many) and any(it.alias not in named for it in counts)


def _label_pinned(body: ast.Select, query: ast.Query, ctx: ExpansionContext) -> bool:
    refs = {r.alias or r.name: _base(r, query, ctx) for f in body.from_ for r in _refs(f)}
    for c in ast.conjuncts(body.where):
        if isinstance(c, ast.BinaryOp) and c.op == "=" and isinstance(c.left, ast.Column):
            info = refs.get(c.left.table or "")
            if info is not None and isinstance(c.right, ast.String) and c.left.name in info.labels:
                return True
    return False


def _cte_unused(query: ast.Query) -> bool:
    for q in (n for n in ast.walk(query) if isinstance(n, ast.Query)):
        for cte in q.ctes:
            body = cte.query.body
            if not isinstance(body, ast.Select):
                continue
            readers = [x for x in ast.walk(q) if x is not cte]
            aliases = {
                x.alias or x.name
                for x in readers
                if isinstance(x, ast.TableRef) and x.schema is None and x.name == cte.name
            }
            used: set[str] = set()
            outside = [q.body, *q.order_by, *(c.query for c in q.ctes if c is not cte)]
            for x in (n for o in outside for n in ast.walk(o)):
                if isinstance(x, ast.Star) and (x.table is None or x.table in aliases):
                    used.add("*")
                if isinstance(x, ast.Column) and (x.table is None or x.table in aliases):
                    used.add(x.name)
            if "*" in used:
                continue
            for it in body.items:
                name = ast.output_name(it)
                if name and name not in used:
                    return True
    return False


def fifth_shapes(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The fifth pass's shapes (module docstring) of one accepted row."""
    found: set[str] = set()
    if _cte_unused(query):
        found.add("unused_cte_column")
    blocks = _blocks(query)
    ctes = ast.ctes_by_name(query)
    for q, body in blocks:
        names, many = _many(body, q, ctx)
        row_level = not body.group_by and not _aggregated(body)
        if many and _pairs_named_as_subject(body, q, ctx):
            found.add("count_pairs")
        if row_level and many:
            if len(names) >= 3:
                found.add("rows_of_another")
            if len(names) >= 4:
                found.add("rows_of_another:4")
            for it in body.items:
                used = _aliases(it.expr)
                calls = _calls(it.expr)
                if (
                    not calls
                    or not used
                    or any(
                        isinstance(n, ast.FuncCall) and n.over is not None
                        for n in ast.walk(it.expr)
                    )
                ):
                    continue
                if not used & set(many) and used & set(many.values()):
                    found.add("parent_value_repeated")
        joined = {r.qualified for f in body.from_ for r in _refs(f)[1:] if r.schema is not None} | {
            r.qualified for f in body.from_[1:] for r in _refs(f) if r.schema is not None
        }
        for c in ast.conjuncts(body.where):
            sub = c.query if isinstance(c, (ast.Exists, ast.InSubquery)) else None
            if sub is not None and isinstance(sub.body, ast.Select):
                read = {r.qualified for f in sub.body.from_ for r in _refs(f)}
                if read & joined:
                    found.add("join_and_exists")
        clustered = any(
            isinstance(n, ast.FuncCall) and n.name.lower() in _CLUSTERS
            for it in body.items
            for n in ast.walk(it.expr)
        )
        if clustered:
            srcs = [(q, body)]
            for f in body.from_:
                for r in _refs(f):
                    if r.schema is None and r.name in ctes:
                        cq = ctes[r.name]
                        if isinstance(cq.body, ast.Select):
                            srcs.append((cq, cq.body))
            for sq, sb in srcs:
                if _many(sb, sq, ctx)[1] or _label_pinned(sb, sq, ctx):
                    found.add("cluster_input")
        geoms: dict[str, set[str]] = {}
        for it in body.items:
            e = it.expr
            if isinstance(e, ast.FuncCall) and e.args and e.name in ("ST_AsText", "ST_X", "ST_Y"):
                arg = e.args[0]
                if isinstance(arg, ast.FuncCall) and arg.name == "ST_Centroid" and arg.args:
                    arg = arg.args[0]
                geoms.setdefault(repr(arg), set()).add(e.name)
        if any("ST_AsText" in v and v & {"ST_X", "ST_Y"} for v in geoms.values()):
            found.add("wkt_and_coords")
        if row_level and len(names) > 1:
            eqs = [
                c
                for c in ast.block_conditions(body, outer_joins=True)
                if isinstance(c, ast.BinaryOp)
                and c.op == "="
                and isinstance(c.left, ast.Column)
                and isinstance(c.right, ast.Column)
                and c.left.table != c.right.table
            ]
            keys = {(c.left.table, c.left.name) for c in eqs} | {
                (c.right.table, c.right.name) for c in eqs
            }
            for it in body.items:
                e = it.expr
                if isinstance(e, ast.Column) and e.table != names[0] and (e.table, e.name) in keys:
                    found.add("output_join_key")
    return found


# --- issue 14, sixth pass: contrived content ----------------------------------------------


def sixth_shapes(query: ast.Query, ctx: ExpansionContext) -> tuple[set[str], int]:
    """The sixth pass's shapes (module docstring) of one row, and its number of
    conditions on a literal (attributes and places; not pins)."""
    found: set[str] = set()
    total = asked_conditions(query, ctx)
    ctes = ast.ctes_by_name(query)
    for _, body in _blocks(query):
        asked = [(a, k) for a, k in literal_conditions(body, ctes, ctx) if k != "pin"]
        per_table = Counter(a for a, k in asked if k == "attribute")
        if any(n >= 3 for n in per_table.values()):
            found.add("table_conditions:3")
        # the tables asked about, the query's place counted once (two tiles at one point)
        if len({a if k == "attribute" else "place" for a, k in asked}) >= 3:
            found.add("condition_tables:3")
        if len(block_refs(body)) >= 4:
            found.add("tables_in_block:4")
    if total >= 3:
        found.add("conditions:3")
    if total >= 4:
        found.add("conditions:4")
    if filter_only_joins(query, ctx):
        found.add("filter_only_join")
    if pin_only_joins(query, ctx):
        found.add("filter_only_join:pins")
    if len(places(query)) >= 2:
        found.add("two_places")
    return found, total


def seventh_shapes(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The seventh pass's shapes (module docstring) of one row."""
    found: set[str] = set()
    for _, body in _blocks(query):
        if _pairs_named_as_subject(body, query, ctx, over=1.0):
            found.add("count_pairs:fan1")
            first = block_refs(body)[:1]
            if first and first[0].schema is None:
                found.add("count_pairs:cte")
        refs = {r.ref_name: r for r in block_refs(body)}
        for it in body.items:
            e = it.expr
            if (
                isinstance(e, ast.FuncCall)
                and e.name.upper() == "COUNT"
                and e.distinct
                and len(e.args) == 1
                and isinstance(e.args[0], ast.Column)
                and e.args[0].table in refs
                and it.alias is not None
                and it.alias.startswith("n_")
            ):
                info = _base(refs[e.args[0].table], query, ctx)
                if info is not None and it.alias != count_name(info.noun):
                    found.add("count_misnamed")
        if open_levels(body, ctx):
            found.add("level_open")
        for e in fixed_groups(body, ctx):
            found.add("fixed_group:group_by" if e in body.group_by else "fixed_group:partition")
    if drop_repeated_pins(query) != query:
        found.add("pin_repeated")
    if drop_raster_labels(query, ctx) != query:
        found.add("raster_label")
    return found


# --- issue 14, eighth pass (b): what a query returns --------------------------------------


def eighth_shapes_b(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The eighth pass (b)'s shapes (module docstring) of one row."""
    found: set[str] = set()
    body = query.body
    if isinstance(body, ast.Select):
        aggs = [  # the block's own (a scalar subquery's COUNT is a value of each row)
            n
            for it in body.items
            for n in ast.walk_own(it.expr)
            if isinstance(n, ast.FuncCall)
            and n.over is None
            and n.name.upper() in ("COUNT", "SUM", "AVG", "MIN", "MAX")
        ]
        read = set().union(*(ast.tables_read(a) for a in aggs))
        if len(read) >= 3:
            found.add("aggregate_sink:tables")
        if len(read) == 2 and len(aggs) >= 4:
            found.add("aggregate_sink:two")
        shown = set().union(*(ast.tables_read(it.expr) for it in body.items))
        if len(body.items) > MAX_OUTPUTS and len(shown) > 1:
            found.add("outputs:9")
        grouped = grouped_outputs(body, query)
        reads_grouped = any(
            isinstance(n, ast.Column) and (n.table, n.name) in grouped
            for it in body.items
            for n in ast.walk(it.expr)
        )
        if (aggs or reads_grouped) and len(body.items) > MAX_AGGREGATE_OUTPUTS:
            found.add("aggregate_outputs:7")
        classes = equal_classes(body)
        outs = [classes[it.expr] for it in body.items if it.expr in classes]
        if len(outs) > len(set(outs)):
            found.add("output_equal_pair")
    if repeated_listing(query, ctx):
        found.add("repeated_listing")
    if drop_unused_derived_columns(query) != query:
        found.add("unused_derived_column")
    return found


# --- issue 14, ninth pass: scenarios mixed, averages over a second table's copies ---------


def _grouped_sources(body: ast.Select, query: ast.Query, ctx: ExpansionContext) -> dict[str, Any]:
    """alias -> the scoped base table of each grouped CTE or derived table the block reads."""
    ctes = ast.ctes_by_name(query)
    out: dict[str, Any] = {}
    stack: list[Any] = list(body.from_)
    while stack:
        f = stack.pop()
        if isinstance(f, ast.Join):
            stack += [f.left, f.right]
            continue
        if isinstance(f, ast.TableRef) and f.schema is None and f.name in ctes:
            src, alias = ctes[f.name], f.ref_name
        elif isinstance(f, ast.DerivedTable):
            src, alias = f.query, f.alias
        else:
            continue
        inner = src.body
        if not isinstance(inner, ast.Select) or not inner.group_by:
            continue
        refs = block_refs(inner)
        info = base_table(refs[0], ctes, ctx) if refs else None
        if info is not None and info.scope:
            out[alias] = info
    return out


def ninth_shapes(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The ninth pass's shapes (module docstring) of one row."""
    from cimgen.equalities import block_equalities
    from cimgen.expand.multiply import multiplied

    found: set[str] = set()
    for _, body in _blocks(query):
        grouped = _grouped_sources(body, query, ctx)
        if not grouped:
            continue
        eq = block_equalities(body)
        same, fixed = eq.classes, eq.fixed()
        for r in block_refs(body):
            info = ctx.by_name.get(r.qualified) if r.schema is not None else None
            if info is None or not info.scope:
                continue
            for alias, src in grouped.items():
                linked = any(
                    ast.tables_read(c) == {alias, r.ref_name}
                    for c in ast.block_conditions(body, outer_joins=True)
                )
                if not linked or len(src.scope) != len(info.scope):
                    continue
                if not all(
                    same.find((alias, a)) == same.find((r.ref_name, b))
                    or same.find((r.ref_name, b)) in fixed
                    for a, b in zip(src.scope, info.scope, strict=True)
                ):
                    found.add("scope_mixed")
    why = multiplied(query, ctx)
    if why is not None and "copies" in why:
        found.add("sum_over_copies")
    return found


_AGG_NAMES = ("count", "sum", "avg", "min", "max")


def _column_tables(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        fields = node.get("ColumnRef", {}).get("fields", [])
        if len(fields) == 2 and "String" in fields[0]:
            out.add(fields[0]["String"]["sval"])
        for v in node.values():
            _column_tables(v, out)
    elif isinstance(node, list):
        for v in node:
            _column_tables(v, out)


def output_profile(sql: str) -> tuple[int, int, int]:
    """(outputs, aggregates, tables the aggregates read) of the outermost SELECT, read
    with PostgreSQL's parser as the feature extraction reads Stage 1."""
    targets = _outermost_select(parse_select(sql)).get("targetList", [])
    n = 0
    read: set[str] = set()
    for t in targets:
        v = t["ResTarget"]["val"]
        call = v.get("FuncCall")
        if (
            call
            and not call.get("over")
            and call["funcname"][-1]["String"]["sval"].lower() in _AGG_NAMES
        ):
            n += 1
            _column_tables(v, read)
    return len(targets), n, len(read)


def _print_profile(label: Any, sqls: list[str]) -> None:
    outs: list[int] = []
    pairs: Counter[tuple[int, int]] = Counter()
    for sql in sqls:
        try:
            k, n, t = output_profile(sql)
        except Exception:
            continue
        outs.append(k)
        if n:
            pairs[(n, t)] += 1
    if not outs:
        return
    over = sum(k > 6 for k in outs)
    print(
        f"  {label}: outputs per query {sum(outs) / len(outs):.2f}, over 6: {over} of {len(outs)}"
        f"; (aggregates, tables they read): {dict(sorted(pairs.items()))}"
    )


def eighth_shapes_a(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The eighth pass (a)'s shapes (module docstring) of one row."""
    found: set[str] = set()
    ctes = ast.ctes_by_name(query)
    for _, body in _blocks(query):
        for it in constant_aggregates(body, ctx, ctes):
            e = it.expr
            distinct = isinstance(e, ast.FuncCall) and e.distinct
            found.add("constant_aggregate:" + ("count" if distinct else "value"))
        plain = fixed_groups(body, ctx)
        for e in fixed_groups(body, ctx, ctes):
            if e not in plain:
                found.add("fixed_group:cte")
        for c in constant_subqueries(body, ctx, ctes):
            found.add(
                "constant_subquery:" + ("scalar" if isinstance(c, ast.Subquery) else "exists")
            )
        if repeated_filters(body, ctes):
            found.add("filter_repeated")
        if point_values(body, ctx, ctes):
            found.add("point_value")
        if point_groups(body, ctx, ctes):
            found.add("point_group")
        if label_groups(body, ctx, ctes):
            found.add("fixed_group:label")
    if idle_steps(query):
        found.add("cte_step_idle")
    return found


_CENSUS_KEYS = ("geometry", "id", "sez2011", "nsez", "codasc", "ace", "shape_area", "shape_leng")


def tenth_shapes_b(query: ast.Query, ctx: ExpansionContext) -> set[str]:
    """The tenth pass (b)'s shapes (module docstring) of one row."""
    from cimgen.expand.once import (
        container_pivots,
        identity_groups,
        point_windows,
        rasters_read_twice,
        twin_counts,
    )

    found: set[str] = set()
    ctes = ast.ctes_by_name(query)
    for _, body in _blocks(query):
        if point_windows(body, ctes):
            found.add("point_window")
        if identity_groups(body, ctx, ctes):
            found.add("identity_group")
        if twin_counts(body, ctx):
            found.add("twin_counts")
    if rasters_read_twice(query, ctx):
        found.add("raster_read_twice")
    for _, body in _blocks(query):
        if container_pivots(body, ctx):
            found.add("container_pivot")
    body = query.body
    listing = isinstance(body, ast.Select) and not body.group_by and not _aggregated(body)
    if listing and len(body.items) >= 7:  # type: ignore[union-attr]
        found.add("listing_outputs:7")
    census = {
        (n.table, n.name)
        for n in ast.walk(query)
        if isinstance(n, ast.Column)
        and n.table
        and n.name not in _CENSUS_KEYS
        and any(
            r.ref_name == n.table and r.schema == "cim_census"
            for _, b in _blocks(query)
            for r in block_refs(b)
        )
    }
    if len(census) >= 4:
        found.add("census_columns:4")
    return found


_OWNER_LOST = re.compile(
    r"(?<!scenarios )(?<!scenario )(?<!projects )(?<!zones )whose (project |census )?"
    r"(boundary|centre point) |have an? (project |census )?(boundary|centre point) "
)


def eleventh_shapes(query: ast.Query, question: str, ctx: ExpansionContext) -> set[str]:
    """The eleventh pass's shapes (module docstring) of one row."""
    from cimgen.expand.once import pin_project_scenario, point_aggregates

    found: set[str] = set()
    ctes = ast.ctes_by_name(query)
    if any(point_aggregates(body, ctx, ctes) for _, body in _blocks(query)):
        found.add("point_aggregate")
    if pin_project_scenario(query, ctx) is not query:
        found.add("scenario_copies")
    if _OWNER_LOST.search(question):
        found.add("owner_lost")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="*", type=Path, help="cimgen generate output folders")
    ap.add_argument("--corpus", type=Path, action="append", default=[], help="Stage 1 JSONL")
    args = ap.parse_args()
    for path in args.corpus:
        opener: Any = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt") as f:
            _print_profile(path, [json.loads(line)["sql_postgis"] for line in f if line.strip()])
    schema = load_schema("cim_wizard")
    ctx = ExpansionContext.for_fixture(schema)
    check = CheckContext(schema=schema)
    for run in args.runs:
        counts: Counter[str] = Counter()
        rows = conditions = 0
        sqls = []
        for record in read_jsonl(run / "dataset.jsonl"):
            rows += 1
            sqls.append(record["sql_postgis"])
            sql = record["sql_postgis"]
            query = parse(sql)
            found = shapes(query, sql, ctx, check) | review_shapes(query, record, ctx)
            sixth, n = sixth_shapes(query, ctx)
            conditions += n
            eighth = eighth_shapes_a(query, ctx) | eighth_shapes_b(query, ctx)
            later = eighth | ninth_shapes(query, ctx) | tenth_shapes_b(query, ctx)
            later |= eleventh_shapes(query, record["question"], ctx)
            for name in (
                found | fifth_shapes(query, ctx) | sixth | seventh_shapes(query, ctx) | later
            ):
                counts[name] += 1
        print(run, rows, dict(sorted(counts.items())))
        print(f"  conditions per query (attributes and places): {conditions / max(rows, 1):.2f}")
        _print_profile("outputs", sqls)


if __name__ == "__main__":
    main()
