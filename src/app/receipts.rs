//! A payment receipt (`docs/proofs.md` §6): one small self-contained JSON file a beneficiary,
//! a commune or a bank keeps and anyone can check offline with `tools/verify_receipt.py`: the
//! facts a person reads (amount, month, programme, the beneficiary's name masked), the two
//! records that prove them (the payment's `payment_scheduled` and its batch's `batch_opened`),
//! each with its inclusion proof, and the ledger's signed checkpoint of the tree they are in.
//! The CLI (`chitra receipt`) and the API (`GET /v1/payments/{id}/receipt`) both build it here.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::proofs::{checkpoint_for, payment_record, proof_size, PaymentProofError};
use crate::chain::cosign::CosignerKey;
use crate::domain::event::{Event, ItemKind, Route};
use crate::domain::types::{BatchId, PaymentId};
use crate::ledger::keys::{self, KeyError};
use crate::ledger::tree::{InclusionProof, ProveError};
use crate::ledger::{Ledger, ReadError};

/// The first line of every receipt: its format and version.
pub const RECEIPT_FORMAT: &str = "chitra-receipt/v1";

/// Records read back at first when looking for a batch's opening before its payment; the
/// window doubles until it is found.
const BATCH_SEARCH_RECORDS_MIN: u64 = 4096;

#[derive(Debug, thiserror::Error)]
pub enum ReceiptError {
    #[error(transparent)]
    Payment(#[from] PaymentProofError),
    #[error("a receipt needs a signed checkpoint: {0}")]
    Key(#[from] KeyError),
    #[error("the record that opened batch {0} is missing from the chain")]
    NoBatchRecord(BatchId),
}

impl From<ReadError> for ReceiptError {
    fn from(e: ReadError) -> ReceiptError {
        ReceiptError::Payment(PaymentProofError::Read(e))
    }
}

impl From<ProveError> for ReceiptError {
    fn from(e: ProveError) -> ReceiptError {
        ReceiptError::Payment(PaymentProofError::Prove(e))
    }
}

/// A payment receipt, as written to its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PaymentReceipt {
    /// Always `chitra-receipt/v1`.
    pub receipt: String,
    pub facts: ReceiptFacts,
    /// The `payment_scheduled` record of the payment.
    pub payment_record: ProvedRecord,
    /// The `batch_opened` record of its batch (programme and month).
    pub batch_record: ProvedRecord,
    /// The ledger's signed checkpoint (C2SP signed note) of the tree both proofs lead to, with
    /// its witnesses' cosignatures when the ledger keeps a cosigned one that covers them.
    pub checkpoint: String,
    /// The witnesses (by their names in the ledger's `[witnesses]`) whose cosignatures the
    /// checkpoint carries; a verifier requires the ones it trusts by their keys, not by this.
    #[serde(default)]
    pub witnesses: Vec<String>,
    /// The ledger's note verifier key, for convenience: a verifier should be given the key it
    /// trusts from elsewhere (published by the department) and compare.
    pub ledger_key: String,
}

/// What a person reads on the receipt. Every field but `beneficiary_name` is proven by the
/// records; the name is personal data, which the chain holds only a commitment to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptFacts {
    /// The payment, e.g. `P12`, and its number.
    pub payment: String,
    pub payment_id: u64,
    pub batch_id: u64,
    pub beneficiary_id: u64,
    /// The beneficiary's name, masked (initials only); not proven.
    pub beneficiary_name: String,
    /// `NCC`, `BTXH` or `HTXH`.
    pub programme: String,
    /// The month the batch pays, `YYYY-MM`.
    pub month: String,
    /// The amount paid, whole VND.
    pub amount_vnd: i64,
    /// `bank <BIN>` or `cash <commune code>`.
    pub route: String,
    pub items: Vec<ReceiptItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReceiptItem {
    /// The month the item pays for, `YYYY-MM`.
    pub month: String,
    /// `regular`, `arrears`, `recovery` or `one_off`.
    pub kind: String,
    pub amount_vnd: i64,
}

/// One record with its inclusion proof (the tree's size is the checkpoint's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProvedRecord {
    pub seq: u64,
    /// The record's stored bytes, base64.
    pub record: String,
    /// The inclusion proof's hashes, base64, from the leaf's sibling up.
    pub proof: Vec<String>,
}

impl From<&InclusionProof> for ProvedRecord {
    fn from(p: &InclusionProof) -> ProvedRecord {
        ProvedRecord {
            seq: p.index,
            record: B64.encode(&p.record),
            proof: p.hashes.iter().map(|h| B64.encode(h)).collect(),
        }
    }
}

/// A name masked to its initials: `Nguyễn Thị Lan` → `N. T. L.`.
pub fn mask_name(name: &str) -> String {
    name.split_whitespace()
        .filter_map(|w| w.chars().next())
        .map(|c| format!("{c}."))
        .collect::<Vec<_>>()
        .join(" ")
}

fn kind_name(k: ItemKind) -> &'static str {
    match k {
        ItemKind::Regular => "regular",
        ItemKind::Arrears => "arrears",
        ItemKind::Recovery => "recovery",
        ItemKind::OneOff => "one_off",
    }
}

/// The seq of the record that opened `batch`, at or before `before`: read back in windows
/// that double, so a batch opened just before its payments costs one small read.
fn batch_opened_seq(ledger: &Ledger, batch: BatchId, before: u64) -> Result<u64, ReceiptError> {
    let mut to = before;
    let mut window = BATCH_SEARCH_RECORDS_MIN;
    while to > 0 {
        let from = to.saturating_sub(window);
        let found = ledger.find_event(
            from,
            to,
            |e| matches!(e, Event::BatchOpened(o) if o.batch == batch),
        )?;
        if let Some(r) = found {
            return Ok(r.seq);
        }
        to = from;
        window = window.saturating_mul(2);
    }
    Err(ReceiptError::NoBatchRecord(batch))
}

/// The receipt of payment `id`, in the tree of the newest cosigned checkpoint that covers its
/// records, else of every durable record; `configured` are the witnesses the ledger knows (to
/// say which cosigned); `visible` says whether the caller may see a payment on its route
/// (otherwise it is unknown, as for the proof).
pub fn payment_receipt(
    ledger: &Ledger,
    configured: &BTreeMap<String, CosignerKey>,
    id: PaymentId,
    visible: impl Fn(&Route) -> bool,
) -> Result<PaymentReceipt, ReceiptError> {
    let record = payment_record(ledger, id)?
        .filter(|r| visible(&r.route))
        .ok_or(PaymentProofError::NoPayment(id))?;
    let signer = keys::require(ledger.dir())?;
    let Some(Event::PaymentScheduled(pay)) = ledger.event(record.seq)?.map(|r| r.event) else {
        return Err(PaymentProofError::NoPayment(id).into());
    };
    let opened_seq = batch_opened_seq(ledger, pay.batch, record.seq)?;
    let Some(Event::BatchOpened(opened)) = ledger.event(opened_seq)?.map(|r| r.event) else {
        return Err(ReceiptError::NoBatchRecord(pay.batch));
    };
    let tree = ledger.tree();
    // A checkpoint witnesses cosigned, when one covers both records; else a fresh one.
    let need = record.seq.max(opened_seq) + 1;
    let size = proof_size(ledger.dir(), need, tree.records()).map_err(PaymentProofError::from)?;
    let pay_proof = tree.inclusion(record.seq, Some(size))?;
    let batch_proof = tree.inclusion(opened_seq, Some(size))?;
    let checkpoint = checkpoint_for(ledger.dir(), configured, size, &pay_proof.root)
        .map_err(PaymentProofError::from)?;
    let name = ledger
        .read(|s| {
            s.beneficiary(pay.beneficiary)
                .and_then(|b| b.identity.known().map(|i| mask_name(&i.full_name)))
        })
        .map_err(ReadError::from)?
        .unwrap_or_else(|| "(erased)".to_owned());
    let facts = ReceiptFacts {
        payment: id.to_string(),
        payment_id: id.0,
        batch_id: pay.batch.0,
        beneficiary_id: pay.beneficiary.0,
        beneficiary_name: name,
        programme: opened.programme.code().to_owned(),
        month: opened.month.to_string(),
        amount_vnd: pay.amount.0,
        route: match pay.route {
            Route::Bank { bin } => format!("bank {bin}"),
            Route::Cash { pay_point } => format!("cash {pay_point}"),
        },
        items: pay
            .items
            .iter()
            .map(|i| ReceiptItem {
                month: i.source_month.to_string(),
                kind: kind_name(i.kind).to_owned(),
                amount_vnd: i.amount.0,
            })
            .collect(),
    };
    Ok(PaymentReceipt {
        receipt: RECEIPT_FORMAT.to_owned(),
        facts,
        payment_record: (&pay_proof).into(),
        batch_record: (&batch_proof).into(),
        checkpoint: checkpoint.note,
        witnesses: checkpoint.witnesses,
        ledger_key: signer.verifier().to_string(),
    })
}
