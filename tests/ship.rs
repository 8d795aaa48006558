//! `pglcr ship`: LCR files decoded from real WAL (testdata/pg15-logical-big) shipped to a
//! directory and to a real OpenSSH server on 127.0.0.1, killed at random points, cut off the
//! network between two namespaces, damaged at the destination; checked against the spool byte
//! for byte, against `sha256sum -c` of the manifest, and against the acknowledgements.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use pglcr::lcr;
use support::sshd::Sshd;
use support::{pglcr, testdata, unpack_wal};

const CASE: &str = "pg15-logical-big";

/// A spool decoded once from the test case, in small files so that there are many of them.
fn reference_spool() -> &'static Path {
    static SPOOL: OnceLock<tempfile::TempDir> = OnceLock::new();
    SPOOL
        .get_or_init(|| {
            let case = testdata().join(CASE);
            let wal = unpack_wal(&case);
            let spool = tempfile::tempdir().unwrap();
            let start = std::fs::read_to_string(case.join("start-lsn")).unwrap();
            support::run_ok(
                support::decode_spool(spool.path(), wal.path(), &case.join("catalog.json")).args([
                    "--start",
                    start.trim(),
                    "--max-lcr-size",
                    "64kB",
                ]),
            );
            let n = lcr::list_dir(spool.path()).unwrap().len();
            assert!(n >= 20, "expected at least 20 LCR files, got {n}");
            spool
        })
        .path()
}

/// A copy of the reference spool this test may change.
fn spool_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(reference_spool()).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
        }
    }
    dir
}

/// LCR files of a directory by name.
fn lcr_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    lcr::list_dir(dir)
        .unwrap()
        .into_iter()
        .map(|(name, path)| (name.to_string(), std::fs::read(path).unwrap()))
        .collect()
}

fn ship(spool: &Path, to: &str, extra: &[&str]) -> Command {
    let mut c = pglcr();
    c.args(["ship", "--spool"])
        .arg(spool)
        .args(["--to", to])
        .args(extra);
    c
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("run pglcr ship")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn acked(spool: &Path, name: &str) -> Option<String> {
    pglcr::ship::state::DestinationState::load(spool, name)
        .unwrap()
        .and_then(|s| s.acked)
}

/// The destination holds exactly the spool's files, byte for byte, nothing else but the
/// manifest, which `sha256sum -c` accepts and which lists every file with its size; the
/// destination acknowledged the last file.
fn assert_complete(spool: &Path, dest: &Path, name: &str) {
    let want = lcr_files(spool);
    assert_eq!(
        lcr_files(dest),
        want,
        "destination files differ from the spool"
    );
    let mut others: Vec<String> = std::fs::read_dir(dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| lcr::LcrName::parse(n).is_none())
        .collect();
    others.sort();
    assert_eq!(
        others,
        ["pglcr.manifest"],
        "unexpected files at the destination"
    );
    let manifest = std::fs::read_to_string(dest.join("pglcr.manifest")).unwrap();
    let mut listed = BTreeMap::new();
    let mut sums = String::new();
    for line in manifest.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        listed.insert(f[0].to_string(), f[1].parse::<usize>().unwrap());
        sums.push_str(&format!("{}  {}\n", f[2], f[0]));
    }
    let sizes: BTreeMap<String, usize> = want.iter().map(|(n, b)| (n.clone(), b.len())).collect();
    assert_eq!(listed, sizes, "manifest names and sizes");
    let check = sha256sum_check(dest, &sums);
    assert!(
        check.status.success(),
        "sha256sum -c: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert_eq!(acked(spool, name).as_ref(), want.keys().last());
}

fn sha256sum_check(dir: &Path, sums: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("sha256sum")
        .args(["-c", "--quiet", "-"])
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(sums.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn ships_to_a_directory_then_nothing_to_do() {
    let spool = spool_copy();
    let dest = tempfile::tempdir().unwrap();
    let to = dest.path().to_str().unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let n = lcr_files(spool.path()).len();
    assert!(
        stderr(&out).contains(&format!("shipped {n} files")),
        "{}",
        stderr(&out)
    );
    assert_complete(spool.path(), dest.path(), "dr1");
    let again = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(
        again.status.code(),
        Some(3),
        "nothing to do: {}",
        stderr(&again)
    );
    // The same name for another place is refused, not silently restarted.
    let other = tempfile::tempdir().unwrap();
    let out = run(&mut ship(
        spool.path(),
        other.path().to_str().unwrap(),
        &["--name", "dr1"],
    ));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("give another --name"),
        "{}",
        stderr(&out)
    );

    // A destination is known to the spool (and so to retention) from its first run, even
    // one that finds nothing to send.
    let empty = tempfile::tempdir().unwrap();
    std::fs::copy(
        spool.path().join(pglcr::spool::STATE_FILE),
        empty.path().join(pglcr::spool::STATE_FILE),
    )
    .unwrap();
    let out = run(&mut ship(empty.path(), to, &["--name", "dr2"]));
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let dr2 = pglcr::ship::state::DestinationState::load(empty.path(), "dr2").unwrap();
    assert!(dr2.is_some_and(|d| d.acked.is_none()));
}

/// A manifest line of an acknowledged file lost (here: the last line cut in half, as a cut-off
/// append leaves it) is written again by the next run that ships something.
#[test]
fn a_lost_manifest_line_is_written_again() {
    let spool = spool_copy();
    let dest = tempfile::tempdir().unwrap();
    let to = dest.path().to_str().unwrap();
    let names: Vec<String> = lcr_files(spool.path()).into_keys().collect();
    let last = names.last().unwrap();
    let aside = tempfile::tempdir().unwrap();
    std::fs::rename(spool.path().join(last), aside.path().join(last)).unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dest.path().join("pglcr.manifest");
    let manifest = std::fs::read_to_string(&path).unwrap();
    let lost = &names[names.len() - 2];
    let cut = manifest.rfind(lost.as_str()).unwrap() + 10;
    std::fs::write(&path, &manifest[..cut]).unwrap();
    let verify = run(&mut ship(spool.path(), to, &["--verify", "--name", "dr1"]));
    assert!(
        stderr(&verify).contains(&format!("{lost}: acknowledged but not in the manifest")),
        "{}",
        stderr(&verify)
    );
    std::fs::rename(aside.path().join(last), spool.path().join(last)).unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("shipped 1 files"), "{}", stderr(&out));
    assert_complete(spool.path(), dest.path(), "dr1");
}

#[test]
fn ships_over_ssh_in_parallel_and_verifies() {
    let spool = spool_copy();
    let sshd = Sshd::start();
    let dest = tempfile::tempdir().unwrap();
    let to = sshd.url(dest.path());
    let ssh = sshd.ssh_command();
    let out =
        run(ship(spool.path(), &to, &["--jobs", "4", "--name", "dr1"]).env("PGLCR_SSH", &ssh));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\nsshd: {}",
        stderr(&out),
        sshd.log()
    );
    assert_complete(spool.path(), dest.path(), "dr1");
    let verify =
        run(ship(spool.path(), &to, &["--verify", "--name", "dr1"]).env("PGLCR_SSH", &ssh));
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    // Without the test's key and known_hosts, ssh must fail at once, never prompt.
    let start = Instant::now();
    let out = run(
        ship(spool.path(), &to, &["--name", "dr2", "--retries", "0"])
            .env(
                "PGLCR_SSH",
                "ssh -F /dev/null -o UserKnownHostsFile=/dev/null",
            )
            .stdin(std::process::Stdio::null()),
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("ssh failed: Host key verification failed"),
        "{}",
        stderr(&out)
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(acked(spool.path(), "dr2"), None);
}

/// Ship sends the SHA-256 decode recorded beside each file (`NAME.sha256`, a sha256sum line)
/// instead of hashing the file. A recorded sum that does not match its file stops shipping at
/// that file with an error naming it: over SSH, where the far side finds the mismatch, and to
/// a directory, where ship hashes the file itself. A malformed checksum file is refused; a
/// file without one is hashed and shipped.
#[test]
fn recorded_checksums_are_used_and_a_wrong_one_is_refused() {
    let spool = spool_copy();
    let files = lcr_files(spool.path());
    let names: Vec<&String> = files.keys().collect();
    let sidecar = |n: &str| spool.path().join(format!("{n}.sha256"));
    let sums: Vec<String> = names
        .iter()
        .map(|n| std::fs::read_to_string(sidecar(n)).unwrap())
        .collect();
    let check = sha256sum_check(spool.path(), &sums.concat());
    assert!(
        check.status.success(),
        "sha256sum -c of the checksum files decode wrote: {}",
        String::from_utf8_lossy(&check.stdout)
    );
    let wrong = names[5];
    let other_sum = sums[4].split_once("  ").unwrap().0;
    std::fs::write(sidecar(wrong), format!("{other_sum}  {wrong}\n")).unwrap();
    let sshd = Sshd::start();
    let ssh = sshd.ssh_command();
    let ssh_dest = tempfile::tempdir().unwrap();
    let dir_dest = tempfile::tempdir().unwrap();
    let destinations = [
        (sshd.url(ssh_dest.path()), "dr1", ssh_dest.path()),
        (
            dir_dest.path().to_str().unwrap().to_string(),
            "dr2",
            dir_dest.path(),
        ),
    ];
    for (to, name, _) in &destinations {
        let out =
            run(ship(spool.path(), to, &["--name", name, "--retries", "1"]).env("PGLCR_SSH", &ssh));
        let err = stderr(&out);
        assert_eq!(
            out.status.code(),
            Some(4),
            "partial failure to {name}: {err}"
        );
        assert!(
            err.contains(&format!("{wrong}\" does not match its checksum file")),
            "{name}: {err}"
        );
        assert_eq!(acked(spool.path(), name).as_ref(), Some(names[4]), "{name}");
    }
    assert!(!ssh_dest.path().join(wrong).exists());
    assert!(!dir_dest.path().join(wrong).exists());

    std::fs::write(sidecar(wrong), "not a checksum\n").unwrap();
    let out = run(&mut ship(
        spool.path(),
        &destinations[1].0,
        &["--name", "dr2"],
    ));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("checksum file \"{}\"", sidecar(wrong).display())),
        "{err}"
    );

    std::fs::remove_file(sidecar(wrong)).unwrap();
    std::fs::remove_file(sidecar(names[8])).unwrap();
    for (to, name, dest) in &destinations {
        let out = run(ship(spool.path(), to, &["--name", name]).env("PGLCR_SSH", &ssh));
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        assert_complete(spool.path(), dest, name);
    }
}

#[test]
fn same_file_counts_as_shipped_other_contents_stop_shipping() {
    let spool = spool_copy();
    let files = lcr_files(spool.path());
    let names: Vec<&String> = files.keys().collect();
    let dest = tempfile::tempdir().unwrap();
    std::fs::write(dest.path().join(names[0]), &files[names[0]]).unwrap();
    std::fs::write(dest.path().join(names[3]), b"not the same file").unwrap();
    let to = dest.path().to_str().unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(4), "partial failure: {err}");
    assert!(
        err.contains(&format!("LCR file {} at destination", names[3])),
        "{err}"
    );
    assert!(err.contains("1 already there"), "{err}");
    assert_eq!(acked(spool.path(), "dr1").as_ref(), Some(names[2]));
    assert_eq!(
        std::fs::read(dest.path().join(names[3])).unwrap(),
        b"not the same file"
    );
    // A rerun stops at the same file, without acknowledging anything more.
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(acked(spool.path(), "dr1").as_ref(), Some(names[2]));
}

#[test]
fn removed_files_broken_destinations_and_locks_are_refused() {
    let spool = spool_copy();
    let files = lcr_files(spool.path());
    let names: Vec<&String> = files.keys().collect();
    let dest = tempfile::tempdir().unwrap();
    let to = dest.path().to_str().unwrap();
    let mut state = pglcr::ship::state::DestinationState::new("dr1", to);
    state.acked = Some(names[1].clone());
    state.save(spool.path()).unwrap();
    std::fs::remove_file(spool.path().join(names[2])).unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(&format!("LCR file {} has already been removed", names[2])),
        "{}",
        stderr(&out)
    );

    state.broken = Some("retention removed 0000000100000000000000120000000000000002".into());
    state.save(spool.path()).unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("is broken: retention removed"),
        "{}",
        stderr(&out)
    );

    let _held = pglcr::ship::state::lock(spool.path(), "dr2").unwrap();
    let out = run(&mut ship(spool.path(), to, &["--name", "dr2"]));
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert!(stderr(&out).contains("in use by another pglcr process"));
}

/// A flipped byte at the destination: found by --verify, sent again by --repair.
fn flip_verify_repair(spool: &Path, dest: &Path, to: &str, ssh: &str) {
    let out = run(ship(spool, to, &["--name", "dr1"]).env("PGLCR_SSH", ssh));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = lcr_files(spool);
    let victim = files.keys().nth(5).unwrap();
    let path = dest.join(victim);
    let mut bytes = std::fs::read(&path).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let verify = run(ship(spool, to, &["--name", "dr1", "--verify"]).env("PGLCR_SSH", ssh));
    assert_eq!(verify.status.code(), Some(1), "{}", stderr(&verify));
    assert!(
        stderr(&verify).contains(&format!("problem: {victim}: SHA-256")),
        "{}",
        stderr(&verify)
    );
    assert!(
        stderr(&verify).contains("1 problems"),
        "{}",
        stderr(&verify)
    );
    let repair = run(ship(spool, to, &["--name", "dr1", "--repair"]).env("PGLCR_SSH", ssh));
    assert_eq!(repair.status.code(), Some(0), "{}", stderr(&repair));
    assert!(
        stderr(&repair).contains(&format!("repaired {victim}")),
        "{}",
        stderr(&repair)
    );
    let verify = run(ship(spool, to, &["--name", "dr1", "--verify"]).env("PGLCR_SSH", ssh));
    assert_eq!(verify.status.code(), Some(0), "{}", stderr(&verify));
    assert_complete(spool, dest, "dr1");
}

#[test]
fn flipped_byte_is_found_and_repaired() {
    let spool = spool_copy();
    let dest = tempfile::tempdir().unwrap();
    flip_verify_repair(
        spool.path(),
        dest.path(),
        dest.path().to_str().unwrap(),
        "ssh",
    );
    let spool = spool_copy();
    let sshd = Sshd::start();
    let dest = tempfile::tempdir().unwrap();
    flip_verify_repair(
        spool.path(),
        dest.path(),
        &sshd.url(dest.path()),
        &sshd.ssh_command(),
    );
}

/// Kills ship runs at random points until `kills` of them died mid-run, then finishes with a
/// clean run; returns the kill count.
fn kill_at_random_points(
    spool: &Path,
    dest: &Path,
    to: &str,
    ssh: &str,
    kills: usize,
    max_delay_ms: u64,
) {
    let mut seed = std::process::id() as u64 ^ 0x9E37_79B9_7F4A_7C15;
    let mut random = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut killed = 0;
    let mut runs = 0;
    while killed < kills {
        runs += 1;
        assert!(
            runs < kills * 4,
            "only {killed} of {runs} runs were still running when killed"
        );
        let jobs = (1 + random(4)).to_string();
        let mut child = ship(
            spool,
            to,
            &["--name", "dr1", "--jobs", &jobs, "--max-rate", "2MB"],
        )
        .env("PGLCR_SSH", ssh)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
        std::thread::sleep(Duration::from_millis(random(max_delay_ms)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        let status = child.wait().unwrap();
        assert!(
            status.code().is_none() || matches!(status.code(), Some(0 | 3)),
            "run {runs} failed: {status}"
        );
        // Finish, check and start over now and then, so that kills fall early and late in
        // the stream.
        if status.code().is_some() || random(6) == 0 {
            let out = run(ship(spool, to, &["--name", "dr1"]).env("PGLCR_SSH", ssh));
            assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
            assert_complete(spool, dest, "dr1");
            std::fs::remove_file(spool.join("ship/dr1.json")).unwrap();
            for entry in std::fs::read_dir(dest).unwrap() {
                std::fs::remove_file(entry.unwrap().path()).unwrap();
            }
        }
    }
}

#[test]
fn killed_at_30_random_points_to_a_directory() {
    let spool = spool_copy();
    let dest = tempfile::tempdir().unwrap();
    let to = dest.path().to_str().unwrap();
    kill_at_random_points(spool.path(), dest.path(), to, "ssh", 30, 800);
    let out = run(&mut ship(spool.path(), to, &["--name", "dr1"]));
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    assert_complete(spool.path(), dest.path(), "dr1");
}

#[test]
fn killed_at_30_random_points_over_ssh() {
    let spool = spool_copy();
    let sshd = Sshd::start();
    let dest = tempfile::tempdir().unwrap();
    let to = sshd.url(dest.path());
    kill_at_random_points(
        spool.path(),
        dest.path(),
        &to,
        &sshd.ssh_command(),
        30,
        1200,
    );
    let out = run(ship(spool.path(), &to, &["--name", "dr1"]).env("PGLCR_SSH", sshd.ssh_command()));
    assert!(matches!(out.status.code(), Some(0 | 3)), "{}", stderr(&out));
    assert_complete(spool.path(), dest.path(), "dr1");
}

/// Two network namespaces joined by a veth pair; removed when dropped.
struct NetPair {
    a: String,
    b: String,
    a_if: String,
    pub a_addr: String,
    pub b_addr: String,
}

fn ip(args: &[&str]) {
    let out = Command::new("ip")
        .args(args)
        .output()
        .expect("ip (iproute2)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        stderr(&out)
    );
}

impl NetPair {
    fn new() -> NetPair {
        assert!(
            support::is_root(),
            "network namespaces need root: run the tests as root"
        );
        let id = std::process::id() % 10000;
        let net = format!("10.213.{}", id % 250);
        let p = NetPair {
            a: format!("pglcr-a{id}"),
            b: format!("pglcr-b{id}"),
            a_if: format!("pga{id}"),
            a_addr: format!("{net}.1"),
            b_addr: format!("{net}.2"),
        };
        let b_if = format!("pgb{id}");
        ip(&["netns", "add", &p.a]);
        ip(&["netns", "add", &p.b]);
        ip(&[
            "link", "add", &p.a_if, "netns", &p.a, "type", "veth", "peer", "name", &b_if, "netns",
            &p.b,
        ]);
        ip(&[
            "-n",
            &p.a,
            "addr",
            "add",
            &format!("{}/24", p.a_addr),
            "dev",
            &p.a_if,
        ]);
        ip(&[
            "-n",
            &p.b,
            "addr",
            "add",
            &format!("{}/24", p.b_addr),
            "dev",
            &b_if,
        ]);
        for (ns, dev) in [(&p.a, &p.a_if), (&p.b, &b_if)] {
            ip(&["-n", ns, "link", "set", dev, "up"]);
            ip(&["-n", ns, "link", "set", "lo", "up"]);
        }
        p
    }

    fn link(&self, up: bool) {
        ip(&[
            "-n",
            &self.a,
            "link",
            "set",
            &self.a_if,
            if up { "up" } else { "down" },
        ]);
    }

    /// `pglcr ship` run inside namespace a.
    fn ship(&self, spool: &Path, to: &str, extra: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.a])
            .arg(env!("CARGO_BIN_EXE_pglcr"))
            .args(["ship", "--spool"])
            .arg(spool)
            .args(["--to", to, "--name", "dr1"])
            .args(extra);
        c
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

#[test]
fn network_cut_mid_transfer_between_namespaces() {
    let net = NetPair::new();
    let spool = spool_copy();
    let dest = tempfile::tempdir().unwrap();
    let sshd = Sshd::start_on(&net.b_addr, support::sshd::free_port(), Some(&net.b));
    let to = sshd.url(dest.path());
    // Notice a dead link within seconds rather than a minute.
    let ssh = format!(
        "{} -o ServerAliveInterval=1 -o ServerAliveCountMax=2 -o ConnectTimeout=3",
        sshd.ssh_command()
    );
    let all = lcr_files(spool.path());

    // Cut the link while a slow run is under way: it fails, having shipped part of the files.
    let child = net
        .ship(
            spool.path(),
            &to,
            &["--max-rate", "300kB", "--jobs", "2", "--retries", "0"],
        )
        .env("PGLCR_SSH", &ssh)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    net.link(false);
    let out = child.wait_with_output().unwrap();
    assert!(
        matches!(out.status.code(), Some(1 | 4)),
        "a cut link must fail the run: {:?} {}",
        out.status,
        stderr(&out)
    );
    let partial = acked(spool.path(), "dr1");
    assert!(
        partial.as_ref() < all.keys().last(),
        "the run cannot have finished: {partial:?}"
    );
    // What was acknowledged is at the destination, intact.
    for (name, bytes) in all.iter().filter(|(n, _)| Some(*n) <= partial.as_ref()) {
        assert_eq!(
            &std::fs::read(dest.path().join(name)).unwrap(),
            bytes,
            "{name}"
        );
    }

    // The next run starts with the link still down and retries until it is back.
    let child = net
        .ship(spool.path(), &to, &["--retries", "8"])
        .env("PGLCR_SSH", &ssh)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    net.link(true);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\nsshd: {}",
        stderr(&out),
        sshd.log()
    );
    assert!(stderr(&out).contains("retrying"), "{}", stderr(&out));
    assert_complete(spool.path(), dest.path(), "dr1");
}
