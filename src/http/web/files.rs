//! Payment files: the list (a bank sees only its own, by the API's own `visible`), downloads
//! (recorded in the chain as the API records them, `app::batches::download`; an auditor's is a
//! read that records nothing), and a bank's upload of a status report with the result per line
//! and the breaks it opened (`app::batches::ingest_status`, as `POST /v1/status-reports`).
//! Another bank's file is "not found", exactly like a file that does not exist.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Form;

use super::format::{channel, number, vnd, words};
use super::i18n::Text;
use super::{page, render, CsrfForm, Signed, Web};
use crate::app::views::{self, BreakView};
use crate::domain::event::FileFormat;
use crate::domain::types::{FileId, Role};
use crate::formats::bank::Outcome;
use crate::http::batches::batch_error;
use crate::http::files::{read_only_download, visible};
use crate::http::support::{blocking, job, read};

struct FileRow {
    id: String,
    name: String,
    batch: String,
    channel: String,
    count: String,
    sum: String,
    downloads: u32,
}

#[derive(Template)]
#[template(path = "web/files.html")]
struct ListBody<'a> {
    t: &'static Text,
    csrf: &'a str,
    files: Vec<FileRow>,
    more: usize,
    may_upload: bool,
}

pub async fn list(State(web): State<Web>, who: Signed) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/files") {
        return who.forbidden();
    }
    let t = who.t();
    let caller = who.session.caller.clone();
    let max = crate::http::limits::WEB_PAGE_ROWS_MAX;
    let found = read(&web.app, move |s| {
        let mine: Vec<_> = s
            .files()
            .iter()
            .rev()
            .filter(|f| visible(&caller, f))
            .collect();
        let n = mine.len();
        let views: Vec<_> = mine
            .into_iter()
            .take(max)
            .filter_map(|f| views::file(s, f.issued.file))
            .collect();
        (views, n)
    })
    .await;
    let (files, n) = match found {
        Ok(v) => v,
        Err(p) => return who.problem(p),
    };
    let body = ListBody {
        t,
        csrf: &who.session.csrf,
        more: n.saturating_sub(files.len()),
        files: files.into_iter().map(|f| row_of(t, f)).collect(),
        may_upload: super::may(who.role(), &Method::POST, "/v1/status-reports"),
    };
    page(&who.layout(), StatusCode::OK, t.files, render(&body))
}

/// The file a path names if the signed-in person may see it; else "not found", the same for
/// another bank's file as for no file at all.
async fn visible_file(web: &Web, who: &Signed, id: &str) -> Result<FileId, Box<Response>> {
    let not_found = || Box::new(who.message(StatusCode::NOT_FOUND, who.t().not_found.to_owned()));
    let file = FileId::parse(id)
        .ok()
        .or_else(|| id.parse().ok().map(FileId))
        .ok_or_else(not_found)?;
    let caller = who.session.caller.clone();
    match read(&web.app, move |s| {
        s.file(file).is_some_and(|f| visible(&caller, f))
    })
    .await
    {
        Ok(true) => Ok(file),
        Ok(false) => Err(not_found()),
        Err(p) => Err(Box::new(who.problem(p))),
    }
}

#[derive(Template)]
#[template(path = "web/file.html")]
struct FileBody<'a> {
    t: &'static Text,
    csrf: &'a str,
    f: FileRow,
    blake3: String,
}

/// One file, with its download button. Another bank's file is "not found", like no file.
pub async fn show(State(web): State<Web>, who: Signed, Path(id): Path<String>) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/files/{id}") {
        return who.forbidden();
    }
    let t = who.t();
    let file = match visible_file(&web, &who, &id).await {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let f = match read(&web.app, move |s| views::file(s, file)).await {
        Ok(Some(f)) => f,
        Ok(None) => return who.message(StatusCode::NOT_FOUND, t.not_found.to_owned()),
        Err(p) => return who.problem(p),
    };
    let body = FileBody {
        t,
        csrf: &who.session.csrf,
        blake3: f.blake3.clone(),
        f: row_of(t, f),
    };
    let title = format!("{} {}", t.files, body.f.name);
    page(&who.layout(), StatusCode::OK, &title, render(&body))
}

fn row_of(t: &Text, f: views::FileView) -> FileRow {
    FileRow {
        id: f.id.to_string(),
        name: f.name,
        batch: f.batch.to_string(),
        channel: channel(f.channel, t.cash),
        count: number(f.totals.count as i64),
        sum: vnd(f.totals.sum),
        downloads: f.downloads,
    }
}

/// The file's bytes as an attachment; the download is recorded (not an auditor's).
pub async fn download(
    State(web): State<Web>,
    who: Signed,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(refused) = who.csrf_refusal(&f.csrf) {
        return refused;
    }
    if !super::may(who.role(), &Method::GET, "/v1/files/{id}/content") {
        return who.forbidden();
    }
    let file = match visible_file(&web, &who, &id).await {
        Ok(f) => f,
        Err(refused) => return *refused,
    };
    let caller = who.session.caller.clone();
    let ledger = web.app.ledger().clone();
    let got = blocking(move || {
        if caller.role == Role::Auditor {
            read_only_download(&ledger, file)
        } else {
            crate::app::batches::download(&ledger, &caller.principal, file).map_err(batch_error)
        }
    })
    .await;
    let (issued, bytes) = match got {
        Ok(Ok(v)) => v,
        Ok(Err(p)) | Err(p) => return who.problem(p),
    };
    let content_type = match issued.issued.format {
        FileFormat::Pain001V09 => "application/xml",
        FileFormat::Csv | FileFormat::CashList => "text/csv; charset=utf-8",
    };
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) =
        HeaderValue::from_str(&format!("attachment; filename=\"{}\"", issued.issued.name))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

struct LineRow {
    position: u64,
    end_to_end_id: String,
    outcome: String,
    amount: String,
}

#[derive(Template)]
#[template(path = "web/uploaded.html")]
struct UploadedBody {
    t: &'static Text,
    new: bool,
    lines: Vec<LineRow>,
    breaks: Vec<(u64, String)>,
}

/// A status report posted from the files page (multipart: the CSRF token and the file).
pub async fn upload(State(web): State<Web>, who: Signed, mut form: Multipart) -> Response {
    if !super::may(who.role(), &Method::POST, "/v1/status-reports") {
        return who.forbidden();
    }
    let t = who.t();
    let (mut csrf, mut bytes) = (String::new(), Vec::new());
    loop {
        match form.next_field().await {
            Ok(Some(field)) => {
                let name = field.name().unwrap_or("").to_owned();
                match field.bytes().await {
                    Ok(b) if name == "csrf" => csrf = String::from_utf8_lossy(&b).into_owned(),
                    Ok(b) if name == "report" => bytes = b.to_vec(),
                    Ok(_) => {}
                    Err(e) => return who.message(StatusCode::BAD_REQUEST, e.to_string()),
                }
            }
            Ok(None) => break,
            Err(e) => return who.message(StatusCode::BAD_REQUEST, e.to_string()),
        }
    }
    if let Some(refused) = who.csrf_refusal(&csrf) {
        return refused;
    }
    if bytes.is_empty() {
        return who.message(StatusCode::UNPROCESSABLE_ENTITY, t.empty_report.to_owned());
    }
    // The lines as the bank sent them, for the page (the ledger gets the same bytes).
    let parsed = crate::formats::bank::parse_status_report(
        &bytes,
        &crate::formats::bank::StatusLimits::default(),
    );
    let ledger = web.app.ledger().clone();
    let caller = who.session.caller.clone();
    let principal = caller.principal.clone();
    let done = job(&web.app, &caller, None, move || {
        crate::app::batches::ingest_status(&ledger, &principal, None, &bytes).map_err(batch_error)
    })
    .await;
    let ingested = match done {
        Ok(Ok(i)) => i,
        Ok(Err(p)) | Err(p) => return who.problem(p),
    };
    let r = ingested.receipt;
    let (from, to) = (r.first_seq, r.first_seq + u64::from(r.count));
    let breaks = match read(&web.app, move |s| {
        s.breaks()
            .iter()
            .filter(|b| b.seq >= from && b.seq < to)
            .map(BreakView::of)
            .collect::<Vec<_>>()
    })
    .await
    {
        Ok(b) => b,
        Err(p) => return who.problem(p),
    };
    let body = UploadedBody {
        t,
        new: ingested.new,
        lines: parsed
            .map(|p| {
                p.lines
                    .iter()
                    .take(crate::http::limits::WEB_PAGE_ROWS_MAX)
                    .map(|l| LineRow {
                        position: l.position,
                        end_to_end_id: l.end_to_end_id.clone(),
                        outcome: match &l.outcome {
                            Outcome::Settled => t.settled.to_owned(),
                            Outcome::Pending => t.outstanding.to_owned(),
                            Outcome::Rejected { reason_code } => {
                                format!("{} ({reason_code})", t.returned)
                            }
                        },
                        amount: l.amount.map_or_else(String::new, vnd),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        breaks: breaks.iter().map(|b| (b.seq, words(&b.kind))).collect(),
    };
    page(
        &who.layout(),
        StatusCode::OK,
        t.upload_status,
        render(&body),
    )
}
