"""What every field of a ``dataset.jsonl`` row means: the card's field table.

Keep :data:`FIELDS` in step with the pipeline's writer (cimgen/generate/records.py);
tests/test_report.py fails on a field a real row has and this table does not document.
"""

from __future__ import annotations

from typing import Any

from cimgen.models import FEATURE_NAMES, NUMERIC_FEATURES

# Every field of a dataset.jsonl row ("a.b" for nested keys). Keep in step with the
# pipeline's writer; tests/test_report.py fails on an undocumented field.
FIELDS: dict[str, str] = {
    "id": "Stable sample id (`s2_…`), unique within the dataset.",
    "question": "Natural-language question the SQL answers (English, template-generated).",
    "instruction": "Instruction prompt for instruction-tuned models: the task, the tables "
    "the query uses, then the question.",
    "schema_context": "DDL (CREATE TABLE with columns and types) of exactly the tables the "
    "query uses, for the prompt of a text-to-SQL model.",
    "sql": "The query in the dataset's target dialect (`dialect`): `sql_postgis` or "
    "`sql_spatialite`.",
    "dialect": "The target dialect of `sql`: `postgis` (default) or `spatialite` (`cimgen "
    "generate --dialect spatialite`: every row ran on SpatiaLite).",
    "sql_postgis": "The query in PostGIS SQL (canonical rendering, read-only SELECT/WITH).",
    "sql_spatialite": "The same query for SpatiaLite, or null when it uses something "
    "SpatiaLite lacks (e.g. raster functions). Whether it ran: `checks.spatialite`.",
    "sql_type": "Query family: SIMPLE_SELECT, SPATIAL_JOIN, AGGREGATION, NESTED_QUERY, "
    "MULTI_JOIN, SPATIAL_MEASUREMENT, RASTER_VECTOR or SPATIAL_CLUSTERING.",
    "difficulty_level": "EASY, MEDIUM, HARD or EXPERT (from the complexity score).",
    "question_tone": "Tone of the question (e.g. DIRECT, INTERROGATIVE, DESCRIPTIVE).",
    "usage_frequency": "How often such a query is expected in practice (frequent / rare ...).",
    "database_schema": "The part of the database the query touches.",
    "database_schema.schemas": "Schemas used (cim_vector, cim_census, cim_raster).",
    "database_schema.tables": "Tables used, schema-qualified.",
    "spatial_functions": "Spatial functions called, catalogue spelling (e.g. ST_Intersects).",
    "spatial_function_count": "Number of spatial function calls.",
    "structure": "The structure vector sampled from the SDV model that the query was built "
    "from (same keys as `features`).",
    "features": "Structure features re-extracted from `sql_postgis` with PostgreSQL's parser "
    "(docs/features.md).",
    "quality": "The quality score and verdict.",
    "quality.score": "Weighted overall score in [0, 1].",
    "quality.breakdown": "Per-dimension scores: syntactic, schema, semantic, complexity, "
    "diversity.",
    "quality.accepted": "Whether the sample passed the filter (always true in dataset.jsonl).",
    "quality.reasons": "Why it was rejected (empty for accepted samples).",
    "checks": "Per-check outcomes.",
    "checks.grammar": "`ok` when the PostGIS SQL parses with the cimgen grammar.",
    "checks.postgres_parse": "`ok` when PostgreSQL's own parser (pglast) accepts the SQL as "
    "one read-only statement.",
    "checks.bind": "`ok` when every table and column binds against the schema.",
    "checks.static": "`ok` when the static rules (SRIDs, units, cartesian products) pass.",
    "checks.duckdb": "DuckDB spatial execution on the fixture database: {status, rows, "
    "reason}; `status` ok / planned / not_checkable / error, `rows` the result size when "
    "executed, `reason` why it was not (e.g. a raster function DuckDB lacks); `repeats` "
    "(rejected rows only) how many result rows repeat an earlier one.",
    "checks.postgis": "PostGIS execution: {status, rows, reason}; `not_run` (with the "
    "reason) on samples no engine executed when no PostGIS server was given.",
    "checks.spatialite": "SpatiaLite execution of `sql_spatialite` on the fixture database "
    "(when SpatiaLite is installed): {status, rows, reason}; status `not_checkable` when "
    "there is no SpatiaLite form.",
    "provenance": "Where the sample came from.",
    "provenance.tool": "Generator name (`cimgen`).",
    "provenance.version": "cimgen version.",
    "provenance.synthesizer": "SDV synthesizer that sampled the structure.",
    "provenance.model_hash": "SHA-256 of the saved structure model.",
    "provenance.seed": "Run seed.",
    "provenance.round": "Generation round the sample was produced in.",
    "provenance.index": "Index of the structure within its round.",
    "stage": "Always `stage2_cimgen`.",
    "result": "The result that counts (docs/generate.md): {engine, rows, empty, empty_on_purpose}.",
    "result.engine": "The engine whose result counts: SpatiaLite for the SpatiaLite dialect; "
    "else PostGIS when it executed the query, else DuckDB; null when none executed it.",
    "result.rows": "Rows the query returned on that engine (null when not executed).",
    "result.empty": "Whether that result was empty.",
    "result.empty_on_purpose": "An empty result kept on purpose, within `--empty-share` "
    "(a question whose honest answer is none).",
    "relaxed": "Only when the expansion had to relax the sampled structure: the features "
    "that differ from `structure` (docs/expansion.md).",
    "unsupported": "Only when a dialect has no rendering: {backend: why}, e.g. "
    '`{"spatialite": "raster function ST_Value"}`.',
}
for _name in FEATURE_NAMES:  # both structure vectors share the feature names
    _kind = "count" if _name in NUMERIC_FEATURES else "category"
    FIELDS.setdefault(f"features.{_name}", f"Re-extracted {_name} ({_kind}).")
    FIELDS.setdefault(f"structure.{_name}", f"Sampled {_name} ({_kind}).")

TOP_LEVEL = (
    "id",
    "question",
    "instruction",
    "schema_context",
    "sql",
    "dialect",
    "sql_postgis",
    "sql_spatialite",
    "sql_type",
    "difficulty_level",
    "question_tone",
    "usage_frequency",
    "database_schema",
    "spatial_functions",
    "spatial_function_count",
    "structure",
    "features",
    "quality",
    "checks",
    "provenance",
    "stage",
    "result",
    "relaxed",
    "unsupported",
)


_FREE_FORM = frozenset({"unsupported"})  # maps whose keys vary per row (backend names)


def undocumented(row: dict[str, Any]) -> list[str]:
    """Keys of a dataset row (one level of nesting) that :data:`FIELDS` does not document."""
    missing = []
    for key, value in row.items():
        if key not in FIELDS:
            missing.append(key)
        if isinstance(value, dict) and key in FIELDS and key not in _FREE_FORM:
            missing.extend(f"{key}.{sub}" for sub in value if f"{key}.{sub}" not in FIELDS)
    return missing
