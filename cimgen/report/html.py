"""Assemble ``report.html``: one self-contained file (inline CSS, SVG and a little JS).

Sections: overview, fidelity (Stage 1 vs synthetic, SDMetrics), acceptance and rejection,
pass rate per sql_type and engine, coverage, novelty and diversity, examples, run details.
The only script builds the table of contents and sets plot counters; every chart is
already SVG in the file, so the report reads the same with JavaScript off.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from cimgen.codes import RND001
from cimgen.models import FEATURE_NAMES
from cimgen.report.data import SCORE_BINS, Distribution, ReportData
from cimgen.report.plots import PALETTE, Series, bar_chart, column_chart, stacked_bar

SOURCE_COLOURS = {"Stage 1": PALETTE[0], "sampled": PALETTE[1], "accepted": PALETTE[2]}
SOURCE_NOTES = {
    "Stage 1": "features of the Stage 1 queries",
    "sampled": "structures sampled from the model",
    "accepted": "features re-extracted from the accepted SQL",
}
TOP_FUNCTIONS = 30

CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1d2330;
 background:#f5f6f8}
header{background:#14213d;color:#fff;padding:22px 32px}
header h1{margin:0 0 4px;font-size:24px}
header .meta{opacity:.8;font-size:13px}
#toc{position:sticky;top:0;z-index:2;background:#fff;border-bottom:1px solid #dde;
 padding:8px 32px;font-size:13px}
#toc a{margin-right:16px;color:#14213d;text-decoration:none}
#toc a:hover{text-decoration:underline}
main{max-width:1280px;margin:0 auto;padding:8px 32px 48px}
section{background:#fff;border:1px solid #e2e4ea;border-radius:10px;margin:20px 0;
 padding:18px 22px}
h2{margin:0 0 12px;font-size:19px}
h3{margin:18px 0 8px;font-size:15px;color:#333}
.tiles{display:flex;flex-wrap:wrap;gap:12px;margin:4px 0 8px}
.tile{flex:1 1 150px;background:#f7f8fb;border:1px solid #e4e6ee;border-radius:8px;
 padding:10px 12px}
.tile .v{font-size:22px;font-weight:600;color:#14213d}
.tile .k{font-size:12px;color:#666}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(380px,1fr));gap:14px}
figure{margin:0;border:1px solid #eceef3;border-radius:8px;padding:8px 10px;background:#fff}
figcaption{font-size:12px;color:#555;margin-bottom:4px}
figcaption b{color:#1d2330;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #eceef3;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f7f8fb;font-weight:600}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:grid;grid-template-columns:1fr;gap:14px}
.card{border:1px solid #e2e4ea;border-radius:8px;padding:12px 14px}
.card.rejected{border-left:4px solid #D55E00}
.card.accepted{border-left:4px solid #009E73}
.q{font-size:15px;font-weight:600;margin:4px 0 8px}
.badges span{display:inline-block;background:#eef1f7;border-radius:10px;padding:1px 8px;
 margin:0 4px 4px 0;font-size:11px;color:#334}
.sql{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.sql div>span{font-size:11px;color:#666}
pre{margin:2px 0 0;background:#0f172a;color:#e2e8f0;border-radius:6px;padding:8px 10px;
 font-size:12px;line-height:1.35;overflow-x:auto;white-space:pre-wrap;word-break:break-word}
ul.findings{margin:6px 0 0;padding-left:18px;font-size:13px}
.muted{color:#777}
.note{font-size:12px;color:#666;margin:4px 0}
.legend{font-size:12px;color:#444;margin:0 0 10px}
.legend span{margin-right:18px;white-space:nowrap}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
"""

# Builds the table of contents from the section headings; marks the page as scripted so a
# headless-browser test can tell the script ran.
SCRIPT = """
(function(){
  var toc=document.getElementById('toc');
  document.querySelectorAll('main section h2').forEach(function(h,i){
    var id='s'+(i+1); h.parentNode.id=id;
    var a=document.createElement('a'); a.href='#'+id; a.className='toc-link';
    a.textContent=h.textContent; toc.appendChild(a);
  });
  var plots=document.querySelectorAll('svg.plot');
  document.body.setAttribute('data-plots', String(plots.length));
  document.body.setAttribute('data-marks',
    String(document.querySelectorAll('svg.plot rect.mark').length));
})();
"""


def _fmt(value: Any, digits: int = 1, unit: str = "") -> str:
    if value is None:  # nothing measured: never shown as 0
        return "n/a"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}{unit}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    return escape(str(value))


def _tiles(items: Iterable[tuple[str, str]]) -> str:
    cells = "".join(
        f'<div class="tile"><div class="v">{v}</div><div class="k">{escape(k)}</div></div>'
        for k, v in items
    )
    return f'<div class="tiles">{cells}</div>'


def _table(head: Sequence[str], rows: Iterable[Sequence[Any]], numeric: set[int]) -> str:
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_fmt(c)}</td>' if i in numeric else f"<td>{_fmt(c)}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{caption}</figcaption>{svg}</figure>"


def _section(title: str, body: str) -> str:
    return f"<section><h2>{escape(title)}</h2>{body}</section>"


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


# --------------------------------------------------------------------------- sections


def _overview(data: ReportData) -> str:
    s = data.stats
    candidates = s.get("candidates") or data.n_accepted + data.n_rejected
    accepted = s.get("accepted", data.n_accepted)
    tiles = [
        ("accepted samples", _fmt(accepted)),
        ("candidates", _fmt(candidates)),
        ("expansion failed", _fmt(s.get("expansion_failed"))),
        ("accepted, no engine executed", _fmt(s.get("accepted_not_executed"))),
        ("accepted, empty result", _fmt(_empty_results(s))),
        ("renderer defects", _fmt(_get(s, "render_defects", "count"))),
        ("acceptance", _fmt(100.0 * accepted / candidates if candidates else None, 1, "%")),
        (
            "SDMetrics overall",
            _fmt(_get(s, "sdmetrics", "overall") or _get(s, "sdmetrics", "quality"), 3),
        ),
        ("DuckDB executes", _fmt(_get(s, "engines", "duckdb", "ok_pct"), 1, "%")),
        ("PostGIS executes", _fmt(_get(s, "engines", "postgis", "ok_pct"), 1, "%")),
        (
            "cross-engine agreement",
            _fmt(_get(s, "agreement", "agree_pct"), 1, "%") if _get(s, "agreement", "n") else "n/a",
        ),
        ("novel shapes", _fmt(_get(s, "novelty", "novel_shape_pct"), 1, "%")),
        ("mean quality", _fmt(_get(s, "quality", "mean"), 3)),
    ]
    bar = stacked_bar(
        [("accepted", float(accepted)), ("rejected", float(s.get("rejected", data.n_rejected)))],
        title="accepted vs rejected candidates",
    )
    return _section("Overview", _tiles(tiles) + bar)


def _empty_results(stats: dict[str, Any]) -> int | None:
    """Accepted samples whose executed result was empty, on the gold engine when it ran."""
    sizes = stats.get("result_sizes") or {}
    engine = "postgis" if "postgis" in sizes else "duckdb"
    return _get(sizes, engine, "empty")


def _per_column(data: ReportData) -> dict[str, float]:
    """Per-feature shape scores: from stats.json when the pipeline wrote them, else ours."""
    written = _get(data.stats, "sdmetrics", "per_column")
    if isinstance(written, dict) and written:
        return {str(k): float(v) for k, v in written.items()}
    return data.shape_scores


def _distribution_figure(d: Distribution, data: ReportData) -> str:
    series = [Series(name, d.shares[name], SOURCE_COLOURS.get(name, "")) for name in d.shares]
    per_col = _per_column(data).get(d.feature)
    match = _get(data.stats, "fidelity", "per_feature_pct", d.feature)
    notes = []
    if per_col is not None:
        notes.append(f"shape score {float(per_col):.3f}")
    if match is not None:
        notes.append(f"structure kept {float(match):.1f}%")
    caption = f"<b>{escape(d.feature)}</b> · {' · '.join(notes) or 'share of rows (%)'}"
    return _figure(caption, column_chart(d.categories, series, title=d.feature, legend=False))


def _source_legend(data: ReportData) -> str:
    counts = data.distributions[0].counts if data.distributions else {}
    items = "".join(
        f'<span><i style="background:{colour}"></i><b>{escape(name)}</b> '
        f"({_fmt(counts.get(name, 0))} rows): {escape(SOURCE_NOTES[name])}</span>"
        for name, colour in SOURCE_COLOURS.items()
    )
    return f'<div class="legend">{items}</div>'


def _fidelity(data: ReportData) -> str:
    sdm = data.stats.get("sdmetrics") or {}
    tiles = [
        ("SDMetrics overall", _fmt(sdm.get("overall", sdm.get("quality")), 3)),
        ("column shapes", _fmt(sdm.get("column_shapes"), 3)),
        ("column pair trends", _fmt(sdm.get("column_pair_trends"), 3)),
        (
            "five counts kept (structure → SQL)",
            _fmt(_get(data.stats, "fidelity", "five_counts_pct"), 1, "%"),
        ),
        (
            "sql_type label agreement (accepted, derived from the SQL)",
            _fmt(_get(data.stats, "accepted_fidelity", "sql_type_label_agreement_pct"), 1, "%"),
        ),
    ]
    body = [_tiles(tiles)]
    if sdm.get("error"):
        body.append(f'<p class="note">SDMetrics failed: {escape(str(sdm["error"]))}</p>')
    body.append(
        '<p class="note">SDMetrics\' quality report compares the features re-extracted from the '
        "accepted SQL with the Stage 1 features (1.0 = identical distributions). Each chart "
        'shows a feature\'s share of rows per value; "structure kept" is how often the built '
        "query has the value its sampled structure asked for.</p>"
    )
    per_column = _per_column(data)
    if per_column:
        cols = [c for c in FEATURE_NAMES if c in per_column]
        cols += sorted(set(per_column) - set(cols))
        body.append(
            _figure(
                "<b>Shape score per feature</b>: Stage 1 vs accepted (KS complement for counts, "
                "TV complement for categories, as SDMetrics' column shapes)",
                bar_chart(
                    cols,
                    [Series("score", [float(per_column[c]) for c in cols])],
                    unit="score",
                    vmax=1.0,
                    title="SDMetrics per column",
                    bar_h=13,
                ),
            )
        )
    body.append("<h3>Feature distributions</h3>" + _source_legend(data) + '<div class="grid">')
    body.extend(_distribution_figure(d, data) for d in data.distributions)
    body.append("</div>")
    return _section("Fidelity: Stage 1 vs synthetic", "".join(body))


def _acceptance(data: ReportData) -> str:
    s = data.stats
    body = []
    bins = [f"{i / SCORE_BINS:.1f}" for i in range(SCORE_BINS)]
    hist = [
        Series("accepted", [float(v) for v in data.score_hist["accepted"]], PALETTE[2]),
        Series("rejected", [float(v) for v in data.score_hist["rejected"]], PALETTE[5]),
    ]
    body.append('<div class="grid">')
    body.append(
        _figure(
            "<b>Quality score</b> (candidates per score bin)",
            column_chart(bins, hist, unit="", title="quality score histogram"),
        )
    )
    by_stage = s.get("rejected_by_stage") or {}
    if by_stage:
        names = sorted(by_stage, key=lambda k: (-by_stage[k], k))
        body.append(
            _figure(
                "<b>Rejections by check stage</b>",
                bar_chart(
                    names,
                    [Series("rejected", [by_stage[k] for k in names], PALETTE[5])],
                    title="rejections by stage",
                    width=460,
                    label_w=130,
                ),
            )
        )
    if data.failed_thresholds:
        names = sorted(data.failed_thresholds, key=lambda k: (-data.failed_thresholds[k], k))
        body.append(
            _figure(
                "<b>Thresholds missed</b> (rejected samples per dimension)",
                bar_chart(
                    names,
                    [Series("rejected", [data.failed_thresholds[k] for k in names], PALETTE[6])],
                    title="thresholds missed",
                    width=460,
                    label_w=130,
                ),
            )
        )
    body.append("</div>")
    by_code = s.get("rejected_by_code") or dict(data.finding_codes)
    if by_code:
        codes = sorted(by_code, key=lambda k: (-by_code[k], k))
        body.append(
            _figure(
                "<b>Rejections by finding code</b>",
                bar_chart(
                    codes,
                    [Series("rejected", [by_code[k] for k in codes], PALETTE[5])],
                    title="rejections by code",
                ),
            )
        )
        rows = [
            (
                c,
                data.finding_examples.get(c, ("", ""))[0],
                by_code[c],
                data.finding_examples.get(c, ("", ""))[1],
            )
            for c in codes
        ]
        body.append(_table(("code", "stage", "rejected", "example message"), rows, {2}))
    q = s.get("quality") or {}
    body.append("<h3>Quality of accepted samples</h3>")
    body.append(
        _table(
            ("mean", "min", "p10", "median"),
            [tuple(_fmt(q.get(k), 3) for k in ("mean", "min", "p10", "p50"))],
            set(),
        )
    )
    return _section("Acceptance and rejection", "".join(body))


def _pass_rates(data: ReportData) -> str:
    per_type = data.stats.get("per_sql_type") or {}
    body = []
    if per_type:
        types = list(per_type)
        series = [
            Series(
                "accepted %", [float(per_type[t].get("accept_pct") or 0) for t in types], PALETTE[2]
            ),
            Series(
                "DuckDB ok %",
                [float(per_type[t].get("duckdb_ok_pct") or 0) for t in types],
                PALETTE[1],
            ),
        ]
        if any(per_type[t].get("postgis_ok_pct") is not None for t in types):
            series.append(
                Series(
                    "PostGIS ok %",
                    [float(per_type[t].get("postgis_ok_pct") or 0) for t in types],
                    PALETTE[0],
                )
            )
        body.append(
            _figure(
                "<b>Pass rate per sql_type and engine</b>",
                bar_chart(
                    types, series, unit="%", vmax=100.0, title="pass rate per sql_type", bar_h=11
                ),
            )
        )
        ran = [e for e in ("duckdb", "postgis") if e in (data.stats.get("engines") or {})]
        head = ["sql_type", "candidates", "accepted", "accept %"]
        for e in ran:
            name = {"duckdb": "DuckDB", "postgis": "PostGIS"}[e]
            head += [f"{name} ok % of checked", f"{name} checked", f"{name} not checkable"]
        rows = [
            (
                t,
                v.get("candidates"),
                v.get("accepted"),
                v.get("accept_pct"),
                *(
                    x
                    for e in ran
                    for x in (
                        v.get(f"{e}_ok_pct"),
                        v.get(f"{e}_checked"),
                        v.get(f"{e}_not_checkable"),
                    )
                ),
            )
            for t, v in per_type.items()
        ]
        body.append(_table(head, rows, set(range(1, len(head)))))
    engines = data.stats.get("engines") or {}
    if engines:
        body.append("<h3>Engines</h3>")
        engine_rows = [
            (
                name,
                e.get("n"),
                e.get("ok"),
                e.get("ok_pct"),
                e.get("executed"),
                e.get("planned"),
                e.get("not_checkable"),
                e.get("errors"),
            )
            for name, e in engines.items()
        ]
        body.append(
            _table(
                (
                    "engine",
                    "checked",
                    "no error",
                    "no error %",
                    "executed",
                    "timed out",
                    "not checkable",
                    "errors",
                ),
                engine_rows,
                {1, 2, 3, 4, 5, 6, 7},
            )
        )
    body.append(_dialects(data.stats))
    agreement = data.stats.get("agreement") or {}
    pairs = [("DuckDB vs PostGIS", agreement)] + [
        (f"SpatiaLite vs {other}", agreement.get(f"spatialite~{key}") or {})
        for key, other in (("duckdb", "DuckDB"), ("postgis", "PostGIS"))
    ]
    for label, a in pairs:
        if a.get("n"):
            body.append(
                f'<p class="note">Cross-engine agreement (row count and numeric column sums, '
                f"{label}): {_fmt(a.get('agree'))} of "
                f"{_fmt(a.get('n'))} ({_fmt(a.get('agree_pct'), 1, '%')}).</p>"
            )
    if not agreement.get("n"):
        body.append(
            '<p class="note">Cross-engine agreement: n/a (DuckDB vs PostGIS: no query ran on '
            "both).</p>"
        )
    body.append(_result_sizes(data.stats))
    body.append(_unverified(data.stats))
    body.append(_defects(data.stats))
    return _section("Pass rate per sql_type and engine", "".join(body))


def _result_sizes(stats: dict[str, Any]) -> str:
    sizes = stats.get("result_sizes") or {}
    body = ["<h3>Result sizes of accepted samples</h3>"]
    if not sizes:
        return body[0] + '<p class="muted">n/a: no accepted sample was executed.</p>'
    labels = list(next(iter(sizes.values()))["bins"])
    series = [
        Series(engine, [float(s["bins"].get(k, 0)) for k in labels], PALETTE[i + 1])
        for i, (engine, s) in enumerate(sizes.items())
    ]
    body.append(
        _figure(
            "<b>Rows returned</b> (accepted samples an engine executed, per size)",
            column_chart(labels, series, unit="", title="result sizes"),
        )
    )
    rows = [
        (engine, s["executed"], s["empty"], *(s["bins"].get(k) for k in labels))
        for engine, s in sizes.items()
    ]
    head = ["engine", "executed", "empty (0 rows)", *(f"{k} rows" for k in labels)]
    body.append(_table(head, rows, set(range(1, len(head)))))
    return "".join(body)


def _unverified(stats: dict[str, Any]) -> str:
    reasons = stats.get("unverified_reasons") or []
    n = stats.get("accepted_not_executed")
    body = [f"<h3>Accepted samples no engine executed ({_fmt(n)})</h3>"]
    if not reasons:
        return body[0] + '<p class="muted">None: every accepted sample was executed.</p>'
    rows = [(r.get("engine"), r.get("reason"), r.get("count")) for r in reasons]
    body.append(_table(("engine", "why it did not execute", "samples"), rows, {2}))
    return "".join(body)


def _defects(stats: dict[str, Any]) -> str:
    defects = stats.get("render_defects") or {}
    count = defects.get("count")
    body = [f"<h3>Renderer defects ({RND001}): {_fmt(count)}</h3>"]
    if not count:
        return body[0]
    by_backend = ", ".join(f"{k}: {v}" for k, v in (defects.get("by_backend") or {}).items())
    body.append(
        f'<p class="note">A renderer raised something other than "unsupported": a bug, '
        f"every such candidate was rejected ({escape(by_backend)}). First tracebacks:</p>"
    )
    body += [
        f"<div><span>structure {_fmt(d.get('index'))}, {escape(str(d.get('backend')))}"
        f"</span><pre>{escape(str(d.get('traceback')))}</pre></div>"
        for d in defects.get("first") or ()
    ]
    return "".join(body)


def _dialects(stats: dict[str, Any]) -> str:
    """The accepted rows' PostGIS and SpatiaLite SQL side by side: the share that executed
    and the share that returned rows, with the engine that ran each dialect."""
    dialects = stats.get("dialects") or {}
    if not dialects:
        return ""
    names = {"postgis": "PostGIS", "spatialite": "SpatiaLite", "duckdb": "DuckDB"}
    rows = []
    for dialect, d in dialects.items():
        engine = names.get(d.get("engine", ""), d.get("engine"))
        if dialect == "postgis" and d.get("engine") == "duckdb":
            engine = "DuckDB (same query; no --postgis)"
        label = names.get(dialect, dialect) + (" (target)" if d.get("target") else "")
        if not d.get("ran"):
            why = stats.get("spatialite", "") if dialect == "spatialite" else ""
            rows.append((label, engine, "not run", why or "-", "", "", ""))
            continue
        rows.append(
            (
                label,
                engine,
                f"{_fmt(d.get('executed'))} ({_fmt(d.get('executed_pct'), 1, '%')})",
                f"{_fmt(d.get('nonempty'))} ({_fmt(d.get('nonempty_pct'), 1, '%')})",
                d.get("not_checkable"),
                d.get("timeouts"),
                d.get("errors"),
            )
        )
    raster = (
        "Raster queries have no SpatiaLite form (SpatiaLite has no raster type): they are "
        "not checkable there."
    )
    return (
        "<h3>Dialects (accepted rows)</h3>"
        + _table(
            (
                "dialect",
                "executed on",
                "executed",
                "returned rows",
                "not checkable",
                "timeouts",
                "errors",
            ),
            rows,
            {4, 5, 6},
        )
        + f'<p class="note">{raster}</p>'
    )


def _coverage(data: ReportData) -> str:
    from cimgen.catalogue import load_catalogue

    cov = data.stats.get("coverage") or {}
    functions: dict[str, int] = cov.get("functions") or {}
    tables: dict[str, int] = cov.get("tables") or {}
    spatial = {f.name for f in load_catalogue().spatial()}
    used = sorted(set(functions) & spatial)
    body = [
        _tiles(
            [
                ("spatial functions used", f"{len(used)} / {len(spatial)}"),
                ("tables used", _fmt(len(tables))),
            ]
        )
    ]
    if functions:
        names = sorted(functions, key=lambda k: (-functions[k], k))[:TOP_FUNCTIONS]
        body.append(
            _figure(
                f"<b>Functions</b> (top {len(names)} of {len(functions)}, "
                "accepted samples using each)",
                bar_chart(
                    names,
                    [Series("samples", [functions[k] for k in names], PALETTE[0])],
                    title="function coverage",
                    width=560,
                    label_w=170,
                    bar_h=13,
                ),
            )
        )
    if tables:
        names = sorted(tables, key=lambda k: (-tables[k], k))
        body.append(
            _figure(
                f"<b>Tables</b> ({len(names)}, accepted samples using each)",
                bar_chart(
                    names,
                    [Series("samples", [tables[k] for k in names], PALETTE[4])],
                    title="table coverage",
                    width=560,
                    label_w=230,
                    bar_h=13,
                ),
            )
        )
    unused = sorted(spatial - set(functions))
    if unused:
        body.append(
            f'<p class="note">Catalogue spatial functions never used: '
            f"{escape(', '.join(unused))}.</p>"
        )
    return _section("Coverage", "".join(body))


def _novelty(data: ReportData) -> str:
    nov = data.stats.get("novelty") or {}
    questions = data.stats.get("questions") or {}
    shares = [
        ("distinct SQL", nov.get("distinct_sql_pct")),
        ("distinct shapes", nov.get("distinct_shapes_pct")),
        ("shapes new vs Stage 1", nov.get("novel_shape_pct")),
        ("distinct questions", questions.get("distinct_pct")),
    ]
    present = [(k, float(v)) for k, v in shares if v is not None]
    tiles = [("distinct query shapes", _fmt(nov.get("distinct_shapes")))]
    tiles += [(k, _fmt(v, 1, "%")) for k, v in present]
    if questions.get("words_median") is not None:
        words = f"{_fmt(questions.get('words_median'))} / {_fmt(questions.get('words_p90'))}"
        tiles.append(("question words, median / p90", words))
    body = _tiles(tiles)
    if present:
        body += bar_chart(
            [k for k, _ in present],
            [Series("%", [v for _, v in present], PALETTE[3])],
            unit="%",
            vmax=100.0,
            title="novelty and diversity",
            width=560,
            label_w=170,
        )
    body += (
        '<p class="note">A shape is PostgreSQL\'s query fingerprint (literals ignored); '
        '"new vs Stage 1" counts accepted shapes that no Stage 1 query has.</p>'
    )
    return _section("Novelty and diversity", body)


def _sql_block(label: str, sql: Any) -> str:
    text = escape(sql) if sql else '<span class="muted">not supported in this dialect</span>'
    return f"<div><span>{escape(label)}</span><pre>{text}</pre></div>"


def _badges(row: dict[str, Any]) -> str:
    q = row.get("quality") or {}
    items = [
        row.get("sql_type"),
        row.get("difficulty_level"),
        row.get("question_tone"),
        f"score {float(q['score']):.3f}" if q.get("score") is not None else None,
        ", ".join(row.get("spatial_functions") or []) or None,
    ]
    return (
        '<div class="badges">'
        + "".join(f"<span>{escape(str(i))}</span>" for i in items if i)
        + "</div>"
    )


def _examples(data: ReportData) -> str:
    body = ['<h3>Accepted</h3><div class="cards">']
    for row in data.accepted_examples:
        body.append(
            f'<div class="card accepted"><div class="q">{escape(str(row.get("question", "")))}'
            f'</div>{_badges(row)}<div class="sql">'
            f"{_sql_block('PostGIS', row.get('sql_postgis'))}"
            f"{_sql_block('SpatiaLite', row.get('sql_spatialite'))}</div></div>"
        )
    if not data.accepted_examples:
        body.append('<p class="muted">No accepted samples.</p>')
    body.append('</div><h3>Rejected</h3><div class="cards">')
    for row in data.rejected_examples:
        findings = "".join(
            f"<li><b>{escape(str(f.get('code')))}</b> ({escape(str(f.get('stage', '')))}, "
            f"{escape(str(f.get('severity', 'error')))}): {escape(str(f.get('message', '')))}"
            "</li>"
            for f in row.get("findings") or ()
            if isinstance(f, dict)
        )
        body.append(
            f'<div class="card rejected"><div class="q">{escape(str(row.get("question") or ""))}'
            f'</div>{_badges(row)}<ul class="findings">{findings}</ul><div class="sql">'
            f"{_sql_block('PostGIS', row.get('sql_postgis'))}"
            f"{_sql_block('SpatiaLite', row.get('sql_spatialite'))}</div></div>"
        )
    if not data.rejected_examples:
        body.append('<p class="muted">No rejected candidates.</p>')
    body.append("</div>")
    return _section("Examples", "".join(body))


def _run(data: ReportData) -> str:
    s = data.stats
    body = []
    timings = s.get("timings") or {}
    if timings:
        names = list(timings)
        body.append(
            _figure(
                "<b>Time per stage</b> (seconds)",
                bar_chart(
                    names,
                    [Series("s", [float(timings[k]) for k in names], PALETTE[4])],
                    title="timings",
                    width=560,
                    label_w=150,
                ),
            )
        )
    rec, st = s.get("records") or {}, dict(s.get("structures") or {})
    report = st.get("report") or {}
    for key in ("repaired", "rejected"):  # a count, or {rule code: count}
        value = st.get(key, report.get(key))
        st[key] = sum(value.values()) if isinstance(value, dict) else value
    rows = [
        (
            "Stage 1 records read / skipped / with features",
            f"{_fmt(rec.get('read'))} / {_fmt(rec.get('skipped'))} / {_fmt(rec.get('features'))}",
        ),
        (
            "structures sampled / repaired / rejected",
            f"{_fmt(st.get('sampled'))} / {_fmt(st.get('repaired'))} / {_fmt(st.get('rejected'))}",
        ),
        ("rounds", _fmt(s.get("rounds"))),
        ("schema", _fmt(s.get("schema"))),
        ("synthesizer", _fmt(s.get("synthesizer"))),
        ("model hash", _fmt(s.get("model_hash"))),
        ("seed", _fmt(s.get("seed"))),
    ]
    skipped = rec.get("skipped_by_reason") or {}
    if skipped:
        rows.append(
            (
                "skipped by reason",
                ", ".join(f"{escape(str(k))}: {v}" for k, v in sorted(skipped.items())),
            )
        )
    body.append(
        "<table><tbody>"
        + "".join(f"<tr><th>{escape(k)}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )
    return _section("Run", "".join(body))


def render(data: ReportData) -> str:
    """The whole report as one HTML string (deterministic for the same output folder)."""
    s = data.stats
    tool = s.get("tool") or {}
    version = tool.get("version") if isinstance(tool, dict) else tool
    meta = " · ".join(
        escape(str(x))
        for x in (
            f"cimgen {version}" if version else None,
            f"schema {s['schema']}" if s.get("schema") else None,
            f"synthesizer {s['synthesizer']}" if s.get("synthesizer") else None,
            f"seed {s['seed']}" if s.get("seed") is not None else None,
            f"model {str(s['model_hash'])[:12]}" if s.get("model_hash") else None,
        )
        if x
    )
    sections = [
        _overview(data),
        _fidelity(data),
        _acceptance(data),
        _pass_rates(data),
        _coverage(data),
        _novelty(data),
        _examples(data),
        _run(data),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>cimgen Stage 2 report</title>"
        f"<style>{CSS}</style></head><body>"
        f'<header><h1>cimgen Stage 2 report</h1><div class="meta">{meta}</div></header>'
        '<nav id="toc"></nav><main>' + "\n".join(sections) + "</main>"
        f"<script>{SCRIPT}</script></body></html>\n"
    )
