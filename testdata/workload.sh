# Workloads used by testdata/generate.  Source this file; do not run it.
# Every function takes the cluster name as first argument; the cluster is
# running when the function is called and is running when it returns.

# wal_methods_supported <cluster>: print the wal_compression methods the
# server accepts (pglz lz4 zstd subset), one line.
wal_methods_supported() {
    local cl=$1 m out=""
    for m in pglz lz4 zstd; do
        if cl_sql "$cl" "ALTER SYSTEM SET wal_compression = '$m'" >/dev/null 2>&1; then
            out+="$m "
        fi
    done
    cl_sql "$cl" "ALTER SYSTEM RESET wal_compression" >/dev/null
    echo "${out% }"
}

# fpi_rounds <cluster> <db> <table> <methods...>: for every method set
# wal_compression (reload), CHECKPOINT, then touch every page of the table so
# each page is logged as a full-page image compressed with that method.
fpi_rounds() {
    local cl=$1 db=$2 tbl=$3 m
    shift 3
    for m in "$@"; do
        log "  full-page images with wal_compression=$m"
        cl_sql "$cl" "ALTER SYSTEM SET wal_compression = '$m'" >/dev/null
        cl_reload "$cl"
        wl "$cl" -d "$db" <<EOF
CHECKPOINT;
SELECT pg_logical_emit_message(false, 'fpi-round', '$m');
UPDATE $tbl SET n = n + 1 WHERE id % 40 = 1;
EOF
    done
    cl_sql "$cl" "ALTER SYSTEM RESET wal_compression" >/dev/null
    cl_reload "$cl"
}

# meta <key> <value>: remember a value for choosing pg_waldump arguments later
meta() { printf '%s=%s\n' "$1" "$2" >>"$CASE_META"; }
meta_get() { sed -n "s/^$1=//p" "$CASE_META" | tail -n 1; }

# rel_triplet <cluster> <db> <table>: print spcOid/dbOid/relfilenode
rel_triplet() {
    cl_sql "$1" "SELECT CASE WHEN c.reltablespace = 0 THEN (SELECT dattablespace FROM pg_database WHERE datname = current_database()) ELSE c.reltablespace END
                 || '/' || (SELECT oid FROM pg_database WHERE datname = current_database())
                 || '/' || pg_relation_filenode(c.oid) FROM pg_class c WHERE c.oid = '$3'::regclass" "$2"
}

# broad_workload <cluster> <major> <big message bytes>
#   The "everything" workload of the pgNN-basic cases.
broad_workload() {
    local cl=$1 major=$2 bigmsg=$3
    local dir=$WORKROOT/$cl
    as_pg mkdir -p "$dir/tblspc"

    log "  tables, heap insert/update/HOT/delete, row locks"
    wl "$cl" <<'EOF'
CREATE TABLE t_heap (id int PRIMARY KEY, k int, v text, pad text);
INSERT INTO t_heap SELECT g, g, 'v' || g, repeat('p', 40) FROM generate_series(1, 150) g;
UPDATE t_heap SET v = v || '-u' WHERE id <= 5;             -- indexed column untouched but page full -> UPDATE
UPDATE t_heap SET k = k + 1000 WHERE id BETWEEN 6 AND 10;   -- HOT_UPDATE candidates
UPDATE t_heap SET id = id + 10000 WHERE id = 11;             -- key update
DELETE FROM t_heap WHERE id BETWEEN 21 AND 25;
BEGIN;
SELECT id FROM t_heap WHERE id = 31 FOR UPDATE;
SELECT id FROM t_heap WHERE id = 32 FOR NO KEY UPDATE;
SELECT id FROM t_heap WHERE id = 33 FOR SHARE;
SELECT id FROM t_heap WHERE id = 34 FOR KEY SHARE;
COMMIT;
-- speculative insertion (INSERT ... ON CONFLICT)
INSERT INTO t_heap VALUES (5001, 1, 'spec', 'x') ON CONFLICT (id) DO NOTHING;
INSERT INTO t_heap VALUES (5001, 2, 'spec2', 'x') ON CONFLICT (id) DO UPDATE SET v = excluded.v;
INSERT INTO t_heap VALUES (5001, 3, 'spec3', 'x') ON CONFLICT (id) DO NOTHING;
EOF
    meta rel_heap "$(rel_triplet "$cl" postgres t_heap)"

    log "  MultiXacts and LOCK_UPDATED (locks held by prepared transactions)"
    wl "$cl" <<'EOF'
BEGIN; SELECT id FROM t_heap WHERE id = 40 FOR SHARE; SELECT id FROM t_heap WHERE id = 41 FOR KEY SHARE;
PREPARE TRANSACTION 'locker';
EOF
    wl "$cl" <<'EOF'
SELECT id FROM t_heap WHERE id = 40 FOR SHARE;          -- two share lockers -> MultiXact
UPDATE t_heap SET k = k + 1 WHERE id = 41;               -- key-share locker + updater -> MultiXact
BEGIN; UPDATE t_heap SET k = k + 1 WHERE id = 42; PREPARE TRANSACTION 'updater';
EOF
    wl "$cl" <<'EOF'
SELECT id FROM t_heap WHERE id = 42 FOR KEY SHARE;       -- locks the updated version too
COMMIT PREPARED 'locker';
COMMIT PREPARED 'updater';
EOF

    log "  COPY (multi-insert), TOAST"
    wl "$cl" <<EOF
CREATE TABLE t_copy (id int, md5 text, n int);
COPY (SELECT g, md5(g::text), g % 7 FROM generate_series(1, 300) g) TO '$dir/copy.dat';
COPY t_copy FROM '$dir/copy.dat';
CREATE TABLE t_toast (id int PRIMARY KEY, n int, comp text, rnd bytea, ext text);
ALTER TABLE t_toast ALTER COLUMN ext SET STORAGE EXTERNAL;
-- compressible (pglz) but still large enough to be moved out of line
INSERT INTO t_toast SELECT 1, 0, repeat(string_agg(md5(g::text), ''), 40), NULL, NULL FROM generate_series(1, 100) g;
-- incompressible random bytes (stored out of line uncompressed)
INSERT INTO t_toast SELECT 2, 0, NULL, decode(string_agg(md5(random()::text), ''), 'hex'), NULL FROM generate_series(1, 700) g;
-- external storage: out of line, never compressed
INSERT INTO t_toast SELECT 3, 0, 'small', NULL, repeat('e', 5000);
-- small compressible inline value
INSERT INTO t_toast VALUES (4, 0, repeat('c', 3000), NULL, NULL);
UPDATE t_toast SET n = n + 1 WHERE id IN (1, 2);         -- toasted columns untouched
UPDATE t_toast SET comp = comp || 'z' WHERE id = 1;      -- new toast value
DELETE FROM t_toast WHERE id = 3;
EOF
    if cl_sql "$cl" "SET default_toast_compression = lz4" >/dev/null 2>&1; then
        wl "$cl" <<'EOF'
SET default_toast_compression = lz4;
CREATE TABLE t_toast_lz4 (id int, comp text);
INSERT INTO t_toast_lz4 SELECT 1, repeat(string_agg(md5(g::text), ''), 40) FROM generate_series(1, 100) g;
EOF
        meta toast_lz4 yes
    fi

    log "  indexes: btree, gin, gist, brin, hash, spgist"
    wl "$cl" <<'EOF'
CREATE TABLE t_idx (id int, arr int[], pt point, rng int4range, h text, p text, k int);
CREATE INDEX t_idx_btree ON t_idx (k);
CREATE INDEX t_idx_gin ON t_idx USING gin (arr);
CREATE INDEX t_idx_gin_nofast ON t_idx USING gin (arr) WITH (fastupdate = off);
CREATE INDEX t_idx_gist ON t_idx USING gist (rng);
CREATE INDEX t_idx_brin ON t_idx USING brin (id) WITH (pages_per_range = 2);
CREATE INDEX t_idx_hash ON t_idx USING hash (h);
CREATE INDEX t_idx_spgist ON t_idx USING spgist (pt);
INSERT INTO t_idx SELECT g, ARRAY[g % 10, g % 7, g], point(g % 37, g % 23), int4range(g, g + 10),
       'h' || g, 'p' || g, g % 5 FROM generate_series(1, 160) g;
SELECT brin_summarize_new_values('t_idx_brin');
DELETE FROM t_idx WHERE id % 3 = 0 OR id > 130;
VACUUM t_idx;
INSERT INTO t_idx SELECT g, ARRAY[g], point(g, g), int4range(g, g + 1), 'h' || g, 'p' || g, g FROM generate_series(301, 320) g;
EOF
    meta rel_idx "$(rel_triplet "$cl" postgres t_idx)"

    log "  sequences, identity, TRUNCATE CASCADE RESTART IDENTITY"
    wl "$cl" <<'EOF'
CREATE SEQUENCE s1;
SELECT nextval('s1') FROM generate_series(1, 70);
SELECT setval('s1', 1000);
SELECT setval('s1', 5, false);
CREATE TABLE t_parent (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, v text);
CREATE TABLE t_child (pid int REFERENCES t_parent, v text);
INSERT INTO t_parent (v) SELECT 'x' FROM generate_series(1, 10);
INSERT INTO t_child SELECT id, 'c' FROM t_parent;
TRUNCATE t_parent RESTART IDENTITY CASCADE;
INSERT INTO t_parent (v) VALUES ('after truncate');
CREATE TABLE t_trunc (a int);
INSERT INTO t_trunc VALUES (1);
TRUNCATE t_trunc;
EOF

    log "  HOT pruning, VACUUM, VACUUM FREEZE, visibility map, hint bits"
    wl "$cl" <<'EOF'
CREATE TABLE t_vac (id int PRIMARY KEY, n int, pad text) WITH (fillfactor = 60);
INSERT INTO t_vac SELECT g, 0, repeat('v', 60) FROM generate_series(1, 250) g;
CHECKPOINT;
SELECT count(*) FROM t_vac;   -- sets hint bits -> FPI_FOR_HINT (wal_log_hints / checksums)
EOF
    # many single-row updates of the same rows, each in its own transaction,
    # so that opportunistic pruning kicks in
    for _ in $(seq 1 6); do
        wl "$cl" -c "UPDATE t_vac SET n = n + 1 WHERE id <= 20" -c "UPDATE t_vac SET n = n + 1 WHERE id <= 20" \
            -c "UPDATE t_vac SET n = n + 1 WHERE id <= 20" -c "UPDATE t_vac SET n = n + 1 WHERE id <= 20"
    done
    wl "$cl" <<'EOF'
DELETE FROM t_vac WHERE id % 4 = 0;
DELETE FROM t_vac WHERE id > 200;   -- empty pages at the end -> truncation
VACUUM t_vac;
VACUUM (FREEZE) t_vac;
UPDATE t_vac SET n = n + 1 WHERE id = 101;   -- clears VM bits
VACUUM (FREEZE, DISABLE_PAGE_SKIPPING) t_vac;
EOF
    meta rel_vac "$(rel_triplet "$cl" postgres t_vac)"

    log "  2PC, subtransactions, >64 subxacts"
    wl "$cl" <<'EOF'
CREATE TABLE t_tx (id int, v text);
BEGIN; INSERT INTO t_tx VALUES (1, 'prepared-commit'); PREPARE TRANSACTION 'p_commit';
COMMIT PREPARED 'p_commit';
BEGIN; INSERT INTO t_tx VALUES (2, 'prepared-abort'); CREATE TABLE t_tx_dropped (a int); PREPARE TRANSACTION 'p_abort';
ROLLBACK PREPARED 'p_abort';
BEGIN;
INSERT INTO t_tx VALUES (3, 'top');
SAVEPOINT a; INSERT INTO t_tx VALUES (4, 'sub a'); ROLLBACK TO a;
SAVEPOINT b; INSERT INTO t_tx VALUES (5, 'sub b'); RELEASE b;
SAVEPOINT c; INSERT INTO t_tx VALUES (6, 'sub c');
SAVEPOINT d; INSERT INTO t_tx VALUES (7, 'sub d');
COMMIT;
BEGIN; INSERT INTO t_tx VALUES (8, 'aborted'); SAVEPOINT x; INSERT INTO t_tx VALUES (9, 'aborted sub'); ROLLBACK;
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    BEGIN
      INSERT INTO t_tx VALUES (100 + i, 'subxact');
    EXCEPTION WHEN others THEN NULL;
    END;
  END LOOP;
END $$;
EOF

    log "  logical messages, replication origins, logical slot, catalog rewrite"
    wl "$cl" <<EOF
SELECT pg_logical_emit_message(true, 'pglcr', 'transactional message');
SELECT pg_logical_emit_message(false, 'pglcr', 'non-transactional message');
SELECT pg_logical_emit_message(false, 'pglcr-bin', '\x00ff10'::bytea);
BEGIN;
SELECT pg_logical_emit_message(true, 'pglcr-page', repeat('m', 20000));  -- crosses pages
INSERT INTO t_tx VALUES (1000, 'with message');
COMMIT;
SELECT pg_logical_emit_message(false, 'pglcr-big', repeat('B', $bigmsg));
SELECT pg_replication_origin_create('origin_a');
SELECT pg_replication_origin_create('origin_b');
SELECT pg_replication_origin_advance('origin_b', '0/12345678');
SELECT pg_replication_origin_drop('origin_b');
EOF
    wl "$cl" <<'EOF'
SELECT pg_replication_origin_session_setup('origin_a');
BEGIN;
SELECT pg_replication_origin_xact_setup('0/AB0000', '2024-01-02 03:04:05.678901+00');
INSERT INTO t_tx VALUES (2000, 'replicated');
COMMIT;
BEGIN;
SELECT pg_replication_origin_xact_setup('0/AB1000', '2024-01-02 03:04:06+00');
INSERT INTO t_tx VALUES (2001, 'replicated, aborted');
ROLLBACK;
BEGIN;
INSERT INTO t_tx VALUES (2002, 'replicated, prepared');
PREPARE TRANSACTION 'p_origin';
SELECT pg_replication_origin_xact_setup('0/AB2000', '2024-01-02 03:04:07+00');
COMMIT PREPARED 'p_origin';
SELECT pg_replication_origin_session_reset();
EOF
    wl "$cl" <<'EOF'
SELECT 'slot' FROM pg_create_logical_replication_slot('pglcr_slot', 'pgoutput');
VACUUM FULL pg_class;           -- relmap update, catalog rewrite (logical mapping)
CREATE INDEX t_copy_id ON t_copy (id);
CLUSTER t_copy USING t_copy_id;
EOF
    wl "$cl" <<'EOF'
SELECT pg_drop_replication_slot('pglcr_slot');
SELECT pg_create_restore_point('pglcr_restore_point');
CHECKPOINT;
EOF

    log "  tablespace, unlogged table, CREATE/DROP DATABASE"
    wl "$cl" <<EOF
CREATE TABLESPACE ts1 LOCATION '$dir/tblspc';
CREATE TABLE t_ts (id int, v text) TABLESPACE ts1;
INSERT INTO t_ts SELECT g, 'ts' || g FROM generate_series(1, 50) g;
CREATE UNLOGGED TABLE t_unlogged (id int PRIMARY KEY, v text);
INSERT INTO t_unlogged SELECT g, 'u' FROM generate_series(1, 100) g;
CREATE DATABASE db_file_copy STRATEGY = file_copy;
CREATE DATABASE db_wal_log STRATEGY = wal_log;
EOF
    meta rel_ts "$(rel_triplet "$cl" postgres t_ts)"
    wl "$cl" -d db_file_copy -c "CREATE TABLE t_in_db (a int); INSERT INTO t_in_db VALUES (1), (2);"
    wl "$cl" <<'EOF'
DROP DATABASE db_file_copy;
DROP DATABASE db_wal_log;
DROP TABLE t_ts;
DROP TABLESPACE ts1;
DROP TABLE t_trunc;
DROP TABLE t_unlogged;
EOF

    log "  full-page images with wal_compression"
    wl "$cl" <<'EOF'
CREATE TABLE t_fpi (id int, n int, pad text);
INSERT INTO t_fpi SELECT g, 0, md5(g::text) || repeat('f', 100) FROM generate_series(1, 600) g;
EOF
    # shellcheck disable=SC2046
    fpi_rounds "$cl" postgres t_fpi off $(wal_methods_supported "$cl")

    log "  PARAMETER_CHANGE (restart with new max_connections, track_commit_timestamp)"
    wl "$cl" <<'EOF'
ALTER SYSTEM SET max_connections = 42;
ALTER SYSTEM SET track_commit_timestamp = on;
EOF
    cl_restart "$cl"
    wl "$cl" <<'EOF'
INSERT INTO t_tx VALUES (3000, 'after restart');
SELECT pg_switch_wal() IS NOT NULL AS switched;
INSERT INTO t_tx VALUES (3001, 'after switch');
EOF
}
