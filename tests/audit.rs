//! What an auditor is told is what is true: `chitra verify`, `export`, `status` and `import`
//! never mislead. A store whose tail was cut is not exported; a group whose writing was
//! interrupted (a kill in the middle of a large roster import) is neither tampering nor part of
//! the chain; when replay fails, the real first error is named; a failed import leaves nothing
//! behind, and `--expect-head` refuses an export that ends elsewhere.

mod common;

use common::bin::{chitra, stderr, stdout};

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chitra::chain::block::decode_personal_block;
use chitra::chain::export::ChainExportReader;
use chitra::chain::record::record_hash;
use chitra::chain::{hex, Anchor};
use chitra::ledger::{Config, Ledger};
use chitra::store::{PendingBlock, Store};

fn python_verifier(file: &Path) -> Output {
    Command::new("python3")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tools/verify_export.py"
        ))
        .arg(file)
        .output()
        .expect("python3 runs (CI installs it with the blake3 package)")
}

/// A ledger of `persons` enrolments (two records each) in `dir`.
fn ledger_of(dir: &Path, persons: u64) {
    let l = common::open(dir);
    common::enrol(&l, 0, persons);
}

/// Nothing named like `name` (an export or its partial files) exists in `dir`.
fn no_file_starting_with(dir: &Path, name: &str) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .all(|e| !e.unwrap().file_name().to_string_lossy().starts_with(name))
}

#[test]
fn export_refuses_a_store_whose_tail_was_cut() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    ledger_of(&db, 20);
    let records = common::raw_records(&db);
    assert_eq!(records.len(), 40);
    // The last five records are removed; the head anchor (seq 39) is left as it was.
    common::rewrite_records(&db, &records[..35], None);

    let file = dir.path().join("cut.export");
    let out = chitra(&db, &["export", file.to_str().unwrap()]);
    assert!(!out.status.success(), "exported: {}", stdout(&out));
    assert!(
        stderr(&out).contains("seq 35: truncated"),
        "the refusal names the first missing record: {}",
        stderr(&out)
    );
    assert!(
        no_file_starting_with(dir.path(), "cut.export"),
        "a refused export leaves no file behind"
    );
    // The same finding as `chitra verify`.
    let out = chitra(&db, &["verify"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("TAMPERED: seq 35: truncated"));
}

/// The records of a ledger of `persons` enrolments, as stored blocks ready to be written again
/// (each enrolment is its own group, so its own block).
fn blocks_of(dir: &Path, persons: u64, from_seq: u64) -> Vec<PendingBlock> {
    ledger_of(dir, persons);
    let store = Store::open(dir).unwrap();
    store
        .blocks()
        .map(Result::unwrap)
        .filter(|b| b.first_seq >= from_seq)
        .map(|b| PendingBlock {
            first_seq: b.first_seq,
            records: b.records.to_vec(),
            personal: b
                .personal
                .map(|p| decode_personal_block(&p).unwrap())
                .unwrap_or_default(),
        })
        .collect()
}

/// `dir` holds what a kill in the middle of a large group leaves: the chain of `persons`
/// enrolments, then blocks of the next `more` enrolments written by `append_partial` with the
/// in-progress marker and no new head anchor. The blocks are the genuine continuation of the
/// chain (the same clock and salts produce the same records), so the chain is intact.
fn interrupted(dir: &Path, scratch: &Path, persons: u64, more: u64) {
    if persons > 0 {
        ledger_of(dir, persons);
    }
    let first = 2 * persons;
    let blocks = blocks_of(scratch, persons + more, first);
    if persons > 0 {
        let ours = common::raw_records(dir);
        assert_eq!(
            ours[..],
            common::raw_records(scratch)[..first as usize],
            "the continuation starts from the same chain"
        );
    }
    let store = Store::open(dir).unwrap();
    store.append_partial(blocks, first).unwrap();
}

#[test]
fn an_interrupted_group_after_an_intact_chain_is_left_out_and_not_called_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    interrupted(&db, &dir.path().join("scratch"), 10, 150);

    let out = chitra(&db, &["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("OK: 20 records verified"), "{text}");
    assert!(
        text.contains(
            "an interrupted write of 300 records beyond the head (from seq 20) was not \
             acknowledged and is not part of the chain"
        ),
        "{text}"
    );

    let out = chitra(&db, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["records"], 20);
    assert_eq!(status["head_seq"], 19);
    assert_eq!(status["interrupted_first_seq"], 20);
    assert_eq!(status["interrupted_records"], 300);

    let file = dir.path().join("chain.export");
    let out = chitra(&db, &["export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("exported 20 records"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("exported 10 personal-data entries"),
        "{}",
        stdout(&out)
    );
    let report = chitra::ledger::verify::verify_export(
        std::fs::File::open(&file).unwrap(),
        None,
        None,
        |_| {},
    )
    .unwrap();
    assert_eq!(report.verified.records, 20);
    let py = python_verifier(&file);
    assert!(stdout(&py).starts_with("OK: 20 records"), "{}", stdout(&py));

    // Opening discards the group, as the readers said; the next write continues at seq 20.
    let l = common::open(&db);
    assert_eq!(l.head().unwrap().records, 20);
    assert_eq!(common::enrol(&l, 500, 1)[0].first_seq, 20);
    drop(l);
    let out = chitra(&db, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["records"], 22);
    assert_eq!(status["interrupted_records"], serde_json::Value::Null);
}

#[test]
fn an_interrupted_first_group_on_an_empty_store_is_not_reported_as_a_chain() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("db");
    interrupted(&db, &dir.path().join("scratch"), 0, 200);

    let out = chitra(&db, &["verify"]);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(text.starts_with("OK: 0 records verified"), "{text}");
    assert!(
        text.contains("an interrupted write of 400 records beyond the head (from seq 0)"),
        "{text}"
    );

    let file = dir.path().join("chain.export");
    let out = chitra(&db, &["export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut reader = ChainExportReader::new(std::fs::File::open(&file).unwrap()).unwrap();
    assert!(
        !reader.next_record(&mut Vec::new()).unwrap(),
        "no unacknowledged record is exported"
    );
    assert_eq!(reader.trailer(), Some((0, [0; 32])));
    let personal = std::fs::read(dir.path().join("chain.export.personal")).unwrap();
    assert_eq!(personal, b"CHITRAP1", "nor its personal data");
}

/// 300 records, one per block, as `rewrite_records` stores them: opening hands the verifier
/// thread 128 blocks at a time, so a replay error at seq 200 comes after it has seen only 128.
fn replay_fixture(dir: &Path) -> Vec<Vec<u8>> {
    ledger_of(dir, 150);
    common::raw_records(dir)
}

/// A payload version no decoder knows: replay cannot decode the record.
fn undecodable(record: &mut [u8]) {
    record[2..4].copy_from_slice(&0xEEEEu16.to_le_bytes());
}

/// Redoes every link after `from` (and returns the head), as an adversary hiding a change would.
fn relink(records: &mut [Vec<u8>], from: usize) -> (u64, [u8; 32]) {
    for i in from + 1..records.len() {
        let prev = record_hash(&records[i - 1]);
        records[i][12..44].copy_from_slice(&prev);
    }
    let last = records.len() - 1;
    (last as u64, record_hash(&records[last]))
}

fn open_error(dir: &Path) -> String {
    match Ledger::open(Config::new(dir)) {
        Ok(_) => panic!("the damaged ledger opened"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn opening_names_the_damage_not_where_the_verifier_was_stopped() {
    // Record 200 altered so that it no longer decodes: the verifier calls it content altered.
    let dir = tempfile::tempdir().unwrap();
    let mut r = replay_fixture(dir.path());
    undecodable(&mut r[200]);
    common::rewrite_records(dir.path(), &r, None);
    let e = open_error(dir.path());
    assert!(e.contains("seq 200: content altered"), "{e}");
    assert!(!e.contains("truncated"), "{e}");

    // The same change with every later link and the anchor redone: the chain verifies, and
    // replay's own error at seq 200 is the first one.
    let dir = tempfile::tempdir().unwrap();
    let mut r = replay_fixture(dir.path());
    undecodable(&mut r[200]);
    let head = relink(&mut r, 200);
    common::rewrite_records(dir.path(), &r, Some(head));
    let e = open_error(dir.path());
    assert!(e.starts_with("seq 200: "), "{e}");
    assert!(
        e.contains("61166"),
        "names the unknown payload version: {e}"
    );

    // Damage after the replay error does not hide it.
    let dir = tempfile::tempdir().unwrap();
    let mut r = replay_fixture(dir.path());
    undecodable(&mut r[200]);
    let head = relink(&mut r, 200);
    let at = common::payload_range(&r[250]).start + 1;
    r[250][at] ^= 0x01;
    common::rewrite_records(dir.path(), &r, Some(head));
    let e = open_error(dir.path());
    assert!(e.starts_with("seq 200: "), "{e}");
}

/// A real export of 8,000 records (over 128 import blocks of 8 KiB) in `dir`.
fn big_export(dir: &Path) -> (PathBuf, Anchor) {
    let db = dir.join("db");
    let out = chitra(
        &db,
        &["bench", "append", "--events", "8000", "--submitters", "2"],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let file = dir.join("chain.export");
    let out = chitra(&db, &["export", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let records = common::export::records(&std::fs::read(&file).unwrap());
    assert_eq!(records.len(), 8000);
    let head = Anchor {
        seq: 7999,
        hash: record_hash(&records[7999]),
    };
    (file, head)
}

#[test]
fn a_failed_import_leaves_the_data_directory_as_it_was_and_names_the_real_error() {
    let dir = tempfile::tempdir().unwrap();
    let (good, _) = big_export(dir.path());
    // A history rewritten consistently (it verifies) in which record 7000 does not decode.
    let mut records = common::export::records(&std::fs::read(&good).unwrap());
    undecodable(&mut records[7000]);
    relink(&mut records, 7000);
    let bad = dir.path().join("bad.export");
    std::fs::write(&bad, common::export::export(&records)).unwrap();
    std::fs::copy(
        dir.path().join("chain.export.personal"),
        dir.path().join("bad.export.personal"),
    )
    .unwrap();
    assert!(
        chitra(dir.path(), &["verify", "--export", bad.to_str().unwrap()])
            .status
            .success()
    );

    // Into a directory that does not exist yet: it still does not.
    let copy = dir.path().join("copy");
    let out = chitra(&copy, &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success(), "{}", stdout(&out));
    let e = stderr(&out);
    assert!(
        e.contains("seq 7000: "),
        "names the record that does not replay: {e}"
    );
    assert!(!e.contains("truncated"), "{e}");
    assert!(!copy.exists(), "a failed import left {}", copy.display());
    // Into an empty directory: it stays empty.
    std::fs::create_dir(&copy).unwrap();
    let out = chitra(&copy, &["import", bad.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(
        chitra::ledger::is_empty_dir(&copy),
        "a failed import filled the directory"
    );
    assert!(
        no_file_starting_with(dir.path(), ".copy"),
        "the import's scratch directory was removed"
    );
}

#[test]
fn import_with_an_expected_head_refuses_an_export_that_ends_elsewhere() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(&dir.path().join("db"));
    common::enrol(&l, 0, 30);
    let head = l.head().unwrap().last.unwrap();
    let file = dir.path().join("chain.export");
    chitra::ledger::archive::export(l.store(), &file, None).unwrap();
    drop(l);

    let copy = dir.path().join("copy");
    let earlier = format!("{}:{}", head.seq - 1, hex(&head.hash));
    let out = chitra(
        &copy,
        &["import", file.to_str().unwrap(), "--expect-head", &earlier],
    );
    assert!(!out.status.success(), "{}", stdout(&out));
    assert!(
        stderr(&out).contains(&format!("the export's head is {head}, not the expected")),
        "{}",
        stderr(&out)
    );
    assert!(!copy.exists(), "nothing is moved into place");

    let other = format!("{}:{}", head.seq, hex(&[7; 32]));
    let out = chitra(
        &copy,
        &["import", file.to_str().unwrap(), "--expect-head", &other],
    );
    assert!(!out.status.success());
    assert!(!copy.exists());

    // Into an existing empty directory, which it replaces.
    std::fs::create_dir(&copy).unwrap();
    let out = chitra(
        &copy,
        &[
            "import",
            file.to_str().unwrap(),
            "--expect-head",
            &head.to_string(),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("imported 60 records"),
        "{}",
        stdout(&out)
    );
    let out = chitra(&copy, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["head_hash"], hex(&head.hash));
    assert_eq!(status["records"], 60);
}
