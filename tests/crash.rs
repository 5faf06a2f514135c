//! kill -9 at random moments loses nothing acknowledged: a child process appends continuously
//! through the real writer and prints an acknowledgement for every durable command; after each
//! SIGKILL the chain verifies and every acknowledged record is there with the same hash.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chitra::chain::record::parse_hash_hex;
use chitra::ledger::{Config, Ledger};
use rand::{Rng, SeedableRng};

/// Kills per test run; each lands at a random moment of a running append.
const ROUNDS: usize = 12;

#[test]
fn sigkill_never_loses_an_acknowledged_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261122);
    let mut acked: Vec<(u64, [u8; 32])> = Vec::new();
    for round in 0..ROUNDS {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chitra"))
            .args(["--data-dir"])
            .arg(dir.path())
            .args([
                "bench",
                "append",
                "--events",
                "60000",
                "--submitters",
                "3",
                "--chunk",
                "32",
                "--print-acks",
            ])
            // One seed: each round continues the same synthetic population where the last
            // one stopped, so no citizen ID repeats.
            .args(["--seed", "1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn chitra");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().unwrap();
        let sink = Arc::clone(&lines);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lock().unwrap().push(line);
            }
        });
        // Wait for the child to be appending, then kill it at a random moment.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while lines.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(rng.gen_range(1..250)));
        assert!(
            child.try_wait().unwrap().is_none(),
            "round {round}: the child finished before it could be killed; append more events"
        );
        child.kill().expect("SIGKILL");
        child.wait().unwrap();
        reader.join().unwrap();
        let new: Vec<(u64, [u8; 32])> = lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|l| {
                let mut parts = l.split(' ');
                (parts.next() == Some("ack")).then_some(())?;
                let seq = parts.next()?.parse().ok()?;
                let hash = parse_hash_hex(parts.next()?)?;
                Some((seq, hash))
            })
            .collect();
        assert!(
            !new.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        acked.extend(new);
        check(dir.path(), &acked, round);
    }
}

/// The ledger opens (which verifies the whole chain) and holds every acknowledged record.
fn check(dir: &std::path::Path, acked: &[(u64, [u8; 32])], round: usize) {
    let ledger = Ledger::open(Config::new(dir))
        .unwrap_or_else(|e| panic!("round {round}: ledger does not open: {e}"));
    let report = chitra::verify::verify_store(ledger.store(), None, |_| {})
        .unwrap_or_else(|e| panic!("round {round}: chain does not verify: {e}"));
    let max = acked.iter().map(|a| a.0).max().unwrap();
    assert!(
        report.verified.records > max,
        "round {round}: acknowledged seq {max} is missing"
    );
    let stored: std::collections::HashMap<u64, [u8; 32]> = ledger
        .records(0, max + 1)
        .map(|r| r.map(|r| (r.seq, r.hash)).unwrap())
        .collect();
    for (seq, hash) in acked {
        assert_eq!(
            stored.get(seq),
            Some(hash),
            "round {round}: acknowledged seq {seq} differs"
        );
    }
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
