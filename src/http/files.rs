//! Payment files and bank status reports. A bank sees only its own files: another bank's file
//! is a 404 exactly like a file that does not exist, and a status report about another bank's
//! payments is refused exactly like one about no file at all.

use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::batches::batch_error;
use super::support::{self, job, ok, path_id, read, written, IdemKey, StrictQuery, Who};
use super::{AppState, Caller, Problem, Role};
use crate::domain::event::{Channel, FileFormat};
use crate::domain::state::IssuedFile;
use crate::domain::types::{BatchId, FileId};
use crate::ledger::Ledger;

/// True when the caller may see this file: banks only their own BIN's files.
pub(crate) fn visible(caller: &Caller, f: &IssuedFile) -> bool {
    match caller.role {
        Role::Bank => caller
            .bin
            .is_some_and(|bin| f.issued.channel == Channel::Bank(bin)),
        _ => true,
    }
}

fn no_file(text: &str) -> Problem {
    Problem::not_found(format!("no file {text}"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FilesQuery {
    /// Only this batch's files (`BATCH1`).
    #[serde(default)]
    pub batch: Option<String>,
    /// Files after this one (the previous page's `next`).
    #[serde(default)]
    pub after: Option<String>,
    /// Page size (at most `page_size_max`).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[utoipa::path(
    get,
    path = "/v1/files",
    summary = "Payment files (a bank sees its own)",
    params(FilesQuery),
    responses((status = 200, description = "a page of files", body = super::openapi::FilePage)),
)]
pub async fn list(
    State(state): State<AppState>,
    Who(who): Who,
    StrictQuery(q): StrictQuery<FilesQuery>,
) -> Result<Response, Problem> {
    let page = support::page(&state, q.limit)?;
    let batch = support::optional("batch", q.batch.as_deref(), BatchId::parse)?;
    let after = support::optional("after", q.after.as_deref(), FileId::parse)?.unwrap_or(FileId(0));
    let limit = page.limit;
    let (items, more) = read(&state, move |s| {
        let it = s
            .files()
            .iter()
            .filter(|f| f.issued.file > after)
            .filter(|f| batch.is_none_or(|b| f.issued.batch == b))
            .filter(|f| visible(&who, f))
            .filter_map(|f| crate::app::views::file(s, f.issued.file));
        support::take_page(it, limit)
    })
    .await?;
    Ok(support::page_response(items, more, |f| f.id.to_string()))
}

#[utoipa::path(
    get,
    path = "/v1/batches/{id}/files",
    summary = "The batch's payment files (a bank sees its own)",
    params(("id" = String, Path, description = super::openapi::BATCH_ID)),
    responses((status = 200, description = "the files", body = super::openapi::BatchFiles)),
)]
pub async fn of_batch(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let batch = path_id(&id, BatchId::parse)?;
    let bank = who.role == Role::Bank;
    let files = read(&state, move |s| {
        let b = s.batch(batch)?;
        let files: Vec<_> = b
            .files
            .iter()
            .filter_map(|f| s.file(*f))
            .filter(|f| visible(&who, f))
            .filter_map(|f| crate::app::views::file(s, f.issued.file))
            .collect();
        // A bank with no file in the batch learns nothing about it.
        (!bank || !files.is_empty()).then_some(files)
    })
    .await?
    .ok_or_else(|| Problem::not_found(format!("no batch {batch}")))?;
    Ok(ok(serde_json::json!({ "batch": batch, "items": files })))
}

#[utoipa::path(
    get,
    path = "/v1/files/{id}",
    summary = "A payment file's record",
    params(("id" = String, Path, description = super::openapi::FILE_ID)),
    responses((status = 200, description = "the file", body = crate::app::views::FileView)),
)]
pub async fn show(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let file = path_id(&id, FileId::parse)?;
    read(&state, move |s| {
        s.file(file)
            .filter(|f| visible(&who, f))
            .and_then(|_| crate::app::views::file(s, file))
    })
    .await?
    .map(ok)
    .ok_or_else(|| no_file(&id))
}

/// The file's bytes, checked against the hash the chain recorded, with that hash in
/// `X-Content-Blake3` (and the `ETag`). The download is recorded in the chain with the caller
/// as its principal, except for auditors, who write nothing.
#[utoipa::path(
    get,
    path = "/v1/files/{id}/content",
    summary = "Download the file's bytes (hash in X-Content-Blake3; the download is recorded, except for auditors)",
    params(("id" = String, Path, description = super::openapi::FILE_ID)),
    responses(
        (
            status = 200,
            description = "the file's bytes, as issued",
            headers(
                ("X-Content-Blake3" = String, description = "blake3 of the bytes, hex, as the chain recorded it"),
            ),
            content(
                (super::openapi::Binary = "application/xml"),
                (super::openapi::Binary = "text/csv"),
            ),
        ),
    ),
)]
pub async fn download(
    State(state): State<AppState>,
    Who(who): Who,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let file = path_id(&id, FileId::parse)?;
    let allowed = read(&state, {
        let who = who.clone();
        move |s| s.file(file).is_some_and(|f| visible(&who, f))
    })
    .await?;
    if !allowed {
        return Err(no_file(&id));
    }
    let ledger = state.ledger().clone();
    let (issued, bytes) = support::blocking(move || -> Result<_, Problem> {
        if who.role == Role::Auditor {
            read_only_download(&ledger, file)
        } else {
            crate::app::batches::download(&ledger, &who.principal, file).map_err(batch_error)
        }
    })
    .await??;
    let i = &issued.issued;
    let content_type = match i.format {
        FileFormat::Pain001V09 => "application/xml",
        FileFormat::Csv | FileFormat::CashList => "text/csv; charset=utf-8",
    };
    let digest = crate::chain::hex(&i.digest);
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&digest) {
        h.insert("x-content-blake3", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("\"{digest}\"")) {
        h.insert(header::ETAG, v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}\"", i.name)) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(res)
}

pub(crate) fn read_only_download(
    ledger: &Ledger,
    file: FileId,
) -> Result<(IssuedFile, Vec<u8>), Problem> {
    let issued = ledger
        .read(|s| s.file(file).cloned())
        .map_err(Problem::from)?
        .ok_or_else(|| no_file(&file.to_string()))?;
    let bytes = ledger
        .file_bytes(&issued.issued.digest)
        .map_err(|e| Problem::unavailable(&e))?
        .ok_or_else(|| Problem::unavailable(&format!("the bytes of {file} are missing")))?;
    if *blake3::hash(&bytes).as_bytes() != issued.issued.digest {
        return Err(Problem::from_rejection(
            &crate::domain::Rejection::conflict(format!(
                "{file} as stored does not match its issued hash; do not use it"
            )),
        ));
    }
    Ok((issued, bytes.to_vec()))
}

/// Parses a status report, finds which of our files it reports on, and submits its lines with
/// the request's Idempotency-Key. A bank may report only on its own files.
/// A bank status report (pain.002.001.10 XML or the status CSV) as the request body.
#[utoipa::path(
    post,
    path = "/v1/status-reports",
    summary = "Upload a bank status report, pain.002.001.10 or CSV (heavy job)",
    params(IdemKey),
    request_body(
        description = "the report as the bank sent it",
        content(
            (super::openapi::Binary = "application/xml"),
            (super::openapi::Binary = "text/xml"),
            (super::openapi::Binary = "text/csv"),
            (super::openapi::Binary = "application/octet-stream"),
        ),
    ),
    responses(
        (
            status = 200,
            description = "written: the receipt and the events appended",
            body = support::Written,
        ),
    ),
)]
pub async fn upload_status(
    State(state): State<AppState>,
    Who(who): Who,
    IdemKey(key): IdemKey,
    req: Request,
) -> Result<Response, Problem> {
    let media = support::media_type(&req);
    if !matches!(
        media.as_str(),
        "application/xml" | "text/xml" | "text/csv" | "application/octet-stream"
    ) {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "send the report as application/xml (pain.002.001.10) or text/csv",
        ));
    }
    let bytes = support::body_bytes(req, &(), "status_report_bytes_max").await?;
    if bytes.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-status-report",
            "the body is empty",
        ));
    }
    let ledger = state.ledger().clone();
    let (who2, key2) = (who.clone(), key.clone());
    let receipt = job(&state, &who, key.as_ref(), move || {
        crate::app::batches::ingest_status(&ledger, &who2.principal, key2, &bytes)
            .map(|i| i.receipt)
            .map_err(batch_error)
    })
    .await??;
    written(&state, receipt).await
}
