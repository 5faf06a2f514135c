//! Application checks of a pain.001.001.09 that the XSD does not make.
//!
//! The schema accepts a wrong `NbOfTxs`, a `CtrlSum` that does not add up, `2460000.5` VND, a
//! transaction without creditor or account, and duplicate ids (see the reference `NOTES.md`).
//! `check_pain001` reads a file back and makes those checks, reporting every problem found
//! rather than the first. It is run on every file before it is issued, and serves to read a
//! file's transactions back (the bank simulator does).
//!
//! Uniqueness of `MsgId` across files is the ledger's to check (it knows every id it issued);
//! this reports the id in the summary.

use std::collections::HashMap;
use std::fmt;

use quick_xml::events::BytesStart;

use crate::domain::event::ControlTotals;
use crate::domain::types::Vnd;

use super::amount::{parse_vnd, AmountProblem};
use super::pain001::PAIN001_NAMESPACE;
use super::xml::{attribute, walk, Schema, Tag, Visitor, XmlError, XmlLimits};

/// The largest pain.001 the checker reads, in bytes (a million transactions at ~1 KiB each).
pub const PAIN001_BYTES_MAX: usize = 2 * 1024 * 1024 * 1024 - 1;
/// Deepest nesting the checker accepts; the schema's deepest path we write is 9.
pub const PAIN001_DEPTH_MAX: usize = 32;
/// Problems reported at most; a file with more is hopeless and the list stays bounded.
pub const CHECK_ERRORS_MAX: usize = 1000;

const SCHEMA: Schema = Schema {
    namespace: PAIN001_NAMESPACE,
    message: Tag::CstmrCdtTrfInitn,
    root_path: "Document/CstmrCdtTrfInitn",
};

/// What a checked file contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pain001Summary {
    pub message_id: String,
    pub payment_info_ids: Vec<String>,
    /// Counted from the transactions (equal to the declared figures when the check passed).
    pub totals: ControlTotals,
    pub transactions: Vec<Pain001Transaction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pain001Transaction {
    pub end_to_end_id: String,
    pub amount: Vnd,
}

/// Which transaction a problem is in: its 1-based position in the file and its EndToEndId.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxRef {
    pub index: usize,
    pub end_to_end_id: Option<String>,
}

impl fmt::Display for TxRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "transaction {}", self.index)?;
        match &self.end_to_end_id {
            Some(id) => write!(f, " ({id})"),
            None => Ok(()),
        }
    }
}

/// The level a count or sum is declared at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Level {
    Group,
    PaymentInfo(String),
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::Group => f.write_str("GrpHdr"),
            Level::PaymentInfo(id) => write!(f, "PmtInf {id:?}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error("{at}: {element} is missing")]
    Missing { element: &'static str, at: String },
    #[error("{at}: NbOfTxs is {declared:?} but there are {actual} transactions")]
    CountMismatch {
        at: Level,
        declared: String,
        actual: u64,
    },
    #[error("{at}: CtrlSum is {declared:?} but the amounts add up to {actual}")]
    SumMismatch {
        at: Level,
        declared: String,
        actual: i64,
    },
    #[error("{tx}: InstdAmt {text:?} {problem}")]
    BadAmount {
        tx: TxRef,
        text: String,
        problem: AmountProblem,
    },
    #[error("{tx}: currency is {found:?}, expected VND")]
    WrongCurrency { tx: TxRef, found: String },
    #[error("{tx}: EndToEndId {id:?} already used by transaction {first}")]
    DuplicateEndToEndId { tx: TxRef, id: String, first: usize },
    #[error("PmtInfId {0:?} appears twice")]
    DuplicatePaymentInfoId(String),
    #[error("{tx}: creditor name (Cdtr/Nm) is missing")]
    MissingCreditorName { tx: TxRef },
    #[error("{tx}: creditor account (CdtrAcct/Id) is missing")]
    MissingCreditorAccount { tx: TxRef },
    #[error("{tx}: creditor agent (CdtrAgt BICFI or ClrSysMmbId/MmbId) is missing")]
    MissingCreditorAgent { tx: TxRef },
    #[error("{tx}: purpose (Purp/Cd) is {found:?}, expected SSBE")]
    WrongPurpose { tx: TxRef, found: Option<String> },
    #[error("{at}: category purpose (CtgyPurp/Cd) is {found:?}, expected SSBE")]
    WrongCategoryPurpose { at: Level, found: String },
    #[error("{tx}: creditor national id (Cdtr/Id/PrvtId/Othr with SchmeNm/Cd NIDN) is missing")]
    MissingNationalId { tx: TxRef },
    /// The id itself is not echoed: error texts reach logs, citizen IDs must not.
    #[error("{tx}: NIDN id is not 12 digits ({chars} characters)")]
    BadNationalId { tx: TxRef, chars: usize },
}

/// Checks a pain.001.001.09 (bytes as issued) and summarises it.
pub fn check_pain001(bytes: &[u8]) -> Result<Pain001Summary, Vec<CheckError>> {
    let limits = XmlLimits {
        bytes_max: PAIN001_BYTES_MAX,
        depth_max: PAIN001_DEPTH_MAX,
    };
    let mut checker = Checker::default();
    if let Err(e) = walk(bytes, &SCHEMA, limits, &mut checker) {
        return Err(vec![CheckError::Xml(e)]);
    }
    checker.finish()
}

#[derive(Default)]
struct PmtInfAcc {
    id: Option<String>,
    nb_of_txs: Option<String>,
    ctrl_sum: Option<String>,
    totals: ControlTotals,
    sum_known: bool,
}

#[derive(Default)]
struct TxAcc {
    end_to_end_id: Option<String>,
    amount: Option<Vnd>,
    amount_seen: bool,
    currency: Option<String>,
    agent: bool,
    name: bool,
    account: bool,
    purpose: Option<String>,
    othr_id: Option<String>,
    othr_scheme: Option<String>,
    national_id: Option<String>,
}

#[derive(Default)]
struct Checker {
    message_id: Option<String>,
    created_at: bool,
    group_nb: Option<String>,
    group_sum: Option<String>,
    group_sum_known: bool,
    group_totals: ControlTotals,
    pmt: PmtInfAcc,
    payment_info_ids: Vec<String>,
    tx: TxAcc,
    tx_index: usize,
    seen: HashMap<String, usize>,
    transactions: Vec<Pain001Transaction>,
    errors: Vec<CheckError>,
}

impl Checker {
    fn report(&mut self, e: CheckError) {
        if self.errors.len() < CHECK_ERRORS_MAX {
            self.errors.push(e);
        }
    }

    fn tx_ref(&self) -> TxRef {
        TxRef {
            index: self.tx_index,
            end_to_end_id: self.tx.end_to_end_id.clone(),
        }
    }

    fn group_text(&mut self, tag: Tag, text: &str) {
        match tag {
            Tag::MsgId => self.message_id = Some(text.to_owned()),
            Tag::CreDtTm => self.created_at = true,
            Tag::NbOfTxs => self.group_nb = Some(text.to_owned()),
            Tag::CtrlSum => self.group_sum = Some(text.to_owned()),
            _ => {}
        }
    }

    fn pmt_text(&mut self, tag: Tag, text: &str) {
        match tag {
            Tag::PmtInfId => self.pmt.id = Some(text.to_owned()),
            Tag::NbOfTxs => self.pmt.nb_of_txs = Some(text.to_owned()),
            Tag::CtrlSum => self.pmt.ctrl_sum = Some(text.to_owned()),
            _ => {}
        }
    }

    fn tx_text(&mut self, rest: &[Tag], text: &str) {
        use Tag::*;
        let present = !text.is_empty();
        match rest {
            [PmtId, EndToEndId] => self.tx.end_to_end_id = Some(text.to_owned()),
            [Amt, InstdAmt] => self.amount(text),
            [CdtrAgt, FinInstnId, BICFI] | [CdtrAgt, FinInstnId, ClrSysMmbId, MmbId] => {
                self.tx.agent |= present
            }
            [Cdtr, Nm] => self.tx.name = present,
            [Cdtr, Id, PrvtId, Othr, Id] => self.tx.othr_id = Some(text.to_owned()),
            [Cdtr, Id, PrvtId, Othr, SchmeNm, Cd] => self.tx.othr_scheme = Some(text.to_owned()),
            [Cdtr, Id, PrvtId, Othr] => {
                let id = self.tx.othr_id.take();
                if self.tx.othr_scheme.take().as_deref() == Some("NIDN")
                    && self.tx.national_id.is_none()
                {
                    self.tx.national_id = id;
                }
            }
            [CdtrAcct, Id, Othr, Id] | [CdtrAcct, Id, IBAN] => self.tx.account |= present,
            [Purp, Cd] => self.tx.purpose = Some(text.to_owned()),
            _ => {}
        }
    }

    fn amount(&mut self, text: &str) {
        self.tx.amount_seen = true;
        match parse_vnd(text) {
            Ok(v) => self.tx.amount = Some(v),
            Err(problem) => {
                let tx = self.tx_ref();
                self.report(CheckError::BadAmount {
                    tx,
                    text: text.to_owned(),
                    problem,
                });
            }
        }
    }

    fn end_transaction(&mut self) {
        let tx = std::mem::take(&mut self.tx);
        let r = TxRef {
            index: self.tx_index,
            end_to_end_id: tx.end_to_end_id.clone(),
        };
        self.check_identity(&r, &tx);
        self.check_parties(&r, &tx);
        if tx.amount_seen && tx.currency.as_deref() != Some("VND") {
            self.report(CheckError::WrongCurrency {
                tx: r.clone(),
                found: tx.currency.clone().unwrap_or_else(|| "(none)".into()),
            });
        }
        if !tx.amount_seen {
            self.report(CheckError::Missing {
                element: "Amt/InstdAmt",
                at: r.to_string(),
            });
        }
        self.count(tx.amount);
        if let (Some(id), Some(amount)) = (tx.end_to_end_id, tx.amount) {
            self.transactions.push(Pain001Transaction {
                end_to_end_id: id,
                amount,
            });
        }
    }

    fn check_identity(&mut self, r: &TxRef, tx: &TxAcc) {
        match &tx.end_to_end_id {
            None => self.report(CheckError::Missing {
                element: "PmtId/EndToEndId",
                at: r.to_string(),
            }),
            Some(id) => {
                if let Some(&first) = self.seen.get(id) {
                    self.report(CheckError::DuplicateEndToEndId {
                        tx: r.clone(),
                        id: id.clone(),
                        first,
                    });
                } else {
                    self.seen.insert(id.clone(), r.index);
                }
            }
        }
        match &tx.national_id {
            None => self.report(CheckError::MissingNationalId { tx: r.clone() }),
            Some(id) if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) => {
                self.report(CheckError::BadNationalId {
                    tx: r.clone(),
                    chars: id.chars().count(),
                })
            }
            Some(_) => {}
        }
    }

    fn check_parties(&mut self, r: &TxRef, tx: &TxAcc) {
        if !tx.name {
            self.report(CheckError::MissingCreditorName { tx: r.clone() });
        }
        if !tx.account {
            self.report(CheckError::MissingCreditorAccount { tx: r.clone() });
        }
        if !tx.agent {
            self.report(CheckError::MissingCreditorAgent { tx: r.clone() });
        }
        if tx.purpose.as_deref() != Some("SSBE") {
            self.report(CheckError::WrongPurpose {
                tx: r.clone(),
                found: tx.purpose.clone(),
            });
        }
    }

    /// Adds a transaction to the running totals; an unreadable amount makes the sums unknown
    /// (its own error says why), so no second, derived sum error is reported.
    fn count(&mut self, amount: Option<Vnd>) {
        self.pmt.totals.count += 1;
        self.group_totals.count += 1;
        match amount {
            Some(a) => {
                self.pmt.totals.sum = Vnd(self.pmt.totals.sum.0.saturating_add(a.0));
                self.group_totals.sum = Vnd(self.group_totals.sum.0.saturating_add(a.0));
            }
            None => {
                self.pmt.sum_known = false;
                self.group_sum_known = false;
            }
        }
    }

    fn end_payment_info(&mut self) {
        let pmt = std::mem::take(&mut self.pmt);
        let id = pmt.id.clone().unwrap_or_default();
        if pmt.id.is_none() {
            self.report(CheckError::Missing {
                element: "PmtInfId",
                at: "PmtInf".into(),
            });
        } else if self.payment_info_ids.contains(&id) {
            self.report(CheckError::DuplicatePaymentInfoId(id.clone()));
        }
        let level = Level::PaymentInfo(id.clone());
        self.check_declared(
            level,
            pmt.nb_of_txs,
            pmt.ctrl_sum,
            pmt.totals,
            pmt.sum_known,
        );
        self.payment_info_ids.push(id);
    }

    fn check_declared(
        &mut self,
        at: Level,
        nb: Option<String>,
        sum: Option<String>,
        actual: ControlTotals,
        sum_known: bool,
    ) {
        match nb {
            None => self.report(CheckError::Missing {
                element: "NbOfTxs",
                at: at.to_string(),
            }),
            Some(n) if n.parse::<u64>().ok() != Some(actual.count) || n.len() > 15 => {
                self.report(CheckError::CountMismatch {
                    at: at.clone(),
                    declared: n,
                    actual: actual.count,
                })
            }
            Some(_) => {}
        }
        match sum {
            None => self.report(CheckError::Missing {
                element: "CtrlSum",
                at: at.to_string(),
            }),
            Some(s) if sum_known && s.parse::<i64>().ok() != Some(actual.sum.0) => {
                self.report(CheckError::SumMismatch {
                    at,
                    declared: s,
                    actual: actual.sum.0,
                })
            }
            Some(_) => {}
        }
    }

    fn finish(mut self) -> Result<Pain001Summary, Vec<CheckError>> {
        if self.message_id.is_none() {
            self.report(CheckError::Missing {
                element: "MsgId",
                at: "GrpHdr".into(),
            });
        }
        if !self.created_at {
            self.report(CheckError::Missing {
                element: "CreDtTm",
                at: "GrpHdr".into(),
            });
        }
        let (nb, sum, totals, known) = (
            self.group_nb.take(),
            self.group_sum.take(),
            self.group_totals,
            self.group_sum_known,
        );
        self.check_declared(Level::Group, nb, sum, totals, known);
        if !self.errors.is_empty() {
            return Err(self.errors);
        }
        Ok(Pain001Summary {
            message_id: self.message_id.unwrap_or_default(),
            payment_info_ids: self.payment_info_ids,
            totals: self.group_totals,
            transactions: self.transactions,
        })
    }
}

impl Visitor for Checker {
    type Error = XmlError;

    fn start(&mut self, path: &[Tag], element: &BytesStart<'_>) -> Result<(), XmlError> {
        use Tag::*;
        // Depth 1-2 (Document, the message element) are checked by the walk.
        let Some(below_message) = path.get(2..) else {
            return Ok(());
        };
        match below_message {
            [] => self.group_sum_known = true,
            [PmtInf] => {
                self.pmt = PmtInfAcc {
                    sum_known: true,
                    ..PmtInfAcc::default()
                }
            }
            [PmtInf, CdtTrfTxInf] => {
                self.tx_index += 1;
                self.tx = TxAcc::default();
            }
            [PmtInf, CdtTrfTxInf, Amt, InstdAmt] => self.tx.currency = attribute(element, b"Ccy")?,
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, path: &[Tag], text: &str) -> Result<(), XmlError> {
        use Tag::*;
        let Some(below_message) = path.get(2..) else {
            return Ok(());
        };
        match below_message {
            [GrpHdr, tag] => self.group_text(*tag, text),
            [PmtInf] => self.end_payment_info(),
            [PmtInf, PmtTpInf, CtgyPurp, Cd] if text != "SSBE" => {
                let at = Level::PaymentInfo(self.pmt.id.clone().unwrap_or_default());
                self.report(CheckError::WrongCategoryPurpose {
                    at,
                    found: text.to_owned(),
                });
            }
            [PmtInf, CdtTrfTxInf] => self.end_transaction(),
            [PmtInf, CdtTrfTxInf, rest @ ..] => self.tx_text(rest, text),
            [PmtInf, tag] => self.pmt_text(*tag, text),
            _ => {}
        }
        Ok(())
    }
}
