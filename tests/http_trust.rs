//! Issue 8's sequences over HTTP, as a bank, a second token of the same person and an officer
//! would send them: a name the file writer used to refuse, a funding account no file can carry,
//! one person approving their own batch with a second token, a bank reporting on other banks'
//! payments, a batch ten years ahead, and a wrong content hash that must not be answered with
//! the right one.

mod common;

use axum::http::{Method, StatusCode};
use chitra::http::Role;
use common::http::{approve_and_release, bank_route, enrol_body, paid_month, token_of, Api};
use serde_json::json;

/// One person at bank 970436 and the June batch computed.
async fn computed_batch(api: &Api) -> (String, serde_json::Value) {
    api.enrol(enrol_body(
        "001185000001",
        bank_route("970436", "1500200000001"),
    ))
    .await;
    common::http::computed_batch(api).await
}

#[tokio::test]
async fn a_formula_like_name_is_released_with_every_file() {
    let api = Api::new();
    let mut body = enrol_body("001185000001", bank_route("970436", "1500200000001"));
    body["full_name"] = json!("=Nguyễn Thị Thử");
    body["route"]["holder_name"] = json!("=NGUYEN THI THU");
    let r = api.post("/v1/beneficiaries", Role::Officer, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let (batch, view) = common::http::computed_batch(&api).await;
    let r = approve_and_release(&api, &batch, &view).await;
    assert_eq!(
        r.json()["files"].as_array().unwrap().len(),
        2,
        "{}",
        r.text()
    );
    let view = api
        .get(&format!("/v1/batches/{batch}"), Role::Checker)
        .await
        .json();
    assert_eq!(view["status"], "released");
}

#[tokio::test]
async fn a_funding_account_of_two_characters_is_refused_at_open() {
    let api = Api::new();
    let before = api.records();
    let r = api.open_batch("BTXH", "2024-06", "12").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "funding_account", "{}", r.text());
    assert_eq!(api.records(), before);
}

#[tokio::test]
async fn the_maker_cannot_approve_with_a_second_token_and_a_wrong_hash_is_not_corrected() {
    let api = Api::new();
    let (batch, view) = computed_batch(&api).await;
    let before = api.records();
    let own = api
        .send(
            Method::POST,
            &format!("/v1/batches/{batch}/approve"),
            Some(token_of("checker:hoa")),
            Some("application/json"),
            serde_json::to_vec(
                &json!({ "content_hash": view["content_hash"], "totals": view["totals"] }),
            )
            .unwrap(),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "{}", own.text());
    assert_eq!(own.code(), "not-allowed");
    let wrong = api
        .post(
            &format!("/v1/batches/{batch}/approve"),
            Role::Checker,
            json!({ "content_hash": "00".repeat(32), "totals": view["totals"] }),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::CONFLICT, "{}", wrong.text());
    let right = view["content_hash"].as_str().unwrap();
    assert!(!wrong.text().contains(right), "{}", wrong.text());
    assert!(!wrong.text().contains(&right[..16]), "{}", wrong.text());
    assert_eq!(api.records(), before);
}

#[tokio::test]
async fn a_bank_report_listing_another_banks_payments_is_422_and_appends_nothing() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let dl = api
        .get(&format!("/v1/files/{}/content", paid.file_bank), Role::Bank)
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    // The other bank's payment ids, as a snooping bank would guess them (they are sequential).
    let theirs: Vec<String> = (1..=3).map(|n| format!("P{n}")).collect();
    let created = chitra::formats::bank::IsoDateTime::parse("2024-06-05T10:00:00+07:00").unwrap();
    let (report, mut lines) =
        chitra::formats::bank::simulate_for_pain001(&dl.body, "STS-SNOOP", created, |_| {
            chitra::formats::bank::Outcome::Settled
        })
        .unwrap();
    let own: Vec<String> = lines.iter().map(|l| l.end_to_end_id.clone()).collect();
    for id in theirs.iter().filter(|id| !own.contains(id)) {
        lines.push(chitra::formats::bank::SimulatedLine {
            end_to_end_id: id.clone(),
            amount: chitra::domain::types::Vnd(2_000_000),
            outcome: chitra::formats::bank::Outcome::Rejected {
                reason_code: "AC04".into(),
            },
        });
    }
    let xml = chitra::formats::bank::simulate_pain002(&report, &lines);
    let before = api.records();
    let r = api
        .send(
            Method::POST,
            "/v1/status-reports",
            Some(common::http::token(Role::Bank)),
            Some("application/xml"),
            xml,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(api.records(), before, "nothing appended");
    let breaks = api.get("/v1/breaks", Role::Auditor).await.json();
    assert_eq!(breaks["items"].as_array().unwrap().len(), 0, "{breaks}");
}

#[tokio::test]
async fn a_batch_cannot_be_opened_years_ahead() {
    let api = Api::new();
    let before = api.records();
    let r = api.open_batch("NCC", "2036-01", "9527111222333").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_eq!(r.json()["field"], "month");
    assert_eq!(api.records(), before);
}
