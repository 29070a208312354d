"""``cimgen db up|down|init|fixture``: throwaway PostGIS clusters and fixture databases."""

from __future__ import annotations

import os
import tempfile
from enum import StrEnum
from pathlib import Path

import typer

from cimgen.cli.options import SEED
from cimgen.errors import DatabaseError, InputError
from cimgen.schema.load import DEFAULT_SCHEMA, load_schema

SCHEMA_HELP = "Schema: a bundled name (cim_wizard), a .yaml/.json/.sql file or a postgresql:// URL."


class Engine(StrEnum):
    duckdb = "duckdb"
    spatialite = "spatialite"


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Local PostGIS clusters and fixture databases.", no_args_is_help=True)
    group.command("up")(up)
    group.command("down")(down)
    group.command("init")(init)
    group.command("fixture")(fixture)
    app.add_typer(group, name="db")


def _record() -> Path:
    """Where ``db up`` remembers its default cluster directory."""
    from cimgen.engines import cache_root

    return cache_root() / "cluster"


def up(
    directory: Path | None = typer.Option(
        None, "--dir", help="Cluster directory (default: a new temp dir, remembered for `db down`)."
    ),
    port: int | None = typer.Option(
        None, "--port", min=1024, max=65535, help="TCP port (default: a free one)."
    ),
) -> None:
    """Start a throwaway local PostGIS cluster (trust auth, 127.0.0.1) and print its DSN."""
    from cimgen.cli.main import out
    from cimgen.engines.postgis import cluster_up

    if directory is None:
        directory = Path(tempfile.mkdtemp(prefix="cimgen-pg-"))
        record = _record()
        record.parent.mkdir(parents=True, exist_ok=True)
        tmp = record.with_suffix(".tmp")
        tmp.write_text(f"{directory}\n")
        os.replace(tmp, record)
    dsn = cluster_up(directory, port)
    out.print(dsn, highlight=False, soft_wrap=True)


def down(
    directory: Path | None = typer.Option(
        None, "--dir", help="Cluster directory (default: the one `db up` started last)."
    ),
) -> None:
    """Stop a cluster started by `db up` and remove its directory."""
    from cimgen.cli.main import console
    from cimgen.engines.postgis import cluster_down

    record = _record()
    if directory is None:
        if not record.is_file():
            raise InputError(f"no cluster recorded in {record}. Pass --dir DIR.")
        directory = Path(record.read_text().strip())
    if directory.exists() and not (directory / "data").is_dir():
        raise DatabaseError(
            f"{directory} is not a cimgen cluster directory (no data/). "
            "Pass the --dir given to `db up`."
        )
    cluster_down(directory)
    if record.is_file() and Path(record.read_text().strip()) == directory:
        record.unlink()
    console.print(f"stopped and removed {directory}", highlight=False)


def init(
    dsn: str = typer.Option(..., "--dsn", help="postgresql:// URL of the target database."),
    schema: str = typer.Option(DEFAULT_SCHEMA, "--schema", "-s", help=SCHEMA_HELP),
    seed: int = typer.Option(0, "--seed", **SEED, help="Fixture seed (same seed, same rows)."),
    replace: bool = typer.Option(False, "--replace", help="Drop and recreate existing tables."),
) -> None:
    """Create the schema's tables in PostGIS and fill them with the fixture data."""
    from cimgen.cli.main import console, out
    from cimgen.engines.postgis import init_database

    model = load_schema(schema)
    with console.status("loading fixture into PostGIS"):
        counts = init_database(dsn, model, seed=seed, replace=replace)
    for name, n in counts.items():
        out.print(f"{name}\t{n}", highlight=False)
    console.print(f"loaded {sum(counts.values())} rows into {len(counts)} tables", highlight=False)


def fixture(
    schema: str = typer.Option(DEFAULT_SCHEMA, "--schema", "-s", help=SCHEMA_HELP),
    seed: int = typer.Option(0, "--seed", **SEED, help="Fixture seed (same seed, same rows)."),
    engine: Engine = typer.Option(Engine.duckdb, "--engine", help="Embedded engine."),
) -> None:
    """Build (or reuse) the cached embedded fixture database and print its path."""
    from cimgen.cli.main import out

    model = load_schema(schema)
    if engine is Engine.duckdb:
        from cimgen.engines.duckdb import fixture_database
    else:
        from cimgen.engines.spatialite import fixture_database
    out.print(str(fixture_database(model, seed)), highlight=False, soft_wrap=True)
