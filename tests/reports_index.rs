//! The report index (`ledger::report_index`): the department's figures read through it are
//! the figures of a pass over the whole chain, as of every day of a history with holds, route
//! moves, a death, a correction, a release and returns; a report sees records appended after
//! the one before; and the index is derived data: deleted, torn, foreign or left behind by a
//! closed ledger, it is rebuilt from the chain and the figures do not change.

mod common;

use std::path::Path;

use chitra::app::batches;
use chitra::app::reports::{compute, figures, known_at, AsOf, Figures};
use chitra::dev::bench::monthly::Run;
use chitra::domain::command::*;
use chitra::domain::event::{Channel, FileFormat, HoldReason};
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::formats::bank::{self as files, IsoDateTime, Outcome};
use chitra::formats::reference::Reference;
use chitra::ledger::codec::decode_event;
use chitra::ledger::report_index::{wanted, wanted_payload, IndexCheck, REPORT_INDEX_FILE};
use chitra::ledger::{Ledger, Offline};
use common::fixtures::{bank, cash, decision};
use common::submission;

/// 2025-08-01 09:00 in Hà Nội: after every decision the synthetic people carry.
const AUGUST_1_MS: i64 = 1_754_013_600_000;
const DAY_MS: i64 = 86_400_000;

fn august(day: i64) -> Date {
    Date::new(2025, 8, day as u8).unwrap()
}

/// The ledger reopened with its clock on `day` August (each day a new process, as the CLI).
fn on(dir: &Path, day: i64) -> Ledger {
    common::open_at(dir, AUGUST_1_MS + (day - 1) * DAY_MS)
}

fn officer(l: &Ledger, command: Command) {
    l.submit(submission("officer:lan", command))
        .expect("accepted");
}

/// The figures as of `day` through the index and through the whole chain, after checking
/// that the two passes agree record for record.
fn both_ways(l: &Ledger, day: Option<Date>) -> (Figures, Figures) {
    let known = match day {
        Some(d) => known_at(l, d).unwrap(),
        None => l.head().unwrap().records,
    };
    let indexed = AsOf::read(l, known).unwrap();
    let whole = AsOf::read_whole_chain(l, known).unwrap();
    assert_eq!(indexed, whole, "the passes differ as of {day:?}");
    let reference = Reference::embedded();
    l.read(|st| {
        (
            compute(st, known, &indexed, reference),
            compute(st, known, &whole, reference),
        )
    })
    .unwrap()
}

/// A month of history, one step a day (1 to 6 August); what each day did, for the checks.
fn history(dir: &Path) -> Month {
    let month = Month::parse("2025-08").unwrap();
    let l = on(dir, 1);
    let run = Run::new(&l);
    run.load_rates().unwrap();
    run.enrol(30, 5, month).unwrap();
    drop(run);
    drop(l);
    let l = on(dir, 2);
    officer(
        &l,
        Command::HoldForReview(HoldForReview {
            beneficiary: BeneficiaryId(3),
            reason: HoldReason::Other {
                note: "neighbours say she moved away".into(),
            },
        }),
    );
    let route = |l: &Ledger, route: RouteRequest| {
        officer(
            l,
            Command::SetPaymentRoute(SetPaymentRoute {
                beneficiary: BeneficiaryId(2),
                route,
                reason: "the commune's decision".into(),
            }),
        )
    };
    route(&l, cash());
    drop(l);
    let l = on(dir, 3);
    route(&l, bank("970436", "0011001234567", "NGUYEN VAN AN"));
    let run = Run::new(&l);
    let batch = run.open(month).unwrap();
    let (target, payments) = run.compute(batch).unwrap();
    run.append(batch, target, payments).unwrap();
    run.approve(batch).unwrap();
    let issued = run.release(batch).unwrap();
    drop(run);
    drop(l);
    // Every bank sends back every payment of its file.
    let l = on(dir, 4);
    let created = IsoDateTime::parse("2025-08-04T16:00:00+07:00").unwrap();
    for f in issued.iter().filter(|f| f.format == FileFormat::Pain001V09) {
        let Channel::Bank(bin) = f.channel else {
            continue;
        };
        let bytes = l.file_bytes(&f.digest).unwrap().expect("kept");
        let rejected = |_: &_| Outcome::Rejected {
            reason_code: "AC04".into(),
        };
        let (report, lines) =
            files::simulate_for_pain001(&bytes, &format!("STS-{}", f.name), created, rejected)
                .unwrap();
        let who = common::fixtures::p(&format!("bank:{bin}"));
        batches::ingest_status(&l, &who, None, &files::simulate_pain002(&report, &lines)).unwrap();
    }
    drop(l);
    let l = on(dir, 5);
    officer(
        &l,
        Command::ClearReview(ClearReview {
            beneficiary: BeneficiaryId(3),
            decision: decision("12/QĐ-UBND"),
            note: "she lives here".into(),
        }),
    );
    officer(
        &l,
        Command::RecordDeath(RecordDeath {
            beneficiary: BeneficiaryId(7),
            date_of_death: august(4),
            decision: None,
        }),
    );
    officer(
        &l,
        Command::CorrectDetails(CorrectDetails {
            beneficiary: BeneficiaryId(9),
            full_name: Some("Trần Thị Bích".into()),
            birth_date: None,
            sex: None,
            address_line: None,
            commune: None,
            reason: "the citizen ID card says so".into(),
        }),
    );
    month
}

#[test]
fn the_figures_through_the_index_are_the_figures_of_the_whole_chain_on_every_day() {
    let dir = tempfile::tempdir().unwrap();
    let month = history(dir.path());
    let l = on(dir.path(), 7);
    let mut seen = Vec::new();
    for day in 1..=7 {
        let (indexed, whole) = both_ways(&l, Some(august(day)));
        assert_eq!(indexed, whole, "as of {day} August");
        // What `figures` answers is the same again.
        let answered = figures(&l, Some(august(day))).unwrap();
        assert_eq!(answered.people, whole.people, "as of {day} August");
        assert_eq!(answered.totals, whole.totals, "as of {day} August");
        seen.push(whole);
    }
    // The history is not empty: each kind of record counted on its days.
    let held = |f: &Figures| f.totals.held.get("held for review").copied().unwrap_or(0);
    assert_eq!(seen[0].totals.enrolled, 30);
    assert_eq!(held(&seen[0]), 0);
    assert_eq!(held(&seen[2]), 1, "held from the 2nd to the 5th");
    assert_eq!(held(&seen[4]), 0);
    assert_eq!(seen[1].totals.moved_to_account, 0);
    assert!(seen[2].totals.moved_to_account >= 1, "B2 moved on the 3rd");
    let returned = |f: &Figures| {
        f.payments
            .iter()
            .find(|p| p.month == month)
            .map_or(0, |p| p.returned.count)
    };
    assert_eq!(returned(&seen[2]), 0);
    assert!(returned(&seen[3]) > 0, "returned on the 4th");
    let (now, whole_now) = both_ways(&l, None);
    assert_eq!(now, whole_now);
    // The index names exactly the records of the kinds the pass reads: not the payment lines.
    let head = l.head().unwrap().records;
    let wanted_seqs: Vec<u64> = l
        .events(0, head)
        .map(|r| r.unwrap())
        .filter(|r| wanted(&r.event))
        .map(|r| r.seq)
        .collect();
    assert_eq!(l.report_seqs(head).unwrap(), wanted_seqs);
    assert!(
        wanted_seqs.len() < head as usize / 2,
        "{} of {head}",
        wanted_seqs.len()
    );
}

#[test]
fn a_report_sees_the_records_appended_since_the_last() {
    let dir = tempfile::tempdir().unwrap();
    let l = common::open(dir.path());
    common::enrol(&l, 0, 5);
    assert_eq!(figures(&l, None).unwrap().totals.enrolled, 5);
    common::enrol(&l, 5, 3);
    officer(
        &l,
        Command::HoldForReview(HoldForReview {
            beneficiary: BeneficiaryId(1),
            reason: HoldReason::Other {
                note: "a letter came back".into(),
            },
        }),
    );
    let after = figures(&l, None).unwrap();
    assert_eq!(after.totals.enrolled, 8);
    assert_eq!(after.totals.held.get("held for review"), Some(&1));
    let (indexed, whole) = both_ways(&l, None);
    assert_eq!(indexed, whole);
}

#[test]
fn a_deleted_torn_or_foreign_index_is_rebuilt_from_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path());
    let path = dir.path().join(REPORT_INDEX_FILE);
    let l = on(dir.path(), 7);
    let expected = figures(&l, None).unwrap();
    assert!(
        path.is_file(),
        "the committer and the reports keep the index"
    );
    let len = std::fs::metadata(&path).unwrap().len();
    // A torn last frame (a crash while it was written).
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 3).unwrap();
    drop(file);
    assert_eq!(figures(&l, None).unwrap(), expected, "torn");
    // Garbage after the frames.
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(&[0xff; 40]);
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(figures(&l, None).unwrap(), expected, "garbage");
    // Another chain's index (its header names another record 0).
    bytes[10] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(figures(&l, None).unwrap(), expected, "foreign");
    // Gone.
    std::fs::remove_file(&path).unwrap();
    assert_eq!(figures(&l, None).unwrap(), expected, "deleted");
    assert!(path.is_file(), "rebuilt");
    // A frame that leaves out records (damage that still checks): the figures notice the
    // enrolments missing and read the whole chain.
    let head = l.head().unwrap().records;
    let mut lying = bytes[..40].to_vec();
    lying[10] ^= 1; // the right chain again
    let mut frame = Vec::new();
    frame.extend_from_slice(&0u64.to_le_bytes());
    frame.extend_from_slice(&head.to_le_bytes());
    frame.extend_from_slice(&0u32.to_le_bytes());
    let check = blake3::hash(&frame);
    frame.extend_from_slice(&check.as_bytes()[..8]);
    lying.extend_from_slice(&frame);
    std::fs::write(&path, &lying).unwrap();
    assert!(
        l.report_seqs(head).unwrap().is_empty(),
        "the frame is taken"
    );
    assert_eq!(figures(&l, None).unwrap(), expected, "a frame that lies");
    drop(l);
    // Reopened, with the frames of the earlier process.
    let l = on(dir.path(), 8);
    assert_eq!(figures(&l, None).unwrap(), expected, "reopened");
}

#[test]
fn the_index_reads_the_kinds_the_pass_reads_from_their_first_byte() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/golden/v1/payloads-v1.txt"),
    )
    .unwrap();
    let mut kinds = 0;
    let mut wanted_kinds = 0;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (name, hex) = line.split_once(' ').unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let event = decode_event(1, &bytes).unwrap();
        assert_eq!(event.name(), name);
        assert_eq!(wanted_payload(1, &bytes), wanted(&event), "{name}");
        kinds += 1;
        wanted_kinds += usize::from(wanted(&event));
    }
    assert_eq!(wanted_kinds, 8, "the kinds `AsOf::see` reads");
    assert!(kinds > wanted_kinds);
    // A payload version this build does not know is read, never left out.
    assert!(wanted_payload(2, &[13]));
}

/// An index that still checks but leaves out a record the figures read (what someone who can
/// write the data directory could do to hide a hold from the figures) is found by
/// `chitra verify` as it finds an edited snapshot; an honest index passes.
#[test]
fn verify_finds_an_index_that_leaves_out_a_record_and_passes_an_honest_one() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path());
    let (head, seqs) = {
        let l = on(dir.path(), 7);
        let head = l.head().unwrap().records;
        (head, l.report_seqs(head).unwrap())
    };
    let out = common::bin::chitra(dir.path(), &["verify"]);
    let text = common::bin::stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("the report index matches the chain"),
        "{text}"
    );
    let honest = Offline::open(dir.path())
        .unwrap()
        .check_report_index()
        .unwrap();
    assert!(
        matches!(honest, IndexCheck::Matches { frames, records } if frames > 0 && records == head),
        "{honest:?}"
    );

    // One frame over the whole chain listing every wanted record but the last, checked.
    let path = dir.path().join(REPORT_INDEX_FILE);
    let mut lying = std::fs::read(&path).unwrap()[..40].to_vec();
    let mut frame = Vec::new();
    frame.extend_from_slice(&0u64.to_le_bytes());
    frame.extend_from_slice(&head.to_le_bytes());
    frame.extend_from_slice(&(seqs.len() as u32 - 1).to_le_bytes());
    for s in &seqs[..seqs.len() - 1] {
        frame.extend_from_slice(&s.to_le_bytes());
    }
    let check = blake3::hash(&frame);
    frame.extend_from_slice(&check.as_bytes()[..8]);
    lying.extend_from_slice(&frame);
    std::fs::write(&path, &lying).unwrap();

    let out = common::bin::chitra(dir.path(), &["verify"]);
    let text = common::bin::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "TAMPERED: the report index lists other records than the chain's for records 0..{head}"
        )),
        "{text}"
    );
    // Removed as told, the next report rebuilds it and verify passes again.
    std::fs::remove_file(&path).unwrap();
    let l = on(dir.path(), 8);
    figures(&l, None).unwrap();
    drop(l);
    assert_eq!(
        common::bin::chitra(dir.path(), &["verify"]).status.code(),
        Some(0)
    );
}

/// A chain cut back to fewer records, with a head anchor that matches the cut (what someone who
/// can write the store could do to drop the latest month without breaking a link): the chain
/// itself still verifies, but the report index's frames, written only once their records were
/// durable, cover records the chain no longer holds, and `chitra verify` says so.
#[test]
fn verify_finds_a_cut_tail_from_the_report_index() {
    let dir = tempfile::tempdir().unwrap();
    history(dir.path());
    {
        let l = on(dir.path(), 7);
        figures(&l, None).unwrap();
    }
    let records = common::raw_records(dir.path());
    let keep = records.len() - 5;
    let last = chitra::chain::record::record_hash(&records[keep - 1]);
    common::rewrite_records(dir.path(), &records[..keep], Some((keep as u64 - 1, last)));

    let out = common::bin::chitra(dir.path(), &["verify"]);
    let text = common::bin::stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains(&format!("OK: {keep} records verified")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "TAMPERED: the report index covers {} records but the chain holds {keep}: records that were acknowledged are gone",
            records.len()
        )),
        "{text}"
    );
}
