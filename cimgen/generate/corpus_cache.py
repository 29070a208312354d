"""The corpus cache: what ``generate`` learns from a Stage 1 corpus before it can fit or
sample (ingest, the features of every record, the corpus facts of
:func:`cimgen.world.corpus.learn_corpus`, the records' diversity shapes, the fixture
planting) is kept per corpus, so a second run on the same corpus -- the usual case, with
a reused model -- does not parse 10,000 queries again (~15 s of CPU on the 2-core box,
more under load).

It sits next to the model cache (:mod:`cimgen.structure.cache`) under the same cache root
and follows its rules: an entry ``<cache root>/corpus/<key>/`` holds ``entry.json`` (the key,
the inputs it hashes, the payload's sha256) and ``data.pkl``; it is reused only when
``entry.json`` names this key and these inputs and the pickle's bytes match their recorded
sha256 (they are unpickled from the bytes just hashed). Anything else is a warning and a
recomputation that replaces the entry. ``--no-cache`` neither reads nor writes, ``--refit``
recomputes and replaces. Writes go to a temporary folder renamed into place.

The key hashes the corpus file's bytes and the options that read it (``--sql-field``,
``--id-field``), the schema, cimgen's version, the feature spec version, pglast's version
and -- because a developer's edit does not change the version -- the source of the modules
that compute the payload (ingest, features, corpus facts, diversity, catalogue, fixtures). A
planting also depends on the seed (the fixture world it is planted into), so it is a second
entry keyed by the corpus key, the seed and the schema it was planted for.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cimgen import __version__
from cimgen.errors import CimgenError
from cimgen.io import file_sha256, remove_tree
from cimgen.paths import cache_root, grammar_dir

KIND_DIR = "corpus"
ENTRY = "entry.json"
DATA = "data.pkl"
ENTRY_FORMAT = 1
_PACKAGE = Path(__file__).resolve().parent.parent
# the code whose output is cached: an edit to any of these makes old entries foreign
_FACT_SOURCES = (
    "ingest.py",
    "features.py",
    "models.py",
    "catalogue.py",
    "world/corpus.py",
    "check/diversity.py",
    "generate/corpus_cache.py",
)
_PLANT_SOURCES = ("fixtures", "generate/pipeline.py", "world/pools.py")

Warn = Callable[[str], None]


def corpus_dir(cache_dir: Path | str | None = None) -> Path:
    """Where corpus entries live: ``<cache root>/corpus``."""
    return cache_root(cache_dir) / KIND_DIR


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)


def _sources_sha256(names: Iterable[str], extra: Iterable[Path] = ()) -> str:
    """sha256 over the named package files (folders: their ``*.py``, sorted) and ``extra``."""
    digest = hashlib.sha256()
    paths: list[Path] = []
    for name in names:
        p = _PACKAGE / name
        paths.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    for p in [*paths, *extra]:
        digest.update(p.name.encode())
        digest.update(p.read_bytes() if p.is_file() else b"-")
    return digest.hexdigest()


@dataclass(frozen=True)
class CorpusKey:
    """The key of an entry and the inputs it hashes (recorded in the entry, compared on reuse)."""

    key: str
    inputs: dict[str, Any]

    @classmethod
    def of(cls, inputs: dict[str, Any]) -> CorpusKey:
        canonical = json.loads(_canonical(inputs))  # exactly what entry.json will hold
        digest = hashlib.sha256(_canonical(canonical).encode()).hexdigest()[:24]
        return cls(digest, canonical)


def facts_key(
    corpus_file: Path, sql_field: str, id_field: str | None, schema_sha256: str
) -> CorpusKey:
    """The key of ingest + features + corpus facts of ``corpus_file`` under a schema."""
    from pglast import __version__ as pglast_version

    from cimgen.models import FEATURE_SPEC_VERSION

    return CorpusKey.of(
        {
            "kind": "facts",
            "corpus_sha256": file_sha256(corpus_file),
            "sql_field": sql_field,
            "id_field": id_field,
            "schema_sha256": schema_sha256,
            "feature_spec_version": FEATURE_SPEC_VERSION,
            "versions": {"cimgen": __version__, "pglast": pglast_version},
            "code_sha256": _sources_sha256(_FACT_SOURCES, [grammar_dir() / "functions.yaml"]),
        }
    )


def planting_key(facts: CorpusKey, seed: int, schema_sha256: str) -> CorpusKey:
    """The key of the planting of a corpus (``facts``) into the fixture of ``seed``."""
    return CorpusKey.of(
        {
            "kind": "planting",
            "facts_key": facts.key,
            "seed": int(seed),
            "schema_sha256": schema_sha256,
            "code_sha256": _sources_sha256(_PLANT_SOURCES),
        }
    )


class _BadEntry(CimgenError):
    """Why an entry cannot be reused (a warning, never raised to the user)."""


def lookup(ck: CorpusKey, warn: Warn, cache_dir: Path | str | None = None) -> Any | None:
    """The payload stored under ``ck``, or None (absent; or unusable, with a warning)."""
    path = corpus_dir(cache_dir) / ck.key
    if not path.exists():
        return None
    try:
        return _read(path, ck)
    except _BadEntry as exc:
        warn(f"corpus cache entry {path} {exc}; recomputing it, which replaces it.")
        return None


def _read(path: Path, ck: CorpusKey) -> Any:
    try:
        raw_entry = (path / ENTRY).read_bytes()
        data = (path / DATA).read_bytes()
    except FileNotFoundError as exc:
        raise _BadEntry(f"is incomplete ({Path(str(exc.filename)).name} is missing)") from None
    except OSError as exc:
        raise _BadEntry(f"cannot be read ({exc.strerror})") from None
    try:
        entry = json.loads(raw_entry.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise _BadEntry(f"is corrupt ({ENTRY} is not valid JSON)") from None
    if not isinstance(entry, dict) or entry.get("format") != ENTRY_FORMAT:
        raise _BadEntry(f"is not a cimgen corpus-cache entry (format {ENTRY_FORMAT})")
    if entry.get("key") != ck.key or _canonical(entry.get("inputs")) != _canonical(ck.inputs):
        raise _BadEntry("is foreign (it was stored for other inputs than its key says)")
    if hashlib.sha256(data).hexdigest() != entry.get("sha256"):
        raise _BadEntry(f"is corrupt ({DATA} does not match its recorded sha256)")
    try:
        return pickle.loads(data)  # the bytes just verified
    except Exception as exc:
        raise _BadEntry(f"does not load ({type(exc).__name__})") from None


def store(ck: CorpusKey, payload: Any, warn: Warn, cache_dir: Path | str | None = None) -> None:
    """Put ``payload`` under ``ck`` atomically, replacing what is there; a failure to write
    only warns (the cache saves time, the run does not need it)."""
    root = corpus_dir(cache_dir)
    final = root / ck.key
    tmp: Path | None = None
    try:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{ck.key[:8]}-", dir=root))
        data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        (tmp / DATA).write_bytes(data)
        entry = {
            "format": ENTRY_FORMAT,
            "key": ck.key,
            "inputs": ck.inputs,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        (tmp / ENTRY).write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
        if final.exists():
            remove_tree(final)
        # a concurrent run may have renamed the same entry into place first: keep that one
        with contextlib.suppress(OSError):
            os.rename(tmp, final)
    except (OSError, pickle.PicklingError) as exc:
        warn(f"cannot write the corpus cache in {root} ({exc}); the run goes on without it.")
    finally:
        if tmp is not None and tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@dataclass(frozen=True)
class CorpusRead:
    """What reading a corpus gives ``generate``: the ingest report, the records whose SQL
    gave features (with those features), what was skipped, and the corpus facts."""

    report: Any  # cimgen.ingest.IngestReport
    skipped: Any  # cimgen.features.SkipReport
    pairs: list[tuple[Any, Any]]  # (Stage1Record, QueryFeatures)
    corpus: Any  # cimgen.world.corpus.CorpusFacts
    # the records' SQL digests and shapes (pglast fingerprints) that diversity compares with
    diversity: Any  # cimgen.check.diversity.DiversityState (its stage1 sets)


def read_corpus(reader: Any, schema: Any) -> CorpusRead:
    """Ingest ``reader`` (a :class:`cimgen.ingest.Stage1Reader`), extract every record's
    features and learn the corpus facts: the work the facts entry saves."""
    from cimgen.check.diversity import DiversityState
    from cimgen.features import SkipReport, iter_features
    from cimgen.world.corpus import learn_corpus

    skipped = SkipReport()
    pairs = list(iter_features(reader, schema, skipped))
    corpus = learn_corpus(schema, [r for r, _ in pairs])
    diversity = DiversityState.from_stage1(r.sql for r, _ in pairs)
    return CorpusRead(reader.report, skipped, pairs, corpus, diversity)


def cached(
    ck: CorpusKey,
    compute: Callable[[], Any],
    *,
    use_cache: bool,
    refresh: bool,
    warn: Warn,
    cache_dir: Path | str | None = None,
) -> tuple[Any, bool]:
    """``(payload, reused)``: the entry of ``ck`` when usable, else ``compute()`` (stored
    unless ``use_cache`` is off). ``refresh`` recomputes and replaces."""
    if use_cache and not refresh:
        hit = lookup(ck, warn, cache_dir)
        if hit is not None:
            return hit, True
    payload = compute()
    if use_cache:
        store(ck, payload, warn, cache_dir)
    return payload, False


def clear(cache_dir: Path | str | None = None) -> int:
    """Remove every corpus entry (and leftovers of interrupted stores); returns how many."""
    root = corpus_dir(cache_dir)
    if not root.is_dir():
        return 0
    removed = 0
    for p in sorted(root.iterdir()):
        if p.is_dir():
            removed += not p.name.startswith(".")
            remove_tree(p)
    return removed
