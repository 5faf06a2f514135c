//! A cut of the storage under load loses nothing acknowledged. The real server (`chitra serve`)
//! runs with its data directory on a small loop-mounted ext4 file system; several HTTP clients
//! enrol people concurrently, one more imports rosters of a few hundred rows (large groups),
//! and all keep every receipt the server acknowledged (2xx). At a random moment the power
//! goes: the server is frozen (SIGSTOP, waiting until every thread has stopped), the file
//! system is aborted (`mount -o remount,abort`: from then on nothing more reaches the disk, and
//! what was not made durable is gone), the server is killed, the file system is unmounted, its
//! loop device detached, and both set up again. Then `chitra verify` must accept the chain and
//! `chitra export` must hold every acknowledged record with the same hash. Several rounds on
//! the same store, each cut at a moment drawn from a seeded generator.
//!
//! How the cut is made, and why the server is frozen first: `common::cut`.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chitra::chain::export::ChainExportReader;
use chitra::chain::record::{parse_hash_hex, parse_record, record_hash};
use rand::{Rng, SeedableRng};

use common::bin::BIN;
use common::cut::{self, LoopMount};

/// Cuts per run, each at a random moment of a running load.
const ROUNDS: usize = 8;
/// HTTP clients enrolling one person per request at once (besides the roster client).
const CLIENTS: usize = 4;
/// Rows of each roster the roster client imports.
const ROSTER_ROWS: u64 = 300;
/// The 2025 province whose synthetic people the rosters hold (the enrolling clients use
/// Hà Nội citizen IDs, so the two never collide).
const ROSTER_PROVINCE: &str = "79";
/// Size of the file system image.
const IMAGE_BYTES: u64 = 96 << 20;
/// Acknowledged records to wait for in a round before the cut may come.
const ACKS_BEFORE_CUT_MIN: usize = 50;
/// The cut comes this long (at most) after those first acknowledgements.
const CUT_DELAY_MS_MAX: u64 = 400;
/// How long a round may wait for its first acknowledgements.
const ROUND_WAIT_MS_MAX: u64 = 30_000;

/// One acknowledged record: its sequence number and hash, as the server's receipt gave them.
type Ack = (u64, [u8; 32]);

#[test]
fn a_storage_cut_under_load_loses_no_acknowledged_record() {
    let tmp = tempfile::tempdir().unwrap();
    let what = "acknowledged writes survive a storage cut (remount,abort of a loop-mounted \
                ext4 data directory under load)";
    let Some(mut mount) = cut::mount_or_skip(tmp.path(), IMAGE_BYTES, what) else {
        return;
    };
    let data = mount.dir.join("db");
    let tokens = tmp.path().join("tokens.json");
    let token = common::bin::token_add(&tokens, "officer", "lan");
    let export = tmp.path().join("chain.export");
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261201);
    let serial = Arc::new(AtomicU64::new(0));
    let rosters = Arc::new(AtomicU64::new(0));
    let mut acked: Vec<Ack> = Vec::new();
    let mut failures = Vec::new();
    let keep = cut::keep_dir();
    for round in 0..ROUNDS {
        let delay = Duration::from_millis(rng.gen_range(0..=CUT_DELAY_MS_MAX));
        let new = load_and_cut(
            &mount,
            &data,
            &tokens,
            &token,
            (&serial, &rosters),
            delay,
            round,
        );
        let before = acked.len();
        acked.extend(new);
        acked.sort_unstable();
        acked.dedup();
        mount.remount(keep.as_deref());
        let (stored, problem) = check(&data, &export);
        let lost: Vec<u64> = acked
            .iter()
            .filter(|(seq, hash)| stored.get(*seq as usize) != Some(hash))
            .map(|(seq, _)| *seq)
            .collect();
        let line = format!(
            "round {round}: cut {} ms after the first {ACKS_BEFORE_CUT_MIN} acknowledged records; \
             {} records acknowledged in this round, {} in all (highest seq {}); the store holds \
             {}; {} acknowledged records lost{}",
            delay.as_millis(),
            acked.len() - before,
            acked.len(),
            acked.last().map_or(0, |a| a.0),
            stored.len(),
            lost.len(),
            problem
                .as_deref()
                .map(|p| format!("; {p}"))
                .unwrap_or_default()
        );
        eprintln!("storage_cut: {line}");
        if !lost.is_empty() || problem.is_some() {
            failures.push(format!("{line} (seqs {lost:?})"));
            if let Some(keep) = &keep {
                cut::keep_failed(keep, round);
            }
        }
        // A store that does not verify cannot be served again.
        if problem.is_some() {
            break;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Starts the server on the mounted store, enrols from `CLIENTS` clients, cuts the storage
/// `delay` after the first acknowledgements, kills the server and returns every record the
/// clients were acknowledged.
fn load_and_cut(
    mount: &LoopMount,
    data: &Path,
    tokens: &Path,
    token: &str,
    (serial, rosters): (&Arc<AtomicU64>, &Arc<AtomicU64>),
    delay: Duration,
    round: usize,
) -> Vec<Ack> {
    let server = Server::start(data, tokens);
    let acks = Arc::new(Mutex::new(Vec::new()));
    let mut clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let (addr, token) = (server.addr.clone(), token.to_owned());
            let (acks, serial) = (Arc::clone(&acks), Arc::clone(serial));
            let stop = Arc::clone(&server.stopped);
            std::thread::spawn(move || {
                post_until_stopped(&addr, &token, &acks, &stop, || {
                    let n = serial.fetch_add(1, Ordering::Relaxed);
                    assert!(n < 1_000_000, "citizen-ID serials exhausted");
                    let body = format!(
                        r#"{{"citizen_id":"001185{n:06}","full_name":"Phạm Thị Lan","birth_date":"1985-03-01","sex":"F","commune":"00004","programme":"BTXH","route":{{"kind":"cash","pay_point":"00004"}}}}"#
                    );
                    ("/v1/beneficiaries", "application/json", body)
                })
            })
        })
        .collect();
    {
        let (addr, token) = (server.addr.clone(), token.to_owned());
        let (acks, rosters) = (Arc::clone(&acks), Arc::clone(rosters));
        let stop = Arc::clone(&server.stopped);
        clients.push(std::thread::spawn(move || {
            post_until_stopped(&addr, &token, &acks, &stop, || {
                let first = rosters.fetch_add(ROSTER_ROWS, Ordering::Relaxed);
                ("/v1/rosters", "text/csv", roster(first))
            })
        }));
    }
    let waited = Instant::now();
    while acks.lock().unwrap().len() < ACKS_BEFORE_CUT_MIN {
        assert!(
            waited.elapsed() < Duration::from_millis(ROUND_WAIT_MS_MAX),
            "round {round}: the server acknowledged too little before the cut"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(delay);
    cut::freeze(server.child.id());
    mount.abort();
    // Answers already on their way still count as acknowledged.
    std::thread::sleep(Duration::from_millis(100));
    drop(server);
    for c in clients {
        c.join().expect("client panicked");
    }
    let acks = std::mem::take(&mut *acks.lock().unwrap());
    acks
}

/// One client: posts what `next` makes (path, media type, body) until the server is gone,
/// keeping the `(seq, hash)` of every record listed in a 2xx answer, or of its last record
/// when none is listed (in `receipt` for a write, at the top for a roster).
fn post_until_stopped(
    addr: &str,
    token: &str,
    acks: &Mutex<Vec<Ack>>,
    stopped: &AtomicBool,
    mut next: impl FnMut() -> (&'static str, &'static str, String),
) {
    while !stopped.load(Ordering::Acquire) {
        let (path, media, body) = next();
        let Some((status, body)) = post(addr, path, media, token, &body) else {
            continue;
        };
        if !(200..300).contains(&status) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("a 2xx answer that is not JSON ({e}): {body}"));
        let seq_hash = |v: &serde_json::Value, seq: &str| -> Ack {
            let hash = parse_hash_hex(v["hash"].as_str().expect("hash")).expect("hex hash");
            (v[seq].as_u64().expect("seq"), hash)
        };
        let listed: Vec<Ack> = v["events"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| seq_hash(e, "seq"))
            .collect();
        let mut got = acks.lock().unwrap();
        if listed.is_empty() {
            let receipt = if v["receipt"].is_object() {
                &v["receipt"]
            } else {
                &v
            };
            got.push(seq_hash(receipt, "last_seq"));
        } else {
            got.extend(listed);
        }
    }
}

/// A roster CSV of synthetic people `first..first + ROSTER_ROWS` of `ROSTER_PROVINCE`.
fn roster(first: u64) -> String {
    let code = chitra::domain::types::ProvinceCode::parse(ROSTER_PROVINCE).unwrap();
    let province = chitra::dev::synth::Province::select(
        chitra::formats::reference::Reference::embedded(),
        code,
    )
    .unwrap();
    let mut w = chitra::formats::roster::RosterWriter::new(Vec::new()).unwrap();
    for i in first..first + ROSTER_ROWS {
        w.write(&province.person(1, i)).unwrap();
    }
    String::from_utf8(w.finish().unwrap()).unwrap()
}

/// One POST on its own connection: the status and the (de-chunked) body, or None when the
/// server did not answer (it was killed, or refused the connection).
fn post(addr: &str, path: &str, media: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer {token}\r\nContent-Type: {media}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        status,
        if chunked {
            dechunk(body)?
        } else {
            body.to_owned()
        },
    ))
}

fn dechunk(mut rest: &str) -> Option<String> {
    let mut out = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).ok()?;
        if n == 0 {
            return Some(out);
        }
        out.push_str(after.get(..n)?);
        rest = after.get(n + 2..)?;
    }
    None
}

/// With the real binary: `chitra verify` must accept the store, and `chitra export` must hold
/// every acknowledged record with the same hash. Returns the hash of every exported record by
/// sequence number, and what went wrong.
fn check(data: &Path, export: &Path) -> (Vec<[u8; 32]>, Option<String>) {
    let verify = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("verify")
        .output()
        .unwrap();
    let mut problem = (!verify.status.success()).then(|| {
        format!(
            "chitra verify failed: {}{}",
            String::from_utf8_lossy(&verify.stdout).trim(),
            String::from_utf8_lossy(&verify.stderr).trim()
        )
    });
    let _ = std::fs::remove_file(export);
    let out = Command::new(BIN)
        .arg("--data-dir")
        .arg(data)
        .arg("export")
        .arg(export)
        .arg("--no-personal")
        .output()
        .unwrap();
    let stored = if out.status.success() {
        read_export(export)
    } else {
        problem.get_or_insert_with(|| {
            format!(
                "chitra export failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )
        });
        Vec::new()
    };
    (stored, problem)
}

/// The hash of every record of an export, by sequence number.
fn read_export(path: &Path) -> Vec<[u8; 32]> {
    let mut reader = ChainExportReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut hashes = Vec::new();
    let mut buf = Vec::new();
    while reader.next_record(&mut buf).unwrap() {
        let seq = parse_record(&buf)
            .expect("exported record parses")
            .header
            .seq;
        assert_eq!(seq, hashes.len() as u64, "export is in sequence order");
        hashes.push(record_hash(&buf));
    }
    hashes
}

/// `chitra serve` on a loopback port; killed (SIGKILL) when dropped, also on a panic, so that
/// it never holds the mount.
struct Server {
    child: Child,
    addr: String,
    /// Set when the server is killed: the clients stop.
    stopped: Arc<AtomicBool>,
}

impl Server {
    fn start(data: &Path, tokens: &Path) -> Server {
        let (child, addr) = common::bin::serve(data, tokens, "warn", Stdio::null());
        Server {
            child,
            addr,
            stopped: Arc::new(AtomicBool::new(false)),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::Release);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
