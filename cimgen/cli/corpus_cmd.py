"""``cimgen corpus``: the bundled Stage 1 demo corpus (export it, summarise a corpus)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import typer
from rich.table import Table

from cimgen.cli.main import console, out
from cimgen.corpus import load_demo_corpus
from cimgen.corpus.build import write_atomic
from cimgen.corpus.stats import CorpusStats, corpus_stats
from cimgen.errors import InputError
from cimgen.ingest import read_stage1

corpus_app = typer.Typer(
    help="The bundled Stage 1 demo corpus (~10,000 cim_wizard records).",
    no_args_is_help=True,
)


@corpus_app.command("export")
def export(
    out_file: Path = typer.Option(
        ...,
        "--out",
        help="Where to write the corpus as JSONL (.jsonl, or .jsonl.gz to keep it compressed).",
    ),
) -> None:
    """Write the bundled demo corpus to FILE (atomically)."""
    if out_file.exists() and out_file.is_dir():
        raise InputError.at(
            out_file, None, "is a directory", "Give a file name, e.g. --out stage1_demo.jsonl"
        )
    data = load_demo_corpus().read_bytes()
    if not out_file.name.endswith(".gz"):
        data = gzip.decompress(data)
    write_atomic(out_file, data)
    n = data.count(b"\n") if not out_file.name.endswith(".gz") else None
    out.print(f"wrote {out_file}" + (f" ({n} records)" if n is not None else ""))


@corpus_app.command("stats")
def stats(
    stage1: Path | None = typer.Option(
        None,
        "--stage1",
        help="Corpus to summarise (.jsonl[.gz], .json, .csv, .parquet); "
        "default: the bundled demo corpus.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Summarise a Stage 1 corpus: records, sql_type / difficulty / tone counts, tables,
    distinct spatial functions and the share of queries with CTEs, subqueries, aggregation
    and window functions."""
    path = stage1 if stage1 is not None else load_demo_corpus()
    with console.status(f"reading {path.name}…"):
        st = corpus_stats(read_stage1(path))
    if as_json:
        out.print_json(json.dumps(st.to_dict()))
        return
    _print(st, path)


def _counts(title: str, counts: dict[str, int], total: int) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column(title.split(" ")[0].lower())
    table.add_column("records", justify="right")
    table.add_column("%", justify="right")
    for key, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(key, str(n), f"{100.0 * n / total:.1f}" if total else "-")
    return table


def _print(st: CorpusStats, path: Path) -> None:
    head = Table(title=f"corpus {path.name}", title_justify="left")
    head.add_column("what")
    head.add_column("value", justify="right")
    head.add_row("records", str(st.records))
    head.add_row("templates", str(len(st.templates)) if st.templates else "-")
    head.add_row("SQL not parsed by pglast", str(st.unparsed))
    head.add_row("distinct spatial functions", str(len(st.functions)))
    head.add_row("tables used", str(len(st.tables)))
    for label, n in (
        ("with CTE", st.with_cte),
        ("with subquery", st.with_subquery),
        ("with aggregation", st.with_aggregation),
        ("with window function", st.with_window),
        ("with UNION / set operation", st.with_set_operation),
    ):
        head.add_row(f"% {label}", f"{st.share(n):.1f}")
    out.print(head)
    out.print(_counts("sql_type", dict(st.sql_types), st.records))
    out.print(_counts("difficulty_level", dict(st.difficulty), st.records))
    out.print(_counts("question_tone", dict(st.tones), st.records))
    out.print(_counts("usage_frequency", dict(st.usage), st.records))
    out.print(_counts("tables (records using)", dict(st.tables), st.records))
    funcs = ", ".join(sorted(st.functions))
    out.print(f"spatial functions ({len(st.functions)}): {funcs}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.add_typer(corpus_app, name="corpus")
