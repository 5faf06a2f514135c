//! kill -9 at random moments loses nothing acknowledged. `chitra bench crash` runs the loop:
//! a child appends through the real writer with concurrent submitters (a roster import of a
//! few thousand people alongside in some cycles) and prints an acknowledgement for every
//! durable command; after each SIGKILL the ledger reopens, the chain verifies and every
//! acknowledged record is there with the same hash.

mod common;

use std::process::Command;

use chitra::ledger::{Config, Ledger};

/// Kills per test run; each lands at a random moment of a running append.
const ROUNDS: u64 = 12;

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    let out = Command::new(env!("CARGO_BIN_EXE_chitra"))
        .args(["--json", "bench", "crash", "--cycles", &ROUNDS.to_string()])
        .args([
            "--events",
            "60000",
            "--kill-ms-max",
            "250",
            "--seed",
            "20261122",
        ])
        // Above 256 blocks of 8 KiB, so the roster goes to the store in several batches.
        .args(["--roster-rows", "4000", "--roster-every", "3"])
        .arg("--work-dir")
        .arg(&work)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON report ({e}): {stderr}"));
    assert!(out.status.success(), "{report:#}\n{stderr}");
    assert_eq!(report["cycles"], ROUNDS, "{report:#}");
    assert_eq!(report["lost"], 0, "{report:#}");
    assert_eq!(report["verify_failures"], 0, "{report:#}");
    // Every cycle waits for an acknowledgement before it kills.
    assert!(
        report["acknowledged"].as_u64().unwrap() >= ROUNDS,
        "{report:#}"
    );
    assert!(report["roster_cycles"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(
        report["finished_before_kill"], 0,
        "every kill cut an append short: {report:#}"
    );
    // The last store, checked here too: it opens (verifying and replaying) and verifies.
    let store = work.join(format!("store-{}", report["stores"]));
    let ledger = Ledger::open(Config::new(&store)).unwrap();
    let verified = chitra::ledger::verify::verify_store(ledger.store(), None, |_| {}).unwrap();
    assert!(verified.verified.records > 0);
}

/// A group too large for one write goes to the store in several batches; a crash before its
/// last batch (which writes the head anchor and flushes) leaves blocks nobody was told about.
/// Opening discards exactly those; blocks beyond the anchor without the in-progress marker are
/// tampering and stop the ledger from opening.
#[test]
fn an_interrupted_large_group_is_discarded_and_a_forged_tail_is_not() {
    use chitra::chain::block::BlockWriter;
    use chitra::store::{PendingBlock, Store};
    let dir = tempfile::tempdir().unwrap();
    let head = {
        let l = common::open(dir.path());
        common::enrol(&l, 0, 10);
        l.head().unwrap()
    };
    let records = common::raw_records(dir.path());
    let block = |first: u64| {
        let mut w = BlockWriter::new();
        w.push_with(|b| b.extend_from_slice(&records[3]));
        PendingBlock {
            first_seq: first,
            records: w.finish(),
            personal: vec![],
        }
    };
    {
        let store = Store::open(dir.path()).unwrap();
        store
            .append_partial(
                vec![block(head.records), block(head.records + 1)],
                head.records,
            )
            .unwrap();
    }
    let l = common::open(dir.path());
    assert_eq!(l.head().unwrap(), head, "the interrupted group is gone");
    let next = common::enrol(&l, 10, 1);
    assert_eq!(next[0].first_seq, head.records);
    drop(l);
    // The same blocks without the marker: a forged tail.
    {
        let db = common::raw_open(dir.path());
        let tree = db.open_tree("log").unwrap();
        let mut key = vec![b'c'];
        key.extend_from_slice(&(head.records + 2).to_be_bytes());
        tree.insert(key, block(head.records + 2).records).unwrap();
        db.flush().unwrap();
    }
    assert!(chitra::ledger::Ledger::open(chitra::ledger::Config::new(dir.path())).is_err());
}
