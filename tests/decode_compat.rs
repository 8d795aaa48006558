//! `pglcr decode` against what PostgreSQL's logical decoding printed for the same WAL: every
//! saved test_decoding and wal2json run of every logical case in testdata/ must be
//! byte-identical.

mod support;

use std::path::Path;

use pglcr::decode::{self, Format, Request};
use pglcr::output::UnknownRelations;
use support::{testdata, unpack_wal};

/// Two differing lines cut to the neighbourhood of their first difference (wal2json lines are
/// long).
fn around_difference<'a>(a: &'a str, b: &'a str) -> (&'a str, &'a str) {
    let first = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let cut = |s: &'a str| {
        let mut from = first.saturating_sub(200).min(s.len());
        while !s.is_char_boundary(from) {
            from -= 1;
        }
        let mut to = (first + 200).min(s.len());
        while !s.is_char_boundary(to) {
            to += 1;
        }
        &s[from..to]
    };
    (cut(a), cut(b))
}

/// The consistent point of a slot: its `confirmed_flush_lsn` in the case's `slots` file.
fn slot_start(case: &Path, slot: &str) -> Option<pglcr::wal::lsn::Lsn> {
    let text = std::fs::read_to_string(case.join("slots")).ok()?;
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(slot))?;
    line.split_whitespace()
        .find_map(|w| w.strip_prefix("confirmed_flush_lsn="))
        .map(|v| v.parse().unwrap())
}

fn run_case(case: &Path, plugin: &str, only: Option<&str>, failures: &mut Vec<String>) -> usize {
    let wal = unpack_wal(case);
    let (format, start) = match plugin {
        "test_decoding" => (
            Format::TestDecoding,
            std::fs::read_to_string(case.join("start-lsn"))
                .unwrap()
                .trim()
                .parse()
                .unwrap(),
        ),
        "wal2json" => match slot_start(case, "pglcr_w2j") {
            Some(lsn) => (Format::Wal2json, lsn),
            None => return 0,
        },
        _ => unreachable!(),
    };
    let end: pglcr::wal::lsn::Lsn = std::fs::read_to_string(case.join("end-lsn"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let mut runs: Vec<_> = std::fs::read_dir(case.join("decode"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "opts"))
        .collect();
    runs.sort();
    let mut count = 0;
    for opts_path in runs {
        let text = std::fs::read_to_string(&opts_path).unwrap();
        let mut lines = text.lines();
        if lines.next() != Some(plugin) {
            continue;
        }
        let stem = opts_path
            .file_stem()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if only.is_some_and(|o| !stem.contains(o)) {
            continue;
        }
        count += 1;
        let mut two_phase = false;
        let mut plugin_options = Vec::new();
        for l in lines {
            if l == "--two-phase" {
                two_phase = true;
            } else if let Some((k, v)) = l.split_once('=') {
                plugin_options.push((k.to_string(), Some(v.to_string())));
            } else if !l.is_empty() {
                plugin_options.push((l.to_string(), None));
            }
        }
        let req = Request {
            catalog: case.join("catalog.json"),
            start: Some(start),
            end: Some(end),
            path: Some(wal.path().to_path_buf()),
            segments: vec![],
            timeline: None,
            format,
            plugin_options,
            two_phase,
            unknown_relations: UnknownRelations::Error,
            timezone: None,
            // Small enough that most transactions are spilled to disk and read back.
            max_memory: 16 << 10,
            spill_dir: None,
        };
        let name = format!(
            "{}/{}",
            case.file_name().unwrap().to_string_lossy(),
            opts_path.file_stem().unwrap().to_string_lossy()
        );
        // With two threads each change is written as it comes; with more, batches of changes
        // are rendered in parallel: both ways must print what PostgreSQL printed.
        let decode_with = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            let mut out = Vec::new();
            pool.install(|| decode::run(&req, &mut out)).map(|_| out)
        };
        let out = match decode_with(2) {
            Ok(out) => out,
            Err(e) => {
                failures.push(format!("{name}: error: {e}"));
                continue;
            }
        };
        match decode_with(4) {
            Ok(batched) if batched == out => {}
            Ok(_) => failures.push(format!("{name}: the output with 4 threads differs")),
            Err(e) => failures.push(format!("{name}: error with 4 threads: {e}")),
        }
        // Large outputs are stored zstd-compressed.
        let plain = opts_path.with_extension("out");
        let expected = match std::fs::read(&plain) {
            Ok(bytes) => bytes,
            Err(_) => match std::fs::File::open(plain.with_extension("out.zst")) {
                Ok(f) => zstd::decode_all(f).unwrap(),
                Err(_) => {
                    failures.push(format!("{name}: no saved output"));
                    continue;
                }
            },
        };
        if out != expected {
            let ours = String::from_utf8_lossy(&out);
            let theirs = String::from_utf8_lossy(&expected);
            let diff = ours
                .lines()
                .zip(theirs.lines())
                .enumerate()
                .find(|(_, (a, b))| a != b)
                .map(|(i, (a, b))| {
                    let (a, b) = around_difference(a, b);
                    format!("line {}:\n  pglcr:      {a}\n  PostgreSQL: {b}", i + 1)
                })
                .unwrap_or_else(|| {
                    format!(
                        "pglcr {} lines, PostgreSQL {} lines",
                        ours.lines().count(),
                        theirs.lines().count()
                    )
                });
            failures.push(format!("{name}: output differs, {diff}"));
        }
    }
    count
}

fn check_plugin(plugin: &str) {
    let mut cases: Vec<_> = std::fs::read_dir(testdata())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("decode").is_dir() && p.join("wal").is_dir())
        .collect();
    cases.sort();
    assert!(!cases.is_empty(), "no logical decoding cases in testdata/");
    // PGLCR_DECODE_ONLY=name limits the runs to option sets whose name contains it.
    let only = std::env::var("PGLCR_DECODE_ONLY").ok();
    let mut failures = Vec::new();
    let mut total = 0;
    for case in &cases {
        total += run_case(case, plugin, only.as_deref(), &mut failures);
    }
    if only.is_none() {
        assert!(total > 0, "no {plugin} runs found");
    }
    assert!(
        failures.is_empty(),
        "{} of {total} runs differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn test_decoding_output_is_identical() {
    check_plugin("test_decoding");
}

#[test]
fn wal2json_output_is_identical() {
    check_plugin("wal2json");
}
