//! The single writer: the only code that appends to the chain. It drains whatever jobs are
//! waiting (up to `GROUP_COMMANDS_MAX` commands), decides and applies them in order under the
//! state lock, packs their records into blocks, writes the group with one flush, and only then
//! answers every caller. A failed flush or an event that does not apply stops the writer for
//! good (fail-stop): nothing after that point is acknowledged, and reopening the ledger rebuilds
//! the state from what is durable.

use std::sync::Arc;

use crossbeam_channel::Receiver;
use rand::{Rng, SeedableRng};

use super::{Clock, IdempotencyEntry, IdempotencyIndex, Receipt, Shared, SubmitError, Submission, GROUP_COMMANDS_MAX, BLOCK_BYTES_MAX};
use crate::chain::block::{BlockWriter, PersonalEntry};
use crate::chain::record::{
    encode_record, personal_commitment, record_hash, Idempotency, RecordHeader, GENESIS_PREV_HASH,
    PERSONAL_SALT_BYTES,
};
use crate::chain::{Anchor, Hash};
use crate::codec;
use crate::domain::state::Attachment;
use crate::domain::types::Date;
use crate::domain::{decide, Context, Emitted, State};
use crate::store::PendingBlock;

/// blake3 `derive_key` context of the request digest stored beside an idempotency key.
pub const REQUEST_DIGEST_CONTEXT: &str = "chitra 2026-11-22 request digest v1";

/// Vietnam's civil time is UTC+7 all year; decisions are dated in it.
const LOCAL_OFFSET_MS: i64 = 7 * 3600 * 1000;

pub(super) struct Job {
    pub submissions: Vec<super::Submission>,
    pub reply: tokio::sync::oneshot::Sender<Vec<Result<Receipt, SubmitError>>>,
}

pub(super) struct Writer {
    pub shared: Arc<Shared>,
    pub rx: Receiver<Job>,
    pub clock: Clock,
    pub rng: rand::rngs::StdRng,
    pub head: Option<Anchor>,
    pub last_ms: i64,
    pub idempotency: IdempotencyIndex,
    payload: Vec<u8>,
}

/// The blocks of one group commit being built.
struct Group {
    done: Vec<PendingBlock>,
    current: BlockWriter,
    current_first: u64,
    personal: Vec<PersonalEntry>,
}

impl Group {
    fn new(first_seq: u64) -> Group {
        Group {
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

pub(super) fn seeded_rng(seed: Option<u64>) -> rand::rngs::StdRng {
    match seed {
        Some(s) => rand::rngs::StdRng::seed_from_u64(s),
        None => rand::rngs::StdRng::from_entropy(),
    }
}

impl Writer {
    pub fn new(
        shared: Arc<Shared>,
        rx: Receiver<Job>,
        clock: Clock,
        rng: rand::rngs::StdRng,
        head: Option<Anchor>,
        last_ms: i64,
        idempotency: IdempotencyIndex,
    ) -> Writer {
        Writer {
            shared,
            rx,
            clock,
            rng,
            head,
            last_ms,
            idempotency,
            payload: Vec::with_capacity(256),
        }
    }

    pub fn run(mut self) {
        while let Ok(first) = self.rx.recv() {
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
        }
    }

    fn next_seq(&self) -> u64 {
        self.head.map_or(0, |a| a.seq + 1)
    }

    fn group(&mut self, jobs: Vec<Job>) {
        if self.shared.stopped.load(std::sync::atomic::Ordering::Acquire) {
            return reply_all_unavailable(jobs, "the writer has stopped");
        }
        let now = (self.clock)().max(self.last_ms);
        self.last_ms = now;
        let start_seq = self.next_seq();
        let mut group = Group::new(start_seq);
        let mut results = Vec::with_capacity(jobs.len());
        let shared = Arc::clone(&self.shared);
        let fatal = {
            let mut state = shared.state.write().expect("state lock poisoned");
            let mut fatal = None;
            'jobs: for job in &jobs {
                let mut job_results = Vec::with_capacity(job.submissions.len());
                for sub in &job.submissions {
                    match self.process(&mut state, &mut group, sub, now) {
                        Ok(r) => job_results.push(r),
                        Err(f) => {
                            fatal = Some(f);
                            break 'jobs;
                        }
                    }
                }
                results.push(job_results);
            }
            fatal
        };
        if let Some(Fatal(reason)) = fatal {
            self.shared.stop(reason.clone());
            return reply_all_unavailable(jobs, &reason);
        }
        let end_seq = self.next_seq();
        if end_seq > start_seq {
            let head = self.head.expect("records were appended");
            let blocks = group.finish(end_seq);
            if let Err(e) = self.shared.store.append_group(blocks, head) {
                let reason = format!("a write to the store failed, nothing since seq {start_seq} is acknowledged: {e}");
                self.shared.stop(reason.clone());
                return reply_all_unavailable(jobs, &reason);
            }
            self.shared.publish_durable(end_seq);
        }
        for (job, r) in jobs.into_iter().zip(results) {
            let _ = job.reply.send(r);
        }
    }

    /// Decides and appends one submission. `Ok(Err(_))` is a refusal for the caller;
    /// `Err(Fatal)` stops the writer.
    fn process(
        &mut self,
        state: &mut State,
        group: &mut Group,
        sub: &Submission,
        now: i64,
    ) -> Result<Result<Receipt, SubmitError>, Fatal> {
        let principal = sub.principal.as_str();
        let command_bytes = sub.idempotency_key.as_ref().map(|_| codec::canonical_bytes(&sub.command));
        if let Some(key) = &sub.idempotency_key {
            let index_key = (principal.to_owned(), key.as_bytes().to_vec());
            if let Some(entry) = self.idempotency.get(&index_key) {
                let bytes = command_bytes.as_deref().expect("bytes exist with a key");
                return Ok(if request_digest(&entry.salt, bytes) == entry.digest {
                    Ok(Receipt {
                        replayed: true,
                        ..entry.receipt
                    })
                } else {
                    Err(SubmitError::IdempotencyConflict)
                });
            }
        }
        let ctx = Context {
            principal,
            today: local_date(now),
        };
        let emitted = match decide(state, &ctx, &sub.command) {
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
        // Salts first: the request digest is salted with the first of them.
        let salts: Vec<Option<[u8; PERSONAL_SALT_BYTES]>> = emitted
            .iter()
            .map(|e| e.personal.as_ref().map(|_| self.rng.gen()))
            .collect();
        let digest_salt = salts.iter().flatten().next().copied().unwrap_or([0; PERSONAL_SALT_BYTES]);
        let digest = command_bytes.as_deref().map(|b| request_digest(&digest_salt, b));
        let idempotency = sub.idempotency_key.as_ref().zip(digest).map(|(k, d)| Idempotency {
            key: k.as_bytes(),
            request_digest: d,
        });
        let first_seq = self.next_seq();
        let count = emitted.len() as u32;
        for (e, salt) in emitted.into_iter().zip(salts) {
            self.append(state, group, principal, idempotency, e, salt, now)?;
        }
        let receipt = Receipt {
            first_seq,
            count,
            hash: self.head.expect("records were appended").hash,
            replayed: false,
        };
        if let (Some(key), Some(digest)) = (&sub.idempotency_key, digest) {
            self.idempotency.insert(
                (principal.to_owned(), key.as_bytes().to_vec()),
                IdempotencyEntry {
                    digest,
                    salt: digest_salt,
                    receipt,
                },
            );
        }
        Ok(Ok(receipt))
    }

    #[allow(clippy::too_many_arguments)]
    fn append(
        &mut self,
        state: &mut State,
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
        let range = group.current.push_with(|buf| encode_record(buf, &header, &payload));
        let hash = record_hash(&group.current.bytes()[range]);
        self.payload = payload;
        self.head = Some(Anchor { seq, hash });
        let attachment = match emitted.personal {
            Some(p) => Attachment::Present(p),
            None => Attachment::None,
        };
        state
            .apply(seq, principal, &emitted.event, attachment)
            .map_err(|e| Fatal(format!("decided event does not apply (a bug): {e}")))?;
        group.maybe_cut(seq + 1);
        Ok(())
    }
}

fn reply_all_unavailable(jobs: Vec<Job>, reason: &str) {
    for job in jobs {
        let n = job.submissions.len();
        let _ = job.reply.send(vec![Err(SubmitError::Unavailable(reason.to_owned())); n]);
    }
}
