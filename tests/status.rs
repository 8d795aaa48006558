//! `pglcr status` over real WAL (testdata/pg15-logical-big) decoded into a spool as the archive
//! grows, shipped with `pglcr ship` to two destinations at different positions, and an apply
//! consumer acknowledging by file: every
//! figure is checked against the LCR headers and the WAL, in the three formats; broken and
//! unreadable stages make the exit status 1.

mod support;

use std::path::Path;

use pglcr::lcr::{self, LcrFile};
use support::pipeline::{file_names, ship_new_files};
use support::{pglcr, run_ok, testdata, unpack_wal};

fn case() -> std::path::PathBuf {
    testdata().join("pg15-logical-big")
}

fn status(args: &[&str]) -> (Option<i32>, String) {
    let out = pglcr().arg("status").args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn header(path: &Path) -> pglcr::lcr::format::Header {
    LcrFile::open(path).unwrap().header
}

#[test]
fn positions_lags_and_holders_in_text_json_and_prometheus() {
    let wal = unpack_wal(&case());
    let spool = tempfile::tempdir().unwrap();
    let sp = spool.path();
    let start = std::fs::read_to_string(case().join("start-lsn")).unwrap();
    let decode = || {
        run_ok(
            support::decode_spool(sp, wal.path(), &case().join("catalog.json")).args([
                "--start",
                start.trim(),
                "--max-lcr-size",
                "64kB",
            ]),
        );
    };
    // The archive holds the first two segments when dr2 ships, all of them when dr1 does.
    let held_back = tempfile::tempdir().unwrap();
    let mut segments = file_names(wal.path());
    for name in segments.split_off(2) {
        std::fs::rename(wal.path().join(&name), held_back.path().join(&name)).unwrap();
    }
    decode();
    let (dr1, dr2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    assert!(ship_new_files(sp, "dr2", dr2.path()));
    let dr2_files = lcr::list_dir(sp).unwrap().len();
    for name in file_names(held_back.path()) {
        std::fs::rename(held_back.path().join(&name), wal.path().join(&name)).unwrap();
    }
    decode();
    let files = lcr::list_dir(sp).unwrap();
    assert!(files.len() > 10 && dr2_files < files.len());
    assert!(ship_new_files(sp, "dr1", dr1.path()));
    // The consumer applied the first file's commit, not the big transaction after it.
    let applied = header(&files[0].1).last_lsn;
    let ack = sp.join("ack.json");
    std::fs::write(
        &ack,
        format!(
            r#"{{"format":"pglcr-apply-ack","format_version":1,"applied_lsn":"{}"}}"#,
            pglcr::wal::lsn::Lsn(applied.0 + 1)
        ),
    )
    .unwrap();
    let spool_arg = sp.to_str().unwrap();
    run_ok(pglcr().args([
        "retain",
        "--spool",
        spool_arg,
        "--register",
        &format!("remote=file:{}", ack.display()),
    ]));

    let wal_arg = wal.path().to_str().unwrap();
    let (code, json) = status(&[
        "--archive",
        wal_arg,
        "--spool",
        spool_arg,
        "--format",
        "json",
    ]);
    assert_eq!(code, Some(0), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let newest = header(&files.last().unwrap().1);
    let s = &v["spools"][0];
    let d = &s["decode"];
    assert_eq!(d["lcr_files"].as_u64(), Some(files.len() as u64));
    assert_eq!(d["newest_commit_lsn"], newest.last_lsn.to_string());
    let state = pglcr::spool::State::load(sp).unwrap().unwrap();
    assert_eq!(d["resume_lsn"], state.resume_lsn);
    assert_eq!(d["last_file"], state.last_file.unwrap());
    let segs = std::fs::read_dir(wal.path()).unwrap().count() as u64;
    assert_eq!(v["archive"]["segments"].as_u64(), Some(segs));
    // The archive ends where the newest segment ends; decode is behind by what follows resume.
    let end: pglcr::wal::lsn::Lsn = v["archive"]["newest_end_lsn"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let resume: pglcr::wal::lsn::Lsn = state.resume_lsn.parse().unwrap();
    assert_eq!(d["lag_bytes"].as_u64(), Some(end.0 - resume.0));

    let dest = |i: usize| &s["destinations"][i];
    assert_eq!(dest(0)["name"], "dr1");
    assert_eq!(
        (
            dest(0)["files_held"].as_u64(),
            dest(0)["lag_bytes"].as_u64()
        ),
        (Some(0), Some(0))
    );
    assert_eq!(dest(1)["name"], "dr2");
    assert_eq!(
        dest(1)["files_held"].as_u64(),
        Some((files.len() - dr2_files) as u64)
    );
    let (dr2_last, dr2_last_path) = &files[dr2_files - 1];
    let h = header(dr2_last_path);
    assert_eq!(dest(1)["position_file"], dr2_last.to_string());
    assert_eq!(
        dest(1)["lag_bytes"].as_u64(),
        Some(newest.last_lsn.0 - h.last_lsn.0)
    );
    assert_eq!(
        dest(1)["lag_seconds"].as_f64(),
        Some((newest.last_time - h.last_time) as f64 / 1e6)
    );
    let c = &s["consumers"][0];
    assert_eq!(c["name"], "remote");
    let unapplied = files
        .iter()
        .filter(|(_, p)| header(p).last_lsn.0 > applied.0)
        .count() as u64;
    assert_eq!(unapplied, files.len() as u64 - 1);
    assert_eq!(c["files_held"].as_u64(), Some(unapplied));
    assert_eq!(
        c["lag_bytes"].as_u64(),
        Some(newest.last_lsn.0 - applied.0 - 1)
    );
    let holders: Vec<&str> = s["retention_held_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["holder"].as_str().unwrap())
        .collect();
    assert!(
        holders.contains(&"destination \"dr2\"") && holders.contains(&"consumer \"remote\""),
        "{holders:?}"
    );

    // Text names the same things; Prometheus is well formed and has the same figures.
    let (_, text) = status(&["--archive", wal_arg, "--spool", spool_arg]);
    assert!(text.contains("ship dr2 ("), "{text}");
    assert!(
        text.contains("retention held back by destination \"dr2\""),
        "{text}"
    );
    let prom_file = sp.join("pglcr.prom");
    let prometheus_to = |output: &std::ffi::OsStr| {
        run_ok(
            pglcr()
                .args(["status", "--archive", wal_arg, "--spool", spool_arg])
                .args(["--format", "prometheus", "-o"])
                .arg(output),
        )
    };
    prometheus_to(prom_file.as_os_str());
    let prom = std::fs::read_to_string(&prom_file).unwrap();
    // "-" is standard output, as for other pg tools.
    let to_stdout = prometheus_to("-".as_ref());
    assert_eq!(String::from_utf8_lossy(&to_stdout.stdout), prom);
    assert!(!std::path::Path::new("-").exists());
    let mut seen_types = Vec::new();
    for line in prom.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let name = rest.split(' ').next().unwrap();
            assert!(!seen_types.contains(&name), "{name} declared twice");
            seen_types.push(name);
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (metric, value) = line.rsplit_once(' ').unwrap();
        assert!(
            metric.starts_with("pglcr_") && metric.ends_with('}'),
            "{line}"
        );
        value.parse::<f64>().unwrap_or_else(|_| panic!("{line}"));
    }
    assert!(
        prom.contains(&format!(
            "pglcr_ship_files_held{{spool=\"{spool_arg}\",destination=\"dr2\"}} {}",
            files.len() - dr2_files
        )),
        "{prom}"
    );
    assert!(
        prom.contains(&format!(
            "pglcr_apply_lag_bytes{{spool=\"{spool_arg}\",consumer=\"remote\"}} {}",
            newest.last_lsn.0 - applied.0 - 1
        )),
        "{prom}"
    );

    // A broken destination, an unreadable acknowledgement and a damaged state are reported,
    // with exit status 1, and the rest is still shown.
    let mut st = pglcr::ship::state::DestinationState::load(sp, "dr2")
        .unwrap()
        .unwrap();
    st.broken = Some("LCR file X has already been removed".into());
    st.save(sp).unwrap();
    std::fs::write(&ack, "{").unwrap();
    let (code, text) = status(&["--spool", spool_arg]);
    assert_eq!(code, Some(1));
    assert!(
        text.contains("BROKEN: LCR file X has already been removed"),
        "{text}"
    );
    assert!(text.contains("invalid acknowledgement file"), "{text}");
    std::fs::write(sp.join("state.json"), "{}").unwrap();
    let (code, json) = status(&["--spool", spool_arg, "--format", "json"]);
    assert_eq!(code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let errors = v["spools"][0]["errors"].to_string();
    assert!(
        errors.contains("spool state") && errors.contains("is invalid"),
        "{errors}"
    );
}
