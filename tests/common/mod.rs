//! The one set of helpers of the integration tests; each helper is written once, here.
//!
//! - this module: a ledger on disk with a fixed clock and fixed salts, commands submitted to it,
//!   synthetic enrolments, and direct access to the stored bytes for tampering;
//! - `fixtures`: domain values (principals, months, decisions, routes, enrolments, the rate
//!   schedules);
//! - `given`: the pure given/when/then harness over `decide` and `apply` (no disk, no clock),
//!   where every test of the domain rules runs;
//! - `bin`: running the real `chitra` binary (a command, a token, a server);
//! - `cut`: a storage cut under a running process (a loop-mounted file system aborted);
//! - `http`: driving the HTTP API in-process;
//! - `files`: reference data beside the repository and schema validation by xmllint;
//! - `export`: chain export files taken apart and put together.
//!
//! A test file includes it with `mod common;` and uses what it needs.
#![allow(dead_code)]

pub mod bin;
pub mod cut;
pub mod export;
pub mod files;
pub mod fixtures;
pub mod given;
pub mod http;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chitra::chain::block::{for_each_record, BlockWriter};
use chitra::domain::command::{ApproveBatch, OpenBatch};
use chitra::domain::event::BatchKind;
use chitra::domain::types::{BatchId, Programme};
use chitra::domain::{Command, Rejection};
use chitra::ledger::{Config, Ledger, Receipt, Submission, SubmitError};

/// 2026-11-02 09:00 local time (02:00 UTC), in Unix milliseconds: "now" for most tests.
pub const T0_MS: i64 = 1_793_584_800_000;

/// 2024-08-01 09:00 local time: the clock the golden fixtures were recorded with.
pub const GOLDEN_T0_MS: i64 = 1_722_477_600_000;

/// A clock that starts at `t0` and advances one millisecond per reading.
pub fn fixed_clock(t0: i64) -> chitra::ledger::Clock {
    let t = Arc::new(AtomicI64::new(t0));
    Arc::new(move || t.fetch_add(1, Ordering::Relaxed))
}

pub fn open(dir: &Path) -> Ledger {
    open_at(dir, T0_MS)
}

/// A ledger with a fixed clock starting at `t0` and fixed salts.
pub fn open_at(dir: &Path, t0: i64) -> Ledger {
    Ledger::open(Config {
        dir: dir.to_path_buf(),
        clock: fixed_clock(t0),
        salt_seed: Some(7),
        ..Config::new(dir)
    })
    .expect("ledger opens")
}

pub fn submission(who: &str, command: Command) -> Submission {
    Submission {
        principal: fixtures::p(who),
        idempotency_key: None,
        command,
    }
}

/// Copies a directory tree (a data directory, to open it without touching the original).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Enrols synthetic persons `from..from+n` (two records each), one command at a time.
pub fn enrol(ledger: &Ledger, from: u64, n: u64) -> Vec<Receipt> {
    (from..from + n)
        .map(|i| {
            ledger
                .submit(submission(
                    "officer:lan",
                    Command::Enrol(chitra::dev::synth::person(3, i)),
                ))
                .expect("enrolment accepted")
        })
        .collect()
}

/// Every stored record, in store order, read straight from sled as an attacker would.
pub fn raw_records(dir: &Path) -> Vec<Vec<u8>> {
    let db = raw_open(dir);
    let tree = db.open_tree("log").unwrap();
    let mut out = Vec::new();
    for item in tree.scan_prefix([b'c']) {
        let (_, block) = item.unwrap();
        for_each_record(&block, |r| out.push(r.to_vec())).unwrap();
    }
    out
}

/// Replaces the stored chain with `records`, one per block keyed by position, as an attacker
/// with write access to the data directory could. Personal blocks are dropped; the head anchor
/// is left as it was unless `anchor` is given.
pub fn rewrite_records(dir: &Path, records: &[Vec<u8>], anchor: Option<(u64, [u8; 32])>) {
    let db = raw_open(dir);
    let tree = db.open_tree("log").unwrap();
    let keys: Vec<_> = tree
        .iter()
        .keys()
        .map(|k| k.unwrap())
        .filter(|k| k[0] == b'c' || k[0] == b'p')
        .collect();
    for k in keys {
        tree.remove(k).unwrap();
    }
    for (i, r) in records.iter().enumerate() {
        let mut w = BlockWriter::new();
        w.push_with(|b| b.extend_from_slice(r));
        let mut key = vec![b'c'];
        key.extend_from_slice(&(i as u64).to_be_bytes());
        tree.insert(key, w.finish()).unwrap();
    }
    if let Some((seq, hash)) = anchor {
        let mut v = seq.to_le_bytes().to_vec();
        v.extend_from_slice(&hash);
        tree.insert(b"m:head", v).unwrap();
    }
    db.flush().unwrap();
}

/// Opens the sled database directly, waiting for a just-closed ledger's lock to be released.
pub fn raw_open(dir: &Path) -> sled::Db {
    let config = chitra::store::sled_config(dir);
    for _ in 0..150 {
        if let Ok(db) = config.open() {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    config.open().unwrap()
}

/// Offset of the payload in a record (its last `payload_len` bytes).
pub fn payload_range(record: &[u8]) -> std::ops::Range<usize> {
    let view = chitra::chain::record::parse_record(record).unwrap();
    record.len() - view.payload.len()..record.len()
}

/// Enacts the named schedules (in the given order), as an administrator would load them.
pub fn enact(ledger: &Ledger, ids: &[&str]) {
    for id in ids {
        ledger
            .submit(submission(
                "admin:thu",
                Command::EnactRateSchedule(fixtures::schedule(id)),
            ))
            .expect("schedule accepted");
    }
}

/// Submits `command` as `who` (`role:name`).
pub fn submit(ledger: &Ledger, who: &str, command: Command) -> Result<Receipt, SubmitError> {
    ledger.submit(submission(who, command))
}

/// The refusal a submission met; anything else fails the test.
pub fn rejected<T: std::fmt::Debug>(r: Result<T, SubmitError>) -> Rejection {
    match r {
        Err(SubmitError::Rejected(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// Records in the chain.
pub fn records(ledger: &Ledger) -> u64 {
    ledger.head().unwrap().records
}

/// Opens a batch as the maker (`maker:hoa`); its id.
pub fn open_batch(
    ledger: &Ledger,
    programme: Programme,
    month: &str,
    kind: BatchKind,
) -> Result<BatchId, SubmitError> {
    submit(
        ledger,
        "maker:hoa",
        Command::OpenBatch(OpenBatch {
            programme,
            month: fixtures::m(month),
            funding_account: fixtures::FUNDING_ACCOUNT.into(),
            kind,
        }),
    )?;
    Ok(BatchId(ledger.state().next_batch_id().0 - 1))
}

/// Approves a computed batch as `who`, with the content and totals it was computed with.
pub fn approve(ledger: &Ledger, who: &str, batch: BatchId) -> Result<Receipt, SubmitError> {
    let c = ledger
        .state()
        .batch(batch)
        .unwrap()
        .computed
        .clone()
        .unwrap();
    submit(
        ledger,
        who,
        Command::ApproveBatch(ApproveBatch {
            batch,
            content_hash: c.content_hash,
            totals: c.totals,
        }),
    )
}

/// Opens a batch, computes it as the maker (`app::batches::compute`) and approves it as the
/// checker (`checker:tuan`).
pub fn approved(ledger: &Ledger, programme: Programme, month: &str, kind: BatchKind) -> BatchId {
    let b = open_batch(ledger, programme, month, kind).unwrap();
    chitra::app::batches::compute(ledger, &fixtures::p("maker:hoa"), None, b).unwrap();
    approve(ledger, "checker:tuan", b).unwrap();
    b
}

/// Opens, computes, approves and releases a batch with its payment files
/// (`app::batches::release`).
pub fn pay_month(ledger: &Ledger, programme: Programme, month: &str, kind: BatchKind) -> BatchId {
    let b = approved(ledger, programme, month, kind);
    chitra::app::batches::release(
        ledger,
        &fixtures::settings(),
        &fixtures::p("checker:tuan"),
        None,
        b,
    )
    .unwrap();
    b
}
