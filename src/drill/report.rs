//! The drill's report as text for people, JSON for scripts, and one self-contained HTML page
//! (no external files or scripts: it is mailed around and archived with the drill's records).

use std::fmt::Write;

use super::{Report, Verdict};
use crate::compare::{DiffKind, Status};

/// Microseconds between the Unix epoch and PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;

/// A PostgreSQL timestamp (µs since 2000-01-01 UTC) as RFC 3339 text in UTC.
pub fn pg_time_text(us: i64) -> String {
    unix_time_text(us + PG_EPOCH_UNIX_US)
}

fn unix_time_text(us: i64) -> String {
    jiff::Timestamp::from_microsecond(us)
        .map(|t| t.to_string())
        .unwrap_or_else(|_| format!("{us} µs"))
}

fn verdict_text(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
    }
}

fn status_text(s: Status) -> &'static str {
    match s {
        Status::Equal => "equal",
        Status::Different => "DIFFERENT",
        Status::MissingInA => "MISSING ON SOURCE",
        Status::MissingInB => "MISSING ON TARGET",
        Status::ColumnsDiffer => "COLUMNS DIFFER",
    }
}

/// Side A of the comparison is the source, side B the target.
fn diff_text(k: DiffKind) -> &'static str {
    match k {
        DiffKind::OnlyInA => "only on the source",
        DiffKind::OnlyInB => "only on the target",
        DiffKind::Changed => "changed",
    }
}

fn opt_time(t: Option<i64>) -> String {
    t.map(pg_time_text).unwrap_or_else(|| "-".into())
}

fn opt_count(n: Option<i64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_else(|| "-".into())
}

pub fn text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "pglcr drill: {}", verdict_text(r.verdict));
    let _ = writeln!(
        o,
        "started {}, {:.1} s in all{}",
        unix_time_text(r.started_at),
        r.seconds,
        r.until
            .as_ref()
            .map(|u| format!(", applied up to {u}"))
            .unwrap_or_default()
    );
    let _ = writeln!(
        o,
        "\n{:<8} {:>8} {:>8}  result",
        "stage", "start_s", "seconds"
    );
    for s in &r.stages {
        let _ = writeln!(
            o,
            "{:<8} {:>8.2} {:>8.2}  {}: {}",
            s.name,
            s.started,
            s.seconds,
            if s.ok { "ok" } else { "FAILED" },
            s.detail
        );
    }
    let _ = writeln!(
        o,
        "\nrecovery point: newest archived commit {}, newest applied {}, RPO {}",
        opt_time(r.newest_archived_commit),
        opt_time(r.newest_applied_commit),
        r.rpo_seconds
            .map(|s| format!("{s:.3} s"))
            .unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(o, "conflicts: {}", r.conflicts);
    if let Some(cmp) = &r.comparison {
        let _ = writeln!(
            o,
            "\ncompared with {} (source) and the target:",
            r.compared_with
        );
        let _ = writeln!(
            o,
            "{:<40} {:>12} {:>12}  status",
            "table", "rows_source", "rows_target"
        );
        for t in &cmp.tables {
            let _ = writeln!(
                o,
                "{:<40} {:>12} {:>12}  {}",
                t.table,
                opt_count(t.rows_a),
                opt_count(t.rows_b),
                status_text(t.status)
            );
            for k in &t.sample {
                let _ = writeln!(o, "    key ({}): {}", k.key.join(", "), diff_text(k.kind));
            }
        }
    }
    if let Some(m) = &r.missing_wal {
        let _ = writeln!(
            o,
            "\nmissing WAL: segment {} (WAL from {} on){}; transactions committed after {} are \
             not on the target",
            m.segment,
            m.from_lsn,
            m.resumes_at
                .as_ref()
                .map(|l| format!(", the archive resumes at {l}"))
                .unwrap_or_default(),
            opt_time(m.lost_after)
        );
    }
    if !r.failures.is_empty() {
        let _ = writeln!(o, "\nfailures:");
        for f in &r.failures {
            let _ = writeln!(o, "  - {f}");
        }
    }
    o
}

pub fn json(r: &Report) -> String {
    let mut s = serde_json::to_string_pretty(r).expect("report serializes");
    s.push('\n');
    s
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            _ => o.push(c),
        }
    }
    o
}

/// The timeline: one bar per stage, placed at its start and as long as it took.
fn timeline_svg(r: &Report) -> String {
    let total = r
        .stages
        .iter()
        .map(|s| s.started + s.seconds)
        .fold(0.0, f64::max)
        .max(1e-3);
    let (width, row) = (720.0, 28.0);
    let label = 80.0;
    let height = row * r.stages.len() as f64 + 30.0;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{height}\" \
         role=\"img\" aria-label=\"stage timeline\">",
        w = width + label + 20.0
    );
    for (i, s) in r.stages.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let x = label + s.started / total * width;
        let w = (s.seconds / total * width).max(1.0);
        let color = if s.ok { "#3a7d44" } else { "#b3261e" };
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{name}</text>\
             <rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h}\" fill=\"{color}\">\
             <title>{name}: {secs:.2} s</title></rect>\
             <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"12\">{secs:.2} s</text>",
            ty = y + 15.0,
            h = row - 8.0,
            name = s.name,
            secs = s.seconds,
            tx = x + w + 4.0,
        );
    }
    let _ = write!(
        o,
        "<text x=\"{label}\" y=\"{y}\" font-size=\"12\">0 s</text>\
         <text x=\"{end}\" y=\"{y}\" font-size=\"12\" text-anchor=\"end\">{total:.2} s</text></svg>",
        y = height - 6.0,
        end = label + width,
    );
    o
}

/// The lag chart: how far behind the newest archived commit each stage's newest transaction
/// is, in seconds.
fn lag_svg(r: &Report) -> String {
    let Some(archived) = r.newest_archived_commit else {
        return "<p>No commit reached the spool: no lag to show.</p>".into();
    };
    let lags: Vec<(&str, Option<f64>)> = r
        .stages
        .iter()
        .filter(|s| s.name != "compare")
        .map(|s| {
            (
                s.name,
                s.newest_commit.map(|t| (archived - t).max(0) as f64 / 1e6),
            )
        })
        .collect();
    let max = lags
        .iter()
        .filter_map(|(_, l)| *l)
        .fold(0.0, f64::max)
        .max(1e-3);
    let (width, row, label) = (600.0, 28.0, 80.0);
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" role=\"img\" \
         aria-label=\"lag per stage\">",
        width + label + 140.0,
        row * lags.len() as f64 + 8.0
    );
    for (i, (name, lag)) in lags.iter().enumerate() {
        let y = i as f64 * row + 4.0;
        let (w, text) = match lag {
            Some(l) => (l / max * width, format!("{l:.3} s behind")),
            None => (0.0, "nothing handled".to_string()),
        };
        let _ = write!(
            o,
            "<text x=\"0\" y=\"{ty}\" font-size=\"13\">{name}</text>\
             <rect x=\"{label}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{h}\" fill=\"#c77c02\"/>\
             <text x=\"{tx:.1}\" y=\"{ty}\" font-size=\"12\">{text}</text>",
            ty = y + 15.0,
            h = row - 8.0,
            tx = label + w + 4.0,
        );
    }
    o.push_str("</svg>");
    o
}

pub fn html(r: &Report) -> String {
    let mut o = String::new();
    let verdict = verdict_text(r.verdict);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>pglcr drill: {verdict}</title><style>\
         body{{font-family:sans-serif;margin:2em;max-width:60em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.2em .6em;\
         text-align:left}}.PASS{{color:#3a7d44}}.FAIL{{color:#b3261e}}</style></head><body>\
         <h1>pglcr drill: <span class=\"{verdict}\">{verdict}</span></h1>\
         <p>Started {}, {:.1} s in all{}.</p>",
        unix_time_text(r.started_at),
        r.seconds,
        r.until
            .as_ref()
            .map(|u| format!(", applied up to {}", esc(u)))
            .unwrap_or_default()
    );
    o.push_str("<h2>Stages</h2>");
    o.push_str(&timeline_svg(r));
    o.push_str("<table><tr><th>stage</th><th>start (s)</th><th>seconds</th><th>result</th></tr>");
    for s in &r.stages {
        let _ = write!(
            o,
            "<tr><td>{}</td><td>{:.2}</td><td>{:.2}</td><td class=\"{}\">{}</td></tr>",
            s.name,
            s.started,
            s.seconds,
            if s.ok { "PASS" } else { "FAIL" },
            esc(&s.detail)
        );
    }
    o.push_str("</table><h2>Recovery point</h2>");
    let _ = write!(
        o,
        "<p>Newest archived commit {}, newest applied {}; RPO {}. Conflicts: {}.</p>",
        opt_time(r.newest_archived_commit),
        opt_time(r.newest_applied_commit),
        r.rpo_seconds
            .map(|s| format!("{s:.3} s"))
            .unwrap_or_else(|| "unknown".into()),
        r.conflicts
    );
    o.push_str(&lag_svg(r));
    if let Some(m) = &r.missing_wal {
        let _ = write!(
            o,
            "<h2 class=\"FAIL\">Missing WAL</h2><p>Segment {} (WAL from {} on) is missing from \
             the archive{}; transactions committed after {} are not on the target.</p>",
            esc(&m.segment),
            esc(&m.from_lsn),
            m.resumes_at
                .as_ref()
                .map(|l| format!("; the archive resumes at {}", esc(l)))
                .unwrap_or_default(),
            opt_time(m.lost_after)
        );
    }
    if let Some(cmp) = &r.comparison {
        let _ = write!(
            o,
            "<h2>Comparison</h2><p>Source: {}</p><table><tr><th>table</th><th>rows (source)\
             </th><th>rows (target)</th><th>status</th><th>differing keys</th></tr>",
            esc(&r.compared_with)
        );
        for t in &cmp.tables {
            let keys: Vec<String> = t
                .sample
                .iter()
                .map(|k| format!("({}) {}", k.key.join(", "), diff_text(k.kind)))
                .collect();
            let _ = write!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td></tr>",
                esc(&t.table),
                opt_count(t.rows_a),
                opt_count(t.rows_b),
                if t.status == Status::Equal {
                    "PASS"
                } else {
                    "FAIL"
                },
                status_text(t.status),
                esc(&keys.join("; "))
            );
        }
        o.push_str("</table>");
    }
    if !r.failures.is_empty() {
        o.push_str("<h2 class=\"FAIL\">Failures</h2><ul>");
        for f in &r.failures {
            let _ = write!(o, "<li>{}</li>", esc(f));
        }
        o.push_str("</ul>");
    }
    o.push_str("</body></html>\n");
    o
}
