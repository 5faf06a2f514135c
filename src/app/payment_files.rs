//! A released batch's payment files, built from the state: per bank a pain.001.001.09 and the
//! CSV of the same lines, per cash pay point a cash list. The lines are taken from the state in
//! one read, then the files written from them straight into the store (`store::FileWriter`) a
//! group of banks at a time, each group handed to the caller (who records their hashes) before
//! the next is written; the paying department of each programme (from the configuration) is
//! the debtor.

use std::collections::BTreeMap;

use super::batches::BatchError;
use super::config::Settings;
use crate::domain::event::{Channel, ControlTotals, FileFormat, Route};
use crate::domain::state::{Batch, State};
use crate::domain::types::{
    AccountNumber, BankBin, BatchId, CommuneCode, Date, Month, Programme, VIETNAM_OFFSET_MINUTES,
};
use crate::formats::bank::{
    self as files, CashLine, CashListSpec, Debtor, IsoDateTime, PaymentFileSpec, PaymentLine,
};
use crate::ledger::{FileWriter, KeptFile, StoreError};

/// One file built for a release and kept in the store under its digest.
pub struct BuiltFile {
    pub name: String,
    pub channel: Channel,
    pub pay_point: Option<CommuneCode>,
    pub format: FileFormat,
    pub digest: [u8; 32],
    pub bytes: u64,
    pub totals: ControlTotals,
}

/// Where a release writes each file: a new file in the store (`Ledger::new_file`).
pub type NewFile<'a> = dyn Fn() -> Result<FileWriter, StoreError> + Sync + 'a;

/// A Unix-millisecond time as Vietnam's local time (UTC+7).
pub fn local_time(ms: i64) -> IsoDateTime {
    let offset = i64::from(VIETNAM_OFFSET_MINUTES) * 60;
    let secs = ms.div_euclid(1000) + offset;
    let date = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    IsoDateTime::new(
        date,
        (rem / 3600) as u8,
        (rem % 3600 / 60) as u8,
        (rem % 60) as u8,
        VIETNAM_OFFSET_MINUTES,
    )
    .expect("a computed time of day is in range")
}

/// The message id of a batch's file for one bank (also its file name without extension):
/// `NCC202408-B3-970436`. Bank reports refer back to it.
pub fn message_id(programme: Programme, month: Month, batch: BatchId, tail: &str) -> String {
    format!(
        "{programme}{:04}{:02}-B{}-{tail}",
        month.year(),
        month.month(),
        batch.0
    )
}

/// Lines whose files a release writes side by side, one thread per bank, before it hands
/// them over: a bank's files are written whole, so a bank with more lines is a group alone.
/// The files' bytes go straight to disk (`store::FileWriter`), so a group bounds the threads
/// and open files at once, not the memory.
pub const RELEASE_GROUP_LINES_MAX: usize = 250_000;

/// What a batch's files are built from, taken from the state in one read: its lines with the
/// names and accounts the files carry, and its paying department. The files are then built
/// from this alone (`Release::build_in_groups`), outside the state's lock.
pub struct Release {
    batch: BatchRef,
    debtor: Debtor,
    created_at: IsoDateTime,
    banks: BTreeMap<BankBin, Vec<PaymentLine>>,
    cash: Vec<CashLine>,
}

/// What a file names of its batch.
#[derive(Clone, Copy)]
struct BatchRef {
    programme: Programme,
    month: Month,
    batch: BatchId,
}

/// The lines of every file of the batch, dated `created_at`.
pub fn release(
    state: &State,
    settings: &Settings,
    batch: BatchId,
    created_at: IsoDateTime,
) -> Result<Release, BatchError> {
    let b = state.batch(batch).ok_or(BatchError::NoBatch(batch))?;
    let (banks, cash) = lines(state, b)?;
    Ok(Release {
        batch: BatchRef {
            programme: b.opened.programme,
            month: b.opened.month,
            batch,
        },
        debtor: debtor(settings, b)?,
        created_at,
        banks,
        cash,
    })
}

impl Release {
    /// Writes every file into the store through `new_file` — per bank its pain.001 and CSV,
    /// in bank order, then per cash pay point its list — and hands them to `keep` a group of
    /// at most `lines_max` lines at a time (a bank's files are never split), in that order.
    pub fn build_in_groups(
        self,
        settings: &Settings,
        lines_max: usize,
        new_file: &NewFile<'_>,
        mut keep: impl FnMut(Vec<BuiltFile>) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        let Release {
            batch,
            debtor,
            created_at,
            banks,
            cash,
        } = self;
        for group in groups(banks, |lines| lines.len(), lines_max) {
            keep(bank_files(batch, &debtor, created_at, group, new_file)?)?;
        }
        let by_pay_point = files::split_by_pay_point(&cash);
        drop(cash);
        for group in groups(by_pay_point, |lines| lines.len(), lines_max) {
            keep(cash_lists(settings, batch, created_at, group, new_file)?)?;
        }
        Ok(())
    }
}

/// Consecutive entries of `all`, in order, grouped so that each group's `size` adds up to at
/// most `max` unless one entry alone is larger.
fn groups<K: Ord, V>(
    all: BTreeMap<K, V>,
    size: impl Fn(&V) -> usize,
    max: usize,
) -> Vec<BTreeMap<K, V>> {
    let mut out: Vec<BTreeMap<K, V>> = Vec::new();
    let mut filled: usize = 0;
    for (k, v) in all {
        let n = size(&v);
        match out.last_mut() {
            Some(group) if filled.saturating_add(n) <= max => {
                filled += n;
                group.insert(k, v);
            }
            _ => {
                filled = n;
                out.push(BTreeMap::from([(k, v)]));
            }
        }
    }
    out
}

/// A batch's lines for the banks, by BIN, and for the cash pay points.
type Lines = (BTreeMap<BankBin, Vec<PaymentLine>>, Vec<CashLine>);

/// The batch's lines, per bank and for cash, with the names, IDs and accounts the files carry.
fn lines(state: &State, b: &Batch) -> Result<Lines, BatchError> {
    let (programme, month) = (b.opened.programme, b.opened.month);
    let mut banks: BTreeMap<BankBin, Vec<PaymentLine>> = BTreeMap::new();
    let mut cash: Vec<CashLine> = Vec::new();
    for (id, p) in state.payments_of(b) {
        let who = state.beneficiary(p.beneficiary()).ok_or_else(|| {
            BatchError::Inconsistent(format!("no beneficiary {}", p.beneficiary()))
        })?;
        let identity = who
            .identity
            .known()
            .ok_or(BatchError::Erased(p.beneficiary()))?;
        match p.route {
            Route::Bank { bin } => {
                let account = who
                    .account
                    .as_ref()
                    .and_then(|a| a.known())
                    .ok_or(BatchError::NoAccount(p.beneficiary()))?;
                banks.entry(bin).or_default().push(PaymentLine {
                    payment: id,
                    amount: p.amount,
                    creditor_name: account.holder_name.clone(),
                    citizen_id: identity.citizen_id,
                    account: account.account_number.clone(),
                    bank_bin: bin,
                    remittance: files::remittance_text(programme, month),
                });
            }
            Route::Cash { pay_point } => cash.push(CashLine {
                payment: id,
                pay_point,
                name: identity.full_name.clone(),
                citizen_id: identity.citizen_id,
                amount: p.amount,
            }),
        }
    }
    Ok((banks, cash))
}

/// The paying department of the batch's programme, paying from the batch's funding account.
fn debtor(settings: &Settings, b: &Batch) -> Result<Debtor, BatchError> {
    let dept = settings.department(b.opened.programme)?;
    // `decide` parsed it when the batch was opened; a batch opened before that check may
    // still carry one no file can.
    let funding_account = AccountNumber::parse(&b.opened.funding_account)
        .map_err(|e| BatchError::File(files::SpecError::BadFundingAccount(e.to_string())))?;
    Ok(Debtor {
        name: dept.name.clone(),
        budget_unit_code: dept.budget_unit_code.clone(),
        funding_account,
        bank_bin: dept.funding_bank,
        bank_bic: None,
    })
}

/// Per bank of a group, its pain.001 and CSV, one bank per thread: a national batch writes
/// hundreds of megabytes of XML.
fn bank_files(
    batch: BatchRef,
    debtor: &Debtor,
    created_at: IsoDateTime,
    banks: BTreeMap<BankBin, Vec<PaymentLine>>,
    new_file: &NewFile<'_>,
) -> Result<Vec<BuiltFile>, BatchError> {
    let built: Vec<Result<[BuiltFile; 2], BatchError>> = std::thread::scope(|s| {
        let handles: Vec<_> = banks
            .into_iter()
            .map(|(bin, lines)| {
                s.spawn(move || bank_file(batch, debtor, created_at, bin, &lines, new_file))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("file thread"))
            .collect()
    });
    let mut out = Vec::with_capacity(built.len() * 2);
    for files in built {
        out.extend(files?);
    }
    Ok(out)
}

fn bank_file(
    b: BatchRef,
    debtor: &Debtor,
    created_at: IsoDateTime,
    bin: BankBin,
    lines: &[PaymentLine],
    new_file: &NewFile<'_>,
) -> Result<[BuiltFile; 2], BatchError> {
    let (programme, month, batch) = (b.programme, b.month, b.batch);
    let id = message_id(programme, month, batch, &bin.to_string());
    let spec = PaymentFileSpec {
        message_id: id.clone(),
        created_at,
        debtor: debtor.clone(),
        requested_execution_date: month.first_day().max(created_at.date()),
        batch,
        programme,
        month,
    };
    let (xml, summary) = written(new_file, |out| files::write_pain001(&spec, lines, out))?;
    let (csv, _) = written(new_file, |out| files::write_payments_csv(&spec, lines, out))?;
    let file = |name: String, format, kept: KeptFile| BuiltFile {
        name,
        channel: Channel::Bank(bin),
        pay_point: None,
        format,
        digest: kept.digest,
        bytes: kept.bytes,
        totals: summary.totals,
    };
    Ok([
        file(format!("{id}.xml"), FileFormat::Pain001V09, xml),
        file(format!("{id}.csv"), FileFormat::Csv, csv),
    ])
}

/// Per cash pay point, its list.
fn cash_lists(
    settings: &Settings,
    b: BatchRef,
    created_at: IsoDateTime,
    by_pay_point: BTreeMap<CommuneCode, Vec<CashLine>>,
    new_file: &NewFile<'_>,
) -> Result<Vec<BuiltFile>, BatchError> {
    let (programme, month, batch) = (b.programme, b.month, b.batch);
    let mut out = Vec::new();
    for (pay_point, lines) in by_pay_point {
        let id = message_id(programme, month, batch, &format!("CASH-{pay_point}"));
        let spec = CashListSpec {
            list_id: id.clone(),
            created_at,
            batch,
            programme,
            month,
            pay_point,
            pay_point_name: settings.pay_point_name(pay_point),
        };
        let (kept, summary) = written(new_file, |out| files::write_cash_list(&spec, &lines, out))?;
        out.push(BuiltFile {
            name: format!("{id}.csv"),
            channel: Channel::Cash,
            pay_point: Some(pay_point),
            format: FileFormat::CashList,
            digest: kept.digest,
            bytes: kept.bytes,
            totals: summary.totals,
        });
    }
    Ok(out)
}

/// One file written by `write` into a new file of the store, and kept.
fn written(
    new_file: &NewFile<'_>,
    write: impl FnOnce(&mut FileWriter) -> Result<files::FileSummary, files::WriteError>,
) -> Result<(KeptFile, files::FileSummary), BatchError> {
    let mut out = new_file()?;
    let path = out.path().display().to_string();
    let summary = write(&mut out).map_err(|e| match e {
        files::WriteError::Spec(e) => BatchError::File(e),
        files::WriteError::Io(source) => BatchError::Store(StoreError::Io { path, source }),
    })?;
    Ok((out.keep()?, summary))
}
