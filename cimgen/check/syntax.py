"""Syntactic validity and schema compliance.

* ``SYN001`` the query is not in the language of the grammar (grammar/cim_sql.lark);
* ``SYN002`` PostgreSQL's own parser (pglast) rejects the PostGIS SQL;
* ``STA001`` not a single read-only SELECT/WITH query;
* ``BND…`` binding findings from :func:`cimgen.grammar.bind` (unknown table, column,
  function, argument types, aggregate misuse; see docs/grammar.md).
"""

from __future__ import annotations

import json

from pglast.parser import ParseError, fingerprint, parse_sql_json

from cimgen.catalogue import catalogue_for
from cimgen.check.base import CheckContext, Subject
from cimgen.codes import STA001, SYN002, finding
from cimgen.grammar import bind, syntax_findings
from cimgen.models import Finding


def check_grammar(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """SYN001: parse with the Lark grammar; the AST is kept for later checks."""
    if subject.query is not None and subject.parsed:
        return []
    query, findings = syntax_findings(subject.sql, ctx.options.grammar)
    subject.query = query
    subject.parsed = True
    return findings


def check_postgres_parse(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """SYN002 / STA001: PostgreSQL's parser accepts exactly one SELECT/WITH statement."""
    try:
        tree = json.loads(parse_sql_json(subject.sql))
    except ParseError as exc:
        return [finding(SYN002, f"PostgreSQL parser: {exc.args[0]}")]
    stmts = tree.get("stmts", [])
    kinds = [next(iter(s.get("stmt", {"?": None}))) for s in stmts]
    if kinds != ["SelectStmt"]:
        what = ", ".join(k.removesuffix("Stmt").upper() for k in kinds) or "nothing"
        return [
            finding(
                STA001,
                f"not a single read-only SELECT/WITH query: {what}",
            )
        ]
    body = stmts[0]["stmt"]["SelectStmt"]
    if body.get("intoClause") or body.get("lockingClause"):
        return [finding(STA001, "SELECT INTO / FOR UPDATE is not read-only")]
    subject.fingerprint = fingerprint(subject.sql)
    subject.pg_select = body
    return []


def check_binding(subject: Subject, ctx: CheckContext) -> list[Finding]:
    """BND*: every table, column and function binds against the schema and catalogue."""
    if subject.query is None:
        return []
    return list(bind(subject.query, ctx.schema, catalogue_for(ctx.options.grammar)))
