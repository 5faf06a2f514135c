//! Payment files and bank status reports (C4): pure formatting and parsing, no IO beyond an
//! `impl Write` and a `&[u8]`.
//!
//! This module owns the bytes banks see and send: the ISO 20022 `pain.001.001.09` credit
//! transfer file and its CSV alternative, the cash list of a pay point, the application checks
//! the XSD does not make, and the parsing of `pain.002.001.10` (or CSV) status reports from
//! outside, hardened against hostile input. It does not decide what a status line means for a
//! payment: the ledger does, and it records file hashes in the chain. Formats, the element
//! mapping and the status mapping are documented in `docs/payment-files.md`.

pub mod amount;
pub mod banks;
pub mod check;
pub mod csv_files;
pub mod example;
pub mod pain001;
pub mod pain002;
pub mod reasons;
pub mod simulate;
pub mod spec;
pub mod status;
pub mod status_csv;
pub mod text;
pub mod time;
pub mod xml;

pub use check::{check_pain001, CheckError, Pain001Summary, Pain001Transaction};
pub use csv_files::{
    cash_list_bytes, payments_csv_bytes, split_by_pay_point, write_cash_list, write_payments_csv,
};
pub use pain001::{
    pain001_bytes, write_pain001, WriteError, PAIN001_MESSAGE_NAME, PAIN001_NAMESPACE,
};
pub use pain002::{parse_pain002, PAIN002_NAMESPACE};
pub use simulate::{
    simulate_for_pain001, simulate_pain002, simulate_status_csv, SimulatedLine, SimulatedReport,
};
pub use spec::{
    remittance_text, CashLine, CashListSpec, Debtor, FileSummary, PaymentFileSpec, PaymentLine,
    SpecError, Truncation,
};
pub use status::{
    Location, Outcome, StatusError, StatusLimits, StatusLine, StatusReport, TxStatus,
};
pub use status_csv::parse_status_csv;
pub use time::IsoDateTime;
pub use xml::XmlError;

/// Parses a status report in either format: XML (first non-blank byte `<`) as pain.002.001.10,
/// anything else as the status CSV. For uploads that do not say which they are.
pub fn parse_status_report(
    bytes: &[u8],
    limits: &StatusLimits,
) -> Result<StatusReport, StatusError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match body.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'<') => parse_pain002(bytes, limits),
        _ => parse_status_csv(bytes, limits),
    }
}
