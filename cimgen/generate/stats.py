"""Summary figures of a generation run (stats.json; the report and the summary table)."""

from __future__ import annotations

import hashlib
import math
from array import array
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from cimgen.check.base import ERROR, NO_ERROR, NOT_CHECKABLE, OK, PLANNED
from cimgen.check.execute import agree
from cimgen.generate.records import NO_POSTGIS
from cimgen.generate.work import Outcome
from cimgen.models import FEATURE_NAMES, FIDELITY_COUNTS, Quality

NOT_EXECUTED = "not executed"


def _pct(part: int, whole: int) -> float:
    return round(100.0 * part / whole, 2) if whole else 0.0


def _word_stats(words: Counter[int]) -> dict[str, float | int]:
    """Question length in words (split on white space), from a count per length: median
    and 90th percentile, the nearest-rank way (issue 17's targets are <= 25 and <= 45).

    >>> _word_stats(Counter({3: 1, 5: 2, 9: 1}))
    {'words_median': 5.0, 'words_p90': 9}
    """
    n = sum(words.values())
    if not n:
        return {"words_median": 0, "words_p90": 0}

    def nth(k: int) -> int:  # the k-th smallest length, 0-based
        for length in sorted(words):
            k -= words[length]
            if k < 0:
                return length
        raise IndexError(k)

    mid = n // 2
    median = nth(mid) if n % 2 else (nth(mid - 1) + nth(mid)) / 2
    return {"words_median": median, "words_p90": nth(min(n - 1, math.ceil(0.9 * n) - 1))}


def _digest(text: str) -> bytes:
    """16 bytes standing for a string in a distinct count."""
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def _rate(part: int, whole: int) -> float | None:
    """A percentage of something measured; None ("n/a") when nothing was measured."""
    return round(100.0 * part / whole, 2) if whole else None


# Result sizes of executed accepted samples, in rows: (label, lowest, highest or None).
SIZE_BINS = (("0", 0, 0), ("1", 1, 1), ("2-10", 2, 10), ("11-100", 11, 100), (">100", 101, None))
FIRST_DEFECTS = 5  # renderer tracebacks kept in stats.json


def size_bin(rows: int) -> str:
    """The SIZE_BINS label of a result of ``rows`` rows.

    >>> size_bin(0), size_bin(7), size_bin(5000)
    ('0', '2-10', '>100')
    """
    return next(label for label, lo, hi in SIZE_BINS if rows >= lo and (hi is None or rows <= hi))


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
    # per accepted row only what the figures need: a float, digests, counters (docs/scale.md)
    scores: array[float] = field(default_factory=lambda: array("d"))
    accepted_sql: set[bytes] = field(default_factory=set)  # digests of the SQL
    accepted_shapes: Counter[str] = field(default_factory=Counter)
    novel_shapes: int = 0
    questions: set[bytes] = field(default_factory=set)  # digests of the questions
    question_words: Counter[int] = field(default_factory=Counter)
    unverified_accepted: int = 0
    # accepted rows: fidelity and label agreement on what was kept, and result sizes
    accepted_five: int = 0
    label_agree: int = 0
    label_n: int = 0
    label_confusion: Counter[str] = field(default_factory=Counter)
    answer_sizes: Counter[str] = field(default_factory=Counter)  # on the strongest engine
    answers_by_engine: Counter[str] = field(default_factory=Counter)
    not_executed_accepted: int = 0
    unverified_reasons: Counter[tuple[str, str]] = field(default_factory=Counter)
    result_sizes: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    render_defects: Counter[str] = field(default_factory=Counter)
    first_defects: list[dict[str, Any]] = field(default_factory=list)
    # per engine, over the accepted rows: n, ok (executed), nonempty, and the other statuses
    accepted_engines: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def add(self, o: Outcome, quality: Quality, accepted: bool, stage1_shapes: set[str]) -> None:
        self.candidates += 1
        # the label the record carries: derived from the SQL as built, else the sampled one
        kind = self.per_type[o.features.sql_type if o.features else o.structure.sql_type]
        kind["candidates"] += 1
        if o.candidate is None:
            self.expansion_failed += 1
        else:
            for backend, trace in sorted(o.candidate.render_defects.items()):
                self.render_defects[backend] += 1
                if len(self.first_defects) < FIRST_DEFECTS:
                    self.first_defects.append(
                        {"index": o.index, "backend": backend, "traceback": trace}
                    )
        for engine, result in o.engines.items():
            counts = self.engines[engine]
            counts["n"] += 1
            counts[result.status] += 1
            kind[f"{engine}_n"] += int(result.status != NOT_CHECKABLE)
            kind[f"{engine}_ok"] += int(result.status in NO_ERROR)
            kind[f"{engine}_not_checkable"] += int(result.status == NOT_CHECKABLE)
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
        self.accepted_sql.add(_digest(cand.sql_postgis))
        self.questions.add(_digest(cand.question))
        self.question_words[len(cand.question.split())] += 1
        if o.fingerprint:
            if o.fingerprint not in stage1_shapes and o.fingerprint not in self.accepted_shapes:
                self.novel_shapes += 1
            self.accepted_shapes[o.fingerprint] += 1
        self.functions.update(cand.spatial_functions)
        self.tables.update(cand.tables)
        if all(r.status == NOT_CHECKABLE for r in o.engines.values()):
            self.unverified_accepted += 1
        if o.features is not None:
            self.accepted_five += int(not o.structure.mismatches(o.features, FIDELITY_COUNTS))
            self.label_n += 1
            agree_ = o.features.sql_type == o.structure.sql_type
            self.label_agree += int(agree_)
            if not agree_:
                self.label_confusion[f"{o.structure.sql_type} -> {o.features.sql_type}"] += 1
        best, rows = o.result(self.dialect)
        self.answers_by_engine[best or "none"] += 1
        self.answer_sizes[NOT_EXECUTED if rows is None else size_bin(rows)] += 1
        for engine, result in o.engines.items():
            if result.executed and result.rows is not None:
                self.result_sizes[engine][size_bin(result.rows)] += 1
        if not any(r.executed for r in o.engines.values()):
            # accepted, but nothing ran it to the end: say why, per engine
            self.not_executed_accepted += 1
            for engine, result in sorted(o.engines.items()):
                self.unverified_reasons[(engine, result.reason or result.status)] += 1
            if "postgis" not in o.engines:
                self.unverified_reasons[("postgis", NO_POSTGIS)] += 1
        for engine, result in o.engines.items():
            counts = self.accepted_engines[engine]
            counts["n"] += 1
            counts[result.status] += 1
            counts["nonempty"] += int(result.status == OK and bool(result.rows))

    def results(self) -> dict[str, Any]:
        """Result sizes of the accepted samples on the strongest engine that ran each one
        (PostGIS before DuckDB): the share that answers with at least one row."""
        executed = sum(n for b, n in self.answer_sizes.items() if b != NOT_EXECUTED)
        empty = self.answer_sizes.get("0", 0)
        return {
            "executed": executed,
            "nonempty_pct": _pct(executed - empty, executed),
            "empty": empty,
            "not_executed": self.answer_sizes.get(NOT_EXECUTED, 0),
            "sizes": {label: self.answer_sizes.get(label, 0) for label, _, _ in SIZE_BINS},
            "engine": dict(self.answers_by_engine),
        }

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
                "ok_pct": _rate(ok, checkable),
                "executed": c[OK],
                "planned": c[PLANNED],
                "not_checkable": c[NOT_CHECKABLE],
                "errors": c[ERROR],
            }
        scores = sorted(self.scores)

        def q(p: float) -> float:
            return round(scores[min(len(scores) - 1, int(p * len(scores)))], 4) if scores else 0.0

        per_type: dict[str, dict[str, Any]] = {}
        for name, c in sorted(self.per_type.items()):
            per_type[name] = {
                "candidates": c["candidates"],
                "accepted": c["accepted"],
                "accept_pct": _pct(c["accepted"], c["candidates"]),
            }
            for e in sorted(self.engines):  # ok % of the checkable; None when none was
                per_type[name][f"{e}_checked"] = c[f"{e}_n"]
                per_type[name][f"{e}_not_checkable"] = c[f"{e}_not_checkable"]
                per_type[name][f"{e}_ok_pct"] = _rate(c[f"{e}_ok"], c[f"{e}_n"])
        n_shapes = len(self.accepted_shapes)
        return {
            "candidates": self.candidates,
            "expansion_failed": self.expansion_failed,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_code": dict(self.rejected_by_code.most_common()),
            "rejected_by_stage": dict(self.rejected_by_stage.most_common()),
            "engines": engines,
            "accepted_unverified": self.unverified_accepted,  # no engine could check it
            "accepted_not_executed": self.not_executed_accepted,  # ... or none executed it
            "unverified_reasons": [
                {"engine": engine, "reason": reason, "count": n}
                for (engine, reason), n in sorted(
                    self.unverified_reasons.items(), key=lambda kv: (-kv[1], kv[0])
                )
            ],
            "result_sizes": {
                engine: {
                    "executed": sum(sizes.values()),
                    "empty": sizes["0"],
                    "bins": {label: sizes[label] for label, _, _ in SIZE_BINS},
                }
                for engine, sizes in sorted(self.result_sizes.items())
            },
            "render_defects": {
                "count": sum(self.render_defects.values()),
                "by_backend": dict(sorted(self.render_defects.items())),
                "first": self.first_defects,
            },
            "dialects": self._dialects(),
            "agreement": {
                "n": self.agreement["n"],
                "agree": self.agreement["agree"],
                "agree_pct": _rate(self.agreement["agree"], self.agreement["n"]),
                **{
                    pair: {
                        "n": self.agreement[f"{pair}_n"],
                        "agree": self.agreement[pair],
                        "agree_pct": _rate(self.agreement[pair], self.agreement[f"{pair}_n"]),
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
            "questions": {
                "distinct_pct": _pct(len(self.questions), len(self.accepted_sql)),
                **_word_stats(self.question_words),
            },
            "quality": {
                "mean": round(sum(scores) / len(scores), 4) if scores else 0.0,
                "min": q(0.0),
                "p10": q(0.1),
                "p50": q(0.5),
            },
            "per_sql_type": per_type,
            "accepted_fidelity": {
                "n": self.accepted,
                "five_counts_pct": _pct(self.accepted_five, self.label_n),
                "sql_type_label_agreement_pct": _pct(self.label_agree, self.label_n),
                "sql_type_relaxed": dict(self.label_confusion.most_common(12)),
            },
            "results": self.results(),
            "coverage": {
                "functions": dict(self.functions.most_common()),
                "tables": dict(self.tables.most_common()),
            },
        }
