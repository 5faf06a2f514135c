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
        assert_eq!(bytes[16..20], 6u32.to_le_bytes());
        bytes[16..20].copy_from_slice(&3u32.to_le_bytes());
        std::fs::write(&path, bytes).unwrap();
    }
    let ledger = open(dir.path());
    assert_eq!(ledger.opening().snapshot_records, 0);
    assert_eq!(ledger.state_digest(), digest);
}

/// Format 6's layout (`docs/chain-format.md` §8): the header's length, and the trailer's.
const HEADER_BYTES_V6: usize = 16 + 4 + 8 + 32 + 8 + 2 * (8 + 16);
const TRAILER_BYTES_V6: usize = 8 + 16;

/// The XXH3-128 of `bytes` in its canonical (big-endian) form, as format 6 writes it.
fn xxh3_128(bytes: &[u8]) -> [u8; 16] {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
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

/// Snapshots of format 5 (blake3 checksums) and 4 (5 without the offset of the state's second
/// part, before its trailer), written by the releases before this one, are still opened from,
/// to the same state: a ledger of years would otherwise replay its whole chain on the first
/// opening after an upgrade.
#[test]
fn snapshots_of_the_formats_before_open_as_they_did() {
    for version in [5, 4] {
        let (dir, digest) = paid_two_months();
        let taken = snapshots(dir.path());
        let newest = taken.last().expect("a snapshot");
        let records: u64 = newest.file_stem().unwrap().to_str().unwrap()["state-".len()..]
            .parse()
            .unwrap();
        let frozen_dir = dir.path().join(chitra::store::SNAPSHOTS_DIR);
        for path in &taken {
            let old = as_older_format(&std::fs::read(path).unwrap(), &frozen_dir, version);
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

/// The payment lines a snapshot froze are checked against its digest before they are mapped: a
/// changed byte in the rows file makes opening pass the snapshot over (and replay, to the same
/// state), and `chitra verify` names the snapshot as unusable.
#[test]
fn a_changed_payment_rows_file_is_found_and_the_snapshot_passed_over() {
    let (dir, digest) = paid_two_months();
    let rows = dir
        .path()
        .join(chitra::store::SNAPSHOTS_DIR)
        .join("payment-rows");
    let mut bytes = std::fs::read(&rows).unwrap();
    // The first row's amount, its low byte: a payment line that would pay another sum.
    bytes[0] ^= 0x01;
    std::fs::write(&rows, &bytes).unwrap();

    let ledger = open(dir.path());
    assert_eq!(
        ledger.opening().snapshot_records,
        0,
        "a changed row was trusted"
    );
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);
    // Opening again (snapshots were taken anew, the rows rewritten from the replayed state)
    // gives the same state from a snapshot.
    let ledger = open(dir.path());
    assert!(ledger.opening().snapshot_records > 0);
    assert_eq!(ledger.state_digest(), digest);
    drop(ledger);

    std::fs::write(&rows, &bytes).unwrap();
    let offline = Offline::open(dir.path()).unwrap();
    let checks = offline.check_snapshots().unwrap();
    assert!(!checks.is_empty());
    assert!(
        checks.iter().all(|c| matches!(&c.outcome,
            SnapshotOutcome::Unusable(why) if why.contains("payment rows"))),
        "{checks:?}"
    );
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

#[test]
fn a_changed_histories_file_is_found_and_the_snapshot_passed_over() {
    let dir = tempfile::tempdir().unwrap();
    let seqs = |l: &Ledger| -> Vec<u64> {
        let records = l.history(BeneficiaryId(7)).unwrap();
        records.iter().map(|r| r.seq).collect()
    };
    let (digest, history) = {
        let ledger = open(dir.path());
        two_months(&ledger);
        let history = seqs(&ledger);
        assert!(history.len() > 3, "{history:?}");
        (ledger.state_digest(), history)
    };
    let reopened = open(dir.path());
    assert!(reopened.opening().snapshot_records > 0);
    assert_eq!(seqs(&reopened), history, "a history read through the file");
    drop(reopened);

    let path = dir
        .path()
        .join(chitra::store::SNAPSHOTS_DIR)
        .join("histories");
    let mut bytes = std::fs::read(&path).unwrap();
    // The first entry's first delta: a history that would name another record.
    bytes[20] ^= 0x01;
    std::fs::write(&path, &bytes).unwrap();
    let offline = Offline::open(dir.path()).unwrap();
    let checks = offline.check_snapshots().unwrap();
    assert!(
        checks.iter().all(|c| matches!(&c.outcome,
            SnapshotOutcome::Unusable(why) if why.contains("Histories"))),
        "{checks:?}"
    );
    drop(offline);
    let ledger = open(dir.path());
    assert_eq!(
        ledger.opening().snapshot_records,
        0,
        "a changed history was trusted"
    );
    assert_eq!(ledger.state_digest(), digest);
    assert_eq!(seqs(&ledger), history);
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
