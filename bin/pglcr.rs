//! The `pglcr` command: argument parsing and output; the work is done by the library.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use cli::{CatalogCommand, CatalogExportArgs, Cli, Command, DumpArgs, FormatArg, StatsArg};
use pglcr::catalog::export as catalog_export;
use pglcr::dump::{self, DumpError, Filter, Format, Options, RangeRequest, StatsMode};
use pglcr::pgconn::{ConnOptions, ConnParams};
use pglcr::rmgr;

// Decoding allocates and frees a few small buffers per row, across threads; mimalloc does that
// several times faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use pglcr::wal::lsn::Lsn;
use pglcr::wal::reader::EndOfWal;
use pglcr::wal::record::{Fork, RelFileLocator};

fn main() -> ExitCode {
    // Like PostgreSQL's tools, end quietly when the reader of our output goes away
    // (`pglcr dump … | head`): Rust ignores SIGPIPE by default and would report errors instead.
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Dump(args) => run_dump(args),
        Command::Catalog(c) => match c.command {
            CatalogCommand::Export(args) => run_catalog_export(args),
            CatalogCommand::Follow(args) => run_catalog_follow(args),
        },
        Command::Decode(args) => run_decode(args),
        Command::Lcr(l) => run_lcr(l.command),
        Command::Apply(args) => run_apply(args),
        Command::Archive(args) => run_archive(args),
        Command::Restore(args) => run_restore(args),
        Command::Retain(args) => run_retain(args),
        Command::Status(args) => run_status(args),
        Command::Ship(args) => run_ship(args),
        Command::Init(args) => run_init(args),
        Command::Compare(args) => run_compare(args),
        Command::Drill(args) => run_drill(args),
    }
}

fn unknown_relations(arg: cli::UnknownRelationsArg) -> pglcr::output::UnknownRelations {
    match arg {
        cli::UnknownRelationsArg::Error => pglcr::output::UnknownRelations::Error,
        cli::UnknownRelationsArg::Skip => pglcr::output::UnknownRelations::Skip,
    }
}

/// Exit status of `pglcr decode --spool` when another run holds the spool (EX_TEMPFAIL: try
/// again later).
const EXIT_LOCKED: u8 = 75;

/// Exit status of `pglcr restore` on errors other than a missing file: above 125, so that
/// PostgreSQL stops recovery rather than taking the file as absent and ending recovery short.
const EXIT_RESTORE_FAILED: u8 = 126;

fn run_spool(args: &cli::DecodeArgs, spool: &std::path::Path) -> ExitCode {
    use pglcr::spool::{self, Request, SpoolError};
    use std::io::IsTerminal;
    let parsed = (|| -> Result<Request, String> {
        let wal_dir = args
            .path
            .clone()
            .ok_or("--spool needs the WAL directory (-p DIR)")?;
        Ok(Request {
            spool: spool.to_path_buf(),
            wal_dir,
            catalog: args.catalog.clone(),
            start: args.start.as_deref().map(parse_lsn).transpose()?,
            end: args.end.as_deref().map(parse_lsn).transpose()?,
            max_lcr_size: args
                .max_lcr_size
                .as_deref()
                .map(pglcr::units::parse_size)
                .transpose()?,
            max_memory: pglcr::units::parse_size(&args.max_memory)? as usize,
            unknown_relations: unknown_relations(args.unknown_relations),
        })
    })();
    let request = match parsed {
        Ok(r) => r,
        Err(msg) => return usage_error("decode", msg),
    };
    let position = std::sync::atomic::AtomicU64::new(0);
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {elapsed} reading WAL at {msg}")
                .expect("valid template"),
        );
        bar
    });
    let done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        if let Some(bar) = &bar {
            let (position, done) = (&position, &done);
            scope.spawn(move || {
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let at = position.load(std::sync::atomic::Ordering::Relaxed);
                    bar.set_message(Lsn(at).to_string());
                    bar.tick();
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                bar.finish_and_clear();
            });
        }
        let result = spool::run(&request, Some(&position));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    });
    match result {
        Ok(s) => {
            let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
            let wal = s.read_to.0.saturating_sub(s.read_from.0);
            eprintln!(
                "pglcr: decoded {} segments ({:.1} MB of WAL, {} to {}): {} transactions, {} changes, {} LCR files ({:.1} MB) in {:.1} s",
                s.segments,
                mib(wal),
                s.read_from,
                s.read_to,
                s.transactions,
                s.changes,
                s.files.len(),
                mib(s.lcr_bytes),
                s.seconds
            );
            if args.verbose {
                if let Some(end) = &s.end {
                    eprintln!("pglcr: {end}");
                }
                if let Some(st) = &s.state {
                    eprintln!(
                        "pglcr: spool resumes at {} (restart at {})",
                        st.resume_lsn, st.restart_lsn
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(SpoolError::Usage(msg)) => usage_error("decode", msg),
        Err(e @ SpoolError::Locked { .. }) => {
            eprintln!("pglcr: error: {e}");
            ExitCode::from(EXIT_LOCKED)
        }
        Err(e) => fail(e),
    }
}

fn run_decode(args: cli::DecodeArgs) -> ExitCode {
    use pglcr::decode::{self, DecodeError, Format, Request};
    if let Some(spool) = &args.spool {
        return run_spool(&args, spool);
    }
    let parsed = (|| -> Result<Request, String> {
        Ok(Request {
            catalog: args
                .catalog
                .clone()
                .ok_or("--catalog is required (a dictionary from pglcr catalog export)")?,
            start: args.start.as_deref().map(parse_lsn).transpose()?,
            end: args.end.as_deref().map(parse_lsn).transpose()?,
            path: args.path.clone(),
            segments: args.segments.clone(),
            timeline: args.timeline,
            format: match args.format.unwrap_or(cli::DecodeFormatArg::TestDecoding) {
                cli::DecodeFormatArg::TestDecoding => Format::TestDecoding,
                cli::DecodeFormatArg::Wal2json => Format::Wal2json,
                cli::DecodeFormatArg::Json => Format::Json,
            },
            plugin_options: args
                .options
                .iter()
                .map(|o| match o.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (o.clone(), None),
                })
                .collect(),
            two_phase: args.two_phase,
            unknown_relations: unknown_relations(args.unknown_relations),
            timezone: args.timezone.clone(),
            max_memory: pglcr::units::parse_size(&args.max_memory)? as usize,
            spill_dir: args.spill_dir.clone(),
        })
    })();
    let request = match parsed {
        Ok(r) => r,
        Err(msg) => return usage_error("decode", msg),
    };
    let result = match args.file.as_deref() {
        Some(path) if path != std::path::Path::new("-") => {
            let file = match std::fs::File::create(path) {
                Ok(f) => f,
                Err(e) => return fail(format!("could not open \"{}\": {e}", path.display())),
            };
            let mut out = std::io::BufWriter::new(file);
            decode::run(&request, &mut out).and_then(|s| {
                out.flush().map_err(DecodeError::Write)?;
                Ok(s)
            })
        }
        _ => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            decode::run(&request, &mut out).and_then(|s| {
                out.flush().map_err(DecodeError::Write)?;
                Ok(s)
            })
        }
    };
    match result {
        Ok(summary) => {
            if args.verbose {
                if let Some(end) = &summary.end {
                    eprintln!("pglcr: {end}");
                }
                if summary.open_transactions > 0 {
                    eprintln!(
                        "pglcr: {} transactions still open at the end (not shown)",
                        summary.open_transactions
                    );
                }
            }
            ExitCode::SUCCESS
        }
        Err(DecodeError::Usage(msg)) => usage_error("decode", msg),
        Err(e) => fail(e),
    }
}

/// `--until`: an LSN, or a time PostgreSQL would read (`2026-11-22 04:00:00+00`, ISO 8601).
fn parse_until(s: &str) -> Result<pglcr::apply::Until, String> {
    use pglcr::apply::Until;
    if s.contains('/') {
        return parse_lsn(s).map(Until::Lsn);
    }
    let ts: jiff::Timestamp = s
        .parse()
        .or_else(|_| s.replace(' ', "T").parse())
        .map_err(|e| format!("invalid --until \"{s}\": not an LSN nor a time with a zone ({e})"))?;
    const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;
    Ok(Until::Time(ts.as_microsecond() - PG_EPOCH_UNIX_US))
}

/// A commit time (µs since 2000-01-01 UTC) as PostgreSQL prints a timestamptz in UTC.
fn pg_time_text(pg_us: i64) -> String {
    const PG_EPOCH_UNIX_US: i64 = 946_684_800_000_000;
    jiff::Timestamp::from_microsecond(pg_us + PG_EPOCH_UNIX_US)
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S%.f+00").to_string())
        .unwrap_or_else(|_| format!("{pg_us} µs after 2000-01-01"))
}

fn run_apply(args: cli::ApplyArgs) -> ExitCode {
    use pglcr::apply::{self, ConflictConfig, Policies, ProgressMode, Request, Stopped};
    let opts = ConnOptions {
        dbname: args.conn.dbname.clone(),
        host: args.conn.host.clone(),
        port: args.conn.port.clone(),
        user: args.conn.username.clone(),
    };
    let target = match ConnParams::resolve(&opts) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if args.stats {
        return match apply::stats(&target) {
            Ok(rows) => {
                for row in rows {
                    println!("origin {}", row.origin);
                    for (name, value) in row.fields {
                        println!("  {name:<24} {value}");
                    }
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        };
    }
    let parsed = (|| -> Result<Request, String> {
        let mut policies = Policies::default();
        for item in &args.on_conflict {
            policies
                .set(item)
                .map_err(|e| format!("--on-conflict: {e}"))?;
        }
        let duration = |option: &str, text: &str| {
            pglcr::units::parse_duration(text, std::time::Duration::from_millis(1))
                .map_err(|e| format!("{option}: {e}"))
        };
        Ok(Request {
            from: args.from.clone().ok_or("--from LCRDIR is required")?,
            target: target.clone(),
            origin: args.origin.clone(),
            progress: args.progress.map(|p| match p {
                cli::ProgressArg::Origin => ProgressMode::Origin,
                cli::ProgressArg::Table => ProgressMode::Table,
            }),
            policies,
            conflict_config: match &args.conflict_config {
                Some(path) => ConflictConfig::read(path)?,
                None => ConflictConfig::default(),
            },
            until: args.until.as_deref().map(parse_until).transpose()?,
            apply_delay: args
                .apply_delay
                .as_deref()
                .map(|d| duration("--apply-delay", d))
                .transpose()?,
            follow: args.follow,
            poll_interval: duration("--poll-interval", &args.poll_interval)?,
            group_commit: args.group_commit,
            dry_run: args.dry_run,
            tables: apply::TableFilter::new(&args.tables, &args.exclude_tables),
        })
    })();
    let request = match parsed {
        Ok(r) => r,
        Err(msg) => return usage_error("apply", msg),
    };
    if !request.dry_run {
        apply::stop_on_signals();
    }
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = apply::run(&request, &mut out);
    let _ = out.flush();
    match result {
        Ok(s) if s.origin.is_empty() => {
            eprintln!("pglcr: no LCR files in \"{}\"", request.from.display());
            ExitCode::SUCCESS
        }
        Ok(s) => {
            let c = &s.counters;
            let mode = match s.mode {
                Some(ProgressMode::Origin) => "replication origin",
                Some(ProgressMode::Table) => "progress table",
                None => "dry run",
            };
            eprintln!(
                "pglcr: applied {} transactions ({} inserts, {} updates, {} deletes, {} truncates; {} conflicts, {} retries) from {} to {}, {mode} {}{}",
                c.commits,
                c.inserts,
                c.updates,
                c.deletes,
                c.truncates,
                c.insert_conflicts + c.update_conflicts + c.delete_conflicts + c.unkeyed,
                c.retries,
                s.from,
                s.to,
                s.origin,
                match s.stopped {
                    Some(Stopped::Until) => "; stopped at --until".to_string(),
                    Some(Stopped::Delay(time)) => format!(
                        "; stopped at a transaction committed at {}, less than --apply-delay {} ago",
                        pg_time_text(time),
                        args.apply_delay.as_deref().unwrap_or_default()
                    ),
                    Some(Stopped::Signal) => "; stopped by a signal".to_string(),
                    None => String::new(),
                }
            );
            ExitCode::SUCCESS
        }
        Err(apply::ApplyError::Usage(msg)) => usage_error("apply", msg),
        Err(e) => fail(e),
    }
}

fn run_lcr(command: cli::LcrCommand) -> ExitCode {
    use pglcr::lcr::inspect::{self, DumpFormat};
    use pglcr::lcr::LcrFile;
    match command {
        cli::LcrCommand::Dump { format, files } => {
            let format = match format {
                cli::LcrFormatArg::Text => DumpFormat::Text,
                cli::LcrFormatArg::Json => DumpFormat::Json,
            };
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::with_capacity(1 << 20, stdout.lock());
            for path in &files {
                let result = LcrFile::open(path)
                    .map_err(inspect::InspectError::from)
                    .and_then(|f| inspect::dump(&f, format, &mut out));
                if let Err(e) = result {
                    let _ = out.flush();
                    return fail(e);
                }
            }
            match out.flush() {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("could not write output: {e}")),
            }
        }
        cli::LcrCommand::Ls { dir } => match inspect::ls(&dir) {
            Ok(files) => {
                println!("{}", inspect::ls_header());
                for f in &files {
                    println!("{}", inspect::format_ls_line(f));
                }
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        cli::LcrCommand::Verify { paths } => match inspect::verify(&paths) {
            Ok(report) => {
                for p in &report.problems {
                    println!("{p}");
                }
                eprintln!(
                    "pglcr: {} files, {} frames checked: {}",
                    report.files,
                    report.frames,
                    if report.problems.is_empty() {
                        "no problems".to_string()
                    } else {
                        format!("{} problems", report.problems.len())
                    }
                );
                if report.problems.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e) => fail(e),
        },
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pglcr: error: {msg}");
    ExitCode::FAILURE
}

fn usage_error(command: &str, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("pglcr: error: {msg}");
    eprintln!("pglcr: hint: Try \"pglcr {command} --help\" for more information.");
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
        Err(msg) => return usage_error("dump", msg),
    };
    let range = match dump::locate::resolve(&request) {
        Ok(r) => r,
        Err(DumpError::Usage(msg)) => return usage_error("dump", msg),
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
        Err(DumpError::Usage(msg)) => usage_error("dump", msg),
        Err(e) => fail(e),
    }
}

fn run_catalog_export(args: CatalogExportArgs) -> ExitCode {
    let opts = ConnOptions {
        dbname: args.conn.dbname,
        host: args.conn.host,
        port: args.conn.port,
        user: args.conn.username,
    };
    let params = match ConnParams::resolve(&opts) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let export = match catalog_export::export(&params) {
        Ok(e) => e,
        Err(e) => return fail(e),
    };
    let mut text = export.json;
    text.push('\n');
    if let Err(e) = write_output(args.output.as_deref(), text.as_bytes()) {
        return fail(e);
    }
    ExitCode::SUCCESS
}

/// Writes `bytes` durably to `path`, or to stdout when there is none or it is "-".
fn write_output(path: Option<&std::path::Path>, bytes: &[u8]) -> Result<(), String> {
    match path {
        Some(path) if path.as_os_str() != "-" => pglcr::durable::write_file(path, bytes)
            .map_err(|e| format!("could not write \"{}\": {e}", path.display())),
        _ => {
            let mut out = std::io::stdout().lock();
            out.write_all(bytes)
                .and_then(|()| out.flush())
                .map_err(|e| format!("could not write output: {e}"))
        }
    }
}

fn run_catalog_follow(args: cli::CatalogFollowArgs) -> ExitCode {
    let parsed = (|| -> Result<pglcr::decode::FollowRequest, String> {
        Ok(pglcr::decode::FollowRequest {
            catalog: args.catalog.clone(),
            path: args.path.clone(),
            end: args
                .end
                .as_deref()
                .map(|e| e.parse().map_err(|_| format!("invalid end LSN \"{e}\"")))
                .transpose()?,
            timeline: args.timeline,
            max_memory: pglcr::units::parse_size(&args.max_memory)? as usize,
        })
    })();
    let request = match parsed {
        Ok(r) => r,
        Err(msg) => return usage_error("catalog follow", msg),
    };
    let followed = match pglcr::decode::follow_catalog(&request) {
        Ok(f) => f,
        Err(e) => return fail(e),
    };
    let mut text = match serde_json::to_string_pretty(&followed.file) {
        Ok(t) => t,
        Err(e) => return fail(format!("could not write the catalog: {e}")),
    };
    text.push('\n');
    if let Err(e) = write_output(args.output.as_deref(), text.as_bytes()) {
        return fail(e);
    }
    eprintln!(
        "pglcr: catalog followed to {} ({} catalog changes applied{})",
        followed.end,
        followed.versions,
        if followed.open_transactions > 0 {
            format!(
                "; {} transactions still open there are not included",
                followed.open_transactions
            )
        } else {
            String::new()
        }
    );
    ExitCode::SUCCESS
}

fn run_archive(args: cli::ArchiveArgs) -> ExitCode {
    use pglcr::archive::{archive, ArchiveError, ArchiveOutcome, ArchiveRequest};
    let request = ArchiveRequest {
        source: args.source,
        name: args.name,
        to: args.to,
        compress: args.compress,
    };
    match archive(&request) {
        Ok(ArchiveOutcome::Archived { .. }) => ExitCode::SUCCESS,
        Ok(ArchiveOutcome::AlreadyArchived { path }) => {
            eprintln!(
                "pglcr: warning: \"{}\" is already archived as \"{}\" with the same WAL; not copied again",
                request.name,
                path.display()
            );
            ExitCode::SUCCESS
        }
        Err(e @ ArchiveError::BadName { .. }) => usage_error("archive", e),
        Err(e) => fail(e),
    }
}

/// `pglcr restore` exits 1 only for "not in the archive", which PostgreSQL expects; other
/// errors get 2.
fn run_restore(args: cli::RestoreArgs) -> ExitCode {
    use pglcr::archive::{restore, RestoreOutcome, RestoreRequest};
    let request = RestoreRequest {
        name: args.name,
        dest: args.dest,
        from: args.from,
    };
    match restore(&request) {
        Ok(RestoreOutcome::Restored { .. }) => ExitCode::SUCCESS,
        Ok(RestoreOutcome::NotFound) => {
            eprintln!(
                "pglcr: \"{}\" is not in the archive \"{}\"",
                request.name,
                request.from.display()
            );
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("pglcr: error: {e}");
            ExitCode::from(EXIT_RESTORE_FAILED)
        }
    }
}

fn conn_params(conninfo: &str) -> Result<ConnParams, pglcr::pgconn::ConnError> {
    ConnParams::resolve(&ConnOptions {
        dbname: Some(conninfo.to_string()),
        ..Default::default()
    })
}

fn run_init(args: cli::InitArgs) -> ExitCode {
    use pglcr::init::{self, CopyMode, CopyProgress, InitError, Notice, ProgressMode, Request};
    use pglcr::spool::SpoolError;
    use std::io::IsTerminal;
    use std::sync::atomic::Ordering::Relaxed;
    let source = match conn_params(&args.source) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let target = match args.target.as_deref().map(conn_params).transpose() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let request = Request {
        source,
        spool: args.spool.clone(),
        target,
        tables: args.tables.clone(),
        copy: CopyMode {
            schema: !args.data_only,
            data: !args.schema_only,
        },
        jobs: args.jobs,
        origin: args.origin.clone(),
        progress: args.progress.map(|p| match p {
            cli::ProgressArg::Origin => ProgressMode::Origin,
            cli::ProgressArg::Table => ProgressMode::Table,
        }),
        pg_bindir: args.pg_bindir.clone(),
    };
    let progress = CopyProgress::default();
    let done = std::sync::atomic::AtomicBool::new(false);
    let terminal = std::io::stderr().is_terminal();
    let result = std::thread::scope(|scope| {
        if terminal {
            let (progress, done) = (&progress, &done);
            scope.spawn(move || {
                let bar = indicatif::ProgressBar::hidden();
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{elapsed} [{bar:30}] {bytes}/~{total_bytes} {bytes_per_sec}, {msg}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                while !done.load(Relaxed) {
                    let total = progress.tables_total.load(Relaxed);
                    if total > 0 {
                        bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
                        let bytes = progress.bytes.load(Relaxed);
                        bar.set_length(progress.bytes_total.load(Relaxed).max(bytes));
                        bar.set_position(bytes);
                        bar.set_message(format!(
                            "{} rows, {}/{total} tables",
                            progress.rows.load(Relaxed),
                            progress.tables_done.load(Relaxed)
                        ));
                    }
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                bar.finish_and_clear();
            });
        }
        let mut notify = |n: Notice| match n {
            Notice::Warning(w) => eprintln!("pglcr: warning: {w}"),
            Notice::Step(s) => eprintln!("pglcr: {s}"),
        };
        let result = init::run(&request, &progress, &mut notify);
        done.store(true, Relaxed);
        result
    });
    match result {
        Ok(s) => {
            println!(
                "pglcr: spool {} starts at consistent point {} (system {}, timeline {}, database {}); WAL is read from {}",
                args.spool.display(),
                s.consistent_point,
                s.system_identifier,
                s.timeline,
                s.database,
                s.restart_lsn
            );
            if let (Some(origin), Some(mode)) = (&s.origin, s.progress_mode) {
                println!(
                    "pglcr: target seeded: {}{} tables, {} rows ({:.1} MB), {} sequences; apply position {} recorded in {}",
                    if s.schema_copied { "schema, " } else { "" },
                    s.tables,
                    s.rows,
                    s.bytes as f64 / (1024.0 * 1024.0),
                    s.sequences,
                    s.consistent_point,
                    match mode {
                        ProgressMode::Origin => format!("replication origin {origin}"),
                        ProgressMode::Table => format!("pglcr.apply_progress ({origin})"),
                    }
                );
            }
            println!("pglcr: done in {:.1} s", s.seconds);
            ExitCode::SUCCESS
        }
        Err(InitError::Usage(msg)) => usage_error("init", msg),
        Err(e @ InitError::Spool(SpoolError::Locked { .. })) => {
            eprintln!("pglcr: error: {e}");
            ExitCode::from(EXIT_LOCKED)
        }
        Err(e) => fail(e),
    }
}

/// Exit status of `pglcr compare` on errors (0 equal, 1 different).
const EXIT_COMPARE_ERROR: u8 = 2;

fn run_compare(args: cli::CompareArgs) -> ExitCode {
    use pglcr::compare::{self, DiffKind, Request, Status};
    let error = |e: &dyn std::fmt::Display| {
        eprintln!("pglcr: error: {e}");
        ExitCode::from(EXIT_COMPARE_ERROR)
    };
    let [a, b] = args.dbname.as_slice() else {
        eprintln!(
            "pglcr: error: give exactly two databases (-d A -d B), not {}",
            args.dbname.len()
        );
        eprintln!("pglcr: hint: Try \"pglcr compare --help\" for more information.");
        return ExitCode::from(EXIT_COMPARE_ERROR);
    };
    let (a, b) = match (conn_params(a), conn_params(b)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(e), _) | (_, Err(e)) => return error(&e),
    };
    let request = Request {
        a,
        b,
        tables: args.tables.clone(),
        sample: args.sample,
    };
    let report = match compare::compare(&request) {
        Ok(r) => r,
        Err(e) => return error(&e),
    };
    match args.format {
        cli::CompareFormatArg::Json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&report).expect("report serializes")
            );
        }
        cli::CompareFormatArg::Text => {
            let width = report
                .tables
                .iter()
                .map(|t| t.table.len())
                .max()
                .unwrap_or(5)
                .max(5);
            println!(
                "{:<width$}  {:>12}  {:>12}  result",
                "table", "rows A", "rows B"
            );
            let count = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
            for t in &report.tables {
                let result = match t.status {
                    Status::Equal => "equal".to_string(),
                    Status::MissingInA => "DIFFERENT: missing in A".to_string(),
                    Status::MissingInB => "DIFFERENT: missing in B".to_string(),
                    Status::ColumnsDiffer => "DIFFERENT: columns differ".to_string(),
                    Status::Different => match (t.only_in_a, t.only_in_b, t.changed) {
                        (Some(oa), Some(ob), Some(ch)) => {
                            format!("DIFFERENT: {oa} only in A, {ob} only in B, {ch} changed")
                        }
                        _ => "DIFFERENT".to_string(),
                    },
                };
                println!(
                    "{:<width$}  {:>12}  {:>12}  {result}",
                    t.table,
                    count(t.rows_a),
                    count(t.rows_b)
                );
                if let Some(note) = &t.note {
                    println!("    {note}");
                }
                for d in &t.sample {
                    let kind = match d.kind {
                        DiffKind::OnlyInA => "only in A",
                        DiffKind::OnlyInB => "only in B",
                        DiffKind::Changed => "changed  ",
                    };
                    let key = if t.key.len() == 1 {
                        format!("{}={}", t.key[0], d.key[0])
                    } else {
                        format!("({})=({})", t.key.join(", "), d.key.join(", "))
                    };
                    println!("    {kind}  {key}");
                }
            }
            let differing = report
                .tables
                .iter()
                .filter(|t| t.status != Status::Equal)
                .count();
            println!(
                "{} tables compared: {}",
                report.tables.len(),
                if differing == 0 {
                    "all equal".to_string()
                } else {
                    format!("{differing} differ")
                }
            );
        }
    }
    if report.equal {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `pglcr ship` exit statuses besides 0 (shipped) and 1 (failed, nothing acknowledged).
const EXIT_SHIP_NOTHING_TO_DO: u8 = 3;
const EXIT_SHIP_PARTIAL: u8 = 4;

fn run_ship(args: cli::ShipArgs) -> ExitCode {
    use pglcr::ship::{self, state::StateError, Mode, Progress, Request, ShipError};
    use std::io::IsTerminal;
    // A transfer writes to ssh's stdin: when ssh dies (link cut), that must be an error the
    // retry logic sees, not a signal that kills pglcr.
    // SAFETY: setting a signal disposition before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
    let max_rate = match args
        .max_rate
        .as_deref()
        .map(pglcr::units::parse_size)
        .transpose()
    {
        Ok(Some(0)) => return usage_error("ship", "--max-rate must be above 0"),
        Ok(r) => r,
        Err(msg) => return usage_error("ship", msg),
    };
    let request = Request {
        spool: args.spool,
        to: args.to,
        name: args.name,
        mode: if args.repair {
            Mode::Repair
        } else if args.verify {
            Mode::Verify
        } else {
            Mode::Ship
        },
        jobs: args.jobs.into(),
        max_rate,
        ssh_command: args
            .ssh_command
            .or_else(|| {
                std::env::var("PGLCR_SSH")
                    .ok()
                    .filter(|s| !s.trim().is_empty())
            })
            .unwrap_or_else(|| ship::DEFAULT_SSH.to_string()),
        backoff: pglcr::ship::transport::Backoff {
            retries: args.retries,
            first_delay: std::time::Duration::from_secs(1),
            max_delay: std::time::Duration::from_secs(60),
        },
        on_retry: |msg, delay| {
            eprintln!(
                "pglcr: warning: {msg}; retrying in {} s",
                delay.as_secs_f64()
            )
        },
    };
    let failed = |e: ShipError| match e {
        ShipError::State(StateError::Locked { .. }) => {
            eprintln!("pglcr: error: {e}");
            ExitCode::from(EXIT_LOCKED)
        }
        ShipError::Usage(msg) => usage_error("ship", msg),
        e => fail(e),
    };
    if request.mode != Mode::Ship {
        return match ship::verify(&request) {
            Err(e) => failed(e),
            Ok(r) => {
                for p in &r.problems {
                    eprintln!("pglcr: problem: {p}");
                }
                for f in &r.repaired {
                    eprintln!("pglcr: repaired {f}");
                }
                for u in &r.unrepairable {
                    eprintln!("pglcr: cannot repair {u}");
                }
                eprintln!(
                    "pglcr: destination \"{}\": {} files checked, {} problems, {} repaired",
                    r.name,
                    r.checked,
                    r.problems.len(),
                    r.repaired.len()
                );
                let fixed = request.mode == Mode::Repair && r.unrepairable.is_empty();
                if r.problems.is_empty() || fixed {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
        };
    }
    let progress = Progress::default();
    let done = std::sync::atomic::AtomicBool::new(false);
    let result = std::thread::scope(|scope| {
        if std::io::stderr().is_terminal() {
            let (progress, done) = (&progress, &done);
            scope.spawn(move || {
                use std::sync::atomic::Ordering::Relaxed;
                let bar = indicatif::ProgressBar::new(0);
                bar.set_style(
                    indicatif::ProgressStyle::with_template(
                        "{elapsed} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                while !done.load(Relaxed) {
                    bar.set_length(progress.total.load(Relaxed));
                    bar.set_position(progress.done.load(Relaxed));
                    std::thread::sleep(std::time::Duration::from_millis(100));
                }
                bar.finish_and_clear();
            });
        }
        let result = ship::run(&request, Some(&progress));
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        result
    });
    match result {
        Err(e) => failed(e),
        Ok(s) if s.files == 0 && s.failure.is_none() => {
            eprintln!(
                "pglcr: nothing to ship to \"{}\": acknowledged up to {}",
                s.name,
                s.acked
                    .as_deref()
                    .unwrap_or("nothing (the spool has no LCR files)")
            );
            ExitCode::from(EXIT_SHIP_NOTHING_TO_DO)
        }
        Ok(s) => {
            let secs = s.elapsed.as_secs_f64();
            let mb = s.bytes as f64 / (1024.0 * 1024.0);
            eprintln!(
                "pglcr: shipped {} files ({:.1} MB, {} already there) to \"{}\" in {:.1} s ({:.1} MB/s){}, acknowledged up to {}",
                s.files,
                mb,
                s.already_there,
                s.name,
                secs,
                if secs > 0.0 { mb / secs } else { 0.0 },
                if s.retries > 0 {
                    format!(" after {} retries", s.retries)
                } else {
                    String::new()
                },
                s.acked.as_deref().unwrap_or("nothing")
            );
            match s.failure {
                Some(e) => {
                    eprintln!("pglcr: error: {e}");
                    ExitCode::from(EXIT_SHIP_PARTIAL)
                }
                None => ExitCode::SUCCESS,
            }
        }
    }
}

const EXIT_DRILL_FAIL: u8 = 1;
const EXIT_DRILL_ERROR: u8 = 2;

fn run_drill(args: cli::DrillArgs) -> ExitCode {
    use pglcr::drill::{self, demo, report, Verdict};
    let error = |e: &dyn std::fmt::Display| {
        eprintln!("pglcr: error: {e}");
        ExitCode::from(EXIT_DRILL_ERROR)
    };
    let mut step = |s: &str| eprintln!("pglcr drill: {s}");
    let (report, kept) = if args.demo {
        let request = demo::DemoRequest {
            pg_bindir: None,
            workload: std::time::Duration::from_secs(args.seconds),
            keep: args.keep,
            group_commit: args.group_commit,
        };
        match demo::run(&request, &mut step) {
            Ok(run) => (run.report, run.dir),
            Err(e) => return error(&e),
        }
    } else {
        let conn = |s: &Option<String>| conn_params(s.as_deref().expect("required by clap"));
        let (source, target) = match (conn(&args.source), conn(&args.target)) {
            (Ok(s), Ok(t)) => (s, t),
            (Err(e), _) | (_, Err(e)) => return error(&e),
        };
        let compare_with = match args.compare_with.as_deref().map(conn_params).transpose() {
            Ok(c) => c,
            Err(e) => return error(&e),
        };
        let until = match args.until.as_deref().map(parse_until).transpose() {
            Ok(u) => u,
            Err(e) => return error(&e),
        };
        let request = drill::Request {
            source,
            wal: args.wal.clone().expect("required by clap"),
            spool: args.spool.clone().expect("required by clap"),
            ship_to: args.ship_to.clone().expect("required by clap"),
            apply_from: args.apply_from.clone(),
            target,
            until,
            compare_with,
            tables: args.tables.clone(),
            max_memory: 256 << 20,
            group_commit: args.group_commit,
        };
        (drill::run(&request, &mut step), None)
    };
    match args.format {
        cli::DrillFormatArg::Text => print!("{}", report::text(&report)),
        cli::DrillFormatArg::Json => print!("{}", report::json(&report)),
    }
    if let Some(dir) = kept {
        eprintln!(
            "pglcr drill: kept {} (clusters still running: stop them with pg_ctl -D {}/source stop and pg_ctl -D {}/target stop)",
            dir.display(),
            dir.display(),
            dir.display()
        );
    }
    if let Some(path) = &args.html {
        if let Err(e) = pglcr::durable::write_file(path, report::html(&report).as_bytes()) {
            return error(&format!("could not write \"{}\": {e}", path.display()));
        }
    }
    match report.verdict {
        Verdict::Pass => ExitCode::SUCCESS,
        Verdict::Fail => ExitCode::from(EXIT_DRILL_FAIL),
    }
}

/// Exit status of `pglcr retain` when --max-size cannot be met without losing what a consumer
/// needs.
const EXIT_OVER_CAP: u8 = 3;

fn run_retain(args: cli::RetainArgs) -> ExitCode {
    use pglcr::retain::{self, consumers, Policies, Request, RetainError};
    use pglcr::spool::SpoolError;
    if args.register.is_some() || args.unregister.is_some() {
        let [spool] = args.spools.as_slice() else {
            return usage_error(
                "retain",
                "--register and --unregister need exactly one --spool",
            );
        };
        let result = (|| -> Result<String, RetainError> {
            let _lock = pglcr::spool::lock(spool)?;
            if let Some(spec) = &args.register {
                let (name, source) = consumers::parse_spec(spec)?;
                let c = consumers::Consumer::new(&name, &source, args.origin.clone());
                c.save(spool)?;
                Ok(format!("registered consumer \"{name}\" ({})", c.source()))
            } else {
                let name = args.unregister.as_deref().unwrap_or_default();
                Ok(if consumers::unregister(spool, name)? {
                    format!("unregistered consumer \"{name}\"")
                } else {
                    format!("consumer \"{name}\" was not registered")
                })
            }
        })();
        return match result {
            Ok(msg) => {
                eprintln!("pglcr: {msg}");
                ExitCode::SUCCESS
            }
            Err(RetainError::Spool(e @ SpoolError::Locked { .. })) => {
                eprintln!("pglcr: error: {e}");
                ExitCode::from(EXIT_LOCKED)
            }
            Err(e) => fail(e),
        };
    }
    let parsed = (|| -> Result<(Request, Option<std::time::Duration>), String> {
        let size = |s: &Option<String>| s.as_deref().map(pglcr::units::parse_size).transpose();
        let mut archive = args.archive.clone();
        let mut cleanup_segment = None;
        if let Some(v) = &args.archive_cleanup {
            if archive.is_some() {
                return Err(
                    "--archive-cleanup names the archive directory; leave out --archive".into(),
                );
            }
            archive = Some(v[0].clone().into());
            cleanup_segment = Some(v[1].clone());
        }
        Ok((
            Request {
                archive,
                spools: args.spools.clone(),
                cleanup_segment,
                policies: Policies {
                    keep_segments: args.keep_segments,
                    keep_size: size(&args.keep_size)?.unwrap_or(0),
                    keep_age: args
                        .keep_age
                        .as_deref()
                        .map(retain::parse_duration)
                        .transpose()?,
                    max_size: size(&args.max_size)?,
                    allow_consumer_loss: args.allow_consumer_loss,
                },
                confirm: args.confirm,
            },
            args.interval
                .as_deref()
                .map(retain::parse_duration)
                .transpose()?,
        ))
    })();
    let (request, interval) = match parsed {
        Ok(r) => r,
        Err(e) => return usage_error("retain", e),
    };
    let mut status = ExitCode::SUCCESS;
    let mut report = |result: Result<retain::Outcome, RetainError>| -> bool {
        let mut go_on = interval.is_some();
        status = match result {
            Ok(outcome) => {
                let text = outcome.report();
                if args.quiet {
                    print!(
                        "{}",
                        text.lines()
                            .last()
                            .map(|l| format!("{l}\n"))
                            .unwrap_or_default()
                    );
                } else {
                    print!("{text}");
                }
                let _ = std::io::stdout().flush();
                for e in &outcome.errors {
                    eprintln!("pglcr: error: {e}");
                }
                if outcome.over_cap.is_some() {
                    ExitCode::from(EXIT_OVER_CAP)
                } else if outcome.errors.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }
            }
            Err(e @ RetainError::Spool(SpoolError::Locked { .. })) => {
                eprintln!("pglcr: error: {e}");
                ExitCode::from(EXIT_LOCKED)
            }
            Err(e @ RetainError::Usage(_)) => {
                // An invalid request stays invalid: the long-running mode stops too.
                go_on = false;
                usage_error("retain", e)
            }
            Err(e) => fail(e),
        };
        go_on
    };
    match interval {
        Some(every) => retain::run_every(&request, every, &mut report),
        None => {
            report(retain::run(&request));
        }
    }
    status
}

fn run_status(args: cli::StatusArgs) -> ExitCode {
    use pglcr::status::{self, Request};
    let request = Request {
        archive: args.archive,
        spools: args.spools,
    };
    let st = match status::gather(&request) {
        Ok(s) => s,
        Err(e @ status::StatusError::Usage(_)) => return usage_error("status", e),
        Err(e) => return fail(e),
    };
    let text = match args.format {
        cli::StatusFormatArg::Text => status::render_text(&st),
        cli::StatusFormatArg::Json => status::render_json(&st),
        cli::StatusFormatArg::Prometheus => status::render_prometheus(&st),
    };
    if let Err(e) = write_output(args.output.as_deref(), text.as_bytes()) {
        return fail(e);
    }
    if st.problems() == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
