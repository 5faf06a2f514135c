//! The dashboard's routes in-process (no browser): signing in exchanges a token for a session
//! cookie with the right flags, every form is refused without its CSRF token and changes
//! nothing, pages follow the API's role table, signing out ends the session, and unknown paths
//! answer a page for browsers and the JSON problem for API clients.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::http::{bank_route, computed_batch, enrol_body, Api, Resp};

/// A browser's session against the in-process app: its cookie and the CSRF token its pages carry.
struct Browser {
    cookie: String,
    csrf: String,
}

/// The value of `name="NAME" value="..."` in a page.
fn hidden(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\" value=\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_owned()
}

fn set_cookies(r: &Resp) -> Vec<String> {
    r.headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

async fn get(api: &Api, path: &str, cookie: Option<&str>) -> Resp {
    let mut req = Request::builder()
        .uri(path)
        .header(header::ACCEPT, "text/html");
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    api.request(req.body(Body::empty()).unwrap()).await
}

async fn post_form(api: &Api, path: &str, cookie: &str, form: &str) -> Resp {
    let req = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header(header::COOKIE, cookie)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap();
    api.request(req).await
}

/// Signs in with `token` as a browser would (sign-in page, then its form): the session.
async fn sign_in(api: &Api, token: &str, tls: bool) -> (Resp, Option<Browser>) {
    let page = get(api, "/sign-in", None).await;
    assert_eq!(page.status, StatusCode::OK);
    let pre = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("chitra_pre="))
        .expect("the sign-in page sets its form's cookie");
    let pre = pre.split(';').next().unwrap().to_owned();
    let csrf = hidden(&page.text(), "csrf");
    let mut req = Request::builder()
        .method(Method::POST)
        .uri("/sign-in")
        .header(header::COOKIE, &pre)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if tls {
        req = req.header("x-forwarded-proto", "https");
    }
    let r = api
        .request(
            req.body(Body::from(format!("token={token}&csrf={csrf}")))
                .unwrap(),
        )
        .await;
    let session = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("chitra_session=") && !c.contains("Max-Age=0"));
    let Some(session) = session else {
        return (r, None);
    };
    let cookie = session.split(';').next().unwrap().to_owned();
    let home = get(api, "/batches", Some(&cookie)).await;
    let csrf = hidden(&home.text(), "csrf");
    (r, Some(Browser { cookie, csrf }))
}

#[tokio::test]
async fn signing_in_gives_an_http_only_strict_cookie_secure_over_tls() {
    let api = Api::new();
    let (r, b) = sign_in(&api, "tok-maker", false).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("chitra_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let b = b.unwrap();
    // Each page says who is signed in and in which role.
    let page = get(&api, "/batches", Some(&b.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    assert!(html.contains("data-principal=\"maker:hoa\""), "{html}");
    assert!(html.contains("data-role=\"maker\""), "{html}");
    assert_eq!(
        page.headers[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert!(page.headers[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    // Vietnamese by default.
    assert!(html.contains("<html lang=\"vi\""), "{html}");

    let (r, _) = sign_in(&api, "tok-checker", true).await;
    let cookie = set_cookies(&r)
        .into_iter()
        .find(|c| c.starts_with("chitra_session="))
        .unwrap();
    assert!(cookie.contains("; Secure"), "over TLS: {cookie}");
}

#[tokio::test]
async fn a_wrong_token_or_a_forged_sign_in_form_signs_nobody_in() {
    let api = Api::new();
    let (r, b) = sign_in(&api, "tok-nobody", false).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(b.is_none());
    // The form posted from elsewhere: no pre-session cookie.
    let r = api
        .request(
            Request::builder()
                .method(Method::POST)
                .uri("/sign-in")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("token=tok-maker&csrf=abc"))
                .unwrap(),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(set_cookies(&r)
        .iter()
        .all(|c| !c.starts_with("chitra_session=")));
    // Pages without a session send the browser to the sign-in page.
    let r = get(&api, "/batches", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/sign-in");
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let api = Api::new();
    let (_, b) = sign_in(&api, "tok-maker", false).await;
    let b = b.unwrap();
    let before = api.records();
    let form = "programme=BTXH&month=2024-06&funding_account=3761000000002";
    let r = post_form(&api, "/batches", &b.cookie, form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("CSRF"), "{}", r.text());
    let first = if b.csrf.starts_with('0') { '1' } else { '0' };
    let forged = format!("{form}&csrf={first}{}", &b.csrf[1..]);
    let r = post_form(&api, "/batches", &b.cookie, &forged).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(api.records(), before, "nothing appended");
    // With it, the same form opens the batch.
    let r = post_form(
        &api,
        "/batches",
        &b.cookie,
        &format!("{form}&csrf={}", b.csrf),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers[header::LOCATION], "/batches/BATCH1");
    assert!(api.records() > before);
}

#[tokio::test]
async fn pages_follow_the_api_role_table_and_the_ledger_refuses_the_makers_approval() {
    let api = Api::new();
    api.enrol(enrol_body(
        "001185000001",
        bank_route("970436", "1500200000001"),
    ))
    .await;
    let (batch, view) = computed_batch(&api).await;
    // A bank may not read batches (as GET /v1/batches/{id}/review refuses it).
    let (_, bank) = sign_in(&api, "tok-bank", false).await;
    let bank = bank.unwrap();
    let r = get(&api, &format!("/batches/{batch}"), Some(&bank.cookie)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The checker sees the review with the approve button bound to the content hash.
    let (_, checker) = sign_in(&api, "tok-checker", false).await;
    let checker = checker.unwrap();
    let r = get(&api, &format!("/batches/{batch}"), Some(&checker.cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    let hash = view["content_hash"].as_str().unwrap();
    assert_eq!(hidden(&html, "content_hash"), hash);
    // The maker's own checker token (the same person) is refused by the ledger's four eyes.
    let (_, own) = sign_in(&api, "tok-checker-hoa", false).await;
    let own = own.unwrap();
    let before = api.records();
    let form = format!(
        "csrf={}&content_hash={hash}&count={}&sum={}",
        own.csrf, view["totals"]["count"], view["totals"]["sum"]
    );
    let r = post_form(
        &api,
        &format!("/batches/{batch}/approve"),
        &own.cookie,
        &form,
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(r.text().contains("id=\"message\""), "{}", r.text());
    assert_eq!(api.records(), before);
    // A different person approves it.
    let form = format!(
        "csrf={}&content_hash={hash}&count={}&sum={}",
        checker.csrf, view["totals"]["count"], view["totals"]["sum"]
    );
    let r = post_form(
        &api,
        &format!("/batches/{batch}/approve"),
        &checker.cookie,
        &form,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("id=\"approved-by\">checker:tuan<"),
        "{}",
        r.text()
    );
}

/// The auditors' page lists the newest checkpoints, with their size, time and the witnesses
/// that cosigned each (`GET /v1/proofs/checkpoints`, `docs/proofs.md` §7.1).
#[tokio::test]
async fn the_audit_page_lists_checkpoints_and_the_witnesses_that_cosigned_them() {
    use chitra::chain::cosign::{split_note, Cosigner};
    const WITNESS: &str = "kbnn.example/w1";
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = common::fixtures::schedules()
        .into_iter()
        .map(|s| s.schedule)
        .collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    std::thread::scope(|s| {
        s.spawn(|| common::enact(&common::open(dir.path()), &ids))
            .join()
            .unwrap()
    });
    // With a key, the writer signs a checkpoint when the month's batch is released.
    chitra::ledger::keys::init(dir.path(), "treasury.example/chitra-01").unwrap();
    let witness = Cosigner::new(WITNESS, &[5; 32]).unwrap();
    let mut settings = common::fixtures::settings();
    settings
        .witnesses
        .insert(WITNESS.to_owned(), witness.verifier());
    let ledger = common::open(dir.path());
    let api = Api {
        app: chitra::http::app(chitra::http::AppState::new(
            ledger.clone(),
            common::http::tokens(),
            chitra::http::Limits::default(),
            settings.clone(),
        )),
        ledger,
        dir,
    };
    common::http::paid_month(&api).await;
    let (_, b) = sign_in(&api, "tok-auditor", false).await;
    let b = b.unwrap();
    let listed = api
        .get("/v1/proofs/checkpoints", chitra::http::Role::Auditor)
        .await
        .json();
    let first = &listed["checkpoints"][0];
    let size = first["size"].as_u64().unwrap();
    assert!(first["seq"].is_u64(), "recorded by the writer: {listed}");
    assert!(first["recorded_unix_ms"].is_i64(), "{listed}");
    assert_eq!(first["witnesses"], serde_json::json!([]));
    let page = get(&api, "/audit", Some(&b.cookie)).await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    let row = |html: &str| -> String {
        let table = &html[html
            .find("id=\"checkpoints\"")
            .expect("the checkpoints table")..];
        let at = table
            .find(&format!("<td class=\"num\">{size}</td>"))
            .unwrap_or_else(|| panic!("no row of {size} records in {table}"));
        table[at..at + table[at..].find("</tr>").unwrap()].to_owned()
    };
    let r = row(&html);
    assert!(r.contains("chưa có bên chứng kiến nào"), "{r}");
    assert!(r.contains("/2026 "), "the time it was recorded: {r}");

    // The witness cosigns that checkpoint and the ledger keeps it: the row names the witness.
    let (seq, recorded) = std::thread::scope(|s| {
        s.spawn(|| {
            api.ledger
                .read(|st| st.checkpoints().last().cloned())
                .unwrap()
                .unwrap()
        })
        .join()
        .unwrap()
    });
    assert_eq!(seq, first["seq"].as_u64().unwrap());
    let note = chitra::ledger::checkpoints::recorded_note(&recorded);
    let (text, _) = split_note(&note).unwrap();
    let cosigned = format!("{note}{}", witness.cosign(text, 1_720_000_000));
    chitra::app::witness::attach(api.path(), &settings, &cosigned).unwrap();
    let listed = api
        .get("/v1/proofs/checkpoints", chitra::http::Role::Auditor)
        .await
        .json();
    assert_eq!(
        listed["checkpoints"][0]["witnesses"],
        serde_json::json!([WITNESS])
    );
    assert_eq!(
        listed["checkpoints"][0]["cosigned_unix_ms"],
        1_720_000_000_000i64
    );
    let html = get(&api, "/audit", Some(&b.cookie)).await.text();
    let r = row(&html);
    assert!(r.contains(WITNESS), "{r}");
    assert!(html.contains("<tr class=\"cosigned\">"), "{html}");
    // A limit out of range is refused.
    let r = api
        .get(
            "/v1/proofs/checkpoints?limit=0",
            chitra::http::Role::Auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // A verification from the page checks every recorded checkpoint, with the data directory's
    // key, as `chitra verify` does.
    let recorded = std::thread::scope(|s| {
        s.spawn(|| api.ledger.read(|st| st.checkpoints().len()).unwrap())
            .join()
            .unwrap()
    });
    assert!(recorded > 0);
    let r = post_form(
        &api,
        "/audit/verify",
        &b.cookie,
        &format!("csrf={}", b.csrf),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let html = verification_done(&api, &b.cookie).await;
    assert_eq!(by_id(&html, "checkpoints-checked"), recorded.to_string());
    assert!(html.contains("đã kiểm tra bằng khóa của dữ liệu"), "{html}");
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let api = Api::new();
    let (_, b) = sign_in(&api, "tok-auditor", false).await;
    let b = b.unwrap();
    let r = post_form(&api, "/sign-out", &b.cookie, "csrf=wrong").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        get(&api, "/batches", Some(&b.cookie)).await.status,
        StatusCode::OK
    );
    let r = post_form(&api, "/sign-out", &b.cookie, &format!("csrf={}", b.csrf)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = get(&api, "/batches", Some(&b.cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/sign-in");
}

#[tokio::test]
async fn english_on_request_and_unknown_paths_answer_in_kind() {
    let api = Api::new();
    let r = get(&api, "/lang/en?back=/sign-in", None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/sign-in");
    let lang = set_cookies(&r)[0].split(';').next().unwrap().to_owned();
    let page = get(&api, "/sign-in", Some(&lang)).await;
    assert!(page.text().contains("<html lang=\"en\""));
    assert!(page.text().contains("Sign in"));
    // Never back to another site.
    let r = get(&api, "/lang/en?back=//evil.example/", None).await;
    assert_eq!(r.headers[header::LOCATION], "/");

    let r = get(&api, "/no-such-page", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.text().contains("<html"));
    let r = get(&api, "/v1/no-such-route", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(r.code(), "not-found");
}

#[tokio::test]
async fn who_was_left_out_shows_after_a_restart() {
    let api = Api::new();
    api.enrol(enrol_body(
        "001185000001",
        bank_route("970436", "1500200000001"),
    ))
    .await;
    let held = api
        .enrol(enrol_body(
            "001185000003",
            bank_route("970418", "2200300000002"),
        ))
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = api
        .post(
            &format!("/v1/beneficiaries/{held}/hold"),
            chitra::domain::access::Role::Officer,
            serde_json::json!({ "note": "moved away" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Computed over the API: this server's dashboard never saw the computation.
    let (batch, _) = computed_batch(&api).await;
    // The server restarts: a new app over the same ledger, nothing kept in memory.
    let common::http::Api { dir, ledger, .. } = api;
    let api = Api::on(dir, ledger, chitra::http::Limits::default());
    let (_, checker) = sign_in(&api, "tok-checker", false).await;
    let checker = checker.unwrap();
    let r = get(&api, &format!("/batches/{batch}"), Some(&checker.cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    let table = &html[html.find("id=\"left-out\"").expect("the left-out table")..];
    let table = &table[..table.find("</table>").unwrap()];
    assert!(table.contains(&format!(">{held}<")), "{table}");
    assert!(table.contains("Tạm dừng để rà soát"), "{table}");
    assert_eq!(
        table.matches("<tr>").count(),
        2,
        "a header and one person: {table}"
    );
}

#[tokio::test]
async fn a_paid_batch_whose_review_is_not_kept_shows_at_once_that_it_is_being_prepared() {
    let api = Api::new();
    let paid = common::http::paid_month(&api).await;
    // The server restarts with nothing kept, and no warm-up: the released batch's review is
    // not built.
    let common::http::Api { dir, ledger, .. } = api;
    let state = chitra::http::AppState::new(
        ledger.clone(),
        common::http::tokens(),
        chitra::http::Limits::default(),
        common::fixtures::settings(),
    );
    let app = chitra::http::app(state.clone());
    let api = Api { dir, ledger, app };
    let (_, checker) = sign_in(&api, "tok-checker", false).await;
    let checker = checker.unwrap();
    let path = format!("/batches/{}", paid.batch);
    // Answered at once: the batch, and a note that its review is being prepared; the page
    // reloads itself.
    let r = get(&api, &path, Some(&checker.cookie)).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("id=\"preparing\""), "{html}");
    assert!(html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(!html.contains("id=\"by-bank\""), "{html}");
    assert!(html.contains("id=\"total-count\">3<"), "{html}");
    // The view started the review in the background; once it is built, the page shows it.
    let key = api
        .ledger
        .read(|s| {
            chitra::http::web::reviews::computation(
                s,
                chitra::domain::types::BatchId::parse(&paid.batch).unwrap(),
            )
        })
        .unwrap()
        .expect("computed");
    assert!(state.web.reviews.of(&api.ledger, key).await.is_some());
    assert_eq!(
        state.web.reviews.len(),
        1,
        "one computation, started by the view"
    );
    let html = get(&api, &path, Some(&checker.cookie)).await.text();
    assert!(!html.contains("id=\"preparing\""), "{html}");
    assert!(!html.contains("http-equiv=\"refresh\""), "{html}");
    assert!(html.contains("id=\"by-bank\""), "{html}");
    assert!(html.contains("id=\"changes\""), "{html}");
}

/// A status report in a multipart form, as the files page's upload form posts it.
fn multipart(csrf: Option<&str>, report: &[u8]) -> (String, Vec<u8>) {
    let boundary = "chitra-test-boundary";
    let mut body = Vec::new();
    if let Some(csrf) = csrf {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n"
            )
            .as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"report\"; \
             filename=\"report.xml\"\r\nContent-Type: application/xml\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(report);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

#[tokio::test]
async fn a_status_report_upload_shows_each_lines_result_and_the_break_it_opened() {
    use chitra::formats::bank::{self, IsoDateTime, Outcome};
    let api = Api::new();
    let paid = common::http::paid_month(&api).await;
    let file = api
        .get(
            &format!("/v1/files/{}/content", paid.file_bank),
            chitra::domain::access::Role::Bank,
        )
        .await;
    assert_eq!(file.status, StatusCode::OK);
    // The bank settles its one line and reports one the ledger never issued.
    let created = IsoDateTime::parse("2024-06-05T10:00:00+07:00").unwrap();
    let (report, mut lines) =
        bank::simulate_for_pain001(&file.body, "STS-WEB-1", created, |_| Outcome::Settled).unwrap();
    assert_eq!(lines.len(), 1);
    let mut unknown = lines[0].clone();
    unknown.end_to_end_id = "P999999".into();
    lines.push(unknown);
    let xml = bank::simulate_pain002(&report, &lines);
    let (_, bank) = sign_in(&api, "tok-bank", false).await;
    let bank = bank.unwrap();
    let (_, checker) = sign_in(&api, "tok-checker", false).await;
    let checker = checker.unwrap();
    let upload = |b: &Browser, csrf: Option<String>| {
        let (kind, body) = multipart(csrf.as_deref(), &xml);
        Request::builder()
            .method(Method::POST)
            .uri("/status-reports")
            .header(header::COOKIE, &b.cookie)
            .header(header::CONTENT_TYPE, kind)
            .body(Body::from(body))
            .unwrap()
    };
    // Without its CSRF token: refused, nothing written.
    let before = api.records();
    let r = api.request(upload(&bank, None)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(api.records(), before);
    // A bank may report only payments of its own files: a line it was never sent refuses the
    // whole report, saying which line, and nothing is written.
    let r = api.request(upload(&bank, Some(bank.csrf.clone()))).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert!(r.text().contains("lines[1]"), "{}", r.text());
    assert_eq!(api.records(), before);
    // The checker enters the same report (as for a bank that sends reports on paper): every
    // line with its result, and the break the unknown line opened.
    let r = api
        .request(upload(&checker, Some(checker.csrf.clone())))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    let table = &html[html.find("id=\"lines\"").expect("the lines")..];
    let table = &table[..table.find("</table>").unwrap()];
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].contains(&lines[0].end_to_end_id) && rows[0].contains("Đã chi"),
        "{table}"
    );
    assert!(
        rows[1].contains("P999999") && rows[1].contains("Đã chi"),
        "{table}"
    );
    let breaks = &html[html.find("id=\"breaks\"").expect("the breaks")..];
    let breaks = &breaks[..breaks.find("</ul>").unwrap()];
    assert_eq!(breaks.matches("<li>").count(), 1, "{breaks}");
    assert!(breaks.contains("P999999"), "{breaks}");
    // The ledger agrees: one settled, one break.
    let rec = api
        .get(
            &format!("/v1/batches/{}/reconciliation", paid.batch),
            chitra::domain::access::Role::Auditor,
        )
        .await
        .json();
    assert_eq!(rec["reconciliation"]["settled"]["count"], 1, "{rec}");
    let listed = api
        .get("/v1/breaks", chitra::domain::access::Role::Auditor)
        .await
        .json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");
    // The same file again appends nothing and says so.
    let again = api.records();
    let r = api
        .request(upload(&checker, Some(checker.csrf.clone())))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(api.records(), again);
}

/// Follows a verification's page until it is done (it reloads itself while it runs): the page.
/// An auditor signs in, starts a verification from the page and waits for its result page.
async fn an_auditor_verifies(api: &Api) -> String {
    let (_, auditor) = sign_in(api, "tok-auditor", false).await;
    let auditor = auditor.unwrap();
    let form = format!("csrf={}", auditor.csrf);
    let r = post_form(api, "/audit/verify", &auditor.cookie, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    verification_done(api, &auditor.cookie).await
}

async fn verification_done(api: &Api, cookie: &str) -> String {
    loop {
        let r = get(api, "/audit/verification", Some(cookie)).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let html = r.text();
        if !html.contains("id=\"progress\"") {
            assert!(!html.contains("http-equiv=\"refresh\""), "{html}");
            return html;
        }
        assert!(html.contains("http-equiv=\"refresh\""), "{html}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The text of the element with `id` in a page.
fn by_id(html: &str, id: &str) -> String {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[at..];
    let rest = &rest[rest.find('>').unwrap() + 1..];
    rest[..rest.find('<').unwrap()].to_owned()
}

#[tokio::test]
async fn an_auditor_verifies_the_chain_from_the_page_and_sees_its_head_and_checkpoints() {
    let api = Api::new();
    api.enrol(enrol_body(
        "001185000001",
        bank_route("970436", "1500200000001"),
    ))
    .await;
    let (_, auditor) = sign_in(&api, "tok-auditor", false).await;
    let auditor = auditor.unwrap();
    // Nothing ran yet: the progress page sends back to the auditors' page.
    let r = get(&api, "/audit/verification", Some(&auditor.cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // Without the CSRF token nothing starts.
    let r = post_form(&api, "/audit/verify", &auditor.cookie, "csrf=").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = get(&api, "/audit/verification", Some(&auditor.cookie)).await;
    assert_eq!(
        r.status,
        StatusCode::SEE_OTHER,
        "no verification was started"
    );
    // A maker may not verify (as over the API).
    let (_, maker) = sign_in(&api, "tok-maker", false).await;
    let maker = maker.unwrap();
    let form = format!("csrf={}", maker.csrf);
    let r = post_form(&api, "/audit/verify", &maker.cookie, &form).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    let form = format!("csrf={}", auditor.csrf);
    let r = post_form(&api, "/audit/verify", &auditor.cookie, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.headers[header::LOCATION], "/audit/verification");
    let html = verification_done(&api, &auditor.cookie).await;
    let chain = api
        .get("/v1/chain", chitra::domain::access::Role::Auditor)
        .await
        .json();
    assert!(html.contains("id=\"verified\""), "{html}");
    assert_eq!(
        by_id(&html, "verified-records"),
        chain["records"].to_string()
    );
    assert_eq!(by_id(&html, "head-seq"), chain["head_seq"].to_string());
    assert_eq!(
        by_id(&html, "head-hash"),
        chain["head_hash"].as_str().unwrap()
    );
    assert_eq!(
        by_id(&html, "checkpoints-checked"),
        "0",
        "none recorded here"
    );
    assert_eq!(by_id(&html, "started-by"), "auditor:minh");
    // The auditors' page now says when the chain was last verified, and links to the result.
    let audit = get(&api, "/audit", Some(&auditor.cookie)).await.text();
    assert!(audit.contains("id=\"verification-link\""), "{audit}");
    assert_ne!(by_id(&audit, "last-verified"), "chưa bao giờ");
}

#[tokio::test]
async fn one_verification_runs_at_a_time_and_its_page_shows_its_progress() {
    // No heavy job may run, so the verification waits its turn and stays under way.
    let api = Api::with_limits(chitra::http::Limits {
        jobs_concurrent_max: 0,
        ..chitra::http::Limits::default()
    });
    let (_, auditor) = sign_in(&api, "tok-auditor", false).await;
    let auditor = auditor.unwrap();
    let form = format!("csrf={}", auditor.csrf);
    let r = post_form(&api, "/audit/verify", &auditor.cookie, &form).await;
    assert_eq!(r.headers[header::LOCATION], "/audit/verification");
    let r = post_form(&api, "/audit/verify", &auditor.cookie, &form).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.headers[header::LOCATION], "/audit/verification?busy=1");
    let html = get(&api, "/audit/verification?busy=1", Some(&auditor.cookie))
        .await
        .text();
    assert!(html.contains("id=\"busy\""), "{html}");
    assert!(
        html.contains("<meta http-equiv=\"refresh\" content=\"1\">"),
        "{html}"
    );
    assert_eq!(by_id(&html, "checked"), "0");
    assert_eq!(by_id(&html, "total"), api.records().to_string());
    assert_eq!(by_id(&html, "percent"), "0");
    assert!(html.contains("<progress max=\"100\" value=\"0\""), "{html}");
}

#[tokio::test]
async fn a_verification_of_a_tampered_store_names_the_first_record_that_fails() {
    let api = Api::new();
    let records = api.records();
    let export = api
        .get("/v1/chain/export", chitra::domain::access::Role::Auditor)
        .await;
    assert_eq!(export.status, StatusCode::OK);
    // Someone with access to the store replaces the block of record 2 (a rate schedule, alone
    // in its group) under the running server with an altered copy.
    let blocks = vec![common::export::altered_block(&export.body, 2)];
    api.ledger.store().append_partial(blocks, records).unwrap();

    let html = an_auditor_verifies(&api).await;
    assert!(html.contains("id=\"failed\""), "{html}");
    assert_eq!(by_id(&html, "fault-seq"), "2");
    assert!(
        by_id(&html, "fault").starts_with("seq 2: content altered"),
        "{html}"
    );
}

/// A report index that still checks but lists other records than the chain's (one that left
/// some out would hide a hold from the department's figures) fails the verification started
/// from the page, as it fails `chitra verify`.
#[tokio::test]
async fn a_verification_finds_a_report_index_that_lists_other_records_than_the_chain() {
    let api = Api::new();
    let records = api.records();
    let path = api
        .ledger
        .dir()
        .join(chitra::ledger::report_index::REPORT_INDEX_FILE);
    let header = std::fs::read(&path).expect("the committer keeps the index")[..40].to_vec();
    let mut frame = Vec::new();
    frame.extend_from_slice(&0u64.to_le_bytes());
    frame.extend_from_slice(&records.to_le_bytes());
    // It names one record, the rate schedule at seq 2, which the figures do not read.
    frame.extend_from_slice(&1u32.to_le_bytes());
    frame.extend_from_slice(&2u64.to_le_bytes());
    let check = blake3::hash(&frame);
    frame.extend_from_slice(&check.as_bytes()[..8]);
    std::fs::write(&path, [header, frame].concat()).unwrap();

    let html = an_auditor_verifies(&api).await;
    assert!(html.contains("id=\"failed\""), "{html}");
    let fault = by_id(&html, "fault");
    assert!(
        fault.starts_with("the report index lists other records than the chain")
            && fault.contains(&format!("for records 0..{records};")),
        "{html}"
    );
}
