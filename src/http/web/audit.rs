//! The auditors' page: the chain's status, a whole verification (started here, run and shown
//! with its progress by `verify`), the signed checkpoint of the Merkle tree, the newest
//! checkpoints with the witnesses that cosigned each, a proof of inclusion for any payment, and
//! the export of the chain. Each is the API's own handler called in-process (`GET /v1/chain`,
//! `GET /v1/proofs/tree`, `GET /v1/proofs/checkpoints`, `GET /v1/payments/{id}/proof`,
//! `GET /v1/chain/export`), so the page shows exactly what the API answers and holds no copy of
//! any of it.

use askama::Template;
use axum::extract::{Path as AxPath, Query, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::Form;
use serde::Deserialize;
use serde_json::Value;

use super::format::time;
use super::i18n::Text;
use super::{page, render, CsrfForm, Signed, Web};
use crate::http::support::{StrictQuery, Who};
use crate::http::{chain, proofs, Problem};

use crate::http::limits::WEB_API_ANSWER_BYTES_MAX as AUDIT_ANSWER_BYTES_MAX;

/// The JSON of an API handler's answer.
async fn json(answer: Result<Response, Problem>) -> Result<Value, Problem> {
    let res = answer?;
    let bytes = axum::body::to_bytes(res.into_body(), AUDIT_ANSWER_BYTES_MAX)
        .await
        .map_err(|e| Problem::unavailable(&e))?;
    serde_json::from_slice(&bytes).map_err(|e| Problem::unavailable(&e))
}

#[derive(Template)]
#[template(path = "web/audit.html")]
struct Body<'a> {
    t: &'static Text,
    csrf: &'a str,
    records: String,
    head: String,
    last_verified: String,
    checkpoint: String,
    checkpoints: Vec<CheckpointRow>,
    /// Whether a verification ran or runs (`verify`): the page links to it.
    verification: bool,
    proof_for: String,
    proof: Option<String>,
    may_verify: bool,
}

/// One of the newest checkpoints, as the page lists it.
struct CheckpointRow {
    size: String,
    /// When the writer recorded it, else when the newest witness cosigned it.
    time: String,
    /// The witnesses that cosigned it, or that none did.
    witnesses: String,
    cosigned: bool,
}

impl CheckpointRow {
    fn of(v: &Value, t: &Text) -> CheckpointRow {
        let witnesses: Vec<&str> = v["witnesses"]
            .as_array()
            .map(|w| w.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        CheckpointRow {
            size: v["size"].to_string(),
            time: v["recorded_unix_ms"]
                .as_i64()
                .or_else(|| v["cosigned_unix_ms"].as_i64())
                .map_or_else(|| t.never.to_owned(), time),
            cosigned: !witnesses.is_empty(),
            witnesses: match witnesses.is_empty() {
                true => t.no_witness.to_owned(),
                false => witnesses.join(", "),
            },
        }
    }
}

#[derive(Deserialize)]
pub struct ProofQuery {
    #[serde(default)]
    payment: Option<String>,
}

async fn show(web: &Web, who: &Signed, payment: Option<String>) -> Response {
    if !super::may(who.role(), &Method::GET, "/v1/chain") {
        return who.forbidden();
    }
    let t = who.t();
    let state = State(web.app.clone());
    let status = match json(chain::status(state.clone()).await).await {
        Ok(v) => v,
        Err(p) => return who.problem(p),
    };
    let may_proofs = super::may(who.role(), &Method::GET, "/v1/proofs/tree");
    let checkpoint = if may_proofs {
        match json(proofs::tree(state.clone(), StrictQuery(proofs::SizeQuery { size: None })).await)
            .await
        {
            Ok(v) => v["checkpoint"].as_str().unwrap_or_default().to_owned(),
            Err(p) => return who.problem(p),
        }
    } else {
        String::new()
    };
    let checkpoints = match super::may(who.role(), &Method::GET, "/v1/proofs/checkpoints") {
        true => {
            let q = proofs::CheckpointsQuery { limit: None };
            match json(proofs::checkpoints(state.clone(), StrictQuery(q)).await).await {
                Ok(v) => v["checkpoints"]
                    .as_array()
                    .map(|l| l.iter().map(|c| CheckpointRow::of(c, t)).collect())
                    .unwrap_or_default(),
                Err(p) => return who.problem(p),
            }
        }
        false => Vec::new(),
    };
    let payment = payment.filter(|p| !p.trim().is_empty());
    let proof = match &payment {
        Some(id) if super::may(who.role(), &Method::GET, "/v1/payments/{id}/proof") => {
            let answer = proofs::payment(
                state.clone(),
                Who(who.session.caller.clone()),
                AxPath(id.trim().to_owned()),
                StrictQuery(proofs::SizeQuery { size: None }),
            )
            .await;
            match json(answer).await {
                Ok(v) => Some(serde_json::to_string_pretty(&v).unwrap_or_default()),
                Err(p) => Some(p.body().detail.clone().unwrap_or_default()),
            }
        }
        _ => None,
    };
    let text = |v: &Value| match v {
        Value::Null => t.never.to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let body = Body {
        t,
        csrf: &who.session.csrf,
        records: text(&status["records"]),
        head: format!(
            "{} {}",
            text(&status["head_seq"]),
            text(&status["head_hash"])
        ),
        last_verified: status["last_verified_unix_ms"]
            .as_i64()
            .map_or_else(|| t.never.to_owned(), time),
        checkpoint,
        checkpoints,
        verification: web.verification.current().is_some(),
        proof_for: payment.unwrap_or_default(),
        proof,
        may_verify: super::may(who.role(), &Method::POST, "/v1/chain/verify"),
    };
    page(&who.layout(), StatusCode::OK, t.nav_audit, render(&body))
}

pub async fn page_handler(
    State(web): State<Web>,
    who: Signed,
    Query(q): Query<ProofQuery>,
) -> Response {
    show(&web, &who, q.payment).await
}

/// The proof form's target: the same page with the proof.
pub async fn proof(State(web): State<Web>, who: Signed, Query(q): Query<ProofQuery>) -> Response {
    show(&web, &who, q.payment).await
}

/// The chain's export file, streamed as `GET /v1/chain/export` streams it.
pub async fn export(State(web): State<Web>, who: Signed, Form(f): Form<CsrfForm>) -> Response {
    if let Some(refused) = who.csrf_refusal(&f.csrf) {
        return refused;
    }
    if !super::may(who.role(), &Method::GET, "/v1/chain/export") {
        return who.forbidden();
    }
    match chain::export(State(web.app.clone()), Who(who.session.caller.clone())).await {
        Ok(res) => res,
        Err(p) => who.problem(p),
    }
}
