//! Operations and the chain: health, readiness, metrics, chain status, verification, export;
//! rate schedules; and the admin's token management.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::{self, Role};
use super::batches::{MaybeJson, NoFields};
use super::support::{self, ok, read, submit, written, IdemKey, JsonBody, Who};
use super::{AppState, Problem};
use crate::chain::hex;
use crate::domain::types::{BankBin, Month, Programme, ProvinceCode};
use crate::domain::Command;

/// The process is up.
#[utoipa::path(
    get,
    path = "/healthz",
    summary = "The process is up",
    responses((status = 200, description = "up", body = super::openapi::Health)),
)]
pub async fn healthz() -> Response {
    ok(serde_json::json!({ "status": "ok" }))
}

/// The ledger takes writes and answers reads: the writer has not stopped.
#[utoipa::path(
    get,
    path = "/readyz",
    summary = "The ledger takes writes (503 once the writer stopped)",
    responses((status = 200, description = "ready", body = super::openapi::Ready)),
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.ledger().is_stopped() {
        let mut res = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the writer stopped after a failed write; restart the server to reopen the ledger",
        )
        .into_response();
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return res;
    }
    ok(serde_json::json!({ "status": "ready", "records": state.ledger().durable_records() }))
}

/// Prometheus text exposition (docs/http.md, "Logs and metrics").
#[utoipa::path(
    get,
    path = "/metrics",
    summary = "Prometheus metrics",
    responses(
        (
            status = 200,
            description = "the metrics",
            body = String,
            content_type = "text/plain; version=0.0.4",
        ),
    ),
)]
pub async fn metrics(State(state): State<AppState>) -> Result<Response, Problem> {
    let st = state.clone();
    let text = support::blocking(move || st.metrics.render(st.ledger())).await?;
    let mut res = text.into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(super::metrics::CONTENT_TYPE),
    );
    Ok(res)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChainStatus {
    pub records: u64,
    pub head_seq: Option<u64>,
    pub head_hash: Option<String>,
    pub last_verified_unix_ms: Option<i64>,
    pub last_verified_records: Option<u64>,
    pub size_on_disk_bytes: u64,
    /// `null` after the writer stopped (the state then holds records that are not durable).
    pub beneficiaries: Option<usize>,
    pub writer_stopped: bool,
}

#[utoipa::path(
    get,
    path = "/v1/chain",
    summary = "Chain status: records, head, last verification",
    responses((status = 200, description = "the chain's status", body = ChainStatus)),
)]
pub async fn status(State(state): State<AppState>) -> Result<Response, Problem> {
    let ledger = state.ledger().clone();
    let s = support::blocking(move || -> Result<ChainStatus, Problem> {
        let head = ledger.head().map_err(|e| Problem::unavailable(&e))?;
        let verified = ledger
            .last_verified()
            .map_err(|e| Problem::unavailable(&e))?;
        // Counted as of the durable head, like the head itself; unknown once the writer
        // stopped with records applied that never became durable.
        let beneficiaries = ledger.read(|s| s.beneficiary_count()).ok();
        Ok(ChainStatus {
            records: head.records,
            head_seq: head.last.map(|a| a.seq),
            head_hash: head.last.map(|a| hex(&a.hash)),
            last_verified_unix_ms: verified.map(|v| v.0),
            last_verified_records: verified.map(|v| v.1),
            size_on_disk_bytes: ledger.size_on_disk(),
            beneficiaries,
            writer_stopped: ledger.is_stopped(),
        })
    })
    .await??;
    Ok(ok(s))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// A head trusted from earlier, as `SEQ:HASH`: the record at SEQ must still have that hash.
    #[serde(default)]
    pub expect_head: Option<String>,
}

/// Verifies the whole store. A fault is the answer (200, `ok: false`, the first bad record),
/// not an error of the request.
#[utoipa::path(
    post,
    path = "/v1/chain/verify",
    summary = "Verify the whole chain (heavy job; writes nothing)",
    request_body = Option<VerifyBody>,
    responses(
        (
            status = 200,
            description = "verified, or the first fault",
            body = super::openapi::VerifyAnswer,
        ),
    ),
)]
pub async fn verify(
    State(state): State<AppState>,
    Who(who): Who,
    MaybeJson(b): MaybeJson<VerifyBody>,
) -> Result<Response, Problem> {
    let trusted = b
        .expect_head
        .as_deref()
        .map(|t| {
            crate::chain::Anchor::parse(t).ok_or_else(|| {
                Problem::invalid_body(
                    "expect_head",
                    "expect_head: is not SEQ:HASH (64 hex digits)",
                )
            })
        })
        .transpose()?;
    let ledger = state.ledger().clone();
    let result = support::job(&state, &who, None, move || {
        // The chain up to the durable head: later records are still being written.
        ledger.verify(trusted, |_| {})
    })
    .await?;
    match result {
        Ok(report) => Ok(ok(serde_json::json!({
            "ok": true,
            "records": report.verified.records,
            "head_seq": report.verified.head.map(|h| h.seq),
            "head_hash": report.verified.head.map(|h| hex(&h.hash)),
            "personal_entries": report.personal_entries,
            "elapsed_ms": report.elapsed.as_millis() as u64,
        }))),
        Err(e) if e.is_tampering() => Ok(ok(serde_json::json!({
            "ok": false,
            "fault": e.to_string(),
        }))),
        Err(e) => Err(Problem::unavailable(&e)),
    }
}

/// Size of the chunks an export is streamed in.
const EXPORT_CHUNK_BYTES: usize = 256 << 10;

/// A `Write` that hands full chunks to the response body.
struct ChunkSender {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Result<axum::body::Bytes, std::io::Error>>,
}

impl ChunkSender {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = std::mem::replace(&mut self.buf, Vec::with_capacity(EXPORT_CHUNK_BYTES));
        self.tx
            .blocking_send(Ok(chunk.into()))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl std::io::Write for ChunkSender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= EXPORT_CHUNK_BYTES {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

/// The chain as stored, byte for byte, in the export format of `docs/chain-format.md`,
/// streamed (without personal data), up to the durable head. Verify it offline with
/// `chitra verify --export`. It is the CLI's export workflow (`archive::export_chain`), which
/// checks the chain as it goes and writes the trailer only if all of it verified: a fault found
/// before the first chunk is a 503 with nothing sent; one found later ends the body without its
/// trailer, which every verifier reports as truncated.
#[utoipa::path(
    get,
    path = "/v1/chain/export",
    summary = "The chain export, streamed (no personal data)",
    responses(
        (
            status = 200,
            description = "the export (docs/chain-format.md)",
            body = super::openapi::Binary,
            content_type = "application/octet-stream",
        ),
    ),
)]
pub async fn export(State(state): State<AppState>, Who(_who): Who) -> Result<Response, Problem> {
    let ledger = state.ledger().clone();
    stream_job(&state, "chitra-chain.export", move |sink| {
        ledger
            .export_to(sink, None)
            .map(drop)
            .map_err(|e| e.to_string())
    })
    .await
}

/// A live backup of the whole data directory (`app::backup`: the chain and personal data up
/// to the durable head, every payment file, the configuration and the tokens, with a manifest
/// of hashes written last), as a tar archive streamed to the admin. The writer keeps running.
/// `chitra restore DIR` restores the unpacked archive into an empty data directory.
#[utoipa::path(
    post,
    path = "/v1/backup",
    summary = "A live backup of the data directory, as a tar archive (heavy job)",
    request_body = Option<NoFields>,
    responses(
        (
            status = 200,
            description = "the backup: manifest.json, chain.export(.personal), files/, chitra.toml, tokens.json, checkpoint.key, cosigned/",
            body = super::openapi::Binary,
            content_type = "application/x-tar",
        ),
    ),
)]
pub async fn backup(
    State(state): State<AppState>,
    Who(_who): Who,
    MaybeJson(NoFields {}): MaybeJson<NoFields>,
) -> Result<Response, Problem> {
    let ledger = state.ledger().clone();
    stream_job(&state, "chitra-backup.tar", move |sink| {
        let data =
            crate::app::config::DataDir::existing(ledger.dir()).map_err(|e| e.to_string())?;
        // Built beside the store (same file system, same owner), then archived and removed.
        let scratch =
            ledger
                .dir()
                .join(format!("backup-{}-{}", ledger.now_ms(), std::process::id()));
        let built = crate::app::backup::backup(&ledger, &data, &scratch)
            .map_err(|e| e.to_string())
            .and_then(|_| {
                let mut tar = tar::Builder::new(sink);
                tar.append_dir_all(".", &scratch)
                    .and_then(|()| {
                        tar.into_inner()
                            .and_then(|mut s| std::io::Write::flush(&mut s))
                    })
                    .map_err(|e| e.to_string())
            });
        let _ = std::fs::remove_dir_all(&scratch);
        built
    })
    .await
}

/// Runs `work` on a blocking thread under a heavy-job permit, streaming what it writes as the
/// body of a download named `filename`. The status waits for the first chunk, so a refusal
/// found before it is an error status (503), not a cut body; one found later ends the body
/// early, which the formats make visible (the export has no trailer, the backup no manifest).
async fn stream_job(
    state: &AppState,
    filename: &'static str,
    work: impl FnOnce(ChunkSender) -> Result<(), String> + Send + 'static,
) -> Result<Response, Problem> {
    let permit = state
        .jobs
        .clone()
        .try_acquire_owned()
        .map_err(|_| Problem::busy(5))?;
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let err_tx = tx.clone();
        let sink = ChunkSender {
            buf: Vec::with_capacity(EXPORT_CHUNK_BYTES),
            tx,
        };
        if let Err(e) = work(sink) {
            let _ = err_tx.blocking_send(Err(std::io::Error::other(e)));
        }
    });
    let first = match rx.recv().await {
        Some(Ok(bytes)) => bytes,
        Some(Err(e)) => return Err(Problem::unavailable(&e)),
        None => return Err(Problem::unavailable(&"the job stopped")),
    };
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let stream =
        futures_util::StreamExt::chain(futures_util::stream::once(async move { Ok(first) }), rest);
    let mut res = Body::from_stream(stream).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    let disposition = format!("attachment; filename=\"{filename}\"");
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).expect("an ASCII file name"),
    );
    Ok(res)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    pub seq: u64,
    pub schedule: String,
    pub programme: Programme,
    pub instrument: String,
    pub applies_from: Month,
    pub enacted_on: crate::domain::types::Date,
    pub province: Option<ProvinceCode>,
    pub entries: Vec<crate::domain::event::RateEntry>,
    pub source_blake3: String,
}

#[utoipa::path(
    get,
    path = "/v1/rate-schedules",
    summary = "Rate schedules recorded",
    responses((status = 200, description = "every schedule", body = super::openapi::ScheduleList)),
)]
pub async fn rate_schedules(State(state): State<AppState>) -> Result<Response, Problem> {
    let items = read(&state, |s| {
        s.schedules()
            .iter()
            .map(|r| ScheduleView {
                seq: r.seq,
                schedule: r.enacted.schedule.clone(),
                programme: r.enacted.programme,
                instrument: r.enacted.instrument.clone(),
                applies_from: r.enacted.applies_from,
                enacted_on: r.enacted.enacted_on,
                province: r.enacted.province,
                entries: r.enacted.entries.clone(),
                source_blake3: hex(&r.enacted.source_digest),
            })
            .collect::<Vec<_>>()
    })
    .await?;
    Ok(ok(serde_json::json!({ "items": items })))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// The data file's name, `<schedule id>.csv` (the loader checks the id against it).
    pub file_name: String,
    /// The file's text, in the format of `ledger-data/rates/README.md`.
    pub content: String,
}

/// Loads a rate schedule from the text of its data file, with the same strict checks as
/// `reference::rates::load_dir`; provisional schedules are refused. Loading the same schedule
/// again appends nothing (200, `count: 0`).
#[utoipa::path(
    post,
    path = "/v1/rate-schedules",
    summary = "Record a rate schedule from its data file",
    params(IdemKey),
    request_body = ScheduleBody,
    responses(
        (
            status = 200,
            description = "recorded (`count: 0` when it was already)",
            body = support::Written,
        ),
    ),
)]
pub async fn enact_rate_schedule(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<ScheduleBody>,
) -> Result<Response, Problem> {
    let name = b.file_name.trim();
    let Some(stem) = name
        .strip_suffix(".csv")
        .filter(|s| !s.is_empty() && !s.contains(['/', '\\']))
    else {
        return Err(Problem::invalid_body(
            "file_name",
            "file_name: must be <schedule id>.csv",
        ));
    };
    let schedule = crate::formats::reference::rates::parse(
        std::path::Path::new(name),
        stem,
        b.content.as_bytes(),
        crate::formats::reference::rates::LoadOptions::default(),
    )
    .map_err(|e| Problem::invalid_body("content", format!("content: {e}")))?;
    let receipt = submit(&state, &who, key, Command::EnactRateSchedule(schedule)).await?;
    written(&state, receipt).await
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub principal: String,
    pub role: Role,
    pub bin: Option<BankBin>,
    pub created_at_ms: i64,
}

#[utoipa::path(
    get,
    path = "/v1/tokens",
    summary = "Tokens (principals and roles; never the tokens)",
    responses(
        (status = 200, description = "every token's principal", body = super::openapi::TokenList),
    ),
)]
pub async fn list_tokens(State(state): State<AppState>) -> Response {
    let items: Vec<TokenView> = state
        .tokens
        .list()
        .into_iter()
        .map(|e| TokenView {
            principal: e.principal.to_string(),
            role: e.role,
            bin: e.bin,
            created_at_ms: e.created_at_ms,
        })
        .collect();
    ok(serde_json::json!({ "items": items }))
}

#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    #[schema(value_type = Role)]
    pub role: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub bin: Option<BankBin>,
}

/// Makes a token and shows it once. With an Idempotency-Key, a retry with the same body gets
/// 200 with the same principal but no token (it is not kept anywhere); revoke and make another
/// if the first answer was lost. The same key with another body is a 409.
#[utoipa::path(
    post,
    path = "/v1/tokens",
    summary = "Make a token (shown once)",
    params(IdemKey),
    request_body = TokenBody,
    responses(
        (status = 201, description = "the new token", body = super::openapi::NewToken),
        (
            status = 200,
            description = "a replay: the principal, without the token",
            body = super::openapi::NewToken,
        ),
    ),
)]
pub async fn add_token(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    JsonBody(b): JsonBody<TokenBody>,
) -> Result<Response, Problem> {
    let role =
        Role::parse(&b.role).map_err(|e| Problem::invalid_body("role", format!("role: {e}")))?;
    let principal = auth::principal_for(role, b.name.as_deref(), b.bin)
        .map_err(|e| Problem::invalid_body("name", e))?;
    let request = key.as_ref().map(|k| {
        let digest = blake3::hash(&serde_json::to_vec(&b).unwrap_or_default());
        (
            format!(
                "{}:{}",
                who.principal,
                String::from_utf8_lossy(k.as_bytes())
            ),
            digest.to_hex().to_string(),
        )
    });
    if let Some((k, digest)) = &request {
        if let Some(e) = state
            .tokens
            .list()
            .into_iter()
            .find(|e| e.created_by_request.as_ref().is_some_and(|(ek, _)| ek == k))
        {
            let (_, d) = e.created_by_request.as_ref().expect("found by it");
            if d != digest {
                return Err(Problem::from_submit(
                    &crate::ledger::SubmitError::IdempotencyConflict,
                ));
            }
            let mut res = ok(serde_json::json!({
                "principal": e.principal,
                "role": e.role,
                "bin": e.bin,
                "token": null,
                "note": "a token is shown only once; revoke it and make another if it was lost",
            }));
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            return Ok(res);
        }
    }
    let st = state.clone();
    let (p2, bin) = (principal.clone(), b.bin);
    let token = support::blocking(move || {
        st.tokens
            .add(p2, role, bin, (crate::ledger::system_clock())(), request)
    })
    .await?
    .map_err(|e| match e {
        auth::TokenError::Invalid(m) => {
            Problem::from_rejection(&crate::domain::Rejection::conflict(m))
        }
        other => Problem::unavailable(&other),
    })?;
    tracing::info!(principal = %principal, role = role.name(), by = %who.principal, "token added");
    Ok((
        StatusCode::CREATED,
        axum::Json(serde_json::json!({
            "principal": principal,
            "role": role,
            "bin": bin,
            "token": token,
        })),
    )
        .into_response())
}

#[utoipa::path(
    delete,
    path = "/v1/tokens/{principal}",
    summary = "Revoke a principal's token",
    params(("principal" = String, Path, description = super::openapi::PRINCIPAL)),
    responses((status = 204, description = "revoked")),
)]
pub async fn revoke_token(
    State(state): State<AppState>,
    Who(who): Who,
    Path(principal): Path<String>,
) -> Result<Response, Problem> {
    let st = state.clone();
    let p = principal.clone();
    let removed = support::blocking(move || st.tokens.revoke(&p))
        .await?
        .map_err(|e| Problem::unavailable(&e))?;
    if !removed {
        return Err(Problem::not_found(format!("no token for {principal}")));
    }
    tracing::info!(principal = %principal, by = %who.principal, "token revoked");
    Ok(StatusCode::NO_CONTENT.into_response())
}
