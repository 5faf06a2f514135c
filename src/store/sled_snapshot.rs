//! Keeps sled's own page-table snapshot close to the end of its log while the store runs, so
//! that opening the store replays little of it.
//!
//! sled 0.34 rebuilds its page table at opening from its newest snapshot file and the log
//! written after it, and as published it writes that snapshot only when a store is opened.
//! A server that wrote for months therefore replayed months of log when it started again
//! (50.8 s after 24 monthly runs for a million people, where a warm opening takes 1.6 s). The
//! vendored sled can also write one while running (`sled::Db::snapshot_while_running`,
//! `vendor/README.md`); this module decides when, and runs it beside the writer on a thread
//! of its own, one at a time.
//!
//! Nothing acknowledged depends on it: a snapshot is written to a new file and renamed into
//! place only once complete and synced, and one that is not taken (or that fails) leaves the
//! store as it was, with opening replaying more. So failures are logged, not returned.

use std::sync::Mutex;
use std::thread::JoinHandle;

/// A snapshot is started once this much log was made durable since the newest one. Opening
/// replays at most about this much plus what was written while the snapshot was taken
/// (sled reads its log back at about 1 GB/s on the development machine, so about 0.3 s).
/// Taking a snapshot reads back the log written since the last, so the total work is the
/// same whatever this is; a larger value means fewer snapshot files written and synced.
pub const SLED_SNAPSHOT_LAG_BYTES_MAX: u64 = 256 << 20;

/// The snapshot thread's nice value: the lowest priority, so that reading the log back
/// takes what the writer and the readers leave (a monthly run keeps both cores busy).
const SNAPSHOT_THREAD_NICE: libc::c_int = 19;

/// When the store closes, a snapshot is taken if at least this much log was made durable
/// since the newest one, so that the next opening replays next to nothing (closing then reads
/// back at most `SLED_SNAPSHOT_LAG_BYTES_MAX`, the reading the next opening is spared). Below
/// it, closing takes none: replaying this little costs a start a few milliseconds, and tests
/// and commands that open and close small stores many times would each write one.
const SLED_SNAPSHOT_AT_CLOSE_LAG_BYTES_MIN: u64 = 16 << 20;

/// How many times the thread taking a snapshot while running tries when one cannot be taken at
/// that moment (the log not readable cleanly up to its durable end, or a page below that end
/// first written beyond it: both pass once the next flush made the rest durable), and how long
/// it waits between tries. Without a retry, a moment like that after the last write of a burst
/// left the store without a snapshot until it closed.
const SNAPSHOT_TRIES_MAX: u32 = 3;
const SNAPSHOT_RETRY_WAIT_MS: u64 = 200;

/// The store's sled and the thread taking a snapshot, if one was started.
pub(super) struct SledSnapshots {
    db: sled::Db,
    running: Mutex<Option<JoinHandle<()>>>,
}

impl SledSnapshots {
    pub(super) fn new(db: sled::Db) -> SledSnapshots {
        SledSnapshots {
            db,
            running: Mutex::new(None),
        }
    }

    /// Starts a snapshot when the log has grown by `SLED_SNAPSHOT_LAG_BYTES_MAX` since the newest
    /// one and none is being taken. Called by the writer after each durable group.
    pub(super) fn after_flush(&self) {
        let db = &self.db;
        if db.log_bytes_since_snapshot() < SLED_SNAPSHOT_LAG_BYTES_MAX {
            return;
        }
        let mut running = self.running.lock().expect("snapshot thread slot");
        if running.as_ref().is_some_and(|t| !t.is_finished()) {
            return;
        }
        if let Some(done) = running.take() {
            let _ = done.join();
        }
        let db = db.clone();
        *running = std::thread::Builder::new()
            .name("sled-snapshot".into())
            .spawn(move || {
                lower_this_threads_priority();
                let wait = std::time::Duration::from_millis(SNAPSHOT_RETRY_WAIT_MS);
                for tried in 1..=SNAPSHOT_TRIES_MAX {
                    if !take(&db, "sled snapshot written while running")
                        || tried == SNAPSHOT_TRIES_MAX
                    {
                        return;
                    }
                    std::thread::sleep(wait);
                }
            })
            .map_err(|e| tracing::warn!("could not start sled's snapshot thread: {e}"))
            .ok();
    }
}

/// Waits for a snapshot being taken, so that its handle on sled is gone when the store is:
/// a store reopened in the same process (an import, `bench years`) finds sled's lock free.
/// Then, the store closing, takes one more if enough log was written since.
impl Drop for SledSnapshots {
    fn drop(&mut self) {
        if let Some(running) = self.running.get_mut().ok().and_then(Option::take) {
            let _ = running.join();
        }
        if self.db.log_bytes_since_snapshot() >= SLED_SNAPSHOT_AT_CLOSE_LAG_BYTES_MIN {
            take(&self.db, "sled snapshot written at closing");
        }
    }
}

/// Takes a snapshot now; `true` if it could not be at this moment and may be tried again.
fn take(db: &sled::Db, written: &'static str) -> bool {
    let lag = db.log_bytes_since_snapshot();
    let started = std::time::Instant::now();
    match db.snapshot_while_running() {
        Ok(true) => {
            let ms = started.elapsed().as_millis() as u64;
            tracing::debug!(lag_bytes = lag, ms, "{written}");
            false
        }
        // Nothing new since the newest snapshot is `Ok(false)` too; trying again then costs
        // one reading of an empty stretch of log.
        Ok(false) => {
            tracing::debug!(
                lag_bytes = lag,
                "sled snapshot not taken: the log could not be read cleanly up to its durable \
                 end, or a page below that end was first written beyond it"
            );
            true
        }
        Err(e) => {
            tracing::warn!("sled snapshot while running failed (opening will replay more): {e}");
            false
        }
    }
}

/// On Linux a thread's nice value is its own (`setpriority` on its thread id), not the
/// process's. A failure leaves it at the writer's priority, which is only slower.
fn lower_this_threads_priority() {
    // SAFETY: plain system calls on this thread's own id; no memory is passed.
    let done = unsafe {
        let id = libc::gettid() as libc::id_t;
        libc::setpriority(libc::PRIO_PROCESS, id, SNAPSHOT_THREAD_NICE)
    };
    if done != 0 {
        tracing::debug!(
            "sled snapshot thread keeps its priority: {}",
            std::io::Error::last_os_error()
        );
    }
}

#[cfg(test)]
mod tests {
    //! sled's snapshot while running, on sled alone: whatever a writer flushed is there after
    //! reopening, with snapshots taken beside it; and a snapshot taken at the end leaves
    //! opening nothing to replay. `tests/storage_cut_sled.rs` cuts the storage under the
    //! same writer and snapshots.

    use std::collections::BTreeMap;
    use std::path::Path;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    use rand::{Rng, SeedableRng};

    /// sled as the store opens it (waiting for the lock a dropped handle still holds), a new
    /// store with sled's old default segments of 512 KiB, which ledgers created before keep:
    /// these writes then fill, free and reuse segments, and batches span them.
    fn open(dir: &Path) -> sled::Db {
        crate::store::open_sled_sized(dir, 512 << 10).expect("open sled")
    }

    /// Overwrites a small key set (so that sled frees and reuses segments), some batches
    /// spanning segments, and flushes each batch; returns what each key must hold.
    fn write(db: &sled::Db, seed: u64, batches: u64) -> BTreeMap<u64, Vec<u8>> {
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut expected = BTreeMap::new();
        for n in 0..batches {
            let mut batch = sled::Batch::default();
            let values = if rng.gen_bool(0.1) {
                120
            } else {
                rng.gen_range(1..6)
            };
            for _ in 0..values {
                let key: u64 = rng.gen_range(0..400);
                let mut value = n.to_be_bytes().to_vec();
                value.resize(rng.gen_range(100..6_000), n as u8);
                batch.insert(&key.to_be_bytes(), value.clone());
                expected.insert(key, value);
            }
            db.apply_batch(batch).unwrap();
            db.flush().unwrap();
        }
        expected
    }

    fn assert_holds(db: &sled::Db, expected: &BTreeMap<u64, Vec<u8>>) {
        assert_eq!(db.len(), expected.len());
        for (key, value) in expected {
            let got = db.get(key.to_be_bytes()).unwrap();
            assert_eq!(got.as_deref(), Some(&value[..]), "key {key}");
        }
    }

    /// The lsn of the newest `snap.` file in `dir` (sled names them by it, in hex), if any
    /// (a store opened empty has none).
    fn newest_snapshot_lsn(dir: &Path) -> Option<i64> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let name = e.unwrap().file_name().into_string().unwrap();
                let hex = name.strip_prefix("snap.")?;
                i64::from_str_radix(hex, 16).ok()
            })
            .max()
    }

    #[test]
    fn what_was_flushed_is_there_after_snapshots_taken_beside_the_writer() {
        for seed in [1, 2, 3] {
            let tmp = tempfile::tempdir().unwrap();
            let db = open(tmp.path());
            let done = Arc::new(AtomicBool::new(false));
            let snapshots = std::thread::spawn({
                let db = db.clone();
                let done = done.clone();
                move || {
                    let mut written = 0;
                    while !done.load(Ordering::Acquire) {
                        written += usize::from(db.snapshot_while_running().unwrap());
                    }
                    written
                }
            });
            let expected = write(&db, seed, 1_500);
            done.store(true, Ordering::Release);
            let written = snapshots.join().unwrap();
            assert!(
                written > 0,
                "seed {seed}: no snapshot was written while running"
            );
            assert_holds(&db, &expected);
            drop(db);
            let db = open(tmp.path());
            assert_holds(&db, &expected);
        }
    }

    #[test]
    fn a_snapshot_taken_at_the_end_leaves_opening_nothing_to_replay() {
        let tmp = tempfile::tempdir().unwrap();
        let db = open(tmp.path());
        let at_opening = newest_snapshot_lsn(tmp.path()).unwrap_or(0);
        let expected = write(&db, 7, 800);
        assert!(db.log_bytes_since_snapshot() > 1 << 20);
        assert!(db.snapshot_while_running().unwrap());
        assert_eq!(db.log_bytes_since_snapshot(), 0);
        let taken = newest_snapshot_lsn(tmp.path()).expect("the snapshot just taken");
        assert!(taken > at_opening + (1 << 20), "{taken} after {at_opening}");
        // nothing new: nothing to write
        assert!(!db.snapshot_while_running().unwrap());
        drop(db);
        let db = open(tmp.path());
        assert_holds(&db, &expected);
        assert_eq!(db.log_bytes_since_snapshot(), 0);
        assert!(newest_snapshot_lsn(tmp.path()) >= Some(taken));
    }

    /// Writes `groups` groups of 8 blocks of 100 KiB (below a quarter of any segment sled is
    /// given, so they go to its log, not to blob files), each group flushed and synced.
    fn append_groups(store: &crate::store::Store, groups: u64) {
        use crate::chain::Anchor;
        use crate::store::PendingBlock;
        for seq in (0..groups * 8).step_by(8) {
            let blocks = (seq..seq + 8)
                .map(|first_seq| PendingBlock {
                    first_seq,
                    records: vec![first_seq as u8; 100 << 10],
                    personal: Vec::new(),
                })
                .collect();
            let head = Anchor {
                seq: seq + 7,
                hash: [seq as u8; 32],
            };
            store.append_group(blocks, head).unwrap();
        }
    }

    /// Given a store that wrote more than the closing minimum but less than the running lag,
    /// when it closes, then sled's newest snapshot (before any reopening, which writes one of
    /// its own) is at the end of what it wrote: the next opening replays nothing.
    #[test]
    fn closing_a_store_that_wrote_takes_a_snapshot() {
        use super::{SLED_SNAPSHOT_AT_CLOSE_LAG_BYTES_MIN, SLED_SNAPSHOT_LAG_BYTES_MAX};
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(tmp.path()).unwrap();
        let at_opening = newest_snapshot_lsn(tmp.path()).unwrap_or(0);
        let groups = 2 * SLED_SNAPSHOT_AT_CLOSE_LAG_BYTES_MIN / (8 * (100 << 10));
        append_groups(&store, groups);
        let written = store.db.log_bytes_since_snapshot();
        assert!(
            (SLED_SNAPSHOT_AT_CLOSE_LAG_BYTES_MIN..SLED_SNAPSHOT_LAG_BYTES_MAX).contains(&written),
            "{written} bytes of log"
        );
        drop(store);
        let taken = newest_snapshot_lsn(tmp.path()).expect("a snapshot");
        assert!(
            taken >= at_opening + written as i64,
            "the newest snapshot is at lsn {taken}, the log was {written} bytes past {at_opening}"
        );
        let store = crate::store::Store::open(tmp.path()).unwrap();
        assert_eq!(store.blocks().count() as u64, groups * 8);
    }

    #[test]
    fn a_store_that_wrote_more_than_the_lag_took_a_snapshot_while_running() {
        use super::SLED_SNAPSHOT_LAG_BYTES_MAX;
        let tmp = tempfile::tempdir().unwrap();
        let store = crate::store::Store::open(tmp.path()).unwrap();
        let groups = SLED_SNAPSHOT_LAG_BYTES_MAX / (8 * (100 << 10)) * 5 / 4;
        append_groups(&store, groups);
        // Still open (closing takes a snapshot of its own): the thread writes it meanwhile.
        let waited = std::time::Instant::now();
        let taken = loop {
            let taken = newest_snapshot_lsn(tmp.path()).unwrap_or(0);
            if taken >= SLED_SNAPSHOT_LAG_BYTES_MAX as i64 || waited.elapsed().as_secs() > 60 {
                break taken;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        assert!(
            taken >= SLED_SNAPSHOT_LAG_BYTES_MAX as i64,
            "the newest snapshot is at lsn {taken}"
        );
        drop(store);
        let store = crate::store::Store::open(tmp.path()).unwrap();
        assert_eq!(store.blocks().count() as u64, groups * 8);
        assert_eq!(
            store.head_anchor().unwrap().map(|a| a.seq),
            Some(groups * 8 - 1)
        );
    }
}
