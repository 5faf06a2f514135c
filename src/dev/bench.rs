//! Benchmarks run from the CLI (`chitra bench ...`): the append path through the real writer
//! with concurrent submitters, and whole-chain verification. They print events per second and
//! peak memory; figures go in issue notes, never into test assertions.

pub mod crash;

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::domain::types::Principal;
use crate::domain::{Command, Rejection};
use crate::ledger::{Ledger, Submission, SubmitError};

/// Peak resident memory of this process in bytes (Linux `VmHWM`), if known.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
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
            command: Command::ImportRoster(crate::domain::command::ImportRoster { rows }),
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
    pub peak_rss_bytes: Option<u64>,
}

/// "A national monthly run" on this machine: enrol `persons` BTXH beneficiaries, then compute,
/// approve and release one monthly batch with its files for every bank, then ingest the banks'
/// status reports with 1% returned. Timed phase by phase.
pub fn monthly_run(
    ledger: &Ledger,
    persons: u64,
    seed: u64,
    progress: &dyn Fn(&str),
) -> anyhow::Result<BatchReport> {
    use crate::domain::command::*;
    use crate::domain::event::*;
    use crate::domain::types::*;
    let month = Month::parse("2024-08").expect("valid");
    let p = |s: &str| Principal::parse(s).expect("valid principal");
    let (admin, officer, maker, checker) = (
        p("admin:bench"),
        p("officer:bench"),
        p("maker:bench"),
        p("checker:bench"),
    );
    let submit = |who: &Principal, command: Command| -> anyhow::Result<crate::ledger::Receipt> {
        Ok(ledger.submit(Submission {
            principal: who.clone(),
            idempotency_key: None,
            command,
        })?)
    };
    let mut report = BatchReport {
        persons,
        ..BatchReport::default()
    };
    progress("loading rate schedules");
    for s in crate::formats::reference::rates::load_dir(std::path::Path::new("ledger-data/rates"))?
    {
        submit(&admin, Command::EnactRateSchedule(s))?;
    }
    progress("enrolling");
    let started = Instant::now();
    let start = ledger.read(|s| s.beneficiary_count())? as u64;
    let chunk = 2048u64;
    for from in (0..persons).step_by(chunk as usize) {
        let subs = (from..(from + chunk).min(persons))
            .map(|i| {
                // Born by the month before the batch, so the decision never predates a birth.
                let mut e = crate::dev::synth::person_as_of(seed, start + i, month.prev());
                e.programme = Programme::Btxh;
                for ent in &mut e.entitlements {
                    ent.programme = Programme::Btxh;
                    ent.scheme = "btxh.disability_severe".into();
                    ent.params = vec![];
                    ent.effective_from = month;
                    ent.decision.date = ent.decision.date.min(month.first_day());
                }
                Submission {
                    principal: officer.clone(),
                    idempotency_key: None,
                    command: Command::Enrol(e),
                }
            })
            .collect();
        for r in ledger.submit_many(subs) {
            match r {
                Ok(_) | Err(SubmitError::Rejected(Rejection::AlreadyEnrolled { .. })) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    report.enrol = started.elapsed();
    submit(
        &maker,
        Command::OpenBatch(OpenBatch {
            programme: Programme::Btxh,
            month,
            funding_account: "3761000000002".into(),
            kind: BatchKind::Regular,
        }),
    )?;
    let batch = ledger.read(|s| BatchId(s.next_batch_id().0 - 1))?;
    progress("computing");
    let started = Instant::now();
    let (target, mut plan) = crate::app::batches::compute_consistent(ledger, batch)?;
    report.compute = started.elapsed();
    let payments = std::mem::take(&mut plan.payments);
    report.payments = payments.len() as u64;
    progress("appending the payment lines");
    let started = Instant::now();
    let before = ledger.metrics();
    submit(
        &maker,
        Command::ComputeBatch(ComputeBatch {
            batch,
            basis_seq: target.known_at,
            payments,
        }),
    )?;
    report.append = started.elapsed();
    let after = ledger.metrics();
    progress(&format!(
        "  append: decide+apply+encode {:.2} s, store write+flush {:.2} s",
        (after.decide_nanos - before.decide_nanos) as f64 / 1e9,
        (after.store_nanos - before.store_nanos) as f64 / 1e9
    ));
    let started = Instant::now();
    let c = ledger
        .read(|s| s.batch(batch).and_then(|b| b.computed.clone()))?
        .expect("computed");
    submit(
        &checker,
        Command::ApproveBatch(ApproveBatch {
            batch,
            content_hash: c.content_hash,
            totals: c.totals,
        }),
    )?;
    report.approve = started.elapsed();
    progress("releasing and writing the payment files");
    let started = Instant::now();
    let files = crate::app::batches::release(ledger, &checker, None, batch)?.files;
    report.release_and_files = started.elapsed();
    report.files = files.len();
    report.file_bytes = files.iter().map(|f| f.bytes).sum();
    progress("ingesting bank status");
    let created =
        crate::formats::bank::IsoDateTime::parse("2024-08-05T16:00:00+07:00").expect("valid");
    let mut reports = Vec::new();
    for f in files.iter().filter(|f| f.format == FileFormat::Pain001V09) {
        let bytes = ledger.file_bytes(&f.digest)?.expect("kept");
        let (r, lines) = crate::formats::bank::simulate_for_pain001(
            &bytes,
            &format!("STS-{}", f.name),
            created,
            |tx| {
                if blake3::hash(tx.end_to_end_id.as_bytes()).as_bytes()[0] < 3 {
                    crate::formats::bank::Outcome::Rejected {
                        reason_code: "AC04".into(),
                    }
                } else {
                    crate::formats::bank::Outcome::Settled
                }
            },
        )
        .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        report.status_lines += lines.len() as u64;
        // Each bank reports on its own file, as itself.
        let crate::domain::event::Channel::Bank(bin) = f.channel else {
            continue;
        };
        reports.push((
            p(&format!("bank:{bin}")),
            crate::formats::bank::simulate_pain002(&r, &lines),
        ));
    }
    let started = Instant::now();
    for (bank, r) in &reports {
        crate::app::batches::ingest_status(ledger, bank, None, r)?;
    }
    report.status = started.elapsed();
    report.peak_rss_bytes = peak_rss_bytes();
    Ok(report)
}
