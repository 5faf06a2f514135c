//! Benchmarks run from the CLI (`chitra bench ...`): the append path through the real writer
//! with concurrent submitters, and whole-chain verification. They print events per second and
//! peak memory; figures go in issue notes, never into test assertions.

pub mod crash;
pub mod monthly;
pub mod proofs;
pub mod web;
pub mod years;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::domain::types::Principal;
use crate::domain::{Command, Rejection};
use crate::ledger::{Ledger, Submission, SubmitError};

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    status_bytes("VmHWM:")
}

/// Current resident memory of this process in bytes (Linux `VmRSS`), if known.
pub fn rss_bytes() -> Option<u64> {
    status_bytes("VmRSS:")
}

/// Resident memory that is the process's own (Linux `RssAnon`): not counting the pages of files
/// it maps (the binary, the payment rows and histories), which the kernel can drop and read again.
pub fn anon_rss_bytes() -> Option<u64> {
    status_bytes("RssAnon:")
}

/// Resets this process's peak resident memory to what it holds now (Linux `clear_refs` 5), so
/// that the next peak read is the peak since now.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Runs `f` with the peak reset as it starts: its result, and the highest resident memory while
/// it ran (what was resident before included).
pub fn peak_of<T>(f: impl FnOnce() -> T) -> (T, u64) {
    reset_peak_rss();
    let out = f();
    (out, peak_rss_bytes().unwrap_or(0))
}

/// The peak resident memory of each step of a run, in order: the peak is reset to what is
/// resident as each step starts, so a step's figure is the highest the process held while that
/// step ran (what earlier steps left resident included).
#[derive(Debug, Clone, Default)]
pub struct StepPeaks(pub Vec<(String, u64)>);

impl StepPeaks {
    /// Starts measuring the first step.
    pub fn start() -> StepPeaks {
        reset_peak_rss();
        StepPeaks::default()
    }

    /// Ends the step `name` (the one measured since the last call) and starts the next.
    pub fn end(&mut self, name: &str) {
        self.record(name, peak_rss_bytes().unwrap_or(0));
    }

    /// Records a step measured apart (`peak_of`) and starts the next.
    pub fn record(&mut self, name: &str, bytes: u64) {
        assert!(
            !name.contains(STEP_SEPARATOR),
            "{name:?} would split the line"
        );
        self.0.push((name.into(), bytes));
        reset_peak_rss();
    }

    /// The highest of the steps' peaks: the run's own.
    pub fn max(&self) -> Option<u64> {
        self.0.iter().map(|(_, b)| *b).max()
    }

    /// One line: each step and its peak in MiB.
    pub fn line(&self) -> String {
        let step = |(name, bytes): &(String, u64)| format!("{name} {:.0}", *bytes as f64 / MIB);
        let steps: Vec<String> = self.0.iter().map(step).collect();
        format!("peak memory by step (MiB): {}", steps.join(STEP_SEPARATOR))
    }
}

/// Between two steps of the line `StepPeaks::line` prints.
const STEP_SEPARATOR: &str = ", ";

const MIB: f64 = (1 << 20) as f64;

/// A memory figure of `/proc/self/status` (given in KiB), in bytes.
fn status_bytes(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

pub struct AppendOptions {
    /// Events to append; each synthetic person is two (enrolment and entitlement grant).
    pub events: u64,
    pub submitters: usize,
    /// Commands per submission job.
    pub chunk: usize,
    pub seed: u64,
    /// Print `ack <last seq> <hash>` for every acknowledged command (crash tests read it).
    pub print_acks: bool,
    /// Also import one roster of this many new people, as one command, alongside the
    /// enrolments (its acknowledgement ends with ` roster`); 0 for none.
    pub roster_rows: u64,
    /// Whether the writer signs checkpoints (when the data directory has a key).
    pub checkpoints: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct AppendReport {
    pub events: u64,
    pub commands: u64,
    pub elapsed: Duration,
    pub peak_rss_bytes: Option<u64>,
}

impl AppendReport {
    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Appends synthetic enrolments with entitlements through `ledger`'s writer. The commands are
/// generated before the clock starts, so the figure is the ledger's, not the generator's.
pub fn append(
    ledger: &Ledger,
    opts: &AppendOptions,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<AppendReport> {
    let persons = opts.events.div_ceil(2);
    let start = ledger.read(|s| s.beneficiary_count())? as u64;
    let principal = Principal::parse("officer:bench").expect("valid principal");
    let chunk = opts.chunk.max(1) as u64;
    let jobs: Vec<Vec<Submission>> = (0..persons.div_ceil(chunk))
        .map(|j| {
            (j * chunk..((j + 1) * chunk).min(persons))
                .map(|i| Submission {
                    principal: principal.clone(),
                    idempotency_key: None,
                    command: Command::Enrol(crate::dev::synth::person(opts.seed, start + i)),
                })
                .collect()
        })
        .collect();
    let mut jobs = jobs;
    if opts.roster_rows > 0 {
        // People after the enrolments' range: `start` counts everyone enrolled, so with the
        // same --events every run these were never enrolled, whatever an interrupted run did.
        let first = start + persons;
        let rows = (first..first + opts.roster_rows)
            .map(|i| (i - first + 2, crate::dev::synth::person(opts.seed, i)))
            .collect();
        let roster = Submission {
            principal: principal.clone(),
            idempotency_key: None,
            command: Command::ImportRoster(crate::domain::command::ImportRoster {
                rows,
                payees: Vec::new(),
            }),
        };
        // After a few enrolments, so that acknowledgements are flowing when it starts (the
        // crash loop kills at a random moment after the first one).
        let at = jobs.len().min(opts.submitters.max(1) * 2);
        jobs.insert(at, vec![roster]);
    }
    let jobs = std::sync::Mutex::new(jobs.into_iter());
    let appended = AtomicU64::new(0);
    let commands = AtomicU64::new(0);
    let started = Instant::now();
    let stdout = std::io::stdout();
    std::thread::scope(|s| -> anyhow::Result<()> {
        let workers: Vec<_> = (0..opts.submitters.max(1))
            .map(|_| {
                s.spawn(|| -> anyhow::Result<()> {
                    loop {
                        let Some(subs) = jobs.lock().expect("jobs lock").next() else {
                            return Ok(());
                        };
                        commands.fetch_add(subs.len() as u64, Ordering::Relaxed);
                        let mut events = 0;
                        let mut acks = String::new();
                        let roster = subs
                            .first()
                            .is_some_and(|s| matches!(s.command, Command::ImportRoster(_)));
                        for r in ledger.submit_many(subs) {
                            // A person enrolled by an earlier, interrupted run is skipped, and
                            // so is a roster naming one.
                            let receipt = match r {
                                Err(SubmitError::Rejected(Rejection::AlreadyEnrolled {
                                    ..
                                })) => continue,
                                Err(SubmitError::Rejected(e)) if roster => {
                                    eprintln!("the roster was refused: {e}");
                                    continue;
                                }
                                other => other?,
                            };
                            events += u64::from(receipt.count);
                            if opts.print_acks {
                                let last = receipt.last_seq().unwrap_or(receipt.first_seq);
                                acks.push_str(&format!(
                                    "ack {last} {}{}\n",
                                    crate::chain::hex(&receipt.hash),
                                    if roster { " roster" } else { "" }
                                ));
                            }
                        }
                        if opts.print_acks {
                            let mut out = stdout.lock();
                            out.write_all(acks.as_bytes())?;
                            out.flush()?;
                        }
                        progress(appended.fetch_add(events, Ordering::Relaxed) + events);
                    }
                })
            })
            .collect();
        for w in workers {
            w.join().expect("submitter panicked")?;
        }
        Ok(())
    })?;
    Ok(AppendReport {
        events: appended.load(Ordering::Relaxed),
        commands: commands.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Phases of the monthly-run benchmark and how long each took.
#[derive(Debug, Clone, Default)]
pub struct BatchReport {
    pub persons: u64,
    pub payments: u64,
    pub enrol: Duration,
    pub compute: Duration,
    pub append: Duration,
    pub approve: Duration,
    pub release_and_files: Duration,
    pub files: usize,
    pub file_bytes: u64,
    pub status_lines: u64,
    pub status: Duration,
    /// The department's figures over the whole run (`chitra figures`, `GET /v1/figures`):
    /// as of now, as of a day (the binary search over record times), the JSON the API sends,
    /// and the calendar with its dated deadlines.
    pub figures: Duration,
    pub figures_as_of: Duration,
    pub figures_json_bytes: usize,
    pub figures_json: Duration,
    pub calendar: Duration,
    /// How the figures as of today split: the binary search for the day's last record, the
    /// chain read as stored (bytes, parse, hash), the report index's seqs
    /// (`ledger::report_index`, `figures_indexed` of them), the pass over those records into
    /// `reports::AsOf`, the same pass over every record before the index
    /// (`figures_pass_whole_chain`), and the counting over the state; over `figures_records`
    /// records.
    pub figures_search: Duration,
    pub figures_read: Duration,
    pub figures_index: Duration,
    pub figures_indexed: u64,
    pub figures_pass: Duration,
    pub figures_pass_whole_chain: Duration,
    pub figures_count: Duration,
    pub figures_records: u64,
    pub peak_rss_bytes: Option<u64>,
    /// The peak of each step, the bank's simulated reports among them.
    pub step_peaks: StepPeaks,
}

/// "A national monthly run" on this machine: enrol `persons` BTXH beneficiaries, then compute,
/// approve and release one monthly batch with its files for every bank, then ingest the banks'
/// status reports with 1% returned. Timed phase by phase (`monthly::Run` does each phase).
pub fn monthly_run(
    ledger: &Ledger,
    persons: u64,
    seed: u64,
    progress: &dyn Fn(&str),
) -> anyhow::Result<BatchReport> {
    let run = monthly::Run::new(ledger);
    let month = crate::domain::types::Month::parse("2024-08").expect("valid");
    let mut report = BatchReport {
        persons,
        ..BatchReport::default()
    };
    progress("loading rate schedules");
    run.load_rates()?;
    progress("enrolling");
    let mut peaks = StepPeaks::start();
    let started = Instant::now();
    run.enrol(persons, seed, month)?;
    report.enrol = started.elapsed();
    peaks.end("enrol");
    let batch = run.open(month)?;
    progress("computing");
    let started = Instant::now();
    let (target, payments) = run.compute(batch)?;
    report.compute = started.elapsed();
    report.payments = payments.len() as u64;
    peaks.end("compute");
    progress("appending the payment lines");
    let started = Instant::now();
    let before = ledger.metrics();
    run.append(batch, target, payments)?;
    report.append = started.elapsed();
    peaks.end("append");
    let after = ledger.metrics();
    progress(&format!(
        "  append: decide+apply+encode {:.2} s, store write+flush {:.2} s",
        (after.decide_nanos - before.decide_nanos) as f64 / 1e9,
        (after.store_nanos - before.store_nanos) as f64 / 1e9
    ));
    let started = Instant::now();
    run.approve(batch)?;
    report.approve = started.elapsed();
    peaks.end("approve");
    progress("releasing and writing the payment files");
    let started = Instant::now();
    let files = run.release(batch)?;
    report.release_and_files = started.elapsed();
    report.files = files.len();
    report.file_bytes = files.iter().map(|f| f.bytes).sum();
    peaks.end("release");
    progress("ingesting bank status");
    (report.status_lines, report.status) = run.banks_answer(&files, &mut peaks)?;
    progress("the department's figures");
    let started = Instant::now();
    let figures = crate::app::reports::figures(ledger, None)?;
    report.figures = started.elapsed();
    let today = crate::ledger::local_date(ledger.now_ms());
    let started = Instant::now();
    crate::app::reports::figures(ledger, Some(today))?;
    report.figures_as_of = started.elapsed();
    let started = Instant::now();
    report.figures_json_bytes = serde_json::to_vec(&figures)?.len();
    report.figures_json = started.elapsed();
    let started = Instant::now();
    crate::app::reports::calendar(ledger, &crate::app::reports::PROGRAMMES, today)?;
    report.calendar = started.elapsed();
    figures_split(ledger, today, &mut report)?;
    progress(&format!(
        "  figures as of today: find the day {:.3} s; over {} records: read as stored {:.2} s; report index {:.3} s ({} records), those decoded and folded {:.2} s (the whole chain decoded and folded, without the index: {:.2} s); count over the state {:.2} s",
        report.figures_search.as_secs_f64(),
        report.figures_records,
        report.figures_read.as_secs_f64(),
        report.figures_index.as_secs_f64(),
        report.figures_indexed,
        report.figures_pass.as_secs_f64(),
        report.figures_pass_whole_chain.as_secs_f64(),
        report.figures_count.as_secs_f64()
    ));
    peaks.end("figures");
    report.peak_rss_bytes = peaks.max();
    report.step_peaks = peaks;
    Ok(report)
}

/// Times the steps of `reports::figures` as of `day` one by one (see `BatchReport`).
fn figures_split(
    ledger: &Ledger,
    day: crate::domain::types::Date,
    report: &mut BatchReport,
) -> anyhow::Result<()> {
    use crate::app::reports::{compute, known_at, AsOf};
    let started = Instant::now();
    let known = known_at(ledger, day)?;
    report.figures_search = started.elapsed();
    report.figures_records = known;
    let started = Instant::now();
    for r in ledger.records(0, known) {
        r?;
    }
    report.figures_read = started.elapsed();
    let started = Instant::now();
    let seqs = ledger.report_seqs(known)?;
    report.figures_index = started.elapsed();
    report.figures_indexed = seqs.len() as u64;
    let started = Instant::now();
    let mut as_of = AsOf::default();
    ledger.events_at(&seqs, |_, e| as_of.see(e))?;
    report.figures_pass = started.elapsed();
    let started = Instant::now();
    let whole = AsOf::read_whole_chain(ledger, known)?;
    report.figures_pass_whole_chain = started.elapsed();
    anyhow::ensure!(
        whole == as_of,
        "the figures' pass through the report index differs from the pass over the whole chain"
    );
    let started = Instant::now();
    let reference = crate::formats::reference::Reference::embedded();
    ledger.read(|st| compute(st, known, &as_of, reference))?;
    report.figures_count = started.elapsed();
    Ok(())
}
