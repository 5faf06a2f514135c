//! sled itself keeps what it called stable through a storage cut (the vendored fix,
//! `vendor/README.md`). sled frees and reuses log segments once the writes that replaced their
//! pages are stable, and recovery trusts every segment below the highest stable LSN a segment
//! header records; so if stable is not durable, a cut can leave a store that no longer opens,
//! whatever chitra syncs at its own acknowledgements. This checks sled alone, as chitra's
//! `src/store/durable.rs` would mask it: a writer process applies batches to sled (overwrites
//! of a small key set, so that segments are freed and reused, sometimes large enough to span
//! segments, and one new key per batch) and reports a batch only after sled's own `flush()`
//! returned, with no other sync. The storage is cut under it (`common::cut`), sled must open
//! the store again, and every reported batch must be there. With sled 0.34.7 as published
//! this fails at the first cut (and in the experiment it grew from, 5 fresh stores of 5 were
//! broken at their first cut); with the fix, none broke in 67 cuts.
//!
//! Every other round, a second thread of the writer takes sled snapshots while it writes, one
//! after another (`sled::Db::snapshot_while_running`, `vendor/README.md` item 6, as chitra's
//! store takes them), so a cut can land while one is read, written or renamed, and opening
//! then starts from one of them; the run fails if no round took any.
//!
//! A test without the test harness: the same executable is the writer when
//! `CHITRA_SLED_CUT_WRITER` names a data directory.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

use common::cut::{self, LoopMount};

/// The environment variable that makes this executable the writer, on the data directory it
/// names.
const WRITER_VAR: &str = "CHITRA_SLED_CUT_WRITER";
/// The writer's second argument when it also takes snapshots while running.
const SNAPSHOTS_ARG: &str = "snapshots";
/// The line the writer prints for each snapshot it took while running.
const SNAPSHOT_REPORT: &str = "snapshot taken";
/// Cuts in a run, each on the store the previous ones left.
const ROUNDS: usize = 10;
/// Size of the file system image (sparse; sled's log grows by whole segments).
const IMAGE_BYTES: u64 = 1 << 30;
/// Keys the batches overwrite.
const KEYS: u64 = 2_000;
/// A value's size, in bytes, at most.
const VALUE_BYTES_MAX: usize = 6_000;
/// Values in a large batch (about 450 KB: some batches span segments of 512 KiB).
const LARGE_BATCH_VALUES: usize = 150;
/// The cut comes this long after the writer started, drawn between the two.
const CUT_AFTER_MS: std::ops::Range<u64> = 200..900;
/// How long a round may wait for the writer's first report.
const FIRST_REPORT_WAIT_MS_MAX: u64 = 30_000;

fn main() -> ExitCode {
    if let Some(dir) = std::env::var_os(WRITER_VAR) {
        let first: u64 = std::env::args()
            .nth(1)
            .and_then(|a| a.parse().ok())
            .expect("the writer's first batch number");
        let snapshots = std::env::args().nth(2).as_deref() == Some(SNAPSHOTS_ARG);
        write_until_killed(Path::new(&dir), first, snapshots);
        return ExitCode::SUCCESS;
    }
    let tmp = tempfile::tempdir().unwrap();
    let what = "sled keeps what its flush made stable through a storage cut";
    let Some(mut mount) = cut::mount_or_skip(tmp.path(), IMAGE_BYTES, what) else {
        return ExitCode::SUCCESS;
    };
    let data = mount.dir.join("db");
    let keep = cut::keep_dir();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261202);
    let mut reported = 0u64;
    let mut snapshots_taken = 0;
    for round in 0..ROUNDS {
        let after = Duration::from_millis(rng.gen_range(CUT_AFTER_MS));
        // Every other round, the writer also takes sled snapshots while it writes, as chitra's
        // store does (`src/store/sled_snapshot.rs`): opening must then start from one of them.
        let snapshots = round % 2 == 0;
        let (written, taken) = write_and_cut(&mount, &data, reported, after, snapshots);
        reported = reported.max(written);
        snapshots_taken += taken;
        mount.remount(keep.as_deref());
        match check(&data, reported) {
            Ok(present) => {
                eprintln!(
                    "storage_cut_sled: round {round}: cut {} ms after the writer started{}; \
                     {reported} batches reported, {present} present",
                    after.as_millis(),
                    if snapshots { " (taking snapshots)" } else { "" },
                );
                reported = present;
            }
            Err(why) => {
                if let Some(keep) = &keep {
                    cut::keep_failed(keep, round);
                }
                eprintln!(
                    "storage_cut_sled: round {round}: cut {} ms after the writer started; \
                     {reported} batches reported: {why}",
                    after.as_millis()
                );
                // Returning, not exiting: the mount is undone as it drops.
                return ExitCode::FAILURE;
            }
        }
    }
    eprintln!(
        "storage_cut_sled: {ROUNDS} cuts, nothing reported was lost; {snapshots_taken} \
         snapshots taken while running"
    );
    if snapshots_taken == 0 {
        eprintln!("storage_cut_sled: no round took a snapshot while running, so none was cut");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Starts the writer on `data` from batch `first`, cuts the storage `after` later, and returns
/// one past the highest batch the writer reported and how many snapshots it reported taking.
fn write_and_cut(
    mount: &LoopMount,
    data: &Path,
    first: u64,
    after: Duration,
    snapshots: bool,
) -> (u64, u64) {
    let mut writer = Writer::start(data, first, snapshots);
    let (tx, rx) = mpsc::channel();
    let stdout = writer.0.stdout.take().expect("the writer's stdout");
    let snapshots_taken = Arc::new(AtomicU64::new(0));
    std::thread::spawn({
        let snapshots_taken = snapshots_taken.clone();
        move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if line == SNAPSHOT_REPORT {
                    snapshots_taken.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let Some(n) = line.strip_prefix("flushed ").and_then(|n| n.parse().ok()) else {
                    return;
                };
                if tx.send(n).is_err() {
                    return;
                }
            }
        }
    });
    let started = Instant::now();
    let mut reported = first;
    let mut take = |n: u64| reported = reported.max(n + 1);
    take(
        rx.recv_timeout(Duration::from_millis(FIRST_REPORT_WAIT_MS_MAX))
            .expect("the writer reported nothing"),
    );
    while let Some(left) = after.checked_sub(started.elapsed()) {
        if let Ok(n) = rx.recv_timeout(left) {
            take(n);
        }
    }
    cut::freeze(writer.0.id());
    mount.abort();
    // Reports already on their way still count.
    std::thread::sleep(Duration::from_millis(50));
    drop(writer);
    while let Ok(n) = rx.try_recv() {
        take(n);
    }
    (reported, snapshots_taken.load(Ordering::Relaxed))
}

/// Opens the store with sled and checks that batches `0..reported` are all there (sled's
/// recovery may panic on a store it cannot make sense of: that is a failure too). Returns one
/// past the highest batch present, which may be more than was reported.
fn check(data: &Path, reported: u64) -> Result<u64, String> {
    let data = data.to_path_buf();
    let checked = std::thread::spawn(move || -> Result<u64, String> {
        let db = config(&data)
            .open()
            .map_err(|e| format!("sled cannot open the store: {e}"))?;
        for n in 0..reported {
            let present = db
                .get(batch_key(n))
                .map_err(|e| format!("reading batch {n}: {e}"))?;
            if present.is_none() {
                return Err(format!("batch {n}, reported flushed, is missing"));
            }
        }
        for k in 0..KEYS {
            db.get(k.to_be_bytes())
                .map_err(|e| format!("reading key {k}: {e}"))?;
        }
        let last = db
            .scan_prefix(b"b")
            .keys()
            .next_back()
            .transpose()
            .map_err(|e| format!("reading the last batch: {e}"))?;
        Ok(last.map_or(0, |k| key_batch(&k) + 1))
    });
    checked
        .join()
        .unwrap_or_else(|_| Err("sled panicked opening the store".into()))
}

/// sled configured as chitra's store configures it (`src/store/mod.rs`).
fn config(dir: &Path) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .cache_capacity(64 << 20)
        .mode(sled::Mode::HighThroughput)
}

fn batch_key(n: u64) -> [u8; 9] {
    let mut k = [b'b'; 9];
    k[1..].copy_from_slice(&n.to_be_bytes());
    k
}

fn key_batch(key: &[u8]) -> u64 {
    u64::from_be_bytes(key[1..9].try_into().expect("a batch key"))
}

/// The writer process, killed (SIGKILL) when dropped.
struct Writer(Child);

impl Writer {
    fn start(data: &Path, first: u64, snapshots: bool) -> Writer {
        let me = std::env::current_exe().expect("this test's executable");
        let child = Command::new(me)
            .arg(first.to_string())
            .args(snapshots.then_some(SNAPSHOTS_ARG))
            .env(WRITER_VAR, data)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the writer");
        Writer(child)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The writer: batches from `first` on, each reported (`flushed N`) once sled's `flush()`
/// returned, until killed; with `snapshots`, a second thread takes sled snapshots while it
/// writes, one after another.
fn write_until_killed(dir: &Path, first: u64, snapshots: bool) {
    let db = open_when_free(dir);
    if snapshots {
        let db = db.clone();
        // An error ends the thread: the cut fails every write, a snapshot's too.
        std::thread::spawn(move || {
            while let Ok(taken) = db.snapshot_while_running() {
                if taken {
                    println!("{SNAPSHOT_REPORT}");
                }
            }
        });
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(first);
    // Locked per report: the snapshot thread reports too.
    let out = std::io::stdout();
    for n in first.. {
        let mut batch = sled::Batch::default();
        let values = if rng.gen_bool(0.15) {
            LARGE_BATCH_VALUES
        } else {
            rng.gen_range(1..8)
        };
        for _ in 0..values {
            let mut value = n.to_be_bytes().to_vec();
            value.resize(rng.gen_range(100..VALUE_BYTES_MAX), n as u8);
            batch.insert(&rng.gen_range(0..KEYS).to_be_bytes(), value);
        }
        batch.insert(&batch_key(n), &n.to_be_bytes());
        db.apply_batch(batch).expect("apply a batch");
        db.flush().expect("flush");
        let mut out = out.lock();
        writeln!(out, "flushed {n}").expect("report");
        out.flush().expect("report");
    }
}

/// Opens sled on `dir`, waiting while the checker's handle still holds its lock (sled releases
/// it from a background thread).
fn open_when_free(dir: &Path) -> sled::Db {
    let started = Instant::now();
    loop {
        match config(dir).open() {
            Ok(db) => return db,
            Err(_) if started.elapsed() < Duration::from_secs(5) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("the writer cannot open the store: {e}"),
        }
    }
}
