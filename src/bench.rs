//! Benchmarks run from the CLI (`chitra bench ...`): the append path through the real writer
//! with concurrent submitters, and whole-chain verification. They print events per second and
//! peak memory; figures go in issue notes, never into test assertions.

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
    let start = ledger.state().beneficiary_count() as u64;
    let principal = Principal::parse("bench").expect("valid principal");
    let chunk = opts.chunk.max(1) as u64;
    let jobs: Vec<Vec<Submission>> = (0..persons.div_ceil(chunk))
        .map(|j| {
            (j * chunk..((j + 1) * chunk).min(persons))
                .map(|i| Submission {
                    principal: principal.clone(),
                    idempotency_key: None,
                    command: Command::Enrol(crate::synth::person(opts.seed, start + i)),
                })
                .collect()
        })
        .collect();
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
                        for r in ledger.submit_many(subs) {
                            // A person enrolled by an earlier, interrupted run is skipped.
                            let receipt = match r {
                                Err(SubmitError::Rejected(Rejection::AlreadyEnrolled {
                                    ..
                                })) => continue,
                                other => other?,
                            };
                            events += u64::from(receipt.count);
                            if opts.print_acks {
                                let last = receipt.last_seq().unwrap_or(receipt.first_seq);
                                acks.push_str(&format!(
                                    "ack {last} {}\n",
                                    crate::chain::hex(&receipt.hash)
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
