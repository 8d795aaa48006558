-- Schema of the pgNN-logical cases (setup step of testdata/generate).
-- Runs before catalog.json is exported and before the slots are created.
-- psql variables: has_xml, has_lz4 (0/1) -- set by testdata/generate.

CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s "quoted", {odd}');
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE DOMAIN short_text AS text CHECK (length(VALUE) < 100);
CREATE TYPE pair AS (a int, b text, c numeric(6,2));

-- every common built-in type (plus user types), typmods where they exist
CREATE TABLE t_types (
    id int PRIMARY KEY,
    c_int2 int2, c_int4 int4, c_int8 int8,
    c_num numeric, c_num102 numeric(10,2),
    c_f4 float4, c_f8 float8,
    c_bool bool,
    c_text text, c_varchar varchar(10), c_char char(5), c_name name, c_qchar "char",
    c_bytea bytea,
    c_date date, c_time time, c_time3 time(3), c_timetz timetz,
    c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_interval interval,
    c_uuid uuid, c_json json, c_jsonb jsonb,
    c_inet inet, c_cidr cidr, c_mac macaddr, c_mac8 macaddr8,
    c_money money, c_oid oid, c_regclass regclass, c_regtype regtype,
    c_bit bit(4), c_varbit varbit(16),
    c_int_arr int[], c_text_arr text[], c_int_arr2 int[][], c_varchar_arr varchar(5)[],
    c_num_arr numeric(5,1)[], c_mood_arr mood[],
    c_mood mood, c_posint posint, c_short short_text, c_pair pair,
    c_int4range int4range, c_numrange numrange, c_tstzrange tstzrange, c_daterange daterange,
    c_multirange int4multirange,
    c_tsvector tsvector, c_tsquery tsquery, c_pg_lsn pg_lsn
);
\if :has_xml
ALTER TABLE t_types ADD COLUMN c_xml xml;
\else
ALTER TABLE t_types ADD COLUMN c_xml text;   -- this build has no libxml
\endif

-- geometric types (may be unsupported by a decoder at first)
CREATE TABLE t_geo (id int PRIMARY KEY, p point, b box, l line, s lseg, pa path, pg polygon, c circle);

-- TOAST: pglz (default), lz4 where the build has it, incompressible random bytes,
-- STORAGE EXTERNAL (out of line, uncompressed)
CREATE TABLE t_toast (id int PRIMARY KEY, n int, comp text, rnd bytea, ext text);
ALTER TABLE t_toast ALTER COLUMN ext SET STORAGE EXTERNAL;
\if :has_lz4
ALTER TABLE t_toast ADD COLUMN lz text COMPRESSION lz4;
\else
ALTER TABLE t_toast ADD COLUMN lz text;      -- this build has no lz4
\endif

-- replica identities
CREATE TABLE t_ri_default (id int PRIMARY KEY, v text, n int);
CREATE TABLE t_ri_index (a int NOT NULL, b text NOT NULL, v text, n int);
CREATE UNIQUE INDEX t_ri_index_ab ON t_ri_index (a, b);
ALTER TABLE t_ri_index REPLICA IDENTITY USING INDEX t_ri_index_ab;
CREATE TABLE t_ri_full (id int, v text, big text, d date);
ALTER TABLE t_ri_full REPLICA IDENTITY FULL;
CREATE TABLE t_ri_nothing (id int PRIMARY KEY, v text);
ALTER TABLE t_ri_nothing REPLICA IDENTITY NOTHING;
CREATE TABLE t_nokey (id int, v text);        -- default identity but no primary key

-- HOT and non-HOT updates
CREATE TABLE t_hot (id int PRIMARY KEY, k int, v text) WITH (fillfactor = 50);
CREATE INDEX t_hot_k ON t_hot (k);

-- transactions
CREATE TABLE t_tx (id int PRIMARY KEY, sess text, v text);
CREATE TABLE t_2pc (id int PRIMARY KEY, v text);
CREATE TABLE t_origin (id int PRIMARY KEY, v text);

-- COPY, upsert
CREATE TABLE t_copy (id int PRIMARY KEY, v text, d date, f float8);
CREATE TABLE t_upsert (k text PRIMARY KEY, n int, note text);

-- partitioned (list, with a default partition and a sub-partitioned one)
CREATE TABLE t_part (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE t_part_eu PARTITION OF t_part FOR VALUES IN ('eu');
CREATE TABLE t_part_us PARTITION OF t_part FOR VALUES IN ('us') PARTITION BY RANGE (id);
CREATE TABLE t_part_us_low PARTITION OF t_part_us FOR VALUES FROM (MINVALUE) TO (1000);
CREATE TABLE t_part_us_high PARTITION OF t_part_us FOR VALUES FROM (1000) TO (MAXVALUE);
CREATE TABLE t_part_other PARTITION OF t_part DEFAULT;

-- TRUNCATE ... RESTART IDENTITY CASCADE
CREATE TABLE t_tr_parent (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
CREATE TABLE t_tr_child (pid int REFERENCES t_tr_parent, v text);
CREATE TABLE t_tr_other (id serial PRIMARY KEY, v text);

-- never in the output
CREATE UNLOGGED TABLE t_unlogged (id int PRIMARY KEY, v text);

-- a replication origin for the origin session of the workload
SELECT pg_replication_origin_create('pglcr_origin') IS NOT NULL AS origin_created;
