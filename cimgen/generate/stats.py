"""Summary figures of a generation run (stats.json; the report and the summary table)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from cimgen.check.base import ERROR, NO_ERROR, NOT_CHECKABLE, OK, PLANNED
from cimgen.check.execute import agree
from cimgen.generate.work import Outcome
from cimgen.models import FEATURE_NAMES, FIDELITY_COUNTS, Quality


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


@dataclass
class RunStats:
    tolerance: float = 0.005
    dialect: str = "postgis"
    candidates: int = 0
    expansion_failed: int = 0
    accepted: int = 0
    rejected: int = 0
    rejected_by_code: Counter[str] = field(default_factory=Counter)
    rejected_by_stage: Counter[str] = field(default_factory=Counter)
    engines: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    agreement: Counter[str] = field(default_factory=Counter)
    fidelity_hits: Counter[str] = field(default_factory=Counter)
    fidelity_all: int = 0
    fidelity_n: int = 0
    per_type: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    functions: Counter[str] = field(default_factory=Counter)
    tables: Counter[str] = field(default_factory=Counter)
    scores: list[float] = field(default_factory=list)
    accepted_sql: set[str] = field(default_factory=set)
    accepted_shapes: Counter[str] = field(default_factory=Counter)
    novel_shapes: int = 0
    questions: set[str] = field(default_factory=set)
    unverified_accepted: int = 0
    # per engine, over the accepted rows: n, ok (executed), nonempty, and the other statuses
    accepted_engines: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, o: Outcome, quality: Quality, accepted: bool, stage1_shapes: set[str]) -> None:
        self.candidates += 1
        kind = self.per_type[o.structure.sql_type]
        kind["candidates"] += 1
        if o.candidate is None:
            self.expansion_failed += 1
        for engine, result in o.engines.items():
            counts = self.engines[engine]
            counts["n"] += 1
            counts[result.status] += 1
            kind[f"{engine}_n"] += int(result.status != NOT_CHECKABLE)
            kind[f"{engine}_ok"] += int(result.status in NO_ERROR)
        duck, pg = o.engines.get("duckdb"), o.engines.get("postgis")
        if duck and pg and duck.status == OK and pg.status == OK and pg.rows is not None:
            self.agreement["n"] += 1
            self.agreement["agree"] += int(agree(duck.digest, pg.digest, self.tolerance))
        lite = o.engines.get("spatialite")
        if lite is not None and lite.status == OK:
            for other in ("duckdb", "postgis"):
                r = o.engines.get(other)
                if r is not None and r.status == OK and r.digest is not None:
                    self.agreement[f"spatialite~{other}_n"] += 1
                    self.agreement[f"spatialite~{other}"] += int(
                        agree(lite.digest, r.digest, self.tolerance)
                    )
        if o.features is not None:
            self.fidelity_n += 1
            miss = o.structure.mismatches(o.features, FEATURE_NAMES)
            for name in FEATURE_NAMES:
                self.fidelity_hits[name] += int(name not in miss)
            self.fidelity_all += int(not any(n in miss for n in FIDELITY_COUNTS))
        if accepted:
            self._accept(o, quality, stage1_shapes)
            kind["accepted"] += 1
        else:
            self.rejected += 1
            errors = [f for f in o.findings if f.severity == "error"]
            first = errors[0] if errors else None
            code = (
                first.code
                if first
                else next((r.split(" ")[0] for r in quality.reasons), "threshold")
            )
            self.rejected_by_code[code] += 1
            self.rejected_by_stage[first.stage if first else "score"] += 1

    def _accept(self, o: Outcome, quality: Quality, stage1_shapes: set[str]) -> None:
        self.accepted += 1
        self.scores.append(quality.score)
        cand = o.candidate
        assert cand is not None
        self.accepted_sql.add(cand.sql_postgis)
        self.questions.add(cand.question)
        if o.fingerprint:
            if o.fingerprint not in stage1_shapes and o.fingerprint not in self.accepted_shapes:
                self.novel_shapes += 1
            self.accepted_shapes[o.fingerprint] += 1
        self.functions.update(cand.spatial_functions)
        self.tables.update(cand.tables)
        if all(r.status == NOT_CHECKABLE for r in o.engines.values()):
            self.unverified_accepted += 1
        for engine, result in o.engines.items():
            counts = self.accepted_engines[engine]
            counts["n"] += 1
            counts[result.status] += 1
            counts["nonempty"] += int(result.status == OK and bool(result.rows))

    def _dialects(self) -> dict[str, Any]:
        """Per dialect, over the accepted rows: the share its SQL executed and the share
        that returned rows. PostGIS text runs on PostGIS only with --postgis; without it
        the figures are DuckDB's (the same AST rendered for DuckDB), named in ``engine``."""
        out: dict[str, Any] = {}
        pg_engine = "postgis" if "postgis" in self.accepted_engines else "duckdb"
        for dialect, engine in (("postgis", pg_engine), ("spatialite", "spatialite")):
            c = self.accepted_engines.get(engine)
            if not c:
                out[dialect] = {"engine": engine, "ran": False, "target": dialect == self.dialect}
                continue
            out[dialect] = {
                "engine": engine,
                "ran": True,
                "target": dialect == self.dialect,
                "rows": self.accepted,
                "executed": c[OK],
                "executed_pct": _pct(c[OK], self.accepted),
                "nonempty": c["nonempty"],
                "nonempty_pct": _pct(c["nonempty"], self.accepted),
                "not_checkable": c[NOT_CHECKABLE],
                "errors": c[ERROR],
                "timeouts": c[PLANNED],
            }
        return out

    def top_rejection(self) -> str:
        if not self.rejected_by_code:
            return "none"
        code, n = self.rejected_by_code.most_common(1)[0]
        return f"{code} ({n} of {self.rejected} rejections)"

    def to_dict(self) -> dict[str, Any]:
        engines: dict[str, Any] = {}
        for engine, c in sorted(self.engines.items()):
            checkable = c["n"] - c[NOT_CHECKABLE]
            ok = c[OK] + c[PLANNED]
            engines[engine] = {
                "n": checkable,
                "ok": ok,
                "ok_pct": _pct(ok, checkable),
                "executed": c[OK],
                "planned": c[PLANNED],
                "not_checkable": c[NOT_CHECKABLE],
                "errors": c[ERROR],
            }
        scores = sorted(self.scores)

        def q(p: float) -> float:
            return round(scores[min(len(scores) - 1, int(p * len(scores)))], 4) if scores else 0.0

        per_type = {}
        for name, c in sorted(self.per_type.items()):
            per_type[name] = {
                "candidates": c["candidates"],
                "accepted": c["accepted"],
                "accept_pct": _pct(c["accepted"], c["candidates"]),
                **{f"{e}_ok_pct": _pct(c[f"{e}_ok"], c[f"{e}_n"]) for e in sorted(self.engines)},
            }
        n_shapes = len(self.accepted_shapes)
        return {
            "candidates": self.candidates,
            "expansion_failed": self.expansion_failed,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_code": dict(self.rejected_by_code.most_common()),
            "rejected_by_stage": dict(self.rejected_by_stage.most_common()),
            "engines": engines,
            "accepted_unverified": self.unverified_accepted,
            "dialects": self._dialects(),
            "agreement": {
                "n": self.agreement["n"],
                "agree": self.agreement["agree"],
                "agree_pct": _pct(self.agreement["agree"], self.agreement["n"]),
                **{
                    pair: {
                        "n": self.agreement[f"{pair}_n"],
                        "agree": self.agreement[pair],
                        "agree_pct": _pct(self.agreement[pair], self.agreement[f"{pair}_n"]),
                    }
                    for pair in ("spatialite~duckdb", "spatialite~postgis")
                    if self.agreement[f"{pair}_n"]
                },
            },
            "fidelity": {
                "n": self.fidelity_n,
                "five_counts_pct": _pct(self.fidelity_all, self.fidelity_n),
                "per_feature_pct": {
                    k: _pct(self.fidelity_hits[k], self.fidelity_n) for k in FEATURE_NAMES
                },
            },
            "novelty": {
                "distinct_sql_pct": _pct(len(self.accepted_sql), self.accepted),
                "distinct_shapes": n_shapes,
                "distinct_shapes_pct": _pct(n_shapes, self.accepted),
                "novel_shape_pct": _pct(self.novel_shapes, n_shapes),
            },
            "questions": {"distinct_pct": _pct(len(self.questions), len(self.accepted_sql))},
            "quality": {
                "mean": round(sum(scores) / len(scores), 4) if scores else 0.0,
                "min": q(0.0),
                "p10": q(0.1),
                "p50": q(0.5),
            },
            "per_sql_type": per_type,
            "coverage": {
                "functions": dict(self.functions.most_common()),
                "tables": dict(self.tables.most_common()),
            },
        }
