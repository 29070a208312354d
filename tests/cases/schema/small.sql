-- A DDL schema: extensions, indexes and comments are tolerated.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS postgis_raster;
CREATE SCHEMA IF NOT EXISTS city;

CREATE TABLE city.district (
    id serial PRIMARY KEY,
    name varchar(100) NOT NULL,
    boundary geometry(MultiPolygon, 4326)
);

CREATE TABLE city.building (
    id bigserial,
    district_id integer REFERENCES city.district (id),
    height float,
    footprint geometry(POLYGON,4326),
    centre geography(Point,4326) NOT NULL,
    built_at timestamp with time zone,
    attrs json,
    CONSTRAINT building_pk PRIMARY KEY (id)
);
CREATE INDEX building_footprint_gix ON city.building USING gist (footprint);
COMMENT ON TABLE city.building IS 'Building footprints';
COMMENT ON COLUMN city.building.height IS 'Height above ground in metres';

-- Unqualified: schema public. REFERENCES without columns means the primary key.
CREATE TABLE dtm (
    rid integer,
    rast raster,
    district integer REFERENCES city.district,
    PRIMARY KEY (rid)
);
CREATE TABLE dtm_tile (
    rid integer,
    tile integer,
    note text,
    FOREIGN KEY (rid) REFERENCES dtm (rid)
);
ALTER TABLE dtm_tile ADD CONSTRAINT dtm_tile_pk PRIMARY KEY (rid, tile),
    ADD COLUMN created date;
INSERT INTO dtm (rid) VALUES (1);
