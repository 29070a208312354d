"""Summary statistics of a Stage 1 corpus (the demo corpus or a user's file).

Labels (sql_type, difficulty, tone, usage) come from the records; structure (tables,
functions, CTE / subquery / aggregation / window shares) is re-derived from the SQL with
pglast, so buggy label fields in a corpus do not distort the counts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from cimgen.corpus import meta
from cimgen.models import Stage1Record


@dataclass
class CorpusStats:
    records: int = 0
    unparsed: int = 0  # records whose SQL pglast (PostgreSQL 18 parser) rejects
    sql_types: Counter[str] = field(default_factory=Counter)
    difficulty: Counter[str] = field(default_factory=Counter)
    tones: Counter[str] = field(default_factory=Counter)
    usage: Counter[str] = field(default_factory=Counter)
    templates: Counter[str] = field(default_factory=Counter)
    tables: Counter[str] = field(default_factory=Counter)
    functions: Counter[str] = field(default_factory=Counter)  # spatial functions
    with_cte: int = 0
    with_subquery: int = 0
    with_aggregation: int = 0
    with_window: int = 0
    with_set_operation: int = 0

    def share(self, n: int) -> float:
        parsed = self.records - self.unparsed
        return 100.0 * n / parsed if parsed else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "unparsed": self.unparsed,
            "sql_types": dict(self.sql_types),
            "difficulty": dict(self.difficulty),
            "tones": dict(self.tones),
            "usage": dict(self.usage),
            "templates": len(self.templates),
            "tables": dict(self.tables),
            "distinct_spatial_functions": len(self.functions),
            "pct_cte": round(self.share(self.with_cte), 1),
            "pct_subquery": round(self.share(self.with_subquery), 1),
            "pct_aggregation": round(self.share(self.with_aggregation), 1),
            "pct_window": round(self.share(self.with_window), 1),
            "pct_set_operation": round(self.share(self.with_set_operation), 1),
        }


def corpus_stats(records: Iterable[Stage1Record]) -> CorpusStats:
    st = CorpusStats()
    for rec in records:
        st.records += 1
        st.sql_types[rec.sql_type or "?"] += 1
        st.difficulty[rec.difficulty_level or "?"] += 1
        st.tones[rec.question_tone or "?"] += 1
        st.usage[rec.usage_frequency or "?"] += 1
        if rec.raw.get("template_id"):
            st.templates[str(rec.raw["template_id"])] += 1
        try:
            facts = meta.analyse(rec.sql)
        except Exception:  # pglast.parser.ParseError and friends: count, don't stop
            st.unparsed += 1
            continue
        st.tables.update(facts.tables)
        st.functions.update(set(facts.spatial_functions))
        st.with_cte += facts.cte_count > 0
        st.with_subquery += facts.subquery_count > 0
        st.with_aggregation += facts.has_aggregation
        st.with_window += facts.has_window
        st.with_set_operation += facts.set_operation is not None
    return st
