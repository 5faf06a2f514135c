//! Finding the record a proof is about (`docs/proofs.md`): the record that scheduled a payment,
//! and where the payment went (a bank sees proofs of its own payments only). The CLI and the
//! HTTP API both prove a payment through here, and give every proof the checkpoint readers
//! get: cosigned by the witnesses when the ledger keeps such a one.

use std::collections::BTreeMap;
use std::path::Path;

use super::witness::{cosigned_files, cosigned_for, cosigned_of, WitnessError, COSIGNED_DIR};
use crate::chain::cosign::{split_note, verify_cosignature, CosignerKey};
use crate::chain::merkle::Hash;
use crate::chain::note::Checkpoint;
use crate::domain::event::{Event, Route};
use crate::domain::types::PaymentId;
use crate::ledger::keys::{self, KeyError};
use crate::ledger::tree::{InclusionProof, ProveError, TreeReader};
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
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// The durable record that scheduled payment `id`, found among the records of its beneficiary
/// (a handful, so no index of payments by record is kept); `None` for an unknown payment.
pub fn payment_record(ledger: &Ledger, id: PaymentId) -> Result<Option<PaymentRecord>, ReadError> {
    let Some(who) = ledger.read(|s| s.payment(id).map(|p| p.beneficiary()))? else {
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
/// records (default: the newest cosigned checkpoint's that covers it, else all durable
/// records), with the checkpoint readers get and the payment's route; `visible` says whether
/// the caller may see a payment on that route (otherwise it is reported as unknown).
pub fn payment_inclusion(
    ledger: &Ledger,
    configured: &BTreeMap<String, CosignerKey>,
    id: PaymentId,
    size: Option<u64>,
    visible: impl Fn(&Route) -> bool,
) -> Result<(InclusionProof, ServedCheckpoint, PaymentRecord), PaymentProofError> {
    let record = payment_record(ledger, id)?
        .filter(|r| visible(&r.route))
        .ok_or(PaymentProofError::NoPayment(id))?;
    let (proof, checkpoint) =
        inclusion_with_checkpoint(&ledger.tree(), ledger.dir(), configured, record.seq, size)?;
    Ok((proof, checkpoint, record))
}

/// The checkpoint a reader gets with a proof or a receipt (`docs/proofs.md` §7.1): the one
/// the witnesses cosigned when the ledger keeps one of the proof's tree size (its signature and
/// every cosignature line, as attached), else the ledger's own signature (or the bare body,
/// without a key); with the configured witnesses whose cosignatures it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedCheckpoint {
    pub size: u64,
    /// The C2SP signed note.
    pub note: String,
    /// Names (as in `[witnesses]`) of the witnesses whose cosignature on it verifies.
    pub witnesses: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("the kept cosigned checkpoints: {0}")]
    Cosigned(#[from] WitnessError),
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A kept cosigned checkpoint is not of the tree the records give: the operator's to look
    /// into (an attached checkpoint of another tree is a split view, `chitra verify
    /// --checkpoint` makes the evidence), never served as if it were.
    #[error(
        "the kept cosigned checkpoint of {0} records is not of this chain's tree of that size \
         (check it with `chitra verify --checkpoint {COSIGNED_DIR}/{0}.checkpoint`)"
    )]
    NotThisTree(u64),
}

/// The names of the witnesses in `configured` whose cosignature on `note` verifies.
pub fn cosigners(note: &str, configured: &BTreeMap<String, CosignerKey>) -> Vec<String> {
    configured
        .iter()
        .filter(|(_, key)| verify_cosignature(note, key).is_ok())
        .map(|(name, _)| name.clone())
        .collect()
}

/// The tree size a proof of records below `need` is given in when the reader names none: the
/// newest cosigned checkpoint's that covers them, so the reader can require witnesses; else
/// every one of the tree's `records`.
pub fn proof_size(dir: &Path, need: u64, records: u64) -> Result<u64, CheckpointError> {
    Ok(cosigned_for(dir, need, records)?.map_or(records, |(size, _)| size))
}

/// The checkpoint readers get for the tree of `size` records whose root is `root`
/// (`ServedCheckpoint`).
pub fn checkpoint_for(
    dir: &Path,
    configured: &BTreeMap<String, CosignerKey>,
    size: u64,
    root: &Hash,
) -> Result<ServedCheckpoint, CheckpointError> {
    let Some((_, note)) = cosigned_for(dir, size, size)? else {
        return Ok(ServedCheckpoint {
            size,
            note: keys::checkpoint_text(dir, None, size, root)?,
            witnesses: Vec::new(),
        });
    };
    let kept = split_note(&note)
        .and_then(|(text, _)| Checkpoint::parse(text))
        .map_err(|_| CheckpointError::NotThisTree(size))?;
    if (kept.size, kept.root) != (size, *root) {
        return Err(CheckpointError::NotThisTree(size));
    }
    Ok(ServedCheckpoint {
        size,
        witnesses: cosigners(&note, configured),
        note,
    })
}

/// The inclusion proof of record `seq` in the tree of `size` records, or of the newest
/// cosigned checkpoint that covers it (`proof_size`), with the checkpoint readers get.
pub fn inclusion_with_checkpoint(
    tree: &TreeReader<'_>,
    dir: &Path,
    configured: &BTreeMap<String, CosignerKey>,
    seq: u64,
    size: Option<u64>,
) -> Result<(InclusionProof, ServedCheckpoint), PaymentProofError> {
    let size = match size {
        Some(s) => s,
        None => proof_size(dir, seq.saturating_add(1), tree.records())?,
    };
    let proof = tree.inclusion(seq, Some(size))?;
    let checkpoint = checkpoint_for(dir, configured, proof.size, &proof.root)?;
    Ok((proof, checkpoint))
}

/// Checkpoints listed when the reader asks for no number, and at most.
pub const CHECKPOINTS_LISTED_DEFAULT: usize = 10;
pub const CHECKPOINTS_LISTED_MAX: usize = 100;

/// One of the ledger's checkpoints as `GET /v1/proofs/checkpoints` and the auditors' page list
/// them: recorded in the chain by the writer, kept cosigned by witnesses, or both.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CheckpointEntry {
    /// The tree's size, in records.
    pub size: u64,
    /// SHA-256 root, hex.
    pub root: String,
    /// The record that recorded it in the chain (`checkpoint_recorded`), if the writer did.
    pub seq: Option<u64>,
    /// When that record was written, Unix ms.
    pub recorded_unix_ms: Option<i64>,
    /// The configured witnesses whose cosignature on this tree the ledger keeps and verifies.
    pub witnesses: Vec<String>,
    /// The newest of those cosignatures' times, Unix ms.
    pub cosigned_unix_ms: Option<i64>,
}

/// The `limit` newest checkpoints (by size) over the durable records: those the writer recorded
/// and those witnesses cosigned (`cosigned/`), with which configured witnesses cosigned each.
/// A kept cosignature of another tree than the one recorded at its size counts for nothing.
pub fn latest_checkpoints(
    ledger: &Ledger,
    configured: &BTreeMap<String, CosignerKey>,
    limit: usize,
) -> Result<Vec<CheckpointEntry>, CheckpointError> {
    let durable = ledger.durable_records();
    let recorded: Vec<(u64, crate::domain::event::CheckpointRecorded)> = ledger
        .read(|s| {
            s.checkpoints()
                .iter()
                .rev()
                .filter(|(seq, _)| *seq < durable)
                .take(limit)
                .cloned()
                .collect()
        })
        .map_err(ReadError::from)?;
    let mut by_size = BTreeMap::new();
    for (seq, c) in recorded {
        let at = ledger.event(seq)?.map(|r| r.recorded_at_ms);
        by_size.insert(
            c.tree_size,
            (
                c.root,
                CheckpointEntry {
                    size: c.tree_size,
                    root: crate::chain::hex(&c.root),
                    seq: Some(seq),
                    recorded_unix_ms: at,
                    witnesses: Vec::new(),
                    cosigned_unix_ms: None,
                },
            ),
        );
    }
    let dir = ledger.dir();
    let mut kept: Vec<u64> = cosigned_files(dir)?
        .into_iter()
        .map(|(size, _)| size)
        .filter(|size| *size <= durable)
        .collect();
    kept.sort_unstable_by(|a, b| b.cmp(a));
    for size in kept.into_iter().take(limit) {
        let Some(note) = cosigned_of(dir, size)? else {
            continue;
        };
        let Ok(cp) = split_note(&note).and_then(|(text, _)| Checkpoint::parse(text)) else {
            continue;
        };
        let (root, entry) = by_size.entry(size).or_insert_with(|| {
            (
                cp.root,
                CheckpointEntry {
                    size,
                    root: crate::chain::hex(&cp.root),
                    seq: None,
                    recorded_unix_ms: None,
                    witnesses: Vec::new(),
                    cosigned_unix_ms: None,
                },
            )
        });
        if *root != cp.root || cp.size != size {
            continue;
        }
        for (name, key) in configured {
            if let Ok(secs) = verify_cosignature(&note, key) {
                entry.witnesses.push(name.clone());
                let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
                entry.cosigned_unix_ms = entry.cosigned_unix_ms.max(Some(ms));
            }
        }
    }
    Ok(by_size
        .into_values()
        .rev()
        .take(limit)
        .map(|(_, e)| e)
        .collect())
}
