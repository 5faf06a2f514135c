//! The Merkle tree over the chain (`docs/proofs.md`): it is RFC 6962 over the stored record
//! bytes, as Python's hashlib computes it from the spec alone; the writer keeps it as records
//! are appended and reopening continues it; its proofs verify with RFC 9162's algorithms
//! written in Python; a ledger whose stored tiles disagree with its records does not open, and
//! missing tiles are rebuilt; the spec's test vectors are what the code computes.
//!
//! Requires `python3` (standard library only); if it is missing the tests FAIL.

mod common;

use std::path::Path;
use std::process::Command;

use chitra::chain::merkle::{self, check_consistency, leaf_hash, verify_inclusion, Hash};
use chitra::ledger::tree::ProveError;
use chitra::ledger::{Config, Ledger, Offline};

/// RFC 6962 §2.1 and RFC 9162 §2.1.3.2 / §2.1.4.2 in Python, from the RFCs and nothing of
/// chitra: computes roots over the records it is given and checks every proof it is handed
/// against them. Prints `ok` or the first disagreement.
const PYTHON_RFC6962: &str = r#"
import hashlib, json, struct, sys
def leaf(d): return hashlib.sha256(b"\x00" + d).digest()
def node(l, r): return hashlib.sha256(b"\x01" + l + r).digest()
def split(n):
    k = 1
    while k * 2 < n: k *= 2
    return k
def mth(ls):
    if not ls: return hashlib.sha256(b"").digest()
    if len(ls) == 1: return ls[0]
    k = split(len(ls)); return node(mth(ls[:k]), mth(ls[k:]))
def inclusion_root(index, size, h, proof):
    fn, sn, r = index, size - 1, h
    for p in proof:
        if sn == 0: return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            while not fn & 1 and fn != 0: fn >>= 1; sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1; sn >>= 1
    return r if sn == 0 else None
def consistent(m, n, old, new, proof):
    if m == n: return not proof and old == new
    if m == 0: return not proof
    path = ([old] if m & (m - 1) == 0 else []) + proof
    if not path: return False
    fn, sn = m - 1, n - 1
    while fn & 1: fn >>= 1; sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0: return False
        if fn & 1 or fn == sn:
            fr = node(c, fr); sr = node(c, sr)
            while not fn & 1 and fn != 0: fn >>= 1; sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == old and sr == new
data = open(sys.argv[1], "rb").read()
records, at = [], 0
while at < len(data):
    (n,) = struct.unpack_from("<I", data, at); records.append(data[at + 4:at + 4 + n]); at += 4 + n
leaves = [leaf(r) for r in records]
checks = json.load(open(sys.argv[2]))
x = bytes.fromhex
for size, root in checks["roots"]:
    if mth(leaves[:size]).hex() != root: sys.exit(f"root of {size} differs")
for index, size, proof, root in checks["inclusion"]:
    if x(root) != mth(leaves[:size]): sys.exit(f"inclusion {index}/{size}: not the root")
    if inclusion_root(index, size, leaves[index], [x(p) for p in proof]) != x(root):
        sys.exit(f"inclusion {index}/{size} does not verify")
for m, n, proof in checks["consistency"]:
    if not consistent(m, n, mth(leaves[:m]), mth(leaves[:n]), [x(p) for p in proof]):
        sys.exit(f"consistency {m}->{n} does not verify")
print("ok")
"#;

fn hex(h: &Hash) -> String {
    chitra::chain::hex(h)
}

fn hexes(hs: &[Hash]) -> Vec<String> {
    hs.iter().map(hex).collect()
}

/// Runs the Python checker over `records` with `checks` (JSON); fails the test on any
/// disagreement, or when python3 is missing.
fn python_agrees(dir: &Path, records: &[Vec<u8>], checks: serde_json::Value) {
    let mut framed = Vec::new();
    for r in records {
        framed.extend_from_slice(&(r.len() as u32).to_le_bytes());
        framed.extend_from_slice(r);
    }
    let (recs, json, script) = (
        dir.join("records.bin"),
        dir.join("checks.json"),
        dir.join("rfc6962.py"),
    );
    std::fs::write(&recs, framed).unwrap();
    std::fs::write(&json, checks.to_string()).unwrap();
    std::fs::write(&script, PYTHON_RFC6962).unwrap();
    let out = Command::new("python3")
        .arg(&script)
        .arg(&recs)
        .arg(&json)
        .output()
        .expect("python3 runs (the tests of the proofs need it)");
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "the RFC 6962 reference disagrees: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every stored record of a running ledger, in order.
fn records_of(l: &Ledger) -> Vec<Vec<u8>> {
    l.records(0, u64::MAX).map(|r| r.unwrap().bytes).collect()
}

/// Sizes around the tile and subtree boundaries, up to `n`.
fn interesting_sizes(n: u64) -> Vec<u64> {
    let mut s: Vec<u64> = [
        1,
        2,
        3,
        7,
        8,
        9,
        255,
        256,
        257,
        300,
        511,
        512,
        513,
        n - 1,
        n,
    ]
    .into_iter()
    .filter(|&s| s >= 1 && s <= n)
    .collect();
    s.dedup();
    s
}

#[test]
fn the_tree_is_rfc_6962_over_the_stored_records_and_reopening_continues_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    let first = {
        let l = common::open(&db);
        common::enrol(&l, 0, 150);
        let (size, root) = l.tree().root(None).unwrap();
        assert_eq!(size, 300);
        let records = records_of(&l);
        let leaves: Vec<Hash> = records.iter().map(|r| leaf_hash(r)).collect();
        // A whole tile (256 leaves) and a partial one: the root read from the stored tiles
        // is the root of the leaves, and the Python reference agrees.
        assert_eq!(
            root,
            merkle::MemoryTiles::of_leaves(&leaves)
                .root_of(300)
                .unwrap()
        );
        (size, root)
    };
    // Reopened, the tree is the same, and appending continues it past a second tile and into
    // the second tile level (two level-0 tiles make one level-1 tile of 2 hashes).
    let l = common::open(&db);
    assert_eq!(l.tree().root(None).unwrap(), first);
    common::enrol(&l, 150, 160);
    let n = common::records(&l);
    assert_eq!(n, 620);
    let records = records_of(&l);
    let mut roots = Vec::new();
    let mut inclusion = Vec::new();
    let mut consistency = Vec::new();
    for size in interesting_sizes(n) {
        let (s, root) = l.tree().root(Some(size)).unwrap();
        assert_eq!(s, size);
        roots.push(serde_json::json!([size, hex(&root)]));
        for index in [0, size / 2, size - 1] {
            let p = l.tree().inclusion(index, Some(size)).unwrap();
            assert_eq!(
                (p.index, p.size, &p.record),
                (index, size, &records[index as usize])
            );
            assert_eq!(p.root, root);
            assert!(verify_inclusion(
                index,
                size,
                &leaf_hash(&p.record),
                &p.hashes,
                &root
            ));
            inclusion.push(serde_json::json!([
                index,
                size,
                hexes(&p.hashes),
                hex(&root)
            ]));
        }
        for old in [1, size / 3, size - 1] {
            let old = old.max(1);
            let c = l.tree().consistency(old, Some(size)).unwrap();
            assert_eq!(c.new_root, root);
            assert_eq!(
                check_consistency(old, size, &c.old_root, &c.new_root, &c.hashes),
                Ok(())
            );
            consistency.push(serde_json::json!([old, size, hexes(&c.hashes)]));
        }
    }
    // The kept root of 300 records is consistent with the tree now.
    let c = l.tree().consistency(300, None).unwrap();
    assert_eq!((c.old, c.old_root), first);
    assert_eq!(
        check_consistency(300, n, &first.1, &c.new_root, &c.hashes),
        Ok(())
    );
    python_agrees(
        dir.path(),
        &records,
        serde_json::json!({"roots": roots, "inclusion": inclusion, "consistency": consistency}),
    );
    // The same proofs from the data directory read without the writer.
    drop(l);
    let off = Offline::open(&db).unwrap();
    assert_eq!(off.tree().unwrap().root(Some(300)).unwrap(), first);
    let p = off.tree().unwrap().inclusion(299, None).unwrap();
    assert_eq!((p.size, &p.record), (n, &records[299]));
    assert!(verify_inclusion(
        299,
        n,
        &leaf_hash(&p.record),
        &p.hashes,
        &p.root
    ));
}

/// The reason a proof was refused as out of range; anything else fails the test.
fn refused<T: std::fmt::Debug>(r: Result<T, ProveError>) -> String {
    match r {
        Err(ProveError::OutOfRange(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn proofs_that_do_not_exist_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(dir.path());
    common::enrol(&l, 0, 3);
    assert!(refused(l.tree().inclusion(6, None)).contains("no record 6"));
    assert!(refused(l.tree().inclusion(0, Some(7))).contains("6 durable records"));
    assert!(refused(l.tree().inclusion(4, Some(3))).contains("no record 4"));
    assert!(refused(l.tree().consistency(5, Some(4))).contains("cannot be a prefix"));
    assert!(refused(l.tree().consistency(1, Some(9))).contains("6 durable records"));
    assert!(refused(l.tree().root(Some(7))).contains("6 durable records"));
    // The empty tree's root is SHA-256 of nothing; a consistency proof between equal sizes is
    // empty.
    assert_eq!(l.tree().root(Some(0)).unwrap().1, merkle::empty_root());
    assert!(l.tree().consistency(6, None).unwrap().hashes.is_empty());
}

/// The raw sled tree of a closed ledger, to play the attacker on its tiles.
fn tiles_of(dir: &Path) -> (sled::Db, sled::Tree) {
    let db = common::raw_open(dir);
    let tree = db.open_tree("log").unwrap();
    (db, tree)
}

fn tile_key(level: u8, index: u64) -> Vec<u8> {
    let mut k = vec![b't', level];
    k.extend_from_slice(&index.to_be_bytes());
    k
}

fn open_error(dir: &Path) -> String {
    match Ledger::open(Config::new(dir)) {
        Ok(_) => panic!("a ledger whose tree disagrees with its records opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_ledger_whose_tiles_disagree_with_its_records_does_not_open() {
    for (level, index, hash_at, leaf) in [(0u8, 0u64, 17usize, 17u64), (0, 1, 3, 259), (1, 0, 0, 0)]
    {
        let dir = tempfile::tempdir().unwrap();
        {
            let l = common::open(dir.path());
            common::enrol(&l, 0, 260);
        }
        {
            let (db, log) = tiles_of(dir.path());
            let key = tile_key(level, index);
            let mut tile = log.get(&key).unwrap().expect("the tile is stored").to_vec();
            tile[hash_at * 32 + 5] ^= 0x40;
            log.insert(key, tile).unwrap();
            db.flush().unwrap();
        }
        let e = open_error(dir.path());
        assert!(
            e.contains(&format!("tile {level}/{index}"))
                && e.contains("does not match the records"),
            "{e}"
        );
        assert!(
            e.contains(&format!("leaf {leaf} ")),
            "names the first leaf it covers: {e}"
        );
    }
}

#[test]
fn missing_tiles_are_rebuilt_from_the_records_when_the_ledger_opens() {
    let dir = tempfile::tempdir().unwrap();
    let root = {
        let l = common::open(dir.path());
        common::enrol(&l, 0, 140);
        l.tree().root(None).unwrap()
    };
    {
        let (db, log) = tiles_of(dir.path());
        let keys: Vec<_> = log.scan_prefix([b't']).keys().map(|k| k.unwrap()).collect();
        assert_eq!(
            keys.len(),
            3,
            "two level-0 tiles (one partial) and one level-1 tile"
        );
        for k in keys {
            log.remove(k).unwrap();
        }
        db.flush().unwrap();
    }
    // Without the writer nothing is rebuilt: a proof says what is missing.
    match Offline::open(dir.path())
        .unwrap()
        .tree()
        .unwrap()
        .inclusion(3, None)
    {
        Err(ProveError::Store(e)) => assert!(e.to_string().contains("reopen"), "{e}"),
        other => panic!("a proof without tiles: {other:?}"),
    }
    let l = common::open(dir.path());
    assert_eq!(l.tree().root(None).unwrap(), root);
    let p = l.tree().inclusion(270, None).unwrap();
    assert!(verify_inclusion(
        270,
        280,
        &leaf_hash(&p.record),
        &p.hashes,
        &root.1
    ));
}

/// The test vectors of `docs/proofs.md` §5, read from the document: what the code computes
/// is what the spec says (the spec's values were computed with Python's hashlib).
#[test]
fn the_spec_test_vectors_are_what_the_code_computes() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/proofs.md")).unwrap();
    let vector = |name: &str| -> Vec<String> {
        let line = doc
            .lines()
            .find(|l| l.trim_start().starts_with(&format!("{name}:")))
            .unwrap_or_else(|| panic!("docs/proofs.md has no vector `{name}`"));
        line.split_once(':')
            .unwrap()
            .1
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    let x = |s: &str| -> Hash {
        let b: Vec<u8> = (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        b.try_into().unwrap()
    };
    let inputs: Vec<Vec<u8>> = vector("leaves")
        .iter()
        .map(|s| match s.as_str() {
            "(empty)" => Vec::new(),
            s => (0..s.len() / 2)
                .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
                .collect(),
        })
        .collect();
    let leaves: Vec<Hash> = inputs.iter().map(|d| leaf_hash(d)).collect();
    let tiles = merkle::MemoryTiles::of_leaves(&leaves);
    for size in 0..=8u64 {
        assert_eq!(
            tiles.root_of(size).unwrap(),
            x(&vector(&format!("root {size}"))[0]),
            "root {size}"
        );
    }
    let mut prover = merkle::Prover::new(tiles);
    let want = |name: &str| vector(name).iter().map(|s| x(s)).collect::<Vec<_>>();
    assert_eq!(prover.inclusion(2, 8).unwrap(), want("inclusion 2 8"));
    assert_eq!(prover.inclusion(6, 7).unwrap(), want("inclusion 6 7"));
    assert_eq!(prover.consistency(3, 8).unwrap(), want("consistency 3 8"));
    assert_eq!(prover.consistency(4, 7).unwrap(), want("consistency 4 7"));

    // The golden chain (`ledger-data/golden/v1/chain.export`): its tree over its 15 records.
    let golden = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ledger-data/golden/v1/chain.export"
    ))
    .unwrap();
    let leaves: Vec<Hash> = common::export::records(&golden)
        .iter()
        .map(|r| leaf_hash(r))
        .collect();
    assert_eq!(leaves.len(), 15);
    assert_eq!(leaves[0], x(&vector("golden leaf 0")[0]));
    let mut prover = merkle::Prover::new(merkle::MemoryTiles::of_leaves(&leaves));
    assert_eq!(prover.root(15).unwrap(), x(&vector("golden root 15")[0]));
    assert_eq!(
        prover.inclusion(0, 15).unwrap(),
        want("golden inclusion 0 15")
    );
}

fn b64(h: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(h)
}

/// The hashes of a proof's lines, one base64 hash each.
fn unb64<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<Hash> {
    use base64::Engine as _;
    lines
        .map(|l| {
            let b = base64::engine::general_purpose::STANDARD.decode(l).unwrap();
            b.try_into().unwrap()
        })
        .collect()
}

#[test]
fn chitra_proof_prints_tlog_proofs_that_verify() {
    use common::bin::{chitra, stderr, stdout};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ledger-a");
    let (records, root5, root12) = {
        let l = common::open(&db);
        common::enrol(&l, 0, 6);
        (
            records_of(&l),
            l.tree().root(Some(5)).unwrap().1,
            l.tree().root(None).unwrap().1,
        )
    };
    let record_file = dir.path().join("record.bin");
    let out = chitra(
        &db,
        &[
            "proof",
            "inclusion",
            "3",
            "--size",
            "5",
            "--record",
            record_file.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (proof, checkpoint) = text
        .split_once("\n\n")
        .expect("an empty line before the checkpoint");
    let mut lines = proof.lines();
    assert_eq!(lines.next(), Some("c2sp.org/tlog-proof@v1"));
    assert_eq!(lines.next(), Some("index 3"));
    let hashes = unb64(lines);
    assert_eq!(
        checkpoint,
        format!("chitra.example/ledger-a\n5\n{}\n", b64(&root5)),
        "the checkpoint body names the ledger, the size and the root"
    );
    let record = std::fs::read(&record_file).unwrap();
    assert_eq!(record, records[3]);
    assert!(verify_inclusion(3, 5, &leaf_hash(&record), &hashes, &root5));

    let out = chitra(&db, &["proof", "consistency", "5"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("c2sp.org/chitra-consistency@v1"));
    assert_eq!(lines.next().unwrap(), format!("old 5 {}", b64(&root5)));
    assert_eq!(lines.next().unwrap(), format!("new 12 {}", b64(&root12)));
    let hashes = unb64(lines);
    assert_eq!(check_consistency(5, 12, &root5, &root12, &hashes), Ok(()));

    // A record beyond the chain: a clear refusal, nothing printed on stdout.
    let out = chitra(&db, &["proof", "inclusion", "12"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no record 12 in a tree of 12 records"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}

#[test]
fn chitra_proof_proves_a_payment_by_its_id() {
    use chitra::domain::event::{BatchKind, Event};
    use chitra::domain::types::Programme;
    use chitra::domain::Command;
    use common::bin::{chitra, stderr, stdout};
    let dir = tempfile::tempdir().unwrap();
    let (seq, size, root) = {
        let l = common::open(dir.path());
        common::enact(&l, common::fixtures::BEFORE_JULY_2024);
        for i in 0..2 {
            let enrol = Command::Enrol(common::fixtures::synthetic(1, i));
            common::submit(&l, "officer:lan", enrol).unwrap();
        }
        common::pay_month(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
        let seq = l
            .find_event(
                0,
                u64::MAX,
                |e| matches!(e, Event::PaymentScheduled(p) if p.payment.to_string() == "P2"),
            )
            .unwrap()
            .expect("payment P2 was scheduled")
            .seq;
        let (size, root) = l.tree().root(None).unwrap();
        (seq, size, root)
    };
    let out = chitra(dir.path(), &["proof", "inclusion", "--payment", "P2"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let (proof, checkpoint) = text.split_once("\n\n").unwrap();
    let mut lines = proof.lines().skip(1);
    assert_eq!(lines.next().unwrap(), format!("index {seq}"));
    assert!(checkpoint.ends_with(&format!("\n{size}\n{}\n", b64(&root))));
    let record = Offline::open(dir.path())
        .unwrap()
        .tree()
        .unwrap()
        .inclusion(seq, None)
        .unwrap()
        .record;
    assert!(verify_inclusion(
        seq,
        size,
        &leaf_hash(&record),
        &unb64(lines),
        &root
    ));
    let out = chitra(dir.path(), &["proof", "inclusion", "--payment", "P9"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("no payment P9"), "{}", stderr(&out));
}
