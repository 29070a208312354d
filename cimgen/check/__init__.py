"""The check stage: every check is ``check(subject, context) -> list[Finding]`` with stable
codes (docs/checks.md), registered here in the order they run.

Later checks use what earlier ones learned (the grammar check keeps the AST for binding
and static rules; the DuckDB check renders from that AST). The quality score is computed
from the findings (:mod:`cimgen.score`), so every rejection says why.
"""

from __future__ import annotations

from cimgen.check.base import (
    CheckContext,
    CheckOptions,
    EngineResult,
    Subject,
)
from cimgen.check.diversity import DiversityState, check_diversity
from cimgen.check.execute import (
    DuckDBRunner,
    PostgisRunner,
    SpatialiteRunner,
    agree,
    check_duckdb,
    check_postgis,
    check_spatialite,
)
from cimgen.check.fidelity import check_complexity
from cimgen.check.purpose import PURPOSE_CHECKS
from cimgen.check.result import check_clustering, check_result
from cimgen.check.static import check_cartesian, check_cost, check_mixed_srid, check_units
from cimgen.check.syntax import check_binding, check_grammar, check_postgres_parse
from cimgen.codes import DIV001, DIV002, STA001, SYN001, SYN002
from cimgen.models import Finding

# (name, function): the registry, in running order.
CHECKS = (
    ("grammar", check_grammar),
    ("postgres_parse", check_postgres_parse),
    ("bind", check_binding),
    ("srid", check_mixed_srid),
    ("units", check_units),
    ("cartesian", check_cartesian),
    ("cost", check_cost),
    *PURPOSE_CHECKS,
    ("complexity", check_complexity),
    ("diversity", check_diversity),
    ("duckdb", check_duckdb),
    ("postgis", check_postgis),
    ("spatialite", check_spatialite),
    ("result", check_result),  # RES002/RES003 on the result of the engine that counts
    ("clustering", check_clustering),  # RES004-RES006: labels that tell nothing apart
)
CHECK_NAMES = tuple(name for name, _ in CHECKS)
PURPOSE = tuple(name for name, _ in PURPOSE_CHECKS)  # the static rules of purpose
_BLOCKING = {SYN001, SYN002, STA001}  # no point executing what does not parse
_EXECUTION = ("duckdb", "postgis", "spatialite")


def run_checks(
    subject: Subject, ctx: CheckContext, only: tuple[str, ...] | None = None
) -> list[Finding]:
    """Run the registered checks (or ``only`` those named) and return all findings.

    Execution checks are skipped for a query that does not parse or is not read-only;
    a query the diversity check already rejects is not executed either (it cannot be
    accepted, and execution is the expensive part). SpatiaLite, the slowest engine, runs
    last and only for a query no earlier check rejected.
    """
    findings: list[Finding] = []
    for name, check in CHECKS:
        if only is not None and name not in only:
            continue
        if name in _EXECUTION and any(
            f.code in _BLOCKING or f.code in (DIV001, DIV002) for f in findings
        ):
            continue
        if name == "spatialite" and any(f.severity == "error" for f in findings):
            continue  # already rejected: SpatiaLite is the slowest engine, spare it
        findings.extend(check(subject, ctx))
    return findings


__all__ = [
    "CHECKS",
    "CHECK_NAMES",
    "CheckContext",
    "CheckOptions",
    "DiversityState",
    "DuckDBRunner",
    "EngineResult",
    "PostgisRunner",
    "SpatialiteRunner",
    "Subject",
    "agree",
    "run_checks",
]
