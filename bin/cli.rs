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
                      the whole old row for FULL). Triggers and rules do not fire \
                      (session_replication_role = replica). Conflicts are handled per \
                      --on-conflict and logged in pglcr.conflicts; counters are kept in \
                      pglcr.apply_stats (--stats shows them). A deadlock or serialization \
                      failure retries the transaction; any other error stops with a message \
                      naming the LCR file, source transaction, commit LSN, relation and row, \
                      with nothing of that transaction applied.\n\n\
                      Connection: as with psql (-d connection string or URI, -h, -p, -U, PG* \
                      environment variables, ~/.pgpass).",
        after_help = "Examples:\n  pglcr apply --from /spool -d 'host=dr1 dbname=sales'\n  \
                      pglcr apply --from /spool -d sales --on-conflict insert_exists=update --group-commit 100\n  \
                      pglcr apply --from /spool -d sales --until '2026-11-22 04:00:00+00'\n  \
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

    /// Send a spool's LCR files to another directory or host, each acknowledged once stored
    #[command(
        long_about = "Send every complete LCR file of a spool (as `pglcr decode --spool` writes \
                      it) that destination NAME has not acknowledged yet, in order, to a \
                      directory (local disk or a mounted network file system; it must exist) \
                      or to a directory on another host over SSH \
                      (ssh://[user@]host[:port]/path; /~/path is relative to the login \
                      directory).\n\n\
                      Each file is written under a temporary name, checked (SHA-256 of what \
                      was stored against the spool's file), fsynced, renamed into place and \
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
                      pglcr's own. The far side needs only a POSIX shell, tee, wc, sha256sum, \
                      mv and sync: not pglcr. Connection failures (ssh exit status 255, \
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

    /// Conflict policy KIND=POLICY (repeatable): insert_exists=error|skip|update (default
    /// error), update_missing=skip|insert|error (default skip), delete_missing=skip|error
    /// (default skip)
    #[arg(long = "on-conflict", value_name = "KIND=POLICY", action = ArgAction::Append)]
    pub on_conflict: Vec<String>,

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
