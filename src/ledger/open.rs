//! Opening a ledger: start from the newest snapshot of the state that fits the chain (if any,
//! `snapshot`), verify and replay every record after it, rebuild the idempotency index, then
//! start the writer. A chain that does not verify is not opened: the error names the first bad
//! sequence number, as `chitra verify` would.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Condvar, Mutex, RwLock};

use super::tree::TreeCheck;
use super::writer::{Recovered, Writer};
use super::{
    Config, Durable, IdempotencyEntry, IdempotencyIndex, Ledger, Receipt, Shared, WriterHandle,
    QUEUE_JOBS_MAX,
};
use crate::chain::block::{decode_personal_block, for_each_record, PersonalEntry};
use crate::chain::merkle::TreeBuilder;
use crate::chain::record::{parse_record, record_hash, RecordView};
use crate::chain::{Anchor, Fault, Verifier};
use crate::domain::state::{Attachment, Inconsistency};
use crate::domain::State;
use crate::ledger::codec;
use crate::store::{opening_step, Store, StoreError, StoredBytes};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("cannot create the data directory {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the chain does not verify: {0} (run `chitra verify` for details)")]
    Tampered(Fault),
    #[error("seq {seq}: {reason}")]
    Corrupt { seq: u64, reason: String },
    #[error(transparent)]
    Inconsistent(#[from] Inconsistency),
    #[error(transparent)]
    Tree(#[from] super::tree::TreeError),
}

/// The idempotency key being followed through consecutive records: its index key, the entry
/// being built, and whether the entry's salt was seen yet.
type KeyRun = Option<((String, Vec<u8>), IdempotencyEntry, bool)>;

/// What replay learns besides the state.
struct Replayed {
    last_ms: i64,
    idempotency: IdempotencyIndex,
}

/// Where replay starts: from nothing, or after the record a snapshot reflects.
struct Start {
    /// The snapshot's last record, which the verifier continues from.
    last_record: Option<Vec<u8>>,
    tree: TreeBuilder,
    replayed: Replayed,
}

impl Start {
    fn empty() -> Start {
        Start {
            last_record: None,
            tree: TreeBuilder::new(),
            replayed: Replayed {
                last_ms: 0,
                idempotency: IdempotencyIndex::new(),
            },
        }
    }
}

pub(super) fn open(config: Config) -> Result<Ledger, OpenError> {
    std::fs::create_dir_all(&config.dir).map_err(|source| OpenError::CreateDir {
        path: config.dir.display().to_string(),
        source,
    })?;
    let (store, early) = super::snapshot::open_beside_newest(&config.dir)?;
    // A large group cut short by a crash left blocks nobody was told about: drop them.
    store.discard_interrupted_group()?;
    let anchor = store.head_anchor()?;
    let fitting = opening_step("snapshot fitted", || {
        super::snapshot::newest_fitting(&store, anchor, early)
    });
    let mut frozen = super::frozen::Mapped::default();
    let (mut state, start) = match fitting {
        Some((snap, last_record)) => (
            {
                frozen = snap.mapped;
                snap.state
            },
            Start {
                last_record: Some(last_record),
                tree: snap.tree,
                replayed: Replayed {
                    last_ms: snap.last_ms,
                    idempotency: snap.idempotency,
                },
            },
        ),
        None => (State::new(), Start::empty()),
    };
    let snapshot_records = state.applied();
    let erased_in_snapshot = state.erased_records().len();
    let (replayed, verified, tree) = opening_step("tail replayed", || {
        replay_and_verify(&store, anchor, &mut state, start)
    })?;
    let head = verified;
    // An erasure whose store cleanup was interrupted by a crash is finished now, snapshots
    // holding the erased data included.
    if !state.erased_records().is_empty() {
        store.erase_personal(state.erased_records())?;
    }
    if state.erased_records().len() != erased_in_snapshot {
        store.remove_snapshots(state.applied())?;
    }
    let records = state.applied();
    let (tx, rx) = crossbeam_channel::bounded(QUEUE_JOBS_MAX);
    let shared = Arc::new(Shared {
        dir: config.dir.clone(),
        clock: Arc::clone(&config.clock),
        store,
        state: RwLock::new(state),
        durable: Durable {
            records: Mutex::new(records),
            head: Mutex::new(head),
            changed: Condvar::new(),
            watch: tokio::sync::watch::Sender::new(records),
        },
        stopped: AtomicBool::new(false),
        stop_reason: Mutex::new(None),
        metrics: Default::default(),
        frozen: Mutex::new(frozen),
    });
    let recovered = Recovered {
        head,
        last_ms: replayed.last_ms,
        idempotency: replayed.idempotency,
        tree,
        snapshot_records,
    };
    let writer = Writer::new(Arc::clone(&shared), rx, config, recovered);
    let thread = std::thread::Builder::new()
        .name("chitra-writer".into())
        .spawn(move || writer.run())
        .expect("spawning the writer thread");
    Ok(Ledger {
        shared,
        submit: tx.clone(),
        _writer: Arc::new(WriterHandle {
            thread: Mutex::new(Some(thread)),
            stop: Mutex::new(Some(tx)),
        }),
        opening: super::Opening {
            snapshot_records,
            replayed_records: records - snapshot_records,
        },
    })
}

/// Blocks as the replay hands them to the verifier thread.
type VerifyChunk = Vec<(StoredBytes, Option<StoredBytes>)>;

/// Replays the chain into `state` on this thread while a second thread hashes and verifies it.
///
/// The verifier thread only checks what it is given; whether the chain has ended is decided
/// here. When replay stops on an error, the channel closes early, and finishing the verifier
/// then would report an artefact (`truncated` where replay stopped) instead of the damage. So
/// the verifier finishes (the anchor check) only after a complete replay; after a failed one,
/// the first error wins: the verifier's fault if it is at or before the replay's seq (damage
/// explains a replay error), otherwise the replay's own.
fn replay_and_verify(
    store: &Store,
    anchor: Option<Anchor>,
    state: &mut State,
    start: Start,
) -> Result<(Replayed, Option<Anchor>, TreeBuilder), OpenError> {
    let (tx, rx) = crossbeam_channel::bounded::<VerifyChunk>(8);
    let Start {
        last_record,
        tree,
        replayed,
    } = start;
    std::thread::scope(|scope| {
        let verifier = scope.spawn(move || -> Result<(Verifier, TreeCheck<'_>), OpenError> {
            let mut v = match &last_record {
                Some(last) => Verifier::resume(anchor, last).map_err(OpenError::Tampered)?,
                None => Verifier::new(anchor),
            };
            // The Merkle tree is rebuilt from the records on this thread too, and its stored
            // tiles checked as they fill.
            let mut tree = TreeCheck::resume(store, tree);
            for chunk in rx {
                for (records, personal) in chunk {
                    v.push_block(&records).map_err(OpenError::Tampered)?;
                    tree.push_block(&records);
                    if let Some(p) = personal {
                        crate::ledger::verify::check_personal_block(&records, &p).map_err(|e| {
                            OpenError::Corrupt {
                                seq: v.next_seq(),
                                reason: e.to_string(),
                            }
                        })?;
                    }
                }
            }
            Ok((v, tree))
        });
        let replayed = replay(store, state, &tx, replayed);
        drop(tx);
        let verified = verifier.join().expect("verifier thread panicked");
        let replayed = match replayed {
            Ok(r) => r,
            Err(e) => return Err(first_error(e, verified.err())),
        };
        let (verifier, tree) = verified?;
        let head = verifier.finish().map_err(OpenError::Tampered)?.head;
        // Only a chain that verifies is compared with its tiles, so that damage to a record
        // is named by the verifier rather than seen as a tile that disagrees.
        let tree = tree.finish()?;
        if anchor.is_none() && head.is_some() {
            return Err(OpenError::Corrupt {
                seq: 0,
                reason: "records exist but the head anchor is missing".into(),
            });
        }
        Ok((replayed, head, tree))
    })
}

/// The seq an error names, if any.
fn error_seq(e: &OpenError) -> Option<u64> {
    match e {
        OpenError::Tampered(f) => Some(f.seq),
        OpenError::Corrupt { seq, .. } => Some(*seq),
        OpenError::Inconsistent(i) => Some(i.seq),
        OpenError::CreateDir { .. } | OpenError::Store(_) | OpenError::Tree(_) => None,
    }
}

/// Of a replay error and the verifier's (if it found one), the one at the lower seq; the
/// verifier's on a tie, since damage explains a replay error.
fn first_error(replay: OpenError, verifier: Option<OpenError>) -> OpenError {
    match verifier {
        Some(v) if error_seq(&v) <= error_seq(&replay).or(Some(u64::MAX)) => v,
        _ => replay,
    }
}

/// Blocks handed to the verifier thread at a time (one channel message).
const VERIFY_CHUNK_BLOCKS: usize = 128;

fn replay(
    store: &Store,
    state: &mut State,
    to_verifier: &crossbeam_channel::Sender<VerifyChunk>,
    from: Replayed,
) -> Result<Replayed, OpenError> {
    let mut chunk = Vec::with_capacity(VERIFY_CHUNK_BLOCKS);
    // After a snapshot, the blocks from its next record (a snapshot always ends a block; the
    // block `blocks_from` finds when nothing follows is the snapshot's own, already applied).
    let next = state.applied();
    let mut blocks = store
        .blocks_from(next)
        .skip_while(move |b| matches!(b, Ok(b) if b.first_seq < next));
    let replayed = replay_blocks(&mut blocks, state, &mut chunk, to_verifier, from);
    if let Err(e) = &replayed {
        // The verifier judges a record's link when it sees the next one, and names an altered
        // record from the two after it: hand it the blocks up to two records past the failure,
        // so that damage there is named rather than the place where reading stopped.
        if let Some(failed_at) = error_seq(e) {
            for block in blocks.by_ref() {
                let Ok(block) = block else { break };
                let first_seq = block.first_seq;
                chunk.push((block.records, block.personal));
                if first_seq > failed_at.saturating_add(1) {
                    break;
                }
            }
        }
    }
    let _ = to_verifier.send(chunk);
    replayed
}

/// Replays every block from `blocks`, putting each in `chunk` for the verifier first.
fn replay_blocks(
    blocks: &mut impl Iterator<Item = Result<crate::store::StoredBlock, StoreError>>,
    state: &mut State,
    chunk: &mut VerifyChunk,
    to_verifier: &crossbeam_channel::Sender<VerifyChunk>,
    mut out: Replayed,
) -> Result<Replayed, OpenError> {
    let mut run: KeyRun = None;
    for block in blocks {
        let block = block?;
        chunk.push((block.records.clone(), block.personal.clone()));
        if chunk.len() == VERIFY_CHUNK_BLOCKS {
            let _ = to_verifier.send(std::mem::replace(
                chunk,
                Vec::with_capacity(VERIFY_CHUNK_BLOCKS),
            ));
        }
        let personal = match &block.personal {
            Some(bytes) => decode_personal_block(bytes).map_err(|e| OpenError::Corrupt {
                seq: block.first_seq,
                reason: e.to_string(),
            })?,
            None => Vec::new(),
        };
        let mut personal = personal.into_iter().peekable();
        let mut failure = None;
        let walked = for_each_record(&block.records, |bytes| {
            if failure.is_some() {
                return;
            }
            let seq = state.applied();
            let result = parse_record(bytes)
                .map_err(|e| OpenError::Corrupt {
                    seq,
                    reason: e.to_string(),
                })
                .and_then(|view| {
                    let entry = personal.next_if(|e| e.seq == view.header.seq);
                    replay_record(state, &view, entry, &mut out, &mut run)
                });
            if let Err(e) = result {
                failure = Some(e);
            }
        });
        walked.map_err(|e| OpenError::Corrupt {
            seq: block.first_seq,
            reason: e.to_string(),
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        if let Some(extra) = personal.next() {
            return Err(OpenError::Corrupt {
                seq: extra.seq,
                reason: "personal data stored for a record that has none".into(),
            });
        }
    }
    if let Some((key, entry, _)) = run.take() {
        out.idempotency.insert(key, entry);
    }
    Ok(out)
}

fn replay_record(
    state: &mut State,
    view: &RecordView<'_>,
    entry: Option<PersonalEntry>,
    out: &mut Replayed,
    run: &mut KeyRun,
) -> Result<(), OpenError> {
    let h = &view.header;
    let corrupt = |reason: String| OpenError::Corrupt { seq: h.seq, reason };
    let event =
        codec::decode_event(h.payload_version, view.payload).map_err(|e| corrupt(e.to_string()))?;
    let salt = entry.as_ref().map(|e| e.salt);
    let attachment = match (h.personal_commitment, entry) {
        (None, None) => Attachment::None,
        (None, Some(_)) => {
            return Err(corrupt(
                "personal data stored for a record that has none".into(),
            ))
        }
        (Some(_), None) => Attachment::Erased,
        // The verifier thread checks the entry against the record's commitment.
        (Some(_), Some(e)) => Attachment::Present(
            codec::decode_personal(&e.bytes).map_err(|e| corrupt(e.to_string()))?,
        ),
    };
    state.apply(h.seq, h.principal, event, attachment)?;
    out.last_ms = out.last_ms.max(h.recorded_at_ms);
    track_idempotency(view, salt, out, run);
    Ok(())
}

/// Consecutive records carrying the same principal and key are one command's receipt.
fn track_idempotency(
    view: &RecordView<'_>,
    salt: Option<[u8; 16]>,
    out: &mut Replayed,
    run: &mut KeyRun,
) {
    let h = &view.header;
    let Some(idem) = h.idempotency else {
        if let Some((key, entry, _)) = run.take() {
            out.idempotency.insert(key, entry);
        }
        return;
    };
    let key = (h.principal.to_owned(), idem.key.to_vec());
    let hash = record_hash(view.bytes);
    if let Some((run_key, entry, salt_seen)) = run.as_mut() {
        if *run_key == key && entry.receipt.first_seq + u64::from(entry.receipt.count) == h.seq {
            entry.receipt.count += 1;
            entry.receipt.hash = hash;
            if let (false, Some(s)) = (*salt_seen, salt) {
                entry.salt = s;
                *salt_seen = true;
            }
            return;
        }
    }
    if let Some((k, e, _)) = run.take() {
        out.idempotency.insert(k, e);
    }
    *run = Some((
        key,
        IdempotencyEntry {
            digest: idem.request_digest,
            salt: salt.unwrap_or([0; 16]),
            receipt: Receipt {
                first_seq: h.seq,
                count: 1,
                hash,
                replayed: false,
            },
        },
        salt.is_some(),
    ));
}

/// Replays the records from `state`'s next one up to (not including) record `end` into
/// `state`, without verifying them: `chitra verify` checks snapshots with this, after it
/// verified the chain itself. Stops at a block boundary.
pub(super) fn replay_until(store: &Store, state: &mut State, end: u64) -> Result<(), OpenError> {
    let next = state.applied();
    let mut blocks = store
        .blocks_from(next)
        .skip_while(move |b| matches!(b, Ok(b) if b.first_seq < next))
        .take_while(move |b| !matches!(b, Ok(b) if b.first_seq >= end));
    // Nobody listens: the chain was verified already.
    let (nobody, _) = crossbeam_channel::bounded(0);
    let mut chunk = Vec::new();
    replay_blocks(
        &mut blocks,
        state,
        &mut chunk,
        &nobody,
        Start::empty().replayed,
    )
    .map(|_| ())
}
