"""In-memory schema model shared by every stage."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

DEFAULT_SRID = 4326
"""What a geometry without a declared SRID is taken to be: lon/lat on WGS 84."""
GEOGRAPHIC_SRIDS = frozenset({4019, 4030, 4230, 4258, 4269, 4283, 4326, 4806, 4979})
"""SRIDs whose coordinates are degrees of longitude and latitude, not metres: the expander
measures them through ``::geography``, the static unit rule flags a planar measure on
them, a question says "degrees", the fixture lays them out in a local lon/lat frame."""

# Column kinds: the coarse type classes the generator and the binder reason about.
KINDS = ("geometry", "raster", "integer", "float", "text", "boolean", "timestamp", "json", "other")
GEOMETRY_TYPES = (
    "GEOMETRY",
    "POINT",
    "LINESTRING",
    "POLYGON",
    "MULTIPOINT",
    "MULTILINESTRING",
    "MULTIPOLYGON",
    "GEOMETRYCOLLECTION",
)

_INTEGER = {
    "integer",
    "int",
    "int4",
    "int8",
    "int2",
    "bigint",
    "smallint",
    "serial",
    "bigserial",
    "smallserial",
}
_FLOAT = {"float", "float4", "float8", "real", "double precision", "numeric", "decimal"}
_TEXT = {"text", "varchar", "character varying", "char", "character", "bpchar", "uuid", "name"}
_TIME = {
    "timestamp",
    "timestamptz",
    "timestamp with time zone",
    "timestamp without time zone",
    "date",
    "time",
}
_JSON = {"json", "jsonb"}
_GEOM_RE = re.compile(r"^(geometry|geography)\s*(?:\(\s*(\w+)\s*(?:,\s*(\d+)\s*)?\))?$", re.I)


def classify_type(sql_type: str) -> tuple[str, str | None, int | None]:
    """Map a SQL type string to ``(kind, geometry_type, srid)``.

    >>> classify_type("geometry(Polygon,4326)")
    ('geometry', 'POLYGON', 4326)
    >>> classify_type("varchar(100)")
    ('text', None, None)
    """
    t = " ".join(sql_type.strip().lower().split())
    m = _GEOM_RE.match(t)
    if m:
        gtype = (m.group(2) or "geometry").upper()
        srid = int(m.group(3)) if m.group(3) else None
        return "geometry", gtype, srid
    if t == "raster":
        return "raster", None, None
    base = re.sub(r"\(.*\)$", "", t).strip()
    if base in _INTEGER:
        return "integer", None, None
    if base in _FLOAT:
        return "float", None, None
    if base in _TEXT:
        return "text", None, None
    if base in {"boolean", "bool"}:
        return "boolean", None, None
    if base in _TIME:
        return "timestamp", None, None
    if base in _JSON:
        return "json", None, None
    return "other", None, None


@dataclass(frozen=True)
class Column:
    """One column. Geometry columns carry their geometry type and SRID."""

    name: str
    type: str
    kind: str = "other"
    geometry_type: str | None = None
    srid: int | None = None
    nullable: bool = True
    examples: tuple[Any, ...] = ()
    description: str = ""

    @classmethod
    def of(cls, name: str, sql_type: str, **extra: Any) -> Column:
        """Build a column from a SQL type string, deriving kind, geometry type and SRID.

        >>> Column.of("geom", "geometry(Point,4326)").geometry_type
        'POINT'
        """
        kind, gtype, srid = classify_type(sql_type)
        extra.setdefault("geometry_type", gtype)
        extra.setdefault("srid", srid)
        return cls(name=name, type=" ".join(sql_type.strip().split()), kind=kind, **extra)

    @property
    def is_spatial(self) -> bool:
        return self.kind in ("geometry", "raster")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        # Separate keys only for what the type string does not already say (so that
        # e.g. type "geometry(Point)" + srid 4326 survives a round trip).
        _, typed_gtype, typed_srid = classify_type(self.type)
        if self.geometry_type and self.kind == "geometry" and self.geometry_type != typed_gtype:
            out["geometry_type"] = self.geometry_type
        if self.srid is not None and self.srid != typed_srid:
            out["srid"] = self.srid
        if not self.nullable:
            out["nullable"] = False
        if self.examples:
            out["examples"] = list(self.examples)
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    description: str = ""

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @cached_property
    def _by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    def column(self, name: str) -> Column | None:
        return self._by_name.get(name)

    @property
    def geometry_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.kind == "geometry")

    @property
    def raster_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.kind == "raster")


@dataclass(frozen=True)
class Relation:
    """A join relation between two tables on equal key columns.

    ``kind`` is ``"foreign_key"`` (declared constraint; ``left`` references ``right``) or
    ``"key_equality"`` (a documented or observed join with no constraint behind it).
    """

    left: str
    left_columns: tuple[str, ...]
    right: str
    right_columns: tuple[str, ...]
    kind: str = "key_equality"

    def to_dict(self) -> dict[str, Any]:
        return {
            "from": self.left,
            "columns": list(self.left_columns),
            "to": self.right,
            "to_columns": list(self.right_columns),
            "kind": self.kind,
        }


@dataclass(frozen=True)
class Schema:
    """A database schema model: tables (across PostgreSQL schemas) and relations.

    ``metric_srid`` is a projected SRID (metres) covering the data's area; renderers and
    the expander use it for metric measurements where geography is not used.
    """

    name: str
    tables: tuple[Table, ...]
    relations: tuple[Relation, ...] = ()
    metric_srid: int | None = None
    description: str = ""
    source: str = ""
    _index: dict[str, Table] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({t.qualified: t for t in self.tables})

    @property
    def schemas(self) -> tuple[str, ...]:
        """PostgreSQL schema names in first-seen order."""
        return tuple(dict.fromkeys(t.schema for t in self.tables))

    def table(self, qualified: str) -> Table | None:
        """Look a table up by ``schema.name``."""
        return self._index.get(qualified)

    def find_table(self, name: str, schema: str | None = None) -> Table | None:
        """Resolve a possibly unqualified table name (unique bare names resolve)."""
        if schema:
            return self._index.get(f"{schema}.{name}")
        hits = [t for t in self.tables if t.name == name]
        return hits[0] if len(hits) == 1 else None

    def relations_of(self, qualified: str) -> tuple[Relation, ...]:
        return tuple(r for r in self.relations if qualified in (r.left, r.right))

    def to_dict(self) -> dict[str, Any]:
        """The documented YAML/JSON schema-file format (see docs/schema-format.md)."""
        schemas: dict[str, Any] = {}
        for t in self.tables:
            entry: dict[str, Any] = {}
            if t.description:
                entry["description"] = t.description
            if t.primary_key:
                entry["primary_key"] = list(t.primary_key)
            entry["columns"] = {c.name: c.to_dict() for c in t.columns}
            schemas.setdefault(t.schema, {"tables": {}})["tables"][t.name] = entry
        out: dict[str, Any] = {"name": self.name}
        if self.description:
            out["description"] = self.description
        if self.metric_srid:
            out["metric_srid"] = self.metric_srid
        out["schemas"] = schemas
        out["relations"] = [r.to_dict() for r in self.relations]
        return out
