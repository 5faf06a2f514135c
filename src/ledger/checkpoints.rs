//! Checkpoints the writer signs on its own and records in the chain (`docs/proofs.md` §4.1),
//! and their verification. The writer asks `Checkpointer::due` after each group: when the
//! ledger has a key and new records, and a batch was released, or `[checkpoints]
//! interval_records` records or `interval_seconds` seconds went by since the last one, it signs
//! the tree over every record so far and records it as a `checkpoint_recorded` event
//! (`domain::checkpoints` decides it; the domain holds no key). `CheckpointCheck` is the other
//! half: `chitra verify` (store or export) rebuilds the tree as it reads and checks each
//! recorded checkpoint's size, root and, given a verifier key, signature.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::chain::export::{ChainExportReader, ExportError};
use crate::chain::merkle::{Hash, TreeBuilder};
use crate::chain::note::{self, NoteSigner, VerifierKey};
use crate::chain::record::parse_record;
use crate::domain::checkpoints::CHECKPOINT_PRINCIPAL;
use crate::domain::event::{CheckpointRecorded, Event};
use crate::domain::types::Principal;
use crate::domain::{Command, State};
use crate::store::StoreError;

use super::tree::checkpoint_body;
use super::Submission;

/// Records appended before the writer signs a checkpoint, by default.
pub const CHECKPOINT_INTERVAL_RECORDS_DEFAULT: u64 = 100_000;
/// Seconds after the last checkpoint before the writer signs one over newer records, by default.
pub const CHECKPOINT_INTERVAL_SECONDS_DEFAULT: u64 = 60;

/// When the writer signs a checkpoint (besides after every batch release): `[checkpoints]` in
/// `chitra.toml` (`app::config`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckpointPolicy {
    /// Sign once this many records were appended since the last checkpoint.
    pub interval_records: u64,
    /// Sign once this many seconds went by since the last checkpoint, if records were appended.
    pub interval_seconds: u64,
}

impl Default for CheckpointPolicy {
    fn default() -> CheckpointPolicy {
        CheckpointPolicy {
            interval_records: CHECKPOINT_INTERVAL_RECORDS_DEFAULT,
            interval_seconds: CHECKPOINT_INTERVAL_SECONDS_DEFAULT,
        }
    }
}

/// The writer's side: the key, the policy and where the last checkpoint was.
pub(super) struct Checkpointer {
    signer: Option<NoteSigner>,
    policy: CheckpointPolicy,
    principal: Principal,
    last_size: u64,
    /// When the last checkpoint was signed, or the writer's first group (the clock is read by
    /// the writer only, once per group: reading it here would move a test's clock).
    last_ms: Option<i64>,
    released: bool,
}

impl Checkpointer {
    /// The checkpointer of the ledger in `dir`, continuing after the checkpoints `state`
    /// recorded. Without a key (or with one that does not load: `chitra status` says why), or
    /// without a policy (signing turned off), the writer signs nothing.
    pub(super) fn new(
        dir: &Path,
        policy: Option<CheckpointPolicy>,
        state: &std::sync::RwLock<State>,
    ) -> Checkpointer {
        let last_size = state
            .read()
            .expect("state lock poisoned")
            .checkpoints()
            .last()
            .map_or(0, |(_, c)| c.tree_size);
        Checkpointer {
            signer: policy.and_then(|_| super::keys::load(dir).ok().flatten()),
            policy: policy.unwrap_or_default(),
            principal: Principal::parse(CHECKPOINT_PRINCIPAL).expect("a valid principal"),
            last_size,
            last_ms: None,
            released: false,
        }
    }

    /// How long the writer may wait for work before it checks whether a checkpoint is due;
    /// `None` when it never signs.
    pub(super) fn wait(&self) -> Option<Duration> {
        self.signer
            .as_ref()
            .map(|_| Duration::from_secs(self.policy.interval_seconds.max(1)))
    }

    /// A batch was released in this group: sign a checkpoint at its end.
    pub(super) fn release_seen(&mut self) {
        self.released = true;
    }

    /// The `record_checkpoint` submission to append after the records of `tree`, when one is
    /// due at `now_ms`.
    pub(super) fn due(&mut self, tree: &TreeBuilder, now_ms: i64) -> Option<Submission> {
        let signer = self.signer.as_ref()?;
        let last_ms = *self.last_ms.get_or_insert(now_ms);
        let size = tree.size();
        if size <= self.last_size {
            return None;
        }
        let interval_ms =
            i64::try_from(self.policy.interval_seconds.saturating_mul(1000)).unwrap_or(i64::MAX);
        let due = self.released
            || size - self.last_size >= self.policy.interval_records
            || now_ms.saturating_sub(last_ms) >= interval_ms;
        if !due {
            return None;
        }
        let root = tree.root();
        let signature = signer.signature(&checkpoint_body(signer.name(), size, &root));
        self.last_size = size;
        self.last_ms = Some(now_ms);
        self.released = false;
        Some(Submission {
            principal: self.principal.clone(),
            idempotency_key: None,
            command: Command::RecordCheckpoint(CheckpointRecorded {
                tree_size: size,
                root,
                key_name: signer.name().to_owned(),
                signature,
            }),
        })
    }
}

/// What the writer's loop got: a job, a quiet interval (time to see whether a checkpoint is
/// due), or the end (every submitter is gone).
pub(super) enum Next<J> {
    Job(J),
    Quiet,
    Closed,
}

/// The next job, waiting at most `wait` when checkpoints are signed.
pub(super) fn next_job<J>(rx: &crossbeam_channel::Receiver<J>, wait: Option<Duration>) -> Next<J> {
    match wait {
        None => rx.recv().map_or(Next::Closed, Next::Job),
        Some(d) => match rx.recv_timeout(d) {
            Ok(j) => Next::Job(j),
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => Next::Quiet,
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => Next::Closed,
        },
    }
}

/// The signed note a recorded checkpoint stands for (`docs/proofs.md` §4.1).
pub fn recorded_note(c: &CheckpointRecorded) -> String {
    note::note_with_signature(
        &checkpoint_body(&c.key_name, c.tree_size, &c.root),
        &c.key_name,
        &c.signature,
    )
}

/// A recorded checkpoint that does not hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("seq {seq}: the recorded checkpoint of {size} records {problem}")]
pub struct CheckpointFault {
    /// The checkpoint's own record.
    pub seq: u64,
    pub size: u64,
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error(transparent)]
    Fault(#[from] CheckpointFault),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("record {seq} cannot be read: {reason}")]
    Undecodable { seq: u64, reason: String },
}

/// What checking the recorded checkpoints found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CheckpointSummary {
    /// Checkpoints recorded in the chain, each of which matched.
    pub recorded: u64,
    /// The last one's size, if any.
    pub last_size: Option<u64>,
    /// Whether their signatures were checked (a verifier key was given).
    pub signatures_checked: bool,
    /// Records whose payload does not decode, so could not be looked at.
    pub undecodable: u64,
}

/// Rebuilds the tree over a chain read in order and checks every recorded checkpoint against
/// it: its size (every record before it), its root and, with a key, its signature.
pub struct CheckpointCheck {
    builder: TreeBuilder,
    key: Option<VerifierKey>,
    summary: CheckpointSummary,
}

impl CheckpointCheck {
    pub fn new(key: Option<VerifierKey>) -> CheckpointCheck {
        CheckpointCheck {
            builder: TreeBuilder::new(),
            summary: CheckpointSummary {
                signatures_checked: key.is_some(),
                ..CheckpointSummary::default()
            },
            key,
        }
    }

    /// The next record's stored bytes (already accepted by the chain verifier).
    pub fn push(&mut self, record: &[u8]) -> Result<(), CheckpointError> {
        let view = parse_record(record).map_err(|e| CheckpointError::Undecodable {
            seq: self.builder.size(),
            reason: e.to_string(),
        })?;
        let seq = view.header.seq;
        // Verifying the chain does not decode payloads (`docs/chain-format.md` §4): one that does
        // not decode is counted and left to readers, which report it, not called tampering here.
        match super::codec::decode_event(view.header.payload_version, view.payload) {
            Ok(Event::CheckpointRecorded(c)) => self.check(seq, &c)?,
            Ok(_) => {}
            Err(_) => self.summary.undecodable += 1,
        }
        self.builder.push_record(record);
        // Only roots are wanted: drop the tiles as they fill.
        self.builder.take_finished();
        Ok(())
    }

    fn check(&mut self, seq: u64, c: &CheckpointRecorded) -> Result<(), CheckpointFault> {
        let fault = |problem: String| CheckpointFault {
            seq,
            size: c.tree_size,
            problem,
        };
        if c.tree_size != self.builder.size() {
            return Err(fault(format!(
                "does not cover the {} records before it",
                self.builder.size()
            )));
        }
        let root: Hash = self.builder.root();
        if c.root != root {
            return Err(fault(format!(
                "has the root {} but the records give {}: it was altered",
                crate::chain::hex(&c.root),
                crate::chain::hex(&root)
            )));
        }
        if let Some(key) = &self.key {
            if c.key_name != key.name {
                return Err(fault(format!(
                    "is signed by {:?}, not by the key given ({:?})",
                    c.key_name, key.name
                )));
            }
            note::open(&recorded_note(c), key).map_err(|e| fault(format!("does not hold: {e}")))?;
        }
        self.summary.recorded += 1;
        self.summary.last_size = Some(c.tree_size);
        Ok(())
    }

    pub fn finish(self) -> CheckpointSummary {
        self.summary
    }
}

impl super::Offline {
    /// Checks every checkpoint recorded in the chain up to its head anchor (`CheckpointCheck`).
    pub fn check_checkpoints(
        &self,
        key: Option<VerifierKey>,
    ) -> Result<CheckpointSummary, CheckpointError> {
        check_records(
            super::read::records(&self.store, 0, self.view()?.records()),
            key,
            |_| {},
        )
    }
}

impl super::Ledger {
    /// Checks every checkpoint recorded in the first `upto` durable records, as
    /// `Offline::check_checkpoints` does (`CheckpointCheck`), calling `progress` with the number
    /// of records read so far; for a server, after the chain up to there verified.
    pub fn check_checkpoints(
        &self,
        key: Option<VerifierKey>,
        upto: u64,
        progress: impl FnMut(u64),
    ) -> Result<CheckpointSummary, CheckpointError> {
        check_records(self.records(0, upto), key, progress)
    }
}

fn check_records(
    records: impl Iterator<Item = Result<super::read::StoredRecord, StoreError>>,
    key: Option<VerifierKey>,
    mut progress: impl FnMut(u64),
) -> Result<CheckpointSummary, CheckpointError> {
    let mut check = CheckpointCheck::new(key);
    for (read, r) in (1..).zip(records) {
        check.push(&r?.bytes)?;
        if read % CHECKPOINT_PROGRESS_RECORDS == 0 {
            progress(read);
        }
    }
    Ok(check.finish())
}

/// How often (in records) a checkpoint check reports its progress.
const CHECKPOINT_PROGRESS_RECORDS: u64 = 4096;

/// Checks every checkpoint recorded in a chain export (`CheckpointCheck`).
pub fn check_export_checkpoints(
    input: impl Read,
    key: Option<VerifierKey>,
) -> Result<CheckpointSummary, CheckpointError> {
    let mut reader = ChainExportReader::new(input)?;
    let mut check = CheckpointCheck::new(key);
    let mut buf = Vec::new();
    while reader.next_record(&mut buf)? {
        check.push(&buf)?;
    }
    Ok(check.finish())
}
