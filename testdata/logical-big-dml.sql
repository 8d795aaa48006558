-- Workload of pg15-logical-big: one transaction with 200000 inserts between two small ones.
INSERT INTO t_small VALUES (1, 'before');
BEGIN;
INSERT INTO t_big SELECT g FROM generate_series(1, 200000) g;
INSERT INTO t_small VALUES (2, 'inside the big transaction');
COMMIT;
INSERT INTO t_small VALUES (3, 'after');
UPDATE t_small SET v = 'after, updated' WHERE id = 3;
