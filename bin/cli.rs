//! The `pglcr` command line definition. Kept apart from `main` so the man-page test can build
//! the same definition.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "pglcr",
    version,
    about = "Read PostgreSQL write-ahead log offline",
    long_about = "pglcr reads PostgreSQL write-ahead log (WAL) segment files offline, without a \
                  server connection, and shows them as pg_waldump does.",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Display WAL records, as pg_waldump does
    #[command(
        long_about = "Decode and display WAL records, with the same options and the same output \
                      as pg_waldump of the PostgreSQL version that wrote the WAL.\n\n\
                      WAL from PostgreSQL 13 to 18 is read; the version is taken from each \
                      segment's page headers. Output is verified byte for byte against \
                      pg_waldump 15, 16 and 18; 13, 14 and 17 follow those versions' documented \
                      formats.\n\n\
                      Segments may be plain, .partial, or compressed archive copies (.zst, .gz). \
                      Timestamps are shown in the time zone of the TZ environment variable, as \
                      pg_waldump shows them.\n\n\
                      Exit status: 0 when the requested range was read (or the WAL ended \
                      normally: a zeroed tail, a recycled segment, or no further segment), 1 \
                      on damaged or missing WAL and on invalid arguments.",
        after_help = "Examples:\n  pglcr dump -p /var/lib/postgresql/15/main/pg_wal 000000010000000000000001\n  \
                      pglcr dump -p /archive -s 0/3000028 -e 0/4000000 --rmgr=Heap\n  \
                      pglcr dump -p /archive --stats=record 000000010000000000000001 000000010000000000000009"
    )]
    Dump(DumpArgs),

    /// Export and inspect the relation and type dictionary
    #[command(
        long_about = "Work with the relation and type dictionary (see pglcr-catalog(5)): what WAL \
                      alone cannot tell about tables, columns and types, taken from a live server."
    )]
    Catalog(CatalogArgs),

    /// Decode WAL into the row changes of committed transactions
    #[command(
        long_about = "Decode WAL offline into the changes of committed transactions, in commit \
                      order, printed as PostgreSQL's logical decoding output plugin would print \
                      them for a slot: `--format test_decoding` and `--format wal2json` \
                      (wal2json 2.5, format versions 1 and 2) give byte-identical output.\n\n\
                      A catalog dictionary (`pglcr catalog export`, pglcr-catalog(5)) tells \
                      tables, columns and types; it must be taken from the same database \
                      system before the WAL to decode, and with no DDL in between.\n\n\
                      Start: --start is a logical slot's consistent point (what \
                      pg_create_logical_replication_slot returns; default: the LSN the catalog \
                      was taken at). Transactions committed before it are not shown; if a \
                      RUNNING_XACTS record is at the start, transactions that began before it \
                      are not shown either, as a slot created there would not show them.\n\n\
                      Output is written as pg_recvlogical -f writes it: each message followed \
                      by a newline. Values print in the server's TimeZone as saved in the \
                      catalog (--timezone overrides). A type whose output is not implemented is \
                      an error naming the type, never approximate text.\n\n\
                      `--format json` is pglcr's own format, made for programs: one JSON object \
                      per line and per change, keys always in the same order. Every line has \
                      \"kind\" (insert, update, delete, truncate, message; with --two-phase \
                      also prepare, commit_prepared, rollback_prepared), \"xid\", \
                      \"commit_lsn\" and \"commit_time\" of its transaction (so lines can be \
                      grouped by transaction; there are no begin or commit lines), \"lsn\" of \
                      the change and \"origin\". Row changes add \"schema\", \"table\", \
                      \"relid\", \"columns\" (the new row; null for a delete), \"old_key\" \
                      (the replica identity of the old row; null when it was not logged) and, \
                      when some values of an update were not in the WAL, \"unchanged_toast\" \
                      (their column names). Each column is {\"name\", \"type\", \"type_oid\", \
                      \"value\"}; a value is the text PostgreSQL's output function prints, as \
                      a JSON string even for numbers (JSON numbers would lose numeric, bigint \
                      and float precision), or null. Truncates list \"relations\" with \
                      \"cascade\" and \"restart_seqs\"; messages have \"transactional\", \
                      \"prefix\" and \"content\" (or \"content_hex\" when not UTF-8). It takes \
                      no -o options. The README's \"pglcr decode\" section documents every \
                      field.",
        after_help = "Examples:\n  pglcr decode --catalog cat.json -p /archive --start 0/3000060\n  \
                      pglcr decode --catalog cat.json -p /archive -o include-xids=0 -o skip-empty-xacts=1 -f changes.txt\n  \
                      pglcr decode --catalog cat.json -p /archive --format wal2json -o format-version=2 -o include-lsn=1\n  \
                      pglcr decode --catalog cat.json -p /archive --format json -f changes.jsonl"
    )]
    Decode(DecodeArgs),

    /// Apply LCR files to a target database, each source transaction exactly once
    #[command(
        disable_help_flag = true,
        long_about = "Replay the LCR files of a directory (as `pglcr decode --spool` writes \
                      them, or as shipped elsewhere) into a target database: each source \
                      transaction becomes a transaction on the target, in commit order. The \
                      target's schema is the operator's: tables must exist with the same names \
                      and columns; DDL is not applied.\n\n\
                      Exactly once: the position (end LSN of the last source commit applied) is \
                      recorded in the same target transaction, with a replication origin \
                      (pg_replication_origin_xact_setup; default name pglcr_<system \
                      identifier>_<database oid>), which also marks the changes so that \
                      decoding the target with -o only-local leaves them out; or, when the role \
                      may not use origins (or with --progress table), in the table \
                      pglcr.apply_progress. A rerun continues after the recorded position.\n\n\
                      Rows are found by their replica identity (primary key, identity index, or \
                      the whole old row for FULL); a table without one (identity NOTHING, or no \
                      key) gets inserts only, its updates and deletes are logged in \
                      pglcr.conflicts and counted as unkeyed. Triggers and rules do not fire \
                      (session_replication_role = replica). Conflicts are handled per \
                      --on-conflict and --conflict-config and logged in pglcr.conflicts (time, \
                      origin, source xid and commit LSN, relation, kind, resolution, key, local \
                      and remote rows); counters are kept in pglcr.apply_stats (--stats shows \
                      them). last_update_wins compares the commit time of the local row \
                      (pg_xact_commit_timestamp_origin(xmin), so the target needs \
                      track_commit_timestamp = on) with the source commit time: the later wins, \
                      a tie goes to the node whose name sorts last (the target's own changes \
                      count as node pglcr_<its system identifier>_<its database oid>).\n\n\
                      Conflict config file (--conflict-config): one line per table, a \
                      [schema.]table pattern (as --tables) then KIND=POLICY items; # starts a \
                      comment. The first line matching a table gives its policies; kinds it does \
                      not name keep the --on-conflict defaults. Example:\n  \
                      public.accounts  insert_exists=last_update_wins update_origin_differs=last_update_wins\n  \
                      audit.*          insert_exists=skip delete_missing=error\n\n\
                      With --follow, apply waits for new files at the end of the files (a \
                      transaction continued in a file not yet arrived waits too; a file being \
                      shipped is not read before it has its final name) and runs until SIGTERM \
                      or SIGINT, which stop it between target transactions with its progress \
                      saved (exit status 0), as a service manager expects. In origin mode commits \
                      are asynchronous (synchronous_commit = off, as in PostgreSQL's apply \
                      worker): a commit lost in a crash of the target loses its progress with it \
                      and is applied again. A deadlock or serialization \
                      failure retries the transaction; any other error stops with a message \
                      naming the LCR file, source transaction, commit LSN, relation and row, \
                      with nothing of that transaction applied.\n\n\
                      Connection: as with psql (-d connection string or URI, -h, -p, -U, PG* \
                      environment variables, ~/.pgpass).",
        after_help = "Examples:\n  pglcr apply --from /spool -d 'host=dr1 dbname=sales'\n  \
                      pglcr apply --from /spool -d sales --on-conflict insert_exists=update --group-commit 100\n  \
                      pglcr apply --from /spool -d sales --until '2026-11-22 04:00:00+00'\n  \
                      pglcr apply --from /spool -d sales --follow --apply-delay 1h\n  \
                      pglcr apply -d sales --stats"
    )]
    Apply(ApplyArgs),

    /// Read, list and check LCR files
    #[command(
        long_about = "Inspect LCR files (pglcr-lcr(5)), as `pglcr decode --spool` writes them."
    )]
    Lcr(LcrArgs),

    /// Copy a WAL file into an archive directory: PostgreSQL's archive_command
    #[command(
        long_about = "Copy a file PostgreSQL hands to archive_command into an archive \
                      directory, durably: written under a temporary name (.NAME.XXXXXX.tmp) in \
                      that directory, synced to disk, renamed to NAME (never over an existing \
                      file), then the directory synced; only then does pglcr exit 0 and may \
                      PostgreSQL recycle the file. In postgresql.conf:\n\n\
                      \x20   archive_mode = on\n\
                      \x20   archive_command = 'pglcr archive %p %f --to /path/to/wal-archive'\n\n\
                      NAME must be a WAL segment name (optionally with .partial), a timeline \
                      history file (00000002.history) or a backup history file \
                      (000000010000000000000002.00000028.backup). A segment's first page \
                      header must match its name (position, segment size) and the file must be \
                      one segment long. With --compress segments are stored as NAME.zst \
                      (zstd), which pglcr dump, decode and restore read; history and backup \
                      files are always stored as they are. DIR must exist: it is not created, \
                      so that a missing mount does not silently become a local copy.\n\n\
                      A file already in the archive (plain or compressed) is never replaced. \
                      PostgreSQL archives a segment again after a crash; when its valid WAL \
                      (its pages from the first up to the first zeroed, recycled or damaged \
                      one) is the same as the archived copy's, that is success with a warning, \
                      whatever the tail after it holds. Anything else is a conflict: an error \
                      naming the archived file, which is left untouched (PostgreSQL keeps the \
                      segment and retries until someone resolves it).\n\n\
                      Exit status: 0 when the file was archived, or already was (with a \
                      warning); 1 on any error.",
        after_help = "Examples:\n  archive_command = 'pglcr archive %p %f --to /mnt/wal-archive'\n  \
                      archive_command = 'pglcr archive %p %f --to /mnt/wal-archive --compress'"
    )]
    Archive(ArchiveArgs),

    /// Copy a WAL file from an archive directory: PostgreSQL's restore_command
    #[command(
        long_about = "Copy a file PostgreSQL asks restore_command for out of an archive \
                      directory (as pglcr archive writes it, or plain copies) to the path it \
                      gives. In postgresql.conf, with recovery.signal or standby.signal in the \
                      data directory:\n\n\
                      \x20   restore_command = 'pglcr restore %f %p --from /path/to/wal-archive'\n\n\
                      NAME is looked for as NAME, NAME.zst and NAME.gz, decompressed as \
                      needed, checked (a segment's first page header must match its name and \
                      the file must be one segment long) and written durably to DEST: under a \
                      temporary name in DEST's directory, synced, renamed over DEST, then the \
                      directory synced.\n\n\
                      Exit status: 0 when the file was restored; 1 when the archive does not \
                      have it (a one-line note on stderr; PostgreSQL asks for files that may \
                      not exist, such as the next segment or a later timeline's history file, \
                      and takes this as the end of the archived WAL); 126 on other errors \
                      (invalid name, damaged or misnamed archive copy, I/O error), with \
                      nothing written to DEST. PostgreSQL takes a status below 126 as \
                      \"not available\" and ends recovery there, quietly: a damaged archive \
                      would end recovery short of the data it holds. Above 125 it stops \
                      recovery with an error instead, and the operator can repair the \
                      archive and start again.",
        after_help = "Examples:\n  restore_command = 'pglcr restore %f %p --from /mnt/wal-archive'\n  \
                      pglcr restore 000000010000000000000003 /tmp/000000010000000000000003 --from /mnt/wal-archive"
    )]
    Restore(RestoreArgs),

    /// Remove archived WAL and LCR files no consumer needs any more
    #[command(
        long_about = "Remove WAL segments from an archive directory and LCR files from spools \
                      once no consumer needs them, and never sooner: pglcr's wal_keep_size and \
                      replication-slot retention for files outside PostgreSQL.\n\n\
                      What is needed is read, never guessed: each spool's decoder needs WAL from \
                      its restart_lsn on, or from its catalog's checkpoint redo point when \
                      earlier (state.json; before its first run, from the catalog's LSN or redo \
                      point); as archive_cleanup_command, the standby needs WAL from the segment \
                      it names (%r) on; each ship destination (SPOOL/ship/NAME.json) needs the \
                      LCR files after the last one it acknowledged; each registered apply \
                      consumer needs the files holding commits after the position it applied \
                      (read from its target database, or from an acknowledgement file it ships \
                      back). A spool with no destination and no consumer keeps its LCR files.\n\n\
                      Consumers are registered once and kept in the spool \
                      (SPOOL/consumers/NAME.json), so that every later run, from cron or \
                      --interval, counts them: --register NAME=CONNSTR (a libpq connection \
                      string or URI of the target; the position is the replication origin or \
                      pglcr.apply_progress row pglcr apply keeps there, origin name \
                      pglcr_<system identifier>_<database oid> unless --origin says otherwise) \
                      or --register NAME=file:PATH (a JSON file {\"format\": \
                      \"pglcr-apply-ack\", \"format_version\": 1, \"applied_lsn\": \"X/X\"}). \
                      A consumer whose position cannot be read keeps every file, and the run \
                      exits 1.\n\n\
                      Keep policies keep more: --keep-segments and --keep-size keep that much WAL \
                      before the oldest segment needed, --keep-age keeps files modified within \
                      that time (durations as PostgreSQL settings: 30s, 3min, 12h, 7d). \
                      --max-size caps what the archive and the spools' LCR files hold together: \
                      when keeping what consumers need would exceed it, pglcr retain removes \
                      what it may, names each consumer and what it holds back, and exits 3. \
                      With --allow-consumer-loss it removes the oldest files consumers still \
                      need (LCR files first, then WAL) down to the cap, after marking those \
                      consumers broken in their state with a message naming the file removed: \
                      they then fail clearly instead of skipping data. Keep policies are never \
                      overridden. History files (*.history) and names not recognised are never \
                      removed.\n\n\
                      Without --confirm nothing is removed: the run prints what would go, and \
                      why each kept file is kept. With --confirm the spools are locked (as \
                      decode locks them), files are unlinked in name order and each directory \
                      is synced once; the run is recorded in SPOOL/retain.json for pglcr \
                      status. --interval repeats the run (default every 3min).\n\n\
                      Exit status: 0 on success; 1 on errors (including consumers whose \
                      position could not be read); 3 when --max-size cannot be met without \
                      losing what a consumer needs; 75 when a spool is locked by another pglcr \
                      process (try again later).",
        after_help = "Examples:\n  pglcr retain --archive /mnt/wal-archive --spool /var/lib/pglcr/sales\n  \
                      pglcr retain --archive /mnt/wal-archive --spool /var/lib/pglcr/sales --keep-size 1GB --keep-age 2d --confirm\n  \
                      pglcr retain --spool /var/lib/pglcr/sales --register dr1='host=dr1 dbname=sales user=pglcr'\n  \
                      pglcr retain --spool /var/lib/pglcr/sales --register dr2=file:/var/lib/pglcr/acks/dr2.json\n  \
                      pglcr retain --archive /mnt/wal-archive --spool /var/lib/pglcr/sales --max-size 200GB --confirm --interval\n  \
                      archive_cleanup_command = 'pglcr retain --confirm --archive-cleanup /mnt/wal-archive %r'"
    )]
    Retain(RetainArgs),

    /// Show where each stage of the pipeline stands, for people and for monitoring
    #[command(
        long_about = "Show the state of the pipeline, per stage: the archive (segments, bytes, \
                      newest segment), each spool's decoder (resume and restart positions, last \
                      LCR file, newest commit decoded, WAL not yet decoded), each ship \
                      destination and each registered apply consumer (position, lag in bytes \
                      and in seconds of commit time behind the newest decoded commit, LCR files \
                      and bytes kept for it, broken or unreadable), what holds retention back, \
                      and the last pglcr retain --confirm run with its errors.\n\n\
                      --format json prints the same as one JSON document; --format prometheus \
                      prints metrics named pglcr_* with spool, destination and consumer labels \
                      in the text format node_exporter's textfile collector reads. -o FILE \
                      writes the output durably under a temporary name first, as the textfile \
                      collector needs.\n\n\
                      Exit status: 0 when every stage could be read and none is broken; 1 \
                      otherwise (the output still shows everything that could be read).",
        after_help = "Examples:\n  pglcr status --archive /mnt/wal-archive --spool /var/lib/pglcr/sales\n  \
                      pglcr status --spool /var/lib/pglcr/sales --format json\n  \
                      pglcr status --archive /mnt/wal-archive --spool /var/lib/pglcr/sales --format prometheus -o /var/lib/node_exporter/pglcr.prom"
    )]
    Status(StatusArgs),

    /// Send a spool's LCR files to another directory or host, each acknowledged once stored
    #[command(
        long_about = "Send every complete LCR file of a spool (as `pglcr decode --spool` writes \
                      it) that destination NAME has not acknowledged yet, in order, to a \
                      directory (local disk or a mounted network file system; it must exist) \
                      or to a directory on another host over SSH \
                      (ssh://[user@]host[:port]/path; /~/path is relative to the login \
                      directory).\n\n\
                      Each file is written under a temporary name, checked (SHA-256 of what \
                      was stored against the spool's file: the sum pglcr decode recorded \
                      beside it in NAME.sha256, as sha256sum prints it, or computed where \
                      there is none; a file that does not match its recorded sum is not \
                      shipped), fsynced, renamed into place and \
                      its directory fsynced; only then is it listed in the destination's \
                      manifest (pglcr.manifest: name, size, SHA-256, LSN range, one \
                      tab-separated line per file) and acknowledged in the spool \
                      (SPOOL/ship/NAME.json). Acknowledgements advance in name order, also with \
                      --jobs. A run can be killed at any point: the next one sends what is not \
                      acknowledged; a file the destination already holds with the same \
                      contents counts as shipped, one with other contents stops shipping to \
                      that destination with an error naming it.\n\n\
                      SSH uses the system's OpenSSH client with its configuration, keys and \
                      known_hosts, in batch mode (never a prompt), one connection per transfer \
                      job. Options for it go in --ssh-command or the PGLCR_SSH \
                      environment variable, like rsync -e (e.g. \"ssh -i ~/.ssh/ship_key -o \
                      UserKnownHostsFile=/etc/pglcr/known_hosts\"); they take precedence over \
                      pglcr's own. The cipher is the one ssh chooses; on CPUs with AES \
                      instructions \"-c aes128-gcm@openssh.com\" (or \"Ciphers \
                      aes128-gcm@openssh.com\" in ~/.ssh/config) takes about half the CPU of \
                      the default chacha20-poly1305, which is most of what a transfer costs. \
                      The far side needs only a POSIX shell, dd (or head), wc, sha256sum (or \
                      the faster openssl, used when it works), mv and sync: not pglcr. Connection failures (ssh exit status 255, \
                      refused or reset connections, data damaged in transit) are retried with \
                      exponential backoff (1 s, 2 s, 4 s... at most 60 s), --retries times.\n\n\
                      --verify checks the destination: every file in its manifest must be \
                      there with that SHA-256, and every acknowledged file still in the spool \
                      must be in the manifest with the spool's SHA-256. --repair also sends \
                      again every damaged or missing file the spool still has.\n\n\
                      A one-line summary goes to stderr (files, bytes, rate); on a terminal a \
                      progress bar too.\n\n\
                      Exit status: 0 when files were shipped (with --verify: the destination \
                      is correct; with --repair: every problem was fixed); 3 when there was \
                      nothing to ship; 4 on a partial failure (some files were shipped and \
                      acknowledged, then an error stopped the run: rerun); 1 on any other \
                      error, nothing acknowledged (also when --verify finds problems or \
                      --repair cannot fix them all); 75 when another pglcr process is shipping \
                      to that destination (try again later).",
        after_help = "Examples:\n  pglcr ship --spool /var/lib/pglcr/spool --to /mnt/dr1/lcr --name dr1\n  \
                      pglcr ship --spool /var/lib/pglcr/spool --to ssh://pglcr@dr1.example.com/srv/lcr --jobs 4 --max-rate 50MB\n  \
                      PGLCR_SSH='ssh -i ~/.ssh/ship_key' pglcr ship --spool /var/lib/pglcr/spool --to ssh://dr1/~/lcr\n  \
                      pglcr ship --spool /var/lib/pglcr/spool --to ssh://dr1/~/lcr --verify\n  \
                      */5 * * * *  pglcr ship --spool /var/lib/pglcr/spool --to ssh://dr1/~/lcr  (crontab)"
    )]
    Ship(ShipArgs),

    /// Start a pipeline at a consistent point and seed a target database there
    #[command(
        long_about = "Start a pipeline: obtain a consistent point and a snapshot exported at \
                      exactly that point from the source (a temporary logical replication slot, \
                      created over a replication connection with the built-in pgoutput plugin, \
                      which is never read from), export the catalog under that snapshot, and \
                      prepare the spool: `pglcr decode --spool SPOOLDIR -p WALDIR` (no --catalog, \
                      no --start) then decodes exactly the transactions committed at or after the \
                      consistent point, the ones the snapshot does not show.\n\n\
                      With --target, the target is seeded under the same snapshot: schema with \
                      pg_dump --schema-only --snapshot restored by psql in one transaction (not \
                      with --data-only), rows with COPY, --jobs tables at a time (the copied \
                      tables are emptied first), sequence values; then the apply position is \
                      set to the consistent point, as `pglcr apply` keeps it (replication origin \
                      pglcr_<system identifier>_<database oid>, or the table \
                      pglcr.apply_progress for a role that may not use origins), so apply \
                      continues exactly after the copy: nothing missing, nothing twice.\n\n\
                      The source must have wal_level = logical, a free replication slot and WAL \
                      sender, and a role with the REPLICATION attribute (allowed by pg_hba.conf \
                      for database connections); these are checked first. Decoding reads \
                      archived WAL: set archive_mode = on and archive_command = 'pglcr archive \
                      %p %f --to DIR' (a warning says so when archiving is off). Creating the \
                      slot waits until the transactions running at that moment have ended.\n\n\
                      Interrupted init: until it ends, the spool holds the file init-pending \
                      (decode refuses to run) and the target a row in pglcr.init_state (apply \
                      refuses to run). Rerunning the same command \
                      starts over cleanly with a new slot (the schema, if it was restored, is \
                      kept; copied tables are emptied and copied again). A completed spool or a \
                      target that already follows the source is refused.\n\n\
                      Connections: connection strings or URIs as libpq takes them, with the PG* \
                      environment variables and ~/.pgpass; pg_dump and psql get the same \
                      parameters. Authentication: trust, password, md5, scram-sha-256.\n\n\
                      Exit status: 0 when the spool (and the target) are ready, 1 on any error \
                      (nothing is left that looks ready), 75 when another pglcr process holds \
                      the spool.",
        after_help = "Examples:\n  pglcr init --source 'host=db1 dbname=sales user=repl' --spool /var/lib/pglcr/sales\n  \
                      pglcr init --source postgresql://repl@db1/sales --spool /spool/sales --target 'host=dr1 dbname=sales' --jobs 4\n  \
                      pglcr init --source 'host=db1 dbname=sales' --spool /spool/sales --target 'host=dr1 dbname=sales' --data-only --tables public.orders,public.items\n\n\
                      Then, from cron:\n  pglcr decode --spool /spool/sales -p /wal-archive\n  \
                      pglcr apply --from /spool/sales -d 'host=dr1 dbname=sales'"
    )]
    Init(InitArgs),

    /// Compare the tables of two databases: row counts, content hashes, differing keys
    #[command(
        long_about = "Compare two databases table by table, as LiveCompare does for BDR nodes: \
                      each server computes the row count and an order-independent hash of the \
                      rows' text (the sum of per-row md5 values), so rows do not travel. When a \
                      table differs and has a primary key, keys and row hashes are streamed from \
                      both sides in key order and merged, to count and name keys only in A, \
                      only in B, or with different rows (--sample of them).\n\n\
                      Tables: every ordinary table of either database (system schemas and \
                      pglcr's own left out), or --tables. Rows are compared as text with the \
                      same output settings on both sides (UTC, ISO dates, hex bytea), columns by \
                      name in A's order; a table whose columns differ is reported as such.\n\n\
                      Exit status: 0 when every table is equal, 1 when some differ or are \
                      missing on one side, 2 on errors (connection, query, invalid arguments).",
        after_help = "Examples:\n  pglcr compare -d 'host=db1 dbname=sales' -d 'host=dr1 dbname=sales'\n  \
                      pglcr compare -d sales -d 'port=5433 dbname=sales' --tables public.orders --format json"
    )]
    Compare(CompareArgs),

    /// Run a disaster-recovery drill: decode, ship, apply, compare, report
    #[command(
        long_about = "Prove from files alone that a standby site can be brought to a known point \
                      and that nothing was lost: decode the archived WAL into the spool (pglcr \
                      decode --spool), ship the LCR files (pglcr ship), apply them to the \
                      target up to --until (pglcr apply), then compare source and target table \
                      by table (pglcr compare). The spool must have been started with pglcr \
                      init, which also seeds the target.\n\n\
                      The report gives each stage's start and duration (the drill's recovery \
                      time), the recovery point (commit time of the newest applied transaction \
                      against the newest archived one: the RPO), conflicts, the comparison with \
                      differing keys, WAL missing from the archive with the data-loss window, \
                      and PASS or FAIL. A failing stage does not stop the drill: the report \
                      shows how far the standby got.\n\n\
                      With --until, the source has moved on since that point: give \
                      --compare-with, a database holding the source as it was then (for \
                      example a point-in-time restore), to compare against instead.\n\n\
                      --demo needs nothing but PostgreSQL installed: it creates a throwaway \
                      source and target cluster in a temporary directory (as the postgres user \
                      when run as root), runs pgbench and a workload of many data types and \
                      TOASTed values, archives with pglcr archive, starts the pipeline with \
                      pglcr init, runs the drill shipping to a directory, prints the report \
                      and removes everything.\n\n\
                      Exit status: 0 PASS, 1 FAIL, 2 when the drill could not run (invalid \
                      arguments, the demo's clusters could not be set up).",
        after_help = "Examples:\n  pglcr drill --demo\n  \
                      pglcr drill --source 'host=db1 dbname=sales' --wal /wal-archive --spool /spool/sales --ship-to /dr/lcr --target 'host=dr1 dbname=sales'\n  \
                      pglcr drill --source 'host=db1 dbname=sales' --wal /wal-archive --spool /spool/sales --ship-to ssh://dr1/lcr --apply-from /mnt/dr1/lcr --target 'host=dr1 dbname=sales' --until '2026-11-22 08:00:00+00' --compare-with 'host=pitr dbname=sales' --html drill.html"
    )]
    Drill(DrillArgs),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DrillFormatArg {
    /// a report for people
    Text,
    /// one JSON document
    Json,
}

#[derive(Args, Debug)]
pub struct DrillArgs {
    /// Run on throwaway clusters made for the purpose (needs only PostgreSQL installed)
    #[arg(long, conflicts_with_all = ["source", "wal", "spool", "ship_to", "target", "apply_from", "until", "compare_with"])]
    pub demo: bool,

    /// With --demo: how long the workload runs, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 5, requires = "demo")]
    pub seconds: u64,

    /// With --demo: keep the clusters running and their directory (it is printed)
    #[arg(long, requires = "demo")]
    pub keep: bool,

    /// The source database (database name, connection string or URI)
    #[arg(long, value_name = "CONNSTR", required_unless_present = "demo")]
    pub source: Option<String>,

    /// The WAL archive directory (as pglcr archive --to fills it)
    #[arg(long, value_name = "DIR", required_unless_present = "demo")]
    pub wal: Option<PathBuf>,

    /// The spool, started with pglcr init
    #[arg(long, value_name = "DIR", required_unless_present = "demo")]
    pub spool: Option<PathBuf>,

    /// Where to ship the LCR files: a directory or ssh://[user@]host[:port]/path
    #[arg(
        long = "ship-to",
        value_name = "DEST",
        required_unless_present = "demo"
    )]
    pub ship_to: Option<String>,

    /// The directory the target site applies from (default: the --ship-to directory; needed
    /// when shipping over ssh)
    #[arg(long = "apply-from", value_name = "DIR")]
    pub apply_from: Option<PathBuf>,

    /// The target database
    #[arg(long, value_name = "CONNSTR", required_unless_present = "demo")]
    pub target: Option<String>,

    /// Apply transactions committed up to this LSN (X/X) or time (with a zone)
    #[arg(long, value_name = "LSN|TIMESTAMP")]
    pub until: Option<String>,

    /// Compare the target with this database instead of the source (the source as of --until)
    #[arg(long = "compare-with", value_name = "CONNSTR")]
    pub compare_with: Option<String>,

    /// Compare only these tables (comma-separated or repeated; name or schema.name)
    #[arg(long = "tables", value_name = "TABLE", value_delimiter = ',', action = ArgAction::Append)]
    pub tables: Vec<String>,

    /// Source transactions per target transaction in the apply stage (as pglcr apply
    /// --group-commit; each source transaction is still applied exactly once)
    #[arg(long = "group-commit", value_name = "N", default_value_t = 100, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub group_commit: usize,

    /// Report format on standard output
    #[arg(long = "format", value_enum, default_value_t = DrillFormatArg::Text)]
    pub format: DrillFormatArg,

    /// Also write the report as a self-contained HTML page
    #[arg(long = "html", value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Source database (connection string or URI)
    #[arg(long = "source", value_name = "CONNSTR")]
    pub source: String,

    /// Spool directory to prepare (created if missing; must not hold a started stream)
    #[arg(long = "spool", value_name = "SPOOLDIR")]
    pub spool: PathBuf,

    /// Target database to seed (connection string or URI)
    #[arg(long = "target", value_name = "CONNSTR")]
    pub target: Option<String>,

    /// Copy only these tables (comma-separated or repeated; name or schema.name; a
    /// partitioned table brings its partitions) instead of every ordinary table
    #[arg(long = "tables", value_name = "TABLE", value_delimiter = ',', action = ArgAction::Append, requires = "target")]
    pub tables: Vec<String>,

    /// Copy the schema only, no rows
    #[arg(
        long = "schema-only",
        requires = "target",
        conflicts_with = "data_only"
    )]
    pub schema_only: bool,

    /// Copy rows only: the schema is already on the target
    #[arg(long = "data-only", visible_alias = "skip-schema", requires = "target")]
    pub data_only: bool,

    /// Tables copied at the same time
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 2)]
    pub jobs: usize,

    /// Replication origin (or progress row) name on the target (default: pglcr_<system
    /// id>_<database oid>, as pglcr apply uses)
    #[arg(long = "origin", value_name = "NAME")]
    pub origin: Option<String>,

    /// How the target keeps its position (default: origin when the role may use replication
    /// origins, table otherwise; as pglcr apply chooses)
    #[arg(long = "progress", value_enum)]
    pub progress: Option<ProgressArg>,

    /// Directory of pg_dump and psql (default: /usr/lib/postgresql/<source major>/bin when
    /// present, else the PATH)
    #[arg(long = "pg-bindir", value_name = "DIR")]
    pub pg_bindir: Option<PathBuf>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum CompareFormatArg {
    /// one line per table, differing keys below it
    Text,
    /// one JSON document
    Json,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The two databases, A then B (database name, connection string or URI; give -d twice)
    #[arg(short = 'd', long = "dbname", value_name = "CONNSTR", action = ArgAction::Append, required = true, num_args = 1)]
    pub dbname: Vec<String>,

    /// Compare only these tables (comma-separated or repeated; name or schema.name)
    #[arg(long = "tables", value_name = "TABLE", value_delimiter = ',', action = ArgAction::Append)]
    pub tables: Vec<String>,

    /// Differing keys to show per table
    #[arg(long = "sample", value_name = "N", default_value_t = 10)]
    pub sample: usize,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = CompareFormatArg::Text)]
    pub format: CompareFormatArg,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProgressArg {
    /// a replication origin (marks applied changes; needs the right to use origins)
    Origin,
    /// the table pglcr.apply_progress
    Table,
}

#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// Directory of the LCR files to apply
    #[arg(
        long = "from",
        value_name = "LCRDIR",
        required_unless_present = "stats"
    )]
    pub from: Option<PathBuf>,

    #[command(flatten)]
    pub conn: ConnArgs,

    /// Replication origin (or progress row) name (default: pglcr_<system id>_<database oid>
    /// of the source, from the LCR files)
    #[arg(long = "origin", value_name = "NAME")]
    pub origin: Option<String>,

    /// How to keep the position on the target (default: origin when the role may use
    /// replication origins, table otherwise)
    #[arg(long = "progress", value_enum)]
    pub progress: Option<ProgressArg>,

    /// Conflict policy KIND=POLICY (repeatable): insert_exists=error|skip|update|
    /// last_update_wins (default error), update_missing=skip|insert|error (default skip),
    /// delete_missing=skip|error (default skip), update_origin_differs=apply|last_update_wins
    /// (an update of a row last written by another origin or on the target; default apply)
    #[arg(long = "on-conflict", value_name = "KIND=POLICY", action = ArgAction::Append)]
    pub on_conflict: Vec<String>,

    /// Per-table conflict policies: lines of "[schema.]table KIND=POLICY ..." overriding
    /// --on-conflict for the tables they match (first matching line)
    #[arg(long = "conflict-config", value_name = "FILE")]
    pub conflict_config: Option<PathBuf>,

    /// Apply a transaction only once its source commit is at least DURATION old (a delayed
    /// replica; 30s, 5min, 1h, 1d). Without --follow, stop at the first younger one
    #[arg(long = "apply-delay", value_name = "DURATION")]
    pub apply_delay: Option<String>,

    /// At the end of the files, wait for new ones and apply them, until SIGTERM or SIGINT
    #[arg(long = "follow")]
    pub follow: bool,

    /// How often --follow looks for new files
    #[arg(long = "poll-interval", value_name = "DURATION", default_value = "1s")]
    pub poll_interval: String,

    /// Stop after the last transaction committed at or before this LSN or time
    /// ("2026-11-22 04:00:00+00")
    #[arg(long = "until", value_name = "LSN|TIMESTAMP")]
    pub until: Option<String>,

    /// Source transactions applied per target transaction (exactly once all the same)
    #[arg(long = "group-commit", value_name = "N", default_value_t = 1)]
    pub group_commit: usize,

    /// Print the SQL that would run, touching nothing (needs no connection)
    #[arg(long = "dry-run")]
    pub dry_run: bool,

    /// Apply only tables matching PATTERN (repeatable; psql-style [schema.]table, * and ?,
    /// unquoted names folded to lower case; without a schema, any schema)
    #[arg(long = "tables", value_name = "PATTERN", action = ArgAction::Append)]
    pub tables: Vec<String>,

    /// Leave out tables matching PATTERN (repeatable; as --tables). Transactions are still
    /// recorded as applied, so the position moves on
    #[arg(long = "exclude-tables", value_name = "PATTERN", action = ArgAction::Append)]
    pub exclude_tables: Vec<String>,

    /// Show the counters kept on the target, per origin, and exit
    #[arg(long = "stats")]
    pub stats: bool,

    /// Print help
    #[arg(long = "help", action = ArgAction::HelpLong)]
    pub help: Option<bool>,
}

#[derive(Args, Debug)]
pub struct LcrArgs {
    #[command(subcommand)]
    pub command: LcrCommand,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum LcrFormatArg {
    /// like test_decoding: BEGIN, one line per change, COMMIT
    Text,
    /// one JSON object per frame and line, relation metadata included
    Json,
}

#[derive(Subcommand, Debug)]
pub enum LcrCommand {
    /// Print the contents of LCR files
    #[command(
        long_about = "Print the frames of LCR files in order. Text: test_decoding's lines \
                      (BEGIN xid, table schema.name: INSERT: column[type]:value …, COMMIT xid); \
                      a transaction continued from the previous file starts with \
                      \"BEGIN xid (continued)\". JSON: one object per frame and line, with \
                      \"kind\" first. Checksums are checked as frames are read; a damaged \
                      frame stops the dump with an error naming file and offset.",
        after_help = "Examples:\n  pglcr lcr dump /spool/00000001000000000000001200000000000000*\n  \
                      pglcr lcr dump --format json /spool/000000010000000000000012000000000000000A"
    )]
    Dump {
        /// Output format
        #[arg(long = "format", value_enum, default_value_t = LcrFormatArg::Text)]
        format: LcrFormatArg,
        /// LCR files, dumped in the order given
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// List the LCR files of a directory
    #[command(
        long_about = "One line per LCR file, in name order: name, range of commit LSNs, \
                      transactions begun in the file, changes, size in bytes, and a marker: \
                      + the file continues a transaction from the previous file, > its last \
                      transaction continues in the next one. Read from headers and trailers \
                      only (use `pglcr lcr verify` to check contents)."
    )]
    Ls {
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
    /// Check LCR files: checksums, counts, sequence and continuity
    #[command(
        long_about = "Read every frame of the files given (or of every LCR file in the \
                      directories given) and check: header, block, frame and file checksums; \
                      the trailer's counts; frames well nested (BEGIN … COMMIT) and every \
                      relation declared before use; the name matching the header. Across the \
                      files of a directory: sub-segments numbered without gaps, continued \
                      transactions continued in the next file, commit LSNs never going \
                      backwards. Prints each problem and exits 1 if there is any, 0 otherwise."
    )]
    Verify {
        #[arg(value_name = "FILE|DIR", required = true)]
        paths: Vec<PathBuf>,
    },
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum DecodeFormatArg {
    /// the text of PostgreSQL's test_decoding plugin
    #[value(name = "test_decoding")]
    TestDecoding,
    /// the JSON of the wal2json plugin (2.5), format-version 1 (default) or 2
    #[value(name = "wal2json")]
    Wal2json,
    /// pglcr's own JSON lines: one object per change, values as PostgreSQL's output text
    #[value(name = "json")]
    Json,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum UnknownRelationsArg {
    /// stop with an error naming the relation and LSN
    Error,
    /// leave the change out
    Skip,
}

#[derive(Args, Debug)]
pub struct DecodeArgs {
    /// Catalog dictionary (from `pglcr catalog export`); with --spool, needed on the first run
    /// only (it is copied into the spool)
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalog: Option<PathBuf>,

    /// Write LCR files into SPOOLDIR instead of text, continuing where the last run stopped
    /// (see pglcr-lcr(5)); needs -p and no --format
    #[arg(long = "spool", value_name = "SPOOLDIR", conflicts_with_all = ["format", "file", "options", "two_phase", "timezone", "segments"])]
    pub spool: Option<PathBuf>,

    /// With --spool: largest LCR file; a full file is closed and the next sub-segment file
    /// opened (default 64MB, at most 1GB; units B, kB, MB, GB)
    #[arg(long = "max-lcr-size", value_name = "SIZE", requires = "spool")]
    pub max_lcr_size: Option<String>,

    /// WAL segment files to read (first and last; their directory is used when --path is not given)
    #[arg(value_name = "SEGMENT", num_args = 0..=2)]
    pub segments: Vec<String>,

    /// Directory with the WAL segment files (plain, .partial, .zst, .gz)
    #[arg(short = 'p', long = "path", value_name = "DIR")]
    pub path: Option<PathBuf>,

    /// Start decoding at this LSN: a slot's consistent point (default: where the catalog was taken)
    #[arg(short = 's', long = "start", value_name = "LSN")]
    pub start: Option<String>,

    /// Stop before any record that ends after this LSN (default: the end of the WAL). With
    /// --spool, the LCR files are finished there (a later run continues in new files)
    #[arg(short = 'e', long = "end", value_name = "LSN")]
    pub end: Option<String>,

    /// Timeline to read
    #[arg(short = 't', long = "timeline", value_name = "TLI")]
    pub timeline: Option<u32>,

    /// Output format (default test_decoding)
    #[arg(long = "format", value_enum)]
    pub format: Option<DecodeFormatArg>,

    /// Plugin option NAME[=VALUE], as pg_recvlogical -o takes it (repeatable). test_decoding:
    /// include-xids, include-timestamp, skip-empty-xacts, only-local. wal2json: format-version,
    /// include-xids, include-timestamp, include-lsn, include-origin, include-schemas,
    /// include-types, include-typmod, include-type-oids, include-domain-data-type,
    /// include-column-positions, include-not-null, include-pk, include-transaction,
    /// pretty-print, actions, filter-tables, add-tables, filter-msg-prefixes,
    /// add-msg-prefixes, filter-origins (include-default and write-in-chunks only off). json:
    /// none
    #[arg(short = 'o', long = "option", value_name = "NAME[=VALUE]", action = ArgAction::Append)]
    pub options: Vec<String>,

    /// Write to FILE ("-" for standard output, the default)
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,

    /// Decode prepared transactions at PREPARE, as a slot created with two_phase does
    #[arg(long = "two-phase")]
    pub two_phase: bool,

    /// What to do with changes of relations the catalog does not know
    #[arg(long = "unknown-relations", value_enum, default_value_t = UnknownRelationsArg::Error)]
    pub unknown_relations: UnknownRelationsArg,

    /// Time zone for timestamptz values (default: the server's TimeZone from the catalog)
    #[arg(long = "timezone", value_name = "TZ")]
    pub timezone: Option<String>,

    /// Memory for changes of transactions not yet committed; beyond it the largest
    /// transactions are spilled to temporary files, as PostgreSQL's
    /// logical_decoding_work_mem does (units B, kB, MB, GB)
    #[arg(long = "max-memory", value_name = "SIZE", default_value = "256MB")]
    pub max_memory: String,

    /// Directory for spill files (default: the system's temporary directory, $TMPDIR)
    #[arg(long = "spill-dir", value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,

    /// Report on stderr where reading stopped
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub command: CatalogCommand,
}

#[derive(Subcommand, Debug)]
pub enum CatalogCommand {
    /// Export the dictionary of a database from a live server
    #[command(
        disable_help_flag = true,
        long_about = "Connect to a PostgreSQL server, run the catalog export query \
                      (sql/catalog-export.sql, the same query psql can run) in one REPEATABLE \
                      READ READ ONLY transaction, check the result and write it as one JSON \
                      document in the pglcr-catalog(5) format.\n\n\
                      Connection: as with psql. -d takes a database name or a connection string \
                      (\"host=... port=... user=... dbname=...\" or a postgresql:// URI). Fields \
                      of a connection string take precedence over -h, -p and -U; fields set by \
                      neither come from the environment variables PGHOST, PGHOSTADDR, PGPORT, \
                      PGUSER, PGDATABASE, PGPASSWORD, PGPASSFILE, PGAPPNAME, PGOPTIONS, \
                      PGCONNECT_TIMEOUT and PGSSLMODE, then from the defaults: the unix socket \
                      in /var/run/postgresql then localhost, port 5432, the operating-system \
                      user name, and a database named like the user. A password not given \
                      otherwise is looked up in the password file (passfile, PGPASSFILE, or \
                      ~/.pgpass; ignored when group or world can read it). pglcr is built \
                      without TLS: sslmode disable, allow and prefer connect without \
                      encryption; require, verify-ca and verify-full are refused.\n\n\
                      Output: the JSON document goes to FILE, replaced atomically (written to a \
                      temporary file in the same directory, synced to disk, then renamed), or \
                      to standard output when -o is absent or \"-\".\n\n\
                      Exit status: 0 on success, 1 when the connection or the query fails or \
                      the output cannot be written.",
        after_help = "Examples:\n  pglcr catalog export -d sales -o sales.catalog.json\n  \
                      pglcr catalog export -h /var/run/postgresql -p 5433 -U postgres -d sales\n  \
                      pglcr catalog export -d \"postgresql://replicator@db1:5432/sales\" -o -\n  \
                      PGHOST=db1 PGDATABASE=sales pglcr catalog export -o sales.catalog.json"
    )]
    Export(CatalogExportArgs),

    /// Carry a dictionary forward through the WAL's DDL to a later LSN
    #[command(
        long_about = "Read the WAL from where the dictionary was taken (its taken_at_lsn) and \
                      apply the catalog changes of every transaction that commits before the \
                      end: created, altered, renamed, truncated and dropped tables, new \
                      columns and their defaults, new enum, range, multirange, composite and \
                      domain types and enum values, schema renames, replica identity and \
                      partition changes, and rewrites of the system catalogs themselves \
                      (VACUUM FULL, CLUSTER, relation map updates). The result is the dictionary as of the \
                      end, in the same pglcr-catalog(5) format, with taken_at_lsn set there: \
                      what `pglcr catalog export` would have written at that LSN, so a \
                      cron-driven decoder can carry its dictionary forward without connecting \
                      to the source again.\n\n\
                      The WAL from the redo point of the checkpoint before the dictionary was \
                      taken (checkpoint_redo_lsn) must be in WALDIR: catalog pages are rebuilt \
                      from the full-page images logged after it. The result records the redo \
                      point of the last checkpoint read for the next run.\n\n\
                      Catalog changes of transactions still open at the end are not in the \
                      result. A transaction that began before that redo point and commits \
                      catalog changes after the dictionary was taken may have made some that \
                      the WAL read does not show: following stops at its commit with an error \
                      naming its xid and LSN (export the catalog again after it).\n\n\
                      Output: FILE is replaced atomically (temporary file, fsync, rename); \
                      \"-\" or no -o writes to standard output.\n\n\
                      Exit status: 0 on success, 1 when the catalog or the WAL cannot be read \
                      or a catalog change cannot be followed (the message names the LSN).",
        after_help = "Examples:\n  pglcr catalog follow --catalog cat.json -p /archive -o cat-now.json\n  \
                      pglcr catalog follow --catalog cat.json -p /archive --end 0/5000000 -o cat-5.json"
    )]
    Follow(CatalogFollowArgs),
}

#[derive(Args, Debug)]
pub struct CatalogFollowArgs {
    /// Dictionary to start from (pglcr catalog export, or an earlier follow)
    #[arg(long = "catalog", value_name = "FILE")]
    pub catalog: PathBuf,

    /// Directory holding the WAL segment files
    #[arg(short = 'p', long = "path", value_name = "WALDIR")]
    pub path: Option<PathBuf>,

    /// Follow up to this LSN (default: the end of the WAL in WALDIR)
    #[arg(short = 'e', long = "end", value_name = "LSN")]
    pub end: Option<String>,

    /// Timeline of the WAL to read (default: 1)
    #[arg(short = 't', long = "timeline", value_name = "TLI")]
    pub timeline: Option<u32>,

    /// Memory for changes of transactions not yet committed (units B, kB, MB, GB)
    #[arg(long = "max-memory", value_name = "SIZE", default_value = "256MB")]
    pub max_memory: String,

    /// Write the dictionary to FILE (atomically replaced) instead of standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// psql-style connection options.
#[derive(Args, Debug)]
pub struct ConnArgs {
    /// Database name, or a connection string ("key=value ..." or postgresql:// URI) whose
    /// fields take precedence over -h, -p and -U
    #[arg(short = 'd', long = "dbname", value_name = "CONNSTR")]
    pub dbname: Option<String>,

    /// Server host name, or unix-socket directory (default: PGHOST, else /var/run/postgresql
    /// then localhost)
    #[arg(short = 'h', long = "host", value_name = "HOSTNAME")]
    pub host: Option<String>,

    /// Server port (default: PGPORT, else 5432)
    #[arg(short = 'p', long = "port", value_name = "PORT")]
    pub port: Option<String>,

    /// User name (default: PGUSER, else the operating-system user name)
    #[arg(short = 'U', long = "username", value_name = "USERNAME")]
    pub username: Option<String>,
}

#[derive(Args, Debug)]
pub struct CatalogExportArgs {
    #[command(flatten)]
    pub conn: ConnArgs,

    /// Write the dictionary to FILE (atomically replaced) instead of standard output; "-" is
    /// standard output
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Print help (-h is --host, as in psql)
    #[arg(long = "help", action = ArgAction::HelpLong)]
    pub help: Option<bool>,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatsArg {
    /// one row per resource manager
    Rmgr,
    /// one row per record type
    Record,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// pg_waldump's text lines
    Text,
    /// one JSON object per record
    Json,
}

#[derive(Args, Debug)]
pub struct DumpArgs {
    /// First segment file to read (its directory is used when --path is not given)
    #[arg(value_name = "STARTSEG")]
    pub start_seg: Option<String>,

    /// Last segment file to read
    #[arg(value_name = "ENDSEG", requires = "start_seg")]
    pub end_seg: Option<String>,

    /// Output detailed information about backup blocks
    #[arg(short = 'b', long = "bkp-details")]
    pub bkp_details: bool,

    /// With --relation, only show records that modify block N
    #[arg(short = 'B', long = "block", value_name = "N", requires = "relation")]
    pub block: Option<u32>,

    /// Stop reading at WAL location RECPTR
    #[arg(short = 'e', long = "end", value_name = "RECPTR")]
    pub end: Option<String>,

    /// Keep retrying after reaching end of WAL
    #[arg(short = 'f', long = "follow")]
    pub follow: bool,

    /// Only show records that modify blocks in fork FORK; valid names are main, fsm, vm, init
    #[arg(short = 'F', long = "fork", value_name = "FORK")]
    pub fork: Option<String>,

    /// Number of records to display
    #[arg(short = 'n', long = "limit", value_name = "N")]
    pub limit: Option<i64>,

    /// Directory in which to find WAL segment files or a directory with a ./pg_wal that
    /// contains such files (default: current directory, ./pg_wal, $PGDATA/pg_wal)
    #[arg(short = 'p', long = "path", value_name = "PATH")]
    pub path: Option<PathBuf>,

    /// Do not print any output, except for errors
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Only show records generated by resource manager RMGR (repeatable); use --rmgr=list to
    /// list valid resource manager names
    #[arg(short = 'r', long = "rmgr", value_name = "RMGR", action = ArgAction::Append)]
    pub rmgr: Vec<String>,

    /// Only show records that modify blocks in relation T/D/R (tablespace OID/database
    /// OID/relation filenode)
    #[arg(short = 'R', long = "relation", value_name = "T/D/R")]
    pub relation: Option<String>,

    /// Start reading at WAL location RECPTR
    #[arg(short = 's', long = "start", value_name = "RECPTR")]
    pub start: Option<String>,

    /// Timeline from which to read WAL records (default: 1 or the value used in STARTSEG)
    #[arg(short = 't', long = "timeline", value_name = "TLI")]
    pub timeline: Option<String>,

    /// Only show records with a full page write
    #[arg(short = 'w', long = "fullpage")]
    pub fullpage: bool,

    /// Only show records with transaction ID XID
    #[arg(short = 'x', long = "xid", value_name = "XID")]
    pub xid: Option<u32>,

    /// Show statistics instead of records (optionally, show per-record statistics)
    #[arg(
        short = 'z',
        long = "stats",
        value_name = "record",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "rmgr"
    )]
    pub stats: Option<StatsArg>,

    /// Save full page images to DIR (created if missing; must be empty)
    #[arg(long = "save-fullpage", value_name = "DIR")]
    pub save_fullpage: Option<PathBuf>,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,

    /// Report on stderr where and why reading stopped
    #[arg(short = 'v', long = "verbose")]
    pub verbose: bool,
}

#[derive(Args, Debug)]
pub struct ArchiveArgs {
    /// The file to archive: %p of archive_command
    #[arg(value_name = "SOURCE")]
    pub source: PathBuf,

    /// Its file name in the archive: %f of archive_command
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Archive directory (must exist)
    #[arg(long = "to", value_name = "DIR")]
    pub to: PathBuf,

    /// Store WAL segments zstd-compressed, as NAME.zst
    #[arg(long = "compress")]
    pub compress: bool,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// The file wanted: %f of restore_command
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Where to write it: %p of restore_command
    #[arg(value_name = "DEST")]
    pub dest: PathBuf,

    /// Archive directory
    #[arg(long = "from", value_name = "DIR")]
    pub from: PathBuf,
}

#[derive(Args, Debug)]
pub struct ShipArgs {
    /// Spool directory (from pglcr decode --spool)
    #[arg(long = "spool", value_name = "SPOOLDIR")]
    pub spool: PathBuf,

    /// Destination: a directory, or ssh://[user@]host[:port]/path
    #[arg(long = "to", value_name = "DEST")]
    pub to: String,

    /// Name of the destination in the spool (default: the host name, or the directory's last
    /// component)
    #[arg(long = "name", value_name = "NAME")]
    pub name: Option<String>,

    /// Check the destination against its manifest and the spool; ship nothing
    #[arg(long = "verify", conflicts_with = "repair")]
    pub verify: bool,

    /// Like --verify, then send again every damaged or missing file the spool still has
    #[arg(long = "repair")]
    pub repair: bool,

    /// Number of files in transfer at the same time
    #[arg(short = 'j', long = "jobs", value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub jobs: u16,

    /// Bandwidth limit over all transfers, in bytes per second (units kB, MB, GB)
    #[arg(long = "max-rate", value_name = "RATE")]
    pub max_rate: Option<String>,

    /// The ssh program and its options (default: $PGLCR_SSH, or "ssh")
    #[arg(long = "ssh-command", value_name = "CMD")]
    pub ssh_command: Option<String>,

    /// Retries of a failed connection or transfer before giving up
    #[arg(long = "retries", value_name = "N", default_value_t = 5)]
    pub retries: u32,
}

#[derive(Args, Debug)]
pub struct RetainArgs {
    /// The WAL archive directory
    #[arg(long = "archive", value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// A spool whose decoder, destinations and consumers count (repeatable)
    #[arg(long = "spool", value_name = "DIR")]
    pub spools: Vec<PathBuf>,

    /// As archive_cleanup_command: remove archived WAL before segment %r
    #[arg(long = "archive-cleanup", num_args = 2, value_names = ["ARCHIVEDIR", "SEGMENT"])]
    pub archive_cleanup: Option<Vec<String>>,

    /// Keep this many segments before the oldest one needed
    #[arg(long = "keep-segments", value_name = "N", default_value_t = 0)]
    pub keep_segments: u64,

    /// Keep this much WAL before the oldest segment needed (e.g. 1GB)
    #[arg(long = "keep-size", value_name = "SIZE")]
    pub keep_size: Option<String>,

    /// Keep files modified within this time (e.g. 12h, 7d)
    #[arg(long = "keep-age", value_name = "DURATION")]
    pub keep_age: Option<String>,

    /// The most the archive and the spools' LCR files may hold together (e.g. 200GB)
    #[arg(long = "max-size", value_name = "SIZE")]
    pub max_size: Option<String>,

    /// Under --max-size, remove files consumers still need and mark them broken
    #[arg(long = "allow-consumer-loss", requires = "max_size")]
    pub allow_consumer_loss: bool,

    /// Remove the files (without it, only show what would be removed)
    #[arg(long = "confirm")]
    pub confirm: bool,

    /// Run again every DURATION, until stopped
    #[arg(long = "interval", value_name = "DURATION", num_args = 0..=1, default_missing_value = "3min")]
    pub interval: Option<String>,

    /// Register an apply consumer with the spool: NAME=CONNSTR or NAME=file:PATH (then exit)
    #[arg(long = "register", value_name = "NAME=SOURCE", conflicts_with_all = ["unregister", "confirm", "interval"])]
    pub register: Option<String>,

    /// With --register: the replication origin (or progress row) name on the target
    #[arg(long = "origin", value_name = "NAME", requires = "register")]
    pub origin: Option<String>,

    /// Remove a consumer's registration from the spool (then exit)
    #[arg(long = "unregister", value_name = "NAME", conflicts_with_all = ["confirm", "interval"])]
    pub unregister: Option<String>,

    /// Print only errors and the summary line
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormatArg {
    Text,
    Json,
    Prometheus,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// The WAL archive directory
    #[arg(long = "archive", value_name = "DIR")]
    pub archive: Option<PathBuf>,

    /// A spool to report on (repeatable)
    #[arg(long = "spool", value_name = "DIR")]
    pub spools: Vec<PathBuf>,

    /// Output format
    #[arg(long = "format", value_enum, default_value_t = StatusFormatArg::Text)]
    pub format: StatusFormatArg,

    /// Write to FILE (replaced atomically) instead of standard output ("-": standard output)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
}
