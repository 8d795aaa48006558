//! `--stats` and `--stats=record` (pg_waldump's `XLogRecStoreStats` / `XLogDumpDisplayStats`).

use std::fmt::Write;

use crate::rmgr;
use crate::wal::lsn::Lsn;
use crate::wal::record::Record;
use crate::wal::version::PgVersion;

const RM_XACT_ID: u8 = 1;

#[derive(Clone, Copy, Debug, Default)]
struct Counter {
    count: u64,
    rec_len: u64,
    fpi_len: u64,
}

impl Counter {
    fn add(&mut self, other: &Counter) {
        self.count += other.count;
        self.rec_len += other.rec_len;
        self.fpi_len += other.fpi_len;
    }
}

/// Per resource manager and per record type counts; mergeable so parts of the WAL can be
/// counted in parallel.
#[derive(Clone, Debug)]
pub struct Stats {
    pub start: Option<Lsn>,
    pub end: Option<Lsn>,
    count: u64,
    rmgr: Vec<Counter>,
    record: Vec<[Counter; 16]>,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            start: None,
            end: None,
            count: 0,
            rmgr: vec![Counter::default(); 256],
            record: vec![[Counter::default(); 16]; 256],
        }
    }
}

impl Stats {
    pub fn add(&mut self, rec: &Record<'_>) {
        let rec_len = u64::from(rec.rec_len());
        let fpi_len = u64::from(rec.fpi_len());
        let rmid = usize::from(rec.rmid());
        let mut recid = usize::from(rec.info() >> 4);
        // Transaction records use the top bit of the four for XLOG_XACT_HAS_INFO.
        if rec.rmid() == RM_XACT_ID {
            recid &= 0x07;
        }
        let c = Counter {
            count: 1,
            rec_len,
            fpi_len,
        };
        self.count += 1;
        self.rmgr[rmid].add(&c);
        self.record[rmid][recid].add(&c);
    }

    pub fn merge(&mut self, other: &Stats) {
        self.count += other.count;
        for (a, b) in self.rmgr.iter_mut().zip(&other.rmgr) {
            a.add(b);
        }
        for (a, b) in self.record.iter_mut().zip(&other.record) {
            for (x, y) in a.iter_mut().zip(b) {
                x.add(y);
            }
        }
        self.start = match (self.start, other.start) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.end = self.end.max(other.end);
    }

    /// The table pg_waldump prints; nothing when no record was counted.
    pub fn write(&self, out: &mut String, version: PgVersion, per_record: bool) {
        let (Some(start), Some(end)) = (self.start, self.end) else {
            return;
        };
        let valid = |ri: usize| rmgr::rmid_is_valid(ri as u8, version);
        let mut totals = Counter::default();
        for (ri, c) in self.rmgr.iter().enumerate() {
            if valid(ri) {
                totals.add(c);
            }
        }
        let total_len = totals.rec_len + totals.fpi_len;
        let _ = writeln!(out, "WAL statistics between {start} and {end}:");
        let _ = writeln!(
            out,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "Type", "N", "(%)", "Record size", "(%)", "FPI size", "(%)", "Combined size", "(%)"
        );
        let _ = writeln!(
            out,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8}",
            "----", "-", "---", "-----------", "---", "--------", "---", "-------------", "---"
        );
        for ri in 0..256usize {
            if !valid(ri) {
                continue;
            }
            let name = rmgr::name(ri as u8);
            let custom = ri > usize::from(rmgr::RM_MAX_BUILTIN_ID);
            if !per_record {
                let c = &self.rmgr[ri];
                if custom && c.count == 0 {
                    continue;
                }
                write_row(out, &name, c, &totals, total_len);
            } else {
                for (rj, c) in self.record[ri].iter().enumerate() {
                    if c.count == 0 {
                        continue;
                    }
                    let info = (rj as u8) << 4;
                    let id = rmgr::builtin(ri as u8)
                        .and_then(|r| (r.identify)(info, version))
                        .map(str::to_string)
                        .unwrap_or_else(|| format!("UNKNOWN ({info:x})"));
                    write_row(out, &format!("{name}/{id}"), c, &totals, total_len);
                }
            }
        }
        let _ = writeln!(
            out,
            "{:<27} {:>20} {:>8} {:>20} {:>8} {:>20} {:>8} {:>20}",
            "", "--------", "", "--------", "", "--------", "", "--------"
        );
        let pct = |part: u64| {
            if total_len == 0 {
                0.0
            } else {
                100.0 * part as f64 / total_len as f64
            }
        };
        let _ = writeln!(
            out,
            "{:<27} {:>20} {:<9}{:>20} {:<9}{:>20} {:<9}{:>20} {:<6}",
            "Total",
            self.count,
            "",
            totals.rec_len,
            format!("[{:.2}%]", pct(totals.rec_len)),
            totals.fpi_len,
            format!("[{:.2}%]", pct(totals.fpi_len)),
            total_len,
            "[100%]"
        );
    }
}

fn write_row(out: &mut String, name: &str, c: &Counter, totals: &Counter, total_len: u64) {
    let pct = |part: u64, whole: u64| {
        if whole == 0 {
            0.0
        } else {
            100.0 * part as f64 / whole as f64
        }
    };
    let tot = c.rec_len + c.fpi_len;
    let _ = writeln!(
        out,
        "{:<27} {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2}) {:>20} ({:>6.2})",
        name,
        c.count,
        pct(c.count, totals.count),
        c.rec_len,
        pct(c.rec_len, totals.rec_len),
        c.fpi_len,
        pct(c.fpi_len, totals.fpi_len),
        tot,
        pct(tot, total_len)
    );
}
