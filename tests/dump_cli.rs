//! `pglcr dump` behaviour beyond byte-for-byte pg_waldump parity: JSON lines, --follow on a
//! live server, compressed segments, and argument errors.

mod support;

use std::io::Read;
use std::process::Stdio;
use std::time::{Duration, Instant};

use support::{pglcr, testdata, unpack_wal, Cluster};

fn args_of(case: &str, run: &str, wal: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(
        testdata()
            .join(case)
            .join("runs")
            .join(format!("{run}.args")),
    )
    .unwrap()
    .lines()
    .map(|l| l.replace("@WAL@", &wal.to_string_lossy()))
    .collect()
}

/// Every JSON line parses and agrees with pg_waldump's text line for the same record.
#[test]
fn json_lines_match_the_text_records() {
    for case in ["pg15-basic", "pg16-basic", "pg18-basic"] {
        let wal = unpack_wal(&testdata().join(case));
        let args = args_of(case, "full", wal.path());
        let out = pglcr()
            .args(["dump", "--format=json"])
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(testdata().join(case).join("runs/full.stdout")).unwrap();
        let json = String::from_utf8(out.stdout).unwrap();
        assert_eq!(json.lines().count(), text.lines().count(), "{case}");
        for (j, t) in json.lines().zip(text.lines()) {
            let v: serde_json::Value = serde_json::from_str(j).unwrap();
            let field = |k: &str| v[k].to_string().trim_matches('"').to_string();
            assert!(
                t.starts_with(&format!("rmgr: {:<11} ", field("rmgr"))),
                "{t} / {j}"
            );
            assert!(
                t.contains(&format!("/{:>6}, tx:", field("tot_len"))),
                "{t} / {j}"
            );
            assert!(
                t.contains(&format!("desc: {} ", field("type"))),
                "{t} / {j}"
            );
            let lsn: pglcr::wal::lsn::Lsn = field("lsn").parse().unwrap();
            assert!(t.contains(&format!("lsn: {}", lsn.padded())), "{t} / {j}");
            let desc = v["description"].as_str().unwrap();
            assert!(t.contains(desc), "{t} / {j}");
            let blocks = v["blocks"].as_array().unwrap();
            assert_eq!(t.matches("blkref #").count(), blocks.len(), "{t} / {j}");
        }
    }
}

/// Compressed archive copies read exactly like the plain segments.
#[test]
fn compressed_segments_read_like_plain_ones() {
    let case = testdata().join("pg15-basic");
    let expected = std::fs::read(case.join("runs/full.stdout")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut names = Vec::new();
    for (i, e) in std::fs::read_dir(case.join("wal")).unwrap().enumerate() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        let Some(plain) = name.strip_suffix(".zst") else {
            continue;
        };
        names.push(plain.to_string());
        let mut bytes = Vec::new();
        zstd::stream::read::Decoder::new(std::fs::File::open(&p).unwrap())
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        // Mix the forms: zstd, gzip and plain.
        match i % 3 {
            0 => std::fs::copy(&p, dir.path().join(&name))
                .map(|_| ())
                .unwrap(),
            1 => {
                let f = std::fs::File::create(dir.path().join(format!("{plain}.gz"))).unwrap();
                let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, &bytes).unwrap();
                gz.finish().unwrap();
            }
            _ => std::fs::write(dir.path().join(plain), &bytes).unwrap(),
        }
    }
    let args = args_of("pg15-basic", "full", dir.path());
    let out = pglcr().arg("dump").args(&args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == expected, "output differs from pg_waldump's");
}

#[test]
fn argument_errors_are_clear() {
    let cases: &[(&[&str], &str)] = &[
        (&["-s", "zz"], "invalid WAL location"),
        (
            &["-s", "0/0", "-r", "Nope"],
            "resource manager \"Nope\" does not exist",
        ),
        (&["-s", "0/0", "-F", "heap"], "invalid fork name"),
        (
            &["-s", "0/0", "-R", "1/2"],
            "invalid relation specification",
        ),
        (&["-s", "0/0", "-t", "0"], "-t/--timeline must be in range"),
        (
            &["-p", "/nonexistent/dir", "-s", "0/0"],
            "could not open directory",
        ),
        (&["-p", "/tmp"], "no start WAL location given"),
    ];
    for (args, needle) in cases {
        let out = pglcr().arg("dump").args(*args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    let list = pglcr().args(["dump", "--rmgr=list"]).output().unwrap();
    let names = String::from_utf8(list.stdout).unwrap();
    assert_eq!(names.lines().count(), 22);
    assert!(names.starts_with("XLOG\nTransaction\n"));
}

/// `--follow` keeps reading as the server writes: records committed after the dump started
/// appear in its output.
#[test]
fn follow_shows_records_written_later() {
    let cluster = Cluster::start(&["--wal-segsize=1"], &[("wal_level", "logical")]);
    let start = cluster.psql("SELECT pg_current_wal_insert_lsn()");
    let mut child = pglcr()
        .arg("dump")
        .arg("-p")
        .arg(cluster.wal_dir())
        .args(["-f", "-s", &start, "-r", "LogicalMessage"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Enough to cross into a new segment, so the dump has to pick up a new file too.
    cluster.psql("SELECT pg_logical_emit_message(false, 'follow', repeat('x', 300000)) FROM generate_series(1, 5)");
    cluster.psql("SELECT pg_logical_emit_message(false, 'follow-last', 'done')");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        let mut buf = [0u8; 65536];
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&buf[..n]),
            }
            if String::from_utf8_lossy(&seen).contains("follow-last") {
                break;
            }
        }
        seen
    });
    let seen = reader.join().unwrap();
    child.kill().unwrap();
    let _ = child.wait();
    let text = String::from_utf8_lossy(&seen);
    assert_eq!(text.matches("prefix \"follow\"").count(), 5, "{text}");
    assert!(text.contains("prefix \"follow-last\""), "{text}");
}

/// A range whose last segment ends with a segment switch needs no next segment: pg_waldump
/// stops after the switch with status 0, and so does pglcr.
#[test]
fn range_ending_in_a_switch_needs_no_next_segment() {
    let wal = unpack_wal(&testdata().join("pg15-16mb"));
    std::fs::remove_file(wal.path().join("000000010000000000000003")).unwrap();
    let args = ["000000010000000000000001", "000000010000000000000002"];
    let ours = pglcr()
        .arg("dump")
        .arg("-p")
        .arg(wal.path())
        .args(args)
        .output()
        .unwrap();
    let theirs = std::process::Command::new(support::pg_bin("pg_waldump"))
        .arg("-p")
        .arg(wal.path())
        .args(args)
        .output()
        .unwrap();
    assert_eq!(theirs.status.code(), Some(0));
    assert_eq!(
        ours.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ours.stderr)
    );
    assert!(ours.stdout == theirs.stdout, "outputs differ");
}
