--
-- PostgreSQL database dump
--
-- cim_wizard_integrated, schema only (pg_dump --schema-only --no-owner --no-privileges),
-- tidied by hand: the cim_vector / cim_network / cim_census / cim_raster schemas only.
-- Hand-written for cimgen's tests (tests/foreign/README.md): an independent description of
-- the CIM Wizard database *as deployed*, not derived from cimgen's own schema files.
--
-- Dumped from database version 14.10
-- Dumped by pg_dump version 14.10

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: cim_census; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA cim_census;

--
-- Name: cim_network; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA cim_network;

--
-- Name: cim_raster; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA cim_raster;

--
-- Name: cim_vector; Type: SCHEMA; Schema: -; Owner: -
--

CREATE SCHEMA cim_vector;

--
-- Name: postgis; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;

--
-- Name: postgis_raster; Type: EXTENSION; Schema: -; Owner: -
--

CREATE EXTENSION IF NOT EXISTS postgis_raster WITH SCHEMA public;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: censusgeo; Type: TABLE; Schema: cim_census; Owner: -
--

CREATE TABLE cim_census.censusgeo (
    id integer NOT NULL,
    sez2011 bigint NOT NULL,
    geometry public.geometry(MultiPolygon,4326),
    crs character varying(100),
    shape_area double precision,
    shape_len double precision,
    codreg character varying(10),
    regione character varying(50),
    codpro character varying(10),
    provincia character varying(50),
    codcom character varying(10),
    comune character varying(50),
    procom character varying(10),
    nsez character varying(10),
    ace character varying(10),
    codloc character varying(10),
    codasc character varying(10),
    p1 integer,
    p2 integer,
    p3 integer,
    p4 integer,
    p5 integer,
    p6 integer,
    p7 integer,
    p8 integer,
    p9 integer,
    p10 integer,
    p11 integer,
    p12 integer,
    p13 integer,
    p14 integer,
    p15 integer,
    p16 integer,
    p17 integer,
    p18 integer,
    p19 integer,
    p20 integer,
    p21 integer,
    p22 integer,
    p23 integer,
    p24 integer,
    p25 integer,
    p26 integer,
    p27 integer,
    p28 integer,
    p29 integer,
    p30 integer,
    p31 integer,
    p32 integer,
    p33 integer,
    p34 integer,
    p35 integer,
    p36 integer,
    p37 integer,
    p38 integer,
    p39 integer,
    p40 integer,
    p41 integer,
    p42 integer,
    p43 integer,
    p44 integer,
    p45 integer,
    p46 integer,
    p47 integer,
    p48 integer,
    p49 integer,
    p50 integer,
    p51 integer,
    p52 integer,
    p53 integer,
    p54 integer,
    p55 integer,
    p56 integer,
    p57 integer,
    p58 integer,
    p59 integer,
    p60 integer,
    p61 integer,
    p62 integer,
    p63 integer,
    p64 integer,
    p65 integer,
    p66 integer,
    p128 integer,
    p129 integer,
    p130 integer,
    p131 integer,
    p132 integer,
    p133 integer,
    p134 integer,
    p135 integer,
    p136 integer,
    p137 integer,
    p138 integer,
    p139 integer,
    p140 integer,
    st1 integer,
    st2 integer,
    st3 integer,
    st4 integer,
    st5 integer,
    st6 integer,
    st7 integer,
    st8 integer,
    st9 integer,
    st10 integer,
    st11 integer,
    st12 integer,
    st13 integer,
    st14 integer,
    st15 integer,
    e1 integer,
    e2 integer,
    e3 integer,
    e4 integer,
    e5 integer,
    e6 integer,
    e7 integer,
    e8 integer,
    e9 integer,
    e10 integer,
    e11 integer,
    e12 integer,
    e13 integer,
    e14 integer,
    e15 integer,
    e16 integer,
    e17 integer,
    e18 integer,
    e19 integer,
    e20 integer,
    e21 integer,
    e22 integer,
    e23 integer,
    e24 integer,
    e25 integer,
    e26 integer,
    e27 integer,
    e28 integer,
    e29 integer,
    e30 integer,
    e31 integer,
    a2 integer,
    a3 integer,
    a4 integer,
    a5 integer,
    a6 integer,
    a7 integer,
    a8 integer,
    a9 integer,
    a10 integer,
    a11 integer,
    a12 integer,
    a13 integer,
    a14 integer,
    a15 integer,
    a16 integer,
    a17 integer,
    a18 integer,
    a19 integer,
    a20 integer,
    a21 integer,
    a22 integer,
    a23 integer,
    a24 integer,
    a25 integer,
    a26 integer,
    a27 integer,
    a28 integer,
    a29 integer,
    a30 integer,
    a31 integer,
    a32 integer,
    a33 integer,
    a34 integer,
    a35 integer,
    a36 integer,
    a37 integer,
    a38 integer,
    a39 integer,
    a40 integer,
    a41 integer,
    a42 integer,
    a43 integer,
    a44 integer,
    a45 integer,
    a46 integer,
    a47 integer,
    a48 integer,
    pf1 integer,
    pf2 integer,
    pf3 integer,
    pf4 integer,
    pf5 integer,
    pf6 integer,
    pf7 integer,
    pf8 integer,
    pf9 integer
);

COMMENT ON TABLE cim_census.censusgeo IS 'ISTAT 2011 census sections (sezioni di censimento) with the 2011 census variables';
COMMENT ON COLUMN cim_census.censusgeo.sez2011 IS 'ISTAT section code: PRO_COM * 10^7 + NSEZ';
COMMENT ON COLUMN cim_census.censusgeo.p1 IS 'resident population, total';

CREATE SEQUENCE cim_census.censusgeo_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_census.censusgeo_id_seq OWNED BY cim_census.censusgeo.id;

--
-- Name: network_buses; Type: TABLE; Schema: cim_network; Owner: -
--

CREATE TABLE cim_network.network_buses (
    id integer NOT NULL,
    network_id character varying(100) NOT NULL,
    bus_id integer NOT NULL,
    project_id character varying(100) NOT NULL,
    scenario_id character varying(100) NOT NULL,
    geometry public.geometry(Point,4326),
    name character varying(255),
    bus_name character varying(255),
    bus_type character varying(10),
    voltage_kv double precision NOT NULL,
    zone character varying(50),
    in_service boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now()
);

COMMENT ON TABLE cim_network.network_buses IS 'grid buses (pandapower bus table, one network per project scenario)';

CREATE SEQUENCE cim_network.network_buses_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_network.network_buses_id_seq OWNED BY cim_network.network_buses.id;

--
-- Name: network_lines; Type: TABLE; Schema: cim_network; Owner: -
--

CREATE TABLE cim_network.network_lines (
    id integer NOT NULL,
    network_id character varying(100) NOT NULL,
    line_id integer NOT NULL,
    project_id character varying(100) NOT NULL,
    scenario_id character varying(100) NOT NULL,
    geometry public.geometry(LineString,4326),
    line_name character varying(255),
    std_type character varying(100),
    from_bus_id integer NOT NULL,
    to_bus_id integer NOT NULL,
    length_km double precision,
    max_loading_percent double precision,
    in_service boolean DEFAULT true NOT NULL,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now()
);

COMMENT ON TABLE cim_network.network_lines IS 'grid lines between two buses of the same network';

CREATE SEQUENCE cim_network.network_lines_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_network.network_lines_id_seq OWNED BY cim_network.network_lines.id;

--
-- Name: dsm_sansalva; Type: TABLE; Schema: cim_raster; Owner: -
-- (loaded with raster2pgsql -s 4326 -t 50x50 -I -C -F)
--

CREATE TABLE cim_raster.dsm_sansalva (
    rid integer NOT NULL,
    rast public.raster,
    filename text,
    CONSTRAINT enforce_height_rast CHECK ((public.st_height(rast) = 50)),
    CONSTRAINT enforce_nodata_values_rast CHECK ((public._raster_constraint_nodata_values(rast) = '{-9999.0000000000}'::numeric[])),
    CONSTRAINT enforce_num_bands_rast CHECK ((public.st_numbands(rast) = 1)),
    CONSTRAINT enforce_out_db_rast CHECK ((public._raster_constraint_out_db(rast) = '{f}'::boolean[])),
    CONSTRAINT enforce_pixel_types_rast CHECK ((public._raster_constraint_pixel_types(rast) = '{32BF}'::text[])),
    CONSTRAINT enforce_scalex_rast CHECK ((round((public.st_scalex(rast))::numeric, 10) = round(0.0002, 10))),
    CONSTRAINT enforce_scaley_rast CHECK ((round((public.st_scaley(rast))::numeric, 10) = round((-0.00015), 10))),
    CONSTRAINT enforce_srid_rast CHECK ((public.st_srid(rast) = 4326)),
    CONSTRAINT enforce_width_rast CHECK ((public.st_width(rast) = 50))
);

COMMENT ON TABLE cim_raster.dsm_sansalva IS 'digital surface model of San Salvario (ground + buildings + trees), 50x50 tiles';

CREATE SEQUENCE cim_raster.dsm_sansalva_rid_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_raster.dsm_sansalva_rid_seq OWNED BY cim_raster.dsm_sansalva.rid;

--
-- Name: dtm; Type: TABLE; Schema: cim_raster; Owner: -
-- (loaded with raster2pgsql -s 4326 -t 50x50 -I -C -F)
--

CREATE TABLE cim_raster.dtm (
    rid integer NOT NULL,
    rast public.raster,
    filename text,
    CONSTRAINT enforce_height_rast CHECK ((public.st_height(rast) = 50)),
    CONSTRAINT enforce_nodata_values_rast CHECK ((public._raster_constraint_nodata_values(rast) = '{-9999.0000000000}'::numeric[])),
    CONSTRAINT enforce_num_bands_rast CHECK ((public.st_numbands(rast) = 1)),
    CONSTRAINT enforce_out_db_rast CHECK ((public._raster_constraint_out_db(rast) = '{f}'::boolean[])),
    CONSTRAINT enforce_pixel_types_rast CHECK ((public._raster_constraint_pixel_types(rast) = '{32BF}'::text[])),
    CONSTRAINT enforce_scalex_rast CHECK ((round((public.st_scalex(rast))::numeric, 10) = round(0.0002, 10))),
    CONSTRAINT enforce_scaley_rast CHECK ((round((public.st_scaley(rast))::numeric, 10) = round((-0.00015), 10))),
    CONSTRAINT enforce_srid_rast CHECK ((public.st_srid(rast) = 4326)),
    CONSTRAINT enforce_width_rast CHECK ((public.st_width(rast) = 50))
);

COMMENT ON TABLE cim_raster.dtm IS 'digital terrain model (bare ground) of the study area, 50x50 tiles';

CREATE SEQUENCE cim_raster.dtm_rid_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_raster.dtm_rid_seq OWNED BY cim_raster.dtm.rid;

--
-- Name: cim_wizard_building; Type: TABLE; Schema: cim_vector; Owner: -
--

CREATE TABLE cim_vector.cim_wizard_building (
    id integer NOT NULL,
    building_id character varying(100) NOT NULL,
    lod integer DEFAULT 0 NOT NULL,
    building_geometry public.geometry(Geometry,4326),
    building_geometry_source character varying(50),
    osm_id bigint,
    census_id bigint,
    building_surfaces_lod12 json,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now()
);

COMMENT ON TABLE cim_vector.cim_wizard_building IS 'building footprints; one row per building and level of detail';

CREATE SEQUENCE cim_vector.cim_wizard_building_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_vector.cim_wizard_building_id_seq OWNED BY cim_vector.cim_wizard_building.id;

--
-- Name: cim_wizard_building_properties; Type: TABLE; Schema: cim_vector; Owner: -
--

CREATE TABLE cim_vector.cim_wizard_building_properties (
    id integer NOT NULL,
    building_id character varying(100) NOT NULL,
    project_id character varying(100) NOT NULL,
    scenario_id character varying(100) NOT NULL,
    lod integer DEFAULT 0 NOT NULL,
    building_fk integer NOT NULL,
    height double precision,
    area double precision,
    volume double precision,
    number_of_floors double precision,
    type character varying(50),
    const_period_census character varying(10),
    const_year integer,
    const_tabula character varying(15),
    n_people integer,
    n_family integer,
    gross_floor_area double precision,
    net_leased_area double precision,
    neighbours_surfaces json,
    neighbours_ids json,
    heating boolean,
    cooling boolean,
    w2w double precision,
    hvac_type character varying(50),
    extra_prop json,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now()
);

COMMENT ON TABLE cim_vector.cim_wizard_building_properties IS 'building properties computed per project scenario';
COMMENT ON COLUMN cim_vector.cim_wizard_building_properties.type IS 'use class (Italian labels: residenziale, commerciale, ...)';

CREATE SEQUENCE cim_vector.cim_wizard_building_properties_id_seq
    AS integer
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1;

ALTER SEQUENCE cim_vector.cim_wizard_building_properties_id_seq OWNED BY cim_vector.cim_wizard_building_properties.id;

--
-- Name: cim_wizard_project_scenario; Type: TABLE; Schema: cim_vector; Owner: -
--

CREATE TABLE cim_vector.cim_wizard_project_scenario (
    project_id character varying(100) NOT NULL,
    scenario_id character varying(100) NOT NULL,
    project_name character varying(255),
    scenario_name character varying(255),
    project_boundary public.geometry(Polygon,4326),
    project_center public.geometry(Point,4326),
    project_zoom integer,
    project_crs integer,
    census_boundary public.geometry(MultiPolygon,4326),
    cosimulator_config_mongo_path character varying,
    network_mongo_path json,
    results_mongo_path character varying,
    created_at timestamp with time zone DEFAULT now(),
    updated_at timestamp with time zone DEFAULT now()
);

COMMENT ON TABLE cim_vector.cim_wizard_project_scenario IS 'projects and their scenarios (the first scenario of a project shares its UUID)';

--
-- Name: censusgeo id; Type: DEFAULT; Schema: cim_census; Owner: -
--

ALTER TABLE ONLY cim_census.censusgeo ALTER COLUMN id SET DEFAULT nextval('cim_census.censusgeo_id_seq'::regclass);
ALTER TABLE ONLY cim_network.network_buses ALTER COLUMN id SET DEFAULT nextval('cim_network.network_buses_id_seq'::regclass);
ALTER TABLE ONLY cim_network.network_lines ALTER COLUMN id SET DEFAULT nextval('cim_network.network_lines_id_seq'::regclass);
ALTER TABLE ONLY cim_raster.dsm_sansalva ALTER COLUMN rid SET DEFAULT nextval('cim_raster.dsm_sansalva_rid_seq'::regclass);
ALTER TABLE ONLY cim_raster.dtm ALTER COLUMN rid SET DEFAULT nextval('cim_raster.dtm_rid_seq'::regclass);
ALTER TABLE ONLY cim_vector.cim_wizard_building ALTER COLUMN id SET DEFAULT nextval('cim_vector.cim_wizard_building_id_seq'::regclass);
ALTER TABLE ONLY cim_vector.cim_wizard_building_properties ALTER COLUMN id SET DEFAULT nextval('cim_vector.cim_wizard_building_properties_id_seq'::regclass);

--
-- Primary keys and unique constraints
--

ALTER TABLE ONLY cim_census.censusgeo
    ADD CONSTRAINT censusgeo_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cim_census.censusgeo
    ADD CONSTRAINT censusgeo_sez2011_key UNIQUE (sez2011);

ALTER TABLE ONLY cim_network.network_buses
    ADD CONSTRAINT network_buses_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cim_network.network_buses
    ADD CONSTRAINT network_buses_scenario_bus_key UNIQUE (project_id, scenario_id, bus_id);

ALTER TABLE ONLY cim_network.network_lines
    ADD CONSTRAINT network_lines_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cim_network.network_lines
    ADD CONSTRAINT network_lines_scenario_line_key UNIQUE (project_id, scenario_id, line_id);

ALTER TABLE ONLY cim_raster.dsm_sansalva
    ADD CONSTRAINT dsm_sansalva_pkey PRIMARY KEY (rid);

ALTER TABLE ONLY cim_raster.dtm
    ADD CONSTRAINT dtm_pkey PRIMARY KEY (rid);

ALTER TABLE ONLY cim_vector.cim_wizard_building
    ADD CONSTRAINT cim_wizard_building_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cim_vector.cim_wizard_building
    ADD CONSTRAINT cim_wizard_building_building_id_lod_key UNIQUE (building_id, lod);

ALTER TABLE ONLY cim_vector.cim_wizard_building_properties
    ADD CONSTRAINT cim_wizard_building_properties_pkey PRIMARY KEY (id);

ALTER TABLE ONLY cim_vector.cim_wizard_building_properties
    ADD CONSTRAINT cim_wizard_building_properties_uniq UNIQUE (building_id, project_id, scenario_id, lod);

ALTER TABLE ONLY cim_vector.cim_wizard_project_scenario
    ADD CONSTRAINT cim_wizard_project_scenario_pkey PRIMARY KEY (project_id, scenario_id);

--
-- Indexes
--

CREATE INDEX censusgeo_geometry_idx ON cim_census.censusgeo USING gist (geometry);

CREATE INDEX network_buses_geometry_idx ON cim_network.network_buses USING gist (geometry);

CREATE INDEX network_lines_geometry_idx ON cim_network.network_lines USING gist (geometry);

CREATE INDEX dsm_sansalva_st_convexhull_idx ON cim_raster.dsm_sansalva USING gist (public.st_convexhull(rast));

CREATE INDEX dtm_st_convexhull_idx ON cim_raster.dtm USING gist (public.st_convexhull(rast));

CREATE INDEX cim_wizard_building_geometry_idx ON cim_vector.cim_wizard_building USING gist (building_geometry);

CREATE INDEX cim_wizard_building_census_id_idx ON cim_vector.cim_wizard_building USING btree (census_id);

CREATE INDEX cim_wizard_building_properties_scenario_idx ON cim_vector.cim_wizard_building_properties USING btree (project_id, scenario_id);

CREATE INDEX cim_wizard_building_properties_building_fk_idx ON cim_vector.cim_wizard_building_properties USING btree (building_fk);

CREATE INDEX cim_wizard_project_scenario_boundary_idx ON cim_vector.cim_wizard_project_scenario USING gist (project_boundary);

--
-- Foreign keys
--

ALTER TABLE ONLY cim_network.network_buses
    ADD CONSTRAINT network_buses_scenario_fkey FOREIGN KEY (project_id, scenario_id) REFERENCES cim_vector.cim_wizard_project_scenario(project_id, scenario_id) ON DELETE CASCADE;

ALTER TABLE ONLY cim_network.network_lines
    ADD CONSTRAINT network_lines_scenario_fkey FOREIGN KEY (project_id, scenario_id) REFERENCES cim_vector.cim_wizard_project_scenario(project_id, scenario_id) ON DELETE CASCADE;

ALTER TABLE ONLY cim_network.network_lines
    ADD CONSTRAINT network_lines_from_bus_fkey FOREIGN KEY (project_id, scenario_id, from_bus_id) REFERENCES cim_network.network_buses(project_id, scenario_id, bus_id) ON DELETE CASCADE;

ALTER TABLE ONLY cim_network.network_lines
    ADD CONSTRAINT network_lines_to_bus_fkey FOREIGN KEY (project_id, scenario_id, to_bus_id) REFERENCES cim_network.network_buses(project_id, scenario_id, bus_id) ON DELETE CASCADE;

ALTER TABLE ONLY cim_vector.cim_wizard_building
    ADD CONSTRAINT cim_wizard_building_census_id_fkey FOREIGN KEY (census_id) REFERENCES cim_census.censusgeo(sez2011);

ALTER TABLE ONLY cim_vector.cim_wizard_building_properties
    ADD CONSTRAINT cim_wizard_building_properties_building_fk_fkey FOREIGN KEY (building_fk) REFERENCES cim_vector.cim_wizard_building(id) ON DELETE CASCADE;

ALTER TABLE ONLY cim_vector.cim_wizard_building_properties
    ADD CONSTRAINT cim_wizard_building_properties_scenario_fkey FOREIGN KEY (project_id, scenario_id) REFERENCES cim_vector.cim_wizard_project_scenario(project_id, scenario_id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
