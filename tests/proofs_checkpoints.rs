//! Signed checkpoints (`docs/proofs.md` §4): `chitra key init|show`, proofs and checkpoints
//! signed as C2SP signed notes that open with the printed verifier key only, and `chitra verify
//! --checkpoint FILE`, which holds while the chain extends the kept checkpoint and names a
//! history that was cut or rewritten, an altered checkpoint and a checkpoint under another key.

mod common;

use std::path::Path;

use chitra::chain::merkle::leaf_hash;
use chitra::chain::note::{self, Checkpoint, VerifierKey};
use chitra::chain::record::record_hash;
use common::bin::{chitra, chitra_ok as ok, stderr, stdout};

/// `chitra verify --checkpoint FILE [--checkpoint-key KEY]`: exit code and stdout.
fn verify(dir: &Path, file: &Path, key: Option<&str>) -> (Option<i32>, String) {
    let mut args = vec!["verify", "--checkpoint", file.to_str().unwrap()];
    if let Some(k) = key {
        args.extend(["--checkpoint-key", k]);
    }
    let out = chitra(dir, &args);
    (out.status.code(), stdout(&out))
}

#[test]
fn checkpoints_are_signed_and_verify_checkpoint_holds_until_history_is_rewritten() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    {
        let l = common::open(&db);
        common::enrol(&l, 0, 10);
    }
    let vkey = ok(
        &db,
        &["key", "init", "--name", "treasury.example/chitra-01"],
    );
    let vkey = vkey.trim();
    assert_eq!(ok(&db, &["key", "show"]).trim(), vkey);
    let key = VerifierKey::parse(vkey).unwrap();
    assert_eq!(key.name, "treasury.example/chitra-01");
    let again = chitra(&db, &["key", "init"]);
    assert!(!again.status.success(), "a second key is refused");
    assert!(
        stderr(&again).contains("already holds a key"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        ok(&db, &["key", "show"]).trim(),
        vkey,
        "the key is unchanged"
    );

    // The checkpoint of 20 records, kept by an auditor.
    let note_text = ok(&db, &["proof", "checkpoint"]);
    let body = note::open(&note_text, &key).unwrap();
    let kept = Checkpoint::parse(body).unwrap();
    assert_eq!(
        (kept.origin.as_str(), kept.size),
        ("treasury.example/chitra-01", 20)
    );
    let file = dir.path().join("kept.checkpoint");
    std::fs::write(&file, &note_text).unwrap();

    // A proof now carries the signed checkpoint: a complete tlog-proof.
    let proof = ok(&db, &["proof", "inclusion", "7"]);
    let (_, signed) = proof.split_once("\n\n").unwrap();
    assert_eq!(
        Checkpoint::parse(note::open(signed, &key).unwrap()).unwrap(),
        kept
    );

    let (code, out) = verify(&db, &file, Some(vkey));
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("extends the checkpoint of 20 records"),
        "{out}"
    );
    // The chain grows: it still extends what was kept.
    {
        let l = common::open(&db);
        common::enrol(&l, 10, 5);
    }
    let (code, out) = verify(&db, &file, Some(vkey));
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("the chain of 30 records extends"), "{out}");

    // An altered checkpoint, or one checked against another key, is refused.
    let altered = dir.path().join("altered.checkpoint");
    std::fs::write(&altered, note_text.replace("\n20\n", "\n19\n")).unwrap();
    let (code, out) = verify(&db, &altered, Some(vkey));
    assert_eq!(code, Some(1));
    assert!(
        out.contains("REFUSED") && out.contains("does not verify"),
        "{out}"
    );
    let other = chitra::chain::note::NoteSigner::new("treasury.example/chitra-01", &[3; 32])
        .unwrap()
        .verifier()
        .to_string();
    let (code, out) = verify(&db, &file, Some(&other));
    assert_eq!(code, Some(1));
    assert!(
        out.contains("no signature by treasury.example/chitra-01"),
        "{out}"
    );

    // History cut back to 15 records (with a matching head anchor): the records the
    // checkpoint covered are gone.
    let records = common::raw_records(&db);
    common::rewrite_records(&db, &records[..15], Some((14, record_hash(&records[14]))));
    let (code, out) = verify(&db, &file, Some(vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("TAMPERED") && out.contains("are gone"),
        "{out}"
    );

    // History rewritten consistently (record 3 replaced by record 3 of another history, every
    // link after it redone): the chain verifies, but no longer extends the checkpoint.
    let mut forged = records.clone();
    let at = common::payload_range(&forged[3]).start + 1;
    forged[3][at] ^= 0x01;
    for i in 4..forged.len() {
        let prev = record_hash(&forged[i - 1]);
        forged[i][12..44].copy_from_slice(&prev);
    }
    let last = forged.len() - 1;
    common::rewrite_records(
        &db,
        &forged,
        Some((last as u64, record_hash(&forged[last]))),
    );
    assert_ne!(leaf_hash(&forged[3]), leaf_hash(&records[3]));
    let (code, out) = verify(&db, &file, Some(vkey));
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("TAMPERED") && out.contains("history was rewritten"),
        "{out}"
    );
}
