//! Prometheus metrics through the `prometheus` crate, rendered in its text format at
//! `GET /metrics`: requests by route, method and status with latency histograms per route; the
//! process (CPU seconds, resident memory, open file descriptors, start time; Linux only); and,
//! read at each scrape, the writer's counters from `Ledger::metrics()`, the chain and state
//! sizes and payment batch sizes.
//!
//! Counting a request takes no lock: each served route's histogram and its counters for the
//! statuses the API answers with are resolved once, on first use (the crate's metric vectors
//! keep their children behind a lock), into a table built when the server starts; after that
//! only atomics are touched. A route or status outside that table (an unmatched path, say)
//! goes through the crate's vector.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::proto::MetricFamily;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, Opts, Registry, TextEncoder,
};

use super::RouteInfo;
use crate::ledger::Ledger;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The statuses the API answers with (success, problems of `problem.rs`, and hyper's own):
/// their counters are kept per route so that counting them takes no lock.
const STATUSES: [u16; 18] = [
    200, 201, 204, 400, 401, 403, 404, 405, 408, 409, 413, 415, 422, 429, 431, 500, 503, 504,
];

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One served route's series.
struct RouteSeries {
    method: String,
    latency: OnceLock<Histogram>,
    by_status: [OnceLock<IntCounter>; STATUSES.len()],
}

/// Request metrics of one server, and the registry they and the process metrics live in.
pub struct HttpMetrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    /// Every served route's series, by path: built once, then only read.
    routes: HashMap<&'static str, Vec<RouteSeries>>,
}

impl HttpMetrics {
    /// Metrics for a server of these routes.
    pub fn new(routes: &[RouteInfo]) -> HttpMetrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "chitra_http_requests_total",
                "Requests answered, by route, method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("a valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "chitra_http_request_duration_seconds",
                "Time from request head to response, by route and method.",
            )
            .buckets(LATENCY_BUCKETS_S.to_vec()),
            &["route", "method"],
        )
        .expect("a valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(latency.clone()))
            .expect("registered once");
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("registered once");
        let mut by_path: HashMap<&'static str, Vec<RouteSeries>> = HashMap::new();
        for r in routes {
            let method = r.method.as_str();
            by_path.entry(r.path).or_default().push(RouteSeries {
                method: method.to_owned(),
                latency: OnceLock::new(),
                by_status: Default::default(),
            });
        }
        HttpMetrics {
            registry,
            requests,
            latency,
            routes: by_path,
        }
    }

    /// Counts one answered request.
    pub fn observe(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let s = latency.as_secs_f64();
        let series = self
            .routes
            .get(route)
            .and_then(|all| all.iter().find(|r| r.method == method));
        let Some(series) = series else {
            self.latency.with_label_values(&[route, method]).observe(s);
            self.count(route, method, status).inc();
            return;
        };
        series
            .latency
            .get_or_init(|| self.latency.with_label_values(&[route, method]))
            .observe(s);
        match STATUSES.iter().position(|&st| st == status) {
            Some(i) => series.by_status[i]
                .get_or_init(|| self.count(route, method, status))
                .inc(),
            None => self.count(route, method, status).inc(),
        }
    }

    fn count(&self, route: &str, method: &str, status: u16) -> IntCounter {
        self.requests
            .with_label_values(&[route, method, &status.to_string()])
    }

    /// The whole exposition: what the registry holds and the ledger's figures as they are now.
    pub fn render(&self, ledger: &Ledger) -> String {
        let mut families = self.registry.gather();
        families.extend(ledger_families(ledger));
        // The encoder refuses a family without a series (no batches yet).
        families.retain(|f| !f.get_metric().is_empty());
        families.sort_by(|a, b| a.name().cmp(b.name()));
        TextEncoder::new()
            .encode_to_string(&families)
            .expect("the text encoder writes to a string")
    }
}

/// The ledger's figures as metric families, read at each scrape.
fn ledger_families(ledger: &Ledger) -> Vec<MetricFamily> {
    let m = ledger.metrics();
    let mut out = Vec::new();
    let mut counter = |name: &str, help: &str, v: f64| {
        let c = prometheus::Counter::new(name, help).expect("a valid metric");
        c.inc_by(v);
        out.extend(c.collect());
    };
    counter(
        "chitra_writer_groups_total",
        "Group commits written (one flush each).",
        m.groups as f64,
    );
    counter(
        "chitra_writer_commands_total",
        "Commands the writer decided.",
        m.commands as f64,
    );
    counter(
        "chitra_writer_records_total",
        "Records appended (records/groups is the mean group size).",
        m.records as f64,
    );
    counter(
        "chitra_writer_decide_seconds_total",
        "Time spent deciding, applying and encoding.",
        m.decide_nanos as f64 / 1e9,
    );
    counter(
        "chitra_writer_flush_seconds_total",
        "Time spent writing groups and flushing (divide by groups for the mean flush latency).",
        m.store_nanos as f64 / 1e9,
    );
    let mut gauge = |name: &str, help: &str, v: f64| {
        let g = prometheus::Gauge::new(name, help).expect("a valid metric");
        g.set(v);
        out.extend(g.collect());
    };
    gauge(
        "chitra_writer_flush_seconds_max",
        "The slowest group write-and-flush so far.",
        m.store_nanos_max as f64 / 1e9,
    );
    gauge(
        "chitra_writer_stopped",
        "1 once the writer stopped (a failed flush); nothing more is acknowledged.",
        f64::from(u8::from(ledger.is_stopped())),
    );
    gauge(
        "chitra_chain_records_durable",
        "Records durable in the chain.",
        ledger.durable_records() as f64,
    );
    // Gauges, not answers about anyone: the state as the writer applied it, durable or not.
    let (beneficiaries, batches) = ledger
        .read_unconfirmed(|state| {
            let batches: Vec<_> = state
                .batches()
                .iter()
                .map(|b| {
                    (
                        b.opened.batch.to_string(),
                        b.opened.programme.to_string(),
                        b.opened.month.to_string(),
                        status_name(b.status),
                        b.payments.len() as i64,
                    )
                })
                .collect();
            (state.beneficiary_count(), batches)
        })
        .into_basis();
    gauge(
        "chitra_beneficiaries",
        "Beneficiaries enrolled.",
        beneficiaries as f64,
    );
    let payments = prometheus::IntGaugeVec::new(
        Opts::new(
            "chitra_batch_payments",
            "Payment lines of each batch, by status.",
        ),
        &["batch", "programme", "month", "status"],
    )
    .expect("a valid metric");
    for (batch, programme, month, status, n) in &batches {
        payments
            .with_label_values(&[batch.as_str(), programme, month, status])
            .set(*n);
    }
    out.extend(payments.collect());
    out
}

fn status_name(s: crate::domain::state::BatchStatus) -> &'static str {
    use crate::domain::state::BatchStatus::*;
    match s {
        Open => "open",
        Computed => "computed",
        Approved => "approved",
        Released => "released",
        Cancelled => "cancelled",
        Closed => "closed",
    }
}
