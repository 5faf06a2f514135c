//! Bank status reports as the ledger receives them, whichever format they came in: the
//! `StatusReport` model, the mapping from ISO transaction status codes to outcomes, the input
//! limits and the typed errors of both parsers (pain.002 and CSV).
//!
//! The mapping (documented in `docs/payment-files.md`): `ACSC`, `ACCC` and `CPUC` are
//! **settled**; `RJCT` and `CANC` are **rejected** and must carry an ISO reason code; every
//! other ISO 20022 transaction status (ACSP, ACTC, ACCP, PDNG, RCVD, ACWP, BLCK, ...) is
//! **pending**: accepted or in progress, not yet final. An unknown status is an error, never
//! a guess.

use std::fmt;

use crate::domain::event::StatusFormat;
use crate::domain::types::Vnd;

use super::amount::AmountProblem;
use super::reasons::is_status_reason;
use super::time::IsoDateTime;
use super::xml::XmlError;

/// Limits on a status report from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLimits {
    /// Largest report accepted, in bytes. The default takes a million-line pain.002 (about
    /// 250 bytes a line as banks indent them) with room to spare.
    pub status_report_bytes_max: usize,
    /// Deepest element nesting accepted in a pain.002 (the schema's deepest path is about 12).
    pub status_report_depth_max: usize,
}

/// 512 MiB.
pub const STATUS_REPORT_BYTES_MAX_DEFAULT: usize = 512 * 1024 * 1024;
pub const STATUS_REPORT_DEPTH_MAX_DEFAULT: usize = 32;

impl Default for StatusLimits {
    fn default() -> StatusLimits {
        StatusLimits {
            status_report_bytes_max: STATUS_REPORT_BYTES_MAX_DEFAULT,
            status_report_depth_max: STATUS_REPORT_DEPTH_MAX_DEFAULT,
        }
    }
}

/// A bank's report on the transactions of one of our payment files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReport {
    pub format: StatusFormat,
    /// The report's own id (`GrpHdr/MsgId`).
    pub message_id: String,
    pub created_at: IsoDateTime,
    /// The `MsgId` of the payment file reported on.
    pub original_message_id: String,
    /// `OrgnlMsgNmId` (pain.002 only), e.g. `pain.001.001.09`.
    pub original_message_name: Option<String>,
    /// `OrgnlNbOfTxs` / `OrgnlCtrlSum`, when the bank states them.
    pub original_count: Option<u64>,
    pub original_sum: Option<Vnd>,
    /// `GrpSts` (ACCP, ACSC, PART, RJCT, ...), when given.
    pub group_status: Option<String>,
    /// The first `OrgnlGrpInfAndSts/StsRsnInf/Rsn/Cd`, e.g. why a whole file was rejected.
    pub group_reason_code: Option<String>,
    pub payment_infos: Vec<PaymentInfoStatus>,
    pub lines: Vec<StatusLine>,
}

/// `OrgnlPmtInfAndSts`: the status of one payment information block, when the bank gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentInfoStatus {
    pub original_payment_info_id: String,
    pub status: Option<String>,
    pub reason_code: Option<String>,
}

/// One transaction's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusLine {
    /// 1-based: the `TxInfAndSts` position in a pain.002, the line number in a CSV.
    pub position: u64,
    /// `OrgnlEndToEndId` as the bank sent it. The ledger matches it to a payment; an unknown
    /// id is a reconciliation break there, not a parse error here.
    pub end_to_end_id: String,
    pub status: TxStatus,
    pub outcome: Outcome,
    /// `OrgnlTxRef/Amt/InstdAmt` (whole VND), when the bank echoes it.
    pub amount: Option<Vnd>,
    /// The first `StsRsnInf/AddtlInf` (at most 105 characters).
    pub additional_info: Option<String>,
}

/// What a status line means for the payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The money has left (ACSC) or reached the creditor's account (ACCC) or was collected in
    /// cash (CPUC).
    Settled,
    /// Accepted or in progress, not final (ACSP, ACTC, PDNG, ...). The payment stays released.
    Pending,
    /// Not paid (RJCT, CANC), with the ISO status reason (AC04 closed account, MD07 deceased...).
    Rejected { reason_code: String },
}

macro_rules! statuses {
    ($($code:ident => $class:ident),* $(,)?) => {
        /// ISO 20022 `ExternalPaymentTransactionStatus1Code`, every code of the code set.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum TxStatus { $($code,)* }

        impl TxStatus {
            pub fn parse(code: &str) -> Option<TxStatus> {
                match code {
                    $(stringify!($code) => Some(TxStatus::$code),)*
                    _ => None,
                }
            }

            pub fn code(self) -> &'static str {
                match self {
                    $(TxStatus::$code => stringify!($code),)*
                }
            }

            pub fn class(self) -> StatusClass {
                match self {
                    $(TxStatus::$code => StatusClass::$class,)*
                }
            }
        }
    };
}

/// The three outcomes, before a rejection's reason is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Settled,
    Pending,
    Rejected,
}

statuses! {
    ACCC => Settled, ACSC => Settled, CPUC => Settled,
    RJCT => Rejected, CANC => Rejected,
    ACCP => Pending, ACFC => Pending, ACFW => Pending, ACIS => Pending, ACPD => Pending,
    ACSP => Pending, ACTC => Pending, ACWC => Pending, ACWP => Pending, BLCK => Pending,
    PATC => Pending, PDNG => Pending, PRES => Pending, RCVC => Pending, RCVD => Pending,
    RVCM => Pending, RVMC => Pending, RVNA => Pending, RVNC => Pending, RVNM => Pending,
}

impl fmt::Display for TxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// ISO 20022 `ExternalPaymentGroupStatus1Code` (GrpSts, PmtInfSts).
pub const GROUP_STATUS_CODES: &[&str] = &[
    "ACCC", "ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "PART", "PDNG", "RCVC", "RCVD", "RJCT", "RVCM",
    "RVNC",
];

/// Where in a report a problem is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    GroupHeader,
    OriginalGroup,
    /// The n-th `OrgnlPmtInfAndSts` (1-based).
    PaymentInfo(usize),
    /// The n-th `TxInfAndSts` (1-based), with its `OrgnlEndToEndId` when already read.
    Transaction {
        index: u64,
        end_to_end_id: Option<String>,
    },
    /// A CSV line (1-based).
    CsvLine(u64),
    /// The report as a whole.
    Report,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::GroupHeader => f.write_str("GrpHdr"),
            Location::OriginalGroup => f.write_str("OrgnlGrpInfAndSts"),
            Location::PaymentInfo(n) => write!(f, "OrgnlPmtInfAndSts #{n}"),
            Location::Transaction {
                index,
                end_to_end_id: Some(id),
            } => write!(f, "TxInfAndSts #{index} ({id})"),
            Location::Transaction {
                index,
                end_to_end_id: None,
            } => write!(f, "TxInfAndSts #{index}"),
            Location::CsvLine(n) => write!(f, "line {n}"),
            Location::Report => f.write_str("report"),
        }
    }
}

/// Why a status report was refused. Every variant names where the problem is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StatusError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("report is {bytes} bytes, over status_report_bytes_max = {max}")]
    TooLarge { bytes: usize, max: usize },
    #[error("report is not UTF-8: invalid byte sequence at byte {offset}")]
    NotUtf8 { offset: usize },
    #[error("{at}: mandatory {element} is missing")]
    Missing { element: &'static str, at: Location },
    #[error("{at}: {element} appears more than once")]
    Duplicate { element: &'static str, at: Location },
    #[error("{at}: {element} {problem}")]
    BadText {
        element: &'static str,
        at: Location,
        problem: &'static str,
    },
    #[error("{at}: {element} is longer than {max_chars} characters")]
    TooLong {
        element: &'static str,
        at: Location,
        max_chars: usize,
    },
    #[error("{at}: {element} {text:?} {problem}")]
    BadAmount {
        element: &'static str,
        at: Location,
        text: String,
        problem: AmountProblem,
    },
    #[error("{at}: currency {found:?}, expected VND")]
    WrongCurrency { at: Location, found: String },
    #[error("{at}: {element} {code:?} is not an ISO 20022 status code")]
    UnknownStatus {
        element: &'static str,
        at: Location,
        code: String,
    },
    #[error("{at}: reason code {code:?} is not in ExternalStatusReason1Code")]
    UnknownReasonCode { at: Location, code: String },
    #[error("{at}: status {status} needs an ISO reason code (StsRsnInf/Rsn/Cd)")]
    MissingReason { at: Location, status: TxStatus },
    #[error("{at}: {element} {text:?} is invalid: {reason}")]
    BadValue {
        element: &'static str,
        at: Location,
        text: String,
        reason: String,
    },
    #[error("{at}: {reason}")]
    Csv { at: Location, reason: String },
    #[error("trailer says {declared_count} lines and {declared_sum} VND, the report has {count} lines and {sum} VND")]
    TrailerMismatch {
        declared_count: u64,
        declared_sum: i64,
        count: u64,
        sum: i64,
    },
}

/// Text of an identifier from outside: 1..=`max_chars` characters, no control characters.
pub(crate) fn check_text(
    text: &str,
    element: &'static str,
    at: &Location,
    max_chars: usize,
) -> Result<(), StatusError> {
    let bad = |problem| StatusError::BadText {
        element,
        at: at.clone(),
        problem,
    };
    if text.is_empty() {
        return Err(bad("is empty"));
    }
    if text.len() > max_chars && text.chars().count() > max_chars {
        return Err(StatusError::TooLong {
            element,
            at: at.clone(),
            max_chars,
        });
    }
    if text.chars().any(char::is_control) {
        return Err(bad("contains a control character"));
    }
    Ok(())
}

/// Maps a transaction status and its first reason code to an outcome, checking the code.
pub(crate) fn outcome(
    status: TxStatus,
    reason: Option<&str>,
    at: &Location,
) -> Result<Outcome, StatusError> {
    if let Some(code) = reason {
        check_reason(code, at)?;
    }
    Ok(match status.class() {
        StatusClass::Settled => Outcome::Settled,
        StatusClass::Pending => Outcome::Pending,
        StatusClass::Rejected => Outcome::Rejected {
            reason_code: reason
                .ok_or_else(|| StatusError::MissingReason {
                    at: at.clone(),
                    status,
                })?
                .to_owned(),
        },
    })
}

pub(crate) fn check_reason(code: &str, at: &Location) -> Result<(), StatusError> {
    if is_status_reason(code) {
        Ok(())
    } else {
        Err(StatusError::UnknownReasonCode {
            at: at.clone(),
            code: code.chars().take(35).collect(),
        })
    }
}

pub(crate) fn parse_status(
    code: &str,
    element: &'static str,
    at: &Location,
) -> Result<TxStatus, StatusError> {
    TxStatus::parse(code).ok_or_else(|| StatusError::UnknownStatus {
        element,
        at: at.clone(),
        code: code.chars().take(35).collect(),
    })
}

pub(crate) fn check_group_status(
    code: &str,
    element: &'static str,
    at: &Location,
) -> Result<(), StatusError> {
    if GROUP_STATUS_CODES.contains(&code) {
        Ok(())
    } else {
        Err(StatusError::UnknownStatus {
            element,
            at: at.clone(),
            code: code.chars().take(35).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_statuses_to_outcomes() {
        let at = Location::Report;
        assert_eq!(outcome(TxStatus::ACSC, None, &at), Ok(Outcome::Settled));
        assert_eq!(outcome(TxStatus::ACCC, None, &at), Ok(Outcome::Settled));
        assert_eq!(outcome(TxStatus::ACSP, None, &at), Ok(Outcome::Pending));
        assert_eq!(
            outcome(TxStatus::RJCT, Some("MD07"), &at),
            Ok(Outcome::Rejected {
                reason_code: "MD07".into()
            })
        );
        assert!(matches!(
            outcome(TxStatus::RJCT, None, &at),
            Err(StatusError::MissingReason { .. })
        ));
        assert!(matches!(
            outcome(TxStatus::RJCT, Some("XX01"), &at),
            Err(StatusError::UnknownReasonCode { .. })
        ));
    }

    #[test]
    fn every_code_of_the_code_set_is_classified() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/ledger-data/reference/iso20022/external_payment_transaction_status_code.json"
        );
        let set = std::fs::read_to_string(path)
            .expect("the code set vendored in ledger-data/reference/iso20022/");
        let json: serde_json::Value = serde_json::from_str(&set).unwrap();
        for code in json["codes"].as_object().unwrap().keys() {
            assert_eq!(
                TxStatus::parse(code).map(TxStatus::code),
                Some(code.as_str())
            );
        }
    }
}
