//! Bad input on every write route: malformed JSON, wrong types, missing fields, unknown fields,
//! the wrong media type, an oversized body; and the domain's own refusals (negative or
//! fractional VND, invalid citizen IDs, unknown BINs and communes). Each is a 4xx problem and
//! the chain does not grow.

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::{routes, Limits, Role};
use common::http::{bank_route, decision, enrol_body, paid_month, token, Api, Paid};
use serde_json::{json, Value};

const BODY_BYTES_MAX: usize = 8 << 10;

fn api() -> Api {
    Api::with_limits(Limits {
        request_body_bytes_max: BODY_BYTES_MAX,
        status_report_bytes_max: 16 << 10,
        roster_bytes_max: 16 << 10,
        ..Limits::default()
    })
}

/// A valid body for each JSON write route, and the role that may send it.
fn template(path: &str, paid: &Paid) -> (Role, Value) {
    let ent = json!({
        "programme": "BTXH", "scheme": "btxh.disability_especially_severe", "params": [],
        "kind": { "kind": "monthly" }, "effective_from": "2024-08", "decision": decision(),
    });
    let _ = paid;
    match path {
        "/v1/beneficiaries" => (
            Role::Officer,
            enrol_body("001185000077", bank_route("970436", "12345678")),
        ),
        "/v1/beneficiaries/{id}/corrections" => (
            Role::Officer,
            json!({ "full_name": "Lê Thị Mới", "reason": "sai tên" }),
        ),
        "/v1/beneficiaries/{id}/route" => (
            Role::Officer,
            json!({ "route": bank_route("970418", "55554444"), "reason": "đổi ngân hàng" }),
        ),
        "/v1/beneficiaries/{id}/death" => (
            Role::Officer,
            json!({ "date_of_death": "2026-10-01", "decision": decision() }),
        ),
        "/v1/beneficiaries/{id}/hold" => (Role::Officer, json!({ "note": "kiểm tra" })),
        "/v1/beneficiaries/{id}/hold/clear" => (
            Role::Officer,
            json!({ "decision": decision(), "note": "ok" }),
        ),
        "/v1/beneficiaries/{id}/erasure" => (Role::Officer, json!({ "legal_basis": "QĐ 1/2026" })),
        "/v1/beneficiaries/{id}/entitlements" => (Role::Officer, ent),
        "/v1/entitlements/{id}/adjustments" => (
            Role::Officer,
            json!({ "effective_from": "2024-08", "params": [], "decision": decision() }),
        ),
        "/v1/entitlements/{id}/suspensions" => (
            Role::Officer,
            json!({ "from": "2024-08", "reason": { "kind": "missing" }, "decision": decision() }),
        ),
        "/v1/entitlements/{id}/resumptions" => (
            Role::Officer,
            json!({ "from": "2024-09", "back_pay_from": "2024-08", "decision": decision() }),
        ),
        "/v1/entitlements/{id}/terminations" => (
            Role::Officer,
            json!({ "last_month": "2024-12", "reason": { "kind": "lost_eligibility" }, "decision": decision() }),
        ),
        "/v1/rate-schedules" => (
            Role::Admin,
            json!({ "file_name": "x-2099.csv", "content": "field,value\n" }),
        ),
        "/v1/batches" => (
            Role::Maker,
            json!({ "programme": "BTXH", "month": "2024-07", "funding_account": "9527111222333" }),
        ),
        "/v1/batches/{id}/compute" => (Role::Maker, json!({})),
        "/v1/batches/{id}/approve" => (
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": 3, "sum": 1000 } }),
        ),
        "/v1/batches/{id}/release" => (Role::Checker, json!({})),
        "/v1/batches/{id}/cancel" => (Role::Maker, json!({ "reason": "nhầm" })),
        "/v1/batches/{id}/close" => (Role::Checker, json!({})),
        "/v1/breaks/{seq}/resolve" => (Role::Checker, json!({ "note": "ngân hàng sửa" })),
        "/v1/chain/verify" => (Role::Auditor, json!({})),
        "/v1/backup" => (Role::Admin, json!({})),
        "/v1/tokens" => (Role::Admin, json!({ "role": "officer", "name": "moi" })),
        "/v1/funds/allocations" => (
            Role::Checker,
            json!({ "programme": "BTXH", "from": "2024-07", "to": "2024-09", "amount": 1000, "decision": decision() }),
        ),
        "/v1/identity-checks/mode" => (
            Role::Admin,
            json!({ "programme": "BTXH", "mode": "warn_only" }),
        ),
        other => panic!("no template for {other}: add one"),
    }
}

fn concrete(path: &str, paid: &Paid) -> String {
    let id = if path.starts_with("/v1/beneficiaries/") {
        &paid.beneficiary
    } else if path.starts_with("/v1/entitlements/") {
        &paid.entitlement
    } else {
        &paid.batch
    };
    path.replace("{id}", id).replace("{seq}", "1")
}

async fn send(
    api: &Api,
    path: &str,
    role: Role,
    content_type: &str,
    body: impl Into<Body>,
) -> common::http::Resp {
    api.send(
        Method::POST,
        path,
        Some(token(role)),
        Some(content_type),
        body,
        None,
    )
    .await
}

#[tokio::test]
async fn every_write_route_refuses_bad_json_with_a_problem_and_appends_nothing() {
    let api = api();
    let paid = paid_month(&api).await;
    let mut checked = 0;
    for route in routes() {
        if route.method != Method::POST
            || route.path == "/v1/status-reports"
            || route.path == "/v1/rosters"
            || route.path == "/v1/identity-checks"
        {
            continue;
        }
        let (role, template) = template(route.path, &paid);
        let path = concrete(route.path, &paid);
        let fields: Vec<String> = template.as_object().unwrap().keys().cloned().collect();
        let mut cases: Vec<(&str, &str, Vec<u8>, StatusCode, &str)> = vec![
            (
                "malformed",
                "application/json",
                b"{,}".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed-json",
            ),
            (
                "not json",
                "application/json",
                b"enrol me".to_vec(),
                StatusCode::BAD_REQUEST,
                "malformed-json",
            ),
            (
                "not an object",
                "application/json",
                b"\"text\"".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
            ),
            (
                "wrong media type",
                "text/plain",
                serde_json::to_vec(&template).unwrap(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
            ),
        ];
        let mut unknown = template.clone();
        unknown["surprise"] = json!(1);
        cases.push((
            "unknown field",
            "application/json",
            serde_json::to_vec(&unknown).unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid-body",
        ));
        let mut big = template.clone();
        big["padding"] = json!("x".repeat(BODY_BYTES_MAX));
        cases.push((
            "oversized",
            "application/json",
            serde_json::to_vec(&big).unwrap(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "body-too-large",
        ));
        if let Some(first) = fields.first() {
            let mut wrong = template.clone();
            wrong[first] = json!(true);
            cases.push((
                "wrong type",
                "application/json",
                serde_json::to_vec(&wrong).unwrap(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
            ));
            cases.push((
                "missing fields",
                "application/json",
                b"{}".to_vec(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
            ));
        }
        for (what, ct, body, status, code) in cases {
            let before = api.records();
            let r = send(&api, &path, role, ct, body).await;
            assert_eq!(r.status, status, "{} {what}: {}", route.path, r.text());
            assert_eq!(r.code(), code, "{} {what}: {}", route.path, r.text());
            assert_eq!(r.headers["content-type"], "application/problem+json");
            assert_eq!(api.records(), before, "{} {what} appended", route.path);
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[tokio::test]
async fn wrong_values_name_their_field() {
    let api = api();
    let paid = paid_month(&api).await;
    let approve = format!("/v1/batches/{}/approve", paid.batch);
    let cases: Vec<(String, Role, Value, &str, &str)> = vec![
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": 3, "sum": -1 } }),
            "totals.sum",
            "invalid-body",
        ),
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": 3, "sum": 1500.5 } }),
            "totals.sum",
            "invalid-body",
        ),
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": 3, "sum": 1.0 } }),
            "totals.sum",
            "invalid-body",
        ),
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": 3, "sum": "1000" } }),
            "totals.sum",
            "invalid-body",
        ),
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": { "count": -3, "sum": 1000 } }),
            "totals.count",
            "invalid-body",
        ),
        (
            approve.clone(),
            Role::Checker,
            json!({ "content_hash": "zz", "totals": { "count": 3, "sum": 1000 } }),
            "content_hash",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("00118500000", bank_route("970436", "12345678")),
            "citizen_id",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("00118500000x", bank_route("970436", "12345678")),
            "citizen_id",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("001185000077", bank_route("9704", "12345678")),
            "route",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("001185000077", bank_route("999999", "12345678")),
            "bank_bin",
            "invalid",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("001185000077", bank_route("970436", "12-34")),
            "route",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            {
                let mut b = enrol_body("001185000077", bank_route("970436", "12345678"));
                b["commune"] = json!("99999");
                b
            },
            "commune",
            "invalid",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            {
                let mut b = enrol_body("001185000077", bank_route("970436", "12345678"));
                b["birth_date"] = json!("1985-02-30");
                b
            },
            "birth_date",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            {
                let mut b = enrol_body("001185000077", bank_route("970436", "12345678"));
                b["entitlements"][0]["effective_from"] = json!("2024-13");
                b
            },
            "entitlements[0].effective_from",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            json!({ "kind": "cash" }),
            "",
            "invalid-body",
        ),
        (
            "/v1/beneficiaries".into(),
            Role::Officer,
            enrol_body("001185000001", bank_route("970436", "12345678")),
            "",
            "already-enrolled",
        ),
        (
            "/v1/batches".into(),
            Role::Maker,
            json!({ "programme": "XYZ", "month": "2024-07", "funding_account": "1" }),
            "programme",
            "invalid-body",
        ),
    ];
    for (path, role, body, field, code) in cases {
        let before = api.records();
        let r = api.post(&path, role, body.clone()).await;
        assert!(
            r.status.is_client_error(),
            "{path} {body}: {} {}",
            r.status,
            r.text()
        );
        assert_eq!(r.code(), code, "{path} {body}: {}", r.text());
        if !field.is_empty() {
            assert_eq!(r.json()["field"], field, "{path} {body}: {}", r.text());
        }
        assert_eq!(api.records(), before, "{path} {body} appended");
    }
}

#[tokio::test]
async fn status_reports_headers_and_keys_are_bounded() {
    let api = api();
    paid_month(&api).await;
    let before = api.records();
    let bank = Role::Bank;
    let r = send(&api, "/v1/status-reports", bank, "text/csv", "garbage\n").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.code(), "invalid-status-report");
    let r = send(
        &api,
        "/v1/status-reports",
        bank,
        "application/xml",
        "<Document><unclosed>",
    )
    .await;
    assert_eq!(r.code(), "invalid-status-report", "{}", r.text());
    let r = send(&api, "/v1/status-reports", bank, "application/json", "{}").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = send(&api, "/v1/status-reports", bank, "text/csv", "").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(
        &api,
        "/v1/status-reports",
        bank,
        "text/csv",
        vec![b'a'; 17 << 10],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.code(), "body-too-large");

    // Rosters: CSV only, bounded, and refused whole when any row is wrong.
    let officer = Role::Officer;
    let r = send(&api, "/v1/rosters", officer, "application/json", "{}").await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = send(
        &api,
        "/v1/rosters",
        officer,
        "text/csv",
        vec![b'a'; 17 << 10],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let r = send(&api, "/v1/rosters", officer, "text/csv", "").await;
    assert_eq!(r.code(), "invalid-roster", "{}", r.text());

    let long_key = "k".repeat(129);
    let r = api
        .post_key(
            "/v1/batches",
            Role::Maker,
            json!({ "programme": "BTXH", "month": "2024-07", "funding_account": "1" }),
            Some(&long_key),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert_eq!(r.code(), "invalid-idempotency-key");

    let req = axum::http::Request::builder()
        .method(Method::GET)
        .uri("/v1/chain")
        .header("authorization", format!("Bearer {}", token(Role::Auditor)))
        .header(
            "x-padding",
            "p".repeat(Limits::default().request_headers_bytes_max),
        )
        .body(Body::empty())
        .unwrap();
    let r = api.request(req).await;
    assert_eq!(r.status, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_eq!(r.code(), "headers-too-large");

    let r = api.get("/v2/nothing", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not-found");
    let r = api
        .send(
            Method::PUT,
            "/v1/batches",
            Some(token(Role::Maker)),
            None,
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method-not-allowed");
    assert_eq!(api.records(), before);
}

#[tokio::test]
// Holding the state across the request is the point: it makes the request wait.
#[allow(clippy::await_holding_lock)]
async fn a_request_that_takes_too_long_is_a_503_problem() {
    let api = Api::with_limits(Limits {
        request_timeout_ms: 200,
        ..Limits::default()
    });
    // Hold the state while a writer waits for it: readers queue behind the writer.
    let guard = api.ledger.state();
    let ledger = api.ledger.clone();
    let writer = std::thread::spawn(move || {
        ledger.submit(common::submission(
            "admin:thu",
            chitra::domain::Command::EnactRateSchedule(common::fixtures::schedules()[0].clone()),
        ))
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    let r = api.get("/v1/rate-schedules", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.code(), "timeout");
    // Health does not wait on the ledger.
    let r = api
        .send(Method::GET, "/healthz", None, None, Body::empty(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    drop(guard);
    writer.join().unwrap().unwrap();
}
