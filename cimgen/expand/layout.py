"""How a structure's counts are spread over query blocks (small named steps).

* :func:`needs_for` -- what the sampled ``sql_type`` asks of the query (a raster, a spatial
  join ON, a clustering call, a measurement, aggregation) and what it forbids;
* :func:`choose_forms` -- one purposeful form per CTE and subquery (docs in forms.py);
* :func:`spread_joins` -- joins per block, the main block first;
* the table budget is spent while links are added (build.py): every FROM item is either a
  table the query has not used yet or, when the counts ask for fewer tables than items,
  one it already reads.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from cimgen.expand.core import Needs
from cimgen.features import FLAT_SQL_TYPES
from cimgen.models import QueryFeatures

# CTE chains that read naturally (the second reads the first)
CTE_CHAINS = (
    ("filter", "group"),
    ("filter", "measure"),
    ("measure", "group"),
    ("filter", "cluster"),
)


@dataclass
class Layout:
    ctes: list[str]  # forms, in order (each reads the previous; main reads the last)
    sub: str | None
    joins: list[int]  # per CTE, then the main block
    commas: list[int] = field(default_factory=list)
    aggregate: str = "NONE"  # NONE | AGGREGATE | GROUP_BY | GROUP_BY_HAVING (main block)
    window: str = "none"  # none | rank | cluster
    spatial_on: bool = False
    set_op: str = "NONE"

    @property
    def main_joins(self) -> int:
        return self.joins[-1]


def needs_for(s: QueryFeatures, honour_label: bool = True) -> Needs:
    t = s.sql_type if honour_label else ""
    no_spatial_on = t in ("MULTI_JOIN", "AGGREGATION", "SPATIAL_MEASUREMENT", "SIMPLE_SELECT")
    return Needs(
        raster=t == "RASTER_VECTOR",
        spatial_on=t == "SPATIAL_JOIN",
        no_spatial_on=no_spatial_on,
        no_raster=t not in ("RASTER_VECTOR", ""),
        geometry=t in ("SPATIAL_MEASUREMENT", "SPATIAL_CLUSTERING", "SPATIAL_JOIN"),
        cluster=t == "SPATIAL_CLUSTERING",
        # FROM t a, t b WHERE <a near b>: the one way a one-table structure joins spatially
        self_join=t == "SPATIAL_JOIN" and s.table_count == 1,
    )


# labels the documented rule (docs/features.md) gives only to a query of one block with
# fewer than two joins and no spatial join


def label_room(s: QueryFeatures) -> tuple[QueryFeatures | None, bool]:
    """The nearest structure whose counts leave room for ``s.sql_type`` (None when they
    already do, or no count change would help), and whether the rule certainly excludes
    the label at the sampled counts (else the sampled ones are tried first).

    The structure model samples the label and the counts apart, so some vectors ask for
    what the rule cannot call by their label: two joins of a SIMPLE_SELECT (the rule says
    MULTI_JOIN), a SIMPLE_SELECT with a subquery on its own table (NESTED_QUERY), a
    RASTER_VECTOR of three tables and no join (only a comma product could hold them).
    The label says what the query is for, so the count gives way, recorded as a
    relaxation (``EXP010``).
    Other labels beside a CTE or subquery (a measurement in a CTE) are read as the corpus
    reads them -- the rule calls them nested -- and keep their counts: the five-count
    fidelity (>= 95 %) has no room for them too (docs/expansion.md, "Labels first").
    """
    t = s.sql_type
    nested = s.cte_count + s.subquery_count
    if t == "SIMPLE_SELECT" and nested and s.join_count <= 1 and s.table_count <= s.join_count + 1:
        # only where the nesting reads no table of its own (a scalar comparison with the
        # table's own average): dropping it costs the nesting count alone. A subquery on
        # another table keeps its counts -- the label gives way (NESTED_QUERY, EXP011).
        return replace(s, cte_count=0, subquery_count=0), True
    if t in FLAT_SQL_TYPES and not nested and s.join_count >= 2:
        tables = min(s.table_count, 2)
        relaxed = replace(
            s, join_count=1, table_count=tables, schema_count=min(s.schema_count, tables)
        )
        return relaxed, True
    if t == "RASTER_VECTOR" and not nested and s.join_count == 0 and s.table_count > 2:
        # three tables by commas and a raster among them: often no way links them all
        return replace(s, table_count=2, schema_count=min(s.schema_count, 2)), False
    return None, False


# the grammar construct (cimgen.grammar.constructs) each subquery form is written with
SUB_CONSTRUCTS = {
    "in": "in_subquery",
    "exists": "exists",
    "not_exists": "exists",
    "scalar_cmp": "scalar_subquery",
    "scalar_count": "scalar_subquery",
    "derived": "derived_table",
}


def choose_forms(
    s: QueryFeatures,
    rng: random.Random,
    windows: bool = True,
    constructs: frozenset[str] | None = None,
) -> tuple[list[str], str | None]:
    """CTE forms and the subquery form; ``windows`` False (a grammar without window calls)
    leaves out the ``cluster`` form, which is a window call; ``constructs`` (what the
    grammar admits; None: everything) leaves out the subquery forms it cannot write."""
    c = max(0, min(s.cte_count, 2))
    ctes: list[str] = []
    clustering = s.sql_type == "SPATIAL_CLUSTERING" and windows
    if c == 1:
        if clustering and rng.random() < 0.7:
            ctes = ["cluster"]
        else:
            weights: dict[str, float] = {"filter": 3, "measure": 2, "group": 3}
            if s.aggregation == "NONE":
                weights["group"] = 2
            names, w = zip(*weights.items(), strict=True)
            ctes = [rng.choices(names, w)[0]]
    elif c == 2:
        chains = [ch for ch in CTE_CHAINS if windows or "cluster" not in ch]
        if clustering:
            chains = [("filter", "cluster")]
        ctes = list(rng.choice(chains))
    sub = None
    if s.subquery_count >= 1:
        sub_weights: dict[str, float] = {
            "in": 2.0,
            "exists": 2.0,
            "not_exists": 1.0,
            "scalar_cmp": 2.5,
            "scalar_count": 1.5,
            "derived": 1.0,
        }
        if constructs is not None:
            sub_weights = {f: w for f, w in sub_weights.items() if SUB_CONSTRUCTS[f] in constructs}
        if clustering and not ctes and (constructs is None or "derived_table" in constructs):
            # Stage 1 clusters in a derived table, grouped by the cluster outside it:
            # that is the subquery a clustering's structure counts (a neighbour count or an
            # EXISTS beside the clustering read as contrived to both blind reviewers)
            return ["cluster"], "cluster_derived"
        if sub_weights:
            forms, w = zip(*sub_weights.items(), strict=True)
            sub = rng.choices(forms, w)[0]
    return ctes, sub


def spread_joins(
    s: QueryFeatures, ctes: list[str], sub: str | None, rng: random.Random
) -> list[int] | None:
    """Joins per CTE body and the main block (None when the forms need more joins than
    the structure has)."""
    required = [0] * (len(ctes) + 1)
    if ctes and ctes[-1] == "group":
        required[-1] += 1  # main joins the table the group key refers to
    if sub == "derived":
        required[-1] += 1
    spare = s.join_count - sum(required)
    if spare < 0:
        return None
    weights = [1.0] * len(ctes) + [2.5]
    joins = list(required)
    for _ in range(spare):
        joins[rng.choices(range(len(joins)), weights)[0]] += 1
    return joins


def aggregation_for(s: QueryFeatures, honour_label: bool) -> str:
    if honour_label and s.sql_type == "AGGREGATION" and s.aggregation == "NONE":
        return "GROUP_BY"
    if honour_label and s.sql_type in ("SPATIAL_MEASUREMENT", "SIMPLE_SELECT") and s.join_count < 2:
        return "NONE"
    return s.aggregation
