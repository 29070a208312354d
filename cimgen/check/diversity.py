"""Diversity: literal-blind fingerprint novelty against Stage 1 and the accepted samples.

* ``DIV001`` exact duplicate of an accepted sample or of a Stage 1 query -- never accepted;
* ``DIV002`` its query shape already reached the per-shape cap -- rejected so no shape
  floods the dataset;
* ``DIV003`` its shape occurs in the Stage 1 corpus (new literals, known shape) -- info.

The shape is PostgreSQL's query fingerprint (pglast / libpg_query), which ignores literal
values. The state is updated only when a sample is accepted (:meth:`DiversityState.accept`),
in the order samples are decided, so results do not depend on the number of workers.
Exact duplicates are found by a 16-byte digest of the whitespace-normalised SQL, not the
SQL itself, so a million accepted rows cost tens of MB, not a GB (docs/scale.md).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from pglast.parser import ParseError, fingerprint

from cimgen.check.base import CheckContext, Subject
from cimgen.codes import DIV001, DIV002, DIV003, finding
from cimgen.models import Finding

KNOWN_SHAPE_SCORE = 0.6


def shape_of(sql: str) -> str | None:
    try:
        return fingerprint(sql)
    except ParseError:
        return None


@dataclass
class DiversityState:
    stage1_shapes: set[str] = field(default_factory=set)
    stage1_sql: set[bytes] = field(default_factory=set)  # digests (sql_digest)
    accepted_sql: set[bytes] = field(default_factory=set)
    shape_counts: Counter[str] = field(default_factory=Counter)
    cap: int = 50

    @classmethod
    def from_stage1(cls, sqls: Iterable[str], cap: int = 50) -> DiversityState:
        state = cls(cap=cap)
        for sql in sqls:
            state.stage1_sql.add(sql_digest(sql))
            shape = shape_of(sql)
            if shape:
                state.stage1_shapes.add(shape)
        return state

    def score(self, subject: Subject) -> float:
        """1.0 for a new shape, less as its shape repeats; 0 for duplicates / capped."""
        shape = subject.fingerprint or shape_of(subject.sql)
        norm = sql_digest(subject.sql)
        if norm in self.accepted_sql or norm in self.stage1_sql:  # no set union per call
            return 0.0
        if shape is None:
            return 0.0
        seen = self.shape_counts[shape]
        if seen >= self.cap:
            return 0.0
        base = KNOWN_SHAPE_SCORE if shape in self.stage1_shapes else 1.0
        return max(0.5, base - 0.5 * seen / self.cap) if base == 1.0 else base

    def accept(self, subject: Subject) -> None:
        self.accepted_sql.add(sql_digest(subject.sql))
        shape = subject.fingerprint or shape_of(subject.sql)
        if shape:
            self.shape_counts[shape] += 1


def _norm(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").strip()


def sql_digest(sql: str) -> bytes:
    """What identifies an exact duplicate: a digest of the whitespace-normalised SQL.

    >>> sql_digest("SELECT 1;") == sql_digest("SELECT  1")
    True
    """
    return hashlib.blake2b(_norm(sql).encode(), digest_size=16).digest()


def check_diversity(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """DIV001-DIV003 against the state in ``ctx.diversity`` (skipped when there is none)."""
    state: DiversityState | None = ctx.diversity
    if state is None:
        return []
    norm = sql_digest(subject.sql)
    if norm in state.accepted_sql:
        return [finding(DIV001, "exact duplicate of an accepted sample")]
    if norm in state.stage1_sql:
        return [finding(DIV001, "exact duplicate of a Stage 1 query")]
    shape = subject.fingerprint or shape_of(subject.sql)
    if shape is not None and state.shape_counts[shape] >= state.cap:
        return [
            finding(
                DIV002,
                f"query shape {shape} already has {state.cap} accepted samples (shape cap)",
            )
        ]
    if shape is not None and shape in state.stage1_shapes:
        return [finding(DIV003, "query shape occurs in Stage 1 (new literals)", "info")]
    return []
