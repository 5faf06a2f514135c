//! The batch pages: the list (with the maker's form to open one), and a batch with its review
//! (totals by bank, commune and scheme; changes since last month with their reasons;
//! anomalies; who the last computation left out and why), its actions (compute, approve the
//! content shown, release) and its reconciliation with breaks. The review is the one the CLI's
//! `batch review` and `GET /v1/batches/{id}/review` print (`domain::batch::review`), who was
//! left out comes from the state (`domain::batch::left_out`), both kept per computation
//! (`reviews`); a batch not awaiting approval whose review is not kept yet is shown at once,
//! saying its review is being prepared, and reloads itself until it is; the actions are the
//! API's (`app::batches::compute`, `release`, the `ApproveBatch` command), so the
//! ledger's four-eyes rule refuses a maker's own approval here as everywhere.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::format::{channel, month, number, vnd};
use super::i18n::Text;
use super::reviews::Reviewed;
use super::{page, render, Signed, Web};
use crate::app::views::{self, BatchView, BreakView};
use crate::domain::batch::left_out::Why;
use crate::domain::batch::review::{Anomaly, Reason};
use crate::domain::command as cmd;
use crate::domain::event::{BatchKind, ControlTotals};
use crate::domain::state::BatchStatus;
use crate::domain::types::{BatchId, Month, Programme, Vnd};
use crate::domain::Command;
use crate::http::batches::batch_error;
use crate::http::support::{job, read, submit};

use crate::http::limits::WEB_PAGE_ROWS_MAX as PAGE_ROWS_MAX;

/// A line of a totals table, written for people.
pub struct Row {
    pub label: String,
    pub count: String,
    pub sum: String,
}

fn row(label: String, t: &ControlTotals) -> Row {
    Row {
        label,
        count: number(t.count as i64),
        sum: vnd(t.sum),
    }
}

pub(super) fn status_word(t: &Text, s: BatchStatus) -> &'static str {
    match s {
        BatchStatus::Open => t.status_open,
        BatchStatus::Computed => t.status_computed,
        BatchStatus::Approved => t.status_approved,
        BatchStatus::Released => t.released,
        BatchStatus::Cancelled => t.status_cancelled,
        BatchStatus::Closed => t.status_closed,
    }
}

fn parse_id(text: &str) -> Option<BatchId> {
    BatchId::parse(text)
        .ok()
        .or_else(|| text.parse().ok().map(BatchId))
}

struct ListRow {
    id: String,
    programme: String,
    month: String,
    status: &'static str,
    payments: String,
    sum: String,
}

#[derive(Template)]
#[template(path = "web/batches.html")]
struct ListBody<'a> {
    t: &'static Text,
    csrf: &'a str,
    rows: Vec<ListRow>,
    more: usize,
    may_open: bool,
}

pub async fn list(State(web): State<Web>, who: Signed) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/batches") {
        return who.forbidden();
    }
    let t = who.t();
    let all = match read(&web.app, |s| {
        let n = s.batches().len();
        let rows: Vec<_> = s
            .batches()
            .iter()
            .rev()
            .take(PAGE_ROWS_MAX)
            .map(|b| {
                (
                    b.opened.batch,
                    b.opened.programme,
                    b.opened.month,
                    b.status,
                    b.computed.as_ref().map(|c| c.totals),
                )
            })
            .collect();
        (rows, n)
    })
    .await
    {
        Ok(v) => v,
        Err(p) => return who.problem(p),
    };
    let (items, n) = all;
    let rows = items
        .into_iter()
        .map(|(id, p, m, st, totals)| ListRow {
            id: id.to_string(),
            programme: p.to_string(),
            month: month(m),
            status: status_word(t, st),
            payments: totals.map_or_else(String::new, |t| number(t.count as i64)),
            sum: totals.map_or_else(String::new, |t| vnd(t.sum)),
        })
        .collect::<Vec<_>>();
    let body = ListBody {
        t,
        csrf: &who.session.csrf,
        more: n.saturating_sub(rows.len()),
        rows,
        may_open: super::may(who.role(), &Method::POST, "/v1/batches"),
    };
    page(&who.layout(), StatusCode::OK, t.batches, render(&body))
}

#[derive(Deserialize)]
pub struct OpenForm {
    #[serde(default)]
    csrf: String,
    programme: String,
    month: String,
    funding_account: String,
}

/// Opens a regular batch (the maker), as `POST /v1/batches` does.
pub async fn open(State(web): State<Web>, who: Signed, Form(f): Form<OpenForm>) -> Response {
    if let Some(refused) = who.csrf_refusal(&f.csrf) {
        return refused;
    }
    let (Ok(programme), Ok(m)) = (Programme::parse(&f.programme), Month::parse(&f.month)) else {
        return who.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            who.t().bad_programme_or_month.to_owned(),
        );
    };
    let command = Command::OpenBatch(cmd::OpenBatch {
        programme,
        month: m,
        funding_account: f.funding_account.trim().to_owned(),
        kind: BatchKind::Regular,
    });
    let caller = who.session.caller.clone();
    match submit(&web.app, &caller, None, command).await {
        Ok(receipt) => {
            // The batch this receipt opened (not the last one: others may open at once).
            let id = crate::http::support::appended(&web.app, &receipt)
                .await
                .ok()
                .and_then(|events| {
                    events.into_iter().find_map(|a| match a.event {
                        crate::domain::event::Event::BatchOpened(e) => Some(e.batch),
                        _ => None,
                    })
                });
            match id {
                Some(id) => Redirect::to(&format!("/batches/{id}")).into_response(),
                None => Redirect::to("/batches").into_response(),
            }
        }
        Err(p) => who.problem(p),
    }
}

struct Change {
    who: String,
    previous: String,
    current: String,
    reasons: String,
}

#[derive(Template)]
#[template(path = "web/batch.html")]
struct BatchBody<'a> {
    t: &'static Text,
    csrf: &'a str,
    id: String,
    status: &'static str,
    status_code: String,
    view: &'a BatchView,
    content_hash: String,
    count: u64,
    sum: i64,
    total: Row,
    previous: Row,
    by_bank: Vec<Row>,
    by_commune: Vec<Row>,
    by_scheme: Vec<Row>,
    changes: Vec<Change>,
    changes_more: usize,
    anomalies: Vec<String>,
    left_out: Option<Vec<(String, String)>>,
    preparing: bool,
    reconciliation: Vec<Row>,
    breaks: Vec<BreakRow>,
    files: Vec<Row>,
    may_compute: bool,
    may_approve: bool,
    may_release: bool,
    may_resolve: bool,
    done: Option<String>,
}

struct BreakRow {
    seq: u64,
    kind: String,
    resolved: Option<String>,
}

fn reason_text(t: &Text, r: &Reason) -> String {
    match r {
        Reason::NewEntitlement => t.reason_new.to_owned(),
        Reason::ReturnedLastMonth { reason_code } => {
            format!("{} ({reason_code})", t.reason_returned)
        }
        Reason::Stopped { why } => format!("{}: {why}", t.reason_stopped),
        Reason::RateChange { from, to } => {
            format!("{}: {} → {}", t.reason_rate, vnd(*from), vnd(*to))
        }
        Reason::Arrears { amount } => format!("{}: {}", t.reason_arrears, vnd(*amount)),
        Reason::Recovery { amount } => format!("{}: {}", t.reason_recovery, vnd(*amount)),
        Reason::RouteChanged => t.reason_route.to_owned(),
    }
}

fn why_text(t: &Text, why: &Why) -> String {
    match why {
        Why::Held => t.hold.to_owned(),
        Why::Identity(r) | Why::NotComputable(r) => r.clone(),
        Why::NoRoute(v) => format!("{} ({})", t.no_route, vnd(*v)),
    }
}

fn anomaly_text(t: &Text, a: &Anomaly) -> String {
    match a {
        Anomaly::AmountFarAboveLastMonth {
            beneficiary,
            previous,
            current,
        } => format!(
            "{beneficiary}: {} ({} {})",
            vnd(*current),
            t.anomaly_jump,
            vnd(*previous)
        ),
        Anomaly::SharedAccount {
            account,
            beneficiaries,
        } => format!(
            "{} {account}: {}",
            t.anomaly_shared,
            beneficiaries
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Anomaly::RouteChangedBeforePayment { beneficiary } => {
            format!("{beneficiary}: {}", t.reason_route)
        }
    }
}

/// Everything the batch page shows, read in one go from one state.
struct Seen {
    view: BatchView,
    review: Option<std::sync::Arc<Reviewed>>,
    /// The review is being built in the background; the page says so and reloads itself.
    preparing: bool,
    breaks: Vec<BreakView>,
}

async fn seen(web: &Web, id: BatchId) -> Result<Option<Seen>, crate::http::Problem> {
    let read = read(&web.app, move |s| {
        let view = views::batch(s, id)?;
        let computation = super::reviews::computation(s, id);
        let breaks = s
            .breaks()
            .iter()
            .filter(|b| b.recorded.batch == Some(id))
            .map(BreakView::of)
            .collect();
        Some((view, computation, breaks))
    })
    .await?;
    let Some((view, computation, breaks)) = read else {
        return Ok(None);
    };
    // Kept per computation, and computed in the background as soon as the batch is computed
    // (`warm`). A batch awaiting approval waits for it: the approval binds what the checker
    // saw. Any other batch whose review is not kept (an older one, after a restart) has it
    // started in the background and is shown at once, saying the review is being prepared.
    let (mut review, mut preparing) = (None, false);
    if let Some(key) = computation {
        if view.status == BatchStatus::Computed {
            review = web.reviews.of(web.app.ledger(), key).await;
        } else {
            review = web.reviews.ready(key);
            if review.is_none() {
                web.reviews.warm(web.app.ledger(), key);
                preparing = true;
            }
        }
    }
    Ok(Some(Seen {
        view,
        review,
        preparing,
        breaks,
    }))
}

pub async fn detail(State(web): State<Web>, who: Signed, Path(id): Path<String>) -> Response {
    show(&web, &who, &id, None).await
}

async fn show(web: &Web, who: &Signed, id: &str, done: Option<String>) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/batches/{id}/review") {
        return who.forbidden();
    }
    let t = who.t();
    let Some(id) = parse_id(id) else {
        return who.message(StatusCode::NOT_FOUND, t.not_found.to_owned());
    };
    let seen = match seen(web, id).await {
        Ok(Some(s)) => s,
        Ok(None) => return who.message(StatusCode::NOT_FOUND, t.not_found.to_owned()),
        Err(p) => return who.problem(p),
    };
    let v = &seen.view;
    let role = who.role();
    let totals = v.totals.unwrap_or_default();
    let (mut by_bank, mut by_commune, mut by_scheme, mut changes, mut anomalies) =
        (vec![], vec![], vec![], vec![], vec![]);
    let mut previous = row(t.previous_month.to_owned(), &ControlTotals::default());
    let mut changes_more = 0;
    if let Some(r) = seen.review.as_ref().map(|r| &r.review) {
        by_bank = r
            .by_channel
            .iter()
            .map(|(c, x)| row(channel(*c, t.cash), x))
            .collect();
        by_commune = r
            .by_commune
            .iter()
            .take(PAGE_ROWS_MAX)
            .map(|(c, x)| row(c.to_string(), x))
            .collect();
        by_scheme = r.by_scheme.iter().map(|(c, x)| row(c.clone(), x)).collect();
        previous = row(t.previous_month.to_owned(), &r.previous_totals);
        changes = r
            .changes
            .iter()
            .take(PAGE_ROWS_MAX)
            .map(|c| Change {
                who: c.beneficiary.to_string(),
                previous: vnd(c.previous),
                current: vnd(c.current),
                reasons: c
                    .reasons
                    .iter()
                    .map(|r| reason_text(t, r))
                    .collect::<Vec<_>>()
                    .join("; "),
            })
            .collect();
        changes_more = r.changes.len().saturating_sub(PAGE_ROWS_MAX);
        anomalies = r
            .anomalies
            .iter()
            .take(PAGE_ROWS_MAX)
            .map(|a| anomaly_text(t, a))
            .collect();
    }
    let reconciliation = v
        .reconciliation
        .as_ref()
        .map(|r| {
            vec![
                row(t.released.to_owned(), &r.released),
                row(t.settled.to_owned(), &r.settled),
                row(t.returned.to_owned(), &r.returned),
                row(t.outstanding.to_owned(), &r.outstanding),
            ]
        })
        .unwrap_or_default();
    let left = seen.review.as_ref().map(|r| {
        r.left_out
            .iter()
            .take(PAGE_ROWS_MAX)
            .map(|(b, why)| (b.to_string(), why_text(t, why)))
            .collect()
    });
    let body = BatchBody {
        t,
        csrf: &who.session.csrf,
        id: id.to_string(),
        status: status_word(t, v.status),
        status_code: super::format::words(&v.status),
        view: v,
        content_hash: v.content_hash.clone().unwrap_or_default(),
        count: totals.count,
        sum: totals.sum.0,
        total: row(t.this_batch.to_owned(), &totals),
        previous,
        by_bank,
        by_commune,
        by_scheme,
        changes,
        changes_more,
        anomalies,
        left_out: left,
        preparing: seen.preparing,
        reconciliation,
        breaks: seen
            .breaks
            .iter()
            .map(|b| BreakRow {
                seq: b.seq,
                kind: super::format::words(&b.kind),
                resolved: b.resolved.clone(),
            })
            .collect(),
        files: v
            .files
            .iter()
            .map(|f| row(f.name.clone(), &f.totals))
            .collect(),
        may_compute: v.status == BatchStatus::Open
            && super::may(role, &Method::POST, "/v1/batches/{id}/compute"),
        may_approve: v.status == BatchStatus::Computed
            && super::may(role, &Method::POST, "/v1/batches/{id}/approve"),
        may_release: v.status == BatchStatus::Approved
            && super::may(role, &Method::POST, "/v1/batches/{id}/release"),
        may_resolve: super::may(role, &Method::POST, "/v1/breaks/{seq}/resolve"),
        done,
    };
    let title = format!("{} {id} · {} {}", t.batch, v.programme, month(v.month));
    let mut l = who.layout();
    l.refresh = seen.preparing;
    page(&l, StatusCode::OK, &title, render(&body))
}

/// The batch an action's form names, once its CSRF token is checked; else the refusal.
fn action_batch(who: &Signed, csrf: &str, id: &str) -> Result<BatchId, Box<Response>> {
    if let Some(refused) = who.csrf_refusal(csrf) {
        return Err(Box::new(refused));
    }
    parse_id(id)
        .ok_or_else(|| Box::new(who.message(StatusCode::NOT_FOUND, who.t().not_found.to_owned())))
}

#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
}

/// Computes the batch (the maker) with the API's workflow step, then shows it with who was
/// left out.
pub async fn compute(
    State(web): State<Web>,
    who: Signed,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let batch = match action_batch(&who, &f.csrf, &id) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let ledger = web.app.ledger().clone();
    let caller = who.session.caller.clone();
    let principal = caller.principal.clone();
    let done = job(&web.app, &caller, None, move || {
        crate::app::batches::compute(&ledger, &principal, None, batch).map_err(batch_error)
    })
    .await;
    match done {
        Ok(Ok(_)) => show(&web, &who, &id, Some(who.t().computed_done.to_owned())).await,
        Ok(Err(p)) | Err(p) => who.problem(p),
    }
}

#[derive(Deserialize)]
pub struct ApproveForm {
    #[serde(default)]
    csrf: String,
    content_hash: String,
    count: u64,
    sum: i64,
}

/// Approves exactly the content the page showed: the hash and totals travel in the form, and
/// the ledger refuses them if the batch changed since (or if the approver computed it).
pub async fn approve(
    State(web): State<Web>,
    who: Signed,
    Path(id): Path<String>,
    Form(f): Form<ApproveForm>,
) -> Response {
    let batch = match action_batch(&who, &f.csrf, &id) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let Ok(hash) = blake3::Hash::from_hex(f.content_hash.trim()) else {
        return who.message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "content_hash: must be 64 hex digits".to_owned(),
        );
    };
    let command = Command::ApproveBatch(cmd::ApproveBatch {
        batch,
        content_hash: *hash.as_bytes(),
        totals: ControlTotals {
            count: f.count,
            sum: Vnd(f.sum),
        },
    });
    match submit(&web.app, &who.session.caller, None, command).await {
        Ok(_) => show(&web, &who, &id, Some(who.t().approved_done.to_owned())).await,
        Err(p) => who.problem(p),
    }
}

/// Releases the batch with its payment files, as `POST /v1/batches/{id}/release` does.
pub async fn release(
    State(web): State<Web>,
    who: Signed,
    Path(id): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    let batch = match action_batch(&who, &f.csrf, &id) {
        Ok(b) => b,
        Err(refused) => return *refused,
    };
    let ledger = web.app.ledger().clone();
    let settings = web.app.settings();
    let caller = who.session.caller.clone();
    let principal = caller.principal.clone();
    let done = job(&web.app, &caller, None, move || {
        crate::app::batches::release(&ledger, &settings, &principal, None, batch)
            .map_err(batch_error)
    })
    .await;
    match done {
        Ok(Ok(_)) => show(&web, &who, &id, Some(who.t().released_done.to_owned())).await,
        Ok(Err(p)) | Err(p) => who.problem(p),
    }
}

#[derive(Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    csrf: String,
    note: String,
}

/// Resolves a reconciliation break with a note (the checker).
pub async fn resolve(
    State(web): State<Web>,
    who: Signed,
    Path((id, seq)): Path<(String, u64)>,
    Form(f): Form<ResolveForm>,
) -> Response {
    if let Some(refused) = who.csrf_refusal(&f.csrf) {
        return refused;
    }
    let command = Command::ResolveBreak(cmd::ResolveBreak {
        break_seq: seq,
        note: f.note,
    });
    match submit(&web.app, &who.session.caller, None, command).await {
        Ok(_) => show(&web, &who, &id, Some(who.t().done.to_owned())).await,
        Err(p) => who.problem(p),
    }
}
