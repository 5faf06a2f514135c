//! The `chitra` binary end to end: append, status, verify, export, import, and a tampered
//! store named by its first bad sequence number with a non-zero exit.

mod common;

use common::bin::{chitra, stderr, stdout};

use std::path::Path;
use std::process::Command;

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
    assert!(out.status.success(), "{}", stderr(&out));
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
    assert!(out.status.success(), "{}", stderr(&out));
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
    assert!(stderr(&out).contains("no ledger in"));
}

#[test]
fn the_demo_pays_three_months_and_is_safe_to_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let run = || {
        Command::new(common::bin::BIN)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .arg("--data-dir")
            .arg(&data)
            .args(["demo", "--persons", "150"])
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{}", stderr(&first));
    let text = stdout(&first);
    assert!(text.contains("== 2024-08"), "{text}");
    assert!(text.contains("verified the whole chain"), "{text}");
    // Issue 12: a check against the population database, the Treasury's allocations, and the
    // department's figures.
    assert!(text.contains("against the population database:"), "{text}");
    assert!(
        text.contains("the department's figures as of now"),
        "{text}"
    );
    assert!(
        text.contains("funds BTXH 2024-06..2024-08: allocated"),
        "{text}"
    );
    let records = |d: &Path| {
        let out = chitra(d, &["status", "--json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["records"]
            .as_u64()
            .unwrap()
    };
    // Nobody was paid for a month before they were born.
    {
        let ledger = chitra::ledger::Ledger::open(chitra::ledger::Config::new(&data)).unwrap();
        ledger
            .read(|s| {
                for b in s.batches() {
                    for p in b
                        .payments
                        .iter()
                        .map(|id| &s.payment(*id).unwrap().scheduled)
                    {
                        let who = s.beneficiary(p.beneficiary).unwrap();
                        let born = who.identity.known().unwrap().birth_date.month();
                        for item in &p.items {
                            assert!(
                                item.source_month >= born,
                                "{} paid for {} but born {born}",
                                p.beneficiary,
                                item.source_month
                            );
                        }
                    }
                }
            })
            .unwrap();
    }
    let before = records(&data);
    let second = run();
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(stdout(&second).contains("already enrolled"));
    assert_eq!(
        records(&data),
        before,
        "a second run appends nothing and pays no one twice"
    );
    assert!(dir.path().join("payment-files").read_dir().unwrap().count() > 0);
}

#[test]
fn the_maker_checker_rule_holds_on_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let ok = |args: &[&str]| {
        let out = chitra(&data, args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    };
    let roster = dir.path().join("roster.csv");
    let mut f = std::fs::File::create(&roster).unwrap();
    chitra::dev::synth::write_roster_csv(&mut f, 4, 30, chitra::dev::synth::Province::hanoi())
        .unwrap();
    drop(f);
    ok(&[
        "--as",
        "admin:thu",
        "rates",
        "load",
        concat!(env!("CARGO_MANIFEST_DIR"), "/ledger-data/rates"),
    ]);
    ok(&[
        "--as",
        "officer:lan",
        "beneficiaries",
        "import",
        roster.to_str().unwrap(),
    ]);
    ok(&[
        "--as",
        "maker:hoa",
        "batch",
        "open",
        "--programme",
        "BTXH",
        "--month",
        "2026-10",
        "--funding-account",
        "3761000000002",
    ]);
    ok(&["--as", "maker:hoa", "batch", "compute", "BATCH1"]);
    let review: serde_json::Value =
        serde_json::from_str(&ok(&["batch", "review", "BATCH1", "--json"])).unwrap();
    let hash = review["batch"]["content_hash"].as_str().unwrap().to_owned();
    let own = chitra(
        &data,
        &[
            "--as",
            "maker:hoa",
            "batch",
            "approve",
            "BATCH1",
            "--content-hash",
            &hash,
        ],
    );
    assert!(!own.status.success());
    let own = stderr(&own);
    assert!(own.contains("only a checker may approve batch"), "{own}");
    // The same person with a checker's role is still the maker: four eyes compares persons.
    let same_person = chitra(
        &data,
        &[
            "--as",
            "checker:hoa",
            "batch",
            "approve",
            "BATCH1",
            "--content-hash",
            &hash,
        ],
    );
    assert!(!same_person.status.success());
    let same_person = stderr(&same_person);
    assert!(
        same_person.contains("a different person must approve"),
        "{same_person}"
    );
    let wrong = chitra(
        &data,
        &[
            "--as",
            "checker:tuan",
            "batch",
            "approve",
            "BATCH1",
            "--content-hash",
            "00000000000000000000",
        ],
    );
    assert!(!wrong.status.success());
    // A bank's principal cannot approve, and a write without --as says who must act.
    let bank = chitra(
        &data,
        &[
            "--as",
            "bank:970436",
            "batch",
            "approve",
            "BATCH1",
            "--content-hash",
            &hash,
        ],
    );
    assert!(!bank.status.success());
    assert!(
        stderr(&bank).contains("only a checker may approve batch"),
        "{}",
        stderr(&bank)
    );
    let nobody = chitra(
        &data,
        &["batch", "approve", "BATCH1", "--content-hash", &hash],
    );
    assert!(!nobody.status.success());
    assert!(stderr(&nobody).contains("--as ROLE:NAME"));
    // The refusal does not give the right hash away.
    let wrong = stderr(&wrong);
    assert!(!wrong.contains(&hash[..16]), "{wrong}");
    assert!(wrong.contains("not what you reviewed"), "{wrong}");
    ok(&[
        "--as",
        "checker:tuan",
        "batch",
        "approve",
        "BATCH1",
        "--content-hash",
        &hash[..16],
    ]);
    let released = ok(&["--as", "checker:tuan", "batch", "release", "BATCH1"]);
    assert!(released.contains("payment files issued"), "{released}");
    let files: serde_json::Value =
        serde_json::from_str(&ok(&["--as", "bank:970405", "files", "list", "--json"])).unwrap();
    for f in files.as_array().unwrap() {
        assert_eq!(
            f["channel"]["bin"], "970405",
            "a bank sees only its own files"
        );
    }
}
