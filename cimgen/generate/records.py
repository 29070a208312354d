"""Output records of ``cimgen generate``: Stage 1-compatible fields plus structure,
re-extracted features, quality, checks and provenance (docs/generate.md)."""

from __future__ import annotations

from typing import Any

from cimgen import __version__
from cimgen.generate.work import Outcome
from cimgen.models import Quality

STAGE = "stage2_cimgen"


def _checks(outcome: Outcome) -> dict[str, Any]:
    codes = {f.code for f in outcome.findings if f.severity == "error"}
    out: dict[str, Any] = {
        "grammar": "error" if "SYN001" in codes else "ok",
        "postgres_parse": "error" if codes & {"SYN002", "STA001"} else "ok",
        "bind": "error" if any(c.startswith("BND") for c in codes) else "ok",
        "static": "error" if any(c.startswith("STA") for c in codes) else "ok",
    }
    for engine, result in sorted(outcome.engines.items()):
        out[engine] = result.to_dict()
    return out


def dataset_record(
    outcome: Outcome,
    quality: Quality,
    provenance: dict[str, Any],
    difficulty_fallback: str | None = None,
    dialect: str = "postgis",
) -> dict[str, Any]:
    """One output row. ``sql`` is the row's SQL in the target ``dialect`` (named by
    ``dialect``): ``sql_spatialite`` for SpatiaLite, else ``sql_postgis``; both are kept."""
    cand = outcome.candidate
    s = outcome.structure
    sql = None
    if cand:
        sql = cand.sql_spatialite if dialect == "spatialite" else cand.sql_postgis
    record: dict[str, Any] = {
        "id": cand.id if cand else f"s2_{outcome.index:07d}",
        "question": cand.question if cand else None,
        "instruction": cand.instruction if cand else None,
        "sql": sql,
        "dialect": dialect,
        "sql_postgis": cand.sql_postgis if cand else None,
        "sql_spatialite": cand.sql_spatialite if cand else None,
        "sql_type": s.sql_type,
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
    if cand and cand.unsupported:
        record["unsupported"] = dict(cand.unsupported)
    return record


def rejected_record(
    outcome: Outcome, quality: Quality, provenance: dict[str, Any], dialect: str = "postgis"
) -> dict[str, Any]:
    record = dataset_record(outcome, quality, provenance, dialect=dialect)
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
