"""Parse SQL text into :mod:`cimgen.ast` with the Lark grammar ``grammar/cim_sql.lark``.

The parser is LALR with the basic lexer and the AST transformer applied inline (no parse
tree is built), which is what makes validating 100,000 queries a matter of minutes. A
syntax error becomes :class:`QuerySyntaxError` carrying line, column, the offending token
and what the grammar expected there.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import lark
from lark import Lark, Token, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput
from lark import UnexpectedToken as LarkUnexpectedToken
from lark.lark import _LOAD_ALLOWED_OPTIONS
from lark.lexer import PatternStr

from cimgen import ast
from cimgen.catalogue import catalogue_for
from cimgen.codes import SYN001, finding
from cimgen.errors import CimgenError, QueryError
from cimgen.grammar.transform import ToAst
from cimgen.io import atomic_path
from cimgen.models import Finding
from cimgen.paths import cache_root, grammar_dir

GRAMMAR_FILE = "cim_sql.lark"
# How terminals without a literal spelling are named in messages.
_TERMINAL_WORDS = {
    "IDENT": "identifier",
    "QUOTED_IDENT": "quoted identifier",
    "NUMBER": "number",
    "STRING": "string",
    "MULTIWORD_TYPE": "type name",
    "$END": "end of input",
}
_MAX_EXPECTED_SHOWN = 12


class QuerySyntaxError(QueryError):
    """A query is not in the language: where, what was found and what was expected.

    A :class:`cimgen.errors.QueryError`, not a user error: a bad query is data about that
    query (it becomes a ``SYN001`` finding), not a mistake in how cimgen was called.
    """

    def __init__(
        self, line: int, column: int, token: str, expected: tuple[str, ...], hint: str = ""
    ) -> None:
        self.line, self.column, self.token, self.expected, self.hint = (
            line,
            column,
            token,
            expected,
            hint,
        )
        super().__init__(self.describe())

    def describe(self) -> str:
        shown = ", ".join(self.expected[:_MAX_EXPECTED_SHOWN])
        more = len(self.expected) - _MAX_EXPECTED_SHOWN
        if more > 0:
            shown += f" (and {more} more)"
        where = f"line {self.line}, column {self.column}"
        hint = f" ({self.hint})" if self.hint else ""
        expected = f"; expected {shown}" if shown else ""
        return f"{where}: unexpected {self.token}{hint}{expected}"


_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "lexer": "basic",
    "maybe_placeholders": False,
    "propagate_positions": False,
}


@lru_cache(maxsize=4)
def parser(grammar: Path | None = None) -> Lark:
    """The compiled LALR parser with the AST transformer inline (built once per process
    and file): the bundled grammar, or the file ``grammar`` (a variant of it: same rule
    names). The compiled tables are kept in the cache folder (:func:`parser_cache_file`)."""
    text = (grammar or grammar_dir() / GRAMMAR_FILE).read_text(encoding="utf-8")
    return _load_or_build(text, ToAst(catalogue_for(grammar)))


def parser_cache_file(text: str) -> Path:
    """Where the compiled parser of the grammar ``text`` is kept: ``<cache root>/grammar/``,
    named by a hash of the grammar, the parser options and the Lark and Python versions (a
    changed grammar or an upgrade gets a new file)."""
    key = repr((text, sorted(_OPTIONS.items()), lark.__version__, sys.version_info[:2]))
    return cache_root() / "grammar" / f"{hashlib.sha256(key.encode()).hexdigest()[:24]}.lark"


def _load_or_build(text: str, transformer: ToAst) -> Lark:
    """The parser from its cache file when that is whole (its first line is the SHA-256 of
    the rest: a torn or altered file is never unpickled), else built and written
    atomically. Building the LALR tables costs ~0.2 s of CPU in every process that parses
    (each worker of ``cimgen generate``); loading them ~0.01 s (issue 16)."""
    path = parser_cache_file(text)
    try:
        digest, _, payload = path.read_bytes().partition(b"\n")
        if digest == hashlib.sha256(payload).hexdigest().encode():
            # what Lark's own cache does: Lark.load takes no transformer
            return Lark.__new__(Lark)._load(io.BytesIO(payload), transformer=transformer)
    except Exception:  # missing, unreadable, or not loadable by this Lark: build it
        pass
    built = Lark(text, transformer=transformer, cache=False, **_OPTIONS)
    buf = io.BytesIO()
    built.save(buf, exclude_options=_LOAD_ALLOWED_OPTIONS)  # not the transformer
    payload = buf.getvalue()
    # a cache folder that cannot be written: each process builds its own
    with contextlib.suppress(OSError, CimgenError), atomic_path(path) as tmp:
        tmp.write_bytes(hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload)
    return built


@lru_cache(maxsize=1)
def _terminal_names() -> dict[str, str]:
    names = dict(_TERMINAL_WORDS)
    for t in parser().terminals:
        if isinstance(t.pattern, PatternStr):
            names[t.name] = t.pattern.value.upper()
    return names


# Unreserved keywords that the grammar also accepts as names: listing them where an
# identifier is expected would only be noise.
_SOFT_KEYWORDS = {"FIRST", "LAST", "NULLS", "PARTITION"}


def _pretty(terminals: set[str] | frozenset[str]) -> tuple[str, ...]:
    names = _terminal_names()
    if "IDENT" in terminals:
        terminals = set(terminals) - _SOFT_KEYWORDS
    return tuple(sorted({names.get(t, t) for t in terminals}))


def parse(sql: str, grammar: Path | None = None) -> ast.Query:
    """Parse one statement (an optional trailing ``;`` is allowed) into an AST, with the
    bundled grammar or the grammar file ``grammar``.

    >>> parse("SELECT public.ST_Area(geom) AS a FROM t").body.items[0].expr.name
    'ST_Area'
    """
    try:
        query: ast.Query = parser(grammar).parse(sql)  # type: ignore[assignment]  # transformer
    except UnexpectedInput as exc:
        raise _syntax_error(sql, exc) from None
    return query


def syntax_findings(
    sql: str, grammar: Path | None = None
) -> tuple[ast.Query | None, list[Finding]]:
    """``(ast, [])`` for a query in the language, else ``(None, [SYN001 finding])``."""
    try:
        return parse(sql, grammar), []
    except QuerySyntaxError as exc:
        return None, [finding(SYN001, str(exc), line=exc.line, column=exc.column)]


def _syntax_error(sql: str, exc: UnexpectedInput) -> QuerySyntaxError:
    line, column = exc.line, exc.column
    if isinstance(exc, UnexpectedEOF) or (
        isinstance(exc, LarkUnexpectedToken) and exc.token.type == "$END"
    ):
        expected = exc.expected if isinstance(exc, UnexpectedEOF) else exc.accepts or exc.expected
        last = sql.rstrip().splitlines() or [""]
        return QuerySyntaxError(
            len(last), len(last[-1]) + 1, "end of input", _pretty(set(expected))
        )
    if isinstance(exc, LarkUnexpectedToken):
        token: Token = exc.token
        kind = _terminal_names().get(token.type, token.type)
        shown = f"{token.value!r}" + (f" ({kind})" if kind not in (token.value.upper(),) else "")
        return QuerySyntaxError(line, column, shown, _pretty(set(exc.accepts or exc.expected)))
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        word = _word_at(sql, pos)
        hint = ""
        if word[:1].isdigit():
            hint = "a number runs into a word: add a space after the number"
        return QuerySyntaxError(line, column, repr(word), _expected_before(sql, pos), hint)
    return QuerySyntaxError(line, column, "input", ())


def _word_at(sql: str, pos: int) -> str:
    end = pos + 1
    while end < len(sql) and (sql[end].isalnum() or sql[end] in "_$."):
        end += 1
    return sql[pos:end]


def _expected_before(sql: str, pos: int) -> tuple[str, ...]:
    """What the parser accepts where the lexer failed (only computed for error messages)."""
    interactive = parser().parse_interactive(sql[:pos])
    try:
        for _ in interactive.iter_parse():
            pass
    except UnexpectedInput:
        return ()
    return _pretty(set(interactive.accepts()))


def split_statements(text: str) -> list[tuple[str, int]]:
    """Cut SQL text into statements on ``;`` outside strings, quoted names and comments.

    Returns ``(statement, line)`` pairs, ``line`` being the 1-based line where the
    statement's code starts (leading blanks and comments are dropped, and so are
    statements with no code).

    >>> split_statements("SELECT 1;\\n-- two\\nSELECT ';';")
    [('SELECT 1', 1), ("SELECT ';'", 3)]
    """
    out: list[tuple[str, int]] = []
    start, i, n = 0, 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            close = text.find(ch, i + 1)
            while close != -1 and text[close + 1 : close + 2] == ch:  # '' or "" escape
                close = text.find(ch, close + 2)
            i = n if close == -1 else close + 1
            continue
        if text.startswith("--", i):
            nl = text.find("\n", i)
            i = n if nl == -1 else nl
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end == -1 else end + 2
            continue
        if ch == ";":
            _add_statement(out, text, start, i)
            start = i + 1
        i += 1
    _add_statement(out, text, start, n)
    return out


def _add_statement(out: list[tuple[str, int]], text: str, start: int, end: int) -> None:
    """Append ``text[start:end]`` without leading blanks and comments, if code remains."""
    pos = start
    while pos < end:
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            nl = text.find("\n", pos)
            pos = end if nl == -1 or nl > end else nl
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            pos = end if close == -1 or close > end else close + 2
        else:
            break
    statement = text[pos:end].rstrip()
    if statement:
        out.append((statement, text.count("\n", 0, pos) + 1))
