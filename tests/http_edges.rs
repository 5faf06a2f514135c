//! The edges that could hold a connection, driven over a real socket (`server::serve` on a
//! loopback port) and in process: a body declared larger than its route accepts is refused at
//! once with a 413 problem, before a byte of it is sent or a job slot is taken; a chunked body is
//! cut off at the limit as it streams; too many headers get a 431 problem with a body, for every
//! head that fits hyper's read buffer.
//!
//! The read timeouts below are hang detectors: the answers come back at once, and a server that
//! waited for a body the client never sends would be caught by them instead of hanging the test.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::{routes, server, Access, AppState, Limits, Role};
use common::http::{token, Api};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const JSON: &str = "application/json";

/// Longest the tests wait for an answer that should come at once.
const ANSWER_WAIT_MS_MAX: u64 = 10_000;

/// A server on a loopback port, stopped when dropped.
struct Served {
    addr: SocketAddr,
    api: Api,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn serve(limits: Limits) -> Served {
    let api = Api::with_limits(limits);
    let state = AppState::new(
        api.ledger.clone(),
        common::http::tokens(),
        limits,
        common::fixtures::settings(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(server::serve(listener, state, async {
        let _ = stopped.await;
    }));
    Served {
        addr,
        api,
        _stop: stop,
    }
}

/// One response as read off the socket.
#[derive(Debug)]
struct Answer {
    status: u16,
    /// The head, lower-cased, for header checks.
    head: String,
    body: Vec<u8>,
    /// The status lines of interim (1xx) responses before it.
    interim: Vec<String>,
}

impl Answer {
    fn problem(&self) -> Value {
        assert!(
            self.head.contains("content-type: application/problem+json"),
            "not a problem: {self:?}"
        );
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }

    fn code(&self) -> String {
        let p = self.problem();
        p["type"]
            .as_str()
            .and_then(|t| t.strip_prefix(chitra::http::problem::PROBLEM_BASE))
            .unwrap_or_else(|| panic!("no problem type: {p}"))
            .to_owned()
    }

    /// Asserts a problem of this status and code whose detail names `words`.
    fn assert_problem(&self, status: u16, code: &str, words: &[&str]) {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(self.code(), code, "{self:?}");
        let p = self.problem();
        let detail = p["detail"].as_str().unwrap_or_default();
        for w in words {
            assert!(detail.contains(w), "{w} not in {detail:?}");
        }
    }
}

/// Everything the server sends until it closes the connection; panics if it does not close
/// within `ANSWER_WAIT_MS_MAX`. A reset after the answer counts as closed.
async fn read_until_closed(stream: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(
        Duration::from_millis(ANSWER_WAIT_MS_MAX),
        stream.read_to_end(&mut out),
    )
    .await
    .expect("the server did not close the connection")
    .ok();
    out
}

/// Writes `head` (and nothing else) and reads one final response; panics if none comes within
/// `ANSWER_WAIT_MS_MAX`.
async fn exchange(stream: &mut TcpStream, head: &[u8]) -> Answer {
    stream.write_all(head).await.unwrap();
    read_answer(stream).await
}

async fn read_answer(stream: &mut TcpStream) -> Answer {
    tokio::time::timeout(
        Duration::from_millis(ANSWER_WAIT_MS_MAX),
        read_final(stream),
    )
    .await
    .expect("no answer: the server waited for a body the client never sent")
}

async fn read_final(stream: &mut TcpStream) -> Answer {
    let mut buf = Vec::new();
    let mut interim = Vec::new();
    loop {
        let end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed before a response: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let status: u16 = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line: {head}"));
        buf.drain(..end);
        if (100..200).contains(&status) {
            interim.push(head.lines().next().unwrap_or_default().to_owned());
            continue;
        }
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        while buf.len() < len {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("read");
            assert!(n > 0, "closed inside the body");
            buf.extend_from_slice(&chunk[..n]);
        }
        return Answer {
            status,
            head,
            body: buf[..len].to_vec(),
            interim,
        };
    }
}

/// A POST head with a declared body length, `extra` header lines, and no body.
fn declaring(path: &str, role: Role, media: &str, length: u64, extra: &str) -> String {
    format!(
        "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: {media}\r\nContent-Length: {length}\r\n{extra}\r\n",
        token(role)
    )
}

/// Connects, sends `request` and reads the answer.
async fn ask(addr: SocketAddr, request: &[u8]) -> (TcpStream, Answer) {
    let mut c = TcpStream::connect(addr).await.unwrap();
    let a = exchange(&mut c, request).await;
    (c, a)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_report_declared_above_its_limit_is_refused_before_its_body() {
    let limits = Limits::default();
    let s = serve(limits).await;
    let before = s.api.records();
    for (role, media) in [(Role::Bank, "text/csv"), (Role::Checker, "application/xml")] {
        let max = limits.status_report_bytes_max as u64;
        let head = declaring("/v1/status-reports", role, media, max + 1, "");
        let (mut c, a) = ask(s.addr, head.as_bytes()).await;
        a.assert_problem(
            413,
            "body-too-large",
            &[
                "status_report_bytes_max",
                &limits.status_report_bytes_max.to_string(),
            ],
        );
        // The body was never wanted: the connection is closed rather than drained.
        let rest = read_until_closed(&mut c).await;
        assert!(rest.is_empty(), "{rest:?}");
    }
    assert_eq!(s.api.records(), before, "a refused upload appended");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_json_body_declared_above_its_limit_is_refused_at_once() {
    let limits = Limits::default();
    let s = serve(limits).await;
    let max = limits.request_body_bytes_max as u64;
    let head = declaring("/v1/beneficiaries", Role::Officer, JSON, max + 1, "");
    let (_, a) = ask(s.addr, head.as_bytes()).await;
    a.assert_problem(413, "body-too-large", &["request_body_bytes_max"]);

    // A declared length at the limit is waited for as usual (a short body then fails as JSON,
    // proving the refusal above was about the length and nothing else).
    let head = declaring("/v1/beneficiaries", Role::Officer, JSON, 2, "");
    let (_, a) = ask(s.addr, format!("{head}{{]").as_bytes()).await;
    assert_eq!(a.status, 400, "{a:?}");
    assert_eq!(a.code(), "malformed-json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_continue_above_the_limit_gets_the_413_and_no_continue() {
    let limits = Limits::default();
    let s = serve(limits).await;
    let max = limits.roster_bytes_max as u64;
    let expect = "Expect: 100-continue\r\n";
    let head = declaring("/v1/rosters", Role::Officer, "text/csv", max + 1, expect);
    let (_, a) = ask(s.addr, head.as_bytes()).await;
    assert!(a.interim.is_empty(), "asked for the body anyway: {a:?}");
    a.assert_problem(413, "body-too-large", &["roster_bytes_max"]);
}

/// Sends `total` bytes of body in chunks of `chunk` bytes with chunked transfer encoding.
fn chunked(total: usize, chunk: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut left = total;
    while left > 0 {
        let n = left.min(chunk);
        out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
        out.extend(std::iter::repeat_n(b' ', n));
        out.extend_from_slice(b"\r\n");
        left -= n;
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_is_cut_off_at_the_limit_as_it_streams() {
    let limits = Limits {
        request_body_bytes_max: 8 << 10,
        status_report_bytes_max: 16 << 10,
        ..Limits::default()
    };
    let s = serve(limits).await;
    let before = s.api.records();
    for (path, role, media, max, name) in [
        (
            "/v1/beneficiaries",
            Role::Officer,
            "application/json",
            limits.request_body_bytes_max,
            "request_body_bytes_max",
        ),
        (
            "/v1/status-reports",
            Role::Bank,
            "text/csv",
            limits.status_report_bytes_max,
            "status_report_bytes_max",
        ),
    ] {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nContent-Type: {media}\r\nTransfer-Encoding: chunked\r\n\r\n",
            token(role)
        );
        let mut req = head.into_bytes();
        req.extend(chunked(max + 1, 1024));
        let (_, a) = ask(s.addr, &req).await;
        a.assert_problem(413, "body-too-large", &[name]);
    }
    assert_eq!(s.api.records(), before, "a refused body appended");
}

/// A GET of `/healthz` with `n` extra headers of `line` (`{i}` replaced by the header's number).
fn with_headers(n: usize, line: &str) -> Vec<u8> {
    let mut req = b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n".to_vec();
    for i in 0..n {
        req.extend_from_slice(line.replace("{i}", &i.to_string()).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    req
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_headers_get_a_problem_body_for_every_head_hyper_can_read() {
    let limits = Limits::default();
    let s = serve(limits).await;
    let count_max = limits.request_headers_count_max;
    // At the limit (with Host and Connection): served.
    let (_, a) = ask(s.addr, &with_headers(count_max - 2, "x-{i}: v\r\n")).await;
    assert_eq!(a.status, 200, "{a:?}");
    // One more, a hundred more, and as many of the shortest header lines as fit in the head's
    // buffer: each a 431 problem.
    let shortest = (limits.head_read_buffer_bytes_max() - 128) / "a:\n".len();
    for (n, line) in [
        (count_max - 1, "x-{i}: v\r\n"),
        (count_max + 100, "x-{i}: v\r\n"),
        (1_000, "x-{i}: v\r\n"),
        (shortest, "a:\n"),
    ] {
        let (_, a) = ask(s.addr, &with_headers(n, line)).await;
        a.assert_problem(431, "headers-too-large", &["request_headers_count_max"]);
    }
    // Header bytes above the limit, in few headers: a 431 problem too.
    let big = format!(
        "x-big: {}\r\n",
        "v".repeat(limits.request_headers_bytes_max)
    );
    let (_, a) = ask(s.addr, &with_headers(1, &big)).await;
    a.assert_problem(431, "headers-too-large", &["request_headers_bytes_max"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_head_larger_than_hypers_buffer_is_refused_and_closed() {
    // hyper refuses such a head itself (it cannot parse what it could not read); the answer is
    // its bare 431 and the connection closes: the client is not left waiting.
    let limits = Limits::default();
    let s = serve(limits).await;
    let mut c = TcpStream::connect(s.addr).await.unwrap();
    let big = format!(
        "x-big: {}\r\n",
        "v".repeat(limits.head_read_buffer_bytes_max())
    );
    c.write_all(&with_headers(1, &big)).await.unwrap();
    let out = read_until_closed(&mut c).await;
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 431"), "{out}");
}

/// Each route's body limit, by name, as docs/http.md states it.
fn body_limit(path: &str, limits: &Limits) -> (&'static str, usize) {
    match path {
        "/v1/status-reports" => ("status_report_bytes_max", limits.status_report_bytes_max),
        "/v1/rosters" => ("roster_bytes_max", limits.roster_bytes_max),
        "/v1/identity-checks" => ("identity_check_bytes_max", limits.identity_check_bytes_max),
        _ => ("request_body_bytes_max", limits.request_body_bytes_max),
    }
}

#[tokio::test]
async fn every_route_refuses_a_declared_length_above_its_limit_before_the_body() {
    let limits = Limits {
        request_body_bytes_max: 8 << 10,
        roster_bytes_max: 16 << 10,
        identity_check_bytes_max: 24 << 10,
        status_report_bytes_max: 32 << 10,
        // No job slot at all: the refusal must not need one (a heavy job would get 429).
        jobs_concurrent_max: 0,
        ..Limits::default()
    };
    let api = Api::with_limits(limits);
    for route in routes() {
        let role = match route.access {
            Access::Public => None,
            Access::Roles(roles) => Some(roles[0]),
        };
        let (name, max) = body_limit(route.path, &limits);
        let path = route
            .path
            .replace("{id}", "X1")
            .replace("{seq}", "1")
            .replace("{principal}", "maker:x");
        let content_type = match route.path {
            "/v1/status-reports" | "/v1/rosters" | "/v1/identity-checks" => "text/csv",
            _ => "application/json",
        };
        let mut req = axum::http::Request::builder()
            .method(route.method.clone())
            .uri(&path)
            .header("content-type", content_type)
            .header("content-length", (max + 1).to_string());
        if let Some(r) = role {
            req = req.header("authorization", format!("Bearer {}", token(r)));
        }
        // The declared body never comes: the answer must not depend on it.
        let before = api.records();
        let r = api.request(req.body(Body::empty()).unwrap()).await;
        assert_eq!(api.records(), before, "a refused request appended");
        let what = format!("{} {path}: {} {}", route.method, r.status, r.text());
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        assert_eq!(r.code(), "body-too-large", "{what}");
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        assert!(detail.contains(name), "{what}");
        assert!(detail.contains(&max.to_string()), "{what}");
        // A declared length at the limit is not refused for its length.
        if route.method == Method::POST {
            let mut req = axum::http::Request::builder()
                .method(route.method.clone())
                .uri(&path)
                .header("content-type", content_type)
                .header("content-length", "2");
            if let Some(r) = role {
                req = req.header("authorization", format!("Bearer {}", token(r)));
            }
            let r = api.request(req.body(Body::from("{}")).unwrap()).await;
            assert_ne!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{what}");
        }
    }
}

#[test]
fn every_limit_is_in_the_docs_limits_table_with_its_value() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/http.md")).unwrap();
    let section = doc
        .split("\n## Limits\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/http.md has a Limits section");
    let rows: Vec<&str> = section.lines().filter(|l| l.starts_with("| `")).collect();
    let table = Limits::default().table();
    for (name, value) in &table {
        let row = rows
            .iter()
            .find(|r| {
                r.split('|')
                    .nth(1)
                    .is_some_and(|c| c.contains(&format!("`{name}`")))
            })
            .unwrap_or_else(|| panic!("{name} is not in docs/http.md's limits table"));
        let value_cell = row.split('|').nth(2).unwrap_or_default();
        assert!(
            value_cell.contains(&common::fixtures::thousands(*value)),
            "{name} = {value}, docs say {row}"
        );
    }
    // And the table names nothing that is not a limit.
    for row in rows {
        let first = row.split('|').nth(1).unwrap_or_default();
        for name in first.split('`').skip(1).step_by(2) {
            assert!(
                table.iter().any(|(n, _)| *n == name),
                "docs/http.md lists {name}, which Limits::table() does not have"
            );
        }
    }
}
