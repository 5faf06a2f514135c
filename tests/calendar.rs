//! The monthly calendar (`domain::calendar`): the list of month M is due by the 25th of M−1,
//! the payment report of M by the 20th of M+1; what is due next and what is overdue, as of a
//! day; and people not paid in a month carried into the next batch as arrears with their
//! source month.

mod common;

use chitra::domain::calendar::{arrears_carried, status, DeadlineKind};
use chitra::domain::command::ReportedOutcome;
use chitra::domain::event::Channel;
use chitra::domain::types::*;
use common::fixtures::{bank, cash, d, enrolment, m, monthly, severe_disability};
use common::given::{line, report, reporter, World};

#[test]
fn what_is_due_next_what_is_overdue_and_arrears_carried() {
    let mut w = World::with_all_schedules();
    // From June 2024; no June batch, so July's carries June.
    w.enrol(enrolment(
        "001089012345",
        "Nguyễn Văn An",
        "1989-05-10",
        Some(cash()),
        vec![severe_disability()],
    ));
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    let carried = arrears_carried(w.state(), july);
    assert_eq!(carried.len(), 1);
    assert_eq!(carried[0].0, m("2024-06"));
    assert_eq!((carried[0].1.count, carried[0].1.sum), (1, Vnd(540_000)));

    let s = status(w.state(), Programme::Btxh, d("2024-08-21"), &|_| None);
    let overdue: Vec<(Month, DeadlineKind, Date)> = s
        .overdue
        .iter()
        .map(|x| (x.month, x.kind, x.due_on))
        .collect();
    assert_eq!(
        overdue,
        vec![
            (m("2024-08"), DeadlineKind::List, d("2024-07-25")),
            (m("2024-07"), DeadlineKind::PaymentReport, d("2024-08-20")),
        ]
    );
    let next = s.next.unwrap();
    assert_eq!(
        (next.month, next.kind, next.due_on),
        (m("2024-09"), DeadlineKind::List, d("2024-08-25"))
    );
    // On the due day itself nothing is late yet.
    let on_time = status(w.state(), Programme::Btxh, d("2024-07-25"), &|_| None);
    assert!(on_time.overdue.is_empty(), "{:?}", on_time.overdue);

    // The pay point reports July paid: the report is done.
    let pay = w.payments(july)[0].payment;
    let file = w.file_of(july, Channel::Cash);
    w.run_as(
        &reporter(Channel::Cash),
        report(
            file,
            "cash-july",
            vec![line(&pay.to_string(), ReportedOutcome::Settled, None)],
        ),
    );
    let s = status(w.state(), Programme::Btxh, d("2024-08-21"), &|_| None);
    assert_eq!(s.overdue.len(), 1, "{:?}", s.overdue);
    assert_eq!(s.overdue[0].kind, DeadlineKind::List);
}

/// A payment report that comes in after the 20th of M+1 is late, and the channel that was late
/// is named, even while another channel is on time; a list released after the 25th of M−1 is
/// late; people not paid in M show as carried, with their source month.
#[test]
fn a_report_after_the_20th_is_late_and_names_its_channel() {
    let mut w = World::with_all_schedules();
    let (early, late) = ("970436", "970418");
    for (i, bin) in [early, late].iter().enumerate() {
        w.enrol(enrolment(
            &format!("00108901234{i}"),
            "Nguyễn Văn An",
            "1989-05-10",
            Some(bank(bin, &format!("12345678{i}"), "NGUYEN VAN AN")),
            vec![monthly("btxh.disability_severe", vec![], "2024-07")],
        ));
    }
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    // Records so far were written on 24 June (the list, on time); then the first bank reports
    // on 10 August, the second on 23 August (due 20 August).
    let released = w.records();
    let send = |w: &mut World, bin: &str, tag: &str| {
        let channel = Channel::Bank(BankBin::parse(bin).unwrap());
        let file = w.file_of(july, channel);
        let lines = w
            .payments(july)
            .iter()
            .filter(|p| matches!(p.route, chitra::domain::event::Route::Bank { bin: b } if b.to_string() == bin))
            .map(|p| line(&p.payment.to_string(), ReportedOutcome::Settled, Some(p.amount)))
            .collect();
        w.run_as(&reporter(channel), report(file, tag, lines));
    };
    send(&mut w, early, "early");
    let first_report = w.records();
    let day_of = move |seq: u64| {
        Some(match seq {
            s if s < released => d("2024-06-24"),
            s if s < first_report => d("2024-08-10"),
            _ => d("2024-08-23"),
        })
    };
    let s = status(w.state(), Programme::Btxh, d("2024-08-15"), &day_of);
    assert!(s.late.is_empty(), "{:?}", s.late);
    send(&mut w, late, "late");
    let s = status(w.state(), Programme::Btxh, d("2024-08-25"), &day_of);
    assert_eq!(s.late.len(), 1, "{:?}", s.late);
    let r = &s.late[0];
    assert_eq!(
        (r.month, r.kind, r.due_on, r.done, r.done_on),
        (
            m("2024-07"),
            DeadlineKind::PaymentReport,
            d("2024-08-20"),
            true,
            Some(d("2024-08-23"))
        )
    );
    assert_eq!(
        r.late_channels,
        vec![Channel::Bank(BankBin::parse(late).unwrap())]
    );
    // The same chain with the list released on 26 June: that list is late too.
    let late_list = move |seq: u64| {
        Some(match seq {
            s if s < released => d("2024-06-26"),
            _ => d("2024-08-10"),
        })
    };
    let s = status(w.state(), Programme::Btxh, d("2024-08-25"), &late_list);
    let kinds: Vec<_> = s.late.iter().map(|x| (x.month, x.kind)).collect();
    assert_eq!(kinds, vec![(m("2024-07"), DeadlineKind::List)]);
    // Nobody was carried: everyone was paid in July.
    assert!(s.carried.is_empty(), "{:?}", s.carried);
}

/// People not paid in a month are shown in the calendar as carried into the next batch, with
/// their source month and the amounts.
#[test]
fn people_not_paid_show_as_carried_with_their_source_month() {
    let mut w = World::with_all_schedules();
    w.enrol(enrolment(
        "001089012345",
        "Nguyễn Văn An",
        "1989-05-10",
        Some(cash()),
        vec![monthly("btxh.disability_severe", vec![], "2024-07")],
    ));
    let (july, _) = w.pay(Programme::Btxh, m("2024-07"));
    let pay = w.payments(july)[0].clone();
    let file = w.file_of(july, Channel::Cash);
    w.run_as(
        &reporter(Channel::Cash),
        report(
            file,
            "cash-july",
            vec![line(
                &pay.payment.to_string(),
                ReportedOutcome::Rejected {
                    reason_code: "NOAS".into(),
                },
                None,
            )],
        ),
    );
    let (august, _) = w.pay(Programme::Btxh, m("2024-08"));
    let s = status(w.state(), Programme::Btxh, d("2024-08-25"), &|_| None);
    assert_eq!(s.carried.len(), 1, "{:?}", s.carried);
    let c = &s.carried[0];
    assert_eq!(
        (c.batch, c.month, c.source_month, c.lines.count, c.lines.sum),
        (august, m("2024-08"), m("2024-07"), 1, pay.amount)
    );
}
