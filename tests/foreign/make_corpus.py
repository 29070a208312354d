"""Write stage1.jsonl: the foreign corpus as Stage 1 records, each measured on the world.

    python tests/foreign/make_corpus.py postgresql://postgres@127.0.0.1:5432/world_db

The database must hold the world of build_world.py (default seed). Literals are looked up in
it, every query is executed read-only, and its row count is recorded (``result_rows``,
``has_results``), so the file says what each query returns on the world. The record format
follows the real Stage 1 samples (../shared/mission/stage1_sample.jsonl): the same fields,
with the labels the authors gave by hand and the derived fields filled the way their
generator filled them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import psycopg
from corpus_queries import Entry, entries
from world_geometry import to_lonlat

HERE = Path(__file__).resolve().parent
OUT = HERE / "stage1.jsonl"
GENERATED_AT = "2024-06-12T15:04:00"
FREQUENT_FUNCTIONS = {"ST_AREA", "ST_INTERSECTS", "ST_DISTANCE", "ST_DWITHIN", "ST_CENTROID",
                      "ST_MAKEPOINT", "ST_SETSRID", "ST_X", "ST_Y", "ST_WITHIN"}  # fmt: skip
RASTER_FUNCTIONS = {"ST_VALUE", "ST_SUMMARYSTATS", "ST_CLIP"}


def _lonlat(x: float, y: float) -> tuple[float, float]:
    lon, lat = to_lonlat((x, y))
    return round(lon, 6), round(lat, 6)


def literals(conn: psycopg.Connection[Any]) -> dict[str, Any]:
    """Ids and places as an analyst would copy them from the database."""

    def pair(name: str, scenario: str) -> tuple[str, str]:
        row = conn.execute(
            "SELECT project_id, scenario_id FROM cim_vector.cim_wizard_project_scenario "
            "WHERE project_name LIKE %s AND scenario_name LIKE %s",
            (name + "%", scenario + "%"),
        ).fetchone()
        assert row is not None, f"no scenario {name} / {scenario}: build the world first"
        return row[0], row[1]

    def building(scenario: tuple[str, str], use: str, order: str) -> str:
        row = conn.execute(
            "SELECT building_id FROM cim_vector.cim_wizard_building_properties "
            f"WHERE project_id = %s AND scenario_id = %s AND type = %s ORDER BY {order} LIMIT 1",
            (*scenario, use),
        ).fetchone()
        assert row is not None
        return str(row[0])

    ss, cr, li = pair("San Salvario", "Stato"), pair("Crocetta", "Stato"), pair("Lingotto", "Stato")
    hill = conn.execute(
        "SELECT b.building_id FROM cim_vector.cim_wizard_building b WHERE NOT EXISTS (SELECT 1 "
        "FROM cim_vector.cim_wizard_building_properties bp WHERE bp.building_fk = b.id) "
        "AND b.lod = 0 ORDER BY b.building_id LIMIT 1"
    ).fetchone()
    assert hill is not None
    return {
        "ss": ss,
        "ss30": pair("San Salvario", "Scenario 2030"),
        "cr": cr,
        "li": li,
        "b_ss": building(ss, "residenziale", "area DESC, building_id"),
        "b_li": building(li, "industriale", "building_id"),
        "b_cr": building(cr, "residenziale", "building_id"),
        "b_hill": str(hill[0]),
        "pt_ss": _lonlat(1550, 1800),
        "pt_porta_nuova": (7.6785, 45.0621),
        "pt_overlap": _lonlat(1103, 1500),
        "pt_cr": _lonlat(630, 1334),
        "pt_superga": (7.767222, 45.080556),
    }


def measure(conn: psycopg.Connection[Any], sql: str) -> int:
    """Rows the query returns, run read-only with a timeout (raises on any error)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION READ ONLY")
        conn.execute("SET LOCAL statement_timeout = '20s'")
        return len(conn.execute(sql.rstrip(";")).fetchall())


def _functions(sql: str) -> list[str]:
    seen: dict[str, None] = {}
    for name in re.findall(r"\b(ST_\w+)\s*\(", sql, flags=re.I):
        seen.setdefault(name.upper())
    return list(seen)


def _join_type(sql: str) -> str:
    up = sql.upper()
    if "CROSS JOIN" in up:
        return "cross"
    if "LEFT JOIN" in up:
        return "left"
    if re.search(r"JOIN\s+\S+\s+\w+\s+ON\s+(PUBLIC\.)?ST_", up):
        return "spatial"
    return "standard" if " JOIN " in up else "none"


def record(n: int, entry: Entry, lit: dict[str, Any], rows: int) -> dict[str, Any]:
    tid, kind, tone, diff, freq, tags, question, sql = entry
    funcs = _functions(sql)
    tables = list(dict.fromkeys(re.findall(r"\b(cim_\w+\.\w+)", sql)))
    schemas = list(dict.fromkeys(t.split(".")[0] for t in tables))
    joins = len(re.findall(r"\bJOIN\b", sql, flags=re.I))
    upper = sql.upper()
    params: dict[str, Any] = {}
    for key in ("ss30", "ss", "cr", "li"):
        project, scenario = lit[key]
        if f"'{project}'" in sql and f"'{scenario}'" in sql:
            params["project_id"], params["scenario_id"] = project, scenario
            break
    for key in (k for k in lit if k.startswith("pt_")):
        if "({}, {})".format(*lit[key]) in sql:
            params["lon"], params["lat"] = lit[key]
    params.update({k: v for k, v in lit.items() if k.startswith("b_") and v in sql})
    return {
        "id": f"to_{n:05d}",
        "database_id": 2,
        "database_name": "cim_wizard",
        "question": question,
        "question_tone": tone,
        "priority": 1 if freq == "frequent" else 2,
        "sql_postgis": sql,
        "sql_spatialite": sql,
        "sql_type": kind,
        "sql_taxonomy": {
            "operation_type": kind,
            "has_cte": upper.lstrip().startswith("WITH"),
            "has_subquery": upper.count("SELECT") > 1 and not upper.lstrip().startswith("WITH"),
            "has_aggregation": bool(re.search(r"\b(COUNT|SUM|AVG|MIN|MAX)\s*\(", upper)),
            "has_window_function": " OVER " in upper or " OVER(" in upper,
            "join_type": _join_type(sql),
        },
        "difficulty": {
            "query_complexity": diff,
            "spatial_complexity": "ADVANCED" if len(funcs) > 3 else "BASIC" if funcs else "NONE",
            "schema_complexity": "MULTI_SCHEMA" if len(schemas) > 1 else "SINGLE_SCHEMA",
            "function_count": str(len(funcs)),
            "join_count": str(joins),
            "overall_difficulty": diff,
            "complexity_level": {"EASY": "C", "MEDIUM": "B", "HARD": "A"}[diff],
            "complexity_score": {"EASY": 1, "MEDIUM": 2, "HARD": 3}[diff],
        },
        "difficulty_level": diff,
        "usage_frequency": freq,
        "database_schema": {
            "schemas": schemas,
            "tables": tables,
            "primary_schema": schemas[0],
            "table_count": len(tables),
            "schema_count": len(schemas),
        },
        "spatial_functions": funcs,
        "spatial_function_count": len(funcs),
        "spatial_function_details": [
            {
                "name": f,
                "data_type": "raster" if f in RASTER_FUNCTIONS else "vector_only",
                "usage_frequency": "frequent" if f in FREQUENT_FUNCTIONS else "low_frequent",
                "difficulty": "basic" if f in FREQUENT_FUNCTIONS else "intermediate",
            }
            for f in funcs
        ],
        "evidence": {
            "database": "cim_wizard",
            "schemas": schemas,
            "tables": tables,
            "columns": [],
            "functions": funcs,
            "template_source": "cim_wizard_torino",
        },
        "instruction": "Convert this natural language question to PostGIS spatial SQL for "
        f"the CIM Wizard database: {question}",
        "results": None,
        "has_results": rows > 0,
        "result_rows": rows,
        "stage": "stage1_cim",
        "generation_method": "hand_written",
        "template_id": tid,
        "complexity_level": {"EASY": "C", "MEDIUM": "B", "HARD": "A"}[diff],
        "tags": tags,
        "generation_params": params,
        "generated_at": GENERATED_AT,
        "has_limit": bool(re.search(r"\bLIMIT\b", upper)),
        "has_order_by": "ORDER BY" in upper,
        "limit_strategy": "LIMITED" if re.search(r"\bLIMIT\b", upper) else "FULL_RESULTS",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dsn", help="URL of the database built by build_world.py")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with psycopg.connect(args.dsn, autocommit=True) as conn:
        lit = literals(conn)
        records = []
        for n, entry in enumerate(entries(lit), start=1):
            try:
                rows = measure(conn, entry[7])
            except psycopg.Error as exc:
                print(f"error: query {n} ({entry[0]}): {exc}".strip(), file=sys.stderr)
                return 1
            records.append(record(n, entry, lit, rows))
    tmp = args.out.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(args.out)
    full = sum(r["has_results"] for r in records)
    print(f"{len(records)} queries, all executed; {full} return rows "
          f"({100 * full / len(records):.1f} %) -> {args.out}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
