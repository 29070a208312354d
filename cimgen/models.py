"""The small frozen dataclasses passed between pipeline stages.

Stages talk through these, not through each other's internals:

ingest -> :class:`Stage1Record` -> features -> :class:`QueryFeatures` -> structure model
-> :class:`QueryFeatures` (a sampled *structure*) -> expand -> :class:`Candidate`
-> checks -> :class:`Finding` list -> score -> :class:`Quality`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

# --------------------------------------------------------------------------- findings

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    """Something a check found about one query. Data, not an exception.

    ``code`` is stable, declared with its stage and severities in :mod:`cimgen.codes`
    (listed in docs/checks.md), e.g. ``SYN001`` (grammar syntax error), ``BND002`` (unknown
    column), ``SEM001`` (DuckDB execution error); build one with :func:`cimgen.codes.finding`.
    ``stage`` names the check family: grammar, postgres_parse, bind, static, duckdb,
    postgis, complexity, diversity.
    """

    code: str
    stage: str
    message: str
    severity: str = "error"
    line: int | None = None
    column: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# --------------------------------------------------------------------------- Stage 1


@dataclass(frozen=True)
class Stage1Record:
    """One Stage 1 sample as read from the corpus.

    ``line`` is the 1-based line (or row) in the source file. Label fields are ``None``
    when the record does not carry them; :mod:`cimgen.features` derives them then.
    ``raw`` keeps the whole original record for pass-through.
    """

    id: str
    sql: str
    line: int
    question: str | None = None
    sql_type: str | None = None
    difficulty_level: str | None = None
    question_tone: str | None = None
    usage_frequency: str | None = None
    # record labels that are not structure features (docs/ingest.md): the corpus's own
    # schema_complexity (the feature is always read from the tree) and sample_dirtiness
    schema_complexity: str | None = None
    sample_dirtiness: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.raw) if self.raw else {"id": self.id, "sql_postgis": self.sql}


# --------------------------------------------------------------------------- features

# The feature vector. Its names are the columns of features.csv, of the structure model
# and of every sampled structure; docs/features.md defines each one.
NUMERIC_FEATURES = (
    "cte_count",
    "join_count",
    "subquery_count",
    "spatial_function_count",
    "table_count",
    "schema_count",
    "complexity_score",
    "predicate_count",
)
CATEGORICAL_FEATURES = (
    "sql_type",
    "difficulty_level",
    "schema_complexity",
    "usage_frequency",
    "question_tone",
    "primary_function_category",
    "aggregation",
    "order_limit",
    "set_operation",
    "has_window",
)
FEATURE_NAMES = NUMERIC_FEATURES + CATEGORICAL_FEATURES
FEATURE_SPEC_VERSION = 1

SQL_TYPES = (
    "SIMPLE_SELECT",
    "SPATIAL_JOIN",
    "AGGREGATION",
    "NESTED_QUERY",
    "MULTI_JOIN",
    "SPATIAL_MEASUREMENT",
    "RASTER_VECTOR",
    "SPATIAL_CLUSTERING",
)
DIFFICULTY_LEVELS = ("EASY", "MEDIUM", "HARD", "EXPERT")
SCHEMA_COMPLEXITIES = ("SINGLE_TABLE", "SINGLE_SCHEMA", "MULTI_SCHEMA")
AGGREGATIONS = ("NONE", "AGGREGATE", "GROUP_BY", "GROUP_BY_HAVING")
ORDER_LIMITS = ("NONE", "ORDER", "LIMIT", "ORDER_LIMIT")
SET_OPERATIONS = ("NONE", "UNION", "UNION_ALL", "INTERSECT", "EXCEPT")
# The five counts that structure fidelity is measured on.
FIDELITY_COUNTS = ("cte_count", "join_count", "table_count", "schema_count", "subquery_count")


@dataclass(frozen=True)
class QueryFeatures:
    """A query's structure vector: extracted from SQL, or sampled from the structure model.

    A *sampled structure* and the *re-extracted features* of the query built from it are
    both ``QueryFeatures``; comparing them measures structure fidelity.
    """

    cte_count: int = 0
    join_count: int = 0
    subquery_count: int = 0
    spatial_function_count: int = 0
    table_count: int = 1
    schema_count: int = 1
    complexity_score: int = 0
    predicate_count: int = 0
    sql_type: str = "SIMPLE_SELECT"
    difficulty_level: str = "EASY"
    schema_complexity: str = "SINGLE_TABLE"
    usage_frequency: str = "frequent"
    question_tone: str = "DIRECT"
    primary_function_category: str = "none"
    aggregation: str = "NONE"
    order_limit: str = "NONE"
    set_operation: str = "NONE"
    has_window: bool = False

    def to_dict(self) -> dict[str, Any]:
        # every field is a scalar: what asdict gives, without its per-value deepcopy (asdict
        # was a quarter of feature extraction, which runs for every record and candidate)
        return {name: getattr(self, name) for name in _QF_FIELDS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryFeatures:
        """Build from a mapping (e.g. a sampled DataFrame row), coercing types."""
        kwargs: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in data:
                continue
            value = data[f.name]
            if f.name in NUMERIC_FEATURES:
                kwargs[f.name] = round(float(value))
            elif f.name == "has_window":
                kwargs[f.name] = value in (True, "True", "true", 1, "1", "yes")
            else:
                kwargs[f.name] = str(value)
        return cls(**kwargs)

    def mismatches(
        self, other: QueryFeatures, names: tuple[str, ...] = FIDELITY_COUNTS
    ) -> dict[str, tuple[Any, Any]]:
        """``{feature: (self value, other value)}`` for each differing feature in ``names``."""
        return {
            n: (getattr(self, n), getattr(other, n))
            for n in names
            if getattr(self, n) != getattr(other, n)
        }


_QF_FIELDS = tuple(f.name for f in fields(QueryFeatures))


# --------------------------------------------------------------------------- candidates


@dataclass(frozen=True)
class Candidate:
    """A generated query: the structure it was built from, its AST and its renderings.

    ``sql_spatialite`` is ``None`` when the query uses something SpatiaLite lacks (e.g.
    raster functions); ``unsupported`` then says what.
    """

    id: str
    structure: QueryFeatures
    ast: Any
    sql_postgis: str
    sql_duckdb: str | None
    sql_spatialite: str | None
    question: str
    instruction: str
    tables: tuple[str, ...] = ()
    spatial_functions: tuple[str, ...] = ()
    unsupported: dict[str, str] = field(default_factory=dict, compare=False)
    findings: tuple[Finding, ...] = ()
    # structure features the expansion had to relax (a count, or the sql_type label)
    relaxed: tuple[str, ...] = ()
    # backend -> traceback of a renderer that raised something other than Unsupported
    render_defects: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class Quality:
    """The plan's quality score: weighted dimensions, thresholds, the verdict and why."""

    score: float
    breakdown: dict[str, float]
    accepted: bool
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "score": round(self.score, 4),
            "breakdown": {k: round(v, 4) for k, v in self.breakdown.items()},
            "accepted": self.accepted,
            "reasons": list(self.reasons),
        }
