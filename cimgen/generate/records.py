"""Output records of ``cimgen generate``: Stage 1-compatible fields plus structure,
re-extracted features, quality, checks and provenance (docs/generate.md)."""

from __future__ import annotations

from typing import Any

from cimgen import __version__
from cimgen.codes import STA001, SYN001, SYN002
from cimgen.generate.work import Outcome
from cimgen.models import Candidate, Quality
from cimgen.schema.model import Schema

STAGE = "stage2_cimgen"
NO_POSTGIS = "not run: no PostGIS server given (--postgis)"


_CONTEXTS: dict[tuple[int, tuple[str, ...]], tuple[Schema, str]] = {}


def schema_context(schema: Schema, tables: tuple[str, ...]) -> str:
    """The DDL (CREATE TABLE, columns and types) of exactly the tables a query uses: what
    a fine-tuning prompt needs to know about the database. Cached per schema object and
    table set (a run has few distinct sets; hashing a whole schema per row would cost more)."""
    from cimgen.schema.export import tables_ddl

    key = (id(schema), tables)
    cached = _CONTEXTS.get(key)
    if cached is None or cached[0] is not schema:
        if len(_CONTEXTS) > 4096:
            _CONTEXTS.clear()
        cached = _CONTEXTS[key] = (schema, tables_ddl(schema, tables))
    return cached[1]


def instruction(cand: Candidate, schema: Schema, dialect: str = "postgis") -> str:
    """The candidate's question as an instruction for the target ``dialect``, with the
    tables the query uses named before the question (their columns are in
    ``schema_context``): built by :func:`cimgen.question.instruction`, which owns the
    wording."""
    from cimgen.question import instruction as ask_for

    return ask_for(cand.question, schema, dialect, cand.tables)


def _checks(outcome: Outcome) -> dict[str, Any]:
    codes = {f.code for f in outcome.findings if f.severity == "error"}
    out: dict[str, Any] = {
        "grammar": "error" if SYN001 in codes else "ok",
        "postgres_parse": "error" if codes & {SYN002, STA001} else "ok",
        "bind": "error" if any(c.startswith("BND") for c in codes) else "ok",
        "static": "error" if any(c.startswith("STA") for c in codes) else "ok",
    }
    for engine, result in sorted(outcome.engines.items()):
        out[engine] = result.to_dict()
    if not any(r.executed for r in outcome.engines.values()) and "postgis" not in outcome.engines:
        out["postgis"] = {"status": "not_run", "reason": NO_POSTGIS}
    return out


def dataset_record(
    outcome: Outcome,
    quality: Quality,
    provenance: dict[str, Any],
    difficulty_fallback: str | None = None,
    schema: Schema | None = None,
    dialect: str = "postgis",
    context: bool = True,
) -> dict[str, Any]:
    """One output row. ``sql`` is the row's SQL in the target ``dialect`` (named by
    ``dialect``): ``sql_spatialite`` for SpatiaLite, else ``sql_postgis``; both are kept.
    ``instruction`` and ``schema_context`` (unless ``context`` is off) need the ``schema``."""
    cand = outcome.candidate
    s = outcome.structure
    sql = None
    if cand:
        sql = cand.sql_spatialite if dialect == "spatialite" else cand.sql_postgis
    record: dict[str, Any] = {
        "id": cand.id if cand else f"s2_{outcome.index:07d}",
        "question": cand.question if cand else None,
        "instruction": instruction(cand, schema, dialect) if cand and schema else None,
        "schema_context": schema_context(schema, cand.tables)
        if cand and schema and context
        else None,
        "sql": sql,
        "dialect": dialect,
        "sql_postgis": cand.sql_postgis if cand else None,
        "sql_spatialite": cand.sql_spatialite if cand else None,
        # the label of the SQL as built (derived by the documented rule), not the sampled one
        "sql_type": outcome.features.sql_type if outcome.features else s.sql_type,
        "difficulty_level": s.difficulty_level or difficulty_fallback,
        "question_tone": s.question_tone,
        "usage_frequency": s.usage_frequency,
        "database_schema": {
            "schemas": sorted({t.split(".")[0] for t in cand.tables}) if cand else [],
            "tables": list(cand.tables) if cand else [],
        },
        "spatial_functions": list(cand.spatial_functions) if cand else [],
        "spatial_function_count": outcome.features.spatial_function_count
        if outcome.features
        else None,
        "structure": s.to_dict(),
        "features": outcome.features.to_dict() if outcome.features else None,
        "quality": quality.to_dict(),
        "checks": _checks(outcome),
        "provenance": {**provenance, "index": outcome.index},
        "stage": STAGE,
    }
    engine, rows = outcome.result(dialect)
    record["result"] = {
        "engine": engine,
        "rows": rows,
        "empty": rows == 0 if rows is not None else None,
    }
    if cand and cand.relaxed:
        record["relaxed"] = list(cand.relaxed)
    if cand and cand.unsupported:
        record["unsupported"] = dict(cand.unsupported)
    return record


def rejected_record(
    outcome: Outcome,
    quality: Quality,
    provenance: dict[str, Any],
    dialect: str = "postgis",
    schema: Schema | None = None,
) -> dict[str, Any]:
    """A rejected candidate with its findings (no ``schema_context``: it is for debugging,
    not for training, and the DDL would only make the file bigger)."""
    record = dataset_record(
        outcome, quality, provenance, schema=schema, dialect=dialect, context=False
    )
    record["findings"] = [f.to_dict() for f in outcome.findings]
    return record


def provenance(synthesizer: str, model_hash: str, seed: int) -> dict[str, Any]:
    return {
        "tool": "cimgen",
        "version": __version__,
        "synthesizer": synthesizer,
        "model_hash": model_hash,
        "seed": seed,
    }
