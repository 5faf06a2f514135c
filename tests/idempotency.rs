//! A command carrying an idempotency key already in the chain gets the original receipt back
//! and appends nothing, also after a restart and under concurrency; the same key with another
//! request is refused.

mod common;

use chitra::domain::event::{RateEntry, RateScheduleEnacted, RateValue};
use chitra::domain::types::{Date, Month, Programme, Vnd};
use chitra::domain::Command;
use chitra::ledger::{IdempotencyKey, Ledger, Submission, SubmitError};

/// A keyed submission by lan, in the role the command needs.
fn keyed(key: &str, command: Command) -> Submission {
    let role = chitra::domain::access::roles_for(&command)[0];
    Submission {
        principal: common::fixtures::p(&format!("{role}:lan")),
        idempotency_key: Some(IdempotencyKey::parse(key).unwrap()),
        command,
    }
}

fn enrol(i: u64) -> Command {
    Command::Enrol(chitra::dev::synth::person(5, i))
}

fn schedule() -> Command {
    Command::EnactRateSchedule(RateScheduleEnacted {
        schedule: "btxh-test".into(),
        programme: Programme::Btxh,
        instrument: "ND 76/2024/NĐ-CP".into(),
        applies_from: Month::new(2024, 7).unwrap(),
        enacted_on: Date::new(2024, 7, 1).unwrap(),
        province: None,
        entries: vec![RateEntry {
            key: "btxh.base".into(),
            value: RateValue::Amount(Vnd(500_000)),
        }],
        source_digest: [0; 32],
    })
}

fn records(l: &Ledger) -> u64 {
    l.head().unwrap().records
}

#[test]
fn a_retry_gets_the_original_receipt_and_appends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let first = ledger.submit(keyed("req-1", enrol(1))).unwrap();
    assert!(!first.replayed);
    assert_eq!(first.count, 2);
    let again = ledger.submit(keyed("req-1", enrol(1))).unwrap();
    assert!(again.replayed);
    assert_eq!(
        (again.first_seq, again.count, again.hash),
        (first.first_seq, first.count, first.hash)
    );
    assert_eq!(records(&ledger), 2);
}

#[test]
fn the_same_key_with_another_request_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    ledger.submit(keyed("req-1", enrol(1))).unwrap();
    let other = ledger.submit(keyed("req-1", enrol(2)));
    assert_eq!(other, Err(SubmitError::IdempotencyConflict));
    assert_eq!(records(&ledger), 2);
}

#[test]
fn keys_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = {
        let ledger = common::open(dir.path());
        let a = ledger.submit(keyed("req-1", enrol(1))).unwrap();
        let b = ledger.submit(keyed("rates-1", schedule())).unwrap();
        ledger
            .submit(common::submission("officer:lan", enrol(3)))
            .unwrap();
        (a, b)
    };
    let ledger = common::open(dir.path());
    let before = records(&ledger);
    let a = ledger.submit(keyed("req-1", enrol(1))).unwrap();
    let b = ledger.submit(keyed("rates-1", schedule())).unwrap();
    assert!(a.replayed && b.replayed);
    assert_eq!(
        (a.first_seq, a.count, a.hash),
        (first.first_seq, first.count, first.hash)
    );
    assert_eq!(
        (b.first_seq, b.count, b.hash),
        (second.first_seq, second.count, second.hash)
    );
    assert_eq!(
        ledger.submit(keyed("req-1", enrol(2))),
        Err(SubmitError::IdempotencyConflict)
    );
    assert_eq!(records(&ledger), before);
}

#[test]
fn twenty_concurrent_retries_append_once() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    let receipts: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| s.spawn(|| ledger.submit(keyed("same-key", enrol(9))).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(records(&ledger), 2);
    assert_eq!(receipts.iter().filter(|r| !r.replayed).count(), 1);
    assert!(receipts
        .iter()
        .all(|r| r.first_seq == 0 && r.count == 2 && r.hash == receipts[0].hash));
}

#[test]
fn keys_are_scoped_to_their_principal() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = common::open(dir.path());
    ledger.submit(keyed("k", enrol(1))).unwrap();
    let other = Submission {
        principal: common::fixtures::p("officer:minh"),
        ..keyed("k", enrol(2))
    };
    let r = ledger.submit(other).unwrap();
    assert!(!r.replayed);
    assert_eq!(records(&ledger), 4);
}
