"""The grammar: coverage of the Stage 1 sample (same accept set as PostgreSQL's parser),
useful syntax errors, canonical AST forms, statement splitting and the render round trip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pglast
import pytest

from cimgen import ast
from cimgen.grammar import QuerySyntaxError, bind, parse, split_statements, syntax_findings
from cimgen.io import read_jsonl
from cimgen.schema.load import load_schema


def _records(path: Path) -> list[dict[str, Any]]:
    return read_jsonl(path)


def _pg_accepts(sql: str) -> bool:
    try:
        pglast.parse_sql(sql)
    except pglast.parser.ParseError:
        return False
    return True


def _ours_accepts(sql: str) -> bool:
    try:
        parse(sql)
    except QuerySyntaxError:
        return False
    return True


@pytest.fixture(scope="module")
def split(stage1_sample: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    records = _records(stage1_sample)
    good = [r for r in records if _pg_accepts(r["sql_postgis"])]
    bad = [r for r in records if not _pg_accepts(r["sql_postgis"])]
    return good, bad


def test_accept_set_equals_postgres_parser(split: Any) -> None:
    good, bad = split
    ours = {r["id"] for r in good + bad if _ours_accepts(r["sql_postgis"])}
    pg = {r["id"] for r in good}
    print(
        f"\ngrammar coverage: pglast accepts {len(pg)}/{len(good) + len(bad)}, "
        f"grammar accepts {len(ours)}; accepted by exactly one: {sorted(ours ^ pg)}"
    )
    assert (len(good), len(bad)) == (59, 41)
    assert ours == pg


def test_rejections_say_where_and_what(split: Any) -> None:
    _, bad = split
    for r in bad:
        sql = r["sql_postgis"]
        with pytest.raises(QuerySyntaxError) as info:
            parse(sql)
        err = info.value
        lines = sql.splitlines()
        assert 1 <= err.line <= len(lines), r["id"]
        assert 1 <= err.column <= len(lines[err.line - 1]) + 1, r["id"]
        assert err.token and err.expected, r["id"]
        assert f"line {err.line}, column {err.column}" in str(err)
        assert "\n" not in str(err)


def test_number_running_into_keyword_is_pointed_at() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse("SELECT a\nFROM t\nWHERE x < 500LIMIT 10")
    err = info.value
    assert (err.line, err.column, err.token) == (3, 11, "'500LIMIT'")
    assert "add a space" in str(err)


def test_identifier_running_into_keyword_is_pointed_at() -> None:
    with pytest.raises(QuerySyntaxError) as info:
        parse("SELECT a FROM t WHERE b = trueLIMIT 5")
    assert (info.value.line, info.value.column, info.value.token) == (1, 37, "'5' (number)")
    # trueLIMIT is one identifier, as in PostgreSQL: a LIMIT could have followed it.
    assert "LIMIT" in info.value.expected


def test_syntax_findings_are_data() -> None:
    query, findings = syntax_findings("SELECT FROM WHERE")
    assert query is None
    assert [(f.code, f.stage, f.line) for f in findings] == [("SYN001", "grammar", 1)]
    query, findings = syntax_findings("SELECT 1;")
    assert findings == [] and isinstance(query, ast.Query)


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("a != b", ast.BinaryOp("<>", ast.Column("a"), ast.Column("b"))),
        (
            "x NOT LIKE 'O''B%'",
            ast.UnaryOp("NOT", ast.BinaryOp("LIKE", ast.Column("x"), ast.String("O'B%"))),
        ),
        (
            "x NOT IN (1, 2.50)",
            ast.InList(ast.Column("x"), (ast.Number("1"), ast.Number("2.50")), negated=True),
        ),
        ("t.x IS NOT NULL", ast.IsNull(ast.Column("x", "t"), negated=True)),
        (
            "NOT EXISTS (SELECT 1)",
            ast.UnaryOp(
                "NOT", ast.Exists(ast.Query(ast.Select((ast.SelectItem(ast.Number("1")),))))
            ),
        ),
        ('"SEZ2011" + Foo', ast.BinaryOp("+", ast.Column("SEZ2011"), ast.Column("foo"))),
        (
            "public.st_area(g::GEOGRAPHY)",
            ast.FuncCall("ST_Area", (ast.Cast(ast.Column("g"), "geography"),), schema="public"),
        ),
        ("CAST(x AS Double   Precision)", ast.Cast(ast.Column("x"), "double precision", "CAST")),
        ("x::numeric(10, 2)", ast.Cast(ast.Column("x"), "numeric(10,2)")),
        ("-a::int", ast.UnaryOp("-", ast.Cast(ast.Column("a"), "int"))),
        (
            "((a + b)) * c",
            ast.BinaryOp("*", ast.BinaryOp("+", ast.Column("a"), ast.Column("b")), ast.Column("c")),
        ),
        (
            "(ST_SummaryStats(rast)).mean",
            ast.FieldAccess(ast.FuncCall("ST_SummaryStats", (ast.Column("rast"),)), "mean"),
        ),
        (
            "count(DISTINCT x) FILTER (WHERE y)",
            ast.FuncCall("COUNT", (ast.Column("x"),), distinct=True, filter=ast.Column("y")),
        ),
        (
            "ST_ClusterDBSCAN(g, eps := 2000, minpoints => 3) OVER (PARTITION BY t ORDER BY u "
            "DESC NULLS LAST)",
            ast.FuncCall(
                "ST_ClusterDBSCAN",
                (
                    ast.Column("g"),
                    ast.NamedArg("eps", ast.Number("2000")),
                    ast.NamedArg("minpoints", ast.Number("3")),
                ),
                over=ast.Window(
                    (ast.Column("t"),), (ast.OrderItem(ast.Column("u"), "DESC", "LAST"),)
                ),
            ),
        ),
        (
            "a <-> b < 5 AND a && b",
            ast.BinaryOp(
                "AND",
                ast.BinaryOp(
                    "<", ast.BinaryOp("<->", ast.Column("a"), ast.Column("b")), ast.Number("5")
                ),
                ast.BinaryOp("&&", ast.Column("a"), ast.Column("b")),
            ),
        ),
        (
            "x BETWEEN 1 AND 2 OR y",
            ast.BinaryOp(
                "OR",
                ast.Between(ast.Column("x"), ast.Number("1"), ast.Number("2")),
                ast.Column("y"),
            ),
        ),
        (
            "CASE WHEN a THEN 'x' ELSE NULL END",
            ast.Case((ast.When(ast.Column("a"), ast.String("x")),), ast.Null()),
        ),
    ],
)
def test_canonical_expression_forms(sql: str, expected: ast.Expr) -> None:
    assert parse(f"SELECT {sql}").body.items[0].expr == expected  # type: ignore[union-attr]


def test_query_level_forms() -> None:
    q = parse(
        "WITH a AS (SELECT 1), b (x) AS (SELECT 2) SELECT * FROM a "
        "UNION ALL (SELECT 3 LIMIT 1) UNION (SELECT 4) ORDER BY 1 DESC LIMIT 2 OFFSET 3"
    )
    assert [c.name for c in q.ctes] == ["a", "b"] and q.ctes[1].columns == ("x",)
    body = q.body
    assert isinstance(body, ast.SetOp) and not body.all and isinstance(body.right, ast.Select)
    assert isinstance(body.left, ast.SetOp) and body.left.all
    assert isinstance(body.left.right, ast.Query)  # its own LIMIT keeps the Query wrapper
    assert (q.limit, q.offset) == (ast.Number("2"), ast.Number("3"))
    sel = parse(
        "SELECT t.* FROM s.t AS x LEFT OUTER JOIN u ON TRUE CROSS JOIN v, "
        "(SELECT 1) d JOIN w ON x.a = w.a"
    ).body
    assert isinstance(sel, ast.Select)
    first, second = sel.from_
    assert isinstance(first, ast.Join) and first.kind == "CROSS"
    assert isinstance(first.left, ast.Join) and first.left.kind == "LEFT"
    assert first.left.left == ast.TableRef("t", "s", "x")
    assert isinstance(second, ast.Join) and second.kind == "INNER"
    assert isinstance(second.left, ast.DerivedTable) and second.left.alias == "d"


def test_block_conditions_are_the_inner_conjuncts_where_first() -> None:
    sel = parse(
        "SELECT a.x FROM a JOIN b ON a.k = b.k AND b.y > 1 LEFT JOIN c ON c.k = b.k "
        "JOIN d ON d.k = c.k WHERE a.z = 2 AND (a.w = 3 OR a.w = 4)"
    ).body
    assert isinstance(sel, ast.Select)
    want = ["a.z = 2", "(a.w = 3 OR a.w = 4)", "d.k = c.k", "a.k = b.k", "b.y > 1"]
    # WHERE's conjuncts, then the inner joins' ON (an outer join's ON does not filter)
    assert ast.block_conditions(sel) == [parse(f"SELECT 1 WHERE {w}").body.where for w in want]  # type: ignore[union-attr]
    outer = ast.block_conditions(sel, outer_joins=True)
    assert len(outer) == 6 and ast.tables_read(outer[3]) == {"b", "c"}
    assert ast.block_conditions(parse("SELECT 1").body) == []  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT a FROM t WHERE a < b < c",  # comparisons do not chain
        "SELECT (a, b) FROM t",  # no row constructors
        "SELECT a FROM t t2 t3",
        "SELECT a FROM t LIMIT",
        "SELECT 'unterminated FROM t",
        "SELECT a FROM t; SELECT b",  # one statement per parse
        "DELETE FROM t",  # read-only language
    ],
)
def test_rejects(sql: str) -> None:
    with pytest.raises(QuerySyntaxError):
        parse(sql)


def test_split_statements_keeps_start_lines() -> None:
    text = (
        "-- header\nSELECT 1;\n\n/* a; b */ SELECT ';' AS s\n  FROM t;\n"
        'SELECT "a;b" FROM t; -- tail\n;'
    )
    assert split_statements(text) == [
        ("SELECT 1", 2),
        ("SELECT ';' AS s\n  FROM t", 4),
        ('SELECT "a;b" FROM t', 6),
    ]


def test_valid_samples_bind_to_deployed_schema(split: Any) -> None:
    good, _ = split
    schema = load_schema("cim_wizard_deployed")
    found = {
        r["id"]: [f"{f.code} {f.message}" for f in bind(parse(r["sql_postgis"]), schema)]
        for r in good
    }
    flagged = {k: v for k, v in found.items() if v}
    print(f"\n{len(flagged)} of {len(good)} valid samples have binding findings: {flagged}")
    # The only ones: COUNT(DISTINCT "SEZ2011") over a CTE that exposes sez2011 (a real bug).
    assert sorted(flagged) == ["cim_006829", "cim_006832", "cim_006859"]
    assert all(v == [v[0]] and v[0].startswith("BND002 column SEZ2011") for v in flagged.values())


def test_round_trip_through_postgis_renderer(split: Any) -> None:
    postgis = pytest.importorskip("cimgen.render.postgis")
    good, _ = split
    extra = [
        "SELECT -(-a), a - (b - c), (a + b) * c, NOT (a AND b), a || 'x''y' FROM t",
        "SELECT x FROM t WHERE x NOT IN (SELECT y FROM u) OR NOT x LIKE 'a%' "
        "ORDER BY 1 NULLS FIRST",
        "SELECT 1 UNION ALL (SELECT 2 ORDER BY 1 LIMIT 1) UNION SELECT 3",
    ]
    for sql in [r["sql_postgis"] for r in good] + extra:
        tree = parse(sql)
        rendered = postgis.render_postgis(tree)
        assert parse(rendered) == tree, rendered


def test_uses_names_constructs_operators_and_functions() -> None:
    from cimgen.grammar.constructs import uses

    sql = (
        "WITH s AS (SELECT id, geom FROM t) SELECT s.id, COUNT(DISTINCT x) FILTER (WHERE x > 1),"
        " RANK() OVER (PARTITION BY a ORDER BY b) FROM s LEFT JOIN u ON s.id = u.id"
        " WHERE s.id IN (SELECT id FROM v) AND NOT EXISTS (SELECT 1 FROM w)"
        " GROUP BY s.id HAVING COUNT(*) > 2 ORDER BY 1 LIMIT 5 OFFSET 1"
    )
    u = uses(parse(sql))
    assert u.constructs == {
        "cte", "left_join", "in_subquery", "exists", "group_by", "having", "order_by",
        "limit", "offset", "window", "partition_by", "aggregate_filter", "distinct_argument",
    }  # fmt: skip
    assert u.operators == {"=", ">", "AND", "NOT"}
    assert u.functions == {"COUNT", "RANK"}


def test_grammar_facts_read_operators_from_the_grammar(tmp_path: Path) -> None:
    from cimgen.grammar.constructs import ALL_OPERATORS, default_grammar, grammar_facts

    assert grammar_facts().operators == ALL_OPERATORS
    copy = tmp_path / "no_concat.lark"
    text = default_grammar().read_text().replace("(CONCAT | KNN | OVERLAPS)", "(KNN | OVERLAPS)")
    copy.write_text(text.replace('CONCAT: "||"\n', ""))
    facts = grammar_facts(copy)
    assert "||" not in facts.operators and "<->" in facts.operators


def test_catalogue_beside_a_grammar_copy(tmp_path: Path) -> None:
    import yaml

    from cimgen.catalogue import catalogue_for, load_catalogue
    from cimgen.errors import ConfigError
    from cimgen.grammar.constructs import default_grammar

    lone = tmp_path / "lone.lark"
    lone.write_text(default_grammar().read_text())
    assert catalogue_for(lone) is load_catalogue()  # no functions.yaml beside it
    folder = tmp_path / "g"
    folder.mkdir()
    data = yaml.safe_load((default_grammar().parent / "functions.yaml").read_text())
    del data["spatial"]["ST_Area"]
    (folder / "functions.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    cat = catalogue_for(folder / "cim_sql.lark")
    assert cat.get("ST_Area") is None and cat.get("ST_Length") is not None
    broken = tmp_path / "b"
    broken.mkdir()
    (broken / "functions.yaml").write_text("spatial: [not, a, mapping\n")
    with pytest.raises(ConfigError, match="not a function catalogue"):
        catalogue_for(broken / "cim_sql.lark")


# --------------------------------------------------------------------------- parser cache


def _cached_parser(monkeypatch: pytest.MonkeyPatch, root: Path) -> tuple[Any, Path]:
    """A parser through the cache folder ``root``, and the cache file it uses."""
    from cimgen.catalogue import catalogue_for
    from cimgen.grammar.parse import GRAMMAR_FILE, _load_or_build, parser_cache_file
    from cimgen.grammar.transform import ToAst
    from cimgen.paths import grammar_dir

    monkeypatch.setenv("CIMGEN_CACHE_DIR", str(root))
    text = (grammar_dir() / GRAMMAR_FILE).read_text(encoding="utf-8")
    return _load_or_build(text, ToAst(catalogue_for(None))), parser_cache_file(text)


_CACHE_PROBE = "SELECT b.id, ST_Area(b.geom) AS a FROM cim_vector.building AS b WHERE b.id = 3"


def test_the_compiled_parser_is_kept_and_loaded(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    built, path = _cached_parser(monkeypatch, tmp_path)
    assert path.parent == tmp_path / "grammar" and path.is_file()
    written = path.stat().st_mtime_ns
    loaded, again = _cached_parser(monkeypatch, tmp_path)
    assert again == path and path.stat().st_mtime_ns == written  # read, not rewritten
    assert loaded is not built
    assert loaded.parse(_CACHE_PROBE) == built.parse(_CACHE_PROBE) == parse(_CACHE_PROBE)
    assert isinstance(loaded.parse(_CACHE_PROBE), ast.Query)  # the transformer is inline

    from cimgen.cli.main import main

    try:
        main(["cache", "list"])
    except SystemExit as exc:  # typer may or may not exit after a command
        assert exc.code in (0, None)
    assert "also 1 compiled grammar parser(s)" in capsys.readouterr().out


@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage"])
def test_a_damaged_parser_cache_is_rebuilt_not_trusted(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, damage: str
) -> None:
    import hashlib

    _, path = _cached_parser(monkeypatch, tmp_path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":  # the digest no longer matches: never unpickled
        path.write_bytes(data[:-10] + bytes([data[-10] ^ 0xFF]) + data[-9:])
    else:
        path.write_bytes(b"not a parser\n")
    rebuilt, _ = _cached_parser(monkeypatch, tmp_path)
    assert rebuilt.parse(_CACHE_PROBE) == parse(_CACHE_PROBE)
    digest, _, payload = path.read_bytes().partition(b"\n")
    assert digest == hashlib.sha256(payload).hexdigest().encode()  # whole again
    assert not [p for p in path.parent.iterdir() if p != path]  # no temporary left


def test_the_parser_cache_file_names_the_grammar() -> None:
    from cimgen.grammar.parse import parser_cache_file

    assert parser_cache_file('start: A\nA: "a"') != parser_cache_file('start: B\nB: "b"')
