-- Schema of the pg15-ddl case (setup step of testdata/generate).
-- Runs before catalog.json is exported and before the slots are created.
CREATE TABLE d_trunc (id int PRIMARY KEY, v text);
CREATE TABLE d_parent (id int PRIMARY KEY, v text);
CREATE TABLE d_child (id int PRIMARY KEY, pid int REFERENCES d_parent (id), v text);
CREATE TABLE d_vf (id int PRIMARY KEY, v text);
CREATE TABLE d_cl (id int PRIMARY KEY, v text);
CREATE TABLE d_cols (id int PRIMARY KEY, a text);
CREATE TABLE d_ren (id int PRIMARY KEY, v text);
CREATE TABLE d_inter (id int PRIMARY KEY, v text);
CREATE TABLE d_inter2 (id int PRIMARY KEY, v text);
CREATE SCHEMA s_old;
CREATE TABLE s_old.t (id int PRIMARY KEY, v text);
CREATE TYPE mood AS ENUM ('sad', 'ok');
CREATE TABLE d_enum (id int PRIMARY KEY, m mood);
CREATE TABLE d_part (id int, k int, v text) PARTITION BY LIST (k);
CREATE TABLE d_part_1 PARTITION OF d_part FOR VALUES IN (1);
CREATE TABLE d_part_2 (id int, k int, v text);
CREATE TABLE d_ri (id int PRIMARY KEY, u int NOT NULL UNIQUE, v text);

INSERT INTO d_trunc SELECT g, 'old ' || g FROM generate_series(1, 3) g;
INSERT INTO d_parent SELECT g, 'p' || g FROM generate_series(1, 3) g;
INSERT INTO d_child SELECT g, g, 'c' || g FROM generate_series(1, 3) g;
INSERT INTO d_vf SELECT g, 'vf ' || g FROM generate_series(1, 5) g;
INSERT INTO d_cl SELECT g, 'cl ' || g FROM generate_series(5, 1, -1) g;
INSERT INTO d_cols SELECT g, 'a' || g FROM generate_series(1, 6) g;
INSERT INTO d_ren SELECT g, 'r' || g FROM generate_series(1, 2) g;
INSERT INTO s_old.t VALUES (1, 'in s_old');
INSERT INTO d_enum VALUES (1, 'sad'), (2, 'ok');
INSERT INTO d_part VALUES (1, 1, 'part 1');
INSERT INTO d_part_2 VALUES (2, 2, 'part 2, not attached yet');
INSERT INTO d_ri SELECT g, 100 + g, 'ri ' || g FROM generate_series(1, 6) g;
