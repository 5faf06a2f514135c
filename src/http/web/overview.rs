//! The finance overview: for a month and the next, per programme, the batches (state, people,
//! amounts) and the calendar (what is due by when, what is late: `domain::calendar`, as
//! `GET /v1/calendar`); and charts of the twelve months up to it: payouts per programme, bank
//! versus cash, and returns. Each month's bar sums the running totals `apply` keeps per batch
//! (`state::BatchTotals`), counted as `app::views::payout` (the view behind `GET /v1/payouts`)
//! counts, so a bar's total is the API's figure for that month without walking its payments.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::chart::{self, Bar};
use super::format::{date, month, number, vnd};
use super::i18n::Text;
use super::{page, render, Signed, Web};
use crate::domain::calendar::{self, DeadlineKind};
use crate::domain::event::Channel;
use crate::domain::state::BatchStatus;
use crate::domain::state::State as LedgerState;
use crate::domain::types::{Date, Month, Programme, Vnd};
use crate::http::support::read;

/// Months the charts show, ending with the month on view.
pub const CHART_MONTHS: usize = 12;

/// Late deadlines listed per programme (the oldest first); the rest are counted.
const OVERDUE_SHOWN: usize = 3;

use crate::app::reports::PROGRAMMES;

#[derive(Deserialize)]
pub struct MonthQuery {
    #[serde(default)]
    month: Option<String>,
}

struct BatchLine {
    id: String,
    month: String,
    status: String,
    people: String,
    amount: String,
}

struct ProgrammeBlock {
    name: String,
    batches: Vec<BatchLine>,
    next_due: Option<String>,
    overdue: Vec<String>,
    overdue_count: usize,
}

#[derive(Template)]
#[template(path = "web/overview.html")]
struct Body {
    t: &'static Text,
    month_value: String,
    month: String,
    next: String,
    programmes: Vec<ProgrammeBlock>,
    chart_programmes: String,
    chart_channels: String,
    chart_returns: String,
}

/// A batch of the months on view: programme, month, id, state, and (once computed) payments
/// and amount.
pub type BatchAt = (Programme, Month, String, BatchStatus, Option<(u64, Vnd)>);

/// One month's bars: released batches' payments net of returns, per programme and bank versus
/// cash, and the returns (as `app::views::payout` counts them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthBars {
    pub by_programme: Vec<(Programme, Vnd)>,
    pub bank: Vnd,
    pub cash: Vnd,
    pub returned: Vnd,
}

/// The bars of the months `from..=to`, from the batches' running totals.
pub fn month_bars(s: &LedgerState, from: Month, to: Month) -> Vec<(Month, MonthBars)> {
    let mut out: Vec<(Month, MonthBars)> = Vec::new();
    let mut m = from;
    while m <= to {
        out.push((m, MonthBars::default()));
        m = m.next();
    }
    for b in s.batches() {
        let released = matches!(b.status, BatchStatus::Released | BatchStatus::Closed);
        let Some((_, bars)) = out.iter_mut().find(|(m, _)| *m == b.opened.month) else {
            continue;
        };
        if !released {
            continue;
        }
        let mut paid = Vnd::ZERO;
        for (c, t) in &b.totals.channels {
            let net = t.not_returned().sum;
            paid = paid + net;
            match c {
                Channel::Bank(_) => bars.bank = bars.bank + net,
                Channel::Cash => bars.cash = bars.cash + net,
            }
            bars.returned = bars.returned + t.returned.sum;
        }
        if b.totals.overall().not_returned().count == 0 {
            continue;
        }
        match bars
            .by_programme
            .binary_search_by_key(&b.opened.programme, |(p, _)| *p)
        {
            Ok(i) => bars.by_programme[i].1 = bars.by_programme[i].1 + paid,
            Err(i) => bars.by_programme.insert(i, (b.opened.programme, paid)),
        }
    }
    out
}

/// Everything the page reads, from one state.
pub struct Seen {
    pub shown: Month,
    pub batches: Vec<BatchAt>,
    pub months: Vec<(Month, MonthBars)>,
}

/// Reads what the overview shows for `month` (by default the latest month with a batch, else
/// today's), as of `today`.
pub fn seen(s: &LedgerState, month: Option<Month>, today: Date) -> Seen {
    let shown = month
        .or_else(|| s.batches().iter().map(|b| b.opened.month).max())
        .unwrap_or_else(|| today.month());
    let next = shown.next();
    let batches = s
        .batches()
        .iter()
        .filter(|b| b.opened.month == shown || b.opened.month == next)
        .map(|b| {
            (
                b.opened.programme,
                b.opened.month,
                b.opened.batch.to_string(),
                b.status,
                b.computed.as_ref().map(|c| (c.totals.count, c.totals.sum)),
            )
        })
        .collect();
    let mut first = shown;
    for _ in 1..CHART_MONTHS {
        first = first.prev();
    }
    Seen {
        shown,
        batches,
        months: month_bars(s, first, shown),
    }
}

fn deadline_text(t: &Text, d: &calendar::Deadline) -> String {
    let what = match d.kind {
        DeadlineKind::List => t.deadline_list,
        DeadlineKind::PaymentReport => t.deadline_report,
    };
    format!("{what} {} — {}", month(d.month), date(d.due_on))
}

pub async fn page_of(web: &Web, who: &Signed, month_text: Option<&str>) -> Response {
    let t = who.t();
    let month_q = match month_text.filter(|m| !m.is_empty()) {
        None => None,
        Some(m) => match Month::parse(m) {
            Ok(m) => Some(m),
            Err(_) => {
                return who.message(StatusCode::BAD_REQUEST, t.bad_programme_or_month.to_owned())
            }
        },
    };
    let today = crate::ledger::local_date((crate::ledger::system_clock())());
    let seen = match read(&web.app, move |s| seen(s, month_q, today)).await {
        Ok(s) => s,
        Err(p) => return who.problem(p),
    };
    // The same calendar as `GET /v1/calendar`, from the days the warm-up keeps (`days`).
    let calendars = match web
        .app
        .web
        .days
        .calendars(web.app.ledger(), &PROGRAMMES, today)
        .await
    {
        Ok(c) => c,
        Err(p) => return who.problem(p),
    };
    let programmes = PROGRAMMES
        .iter()
        .zip(&calendars)
        .map(|(p, cal)| ProgrammeBlock {
            name: p.to_string(),
            batches: seen
                .batches
                .iter()
                .filter(|b| b.0 == *p)
                .map(|(_, m, id, st, totals)| BatchLine {
                    id: id.clone(),
                    month: month(*m),
                    status: super::batches::status_word(t, *st).to_owned(),
                    people: totals.map_or_else(String::new, |t| number(t.0 as i64)),
                    amount: totals.map_or_else(String::new, |t| vnd(t.1)),
                })
                .collect(),
            next_due: cal.next.as_ref().map(|d| deadline_text(t, d)),
            // The oldest few; the count says how many are late in all.
            overdue: cal
                .overdue
                .iter()
                .take(OVERDUE_SHOWN)
                .map(|d| deadline_text(t, d))
                .collect(),
            overdue_count: cal.overdue.len(),
        })
        .collect();
    let bars = |f: &dyn Fn(&MonthBars) -> Vec<(String, i64)>| -> Vec<Bar> {
        seen.months
            .iter()
            .map(|(m, p)| Bar {
                label: month(*m),
                segments: f(p),
            })
            .collect()
    };
    let per_programme = bars(&|p| {
        p.by_programme
            .iter()
            .map(|(prog, sum)| (prog.to_string(), sum.0))
            .collect()
    });
    let per_channel = bars(&|p| vec![(t.bank.to_owned(), p.bank.0), (t.cash.to_owned(), p.cash.0)]);
    let returns = bars(&|p| vec![(t.returned.to_owned(), p.returned.0)]);
    let money = |v: i64| vnd(Vnd(v));
    let body = Body {
        t,
        month_value: seen.shown.to_string(),
        month: month(seen.shown),
        next: month(seen.shown.next()),
        programmes,
        chart_programmes: chart::stacked("payouts", t.chart_programmes, &per_programme, money),
        chart_channels: chart::stacked("channels", t.chart_channels, &per_channel, money),
        chart_returns: chart::stacked("returns", t.chart_returns, &returns, money),
    };
    page(&who.layout(), StatusCode::OK, t.overview, render(&body))
}

pub async fn page_handler(
    State(web): State<Web>,
    who: Signed,
    Query(q): Query<MonthQuery>,
) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/payouts") {
        return who.forbidden();
    }
    page_of(&web, &who, q.month.as_deref()).await
}
