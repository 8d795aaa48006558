//! A real pipeline for the pipeline tests: a source cluster archiving with `pglcr archive` as its
//! archive_command, `pglcr ship` to directory destinations and `pglcr apply` into a target.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use pglcr::lcr;

use super::{pg_command, pglcr, run_ok, server_writable_tempdir, Cluster};

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

/// A cluster (wal_level=logical, 1 MB segments, and `settings`) whose archive_command copies
/// every segment with `pglcr archive` into each of `archives`.
pub fn archiving_cluster(archives: &[&Path], settings: &[(&str, &str)]) -> Cluster {
    let bin = env!("CARGO_BIN_EXE_pglcr");
    let command = archives
        .iter()
        .map(|a| format!("{bin} archive %p %f --to {}", a.display()))
        .collect::<Vec<_>>()
        .join(" && ");
    let command = format!("'{command}'");
    let mut all = vec![
        ("wal_level", "logical"),
        ("archive_mode", "on"),
        ("archive_command", command.as_str()),
    ];
    all.extend_from_slice(settings);
    Cluster::start(&["--wal-segsize=1"], &all)
}

/// Switches to a new segment and waits until the archiver has archived the old one.
pub fn archive_now(cluster: &Cluster) {
    let wanted = cluster.psql("SELECT pg_walfile_name(pg_switch_wal() - 1)");
    let t0 = Instant::now();
    loop {
        let row = cluster.psql(
            "SELECT coalesce(last_archived_wal, '-') || ' ' || failed_count FROM pg_stat_archiver",
        );
        let (last, failed) = row.split_once(' ').unwrap();
        assert_eq!(failed, "0", "archive_command failed; see the server log");
        if last >= wanted.as_str() {
            return;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "segment {wanted} not archived after 60 s (last archived: {last})"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An archiving cluster with `schema`, archiving into `archive` (the directory retention
/// manages) and `full` (an untouched copy, for reference runs).
pub struct Source {
    pub cluster: Cluster,
    pub archive: tempfile::TempDir,
    pub full: tempfile::TempDir,
    pub catalog: PathBuf,
    /// The consistent point of a logical slot created before the workload.
    pub start: String,
    _work: tempfile::TempDir,
}

impl Source {
    pub fn start(schema: &str) -> Source {
        let archive = server_writable_tempdir("pglcr-archive-");
        let full = server_writable_tempdir("pglcr-full-");
        let cluster = archiving_cluster(&[archive.path(), full.path()], &[]);
        cluster.psql_script(schema);
        let work = tempfile::tempdir().unwrap();
        let catalog = work.path().join("catalog.json");
        run_ok(
            pglcr()
                .args(["catalog", "export", "-d", &conninfo(&cluster), "-o"])
                .arg(&catalog),
        );
        let start = cluster
            .psql("SELECT lsn FROM pg_create_logical_replication_slot('s', 'test_decoding')");
        Source {
            cluster,
            archive,
            full,
            catalog,
            start,
            _work: work,
        }
    }

    pub fn archive_now(&self) {
        archive_now(&self.cluster);
    }

    /// `pglcr decode --spool` over the managed archive.
    pub fn decode(&self, spool: &Path) -> Command {
        let mut c = super::decode_spool(spool, self.archive.path(), &self.catalog);
        c.args(["--start", &self.start, "--max-lcr-size", "64kB"]);
        c
    }
}

/// `pglcr ship --spool SPOOL --to DEST --name NAME`.
pub fn ship(spool: &Path, name: &str, dest: &Path) -> Command {
    let mut c = pglcr();
    c.arg("ship")
        .arg("--spool")
        .arg(spool)
        .arg("--to")
        .arg(dest)
        .args(["--name", name]);
    c
}

/// Ships what destination `name` has not acknowledged: true when files were shipped (exit
/// status 0), false when there was nothing to ship (3); anything else fails the test.
pub fn ship_new_files(spool: &Path, name: &str, dest: &Path) -> bool {
    let out = ship(spool, name, dest).output().unwrap();
    match out.status.code() {
        Some(0) => true,
        Some(3) => false,
        _ => panic!(
            "pglcr ship to {name} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

/// A target cluster with the source's schema and no rows.
pub fn target_for(source: &Cluster) -> Cluster {
    let target = Cluster::start(&[], &[]);
    let dump = run_ok(pg_command("pg_dump").args(["--schema-only", "-d", &conninfo(source)]));
    target.psql_script(&String::from_utf8(dump.stdout).unwrap());
    target
}

/// `pglcr apply --from DIR` into the target.
pub fn apply(from: &Path, target: &Cluster) -> Command {
    let mut c = pglcr();
    c.arg("apply")
        .arg("--from")
        .arg(from)
        .args(["-d", &conninfo(target)]);
    c
}

/// Every row of a table as text, in a stable order.
pub fn table_text(c: &Cluster, table: &str) -> String {
    c.psql(&format!(
        "SELECT count(*) || E'\\n' || coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t"
    ))
}

/// The LCR files of a directory by name.
pub fn lcr_names(dir: &Path) -> Vec<String> {
    lcr::list_dir(dir)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n.to_string())
        .collect()
}

/// The names of the files in a directory, sorted.
pub fn file_names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    v.sort();
    v
}
