//! What one payment month owes a person under one programme, given what was already paid:
//! the regular lines of the month, arrears (truy lĩnh) and recoveries (truy thu) for earlier
//! months, itemised by source month.
//!
//! For every month m from the person's first entitlement month up to the payment month P:
//! difference = due(m, as now known) − paid(m). Nothing paid yet: the due lines themselves
//! (Regular for P, OneOff for a one-off, Arrears before P: each month's arrears at the rate in
//! force in that month, ND 131/2021 Art 183(2)). Something paid: a positive difference is an
//! Arrears line, a negative one a Recovery line (TT 101/2018 Art 21). P itself is treated the
//! same way, so re-running or supplementing a month never pays it twice.
//!
//! Recovery offsets the payment but never makes it negative: recoveries are applied oldest
//! source month first up to the positive total, and the rest is returned as outstanding
//! recovery. Because the paid map then still shows the overpayment, the next month's
//! computation finds the rest again: nothing is lost and nothing is taken twice.

use std::collections::BTreeMap;

use crate::domain::event::ItemKind;
use crate::domain::state::Entitlement;
use crate::domain::types::{EntitlementId, Month, Programme, Vnd};

use super::lifecycle::{known, latest_terms};
use super::rates::RateBook;
use super::{catalogue, cite_all, due, DueLine, Person, RuleError};

/// Net amount paid per (entitlement, source month): every line of every payment that went out
/// or may still go out (scheduled, settled), including arrears and recovery lines, and excluding
/// cancelled and returned payments.
pub type Paid = BTreeMap<(EntitlementId, Month), Vnd>;

/// The lines of one payment and what is left over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentDue {
    /// In source-month order, then entitlement order.
    pub lines: Vec<DueLine>,
    /// The sum of the lines; never negative.
    pub amount: Vnd,
    /// Overpayment not yet offset, carried into later payments (positive).
    pub outstanding_recovery: Vnd,
}

/// The payment due in month `month` for `programme`, as known at `known_at`.
pub fn payment_due(
    person: &Person<'_>,
    rates: &RateBook<'_>,
    programme: Programme,
    month: Month,
    known_at: u64,
    paid: &Paid,
) -> Result<PaymentDue, RuleError> {
    let ents: Vec<&Entitlement> = person
        .entitlements
        .iter()
        .copied()
        .filter(|e| e.grant.programme == programme && known(e, known_at))
        .collect();
    let mut lines = Vec::new();
    let Some(start) = first_month(&ents, paid) else {
        return Ok(settle(lines));
    };
    let mut m = start;
    while m <= month {
        let due_m = due(person, rates, m, known_at)?;
        for e in &ents {
            let of_e: Vec<&DueLine> = due_m.iter().filter(|l| l.entitlement == e.id()).collect();
            let paid_e = paid.get(&(e.id(), m)).copied().unwrap_or_default();
            difference(e, m, month, &of_e, paid_e, &mut lines);
        }
        m = m.next();
    }
    Ok(settle(lines))
}

/// The earliest month anything could be due or was paid under these entitlements.
fn first_month(ents: &[&Entitlement], paid: &Paid) -> Option<Month> {
    let start = ents.iter().map(|e| match e.grant.kind {
        crate::domain::event::EntitlementKind::Monthly => e.grant.effective_from,
        crate::domain::event::EntitlementKind::OneOff { month } => month,
    });
    let paid_months = ents.iter().filter_map(|e| {
        let from = (e.id(), Month::new(1900, 1).expect("valid month"));
        paid.range(from..)
            .next()
            .filter(|((id, _), _)| *id == e.id())
            .map(|((_, m), _)| *m)
    });
    start.chain(paid_months).min()
}

/// The lines for one entitlement and source month `m` of payment month `p`.
fn difference(
    e: &Entitlement,
    m: Month,
    p: Month,
    due: &[&DueLine],
    paid: Vnd,
    out: &mut Vec<DueLine>,
) {
    let due_total: Vnd = due.iter().map(|l| l.amount).sum();
    if paid == Vnd::ZERO {
        for l in due.iter().filter(|l| l.amount != Vnd::ZERO) {
            let kind = match l.kind {
                ItemKind::OneOff => ItemKind::OneOff,
                _ if m == p => ItemKind::Regular,
                _ => ItemKind::Arrears,
            };
            out.push(DueLine {
                kind,
                ..(*l).clone()
            });
        }
        return;
    }
    let diff = due_total - paid;
    if diff == Vnd::ZERO {
        return;
    }
    let kind = if diff.is_negative() {
        ItemKind::Recovery
    } else {
        ItemKind::Arrears
    };
    let basis = if due.is_empty() {
        "nothing due".to_owned()
    } else {
        cite_all(due.iter().map(|l| l.rule.as_str()), " + ")
    };
    out.push(DueLine {
        kind,
        amount: diff,
        rule: format!("{basis} − paid {paid}"),
        source_month: m,
        ..difference_template(e, due)
    });
}

/// Identity fields of a difference line: from the due line when there is one, else from the
/// entitlement's latest terms.
fn difference_template(e: &Entitlement, due: &[&DueLine]) -> DueLine {
    if let Some(l) = due.first() {
        return (*l).clone();
    }
    let terms = latest_terms(e);
    let scheme = catalogue::scheme(terms.scheme);
    DueLine {
        entitlement: e.id(),
        programme: e.grant.programme,
        scheme: terms.scheme.to_owned(),
        source_month: e.grant.effective_from,
        kind: ItemKind::Recovery,
        amount: Vnd::ZERO,
        rule: String::new(),
        clause: scheme.map_or("", |s| s.clause),
        schedule: String::new(),
        decision: terms.decision.to_owned(),
    }
}

/// Orders the lines and applies recoveries up to the positive total, oldest first.
fn settle(mut lines: Vec<DueLine>) -> PaymentDue {
    lines.sort_by_key(|l| (l.source_month, l.entitlement));
    let mut room: i64 = lines
        .iter()
        .filter(|l| l.amount.0 > 0)
        .map(|l| l.amount.0)
        .sum();
    let mut outstanding = 0;
    for l in lines.iter_mut().filter(|l| l.amount.is_negative()) {
        let applied = (-l.amount.0).min(room);
        outstanding += -l.amount.0 - applied;
        room -= applied;
        l.amount = Vnd(-applied);
    }
    lines.retain(|l| l.amount != Vnd::ZERO);
    let amount = lines.iter().map(|l| l.amount).sum();
    PaymentDue {
        lines,
        amount,
        outstanding_recovery: Vnd(outstanding),
    }
}
