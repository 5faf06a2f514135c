//! The one module that knows sled. It persists opaque blocks of chain records, their
//! personal-data blocks and a head anchor, and makes a group of them durable with one flush;
//! and it keeps payment-file bodies as plain files named by their digest
//! (`<data dir>/payment-files/<blake3 hex>`). Nothing here parses an event.
//!
//! Keys of the single `log` tree (big-endian, so sled's order is sequence order):
//! - `c` + u64 first seq → record block (`chain::block`)
//! - `p` + u64 first seq → personal block of the same records, when any record has one
//! - `m:head` → u64 LE seq + 32-byte hash of the last record (the head anchor)
//! - `m:verified` → the last `chitra verify` result (u64 LE unix ms + u64 LE records)
//!
//! - `m:pending` → u64 LE first seq of a large group being written in several batches
//! - `t` + u8 level + u64 tile index → a tile of the Merkle tree (`tiles`)
//!
//! Snapshots of the state are plain files beside sled's (`snapshots`).
//!
//! One group commit is one `apply_batch` on this tree followed by `flush()` and a sync of the
//! files sled wrote (`durable`: sled's flush alone does not survive a crash of the machine):
//! sled applies a batch atomically, so a crash leaves either all of a group or none of it. A very large group
//! (a national batch is a million records) is written as several batches, the first ones marked
//! in progress; only the last writes the head anchor and flushes, and opening discards the
//! blocks of a group that never got there.

mod durable;
mod files;
mod frozen;
mod sled_snapshot;
mod snapshots;
mod tiles;

pub use files::{FileWriter, KeptFile};
pub use frozen::{set_frozen_aside, Frozen, FROZEN_HASH_WINDOW_BYTES};
pub use snapshots::{snapshots_in, SNAPSHOTS_DIR};

use std::path::Path;
use std::sync::Arc;

use sled::{Batch, IVec, Tree};

use crate::chain::block::{decode_personal_block, encode_personal_block, PersonalEntry};
use crate::chain::Anchor;

const TREE: &str = "log";
/// Where payment files are kept, inside the data directory.
const FILES_DIR: &str = "payment-files";
const HEAD_KEY: &[u8] = b"m:head";
const VERIFIED_KEY: &[u8] = b"m:verified";
/// Present while a large group is being written in several batches: its first seq.
const PENDING_KEY: &[u8] = b"m:pending";

/// How long opening waits for another handle's file lock to be released.
const OPEN_LOCK_WAIT_MS_MAX: u64 = 3_000;
/// The size of sled's log segments in a store created now. sled reads the header of every
/// segment when it opens, and writes a value above a quarter of a segment to a file of its own
/// (`durable` syncs each): at sled's default of 512 KiB, 24 monthly runs for a million people
/// made 22,545 segments, 1.6 s of reads when opening on a cold page cache, and 8,646 blob
/// files (sled's tree nodes of 128 to 256 KiB). At 2 MiB there are a quarter as many headers
/// and no blob files; 8 MiB read fewer headers still but made `chitra bench append` 10 to 20 %
/// slower. sled refuses to reopen a store with another size (it keeps the size in `conf`), so
/// a store keeps the size it was created with (`sled_segment_bytes`).
const SLED_SEGMENT_BYTES_NEW: usize = 2 << 20;

fn is_lock_held(e: &std::io::Error) -> bool {
    e.to_string().contains("could not acquire lock")
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the store at {path} could not be opened (is another chitra using it?): {source}")]
    Open { path: String, source: sled::Error },
    #[error("the store failed: {0}")]
    Sled(#[from] sled::Error),
    #[error("the store is corrupt: {0}")]
    Corrupt(String),
    #[error("the store could not make a write durable earlier and acknowledges nothing more until it is reopened: {0}")]
    SyncFailed(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// One block ready to be written: its first sequence number, record block bytes and the
/// personal-data entries of its records.
pub struct PendingBlock {
    pub first_seq: u64,
    pub records: Vec<u8>,
    pub personal: Vec<PersonalEntry>,
}

/// Bytes as the store hands them back (shared, not copied).
pub type StoredBytes = IVec;

/// A stored block as read back.
pub struct StoredBlock {
    pub first_seq: u64,
    pub records: IVec,
    pub personal: Option<IVec>,
}

#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    log: Tree,
    /// Payment files, one plain file per blake3 digest: large immutable blobs that sled would
    /// only copy around.
    files_dir: std::path::PathBuf,
    /// The data directory (snapshot files live beside sled's).
    dir: std::path::PathBuf,
    /// Syncs what sled wrote after each flush.
    durability: Arc<durable::Durability>,
    /// Keeps sled's snapshot close to the end of its log, so opening replays little of it.
    sled_snapshots: Arc<sled_snapshot::SledSnapshots>,
}

fn block_key(prefix: u8, seq: u64) -> [u8; 9] {
    let mut k = [0u8; 9];
    k[0] = prefix;
    k[1..].copy_from_slice(&seq.to_be_bytes());
    k
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn key_seq(key: &[u8]) -> Result<u64, StoreError> {
    let bytes: [u8; 8] = key
        .get(1..9)
        .and_then(|s| s.try_into().ok())
        .ok_or_else(|| StoreError::Corrupt(format!("bad block key {key:?}")))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Runs one step of opening a ledger and logs how long it took (`debug`, as `opening: <step>`),
/// so that an operator can see where a start's time goes.
pub(crate) fn opening_step<R>(step: &str, run: impl FnOnce() -> R) -> R {
    let started = std::time::Instant::now();
    let result = run();
    tracing::debug!(ms = started.elapsed().as_millis() as u64, "opening: {step}");
    result
}

/// sled on `dir`, configured as the store uses it. sled releases its file lock from a
/// background thread shortly after the last handle is dropped, so a reopen right after a close
/// (import, tests) may briefly find it held: this waits for it, up to `OPEN_LOCK_WAIT_MS_MAX`.
fn open_sled(dir: &Path) -> Result<sled::Db, sled::Error> {
    open_sled_sized(dir, SLED_SEGMENT_BYTES_NEW)
}

/// `open_sled`, creating a new store with segments of `segment_bytes_new` (tests that want
/// sled to reuse segments often create stores with sled's old default).
fn open_sled_sized(dir: &Path, segment_bytes_new: usize) -> Result<sled::Db, sled::Error> {
    let config = sled_config_sized(dir, segment_bytes_new);
    let mut waited_ms = 0;
    loop {
        match config.open() {
            Err(sled::Error::Io(e)) if is_lock_held(&e) && waited_ms < OPEN_LOCK_WAIT_MS_MAX => {
                std::thread::sleep(std::time::Duration::from_millis(20));
                waited_ms += 20;
            }
            opened => return opened,
        }
    }
}

/// sled on `dir` configured as the store opens it, for tests and tools that read or alter the
/// store below chitra (sled refuses a store with a segment size other than its own). Unlike
/// `Store::open`, opening it does not wait for a lock a closing store still holds.
pub fn sled_config(dir: &Path) -> sled::Config {
    sled_config_sized(dir, SLED_SEGMENT_BYTES_NEW)
}

fn sled_config_sized(dir: &Path, segment_bytes_new: usize) -> sled::Config {
    sled::Config::new()
        .path(dir)
        .segment_size(sled_segment_bytes(dir).unwrap_or(segment_bytes_new))
        .cache_capacity(64 << 20)
        .mode(sled::Mode::HighThroughput)
}

/// The segment size the store in `dir` was created with, as its `conf` names it (sled writes
/// it as text lines, `segment_size: N` first, then a checksum); `None` for a new store. A
/// `conf` that names none is left to sled to judge.
fn sled_segment_bytes(dir: &Path) -> Option<usize> {
    let conf = std::fs::read(dir.join("conf")).ok()?;
    let line = conf.split(|&b| b == b'\n').next()?;
    let value = line.strip_prefix(b"segment_size: ")?;
    std::str::from_utf8(value).ok()?.parse().ok()
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let db = opening_step("sled", || open_sled(dir)).map_err(|source| StoreError::Open {
            path: dir.display().to_string(),
            source,
        })?;
        let log = db.open_tree(TREE)?;
        let durability = Arc::new(opening_step("sync", || durable::Durability::open(dir))?);
        let files_dir = dir.join(FILES_DIR);
        // Under sled's lock, which every process that writes payment files holds.
        files::remove_unfinished(&files_dir)?;
        Ok(Store {
            sled_snapshots: Arc::new(sled_snapshot::SledSnapshots::new(db.clone())),
            db,
            log,
            files_dir,
            dir: dir.to_path_buf(),
            durability,
        })
    }

    /// Writes the first blocks of a large group ahead of its end, without flushing, and marks
    /// the group as in progress from `group_first_seq`. Nothing here is acknowledged, so it
    /// needs no flush or sync (`append_group`'s sync covers these writes too): if the process
    /// or the machine stops before `append_group` finishes the group, opening the store
    /// discards these blocks (`discard_interrupted_group`).
    pub fn append_partial(
        &self,
        blocks: Vec<PendingBlock>,
        group_first_seq: u64,
    ) -> Result<(), StoreError> {
        let mut batch = blocks_batch(blocks);
        batch.insert(PENDING_KEY, group_first_seq.to_le_bytes().to_vec());
        self.log.apply_batch(batch)?;
        Ok(())
    }

    /// Removes the blocks of a group whose writing was interrupted (its head anchor was never
    /// written, so none of it was acknowledged). Returns the number of blocks removed. Blocks
    /// beyond the head anchor without the in-progress marker are not touched: that is
    /// tampering, which verification reports.
    pub fn discard_interrupted_group(&self) -> Result<usize, StoreError> {
        let Some(v) = self.log.get(PENDING_KEY)? else {
            return Ok(0);
        };
        let first: [u8; 8] = v
            .as_ref()
            .try_into()
            .map_err(|_| StoreError::Corrupt("bad in-progress marker".into()))?;
        let first = u64::from_le_bytes(first);
        let mut batch = Batch::default();
        let mut removed = 0;
        for prefix in [b'c', b'p'] {
            for item in self
                .log
                .range(block_key(prefix, first)..=block_key(prefix, u64::MAX))
            {
                let (k, _) = item?;
                batch.remove(k);
                removed += usize::from(prefix == b'c');
            }
        }
        batch.remove(PENDING_KEY);
        self.log.apply_batch(batch)?;
        self.flush()?;
        Ok(removed)
    }

    /// The first seq of a group whose writing was interrupted (its blocks are in the store but
    /// were never acknowledged), if any. Read-only: readers that run without the writer
    /// (`chitra verify`, `export`, `status`) stop before it, as opening would discard it.
    pub fn interrupted_group(&self) -> Result<Option<u64>, StoreError> {
        self.log
            .get(PENDING_KEY)?
            .map(|v| {
                <[u8; 8]>::try_from(v.as_ref())
                    .map(u64::from_le_bytes)
                    .map_err(|_| StoreError::Corrupt("bad in-progress marker".into()))
            })
            .transpose()
    }

    /// Writes a group of blocks and the new head anchor atomically, then makes it durable.
    /// Returns only after sled's `flush()` and the sync of what it wrote returned Ok; any error
    /// means nothing may be acknowledged.
    pub fn append_group(&self, blocks: Vec<PendingBlock>, head: Anchor) -> Result<(), StoreError> {
        let mut batch = blocks_batch(blocks);
        batch.insert(HEAD_KEY, encode_anchor(head).to_vec());
        batch.remove(PENDING_KEY);
        self.log.apply_batch(batch)?;
        self.flush()
    }

    /// sled's `flush()`, then the sync that makes it survive a crash of the machine
    /// (`durable`). Every write that is reported as done goes through here.
    fn flush(&self) -> Result<(), StoreError> {
        self.db.flush()?;
        self.durability.sync()?;
        self.sled_snapshots.after_flush();
        Ok(())
    }

    pub fn head_anchor(&self) -> Result<Option<Anchor>, StoreError> {
        match self.log.get(HEAD_KEY)? {
            None => Ok(None),
            Some(v) if v.len() == 40 => Ok(Some(Anchor {
                seq: u64::from_le_bytes(v[..8].try_into().expect("8 bytes")),
                hash: v[8..40].try_into().expect("32 bytes"),
            })),
            Some(v) => Err(StoreError::Corrupt(format!(
                "head anchor is {} bytes",
                v.len()
            ))),
        }
    }

    /// True when no record was ever written.
    pub fn is_empty(&self) -> Result<bool, StoreError> {
        Ok(self.log.scan_prefix([b'c']).next().transpose()?.is_none())
    }

    /// All blocks in sequence order, each with its personal block.
    pub fn blocks(&self) -> impl Iterator<Item = Result<StoredBlock, StoreError>> + '_ {
        self.blocks_from(0)
    }

    /// Blocks holding records from `seq` on (the first may start before `seq`).
    pub fn blocks_from(
        &self,
        seq: u64,
    ) -> impl Iterator<Item = Result<StoredBlock, StoreError>> + '_ {
        let start = self
            .log
            .range(block_key(b'c', 0)..=block_key(b'c', seq))
            .next_back()
            .and_then(|r| r.ok())
            .map(|(k, _)| k.to_vec())
            .unwrap_or_else(|| block_key(b'c', 0).to_vec());
        self.log
            .range(start..=block_key(b'c', u64::MAX).to_vec())
            .map(move |item| {
                let (key, records) = item?;
                let first_seq = key_seq(&key)?;
                let personal = self.log.get(block_key(b'p', first_seq))?;
                Ok(StoredBlock {
                    first_seq,
                    records,
                    personal,
                })
            })
    }

    /// The personal-data entries of one block, decoded.
    pub fn personal_entries(&self, first_seq: u64) -> Result<Vec<PersonalEntry>, StoreError> {
        match self.log.get(block_key(b'p', first_seq))? {
            None => Ok(Vec::new()),
            Some(v) => decode_personal_block(&v).map_err(|e| StoreError::Corrupt(e.to_string())),
        }
    }

    /// Removes the personal-data entries of the given records and makes that durable. The chain records
    /// themselves are untouched, so they still verify.
    pub fn erase_personal(&self, seqs: &[u64]) -> Result<usize, StoreError> {
        let mut erased = 0;
        let mut by_block: std::collections::BTreeMap<u64, Vec<u64>> = Default::default();
        for &seq in seqs {
            let first = self
                .log
                .range(block_key(b'c', 0)..=block_key(b'c', seq))
                .next_back()
                .transpose()?
                .map(|(k, _)| key_seq(&k))
                .transpose()?
                .ok_or_else(|| StoreError::Corrupt(format!("no block holds seq {seq}")))?;
            by_block.entry(first).or_default().push(seq);
        }
        let mut batch = Batch::default();
        for (first, drop) in by_block {
            let mut entries = self.personal_entries(first)?;
            let before = entries.len();
            entries.retain(|e| !drop.contains(&e.seq));
            if entries.len() == before {
                continue;
            }
            erased += before - entries.len();
            if entries.is_empty() {
                batch.remove(&block_key(b'p', first));
            } else {
                batch.insert(&block_key(b'p', first), encode_personal_block(&entries));
            }
        }
        if erased > 0 {
            self.log.apply_batch(batch)?;
            self.flush()?;
        }
        Ok(erased)
    }

    /// Keeps payment files' bytes under their blake3 digests, durably (each file and the
    /// directory fsynced), before the chain records that they were issued, so an issued file
    /// is never missing. Files are written in parallel; a file already kept is left alone.
    pub fn put_files(&self, files: &[(&[u8; 32], &[u8])]) -> Result<(), StoreError> {
        self.create_files_dir()?;
        let results: Vec<Result<(), StoreError>> = std::thread::scope(|s| {
            let handles: Vec<_> = files
                .iter()
                .map(|(digest, bytes)| s.spawn(move || self.write_file(digest, bytes)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("file writer"))
                .collect()
        });
        results.into_iter().collect::<Result<(), _>>()?;
        self.sync_files()
    }

    fn create_files_dir(&self) -> Result<(), StoreError> {
        match std::fs::create_dir(&self.files_dir) {
            // The new directory's name is durable only once the data directory is synced.
            Ok(()) => self.durability.created_dir(),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(io_error(&self.files_dir, e)),
        }
    }

    /// One file of `put_files`, written as a release writes its files (`FileWriter`).
    fn write_file(&self, digest: &[u8; 32], bytes: &[u8]) -> Result<(), StoreError> {
        use std::io::Write as _;
        if self.files_dir.join(crate::chain::hex(digest)).exists() {
            return Ok(());
        }
        let mut out = self.new_file()?;
        out.write_all(bytes).map_err(|e| io_error(out.path(), e))?;
        match out.keep()?.digest == *digest {
            true => Ok(()),
            false => Err(StoreError::Corrupt(format!(
                "the bytes given for payment file {} have another digest",
                crate::chain::hex(digest)
            ))),
        }
    }

    /// A kept payment file's bytes (the caller checks them against the recorded digest).
    pub fn get_file(&self, digest: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.files_dir.join(crate::chain::hex(digest));
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io_error(&path, e)),
        }
    }

    pub fn record_verified(&self, at_ms: i64, records: u64) -> Result<(), StoreError> {
        let mut v = Vec::with_capacity(16);
        v.extend_from_slice(&at_ms.to_le_bytes());
        v.extend_from_slice(&records.to_le_bytes());
        self.log.insert(VERIFIED_KEY, v)?;
        self.flush()
    }

    pub fn last_verified(&self) -> Result<Option<(i64, u64)>, StoreError> {
        Ok(self.log.get(VERIFIED_KEY)?.and_then(|v| {
            (v.len() == 16).then(|| {
                (
                    i64::from_le_bytes(v[..8].try_into().expect("8 bytes")),
                    u64::from_le_bytes(v[8..].try_into().expect("8 bytes")),
                )
            })
        }))
    }

    /// Bytes on disk, for status output.
    /// The data directory the store lives in.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}

fn blocks_batch(blocks: Vec<PendingBlock>) -> Batch {
    let mut batch = Batch::default();
    for b in blocks {
        if !b.personal.is_empty() {
            batch.insert(
                &block_key(b'p', b.first_seq),
                encode_personal_block(&b.personal),
            );
        }
        batch.insert(&block_key(b'c', b.first_seq), b.records);
    }
    batch
}

fn encode_anchor(a: Anchor) -> [u8; 40] {
    let mut v = [0u8; 40];
    v[..8].copy_from_slice(&a.seq.to_le_bytes());
    v[8..].copy_from_slice(&a.hash);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store created now has larger segments; one created with sled's old default keeps it,
    /// since sled refuses to reopen a store with another size.
    #[test]
    fn a_store_keeps_the_segment_size_it_was_created_with() {
        let new = tempfile::tempdir().unwrap();
        drop(Store::open(new.path()).unwrap());
        assert_eq!(sled_segment_bytes(new.path()), Some(SLED_SEGMENT_BYTES_NEW));

        let old = tempfile::tempdir().unwrap();
        let created = sled::Config::new().path(old.path()).open().unwrap();
        created.insert(b"k", b"v".to_vec()).unwrap();
        created.flush().unwrap();
        drop(created);
        assert_eq!(sled_segment_bytes(old.path()), Some(512 << 10));
        let store = Store::open(old.path()).unwrap();
        assert_eq!(store.db.get(b"k").unwrap().as_deref(), Some(&b"v"[..]));
        drop(store);
        assert_eq!(sled_segment_bytes(old.path()), Some(512 << 10));
    }
}
