//! The command line of issue 12, on the real binary: `chitra identity-check import` records a
//! population-database answer file and says what it found; a bad file or a reused reference
//! changes nothing; `chitra identity-check mode` is the admin's; `chitra figures` counts it.

mod common;

use chitra::formats::identity_check::write_answers;
use common::bin::{chitra, stderr, stdout};

#[test]
fn identity_checks_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let people: Vec<_> = (0..60).map(|i| chitra::dev::synth::person(3, i)).collect();
    {
        let l = common::open(dir.path());
        common::enrol(&l, 0, 60);
    }
    let answered = chitra::domain::types::Date::parse("2025-11-20").unwrap();
    let rows = chitra::dev::synth::identity_answers(3, &people, answered);
    let file = dir.path().join("kt-2025-11.csv");
    std::fs::write(&file, write_answers(&rows)).unwrap();
    let path = file.to_str().unwrap();
    let import = [
        "--as",
        "officer:lan",
        "identity-check",
        "import",
        path,
        "--answered-on",
        "2025-11-20",
    ];
    let out = chitra(dir.path(), &import);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("recorded identity check kt-2025-11.csv: 60 answers"),
        "{text}"
    );
    let verified = rows
        .iter()
        .filter(|r| {
            r.found
                && r.died_on.is_none()
                && r.full_name == chitra::domain::identity::FieldCheck::Matched
        })
        .count();
    assert!(text.contains(&format!("verified: {verified}")), "{text}");
    // The same reference again: refused, nothing recorded.
    let again = chitra(dir.path(), &import);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("recorded already"),
        "{}",
        stderr(&again)
    );
    // A bad file names the line and column.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        "citizen_id,found,full_name,birth_date,sex,vital,date_of_death\n001089012345,perhaps,,,,,\n",
    )
    .unwrap();
    let out = chitra(
        dir.path(),
        &[
            "--as",
            "officer:lan",
            "identity-check",
            "import",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("line 2, column found: must be yes or no"),
        "{}",
        stderr(&out)
    );
    // The setting is the admin's.
    let officer = chitra(
        dir.path(),
        &[
            "--as",
            "officer:lan",
            "identity-check",
            "mode",
            "BTXH",
            "warn-only",
        ],
    );
    assert!(!officer.status.success());
    let admin = chitra(
        dir.path(),
        &[
            "--as",
            "admin:thu",
            "identity-check",
            "mode",
            "BTXH",
            "warn-only",
        ],
    );
    assert!(admin.status.success(), "{}", stderr(&admin));
    assert!(stdout(&admin).contains("BTXH identity checks: warn only"));
    // The department's figures count the check.
    let out = chitra(dir.path(), &["figures"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("enrolled 60;"), "{text}");
    assert!(
        text.contains(&format!(
            "verified against the population database {verified} of 60"
        )),
        "{text}"
    );
    let out = chitra(dir.path(), &["--json", "figures", "--as-of", "2000-01-01"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(json["totals"]["enrolled"], 0);
}
