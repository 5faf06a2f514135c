//! Finding the record a proof is about (`docs/proofs.md`): the record that scheduled a payment,
//! and where the payment went (a bank sees proofs of its own payments only). The CLI and the
//! HTTP API both prove a payment through here.

use crate::domain::event::{Event, Route};
use crate::domain::types::PaymentId;
use crate::ledger::tree::{InclusionProof, ProveError};
use crate::ledger::{Ledger, ReadError};

/// The record that scheduled a payment, and the route it was scheduled on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub seq: u64,
    pub route: Route,
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentProofError {
    #[error("no payment {0}")]
    NoPayment(PaymentId),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Prove(#[from] ProveError),
}

/// The durable record that scheduled payment `id`, found among the records of its beneficiary
/// (a handful, so no index of payments by record is kept); `None` for an unknown payment.
pub fn payment_record(ledger: &Ledger, id: PaymentId) -> Result<Option<PaymentRecord>, ReadError> {
    let Some(who) = ledger.read(|s| s.payment(id).map(|p| p.beneficiary))? else {
        return Ok(None);
    };
    Ok(ledger
        .history(who)?
        .into_iter()
        .find_map(|r| match r.event {
            Event::PaymentScheduled(e) if e.payment == id => Some(PaymentRecord {
                seq: r.seq,
                route: e.route,
            }),
            _ => None,
        }))
}

/// The inclusion proof of the record that scheduled payment `id`, in the tree of `size`
/// records (default: all durable records), with the payment's route; `visible` says whether
/// the caller may see a payment on that route (otherwise it is reported as unknown).
pub fn payment_inclusion(
    ledger: &Ledger,
    id: PaymentId,
    size: Option<u64>,
    visible: impl Fn(&Route) -> bool,
) -> Result<(InclusionProof, PaymentRecord), PaymentProofError> {
    let record = payment_record(ledger, id)?
        .filter(|r| visible(&r.route))
        .ok_or(PaymentProofError::NoPayment(id))?;
    let proof = ledger.tree().inclusion(record.seq, size)?;
    Ok((proof, record))
}
