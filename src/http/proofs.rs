//! Proofs over the chain's Merkle tree (`docs/proofs.md`) over HTTP: the tree's root, the
//! inclusion of a record, the inclusion of the record that scheduled a payment (a bank sees
//! its own payments only: another bank's payment is a 404 like one that does not exist), and
//! consistency between two tree sizes. Every proof is checked against the root before it is
//! sent; all answer up to the durable head.

use axum::extract::{Path, State};
use axum::response::Response;
use serde::{Deserialize, Serialize};

use super::auth::{Caller, Role};
use super::support::{self, ok, path_id, StrictQuery, Who};
use super::{AppState, Problem};
use crate::app::proofs::{
    checkpoint_for, inclusion_with_checkpoint, latest_checkpoints, payment_inclusion,
    CheckpointEntry, PaymentProofError, ServedCheckpoint, CHECKPOINTS_LISTED_DEFAULT,
    CHECKPOINTS_LISTED_MAX,
};
use crate::chain::hex;
use crate::domain::event::Route;
use crate::domain::types::PaymentId;
use crate::ledger::tree::{ConsistencyProof, InclusionProof, ProveError};
use crate::ledger::Ledger;

/// Runs `f` on the ledger off the async workers (proofs read tiles from the store) and answers
/// with what it gives.
async fn answer<T: Serialize + Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Ledger) -> Result<T, Problem> + Send + 'static,
) -> Result<Response, Problem> {
    let ledger = state.ledger().clone();
    Ok(ok(support::blocking(move || f(&ledger)).await??))
}

fn prove_problem(e: ProveError) -> Problem {
    match e {
        ProveError::OutOfRange(why) => Problem::not_found(why),
        other => Problem::unavailable(&other),
    }
}

fn payment_problem(e: PaymentProofError) -> Problem {
    match e {
        PaymentProofError::NoPayment(id) => Problem::not_found(format!("no payment {id}")),
        PaymentProofError::Prove(e) => prove_problem(e),
        other => Problem::unavailable(&other),
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SizeQuery {
    /// The tree size, in records (default: every durable record).
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The size of the older tree, in records.
    pub old: u64,
    /// The size of the newer tree (default: every durable record).
    #[serde(default)]
    pub new: Option<u64>,
}

/// A tree's size and root, and its checkpoint.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TreeView {
    pub size: u64,
    /// SHA-256 root, hex.
    pub root: String,
    /// The checkpoint (origin line, size, base64 root): the one witnesses cosigned when the
    /// ledger keeps one of this size, else signed by the ledger (a bare body without a key).
    pub checkpoint: String,
    /// The witnesses (names in `[witnesses]`) whose cosignatures `checkpoint` carries.
    pub witnesses: Vec<String>,
}

/// An inclusion proof (`docs/proofs.md` §3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InclusionView {
    pub index: u64,
    pub size: u64,
    /// The record's stored bytes, hex: the leaf is SHA-256(0x00 ‖ record).
    pub record: String,
    /// From the leaf's sibling up, hex.
    pub hashes: Vec<String>,
    pub root: String,
    /// The checkpoint of the proof's tree: when no size is asked for, the tree is the newest
    /// one witnesses cosigned that holds the record (else every durable record), and this
    /// carries their cosignatures (`docs/proofs.md` §7.1).
    pub checkpoint: String,
    /// The witnesses (names in `[witnesses]`) whose cosignatures `checkpoint` carries.
    pub witnesses: Vec<String>,
    /// The proof in the C2SP tlog-proof layout (§3.1), followed by `checkpoint`.
    pub text: String,
    /// For a payment's proof: the payment, e.g. `P12`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<String>,
}

/// A consistency proof (`docs/proofs.md` §3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyView {
    pub old: u64,
    pub new: u64,
    pub old_root: String,
    pub new_root: String,
    pub hashes: Vec<String>,
    /// The proof in the text form of §3.1.
    pub text: String,
}

fn inclusion_view(
    p: &InclusionProof,
    checkpoint: ServedCheckpoint,
    payment: Option<PaymentId>,
) -> InclusionView {
    InclusionView {
        index: p.index,
        size: p.size,
        record: hex(&p.record),
        hashes: p.hashes.iter().map(|h| hex(h)).collect(),
        root: hex(&p.root),
        text: p.to_text_with(&checkpoint.note),
        checkpoint: checkpoint.note,
        witnesses: checkpoint.witnesses,
        payment: payment.map(|id| id.to_string()),
    }
}

fn consistency_view(c: &ConsistencyProof) -> ConsistencyView {
    ConsistencyView {
        old: c.old,
        new: c.new,
        old_root: hex(&c.old_root),
        new_root: hex(&c.new_root),
        hashes: c.hashes.iter().map(|h| hex(h)).collect(),
        text: c.to_text(),
    }
}

#[utoipa::path(
    get,
    path = "/v1/proofs/tree",
    summary = "The Merkle tree's size and root (and checkpoint body)",
    params(SizeQuery),
    responses((status = 200, description = "the tree", body = TreeView)),
)]
pub async fn tree(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<SizeQuery>,
) -> Result<Response, Problem> {
    let witnesses = state.settings();
    answer(&state, move |ledger| {
        let (size, root) = ledger.tree().root(q.size).map_err(prove_problem)?;
        let checkpoint = checkpoint_for(ledger.dir(), &witnesses.witnesses, size, &root)
            .map_err(|e| Problem::unavailable(&e))?;
        Ok(TreeView {
            size,
            root: hex(&root),
            checkpoint: checkpoint.note,
            witnesses: checkpoint.witnesses,
        })
    })
    .await
}

#[utoipa::path(
    get,
    path = "/v1/proofs/inclusion/{seq}",
    summary = "Inclusion proof of a record in the Merkle tree",
    params(("seq" = String, Path, description = "the record's sequence number"), SizeQuery),
    responses((status = 200, description = "the proof", body = InclusionView)),
)]
pub async fn inclusion(
    State(state): State<AppState>,
    Path(seq): Path<String>,
    StrictQuery(q): StrictQuery<SizeQuery>,
) -> Result<Response, Problem> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| Problem::not_found(format!("no record {seq:?}")))?;
    let settings = state.settings();
    answer(&state, move |ledger| {
        let (p, checkpoint) = inclusion_with_checkpoint(
            &ledger.tree(),
            ledger.dir(),
            &settings.witnesses,
            seq,
            q.size,
        )
        .map_err(payment_problem)?;
        Ok(inclusion_view(&p, checkpoint, None))
    })
    .await
}

/// True when the caller may see a payment on this route: banks only their own BIN's.
fn visible(caller: &Caller, route: &Route) -> bool {
    match caller.role {
        Role::Bank => matches!(route, Route::Bank { bin } if Some(*bin) == caller.bin),
        _ => true,
    }
}

#[utoipa::path(
    get,
    path = "/v1/payments/{id}/proof",
    summary = "Inclusion proof of the record that scheduled a payment (a bank sees its own)",
    params(("id" = String, Path, description = "payment id, `P12` or `12`"), SizeQuery),
    responses((status = 200, description = "the proof", body = InclusionView)),
)]
pub async fn payment(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
    StrictQuery(q): StrictQuery<SizeQuery>,
) -> Result<Response, Problem> {
    let payment = path_id(&id, PaymentId::parse)?;
    let settings = state.settings();
    answer(&state, move |ledger| {
        let (p, checkpoint, _) =
            payment_inclusion(ledger, &settings.witnesses, payment, q.size, |r| {
                visible(&who, r)
            })
            .map_err(payment_problem)?;
        Ok(inclusion_view(&p, checkpoint, Some(payment)))
    })
    .await
}

#[utoipa::path(
    get,
    path = "/v1/payments/{id}/receipt",
    summary = "A payment's receipt: facts, the records proving them, their inclusion proofs and the signed checkpoint (a bank sees its own)",
    params(("id" = String, Path, description = "payment id, `P12` or `12`")),
    responses((status = 200, description = "the receipt (docs/proofs.md §6)", body = crate::app::receipts::PaymentReceipt)),
)]
pub async fn receipt(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    use crate::app::receipts::{payment_receipt, ReceiptError};
    let payment = path_id(&id, PaymentId::parse)?;
    let settings = state.settings();
    answer(&state, move |ledger| {
        payment_receipt(ledger, &settings.witnesses, payment, |r| visible(&who, r)).map_err(|e| {
            match e {
                ReceiptError::Payment(e) => payment_problem(e),
                // Nothing to sign the receipt's checkpoint with: the operator's to fix, said plainly.
                ReceiptError::Key(e @ crate::ledger::keys::KeyError::Missing(_)) => Problem::new(
                    axum::http::StatusCode::CONFLICT,
                    "conflict",
                    format!("a receipt needs a signed checkpoint: {e}"),
                ),
                other => Problem::unavailable(&other),
            }
        })
    })
    .await
}

#[utoipa::path(
    get,
    path = "/v1/proofs/consistency",
    summary = "Consistency proof between two sizes of the Merkle tree",
    params(ConsistencyQuery),
    responses((status = 200, description = "the proof", body = ConsistencyView)),
)]
pub async fn consistency(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<ConsistencyQuery>,
) -> Result<Response, Problem> {
    answer(&state, move |ledger| {
        let c = ledger
            .tree()
            .consistency(q.old, q.new)
            .map_err(prove_problem)?;
        Ok(consistency_view(&c))
    })
    .await
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CheckpointsQuery {
    /// How many, newest first (default 10, at most 100).
    #[serde(default)]
    pub limit: Option<usize>,
}

/// The ledger's newest checkpoints.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckpointsView {
    pub checkpoints: Vec<CheckpointEntry>,
}

#[utoipa::path(
    get,
    path = "/v1/proofs/checkpoints",
    summary = "The newest checkpoints (recorded by the writer or cosigned by witnesses) and which witnesses cosigned each",
    params(CheckpointsQuery),
    responses((status = 200, description = "newest first", body = CheckpointsView)),
)]
pub async fn checkpoints(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<CheckpointsQuery>,
) -> Result<Response, Problem> {
    let limit = q.limit.unwrap_or(CHECKPOINTS_LISTED_DEFAULT);
    if !(1..=CHECKPOINTS_LISTED_MAX).contains(&limit) {
        return Err(Problem::bad_request(format!(
            "query: limit is from 1 to {CHECKPOINTS_LISTED_MAX}"
        )));
    }
    let settings = state.settings();
    answer(&state, move |ledger| {
        Ok(CheckpointsView {
            checkpoints: latest_checkpoints(ledger, &settings.witnesses, limit)
                .map_err(|e| Problem::unavailable(&e))?,
        })
    })
    .await
}
