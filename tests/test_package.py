"""The package's house: no import circle between its modules (deferred imports inside
functions count: they only hide a circle), nothing imports the CLI but ``python -m
cimgen``, and the CLI starts without the structure model's heavy libraries."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "cimgen"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """``{module: modules of the package it imports}``, read from the source. ``from a
    import b`` is an edge to ``a.b`` when that is a module, else to ``a``."""
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    for name, path in paths.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    sub = f"{node.module}.{alias.name}"
                    targets.append(sub if sub in paths else node.module)
            graph[name].update(t for t in targets if t in paths and t != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_graph_is_read() -> None:
    graph = import_graph()
    assert "cimgen.corpus.bank" in graph["cimgen.corpus.build"]
    assert "cimgen.corpus.templates" in graph["cimgen.corpus.params"]


def test_cycles_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circle() -> None:
    assert cycles(import_graph()) == []


def test_nothing_imports_the_cli() -> None:
    graph = import_graph()
    users = sorted(
        m
        for m, targets in graph.items()
        if not m.startswith("cimgen.cli")
        and m != "cimgen.__main__"  # `python -m cimgen`: the entry point, like the script
        and any(t == "cimgen.cli" or t.startswith("cimgen.cli.") for t in targets)
    )
    assert users == []


def _python(code: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])}
    return subprocess.run(
        [sys.executable, *args] if not code else [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_the_cli_imports_without_sdv_or_torch() -> None:
    """Every spawned worker of `cimgen generate` imports the console script's module again;
    SDV and torch (~2.5 s of CPU) load only in a command that fits or samples (issue 16)."""
    heavy = ("sdv", "torch", "ctgan", "pandas", "cimgen.structure.model")
    code = f"import sys, cimgen.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    done = _python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_python_dash_m_cimgen_runs_the_cli() -> None:
    from cimgen import __version__

    done = _python("", "-m", "cimgen", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"cimgen {__version__}"
