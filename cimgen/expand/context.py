"""Everything the expander needs to know about one schema, computed once.

Per query, the expander only picks from sorted tuples prepared here: tables with their
columns grouped by kind, the join graph (declared relations, joins observed in the Stage 1
corpus, spatial and raster-vector relations between geometry columns), literal pools per
column and the share of ``public.``-qualified function calls seen in the corpus.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pglast.parser import ParseError, parse_sql_json

from cimgen.catalogue import Catalogue, load_catalogue
from cimgen.models import Stage1Record
from cimgen.schema.model import Schema, Table

# Where no fixture says where the data lies: the Milan box of the bundled fixture
# (lon_min, lat_min, lon_max, lat_max, EPSG:4326).
DEFAULT_EXTENT = (9.15, 45.46, 9.23, 45.50)
AREAL = frozenset({"POLYGON", "MULTIPOLYGON", "GEOMETRY"})
LINEAR = frozenset({"LINESTRING", "MULTILINESTRING"})
_ID_RE = re.compile(r"(^id$|_id$|^id_|_fk$|^sez|code|^cod|path$|^crs$|filename)")


@dataclass(frozen=True)
class GeomCol:
    """A geometry or raster column; ``gtype`` is None for rasters."""

    name: str
    gtype: str | None
    srid: int | None

    @property
    def areal(self) -> bool:
        return self.gtype in AREAL

    @property
    def linear(self) -> bool:
        return self.gtype in LINEAR

    @property
    def point(self) -> bool:
        return self.gtype in ("POINT", "MULTIPOINT")


@dataclass(frozen=True)
class TableInfo:
    """A table with its columns grouped the way the expander picks them."""

    qualified: str
    schema: str
    name: str
    aliases: tuple[str, ...]  # one per alias style, see _aliases
    geoms: tuple[GeomCol, ...]
    rasters: tuple[GeomCol, ...]
    numeric: tuple[str, ...]  # measures: filters, aggregates, ORDER BY
    integer: frozenset[str]
    text: tuple[str, ...]  # descriptive text columns (names, types)
    ids: tuple[str, ...]  # identifier / key columns: literals only from pools
    categories: tuple[str, ...]  # group-by candidates (few distinct values)
    booleans: tuple[str, ...]
    plain: tuple[str, ...]  # every selectable scalar column (not json/geometry/raster)


@dataclass(frozen=True)
class JoinPath:
    """How ``left`` joins ``right``: equal keys, a spatial predicate or raster-vector."""

    left: str
    right: str
    kind: str  # key | spatial | raster
    pairs: tuple[tuple[str, str], ...] = ()
    left_column: str | None = None
    right_column: str | None = None
    source: str = "schema"  # schema | corpus | spatial | identity

    def reversed(self) -> JoinPath:
        return JoinPath(
            self.right,
            self.left,
            self.kind,
            tuple((b, a) for a, b in self.pairs),
            self.right_column,
            self.left_column,
            self.source,
        )


@dataclass(frozen=True)
class ExpansionContext:
    schema: Schema
    catalogue: Catalogue
    tables: tuple[TableInfo, ...]
    paths: dict[str, tuple[JoinPath, ...]]  # qualified -> paths with left == qualified
    literals: dict[tuple[str, str], tuple[Any, ...]]
    public_share: float
    extent: tuple[float, float, float, float]
    corpus_size: int = 0
    by_name: dict[str, TableInfo] = field(default_factory=dict, compare=False, repr=False)

    # (left, right) -> paths, and table -> tables reachable by a non-identity path: the
    # layout search asks these hundreds of times per query
    between: dict[tuple[str, str], tuple[JoinPath, ...]] = field(
        default_factory=dict, compare=False, repr=False
    )
    neighbours: dict[str, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)
    # Row counts of the fixture per table and, per key path, how many right rows one left
    # row meets (measured on the fixture; estimated from keys without one). The layout
    # search keeps a block's row estimate small: a many-to-many key link between big tables
    # (grid_bus x building_properties on project/scenario) makes ~900k rows from 8k.
    rows: dict[str, int] = field(default_factory=dict, compare=False, repr=False)
    fanouts: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = field(
        default_factory=dict, compare=False, repr=False
    )

    def __post_init__(self) -> None:
        self.by_name.update({t.qualified: t for t in self.tables})
        pairs: dict[tuple[str, str], list[JoinPath]] = defaultdict(list)
        for left, ps in self.paths.items():
            for p in ps:
                pairs[(left, p.right)].append(p)
        self.between.update({k: tuple(v) for k, v in pairs.items()})
        for t in self.tables:
            self.neighbours[t.qualified] = frozenset(
                p.right for p in self.paths.get(t.qualified, ()) if p.source != "identity"
            )

    @classmethod
    def build(
        cls, schema: Schema, records: Iterable[Stage1Record] | None = None, fixture: Any = None
    ) -> ExpansionContext:
        """Precompute the join graph, column groups and literal pools of ``schema``.

        ``records`` (a Stage 1 corpus) adds observed join conditions, literals and the
        ``public.`` share; ``fixture`` (cimgen.fixtures data with ``values(table, column)``)
        adds literals that exist in the test data and the data's extent.
        """
        cat = load_catalogue()
        pools: dict[tuple[str, str], set[Any]] = defaultdict(set)
        for t in schema.tables:
            for c in t.columns:
                pools[(t.qualified, c.name)].update(v for v in c.examples if v is not None)
                values = _fixture_values(fixture, t.qualified, c.name)
                if values and c.kind in ("integer", "float", "text", "boolean"):
                    pools[(t.qualified, c.name)].update(values)
        corpus = _learn_corpus(schema, records or (), cat)
        for key, seen in corpus.literals.items():
            pools[key].update(seen)
        literals = {k: tuple(sorted(v, key=_sort_key)) for k, v in pools.items() if v}
        tables = tuple(
            _table_info(t, literals) for t in sorted(schema.tables, key=lambda t: t.qualified)
        )
        paths = _join_graph(schema, tables, corpus.joins)
        extent = getattr(fixture, "extent", None)
        rows, fanouts = _cardinalities(schema, paths, fixture)
        return cls(
            schema=schema,
            catalogue=cat,
            tables=tables,
            paths=paths,
            literals=literals,
            public_share=corpus.public_share,
            corpus_size=corpus.records,
            extent=tuple(extent) if extent and len(extent) == 4 else DEFAULT_EXTENT,
            rows=rows,
            fanouts=fanouts,
        )

    def table(self, qualified: str) -> TableInfo:
        return self.by_name[qualified]

    def paths_between(self, left: str, right: str) -> tuple[JoinPath, ...]:
        return self.between.get((left, right), ())

    def row_count(self, qualified: str) -> int:
        return self.rows.get(qualified, UNKNOWN_ROWS)

    def fanout(self, p: JoinPath) -> float:
        """Rows of ``p.right`` one row of ``p.left`` meets through ``p``: the key fan-out
        (fixture-measured when known), or a few rows for a spatial / raster link."""
        if p.kind != "key":
            # both tables cover about the same area: a row of a small table of big shapes
            # (project boundaries, census sections) meets its share of the other's rows
            ratio = self.row_count(p.right) / max(1, self.row_count(p.left))
            return SPATIAL_FANOUT * max(1.0, ratio)
        return self.fanouts.get((p.left, p.right, p.pairs), 1.0)


UNKNOWN_ROWS = 1000  # a table the fixture does not have
SPATIAL_FANOUT = 2.0  # rows an intersects-like link meets per row, between like-sized tables


def _cardinalities(
    schema: Schema, paths: dict[str, tuple[JoinPath, ...]], fixture: Any
) -> tuple[dict[str, int], dict[tuple[str, str, tuple[tuple[str, str], ...]], float]]:
    """Fixture row counts and the fan-out of every key path (see ``ExpansionContext``)."""
    tables = getattr(fixture, "tables", None) or {}
    rows = {q: len(t.rows) for q, t in tables.items()}
    fanouts: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = {}
    for ps in paths.values():
        for p in ps:
            if p.kind != "key":
                continue
            key = (p.left, p.right, p.pairs)
            lt, rt = tables.get(p.left), tables.get(p.right)
            try:
                if lt is not None and rt is not None and lt.rows and rt.rows:
                    lcols = [lt.column(a) for a, _ in p.pairs]
                    rcols = [rt.column(b) for _, b in p.pairs]
                    counts = Counter(zip(*rcols, strict=True))
                    met = sum(counts.get(k, 0) for k in zip(*lcols, strict=True))
                    fanouts[key] = met / len(lt.rows)
                    continue
            except (KeyError, ValueError):
                pass
            fanouts[key] = _key_fanout(schema, p)
    return rows, fanouts


def _key_fanout(schema: Schema, p: JoinPath) -> float:
    """Without data: 1 when the right columns hold the right table's primary key, 10 for
    one-to-many (the left's key), 100 for a many-to-many link."""
    lt, rt = schema.table(p.left), schema.table(p.right)
    lcols, rcols = {a for a, _ in p.pairs}, {b for _, b in p.pairs}
    if rt is not None and rt.primary_key and set(rt.primary_key) <= rcols:
        return 1.0
    if lt is not None and lt.primary_key and set(lt.primary_key) <= lcols:
        return 10.0
    return 100.0


def _sort_key(v: Any) -> tuple[str, str]:
    return (type(v).__name__, str(v))


def _fixture_values(fixture: Any, table: str, column: str) -> tuple[Any, ...]:
    if fixture is None or not hasattr(fixture, "values"):
        return ()
    try:
        values = fixture.values(table, column)
    except (KeyError, ValueError):
        return ()
    out = sorted({v for v in values if isinstance(v, (str, int, float, bool))}, key=_sort_key)
    return tuple(out[:200])


# --------------------------------------------------------------------------- tables


def _aliases(t: Table) -> tuple[str, ...]:
    """Alias styles: initials (bp), first word (building), first letters (bpr)."""
    words = [w for w in t.name.split("_") if w] or [t.name]
    initials = "".join(w[0] for w in words)
    first = words[0] if len(words[0]) <= 8 else words[0][:4]
    letters = (words[0][:2] + "".join(w[0] for w in words[1:]))[:4]
    return tuple(a if a.isidentifier() else f"t_{a}" for a in (initials, first, letters))


def _table_info(t: Table, literals: dict[tuple[str, str], tuple[Any, ...]]) -> TableInfo:
    geoms = tuple(
        GeomCol(c.name, c.geometry_type or "GEOMETRY", c.srid)
        for c in t.columns
        if c.kind == "geometry"
    )
    rasters = tuple(GeomCol(c.name, None, c.srid) for c in t.columns if c.kind == "raster")
    numeric, text, ids, cats, bools, plain = [], [], [], [], [], []
    integer = set()
    for c in t.columns:
        is_id = bool(_ID_RE.search(c.name)) or c.name in t.primary_key
        pool = literals.get((t.qualified, c.name), ())
        if c.kind in ("integer", "float", "text", "boolean", "timestamp"):
            plain.append(c.name)
        if c.kind == "integer":
            integer.add(c.name)
        if c.kind in ("integer", "float"):
            if is_id:
                ids.append(c.name)
            else:
                numeric.append(c.name)
            if c.kind == "integer" and not is_id and 1 < len(pool) <= 4:
                cats.append(c.name)
        elif c.kind == "text":
            if is_id:
                ids.append(c.name)
            else:
                text.append(c.name)
                if pool and not c.name.endswith("name"):
                    cats.append(c.name)
        elif c.kind == "boolean":
            bools.append(c.name)
    return TableInfo(
        t.qualified,
        t.schema,
        t.name,
        _aliases(t),
        geoms,
        rasters,
        tuple(numeric),
        frozenset(integer),
        tuple(text),
        tuple(ids),
        tuple(cats),
        tuple(bools),
        tuple(plain),
    )


# --------------------------------------------------------------------------- join graph


def _join_graph(
    schema: Schema,
    tables: tuple[TableInfo, ...],
    observed: Counter[tuple[str, str, tuple[tuple[str, str], ...]]],
) -> dict[str, tuple[JoinPath, ...]]:
    found: dict[tuple[str, str, tuple[tuple[str, str], ...]], JoinPath] = {}

    def add(p: JoinPath) -> None:
        for q in (p, p.reversed()):
            key = (q.left, q.right, q.pairs or ((q.left_column or "", q.right_column or ""),))
            found.setdefault(key, q)

    for r in schema.relations:
        add(
            JoinPath(
                r.left,
                r.right,
                "key",
                tuple(zip(r.left_columns, r.right_columns, strict=True)),
                source="schema",
            )
        )
    # A table joins a CTE / derived table over itself on its primary key (``JOIN (SELECT
    # id, … FROM t WHERE …) d ON d.id = t.id``); the plan never uses this between base tables.
    for t in schema.tables:
        if len(t.primary_key) == 1:
            pk = t.primary_key[0]
            add(JoinPath(t.qualified, t.qualified, "key", ((pk, pk),), source="identity"))
    declared = {(p.left, p.right, tuple(sorted(p.pairs))) for p in found.values()}
    for (left, right, pairs), _n in sorted(observed.items()):
        if (left, right, tuple(sorted(pairs))) not in declared:
            add(JoinPath(left, right, "key", pairs, source="corpus"))
    for a in tables:
        for b in tables:
            if a.qualified > b.qualified:
                continue
            for ga in a.geoms:
                for gb in b.geoms:
                    if a.qualified == b.qualified and ga.name != gb.name:
                        continue
                    add(
                        JoinPath(
                            a.qualified, b.qualified, "spatial", (), ga.name, gb.name, "spatial"
                        )
                    )
            for ra in a.rasters:
                for gb in b.geoms:
                    add(
                        JoinPath(
                            a.qualified, b.qualified, "raster", (), ra.name, gb.name, "spatial"
                        )
                    )
            for rb in b.rasters:
                for ga in a.geoms:
                    add(
                        JoinPath(
                            a.qualified, b.qualified, "raster", (), ga.name, rb.name, "spatial"
                        )
                    )
    out: dict[str, list[JoinPath]] = defaultdict(list)
    for key in sorted(found):
        out[key[0]].append(found[key])
    return {k: tuple(v) for k, v in sorted(out.items())}


# --------------------------------------------------------------------------- corpus


@dataclass
class _Corpus:
    joins: Counter[tuple[str, str, tuple[tuple[str, str], ...]]] = field(default_factory=Counter)
    literals: dict[tuple[str, str], set[Any]] = field(default_factory=lambda: defaultdict(set))
    public_calls: int = 0
    spatial_calls: int = 0
    records: int = 0

    @property
    def public_share(self) -> float:
        return self.public_calls / self.spatial_calls if self.spatial_calls else 0.0


def _norm(name: str) -> str:
    return name.lower().replace("cim_wizard_", "").replace("_", "")


def _resolver(schema: Schema) -> dict[tuple[str | None, str], str]:
    """Map corpus table names to schema tables (deployed names differ: censusgeo)."""
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


def _learn_corpus(schema: Schema, records: Iterable[Stage1Record], cat: Catalogue) -> _Corpus:
    out = _Corpus()
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
        for kind, body in nodes:
            if kind == "JoinExpr" and body.get("quals"):
                _learn_join(body["quals"], aliases, schema, out)
            elif kind == "A_Expr":
                _learn_literal(body, aliases, schema, out)
    return out


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


def _colref(node: Any, aliases: dict[str, str], schema: Schema) -> tuple[str, str] | None:
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


def _learn_join(quals: Any, aliases: dict[str, str], schema: Schema, out: _Corpus) -> None:
    eqs: list[tuple[tuple[str, str], tuple[str, str]]] = []
    stack = [quals]
    while stack:
        node = stack.pop()
        if "BoolExpr" in node and node["BoolExpr"].get("boolop") == "AND_EXPR":
            stack.extend(node["BoolExpr"].get("args", []))
        elif "A_Expr" in node and node["A_Expr"].get("kind") == "AEXPR_OP":
            e = node["A_Expr"]
            op = [n["String"]["sval"] for n in e.get("name", []) if "String" in n]
            a, b = (
                _colref(e.get("lexpr"), aliases, schema),
                _colref(e.get("rexpr"), aliases, schema),
            )
            if op == ["="] and a and b and a[0] != b[0]:
                eqs.append((a, b))
    by_pair: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for a, b in eqs:
        if a[0] > b[0]:
            a, b = b, a
        by_pair[(a[0], b[0])].append((a[1], b[1]))
    for (left, right), pairs in by_pair.items():
        out.joins[(left, right, tuple(pairs))] += 1


def _literal(node: Any) -> Any:
    const = (node or {}).get("A_Const")
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


def _learn_literal(
    e: dict[str, Any], aliases: dict[str, str], schema: Schema, out: _Corpus
) -> None:
    col = _colref(e.get("lexpr"), aliases, schema)
    if col is None:
        return
    right = e.get("rexpr")
    values = (
        [_literal(v) for v in right.get("List", {}).get("items", [])]
        if isinstance(right, dict) and "List" in right
        else [_literal(right)]
    )
    kind = schema.table(col[0]).column(col[1]).kind  # type: ignore[union-attr]
    for v in values:
        if v is None:
            continue
        if kind == "text" and isinstance(v, str):
            out.literals[col].add(v)
        elif (
            kind in ("integer", "float") and isinstance(v, (int, float)) and not isinstance(v, bool)
        ):
            out.literals[col].add(int(v) if kind == "integer" else v)
