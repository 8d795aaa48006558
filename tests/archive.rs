//! `pglcr archive` as the archive_command and `pglcr restore` as the restore_command of a real
//! PostgreSQL 15 server: the archive holds exactly what the server wrote, re-archiving the same
//! segment is accepted, a different one refused, and a base backup recovers from the archive.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use support::{is_root, pg_bin, pg_command, pglcr, run_ok, server_writable_tempdir, Cluster};

/// A server archiving with `pglcr archive` into `archive`. The cluster is declared first so it
/// stops before the directories go.
struct Archiving {
    cluster: Cluster,
    archive: PathBuf,
    _dir: tempfile::TempDir,
}

fn archiving_cluster(initdb_args: &[&str], compress: bool) -> Archiving {
    let bin = Path::new(env!("CARGO_BIN_EXE_pglcr"));
    if is_root() {
        // the server runs the archiver as postgres: our binary must be reachable by it
        run_ok(
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(bin)
                .arg("--version"),
        );
    }
    let dir = server_writable_tempdir("pglcr-archive-");
    let archive = dir.path().join("archive");
    std::fs::create_dir(&archive).expect("create archive dir");
    if is_root() {
        run_ok(Command::new("chown").arg("postgres:postgres").arg(&archive));
    }
    let command = format!(
        "'{} archive %p %f --to {}{}'",
        bin.display(),
        archive.display(),
        if compress { " --compress" } else { "" }
    );
    let cluster = Cluster::start(
        initdb_args,
        &[
            ("wal_level", "replica"),
            ("archive_mode", "on"),
            ("archive_command", &command),
        ],
    );
    Archiving {
        cluster,
        archive,
        _dir: dir,
    }
}

fn server_log(c: &Cluster) -> String {
    std::fs::read_to_string(c.socket_dir().join("log")).unwrap_or_default()
}

/// Writes some WAL and switches segments `switches` times; returns the name of the last
/// segment switched away from.
fn generate_wal(c: &Cluster, switches: usize) -> String {
    c.psql("CREATE TABLE IF NOT EXISTS t (id int, filler text)");
    let mut last = String::new();
    for i in 0..switches {
        c.psql(&format!(
            "INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series({}, {}) g",
            i * 1000,
            i * 1000 + 999
        ));
        last = c.psql("SELECT pg_walfile_name(pg_switch_wal())");
    }
    last
}

/// Waits (up to 30 s) until the server reports `name` archived; fails on any archiver failure.
fn wait_archived(c: &Cluster, name: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let row = c.psql(
            "SELECT coalesce(last_archived_wal, ''), failed_count, coalesce(last_failed_wal, '') \
             FROM pg_stat_archiver",
        );
        let fields: Vec<&str> = row.split('|').collect();
        assert_eq!(
            fields.get(1),
            Some(&"0"),
            "archive_command failed: {row}\n{}",
            server_log(c)
        );
        if fields[0].get(..24).is_some_and(|last| last >= name) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} not archived after 30 s: {row}\n{}",
            server_log(c)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn file_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn archives_what_the_server_wrote_and_restores_it() {
    let a = archiving_cluster(&["--wal-segsize=1"], false);
    let c = &a.cluster;
    let last = generate_wal(c, 3);
    wait_archived(c, &last);

    // every archived segment is the server's file byte for byte
    let names = file_names(&a.archive);
    assert!(names.len() >= 3 && names.contains(&last), "{names:?}");
    for name in &names {
        assert_eq!(name.len(), 24, "unexpected file {name} in the archive");
        let archived = std::fs::read(a.archive.join(name)).expect("read archived");
        let original = std::fs::read(c.wal_dir().join(name)).expect("read pg_wal");
        assert!(archived == original, "{name} differs from pg_wal");
    }
    // and pg_waldump reads the archive from end to end
    run_ok(
        Command::new(pg_bin("pg_waldump"))
            .arg("-q")
            .arg("-p")
            .arg(&a.archive)
            .arg(&names[0])
            .arg(&last),
    );

    // archiving the same segment again: success with a warning, archive unchanged
    let source = c.wal_dir().join(&last);
    let archived = a.archive.join(&last);
    let before = std::fs::read(&archived).unwrap();
    let again = run(pglcr()
        .arg("archive")
        .arg(&source)
        .arg(&last)
        .arg("--to")
        .arg(&a.archive));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).starts_with("pglcr: warning: ")
            && stderr(&again).contains("already archived"),
        "{}",
        stderr(&again)
    );

    // a segment of the same name with different valid WAL: exit 1, archive untouched
    let scratch = tempfile::tempdir().unwrap();
    let mut changed = before.clone();
    changed[8192 + 100] ^= 0xFF;
    let changed_path = scratch.path().join(&last);
    std::fs::write(&changed_path, &changed).unwrap();
    let conflict = run(pglcr()
        .arg("archive")
        .arg(&changed_path)
        .arg(&last)
        .arg("--to")
        .arg(&a.archive));
    assert_eq!(conflict.status.code(), Some(1), "{}", stderr(&conflict));
    assert!(
        stderr(&conflict).contains("with different contents")
            && stderr(&conflict).contains(&archived.display().to_string()),
        "{}",
        stderr(&conflict)
    );
    assert_eq!(std::fs::read(&archived).unwrap(), before);
    assert_eq!(file_names(&a.archive), names);

    // a bad name: exit 1, saying what was expected
    let bad = run(pglcr()
        .arg("archive")
        .arg(&source)
        .arg("not-a-wal-file")
        .arg("--to")
        .arg(&a.archive));
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("invalid WAL file name \"not-a-wal-file\"")
            && stderr(&bad).contains("expected a WAL segment name"),
        "{}",
        stderr(&bad)
    );
    assert_eq!(file_names(&a.archive), names);

    // restore: an archived segment comes back byte for byte
    let dest = scratch.path().join("RECOVERYXLOG");
    let restored = run(pglcr()
        .arg("restore")
        .arg(&last)
        .arg(&dest)
        .arg("--from")
        .arg(&a.archive));
    assert!(restored.status.success(), "{}", stderr(&restored));
    assert_eq!(std::fs::read(&dest).unwrap(), before);

    // a missing one: exit 1, nothing written
    let missing_dest = scratch.path().join("RECOVERYHISTORY");
    let missing = run(pglcr()
        .arg("restore")
        .arg("00000005.history")
        .arg(&missing_dest)
        .arg("--from")
        .arg(&a.archive));
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert!(!missing_dest.exists());

    // a bad name or a missing archive directory: exit 2
    let bad = run(pglcr()
        .arg("restore")
        .arg("../etc/passwd")
        .arg(&missing_dest)
        .arg("--from")
        .arg(&a.archive));
    assert_eq!(bad.status.code(), Some(126), "{}", stderr(&bad));
    let no_dir = run(pglcr()
        .arg("restore")
        .arg(&last)
        .arg(&missing_dest)
        .arg("--from")
        .arg(scratch.path().join("nowhere")));
    assert_eq!(no_dir.status.code(), Some(126), "{}", stderr(&no_dir));
    assert!(!missing_dest.exists());
    let mut left = file_names(scratch.path());
    left.retain(|n| n.starts_with('.'));
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn compressed_archive_reads_back_like_pg_wal() {
    // 16 MiB segments, as most servers have
    let a = archiving_cluster(&[], true);
    let c = &a.cluster;
    let last = generate_wal(c, 2);
    wait_archived(c, &last);
    let names = file_names(&a.archive);
    assert!(names.contains(&format!("{last}.zst")), "{names:?}");
    let mut segments = Vec::new();
    for name in &names {
        let seg = name
            .strip_suffix(".zst")
            .unwrap_or_else(|| panic!("uncompressed {name} in the archive"));
        let compressed = std::fs::read(a.archive.join(name)).unwrap();
        assert!(compressed.len() < 16 << 20, "{name} is not smaller");
        let bytes = zstd::decode_all(&compressed[..]).expect("zstd");
        let original = std::fs::read(c.wal_dir().join(seg)).expect("read pg_wal");
        assert!(bytes == original, "{name} differs from pg_wal/{seg}");
        segments.push(seg.to_string());
    }
    // pglcr dump reads the compressed archive as it reads pg_wal: to its end, the last switch
    // (no ENDSEG: `pglcr dump` wants the segment after ENDSEG when ENDSEG ends in a switch)
    let dump = |dir: &Path| {
        let out = run_ok(pglcr().arg("dump").arg("-p").arg(dir).arg(&segments[0]));
        String::from_utf8(out.stdout).expect("UTF-8 dump")
    };
    let from_archive = dump(&a.archive);
    let last_line = from_archive.lines().last().unwrap_or_default();
    assert!(last_line.contains("desc: SWITCH"), "{last_line}");
    assert!(
        dump(&c.wal_dir()).starts_with(&from_archive),
        "dump of the archive differs from pg_wal's"
    );

    // re-archiving the plain segment finds the compressed copy the same
    let again = run(pglcr()
        .arg("archive")
        .arg(c.wal_dir().join(&last))
        .arg(&last)
        .arg("--to")
        .arg(&a.archive)
        .arg("--compress"));
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stderr(&again).contains(".zst"), "{}", stderr(&again));
    assert_eq!(file_names(&a.archive), names);

    // restore decompresses
    let scratch = tempfile::tempdir().unwrap();
    let dest = scratch.path().join("RECOVERYXLOG");
    run_ok(
        pglcr()
            .arg("restore")
            .arg(&last)
            .arg(&dest)
            .arg("--from")
            .arg(&a.archive),
    );
    assert!(std::fs::read(&dest).unwrap() == std::fs::read(c.wal_dir().join(&last)).unwrap());
}

/// A server started from a base backup taken without WAL (`pg_basebackup -X none`), with
/// recovery.signal and `pglcr restore` as restore_command, replays the archive to its end and
/// has the rows written after the backup.
#[test]
fn base_backup_recovers_from_the_archive() {
    let a = archiving_cluster(&["--wal-segsize=1"], true);
    let c = &a.cluster;
    generate_wal(c, 1);
    let dir = server_writable_tempdir("pglcr-archive-");
    let backup = dir.path().join("backup");
    // -X none waits until the backup's WAL is archived
    run_ok(
        pg_command("pg_basebackup")
            .arg("-h")
            .arg(c.socket_dir())
            .args(["-p", &c.port.to_string(), "-U", "postgres"])
            .args(["-X", "none", "--checkpoint=fast", "--no-sync", "-D"])
            .arg(&backup),
    );
    c.psql("CREATE TABLE after_backup AS SELECT g AS id FROM generate_series(1, 12345) g");
    let last = c.psql("SELECT pg_walfile_name(pg_switch_wal())");
    wait_archived(c, &last);
    let expected = c.psql("SELECT count(*), sum(id) FROM after_backup");

    std::fs::write(backup.join("recovery.signal"), "").unwrap();
    if is_root() {
        run_ok(
            Command::new("chown")
                .arg("postgres:postgres")
                .arg(backup.join("recovery.signal")),
        );
    }
    let port = free_port();
    let opts = format!(
        "-c listen_addresses='' -c unix_socket_directories='{dir}' -c port={port} \
         -c archive_mode=off -c restore_command='{bin} restore %f %p --from {archive}'",
        dir = dir.path().display(),
        bin = env!("CARGO_BIN_EXE_pglcr"),
        archive = a.archive.display(),
    );
    let log = dir.path().join("log");
    let restored = Stopper(backup.clone());
    run_ok(
        pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&backup)
            .arg("-l")
            .arg(&log)
            .args(["-o", &opts, "start"]),
    );
    let psql = |sql: &str| {
        let out = run_ok(
            pg_command("psql")
                .args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-U", "postgres"])
                .arg("-h")
                .arg(dir.path())
                .args(["-p", &port.to_string(), "-d", "postgres", "-c", sql]),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // recovery ends (and the server is promoted) when the archive has no next segment
    let deadline = Instant::now() + Duration::from_secs(60);
    while psql("SELECT pg_is_in_recovery()") != "f" {
        assert!(
            Instant::now() < deadline,
            "still in recovery after 60 s:\n{}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(psql("SELECT count(*), sum(id) FROM after_backup"), expected);
    let log_text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        log_text.contains(&format!("restored log file \"{last}\" from archive")),
        "{log_text}"
    );
    drop(restored);
}

/// Stops the server of a data directory when dropped.
struct Stopper(PathBuf);

impl Drop for Stopper {
    fn drop(&mut self) {
        let _ = pg_command("pg_ctl")
            .args(["-w", "-m", "immediate", "-D"])
            .arg(&self.0)
            .arg("stop")
            .output();
    }
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
