//! Personal data can be erased without breaking the chain: the records still verify, the
//! ledger still opens, and exports without personal data verify for an auditor.

mod common;

use chitra::domain::command::{ErasePersonalData, RecordDeath};
use chitra::domain::types::{BeneficiaryId, Date};
use chitra::domain::Command;
use chitra::domain::Rejection;
use chitra::ledger::SubmitError;

#[test]
fn erased_personal_data_leaves_a_verifiable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    common::enrol(&ledger, 0, 10);
    let who = BeneficiaryId(4);
    let citizen = chitra::dev::synth::person(3, 3).citizen_id;
    let erase = || {
        common::submission(
            "admin:thu",
            Command::ErasePersonalData(ErasePersonalData {
                beneficiary: who,
                legal_basis: "QĐ 12/2026 retention ended".into(),
            }),
        )
    };
    // Not while the person is still paid.
    assert!(matches!(
        ledger.erase_personal_data(erase()),
        Err(SubmitError::Rejected(Rejection::NotAllowed { .. }))
    ));
    ledger
        .submit(common::submission(
            "officer:lan",
            Command::RecordDeath(RecordDeath {
                beneficiary: who,
                date_of_death: Date::new(2024, 5, 3).unwrap(),
                decision: None,
            }),
        ))
        .unwrap();
    ledger.erase_personal_data(erase()).unwrap();
    {
        let s = ledger.state();
        assert!(s.beneficiary(who).unwrap().identity.known().is_none());
        assert_eq!(s.by_citizen(&citizen), None);
    }
    let report = chitra::ledger::verify::verify_store(ledger.store(), None, |_| {}).unwrap();
    assert_eq!(
        report.personal_entries, 9,
        "one of ten enrolments lost its personal data"
    );
    drop(ledger);

    // The raw store no longer holds the person's name anywhere.
    let name = chitra::dev::synth::person(3, 3).full_name;
    let db = common::raw_open(dir.path());
    for item in db.open_tree("log").unwrap().iter() {
        let (_, v) = item.unwrap();
        assert!(
            !v.windows(name.len()).any(|w| w == name.as_bytes()),
            "the name survived erasure"
        );
    }
    drop(db);

    let ledger = common::open(dir.path());
    assert!(ledger
        .state()
        .beneficiary(who)
        .unwrap()
        .identity
        .known()
        .is_none());
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("chain.export");
    chitra::ledger::archive::export(ledger.store(), &file, None).unwrap();
    let f = std::fs::File::open(&file).unwrap();
    assert_eq!(
        chitra::ledger::verify::verify_export(f, None, None, |_| {})
            .unwrap()
            .verified
            .records,
        22
    );
}

#[test]
fn export_and_import_reproduce_the_head_with_and_without_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    common::enrol(&ledger, 0, 300);
    let head = ledger.head().unwrap().last;
    let out = tempfile::tempdir().unwrap();
    let chain = out.path().join("chain.export");
    let personal = out.path().join("chain.export.personal");
    let summary = chitra::ledger::archive::export(ledger.store(), &chain, Some(&personal)).unwrap();
    assert_eq!((summary.records, summary.personal_entries), (600, 300));

    let copy = tempfile::tempdir().unwrap();
    let store = chitra::store::Store::open(copy.path()).unwrap();
    chitra::ledger::archive::import(&store, &chain, Some(&personal)).unwrap();
    drop(store);
    let imported = common::open(copy.path());
    assert_eq!(imported.head().unwrap().last, head);
    assert_eq!(imported.state().beneficiary_count(), 300);
    assert!(imported
        .state()
        .beneficiary(BeneficiaryId(1))
        .unwrap()
        .identity
        .known()
        .is_some());

    // An auditor's copy without personal data still opens; people show as erased.
    let bare = tempfile::tempdir().unwrap();
    let store = chitra::store::Store::open(bare.path()).unwrap();
    chitra::ledger::archive::import(&store, &chain, None).unwrap();
    drop(store);
    let imported = common::open(bare.path());
    assert_eq!(imported.head().unwrap().last, head);
    assert!(imported
        .state()
        .beneficiary(BeneficiaryId(1))
        .unwrap()
        .identity
        .known()
        .is_none());

    // A tampered personal-data file is refused and nothing is imported.
    let mut bytes = std::fs::read(&personal).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&personal, bytes).unwrap();
    let refused = tempfile::tempdir().unwrap();
    let store = chitra::store::Store::open(refused.path()).unwrap();
    assert!(chitra::ledger::archive::import(&store, &chain, Some(&personal)).is_err());
    assert!(store.is_empty().unwrap());
}
