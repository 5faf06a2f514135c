//! The benchmarks, run end to end at a small size through the real binary. Their figures are
//! not checked (they are measured, never asserted): only that each completes and reports what
//! it measured, so that a workflow change that breaks a benchmark is found here rather than by
//! the next person measuring.

mod common;

use common::bin::{chitra_ok, init};

/// The number just before `word` in `text` (e.g. "250 payments").
fn count_before(text: &str, word: &str) -> u64 {
    let at = text
        .find(word)
        .unwrap_or_else(|| panic!("no {word:?} in {text}"));
    text[..at]
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count before {word:?} in {text}"))
}

#[test]
fn the_monthly_run_pays_everyone_enrolled() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let out = chitra_ok(dir.path(), &["bench", "batch", "--persons", "300"]);
    assert_eq!(count_before(&out, "payments ("), 300, "{out}");
    // Each step's peak memory is reported apart, the simulated banks apart from the ledger's
    // ingestion of their reports, in the order the steps ran.
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("peak memory by step (MiB): "))
        .unwrap_or_else(|| panic!("no step peaks in {out}"));
    let steps: Vec<(&str, u64)> = line
        .split(", ")
        .map(|step| {
            let (name, mib) = step.rsplit_once(' ').expect("a name and a figure");
            (name, mib.parse().expect("a figure in MiB"))
        })
        .collect();
    let names: Vec<&str> = steps.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "enrol",
            "compute",
            "append",
            "approve",
            "release",
            "the simulated banks' reports",
            "status ingestion",
            "figures"
        ],
        "{out}"
    );
    assert!(steps.iter().all(|(_, mib)| *mib > 0), "{out}");
}

#[test]
fn years_of_history_end_with_a_reopen_from_a_recent_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let out = chitra_ok(
        &data,
        &["bench", "years", "--persons", "2000", "--months", "3"],
    );
    assert_eq!(count_before(&out, "months,"), 3, "{out}");
    let records = count_before(&out, "records,");
    assert!(count_before(&out, "payments:") >= 3 * 1900, "{out}");
    // The last release (or closing) took a snapshot, so the fresh process replayed less than
    // the 10,000 records after which closing takes one.
    let snapshot = count_before(&out, "records, resident");
    assert!(snapshot > 0 && records - snapshot < 10_000, "{out}");

    let json = chitra_ok(&data, &["--json", "bench", "open"]);
    let opened: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(opened["records"], records);
    assert_eq!(opened["snapshot_records"], snapshot);
}
