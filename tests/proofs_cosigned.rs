//! Readers get cosigned checkpoints (`docs/proofs.md` §7.1): once a witness cosigned a
//! checkpoint and the ledger keeps it (`chitra witness cosign` + `attach`), inclusion proofs
//! (`/v1/proofs/inclusion/{seq}`, `/v1/payments/{id}/proof`, `chitra proof inclusion`), the tree
//! of that size (`/v1/proofs/tree`, `chitra proof checkpoint`) and receipts carry the ledger's
//! signature with the witness's cosignature, and say which witnesses cosigned; the proof is in
//! that tree even after the chain grew. `tools/verify_receipt.py --witness KEY` accepts such a
//! receipt with the witness's key and refuses it with another key of the same name.
//!
//! Requires `python3` with the `cryptography` package (`.ci/run` installs it).

mod common;

use std::path::Path;
use std::process::Command;

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chitra::chain::merkle::{leaf_hash, verify_inclusion, Hash};
use chitra::chain::note::Checkpoint;
use chitra::domain::event::BatchKind;
use chitra::domain::types::Programme;
use chitra::http::{app, AppState, Limits, Role};
use common::bin::{chitra, chitra_ok as ok, stderr};
use common::fixtures::{bank, enrolment, monthly, BEFORE_JULY_2024};
use common::http::{tokens, Api};
use serde_json::Value;

const KEY_NAME: &str = "treasury.example/chitra-02";
const WITNESS: &str = "kbnn.example/w1";

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn person(citizen: &str, name: &str, account: &str) -> chitra::domain::Command {
    chitra::domain::Command::Enrol(enrolment(
        citizen,
        name,
        "1985-03-01",
        Some(bank("970405", account, "TRAN VAN AN")),
        vec![monthly(
            "btxh.disability_especially_severe",
            vec![],
            "2024-06",
        )],
    ))
}

/// `tools/verify_receipt.py RECEIPT --key KEY --witness W...`: exit code and stdout.
fn python_verify(dir: &Path, receipt: &Value, key: &str, witnesses: &[&str]) -> (i32, String) {
    let file = dir.join("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(receipt).unwrap()).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tools/verify_receipt.py"
    ))
    .arg(&file)
    .args(["--key", key]);
    for w in witnesses {
        cmd.args(["--witness", w]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("python3 is required to run tools/verify_receipt.py: {e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "the Python package `cryptography` is required (`pip install cryptography`): {err}"
    );
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The size and root of a signed note's checkpoint body.
fn body_of(note: &str) -> (u64, Hash) {
    let (text, _) = chitra::chain::cosign::split_note(note).unwrap();
    let cp = Checkpoint::parse(text).unwrap();
    (cp.size, cp.root)
}

/// Checks a proof's JSON (hex hashes, as the API and `--json` give it) against `root`.
fn proof_leads_to(v: &Value, root: &Hash) {
    let hex = |s: &Value| -> Vec<u8> {
        let s = s.as_str().unwrap();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    };
    let hashes: Vec<Hash> = v["hashes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| hex(h).try_into().unwrap())
        .collect();
    let leaf = leaf_hash(&hex(&v["record"]));
    assert!(
        verify_inclusion(
            v["index"].as_u64().unwrap(),
            v["size"].as_u64().unwrap(),
            &leaf,
            &hashes,
            root
        ),
        "{v}"
    );
}

/// A ledger with a paid month, a key and a checkpoint a configured witness cosigned and the
/// ledger keeps (`chitra witness cosign` then `attach`).
struct Cosigned {
    work: tempfile::TempDir,
    _data: tempfile::TempDir,
    db: std::path::PathBuf,
    /// The ledger's verifier key and the witness's public key.
    key: String,
    wkey: String,
    /// The cosigned checkpoint, its size and root.
    note: String,
    size: u64,
    root: Hash,
}

fn cosigned_ledger() -> Cosigned {
    let work = tempfile::tempdir().unwrap();
    let data = tempfile::tempdir().unwrap();
    let db = data.path().join("db");
    common::bin::init(&db);
    {
        let l = common::open(&db);
        common::enact(&l, BEFORE_JULY_2024);
        common::submit(
            &l,
            "officer:lan",
            person("001185000001", "Trần Văn An", "1500200000001"),
        )
        .unwrap();
        common::pay_month(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    }
    let key = ok(&db, &["key", "init", "--name", KEY_NAME]);
    let key = key.trim().to_owned();
    let state = work.path().join("witness.json");
    let wkey = ok(
        &db,
        &["witness", "init", "--state", s(&state), "--name", WITNESS],
    );
    let wkey = wkey.trim().to_owned();
    let cp = work.path().join("cp");
    std::fs::write(&cp, ok(&db, &["proof", "checkpoint"])).unwrap();
    let cosigned_file = work.path().join("cp.cosigned");
    ok(
        &db,
        &[
            "witness",
            "cosign",
            "--state",
            s(&state),
            "--ledger-key",
            &key,
            "--checkpoint",
            s(&cp),
            "--out",
            s(&cosigned_file),
        ],
    );
    let config = db.join("chitra.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!("\n[witnesses]\n\"{WITNESS}\" = \"{wkey}\"\n"));
    std::fs::write(&config, toml).unwrap();
    ok(
        &db,
        &["witness", "attach", "--checkpoint", s(&cosigned_file)],
    );
    let cosigned = std::fs::read_to_string(&cosigned_file).unwrap();
    let (size, root) = body_of(&cosigned);
    assert_eq!(
        cosigned.lines().filter(|l| l.starts_with('—')).count(),
        2,
        "the ledger's signature and the witness's: {cosigned}"
    );

    Cosigned {
        work,
        _data: data,
        db,
        key,
        wkey,
        note: cosigned,
        size,
        root,
    }
}

#[test]
fn proofs_and_receipts_carry_the_cosigned_checkpoint_and_name_its_witnesses() {
    let c = cosigned_ledger();
    let (work, db, key, wkey) = (&c.work, &c.db, c.key.as_str(), c.wkey.as_str());
    let (cosigned, size, root) = (c.note.clone(), c.size, c.root);
    // The chain grows past the cosigned checkpoint.
    {
        let l = common::open(db);
        common::submit(
            &l,
            "officer:lan",
            person("001185000003", "Lê Thị Bình", "1500200000002"),
        )
        .unwrap();
        assert!(l.durable_records() > size);
    }

    // The CLI: the payment's proof is in the cosigned tree and carries the cosignature.
    let json = chitra(db, &["--json", "proof", "inclusion", "--payment", "P1"]);
    assert!(json.status.success(), "{}", stderr(&json));
    let p: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(p["size"], size);
    assert_eq!(p["checkpoint"], cosigned.as_str());
    assert_eq!(p["witnesses"], serde_json::json!([WITNESS]));
    proof_leads_to(&p, &root);
    let seq = p["index"].as_u64().unwrap();
    let text = chitra(db, &["proof", "inclusion", &seq.to_string()]);
    assert!(text.status.success(), "{}", stderr(&text));
    assert!(
        common::bin::stdout(&text).ends_with(&format!("\n{cosigned}")),
        "{}",
        common::bin::stdout(&text)
    );
    assert!(
        stderr(&text).contains(&format!("cosigned by {WITNESS}")),
        "{}",
        stderr(&text)
    );
    // `proof checkpoint` of that size is the cosigned one.
    assert_eq!(
        ok(db, &["proof", "checkpoint", "--size", &size.to_string()]),
        cosigned
    );
    // The CLI's receipt: cosigned, and the standalone verifier requires the witness.
    let out = work.path().join("p1.json");
    let r = chitra(db, &["receipt", "P1", "--out", s(&out)]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(
        stderr(&r).contains(&format!("cosigned by {WITNESS}")),
        "{}",
        stderr(&r)
    );
    let receipt: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(receipt["checkpoint"], cosigned.as_str());
    assert_eq!(receipt["witnesses"], serde_json::json!([WITNESS]));
    let (code, stdout) = python_verify(work.path(), &receipt, key, &[wkey]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with(&format!("and cosigned by {WITNESS}")),
        "{stdout}"
    );
    // A key of the same name that is not the witness's: refused.
    let impostor = chitra::chain::cosign::Cosigner::new(WITNESS, &[9; 32])
        .unwrap()
        .verifier()
        .to_string();
    assert_ne!(impostor, wkey);
    let (code, stdout) = python_verify(work.path(), &receipt, key, &[&impostor]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.starts_with(&format!(
            "REFUSED: the checkpoint carries no cosignature by {WITNESS}"
        )),
        "{stdout}"
    );

    // The API, with the directory's own settings (its witnesses).
    let settings = chitra::app::config::DataDir::existing(db)
        .unwrap()
        .settings()
        .unwrap();
    let ledger = common::open(db);
    let records = ledger.durable_records();
    let api = Api {
        app: app(AppState::new(
            ledger.clone(),
            tokens(),
            Limits::default(),
            settings,
        )),
        // The data directory outlives the API (the CLI reads it after): the API gets an
        // empty one of its own to remove.
        dir: tempfile::tempdir().unwrap(),
        ledger,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for path in [
            "/v1/payments/P1/proof".to_owned(),
            format!("/v1/proofs/inclusion/{seq}"),
        ] {
            let r = api.get(&path, Role::Auditor).await;
            assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
            let v = r.json();
            assert_eq!(v["size"], size, "{path}");
            assert_eq!(v["checkpoint"], cosigned.as_str(), "{path}");
            assert_eq!(v["witnesses"], serde_json::json!([WITNESS]), "{path}");
            assert!(v["text"].as_str().unwrap().ends_with(&cosigned), "{path}");
            proof_leads_to(&v, &root);
        }
        // A proof in a tree no witness cosigned: the ledger's signature only, and no witnesses.
        let r = api
            .get(
                &format!("/v1/proofs/inclusion/{seq}?size={records}"),
                Role::Auditor,
            )
            .await;
        let v = r.json();
        assert_eq!(v["size"], records);
        assert_eq!(v["witnesses"], serde_json::json!([]));
        let note = v["checkpoint"].as_str().unwrap();
        assert_eq!(note.lines().filter(|l| l.starts_with('—')).count(), 1);
        proof_leads_to(&v, &body_of(note).1);
        // The tree: cosigned at the cosigned size, the ledger's own at the head.
        let t = api
            .get(&format!("/v1/proofs/tree?size={size}"), Role::Auditor)
            .await
            .json();
        assert_eq!(t["checkpoint"], cosigned.as_str());
        assert_eq!(t["witnesses"], serde_json::json!([WITNESS]));
        let t = api.get("/v1/proofs/tree", Role::Auditor).await.json();
        assert_eq!(t["size"], records);
        assert_eq!(t["witnesses"], serde_json::json!([]));
        // The API's receipt, as the bank of the payment reads it... (bank 970405 has no token
        // here: the auditor's is the same file).
        let r = api.get("/v1/payments/P1/receipt", Role::Auditor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let receipt = r.json();
        assert_eq!(receipt["checkpoint"], cosigned.as_str());
        assert_eq!(receipt["witnesses"], serde_json::json!([WITNESS]));
        let (code, stdout) = python_verify(work.path(), &receipt, key, &[wkey]);
        assert_eq!(code, 0, "{stdout}");
        let (code, stdout) = python_verify(work.path(), &receipt, key, &[&impostor]);
        assert_eq!(code, 1, "{stdout}");

        // A kept "cosigned" checkpoint that is not of this chain's tree is never served: the API
        // says it cannot answer (the cause goes to the log), the CLI names the file.
        let forged = cosigned.replace(&B64.encode(root), &B64.encode([7u8; 32]));
        std::fs::write(
            db.join(chitra::app::witness::COSIGNED_DIR)
                .join(format!("{size}.checkpoint")),
            forged,
        )
        .unwrap();
        let r = api.get("/v1/payments/P1/proof", Role::Auditor).await;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    });
    drop(api);
    let r = chitra(db, &["proof", "inclusion", &seq.to_string()]);
    assert!(!r.status.success());
    assert!(
        stderr(&r).contains(&format!(
            "the kept cosigned checkpoint of {size} records is not of this chain's tree"
        )),
        "{}",
        stderr(&r)
    );
}

#[test]
fn a_restored_backup_serves_the_same_cosigned_checkpoint_and_signs_with_the_same_key() {
    use chitra::chain::note::{self, VerifierKey};
    use chitra::ledger::checkpoints::{recorded_note, CheckpointPolicy};
    let c = cosigned_ledger();
    let (work, db, key, wkey) = (&c.work, &c.db, c.key.as_str(), c.wkey.as_str());
    let receipt_of = |dir: &Path, name: &str| -> Value {
        let out = work.path().join(name);
        ok(dir, &["receipt", "P1", "--out", s(&out)]);
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
    };
    let before = receipt_of(db, "before.json");
    assert_eq!(before["checkpoint"], c.note.as_str());

    let backup = work.path().join("backup");
    ok(db, &["backup", s(&backup)]);
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(backup.join("manifest.json")).unwrap()).unwrap();
    let listed: Vec<&str> = manifest["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    let kept = format!("cosigned/{}.checkpoint", c.size);
    for want in ["checkpoint.key", kept.as_str()] {
        assert!(listed.contains(&want), "{want} is not in {listed:?}");
    }
    // The manifest covers the cosigned checkpoint too: altered, the backup is refused.
    let altered = work.path().join("altered");
    common::copy_dir(&backup, &altered);
    std::fs::write(altered.join(&kept), c.note.replace(WITNESS, "x")).unwrap();
    let refused = chitra(&work.path().join("nowhere"), &["restore", s(&altered)]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains(&format!("{kept} does not match the manifest")),
        "{}",
        stderr(&refused)
    );

    let restored = work.path().join("restored");
    ok(&restored, &["restore", s(&backup)]);
    assert_eq!(
        std::fs::read_to_string(restored.join(&kept)).unwrap(),
        c.note
    );
    // The same cosigned checkpoint is served, and a receipt for the old payment is the same
    // file, which verifies with the witness required.
    assert_eq!(
        ok(
            &restored,
            &["proof", "checkpoint", "--size", &c.size.to_string()]
        ),
        c.note
    );
    let after = receipt_of(&restored, "after.json");
    assert_eq!(after, before);
    let (code, stdout) = python_verify(work.path(), &after, key, &[wkey]);
    assert_eq!(code, 0, "{stdout}");

    // The restored writer signs its next checkpoint with the same key.
    {
        let l = chitra::ledger::Ledger::open(chitra::ledger::Config {
            checkpoints: CheckpointPolicy {
                interval_records: 1,
                interval_seconds: 3600,
            },
            ..chitra::ledger::Config::new(&restored)
        })
        .unwrap();
        common::submit(
            &l,
            "officer:lan",
            person("001185000003", "Lê Thị Bình", "1500200000002"),
        )
        .unwrap();
        let (_, last) = l
            .read(|s| s.checkpoints().last().cloned())
            .unwrap()
            .expect("the writer signed a checkpoint");
        assert!(last.tree_size > c.size);
        assert_eq!(last.key_name, KEY_NAME);
        note::open(&recorded_note(&last), &VerifierKey::parse(key).unwrap())
            .expect("signed with the key the backup carried");
    }
    let verified = ok(&restored, &["verify", "--checkpoint-key", key]);
    assert!(verified.contains("checkpoints: 1 recorded"), "{verified}");
}
