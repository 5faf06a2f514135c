//! The real binary on a loopback port: `chitra token add` prints a token once, `chitra serve
//! --addr 127.0.0.1:0` says where it listens, a plain HTTP/1.1 client enrols and reads back,
//! SIGTERM stops the server gracefully, and after a restart the same Idempotency-Key gets the
//! original response.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `chitra token add`, checking that the token is printed once and stored only hashed.
fn token_add(tokens: &Path, role: &str, name: &str) -> String {
    let token = common::bin::token_add(tokens, role, name);
    assert!(token.starts_with("chitra_"), "{token}");
    let file = std::fs::read_to_string(tokens).unwrap();
    assert!(!file.contains(&token), "the token file holds hashes only");
    token
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    /// `chitra serve`, logging at info level to a pipe the test reads when it stops.
    fn start(data: &Path, tokens: &Path) -> Server {
        let (child, addr) = common::bin::serve(data, tokens, "info", Stdio::piped());
        Server { child, addr }
    }

    /// One request on its own connection; returns the status, the head and the body.
    fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: &str,
    ) -> (u16, String, String) {
        let mut s = TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let key = key
            .map(|k| format!("Idempotency-Key: {k}\r\n"))
            .unwrap_or_default();
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\n{key}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        let (head, body) = out.split_once("\r\n\r\n").unwrap();
        let status = head.split(' ').nth(1).unwrap().parse().unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    /// SIGTERM, and the exit status and log.
    fn stop(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success());
        let status = self.child.wait().unwrap();
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        (status, log)
    }
}

/// The body of a chunked or plain HTTP/1.1 response (hyper chunks large bodies).
fn dechunk(head: &str, body: &str) -> String {
    if !head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        return body.to_owned();
    }
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.push_str(&after[..n]);
        rest = &after[n + 2..];
    }
    out
}

#[test]
fn the_binary_serves_enrols_stops_gracefully_and_remembers_keys() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("db");
    let tokens = dir.path().join("tokens.json");
    let officer = token_add(&tokens, "officer", "lan");
    let auditor = token_add(&tokens, "auditor", "minh");

    let server = Server::start(&data, &tokens);
    let (status, _, _) = server.call("GET", "/healthz", "", None, "");
    assert_eq!(status, 200);
    let (status, _, body) = server.call("GET", "/v1/chain", "chitra_wrong", None, "");
    assert_eq!(status, 401, "{body}");
    let enrol = r#"{"citizen_id":"001185000031","full_name":"Phạm Thị Lan","birth_date":"1985-03-01","sex":"F","commune":"00004","programme":"BTXH","route":{"kind":"cash","pay_point":"00004"}}"#;
    let (status, head, body) =
        server.call("POST", "/v1/beneficiaries", &officer, Some("e2e-1"), enrol);
    assert_eq!(status, 201, "{head}\n{body}");
    let original = dechunk(&head, &body);
    let v: serde_json::Value = serde_json::from_str(&original).unwrap();
    assert_eq!(v["id"], "B1");
    let (status, head, body) = server.call("GET", "/v1/beneficiaries/B1", &auditor, None, "");
    assert_eq!(status, 200, "{body}");
    let shown: serde_json::Value = serde_json::from_str(&dechunk(&head, &body)).unwrap();
    assert_eq!(shown["identity"]["full_name"], "Phạm Thị Lan");
    let (status, _, _) = server.call("POST", "/v1/beneficiaries", &auditor, None, enrol);
    assert_eq!(status, 403);

    let (exit, log) = server.stop();
    assert!(exit.success(), "graceful exit on SIGTERM: {exit:?}\n{log}");
    assert!(log.contains("shutting down"), "{log}");
    assert!(
        log.contains("principal=\"officer:lan\"") || log.contains("principal=officer:lan"),
        "{log}"
    );
    for secret in [officer.as_str(), auditor.as_str(), "001185000031"] {
        assert!(!log.contains(secret), "the log leaks {secret}");
    }

    // Restarted: the same key gets the original response and appends nothing.
    let server = Server::start(&data, &tokens);
    let (status, head, body) =
        server.call("POST", "/v1/beneficiaries", &officer, Some("e2e-1"), enrol);
    assert_eq!(status, 201, "{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("idempotent-replayed: true"),
        "{head}"
    );
    assert_eq!(dechunk(&head, &body), original);
    let (status, head, body) = server.call("GET", "/v1/chain", &auditor, None, "");
    assert_eq!(status, 200);
    let chain: serde_json::Value = serde_json::from_str(&dechunk(&head, &body)).unwrap();
    assert_eq!(chain["records"], 1);
    let (exit, _) = server.stop();
    assert!(exit.success());
}
