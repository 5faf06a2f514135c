//! The batch page's review, computed once per computation and kept: a computed batch's review
//! (totals by bank, commune and scheme, changes since last month, anomalies) and who it left
//! out are a walk over the batch, last month's batch and the caseload, but the approval binds
//! the batch's content, so they are kept per (batch, computation record) and later page views
//! read them from here. Bounded by `REVIEW_CACHE_BATCHES_MAX`; the oldest goes first.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::domain::batch::left_out::{self, Why};
use crate::domain::batch::review::{self, Review};
use crate::domain::event::Digest;
use crate::domain::state::State;
use crate::domain::types::{BatchId, BeneficiaryId};

pub use crate::http::limits::REVIEW_CACHE_BATCHES_MAX;

/// A batch's computation: the batch, the record its computation read up to, its content hash.
pub type Computation = (BatchId, u64, Digest);

/// What the batch page shows of a computation.
#[derive(Debug)]
pub struct Reviewed {
    pub review: Review,
    pub left_out: Vec<(BeneficiaryId, Why)>,
}

/// The kept reviews, the most recent last.
#[derive(Default)]
pub struct Reviews(Mutex<VecDeque<(Computation, Arc<Reviewed>)>>);

impl Reviews {
    /// The review of the batch's computation: kept, or computed now from `state` and kept.
    /// `None` when the batch does not exist or is not computed.
    pub fn of(&self, state: &State, batch: BatchId) -> Option<Arc<Reviewed>> {
        let c = state.batch(batch)?.computed.as_ref()?;
        let key = (batch, c.basis_seq, c.content_hash);
        if let Some(kept) = self.kept(&key) {
            return Some(kept);
        }
        let done = Arc::new(Reviewed {
            review: review::review(state, batch)?,
            left_out: left_out::left_out(state, batch)?,
        });
        let mut all = self.0.lock().expect("review cache lock");
        all.retain(|(k, _)| *k != key);
        if all.len() >= REVIEW_CACHE_BATCHES_MAX {
            all.pop_front();
        }
        all.push_back((key, done.clone()));
        Some(done)
    }

    fn kept(&self, key: &Computation) -> Option<Arc<Reviewed>> {
        let all = self.0.lock().expect("review cache lock");
        all.iter().find(|(k, _)| k == key).map(|(_, r)| r.clone())
    }

    /// How many computations are kept.
    pub fn len(&self) -> usize {
        self.0.lock().expect("review cache lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
