//! Makes what sled wrote survive a crash of the machine, not only of the process, before the
//! store reports a write as done.
//!
//! sled 0.34.7 as published writes its log with `pwrite` into the data directory's `db` file
//! and then calls `sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER)` on the written range.
//! That starts and waits for the write-back of the data pages, but it is not a durability call:
//! it does not commit the file's size or block allocation (on ext4 those stay in the running
//! journal transaction, committed only every few seconds or by an fsync), and it does not flush
//! the device's volatile write cache. So after `flush()` returned Ok, a power cut (or `mount -o
//! remount,abort`) could still lose the tail of the log: with a loop-mounted ext4 store, 9 of
//! 4,447 acknowledged enrolments were lost that way. Worse, sled marks what it wrote stable at
//! that point and frees and reuses old segments on the strength of it, so a cut could also
//! leave a store that no longer opens; chitra therefore builds a patched copy of sled
//! (`vendor/sled`, `vendor/README.md`) whose log writes are `fdatasync`ed before they count as
//! stable, whose blobs are synced when written, and whose snapshots are renamed durably
//! (`tests/storage_cut_sled.rs` cuts the storage under sled alone).
//!
//! This module still syncs everything sled wrote after each flush, before an acknowledgement:
//! the data directory's names (sled creates `conf`, `db`, `blobs/` and snapshots without
//! syncing the directory), and, once more, the log and the blobs. For the log that second
//! `fdatasync` finds nothing dirty and costs little; it is kept so that the promise made at an
//! acknowledgement rests on a sync this crate makes, not only on the patch.
//!
//! What sled writes in the data directory, read from sled 0.34.7's source as published (the
//! vendored copy adds the syncs `vendor/README.md` lists), and the sync each needs here:
//!
//! - `db`: the log and its segments, written with `pwrite` and grown as segments are added
//!   (`pagecache/iobuf.rs`); truncations are already followed by sled's `sync_all`. After every
//!   flush we `fdatasync` it through a handle kept open for the store's life: that commits the
//!   data pages, the size and the allocation, and flushes the device cache. `fdatasync` acts on
//!   the file, not the descriptor, so it covers sled's writes through its own descriptor.
//! - `blobs/<lsn>`: a value too large for a log slot (above a quarter of a segment: 512 KiB in a
//!   store created now, 128 KiB in one created with sled's old default of 512 KiB, e.g. a
//!   large record block or tree node) goes to its own file, created with `create_new` and `write_all`
//!   and never synced by sled (`pagecache/blob_io.rs`); the log only holds a pointer to it. A
//!   log entry whose blob did not survive is skipped on recovery, so the page reverts; a blob
//!   cut short fails its CRC and ends recovery there, dropping every later write. After a
//!   flush we `fsync` every blob file that is new or whose length changed since the last sync
//!   (sled never rewrites a finished blob: a new value is a new file named by a new LSN; the
//!   length check catches one that a concurrent sled write was still filling when we listed
//!   it), then `blobs/` itself so their names survive.
//! - `conf`: written once when the store is created, without a sync (`config.rs`).
//! - `snap.<lsn>`: snapshots, synced by sled but renamed into place and old ones removed
//!   without syncing the directory (`pagecache/snapshot.rs`).
//! - the `blobs/` directory and the data directory itself: created on first open.
//!
//! For those last three we `fsync` the data directory whenever its list of names differs from
//! the one at the previous sync, and at open we sync everything once: one `syncfs` of the file
//! system that holds the data directory (`conf`, `db`, every blob, `blobs/`, the data
//! directory), then the data directory's parent, which holds its own name when it was just
//! created. The sync at open also covers pages an earlier process wrote but never synced
//! before it was killed: sled's recovery may take them as part of the store, and what is
//! acknowledged next is built on them. It used to be an `fsync` of each file; at 24 monthly
//! runs for a million people that was 8,646 blob files and a second of every start.
//!
//! A failed sync is final for this handle: Linux may drop the dirty pages of a failed
//! write-back and report a later `fsync` as Ok, so once one fails, every later sync fails with
//! the first error and nothing more is acknowledged until the store is reopened (the writer
//! stops on it, as it does on a failed flush).

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsString;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::StoreError;

/// sled's blob directory inside the data directory.
const BLOBS_DIR: &str = "blobs";
/// sled's log file inside the data directory.
const DB_FILE: &str = "db";

pub(super) struct Durability {
    dir: PathBuf,
    blobs_dir: PathBuf,
    /// sled's `db`, opened once: every group's sync is one `fdatasync` and no `open`.
    db: File,
    seen: Mutex<Seen>,
}

/// What the last sync made durable.
#[derive(Default)]
struct Seen {
    /// Names in the data directory.
    dir_names: BTreeSet<OsString>,
    /// Blob files already synced, with the length they were synced at.
    blobs: BTreeMap<OsString, u64>,
    /// The first sync error; once set, every sync fails with it.
    failed: Option<String>,
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn sync_path(path: &Path) -> Result<(), StoreError> {
    File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(path, e))
}

/// Makes everything written to the file system that holds `dir` durable, with one `syncfs`
/// instead of an `fsync` per file: at opening, a ledger's thousands of sled blob files took
/// about a second of `fsync`s even when none had anything left to write. Like `fsync`, it
/// reports a write-back error that nobody saw yet, also one from before this process. It also
/// writes back whatever else is pending on that file system (a start beside a build that had
/// just written 110 MB took a second here): a data directory is best on a file system of its
/// own.
fn sync_file_system(dir: &Path) -> Result<(), StoreError> {
    use std::os::fd::AsRawFd;
    let d = File::open(dir).map_err(|e| io_error(dir, e))?;
    // SAFETY: `d` is an open descriptor for the whole call; `syncfs` only reads it.
    if unsafe { libc::syncfs(d.as_raw_fd()) } != 0 {
        return Err(io_error(dir, std::io::Error::last_os_error()));
    }
    Ok(())
}

fn names(dir: &Path) -> Result<BTreeSet<OsString>, StoreError> {
    std::fs::read_dir(dir)
        .and_then(|entries| entries.map(|e| e.map(|e| e.file_name())).collect())
        .map_err(|e| io_error(dir, e))
}

impl Durability {
    /// Opens sled's `db` for syncing and makes everything already in the data directory
    /// durable (see the module comment). Call after sled opened the store.
    pub(super) fn open(dir: &Path) -> Result<Durability, StoreError> {
        let db_path = dir.join(DB_FILE);
        let db = File::open(&db_path).map_err(|e| io_error(&db_path, e))?;
        let d = Durability {
            dir: dir.to_path_buf(),
            blobs_dir: dir.join(BLOBS_DIR),
            db,
            seen: Mutex::new(Seen::default()),
        };
        let mut seen = d.seen.lock().expect("durability lock");
        sync_file_system(dir)?;
        // Everything listed now is durable: later sweeps sync only what sled adds or grows.
        seen.blobs = d.blob_lengths()?;
        seen.dir_names = names(dir)?;
        // The data directory's own name, in case it was just created (the parent may be on
        // another file system when the data directory is a mount point).
        let parent = d.dir.parent().filter(|p| !p.as_os_str().is_empty());
        sync_path(parent.unwrap_or(Path::new(".")))?;
        drop(seen);
        Ok(d)
    }

    /// Each blob file's length, by name (none that sled removed meanwhile).
    fn blob_lengths(&self) -> Result<BTreeMap<OsString, u64>, StoreError> {
        let mut blobs = BTreeMap::new();
        let entries =
            std::fs::read_dir(&self.blobs_dir).map_err(|e| io_error(&self.blobs_dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&self.blobs_dir, e))?;
            match entry.metadata() {
                Ok(m) => {
                    blobs.insert(entry.file_name(), m.len());
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error(&entry.path(), e)),
            }
        }
        Ok(blobs)
    }

    /// Makes everything sled has written so far durable. Call after `flush()` returned Ok and
    /// before reporting the write as done.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.latched(|seen| self.sync_locked(seen))
    }

    /// Makes a directory just created inside the data directory durable under its name.
    pub(super) fn created_dir(&self) -> Result<(), StoreError> {
        self.latched(|_| sync_path(&self.dir))
    }

    /// Runs a sync unless one failed before; a failure is kept for every later call.
    fn latched(
        &self,
        sync: impl FnOnce(&mut Seen) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut seen = self.seen.lock().expect("durability lock");
        if let Some(first) = &seen.failed {
            return Err(StoreError::SyncFailed(first.clone()));
        }
        let result = sync(&mut seen);
        if let Err(e) = &result {
            seen.failed = Some(e.to_string());
        }
        result
    }

    fn sync_locked(&self, seen: &mut Seen) -> Result<(), StoreError> {
        // The log's pages, size and allocation, and the device cache.
        self.db
            .sync_data()
            .map_err(|e| io_error(&self.dir.join(DB_FILE), e))?;
        // Blobs sled created or grew since the last sync, then their names.
        let mut blobs = self.blob_lengths()?;
        let mut added = false;
        let mut removed = Vec::new();
        for (name, len) in &blobs {
            let synced = seen.blobs.get(name);
            if synced == Some(len) {
                continue;
            }
            let path = self.blobs_dir.join(name);
            match File::open(&path).and_then(|f| f.sync_all()) {
                Ok(()) => added |= synced.is_none(),
                // sled removed it meanwhile: a superseded value, nothing to keep.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => removed.push(name.clone()),
                Err(e) => return Err(io_error(&path, e)),
            }
        }
        for name in removed {
            blobs.remove(&name);
        }
        if added {
            sync_path(&self.blobs_dir)?;
        }
        seen.blobs = blobs;
        // Files created, renamed or removed in the data directory (snapshots, on first open
        // `conf`, `db`, `blobs/`).
        let dir_names = names(&self.dir)?;
        if dir_names != seen.dir_names {
            sync_path(&self.dir)?;
            seen.dir_names = dir_names;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Store;
    use super::*;

    /// Once a sync failed, the store reports every later write as failed, even when the cause
    /// is gone, until it is reopened.
    #[test]
    fn a_failed_sync_fails_every_later_write_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.record_verified(1, 0).unwrap();
        let blobs = dir.path().join(BLOBS_DIR);
        let aside = dir.path().join("blobs-aside");
        std::fs::rename(&blobs, &aside).unwrap();
        let first = store.record_verified(2, 0).unwrap_err();
        assert!(matches!(first, StoreError::Io { .. }), "{first}");
        std::fs::rename(&aside, &blobs).unwrap();
        let later = store.record_verified(3, 0).unwrap_err();
        assert!(
            matches!(&later, StoreError::SyncFailed(why) if why == &first.to_string()),
            "{later}"
        );
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        store.record_verified(4, 0).unwrap();
        assert_eq!(store.last_verified().unwrap(), Some((4, 0)));
    }
}
