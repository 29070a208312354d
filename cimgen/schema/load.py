"""Resolve a ``--schema`` value into a :class:`Schema`: bundled name, file or URL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from cimgen.errors import SchemaError
from cimgen.paths import schema_dir
from cimgen.schema.model import GEOMETRY_TYPES, Column, Relation, Schema, Table, classify_type

DEFAULT_SCHEMA = "cim_wizard"

_TOP_KEYS = {"name", "description", "metric_srid", "schemas", "relations"}
_TABLE_KEYS = {"description", "primary_key", "columns"}
_COLUMN_KEYS = {"type", "geometry_type", "srid", "nullable", "examples", "description"}
_RELATION_KEYS = {"from", "columns", "to", "to_columns", "kind"}


def bundled_schemas() -> list[str]:
    """Names of the schema definitions shipped in ``schema/``."""
    return sorted(p.stem for p in schema_dir().glob("*.yaml"))


def load_schema(spec: str | Path | None = None) -> Schema:
    """Load a schema from a bundled name, a .yaml/.json/.sql file or a postgresql:// URL.

    >>> load_schema("cim_wizard").name
    'cim_wizard'
    """
    text = str(spec) if spec else DEFAULT_SCHEMA
    if text.startswith(("postgresql://", "postgres://")):
        from cimgen.schema.live import load_live

        return load_live(text)
    path = Path(text)
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml", ".json", ".sql"):
        if not path.is_file():
            raise SchemaError(f"{path}: schema file not found. Check the path given to --schema.")
        if suffix == ".sql":
            from cimgen.schema.ddl import load_ddl

            return load_ddl(path)
        return load_schema_file(path)
    if text in bundled_schemas():
        return load_schema_file(schema_dir() / f"{text}.yaml", name_hint=text)
    raise SchemaError(
        f"unknown schema {text!r}. Use a bundled name ({', '.join(bundled_schemas())}), "
        "a .yaml/.json/.sql file or a postgresql:// URL."
    )


def load_schema_file(path: Path, name_hint: str | None = None) -> Schema:
    """Read and validate a YAML/JSON schema file (format: docs/schema-format.md)."""
    raw_text = path.read_text(encoding="utf-8")
    try:
        if path.suffix.lower() == ".json":
            data = json.loads(raw_text)
            lines: _LineFinder = _LineFinder(None)
        else:
            node = yaml.compose(raw_text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(raw_text)
            lines = _LineFinder(node)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        raise SchemaError.at(
            path,
            line,
            f"not valid YAML/JSON ({_syntax_problem(exc)})",
            "Fix the syntax at that line",
        ) from None
    return schema_from_dict(
        data, source=str(path), lines=lines, path=path, name_hint=name_hint or path.stem
    )


def schema_from_dict(
    data: Any,
    source: str = "<dict>",
    lines: _LineFinder | None = None,
    path: Path | str | None = None,
    name_hint: str = "schema",
) -> Schema:
    """Validate a schema document and build the model, reporting every problem at once."""
    lines = lines or _LineFinder(None)
    where = path or source
    problems: list[tuple[int | None, str]] = []

    def problem(keys: tuple[Any, ...], message: str) -> None:
        problems.append((lines.line(keys), message))

    if not isinstance(data, dict):
        raise SchemaError.at(
            where,
            None,
            "a schema file must be a mapping with a 'schemas' key",
            "See docs/schema-format.md",
        )
    for key in data:
        if key not in _TOP_KEYS:
            problem((key,), f"unknown key {key!r} (allowed: {', '.join(sorted(_TOP_KEYS))})")
    schemas = data.get("schemas")
    if not isinstance(schemas, dict) or not schemas:
        problem(("schemas",), "'schemas' must map schema names to {tables: {...}}")
        schemas = {}
    tables: list[Table] = []
    for sname, sbody in schemas.items():
        tbodies = (sbody or {}).get("tables") if isinstance(sbody, dict) else None
        if not isinstance(tbodies, dict) or not tbodies:
            problem(("schemas", sname), f"schema {sname!r} needs a non-empty 'tables' mapping")
            continue
        for tname, tbody in tbodies.items():
            table = _table(sname, tname, tbody, problem)
            if table:
                tables.append(table)
    known = {t.qualified: t for t in tables}
    relations: list[Relation] = []
    for i, rel in enumerate(data.get("relations") or []):
        relations.extend(_relation(i, rel, known, problem))
    metric = data.get("metric_srid")
    if metric is not None and not isinstance(metric, int):
        problem(("metric_srid",), f"metric_srid must be an integer SRID, got {metric!r}")
        metric = None
    if len(problems) == 1:
        line, message = problems[0]
        raise SchemaError.at(where, line, message, "Fix it (format: docs/schema-format.md)")
    if problems:
        texts = [f"line {line}: {msg}" if line else msg for line, msg in problems]
        shown = "; ".join(texts[:5]) + (f"; and {len(texts) - 5} more" if len(texts) > 5 else "")
        raise SchemaError(
            f"{where}: {len(problems)} problem(s): {shown}. "
            "Fix them (format: docs/schema-format.md)."
        )
    return Schema(
        name=str(data.get("name") or name_hint),
        tables=tuple(tables),
        relations=tuple(relations),
        metric_srid=metric,
        description=str(data.get("description") or ""),
        source=source,
    )


def _table(sname: str, tname: str, body: Any, problem: Any) -> Table | None:
    keys: tuple[Any, ...] = ("schemas", sname, "tables", tname)
    for key in body if isinstance(body, dict) else ():
        if key not in _TABLE_KEYS:
            problem(
                (*keys, key),
                f"table {sname}.{tname}: unknown key {key!r} "
                f"(allowed: {', '.join(sorted(_TABLE_KEYS))})",
            )
    if not isinstance(body, dict) or not isinstance(body.get("columns"), dict):
        problem(keys, f"table {sname}.{tname} needs a 'columns' mapping")
        return None
    columns: list[Column] = []
    for cname, cbody in body["columns"].items():
        ckeys = (*keys, "columns", cname)
        spec = {"type": cbody} if isinstance(cbody, str) else cbody
        if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
            problem(
                ckeys,
                f"column {sname}.{tname}.{cname} needs a 'type' (e.g. integer, "
                "varchar(100), geometry(Polygon,4326), raster)",
            )
            continue
        bad = [k for k in spec if k not in _COLUMN_KEYS]
        if bad:
            problem(
                ckeys,
                f"column {sname}.{tname}.{cname}: unknown key {bad[0]!r} "
                f"(allowed: {', '.join(sorted(_COLUMN_KEYS))})",
            )
        extra: dict[str, Any] = {}
        if "geometry_type" in spec:
            gtype = str(spec["geometry_type"]).upper()
            if gtype not in GEOMETRY_TYPES:
                problem(
                    ckeys,
                    f"column {cname}: geometry_type {spec['geometry_type']!r} is not "
                    f"one of {', '.join(GEOMETRY_TYPES)}",
                )
            extra["geometry_type"] = gtype
        if "srid" in spec:
            extra["srid"] = spec["srid"]
        col = Column.of(
            str(cname),
            spec["type"],
            nullable=bool(spec.get("nullable", True)),
            examples=tuple(spec.get("examples") or ()),
            description=str(spec.get("description") or ""),
            **extra,
        )
        if (
            col.kind == "geometry"
            and "geometry_type" not in spec
            and not _known_geometry_type(col.geometry_type or "")
        ):
            problem(
                ckeys,
                f"column {sname}.{tname}.{cname}: unknown geometry type "
                f"{col.geometry_type!r} in {spec['type']!r} (use one of "
                f"{', '.join(GEOMETRY_TYPES)}, e.g. geometry(Polygon,4326))",
            )
        typed_srid = classify_type(spec["type"])[2]
        if "srid" in spec and typed_srid is not None and spec["srid"] != typed_srid:
            problem(
                ckeys,
                f"column {sname}.{tname}.{cname}: key srid {spec['srid']!r} "
                f"contradicts the type {spec['type']!r} (drop one of them)",
            )
        if "srid" in spec and not isinstance(spec["srid"], int):
            problem(
                ckeys,
                f"column {sname}.{tname}.{cname}: srid must be an integer "
                f"EPSG code, got {spec['srid']!r}",
            )
        if col.kind == "geometry" and col.srid is None:
            problem(
                ckeys,
                f"geometry column {sname}.{tname}.{cname} needs an SRID "
                "(type geometry(Type,SRID) or key 'srid')",
            )
        columns.append(col)
    pk = tuple(body.get("primary_key") or ())
    names = {c.name for c in columns}
    for k in pk:
        if k not in names:
            problem(
                (*keys, "primary_key"),
                f"table {sname}.{tname}: primary key column {k!r} is not a column of the table",
            )
    return Table(
        schema=str(sname),
        name=str(tname),
        columns=tuple(columns),
        primary_key=pk,
        description=str(body.get("description") or ""),
    )


def _relation(i: int, rel: Any, known: dict[str, Table], problem: Any) -> list[Relation]:
    keys = ("relations", i)
    if not isinstance(rel, dict):
        problem(keys, f"relation #{i + 1} must be a mapping with from/columns/to/to_columns")
        return []
    bad = [k for k in rel if k not in _RELATION_KEYS]
    if bad:
        problem(
            keys,
            f"relation #{i + 1}: unknown key {bad[0]!r} "
            f"(allowed: {', '.join(sorted(_RELATION_KEYS))})",
        )
    left, right = rel.get("from"), rel.get("to")
    lcols = rel.get("columns") or []
    rcols = rel.get("to_columns") or lcols
    lcols = [lcols] if isinstance(lcols, str) else lcols
    rcols = [rcols] if isinstance(rcols, str) else rcols
    kind = rel.get("kind", "key_equality")
    ok = True
    for tname, cols in ((left, lcols), (right, rcols)):
        table = known.get(str(tname))
        if table is None:
            problem(keys, f"relation #{i + 1}: unknown table {tname!r} (use schema.table)")
            ok = False
            continue
        for c in cols:
            if table.column(c) is None:
                problem(keys, f"relation #{i + 1}: {tname} has no column {c!r}")
                ok = False
    if len(lcols) != len(rcols) or not lcols:
        problem(keys, f"relation #{i + 1}: 'columns' and 'to_columns' must be equally long")
        ok = False
    if kind not in ("foreign_key", "key_equality"):
        problem(keys, f"relation #{i + 1}: kind {kind!r} must be foreign_key or key_equality")
        ok = False
    if not ok:
        return []
    return [Relation(str(left), tuple(lcols), str(right), tuple(rcols), kind)]


class _LineFinder:
    """Maps a key path in a YAML document to its 1-based line number."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def line(self, keys: tuple[Any, ...]) -> int | None:
        node = self.root
        best = None
        for key in keys:
            if isinstance(node, yaml.MappingNode):
                nxt = None
                for k, v in node.value:
                    if k.value == str(key):
                        best = k.start_mark.line + 1
                        nxt = v
                        break
                node = nxt
            elif isinstance(node, yaml.SequenceNode) and isinstance(key, int):
                if key < len(node.value):
                    node = node.value[key]
                    best = node.start_mark.line + 1
                else:
                    node = None
            else:
                node = None
            if node is None:
                break
        return best


def _known_geometry_type(gtype: str) -> bool:
    """A PostGIS geometry type name, allowing a Z/M/ZM suffix (PointZ, MultiPolygonZM)."""
    upper = gtype.upper()
    return any(upper in (g, g + "Z", g + "M", g + "ZM") for g in GEOMETRY_TYPES)


def _syntax_problem(exc: Exception) -> str:
    """PyYAML's context and problem ("while parsing a flow sequence: expected ',' ...")."""
    parts = [getattr(exc, "context", None), getattr(exc, "problem", None)]
    text = ": ".join(p for p in parts if p)
    return text or _first_line(exc)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
