//! Tampering with the stored data and with an export is detected, and the first bad sequence
//! number is named: a changed byte, a removed, inserted or swapped record, a forged link, and a
//! cut-off tail.

mod common;

use std::path::Path;

use chitra::chain::export::{ChainExportReader, ChainExportWriter};
use chitra::chain::record::{record_hash, RECORD_FORMAT_V1};
use chitra::chain::{Fault, FaultKind};
use chitra::ledger::verify::{verify_export, verify_store, VerifyError};
use chitra::store::Store;

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
        let bytes = common::export::with_trailer(
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
        let bytes = common::export::with_trailer(
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

// ---- every ending of an export file (docs/chain-format.md §6, "Framing") ------------------

/// A real export (chain and personal data) of a small ledger: 6 records, 3 personal entries.
fn small_export(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let l = common::open(&dir.join("db"));
    common::enrol(&l, 0, 3);
    let chain = dir.join("small.export");
    let personal = dir.join("small.export.personal");
    chitra::ledger::archive::export(l.store(), &chain, Some(&personal)).unwrap();
    (
        std::fs::read(chain).unwrap(),
        std::fs::read(personal).unwrap(),
    )
}

/// What `chitra verify --export` finds, as `seq N: <kind>`, or `ok`, or `error` (not an export).
fn rust_verdict(chain: &[u8], personal: Option<&[u8]>) -> String {
    let personal = match personal.map(chitra::chain::export::read_personal_export) {
        Some(Err(_)) => return "error".into(),
        Some(Ok(p)) => Some(p),
        None => None,
    };
    match verify_export(chain, personal.as_ref(), None, |_| {}) {
        Ok(_) => "ok".into(),
        Err(e) if e.is_tampering() => e.to_string().split(" (").next().unwrap().to_owned(),
        Err(_) => "error".into(),
    }
}

/// Runs `tools/verify_export.py` (its own `main`, one Python process for all cases) on each
/// (chain, personal) pair of files; returns each verdict as `rust_verdict` words it.
fn python_verdicts(cases: &[(std::path::PathBuf, Option<std::path::PathBuf>)]) -> Vec<String> {
    use std::io::Write as _;
    const DRIVER: &str = r#"
import contextlib, importlib.util, io, sys
spec = importlib.util.spec_from_file_location("verify_export", sys.argv[1])
m = importlib.util.module_from_spec(spec)
spec.loader.exec_module(m)
for line in sys.stdin:
    args = line.rstrip("\n").split("\t")
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = m.main(args)
    first = (out.getvalue() or err.getvalue()).strip().splitlines()
    print(f"{code}\t{first[0] if first else ''}", flush=True)
"#;
    let mut child = std::process::Command::new("python3")
        .args(["-c", DRIVER])
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/verify_export.py"
        ))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs (CI installs it with the blake3 package)");
    let mut input = String::new();
    for (chain, personal) in cases {
        input.push_str(chain.to_str().unwrap());
        if let Some(p) = personal {
            input.push_str("\t--personal\t");
            input.push_str(p.to_str().unwrap());
        }
        input.push('\n');
    }
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap();
    assert!(out.status.success(), "the Python driver failed");
    let verdicts: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let (code, text) = l.split_once('\t').unwrap();
            match code {
                "0" => "ok".to_owned(),
                "1" => {
                    let t = text.strip_prefix("TAMPERED: ").unwrap_or(text);
                    t.split(" (").next().unwrap().to_owned()
                }
                _ => "error".to_owned(),
            }
        })
        .collect();
    assert_eq!(verdicts.len(), cases.len(), "one verdict per case");
    verdicts
}

/// Where the frames of a chain export end: the end offset of each complete frame, the offset
/// of the trailer mark and the file length.
fn frame_ends(bytes: &[u8]) -> (Vec<usize>, usize) {
    let mut at = 8;
    let mut ends = Vec::new();
    loop {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        if len == u32::MAX {
            return (ends, at);
        }
        at += 4 + len as usize;
        ends.push(at);
    }
}

/// §6's table, as the spec words it, for a chain export cut to its first `cut` bytes.
fn expected_for_cut(ends: &[usize], trailer_at: usize, total: usize, cut: usize) -> String {
    let n = ends.len();
    if cut < 8 {
        "error".into()
    } else if cut == total {
        "ok".into()
    } else if cut >= trailer_at {
        format!("seq {n}: truncated")
    } else {
        let complete = ends.iter().filter(|&&e| e <= cut).count();
        format!("seq {complete}: truncated")
    }
}

/// Every byte offset at which a real export can end, bytes after its trailer, and frame lengths
/// out of range: `chitra`'s verifier, the independent one and `docs/chain-format.md` §6 agree on
/// each (before, a file ending inside a frame length or the trailer mark was an error in Rust and
/// `truncated` in the spec and in Python).
#[test]
fn every_ending_of_a_chain_export_has_the_finding_of_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (bytes, _) = small_export(dir.path());
    let (ends, trailer_at) = frame_ends(&bytes);
    let n = ends.len();
    assert_eq!(n, 6);
    let mut cases: Vec<(String, Vec<u8>, String)> = (0..=bytes.len())
        .map(|cut| {
            let want = expected_for_cut(&ends, trailer_at, bytes.len(), cut);
            (format!("cut at byte {cut}"), bytes[..cut].to_vec(), want)
        })
        .collect();
    let trailer = bytes[trailer_at..].to_vec();
    for garbage in [vec![0], vec![0xff; 3], vec![0xff; 4], vec![0; 40], trailer] {
        let mut b = bytes.clone();
        b.extend_from_slice(&garbage);
        let what = format!("{} bytes after the trailer", garbage.len());
        cases.push((what, b, format!("seq {n}: malformed framing")));
    }
    for (k, len) in [(0usize, 0u32), (3, 0), (5, 1_052_673), (2, u32::MAX - 1)] {
        let mut b = bytes.clone();
        let at = if k == 0 { 8 } else { ends[k - 1] };
        b[at..at + 4].copy_from_slice(&len.to_le_bytes());
        let what = format!("frame {k} with length {len}");
        cases.push((what, b, format!("seq {k}: malformed framing")));
    }
    let mut files = Vec::new();
    for (i, (what, b, want)) in cases.iter().enumerate() {
        assert_eq!(&rust_verdict(b, None), want, "chitra, {what}");
        let path = dir.path().join(format!("case-{i}.export"));
        std::fs::write(&path, b).unwrap();
        files.push((path, None));
    }
    for ((what, _, want), python) in cases.iter().zip(python_verdicts(&files)) {
        assert_eq!(&python, want, "tools/verify_export.py, {what}");
    }
}

/// Every byte offset at which a personal-data export can end: between entries it is complete
/// (fewer entries read as erased), inside an entry it is `personal data malformed` at that
/// entry's seq (or, inside its seq field, at the one after the last complete entry), as §6 says.
#[test]
fn every_ending_of_a_personal_data_export_has_the_finding_of_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let (chain, personal) = small_export(dir.path());
    let chain_path = dir.path().join("chain.export");
    std::fs::write(&chain_path, &chain).unwrap();
    let mut entries = Vec::new(); // (start, seq, end)
    let mut at = 8;
    while at < personal.len() {
        let seq = u64::from_le_bytes(personal[at..at + 8].try_into().unwrap());
        let len = u32::from_le_bytes(personal[at + 24..at + 28].try_into().unwrap()) as usize;
        entries.push((at, seq, at + 28 + len));
        at += 28 + len;
    }
    assert_eq!(entries.len(), 3);
    let expected = |cut: usize| -> String {
        if cut < 8 {
            return "error".into();
        }
        match entries
            .iter()
            .position(|&(start, _, end)| start < cut && cut < end)
        {
            None => "ok".into(),
            Some(i) if cut - entries[i].0 >= 8 => {
                format!("seq {}: personal data malformed", entries[i].1)
            }
            Some(i) => {
                let seq = if i == 0 { 0 } else { entries[i - 1].1 + 1 };
                format!("seq {seq}: personal data malformed")
            }
        }
    };
    let mut files = Vec::new();
    let mut wants = Vec::new();
    for cut in 0..=personal.len() {
        let want = expected(cut);
        assert_eq!(
            rust_verdict(&chain, Some(&personal[..cut])),
            want,
            "chitra, personal file cut at byte {cut}"
        );
        let path = dir.path().join(format!("cut-{cut}.personal"));
        std::fs::write(&path, &personal[..cut]).unwrap();
        files.push((chain_path.clone(), Some(path)));
        wants.push(want);
    }
    // An entry longer than any payload is malformed at its seq.
    let mut long = personal.clone();
    let (start, seq, _) = entries[1];
    long[start + 24..start + 28].copy_from_slice(&(1u32 << 21).to_le_bytes());
    let want = format!("seq {seq}: personal data malformed");
    assert_eq!(
        rust_verdict(&chain, Some(&long)),
        want,
        "chitra, long entry"
    );
    let path = dir.path().join("long.personal");
    std::fs::write(&path, &long).unwrap();
    files.push((chain_path.clone(), Some(path)));
    wants.push(want);
    for (i, (python, want)) in python_verdicts(&files).iter().zip(&wants).enumerate() {
        assert_eq!(python, want, "tools/verify_export.py, case {i}");
    }
}

/// §6: the record before malformed framing is judged with an unreadable successor, which
/// vouches for nothing: its own broken link is reported, not its predecessor as altered. (The
/// independent verifier judged it with no successor.)
#[test]
fn the_record_before_malformed_framing_is_judged_alike_by_both_verifiers() {
    let dir = tempfile::tempdir().unwrap();
    let records = ledger(dir.path());
    let mut r = records[..10].to_vec();
    r[9][20] ^= 0x80;
    let mut garbage_after_trailer = export_bytes(&r, true);
    garbage_after_trailer.push(0);
    let mut bad_frame_after = common::export::frames(&r);
    bad_frame_after.extend_from_slice(&0u32.to_le_bytes());
    let want = "seq 9: link broken";
    let mut files = Vec::new();
    for (i, b) in [garbage_after_trailer, bad_frame_after].iter().enumerate() {
        assert_eq!(rust_verdict(b, None), want, "chitra, case {i}");
        let path = dir.path().join(format!("framing-{i}.export"));
        std::fs::write(&path, b).unwrap();
        files.push((path, None));
    }
    for (i, python) in python_verdicts(&files).iter().enumerate() {
        assert_eq!(python, want, "tools/verify_export.py, case {i}");
    }
}
