//! The ISO 20022 `pain.001.001.09` writer: one credit-transfer initiation per batch and bank.
//!
//! The element mapping (every element, where its value comes from, its limit) is the table in
//! `docs/payment-files.md`. Output is deterministic: no clock, no map iteration, lines in the
//! order given, fixed two-space indentation, LF line ends, UTF-8 without BOM.

use std::io::Write;

use super::spec::{
    prepare, FileSummary, PaymentFileSpec, PaymentLine, Prepared, PreparedLine, SpecError,
};
use super::text::{push_i64, push_u64, push_xml_escaped};

/// The namespace of the message we write.
pub const PAIN001_NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09";
/// The message name a status report quotes back as `OrgnlMsgNmId`.
pub const PAIN001_MESSAGE_NAME: &str = "pain.001.001.09";

/// Bytes buffered before handing them to the caller's writer.
const CHUNK_BYTES: usize = 64 * 1024;

/// Why a file could not be written: bad input (nothing was written) or the writer failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("writing the file failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Buffers output in chunks so a million small pieces are not a million `write` calls.
pub(crate) struct Sink<W: Write> {
    out: W,
    pub buf: Vec<u8>,
    written: u64,
}

impl<W: Write> Sink<W> {
    pub fn new(out: W) -> Sink<W> {
        Sink {
            out,
            buf: Vec::with_capacity(CHUNK_BYTES + 4096),
            written: 0,
        }
    }

    pub fn maybe_flush(&mut self) -> std::io::Result<()> {
        if self.buf.len() >= CHUNK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.write_all(&self.buf)?;
        self.written += self.buf.len() as u64;
        self.buf.clear();
        Ok(())
    }

    /// Flushes and returns the total byte count.
    pub fn finish(mut self) -> std::io::Result<u64> {
        self.flush()?;
        self.out.flush()?;
        Ok(self.written)
    }
}

/// Writes the pain.001 for `lines` to `out`. Validates everything first: on `SpecError`
/// nothing has been written.
pub fn write_pain001<W: Write>(
    spec: &PaymentFileSpec,
    lines: &[PaymentLine],
    out: W,
) -> Result<FileSummary, WriteError> {
    let prepared = prepare(spec, lines)?;
    let mut sink = Sink::new(out);
    write_header(&mut sink.buf, &prepared);
    for line in &prepared.lines {
        write_transaction(&mut sink.buf, line);
        sink.maybe_flush()?;
    }
    sink.buf
        .extend_from_slice(b"    </PmtInf>\n  </CstmrCdtTrfInitn>\n</Document>\n");
    let bytes = sink.finish()?;
    Ok(FileSummary {
        totals: prepared.totals,
        bytes,
        truncated: prepared.truncated,
    })
}

/// `write_pain001` into a new byte vector.
pub fn pain001_bytes(
    spec: &PaymentFileSpec,
    lines: &[PaymentLine],
) -> Result<(Vec<u8>, FileSummary), SpecError> {
    let mut out = Vec::with_capacity(1024 + lines.len() * 1024);
    match write_pain001(spec, lines, &mut out) {
        Ok(summary) => Ok((out, summary)),
        Err(WriteError::Spec(e)) => Err(e),
        Err(WriteError::Io(e)) => unreachable!("writing to a Vec cannot fail: {e}"),
    }
}

fn element(out: &mut Vec<u8>, indent: &[u8], open: &[u8], text: &str, close: &[u8]) {
    out.extend_from_slice(indent);
    out.extend_from_slice(open);
    push_xml_escaped(out, text);
    out.extend_from_slice(close);
}

/// The initiating party and debtor share one identification: name and budget-unit code.
fn party(out: &mut Vec<u8>, indent: &'static str, name: &str, budget_unit_code: &str) {
    let i = indent.as_bytes();
    element(out, i, b"<Nm>", name, b"</Nm>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"<Id>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"  <OrgId>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"    <Othr>\n");
    element(out, i, b"      <Id>", budget_unit_code, b"</Id>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"      <SchmeNm><Prtry>MA_DVQHNS</Prtry></SchmeNm>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"    </Othr>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"  </OrgId>\n");
    out.extend_from_slice(i);
    out.extend_from_slice(b"</Id>\n");
}

/// `FinInstnId` content: the BIC when known, always the NAPAS BIN.
fn agent(out: &mut Vec<u8>, indent: &[u8], bic: Option<&str>, bin: u32) {
    if let Some(bic) = bic {
        element(out, indent, b"<BICFI>", bic, b"</BICFI>\n");
    }
    out.extend_from_slice(indent);
    out.extend_from_slice(b"<ClrSysMmbId>\n");
    out.extend_from_slice(indent);
    out.extend_from_slice(b"  <ClrSysId><Prtry>NAPAS</Prtry></ClrSysId>\n");
    out.extend_from_slice(indent);
    out.extend_from_slice(b"  <MmbId>");
    push_bin(out, bin);
    out.extend_from_slice(b"</MmbId>\n");
    out.extend_from_slice(indent);
    out.extend_from_slice(b"</ClrSysMmbId>\n");
}

/// A BIN is six digits with leading zeros kept.
fn push_bin(out: &mut Vec<u8>, bin: u32) {
    let mut digits = [b'0'; 6];
    let mut v = bin;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits);
}

fn write_header(out: &mut Vec<u8>, p: &Prepared<'_>) {
    let spec = p.spec;
    out.extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.extend_from_slice(b"<Document xmlns=\"");
    out.extend_from_slice(PAIN001_NAMESPACE.as_bytes());
    out.extend_from_slice(b"\">\n  <CstmrCdtTrfInitn>\n    <GrpHdr>\n");
    element(out, b"      ", b"<MsgId>", &spec.message_id, b"</MsgId>\n");
    element(
        out,
        b"      ",
        b"<CreDtTm>",
        &spec.created_at.to_string(),
        b"</CreDtTm>\n",
    );
    write_count_and_sum(out, b"      ", p);
    out.extend_from_slice(b"      <InitgPty>\n");
    party(
        out,
        "        ",
        &p.debtor_name,
        &spec.debtor.budget_unit_code,
    );
    out.extend_from_slice(b"      </InitgPty>\n    </GrpHdr>\n    <PmtInf>\n");
    element(
        out,
        b"      ",
        b"<PmtInfId>",
        &p.payment_info_id,
        b"</PmtInfId>\n",
    );
    out.extend_from_slice(b"      <PmtMtd>TRF</PmtMtd>\n      <BtchBookg>true</BtchBookg>\n");
    write_count_and_sum(out, b"      ", p);
    out.extend_from_slice(
        b"      <PmtTpInf>\n        <CtgyPurp><Cd>SSBE</Cd></CtgyPurp>\n      </PmtTpInf>\n",
    );
    element(
        out,
        b"      ",
        b"<ReqdExctnDt>\n        <Dt>",
        &spec.requested_execution_date.to_string(),
        b"</Dt>\n      </ReqdExctnDt>\n",
    );
    out.extend_from_slice(b"      <Dbtr>\n");
    party(
        out,
        "        ",
        &p.debtor_name,
        &spec.debtor.budget_unit_code,
    );
    out.extend_from_slice(b"      </Dbtr>\n      <DbtrAcct>\n        <Id>\n          <Othr>\n");
    element(
        out,
        b"            ",
        b"<Id>",
        spec.debtor.funding_account.expose(),
        b"</Id>\n",
    );
    out.extend_from_slice(
        b"            <SchmeNm><Cd>BBAN</Cd></SchmeNm>\n          </Othr>\n        </Id>\n        <Ccy>VND</Ccy>\n      </DbtrAcct>\n      <DbtrAgt>\n        <FinInstnId>\n",
    );
    agent(
        out,
        b"          ",
        p.debtor_bic.as_deref(),
        spec.debtor.bank_bin.value(),
    );
    out.extend_from_slice(
        b"        </FinInstnId>\n      </DbtrAgt>\n      <ChrgBr>DEBT</ChrgBr>\n",
    );
}

fn write_count_and_sum(out: &mut Vec<u8>, indent: &[u8], p: &Prepared<'_>) {
    out.extend_from_slice(indent);
    out.extend_from_slice(b"<NbOfTxs>");
    push_u64(out, p.totals.count);
    out.extend_from_slice(b"</NbOfTxs>\n");
    out.extend_from_slice(indent);
    out.extend_from_slice(b"<CtrlSum>");
    push_i64(out, p.totals.sum.0);
    out.extend_from_slice(b"</CtrlSum>\n");
}

fn write_transaction(out: &mut Vec<u8>, l: &PreparedLine<'_>) {
    let line = l.line;
    out.extend_from_slice(b"      <CdtTrfTxInf>\n        <PmtId>\n          <EndToEndId>P");
    push_u64(out, line.payment.0);
    out.extend_from_slice(
        b"</EndToEndId>\n        </PmtId>\n        <Amt>\n          <InstdAmt Ccy=\"VND\">",
    );
    push_i64(out, line.amount.0);
    out.extend_from_slice(
        b"</InstdAmt>\n        </Amt>\n        <CdtrAgt>\n          <FinInstnId>\n",
    );
    agent(out, b"            ", l.bic, line.bank_bin.value());
    out.extend_from_slice(b"          </FinInstnId>\n        </CdtrAgt>\n        <Cdtr>\n");
    element(out, b"          ", b"<Nm>", &l.name, b"</Nm>\n");
    out.extend_from_slice(
        b"          <Id>\n            <PrvtId>\n              <Othr>\n                <Id>",
    );
    out.extend_from_slice(line.citizen_id.expose().as_bytes());
    out.extend_from_slice(
        b"</Id>\n                <SchmeNm><Cd>NIDN</Cd></SchmeNm>\n              </Othr>\n            </PrvtId>\n          </Id>\n        </Cdtr>\n        <CdtrAcct>\n          <Id>\n            <Othr>\n              <Id>",
    );
    // Account numbers are ASCII letters and digits by construction: nothing to escape.
    out.extend_from_slice(line.account.expose().as_bytes());
    out.extend_from_slice(
        b"</Id>\n              <SchmeNm><Cd>BBAN</Cd></SchmeNm>\n            </Othr>\n          </Id>\n        </CdtrAcct>\n        <Purp><Cd>SSBE</Cd></Purp>\n        <RmtInf>\n",
    );
    element(out, b"          ", b"<Ustrd>", &l.remittance, b"</Ustrd>\n");
    out.extend_from_slice(b"        </RmtInf>\n      </CdtTrfTxInf>\n");
}
