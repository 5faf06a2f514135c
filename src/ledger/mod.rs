//! The ledger: a store, the state rebuilt from it, and the single writer that owns the head.
//!
//! Opening a ledger reads every block, verifies every record's hash and link (on a second
//! thread, while the first decodes and applies), checks the head anchor, and rebuilds the state
//! and the idempotency index. After that, all appends go through the writer thread
//! (`writer.rs`), which decides commands in arrival order, appends them in groups and answers
//! each caller only after the group's flush.

pub mod archive;
pub mod checkpoints;
pub mod codec;
pub mod frozen;
pub mod keys;
pub mod offline;
mod open;
pub mod read;
pub mod report_index;
mod snapshot;
pub mod tree;
pub mod verify;
mod writer;

pub use writer::local_date;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;

use crossbeam_channel::Sender;

use crate::chain::{Anchor, Hash};
use crate::domain::decide::Registry;
use crate::domain::types::Principal;
use crate::domain::{Command, Rejection, State};
use crate::store::Store;
pub use crate::store::StoreError;
/// A payment file written into the store as a release builds it (`Ledger::new_file`).
pub use crate::store::{FileWriter, KeptFile};

pub use offline::{Offline, OfflineError};
pub use open::OpenError;
pub use read::{ReadError, Recorded, Unconfirmed};
pub use snapshot::{SnapshotCheck, SnapshotOutcome};

/// A clock reading milliseconds since the Unix epoch (UTC). Injected so tests are repeatable.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    })
}

/// Most commands the writer decides before it flushes (one group commit).
pub const GROUP_COMMANDS_MAX: usize = 16_384;
/// A record block is closed once it holds this many bytes.
/// Small blocks keep sled's leaf nodes (16 values each) under its blob threshold
/// (segment size / 4), so values stay inline in its log instead of becoming one file each.
pub const BLOCK_BYTES_MAX: usize = 8 << 10;
/// Submissions that may wait for the writer before submitters block.
pub const QUEUE_JOBS_MAX: usize = 64;

pub struct Config {
    pub dir: PathBuf,
    pub clock: Clock,
    /// Seed for personal-data salts; `None` draws them from the operating system. Only tests
    /// that pin golden bytes set a seed.
    pub salt_seed: Option<u64>,
    /// The official codes commands are checked against (default: the reference data compiled
    /// into the binary from `ledger-data/reference/`).
    pub registry: &'static dyn Registry,
    /// Fault injection, for tests only (`None` otherwise): once this many groups were written,
    /// the committer reports the next group's write as failed after the store applied it, as
    /// when sled's `flush()` fails after its batch went into memory. The writer then stops as
    /// on a real storage error, so tests can check what readers report afterwards.
    pub fail_after_groups: Option<u64>,
    /// The writer takes a snapshot of the state every this many records (0: never), so that
    /// opening replays only what came after (`snapshot`).
    pub snapshot_every_records: u64,
    /// When the writer signs checkpoints, if the data directory has a key (`[checkpoints]`).
    pub checkpoints: checkpoints::CheckpointPolicy,
    /// Whether the writer signs checkpoints at all when the directory has a key (`chitra bench
    /// append --no-checkpoints` turns it off to measure what signing costs).
    pub sign_checkpoints: bool,
}

impl Config {
    pub fn new(dir: impl Into<PathBuf>) -> Config {
        Config {
            dir: dir.into(),
            clock: system_clock(),
            salt_seed: None,
            registry: crate::formats::reference::Reference::embedded(),
            fail_after_groups: None,
            snapshot_every_records: snapshot::SNAPSHOT_EVERY_RECORDS_DEFAULT,
            checkpoints: checkpoints::CheckpointPolicy::default(),
            sign_checkpoints: true,
        }
    }
}

/// An idempotency key as a caller gives it (1 to 128 bytes of visible ASCII).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(Vec<u8>);

impl IdempotencyKey {
    pub fn parse(text: &str) -> Result<IdempotencyKey, String> {
        let max = crate::chain::record::IDEMPOTENCY_KEY_BYTES_MAX;
        if text.is_empty() || text.len() > max {
            return Err(format!("an idempotency key must be 1-{max} bytes"));
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err("an idempotency key must be visible ASCII".into());
        }
        Ok(IdempotencyKey(text.as_bytes().to_vec()))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// One command from one principal.
#[derive(Debug, Clone)]
pub struct Submission {
    pub principal: Principal,
    pub idempotency_key: Option<IdempotencyKey>,
    pub command: Command,
}

/// Proof that a command's events are durable: where they are and the hash of the last one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Receipt {
    pub first_seq: u64,
    /// Number of records appended; 0 when the command changed nothing.
    pub count: u32,
    /// Hash of the last record appended (of the head, when nothing was appended).
    #[serde(serialize_with = "serialize_hash")]
    pub hash: Hash,
    /// True when this is the receipt of an earlier submission with the same idempotency key.
    pub replayed: bool,
}

impl Receipt {
    pub fn last_seq(&self) -> Option<u64> {
        (self.count > 0).then(|| self.first_seq + u64::from(self.count) - 1)
    }
}

fn serialize_hash<S: serde::Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&crate::chain::hex(h))
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Rejected(#[from] Rejection),
    #[error("this idempotency key was already used for a different request")]
    IdempotencyConflict,
    #[error("the ledger stopped accepting writes: {0}")]
    Unavailable(String),
}

struct IdempotencyEntry {
    digest: Hash,
    salt: [u8; 16],
    receipt: Receipt,
}

type IdempotencyIndex = HashMap<(String, Vec<u8>), IdempotencyEntry>;

/// The durable frontier: records below it are flushed.
struct Durable {
    records: Mutex<u64>,
    /// The last durable record (the last acknowledged one), or `None` for an empty chain.
    head: Mutex<Option<Anchor>>,
    changed: Condvar,
    watch: tokio::sync::watch::Sender<u64>,
}

struct Shared {
    dir: PathBuf,
    /// The writer's clock, for workflow steps that date what they build (payment files).
    clock: Clock,
    store: Store,
    state: RwLock<State>,
    durable: Durable,
    stopped: AtomicBool,
    stop_reason: Mutex<Option<String>>,
    metrics: WriterMetrics,
    /// The frozen files the state maps, checked by chunks (`frozen::Mapped`).
    frozen: Mutex<frozen::Mapped>,
}

/// Counters the writer keeps about itself, for benchmarks and `/metrics`.
#[derive(Debug, Default)]
pub struct WriterMetrics {
    pub groups: AtomicU64,
    pub commands: AtomicU64,
    pub records: AtomicU64,
    /// Time spent deciding, applying and encoding, in nanoseconds.
    pub decide_nanos: AtomicU64,
    /// Time spent writing groups to the store and flushing, in nanoseconds.
    pub store_nanos: AtomicU64,
    /// The slowest group write-and-flush so far, in nanoseconds.
    pub store_nanos_max: AtomicU64,
}

/// A copy of the writer's counters at one moment.
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct MetricsSnapshot {
    pub groups: u64,
    pub commands: u64,
    pub records: u64,
    pub decide_nanos: u64,
    pub store_nanos: u64,
    pub store_nanos_max: u64,
}

impl WriterMetrics {
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        MetricsSnapshot {
            groups: get(&self.groups),
            commands: get(&self.commands),
            records: get(&self.records),
            decide_nanos: get(&self.decide_nanos),
            store_nanos: get(&self.store_nanos),
            store_nanos_max: get(&self.store_nanos_max),
        }
    }
}

/// An open ledger. Cheap to clone; the writer stops when the last clone is dropped.
#[derive(Clone)]
pub struct Ledger {
    shared: Arc<Shared>,
    submit: Sender<writer::Job>,
    _writer: Arc<WriterHandle>,
    opening: Opening,
}

/// How a ledger was opened: from which snapshot of the state, and how many records after it
/// were verified and replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Opening {
    /// Records the snapshot reflected (0: no snapshot, the whole chain was replayed).
    pub snapshot_records: u64,
    pub replayed_records: u64,
}

struct WriterHandle {
    thread: Mutex<Option<JoinHandle<()>>>,
    stop: Mutex<Option<Sender<writer::Job>>>,
}

impl Drop for WriterHandle {
    fn drop(&mut self) {
        self.stop.lock().expect("writer handle lock").take();
        if let Some(t) = self.thread.lock().expect("writer handle lock").take() {
            let _ = t.join();
        }
    }
}

/// Head of the chain: the number of records and the last record, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub records: u64,
    pub last: Option<Anchor>,
}

impl Ledger {
    /// Opens (or creates) the ledger in `config.dir`, verifying and replaying the whole chain.
    pub fn open(config: Config) -> Result<Ledger, OpenError> {
        open::open(config)
    }

    /// Now, by the ledger's clock (the writer's), in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        (self.shared.clock)()
    }

    /// The data directory this ledger lives in.
    pub fn dir(&self) -> &Path {
        &self.shared.dir
    }

    /// Submits one command and waits until it is durable (or refused).
    pub fn submit(&self, submission: Submission) -> Result<Receipt, SubmitError> {
        self.submit_many(vec![submission])
            .pop()
            .expect("one result per submission")
    }

    /// Submits several commands as one job: they are decided in order, share a group commit,
    /// and each gets its own result.
    pub fn submit_many(&self, submissions: Vec<Submission>) -> Vec<Result<Receipt, SubmitError>> {
        let n = submissions.len();
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self
            .submit
            .send(writer::Job {
                submissions,
                reply: tx,
            })
            .is_err()
        {
            return vec![Err(self.unavailable()); n];
        }
        rx.blocking_recv()
            .unwrap_or_else(|_| vec![Err(self.unavailable()); n])
    }

    /// Erases a person's personal data: appends the erasure event (refused unless the person is
    /// no longer paid), then removes the personal-data entries of every record about them from
    /// the store. The chain is untouched and still verifies.
    pub fn erase_personal_data(&self, submission: Submission) -> Result<Receipt, SubmitError> {
        if !matches!(submission.command, Command::ErasePersonalData(_)) {
            return Err(Rejection::invalid("command", "not an erasure").into());
        }
        let receipt = self.submit(submission)?;
        let records = self
            .read_unconfirmed(|s| s.erased_records().to_vec())
            .into_basis();
        let store = &self.shared.store;
        store
            .erase_personal(&records)
            .and_then(|_| store.remove_snapshots(receipt.first_seq + u64::from(receipt.count)))
            .map_err(|e| SubmitError::Unavailable(format!("erasing personal data: {e}")))?;
        Ok(receipt)
    }

    /// The async form of `submit_many`, for the HTTP server.
    pub async fn submit_many_async(
        &self,
        submissions: Vec<Submission>,
    ) -> Vec<Result<Receipt, SubmitError>> {
        let n = submissions.len();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job = writer::Job {
            submissions,
            reply: tx,
        };
        let sender = self.submit.clone();
        // The queue is bounded; a full queue blocks, so do the send off the async workers.
        let sent = tokio::task::spawn_blocking(move || sender.send(job).is_ok())
            .await
            .unwrap_or(false);
        if !sent {
            return vec![Err(self.unavailable()); n];
        }
        rx.await
            .unwrap_or_else(|_| vec![Err(self.unavailable()); n])
    }

    fn unavailable(&self) -> SubmitError {
        let reason = self
            .shared
            .stop_reason
            .lock()
            .expect("stop reason lock")
            .clone();
        SubmitError::Unavailable(reason.unwrap_or_else(|| "the writer has stopped".into()))
    }

    /// Runs `f` over the state once everything it can see is durable, so a reader never reports
    /// something that a crash could still take back.
    pub fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T, SubmitError> {
        self.read_unconfirmed(f).wait(self)
    }

    /// Runs `f` over the state as the writer has applied it now, which may include a group
    /// still being flushed. The answer is `Unconfirmed` until its records are durable: wait for
    /// them before showing it to anyone (`Unconfirmed::wait`), or use it only to build a command
    /// that the writer checks again (`Unconfirmed::into_basis`).
    pub fn read_unconfirmed<T>(&self, f: impl FnOnce(&State) -> T) -> Unconfirmed<T> {
        let state = self.shared.state.read().expect("state lock poisoned");
        Unconfirmed {
            value: f(&state),
            applied: state.applied(),
        }
    }

    /// How this ledger was opened (`snapshot`).
    pub fn opening(&self) -> Opening {
        self.opening
    }

    /// The blake3 digest of the state's canonical encoding (what a snapshot holds): two
    /// ledgers with the same digest hold the same state.
    pub fn state_digest(&self) -> [u8; 32] {
        let state = self.shared.state.read().expect("state lock");
        snapshot::state_digest(&state)
    }

    /// Blocks until `records` records are durable.
    pub fn wait_durable(&self, records: u64) -> Result<(), SubmitError> {
        match self.shared.wait_durable(records) {
            true => Ok(()),
            false => Err(self.unavailable()),
        }
    }

    /// A receiver that sees the durable record count change (for async readers).
    pub fn durable_watch(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.durable.watch.subscribe()
    }

    pub fn durable_records(&self) -> u64 {
        *self.shared.durable.records.lock().expect("durable lock")
    }

    /// The head of the chain as readers may report it: the last acknowledged record, its seq
    /// and hash (the durable frontier). Not the store's anchor, which already holds a group
    /// whose flush is under way, or failed and stopped the writer. Never fails; the `Result`
    /// keeps callers ready for a head read from storage.
    pub fn head(&self) -> Result<Head, StoreError> {
        let last = *self.shared.durable.head.lock().expect("durable head lock");
        Ok(Head {
            records: last.map_or(0, |a| a.seq + 1),
            last,
        })
    }

    /// Stored records with `from <= seq < to`, in order, as stored (bytes and hash), up to the
    /// durable frontier: what a reader may hand on for anyone to verify.
    pub fn records(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<read::StoredRecord, StoreError>> + '_ {
        read::records(&self.shared.store, from, to.min(self.durable_records()))
    }

    /// The state as the writer has applied it, locked for reading. For tests that inspect the
    /// ledger directly; the product reads through `read` or `read_unconfirmed`, which say when
    /// what they saw is durable (`tests/architecture.rs` keeps it out of `src/`).
    #[doc(hidden)]
    pub fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.shared.state.read().expect("state lock poisoned")
    }

    /// The store underneath, for tests that play the attacker or the storage; nothing in
    /// `src/` outside `ledger/` may use it (`tests/architecture.rs`).
    #[doc(hidden)]
    pub fn store(&self) -> &Store {
        &self.shared.store
    }

    /// The writer's counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.shared.metrics.snapshot()
    }

    /// True once the writer stopped (a failed flush); nothing more will be acknowledged.
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::Acquire)
    }
}

impl Shared {
    /// Blocks until `records` records are durable; false if the writer stopped first.
    fn wait_durable(&self, records: u64) -> bool {
        let mut durable = self.durable.records.lock().expect("durable lock");
        while *durable < records {
            if self.stopped.load(Ordering::Acquire) {
                return false;
            }
            durable = self.durable.changed.wait(durable).expect("durable lock");
        }
        true
    }

    fn publish_durable(&self, records: u64, head: Option<Anchor>) {
        *self.durable.head.lock().expect("durable head lock") = head;
        *self.durable.records.lock().expect("durable lock") = records;
        self.durable.changed.notify_all();
        self.durable.watch.send_replace(records);
    }

    fn stop(&self, reason: String) {
        *self.stop_reason.lock().expect("stop reason lock") = Some(reason);
        self.stopped.store(true, Ordering::Release);
        let _guard = self.durable.records.lock().expect("durable lock");
        self.durable.changed.notify_all();
    }
}

/// True when `dir` holds no ledger yet (import and demo check this).
pub fn is_empty_dir(dir: &Path) -> bool {
    match std::fs::read_dir(dir) {
        Err(_) => true,
        Ok(mut entries) => entries.next().is_none(),
    }
}
