//! The `chitra` binary end to end: append, status, verify, export, import, and a tampered
//! store named by its first bad sequence number with a non-zero exit.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn chitra(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chitra"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .output()
        .expect("run chitra")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn append_verify_export_import_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let out = chitra(
        &data,
        &[
            "bench",
            "append",
            "--events",
            "400",
            "--submitters",
            "2",
            "--chunk",
            "16",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout(&out).contains("appended 400 events"),
        "{}",
        stdout(&out)
    );

    let out = chitra(&data, &["verify"]);
    assert!(out.status.success());
    assert!(
        stdout(&out).starts_with("OK: 400 records verified"),
        "{}",
        stdout(&out)
    );

    let out = chitra(&data, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["records"], 400);
    assert_eq!(status["last_verified_records"], 400);
    let head = status["head_hash"].as_str().unwrap().to_owned();

    let export = dir.path().join("chain.export");
    let out = chitra(&data, &["export", export.to_str().unwrap()]);
    assert!(out.status.success());
    assert!(dir.path().join("chain.export.personal").exists());
    let out = chitra(
        &data,
        &[
            "verify",
            "--export",
            export.to_str().unwrap(),
            "--personal",
            dir.path().join("chain.export.personal").to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("200 personal-data entries match"),
        "{}",
        stdout(&out)
    );

    let copy = dir.path().join("copy");
    let out = chitra(&copy, &["import", export.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout(&out).contains(&head), "{}", stdout(&out));

    // Importing into a non-empty directory is refused.
    let out = chitra(&copy, &["import", export.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn verify_names_the_first_bad_record_and_exits_non_zero() {
    let dir = tempfile::tempdir().unwrap();
    {
        let l = common::open(dir.path());
        common::enrol(&l, 0, 20);
    }
    let mut records = common::raw_records(dir.path());
    let at = common::payload_range(&records[13]).start + 2;
    records[13][at] ^= 0x10;
    common::rewrite_records(dir.path(), &records, None);
    let out = chitra(dir.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("TAMPERED: seq 13: content altered"),
        "{}",
        stdout(&out)
    );

    let export = dir.path().join("x.export");
    assert!(!chitra(
        dir.path(),
        &["verify", "--export", export.to_str().unwrap()]
    )
    .status
    .success());
}

#[test]
fn commands_on_a_missing_ledger_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let out = chitra(&dir.path().join("nothing"), &["status"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no ledger in"));
}
