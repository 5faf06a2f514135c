//! The input model of payment files (what the ledger hands over) and its validation.
//!
//! A payment file is written in two passes: `prepare` checks every line and normalises its
//! text first, so a writer never emits half a file and then fails; the writers then only
//! format. The pain.001 and the CSV alternative share `prepare`, so they carry the same
//! content by construction.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::domain::event::ControlTotals;
use crate::domain::types::{
    AccountNumber, BankBin, BatchId, CitizenId, CommuneCode, Date, Month, PaymentId, Programme, Vnd,
};

use super::banks;
use super::text::{check_identifier, normalize_free_text, TextProblem, MAX140_CHARS, MAX35_CHARS};
use super::time::IsoDateTime;

/// The largest control sum a file can state: ISO 20022 `DecimalNumber` and the amount type
/// allow 18 digits in total.
pub const CONTROL_SUM_VND_MAX: i64 = 999_999_999_999_999_999;

/// The paying department of a programme: initiating party and debtor of the transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Debtor {
    /// e.g. "Sở Nội vụ thành phố Hà Nội" (Max140Text, truncated if longer).
    pub name: String,
    /// Budget-relationship unit code (mã ĐVQHNS), written as `Othr/Id` with scheme
    /// `Prtry=MA_DVQHNS`. An identifier: 1-35 printable ASCII, never truncated.
    pub budget_unit_code: String,
    /// The programme's funding account (`DbtrAcct`).
    pub funding_account: AccountNumber,
    /// The bank holding the funding account (`DbtrAgt`).
    pub bank_bin: BankBin,
    /// Its BIC; `None` looks it up in `vn-banks.json`.
    pub bank_bic: Option<String>,
}

/// Everything a payment file says about itself, as opposed to its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentFileSpec {
    /// `GrpHdr/MsgId`: unique per file across time (the ledger assigns it). 1-35 printable
    /// ASCII characters.
    pub message_id: String,
    /// `GrpHdr/CreDtTm`, passed in (this module reads no clock).
    pub created_at: IsoDateTime,
    pub debtor: Debtor,
    /// `PmtInf/ReqdExctnDt/Dt`.
    pub requested_execution_date: Date,
    pub batch: BatchId,
    pub programme: Programme,
    pub month: Month,
}

/// One credit transfer to a beneficiary's account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentLine {
    /// Written as `EndToEndId` (`P<n>`); the bank echoes it in its status report.
    pub payment: PaymentId,
    /// Whole dong, strictly positive (recoveries are netted before a line reaches a file).
    pub amount: Vnd,
    pub creditor_name: String,
    pub citizen_id: CitizenId,
    pub account: AccountNumber,
    pub bank_bin: BankBin,
    /// `RmtInf/Ustrd`, e.g. "Trợ cấp NCC tháng 2024-08" (see `remittance_text`).
    pub remittance: String,
}

/// One line of a pay point's cash list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashLine {
    pub payment: PaymentId,
    pub pay_point: CommuneCode,
    pub name: String,
    pub citizen_id: CitizenId,
    pub amount: Vnd,
}

/// The header of one pay point's cash list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CashListSpec {
    /// The list's own identifier (the ledger assigns it, like a message id).
    pub list_id: String,
    pub created_at: IsoDateTime,
    pub batch: BatchId,
    pub programme: Programme,
    pub month: Month,
    pub pay_point: CommuneCode,
    /// e.g. "UBND phường Ba Đình" or a post office.
    pub pay_point_name: String,
}

/// The default remittance text of a programme's monthly payment.
pub fn remittance_text(programme: Programme, month: Month) -> String {
    format!("Trợ cấp {programme} tháng {month}")
}

/// Why a file could not be written. Nothing is written when this is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    #[error("message id {0:?} must be 1-35 printable ASCII characters without spaces")]
    BadMessageId(String),
    #[error("budget-unit code {0:?} must be 1-35 printable ASCII characters without spaces")]
    BadBudgetUnitCode(String),
    #[error("debtor bank BIC {0:?} is not a BICFI (8 or 11 characters, country VN)")]
    BadDebtorBic(String),
    #[error("payment information id {0:?} (programme-month-batch) exceeds 35 characters")]
    PaymentInfoIdTooLong(String),
    #[error("{field}{}: {problem}", line_label(*.payment))]
    BadText {
        field: &'static str,
        payment: Option<PaymentId>,
        problem: TextProblem,
    },
    #[error("the file has no lines (a pain.001 needs at least one transaction)")]
    NoLines,
    #[error("payment {payment}: amount {amount} VND is not positive")]
    NonPositiveAmount { payment: PaymentId, amount: Vnd },
    #[error("payment {payment} appears twice")]
    DuplicatePayment { payment: PaymentId },
    #[error("the funding account cannot go in a file: {0}")]
    BadFundingAccount(String),
    #[error("the control sum exceeds {CONTROL_SUM_VND_MAX} VND (18 digits)")]
    SumTooLarge,
    #[error("payment {payment} is for pay point {found}, not this list's {expected}")]
    WrongPayPoint {
        payment: PaymentId,
        expected: CommuneCode,
        found: CommuneCode,
    },
}

fn line_label(payment: Option<PaymentId>) -> String {
    payment
        .map(|p| format!(" of payment {p}"))
        .unwrap_or_default()
}

/// A text field cut to its ISO 20022 limit when the file was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Truncation {
    pub field: &'static str,
    pub payment: Option<PaymentId>,
}

/// What a writer reports about the file it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSummary {
    pub totals: ControlTotals,
    pub bytes: u64,
    /// Names or texts cut to fit (the file is still correct; the ledger may want to know).
    pub truncated: Vec<Truncation>,
}

/// A validated file, ready to format: text normalised, BICs looked up, totals computed.
pub(crate) struct Prepared<'a> {
    pub spec: &'a PaymentFileSpec,
    pub debtor_name: Cow<'a, str>,
    pub debtor_bic: Option<Cow<'a, str>>,
    pub payment_info_id: String,
    pub lines: Vec<PreparedLine<'a>>,
    pub totals: ControlTotals,
    pub truncated: Vec<Truncation>,
}

pub(crate) struct PreparedLine<'a> {
    pub line: &'a PaymentLine,
    pub name: Cow<'a, str>,
    pub remittance: Cow<'a, str>,
    pub bic: Option<&'static str>,
}

/// Normalises one free-text field, recording a truncation and naming the field on error.
fn free_text<'a>(
    raw: &'a str,
    field: &'static str,
    payment: Option<PaymentId>,
    truncated: &mut Vec<Truncation>,
) -> Result<Cow<'a, str>, SpecError> {
    let (text, cut) =
        normalize_free_text(raw, MAX140_CHARS).map_err(|problem| SpecError::BadText {
            field,
            payment,
            problem,
        })?;
    if cut {
        truncated.push(Truncation { field, payment });
    }
    Ok(text)
}

/// Checks amounts, uniqueness and the running sum; returns the totals.
pub(crate) fn control_totals(
    items: impl Iterator<Item = (PaymentId, Vnd)>,
) -> Result<ControlTotals, SpecError> {
    let mut totals = ControlTotals::default();
    let mut seen = HashSet::new();
    for (payment, amount) in items {
        if amount.0 <= 0 {
            return Err(SpecError::NonPositiveAmount { payment, amount });
        }
        if !seen.insert(payment.0) {
            return Err(SpecError::DuplicatePayment { payment });
        }
        totals.count += 1;
        totals.sum = totals
            .sum
            .checked_add(amount)
            .filter(|s| s.0 <= CONTROL_SUM_VND_MAX)
            .ok_or(SpecError::SumTooLarge)?;
    }
    if totals.count == 0 {
        return Err(SpecError::NoLines);
    }
    Ok(totals)
}

fn debtor_bic(debtor: &Debtor) -> Result<Option<Cow<'_, str>>, SpecError> {
    match &debtor.bank_bic {
        Some(bic) if banks::is_bicfi(bic) => Ok(Some(Cow::Borrowed(bic.as_str()))),
        Some(bic) => Err(SpecError::BadDebtorBic(bic.clone())),
        None => Ok(banks::bic_for(debtor.bank_bin).map(Cow::Borrowed)),
    }
}

/// The `PmtInfId`: programme, month and batch, so the file names the batch it pays.
fn payment_info_id(spec: &PaymentFileSpec) -> Result<String, SpecError> {
    let m = spec.month;
    let id = format!(
        "{}-{:04}{:02}-{}",
        spec.programme,
        m.year(),
        m.month(),
        spec.batch
    );
    if id.len() > MAX35_CHARS {
        return Err(SpecError::PaymentInfoIdTooLong(id));
    }
    Ok(id)
}

/// Validates a payment file and normalises its text.
pub(crate) fn prepare<'a>(
    spec: &'a PaymentFileSpec,
    lines: &'a [PaymentLine],
) -> Result<Prepared<'a>, SpecError> {
    if !check_identifier(&spec.message_id, MAX35_CHARS) {
        return Err(SpecError::BadMessageId(spec.message_id.clone()));
    }
    if !check_identifier(&spec.debtor.budget_unit_code, MAX35_CHARS) {
        return Err(SpecError::BadBudgetUnitCode(
            spec.debtor.budget_unit_code.clone(),
        ));
    }
    let totals = control_totals(lines.iter().map(|l| (l.payment, l.amount)))?;
    let mut truncated = Vec::new();
    let debtor_name = free_text(&spec.debtor.name, "debtor name", None, &mut truncated)?;
    let mut prepared_lines = Vec::with_capacity(lines.len());
    for line in lines {
        let p = Some(line.payment);
        prepared_lines.push(PreparedLine {
            line,
            name: free_text(&line.creditor_name, "creditor name", p, &mut truncated)?,
            remittance: free_text(&line.remittance, "remittance", p, &mut truncated)?,
            bic: banks::bic_for(line.bank_bin),
        });
    }
    Ok(Prepared {
        spec,
        debtor_name,
        debtor_bic: debtor_bic(&spec.debtor)?,
        payment_info_id: payment_info_id(spec)?,
        lines: prepared_lines,
        totals,
        truncated,
    })
}

/// A validated cash list: normalised names and totals.
pub(crate) struct PreparedCash<'a> {
    pub pay_point_name: Cow<'a, str>,
    pub names: Vec<Cow<'a, str>>,
    pub totals: ControlTotals,
    pub truncated: Vec<Truncation>,
}

/// Validates a cash list: every line at this pay point, amounts positive, ids unique.
pub(crate) fn prepare_cash<'a>(
    spec: &'a CashListSpec,
    lines: &'a [CashLine],
) -> Result<PreparedCash<'a>, SpecError> {
    if !check_identifier(&spec.list_id, MAX35_CHARS) {
        return Err(SpecError::BadMessageId(spec.list_id.clone()));
    }
    if let Some(stray) = lines.iter().find(|l| l.pay_point != spec.pay_point) {
        return Err(SpecError::WrongPayPoint {
            payment: stray.payment,
            expected: spec.pay_point,
            found: stray.pay_point,
        });
    }
    let totals = control_totals(lines.iter().map(|l| (l.payment, l.amount)))?;
    let mut truncated = Vec::new();
    let pay_point_name = free_text(&spec.pay_point_name, "pay point name", None, &mut truncated)?;
    let names = lines
        .iter()
        .map(|l| free_text(&l.name, "name", Some(l.payment), &mut truncated))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(PreparedCash {
        pay_point_name,
        names,
        totals,
        truncated,
    })
}

impl std::fmt::Display for TextProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TextProblem::Empty => "is empty",
            TextProblem::ForbiddenCharacter => "contains a character no payment file may carry",
        })
    }
}
