//! Runs the independent verifier `tools/verify_export.py` (written from `docs/chain-format.md`
//! alone) on the golden export and on tampered copies of it, made by editing bytes according to
//! the spec's framing (§3.2 chain export, §3.3 personal-data export, §1 record layout).
//!
//! Uses nothing from the chitra crate: if the spec and the golden vectors agree with an
//! implementation written from the spec, the spec is sufficient.
//!
//! Requires `python3` with the `blake3` package. If either is missing the tests FAIL; they never
//! pass silently.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHAIN_MAGIC: &[u8] = b"CHITRAX1";
const PERSONAL_MAGIC: &[u8] = b"CHITRAP1";
const TRAILER_MARK: u32 = 0xFFFF_FFFF;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn golden(name: &str) -> PathBuf {
    root().join("ledger-data/golden/v1").join(name)
}

/// Panics (fails the test) with a clear message if python3 or its blake3 module is missing.
fn require_python() {
    match Command::new("python3")
        .args(["-c", "import blake3"])
        .output()
    {
        Err(e) => panic!(
            "python3 is required to run the independent verifier but could not be started: {e}. \
             Install Python 3.11+ and `pip install blake3`."
        ),
        Ok(out) if !out.status.success() => panic!(
            "the Python module `blake3` is required (`pip install blake3`); `python3 -c 'import \
             blake3'` failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Ok(_) => {}
    }
}

/// Runs the verifier; returns (exit code, stdout, stderr).
fn verify(args: &[&str]) -> (i32, String, String) {
    require_python();
    let out = Command::new("python3")
        .arg(root().join("tools/verify_export.py"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run python3 tools/verify_export.py");
    let code = out.status.code().expect("verifier was killed by a signal");
    (
        code,
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `hashes.txt`: one `seq hash` line per record.
fn golden_hashes() -> Vec<(u64, String)> {
    fs::read_to_string(golden("hashes.txt"))
        .unwrap()
        .lines()
        .map(|l| {
            let (seq, hash) = l.split_once(' ').expect("`seq hash` line");
            (seq.parse().unwrap(), hash.to_string())
        })
        .collect()
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

/// A chain export split by its framing (§3.2).
#[derive(Clone)]
struct Export {
    records: Vec<Vec<u8>>,
    /// u64 record count ‖ 32-byte head hash.
    trailer: Vec<u8>,
}

impl Export {
    fn golden() -> Export {
        let bytes = fs::read(golden("chain.export")).unwrap();
        assert_eq!(&bytes[..8], CHAIN_MAGIC);
        let mut at = 8;
        let mut records = Vec::new();
        loop {
            let len = u32_at(&bytes, at);
            at += 4;
            if len == TRAILER_MARK {
                break;
            }
            records.push(bytes[at..at + len as usize].to_vec());
            at += len as usize;
        }
        let trailer = bytes[at..].to_vec();
        assert_eq!(trailer.len(), 40, "trailer is u64 count + 32-byte hash");
        Export { records, trailer }
    }

    fn bytes(&self) -> Vec<u8> {
        let mut out = CHAIN_MAGIC.to_vec();
        for r in &self.records {
            out.extend_from_slice(&(r.len() as u32).to_le_bytes());
            out.extend_from_slice(r);
        }
        out.extend_from_slice(&TRAILER_MARK.to_le_bytes());
        out.extend_from_slice(&self.trailer);
        out
    }

    fn middle(&self) -> usize {
        self.records.len() / 2
    }
}

/// Where a record's payload lies (§1): after the fixed part, principal, optional key and
/// request digest, optional commitment, and the u32 payload length.
fn payload_range(rec: &[u8]) -> std::ops::Range<usize> {
    let flags = rec[1];
    let mut at = 53 + rec[52] as usize;
    if flags & 1 != 0 {
        at += 1 + rec[at] as usize + 32;
    }
    if flags & 2 != 0 {
        at += 32;
    }
    let len = u32_at(rec, at) as usize;
    at += 4;
    assert_eq!(at + len, rec.len(), "payload ends the record");
    at..at + len
}

fn set_seq(rec: &mut [u8], seq: u64) {
    rec[4..12].copy_from_slice(&seq.to_le_bytes());
}

/// One personal-data entry (§3.3).
#[derive(Clone)]
struct Entry {
    seq: u64,
    salt: Vec<u8>,
    bytes: Vec<u8>,
}

fn golden_personal() -> Vec<Entry> {
    let b = fs::read(golden("chain.export.personal")).unwrap();
    assert_eq!(&b[..8], PERSONAL_MAGIC);
    let mut at = 8;
    let mut entries = Vec::new();
    while at < b.len() {
        let seq = u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
        let salt = b[at + 8..at + 24].to_vec();
        let len = u32_at(&b, at + 24) as usize;
        entries.push(Entry {
            seq,
            salt,
            bytes: b[at + 28..at + 28 + len].to_vec(),
        });
        at += 28 + len;
    }
    entries
}

fn personal_bytes(entries: &[Entry]) -> Vec<u8> {
    let mut out = PERSONAL_MAGIC.to_vec();
    for e in entries {
        out.extend_from_slice(&e.seq.to_le_bytes());
        out.extend_from_slice(&e.salt);
        out.extend_from_slice(&(e.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.bytes);
    }
    out
}

/// Writes the files to a temp dir, runs the verifier and asserts `TAMPERED: seq S: <kind>`
/// with exit status 1.
fn assert_tampered(chain: &[u8], personal: Option<&[u8]>, extra: &[&str], seq: u64, kind: &str) {
    let dir = tempfile::tempdir().unwrap();
    let chain_path = dir.path().join("chain.export");
    fs::write(&chain_path, chain).unwrap();
    let personal_path = dir.path().join("chain.export.personal");
    let mut args = vec![path_str(&chain_path).to_string()];
    if let Some(p) = personal {
        fs::write(&personal_path, p).unwrap();
        args.push("--personal".into());
        args.push(path_str(&personal_path).to_string());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = verify(&args);
    assert_eq!(
        code, 1,
        "expected exit 1 (tampered); stdout: {stdout} stderr: {stderr}"
    );
    let line = stdout.lines().last().unwrap_or_default();
    let want = format!("TAMPERED: seq {seq}: {kind}");
    // The verifier may append " (detail)" after the kind.
    assert!(
        line == want || line.starts_with(&format!("{want} (")),
        "expected `{want}`, verifier said `{line}` (stderr: {stderr})"
    );
}

fn assert_chain_tampered(export: &Export, seq: u64, kind: &str) {
    assert_tampered(&export.bytes(), None, &[], seq, kind);
}

// ---- the golden export verifies ------------------------------------------------------------

#[test]
fn golden_export_verifies_against_hashes_txt_head() {
    let (last_seq, last_hash) = golden_hashes().last().cloned().unwrap();
    let chain = golden("chain.export");
    let ok = format!("OK: {} records, head {last_seq} {last_hash}", last_seq + 1);
    for expect in [format!("{last_seq}:{last_hash}"), last_hash.clone()] {
        let (code, stdout, stderr) = verify(&[path_str(&chain), "--expect-head", &expect]);
        assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
        assert_eq!(stdout.trim(), ok);
    }
}

#[test]
fn golden_export_verifies_with_personal_data() {
    let (last_seq, last_hash) = golden_hashes().last().cloned().unwrap();
    let (code, stdout, stderr) = verify(&[
        path_str(&golden("chain.export")),
        "--personal",
        path_str(&golden("chain.export.personal")),
        "--expect-head",
        &format!("{last_seq}:{last_hash}"),
    ]);
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next().unwrap(),
        format!("OK: {} records, head {last_seq} {last_hash}", last_seq + 1)
    );
    let entries = golden_personal().len();
    assert_eq!(
        lines.next().unwrap(),
        format!("personal data: {entries} entries match their commitments")
    );
}

#[test]
fn golden_export_json_output() {
    let (last_seq, last_hash) = golden_hashes().last().cloned().unwrap();
    let (code, stdout, _) = verify(&[path_str(&golden("chain.export")), "--json"]);
    assert_eq!(code, 0);
    let json = stdout.trim();
    assert!(json.starts_with('{') && json.ends_with('}'), "{json}");
    assert!(json.contains(r#""result": "ok""#), "{json}");
    assert!(
        json.contains(&format!(
            r#""head": {{"seq": {last_seq}, "hash": "{last_hash}"}}"#
        )),
        "{json}"
    );
}

/// Cross-check: the hash the verifier computes for every record equals `hashes.txt`.
#[test]
fn every_computed_hash_equals_hashes_txt() {
    let (code, stdout, stderr) = verify(&[path_str(&golden("chain.export")), "--hashes"]);
    assert_eq!(code, 0, "stderr: {stderr}");
    let expected = golden_hashes();
    let computed: Vec<&str> = stdout.lines().filter(|l| !l.starts_with("OK:")).collect();
    assert_eq!(computed.len(), Export::golden().records.len());
    assert_eq!(computed.len(), expected.len());
    for (line, (seq, hash)) in computed.iter().zip(&expected) {
        assert_eq!(*line, format!("{seq} {hash}"));
    }
}

// ---- tampered chain exports ---------------------------------------------------------------

#[test]
fn payload_byte_changed_in_middle_record_is_content_altered() {
    let mut e = Export::golden();
    let m = e.middle();
    let r = payload_range(&e.records[m]);
    assert!(!r.is_empty());
    e.records[m][r.start + r.len() / 2] ^= 0x01;
    assert_chain_tampered(&e, m as u64, "content altered");
}

#[test]
fn payload_byte_changed_in_last_record_is_caught_by_the_trailer() {
    let mut e = Export::golden();
    let last = e.records.len() - 1;
    let r = payload_range(&e.records[last]);
    e.records[last][r.start] ^= 0x01;
    assert_chain_tampered(&e, last as u64, "content altered");
}

#[test]
fn removed_record_is_missing() {
    let mut e = Export::golden();
    let m = e.middle();
    e.records.remove(m);
    assert_chain_tampered(&e, m as u64, "missing");
}

#[test]
fn duplicated_record_is_duplicate() {
    let mut e = Export::golden();
    let m = e.middle();
    let copy = e.records[m].clone();
    e.records.insert(m + 1, copy);
    // §6 step 2: reported at the sequence number that appears twice.
    assert_chain_tampered(&e, m as u64, "duplicate");
}

/// §6 step 3: a forged record slipped in before record m (same seq and prev_hash as m), with
/// the original m renumbered to m + 1, is reported as "inserted" at the forged position.
#[test]
fn forged_record_inserted_with_renumbering_is_inserted() {
    let mut e = Export::golden();
    let m = e.middle();
    let mut forged = e.records[m].clone();
    let r = payload_range(&forged);
    forged[r.start] ^= 0x01;
    set_seq(&mut e.records[m], m as u64 + 1);
    e.records.insert(m, forged);
    assert_chain_tampered(&e, m as u64, "inserted");
}

#[test]
fn swapped_records_are_out_of_order() {
    let mut e = Export::golden();
    let m = e.middle();
    e.records.swap(m, m + 1);
    assert_chain_tampered(&e, m as u64, "out of order");
}

#[test]
fn truncated_tail_with_trailer_kept_is_truncated() {
    let mut e = Export::golden();
    let keep = e.records.len() - 3;
    e.records.truncate(keep);
    assert_chain_tampered(&e, keep as u64, "truncated");
}

#[test]
fn trailer_count_lowered_is_beyond_anchor() {
    let mut e = Export::golden();
    let n = e.records.len() as u64;
    e.trailer[..8].copy_from_slice(&(n - 2).to_le_bytes());
    assert_chain_tampered(&e, n - 2, "beyond the anchor");
}

/// §6 step 5: an older trusted head is consistent with a chain that grew since.
#[test]
fn an_older_trusted_head_is_accepted() {
    let hashes = golden_hashes();
    let (seq, hash) = &hashes[hashes.len() - 3];
    let chain = golden("chain.export");
    let (code, stdout, stderr) =
        verify(&[path_str(&chain), "--expect-head", &format!("{seq}:{hash}")]);
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
}

/// §6: a history rewritten consistently (an altered record, every later link and the trailer
/// recomputed) verifies on its own; only a head kept elsewhere reveals it.
#[test]
fn a_consistently_rewritten_history_is_caught_only_by_a_trusted_head() {
    let mut e = Export::golden();
    let m = e.middle();
    let r = payload_range(&e.records[m]);
    e.records[m][r.start] ^= 0x01;
    for i in m + 1..e.records.len() {
        let prev = record_hash(&e.records[i - 1]);
        e.records[i][12..44].copy_from_slice(&prev);
    }
    let head = record_hash(e.records.last().unwrap());
    e.trailer[8..].copy_from_slice(&head);
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("rewritten.export");
    fs::write(&chain, e.bytes()).unwrap();
    let (code, stdout, _) = verify(&[path_str(&chain)]);
    assert_eq!(
        code, 0,
        "a consistent rewrite verifies without an outside anchor: {stdout}"
    );
    let hashes = golden_hashes();
    let (seq, hash) = hashes.last().unwrap();
    assert_tampered(
        &e.bytes(),
        None,
        &["--expect-head", &format!("{seq}:{hash}")],
        *seq,
        "differs from the trusted head",
    );
}

/// §2: blake3 in derive-key mode over the record's bytes.
fn record_hash(record: &[u8]) -> [u8; 32] {
    blake3::Hasher::new_derive_key("chitra 2026-11-22 chain record v1")
        .update(record)
        .finalize()
        .into()
}

#[test]
fn prev_hash_byte_changed_is_link_broken() {
    let mut e = Export::golden();
    let m = e.middle();
    e.records[m][12 + 5] ^= 0x01;
    assert_chain_tampered(&e, m as u64, "link broken");
}

#[test]
fn genesis_prev_hash_not_zero_is_link_broken_at_0() {
    let mut e = Export::golden();
    e.records[0][12] = 0x01;
    assert_chain_tampered(&e, 0, "link broken");
}

#[test]
fn wrong_format_byte_is_malformed() {
    let mut e = Export::golden();
    let m = e.middle();
    e.records[m][0] = 0x02;
    assert_chain_tampered(&e, m as u64, "malformed record");
}

// ---- tampered personal-data exports ---------------------------------------------------------

#[test]
fn personal_entry_byte_changed_does_not_match_its_commitment() {
    let mut entries = golden_personal();
    let last = entries[0].bytes.len() - 1;
    entries[0].bytes[last] ^= 0x01;
    let seq = entries[0].seq;
    let chain = fs::read(golden("chain.export")).unwrap();
    assert_tampered(
        &chain,
        Some(&personal_bytes(&entries)),
        &[],
        seq,
        "personal data mismatch",
    );
}

#[test]
fn personal_entry_for_record_without_commitment_is_an_error() {
    // Record 0 is a rate-schedule enactment (flags 0x01): no commitment (§7).
    let mut entries = golden_personal();
    entries[0].seq = 0;
    let chain = fs::read(golden("chain.export")).unwrap();
    assert_tampered(
        &chain,
        Some(&personal_bytes(&entries)),
        &[],
        0,
        "personal data without commitment",
    );
}

#[test]
fn erased_personal_entry_is_allowed() {
    let mut entries = golden_personal();
    entries.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p");
    fs::write(&p, personal_bytes(&entries)).unwrap();
    let (code, stdout, stderr) = verify(&[
        path_str(&golden("chain.export")),
        "--personal",
        path_str(&p),
    ]);
    assert_eq!(code, 0, "stdout: {stdout} stderr: {stderr}");
}
