//! A source cluster archiving with `pglcr archive`, for tests of the whole pipeline.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use super::{is_root, run_ok, server_writable_tempdir, Cluster};

/// A libpq connection string for the cluster's `postgres` database.
pub fn conninfo(c: &Cluster) -> String {
    conninfo_db(c, "postgres")
}

pub fn conninfo_db(c: &Cluster, dbname: &str) -> String {
    format!(
        "host={} port={} user=postgres dbname={dbname}",
        c.socket_dir().display(),
        c.port
    )
}

/// A source (wal_level=logical, 1 MiB segments) archiving with `pglcr archive` into a
/// directory of its own.
pub struct Source {
    pub cluster: Cluster,
    pub archive: PathBuf,
    _dir: tempfile::TempDir,
}

pub fn source() -> Source {
    let dir = server_writable_tempdir("pglcr-archive-");
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).unwrap();
    if is_root() {
        run_ok(Command::new("chown").arg("postgres:postgres").arg(&archive));
    }
    let command = format!(
        "'{} archive %p %f --to {}'",
        env!("CARGO_BIN_EXE_pglcr"),
        archive.display()
    );
    let cluster = Cluster::start(
        &["--wal-segsize=1"],
        &[
            ("wal_level", "logical"),
            ("archive_mode", "on"),
            ("archive_command", &command),
            ("max_connections", "40"),
        ],
    );
    Source {
        cluster,
        archive,
        _dir: dir,
    }
}

impl Source {
    /// Switches to a new segment and waits until everything before it is archived.
    pub fn switch_and_archive(&self) {
        let name = self.cluster.psql("SELECT pg_walfile_name(pg_switch_wal())");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let row = self
                .cluster
                .psql("SELECT coalesce(last_archived_wal, ''), failed_count FROM pg_stat_archiver");
            let (last, failed) = row.split_once('|').unwrap();
            assert_eq!(failed, "0", "archive_command failed");
            if last.get(..24).is_some_and(|l| l >= name.as_str()) {
                return;
            }
            assert!(Instant::now() < deadline, "{name} not archived: {row}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
