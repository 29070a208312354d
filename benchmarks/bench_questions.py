"""A question review you can repeat: sample rows with a fixed seed, write them side by side.

Reads a ``dataset.jsonl`` (from ``cimgen generate``) given on the command line, or, without
one, runs a small generate itself (``--rows``, GaussianCopula, seed ``--seed``, into a
temporary folder). Samples ``--n`` rows with ``random.Random(--seed)`` and writes a Markdown
file with one table row per sample: tone, question, SQL (PostGIS, on one line) and an empty
"verdict" column to fill in while reading. Prints the length figures (words split on white
space: median, 90th percentile, max) of the whole dataset and of the sample, and the time
``cimgen.question.ask`` takes per question on the dataset's queries (each parsed first,
outside the timer; one process, one core).

``--stage1 FILE`` instead describes the Stage 1 samples PostgreSQL parses (schema
``cim_wizard_deployed``, each in its own tone, seed = its line number) -- a second,
human-written query set; then every parsed sample is written, not a sample of them.

    python benchmarks/bench_questions.py out/stage2/dataset.jsonl --out review.md
    python benchmarks/bench_questions.py --rows 300 --out review.md
    python benchmarks/bench_questions.py --stage1 ../shared/mission/stage1_sample.jsonl \\
        --out stage1_review.md
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import random
import tempfile
from pathlib import Path
from typing import Any

from cimgen.io import read_jsonl


def lengths(questions: list[str]) -> str:
    words = sorted(len(q.split()) for q in questions)
    if not words:
        return "no questions"
    n = len(words)
    median = words[n // 2] if n % 2 else (words[n // 2 - 1] + words[n // 2]) / 2
    p90 = words[min(n - 1, math.ceil(0.9 * n) - 1)]
    return f"{n} questions: median {median} words, p90 {p90}, max {words[-1]}"


def timing(rows: list[dict[str, Any]], schema_name: str) -> str:
    """ms per question: ``ask`` on each row's PostGIS SQL (parsed beforehand), its tone."""
    import time

    from cimgen.grammar import parse
    from cimgen.question import ask
    from cimgen.schema.load import load_schema

    schema = load_schema(schema_name)
    queries = [(parse(r["sql_postgis"]), r.get("question_tone") or "DIRECT") for r in rows]
    ms = []
    for i, (query, tone) in enumerate(queries):
        t0 = time.perf_counter()
        ask(query, schema, tone, i)
        ms.append(1000 * (time.perf_counter() - t0))
    ms.sort()
    n = len(ms)
    return (
        f"ask(): {n} questions, median {ms[n // 2]:.2f} ms, p95 {ms[int(0.95 * n)]:.2f} ms, "
        f"{n / (sum(ms) / 1000):.0f} questions/s (one core)"
    )


def generate(rows: int, seed: int, where: Path) -> Path:
    from rich.console import Console

    from cimgen.generate import GenerateOptions, run_generate

    out = where / "stage2"
    opts = GenerateOptions(
        out=out, rows=rows, synthesizer="gaussian_copula", seed=seed, report=False, progress=True
    )
    run_generate(opts, Console(stderr=True))
    return out / "dataset.jsonl"


def stage1_rows(path: Path) -> list[dict[str, Any]]:
    import pglast

    from cimgen.grammar import parse
    from cimgen.question import ask
    from cimgen.schema.load import load_schema

    schema = load_schema("cim_wizard_deployed")
    out = []
    for i, record in enumerate(read_jsonl(path)):
        try:
            pglast.parse_sql(record["sql_postgis"])
        except Exception:  # samples PostgreSQL rejects have no AST to read
            continue
        query = parse(record["sql_postgis"])
        question = ask(query, schema, record["question_tone"], i)
        out.append({**record, "question": question, "stage1_question": record["question"]})
    return out


def cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def write(path: Path, rows: list[dict[str, Any]], source: str, head: list[str]) -> None:
    lines = [
        "# Question review",
        "",
        f"Source: {source}  ",
        f"Written {datetime.date.today().isoformat()} on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}).  ",
        *[f"{h}  " for h in head],
        "",
        "Verdict: would a person have written this question for this SQL? (yes / no: the reason)",
        "",
        "| # | tone | question | SQL (PostGIS) | verdict |",
        "|---|---|---|---|---|",
    ]
    for i, r in enumerate(rows, 1):
        question = cell(r["question"])
        if r.get("stage1_question"):
            question += f"<br>*Stage 1:* {cell(r['stage1_question'])}"
        tone = cell(r.get("question_tone", ""))
        lines.append(f"| {i} | {tone} | {question} | `{cell(r['sql_postgis'])}` | |")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dataset", nargs="?", type=Path, help="a dataset.jsonl from cimgen generate")
    ap.add_argument("--out", type=Path, required=True, help="the Markdown file to write")
    ap.add_argument("--n", type=int, default=100, help="rows to sample (default 100)")
    ap.add_argument("--seed", type=int, default=17, help="sampling (and generate) seed")
    ap.add_argument("--rows", type=int, default=300, help="rows to generate without a dataset")
    ap.add_argument("--stage1", type=Path, help="describe these Stage 1 samples instead")
    ap.add_argument("--schema", default="cim_wizard", help="the dataset's schema (for timing)")
    args = ap.parse_args()

    if args.stage1:
        rows = stage1_rows(args.stage1)
        head = [f"All {len(rows)} parsed samples ({lengths([r['question'] for r in rows])})."]
        head.append(f"Their own questions: {lengths([r['stage1_question'] for r in rows])}.")
        write(args.out, rows, f"{args.stage1} (schema cim_wizard_deployed)", head)
        print("\n".join(head))
        return
    with tempfile.TemporaryDirectory() as tmp:
        dataset = args.dataset or generate(args.rows, args.seed, Path(tmp))
        rows = read_jsonl(dataset)
        source = (
            str(args.dataset) if args.dataset else f"a {args.rows}-row generate, seed {args.seed}"
        )
    sample = random.Random(args.seed).sample(rows, min(args.n, len(rows)))
    head = [
        f"Dataset: {lengths([r['question'] for r in rows])}.",
        f"Sample ({len(sample)} rows, random.Random({args.seed})): "
        f"{lengths([r['question'] for r in sample])}.",
        timing(rows, args.schema) + ".",
    ]
    write(args.out, sample, source, head)
    print("\n".join(head))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
