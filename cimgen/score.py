"""The plan's quality score: five weighted dimensions computed from a query's findings.

Weights (defaults from STAGE2_SDV_PLAN.md): syntactic validity 0.30, schema compliance 0.30,
semantic coherence 0.20, complexity match 0.10, diversity 0.10. A sample is accepted when
the overall score and each thresholded dimension reach their thresholds (overall ≥ 0.70,
syntactic ≥ 0.90, schema ≥ 0.80, semantic ≥ 0.60, diversity ≥ 0.50) -- and no finding of
severity "error" remains. Every rejection lists its reasons (finding codes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cimgen.check.base import ERROR, NOT_CHECKABLE, OK, PLANNED, EngineResult
from cimgen.codes import CPX001, CPX002, CPX003, DIV001, DIV002, STA001, SYN001, SYN002
from cimgen.models import FIDELITY_COUNTS, Finding, Quality

DIMENSIONS = ("syntactic", "schema", "semantic", "complexity", "diversity")


@dataclass(frozen=True)
class ScoreConfig:
    weights: dict[str, float] = field(
        default_factory=lambda: {
            "syntactic": 0.30,
            "schema": 0.30,
            "semantic": 0.20,
            "complexity": 0.10,
            "diversity": 0.10,
        }
    )
    thresholds: dict[str, float] = field(
        default_factory=lambda: {
            "overall": 0.70,
            "syntactic": 0.90,
            "schema": 0.80,
            "semantic": 0.60,
            "diversity": 0.50,
        }
    )
    # Semantic score when no engine could run the query (e.g. raster SQL, no PostGIS).
    unverified_semantic: float = 0.60
    # Semantic score when an engine planned it without error but did not finish it in time.
    planned_semantic: float = 0.80
    empty_result_penalty: float = 0.10


def _syntactic(codes: list[str]) -> float:
    score = 1.0
    if SYN001 in codes:
        score -= 0.5
    if SYN002 in codes or STA001 in codes:
        score -= 0.5
    return max(0.0, score)


def _schema(findings: list[Finding]) -> float:
    errors = sum(1 for f in findings if f.code.startswith("BND") and f.severity == "error")
    warnings = sum(1 for f in findings if f.code.startswith("BND") and f.severity == "warning")
    return max(0.0, 1.0 - 0.25 * errors - 0.05 * warnings)


def _semantic(findings: list[Finding], engines: dict[str, EngineResult], cfg: ScoreConfig) -> float:
    statuses = {name: r.status for name, r in engines.items()}
    if any(s == ERROR for s in statuses.values()):
        return 0.0
    executed = [r for r in engines.values() if r.status == OK and r.rows is not None]
    if any(r.status == OK for r in engines.values()):
        score = 1.0
    elif PLANNED in statuses.values():
        score = cfg.planned_semantic
    else:
        score = cfg.unverified_semantic
    if executed and all(r.rows == 0 for r in executed):
        score -= cfg.empty_result_penalty
    static_errors = sum(
        1 for f in findings if f.stage == "static" and f.severity == "error" and f.code != STA001
    )
    score -= 0.4 * static_errors
    if statuses and all(s == NOT_CHECKABLE for s in statuses.values()):
        score = min(score, cfg.unverified_semantic)
    return max(0.0, score)


def _complexity(findings: list[Finding]) -> float:
    if any(f.code == CPX003 for f in findings):
        return 0.0
    misses = sum(1 for f in findings if f.code == CPX001)
    warnings = sum(1 for f in findings if f.code == CPX002)
    return max(0.0, 1.0 - misses / len(FIDELITY_COUNTS) - 0.05 * warnings)


def score(
    findings: list[Finding],
    engines: dict[str, EngineResult] | None = None,
    diversity: float = 1.0,
    config: ScoreConfig | None = None,
) -> Quality:
    """Score one query from its findings, engine results and diversity score."""
    cfg = config or ScoreConfig()
    codes = [f.code for f in findings]
    breakdown = {
        "syntactic": _syntactic(codes),
        "schema": _schema(findings),
        "semantic": _semantic(findings, engines or {}, cfg),
        "complexity": _complexity(findings),
        "diversity": 0.0 if any(c in (DIV001, DIV002) for c in codes) else diversity,
    }
    overall = sum(cfg.weights[d] * breakdown[d] for d in DIMENSIONS)
    reasons = [f"{f.code}: {f.message}" for f in findings if f.severity == "error"]
    for dim, threshold in cfg.thresholds.items():
        value = overall if dim == "overall" else breakdown[dim]
        if value < threshold:
            reasons.append(f"{dim} {value:.2f} < {threshold:.2f}")
    return Quality(score=overall, breakdown=breakdown, accepted=not reasons, reasons=tuple(reasons))
