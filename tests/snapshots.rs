//! Snapshots of the state (`ledger::snapshot`): opening from one gives exactly the state a
//! replay of the whole chain gives; a damaged snapshot is passed over, an altered one is found
//! by `chitra verify`; an erasure removes the snapshots that still hold the erased data.

mod common;

use std::path::{Path, PathBuf};

use chitra::domain::command::{CloseBatch, ErasePersonalData, RecordDeath};
use chitra::domain::types::{BeneficiaryId, Month};
use chitra::domain::Command;
use chitra::ledger::{Config, Ledger, Offline, SnapshotOutcome, Submission};
use common::fixtures::p;

/// Snapshots every 64 records, so a small workload takes several.
fn open(dir: &Path) -> Ledger {
    Ledger::open(Config {
        snapshot_every_records: 64,
        ..Config::new(dir)
    })
    .expect("ledger opens")
}

/// Opens with snapshots off and none on disk: the state a replay of the whole chain gives.
fn replayed_digest(dir: &Path) -> [u8; 32] {
    let copy = tempfile::tempdir().unwrap();
    common::copy_dir(dir, copy.path());
    let _ = std::fs::remove_dir_all(copy.path().join(chitra::store::SNAPSHOTS_DIR));
    let ledger = Ledger::open(Config {
        snapshot_every_records: 0,
        ..Config::new(copy.path())
    })
    .unwrap();
    assert_eq!(ledger.opening().snapshot_records, 0);
    ledger.state_digest()
}

fn snapshots(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(chitra::store::SNAPSHOTS_DIR))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "snap"));
    v.sort();
    v
}

/// Two months paid end to end (enrolments, a death, a batch computed, approved, released,
/// the banks' reports with returns, the batch closed when it can be), as the benchmarks do.
fn two_months(ledger: &Ledger) {
    let run = chitra::dev::bench::monthly::Run::new(ledger);
    run.load_rates().unwrap();
    let first = Month::parse("2024-06").unwrap();
    run.enrol(120, 5, first).unwrap();
    let mut month = first;
    for _ in 0..2 {
        let batch = run.open(month).unwrap();
        let (target, payments) = run.compute(batch).unwrap();
        run.append(batch, target, payments).unwrap();
        run.approve(batch).unwrap();
        let files = run.release(batch).unwrap();
        let reports = run.bank_reports(&files).unwrap();
        run.ingest(&reports).unwrap();
        let _ = run.submit_as_checker(Command::CloseBatch(CloseBatch { batch }));
        month = month.next();
    }
    run.submit_as_officer(Command::RecordDeath(RecordDeath {
        beneficiary: BeneficiaryId(3),
        date_of_death: month.first_day(),
        decision: None,
    }))
    .unwrap();
}

/// A data directory after `two_months` (its ledger closed), and the state it holds.
fn paid_two_months() -> (tempfile::TempDir, [u8; 32]) {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    two_months(&ledger);
    let digest = ledger.state_digest();
    drop(ledger);
    (dir, digest)
}

#[test]
fn opening_from_a_snapshot_gives_the_state_a_whole_replay_gives() {
    let dir = tempfile::tempdir().unwrap();
    let (digest, records) = {
        let ledger = open(dir.path());
        two_months(&ledger);
        // The live ledger moved the lines its snapshots froze out of memory, and the banks'
        // reports then settled and returned some of them: the digest below covers both.
        let (frozen, all) = ledger
            .read(|s| (s.payment_table().frozen_len(), s.payment_table().len()))
            .unwrap();
        assert!(
            frozen > 0 && frozen <= all,
            "{frozen} of {all} lines frozen"
        );
        // And people's histories up to the last snapshot are entries in the mapped file.
        assert!(ledger.read(|s| s.frozen_histories_len()).unwrap() > 0);
        let records = ledger.durable_records();
        (ledger.state_digest(), records)
    };
    let taken = snapshots(dir.path());
    assert!(!taken.is_empty(), "the writer took no snapshot");
    assert!(taken.len() <= 2, "old snapshots are pruned: {taken:?}");
    for path in &taken {
        // They hold personal data in the clear: owner-only, like the token file.
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(path).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }

    let rows = dir
        .path()
        .join(chitra::store::SNAPSHOTS_DIR)
        .join("payment-rows");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&rows).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600);

    let ledger = open(dir.path());
    let opening = ledger.opening();
    assert!(opening.snapshot_records > 0, "{opening:?}");
    let frozen = ledger.read(|s| s.payment_table().frozen_len()).unwrap();
    assert!(frozen > 0, "opening maps the frozen lines");
    assert_eq!(opening.snapshot_records + opening.replayed_records, records);
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);
    assert_eq!(replayed_digest(dir.path()), digest);

    // The reopened ledger goes on: a write after a snapshot-based open lands and verifies.
    let ledger = open(dir.path());
    two_more_people(&ledger);
    let digest = ledger.state_digest();
    drop(ledger);
    assert_eq!(replayed_digest(dir.path()), digest);
    let offline = Offline::open(dir.path()).unwrap();
    offline.verify(None, 0, |_| {}).unwrap();
    let checks = offline.check_snapshots().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|c| c.outcome == SnapshotOutcome::Matches),
        "{checks:?}"
    );
}

fn two_more_people(ledger: &Ledger) {
    common::enrol(ledger, 10_000, 2);
}

#[test]
fn a_damaged_snapshot_is_passed_over_and_opening_replays_instead() {
    let (dir, digest) = paid_two_months();
    for path in snapshots(dir.path()) {
        let mut bytes = std::fs::read(&path).unwrap();
        let at = bytes.len() / 2;
        bytes[at] ^= 0x40;
        std::fs::write(&path, bytes).unwrap();
    }
    let ledger = open(dir.path());
    assert_eq!(
        ledger.opening().snapshot_records,
        0,
        "a damaged snapshot was used"
    );
    assert_eq!(ledger.state_digest(), digest);
}

/// A snapshot written by an older version (format 3 kept every payment line in itself) is not
/// read as this version's state: it is passed over and opening replays, to the same state.
#[test]
fn a_snapshot_of_an_older_format_is_passed_over() {
    let (dir, digest) = paid_two_months();
    let taken = snapshots(dir.path());
    assert!(!taken.is_empty());
    for path in taken {
        let mut bytes = std::fs::read(&path).unwrap();
        // After the 16-byte magic: the format version, little-endian.
        assert_eq!(bytes[16..20], 7u32.to_le_bytes());
        bytes[16..20].copy_from_slice(&3u32.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
    }
    let ledger = open(dir.path());
    assert_eq!(ledger.opening().snapshot_records, 0);
    assert_eq!(ledger.state_digest(), digest);
}

/// Format 6's layout (`docs/chain-format.md` §8): the header's length, and the trailer's
/// (format 7's too).
const HEADER_BYTES_V6: usize = 16 + 4 + 8 + 32 + 8 + 2 * (8 + 16);
const TRAILER_BYTES_V6: usize = 8 + 16;
/// Format 7's header before the chunk digests: magic, version, head, last time, both lengths.
const HEADER_FIXED_BYTES_V7: usize = 16 + 4 + 8 + 32 + 8 + 2 * 8;
/// The bytes of each chunk of a frozen file that format 7 keeps a digest of.
const CHUNK_BYTES_V7: usize = 256 << 10;

/// The XXH3-128 of `bytes` in its canonical (big-endian) form, as formats 6 and 7 write it.
fn xxh3_128(bytes: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
}

/// A snapshot of format 7 rewritten as format 6 (one digest of all of each frozen file's
/// bytes instead of one per chunk), from the layout: each chunk's digest is checked against
/// the frozen file first, so this fails if the chunks were not what §8 says.
fn v7_as_v6(v7: &[u8], frozen_dir: &Path) -> Vec<u8> {
    assert_eq!(v7[16..20], 7u32.to_le_bytes());
    let mut header = v7[..68].to_vec();
    header[16..20].copy_from_slice(&6u32.to_le_bytes());
    let mut at = HEADER_FIXED_BYTES_V7;
    for (i, name) in ["payment-rows", "histories"].into_iter().enumerate() {
        let len = u64::from_le_bytes(v7[68 + 8 * i..76 + 8 * i].try_into().unwrap()) as usize;
        let frozen = std::fs::read(frozen_dir.join(name)).unwrap_or_default();
        for chunk in frozen[..len].chunks(CHUNK_BYTES_V7) {
            assert_eq!(v7[at..at + 16], xxh3_128(chunk), "{name}");
            at += 16;
        }
        header.extend_from_slice(&(len as u64).to_le_bytes());
        header.extend_from_slice(&xxh3_128(&frozen[..len]));
    }
    let body = v7.len() - TRAILER_BYTES_V6 - 8;
    let split = u64::from_le_bytes(v7[body..body + 8].try_into().unwrap()) as usize;
    assert!(
        split > at && split < body,
        "the state's parts are in the body"
    );
    let mut v6 = header;
    v6.extend_from_slice(&v7[at..body]);
    // The header's length changed, and so the second part's offset.
    v6.extend_from_slice(&((split + HEADER_BYTES_V6 - at) as u64).to_le_bytes());
    let hash = xxh3_128(&v6);
    v6.extend_from_slice(&(v6.len() as u64).to_le_bytes());
    v6.extend_from_slice(&hash);
    v6
}

/// A snapshot of format 6 rewritten as the release before wrote it, in `version` 5 (blake3
/// checksums: 32 bytes each, of the frozen bytes named and of the whole) or 4 (5 without the
/// offset of the state's second part), written here from the layout, not by chitra.
fn as_older_format(v6: &[u8], frozen_dir: &Path, version: u32) -> Vec<u8> {
    assert_eq!(v6[16..20], 6u32.to_le_bytes());
    let body = v6.len() - TRAILER_BYTES_V6 - 8;
    let split = u64::from_le_bytes(v6[body..body + 8].try_into().unwrap()) as usize;
    assert!(
        split > HEADER_BYTES_V6 && split < body,
        "the state's parts are split inside the body"
    );
    let mut old = v6[..16].to_vec();
    old.extend_from_slice(&version.to_le_bytes());
    old.extend_from_slice(&v6[20..68]);
    for (at, name) in [(68, "payment-rows"), (92, "histories")] {
        let len = u64::from_le_bytes(v6[at..at + 8].try_into().unwrap());
        let frozen = std::fs::read(frozen_dir.join(name)).unwrap_or_default();
        assert_eq!(v6[at + 8..at + 24], xxh3_128(&frozen[..len as usize]));
        old.extend_from_slice(&len.to_le_bytes());
        old.extend_from_slice(blake3::hash(&frozen[..len as usize]).as_bytes());
    }
    old.extend_from_slice(&v6[HEADER_BYTES_V6..body]);
    if version == 5 {
        // The header grew by 32 bytes, and so the second part's offset.
        old.extend_from_slice(&(split as u64 + 32).to_le_bytes());
    }
    let hash = blake3::hash(&old);
    old.extend_from_slice(&(old.len() as u64).to_le_bytes());
    old.extend_from_slice(hash.as_bytes());
    old
}

/// Snapshots of format 6 (one digest per frozen file), 5 (6 with blake3 checksums) and 4 (5
/// without the offset of the state's second part, before its trailer), written by the
/// releases before this one, are still opened from, to the same state: a ledger of years would
/// otherwise replay its whole chain on the first opening after an upgrade.
#[test]
fn snapshots_of_the_formats_before_open_as_they_did() {
    for version in [6, 5, 4] {
        let (dir, digest) = paid_two_months();
        let taken = snapshots(dir.path());
        let newest = taken.last().expect("a snapshot");
        let records: u64 = newest.file_stem().unwrap().to_str().unwrap()["state-".len()..]
            .parse()
            .unwrap();
        let frozen_dir = dir.path().join(chitra::store::SNAPSHOTS_DIR);
        for path in &taken {
            let v6 = v7_as_v6(&std::fs::read(path).unwrap(), &frozen_dir);
            let old = match version {
                6 => v6,
                _ => as_older_format(&v6, &frozen_dir, version),
            };
            std::fs::write(path, old).unwrap();
        }
        let ledger = open(dir.path());
        assert_eq!(
            ledger.opening().snapshot_records,
            records,
            "format {version}"
        );
        assert_eq!(ledger.state_digest(), digest, "format {version}");
    }
}

/// A snapshot whose state's parts are split at another place (its checksum recomputed) does
/// not decode and is passed over: each part must end exactly where the next begins.
#[test]
fn a_snapshot_whose_split_is_moved_is_passed_over() {
    let (dir, digest) = paid_two_months();
    for path in snapshots(dir.path()) {
        let mut bytes = std::fs::read(&path).unwrap();
        let body = bytes.len() - TRAILER_BYTES_V6;
        let at = body - 8;
        let split = u64::from_le_bytes(bytes[at..body].try_into().unwrap());
        bytes[at..body].copy_from_slice(&(split + 1).to_le_bytes());
        let hash = xxh3_128(&bytes[..body]);
        bytes[body + 8..].copy_from_slice(&hash);
        std::fs::write(&path, bytes).unwrap();
    }
    let ledger = open(dir.path());
    assert_eq!(ledger.opening().snapshot_records, 0);
    assert_eq!(ledger.state_digest(), digest);
}

/// A snapshot whose state was edited and whose checksum was recomputed (what someone with the
/// disk could do): opening would trust it, so `chitra verify` must find it.
#[test]
fn verify_finds_a_snapshot_whose_state_was_edited() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        two_months(&ledger);
    }
    let path = snapshots(dir.path()).pop().expect("a snapshot");
    let mut bytes = std::fs::read(&path).unwrap();
    // The funding account every batch names, a string in the state: change one digit.
    let needle = b"3761000000002";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the funding account is in the snapshot");
    bytes[at + needle.len() - 1] = b'9';
    let body = bytes.len() - TRAILER_BYTES_V6;
    let hash = xxh3_128(&bytes[..body]);
    bytes[body + 8..].copy_from_slice(&hash);
    std::fs::write(&path, &bytes).unwrap();

    let offline = Offline::open(dir.path()).unwrap();
    offline.verify(None, 0, |_| {}).unwrap();
    let checks = offline.check_snapshots().unwrap();
    let edited = checks.iter().find(|c| c.path == path).unwrap();
    assert_eq!(edited.outcome, SnapshotOutcome::Differs);
    drop(offline);

    // And the real binary says so, with the tampering exit code.
    let out = common::bin::chitra(dir.path(), &["verify"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TAMPERED: the snapshot"), "{stdout}");
}

#[test]
fn an_erasure_removes_the_snapshots_that_hold_the_erased_data() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = open(dir.path());
    two_months(&ledger);
    let name = ledger
        .read(|s| {
            s.beneficiary(BeneficiaryId(3))
                .and_then(|b| b.identity.known().map(|i| i.full_name.clone()))
        })
        .unwrap()
        .expect("a name");
    // Snapshots taken so far hold the person's name.
    drop(ledger);
    let holding = |dir: &Path| {
        snapshots(dir)
            .into_iter()
            .filter(|p| {
                let bytes = std::fs::read(p).unwrap();
                bytes.windows(name.len()).any(|w| w == name.as_bytes())
            })
            .count()
    };
    assert!(holding(dir.path()) > 0);
    let ledger = open(dir.path());
    ledger
        .erase_personal_data(Submission {
            principal: p("officer:lan"),
            idempotency_key: None,
            command: Command::ErasePersonalData(ErasePersonalData {
                beneficiary: BeneficiaryId(3),
                legal_basis: "retention period ended".into(),
            }),
        })
        .unwrap();
    assert_eq!(holding(dir.path()), 0, "a snapshot still holds erased data");
    two_more_people(&ledger);
    drop(ledger);
    assert_eq!(holding(dir.path()), 0);
    let ledger = open(dir.path());
    let erased = ledger
        .read(|s| {
            s.beneficiary(BeneficiaryId(3))
                .map(|b| b.identity.known().is_none())
        })
        .unwrap();
    assert_eq!(erased, Some(true));
}

/// Flips the low bit of byte `at` of a file.
fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x01;
    std::fs::write(path, &bytes).unwrap();
}

/// `chitra verify`'s check of each snapshot: every one unusable, for a reason naming `what`.
fn all_unusable(data: &Path, what: &str) {
    let offline = Offline::open(data).unwrap();
    let checks = offline.check_snapshots().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|c| matches!(&c.outcome,
            SnapshotOutcome::Unusable(why) if why.contains(what))),
        "{checks:?}"
    );
}

/// A data directory made by `chitra init` (so the binary works on it) after `two_months`, and
/// the state it holds.
fn initialised_two_months(dir: &Path) -> (PathBuf, [u8; 32]) {
    let data = dir.join("db");
    common::bin::init(&data);
    let ledger = open(&data);
    two_months(&ledger);
    (data, ledger.state_digest())
}

/// A frozen file changed under a format-7 snapshot: the real binary opens from the snapshot
/// (opening reads no frozen byte), and the first command to read the damaged chunk stops, with
/// exit code 74 and the file named, before using any byte of it, and sets the file aside; the
/// next start replays the chain to the same state and writes the file anew, and the command
/// then works.
fn a_damaged_frozen_file_stops_its_first_reader(
    dir: &Path,
    name: &str,
    at: usize,
    command: &[&str],
) {
    let (data, digest) = initialised_two_months(dir);
    let worked = common::bin::chitra_ok(&data, command);
    let path = data.join(chitra::store::SNAPSHOTS_DIR).join(name);
    flip(&path, at);
    let damaged = std::fs::read(&path).unwrap();
    // What `chitra verify` finds of it: every snapshot froze these bytes.
    let what = match name {
        "payment-rows" => "payment rows",
        _ => "Histories",
    };
    all_unusable(&data, what);

    let out = common::bin::chitra(&data, command);
    let code = chitra::ledger::frozen::FROZEN_DAMAGED_EXIT_CODE;
    let stderr = common::bin::stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{command:?}: {stderr}");
    // The file is one chunk, shorter than 256 KiB.
    assert!(damaged.len() < CHUNK_BYTES_V7);
    let bytes = format!("{name}: bytes 0..{} are not the ones", damaged.len());
    assert!(
        stderr.contains(&bytes) && stderr.contains("set aside"),
        "{stderr}"
    );
    assert!(
        common::bin::stdout(&out).is_empty(),
        "nothing printed from it"
    );
    assert!(!path.exists(), "the damaged file is set aside");
    assert_eq!(snapshots(&data), Vec::<PathBuf>::new(), "snapshots removed");
    let aside = path.with_file_name(format!("{name}.damaged"));
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        damaged,
        "set aside as it was"
    );

    let ledger = open(&data);
    assert_eq!(ledger.opening().snapshot_records, 0, "a snapshot was used");
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);
    let ledger = open(&data);
    assert!(
        ledger.opening().snapshot_records > 0,
        "the file written anew"
    );
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);
    assert_eq!(common::bin::chitra_ok(&data, command), worked);
}

/// The payment lines a snapshot froze are checked a chunk at a time as they are read: a
/// changed byte (the first line's amount, a line that would pay another sum) is never read as
/// a payment line, and `chitra verify` names every snapshot that froze it as unusable.
#[test]
fn a_changed_payment_rows_file_stops_the_first_read_of_it_and_the_next_start_replays() {
    let dir = tempfile::tempdir().unwrap();
    let review = ["batch", "review", "1"];
    a_damaged_frozen_file_stops_its_first_reader(dir.path(), "payment-rows", 0, &review);
}

/// A snapshot the live ledger takes keeps the digests of the chunks its state maps: a whole
/// chunk of payment rows damaged on disk, and not read since opening, keeps the digest of what
/// was frozen in the next snapshot (so every snapshot still finds the damage) instead of
/// being given a digest of the damage.
#[test]
fn a_snapshot_after_a_chunk_was_damaged_unread_keeps_the_digest_of_what_was_frozen() {
    let dir = tempfile::tempdir().unwrap();
    let month = Month::parse("2024-06").unwrap();
    {
        // Default snapshots: one after the release, as more than 10,000 records came.
        let ledger = Ledger::open(Config::new(dir.path())).unwrap();
        let run = chitra::dev::bench::monthly::Run::new(&ledger);
        run.load_rates().unwrap();
        run.enrol(6_500, 5, month).unwrap();
        let batch = run.open(month).unwrap();
        let (target, payments) = run.compute(batch).unwrap();
        run.append(batch, target, payments).unwrap();
        run.approve(batch).unwrap();
        run.release(batch).unwrap();
    }
    let taken = snapshots(dir.path());
    let rows_path = dir
        .path()
        .join(chitra::store::SNAPSHOTS_DIR)
        .join("payment-rows");
    let rows = std::fs::read(&rows_path).unwrap();
    assert!(rows.len() > CHUNK_BYTES_V7, "{} bytes of rows", rows.len());
    let frozen = xxh3_128(&rows[..CHUNK_BYTES_V7]);

    // Damaged before opening: opening reads no frozen byte, so it opens from the snapshot.
    flip(&rows_path, 0);
    let ledger = Ledger::open(Config::new(dir.path())).unwrap();
    assert!(ledger.opening().snapshot_records > 0);
    // More than 10,000 records that read no payment line; closing takes a snapshot.
    let run = chitra::dev::bench::monthly::Run::new(&ledger);
    run.enrol(6_000, 6, month).unwrap();
    drop(ledger);

    let newest = snapshots(dir.path()).pop().unwrap();
    assert!(
        !taken.contains(&newest),
        "no snapshot was taken after the damage"
    );
    let snapshot = std::fs::read(&newest).unwrap();
    assert_eq!(snapshot[16..20], 7u32.to_le_bytes());
    // After the fixed header and both lengths: the digest of the rows' first chunk.
    let damaged = xxh3_128(&std::fs::read(&rows_path).unwrap()[..CHUNK_BYTES_V7]);
    assert_ne!(damaged, frozen);
    let at = HEADER_FIXED_BYTES_V7;
    assert_eq!(
        snapshot[at..at + 16],
        frozen,
        "the damage was given a digest"
    );
    all_unusable(dir.path(), "payment rows");
}

/// Under a snapshot of format 6 (one digest of each file, checked whole when opening), a
/// changed byte in the rows file makes opening pass the snapshot over and replay, to the same
/// state, and `chitra verify` names it as unusable.
#[test]
fn a_changed_payment_rows_file_under_a_format_6_snapshot_is_found_when_opening() {
    let (dir, digest) = paid_two_months();
    let frozen = dir.path().join(chitra::store::SNAPSHOTS_DIR);
    for path in snapshots(dir.path()) {
        let v6 = v7_as_v6(&std::fs::read(&path).unwrap(), &frozen);
        std::fs::write(&path, v6).unwrap();
    }
    let ledger = open(dir.path());
    assert!(ledger.opening().snapshot_records > 0, "format 6 opens");
    drop(ledger);
    flip(&frozen.join("payment-rows"), 0);
    let ledger = open(dir.path());
    let opening = ledger.opening();
    assert_eq!(opening.snapshot_records, 0, "a changed row was trusted");
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);
    // Opening again (snapshots were taken anew, the rows rewritten from the replayed state)
    // gives the same state from a snapshot.
    let ledger = open(dir.path());
    assert!(ledger.opening().snapshot_records > 0);
    assert_eq!(ledger.state_digest(), digest);
}

/// A paid month's payment lines leave memory at once, not only every few million records:
/// releasing a batch takes a snapshot (once 10,000 records came since the last), and the live
/// state maps the lines it froze; the banks' reports then settle and return frozen lines.
#[test]
fn releasing_a_batch_moves_its_payment_lines_out_of_memory() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(Config::new(dir.path())).unwrap();
    let run = chitra::dev::bench::monthly::Run::new(&ledger);
    run.load_rates().unwrap();
    let month = Month::parse("2024-06").unwrap();
    run.enrol(6_000, 5, month).unwrap();
    let batch = run.open(month).unwrap();
    let (target, payments) = run.compute(batch).unwrap();
    run.append(batch, target, payments).unwrap();
    run.approve(batch).unwrap();
    let frozen = |l: &Ledger| l.read(|s| s.payment_table().frozen_len()).unwrap();
    assert_eq!(frozen(&ledger), 0);
    assert!(
        snapshots(dir.path()).is_empty(),
        "no snapshot before the release"
    );
    let files = run.release(batch).unwrap();
    // The writer takes the snapshot after the release's group, before the next command.
    two_more_people(&ledger);
    assert_eq!(snapshots(dir.path()).len(), 1);
    let lines = ledger
        .read(|s| s.batch(batch).unwrap().payments.len())
        .unwrap();
    assert!(lines > 5_000, "{lines} lines");
    assert_eq!(frozen(&ledger), lines);
    run.ingest(&run.bank_reports(&files).unwrap()).unwrap();
    let statuses = |l: &Ledger| {
        l.read(|s| {
            let b = s.batch(batch).unwrap();
            let mut n = std::collections::BTreeMap::new();
            for (_, p) in s.payments_of(b) {
                *n.entry(format!("{:?}", p.status)).or_insert(0) += 1;
            }
            n
        })
        .unwrap()
    };
    let live = statuses(&ledger);
    assert!(
        live.contains_key("Settled") && live.contains_key("Returned"),
        "{live:?}"
    );
    let digest = ledger.state_digest();
    drop(run);
    drop(ledger);
    assert_eq!(replayed_digest(dir.path()), digest);
    let reopened = Ledger::open(Config::new(dir.path())).unwrap();
    assert_eq!(statuses(&reopened), live);
    assert_eq!(reopened.state_digest(), digest);
}

/// A person's history up to a snapshot is read from the histories file: a changed byte there
/// makes opening pass the snapshot over (and replay, to the same histories), and `chitra
/// verify` names the snapshot as unusable.
/// Kilobytes of `path` this process has resident through its mappings (Linux smaps).
fn resident_kb_of(path: &Path) -> u64 {
    let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
    let mut ours = false;
    let mut kb = 0;
    for line in smaps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields
            .first()
            .is_some_and(|f| f.contains('-') && !f.ends_with(':'))
        {
            ours = fields.get(5).is_some_and(|f| Path::new(f) == path);
        } else if ours && fields.first() == Some(&"Rss:") {
            kb += fields[1].parse::<u64>().unwrap();
        }
    }
    kb
}

/// Given a ledger whose histories were frozen over several snapshots, when it is opened from
/// the newest, then opening touched none of the histories file (each person's newest entry is
/// only bounds-checked; reading them all faulted in most of the file, hundreds of megabytes
/// at a million people), and a history read afterwards makes pages resident.
#[test]
fn opening_from_a_snapshot_leaves_the_histories_file_untouched() {
    let dir = tempfile::tempdir().unwrap();
    {
        let ledger = open(dir.path());
        two_months(&ledger);
    }
    let path = dir
        .path()
        .join(chitra::store::SNAPSHOTS_DIR)
        .join("histories");
    let ledger = open(dir.path());
    assert!(ledger.opening().snapshot_records > 0);
    assert!(ledger.read(|s| s.frozen_histories_len()).unwrap() > 0);
    assert_eq!(resident_kb_of(&path), 0, "opening read history entries");
    let seqs = ledger.history(BeneficiaryId(7)).unwrap();
    assert!(seqs.len() > 3, "{seqs:?}");
    assert!(
        resident_kb_of(&path) > 0,
        "the histories file is not mapped"
    );
}

/// Each person's history up to the last snapshot is read through the histories file, checked a
/// chunk at a time: a changed byte (the first entry's first delta, a history that would name
/// another record) stops the first reader of its chunk, and `chitra verify` names every
/// snapshot that froze it as unusable.
#[test]
fn a_changed_histories_file_stops_the_first_read_of_it_and_the_next_start_replays() {
    let dir = tempfile::tempdir().unwrap();
    let show = ["beneficiary", "show", "B7"];
    a_damaged_frozen_file_stops_its_first_reader(dir.path(), "histories", 20, &show);
    // The history as it reads after the replay: each record that touches the person.
    let ledger = open(&dir.path().join("db"));
    let seqs: Vec<u64> = ledger
        .history(BeneficiaryId(7))
        .unwrap()
        .iter()
        .map(|r| r.seq)
        .collect();
    assert!(seqs.len() > 3, "{seqs:?}");
}

/// The server too: a request whose answer needs a damaged chunk gets none (the server stops
/// with exit code 74 before using a byte of it, and says why on stderr), and the server started
/// again replays the chain and answers it as before the damage.
#[test]
fn a_server_that_reads_a_damaged_chunk_stops_and_once_started_again_answers() {
    use std::io::Read;
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let (data, _) = initialised_two_months(dir.path());
    let tokens = data.join("tokens.json");
    let auditor = common::bin::token_add(&tokens, "auditor", "minh");
    let history = |addr: &str| {
        ureq::get(&format!("http://{addr}/v1/beneficiaries/B7?history=true"))
            .set("Authorization", &format!("Bearer {auditor}"))
            .call()
            .map(|r| r.into_string().unwrap())
            .map_err(|e| e.to_string())
    };
    let (mut server, addr) = common::bin::serve(&data, &tokens, "warn", Stdio::null());
    let before = history(&addr).expect("the history before the damage");
    common::bin::stop(&mut server);

    flip(
        &data.join(chitra::store::SNAPSHOTS_DIR).join("histories"),
        20,
    );
    let (mut server, addr) = common::bin::serve(&data, &tokens, "warn", Stdio::piped());
    assert!(history(&addr).is_err(), "an answer from a damaged chunk");
    let status = server.wait().unwrap();
    let code = chitra::ledger::frozen::FROZEN_DAMAGED_EXIT_CODE;
    assert_eq!(status.code(), Some(code), "{status}");
    let mut stderr = String::new();
    server
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("histories: bytes 0.."), "{stderr}");

    let (mut server, addr) = common::bin::serve(&data, &tokens, "warn", Stdio::null());
    assert_eq!(
        history(&addr).expect("the history after the replay"),
        before
    );
    common::bin::stop(&mut server);
}

/// Opening decodes the newest snapshot before it holds the data directory's lock (to overlap
/// sled's own opening). Replays the sequence where that read goes stale: a process opens while
/// another still owns the ledger, the owner appends, takes a newer snapshot and closes; the
/// one opening then gets the lock and must start from the newest snapshot, not the one it
/// read early, and have the owner's state.
#[test]
fn a_snapshot_read_before_the_lock_is_not_used_once_the_owner_wrote_a_newer_one() {
    let (dir, _) = paid_two_months();
    let owner = open(dir.path());
    let read_early = snapshots(dir.path());
    let path = dir.path().to_path_buf();
    let opening = std::thread::spawn(move || {
        let ledger = open(&path);
        (ledger.opening().snapshot_records, ledger.state_digest())
    });
    // The second opening lists and decodes the newest snapshot, then waits for the lock.
    std::thread::sleep(std::time::Duration::from_millis(300));
    let run = chitra::dev::bench::monthly::Run::new(&owner);
    run.enrol(120, 5, Month::parse("2024-09").unwrap()).unwrap();
    let digest = owner.state_digest();
    drop(owner);
    let newest = snapshots(dir.path());
    assert_ne!(
        newest.last(),
        read_early.last(),
        "the owner took a newer snapshot"
    );
    let (records, _) = chitra::store::snapshots_in(dir.path())
        .into_iter()
        .next()
        .expect("a snapshot");
    let (snapshot_records, opened) = opening.join().expect("opening does not panic");
    assert_eq!(snapshot_records, records, "opened from a stale snapshot");
    assert_eq!(opened, digest);
}
