# Workload of the pgNN-logical cases (logical decoding output).  Source this
# file from testdata/generate; do not run it.  The SQL lives in logical-*.sql.
#
# Order (see case_logical in generate):
#   logical_setup     schema (DDL), pgbench -i, a session that owns a temp table
#   -> catalog.json, slots
#   logical_workload  DML only: logical-dml.sql, two interleaving sessions,
#                     temp-table DML, an aborted statement, pgbench, logical-dml-end.sql

# ----------------------------------------------------------------------------
# background sessions: psql reading from a fifo; every step waits until psql
# has executed it (psql touches a marker file afterwards), so the order of
# statements across sessions is deterministic.

declare -A BG_FD BG_PID BG_FIFO
BG_STEP=0

# bg_open <cluster> <session name>
bg_open() {
    local cl=$1 s=$2 fifo=$WORKROOT/bg-$1-$2 fd
    cl_bg_psql "$cl" postgres "$fifo"
    BG_PID[$s]=$!
    BG_FIFO[$s]=$fifo
    exec {fd}>"$fifo"
    BG_FD[$s]=$fd
}

# bg_step <session name> <sql>: run the SQL in that session and wait for it
bg_step() {
    local s=$1 sql=$2 marker i
    BG_STEP=$((BG_STEP + 1))
    marker=$WORKROOT/bg-step.$BG_STEP
    printf '%s\n\\! touch %s\n' "$sql" "$marker" >&"${BG_FD[$s]}"
    for i in $(seq 1 600); do
        [ -e "$marker" ] && return 0
        sleep 0.1
    done
    cat "${BG_FIFO[$s]}.out" >&2
    die "session $s did not finish: $sql"
}

# bg_close <session name>: end the session (its temp tables are dropped)
bg_close() {
    local s=$1 fd=${BG_FD[$1]}
    printf '\\q\n' >&"$fd"
    exec {fd}>&-
    wait "${BG_PID[$s]}" || { cat "${BG_FIFO[$s]}.out" >&2; die "session $s failed"; }
    cat "${BG_FIFO[$s]}.out" >>"$WORKROOT/workload.log"
}

# ----------------------------------------------------------------------------

# logical_psql_vars <cluster>: psql -v options telling the SQL files what the build supports
logical_psql_vars() {
    local cl=$1 xml=0 lz4=0
    cl_sql "$cl" "SELECT '<a/>'::xml" >/dev/null 2>&1 && xml=1
    cl_sql "$cl" "SET default_toast_compression = lz4" >/dev/null 2>&1 && lz4=1
    echo "-v has_xml=$xml -v has_lz4=$lz4"
}

pgbench_() {  # pgbench_ <cluster> <args...>
    local cl=$1
    shift
    as_pg "${CL_BIN[$cl]}/pgbench" -h "$WORKROOT/sock" -p "${CL_PORT[$cl]}" -U postgres "$@" postgres \
        >>"$WORKROOT/workload.log" 2>&1 || { tail -n 20 "$WORKROOT/workload.log" >&2; die "pgbench $* failed"; }
}

# logical_setup <cluster>: the schema; ends with the temp-table session open
logical_setup() {
    local cl=$1 vars
    vars=$(logical_psql_vars "$cl")
    log "  schema ($vars)"
    # shellcheck disable=SC2086
    wl "$cl" $vars -f "$WORKROOT/sql/logical-schema.sql"
    log "  pgbench -i"
    pgbench_ "$cl" -i -q
    # dropped columns (the accounts filler data stays in the old tuples); this
    # also keeps the outputs of the 400 pgbench transactions smaller
    wl "$cl" -c "ALTER TABLE pgbench_accounts DROP COLUMN filler" -c "ALTER TABLE pgbench_tellers DROP COLUMN filler" \
        -c "ALTER TABLE pgbench_branches DROP COLUMN filler" -c "ALTER TABLE pgbench_history DROP COLUMN filler"
    # a session that stays open across the workload: a temp table can only get
    # DML in the session that created it, and the workload does no DDL
    bg_open "$cl" T
    bg_step T "CREATE TEMP TABLE tmp_t (id int PRIMARY KEY, v text);"
}

# logical_workload <cluster> <with pgbench: 1/0>
logical_workload() {
    local cl=$1 vars
    vars=$(logical_psql_vars "$cl")
    log "  DML (logical-dml.sql)"
    # shellcheck disable=SC2086
    wl "$cl" $vars -f "$WORKROOT/sql/logical-dml.sql"

    log "  two sessions, interleaved transactions committing out of start order"
    bg_open "$cl" A
    bg_open "$cl" B
    bg_step A "BEGIN; INSERT INTO t_tx VALUES (50, 'A', 'A1: A starts first');"
    bg_step B "BEGIN; INSERT INTO t_tx VALUES (60, 'B', 'B1');"
    bg_step A "SAVEPOINT s1; INSERT INTO t_tx VALUES (51, 'A', 'A2, in a subtransaction'); RELEASE s1;"
    wl "$cl" -c "INSERT INTO t_tx VALUES (70, 'main', 'autocommit while A and B are open')"
    bg_step B "UPDATE t_tx SET v = 'B1, updated' WHERE id = 60; INSERT INTO t_tx VALUES (61, 'B', 'B2'); COMMIT;"
    bg_step A "INSERT INTO t_tx VALUES (52, 'A', 'A3, A commits after B'); COMMIT;"
    bg_step A "BEGIN; INSERT INTO t_tx VALUES (53, 'A', 'A, rolled back later');"
    bg_step B "BEGIN; INSERT INTO t_tx VALUES (62, 'B', 'B, prepared'); PREPARE TRANSACTION 'pglcr_conc_b';"
    bg_step A "INSERT INTO t_tx VALUES (54, 'A', 'A, rolled back later'); ROLLBACK;"
    bg_step A "BEGIN; INSERT INTO t_tx VALUES (55, 'A', 'A, commits before the prepared B'); COMMIT;"
    wl "$cl" -c "COMMIT PREPARED 'pglcr_conc_b'"
    bg_step A "BEGIN; INSERT INTO t_tx SELECT 1000 + g, 'A', 'A bulk' FROM generate_series(1, 20) g;"
    bg_step B "BEGIN; INSERT INTO t_tx SELECT 2000 + g, 'B', 'B bulk' FROM generate_series(1, 20) g;"
    bg_step A "UPDATE t_tx SET v = 'A bulk, updated' WHERE id BETWEEN 1001 AND 1005;"
    bg_step B "DELETE FROM t_tx WHERE id BETWEEN 2001 AND 2003; COMMIT;"
    bg_step A "COMMIT;"
    bg_close A
    bg_close B

    log "  temp table DML (not in the output)"
    bg_step T "INSERT INTO tmp_t SELECT g, 't' FROM generate_series(1, 10) g; UPDATE tmp_t SET v = 't2' WHERE id < 5; DELETE FROM tmp_t WHERE id > 8;"
    bg_step T "BEGIN; INSERT INTO tmp_t VALUES (100, 'mixed'); INSERT INTO t_tx VALUES (80, 'T', 'same transaction as a temp-table insert'); COMMIT;"

    log "  a statement that fails (top-level abort after some inserts)"
    cl_psql "$cl" -v ON_ERROR_STOP=0 -c \
        "INSERT INTO t_tx SELECT g, 'main', 'error abort' FROM generate_series(90, 95) g UNION ALL SELECT 1, 'main', 'duplicate'" \
        >>"$WORKROOT/workload.log" 2>&1 || true

    log "  pgbench -n -t 200 -c 2"
    pgbench_ "$cl" -n -t 200 -c 2

    log "  TRUNCATE (logical-dml-end.sql)"
    wl "$cl" -f "$WORKROOT/sql/logical-dml-end.sql"

    # how the big values were stored (for the log only)
    cl_sql "$cl" "SELECT 't_toast ' || id || ': ' || concat_ws(', ',
                    'comp ' || pg_column_size(comp) || '/' || octet_length(comp) || ' ' || coalesce(pg_column_compression(comp), '-'),
                    'rnd ' || pg_column_size(rnd) || '/' || octet_length(rnd) || ' ' || coalesce(pg_column_compression(rnd), '-'),
                    'ext ' || pg_column_size(ext) || '/' || octet_length(ext) || ' ' || coalesce(pg_column_compression(ext), '-'),
                    'lz ' || pg_column_size(lz) || '/' || octet_length(lz) || ' ' || coalesce(pg_column_compression(lz), '-'))
                  FROM t_toast ORDER BY id" | sed 's/^/[generate]     /' >&2
    local toastrel
    toastrel=$(cl_sql "$cl" "SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 't_toast'::regclass")
    log "    out-of-line values left in $toastrel: $(cl_sql "$cl" "SELECT count(DISTINCT chunk_id) FROM $toastrel")"
}

# logical_big_setup / logical_big_workload <cluster>: pg15-logical-big
logical_big_setup() { wl "$1" -f "$WORKROOT/sql/logical-big.sql"; }
logical_big_workload() {
    log "  200000-row transaction (logical-big-dml.sql)"
    wl "$1" -f "$WORKROOT/sql/logical-big-dml.sql"
}

# ddl_setup / ddl_workload <cluster>: pg15-ddl (DDL mixed with DML after the
# catalog and the slots; see ddl-workload.sql)
ddl_setup() { wl "$1" -f "$WORKROOT/sql/ddl-schema.sql"; }
ddl_workload() {
    local cl=$1
    log "  DDL and DML (ddl-workload.sql)"
    wl "$cl" -v ON_ERROR_STOP=1 -f "$WORKROOT/sql/ddl-workload.sql"
    log "  a transaction that interleaves with DDL committed by another session"
    bg_open "$cl" A
    bg_open "$cl" B
    bg_step A "BEGIN; INSERT INTO d_inter VALUES (1, 'A before the rename');"
    bg_step B "ALTER TABLE d_inter2 RENAME TO d_inter2_renamed;"
    bg_step B "BEGIN; ALTER TABLE d_inter2_renamed ADD COLUMN extra int DEFAULT 5; INSERT INTO d_inter2_renamed VALUES (1, 'B', 6);"
    bg_step A "INSERT INTO d_inter VALUES (2, 'A while B has uncommitted DDL');"
    bg_step B "COMMIT;"
    bg_step A "INSERT INTO d_inter2_renamed VALUES (2, 'A after B committed');"
    bg_step A "INSERT INTO d_inter VALUES (3, 'A after B committed'); COMMIT;"
    bg_close A
    bg_close B
    wl "$cl" -c "INSERT INTO d_inter VALUES (99, 'last change')"
}
