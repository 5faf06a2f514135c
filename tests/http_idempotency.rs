//! Idempotency-Key: the same key and body returns the original response and appends nothing,
//! also from 20 concurrent clients and after a restart; the same key with another body is a 409.
//! Heavy jobs too: concurrent retries of a batch computation compute once.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use chitra::http::{Limits, Role};
use common::http::{bank_route, enrol_body, paid_month, token, Api};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

async fn post(
    app: &axum::Router,
    path: &str,
    role: Role,
    body: &Value,
    key: &str,
) -> (StatusCode, bool, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("authorization", format!("Bearer {}", token(role)))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let replayed = res.headers().contains_key("idempotent-replayed");
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, replayed, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_key_from_20_concurrent_clients_appends_one_enrolment() {
    let api = Arc::new(Api::new());
    let before = api.records();
    let body = enrol_body("001185000011", bank_route("970436", "11112222"));
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (app, body) = (api.app.clone(), body.clone());
            tokio::spawn(async move {
                post(&app, "/v1/beneficiaries", Role::Officer, &body, "enrol-11").await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    assert_eq!(
        api.records(),
        before + 2,
        "one enrolment (and its entitlement), once"
    );
    let first = &answers[0].2;
    for (status, _, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
        assert_eq!(body, first, "every client gets the original response");
    }
    assert_eq!(
        answers.iter().filter(|a| !a.1).count(),
        1,
        "exactly one original"
    );
    assert_eq!(api.ledger.state().beneficiary_count(), 1);

    // The same key with another body is a conflict, and appends nothing.
    let other = enrol_body("001185000013", bank_route("970436", "11112222"));
    let (status, _, problem) = post(
        &api.app,
        "/v1/beneficiaries",
        Role::Officer,
        &other,
        "enrol-11",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(
        problem["type"],
        "https://chitra.example/problems/idempotency-conflict"
    );
    assert_eq!(api.records(), before + 2);
    // Keys are per principal: another officer's identical key is a different request (and is
    // refused here only because the person is enrolled already).
}

#[tokio::test]
async fn keys_survive_a_restart() {
    let api = Api::new();
    let body = enrol_body("001185000021", bank_route("970436", "11113333"));
    let (status, replayed, original) = post(
        &api.app,
        "/v1/beneficiaries",
        Role::Officer,
        &body,
        "k-restart",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(!replayed);
    let records = api.records();
    let Api { dir, ledger, app } = api;
    drop(app);
    drop(ledger);
    let ledger = common::open(dir.path());
    let api = Api::on(dir, ledger, Limits::default());
    let (status, replayed, again) = post(
        &api.app,
        "/v1/beneficiaries",
        Role::Officer,
        &body,
        "k-restart",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(replayed);
    assert_eq!(
        again, original,
        "the original response, rebuilt from the chain"
    );
    assert_eq!(api.records(), records);
    let other = enrol_body("001185000023", bank_route("970436", "11113333"));
    let (status, _, _) = post(
        &api.app,
        "/v1/beneficiaries",
        Role::Officer,
        &other,
        "k-restart",
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_retries_of_a_batch_computation_compute_once() {
    let api = Arc::new(Api::new());
    paid_month(&api).await;
    let open =
        json!({ "programme": "BTXH", "month": "2024-07", "funding_account": "9527111222333" });
    let (status, _, opened) = post(&api.app, "/v1/batches", Role::Maker, &open, "open-07").await;
    assert_eq!(status, StatusCode::CREATED, "{opened}");
    let batch = opened["id"].as_str().unwrap().to_owned();
    let before = api.records();
    let path = format!("/v1/batches/{batch}/compute");
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let (app, path) = (api.app.clone(), path.clone());
            tokio::spawn(
                async move { post(&app, &path, Role::Maker, &json!({}), "compute-07").await },
            )
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let first = answers[0].2.clone();
    for (status, _, body) in &answers {
        assert_eq!(*status, StatusCode::OK, "{body}");
        assert_eq!(body["receipt"], first["receipt"], "{body}");
    }
    assert_eq!(answers.iter().filter(|a| !a.1).count(), 1, "computed once");
    let count = first["receipt"]["count"].as_u64().unwrap();
    assert_eq!(
        api.records(),
        before + count,
        "three payments and the computation"
    );
    assert_eq!(count, 4);
    // A retry with another key is refused: the batch is no longer open.
    let (status, _, problem) =
        post(&api.app, &path, Role::Maker, &json!({}), "compute-07-again").await;
    assert_eq!(status, StatusCode::CONFLICT, "{problem}");
    assert_eq!(api.records(), before + count);
}
