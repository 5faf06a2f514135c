//! The invariant of the whole product, as a property: over random interleavings of compute,
//! cancel, supplementary batches, release, settle, return and re-routing, no entitlement is
//! ever paid twice for a month, and what is paid for a month never exceeds what is due.

mod common;

use std::collections::HashMap;

use chitra::app::batches;
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::state::{BatchStatus, PaymentStatus, State};
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::ledger::Ledger;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// Open (regular, or supplementary if the regular one is released) and compute.
    Compute(u8),
    /// Approve and release the latest computed batch.
    Release,
    /// Cancel the latest unreleased batch.
    Cancel,
    /// The bank settles or returns payment number `n` of released batches.
    Settle(u8),
    Return(u8, bool),
    /// Move a person to cash (after a return, say).
    Reroute(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u8..3).prop_map(Op::Compute),
        3 => Just(Op::Release),
        1 => Just(Op::Cancel),
        2 => any::<u8>().prop_map(Op::Settle),
        2 => (any::<u8>(), any::<bool>()).prop_map(|(n, d)| Op::Return(n, d)),
        1 => any::<u8>().prop_map(Op::Reroute),
    ]
}

const MONTHS: [&str; 3] = ["2024-06", "2024-07", "2024-08"];

fn setup(dir: &std::path::Path) -> Ledger {
    let l = common::open(dir);
    common::enact(&l, common::fixtures::BEFORE_JULY_2024);
    common::enact(&l, common::fixtures::JULY_2024);
    for i in 0..4 {
        let mut e = chitra::dev::synth::person(23, i);
        e.programme = Programme::Btxh;
        e.entitlements = vec![NewEntitlement {
            programme: Programme::Btxh,
            scheme: if i % 2 == 0 {
                "btxh.disability_severe"
            } else {
                "btxh.elderly_80_no_pension"
            }
            .into(),
            params: vec![],
            kind: EntitlementKind::Monthly,
            effective_from: Month::parse("2024-06").unwrap(),
            decision: Decision {
                number: "1/QĐ".into(),
                date: Date::parse("2024-05-01").unwrap(),
                signer: "x".into(),
            },
            payee: None,
        }];
        if i == 1 {
            e.birth_date = Date::parse("1930-01-01").unwrap();
        }
        l.submit(common::submission("officer:lan", Command::Enrol(e)))
            .unwrap();
    }
    l
}

fn p(n: &str) -> Principal {
    Principal::parse(n).unwrap()
}

fn apply(l: &Ledger, op: &Op) {
    let maker = p("maker:hoa");
    let checker = p("checker:tuan");
    let submit = |who: &Principal, c: Command| {
        l.submit(chitra::ledger::Submission {
            principal: who.clone(),
            idempotency_key: None,
            command: c,
        })
    };
    match op {
        Op::Compute(m) => {
            let month = Month::parse(MONTHS[*m as usize]).unwrap();
            let regular = l
                .read(|s| {
                    s.batches_of(Programme::Btxh, month)
                        .iter()
                        .copied()
                        .find(|id| {
                            let b = s.batch(*id).unwrap();
                            b.opened.kind == BatchKind::Regular
                                && b.status != BatchStatus::Cancelled
                        })
                })
                .unwrap();
            let kind = match regular
                .and_then(|r| l.read(|s| s.batch(r).map(|b| (r, b.status))).unwrap())
            {
                Some((r, BatchStatus::Released | BatchStatus::Closed)) => {
                    BatchKind::Supplementary { of: r }
                }
                Some(_) => return,
                None => BatchKind::Regular,
            };
            if submit(
                &maker,
                Command::OpenBatch(OpenBatch {
                    programme: Programme::Btxh,
                    month,
                    funding_account: "3761000000002".into(),
                    kind,
                }),
            )
            .is_ok()
            {
                let b = l.read(|s| BatchId(s.next_batch_id().0 - 1)).unwrap();
                let _ = batches::compute(l, &maker, None, b);
            }
        }
        Op::Release => {
            let computed = l
                .read(|s| {
                    s.batches()
                        .iter()
                        .rev()
                        .find(|b| b.status == BatchStatus::Computed)
                        .map(|b| (b.opened.batch, b.computed.clone().unwrap()))
                })
                .unwrap();
            if let Some((b, c)) = computed {
                submit(
                    &checker,
                    Command::ApproveBatch(ApproveBatch {
                        batch: b,
                        content_hash: c.content_hash,
                        totals: c.totals,
                    }),
                )
                .unwrap();
                match batches::release(l, &checker, None, b) {
                    Ok(_) => {}
                    // Refused when a route changed or a hold came after the computation.
                    Err(batches::BatchError::Submit(chitra::ledger::SubmitError::Rejected(_))) => {}
                    Err(e) => panic!("release failed after the batch was released: {e}"),
                }
            }
        }
        Op::Cancel => {
            let open = l
                .read(|s| {
                    s.batches()
                        .iter()
                        .rev()
                        .find(|b| {
                            matches!(
                                b.status,
                                BatchStatus::Open | BatchStatus::Computed | BatchStatus::Approved
                            )
                        })
                        .map(|b| b.opened.batch)
                })
                .unwrap();
            if let Some(b) = open {
                submit(
                    &maker,
                    Command::CancelBatch(CancelBatch {
                        batch: b,
                        reason: "test".into(),
                    }),
                )
                .unwrap();
            }
        }
        Op::Settle(n) | Op::Return(n, _) => {
            let target = l
                .read(|s| {
                    let released: Vec<_> = s
                        .batches()
                        .iter()
                        .filter(|b| b.status == BatchStatus::Released)
                        .flat_map(|b| b.payments.iter().copied())
                        .filter(|id| s.payment(*id).unwrap().status == PaymentStatus::Scheduled)
                        .collect();
                    (!released.is_empty()).then(|| {
                        let id = released[*n as usize % released.len()];
                        let scheduled = &s.payment(id).unwrap().scheduled;
                        let channel = chitra::domain::batch::channel(&scheduled.route);
                        let file = s
                            .batch(scheduled.batch)
                            .unwrap()
                            .files
                            .iter()
                            .copied()
                            .find(|f| s.file(*f).unwrap().issued.channel == channel)
                            .expect("a released payment is in a file");
                        (id, file)
                    })
                })
                .unwrap();
            if let Some((id, file)) = target {
                let outcome = match op {
                    Op::Return(_, deceased) => ReportedOutcome::Rejected {
                        reason_code: if *deceased { "MD07" } else { "AC04" }.into(),
                    },
                    _ => ReportedOutcome::Settled,
                };
                let tag = format!("{op:?}-{id}-{}", l.head().unwrap().records);
                submit(
                    &p("checker:tuan"),
                    Command::IngestStatusReport(IngestStatusReport {
                        file,
                        file_rejected: None,
                        format: StatusFormat::Csv,
                        digest: *blake3::hash(tag.as_bytes()).as_bytes(),
                        message_id: tag,
                        lines: vec![ReportedLine {
                            end_to_end_id: id.to_string(),
                            outcome,
                            amount: None,
                        }],
                    }),
                )
                .unwrap();
            }
        }
        Op::Reroute(n) => {
            let who = BeneficiaryId(1 + u64::from(*n) % 4);
            let commune = l.read(|s| s.beneficiary(who).unwrap().commune).unwrap();
            let _ = submit(
                &p("officer:lan"),
                Command::SetPaymentRoute(SetPaymentRoute {
                    beneficiary: who,
                    route: RouteRequest::Cash { pay_point: commune },
                    reason: "test".into(),
                }),
            );
            // A cleared hold lets a deceased-return person be paid again.
            if l.read(|s| s.beneficiary(who).unwrap().hold.is_some())
                .unwrap()
            {
                let d = Decision {
                    number: "2/QĐ".into(),
                    date: Date::parse("2024-09-01").unwrap(),
                    signer: "x".into(),
                };
                let _ = submit(
                    &p("officer:lan"),
                    Command::ClearReview(ClearReview {
                        beneficiary: who,
                        decision: d,
                        note: "alive".into(),
                    }),
                );
            }
        }
    }
}

/// No (entitlement, month) has two live regular items, and live items never exceed what is due.
fn check(s: &State) -> Result<(), String> {
    let mut regular: HashMap<(EntitlementId, Month), u32> = HashMap::new();
    let mut paid: HashMap<(EntitlementId, Month), Vnd> = HashMap::new();
    for b in s.batches() {
        for pay in b.payments.iter().filter_map(|id| s.payment(*id)) {
            if matches!(
                pay.status,
                PaymentStatus::Cancelled | PaymentStatus::Returned
            ) {
                continue;
            }
            for item in &pay.scheduled.items {
                let key = (item.entitlement, item.source_month);
                *paid.entry(key).or_default() =
                    paid.get(&key).copied().unwrap_or_default() + item.amount;
                if item.kind == ItemKind::Regular {
                    *regular.entry(key).or_default() += 1;
                }
            }
        }
    }
    if let Some((k, n)) = regular.iter().find(|(_, n)| **n > 1) {
        return Err(format!("{k:?} paid {n} times"));
    }
    let rates = chitra::domain::rules::RateBook::new(s.schedules());
    for ((e, m), amount) in &paid {
        let ent = s.entitlement(*e).unwrap();
        let b = s.beneficiary(ent.grant.beneficiary).unwrap();
        let ents = chitra::domain::rules::entitlements_of(s, b);
        let person = chitra::domain::rules::Person::of(b, &ents);
        let due: Vnd = chitra::domain::rules::due(&person, &rates, *m, s.applied())
            .unwrap()
            .iter()
            .filter(|l| l.entitlement == *e)
            .map(|l| l.amount)
            .sum();
        if *amount > due {
            return Err(format!("{e} {m}: paid {amount} but only {due} is due"));
        }
        if ent.paid_in(*m) != *amount {
            return Err(format!(
                "{e} {m}: the state's paid {} differs from the live items {amount}",
                ent.paid_in(*m)
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn no_month_is_ever_paid_twice(ops in proptest::collection::vec(op(), 1..40)) {
        let dir = tempfile::tempdir().unwrap();
        let l = setup(dir.path());
        for op in &ops {
            apply(&l, op);
            let verdict = l.read(check).unwrap();
            prop_assert!(verdict.is_ok(), "after {:?}: {}", op, verdict.unwrap_err());
        }
    }
}
