""" "Did you mean ...?" for an unknown column, as a linter says it (BND002 messages).

First a close spelling among the columns in reach (``heigth`` -> ``height``); otherwise
where the column does exist: a table joined to one in scope is named with the join keys
("did you mean cim_vector.building_properties.height through building_id, lod?"), any
other table that has it is named as such.

>>> from cimgen.schema.load import load_schema
>>> schema = load_schema("cim_wizard")
>>> column_hint("height", [schema.table("cim_vector.building")], schema)
'; did you mean cim_vector.building_properties.height through building_id, lod?'
"""

from __future__ import annotations

from collections.abc import Sequence
from difflib import get_close_matches

from cimgen.schema.model import Relation, Schema, Table


def closest(name: str, candidates: Sequence[str]) -> str | None:
    """The closest spelling of ``name`` among ``candidates`` (case-insensitive), if any."""
    close = get_close_matches(name.lower(), [c.lower() for c in candidates], n=1, cutoff=0.7)
    return next(c for c in candidates if c.lower() == close[0]) if close else None


def close_name(name: str, candidates: Sequence[str]) -> str:
    """``"; did you mean X?"`` for the closest spelling in ``candidates``, else ``""``."""
    found = closest(name, candidates)
    return f"; did you mean {found}?" if found else ""


def column_hint(
    name: str, in_scope: Sequence[Table | None], schema: Schema, scope_columns: Sequence[str] = ()
) -> str:
    """Where an unknown column ``name`` might come from, given the tables in scope."""
    typo = close_name(name, scope_columns)
    if typo:
        return typo
    tables = [t for t in in_scope if t is not None]
    here = {t.qualified for t in tables}
    holders = [t for t in schema.tables if t.column(name) and t.qualified not in here]
    for table in tables:
        for holder in holders:
            relation = _relation(schema, table.qualified, holder.qualified)
            if relation is not None:
                return f"; did you mean {holder.qualified}.{name} through {_keys(relation)}?"
    if holders:
        names = ", ".join(t.qualified for t in holders[:3])
        return f"; {name} is a column of {names} (join it first)"
    related = {
        c.name: f"{other.qualified}.{c.name}"
        for table in tables
        for other in schema.tables
        if _relation(schema, table.qualified, other.qualified) is not None
        for c in other.columns
    }
    found = closest(name, list(related))
    return f"; did you mean {related[found]}?" if found else ""


def _relation(schema: Schema, a: str, b: str) -> Relation | None:
    for relation in schema.relations_of(a):
        if {relation.left, relation.right} == {a, b}:
            return relation
    return None


def _keys(relation: Relation) -> str:
    if relation.left_columns == relation.right_columns:
        return ", ".join(relation.left_columns)
    pairs = zip(relation.left_columns, relation.right_columns, strict=False)
    return ", ".join(
        f"{relation.left.split('.')[-1]}.{a} = {relation.right.split('.')[-1]}.{b}"
        for a, b in pairs
    )
