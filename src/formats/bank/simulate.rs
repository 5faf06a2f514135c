//! A bank simulator: writes the status report a bank would send for a payment file, as a
//! schema-valid `pain.002.001.10` or as the status CSV, so the demo and the tests can play
//! the bank without a bank.
//!
//! It writes what it is given (an unknown reason code is written as is), so tests can also
//! make reports the parser must refuse.

use std::collections::BTreeMap;

use crate::domain::types::Vnd;

use super::check::{check_pain001, CheckError, Pain001Transaction};
use super::pain001::PAIN001_MESSAGE_NAME;
use super::pain002::PAIN002_NAMESPACE;
use super::status::Outcome;
use super::status_csv::STATUS_CSV_TAG;
use super::text::{push_i64, push_xml_escaped};
use super::time::IsoDateTime;

/// The report-level facts of a simulated status report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedReport {
    pub message_id: String,
    pub created_at: IsoDateTime,
    pub original_message_id: String,
    pub original_payment_info_id: String,
    /// The reporting bank (`GrpHdr/DbtrAgt/FinInstnId/BICFI`), if it has a BIC.
    pub debtor_agent_bic: Option<String>,
}

/// One transaction's simulated outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedLine {
    pub end_to_end_id: String,
    pub amount: Vnd,
    pub outcome: Outcome,
}

/// Reads a payment file back and lets `decide` choose each transaction's outcome.
pub fn simulate_for_pain001(
    pain001: &[u8],
    message_id: &str,
    created_at: IsoDateTime,
    mut decide: impl FnMut(&Pain001Transaction) -> Outcome,
) -> Result<(SimulatedReport, Vec<SimulatedLine>), Vec<CheckError>> {
    let summary = check_pain001(pain001)?;
    let report = SimulatedReport {
        message_id: message_id.to_owned(),
        created_at,
        original_message_id: summary.message_id.clone(),
        original_payment_info_id: summary
            .payment_info_ids
            .first()
            .cloned()
            .unwrap_or_default(),
        debtor_agent_bic: None,
    };
    let lines = summary
        .transactions
        .iter()
        .map(|tx| SimulatedLine {
            end_to_end_id: tx.end_to_end_id.clone(),
            amount: tx.amount,
            outcome: decide(tx),
        })
        .collect();
    Ok((report, lines))
}

fn status_code(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Settled => "ACSC",
        Outcome::Pending => "ACSP",
        Outcome::Rejected { .. } => "RJCT",
    }
}

/// Count and sum per transaction status, in code order (deterministic).
fn per_status(lines: &[SimulatedLine]) -> BTreeMap<&'static str, (u64, i64)> {
    let mut by = BTreeMap::new();
    for l in lines {
        let e = by.entry(status_code(&l.outcome)).or_insert((0u64, 0i64));
        e.0 += 1;
        e.1 = e.1.saturating_add(l.amount.0);
    }
    by
}

/// The group status: the one status all lines share, or PART.
fn group_status(by: &BTreeMap<&'static str, (u64, i64)>) -> &'static str {
    match by.keys().collect::<Vec<_>>().as_slice() {
        [only] => only,
        [] => "RCVD",
        _ => "PART",
    }
}

fn leaf(out: &mut Vec<u8>, indent: &str, name: &str, text: &str) {
    out.extend_from_slice(indent.as_bytes());
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    push_xml_escaped(out, text);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

fn number_leaf(out: &mut Vec<u8>, indent: &str, name: &str, value: i64) {
    out.extend_from_slice(indent.as_bytes());
    out.push(b'<');
    out.extend_from_slice(name.as_bytes());
    out.push(b'>');
    push_i64(out, value);
    out.extend_from_slice(b"</");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b">\n");
}

/// A pain.002.001.10 reporting `lines` (valid against the official XSD).
pub fn simulate_pain002(report: &SimulatedReport, lines: &[SimulatedLine]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2048 + lines.len() * 300);
    write_pain002_header(&mut out, report, lines);
    out.extend_from_slice(b"    <OrgnlPmtInfAndSts>\n");
    leaf(
        &mut out,
        "      ",
        "OrgnlPmtInfId",
        &report.original_payment_info_id,
    );
    for line in lines {
        write_pain002_line(&mut out, line);
    }
    out.extend_from_slice(b"    </OrgnlPmtInfAndSts>\n  </CstmrPmtStsRpt>\n</Document>\n");
    out
}

fn write_pain002_header(out: &mut Vec<u8>, report: &SimulatedReport, lines: &[SimulatedLine]) {
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Document xmlns=\"");
    out.extend_from_slice(PAIN002_NAMESPACE.as_bytes());
    out.extend_from_slice(b"\">\n  <CstmrPmtStsRpt>\n    <GrpHdr>\n");
    leaf(out, "      ", "MsgId", &report.message_id);
    leaf(out, "      ", "CreDtTm", &report.created_at.to_string());
    if let Some(bic) = &report.debtor_agent_bic {
        out.extend_from_slice(b"      <DbtrAgt>\n        <FinInstnId>\n");
        leaf(out, "          ", "BICFI", bic);
        out.extend_from_slice(b"        </FinInstnId>\n      </DbtrAgt>\n");
    }
    out.extend_from_slice(b"    </GrpHdr>\n    <OrgnlGrpInfAndSts>\n");
    leaf(out, "      ", "OrgnlMsgId", &report.original_message_id);
    leaf(out, "      ", "OrgnlMsgNmId", PAIN001_MESSAGE_NAME);
    let sum = lines.iter().fold(0i64, |s, l| s.saturating_add(l.amount.0));
    number_leaf(out, "      ", "OrgnlNbOfTxs", lines.len() as i64);
    number_leaf(out, "      ", "OrgnlCtrlSum", sum);
    let by = per_status(lines);
    leaf(out, "      ", "GrpSts", group_status(&by));
    for (status, (count, sum)) in &by {
        out.extend_from_slice(b"      <NbOfTxsPerSts>\n");
        number_leaf(out, "        ", "DtldNbOfTxs", *count as i64);
        leaf(out, "        ", "DtldSts", status);
        number_leaf(out, "        ", "DtldCtrlSum", *sum);
        out.extend_from_slice(b"      </NbOfTxsPerSts>\n");
    }
    out.extend_from_slice(b"    </OrgnlGrpInfAndSts>\n");
}

fn write_pain002_line(out: &mut Vec<u8>, line: &SimulatedLine) {
    out.extend_from_slice(b"      <TxInfAndSts>\n");
    leaf(out, "        ", "OrgnlEndToEndId", &line.end_to_end_id);
    leaf(out, "        ", "TxSts", status_code(&line.outcome));
    if let Outcome::Rejected { reason_code } = &line.outcome {
        out.extend_from_slice(b"        <StsRsnInf>\n          <Rsn>\n");
        leaf(out, "            ", "Cd", reason_code);
        out.extend_from_slice(b"          </Rsn>\n        </StsRsnInf>\n");
    }
    out.extend_from_slice(
        b"        <OrgnlTxRef>\n          <Amt>\n            <InstdAmt Ccy=\"VND\">",
    );
    push_i64(out, line.amount.0);
    out.extend_from_slice(
        b"</InstdAmt>\n          </Amt>\n        </OrgnlTxRef>\n      </TxInfAndSts>\n",
    );
}

/// The same report in the status CSV format (see `status_csv`), written by the `csv` crate.
pub fn simulate_status_csv(report: &SimulatedReport, lines: &[SimulatedLine]) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::with_capacity(256 + lines.len() * 40));
    let write = |w: &mut csv::Writer<Vec<u8>>, record: &[&str]| {
        w.write_record(record)
            .expect("writing to a Vec cannot fail");
    };
    write(
        &mut w,
        &[
            "H",
            STATUS_CSV_TAG,
            &report.message_id,
            &report.original_message_id,
            &report.created_at.to_string(),
        ],
    );
    let mut sum = 0i64;
    for line in lines {
        let reason = match &line.outcome {
            Outcome::Rejected { reason_code } => reason_code.as_str(),
            _ => "",
        };
        let amount = line.amount.0.to_string();
        let code = status_code(&line.outcome);
        write(
            &mut w,
            &["D", &line.end_to_end_id, code, reason, &amount, ""],
        );
        sum = sum.saturating_add(line.amount.0);
    }
    write(&mut w, &["T", &lines.len().to_string(), &sum.to_string()]);
    w.into_inner().expect("writing to a Vec cannot fail")
}
