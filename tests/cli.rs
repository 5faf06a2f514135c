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
fn commands_on_a_missing_ledger_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nothing");
    let commands: [&[&str]; 9] = [
        &["status"],
        &["verify"],
        &["export", "/tmp/never-written"],
        &["batch", "status"],
        &["beneficiary", "show", "B1"],
        &["--as", "admin:thu", "rates", "load"],
        &["files", "list"],
        &["token", "list"],
        &["serve", "--addr", "127.0.0.1:0"],
    ];
    for args in commands {
        let out = chitra(&missing, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(
            err.contains(&format!("no ledger at {}", missing.display()))
                && err.contains("chitra init"),
            "{args:?}: {err}"
        );
        assert!(!missing.exists(), "{args:?} created the directory");
    }
}

#[test]
fn init_creates_a_ledger_once_and_refuses_a_configuration_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let out = chitra(&data, &["init", "--province", "01"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let config = std::fs::read_to_string(data.join("chitra.toml")).unwrap();
    assert!(config.contains("province = \"01\""), "{config}");
    let out = chitra(&data, &["status", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = chitra(&data, &["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already holds files"),
        "{}",
        stderr(&again)
    );
    assert_eq!(
        std::fs::read_to_string(data.join("chitra.toml")).unwrap(),
        config
    );

    let bad = [
        ("province = \"99\"\n", "province"),
        ("[departments.ncc]\nname = \"Sở\"\nbudget_unit_code = \"1\"\nfunding_bank = \"12345\"\n", "departments.ncc.funding_bank"),
        ("[departments.xyz]\nname = \"Sở\"\nbudget_unit_code = \"1\"\nfunding_bank = \"970418\"\n", "departments.xyz"),
        ("[departments.ncc]\nname = \"Sở\"\nbudget_unit_code = \"1 2\"\nfunding_bank = \"970418\"\n", "departments.ncc.budget_unit_code"),
        ("[pay_points]\n\"0004\" = \"x\"\n", "pay_points.0004"),
        ("provinces = \"01\"\n", "provinces"),
    ];
    for (i, (text, key)) in bad.iter().enumerate() {
        let file = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&file, text).unwrap();
        let target = dir.path().join(format!("new{i}"));
        let out = chitra(&target, &["init", "--config", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2), "{text}");
        assert!(stderr(&out).contains(key), "{key}: {}", stderr(&out));
        assert!(
            !target.exists(),
            "a refused configuration created {}",
            target.display()
        );
    }
    // A limit the server does not have is refused when it starts, naming the key.
    std::fs::write(data.join("chitra.toml"), "[limits]\nrequest_bytes = 5\n").unwrap();
    let out = chitra(&data, &["serve", "--addr", "127.0.0.1:0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("limits.request_bytes: no such limit"),
        "{}",
        stderr(&out)
    );
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
    // One bank reports August after the 20th of September: late, in the calendar and the
    // figures; the other reports and every other month are on time.
    assert!(
        text.contains("BTXH LATE: payment report for 2024-08 was due 2024-09-20, in on 2024-09-23 (late: bank 970436)"),
        "{text}"
    );
    assert!(!text.contains("payment report for 2024-07"), "{text}");
    assert!(
        text.contains("2024-08 BTXH: ") && text.contains("| payment report LATE"),
        "{text}"
    );
    // Every command the demo suggests works on what it wrote.
    let tries: Vec<&str> = text.lines().skip_while(|l| *l != "try:").skip(1).collect();
    assert!(tries.len() >= 5, "{text}");
    let prefix = format!("chitra --data-dir {} ", data.display());
    for line in tries {
        let args: Vec<&str> = line
            .trim()
            .strip_prefix(&prefix)
            .unwrap_or_else(|| panic!("{line}"))
            .split(' ')
            .collect();
        let out = chitra(&data, &args);
        assert!(out.status.success(), "{line}: {}", stderr(&out));
        if args == ["batch", "status"] {
            assert!(
                stdout(&out).contains("LATE: payment report for 2024-08"),
                "{}",
                stdout(&out)
            );
        }
    }
    let funds = stdout(&chitra(&data, &["funds", "status", "--from", "2024-08"]));
    assert!(
        funds.contains("BTXH 2024-06..2024-08") && funds.contains("; closed"),
        "{funds}"
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
                    for p in b.payments.iter().map(|id| s.scheduled(id).unwrap()) {
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
    let ok = |args: &[&str]| common::bin::chitra_ok(&data, args);
    // A ledger whose configuration names no paying department for BTXH yet.
    let config = dir.path().join("chitra.toml");
    std::fs::write(&config, "province = \"01\"\n").unwrap();
    ok(&["init", "--config", config.to_str().unwrap()]);
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
    // Nothing about a province is compiled in: without its paying department the batch is not
    // released, and the error names the key to add.
    let refused = chitra(
        &data,
        &["--as", "checker:tuan", "batch", "release", "BATCH1"],
    );
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("[departments.btxh]"),
        "{}",
        stderr(&refused)
    );
    let status = ok(&["batch", "status", "BATCH1"]);
    assert!(status.contains(" approved: "), "{status}");
    let mut toml = std::fs::read_to_string(data.join("chitra.toml")).unwrap();
    toml.push_str(
        "[departments.btxh]\nname = \"Sở Y tế tỉnh Thử Nghiệm\"\nbudget_unit_code = \"1234567\"\nfunding_bank = \"970418\"\n",
    );
    std::fs::write(data.join("chitra.toml"), toml).unwrap();
    let released = ok(&["--as", "checker:tuan", "batch", "release", "BATCH1"]);
    assert!(released.contains("payment files issued"), "{released}");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&["files", "list", "--json"])).unwrap();
    let xml = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"].as_str().unwrap().ends_with(".xml"))
        .expect("a pain.001 was issued");
    let out = dir.path().join("file.xml");
    ok(&[
        "--as",
        "checker:tuan",
        "files",
        "get",
        xml["name"].as_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    let xml = std::fs::read_to_string(&out).unwrap();
    assert!(
        xml.contains("Sở Y tế tỉnh Thử Nghiệm") && xml.contains("1234567"),
        "{xml}"
    );
    let files: serde_json::Value =
        serde_json::from_str(&ok(&["--as", "bank:970405", "files", "list", "--json"])).unwrap();
    for f in files.as_array().unwrap() {
        assert_eq!(
            f["channel"]["bin"], "970405",
            "a bank sees only its own files"
        );
    }
}

#[test]
fn a_closed_pipe_ends_quietly_errors_say_each_cause_once_and_logs_can_be_json() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    assert!(chitra(&data, &["init", "--province", "01"])
        .status
        .success());
    // The reader of the output is gone before chitra writes (`chitra status | head -0`).
    let mut child = std::process::Command::new(common::bin::BIN)
        .args(["--data-dir", data.to_str().unwrap(), "status"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "{err}"
    );

    // A configuration that cannot be read: the cause is said once.
    std::fs::write(data.join("chitra.toml"), "province = [").unwrap();
    let out = chitra(
        &data,
        &["--as", "checker:tuan", "batch", "release", "BATCH1"],
    );
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(err.matches("chitra.toml").count(), 1, "{err}");

    // A command with no JSON output refuses --json rather than ignore it.
    let out = chitra(&data, &["--json", "verify"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no JSON output"), "{}", stderr(&out));

    // Logs as JSON lines: the server's first log line parses as JSON.
    std::fs::write(data.join("chitra.toml"), "province = \"01\"\n").unwrap();
    let mut server = std::process::Command::new(common::bin::BIN)
        .args(["--data-dir", data.to_str().unwrap(), "--log-format", "json"])
        .args(["serve", "--addr", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.stderr.take().unwrap()),
        &mut line,
    )
    .unwrap();
    server.kill().unwrap();
    server.wait().unwrap();
    let log: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert!(
        log["level"].is_string() && log["fields"].is_object(),
        "{line}"
    );
}
