//! The OpenAPI 3.0 document served at `/v1/openapi.json`, written by hand from the table below.
//! A test walks `routes()` and this document and checks that they agree both ways: every route
//! served is documented with the same roles, and every documented operation is served.

use axum::response::Response;
use serde_json::{json, Map, Value};

use super::problem::{EDGE_CODES, PROBLEM_BASE, REJECTION_CODES};
use super::support::ok;

/// One documented operation.
struct Op {
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    /// Roles that may call it; empty for public operations.
    roles: &'static [&'static str],
    /// Request body: a schema name in `components/schemas`, or a media type for raw bodies.
    body: Body,
    /// Success status and the response schema name (or media type).
    ok: (u16, &'static str),
    /// Query parameters: (name, description, required).
    query: &'static [(&'static str, &'static str, bool)],
    /// True for writes that take an Idempotency-Key.
    idempotent: bool,
}

enum Body {
    None,
    Json(&'static str),
    /// JSON, and an empty body is taken as `{}`.
    OptionalJson(&'static str),
    Raw(&'static [&'static str]),
}

const OFFICER: &[&str] = &["officer"];
const READ_PEOPLE: &[&str] = &["officer", "maker", "checker", "auditor"];
const READ_FINANCE: &[&str] = &["maker", "checker", "auditor"];
const READ_ALL: &[&str] = &["officer", "maker", "checker", "auditor", "admin"];
const FILES: &[&str] = &["maker", "checker", "auditor", "bank"];
const PAGE: (&str, &str, bool) = ("limit", "page size (at most page_size_max)", false);

const fn op(
    method: &'static str,
    path: &'static str,
    summary: &'static str,
    roles: &'static [&'static str],
) -> Op {
    Op {
        method,
        path,
        summary,
        roles,
        body: Body::None,
        ok: (200, "Object"),
        query: &[],
        idempotent: false,
    }
}

const fn write(
    path: &'static str,
    summary: &'static str,
    roles: &'static [&'static str],
    body: &'static str,
) -> Op {
    Op {
        method: "post",
        path,
        summary,
        roles,
        body: Body::Json(body),
        ok: (200, "Written"),
        query: &[],
        idempotent: true,
    }
}

fn ops() -> Vec<Op> {
    vec![
        Op { ok: (200, "Object"), ..op("get", "/healthz", "The process is up", &[]) },
        Op { ok: (200, "Object"), ..op("get", "/readyz", "The ledger takes writes (503 once the writer stopped)", &[]) },
        Op { ok: (200, "text/plain"), ..op("get", "/metrics", "Prometheus metrics", &[]) },
        op("get", "/v1/openapi.json", "This document", &[]),
        Op { ok: (201, "Written"), ..write("/v1/beneficiaries", "Enrol a beneficiary (with route and entitlements)", OFFICER, "EnrolBody") },
        Op {
            body: Body::Raw(&["text/csv"]),
            ok: (200, "RosterResult"),
            ..write("/v1/rosters", "Enrol every row of a roster CSV (docs/roster-csv.md; heavy job)", OFFICER, "")
        },
        Op {
            query: &[
                ("citizen_id", "12-digit citizen ID (exact)", false),
                ("name", "words of the name, case and diacritics ignored", false),
                ("commune", "5-digit commune code", false),
                ("after", "the previous page's `next`", false),
                PAGE,
            ],
            ok: (200, "SearchPage"),
            ..op("get", "/v1/beneficiaries", "Search beneficiaries by citizen ID, name and commune", READ_PEOPLE)
        },
        Op {
            ok: (200, "Beneficiary"),
            query: &[("history", "true: include every record that touches the person", false)],
            ..op("get", "/v1/beneficiaries/{id}", "A beneficiary with entitlements (and with ?history=true its records)", READ_PEOPLE)
        },
        write("/v1/beneficiaries/{id}/corrections", "Correct details", OFFICER, "CorrectBody"),
        write("/v1/beneficiaries/{id}/route", "Set the payment route", OFFICER, "SetRouteBody"),
        write("/v1/beneficiaries/{id}/death", "Record a death", OFFICER, "DeathBody"),
        write("/v1/beneficiaries/{id}/hold", "Hold for review (out of batches)", OFFICER, "HoldBody"),
        write("/v1/beneficiaries/{id}/hold/clear", "Clear a review hold", OFFICER, "ClearBody"),
        write("/v1/beneficiaries/{id}/erasure", "Erase personal data (retention ended)", &["officer", "admin"], "EraseBody"),
        Op {
            query: &[("month", "YYYY-MM", true)],
            ..op("get", "/v1/beneficiaries/{id}/due", "What is due for a month, line by line, and the next payment", READ_PEOPLE)
        },
        Op { ok: (201, "Written"), ..write("/v1/beneficiaries/{id}/entitlements", "Grant an entitlement decision", OFFICER, "EntitlementBody") },
        op("get", "/v1/entitlements/{id}", "An entitlement with its changes and paid months", READ_PEOPLE),
        write("/v1/entitlements/{id}/adjustments", "Adjust an entitlement", OFFICER, "AdjustBody"),
        write("/v1/entitlements/{id}/suspensions", "Suspend an entitlement", OFFICER, "SuspendBody"),
        write("/v1/entitlements/{id}/resumptions", "Resume an entitlement", OFFICER, "ResumeBody"),
        write("/v1/entitlements/{id}/terminations", "Terminate an entitlement", OFFICER, "TerminateBody"),
        op("get", "/v1/rate-schedules", "Rate schedules recorded", READ_ALL),
        write("/v1/rate-schedules", "Record a rate schedule from its data file", &["admin"], "ScheduleBody"),
        Op { ok: (201, "Written"), ..write("/v1/batches", "Open a batch", &["maker"], "OpenBody") },
        Op {
            query: &[("programme", "NCC, BTXH or HTXH", false), ("month", "YYYY-MM", false), ("after", "the previous page's `next`", false), PAGE],
            ..op("get", "/v1/batches", "Batches", READ_FINANCE)
        },
        op("get", "/v1/batches/{id}", "A batch with totals, reconciliation and files", READ_FINANCE),
        Op { body: Body::OptionalJson("NoFields"), ..write("/v1/batches/{id}/compute", "Compute the batch (heavy job)", &["maker"], "NoFields") },
        op("get", "/v1/batches/{id}/review", "Control totals, changes since last month with reasons, anomalies", READ_FINANCE),
        write("/v1/batches/{id}/approve", "Approve exactly the reviewed content and totals (not the maker)", &["checker"], "ApproveBody"),
        Op { body: Body::OptionalJson("NoFields"), ok: (200, "Released"), ..write("/v1/batches/{id}/release", "Release and issue payment files (heavy job)", &["checker"], "NoFields") },
        write("/v1/batches/{id}/cancel", "Cancel before release", &["maker", "checker"], "CancelBody"),
        Op { body: Body::OptionalJson("NoFields"), ..write("/v1/batches/{id}/close", "Close a reconciled batch", &["checker"], "NoFields") },
        op("get", "/v1/batches/{id}/reconciliation", "Reconciliation report with breaks", READ_FINANCE),
        op("get", "/v1/batches/{id}/files", "The batch's payment files (a bank sees its own)", FILES),
        Op {
            query: &[("batch", "BATCHn", false), ("open", "only unresolved", false), ("after", "the previous page's `next`", false), PAGE],
            ..op("get", "/v1/breaks", "Reconciliation breaks", READ_FINANCE)
        },
        write("/v1/breaks/{seq}/resolve", "Resolve a break with a note", &["checker"], "ResolveBody"),
        Op {
            query: &[("batch", "BATCHn", false), ("after", "the previous page's `next`", false), PAGE],
            ..op("get", "/v1/files", "Payment files (a bank sees its own)", FILES)
        },
        op("get", "/v1/files/{id}", "A payment file's record", FILES),
        Op {
            ok: (200, "application/octet-stream"),
            ..op("get", "/v1/files/{id}/content", "Download the file's bytes (hash in X-Content-Blake3; the download is recorded, except for auditors)", FILES)
        },
        Op {
            body: Body::Raw(&["application/xml", "text/xml", "text/csv", "application/octet-stream"]),
            ..write("/v1/status-reports", "Upload a bank status report, pain.002.001.10 or CSV (heavy job)", &["checker", "bank"], "")
        },
        Op {
            query: &[("month", "YYYY-MM", false), ("from", "YYYY-MM", false), ("to", "YYYY-MM", false)],
            ..op("get", "/v1/payouts", "Payout totals by programme, scheme, commune and bank, for a month or a range", READ_FINANCE)
        },
        op("get", "/v1/chain", "Chain status: records, head, last verification", READ_ALL),
        Op {
            body: Body::OptionalJson("VerifyBody"),
            idempotent: false,
            ..write("/v1/chain/verify", "Verify the whole chain (heavy job; writes nothing)", &["auditor"], "VerifyBody")
        },
        Op { ok: (200, "application/octet-stream"), ..op("get", "/v1/chain/export", "The chain export, streamed (no personal data)", &["auditor"]) },
        op("get", "/v1/tokens", "Tokens (principals and roles; never the tokens)", &["admin"]),
        Op { ok: (201, "Object"), ..write("/v1/tokens", "Make a token (shown once)", &["admin"], "TokenBody") },
        Op { ok: (204, ""), ..op("delete", "/v1/tokens/{principal}", "Revoke a principal's token", &["admin"]) },
    ]
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn problem_response(desc: &str) -> Value {
    json!({
        "description": desc,
        "content": { "application/problem+json": { "schema": schema_ref("Problem") } }
    })
}

fn content_for(what: &str) -> Value {
    if what.contains('/') {
        json!({ what: { "schema": { "type": "string" } } })
    } else {
        json!({ "application/json": { "schema": schema_ref(what) } })
    }
}

fn operation(o: &Op) -> Value {
    let mut params: Vec<Value> = Vec::new();
    for seg in o.path.split('/') {
        if let Some(name) = seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            params.push(json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }));
        }
    }
    for (name, desc, required) in o.query {
        params.push(json!({ "name": name, "in": "query", "required": required, "description": desc, "schema": { "type": "string" } }));
    }
    if o.idempotent {
        params.push(json!({ "$ref": "#/components/parameters/IdempotencyKey" }));
    }
    let mut responses = Map::new();
    let (status, what) = o.ok;
    let mut success = json!({ "description": "success" });
    if !what.is_empty() {
        success["content"] = content_for(what);
    }
    responses.insert(status.to_string(), success);
    if !o.roles.is_empty() {
        responses.insert(
            "401".into(),
            problem_response("no token or an unknown token"),
        );
        responses.insert("403".into(), problem_response("the role may not do this"));
    }
    if o.path.contains('{') {
        responses.insert("404".into(), problem_response("no such resource"));
    }
    if !matches!(o.body, Body::None) {
        responses.insert("400".into(), problem_response("malformed request"));
        responses.insert(
            "409".into(),
            problem_response(
                "conflict with the ledger, or an Idempotency-Key reused for another request",
            ),
        );
        responses.insert("413".into(), problem_response("body too large"));
        responses.insert("415".into(), problem_response("wrong Content-Type"));
        responses.insert(
            "422".into(),
            problem_response("the body does not fit the schema or the ledger refuses a value"),
        );
    }
    responses.insert(
        "503".into(),
        problem_response("the ledger is unavailable or the request timed out"),
    );
    let mut v = json!({
        "summary": o.summary,
        "operationId": format!("{}{}", o.method, o.path.replace(['/', '{', '}', '-', '.'], "_")),
        "parameters": params,
        "responses": responses,
        "x-roles": o.roles,
    });
    if o.roles.is_empty() {
        v["security"] = json!([]);
    }
    match &o.body {
        Body::None => {}
        Body::Json(s) => v["requestBody"] = json!({ "required": true, "content": content_for(s) }),
        Body::OptionalJson(s) => {
            v["requestBody"] = json!({ "required": false, "content": content_for(s) })
        }
        Body::Raw(types) => {
            let mut c = Map::new();
            for t in *types {
                c.insert(
                    (*t).into(),
                    json!({ "schema": { "type": "string", "format": "binary" } }),
                );
            }
            v["requestBody"] = json!({ "required": true, "content": c });
        }
    }
    v
}

fn s(t: &str) -> Value {
    json!({ "type": t })
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "additionalProperties": false, "required": required, "properties": props })
}

fn schemas() -> Value {
    let month = json!({ "type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$" });
    let date = json!({ "type": "string", "format": "date" });
    let decision = obj(
        &["number", "date", "signer"],
        json!({ "number": s("string"), "date": date, "signer": s("string") }),
    );
    let route = json!({
        "oneOf": [
            obj(&["kind", "bin", "account_number", "holder_name"], json!({
                "kind": { "enum": ["bank"] }, "bin": { "type": "string", "pattern": "^[0-9]{6}$" },
                "account_number": s("string"), "holder_name": s("string") })),
            obj(&["kind", "pay_point"], json!({ "kind": { "enum": ["cash"] }, "pay_point": { "type": "string", "pattern": "^[0-9]{5}$" } })),
        ]
    });
    let entitlement = obj(
        &["programme", "scheme", "kind", "effective_from", "decision"],
        json!({
            "programme": { "enum": ["NCC", "BTXH", "HTXH"] },
            "scheme": s("string"),
            "params": { "type": "array", "items": { "type": "object", "description": "{\"param\": \"injury_rate_pct\", \"value\": 61} and the like" } },
            "kind": { "type": "object", "description": "{\"kind\": \"monthly\"} or {\"kind\": \"one_off\", \"month\": \"YYYY-MM\"}" },
            "effective_from": month,
            "decision": schema_ref("Decision"),
            "payee": { "type": "integer", "description": "beneficiary number of a carer or guardian" },
        }),
    );
    let codes: Vec<Value> = EDGE_CODES
        .iter()
        .chain(REJECTION_CODES)
        .map(|(c, st, d)| json!({ "code": c, "status": st, "description": d }))
        .collect();
    json!({
        "Object": { "type": "object" },
        "Problem": {
            "type": "object",
            "description": "RFC 7807 problem details; `type` ends in a stable code",
            "required": ["type", "title", "status"],
            "properties": {
                "type": { "type": "string", "format": "uri", "example": format!("{PROBLEM_BASE}invalid-body") },
                "title": s("string"), "status": s("integer"), "detail": s("string"),
                "instance": s("string"), "field": s("string"),
            },
            "x-codes": codes,
        },
        "Receipt": { "type": "object", "properties": {
            "first_seq": s("integer"), "last_seq": s("integer"), "count": s("integer"),
            "hash": { "type": "string", "description": "blake3 of the last record appended, hex" } } },
        "Written": { "type": "object", "required": ["receipt", "events"], "properties": {
            "id": { "type": "string", "description": "what the write created (B12, E3, BATCH1)" },
            "receipt": schema_ref("Receipt"),
            "events": { "type": "array", "items": { "type": "object", "properties": { "seq": s("integer"), "hash": s("string"), "event": s("object") } } },
            "events_listed": s("boolean") } },
        "Released": { "type": "object", "properties": { "receipt": schema_ref("Receipt"), "events": s("array"), "files": s("array") } },
        "RosterResult": { "type": "object", "properties": {
            "rows": s("integer"), "enrolled": s("integer"),
            "refused": { "type": "array", "items": { "type": "object", "properties": { "line": s("integer"), "code": s("string"), "detail": s("string") } } },
            "first_seq": s("integer"), "last_seq": s("integer"), "hash": s("string"),
            "warnings": s("integer"), "warnings_shown": { "type": "array", "items": s("string") } } },
        "SearchPage": { "type": "object", "properties": { "items": s("array"), "next": s("string") } },
        "Beneficiary": s("object"),
        "Decision": decision,
        "Route": route,
        "EntitlementBody": entitlement,
        "EnrolBody": obj(&["citizen_id", "full_name", "birth_date", "sex", "commune", "programme"], json!({
            "citizen_id": { "type": "string", "pattern": "^[0-9]{12}$" },
            "full_name": s("string"), "birth_date": date, "sex": { "enum": ["M", "F"] },
            "address_line": s("string"), "commune": { "type": "string", "pattern": "^[0-9]{5}$" },
            "programme": { "enum": ["NCC", "BTXH", "HTXH"] },
            "decision": schema_ref("Decision"), "route": schema_ref("Route"),
            "entitlements": { "type": "array", "items": schema_ref("EntitlementBody") } })),
        "CorrectBody": obj(&["reason"], json!({ "full_name": s("string"), "birth_date": date, "sex": { "enum": ["M", "F"] },
            "address_line": s("string"), "commune": s("string"), "reason": s("string") })),
        "SetRouteBody": obj(&["route"], json!({ "route": schema_ref("Route"), "reason": s("string") })),
        "DeathBody": obj(&["date_of_death"], json!({ "date_of_death": date, "decision": schema_ref("Decision") })),
        "HoldBody": obj(&["note"], json!({ "note": s("string") })),
        "ClearBody": obj(&["decision"], json!({ "decision": schema_ref("Decision"), "note": s("string") })),
        "EraseBody": obj(&["legal_basis"], json!({ "legal_basis": s("string") })),
        "AdjustBody": obj(&["effective_from", "decision"], json!({ "effective_from": month, "scheme": s("string"), "params": s("array"), "decision": schema_ref("Decision") })),
        "SuspendBody": obj(&["from", "reason", "decision"], json!({ "from": month, "reason": { "type": "object", "description": "{\"kind\": \"missing\"}, {\"kind\": \"other\", \"note\": \"...\"}, ..." }, "decision": schema_ref("Decision") })),
        "ResumeBody": obj(&["from", "decision"], json!({ "from": month, "back_pay_from": month, "decision": schema_ref("Decision") })),
        "TerminateBody": obj(&["last_month", "reason", "decision"], json!({ "last_month": month, "reason": { "type": "object", "description": "{\"kind\": \"death\", \"date\": \"YYYY-MM-DD\"}, {\"kind\": \"lost_eligibility\"}, ..." }, "decision": schema_ref("Decision") })),
        "ScheduleBody": obj(&["file_name", "content"], json!({ "file_name": s("string"), "content": s("string") })),
        "OpenBody": obj(&["programme", "month", "funding_account"], json!({ "programme": { "enum": ["NCC", "BTXH", "HTXH"] }, "month": month, "funding_account": s("string"), "supplementary_of": s("string") })),
        "NoFields": obj(&[], json!({})),
        "ApproveBody": obj(&["content_hash", "totals"], json!({
            "content_hash": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
            "totals": obj(&["count", "sum"], json!({ "count": { "type": "integer", "minimum": 0 }, "sum": { "type": "integer", "minimum": 0, "description": "whole VND" } })) })),
        "CancelBody": obj(&["reason"], json!({ "reason": s("string") })),
        "ResolveBody": obj(&["note"], json!({ "note": s("string") })),
        "VerifyBody": obj(&[], json!({ "expect_head": { "type": "string", "description": "SEQ:HASH" } })),
        "TokenBody": obj(&["role"], json!({ "role": { "enum": ["officer", "maker", "checker", "auditor", "bank", "admin"] }, "name": s("string"), "bin": s("string") })),
    })
}

/// The whole document.
pub fn document() -> Value {
    let mut paths = Map::new();
    for o in ops() {
        let entry = paths.entry(o.path.to_owned()).or_insert_with(|| json!({}));
        entry[o.method] = operation(&o);
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "chitra",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Tamper-evident ledger for monthly social-benefit payments. Every write accepts an Idempotency-Key and returns a receipt (sequence numbers and hash). Errors are RFC 7807 problems whose type ends in a stable code (see Problem.x-codes).",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "parameters": { "IdempotencyKey": {
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "1-128 visible ASCII bytes; the same key and body returns the original response and appends nothing; the same key with another body is a 409",
                "schema": { "type": "string" } } },
            "schemas": schemas(),
        },
    })
}

pub async fn serve() -> Response {
    ok(document())
}
