//! The CSV payment file (the pain.001's content for banks that take CSV) and the cash list of
//! a pay point. Both are record-typed CSV: one header line (H), one line per payment (D), one
//! trailer (T) with the count and the sum, so a truncated or edited file is noticed.
//!
//! RFC 4180: comma-separated, fields quoted only when they contain a comma, quote, CR or LF,
//! CRLF line ends, UTF-8 without BOM. Columns are documented in `docs/payment-files.md`.
//! Deterministic: lines in the order given, no clock.
//!
//! Cash lists show the **full** citizen ID: the list is the legal payment document of a pay
//! point, paid against the recipient's ID card, and a cashier cannot check a card against a
//! masked number (two people can share the visible digits). It is personal data and is served
//! only to its pay point, like a bank file to its bank.

use std::collections::BTreeMap;
use std::io::Write;

use crate::domain::types::{BankBin, CommuneCode, Month};

use super::pain001::{Sink, WriteError};
use super::spec::{
    prepare, prepare_cash, CashLine, CashListSpec, FileSummary, PaymentFileSpec, PaymentLine,
    PreparedCash, SpecError,
};
use super::text::{push_csv_cell, push_i64, push_u64};

/// Format tags in the header lines; bumped when columns change.
pub const PAYMENTS_CSV_TAG: &str = "chitra-payments-v1";
pub const CASH_LIST_CSV_TAG: &str = "chitra-cash-list-v1";

fn fields(out: &mut Vec<u8>, record: &[&str]) {
    for (i, f) in record.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        push_csv_cell(out, f);
    }
    out.extend_from_slice(b"\r\n");
}

fn month_text(m: Month) -> String {
    m.to_string()
}

fn bin_text(bin: BankBin) -> String {
    bin.to_string()
}

fn trailer(out: &mut Vec<u8>, count: u64, sum: i64) {
    out.extend_from_slice(b"T,");
    push_u64(out, count);
    out.push(b',');
    push_i64(out, sum);
    out.extend_from_slice(b"\r\n");
}

/// Writes the CSV payment file. Validates everything first (the same checks as the pain.001).
pub fn write_payments_csv<W: Write>(
    spec: &PaymentFileSpec,
    lines: &[PaymentLine],
    out: W,
) -> Result<FileSummary, WriteError> {
    let p = prepare(spec, lines)?;
    let mut sink = Sink::new(out);
    let d = &spec.debtor;
    fields(
        &mut sink.buf,
        &[
            "H",
            PAYMENTS_CSV_TAG,
            &spec.message_id,
            &spec.created_at.to_string(),
            &p.payment_info_id,
            &spec.batch.to_string(),
            spec.programme.code(),
            &month_text(spec.month),
            &spec.requested_execution_date.to_string(),
            &p.debtor_name,
            &d.budget_unit_code,
            d.funding_account.expose(),
            &bin_text(d.bank_bin),
            p.debtor_bic.as_deref().unwrap_or(""),
        ],
    );
    for l in &p.lines {
        let line = l.line;
        fields(
            &mut sink.buf,
            &[
                "D",
                &line.payment.to_string(),
                &line.amount.0.to_string(),
                "VND",
                &l.name,
                line.citizen_id.expose(),
                line.account.expose(),
                &bin_text(line.bank_bin),
                l.bic.unwrap_or(""),
                "SSBE",
                &l.remittance,
            ],
        );
        sink.maybe_flush()?;
    }
    trailer(&mut sink.buf, p.totals.count, p.totals.sum.0);
    let bytes = sink.finish()?;
    Ok(FileSummary {
        totals: p.totals,
        bytes,
        truncated: p.truncated,
    })
}

/// `write_payments_csv` into a new byte vector.
pub fn payments_csv_bytes(
    spec: &PaymentFileSpec,
    lines: &[PaymentLine],
) -> Result<(Vec<u8>, FileSummary), SpecError> {
    collect(|out| write_payments_csv(spec, lines, out))
}

/// Writes the cash list of one pay point. Every line must be for `spec.pay_point`.
pub fn write_cash_list<W: Write>(
    spec: &CashListSpec,
    lines: &[CashLine],
    out: W,
) -> Result<FileSummary, WriteError> {
    let PreparedCash {
        pay_point_name,
        names,
        totals,
        truncated,
    } = prepare_cash(spec, lines)?;
    let mut sink = Sink::new(out);
    fields(
        &mut sink.buf,
        &[
            "H",
            CASH_LIST_CSV_TAG,
            &spec.list_id,
            &spec.created_at.to_string(),
            &spec.batch.to_string(),
            spec.programme.code(),
            &month_text(spec.month),
            &spec.pay_point.to_string(),
            &pay_point_name,
        ],
    );
    for (i, (line, name)) in lines.iter().zip(&names).enumerate() {
        fields(
            &mut sink.buf,
            &[
                "D",
                &(i + 1).to_string(),
                &line.payment.to_string(),
                name,
                line.citizen_id.expose(),
                &line.amount.0.to_string(),
                // Left empty for the recipient's signature on the printed list.
                "",
            ],
        );
        sink.maybe_flush()?;
    }
    trailer(&mut sink.buf, totals.count, totals.sum.0);
    let bytes = sink.finish()?;
    Ok(FileSummary {
        totals,
        bytes,
        truncated,
    })
}

/// `write_cash_list` into a new byte vector.
pub fn cash_list_bytes(
    spec: &CashListSpec,
    lines: &[CashLine],
) -> Result<(Vec<u8>, FileSummary), SpecError> {
    collect(|out| write_cash_list(spec, lines, out))
}

/// Groups cash lines by pay point (ordered by commune code, lines in their given order).
pub fn split_by_pay_point(lines: &[CashLine]) -> BTreeMap<CommuneCode, Vec<CashLine>> {
    let mut by: BTreeMap<CommuneCode, Vec<CashLine>> = BTreeMap::new();
    for line in lines {
        by.entry(line.pay_point).or_default().push(line.clone());
    }
    by
}

fn collect(
    write: impl FnOnce(&mut Vec<u8>) -> Result<FileSummary, WriteError>,
) -> Result<(Vec<u8>, FileSummary), SpecError> {
    let mut out = Vec::new();
    match write(&mut out) {
        Ok(summary) => Ok((out, summary)),
        Err(WriteError::Spec(e)) => Err(e),
        Err(WriteError::Io(e)) => unreachable!("writing to a Vec cannot fail: {e}"),
    }
}
