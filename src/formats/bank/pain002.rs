//! The `pain.002.001.10` status report parser: bytes from a bank → `StatusReport`.
//!
//! Input is hostile until proven otherwise. The document-level defences (size, UTF-8, no DTD,
//! depth, namespace, truncation) are `xml::walk`'s; this module reads the elements the ledger
//! needs and checks their values: mandatory ids present and within `Max35Text`, statuses
//! from the ISO code sets, reason codes from `ExternalStatusReason1Code`, amounts whole
//! positive VND. It is not a schema validator: elements it does not read are skipped. The
//! first problem found is returned, naming the element and the transaction.

use quick_xml::events::BytesStart;

use crate::domain::event::StatusFormat;
use crate::domain::types::Vnd;

use super::amount::parse_vnd;
use super::reasons::is_status_reason;
use super::status::{
    check_group_status, check_reason, check_text, Location, Outcome, PaymentInfoStatus,
    StatusClass, StatusError, StatusLimits, StatusLine, StatusReport, TxStatus,
};
use super::text::{MAX105_CHARS, MAX35_CHARS};
use super::time::IsoDateTime;
use super::xml::{attribute, walk, Schema, Tag, Visitor, XmlLimits};

pub const PAIN002_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.002.001.10";

/// Most status lines reserved up front (the vector still grows past it).
const LINES_RESERVED_MAX: usize = 4_000_000;

const SCHEMA: Schema = Schema {
    namespace: PAIN002_NAMESPACE,
    message: Tag::CstmrPmtStsRpt,
    root_path: "Document/CstmrPmtStsRpt",
};

/// Parses a pain.002.001.10 status report.
pub fn parse_pain002(bytes: &[u8], limits: &StatusLimits) -> Result<StatusReport, StatusError> {
    let xml_limits = XmlLimits {
        bytes_max: limits.status_report_bytes_max,
        depth_max: limits.status_report_depth_max,
    };
    // A transaction status takes 150-300 bytes as banks write them; reserving for the
    // smaller figure avoids regrowing a million-line vector (capped, so a large document of
    // something else does not reserve much).
    let mut reader = ReportReader {
        lines: Vec::with_capacity((bytes.len() / 150).min(LINES_RESERVED_MAX)),
        ..ReportReader::default()
    };
    walk(bytes, &SCHEMA, xml_limits, &mut reader)?;
    reader.finish()
}

#[derive(Default)]
struct Header {
    message_id: Option<String>,
    created_at: Option<IsoDateTime>,
    original_message_id: Option<String>,
    original_message_name: Option<String>,
    original_count: Option<u64>,
    original_sum: Option<Vnd>,
    group_status: Option<String>,
    group_reason_code: Option<String>,
}

#[derive(Default)]
struct TxAcc {
    end_to_end_id: Option<String>,
    status: Option<TxStatus>,
    reason_code: Option<String>,
    additional_info: Option<String>,
    amount: Option<Vnd>,
}

#[derive(Default)]
struct ReportReader {
    header: Header,
    pmt_index: usize,
    pmt: Option<PaymentInfoStatus>,
    payment_infos: Vec<PaymentInfoStatus>,
    tx_index: u64,
    tx: TxAcc,
    lines: Vec<StatusLine>,
}

/// Stores a value that may appear once.
fn set_once<T>(
    slot: &mut Option<T>,
    value: T,
    element: &'static str,
    at: impl FnOnce() -> Location,
) -> Result<(), StatusError> {
    if slot.is_some() {
        return Err(StatusError::Duplicate { element, at: at() });
    }
    *slot = Some(value);
    Ok(())
}

fn id_text(text: &str, element: &'static str, at: &Location) -> Result<String, StatusError> {
    check_text(text, element, at, MAX35_CHARS)?;
    Ok(text.to_owned())
}

fn amount(text: &str, element: &'static str, at: &Location) -> Result<Vnd, StatusError> {
    parse_vnd(text).map_err(|problem| StatusError::BadAmount {
        element,
        at: at.clone(),
        text: text.chars().take(40).collect(),
        problem,
    })
}

impl ReportReader {
    fn tx_location(&self) -> Location {
        Location::Transaction {
            index: self.tx_index,
            end_to_end_id: self.tx.end_to_end_id.clone(),
        }
    }

    fn group_header(&mut self, tag: Tag, text: &str) -> Result<(), StatusError> {
        let at = Location::GroupHeader;
        let h = &mut self.header;
        match tag {
            Tag::MsgId => set_once(
                &mut h.message_id,
                id_text(text, "MsgId", &at)?,
                "MsgId",
                || at,
            ),
            Tag::CreDtTm => {
                let t = IsoDateTime::parse(text).map_err(|e| StatusError::BadValue {
                    element: "CreDtTm",
                    at: at.clone(),
                    text: e.text,
                    reason: e.reason.to_owned(),
                })?;
                set_once(&mut h.created_at, t, "CreDtTm", || at)
            }
            _ => Ok(()),
        }
    }

    fn original_group(&mut self, tag: Tag, text: &str) -> Result<(), StatusError> {
        let at = Location::OriginalGroup;
        let h = &mut self.header;
        match tag {
            Tag::OrgnlMsgId => set_once(
                &mut h.original_message_id,
                id_text(text, "OrgnlMsgId", &at)?,
                "OrgnlMsgId",
                || at,
            ),
            Tag::OrgnlMsgNmId => {
                if !text.starts_with("pain.001.") {
                    return Err(StatusError::BadValue {
                        element: "OrgnlMsgNmId",
                        at,
                        text: text.chars().take(35).collect(),
                        reason: "reports on something other than a pain.001 credit transfer".into(),
                    });
                }
                set_once(
                    &mut h.original_message_name,
                    id_text(text, "OrgnlMsgNmId", &at)?,
                    "OrgnlMsgNmId",
                    || at,
                )
            }
            Tag::OrgnlNbOfTxs => {
                let n = text
                    .parse::<u64>()
                    .ok()
                    .filter(|_| text.len() <= 15 && text.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| StatusError::BadValue {
                        element: "OrgnlNbOfTxs",
                        at: at.clone(),
                        text: text.chars().take(35).collect(),
                        reason: "not 1-15 digits".into(),
                    })?;
                set_once(&mut h.original_count, n, "OrgnlNbOfTxs", || at)
            }
            Tag::OrgnlCtrlSum => set_once(
                &mut h.original_sum,
                amount(text, "OrgnlCtrlSum", &at)?,
                "OrgnlCtrlSum",
                || at,
            ),
            Tag::GrpSts => {
                check_group_status(text, "GrpSts", &at)?;
                set_once(&mut h.group_status, text.to_owned(), "GrpSts", || at)
            }
            _ => Ok(()),
        }
    }

    fn group_reason(&mut self, text: &str) -> Result<(), StatusError> {
        check_reason(text, &Location::OriginalGroup)?;
        self.header
            .group_reason_code
            .get_or_insert_with(|| text.to_owned());
        Ok(())
    }

    fn payment_info(&mut self, rest: &[Tag], text: &str) -> Result<(), StatusError> {
        let at = Location::PaymentInfo(self.pmt_index);
        let Some(pmt) = self.pmt.as_mut() else {
            return Ok(());
        };
        match rest {
            [Tag::OrgnlPmtInfId] => {
                if !pmt.original_payment_info_id.is_empty() {
                    return Err(StatusError::Duplicate {
                        element: "OrgnlPmtInfId",
                        at,
                    });
                }
                pmt.original_payment_info_id = id_text(text, "OrgnlPmtInfId", &at)?;
            }
            [Tag::PmtInfSts] => {
                check_group_status(text, "PmtInfSts", &at)?;
                set_once(&mut pmt.status, text.to_owned(), "PmtInfSts", || at)?;
            }
            [Tag::StsRsnInf, Tag::Rsn, Tag::Cd] => {
                check_reason(text, &at)?;
                pmt.reason_code.get_or_insert_with(|| text.to_owned());
            }
            _ => {}
        }
        Ok(())
    }

    fn end_payment_info(&mut self) -> Result<(), StatusError> {
        let Some(pmt) = self.pmt.take() else {
            return Ok(());
        };
        if pmt.original_payment_info_id.is_empty() {
            return Err(StatusError::Missing {
                element: "OrgnlPmtInfId",
                at: Location::PaymentInfo(self.pmt_index),
            });
        }
        self.payment_infos.push(pmt);
        Ok(())
    }

    // The per-transaction functions below run a million times for a large report: they build
    // a `Location` (which clones the EndToEndId) only when there is an error to report.

    fn transaction(&mut self, rest: &[Tag], text: &str) -> Result<(), StatusError> {
        use Tag::*;
        match rest {
            [OrgnlEndToEndId] => self.end_to_end_id(text),
            [TxSts] => self.tx_status(text),
            [StsRsnInf, Rsn, Cd] => {
                if !is_status_reason(text) {
                    return Err(StatusError::UnknownReasonCode {
                        at: self.tx_location(),
                        code: text.chars().take(35).collect(),
                    });
                }
                self.tx.reason_code.get_or_insert_with(|| text.to_owned());
                Ok(())
            }
            [StsRsnInf, AddtlInf] if self.tx.additional_info.is_none() => {
                check_text(text, "AddtlInf", &self.tx_location(), MAX105_CHARS)?;
                self.tx.additional_info = Some(text.to_owned());
                Ok(())
            }
            [OrgnlTxRef, Amt, InstdAmt] => self.tx_amount(text),
            _ => Ok(()),
        }
    }

    fn duplicate(&self, element: &'static str) -> StatusError {
        StatusError::Duplicate {
            element,
            at: self.tx_location(),
        }
    }

    fn end_to_end_id(&mut self, text: &str) -> Result<(), StatusError> {
        if self.tx.end_to_end_id.is_some() {
            return Err(self.duplicate("OrgnlEndToEndId"));
        }
        self.tx.end_to_end_id = Some(id_text(text, "OrgnlEndToEndId", &self.tx_location())?);
        Ok(())
    }

    fn tx_status(&mut self, text: &str) -> Result<(), StatusError> {
        if self.tx.status.is_some() {
            return Err(self.duplicate("TxSts"));
        }
        match TxStatus::parse(text) {
            Some(status) => {
                self.tx.status = Some(status);
                Ok(())
            }
            None => Err(StatusError::UnknownStatus {
                element: "TxSts",
                at: self.tx_location(),
                code: text.chars().take(35).collect(),
            }),
        }
    }

    fn tx_amount(&mut self, text: &str) -> Result<(), StatusError> {
        const ELEMENT: &str = "OrgnlTxRef/Amt/InstdAmt";
        if self.tx.amount.is_some() {
            return Err(self.duplicate(ELEMENT));
        }
        let value = parse_vnd(text).map_err(|problem| StatusError::BadAmount {
            element: ELEMENT,
            at: self.tx_location(),
            text: text.chars().take(40).collect(),
            problem,
        })?;
        self.tx.amount = Some(value);
        Ok(())
    }

    fn end_transaction(&mut self) -> Result<(), StatusError> {
        let missing = |reader: &Self, element| StatusError::Missing {
            element,
            at: reader.tx_location(),
        };
        if self.tx.end_to_end_id.is_none() {
            return Err(missing(self, "OrgnlEndToEndId"));
        }
        let Some(status) = self.tx.status else {
            return Err(missing(self, "TxSts"));
        };
        // Reason codes were checked against the code set when read.
        let outcome = match (status.class(), &self.tx.reason_code) {
            (StatusClass::Settled, _) => Outcome::Settled,
            (StatusClass::Pending, _) => Outcome::Pending,
            (StatusClass::Rejected, Some(code)) => Outcome::Rejected {
                reason_code: code.clone(),
            },
            (StatusClass::Rejected, None) => {
                return Err(StatusError::MissingReason {
                    at: self.tx_location(),
                    status,
                })
            }
        };
        let tx = std::mem::take(&mut self.tx);
        self.lines.push(StatusLine {
            position: self.tx_index,
            end_to_end_id: tx.end_to_end_id.unwrap_or_default(),
            status,
            outcome,
            amount: tx.amount,
            additional_info: tx.additional_info,
        });
        Ok(())
    }

    fn finish(self) -> Result<StatusReport, StatusError> {
        let h = self.header;
        let missing = |element, at| StatusError::Missing { element, at };
        Ok(StatusReport {
            format: StatusFormat::Pain002V10,
            message_id: h
                .message_id
                .ok_or_else(|| missing("MsgId", Location::GroupHeader))?,
            created_at: h
                .created_at
                .ok_or_else(|| missing("CreDtTm", Location::GroupHeader))?,
            original_message_id: h
                .original_message_id
                .ok_or_else(|| missing("OrgnlMsgId", Location::OriginalGroup))?,
            original_message_name: Some(
                h.original_message_name
                    .ok_or_else(|| missing("OrgnlMsgNmId", Location::OriginalGroup))?,
            ),
            original_count: h.original_count,
            original_sum: h.original_sum,
            group_status: h.group_status,
            group_reason_code: h.group_reason_code,
            payment_infos: self.payment_infos,
            lines: self.lines,
        })
    }
}

impl Visitor for ReportReader {
    type Error = StatusError;

    fn start(&mut self, path: &[Tag], element: &BytesStart<'_>) -> Result<(), StatusError> {
        use Tag::*;
        match path.get(2..) {
            Some([OrgnlPmtInfAndSts]) => {
                self.pmt_index += 1;
                self.pmt = Some(PaymentInfoStatus {
                    original_payment_info_id: String::new(),
                    status: None,
                    reason_code: None,
                });
            }
            Some([OrgnlPmtInfAndSts, TxInfAndSts]) => {
                self.tx_index += 1;
                self.tx = TxAcc::default();
            }
            Some([OrgnlPmtInfAndSts, TxInfAndSts, OrgnlTxRef, Amt, InstdAmt]) => {
                let currency = attribute(element, b"Ccy")?;
                if currency.as_deref() != Some("VND") {
                    return Err(StatusError::WrongCurrency {
                        at: self.tx_location(),
                        found: currency
                            .unwrap_or_else(|| "(none)".into())
                            .chars()
                            .take(8)
                            .collect(),
                    });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, path: &[Tag], text: &str) -> Result<(), StatusError> {
        use Tag::*;
        match path.get(2..) {
            Some([GrpHdr, tag]) => self.group_header(*tag, text),
            Some([OrgnlGrpInfAndSts, StsRsnInf, Rsn, Cd]) => self.group_reason(text),
            Some([OrgnlGrpInfAndSts, tag]) => self.original_group(*tag, text),
            Some([OrgnlPmtInfAndSts]) => self.end_payment_info(),
            Some([OrgnlPmtInfAndSts, TxInfAndSts]) => self.end_transaction(),
            Some([OrgnlPmtInfAndSts, TxInfAndSts, rest @ ..]) => self.transaction(rest, text),
            Some([OrgnlPmtInfAndSts, rest @ ..]) => self.payment_info(rest, text),
            _ => Ok(()),
        }
    }
}
