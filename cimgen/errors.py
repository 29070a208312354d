"""The one error hierarchy of cimgen: every exception it raises on purpose derives from
:class:`CimgenError` (``tests/test_errors.py`` walks the package to keep it so).

Two branches. :class:`InputError` and :class:`DatabaseError` are problems the *user* must
fix (a bad file, an unreachable server, an incompatible model). :class:`QueryError` is a
problem of *one query* (it does not parse, a backend cannot render it, an expansion attempt
cannot be built): its caller turns it into a :class:`cimgen.models.Finding` -- data -- or
tries again, so it never reaches the user as an error; one that does is a bug of cimgen,
and the CLI shows its traceback.

Every user-error message is one line that names the value, the place (file and line when there is
one) and the fix, e.g. ``corpus.jsonl line 12: invalid JSON (Expecting ',' ...). Fix the
line or remove it.`` The CLI prints it as ``error: <message>`` and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path


class CimgenError(Exception):
    """Root of every error cimgen raises on purpose."""

    exit_code = 2


class QueryError(CimgenError):
    """A problem of one query, for its caller to record as a finding (or to retry): the
    query's syntax (:class:`cimgen.grammar.parse.QuerySyntaxError`), PostgreSQL's verdict
    (:class:`cimgen.features.SQLParseError`), a dialect's gap
    (:class:`cimgen.render.base.Unsupported`), an expansion attempt
    (:class:`cimgen.expand.frame.BuildError`)."""


class InputError(CimgenError):
    """A user-supplied file, option or value is unusable."""

    @classmethod
    def at(cls, path: str | Path, line: int | None, problem: str, fix: str) -> InputError:
        """Build the standard one-line message ``FILE line N: problem. fix``.

        >>> str(InputError.at("a.jsonl", 3, "invalid JSON", "Fix the line"))
        'a.jsonl line 3: invalid JSON. Fix the line.'
        """
        place = f"{path} line {line}" if line is not None else f"{path}"
        fix = fix.rstrip(".")
        return cls(f"{place}: {problem}. {fix}.")


class SchemaError(InputError):
    """A schema definition (bundled name, YAML/JSON file, DDL file, live database) is invalid."""


class ConfigError(InputError):
    """A config file or option value is invalid."""


class ModelError(InputError):
    """A saved structure model is missing, corrupt or incompatible with this version."""


class DatabaseError(CimgenError):
    """A database server is unreachable, lacks PostGIS, or refused an administrative step."""


class ConditionError(InputError):
    """A sampling condition names an unknown column or a value the model can never produce."""
