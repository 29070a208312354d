"""Analytical templates: subqueries, CTEs, windows, multi-table joins, raster-vector
analysis, clustering and set operations."""

from __future__ import annotations

import random

from cimgen.corpus.params import (
    above,
    envelope,
    limit,
    network_label,
    of_type,
    pick_scenario,
    pick_type,
    point_near,
    project_label,
    project_year,
)
from cimgen.corpus.pools import Pools
from cimgen.corpus.templates import Ident, Params, Template, Text, nice, quantile

T = Template

# ----------------------------------------------------------------- NESTED_QUERY


def _topk(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    p["k"] = rng.choice((1, 2, 3, 5))
    return p


N01 = T(
    "CIM_N01_tallest_per_type",
    "NESTED_QUERY",
    "HARD",
    "frequent",
    ("building_properties", "window", "row_number", "derived_table"),
    """SELECT ranked.type, ranked.building_id, ranked.height, ranked.height_rank
FROM (
  SELECT bp.type, bp.building_id, bp.height,
         ROW_NUMBER() OVER (PARTITION BY bp.type ORDER BY bp.height DESC) AS height_rank
  FROM cim_vector.building_properties bp
  WHERE bp.project_id = {project}
    AND bp.scenario_id = {scenario}
) AS ranked
WHERE ranked.height_rank <= {k}
ORDER BY ranked.type, ranked.height_rank;""",
    {
        "DIRECT": (
            "Show the {k} tallest buildings of each type in the {project_label} "
            "{scenario_label} scenario.",
        ),
        "ANALYTICAL": (
            "Rank buildings by height within each use type in {project_label} "
            "({scenario_label}) and keep the top {k} per type.",
        ),
        "INTERROGATIVE": (
            "What are the {k} highest buildings per type in the {project_label} "
            "{scenario_label} scenario?",
        ),
        "AGGREGATE": (
            "For every building type in {project_label} ({scenario_label}), list "
            "its top {k} by height.",
        ),
    },
    _topk,
    1.0,
)


def _above_avg(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    mean = sum(b.height for b in rows) / len(rows)
    p["btype"] = rng.choice(sorted({b.type for b in rows if b.height > mean}))
    p["limit"] = limit(rng)
    return p


N02 = T(
    "CIM_N02_above_average_height",
    "NESTED_QUERY",
    "MEDIUM",
    "frequent",
    ("building_properties", "scalar_subquery", "average"),
    """SELECT bp.building_id, bp.height, bp.number_of_floors
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
  AND bp.height > (
    SELECT AVG(x.height)
    FROM cim_vector.building_properties x
    WHERE x.project_id = {project}
      AND x.scenario_id = {scenario}
  )
ORDER BY bp.height DESC
LIMIT {limit};""",
    {
        "INTERROGATIVE": (
            "Which {btype} buildings in {project_label} ({scenario_label}) are "
            "taller than the scenario's average building?",
        ),
        "CONDITIONAL": (
            "If a {btype} building is higher than the average of the "
            "{project_label} {scenario_label} scenario, list it (top {limit}).",
        ),
        "ANALYTICAL": (
            "Identify {btype} buildings that stand out above the mean height of "
            "{project_label} ({scenario_label}); show {limit}.",
        ),
    },
    _above_avg,
    1.0,
)


def _dense(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    sez = {b.census_id for b in pools.buildings[ps.key]}
    pops = [float(c.p1) for c in pools.census if c.sez2011 in sez]
    p["min_pop"] = above(pops, rng, 0.4, 0.8)
    return p


N03 = T(
    "CIM_N03_buildings_in_populous_sections",
    "NESTED_QUERY",
    "MEDIUM",
    "frequent",
    ("building", "building_properties", "census_geo", "in_subquery"),
    """SELECT b.building_id, b.census_id, bp.type, bp.n_people
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND b.census_id IN (
    SELECT c.sez2011 FROM cim_census.census_geo c WHERE c.p1 > {min_pop}
  )
ORDER BY bp.n_people DESC;""",
    {
        "CONDITIONAL": (
            "List buildings of {project_label} ({scenario_label}) that belong to "
            "census sections with more than {min_pop} residents.",
        ),
        "INTERROGATIVE": (
            "Which {project_label} buildings ({scenario_label}) lie in census "
            "sections of over {min_pop} inhabitants?",
        ),
        "DIRECT": (
            "Find buildings in densely populated sections (population > {min_pop}) "
            "for the {project_label} {scenario_label} scenario.",
        ),
    },
    _dense,
    0.9,
)


def _tall_low_conf(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "cache")
    heights = {b.building_id: b.height for b in pools.buildings.get(ps.key, ())}
    # anchor on one cached building so at least that one qualifies
    c = rng.choice([c for c in pools.cache[ps.key] if c.building_id in heights])
    p["min_height"] = nice(heights[c.building_id] * rng.uniform(0.5, 0.9))
    p["max_conf"] = round(min(0.99, c.confidence_score + rng.choice((0.02, 0.05, 0.1))), 2)
    return p


N04 = T(
    "CIM_N04_tall_buildings_low_confidence",
    "NESTED_QUERY",
    "MEDIUM",
    "low_frequent",
    ("building_properties", "building_height_cache", "exists", "data_quality"),
    """SELECT bp.building_id, bp.type, bp.height
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.height > {min_height}
  AND EXISTS (
    SELECT 1
    FROM cim_raster.building_height_cache hc
    WHERE hc.building_id = bp.building_id
      AND hc.project_id = bp.project_id
      AND hc.scenario_id = bp.scenario_id
      AND hc.confidence_score < {max_conf}
  )
ORDER BY bp.height DESC;""",
    {
        "CONDITIONAL": (
            "Find buildings taller than {min_height} m in {project_label} "
            "({scenario_label}) whose cached raster height has confidence below "
            "{max_conf}.",
        ),
        "ANALYTICAL": (
            "Audit tall buildings (over {min_height} m) of {project_label} "
            "({scenario_label}): which rely on a height estimate with confidence "
            "under {max_conf}?",
        ),
        "INTERROGATIVE": (
            "Which buildings above {min_height} m have a low-confidence "
            "(< {max_conf}) height estimate in {project_label} "
            "({scenario_label})?",
        ),
    },
    _tall_low_conf,
    0.7,
)


def _uncached(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    return p


N05 = T(
    "CIM_N05_buildings_without_height_cache",
    "NESTED_QUERY",
    "MEDIUM",
    "low_frequent",
    ("building_properties", "building_height_cache", "not_exists", "data_quality"),
    """SELECT COUNT(*) AS missing, SUM(bp.n_people) AS residents_affected
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
  AND NOT EXISTS (
    SELECT 1 FROM cim_raster.building_height_cache hc
    WHERE hc.building_id = bp.building_id
      AND hc.project_id = bp.project_id
      AND hc.scenario_id = bp.scenario_id
  );""",
    {
        "AGGREGATE": (
            "How many {btype} buildings in {project_label} ({scenario_label}) have "
            "no cached raster height?",
        ),
        "CONDITIONAL": (
            "Count {btype} buildings lacking a height-cache entry in the "
            "{project_label} {scenario_label} scenario, with their residents.",
        ),
        "TEMPORAL": (
            "How many {btype} buildings of {project_label} ({scenario_label}) still "
            "wait for a raster height calculation?",
        ),
    },
    _uncached,
    0.5,
)


def _delta(pools: Pools, rng: random.Random) -> Params:
    pairs = []
    for a in pools.scenarios:
        for b in pools.scenarios:
            if (
                a.project_id == b.project_id
                and a.scenario_id == "baseline"
                and b.scenario_id != "baseline"
                and pools.buildings.get(b.key)
            ):
                pairs.append((a, b))
    base, other = rng.choice(pairs)
    _, p = pick_scenario(pools, rng)
    p.update(
        {
            "project": base.project_id,
            "other": other.scenario_id,
            "other_label": Text(other.scenario_id),
        }
    )
    p["project_label"] = Text(project_label(base.project_id))
    p["year"] = Text(project_year(base.project_id))
    p["limit"] = limit(rng)
    return p


N06 = T(
    "CIM_N06_scenario_delta_cte",
    "NESTED_QUERY",
    "HARD",
    "low_frequent",
    ("building_properties", "cte", "scenario_comparison"),
    """WITH base AS (
  SELECT building_id, height, volume, n_people
  FROM cim_vector.building_properties
  WHERE project_id = {project} AND scenario_id = 'baseline'
),
alt AS (
  SELECT building_id, height, volume, n_people
  FROM cim_vector.building_properties
  WHERE project_id = {project} AND scenario_id = {other}
)
SELECT alt.building_id, base.height AS baseline_height, alt.height AS new_height,
       alt.volume - base.volume AS volume_change_m3,
       alt.n_people - base.n_people AS resident_change
FROM alt
JOIN base ON base.building_id = alt.building_id
ORDER BY ABS(alt.volume - base.volume) DESC
LIMIT {limit};""",
    {
        "ANALYTICAL": (
            "Compare the {other_label} scenario with the baseline of "
            "{project_label}: which {limit} buildings change volume the most?",
        ),
        "TEMPORAL": (
            "How would buildings of the {year} {project_label} project change from "
            "baseline to the {other_label} scenario? Show the {limit} largest "
            "changes.",
        ),
        "INTERROGATIVE": (
            "Which buildings change most in volume and residents between the "
            "baseline and {other_label} scenarios of {project_label}?",
        ),
    },
    _delta,
    0.8,
)


def _ntile(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    p["groups"] = rng.choice((4, 5, 10))
    p["group_text"] = Text({4: "quartile", 5: "quintile", 10: "decile"}[p["groups"]])
    return p


N07 = T(
    "CIM_N07_section_density_quantiles",
    "NESTED_QUERY",
    "EXPERT",
    "low_frequent",
    ("building", "building_properties", "census_geo", "cte", "window", "ntile"),
    """WITH section_load AS (
  SELECT c.sez2011, c.p1,
         COUNT(b.building_id) AS buildings,
         SUM(bp.gross_floor_area) AS gfa_m2,
         SUM(bp.gross_floor_area) / NULLIF(c.p1, 0) AS gfa_per_resident
  FROM cim_census.census_geo c
  JOIN cim_vector.building b ON b.census_id = c.sez2011
  JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
  WHERE bp.project_id = {project}
    AND bp.scenario_id = {scenario}
  GROUP BY c.sez2011, c.p1
),
ranked AS (
  SELECT sez2011, p1, buildings, gfa_m2, gfa_per_resident,
         NTILE({groups}) OVER (ORDER BY gfa_per_resident DESC) AS bucket
  FROM section_load
  WHERE gfa_per_resident IS NOT NULL
)
SELECT sez2011, p1 AS population, buildings, gfa_m2, gfa_per_resident
FROM ranked
WHERE bucket = 1
ORDER BY gfa_per_resident DESC;""",
    {
        "ANALYTICAL": (
            "Which census sections are in the top {group_text} of floor area per "
            "resident for {project_label} ({scenario_label})?",
        ),
        "AGGREGATE": (
            "Compute floor area per resident by census section in {project_label} "
            "({scenario_label}) and return the top {group_text}.",
        ),
        "CONDITIONAL": (
            "Keep only census sections in the highest {group_text} of floor area "
            "per resident ({project_label}, {scenario_label}).",
        ),
    },
    _ntile,
    0.6,
)


def _lag(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    counts: dict[int, int] = {}
    for b in pools.buildings[ps.key]:
        counts[b.census_id] = counts.get(b.census_id, 0) + 1
    p["sez"] = rng.choice(sorted(s for s, n in counts.items() if n >= 2) or sorted(counts))
    return p


N08 = T(
    "CIM_N08_height_steps_in_section",
    "NESTED_QUERY",
    "HARD",
    "rare",
    ("building", "building_properties", "window", "lag", "skyline"),
    """SELECT s.building_id, s.height, s.prev_height, s.height - s.prev_height AS step_m
FROM (
  SELECT bp.building_id, bp.height,
         LAG(bp.height) OVER (ORDER BY bp.height) AS prev_height
  FROM cim_vector.building_properties bp
  JOIN cim_vector.building b ON b.building_id = bp.building_id AND b.lod = bp.lod
  WHERE b.census_id = {sez}
    AND bp.project_id = {project}
    AND bp.scenario_id = {scenario}
) AS s
WHERE s.prev_height IS NOT NULL
ORDER BY step_m DESC;""",
    {
        "ANALYTICAL": (
            "Analyse the skyline of census section {sez} in {project_label} "
            "({scenario_label}): where are the biggest jumps between successive "
            "building heights?",
        ),
        "DIRECT": (
            "For census section {sez}, order buildings by height and show the height "
            "step to the next lower one ({project_label}, {scenario_label}).",
        ),
    },
    _lag,
    0.4,
)


def _union_assets(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng, "lines")
    p["limit"] = limit(rng)
    return p


N09 = T(
    "CIM_N09_grid_asset_inventory_union",
    "SIMPLE_SELECT",
    "MEDIUM",
    "low_frequent",
    ("grid_bus", "grid_line", "union", "export"),
    """SELECT 'bus' AS asset, gb.name, ST_AsText(gb.geometry) AS wkt
FROM cim_vector.grid_bus gb
WHERE gb.project_id = {project} AND gb.scenario_id = {scenario} AND gb.zone = 'MV'
UNION ALL
SELECT 'line' AS asset, gl.name, ST_AsText(gl.geometry) AS wkt
FROM cim_vector.grid_line gl
WHERE gl.project_id = {project} AND gl.scenario_id = {scenario}
  AND gl.max_loading_percent > 90
LIMIT {limit};""",
    {
        "DIRECT": (
            "Export the medium-voltage buses and the lines loaded above 90% of the "
            "{project_label} {scenario_label} grid as WKT ({limit} rows).",
        ),
        "CONDITIONAL": (
            "List MV buses together with lines over 90% loading in "
            "{project_label} ({scenario_label}), as one inventory.",
        ),
    },
    _union_assets,
    0.4,
)


G09 = T(
    "CIM_G09_terrain_models_union",
    "AGGREGATION",
    "MEDIUM",
    "low_frequent",
    ("dtm_raster", "dsm_raster", "union", "raster", "metadata"),
    """SELECT 'DTM' AS model, COUNT(*) AS tiles, MIN(min_elevation) AS lowest_m,
       MAX(max_elevation) AS highest_m
FROM cim_raster.dtm_raster
UNION ALL
SELECT 'DSM' AS model, COUNT(*) AS tiles, MIN(min_elevation) AS lowest_m,
       MAX(max_elevation) AS highest_m
FROM cim_raster.dsm_raster;""",
    {
        "AGGREGATE": (
            "Count the DTM and DSM tiles and give the lowest and highest elevation of each model.",
        ),
        "INTERROGATIVE": (
            "How many terrain and surface model tiles are stored, and what "
            "elevation range do they cover?",
        ),
        "TEMPORAL": ("What elevation range do the currently loaded DTM and DSM tiles span?",),
    },
    lambda pools, rng: {},
    0.1,
)

# ----------------------------------------------------------------- MULTI_JOIN


def _mj_type(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    p["limit"] = limit(rng)
    return p


J07 = T(
    "CIM_J07_building_census_context",
    "MULTI_JOIN",
    "MEDIUM",
    "frequent",
    ("building", "building_properties", "project_scenario", "census_geo"),
    """SELECT b.building_id, bp.height, bp.n_people, ps.scenario_name,
       c.sez2011, c.p1 AS section_population, c.st1 AS section_dwellings
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
JOIN cim_vector.project_scenario ps
  ON ps.project_id = bp.project_id AND ps.scenario_id = bp.scenario_id
JOIN cim_census.census_geo c ON c.sez2011 = b.census_id
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
ORDER BY c.p1 DESC, bp.n_people DESC
LIMIT {limit};""",
    {
        "DIRECT": (
            "List {btype} buildings of {project_label} ({scenario_label}) with the "
            "population and dwellings of their census section ({limit} rows).",
        ),
        "ANALYTICAL": (
            "Put {btype} buildings of {project_label} ({scenario_label}) in census "
            "context: residents modelled vs. section population.",
        ),
        "INTERROGATIVE": (
            "Which census sections do the {btype} buildings of {project_label} "
            "({scenario_label}) belong to, and how populated are they?",
        ),
    },
    _mj_type,
    1.0,
)


def _cache_join(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "cache")
    p["min_conf"] = nice(
        quantile([c.confidence_score for c in pools.cache[ps.key]], rng.uniform(0.2, 0.6))
    )
    p["limit"] = limit(rng)
    return p


J08 = T(
    "CIM_J08_cached_vs_modelled_height",
    "MULTI_JOIN",
    "MEDIUM",
    "low_frequent",
    ("building", "building_properties", "building_height_cache", "data_quality"),
    """SELECT bp.building_id, bp.height AS modelled_height, hc.building_height AS raster_height,
       hc.dsm_avg_height - hc.dtm_avg_height AS dsm_minus_dtm,
       ST_Area(b.building_geometry::geography) AS footprint_m2
FROM cim_vector.building_properties bp
JOIN cim_raster.building_height_cache hc
  ON hc.building_id = bp.building_id
 AND hc.project_id = bp.project_id
 AND hc.scenario_id = bp.scenario_id
JOIN cim_vector.building b ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND hc.confidence_score >= {min_conf}
ORDER BY ABS(bp.height - hc.building_height) DESC
LIMIT {limit};""",
    {
        "ANALYTICAL": (
            "Compare modelled and raster-derived heights for buildings of "
            "{project_label} ({scenario_label}) with confidence of at least "
            "{min_conf}; show the {limit} largest disagreements.",
        ),
        "CONDITIONAL": (
            "Where the height cache confidence is {min_conf} or more, how do "
            "cached heights compare with modelled ones in {project_label} "
            "({scenario_label})?",
        ),
        "DIRECT": (
            "List {limit} buildings of {project_label} ({scenario_label}) with "
            "modelled height, raster height and footprint area.",
        ),
    },
    _cache_join,
    0.8,
)


def _line_ends(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng, "lines")
    p["limit"] = limit(rng)
    return p


J09 = T(
    "CIM_J09_line_endpoints",
    "MULTI_JOIN",
    "HARD",
    "low_frequent",
    ("grid_line", "grid_bus", "self_join", "distance", "geography"),
    """SELECT gl.line_id, gl.name, fb.name AS from_name, tb.name AS to_name,
       fb.voltage_kv AS from_kv, tb.voltage_kv AS to_kv,
       ST_Distance(fb.geometry::geography, tb.geometry::geography) AS straight_m,
       gl.length_km * 1000.0 AS routed_m
FROM cim_vector.grid_line gl
JOIN cim_vector.grid_bus fb
  ON fb.bus_id = gl.from_bus AND fb.project_id = gl.project_id
 AND fb.scenario_id = gl.scenario_id
JOIN cim_vector.grid_bus tb
  ON tb.bus_id = gl.to_bus AND tb.project_id = gl.project_id
 AND tb.scenario_id = gl.scenario_id
WHERE gl.project_id = {project}
  AND gl.scenario_id = {scenario}
ORDER BY gl.length_km * 1000.0 - ST_Distance(fb.geometry::geography, tb.geometry::geography)
  DESC
LIMIT {limit};""",
    {
        "ANALYTICAL": (
            "For lines of the {project_label} {scenario_label} grid, compare the "
            "routed length with the straight distance between their buses "
            "({limit} most detoured).",
        ),
        "DIRECT": (
            "List {limit} lines of {project_label} ({scenario_label}) with both end "
            "buses, their voltages and straight-line distance.",
        ),
        "SPATIAL_SPECIFIC": (
            "Measure the straight distance in metres between the end buses "
            "of each {project_label} {scenario_label} line and compare it "
            "with the line length.",
        ),
    },
    _line_ends,
    0.7,
)


def _occupancy(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    p["min_buildings"] = rng.choice((2, 3, 5))
    return p


J10 = T(
    "CIM_J10_modelled_vs_census_population",
    "MULTI_JOIN",
    "HARD",
    "frequent",
    ("census_geo", "building", "building_properties", "group_by", "having", "ratio"),
    """SELECT c.sez2011, c.p1 AS census_population,
       SUM(bp.n_people) AS modelled_population, COUNT(*) AS buildings,
       ROUND((SUM(bp.n_people)::numeric / NULLIF(c.p1, 0)), 2) AS coverage_ratio
FROM cim_census.census_geo c
JOIN cim_vector.building b ON b.census_id = c.sez2011
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
GROUP BY c.sez2011, c.p1
HAVING COUNT(*) >= {min_buildings}
ORDER BY coverage_ratio DESC;""",
    {
        "ANALYTICAL": (
            "Validate the occupancy model of {project_label} ({scenario_label}): "
            "compare modelled residents with census population per section "
            "(sections with at least {min_buildings} buildings).",
        ),
        "AGGREGATE": (
            "Sum modelled residents per census section for {project_label} "
            "({scenario_label}) next to the census count.",
        ),
        "INTERROGATIVE": (
            "How well do modelled residents match the census in each section "
            "of {project_label} ({scenario_label})?",
        ),
    },
    _occupancy,
    1.0,
)

# ----------------------------------------------------------------- SPATIAL (advanced)


def _bus_buffer(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "buses")
    buses = [b for b in pools.buses[ps.key] if b.zone != "HV"] or list(pools.buses[ps.key])
    bus = rng.choice(buses)
    p["bus"], p["bus_name"] = bus.bus_id, Text(bus.name)
    p["radius"] = rng.choice((200, 300, 400, 500))
    return p


J11 = T(
    "CIM_J11_buildings_served_by_bus",
    "SPATIAL_JOIN",
    "HARD",
    "frequent",
    ("grid_bus", "building", "building_properties", "buffer", "geography"),
    """SELECT gb.name, COUNT(b.building_id) AS buildings, SUM(bp.n_people) AS residents,
       SUM(bp.gross_floor_area) AS gfa_m2
FROM cim_vector.grid_bus gb
JOIN cim_vector.building b
  ON ST_Intersects(b.building_geometry, ST_Buffer(gb.geometry::geography, {radius})::geometry)
JOIN cim_vector.building_properties bp
  ON b.building_id = bp.building_id AND b.lod = bp.lod
 AND bp.project_id = gb.project_id AND bp.scenario_id = gb.scenario_id
WHERE gb.bus_id = {bus}
  AND gb.project_id = {project}
  AND gb.scenario_id = {scenario}
GROUP BY gb.name;""",
    {
        "SPATIAL_SPECIFIC": (
            "How many buildings and residents fall inside a {radius} m "
            "buffer around bus {bus_name} in {project_label} "
            "({scenario_label})?",
        ),
        "AGGREGATE": (
            "Total the buildings, residents and floor area within {radius} m of "
            "{bus_name} ({project_label}, {scenario_label}).",
        ),
        "ANALYTICAL": (
            "Estimate the catchment of bus {bus_name}: buildings and people within "
            "{radius} m in the {project_label} {scenario_label} scenario.",
        ),
    },
    _bus_buffer,
    0.9,
)


def _knn(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "buses")
    rows = pools.buildings.get(ps.key) or next(v for v in pools.buildings.values())
    p["building"] = rng.choice(rows).building_id
    p["k"] = rng.choice((3, 5))
    return p


J12 = T(
    "CIM_J12_nearest_buses_knn",
    "SPATIAL_JOIN",
    "HARD",
    "frequent",
    ("grid_bus", "building", "knn", "distance", "geography"),
    """SELECT gb.bus_id, gb.name, gb.voltage_kv,
       ST_Distance(gb.geometry::geography, ST_Centroid(b.building_geometry)::geography)
         AS distance_m
FROM cim_vector.grid_bus gb
CROSS JOIN cim_vector.building b
WHERE b.building_id = {building}
  AND gb.project_id = {project}
  AND gb.scenario_id = {scenario}
  AND gb.in_service
ORDER BY gb.geometry <-> ST_Centroid(b.building_geometry)
LIMIT {k};""",
    {
        "SPATIAL_SPECIFIC": (
            "Find the {k} in-service buses nearest to building {building} "
            "in {project_label} ({scenario_label}).",
        ),
        "INTERROGATIVE": (
            "Which {k} grid buses are closest to building {building} in the "
            "{project_label} {scenario_label} scenario?",
        ),
        "DIRECT": (
            "List the {k} nearest working buses to building {building} with distances "
            "in metres ({project_label}, {scenario_label}).",
        ),
    },
    _knn,
    0.9,
)


def _lines_near(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    rows = pools.buildings.get(ps.key) or next(v for v in pools.buildings.values())
    p["building"] = rng.choice(rows).building_id
    p["radius"] = rng.choice((150, 250, 400))
    return p


M07 = T(
    "CIM_M07_building_to_line_connection",
    "SPATIAL_MEASUREMENT",
    "HARD",
    "low_frequent",
    ("grid_line", "building", "shortest_line", "closest_point", "geography"),
    """SELECT gl.line_id, gl.name,
       ST_Length(ST_ShortestLine(b.building_geometry, gl.geometry)::geography) AS gap_m,
       ST_AsText(ST_ClosestPoint(gl.geometry, ST_Centroid(b.building_geometry)))
         AS connection_point
FROM cim_vector.building b
JOIN cim_vector.grid_line gl
  ON ST_DWithin(b.building_geometry::geography, gl.geometry::geography, {radius})
WHERE b.building_id = {building}
  AND gl.project_id = {project}
  AND gl.scenario_id = {scenario}
ORDER BY gap_m;""",
    {
        "SPATIAL_SPECIFIC": (
            "For building {building}, find lines of the {project_label} "
            "{scenario_label} grid within {radius} m, the connection gap and "
            "the closest point on each line.",
        ),
        "ANALYTICAL": (
            "Plan a connection for building {building}: which lines within "
            "{radius} m are closest, and where would it attach "
            "({project_label}, {scenario_label})?",
        ),
        "INTERROGATIVE": (
            "Where is the nearest attachment point on the {project_label} "
            "{scenario_label} lines within {radius} m of building {building}?",
        ),
    },
    _lines_near,
    0.6,
)


def _union_area(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    return p


M08 = T(
    "CIM_M08_built_coverage_by_type",
    "SPATIAL_MEASUREMENT",
    "HARD",
    "low_frequent",
    ("building", "building_properties", "union", "convex_hull", "utm", "group_by"),
    """SELECT bp.type, COUNT(*) AS buildings,
       ST_Area(ST_Union(ST_Transform(b.building_geometry, 32632))) AS footprint_m2,
       ST_Area(ST_ConvexHull(ST_Collect(ST_Transform(b.building_geometry, 32632)))) AS hull_m2
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
GROUP BY bp.type
ORDER BY footprint_m2 DESC;""",
    {
        "AGGREGATE": (
            "Per building type, total the merged footprint area and the area of "
            "the convex hull around them in {project_label} ({scenario_label}).",
        ),
        "SPATIAL_SPECIFIC": (
            "Dissolve footprints by type in the {project_label} "
            "{scenario_label} scenario and measure built area vs. hull area in "
            "m² (UTM 32N).",
        ),
        "ANALYTICAL": (
            "How compactly is each building type clustered in {project_label} "
            "({scenario_label})? Compare footprint area with convex hull area.",
        ),
    },
    _union_area,
    0.6,
)


M09 = T(
    "CIM_M09_open_space_in_boundary",
    "SPATIAL_MEASUREMENT",
    "EXPERT",
    "rare",
    ("project_scenario", "building", "building_properties", "difference", "union", "cte"),
    """WITH footprints AS (
  SELECT ST_Union(b.building_geometry) AS geom
  FROM cim_vector.building b
  JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
  WHERE bp.project_id = {project}
    AND bp.scenario_id = {scenario}
)
SELECT ps.project_name,
       ST_Area(ps.project_boundary::geography) AS boundary_m2,
       ST_Area(ST_Difference(ps.project_boundary, f.geom)::geography) AS open_space_m2,
       ROUND((ST_Area(ST_Difference(ps.project_boundary, f.geom)::geography)
         / ST_Area(ps.project_boundary::geography))::numeric, 3) AS open_share
FROM cim_vector.project_scenario ps
CROSS JOIN footprints f
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario};""",
    {
        "ANALYTICAL": (
            "What share of the {project_label} project area is not built over in "
            "the {scenario_label} scenario?",
        ),
        "SPATIAL_SPECIFIC": (
            "Subtract all building footprints from the {project_label} "
            "boundary ({scenario_label}) and measure the remaining open space "
            "in m².",
        ),
        "INTERROGATIVE": (
            "How much open space is left inside the {project_label} boundary "
            "in the {scenario_label} scenario?",
        ),
    },
    _union_area,
    0.4,
)


M10 = T(
    "CIM_M10_census_overlap_with_project",
    "SPATIAL_MEASUREMENT",
    "HARD",
    "low_frequent",
    ("project_scenario", "census_geo", "intersection", "geography"),
    """SELECT c.sez2011, c.p1,
       ST_Area(ST_Intersection(c.geometry, ps.project_boundary)::geography) AS overlap_m2,
       ROUND((ST_Area(ST_Intersection(c.geometry, ps.project_boundary)::geography)
         / ST_Area(c.geometry::geography))::numeric, 3) AS share_inside
FROM cim_census.census_geo c
JOIN cim_vector.project_scenario ps ON ST_Intersects(c.geometry, ps.project_boundary)
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario}
ORDER BY overlap_m2 DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "For each census section intersecting the {project_label} "
            "boundary ({scenario_label}), measure the overlapping area in m² "
            "and the share inside.",
        ),
        "ANALYTICAL": (
            "Which census sections fall mostly inside the {project_label} project "
            "area ({scenario_label}), and by how much?",
        ),
        "AGGREGATE": (
            "List the census sections overlapping {project_label} "
            "({scenario_label}) with their population and overlap area.",
        ),
    },
    _union_area,
    0.6,
)


def _azimuth(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    p["network"] = rng.choice(sorted({x.network_id for x in pools.lines[ps.key]}))
    p["network_label"] = Text(network_label(p["network"]))
    return p


M11 = T(
    "CIM_M11_line_bearing",
    "SPATIAL_MEASUREMENT",
    "HARD",
    "rare",
    ("grid_line", "azimuth", "start_point", "end_point"),
    """SELECT gl.line_id, gl.name, ST_NPoints(gl.geometry) AS vertices,
       ROUND((ST_Azimuth(ST_StartPoint(gl.geometry), ST_EndPoint(gl.geometry))
         * 57.29578)::numeric, 1) AS bearing_deg,
       ST_DistanceSphere(ST_StartPoint(gl.geometry), ST_EndPoint(gl.geometry)) AS span_m
FROM cim_vector.grid_line gl
WHERE gl.network_id = {network}
  AND gl.project_id = {project}
  AND gl.scenario_id = {scenario}
ORDER BY gl.line_id;""",
    {
        "SPATIAL_SPECIFIC": (
            "Give the compass bearing and end-to-end span of each line in "
            "{network_label} ({project_label}, {scenario_label}).",
        ),
        "DIRECT": (
            "List lines of {network_label} with vertex count, bearing in degrees and "
            "span in metres ({project_label}, {scenario_label}).",
        ),
    },
    _azimuth,
    0.4,
)


def _simplify(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    p["tol"] = rng.choice((0.5, 1.0, 2.0))
    p["limit"] = limit(rng)
    return p


M12 = T(
    "CIM_M12_footprint_simplification",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "rare",
    ("building", "building_properties", "simplify", "vertices", "validity", "utm"),
    """SELECT b.building_id, ST_GeometryType(b.building_geometry) AS geom_type,
       ST_IsValid(b.building_geometry) AS valid,
       ST_NPoints(b.building_geometry) AS vertices,
       ST_NPoints(ST_SimplifyPreserveTopology(ST_Transform(b.building_geometry, 32632), {tol}))
         AS simplified_vertices,
       ST_HausdorffDistance(ST_Transform(b.building_geometry, 32632),
         ST_SimplifyPreserveTopology(ST_Transform(b.building_geometry, 32632), {tol}))
         AS max_shift_m
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
ORDER BY vertices DESC
LIMIT {limit};""",
    {
        "SPATIAL_SPECIFIC": (
            "Simplify {btype} footprints of {project_label} "
            "({scenario_label}) with a {tol} m tolerance and report vertex "
            "counts before and after ({limit} most detailed).",
        ),
        "ANALYTICAL": (
            "How much detail would we lose by simplifying {btype} footprints in "
            "{project_label} ({scenario_label}) at {tol} m?",
        ),
        "CONDITIONAL": (
            "If footprints were generalised at {tol} m, how far would the "
            "{limit} most detailed {btype} outlines of {project_label} "
            "({scenario_label}) move?",
        ),
    },
    _simplify,
    0.4,
)


def _grid_extent(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng, "buses")
    return p


M13 = T(
    "CIM_M13_network_footprint",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "low_frequent",
    ("grid_bus", "extent", "convex_hull", "collect", "geography", "group_by"),
    """SELECT gb.network_id, COUNT(*) AS buses,
       ST_Extent(gb.geometry) AS bbox,
       ST_Area(ST_ConvexHull(ST_Collect(gb.geometry))::geography) AS service_area_m2
FROM cim_vector.grid_bus gb
WHERE gb.project_id = {project}
  AND gb.scenario_id = {scenario}
GROUP BY gb.network_id
ORDER BY service_area_m2 DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Compute the bounding box and convex-hull service area of each "
            "network in {project_label} ({scenario_label}).",
        ),
        "AGGREGATE": (
            "Per network of {project_label} ({scenario_label}), count buses and "
            "measure the area they span.",
        ),
        "INTERROGATIVE": (
            "How large an area does each {project_label} {scenario_label} grid network serve?",
        ),
    },
    _grid_extent,
    0.5,
)

# ----------------------------------------------------------------- SPATIAL_CLUSTERING


def _dbscan(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng, min_rows=120)
    p["eps"] = rng.choice((60, 80, 100, 120))
    p["minpts"] = rng.choice((3, 4, 5))
    return p


C01 = T(
    "CIM_C01_dbscan_building_clusters",
    "SPATIAL_CLUSTERING",
    "HARD",
    "rare",
    ("building", "building_properties", "dbscan", "cte", "utm"),
    """WITH clustered AS (
  SELECT b.building_id, bp.n_people,
         ST_ClusterDBSCAN(ST_Transform(ST_Centroid(b.building_geometry), 32632),
                          eps := {eps}, minpoints := {minpts}) OVER () AS cluster_id
  FROM cim_vector.building b
  JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
  WHERE bp.project_id = {project}
    AND bp.scenario_id = {scenario}
    AND bp.type = {btype}
)
SELECT cluster_id, COUNT(*) AS buildings, SUM(n_people) AS residents
FROM clustered
WHERE cluster_id IS NOT NULL
GROUP BY cluster_id
ORDER BY buildings DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Cluster {btype} buildings of {project_label} "
            "({scenario_label}) with DBSCAN (eps {eps} m, at least {minpts} "
            "buildings) and report each cluster's size.",
        ),
        "ANALYTICAL": (
            "Where do {btype} buildings concentrate in {project_label} "
            "({scenario_label})? Use DBSCAN with {eps} m and {minpts} points.",
        ),
        "AGGREGATE": (
            "Group {btype} buildings into DBSCAN clusters ({eps} m, {minpts} "
            "points) and total residents per cluster ({project_label}, "
            "{scenario_label}).",
        ),
    },
    _dbscan,
    0.8,
)


def _kmeans_bus(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "buses")
    p["k"] = min(rng.choice((3, 4, 5, 6)), len(pools.buses[ps.key]))
    return p


C02 = T(
    "CIM_C02_kmeans_bus_groups",
    "SPATIAL_CLUSTERING",
    "HARD",
    "rare",
    ("grid_bus", "kmeans", "derived_table", "centroid"),
    """SELECT k.cluster_id, COUNT(*) AS buses, AVG(k.voltage_kv) AS avg_kv,
       ST_AsText(ST_Centroid(ST_Collect(k.geometry))) AS cluster_center
FROM (
  SELECT gb.bus_id, gb.voltage_kv, gb.geometry,
         ST_ClusterKMeans(gb.geometry, {k}) OVER () AS cluster_id
  FROM cim_vector.grid_bus gb
  WHERE gb.project_id = {project}
    AND gb.scenario_id = {scenario}
) AS k
GROUP BY k.cluster_id
ORDER BY k.cluster_id;""",
    {
        "SPATIAL_SPECIFIC": (
            "Split the buses of {project_label} ({scenario_label}) into {k} "
            "k-means clusters and give each cluster's centre.",
        ),
        "ANALYTICAL": (
            "Partition the {project_label} {scenario_label} grid into {k} "
            "maintenance areas with k-means: buses and mean voltage per area.",
        ),
        "AGGREGATE": (
            "Count buses per k-means cluster (k = {k}) for {project_label} ({scenario_label}).",
        ),
    },
    _kmeans_bus,
    0.6,
)


def _kmeans_census(pools: Pools, rng: random.Random) -> Params:
    return {"k": rng.choice((4, 5, 6, 8))}


C03 = T(
    "CIM_C03_kmeans_census_districts",
    "SPATIAL_CLUSTERING",
    "EXPERT",
    "rare",
    ("census_geo", "kmeans", "cte", "convex_hull", "geography"),
    """WITH sections AS (
  SELECT c.sez2011, c.p1, c.geometry,
         ST_ClusterKMeans(ST_PointOnSurface(c.geometry), {k}) OVER () AS district
  FROM cim_census.census_geo c
)
SELECT district, COUNT(*) AS sections, SUM(p1) AS population,
       ST_Area(ST_ConvexHull(ST_Collect(geometry))::geography) / 1000000.0 AS hull_km2,
       SUM(p1) / (ST_Area(ST_Union(geometry)::geography) / 1000000.0) AS density_per_km2
FROM sections
GROUP BY district
ORDER BY density_per_km2 DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Group census sections into {k} k-means districts and compute "
            "each district's population, hull area and density per km².",
        ),
        "ANALYTICAL": (
            "Define {k} statistical districts from census sections with k-means "
            "and compare their population densities.",
        ),
        "AGGREGATE": (
            "Total population per k-means district (k = {k}) of census sections, with area in km².",
        ),
    },
    _kmeans_census,
    0.4,
)


def _hot_lines(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    p["min_load"] = nice(
        quantile([x.max_loading_percent for x in pools.lines[ps.key]], rng.uniform(0.2, 0.5))
    )
    p["eps"] = rng.choice((150, 200, 300))
    return p


C04 = T(
    "CIM_C04_dbscan_congested_lines",
    "SPATIAL_CLUSTERING",
    "EXPERT",
    "rare",
    ("grid_line", "dbscan", "cte", "utm", "loading"),
    """WITH hot AS (
  SELECT gl.line_id, gl.max_loading_percent,
         ST_Transform(ST_Centroid(gl.geometry), 32632) AS mid
  FROM cim_vector.grid_line gl
  WHERE gl.project_id = {project}
    AND gl.scenario_id = {scenario}
    AND gl.max_loading_percent > {min_load}
),
clusters AS (
  SELECT line_id, max_loading_percent,
         ST_ClusterDBSCAN(mid, eps := {eps}, minpoints := 2) OVER () AS hotspot
  FROM hot
)
SELECT hotspot, COUNT(*) AS lines, MAX(max_loading_percent) AS peak_loading
FROM clusters
WHERE hotspot IS NOT NULL
GROUP BY hotspot
ORDER BY lines DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Find hotspots of lines loaded over {min_load}% in "
            "{project_label} ({scenario_label}): DBSCAN their midpoints with "
            "{eps} m.",
        ),
        "ANALYTICAL": (
            "Are congested lines (over {min_load}%) of the {project_label} "
            "{scenario_label} grid spatially clustered within {eps} m?",
        ),
        "CONDITIONAL": (
            "Considering only lines above {min_load}% loading, group them into "
            "clusters {eps} m apart ({project_label}, {scenario_label}).",
        ),
    },
    _hot_lines,
    0.4,
)

# ----------------------------------------------------------------- RASTER_VECTOR


R01 = T(
    "CIM_R01_ground_elevation_at_building",
    "RASTER_VECTOR",
    "MEDIUM",
    "frequent",
    ("dtm_raster", "building", "st_value", "centroid"),
    """SELECT b.building_id, d.filename,
       ST_Value(d.rast, ST_Centroid(b.building_geometry)) AS ground_elevation_m
FROM cim_vector.building b
JOIN cim_raster.dtm_raster d ON ST_Intersects(d.rast, ST_Centroid(b.building_geometry))
WHERE b.building_id = {building};""",
    {
        "DIRECT": ("Get the ground elevation at the centre of building {building} from the DTM.",),
        "INTERROGATIVE": ("What is the terrain height under building {building}?",),
        "SPATIAL_SPECIFIC": (
            "Sample the DTM raster at the centroid of building {building} and name the tile used.",
        ),
    },
    lambda pools, rng: {
        "building": rng.choice(pools.buildings[pools.scenario(rng).key]).building_id
    },
    0.9,
)


def _clip(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["building"] = rng.choice(pools.buildings[ps.key]).building_id
    return p


R02 = T(
    "CIM_R02_dsm_clip_statistics",
    "RASTER_VECTOR",
    "HARD",
    "low_frequent",
    ("dsm_raster", "building", "clip", "summary_stats"),
    """SELECT b.building_id, s.filename,
       (ST_SummaryStats(ST_Clip(s.rast, b.building_geometry, true))).mean AS mean_surface_m,
       (ST_SummaryStats(ST_Clip(s.rast, b.building_geometry, true))).max AS max_surface_m
FROM cim_vector.building b
JOIN cim_raster.dsm_raster s ON ST_Intersects(s.rast, b.building_geometry)
WHERE b.building_id = {building};""",
    {
        "SPATIAL_SPECIFIC": (
            "Clip the DSM to the footprint of building {building} and report "
            "mean and maximum surface elevation.",
        ),
        "ANALYTICAL": (
            "Estimate the roof elevation of building {building} from DSM "
            "statistics inside its footprint.",
        ),
        "INTERROGATIVE": ("What are the average and highest DSM values over building {building}?",),
    },
    _clip,
    0.8,
)


def _raster_height(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    b = rng.choice(pools.buildings[ps.key])
    p["lon"], p["lat"] = point_near(b, rng)
    p["radius"] = rng.choice((100, 150, 200))
    p.update(envelope(p["lon"], p["lat"], p["radius"]))
    return p


R03 = T(
    "CIM_R03_dsm_minus_dtm_near_point",
    "RASTER_VECTOR",
    "EXPERT",
    "rare",
    ("dtm_raster", "dsm_raster", "building", "building_properties", "st_value", "cte", "dwithin"),
    """WITH nearby AS (
  SELECT b.building_id, bp.height, ST_PointOnSurface(b.building_geometry) AS pt
  FROM cim_vector.building b
  JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
  WHERE bp.project_id = {project}
    AND bp.scenario_id = {scenario}
    AND b.building_geometry && ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, 4326)
    AND ST_DWithin(b.building_geometry::geography,
                   ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, {radius})
)
SELECT n.building_id, n.height AS modelled_height,
       ST_Value(s.rast, n.pt) - ST_Value(d.rast, n.pt) AS raster_height
FROM nearby n
JOIN cim_raster.dsm_raster s ON ST_Intersects(s.rast, n.pt)
JOIN cim_raster.dtm_raster d ON ST_Intersects(d.rast, n.pt)
ORDER BY raster_height DESC;""",
    {
        "ANALYTICAL": (
            "For buildings within {radius} m of ({lon}, {lat}) in {project_label} "
            "({scenario_label}), compare modelled height with DSM minus DTM.",
        ),
        "SPATIAL_SPECIFIC": (
            "Derive building heights from DSM - DTM at a point inside each "
            "footprint, for buildings within {radius} m of lon {lon}, lat "
            "{lat} ({project_label}, {scenario_label}).",
        ),
        "CONDITIONAL": (
            "Only for buildings less than {radius} m from ({lon}, {lat}), check "
            "modelled heights against the rasters ({project_label}, "
            "{scenario_label}).",
        ),
    },
    _raster_height,
    0.6,
)


def _tiles_project(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    p["model"] = rng.choice(
        (Ident("dtm_raster", "terrain (DTM)"), Ident("dsm_raster", "surface (DSM)"))
    )
    return p


R04 = T(
    "CIM_R04_tiles_covering_project",
    "RASTER_VECTOR",
    "MEDIUM",
    "low_frequent",
    ("dtm_raster", "dsm_raster", "project_scenario", "envelope", "raster"),
    """SELECT t.filename, t.min_elevation, t.max_elevation,
       ST_Area(ST_Intersection(ST_Envelope(t.rast), ps.project_boundary)::geography)
         AS covered_m2
FROM cim_raster.{model} t
JOIN cim_vector.project_scenario ps ON ST_Intersects(ST_Envelope(t.rast), ps.project_boundary)
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario}
ORDER BY covered_m2 DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Which {model} tiles overlap the {project_label} boundary "
            "({scenario_label}), and how much of the project does each "
            "cover?",
        ),
        "DIRECT": (
            "List the {model} tiles needed for the {project_label} project area with "
            "their elevation range.",
        ),
        "INTERROGATIVE": ("What {model} raster tiles cover the {project_label} project?",),
    },
    _tiles_project,
    0.6,
)


def _tile_sections(pools: Pools, rng: random.Random) -> Params:
    return {"min_pop": nice(quantile([float(c.p1) for c in pools.census], rng.uniform(0.1, 0.5)))}


R05 = T(
    "CIM_R05_sections_per_dsm_tile",
    "RASTER_VECTOR",
    "HARD",
    "rare",
    ("dsm_raster", "census_geo", "convex_hull", "group_by", "raster"),
    """SELECT s.filename, COUNT(c.sez2011) AS sections, SUM(c.p1) AS population,
       ST_Width(s.rast) * ST_Height(s.rast) AS pixels
FROM cim_raster.dsm_raster s
JOIN cim_census.census_geo c ON ST_Intersects(ST_ConvexHull(s.rast), c.geometry)
WHERE c.p1 >= {min_pop}
GROUP BY s.filename, s.rast
ORDER BY population DESC;""",
    {
        "AGGREGATE": (
            "For each DSM tile, count the census sections with at least {min_pop} "
            "residents it covers and their population.",
        ),
        "SPATIAL_SPECIFIC": (
            "Intersect DSM tile footprints with census sections of {min_pop}+ "
            "people and total population per tile.",
        ),
        "ANALYTICAL": (
            "Which surface-model tiles cover the most people (sections with "
            "{min_pop} or more residents)?",
        ),
    },
    _tile_sections,
    0.4,
)


def _dtm_point(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    b = rng.choice(pools.buildings[ps.key])
    p["lon"], p["lat"] = point_near(b, rng)
    return p


R06 = T(
    "CIM_R06_elevation_at_point",
    "RASTER_VECTOR",
    "EASY",
    "frequent",
    ("dtm_raster", "dsm_raster", "st_value", "point"),
    """SELECT d.filename AS dtm_tile,
       ST_Value(d.rast, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)) AS ground_m,
       ST_Value(s.rast, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)) AS surface_m
FROM cim_raster.dtm_raster d
JOIN cim_raster.dsm_raster s
  ON ST_Intersects(s.rast, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326))
WHERE ST_Intersects(d.rast, ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326));""",
    {
        "SPATIAL_SPECIFIC": (
            "What are the ground and surface elevations at lon {lon}, lat {lat}?",
        ),
        "INTERROGATIVE": ("How high is the terrain, and the surface above it, at ({lon}, {lat})?",),
        "DIRECT": ("Read DTM and DSM values at the point {lat} N, {lon} E.",),
    },
    _dtm_point,
    0.7,
)


def _raster_footprint(pools: Pools, rng: random.Random) -> Params:
    return {"rtype": rng.choice(pools.raster_types)}


R07 = T(
    "CIM_R07_raster_footprints",
    "RASTER_VECTOR",
    "MEDIUM",
    "rare",
    ("raster_model", "envelope", "geojson", "raster"),
    """SELECT rm.filename, ST_SRID(rm.rast) AS srid,
       ST_ScaleX(rm.rast) AS pixel_x, ST_ScaleY(rm.rast) AS pixel_y,
       ST_Area(ST_Transform(ST_Envelope(rm.rast), 4326)::geography) / 1000000.0
         AS footprint_km2,
       ST_AsGeoJSON(ST_Transform(ST_Envelope(rm.rast), 4326)) AS footprint
FROM cim_raster.raster_model rm
WHERE rm.raster_type = {rtype}
ORDER BY footprint_km2 DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Give the footprint of every {rtype} raster as GeoJSON with its "
            "area in km² and pixel size.",
        ),
        "DIRECT": ("List {rtype} rasters with SRID, pixel size and footprint area.",),
        "INTERROGATIVE": ("What area do the stored {rtype} rasters cover?",),
    },
    _raster_footprint,
    0.3,
)


def _terrain_section(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["sez"] = rng.choice(pools.buildings[ps.key]).census_id
    return p


R08 = T(
    "CIM_R08_section_terrain_profile",
    "RASTER_VECTOR",
    "HARD",
    "low_frequent",
    ("dtm_raster", "census_geo", "clip", "summary_stats", "cte"),
    """WITH section AS (
  SELECT c.sez2011, c.geometry FROM cim_census.census_geo c WHERE c.sez2011 = {sez}
)
SELECT sec.sez2011, d.filename,
       (ST_SummaryStats(ST_Clip(d.rast, sec.geometry, true))).min AS lowest_m,
       (ST_SummaryStats(ST_Clip(d.rast, sec.geometry, true))).max AS highest_m,
       (ST_SummaryStats(ST_Clip(d.rast, sec.geometry, true))).mean AS mean_m
FROM section sec
JOIN cim_raster.dtm_raster d ON ST_Intersects(d.rast, sec.geometry);""",
    {
        "SPATIAL_SPECIFIC": (
            "Clip the DTM to census section {sez} and report lowest, highest "
            "and mean ground elevation per tile.",
        ),
        "ANALYTICAL": ("How flat is census section {sez}? Summarise DTM elevations inside it.",),
        "INTERROGATIVE": ("What is the terrain elevation range within census section {sez}?",),
    },
    _terrain_section,
    0.5,
)


def _ring(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    p["btype"] = pick_type(rows, rng)
    p["min_vol"] = above([b.volume for b in of_type(rows, p["btype"])], rng, 0.5, 0.9)
    return p


S14 = T(
    "CIM_S14_large_buildings_outline",
    "SIMPLE_SELECT",
    "MEDIUM",
    "low_frequent",
    ("building", "building_properties", "boundary", "snap", "export"),
    """SELECT b.building_id, bp.volume,
       ST_AsText(ST_SnapToGrid(ST_Boundary(ST_Force2D(b.building_geometry)), 0.00001))
         AS outline_wkt,
       ST_Dimension(b.building_geometry) AS dimension
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
  AND bp.volume > {min_vol}
ORDER BY bp.volume DESC;""",
    {
        "DIRECT": (
            "Export the outlines of {btype} buildings over {min_vol} m³ in "
            "{project_label} ({scenario_label}) as WKT snapped to 1e-5 degrees.",
        ),
        "CONDITIONAL": (
            "For {btype} buildings whose volume exceeds {min_vol} m³, return "
            "their outline rings ({project_label}, {scenario_label}).",
        ),
        "SPATIAL_SPECIFIC": (
            "Get the boundary line of each {btype} footprint with volume "
            "above {min_vol} m³ in {project_label} ({scenario_label}).",
        ),
    },
    _ring,
    0.4,
)


TEMPLATES: tuple[Template, ...] = (
    N01,
    N02,
    N03,
    N04,
    N05,
    N06,
    N07,
    N08,
    N09,
    G09,
    J07,
    J08,
    J09,
    J10,
    J11,
    J12,
    M07,
    M08,
    M09,
    M10,
    M11,
    M12,
    M13,
    C01,
    C02,
    C03,
    C04,
    R01,
    R02,
    R03,
    R04,
    R05,
    R06,
    R07,
    R08,
    S14,
)
