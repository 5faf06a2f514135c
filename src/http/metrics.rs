//! Prometheus text exposition, by hand: the writer's counters from `Ledger::metrics()`, the
//! chain and state sizes, payment batch sizes, and requests by route, method and status with
//! latency histograms per route.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use crate::ledger::Ledger;

/// Upper bounds of the latency histogram buckets, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    buckets: [u64; LATENCY_BUCKETS_S.len()],
    count: u64,
    sum_s: f64,
}

/// Request counters of one server.
#[derive(Default)]
pub struct HttpMetrics {
    routes: Mutex<BTreeMap<(String, String), RouteStats>>,
}

impl HttpMetrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, latency: Duration) {
        let s = latency.as_secs_f64();
        let mut routes = self.routes.lock().expect("metrics lock");
        let r = routes
            .entry((route.to_owned(), method.to_owned()))
            .or_default();
        *r.by_status.entry(status).or_default() += 1;
        r.count += 1;
        r.sum_s += s;
        if let Some(i) = LATENCY_BUCKETS_S.iter().position(|b| s <= *b) {
            r.buckets[i] += 1;
        }
    }

    /// The whole exposition.
    pub fn render(&self, ledger: &Ledger) -> String {
        let mut out = String::with_capacity(8 << 10);
        let m = ledger.metrics();
        let counter = |out: &mut String, name: &str, help: &str, v: f64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, v: f64| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        };
        counter(
            &mut out,
            "chitra_writer_groups_total",
            "Group commits written (one flush each).",
            m.groups as f64,
        );
        counter(
            &mut out,
            "chitra_writer_commands_total",
            "Commands the writer decided.",
            m.commands as f64,
        );
        counter(
            &mut out,
            "chitra_writer_records_total",
            "Records appended (records/groups is the mean group size).",
            m.records as f64,
        );
        counter(
            &mut out,
            "chitra_writer_decide_seconds_total",
            "Time spent deciding, applying and encoding.",
            m.decide_nanos as f64 / 1e9,
        );
        counter(
            &mut out,
            "chitra_writer_flush_seconds_total",
            "Time spent writing groups and flushing (divide by groups for the mean flush latency).",
            m.store_nanos as f64 / 1e9,
        );
        gauge(
            &mut out,
            "chitra_writer_flush_seconds_max",
            "The slowest group write-and-flush so far.",
            m.store_nanos_max as f64 / 1e9,
        );
        gauge(
            &mut out,
            "chitra_writer_stopped",
            "1 once the writer stopped (a failed flush); nothing more is acknowledged.",
            f64::from(u8::from(ledger.is_stopped())),
        );
        gauge(
            &mut out,
            "chitra_chain_records_durable",
            "Records durable in the chain.",
            ledger.durable_records() as f64,
        );
        // A gauge, not an answer about anyone: the state as applied, durable or not.
        ledger.read_unconfirmed(|state| {
            gauge(
                &mut out,
                "chitra_beneficiaries",
                "Beneficiaries enrolled.",
                state.beneficiary_count() as f64,
            );
            let _ = writeln!(out, "# HELP chitra_batch_payments Payment lines of each batch, by status.\n# TYPE chitra_batch_payments gauge");
            for b in state.batches() {
                let _ = writeln!(
                    out,
                    "chitra_batch_payments{{batch=\"{}\",programme=\"{}\",month=\"{}\",status=\"{}\"}} {}",
                    b.opened.batch,
                    b.opened.programme,
                    b.opened.month,
                    status_name(b.status),
                    b.payments.len()
                );
            }
        })
        .into_basis();
        let routes = self.routes.lock().expect("metrics lock");
        let _ = writeln!(out, "# HELP chitra_http_requests_total Requests answered, by route, method and status.\n# TYPE chitra_http_requests_total counter");
        for ((route, method), r) in routes.iter() {
            for (status, n) in &r.by_status {
                let _ = writeln!(
                    out,
                    "chitra_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {n}"
                );
            }
        }
        let _ = writeln!(out, "# HELP chitra_http_request_duration_seconds Time from request head to response, by route and method.\n# TYPE chitra_http_request_duration_seconds histogram");
        for ((route, method), r) in routes.iter() {
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            let mut cumulative = 0;
            for (b, n) in LATENCY_BUCKETS_S.iter().zip(r.buckets) {
                cumulative += n;
                let _ = writeln!(out, "chitra_http_request_duration_seconds_bucket{{{labels},le=\"{b}\"}} {cumulative}");
            }
            let _ = writeln!(
                out,
                "chitra_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                r.count
            );
            let _ = writeln!(
                out,
                "chitra_http_request_duration_seconds_sum{{{labels}}} {}",
                r.sum_s
            );
            let _ = writeln!(
                out,
                "chitra_http_request_duration_seconds_count{{{labels}}} {}",
                r.count
            );
        }
        out
    }
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
