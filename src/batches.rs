//! The finance workflow around batches where one step takes more than one command or touches
//! files: computing a batch on all cores and submitting its lines, releasing it and issuing its
//! payment files (bytes kept by the store, hashes recorded in the chain), downloading a file
//! (recorded with who downloaded it), and ingesting a bank status report.
//!
//! Every step is safe to repeat: computing an already computed batch is refused by `decide`,
//! issuing a file that was issued with the same bytes appends nothing, and a status report
//! already ingested appends nothing.

use std::collections::BTreeMap;

use crate::chain::Hash;
use crate::domain::batch::compute::{compute_range, merge, BatchPlan, Target};
use crate::domain::command::*;
use crate::domain::event::{Channel, FileFormat, Route};
use crate::domain::rules::RateBook;
use crate::domain::state::{BatchStatus, IssuedFile, State};
use crate::domain::types::{AccountNumber, BankBin, BatchId, FileId, Principal, Programme};
use crate::domain::Command;
use crate::files::{
    self, CashLine, CashListSpec, Debtor, IsoDateTime, PaymentFileSpec, PaymentLine,
};
use crate::ledger::{Ledger, Receipt, Submission, SubmitError};

#[derive(Debug, thiserror::Error)]
pub enum BatchError {
    #[error(transparent)]
    Submit(#[from] SubmitError),
    #[error("no batch {0}")]
    NoBatch(BatchId),
    #[error("no file {0}")]
    NoFile(FileId),
    #[error("{0}")]
    State(String),
    #[error("writing a payment file: {0}")]
    File(#[from] files::SpecError),
    #[error("the status report cannot be read: {0}")]
    Status(#[from] files::StatusError),
    #[error("the status report is about {0:?}, which is none of our payment files")]
    UnknownReport(String),
    #[error("the status report is about another bank's payments")]
    WrongBank,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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

fn submit(ledger: &Ledger, who: &Principal, command: Command) -> Result<Receipt, SubmitError> {
    ledger.submit(Submission {
        principal: who.clone(),
        idempotency_key: None,
        command,
    })
}

/// What computing a batch did.
#[derive(Debug)]
pub struct Computed {
    pub receipt: Receipt,
    /// Everyone left out and why (`payments` is empty: they went into the chain).
    pub plan: BatchPlan,
    pub payments: usize,
}

/// Computes the batch on all cores from one consistent state and submits its lines.
pub fn compute(ledger: &Ledger, who: &Principal, batch: BatchId) -> Result<Computed, BatchError> {
    let (target, mut plan) = compute_consistent(ledger, batch)?;
    let payments = std::mem::take(&mut plan.payments);
    let count = payments.len();
    let receipt = submit(
        ledger,
        who,
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

/// Optimistic attempts before a computation holds the read lock from start to end.
const COMPUTE_OPTIMISTIC_ATTEMPTS: usize = 2;
/// Beneficiaries computed under one hold of the read lock.
const COMPUTE_CHUNK_PERSONS: usize = 16_384;

/// Computes a batch from one consistent state without holding the state for the whole
/// computation: chunk by chunk, letting readers and the writer in between, then checking that
/// nothing a computation reads changed meanwhile (`State::money_seq`). If something did, it
/// tries again, and on a busy ledger finally holds the read lock throughout.
pub fn compute_consistent(
    ledger: &Ledger,
    batch: BatchId,
) -> Result<(Target, BatchPlan), BatchError> {
    for _ in 0..COMPUTE_OPTIMISTIC_ATTEMPTS {
        let (target, money, n) = {
            let s = ledger.state();
            let target = Target::of(&s, batch).ok_or(BatchError::NoBatch(batch))?;
            (target, s.money_seq(), s.beneficiary_count())
        };
        let threads = std::thread::available_parallelism()
            .map_or(1, |t| t.get())
            .clamp(1, 8);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let parts: Vec<Vec<(usize, BatchPlan)>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Vec::new();
                        loop {
                            let from = next.fetch_add(
                                COMPUTE_CHUNK_PERSONS,
                                std::sync::atomic::Ordering::Relaxed,
                            );
                            if from >= n {
                                return mine;
                            }
                            let state = ledger.state();
                            let rates = RateBook::new(state.schedules());
                            let to = (from + COMPUTE_CHUNK_PERSONS).min(n);
                            mine.push((from, compute_range(&state, &rates, target, from..to)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("compute thread"))
                .collect()
        });
        if ledger.state().money_seq() == money {
            let mut parts: Vec<(usize, BatchPlan)> = parts.into_iter().flatten().collect();
            parts.sort_by_key(|(from, _)| *from);
            return Ok((target, merge(parts.into_iter().map(|(_, p)| p).collect())));
        }
    }
    let state = ledger.state();
    let target = Target::of(&state, batch).ok_or(BatchError::NoBatch(batch))?;
    Ok((target, compute_parallel(&state, target)))
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

/// Releases an approved batch and issues its payment files; on a released batch, issues any
/// file not yet issued (after a crash between the two).
pub fn release(
    ledger: &Ledger,
    who: &Principal,
    batch: BatchId,
) -> Result<Vec<IssuedSummary>, BatchError> {
    let status = ledger
        .read(|s| s.batch(batch).map(|b| b.status))?
        .ok_or(BatchError::NoBatch(batch))?;
    if status != BatchStatus::Released {
        // `decide` refuses anything but an approved batch, and says why.
        submit(ledger, who, Command::ReleaseBatch(ReleaseBatch { batch }))?;
    }
    issue_files(ledger, who, batch)
}

/// Builds every file of a released batch, keeps the bytes, and records each file's hash.
pub fn issue_files(
    ledger: &Ledger,
    who: &Principal,
    batch: BatchId,
) -> Result<Vec<IssuedSummary>, BatchError> {
    let created_at = released_at(ledger, batch)?;
    let files = ledger.read(|s| build_files(s, batch, created_at))??;
    // Every file's bytes are durable (one flush) before any is recorded as issued, and all the
    // records go in one group commit.
    let digests: Vec<Hash> = files
        .iter()
        .map(|f| *blake3::hash(&f.bytes).as_bytes())
        .collect();
    let kept: Vec<(&Hash, &[u8])> = digests
        .iter()
        .zip(&files)
        .map(|(d, f)| (d, f.bytes.as_slice()))
        .collect();
    ledger.store().put_files(&kept)?;
    let mut out = Vec::with_capacity(files.len());
    let mut commands = Vec::with_capacity(files.len());
    for (f, digest) in files.into_iter().zip(digests) {
        let summary = IssuedSummary {
            name: f.name.clone(),
            channel: f.channel,
            format: f.format,
            digest,
            bytes: f.bytes.len() as u64,
            totals: f.totals,
        };
        commands.push(Submission {
            principal: who.clone(),
            idempotency_key: None,
            command: Command::IssuePaymentFile(IssuePaymentFile {
                batch,
                channel: f.channel,
                pay_point: f.pay_point,
                format: f.format,
                name: f.name,
                digest,
                bytes: summary.bytes,
                totals: f.totals,
            }),
        });
        out.push(summary);
    }
    for r in ledger.submit_many(commands) {
        r?;
    }
    Ok(out)
}

/// The release record's time, which dates the files so that rebuilding them gives the same
/// bytes.
fn released_at(ledger: &Ledger, batch: BatchId) -> Result<IsoDateTime, BatchError> {
    let seq = ledger
        .read(|s| s.batch(batch).and_then(|b| b.released_seq))?
        .ok_or_else(|| BatchError::State(format!("{batch} is not released")))?;
    let record = ledger
        .records(seq, seq + 1)
        .next()
        .ok_or_else(|| BatchError::State(format!("the release record {seq} is missing")))??;
    let view = crate::chain::record::parse_record(&record.bytes)
        .map_err(|e| BatchError::State(format!("release record: {e}")))?;
    Ok(local_time(view.header.recorded_at_ms))
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
            .ok_or_else(|| BatchError::State(format!("no beneficiary {}", p.beneficiary)))?;
        let identity = who.identity.known().ok_or_else(|| {
            BatchError::State(format!("personal data of {} was erased", p.beneficiary))
        })?;
        match p.route {
            Route::Bank { bin } => {
                let account = who
                    .account
                    .as_ref()
                    .and_then(|a| a.known())
                    .ok_or_else(|| {
                        BatchError::State(format!("{} has no account details", p.beneficiary))
                    })?;
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
    let funding_account = AccountNumber::parse(&b.opened.funding_account)
        .map_err(|e| BatchError::State(format!("funding account: {e}")))?;
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
        .store()
        .get_file(&issued.issued.digest)?
        .ok_or_else(|| {
            BatchError::State(format!("the bytes of {file} are missing from the store"))
        })?;
    let digest = *blake3::hash(&bytes).as_bytes();
    submit(
        ledger,
        who,
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
}

/// Parses a bank status report (pain.002.001.10 or the status CSV), finds which of our files it
/// reports on, and submits its lines. `only_channel` is a bank's own BIN when a bank uploads:
/// a report about another bank's file is refused.
pub fn ingest_status(
    ledger: &Ledger,
    who: &Principal,
    bytes: &[u8],
    only_channel: Option<Channel>,
) -> Result<Ingested, BatchError> {
    let report = files::parse_status_report(bytes, &files::StatusLimits::default())?;
    let original = report.original_message_id.clone();
    let channel = ledger
        .read(|s| {
            s.files()
                .iter()
                .find(|f| {
                    f.issued.name.rsplit_once('.').map(|(stem, _)| stem) == Some(original.as_str())
                })
                .map(|f| f.issued.channel)
        })?
        .ok_or(BatchError::UnknownReport(original))?;
    if only_channel.is_some_and(|c| c != channel) {
        return Err(BatchError::WrongBank);
    }
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
        Command::IngestStatusReport(IngestStatusReport {
            channel,
            format: report.format,
            digest: *blake3::hash(bytes).as_bytes(),
            message_id: report.message_id,
            lines,
        }),
    )?;
    Ok(Ingested {
        receipt,
        lines: n,
        channel,
        new: receipt.count > 0,
    })
}
