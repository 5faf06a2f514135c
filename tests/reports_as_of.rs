//! The department's figures as of a chosen day (`app::reports::figures`), on a ledger whose
//! clock the test moves from day to day: a hold for review, a payment route, a return and a
//! late payment report each count as the records up to that day say, not as the state says
//! now.

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chitra::app::batches::{self, IssuedSummary};
use chitra::app::reports::{figures, Figures, PaymentFigures};
use chitra::dev::bench::monthly::Run;
use chitra::domain::command::*;
use chitra::domain::event::{Channel, FileFormat, HoldReason};
use chitra::domain::types::*;
use chitra::domain::Command;
use chitra::formats::bank::{self as files, IsoDateTime, Outcome};
use chitra::ledger::{Config, Ledger};
use common::fixtures::{bank, cash, decision, enrolment, severe_disability};
use common::submission;

/// 2025-08-01 09:00 in Hà Nội (02:00 UTC): after every decision the synthetic people carry.
const AUGUST_1_MS: i64 = 1_754_013_600_000;
const DAY_MS: i64 = 86_400_000;

/// A ledger whose clock stands on a day of August 2025 until the test moves it.
struct Dated {
    ledger: Ledger,
    now: Arc<AtomicI64>,
}

impl Dated {
    fn open(dir: &Path) -> Dated {
        let now = Arc::new(AtomicI64::new(AUGUST_1_MS));
        let clock = now.clone();
        let ledger = Ledger::open(Config {
            dir: dir.to_path_buf(),
            clock: Arc::new(move || clock.fetch_add(1, Ordering::Relaxed)),
            salt_seed: Some(7),
            ..Config::new(dir)
        })
        .expect("ledger opens");
        Dated { ledger, now }
    }

    /// Moves the clock to 09:00 on `day` August 2025 (never back).
    fn on_august(&self, day: i64) {
        let t = AUGUST_1_MS + (day - 1) * DAY_MS;
        assert!(
            t >= self.now.load(Ordering::Relaxed),
            "the clock only goes forward"
        );
        self.now.store(t, Ordering::Relaxed);
    }

    fn officer(&self, command: Command) {
        self.ledger
            .submit(submission("officer:lan", command))
            .expect("accepted");
    }

    /// Enrols B1, with a severe-disability allowance from June 2024.
    fn enrol_one(&self, route: Option<RouteRequest>) {
        self.officer(Command::Enrol(enrolment(
            "001089012345",
            "Nguyễn Văn An",
            "1989-05-10",
            route,
            vec![severe_disability()],
        )));
    }

    fn figures_on_august(&self, day: u8) -> Figures {
        self.figures(Some(Date::new(2025, 8, day).unwrap()))
    }

    fn figures(&self, as_of: Option<Date>) -> Figures {
        figures(&self.ledger, as_of).expect("figures")
    }
}

fn held_for_review(f: &Figures) -> u64 {
    f.totals.held.get("held for review").copied().unwrap_or(0)
}

#[test]
fn a_hold_counts_on_the_days_between_its_recording_and_its_clearing() {
    let dir = tempfile::tempdir().unwrap();
    let l = Dated::open(dir.path());
    l.enrol_one(Some(cash()));
    let who = BeneficiaryId(1);
    l.on_august(10);
    l.officer(Command::HoldForReview(HoldForReview {
        beneficiary: who,
        reason: HoldReason::Other {
            note: "neighbours say he moved away".into(),
        },
    }));
    l.on_august(20);
    l.officer(Command::ClearReview(ClearReview {
        beneficiary: who,
        decision: decision("12/QĐ-UBND"),
        note: "he lives here".into(),
    }));
    // Now, the state says nobody is held.
    let held_now = l
        .ledger
        .read(|s| s.beneficiary(who).unwrap().hold.is_some());
    assert!(!held_now.unwrap());
    assert_eq!(held_for_review(&l.figures_on_august(5)), 0);
    let mid = l.figures_on_august(15);
    assert_eq!(held_for_review(&mid), 1, "{:?}", mid.totals.held);
    assert_eq!(mid.people[0].figures.held.get("held for review"), Some(&1));
    assert_eq!(held_for_review(&l.figures_on_august(25)), 0);
    assert_eq!(l.figures_on_august(25).totals.enrolled, 1);
}

#[test]
fn a_route_counts_as_it_was_on_the_day_and_a_move_to_an_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let l = Dated::open(dir.path());
    // Enrolled without a route: not standardised until one is given.
    l.enrol_one(None);
    let who = BeneficiaryId(1);
    let route = |l: &Dated, route: RouteRequest| {
        l.officer(Command::SetPaymentRoute(SetPaymentRoute {
            beneficiary: who,
            route,
            reason: "the commune's decision".into(),
        }))
    };
    l.on_august(5);
    route(&l, cash());
    l.on_august(10);
    route(&l, bank("970436", "0011001234567", "NGUYEN VAN AN"));
    // Back to cash for a while and to an account again: still one person moved.
    l.on_august(20);
    route(&l, cash());
    l.on_august(22);
    route(&l, bank("970436", "0011001234567", "NGUYEN VAN AN"));
    let counts = |day: u8| {
        let t = l.figures_on_august(day).totals;
        (
            t.standardised,
            t.route_cash,
            t.route_bank,
            t.moved_to_account,
        )
    };
    assert_eq!(counts(1), (0, 0, 0, 0));
    assert_eq!(counts(7), (1, 1, 0, 0), "cash before the change");
    assert_eq!(counts(15), (1, 0, 1, 1), "bank after it, one move");
    assert_eq!(
        counts(21),
        (1, 1, 0, 1),
        "cash again, the move still counted once"
    );
    assert_eq!(counts(25), (1, 0, 1, 1), "a second move is the same person");
}

/// Enrols 40 synthetic BTXH people (seed 11) and releases `month`'s batch on `day` August.
fn released(l: &Dated, month: Month, day: i64) -> Vec<IssuedSummary> {
    let run = Run::new(&l.ledger);
    run.load_rates().unwrap();
    run.enrol(40, 11, month).unwrap();
    l.on_august(day);
    let batch = run.open(month).unwrap();
    let (target, payments) = run.compute(batch).unwrap();
    run.append(batch, target, payments).unwrap();
    run.approve(batch).unwrap();
    run.release(batch).unwrap()
}

/// Every bank reports on its file on `day` August, each payment with `outcome`.
fn banks_report(l: &Dated, issued: &[IssuedSummary], day: i64, outcome: Outcome) {
    l.on_august(day);
    let created = IsoDateTime::parse(&format!("2025-08-{day:02}T16:00:00+07:00")).unwrap();
    for f in issued.iter().filter(|f| f.format == FileFormat::Pain001V09) {
        let Channel::Bank(bin) = f.channel else {
            continue;
        };
        let bytes = l.ledger.file_bytes(&f.digest).unwrap().expect("kept");
        let (report, lines) =
            files::simulate_for_pain001(&bytes, &format!("STS-{}", f.name), created, |_| {
                outcome.clone()
            })
            .unwrap();
        let bank = common::fixtures::p(&format!("bank:{bin}"));
        let pain002 = files::simulate_pain002(&report, &lines);
        batches::ingest_status(&l.ledger, &bank, None, &pain002).unwrap();
    }
}

/// The figures of `month`'s BTXH payments as of `day` August.
fn month_on_august(l: &Dated, month: Month, day: u8) -> PaymentFigures {
    l.figures_on_august(day)
        .payments
        .iter()
        .find(|p| p.month == month && p.programme == Programme::Btxh)
        .cloned()
        .expect("the month's payments")
}

#[test]
fn a_return_recorded_after_the_day_does_not_count_on_the_day() {
    let dir = tempfile::tempdir().unwrap();
    let l = Dated::open(dir.path());
    let month = Month::parse("2025-08").unwrap();
    let issued = released(&l, month, 10);
    // Every bank sends back every payment of its file, on 20 August.
    let rejected = Outcome::Rejected {
        reason_code: "AC04".into(),
    };
    banks_report(&l, &issued, 20, rejected);
    let before = month_on_august(&l, month, 15);
    let after = month_on_august(&l, month, 25);
    assert!(before.bank.count > 0, "some of the synthetic people bank");
    assert_eq!(before.bank, after.bank, "what was released does not change");
    assert_eq!(before.returned.count, 0, "returned only on the 20th");
    assert_eq!(after.returned, after.bank, "every bank payment came back");
    // Before the release nothing is paid at all.
    assert!(l.figures_on_august(5).payments.is_empty());
}

#[test]
fn a_late_payment_report_is_late_from_the_day_it_came_in() {
    let dir = tempfile::tempdir().unwrap();
    let l = Dated::open(dir.path());
    // July's report is due by 20 August; the banks send theirs on the 25th.
    let july = Month::parse("2025-07").unwrap();
    let issued = released(&l, july, 2);
    banks_report(&l, &issued, 25, Outcome::Settled);
    assert!(
        !month_on_august(&l, july, 22).report_late,
        "not in by the 22nd"
    );
    assert!(month_on_august(&l, july, 26).report_late);
    assert!(l.figures(None).payments[0].report_late);
}
