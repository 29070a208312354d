"""The dataset card: a Hugging Face style ``README.md`` for a ``cimgen generate`` folder.

YAML front matter (licence, task categories, language, tags, size category, config) and
sections: summary, how it was generated, fields, statistics, quality filter, limitations,
licence. Figures come from ``stats.json``; the field list from :data:`FIELDS`, which a
test checks against every key of a real ``dataset.jsonl`` row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cimgen.models import FEATURE_NAMES, NUMERIC_FEATURES
from cimgen.report.data import iter_jsonl, read_stats
from cimgen.score import DIMENSIONS, ScoreConfig

# Every field of a dataset.jsonl row ("a.b" for nested keys). Keep in step with the
# pipeline's writer; tests/test_report.py fails on an undocumented field.
FIELDS: dict[str, str] = {
    "id": "Stable sample id (`s2_…`), unique within the dataset.",
    "question": "Natural-language question the SQL answers (English, template-generated).",
    "instruction": "Instruction prompt for instruction-tuned models (question + task).",
    "sql": "The query in the dataset's target dialect (`dialect`): `sql_postgis` or "
    "`sql_spatialite`.",
    "dialect": "The target dialect of `sql`: `postgis` (default) or `spatialite` (`cimgen "
    "generate --dialect spatialite`: every row ran on SpatiaLite).",
    "sql_postgis": "The query in PostGIS SQL (canonical rendering, read-only SELECT/WITH).",
    "sql_spatialite": "The same query for SpatiaLite, or null when it uses something "
    "SpatiaLite lacks (e.g. raster functions). Whether it ran: `checks.spatialite`.",
    "sql_type": "Query family: SIMPLE_SELECT, SPATIAL_JOIN, AGGREGATION, NESTED_QUERY, "
    "MULTI_JOIN, SPATIAL_MEASUREMENT, RASTER_VECTOR or SPATIAL_CLUSTERING.",
    "difficulty_level": "EASY, MEDIUM, HARD or EXPERT (from the complexity score).",
    "question_tone": "Tone of the question (e.g. DIRECT, INTERROGATIVE, DESCRIPTIVE).",
    "usage_frequency": "How often such a query is expected in practice (frequent / rare ...).",
    "database_schema": "The part of the database the query touches.",
    "database_schema.schemas": "Schemas used (cim_vector, cim_census, cim_raster).",
    "database_schema.tables": "Tables used, schema-qualified.",
    "spatial_functions": "Spatial functions called, catalogue spelling (e.g. ST_Intersects).",
    "spatial_function_count": "Number of spatial function calls.",
    "structure": "The structure vector sampled from the SDV model that the query was built "
    "from (same keys as `features`).",
    "features": "Structure features re-extracted from `sql_postgis` with PostgreSQL's parser "
    "(docs/features.md).",
    "quality": "The quality score and verdict.",
    "quality.score": "Weighted overall score in [0, 1].",
    "quality.breakdown": "Per-dimension scores: syntactic, schema, semantic, complexity, "
    "diversity.",
    "quality.accepted": "Whether the sample passed the filter (always true in dataset.jsonl).",
    "quality.reasons": "Why it was rejected (empty for accepted samples).",
    "checks": "Per-check outcomes.",
    "checks.grammar": "`ok` when the PostGIS SQL parses with the cimgen grammar.",
    "checks.postgres_parse": "`ok` when PostgreSQL's own parser (pglast) accepts the SQL as "
    "one read-only statement.",
    "checks.bind": "`ok` when every table and column binds against the schema.",
    "checks.static": "`ok` when the static rules (SRIDs, units, cartesian products) pass.",
    "checks.duckdb": "DuckDB spatial execution on the fixture database: {status, rows}.",
    "checks.postgis": "PostGIS execution (when a server was given): {status, rows}.",
    "checks.spatialite": "SpatiaLite execution of `sql_spatialite` on the fixture database "
    "(when SpatiaLite is installed): {status, rows}; status `not_checkable` when there is "
    "no SpatiaLite form.",
    "provenance": "Where the sample came from.",
    "provenance.tool": "Generator name (`cimgen`).",
    "provenance.version": "cimgen version.",
    "provenance.synthesizer": "SDV synthesizer that sampled the structure.",
    "provenance.model_hash": "SHA-256 of the saved structure model.",
    "provenance.seed": "Run seed.",
    "provenance.round": "Generation round the sample was produced in.",
    "provenance.index": "Index of the structure within its round.",
    "stage": "Always `stage2_cimgen`.",
    "unsupported": "Only when a dialect has no rendering: {backend: why}, e.g. "
    '`{"spatialite": "raster function ST_Value"}`.',
}
for _name in FEATURE_NAMES:  # both structure vectors share the feature names
    _kind = "count" if _name in NUMERIC_FEATURES else "category"
    FIELDS.setdefault(f"features.{_name}", f"Re-extracted {_name} ({_kind}).")
    FIELDS.setdefault(f"structure.{_name}", f"Sampled {_name} ({_kind}).")

_SUMMARY_TOP = (
    "id",
    "question",
    "instruction",
    "sql",
    "dialect",
    "sql_postgis",
    "sql_spatialite",
    "sql_type",
    "difficulty_level",
    "question_tone",
    "usage_frequency",
    "database_schema",
    "spatial_functions",
    "spatial_function_count",
    "structure",
    "features",
    "quality",
    "checks",
    "provenance",
    "stage",
    "unsupported",
)
_SCAN_ROWS = 500  # rows read to learn which (optional) fields the dataset holds


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


_FREE_FORM = frozenset({"unsupported"})  # maps whose keys vary per row (backend names)


def undocumented(row: dict[str, Any]) -> list[str]:
    """Keys of a dataset row (one level of nesting) that :data:`FIELDS` does not document."""
    missing = []
    for key, value in row.items():
        if key not in FIELDS:
            missing.append(key)
        if isinstance(value, dict) and key in FIELDS and key not in _FREE_FORM:
            missing.extend(f"{key}.{sub}" for sub in value if f"{key}.{sub}" not in FIELDS)
    return missing


def _pct(value: Any) -> str:
    return "–" if value is None else f"{float(value):.1f}%"


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{float(value):.{digits}f}"


def _agreement(stats: dict[str, Any]) -> str:
    agreement = stats.get("agreement") or {}
    if not agreement.get("n"):
        return "– (no query ran on both engines)"
    return f"{_pct(agreement.get('agree_pct'))} of {agreement['n']:,}"


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
    eng, sdm = stats.get("engines") or {}, stats.get("sdmetrics") or {}
    nov, q = stats.get("novelty") or {}, stats.get("quality") or {}
    rows = [
        ("candidates generated", _num(stats.get("candidates"))),
        ("accepted samples", _num(stats.get("accepted"))),
        ("rejected candidates", _num(stats.get("rejected"))),
        ("DuckDB execution ok", _pct((eng.get("duckdb") or {}).get("ok_pct"))),
        ("PostGIS execution ok", _pct((eng.get("postgis") or {}).get("ok_pct"))),
        (
            "DuckDB / PostGIS result agreement",
            _pct((stats.get("agreement") or {}).get("agree_pct")),
        ),
        (
            "SDMetrics overall / column shapes / pair trends",
            f"{_num(sdm.get('overall', sdm.get('quality')))} / {_num(sdm.get('column_shapes'))} / "
            f"{_num(sdm.get('column_pair_trends'))}",
        ),
        (
            "structure fidelity (five counts kept)",
            _pct((stats.get("fidelity") or {}).get("five_counts_pct")),
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
        lines += ["", "| sql_type | candidates | accepted | accepted % |", "|---|---:|---:|---:|"]
        lines += [
            f"| {t} | {_num(v.get('candidates'))} | {_num(v.get('accepted'))} | "
            f"{_pct(v.get('accept_pct'))} |"
            for t, v in per_type.items()
        ]
    return lines


def render(out_dir: Path, license_id: str = "mit") -> str:
    """The card's Markdown for the output folder ``out_dir``."""
    stats = read_stats(Path(out_dir))
    n = int(stats.get("accepted") or 0)
    tool = stats.get("tool") or {}
    version = tool.get("version", "?") if isinstance(tool, dict) else tool
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
    cfg = ScoreConfig()
    lines = [_front_matter(stats, n, license_id)]
    lines += [
        "# CIM Wizard spatial text-to-SQL — Stage 2 (cimgen)",
        "",
        "## Summary",
        "",
        f"{n:,} English questions paired with {_pairing(stats)} over the CIM Wizard "
        "city-information database (schemas cim_vector, "
        "cim_census, cim_raster). The samples multiply a Stage 1 corpus: new query "
        "*structures* are sampled from a generative model of the Stage 1 structures and "
        "built into SQL from a grammar under the database schema, then checked and "
        "filtered. They are meant as Stage 2 training data, ready for Stage 3 paraphrasing.",
        "",
        "## How it was generated",
        "",
        f"- Tool: cimgen {version} (`cimgen generate`), schema `{stats.get('schema', '?')}`, "
        f"seed {stats.get('seed', '?')}; the same inputs and seed give byte-identical files.",
        f"- Structure model: SDV `{stats.get('synthesizer', '?')}` fitted on the structure "
        "features of the Stage 1 queries (read with PostgreSQL's own parser, pglast); model "
        f"hash `{stats.get('model_hash') or 'not recorded'}`.",
        "- Each sampled structure vector (join/CTE/subquery/table/schema counts, sql_type, "
        "aggregation, ...) drives an expansion of the Lark grammar `grammar/cim_sql.lark` "
        "into an AST with schema-aware choices; the AST is rendered to PostGIS, SpatiaLite and "
        "DuckDB SQL, and the question is generated from the same AST.",
        "- Checks: grammar round trip, PostgreSQL parser, schema binding, static rules "
        "(mixed SRIDs, units, cartesian products), execution on an embedded DuckDB spatial "
        "fixture database, of the SpatiaLite SQL on an embedded SpatiaLite fixture database "
        "(when installed), and on PostGIS when a server was given; then the quality filter.",
        "",
        "## Fields",
        "",
        "One JSON object per line in `dataset.jsonl` (rejected candidates, with their "
        "`findings`, are in `rejected.jsonl`).",
        "",
        "| field | description |",
        "|---|---|",
    ]

    def shown(key: str) -> bool:  # without rows to look at, document everything
        return not present or key in present

    for key in (k for k in _SUMMARY_TOP if shown(k)):
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
    lines += ["", "## Statistics", "", "From `stats.json` of this run.", ""]
    lines += _statistics(stats)
    lines += [
        "",
        "## Quality filter",
        "",
        "Every candidate gets five scores in [0, 1], computed from its check findings; the "
        "overall score is their weighted sum. A candidate is accepted when the overall score "
        "and each thresholded dimension reach the threshold and no error finding remains.",
        "",
        "| dimension | weight | threshold |",
        "|---|---:|---:|",
    ]
    lines += [
        f"| {d} | {cfg.weights[d]:.2f} | {cfg.thresholds[d]:.2f} |"
        if d in cfg.thresholds
        else f"| {d} | {cfg.weights[d]:.2f} | – |"
        for d in DIMENSIONS
    ]
    lines.append(f"| overall | – | {cfg.thresholds['overall']:.2f} |")
    by_code = stats.get("rejected_by_code") or {}
    if by_code:
        top = sorted(by_code.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        lines += [
            "",
            "Most frequent rejection codes: "
            + ", ".join(f"{c} ({n:,})" for c, n in top)
            + " (see docs/checks.md).",
        ]
    lines += [
        "",
        "## Limitations",
        "",
        "- Questions are generated from templates tied to the AST: grammatical and faithful, "
        "but less varied than human phrasing (Stage 3 paraphrases them).",
        "- Execution was checked on small synthetic fixture data, not on the production "
        "database: a query that runs may still return nothing on real data, and numeric "
        "results are not meaningful.",
        "- Raster queries cannot run in DuckDB or SpatiaLite; without a PostGIS server they "
        "are only checked statically.",
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
    ]
    return "\n".join(lines)
