-- Workload of the pg15-ddl case: DDL mixed with DML, after catalog.json and
-- the slots.  Every statement's effect must be decoded with the catalog as of
-- that change, as PostgreSQL's historic snapshots see it.

-- TRUNCATE: plain, in the same transaction as inserts, CASCADE
TRUNCATE d_trunc;
INSERT INTO d_trunc VALUES (10, 'after truncate');
BEGIN;
INSERT INTO d_trunc VALUES (11, 'before truncate, same transaction');
TRUNCATE d_trunc;
INSERT INTO d_trunc VALUES (12, 'after truncate, same transaction');
COMMIT;
UPDATE d_trunc SET v = 'updated after truncate' WHERE id = 12;
TRUNCATE d_parent CASCADE;
INSERT INTO d_parent VALUES (20, 'parent after cascade');
INSERT INTO d_child VALUES (20, 20, 'child after cascade');

-- rewrites: VACUUM FULL, CLUSTER (their own copies are not decoded)
VACUUM FULL d_vf;
UPDATE d_vf SET v = 'after vacuum full' WHERE id = 2;
DELETE FROM d_vf WHERE id = 3;
CLUSTER d_cl USING d_cl_pkey;
UPDATE d_cl SET v = 'after cluster' WHERE id = 1;
INSERT INTO d_cl VALUES (6, 'cl 6');

-- columns: added without and with defaults (fast defaults: old rows miss them)
ALTER TABLE d_cols ADD COLUMN b int;
UPDATE d_cols SET a = 'a1 updated' WHERE id = 1;
ALTER TABLE d_cols ADD COLUMN c int DEFAULT 42;
ALTER TABLE d_cols ADD COLUMN d text DEFAULT 'hello, "world"';
ALTER TABLE d_cols ADD COLUMN e numeric(8,2) DEFAULT 3.5;
UPDATE d_cols SET a = 'a2 updated' WHERE id = 2;
DELETE FROM d_cols WHERE id = 6;
BEGIN;
ALTER TABLE d_cols ADD COLUMN f timestamptz DEFAULT '2024-05-06 07:08:09+00';
UPDATE d_cols SET a = 'a3 updated, same transaction as ADD COLUMN' WHERE id = 3;
COMMIT;
INSERT INTO d_cols (id, a, b) VALUES (7, 'a7', 7);
ALTER TABLE d_cols DROP COLUMN b;
UPDATE d_cols SET a = 'a4 updated after DROP COLUMN' WHERE id = 4;
INSERT INTO d_cols (id, a) VALUES (8, 'a8');
ALTER TABLE d_cols ALTER COLUMN c TYPE bigint;
UPDATE d_cols SET c = 9000000000 WHERE id = 5;
INSERT INTO d_cols (id, a, c) VALUES (9, 'a9', -1);

-- renames: table, column, schema
ALTER TABLE d_ren RENAME TO d_renamed;
INSERT INTO d_renamed VALUES (3, 'r3');
ALTER TABLE d_renamed RENAME COLUMN v TO w;
UPDATE d_renamed SET w = 'r1 renamed column' WHERE id = 1;
ALTER SCHEMA s_old RENAME TO s_new;
INSERT INTO s_new.t VALUES (2, 'in s_new');

-- new tables: created and filled in one transaction, rolled back
BEGIN;
CREATE TABLE d_new (id int PRIMARY KEY, t text, n numeric(10,2), vc varchar(20), ts timestamp(3), arr int[]);
INSERT INTO d_new VALUES (1, 'new', 12.5, 'short', '2024-01-02 03:04:05.678', '{1,2}');
COMMIT;
UPDATE d_new SET t = 'new, updated' WHERE id = 1;
INSERT INTO d_new VALUES (2, repeat('long ', 2000), NULL, NULL, NULL, NULL);
BEGIN;
CREATE TABLE d_gone (id int PRIMARY KEY, v text);
INSERT INTO d_gone VALUES (1, 'rolled back');
ROLLBACK;

-- types: a value added to an enum in use, a new enum
ALTER TYPE mood ADD VALUE 'happy';
INSERT INTO d_enum VALUES (3, 'happy');
UPDATE d_enum SET m = 'happy' WHERE id = 1;
CREATE TYPE color AS ENUM ('red', 'green');
CREATE TABLE d_color (id int PRIMARY KEY, c color, cs color[]);
INSERT INTO d_color VALUES (1, 'green', '{red,green}');

-- partitions attached and detached
ALTER TABLE d_part ATTACH PARTITION d_part_2 FOR VALUES IN (2);
INSERT INTO d_part VALUES (3, 2, 'into attached partition');
ALTER TABLE d_part DETACH PARTITION d_part_1;
INSERT INTO d_part_1 VALUES (4, 1, 'into detached table');
UPDATE d_part SET v = 'updated in partition' WHERE id = 2;

-- replica identity changed mid-stream
UPDATE d_ri SET v = 'ri default' WHERE id = 1;
ALTER TABLE d_ri REPLICA IDENTITY FULL;
UPDATE d_ri SET v = 'ri full' WHERE id = 2;
DELETE FROM d_ri WHERE id = 3;
ALTER TABLE d_ri REPLICA IDENTITY USING INDEX d_ri_u_key;
UPDATE d_ri SET u = 204, v = 'ri index' WHERE id = 4;
DELETE FROM d_ri WHERE id = 5;
ALTER TABLE d_ri REPLICA IDENTITY NOTHING;
DELETE FROM d_ri WHERE id = 6;
ALTER TABLE d_ri REPLICA IDENTITY DEFAULT;
UPDATE d_ri SET id = 11 WHERE id = 1;

-- new types after the catalog: a range type with its multirange, a composite type, a
-- domain, a range over an enum created in the same transaction as the table using it
CREATE TYPE floatrange AS RANGE (subtype = float8, subtype_diff = float8mi);
CREATE TYPE pair AS (a int, b text);
CREATE DOMAIN posint AS int CHECK (VALUE > 0);
CREATE TABLE d_types (id int PRIMARY KEY, r floatrange, mr floatmultirange, p pair, d posint, ra floatrange[]);
INSERT INTO d_types VALUES (1, '[1.5,2.5)', '{[1,2), [3,4)}', '(1,"x y")', 5, '{"[1,2)",empty}');
BEGIN;
CREATE TYPE moodrange AS RANGE (subtype = mood);
CREATE TABLE d_moods (id int PRIMARY KEY, r moodrange, m moodmultirange);
INSERT INTO d_moods VALUES (1, '[sad,happy]', '{[sad,ok), [happy,happy]}');
COMMIT;
UPDATE d_types SET r = '(,0]', p = '(2,)' WHERE id = 1;

-- catalog rewrites: the relation-mapped catalogs (pg_class, pg_attribute, pg_type) get
-- new relfilenodes in the relation map only, the others in pg_class; DDL and DML after
VACUUM FULL pg_class;
VACUUM FULL pg_attribute;
VACUUM FULL pg_type;
CREATE TABLE d_after_map (id int PRIMARY KEY, v text);
INSERT INTO d_after_map VALUES (1, 'after VACUUM FULL of the mapped catalogs');
ALTER TABLE d_after_map ADD COLUMN w int DEFAULT 7;
UPDATE d_after_map SET v = 'updated after ADD COLUMN' WHERE id = 1;
ALTER TABLE d_renamed RENAME TO d_renamed2;
INSERT INTO d_renamed2 VALUES (4, 'r4');
VACUUM FULL pg_namespace;
VACUUM FULL pg_enum;
VACUUM FULL pg_index;
VACUUM FULL pg_inherits;
VACUUM FULL pg_range;
CLUSTER pg_class USING pg_class_oid_index;
ALTER SCHEMA s_new RENAME TO s_newer;
INSERT INTO s_newer.t VALUES (3, 'in s_newer');
ALTER TYPE mood ADD VALUE 'glad';
INSERT INTO d_enum VALUES (4, 'glad');
ALTER TABLE d_ri REPLICA IDENTITY USING INDEX d_ri_u_key;
UPDATE d_ri SET v = 'ri index after the pg_index rewrite' WHERE id = 11;
ALTER TABLE d_part DETACH PARTITION d_part_2;
INSERT INTO d_part_2 VALUES (5, 2, 'into table detached after the pg_inherits rewrite');
CREATE TYPE intspan AS RANGE (subtype = int8);
CREATE TABLE d_spans (id int PRIMARY KEY, s intspan, ms intspan_multirange, moods moodrange);
INSERT INTO d_spans VALUES (1, '[1,10)', '{[1,3), [5,7)}', '[ok,glad]');
ALTER TABLE d_types ADD COLUMN s intspan DEFAULT '[2,4)';
UPDATE d_types SET d = 6 WHERE id = 1;
