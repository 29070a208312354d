"""Corpus cache (cimgen/generate/corpus_cache.py): a reused entry gives what reading the
corpus gives, every input is in the key, corrupt and foreign entries are recomputed with a
warning, --no-cache writes nothing. Real ingest, pglast and corpus facts on a small file."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cimgen.fixtures import schema_fingerprint
from cimgen.generate import corpus_cache as cc
from cimgen.ingest import read_stage1
from cimgen.schema import load_schema
from cimgen.schema.model import Schema

SQLS = [
    "SELECT COUNT(*) FROM cim_vector.building WHERE building_id = 'b-17'",
    "SELECT b.building_id FROM cim_vector.building b WHERE ST_Area(b.building_geometry) > 120",
    "SELECT * FROM cim_vector.building WHERE",  # does not parse: skipped, counted
]


@pytest.fixture(scope="module")
def schema() -> Schema:
    return load_schema("cim_wizard")


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    path = tmp_path / "stage1.jsonl"
    lines = [json.dumps({"id": f"r{i}", "sql_postgis": s}) for i, s in enumerate(SQLS)]
    path.write_text("\n".join(lines) + "\n{not json\n", encoding="utf-8")
    return path


def _key(path: Path, schema: Schema, field: str = "sql_postgis") -> cc.CorpusKey:
    return cc.facts_key(path, field, None, schema_fingerprint(schema))


def _obtain(
    path: Path, schema: Schema, cache: Path, warnings: list[str], **kw: bool
) -> tuple[cc.CorpusRead, bool]:
    reader = read_stage1(path)
    got, reused = cc.cached(
        _key(path, schema),
        lambda: cc.read_corpus(reader, schema),
        use_cache=kw.get("use_cache", True),
        refresh=kw.get("refresh", False),
        warn=warnings.append,
        cache_dir=cache,
    )
    return got, reused


def _same(a: cc.CorpusRead, b: cc.CorpusRead) -> None:
    assert a.pairs == b.pairs
    assert a.report.to_dict() == b.report.to_dict()
    assert a.skipped.to_dict() == b.skipped.to_dict()
    assert a.corpus == b.corpus


def test_reused_entry_equals_a_fresh_read(corpus: Path, schema: Schema, tmp_path: Path) -> None:
    warnings: list[str] = []
    first, reused1 = _obtain(corpus, schema, tmp_path / "c", warnings)
    second, reused2 = _obtain(corpus, schema, tmp_path / "c", warnings)
    assert (reused1, reused2) == (False, True) and warnings == []
    _same(first, second)
    assert len(second.pairs) == 2 and second.skipped.total == 1
    assert second.report.total_skipped == 1  # the line that is not JSON
    assert second.corpus.records == 2


def test_every_input_is_in_the_key(corpus: Path, schema: Schema, tmp_path: Path) -> None:
    base = _key(corpus, schema)
    assert base == _key(corpus, schema)
    other = tmp_path / "other.jsonl"
    other.write_bytes(corpus.read_bytes() + b"\n")
    keys = {
        base.key,
        _key(other, schema).key,
        _key(corpus, schema, field="sql").key,
        cc.facts_key(corpus, "sql_postgis", "id", schema_fingerprint(schema)).key,
        cc.facts_key(corpus, "sql_postgis", None, "0" * 64).key,
    }
    assert len(keys) == 5
    plants = {cc.planting_key(base, seed, "s").key for seed in (1, 2)}
    plants.add(cc.planting_key(base, 1, "t").key)
    assert len(plants) == 3


@pytest.mark.parametrize(
    "damage, says",
    [
        (lambda e: (e / cc.DATA).write_bytes(b"junk"), "corrupt"),
        (lambda e: (e / cc.DATA).unlink(), "incomplete"),
        (lambda e: (e / cc.ENTRY).write_text("{", encoding="utf-8"), "corrupt"),
        (
            lambda e: (e / cc.ENTRY).write_text(
                json.dumps(json.loads((e / cc.ENTRY).read_text()) | {"inputs": {"kind": "other"}})
            ),
            "foreign",
        ),
    ],
)
def test_a_bad_entry_is_recomputed_with_a_warning(
    corpus: Path,
    schema: Schema,
    tmp_path: Path,
    damage: Callable[[Path], object],
    says: str,
) -> None:
    cache = tmp_path / "c"
    warnings: list[str] = []
    first, _ = _obtain(corpus, schema, cache, warnings)
    entry = cc.corpus_dir(cache) / _key(corpus, schema).key
    damage(entry)
    again, reused = _obtain(corpus, schema, cache, warnings)
    assert not reused and len(warnings) == 1 and says in warnings[0]
    assert str(entry) in warnings[0]
    _same(first, again)
    # the recomputation replaced the bad entry: the next run reuses it, silently
    third, reused = _obtain(corpus, schema, cache, warnings)
    assert reused and len(warnings) == 1
    _same(first, third)


def test_no_cache_keeps_nothing_and_refresh_replaces(
    corpus: Path,
    schema: Schema,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "c"
    warnings: list[str] = []
    _, reused = _obtain(corpus, schema, cache, warnings, use_cache=False)
    assert not reused and not cc.corpus_dir(cache).exists()
    _obtain(corpus, schema, cache, warnings)
    entry = cc.corpus_dir(cache) / _key(corpus, schema).key / cc.ENTRY
    created = entry.stat().st_mtime_ns
    _, reused = _obtain(corpus, schema, cache, warnings, refresh=True)
    assert not reused and entry.stat().st_mtime_ns != created and warnings == []
    assert cc.clear(cache) == 1 and not any(cc.corpus_dir(cache).iterdir())


def test_cli_cache_list_names_and_clear_removes_corpus_entries(
    corpus: Path,
    schema: Schema,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cimgen.cli.main import main

    cache = tmp_path / "c"
    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(cache))
    _obtain(corpus, schema, cache, [])
    capsys.readouterr()
    for argv in (["cache", "list"], ["cache", "clear"]):
        try:
            main(argv)
        except SystemExit as exc:  # typer may or may not exit after a command
            assert exc.code in (0, None)
    out = capsys.readouterr().out
    assert "also 1 corpus entry(ies)" in out and "removed 1 corpus entry(ies)" in out
    assert not any(cc.corpus_dir(cache).iterdir())
