"""The dataset card: a Hugging Face style ``README.md`` for a ``cimgen generate`` folder.

It follows the Hugging Face dataset-card layout: YAML metadata (licence, language, task
categories, tags, size category, creators, data files), then dataset summary (with what
Stage 1, 2 and 3 mean), structure (an example record, every field, the split), creation
(the Stage 1 source corpus and its sha256, how the samples were made, the quality filter
*as this run used it*), statistics (result sizes and empty results included), limitations,
licence and citation. Every figure comes from ``stats.json``; a figure nothing measured is
"n/a", never 0. The field list is :data:`cimgen.report.fields.FIELDS`.
"""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path
from typing import Any

from cimgen.codes import RND001
from cimgen.models import FEATURE_NAMES
from cimgen.report.data import iter_jsonl, read_stats
from cimgen.report.fields import FIELDS, TOP_LEVEL, undocumented
from cimgen.score import DIMENSIONS, ScoreConfig

_SCAN_ROWS = 500  # rows read to learn which (optional) fields the dataset holds
_EXAMPLE_TEXT = 400  # characters of a long string value shown in the example record
NA = "n/a"

__all__ = ["FIELDS", "render", "size_category", "undocumented"]


def size_category(n: int) -> str:
    """The Hugging Face size bucket for ``n`` rows.

    >>> size_category(500), size_category(50_000)
    ('n<1K', '10K<n<100K')
    """
    for limit, label in (
        (1_000, "n<1K"),
        (10_000, "1K<n<10K"),
        (100_000, "10K<n<100K"),
        (1_000_000, "100K<n<1M"),
    ):
        if n < limit:
            return label
    return "1M<n<10M"


def _pct(value: Any) -> str:
    return NA if value is None else f"{float(value):.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return NA
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.{digits}f}"


def _engine_ok(stats: dict[str, Any], engine: str) -> str:
    e = (stats.get("engines") or {}).get(engine)
    if not e or not e.get("n"):
        return f"{NA} (not run)" if not e else f"{NA} (no query it could run)"
    return f"{_pct(e.get('ok_pct'))} of {e['n']:,} ({e.get('not_checkable', 0):,} not checkable)"


def _agreement(stats: dict[str, Any]) -> str:
    agreement = stats.get("agreement") or {}
    if not agreement.get("n"):
        return f"{NA} (no query ran on both engines)"
    return f"{_pct(agreement.get('agree_pct'))} of {agreement['n']:,}"


def score_config(stats: dict[str, Any]) -> tuple[ScoreConfig, bool]:
    """The ScoreConfig the run used (from stats.json), and whether it was recorded."""
    recorded = stats.get("score_config")
    if not isinstance(recorded, dict):
        return ScoreConfig(), False
    known = {f.name for f in fields(ScoreConfig)}
    return ScoreConfig(**{k: v for k, v in recorded.items() if k in known}), True


def _pairing(stats: dict[str, Any]) -> str:
    if stats.get("dialect") == "spatialite":
        return "SpatiaLite SQL that ran on SpatiaLite (and the same query in PostGIS SQL)"
    return "PostGIS SQL (and SpatiaLite SQL where the dialect allows)"


def _spatialite_limitation(stats: dict[str, Any]) -> str:
    ran = stats.get("spatialite")
    if stats.get("dialect") == "spatialite":
        return (
            "- Target dialect SpatiaLite: every row's `sql` ran on SpatiaLite; queries "
            "SpatiaLite cannot express (rasters) are not in the dataset."
        )
    if ran == "executed":
        return (
            "- SpatiaLite SQL ran for the record only (it does not decide acceptance): "
            "`checks.spatialite` says per row whether it executed."
        )
    return f"- SpatiaLite SQL is rendered but was not executed in this run ({ran or 'unknown'})."


def _front_matter(stats: dict[str, Any], n: int, license_id: str) -> str:
    return "\n".join(
        [
            "---",
            f"license: {license_id}",
            "language:",
            "- en",
            "annotations_creators:",
            "- machine-generated",
            "language_creators:",
            "- machine-generated",
            "multilinguality:",
            "- monolingual",
            "task_categories:",
            "- text-generation",
            "- table-question-answering",
            "tags:",
            "- text-to-sql",
            "- postgis",
            "- spatial",
            "- spatialite",
            "- synthetic",
            "size_categories:",
            f"- {size_category(n)}",
            "pretty_name: CIM Wizard spatial text-to-SQL, Stage 2 "
            f"({stats.get('schema') or 'cim_wizard'})",
            "configs:",
            "- config_name: default",
            "  data_files:",
            "  - split: train",
            "    path: dataset.jsonl",
            "---",
            "",
        ]
    )


def _statistics(stats: dict[str, Any]) -> list[str]:
    sdm = stats.get("sdmetrics") or {}
    nov, q = stats.get("novelty") or {}, stats.get("quality") or {}
    defects = (stats.get("render_defects") or {}).get("count")
    rows = [
        ("candidates generated", _num(stats.get("candidates"))),
        ("accepted samples", _num(stats.get("accepted"))),
        ("rejected candidates", _num(stats.get("rejected"))),
        ("DuckDB execution ok", _engine_ok(stats, "duckdb")),
        ("PostGIS execution ok", _engine_ok(stats, "postgis")),
        ("DuckDB / PostGIS result agreement", _agreement(stats)),
        ("accepted samples no engine could check", _num(stats.get("accepted_unverified"))),
        ("accepted samples no engine executed", _num(stats.get("accepted_not_executed"))),
        (f"renderer defects ({RND001}, rejected)", _num(defects)),
        (
            "SDMetrics overall / column shapes / pair trends",
            f"{_num(sdm.get('overall', sdm.get('quality')))} / {_num(sdm.get('column_shapes'))} / "
            f"{_num(sdm.get('column_pair_trends'))}",
        ),
        (
            "structure fidelity (five counts kept)",
            _pct((stats.get("fidelity") or {}).get("five_counts_pct")),
        ),
        (
            "sql_type label agreement (accepted; label derived from the SQL)",
            _pct((stats.get("accepted_fidelity") or {}).get("sql_type_label_agreement_pct")),
        ),
        ("distinct SQL", _pct(nov.get("distinct_sql_pct"))),
        ("distinct query shapes", _num(nov.get("distinct_shapes"))),
        ("shapes not in Stage 1", _pct(nov.get("novel_shape_pct"))),
        ("distinct questions", _pct((stats.get("questions") or {}).get("distinct_pct"))),
        (
            "quality mean / p10 / median",
            f"{_num(q.get('mean'))} / {_num(q.get('p10'))} / {_num(q.get('p50'))}",
        ),
    ]
    lines = ["| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    per_type = stats.get("per_sql_type") or {}
    if per_type:
        lines += [
            "",
            "| sql_type | candidates | accepted | accepted % | DuckDB ok % (checked) | "
            "DuckDB not checkable |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {t} | {_num(v.get('candidates'))} | {_num(v.get('accepted'))} | "
            f"{_pct(v.get('accept_pct'))} | {_pct(v.get('duckdb_ok_pct'))} "
            f"({_num(v.get('duckdb_checked'))}) | {_num(v.get('duckdb_not_checkable'))} |"
            for t, v in per_type.items()
        ]
    return lines + _result_sizes(stats)


def _result_sizes(stats: dict[str, Any]) -> list[str]:
    sizes = stats.get("result_sizes") or {}
    if not sizes:
        return ["", f"Result sizes: {NA} (no accepted sample was executed)."]
    labels = list(next(iter(sizes.values()))["bins"])
    lines = [
        "",
        "Result sizes of the accepted samples an engine executed (rows returned on the "
        "fixture database):",
        "",
        "| engine | executed | empty (0 rows) | " + " | ".join(labels) + " |",
        "|---|---:|---:|" + "---:|" * len(labels),
    ]
    for engine, s in sizes.items():
        cells = " | ".join(_num(s["bins"].get(label)) for label in labels)
        lines.append(f"| {engine} | {_num(s['executed'])} | {_num(s['empty'])} | {cells} |")
    reasons = stats.get("unverified_reasons") or []
    if reasons:
        lines += ["", "Why accepted samples were not executed:", ""]
        lines += ["| engine | reason | samples |", "|---|---|---:|"]
        lines += [
            f"| {r['engine']} | {r['reason'].replace('|', '/')} | {r['count']:,} |"
            for r in reasons[:12]
        ]
    return lines


def _quality_filter(stats: dict[str, Any]) -> list[str]:
    cfg, recorded = score_config(stats)
    lines = [
        "Every candidate gets five scores in [0, 1], computed from its check findings; the "
        "overall score is their weighted sum. A candidate is accepted when the overall score "
        "and each thresholded dimension reach the threshold and no error finding remains. "
        + (
            "Weights and thresholds as this run used them:"
            if recorded
            else "This run did not record its settings; these are the defaults:"
        ),
        "",
        "| dimension | weight | threshold |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {d} | {cfg.weights[d]:.2f} | "
        + (f"{cfg.thresholds[d]:.2f} |" if d in cfg.thresholds else "– |")
        for d in DIMENSIONS
    ]
    lines += [
        f"| overall | – | {cfg.thresholds['overall']:.2f} |",
        "",
        f"Semantic score when no engine could run a query: {cfg.unverified_semantic:.2f}; "
        f"when it was only planned: {cfg.planned_semantic:.2f}; penalty when every engine "
        f"returned 0 rows: {cfg.empty_result_penalty:.2f}.",
    ]
    by_code = stats.get("rejected_by_code") or {}
    if by_code:
        top = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        lines += [
            "",
            "Most frequent rejection codes: "
            + ", ".join(f"{c} ({n:,})" for c, n in top)
            + " (see docs/checks.md).",
        ]
    return lines


def _example(row: dict[str, Any] | None) -> list[str]:
    if row is None:
        return [f"{NA}: the dataset is empty."]

    def shorten(value: Any) -> Any:
        if isinstance(value, str) and len(value) > _EXAMPLE_TEXT:
            return value[:_EXAMPLE_TEXT] + " …"
        if isinstance(value, dict):
            return {k: shorten(v) for k, v in value.items()}
        return value

    text = json.dumps(shorten(row), indent=2, ensure_ascii=False, default=str)
    return [
        "The first record of `dataset.jsonl` (strings over "
        f"{_EXAMPLE_TEXT} characters cut here with …):",
        "",
        "```json",
        text,
        "```",
    ]


def _source(stats: dict[str, Any]) -> list[str]:
    source = stats.get("stage1") or {}
    rec = stats.get("records") or {}
    name = source.get("file") or NA
    what = "the bundled demo corpus of cimgen" if source.get("bundled") else "a user corpus"
    return [
        f"- Stage 1 corpus: `{name}` ({what}, format {source.get('format') or NA}), "
        f"sha256 `{source.get('sha256') or NA}`.",
        f"- Records read: {_num(rec.get('read'))}; skipped: {_num(rec.get('skipped'))}; "
        f"with structure features: {_num(rec.get('features'))}. Only the Stage 1 *SQL* is "
        "used (its structures train the model, its literals feed the expander); Stage 1 "
        "questions are not copied.",
    ]


def _citation(stats: dict[str, Any], version: str) -> list[str]:
    schema = stats.get("schema") or "cim_wizard"
    source = stats.get("stage1") or {}
    return [
        "Cite the Stage 1 corpus this dataset was generated from, and the generator:",
        "",
        "```bibtex",
        f"@misc{{cimgen_stage2_{schema},",
        f"  title        = {{CIM Wizard spatial text-to-SQL, Stage 2 ({schema})}},",
        "  author       = {cimgen contributors},",
        f"  howpublished = {{Generated with cimgen {version}, seed {stats.get('seed', '?')}, "
        f"structure model {str(stats.get('model_hash') or '?')[:12]}, from Stage 1 corpus "
        f"sha256 {str(source.get('sha256') or '?')[:12]}}},",
        "  note         = {Synthetic PostGIS text-to-SQL pairs for the CIM Wizard database}",
        "}",
        "```",
    ]


def render(out_dir: Path, license_id: str = "mit") -> str:
    """The card's Markdown for the output folder ``out_dir``."""
    stats = read_stats(Path(out_dir))
    n = int(stats.get("accepted") or 0)
    tool = stats.get("tool") or {}
    version = str(tool.get("version", "?") if isinstance(tool, dict) else tool)
    present: set[str] = set()
    extra: set[str] = set()
    first = None
    for i, row in enumerate(iter_jsonl(Path(out_dir) / "dataset.jsonl")):
        first = first or row
        present.update(row)
        present.update(f"{k}.{sub}" for k, v in row.items() if isinstance(v, dict) for sub in v)
        extra.update(undocumented(row))
        if i + 1 >= _SCAN_ROWS:
            break
    lines = [_front_matter(stats, n, license_id)]
    lines += [
        "# CIM Wizard spatial text-to-SQL — Stage 2 (cimgen)",
        "",
        "## Dataset summary",
        "",
        f"{n:,} English questions paired with {_pairing(stats)} over the CIM Wizard "
        "city-information database (schemas cim_vector, "
        "cim_census, cim_raster). The samples multiply a Stage 1 corpus: new query "
        "*structures* are sampled from a generative model of the Stage 1 structures and "
        "built into SQL from a grammar under the database schema, then checked and "
        "filtered. Each record carries the DDL of the tables its query uses "
        "(`schema_context`), so a prompt can show the model the schema.",
        "",
        "### Stage 1, Stage 2, Stage 3",
        "",
        "- **Stage 1**: a seed corpus of (question, PostGIS SQL) pairs written from templates "
        "and by hand for the CIM Wizard database (the source data below).",
        "- **Stage 2** (this dataset): many more, structurally novel samples generated "
        "from Stage 1's query structures by `cimgen`, every one parsed, bound to the schema, "
        "checked by static rules and executed before it is kept.",
        "- **Stage 3**: paraphrasing of the Stage 2 questions (by people or a language "
        "model) into varied natural wording; not part of this dataset.",
        "",
        "## Dataset structure",
        "",
        "### Data instances",
        "",
        *_example(first),
        "",
        "### Data fields",
        "",
        "One JSON object per line in `dataset.jsonl` (rejected candidates, with their "
        "`findings`, are in `rejected.jsonl`).",
        "",
        "| field | description |",
        "|---|---|",
    ]

    def shown(key: str) -> bool:  # without rows to look at, document everything
        return not present or key in present

    for key in (k for k in TOP_LEVEL if shown(k)):
        lines.append(f"| `{key}` | {FIELDS[key]} |")
        for sub, text in FIELDS.items():
            if sub.startswith(key + ".") and key not in ("structure", "features") and shown(sub):
                lines.append(f"| `{sub}` | {text} |")
    lines += [
        "",
        "`structure` and `features` both hold the feature vector: "
        + ", ".join(f"`{f}`" for f in FEATURE_NAMES)
        + " (defined in docs/features.md).",
    ]
    if extra:
        lines += ["", "Also present: " + ", ".join(f"`{k}`" for k in sorted(extra)) + "."]
    lines += [
        "",
        "### Data splits",
        "",
        f"One split, `train`, with all {n:,} samples; make held-out splits by `structure` "
        "or query shape, not at random, to keep near-duplicates out of the test set.",
        "",
        "## Dataset creation",
        "",
        "### Source data",
        "",
        *_source(stats),
        "",
        "### How it was generated",
        "",
        f"- Tool: cimgen {version} (`cimgen generate`), schema `{stats.get('schema', '?')}`, "
        f"seed {stats.get('seed', '?')}; the same inputs and seed give byte-identical files.",
        f"- Structure model: SDV `{stats.get('synthesizer', '?')}` fitted on the structure "
        "features of the Stage 1 queries (read with PostgreSQL's own parser, pglast); model "
        f"hash `{stats.get('model_hash') or 'not recorded'}`.",
        "- Each sampled structure vector (join/CTE/subquery/table/schema counts, sql_type, "
        "aggregation, ...) drives an expander that builds an AST with schema-aware choices, "
        "offering only the constructs, operators and functions the Lark grammar "
        "`grammar/cim_sql.lark` and its catalogue admit; the AST is rendered to PostGIS, "
        "SpatiaLite and DuckDB SQL, and the question is generated from the same AST.",
        "- Checks: grammar round trip, PostgreSQL parser, schema binding, static rules "
        "(mixed SRIDs, units, cartesian products), execution on an embedded DuckDB spatial "
        "fixture database, and on PostGIS when a server was given"
        + (" (it was)" if stats.get("postgis") else " (none was)")
        + "; then the quality filter.",
        "",
        "### Quality filter",
        "",
        *_quality_filter(stats),
        "",
        "## Statistics",
        "",
        "From `stats.json` of this run; n/a marks a figure nothing measured.",
        "",
        *_statistics(stats),
        "",
        "## Limitations",
        "",
        "- Questions are generated from templates tied to the AST: grammatical and faithful, "
        "but less varied than human phrasing (Stage 3 paraphrases them).",
        "- Execution was checked on small synthetic fixture data, not on the production "
        "database: a query that runs may still return nothing on real data, and numeric "
        "results are not meaningful.",
        "- Raster queries cannot run in DuckDB or SpatiaLite; without a PostGIS server they "
        "are only checked statically (see the reasons table above).",
        "- The structure model imitates Stage 1: structures Stage 1 never uses are rare, and "
        "Stage 1's biases (tables, functions, sql_type mix) carry over.",
        _spatialite_limitation(stats),
        "",
        "## Licence",
        "",
        f"The dataset is released under `{license_id}`. It was produced with SDV "
        "(sdv-dev/SDV), which is licensed under the Business Source License 1.1 (BUSL-1.1): "
        "the SDV licence governs the use of SDV and of the saved structure model, not the "
        "generated SQL and questions. Check the licence of the Stage 1 corpus you started "
        "from before redistributing.",
        "",
        "## Citation",
        "",
        *_citation(stats, version),
        "",
    ]
    return "\n".join(lines)
