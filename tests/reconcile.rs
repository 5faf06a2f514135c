//! Bank status: every line becomes a settled or returned event or a typed break; nothing is
//! ignored, a file ingested twice appends nothing, hostile files are refused whole, and a batch
//! closes only when everything is explained.

mod common;

use chitra::app::batches;
use chitra::domain::batch::reconciliation;
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::ledger::{Ledger, SubmitError};

fn p(name: &str) -> Principal {
    Principal::parse(name).unwrap()
}

fn run(l: &Ledger, who: &str, c: Command) -> Result<chitra::ledger::Receipt, SubmitError> {
    l.submit(common::submission(who, c))
}

/// A released June 2024 BTXH batch of `n` synthetic people.
fn released(dir: &std::path::Path, n: u64) -> (Ledger, BatchId) {
    let l = common::open(dir);
    common::enact(&l, common::BEFORE_JULY_2024);
    for i in 0..n {
        let mut e = chitra::dev::synth::person(17, i);
        e.programme = Programme::Btxh;
        e.entitlements = vec![NewEntitlement {
            programme: Programme::Btxh,
            scheme: "btxh.disability_severe".into(),
            params: vec![],
            kind: EntitlementKind::Monthly,
            effective_from: Month::parse("2024-06").unwrap(),
            decision: Decision {
                number: "1/QĐ".into(),
                date: Date::parse("2024-05-01").unwrap(),
                signer: "x".into(),
            },
            payee: None,
        }];
        run(&l, "officer:lan", Command::Enrol(e)).unwrap();
    }
    run(
        &l,
        "maker:hoa",
        Command::OpenBatch(OpenBatch {
            programme: Programme::Btxh,
            month: Month::parse("2024-06").unwrap(),
            funding_account: "3761000000002".into(),
            kind: BatchKind::Regular,
        }),
    )
    .unwrap();
    let b = BatchId(1);
    batches::compute(&l, &p("maker:hoa"), None, b).unwrap();
    let c = l.state().batch(b).unwrap().computed.clone().unwrap();
    run(
        &l,
        "checker:tuan",
        Command::ApproveBatch(ApproveBatch {
            batch: b,
            content_hash: c.content_hash,
            totals: c.totals,
        }),
    )
    .unwrap();
    batches::release(&l, &p("checker:tuan"), None, b).unwrap();
    (l, b)
}

fn bank_payment(l: &Ledger, b: BatchId) -> (PaymentId, Channel, Vnd) {
    l.read(|s| {
        s.batch(b)
            .unwrap()
            .payments
            .iter()
            .map(|id| &s.payment(*id).unwrap().scheduled)
            .find(|p| matches!(p.route, Route::Bank { .. }))
            .map(|p| {
                (
                    p.payment,
                    chitra::domain::batch::channel(&p.route),
                    p.amount,
                )
            })
            .unwrap()
    })
    .unwrap()
}

/// The first payment file issued for a channel (the file a report answers).
fn file_of(l: &Ledger, channel: Channel) -> FileId {
    l.read(|s| {
        s.files()
            .iter()
            .find(|f| f.issued.channel == channel)
            .map(|f| f.issued.file)
            .unwrap()
    })
    .unwrap()
}

/// A status report on the channel's first file.
fn report(l: &Ledger, channel: Channel, tag: &str, lines: Vec<ReportedLine>) -> Command {
    Command::IngestStatusReport(IngestStatusReport {
        file: file_of(l, channel),
        format: StatusFormat::Csv,
        digest: *blake3::hash(tag.as_bytes()).as_bytes(),
        message_id: tag.into(),
        file_rejected: None,
        lines,
    })
}

/// Who posts a channel's reports: the bank itself, or for cash lists the finance office's
/// checker.
fn reporter(channel: Channel) -> String {
    match channel {
        Channel::Bank(bin) => format!("bank:{bin}"),
        Channel::Cash => "checker:tuan".into(),
    }
}

fn line(id: &str, outcome: ReportedOutcome, amount: Option<Vnd>) -> ReportedLine {
    ReportedLine {
        end_to_end_id: id.into(),
        outcome,
        amount,
    }
}

fn breaks(l: &Ledger) -> Vec<BreakKind> {
    l.read(|s| s.breaks().iter().map(|b| b.recorded.kind.clone()).collect())
        .unwrap()
}

#[test]
fn lines_that_do_not_reconcile_become_typed_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let (l, b) = released(dir.path(), 30);
    let (pay, channel, amount) = bank_payment(&l, b);
    let bank = reporter(channel);
    // A checker posting the bank's report by hand: an id the ledger never issued is a break.
    run(
        &l,
        "checker:tuan",
        report(
            &l,
            channel,
            "r1",
            vec![
                line("P999999", ReportedOutcome::Settled, None),
                line(
                    &pay.to_string(),
                    ReportedOutcome::Settled,
                    Some(Vnd(amount.0 + 1000)),
                ),
            ],
        ),
    )
    .unwrap();
    run(
        &l,
        &bank,
        report(
            &l,
            channel,
            "r2",
            vec![
                line(&pay.to_string(), ReportedOutcome::Settled, Some(amount)),
                line(
                    &pay.to_string(),
                    ReportedOutcome::Rejected {
                        reason_code: "AC04".into(),
                    },
                    None,
                ),
            ],
        ),
    )
    .unwrap();
    let kinds = breaks(&l);
    assert!(
        matches!(&kinds[0], BreakKind::UnknownEndToEndId { end_to_end_id } if end_to_end_id == "P999999"),
        "{kinds:?}"
    );
    assert_eq!(
        kinds[1],
        BreakKind::AmountMismatch {
            payment: pay,
            expected: amount,
            reported: Vnd(amount.0 + 1000)
        }
    );
    assert_eq!(
        kinds[2],
        BreakKind::ConflictingStatus { payment: pay },
        "two outcomes in one report"
    );
    assert_eq!(kinds.len(), 3);
    // The payment stayed settled (the first clean line); the breaks block closing until resolved.
    let r = l.read(|s| reconciliation(s, b)).unwrap().unwrap();
    assert_eq!(r.settled.count, 1);
    assert_eq!(r.breaks_open, 2, "the unknown id belongs to no batch");
    let close = run(
        &l,
        "checker:tuan",
        Command::CloseBatch(CloseBatch { batch: b }),
    );
    assert!(matches!(
        close,
        Err(SubmitError::Rejected(Rejection::Conflict { .. }))
    ));
}

#[test]
fn a_settled_payment_reported_as_returned_is_a_return_and_its_month_is_due_again() {
    let dir = tempfile::tempdir().unwrap();
    let (l, b) = released(dir.path(), 10);
    let (pay, channel, _) = bank_payment(&l, b);
    let bank = reporter(channel);
    let settled = vec![line(&pay.to_string(), ReportedOutcome::Settled, None)];
    run(&l, &bank, report(&l, channel, "s1", settled)).unwrap();
    let returned = vec![line(
        &pay.to_string(),
        ReportedOutcome::Rejected {
            reason_code: "AC04".into(),
        },
        None,
    )];
    run(&l, &bank, report(&l, channel, "s2", returned)).unwrap();
    let r = l.read(|s| reconciliation(s, b)).unwrap().unwrap();
    assert_eq!((r.settled.count, r.returned.count), (0, 1));
    assert!(
        breaks(&l).is_empty(),
        "a return, not a break: {:?}",
        breaks(&l)
    );
    // The month is claimed no more: the next batch may pay it again.
    let claimed = l
        .read(|s| {
            let p = s.payment(pay).unwrap();
            p.scheduled.items.iter().any(|i| {
                s.entitlement(i.entitlement)
                    .unwrap()
                    .paid_in(i.source_month)
                    != Vnd::ZERO
            })
        })
        .unwrap();
    assert!(!claimed);
}

#[test]
fn the_same_report_twice_appends_nothing_and_close_waits_for_everything() {
    let dir = tempfile::tempdir().unwrap();
    let (l, b) = released(dir.path(), 20);
    let all: Vec<(PaymentId, Channel)> = l
        .read(|s| {
            s.batch(b)
                .unwrap()
                .payments
                .iter()
                .map(|id| {
                    let p = &s.payment(*id).unwrap().scheduled;
                    (p.payment, chitra::domain::batch::channel(&p.route))
                })
                .collect()
        })
        .unwrap();
    let mut channels: Vec<Channel> = all.iter().map(|(_, c)| *c).collect();
    channels.sort();
    channels.dedup();
    for (i, c) in channels.iter().enumerate() {
        let lines = all
            .iter()
            .filter(|(_, ch)| ch == c)
            .map(|(id, _)| line(&id.to_string(), ReportedOutcome::Settled, None))
            .collect();
        let tag = format!("settle-{i}");
        let first = run(&l, &reporter(*c), report(&l, *c, &tag, lines)).unwrap();
        assert!(first.count > 0);
        let lines = all
            .iter()
            .filter(|(_, ch)| ch == c)
            .map(|(id, _)| line(&id.to_string(), ReportedOutcome::Settled, None))
            .collect();
        let again = run(&l, &reporter(*c), report(&l, *c, &tag, lines)).unwrap();
        assert_eq!(again.count, 0, "a report ingested twice appends nothing");
        if i == 0 {
            let early = run(
                &l,
                "checker:tuan",
                Command::CloseBatch(CloseBatch { batch: b }),
            );
            assert!(
                matches!(
                    early,
                    Err(SubmitError::Rejected(Rejection::Conflict { .. }))
                ),
                "outstanding payments block closing"
            );
        }
    }
    let r = l.read(|s| reconciliation(s, b)).unwrap().unwrap();
    assert_eq!(r.released, r.settled);
    run(
        &l,
        "checker:tuan",
        Command::CloseBatch(CloseBatch { batch: b }),
    )
    .unwrap();
}

#[test]
fn a_resolved_break_lets_the_batch_close() {
    let dir = tempfile::tempdir().unwrap();
    let (l, b) = released(dir.path(), 5);
    let (pay, channel, amount) = bank_payment(&l, b);
    run(
        &l,
        &reporter(channel),
        report(
            &l,
            channel,
            "wrong-amount",
            vec![line(
                &pay.to_string(),
                ReportedOutcome::Settled,
                Some(Vnd(1)),
            )],
        ),
    )
    .unwrap();
    let seq = l.read(|s| s.breaks()[0].seq).unwrap();
    let everyone: Vec<(PaymentId, Channel)> = l
        .read(|s| {
            s.batch(b)
                .unwrap()
                .payments
                .iter()
                .map(|id| {
                    let p = &s.payment(*id).unwrap().scheduled;
                    (p.payment, chitra::domain::batch::channel(&p.route))
                })
                .collect()
        })
        .unwrap();
    for (i, (id, c)) in everyone.iter().enumerate() {
        let amount = (*id == pay).then_some(amount);
        run(
            &l,
            &reporter(*c),
            report(
                &l,
                *c,
                &format!("ok-{i}"),
                vec![line(&id.to_string(), ReportedOutcome::Settled, amount)],
            ),
        )
        .unwrap();
    }
    assert!(run(
        &l,
        "checker:tuan",
        Command::CloseBatch(CloseBatch { batch: b })
    )
    .is_err());
    let empty = run(
        &l,
        "checker:tuan",
        Command::ResolveBreak(ResolveBreak {
            break_seq: seq,
            note: " ".into(),
        }),
    );
    assert!(matches!(
        empty,
        Err(SubmitError::Rejected(Rejection::Invalid { .. }))
    ));
    run(
        &l,
        "checker:tuan",
        Command::ResolveBreak(ResolveBreak {
            break_seq: seq,
            note: "bank re-sent the line with the right amount".into(),
        }),
    )
    .unwrap();
    run(
        &l,
        "checker:tuan",
        Command::CloseBatch(CloseBatch { batch: b }),
    )
    .unwrap();
}

#[test]
fn hostile_or_foreign_status_files_are_refused_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (l, _) = released(dir.path(), 10);
    let before = l.head().unwrap().records;
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">&lol2;</Document>"#;
    let deep = format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\">{}{}</Document>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let truncated = &std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/reference/iso20022/sample-pain002.xml"
    ))
    .unwrap()[..300];
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("entity expansion", laughs.to_vec()),
        ("deep nesting", deep.into_bytes()),
        ("truncated", truncated.to_vec()),
        ("not UTF-8", vec![0xff, 0xfe, b'<', 0x00]),
        ("empty", vec![]),
        (
            "a report on a file we never issued",
            std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/reference/iso20022/sample-pain002.xml"
            ))
            .unwrap(),
        ),
    ];
    for (what, bytes) in bad {
        let r = batches::ingest_status(&l, &p("checker:tuan"), None, &bytes);
        assert!(r.is_err(), "{what} was accepted");
        assert_eq!(
            l.head().unwrap().records,
            before,
            "{what} appended something"
        );
    }
    // A bank may not post a report about another bank's file.
    let (bin_file, bytes) = l
        .read(|s| {
            s.files()
                .iter()
                .find(|f| f.issued.format == FileFormat::Pain001V09)
                .map(|f| (f.issued.channel, f.issued.file))
                .unwrap()
        })
        .map(|(c, f)| (c, batches::download(&l, &p(&reporter(c)), f).unwrap().1))
        .unwrap();
    let created = chitra::formats::bank::IsoDateTime::parse("2024-06-05T10:00:00+07:00").unwrap();
    let (rep, lines) =
        chitra::formats::bank::simulate_for_pain001(&bytes, "STS-X", created, |_| {
            chitra::formats::bank::Outcome::Settled
        })
        .unwrap();
    let xml = chitra::formats::bank::simulate_pain002(&rep, &lines);
    let before = l.head().unwrap().records;
    let other = Channel::Bank(
        BankBin::parse(
            if bin_file == Channel::Bank(BankBin::parse("970416").unwrap()) {
                "970436"
            } else {
                "970416"
            },
        )
        .unwrap(),
    );
    assert!(matches!(
        batches::ingest_status(&l, &p(&reporter(other)), None, &xml),
        Err(batches::BatchError::Submit(SubmitError::Rejected(
            Rejection::UnknownReport
        )))
    ));
    assert_eq!(l.head().unwrap().records, before);
}
