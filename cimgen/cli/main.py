"""The ``cimgen`` application object and its error handling."""

from __future__ import annotations

import sys
from importlib import import_module

import typer
from rich.console import Console

from cimgen import __version__
from cimgen.errors import CimgenError

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
    except CimgenError as exc:
        console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        console.print("[bold red]interrupted[/]: nothing half-written was left behind.")
        sys.exit(130)
    except Exception as exc:
        # Usage errors of the click layer typer vendors: they know how to show themselves.
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            sys.exit(EXIT_USER_ERROR)
        if type(exc).__name__ == "Abort":
            sys.exit(130)
        raise
