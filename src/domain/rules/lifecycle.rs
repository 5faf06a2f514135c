//! An entitlement's life-cycle as known at a sequence number: whether it is in force in a month,
//! and with which scheme, parameters and decision. Only records with seq < known_at count, so
//! the same question asked of the past gives the past's answer.
//!
//! Rules (RULES.md §1.4, §2.5): due from `effective_from`; an adjustment applies from its own
//! `effective_from` (the later-recorded decision wins where two overlap, since it supersedes);
//! suspension stops payment from `from`; resumption pays again from `from`, and with
//! `back_pay_from` the suspended months from then on become due again (TT 02/2021 Art 6(1)(b);
//! ND 131/2021 Art 119); termination: nothing due after `last_month`, and after fraud nothing
//! from `recover_from` on (Ordinance 02/2020 Art 55), so what was paid is recovered.

use crate::domain::event::{EntitlementKind, SchemeParam, TerminationReason};
use crate::domain::state::{Entitlement, EntitlementChange};
use crate::domain::types::Month;

/// What an entitlement says for one month.
#[derive(Debug, Clone, Copy)]
pub struct Terms<'a> {
    pub scheme: &'a str,
    pub params: &'a [SchemeParam],
    /// Number of the decision that set these terms (the grant or the latest adjustment).
    pub decision: &'a str,
}

/// Whether the ledger knew of the entitlement at `known_at`.
pub fn known(ent: &Entitlement, known_at: u64) -> bool {
    ent.granted_seq < known_at
}

/// The changes recorded before `known_at`, in the order they were recorded.
fn changes(ent: &Entitlement, known_at: u64) -> impl Iterator<Item = &EntitlementChange> {
    ent.changes
        .iter()
        .filter(move |(seq, _)| *seq < known_at)
        .map(|(_, c)| c)
}

/// The terms in force for `month`, or `None` when nothing is due under this entitlement then
/// (not yet known, before its start, outside its one-off month, suspended, or ended).
pub fn terms_at(ent: &Entitlement, month: Month, known_at: u64) -> Option<Terms<'_>> {
    if !known(ent, known_at) || !in_window(ent, month) {
        return None;
    }
    if ended_before(ent, month, known_at) || suspended(ent, month, known_at) {
        return None;
    }
    Some(adjusted_terms(ent, month, known_at))
}

fn in_window(ent: &Entitlement, month: Month) -> bool {
    match ent.grant.kind {
        EntitlementKind::Monthly => month >= ent.grant.effective_from,
        EntitlementKind::OneOff { month: m } => month == m,
    }
}

/// The last month due by the latest termination known, if any.
pub fn last_month(ent: &Entitlement, known_at: u64) -> Option<Month> {
    let t = changes(ent, known_at)
        .filter_map(|c| match c {
            EntitlementChange::Terminated(t) => Some(t),
            _ => None,
        })
        .last()?;
    Some(match t.reason {
        // Everything from `recover_from` on was not due: pay nothing from then, recover it.
        TerminationReason::Fraud { recover_from } => t.last_month.min(recover_from.prev()),
        _ => t.last_month,
    })
}

fn ended_before(ent: &Entitlement, month: Month, known_at: u64) -> bool {
    last_month(ent, known_at).is_some_and(|last| month > last)
}

/// Replays suspensions and resumptions in recorded order into the months they block.
fn suspended(ent: &Entitlement, month: Month, known_at: u64) -> bool {
    // Blocked intervals [from, until); `until = None` while still suspended.
    let mut blocked: Vec<(Month, Option<Month>)> = Vec::new();
    for c in changes(ent, known_at) {
        match c {
            EntitlementChange::Suspended(s) => blocked.push((s.from, None)),
            EntitlementChange::Resumed(r) => {
                for (from, until) in blocked.iter_mut().filter(|(_, u)| u.is_none()) {
                    // With back pay, the months from `back_pay_from` on are due after all.
                    let end = r.back_pay_from.map_or(r.from, |b| b.min(r.from));
                    *until = Some(end.max(*from));
                }
            }
            _ => {}
        }
    }
    blocked
        .iter()
        .any(|(from, until)| month >= *from && until.is_none_or(|u| month < u))
}

/// The grant's terms with the adjustments that apply to `month` laid over them.
fn adjusted_terms(ent: &Entitlement, month: Month, known_at: u64) -> Terms<'_> {
    let g = &ent.grant;
    let mut terms = Terms {
        scheme: &g.scheme,
        params: &g.params,
        decision: &g.decision.number,
    };
    for c in changes(ent, known_at) {
        if let EntitlementChange::Adjusted(a) = c {
            if a.effective_from <= month {
                if let Some(s) = &a.scheme {
                    terms.scheme = s;
                }
                if let Some(p) = &a.params {
                    terms.params = p;
                }
                terms.decision = &a.decision.number;
            }
        }
    }
    terms
}

/// The scheme and parameters the latest known decisions give from `month` on (for validating
/// an adjustment against what it changes).
pub fn latest_terms(ent: &Entitlement) -> Terms<'_> {
    adjusted_terms(ent, Month::new(2999, 12).expect("valid month"), u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::*;
    use crate::domain::types::*;

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    fn decision(n: &str) -> Decision {
        Decision {
            number: n.into(),
            date: Date::parse("2024-01-01").unwrap(),
            signer: "x".into(),
        }
    }

    fn ent(changes: Vec<(u64, EntitlementChange)>) -> Entitlement {
        Entitlement {
            grant: EntitlementGranted {
                entitlement: EntitlementId(1),
                beneficiary: BeneficiaryId(1),
                programme: Programme::Btxh,
                scheme: "btxh.hiv_poor".into(),
                params: vec![],
                kind: EntitlementKind::Monthly,
                effective_from: m("2024-01"),
                decision: decision("G"),
                payee: None,
            },
            granted_seq: 1,
            changes,
            paid: Default::default(),
        }
    }

    fn suspend(from: &str) -> EntitlementChange {
        EntitlementChange::Suspended(EntitlementSuspended {
            entitlement: EntitlementId(1),
            from: m(from),
            reason: SuspensionReason::Uncollected,
            decision: decision("S"),
        })
    }

    fn resume(from: &str, back: Option<&str>) -> EntitlementChange {
        EntitlementChange::Resumed(EntitlementResumed {
            entitlement: EntitlementId(1),
            from: m(from),
            back_pay_from: back.map(m),
            decision: decision("R"),
        })
    }

    fn due_months(e: &Entitlement, known_at: u64) -> Vec<String> {
        (0..12)
            .map(|i| m("2024-01").plus(i))
            .filter(|&mo| terms_at(e, mo, known_at).is_some())
            .map(|mo| mo.to_string()[5..].to_owned())
            .collect()
    }

    #[test]
    fn suspension_and_resumption_with_and_without_back_pay() {
        let e = ent(vec![
            (5, suspend("2024-03")),
            (9, resume("2024-07", Some("2024-05"))),
        ]);
        assert_eq!(
            due_months(&e, 5),
            ["01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"]
        );
        assert_eq!(due_months(&e, 6), ["01", "02"]);
        assert_eq!(
            due_months(&e, 10),
            ["01", "02", "05", "06", "07", "08", "09", "10", "11", "12"]
        );
        let e = ent(vec![(5, suspend("2024-03")), (9, resume("2024-07", None))]);
        assert_eq!(
            due_months(&e, 10),
            ["01", "02", "07", "08", "09", "10", "11", "12"]
        );
    }

    #[test]
    fn termination_and_fraud_end_the_entitlement() {
        let t = |reason| {
            EntitlementChange::Terminated(EntitlementTerminated {
                entitlement: EntitlementId(1),
                last_month: m("2024-06"),
                reason,
                decision: decision("T"),
            })
        };
        let e = ent(vec![(5, t(TerminationReason::LostEligibility))]);
        assert_eq!(due_months(&e, 6).last().map(String::as_str), Some("06"));
        let e = ent(vec![(
            5,
            t(TerminationReason::Fraud {
                recover_from: m("2024-03"),
            }),
        )]);
        assert_eq!(due_months(&e, 6), ["01", "02"]);
    }

    #[test]
    fn adjustments_apply_from_their_month_latest_record_wins() {
        let adj = |from: &str, n: &str| {
            EntitlementChange::Adjusted(EntitlementAdjusted {
                entitlement: EntitlementId(1),
                effective_from: m(from),
                scheme: Some(format!("btxh.{n}")),
                params: None,
                decision: decision(n),
            })
        };
        let e = ent(vec![(5, adj("2024-06", "a")), (7, adj("2024-03", "b"))]);
        assert_eq!(
            terms_at(&e, m("2024-02"), 10).unwrap().scheme,
            "btxh.hiv_poor"
        );
        assert_eq!(terms_at(&e, m("2024-07"), 10).unwrap().scheme, "btxh.b");
        assert_eq!(terms_at(&e, m("2024-07"), 6).unwrap().scheme, "btxh.a");
        assert_eq!(terms_at(&e, m("2024-07"), 6).unwrap().decision, "a");
    }
}
