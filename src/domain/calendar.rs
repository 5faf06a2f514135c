//! The monthly calendar of a programme (issue 12; RULES.md §1.5, §3): the list of month M is
//! due by the 25th of M−1 (funds and the payment list go to the payment organisation before
//! the 25th for the next month), and the payment organisation's report of who was paid in M by
//! the 20th of M+1. Pure: the caller passes today. People not paid in M are carried into the
//! next batch with their source month: `arrears_carried` shows them as such.

use serde::Serialize;

use super::event::{ControlTotals, ItemKind};
use super::state::{BatchStatus, PaymentStatus, State};
use super::types::{BatchId, Date, Month, Programme};

/// The day of M−1 by which the list of M is due.
pub const LIST_DUE_DAY: u8 = 25;
/// The day of M+1 by which the payment report of M is due.
pub const REPORT_DUE_DAY: u8 = 20;

/// What is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// The payment list of the month: a batch released.
    List,
    /// The payment organisation's report of the month: every payment settled or returned.
    PaymentReport,
}

/// One regulatory date of a programme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Deadline {
    pub programme: Programme,
    pub month: Month,
    pub kind: DeadlineKind,
    pub due_on: Date,
    pub done: bool,
}

/// What is due next and what is overdue, as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CalendarStatus {
    pub programme: Programme,
    pub today: Date,
    pub next: Option<Deadline>,
    pub overdue: Vec<Deadline>,
}

fn day(month: Month, d: u8) -> Date {
    Date::new(month.year(), month.month(), d).expect("days 20 and 25 exist in every month")
}

/// The programme's deadlines from its first batch's month to next month, as of `today`.
pub fn status(state: &State, programme: Programme, today: Date) -> CalendarStatus {
    let batches: Vec<_> = state
        .batches()
        .iter()
        .filter(|b| b.opened.programme == programme && b.status != BatchStatus::Cancelled)
        .collect();
    let next_month = today.month().next();
    let first = batches
        .iter()
        .map(|b| b.opened.month)
        .min()
        .unwrap_or(next_month);
    let mut all = Vec::new();
    let mut m = first;
    while m <= next_month {
        let of_month: Vec<_> = batches.iter().filter(|b| b.opened.month == m).collect();
        let released: Vec<_> = of_month
            .iter()
            .filter(|b| b.released_seq.is_some())
            .collect();
        all.push(Deadline {
            programme,
            month: m,
            kind: DeadlineKind::List,
            due_on: day(m.prev(), LIST_DUE_DAY),
            done: !released.is_empty(),
        });
        if !released.is_empty() {
            let reported = released.iter().all(|b| {
                b.payments
                    .iter()
                    .filter_map(|id| state.payment(*id))
                    .all(|p| matches!(p.status, PaymentStatus::Settled | PaymentStatus::Returned))
            });
            all.push(Deadline {
                programme,
                month: m,
                kind: DeadlineKind::PaymentReport,
                due_on: day(m.next(), REPORT_DUE_DAY),
                done: reported,
            });
        }
        m = m.next();
    }
    all.sort_by_key(|d| d.due_on);
    let overdue = all
        .iter()
        .filter(|d| !d.done && d.due_on < today)
        .cloned()
        .collect();
    let next = all.into_iter().find(|d| !d.done && d.due_on >= today);
    CalendarStatus {
        programme,
        today,
        next,
        overdue,
    }
}

/// Arrears a batch carries: lines for months before its own, by source month.
pub fn arrears_carried(state: &State, batch: BatchId) -> Vec<(Month, ControlTotals)> {
    let mut out: Vec<(Month, ControlTotals)> = Vec::new();
    let Some(b) = state.batch(batch) else {
        return out;
    };
    for p in b.payments.iter().filter_map(|id| state.payment(*id)) {
        for item in p
            .scheduled
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Arrears)
        {
            match out.iter_mut().find(|(m, _)| *m == item.source_month) {
                Some((_, t)) => t.add(item.amount),
                None => {
                    let mut t = ControlTotals::default();
                    t.add(item.amount);
                    out.push((item.source_month, t));
                }
            }
        }
    }
    out.sort_by_key(|(m, _)| *m);
    out
}
