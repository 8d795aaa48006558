//! `pglcr dump` against what pg_waldump printed for the same committed WAL: every run of every
//! case in testdata/ must produce byte-identical stdout.

mod support;

use std::path::Path;

use support::{pglcr, testdata, unpack_wal};

/// Runs every saved run of a case, with `threads` worker threads (1 = the sequential reader).
fn run_case(case_dir: &Path, threads: &str, failures: &mut Vec<String>) -> usize {
    let wal = unpack_wal(case_dir);
    let runs = case_dir.join("runs");
    let mut names: Vec<String> = std::fs::read_dir(&runs)
        .unwrap_or_else(|e| panic!("{}: {e}", runs.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter_map(|n| n.strip_suffix(".args").map(str::to_string))
        .collect();
    names.sort();
    for name in &names {
        let args: Vec<String> = std::fs::read_to_string(runs.join(format!("{name}.args")))
            .unwrap()
            .lines()
            .map(|l| l.replace("@WAL@", &wal.path().to_string_lossy()))
            .collect();
        let expected = std::fs::read(runs.join(format!("{name}.stdout"))).unwrap();
        let pg_exit: i32 = std::fs::read_to_string(runs.join(format!("{name}.exit")))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let out = pglcr()
            .env("RAYON_NUM_THREADS", threads)
            .arg("dump")
            .args(&args)
            .output()
            .expect("run pglcr");
        let case = format!(
            "{} ({threads} threads)",
            case_dir.file_name().unwrap().to_string_lossy()
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        if stderr.contains("panicked") {
            failures.push(format!("{case}/{name}: panic: {stderr}"));
        } else if out.stdout != expected {
            let ours = String::from_utf8_lossy(&out.stdout);
            let theirs = String::from_utf8_lossy(&expected);
            let first_diff = ours
                .lines()
                .zip(theirs.lines())
                .find(|(a, b)| a != b)
                .map(|(a, b)| format!("\n  pglcr:      {a}\n  pg_waldump: {b}"))
                .unwrap_or_else(|| {
                    format!(
                        " (pglcr {} lines, pg_waldump {} lines)",
                        ours.lines().count(),
                        theirs.lines().count()
                    )
                });
            failures.push(format!(
                "{case}/{name}: stdout differs{first_diff}\n  stderr: {stderr}"
            ));
        } else if pg_exit == 0 && !out.status.success() {
            failures.push(format!(
                "{case}/{name}: pg_waldump succeeded, pglcr failed: {stderr}"
            ));
        }
    }
    names.len()
}

#[test]
fn dump_output_is_identical_to_pg_waldump() {
    let mut cases: Vec<_> = std::fs::read_dir(testdata())
        .expect("testdata directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("runs").is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no test cases in testdata/");
    let mut failures = Vec::new();
    let mut total = 0;
    for case in &cases {
        for threads in ["1", "3"] {
            total += run_case(case, threads, &mut failures);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} runs differ from pg_waldump:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
