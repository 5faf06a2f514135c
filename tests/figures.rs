//! The department's figures (`app::reports`) over a history run through the pure harness:
//! enrolled, standardised, verified, held and why, moved from cash to an account, and payments
//! by channel month by month, each as of a sequence number.

mod common;

use chitra::app::reports::{compute, AsOf};
use chitra::domain::command::*;
use chitra::domain::identity::RecordIdentityCheck;
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::formats::identity_check::{parse_answers, HEADER};
use chitra::formats::reference::Reference;
use common::fixtures::{bank, cash, d, enrolment, m, severe_disability};
use common::given::World;

#[test]
fn figures_count_people_holds_channels_and_moves_as_of_a_point_in_the_chain() {
    let mut w = World::with_all_schedules();
    let mut routes = AsOf::default();
    let run = |w: &mut World, c: Command, routes: &mut AsOf| {
        for e in w.run(c) {
            routes.see(&e);
        }
    };
    let people = [
        ("001089012345", Some(cash())),
        ("001089012346", Some(cash())),
        (
            "001089012347",
            Some(bank("970436", "0011001234567", "NGUYEN VAN AN")),
        ),
        ("001089012348", None),
    ];
    let mut ids = Vec::new();
    for (id, route) in people {
        ids.push(w.state().next_beneficiary_id());
        run(
            &mut w,
            Command::Enrol(enrolment(
                id,
                "Nguyễn Văn An",
                "1989-05-10",
                route,
                vec![severe_disability()],
            )),
            &mut routes,
        );
    }
    let before_check = w.records();
    let routes_before_check = routes.clone();
    let text = format!(
        "{HEADER}\n001089012345,yes,matched,matched,matched,alive,\n001089012346,yes,differs,matched,matched,alive,\n"
    );
    run(
        &mut w,
        Command::RecordIdentityCheck(RecordIdentityCheck {
            reference: "KT-1".into(),
            answered_on: d("2024-07-20"),
            source_digest: [0; 32],
            rows: parse_answers(text.as_bytes()).unwrap(),
        }),
        &mut routes,
    );
    // The first person moves from cash to an account.
    run(
        &mut w,
        Command::SetPaymentRoute(SetPaymentRoute {
            beneficiary: ids[0],
            route: bank("970436", "0011009876543", "NGUYEN VAN AN"),
            reason: "opened an account".into(),
        }),
        &mut routes,
    );
    w.pay(Programme::Btxh, m("2024-07"));
    let reference = Reference::embedded();
    let f = compute(w.state(), w.records(), &routes, reference);
    let t = &f.totals;
    assert_eq!(t.enrolled, 4);
    // The fourth has no payment route: not standardised.
    assert_eq!(t.standardised, 3);
    assert_eq!(t.verified, 1);
    assert_eq!(t.moved_to_account, 1);
    assert_eq!(
        t.held.get("differs from the population database"),
        Some(&1),
        "{:?}",
        t.held
    );
    assert_eq!(f.people.len(), 1);
    assert_eq!(f.people[0].programme, Programme::Btxh);
    assert_eq!(
        f.people[0].province.map(|p| p.to_string()),
        Some("01".into())
    );
    assert_eq!(f.people[0].figures, *t);
    // July 2024 (June and July for each): two by bank (the mover and the third), none in cash:
    // the second is held and the fourth has no route.
    assert_eq!(f.payments.len(), 1);
    let july = &f.payments[0];
    assert_eq!(
        (july.month, july.programme),
        (m("2024-07"), Programme::Btxh)
    );
    assert_eq!(july.bank.count, 2);
    assert_eq!(july.bank.sum, Vnd(2 * (540_000 + 750_000)));
    assert_eq!(july.cash.count, 0);
    // As of before the check and the payment: nothing verified, held or paid yet.
    let earlier = compute(w.state(), before_check, &routes_before_check, reference);
    assert_eq!(earlier.totals.enrolled, 4);
    assert_eq!(earlier.totals.verified, 0);
    assert!(earlier.totals.held.is_empty());
    assert!(earlier.payments.is_empty());
}
