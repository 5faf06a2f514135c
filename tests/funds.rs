//! Funds per programme and period (`domain::funds`), through the pure harness: the Treasury's
//! allocation is recorded with its decision; approving a batch reserves its total and is
//! refused beyond what remains; a cancelled batch gives its reservation back; a top-up names
//! the same period; the balance shows allocated, reserved, paid, returned and remaining.

mod common;

use chitra::domain::command::*;
use chitra::domain::event::{Channel, FundsAllocated};
use chitra::domain::funds::balances;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use common::fixtures::{bank, cash, decision, enrolment, m, monthly};
use common::given::World;
use common::given::{line, report};

fn allocation(from: &str, to: &str, number: &str, amount: i64) -> Command {
    Command::AllocateFunds(FundsAllocated {
        programme: Programme::Btxh,
        from: m(from),
        to: m(to),
        decision: decision(number),
        amount: Vnd(amount),
    })
}

/// One person with a BTXH severe-disability allowance from July 2024: 750,000 a month.
fn world() -> World {
    let mut w = World::with_all_schedules();
    w.enrol(enrolment(
        "001089012345",
        "Nguyễn Văn An",
        "1989-05-10",
        Some(cash()),
        vec![monthly("btxh.disability_severe", vec![], "2024-07")],
    ));
    w
}

#[test]
fn approvals_reserve_against_the_allocation_and_stop_at_what_remains() {
    let mut w = world();
    // Not tracked until an allocation is recorded.
    w.pay(Programme::Btxh, m("2024-07"));
    w.run(allocation("2024-08", "2024-10", "12/QĐ-KBNN", 1_600_000));
    let refused = w.try_run_as(
        "maker:hoa",
        allocation("2024-09", "2024-12", "13/QĐ-KBNN", 1),
    );
    assert!(refused.is_err(), "only a checker records an allocation");
    let overlap = w
        .try_run(allocation("2024-09", "2024-12", "13/QĐ-KBNN", 1))
        .unwrap_err();
    assert!(overlap.to_string().contains("overlaps"), "{overlap}");

    w.pay(Programme::Btxh, m("2024-08"));
    let september = w.computed(Programme::Btxh, m("2024-09"));
    w.approve(september).unwrap();
    let b = &balances(w.state())[0];
    assert_eq!(
        (b.allocated, b.reserved, b.paid, b.remaining),
        (Vnd(1_600_000), Vnd(1_500_000), Vnd(750_000), Vnd(100_000))
    );
    // October would go beyond what remains.
    let october = w.computed(Programme::Btxh, m("2024-10"));
    let over = w.approve(october).unwrap_err();
    assert!(
        matches!(&over, Rejection::Conflict { reason } if reason.contains("exceeds what remains")),
        "{over}"
    );
    assert!(over.to_string().contains("the batch total 750,000 VND exceeds what remains of the BTXH allocation for 2024-08..2024-10: 100,000 VND"), "{over}");
    // Cancelling September before release gives its reservation back.
    w.run_as(
        "checker:tuan",
        Command::CancelBatch(CancelBatch {
            batch: september,
            reason: "wrong month".into(),
        }),
    );
    assert_eq!(balances(w.state())[0].remaining, Vnd(850_000));
    w.approve(october).unwrap();
    // A top-up names the same period.
    w.run(allocation("2024-08", "2024-10", "14/QĐ-KBNN", 500_000));
    let b = &balances(w.state())[0];
    assert_eq!(b.decisions, vec!["12/QĐ-KBNN", "14/QĐ-KBNN"]);
    assert_eq!((b.allocated, b.remaining), (Vnd(2_100_000), Vnd(600_000)));
    // A month no allocation covers is refused once the programme is tracked.
    let november = w.computed(Programme::Btxh, m("2024-11"));
    let uncovered = w.approve(november).unwrap_err();
    assert!(
        uncovered
            .to_string()
            .contains("no BTXH allocation covers 2024-11"),
        "{uncovered}"
    );
}

/// What the bank did not pay (a rejected line) and what it sent back after paying (a return)
/// come back to the allocation, to the dong: a batch refused before the report then fits.
#[test]
fn returned_and_unpaid_amounts_come_back_to_the_allocation() {
    let mut w = World::with_all_schedules();
    let bin = "970436";
    let people: Vec<BeneficiaryId> = ["001089012345", "001089012346", "001089012347"]
        .iter()
        .enumerate()
        .map(|(i, id)| {
            w.enrol(enrolment(
                id,
                "Nguyễn Văn An",
                "1989-05-10",
                Some(bank(bin, &format!("000111222{i}"), "NGUYEN VAN AN")),
                vec![monthly("btxh.disability_severe", vec![], "2024-08")],
            ))
        })
        .collect();
    w.run(allocation("2024-08", "2024-09", "12/QĐ-KBNN", 3_000_000));
    let (august, _) = w.pay(Programme::Btxh, m("2024-08"));
    let before = balances(w.state())[0].clone();
    assert_eq!(
        (before.reserved, before.returned, before.remaining),
        (Vnd(2_250_000), Vnd::ZERO, Vnd(750_000))
    );
    // September (three people, 2,250,000) does not fit in what remains.
    let september = w.computed(Programme::Btxh, m("2024-09"));
    let over = w.approve(september).unwrap_err();
    assert!(over.to_string().contains("exceeds what remains"), "{over}");

    // The bank pays the first, rejects the second (account closed: never paid), pays the third
    // and then sends it back.
    let pay = |w: &World, who: BeneficiaryId| w.payment_of(august, who).unwrap();
    let (a, b, c) = (pay(&w, people[0]), pay(&w, people[1]), pay(&w, people[2]));
    let file = w.file_of(august, Channel::Bank(BankBin::parse(bin).unwrap()));
    let rejected = ReportedOutcome::Rejected {
        reason_code: "AC04".into(),
    };
    w.run_as(
        &format!("bank:{bin}"),
        report(
            file,
            "r1",
            vec![
                line(
                    &a.payment.to_string(),
                    ReportedOutcome::Settled,
                    Some(a.amount),
                ),
                line(&b.payment.to_string(), rejected.clone(), None),
                line(
                    &c.payment.to_string(),
                    ReportedOutcome::Settled,
                    Some(c.amount),
                ),
            ],
        ),
    );
    let settled = balances(w.state())[0].clone();
    assert_eq!(settled.returned, b.amount);
    assert_eq!(settled.remaining, Vnd(before.remaining.0 + b.amount.0));
    w.run_as(
        &format!("bank:{bin}"),
        report(
            file,
            "r2",
            vec![line(&c.payment.to_string(), rejected, None)],
        ),
    );
    let after = balances(w.state())[0].clone();
    assert_eq!(after.returned, Vnd(b.amount.0 + c.amount.0));
    assert_eq!(
        after.remaining,
        Vnd(before.remaining.0 + b.amount.0 + c.amount.0),
        "exactly the rejected and returned amounts come back"
    );
    assert_eq!(after.paid, a.amount, "paid is what stayed with the people");
    assert_eq!(after.reserved, before.reserved);
    // Now the same September content fits.
    w.approve(september).unwrap();
    assert_eq!(balances(w.state())[0].remaining, Vnd::ZERO);
}
