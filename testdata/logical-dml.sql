-- Workload of the pgNN-logical cases, part 1 (DML only; run after the slots exist).
-- testdata/logical-workload.sh runs this, then the concurrent sessions, the
-- origin session, pgbench and logical-dml-end.sql.
-- psql variables: has_xml (0/1).

-- ---------------------------------------------------------------- types
-- 1: minimum / empty values
INSERT INTO t_types (id, c_int2, c_int4, c_int8, c_num, c_num102, c_f4, c_f8, c_bool,
    c_text, c_varchar, c_char, c_name, c_qchar, c_bytea,
    c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_tstz, c_interval,
    c_uuid, c_json, c_jsonb, c_inet, c_cidr, c_mac, c_mac8, c_money, c_oid, c_regclass, c_regtype,
    c_bit, c_varbit, c_int_arr, c_text_arr, c_int_arr2, c_varchar_arr, c_num_arr, c_mood_arr,
    c_mood, c_posint, c_short, c_pair, c_int4range, c_numrange, c_tstzrange, c_daterange, c_multirange,
    c_tsvector, c_tsquery, c_pg_lsn, c_xml)
VALUES (1, -32768, -2147483648, -9223372036854775808, '-Infinity', -99999999.99, '-Infinity', '-Infinity', false,
    '', '', 'a', '', 'x', '\x',
    '-infinity', '00:00:00', '00:00:00.001', '00:00:00-15:59', '-infinity', '-infinity', '-infinity', '-178000000 years',
    '00000000-0000-0000-0000-000000000000', '[]', '{}', '0.0.0.0/0', '0.0.0.0/0', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00',
    '-92233720368547758.08', 0, 0, 0,
    B'0000', B'', '{}', '{}', '{}', '{}', '{}', '{}',
    'sad', 1, '', ROW(NULL, NULL, NULL), 'empty', 'empty', 'empty', 'empty', '{}',
    '', NULL, '0/0', '');

-- 2: maximum values, BC dates, quoting
INSERT INTO t_types (id, c_int2, c_int4, c_int8, c_num, c_num102, c_f4, c_f8, c_bool,
    c_text, c_varchar, c_char, c_name, c_qchar, c_bytea,
    c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_tstz, c_interval,
    c_uuid, c_json, c_jsonb, c_inet, c_cidr, c_mac, c_mac8, c_money, c_oid, c_regclass, c_regtype,
    c_bit, c_varbit, c_int_arr, c_text_arr, c_int_arr2, c_varchar_arr, c_num_arr, c_mood_arr,
    c_mood, c_posint, c_short, c_pair, c_int4range, c_numrange, c_tstzrange, c_daterange, c_multirange,
    c_tsvector, c_tsquery, c_pg_lsn, c_xml)
VALUES (2, 32767, 2147483647, 9223372036854775807, ('1' || repeat('0', 400))::numeric, 99999999.99,
    '3.4028235e+38', '1.7976931348623157e+308', true,
    E'it''s a "test" \\ with\nnewline\tand tab, unicode: \u00e9 \u2713 \U0001F418', 'abcdefghij', 'abcde', repeat('n', 63), '"',
    '\x00ff7f805c27',
    '4713-01-01 BC', '24:00:00', '23:59:59.999', '23:59:59.999999+15:59', '4713-01-01 00:00:00 BC',
    '2000-02-29 12:34:56.789', '0044-03-15 12:00:00+00 BC', '178000000 years',
    'ffffffff-ffff-ffff-ffff-ffffffffffff', ' { "a" : [1, 2.50, "x"] , "b":null, "u": "\u00e9" } ',
    '{"nested": {"arr": [1, 2.50, 1e10, -0, 0.1e-5, true, null, "\u00e9\"q\"\\"], "emoji": "\ud83d\udc18"}, "empty": {}, "num": 12345678901234567890.123, "": ""}',
    '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff',
    '92233720368547758.07', 4294967295, 'pg_class', 'pg_catalog.int4',
    B'1111', B'1010101010101010', '{1,NULL,-3}',
    E'{"a,b","c\\"d","{e}","NULL",NULL,""," sp ","back\\\\slash","new\nline"}',
    '{{1,2},{3,4}}', '{abc,de}', '{1.5,NaN,-0.5}', E'{happy,"it''s \\"quoted\\", {odd}"}',
    'it''s "quoted", {odd}', 2147483647, E'short\ttext', ROW(1, 'a "b", c', 1234.56),
    '[1,10)', '(,5.5]', '[2024-01-01 00:00:00+00,infinity)', '[2024-01-01,2024-02-01)', '{[1,3),[5,8)}',
    'a fat:1A cat:2B,3 sat', 'fat & (rat | !cat)', 'FFFFFFFF/FFFFFFFF', '<a x="1">t&amp;</a>');

-- 3: NaN, -0, tiny and huge scales, small floats
INSERT INTO t_types (id, c_num, c_num102, c_f4, c_f8, c_interval, c_int_arr, c_int_arr2, c_text_arr)
VALUES (3, 'NaN', -0.5, 'NaN', 'NaN', '-1 days -00:00:01', '[2:3]={1,2}', '[0:1][1:2]={{1,2},{3,4}}', '{NULL}');
INSERT INTO t_types (id, c_num, c_num102, c_f4, c_f8)
VALUES (4, ('0.' || repeat('0', 300) || '1')::numeric, 0, '-0', '-0'),
       (5, 'Infinity', 12345678.91, 'Infinity', 'Infinity'),
       (6, 1.1, 1.1, 1.1, 1.1),
       (7, 123456789012345678901234567890.123456789012345678901234567890, 0.01, 1.17549435e-38, 1e-300),
       (8, -0.000001, -0.01, 3.14159265, 2.2250738585072014e-308);
UPDATE t_types SET c_date = 'infinity', c_ts = 'infinity', c_tstz = 'infinity', c_ts3 = 'infinity' WHERE id = 5;
-- 9: all NULL
INSERT INTO t_types (id) VALUES (9);
-- 10: ordinary values
INSERT INTO t_types (id, c_int2, c_int4, c_int8, c_num, c_num102, c_f4, c_f8, c_bool,
    c_text, c_varchar, c_char, c_name, c_qchar, c_bytea,
    c_date, c_time, c_time3, c_timetz, c_ts, c_ts3, c_tstz, c_interval,
    c_uuid, c_json, c_jsonb, c_inet, c_cidr, c_mac, c_mac8, c_money, c_oid, c_regclass, c_regtype,
    c_bit, c_varbit, c_int_arr, c_text_arr, c_int_arr2, c_varchar_arr, c_num_arr, c_mood_arr,
    c_mood, c_posint, c_short, c_pair, c_int4range, c_numrange, c_tstzrange, c_daterange, c_multirange,
    c_tsvector, c_tsquery, c_pg_lsn, c_xml)
VALUES (10, 42, -42, 4200000000, 3.14159, 1234.5, 0.5, 0.1, true,
    'plain', 'vc', 'ab', 'some_name', 'Z', '\xdeadbeef',
    '2024-02-29', '12:34:56.789012', '12:34:56.789', '12:34:56+05:30', '2024-02-29 12:34:56.123456',
    '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.5+02', '1 year 2 mons -3 days 04:05:06.789',
    'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": "v"}', '[1, "two", {"three": 3}]',
    '192.168.1.5/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
    '1234.56', 16384, 'pg_type', 'text[]',
    B'0101', B'1', '{7,8,9}', '{alpha,beta}', '{{1,NULL},{NULL,4}}', '{x}', '{0.1}', '{ok}',
    'happy', 7, 'short', ROW(NULL, '', 0), '(0,5]', '[1.5,2.5]', '["2024-01-01 10:00:00+00","2024-01-01 11:00:00+00")',
    '[2024-01-01,2024-01-02]', '{[1,2], [10,20)}', 'the quick:1 brown fox', 'quick & fox', '16/B374D848', '<r/>');
UPDATE t_types SET c_text = 'updated', c_int4 = c_int4 + 1, c_jsonb = c_jsonb || '{"u": 1}' WHERE id = 10;
UPDATE t_types SET c_num = 'NaN', c_f8 = '-Infinity', c_interval = '-00:00:00.000001' WHERE id = 6;
DELETE FROM t_types WHERE id = 3;

-- ---------------------------------------------------------------- geometric
INSERT INTO t_geo VALUES
    (1, '(1,2)', '((0,0),(1,1))', '{1,-1,0}', '[(0,0),(1,1)]', '((0,0),(1,1),(2,0))', '((0,0),(1,1),(1,0))', '<(0,0),1.5>'),
    (2, '(-1.5,1e-10)', '((2,3),(-1,-1))', '{0,1,-5}', '[(1,2),(3,4)]', '[(0,0),(1,1)]', '((0,0),(0,2),(2,2),(2,0))', '<(1,1),0>'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE t_geo SET p = '(3,4)' WHERE id = 1;
DELETE FROM t_geo WHERE id = 2;

-- ---------------------------------------------------------------- TOAST
-- 1: compressible text, out of line and pglz-compressed (9600 bytes)
INSERT INTO t_toast (id, n, comp) SELECT 1, 0, repeat(string_agg(md5(g::text), ''), 3) FROM generate_series(1, 100) g;
-- 2: incompressible random bytes, out of line uncompressed
INSERT INTO t_toast (id, n, rnd) SELECT 2, 0, decode(string_agg(md5(random()::text), ''), 'hex') FROM generate_series(1, 160) g;
-- 3: STORAGE EXTERNAL
INSERT INTO t_toast (id, n, ext) VALUES (3, 0, repeat('e', 5000));
-- 4: lz4-compressed out-of-line value (pglz where the build has no lz4)
INSERT INTO t_toast (id, n, lz) SELECT 4, 0, repeat(string_agg(md5((g * 7)::text), ''), 3) FROM generate_series(1, 100) g;
-- 5: small value compressed inline
INSERT INTO t_toast (id, n, comp) VALUES (5, 0, repeat('c', 3000));
-- 6: all four big columns in one row
INSERT INTO t_toast (id, n, comp, rnd, ext, lz)
SELECT 6, 0, repeat(string_agg(md5((g + 1)::text), ''), 3), decode(string_agg(md5(random()::text), ''), 'hex'),
       repeat('E', 3000), repeat(string_agg(md5((g + 2)::text), ''), 3) FROM generate_series(1, 80) g;
UPDATE t_toast SET n = n + 1 WHERE id IN (1, 2, 3, 4, 6);   -- toasted columns untouched: unchanged-toast-datum
UPDATE t_toast SET comp = comp || 'z' WHERE id = 1;          -- new toasted value
BEGIN;
UPDATE t_toast SET n = n + 1 WHERE id = 6;
UPDATE t_toast SET lz = NULL, n = n + 1 WHERE id = 6;          -- one toasted column changed, others not
COMMIT;
DELETE FROM t_toast WHERE id = 2;                            -- delete of a toasted row
DELETE FROM t_toast WHERE id = 6;

-- ---------------------------------------------------------------- replica identity
INSERT INTO t_ri_default VALUES (1, 'a', 1), (2, 'b', 2), (3, 'c', 3);
UPDATE t_ri_default SET v = 'a2' WHERE id = 1;
UPDATE t_ri_default SET id = 20 WHERE id = 2;                -- primary key changes: old-key
DELETE FROM t_ri_default WHERE id = 3;
INSERT INTO t_ri_index VALUES (1, 'x', 'v', 1), (2, 'y', 'w', 2), (3, 'z', NULL, 3);
UPDATE t_ri_index SET v = 'v2' WHERE a = 1;
UPDATE t_ri_index SET b = 'y2' WHERE a = 2;                  -- identity key changes
DELETE FROM t_ri_index WHERE a = 1;
INSERT INTO t_ri_full VALUES (1, 'f', NULL, '2024-01-01'), (2, 'g', NULL, NULL);
INSERT INTO t_ri_full SELECT 3, 'toasted', repeat(string_agg(md5((g * 3)::text), ''), 3), NULL FROM generate_series(1, 100) g;
UPDATE t_ri_full SET v = 'f2' WHERE id = 1;
UPDATE t_ri_full SET d = '2024-12-31' WHERE id = 2;
UPDATE t_ri_full SET d = '2025-01-01' WHERE id = 3;          -- old tuple holds a toasted value
DELETE FROM t_ri_full WHERE id IN (2, 3);
INSERT INTO t_ri_nothing VALUES (1, 'n'), (2, 'm');
UPDATE t_ri_nothing SET v = 'n2' WHERE id = 1;
UPDATE t_ri_nothing SET id = 3 WHERE id = 2;
DELETE FROM t_ri_nothing WHERE id = 1;
INSERT INTO t_nokey VALUES (1, 'k'), (1, 'k'), (2, NULL);
UPDATE t_nokey SET v = 'k2' WHERE id = 1;
DELETE FROM t_nokey WHERE id = 1;

-- ---------------------------------------------------------------- HOT / non-HOT
INSERT INTO t_hot SELECT g, g, 'v' || g FROM generate_series(1, 40) g;
UPDATE t_hot SET v = 'hot' WHERE id <= 5;                    -- HOT
UPDATE t_hot SET k = k + 100 WHERE id BETWEEN 6 AND 8;       -- indexed column: not HOT
UPDATE t_hot SET v = repeat('w', 200) WHERE id BETWEEN 9 AND 30;   -- page fills up: some not HOT
UPDATE t_hot SET v = 'again' WHERE id <= 5;

-- ---------------------------------------------------------------- transactions
BEGIN;
INSERT INTO t_tx VALUES (1, 'main', 'top');
SAVEPOINT a; INSERT INTO t_tx VALUES (2, 'main', 'sub a, rolled back'); ROLLBACK TO a;
SAVEPOINT b; INSERT INTO t_tx VALUES (3, 'main', 'sub b, released'); RELEASE b;
SAVEPOINT c; INSERT INTO t_tx VALUES (4, 'main', 'sub c');
SAVEPOINT d; INSERT INTO t_tx VALUES (5, 'main', 'sub d (nested)'); UPDATE t_tx SET v = 'top, updated in sub d' WHERE id = 1;
RELEASE c;
SAVEPOINT e; DELETE FROM t_tx WHERE id = 3; ROLLBACK TO e;
INSERT INTO t_tx VALUES (6, 'main', 'after rollback to e');
COMMIT;
BEGIN; INSERT INTO t_tx VALUES (7, 'main', 'aborted'); SAVEPOINT x; INSERT INTO t_tx VALUES (8, 'main', 'aborted sub'); ROLLBACK;
BEGIN; UPDATE t_tx SET v = 'aborted update' WHERE id = 1; DELETE FROM t_tx WHERE id = 4; ROLLBACK;
-- 100 subtransactions, every third one aborted (more than 64: XACT_ASSIGNMENT)
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    BEGIN
      INSERT INTO t_tx VALUES (100 + i, 'main', 'subxact ' || i);
      IF i % 3 = 0 THEN RAISE EXCEPTION 'undo %', i; END IF;
    EXCEPTION WHEN raise_exception THEN NULL;
    END;
  END LOOP;
END $$;
-- an xid but no change: no output at all (nothing to decode)
BEGIN; SELECT txid_current() > 0 AS has_xid; COMMIT;
-- every change rolled back in a subtransaction: the plugins see an empty
-- transaction (test_decoding prints BEGIN/COMMIT unless skip-empty-xacts=1)
BEGIN; SAVEPOINT a; INSERT INTO t_tx VALUES (9, 'main', 'rolled back, empty commit'); ROLLBACK TO a; COMMIT;
BEGIN; SAVEPOINT a; UPDATE t_tx SET v = 'rolled back' WHERE id = 1; ROLLBACK TO a;
SAVEPOINT b; DELETE FROM t_tx WHERE id = 5; ROLLBACK TO b; COMMIT;

-- ---------------------------------------------------------------- 2PC
BEGIN; INSERT INTO t_2pc VALUES (1, 'commit prepared'); UPDATE t_2pc SET v = v || '!' WHERE id = 1;
PREPARE TRANSACTION 'pglcr_commit';
COMMIT PREPARED 'pglcr_commit';
BEGIN; INSERT INTO t_2pc VALUES (2, 'rollback prepared'); PREPARE TRANSACTION 'pglcr_rollback';
ROLLBACK PREPARED 'pglcr_rollback';
BEGIN; INSERT INTO t_2pc VALUES (3, 'prepared, committed later');
SAVEPOINT s; INSERT INTO t_2pc VALUES (4, 'prepared, in a subxact'); RELEASE s;
PREPARE TRANSACTION 'gid with ''quote'' and space';
INSERT INTO t_2pc VALUES (5, 'committed while 3 is prepared');
COMMIT PREPARED 'gid with ''quote'' and space';

-- ---------------------------------------------------------------- COPY
COPY t_copy (id, v, d, f) FROM STDIN;
1	one	2024-01-01	1.5
2	two\ttab	\N	-0
3	three, with "quotes"	1999-12-31	Infinity
4	\N	2000-01-01	NaN
\.
COPY t_copy (id, v, d, f) FROM STDIN WITH (FORMAT csv);
5,"csv, quoted",2024-06-30,1e10
6,,,
\.
INSERT INTO t_copy SELECT g, 'gen ' || g, '2024-01-01'::date + g, g / 7.0 FROM generate_series(10, 60) g;

-- ---------------------------------------------------------------- upsert
INSERT INTO t_upsert VALUES ('a', 1, 'new'), ('b', 1, 'new');
INSERT INTO t_upsert VALUES ('a', 2, 'x'), ('c', 1, 'new')
    ON CONFLICT (k) DO UPDATE SET n = t_upsert.n + excluded.n, note = 'updated';
INSERT INTO t_upsert VALUES ('b', 9, 'ignored'), ('d', 1, 'new') ON CONFLICT DO NOTHING;
INSERT INTO t_upsert VALUES ('d', 5, 'again') ON CONFLICT (k) DO UPDATE SET n = excluded.n WHERE t_upsert.n > 100;

-- ---------------------------------------------------------------- partitions
INSERT INTO t_part VALUES (1, 'eu', 'a'), (2, 'us', 'b'), (1500, 'us', 'c'), (3, 'asia', 'd');
UPDATE t_part SET region = 'eu' WHERE id = 3;                -- moves default -> eu
UPDATE t_part SET id = 2000 WHERE id = 2;                    -- moves us_low -> us_high
UPDATE t_part SET v = 'a2' WHERE id = 1;
DELETE FROM t_part WHERE id = 1500;

-- ---------------------------------------------------------------- unlogged (not in the output)
INSERT INTO t_unlogged SELECT g, 'u' FROM generate_series(1, 10) g;
UPDATE t_unlogged SET v = 'u2' WHERE id <= 5;
DELETE FROM t_unlogged WHERE id > 8;
BEGIN;
INSERT INTO t_unlogged VALUES (100, 'mixed');
INSERT INTO t_tx VALUES (20, 'main', 'same transaction as an unlogged insert');
COMMIT;

-- ---------------------------------------------------------------- logical messages
SELECT pg_logical_emit_message(true, 'pglcr', 'transactional message') IS NOT NULL AS msg;
SELECT pg_logical_emit_message(false, 'pglcr', 'non-transactional message') IS NOT NULL AS msg;
BEGIN;
INSERT INTO t_tx VALUES (30, 'main', 'with messages');
SELECT pg_logical_emit_message(true, 'pglcr-tx', E'inside, "quoted"\nsecond line') IS NOT NULL AS msg;
SELECT pg_logical_emit_message(false, 'pglcr-nontx', 'non-transactional, emitted inside a transaction') IS NOT NULL AS msg;
INSERT INTO t_tx VALUES (31, 'main', 'after messages');
COMMIT;
BEGIN;
SELECT pg_logical_emit_message(true, 'pglcr', 'in an aborted transaction') IS NOT NULL AS msg;
SELECT pg_logical_emit_message(false, 'pglcr', 'non-transactional in an aborted transaction') IS NOT NULL AS msg;
ROLLBACK;
SELECT pg_logical_emit_message(false, 'pglcr-utf8', E'h\u00e9llo \u2713') IS NOT NULL AS msg;
SELECT pg_logical_emit_message(true, 'pglcr-empty', '') IS NOT NULL AS msg;

-- ---------------------------------------------------------------- replication origin
SELECT pg_replication_origin_session_setup('pglcr_origin');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/AB0000', '2024-01-02 03:04:05.678901+00');
INSERT INTO t_origin VALUES (1, 'origin, xact_setup');
COMMIT;
INSERT INTO t_origin VALUES (2, 'origin, no xact_setup');
BEGIN;
INSERT INTO t_origin VALUES (3, 'origin, prepared');
PREPARE TRANSACTION 'pglcr_origin_gid';
COMMIT PREPARED 'pglcr_origin_gid';
BEGIN;
SELECT pg_replication_origin_xact_setup('0/AB1000', '2024-01-02 03:04:06+00');
INSERT INTO t_origin VALUES (4, 'origin, aborted');
ROLLBACK;
SELECT pg_logical_emit_message(true, 'pglcr-origin', 'transactional message under an origin') IS NOT NULL AS msg;
SELECT pg_logical_emit_message(false, 'pglcr-origin', 'non-transactional message under an origin') IS NOT NULL AS msg;
SELECT pg_replication_origin_session_reset();
INSERT INTO t_origin VALUES (5, 'local again');
