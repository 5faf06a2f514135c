//! `chitra bench years`: how records, disk, opening and memory grow with months of history.
//! Enrols N people, then pays M monthly batches end to end with the changes a real caseload
//! has (deaths, new decisions, about 1% returned by the banks and paid again as arrears, a
//! rate change enacted after two of its months were paid), then reopens the ledger in a fresh
//! process and measures that. Figures go in issue notes, never into test assertions.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::monthly::Run;
use super::StepPeaks;
use crate::domain::command::{CloseBatch, RecordDeath};
use crate::domain::types::{BatchId, BeneficiaryId, Month};
use crate::domain::Command;
use crate::ledger::{Config, Ledger, SubmitError};

/// The last month paid; the run pays the `months` up to and including it, so a run of 6 or
/// more months always crosses the rate change below.
const LAST_MONTH: &str = "2024-12";
/// The schedule enacted late: ND 76/2024 raises the BTXH base from 2024-07, and is recorded
/// only before the 2024-09 batch, so that batch pays July and August again as arrears.
const LATE_SCHEDULE: &str = "btxh-nd76-2024";
const LATE_SCHEDULE_RECORDED_BEFORE: &str = "2024-09";
/// Deaths recorded each month, per million people enrolled.
const DEATHS_PER_MILLION_MONTHLY: u64 = 1_000;
/// New people with a decision from the month, per million enrolled.
const NEW_PER_MILLION_MONTHLY: u64 = 2_000;

pub struct YearsOptions {
    pub dir: PathBuf,
    pub persons: u64,
    pub months: u32,
    pub seed: u64,
}

/// One month's run, end to end.
#[derive(Debug, Clone)]
pub struct MonthFigures {
    pub month: Month,
    pub payments: u64,
    pub deaths: u64,
    pub enrolled: u64,
    pub closed: bool,
    pub elapsed: Duration,
    /// Records in the chain after the month.
    pub records: u64,
}

/// What a fresh process sees when it opens the ledger.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub struct OpenFigures {
    pub open_ms: u64,
    /// CPU time the process spent until the ledger was open (user + system): on a shared
    /// machine the wall time above also counts waiting for a core.
    pub cpu_ms: u64,
    pub rss_bytes: u64,
    /// Of `rss_bytes`, the process's own memory (not mapped files' pages).
    #[serde(default)]
    pub anon_rss_bytes: u64,
    pub peak_rss_bytes: u64,
    pub records: u64,
    /// Records the snapshot opening started from reflected (0: none, a whole replay).
    pub snapshot_records: u64,
}

#[derive(Debug, Clone)]
pub struct YearsReport {
    pub months: Vec<MonthFigures>,
    pub records: u64,
    pub disk_bytes: u64,
    /// Peak resident memory during the last monthly run alone.
    pub last_run_peak_rss_bytes: Option<u64>,
    /// The same, step by step.
    pub last_run_peaks: StepPeaks,
    pub reopened: OpenFigures,
}

/// Runs the whole benchmark; `progress` hears each phase.
pub fn run(opts: &YearsOptions, progress: &dyn Fn(&str)) -> anyhow::Result<YearsReport> {
    let last = Month::parse(LAST_MONTH).expect("a valid month");
    let first = (1..opts.months.max(1)).fold(last, |m, _| m.prev());
    let ledger = Ledger::open(Config::new(&opts.dir))?;
    let run = Run::new(&ledger);
    run.load_rates_where(|s| s != LATE_SCHEDULE)?;
    progress(&format!("enrolling {} people from {first}", opts.persons));
    run.enrol(opts.persons, opts.seed, first)?;
    let mut months = Vec::new();
    let mut last_run_peaks = StepPeaks::default();
    let mut month = first;
    for i in 0..opts.months.max(1) {
        let mut peaks = StepPeaks::start();
        let figures = pay_month(&ledger, &run, opts, month, i, &mut peaks)?;
        progress(&format!(
            "{month}: {} payments, {} deaths, {} new, {} records, {:.1} s{}",
            figures.payments,
            figures.deaths,
            figures.enrolled,
            figures.records,
            figures.elapsed.as_secs_f64(),
            if figures.closed { "" } else { " (not closed)" }
        ));
        months.push(figures);
        last_run_peaks = peaks;
        month = month.next();
    }
    let records = ledger.read(|s| s.applied())?;
    drop(run);
    drop(ledger);
    progress("reopening in a fresh process");
    let reopened = open_in_child(&opts.dir)?;
    Ok(YearsReport {
        months,
        records,
        disk_bytes: dir_bytes(&opts.dir),
        last_run_peak_rss_bytes: last_run_peaks.max(),
        last_run_peaks,
        reopened,
    })
}

/// One month: the month's changes, then open, compute, approve, release, the banks' reports
/// and the close.
fn pay_month(
    ledger: &Ledger,
    run: &Run<'_>,
    opts: &YearsOptions,
    month: Month,
    index: u32,
    peaks: &mut StepPeaks,
) -> anyhow::Result<MonthFigures> {
    let started = Instant::now();
    if month == Month::parse(LATE_SCHEDULE_RECORDED_BEFORE).expect("a valid month") {
        run.load_rates_where(|s| s == LATE_SCHEDULE)?;
    }
    let deaths = record_deaths(ledger, run, opts, month, index)?;
    let enrolled = opts.persons * NEW_PER_MILLION_MONTHLY / 1_000_000;
    run.enrol(
        enrolled,
        opts.seed.wrapping_add(1 + u64::from(index)),
        month,
    )?;
    let batch = run.open(month)?;
    peaks.end("changes");
    let (target, payments) = run.compute(batch)?;
    let count = payments.len() as u64;
    peaks.end("compute");
    run.append(batch, target, payments)?;
    peaks.end("append");
    run.approve(batch)?;
    let files = run.release(batch)?;
    peaks.end("approve and release");
    run.banks_answer(&files, peaks)?;
    let closed = close(run, batch);
    peaks.end("close");
    Ok(MonthFigures {
        month,
        payments: count,
        deaths,
        enrolled,
        closed,
        elapsed: started.elapsed(),
        records: ledger.read(|s| s.applied())?,
    })
}

/// Deaths spread over the caseload, different people each month; a person already dead is
/// skipped.
fn record_deaths(
    ledger: &Ledger,
    run: &Run<'_>,
    opts: &YearsOptions,
    month: Month,
    index: u32,
) -> anyhow::Result<u64> {
    let people = ledger.read(|s| s.beneficiary_count())? as u64;
    let deaths = opts.persons * DEATHS_PER_MILLION_MONTHLY / 1_000_000;
    let mut recorded = 0;
    for j in 0..deaths {
        // A stride coprime with any caseload size this bench uses spreads the choice.
        let id = (u64::from(index) * deaths + j).wrapping_mul(7_919) % people.max(1) + 1;
        let command = Command::RecordDeath(RecordDeath {
            beneficiary: BeneficiaryId(id),
            date_of_death: month.first_day(),
            decision: None,
        });
        match run.submit_as_officer(command) {
            Ok(_) => recorded += 1,
            Err(e) if matches!(e.downcast_ref(), Some(SubmitError::Rejected(_))) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(recorded)
}

/// Closes the batch when every line has a bank status (cash lists have none in this bench, so
/// a batch with cash lines stays released).
fn close(run: &Run<'_>, batch: BatchId) -> bool {
    run.submit_as_checker(Command::CloseBatch(CloseBatch { batch }))
        .is_ok()
}

/// CPU time this process used so far, user and system, in milliseconds.
fn cpu_ms() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let ms = |t: libc::timeval| t.tv_sec as u64 * 1000 + t.tv_usec as u64 / 1000;
    ms(usage.ru_utime) + ms(usage.ru_stime)
}

/// Opens the ledger in this process and measures it (what `chitra bench open` prints).
pub fn measure_open(dir: &Path) -> anyhow::Result<OpenFigures> {
    let started = Instant::now();
    let ledger = Ledger::open(Config::new(dir))?;
    let open_ms = started.elapsed().as_millis() as u64;
    Ok(OpenFigures {
        open_ms,
        cpu_ms: cpu_ms(),
        rss_bytes: super::rss_bytes().unwrap_or(0),
        anon_rss_bytes: super::anon_rss_bytes().unwrap_or(0),
        peak_rss_bytes: super::peak_rss_bytes().unwrap_or(0),
        records: ledger.read(|s| s.applied())?,
        snapshot_records: ledger.opening().snapshot_records,
    })
}

/// Runs `chitra bench open` on `dir` in a fresh process, so its memory is the opening's alone.
fn open_in_child(dir: &Path) -> anyhow::Result<OpenFigures> {
    let out = std::process::Command::new(std::env::current_exe()?)
        .arg("--data-dir")
        .arg(dir)
        .args(["--json", "bench", "open"])
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "reopening failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Bytes under `dir`, files only.
fn dir_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            Ok(_) => e.metadata().map(|m| m.len()).unwrap_or(0),
            Err(_) => 0,
        })
        .sum()
}
