//! Enrolment is checked against the official reference data: pre-2025 commune codes are mapped
//! to their 2025 successors with a kept warning, unknown communes and bank BINs are refused, and
//! one person is one record. Pure: `decide` and `apply` through the harness.

mod common;

use chitra::domain::command::{Enrol, ImportRoster};
use chitra::domain::event::{EnrolmentWarning, Event};
use chitra::domain::types::{BeneficiaryId, CitizenId, CommuneCode, Sex};
use chitra::domain::{Command, Rejection};
use common::fixtures::bank;
use common::given::{given, World};

fn person(i: u64) -> Enrol {
    chitra::dev::synth::person(21, i)
}

fn commune(code: &str) -> CommuneCode {
    CommuneCode::parse(code).unwrap()
}

#[test]
fn a_pre_2025_commune_code_is_mapped_and_the_warning_kept() {
    let mut p = person(1);
    p.commune = commune("00016"); // Ngọc Hà before the 2025 merge
    let w = World::new()
        .when("officer:lan", Command::Enrol(p))
        .then_accepted(|events| {
            let Event::BeneficiaryEnrolled(e) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!(e.commune, commune("00008"));
        });
    let b = w.state().beneficiary(BeneficiaryId(1)).unwrap();
    assert_eq!(b.commune, commune("00008"));
    assert!(b.warnings.contains(&EnrolmentWarning::CommuneCodeMapped {
        from: commune("00016")
    }));
}

#[test]
fn unknown_codes_are_refused_and_append_nothing() {
    let mut p = person(1);
    p.commune = commune("99999");
    let w = World::new()
        .when("officer:lan", Command::Enrol(p))
        .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "commune"));
    let mut p = person(2);
    p.route = Some(bank("970000", "123456789", "X"));
    let w = w
        .when("officer:lan", Command::Enrol(p))
        .then_rejected(|r| matches!(r, Rejection::Invalid { field, .. } if field == "bank_bin"));
    assert_eq!(w.records(), 0);
}

#[test]
fn one_person_is_one_record() {
    given([Command::Enrol(person(1))])
        .when("officer:lan", Command::Enrol(person(1)))
        .then_rejected(|r| match r {
            Rejection::AlreadyEnrolled { existing, citizen } => {
                assert!(
                    citizen.contains("******"),
                    "the message must mask the citizen ID: {citizen}"
                );
                *existing == BeneficiaryId(1)
            }
            _ => false,
        });
}

#[test]
fn structure_mismatches_are_warnings_not_errors() {
    let mut p = person(1);
    // Prefix 099 is no province; digit 1 says female born in the 1900s, year digits 99.
    p.citizen_id = CitizenId::parse("099199000001").unwrap();
    p.sex = Sex::Male;
    let w = given([Command::Enrol(p)]);
    let warnings = &w.state().beneficiary(BeneficiaryId(1)).unwrap().warnings;
    assert!(
        warnings
            .iter()
            .any(|w| matches!(w, EnrolmentWarning::CitizenIdPrefixUnknown { .. })),
        "{warnings:?}"
    );
    assert!(
        warnings.contains(&EnrolmentWarning::CitizenIdSexDisagrees),
        "{warnings:?}"
    );
}

#[test]
fn a_roster_imports_every_row_or_none() {
    let rows: Vec<(u64, Enrol)> = (0..20).map(|i| (i + 2, person(100 + i))).collect();
    let w = World::new()
        .when(
            "officer:lan",
            Command::ImportRoster(ImportRoster {
                rows: rows.clone(),
                payees: Vec::new(),
            }),
        )
        .then_accepted(|events| assert_eq!(events.len(), 40));
    // The same file again: the first row already enrolled refuses the whole file, naming its line.
    let mut again = rows.clone();
    again.push((22, person(500)));
    let w = w
        .when(
            "officer:lan",
            Command::ImportRoster(ImportRoster {
                rows: again,
                payees: Vec::new(),
            }),
        )
        .then_rejected(|r| match r {
            Rejection::Invalid { field, reason } => {
                assert!(reason.contains("already enrolled"), "{reason}");
                field == "line 2"
            }
            _ => false,
        });
    // A bad row in the middle of a new file: nothing from that file is appended.
    let mut bad: Vec<_> = (0..5).map(|i| (i + 2, person(600 + i))).collect();
    bad[3].1.commune = commune("99999");
    let w = w
        .when(
            "officer:lan",
            Command::ImportRoster(ImportRoster {
                rows: bad,
                payees: Vec::new(),
            }),
        )
        .then_rejected(
            |r| matches!(r, Rejection::Invalid { field, .. } if field == "line 5: commune"),
        );
    assert_eq!(w.records(), 40);
    assert_eq!(w.state().beneficiary_count(), 20);
}
