//! Enrolment is checked against the official reference data: pre-2025 commune codes are mapped
//! to their 2025 successors with a kept warning, unknown communes and bank BINs are refused, and
//! one person is one record.

mod common;

use chitra::domain::command::RouteRequest;
use chitra::domain::event::EnrolmentWarning;
use chitra::domain::types::{BankBin, BeneficiaryId, CitizenId, CommuneCode};
use chitra::domain::{Command, Rejection};
use chitra::ledger::SubmitError;

fn person(i: u64) -> chitra::domain::command::Enrol {
    chitra::dev::synth::person(21, i)
}

#[test]
fn a_pre_2025_commune_code_is_mapped_and_the_warning_kept() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let mut p = person(1);
    p.commune = CommuneCode::parse("00016").unwrap(); // Ngọc Hà before the 2025 merge
    ledger
        .submit(common::submission("officer:lan", Command::Enrol(p)))
        .unwrap();
    let s = ledger.state();
    let b = s.beneficiary(BeneficiaryId(1)).unwrap();
    assert_eq!(b.commune, CommuneCode::parse("00008").unwrap());
    assert!(b.warnings.contains(&EnrolmentWarning::CommuneCodeMapped {
        from: CommuneCode::parse("00016").unwrap()
    }));
}

#[test]
fn unknown_codes_are_refused_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let mut p = person(1);
    p.commune = CommuneCode::parse("99999").unwrap();
    let r = ledger.submit(common::submission("officer:lan", Command::Enrol(p)));
    assert!(
        matches!(r, Err(SubmitError::Rejected(Rejection::Invalid { ref field, .. })) if field == "commune"),
        "{r:?}"
    );
    let mut p = person(2);
    p.route = Some(RouteRequest::Bank {
        bin: BankBin::parse("970000").unwrap(),
        account_number: chitra::domain::types::AccountNumber::parse("123456789").unwrap(),
        holder_name: "X".into(),
    });
    let r = ledger.submit(common::submission("officer:lan", Command::Enrol(p)));
    assert!(
        matches!(r, Err(SubmitError::Rejected(Rejection::Invalid { ref field, .. })) if field == "bank_bin"),
        "{r:?}"
    );
    assert_eq!(ledger.head().unwrap().records, 0);
}

#[test]
fn one_person_is_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    ledger
        .submit(common::submission("officer:lan", Command::Enrol(person(1))))
        .unwrap();
    let again = ledger.submit(common::submission("officer:lan", Command::Enrol(person(1))));
    match again {
        Err(SubmitError::Rejected(Rejection::AlreadyEnrolled { existing, citizen })) => {
            assert_eq!(existing, BeneficiaryId(1));
            assert!(
                citizen.contains("******"),
                "the message must mask the citizen ID: {citizen}"
            );
        }
        other => panic!("expected already-enrolled, got {other:?}"),
    }
}

#[test]
fn structure_mismatches_are_warnings_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let mut p = person(1);
    // Prefix 099 is no province; digit 1 says female born in the 1900s, year digits 99.
    p.citizen_id = CitizenId::parse("099199000001").unwrap();
    p.sex = chitra::domain::types::Sex::Male;
    ledger
        .submit(common::submission("officer:lan", Command::Enrol(p)))
        .unwrap();
    let s = ledger.state();
    let w = &s.beneficiary(BeneficiaryId(1)).unwrap().warnings;
    assert!(
        w.iter()
            .any(|w| matches!(w, EnrolmentWarning::CitizenIdPrefixUnknown { .. })),
        "{w:?}"
    );
    assert!(
        w.contains(&EnrolmentWarning::CitizenIdSexDisagrees),
        "{w:?}"
    );
}

#[test]
fn a_roster_imports_every_row_or_none() {
    use chitra::domain::command::ImportRoster;
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let rows: Vec<(u64, chitra::domain::command::Enrol)> =
        (0..20).map(|i| (i + 2, person(100 + i))).collect();
    let receipt = ledger
        .submit(common::submission(
            "officer:lan",
            Command::ImportRoster(ImportRoster { rows: rows.clone() }),
        ))
        .unwrap();
    assert_eq!(receipt.count, 40);
    // The same file again: the first row already enrolled refuses the whole file, naming its line.
    let mut again = rows.clone();
    again.push((22, person(500)));
    let before = ledger.head().unwrap().records;
    match ledger.submit(common::submission(
        "officer:lan",
        Command::ImportRoster(ImportRoster { rows: again }),
    )) {
        Err(SubmitError::Rejected(Rejection::Invalid { field, reason })) => {
            assert_eq!(field, "line 2");
            assert!(reason.contains("already enrolled"), "{reason}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // A bad row in the middle of a new file: nothing from that file is appended.
    let mut bad: Vec<_> = (0..5).map(|i| (i + 2, person(600 + i))).collect();
    bad[3].1.commune = CommuneCode::parse("99999").unwrap();
    match ledger.submit(common::submission(
        "officer:lan",
        Command::ImportRoster(ImportRoster { rows: bad }),
    )) {
        Err(SubmitError::Rejected(Rejection::Invalid { field, .. })) => {
            assert_eq!(field, "line 5: commune")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(ledger.head().unwrap().records, before);
    assert_eq!(ledger.state().beneficiary_count(), 20);
}
