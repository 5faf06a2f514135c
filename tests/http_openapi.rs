//! The OpenAPI document agrees with what is served, both ways: every route the router serves
//! is documented with the same roles, every documented operation is served (it answers, in
//! process, with something other than 404 or 405), and the document is what `/v1/openapi.json`
//! returns. Every operation's bodies are named component schemas, and what the API really
//! answers validates against them.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::{openapi, routes, Access, Role};
use common::http::{paid_month, Api};
use serde_json::{json, Value};

/// Operations whose request body is not JSON and so has no component schema: the roster CSV.
const RAW_REQUEST: &[(&str, &str)] = &[("post", "/v1/rosters"), ("post", "/v1/identity-checks")];

/// Operations whose success body is not a named JSON schema: the document itself (free-form)
/// and the Prometheus text.
const FREE_RESPONSE: &[(&str, &str)] = &[("get", "/v1/openapi.json"), ("get", "/metrics")];

/// Every (method, path, operation) of the document.
fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, ops)| {
            ops.as_object()
                .unwrap()
                .iter()
                .map(move |(m, op)| (m.clone(), path.clone(), op))
        })
        .collect()
}

#[test]
fn every_route_is_documented_and_every_documented_operation_is_a_route() {
    let doc = openapi::document();
    let paths = doc["paths"].as_object().unwrap();
    let documented: BTreeSet<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(m, p, _)| (m.to_uppercase(), p))
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

    let mut ids = BTreeSet::new();
    for r in routes() {
        let op = &paths[r.path][r.method.as_str().to_lowercase()];
        let what = format!("{} {}", r.method, r.path);
        assert!(
            ids.insert(op["operationId"].as_str().unwrap().to_owned()),
            "{what}: operationId is unique"
        );
        assert!(
            op["summary"].as_str().is_some_and(|s| !s.is_empty()),
            "{what}"
        );
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
        assert_eq!(roles, expected, "{what}");
        assert_eq!(
            op["security"] == json!([]),
            r.access == Access::Public,
            "{what}: security must say whether a token is needed"
        );
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for p in &params {
            assert!(
                p["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{what}: parameter {} says what it is",
                p["name"]
            );
        }
        if r.method == Method::POST && r.writes {
            assert!(
                params
                    .iter()
                    .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header"),
                "{what} takes an Idempotency-Key"
            );
        }
        for seg in r.path.split('/') {
            if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                assert!(
                    params
                        .iter()
                        .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true),
                    "{what} documents its path parameter {name}"
                );
            }
        }
        let responses = op["responses"].as_object().unwrap();
        if op["requestBody"].is_object() {
            for status in ["400", "413", "415", "422"] {
                assert!(responses.contains_key(status), "{what} documents {status}");
            }
        }
        if r.access != Access::Public {
            assert!(
                responses.contains_key("401") && responses.contains_key("403"),
                "{what}"
            );
        }
        if r.job {
            assert!(responses.contains_key("429"), "{what}");
        }
        for (status, response) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{what} {status} is a problem"
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
    // The problem codes are listed, with the security scheme they fall back to.
    let codes = doc["components"]["schemas"]["Problem"]["x-codes"]
        .as_array()
        .unwrap();
    assert!(codes.iter().any(|c| c["code"] == "idempotency-conflict"));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"],
        json!({ "type": "http", "scheme": "bearer" })
    );
}

/// A component schema that says nothing about its members (`{"type": "object"}`).
fn is_bare_object(schema: &Value) -> bool {
    let composed = [
        "properties",
        "oneOf",
        "anyOf",
        "allOf",
        "enum",
        "prefixItems",
    ]
    .iter()
    .any(|k| schema.get(k).is_some());
    schema["type"] == "object" && !composed && schema["additionalProperties"] != false
}

/// The component a media type's schema names, if it names one.
fn component<'d>(doc: &'d Value, media: &Value) -> Option<(&'d str, &'d Value)> {
    let name = media["schema"]["$ref"]
        .as_str()?
        .strip_prefix("#/components/schemas/")?;
    let (name, schema) = doc["components"]["schemas"]
        .as_object()?
        .get_key_value(name)?;
    Some((name.as_str(), schema))
}

#[test]
fn every_request_and_success_body_is_a_named_schema_that_says_what_it_holds() {
    let doc = openapi::document();
    let mut checked = 0;
    for (method, path, op) in operations(&doc) {
        let what = format!("{method} {path}");
        let listed = |list: &[(&str, &str)]| list.contains(&(method.as_str(), path.as_str()));
        if let Some(content) = op["requestBody"]["content"].as_object() {
            assert!(!content.is_empty(), "{what}: a request body has content");
            for (media_type, media) in content {
                if listed(RAW_REQUEST) {
                    continue;
                }
                let (name, schema) = component(&doc, media)
                    .unwrap_or_else(|| panic!("{what} {media_type}: not a component: {media}"));
                assert!(!is_bare_object(schema), "{what}: {name} is a bare object");
                checked += 1;
            }
        }
        let responses = op["responses"].as_object().unwrap();
        let successes: Vec<_> = responses
            .iter()
            .filter(|(status, _)| status.starts_with('2'))
            .collect();
        assert!(!successes.is_empty(), "{what} documents its success");
        for (status, response) in successes {
            let Some(content) = response["content"].as_object() else {
                assert_eq!(status, "204", "{what}: only a 204 has no body");
                continue;
            };
            for (media_type, media) in content {
                if listed(FREE_RESPONSE) {
                    continue;
                }
                let (name, schema) = component(&doc, media).unwrap_or_else(|| {
                    panic!("{what} {status} {media_type}: not a component: {media}")
                });
                assert!(!is_bare_object(schema), "{what} {status}: {name} is bare");
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "{checked} bodies checked");
    // The exceptions are real operations, so that a stale entry is noticed.
    for (method, path) in RAW_REQUEST.iter().chain(FREE_RESPONSE) {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
}

#[tokio::test]
async fn every_documented_path_answers_and_the_served_document_is_this_one() {
    let api = Api::new();
    let doc = openapi::document();
    for (method, path, _) in operations(&doc) {
        let concrete = path
            .replace("{id}", "1")
            .replace("{seq}", "1")
            .replace("{principal}", "x");
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
    assert_eq!(doc["openapi"], "3.1.0");
}

/// The components with every object closed: a member the schema does not name is an error, so
/// that a field added to a response without its schema fails validation. An object that is a
/// part of an `allOf` stays open (the tag of an event lives in the other part); the `allOf`
/// itself is closed with `unevaluatedProperties`.
fn closed(components: &Value) -> Value {
    fn in_all_of(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                if let Some(parts) = m.get("allOf").and_then(Value::as_array) {
                    for p in parts {
                        if let Some(r) = p["$ref"].as_str() {
                            out.insert(r.rsplit('/').next().unwrap().to_owned());
                        }
                    }
                }
                m.values().for_each(|v| in_all_of(v, out));
            }
            Value::Array(a) => a.iter().for_each(|v| in_all_of(v, out)),
            _ => {}
        }
    }
    /// Closes `v` (unless it is a part of an `allOf`) and every object inside it.
    fn close(v: &mut Value, part: bool) {
        match v {
            Value::Object(m) => {
                if !part && m.contains_key("properties") && !m.contains_key("additionalProperties")
                {
                    m.insert("additionalProperties".into(), Value::Bool(false));
                }
                if let Some(parts) = m.get_mut("allOf").and_then(Value::as_array_mut) {
                    parts.iter_mut().for_each(|p| close(p, true));
                    m.insert("unevaluatedProperties".into(), Value::Bool(false));
                }
                for (k, v) in m.iter_mut() {
                    if k != "allOf" {
                        close(v, false);
                    }
                }
            }
            Value::Array(a) => a.iter_mut().for_each(|v| close(v, false)),
            _ => {}
        }
    }
    let mut open = BTreeSet::new();
    in_all_of(components, &mut open);
    let mut out = components.clone();
    for (name, schema) in out["schemas"].as_object_mut().unwrap() {
        close(schema, open.contains(name));
    }
    out
}

/// Checks answers against the document's schemas, and counts what it checked by operation.
struct Checker {
    doc: Value,
    components: Value,
    checked: BTreeMap<String, usize>,
}

impl Checker {
    fn new() -> Checker {
        let doc = openapi::document();
        let components = closed(&doc["components"]);
        Checker {
            doc,
            components,
            checked: BTreeMap::new(),
        }
    }

    /// `body` is a valid answer of `method path` with its status.
    fn check(&mut self, method: &str, path: &str, status: StatusCode, body: &Value) {
        let what = format!("{method} {path} {status}");
        let response = &self.doc["paths"][path][method]["responses"][status.as_str()];
        assert!(response.is_object(), "{what} is not documented");
        let media = if status.is_success() {
            "application/json"
        } else {
            "application/problem+json"
        };
        let schema = &response["content"][media]["schema"];
        assert!(schema.is_object(), "{what} documents no {media}");
        let mut root = schema.clone();
        root["$schema"] = json!("https://json-schema.org/draft/2020-12/schema");
        root["components"] = self.components.clone();
        let validator = jsonschema::draft202012::new(&root).expect("a valid schema");
        let errors: Vec<String> = validator
            .iter_errors(body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{what}: the answer does not fit its schema:\n{}\n{body:#}",
            errors.join("\n")
        );
        *self.checked.entry(format!("{method} {path}")).or_default() += 1;
    }
}

/// A payment file's bytes, as a bank downloads them.
async fn download(api: &Api, file: &str, role: Role) -> Vec<u8> {
    let r = api.get(&format!("/v1/files/{file}/content"), role).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.body.to_vec()
}

/// A bank's pain.002 about one of its files, every line decided by `outcome`.
fn status_report(
    pain001: &[u8],
    message_id: &str,
    mut edit: impl FnMut(&mut Vec<chitra::formats::bank::SimulatedLine>),
) -> Vec<u8> {
    use chitra::formats::bank::{simulate_for_pain001, simulate_pain002, IsoDateTime, Outcome};
    let created = IsoDateTime::parse("2024-06-05T10:00:00+07:00").unwrap();
    let (report, mut lines) =
        simulate_for_pain001(pain001, message_id, created, |_| Outcome::Settled).unwrap();
    edit(&mut lines);
    simulate_pain002(&report, &lines)
}

#[tokio::test]
async fn real_answers_validate_against_their_documented_schemas() {
    use chitra::formats::bank::Outcome;
    let api = Api::new();
    let paid = paid_month(&api).await;
    let mut checker = Checker::new();

    // Writes that append a variety of events: a suspension and a resumption of an entitlement,
    // a hold, a correction, and two status reports (one with a returned payment, one with an
    // amount the bank changed, which is a reconciliation break).
    let e = &paid.entitlement;
    let writes = [
        (
            format!("/v1/entitlements/{e}/suspensions"),
            "/v1/entitlements/{id}/suspensions",
            json!({ "from": "2024-08", "reason": { "kind": "other", "note": "moved away" }, "decision": common::http::decision() }),
        ),
        (
            format!("/v1/entitlements/{e}/resumptions"),
            "/v1/entitlements/{id}/resumptions",
            json!({ "from": "2024-10", "back_pay_from": "2024-08", "decision": common::http::decision() }),
        ),
        (
            format!("/v1/beneficiaries/{}/corrections", paid.beneficiary),
            "/v1/beneficiaries/{id}/corrections",
            json!({ "full_name": "Nguyễn Thị Thu", "reason": "typo in the roster" }),
        ),
        (
            format!("/v1/beneficiaries/{}/hold", paid.beneficiary),
            "/v1/beneficiaries/{id}/hold",
            json!({ "note": "a letter came back" }),
        ),
    ];
    for (url, path, body) in writes {
        let r = api.post(&url, Role::Officer, body).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text());
        checker.check("post", path, r.status, &r.json());
    }
    let bank = download(&api, &paid.file_bank, Role::Bank).await;
    let returned = status_report(&bank, "STS-1", |lines| {
        lines[0].outcome = Outcome::Rejected {
            reason_code: "AC04".into(),
        }
    });
    let bank2 = download(&api, &paid.file_bank2, Role::Checker).await;
    let changed = status_report(&bank2, "STS-2", |lines| {
        lines[0].amount = chitra::domain::types::Vnd(lines[0].amount.0 + 1000)
    });
    for (report, token) in [
        (returned, common::http::token(Role::Bank)),
        (changed, common::http::token(Role::Checker)),
    ] {
        let r = api
            .send(
                Method::POST,
                "/v1/status-reports",
                Some(token),
                Some("application/xml"),
                report,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        checker.check("post", "/v1/status-reports", r.status, &r.json());
    }
    let r = api
        .post(
            "/v1/tokens",
            Role::Admin,
            json!({ "role": "maker", "name": "an" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    checker.check("post", "/v1/tokens", r.status, &r.json());
    let r = api.post("/v1/chain/verify", Role::Auditor, json!({})).await;
    checker.check("post", "/v1/chain/verify", r.status, &r.json());

    // A receipt needs the ledger's checkpoint key (issue 11).
    chitra::ledger::keys::init(api.path(), "chitra.example/openapi").unwrap();
    // Every documented JSON read, with the ids made above, as a role allowed to call it.
    let breaks = api.get("/v1/breaks", Role::Checker).await.json();
    let break_seq = breaks["items"][0]["seq"].as_u64().expect("a break");
    let doc = openapi::document();
    for (method, path, op) in operations(&doc) {
        if method != "get" || op["responses"]["200"]["content"]["application/json"].is_null() {
            continue;
        }
        let role = op["x-roles"]
            .as_array()
            .unwrap()
            .first()
            .map(|r| Role::parse(r.as_str().unwrap()).unwrap());
        let id = if path.starts_with("/v1/beneficiaries") {
            &paid.beneficiary
        } else if path.starts_with("/v1/entitlements") {
            &paid.entitlement
        } else if path.starts_with("/v1/files") {
            &paid.file_bank
        } else if path.starts_with("/v1/payments") {
            &"P1".to_owned()
        } else {
            &paid.batch
        };
        let mut urls = vec![path
            .replace("{id}", id)
            .replace("{seq}", &break_seq.to_string())];
        match path.as_str() {
            "/v1/beneficiaries" => urls = vec!["/v1/beneficiaries?name=nguyen".into()],
            "/v1/beneficiaries/{id}" => urls.push(format!("{}?history=true", urls[0])),
            "/v1/beneficiaries/{id}/due" => urls = vec![format!("{}?month=2024-10", urls[0])],
            "/v1/payouts" => urls = vec!["/v1/payouts?from=2024-01&to=2024-12".into()],
            "/v1/proofs/consistency" => urls = vec!["/v1/proofs/consistency?old=1".into()],
            _ => {}
        }
        for url in urls {
            let r = match role {
                Some(role) => api.get(&url, role).await,
                None => {
                    api.send(Method::GET, &url, None, None, Body::empty(), None)
                        .await
                }
            };
            assert_eq!(r.status, StatusCode::OK, "{url}: {}", r.text());
            checker.check("get", &path, r.status, &r.json());
        }
    }

    // Problems fit the Problem schema.
    let r = api.get("/v1/batches/BATCH99", Role::Maker).await;
    checker.check("get", "/v1/batches/{id}", r.status, &r.json());
    let r = api
        .post("/v1/batches", Role::Maker, json!({ "month": 1 }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    checker.check("post", "/v1/batches", r.status, &r.json());

    // What was checked: every JSON read, and the answers above with events of many kinds.
    let events: BTreeSet<String> = {
        let history = api
            .get(
                &format!("/v1/beneficiaries/{}?history=true", paid.beneficiary),
                Role::Auditor,
            )
            .await
            .json();
        history["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["event"]["type"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(events.len() >= 5, "{events:?}");
    let reads = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .filter(|ops| ops["get"]["responses"]["200"]["content"]["application/json"].is_object())
        .count();
    let checked_reads = checker
        .checked
        .keys()
        .filter(|k| k.starts_with("get "))
        .count();
    assert_eq!(checked_reads, reads, "{:?}", checker.checked);
}

/// The validation itself can fail: an answer with a member its schema does not name, or
/// without a required one, is refused.
#[test]
fn the_schema_check_refuses_an_answer_that_does_not_fit() {
    let mut checker = Checker::new();
    let ok = json!({ "status": "ok" });
    checker.check("get", "/healthz", StatusCode::OK, &ok);
    for bad in [
        json!({ "status": "ok", "extra": 1 }),
        json!({}),
        json!({ "status": 1 }),
    ] {
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            checker.check("get", "/healthz", StatusCode::OK, &bad)
        }));
        assert!(result.is_err(), "{bad} was accepted");
    }
}
