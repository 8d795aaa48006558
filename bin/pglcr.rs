//! The `pglcr` command: argument parsing and output; the work is done by the library.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command, DumpArgs, FormatArg, StatsArg};
use pglcr::dump::{self, DumpError, Filter, Format, Options, RangeRequest, StatsMode};
use pglcr::rmgr;
use pglcr::wal::lsn::Lsn;
use pglcr::wal::reader::EndOfWal;
use pglcr::wal::record::{Fork, RelFileLocator};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Dump(args) => run_dump(args),
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pglcr: error: {msg}");
    ExitCode::FAILURE
}

fn usage_error(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pglcr: error: {msg}");
    eprintln!("pglcr: hint: Try \"pglcr dump --help\" for more information.");
    ExitCode::FAILURE
}

fn parse_lsn(s: &str) -> Result<Lsn, String> {
    s.parse::<Lsn>().map_err(|e| e.to_string())
}

/// `-t` accepts decimal or 0x-prefixed hexadecimal, as pg_waldump's strtoul(…, 0) does.
fn parse_timeline(s: &str) -> Result<u32, String> {
    let t = s.trim_end();
    let value = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if t.len() > 1 && t.starts_with('0') {
        u64::from_str_radix(&t[1..], 8).ok()
    } else {
        t.parse::<u64>().ok()
    };
    match value {
        None => Err(format!("invalid value \"{s}\" for option -t/--timeline")),
        Some(v) if v < 1 || v > u64::from(u32::MAX) => {
            Err(format!("-t/--timeline must be in range 1..{}", u32::MAX))
        }
        Some(v) => Ok(v as u32),
    }
}

fn parse_relation(s: &str) -> Result<RelFileLocator, String> {
    let parts: Vec<&str> = s.split('/').collect();
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse::<u32>().ok()).collect();
    match nums.as_deref() {
        Some(&[spc, db, rel]) if spc != 0 && rel != 0 => Ok(RelFileLocator { spc, db, rel }),
        _ => Err(format!(
            "invalid relation specification: \"{s}\"; expecting \"tablespace OID/database OID/relation filenode\""
        )),
    }
}

fn parse_rmgrs(names: &[String]) -> Result<Vec<u8>, String> {
    let mut ids = Vec::new();
    for name in names {
        if let Some(num) = name.strip_prefix("custom") {
            match num.parse::<u8>() {
                Ok(id) if id >= rmgr::RM_MIN_CUSTOM_ID => ids.push(id),
                _ => return Err(format!("custom resource manager \"{name}\" does not exist")),
            }
            continue;
        }
        match rmgr::BUILTIN
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
        {
            Some(r) => ids.push(r.id),
            None => return Err(format!("resource manager \"{name}\" does not exist")),
        }
    }
    Ok(ids)
}

fn run_dump(args: DumpArgs) -> ExitCode {
    if args.rmgr.iter().any(|r| r.eq_ignore_ascii_case("list")) {
        for r in &rmgr::BUILTIN {
            println!("{}", r.name);
        }
        return ExitCode::SUCCESS;
    }
    let parsed = (|| -> Result<(RangeRequest, Options), String> {
        let filter = Filter {
            rmgrs: parse_rmgrs(&args.rmgr)?,
            xid: args.xid,
            relation: args.relation.as_deref().map(parse_relation).transpose()?,
            block: args.block,
            fork: args
                .fork
                .as_deref()
                .map(|f| Fork::from_name(f).ok_or(format!("invalid fork name: \"{f}\"")))
                .transpose()?,
            fullpage_only: args.fullpage,
        };
        let request = RangeRequest {
            path: args.path.clone(),
            start_seg: args.start_seg.clone(),
            end_seg: args.end_seg.clone(),
            start: args.start.as_deref().map(parse_lsn).transpose()?,
            end: args.end.as_deref().map(parse_lsn).transpose()?,
            timeline: args.timeline.as_deref().map(parse_timeline).transpose()?,
        };
        let options = Options {
            filter,
            limit: args.limit.map(|n| n.max(0) as u64),
            bkp_details: args.bkp_details,
            stats: args.stats.map(|s| match s {
                StatsArg::Rmgr => StatsMode::Rmgr,
                StatsArg::Record => StatsMode::Record,
            }),
            quiet: args.quiet,
            follow: args.follow,
            save_fullpage: args.save_fullpage.clone(),
            format: match args.format {
                FormatArg::Text => Format::Text,
                FormatArg::Json => Format::Json,
            },
        };
        Ok((request, options))
    })();
    let (request, options) = match parsed {
        Ok(p) => p,
        Err(msg) => return usage_error(msg),
    };
    let range = match dump::locate::resolve(&request) {
        Ok(r) => r,
        Err(DumpError::Usage(msg)) => return usage_error(msg),
        Err(e) => return fail(e),
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
    let result = dump::run(&range, &options, &mut out);
    let flushed = out.flush();
    match result {
        Ok(summary) => {
            if summary.note_skipped_bytes {
                eprintln!(
                    "pglcr: first record is after {}, at {}, skipping over {} bytes",
                    range.start,
                    summary.first_record,
                    summary.first_record.0 - range.start.0
                );
            }
            if let Err(e) = flushed {
                return fail(format!("could not write output: {e}"));
            }
            // Old WAL where new WAL was expected ends the dump like a zeroed tail does, but it
            // can also be a misnamed file; a cut-off record may be a crash or a file not yet
            // archived. Both are always reported.
            if let Some(end @ (EndOfWal::Recycled { .. } | EndOfWal::IncompleteRecord { .. })) =
                &summary.end
            {
                eprintln!("pglcr: warning: {end}");
            } else if args.verbose {
                match &summary.end {
                    Some(EndOfWal::EndReached) | None => {
                        eprintln!("pglcr: {} records read", summary.records_shown)
                    }
                    Some(end) => eprintln!("pglcr: {end}"),
                }
            }
            ExitCode::SUCCESS
        }
        Err(DumpError::Usage(msg)) => usage_error(msg),
        Err(e) => fail(e),
    }
}
