-- Workload of the pgNN-logical cases, last part: TRUNCATE.
-- TRUNCATE gives the truncated tables (and, with RESTART IDENTITY, their
-- sequences) new relfilenodes, so nothing touches these tables afterwards:
-- catalog.json keeps describing every relation that gets a change.
INSERT INTO t_tr_parent (v) SELECT 'p' || g FROM generate_series(1, 3) g;
INSERT INTO t_tr_child SELECT id, 'c' || id FROM t_tr_parent;
INSERT INTO t_tr_other (v) VALUES ('o1'), ('o2');
TRUNCATE t_tr_parent, t_tr_other RESTART IDENTITY CASCADE;   -- also truncates t_tr_child
TRUNCATE t_upsert;
BEGIN;
INSERT INTO t_tx VALUES (40, 'main', 'same transaction as a TRUNCATE');
TRUNCATE t_nokey;
COMMIT;
BEGIN; TRUNCATE t_geo; ROLLBACK;                               -- aborted TRUNCATE
INSERT INTO t_tx VALUES (999, 'main', 'last change');
