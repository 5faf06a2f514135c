//! RFC 7807 problem responses (`application/problem+json`). Every refusal the API makes is one
//! of these, with a stable `type` URI ending in a machine-readable code: the ledger's own
//! `Rejection::code()` for refusals of the domain, and the codes below for the edge.
//!
//! Internals never leak: a store or writer failure is a generic 503 with an `instance` id that
//! the server log carries next to the real cause.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Rejection;
use crate::ledger::SubmitError;

/// Prefix of every problem type.
pub const PROBLEM_BASE: &str = "https://chitra.example/problems/";

/// Codes of the edge, besides `Rejection::code()`. Listed so the OpenAPI document and
/// `docs/http.md` can name them all.
pub const EDGE_CODES: &[(&str, u16, &str)] = &[
    ("bad-request", 400, "the request is malformed (query, path or header)"),
    ("malformed-json", 400, "the body is not JSON"),
    ("invalid-idempotency-key", 400, "the Idempotency-Key header is not 1-128 visible ASCII bytes"),
    ("unauthenticated", 401, "no bearer token, or one the server does not know"),
    ("forbidden", 403, "the caller's role may not do this"),
    ("not-found", 404, "no such resource (or not one the caller may see)"),
    ("method-not-allowed", 405, "the path exists, the method does not"),
    ("idempotency-conflict", 409, "the Idempotency-Key was used before for a different request"),
    ("body-too-large", 413, "the body is larger than the route accepts"),
    ("unsupported-media-type", 415, "the body's Content-Type is not what the route accepts"),
    ("invalid-body", 422, "the JSON does not fit the route's schema (field named in `field`)"),
    ("invalid-roster", 422, "the roster CSV was refused; `errors` lists every problem with its line and column"),
    ("invalid-status-report", 422, "the uploaded status report cannot be read"),
    ("unknown-report", 422, "the status report refers to no payment file of the caller"),
    ("busy", 429, "too many heavy jobs are running; retry after `Retry-After` seconds"),
    ("headers-too-large", 431, "the request's headers are larger than allowed"),
    ("unavailable", 503, "the ledger cannot take or answer requests now (see `instance` in the log)"),
    ("timeout", 503, "the request took longer than allowed; a write may still complete, retry it with the same Idempotency-Key"),
];

/// Codes of the domain's refusals, with the status each maps to.
pub const REJECTION_CODES: &[(&str, u16, &str)] = &[
    (
        "already-enrolled",
        409,
        "the citizen ID is already enrolled",
    ),
    ("unknown-beneficiary", 404, "no such beneficiary"),
    ("unknown-entitlement", 404, "no such entitlement"),
    (
        "invalid",
        422,
        "a value is invalid for the ledger (field named in `field`)",
    ),
    (
        "conflict",
        409,
        "the request conflicts with the ledger's state",
    ),
    (
        "not-allowed",
        403,
        "the ledger's rules do not allow it (for example the maker approving)",
    ),
    (
        "unknown-report",
        422,
        "the status report refers to none of the caller's payment files",
    ),
];

/// A problem response (boxed: it travels in every `Result` of the handlers).
#[derive(Debug, Clone)]
pub struct Problem(Box<ProblemBody>);

/// The members of a problem document: RFC 7807 problem details, whose `type` ends in a stable
/// code.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    #[serde(rename = "type")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// For 503s: an id to find the cause in the server log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// The offending field, when one is known (`entitlements[0].effective_from`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Every problem found, when there are several (a roster's rows).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip)]
    pub retry_after_s: Option<u64>,
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Problem {
        Problem(Box::new(ProblemBody {
            type_uri: format!("{PROBLEM_BASE}{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: Some(detail.into()),
            instance: None,
            field: None,
            errors: Vec::new(),
            retry_after_s: None,
        }))
    }

    pub fn body(&self) -> &ProblemBody {
        &self.0
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Problem {
        let f = field.into();
        if !f.is_empty() {
            self.0.field = Some(f);
        }
        self
    }

    pub fn with_errors(mut self, errors: Vec<String>) -> Problem {
        self.0.errors = errors;
        self
    }

    /// The code at the end of the type URI.
    pub fn code(&self) -> &str {
        self.0.type_uri.strip_prefix(PROBLEM_BASE).unwrap_or("")
    }

    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::BAD_REQUEST, "bad-request", detail)
    }

    pub fn unauthenticated() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "send `Authorization: Bearer <token>` with a token the server issued",
        )
    }

    pub fn forbidden(role: &str) -> Problem {
        Problem::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("the {role} role may not do this"),
        )
    }

    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", detail)
    }

    pub fn invalid_body(field: &str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid-body", detail).with_field(field)
    }

    pub fn too_large(limit_name: &str, max: usize) -> Problem {
        Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
            format!("the body is larger than {limit_name} ({max} bytes)"),
        )
    }

    pub fn busy(retry_after_s: u64) -> Problem {
        let mut p = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "busy",
            "too many heavy jobs are running; retry later with the same Idempotency-Key",
        );
        p.0.retry_after_s = Some(retry_after_s);
        p
    }

    /// A 503 whose cause goes to the log only, under a fresh id.
    pub fn unavailable(cause: &dyn std::fmt::Display) -> Problem {
        let id = incident_id();
        tracing::error!(incident = %id, "unavailable: {cause}");
        let mut p = Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "the ledger cannot serve this request now; the incident id is in the server log",
        );
        p.0.instance = Some(format!("urn:chitra:incident:{id}"));
        p
    }

    pub fn timeout(limit_name: &str, ms: u64) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            format!(
                "the request took longer than {limit_name} ({ms} ms); a write may still complete: retry with the same Idempotency-Key"
            ),
        )
    }

    pub fn from_rejection(r: &Rejection) -> Problem {
        let code = r.code();
        let status = REJECTION_CODES
            .iter()
            .find(|(c, _, _)| *c == code)
            .map_or(422, |(_, s, _)| *s);
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::UNPROCESSABLE_ENTITY);
        let p = Problem::new(status, code, r.to_string());
        match r {
            Rejection::Invalid { field, .. } => p.with_field(field.clone()),
            _ => p,
        }
    }

    pub fn from_submit(e: &SubmitError) -> Problem {
        match e {
            SubmitError::Rejected(r) => Problem::from_rejection(r),
            SubmitError::IdempotencyConflict => Problem::new(
                StatusCode::CONFLICT,
                "idempotency-conflict",
                "this Idempotency-Key was already used by you for a different request",
            ),
            SubmitError::Unavailable(reason) => Problem::unavailable(reason),
        }
    }
}

/// A short random id for an incident, to match a 503 with its log line.
fn incident_id() -> String {
    use rand::Rng;
    let n: u64 = rand::thread_rng().gen();
    format!("{n:016x}")
}

impl From<SubmitError> for Problem {
    fn from(e: SubmitError) -> Problem {
        Problem::from_submit(&e)
    }
}

impl From<Rejection> for Problem {
    fn from(r: Rejection) -> Problem {
        Problem::from_rejection(&r)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        let h = res.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(s) = self.0.retry_after_s {
            h.insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        // Handlers and middleware read the code back for metrics and logs.
        res.extensions_mut()
            .insert(ProblemCode(self.code().to_owned()));
        res
    }
}

/// The problem code of a response, for the request log.
#[derive(Debug, Clone)]
pub struct ProblemCode(pub String);
