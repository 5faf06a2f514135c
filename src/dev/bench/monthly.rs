//! The phases of a monthly run, one function each, shared by the benchmarks that pay months:
//! load the rate schedules, enrol synthetic people, open, compute, approve and release a batch,
//! play the banks, and ingest their reports. Every step goes through the same workflow as the
//! CLI and the API, as the principals the ledger's table requires.

use std::time::{Duration, Instant};

use super::{peak_of, StepPeaks};
use crate::app::batches::{self, IssuedSummary};
use crate::domain::batch::compute::Target;
use crate::domain::command::*;
use crate::domain::event::{BatchKind, Channel, FileFormat};
use crate::domain::types::{BankBin, BatchId, Month, Principal, Programme};
use crate::domain::{Command, Rejection};
use crate::formats::bank::{self as files, IsoDateTime, Outcome};
use crate::ledger::{Ledger, Receipt, Submission, SubmitError};

/// Enrolments per submission job.
const ENROL_CHUNK_PERSONS: u64 = 2048;

/// One bank's status report on its file, with who posts it.
pub struct BankReport {
    pub bank: Principal,
    pub bytes: Vec<u8>,
    pub lines: u64,
}

/// The actors of a monthly run on one ledger.
pub struct Run<'l> {
    ledger: &'l Ledger,
    settings: crate::app::config::Settings,
    admin: Principal,
    officer: Principal,
    maker: Principal,
    checker: Principal,
}

fn principal(text: &str) -> Principal {
    Principal::parse(text).expect("a valid principal")
}

impl<'l> Run<'l> {
    pub fn new(ledger: &'l Ledger) -> Run<'l> {
        Run {
            ledger,
            settings: crate::dev::config::demo_settings(
                crate::domain::types::ProvinceCode::parse("01").expect("a province code"),
            ),
            admin: principal("admin:bench"),
            officer: principal("officer:bench"),
            maker: principal("maker:bench-maker"),
            // Another person than the maker: four eyes compare persons, not roles.
            checker: principal("checker:bench-checker"),
        }
    }

    fn submit(&self, who: &Principal, command: Command) -> anyhow::Result<Receipt> {
        Ok(self.ledger.submit(Submission {
            principal: who.clone(),
            idempotency_key: None,
            command,
        })?)
    }

    /// Every rate schedule the binary carries (loading twice appends nothing).
    pub fn load_rates(&self) -> anyhow::Result<()> {
        self.load_rates_where(|_| true)
    }

    /// The rate schedules the binary carries whose id `keep` accepts.
    pub fn load_rates_where(&self, keep: impl Fn(&str) -> bool) -> anyhow::Result<()> {
        for s in crate::formats::reference::rates::embedded()? {
            if keep(&s.schedule) {
                self.submit(&self.admin, Command::EnactRateSchedule(s))?;
            }
        }
        Ok(())
    }

    /// Submits a case officer's command (a death, a correction).
    pub fn submit_as_officer(&self, command: Command) -> anyhow::Result<Receipt> {
        self.submit(&self.officer, command)
    }

    /// Submits a checker's command (closing a reconciled batch).
    pub fn submit_as_checker(&self, command: Command) -> anyhow::Result<Receipt> {
        self.submit(&self.checker, command)
    }

    /// `persons` more synthetic people, each with a severe-disability BTXH allowance from
    /// `month`; born by the month before, so no decision predates a birth.
    pub fn enrol(&self, persons: u64, seed: u64, month: Month) -> anyhow::Result<()> {
        let start = self.ledger.read(|s| s.beneficiary_count())? as u64;
        for from in (0..persons).step_by(ENROL_CHUNK_PERSONS as usize) {
            let to = (from + ENROL_CHUNK_PERSONS).min(persons);
            let subs = (from..to)
                .map(|i| self.enrolment(seed, start + i, month))
                .collect();
            for r in self.ledger.submit_many(subs) {
                match r {
                    Ok(_) | Err(SubmitError::Rejected(Rejection::AlreadyEnrolled { .. })) => {}
                    Err(e) => return Err(e.into()),
                }
            }
        }
        Ok(())
    }

    fn enrolment(&self, seed: u64, i: u64, month: Month) -> Submission {
        let mut e = crate::dev::synth::person_as_of(seed, i, month.prev());
        e.programme = Programme::Btxh;
        for ent in &mut e.entitlements {
            ent.programme = Programme::Btxh;
            ent.scheme = "btxh.disability_severe".into();
            ent.params = vec![];
            ent.effective_from = month;
            ent.decision.date = ent.decision.date.min(month.first_day());
        }
        Submission {
            principal: self.officer.clone(),
            idempotency_key: None,
            command: Command::Enrol(e),
        }
    }

    /// Opens the regular BTXH batch of `month`.
    pub fn open(&self, month: Month) -> anyhow::Result<BatchId> {
        self.submit(
            &self.maker,
            Command::OpenBatch(OpenBatch {
                programme: Programme::Btxh,
                month,
                funding_account: "3761000000002".into(),
                kind: BatchKind::Regular,
            }),
        )?;
        Ok(self.ledger.read(|s| BatchId(s.next_batch_id().0 - 1))?)
    }

    /// The batch's lines, computed on all cores (not yet appended).
    pub fn compute(&self, batch: BatchId) -> anyhow::Result<(Target, Vec<NewPayment>)> {
        let (target, mut plan) = batches::compute_consistent(self.ledger, batch)?;
        Ok((target, std::mem::take(&mut plan.payments)))
    }

    /// Appends the computed lines as the maker.
    pub fn append(
        &self,
        batch: BatchId,
        target: Target,
        payments: Vec<NewPayment>,
    ) -> anyhow::Result<Receipt> {
        self.submit(
            &self.maker,
            Command::ComputeBatch(ComputeBatch {
                batch,
                basis_seq: target.known_at,
                payments,
            }),
        )
    }

    /// Approves what was computed, as the checker.
    pub fn approve(&self, batch: BatchId) -> anyhow::Result<Receipt> {
        let c = self
            .ledger
            .read(|s| s.batch(batch).and_then(|b| b.computed.clone()))?
            .ok_or_else(|| anyhow::anyhow!("{batch} is not computed"))?;
        self.submit(
            &self.checker,
            Command::ApproveBatch(ApproveBatch {
                batch,
                content_hash: c.content_hash,
                totals: c.totals,
            }),
        )
    }

    /// Releases the batch with its files, as the checker.
    pub fn release(&self, batch: BatchId) -> anyhow::Result<Vec<IssuedSummary>> {
        Ok(batches::release(self.ledger, &self.settings, &self.checker, None, batch)?.files)
    }

    /// Each bank's answer to its pain.001: about 1% returned (AC04), the rest settled.
    pub fn bank_reports(&self, issued: &[IssuedSummary]) -> anyhow::Result<Vec<BankReport>> {
        bank_files(issued)
            .map(|(bin, f)| self.bank_report(bin, f))
            .collect()
    }

    /// One bank's answer to its pain.001 (`bank_reports`).
    fn bank_report(&self, bin: BankBin, f: &IssuedSummary) -> anyhow::Result<BankReport> {
        let created = IsoDateTime::parse("2024-08-05T16:00:00+07:00").expect("valid");
        let pain001 = self.ledger.file_bytes(&f.digest)?.expect("kept");
        let (r, lines) =
            files::simulate_for_pain001(&pain001, &format!("STS-{}", f.name), created, |tx| {
                match blake3::hash(tx.end_to_end_id.as_bytes()).as_bytes()[0] < 3 {
                    true => Outcome::Rejected {
                        reason_code: "AC04".into(),
                    },
                    false => Outcome::Settled,
                }
            })
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        // The largest bank's pain.001 is hundreds of megabytes at a million people: let it go
        // before the report is written, as a bank would.
        drop(pain001);
        Ok(BankReport {
            bank: principal(&format!("bank:{bin}")),
            lines: lines.len() as u64,
            bytes: files::simulate_pain002(&r, &lines),
        })
    }

    /// Each bank posts its own report, as itself.
    pub fn ingest(&self, reports: &[BankReport]) -> anyhow::Result<()> {
        for r in reports {
            batches::ingest_status(self.ledger, &r.bank, None, &r.bytes)?;
        }
        Ok(())
    }

    /// The banks answer one after the other, each posting its report before the next bank
    /// reads its file, as banks post to the server: a report is in this process's memory
    /// only while it is made and ingested, never every bank's at once. Returns the lines
    /// answered and the time spent ingesting; records two steps in `peaks`, the highest while a
    /// simulated bank made its report (reading its whole pain.001, which a bank does on its own
    /// machine) and the highest while the ledger ingested one, so the ledger's figure is its own.
    pub fn banks_answer(
        &self,
        issued: &[IssuedSummary],
        peaks: &mut StepPeaks,
    ) -> anyhow::Result<(u64, Duration)> {
        let (mut lines, mut ingesting) = (0, Duration::ZERO);
        let (mut banks_peak, mut ingest_peak) = (0, 0);
        for (bin, f) in bank_files(issued) {
            let (report, peak) = peak_of(|| self.bank_report(bin, f));
            let report = report?;
            banks_peak = banks_peak.max(peak);
            lines += report.lines;
            let started = Instant::now();
            let (ingested, peak) = peak_of(|| self.ingest(std::slice::from_ref(&report)));
            ingested?;
            ingest_peak = ingest_peak.max(peak);
            ingesting += started.elapsed();
        }
        peaks.record("the simulated banks' reports", banks_peak);
        peaks.record("status ingestion", ingest_peak);
        Ok((lines, ingesting))
    }
}

/// The pain.001 files of a release, with their bank.
fn bank_files(issued: &[IssuedSummary]) -> impl Iterator<Item = (BankBin, &IssuedSummary)> {
    issued
        .iter()
        .filter(|f| f.format == FileFormat::Pain001V09)
        .filter_map(|f| match f.channel {
            Channel::Bank(bin) => Some((bin, f)),
            _ => None,
        })
}
