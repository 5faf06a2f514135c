//! Per-batch running totals (`state::BatchTotals`), kept by `apply`: after payments are
//! scheduled, settled, returned (also after a settlement) and cancelled, each batch's totals
//! equal a walk over its payments; the overview's bars equal `GET /v1/payouts`'s figures
//! (`app::views::payout`); who a batch left out is derived from the state alone.

mod common;

use chitra::domain::batch::left_out::{left_out, Why};
use chitra::domain::batch::reconciliation;
use chitra::domain::command::{CancelBatch, Command, HoldForReview, ReportedOutcome};
use chitra::domain::event::{BatchKind, Channel, ControlTotals, HoldReason};
use chitra::domain::state::BatchTotals;
use chitra::domain::state::{BatchStatus, PaymentStatus};
use chitra::domain::types::*;
use chitra::http::web::overview::month_bars;
use common::fixtures::{bank, cash, enrolment, m, severe_disability};
use common::given::{line, report, reporter, World};

/// Every batch's running totals equal a walk over its payments.
fn totals_match_a_walk(w: &World) {
    let s = w.state();
    for b in s.batches() {
        let lines: Vec<_> = b
            .payments
            .iter()
            .map(|id| (s.scheduled(id).unwrap(), s.payment(id).unwrap().status))
            .collect();
        let walk = BatchTotals::of_payments(lines.iter().map(|(p, status)| (p, *status)));
        assert_eq!(b.totals, walk, "{}", b.opened.batch);
        // The reconciliation, read from the totals, is what a walk over the lines gives.
        let r = reconciliation(s, b.opened.batch).unwrap();
        let mut want = [ControlTotals::default(); 4];
        if matches!(b.status, BatchStatus::Released | BatchStatus::Closed) {
            for (p, status) in &lines {
                let amount = p.items.iter().map(|i| i.amount).sum::<Vnd>();
                want[0].add(amount);
                match status {
                    PaymentStatus::Settled => want[1].add(amount),
                    PaymentStatus::Returned => want[2].add(amount),
                    PaymentStatus::Scheduled => want[3].add(amount),
                    PaymentStatus::Cancelled => {}
                }
            }
        }
        let got = [r.released, r.settled, r.returned, r.outstanding];
        assert_eq!(got, want, "{}", b.opened.batch);
    }
}

fn bin(s: &str) -> Channel {
    Channel::Bank(BankBin::parse(s).unwrap())
}

fn ct(count: u64, sum: i64) -> ControlTotals {
    ControlTotals {
        count,
        sum: Vnd(sum),
    }
}

/// Three people, two banks and cash, entitled from June; July's batch (carrying June).
fn three_paid_in_july() -> (World, BatchId, [BeneficiaryId; 3]) {
    let mut w = World::with_all_schedules();
    let routes = [
        bank("970436", "123456781", "NGUYEN VAN AN"),
        bank("970418", "123456782", "TRAN VAN BINH"),
        cash(),
    ];
    let people = routes.map(|route| {
        let citizen = format!("00108901234{}", w.state().beneficiary_count() + 1);
        w.enrol(enrolment(
            &citizen,
            "Nguyễn Văn An",
            "1989-05-10",
            Some(route),
            vec![severe_disability()],
        ))
    });
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    (w, july, people)
}

/// The bank `bank_bin` reports one line of `batch` with `outcome`, in a report named `tag`.
fn bank_reports(
    w: &mut World,
    batch: BatchId,
    bank_bin: &str,
    tag: &str,
    line_of: (PaymentId, ReportedOutcome),
) {
    let file = w.file_of(batch, bin(bank_bin));
    let (payment, outcome) = line_of;
    w.run_as(
        &reporter(bin(bank_bin)),
        report(file, tag, vec![line(&payment.to_string(), outcome, None)]),
    );
}

fn returned() -> ReportedOutcome {
    ReportedOutcome::Rejected {
        reason_code: "AC04".into(),
    }
}

#[test]
fn running_totals_equal_a_walk_after_settle_return_and_cancel() {
    // Given July paid to three people: all scheduled.
    let (mut w, july, [a, b, _]) = three_paid_in_july();
    totals_match_a_walk(&w);
    let t = &w.batch(july).totals;
    let all = t.overall();
    assert_eq!(all.scheduled.count, 3);
    assert_eq!(
        all.scheduled.sum,
        w.batch(july).computed.as_ref().unwrap().totals.sum
    );
    assert!(!t.all_reported());
    // June is carried as arrears, one line per person.
    assert_eq!(t.arrears.len(), 1);
    assert_eq!((t.arrears[0].0, t.arrears[0].1.count), (m("2024-06"), 3));

    // When the first bank settles its line and the second returns its line:
    let pay_a = w.payment_of(july, a).unwrap();
    let pay_b = w.payment_of(july, b).unwrap();
    let settled = (pay_a.payment, ReportedOutcome::Settled);
    bank_reports(&mut w, july, "970436", "a-settled", settled);
    let back = (pay_b.payment, returned());
    bank_reports(&mut w, july, "970418", "b-returned", back);
    // Then each status holds its payment, per channel.
    totals_match_a_walk(&w);
    let t = &w.batch(july).totals;
    let of = |c: Channel| t.channels.iter().find(|(x, _)| *x == c).unwrap().1;
    assert_eq!(of(bin("970436")).settled, ct(1, pay_a.amount.0));
    assert_eq!(of(bin("970436")).scheduled, ct(0, 0));
    assert_eq!(of(bin("970418")).returned, ct(1, pay_b.amount.0));
    assert_eq!(of(Channel::Cash).scheduled.count, 1);

    // When the first bank later returns the line it had settled:
    let again = (pay_a.payment, returned());
    bank_reports(&mut w, july, "970436", "a-returned-after-settling", again);
    // Then it moved from settled to returned.
    totals_match_a_walk(&w);
    let t = &w.batch(july).totals;
    let of = |c: Channel| t.channels.iter().find(|(x, _)| *x == c).unwrap().1;
    assert_eq!(of(bin("970436")).settled, ct(0, 0));
    assert_eq!(of(bin("970436")).returned, ct(1, pay_a.amount.0));

    // When August is computed and then cancelled before release:
    let aug = w
        .open_batch(Programme::Btxh, m("2024-08"), BatchKind::Regular)
        .unwrap();
    w.compute(aug).unwrap();
    totals_match_a_walk(&w);
    let scheduled = w.batch(aug).totals.overall().scheduled;
    assert!(scheduled.count > 0);
    w.run(Command::CancelBatch(CancelBatch {
        batch: aug,
        reason: "wrong funding account".into(),
    }));
    // Then every line is counted as cancelled, nothing as scheduled.
    totals_match_a_walk(&w);
    let all = w.batch(aug).totals.overall();
    assert_eq!(all.cancelled, scheduled);
    assert_eq!(all.scheduled, ct(0, 0));
}

#[test]
fn the_overviews_bars_are_the_payouts_figures() {
    let (mut w, july, [_, b, _]) = three_paid_in_july();
    let pay_b = w.payment_of(july, b).unwrap();
    let back = (pay_b.payment, returned());
    bank_reports(&mut w, july, "970418", "b-returned", back);
    w.pay(Programme::Btxh, m("2024-08"));
    let bars = month_bars(w.state(), m("2024-06"), m("2024-08"));
    assert_eq!(bars.len(), 3);
    for (month, bar) in &bars {
        let p = chitra::app::views::payout(w.state(), *month, *month);
        let by_programme: Vec<(Programme, Vnd)> =
            p.by_programme.iter().map(|(x, t)| (*x, t.sum)).collect();
        assert_eq!(bar.by_programme, by_programme, "{month}");
        let channel_sum = |bank: bool| {
            p.by_channel
                .iter()
                .filter(|(c, _)| matches!(c, Channel::Bank(_)) == bank)
                .fold(Vnd::ZERO, |s, (_, t)| s + t.sum)
        };
        assert_eq!(bar.bank, channel_sum(true), "{month}");
        assert_eq!(bar.cash, channel_sum(false), "{month}");
        assert_eq!(bar.returned, p.returned.sum, "{month}");
    }
    // July: one return, taken out of the paid bars.
    let (_, jul) = &bars[1];
    assert_eq!(jul.returned, pay_b.amount);
    assert!(jul.bank.0 > 0 && jul.cash.0 > 0);
    assert_eq!(bars[0].1, Default::default(), "no June batch");
}

#[test]
fn who_a_batch_left_out_comes_from_the_state() {
    // Given three people, one held for review before August is computed:
    let (mut w, _, [a, _, _]) = three_paid_in_july();
    w.run(Command::HoldForReview(HoldForReview {
        beneficiary: a,
        reason: HoldReason::Other {
            note: "reported moved away".into(),
        },
    }));
    let aug = w
        .open_batch(Programme::Btxh, m("2024-08"), BatchKind::Regular)
        .unwrap();
    // When it is computed:
    let plan = w.compute(aug).unwrap();
    assert_eq!(plan.held, vec![a]);
    // Then the state alone says the same: the held person, and nobody who was paid.
    assert_eq!(left_out(w.state(), aug), Some(vec![(a, Why::Held)]));
    // A batch not computed has no such list.
    let sep = w
        .open_batch(Programme::Btxh, m("2024-09"), BatchKind::Regular)
        .unwrap();
    assert_eq!(left_out(w.state(), sep), None);
}

#[test]
fn a_computed_batchs_review_is_of_its_computation() {
    // Kept once per computation and shared by the pages that ask: `tests/web_warm.rs`.
    use chitra::http::web::reviews::{computation, reviewed};
    let (mut w, july, _) = three_paid_in_july();
    let key = computation(w.state(), july).unwrap();
    assert_eq!(key.0, july);
    let first = reviewed(w.state(), key).unwrap();
    assert_eq!(first.review.totals.count, 3);
    // A computation the batch is no longer at has no review.
    let stale = (key.0, key.1 + 1, key.2);
    assert!(reviewed(w.state(), stale).is_none());
    // A batch not computed has no computation, so no review.
    let aug = w
        .open_batch(Programme::Btxh, m("2024-08"), BatchKind::Regular)
        .unwrap();
    assert!(computation(w.state(), aug).is_none());
}
