//! Test support shared by every integration test: the `pglcr` binary, the committed test data,
//! and throwaway PostgreSQL clusters run as the `postgres` user when the tests run as root.
#![allow(dead_code)]

pub mod pages;
pub mod pipeline;
pub mod sshd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const PG15_BIN: &str = "/usr/lib/postgresql/15/bin";

pub fn pglcr() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pglcr"));
    c.env("TZ", "UTC");
    c
}

/// `pglcr decode --spool SPOOL -p WAL --catalog CATALOG`; the caller adds the rest.
pub fn decode_spool(spool: &Path, wal: &Path, catalog: &Path) -> Command {
    let mut c = pglcr();
    c.arg("decode")
        .arg("--spool")
        .arg(spool)
        .arg("-p")
        .arg(wal)
        .arg("--catalog")
        .arg(catalog);
    c
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn testdata() -> PathBuf {
    repo_root().join("testdata")
}

/// PostgreSQL 15 binaries; a missing installation fails the test loudly.
pub fn pg_bin(tool: &str) -> PathBuf {
    let p = Path::new(PG15_BIN).join(tool);
    assert!(
        p.is_file(),
        "{} not found: install PostgreSQL 15 (apt-get install -y postgresql-15 postgresql-15-wal2json)",
        p.display()
    );
    p
}

pub fn is_root() -> bool {
    let out = Command::new("id").arg("-u").output().expect("run id -u");
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

/// Runs a PostgreSQL program as the server's owner (`postgres` when we are root).
pub fn pg_command(tool: &str) -> Command {
    let bin = pg_bin(tool);
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin);
        c
    } else {
        Command::new(bin)
    }
}

pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Decompresses a test case's `wal/*.zst` into a fresh temporary directory.
pub fn unpack_wal(case_dir: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let wal = case_dir.join("wal");
    for entry in std::fs::read_dir(&wal).unwrap_or_else(|e| panic!("{}: {e}", wal.display())) {
        let path = entry.expect("dir entry").path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(plain) = name.strip_suffix(".zst") else {
            continue;
        };
        let bytes = zstd::decode_all(std::fs::File::open(&path).expect("open")).expect("zstd");
        std::fs::write(dir.path().join(plain), bytes).expect("write");
    }
    dir
}

/// A throwaway PostgreSQL cluster in a temporary directory, listening only on a unix socket
/// in that directory; stopped when dropped.
pub struct Cluster {
    dir: tempfile::TempDir,
    pub port: u16,
}

/// A temporary directory the server (the `postgres` user when we are root) may write in.
pub fn server_writable_tempdir(prefix: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .expect("temp dir");
    if is_root() {
        run_ok(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()),
        );
    }
    dir
}

impl Cluster {
    /// `initdb` with extra options, then start with extra `-c name=value` settings.
    pub fn start(initdb_args: &[&str], settings: &[(&str, &str)]) -> Cluster {
        let dir = server_writable_tempdir("pglcr-pg-");
        let data = dir.path().join("data");
        run_ok(
            pg_command("initdb")
                .args(["-A", "trust", "-U", "postgres", "--no-sync", "-D"])
                .arg(&data)
                .args(initdb_args),
        );
        let port = free_port();
        let mut opts = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c port={port} -c fsync=off",
            dir.path().display()
        );
        for (k, v) in settings {
            opts.push_str(&format!(" -c {k}={v}"));
        }
        let cluster = Cluster { dir, port };
        run_ok(
            pg_command("pg_ctl")
                .args(["-w", "-D"])
                .arg(&data)
                .args(["-l"])
                .arg(cluster.dir.path().join("log"))
                .args(["-o", &opts, "start"]),
        );
        cluster
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn wal_dir(&self) -> PathBuf {
        self.data_dir().join("pg_wal")
    }

    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs SQL with psql (stop on error) and returns its unaligned, tuples-only output.
    pub fn psql(&self, sql: &str) -> String {
        let out = run_ok(
            pg_command("psql")
                .args([
                    "-X",
                    "-q",
                    "-A",
                    "-t",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-U",
                    "postgres",
                ])
                .arg("-h")
                .arg(self.socket_dir())
                .args(["-p", &self.port.to_string(), "-d", "postgres", "-c", sql]),
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Runs a psql script from stdin (stop on error; each statement in its own transaction
    /// unless the script says otherwise; `COPY ... FROM stdin` data may follow inline).
    pub fn psql_script(&self, script: &str) -> String {
        use std::io::Write;
        use std::process::Stdio;
        let mut cmd = pg_command("psql");
        cmd.args([
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            "postgres",
        ])
        .arg("-h")
        .arg(self.socket_dir())
        .args(["-p", &self.port.to_string(), "-d", "postgres", "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("could not run {cmd:?}: {e}"));
        // write from another thread, so a long output cannot block psql while we write
        let mut stdin = child.stdin.take().expect("psql stdin");
        let input = script.to_string();
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let out = child.wait_with_output().expect("wait for psql");
        let written = writer.join().expect("psql stdin writer");
        assert!(
            out.status.success(),
            "psql script failed: {}\n{}\nscript:\n{script}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        written.expect("write psql script");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn stop(&self) {
        let _ = pg_command("pg_ctl")
            .args(["-w", "-m", "fast", "-D"])
            .arg(self.data_dir())
            .arg("stop")
            .output();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP port nobody listens on now (the server uses it only to name its socket file).
fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}
