//! A roster carries the payee schemes of ND 20/2021 Art 20 (a carer of a person with especially
//! severe disability, a foster household, a community foster carer): the household's row names
//! the person cared for (`cared_for`), the import enrols both and grants the person the
//! allowance paid to the household, and a row naming nobody known refuses the whole file.

mod common;

use chitra::domain::command::ImportRoster;
use chitra::domain::event::{Event, Route};
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::formats::reference::Reference;
use chitra::formats::roster::{header_line, parse_roster};
use common::fixtures::{cash, d, enrolment, m, monthly};
use common::given::World;

const PERSON: &str = "001189012345";
const CARER: &str = "001062012346";

/// Lê Thị Hà, 35, with especially severe disability, paid in cash.
fn person_row() -> String {
    format!(
        "{PERSON},Lê Thị Hà,1989-05-10,F,Thôn 3,00004,BTXH,btxh.disability_especially_severe,,51/QĐ-UBND,2024-06-10,Chủ tịch UBND Phường Ba Đình,2024-07,cash,,,,,"
    )
}

/// The household caring for `cared_for` under `scheme`, paid by bank.
fn household_row(scheme: &str, cared_for: &str) -> String {
    format!(
        "{CARER},Lê Văn Bình,1962-02-11,M,Thôn 3,00004,BTXH,{scheme},,52/QĐ-UBND,2024-06-10,Chủ tịch UBND Phường Ba Đình,2024-07,bank,970436,0011001234567,LE VAN BINH,,{cared_for}"
    )
}

/// The import command of a roster of these rows, parsed as the CLI and the API parse it.
fn import(rows: &[String]) -> Command {
    let text = format!("{}\n{}\n", header_line(), rows.join("\n"));
    let roster = parse_roster(text.as_bytes(), Reference::embedded(), d("2026-11-02"))
        .unwrap_or_else(|e| panic!("{:?}", e.errors));
    Command::ImportRoster(roster.into_command())
}

fn citizen(id: &str) -> CitizenId {
    CitizenId::parse(id).unwrap()
}

#[test]
fn a_roster_with_a_person_and_their_carer_enrols_both_and_links_them() {
    let mut w = World::with_all_schedules();
    // The household's row comes first: the person cared for may be on any line.
    let events = w.run(import(&[
        household_row("btxh.care_allowance", PERSON),
        person_row(),
    ]));
    let enrolled = events
        .iter()
        .filter(|e| matches!(e, Event::BeneficiaryEnrolled(_)))
        .count();
    assert_eq!(enrolled, 2);
    let st = w.state();
    let carer = st
        .by_citizen(&citizen(CARER))
        .expect("the household is enrolled");
    let person = st
        .by_citizen(&citizen(PERSON))
        .expect("the person is enrolled");
    assert!(st.beneficiary(carer).unwrap().entitlements.is_empty());
    let grants: Vec<_> = st
        .beneficiary(person)
        .unwrap()
        .entitlements
        .iter()
        .map(|id| st.entitlement(*id).unwrap().grant.clone())
        .collect();
    let schemes: Vec<(&str, Option<BeneficiaryId>)> = grants
        .iter()
        .map(|g| (g.scheme.as_str(), g.payee))
        .collect();
    assert_eq!(
        schemes,
        vec![
            ("btxh.disability_especially_severe", None),
            ("btxh.care_allowance", Some(carer)),
        ]
    );
    let care = grants.iter().find(|g| g.payee.is_some()).unwrap();
    assert_eq!(care.decision.number, "52/QĐ-UBND");
    assert_eq!(care.effective_from, m("2024-07"));

    // July 2024 (base 500,000): the person 2.0 in cash, the household the care allowance
    // (1.0, Art 20(2)(c)) into its account.
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    let to_person = w.payment_of(july, person).expect("the person is paid");
    assert_eq!(to_person.amount, Vnd(1_000_000));
    assert!(matches!(to_person.route, Route::Cash { .. }));
    let to_carer = w.payment_of(july, carer).expect("the household is paid");
    assert_eq!(to_carer.amount, Vnd(500_000));
    assert!(matches!(to_carer.route, Route::Bank { .. }));
    let care_id = w.state().beneficiary(person).unwrap().entitlements[1];
    assert_eq!(to_carer.items.len(), 1);
    assert_eq!(to_carer.items[0].entitlement, care_id);
}

#[test]
fn a_household_row_may_name_a_person_already_enrolled() {
    let mut w = World::with_all_schedules();
    let child = w.enrol(enrolment(
        "001220012345",
        "Lê Minh Khang",
        "2020-09-10",
        Some(cash()),
        vec![monthly("btxh.child_no_support", vec![], "2024-06")],
    ));
    w.run(import(&[household_row(
        "btxh.foster_household",
        "001220012345",
    )]));
    let carer = w.state().by_citizen(&citizen(CARER)).unwrap();
    let ents = &w.state().beneficiary(child).unwrap().entitlements;
    assert_eq!(ents.len(), 2);
    let foster = &w.state().entitlement(ents[1]).unwrap().grant;
    assert_eq!(
        (foster.scheme.as_str(), foster.payee),
        ("btxh.foster_household", Some(carer))
    );
}

#[test]
fn a_household_row_naming_nobody_known_refuses_the_file_and_records_nothing() {
    let mut w = World::with_all_schedules();
    let before = w.records();
    let refused = w
        .try_run(import(&[
            person_row(),
            household_row("btxh.care_allowance", "001189099999"),
        ]))
        .expect_err("refused");
    match &refused {
        Rejection::Invalid { field, reason } => {
            assert_eq!(field, "line 3: cared_for");
            assert!(reason.contains("001******999"), "{reason}");
            assert!(!reason.contains("001189099999"), "masked: {reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.records(), before);
    assert_eq!(w.state().beneficiary_count(), 0);
    assert_eq!(w.state().by_citizen(&citizen(PERSON)), None);
    // The same command built by hand, naming a line that is no row, is refused too.
    let Command::ImportRoster(ImportRoster { rows, mut payees }) =
        import(&[person_row(), household_row("btxh.care_allowance", PERSON)])
    else {
        unreachable!()
    };
    payees[0].line = 9;
    let refused = w
        .try_run(Command::ImportRoster(ImportRoster { rows, payees }))
        .expect_err("refused");
    assert!(refused.to_string().contains("line 9"), "{refused}");
    assert_eq!(w.records(), before);
}
