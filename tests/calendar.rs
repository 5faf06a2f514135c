//! The monthly calendar (`domain::calendar`): the list of month M is due by the 25th of M−1,
//! the payment report of M by the 20th of M+1; what is due next and what is overdue, as of a
//! day; and people not paid in a month carried into the next batch as arrears with their
//! source month.

mod common;

use chitra::domain::calendar::{arrears_carried, status, DeadlineKind};
use chitra::domain::command::ReportedOutcome;
use chitra::domain::event::Channel;
use chitra::domain::types::*;
use common::fixtures::{cash, d, enrolment, m, severe_disability};
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

    let s = status(w.state(), Programme::Btxh, d("2024-08-21"));
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
    let on_time = status(w.state(), Programme::Btxh, d("2024-07-25"));
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
    let s = status(w.state(), Programme::Btxh, d("2024-08-21"));
    assert_eq!(s.overdue.len(), 1, "{:?}", s.overdue);
    assert_eq!(s.overdue[0].kind, DeadlineKind::List);
}
