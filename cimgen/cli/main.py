"""The ``cimgen`` application object and its error handling."""

from __future__ import annotations

import sys
from importlib import import_module
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from cimgen import __version__
from cimgen.errors import CimgenError, QueryError

EXIT_OK, EXIT_FINDINGS, EXIT_USER_ERROR = 0, 1, 2

app = typer.Typer(
    name="cimgen",
    help="Multiply a Stage 1 spatial text-to-SQL corpus (CIM Wizard / PostGIS) into novel, "
    "valid, diverse Stage 2 samples.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)
out = Console()

# Command modules, each with register(app). Listed here so the CLI's shape reads in one place.
_COMMAND_MODULES = (
    "generate_cmd",
    "features_cmd",
    "schema_cmd",
    "validate_cmd",
    "corpus_cmd",
    "db_cmd",
    "structure_cmd",
    "cache_cmd",
    "bench_cmd",
)


def _version(value: bool) -> None:
    if value:
        out.print(f"cimgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """cimgen: grammar-first Stage 2 generator for CIM Wizard spatial SQL."""


def _show_flags_as_flags() -> None:
    """typer >= 0.22 shows a flag as taking a ``<bool>`` value (``--overwrite <bool>``),
    which it does not take; show flags (``--help`` too) with no value column instead."""
    from typer import core

    option = getattr(core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is None or shown is None:
        return

    def display(self: Any, ctx: Any) -> str | None:
        return None if getattr(self, "is_flag", False) else shown(self, ctx)

    option.display_type_rich = display


_show_flags_as_flags()


def user_error(message: str) -> typer.Exit:
    """Print ``error: message`` as one line on stderr and return the exit to raise."""
    console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(EXIT_USER_ERROR)


for _name in _COMMAND_MODULES:
    try:
        _module = import_module(f"cimgen.cli.{_name}")
    except ModuleNotFoundError as exc:  # a command group not written yet
        if exc.name != f"cimgen.cli.{_name}":
            raise
        continue
    _module.register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning :class:`CimgenError` into one line and exit 2."""
    try:
        # With standalone_mode=False click returns a command's typer.Exit code instead of
        # exiting; pass it on (validate exits 1 when some queries are invalid).
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except QueryError:
        raise  # a query's problem is a finding; one that reaches here is a bug: show it
    except CimgenError as exc:
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]: nothing half-written was left behind.")
        sys.exit(130)
    except OSError as exc:
        # a file the user named cannot be read or written (permissions, a full disk, a
        # folder where a file was expected): their fix, so one line, not a traceback
        where = exc.filename or "a file"
        console.print(
            f"[bold red]error:[/] {escape(str(where))}: {escape(exc.strerror or str(exc))}. "
            "Check the path and its permissions.",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(EXIT_USER_ERROR)
    except Exception as exc:
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        if type(exc).__name__ == "NoArgsIsHelpError":  # a bare `cimgen db`: show its help
            exc.show()  # type: ignore[attr-defined]
            sys.exit(EXIT_USER_ERROR)
        # Usage errors of the click layer typer vendors (bad value, out of range, missing
        # or unknown option): one line naming the option, like every other user error.
        message = getattr(exc, "format_message", None)
        if callable(message) and hasattr(exc, "exit_code"):
            ctx = getattr(exc, "ctx", None)
            hint = f" See '{ctx.command_path} --help'." if ctx is not None else ""
            text = message().strip()
            text += "" if text.endswith((".", ")")) else "."
            console.print(
                f"[bold red]error:[/] {escape(text)}{hint}", highlight=False, soft_wrap=True
            )
            sys.exit(EXIT_USER_ERROR)
        raise
