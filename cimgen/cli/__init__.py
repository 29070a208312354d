"""The typer CLI: a thin layer that parses options and calls library functions.

Each command group lives in its own module with a ``register(app)`` function; nothing
outside this package imports it. Exit codes: 0 ok, 1 findings (some queries invalid),
2 user error (one line on stderr, never a traceback).
"""

from cimgen.cli.main import app, main

__all__ = ["app", "main"]
