//! The department's reads over HTTP: the scheme catalogue (`GET /v1/schemes`) is the rules' own
//! catalogue, so a client learns the codes, parameters, payees and clauses from the ledger.

mod common;

use axum::http::StatusCode;
use chitra::domain::rules::SCHEMES;
use chitra::http::auth::Role;
use common::http::Api;

#[tokio::test]
async fn the_scheme_catalogue_is_served_from_the_rules() {
    let api = Api::new();
    let r = api.get("/v1/schemes", Role::Officer).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), SCHEMES.len());
    let item = |code: &str| {
        items
            .iter()
            .find(|i| i["code"] == code)
            .unwrap_or_else(|| panic!("{code} missing"))
            .clone()
    };
    let care = item("btxh.care_allowance");
    assert_eq!(care["payee_required"], true);
    // A roster carries it on the caring household's row (its `cared_for` column).
    assert_eq!(care["in_roster"], true);
    assert_eq!(care["clause"], "ND 20/2021 Art 20(2)(c)");
    let parent = item("btxh.disabled_parent");
    assert!(parent["allowed"]
        .as_array()
        .unwrap()
        .contains(&"Pregnant".into()));
    let invalid_b = item("ncc.war_invalid_b");
    assert_eq!(invalid_b["required"], serde_json::json!(["InjuryRatePct"]));
    assert!(invalid_b["allowed"]
        .as_array()
        .unwrap()
        .contains(&"EspeciallySevere".into()));
    assert_eq!(invalid_b["injury_rate"], serde_json::json!([21, 100]));
    let facility = item("btxh.facility_care");
    assert!(facility["allowed"]
        .as_array()
        .unwrap()
        .contains(&"InFacility".into()));
    assert!(!item("btxh.disability_severe")["allowed"]
        .as_array()
        .unwrap()
        .contains(&"InFacility".into()));
    assert_eq!(item("ncc.funeral")["paid"], "once");
    // Banks read no catalogue of people's schemes.
    let r = api.get("/v1/schemes", Role::Bank).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_departments_figures_as_of_a_day() {
    let api = Api::new();
    let ledger = api.ledger.clone();
    tokio::task::spawn_blocking(move || common::enrol(&ledger, 0, 5))
        .await
        .unwrap();
    let r = api.get("/v1/figures", Role::Checker).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["totals"]["enrolled"], 5);
    assert_eq!(body["as_of"], serde_json::Value::Null);
    // The fixed clock writes every record on 2026-11-02: before that day, nothing.
    let r = api.get("/v1/figures?as_of=2026-11-01", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    assert_eq!(body["known_at"], 0);
    assert_eq!(body["totals"]["enrolled"], 0);
    let r = api.get("/v1/figures?as_of=2026-11-02", Role::Auditor).await;
    assert_eq!(r.json()["totals"]["enrolled"], 5);
    let r = api.get("/v1/figures?programme=NCC", Role::Officer).await;
    let synth_ncc = r.json()["people"].as_array().unwrap().len();
    assert!(synth_ncc <= 5);
    let r = api.get("/v1/figures?as_of=yesterday", Role::Auditor).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = api.get("/v1/figures", Role::Bank).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_calendar_says_what_is_due_next() {
    let api = Api::new();
    let r = api.get("/v1/calendar?today=2024-08-21", Role::Maker).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.json();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    // No batch yet: the list of September is due by 25 August.
    let next = &items[1]["next"];
    assert_eq!(items[1]["programme"], "BTXH");
    assert_eq!(next["kind"], "list");
    assert_eq!(next["month"], "2024-09");
    assert_eq!(next["due_on"], "2024-08-25");
    assert_eq!(items[1]["overdue"], serde_json::json!([]));
    let r = api.get("/v1/calendar?today=soon", Role::Maker).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}
