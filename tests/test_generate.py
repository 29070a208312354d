"""`cimgen generate` end to end: outputs, record format, determinism, workers, refusals,
bounded rounds, and Ctrl-C leaving nothing half-written."""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from conftest import run_cli as _run

from cimgen.io import read_jsonl
from cimgen.models import FEATURE_NAMES

ROWS = 40
BASE = ["generate", "--rows", str(ROWS), "--synthesizer", "gaussian_copula", "--seed", "3"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module's own model cache, so run_dir certainly fits and later runs reuse."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def patient(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """A generous engine time limit. Outputs are byte-identical only while no query nears
    the limit (docs/generate.md, "Determinism"); a few of these 40 queries take SpatiaLite
    ~0.7 s on an idle box and over 2 s when the shared box is busy. These tests are about
    seeds and workers, not machine load."""
    cfg = tmp_path_factory.mktemp("cfg") / "patient.yaml"
    cfg.write_text(yaml.safe_dump({"checks": {"timeout_s": 30, "execute_spatialite": True}}))
    return ["--config", str(cfg)]


@pytest.fixture(scope="module")
def run_dir(
    tmp_path_factory: pytest.TempPathFactory,
    stage1_sample: Path,
    cache_dir: Path,
    patient: list[str],
) -> Path:
    out = tmp_path_factory.mktemp("gen") / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIMGEN_CACHE_DIR", str(cache_dir))
        assert _run([*BASE, *patient, "--out", str(out), "--workers", "1"]) == 0
    return out


def _stats(out: Path) -> dict:
    return json.loads((out / "stats.json").read_text())


def test_outputs_and_record_format(run_dir: Path) -> None:
    names = {p.name for p in run_dir.iterdir()}
    assert {
        "dataset.jsonl",
        "dataset.parquet",
        "rejected.jsonl",
        "stats.json",
        "model",
        "README.md",
        "report.html",
    } <= names
    assert (run_dir / "model" / "manifest.json").is_file()
    records = read_jsonl(run_dir / "dataset.jsonl")
    assert len(records) == ROWS
    for rec in records:
        for key in (
            "id",
            "question",
            "instruction",
            "sql_postgis",
            "sql_type",
            "difficulty_level",
            "question_tone",
            "usage_frequency",
            "database_schema",
            "spatial_functions",
            "structure",
            "features",
            "quality",
            "checks",
            "provenance",
        ):
            assert key in rec, key
        assert set(rec["structure"]) == set(FEATURE_NAMES)
        assert rec["quality"]["accepted"] is True and rec["quality"]["score"] >= 0.7
        assert rec["checks"]["grammar"] == "ok" and rec["checks"]["bind"] == "ok"
        assert rec["instruction"].endswith(rec["question"])
        assert rec["instruction"].startswith("Convert this natural language question to PostGIS")
        assert rec["sql_postgis"].lstrip().upper().startswith(("SELECT", "WITH"))
        assert rec["dialect"] == "postgis" and rec["sql"] == rec["sql_postgis"]
        # SpatiaLite ran for the record: its outcome is stored per row
        lite = rec["checks"]["spatialite"]
        if rec["sql_spatialite"] is None:
            assert lite == {"status": "not_checkable"}
        else:
            assert lite["status"] in ("ok", "error", "planned")
            assert lite["status"] != "ok" or isinstance(lite["rows"], int)
    assert len({r["sql_postgis"] for r in records}) == ROWS
    stats = json.loads((run_dir / "stats.json").read_text())
    assert stats["accepted"] == ROWS and stats["complete"] is True
    assert stats["candidates"] == stats["accepted"] + stats["rejected"]
    assert stats["model_hash"]
    # no renderer raised anything but its own Unsupported in the default small job
    assert stats["render_defects"] == {"count": 0, "by_backend": {}, "first": []}
    assert stats["dialect"] == "postgis" and stats["spatialite"] == "executed"
    lite = stats["dialects"]["spatialite"]
    assert lite["ran"] and not lite["target"] and lite["rows"] == ROWS
    executed = sum(r["checks"]["spatialite"]["status"] == "ok" for r in records)
    assert lite["executed"] == executed and executed > ROWS // 2
    assert stats["dialects"]["postgis"]["engine"] == "duckdb"  # no --postgis: DuckDB ran it


def test_labels_tell_the_truth_and_agree_with_the_sampled_ones(run_dir: Path) -> None:
    """Each record's sql_type is derived from its SQL (docs/features.md), never copied;
    it equals the label the structure model sampled for at least 90 % of the accepted
    rows (the issue-14 bar). A label or count that differs is a recorded relaxation, and
    stats.json reports both figures. The five-count bar (95 %) is measured on 300-row
    runs (docs/BENCHMARKS.md, "Realism"): on these 40 rows 7 structures ask for a label
    their counts exclude, so one of the two must give way on each."""
    from cimgen.features import extract_features
    from cimgen.models import FIDELITY_COUNTS
    from cimgen.schema import load_schema

    schema = load_schema("cim_wizard")
    records = read_jsonl(run_dir / "dataset.jsonl")
    agree = five = 0
    for rec in records:
        derived = extract_features(rec["sql_postgis"], schema).sql_type
        assert rec["sql_type"] == derived == rec["features"]["sql_type"], rec["sql_postgis"]
        sampled = rec["structure"]["sql_type"]
        agree += derived == sampled
        assert derived == sampled or "sql_type" in rec.get("relaxed", ()), rec["id"]
        kept = [k for k in FIDELITY_COUNTS if rec["structure"][k] == rec["features"][k]]
        assert set(FIDELITY_COUNTS) - set(kept) <= set(rec.get("relaxed", ())), rec["id"]
        five += len(kept) == len(FIDELITY_COUNTS)
    assert agree / len(records) >= 0.9, agree
    fidelity = json.loads((run_dir / "stats.json").read_text())["accepted_fidelity"]
    assert fidelity["sql_type_label_agreement_pct"] == round(100 * agree / len(records), 2)
    assert fidelity["five_counts_pct"] == round(100 * five / len(records), 2)


def test_accepted_rows_pass_every_rule_of_purpose(run_dir: Path) -> None:
    """Generation runs every registered check but diversity (which the driver decides), so
    an accepted row passes each rule of purpose when checked again on its own. Before, the
    worker ran a hand-kept list that lacked PUR008 (constant outputs) and PUR009-PUR011
    (orderings): those rules were tested but never applied while generating."""
    from cimgen.check import CHECK_NAMES, PURPOSE, CheckContext, Subject, run_checks
    from cimgen.generate.work import _CHECKS_IN_WORKER
    from cimgen.schema import load_schema

    assert set(CHECK_NAMES) - set(_CHECKS_IN_WORKER) == {"diversity"}
    ctx = CheckContext(load_schema("cim_wizard"))
    for line in (run_dir / "dataset.jsonl").read_text().splitlines():
        rec = json.loads(line)
        found = run_checks(Subject(rec["sql_postgis"]), ctx, only=("grammar", *PURPOSE))
        assert not [f for f in found if f.severity == "error"], (rec["id"], found)


def test_spatialite_dialect_rows_all_ran_on_spatialite(tmp_path: Path) -> None:
    out = tmp_path / "lite"
    rows = 15
    args = ["generate", "--rows", str(rows), "--synthesizer", "gaussian_copula", "--seed", "4"]
    assert _run([*args, "--dialect", "spatialite", "--out", str(out), "--workers", "1"]) == 0
    records = read_jsonl(out / "dataset.jsonl")
    assert len(records) == rows
    for rec in records:
        assert rec["dialect"] == "spatialite"
        assert rec["sql"] == rec["sql_spatialite"] and rec["sql"]
        # the question package asks for the target dialect (no PostGIS left in the prompt)
        assert "to SpatiaLite spatial SQL" in rec["instruction"]
        assert "PostGIS" not in rec["instruction"] and rec["instruction"].endswith(rec["question"])
        assert rec["checks"]["spatialite"]["status"] == "ok"
        assert isinstance(rec["checks"]["spatialite"]["rows"], int)
    stats = json.loads((out / "stats.json").read_text())
    assert stats["dialect"] == "spatialite"
    lite = stats["dialects"]["spatialite"]
    assert lite["target"] and lite["executed"] == rows and lite["executed_pct"] == 100.0
    nonempty = sum(bool(r["checks"]["spatialite"]["rows"]) for r in records)
    assert lite["nonempty"] == nonempty
    # the expander offers SpatiaLite nothing it lacks (rasters, window clustering)
    assert "SPL002" not in stats["rejected_by_code"]
    # what SpatiaLite cannot run is rejected, with its own finding
    for line in (out / "rejected.jsonl").read_text().splitlines():
        rec = json.loads(line)
        codes = {f["code"] for f in rec["findings"] if f["severity"] == "error"}
        if rec["sql_spatialite"] is None and rec["checks"].get("spatialite"):
            assert "SPL002" in codes
        if rec["question"]:
            assert "to SpatiaLite spatial SQL" in rec["instruction"]
    card = (out / "README.md").read_text()
    assert "every row's `sql` ran on SpatiaLite" in card


def test_dialect_must_be_known_and_spatialite_must_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"generate": {"dialect": "sqlite"}}))
    assert _run([*BASE, "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "generate.dialect 'sqlite' is unknown. Use postgis or spatialite." in err
    # a machine without mod_spatialite: the SpatiaLite dialect names the fix, the default
    # dialect goes on without SpatiaLite and says so
    from cimgen.engines import spatialite
    from cimgen.errors import DatabaseError
    from cimgen.generate.options import GenerateOptions
    from cimgen.generate.pipeline import _spatialite
    from cimgen.schema import load_schema

    monkeypatch.setattr(spatialite, "unavailable", lambda: "cannot load mod_spatialite (x)")
    schema = load_schema("cim_wizard")
    with pytest.raises(DatabaseError, match="--dialect spatialite: cannot load mod_spatialite"):
        _spatialite(GenerateOptions(out=tmp_path, dialect="spatialite"), schema, None)
    on = GenerateOptions(out=tmp_path, execute_spatialite=True)
    assert _spatialite(on, schema, None) == "cannot load mod_spatialite (x)"
    # the record-only run in the PostGIS dialect is off by default; the target's never is
    assert _spatialite(GenerateOptions(out=tmp_path), schema, None) == (
        "off (checks.execute_spatialite: false)"
    )


def test_records_carry_the_schema_context_of_their_tables(run_dir: Path) -> None:
    records = read_jsonl(run_dir / "dataset.jsonl")
    for rec in records:
        tables = rec["database_schema"]["tables"]
        assert tables, rec["id"]
        created = re.findall(r"^CREATE TABLE (\S+) \(", rec["schema_context"], flags=re.M)
        assert created == tables, rec["id"]  # exactly the tables the query uses
        assert "COMMENT ON" not in rec["schema_context"]
        assert f"using the tables {', '.join(tables)}" in rec["instruction"]
        assert rec["instruction"].endswith(rec["question"])


def test_a_renderer_defect_is_a_rejection_not_not_checkable(
    tmp_path: Path, stage1_sample: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fault injection: a DuckDB renderer that raises an ordinary exception (a bug) must
    reject the candidate with RND001, count it and keep the traceback."""
    from rich.console import Console

    from cimgen.generate import GenerateOptions, run_generate
    from cimgen.render.duckdb import DuckdbRenderer

    def broken(self: DuckdbRenderer, query: object) -> str:
        raise RuntimeError("boom in the DuckDB renderer")

    monkeypatch.setattr(DuckdbRenderer, "render", broken)
    opts = GenerateOptions(
        out=tmp_path / "o",
        stage1=stage1_sample,
        rows=5,
        synthesizer="gaussian_copula",
        workers=1,  # in-process, so the patched renderer is the one used
        max_rounds=1,
        progress=False,
    )
    result = run_generate(opts, Console(stderr=True, quiet=True))
    stats = result.stats
    built = stats["candidates"] - stats["expansion_failed"]
    assert built > 0 and stats["accepted"] == 0
    assert stats["render_defects"]["count"] == built
    assert stats["render_defects"]["by_backend"] == {"duckdb": built}
    assert stats["rejected_by_code"].get("RND001") == built
    assert (
        "RuntimeError: boom in the DuckDB renderer"
        in stats["render_defects"]["first"][0]["traceback"]
    )
    rejected = read_jsonl(tmp_path / "o" / "rejected.jsonl")
    codes = [f["code"] for r in rejected if r["sql_postgis"] for f in r["findings"]]
    assert codes.count("RND001") == built
    assert (
        "Renderer defects (RND001): " + str(built) in (tmp_path / "o" / "report.html").read_text()
    )


def test_min_score_flag_and_config_precedence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        yaml.safe_dump({"generate": {"rows": 7}, "score": {"thresholds": {"overall": 0.8}}})
    )
    out = tmp_path / "o"
    argv = ["generate", "--synthesizer", "gaussian_copula", "--seed", "3", "--workers", "1"]
    assert _run([*argv, "--config", str(cfg), "--min-score", "0.9", "--out", str(out)]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert stats["rows_requested"] == 7  # from the file: --rows was not given
    assert stats["score_config"]["thresholds"]["overall"] == 0.9  # the flag wins
    records = read_jsonl(out / "dataset.jsonl")
    assert len(records) == 7 and min(r["quality"]["score"] for r in records) >= 0.9
    assert "| overall | – | 0.90 |" in (out / "README.md").read_text()


OUTPUTS = ("dataset.jsonl", "rejected.jsonl", "dataset.parquet", "structures.parquet")


def test_same_seed_is_byte_identical_with_the_model_reused_and_any_workers(
    run_dir: Path,
    cache_dir: Path,
    patient: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(cache_dir))
    again = tmp_path / "again"
    capsys.readouterr()
    assert _run([*BASE, *patient, "--out", str(again), "--workers", "2"]) == 0
    assert "reused from the cache" in capsys.readouterr().out
    first, second = _stats(run_dir)["structure_model"], _stats(again)["structure_model"]
    assert (first["source"], second["source"]) == ("fitted", "reused")
    assert first["cache_key"] == second["cache_key"]
    assert first["cache_dir"] == second["cache_dir"] == str(cache_dir / "models")
    assert _stats(again)["timings"]["fit"] < _stats(run_dir)["timings"]["fit"]
    # the corpus facts and planting were computed once and reused by the second run
    corpus = _stats(run_dir)["corpus_cache"], _stats(again)["corpus_cache"]
    assert [(c["facts"], c["planting"]) for c in corpus] == [("computed",) * 2, ("reused",) * 2]
    assert corpus[0]["cache_dir"] == str(cache_dir / "corpus")
    for name in OUTPUTS:
        assert (run_dir / name).read_bytes() == (again / name).read_bytes(), name


def test_ray_executor_on_a_local_cluster_is_byte_identical_to_local(
    run_dir: Path,
    cache_dir: Path,
    patient: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`--executor ray` starts a real local Ray instance of 2 CPUs (2 actors, each with its
    own engines) and writes what the in-process local run wrote."""
    try:
        import ray
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("Ray is not installed in CI: scripts/setup.sh --dev installs cimgen[ray]")
        pytest.skip("Ray is not installed (pip install 'cimgen[ray]')")
    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(cache_dir))
    out = tmp_path / "ray"
    argv = [*BASE, *patient, "--out", str(out), "--executor", "ray", "--workers", "2"]
    assert _run(argv) == 0
    assert not ray.is_initialized()  # the instance it started is shut down
    for name in OUTPUTS:
        assert (run_dir / name).read_bytes() == (out / name).read_bytes(), name
    stats = _stats(out)
    assert stats["executor"] == {
        "name": "ray",
        "workers": 2,
        "ray_address": None,
        "failed_chunk": None,
    }
    assert _stats(run_dir)["executor"]["name"] == "local"


def test_refuses_non_empty_out_unless_overwrite(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], patient: list[str]
) -> None:
    out = tmp_path / "busy"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    assert _run([*BASE, "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "keep.txt").exists()
    assert _run([*BASE, *patient, "--out", str(out), "--overwrite", "--no-cache"]) == 0
    assert not (out / "keep.txt").exists() and (out / "dataset.jsonl").exists()
    # a fit that the cache never saw writes the same outputs
    assert _stats(out)["structure_model"] | {"fit_seconds": 0} == {
        "source": "fitted",
        "cache_key": _stats(run_dir)["structure_model"]["cache_key"],
        "cache_dir": None,
        "device": "cpu",
        "fit_seconds": 0,
    }
    for name in OUTPUTS:
        assert (run_dir / name).read_bytes() == (out / name).read_bytes(), name


def test_refit_with_a_given_model_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [*BASE, "--out", str(tmp_path / "o"), "--model", str(tmp_path), "--refit"]
    assert _run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --refit with --model") and err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_config_unknown_key_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"checks": {"timeout_seconds": 3}}))
    assert _run([*BASE, "--out", str(tmp_path / "o"), "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'checks.timeout_seconds'" in err and str(cfg) in err
    assert not (tmp_path / "o").exists()


def test_bounded_rounds_name_the_check_that_rejects_most(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "strict.yaml"
    # an unreachable overall threshold: the weights sum to 0.9, the threshold is 0.95
    cfg.write_text(
        yaml.safe_dump(
            {
                "generate": {"max_rounds": 2, "oversample": 1.0},
                "score": {"thresholds": {"overall": 0.95}, "weights": {"diversity": 0.0}},
            }
        )
    )
    out = tmp_path / "o"
    assert _run([*BASE, "--rows", "10", "--out", str(out), "--config", str(cfg)]) == 1
    err = capsys.readouterr().err
    assert "stopped after 2 rounds with 0 of 10" in err and "overall" in err
    stats = json.loads((out / "stats.json").read_text())
    assert stats["complete"] is False and stats["accepted"] == 0 and stats["rejected"] == 20


def test_ctrl_c_leaves_nothing_half_written(tmp_path: Path) -> None:
    out = tmp_path / "big"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cimgen.cli",
            "generate",
            "--rows",
            "100000",
            "--synthesizer",
            "gaussian_copula",
            "--out",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "100"},
        # a suite started in the background (`pytest &`, nohup) inherits SIGINT ignored,
        # and Python then never raises KeyboardInterrupt: give the child the default
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # interrupt once the run has started writing (its temporary folder exists): a fixed
    # sleep raced with start-up, which takes 6-16 s on a loaded machine (torch import)
    deadline = time.monotonic() + 180
    while not any(tmp_path.iterdir()) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.2)
    time.sleep(3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err.decode()
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left either


def test_a_grammar_without_window_calls_generates_none(tmp_path: Path) -> None:
    """`--grammar`: window calls cut out of a copy of the grammar folder, and two functions
    out of its functions.yaml, are never generated (not generated and then rejected), and
    every row parses under the copy."""
    from cimgen import ast
    from cimgen.grammar.parse import parse

    copy = _reduced_grammar(tmp_path / "grammar", ("ST_Within", "ST_Contains"))
    out, rows = tmp_path / "out", 120
    args = ["generate", "--rows", str(rows), "--synthesizer", "gaussian_copula", "--seed", "4"]
    assert _run([*args, "--grammar", str(copy), "--out", str(out), "--workers", "1"]) == 0
    records = read_jsonl(out / "dataset.jsonl")
    assert len(records) == rows
    assert sum(r["structure"]["has_window"] for r in records) >= 5  # windows were asked for
    for rec in records:
        query = parse(rec["sql_postgis"], copy)  # raises if the copy rejects it
        assert not any(isinstance(n, ast.FuncCall) and n.over for n in ast.walk(query))
        assert not {"ST_Within", "ST_Contains"} & set(rec["spatial_functions"])
    stats = _stats(out)
    assert stats["grammar"] == str(copy)
    assert "SYN001" not in stats["rejected_by_code"]
    assert not [c for c in stats["rejected_by_code"] if c.startswith("BND")]


def test_an_unreadable_grammar_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.lark"
    bad.write_text('start: "x" missing_rule\n')
    out = tmp_path / "out"
    assert _run([*BASE, "--grammar", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr()
    text = (err.out + err.err).strip()
    assert text.startswith(f"error: {bad}: not a Lark grammar (") and "\n" not in text
    assert not out.exists()


def _reduced_grammar(folder: Path, drop: tuple[str, ...]) -> Path:
    """A copy of the grammar folder without window calls and without ``drop`` in its
    function catalogue."""
    from cimgen.grammar.constructs import default_grammar

    folder.mkdir()
    copy = folder / "cim_sql.lark"
    copy.write_text(default_grammar().read_text().replace(" over_clause?", ""))
    data = yaml.safe_load((default_grammar().parent / "functions.yaml").read_text())
    for name in drop:
        del data["spatial"][name]
    (folder / "functions.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return copy


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_a_reduced_grammar_folder_gates_constructs_and_functions(tmp_path: Path) -> None:
    """Issue 19: remove window calls and two spatial functions the expander writes often
    (ST_Within, ST_Contains: spatial joins and point-in-polygon filters) from a copy of the
    grammar folder; 2,000 rows generated from GaussianCopula structures use none of them and
    all validate against the copy. (The generate pipeline up to the execution checks: the
    CLI run with checks is the 120-row test above; here the expander is what is tested.)"""
    from cimgen.check.validate import QueryItem, validate_queries
    from cimgen.corpus import load_demo_corpus
    from cimgen.expand import ExpansionContext, make_candidate
    from cimgen.features import features_frame, iter_features
    from cimgen.grammar.constructs import uses
    from cimgen.grammar.parse import parse
    from cimgen.ingest import read_stage1
    from cimgen.models import Candidate
    from cimgen.schema.load import load_schema
    from cimgen.structure import fit_model
    from cimgen.world import fixture_world

    dropped = ("ST_Within", "ST_Contains")
    copy = _reduced_grammar(tmp_path / "grammar", dropped)
    schema = load_schema("cim_wizard")
    pairs = list(iter_features(read_stage1(load_demo_corpus()), schema))
    model = fit_model(features_frame(pairs), "gaussian_copula", seed=5, progress=False)
    structures = model.sample(2400, seed=5, progress=False).structures()
    assert sum(s.has_window for s in structures) >= 20  # windows were asked for
    records = [r for r, _ in pairs]
    ctx = ExpansionContext.build(schema, fixture_world(schema, 5), records, grammar=copy)
    rows: list[Candidate] = []
    for i, s in enumerate(structures):
        made = make_candidate(s, ctx, random.Random(i), i)
        if isinstance(made, Candidate):
            rows.append(made)
        if len(rows) == 2000:
            break
    assert len(rows) == 2000
    for row in rows:
        used = uses(parse(row.sql_postgis, copy))  # raises if the copy rejects it
        assert "window" not in used.constructs, row.sql_postgis
        assert not {f.lower() for f in used.functions} & {d.lower() for d in dropped}
    items = [QueryItem(i, "row", r.sql_postgis) for i, r in enumerate(rows)]
    report = validate_queries(items, schema, grammar=copy)
    assert report.invalid == 0, [r.findings for r in report.results if not r.valid][:3]
    # the copy's catalogue is what the binder used: a dropped function is unknown there
    sql = (
        "SELECT b.building_id FROM cim_vector.building AS b "
        "WHERE ST_Contains(b.building_geometry, b.building_geometry)"
    )
    assert validate_queries([QueryItem(0, "x", sql)], schema).invalid == 0
    bad = validate_queries([QueryItem(0, "x", sql)], schema, grammar=copy)
    assert [f.code for f in bad.results[0].findings] == ["BND004"]


def test_plain_lines_report_accepted_rows_where_output_is_no_terminal() -> None:
    """A log file or CI gets a line every 5 % of the rows (rich draws its bar only at the
    end there); a terminal gets the bar alone; --quiet gets neither."""
    import io

    from rich.console import Console

    from cimgen.generate.pipeline import _PlainLines

    file = io.StringIO()
    plain = _PlainLines(Console(file=file, force_terminal=False, width=200), True, 1000)
    for done in (0, 10, 49, 50, 51, 400, 999, 1000):
        plain(done)
    lines = [line.rsplit(", ", 1)[0] for line in file.getvalue().splitlines()]
    assert lines == [
        "accepted 50/1,000 (5 %)",
        "accepted 400/1,000 (40 %)",
        "accepted 999/1,000 (99 %)",
        "accepted 1,000/1,000 (100 %)",
    ]
    for console, enabled in (
        (Console(file=io.StringIO(), force_terminal=True), True),
        (Console(file=io.StringIO(), force_terminal=False), False),
    ):
        quiet = _PlainLines(console, enabled, 10)
        quiet(10)
        assert isinstance(console.file, io.StringIO) and console.file.getvalue() == ""
