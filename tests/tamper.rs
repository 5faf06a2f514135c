//! Tampering with the stored data and with an export is detected, and the first bad sequence
//! number is named: a changed byte, a removed, inserted or swapped record, a forged link, and a
//! cut-off tail.

mod common;

use std::path::Path;

use chitra::chain::export::{ChainExportReader, ChainExportWriter};
use chitra::chain::record::{record_hash, RECORD_FORMAT_V1};
use chitra::chain::{Fault, FaultKind};
use chitra::store::Store;
use chitra::verify::{verify_export, verify_store, VerifyError};

const PERSONS: u64 = 40;
const K: usize = 37;

/// A ledger of 80 records in `dir`, returned as its raw records.
fn ledger(dir: &Path) -> Vec<Vec<u8>> {
    let l = common::open(dir);
    common::enrol(&l, 0, PERSONS);
    drop(l);
    common::raw_records(dir)
}

enum Tamper {
    FlipPayloadByte(usize),
    FlipPrevHashByte(usize),
    Remove(usize),
    InsertForged(usize),
    Swap(usize),
    Truncate(usize),
    /// Record k claims an earlier time than its predecessor, and every later link is redone so
    /// that only the time order is wrong.
    TimeReversed(usize),
}

fn apply(records: &[Vec<u8>], t: &Tamper) -> Vec<Vec<u8>> {
    let mut r = records.to_vec();
    match *t {
        Tamper::FlipPayloadByte(k) => {
            let at = common::payload_range(&r[k]).start + 1;
            r[k][at] ^= 0x01;
        }
        Tamper::FlipPrevHashByte(k) => r[k][20] ^= 0x80,
        Tamper::Remove(k) => {
            r.remove(k);
        }
        Tamper::InsertForged(k) => {
            // A forged copy of record k with another payload byte, linked like the original.
            let mut forged = r[k].clone();
            let at = common::payload_range(&forged).start + 1;
            forged[at] ^= 0x02;
            r.insert(k, forged);
        }
        Tamper::Swap(k) => r.swap(k, k + 1),
        Tamper::Truncate(n) => r.truncate(r.len() - n),
        Tamper::TimeReversed(k) => {
            let earlier = i64::from_le_bytes(r[k - 1][44..52].try_into().unwrap()) - 1;
            r[k][44..52].copy_from_slice(&earlier.to_le_bytes());
            for i in k + 1..r.len() {
                let prev = record_hash(&r[i - 1]);
                r[i][12..44].copy_from_slice(&prev);
            }
        }
    }
    r
}

fn expected(t: &Tamper, total: usize) -> (u64, fn(&FaultKind) -> bool) {
    match *t {
        Tamper::FlipPayloadByte(k) => (k as u64, |f| *f == FaultKind::ContentAltered),
        Tamper::FlipPrevHashByte(k) => (k as u64, |f| *f == FaultKind::LinkBroken),
        Tamper::Remove(k) => (k as u64, |f| *f == FaultKind::Missing),
        Tamper::InsertForged(k) => (k as u64, |f| {
            matches!(f, FaultKind::Duplicate | FaultKind::Inserted)
        }),
        Tamper::Swap(k) => (k as u64, |f| matches!(f, FaultKind::OutOfOrder { .. })),
        Tamper::Truncate(n) => ((total - n) as u64, |f| {
            matches!(f, FaultKind::Truncated { .. })
        }),
        Tamper::TimeReversed(k) => (k as u64, |f| *f == FaultKind::TimeReversed),
    }
}

fn cases() -> Vec<(&'static str, Tamper)> {
    vec![
        ("payload byte changed", Tamper::FlipPayloadByte(K)),
        ("first record's payload changed", Tamper::FlipPayloadByte(0)),
        ("last record's payload changed", Tamper::FlipPayloadByte(79)),
        ("link forged", Tamper::FlipPrevHashByte(K)),
        ("record removed", Tamper::Remove(K)),
        ("record inserted", Tamper::InsertForged(K)),
        ("records swapped", Tamper::Swap(K)),
        ("tail truncated", Tamper::Truncate(5)),
        ("time reversed", Tamper::TimeReversed(K)),
    ]
}

fn assert_fault(what: &str, result: Result<Fault, String>, want: (u64, fn(&FaultKind) -> bool)) {
    let fault = result.unwrap_or_else(|e| panic!("{what}: expected a fault, got {e}"));
    assert_eq!(fault.seq, want.0, "{what}: wrong first bad seq ({fault})");
    assert!(want.1(&fault.kind), "{what}: wrong kind ({fault})");
}

#[test]
fn untampered_store_and_export_verify() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    assert_eq!(records.len(), 80);
    let store = Store::open(dir.path()).unwrap();
    let report = verify_store(&store, None, |_| {}).unwrap();
    assert_eq!(report.verified.records, 80);
    assert_eq!(report.personal_entries, PERSONS);
    let bytes = export_bytes(&records, true);
    assert_eq!(
        verify_export(&bytes[..], None, None, |_| {})
            .unwrap()
            .verified
            .records,
        80
    );
}

#[test]
fn tampering_with_the_store_is_detected_at_the_first_bad_seq() {
    for (what, t) in cases() {
        let dir = tempfile::tempdir().unwrap();
        let records = ledger(dir.path());
        common::rewrite_records(dir.path(), &apply(&records, &t), None);
        let store = Store::open(dir.path()).unwrap();
        let result = match verify_store(&store, None, |_| {}) {
            Err(VerifyError::Fault(f)) => Ok(f),
            other => Err(format!("{other:?}")),
        };
        assert_fault(what, result, expected(&t, records.len()));
        // The ledger refuses to open on a chain that does not verify.
        drop(store);
        let opened = chitra::ledger::Ledger::open(chitra::ledger::Config::new(dir.path()));
        assert!(opened.is_err(), "{what}: a tampered ledger opened");
    }
}

#[test]
fn tampering_with_an_export_is_detected_at_the_first_bad_seq() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    for (what, t) in cases() {
        let tampered = apply(&records, &t);
        // The attacker keeps the original trailer (count and head hash), as a file copied from
        // the genuine export and edited in place would.
        let bytes = export_with_trailer(
            &tampered,
            records.len() as u64,
            record_hash(records.last().unwrap()),
        );
        let result = match verify_export(&bytes[..], None, None, |_| {}) {
            Err(VerifyError::Fault(f)) => Ok(f),
            other => Err(format!("{other:?}")),
        };
        assert_fault(what, result, expected(&t, records.len()));
    }
}

/// The Rust verifier and the independent one (`tools/verify_export.py`, written from the spec
/// alone) name the same first bad sequence number and the same kind for every tampering.
#[test]
fn the_independent_verifier_agrees_on_every_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    for (what, t) in cases() {
        let tampered = apply(&records, &t);
        let bytes = export_with_trailer(
            &tampered,
            records.len() as u64,
            record_hash(records.last().unwrap()),
        );
        let file = dir.path().join("t.export");
        std::fs::write(&file, &bytes).unwrap();
        let rust = match verify_export(&bytes[..], None, None, |_| {}) {
            Err(VerifyError::Fault(f)) => f.to_string(),
            other => panic!("{what}: {other:?}"),
        };
        let out = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tools/verify_export.py"
            ))
            .arg(&file)
            .output()
            .expect("python3 runs (CI installs it with the blake3 package)");
        let python = String::from_utf8_lossy(&out.stdout);
        let python = python
            .trim()
            .strip_prefix("TAMPERED: ")
            .unwrap_or_else(|| panic!("{what}: {python}"));
        let head = |s: &str| s.split(" (").next().unwrap().to_owned();
        assert_eq!(
            head(&rust),
            head(python),
            "{what}: the two verifiers disagree"
        );
    }
}

#[test]
fn an_export_cut_short_or_with_garbage_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    let bytes = export_bytes(&records, true);
    for cut in [9, bytes.len() / 2, bytes.len() - 1] {
        assert!(
            verify_export(&bytes[..cut], None, None, |_| {}).is_err(),
            "cut at {cut} verified"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(verify_export(&longer[..], None, None, |_| {}).is_err());
    let mut wrong_magic = bytes.clone();
    wrong_magic[0] = b'X';
    assert!(verify_export(&wrong_magic[..], None, None, |_| {}).is_err());
    // A record with an unknown format byte is malformed at its sequence number.
    let mut r = records.clone();
    r[K][0] = RECORD_FORMAT_V1 + 1;
    let bytes = export_bytes(&r, true);
    match verify_export(&bytes[..], None, None, |_| {}) {
        Err(VerifyError::Fault(f)) => {
            assert_eq!(f.seq, K as u64);
            assert!(matches!(f.kind, FaultKind::Malformed(_)), "{f}");
        }
        other => panic!("expected a malformed record, got {other:?}"),
    }
}

#[test]
fn a_rewritten_history_is_caught_by_a_trusted_head_only() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    let trusted = chitra::chain::Anchor {
        seq: 60,
        hash: record_hash(&records[60]),
    };
    // Alter record K and redo every later link: consistent on its own.
    let mut r = records.clone();
    let at = common::payload_range(&r[K]).start + 1;
    r[K][at] ^= 1;
    for i in K + 1..r.len() {
        let prev = record_hash(&r[i - 1]);
        r[i][12..44].copy_from_slice(&prev);
    }
    let bytes = export_bytes(&r, true);
    assert!(verify_export(&bytes[..], None, None, |_| {}).is_ok());
    match verify_export(&bytes[..], None, Some(trusted), |_| {}) {
        Err(VerifyError::Fault(f)) => {
            assert_eq!((f.seq, f.kind), (60, FaultKind::DiffersFromTrustedHead))
        }
        other => panic!("expected the trusted head to catch the rewrite, got {other:?}"),
    }
    // The untouched export agrees with the trusted head, and grew beyond it.
    assert!(verify_export(
        &export_bytes(&records, true)[..],
        None,
        Some(trusted),
        |_| {}
    )
    .is_ok());
}

#[test]
fn an_export_without_its_trailer_is_truncated_at_the_next_seq() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    let bytes = export_bytes(&records[..50], true);
    let cut = &bytes[..bytes.len() - 44];
    match verify_export(cut, None, None, |_| {}) {
        Err(VerifyError::Fault(f)) => assert_eq!(
            (f.seq, f.kind),
            (50, FaultKind::Truncated { anchor_seq: None })
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn export_reader_reads_back_what_the_writer_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    let bytes = export_bytes(&records, true);
    let mut reader = ChainExportReader::new(&bytes[..]).unwrap();
    let mut buf = Vec::new();
    let mut read = Vec::new();
    while reader.next_record(&mut buf).unwrap() {
        read.push(buf.clone());
    }
    assert_eq!(read, records);
    assert_eq!(reader.trailer().map(|t| t.0), Some(80));
}

fn export_bytes(records: &[Vec<u8>], _trailer: bool) -> Vec<u8> {
    let mut w = ChainExportWriter::new(Vec::new()).unwrap();
    for r in records {
        w.record(r, record_hash(r)).unwrap();
    }
    w.finish().unwrap()
}

fn export_with_trailer(records: &[Vec<u8>], count: u64, head: [u8; 32]) -> Vec<u8> {
    let mut out = chitra::chain::export::CHAIN_EXPORT_MAGIC.to_vec();
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&head);
    out
}
