"""What a Stage 1 corpus says about the data: the literals it compares each column with
(and how often), the places it names (points and boxes), the distances it uses, the
project/scenario pairs it filters on, the joins it writes and how often it qualifies
spatial calls with ``public.`` -- learnt from PostgreSQL's own parse trees (pglast).

Deployed table names (``cim_wizard_building``, ``censusgeo``) are mapped onto the schema's
names when they differ only by a prefix or underscores.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from cimgen.catalogue import Catalogue, load_catalogue
from cimgen.models import Stage1Record
from cimgen.schema.model import Schema

ColumnKey = tuple[str, str]  # (schema.table, column)
_POINT_CALLS = {"st_makepoint", "st_point", "st_setsrid"}
_FOOTPRINTS = {"st_convexhull", "st_envelope", "st_polygon", "st_minconvexhull"}


@dataclass
class CorpusFacts:
    """Everything learnt from one corpus (see module docstring)."""

    records: int = 0
    joins: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=Counter)
    literals: dict[ColumnKey, Counter[Any]] = field(default_factory=lambda: defaultdict(Counter))
    # literals of columns compared together in one query block (project_id = A AND
    # scenario_id = B): ((table, (col, col)), (value, value)) -> count
    tuples: Counter[tuple[str, tuple[str, ...], tuple[Any, ...]]] = field(default_factory=Counter)
    points: Counter[tuple[float, float]] = field(default_factory=Counter)  # lon/lat literals
    distances: Counter[float] = field(default_factory=Counter)  # ST_DWithin / ST_Buffer, m
    public_calls: int = 0
    spatial_calls: int = 0
    # which tables a query combines: its subject (the first table written), every pair of
    # tables read in one query, and the vector table at whose geometry a raster is read
    subjects: Counter[str] = field(default_factory=Counter)
    pairs: Counter[tuple[str, str]] = field(default_factory=Counter)  # sorted pair
    raster_at: Counter[tuple[str, str]] = field(default_factory=Counter)  # (raster, vector)
    # pairs of vector tables whose geometries one spatial call compares (a sorted pair)
    meets: Counter[tuple[str, str]] = field(default_factory=Counter)
    multi: int = 0  # records reading two tables or more
    # what the queries summarise: the columns they group by, the columns each aggregate
    # reads (with its function, lower case: ``avg``, ``count``), the tables whose
    # geometries they cluster -- and how many records do each at all
    groups: Counter[ColumnKey] = field(default_factory=Counter)
    aggregates: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    clusters: Counter[str] = field(default_factory=Counter)
    grouping: int = 0
    aggregating: int = 0
    clustering: int = 0
    # the records that could show what the user does with a table (see EVIDENCE): per
    # table, those that read it and group or aggregate, and those that read it and have
    # a CTE
    summarising: Counter[str] = field(default_factory=Counter)
    with_cte: Counter[str] = field(default_factory=Counter)
    # what a query asks of a table it reads beside its subject (fourteenth pass (b)): the
    # columns of it a SELECT list reads, those a WHERE reads, and the records that read it
    # so (not as subject)
    joined_outputs: Counter[ColumnKey] = field(default_factory=Counter)
    joined_filters: Counter[ColumnKey] = field(default_factory=Counter)
    joined: Counter[str] = field(default_factory=Counter)
    # what a query asks of its subject (fifteenth pass (a)): the columns of it a SELECT
    # list reads (the records reading it so are ``subjects``)
    subject_outputs: Counter[ColumnKey] = field(default_factory=Counter)
    # ... and the functions it outputs of the subject's columns: (table, column, function
    # in lower case) -- a DSM tile's width and height, never a DTM tile's pixel size
    subject_calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    # records computing a distance to a place (ST_Distance to a point literal), by what
    # else the query does (:func:`_place_kind`): an analyst's query has one purpose
    place_distances: Counter[str] = field(default_factory=Counter)

    @property
    def public_share(self) -> float:
        return self.public_calls / self.spatial_calls if self.spatial_calls else 0.0

    def place(self) -> tuple[float, float] | None:
        """The median lon/lat of the corpus's point literals (None without any)."""
        pts = [p for p, n in self.points.items() for _ in range(n)]
        if not pts:
            return None
        xs, ys = sorted(p[0] for p in pts), sorted(p[1] for p in pts)
        return (xs[len(xs) // 2], ys[len(ys) // 2])

    def combinations(self) -> Combinations:
        """The tables this corpus combines (see :class:`Combinations`)."""
        return Combinations(
            subjects=dict(sorted(self.subjects.items())),
            pairs=dict(sorted(self.pairs.items())),
            raster_at=dict(sorted(self.raster_at.items())),
            meets=dict(sorted(self.meets.items())),
            records=self.records,
            multi=self.multi,
            groups=dict(sorted(self.groups.items())),
            aggregates=dict(sorted(self.aggregates.items())),
            clusters=dict(sorted(self.clusters.items())),
            grouping=self.grouping,
            aggregating=self.aggregating,
            clustering=self.clustering,
            summarising=dict(sorted(self.summarising.items())),
            with_cte=dict(sorted(self.with_cte.items())),
            joined_outputs=dict(sorted(self.joined_outputs.items())),
            joined_filters=dict(sorted(self.joined_filters.items())),
            joined=dict(sorted(self.joined.items())),
            subject_outputs=dict(sorted(self.subject_outputs.items())),
            subject_calls=dict(sorted(self.subject_calls.items())),
            place_distances=dict(sorted(self.place_distances.items())),
        )


# a combination the corpus never makes is still taken with probability
# UNSEEN / (UNSEEN + observations): a corpus of ten thousand queries all but rules it out,
# one of fifty leaves it about one choice in eleven (additive smoothing of the unseen)
UNSEEN = 5.0

# a table leaves a query as a filler (its only contribution an aggregate or a group key
# the corpus never writes, or a pin of its scenario) only when at least EVIDENCE of the
# corpus's records could have shown that contribution (Combinations.evidence): were the
# user to write it in one of ten of them, twenty would show it with chance
# 1 - 0.9 ** 20 = 88 %; in the 79-query foreign corpus no table reaches it (its 13
# summaries of building properties), in the bundled corpus every table does (project
# scenarios: 121 summaries), so a small corpus keeps the tables as without its summaries
EVIDENCE = 20


@dataclass(frozen=True)
class Combinations:
    """Which tables the corpus's queries combine: how often each table is a query's
    subject (its first table), how often each pair is read in one query, and at which
    vector table's geometry each raster table is read. Empty for an empty corpus: then
    the expander keeps its own weights."""

    subjects: dict[str, int] = field(default_factory=dict)
    pairs: dict[tuple[str, str], int] = field(default_factory=dict)
    raster_at: dict[tuple[str, str], int] = field(default_factory=dict)  # (raster, vector)
    meets: dict[tuple[str, str], int] = field(default_factory=dict)  # geometry with geometry
    records: int = 0
    multi: int = 0
    # what the queries summarise (see :class:`CorpusFacts`)
    groups: dict[ColumnKey, int] = field(default_factory=dict)
    aggregates: dict[tuple[str, str, str], int] = field(default_factory=dict)
    clusters: dict[str, int] = field(default_factory=dict)
    grouping: int = 0  # records with a GROUP BY
    aggregating: int = 0  # records aggregating a column
    clustering: int = 0  # records clustering a geometry
    summarising: dict[str, int] = field(default_factory=dict)  # per table read, see EVIDENCE
    with_cte: dict[str, int] = field(default_factory=dict)
    joined_outputs: dict[ColumnKey, int] = field(default_factory=dict)
    joined_filters: dict[ColumnKey, int] = field(default_factory=dict)
    joined: dict[str, int] = field(default_factory=dict)  # records reading it, not subject
    subject_outputs: dict[ColumnKey, int] = field(default_factory=dict)
    subject_calls: dict[tuple[str, str, str], int] = field(default_factory=dict)
    place_distances: dict[str, int] = field(default_factory=dict)  # see CorpusFacts

    def subject(self, table: str) -> int:
        return self.subjects.get(table, 0)

    def pair(self, a: str, b: str) -> int:
        return self.pairs.get((a, b) if a <= b else (b, a), 0)

    def read_at(self, raster: str, vector: str) -> int:
        """How often ``raster`` is read at ``vector``'s geometry; without any raster read
        at a geometry in the corpus, how often the two are read in one query."""
        if not any(r == raster for r, _ in self.raster_at):
            return self.pair(raster, vector)
        return self.raster_at.get((raster, vector), 0)

    def meet(self, a: str, b: str) -> int:
        """How often a spatial call compares ``a``'s and ``b``'s geometries; without any such
        call in the corpus, how often the two are read in one query."""
        if not self.meets:
            return self.pair(a, b)
        return self.meets.get((a, b) if a <= b else (b, a), 0)

    def group(self, table: str, column: str) -> int:
        """How often the corpus groups by ``table.column``."""
        return self.groups.get((table, column), 0)

    def grouped_by(self, table: str) -> int:
        """How often the corpus groups by a column of ``table``."""
        return sum(n for (t, _), n in self.groups.items() if t == table)

    def aggregate(self, table: str, column: str, fn: str | None = None) -> int:
        """How often an aggregate reads ``table.column`` -- with ``fn`` (``AVG``, any case)
        when given, by any aggregate function when not."""
        if fn is not None:
            return self.aggregates.get((table, column, fn.lower()), 0)
        return sum(n for (t, c, _), n in self.aggregates.items() if t == table and c == column)

    def cluster(self, table: str) -> int:
        """How often the corpus clusters ``table``'s geometries."""
        return self.clusters.get(table, 0)

    def joined_output(self, table: str, column: str) -> int:
        """How often a SELECT list reads ``table.column`` where ``table`` is not the
        query's subject (what a query asks of a table it joins)."""
        return self.joined_outputs.get((table, column), 0)

    def joined_filter(self, table: str, column: str) -> int:
        """How often a WHERE reads ``table.column`` where ``table`` is not the query's
        subject (what a query asks of the rows of a table it joins)."""
        return self.joined_filters.get((table, column), 0)

    def subject_output(self, table: str, column: str) -> int:
        """How often a SELECT list reads ``table.column`` where ``table`` is the query's
        subject (what a query asks of the table it is about)."""
        return self.subject_outputs.get((table, column), 0)

    def subject_call(self, table: str, column: str, fn: str) -> int:
        """How often a SELECT list applies ``fn`` (any case) to ``table.column`` where
        ``table`` is the query's subject."""
        return self.subject_calls.get((table, column, fn.lower()), 0)

    def place_distance(self, kind: str) -> int:
        """How often a distance to a place is computed in a query that also does ``kind``
        (``plain``, ``subquery``, ``spatial_join``, ``clustered``)."""
        return self.place_distances.get(kind, 0)

    def evidence(self, table: str, kind: str) -> bool:
        """Has the corpus shown often enough what it does with ``table`` for an absence to
        count (:data:`EVIDENCE`)? ``kind`` ``summary``: its records that read the table and
        group or aggregate (an aggregate or key of the table never written is then a
        filler); ``cte``: its records that read the table and have a CTE (a join of it
        there for a scenario pin alone); ``joined``: its records that read the table
        beside another subject (a column of it never output so is then not asked);
        ``subject``: its records whose subject the table is (the same, as the subject)."""
        seen = {
            "summary": self.summarising,
            "cte": self.with_cte,
            "joined": self.joined,
            "subject": self.subjects,
        }[kind]
        return seen.get(table, 0) >= EVIDENCE

    def unseen(self, observations: int) -> float:
        """The chance left to a combination never seen in ``observations``."""
        return UNSEEN / (UNSEEN + observations)


def learn_corpus(
    schema: Schema, records: Iterable[Stage1Record], cat: Catalogue | None = None
) -> CorpusFacts:
    out = CorpusFacts()
    cat = cat or load_catalogue()
    res = _resolver(schema)
    for rec in records:
        try:
            tree = json.loads(parse_sql_json(rec.sql))
        except ParseError:
            continue
        out.records += 1
        aliases: dict[str, str] = {}
        nodes: list[tuple[str, dict[str, Any]]] = []
        _collect(tree, nodes)
        for kind, body in nodes:
            if kind == "RangeVar":
                q = _resolve(res, body.get("schemaname"), body.get("relname", ""))
                if q:
                    alias = (body.get("alias") or {}).get("aliasname") or body.get("relname")
                    aliases[str(alias)] = q
            elif kind == "FuncCall":
                names = [p["String"]["sval"] for p in body.get("funcname", []) if "String" in p]
                if names and cat.is_spatial(names[-1]):
                    out.spatial_calls += 1
                    out.public_calls += len(names) > 1 and names[0] == "public"
                    _learn_call(names[-1].lower(), body.get("args") or [], out)
        _learn_tables(nodes, aliases, res, schema, out)
        _learn_summaries(nodes, aliases, schema, out)
        for kind, body in nodes:
            if kind == "JoinExpr" and body.get("quals"):
                _learn_join(body["quals"], aliases, schema, out)
            elif kind == "SelectStmt" and body.get("whereClause"):
                _learn_where(body["whereClause"], aliases, schema, out)
    return out


def _learn_tables(
    nodes: list[tuple[str, dict[str, Any]]],
    aliases: dict[str, str],
    res: dict[tuple[str | None, str], str],
    schema: Schema,
    out: CorpusFacts,
) -> None:
    """The query's subject, its pairs of tables and where it reads each raster."""
    read: dict[str, int] = {}  # table -> first location written
    for kind, body in nodes:
        if kind == "RangeVar":
            q = _resolve(res, body.get("schemaname"), body.get("relname", ""))
            if q:
                read[q] = min(read.get(q, 1 << 30), int(body.get("location", 0)))
    if not read:
        return
    subject = min(read, key=lambda q: (read[q], q))
    out.subjects[subject] += 1
    tables = sorted(read)
    out.multi += len(tables) > 1
    out.joined.update(t for t in tables if t != subject)
    outputs = _clause_columns(nodes, aliases, schema, "targetList")
    out.joined_outputs.update(k for k in outputs if k[0] != subject)
    out.subject_outputs.update(k for k in outputs if k[0] == subject)
    out.subject_calls.update(
        c for c in _clause_calls(nodes, aliases, schema, "targetList") if c[0] == subject
    )
    filters = _clause_columns(nodes, aliases, schema, "whereClause")
    out.joined_filters.update(k for k in filters if k[0] != subject)
    for i, a in enumerate(tables):
        for b in tables[i + 1 :]:
            out.pairs[(a, b)] += 1
    seen: set[tuple[str, str]] = set()
    met: set[tuple[str, str]] = set()
    passed = _cte_columns(nodes, aliases, schema)
    # a tile's footprint (ST_ConvexHull(rast)) meeting a geometry reads no value there:
    # the tiles covering census zones are not the surface elevation of a zone (fifteenth
    # pass (b): a DSM value beside a zone's census count)
    footprint: set[int] = set()
    for kind, body in nodes:
        if kind == "FuncCall" and _call_name(body) in _FOOTPRINTS:
            inner: list[tuple[str, dict[str, Any]]] = []
            _collect(body.get("args") or [], inner)
            footprint.update(id(b) for k, b in inner if k == "ColumnRef")
    for kind, body in nodes:
        if kind != "FuncCall":
            continue
        refs: list[tuple[str, dict[str, Any]]] = []
        _collect(body.get("args") or [], refs)
        cols = [
            _colref({"ColumnRef": b}, aliases, schema) or _passed(b, passed)
            for k, b in refs
            if k == "ColumnRef" and id(b) not in footprint
        ]
        kinds = {
            (c[0], schema.table(c[0]).column(c[1]).kind)  # type: ignore[union-attr]
            for c in cols
            if c is not None
        }
        for r, rk in kinds:
            for v, vk in kinds:
                if rk == "raster" and vk == "geometry" and r != v:
                    seen.add((r, v))
                elif rk == vk == "geometry" and r < v:
                    met.add((r, v))
    for pair in sorted(seen):
        out.raster_at[pair] += 1
    for pair in sorted(met):
        out.meets[pair] += 1
    if _place_distance(nodes):
        out.place_distances[_place_kind(nodes, bool(met))] += 1


def _call_name(call: dict[str, Any]) -> str:
    names = [p["String"]["sval"] for p in call.get("funcname", []) if "String" in p]
    return names[-1].lower() if names else ""


def _place_distance(nodes: list[tuple[str, dict[str, Any]]]) -> bool:
    """Does the query compute a distance to a place (``ST_Distance`` of a point literal)?"""
    for kind, body in nodes:
        if kind == "FuncCall" and _call_name(body) == "st_distance":
            inner: list[tuple[str, dict[str, Any]]] = []
            _collect(body.get("args") or [], inner)
            if any(k == "FuncCall" and _call_name(b) in _POINT_CALLS for k, b in inner):
                return True
    return False


def place_kind(*, clustered: bool, spatial_join: bool, nested: bool) -> str:
    """What else a query computing a distance to a place does, in one reading for the
    corpus's queries (:func:`_place_kind`, on pglast's tree) and the expander's blocks
    (``Builder._place_kind``): ``clustered`` (it clusters), ``spatial_join`` (it compares
    two tables' geometries), ``subquery`` (it has a subquery or CTE), else ``plain`` (a
    listing, its table's own rows joined).

    >>> place_kind(clustered=False, spatial_join=True, nested=True)
    'spatial_join'
    """
    if clustered:
        return "clustered"
    if spatial_join:
        return "spatial_join"
    if nested:
        return "subquery"
    return "plain"


def _place_kind(nodes: list[tuple[str, dict[str, Any]]], met: bool) -> str:
    """:func:`place_kind` of a corpus query's pglast nodes (``met``: two tables'
    geometries compared)."""
    return place_kind(
        clustered=any(k == "FuncCall" and _call_name(b) in _CLUSTERS for k, b in nodes),
        spatial_join=met,
        nested=any(k in ("SubLink", "CommonTableExpr") for k, _ in nodes),
    )


def _clause_columns(
    nodes: list[tuple[str, dict[str, Any]]],
    aliases: dict[str, str],
    schema: Schema,
    clause: str,
) -> set[ColumnKey]:
    """The columns that a ``clause`` (``targetList``, ``whereClause``) of the query reads
    (a CTE's column counted as the base column it passes on)."""
    passed = _cte_columns(nodes, aliases, schema)
    found: set[ColumnKey] = set()
    for kind, body in nodes:
        if kind != "SelectStmt":
            continue
        refs: list[tuple[str, dict[str, Any]]] = []
        _collect(body.get(clause) or [], refs)
        for k, b in refs:
            if k == "ColumnRef":
                key = _colref({"ColumnRef": b}, aliases, schema) or _passed(b, passed)
                if key is not None:
                    found.add(key)
    return found


def _clause_calls(
    nodes: list[tuple[str, dict[str, Any]]],
    aliases: dict[str, str],
    schema: Schema,
    clause: str,
) -> set[tuple[str, str, str]]:
    """(table, column, function) for every function call in a ``clause`` of the query and
    every column its arguments read (``ST_Area(ST_Envelope(d.rast))``: both calls)."""
    passed = _cte_columns(nodes, aliases, schema)
    found: set[tuple[str, str, str]] = set()
    for kind, body in nodes:
        if kind != "SelectStmt":
            continue
        calls: list[tuple[str, dict[str, Any]]] = []
        _collect(body.get(clause) or [], calls)
        for k, call in calls:
            if k != "FuncCall":
                continue
            refs: list[tuple[str, dict[str, Any]]] = []
            _collect(call.get("args") or [], refs)
            for kk, b in refs:
                if kk == "ColumnRef":
                    key = _colref({"ColumnRef": b}, aliases, schema) or _passed(b, passed)
                    if key is not None:
                        found.add((key[0], key[1], _call_name(call)))
    return found


_AGGREGATES = {"avg", "sum", "min", "max", "count", "stddev", "variance", "median"}
_CLUSTERS = {"st_clusterdbscan", "st_clusterkmeans", "st_clusterwithin", "st_clusterintersecting"}


def _learn_summaries(
    nodes: list[tuple[str, dict[str, Any]]],
    aliases: dict[str, str],
    schema: Schema,
    out: CorpusFacts,
) -> None:
    """The columns the query groups by (a key written as an output's name or position
    is that output's column), the columns its aggregates read and the tables it
    clusters -- a CTE's column counted as the base column it passes on."""
    passed = _cte_columns(nodes, aliases, schema)

    def cols(value: Any) -> list[ColumnKey]:
        refs: list[tuple[str, dict[str, Any]]] = []
        _collect(value, refs)
        found = (
            _colref({"ColumnRef": b}, aliases, schema) or _passed(b, passed)
            for k, b in refs
            if k == "ColumnRef"
        )
        return sorted({c for c in found if c is not None})

    groups: set[ColumnKey] = set()
    aggs: set[tuple[str, str, str]] = set()
    clusters: set[str] = set()
    for kind, body in nodes:
        if kind == "SelectStmt" and body.get("groupClause"):
            targets = [t.get("ResTarget") or {} for t in body.get("targetList") or []]
            for key in body["groupClause"]:
                groups.update(cols(_group_target(key, targets)))
        elif kind == "FuncCall" and not body.get("over"):
            names = [p["String"]["sval"] for p in body.get("funcname", []) if "String" in p]
            name = names[-1].lower() if names else ""
            if name in _AGGREGATES:
                aggs.update((t, c, name) for t, c in cols(body.get("args") or []))
        if kind == "FuncCall":
            names = [p["String"]["sval"] for p in body.get("funcname", []) if "String" in p]
            if names and names[-1].lower() in _CLUSTERS:
                clusters.update(t for t, _ in cols(body.get("args") or []))
    out.groups.update(groups)
    out.aggregates.update(aggs)
    out.clusters.update(clusters)
    out.grouping += bool(groups)
    out.aggregating += bool(aggs)
    out.clustering += bool(clusters)
    tables = set(aliases.values())
    if groups or aggs:
        out.summarising.update(tables)
    if any(kind == "CommonTableExpr" for kind, _ in nodes):
        out.with_cte.update(tables)


def _group_target(key: dict[str, Any], targets: list[dict[str, Any]]) -> Any:
    """A GROUP BY item, or the output it names (``GROUP BY 1``, ``GROUP BY zone``)."""
    const = (key.get("A_Const") or {}).get("ival")
    if const is not None:
        n = int(const.get("ival", 0))
        return targets[n - 1].get("val") if 0 < n <= len(targets) else None
    fields = (key.get("ColumnRef") or {}).get("fields") or []
    if len(fields) == 1 and "String" in fields[0]:
        name = fields[0]["String"]["sval"]
        for t in targets:
            if t.get("name") == name:
                return t.get("val")
    return key


def _cte_columns(
    nodes: list[tuple[str, dict[str, Any]]], aliases: dict[str, str], schema: Schema
) -> dict[tuple[str, str], ColumnKey]:
    """(alias of a CTE, output name) -> the base table's column the CTE passes on
    unchanged (``WITH s AS (SELECT c.geometry AS g ...) ... ST_Value(d.rast, s.g)`` reads
    the DTM at ``census_geo.geometry``), CTEs over CTEs followed; read under every alias
    the query gives the CTE (a RangeVar without a schema named after it)."""
    by_cte: dict[str, dict[str, ColumnKey]] = {}
    for kind, body in nodes:
        if kind != "CommonTableExpr":
            continue
        stmt = (body.get("ctequery") or {}).get("SelectStmt") or {}
        cols: dict[str, ColumnKey] = {}
        for target in stmt.get("targetList") or []:
            res = target.get("ResTarget") or {}
            val = res.get("val") or {}
            ref = val.get("ColumnRef")
            if not ref:
                continue
            parts = [f["String"]["sval"] for f in ref.get("fields", []) if "String" in f]
            name = res.get("name") or (parts[-1] if parts else None)
            key = _colref(val, aliases, schema) or _passed(ref, _alias_cols(by_cte, nodes))
            if name and key is not None:
                cols[str(name)] = key
        by_cte[str(body.get("ctename"))] = cols
    return _alias_cols(by_cte, nodes)


def _alias_cols(
    by_cte: dict[str, dict[str, ColumnKey]], nodes: list[tuple[str, dict[str, Any]]]
) -> dict[tuple[str, str], ColumnKey]:
    out: dict[tuple[str, str], ColumnKey] = {}
    for kind, body in nodes:
        if kind != "RangeVar" or body.get("schemaname") or body.get("relname") not in by_cte:
            continue
        name = str(body["relname"])
        alias = str((body.get("alias") or {}).get("aliasname") or name)
        for col, key in by_cte[name].items():
            out[(alias, col)] = key
    return out


def _passed(ref: dict[str, Any], passed: dict[tuple[str, str], ColumnKey]) -> ColumnKey | None:
    parts = [f["String"]["sval"] for f in ref.get("fields", []) if "String" in f]
    return passed.get((parts[0], parts[1])) if len(parts) == 2 else None


def _collect(value: Any, nodes: list[tuple[str, dict[str, Any]]]) -> None:
    if isinstance(value, list):
        for v in value:
            _collect(v, nodes)
    elif isinstance(value, dict):
        if len(value) == 1:
            ((k, v),) = value.items()
            if k[:1].isupper() and isinstance(v, dict):
                nodes.append((k, v))
        for v in value.values():
            _collect(v, nodes)


# --------------------------------------------------------------------------- names


def _norm(name: str) -> str:
    return name.lower().replace("cim_wizard_", "").replace("_", "")


def _resolver(schema: Schema) -> dict[tuple[str | None, str], str]:
    out: dict[tuple[str | None, str], str] = {}
    for t in schema.tables:
        out[(t.schema, t.name)] = t.qualified
        out[(t.schema, _norm(t.name))] = t.qualified
    return out


def _resolve(
    res: dict[tuple[str | None, str], str], schema_name: str | None, name: str
) -> str | None:
    if schema_name is None:
        return None
    hit = res.get((schema_name, name)) or res.get((schema_name, _norm(name)))
    if hit:
        return hit
    starts = sorted(
        q
        for (s, n), q in res.items()
        if s == schema_name and n.startswith(_norm(name)) and len(_norm(name)) >= 3
    )
    return starts[0] if len(set(starts)) == 1 else None


def _colref(node: Any, aliases: dict[str, str], schema: Schema) -> ColumnKey | None:
    ref = (node or {}).get("ColumnRef")
    if not ref:
        return None
    parts = [f["String"]["sval"] for f in ref.get("fields", []) if "String" in f]
    if len(parts) != 2 or parts[0] not in aliases:
        return None
    table = schema.table(aliases[parts[0]])
    if table is None or table.column(parts[1]) is None:
        return None
    return aliases[parts[0]], parts[1]


# --------------------------------------------------------------------------- literals


def _literal(node: Any) -> Any:
    node = node or {}
    if "TypeCast" in node:  # '...'::uuid, 15::numeric
        return _literal(node["TypeCast"].get("arg"))
    if "A_Expr" in node and node["A_Expr"].get("kind") == "AEXPR_OP":  # -9.5
        e = node["A_Expr"]
        op = [n["String"]["sval"] for n in e.get("name", []) if "String" in n]
        v = _literal(e.get("rexpr"))
        if op == ["-"] and e.get("lexpr") is None and isinstance(v, (int, float)):
            return -v
        return None
    const = node.get("A_Const")
    if not const:
        return None
    if "sval" in const:
        return const["sval"].get("sval")
    if "ival" in const:
        return const["ival"].get("ival", 0)
    if "fval" in const:
        return float(const["fval"]["fval"])
    if "boolval" in const:
        return bool(const["boolval"].get("boolval", False))
    return None


def _number(node: Any) -> float | None:
    v = _literal(node)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _learn_call(name: str, args: list[Any], out: CorpusFacts) -> None:
    """Points, boxes and distances written as literals."""
    nums = [_number(a) for a in args]
    if name in ("st_makepoint", "st_point") and len(nums) >= 2:
        x, y = nums[0], nums[1]
        if x is not None and y is not None and -180 <= x <= 180 and -90 <= y <= 90:
            out.points[(round(x, 6), round(y, 6))] += 1
    elif name == "st_makeenvelope" and len(nums) >= 4 and None not in nums[:4]:
        x0, y0, x1, y1 = (float(v) for v in nums[:4])  # type: ignore[arg-type]
        if -180 <= x0 <= 180 and -90 <= y0 <= 90:
            out.points[(round((x0 + x1) / 2, 6), round((y0 + y1) / 2, 6))] += 1
    elif name == "st_dwithin" and len(nums) >= 3 and nums[2] is not None and nums[2] > 1:
        out.distances[nums[2]] += 1
    elif name == "st_buffer" and len(nums) >= 2 and nums[1] is not None and nums[1] > 1:
        out.distances[nums[1]] += 1


def _learn_join(quals: Any, aliases: dict[str, str], schema: Schema, out: CorpusFacts) -> None:
    eqs: list[tuple[ColumnKey, ColumnKey]] = []
    for node in _conjuncts(quals):
        if "A_Expr" in node and node["A_Expr"].get("kind") == "AEXPR_OP":
            e = node["A_Expr"]
            op = [n["String"]["sval"] for n in e.get("name", []) if "String" in n]
            a = _colref(e.get("lexpr"), aliases, schema)
            b = _colref(e.get("rexpr"), aliases, schema)
            if op == ["="] and a and b and a[0] != b[0]:
                eqs.append((a, b))
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for a, b in eqs:
        if a[0] > b[0]:
            a, b = b, a
        by_pair[(a[0], b[0])].append((a[1], b[1]))
    for (left, right), pairs in by_pair.items():
        out.joins[(left, right, tuple(pairs))] += 1


def _conjuncts(node: Any) -> list[dict[str, Any]]:
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if "BoolExpr" in n and n["BoolExpr"].get("boolop") == "AND_EXPR":
            stack.extend(n["BoolExpr"].get("args", []))
        else:
            out.append(n)
    return out


def _learn_where(where: Any, aliases: dict[str, str], schema: Schema, out: CorpusFacts) -> None:
    equal: dict[str, dict[str, Any]] = defaultdict(dict)  # table -> column -> literal
    for node in _conjuncts(where):
        e = node.get("A_Expr")
        if not e:
            continue
        col = _colref(e.get("lexpr"), aliases, schema)
        if col is None:
            continue
        right = e.get("rexpr")
        if isinstance(right, dict) and "List" in right:
            values = [_literal(v) for v in right["List"].get("items", [])]
        elif isinstance(right, list):  # BETWEEN bounds
            values = [_literal(v) for v in right]
        else:
            values = [_literal(right)]
        kind = schema.table(col[0]).column(col[1]).kind  # type: ignore[union-attr]
        for v in values:
            v = _typed(v, kind)
            if v is not None:
                out.literals[col][v] += 1
        op = [n["String"]["sval"] for n in e.get("name", []) if "String" in n]
        if e.get("kind") == "AEXPR_OP" and op == ["="] and len(values) == 1:
            v = _typed(values[0], kind)
            if v is not None:
                equal[col[0]][col[1]] = v
    for table, cols in equal.items():
        if len(cols) >= 2:
            names = tuple(sorted(cols))
            out.tuples[(table, names, tuple(cols[c] for c in names))] += 1


def _typed(v: Any, kind: str) -> Any:
    if v is None:
        return None
    if kind == "text":
        return v if isinstance(v, str) else None
    if kind == "boolean":
        return v if isinstance(v, bool) else None
    if kind in ("integer", "float") and isinstance(v, (int, float)) and not isinstance(v, bool):
        return int(v) if kind == "integer" and float(v).is_integer() else float(v)
    if kind in ("integer", "float") and isinstance(v, str):
        try:
            f = float(v)
        except ValueError:
            return None
        return int(f) if kind == "integer" and f.is_integer() else f
    return None
