//! The frozen files beside the snapshots (`<data dir>/state-snapshots/`): `payment-rows`, the
//! fixed-width bytes of every payment line up to the newest snapshot, and `histories`, each
//! person's record history up to it, which the state maps instead of holding in memory
//! (`domain::state::PaymentTable`, `domain::state::FrozenHistories`). Bytes are only ever
//! written at or beyond those a process has mapped, so a map never sees its bytes change under
//! it; which bytes a snapshot trusts, and their digest, is `ledger::snapshot`'s business. Like
//! the snapshots, they are shortcuts derived from the chain, never the only copy of anything.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use super::snapshots::SNAPSHOTS_DIR;
use super::{io_error, Store, StoreError};

/// A file of frozen state beside the snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frozen {
    PaymentRows,
    Histories,
}

impl Frozen {
    fn name(self) -> &'static str {
        match self {
            Frozen::PaymentRows => "payment-rows",
            Frozen::Histories => "histories",
        }
    }
}

/// How much of a frozen file is mapped at once to hash it (a multiple of the page size, and
/// of the chunk a snapshot checks, `ledger::frozen::FROZEN_CHUNK_BYTES`).
pub const FROZEN_HASH_WINDOW_BYTES: u64 = 64 << 20;

/// Renames a damaged frozen file to `<name>.damaged` (replacing an older one), removes the
/// snapshots beside it and syncs the directory, so that no snapshot naming its bytes is used
/// again (an older one could otherwise open once the file is written anew, and find its bytes
/// changed): the next opening replays the chain and writes the file anew. Snapshots are
/// shortcuts, never the only copy of anything. Returns the new path.
pub fn set_frozen_aside(path: &std::path::Path) -> std::io::Result<PathBuf> {
    let mut aside = path.as_os_str().to_owned();
    aside.push(".damaged");
    let aside = PathBuf::from(aside);
    std::fs::rename(path, &aside)?;
    // The file is `<data dir>/state-snapshots/<name>`.
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let data_dir = dir.parent().unwrap_or(std::path::Path::new("."));
    for (_, snapshot) in super::snapshots::snapshots_in(data_dir) {
        std::fs::remove_file(snapshot)?;
    }
    File::open(dir)?.sync_all()?;
    Ok(aside)
}

impl Store {
    pub fn frozen_path(&self, file: Frozen) -> PathBuf {
        self.dir.join(SNAPSHOTS_DIR).join(file.name())
    }

    /// The bytes in a frozen file (0 when there is none).
    pub fn frozen_len(&self, file: Frozen) -> u64 {
        std::fs::metadata(self.frozen_path(file)).map_or(0, |m| m.len())
    }

    /// Writes bytes at `offset` of a frozen file with `write`, durably, creating the file
    /// (owner-only, like the snapshots) if need be. `offset` is at most the file's length: a
    /// gap would be bytes of zeros.
    pub fn write_frozen(
        &self,
        file: Frozen,
        offset: u64,
        write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let path = self.frozen_path(file);
        let name = file.name();
        let dir = self.dir.join(SNAPSHOTS_DIR);
        if !dir.exists() {
            std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, e))?;
            self.durability.created_dir()?;
        }
        let created = !path.exists();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true);
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| io_error(&path, e))?;
        let len = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if offset > len {
            return Err(StoreError::Corrupt(format!(
                "{} written at byte {offset} of a file of {len}",
                name
            )));
        }
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| io_error(&path, e))?;
        let mut out = BufWriter::with_capacity(1 << 20, &mut file);
        write(&mut out).map_err(|e| io_error(&path, e))?;
        out.flush().map_err(|e| io_error(&path, e))?;
        drop(out);
        file.sync_data().map_err(|e| io_error(&path, e))?;
        if created {
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| io_error(&dir, e))?;
        }
        Ok(())
    }

    /// Feeds bytes `from..len` of a frozen file to `hash` in order, in windows of
    /// `FROZEN_HASH_WINDOW_BYTES` from `from` (a multiple of the page size); `false` (and
    /// nothing fed) when the file is shorter or missing. Which checksum is the snapshot's
    /// business.
    /// The bytes are mapped a window at a time and each window unmapped once fed: hashing
    /// from the page cache without copying (reading 64 KiB at a time spent a fifth of the
    /// hashing in the copy), and without the whole file becoming resident in this process.
    pub fn hash_frozen(
        &self,
        file: Frozen,
        from: u64,
        len: u64,
        hash: &mut dyn FnMut(&[u8]),
    ) -> Result<bool, StoreError> {
        let path = self.frozen_path(file);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io_error(&path, e)),
        };
        if file.metadata().map_err(|e| io_error(&path, e))?.len() < len {
            return Ok(false);
        }
        let mut offset = from;
        while offset < len {
            let window = (len - offset).min(FROZEN_HASH_WINDOW_BYTES);
            // SAFETY: as in `map_frozen`; the window is unmapped before the next is mapped.
            let map = unsafe {
                memmap2::MmapOptions::new()
                    .offset(offset)
                    .len(window as usize)
                    .map(&file)
            }
            .map_err(|e| io_error(&path, e))?;
            // Read ahead of the hashing, a cold page cache being read once, in order.
            let _ = map.advise(memmap2::Advice::Sequential);
            hash(&map);
            offset += window;
        }
        Ok(true)
    }

    /// Maps the first `len` bytes (more than zero) of a frozen file, read-only.
    pub fn map_frozen(&self, file: Frozen, len: u64) -> Result<memmap2::Mmap, StoreError> {
        let path = self.frozen_path(file);
        let name = file.name();
        let file = File::open(&path).map_err(|e| io_error(&path, e))?;
        let have = file.metadata().map_err(|e| io_error(&path, e))?.len();
        if have < len || len == 0 {
            return Err(StoreError::Corrupt(format!(
                "{} holds {have} bytes, not the {len} mapped",
                name
            )));
        }
        let len = usize::try_from(len).map_err(|_| StoreError::Corrupt("rows too long".into()))?;
        // SAFETY: chitra writes this file only at or beyond the bytes any of its processes has
        // mapped (`write_frozen` is called from the bytes a state already holds frozen),
        // and never truncates it, so the mapped bytes neither change nor vanish while mapped.
        // A person editing the file by hand could change them, as with sled's own files; the
        // snapshot's digests (each chunk on its first read, `ledger::frozen`; the whole file
        // before mapping, for snapshots before format 7) and `chitra verify` find that.
        unsafe { memmap2::MmapOptions::new().len(len).map(&file) }.map_err(|e| io_error(&path, e))
    }
}
