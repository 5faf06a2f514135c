//! `GET /metrics` is standard Prometheus text: every sample parses, every family has its type,
//! the process is described (on Linux), and the counters move with what the server does,
//! without losing a request when many arrive at once.

mod common;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::http::{Method, StatusCode};
use chitra::http::Role;
use common::http::{paid_month, Api};

/// One sample: its metric name, labels and value.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape: the samples and each family's `# TYPE`.
struct Scrape {
    samples: Vec<Sample>,
    types: BTreeMap<String, String>,
}

impl Scrape {
    /// The value of the one sample with this name and these labels (and maybe others), or 0
    /// when there is none yet (Prometheus reads an absent counter as 0 too).
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let found: Vec<&Sample> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .filter(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(v))
            })
            .collect();
        assert!(found.len() <= 1, "{name} {labels:?}: {found:?}");
        found.first().map_or(0.0, |s| s.value)
    }

    fn has(&self, name: &str) -> bool {
        self.samples.iter().any(|s| s.name == name)
    }
}

/// Parses the text exposition format, refusing any line it does not understand.
fn parse(text: &str) -> Scrape {
    let mut samples = Vec::new();
    let mut types = BTreeMap::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            types.insert(name.to_owned(), kind.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        assert!(!line.starts_with('#'), "unknown comment: {line}");
        let (head, value) = line.rsplit_once(' ').expect("name value");
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("not a number: {line}"));
        let (name, labels) = match head.split_once('{') {
            None => (head, BTreeMap::new()),
            Some((name, rest)) => {
                let body = rest.strip_suffix('}').expect("labels end in }");
                let labels = body
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|pair| {
                        let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
                        (k.to_owned(), v.trim_end_matches('"').to_owned())
                    })
                    .collect();
                (name, labels)
            }
        };
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "{line}"
        );
        samples.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    // Every sample belongs to a typed family (a histogram's samples end in _bucket, _sum, _count).
    for s in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| {
                s.name
                    .strip_suffix(suffix)
                    .filter(|f| types.get(*f).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&s.name);
        assert!(types.contains_key(family), "{} has no # TYPE", s.name);
    }
    Scrape { samples, types }
}

async fn scrape(api: &Api) -> Scrape {
    let r = api
        .send(Method::GET, "/metrics", None, None, Body::empty(), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers
    );
    parse(&r.text())
}

#[tokio::test]
async fn the_scrape_is_standard_text_with_the_ledger_and_the_process() {
    let api = Api::new();
    let paid = paid_month(&api).await;
    let m = scrape(&api).await;

    for (name, kind) in [
        ("chitra_writer_groups_total", "counter"),
        ("chitra_writer_commands_total", "counter"),
        ("chitra_writer_records_total", "counter"),
        ("chitra_writer_decide_seconds_total", "counter"),
        ("chitra_writer_flush_seconds_total", "counter"),
        ("chitra_writer_flush_seconds_max", "gauge"),
        ("chitra_writer_stopped", "gauge"),
        ("chitra_chain_records_durable", "gauge"),
        ("chitra_beneficiaries", "gauge"),
        ("chitra_batch_payments", "gauge"),
        ("chitra_http_requests_total", "counter"),
        ("chitra_http_request_duration_seconds", "histogram"),
    ] {
        assert_eq!(m.types.get(name).map(String::as_str), Some(kind), "{name}");
    }
    assert_eq!(
        m.value("chitra_chain_records_durable", &[]),
        api.records() as f64
    );
    assert_eq!(m.value("chitra_beneficiaries", &[]), 3.0);
    assert_eq!(m.value("chitra_writer_stopped", &[]), 0.0);
    assert!(
        m.value("chitra_writer_records_total", &[]) >= m.value("chitra_writer_groups_total", &[])
    );
    assert!(m.value("chitra_writer_groups_total", &[]) > 0.0);
    assert_eq!(
        m.value(
            "chitra_batch_payments",
            &[
                ("batch", &paid.batch),
                ("programme", "BTXH"),
                ("month", "2024-06"),
                ("status", "released")
            ]
        ),
        3.0
    );
    assert_eq!(
        m.value(
            "chitra_http_requests_total",
            &[
                ("route", "/v1/beneficiaries"),
                ("method", "POST"),
                ("status", "201")
            ]
        ),
        3.0
    );

    if cfg!(target_os = "linux") {
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(m.has(name), "{name}");
        }
        assert!(m.value("process_resident_memory_bytes", &[]) > 1e6);
        assert!(m.value("process_open_fds", &[]) >= 3.0);
        // Started after 2020 and not in the future.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        let start = m.value("process_start_time_seconds", &[]);
        assert!(start > 1.58e9 && start <= now + 1.0, "{start}");
    }
}

#[tokio::test]
async fn counters_and_histograms_move_with_requests() {
    let api = Api::new();
    let before = scrape(&api).await;
    let chain = [("route", "/v1/chain"), ("method", "GET")];
    let ok = [chain[0], chain[1], ("status", "200")];
    for _ in 0..3 {
        assert_eq!(
            api.get("/v1/chain", Role::Auditor).await.status,
            StatusCode::OK
        );
    }
    // A 403 is counted under its own status, an unknown path under "(unmatched)".
    assert_eq!(
        api.get("/v1/chain", Role::Bank).await.status,
        StatusCode::FORBIDDEN
    );
    let lost = api
        .send(Method::GET, "/nowhere", None, None, Body::empty(), None)
        .await;
    assert_eq!(lost.status, StatusCode::NOT_FOUND);
    let commands = before.value("chitra_writer_commands_total", &[]);
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

    let after = scrape(&api).await;
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    assert_eq!(moved("chitra_http_requests_total", &ok), 3.0);
    assert_eq!(
        moved(
            "chitra_http_requests_total",
            &[chain[0], chain[1], ("status", "403")]
        ),
        1.0
    );
    assert_eq!(
        moved(
            "chitra_http_requests_total",
            &[
                ("route", "(unmatched)"),
                ("method", "GET"),
                ("status", "404")
            ]
        ),
        1.0
    );
    // The scrape before this one is counted too.
    assert!(
        moved(
            "chitra_http_requests_total",
            &[("route", "/metrics"), ("method", "GET"), ("status", "200")]
        ) >= 1.0
    );
    assert_eq!(
        moved("chitra_http_request_duration_seconds_count", &chain),
        4.0
    );
    assert!(moved("chitra_http_request_duration_seconds_sum", &chain) > 0.0);
    // Buckets are cumulative and end in +Inf, which holds every request.
    let buckets: Vec<(f64, f64)> = after
        .samples
        .iter()
        .filter(|s| s.name == "chitra_http_request_duration_seconds_bucket")
        .filter(|s| s.labels["route"] == "/v1/chain")
        .map(|s| (s.labels["le"].parse::<f64>().unwrap(), s.value))
        .collect();
    assert_eq!(
        buckets.len(),
        chitra::http::metrics::LATENCY_BUCKETS_S.len() + 1
    );
    assert!(
        buckets
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1),
        "{buckets:?}"
    );
    assert_eq!(buckets.last().unwrap(), &(f64::INFINITY, 4.0));
    assert_eq!(
        after.value("chitra_writer_commands_total", &[]),
        commands + 1.0
    );
    assert_eq!(after.value("chitra_beneficiaries", &[]), 1.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_are_all_counted() {
    const TASKS: usize = 4;
    const EACH: usize = 50;
    let api = std::sync::Arc::new(Api::new());
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..EACH {
                let r = api
                    .send(Method::GET, "/healthz", None, None, Body::empty(), None)
                    .await;
                assert_eq!(r.status, StatusCode::OK);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let m = scrape(&api).await;
    let health = [("route", "/healthz"), ("method", "GET")];
    assert_eq!(
        m.value(
            "chitra_http_requests_total",
            &[health[0], health[1], ("status", "200")]
        ),
        (TASKS * EACH) as f64
    );
    assert_eq!(
        m.value("chitra_http_request_duration_seconds_count", &health),
        (TASKS * EACH) as f64
    );
}
