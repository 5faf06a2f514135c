//! The batch page's review, computed once per computation and kept: a computed batch's review
//! (totals by bank, commune and scheme, changes since last month, anomalies) and who it left
//! out are a walk over the batch, last month's batch and the caseload, but the approval binds
//! the batch's content, so they are kept per (batch, computation record) and later page views
//! read them from here. Bounded by `REVIEW_CACHE_BATCHES_MAX`; the oldest goes first.
//!
//! A review is computed on the blocking pool, never on the reader threads that serve every
//! page, and only once: whoever asks first (the warm-up of `web::warm` right after the batch is
//! computed, or a page) starts it, and everyone who asks before it is done waits for that same
//! computation. It is built a step at a time (`reviewed_in_steps`), letting go of the state
//! between steps, so that writes go on while a large batch's review is built.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::domain::batch::left_out::{self, Why};
use crate::domain::batch::review::{self, Review};
use crate::domain::event::Digest;
use crate::domain::state::State;
use crate::domain::types::{BatchId, BeneficiaryId};
use crate::ledger::Ledger;

pub use crate::http::limits::REVIEW_CACHE_BATCHES_MAX;

/// A batch's computation: the batch, the record its computation read up to, its content hash.
pub type Computation = (BatchId, u64, Digest);

/// What the batch page shows of a computation.
#[derive(Debug)]
pub struct Reviewed {
    pub review: Review,
    pub left_out: Vec<(BeneficiaryId, Why)>,
}

/// A computation's review: `None` while it is being computed, then its outcome (`None` when
/// the batch had moved on to another computation before the review began).
type Slot = watch::Receiver<Option<Option<Arc<Reviewed>>>>;

/// The kept reviews, the most recent last.
#[derive(Default)]
pub struct Reviews(Mutex<VecDeque<(Computation, Slot)>>);

/// The computation a batch's review would be of: `None` when the batch does not exist or is
/// not computed.
pub fn computation(state: &State, batch: BatchId) -> Option<Computation> {
    let c = state.batch(batch)?.computed.as_ref()?;
    Some((batch, c.basis_seq, c.content_hash))
}

/// Lines (or people) a review reads per hold of the state's read lock. The writer waits for
/// one step at most, rather than for a walk over every line of a million-line batch.
pub const REVIEW_STEP_LINES: usize = 10_000;
/// The pause between two steps of a review, for a waiting writer to take the lock.
pub const REVIEW_STEP_PAUSE_MS: u64 = 1;

/// The review of `key`, built `step` lines (or people) at a time, each step under its own
/// hold of the state's read lock: between steps the writer goes on (an enrolment, a status
/// report), and each step first checks the batch is still at that computation. `None` when it
/// is not (then or later). It equals `reviewed` for a state that did not change meanwhile.
pub fn reviewed_in_steps(ledger: &Ledger, key: Computation, step: usize) -> Option<Reviewed> {
    let at = |f: &mut dyn FnMut(&State) -> Option<bool>| {
        ledger
            .read_unconfirmed(|s| {
                if computation(s, key.0) != Some(key) {
                    return None;
                }
                f(s)
            })
            .into_parts()
            .0
    };
    let mut built = None;
    at(&mut |s| {
        built = Some((
            review::Builder::new(s, key.0)?,
            left_out::Builder::new(s, key.0)?,
        ));
        Some(true)
    })?;
    let (mut review, mut left) = built?;
    // A pause between steps: a writer woken as the lock is let go needs a moment to take it,
    // and a reader that takes it straight back would keep it waiting for the whole build.
    let pause = std::time::Duration::from_millis(REVIEW_STEP_PAUSE_MS);
    while !at(&mut |s| Some(review.step(s, step)))? {
        std::thread::sleep(pause);
    }
    while !at(&mut |s| Some(left.step(s, step)))? {
        std::thread::sleep(pause);
    }
    let mut out = None;
    let mut parts = Some((review, left));
    at(&mut |s| {
        let (review, left) = parts.take()?;
        out = Some(Reviewed {
            review: review.finish(s),
            left_out: left.finish(),
        });
        Some(true)
    })?;
    out
}

/// The review of `key`, computed from `state`, if the batch is still at that computation.
pub fn reviewed(state: &State, key: Computation) -> Option<Reviewed> {
    if computation(state, key.0) != Some(key) {
        return None;
    }
    Some(Reviewed {
        review: review::review(state, key.0)?,
        left_out: left_out::left_out(state, key.0)?,
    })
}

impl Reviews {
    /// The review of `key`: kept, or being computed (then this waits for it), or computed now
    /// on the blocking pool and kept. `None` when the batch is no longer at that computation.
    pub async fn of(&self, ledger: &Ledger, key: Computation) -> Option<Arc<Reviewed>> {
        let mut slot = self.slot(ledger, key);
        let done = slot.wait_for(Option::is_some).await.ok()?;
        done.clone().flatten()
    }

    /// Starts computing the review of `key` unless it is kept or under way.
    pub fn warm(&self, ledger: &Ledger, key: Computation) {
        drop(self.slot(ledger, key));
    }

    /// The review of `key` if it is kept and finished (it never waits or computes).
    pub fn ready(&self, key: Computation) -> Option<Arc<Reviewed>> {
        let all = self.0.lock().expect("review cache lock");
        let (_, slot) = all.iter().find(|(k, _)| *k == key)?;
        let done = slot.borrow().clone();
        done.flatten()
    }

    fn slot(&self, ledger: &Ledger, key: Computation) -> Slot {
        let mut all = self.0.lock().expect("review cache lock");
        if let Some((_, slot)) = all.iter().find(|(k, _)| *k == key) {
            return slot.clone();
        }
        let (tx, rx) = watch::channel(None);
        if all.len() >= REVIEW_CACHE_BATCHES_MAX {
            all.pop_front();
        }
        all.push_back((key, rx.clone()));
        drop(all);
        let ledger = ledger.clone();
        // A detached job: a page that stops waiting (its browser went away) does not cancel
        // the computation the others wait for. Should it panic, the sender is dropped and the
        // waiters get no review rather than waiting forever.
        tokio::task::spawn_blocking(move || {
            let done = reviewed_in_steps(&ledger, key, REVIEW_STEP_LINES).map(Arc::new);
            let _ = tx.send(Some(done));
        });
        rx
    }

    /// How many computations are kept (finished or under way).
    pub fn len(&self) -> usize {
        self.0.lock().expect("review cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
