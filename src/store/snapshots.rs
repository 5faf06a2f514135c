//! Snapshot files of the state (`<data dir>/state-snapshots/state-<records>.snap`): written
//! whole under a temporary name, synced, renamed and the directory synced, so that a crash
//! leaves either the old set or the new file complete. What the bytes mean is
//! `ledger::snapshot`'s business; a snapshot is only ever a shortcut for opening, never the
//! only copy of anything (the chain is).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{io_error, Store, StoreError};

/// Where snapshots are kept, inside the data directory.
pub const SNAPSHOTS_DIR: &str = "state-snapshots";
/// Snapshots kept: the newest and the one before it (should the newest be unusable).
const SNAPSHOTS_KEPT: usize = 2;

/// Snapshots in the data directory `data_dir`, newest first, with the records each reflects.
/// Listing them needs no store: a snapshot is never changed once it has its name, so opening
/// reads the newest one while sled opens (`ledger::snapshot::open_beside_newest`).
pub fn snapshots_in(data_dir: &Path) -> Vec<(u64, PathBuf)> {
    let dir = data_dir.join(SNAPSHOTS_DIR);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut found: Vec<(u64, PathBuf)> = entries
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let records = name.strip_prefix("state-")?.strip_suffix(".snap")?;
            Some((records.parse().ok()?, e.path()))
        })
        .collect();
    found.sort_by_key(|f| std::cmp::Reverse(f.0));
    found
}

impl Store {
    /// Snapshots in the data directory, newest first, with the records each reflects.
    pub fn snapshots(&self) -> Vec<(u64, PathBuf)> {
        snapshots_in(&self.dir)
    }

    /// Writes the snapshot of the state after `records` records with `write`, durably, and
    /// removes all but the newest few.
    pub fn write_snapshot(
        &self,
        records: u64,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<PathBuf, StoreError> {
        let dir = self.dir.join(SNAPSHOTS_DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            self.durability.created_dir()?;
        }
        let path = dir.join(format!("state-{records:020}.snap"));
        let partial = dir.join(format!("state-{records:020}.partial"));
        // Owner-only, like the token file and the key: a snapshot holds personal data in the
        // clear (names, citizen IDs, accounts), which the chain itself keeps only as commitments.
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&partial).map_err(|e| io_error(&partial, e))?;
        // Unbuffered: `write` buffers what it writes itself.
        write(&mut file).map_err(|e| io_error(&partial, e))?;
        file.sync_all().map_err(|e| io_error(&partial, e))?;
        std::fs::rename(&partial, &path).map_err(|e| io_error(&path, e))?;
        sync_dir(&dir)?;
        for (_, old) in self.snapshots().into_iter().skip(SNAPSHOTS_KEPT) {
            let _ = std::fs::remove_file(old);
        }
        Ok(path)
    }

    /// Removes every snapshot of `records` records or fewer, durably: after an erasure of
    /// personal data, the snapshots taken before it still hold that data.
    pub fn remove_snapshots(&self, records: u64) -> Result<(), StoreError> {
        let old: Vec<_> = self
            .snapshots()
            .into_iter()
            .filter(|(r, _)| *r <= records)
            .collect();
        for (_, path) in &old {
            std::fs::remove_file(path).map_err(|e| io_error(path, e))?;
        }
        if !old.is_empty() {
            sync_dir(&self.dir.join(SNAPSHOTS_DIR))?;
        }
        Ok(())
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_error(dir, e))
}
