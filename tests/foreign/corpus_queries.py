"""The foreign Stage 1 corpus, as its authors wrote it: questions and PostGIS SQL by hand.

Each entry is (template_id, sql_type, question_tone, difficulty_level, usage_frequency, tags,
question, sql). Literals (project and scenario UUIDs, building UUIDs, points) come from `L`,
looked up once in the built world the way an analyst copies ids from the database.
make_corpus.py turns the entries into Stage 1 records and measures each on the world.
"""

from __future__ import annotations

from typing import Any

Entry = tuple[str, str, str, str, str, list[str], str, str]

BJOIN = (
    "FROM cim_vector.cim_wizard_building b\n"
    "JOIN cim_vector.cim_wizard_building_properties bp "
    "ON b.building_id = bp.building_id AND b.lod = bp.lod"
)


def _in(alias: str, project: str, scenario: str) -> str:
    return f"{alias}.project_id = '{project}'\n  AND {alias}.scenario_id = '{scenario}'"


def _pt(lon: float, lat: float) -> str:
    return f"public.ST_SetSRID(public.ST_MakePoint({lon}, {lat}), 4326)"


def _ps(p: str, s: str) -> str:
    return f"project {p} scenario {s}"


def entries(L: dict[str, Any]) -> list[Entry]:
    ss, ss30, cr, li = L["ss"], L["ss30"], L["cr"], L["li"]
    out: list[Entry] = []

    def add(
        tid: str, kind: str, tone: str, diff: str, freq: str, tags: list[str], q: str, sql: str
    ) -> None:
        out.append((tid, kind, tone, diff, freq, tags, q, sql.strip() + ";"))

    # -- footprints by use ---------------------------------------------------------------
    for (p, s), use, min_area, limit in (
        (ss, "residenziale", 400, 50),
        (cr, "commerciale", 250, 25),
        (li, "industriale", 2000, 25),
        (cr, "culto", 100, 10),
    ):
        add("TO_A1_use_footprint", "SPATIAL_MEASUREMENT", "DIRECT", "EASY", "frequent",
            ["building", "type_filter", "area_filter"],
            f"Find {use} buildings with a footprint larger than {min_area} square metres in "
            f"{_ps(p, s)}, limit to {limit} results",
            f"""
SELECT b.building_id, b.lod, public.ST_Area(b.building_geometry::geography) AS area_sqm
{BJOIN}
WHERE {_in("bp", p, s)}
  AND bp.type = '{use}'
  AND public.ST_Area(b.building_geometry::geography) > {min_area}
LIMIT {limit}""")  # fmt: skip

    # -- which project holds a point -------------------------------------------------------
    for lon, lat in (L["pt_ss"], L["pt_overlap"], L["pt_superga"]):
        add("TO_A2_point_in_project", "SPATIAL_MEASUREMENT", "INTERROGATIVE", "EASY", "frequent",
            ["project", "point", "containment"],
            f"Which project scenarios contain the point at longitude {lon} latitude {lat}?",
            f"""
SELECT ps.project_name, ps.scenario_name,
       public.ST_Area(ps.project_boundary::geography) AS project_area_sqm
FROM cim_vector.cim_wizard_project_scenario ps
WHERE public.ST_Intersects(ps.project_boundary, {_pt(lon, lat)})""")  # fmt: skip

    # -- grid buses by voltage -----------------------------------------------------------------
    add("TO_A3_bus_voltage", "SIMPLE_SELECT", "DIRECT", "EASY", "frequent",
        ["grid", "bus", "voltage"],
        f"Find active grid buses of at least 20 kV in {_ps(*li)}, highest voltage first",
        f"""
SELECT gb.bus_id, gb.bus_name, gb.voltage_kv, public.ST_X(gb.geometry) AS lon,
       public.ST_Y(gb.geometry) AS lat
FROM cim_network.network_buses gb
WHERE {_in("gb", *li)}
  AND gb.voltage_kv >= 20.0
  AND gb.in_service = true
ORDER BY gb.voltage_kv DESC, gb.bus_id""")  # fmt: skip
    for kv in (220.0, 380.0):
        add("TO_A3_bus_voltage_all", "SIMPLE_SELECT", "DIRECT", "EASY", "frequent",
            ["grid", "bus", "voltage"],
            f"Find active grid buses with voltage at or above {kv} kV in any scenario",
            f"""
SELECT gb.project_id, gb.scenario_id, gb.bus_id, gb.bus_name, gb.voltage_kv
FROM cim_network.network_buses gb
WHERE gb.voltage_kv >= {kv}
  AND gb.in_service = true""")  # fmt: skip

    # -- census population -----------------------------------------------------------------------
    for threshold in (500, 8000):
        add("TO_A4_census_population", "SIMPLE_SELECT", "ANALYTICAL", "EASY", "low_frequent",
            ["census", "population"],
            f"Show census sections with at least {threshold} residents, split by sex, most "
            "populated first, limit to 25 results",
            f"""
SELECT c.sez2011, c.p1 AS total_population, c.p2 AS male_population,
       c.p3 AS female_population
FROM cim_census.censusgeo c
WHERE c.p1 >= {threshold}
ORDER BY c.p1 DESC
LIMIT 25""")  # fmt: skip
    add("TO_A4_census_empty", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
        ["census", "population"],
        "List the census sections of Torino with no residents (parks, river banks)",
        """
SELECT c.sez2011, c.nsez, public.ST_Area(c.geometry::geography) AS section_area_sqm
FROM cim_census.censusgeo c
WHERE c.p1 = 0 AND c.comune = 'Torino'
ORDER BY c.sez2011""")  # fmt: skip

    # -- heights, floors, years --------------------------------------------------------------------
    for (p, s), h in ((cr, 30), (ss, 30)):
        add("TO_A5_tall", "SIMPLE_SELECT", "INTERROGATIVE", "EASY", "low_frequent",
            ["building", "height"],
            f"Which buildings in {_ps(p, s)} are at least {h} metres tall? Show the 10 "
            "tallest",
            f"""
SELECT bp.building_id, bp.height, bp.type, bp.area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", p, s)}
  AND bp.height >= {h}
ORDER BY bp.height DESC
LIMIT 10""")  # fmt: skip
    add("TO_A5_floors", "SIMPLE_SELECT", "AGGREGATE", "EASY", "low_frequent",
        ["building", "floors"],
        f"Find buildings with at least 9 floors in {_ps(*cr)}, most floors first",
        f"""
SELECT bp.building_id, bp.type, bp.number_of_floors, bp.height, bp.area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *cr)}
  AND bp.number_of_floors >= 9
ORDER BY bp.number_of_floors DESC""")  # fmt: skip
    for (p, s), year in ((li, 2010), (ss, 2020)):
        add("TO_A5_recent", "SIMPLE_SELECT", "TEMPORAL", "EASY", "frequent",
            ["building", "construction_year"],
            f"Find buildings constructed since {year} in {_ps(p, s)}, newest first",
            f"""
SELECT bp.building_id, bp.type, bp.const_year, bp.height, bp.area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", p, s)}
  AND bp.const_year >= {year}
ORDER BY bp.const_year DESC""")  # fmt: skip
    add("TO_A5_period", "AGGREGATION", "TEMPORAL", "EASY", "low_frequent",
        ["building", "construction_period"],
        f"How many buildings of each ISTAT construction period are there in {_ps(*ss)}?",
        f"""
SELECT bp.const_period_census, COUNT(*) AS building_count, MIN(bp.const_year) AS oldest,
       MAX(bp.const_year) AS newest
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *ss)}
GROUP BY bp.const_period_census
ORDER BY oldest""")  # fmt: skip

    # -- distances to a point --------------------------------------------------------------------
    for (p, s), (lon, lat) in ((cr, L["pt_cr"]),):
        add("TO_A6_distance_point", "SPATIAL_MEASUREMENT", "ANALYTICAL", "EASY", "frequent",
            ["building", "distance", "point"],
            f"Calculate the distance in metres from the buildings of {_ps(p, s)} to the point "
            f"at longitude {lon} latitude {lat}, nearest 10 first",
            f"""
SELECT b.building_id,
       public.ST_Distance(b.building_geometry::geography, {_pt(lon, lat)}::geography) AS distance_m
{BJOIN}
WHERE {_in("bp", p, s)}
ORDER BY distance_m ASC
LIMIT 10""")  # fmt: skip
    lon, lat = L["pt_porta_nuova"]
    for radius in (250, 40):
        add("TO_A6_within_point", "SPATIAL_MEASUREMENT", "SPATIAL_SPECIFIC", "EASY", "frequent",
            ["building", "distance", "point"],
            f"Which residenziale buildings of {_ps(*ss)} lie within {radius} m of the point "
            f"at longitude {lon} latitude {lat}?",
            f"""
SELECT b.building_id, bp.height, bp.n_people
{BJOIN}
WHERE {_in("bp", *ss)}
  AND bp.type = 'residenziale'
  AND public.ST_DWithin(b.building_geometry::geography,
                        {_pt(lon, lat)}::geography, {radius})""")  # fmt: skip
    add("TO_A6_knn_bus", "SPATIAL_MEASUREMENT", "DIRECT", "EASY", "frequent",
        ["grid", "bus", "nearest"],
        f"Find the three grid buses of {_ps(*ss)} closest to the point at longitude "
        f"{L['pt_ss'][0]} latitude {L['pt_ss'][1]}",
        f"""
SELECT gb.bus_id, gb.bus_name, gb.voltage_kv,
       public.ST_Distance(gb.geometry::geography, {_pt(*L["pt_ss"])}::geography) AS distance_m
FROM cim_network.network_buses gb
WHERE {_in("gb", *ss)}
ORDER BY gb.geometry <-> {_pt(*L["pt_ss"])}
LIMIT 3""")  # fmt: skip

    # -- project boundary ------------------------------------------------------------------------
    for p, s in (ss, li):
        add("TO_A7_in_boundary", "MULTI_JOIN", "DIRECT", "EASY", "frequent",
            ["building", "project", "boundary"],
            f"Find buildings that intersect the boundary of {_ps(p, s)}, limit to 50 results",
            f"""
SELECT b.building_id, b.lod, bp.type, bp.height,
       public.ST_Area(b.building_geometry::geography) AS area_sqm
{BJOIN}
JOIN cim_vector.cim_wizard_project_scenario ps
  ON bp.project_id = ps.project_id AND bp.scenario_id = ps.scenario_id
WHERE {_in("ps", p, s)}
  AND public.ST_Intersects(b.building_geometry, ps.project_boundary)
LIMIT 50""")  # fmt: skip
    for p, s in (ss30,):
        add("TO_A7_project_summary", "SPATIAL_MEASUREMENT", "AGGREGATE", "EASY", "frequent",
            ["project", "summary"],
            f"Summarise {_ps(p, s)}: boundary area and number of buildings",
            f"""
SELECT ps.project_name, ps.scenario_name,
       public.ST_Area(ps.project_boundary::geography) AS boundary_area_sqm,
       (SELECT COUNT(*) FROM cim_vector.cim_wizard_building_properties bp
        WHERE bp.project_id = ps.project_id AND bp.scenario_id = ps.scenario_id) AS building_count
FROM cim_vector.cim_wizard_project_scenario ps
WHERE {_in("ps", p, s)}""")  # fmt: skip

    # -- counts and statistics by use ------------------------------------------------------------
    for p, s in (ss, cr, li):
        add("TO_A8_count_by_type", "AGGREGATION", "AGGREGATE", "EASY", "low_frequent",
            ["building", "type", "count"],
            f"Count buildings by use in {_ps(p, s)}, most common first",
            f"""
SELECT bp.type, COUNT(*) AS building_count
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", p, s)}
GROUP BY bp.type
ORDER BY building_count DESC""")  # fmt: skip
    add("TO_A8_area_by_type", "AGGREGATION", "ANALYTICAL", "EASY", "low_frequent",
        ["building", "type", "area"],
        f"Calculate total and average floor area by use for {_ps(*li)}, largest total first",
        f"""
SELECT bp.type, COUNT(*) AS building_count, SUM(bp.gross_floor_area) AS total_floor_area,
       AVG(bp.gross_floor_area) AS avg_floor_area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *li)}
GROUP BY bp.type
ORDER BY total_floor_area DESC""")  # fmt: skip
    add("TO_A8_stats_by_type", "AGGREGATION", "ANALYTICAL", "EASY", "low_frequent",
        ["building", "type", "statistics"],
        f"Calculate building statistics (count, average height, average footprint, "
        f"residents) by use for {_ps(*cr)}",
        f"""
SELECT bp.type AS building_type, COUNT(*) AS building_count, AVG(bp.height) AS avg_height,
       AVG(public.ST_Area(b.building_geometry::geography)) AS avg_footprint_sqm,
       SUM(bp.n_people) AS total_residents
FROM cim_vector.cim_wizard_building_properties bp
JOIN cim_vector.cim_wizard_building b ON bp.building_id = b.building_id AND bp.lod = b.lod
WHERE {_in("bp", *cr)}
GROUP BY bp.type
ORDER BY building_count DESC""")  # fmt: skip
    for p, s in (cr,):
        add("TO_A8_averages", "SIMPLE_SELECT", "ANALYTICAL", "EASY", "low_frequent",
            ["building", "statistics"],
            f"Calculate average building metrics (height, area, volume, floors) for {_ps(p, s)}",
            f"""
SELECT AVG(bp.height) AS avg_height, AVG(bp.area) AS avg_area, AVG(bp.volume) AS avg_volume,
       AVG(bp.number_of_floors) AS avg_floors, COUNT(*) AS total_buildings
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", p, s)}""")  # fmt: skip
    for (p, s), lo, hi in ((li, 3000, 8000),):
        add("TO_A8_area_between", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
            ["building", "area_filter"],
            f"Find buildings with a footprint between {lo} and {hi} square metres in "
            f"{_ps(p, s)}, largest first, limit to 25 results",
            f"""
SELECT bp.building_id, bp.type, bp.area, bp.height
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", p, s)}
  AND bp.area BETWEEN {lo} AND {hi}
ORDER BY bp.area DESC
LIMIT 25""")  # fmt: skip

    # -- residents ------------------------------------------------------------------------------
    add("TO_A9_people", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
        ["building", "population"],
        f"Find the 10 buildings with the most residents in {_ps(*ss)}",
        f"""
SELECT bp.building_id, bp.type, bp.n_people, bp.n_family, bp.area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *ss)}
  AND bp.n_people > 0
ORDER BY bp.n_people DESC
LIMIT 10""")  # fmt: skip
    add("TO_A9_people_missing", "SIMPLE_SELECT", "CONDITIONAL", "EASY", "low_frequent",
        ["building", "population", "data_quality"],
        f"Which residential buildings of {_ps(*cr)} have no resident estimate?",
        f"""
SELECT bp.building_id, bp.type, bp.gross_floor_area
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *cr)}
  AND bp.type IN ('residenziale', 'misto')
  AND bp.n_people IS NULL""")  # fmt: skip
    add("TO_A9_people_vs_census", "MULTI_JOIN", "ANALYTICAL", "HARD", "low_frequent",
        ["building", "census", "population"],
        f"Compare the residents estimated for the buildings of {_ps(*cr)} with the census "
        "population of their section",
        f"""
SELECT c.sez2011, c.p1 AS census_population, SUM(bp.n_people) AS estimated_residents,
       COUNT(*) AS buildings
FROM cim_vector.cim_wizard_building b
JOIN cim_vector.cim_wizard_building_properties bp ON bp.building_fk = b.id
JOIN cim_census.censusgeo c ON b.census_id = c.sez2011
WHERE {_in("bp", *cr)}
GROUP BY c.sez2011, c.p1
ORDER BY estimated_residents DESC""")  # fmt: skip

    # -- census and buildings ----------------------------------------------------------------------
    add("TO_B1_buildings_in_sections", "MULTI_JOIN", "SPATIAL_SPECIFIC", "MEDIUM", "frequent",
        ["building", "census", "containment"],
        f"Find buildings of {_ps(*li)} with the census section that contains their centroid, "
        "limit to 50 results",
        f"""
SELECT b.building_id, bp.type, bp.height, c.sez2011,
       public.ST_Area(b.building_geometry::geography) AS building_area_sqm
{BJOIN}
JOIN cim_census.censusgeo c ON public.ST_Within(public.ST_Centroid(b.building_geometry), c.geometry)
WHERE {_in("bp", *li)}
LIMIT 50""")  # fmt: skip
    add("TO_B1_sections_of_project", "SPATIAL_JOIN", "AGGREGATE", "EASY", "frequent",
        ["census", "project", "boundary"],
        f"Find census sections that intersect the boundary of {_ps(*ss)}, most populated first",
        f"""
SELECT c.sez2011, c.p1 AS total_population,
       public.ST_Area(c.geometry::geography) AS census_area_sqm
FROM cim_census.censusgeo c
JOIN cim_vector.cim_wizard_project_scenario ps
  ON public.ST_Intersects(c.geometry, ps.project_boundary)
WHERE {_in("ps", *ss)}
ORDER BY c.p1 DESC""")  # fmt: skip
    add("TO_B1_by_comune", "MULTI_JOIN", "AGGREGATE", "MEDIUM", "frequent",
        ["building", "census", "municipality"],
        f"Aggregate buildings (count, residents, average footprint) by municipality for "
        f"{_ps(*cr)}",
        f"""
SELECT cg.comune AS municipality, COUNT(b.building_id) AS buildings_count,
       SUM(bp.n_people) AS total_population, AVG(bp.area) AS avg_building_area
{BJOIN}
JOIN cim_census.censusgeo cg
  ON public.ST_Within(public.ST_Centroid(b.building_geometry), cg.geometry)
WHERE {_in("bp", *cr)}
GROUP BY cg.comune""")  # fmt: skip
    add("TO_B1_merge_sections", "NESTED_QUERY", "SPATIAL_SPECIFIC", "EASY", "frequent",
        ["census", "project", "union"],
        f"Merge the census sections intersecting the boundary of {_ps(*li)} into one area, "
        "with the number of sections and the total area",
        f"""
WITH project_census AS (
  SELECT ps.project_id, ps.scenario_id, ps.project_name, c.sez2011, c.geometry
  FROM cim_vector.cim_wizard_project_scenario ps
  JOIN cim_census.censusgeo c ON public.ST_Intersects(ps.project_boundary, c.geometry)
  WHERE {_in("ps", *li)}
)
SELECT project_id, scenario_id, project_name, COUNT(DISTINCT sez2011) AS census_zones_count,
       public.ST_Area(public.ST_Union(geometry)::geography) AS total_area_sqm
FROM project_census
GROUP BY project_id, scenario_id, project_name""")  # fmt: skip
    add("TO_B1_employment", "SIMPLE_SELECT", "ANALYTICAL", "EASY", "low_frequent",
        ["census", "employment"],
        "Analyse employment and unemployment across census sections with a labour force",
        """
SELECT COUNT(*) AS census_areas,
       AVG((c.p62::float / NULLIF(c.p60, 0)) * 100) AS avg_unemployment_rate,
       SUM(c.p61) AS total_employed
FROM cim_census.censusgeo c
WHERE c.p60 > 0""")  # fmt: skip
    add("TO_B1_aging", "NESTED_QUERY", "CONDITIONAL", "MEDIUM", "frequent",
        ["census", "demography", "classification"],
        "Classify census sections with at least 300 residents by aging ratio (residents 65+ "
        "per resident under 15) and count them per class",
        """
WITH indicators AS (
  SELECT c.sez2011, c.p1,
         (c.p27 + c.p28 + c.p29)::float / NULLIF(c.p14 + c.p15 + c.p16, 0) AS aging_ratio
  FROM cim_census.censusgeo c
  WHERE c.p1 >= 300
)
SELECT CASE WHEN aging_ratio > 2.0 THEN 'molto_anziana'
            WHEN aging_ratio > 1.5 THEN 'anziana'
            ELSE 'equilibrata' END AS aging_class,
       COUNT(*) AS sections, AVG(aging_ratio) AS avg_aging_ratio
FROM indicators
GROUP BY 1
ORDER BY avg_aging_ratio DESC""")  # fmt: skip
    add("TO_B1_old_buildings", "SIMPLE_SELECT", "TEMPORAL", "EASY", "low_frequent",
        ["census", "building_age"],
        "Which census sections have at least 10 residential buildings built before 1919?",
        """
SELECT c.sez2011, c.e8 AS buildings_before_1919, c.e3 AS residential_buildings
FROM cim_census.censusgeo c
WHERE c.e8 >= 10
ORDER BY c.e8 DESC""")  # fmt: skip

    # -- grid and buildings ----------------------------------------------------------------------
    for (p, s), use, kv, radius in ((ss, None, 20.0, 150), (li, "industriale", 220.0, 30)):
        use_sql = f"\n  AND bp.type = '{use}'" if use else ""
        what = f"{use} buildings" if use else "buildings"
        add("TO_C1_near_bus", "MULTI_JOIN", "SPATIAL_SPECIFIC", "MEDIUM", "frequent",
            ["building", "grid", "distance"],
            f"Find {what} in {_ps(p, s)} within {radius} m of an active {kv} kV bus of the "
            "same scenario, nearest first, limit to 25 results",
            f"""
SELECT b.building_id, bp.type, bp.height, gb.bus_name,
       public.ST_Distance(b.building_geometry::geography, gb.geometry::geography)
         AS distance_to_grid_m
{BJOIN}
JOIN cim_network.network_buses gb
  ON gb.project_id = bp.project_id AND gb.scenario_id = bp.scenario_id
WHERE {_in("bp", p, s)}{use_sql}
  AND gb.voltage_kv = {kv}
  AND gb.in_service = true
  AND public.ST_DWithin(b.building_geometry::geography, gb.geometry::geography, {radius})
ORDER BY distance_to_grid_m
LIMIT 25""")  # fmt: skip
    for (p, s), bid in ((li, L["b_li"]),):
        add("TO_C1_closest_bus", "MULTI_JOIN", "DIRECT", "EASY", "frequent",
            ["building", "grid", "nearest"],
            f"Find the closest active grid bus to building {bid} in {_ps(p, s)}",
            f"""
SELECT gb.bus_id, gb.bus_name, gb.voltage_kv,
       public.ST_Distance(public.ST_Centroid(b.building_geometry)::geography,
                          gb.geometry::geography) AS distance_m
{BJOIN}
JOIN cim_network.network_buses gb
  ON gb.project_id = bp.project_id AND gb.scenario_id = bp.scenario_id
WHERE b.building_id = '{bid}'
  AND {_in("bp", p, s)}
  AND gb.in_service = true
ORDER BY distance_m
LIMIT 1""")  # fmt: skip
    add("TO_C1_buses_per_section", "SPATIAL_JOIN", "AGGREGATE", "MEDIUM", "low_frequent",
        ["grid", "census"],
        f"Count the 0.4 kV buses of {_ps(*cr)} in each census section",
        f"""
SELECT c.sez2011, COUNT(gb.id) AS bt_buses
FROM cim_census.censusgeo c
JOIN cim_network.network_buses gb ON public.ST_Contains(c.geometry, gb.geometry)
WHERE {_in("gb", *cr)}
  AND gb.voltage_kv = 0.4
GROUP BY c.sez2011
ORDER BY bt_buses DESC""")  # fmt: skip

    # -- grid lines ------------------------------------------------------------------------------
    add("TO_C2_connectivity", "MULTI_JOIN", "ANALYTICAL", "EASY", "low_frequent",
        ["grid", "line", "bus"],
        f"List the lines in service in {_ps(*li)} with the names of the buses they connect, "
        "longest first",
        f"""
SELECT gl.line_id, gl.line_name, gl.length_km, gb1.bus_name AS from_bus_name,
       gb2.bus_name AS to_bus_name, gb1.voltage_kv
FROM cim_network.network_lines gl
JOIN cim_network.network_buses gb1 ON gl.project_id = gb1.project_id
  AND gl.scenario_id = gb1.scenario_id AND gl.from_bus_id = gb1.bus_id
JOIN cim_network.network_buses gb2 ON gl.project_id = gb2.project_id
  AND gl.scenario_id = gb2.scenario_id AND gl.to_bus_id = gb2.bus_id
WHERE {_in("gl", *li)}
  AND gl.in_service = true
ORDER BY gl.length_km DESC
LIMIT 20""")  # fmt: skip
    add("TO_C2_open_points", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
        ["grid", "line", "status"],
        "Which grid lines are out of service, in every scenario?",
        """
SELECT gl.project_id, gl.scenario_id, gl.line_id, gl.line_name, gl.std_type
FROM cim_network.network_lines gl
WHERE gl.in_service = false
ORDER BY gl.project_id, gl.scenario_id, gl.line_id""")  # fmt: skip
    for loading in (100, 120):
        add("TO_C2_overloaded", "SIMPLE_SELECT", "CONDITIONAL", "EASY", "low_frequent",
            ["grid", "line", "loading"],
            f"Find grid lines loaded above {loading} percent of their capacity",
            f"""
SELECT gl.network_id, gl.line_id, gl.line_name, gl.max_loading_percent
FROM cim_network.network_lines gl
WHERE gl.max_loading_percent > {loading}
ORDER BY gl.max_loading_percent DESC""")  # fmt: skip
    for km in (1.5, 5):
        add("TO_C2_long_lines", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
            ["grid", "line", "length"],
            f"List grid lines longer than {km} km",
            f"""
SELECT gl.network_id, gl.line_name, gl.length_km,
       public.ST_Length(gl.geometry::geography) / 1000 AS measured_km
FROM cim_network.network_lines gl
WHERE gl.length_km > {km}""")  # fmt: skip
    add("TO_C2_length_by_voltage", "AGGREGATION", "AGGREGATE", "MEDIUM", "low_frequent",
        ["grid", "line", "voltage"],
        f"Total line length per voltage level in {_ps(*ss)}",
        f"""
SELECT gb.voltage_kv, COUNT(*) AS lines, SUM(gl.length_km) AS total_km
FROM cim_network.network_lines gl
JOIN cim_network.network_buses gb ON gl.project_id = gb.project_id
  AND gl.scenario_id = gb.scenario_id AND gl.from_bus_id = gb.bus_id
WHERE {_in("gl", *ss)}
GROUP BY gb.voltage_kv
ORDER BY gb.voltage_kv DESC""")  # fmt: skip
    add("TO_C2_buses_by_zone", "AGGREGATION", "AGGREGATE", "EASY", "low_frequent",
        ["grid", "bus", "zone"],
        "How many buses per voltage zone does each project scenario's network have?",
        """
SELECT ps.project_name, ps.scenario_name, gb.zone, COUNT(*) AS buses
FROM cim_network.network_buses gb
JOIN cim_vector.cim_wizard_project_scenario ps
  ON gb.project_id = ps.project_id AND gb.scenario_id = ps.scenario_id
GROUP BY ps.project_name, ps.scenario_name, gb.zone
ORDER BY ps.project_name, ps.scenario_name, gb.zone""")  # fmt: skip
    add("TO_C2_buses_down", "SIMPLE_SELECT", "DIRECT", "EASY", "low_frequent",
        ["grid", "bus", "status"],
        "Which grid buses are out of service?",
        """
SELECT gb.network_id, gb.bus_id, gb.bus_name, gb.voltage_kv
FROM cim_network.network_buses gb
WHERE gb.in_service = false""")  # fmt: skip

    # -- nested queries on buildings -------------------------------------------------------------
    add("TO_D1_buffers", "NESTED_QUERY", "ANALYTICAL", "EASY", "frequent",
        ["building", "buffer"],
        f"Create 25 metre buffers around the commerciale buildings of {_ps(*ss)} and report "
        "the buffer areas, largest first",
        f"""
WITH buffered AS (
  SELECT b.building_id, bp.type,
         public.ST_Buffer(b.building_geometry::geography, 25) AS buffer_geog
  {BJOIN}
  WHERE {_in("bp", *ss)}
    AND bp.type = 'commerciale'
)
SELECT building_id, type, public.ST_Area(buffer_geog) AS buffer_area_sqm
FROM buffered
ORDER BY buffer_area_sqm DESC""")  # fmt: skip
    add("TO_D1_height_classes", "NESTED_QUERY", "ANALYTICAL", "MEDIUM", "frequent",
        ["building", "height", "classification"],
        f"Classify the buildings of {_ps(*ss)} as alto (> 20 m), medio (> 12 m) or basso and "
        "report count, average height and residents per use and class",
        f"""
WITH building_metrics AS (
  SELECT b.building_id, bp.type, bp.height, bp.n_people,
         CASE WHEN bp.height > 20 THEN 'alto'
              WHEN bp.height > 12 THEN 'medio'
              ELSE 'basso' END AS height_class
  {BJOIN}
  WHERE {_in("bp", *ss)}
)
SELECT type, height_class, COUNT(*) AS building_count,
       ROUND(AVG(height)::numeric, 1) AS avg_height_m, SUM(n_people) AS residents
FROM building_metrics
GROUP BY type, height_class
ORDER BY building_count DESC""")  # fmt: skip
    add("TO_D1_rank_height", "NESTED_QUERY", "ANALYTICAL", "MEDIUM", "low_frequent",
        ["building", "height", "window"],
        f"Show the three tallest buildings of each use in {_ps(*cr)}",
        f"""
WITH ranked AS (
  SELECT bp.building_id, bp.type, bp.height,
         ROW_NUMBER() OVER (PARTITION BY bp.type ORDER BY bp.height DESC) AS height_rank
  FROM cim_vector.cim_wizard_building_properties bp
  WHERE {_in("bp", *cr)}
)
SELECT type, height_rank, building_id, height
FROM ranked
WHERE height_rank <= 3
ORDER BY type, height_rank""")  # fmt: skip
    add("TO_D1_neighbours", "MULTI_JOIN", "SPATIAL_SPECIFIC", "EASY", "frequent",
        ["building", "nearest"],
        f"Find the 10 buildings nearest to building {L['b_cr']} within 200 metres in "
        f"{_ps(*cr)}, by centroid distance",
        f"""
SELECT b1.building_id, bp1.type, bp1.height,
       public.ST_Distance(public.ST_Centroid(b1.building_geometry)::geography,
                          public.ST_Centroid(b2.building_geometry)::geography) AS distance_m
FROM cim_vector.cim_wizard_building b1
JOIN cim_vector.cim_wizard_building_properties bp1
  ON b1.building_id = bp1.building_id AND b1.lod = bp1.lod
CROSS JOIN cim_vector.cim_wizard_building b2
WHERE {_in("bp1", *cr)}
  AND b2.building_id = '{L["b_cr"]}'
  AND b1.building_id <> b2.building_id
  AND public.ST_DWithin(b1.building_geometry::geography, b2.building_geometry::geography, 200)
ORDER BY distance_m
LIMIT 10""")  # fmt: skip
    add("TO_D1_project_overlap", "NESTED_QUERY", "DIRECT", "MEDIUM", "frequent",
        ["project", "overlap"],
        "Find pairs of different projects whose boundaries overlap by at least 3 percent of "
        "the first project's area",
        """
WITH project_overlaps AS (
  SELECT p1.project_id AS project1_id, p1.project_name AS project1_name,
         p2.project_id AS project2_id, p2.project_name AS project2_name,
         public.ST_Area(p1.project_boundary::geography) AS project1_area,
         public.ST_Area(public.ST_Intersection(p1.project_boundary,
                                               p2.project_boundary)::geography) AS overlap_area
  FROM cim_vector.cim_wizard_project_scenario p1
  JOIN cim_vector.cim_wizard_project_scenario p2
    ON p1.project_id < p2.project_id
   AND public.ST_Intersects(p1.project_boundary, p2.project_boundary)
)
SELECT DISTINCT project1_name, project2_name, ROUND(overlap_area::numeric) AS overlap_sqm,
       ROUND((100 * overlap_area / project1_area)::numeric, 1) AS overlap_percent
FROM project_overlaps
WHERE overlap_area / project1_area >= 0.03""")  # fmt: skip
    add("TO_D1_shared_buildings", "MULTI_JOIN", "INTERROGATIVE", "MEDIUM", "low_frequent",
        ["building", "project"],
        f"Which buildings have properties in both {_ps(*ss)} and {_ps(*cr)}?",
        f"""
SELECT a.building_id, a.type, a.height
FROM cim_vector.cim_wizard_building_properties a
JOIN cim_vector.cim_wizard_building_properties o ON o.building_fk = a.building_fk
WHERE {_in("a", *ss)}
  AND {_in("o", *cr)}""")  # fmt: skip
    add("TO_D1_scenario_hvac", "MULTI_JOIN", "ANALYTICAL", "MEDIUM", "frequent",
        ["scenario", "comparison", "hvac"],
        f"Compare heating systems between scenario {ss[1]} and scenario {ss30[1]} of project "
        f"{ss[0]}: how many buildings change from each system to each other?",
        f"""
SELECT base.hvac_type AS hvac_2023, future.hvac_type AS hvac_2030, COUNT(*) AS buildings
FROM cim_vector.cim_wizard_building_properties base
JOIN cim_vector.cim_wizard_building_properties future
  ON future.building_id = base.building_id AND future.lod = base.lod
WHERE {_in("base", *ss)}
  AND {_in("future", *ss30)}
  AND base.hvac_type <> future.hvac_type
GROUP BY base.hvac_type, future.hvac_type
ORDER BY buildings DESC""")  # fmt: skip
    add("TO_D1_district_heating", "AGGREGATION", "ANALYTICAL", "MEDIUM", "low_frequent",
        ["hvac", "project"],
        "What share of the buildings of each project scenario is on district heating?",
        """
SELECT ps.project_name, ps.scenario_name, COUNT(*) AS buildings,
       COUNT(*) FILTER (WHERE bp.hvac_type = 'teleriscaldamento') AS district_heating,
       ROUND(100.0 * COUNT(*) FILTER (WHERE bp.hvac_type = 'teleriscaldamento') / COUNT(*), 1)
         AS share_percent
FROM cim_vector.cim_wizard_building_properties bp
JOIN cim_vector.cim_wizard_project_scenario ps
  ON bp.project_id = ps.project_id AND bp.scenario_id = ps.scenario_id
GROUP BY ps.project_name, ps.scenario_name
ORDER BY share_percent DESC""")  # fmt: skip
    add("TO_D1_energy_class", "SIMPLE_SELECT", "CONDITIONAL", "EASY", "low_frequent",
        ["building", "energy_class", "json"],
        f"List the buildings of {_ps(*ss)} in energy class G",
        f"""
SELECT bp.building_id, bp.type, bp.const_year
FROM cim_vector.cim_wizard_building_properties bp
WHERE {_in("bp", *ss)}
  AND bp.extra_prop ->> 'classe_energetica' = 'G'""")  # fmt: skip
    add("TO_D1_building_lookup", "SIMPLE_SELECT", "DIRECT", "EASY", "frequent",
        ["building", "lookup"],
        f"Show the properties of building {L['b_hill']} in {_ps(*ss)}",
        f"""
SELECT bp.building_id, bp.type, bp.height, bp.const_year, bp.hvac_type
FROM cim_vector.cim_wizard_building_properties bp
WHERE bp.building_id = '{L["b_hill"]}'
  AND {_in("bp", *ss)}""")  # fmt: skip

    # -- geometry of buildings ----------------------------------------------------------------
    add("TO_E1_without_properties", "MULTI_JOIN", "CONDITIONAL", "MEDIUM", "low_frequent",
        ["building", "data_quality"],
        "How many buildings have no properties in any scenario, by geometry source?",
        """
SELECT b.building_geometry_source, COUNT(*) AS buildings
FROM cim_vector.cim_wizard_building b
LEFT JOIN cim_vector.cim_wizard_building_properties bp ON bp.building_fk = b.id
WHERE bp.id IS NULL
GROUP BY b.building_geometry_source
ORDER BY buildings DESC""")  # fmt: skip
    add("TO_E1_sources", "AGGREGATION", "AGGREGATE", "EASY", "low_frequent",
        ["building", "source"],
        "Count buildings and their level of detail per geometry source",
        """
SELECT b.building_geometry_source, b.lod, COUNT(*) AS buildings
FROM cim_vector.cim_wizard_building b
GROUP BY b.building_geometry_source, b.lod
ORDER BY b.building_geometry_source, b.lod""")  # fmt: skip
    add("TO_E1_multipart", "SIMPLE_SELECT", "SPATIAL_SPECIFIC", "EASY", "low_frequent",
        ["building", "geometry"],
        "Which building footprints are made of more than one part?",
        """
SELECT b.building_id, public.ST_NumGeometries(b.building_geometry) AS parts,
       public.ST_Area(b.building_geometry::geography) AS area_sqm
FROM cim_vector.cim_wizard_building b
WHERE public.ST_NumGeometries(b.building_geometry) > 1""")  # fmt: skip
    add("TO_E1_courtyards", "SIMPLE_SELECT", "SPATIAL_SPECIFIC", "EASY", "low_frequent",
        ["building", "geometry"],
        f"Which buildings of {_ps(*ss)} enclose a courtyard?",
        f"""
SELECT b.building_id, bp.type, public.ST_NumInteriorRings(b.building_geometry) AS courtyards
{BJOIN}
WHERE {_in("bp", *ss)}
  AND public.ST_NumInteriorRings(b.building_geometry) > 0""")  # fmt: skip
    add("TO_E1_clusters", "SPATIAL_CLUSTERING", "AGGREGATE", "MEDIUM", "frequent",
        ["building", "clustering", "dbscan"],
        f"Cluster the buildings of {_ps(*cr)} by use with DBSCAN (60 m, at least 4 "
        "buildings) and report clusters of at least 4 buildings with their residents",
        f"""
WITH spatial_clusters AS (
  SELECT b.building_id, bp.type, bp.n_people,
         public.ST_ClusterDBSCAN(
           public.ST_Transform(public.ST_Centroid(b.building_geometry), 32632),
           eps := 60, minpoints := 4) OVER (PARTITION BY bp.type) AS cluster_id
  {BJOIN}
  WHERE {_in("bp", *cr)}
)
SELECT cluster_id, type, COUNT(*) AS building_count, SUM(n_people) AS total_residents
FROM spatial_clusters
WHERE cluster_id IS NOT NULL
GROUP BY cluster_id, type
HAVING COUNT(*) >= 4
ORDER BY total_residents DESC""")  # fmt: skip
    add("TO_E1_kmeans", "SPATIAL_CLUSTERING", "ANALYTICAL", "MEDIUM", "low_frequent",
        ["building", "clustering", "kmeans"],
        f"Group the buildings of {_ps(*li)} into 5 spatial clusters with k-means and report "
        "the size and floor area of each",
        f"""
WITH clustered AS (
  SELECT bp.building_id, bp.gross_floor_area,
         public.ST_ClusterKMeans(public.ST_Centroid(b.building_geometry), 5) OVER () AS cluster_id
  {BJOIN}
  WHERE {_in("bp", *li)}
)
SELECT cluster_id, COUNT(*) AS buildings, SUM(gross_floor_area) AS floor_area
FROM clustered
GROUP BY cluster_id
ORDER BY cluster_id""")  # fmt: skip
    add("TO_E1_census_grid", "NESTED_QUERY", "AGGREGATE", "HARD", "frequent",
        ["building", "census", "grid"],
        f"For buildings of {_ps(*ss)} lying mostly (> 50 %) in one census section, average "
        "the height and the distance to the nearest active bus of the scenario, per use with "
        "at least 5 buildings",
        f"""
WITH overlay AS (
  SELECT b.id, b.building_geometry, bp.type, bp.height, c.sez2011
  {BJOIN}
  JOIN cim_census.censusgeo c ON public.ST_Intersects(b.building_geometry, c.geometry)
  WHERE {_in("bp", *ss)}
    AND public.ST_Area(public.ST_Intersection(b.building_geometry, c.geometry))
        / public.ST_Area(b.building_geometry) > 0.5
),
proximity AS (
  SELECT o.id, o.type, o.height,
         MIN(public.ST_Distance(o.building_geometry::geography, gb.geometry::geography))
           AS min_grid_distance
  FROM overlay o
  JOIN cim_network.network_buses gb
    ON gb.project_id = '{ss[0]}' AND gb.scenario_id = '{ss[1]}' AND gb.in_service = true
  GROUP BY o.id, o.type, o.height
)
SELECT type, COUNT(*) AS building_count, AVG(height) AS avg_height,
       AVG(min_grid_distance) AS avg_grid_distance_m
FROM proximity
GROUP BY type
HAVING COUNT(*) >= 5
ORDER BY building_count DESC""")  # fmt: skip

    # -- rasters ---------------------------------------------------------------------------------
    add("TO_F1_raster_summary", "RASTER_VECTOR", "ANALYTICAL", "EASY", "frequent",
        ["raster", "dtm", "dsm"],
        "Calculate the average elevation and the number of tiles of the DTM and of the DSM",
        """
SELECT 'DTM' AS raster_type, AVG((public.ST_SummaryStats(rast)).mean) AS avg_elevation,
       COUNT(*) AS tile_count
FROM cim_raster.dtm
UNION ALL
SELECT 'DSM' AS raster_type, AVG((public.ST_SummaryStats(rast)).mean) AS avg_elevation,
       COUNT(*) AS tile_count
FROM cim_raster.dsm_sansalva""")  # fmt: skip
    for (p, s), use in ((ss, "commerciale"), (li, "industriale")):
        add("TO_F1_values_at_centroids", "RASTER_VECTOR", "INTERROGATIVE", "MEDIUM", "frequent",
            ["raster", "building", "elevation"],
            f"Extract DTM and DSM elevations at the centroids of the {use} buildings of "
            f"{_ps(p, s)}, limit to 50 results",
            f"""
SELECT b.building_id, bp.height AS declared_height,
       public.ST_Value(dtm.rast, public.ST_Centroid(b.building_geometry)) AS ground_elevation,
       public.ST_Value(dsm.rast, public.ST_Centroid(b.building_geometry)) AS surface_elevation
{BJOIN}
JOIN cim_raster.dtm dtm
  ON public.ST_Intersects(dtm.rast, public.ST_Centroid(b.building_geometry))
JOIN cim_raster.dsm_sansalva dsm
  ON public.ST_Intersects(dsm.rast, public.ST_Centroid(b.building_geometry))
WHERE {_in("bp", p, s)}
  AND bp.type = '{use}'
LIMIT 50""")  # fmt: skip
    add("TO_F1_clip_dtm", "RASTER_VECTOR", "AGGREGATE", "MEDIUM", "frequent",
        ["raster", "building", "clip"],
        f"Clip the DTM by the footprint of building {L['b_li']} in {_ps(*li)} and give its "
        "average ground elevation",
        f"""
WITH building_geom AS (
  SELECT b.building_id, bp.type, b.building_geometry
  {BJOIN}
  WHERE b.building_id = '{L["b_li"]}'
    AND {_in("bp", *li)}
)
SELECT bg.building_id, bg.type,
       (public.ST_SummaryStats(public.ST_Clip(dtm.rast, bg.building_geometry, true))).mean
         AS avg_ground_elevation
FROM building_geom bg
JOIN cim_raster.dtm dtm ON public.ST_Intersects(dtm.rast, bg.building_geometry)""")  # fmt: skip
    add("TO_F1_height_check", "RASTER_VECTOR", "ANALYTICAL", "MEDIUM", "low_frequent",
        ["raster", "building", "height"],
        f"Compare the declared height of building {L['b_ss']} in {_ps(*ss)} with DSM minus "
        "DTM at a point inside its footprint",
        f"""
SELECT b.building_id, bp.height AS declared_height,
       public.ST_Value(dsm.rast, public.ST_PointOnSurface(b.building_geometry))
       - public.ST_Value(dtm.rast, public.ST_PointOnSurface(b.building_geometry)) AS raster_height
{BJOIN}
JOIN cim_raster.dtm dtm
  ON public.ST_Intersects(dtm.rast, public.ST_PointOnSurface(b.building_geometry))
JOIN cim_raster.dsm_sansalva dsm
  ON public.ST_Intersects(dsm.rast, public.ST_PointOnSurface(b.building_geometry))
WHERE b.building_id = '{L["b_ss"]}'
  AND {_in("bp", *ss)}""")  # fmt: skip
    add("TO_F1_high_ground", "RASTER_VECTOR", "SPATIAL_SPECIFIC", "MEDIUM", "low_frequent",
        ["raster", "bus", "elevation"],
        "Which active grid buses stand on ground higher than 235 m according to the DTM?",
        """
SELECT gb.network_id, gb.bus_name, public.ST_Value(dtm.rast, gb.geometry) AS ground_elevation
FROM cim_network.network_buses gb
JOIN cim_raster.dtm dtm ON public.ST_Intersects(dtm.rast, gb.geometry)
WHERE gb.in_service = true
  AND public.ST_Value(dtm.rast, gb.geometry) > 235
ORDER BY ground_elevation DESC""")  # fmt: skip
    return out
