"""Count the outputs an analyst does not ask for (issue 14, fifteenth pass (a)) in the
accepted rows of runs.

usage: bench_realism15a.py [--schema SCHEMA --stage1 CORPUS.jsonl] RUN_DIR [RUN_DIR ...]

Each row's PostGIS SQL is read as the corpus is (:func:`cimgen.world.corpus.learn_corpus`
on the row alone: its subject -- the first table written -- and the columns its SELECT
lists read, per role: of the subject, of a table read beside it). What the user's corpus
asks is the bundled demo corpus's facts, as the default job learns them, or -- with
``--schema`` and ``--stage1`` (the foreign world: ``tests/foreign/deployed.sql``,
``tests/foreign/stage1.jsonl``) -- that corpus's on that schema. Per run:

* ``subject outputs never asked`` -- of the (row, column) outputs of the row's subject
  table, those the corpus, with :data:`EVIDENCE` records about that table, never outputs
  of it as the subject (a building's ``building_geometry_source``), and the rows with one;
* ``joined outputs never asked`` -- the same for a table read beside the subject (the
  fourteenth pass (b)'s rule, read the same way);
* ``geometry source`` -- questions saying "geometry source";
* the columns most often output unasked, per role.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from cimgen.corpus import iter_demo_records
from cimgen.ingest import read_stage1
from cimgen.models import Stage1Record
from cimgen.schema import load_schema
from cimgen.schema.model import Schema
from cimgen.world.corpus import Combinations, learn_corpus


def unasked(sql: str, schema: Schema, combos: Combinations) -> dict[str, tuple[int, set[str]]]:
    """Per role (``subject``, ``joined``): how many columns the row outputs of tables the
    corpus has evidence about in that role, and those of them it never outputs so."""
    row = learn_corpus(schema, [Stage1Record(id="row", sql=sql, line=0)])
    out: dict[str, tuple[int, set[str]]] = {}
    for role, cols, asked in (
        ("subject", row.subject_outputs, combos.subject_output),
        ("joined", row.joined_outputs, combos.joined_output),
    ):
        judged = [(t, c) for t, c in cols if combos.evidence(t, role)]
        out[role] = (len(judged), {f"{t}.{c}" for t, c in judged if not asked(t, c)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--schema", default="cim_wizard")
    ap.add_argument("--stage1", type=Path, help="the corpus (default: the bundled demo corpus)")
    args = ap.parse_args()
    schema = load_schema(args.schema)
    if args.stage1 is not None:
        records = list(read_stage1(args.stage1))
    else:
        records = [
            Stage1Record(id=d["id"], sql=d["sql_postgis"], line=0) for d in iter_demo_records()
        ]
    combos = learn_corpus(schema, records).combinations()
    for run in args.runs:
        rows = [json.loads(x) for x in (Path(run) / "dataset.jsonl").read_text().splitlines()]
        totals: Counter[str] = Counter()
        never: Counter[str] = Counter()
        with_never: Counter[str] = Counter()
        columns: dict[str, Counter[str]] = {"subject": Counter(), "joined": Counter()}
        examples: dict[str, list[str]] = {"subject": [], "joined": []}
        for r in rows:
            for role, (n, cols) in unasked(r["sql_postgis"], schema, combos).items():
                totals[role] += n
                never[role] += len(cols)
                with_never[role] += bool(cols)
                columns[role].update(cols)
                if cols:
                    examples[role].append(r["id"])
        said = sum("geometry source" in r["question"].lower() for r in rows)
        print(f"{run}: {len(rows)} rows; questions saying 'geometry source' {said}")
        for role in ("subject", "joined"):
            share = 100 * never[role] / totals[role] if totals[role] else 0.0
            print(
                f"  {role} outputs never asked: {never[role]} of {totals[role]} ({share:.1f} %),"
                f" rows {with_never[role]}; top {columns[role].most_common(6)}"
            )
            print(f"    e.g. {' '.join(examples[role][:8])}")


if __name__ == "__main__":
    main()
