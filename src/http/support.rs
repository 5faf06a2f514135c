//! What the handlers share: the JSON body extractor (every rejection a problem), the
//! Idempotency-Key header, reads that wait for durability without blocking the async workers,
//! submissions, heavy jobs, and the write response built from the records a receipt names.

use std::time::Duration;

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{AppState, Caller, Problem};
use crate::chain::hex;
use crate::domain::event::Event;
use crate::domain::state::State;
use crate::domain::Command;
use crate::ledger::{IdempotencyKey, Receipt, Submission};

/// A JSON request body, parsed strictly: wrong media type 415, too large 413, not JSON 400,
/// not the schema 422 naming the field.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Problem> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase())
            .is_some_and(|v| v == "application/json" || v.ends_with("+json"));
        if !json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "send the body as `Content-Type: application/json`",
            ));
        }
        let bytes = body_bytes(req, state, "request_body_bytes_max").await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The raw body, with the body limit turned into a 413 problem.
pub async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
    limit_name: &str,
) -> Result<axum::body::Bytes, Problem> {
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Problem::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body-too-large",
                    format!("the body is larger than {limit_name} allows"),
                )
            } else {
                Problem::bad_request(format!("the body could not be read: {e}"))
            }
        })
}

/// Strict JSON: syntax errors are 400, schema errors 422 with the field's path.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Problem> {
    use serde_json::error::Category;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        json_problem(&path, e.into_inner())
    })?;
    de.end().map_err(|e| json_problem(".", e))?;
    return Ok(value);

    fn json_problem(path: &str, inner: serde_json::Error) -> Problem {
        match inner.classify() {
            Category::Syntax | Category::Eof | Category::Io => Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                format!("the body is not valid JSON: {inner}"),
            ),
            Category::Data => {
                let field = if path == "." { "" } else { path };
                let msg = strip_position(&inner.to_string());
                let detail = if field.is_empty() {
                    msg
                } else {
                    format!("{field}: {msg}")
                };
                Problem::invalid_body(field, detail)
            }
        }
    }
}

/// serde_json's messages end in " at line L column C", which says nothing useful once the field
/// is named.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

/// The `Idempotency-Key` header, when present (400 when it is not 1-128 visible ASCII bytes).
pub struct IdemKey(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdemKey {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(IdemKey(None));
        };
        let bad =
            |why: String| Problem::new(StatusCode::BAD_REQUEST, "invalid-idempotency-key", why);
        let text = v.to_str().map_err(|_| bad("not visible ASCII".into()))?;
        IdempotencyKey::parse(text)
            .map(|k| IdemKey(Some(k)))
            .map_err(bad)
    }
}

/// The authenticated caller (the guard put it there).
pub struct Who(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Who {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .map(Who)
            .ok_or_else(Problem::unauthenticated)
    }
}

/// Runs `f` over the state on the blocking pool, then waits (asynchronously) until everything
/// it saw is durable: a reader never reports what a crash could take back.
pub async fn read<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&State) -> T + Send + 'static,
) -> Result<T, Problem> {
    let (value, applied) = state
        .readers
        .read(f)
        .await
        .ok_or_else(|| Problem::unavailable(&"the reader threads stopped"))?;
    wait_durable(state, applied).await?;
    Ok(value)
}

/// Like `read`, for a view that names the records it depends on: `f` returns the value and how
/// many records must be durable for it (for a beneficiary, up to the last record that touches
/// them). A lookup then does not wait for a long command that does not concern it.
pub async fn read_needing<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&State) -> (T, u64) + Send + 'static,
) -> Result<T, Problem> {
    let ((value, needed), applied) = state
        .readers
        .read(f)
        .await
        .ok_or_else(|| Problem::unavailable(&"the reader threads stopped"))?;
    wait_durable(state, needed.min(applied)).await?;
    Ok(value)
}

/// The first `limit` items and whether more follow.
pub fn take_page<T>(mut items: impl Iterator<Item = T>, limit: usize) -> (Vec<T>, bool) {
    let page: Vec<T> = items.by_ref().take(limit).collect();
    (page, items.next().is_some())
}

/// A page as the list routes answer it: the items, and the cursor to ask for the next page
/// (the last item's) when more follow.
pub fn page_response<T: serde::Serialize, C: serde::Serialize>(
    items: Vec<T>,
    more: bool,
    cursor: impl Fn(&T) -> C,
) -> axum::response::Response {
    let next = if more { items.last().map(cursor) } else { None };
    ok(serde_json::json!({ "items": items, "next": next }))
}

/// An optional query parameter parsed by its type's `parse`; a bad value is a 400 naming the
/// parameter.
pub fn optional<T, E: std::fmt::Display>(
    name: &str,
    value: Option<&str>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, Problem> {
    value
        .map(|v| parse(v).map_err(|e| Problem::bad_request(format!("{name}: {e}"))))
        .transpose()
}

/// Waits until `records` records are durable, without blocking a worker thread.
pub async fn wait_durable(state: &AppState, records: u64) -> Result<(), Problem> {
    let ledger = state.ledger();
    let mut rx = ledger.durable_watch();
    loop {
        if *rx.borrow_and_update() >= records {
            return Ok(());
        }
        if ledger.is_stopped() {
            return Err(Problem::unavailable(&"the writer stopped"));
        }
        // The watch is not told when the writer stops, so look again now and then.
        let _ = tokio::time::timeout(Duration::from_millis(100), rx.changed()).await;
    }
}

/// Runs blocking work on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Problem::unavailable(&e))
}

/// Submits one command as the caller, with the request's Idempotency-Key.
pub async fn submit(
    state: &AppState,
    caller: &Caller,
    key: Option<IdempotencyKey>,
    command: Command,
) -> Result<Receipt, Problem> {
    let mut results = state
        .ledger()
        .submit_many_async(vec![Submission {
            principal: caller.principal.clone(),
            idempotency_key: key,
            command,
        }])
        .await;
    results
        .pop()
        .unwrap_or_else(|| Err(crate::ledger::SubmitError::Unavailable("no reply".into())))
        .map_err(Problem::from)
}

/// How a receipt looks in a response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ReceiptView {
    pub first_seq: u64,
    pub last_seq: Option<u64>,
    pub count: u32,
    /// blake3 of the last record appended (of the head, when nothing was appended).
    pub hash: String,
}

impl From<&Receipt> for ReceiptView {
    fn from(r: &Receipt) -> ReceiptView {
        ReceiptView {
            first_seq: r.first_seq,
            last_seq: r.last_seq(),
            count: r.count,
            hash: hex(&r.hash),
        }
    }
}

/// One appended record in a write response.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Appended {
    pub seq: u64,
    pub hash: String,
    pub event: Event,
}

use super::limits::RESPONSE_EVENTS_MAX;

/// The body of every write: the id of what it created (if it created something), its receipt,
/// and the events it appended. Built from the receipt and the stored records only, so that a
/// retry with the same Idempotency-Key gets the same body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Written {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub receipt: ReceiptView,
    pub events: Vec<Appended>,
    pub events_listed: bool,
}

/// The records a receipt names (at most `RESPONSE_EVENTS_MAX`), decoded.
pub async fn appended(state: &AppState, receipt: &Receipt) -> Result<Vec<Appended>, Problem> {
    if receipt.count == 0 || receipt.count > RESPONSE_EVENTS_MAX {
        return Ok(Vec::new());
    }
    let ledger = state.ledger().clone();
    let (from, to) = (
        receipt.first_seq,
        receipt.first_seq + u64::from(receipt.count),
    );
    blocking(move || -> Result<Vec<Appended>, Problem> {
        let mut out = Vec::new();
        for r in ledger.events(from, to) {
            let r = r.map_err(|e| Problem::unavailable(&e))?;
            out.push(Appended {
                seq: r.seq,
                hash: hex(&r.hash),
                event: r.event,
            });
        }
        Ok(out)
    })
    .await?
}

/// The id of what a write created, from its first event.
fn created_id(events: &[Appended]) -> Option<(String, &'static str)> {
    match &events.first()?.event {
        Event::BeneficiaryEnrolled(e) => Some((e.beneficiary.to_string(), "beneficiaries")),
        Event::EntitlementGranted(e) => Some((e.entitlement.to_string(), "entitlements")),
        Event::BatchOpened(e) => Some((e.batch.to_string(), "batches")),
        _ => None,
    }
}

/// The response to a write: 201 with `Location` when it created something, 200 otherwise;
/// `Idempotent-Replayed: true` when it is the answer to an earlier request with the same key.
pub async fn written(state: &AppState, receipt: Receipt) -> Result<Response, Problem> {
    let events = appended(state, &receipt).await?;
    let created = created_id(&events);
    let body = Written {
        id: created.as_ref().map(|(id, _)| id.clone()),
        receipt: ReceiptView::from(&receipt),
        events_listed: receipt.count <= RESPONSE_EVENTS_MAX,
        events,
    };
    let mut res = match &created {
        Some((id, collection)) => {
            let mut res = (StatusCode::CREATED, Json(body)).into_response();
            if let Ok(v) = HeaderValue::from_str(&format!("/v1/{collection}/{id}")) {
                res.headers_mut().insert(header::LOCATION, v);
            }
            res
        }
        None => (StatusCode::OK, Json(body)).into_response(),
    };
    if receipt.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// A heavy job: at most `jobs_concurrent_max` at once (429 otherwise), on the blocking pool;
/// concurrent requests with the same principal and Idempotency-Key run one after the other.
pub async fn job<T: Send + 'static>(
    state: &AppState,
    caller: &Caller,
    key: Option<&IdempotencyKey>,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, Problem> {
    let key_lock = key.map(|k| {
        let id = (
            caller.principal.to_string(),
            String::from_utf8_lossy(k.as_bytes()).into_owned(),
        );
        let mut locks = state.job_keys.lock().expect("job keys lock");
        locks.retain(|_, l| std::sync::Arc::strong_count(l) > 1);
        locks.entry(id).or_default().clone()
    });
    let _same_key = match &key_lock {
        Some(l) => Some(l.lock().await),
        None => None,
    };
    let permit = state
        .jobs
        .clone()
        .try_acquire_owned()
        .map_err(|_| Problem::busy(5))?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    // A thread of its own, at a lower CPU priority (threads it starts inherit it), so that the
    // job does not take the cores from interactive requests. It keeps its permit until it ends,
    // even when the request that started it timed out.
    std::thread::Builder::new()
        .name("chitra-job".into())
        .spawn(move || {
            lower_priority();
            let value = f();
            // Give the permit back before answering, so that a client who sends its next job
            // as soon as it has the answer does not find the slot still taken.
            drop(permit);
            let _ = tx.send(value);
        })
        .map_err(|e| Problem::unavailable(&e))?;
    rx.await
        .map_err(|_| Problem::unavailable(&"a heavy job panicked"))
}

/// Niceness of heavy jobs' threads (0 is normal, 19 the lowest priority).
pub const JOB_NICE: i32 = 10;

/// Lowers the calling thread's CPU priority to `JOB_NICE` (Linux: niceness is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority only read their integer arguments.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        let _ = libc::setpriority(libc::PRIO_PROCESS, tid, JOB_NICE);
    }
}

/// A path id in its displayed form (`B12`) or as a bare number.
pub fn path_id<T>(
    text: &str,
    parse: fn(&str) -> Result<T, crate::domain::types::ParseError>,
) -> Result<T, Problem> {
    parse(text).map_err(|e| Problem::not_found(format!("no such resource: {e}")))
}

/// `limit` and the cursor of a listing.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub limit: usize,
}

pub fn page(state: &AppState, limit: Option<usize>) -> Result<Page, Problem> {
    let max = state.limits.page_size_max;
    match limit {
        None => Ok(Page {
            limit: state.limits.page_size_default,
        }),
        Some(0) => Err(Problem::bad_request("limit must be at least 1")),
        Some(n) if n > max => Err(Problem::bad_request(format!(
            "limit {n} is above page_size_max ({max})"
        ))),
        Some(n) => Ok(Page { limit: n }),
    }
}

/// A query string, parsed strictly into `T` (unknown parameters refused), as a 400 problem.
pub struct StrictQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for StrictQuery<T> {
    type Rejection = Problem;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Problem> {
        let q = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_deserializer(q);
        de.map(StrictQuery)
            .map_err(|e| Problem::bad_request(format!("query: {e}")))
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(q: &str) -> Result<T, String> {
    // axum's Query extractor uses serde_urlencoded; reuse it through axum.
    axum::extract::Query::<T>::try_from_uri(&format!("/?{q}").parse().map_err(|e| format!("{e}"))?)
        .map(|axum::extract::Query(v)| v)
        .map_err(|e| e.body_text())
}

/// The request's media type, lower case, without parameters (empty when none is declared).
pub fn media_type(req: &Request) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

/// An uploaded file refused as a whole (422 `code`): how many problems, and the first
/// `ROSTER_LISTED_MAX` of them, each naming its line and column.
pub fn upload_refused<E: std::fmt::Display>(code: &str, what: &str, errors: &[E]) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        code,
        format!(
            "{what} was refused: {} problem(s), nothing was recorded",
            errors.len()
        ),
    )
    .with_errors(
        errors
            .iter()
            .take(super::limits::ROSTER_LISTED_MAX)
            .map(ToString::to_string)
            .collect(),
    )
}

/// Refuses (415) a body that is not declared `text/csv`: `what` is sent as described in `doc`.
pub fn require_csv(req: &Request, what: &str, doc: &str) -> Result<(), Problem> {
    if media_type(req) != "text/csv" {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            format!("send {what} as text/csv ({doc})"),
        ));
    }
    Ok(())
}

/// A JSON 200 response.
pub fn ok<T: Serialize>(value: T) -> Response {
    Json(value).into_response()
}
