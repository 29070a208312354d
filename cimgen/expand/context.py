"""Everything the expander knows about one schema and its data, computed once per run.

* **Tables** (:class:`TableInfo`): columns grouped by the role they play in an analyst's
  query -- labels (what names a row to a person: ``name``, ``building_id``), categories
  (what one groups by: ``type``, ``zone``), measures (what one compares, sums, ranks:
  ``height``, ``voltage_kv``), flags, scope columns (``project_id``/``scenario_id``: what
  ties a row to one project scenario), geometry and raster columns. Roles come from the
  schema *and* the data (a column with one value is nobody's category).
* **Join graph** (:class:`JoinPath`): key paths from the schema's relations and the joins
  the Stage 1 corpus writes; spatial paths between geometry columns that really meet in
  the data (containment, nearness); raster paths from raster tiles to geometries. Key paths
  between two non-unique sides (many-to-many, e.g. two tables sharing only a scenario) are
  left out: joining them makes a product, not an answer.
* **World** (:mod:`cimgen.world`): sampled rows and spatial facts, for pivots.
* **Pools** (:mod:`cimgen.world.pools`): literals per column with their source.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cimgen import ast
from cimgen.catalogue import Catalogue, catalogue_for
from cimgen.grammar.constructs import (
    ALL_CONSTRUCTS,
    ALL_OPERATORS,
    CONSTRUCTS,
    grammar_facts,
    uses,
)
from cimgen.models import Stage1Record
from cimgen.schema.model import Column, Schema, Table
from cimgen.world.corpus import Combinations, CorpusFacts, learn_corpus
from cimgen.world.model import World
from cimgen.world.pools import LiteralPools, build_pools

AREAL = frozenset({"POLYGON", "MULTIPOLYGON"})
LINEAR = frozenset({"LINESTRING", "MULTILINESTRING"})
POINTS = frozenset({"POINT", "MULTIPOINT"})
_ID_RE = re.compile(r"(^id$|_id$|^id_|_fk$|^sez|^cod|code$|path$|^crs$|^srid$|filename$|^nsez)")
_NAME_RE = re.compile(r"(^name$|_name$|^filename$|^title$)")
_COUNT_RE = re.compile(r"(^n_|^num_|^number_of_|_count$|^count_|floors?$|_year$|^year$)")
_UNIT_RE = re.compile(r"_(kv|km|m|m2|percent|pct)$")
MAX_CATEGORY_VALUES = 30
FAN_ONE = 1.5  # a key side whose rows meet at most this many rows on average is "one"


@dataclass(frozen=True)
class GeomCol:
    """A geometry or raster column; ``gtype`` is None for rasters."""

    name: str
    gtype: str | None
    srid: int | None

    @property
    def dim(self) -> int | None:
        """0 points, 1 lines, 2 polygons; None for generic GEOMETRY (see the data)."""
        if self.gtype in POINTS:
            return 0
        if self.gtype in LINEAR:
            return 1
        if self.gtype in AREAL:
            return 2
        return None


@dataclass(frozen=True)
class TableInfo:
    qualified: str
    schema: str
    name: str
    noun: str  # singular entity word ("building", "grid line")
    aliases: tuple[str, ...]
    pk: tuple[str, ...]
    geoms: tuple[GeomCol, ...]
    rasters: tuple[GeomCol, ...]
    labels: tuple[str, ...]
    categories: tuple[str, ...]
    measures: tuple[str, ...]
    flags: tuple[str, ...]
    ids: tuple[str, ...]
    scope: tuple[str, ...]
    integer: frozenset[str]
    kinds: dict[str, str] = field(compare=False, default_factory=dict)
    rows: int = 0

    def geom(self, name: str) -> GeomCol:
        return next(g for g in (*self.geoms, *self.rasters) if g.name == name)


@dataclass(frozen=True)
class JoinPath:
    """How ``left`` joins ``right``: equal keys, a spatial relation, or raster-vector.

    ``fan`` is how many ``right`` rows one ``left`` row meets on average (from the data; for
    spatial paths: how many are recorded near a pivot). Which spatial relation holds is a
    fact of each pivot row (:class:`cimgen.world.Near`), chosen when the query is built.
    """

    left: str
    right: str
    kind: str  # key | spatial | raster (tile covers geometry) | colocated (two rasters, one place)
    pairs: tuple[tuple[str, str], ...] = ()
    left_column: str | None = None
    right_column: str | None = None
    source: str = "schema"  # schema | corpus | spatial
    fan: float = 1.0


@dataclass(frozen=True)
class ExpansionContext:
    schema: Schema
    catalogue: Catalogue
    tables: tuple[TableInfo, ...]
    paths: dict[str, tuple[JoinPath, ...]]  # left table -> paths from it
    world: World
    pools: LiteralPools
    public_share: float = 0.0
    corpus_size: int = 0
    functions: frozenset[str] = frozenset()  # spatial functions the expander may call
    # the constructs and operators the grammar admits (cimgen.grammar.constructs): the
    # expander offers no other, and :meth:`refusal` turns away an attempt that has one
    constructs: frozenset[str] = ALL_CONSTRUCTS
    operators: frozenset[str] = ALL_OPERATORS
    # values a corpus planted in the fixture, per column: where a column has them, a
    # literal written for it must be one of them (the rest of the fixture is ours, not the
    # user's data)
    planted: dict[tuple[str, str], frozenset[Any]] = field(default_factory=dict)
    # which tables the corpus's queries combine (subjects, pairs, rasters at geometries):
    # the expander's choices follow it (cimgen.expand.combine)
    combos: Combinations = field(default_factory=Combinations)
    by_name: dict[str, TableInfo] = field(default_factory=dict, compare=False, repr=False)
    # per-process memo of what is the same for every structure (e.g. the pivot pools of a
    # planted fixture); filled lazily, never part of the context's identity
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self.by_name.update({t.qualified: t for t in self.tables})

    @classmethod
    def build(
        cls,
        schema: Schema,
        world: World,
        records: Iterable[Stage1Record] | None = None,
        live_pools: Any = None,
        functions: Iterable[str] | None = None,
        corpus: CorpusFacts | None = None,
        planting: Any = None,
        dialect: str = "postgis",
        grammar: Path | None = None,
    ) -> ExpansionContext:
        """Roles, join graph and pools of ``schema`` over ``world`` (see module docstring).

        ``functions`` limits the spatial functions the expander may call; default: the
        ones the target ``dialect`` has (:meth:`Catalogue.available`). A dialect without
        raster support (SpatiaLite) gets no raster table to read: a structure asking for
        one is built without it, its label relaxed (docs/expansion.md). ``grammar`` (default:
        the bundled one) decides the constructs and operators, and its folder's
        ``functions.yaml`` (:func:`cimgen.catalogue.catalogue_for`) the functions: a grammar
        without window calls leaves out the catalogue's window-only functions too.
        """
        cat = catalogue_for(grammar)
        if corpus is None:
            corpus = learn_corpus(schema, records or (), cat)
        pools = build_pools(schema, world, corpus, live_pools)
        scope = _scope_columns(schema)
        keys = _key_columns(schema, corpus)
        surrogate = _surrogate_refs(schema)
        names = _ambiguous_words(schema)
        tables = tuple(
            _table_info(
                t,
                world,
                scope.get(t.qualified, ()),
                keys.get(t.qualified, set()),
                names,
                surrogate.get(t.qualified, set()),
            )
            for t in sorted(schema.tables, key=lambda t: t.qualified)
        )
        if not cat.has_rasters(dialect):
            tables = tuple(t for t in tables if not t.rasters)
        paths = _join_graph(schema, tables, world, corpus)
        kept = {t.qualified for t in tables}
        paths = {
            left: tuple(p for p in out if p.right in kept)
            for left, out in paths.items()
            if left in kept
        }
        allowed = cat.available(dialect)
        if functions is not None:  # the caller's list, of what this catalogue has
            allowed = frozenset(functions) & {f.name for f in cat.functions}
        facts = grammar_facts(grammar)
        if not facts.admits("window"):
            allowed -= {f.name for f in cat.functions if f.window}
        return cls(
            schema=schema,
            catalogue=cat,
            tables=tables,
            paths=paths,
            world=world,
            pools=pools,
            public_share=corpus.public_share,
            corpus_size=corpus.records,
            functions=allowed,
            constructs=facts.constructs,
            operators=facts.operators,
            planted=_planted(planting),
            combos=corpus.combinations(),
        )

    @classmethod
    def for_fixture(
        cls, schema: Schema, records: Iterable[Stage1Record] | None = None, seed: int = 0
    ) -> ExpansionContext:
        """The context over the embedded fixture of (schema, seed) (its world cached)."""
        from cimgen.world import fixture_world

        return cls.build(schema, fixture_world(schema, seed), records)

    def table(self, qualified: str) -> TableInfo:
        return self.by_name[qualified]

    def paths_from(self, qualified: str) -> tuple[JoinPath, ...]:
        return self.paths.get(qualified, ())

    def can(self, function: str) -> bool:
        return function in self.functions

    def admits(self, construct: str) -> bool:
        """Whether the grammar admits ``construct`` (a name of
        :data:`cimgen.grammar.constructs.CONSTRUCTS`)."""
        if construct not in CONSTRUCTS:
            raise KeyError(f"unknown construct {construct!r}")
        return construct in self.constructs

    def refusal(self, query: ast.Query) -> str | None:
        """Why the loaded grammar or catalogue would reject ``query`` (a construct, an
        operator or a function it does not admit), or None. The expander turns such an
        attempt away and tries again, so a row never carries what the grammar lacks."""
        used = uses(query)
        constructs = sorted(used.constructs - self.constructs)
        if constructs:
            return f"the grammar has no {constructs[0]}"
        operators = sorted(used.operators - self.operators)
        if operators:
            return f"the grammar has no operator {operators[0]}"
        for name in sorted(used.functions):
            fn = self.catalogue.get(name)
            if fn is None or (fn.spatial and fn.name not in self.functions):
                return f"the catalogue offers no {name}"
        return None

    @property
    def trusted(self) -> bool:
        """Is the world the user's data (a live database, or the fixture of the bundled
        corpus)? False when the fixture stands in for a database a corpus was written
        against: then only the corpus's own literals are trusted."""
        return not self.planted

    def literal_ok(self, table: str, column: str, value: Any) -> bool:
        """May ``value`` be written as a literal for ``table.column``?

        Not a fixture value where the corpus planted its own; and when the fixture stands
        in for a database the corpus was written against (a planting), no text the corpus
        never shows for that column -- the fixture's own names and categories are ours, not
        the user's data.
        """
        allowed = self.planted.get((table, column))
        if allowed is not None:
            return value in allowed
        if not self.trusted and not isinstance(value, bool):
            pool = self.pools.get(table, column)
            return pool is not None and pool.source != "fixture" and value in pool
        return True


def _planted(planting: Any) -> dict[tuple[str, str], frozenset[Any]]:
    if not planting:
        return {}
    out: dict[tuple[str, str], frozenset[Any]] = {}
    for table, col, values in (*planting.examples, *planting.categories):
        out[(table, col)] = frozenset(values)
    return out


# --------------------------------------------------------------------------- roles


_GENERIC = frozenset(
    {
        "geo",
        "model",
        "data",
        "info",
        "table",
        "cache",
        "raster",
        "properties",
        "property",
        "record",
        "records",
    }
)
_SINGULAR = (
    (r"buses$", "bus"),
    (r"ies$", "y"),
    (r"(ss|us)$", r"\1"),
    (r"(ch|sh|x)es$", r"\1"),
    (r"s$", ""),
)


def _singular(word: str) -> str:
    for pattern, repl in _SINGULAR:
        if re.search(pattern, word):
            return re.sub(pattern, repl, word)
    return word


def _noun(t: Table) -> str:
    """What one row is, for output names and questions: the table name when its words say
    it (``building``, ``grid line``), the head of its description otherwise (``census_geo``
    "ISTAT 2011 census sections with ..." -> ``census section``), ``DTM tile`` for a raster
    table named by an abbreviation."""
    words = [w for w in t.name.split("_") if w and w not in ("cim", "wizard")] or [t.name]
    if t.raster_columns and len(words[0]) <= 4 and words[0].isalpha():
        return f"{words[0].upper()} tile"
    if words[-1] in ("properties", "property"):
        return "property record"
    generic = any(
        w in _GENERIC or any(w.endswith(g) and len(w) > len(g) + 3 for g in _GENERIC) for w in words
    )
    if not generic or not t.description:
        return " ".join([*words[:-1], _singular(words[-1])])
    head = re.split(r"\b(with|and|per|for|of|from|computed)\b|[(,;:]", t.description, maxsplit=1)[0]
    tail = [w.lower() for w in re.findall(r"[A-Za-z]+", head) if not w.isupper()][-2:]
    if not tail:
        return " ".join(words)
    tail[-1] = _singular(tail[-1])
    return " ".join(tail)


def _words(t: Table) -> list[str]:
    return [w for w in t.name.split("_") if w and w not in ("cim", "wizard")] or [t.name]


def _ambiguous_words(schema: Schema) -> set[str]:
    """First words several tables share (``building`` of building / building_properties):
    not an alias, it would name the wrong table to a reader."""
    seen: dict[str, int] = defaultdict(int)
    for t in schema.tables:
        seen[_words(t)[0]] += 1
    return {w for w, n in seen.items() if n > 1}


def _surrogate_refs(schema: Schema) -> dict[str, set[str]]:
    """Columns that reference another table's surrogate ``id`` (``building_fk``): keys a
    person never asks for by value."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in schema.relations:
        if tuple(r.right_columns) == ("id",):
            out[r.left].update(r.left_columns)
        if tuple(r.left_columns) == ("id",):
            out[r.right].update(r.right_columns)
    return out


def _dull(t: Table) -> set[str]:
    """Columns of a numbered series with one templated description (ISTAT P4..P140
    "population variable P4 (...)"): columns nobody would pick by meaning."""
    shapes: dict[str, list[str]] = defaultdict(list)
    for c in t.columns:
        if c.description:
            shapes[re.sub(r"[0-9]+", "#", c.description.lower())].append(c.name)
    return {name for names in shapes.values() if len(names) >= 5 for name in names}


def _key_columns(schema: Schema, corpus: CorpusFacts) -> dict[str, set[str]]:
    """Columns that take part in a relation (declared or joined on in the corpus): keys,
    never measures to average or categories to group by."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in schema.relations:
        out[r.left].update(r.left_columns)
        out[r.right].update(r.right_columns)
    for (left, right, pairs), _n in corpus.joins.items():
        out[left].update(a for a, _ in pairs)
        out[right].update(b for _, b in pairs)
    return out


def _aliases(t: Table, ambiguous: set[str] | None = None) -> tuple[str, ...]:
    words = _words(t)
    initials = "".join(w[0] for w in words)
    first = words[0] if len(words[0]) <= 8 else words[0][:4]
    if ambiguous and words[0] in ambiguous and len(words) > 1:
        first = "_".join(w[:4] for w in words[:2]) if len(words[0]) > 4 else initials
    letters = (words[0][:2] + "".join(w[0] for w in words[1:]))[:4]
    out = []
    for a in (initials, first, letters):
        a = a if a.isidentifier() else f"t_{a}"
        if a in _RESERVED:
            a = a + "1"
        out.append(a)
    return tuple(out)


_RESERVED = frozenset(
    {
        "as",
        "at",
        "by",
        "do",
        "if",
        "in",
        "is",
        "of",
        "on",
        "or",
        "to",
        "all",
        "and",
        "any",
        "asc",
        "end",
        "for",
        "not",
        "off",
        "use",
        "desc",
        "from",
        "into",
        "join",
        "left",
        "like",
        "null",
        "only",
        "over",
        "some",
        "then",
        "true",
        "when",
        "with",
        "case",
        "cast",
        "else",
        "full",
        "limit",
        "order",
        "right",
        "table",
        "where",
        "union",
        "user",
        "group",
    }
)


def _scope_columns(schema: Schema) -> dict[str, tuple[str, ...]]:
    """Columns that tie a row to one row of a table many others reference by its primary
    key (a project scenario): ``{table: (column, ...)}``, the scope table included."""
    refs: dict[tuple[str, tuple[str, ...]], set[str]] = defaultdict(set)
    for r in schema.relations:
        right = schema.table(r.right)
        if (
            right is not None
            and right.primary_key
            and tuple(r.right_columns) == tuple(right.primary_key)
        ):
            refs[(r.right, tuple(r.right_columns))].add(r.left)
    out: dict[str, tuple[str, ...]] = {}
    for (target, cols), users in refs.items():
        if len(users) < 2 or len(cols) < 2:
            continue
        out[target] = cols
        for r in schema.relations:
            if r.right == target and tuple(r.right_columns) == cols:
                out[r.left] = tuple(r.left_columns)
    return out


def _table_info(
    t: Table,
    world: World,
    scope: tuple[str, ...],
    keys: set[str],
    ambiguous: set[str],
    surrogate: set[str],
) -> TableInfo:
    sample = world.table(t.qualified)
    geoms = tuple(
        GeomCol(c.name, c.geometry_type or "GEOMETRY", c.srid)
        for c in t.columns
        if c.kind == "geometry"
    )
    rasters = tuple(GeomCol(c.name, None, c.srid) for c in t.columns if c.kind == "raster")
    names: list[str] = []
    business: list[str] = []
    cats, measures, flags, ids = [], [], [], []
    integer = set()
    kinds = {c.name: c.kind for c in t.columns}
    dull = _dull(t)
    for c in t.columns:
        if c.kind == "integer" or (c.kind == "float" and is_count(c)):
            integer.add(c.name)  # thresholds on counts are whole numbers (floors: 4, not 4.1)
        if c.kind not in ("integer", "float", "text", "boolean"):
            continue
        counts = sample.counts(c.name) if sample is not None and sample.has(c.name) else None
        distinct = len(counts) if counts is not None else 0
        n = sum(counts.values()) if counts else 0
        if sample is not None and distinct <= 1:
            continue  # constant or empty in the data: nothing to ask about
        is_id = (
            bool(_ID_RE.search(c.name))
            or c.name in t.primary_key
            or c.name in scope
            or c.name in keys
        )
        if c.name not in scope and c.kind in ("text", "integer"):
            if _NAME_RE.search(c.name):
                names.append(c.name)
            elif (
                is_id
                and c.name != "id"
                and c.name not in surrogate
                and (sample is None or distinct >= 0.1 * n)
            ):
                business.append(c.name)  # building_id, bus_id, sez2011: what names a row
        if is_id:
            ids.append(c.name)
            continue
        if c.name in dull:
            continue
        if c.kind == "boolean":
            flags.append(c.name)
        elif c.kind == "text":
            if c.name.endswith("name") or c.name.endswith("path"):
                continue
            if distinct <= MAX_CATEGORY_VALUES and (n >= 3 * distinct or rasters):
                cats.append(c.name)  # (a raster table's few rows still name their kinds)
        else:
            if distinct <= 8 and n >= 3 * distinct:
                cats.append(c.name)  # lod 0/1/2, voltage levels 0.4/15/132 kV
            elif distinct >= 5 or sample is None:
                measures.append(c.name)
    return TableInfo(
        qualified=t.qualified,
        schema=t.schema,
        name=t.name,
        noun=_noun(t),
        aliases=_aliases(t, ambiguous),
        pk=tuple(t.primary_key),
        geoms=geoms,
        rasters=rasters,
        labels=tuple(names + business),
        categories=tuple(cats),
        measures=tuple(measures),
        flags=tuple(flags),
        ids=tuple(ids),
        scope=scope,
        integer=frozenset(integer),
        kinds=kinds,
        rows=sample.total if sample is not None else 0,
    )


def is_count(c: Column) -> bool:
    """A column that counts things (floors, people, years) whatever its SQL type: the
    fixture and some databases store estimated floor counts as fractions.

    >>> is_count(Column.of("number_of_floors", "float")), is_count(Column.of("height", "float"))
    (True, False)
    """
    return bool(_COUNT_RE.search(c.name)) or c.description.lower().startswith("number of")


def is_name(column: str) -> bool:
    """A human-readable name column (``name``, ``*_name``, ``filename``)."""
    return bool(_NAME_RE.search(column))


def has_unit(column: str) -> bool:
    return bool(_UNIT_RE.search(column))


# --------------------------------------------------------------------------- join graph


def _key_fan(world: World, left: str, right: str, pairs: tuple[tuple[str, str], ...]) -> float:
    """Average rows of ``right`` met by one row of ``left`` through equal ``pairs``."""
    lt, rt = world.table(left), world.table(right)
    if lt is None or rt is None or not lt.rows or not rt.rows:
        return 1.0
    if not all(lt.has(a) and rt.has(b) for a, b in pairs):
        return 1.0
    lcols = tuple(a for a, _ in pairs)
    rcols = tuple(b for _, b in pairs)
    rows = lt.estimation_rows()
    met = sum(len(rt.lookup(rcols, tuple(lt.value(i, c) for c in lcols))) for i in rows)
    return met / max(1, len(rows)) * rt.scale()


def _join_graph(
    schema: Schema, tables: tuple[TableInfo, ...], world: World, corpus: CorpusFacts
) -> dict[str, tuple[JoinPath, ...]]:
    found: dict[tuple[str, str, Any], JoinPath] = {}
    keyed: list[tuple[str, str, tuple[tuple[str, str], ...], str]] = [
        (r.left, r.right, tuple(zip(r.left_columns, r.right_columns, strict=True)), "schema")
        for r in schema.relations
    ]
    declared = {(a, b, tuple(sorted(p))) for a, b, p, _ in keyed}
    for (left, right, pairs), _n in sorted(corpus.joins.items()):
        rev = tuple((b, a) for a, b in pairs)
        if (left, right, tuple(sorted(pairs))) in declared:
            continue
        if (right, left, tuple(sorted(rev))) in declared:
            continue
        keyed.append((left, right, pairs, "corpus"))
    for left, right, pairs, source in keyed:
        if left == right:
            continue
        rev = tuple((b, a) for a, b in pairs)
        f_lr = _key_fan(world, left, right, pairs)
        f_rl = _key_fan(world, right, left, rev)
        if min(f_lr, f_rl) > FAN_ONE or max(f_lr, f_rl) == 0:
            continue  # many-to-many (or never met in the data): a product, not an answer
        found.setdefault(
            (left, right, pairs), JoinPath(left, right, "key", pairs, source=source, fan=f_lr)
        )
        found.setdefault(
            (right, left, rev), JoinPath(right, left, "key", rev, source=source, fan=f_rl)
        )
    for a in tables:
        sa = world.table(a.qualified)
        if sa is None:
            continue
        for ga in a.geoms:
            for b in tables:
                for gb in b.geoms:
                    near = sa.near.get((ga.name, b.qualified, gb.name))
                    if not near:
                        continue
                    met = [n for ns in near.values() for n in ns]
                    if not met:
                        continue
                    fan = len(met) / max(1, len(near))
                    found.setdefault(
                        (a.qualified, b.qualified, (ga.name, gb.name)),
                        JoinPath(
                            a.qualified,
                            b.qualified,
                            "spatial",
                            (),
                            ga.name,
                            gb.name,
                            "spatial",
                            fan,
                        ),
                    )
            for b in tables:
                st = world.table(b.qualified)
                if st is None:
                    continue
                for rb in b.rasters:
                    tiles = [t for t in st.tiles.get(rb.name, []) if t is not None]
                    geos = [g for g in sa.geo.get(ga.name, []) if g is not None]
                    if not tiles or not geos:
                        continue
                    covered = sum(1 for g in geos[:200] if any(t.covers(g.x, g.y) for t in tiles))
                    if covered == 0:
                        continue
                    found.setdefault(
                        (a.qualified, b.qualified, (ga.name, rb.name)),
                        JoinPath(
                            a.qualified, b.qualified, "raster", (), ga.name, rb.name, "spatial", 1.0
                        ),
                    )
    for a in tables:
        sa = world.table(a.qualified)
        for ra in a.rasters:
            ta = [t for t in (sa.tiles.get(ra.name, []) if sa else []) if t is not None]
            for b in tables:
                if b.qualified == a.qualified:
                    continue
                sb = world.table(b.qualified)
                for rb in b.rasters:
                    tb = [t for t in (sb.tiles.get(rb.name, []) if sb else []) if t is not None]
                    if any(
                        x.covers((y.xmin + y.xmax) / 2, (y.ymin + y.ymax) / 2)
                        for x in tb
                        for y in ta[:50]
                    ):
                        found.setdefault(
                            (a.qualified, b.qualified, (ra.name, rb.name)),
                            JoinPath(
                                a.qualified,
                                b.qualified,
                                "colocated",
                                (),
                                ra.name,
                                rb.name,
                                "spatial",
                                1.0,
                            ),
                        )
    out: dict[str, list[JoinPath]] = defaultdict(list)
    for key in sorted(found, key=lambda k: (k[0], k[1], str(k[2]))):
        out[key[0]].append(found[key])
    return {k: tuple(v) for k, v in sorted(out.items())}
