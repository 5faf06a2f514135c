//! Who a computed batch left out and why, derived from the state rather than kept from the
//! computation: each person without a line in the batch is put through the computation's own
//! per-person step (`compute::compute_range` over that one person, with the rules as known at
//! the batch's basis), and whatever it leaves them out for is the answer. There is no second
//! copy of the rules, and the answer survives a restart because it needs nothing but the state.
//!
//! Holds, identity answers and routes are read as they are now: someone whose hold was cleared
//! after the computation no longer shows as left out, and would be paid by the next batch.

use std::collections::HashSet;

use super::compute::{compute_range, merge, BatchPlan, Target};
use crate::domain::rules::RateBook;
use crate::domain::state::State;
use crate::domain::types::{BatchId, BeneficiaryId, PaymentId, Vnd};

/// Why a person has no line in a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// Held for review (for example after a "deceased" return).
    Held,
    /// Held after an identity check against the population database, with the reason.
    Identity(String),
    /// Owed this amount but has no payment route.
    NoRoute(Vnd),
    /// The rules could not price them, with the reason.
    NotComputable(String),
}

/// Everyone the computation of `batch` leaves out, in beneficiary order; `None` when the
/// batch does not exist or was not computed.
pub fn left_out(state: &State, batch: BatchId) -> Option<Vec<(BeneficiaryId, Why)>> {
    let mut b = Builder::new(state, batch)?;
    while !b.step(state, usize::MAX) {}
    Some(b.finish())
}

/// `left_out` a few people at a time, so that a caller can let go of the state between steps:
/// `new`, then `step` until it says everyone is through, then `finish`. The batch's lines are
/// fixed while it stays at one computation (the caller checks that between steps); each
/// person is judged as the state is when their step runs.
pub struct Builder {
    target: Target,
    /// How many of the batch's lines have been read into `paid`.
    lines_at: usize,
    paid: HashSet<BeneficiaryId>,
    /// How many people have been put through the computation's step.
    people_at: usize,
    parts: Vec<BatchPlan>,
}

impl Builder {
    /// `None` when the batch does not exist or was not computed.
    pub fn new(state: &State, batch: BatchId) -> Option<Builder> {
        let b = state.batch(batch)?;
        let computed = b.computed.as_ref()?;
        Some(Builder {
            target: Target {
                batch,
                programme: b.opened.programme,
                month: b.opened.month,
                known_at: computed.basis_seq,
            },
            lines_at: 0,
            paid: HashSet::new(),
            people_at: 0,
            parts: Vec::new(),
        })
    }

    /// Reads up to `n` more of the batch's lines, then puts up to `n` more people through the
    /// computation's step: `true` once everyone has been.
    pub fn step(&mut self, state: &State, n: usize) -> bool {
        let Some(b) = state.batch(self.target.batch) else {
            return true;
        };
        if self.lines_at < b.payments.len() {
            let ids: Vec<PaymentId> = b.payments.iter().skip(self.lines_at).take(n).collect();
            self.lines_at += ids.len();
            self.paid.extend(
                ids.into_iter()
                    .filter_map(|id| state.payment(id).map(|p| p.beneficiary())),
            );
            return false;
        }
        let rates = RateBook::new(state.schedules());
        let (target, paid) = (self.target, &self.paid);
        let mut taken = 0;
        let parts = state
            .beneficiaries()
            .iter()
            .enumerate()
            .skip(self.people_at)
            .take(n)
            .inspect(|_| taken += 1)
            .filter(|(_, person)| {
                !paid.contains(&person.id) && person.enrolled_seq < target.known_at
            })
            .map(|(i, _)| compute_range(state, &rates, target, i..i + 1))
            .collect::<Vec<_>>();
        self.parts.extend(parts);
        self.people_at += taken;
        taken < n
    }

    /// Who was left out and why, once `step` is through.
    pub fn finish(self) -> Vec<(BeneficiaryId, Why)> {
        reasons(merge(self.parts))
    }
}

/// The plan's left-out lists as one list in beneficiary order.
pub fn reasons(plan: BatchPlan) -> Vec<(BeneficiaryId, Why)> {
    let mut out: Vec<(BeneficiaryId, Why)> = Vec::new();
    out.extend(plan.held.into_iter().map(|b| (b, Why::Held)));
    out.extend(
        plan.identity_held
            .into_iter()
            .map(|(b, r)| (b, Why::Identity(r))),
    );
    out.extend(
        plan.without_route
            .into_iter()
            .map(|(b, v)| (b, Why::NoRoute(v))),
    );
    out.extend(
        plan.not_computable
            .into_iter()
            .map(|(b, r)| (b, Why::NotComputable(r))),
    );
    out.sort_by_key(|(b, _)| *b);
    out
}
