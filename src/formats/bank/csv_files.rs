//! The CSV payment file (the pain.001's content for banks that take CSV) and the cash list of
//! a pay point. Both are record-typed CSV: one header line (H), one line per payment (D), one
//! trailer (T) with the count and the sum, so a truncated or edited file is noticed.
//!
//! RFC 4180, written by the `csv` crate: comma-separated, fields quoted only when they contain
//! a comma, quote, CR or LF, CRLF line ends, UTF-8 without BOM. A text field that a spreadsheet
//! would run as a formula gets a leading apostrophe (`text::neutral_cell`). Columns are
//! documented in `docs/payment-files.md`. Deterministic: lines in the order given, no clock.
//!
//! Cash lists show the **full** citizen ID: the list is the legal payment document of a pay
//! point, paid against the recipient's ID card, and a cashier cannot check a card against a
//! masked number (two people can share the visible digits). It is personal data and is served
//! only to its pay point, like a bank file to its bank.

use std::collections::BTreeMap;
use std::io::Write;

use crate::domain::types::{BankBin, CommuneCode, Month};

use super::pain001::WriteError;
use super::spec::{
    prepare, prepare_cash, CashLine, CashListSpec, FileSummary, PaymentFileSpec, PaymentLine,
    PreparedCash, SpecError,
};
use super::text::neutral_cell;

/// Format tags in the header lines; bumped when columns change.
pub const PAYMENTS_CSV_TAG: &str = "chitra-payments-v1";
pub const CASH_LIST_CSV_TAG: &str = "chitra-cash-list-v1";

/// Bytes buffered before they go to the output.
const CSV_BUFFER_BYTES: usize = 64 * 1024;

/// The output, counting what passes through (a file's size is part of its summary).
struct Counting<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// A cell as the `csv` writer takes it (bytes), without copying an unchanged one.
struct Cell<'a>(std::borrow::Cow<'a, str>);

impl AsRef<[u8]> for Cell<'_> {
    fn as_ref(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

/// A record-typed CSV file: header, lines and trailer have different widths.
struct CsvFile<W: Write>(csv::Writer<Counting<W>>);

impl<W: Write> CsvFile<W> {
    fn new(out: W) -> CsvFile<W> {
        CsvFile(
            csv::WriterBuilder::new()
                .flexible(true)
                .terminator(csv::Terminator::CRLF)
                .quote_style(csv::QuoteStyle::Necessary)
                .buffer_capacity(CSV_BUFFER_BYTES)
                .from_writer(Counting { out, written: 0 }),
        )
    }

    /// One record; text cells neutralised against spreadsheet formulas.
    fn record(&mut self, cells: &[&str]) -> std::io::Result<()> {
        self.0
            .write_record(cells.iter().map(|c| Cell(neutral_cell(c))))
            .map_err(std::io::Error::other)
    }

    fn trailer(&mut self, count: u64, sum: i64) -> std::io::Result<()> {
        self.record(&["T", &count.to_string(), &sum.to_string()])
    }

    /// Flushes and returns the total byte count.
    fn finish(self) -> std::io::Result<u64> {
        let mut counting = self.0.into_inner().map_err(|e| e.into_error())?;
        counting.flush()?;
        Ok(counting.written)
    }
}

fn month_text(m: Month) -> String {
    m.to_string()
}

fn bin_text(bin: BankBin) -> String {
    bin.to_string()
}

/// Writes the CSV payment file. Validates everything first (the same checks as the pain.001).
pub fn write_payments_csv<W: Write>(
    spec: &PaymentFileSpec,
    lines: &[PaymentLine],
    out: W,
) -> Result<FileSummary, WriteError> {
    let p = prepare(spec, lines)?;
    let mut file = CsvFile::new(out);
    let d = &spec.debtor;
    file.record(&[
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
    ])?;
    for l in &p.lines {
        let line = l.line;
        file.record(&[
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
        ])?;
    }
    file.trailer(p.totals.count, p.totals.sum.0)?;
    let bytes = file.finish()?;
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
    let mut file = CsvFile::new(out);
    file.record(&[
        "H",
        CASH_LIST_CSV_TAG,
        &spec.list_id,
        &spec.created_at.to_string(),
        &spec.batch.to_string(),
        spec.programme.code(),
        &month_text(spec.month),
        &spec.pay_point.to_string(),
        &pay_point_name,
    ])?;
    for (i, (line, name)) in lines.iter().zip(&names).enumerate() {
        file.record(&[
            "D",
            &(i + 1).to_string(),
            &line.payment.to_string(),
            name,
            line.citizen_id.expose(),
            &line.amount.0.to_string(),
            // Left empty for the recipient's signature on the printed list.
            "",
        ])?;
    }
    file.trailer(totals.count, totals.sum.0)?;
    let bytes = file.finish()?;
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
