//! Bank status: every line becomes a settled or returned event or a typed break; nothing is
//! ignored, a report ingested twice appends nothing, hostile files are refused whole, and a
//! batch closes only when everything is explained. The decisions run in the pure harness; the
//! hostile files through the workflow on a ledger.

mod common;

use chitra::app::batches;
use chitra::domain::batch::reconciliation;
use chitra::domain::command::*;
use chitra::domain::event::*;
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use chitra::ledger::{Ledger, SubmitError};
use common::fixtures::{m, p, synthetic, BEFORE_JULY_2024};
use common::given::{line, report, reporter, World};

/// A released June 2024 BTXH batch of `n` synthetic people, in the harness.
fn released(n: u64) -> (World, BatchId) {
    let mut w = World::with_schedules(BEFORE_JULY_2024);
    for i in 0..n {
        w.enrol(synthetic(17, i));
    }
    let (b, _) = w.pay(Programme::Btxh, m("2024-06"));
    (w, b)
}

/// The same on a ledger, released with its payment files.
fn released_on_disk(dir: &std::path::Path, n: u64) -> Ledger {
    let l = common::open(dir);
    common::enact(&l, BEFORE_JULY_2024);
    for i in 0..n {
        common::submit(&l, "officer:lan", Command::Enrol(synthetic(17, i))).unwrap();
    }
    common::pay_month(&l, Programme::Btxh, "2024-06", BatchKind::Regular);
    l
}

/// A payment by bank: its id, channel and amount.
fn bank_payment(w: &World, b: BatchId) -> (PaymentId, Channel, Vnd) {
    w.payments(b)
        .into_iter()
        .find(|p| matches!(p.route, Route::Bank { .. }))
        .map(|p| {
            (
                p.payment,
                chitra::domain::batch::channel(&p.route),
                p.amount,
            )
        })
        .unwrap()
}

/// Every payment of the batch with its channel.
fn everyone(w: &World, b: BatchId) -> Vec<(PaymentId, Channel)> {
    w.payments(b)
        .into_iter()
        .map(|p| (p.payment, chitra::domain::batch::channel(&p.route)))
        .collect()
}

fn breaks(w: &World) -> Vec<BreakKind> {
    w.state()
        .breaks()
        .iter()
        .map(|b| b.recorded.kind.clone())
        .collect()
}

fn close(b: BatchId) -> Command {
    Command::CloseBatch(CloseBatch { batch: b })
}

#[test]
fn lines_that_do_not_reconcile_become_typed_breaks() {
    let (mut w, b) = released(30);
    let (pay, channel, amount) = bank_payment(&w, b);
    let file = w.file_of(b, channel);
    // A checker posting the bank's report by hand: an id the ledger never issued is a break.
    w.run_as(
        "checker:tuan",
        report(
            file,
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
    );
    w.run_as(
        &reporter(channel),
        report(
            file,
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
    );
    let kinds = breaks(&w);
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
    let r = reconciliation(w.state(), b).unwrap();
    assert_eq!(r.settled.count, 1);
    assert_eq!(r.breaks_open, 2, "the unknown id belongs to no batch");
    w.when("checker:tuan", close(b))
        .then_rejected(|r| matches!(r, Rejection::Conflict { .. }));
}

#[test]
fn a_settled_payment_reported_as_returned_is_a_return_and_its_month_is_due_again() {
    let (mut w, b) = released(10);
    let (pay, channel, _) = bank_payment(&w, b);
    let file = w.file_of(b, channel);
    let bank = reporter(channel);
    let settled = vec![line(&pay.to_string(), ReportedOutcome::Settled, None)];
    w.run_as(&bank, report(file, "s1", settled));
    let returned = vec![line(
        &pay.to_string(),
        ReportedOutcome::Rejected {
            reason_code: "AC04".into(),
        },
        None,
    )];
    w.run_as(&bank, report(file, "s2", returned));
    let r = reconciliation(w.state(), b).unwrap();
    assert_eq!((r.settled.count, r.returned.count), (0, 1));
    assert!(
        breaks(&w).is_empty(),
        "a return, not a break: {:?}",
        breaks(&w)
    );
    // The month is claimed no more: the next batch may pay it again.
    let s = w.state();
    let claimed = s.items(s.payment(pay).unwrap()).any(|i| {
        s.entitlement(i.entitlement)
            .unwrap()
            .paid_in(i.source_month)
            != Vnd::ZERO
    });
    assert!(!claimed);
}

#[test]
fn the_same_report_twice_appends_nothing_and_close_waits_for_everything() {
    let (mut w, b) = released(20);
    let all = everyone(&w, b);
    let mut channels: Vec<Channel> = all.iter().map(|(_, c)| *c).collect();
    channels.sort();
    channels.dedup();
    for (i, c) in channels.iter().enumerate() {
        let lines = || {
            all.iter()
                .filter(|(_, ch)| ch == c)
                .map(|(id, _)| line(&id.to_string(), ReportedOutcome::Settled, None))
                .collect()
        };
        let tag = format!("settle-{i}");
        let file = w.file_of(b, *c);
        let first = w.run_as(&reporter(*c), report(file, &tag, lines()));
        assert!(!first.is_empty());
        w = w
            .when(&reporter(*c), report(file, &tag, lines()))
            .then_events(&[]);
        if i == 0 {
            w = w
                .when("checker:tuan", close(b))
                .then_rejected(|r| matches!(r, Rejection::Conflict { .. }));
        }
    }
    let r = reconciliation(w.state(), b).unwrap();
    assert_eq!(r.released, r.settled);
    w.when("checker:tuan", close(b))
        .then_accepted(|events| assert!(matches!(events, [Event::BatchClosed(_)])));
}

#[test]
fn a_resolved_break_lets_the_batch_close() {
    let (mut w, b) = released(5);
    let (pay, channel, amount) = bank_payment(&w, b);
    let wrong = vec![line(
        &pay.to_string(),
        ReportedOutcome::Settled,
        Some(Vnd(1)),
    )];
    w.run_as(
        &reporter(channel),
        report(w.file_of(b, channel), "wrong-amount", wrong),
    );
    let seq = w.state().breaks()[0].seq;
    for (i, (id, c)) in everyone(&w, b).into_iter().enumerate() {
        let amount = (id == pay).then_some(amount);
        let lines = vec![line(&id.to_string(), ReportedOutcome::Settled, amount)];
        w.run_as(
            &reporter(c),
            report(w.file_of(b, c), &format!("ok-{i}"), lines),
        );
    }
    let resolve = |note: &str| {
        Command::ResolveBreak(ResolveBreak {
            break_seq: seq,
            note: note.into(),
        })
    };
    w.when("checker:tuan", close(b))
        .then_rejected(|r| matches!(r, Rejection::Conflict { .. }))
        .when("checker:tuan", resolve(" "))
        .then_rejected(|r| matches!(r, Rejection::Invalid { .. }))
        .when(
            "checker:tuan",
            resolve("bank re-sent the line with the right amount"),
        )
        .then_accepted(|events| assert!(matches!(events, [Event::ReconciliationBreakResolved(_)])))
        .when("checker:tuan", close(b))
        .then_accepted(|events| assert!(matches!(events, [Event::BatchClosed(_)])));
}

#[test]
fn hostile_or_foreign_status_files_are_refused_and_append_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let l = released_on_disk(dir.path(), 10);
    let before = l.head().unwrap().records;
    let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">&lol2;</Document>"#;
    let deep = format!(
        "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:pain.002.001.10\">{}{}</Document>",
        "<a>".repeat(10_000),
        "</a>".repeat(10_000)
    );
    let truncated = &std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ledger-data/reference/iso20022/sample-pain002.xml"
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
                "/ledger-data/reference/iso20022/sample-pain002.xml"
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
