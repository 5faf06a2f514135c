//! The single writer: the only code that appends to the chain. It drains whatever jobs are
//! waiting (up to `GROUP_COMMANDS_MAX` commands), decides and applies them in order under the
//! state lock, and packs their records into blocks; its committer thread writes each group
//! with one flush and only then answers every caller. Deciding group N+1 overlaps writing
//! group N, which is what lets two cores do the work of one writer. A failed flush or an event that does not apply stops the writer for
//! good (fail-stop): nothing after that point is acknowledged, and reopening the ledger rebuilds
//! the state from what is durable.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use rand::{Rng, SeedableRng};

use super::{
    Clock, IdempotencyEntry, IdempotencyIndex, IdempotencyKey, Receipt, Shared, Submission,
    SubmitError, BLOCK_BYTES_MAX, GROUP_COMMANDS_MAX,
};
use crate::chain::block::{BlockWriter, PersonalEntry};
use crate::chain::merkle::{tile_bytes, TileId, TreeBuilder};
use crate::chain::record::{
    encode_record, personal_commitment, record_hash, Idempotency, RecordHeader, GENESIS_PREV_HASH,
    PERSONAL_SALT_BYTES,
};
use crate::chain::{Anchor, Hash};
use crate::domain::state::Attachment;
use crate::domain::types::{Date, Principal};
use crate::domain::{decide, Context, Emitted, State};
use crate::ledger::codec;
use crate::store::PendingBlock;

/// blake3 `derive_key` context of the request digest stored beside an idempotency key.
pub const REQUEST_DIGEST_CONTEXT: &str = "chitra 2026-11-22 request digest v1";

/// Vietnam's civil time is UTC+7 all year; decisions are dated in it.
const LOCAL_OFFSET_MS: i64 = crate::domain::types::VIETNAM_OFFSET_MINUTES as i64 * 60_000;

/// Where a job's results go, and how many it expects.
type Reply = (
    tokio::sync::oneshot::Sender<Vec<Result<Receipt, SubmitError>>>,
    usize,
);

pub(super) struct Job {
    pub submissions: Vec<super::Submission>,
    pub reply: tokio::sync::oneshot::Sender<Vec<Result<Receipt, SubmitError>>>,
}

/// What opening the ledger learnt that the writer continues from.
pub(super) struct Recovered {
    /// The last record, if any.
    pub head: Option<Anchor>,
    /// The latest `recorded_at`, so time never runs backwards along the chain.
    pub last_ms: i64,
    pub idempotency: IdempotencyIndex,
    /// The Merkle tree over the records so far (`chain::merkle`).
    pub tree: TreeBuilder,
    /// Records the snapshot opening started from reflects (0 for none).
    pub snapshot_records: u64,
}

pub(super) struct Writer {
    pub shared: Arc<Shared>,
    pub rx: Receiver<Job>,
    pub clock: Clock,
    pub salts: Salts,
    pub head: Option<Anchor>,
    pub last_ms: i64,
    pub idempotency: IdempotencyIndex,
    pub registry: &'static dyn crate::domain::decide::Registry,
    payload: Vec<u8>,
    /// The Merkle tree, one leaf per record appended; its changed tiles go with each commit.
    tree: TreeBuilder,
    /// Signs and records checkpoints of the tree (`ledger::checkpoints`).
    checkpoints: super::checkpoints::Checkpointer,
    commits: crossbeam_channel::Sender<ToCommit>,
    committer: Option<std::thread::JoinHandle<()>>,
    /// When to take the next snapshot of the state (`snapshot`).
    snapshots: super::snapshot::Schedule,
}

/// What the writer hands the committer: the leading blocks of a large group (written ahead,
/// acknowledged by nobody), or a whole group's end.
enum ToCommit {
    Partial {
        blocks: Vec<PendingBlock>,
        tiles: Vec<(TileId, Vec<u8>)>,
        group_first_seq: u64,
    },
    Group(Commit),
}

/// A group this large (in blocks) starts going to the store before it is fully decided, so
/// that writing overlaps deciding even for one command of a million records.
const PARTIAL_COMMIT_BLOCKS: usize = 256;

/// One decided group on its way to the store.
struct Commit {
    start_seq: u64,
    end_seq: u64,
    head: Option<Anchor>,
    blocks: Vec<PendingBlock>,
    /// The Merkle tree's tiles that changed, each with all its hashes so far.
    tiles: Vec<(TileId, Vec<u8>)>,
    replies: Vec<Reply>,
    results: Vec<Vec<Result<Receipt, SubmitError>>>,
}

/// Groups decided but not yet durable, at most. Two lets the next group be decided while the
/// previous one is written and flushed.
const COMMITS_IN_FLIGHT_MAX: usize = 2;

/// The committer: writes each decided group to the store, flushes, publishes the new durable
/// frontier and only then answers the group's callers. A failed write stops everything.
/// `fail_after_groups` is the test-only fault injection of `Config`.
fn run_committer(shared: Arc<Shared>, commits: Receiver<ToCommit>, fail_after_groups: Option<u64>) {
    let mut groups_written = 0u64;
    let mut report_index = super::report_index::Pending::default();
    for c in commits {
        let c = match c {
            ToCommit::Group(c) => c,
            ToCommit::Partial {
                blocks,
                tiles,
                group_first_seq,
            } => {
                if !shared.stopped.load(std::sync::atomic::Ordering::Acquire) {
                    report_index.note(&blocks);
                    let started = Instant::now();
                    let written = shared
                        .store
                        .put_tiles(&tiles)
                        .and_then(|()| shared.store.append_partial(blocks, group_first_seq));
                    if let Err(e) = written {
                        shared.stop(format!(
                            "a write to the store failed at seq {group_first_seq}: {e}"
                        ));
                    }
                    shared
                        .metrics
                        .store_nanos
                        .fetch_add(started.elapsed().as_nanos() as u64, Relaxed);
                }
                continue;
            }
        };
        if shared.stopped.load(std::sync::atomic::Ordering::Acquire) {
            reply_unavailable(c.replies, "the writer has stopped");
            continue;
        }
        if c.end_seq > c.start_seq {
            let head = c.head.expect("records were appended");
            report_index.note(&c.blocks);
            let started = Instant::now();
            // The tiles go first, unflushed: the group's flush makes them durable with it, and
            // tiles ahead of a group lost in a crash are harmless (`ledger::tree`).
            let mut written = shared
                .store
                .put_tiles(&c.tiles)
                .and_then(|()| shared.store.append_group(c.blocks, head));
            if written.is_ok() && fail_after_groups.is_some_and(|n| groups_written >= n) {
                written = Err(crate::store::StoreError::Io {
                    path: shared.dir.display().to_string(),
                    source: std::io::Error::other("flush failed (injected by a test)"),
                });
            }
            groups_written += 1;
            let nanos = started.elapsed().as_nanos() as u64;
            let m = &shared.metrics;
            m.store_nanos.fetch_add(nanos, Relaxed);
            m.store_nanos_max.fetch_max(nanos, Relaxed);
            m.groups.fetch_add(1, Relaxed);
            m.records.fetch_add(c.end_seq - c.start_seq, Relaxed);
            if let Err(e) = written {
                let reason = format!(
                    "a write to the store failed, nothing since seq {} is acknowledged: {e}",
                    c.start_seq
                );
                shared.stop(reason.clone());
                reply_unavailable(c.replies, &reason);
                continue;
            }
            shared.publish_durable(c.end_seq, c.head);
            report_index.durable(&shared.dir);
        }
        for ((reply, _), r) in c.replies.into_iter().zip(c.results) {
            let _ = reply.send(r);
        }
    }
}

/// The blocks of one group commit being built.
struct Group {
    /// The group's first sequence number.
    first_seq: u64,
    done: Vec<PendingBlock>,
    current: BlockWriter,
    current_first: u64,
    personal: Vec<PersonalEntry>,
}

impl Group {
    fn new(first_seq: u64) -> Group {
        Group {
            first_seq,
            done: Vec::new(),
            current: BlockWriter::new(),
            current_first: first_seq,
            personal: Vec::new(),
        }
    }

    /// Closes the current block if it is full; `next_seq` starts the next one.
    fn maybe_cut(&mut self, next_seq: u64) {
        if self.current.bytes_len() >= BLOCK_BYTES_MAX {
            self.cut(next_seq);
        }
    }

    fn cut(&mut self, next_seq: u64) {
        if self.current.count() == 0 {
            return;
        }
        let block = std::mem::take(&mut self.current).finish();
        self.done.push(PendingBlock {
            first_seq: self.current_first,
            records: block,
            personal: std::mem::take(&mut self.personal),
        });
        self.current = BlockWriter::new();
        self.current_first = next_seq;
    }

    fn finish(mut self, next_seq: u64) -> Vec<PendingBlock> {
        self.cut(next_seq);
        self.done
    }
}

/// Events applied under one hold of the write lock before readers get a turn.
const APPLY_EVENTS_PER_HOLD_MAX: usize = 4096;

/// The writer's hold on the state: the write lock while it decides and applies, given up every
/// `APPLY_EVENTS_PER_HOLD_MAX` events and while a bulk command is decided, so that readers are
/// never held up for long. Only the writer changes the state, so what it decided stays true
/// while readers look in (they may see a long command half applied; they wait for durability
/// before answering anyway).
struct StateAccess<'a> {
    lock: &'a std::sync::RwLock<State>,
    guard: Option<std::sync::RwLockWriteGuard<'a, State>>,
    applied: usize,
}

impl<'a> StateAccess<'a> {
    fn new(lock: &'a std::sync::RwLock<State>) -> StateAccess<'a> {
        StateAccess {
            lock,
            guard: None,
            applied: 0,
        }
    }

    fn write(&mut self) -> &mut State {
        let lock = self.lock;
        self.guard
            .get_or_insert_with(|| lock.write().expect("state lock poisoned"))
    }

    fn read<T>(&mut self, f: impl FnOnce(&State) -> T) -> T {
        self.guard = None;
        f(&self.lock.read().expect("state lock poisoned"))
    }

    fn applied_one(&mut self) {
        self.applied += 1;
        if self.applied >= APPLY_EVENTS_PER_HOLD_MAX {
            self.applied = 0;
            self.guard = None;
        }
    }
}

/// A failure that stops the writer.
struct Fatal(String);

/// The request digest: binds an idempotency key to the request that first used it. Salted with
/// the request's first personal-data salt so the digest reveals nothing about personal data.
pub fn request_digest(salt: &[u8; PERSONAL_SALT_BYTES], command_bytes: &[u8]) -> Hash {
    let mut h = blake3::Hasher::new_derive_key(REQUEST_DIGEST_CONTEXT);
    h.update(salt);
    h.update(command_bytes);
    *h.finalize().as_bytes()
}

/// The local (UTC+7) date of a timestamp.
pub fn local_date(unix_ms: i64) -> Date {
    Date::from_days_since_epoch((unix_ms + LOCAL_OFFSET_MS).div_euclid(86_400_000))
}

/// Where personal-data salts come from: the operating system's randomness in production, or a
/// derivation from a seed and the record's sequence number where tests pin golden bytes (so the
/// bytes do not depend on a random-number library's version).
pub(super) enum Salts {
    Random(Box<rand::rngs::StdRng>),
    Derived(u64),
}

impl Salts {
    pub(super) fn new(seed: Option<u64>) -> Salts {
        match seed {
            Some(s) => Salts::Derived(s),
            None => Salts::Random(Box::new(rand::rngs::StdRng::from_entropy())),
        }
    }

    fn salt(&mut self, seq: u64) -> [u8; PERSONAL_SALT_BYTES] {
        match self {
            Salts::Random(rng) => rng.gen(),
            Salts::Derived(seed) => {
                let mut h = blake3::Hasher::new_derive_key("chitra test salts");
                h.update(&seed.to_le_bytes());
                h.update(&seq.to_le_bytes());
                h.finalize().as_bytes()[..PERSONAL_SALT_BYTES]
                    .try_into()
                    .expect("16 bytes")
            }
        }
    }
}

impl Writer {
    /// A writer continuing the chain after `recovered`, with its committer thread started.
    pub fn new(
        shared: Arc<Shared>,
        rx: Receiver<Job>,
        config: super::Config,
        recovered: Recovered,
    ) -> Writer {
        let (commits, commit_rx) = crossbeam_channel::bounded(COMMITS_IN_FLIGHT_MAX);
        let committer_shared = Arc::clone(&shared);
        let fail_after_groups = config.fail_after_groups;
        let committer = std::thread::Builder::new()
            .name("chitra-committer".into())
            .spawn(move || run_committer(committer_shared, commit_rx, fail_after_groups))
            .expect("spawning the committer thread");
        let checkpoints = super::checkpoints::Checkpointer::new(
            &shared.dir,
            config.sign_checkpoints.then_some(config.checkpoints),
            &shared.state,
        );
        Writer {
            shared,
            rx,
            clock: config.clock,
            salts: Salts::new(config.salt_seed),
            head: recovered.head,
            last_ms: recovered.last_ms,
            idempotency: recovered.idempotency,
            registry: config.registry,
            payload: Vec::with_capacity(256),
            tree: recovered.tree,
            checkpoints,
            commits,
            committer: Some(committer),
            snapshots: super::snapshot::Schedule::new(
                config.snapshot_every_records,
                recovered.snapshot_records,
            ),
        }
    }

    /// Takes a snapshot of the state if the schedule says so (on `closing`, a shorter tail
    /// is enough).
    fn maybe_snapshot(&mut self, closing: bool) {
        let records = self.next_seq();
        let (Some(head), true) = (self.head, self.snapshots.due(records, closing)) else {
            return;
        };
        let parts = self.tree.parts();
        super::snapshot::take(&self.shared, head, self.last_ms, &self.idempotency, parts);
        self.snapshots.taken(records);
    }

    pub fn run(mut self) {
        use super::checkpoints::{next_job, Next};
        // Opening replayed a long tail: keep the next opening from replaying it again.
        self.maybe_snapshot(false);
        loop {
            let first = match next_job(&self.rx, self.checkpoints.wait()) {
                Next::Job(job) => job,
                // Quiet for a while: a group of no jobs signs a checkpoint if one is due.
                Next::Quiet => {
                    self.group(Vec::new());
                    continue;
                }
                Next::Closed => break,
            };
            let mut commands = first.submissions.len();
            let mut jobs = vec![first];
            while commands < GROUP_COMMANDS_MAX {
                match self.rx.try_recv() {
                    Ok(job) => {
                        commands += job.submissions.len();
                        jobs.push(job);
                    }
                    Err(_) => break,
                }
            }
            self.group(jobs);
            self.maybe_snapshot(false);
        }
        // No more submitters: let the committer finish what is in flight, then stop.
        let (closed, _) = crossbeam_channel::bounded(0);
        drop(std::mem::replace(&mut self.commits, closed));
        if let Some(c) = self.committer.take() {
            let _ = c.join();
        }
        self.maybe_snapshot(true);
    }

    /// The Merkle tree's tiles changed since the last commit, as stored.
    fn changed_tiles(&mut self) -> Vec<(TileId, Vec<u8>)> {
        self.tree
            .drain_tiles()
            .into_iter()
            .map(|(id, hashes)| (id, tile_bytes(&hashes)))
            .collect()
    }

    fn next_seq(&self) -> u64 {
        self.head.map_or(0, |a| a.seq + 1)
    }

    fn group(&mut self, jobs: Vec<Job>) {
        if self
            .shared
            .stopped
            .load(std::sync::atomic::Ordering::Acquire)
        {
            return reply_all_unavailable(jobs, "the writer has stopped");
        }
        let now = (self.clock)().max(self.last_ms);
        self.last_ms = now;
        let start_seq = self.next_seq();
        let mut group = Group::new(start_seq);
        let commands: u64 = jobs.iter().map(|j| j.submissions.len() as u64).sum();
        let (batches, replies): (Vec<_>, Vec<Reply>) = jobs
            .into_iter()
            .map(|j| {
                let n = j.submissions.len();
                (j.submissions, (j.reply, n))
            })
            .unzip();
        let mut results = Vec::with_capacity(batches.len());
        let shared = Arc::clone(&self.shared);
        let decide_started = Instant::now();
        let fatal = {
            let mut state = StateAccess::new(&shared.state);
            let mut fatal = None;
            'jobs: for submissions in batches {
                let mut job_results = Vec::with_capacity(submissions.len());
                for sub in submissions {
                    let release = matches!(sub.command, crate::domain::Command::ReleaseBatch(_));
                    match self.process(&mut state, &mut group, sub, now) {
                        Ok(r) => {
                            if release && r.as_ref().is_ok_and(|r| r.count > 0) {
                                self.checkpoints.release_seen();
                            }
                            job_results.push(r)
                        }
                        Err(f) => {
                            fatal = Some(f);
                            break 'jobs;
                        }
                    }
                }
                results.push(job_results);
            }
            // A checkpoint, when due, goes after the group's records and in its commit.
            if let (None, Some(sub)) = (&fatal, self.checkpoints.due(&self.tree, now)) {
                if let Err(f) = self.process(&mut state, &mut group, sub, now) {
                    fatal = Some(f);
                }
            }
            fatal
        };
        if let Some(Fatal(reason)) = fatal {
            self.shared.stop(reason.clone());
            return reply_unavailable(replies, &reason);
        }
        let end_seq = self.next_seq();
        let m = &self.shared.metrics;
        m.decide_nanos
            .fetch_add(decide_started.elapsed().as_nanos() as u64, Relaxed);
        m.commands.fetch_add(commands, Relaxed);
        let commit = Commit {
            start_seq,
            end_seq,
            head: self.head,
            blocks: group.finish(end_seq),
            tiles: self.changed_tiles(),
            replies,
            results,
        };
        // Every group goes through the committer, even one that appends nothing, so that
        // callers are answered in order and never before what they saw is durable.
        if let Err(crossbeam_channel::SendError(ToCommit::Group(c))) =
            self.commits.send(ToCommit::Group(commit))
        {
            reply_unavailable(c.replies, "the committer has stopped");
        }
    }

    /// Decides and appends one submission. `Ok(Err(_))` is a refusal for the caller;
    /// `Err(Fatal)` stops the writer.
    fn process(
        &mut self,
        state: &mut StateAccess<'_>,
        group: &mut Group,
        sub: Submission,
        now: i64,
    ) -> Result<Result<Receipt, SubmitError>, Fatal> {
        let Submission {
            principal,
            idempotency_key,
            command,
        } = sub;
        let keyed = idempotency_key.map(|key| {
            let bytes = codec::canonical_bytes(&command);
            (key, bytes)
        });
        if let Some((key, bytes)) = &keyed {
            if let Some(answer) = self.replay(&principal, key, bytes) {
                return Ok(answer);
            }
        }
        let emitted = match self.decide(state, &principal, command, now) {
            Ok(e) => e,
            Err(rejection) => return Ok(Err(rejection.into())),
        };
        if emitted.is_empty() {
            return Ok(Ok(Receipt {
                first_seq: self.next_seq(),
                count: 0,
                hash: self.head.map_or(GENESIS_PREV_HASH, |a| a.hash),
                replayed: false,
            }));
        }
        let first_seq = self.next_seq();
        let salts = self.salts_for(&emitted, first_seq);
        // The request digest is salted with the first personal-data salt, if any.
        let digest_salt = salts
            .iter()
            .flatten()
            .next()
            .copied()
            .unwrap_or([0; PERSONAL_SALT_BYTES]);
        let keyed = keyed.map(|(key, bytes)| (key, request_digest(&digest_salt, &bytes)));
        let idempotency = keyed.as_ref().map(|(k, d)| Idempotency {
            key: k.as_bytes(),
            request_digest: *d,
        });
        let count = emitted.len() as u32;
        let who = principal.as_str();
        // `salts` is empty when no event carries personal data (a batch's million lines).
        let salts = salts.into_iter().chain(std::iter::repeat(None));
        for (e, salt) in crate::domain::drain::ShrinkingDrain::new(emitted).zip(salts) {
            self.append(state, group, who, idempotency, e, salt, now)?;
        }
        let receipt = Receipt {
            first_seq,
            count,
            hash: self.head.expect("records were appended").hash,
            replayed: false,
        };
        if let Some((key, digest)) = keyed {
            let entry = IdempotencyEntry {
                digest,
                salt: digest_salt,
                receipt,
            };
            self.idempotency
                .insert((who.to_owned(), key.as_bytes().to_vec()), entry);
        }
        Ok(Ok(receipt))
    }

    /// The answer to a submission whose key this principal used before: the first receipt if
    /// the request is the same, a conflict if it is not; `None` for a new key.
    fn replay(
        &self,
        principal: &Principal,
        key: &IdempotencyKey,
        command_bytes: &[u8],
    ) -> Option<Result<Receipt, SubmitError>> {
        let index_key = (principal.as_str().to_owned(), key.as_bytes().to_vec());
        let entry = self.idempotency.get(&index_key)?;
        Some(
            match request_digest(&entry.salt, command_bytes) == entry.digest {
                true => Ok(Receipt {
                    replayed: true,
                    ..entry.receipt
                }),
                false => Err(SubmitError::IdempotencyConflict),
            },
        )
    }

    /// Decides one command against the state. A bulk command (a whole batch, a roster, a bank
    /// report) is decided under a read lock, so readers are not held up while a million lines
    /// are checked.
    fn decide(
        &self,
        state: &mut StateAccess<'_>,
        principal: &Principal,
        command: crate::domain::Command,
        now: i64,
    ) -> Result<Vec<Emitted>, crate::domain::Rejection> {
        let ctx = Context {
            principal,
            today: local_date(now),
            registry: self.registry,
        };
        if command.is_bulk() {
            state.read(|s| decide(s, &ctx, command))
        } else {
            decide(state.write(), &ctx, command)
        }
    }

    /// A personal-data salt for each event that carries personal data, by its seq; none at all
    /// when no event does.
    fn salts_for(
        &mut self,
        emitted: &[Emitted],
        first_seq: u64,
    ) -> Vec<Option<[u8; PERSONAL_SALT_BYTES]>> {
        if emitted.iter().all(|e| e.personal.is_none()) {
            return Vec::new();
        }
        emitted
            .iter()
            .enumerate()
            .map(|(i, e)| {
                e.personal
                    .as_ref()
                    .map(|_| self.salts.salt(first_seq + i as u64))
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        state: &mut StateAccess<'_>,
        group: &mut Group,
        principal: &str,
        idempotency: Option<Idempotency<'_>>,
        emitted: Emitted,
        salt: Option<[u8; PERSONAL_SALT_BYTES]>,
        now: i64,
    ) -> Result<(), Fatal> {
        let seq = self.next_seq();
        let mut payload = std::mem::take(&mut self.payload);
        payload.clear();
        codec::encode_event(&emitted.event, &mut payload);
        let mut commitment = None;
        if let (Some(personal), Some(salt)) = (&emitted.personal, salt) {
            let mut bytes = Vec::with_capacity(96);
            codec::encode_personal(personal, &mut bytes);
            commitment = Some(personal_commitment(&salt, &bytes));
            group.personal.push(PersonalEntry { seq, salt, bytes });
        }
        let header = RecordHeader {
            seq,
            prev_hash: self.head.map_or(GENESIS_PREV_HASH, |a| a.hash),
            recorded_at_ms: now,
            principal,
            idempotency,
            personal_commitment: commitment,
            payload_version: codec::PAYLOAD_VERSION_CURRENT,
        };
        let range = group
            .current
            .push_with(|buf| encode_record(buf, &header, &payload));
        let record = &group.current.bytes()[range];
        let hash = record_hash(record);
        self.tree.push_record(record);
        self.payload = payload;
        self.head = Some(Anchor { seq, hash });
        let attachment = match emitted.personal {
            Some(p) => Attachment::Present(*p),
            None => Attachment::None,
        };
        if matches!(emitted.event, crate::domain::Event::BatchReleased(_)) {
            // A released batch's lines change only in status from now on: the next snapshot
            // moves them out of memory, so take it soon.
            self.snapshots.batch_released();
        }
        state
            .write()
            .apply(seq, principal, emitted.event, attachment)
            .map_err(|e| Fatal(format!("decided event does not apply (a bug): {e}")))?;
        state.applied_one();
        group.maybe_cut(seq + 1);
        if group.done.len() >= PARTIAL_COMMIT_BLOCKS {
            let blocks = std::mem::take(&mut group.done);
            let group_first_seq = group.first_seq;
            let tiles = self.changed_tiles();
            // A send fails only when the committer is gone, which the group's end reports.
            let _ = self.commits.send(ToCommit::Partial {
                blocks,
                tiles,
                group_first_seq,
            });
        }
        Ok(())
    }
}

/// Answers every caller of a failed group, one error per submission.
fn reply_unavailable(replies: Vec<Reply>, reason: &str) {
    for (reply, n) in replies {
        let _ = reply.send(vec![Err(SubmitError::Unavailable(reason.to_owned())); n]);
    }
}

fn reply_all_unavailable(jobs: Vec<Job>, reason: &str) {
    for job in jobs {
        let n = job.submissions.len();
        let _ = job
            .reply
            .send(vec![Err(SubmitError::Unavailable(reason.to_owned())); n]);
    }
}
