//! The status CSV: the same content as a pain.002 for banks that post CSV, and its parser.
//!
//! ```text
//! H,chitra-status-v1,<message_id>,<original_message_id>,<created_at>
//! D,<end_to_end_id>,<status>,<reason_code>,<amount_vnd>,<additional_info>
//! T,<count_of_D_lines>,<sum_of_amounts_vnd>
//! ```
//!
//! RFC 4180 quoting, UTF-8 (a leading BOM is ignored), CRLF or LF. Statuses and reason codes
//! are the ISO 20022 codes, with the same mapping and checks as the pain.002; the amount is
//! mandatory and whole VND. Limits and errors are shared with the pain.002 parser.

use crate::domain::event::StatusFormat;

use super::amount::parse_vnd;
use super::status::{
    check_reason, check_text, outcome, parse_status, Location, StatusError, StatusLimits,
    StatusLine, StatusReport,
};
use super::text::{MAX105_CHARS, MAX35_CHARS};
use super::time::IsoDateTime;

/// The format tag in the header line; bump it when the columns change.
pub const STATUS_CSV_TAG: &str = "chitra-status-v1";

/// Parses a status CSV.
pub fn parse_status_csv(bytes: &[u8], limits: &StatusLimits) -> Result<StatusReport, StatusError> {
    if bytes.len() > limits.status_report_bytes_max {
        return Err(StatusError::TooLarge {
            bytes: bytes.len(),
            max: limits.status_report_bytes_max,
        });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Err(e) = std::str::from_utf8(bytes) {
        return Err(StatusError::NotUtf8 {
            offset: e.valid_up_to(),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut state = CsvState::default();
    let mut record = csv::StringRecord::new();
    let mut lines = LineCounter {
        bytes,
        offset: 0,
        line: 1,
    };
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let line = lines.at(record.position().map_or(0, |p| p.byte()));
                state.record(&record, line)?;
            }
            Err(e) => {
                let line = lines.at(e.position().map_or(0, |p| p.byte()));
                return Err(csv_error(line, e.to_string()));
            }
        }
    }
    state.finish()
}

/// Line numbers of records from their byte offsets. The csv crate's own line numbers lag by
/// one after a CRLF, and an error message must name the line a person sees in an editor.
struct LineCounter<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: u64,
}

impl LineCounter<'_> {
    /// The 1-based line of the record starting at `byte` (past any line ends left before it).
    fn at(&mut self, byte: u64) -> u64 {
        let mut start = usize::try_from(byte)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.offset {
            self.line += self.bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.offset = start;
        }
        self.line
    }
}

#[derive(Default)]
struct CsvState {
    header: Option<(String, String, IsoDateTime)>,
    lines: Vec<StatusLine>,
    sum: i128,
    trailer_seen: bool,
}

fn csv_error(line: u64, reason: impl Into<String>) -> StatusError {
    StatusError::Csv {
        at: Location::CsvLine(line),
        reason: reason.into(),
    }
}

impl CsvState {
    fn record(&mut self, r: &csv::StringRecord, line: u64) -> Result<(), StatusError> {
        if r.len() == 1 && r[0].trim().is_empty() {
            return Ok(());
        }
        if self.trailer_seen {
            return Err(csv_error(line, "content after the trailer (T) line"));
        }
        match (&r[0], self.header.is_some()) {
            ("H", false) => self.header_line(r, line),
            (_, false) => Err(csv_error(
                line,
                format!("the first line must be the header H,{STATUS_CSV_TAG},..."),
            )),
            ("H", true) => Err(StatusError::Duplicate {
                element: "header (H) line",
                at: Location::CsvLine(line),
            }),
            ("D", true) => self.detail_line(r, line),
            ("T", true) => self.trailer_line(r, line),
            (other, true) => Err(csv_error(
                line,
                format!(
                    "record type {:?} is not H, D or T",
                    other.chars().take(8).collect::<String>()
                ),
            )),
        }
    }

    fn expect_fields(
        r: &csv::StringRecord,
        line: u64,
        n: usize,
        what: &str,
    ) -> Result<(), StatusError> {
        if r.len() != n {
            return Err(csv_error(
                line,
                format!("{what} line has {} fields, expected {n}", r.len()),
            ));
        }
        Ok(())
    }

    fn header_line(&mut self, r: &csv::StringRecord, line: u64) -> Result<(), StatusError> {
        Self::expect_fields(r, line, 5, "header")?;
        if &r[1] != STATUS_CSV_TAG {
            return Err(csv_error(
                line,
                format!("format tag is not {STATUS_CSV_TAG}"),
            ));
        }
        let at = Location::CsvLine(line);
        check_text(&r[2], "message_id", &at, MAX35_CHARS)?;
        check_text(&r[3], "original_message_id", &at, MAX35_CHARS)?;
        let created_at = IsoDateTime::parse(&r[4]).map_err(|e| StatusError::BadValue {
            element: "created_at",
            at,
            text: e.text,
            reason: e.reason.to_owned(),
        })?;
        self.header = Some((r[2].to_owned(), r[3].to_owned(), created_at));
        Ok(())
    }

    fn detail_line(&mut self, r: &csv::StringRecord, line: u64) -> Result<(), StatusError> {
        Self::expect_fields(r, line, 6, "detail (D)")?;
        let at = Location::CsvLine(line);
        check_text(&r[1], "end_to_end_id", &at, MAX35_CHARS)?;
        let status = parse_status(&r[2], "status", &at)?;
        let reason = Some(&r[3]).filter(|s| !s.is_empty());
        let amount = parse_vnd(&r[4]).map_err(|problem| StatusError::BadAmount {
            element: "amount_vnd",
            at: at.clone(),
            text: r[4].chars().take(40).collect(),
            problem,
        })?;
        let additional_info = match &r[5] {
            "" => None,
            text => {
                check_text(text, "additional_info", &at, MAX105_CHARS)?;
                Some(text.to_owned())
            }
        };
        if let Some(code) = reason {
            check_reason(code, &at)?;
        }
        self.sum += i128::from(amount.0);
        self.lines.push(StatusLine {
            position: line,
            end_to_end_id: r[1].to_owned(),
            status,
            outcome: outcome(status, reason, &at)?,
            amount: Some(amount),
            additional_info,
        });
        Ok(())
    }

    fn trailer_line(&mut self, r: &csv::StringRecord, line: u64) -> Result<(), StatusError> {
        Self::expect_fields(r, line, 3, "trailer (T)")?;
        let number = |text: &str, what: &'static str| {
            text.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0 && text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| StatusError::BadValue {
                    element: what,
                    at: Location::CsvLine(line),
                    text: text.chars().take(40).collect(),
                    reason: "not a whole non-negative number".into(),
                })
        };
        let declared_count = number(&r[1], "count")? as u64;
        let declared_sum = number(&r[2], "sum_vnd")?;
        let count = self.lines.len() as u64;
        if declared_count != count || i128::from(declared_sum) != self.sum {
            return Err(StatusError::TrailerMismatch {
                declared_count,
                declared_sum,
                count,
                sum: i64::try_from(self.sum).unwrap_or(i64::MAX),
            });
        }
        self.trailer_seen = true;
        Ok(())
    }

    fn finish(self) -> Result<StatusReport, StatusError> {
        let Some((message_id, original_message_id, created_at)) = self.header else {
            return Err(StatusError::Missing {
                element: "header (H) line",
                at: Location::Report,
            });
        };
        if !self.trailer_seen {
            return Err(StatusError::Missing {
                element: "trailer (T) line",
                at: Location::Report,
            });
        }
        Ok(StatusReport {
            format: StatusFormat::Csv,
            message_id,
            created_at,
            original_message_id,
            original_message_name: None,
            // The trailer totals the report, not the original file: the CSV does not say.
            original_count: None,
            original_sum: None,
            group_status: None,
            group_reason_code: None,
            payment_infos: Vec::new(),
            lines: self.lines,
        })
    }
}
