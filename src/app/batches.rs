//! The finance workflow around batches where one step takes more than one command or touches
//! files: computing a batch on all cores and submitting its lines, releasing it with its
//! payment files (bytes kept by the store, then the release and every file's hash recorded in
//! one command), downloading a file (recorded with who downloaded it), and ingesting a bank
//! status report. Each step has this one implementation, which the CLI and the HTTP API call.
//!
//! Every step is safe to repeat: a retry with the same idempotency key gets the first
//! attempt's receipt, computing an already computed batch is refused by `decide`, a release
//! either happened whole or not at all, and a status report already ingested appends nothing.

use std::collections::BTreeMap;

use crate::chain::Hash;
use crate::domain::batch::compute::{compute_range, merge, BatchPlan, Target};
use crate::domain::command::*;
use crate::domain::event::{Channel, FileFormat, Route};
use crate::domain::rules::RateBook;
use crate::domain::state::{BatchStatus, IssuedFile, State};
use crate::domain::types::{AccountNumber, BankBin, BatchId, FileId, Principal, Programme};
use crate::domain::Command;
use crate::formats::bank::{
    self as files, CashLine, CashListSpec, Debtor, IsoDateTime, PaymentFileSpec, PaymentLine,
};
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
}

/// The paying department of a programme: the debtor of its bank files.
#[derive(Debug, Clone)]
pub struct Department {
    pub name: &'static str,
    pub budget_unit_code: &'static str,
    /// Where the programme's funding account is held.
    pub bank_bin: &'static str,
}

/// Illustrative departments of a province (Hà Nội), as the 2025 reorganisation assigns them:
/// NCC to the Department of Home Affairs, BTXH to the Department of Health, the social pension
/// to the commune. Budget-unit codes are placeholders to be replaced by the real ones.
pub fn department(programme: Programme) -> Department {
    match programme {
        Programme::Ncc => Department {
            name: "Sở Nội vụ thành phố Hà Nội",
            budget_unit_code: "DVQHNS-NCC-01",
            bank_bin: "970418",
        },
        Programme::Btxh => Department {
            name: "Sở Y tế thành phố Hà Nội",
            budget_unit_code: "DVQHNS-BTXH-01",
            bank_bin: "970418",
        },
        Programme::Htxh => Department {
            name: "UBND phường Ba Đình",
            budget_unit_code: "DVQHNS-HTXH-01",
            bank_bin: "970405",
        },
    }
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
        let count = u32::try_from(files + 1).unwrap_or(u32::MAX);
        let replay = match &key {
            Some(key) => ledger.receipt_of(seq, count, who, key)?,
            None => None,
        };
        return match replay {
            Some(receipt) => Ok(Released {
                receipt,
                files: ledger.read(|s| issued_summaries(s, batch))?,
            }),
            None => Err(BatchError::AlreadyReleased { batch, seq }),
        };
    }
    // Only an approved batch gets files built; for any other the ledger says why it cannot
    // be released.
    let built = match status {
        BatchStatus::Approved => {
            let created_at = local_time(ledger.now_ms());
            // The ledger's own check first, so a changed route is refused as such rather
            // than met as a missing account while the files are built.
            ledger.read(|s| {
                crate::domain::batch::releasable(s, batch)
                    .map_err(|r| BatchError::Submit(r.into()))?;
                build_files(s, batch, created_at)
            })??
        }
        _ => Vec::new(),
    };
    let digests: Vec<Hash> = built
        .iter()
        .map(|f| *blake3::hash(&f.bytes).as_bytes())
        .collect();
    let kept: Vec<(&Hash, &[u8])> = digests
        .iter()
        .zip(&built)
        .map(|(d, f)| (d, f.bytes.as_slice()))
        .collect();
    // The bytes are durable before any record names them; a crash in between leaves only
    // unreferenced files, named by their digest.
    ledger.keep_files(&kept)?;
    let mut summaries = Vec::with_capacity(built.len());
    let mut files = Vec::with_capacity(built.len());
    for (f, digest) in built.into_iter().zip(digests) {
        summaries.push(IssuedSummary {
            name: f.name.clone(),
            channel: f.channel,
            format: f.format,
            digest,
            bytes: f.bytes.len() as u64,
            totals: f.totals,
        });
        files.push(NewPaymentFile {
            channel: f.channel,
            pay_point: f.pay_point,
            format: f.format,
            name: f.name,
            digest,
            bytes: f.bytes.len() as u64,
            totals: f.totals,
        });
    }
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

/// A Unix-millisecond time as Vietnam's local time (UTC+7).
pub fn local_time(ms: i64) -> IsoDateTime {
    let offset = i64::from(files::time::VIETNAM_OFFSET_MINUTES) * 60;
    let secs = ms.div_euclid(1000) + offset;
    let date = crate::domain::types::Date::from_days_since_epoch(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    IsoDateTime::new(
        date,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
        files::time::VIETNAM_OFFSET_MINUTES,
    )
    .expect("a computed time of day is in range")
}

struct BuiltFile {
    name: String,
    channel: Channel,
    pay_point: Option<crate::domain::types::CommuneCode>,
    format: FileFormat,
    bytes: Vec<u8>,
    totals: crate::domain::event::ControlTotals,
}

/// The message id of a batch's file for one bank (also its file name without extension):
/// `NCC202408-B3-970436`. Bank reports refer back to it.
pub fn message_id(
    programme: Programme,
    month: crate::domain::types::Month,
    batch: BatchId,
    tail: &str,
) -> String {
    format!(
        "{programme}{:04}{:02}-B{}-{tail}",
        month.year(),
        month.month(),
        batch.0
    )
}

fn build_files(
    state: &State,
    batch: BatchId,
    created_at: IsoDateTime,
) -> Result<Vec<BuiltFile>, BatchError> {
    let b = state.batch(batch).ok_or(BatchError::NoBatch(batch))?;
    let (programme, month) = (b.opened.programme, b.opened.month);
    let mut banks: BTreeMap<BankBin, Vec<PaymentLine>> = BTreeMap::new();
    let mut cash: Vec<CashLine> = Vec::new();
    for p in b.payments.iter().filter_map(|id| state.payment(*id)) {
        let p = &p.scheduled;
        let who = state
            .beneficiary(p.beneficiary)
            .ok_or_else(|| BatchError::Inconsistent(format!("no beneficiary {}", p.beneficiary)))?;
        let identity = who
            .identity
            .known()
            .ok_or(BatchError::Erased(p.beneficiary))?;
        match p.route {
            Route::Bank { bin } => {
                let account = who
                    .account
                    .as_ref()
                    .and_then(|a| a.known())
                    .ok_or(BatchError::NoAccount(p.beneficiary))?;
                banks.entry(bin).or_default().push(PaymentLine {
                    payment: p.payment,
                    amount: p.amount,
                    creditor_name: account.holder_name.clone(),
                    citizen_id: identity.citizen_id,
                    account: account.account_number.clone(),
                    bank_bin: bin,
                    remittance: files::remittance_text(programme, month),
                });
            }
            Route::Cash { pay_point } => cash.push(CashLine {
                payment: p.payment,
                pay_point,
                name: identity.full_name.clone(),
                citizen_id: identity.citizen_id,
                amount: p.amount,
            }),
        }
    }
    let dept = department(programme);
    // `decide` parsed it when the batch was opened; a batch opened before that check may
    // still carry one no file can.
    let funding_account = AccountNumber::parse(&b.opened.funding_account)
        .map_err(|e| BatchError::File(files::SpecError::BadFundingAccount(e.to_string())))?;
    let bank_file =
        |(bin, lines): (BankBin, Vec<PaymentLine>)| -> Result<[BuiltFile; 2], BatchError> {
            let id = message_id(programme, month, batch, &bin.to_string());
            let spec = PaymentFileSpec {
                message_id: id.clone(),
                created_at,
                debtor: Debtor {
                    name: dept.name.to_owned(),
                    budget_unit_code: dept.budget_unit_code.to_owned(),
                    funding_account: funding_account.clone(),
                    bank_bin: BankBin::parse(dept.bank_bin).expect("a valid BIN"),
                    bank_bic: None,
                },
                requested_execution_date: month.first_day().max(created_at.date()),
                batch,
                programme,
                month,
            };
            let (xml, summary) = files::pain001_bytes(&spec, &lines)?;
            let (csv, _) = files::payments_csv_bytes(&spec, &lines)?;
            let channel = Channel::Bank(bin);
            let file = |name: String, format, bytes| BuiltFile {
                name,
                channel,
                pay_point: None,
                format,
                bytes,
                totals: summary.totals,
            };
            Ok([
                file(format!("{id}.xml"), FileFormat::Pain001V09, xml),
                file(format!("{id}.csv"), FileFormat::Csv, csv),
            ])
        };
    // One bank's files per thread: a national batch writes hundreds of megabytes of XML.
    let built: Vec<Result<[BuiltFile; 2], BatchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = banks
            .into_iter()
            .map(|bank| s.spawn(|| bank_file(bank)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("file thread"))
            .collect()
    });
    let mut out = Vec::new();
    for files in built {
        out.extend(files?);
    }
    for (pay_point, lines) in files::split_by_pay_point(&cash) {
        let id = message_id(programme, month, batch, &format!("CASH-{pay_point}"));
        let spec = CashListSpec {
            list_id: id.clone(),
            created_at,
            batch,
            programme,
            month,
            pay_point,
            pay_point_name: format!("Điểm chi trả xã/phường {pay_point}"),
        };
        let (bytes, summary) = files::cash_list_bytes(&spec, &lines)?;
        out.push(BuiltFile {
            name: format!("{id}.csv"),
            channel: Channel::Cash,
            pay_point: Some(pay_point),
            format: FileFormat::CashList,
            bytes,
            totals: summary.totals,
        });
    }
    Ok(out)
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
