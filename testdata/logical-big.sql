-- Schema of pg15-logical-big (setup step): a narrow table for the 200000-row transaction.
CREATE TABLE t_big (i int);
CREATE TABLE t_small (id int PRIMARY KEY, v text);
