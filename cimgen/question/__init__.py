"""A natural-language question (and a Stage 1 style instruction) for a query, from its AST.

The question is built in two steps:

1. a :class:`~cimgen.question.reading.Reader` walks the outermost
   :class:`~cimgen.ast.Query` and collects :class:`Parts`: the subject (``buildings``), what
   is returned, the filters as relative clauses (``with building height over 25 m``, ``in
   project X, scenario 'baseline'``), joins, grouping, HAVING, window/clustering, ordering and
   the limit. Every literal of the WHERE clause, every threshold and the LIMIT end up in some
   phrase: faithfulness comes first. The reader is built in layers, one module each
   (question_scope -> question_expr -> question_geometry -> question_conditions ->
   question_query).
2. a tone template (:mod:`~cimgen.question.voices`: ``DIRECT``, ``INTERROGATIVE``...)
   arranges the parts; several phrasings per construct are picked with the caller's seeded
   ``random.Random`` so similar queries still read differently. Unknown tones fall back to
   ``DIRECT``. docs/questions.md has the tone table.
"""

from __future__ import annotations

import random

from cimgen import ast
from cimgen.question.base import TONES, Parts
from cimgen.question.reading import Reader
from cimgen.question.voices import TONE_TEMPLATES, finish, setop_sentence
from cimgen.question.vocabulary import vocabulary
from cimgen.models import QueryFeatures
from cimgen.schema.model import Schema


def describe(
    query: ast.Query, structure: QueryFeatures, schema: Schema, rng: random.Random
) -> tuple[str, str]:
    """The question and the Stage 1 style instruction for ``query``.

    Deterministic for the state of ``rng``; the tone is ``structure.question_tone`` (unknown
    tones read as ``DIRECT``).

    >>> from cimgen.schema.load import load_schema
    >>> q = ast.Query(ast.Select((ast.SelectItem(ast.Column("height")),),
    ...     (ast.TableRef("building_properties", "cim_vector"),),
    ...     ast.BinaryOp(">", ast.Column("height"), ast.Number("25")), ), limit=ast.Number("10"))
    >>> question, instruction = describe(q, QueryFeatures(question_tone="INTERROGATIVE"),
    ...                                  load_schema("cim_wizard"), random.Random(1))
    >>> question.endswith("?") and "25 m" in question and "10" in question
    True
    """
    vocab = vocabulary(schema)
    reader = Reader(vocab, rng, schema.metric_srid)
    tone = structure.question_tone if structure.question_tone in TONE_TEMPLATES else "DIRECT"
    steps_wanted = (
        bool(query.ctes)
        and (tone == "ANALYTICAL" or structure.sql_type == "NESTED_QUERY")
        and rng.random() < 0.6
    )
    reader.inherit = not steps_wanted
    parts = reader.query_parts(query, None)
    template = TONE_TEMPLATES[tone]
    text = setop_sentence(reader, parts, tone) if parts.setop else template(reader, parts)
    steps = [s for s in parts.steps if s]
    if steps:
        if steps_wanted:
            text = "First " + "; then ".join(steps) + "; finally, " + text[0].lower() + text[1:]
        else:
            text = (
                text.rstrip(".?")
                + " ("
                + "; ".join(steps)
                + ")"
                + ("?" if text.endswith("?") else "")
            )
    question = finish(text)
    return (
        question,
        f"Convert this natural language question to PostGIS spatial SQL for "
        f"{vocab.database}: {question}",
    )


__all__ = ["TONES", "Parts", "describe"]
