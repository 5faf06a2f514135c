//! Monthly batches: open, list, show, compute, review, approve, release (with its payment
//! files), cancel, close, reconciliation, reconciliation breaks, and payout projections.
//!
//! Retries of the two multi-command workflows:
//! - **compute** submits one `ComputeBatch` built from the state at that moment. A retry with the
//!   same Idempotency-Key after it succeeded finds the computation's records in the chain (they
//!   carry the key) and answers with the original receipt, appending nothing; concurrent retries
//!   wait for the first. A retry with another key is refused by the ledger (409: not open).
//! - **release** appends `BatchReleased` (with the key) and then issues every payment file not
//!   yet issued (files already issued with the same bytes append nothing). A retry, with any key,
//!   of a batch already released issues whatever files are missing (after a crash between the
//!   two steps) and answers with the release record's receipt.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::support::{
    self, job, ok, path_id, read, submit, written, IdemKey, JsonBody, StrictQuery, Who,
};
use super::{AppState, Problem};
use crate::chain::hex;
use crate::domain::command::{self as cmd};
use crate::domain::event::{BatchKind, ControlTotals};
use crate::domain::state::BatchStatus;
use crate::domain::types::*;
use crate::domain::{Command, Rejection};

fn batch_id(text: &str) -> Result<BatchId, Problem> {
    path_id(text, BatchId::parse)
}

fn no_batch(id: BatchId) -> Problem {
    Problem::not_found(format!("no batch {id}"))
}

/// A body with no fields (`{}`); routes that take one also accept an empty body.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoFields {}

/// An optional JSON body: empty means `T::default()`.
pub struct MaybeJson<T>(pub T);

impl<T: serde::de::DeserializeOwned + Default, S: Send + Sync> axum::extract::FromRequest<S>
    for MaybeJson<T>
{
    type Rejection = Problem;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Problem> {
        let json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_none_or(|v| v == "application/json" || v.ends_with("+json"));
        let bytes = support::body_bytes(req, state, "request_body_bytes_max").await?;
        if bytes.is_empty() {
            return Ok(MaybeJson(T::default()));
        }
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        support::parse_json(&bytes).map(MaybeJson)
    }
}

/// 404 unless the batch exists (the ledger would say 422 `invalid` for a batch it does not know).
async fn require_batch(state: &AppState, id: BatchId) -> Result<(), Problem> {
    if read(state, move |s| s.batch(id).is_some()).await? {
        Ok(())
    } else {
        Err(no_batch(id))
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenBody {
    pub programme: Programme,
    pub month: Month,
    pub funding_account: String,
    /// The released regular batch this supplementary batch adds to (absent for a regular one).
    #[serde(default)]
    pub supplementary_of: Option<String>,
}

#[utoipa::path(
    post,
    path = "/v1/batches",
    summary = "Open a batch",
    params(IdemKey),
    request_body = OpenBody,
    responses(
        (status = 201, description = "opened; `Location` names the batch", body = support::Written),
    ),
)]
pub async fn open(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<OpenBody>,
) -> Result<Response, Problem> {
    let kind = match b.supplementary_of.as_deref() {
        None => BatchKind::Regular,
        Some(text) => BatchKind::Supplementary {
            of: BatchId::parse(text).map_err(|e| {
                Problem::invalid_body("supplementary_of", format!("supplementary_of: {e}"))
            })?,
        },
    };
    let command = Command::OpenBatch(cmd::OpenBatch {
        programme: b.programme,
        month: b.month,
        funding_account: b.funding_account,
        kind,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchSummary {
    pub id: BatchId,
    pub programme: Programme,
    pub month: Month,
    pub kind: BatchKind,
    pub status: BatchStatus,
    pub payments: usize,
    pub totals: Option<ControlTotals>,
    pub content_hash: Option<String>,
    pub opened_by: String,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `NCC`, `BTXH` or `HTXH`.
    #[serde(default)]
    pub programme: Option<String>,
    /// The month, `YYYY-MM`.
    #[serde(default)]
    pub month: Option<String>,
    /// Batches after this one (the previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
    /// Page size (at most `page_size_max`).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/batches",
    summary = "Batches",
    params(ListQuery),
    responses((status = 200, description = "a page of batches", body = super::openapi::BatchPage)),
)]
pub async fn list(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<ListQuery>,
) -> Result<Response, Problem> {
    let page = support::page(&state, q.limit)?;
    let programme = support::optional("programme", q.programme.as_deref(), Programme::parse)?;
    let month = support::optional("month", q.month.as_deref(), Month::parse)?;
    let after =
        support::optional("after", q.after.as_deref(), BatchId::parse)?.unwrap_or(BatchId(0));
    let limit = page.limit;
    let (items, more) = read(&state, move |s| {
        let it = s
            .batches()
            .iter()
            .filter(|b| b.opened.batch > after)
            .filter(|b| programme.is_none_or(|p| b.opened.programme == p))
            .filter(|b| month.is_none_or(|m| b.opened.month == m))
            .map(|b| BatchSummary {
                id: b.opened.batch,
                programme: b.opened.programme,
                month: b.opened.month,
                kind: b.opened.kind,
                status: b.status,
                payments: b.payments.len(),
                totals: b.computed.as_ref().map(|c| c.totals),
                content_hash: b.computed.as_ref().map(|c| hex(&c.content_hash)),
                opened_by: b.opened_by.clone(),
            });
        support::take_page(it, limit)
    })
    .await?;
    Ok(support::page_response(items, more, |b| b.id.to_string()))
}

#[utoipa::path(
    get,
    path = "/v1/batches/{id}",
    summary = "A batch with totals, reconciliation and files",
    params(("id" = String, Path, description = super::openapi::BATCH_ID)),
    responses((status = 200, description = "the batch", body = crate::app::views::BatchView)),
)]
pub async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = batch_id(&id)?;
    read(&state, move |s| crate::app::views::batch(s, id))
        .await?
        .map(ok)
        .ok_or_else(|| no_batch(id))
}

#[utoipa::path(
    get,
    path = "/v1/batches/{id}/review",
    summary = "Control totals, changes since last month with reasons, anomalies",
    params(("id" = String, Path, description = super::openapi::BATCH_ID)),
    responses(
        (status = 200, description = "the review", body = crate::domain::batch::review::Review),
    ),
)]
pub async fn review(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = batch_id(&id)?;
    read(&state, move |s| crate::domain::batch::review::review(s, id))
        .await?
        .map(ok)
        .ok_or_else(|| no_batch(id))
}

#[utoipa::path(
    get,
    path = "/v1/batches/{id}/reconciliation",
    summary = "Reconciliation report with breaks",
    params(("id" = String, Path, description = super::openapi::BATCH_ID)),
    responses(
        (
            status = 200,
            description = "the reconciliation",
            body = super::openapi::BatchReconciliation,
        ),
    ),
)]
pub async fn reconciliation(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let id = batch_id(&id)?;
    let (r, breaks) = read(&state, move |s| {
        let r = crate::domain::batch::reconciliation(s, id);
        let breaks: Vec<BreakView> = s
            .breaks()
            .iter()
            .filter(|b| b.recorded.batch == Some(id))
            .map(BreakView::of)
            .collect();
        (r, breaks)
    })
    .await?;
    let r = r.ok_or_else(|| no_batch(id))?;
    Ok(ok(
        serde_json::json!({ "batch": id, "reconciliation": r, "breaks": breaks }),
    ))
}

pub use crate::app::views::BreakView;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BreaksQuery {
    /// Only this batch's breaks (`BATCH1`).
    #[serde(default)]
    pub batch: Option<String>,
    /// Only unresolved breaks.
    #[serde(default)]
    pub open: Option<bool>,
    /// Breaks after this sequence number (the previous page's `next`).
    #[serde(default)]
    pub after: Option<u64>,
    /// Page size (at most `page_size_max`).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/breaks",
    summary = "Reconciliation breaks",
    params(BreaksQuery),
    responses((status = 200, description = "a page of breaks", body = super::openapi::BreakPage)),
)]
pub async fn breaks(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<BreaksQuery>,
) -> Result<Response, Problem> {
    let page = support::page(&state, q.limit)?;
    let batch = support::optional("batch", q.batch.as_deref(), BatchId::parse)?;
    let only_open = q.open.unwrap_or(false);
    let after = q.after;
    let limit = page.limit;
    let (items, more) = read(&state, move |s| {
        let it = s
            .breaks()
            .iter()
            .filter(|b| after.is_none_or(|a| b.seq > a))
            .filter(|b| batch.is_none_or(|id| b.recorded.batch == Some(id)))
            .filter(|b| !only_open || b.resolved.is_none())
            .map(BreakView::of);
        support::take_page(it, limit)
    })
    .await?;
    Ok(support::page_response(items, more, |b| b.seq))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    pub note: String,
}

#[utoipa::path(
    post,
    path = "/v1/breaks/{seq}/resolve",
    summary = "Resolve a break with a note",
    params(("seq" = String, Path, description = super::openapi::BREAK_SEQ), IdemKey),
    request_body = ResolveBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn resolve_break(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(seq): Path<String>,
    JsonBody(b): JsonBody<ResolveBody>,
) -> Result<Response, Problem> {
    let seq: u64 = seq
        .parse()
        .map_err(|_| Problem::not_found(format!("no break at {seq:?}")))?;
    if !read(&state, move |s| s.breaks().iter().any(|b| b.seq == seq)).await? {
        return Err(Problem::not_found(format!("no break at seq {seq}")));
    }
    let command = Command::ResolveBreak(cmd::ResolveBreak {
        break_seq: seq,
        note: b.note,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

/// Whole VND, never negative, never a fraction: serde refuses `1.5` and `1e3` for an integer,
/// and the handler refuses a negative.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TotalsBody {
    pub count: u64,
    pub sum: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApproveBody {
    /// The content hash the checker reviewed (64 hex digits).
    pub content_hash: String,
    /// The control totals the checker reviewed.
    pub totals: TotalsBody,
}

#[utoipa::path(
    post,
    path = "/v1/batches/{id}/approve",
    summary = "Approve exactly the reviewed content and totals (not the maker)",
    params(("id" = String, Path, description = super::openapi::BATCH_ID), IdemKey),
    request_body = ApproveBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn approve(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<ApproveBody>,
) -> Result<Response, Problem> {
    let batch = batch_id(&id)?;
    require_batch(&state, batch).await?;
    let hash = blake3::Hash::from_hex(b.content_hash.trim()).map_err(|_| {
        Problem::invalid_body("content_hash", "content_hash: must be 64 hex digits")
    })?;
    if b.totals.sum < 0 {
        return Err(Problem::invalid_body(
            "totals.sum",
            "totals.sum: VND amounts are whole non-negative dong",
        ));
    }
    let command = Command::ApproveBatch(cmd::ApproveBatch {
        batch,
        content_hash: *hash.as_bytes(),
        totals: ControlTotals {
            count: b.totals.count,
            sum: Vnd(b.totals.sum),
        },
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelBody {
    pub reason: String,
}

#[utoipa::path(
    post,
    path = "/v1/batches/{id}/cancel",
    summary = "Cancel before release",
    params(("id" = String, Path, description = super::openapi::BATCH_ID), IdemKey),
    request_body = CancelBody,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn cancel(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    JsonBody(b): JsonBody<CancelBody>,
) -> Result<Response, Problem> {
    let batch = batch_id(&id)?;
    require_batch(&state, batch).await?;
    let command = Command::CancelBatch(cmd::CancelBatch {
        batch,
        reason: b.reason,
    });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[utoipa::path(
    post,
    path = "/v1/batches/{id}/close",
    summary = "Close a reconciled batch",
    params(("id" = String, Path, description = super::openapi::BATCH_ID), IdemKey),
    request_body = Option<NoFields>,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn close(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    MaybeJson(NoFields {}): MaybeJson<NoFields>,
) -> Result<Response, Problem> {
    let batch = batch_id(&id)?;
    require_batch(&state, batch).await?;
    let command = Command::CloseBatch(cmd::CloseBatch { batch });
    written(&state, submit(&state, &who, key, command).await?).await
}

#[utoipa::path(
    post,
    path = "/v1/batches/{id}/compute",
    summary = "Compute the batch (heavy job)",
    params(("id" = String, Path, description = super::openapi::BATCH_ID), IdemKey),
    request_body = Option<NoFields>,
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn compute(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    MaybeJson(NoFields {}): MaybeJson<NoFields>,
) -> Result<Response, Problem> {
    let batch = batch_id(&id)?;
    let ledger = state.ledger().clone();
    let (who2, key2) = (who.clone(), key.clone());
    let receipt = job(&state, &who, key.as_ref(), move || {
        crate::app::batches::compute(&ledger, &who2.principal, key2, batch)
            .map(|c| c.receipt)
            .map_err(batch_error)
    })
    .await??;
    written(&state, receipt).await
}

/// A workflow error as a problem; store failures are 503s with the cause in the log only.
pub fn batch_error(e: crate::app::batches::BatchError) -> Problem {
    use crate::app::batches::BatchError as E;
    match e {
        E::Submit(s) => Problem::from(s),
        E::NoBatch(id) => no_batch(id),
        E::Status(s) => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-status-report",
            s.to_string(),
        ),
        E::UnknownReport(_) => unknown_report(),
        E::AlreadyReleased { .. } => Problem::from_rejection(&Rejection::conflict(e.to_string())),
        // The batch stays approved: cancel it, correct the data, compute again.
        E::File(e) => Problem::from_rejection(&Rejection::conflict(format!(
            "a payment file cannot be written, nothing was released: {e}"
        ))),
        E::Erased(_) | E::NoAccount(_) => {
            Problem::from_rejection(&Rejection::conflict(e.to_string()))
        }
        E::NoFile(id) => Problem::not_found(format!("no file {id}")),
        // The operator must add the department to chitra.toml; the batch stays approved.
        E::Config(_) => Problem::from_rejection(&Rejection::conflict(e.to_string())),
        other @ (E::Store(_) | E::Read(_) | E::Inconsistent(_) | E::MissingBytes(_)) => {
            Problem::unavailable(&other)
        }
    }
}

/// The same answer for "no such file" and "another bank's file", so a bank learns nothing
/// about other banks' files.
pub fn unknown_report() -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown-report",
        "the status report refers to none of your payment files (its original message id is unknown)",
    )
}

#[utoipa::path(
    post,
    path = "/v1/batches/{id}/release",
    summary = "Release and issue payment files (heavy job)",
    params(("id" = String, Path, description = super::openapi::BATCH_ID), IdemKey),
    request_body = Option<NoFields>,
    responses(
        (
            status = 200,
            description = "released, with the payment files",
            body = super::openapi::Released,
        ),
    ),
)]
pub async fn release(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    Path(id): Path<String>,
    MaybeJson(NoFields {}): MaybeJson<NoFields>,
) -> Result<Response, Problem> {
    let batch = batch_id(&id)?;
    let ledger = state.ledger().clone();
    let settings = state.settings();
    let (who2, key2) = (who.clone(), key.clone());
    let receipt = job(&state, &who, key.as_ref(), move || {
        crate::app::batches::release(&ledger, &settings, &who2.principal, key2, batch)
            .map(|r| r.receipt)
            .map_err(batch_error)
    })
    .await??;
    let events = support::appended(&state, &receipt).await?;
    let files = read(&state, move |s| {
        s.batch(batch)
            .map(|b| {
                b.files
                    .iter()
                    .filter_map(|f| crate::app::views::file(s, *f))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
    })
    .await?;
    let body = serde_json::json!({
        "receipt": support::ReceiptView::from(&receipt),
        "events": events,
        "events_listed": true,
        "files": files,
    });
    let mut res = (StatusCode::OK, axum::Json(body)).into_response();
    if receipt.replayed {
        res.headers_mut().insert(
            "idempotent-replayed",
            axum::http::HeaderValue::from_static("true"),
        );
    }
    Ok(res)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PayoutQuery {
    /// One month, `YYYY-MM` (or give `from` and `to`).
    #[serde(default)]
    pub month: Option<String>,
    /// The first month of a range, `YYYY-MM`.
    #[serde(default)]
    pub from: Option<String>,
    /// The last month of a range, `YYYY-MM` (inclusive).
    #[serde(default)]
    pub to: Option<String>,
}

/// Totals paid (released or closed batches) by programme, scheme, commune and bank, for one
/// month (`month`) or a range (`from`, `to`, inclusive).
#[utoipa::path(
    get,
    path = "/v1/payouts",
    summary = "Payout totals by programme, scheme, commune and bank, for a month or a range",
    params(PayoutQuery),
    responses((status = 200, description = "the totals paid", body = super::openapi::PayoutRange)),
)]
pub async fn payouts(
    State(state): State<AppState>,
    StrictQuery(q): StrictQuery<PayoutQuery>,
) -> Result<Response, Problem> {
    let parse = |name: &str, v: &str| {
        Month::parse(v).map_err(|e| Problem::bad_request(format!("{name}: {e}")))
    };
    let (from, to) = match (&q.month, &q.from, &q.to) {
        (Some(m), None, None) => {
            let m = parse("month", m)?;
            (m, m)
        }
        (None, Some(f), Some(t)) => (parse("from", f)?, parse("to", t)?),
        _ => {
            return Err(Problem::bad_request(
                "give either month=YYYY-MM or both from=YYYY-MM and to=YYYY-MM",
            ))
        }
    };
    if from > to {
        return Err(Problem::bad_request("from is after to"));
    }
    let payout = read(&state, move |s| crate::app::views::payout(s, from, to)).await?;
    Ok(ok(
        serde_json::json!({ "from": from, "to": to, "payout": payout }),
    ))
}
