//! Properties of the rules over random people, histories and payments: computing is
//! deterministic; what is due as now known always equals what was paid plus this payment less
//! the recovery still outstanding; and a payment is never negative.

mod common;

use chitra::domain::event::*;
use chitra::domain::rules::{self, Paid, Person, RateBook};
use chitra::domain::state::{Entitlement, EntitlementChange};
use chitra::domain::types::*;
use common::fixtures::{decision, schedules};
use proptest::prelude::*;

const SEQ_SCHEDULES_END: u64 = 100;

fn month(i: u32) -> Month {
    Month::new(2023, 7).unwrap().plus(i)
}

/// (programme, scheme, params) of decisions the generator draws from.
fn scheme(i: usize, rate: u8, n: u8) -> (Programme, &'static str, Vec<SchemeParam>) {
    use SchemeParam::*;
    match i % 8 {
        0 => (Programme::Btxh, "btxh.disability_severe", vec![]),
        1 => (
            Programme::Btxh,
            "btxh.single_parent_poor",
            vec![Children(n)],
        ),
        2 => (Programme::Btxh, "btxh.child_no_support", vec![]),
        3 => (Programme::Btxh, "btxh.elderly_poor_alone", vec![]),
        4 => (Programme::Ncc, "ncc.war_invalid", vec![InjuryRatePct(rate)]),
        5 => (
            Programme::Ncc,
            "ncc.martyr_relative",
            vec![Martyrs(n), LivingAlone],
        ),
        6 => (
            Programme::Ncc,
            "ncc.sick_soldier",
            vec![InjuryRatePct(rate.max(41)), EspeciallySevere],
        ),
        _ => (
            Programme::Ncc,
            "ncc.agent_orange",
            vec![InjuryRatePct(rate)],
        ),
    }
}

#[derive(Debug, Clone)]
struct Case {
    birth_year: u16,
    died: Option<u32>,
    grants: Vec<(usize, u8, u8, u32)>,
    terminate: Option<u32>,
    suspend: Option<(u32, u32, bool)>,
    pay_month: u32,
    paid: Vec<(usize, u32, i64)>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        1930u16..2022,
        proptest::option::of(0u32..30),
        proptest::collection::vec((0usize..8, 21u8..=100, 1u8..5, 0u32..20), 1..4),
        proptest::option::of(0u32..30),
        proptest::option::of((0u32..30, 0u32..30, any::<bool>())),
        0u32..30,
        proptest::collection::vec((0usize..4, 0u32..30, -2_000i64..12_000), 0..12),
    )
        .prop_map(
            |(birth_year, died, grants, terminate, suspend, pay_month, paid)| Case {
                birth_year,
                died,
                grants,
                terminate,
                suspend,
                pay_month,
                paid,
            },
        )
}

/// The entitlements of a case, all of the first grant's programme.
fn entitlements(c: &Case) -> (Programme, Vec<Entitlement>) {
    let programme = scheme(c.grants[0].0, 50, 1).0;
    let mut out = Vec::new();
    for (i, &(s, rate, n, from)) in c.grants.iter().enumerate() {
        let (p, code, params) = scheme(s, rate.max(21), n);
        if p != programme {
            continue;
        }
        let id = EntitlementId(i as u64 + 1);
        let mut changes = Vec::new();
        if let Some((from_s, len, back)) = c.suspend {
            changes.push((200, suspended(id, month(from_s))));
            let resume = month(from_s + len);
            changes.push((201, resumed(id, resume, back.then_some(month(from_s)))));
        }
        if let Some(last) = c.terminate {
            changes.push((202, terminated(id, month(last))));
        }
        out.push(Entitlement {
            grant: EntitlementGranted {
                entitlement: id,
                beneficiary: BeneficiaryId(1),
                programme,
                scheme: code.into(),
                params,
                kind: EntitlementKind::Monthly,
                effective_from: month(from),
                decision: decision("1/QĐ"),
                payee: None,
            },
            granted_seq: SEQ_SCHEDULES_END + i as u64,
            changes,
            paid: Default::default(),
        });
    }
    (programme, out)
}

fn suspended(entitlement: EntitlementId, from: Month) -> EntitlementChange {
    EntitlementChange::Suspended(EntitlementSuspended {
        entitlement,
        from,
        reason: SuspensionReason::Uncollected,
        decision: decision("1/QĐ"),
    })
}

fn resumed(
    entitlement: EntitlementId,
    from: Month,
    back_pay_from: Option<Month>,
) -> EntitlementChange {
    EntitlementChange::Resumed(EntitlementResumed {
        entitlement,
        from,
        back_pay_from,
        decision: decision("1/QĐ"),
    })
}

fn terminated(entitlement: EntitlementId, last_month: Month) -> EntitlementChange {
    EntitlementChange::Terminated(EntitlementTerminated {
        entitlement,
        last_month,
        reason: TerminationReason::LostEligibility,
        decision: decision("1/QĐ"),
    })
}

fn person<'a>(c: &Case, ents: &'a [&'a Entitlement]) -> Person<'a> {
    Person {
        birth_date: Some(Date::new(c.birth_year, 6, 15).unwrap()),
        date_of_death: c.died.map(|i| month(i).first_day()),
        province: None,
        entitlements: ents,
    }
}

fn paid_map(c: &Case, ents: &[&Entitlement], upto: u32) -> Paid {
    let mut paid = Paid::new();
    for &(e, m, thousands) in &c.paid {
        if let Some(ent) = ents.get(e % ents.len().max(1)) {
            *paid.entry((ent.id(), month(m.min(upto)))).or_default() = Vnd(thousands * 1000);
        }
    }
    paid
}

/// Everything due under `programme` from the start of the window through `p`, as now known.
fn due_through(person: &Person<'_>, rates: &RateBook<'_>, programme: Programme, p: Month) -> i64 {
    let mut total = 0;
    let mut m = month(0);
    while m <= p {
        let lines = rules::due(person, rates, m, u64::MAX).unwrap();
        total += lines
            .iter()
            .filter(|l| l.programme == programme)
            .map(|l| l.amount.0)
            .sum::<i64>();
        m = m.next();
    }
    total
}

/// Runs `check` on the case's person (entitlements of one programme), with every schedule
/// recorded at its position in the rate files, before any decision.
fn with_person(
    c: &Case,
    check: impl FnOnce(
        Programme,
        &Person<'_>,
        &RateBook<'_>,
        &[&Entitlement],
    ) -> Result<(), TestCaseError>,
) -> Result<(), TestCaseError> {
    let schedules = schedules();
    let rates = RateBook::from_recorded(schedules.iter().zip(0..));
    let (programme, owned) = entitlements(c);
    let ents: Vec<&Entitlement> = owned.iter().collect();
    prop_assume!(!ents.is_empty());
    check(programme, &person(c, &ents), &rates, &ents)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn computing_is_deterministic(c in case()) {
        with_person(&c, |programme, person, rates, ents| {
            let p = month(c.pay_month);
            let paid = paid_map(&c, ents, c.pay_month);
            let first = rules::payment_due(person, rates, programme, p, u64::MAX, &paid).unwrap();
            let again = rules::payment_due(person, rates, programme, p, u64::MAX, &paid).unwrap();
            prop_assert_eq!(first, again);
            prop_assert_eq!(rules::due(person, rates, p, u64::MAX).unwrap(), rules::due(person, rates, p, u64::MAX).unwrap());
            Ok(())
        })?;
    }

    #[test]
    fn due_equals_paid_plus_payment_less_outstanding_recovery(c in case()) {
        with_person(&c, |programme, person, rates, ents| {
            let p = month(c.pay_month);
            let paid = paid_map(&c, ents, c.pay_month);
            let payment = rules::payment_due(person, rates, programme, p, u64::MAX, &paid).unwrap();
            prop_assert!(payment.amount.0 >= 0, "negative payment {:?}", payment);
            prop_assert!(payment.outstanding_recovery.0 >= 0);
            prop_assert_eq!(payment.amount, payment.lines.iter().map(|l| l.amount).sum::<Vnd>());
            let due = due_through(person, rates, programme, p);
            let paid_total: i64 = paid.values().map(|v| v.0).sum();
            prop_assert_eq!(due, paid_total + payment.amount.0 - payment.outstanding_recovery.0);
            Ok(())
        })?;
    }

    #[test]
    fn monthly_payments_through_corrections_are_never_negative(c in case()) {
        with_person(&c, |programme, person, rates, _| {
            let mut paid = Paid::new();
            let mut outstanding = Vnd::ZERO;
            // Pay every month as known before the corrections (seq 200+), then keep paying as known
            // after them: terminations, suspensions and deaths turn into recoveries or arrears.
            for i in 0..30u32 {
                let known_at = if i < 15 { 200 } else { u64::MAX };
                let payment = rules::payment_due(person, rates, programme, month(i), known_at, &paid).unwrap();
                prop_assert!(payment.amount.0 >= 0, "month {}: {:?}", i, payment);
                for l in &payment.lines {
                    *paid.entry((l.entitlement, l.source_month)).or_default() =
                        paid.get(&(l.entitlement, l.source_month)).copied().unwrap_or_default() + l.amount;
                }
                outstanding = payment.outstanding_recovery;
            }
            let due = due_through(person, rates, programme, month(29));
            let paid_total: i64 = paid.values().map(|v| v.0).sum();
            prop_assert_eq!(due, paid_total - outstanding.0);
            Ok(())
        })?;
    }
}
