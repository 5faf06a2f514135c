//! Helpers shared by the integration tests: a ledger with a fixed clock and fixed salts,
//! synthetic enrolments, and direct access to the stored bytes for tampering.
#![allow(dead_code)]

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chitra::chain::block::{for_each_record, BlockWriter};
use chitra::domain::types::Principal;
use chitra::domain::Command;
use chitra::ledger::{Config, Ledger, Receipt, Submission};

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

pub fn principal(name: &str) -> Principal {
    Principal::parse(name).unwrap()
}

pub fn submission(who: &str, command: Command) -> Submission {
    Submission {
        principal: principal(who),
        idempotency_key: None,
        command,
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
    for _ in 0..150 {
        if let Ok(db) = sled::open(dir) {
            return db;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    sled::open(dir).unwrap()
}

/// Offset of the payload in a record (its last `payload_len` bytes).
pub fn payload_range(record: &[u8]) -> std::ops::Range<usize> {
    let view = chitra::chain::record::parse_record(record).unwrap();
    record.len() - view.payload.len()..record.len()
}

/// The rate schedules of `ledger-data/rates/`, by id.
pub fn schedules() -> Vec<chitra::domain::event::RateScheduleEnacted> {
    chitra::formats::reference::rates::load_dir(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates"),
    )
    .expect("rate files load")
}

/// Enacts the named schedules (in the given order), as an administrator would load them.
pub fn enact(ledger: &Ledger, ids: &[&str]) {
    let all = schedules();
    for id in ids {
        let s = all
            .iter()
            .find(|s| s.schedule == *id)
            .unwrap_or_else(|| panic!("no schedule {id}"));
        ledger
            .submit(submission(
                "admin:thu",
                Command::EnactRateSchedule(s.clone()),
            ))
            .expect("schedule accepted");
    }
}

/// Every schedule except the July 2024 ones (ND 76/2024, ND 77/2024), which the scenarios load
/// late, after July was paid.
pub const BEFORE_JULY_2024: &[&str] = &[
    "btxh-nd20-2021",
    "ncc-nd75-2021",
    "ncc-base-salary-nd24-2023",
    "ncc-nd55-2023",
];
pub const JULY_2024: &[&str] = &[
    "btxh-nd76-2024",
    "ncc-nd77-2024",
    "ncc-base-salary-nd73-2024",
];
