//! `chitra-http-load`: a closed-loop HTTP/1.1 load generator for the lookup benchmark
//! (`tools/bench_http.sh`). Each connection is one thread that sends a request, reads the whole
//! response and sends the next; every latency is kept, so the percentiles are exact and a
//! request that waits for seconds is counted, not dropped as a timeout.
//!
//!     chitra-http-load --addr 127.0.0.1:18080 --token TOKEN [--connections 64] [--seconds 30]
//!                      [--ids 1000000] [--query '?history=true'] [--while-pid PID]
//!
//! It requests `GET /v1/beneficiaries/B<random id>` and prints requests/s and the latency
//! percentiles. With `--while-pid`, it stops as soon as that process has ended (or after
//! `--seconds`), to measure exactly while something else runs. Shares no code with the server.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Set when the run should end early (`--while-pid`'s process ended).
static STOP: AtomicBool = AtomicBool::new(false);

struct Options {
    addr: String,
    token: String,
    connections: usize,
    seconds: u64,
    ids: u64,
    query: String,
    while_pid: Option<u32>,
}

fn options() -> Options {
    let mut o = Options {
        addr: "127.0.0.1:8080".into(),
        token: String::new(),
        connections: 64,
        seconds: 30,
        ids: 1_000_000,
        query: String::new(),
        while_pid: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--addr" => o.addr = value(),
            "--token" => o.token = value(),
            "--connections" => o.connections = value().parse().expect("a number"),
            "--seconds" => o.seconds = value().parse().expect("a number"),
            "--ids" => o.ids = value().parse().expect("a number"),
            "--query" => o.query = value(),
            "--while-pid" => o.while_pid = Some(value().parse().expect("a process id")),
            other => panic!("unknown argument {other}"),
        }
    }
    o
}

/// Latencies in microseconds, statuses other than 2xx, and I/O errors of one connection.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u32>,
    non_2xx: u64,
    errors: u64,
}

fn connection(o: &Options, seed: u64, until: Instant) -> Tally {
    let mut t = Tally::default();
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let running = || Instant::now() < until && !STOP.load(Ordering::Relaxed);
    'reconnect: while running() {
        let Ok(stream) = TcpStream::connect(&o.addr) else {
            t.errors += 1;
            std::thread::sleep(Duration::from_millis(10));
            continue;
        };
        let _ = stream.set_nodelay(true);
        let mut writer = stream.try_clone().expect("clone a socket");
        let mut reader = BufReader::with_capacity(64 << 10, stream);
        let mut line = String::new();
        let mut body = Vec::new();
        while running() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let id = x % o.ids + 1;
            let req = format!(
                "GET /v1/beneficiaries/B{id}{} HTTP/1.1\r\nHost: load\r\nAuthorization: Bearer {}\r\n\r\n",
                o.query, o.token
            );
            let started = Instant::now();
            if writer.write_all(req.as_bytes()).is_err() {
                t.errors += 1;
                continue 'reconnect;
            }
            let mut status = 0u16;
            let mut length = 0usize;
            loop {
                line.clear();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        t.errors += 1;
                        continue 'reconnect;
                    }
                    Ok(_) => {}
                }
                let l = line.trim_end();
                if l.is_empty() {
                    break;
                }
                if status == 0 {
                    status = l
                        .split(' ')
                        .nth(1)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                } else if let Some((name, value)) = l.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            body.resize(length, 0);
            if reader.read_exact(&mut body).is_err() {
                t.errors += 1;
                continue 'reconnect;
            }
            let us = started.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
            t.latencies_us.push(us);
            if !(200..300).contains(&status) {
                t.non_2xx += 1;
            }
        }
    }
    t
}

fn main() {
    let o = options();
    assert!(!o.token.is_empty(), "--token is required");
    let started = Instant::now();
    let until = started + Duration::from_secs(o.seconds);
    if let Some(pid) = o.while_pid {
        std::thread::spawn(move || {
            let proc = format!("/proc/{pid}");
            while std::path::Path::new(&proc).exists() {
                std::thread::sleep(Duration::from_millis(20));
            }
            STOP.store(true, Ordering::Relaxed);
        });
    }
    let tallies: Vec<Tally> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..o.connections)
            .map(|i| {
                let o = &o;
                s.spawn(move || connection(o, i as u64 + 1, until))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a connection thread"))
            .collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let mut all: Vec<u32> = tallies
        .iter()
        .flat_map(|t| t.latencies_us.iter().copied())
        .collect();
    all.sort_unstable();
    let n = all.len();
    let pct = |p: f64| -> f64 {
        if n == 0 {
            return 0.0;
        }
        let i = ((p / 100.0) * n as f64).ceil() as usize;
        f64::from(all[i.clamp(1, n) - 1]) / 1000.0
    };
    let non_2xx: u64 = tallies.iter().map(|t| t.non_2xx).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    println!(
        "{n} requests in {elapsed:.2} s over {} connections: {:.0} requests/s",
        o.connections,
        n as f64 / elapsed
    );
    println!(
        "latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms; {non_2xx} non-2xx, {errors} connection errors",
        pct(50.0),
        pct(90.0),
        pct(99.0),
        pct(99.9),
        all.last().map_or(0.0, |m| f64::from(*m) / 1000.0)
    );
}
