//! The finance workflow around batches where one step takes more than one command or touches
//! files: computing a batch on all cores and submitting its lines, releasing it with its
//! payment files (bytes kept by the store, then the release and every file's hash recorded in
//! one command), downloading a file (recorded with who downloaded it), and ingesting a bank
//! status report. Each step has this one implementation, which the CLI and the HTTP API call.
//!
//! Every step is safe to repeat: a retry with the same idempotency key gets the first
//! attempt's receipt, computing an already computed batch is refused by `decide`, a release
//! either happened whole or not at all, and a status report already ingested appends nothing.

use super::config::Settings;
use super::payment_files;
use crate::chain::Hash;
use crate::domain::batch::compute::{compute_range, merge, BatchPlan, Target};
use crate::domain::command::*;
use crate::domain::event::{Channel, FileFormat};
use crate::domain::rules::RateBook;
use crate::domain::state::{BatchStatus, IssuedFile, State};
use crate::domain::types::{BatchId, FileId, Principal};
use crate::domain::Command;
use crate::formats::bank::{self as files};
use crate::ledger::{IdempotencyKey, Ledger, Receipt, Submission, SubmitError};

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("no batch {0}")]
    NoBatch(BatchId),
    #[error("no file {0}")]
    NoFile(FileId),
    #[error("{batch} was already released (seq {seq}); its files are listed by `files list --batch {batch}`")]
    AlreadyReleased { batch: BatchId, seq: u64 },
    #[error("the personal data of {0} was erased; it cannot be paid")]
    Erased(crate::domain::types::BeneficiaryId),
    #[error("{0} has a bank route but no account details")]
    NoAccount(crate::domain::types::BeneficiaryId),
    #[error("the bytes of {0} are missing from the store")]
    MissingBytes(FileId),
    /// The store and the state disagree: a fault of the machine or a bug, never the caller's.
    #[error("the ledger is inconsistent: {0}")]
    Inconsistent(String),
    #[error("writing a payment file: {0}")]
    File(#[from] files::SpecError),
    #[error("the status report cannot be read: {0}")]
    Status(#[from] files::StatusError),
    #[error("the status report is about {0:?}, which is none of our payment files")]
    UnknownReport(String),
    #[error(transparent)]
    Store(#[from] crate::ledger::StoreError),
    #[error(transparent)]
    Read(#[from] crate::ledger::ReadError),
    /// The configuration lacks what the step needs (e.g. a programme's paying department).
    #[error("nothing was released: {0}")]
    Config(#[from] super::config::MissingSetting),
}

fn submit(
    ledger: &Ledger,
    who: &Principal,
    key: Option<IdempotencyKey>,
    command: Command,
) -> Result<Receipt, SubmitError> {
    ledger.submit(Submission {
        principal: who.clone(),
        idempotency_key: key,
        command,
    })
}

/// What computing a batch did.
#[derive(Debug)]
pub struct Computed {
    pub receipt: Receipt,
    /// Everyone left out and why (`payments` is empty: they went into the chain). Empty on a
    /// replay.
    pub plan: BatchPlan,
    pub payments: usize,
}

/// Computes the batch on all cores from one consistent state and submits its lines. A retry
/// under the same idempotency key after the computation was recorded gets its receipt back
/// (marked replayed) instead of a refusal.
pub fn compute(
    ledger: &Ledger,
    who: &Principal,
    key: Option<IdempotencyKey>,
    batch: BatchId,
) -> Result<Computed, BatchError> {
    let found = ledger.read(|s| {
        s.batch(batch).map(|b| {
            (
                b.status,
                b.computed.as_ref().map(|c| c.basis_seq),
                b.payments.len(),
            )
        })
    })?;
    let (status, basis, payments) = found.ok_or(BatchError::NoBatch(batch))?;
    if let (Some(key), Some(basis), false) = (&key, basis, status == BatchStatus::Open) {
        if let Some(receipt) = earlier_computation(ledger, who, key, batch, basis, payments)? {
            return Ok(Computed {
                receipt,
                plan: BatchPlan::default(),
                payments,
            });
        }
    }
    let (target, mut plan) = if status == BatchStatus::Open {
        compute_consistent(ledger, batch)?
    } else {
        // Let the ledger say why, without computing for nothing.
        let target = ledger
            .read_unconfirmed(|s| Target::of(s, batch))
            .into_basis()
            .ok_or(BatchError::NoBatch(batch))?;
        (target, BatchPlan::default())
    };
    let payments = std::mem::take(&mut plan.payments);
    let count = payments.len();
    let receipt = submit(
        ledger,
        who,
        key,
        Command::ComputeBatch(ComputeBatch {
            batch,
            basis_seq: target.known_at,
            payments,
        }),
    )?;
    Ok(Computed {
        receipt,
        plan,
        payments: count,
    })
}

/// Records after a computation's basis that are searched for its first record.
const COMPUTE_SEARCH_RECORDS_MAX: u64 = 100_000;

/// The receipt of this batch's computation when `who` recorded it under `key`: where its
/// records start (the first `PaymentScheduled`, or the `BatchComputed` of an empty batch, at or
/// after its basis) and that they carry the key.
fn earlier_computation(
    ledger: &Ledger,
    who: &Principal,
    key: &IdempotencyKey,
    batch: BatchId,
    basis: u64,
    payments: usize,
) -> Result<Option<Receipt>, BatchError> {
    use crate::domain::event::Event;
    let first = ledger.find_event(basis, basis + COMPUTE_SEARCH_RECORDS_MAX, |e| match e {
        Event::PaymentScheduled(p) => p.batch == batch,
        Event::BatchComputed(c) => c.batch == batch,
        _ => false,
    })?;
    let Some(first) = first else { return Ok(None) };
    let count = u32::try_from(payments + 1).unwrap_or(u32::MAX);
    Ok(ledger.receipt_of(first.seq, count, who, key)?)
}

/// Optimistic attempts before a computation holds the read lock from start to end.
const COMPUTE_OPTIMISTIC_ATTEMPTS: usize = 2;
/// Beneficiaries computed under one hold of the read lock.
const COMPUTE_CHUNK_PERSONS: usize = 16_384;

/// Computes a batch from one consistent state without holding the state for the whole
/// computation: chunk by chunk, letting readers and the writer in between, then checking that
/// nothing a computation reads changed meanwhile (`State::money_seq`). If something did, it
/// tries again, and on a busy ledger finally holds the read lock throughout. The state is read
/// as the writer applied it: the computation is a command's basis, which the writer checks.
pub fn compute_consistent(
    ledger: &Ledger,
    batch: BatchId,
) -> Result<(Target, BatchPlan), BatchError> {
    for _ in 0..COMPUTE_OPTIMISTIC_ATTEMPTS {
        let (target, money, n) = ledger
            .read_unconfirmed(|s| {
                Target::of(s, batch).map(|t| (t, s.money_seq(), s.beneficiary_count()))
            })
            .into_basis()
            .ok_or(BatchError::NoBatch(batch))?;
        let parts = compute_in_chunks(ledger, target, n);
        if ledger.read_unconfirmed(|s| s.money_seq()).into_basis() == money {
            return Ok((target, merge(parts)));
        }
    }
    ledger
        .read_unconfirmed(|state| {
            let target = Target::of(state, batch).ok_or(BatchError::NoBatch(batch))?;
            Ok((target, compute_parallel(state, target)))
        })
        .into_basis()
}

/// Every beneficiary `0..n` computed on all cores, `COMPUTE_CHUNK_PERSONS` under one hold of
/// the read lock at a time; the parts in beneficiary order.
fn compute_in_chunks(ledger: &Ledger, target: Target, n: usize) -> Vec<BatchPlan> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let chunk = || {
        let mut mine = Vec::new();
        loop {
            let from = next.fetch_add(COMPUTE_CHUNK_PERSONS, std::sync::atomic::Ordering::Relaxed);
            if from >= n {
                return mine;
            }
            let to = (from + COMPUTE_CHUNK_PERSONS).min(n);
            let part = ledger
                .read_unconfirmed(|state| {
                    compute_range(state, &RateBook::new(state.schedules()), target, from..to)
                })
                .into_basis();
            mine.push((from, part));
        }
    };
    let mut parts: Vec<(usize, BatchPlan)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(chunk)).collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("compute thread"))
            .collect()
    });
    parts.sort_by_key(|(from, _)| *from);
    parts.into_iter().map(|(_, p)| p).collect()
}

/// The computation split over the machine's cores by beneficiary ranges, merged in order:
/// the same result as one thread.
pub fn compute_parallel(state: &State, target: Target) -> BatchPlan {
    let rates = RateBook::new(state.schedules());
    let n = state.beneficiary_count();
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .clamp(1, 8);
    let per = n.div_ceil(threads).max(1);
    let parts = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let rates = &rates;
                s.spawn(move || {
                    compute_range(state, rates, target, t * per..((t + 1) * per).min(n))
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("compute thread"))
            .collect()
    });
    merge(parts)
}

/// One file issued (or found already issued) for a released batch.
#[derive(Debug, Clone)]
pub struct IssuedSummary {
    pub name: String,
    pub channel: Channel,
    pub format: FileFormat,
    pub digest: Hash,
    pub bytes: u64,
    pub totals: crate::domain::event::ControlTotals,
}

/// What releasing a batch did: the receipt of the release and its files' records, and the
/// files.
#[derive(Debug)]
pub struct Released {
    pub receipt: Receipt,
    pub files: Vec<IssuedSummary>,
}

/// Releases an approved batch with all its payment files, in one step: every file is built
/// from the state and its bytes made durable, then one command releases the batch and records
/// every file's hash. If a file cannot be built, or any payee's route, account or identity
/// changed since the computation, nothing is recorded and the batch stays approved (and can be
/// cancelled). A retry under the same idempotency key gets the first release's receipt; any
/// other attempt on a released batch is refused.
pub fn release(
    ledger: &Ledger,
    settings: &Settings,
    who: &Principal,
    key: Option<IdempotencyKey>,
    batch: BatchId,
) -> Result<Released, BatchError> {
    let found = ledger.read(|s| {
        s.batch(batch)
            .map(|b| (b.status, b.released_seq, b.files.len()))
    })?;
    let (status, released_seq, files) = found.ok_or(BatchError::NoBatch(batch))?;
    if let Some(seq) = released_seq {
        return already_released(ledger, who, key.as_ref(), batch, seq, files);
    }
    // Only an approved batch gets files built; for any other the ledger says why it cannot
    // be released.
    let (summaries, files) = match status {
        BatchStatus::Approved => build_and_keep_files(ledger, settings, batch)?,
        _ => (Vec::new(), Vec::new()),
    };
    let receipt = submit(
        ledger,
        who,
        key,
        Command::ReleaseBatch(ReleaseBatch { batch, files }),
    )?;
    Ok(Released {
        receipt,
        files: summaries,
    })
}

/// A released batch: the first release's receipt for a retry under its key, else a refusal.
fn already_released(
    ledger: &Ledger,
    who: &Principal,
    key: Option<&IdempotencyKey>,
    batch: BatchId,
    seq: u64,
    files: usize,
) -> Result<Released, BatchError> {
    let count = u32::try_from(files + 1).unwrap_or(u32::MAX);
    let replay = match key {
        Some(key) => ledger.receipt_of(seq, count, who, key)?,
        None => None,
    };
    match replay {
        Some(receipt) => Ok(Released {
            receipt,
            files: ledger.read(|s| issued_summaries(s, batch))?,
        }),
        None => Err(BatchError::AlreadyReleased { batch, seq }),
    }
}

/// Every file of an approved batch, built from the state when the ledger's own check says the
/// batch may be released now (so a changed route is refused as such rather than met as a
/// missing account while the files are built), and written straight into the store as it is
/// built (`store::FileWriter`), so that a national batch's files are never in memory; every
/// file is kept, and its name synced, before the release records any of them.
fn build_and_keep_files(
    ledger: &Ledger,
    settings: &Settings,
    batch: BatchId,
) -> Result<(Vec<IssuedSummary>, Vec<NewPaymentFile>), BatchError> {
    let created_at = payment_files::local_time(ledger.now_ms());
    let release = ledger.read(|s| {
        crate::domain::batch::releasable(s, batch).map_err(|r| BatchError::Submit(r.into()))?;
        payment_files::release(s, settings, batch, created_at)
    })??;
    let (mut summaries, mut files) = (Vec::new(), Vec::new());
    let new_file = || ledger.new_file();
    release.build_in_groups(
        settings,
        payment_files::RELEASE_GROUP_LINES_MAX,
        &new_file,
        |group| {
            // Each file was synced as it was kept; their names are durable with the directory.
            ledger.sync_files()?;
            for f in group {
                summaries.push(IssuedSummary {
                    name: f.name.clone(),
                    channel: f.channel,
                    format: f.format,
                    digest: f.digest,
                    bytes: f.bytes,
                    totals: f.totals,
                });
                files.push(NewPaymentFile {
                    channel: f.channel,
                    pay_point: f.pay_point,
                    format: f.format,
                    name: f.name,
                    digest: f.digest,
                    bytes: f.bytes,
                    totals: f.totals,
                });
            }
            Ok(())
        },
    )?;
    Ok((summaries, files))
}

/// The files recorded for a batch, as a release reports them.
fn issued_summaries(state: &State, batch: BatchId) -> Vec<IssuedSummary> {
    let Some(b) = state.batch(batch) else {
        return Vec::new();
    };
    b.files
        .iter()
        .filter_map(|f| state.file(*f))
        .map(|f| IssuedSummary {
            name: f.issued.name.clone(),
            channel: f.issued.channel,
            format: f.issued.format,
            digest: f.issued.digest,
            bytes: f.issued.bytes,
            totals: f.issued.totals,
        })
        .collect()
}

/// A file's bytes, checked against the hash the chain recorded, with the download recorded
/// (and who downloaded it, as the record's principal).
pub fn download(
    ledger: &Ledger,
    who: &Principal,
    file: FileId,
) -> Result<(IssuedFile, Vec<u8>), BatchError> {
    let issued = ledger
        .read(|s| s.file(file).cloned())?
        .ok_or(BatchError::NoFile(file))?;
    let bytes = ledger
        .file_bytes(&issued.issued.digest)?
        .ok_or(BatchError::MissingBytes(file))?;
    let digest = *blake3::hash(&bytes).as_bytes();
    submit(
        ledger,
        who,
        None,
        Command::RecordFileDownload(RecordFileDownload { file, digest }),
    )?;
    Ok((issued, bytes.to_vec()))
}

/// What ingesting a status report did.
#[derive(Debug, Clone)]
pub struct Ingested {
    pub receipt: Receipt,
    pub lines: usize,
    pub channel: Channel,
    /// False when the same file was ingested before (nothing appended).
    pub new: bool,
    /// Reconciliation breaks the report opened.
    pub breaks: usize,
}

/// The reason recorded for each payment of a file rejected as a whole without a reason code:
/// ISO's "narrative" code, since the bank gave no other.
pub const WHOLE_FILE_REASON_DEFAULT: &str = "NARR";

/// Parses a bank status report (pain.002.001.10 or the status CSV), finds which of our files it
/// reports on, and submits its lines. The ledger checks that the report touches only payments
/// of that file's bank, and that a bank reports only on its own files.
pub fn ingest_status(
    ledger: &Ledger,
    who: &Principal,
    key: Option<IdempotencyKey>,
    bytes: &[u8],
) -> Result<Ingested, BatchError> {
    let report = files::parse_status_report(bytes, &files::StatusLimits::default())?;
    let original = report.original_message_id.clone();
    let (file, channel) = ledger
        .read(|s| {
            s.files()
                .iter()
                .find(|f| {
                    f.issued.name.rsplit_once('.').map(|(stem, _)| stem) == Some(original.as_str())
                })
                .map(|f| (f.issued.file, f.issued.channel))
        })?
        .ok_or(BatchError::UnknownReport(original))?;
    let file_rejected = (report.group_status.as_deref() == Some("RJCT")).then(|| {
        report
            .group_reason_code
            .clone()
            .unwrap_or_else(|| WHOLE_FILE_REASON_DEFAULT.to_owned())
    });
    let lines: Vec<ReportedLine> = report
        .lines
        .iter()
        .map(|l| ReportedLine {
            end_to_end_id: l.end_to_end_id.clone(),
            outcome: match &l.outcome {
                files::Outcome::Settled => ReportedOutcome::Settled,
                files::Outcome::Pending => ReportedOutcome::Pending,
                files::Outcome::Rejected { reason_code } => ReportedOutcome::Rejected {
                    reason_code: reason_code.clone(),
                },
            },
            amount: l.amount,
        })
        .collect();
    let n = lines.len();
    let receipt = submit(
        ledger,
        who,
        key,
        Command::IngestStatusReport(IngestStatusReport {
            file,
            format: report.format,
            digest: *blake3::hash(bytes).as_bytes(),
            message_id: report.message_id,
            file_rejected,
            lines,
        }),
    )?;
    let breaks = ledger.read(|s| {
        s.breaks()
            .iter()
            .filter(|b| receipt.count > 0 && b.seq >= receipt.first_seq)
            .filter(|b| b.seq < receipt.first_seq + u64::from(receipt.count))
            .count()
    })?;
    Ok(Ingested {
        receipt,
        lines: n,
        channel,
        new: receipt.count > 0,
        breaks,
    })
}
