//! The API end to end in-process: a month paid through the API (enrol, open, compute, review,
//! approve, release), a bank downloading its file and posting back its status, reconciliation,
//! close and payouts; search; the due view; receipts; metrics and problems.

mod common;

use axum::http::{Method, StatusCode};
use chitra::http::Role;
use common::http::{paid_month, Api};
use serde_json::json;

#[tokio::test]
async fn a_month_is_paid_reconciled_and_closed_through_the_api() {
    let api = Api::new();
    let paid = paid_month(&api).await;

    // The review shows the totals the checker approved.
    let review = api
        .get(&format!("/v1/batches/{}/review", paid.batch), Role::Checker)
        .await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.text());
    assert_eq!(review.json()["totals"]["count"], 3);

    // The bank lists only its own files and downloads its pain.001 with the recorded hash.
    let list = api.get("/v1/files", Role::Bank).await.json();
    let items = list["items"].as_array().unwrap();
    assert!(!items.is_empty());
    assert!(
        items.iter().all(|f| f["channel"]["bin"] == "970436"),
        "{list}"
    );
    let before = api.records();
    let dl = api
        .get(&format!("/v1/files/{}/content", paid.file_bank), Role::Bank)
        .await;
    assert_eq!(dl.status, StatusCode::OK, "{}", dl.text());
    let hash = dl.headers["x-content-blake3"].to_str().unwrap().to_owned();
    assert_eq!(hash, blake3::hash(&dl.body).to_hex().to_string());
    assert_eq!(api.records(), before + 1, "the download is recorded");
    let meta = api
        .get(&format!("/v1/files/{}", paid.file_bank), Role::Bank)
        .await
        .json();
    assert_eq!(meta["blake3"], hash.as_str());
    assert_eq!(meta["downloads"], 1);

    // The bank posts back a pain.002: everything settled.
    let created = chitra::formats::bank::IsoDateTime::parse("2024-06-05T10:00:00+07:00").unwrap();
    let (report, lines) =
        chitra::formats::bank::simulate_for_pain001(&dl.body, "STS-1", created, |_| {
            chitra::formats::bank::Outcome::Settled
        })
        .unwrap();
    let xml = chitra::formats::bank::simulate_pain002(&report, &lines);
    let up = api
        .send(
            Method::POST,
            "/v1/status-reports",
            Some(common::http::token(Role::Bank)),
            Some("application/xml"),
            xml.clone(),
            Some("status-1"),
        )
        .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    assert_eq!(
        up.json()["receipt"]["count"],
        2,
        "report + one settled payment"
    );
    // The other bank may not post a report about this bank's file, and learns nothing from
    // the refusal.
    let other = api
        .send(
            Method::POST,
            "/v1/status-reports",
            Some(common::http::token_of("bank:970418")),
            Some("application/xml"),
            xml,
            None,
        )
        .await;
    assert_eq!(other.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(other.code(), "unknown-report");

    let rec = api
        .get(
            &format!("/v1/batches/{}/reconciliation", paid.batch),
            Role::Auditor,
        )
        .await
        .json();
    assert_eq!(rec["reconciliation"]["settled"]["count"], 1, "{rec}");
    assert_eq!(rec["reconciliation"]["outstanding"]["count"], 2, "{rec}");

    // Closing is refused while payments are outstanding.
    let close = api
        .post(
            &format!("/v1/batches/{}/close", paid.batch),
            Role::Checker,
            json!({}),
        )
        .await;
    assert_eq!(close.status, StatusCode::CONFLICT);
    assert_eq!(close.code(), "conflict");

    let payout = api.get("/v1/payouts?month=2024-06", Role::Auditor).await;
    assert_eq!(payout.status, StatusCode::OK, "{}", payout.text());
    assert_eq!(payout.json()["payout"]["totals"]["count"], 3);
}

#[tokio::test]
async fn beneficiaries_are_found_shown_and_due_is_explained() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let plain = api
        .get(
            &format!("/v1/beneficiaries/{}", paid.beneficiary),
            Role::Officer,
        )
        .await;
    assert_eq!(plain.status, StatusCode::OK, "{}", plain.text());
    assert_eq!(plain.json()["history"], serde_json::json!([]));
    assert_eq!(plain.json()["entitlements"][0]["paid"][0][0], "2024-06");
    let show = api
        .get(
            &format!("/v1/beneficiaries/{}?history=true", paid.beneficiary),
            Role::Officer,
        )
        .await;
    assert_eq!(show.status, StatusCode::OK, "{}", show.text());
    let v = show.json();
    assert_eq!(v["identity"]["citizen_id"], "001185000001");
    assert!(v["history"].as_array().unwrap().len() >= 2, "{v}");
    assert_eq!(v["account"], "****001");

    let by_id = api
        .get("/v1/beneficiaries?citizen_id=001185000003", Role::Maker)
        .await
        .json();
    assert_eq!(by_id["items"].as_array().unwrap().len(), 1, "{by_id}");
    let by_name = api
        .get(
            "/v1/beneficiaries?name=nguyen%20thi%20thu&limit=2",
            Role::Officer,
        )
        .await
        .json();
    assert_eq!(by_name["items"].as_array().unwrap().len(), 2, "{by_name}");
    let next = by_name["next"].as_str().unwrap();
    let page2 = api
        .get(
            &format!("/v1/beneficiaries?name=Nguy%E1%BB%85n&commune=00004&after={next}"),
            Role::Officer,
        )
        .await
        .json();
    assert_eq!(page2["items"].as_array().unwrap().len(), 1, "{page2}");
    assert!(page2["next"].is_null());
    // A correction is found under the new name.
    let r = api
        .post(
            &format!("/v1/beneficiaries/{}/corrections", paid.beneficiary),
            Role::Officer,
            json!({ "full_name": "Trần Văn Mới", "sex": "F", "reason": "sai chính tả" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let found = api
        .get("/v1/beneficiaries?name=tran%20moi", Role::Officer)
        .await
        .json();
    assert_eq!(found["items"][0]["id"], 1, "{found}");

    let due = api
        .get(
            &format!("/v1/beneficiaries/{}/due?month=2024-07", paid.beneficiary),
            Role::Officer,
        )
        .await;
    assert_eq!(due.status, StatusCode::OK, "{}", due.text());
    assert!(due.json()["total"].as_i64().unwrap() > 0);

    let too_big = api
        .get("/v1/beneficiaries?limit=100000", Role::Officer)
        .await;
    assert_eq!(too_big.status, StatusCode::BAD_REQUEST);
    let unknown = api.get("/v1/beneficiaries/B999", Role::Officer).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.code(), "unknown-beneficiary");
    assert_eq!(unknown.headers["content-type"], "application/problem+json");
    let ent = api
        .get(
            &format!("/v1/entitlements/{}", paid.entitlement),
            Role::Auditor,
        )
        .await;
    assert_eq!(ent.status, StatusCode::OK, "{}", ent.text());
}

#[tokio::test]
async fn writes_return_receipts_and_metrics_count_requests() {
    let api = Api::new();
    let before = api.records();
    let r = api
        .post(
            "/v1/beneficiaries",
            Role::Officer,
            common::http::enrol_body(
                "001185000009",
                common::http::bank_route("970436", "99887766"),
            ),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let v = r.json();
    assert_eq!(v["receipt"]["first_seq"], before);
    assert_eq!(v["receipt"]["count"], 2);
    assert_eq!(v["receipt"]["last_seq"], before + 1);
    assert_eq!(v["receipt"]["hash"], v["events"][1]["hash"]);
    assert_eq!(r.headers["location"], "/v1/beneficiaries/B1");
    let head = api.get("/v1/chain", Role::Auditor).await.json();
    assert_eq!(head["head_hash"], v["receipt"]["hash"]);

    let m = api
        .send(
            Method::GET,
            "/metrics",
            None,
            None,
            axum::body::Body::empty(),
            None,
        )
        .await;
    assert_eq!(m.status, StatusCode::OK);
    let text = m.text();
    assert!(text.contains("chitra_writer_groups_total"), "{text}");
    assert!(
        text.contains(
            "chitra_http_requests_total{method=\"POST\",route=\"/v1/beneficiaries\",status=\"201\"} 1"
        ),
        "{text}"
    );
    assert!(text.contains("chitra_http_request_duration_seconds_bucket"));
    let health = api
        .send(
            Method::GET,
            "/healthz",
            None,
            None,
            axum::body::Body::empty(),
            None,
        )
        .await;
    assert_eq!(health.status, StatusCode::OK);
    let ready = api
        .send(
            Method::GET,
            "/readyz",
            None,
            None,
            axum::body::Body::empty(),
            None,
        )
        .await;
    assert_eq!(ready.status, StatusCode::OK);

    let verify = api.post("/v1/chain/verify", Role::Auditor, json!({})).await;
    assert_eq!(verify.status, StatusCode::OK, "{}", verify.text());
    assert_eq!(verify.json()["ok"], true);
    let export = api.get("/v1/chain/export", Role::Auditor).await;
    assert_eq!(export.status, StatusCode::OK);
    let summary =
        chitra::ledger::verify::verify_export(&export.body[..], None, None, |_| {}).unwrap();
    assert_eq!(summary.verified.records, api.records());
}

#[tokio::test]
async fn a_roster_is_enrolled_row_by_row_and_a_retry_appends_nothing() {
    let api = Api::new();
    let mut csv = Vec::new();
    chitra::dev::synth::write_roster_csv(&mut csv, 5, 20, chitra::dev::synth::Province::hanoi())
        .unwrap();
    let post = |body: Vec<u8>, key: Option<&'static str>| {
        let api = &api;
        async move {
            api.send(
                Method::POST,
                "/v1/rosters",
                Some(common::http::token(Role::Officer)),
                Some("text/csv"),
                body,
                key,
            )
            .await
        }
    };
    let r = post(csv.clone(), Some("roster-1")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let first = r.json();
    assert_eq!(first["rows"], 20);
    assert_eq!(first["enrolled"], 20, "{first}");
    let records = api.records();
    assert_eq!(first["last_seq"], records - 1);
    // The same key: every row replays, the same answer, nothing appended.
    let again = post(csv.clone(), Some("roster-1")).await;
    assert_eq!(again.json(), first);
    assert_eq!(api.records(), records);
    // Without a key the file is refused whole: its first row is enrolled already.
    let dup = post(csv, None).await;
    assert_eq!(
        dup.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        dup.text()
    );
    assert!(dup.text().contains("line 2"), "{}", dup.text());
    assert_eq!(api.records(), records);
    // A broken file is refused whole, with every problem listed.
    let bad = post(b"not,a,roster\n1,2,3\n".to_vec(), None).await;
    assert_eq!(
        bad.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        bad.text()
    );
    assert_eq!(bad.code(), "invalid-roster");
    assert!(!bad.json()["errors"].as_array().unwrap().is_empty());
    assert_eq!(api.records(), records);
}

#[tokio::test]
async fn heavy_jobs_beyond_the_limit_get_429() {
    let api = Api::with_limits(chitra::http::Limits {
        jobs_concurrent_max: 0,
        ..chitra::http::Limits::default()
    });
    let r = api.post("/v1/chain/verify", Role::Auditor, json!({})).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.code(), "busy");
    assert_eq!(r.headers["retry-after"], "5");
}
