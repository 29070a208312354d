"""Words for generated questions: nouns for tables and columns, units, humanised names.

A :class:`Vocabulary` is built once per schema (cached) so describing a query only does dict
look-ups. Column nouns come from the column ``description`` when the schema has one
(``"building height in metres (DSM minus DTM, or estimated)"`` gives the noun ``building
height`` and the unit ``m``: the parenthesis is detail for people, the ``in <unit>`` tail
becomes the unit), else from the humanised name (``n_people`` -> ``number of people``,
``voltage_kv`` -> ``voltage`` in ``kV``). Each column also has a *short* noun for use next to
its own table, where the table's name is already said (``building height`` of a building ->
``height``, ``grid bus location`` -> ``location``): people do not repeat the table.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, replace

from cimgen.schema.model import Schema, Table

# Prefixes that name the application, not the thing (Stage 1 uses cim_wizard_building).
_TABLE_PREFIXES = ("cim_wizard_", "network_")
# Table names whose humanised form reads badly: bare name -> (plural, singular, short).
# The rows of building_properties are buildings as one scenario sees them: people call
# them buildings. ``short`` names the table as an owner ("the project's boundary").
_TABLE_NOUNS: dict[str, tuple[str, str, str]] = {
    "building": ("buildings", "building", "building"),
    "building_properties": ("buildings", "building", "building"),
    "project_scenario": ("project scenarios", "project scenario", "project"),
    "grid_bus": ("buses", "bus", "bus"),  # a grid database: people say buses and lines
    "buses": ("buses", "bus", "bus"),
    "grid_line": ("lines", "line", "line"),
    "lines": ("lines", "line", "line"),
    "census_geo": ("census zones", "census zone", "census zone"),
    "censusgeo": ("census zones", "census zone", "census zone"),
    "raster_model": ("raster datasets", "raster dataset", "raster"),
    "dtm_raster": ("DTM tiles", "DTM tile", "DTM tile"),
    "dtm": ("DTM tiles", "DTM tile", "DTM tile"),
    "dsm_raster": ("DSM tiles", "DSM tile", "DSM tile"),
    "dsm": ("DSM tiles", "DSM tile", "DSM tile"),
    # a cache is storage, not a thing: the corpus asks of "height estimates", "a
    # low-confidence height estimate" (not "a cached height with calculated height at
    # least 30 m", "the cached height's average ground elevation": the fourteenth pass's
    # blind review)
    "building_height_cache": ("height estimates", "height estimate", "height estimate"),
}
# Name tokens spelled out when humanising identifiers.
_TOKENS: dict[str, str] = {
    "avg": "average",
    "max": "maximum",
    "min": "minimum",
    "sum": "total",
    "tot": "total",
    "cnt": "count",
    "num": "number",
    "no": "number",
    "pct": "percentage",
    "perc": "percentage",
    "pop": "population",
    "const": "construction",
    "geom": "geometry",
    "lon": "longitude",
    "lng": "longitude",
    "lat": "latitude",
    "elev": "elevation",
    "dist": "distance",
    "qty": "quantity",
    "sez2011": "census section",
    "w2w": "window-to-wall ratio",
    "fk": "reference",
    "rid": "tile ID",  # raster2pgsql's tile key
}
_ACRONYMS = {
    "dtm",
    "dsm",
    "chm",
    "lod",
    "srid",
    "crs",
    "hvac",
    "osm",
    "gfa",
    "lv",
    "mv",
    "hv",
    "wkt",
    "utm",
    "dbscan",
    "id",
    "ids",
}
_ACRONYM_FORMS = {"id": "ID", "ids": "IDs"}
# Unit tokens at the end of a name -> unit symbol.
_NAME_UNITS = {
    "kv": "kV",
    "km": "km",
    "m": "m",
    "sqm": "m²",
    "m2": "m²",
    "percent": "%",
    "pct": "%",
    "kw": "kW",
    "kwh": "kWh",
    "mw": "MW",
}
# Unit words after " in " at the end of a description -> unit symbol.
_WORD_UNITS = {
    "metres": "m",
    "meters": "m",
    "square metres": "m²",
    "square meters": "m²",
    "cubic metres": "m³",
    "cubic meters": "m³",
    "kilometres": "km",
    "kilometers": "km",
    "kilovolts": "kV",
    "percent": "%",
    "pixels": "pixels",
    "degrees": "degrees",
    "seconds": "s",
}
_IN_UNIT = re.compile(
    r"^(?P<noun>.*?) in (?P<unit>" + "|".join(sorted(_WORD_UNITS, key=len, reverse=True)) + r")$"
)
_PAREN = re.compile(r"\s*\([^)]*\)")
# Stage 1 spellings of tables (after prefix stripping) -> the documented table name.
_LEGACY_TABLES = {
    "censusgeo": "census_geo",
    "buses": "grid_bus",
    "lines": "grid_line",
    "dtm": "dtm_raster",
    "dsm": "dsm_raster",
}
# Descriptions that are notes for maintainers, not meanings ("guess: the samples use ...").
_NOTE_PREFIXES = ("guess:", "todo:", "note:")
_TEMPORAL_NAME = re.compile(r"(year|date|period|tabula|_at$|time)")
# Descriptions written for a data dictionary read long in a question: the short form a
# planner would say (applied after the parenthesis and the unit are taken off).
_SHORTER: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(a), b)
    for a, b in (
        (r"^ISTAT [\w ]+? (variable|attribute) (\w+)$", r"ISTAT \2"),
        (r" within the \w+$", ""),
        (r"^path to the (energy )?co-simulation configuration$", "co-simulation config path"),
        (r"^path to the simulation results$", "simulation results path"),
        (r"^electrical grid model references$", "grid model references"),
        (r"coordinate reference system$", "CRS"),
        (r"^spatial reference id$", "SRID"),
        (r"^default map zoom level$", "map zoom level"),
        (r"^geometry data source$", "geometry source"),
        (r"^calculated building height$", "calculated height"),
        (r"^operating voltage$", "voltage"),
        (r"^level of detail( of the calculation)?$", "LOD"),  # what planners say
        (r"^last modification timestamp$", "last update time"),
        (r"^electrical network identifier$", "network identifier"),
        (r"^(confidence score|raster coverage) of the (calculation|footprint)$", r"\1"),
        (r"^pixel size in the (X|Y) direction$", r"\1 pixel size"),
        (r"^(creation|upload|calculation) timestamp$", r"\1 time"),
        (r"^upper-left (X|Y) coordinate$", r"upper-left \1"),
        (r"^internal [\w ]+? (id|ID)$", "internal ID"),
        (r"\bidentifier$", "ID"),
        (r"\bidentifiers$", "IDs"),
        (r"\bid$", "ID"),
        (r"\bids$", "IDs"),
        (r" geometry$", ""),
    )
)


def shorten(noun: str) -> str:
    """The short form of a described column noun.

    >>> shorten("ISTAT population variable P42"), shorten("bus number within the network")
    ('ISTAT P42', 'bus number')
    """
    for pattern, repl in _SHORTER:
        noun = pattern.sub(repl, noun)
    return noun


@dataclass(frozen=True)
class Term:
    """How a column reads in a question: ``noun`` anywhere, ``short`` next to its own table
    (``building height`` -> ``height``); ``naming`` columns (identifiers, names) are what
    "list the buildings" already asks for."""

    noun: str
    unit: str = ""
    kind: str = "other"
    identifier: bool = False
    temporal: bool = False
    srid: int | None = None
    short: str = ""
    naming: bool = False

    @property
    def brief(self) -> str:
        return self.short or self.noun


@dataclass(frozen=True)
class TableWords:
    plural: str
    singular: str
    short: str = ""

    @property
    def owner(self) -> str:
        """The noun for this table as an owner (``project`` for project scenarios)."""
        return self.short or self.singular


def humanise(name: str) -> str:
    """A readable phrase for an identifier.

    >>> humanise("n_people"), humanise("const_year"), humanise("avg_height_m")
    ('number of people', 'construction year', 'average height m')
    """
    tokens = [t for t in re.split(r"[_\s]+", name.lower()) if t]
    words: list[str] = []
    for i, tok in enumerate(tokens):
        if tok == "n" and i == 0 and len(tokens) > 1:
            words.append("number of")
        elif tok in _TOKENS:
            words.append(_TOKENS[tok])
        elif tok in _ACRONYMS:
            words.append(_ACRONYM_FORMS.get(tok, tok.upper()))
        else:
            words.append(tok)
    return " ".join(words) or name


def split_unit(name: str) -> tuple[str, str]:
    """``voltage_kv`` -> (``voltage_kv`` without the unit token, ``kV``)."""
    head, _, tail = name.lower().rpartition("_")
    if head and tail in _NAME_UNITS:
        return head, _NAME_UNITS[tail]
    return name, ""


def plural(noun: str) -> str:
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es" if noun.endswith(("bus", "x", "ch", "sh")) else noun
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def singular(noun: str) -> str:
    if noun.endswith("buses"):
        return noun[:-2]
    if noun.endswith("ies"):
        return noun[:-3] + "y"
    if noun.endswith("s") and not noun.endswith(("ss", "us")):  # "census", "status"
        return noun[:-1]
    return noun


def one_of(things: str) -> str:
    """Counted things after a 1: the first plural word singular (``1 census zone``, ``1
    building built before 1918``; not ``1 censu zones``).

    >>> one_of("census zones"), one_of("buildings built before 1918")
    ('census zone', 'building built before 1918')
    """
    words = things.split(" ")
    for i, w in enumerate(words):
        if singular(w) != w:
            return " ".join([*words[:i], singular(w), *words[i + 1 :]])
    return things


def table_words(name: str) -> TableWords:
    """Plural and singular nouns for a table (or CTE) name."""
    bare = name.lower()
    for prefix in _TABLE_PREFIXES:
        if bare.startswith(prefix) and len(bare) > len(prefix):
            bare = bare[len(prefix) :]
    if bare in _TABLE_NOUNS:
        return TableWords(*_TABLE_NOUNS[bare])
    first = bare.split("_", 1)[0]
    if first in ("dtm", "dsm"):  # dsm_sansalva and friends are raster tile tables
        return TableWords(*_TABLE_NOUNS[first])
    words = humanise(bare)
    if words.endswith(("s", "data", "info")):
        return TableWords(words, singular(words))
    return TableWords(plural(words), words)


def short_noun(noun: str, words: TableWords | None) -> str:
    """``noun`` without the table's own name in front (``grid bus location`` of a grid bus
    -> ``location``, ``project boundary`` of a project scenario -> ``boundary``).

    >>> short_noun("bus name", TableWords("grid buses", "grid bus", "bus"))
    'name'
    """
    if words is None:
        return noun
    for prefix in dict.fromkeys((words.singular, words.owner)):
        # the table's own name, also after one qualifier ("grid bus location" of a bus)
        m = re.match(rf"^(?:\w+ )?{re.escape(prefix)} (.+)$", noun)
        if m and m.group(1) not in ("number", "count"):
            return m.group(1)
    return noun


# a description that names counted things ("buildings built after 2005"): plural, then a
# participle
_COUNTED = re.compile(r"^[a-z]+[^s]s (built|\w+ed)\b")


def column_term(
    table: Table | None,
    name: str,
    kind: str = "other",
    srid: int | None = None,
    description: str = "",
) -> Term:
    """The term for a column, from its description or its name."""
    lname = name.lower()
    identifier = lname == "id" or lname.endswith(("_id", "_fk")) or lname in ("sez2011",)
    temporal = kind == "timestamp" or bool(_TEMPORAL_NAME.search(lname))
    unit = ""
    if description and not description.lower().startswith(_NOTE_PREFIXES):
        noun = _PAREN.sub("", description).strip()
        m = _IN_UNIT.match(noun)
        if m:
            noun, unit = m.group("noun"), _WORD_UNITS[m.group("unit")]
        noun = shorten(noun) or humanise(name)
    else:
        base, unit = split_unit(name)
        noun = humanise(base)
        if table is not None and noun == "geometry":
            noun = f"{table_words(table.name).singular} geometry"
        noun = shorten(noun) or noun
    if _COUNTED.match(noun) and kind in ("integer", "bigint", "smallint"):
        noun = "number of " + noun  # "buildings built after 2005": a count, not a join
    words = table_words(table.name) if table is not None else None
    short = short_noun(noun, words)
    naming = identifier or noun.endswith(("name", " ID", "identifier")) or short == "ID"
    return Term(noun, unit, kind, identifier, temporal, srid, short, naming)


class Vocabulary:
    """Per-schema look-up tables of table and column words (built once, then read-only)."""

    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.database = (
            "the CIM Wizard database"
            if schema.name == "cim_wizard"
            else (f"the {schema.name} database")
        )
        self.tables: dict[str, TableWords] = {}
        self.columns: dict[tuple[str, str], Term] = {}
        for table in schema.tables:
            words = table_words(table.name)
            self.tables[table.qualified] = words
            self.tables.setdefault(table.name, words)
            terms = [
                column_term(table, c.name, c.kind, c.srid, c.description) for c in table.columns
            ]
            shorts = Counter(t.short for t in terms)
            for col, term in zip(table.columns, terms, strict=True):
                if shorts[term.short] > 1:  # two columns would read the same: say them in full
                    term = replace(term, short=term.noun)
                self.columns[(table.qualified, col.name)] = term
                self.columns.setdefault((table.name, col.name), term)
        self._fallback: dict[tuple[str, str], Term] = {}
        self._main: dict[str, str | None] = {}
        # the SRID most geometry columns have: a point written in it goes without saying it
        # ("(9.19, 45.47)"); another SRID is said ("(1514000, 5034000, SRID 3003)")
        # the words of scope tables (project scenarios): tables that several others point
        # to with a composite key, i.e. that the rows of those tables belong to
        pointed = Counter(
            r.right
            for r in {(r.left, r.right): r for r in schema.relations}.values()
            if len(r.right_columns) > 1
        )
        self.scope_words: frozenset[str] = frozenset(
            w
            for key, n in pointed.items()
            if n > 1
            for words in [self.tables.get(key) or table_words(key.rpartition(".")[2])]
            for w in (*words.singular.split(), words.owner)
        )
        srids = Counter(c.srid for t in schema.tables for c in t.geometry_columns if c.srid)
        self.default_srid: int | None = srids.most_common(1)[0][0] if srids else None

    def main_geometry(self, key: str) -> str | None:
        """The table's main geometry: its first geometry (else raster) column, the one
        "area" or "distance" means without naming it; None for a table without one."""
        if key not in self._main:
            table = self.schema.table(key) or self.schema.find_table(key)
            geoms = (table.geometry_columns + table.raster_columns) if table else ()
            self._main[key] = geoms[0].name if geoms else None
        return self._main[key]

    def raster_value(self, key: str | None) -> str:
        """What a table's main raster measures, from the parenthesis of its description
        (``DSM raster data (surface elevation incl. buildings)`` -> ``surface elevation``):
        its ST_Value is ``surface elevation at (9.19, 45.47)``, whose tile goes without
        saying; "" when the description does not say."""
        if key is None:
            return ""
        table = self.schema.table(key) or self.schema.find_table(key)
        rasters = table.raster_columns if table is not None else ()
        if not rasters or not rasters[0].description:
            return ""
        m = re.search(r"\(([^)]*)\)", rasters[0].description)
        noun = re.split(r" incl\b|,|;", m.group(1))[0].strip() if m else ""
        return noun if 0 < noun.count(" ") + 1 <= 3 else ""

    def table_key(self, name: str, schema: str | None = None) -> str:
        """The schema key for a table reference, resolving Stage 1 spellings
        (``cim_wizard_building`` -> ``cim_vector.building``); the bare name when unknown."""
        key = f"{schema}.{name}" if schema else name
        if key in self.tables and self.schema.table(key) is not None:
            return key
        found = self.schema.find_table(name)
        if found is not None:
            return found.qualified
        bare = name.lower()
        for prefix in _TABLE_PREFIXES:
            bare = bare.removeprefix(prefix)
        bare = _LEGACY_TABLES.get(bare, _LEGACY_TABLES.get(bare.split("_", 1)[0], bare))
        found = self.schema.find_table(bare)
        return found.qualified if found is not None else key

    def table(self, name: str, schema: str | None = None) -> TableWords:
        key = f"{schema}.{name}" if schema else name
        words = self.tables.get(key) or self.tables.get(name)
        if words is None:
            words = table_words(name)
            self.tables[key] = words
        return words

    def column(self, table: str | None, name: str) -> Term:
        """The term for ``table.name`` (``table`` qualified or bare; ``None`` = unknown)."""
        if table is not None:
            term = self.columns.get((table, name))
            if term is not None:
                return term
        key = (table or "", name)
        term = self._fallback.get(key)
        if term is None:
            term = column_term(None, name)
            self._fallback[key] = term
        return term


# Keyed by id(schema); the entry keeps the schema alive so the id cannot be reused meanwhile.
_CACHE: dict[int, tuple[Schema, Vocabulary]] = {}
_CACHE_SIZE = 8


def vocabulary(schema: Schema) -> Vocabulary:
    """The cached :class:`Vocabulary` of ``schema``."""
    hit = _CACHE.get(id(schema))
    if hit is not None and hit[0] is schema:
        return hit[1]
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.pop(next(iter(_CACHE)))
    vocab = Vocabulary(schema)
    _CACHE[id(schema)] = (schema, vocab)
    return vocab
