//! Payment receipts (`docs/proofs.md` §6): `GET /v1/payments/{id}/receipt` (a bank sees its own
//! payments only; another bank's is a 404 like an unknown one) and `chitra receipt`, checked by
//! the standalone `tools/verify_receipt.py`, which accepts a receipt as written and refuses one
//! whose amount, month, programme, record, proof or checkpoint signature was altered, naming why.
//!
//! Requires `python3` with the `cryptography` package (`.ci/run` installs it); the tests fail,
//! never skip, without it.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use axum::http::StatusCode;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use chitra::domain::event::BatchKind;
use chitra::domain::types::Programme;
use chitra::http::Role;
use common::bin::{chitra, chitra_ok as ok, stderr};
use common::fixtures::{bank, enrolment, monthly, BEFORE_JULY_2024};
use common::http::{paid_month, token_of, Api};
use serde_json::Value;

const KEY_NAME: &str = "treasury.example/chitra-01";
const WITNESS: &str = "kbnn.example/w1";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tools/verify_receipt.py` on `receipt` (written to `dir`): exit code and stdout.
fn python_verify(dir: &Path, receipt: &Value, key: Option<&str>) -> (i32, String) {
    python_run(dir, receipt, key, &[])
}

fn python_run(dir: &Path, receipt: &Value, key: Option<&str>, witnesses: &[&str]) -> (i32, String) {
    let file = dir.join("receipt.json");
    std::fs::write(&file, serde_json::to_vec_pretty(receipt).unwrap()).unwrap();
    let mut cmd = Command::new("python3");
    cmd.arg(root().join("tools/verify_receipt.py")).arg(&file);
    if let Some(k) = key {
        cmd.args(["--key", k]);
    }
    for w in witnesses {
        cmd.args(["--witness", w]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("python3 is required to run tools/verify_receipt.py: {e}"));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("ModuleNotFoundError"),
        "the Python package `cryptography` is required (`pip install cryptography`): {err}"
    );
    (out.status.code().unwrap(), stdout)
}

/// `tools/verify_receipt.py` with `--key` and a `--witness` for each of `witnesses`.
fn python_verify_with(dir: &Path, receipt: &Value, key: &str, witnesses: &[&str]) -> (i32, String) {
    python_run(dir, receipt, Some(key), witnesses)
}

fn refused(dir: &Path, receipt: &Value, key: &str, why: &str) {
    let (code, out) = python_verify(dir, receipt, Some(key));
    assert_eq!(code, 1, "{out}");
    assert!(out.starts_with("REFUSED: "), "{out}");
    assert!(out.contains(why), "expected {why:?} in {out}");
}

/// A base64 field with one byte flipped at `at`.
fn flipped(v: &Value, at: usize) -> Value {
    let mut b = B64.decode(v.as_str().unwrap()).unwrap();
    b[at] ^= 1;
    Value::String(B64.encode(b))
}

#[tokio::test]
async fn receipts_are_served_to_their_readers_and_verify_offline_until_altered() {
    let api = Api::new();
    paid_month(&api).await;
    // Without a key there is no signed checkpoint, so no receipt.
    let r = api.get("/v1/payments/P1/receipt", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert!(r.text().contains("no checkpoint key"), "{}", r.text());
    let key = chitra::ledger::keys::init(api.path(), KEY_NAME)
        .unwrap()
        .verifier()
        .to_string();

    // Each bank gets exactly its own payment's receipt; the other's is a 404 like P99's.
    let mut own = Vec::new();
    for p in ["P1", "P2", "P3"] {
        let path = format!("/v1/payments/{p}/receipt");
        let auditor = api.get(&path, Role::Auditor).await;
        assert_eq!(auditor.status, StatusCode::OK, "{}", auditor.text());
        let bank = api.get(&path, Role::Bank).await;
        if bank.status == StatusCode::OK {
            assert_eq!(bank.json(), auditor.json());
            own.push(p);
        } else {
            assert_eq!(bank.status, StatusCode::NOT_FOUND);
            assert_eq!(bank.code(), "not-found");
        }
    }
    assert_eq!(own.len(), 1, "bank 970436 has one payment: {own:?}");
    let other = api
        .send(
            axum::http::Method::GET,
            &format!("/v1/payments/{}/receipt", own[0]),
            Some(token_of("bank:970418")),
            None,
            axum::body::Body::empty(),
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    let unknown = api.get("/v1/payments/P99/receipt", Role::Bank).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (other.status, other.code())
    );

    let receipt = api
        .get(&format!("/v1/payments/{}/receipt", own[0]), Role::Bank)
        .await
        .json();
    let facts = &receipt["facts"];
    assert_eq!(facts["programme"], "BTXH");
    assert_eq!(facts["month"], "2024-06");
    assert_eq!(facts["route"], "bank 970436");
    assert_eq!(facts["beneficiary_name"], "N. T. T.");
    assert!(facts["amount_vnd"].as_i64().unwrap() > 0);
    assert_eq!(receipt["ledger_key"], key);

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (code, out) = python_verify(d, &receipt, Some(&key));
    assert_eq!(code, 0, "{out}");
    assert!(
        out.starts_with(&format!(
            "OK: payment {} of {} VND (BTXH 2024-06, bank 970436)",
            own[0], facts["amount_vnd"]
        )),
        "{out}"
    );
    assert!(out.contains(&format!("signed by {KEY_NAME}")), "{out}");
    // Without --key, the receipt's own key is used (and the verifier says so on stderr).
    assert_eq!(python_verify(d, &receipt, None).0, 0);

    let mut r = receipt.clone();
    r["facts"]["amount_vnd"] = Value::from(facts["amount_vnd"].as_i64().unwrap() + 1_000);
    refused(d, &r, &key, "the receipt says amount_vnd");
    let mut r = receipt.clone();
    r["facts"]["month"] = Value::from("2024-07");
    refused(
        d,
        &r,
        &key,
        "the receipt says month \"2024-07\" but the record says \"2024-06\"",
    );
    let mut r = receipt.clone();
    r["facts"]["programme"] = Value::from("NCC");
    refused(d, &r, &key, "the receipt says programme");
    let mut r = receipt.clone();
    r["facts"]["items"][0]["month"] = Value::from("2024-05");
    refused(d, &r, &key, "the receipt says items");
    // The record's bytes altered (its last byte is in the payload).
    let mut r = receipt.clone();
    let len = B64
        .decode(r["payment_record"]["record"].as_str().unwrap())
        .unwrap()
        .len();
    r["payment_record"]["record"] = flipped(&receipt["payment_record"]["record"], len - 1);
    refused(
        d,
        &r,
        &key,
        "the inclusion proof of the payment record (record",
    );
    // A hash of the proof altered.
    let mut r = receipt.clone();
    r["batch_record"]["proof"][0] = flipped(&receipt["batch_record"]["proof"][0], 5);
    refused(d, &r, &key, "the inclusion proof of the batch record");
    // The checkpoint's root altered: its signature no longer verifies.
    let mut r = receipt.clone();
    let note = receipt["checkpoint"].as_str().unwrap();
    let root_line = note.lines().nth(2).unwrap();
    let other_root = B64.encode([7u8; 32]);
    r["checkpoint"] = Value::from(note.replace(root_line, &other_root));
    refused(
        d,
        &r,
        &key,
        &format!("the checkpoint's signature by {KEY_NAME} does not verify"),
    );
    // The signature itself altered.
    let mut r = receipt.clone();
    let sig_line = note.lines().last().unwrap();
    let sig = sig_line.rsplit(' ').next().unwrap();
    let bad = flipped(&Value::from(sig), 30);
    r["checkpoint"] = Value::from(note.replace(sig, bad.as_str().unwrap()));
    refused(
        d,
        &r,
        &key,
        &format!("the checkpoint's signature by {KEY_NAME} does not verify"),
    );
    // Another ledger's key: the receipt is not signed by it.
    let stranger = chitra::chain::note::NoteSigner::new("other.example/ledger", &[3; 32])
        .unwrap()
        .verifier()
        .to_string();
    refused(
        d,
        &receipt,
        &stranger,
        "the checkpoint carries no signature by other.example/ledger",
    );
}

#[test]
fn chitra_receipt_writes_a_file_the_standalone_verifier_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    common::bin::init(&db);
    {
        let l = common::open(&db);
        common::enact(&l, BEFORE_JULY_2024);
        common::submit(
            &l,
            "officer:lan",
            chitra::domain::Command::Enrol(enrolment(
                "001185000001",
                "Trần Văn An",
                "1985-03-01",
                Some(bank("970405", "1500200000001", "TRAN VAN AN")),
                vec![monthly(
                    "btxh.disability_especially_severe",
                    vec![],
                    "2024-06",
                )],
            )),
        )
        .unwrap();
        common::pay_month(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    }
    let out = dir.path().join("p1.receipt.json");
    let refused = chitra(&db, &["receipt", "P1", "--out", out.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("a receipt needs a signed checkpoint"),
        "{}",
        stderr(&refused)
    );
    let key = ok(&db, &["key", "init", "--name", KEY_NAME]);
    ok(&db, &["receipt", "P1", "--out", out.to_str().unwrap()]);
    let receipt: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(receipt["facts"]["beneficiary_name"], "T. V. A.");
    assert_eq!(receipt["facts"]["amount_vnd"], 720_000);
    let (code, stdout) = python_verify(dir.path(), &receipt, Some(key.trim()));
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.starts_with("OK: payment P1 of 720000 VND (BTXH 2024-06, bank 970405)"),
        "{stdout}"
    );

    // A witness cosigns the ledger's checkpoint; configured in chitra.toml, the cosigned
    // checkpoint is kept and receipts carry it.
    let state = dir.path().join("witness.json");
    let wkey = ok(
        &db,
        &[
            "witness",
            "init",
            "--state",
            state.to_str().unwrap(),
            "--name",
            WITNESS,
        ],
    );
    let wkey = wkey.trim();
    let cp = dir.path().join("cp");
    std::fs::write(&cp, ok(&db, &["proof", "checkpoint"])).unwrap();
    let cosigned = dir.path().join("cp.cosigned");
    ok(
        &db,
        &[
            "witness",
            "cosign",
            "--state",
            state.to_str().unwrap(),
            "--ledger-key",
            key.trim(),
            "--checkpoint",
            cp.to_str().unwrap(),
            "--out",
            cosigned.to_str().unwrap(),
        ],
    );
    let attach = [
        "witness",
        "attach",
        "--checkpoint",
        cosigned.to_str().unwrap(),
    ];
    let not_configured = chitra(&db, &attach);
    assert_eq!(not_configured.status.code(), Some(1));
    assert!(
        common::bin::stdout(&not_configured).contains("no cosignature by a witness configured"),
        "{}",
        common::bin::stdout(&not_configured)
    );
    let config = db.join("chitra.toml");
    let mut toml = std::fs::read_to_string(&config).unwrap();
    toml.push_str(&format!("\n[witnesses]\n\"{WITNESS}\" = \"{wkey}\"\n"));
    std::fs::write(&config, toml).unwrap();
    assert!(ok(&db, &attach).contains(&format!("cosigned by {WITNESS}")));
    ok(&db, &["receipt", "P1", "--out", out.to_str().unwrap()]);
    let receipt: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let note = receipt["checkpoint"].as_str().unwrap().to_owned();
    assert_eq!(note, std::fs::read_to_string(&cosigned).unwrap());
    let (code, stdout) = python_verify_with(dir.path(), &receipt, key.trim(), &[wkey]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout
            .trim_end()
            .ends_with(&format!("and cosigned by {WITNESS}")),
        "{stdout}"
    );
    // The cosignature altered: refused.
    let mut r = receipt.clone();
    let line = note.lines().last().unwrap();
    let sig = line.rsplit(' ').next().unwrap();
    let bad = flipped(&Value::from(sig), 40);
    r["checkpoint"] = Value::from(note.replace(sig, bad.as_str().unwrap()));
    let (code, stdout) = python_verify_with(dir.path(), &r, key.trim(), &[wkey]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(&format!(
            "REFUSED: the cosignature by {WITNESS} does not verify"
        )),
        "{stdout}"
    );
    // A witness that did not cosign: refused.
    let other = chitra::chain::cosign::Cosigner::new("inspectorate.example/w2", &[8; 32])
        .unwrap()
        .verifier()
        .to_string();
    let (code, stdout) = python_verify_with(dir.path(), &receipt, key.trim(), &[&other]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout
            .contains("REFUSED: the checkpoint carries no cosignature by inspectorate.example/w2"),
        "{stdout}"
    );

    let unknown = chitra(&db, &["receipt", "P9"]);
    assert!(!unknown.status.success());
    assert!(
        stderr(&unknown).contains("no payment P9"),
        "{}",
        stderr(&unknown)
    );
}
