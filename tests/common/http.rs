//! Driving the HTTP API in-process (`app()` with `tower::ServiceExt::oneshot`): a ledger with a
//! fixed clock and the rate schedules, a token per role, and a paid month made through the API.

use std::path::Path;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Method, Request, StatusCode};
use axum::Router;
use chitra::http::auth::{token_hash, TokenEntry};
use chitra::http::{app, AppState, Limits, Role, Tokens};
use chitra::ledger::Ledger;
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

use super as common;

/// (token, principal, role, BIN)
pub const TOKENS: &[(&str, &str, Role, Option<&str>)] = &[
    ("tok-officer", "officer:lan", Role::Officer, None),
    ("tok-maker", "maker:hoa", Role::Maker, None),
    ("tok-checker", "checker:tuan", Role::Checker, None),
    ("tok-auditor", "auditor:minh", Role::Auditor, None),
    ("tok-bank", "bank:970436", Role::Bank, Some("970436")),
    ("tok-admin", "admin:thu", Role::Admin, None),
    ("tok-bank2", "bank:970418", Role::Bank, Some("970418")),
    // The maker's own checker token: one person, two roles (four eyes must still refuse).
    ("tok-checker-hoa", "checker:hoa", Role::Checker, None),
];

pub fn token(role: Role) -> &'static str {
    TOKENS
        .iter()
        .find(|t| t.2 == role)
        .expect("a token per role")
        .0
}

pub fn tokens() -> Tokens {
    Tokens::in_memory(
        TOKENS
            .iter()
            .map(|(t, p, role, bin)| TokenEntry {
                hash: token_hash(t).to_hex().to_string(),
                principal: chitra::domain::types::Principal::parse(p).unwrap(),
                role: *role,
                bin: bin.map(|b| chitra::domain::types::BankBin::parse(b).unwrap()),
                created_at_ms: 0,
                created_by_request: None,
            })
            .collect(),
    )
    .unwrap()
}

pub struct Api {
    pub dir: tempfile::TempDir,
    pub ledger: Ledger,
    pub app: Router,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// The problem code at the end of the `type` URI ("" when the body is not a problem).
    pub fn code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["type"].as_str().map(str::to_owned))
            .and_then(|t| {
                t.strip_prefix(chitra::http::problem::PROBLEM_BASE)
                    .map(str::to_owned)
            })
            .unwrap_or_default()
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Api {
    /// An empty ledger with every rate schedule recorded.
    pub fn new() -> Api {
        Api::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Api {
        let dir = tempfile::tempdir().unwrap();
        let ledger = common::open(dir.path());
        let ids: Vec<String> = common::fixtures::schedules()
            .into_iter()
            .map(|s| s.schedule)
            .collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        // Blocking submissions, off the test's async runtime.
        std::thread::scope(|s| s.spawn(|| common::enact(&ledger, &ids)).join().unwrap());
        Api::on(dir, ledger, limits)
    }

    pub fn on(dir: tempfile::TempDir, ledger: Ledger, limits: Limits) -> Api {
        let app = app(AppState::new(
            ledger.clone(),
            tokens(),
            limits,
            super::fixtures::settings(),
        ));
        Api { dir, ledger, app }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Records in the chain (everything acknowledged is durable).
    pub fn records(&self) -> u64 {
        self.ledger.durable_records()
    }

    pub async fn request(&self, req: Request<Body>) -> Resp {
        let res = self.app.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let headers = res.headers().clone();
        let body = res.into_body().collect().await.unwrap().to_bytes();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: impl Into<Body>,
        key: Option<&str>,
    ) -> Resp {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(c) = content_type {
            req = req.header("content-type", c);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        self.request(req.body(body.into()).unwrap()).await
    }

    pub async fn get(&self, path: &str, role: Role) -> Resp {
        self.send(
            Method::GET,
            path,
            Some(token(role)),
            None,
            Body::empty(),
            None,
        )
        .await
    }

    pub async fn post(&self, path: &str, role: Role, body: Value) -> Resp {
        self.post_key(path, role, body, None).await
    }

    pub async fn post_key(&self, path: &str, role: Role, body: Value, key: Option<&str>) -> Resp {
        self.send(
            Method::POST,
            path,
            Some(token(role)),
            Some("application/json"),
            serde_json::to_vec(&body).unwrap(),
            key,
        )
        .await
    }
}

impl Api {
    /// `POST /v1/beneficiaries` as the officer, which must enrol the person: the response.
    pub async fn enrol(&self, body: Value) -> Value {
        let r = self.post("/v1/beneficiaries", Role::Officer, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        r.json()
    }

    /// `POST /v1/batches` as the maker: a regular batch of `programme` for `month`.
    pub async fn open_batch(&self, programme: &str, month: &str, funding_account: &str) -> Resp {
        self.post(
            "/v1/batches",
            Role::Maker,
            json!({ "programme": programme, "month": month, "funding_account": funding_account }),
        )
        .await
    }
}

pub fn decision() -> Value {
    json!({ "number": "12/QĐ-UBND", "date": "2024-05-20", "signer": "Chủ tịch UBND" })
}

/// An enrolment body: a BTXH person with one monthly entitlement from June 2024, paid through
/// the given route.
pub fn enrol_body(citizen_id: &str, route: Value) -> Value {
    json!({
        "citizen_id": citizen_id,
        "full_name": "Nguyễn Thị Thử",
        "birth_date": "1985-03-01",
        "sex": "F",
        "address_line": "Số 1 phố Huế",
        "commune": "00004",
        "programme": "BTXH",
        "route": route,
        "entitlements": [{
            "programme": "BTXH",
            "scheme": "btxh.disability_especially_severe",
            "params": [],
            "kind": { "kind": "monthly" },
            "effective_from": "2024-06",
            "decision": decision(),
        }],
    })
}

pub fn bank_route(bin: &str, account: &str) -> Value {
    json!({ "kind": "bank", "bin": bin, "account_number": account, "holder_name": "NGUYEN THI THU" })
}

/// Opens the BTXH batch of June 2024 as the maker and computes it: its id and its view as the
/// checker reviews it.
pub async fn computed_batch(api: &Api) -> (String, Value) {
    let r = api
        .open_batch("BTXH", "2024-06", super::fixtures::FUNDING_ACCOUNT)
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let batch = r.json()["id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("/v1/batches/{batch}/compute"),
            Role::Maker,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let view = api
        .get(&format!("/v1/batches/{batch}"), Role::Checker)
        .await
        .json();
    (batch, view)
}

/// Approves a computed batch as the checker against its reviewed view, then releases it: the
/// release's response.
pub async fn approve_and_release(api: &Api, batch: &str, view: &Value) -> Resp {
    let r = api
        .post(
            &format!("/v1/batches/{batch}/approve"),
            Role::Checker,
            json!({ "content_hash": view["content_hash"], "totals": view["totals"] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = api
        .post(
            &format!("/v1/batches/{batch}/release"),
            Role::Checker,
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r
}

/// What `paid_month` made.
#[derive(Debug, Clone)]
pub struct Paid {
    pub beneficiary: String,
    pub entitlement: String,
    pub batch: String,
    /// pain.001 of bank 970436 and of bank 970418.
    pub file_bank: String,
    pub file_bank2: String,
}

/// Three people (two banks and cash), a BTXH batch for June 2024 opened, computed by the maker,
/// approved by the checker against the review, released with its files: all through the API.
pub async fn paid_month(api: &Api) -> Paid {
    let r = api
        .enrol(enrol_body(
            "001185000001",
            bank_route("970436", "1500200000001"),
        ))
        .await;
    let beneficiary = r["id"].as_str().unwrap().to_owned();
    let entitlement = format!(
        "E{}",
        r["events"][1]["event"]["entitlement"].as_u64().unwrap()
    );
    api.enrol(enrol_body(
        "001185000003",
        bank_route("970418", "2200300000002"),
    ))
    .await;
    api.enrol(enrol_body(
        "001185000005",
        json!({ "kind": "cash", "pay_point": "00004" }),
    ))
    .await;
    let (batch, view) = computed_batch(api).await;
    let r = approve_and_release(api, &batch, &view).await;
    let files = r.json()["files"].as_array().unwrap().clone();
    let file_of = |bin: &str| {
        files
            .iter()
            .find(|f| f["channel"]["bin"] == bin && f["format"] == "pain001_v09")
            .map(|f| format!("F{}", f["id"].as_u64().unwrap()))
            .unwrap()
    };
    Paid {
        beneficiary,
        entitlement,
        batch,
        file_bank: file_of("970436"),
        file_bank2: file_of("970418"),
    }
}

pub fn token_of(principal: &str) -> &'static str {
    TOKENS
        .iter()
        .find(|t| t.1 == principal)
        .expect("a token for the principal")
        .0
}
