//! `pglcr dump --save-fullpage`: the saved page images against the SHA-256 of the files
//! pg_waldump 16+ saved for the same WAL (testdata/<case>/fullpages.sha256), and a structural
//! check of every restored page for the 15 cases, whose pg_waldump cannot save pages.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::{pglcr, testdata, unpack_wal};

const BLCKSZ: usize = 8192;

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<_> = std::fs::read_dir(testdata())
        .expect("testdata directory")
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("runs").is_dir())
        .collect();
    cases.sort();
    cases
}

fn case_name(case_dir: &Path) -> String {
    case_dir.file_name().unwrap().to_string_lossy().into_owned()
}

fn read_args(path: &Path, wal: &Path, out: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| {
            l.replace("@WAL@", &wal.to_string_lossy())
                .replace("@OUT@", &out.to_string_lossy())
        })
        .collect()
}

/// Runs `pglcr dump` with `args`, which must succeed.
fn dump(what: &str, args: &[String]) {
    let out = pglcr().arg("dump").args(args).output().expect("run pglcr");
    assert!(
        out.status.success(),
        "{what}: pglcr dump {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The saved files, sorted by name.
fn saved_files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// `sha256sum` lines (`<hash>  <name>`) of the files in `dir`, sorted by name.
fn sha256_list(dir: &Path) -> String {
    let names = saved_files(dir);
    let mut list = String::new();
    // in batches, to stay well below the argument length limit
    for chunk in names.chunks(500) {
        let out = Command::new("sha256sum")
            .current_dir(dir)
            .arg("--")
            .args(chunk)
            .output()
            .expect("run sha256sum (coreutils)");
        assert!(out.status.success(), "sha256sum failed");
        list.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    list
}

#[test]
fn saved_pages_are_identical_to_pg_waldump() {
    let mut checked = Vec::new();
    for case_dir in cases() {
        let expected_path = case_dir.join("fullpages.sha256");
        if !expected_path.is_file() {
            continue;
        }
        let case = case_name(&case_dir);
        let expected = std::fs::read_to_string(&expected_path).unwrap();
        let wal = unpack_wal(&case_dir);
        let out = tempfile::tempdir().expect("temp dir");
        // a directory that does not exist yet is created, as pg_waldump does
        let target = out.path().join("pages");
        let args = read_args(&case_dir.join("fullpages.args"), wal.path(), &target);
        dump(&case, &args);
        let ours = sha256_list(&target);
        if ours != expected {
            let a: Vec<&str> = ours.lines().collect();
            let b: Vec<&str> = expected.lines().collect();
            let first = a
                .iter()
                .zip(&b)
                .find(|(x, y)| x != y)
                .map(|(x, y)| format!("\n  pglcr:      {x}\n  pg_waldump: {y}"))
                .unwrap_or_default();
            panic!(
                "{case}: saved pages differ (pglcr {} files, pg_waldump {}){first}",
                a.len(),
                b.len()
            );
        }
        checked.push(format!("{case}: {} pages", expected.lines().count()));
    }
    assert!(
        checked.len() >= 2,
        "expected fullpages.sha256 for pg16-basic and pg18-basic, found {checked:?}"
    );
    eprintln!("{}", checked.join("\n"));
}

/// One image as `pg_waldump -b` describes it.
#[derive(Debug)]
struct ImageInfo {
    hole_offset: usize,
    hole_length: usize,
    method: String,
}

fn field<'a>(s: &'a str, key: &str) -> Option<&'a str> {
    let rest = &s[s.find(key)? + key.len()..];
    Some(rest.split([',', ';', ' ']).next().unwrap_or(rest))
}

/// The images of a `-b` output, keyed by the name `--save-fullpage` gives the file
/// (timeline 1).
fn images_from_bkp_details(stdout: &str) -> HashMap<String, ImageInfo> {
    let mut images = HashMap::new();
    let mut lsn = None;
    for line in stdout.lines() {
        if let Some(l) = field(line, ", lsn: ") {
            let (hi, lo) = l.split_once('/').expect("lsn");
            lsn = Some((
                u32::from_str_radix(hi, 16).unwrap(),
                u32::from_str_radix(lo, 16).unwrap(),
            ));
            continue;
        }
        let Some(blkref) = line.trim_start().strip_prefix("blkref #") else {
            continue;
        };
        if !blkref.contains("(FPW") {
            continue;
        }
        let (hi, lo) = lsn.expect("block reference before any record");
        let rel = field(blkref, " rel ").unwrap().replace('/', ".");
        let fork = field(blkref, " fork ").unwrap();
        let blk = field(blkref, " blk ").unwrap();
        let name = format!("00000001-{hi:08X}-{lo:08X}.{rel}.{blk}_{fork}");
        let info = ImageInfo {
            hole_offset: field(blkref, "hole: offset: ").unwrap().parse().unwrap(),
            hole_length: field(blkref, ", length: ").unwrap().parse().unwrap(),
            method: field(blkref, "method: ").unwrap_or("none").to_string(),
        };
        assert!(
            images.insert(name.clone(), info).is_none(),
            "two images named {name}"
        );
    }
    images
}

fn u16_at(page: &[u8], off: usize) -> usize {
    usize::from(u16::from_le_bytes([page[off], page[off + 1]]))
}

/// Problems with one restored page, given what `-b` said about its image.
fn check_page(page: &[u8], info: &ImageInfo) -> Option<String> {
    if page.len() != BLCKSZ {
        return Some(format!("{} bytes", page.len()));
    }
    let hole = info.hole_offset..info.hole_offset + info.hole_length;
    if hole.end > BLCKSZ || page[hole.clone()].iter().any(|&b| b != 0) {
        return Some(format!("hole {hole:?} is not zero"));
    }
    if page.iter().all(|&b| b == 0) {
        return None; // a new, all-zero page
    }
    let (lower, upper, special, size_version) = (
        u16_at(page, 12),
        u16_at(page, 14),
        u16_at(page, 16),
        u16_at(page, 18),
    );
    if !(lower >= 24 && lower <= upper && upper <= special && special <= BLCKSZ)
        || size_version != (BLCKSZ | 4)
    {
        return Some(format!(
            "bad page header: pd_lower {lower}, pd_upper {upper}, pd_special {special}, \
             pd_pagesize_version {size_version:#x}"
        ));
    }
    // a hole is what lies between pd_lower and pd_upper of a standard page
    if info.hole_length > 0 && (lower != hole.start || upper != hole.end) {
        return Some(format!(
            "hole {hole:?} is not pd_lower..pd_upper ({lower}..{upper})"
        ));
    }
    None
}

/// Every image of the case's `full` range, restored by pglcr: the same number as the block
/// references the full run marks FPW, each 8 kB with a sane page header and a zero hole.
/// Returns the number of pages per compression method.
fn check_case_structure(case_dir: &Path) -> Option<HashMap<String, usize>> {
    let runs = case_dir.join("runs");
    let full: Vec<String> = std::fs::read_to_string(runs.join("full.args"))
        .ok()?
        .lines()
        .map(str::to_string)
        .collect();
    let bkp: Vec<String> = std::fs::read_to_string(runs.join("bkp-details.args"))
        .ok()?
        .lines()
        .filter(|l| *l != "-b")
        .map(str::to_string)
        .collect();
    if full != bkp || full.iter().any(|a| a.starts_with("-s")) {
        return None; // -b covers another range
    }
    let case = case_name(case_dir);
    let images =
        images_from_bkp_details(&std::fs::read_to_string(runs.join("bkp-details.stdout")).unwrap());
    // " FPW" also ends " FPW for WAL verification": every image is counted once
    let fpw_refs = std::fs::read_to_string(runs.join("full.stdout"))
        .unwrap()
        .matches(" FPW")
        .count();
    assert_eq!(images.len(), fpw_refs, "{case}: -b images vs. FPW in full");

    let wal = unpack_wal(case_dir);
    let out = tempfile::tempdir().expect("temp dir");
    let mut args = vec![
        format!("--save-fullpage={}", out.path().display()),
        "-q".into(),
    ];
    args.extend(
        full.iter()
            .map(|a| a.replace("@WAL@", &wal.path().to_string_lossy())),
    );
    dump(&case, &args);

    let names = saved_files(out.path());
    assert_eq!(names.len(), fpw_refs, "{case}: saved files vs. FPW in full");
    let mut per_method: HashMap<String, usize> = HashMap::new();
    let mut problems = Vec::new();
    for name in &names {
        let Some(info) = images.get(name) else {
            problems.push(format!("{name}: no such image in bkp-details"));
            continue;
        };
        let page = std::fs::read(out.path().join(name)).unwrap();
        if let Some(p) = check_page(&page, info) {
            problems.push(format!("{name} ({}): {p}", info.method));
        }
        *per_method.entry(info.method.clone()).or_default() += 1;
    }
    assert!(
        problems.is_empty(),
        "{case}: {} bad pages:\n{}",
        problems.len(),
        problems.join("\n")
    );
    Some(per_method)
}

#[test]
fn restored_pages_are_sane() {
    let mut seen = Vec::new();
    for case_dir in cases() {
        let case = case_name(&case_dir);
        let Some(per_method) = check_case_structure(&case_dir) else {
            continue;
        };
        if case == "pg15-fpi-compression" {
            for m in ["none", "pglz", "lz4", "zstd"] {
                assert!(
                    per_method.get(m).copied().unwrap_or(0) > 0,
                    "{case}: no {m} image ({per_method:?})"
                );
            }
        }
        let mut counts: Vec<_> = per_method.into_iter().collect();
        counts.sort();
        seen.push(format!("{case}: {counts:?}"));
    }
    assert!(
        seen.iter().any(|s| s.starts_with("pg15-fpi-compression:")),
        "pg15-fpi-compression was not checked ({seen:?})"
    );
    eprintln!("{}", seen.join("\n"));
}

#[test]
fn non_empty_target_directory_is_refused() {
    let case_dir = testdata().join("pg15-fpi-compression");
    let wal = unpack_wal(&case_dir);
    let target = tempfile::tempdir().expect("temp dir");
    std::fs::write(target.path().join("keep"), b"x").unwrap();
    let args = read_args(&case_dir.join("runs/full.args"), wal.path(), target.path());
    let out = pglcr()
        .arg("dump")
        .arg(format!("--save-fullpage={}", target.path().display()))
        .args(&args)
        .output()
        .expect("run pglcr");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    let want = format!(
        "directory \"{}\" exists but is not empty",
        target.path().display()
    );
    assert!(stderr.contains(&want), "stderr: {stderr}");
    assert!(out.stdout.is_empty(), "records were printed");
    assert_eq!(
        saved_files(target.path()),
        ["keep"],
        "the directory changed"
    );
}
