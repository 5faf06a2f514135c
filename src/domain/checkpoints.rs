//! `decide` for the checkpoints the writer signs on its own (`docs/proofs.md` §4.1): a
//! `record_checkpoint` command carries a signed statement of the Merkle root over every record
//! before it. The domain holds no key and no tree (signing and hashing are the ledger's,
//! `ledger::checkpoints`); it checks what the state knows: the checkpoint covers exactly the
//! records applied so far, it comes after the last one, and it has the shape of a note
//! signature.

use super::command::Rejection;
use super::context::Emitted;
use super::event::{CheckpointRecorded, Event};
use super::state::State;

/// Bytes of a recorded checkpoint signature: the note key ID (4) and the Ed25519 signature (64).
pub const CHECKPOINT_SIGNATURE_BYTES: usize = 68;

/// The principal the writer records its checkpoints as (an admin of the ledger itself).
pub const CHECKPOINT_PRINCIPAL: &str = "admin:chitra-writer";

/// The event that records `c`, or why not.
pub fn record(state: &State, c: CheckpointRecorded) -> Result<Vec<Emitted>, Rejection> {
    if c.tree_size != state.applied() {
        return Err(Rejection::invalid(
            "tree_size",
            format!(
                "a checkpoint covers every record before it: {} records, not {}",
                state.applied(),
                c.tree_size
            ),
        ));
    }
    if let Some((_, last)) = state.checkpoints().last() {
        if c.tree_size <= last.tree_size {
            return Err(Rejection::conflict(format!(
                "the last checkpoint already covers {} records",
                last.tree_size
            )));
        }
    }
    if c.key_name.is_empty() || c.key_name.chars().any(|ch| ch.is_whitespace() || ch == '+') {
        return Err(Rejection::invalid(
            "key_name",
            "a note key name is non-empty, without spaces or `+`",
        ));
    }
    if c.signature.len() != CHECKPOINT_SIGNATURE_BYTES {
        return Err(Rejection::invalid(
            "signature",
            format!("a key ID and an Ed25519 signature are {CHECKPOINT_SIGNATURE_BYTES} bytes"),
        ));
    }
    Ok(vec![Emitted::plain(Event::CheckpointRecorded(Box::new(c)))])
}
