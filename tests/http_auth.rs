//! The authorisation matrix: every route × every role, no token and a wrong token. Forbidden
//! and unauthenticated requests get 403 and 401 problems and append nothing; allowed ones are
//! never refused for access. Banks see only their own files (another bank's is a 404).

mod common;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::{routes, Access, Role};
use common::http::{paid_month, token, token_of, Api, Paid};

fn concrete(path: &str, paid: &Paid) -> String {
    let id = if path.starts_with("/v1/beneficiaries/") {
        paid.beneficiary.as_str()
    } else if path.starts_with("/v1/entitlements/") {
        paid.entitlement.as_str()
    } else if path.starts_with("/v1/batches/") {
        paid.batch.as_str()
    } else if path.starts_with("/v1/files/") {
        paid.file_bank.as_str()
    } else {
        "x"
    };
    path.replace("{id}", id)
        .replace("{seq}", "999999")
        .replace("{principal}", "nobody:none")
}

#[derive(Debug, Clone, Copy)]
enum Caller {
    NoToken,
    WrongToken,
    NotBearer,
    Role(Role),
}

#[tokio::test]
async fn every_route_against_every_role_no_token_and_a_wrong_token() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let mut callers = vec![Caller::NoToken, Caller::WrongToken, Caller::NotBearer];
    callers.extend(Role::ALL.map(Caller::Role));
    let mut checked = 0;
    let mut table = String::new();
    for route in routes() {
        let path = concrete(route.path, &paid);
        let mut row = format!("{:<6} {:<40}", route.method.as_str(), route.path);
        for caller in &callers {
            let auth = match caller {
                Caller::NoToken => None,
                Caller::WrongToken => Some("Bearer chitra_not-a-token".to_owned()),
                Caller::NotBearer => Some(format!("Basic {}", token(Role::Admin))),
                Caller::Role(r) => Some(format!("Bearer {}", token(*r))),
            };
            let (content_type, body) =
                if route.path == "/v1/status-reports" || route.path == "/v1/rosters" {
                    ("text/csv", Body::from("not,a,report\n"))
                } else if route.method == Method::POST {
                    ("application/json", Body::from("{}"))
                } else {
                    ("application/json", Body::empty())
                };
            let mut req = axum::http::Request::builder()
                .method(route.method.clone())
                .uri(&path);
            if let Some(a) = &auth {
                req = req.header("authorization", a);
            }
            if route.method == Method::POST {
                req = req.header("content-type", content_type);
            }
            let before = api.records();
            let r = api.request(req.body(body).unwrap()).await;
            let after = api.records();
            let what = format!(
                "{} {path} as {caller:?}: {} {}",
                route.method,
                r.status,
                r.text()
            );
            match (route.access, caller) {
                (Access::Public, _) => {
                    assert!(r.status.is_success(), "{what}");
                }
                (_, Caller::NoToken | Caller::WrongToken | Caller::NotBearer) => {
                    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{what}");
                    assert_eq!(r.code(), "unauthenticated", "{what}");
                    assert!(r.headers.contains_key("www-authenticate"), "{what}");
                    assert_eq!(before, after, "an unauthenticated request appended: {what}");
                }
                (access, Caller::Role(role)) if !access.allows(*role) => {
                    assert_eq!(r.status, StatusCode::FORBIDDEN, "{what}");
                    assert_eq!(r.code(), "forbidden", "{what}");
                    assert_eq!(before, after, "a forbidden request appended: {what}");
                }
                (_, Caller::Role(_)) => {
                    assert_ne!(r.status, StatusCode::UNAUTHORIZED, "{what}");
                    assert_ne!(r.code(), "forbidden", "{what}");
                    assert!(
                        r.status.is_success() || r.status.is_client_error(),
                        "{what}"
                    );
                }
            }
            row.push_str(&format!(" {}", r.status.as_u16()));
            checked += 1;
        }
        table.push_str(&row);
        table.push('\n');
    }
    println!("{table}");
    assert_eq!(checked, routes().len() * callers.len());
}

#[tokio::test]
async fn a_bank_sees_only_its_own_files() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let bank = Some(token(Role::Bank));
    let other = Some(token_of("bank:970418"));
    let get = |path: String, tok: Option<&'static str>| {
        let api = &api;
        async move {
            api.send(Method::GET, &path, tok, None, Body::empty(), None)
                .await
        }
    };
    // Its own file: metadata and content.
    let own = get(format!("/v1/files/{}", paid.file_bank), bank).await;
    assert_eq!(own.status, StatusCode::OK);
    // Another bank's file is indistinguishable from no file at all.
    for path in [
        format!("/v1/files/{}", paid.file_bank2),
        format!("/v1/files/{}/content", paid.file_bank2),
        "/v1/files/F999".to_owned(),
        "/v1/files/F999/content".to_owned(),
    ] {
        let before = api.records();
        let r = get(path.clone(), bank).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}: {}", r.text());
        assert_eq!(r.code(), "not-found");
        assert_eq!(api.records(), before, "{path}");
    }
    let not_there = get("/v1/files/F999".into(), bank).await;
    let theirs = get(format!("/v1/files/{}", paid.file_bank2), bank).await;
    assert_eq!(
        not_there.json()["detail"]
            .as_str()
            .unwrap()
            .replace("F999", "?"),
        theirs.json()["detail"]
            .as_str()
            .unwrap()
            .replace(&paid.file_bank2, "?"),
        "the same words for a missing file and another bank's"
    );
    // Listings are filtered.
    let mine = get("/v1/files".into(), bank).await.json();
    let theirs = get("/v1/files".into(), other).await.json();
    assert!(mine["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["channel"]["bin"] == "970436"));
    assert!(theirs["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["channel"]["bin"] == "970418"));
    let of_batch = get(format!("/v1/batches/{}/files", paid.batch), bank)
        .await
        .json();
    assert_eq!(
        of_batch["items"].as_array().unwrap().len(),
        2,
        "pain.001 and CSV: {of_batch}"
    );
    // The download is recorded with the bank as principal; an auditor's is not recorded.
    let before = api.records();
    let r = get(format!("/v1/files/{}/content", paid.file_bank), bank).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(api.records(), before + 1);
    let last = api
        .ledger
        .records(before, before + 1)
        .next()
        .unwrap()
        .unwrap();
    let view = chitra::chain::record::parse_record(&last.bytes).unwrap();
    assert_eq!(view.header.principal, "bank:970436");
    let r = get(
        format!("/v1/files/{}/content", paid.file_bank2),
        Some(token(Role::Auditor)),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(api.records(), before + 1, "an auditor writes nothing");
}

#[tokio::test]
async fn every_event_records_its_principal() {
    let api = Api::new();
    paid_month(&api).await;
    let principals: std::collections::BTreeSet<String> = api
        .ledger
        .records(0, api.records())
        .map(|r| {
            let r = r.unwrap();
            chitra::chain::record::parse_record(&r.bytes)
                .unwrap()
                .header
                .principal
                .to_owned()
        })
        .collect();
    for p in ["officer:lan", "maker:hoa", "checker:tuan", "admin:thu"] {
        assert!(principals.contains(p), "{p} in {principals:?}");
    }
}
