"""Everyday templates: look-ups, measurements, simple aggregates and spatial joins.

The questions are what a city planner or energy analyst asks about one project scenario;
the SQL keeps measurements metric (``::geography`` or UTM 32N, EPSG:32632).
"""

from __future__ import annotations

import random

from cimgen.corpus.params import (
    above,
    below,
    envelope,
    limit,
    network_label,
    of_type,
    pick_scenario,
    pick_type,
    point_near,
    year_range,
)
from cimgen.corpus.pools import Pools
from cimgen.corpus.templates import Ident, Params, Template, Text, nice, quantile

T = Template
_DIR = (Ident("DESC", "largest first"), Ident("ASC", "smallest first"))


# ----------------------------------------------------------------- SIMPLE_SELECT


def _tall(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    p["btype"] = pick_type(rows, rng)
    p["min_height"] = above([b.height for b in of_type(rows, p["btype"])], rng)
    return p


S01 = T(
    "CIM_S01_buildings_taller_than",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("building_properties", "height_filter", "type_filter"),
    """SELECT bp.building_id, bp.type, bp.height, bp.number_of_floors
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
  AND bp.height > {min_height}
ORDER BY bp.height DESC;""",
    {
        "DIRECT": (
            "List the {btype} buildings in the {project_label} {scenario_label} scenario "
            "that are taller than {min_height} m.",
            "Show {btype} buildings higher than {min_height} meters in the "
            "{project_label} project ({scenario_label} scenario), tallest first.",
        ),
        "INTERROGATIVE": (
            "Which {btype} buildings in the {project_label} {scenario_label} "
            "scenario are taller than {min_height} m?",
        ),
        "CONDITIONAL": (
            "If we only keep {btype} buildings above {min_height} m, which ones "
            "remain in the {project_label} {scenario_label} scenario?",
        ),
        "TEMPORAL": (
            "In the {year} {project_label} plan ({scenario_label} scenario), which "
            "{btype} buildings exceed {min_height} m in height?",
        ),
    },
    _tall,
    1.3,
)


def _one_building(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["building"] = rng.choice(pools.buildings[ps.key]).building_id
    return p


S02 = T(
    "CIM_S02_building_profile",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("building_properties", "id_lookup"),
    """SELECT bp.building_id, bp.type, bp.height, bp.area, bp.volume, bp.number_of_floors,
       bp.const_year, bp.n_people, bp.n_family, bp.hvac_type
FROM cim_vector.building_properties bp
WHERE bp.building_id = {building}
  AND bp.project_id = {project}
  AND bp.scenario_id = {scenario};""",
    {
        "DIRECT": (
            "Show the properties of building {building} in the {project_label} "
            "{scenario_label} scenario.",
            "Get height, floor area, volume and occupants of building {building} "
            "({project_label}, {scenario_label}).",
        ),
        "INTERROGATIVE": (
            "What are the height, area and number of residents of building "
            "{building} in the {project_label} {scenario_label} scenario?",
        ),
        "TEMPORAL": (
            "When was building {building} built, and what are its current properties "
            "in the {project_label} {scenario_label} scenario?",
        ),
    },
    _one_building,
    1.0,
)


def _period(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    p["y_from"], p["y_to"] = year_range([b.const_year for b in rows], rng)
    p["limit"] = limit(rng)
    return p


S03 = T(
    "CIM_S03_buildings_by_construction_year",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("building_properties", "year_filter", "temporal"),
    """SELECT bp.building_id, bp.type, bp.const_year, bp.const_period_census, bp.height
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.const_year BETWEEN {y_from} AND {y_to}
ORDER BY bp.const_year, bp.building_id
LIMIT {limit};""",
    {
        "DIRECT": (
            "List up to {limit} buildings built between {y_from} and {y_to} in the "
            "{project_label} {scenario_label} scenario, oldest first.",
        ),
        "TEMPORAL": (
            "Which buildings of the {project_label} {scenario_label} scenario were "
            "constructed from {y_from} to {y_to}? Show the first {limit}.",
            "Show the first {limit} buildings dating from {y_from}-{y_to} in "
            "{project_label} ({scenario_label}).",
        ),
        "INTERROGATIVE": (
            "Which buildings in {project_label} ({scenario_label}) date from {y_from} to {y_to}?",
        ),
    },
    _period,
    1.2,
)


def _hvac(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = [b for b in pools.buildings[ps.key] if b.hvac_type]
    p["hvac"] = rng.choice(sorted({b.hvac_type for b in rows}))
    p["hvac_text"] = Text(p["hvac"].replace("_", " "))
    p["limit"] = limit(rng)
    return p


S04 = T(
    "CIM_S04_buildings_by_hvac",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("building_properties", "energy", "hvac"),
    """SELECT bp.building_id, bp.type, bp.gross_floor_area, bp.heating, bp.cooling
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.hvac_type = {hvac}
ORDER BY bp.gross_floor_area DESC
LIMIT {limit};""",
    {
        "DIRECT": (
            "Find the {limit} largest buildings (by gross floor area) heated with a "
            "{hvac_text} in the {project_label} {scenario_label} scenario.",
        ),
        "INTERROGATIVE": (
            "Which buildings use a {hvac_text} system in {project_label} "
            "({scenario_label})? Give the {limit} with the most floor area.",
        ),
        "CONDITIONAL": (
            "For buildings whose HVAC type is {hvac_text}, list the top {limit} by "
            "gross floor area in the {project_label} {scenario_label} scenario.",
        ),
        "ANALYTICAL": (
            "Identify the {limit} biggest {hvac_text} buildings in the "
            "{project_label} {scenario_label} scenario as retrofit candidates.",
        ),
    },
    _hvac,
    1.0,
)


def _project(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    return p


S05 = T(
    "CIM_S05_project_scenarios",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("project_scenario", "metadata"),
    """SELECT ps.scenario_id, ps.scenario_name, ps.project_name, ps.project_zoom,
       ST_AsText(ps.project_center) AS center_wkt
FROM cim_vector.project_scenario ps
WHERE ps.project_id = {project}
ORDER BY ps.scenario_id;""",
    {
        "DIRECT": (
            "List the scenarios of the {project_label} project with their names and map centre.",
        ),
        "INTERROGATIVE": ("What scenarios exist for the {project_label} project?",),
        "TEMPORAL": ("Which scenarios were defined for the {year} {project_label} project?",),
    },
    _project,
    0.4,
)


def _census_pop(pools: Pools, rng: random.Random) -> Params:
    return {"min_pop": above([c.p1 for c in pools.census], rng, 0.5, 0.9), "limit": limit(rng)}


S06 = T(
    "CIM_S06_populous_census_sections",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("census_geo", "population"),
    """SELECT c.sez2011, c.p1 AS total_population, c.p2 AS males, c.p3 AS females,
       c.pf1 AS families
FROM cim_census.census_geo c
WHERE c.p1 >= {min_pop}
ORDER BY c.p1 DESC
LIMIT {limit};""",
    {
        "DIRECT": (
            "List the {limit} most populated census sections with at least {min_pop} residents.",
        ),
        "INTERROGATIVE": (
            "Which census sections have {min_pop} or more inhabitants? Show the top {limit}.",
        ),
        "AGGREGATE": (
            "Show population, male/female split and families for the {limit} "
            "largest census sections above {min_pop} residents.",
        ),
        "ANALYTICAL": (
            "Analyse the gender balance of census sections with at least {min_pop} "
            "residents (top {limit} by population).",
        ),
    },
    _census_pop,
    1.0,
)


def _bus_voltage(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "buses")
    p["kv"] = rng.choice(sorted({b.voltage_kv for b in pools.buses[ps.key]}))
    return p


S07 = T(
    "CIM_S07_buses_by_voltage",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("grid_bus", "grid", "voltage_filter"),
    """SELECT gb.bus_id, gb.name, gb.zone, gb.in_service,
       ST_X(gb.geometry) AS lon, ST_Y(gb.geometry) AS lat
FROM cim_vector.grid_bus gb
WHERE gb.project_id = {project}
  AND gb.scenario_id = {scenario}
  AND gb.voltage_kv = {kv}
ORDER BY gb.bus_id;""",
    {
        "DIRECT": (
            "List the {kv} kV grid buses of the {project_label} {scenario_label} "
            "scenario with their coordinates.",
        ),
        "INTERROGATIVE": (
            "Where are the {kv} kV buses in the {project_label} {scenario_label} grid?",
        ),
        "SPATIAL_SPECIFIC": (
            "Give longitude and latitude of every {kv} kV bus in the "
            "{project_label} {scenario_label} network.",
        ),
    },
    _bus_voltage,
    0.9,
)


def _loaded_lines(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    p["min_load"] = above([x.max_loading_percent for x in pools.lines[ps.key]], rng, 0.5, 0.9)
    return p


S08 = T(
    "CIM_S08_heavily_loaded_lines",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("grid_line", "grid", "loading"),
    """SELECT gl.line_id, gl.name, gl.from_bus, gl.to_bus, gl.length_km, gl.max_loading_percent
FROM cim_vector.grid_line gl
WHERE gl.project_id = {project}
  AND gl.scenario_id = {scenario}
  AND gl.max_loading_percent > {min_load}
ORDER BY gl.max_loading_percent DESC;""",
    {
        "DIRECT": (
            "List grid lines loaded above {min_load}% in the {project_label} "
            "{scenario_label} scenario.",
        ),
        "INTERROGATIVE": (
            "Which lines of the {project_label} {scenario_label} grid exceed {min_load}% loading?",
        ),
        "CONDITIONAL": (
            "If the loading limit is {min_load}%, which lines of the "
            "{project_label} {scenario_label} network are over it?",
        ),
        "ANALYTICAL": (
            "Identify congested feeders (loading over {min_load}%) in the "
            "{project_label} {scenario_label} scenario.",
        ),
    },
    _loaded_lines,
    1.0,
)


def _low_conf(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "cache")
    p["max_conf"] = below([c.confidence_score for c in pools.cache[ps.key]], rng)
    return p


S09 = T(
    "CIM_S09_low_confidence_heights",
    "SIMPLE_SELECT",
    "EASY",
    "low_frequent",
    ("building_height_cache", "data_quality"),
    """SELECT hc.building_id, hc.building_height, hc.confidence_score, hc.coverage_percentage
FROM cim_raster.building_height_cache hc
WHERE hc.project_id = {project}
  AND hc.scenario_id = {scenario}
  AND hc.confidence_score < {max_conf}
ORDER BY hc.confidence_score;""",
    {
        "DIRECT": (
            "List cached building heights with confidence below {max_conf} in the "
            "{project_label} {scenario_label} scenario.",
        ),
        "INTERROGATIVE": (
            "Which raster-derived building heights in {project_label} "
            "({scenario_label}) have a confidence score under {max_conf}?",
        ),
        "CONDITIONAL": (
            "If we distrust height estimates below {max_conf} confidence, which "
            "buildings of {project_label} ({scenario_label}) need a re-check?",
        ),
    },
    _low_conf,
    0.8,
)


def _tiles(pools: Pools, rng: random.Random) -> Params:
    return {"min_elev": below([r.max_elevation for r in pools.dtm], rng, 0.3, 0.7)}


S10 = T(
    "CIM_S10_dtm_tiles_by_elevation",
    "SIMPLE_SELECT",
    "EASY",
    "low_frequent",
    ("dtm_raster", "raster", "metadata"),
    """SELECT d.filename, d.min_elevation, d.max_elevation,
       ST_Width(d.rast) AS width_px, ST_Height(d.rast) AS height_px
FROM cim_raster.dtm_raster d
WHERE d.max_elevation > {min_elev}
ORDER BY d.max_elevation DESC;""",
    {
        "DIRECT": (
            "List DTM tiles whose maximum ground elevation exceeds {min_elev} m, with "
            "their size in pixels.",
        ),
        "INTERROGATIVE": ("Which terrain model tiles reach above {min_elev} m?",),
        "CONDITIONAL": (
            "If we only need terrain above {min_elev} m, which DTM tiles should we load?",
        ),
    },
    _tiles,
    0.5,
)


def _rtype(pools: Pools, rng: random.Random) -> Params:
    return {"rtype": rng.choice(pools.raster_types)}


S11 = T(
    "CIM_S11_raster_catalogue",
    "SIMPLE_SELECT",
    "EASY",
    "low_frequent",
    ("raster_model", "raster", "metadata"),
    """SELECT rm.filename, rm.srid, rm.width, rm.height,
       ST_PixelWidth(rm.rast) AS pixel_size, ST_NumBands(rm.rast) AS bands,
       ST_UpperLeftX(rm.rast) AS origin_x, ST_UpperLeftY(rm.rast) AS origin_y
FROM cim_raster.raster_model rm
WHERE rm.raster_type = {rtype}
ORDER BY rm.filename;""",
    {
        "DIRECT": ("List the {rtype} rasters in the catalogue with resolution, bands and origin.",),
        "INTERROGATIVE": ("What {rtype} raster datasets are stored and at what pixel size?",),
        "TEMPORAL": (
            "Which {rtype} rasters have been uploaded so far, and with which resolution?",
        ),
    },
    _rtype,
    0.4,
)


def _geojson(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["building"] = rng.choice(pools.buildings[ps.key]).building_id
    return p


S12 = T(
    "CIM_S12_building_geojson",
    "SIMPLE_SELECT",
    "EASY",
    "frequent",
    ("building", "export", "geometry"),
    """SELECT b.building_id, b.lod, ST_GeometryType(b.building_geometry) AS geom_type,
       ST_NumGeometries(b.building_geometry) AS parts,
       ST_AsGeoJSON(b.building_geometry) AS geojson
FROM cim_vector.building b
WHERE b.building_id = {building};""",
    {
        "DIRECT": (
            "Export the footprint of building {building} as GeoJSON.",
            "Get the geometry type and GeoJSON outline of building {building}.",
        ),
        "INTERROGATIVE": ("What does the footprint of building {building} look like in GeoJSON?",),
        "SPATIAL_SPECIFIC": (
            "Return the GeoJSON polygon and number of parts of building {building}'s footprint.",
        ),
    },
    _geojson,
    0.6,
)


def _bbox(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    b = rng.choice(pools.buildings[ps.key])
    half = rng.choice((0.002, 0.003, 0.004))
    p["xmin"], p["xmax"] = round(b.lon - half, 4), round(b.lon + half, 4)
    p["ymin"], p["ymax"] = round(b.lat - half * 0.7, 4), round(b.lat + half * 0.7, 4)
    return p


S13 = T(
    "CIM_S13_buildings_in_map_window",
    "SIMPLE_SELECT",
    "MEDIUM",
    "frequent",
    ("building", "building_properties", "bbox", "map_view"),
    """SELECT b.building_id, bp.type, bp.height
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND b.building_geometry && ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, 4326)
ORDER BY bp.height DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "Which buildings of the {project_label} {scenario_label} "
            "scenario fall in the map window {xmin}-{xmax} E, {ymin}-{ymax} "
            "N?",
            "Show buildings inside the bounding box ({xmin}, {ymin}) - "
            "({xmax}, {ymax}) for {project_label} ({scenario_label}).",
        ),
        "DIRECT": (
            "List buildings in the rectangle lon {xmin}..{xmax}, lat {ymin}..{ymax} "
            "in the {project_label} {scenario_label} scenario, tallest first.",
        ),
    },
    _bbox,
    0.8,
)

# ----------------------------------------------------------------- SPATIAL_MEASUREMENT


def _area(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    p["btype"] = pick_type(rows, rng)
    # the footprint area, not the recorded 'area', is measured; the fixture keeps them close
    p["min_area"] = above([b.area for b in of_type(rows, p["btype"])], rng, 0.3, 0.7)
    p["limit"] = limit(rng)
    return p


M01 = T(
    "CIM_M01_footprint_area",
    "SPATIAL_MEASUREMENT",
    "EASY",
    "frequent",
    ("building", "building_properties", "area", "geography"),
    """SELECT b.building_id, bp.type,
       ST_Area(b.building_geometry::geography) AS footprint_m2
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
  AND ST_Area(b.building_geometry::geography) > {min_area}
ORDER BY footprint_m2 DESC
LIMIT {limit};""",
    {
        "DIRECT": (
            "Find {btype} buildings with a footprint larger than {min_area} m² in the "
            "{project_label} {scenario_label} scenario (top {limit}).",
        ),
        "INTERROGATIVE": (
            "Which {btype} buildings in {project_label} ({scenario_label}) "
            "cover more than {min_area} square metres of ground?",
        ),
        "SPATIAL_SPECIFIC": (
            "Measure the footprint area in m² of {btype} buildings in the "
            "{project_label} {scenario_label} scenario and keep those over "
            "{min_area} m².",
        ),
        "CONDITIONAL": (
            "Show up to {limit} {btype} buildings, but only where the measured "
            "footprint exceeds {min_area} m² ({project_label}, {scenario_label}).",
        ),
    },
    _area,
    1.2,
)


def _perimeter(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    p["limit"] = limit(rng)
    return p


M02 = T(
    "CIM_M02_footprint_compactness",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "low_frequent",
    ("building", "building_properties", "perimeter", "utm", "shape"),
    """SELECT b.building_id,
       ST_Perimeter(ST_Transform(b.building_geometry, 32632)) AS perimeter_m,
       ST_Area(ST_Transform(b.building_geometry, 32632)) AS area_m2,
       ROUND((ST_Perimeter(ST_Transform(b.building_geometry, 32632))
         / SQRT(ST_Area(ST_Transform(b.building_geometry, 32632))))::numeric, 2) AS shape_index
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
ORDER BY shape_index DESC
LIMIT {limit};""",
    {
        "ANALYTICAL": (
            "Rank {btype} buildings in {project_label} ({scenario_label}) by "
            "perimeter-to-area shape index and show the {limit} least compact.",
        ),
        "SPATIAL_SPECIFIC": (
            "Compute perimeter and area in metres (UTM 32N) for {btype} "
            "footprints of the {project_label} {scenario_label} scenario; "
            "list the {limit} most elongated.",
        ),
        "INTERROGATIVE": (
            "Which {limit} {btype} buildings in {project_label} "
            "({scenario_label}) have the least compact footprints?",
        ),
    },
    _perimeter,
    0.8,
)


def _line_len(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng, "lines")
    p["limit"] = limit(rng)
    p["dir"] = rng.choice(_DIR)
    return p


M03 = T(
    "CIM_M03_line_geodesic_length",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "low_frequent",
    ("grid_line", "length", "geography", "data_quality"),
    """SELECT gl.line_id, gl.name, gl.length_km,
       ST_Length(gl.geometry::geography) / 1000.0 AS measured_km,
       ABS(gl.length_km - ST_Length(gl.geometry::geography) / 1000.0) AS difference_km
FROM cim_vector.grid_line gl
WHERE gl.project_id = {project}
  AND gl.scenario_id = {scenario}
ORDER BY measured_km {dir}
LIMIT {limit};""",
    {
        "ANALYTICAL": (
            "Compare recorded and measured lengths of grid lines in "
            "{project_label} ({scenario_label}); show {limit} lines, {dir}.",
        ),
        "SPATIAL_SPECIFIC": (
            "Measure the geodesic length in km of each line of the "
            "{project_label} {scenario_label} grid and the gap to length_km "
            "({limit} lines, {dir}).",
        ),
        "DIRECT": (
            "List {limit} grid lines of {project_label} ({scenario_label}) with their "
            "measured length in kilometres, {dir}.",
        ),
    },
    _line_len,
    0.7,
)


def _near_point(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    b = rng.choice(pools.buildings[ps.key])
    p["lon"], p["lat"] = point_near(b, rng)
    p["radius"] = rng.choice((150, 200, 250, 300, 400, 500))
    p.update(envelope(p["lon"], p["lat"], p["radius"]))
    return p


M04 = T(
    "CIM_M04_buildings_near_point",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "frequent",
    ("building", "building_properties", "distance", "dwithin", "geography", "point"),
    """SELECT b.building_id, bp.type, bp.height,
       ST_Distance(b.building_geometry::geography,
                   ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography) AS distance_m
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND b.building_geometry && ST_MakeEnvelope({xmin}, {ymin}, {xmax}, {ymax}, 4326)
  AND ST_DWithin(b.building_geometry::geography,
                 ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326)::geography, {radius})
ORDER BY distance_m;""",
    {
        "SPATIAL_SPECIFIC": (
            "Find buildings within {radius} m of the point ({lon}, {lat}) in "
            "the {project_label} {scenario_label} scenario, nearest first.",
        ),
        "DIRECT": (
            "List buildings less than {radius} metres from lon {lon}, lat {lat} "
            "({project_label}, {scenario_label}) with their distance.",
        ),
        "INTERROGATIVE": (
            "Which buildings are within {radius} m of {lat} N, {lon} E in the "
            "{project_label} {scenario_label} scenario?",
        ),
        "CONDITIONAL": (
            "If a site opens at ({lon}, {lat}), which {project_label} buildings "
            "({scenario_label}) lie within {radius} m of it?",
        ),
    },
    _near_point,
    1.3,
)


def _two_buildings(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    a, b = rng.sample(list(pools.buildings[ps.key]), 2)
    p["b1"], p["b2"] = a.building_id, b.building_id
    return p


M05 = T(
    "CIM_M05_distance_between_buildings",
    "SPATIAL_MEASUREMENT",
    "EASY",
    "frequent",
    ("building", "distance", "geography"),
    """SELECT a.building_id AS from_building, b.building_id AS to_building,
       ST_Distance(a.building_geometry::geography, b.building_geometry::geography) AS gap_m,
       ST_Distance(ST_Centroid(a.building_geometry)::geography,
                   ST_Centroid(b.building_geometry)::geography) AS centroid_distance_m
FROM cim_vector.building a, cim_vector.building b
WHERE a.building_id = {b1}
  AND b.building_id = {b2};""",
    {
        "DIRECT": ("Compute the distance in metres between buildings {b1} and {b2}.",),
        "INTERROGATIVE": (
            "How far apart are buildings {b1} and {b2}?",
            "What is the distance between building {b1} and building {b2}?",
        ),
        "SPATIAL_SPECIFIC": (
            "Measure the edge-to-edge and centroid distance between the "
            "footprints of {b1} and {b2}.",
        ),
    },
    _two_buildings,
    0.9,
)


def _project_geom(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    return p


M06 = T(
    "CIM_M06_project_boundary_metrics",
    "SPATIAL_MEASUREMENT",
    "MEDIUM",
    "frequent",
    ("project_scenario", "area", "perimeter", "bbox"),
    """SELECT ps.project_name, ps.scenario_name,
       ST_Area(ps.project_boundary::geography) / 1000000.0 AS area_km2,
       ST_Perimeter(ps.project_boundary::geography) AS perimeter_m,
       ST_X(ST_Centroid(ps.project_boundary)) AS center_lon,
       ST_Y(ST_Centroid(ps.project_boundary)) AS center_lat,
       ST_XMin(ps.project_boundary) AS west, ST_XMax(ps.project_boundary) AS east,
       ST_YMin(ps.project_boundary) AS south, ST_YMax(ps.project_boundary) AS north
FROM cim_vector.project_scenario ps
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario};""",
    {
        "DIRECT": (
            "Give the area in km², perimeter and bounding box of the {project_label} "
            "project area ({scenario_label} scenario).",
        ),
        "INTERROGATIVE": (
            "How large is the {project_label} project area and where is its "
            "centre ({scenario_label} scenario)?",
        ),
        "SPATIAL_SPECIFIC": (
            "Report the extent (west, east, south, north), centroid and "
            "area of the {project_label} boundary for the {scenario_label} "
            "scenario.",
        ),
        "TEMPORAL": (
            "How big is the study area of the {year} {project_label} project in "
            "the {scenario_label} scenario?",
        ),
    },
    _project_geom,
    0.6,
)

# ----------------------------------------------------------------- AGGREGATION


def _g01(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    p["min_n"] = rng.choice((1, 5, 10, 20, 25, 30, 40, 50, 75, 100))
    return p


def _typed(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    return p


def _scen_only(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    return p


G01 = T(
    "CIM_G01_stock_by_type",
    "AGGREGATION",
    "EASY",
    "frequent",
    ("building_properties", "group_by", "type"),
    """SELECT bp.type, COUNT(*) AS buildings, AVG(bp.height) AS avg_height_m,
       SUM(bp.gross_floor_area) AS total_gfa_m2, SUM(bp.n_people) AS residents
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
GROUP BY bp.type
HAVING COUNT(*) >= {min_n}
ORDER BY buildings DESC;""",
    {
        "AGGREGATE": (
            "Count buildings per type in the {project_label} {scenario_label} "
            "scenario with average height, total floor area and residents (types "
            "with at least {min_n} buildings).",
            "Summarise the {project_label} {scenario_label} building stock by "
            "type, ignoring types with fewer than {min_n} buildings.",
        ),
        "INTERROGATIVE": (
            "Which building types have {min_n} or more buildings in "
            "{project_label} ({scenario_label}), and how tall are they on "
            "average?",
        ),
        "ANALYTICAL": (
            "Break down the building stock of the {project_label} "
            "{scenario_label} scenario by use type (at least {min_n} buildings "
            "per type).",
        ),
        "TEMPORAL": (
            "What does the {year} building stock of {project_label} look like by "
            "type in the {scenario_label} scenario (types with {min_n}+ "
            "buildings)?",
        ),
        "CONDITIONAL": (
            "If a use type has at least {min_n} buildings in {project_label} "
            "({scenario_label}), report its count, mean height and floor area.",
        ),
    },
    _g01,
    1.3,
)


def _ace(pools: Pools, rng: random.Random) -> Params:
    sums: dict[str, int] = {}
    for c in pools.census:
        sums[c.ace] = sums.get(c.ace, 0) + c.p1
    return {
        "min_pop": below([float(v) for v in sums.values()], rng, 0.1, 0.5),
        "limit": rng.choice((3, 5, 8, 10)),
        "metric": rng.choice(
            (
                Ident("population", "population"),
                Ident("dwellings", "dwellings"),
                Ident("families", "families"),
            )
        ),
    }


G02 = T(
    "CIM_G02_census_by_area",
    "AGGREGATION",
    "EASY",
    "frequent",
    ("census_geo", "group_by", "having", "population"),
    """SELECT c.ace, COUNT(*) AS sections, SUM(c.p1) AS population,
       SUM(c.st1) AS dwellings, SUM(c.pf1) AS families
FROM cim_census.census_geo c
WHERE c.comune = 'Milano'
GROUP BY c.ace
HAVING SUM(c.p1) > {min_pop}
ORDER BY {metric} DESC
LIMIT {limit};""",
    {
        "AGGREGATE": (
            "Total population, dwellings and families per census area (ACE) in "
            "Milano, keeping areas above {min_pop} residents; top {limit} by "
            "{metric}.",
        ),
        "INTERROGATIVE": (
            "Which {limit} ACE areas of Milano with more than {min_pop} "
            "inhabitants have the most {metric}?",
        ),
        "ANALYTICAL": (
            "Compare Milano's census areas by population and housing, for areas "
            "over {min_pop} people; rank the top {limit} by {metric}.",
        ),
    },
    _ace,
    0.8,
)


def _grid_scen(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng, "buses")
    p["in_service"] = rng.random() < 0.7
    p["state"] = Text("in service" if p["in_service"] else "out of service")
    return p


G03 = T(
    "CIM_G03_buses_by_zone",
    "AGGREGATION",
    "EASY",
    "frequent",
    ("grid_bus", "group_by", "grid"),
    """SELECT gb.zone, gb.voltage_kv, COUNT(*) AS buses,
       COUNT(DISTINCT gb.network_id) AS networks
FROM cim_vector.grid_bus gb
WHERE gb.project_id = {project}
  AND gb.scenario_id = {scenario}
  AND gb.in_service = {in_service}
GROUP BY gb.zone, gb.voltage_kv
ORDER BY gb.voltage_kv DESC;""",
    {
        "AGGREGATE": (
            "Count {state} grid buses per voltage zone in the {project_label} "
            "{scenario_label} scenario.",
        ),
        "INTERROGATIVE": (
            "How many LV, MV and HV buses are {state} in the {project_label} "
            "{scenario_label} grid?",
        ),
        "DIRECT": (
            "Show counts of {state} buses by zone and voltage for {project_label} "
            "({scenario_label}).",
        ),
    },
    _grid_scen,
    0.8,
)


def _net(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    counts: dict[str, int] = {}
    for x in pools.lines[ps.key]:
        counts[x.network_id] = counts.get(x.network_id, 0) + 1
    p["min_lines"] = rng.choice((1, 2, 3))
    p["min_load"] = rng.choice((20, 30, 40, 50, 60))
    return p


G04 = T(
    "CIM_G04_loading_by_network",
    "AGGREGATION",
    "MEDIUM",
    "low_frequent",
    ("grid_line", "group_by", "having", "loading"),
    """SELECT gl.network_id, COUNT(*) AS lines, SUM(gl.length_km) AS total_km,
       AVG(gl.max_loading_percent) AS avg_loading, MAX(gl.max_loading_percent) AS peak_loading
FROM cim_vector.grid_line gl
WHERE gl.project_id = {project}
  AND gl.scenario_id = {scenario}
  AND gl.max_loading_percent >= {min_load}
GROUP BY gl.network_id
HAVING COUNT(*) >= {min_lines}
ORDER BY peak_loading DESC;""",
    {
        "AGGREGATE": (
            "Per network of the {project_label} {scenario_label} scenario, give "
            "the count, total km and average and peak loading of lines loaded at "
            "least {min_load}% (networks with {min_lines}+ such lines).",
        ),
        "ANALYTICAL": (
            "Which networks in {project_label} ({scenario_label}) are most "
            "stressed? Compare loading of lines at or above {min_load}%.",
        ),
        "CONDITIONAL": (
            "For networks with {min_lines} or more lines loaded at least "
            "{min_load}%, summarise loading and length in the {project_label} "
            "{scenario_label} scenario.",
        ),
    },
    _net,
    0.7,
)


G05 = T(
    "CIM_G05_stock_by_period",
    "AGGREGATION",
    "MEDIUM",
    "frequent",
    ("building_properties", "group_by", "construction_period", "energy"),
    """SELECT bp.const_period_census, bp.const_tabula, COUNT(*) AS buildings,
       SUM(bp.n_people) AS residents, SUM(bp.gross_floor_area) AS total_gfa_m2,
       ROUND(AVG(bp.height)::numeric, 1) AS avg_height_m
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.scenario_id = {scenario}
  AND bp.type = {btype}
GROUP BY bp.const_period_census, bp.const_tabula
ORDER BY bp.const_period_census;""",
    {
        "AGGREGATE": (
            "Group the {btype} buildings of {project_label} ({scenario_label}) by "
            "census construction period and TABULA class with residents and floor "
            "area.",
        ),
        "TEMPORAL": (
            "How are {btype} buildings of the {project_label} {scenario_label} "
            "scenario distributed across construction periods?",
            "Show {btype} building counts per construction era for the {year} "
            "{project_label} project ({scenario_label}).",
        ),
        "ANALYTICAL": (
            "Analyse the age structure of the {btype} stock of {project_label} "
            "({scenario_label}) by TABULA typology.",
        ),
    },
    _typed,
    1.0,
)


def _project_only(pools: Pools, rng: random.Random) -> Params:
    _ps, p = pick_scenario(pools, rng)
    return p


G06 = T(
    "CIM_G06_scenario_totals",
    "AGGREGATION",
    "MEDIUM",
    "frequent",
    ("building_properties", "scenario_comparison", "group_by"),
    """SELECT bp.scenario_id, COUNT(*) AS buildings, SUM(bp.volume) AS total_volume_m3,
       SUM(bp.n_people) AS residents, AVG(bp.w2w) AS avg_window_ratio
FROM cim_vector.building_properties bp
WHERE bp.project_id = {project}
  AND bp.type = {btype}
GROUP BY bp.scenario_id
ORDER BY bp.scenario_id;""",
    {
        "ANALYTICAL": (
            "Compare the scenarios of the {project_label} project by {btype} "
            "building count, total volume, residents and window-to-wall ratio.",
        ),
        "AGGREGATE": (
            "Total volume and residents of {btype} buildings per scenario of the "
            "{project_label} project.",
        ),
        "INTERROGATIVE": (
            "How do the {project_label} scenarios differ in {btype} built volume and population?",
        ),
        "TEMPORAL": (
            "How do the scenarios of the {year} {project_label} project compare in "
            "{btype} volume and residents?",
        ),
    },
    _typed,
    0.6,
)


def _cache_scen(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "cache")
    p["min_h"] = above([c.building_height for c in pools.cache[ps.key]], rng, 0.0, 0.8)
    return p


G07 = T(
    "CIM_G07_height_cache_quality",
    "AGGREGATION",
    "EASY",
    "low_frequent",
    ("building_height_cache", "group_by", "data_quality"),
    """SELECT hc.calculation_method, COUNT(*) AS buildings,
       AVG(hc.building_height) AS avg_height_m, AVG(hc.confidence_score) AS avg_confidence,
       MIN(hc.coverage_percentage) AS worst_coverage
FROM cim_raster.building_height_cache hc
WHERE hc.project_id = {project}
  AND hc.scenario_id = {scenario}
  AND hc.building_height > {min_h}
GROUP BY hc.calculation_method;""",
    {
        "AGGREGATE": (
            "Summarise cached heights above {min_h} m by calculation method for "
            "{project_label} ({scenario_label}): count, mean height, mean "
            "confidence.",
        ),
        "ANALYTICAL": (
            "Assess the quality of raster height estimates for buildings over "
            "{min_h} m in the {project_label} {scenario_label} scenario per "
            "calculation method.",
        ),
        "TEMPORAL": (
            "How reliable are the height calculations cached so far for buildings "
            "taller than {min_h} m in {project_label} ({scenario_label})?",
        ),
    },
    _cache_scen,
    0.6,
)


def _age_profile(pools: Pools, rng: random.Random) -> Params:
    pops = [float(c.p1) for c in pools.census]
    return {"limit": limit(rng), "min_pop": nice(quantile(pops, rng.uniform(0, 0.6)))}


G08 = T(
    "CIM_G08_census_age_profile",
    "AGGREGATION",
    "MEDIUM",
    "low_frequent",
    ("census_geo", "group_by", "construction_period", "ratio"),
    """SELECT c.ace, SUM(c.e8) AS pre_1919, SUM(c.e16) AS post_2005,
       ROUND(SUM(c.e8)::numeric / NULLIF(SUM(c.e8 + c.e9 + c.e10 + c.e11 + c.e12 + c.e13
         + c.e14 + c.e15 + c.e16), 0), 3) AS share_pre_1919
FROM cim_census.census_geo c
WHERE c.p1 >= {min_pop}
GROUP BY c.ace
ORDER BY share_pre_1919 DESC
LIMIT {limit};""",
    {
        "TEMPORAL": (
            "Which {limit} census areas have the highest share of buildings built "
            "before 1919, counting sections with at least {min_pop} residents?",
            "Show the share of pre-1919 buildings per ACE area (top {limit}, "
            "sections of {min_pop}+ residents).",
        ),
        "AGGREGATE": (
            "Per census area, total the pre-1919 and post-2005 buildings and the "
            "share of historic stock (top {limit}).",
        ),
        "ANALYTICAL": (
            "Analyse the building age profile of census areas: where is the "
            "historic stock concentrated? Show {limit} areas.",
        ),
    },
    _age_profile,
    0.5,
)

# ----------------------------------------------------------------- SPATIAL_JOIN


def _section(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["sez"] = rng.choice(pools.buildings[ps.key]).census_id
    return p


J01 = T(
    "CIM_J01_buildings_in_section",
    "SPATIAL_JOIN",
    "MEDIUM",
    "frequent",
    ("building", "building_properties", "census_geo", "within", "centroid"),
    """SELECT b.building_id, bp.type, bp.height, bp.n_people
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
JOIN cim_census.census_geo c ON ST_Within(ST_Centroid(b.building_geometry), c.geometry)
WHERE c.sez2011 = {sez}
  AND bp.project_id = {project}
  AND bp.scenario_id = {scenario};""",
    {
        "SPATIAL_SPECIFIC": (
            "Which buildings have their centroid inside census section {sez} "
            "in the {project_label} {scenario_label} scenario?",
        ),
        "DIRECT": (
            "List buildings located in census section {sez} ({project_label}, "
            "{scenario_label}) with type, height and residents.",
        ),
        "INTERROGATIVE": (
            "What buildings of the {project_label} {scenario_label} scenario "
            "lie in census section {sez}?",
        ),
    },
    _section,
    1.1,
)


def _in_boundary(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    p["btype"] = pick_type(pools.buildings[ps.key], rng)
    p["limit"] = limit(rng)
    return p


J02 = T(
    "CIM_J02_buildings_in_project_boundary",
    "SPATIAL_JOIN",
    "EASY",
    "frequent",
    ("building", "building_properties", "project_scenario", "intersects"),
    """SELECT b.building_id, bp.type, bp.height
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
JOIN cim_vector.project_scenario ps
  ON ps.project_id = bp.project_id AND ps.scenario_id = bp.scenario_id
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario}
  AND bp.type = {btype}
  AND ST_Intersects(b.building_geometry, ps.project_boundary)
ORDER BY bp.height DESC
LIMIT {limit};""",
    {
        "SPATIAL_SPECIFIC": (
            "Find {btype} buildings intersecting the {project_label} project "
            "boundary in the {scenario_label} scenario (tallest {limit}).",
        ),
        "DIRECT": (
            "List the {limit} tallest {btype} buildings inside the {project_label} "
            "area ({scenario_label}).",
        ),
        "CONDITIONAL": (
            "Only for buildings touching the {project_label} boundary, show the "
            "{limit} tallest {btype} ones ({scenario_label} scenario).",
        ),
    },
    _in_boundary,
    0.9,
)


def _bus_building(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "buses")
    rows = pools.buildings.get(ps.key) or ()
    if not rows:
        ps, p = pick_scenario(pools, rng)
        rows = pools.buildings[ps.key]
    p["building"] = rng.choice(rows).building_id
    p["radius"] = rng.choice((300, 400, 500, 750, 1000))
    return p


J03 = T(
    "CIM_J03_buses_near_building",
    "SPATIAL_JOIN",
    "MEDIUM",
    "frequent",
    ("grid_bus", "building", "dwithin", "geography", "distance"),
    """SELECT gb.bus_id, gb.name, gb.voltage_kv,
       ST_Distance(gb.geometry::geography, b.building_geometry::geography) AS distance_m
FROM cim_vector.grid_bus gb
JOIN cim_vector.building b
  ON ST_DWithin(gb.geometry::geography, b.building_geometry::geography, {radius})
WHERE b.building_id = {building}
  AND gb.project_id = {project}
  AND gb.scenario_id = {scenario}
ORDER BY distance_m;""",
    {
        "SPATIAL_SPECIFIC": (
            "Which grid buses lie within {radius} m of building {building} in "
            "the {project_label} {scenario_label} scenario?",
        ),
        "DIRECT": (
            "List buses closer than {radius} metres to building {building} "
            "({project_label}, {scenario_label}), nearest first.",
        ),
        "CONDITIONAL": (
            "If building {building} needs a connection within {radius} m, which "
            "buses of the {project_label} {scenario_label} grid qualify?",
        ),
    },
    _bus_building,
    1.0,
)


def _neighbours(pools: Pools, rng: random.Random) -> Params:
    return {"sez": rng.choice(pools.census).sez2011}


J04 = T(
    "CIM_J04_neighbouring_sections",
    "SPATIAL_JOIN",
    "MEDIUM",
    "low_frequent",
    ("census_geo", "touches", "adjacency"),
    """SELECT n.sez2011, n.p1 AS population, n.st1 AS dwellings
FROM cim_census.census_geo c
JOIN cim_census.census_geo n
  ON ST_Touches(c.geometry, n.geometry)
WHERE c.sez2011 = {sez}
ORDER BY n.p1 DESC;""",
    {
        "SPATIAL_SPECIFIC": ("Which census sections share a border with section {sez}?",),
        "DIRECT": (
            "List the sections adjacent to census section {sez} with population and dwellings.",
        ),
        "INTERROGATIVE": (
            "What are the neighbouring census sections of {sez}, and how many people live there?",
        ),
    },
    _neighbours,
    0.7,
)


def _crossing(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng, "lines")
    counts: dict[str, int] = {}
    for x in pools.lines[ps.key]:
        counts[x.network_id] = counts.get(x.network_id, 0) + 1
    # feeders with many lines cross section boundaries; a 6-line MV ring may not
    p["network"] = rng.choice(sorted(n for n, k in counts.items() if k >= 20) or sorted(counts))
    p["network_label"] = Text(network_label(p["network"]))
    return p


J05 = T(
    "CIM_J05_lines_crossing_sections",
    "SPATIAL_JOIN",
    "MEDIUM",
    "low_frequent",
    ("grid_line", "census_geo", "crosses", "group_by"),
    """SELECT c.sez2011, COUNT(*) AS crossing_lines, SUM(gl.length_km) AS total_length_km
FROM cim_vector.grid_line gl
JOIN cim_census.census_geo c ON ST_Crosses(gl.geometry, c.geometry)
WHERE gl.network_id = {network}
  AND gl.project_id = {project}
  AND gl.scenario_id = {scenario}
GROUP BY c.sez2011
ORDER BY crossing_lines DESC;""",
    {
        "SPATIAL_SPECIFIC": (
            "For each census section, count the lines of {network_label} "
            "({project_label}, {scenario_label}) that cross its boundary.",
        ),
        "AGGREGATE": (
            "How many lines of {network_label} cross each census section in "
            "{project_label} ({scenario_label}), and what is their total length?",
        ),
        "ANALYTICAL": (
            "Which census sections are crossed by the most lines of "
            "{network_label} in the {project_label} {scenario_label} scenario?",
        ),
    },
    _crossing,
    0.6,
)


def _covered(pools: Pools, rng: random.Random) -> Params:
    ps, p = pick_scenario(pools, rng)
    rows = pools.buildings[ps.key]
    p["min_floors"] = nice(quantile([b.floors for b in rows], rng.uniform(0.4, 0.8)))
    return p


J06 = T(
    "CIM_J06_buildings_in_census_boundary",
    "SPATIAL_JOIN",
    "MEDIUM",
    "low_frequent",
    ("building", "building_properties", "project_scenario", "covered_by"),
    """SELECT COUNT(*) AS buildings, SUM(bp.n_people) AS residents
FROM cim_vector.building b
JOIN cim_vector.building_properties bp ON b.building_id = bp.building_id AND b.lod = bp.lod
JOIN cim_vector.project_scenario ps
  ON ps.project_id = bp.project_id AND ps.scenario_id = bp.scenario_id
WHERE ps.project_id = {project}
  AND ps.scenario_id = {scenario}
  AND bp.number_of_floors >= {min_floors}
  AND ST_CoveredBy(b.building_geometry, ps.census_boundary);""",
    {
        "SPATIAL_SPECIFIC": (
            "How many buildings with at least {min_floors} floors lie fully "
            "inside the census boundary of {project_label} "
            "({scenario_label}), and how many people live in them?",
        ),
        "AGGREGATE": (
            "Count buildings of {min_floors}+ floors covered by the {project_label} "
            "census boundary ({scenario_label}) and total their residents.",
        ),
        "CONDITIONAL": (
            "Considering only buildings with {min_floors} or more floors, how many "
            "are within the census boundary of the {project_label} "
            "{scenario_label} scenario?",
        ),
    },
    _covered,
    0.5,
)

TEMPLATES: tuple[Template, ...] = (
    S01,
    S02,
    S03,
    S04,
    S05,
    S06,
    S07,
    S08,
    S09,
    S10,
    S11,
    S12,
    S13,
    M01,
    M02,
    M03,
    M04,
    M05,
    M06,
    G01,
    G02,
    G03,
    G04,
    G05,
    G06,
    G07,
    G08,
    J01,
    J02,
    J03,
    J04,
    J05,
    J06,
)
