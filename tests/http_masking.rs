//! One masking rule (`domain::access::sees_citizen_ids`): the API serves a person's citizen ID
//! whole to officers and masked (`001******001`) to every other role that may read people, in
//! the person's view and in search hits, as the dashboard does.

mod common;

use axum::http::StatusCode;
use chitra::domain::access::{sees_citizen_ids, Role};
use common::http::{bank_route, enrol_body, Api};

#[tokio::test]
async fn an_auditor_reads_citizen_ids_masked_and_an_officer_whole() {
    let api = Api::new();
    let id = api
        .enrol(enrol_body(
            "001185000001",
            bank_route("970436", "1500200000001"),
        ))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for (role, shown) in [
        (Role::Officer, "001185000001"),
        (Role::Auditor, "001******001"),
        (Role::Maker, "001******001"),
        (Role::Checker, "001******001"),
    ] {
        assert_eq!(sees_citizen_ids(role), role == Role::Officer);
        for path in [
            format!("/v1/beneficiaries/{id}"),
            format!("/v1/beneficiaries/{id}?history=true"),
        ] {
            let r = api.get(&path, role).await;
            assert_eq!(r.status, StatusCode::OK, "{role:?} {path}: {}", r.text());
            assert_eq!(r.json()["identity"]["citizen_id"], shown, "{role:?} {path}");
            if role != Role::Officer {
                assert!(!r.text().contains("001185000001"), "{role:?} {path}");
            }
        }
        for query in ["citizen_id=001185000001", "name=nguyen%20thi%20thu"] {
            let r = api.get(&format!("/v1/beneficiaries?{query}"), role).await;
            assert_eq!(r.status, StatusCode::OK, "{role:?} {query}: {}", r.text());
            let hits = r.json()["items"].clone();
            assert_eq!(hits.as_array().unwrap().len(), 1, "{hits}");
            assert_eq!(hits[0]["citizen_id"], shown, "{role:?} {query}");
        }
    }
}
