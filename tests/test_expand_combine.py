"""Table combinations follow the corpus (cimgen.expand.combine, cimgen.world.corpus):
subjects, pairs of tables and rasters read at a geometry, learnt from the user's corpus."""

from __future__ import annotations

import random
from collections import Counter
from functools import cache

from expand_support import SCHEMA, demo_records

from cimgen.expand import ExpansionContext, expand, tables_and_functions
from cimgen.expand.combine import choose
from cimgen.models import QueryFeatures, Stage1Record
from cimgen.world.corpus import Combinations, learn_corpus

BUILDING, CENSUS = "cim_vector.building", "cim_census.census_geo"
# two tables in two schemas: the subject and one table of another schema
TWO_SCHEMAS = QueryFeatures(table_count=2, schema_count=2, join_count=1, sql_type="MULTI_JOIN")


def _reads(record: Stage1Record, *tables: str) -> bool:
    return all(f"{t} " in record.sql or f"{t}\n" in record.sql for t in tables)


@cache
def _ctx(without: tuple[str, ...] = ()) -> ExpansionContext:
    """The fixture's context over every third demo record, less those reading ``without``
    together."""
    records = [r for r in demo_records()[::3] if not (without and _reads(r, *without))]
    return ExpansionContext.for_fixture(SCHEMA, records)


def _pairs(ctx: ExpansionContext, n: int = 60) -> Counter[frozenset[str]]:
    out: Counter[frozenset[str]] = Counter()
    for k in range(n):
        e = expand(TWO_SCHEMAS, ctx, random.Random(k))
        if e.query is not None:
            tables, _ = tables_and_functions(e.query, ctx)
            out[frozenset(tables)] += 1
    return out


def test_the_corpus_s_subjects_pairs_and_raster_reads_are_learnt() -> None:
    sql = (
        "SELECT b.building_id, ST_Value(d.rast, ST_Centroid(b.building_geometry)) AS ground_m "
        "FROM cim_vector.building b JOIN cim_raster.dtm_raster d "
        "ON ST_Intersects(d.rast, ST_Centroid(b.building_geometry)) WHERE b.lod = 1"
    )
    plain = "SELECT c.sez2011 FROM cim_census.census_geo c"
    met = (
        "SELECT c.sez2011, COUNT(*) AS n_buildings FROM cim_census.census_geo c "
        "JOIN cim_vector.building b ON ST_Within(b.building_geometry, c.geometry) "
        "GROUP BY c.sez2011"
    )
    records = [Stage1Record("a", sql, 1), Stage1Record("b", plain, 2), Stage1Record("c", met, 3)]
    combos = learn_corpus(SCHEMA, records).combinations()
    assert combos.subjects == {BUILDING: 1, CENSUS: 2}
    assert combos.pairs == {(CENSUS, BUILDING): 1, ("cim_raster.dtm_raster", BUILDING): 1}
    assert combos.pair(BUILDING, "cim_raster.dtm_raster") == 1
    assert combos.raster_at == {("cim_raster.dtm_raster", BUILDING): 1}
    assert combos.read_at("cim_raster.dtm_raster", CENSUS) == 0
    assert combos.meets == {(CENSUS, BUILDING): 1}
    assert combos.meet(BUILDING, CENSUS) == 1
    assert (combos.records, combos.multi) == (3, 2)


def test_a_raster_read_at_a_cte_s_geometry_counts_at_its_table() -> None:
    """Eleventh pass: the bundled corpus reads the DTM at census sections through a CTE
    (121 queries, ``ST_Value(d.rast, ST_Centroid(s.geom))`` with ``s`` a CTE over
    ``census_geo``); the CTE's column is its base table's, a CTE over a CTE too."""
    sql = (
        "WITH s AS (SELECT c.geometry AS geom, c.sez2011 FROM cim_census.census_geo c "
        "WHERE c.p1 > 100), t AS (SELECT s.geom AS g2 FROM s) "
        "SELECT ST_Value(d.rast, ST_Centroid(t.g2)) AS ground_m, ST_Value(m.rast, "
        "ST_Centroid(s.geom)) AS surface_m FROM t, s "
        "JOIN cim_raster.dtm_raster d ON ST_Intersects(d.rast, ST_Centroid(s.geom)) "
        "JOIN cim_raster.dsm_raster m ON ST_Intersects(m.rast, ST_Centroid(s.geom))"
    )
    combos = learn_corpus(SCHEMA, [Stage1Record("a", sql, 1)]).combinations()
    assert combos.raster_at == {
        ("cim_raster.dsm_raster", CENSUS): 1,
        ("cim_raster.dtm_raster", CENSUS): 1,
    }
    assert combos.read_at("cim_raster.dtm_raster", CENSUS) == 1
    # a computed CTE output (a centroid) is no column of the table: not counted as one
    computed = sql.replace("SELECT s.geom AS g2 FROM s", "SELECT ST_Centroid(s.geom) AS g2 FROM s")
    computed = computed.replace("ST_Centroid(s.geom)) AS surface_m", "t.g2) AS surface_m")
    computed = computed.replace("ON ST_Intersects(d.rast, ST_Centroid(s.geom))", "ON TRUE")
    computed = computed.replace("ON ST_Intersects(m.rast, ST_Centroid(s.geom))", "ON TRUE")
    assert learn_corpus(SCHEMA, [Stage1Record("b", computed, 1)]).combinations().raster_at == {}


def test_a_pair_the_corpus_never_reads_together_is_almost_never_built() -> None:
    """Building beside a census section is common in the demo corpus; without the queries
    that read both, the same structures, fixture and seeds almost never pair them."""
    often, never = _pairs(_ctx()), _pairs(_ctx((BUILDING, CENSUS)))
    pair = frozenset({BUILDING, CENSUS})
    assert _ctx((BUILDING, CENSUS)).combos.pair(BUILDING, CENSUS) == 0
    assert often[pair] >= 10, often
    assert never[pair] <= 2, never


def test_a_pair_is_preferred_in_proportion_to_how_often_the_corpus_makes_it() -> None:
    rng = random.Random(0)
    picks = Counter(choose(rng, "abc", [1.0, 1.0, 1.0], [30, 10, 0], 0.0) for _ in range(4000))
    assert picks["c"] == 0
    assert 2.5 < picks["a"] / picks["b"] < 3.5
    # without the corpus's counts, the caller's weights decide
    rng = random.Random(0)
    plain = Counter(choose(rng, "abc", [1.0, 1.0, 2.0], None, 0.0) for _ in range(4000))
    assert plain["c"] > plain["a"]


def test_a_small_corpus_leaves_unseen_combinations_a_chance() -> None:
    small, large = Combinations(records=20, multi=10), Combinations(records=10_000, multi=5_000)
    assert small.unseen(small.multi) > 0.2
    assert large.unseen(large.multi) < 0.002
    rng = random.Random(1)
    picks = Counter(choose(rng, "ab", [1.0, 1.0], [5, 0], small.unseen(10)) for _ in range(2000))
    assert 400 < picks["b"] < 800


def test_without_a_corpus_the_choices_are_the_expander_s_own() -> None:
    """An empty corpus has no combinations: the context keeps no counts and the same
    structure and seed build the same query as before the corpus was consulted."""
    ctx = ExpansionContext.for_fixture(SCHEMA)
    assert ctx.combos == Combinations()
    assert _pairs(ctx, 20)  # queries are built
