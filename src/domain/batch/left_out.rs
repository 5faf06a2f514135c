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
use crate::domain::types::{BatchId, BeneficiaryId, Vnd};

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
    let b = state.batch(batch)?;
    let computed = b.computed.as_ref()?;
    let target = Target {
        batch,
        programme: b.opened.programme,
        month: b.opened.month,
        known_at: computed.basis_seq,
    };
    let paid: HashSet<BeneficiaryId> = state.payments_of(b).map(|(_, p)| p.beneficiary()).collect();
    let rates = RateBook::new(state.schedules());
    let parts: Vec<BatchPlan> = state
        .beneficiaries()
        .iter()
        .enumerate()
        .filter(|(_, person)| !paid.contains(&person.id) && person.enrolled_seq < target.known_at)
        .map(|(i, _)| compute_range(state, &rates, target, i..i + 1))
        .collect();
    Some(reasons(merge(parts)))
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
