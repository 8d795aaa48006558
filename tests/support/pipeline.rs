//! A real pipeline for retention tests: a source cluster archiving with `pglcr archive` as its
//! archive_command, and shipping to directory destinations with acknowledgements saved exactly
//! as `pglcr ship` saves them (`pglcr::ship::state`); `ship_copy` is the one place to swap for
//! `pglcr ship` once it exists.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use pglcr::lcr;
use pglcr::ship::state::{self, DestinationState};

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

/// A source cluster (wal_level=logical, 1 MB segments) whose archive_command copies every
/// segment with `pglcr archive` into `archive` (the directory retention manages) and `full`
/// (an untouched copy, for reference runs).
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
        let bin = env!("CARGO_BIN_EXE_pglcr");
        let command = format!(
            "'{bin} archive %p %f --to {} && {bin} archive %p %f --to {}'",
            archive.path().display(),
            full.path().display()
        );
        let cluster = Cluster::start(
            &["--wal-segsize=1"],
            &[
                ("wal_level", "logical"),
                ("archive_mode", "on"),
                ("archive_command", &command),
            ],
        );
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

    /// Switches to a new segment and waits until the archiver has archived the old one.
    pub fn archive_now(&self) {
        let wanted = self
            .cluster
            .psql("SELECT pg_walfile_name(pg_switch_wal() - 1)");
        let t0 = Instant::now();
        loop {
            let row = self.cluster.psql(
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

    /// `pglcr decode --spool` over the managed archive.
    pub fn decode(&self, spool: &Path) -> std::process::Command {
        let mut c = super::decode_spool(spool, self.archive.path(), &self.catalog);
        c.args(["--start", &self.start, "--max-lcr-size", "64kB"]);
        c
    }
}

/// Ships the spool's LCR files after the destination's acknowledged one to directory `dest`,
/// at most `max_files` of them, as `pglcr ship` does: under the destination's lock, each file
/// written durably under its final name, then acknowledged. A broken destination is refused
/// with its reason. Returns how many files were shipped.
pub fn ship_copy(
    spool: &Path,
    name: &str,
    dest: &Path,
    max_files: Option<usize>,
) -> Result<usize, String> {
    let _lock = state::lock(spool, name).map_err(|e| e.to_string())?;
    // A new destination is saved before anything is copied: from then on retention keeps
    // what it has not acknowledged.
    let mut st = match DestinationState::load(spool, name).map_err(|e| e.to_string())? {
        Some(st) => st,
        None => {
            let st = DestinationState::new(name, &dest.display().to_string());
            st.save(spool).unwrap();
            st
        }
    };
    if let Some(reason) = &st.broken {
        return Err(format!("destination \"{name}\" is broken: {reason}"));
    }
    let acked = st.acked.as_deref().and_then(lcr::LcrName::parse);
    let mut shipped = 0;
    for (file, path) in lcr::list_dir(spool).unwrap() {
        if acked.is_some_and(|a| file <= a) {
            continue;
        }
        if max_files.is_some_and(|m| shipped >= m) {
            break;
        }
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        pglcr::durable::write_file(&dest.join(file.to_string()), &bytes).unwrap();
        st.acked = Some(file.to_string());
        st.save(spool).unwrap();
        shipped += 1;
    }
    Ok(shipped)
}

/// A target cluster with the source's schema and no rows.
pub fn target_for(source: &Cluster) -> Cluster {
    let target = Cluster::start(&[], &[]);
    let dump = run_ok(pg_command("pg_dump").args(["--schema-only", "-d", &conninfo(source)]));
    target.psql_script(&String::from_utf8(dump.stdout).unwrap());
    target
}

/// `pglcr apply --from DIR` into the target.
pub fn apply(from: &Path, target: &Cluster) -> std::process::Command {
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
