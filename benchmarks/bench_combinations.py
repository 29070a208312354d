"""Table combinations a corpus never makes, in the accepted rows of a run (issue 14, tenth
pass (a)): blind reviewers called the *combinations* contrived (DTM values at grid-line
centroids, a bus beside buildings and a census aggregate) while each query was valid SQL.

    python benchmarks/bench_combinations.py RUN [RUN ...] [--corpus STAGE1.jsonl[.gz]]
        [--schema cim_wizard|DDL.sql]

Each row's SQL and each corpus record are read by the same reader the expander learns from
(:func:`cimgen.world.corpus.learn_corpus`: pglast, tables resolved against the schema).
Per run it prints the rows that read

* ``unseen_pair`` -- a pair of tables no corpus query reads together;
* ``unseen_raster_at`` -- a raster at a vector table's geometry the corpus never reads that
  raster at (only for rasters the corpus reads at some geometry);
* ``unseen_meet`` -- two vector tables' geometries compared by one spatial call, which no
  corpus query compares (only when the corpus compares some);
* ``unseen_subject`` -- a first table no corpus query starts from;

and how far the rows' subjects are from the corpus's (total variation distance of the two
shares; 0 = the same mix, 1 = disjoint).
"""

from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cimgen.models import Stage1Record
from cimgen.schema import load_schema
from cimgen.schema.model import Schema
from cimgen.world.corpus import Combinations, learn_corpus

ROOT = Path(__file__).resolve().parents[1]
BUNDLED = ROOT / "cimgen" / "data" / "stage1_demo.jsonl.gz"


def _records(path: Path) -> Iterator[Stage1Record]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                raw = json.loads(line)
                sql = raw.get("sql_postgis") or raw.get("sql") or ""
                yield Stage1Record(id=str(raw.get("id", n)), sql=sql, line=n)


def unseen(schema: Schema, record: Stage1Record, corpus: Combinations) -> tuple[set[str], str]:
    """The combinations of ``record`` that ``corpus`` never makes, and its subject."""
    own = learn_corpus(schema, [record]).combinations()
    out = set()
    if any(corpus.pair(a, b) == 0 for a, b in own.pairs):
        out.add("unseen_pair")
    if any(corpus.read_at(r, v) == 0 for r, v in own.raster_at if _read_somewhere(corpus, r)):
        out.add("unseen_raster_at")
    if corpus.meets and any(corpus.meet(a, b) == 0 for a, b in own.meets):
        out.add("unseen_meet")
    subject = next(iter(own.subjects), "")
    if subject and corpus.subject(subject) == 0:
        out.add("unseen_subject")
    return out, subject


def _read_somewhere(corpus: Combinations, raster: str) -> bool:
    return any(r == raster for r, _ in corpus.raster_at)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="cimgen generate output folders")
    ap.add_argument("--corpus", type=Path, default=BUNDLED, help="Stage 1 JSONL (.gz)")
    ap.add_argument("--schema", default="cim_wizard", help="a bundled name or a DDL file")
    args = ap.parse_args()
    schema = load_schema(args.schema)
    corpus = learn_corpus(schema, _records(args.corpus)).combinations()
    total = sum(corpus.subjects.values())
    print(f"corpus {args.corpus}: {corpus.records} queries, {len(corpus.pairs)} pairs")
    for run in args.runs:
        counts: Counter[str] = Counter()
        subjects: Counter[str] = Counter()
        rows = 0
        for rec in _records(run / "dataset.jsonl"):
            rows += 1
            found, subject = unseen(schema, rec, corpus)
            counts.update(found)
            subjects[subject] += 1
        tvd = 0.5 * sum(
            abs(subjects[t] / max(rows, 1) - corpus.subject(t) / max(total, 1))
            for t in set(subjects) | set(corpus.subjects)
        )
        shares = ", ".join(f"{k} {v} ({100 * v / max(rows, 1):.1f} %)" for k, v in counts.items())
        print(f"{run}: {rows} rows; {shares or 'none unseen'}; subjects' distance {tvd:.3f}")
        top = ", ".join(f"{t.split('.')[-1]} {n}" for t, n in subjects.most_common(8))
        print(f"  subjects: {top}")


if __name__ == "__main__":
    main()
