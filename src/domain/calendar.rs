//! The monthly calendar of a programme (issue 12; RULES.md §1.5, §3): the list of month M is
//! due by the 25th of M−1 (funds and the payment list go to the payment organisation before
//! the 25th for the next month), and the payment organisation's report of who was paid in M by
//! the 20th of M+1. Pure: the caller passes today, and the day each record was written (records
//! carry their time; the domain reads no clock). A deadline met after its day is late: a list
//! released after the 25th, a payment report that came in after the 20th (each channel's report
//! is dated by the record that gave the last of its payments their first status,
//! `Batch::reported`). People not paid in M are carried into the next batch with their source
//! month: `arrears_carried` shows them as such.

use serde::Serialize;

use super::event::{Channel, ControlTotals};
use super::state::{BatchStatus, State};
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
    /// The day it was done (a list released, the last payment report in), when done.
    pub done_on: Option<Date>,
    /// Done after its due day.
    pub late: bool,
    /// For a payment report: the channels whose report came in after the due day (a bank, or
    /// the cash pay points), late even while other channels have not reported yet.
    pub late_channels: Vec<Channel>,
}

/// What is due next and what is overdue, as of a day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CalendarStatus {
    pub programme: Programme,
    pub today: Date,
    pub next: Option<Deadline>,
    pub overdue: Vec<Deadline>,
    /// Deadlines met after their day, or with a channel's report after it.
    pub late: Vec<Deadline>,
    /// People not paid in a month, carried into a later batch: per batch, its arrears lines by
    /// source month.
    pub carried: Vec<Carried>,
}

/// Arrears lines of one source month carried in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Carried {
    pub batch: BatchId,
    /// The batch's month.
    pub month: Month,
    /// The month the lines were due for.
    pub source_month: Month,
    pub lines: ControlTotals,
}

/// The records whose days the calendar needs (`status` asks for the day of each): the
/// release of every batch of the programme and each channel's payment report.
pub fn records_to_date(state: &State, programme: Programme) -> Vec<u64> {
    let mut out: Vec<u64> = state
        .batches()
        .iter()
        .filter(|b| b.opened.programme == programme)
        .flat_map(|b| {
            b.released_seq
                .into_iter()
                .chain(b.reported.iter().map(|r| r.1))
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn day(month: Month, d: u8) -> Date {
    Date::new(month.year(), month.month(), d).expect("days 20 and 25 exist in every month")
}

/// The programme's deadlines from its first batch's month to next month, as of `today`;
/// `day_of(seq)` is the day record `seq` was written (`None`: unknown, never judged late).
pub fn status(
    state: &State,
    programme: Programme,
    today: Date,
    day_of: &dyn Fn(u64) -> Option<Date>,
) -> CalendarStatus {
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
        let due_on = day(m.prev(), LIST_DUE_DAY);
        let listed_on = released
            .iter()
            .filter_map(|b| b.released_seq.and_then(day_of))
            .min();
        all.push(Deadline {
            programme,
            month: m,
            kind: DeadlineKind::List,
            due_on,
            done: !released.is_empty(),
            done_on: listed_on,
            late: listed_on.is_some_and(|d| d > due_on),
            late_channels: Vec::new(),
        });
        if !released.is_empty() {
            let due_on = day(m.next(), REPORT_DUE_DAY);
            // The batches' running totals: nothing still scheduled (`state::BatchTotals`).
            let reported = released.iter().all(|b| b.totals.all_reported());
            let reports: Vec<(Channel, Option<Date>)> = released
                .iter()
                .flat_map(|b| b.reported.iter().map(|(c, seq)| (*c, day_of(*seq))))
                .collect();
            let mut late_channels: Vec<Channel> = Vec::new();
            for (c, d) in &reports {
                if d.is_some_and(|d| d > due_on) && !late_channels.contains(c) {
                    late_channels.push(*c);
                }
            }
            let done_on = match reported {
                true => reports.iter().filter_map(|(_, d)| *d).max(),
                false => None,
            };
            all.push(Deadline {
                programme,
                month: m,
                kind: DeadlineKind::PaymentReport,
                due_on,
                done: reported,
                done_on,
                late: done_on.is_some_and(|d| d > due_on) || !late_channels.is_empty(),
                late_channels,
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
    let late = all.iter().filter(|d| d.late).cloned().collect();
    let carried = batches
        .iter()
        .flat_map(|b| {
            arrears_carried(state, b.opened.batch)
                .into_iter()
                .map(|(source_month, lines)| Carried {
                    batch: b.opened.batch,
                    month: b.opened.month,
                    source_month,
                    lines,
                })
        })
        .collect();
    let next = all.into_iter().find(|d| !d.done && d.due_on >= today);
    CalendarStatus {
        programme,
        today,
        next,
        overdue,
        late,
        carried,
    }
}

/// Arrears a batch carries: lines for months before its own, by source month (the batch's
/// running totals, kept as its lines were scheduled).
pub fn arrears_carried(state: &State, batch: BatchId) -> Vec<(Month, ControlTotals)> {
    state
        .batch(batch)
        .map(|b| b.totals.arrears.clone())
        .unwrap_or_default()
}
