"""Build the bundled Stage 1 demo corpus from the template bank and the fixture database.

``build_corpus(schema, seed, n)`` is deterministic: the pools are read from the fixture of
``seed`` with fully ordered queries, and every random choice comes from one
``random.Random(seed)``. ``write_corpus`` writes gzip with ``mtime=0`` and sorted keys, so
the same seed gives the same bytes (tests/test_corpus.py rebuilds and compares).
"""

from __future__ import annotations

import gzip
import io
import json
import os
import random
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cimgen.corpus import meta
from cimgen.corpus.bank import all_templates
from cimgen.corpus.pools import Pools
from cimgen.corpus.templates import (
    Ident,
    Params,
    Template,
    Text,
    add_public_prefix,
    render_question,
    render_sql,
)
from cimgen.schema.model import Schema

DEFAULT_N = 10_000
DEFAULT_SEED = 0
INSTRUCTION = (
    "Convert this natural language question to PostGIS spatial SQL for the CIM Wizard database: "
)
PUBLIC_PREFIX_SHARE = 0.35  # Stage 1 samples often spell public.ST_x(...)
_MAX_TRIES = 40

Progress = Callable[[int], None]


def load_pools(schema: Schema, seed: int = DEFAULT_SEED) -> Pools:
    """Parameter pools read from the DuckDB fixture database of ``schema`` and ``seed``."""
    from cimgen.engines.duckdb import open_fixture

    con = open_fixture(schema, seed)
    try:
        return Pools.from_execute(lambda sql: con.execute(sql).fetchall())
    finally:
        con.close()


def quotas(templates: tuple[Template, ...], n: int) -> list[int]:
    """Records per template, proportional to weight (largest remainder, deterministic)."""
    total = sum(t.weight for t in templates)
    raw = [n * t.weight / total for t in templates]
    out = [int(r) for r in raw]
    order = sorted(range(len(raw)), key=lambda i: (-(raw[i] - out[i]), i))
    for i in order[: n - sum(out)]:
        out[i] += 1
    return out


def build_corpus(
    schema: Schema,
    seed: int = DEFAULT_SEED,
    n: int = DEFAULT_N,
    pools: Pools | None = None,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """``n`` Stage 1 records for ``schema`` (the documented cim_wizard schema).

    Each template gets a share of ``n`` by weight; a template whose parameter space runs
    out of new (question, SQL) pairs hands its remaining share to the others.
    """
    templates = all_templates()
    pools = pools if pools is not None else load_pools(schema, seed)
    rng = random.Random(seed)
    seen: set[tuple[str, str]] = set()
    drafts: list[tuple[Template, str, str, str, Params]] = []
    want = quotas(templates, n)
    open_ = list(range(len(templates)))
    while len(drafts) < n and open_:
        exhausted: list[int] = []
        for i in open_:
            made = 0
            while made < want[i]:
                draft = _draft(templates[i], pools, rng, seen)
                if draft is None:
                    exhausted.append(i)
                    break
                drafts.append(draft)
                made += 1
                if progress:
                    progress(1)
            want[i] -= made
        missing = n - len(drafts)
        open_ = [i for i in open_ if i not in exhausted]
        if missing <= 0 or not open_:
            break
        # redistribute what exhausted templates could not make
        extra = quotas(tuple(templates[i] for i in open_), missing)
        for i, k in zip(open_, extra, strict=True):
            want[i] = k
    rng.shuffle(drafts)
    return [_record(k + 1, *d) for k, d in enumerate(drafts[:n])]


def _draft(
    t: Template, pools: Pools, rng: random.Random, seen: set[tuple[str, str]]
) -> tuple[Template, str, str, str, Params] | None:
    tones = [tone for tone in t.questions if t.questions[tone]]
    for _ in range(_MAX_TRIES):
        params = t.sample(pools, rng)
        tone = rng.choice(tones)
        question = render_question(rng.choice(t.questions[tone]), params)
        sql = render_sql(t, params)
        if rng.random() < PUBLIC_PREFIX_SHARE:
            sql = add_public_prefix(sql)
        if (question, sql) not in seen:
            seen.add((question, sql))
            return t, tone, question, sql, params
    return None


def _plain(params: Params) -> dict[str, Any]:
    """The SQL-side parameter values, as JSON scalars (question-only text left out)."""
    out: dict[str, Any] = {}
    for k, v in sorted(params.items()):
        if isinstance(v, Text):
            continue
        out[k] = v.sql if isinstance(v, Ident) else v
    return out


def _record(
    k: int, t: Template, tone: str, question: str, sql: str, params: Params
) -> dict[str, Any]:
    facts = meta.analyse(sql)
    schemas = sorted({tbl.split(".")[0] for tbl in facts.tables})
    spatial = list(dict.fromkeys(facts.spatial_functions))
    return {
        "id": f"cim_demo_{k:05d}",
        "database_id": 1,
        "database_name": "cim_wizard",
        "question": question,
        "instruction": INSTRUCTION + question,
        "question_tone": tone,
        "sql_postgis": sql,
        "sql_type": t.sql_type,
        "sql_taxonomy": meta.taxonomy(facts, t.sql_type),
        "difficulty": meta.difficulty(facts, t.difficulty),
        "difficulty_level": t.difficulty,
        "usage_frequency": t.usage,
        "database_schema": {
            "schemas": schemas,
            "tables": facts.tables,
            "primary_schema": _primary_schema(facts.tables),
            "table_count": len(facts.tables),
            "schema_count": len(schemas),
        },
        "spatial_functions": [f.upper() for f in spatial],
        "spatial_function_count": len(spatial),
        "evidence": {
            "database": "cim_wizard",
            "schemas": schemas,
            "tables": facts.tables,
            "columns": facts.columns,
            "functions": facts.functions,
            "template_source": "cimgen_demo_bank",
        },
        "template_id": t.id,
        "tags": list(t.tags),
        "stage": "stage1_cim",
        "generation_method": "template_bank_cimgen",
        "generation_params": _plain(params),
        "has_limit": facts.has_limit,
        "has_order_by": facts.has_order_by,
        "limit_strategy": meta.limit_strategy(facts),
    }


def _primary_schema(tables: list[str]) -> str:
    """The schema most of the query's tables live in (ties: alphabetical)."""
    counts: dict[str, int] = {}
    for t in tables:
        counts[t.split(".")[0]] = counts.get(t.split(".")[0], 0) + 1
    return min(counts, key=lambda s: (-counts[s], s))


# --------------------------------------------------------------------------- files


def dumps(record: dict[str, Any]) -> str:
    """One JSONL line: sorted keys, no ASCII escaping, compact separators."""
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(", ", ": "))


def corpus_bytes(records: Iterable[dict[str, Any]]) -> bytes:
    return "".join(dumps(r) + "\n" for r in records).encode("utf-8")


def gzip_bytes(data: bytes) -> bytes:
    """gzip with ``mtime=0`` and no file name, so equal input gives equal bytes."""
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(data)
    return buf.getvalue()


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary sibling, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_corpus(records: list[dict[str, Any]], path: Path) -> None:
    """Write JSONL, gzip-compressed when ``path`` ends in ``.gz`` (atomically)."""
    data = corpus_bytes(records)
    write_atomic(path, gzip_bytes(data) if path.suffix == ".gz" else data)
