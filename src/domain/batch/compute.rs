//! Computing a batch: for every beneficiary with an entitlement in the batch's programme, the
//! payment due for the batch month as the ledger knows it at the basis sequence number, by the
//! rules (`rules::payment_due`): regular lines, arrears and recoveries itemised by source
//! month. Deterministic: the same state and batch give the same lines in the same order.
//!
//! People are left out, and listed, when their payment cannot be made safely: held for review,
//! held after an identity check (`domain::identity`), no payment route, personal data erased, or a rule that cannot price them (a missing rate is
//! never paid as zero).

use std::ops::Range;

use crate::domain::command::NewPayment;
use crate::domain::rules::{self, Paid, Person, RateBook};
use crate::domain::state::{Beneficiary, State};
use crate::domain::types::{BatchId, BeneficiaryId, Month, Programme, Vnd};

/// What a batch computation produced, with everyone it left out and why.
#[derive(Debug, Clone, Default)]
pub struct BatchPlan {
    /// Payments in recipient order, one per recipient.
    pub payments: Vec<NewPayment>,
    /// People the rules could not price, with the reason.
    pub not_computable: Vec<(BeneficiaryId, String)>,
    /// People held for review (for example after a "deceased" return).
    pub held: Vec<BeneficiaryId>,
    /// People owed money who have no payment route, with the amount.
    pub without_route: Vec<(BeneficiaryId, Vnd)>,
    /// Overpayments not yet offset, carried into later months.
    pub outstanding_recovery: Vec<(BeneficiaryId, Vnd)>,
    /// People held after an identity check against the population database, with the reason
    /// (`domain::identity`).
    pub identity_held: Vec<(BeneficiaryId, String)>,
}

/// What is being computed.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub batch: BatchId,
    pub programme: Programme,
    pub month: Month,
    /// Only records with a lower sequence number count.
    pub known_at: u64,
}

impl Target {
    pub fn of(state: &State, batch: BatchId) -> Option<Target> {
        let b = state.batch(batch)?;
        Some(Target {
            batch,
            programme: b.opened.programme,
            month: b.opened.month,
            known_at: state.applied(),
        })
    }
}

/// The whole batch, on one thread.
pub fn compute(state: &State, target: Target) -> BatchPlan {
    let rates = RateBook::new(state.schedules());
    let part = compute_range(state, &rates, target, 0..state.beneficiary_count());
    merge(vec![part])
}

/// The beneficiaries with indexes in `range` (so callers can split the work across threads);
/// combine the parts with `merge`.
pub fn compute_range(
    state: &State,
    rates: &RateBook<'_>,
    target: Target,
    range: Range<usize>,
) -> BatchPlan {
    let mut plan = BatchPlan::default();
    for index in range {
        let Some(b) = state.beneficiaries().get(index) else {
            break;
        };
        person(state, rates, target, b, &mut plan);
    }
    plan
}

fn person(
    state: &State,
    rates: &RateBook<'_>,
    target: Target,
    b: &Beneficiary,
    plan: &mut BatchPlan,
) {
    let in_programme = b
        .entitlements
        .iter()
        .filter_map(|e| state.entitlement(*e))
        .any(|e| e.grant.programme == target.programme && e.granted_seq < target.known_at);
    if !in_programme || b.identity.known().is_none() {
        return;
    }
    if b.hold.is_some() {
        plan.held.push(b.id);
        return;
    }
    let dead = b.date_of_death.is_some();
    if let Some(reason) = state.identity().hold_reason(b.id, target.programme, dead) {
        plan.identity_held.push((b.id, reason));
        return;
    }
    let ents = rules::entitlements_of(state, b);
    let person = Person::of(b, &ents);
    let due = match rules::payment_due(
        &person,
        rates,
        target.programme,
        target.month,
        target.known_at,
        &paid(&ents),
    ) {
        Ok(d) => d,
        Err(e) => {
            plan.not_computable.push((b.id, e.to_string()));
            return;
        }
    };
    if due.outstanding_recovery.0 > 0 {
        plan.outstanding_recovery
            .push((b.id, due.outstanding_recovery));
    }
    // Lines go to the entitlement's payee when it has one (a carer or guardian).
    let mut by_recipient: Vec<(BeneficiaryId, Vec<crate::domain::event::PaymentItem>)> = Vec::new();
    for line in &due.lines {
        let recipient = state
            .entitlement(line.entitlement)
            .and_then(|e| e.grant.payee)
            .unwrap_or(b.id);
        match by_recipient.iter_mut().find(|(r, _)| *r == recipient) {
            Some((_, items)) => items.push(line.item()),
            None => by_recipient.push((recipient, vec![line.item()])),
        }
    }
    for (recipient, items) in by_recipient {
        pay(state, b.id, recipient, items, plan);
    }
}

/// Adds one recipient's payment, or lists why it cannot be made.
fn pay(
    state: &State,
    subject: BeneficiaryId,
    recipient: BeneficiaryId,
    items: Vec<crate::domain::event::PaymentItem>,
    plan: &mut BatchPlan,
) {
    let amount: Vnd = items.iter().map(|i| i.amount).sum();
    if amount == Vnd::ZERO {
        return;
    }
    if amount.is_negative() {
        let reason = format!("the recovery exceeds what is paid to {recipient}; needs a decision");
        plan.not_computable.push((subject, reason));
        return;
    }
    let Some(r) = state.beneficiary(recipient) else {
        plan.not_computable
            .push((subject, format!("payee {recipient} does not exist")));
        return;
    };
    if r.hold.is_some() {
        plan.held.push(recipient);
        return;
    }
    match r.route {
        Some(route) => plan.payments.push(NewPayment {
            beneficiary: recipient,
            route,
            amount,
            items,
        }),
        None => plan.without_route.push((recipient, amount)),
    }
}

/// What each of these entitlements has been paid, as the rules want it.
fn paid(ents: &[&crate::domain::state::Entitlement]) -> Paid {
    let mut out = Paid::new();
    for e in ents {
        for (m, v) in e.paid.iter() {
            out.insert((e.id(), m), v);
        }
    }
    out
}

/// Combines parts computed over disjoint ranges: payments to the same recipient (a carer paid
/// for two people) become one, and everything is put in recipient order.
pub fn merge(parts: Vec<BatchPlan>) -> BatchPlan {
    let mut out = BatchPlan::default();
    for p in parts {
        out.payments.extend(p.payments);
        out.not_computable.extend(p.not_computable);
        out.held.extend(p.held);
        out.without_route.extend(p.without_route);
        out.outstanding_recovery.extend(p.outstanding_recovery);
        out.identity_held.extend(p.identity_held);
    }
    out.payments.sort_by_key(|p| p.beneficiary);
    out.payments.dedup_by(|later, first| {
        if later.beneficiary != first.beneficiary {
            return false;
        }
        first.amount = first.amount + later.amount;
        first.items.append(&mut later.items);
        true
    });
    out.held.sort();
    out.held.dedup();
    out.not_computable.sort_by_key(|(b, _)| *b);
    out.without_route.sort_by_key(|(b, _)| *b);
    out.outstanding_recovery.sort_by_key(|(b, _)| *b);
    out.identity_held.sort_by_key(|(b, _)| *b);
    out
}
