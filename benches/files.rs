//! Throughput of the payment-file module: pain.001 generation (100,000 lines) and pain.002
//! parsing (1,000,000 lines), plus the checker and the CSV forms for reference.
//! Target: at least 1,000,000 lines/s on one core for generation and parsing.
//!
//! Run: `cargo bench --bench files` (one core is used; figures are the best of a few runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use chitra::domain::types::Vnd;
use chitra::formats::bank::example::{example_lines, example_spec};
use chitra::formats::bank::{
    check_pain001, parse_pain002, parse_status_csv, payments_csv_bytes, simulate_pain002,
    simulate_status_csv, write_pain001, IsoDateTime, Outcome, SimulatedLine, SimulatedReport,
    StatusLimits,
};

const PAIN001_LINES: u64 = 100_000;
const PAIN002_LINES: u64 = 1_000_000;
const RUNS: usize = 5;

/// CPU time of this thread (user + system), from /proc: on a shared two-core machine the
/// wall clock also counts time spent waiting for a core. `None` where /proc is missing.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 and 15 of stat (utime, stime) are the 12th and 13th after the name; clock
    // ticks of 1/100 s on Linux.
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

/// Best wall time and best CPU time of `RUNS` runs of `f`.
fn best<T>(mut f: impl FnMut() -> T) -> (Duration, Option<Duration>) {
    let mut wall = Duration::MAX;
    let mut cpu: Option<Duration> = None;
    for _ in 0..RUNS {
        let (start, start_cpu) = (Instant::now(), thread_cpu_time());
        black_box(f());
        wall = wall.min(start.elapsed());
        if let (Some(a), Some(b)) = (start_cpu, thread_cpu_time()) {
            let used = b.saturating_sub(a);
            cpu = Some(cpu.map_or(used, |c| c.min(used)));
        }
    }
    (wall, cpu)
}

fn report(what: &str, lines: u64, bytes: usize, (wall, cpu): (Duration, Option<Duration>)) {
    let secs = wall.as_secs_f64();
    let cpu_rate = cpu.filter(|c| !c.is_zero()).map_or("-".to_string(), |c| {
        format!("{:.0}", lines as f64 / c.as_secs_f64())
    });
    println!(
        "{what:<36} {lines:>9} lines {:>8.1} ms {:>10.0} lines/s (CPU time: {cpu_rate:>9} lines/s) {:>6.0} MB/s",
        secs * 1e3,
        lines as f64 / secs,
        bytes as f64 / secs / 1e6
    );
}

fn status_lines(n: u64) -> Vec<SimulatedLine> {
    (0..n)
        .map(|i| SimulatedLine {
            end_to_end_id: format!("P{}", 1000 + i),
            amount: Vnd(2_789_000 + (i % 7) as i64 * 1_000),
            // 1% returned, as in the national-run workload.
            outcome: if i % 100 == 42 {
                Outcome::Rejected {
                    reason_code: "AC04".into(),
                }
            } else {
                Outcome::Settled
            },
        })
        .collect()
}

fn main() {
    // `cargo bench --bench files -- pain002` runs only the parts whose name contains "pain002".
    let filter: Option<String> = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let wanted = |part: &str| filter.as_deref().is_none_or(|f| part.contains(f));
    let spec = example_spec();
    if wanted("pain001 csv") {
        generation(&spec);
    }
    if wanted("pain002 status-csv") {
        parsing(&spec);
    }
}

fn generation(spec: &chitra::formats::bank::PaymentFileSpec) {
    let lines = example_lines(PAIN001_LINES);
    let mut out = Vec::with_capacity(1 << 30);
    let t = best(|| {
        out.clear();
        write_pain001(spec, &lines, &mut out).expect("valid input")
    });
    report("pain.001 generate", PAIN001_LINES, out.len(), t);
    let t = best(|| check_pain001(&out).expect("valid file"));
    report(
        "pain.001 check_pain001 (read back)",
        PAIN001_LINES,
        out.len(),
        t,
    );
    let csv = payments_csv_bytes(spec, &lines).expect("valid input").0;
    let t = best(|| payments_csv_bytes(spec, &lines).expect("valid input"));
    report("payments CSV generate", PAIN001_LINES, csv.len(), t);
}

fn parsing(spec: &chitra::formats::bank::PaymentFileSpec) {
    let header = SimulatedReport {
        message_id: "BANK-PSR-1".into(),
        created_at: IsoDateTime::parse("2024-08-23T16:00:00+07:00").expect("valid"),
        original_message_id: spec.message_id.clone(),
        original_payment_info_id: "NCC-202408-BATCH7".into(),
        debtor_agent_bic: Some("ICBVVNVX".into()),
    };
    let sim = status_lines(PAIN002_LINES);
    let xml = simulate_pain002(&header, &sim);
    let limits = StatusLimits::default();
    let t = best(|| {
        let r = parse_pain002(&xml, &limits).expect("valid report");
        assert_eq!(r.lines.len() as u64, PAIN002_LINES);
        r
    });
    report("pain.002 parse", PAIN002_LINES, xml.len(), t);
    let status_csv = simulate_status_csv(&header, &sim);
    let t = best(|| parse_status_csv(&status_csv, &limits).expect("valid report"));
    report("status CSV parse", PAIN002_LINES, status_csv.len(), t);
}
