//! The frozen files' bytes as the state reads them (`domain::state::FrozenBytes`): mapped, and
//! checked a chunk at a time, on the chunk's first read, against the digests a snapshot of
//! format 7 keeps of each chunk (`docs/chain-format.md` §8).
//!
//! Checking them whole before a start used (1.6 GB after two years of a million people's
//! payments) made opening read bytes in proportion to history; checked on first read, opening
//! reads none of them (replaying the records after the snapshot reads what they touch), and
//! each chunk is checked before any byte of it is handed out, as sled checks each message and
//! redb each page. A chunk is checked once per map: a page the kernel drops and reads again
//! later is not checked again (as it was not when the files were checked whole at opening).
//!
//! A chunk that does not match stops the process (`stop_on_damage`): the state cannot go on
//! without bytes it already counts as frozen, and acting on a wrong payment line is the failure
//! that matters. Before stopping, the file is set aside and the snapshots beside it removed, so
//! the next start replays the chain (which holds every record; the frozen files are derived
//! from it) and writes the file anew.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::domain::state::FrozenBytes;
use crate::store::{self, Store, StoreError};

/// The bytes of each checked chunk of a frozen file (a multiple of the page size, and a
/// divisor of the store's hashing window, `store::FROZEN_HASH_WINDOW_BYTES`); a format
/// constant of snapshot format 7. A quarter of a mebibyte: a person's history touches about
/// one chunk per snapshot that found them changed, so reading it cold reads a few mebibytes,
/// and two years of a million people's files keep 6,261 digests (100 KiB) in a snapshot.
pub const FROZEN_CHUNK_BYTES: usize = 256 << 10;

// The store hashes a window at a time (`chunk_sums_of`): each window must be whole chunks.
const _: () = assert!(store::FROZEN_HASH_WINDOW_BYTES % FROZEN_CHUNK_BYTES as u64 == 0);

/// The digest of one chunk: XXH3-128, canonical (big-endian), as the snapshot's own trailer.
pub type ChunkSum = [u8; 16];

/// The exit code of a process stopped by a damaged chunk (`EX_IOERR` of `sysexits.h`).
pub const FROZEN_DAMAGED_EXIT_CODE: i32 = 74;

pub fn chunk_sum(bytes: &[u8]) -> ChunkSum {
    xxhash_rust::xxh3::xxh3_128(bytes).to_be_bytes()
}

/// How many chunks `bytes` bytes make.
pub fn chunks_in(bytes: u64) -> u64 {
    bytes.div_ceil(FROZEN_CHUNK_BYTES as u64)
}

/// The digest of each chunk of the first `len` bytes of a frozen file (`None`: it is shorter).
///
/// `mapped` is the same file as the state maps it, if it is checked by chunks: the digests of
/// its whole chunks are kept, not computed again, since no byte a process maps is ever written
/// again (`store::frozen`). So a snapshot reads only the bytes written since the last (two
/// years of files are 1.6 GB), and never blesses a damaged chunk that nobody read yet with a
/// digest of the damage: the chunk keeps the digest of the bytes that were frozen. The one
/// partial chunk at the end of what is mapped is read through the map first, so it is checked
/// before its new digest (with the bytes appended after it) is taken.
pub fn chunk_sums_of(
    store: &Store,
    file: store::Frozen,
    len: u64,
    mapped: Option<&CheckedFrozen>,
) -> Result<Option<Vec<ChunkSum>>, StoreError> {
    let mut sums = Vec::with_capacity(chunks_in(len) as usize);
    let mut from = 0;
    if let Some(m) = mapped {
        // A snapshot names at least what the state maps: its rows and entries stay frozen.
        if m.len() as u64 > len {
            return Err(StoreError::Corrupt(format!(
                "{file:?}: a snapshot would name {len} bytes of the {} mapped",
                m.len()
            )));
        }
        let kept = m.len() / FROZEN_CHUNK_BYTES;
        m.read(kept * FROZEN_CHUNK_BYTES..m.len());
        sums.extend_from_slice(&m.sums[..kept]);
        from = (kept * FROZEN_CHUNK_BYTES) as u64;
    }
    // The store's windows are whole chunks but for the last one.
    let whole = len == from
        || store.hash_frozen(file, from, len, &mut |window| {
            sums.extend(window.chunks(FROZEN_CHUNK_BYTES).map(chunk_sum))
        })?;
    debug_assert!(!whole || sums.len() as u64 == chunks_in(len));
    Ok(whole.then_some(sums))
}

/// A chunk found damaged: its index and its bytes in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    pub path: PathBuf,
    pub chunk: usize,
    pub bytes: Range<usize>,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: bytes {}..{} are not the ones a snapshot froze",
            self.path.display(),
            self.bytes.start,
            self.bytes.end
        )
    }
}

/// What a damaged chunk does to the process (`stop_on_damage` in the ledger, a panic in tests).
pub type OnDamage = fn(&Damage) -> !;

/// Sets the damaged file aside (renamed to `<name>.damaged`, replacing an older one, and the
/// snapshots beside it removed, `store::set_frozen_aside`), says so, and ends the process.
/// Nothing acknowledged is lost: every record is durable in the chain before it is
/// acknowledged, and the next start replays it.
pub fn stop_on_damage(damage: &Damage) -> ! {
    let (aside, next) = match store::set_frozen_aside(&damage.path) {
        Ok(path) => (
            format!("the file was set aside as {}", path.display()),
            "Start chitra again: it replays the chain (every record is there) and writes the \
             file anew."
                .to_owned(),
        ),
        // Left as it is, the next start would open from the same snapshot and stop again.
        Err(e) => (
            format!("the file could not be set aside ({e})"),
            format!(
                "Remove the snapshots (state-*.snap) in {} and start chitra again: it then \
                 replays the chain (every record is there).",
                damage.path.parent().unwrap_or(&damage.path).display()
            ),
        ),
    };
    tracing::error!(%damage, %aside, "a frozen file is damaged; stopping");
    eprintln!("chitra: stopped: {damage}; {aside}. {next}");
    std::process::exit(FROZEN_DAMAGED_EXIT_CODE)
}

/// A mapped frozen file whose chunks are checked on first read.
pub struct CheckedFrozen {
    map: memmap2::Mmap,
    path: PathBuf,
    sums: Arc<[ChunkSum]>,
    checked: Box<[AtomicBool]>,
    on_damage: OnDamage,
}

impl CheckedFrozen {
    /// `map` holds the bytes the snapshot named, `sums` one digest per chunk of them.
    pub fn new(
        map: memmap2::Mmap,
        path: PathBuf,
        sums: Arc<[ChunkSum]>,
        on_damage: OnDamage,
    ) -> Result<CheckedFrozen, String> {
        if chunks_in(map.len() as u64) != sums.len() as u64 {
            return Err(format!(
                "{} digests for {} bytes of {}",
                sums.len(),
                map.len(),
                path.display()
            ));
        }
        let checked = sums.iter().map(|_| AtomicBool::new(false)).collect();
        Ok(CheckedFrozen {
            map,
            path,
            sums,
            checked,
            on_damage,
        })
    }

    /// The bytes of `chunk` in the file.
    fn bytes_of(&self, chunk: usize) -> Range<usize> {
        let from = chunk * FROZEN_CHUNK_BYTES;
        from..(from + FROZEN_CHUNK_BYTES).min(self.map.len())
    }

    /// Whether `chunk` holds the bytes its digest names (checked once; two readers may check
    /// the same chunk at once, and both find the same).
    fn holds(&self, chunk: usize) -> bool {
        if self.checked[chunk].load(Ordering::Acquire) {
            return true;
        }
        let holds = chunk_sum(&self.map[self.bytes_of(chunk)]) == self.sums[chunk];
        self.checked[chunk].store(holds, Ordering::Release);
        holds
    }

    fn check(&self, chunk: usize) {
        if !self.holds(chunk) {
            (self.on_damage)(&Damage {
                path: self.path.clone(),
                chunk,
                bytes: self.bytes_of(chunk),
            });
        }
    }

    /// The bytes of the first chunk that does not hold what its digest names, every chunk not
    /// checked yet checked now: what `chitra verify` reports instead of stopping. The chunks
    /// that hold are not hashed again when read.
    pub fn first_damaged(&self) -> Option<Range<usize>> {
        let damaged = (0..self.sums.len()).find(|&c| !self.holds(c));
        damaged.map(|c| self.bytes_of(c))
    }
}

impl FrozenBytes for CheckedFrozen {
    fn len(&self) -> usize {
        self.map.len()
    }

    fn read(&self, range: Range<usize>) -> &[u8] {
        if !range.is_empty() {
            let first = range.start / FROZEN_CHUNK_BYTES;
            let last = (range.end - 1) / FROZEN_CHUNK_BYTES;
            (first..=last).for_each(|c| self.check(c));
        }
        &self.map[range]
    }
}

/// The frozen files the state maps, where they are checked by chunks: what the next snapshot
/// keeps the digests of (`chunk_sums_of`).
#[derive(Clone, Default)]
pub struct Mapped {
    pub rows: Option<Arc<CheckedFrozen>>,
    pub histories: Option<Arc<CheckedFrozen>>,
}

/// A frozen file checked whole before it was mapped (snapshots of formats 4 to 6).
pub struct WholeChecked(pub memmap2::Mmap);

impl FrozenBytes for WholeChecked {
    fn len(&self) -> usize {
        self.0.len()
    }

    fn read(&self, range: Range<usize>) -> &[u8] {
        &self.0[range]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn panics(damage: &Damage) -> ! {
        panic!("damaged chunk {}", damage.chunk)
    }

    fn mapped(bytes: &[u8]) -> (tempfile::NamedTempFile, memmap2::Mmap) {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        file.flush().unwrap();
        let map = unsafe { memmap2::Mmap::map(file.as_file()) }.unwrap();
        (file, map)
    }

    fn sums(bytes: &[u8]) -> Arc<[ChunkSum]> {
        bytes.chunks(FROZEN_CHUNK_BYTES).map(chunk_sum).collect()
    }

    /// Given three and a half chunks, when one byte of the third changes after the digests
    /// were taken, then reads within the other chunks give their bytes and a read that touches
    /// the third, however little of it, stops.
    #[test]
    fn a_read_touching_a_damaged_chunk_stops_and_others_read() {
        let bytes: Vec<u8> = (0..FROZEN_CHUNK_BYTES * 7 / 2)
            .map(|i| (i % 251) as u8)
            .collect();
        let named = sums(&bytes);
        let mut damaged = bytes.clone();
        damaged[2 * FROZEN_CHUNK_BYTES + 17] ^= 0x01;
        let (file, map) = mapped(&damaged);
        let checked = CheckedFrozen::new(map, file.path().into(), named, panics).unwrap();
        let c = FROZEN_CHUNK_BYTES;
        assert_eq!(checked.read(10..20), &bytes[10..20]);
        assert_eq!(checked.read(c - 3..c + 3), &bytes[c - 3..c + 3]);
        assert_eq!(checked.read(3 * c..bytes.len()), &bytes[3 * c..]);
        assert_eq!(checked.read(2 * c..2 * c), &[] as &[u8]);
        assert_eq!(checked.first_damaged(), Some(2 * c..3 * c));
        for range in [
            2 * c - 1..2 * c + 1,
            2 * c + 17..2 * c + 18,
            3 * c - 1..3 * c,
        ] {
            let read = std::panic::catch_unwind(|| checked.read(range.clone()).to_vec());
            let message = read.expect_err("a damaged chunk was read");
            assert_eq!(message.downcast_ref::<String>().unwrap(), "damaged chunk 2");
        }
    }

    /// Given a frozen file of three and a half chunks mapped with its digests, a byte of the
    /// second chunk damaged on disk (nobody read it) and bytes appended, when the next
    /// snapshot's digests are taken, then the second chunk keeps the digest of what was frozen
    /// (the damage stays found), the chunk that was partial gets the digest of its bytes now,
    /// and a damaged partial chunk stops instead of being given a digest of the damage.
    #[test]
    fn a_snapshot_keeps_the_digests_of_the_chunks_mapped_and_blesses_no_damage() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let file = store::Frozen::PaymentRows;
        let c = FROZEN_CHUNK_BYTES;
        let bytes: Vec<u8> = (0..c * 7 / 2).map(|i| (i % 253) as u8).collect();
        store
            .write_frozen(file, 0, |out| out.write_all(&bytes))
            .unwrap();
        let map = store.map_frozen(file, bytes.len() as u64).unwrap();
        let path = store.frozen_path(file);
        let mapped = CheckedFrozen::new(map, path.clone(), sums(&bytes), panics).unwrap();

        let mut on_disk = bytes.clone();
        on_disk[c + 5] ^= 0x01;
        on_disk.extend((0..c).map(|i| (i % 7) as u8));
        std::fs::write(&path, &on_disk).unwrap();
        let len = on_disk.len() as u64;
        let got = chunk_sums_of(&store, file, len, Some(&mapped))
            .unwrap()
            .unwrap();
        let mut want = sums(&on_disk).to_vec();
        want[1] = sums(&bytes)[1];
        assert_eq!(got, want);
        let fresh = chunk_sums_of(&store, file, len, None).unwrap().unwrap();
        assert_ne!(
            fresh[1], got[1],
            "without the map, the damage is all there is"
        );

        // In a process that has not read the partial chunk yet (this one has, just above).
        on_disk[3 * c + 9] ^= 0x01;
        std::fs::write(&path, &on_disk).unwrap();
        let map = store.map_frozen(file, bytes.len() as u64).unwrap();
        let mapped = CheckedFrozen::new(map, path, sums(&bytes), panics).unwrap();
        let taking = || chunk_sums_of(&store, file, len, Some(&mapped));
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(taking));
        let message = read.expect_err("a damaged partial chunk was given a digest");
        assert_eq!(message.downcast_ref::<String>().unwrap(), "damaged chunk 3");
    }

    /// Digests that do not cover the bytes mapped are refused before anything is read.
    #[test]
    fn digests_for_other_bytes_are_refused() {
        let bytes = vec![7u8; FROZEN_CHUNK_BYTES + 1];
        let (file, map) = mapped(&bytes);
        let one = sums(&bytes[..FROZEN_CHUNK_BYTES]);
        assert!(CheckedFrozen::new(map, file.path().into(), one, panics).is_err());
    }
}
