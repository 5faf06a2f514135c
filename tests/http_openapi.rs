//! The OpenAPI document agrees with what is served, both ways: every route the router serves
//! is documented with the same roles, every documented operation is served (it answers, in
//! process, with something other than 404 or 405), and the document is what `/v1/openapi.json`
//! returns.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::{openapi, routes, Access};
use common::http::Api;

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let doc = openapi::document();
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<(String, String)> = paths
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .keys()
                .map(move |m| (m.to_uppercase(), path.clone()))
        })
        .collect();
    let served: BTreeSet<(String, String)> = routes()
        .iter()
        .map(|r| (r.method.as_str().to_owned(), r.path.to_owned()))
        .collect();
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "served but not documented: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "documented but not served: {unserved:?}"
    );
    assert_eq!(served.len(), routes().len(), "no route is declared twice");

    for r in routes() {
        let op = &paths[r.path][r.method.as_str().to_lowercase()];
        let roles: BTreeSet<String> = op["x-roles"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let expected: BTreeSet<String> = match r.access {
            Access::Public => BTreeSet::new(),
            Access::Roles(rs) => rs.iter().map(|r| r.name().to_owned()).collect(),
        };
        assert_eq!(roles, expected, "{} {}", r.method, r.path);
        assert_eq!(
            op["security"] == serde_json::json!([]),
            r.access == Access::Public,
            "{} {}: security must say whether a token is needed",
            r.method,
            r.path
        );
        if r.method == Method::POST && r.writes {
            let params = op["parameters"].as_array().unwrap();
            assert!(
                params
                    .iter()
                    .any(|p| p["$ref"] == "#/components/parameters/IdempotencyKey"),
                "{} {} takes an Idempotency-Key",
                r.method,
                r.path
            );
        }
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert!(
                    response["content"]["application/problem+json"].is_object(),
                    "{} {} {status} is a problem",
                    r.method,
                    r.path
                );
            }
        }
    }
    // Every schema referenced exists.
    let text = doc.to_string();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for part in text.split("#/components/schemas/").skip(1) {
        let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
        assert!(schemas.contains_key(&name), "missing schema {name}");
    }
}

#[tokio::test]
async fn every_documented_path_answers_and_the_served_document_is_this_one() {
    let api = Api::new();
    let doc = openapi::document();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{id}", "1")
            .replace("{seq}", "1")
            .replace("{principal}", "x");
        for method in ops.as_object().unwrap().keys() {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let r = api
                .send(
                    m,
                    &concrete,
                    None,
                    Some("application/json"),
                    Body::from("{}"),
                    None,
                )
                .await;
            assert_ne!(
                r.status,
                StatusCode::NOT_FOUND,
                "{method} {path} is not served"
            );
            assert_ne!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
        }
    }
    let served = api
        .send(
            Method::GET,
            "/v1/openapi.json",
            None,
            None,
            Body::empty(),
            None,
        )
        .await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.json(), doc);
    assert_eq!(doc["openapi"], "3.0.3");
}
