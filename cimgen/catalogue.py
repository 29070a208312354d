"""The function catalogue (``grammar/functions.yaml``): PostGIS and standard SQL functions,
their argument and return types, categories and backend spellings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from cimgen.errors import ConfigError
from cimgen.paths import grammar_dir

# Spatial categories in the order used to break ties for ``primary_function_category``.
SPATIAL_CATEGORIES = (
    "predicates",
    "measurements",
    "processing",
    "accessors",
    "constructors",
    "transforms",
    "raster",
    "clustering",
)
ARG_TYPES = (
    "geometry",
    "geography",
    "raster",
    "float",
    "integer",
    "text",
    "boolean",
    "any",
    "summarystats",
    "box",
)
# The SQL dialects cimgen renders; every catalogue function exists in PostGIS.
DIALECTS = ("postgis", "spatialite", "duckdb")
_SIG_RE = re.compile(r"^\s*(?P<args>.*?)\s*->\s*(?P<ret>\w+)\s*$")


@dataclass(frozen=True)
class Signature:
    """One call signature; ``names`` holds argument names where the signature gives them."""

    args: tuple[str, ...]
    returns: str
    names: tuple[str | None, ...] = ()
    variadic: bool = False

    def accepts_arity(self, n: int) -> bool:
        return n == len(self.args) or (self.variadic and n >= len(self.args))


@dataclass(frozen=True)
class Function:
    name: str
    category: str
    signatures: tuple[Signature, ...]
    spatial: bool
    applies_to: tuple[str, ...] = ()
    aggregate: bool = False
    aggregate_when_args: int | None = None
    window: bool = False
    phrase: str = ""
    spatialite: str | None = None
    duckdb: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def dialects(self) -> frozenset[str]:
        """The dialects whose renderer renders a call of this function: PostGIS always;
        SpatiaLite / DuckDB where the catalogue names the function there (``spatialite:`` /
        ``duckdb:`` not null), and DuckDB also for raster functions, which its renderer
        maps to the fixture's raster macros, and window clusterings, which it maps to the
        ``cimgen_cluster`` UDF (docs/backends.md). tests/test_render.py renders and
        executes every function in every dialect listed here."""
        out = {"postgis"}
        if self.spatialite is not None:
            out.add("spatialite")
        if self.duckdb is not None or self.category in ("raster", "clustering"):
            out.add("duckdb")
        return frozenset(out)

    def is_aggregate_call(self, n_args: int) -> bool:
        """Whether a call with ``n_args`` arguments is an aggregate (ST_Union(geom) is)."""
        return self.aggregate or self.aggregate_when_args == n_args

    @property
    def returns(self) -> set[str]:
        return {s.returns for s in self.signatures}


@dataclass(frozen=True)
class Catalogue:
    functions: tuple[Function, ...]

    def get(self, name: str) -> Function | None:
        return _index(self).get(name.lower(), None)

    def spatial(self, category: str | None = None) -> tuple[Function, ...]:
        return tuple(
            f for f in self.functions if f.spatial and (category is None or f.category == category)
        )

    def available(self, dialect: str) -> frozenset[str]:
        """Names of the functions ``dialect`` has (:attr:`Function.dialects`): what an
        expander generating for that dialect may offer.

        >>> "ST_Value" in load_catalogue().available("spatialite")
        False
        >>> "ST_Area" in load_catalogue().available("spatialite")
        True
        """
        if dialect not in DIALECTS:
            raise ValueError(f"unknown dialect {dialect!r}: use one of {', '.join(DIALECTS)}")
        return frozenset(f.name for f in self.functions if dialect in f.dialects)

    def has_rasters(self, dialect: str) -> bool:
        """Can ``dialect`` read a raster at all (has it any raster function)?

        >>> load_catalogue().has_rasters("spatialite")
        False
        >>> load_catalogue().has_rasters("postgis")
        True
        """
        names = self.available(dialect)
        return any(f.category == "raster" and f.name in names for f in self.functions)

    def canonical_name(self, name: str) -> str:
        """Catalogue spelling of ``name``, or upper case for functions outside it.

        >>> load_catalogue().canonical_name("st_area")
        'ST_Area'
        >>> load_catalogue().canonical_name("nullif")
        'NULLIF'
        """
        f = self.get(name)
        return f.name if f else name.upper()

    def is_spatial(self, name: str) -> bool:
        f = self.get(name)
        return bool(f and f.spatial)


_INDEXES: dict[int, dict[str, Function]] = {}


def _index(cat: Catalogue) -> dict[str, Function]:
    key = id(cat)
    if key not in _INDEXES:
        _INDEXES[key] = {f.name.lower(): f for f in cat.functions}
    return _INDEXES[key]


def parse_signature(text: str, where: str) -> Signature:
    m = _SIG_RE.match(text)
    if not m:
        raise ConfigError(f"{where}: signature {text!r} is not 'type, type -> type'. Fix it.")
    raw = [a.strip() for a in m.group("args").split(",") if a.strip()]
    args: list[str] = []
    names: list[str | None] = []
    variadic = False
    for a in raw:
        if a.endswith("..."):
            variadic = True
            a = a[:-3].strip()
        name, _, typ = a.rpartition(":")
        typ = typ.strip()
        if typ not in ARG_TYPES:
            raise ConfigError(
                f"{where}: unknown argument type {typ!r} in {text!r}. "
                f"Use one of {', '.join(ARG_TYPES)}."
            )
        args.append(typ)
        names.append(name.strip() or None)
    ret = m.group("ret")
    if ret not in ARG_TYPES:
        raise ConfigError(f"{where}: unknown return type {ret!r} in {text!r}.")
    return Signature(tuple(args), ret, tuple(names) if any(names) else (), variadic)


def read_catalogue(path: Path) -> Catalogue:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    functions: list[Function] = []
    for section, spatial in (("spatial", True), ("standard", False)):
        for name, spec in (data.get(section) or {}).items():
            where = f"{path} {section}.{name}"
            sigs = tuple(parse_signature(s, where) for s in spec.get("sig", []))
            functions.append(
                Function(
                    name=name,
                    category=spec["category"],
                    signatures=sigs,
                    spatial=spatial,
                    applies_to=tuple(spec.get("applies_to") or ()),
                    aggregate=bool(spec.get("aggregate", spec["category"] == "aggregate")),
                    aggregate_when_args=spec.get("aggregate_when_args"),
                    window=bool(spec.get("window", False)),
                    phrase=spec.get("phrase", ""),
                    spatialite=spec.get("spatialite", name) if "spatialite" in spec else name,
                    duckdb=spec.get("duckdb", name) if "duckdb" in spec else name,
                    fields=tuple(spec.get("fields") or ()),
                )
            )
    return Catalogue(tuple(functions))


@lru_cache(maxsize=1)
def load_catalogue() -> Catalogue:
    """The bundled catalogue (cached)."""
    return read_catalogue(grammar_dir() / CATALOGUE_FILE)


CATALOGUE_FILE = "functions.yaml"


def catalogue_for(grammar: Path | None) -> Catalogue:
    """The catalogue that goes with the grammar file ``grammar``: the ``functions.yaml``
    beside it when its folder has one (a grammar folder is the language: rules and
    functions), the bundled catalogue otherwise (and for ``None``). The expander offers,
    and the binder accepts, only the functions of this catalogue (docs/grammar.md).

    >>> catalogue_for(None) is load_catalogue()
    True
    """
    if grammar is None:
        return load_catalogue()
    path = Path(grammar).parent / CATALOGUE_FILE
    if not path.is_file() or path.resolve() == (grammar_dir() / CATALOGUE_FILE).resolve():
        return load_catalogue()
    return _read_beside(path.resolve())


@lru_cache(maxsize=8)
def _read_beside(path: Path) -> Catalogue:
    try:
        return read_catalogue(path)
    except (OSError, yaml.YAMLError, KeyError, AttributeError, TypeError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise ConfigError(
            f"{path}: not a function catalogue ({first}). Fix the file, or remove it to "
            "use the bundled grammar/functions.yaml."
        ) from None
