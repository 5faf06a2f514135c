//! Checkpoints the writer signs on its own and records in the chain (`docs/proofs.md` §4.1):
//! after a batch release, every N records and every T seconds, only with a key; each one is
//! the signed root of every record before it; `chitra verify` (store and export) checks them
//! all and names one that was altered, even in a chain whose links were redone.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chitra::chain::note::{self, Checkpoint, VerifierKey};
use chitra::chain::record::record_hash;
use chitra::domain::event::{BatchKind, CheckpointRecorded, Event};
use chitra::domain::types::Programme;
use chitra::ledger::checkpoints::{recorded_note, CheckpointPolicy};
use chitra::ledger::{Config, Ledger};
use common::bin::{chitra, chitra_ok as ok, stdout};
use common::fixtures::{enrolment, monthly, BEFORE_JULY_2024};

const KEY_NAME: &str = "treasury.example/chitra-01";

/// A ledger whose clock the test moves, with the given checkpoint policy.
fn open(dir: &Path, clock: &Arc<AtomicI64>, policy: CheckpointPolicy) -> Ledger {
    let clock = Arc::clone(clock);
    Ledger::open(Config {
        clock: Arc::new(move || clock.load(Ordering::Relaxed)),
        salt_seed: Some(7),
        checkpoints: policy,
        ..Config::new(dir)
    })
    .expect("ledger opens")
}

/// Makes the ledger's key (the ledger must exist); its verifier key.
fn key_init(dir: &Path) -> VerifierKey {
    chitra::ledger::keys::init(dir, KEY_NAME)
        .unwrap()
        .verifier()
}

/// Every recorded checkpoint, by the seq of its record.
fn recorded(l: &Ledger) -> Vec<(u64, CheckpointRecorded)> {
    l.events(0, common::records(l))
        .map(Result::unwrap)
        .filter_map(|r| match r.event {
            Event::CheckpointRecorded(c) => Some((r.seq, *c)),
            _ => None,
        })
        .collect()
}

fn never() -> CheckpointPolicy {
    CheckpointPolicy {
        interval_records: u64::MAX,
        interval_seconds: 1_000_000,
    }
}

#[test]
fn every_n_records_the_writer_records_a_signed_checkpoint_of_every_record_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(common::T0_MS));
    drop(common::open(dir.path()));
    let key = key_init(dir.path());
    let l = open(
        dir.path(),
        &clock,
        CheckpointPolicy {
            interval_records: 6,
            ..never()
        },
    );
    // Ten enrolments of two records each, one group each.
    common::enrol(&l, 0, 10);
    let found = recorded(&l);
    // A checkpoint once 6 records went by since the last: after 6, 13 and 20 records (each
    // checkpoint is itself a record the next one covers).
    let sizes: Vec<u64> = found.iter().map(|(_, c)| c.tree_size).collect();
    assert_eq!(sizes, vec![6, 13, 20]);
    for (seq, c) in &found {
        assert_eq!(
            *seq, c.tree_size,
            "a checkpoint covers every record before it"
        );
        let (_, root) = l.tree().root(Some(c.tree_size)).unwrap();
        assert_eq!(c.root, root);
        assert_eq!(c.key_name, KEY_NAME);
        let text = recorded_note(c);
        let body = note::open(&text, &key).expect("the signature verifies");
        let parsed = Checkpoint::parse(body).unwrap();
        assert_eq!((parsed.size, parsed.root), (c.tree_size, root));
    }
    // The principal is the writer's, and nobody else may record one.
    let first = l.event(found[0].0).unwrap().unwrap();
    assert_eq!(
        first.principal,
        chitra::domain::checkpoints::CHECKPOINT_PRINCIPAL
    );
    let forged = common::submit(
        &l,
        "checker:tuan",
        chitra::domain::Command::RecordCheckpoint(found[0].1.clone()),
    );
    assert!(matches!(
        common::rejected(forged),
        chitra::domain::Rejection::NotAllowed { .. }
    ));
}

#[test]
fn without_a_key_the_writer_records_no_checkpoint_and_status_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(common::T0_MS));
    let db = dir.path().join("db");
    common::bin::init(&db);
    {
        let l = open(
            &db,
            &clock,
            CheckpointPolicy {
                interval_records: 1,
                interval_seconds: 1,
            },
        );
        common::enrol(&l, 0, 3);
        clock.fetch_add(5_000, Ordering::Relaxed);
        common::enrol(&l, 3, 3);
        assert_eq!(recorded(&l), vec![]);
    }
    let status = ok(&db, &["status"]);
    assert!(
        status.contains("checkpoints:   none: the data directory has no key"),
        "{status}"
    );
    ok(&db, &["key", "init", "--name", KEY_NAME]);
    let status = ok(&db, &["status"]);
    assert!(
        status.contains(&format!(
            "checkpoints:   signed by the writer with {KEY_NAME}+"
        )),
        "{status}"
    );
    assert!(
        status.contains("every 100000 records and every 60 s"),
        "{status}"
    );
}

#[test]
fn after_t_seconds_and_after_a_batch_release_the_writer_signs_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(AtomicI64::new(common::T0_MS));
    drop(common::open(dir.path()));
    key_init(dir.path());
    let l = open(
        dir.path(),
        &clock,
        CheckpointPolicy {
            interval_seconds: 60,
            ..never()
        },
    );
    common::enact(&l, BEFORE_JULY_2024);
    common::submit(
        &l,
        "officer:lan",
        chitra::domain::Command::Enrol(enrolment(
            "001185000001",
            "Nguyễn Thị Test",
            "1985-03-01",
            Some(common::fixtures::cash()),
            vec![monthly(
                "btxh.disability_especially_severe",
                vec![],
                "2024-06",
            )],
        )),
    )
    .unwrap();
    assert_eq!(recorded(&l), vec![], "the clock has not moved");
    clock.fetch_add(60_000, Ordering::Relaxed);
    common::enrol(&l, 0, 1);
    let after_time = recorded(&l);
    assert_eq!(after_time.len(), 1, "60 s went by");
    let before_release = common::records(&l);
    let batch = common::approved(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    assert_eq!(recorded(&l).len(), 1, "nothing released yet");
    chitra::app::batches::release(
        &l,
        &common::fixtures::settings(),
        &common::fixtures::p("checker:tuan"),
        None,
        batch,
    )
    .unwrap();
    let all = recorded(&l);
    assert_eq!(all.len(), 2, "the release is followed by a checkpoint");
    let (seq, c) = &all[1];
    assert!(c.tree_size > before_release);
    assert_eq!(*seq, c.tree_size);
    // The release's own records (the release and its files) come right before it.
    let mut group: Vec<Event> = l
        .events(before_release, *seq)
        .map(|r| r.unwrap().event)
        .collect();
    group.retain(|e| !matches!(e, Event::PaymentFileIssued(_)));
    assert!(
        matches!(group.last(), Some(Event::BatchReleased(_))),
        "{group:?}"
    );
}

#[test]
fn a_quiet_writer_signs_the_records_left_uncovered_once_t_seconds_pass() {
    let dir = tempfile::tempdir().unwrap();
    drop(common::open(dir.path()));
    key_init(dir.path());
    let l = Ledger::open(Config {
        checkpoints: CheckpointPolicy {
            interval_records: u64::MAX,
            interval_seconds: 1,
        },
        ..Config::new(dir.path())
    })
    .unwrap();
    common::enrol(&l, 0, 2);
    // Nothing else is submitted: the writer wakes by itself. Wait for it (at most a minute;
    // it takes about a second).
    let mut found = Vec::new();
    for _ in 0..600 {
        found = recorded(&l);
        if !found.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(found.len(), 1, "the writer signed the quiet tail");
    assert_eq!(found[0].1.tree_size, 4);
}

/// A data directory whose writer recorded checkpoints, its export, the seq of the first
/// checkpoint record and the key.
fn with_checkpoints(dir: &Path) -> (std::path::PathBuf, Vec<u8>, u64, VerifierKey) {
    let db = dir.join("db");
    common::bin::init(&db);
    let key = key_init(&db);
    let clock = Arc::new(AtomicI64::new(common::T0_MS));
    let first = {
        let l = open(
            &db,
            &clock,
            CheckpointPolicy {
                interval_records: 5,
                ..never()
            },
        );
        common::enrol(&l, 0, 8);
        recorded(&l)[0].0
    };
    let export = dir.join("chain.export");
    ok(&db, &["export", export.to_str().unwrap(), "--no-personal"]);
    (db, std::fs::read(&export).unwrap(), first, key)
}

/// `chitra verify --export` of `bytes` (written beside the data directory): exit code and stdout.
fn verify_export(db: &Path, bytes: &[u8], key: Option<&str>) -> (Option<i32>, String) {
    let file = db.with_file_name("altered.export");
    std::fs::write(&file, bytes).unwrap();
    let mut args = vec!["verify", "--export", file.to_str().unwrap()];
    if let Some(k) = key {
        args.extend(["--checkpoint-key", k]);
    }
    let out = chitra(db, &args);
    (out.status.code(), stdout(&out))
}

/// The records with `at` replaced and every later link redone: a chain consistent on its own,
/// as an operator rewriting history would make it.
fn relinked(mut records: Vec<Vec<u8>>, at: usize, altered: Vec<u8>) -> Vec<u8> {
    records[at] = altered;
    for i in at + 1..records.len() {
        let prev = record_hash(&records[i - 1]);
        records[i][12..44].copy_from_slice(&prev);
    }
    common::export::export(&records)
}

fn replace(haystack: &[u8], needle: &[u8], f: impl Fn(&mut [u8])) -> Vec<u8> {
    let at = haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("found");
    let mut out = haystack.to_vec();
    f(&mut out[at..at + needle.len()]);
    out
}

#[test]
fn verify_checks_every_recorded_checkpoint_and_names_an_altered_one() {
    let dir = tempfile::tempdir().unwrap();
    let (db, export, first, key) = with_checkpoints(dir.path());
    let key_text = key.to_string();
    let out = ok(&db, &["verify"]);
    assert!(
        out.contains(&format!(
            "checkpoints: 3 recorded (the last of 16 records), each matches the tree at its \
             size; signatures verified with {key_text}"
        )),
        "{out}"
    );
    let (code, out) = verify_export(&db, &export, Some(&key_text));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("checkpoints: 3 recorded"), "{out}");

    let records = common::export::records(&export);
    let l = chitra::ledger::Offline::open(&db).unwrap();
    let (_, root) = l.tree().unwrap().root(Some(first)).unwrap();
    drop(l);
    let rec = &records[first as usize];
    // The root altered (and the links after it redone): the chain verifies on its own, the
    // checkpoint does not.
    let altered = relinked(
        records.clone(),
        first as usize,
        replace(rec, &root, |r| r[0] ^= 1),
    );
    let (code, out) = verify_export(&db, &altered, Some(&key_text));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "TAMPERED: seq {first}: the recorded checkpoint of {first} records has the root"
        )) && out.contains("it was altered"),
        "{out}"
    );
    // The signature altered: refused with the key, named as such.
    let c = match chitra::ledger::codec::decode_event(
        chitra::ledger::codec::PAYLOAD_VERSION_CURRENT,
        &rec[common::payload_range(rec)],
    )
    .unwrap()
    {
        Event::CheckpointRecorded(c) => c,
        other => panic!("not a checkpoint: {other:?}"),
    };
    let altered = relinked(
        records.clone(),
        first as usize,
        replace(rec, &c.signature[4..], |s| s[10] ^= 1),
    );
    let (code, out) = verify_export(&db, &altered, Some(&key_text));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "TAMPERED: seq {first}: the recorded checkpoint of {first} records does not hold: the \
             signature by {KEY_NAME} does not verify"
        )),
        "{out}"
    );
    // Another key: the checkpoints are not its.
    let stranger = chitra::chain::note::NoteSigner::new(KEY_NAME, &[9; 32])
        .unwrap()
        .verifier()
        .to_string();
    let (code, out) = verify_export(&db, &export, Some(&stranger));
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("the note carries no signature by"), "{out}");
}
