//! Many concurrent submitters produce one linear chain, and every caller's acknowledgement
//! matches the record stored at the sequence number it names.

mod common;

use chitra::domain::Command;
use chitra::ledger::Receipt;

#[test]
fn concurrent_submitters_get_receipts_matching_one_linear_chain() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    const THREADS: u64 = 16;
    const EACH: u64 = 60;
    let receipts: Vec<Receipt> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let ledger = &ledger;
                s.spawn(move || {
                    (0..EACH)
                        .map(|i| {
                            let person = chitra::dev::synth::person(11, t * EACH + i);
                            ledger
                                .submit(common::submission("officer:lan", Command::Enrol(person)))
                                .unwrap()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut ranges: Vec<(u64, u64)> = receipts
        .iter()
        .map(|r| (r.first_seq, r.last_seq().unwrap()))
        .collect();
    ranges.sort();
    let mut next = 0;
    for (first, last) in &ranges {
        assert_eq!(*first, next, "receipts overlap or leave a gap");
        next = last + 1;
    }
    assert_eq!(next, THREADS * EACH * 2);
    let stored: std::collections::HashMap<u64, [u8; 32]> = ledger
        .records(0, next)
        .map(|r| r.map(|r| (r.seq, r.hash)).unwrap())
        .collect();
    for r in &receipts {
        assert_eq!(
            stored[&r.last_seq().unwrap()],
            r.hash,
            "receipt hash differs from the stored record"
        );
    }
    let report = chitra::ledger::verify::verify_store(ledger.store(), None, |_| {}).unwrap();
    assert_eq!(report.verified.records, next);
    assert_eq!(ledger.state().beneficiary_count() as u64, THREADS * EACH);
}

#[test]
fn state_after_reopening_equals_state_before() {
    let dir = tempfile::tempdir().unwrap();
    let before = {
        let ledger = common::open(dir.path());
        common::enrol(&ledger, 0, 50);
        let s = ledger.state();
        (
            s.applied(),
            s.beneficiary_count(),
            s.entitlements().len(),
            ledger.head().unwrap(),
        )
    };
    let ledger = common::open(dir.path());
    let s = ledger.state();
    let after = (
        s.applied(),
        s.beneficiary_count(),
        s.entitlements().len(),
        ledger.head().unwrap(),
    );
    assert_eq!(before, after);
    let b = s
        .beneficiary(chitra::domain::types::BeneficiaryId(7))
        .unwrap();
    let enrol = chitra::dev::synth::person(3, 6);
    assert_eq!(b.identity.known().unwrap().citizen_id, enrol.citizen_id);
    assert_eq!(s.by_citizen(&enrol.citizen_id), Some(b.id));
}
