//! The department's writes over HTTP (issue 12): the Treasury's allocation (a checker) and the
//! funds per programme and period (finance reads); a population-database answer file uploaded
//! by an officer, all or nothing, refused with its line and column named and nothing recorded;
//! and each programme's identity-check mode (an admin). Same parser and commands as the CLI.

mod common;

use axum::http::{Method, StatusCode};
use chitra::http::auth::Role;
use common::http::{paid_month, token, Api};
use serde_json::json;

fn allocation(amount: i64) -> serde_json::Value {
    json!({
        "programme": "BTXH",
        "from": "2024-06",
        "to": "2024-08",
        "amount": amount,
        "decision": { "number": "12/QĐ-KBNN", "date": "2024-05-20", "signer": "Giám đốc KBNN" },
    })
}

#[tokio::test]
async fn allocations_and_the_funds_of_a_period() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let before = api.records();
    // Only a checker records an allocation; a bad one is refused and records nothing.
    let r = api
        .post("/v1/funds/allocations", Role::Maker, allocation(5_000_000))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = api
        .post("/v1/funds/allocations", Role::Checker, allocation(0))
        .await;
    assert!(r.status.is_client_error(), "{}", r.text());
    assert!(r.text().contains("amount"), "{}", r.text());
    assert_eq!(
        api.records(),
        before,
        "a refused allocation records nothing"
    );
    let r = api
        .post(
            "/v1/funds/allocations",
            Role::Checker,
            allocation(50_000_000),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["events"][0]["event"]["type"], "funds_allocated");

    // The June batch was approved before the allocation; it still draws on the period.
    let r = api.get("/v1/funds?from=2024-07", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let item = &body["items"][0];
    let batch_total = api
        .get(&format!("/v1/batches/{}", paid.batch), Role::Checker)
        .await
        .json()["totals"]["sum"]
        .as_i64()
        .unwrap();
    assert_eq!(item["allocated"], 50_000_000);
    assert_eq!(item["reserved"], batch_total);
    assert_eq!(item["remaining"], 50_000_000 - batch_total);
    assert_eq!(item["batches_open"], 1, "June is released, not closed");
    assert_eq!(item["decisions"], json!(["12/QĐ-KBNN"]));
    // A period that overlaps nothing, a bad month, and a bank: nothing, 400, 403.
    let r = api
        .get("/v1/funds?from=2025-01&to=2025-03", Role::Maker)
        .await;
    assert_eq!(r.json()["items"], json!([]));
    let r = api.get("/v1/funds?from=2024-13", Role::Maker).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = api.get("/v1/funds", Role::Bank).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn upload(api: &Api, role: Role, query: &str, csv: &str) -> common::http::Resp {
    api.send(
        Method::POST,
        &format!("/v1/identity-checks{query}"),
        Some(token(role)),
        Some("text/csv"),
        csv.to_owned(),
        None,
    )
    .await
}

const HEADER: &str = "citizen_id,found,full_name,birth_date,sex,vital,date_of_death\n";

#[tokio::test]
async fn identity_checks_over_http_all_or_nothing() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let before = api.records();
    // A bad line refuses the whole file, naming line and column; nothing is recorded.
    let bad = format!(
        "{HEADER}001185000001,yes,matched,matched,matched,alive,\n001185000003,yes,maybe,matched,matched,alive,\n"
    );
    let r = upload(&api, Role::Officer, "?reference=C-1", &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.code(), "invalid-identity-check");
    let errors = r.json()["errors"].clone();
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("line 3, column full_name"),
        "{errors}"
    );
    assert_eq!(api.records(), before, "nothing recorded");
    // Not CSV, not an officer, no reference: refused before anything is read.
    let r = api
        .send(
            Method::POST,
            "/v1/identity-checks?reference=C-1",
            Some(token(Role::Officer)),
            Some("application/json"),
            "{}",
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let good = format!(
        "{HEADER}001185000001,yes,matched,matched,matched,alive,\n001185000003,yes,differs,matched,matched,alive,\n001185000005,no,,,,unknown,\n"
    );
    let r = upload(&api, Role::Maker, "?reference=C-1", &good).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = upload(&api, Role::Officer, "", &good).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(api.records(), before);

    let r = upload(
        &api,
        Role::Officer,
        "?reference=C-1&answered_on=2024-06-20",
        &good,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["answers"], 3);
    assert_eq!(
        body["outcomes"],
        json!({ "verified": 1, "differs": 1, "not_found": 1, "reported_dead": 0 })
    );
    assert_eq!(api.records(), before + 1);
    // The same reference again is a conflict, and records nothing.
    let r = upload(&api, Role::Officer, "?reference=C-1", &good).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(api.records(), before + 1);
    // The person whose name differs is held: the figures say so.
    let figures = api.get("/v1/figures", Role::Auditor).await.json();
    assert_eq!(figures["totals"]["verified"], 1);
    assert_eq!(
        figures["totals"]["held"]["differs from the population database"], 1,
        "{figures}"
    );
    let _ = paid;

    // The mode: an admin only; warn only lets the differences pass.
    let mode = json!({ "programme": "BTXH", "mode": "warn_only" });
    let r = api
        .post("/v1/identity-checks/mode", Role::Officer, mode.clone())
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = api
        .post(
            "/v1/identity-checks/mode",
            Role::Admin,
            json!({ "programme": "BTXH", "mode": "sometimes" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let r = api
        .post("/v1/identity-checks/mode", Role::Admin, mode)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.json()["events"][0]["event"]["type"],
        "identity_check_mode_set"
    );
    let figures = api.get("/v1/figures", Role::Auditor).await.json();
    assert_eq!(figures["totals"]["held"], json!({}), "{figures}");
}

/// `GET /v1/calendar` dates each deadline by the record that met it: the June 2024 list
/// released on the test clock's day (2 November 2026) is late, and says when it went out.
#[tokio::test]
async fn the_calendar_over_http_says_what_was_late_and_when() {
    let api = Api::new();
    paid_month(&api).await;
    let r = api
        .get("/v1/calendar?today=2026-11-02", Role::Auditor)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let btxh = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["programme"] == "BTXH")
        .unwrap()
        .clone();
    let late = btxh["late"].as_array().unwrap();
    assert_eq!(late.len(), 1, "{btxh}");
    assert_eq!(late[0]["kind"], "list");
    assert_eq!(late[0]["month"], "2024-06");
    assert_eq!(late[0]["due_on"], "2024-05-25");
    assert_eq!(late[0]["done_on"], "2026-11-02");
    assert_eq!(btxh["carried"], json!([]));
    // The payment report is not in: overdue, not late.
    assert!(btxh["overdue"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["kind"] == "payment_report" && d["month"] == "2024-06"));
    let figures = api.get("/v1/figures", Role::Auditor).await.json();
    assert_eq!(figures["payments"][0]["report_late"], false, "{figures}");
}
