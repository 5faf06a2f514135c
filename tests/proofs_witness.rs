//! Witnesses (`docs/proofs.md` §7): `chitra witness init|cosign` cosigns a ledger's checkpoint
//! (C2SP tlog-cosignature/v1) only when the ledger's key signed it and it extends what the
//! witness cosigned before; it refuses an older one, one without or with a bad consistency
//! proof, and a split view (another tree of the same size, signed by the same key), for which it
//! writes evidence. `chitra verify --checkpoint` writes the same evidence against a kept one.

mod common;

use std::path::Path;

use chitra::chain::cosign::{verify_cosignature, CosignerKey};
use chitra::chain::merkle::TreeBuilder;
use chitra::chain::note::{self, Checkpoint, VerifierKey};
use chitra::chain::record::record_hash;
use common::bin::{chitra, chitra_ok as ok, stdout};

const LEDGER: &str = "treasury.example/chitra-01";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `chitra witness cosign`: exit code and stdout.
fn cosign(db: &Path, state: &Path, key: &str, cp: &Path, more: &[&str]) -> (i32, String) {
    let mut args = vec![
        "witness",
        "cosign",
        "--state",
        s(state),
        "--ledger-key",
        key,
        "--checkpoint",
        s(cp),
    ];
    args.extend(more);
    let out = chitra(db, &args);
    (out.status.code().unwrap(), stdout(&out))
}

/// The records with record 3 altered and every later link redone: another history, consistent
/// on its own.
fn forged(records: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut forged = records.to_vec();
    let at = common::payload_range(&forged[3]).start + 1;
    forged[3][at] ^= 0x01;
    for i in 4..forged.len() {
        let prev = record_hash(&forged[i - 1]);
        forged[i][12..44].copy_from_slice(&prev);
    }
    forged
}

fn root_of(records: &[Vec<u8>]) -> [u8; 32] {
    let mut t = TreeBuilder::new();
    for r in records {
        t.push_record(r);
    }
    t.root()
}

/// The two notes of an evidence file, each checked to be a checkpoint signed by `key`.
fn evidence_notes(text: &str, key: &VerifierKey) -> (Checkpoint, Checkpoint) {
    let (_, rest) = text.split_once("--- first checkpoint ---\n").unwrap();
    let (first, second) = rest.split_once("--- second checkpoint ---\n").unwrap();
    let parse =
        |n: &str| Checkpoint::parse(note::open(n, key).expect("signed by the ledger")).unwrap();
    (parse(first), parse(second))
}

/// A ledger of `persons` enrolments (two records each) in `dir/db`, then its key; the data
/// directory and the verifier key.
fn ledger_with_key(dir: &Path, persons: u64) -> (std::path::PathBuf, String) {
    let db = dir.join("db");
    {
        let l = common::open(&db);
        common::enrol(&l, 0, persons);
    }
    let vkey = ok(&db, &["key", "init", "--name", LEDGER])
        .trim()
        .to_owned();
    (db, vkey)
}

#[test]
fn a_witness_cosigns_only_what_extends_what_it_cosigned_and_keeps_evidence_of_a_split_view() {
    let dir = tempfile::tempdir().unwrap();
    let (db, vkey) = ledger_with_key(dir.path(), 5);
    let ledger_key = VerifierKey::parse(&vkey).unwrap();
    let state = dir.path().join("witness.json");
    let wkey = ok(
        &db,
        &[
            "witness",
            "init",
            "--state",
            s(&state),
            "--name",
            "kbnn.example/w1",
        ],
    );
    let wkey = CosignerKey::parse(wkey.trim()).unwrap();
    assert_eq!(
        ok(&db, &["witness", "show", "--state", s(&state)]).trim(),
        wkey.to_string()
    );
    assert!(!chitra(
        &db,
        &[
            "witness",
            "init",
            "--state",
            s(&state),
            "--name",
            "x.example/w"
        ]
    )
    .status
    .success());

    // The first checkpoint (10 records) is cosigned as it is.
    let c10 = dir.path().join("c10");
    std::fs::write(&c10, ok(&db, &["proof", "checkpoint"])).unwrap();
    let (code, cosigned) = cosign(&db, &state, &vkey, &c10, &[]);
    assert_eq!(code, 0, "{cosigned}");
    assert!(verify_cosignature(&cosigned, &wkey).is_ok());
    assert_eq!(
        Checkpoint::parse(note::open(&cosigned, &ledger_key).unwrap())
            .unwrap()
            .size,
        10
    );

    // The ledger grows to 20 records.
    {
        let l = common::open(&db);
        common::enrol(&l, 5, 5);
    }
    let c20 = dir.path().join("c20");
    std::fs::write(&c20, ok(&db, &["proof", "checkpoint"])).unwrap();
    let (code, out) = cosign(&db, &state, &vkey, &c20, &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("REFUSED: a consistency proof from 10 records is needed"),
        "{out}"
    );
    let proof = dir.path().join("p10-20");
    let proof_text = ok(&db, &["proof", "consistency", "10", "20"]);
    // A hash of the proof altered: the tree does not extend the cosigned one.
    let last = proof_text.lines().last().unwrap();
    let altered_hash = {
        use base64::Engine as _;
        let e = base64::engine::general_purpose::STANDARD;
        let mut h = e.decode(last).unwrap();
        h[0] ^= 1;
        e.encode(h)
    };
    std::fs::write(&proof, proof_text.replace(last, &altered_hash)).unwrap();
    let (code, out) = cosign(&db, &state, &vkey, &c20, &["--proof", s(&proof)]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "REFUSED: the checkpoint of 20 records does not extend the one of 10 records this \
             witness cosigned"
        ),
        "{out}"
    );
    std::fs::write(&proof, ok(&db, &["proof", "consistency", "5", "20"])).unwrap();
    let (code, out) = cosign(&db, &state, &vkey, &c20, &["--proof", s(&proof)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("is from 5 to 20 records, not from 10 to 20"),
        "{out}"
    );
    // Another ledger key: refused.
    let stranger = chitra::chain::note::NoteSigner::new(LEDGER, &[4; 32])
        .unwrap()
        .verifier()
        .to_string();
    let (code, out) = cosign(&db, &state, &stranger, &c20, &["--proof", s(&proof)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("REFUSED: the checkpoint: the note carries no signature"),
        "{out}"
    );

    std::fs::write(&proof, &proof_text).unwrap();
    let out_file = dir.path().join("c20.cosigned");
    let (code, out) = cosign(
        &db,
        &state,
        &vkey,
        &c20,
        &["--proof", s(&proof), "--out", s(&out_file)],
    );
    assert_eq!(code, 0, "{out}");
    let cosigned = std::fs::read_to_string(&out_file).unwrap();
    assert!(verify_cosignature(&cosigned, &wkey).is_ok());
    assert!(note::open(&cosigned, &ledger_key).is_ok());

    // Back to the older checkpoint: refused.
    let (code, out) = cosign(&db, &state, &vkey, &c10, &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains("the checkpoint of 10 records is older than the one of 20 records"),
        "{out}"
    );

    // The ledger's key signs another tree of 20 records (a history shown to someone else).
    let records = common::raw_records(&db);
    let other_root = root_of(&forged(&records)[..20]);
    let signer = chitra::ledger::keys::require(&db).unwrap();
    let other = dir.path().join("c20-other");
    std::fs::write(
        &other,
        signer.sign(&chitra::ledger::tree::checkpoint_body(
            LEDGER,
            20,
            &other_root,
        )),
    )
    .unwrap();
    let evidence = dir.path().join("evidence.txt");
    let (code, out) = cosign(&db, &state, &vkey, &other, &["--evidence", s(&evidence)]);
    assert_eq!(code, 1);
    assert!(
        out.contains("REFUSED: split view: the ledger signed two different trees of 20 records"),
        "{out}"
    );
    let text = std::fs::read_to_string(&evidence).unwrap();
    assert!(text.starts_with("chitra split-view evidence v1"), "{text}");
    let (first, second) = evidence_notes(&text, &ledger_key);
    assert_eq!((first.size, second.size), (20, 20));
    assert_ne!(first.root, second.root);
    assert_eq!(second.root, other_root);
    // The witness still stands by what it cosigned.
    assert_eq!(cosign(&db, &state, &vkey, &c20, &[]).0, 0);
}

#[test]
fn verify_checkpoint_writes_split_view_evidence_when_the_ledger_key_signs_a_rewritten_history() {
    let dir = tempfile::tempdir().unwrap();
    let (db, vkey) = ledger_with_key(dir.path(), 10);
    let kept = dir.path().join("kept.checkpoint");
    std::fs::write(&kept, ok(&db, &["proof", "checkpoint"])).unwrap();
    let records = common::raw_records(&db);
    let forged = forged(&records);
    let last = forged.len() - 1;
    common::rewrite_records(
        &db,
        &forged,
        Some((last as u64, record_hash(&forged[last]))),
    );
    let out = chitra(
        &db,
        &[
            "verify",
            "--checkpoint",
            s(&kept),
            "--checkpoint-key",
            &vkey,
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = stdout(&out);
    assert!(out.contains("history was rewritten"), "{out}");
    let evidence = dir.path().join("kept.checkpoint.split-view");
    assert!(
        out.contains(&format!(
            "split view: the ledger's key signs both trees of 20 records; the evidence is in {}",
            evidence.display()
        )),
        "{out}"
    );
    let (first, second) = evidence_notes(
        &std::fs::read_to_string(&evidence).unwrap(),
        &VerifierKey::parse(&vkey).unwrap(),
    );
    assert_eq!(first.root, root_of(&records[..20]));
    assert_eq!(second.root, root_of(&forged[..20]));
}
