//! `pglcr drill` with real servers: the demo passes on throwaway clusters; a drill up to a
//! time in the middle of a workload leaves the target equal to the source as it was then; a
//! segment missing from the archive fails the drill with a report naming it.

mod support;

use std::path::Path;
use std::process::Output;

use support::pipeline::{conninfo_db, Source};
use support::{pg_command, pglcr, run_ok, Cluster};

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "drill printed no JSON report ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn stage_ok(report: &serde_json::Value, name: &str) -> bool {
    report["stages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no stage {name} in {report}"))["ok"]
        .as_bool()
        .unwrap()
}

#[test]
fn demo_passes_and_writes_its_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("drill.html");
    let out = pglcr()
        .args([
            "drill",
            "--demo",
            "--seconds",
            "3",
            "--format",
            "json",
            "--html",
        ])
        .arg(&html)
        .output()
        .unwrap();
    let r = report(&out);
    assert!(
        out.status.success(),
        "demo failed: {r:#}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(r["verdict"], "pass");
    for stage in ["decode", "ship", "apply", "compare"] {
        assert!(stage_ok(&r, stage), "{stage} failed: {r:#}");
    }
    let tables = r["comparison"]["tables"].as_array().unwrap();
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    for t in [
        "public.demo_toast",
        "public.demo_types",
        "public.pgbench_accounts",
        "public.pgbench_history",
    ] {
        assert!(names.contains(&t), "{t} not compared: {names:?}");
    }
    assert!(tables.iter().all(|t| t["status"] == "equal"));
    // the workload ran after the copy: changes went through the pipeline
    assert!(r["newest_applied_commit"].is_i64(), "{r:#}");
    assert_eq!(r["rpo_seconds"], 0.0);
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<svg") && page.contains("PASS") && page.contains("pgbench_accounts"));
}

/// A source with a `work` database, seeded into a target by `pglcr init`.
struct Pipeline {
    source: Source,
    target: Cluster,
    spool: tempfile::TempDir,
    shipped: tempfile::TempDir,
}

fn pipeline() -> Pipeline {
    let source = Source::start("SELECT 1;");
    let target = Cluster::start(&[], &[]);
    for c in [&source.cluster, &target] {
        c.psql("CREATE DATABASE work");
    }
    run_ok(
        pg_command("pgbench")
            .args(["-i", "-s", "1", "-q", "-h"])
            .arg(source.cluster.socket_dir())
            .args([
                "-p",
                &source.cluster.port.to_string(),
                "-U",
                "postgres",
                "work",
            ]),
    );
    let spool = tempfile::tempdir().unwrap();
    let shipped = tempfile::tempdir().unwrap();
    run_ok(
        pglcr()
            .args([
                "init",
                "--source",
                &conninfo_db(&source.cluster, "work"),
                "--spool",
            ])
            .arg(spool.path())
            .args(["--target", &conninfo_db(&target, "work")]),
    );
    Pipeline {
        source,
        target,
        spool,
        shipped,
    }
}

impl Pipeline {
    fn pgbench(&self, transactions: &str) {
        let c = &self.source.cluster;
        run_ok(
            pg_command("pgbench")
                .args(["-n", "-c", "2", "-t", transactions, "-h"])
                .arg(c.socket_dir())
                .args(["-p", &c.port.to_string(), "-U", "postgres", "work"]),
        );
    }

    fn drill(&self, extra: &[&str]) -> Output {
        pglcr()
            .args([
                "drill",
                "--source",
                &conninfo_db(&self.source.cluster, "work"),
                "--wal",
            ])
            .arg(self.source.archive.path())
            .arg("--spool")
            .arg(self.spool.path())
            .arg("--ship-to")
            .arg(self.shipped.path())
            .args([
                "--target",
                &conninfo_db(&self.target, "work"),
                "--format",
                "json",
            ])
            .args(extra)
            .output()
            .unwrap()
    }
}

#[test]
fn until_a_time_mid_workload_matches_the_source_as_it_was_then() {
    let p = pipeline();
    p.pgbench("150");
    // The source as of now, kept aside to compare with; nothing writes to `work` meanwhile.
    p.source
        .cluster
        .psql("CREATE DATABASE snap TEMPLATE work STRATEGY FILE_COPY");
    let until = p.source.cluster.psql("SELECT now()");
    std::thread::sleep(std::time::Duration::from_millis(20));
    p.pgbench("150");
    p.source.archive_now();

    let out = p.drill(&[
        "--until",
        &until,
        "--compare-with",
        &conninfo_db(&p.source.cluster, "snap"),
    ]);
    let r = report(&out);
    assert!(out.status.success(), "drill failed: {r:#}");
    assert_eq!(r["verdict"], "pass");
    assert!(r["comparison"]["tables"]
        .as_array()
        .unwrap()
        .iter()
        .all(|t| t["status"] == "equal"));
    // The transactions after --until were archived and decoded, but not applied.
    assert!(r["rpo_seconds"].as_f64().unwrap() > 0.0, "{r:#}");
    let live = pglcr()
        .args(["compare", "-d", &conninfo_db(&p.source.cluster, "work")])
        .args(["-d", &conninfo_db(&p.target, "work")])
        .output()
        .unwrap();
    assert_eq!(
        live.status.code(),
        Some(1),
        "the target must be behind the source"
    );
}

/// The archived segments, in name order.
fn archived_segments(archive: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(archive)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.len() == 24 && n.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect();
    names.sort();
    names
}

#[test]
fn a_segment_missing_from_the_archive_fails_with_its_name_and_the_loss_window() {
    let p = pipeline();
    let first_needed = {
        let state: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p.spool.path().join("state.json")).unwrap())
                .unwrap();
        let lsn = state["restart_lsn"].as_str().unwrap().to_string();
        p.source
            .cluster
            .psql(&format!("SELECT pg_walfile_name('{lsn}')"))
    };
    p.pgbench("1500");
    p.source.archive_now();
    let segments = archived_segments(p.source.archive.path());
    let needed: Vec<&String> = segments.iter().filter(|s| **s >= first_needed).collect();
    assert!(needed.len() >= 3, "workload too small: {needed:?}");
    let missing = needed[1].clone();
    std::fs::remove_file(p.source.archive.path().join(&missing)).unwrap();

    let report_dir = tempfile::tempdir().unwrap();
    let html = report_dir.path().join("drill.html");
    let out = p.drill(&["--html", html.to_str().unwrap()]);
    let r = report(&out);
    assert_eq!(out.status.code(), Some(1), "{r:#}");
    assert_eq!(r["verdict"], "fail");
    assert!(!stage_ok(&r, "decode"));
    assert_eq!(r["missing_wal"]["segment"], missing.as_str(), "{r:#}");
    assert!(r["missing_wal"]["resumes_at"].is_string(), "{r:#}");
    assert!(r["failures"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f.as_str().unwrap().contains(&missing)));
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains(&missing) && page.contains("FAIL"));
    // what arrived before the gap was applied; what follows is missing on the target
    assert!(stage_ok(&r, "apply"), "{r:#}");
    assert!(!stage_ok(&r, "compare"), "{r:#}");
}
