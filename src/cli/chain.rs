//! CLI commands about the chain itself: verify, export, import, status and the benchmarks.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use super::{mib, progress_bar, EXIT_TAMPERED};
use crate::chain::export::read_personal_export;
use crate::chain::hex;
use crate::chain::Anchor;
use crate::ledger::report_index::IndexCheck;
use crate::ledger::verify::verify_export;
use crate::ledger::{Config, Ledger, Offline, SnapshotOutcome};

fn now_ms() -> i64 {
    (crate::ledger::system_clock())()
}

pub fn verify(
    dir: &Path,
    export: Option<&Path>,
    personal: Option<&Path>,
    trusted: Option<Anchor>,
    checkpoint_key: Option<&str>,
) -> anyhow::Result<ExitCode> {
    // The data directory's report index, checked with the chain and reported after the
    // chain's and the checkpoints' verdicts (which say more when history was rewritten).
    let mut index = None;
    let result = match export {
        Some(file) => {
            let input =
                std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
            let size = input.metadata().map(|m| m.len()).unwrap_or(0);
            let personal = personal
                .map(|p| -> anyhow::Result<_> {
                    let f = std::fs::File::open(p)
                        .with_context(|| format!("opening {}", p.display()))?;
                    Ok(read_personal_export(std::io::BufReader::new(f))?)
                })
                .transpose()?;
            let bar = progress_bar(size / 150, "verifying");
            let r = verify_export(
                std::io::BufReader::new(input),
                personal.as_ref(),
                trusted,
                |n| bar.set_position(n),
            );
            bar.finish_and_clear();
            r
        }
        None => {
            let offline = Offline::open(dir)?;
            let bar = progress_bar(offline.view()?.records(), "verifying");
            let r = offline.verify(trusted, now_ms(), |n| bar.set_position(n));
            bar.finish_and_clear();
            if r.is_ok() {
                if let Some(code) = check_snapshots(&offline)? {
                    return Ok(code);
                }
            }
            if r.is_ok() {
                index = Some(check_report_index(&offline)?);
            }
            r
        }
    };
    match result {
        Ok(report) => {
            let head = report.verified.head.map_or("empty chain".to_owned(), |h| {
                format!("head seq {} hash {}", h.seq, hex(&h.hash))
            });
            println!(
                "OK: {} records verified in {:.2} s ({}); {} personal-data entries match their commitments",
                report.verified.records,
                report.elapsed.as_secs_f64(),
                head,
                report.personal_entries
            );
            if let Some(i) = report.interrupted {
                println!("note: {i}");
            }
            let code = super::proofs::verify_recorded_checkpoints(dir, export, checkpoint_key)?;
            match index {
                Some(index) if code == ExitCode::SUCCESS => Ok(report_index_verdict(index)),
                _ => Ok(code),
            }
        }
        Err(e) if e.is_tampering() => {
            println!("TAMPERED: {e}");
            Ok(ExitCode::from(EXIT_TAMPERED))
        }
        Err(e) => Err(e.into()),
    }
}

/// Checks the state snapshots against a replay of the verified chain; `Some` exit code when
/// one was altered.
fn check_snapshots(offline: &Offline) -> anyhow::Result<Option<ExitCode>> {
    let checks = super::step("checking the state snapshots against the chain", || {
        offline.check_snapshots()
    })?;
    let mut altered = false;
    for c in &checks {
        match &c.outcome {
            SnapshotOutcome::Matches => {}
            SnapshotOutcome::Differs => {
                altered = true;
                println!(
                    "TAMPERED: the snapshot {} (after {} records) differs from a replay of the chain; remove it",
                    c.path.display(),
                    c.records
                );
            }
            SnapshotOutcome::Unusable(reason) => println!(
                "note: the snapshot {} is not used when opening: {reason}",
                c.path.display()
            ),
        }
    }
    let matching = checks
        .iter()
        .filter(|c| c.outcome == SnapshotOutcome::Matches)
        .count();
    if matching > 0 {
        println!("{matching} state snapshot(s) match a replay of the chain");
    }
    Ok(altered.then(|| ExitCode::from(EXIT_TAMPERED)))
}

/// Checks the report index the figures read against the verified chain, with where it lives.
fn check_report_index(offline: &Offline) -> anyhow::Result<(IndexCheck, PathBuf)> {
    let check = super::step("checking the report index against the chain", || {
        offline.check_report_index()
    })?;
    Ok((check, offline.report_index_path()))
}

/// Says what the report index check found; a frame listing other records than the chain's is
/// tampering.
fn report_index_verdict((check, path): (IndexCheck, PathBuf)) -> ExitCode {
    if let Some((_, why)) = check.tampering(&path.display().to_string()) {
        println!("TAMPERED: {why}");
        return ExitCode::from(EXIT_TAMPERED);
    }
    match check {
        IndexCheck::Foreign => {
            println!("note: the report index is not this chain's; the next report rebuilds it")
        }
        IndexCheck::Matches { frames, records } => println!(
            "the report index matches the chain ({frames} frames covering {records} records)"
        ),
        IndexCheck::Absent | IndexCheck::Differs { .. } | IndexCheck::BeyondHead { .. } => {}
    }
    ExitCode::SUCCESS
}

pub fn export(dir: &Path, file: &Path, with_personal: bool) -> anyhow::Result<ExitCode> {
    let offline = Offline::open(dir)?;
    let personal_path = with_personal.then(|| personal_path_for(file));
    let summary = offline.export(file, personal_path.as_deref())?;
    println!("exported {} records to {}", summary.records, file.display());
    if let Some(i) = summary.interrupted {
        println!("left out: {i}");
    }
    if let Some(p) = personal_path {
        println!(
            "exported {} personal-data entries to {}",
            summary.personal_entries,
            p.display()
        );
    }
    if let Some(h) = summary.head {
        println!("head seq {} hash {}", h.seq, hex(&h.hash));
    }
    Ok(ExitCode::SUCCESS)
}

fn personal_path_for(file: &Path) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(".personal");
    PathBuf::from(name)
}

pub fn import(
    dir: &Path,
    file: &Path,
    personal: Option<PathBuf>,
    expect_head: Option<Anchor>,
) -> anyhow::Result<ExitCode> {
    let personal = personal.or_else(|| Some(personal_path_for(file)).filter(|p| p.exists()));
    let summary = super::step("importing and verifying", || {
        crate::ledger::archive::import_dir(dir, file, personal.as_deref(), expect_head)
    })
    .with_context(|| format!("importing {} into {}", file.display(), dir.display()))?;
    println!(
        "imported {} records and {} personal-data entries into {}",
        summary.records,
        summary.personal_entries,
        dir.display()
    );
    if let Some(h) = summary.head {
        println!(
            "head seq {} hash {} (same as the export)",
            h.seq,
            hex(&h.hash)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn status(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let offline = Offline::open(dir)?;
    let view = offline.view()?;
    let head = view.anchor;
    let verified = offline.last_verified()?;
    let checkpoints = super::proofs::checkpoint_status(dir)?;
    if json {
        let v = serde_json::json!({
            "data_dir": dir.display().to_string(),
            "records": view.records(),
            "head_seq": head.map(|h| h.seq),
            "head_hash": head.map(|h| hex(&h.hash)),
            "interrupted_first_seq": view.interrupted.map(|i| i.first_seq),
            "interrupted_records": view.interrupted.map(|i| i.records),
            "last_verified_unix_ms": verified.map(|v| v.0),
            "last_verified_records": verified.map(|v| v.1),
            "size_on_disk_bytes": offline.size_on_disk(),
            "newest_snapshot_records": offline.newest_snapshot(),
            "checkpoints": checkpoints,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("data dir:      {}", dir.display());
    match head {
        Some(h) => {
            println!("records:       {}", h.seq + 1);
            println!("head seq:      {}", h.seq);
            println!("head hash:     {}", hex(&h.hash));
        }
        None => println!("records:       0 (empty chain)"),
    }
    if let Some(i) = view.interrupted {
        println!("interrupted:   {i}");
    }
    match verified {
        Some((at, n)) => println!("last verified: {} UTC ({} records)", format_ms(at), n),
        None => println!("last verified: never (run `chitra verify`)"),
    }
    println!("size on disk:  {}", mib(offline.size_on_disk()));
    match offline.newest_snapshot() {
        Some(n) => {
            println!("snapshot:      after {n} records (opening replays only what came after)")
        }
        None => println!("snapshot:      none (opening replays the whole chain)"),
    }
    println!("checkpoints:   {checkpoints}");
    Ok(ExitCode::SUCCESS)
}

/// `YYYY-MM-DD HH:MM:SS` of a Unix-millisecond timestamp, in UTC.
pub(crate) fn format_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let date = crate::domain::types::Date::from_days_since_epoch(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!(
        "{date} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

pub fn bench_append(
    dir: &Path,
    opts: &crate::dev::bench::AppendOptions,
) -> anyhow::Result<ExitCode> {
    let opened = std::time::Instant::now();
    // `[checkpoints]` applies when the directory has a configuration (a key turns them on).
    let checkpoints = crate::app::config::DataDir::existing(dir)
        .ok()
        .map(|d| d.settings())
        .transpose()?
        .map(|s| s.checkpoints)
        .unwrap_or_default();
    let ledger = Ledger::open(Config {
        checkpoints,
        sign_checkpoints: opts.checkpoints,
        ..Config::new(dir)
    })?;
    let before = ledger.durable_records();
    if !opts.print_acks {
        eprintln!(
            "opened {} ({} records) in {:.2} s",
            dir.display(),
            before,
            opened.elapsed().as_secs_f64()
        );
    }
    let bar = progress_bar(opts.events, "appending");
    if opts.print_acks {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let report = crate::dev::bench::append(&ledger, opts, &|n| bar.set_position(n))?;
    bar.finish_and_clear();
    if !opts.print_acks {
        let rss = report.peak_rss_bytes.unwrap_or(0);
        println!(
            "appended {} events ({} commands, {} submitters) in {:.2} s: {:.0} events/s, durable",
            report.events,
            report.commands,
            opts.submitters,
            report.elapsed.as_secs_f64(),
            report.events_per_second()
        );
        let m = ledger.metrics();
        println!(
            "writer: {} groups ({:.0} records/group); decide+apply+encode {:.2} s, store write+flush {:.2} s (slowest flush {:.1} ms)",
            m.groups,
            m.records as f64 / m.groups.max(1) as f64,
            m.decide_nanos as f64 / 1e9,
            m.store_nanos as f64 / 1e9,
            m.store_nanos_max as f64 / 1e6
        );
        let signed = ledger.read(|s| s.checkpoints().len())?;
        println!(
            "checkpoints: {signed} recorded in the chain (signing {})",
            match opts.checkpoints {
                true => "on when the directory has a key",
                false => "off: --no-checkpoints",
            }
        );
        let total = before + report.events;
        println!(
            "peak memory {} for a ledger of {} records ({} per million records)",
            mib(rss),
            total,
            mib((rss as f64 / (total.max(1) as f64 / 1e6)) as u64)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn bench_verify(dir: &Path) -> anyhow::Result<ExitCode> {
    let offline = Offline::open(dir)?;
    let report = offline
        .verify(None, now_ms(), |_| {})
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let n = report.verified.records;
    println!(
        "verified {} records in {:.2} s: {:.0} records/s; peak memory {}",
        n,
        report.elapsed.as_secs_f64(),
        n as f64 / report.elapsed.as_secs_f64().max(1e-9),
        mib(crate::dev::bench::peak_rss_bytes().unwrap_or(0))
    );
    Ok(ExitCode::SUCCESS)
}

/// `chitra bench years`: months of history on an empty data directory, then a fresh reopen.
pub fn bench_years(
    s: &super::Session,
    persons: u64,
    months: u32,
    seed: u64,
) -> anyhow::Result<ExitCode> {
    let opts = crate::dev::bench::years::YearsOptions {
        dir: s.data_dir.clone(),
        persons,
        months,
        seed,
    };
    let r = crate::dev::bench::years::run(&opts, &|phase| eprintln!("{phase}"))?;
    let paid: u64 = r.months.iter().map(|m| m.payments).sum();
    println!(
        "{} people, {} months, {} payments: {} records, {} on disk",
        persons,
        r.months.len(),
        paid,
        r.records,
        mib(r.disk_bytes)
    );
    println!(
        "last monthly run: {:.1} s, peak memory {}",
        r.months.last().map_or(0.0, |m| m.elapsed.as_secs_f64()),
        mib(r.last_run_peak_rss_bytes.unwrap_or(0))
    );
    println!("{}", r.last_run_peaks.line());
    println!(
        "reopened in a fresh process: {:.2} s ({:.2} s of CPU) from a snapshot after {} records, resident {} ({} its own, the rest mapped files; peak {} while opening)",
        r.reopened.open_ms as f64 / 1000.0,
        r.reopened.cpu_ms as f64 / 1000.0,
        r.reopened.snapshot_records,
        mib(r.reopened.rss_bytes),
        mib(r.reopened.anon_rss_bytes),
        mib(r.reopened.peak_rss_bytes)
    );
    Ok(ExitCode::SUCCESS)
}

/// `chitra bench open`: how long opening takes and what it holds in memory.
pub fn bench_open(s: &super::Session) -> anyhow::Result<ExitCode> {
    let f = crate::dev::bench::years::measure_open(&s.data_dir)?;
    if s.json {
        println!("{}", serde_json::to_string(&f)?);
    } else {
        println!(
            "opened {} records in {:.2} s ({:.2} s of CPU) from a snapshot after {} records; resident {} ({} its own, the rest mapped files; peak {})",
            f.records,
            f.open_ms as f64 / 1000.0,
            f.cpu_ms as f64 / 1000.0,
            f.snapshot_records,
            mib(f.rss_bytes),
            mib(f.anon_rss_bytes),
            mib(f.peak_rss_bytes)
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub fn bench_batch(s: &super::Session, persons: u64, seed: u64) -> anyhow::Result<ExitCode> {
    let ledger = super::open_ledger(s)?;
    let r =
        crate::dev::bench::monthly_run(&ledger, persons, seed, &|phase| eprintln!("{phase}..."))?;
    let rate = |n: u64, d: std::time::Duration| n as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "enrolled {} people in {:.2} s ({:.0} people/s, {:.0} events/s)",
        r.persons,
        r.enrol.as_secs_f64(),
        rate(r.persons, r.enrol),
        rate(2 * r.persons, r.enrol)
    );
    println!(
        "compute (rules, all cores):      {:.2} s for {} payments ({:.0}/s)",
        r.compute.as_secs_f64(),
        r.payments,
        rate(r.payments, r.compute)
    );
    println!(
        "append the payment lines:        {:.2} s ({:.0} events/s, durable)",
        r.append.as_secs_f64(),
        rate(r.payments, r.append)
    );
    println!(
        "approve:                         {:.3} s",
        r.approve.as_secs_f64()
    );
    println!(
        "release + {} files ({}):   {:.2} s ({:.0} lines/s)",
        r.files,
        mib(r.file_bytes),
        r.release_and_files.as_secs_f64(),
        rate(r.payments, r.release_and_files)
    );
    let total = r.compute + r.append + r.approve + r.release_and_files;
    println!(
        "compute + approve + release:     {:.2} s end to end: {:.0} payments/s",
        total.as_secs_f64(),
        rate(r.payments, total)
    );
    println!(
        "status ingestion:                {:.2} s for {} lines ({:.0} lines/s)",
        r.status.as_secs_f64(),
        r.status_lines,
        rate(r.status_lines, r.status)
    );
    println!(
        "figures (as of now / as of today): {:.2} s / {:.2} s; as JSON {} in {:.3} s; calendar {:.3} s",
        r.figures.as_secs_f64(),
        r.figures_as_of.as_secs_f64(),
        mib(r.figures_json_bytes as u64),
        r.figures_json.as_secs_f64(),
        r.calendar.as_secs_f64()
    );
    println!("peak memory {}", mib(r.peak_rss_bytes.unwrap_or(0)));
    println!("{}", r.step_peaks.line());
    Ok(ExitCode::SUCCESS)
}

pub fn backup(s: &super::Session, out: &Path) -> anyhow::Result<ExitCode> {
    let data = s.ledger_dir()?;
    let ledger = super::open_ledger(s)?;
    let manifest = super::step("backing up", || {
        crate::app::backup::backup(&ledger, &data, out)
    })
    .with_context(|| format!("backing up into {}", out.display()))?;
    print_backup(out, &manifest);
    Ok(ExitCode::SUCCESS)
}

/// What a backup holds, for the person who made it.
pub fn print_backup(dir: &Path, m: &crate::app::backup::Manifest) {
    println!(
        "backed up {} records and {} payment files into {} (head {})",
        m.records,
        m.payment_files,
        dir.display(),
        m.head.as_deref().unwrap_or("none")
    );
    println!(
        "manifest: {} files with their blake3; restore with: chitra --data-dir NEW restore {}",
        m.entries.len(),
        dir.display()
    );
}

pub fn restore(dir: &Path, from: &Path) -> anyhow::Result<ExitCode> {
    let m = super::step("restoring", || crate::app::backup::restore(from, dir))
        .with_context(|| format!("restoring {} into {}", from.display(), dir.display()))?;
    println!(
        "restored {} records and {} payment files into {}; head {} (as in the backup)",
        m.records,
        m.payment_files,
        dir.display(),
        m.head.as_deref().unwrap_or("none")
    );
    Ok(ExitCode::SUCCESS)
}
