"""Questions a person would type, read off a query's AST.

One entry point, :func:`ask`: AST + schema + tone + seed -> question. It works from the AST
alone, for any query the grammar admits, so phrasing can change without reading the
expander and the expander without reading phrasing.

The question is built in two steps:

1. a :class:`~cimgen.question.reading.QueryReader` reads the query into a
   :class:`~cimgen.question.base.Reading`: the subject (``buildings``), its conditions as
   clauses (``in project 'p'``, ``with height over 25 m``), the tables joined to it (keys the
   schema implies are not spelled out), what is returned (named briefly by what it means),
   grouping, ordering and limit. Every literal that changes the result, every non-default
   ordering and every LIMIT end up in some phrase. The reader is built in layers, one module
   each: scope -> expressions -> geometry -> conditions -> reading.
2. :class:`~cimgen.question.voices.Voices` arranges the reading in a voice (imperative,
   question, a planner's goal) and a skeleton drawn from the tone and the seed.

Words come from the schema (:mod:`~cimgen.question.vocabulary`): column descriptions, table
names, so other schemas keep working. docs/questions.md has the details.
"""

from __future__ import annotations

import random

from cimgen import ast
from cimgen.question.base import TONES, Reading
from cimgen.question.reading import QueryReader, per_cluster
from cimgen.question.vocabulary import vocabulary
from cimgen.question.voices import Voices, finish
from cimgen.schema.model import Schema


def ask(query: ast.Query, schema: Schema, tone: str, seed: int | random.Random) -> str:
    """The question for ``query``: deterministic for ``seed`` (an int or a seeded
    ``random.Random``, whose state it advances); unknown tones read as ``DIRECT``.

    >>> from cimgen.schema.load import load_schema
    >>> q = ast.Query(ast.Select((ast.SelectItem(ast.Column("height")),),
    ...     (ast.TableRef("building_properties", "cim_vector"),),
    ...     ast.BinaryOp(">", ast.Column("height"), ast.Number("25"))),
    ...     order_by=(ast.OrderItem(ast.Column("height"), "DESC"),), limit=ast.Number("10"))
    >>> ask(q, load_schema("cim_wizard"), "INTERROGATIVE", 1)
    'What buildings are taller than 25 m, the 10 tallest?'
    """
    reader, reading = read(query, schema, seed)
    return say(reader, reading, tone)


def read(
    query: ast.Query, schema: Schema, seed: int | random.Random
) -> tuple[QueryReader, Reading]:
    """Step 1 of :func:`ask`: the reader (holding the seeded random source step 2 draws
    from) and its reading of ``query``. Apart so that a tool can look at the reading
    before the voices arrange it (``benchmarks/bench_question_lengths.py`` counts the words
    of each part); ``say(*read(q, schema, seed), tone) == ask(q, schema, tone, seed)``."""
    rng = seed if isinstance(seed, random.Random) else random.Random(seed)
    reader = QueryReader(vocabulary(schema), rng, schema.metric_srid)
    # the bounding-box half of an index-friendly distance join says nothing the
    # ST_DWithin beside it does not
    reading, _ = reader.read_query(ast.without_box_prefilters(query), None)
    per_cluster(reading)
    return reader, reading


def say(reader: QueryReader, reading: Reading, tone: str) -> str:
    """Step 2 of :func:`ask`: ``reading`` arranged in a voice for ``tone`` (the voices may
    take a clause out of ``reading``: copy it first to keep it whole)."""
    return finish(Voices(reader, reading, tone).sentence())


# the SQL dialects an instruction can ask for, as people write their names
DIALECT_NAMES = {"postgis": "PostGIS", "spatialite": "SpatiaLite", "duckdb": "DuckDB"}


def instruction(
    question: str, schema: Schema, dialect: str = "postgis", tables: tuple[str, ...] = ()
) -> str:
    """The Stage 1 style instruction around a question, asking for SQL in ``dialect`` (a
    key of :data:`DIALECT_NAMES`) and naming the ``tables`` the query uses (their columns
    go in the record's ``schema_context``); it always ends with the question.

    >>> from cimgen.schema.load import load_schema
    >>> instruction("How many?", load_schema("cim_wizard"), "spatialite", ("cim_vector.building",))
    'Convert this natural language question to SpatiaLite spatial SQL for the CIM Wizard \
database using the tables cim_vector.building: How many?'
    """
    name = DIALECT_NAMES.get(dialect)
    if name is None:
        known = ", ".join(DIALECT_NAMES)
        raise ValueError(f"unknown SQL dialect {dialect!r}: use one of {known}")
    named = f" using the tables {', '.join(tables)}" if tables else ""
    return (
        f"Convert this natural language question to {name} spatial SQL for "
        f"{vocabulary(schema).database}{named}: {question}"
    )


__all__ = ["DIALECT_NAMES", "TONES", "ask", "instruction", "read", "say"]
