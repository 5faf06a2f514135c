//! Snapshots of the state, so that opening replays only the records after the newest one
//! instead of the whole history (`docs/chain-format.md` §Snapshots gives the byte layout).
//!
//! A snapshot names the record it reflects (its seq and hash). Opening uses the newest one
//! whose record is on the chain with that hash and whose own checksum holds, then verifies and
//! replays only the tail; any snapshot that fails a check is passed over (opening then replays
//! more, it never stops on a bad snapshot). `chitra verify` still checks every record, and
//! checks each snapshot against a replay of the chain (`matches_replay`), so a snapshot edited
//! by hand is found. The writer takes one every `Config::snapshot_every_records` records, once
//! everything it applied is durable, so a snapshot is never ahead of the chain.

use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use bincode::Decode;

use crate::chain::merkle::{TreeBuilder, TreeParts};
use crate::chain::Anchor;
use crate::domain::encoding::CANONICAL;
use crate::domain::state::{
    AfterPeople, DecodedPeople, FrozenRows, HistoryParts, People, FROZEN_ROW_BYTES,
};
use crate::domain::types::BeneficiaryId;
use crate::domain::State;
use crate::store::{self, Store, StoreError};

use super::frozen::{self as checked, CheckedFrozen, ChunkSum, Mapped, WholeChecked};

use super::{IdempotencyEntry, IdempotencyIndex, Receipt};

const MAGIC: &[u8; 16] = b"chitra-snapshot\n";
const FORMAT_VERSION: u32 = 7;
/// Format 6 is format 7 with one digest of each frozen file's bytes, which a start checks
/// whole, instead of one per chunk checked on first read (`ledger::frozen`): still read, so
/// that a ledger written before opens from its snapshot.
const FORMAT_VERSION_WHOLE: u32 = 6;
/// Format 5 is format 6 with its checksums in blake3 (`Checksum`): still read.
const FORMAT_VERSION_BLAKE3: u32 = 5;
/// Format 4 is format 5 without the offset of the state's second part (`SPLIT_BYTES`): still
/// read, one part after the other.
const FORMAT_VERSION_UNSPLIT: u32 = 4;
/// Before the trailer: where the state's second part (`domain::state::AfterPeople`) starts.
const SPLIT_BYTES: u64 = 8;
/// The writer's default interval between snapshots, in records appended. The writer pauses
/// while it writes one (about a second per million people), and a ledger that closes cleanly
/// takes one anyway, so this bounds only what opening after a crash replays: a monthly run for
/// a million people appends about two million records.
pub const SNAPSHOT_EVERY_RECORDS_DEFAULT: u64 = 4_000_000;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("not a chitra snapshot (format version {0:?})")]
    Format(Option<u32>),
    #[error("the snapshot's checksum does not match its contents")]
    Checksum,
    #[error("the snapshot does not decode: {0}")]
    Decode(String),
    #[error("what it froze (payment rows, histories): {0}")]
    Frozen(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What opening needs to continue after the snapshot's record.
pub(super) struct Snapshot {
    /// The last record the snapshot reflects.
    pub head: Anchor,
    /// The payment rows and histories it froze, and their digests, and each person's history
    /// parts: its state is detached until they are attached (`attach_frozen`).
    pub rows: FrozenRef,
    pub histories: FrozenRef,
    pub history_parts: Vec<HistoryParts>,
    /// Once attached: the frozen files its state maps, where checked by chunks.
    pub mapped: Mapped,
    pub last_ms: i64,
    pub state: State,
    pub idempotency: IdempotencyIndex,
    pub tree: TreeBuilder,
}

/// What the writer hands over to be written (borrowed: nothing is copied).
pub(super) struct SnapshotOf<'a> {
    pub head: Anchor,
    pub last_ms: i64,
    pub state: &'a State,
    pub idempotency: &'a IdempotencyIndex,
    pub tree: TreeParts,
}

/// How many bytes of a frozen file (`store::Frozen`) a snapshot froze, and their digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FrozenRef {
    pub bytes: u64,
    pub sum: Checksum,
    /// Formats 4 to 6: the digest of all the bytes, in its first `sum.digest_bytes()` bytes
    /// (the rest zeros).
    pub digest: [u8; 32],
    /// Format 7: the digest of each chunk (`ledger::frozen`), checked as the chunk is first
    /// read; `digest` is then zeros.
    pub chunks: Option<std::sync::Arc<[ChunkSum]>>,
}

/// The checksum of a snapshot's format: of itself (its trailer) and of the frozen bytes it
/// names (in format 7 of each chunk, `ledger::frozen`). XXH3-128 from format 6, blake3 before.
/// A start reads the snapshot whole (380 MB after two years of a million people's payments),
/// and before format 7 the frozen files too (1.6 GB); these checksums guard against damage,
/// not against someone who can write the data directory (`chitra verify` replays the chain for
/// that): XXH3-128 hashed the frozen files of two years in 0.12-0.17 s where blake3 took
/// 0.33-0.35 s (from the page cache, on this project's two-core machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checksum {
    Blake3,
    Xxh3,
}

impl Checksum {
    fn of_version(version: u32) -> Checksum {
        match version {
            FORMAT_VERSION | FORMAT_VERSION_WHOLE => Checksum::Xxh3,
            _ => Checksum::Blake3,
        }
    }

    fn digest_bytes(self) -> usize {
        match self {
            Checksum::Blake3 => 32,
            Checksum::Xxh3 => 16,
        }
    }

    fn hasher(self) -> Hasher {
        match self {
            Checksum::Blake3 => Hasher::Blake3(Box::default()),
            Checksum::Xxh3 => Hasher::Xxh3(Box::default()),
        }
    }

    /// The digest of the first `bytes` of a frozen file (`None`: the file is shorter).
    fn of_frozen(
        self,
        store: &Store,
        file: store::Frozen,
        bytes: u64,
    ) -> Result<Option<[u8; 32]>, StoreError> {
        let mut hasher = self.hasher();
        let whole = bytes == 0 || store.hash_frozen(file, 0, bytes, &mut |b| hasher.update(b))?;
        Ok(whole.then(|| hasher.finish()))
    }
}

/// A `Checksum` being computed.
enum Hasher {
    Blake3(Box<blake3::Hasher>),
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(bytes);
            }
            Hasher::Xxh3(h) => h.update(bytes),
        }
    }

    /// The digest in its first `Checksum::digest_bytes` bytes, the rest zeros; XXH3-128 in its
    /// canonical (big-endian) form, as python-xxhash's `digest()` gives it.
    fn finish(&self) -> [u8; 32] {
        let mut digest = [0u8; 32];
        match self {
            Hasher::Blake3(h) => digest.copy_from_slice(h.finalize().as_bytes()),
            Hasher::Xxh3(h) => digest[..16].copy_from_slice(&h.digest128().to_be_bytes()),
        }
        digest
    }
}

/// The fixed-size header (`Header`) of a snapshot of format 4 to 6 whose checksum is `sum`:
/// magic, version, head, last time, and both frozen files' lengths and digests.
fn header_bytes(sum: Checksum) -> u64 {
    HEADER_FIXED_BYTES + 2 * (8 + sum.digest_bytes() as u64)
}

/// Magic, version, head (seq and hash) and last time.
const HEADER_FIXED_BYTES: u64 = 16 + 4 + 8 + 32 + 8;

/// The trailer of a snapshot whose checksum is `sum`: the length and the checksum of
/// everything before it.
fn trailer_bytes(sum: Checksum) -> u64 {
    8 + sum.digest_bytes() as u64
}

/// What a snapshot froze beside itself, and which histories' entries it appended.
pub(super) struct Frozen {
    pub rows: FrozenRef,
    pub histories: FrozenRef,
    /// Person index and `frozen_at` of each history entry appended, in person order.
    pub placed: Vec<(usize, u64)>,
}

/// One idempotency entry as a snapshot stores it.
type StoredKey = ((String, Vec<u8>), ([u8; 32], [u8; 16], u64, u32, [u8; 32]));

/// Writes `snap` into the data directory (durably): first the payment rows and the history
/// entries the state does not hold frozen yet, then the snapshot naming them. Returns where,
/// and what it froze.
pub(super) fn write(
    store: &Store,
    snap: &SnapshotOf<'_>,
    mapped: &Mapped,
) -> Result<(std::path::PathBuf, Frozen), StoreError> {
    let rows = write_rows(store, snap.state, mapped.rows.as_deref())?;
    let frozen = write_histories(store, snap.state, rows, mapped.histories.as_deref())?;
    let path = store.write_snapshot(snap.head.seq + 1, |out| encode(snap, &frozen, out))?;
    Ok((path, frozen))
}

/// The digests of the first `bytes` of a frozen file, as a snapshot written now names them
/// (those of the chunks the state maps kept, `frozen::chunk_sums_of`).
fn digest_of(
    store: &Store,
    file: store::Frozen,
    bytes: u64,
    mapped: Option<&CheckedFrozen>,
) -> Result<FrozenRef, StoreError> {
    let chunks = checked::chunk_sums_of(store, file, bytes, mapped)?
        .ok_or_else(|| StoreError::Corrupt(format!("{file:?} is short")))?;
    Ok(FrozenRef {
        bytes,
        sum: Checksum::of_version(FORMAT_VERSION),
        digest: [0; 32],
        chunks: Some(chunks.into()),
    })
}

/// Appends the rows after those the state maps already (or after those the file holds, if
/// fewer) to the payment rows file, and digests all of them.
fn write_rows(
    store: &Store,
    state: &State,
    mapped: Option<&CheckedFrozen>,
) -> Result<FrozenRef, StoreError> {
    let table = state.payment_table();
    let rows = table.len() as u64;
    let row_bytes = FROZEN_ROW_BYTES as u64;
    let file = store::Frozen::PaymentRows;
    let from = (table.frozen_len() as u64).min(store.frozen_len(file) / row_bytes);
    if rows > from {
        store.write_frozen(file, from * row_bytes, |out| {
            (from..rows).try_for_each(|i| {
                let row = table.get(i as usize).expect("a row below len");
                out.write_all(&row.frozen_bytes())
            })
        })?;
    }
    digest_of(store, file, rows * row_bytes, mapped)
}

/// Appends an entry for each person touched since the last snapshot at the end of the
/// histories file, and digests the file up to its new end. Only appended, never rewritten:
/// unlike a payment row, an entry's place depends on when it was written, so bytes beyond what
/// this state maps (left by a snapshot passed over, or by a freeze that failed) may be named by
/// another snapshot or mapped by another process; they stay, unused by this state.
fn write_histories(
    store: &Store,
    state: &State,
    rows: FrozenRef,
    mapped: Option<&CheckedFrozen>,
) -> Result<Frozen, StoreError> {
    let file = store::Frozen::Histories;
    let from = store.frozen_len(file);
    if from < state.frozen_histories_len() {
        return Err(StoreError::Corrupt(
            "the histories file is shorter than what is mapped".into(),
        ));
    }
    let mut placed = Vec::new();
    let mut end = from;
    store.write_frozen(file, from, |out| {
        for (person, entry) in state.unfrozen_histories() {
            placed.push((person, end + 1));
            out.write_all(&entry)?;
            end += entry.len() as u64;
        }
        Ok(())
    })?;
    Ok(Frozen {
        rows,
        histories: digest_of(store, file, end, mapped)?,
        placed,
    })
}

/// A frozen file's first bytes as a snapshot's header named them, and their digest as read
/// (`None`: the file is shorter).
type Hashed = (FrozenRef, Result<Option<[u8; 32]>, StoreError>);

/// Hashes the bytes of both frozen files a snapshot's header names.
fn hash_named(store: &Store, rows: FrozenRef, histories: FrozenRef) -> [Hashed; 2] {
    let hash = |file: store::Frozen, want: FrozenRef| match want.bytes {
        // Chunks are checked as they are read, not now.
        _ if want.chunks.is_some() => (want, Ok(None)),
        0 => (want, Ok(None)),
        n => {
            let step = format!("{file:?} hashed");
            let digest = store::opening_step(&step, || want.sum.of_frozen(store, file, n));
            (want, digest)
        }
    };
    // Side by side: on a cold page cache the disk serves two readers faster than one.
    std::thread::scope(|scope| {
        let rows = scope.spawn(|| hash(store::Frozen::PaymentRows, rows));
        let histories = hash(store::Frozen::Histories, histories);
        [rows.join().expect("hashing does not panic"), histories]
    })
}

/// A frozen file mapped for a state, and the same map if it is checked by chunks.
type MappedFile = (FrozenRows, Option<std::sync::Arc<CheckedFrozen>>);

/// Checks the bytes of a frozen file a snapshot names against its digest and maps them
/// (`None` for no bytes), or maps them to be checked by chunks as they are read (format 7).
/// `hashed` is what was hashed, beside the snapshot's decoding.
fn map_checked(
    store: &Store,
    file: store::Frozen,
    want: FrozenRef,
    hashed: Hashed,
) -> Result<Option<MappedFile>, SnapshotError> {
    if want.bytes == 0 {
        return Ok(None);
    }
    let frozen_error = |e: StoreError| SnapshotError::Frozen(e.to_string());
    let (named, digest) = hashed;
    if named != want {
        return Err(SnapshotError::Frozen(format!(
            "the snapshot's header changed while it was read ({file:?})"
        )));
    }
    if let Some(sums) = want.chunks {
        let map = store.map_frozen(file, want.bytes).map_err(frozen_error)?;
        let path = store.frozen_path(file);
        let bytes = CheckedFrozen::new(map, path, sums, checked::stop_on_damage);
        let bytes = std::sync::Arc::new(bytes.map_err(SnapshotError::Frozen)?);
        return Ok(Some((bytes.clone(), Some(bytes))));
    }
    if digest.map_err(frozen_error)? != Some(want.digest) {
        return Err(SnapshotError::Frozen(format!(
            "the first {} bytes of {file:?} are not the ones it froze",
            want.bytes
        )));
    }
    let map = store.map_frozen(file, want.bytes).map_err(frozen_error)?;
    Ok(Some((std::sync::Arc::new(WholeChecked(map)), None)))
}

/// Checks and maps what a snapshot froze and attaches it to its state.
fn attach_frozen(
    store: &Store,
    snap: &mut Snapshot,
    [rows, histories]: [Hashed; 2],
) -> Result<(), SnapshotError> {
    let named = snap.rows.clone();
    if let Some((rows, chunked)) = map_checked(store, store::Frozen::PaymentRows, named, rows)? {
        snap.state
            .attach_payment_rows(rows)
            .map_err(SnapshotError::Frozen)?;
        snap.mapped.rows = chunked;
    }
    let named = snap.histories.clone();
    let histories = map_checked(store, store::Frozen::Histories, named, histories)?;
    let (histories, chunked) = histories.unzip();
    let parts = std::mem::take(&mut snap.history_parts);
    snap.state
        .attach_histories(histories, parts)
        .map_err(SnapshotError::Frozen)?;
    snap.mapped.histories = chunked.flatten();
    Ok(())
}

/// Maps what a snapshot just written froze and moves it out of the live state's memory; what
/// the state then maps is noted in `shared.frozen` for the next snapshot.
fn freeze(shared: &super::Shared, frozen: &Frozen) -> Result<(), String> {
    let map = |file, want: &FrozenRef| -> Result<Option<std::sync::Arc<CheckedFrozen>>, String> {
        if want.bytes == 0 {
            return Ok(None);
        }
        let map = shared.store.map_frozen(file, want.bytes);
        let map = map.map_err(|e| e.to_string())?;
        let sums = want
            .chunks
            .clone()
            .ok_or("a snapshot written now has chunk digests")?;
        let path = shared.store.frozen_path(file);
        let bytes = CheckedFrozen::new(map, path, sums, checked::stop_on_damage)?;
        Ok(Some(std::sync::Arc::new(bytes)))
    };
    let rows = map(store::Frozen::PaymentRows, &frozen.rows)?;
    let histories = map(store::Frozen::Histories, &frozen.histories)?;
    let mut state = shared.state.write().expect("state lock");
    let mut mapped = shared.frozen.lock().expect("frozen lock");
    // Each on its own: one failing keeps only its own part in memory.
    let rows = rows.map_or(Ok(()), |r| {
        state.freeze_payment_rows(r.clone())?;
        mapped.rows = Some(r);
        Ok(())
    });
    let histories = histories.map_or(Ok(()), |h| {
        state.freeze_histories(h.clone(), &frozen.placed)?;
        mapped.histories = Some(h);
        Ok(())
    });
    rows.and(histories)
}

fn encode(snap: &SnapshotOf<'_>, frozen: &Frozen, out: &mut dyn Write) -> std::io::Result<()> {
    // Buffered before hashing: bincode writes a few bytes at a time, hashes want large slices.
    let sum = Checksum::of_version(FORMAT_VERSION);
    let mut out = BufWriter::with_capacity(1 << 20, Hashing::new(out, sum));
    out.write_all(MAGIC)?;
    out.write_all(&FORMAT_VERSION.to_le_bytes())?;
    out.write_all(&snap.head.seq.to_le_bytes())?;
    out.write_all(&snap.head.hash)?;
    out.write_all(&snap.last_ms.to_le_bytes())?;
    let files = [&frozen.rows, &frozen.histories];
    for f in files {
        debug_assert_eq!(f.sum, sum);
        out.write_all(&f.bytes.to_le_bytes())?;
    }
    for f in files {
        let sums = f
            .chunks
            .as_deref()
            .expect("a snapshot written now has chunk digests");
        debug_assert_eq!(sums.len() as u64, checked::chunks_in(f.bytes));
        sums.iter().try_for_each(|c| out.write_all(c))?;
    }
    let to_io = |e: bincode::error::EncodeError| std::io::Error::other(e.to_string());
    // The state in its two parts, and where the second starts, so that opening decodes them
    // beside each other; written one after the other they are the state's one encoding.
    bincode::encode_into_std_write(People(snap.state), &mut out, CANONICAL).map_err(to_io)?;
    let split = out.get_ref().len + out.buffer().len() as u64;
    bincode::encode_into_std_write(AfterPeople(snap.state), &mut out, CANONICAL).map_err(to_io)?;
    // Each person's history parts, in person order, as they are once `placed` is frozen.
    let people = snap.state.beneficiary_count() as u64;
    bincode::encode_into_std_write(people, &mut out, CANONICAL).map_err(to_io)?;
    for parts in snap.state.history_parts_after(&frozen.placed) {
        bincode::encode_into_std_write(parts, &mut out, CANONICAL).map_err(to_io)?;
    }
    let mut keys: Vec<StoredKey> = snap
        .idempotency
        .iter()
        .map(|(k, e)| {
            let r = &e.receipt;
            (k.clone(), (e.digest, e.salt, r.first_seq, r.count, r.hash))
        })
        .collect();
    keys.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    bincode::encode_into_std_write(&keys, &mut out, CANONICAL).map_err(to_io)?;
    bincode::encode_into_std_write(&snap.tree, &mut out, CANONICAL).map_err(to_io)?;
    out.write_all(&split.to_le_bytes())?;
    let (len, hash, inner) = out.into_inner().map_err(|e| e.into_error())?.finish();
    inner.write_all(&len.to_le_bytes())?;
    inner.write_all(&hash[..sum.digest_bytes()])
}

/// A snapshot's header: the record it reflects and what it froze.
struct Header {
    version: u32,
    head: Anchor,
    last_ms: i64,
    rows: FrozenRef,
    histories: FrozenRef,
}

impl Header {
    /// Its bytes in the snapshot: fixed before format 7, then with both files' chunk digests.
    fn bytes(&self) -> u64 {
        match (&self.rows.chunks, &self.histories.chunks) {
            (Some(rows), Some(histories)) => {
                let digests = (rows.len() + histories.len()) as u64;
                HEADER_FIXED_BYTES + 2 * 8 + digests * std::mem::size_of::<ChunkSum>() as u64
            }
            _ => header_bytes(self.rows.sum),
        }
    }
}

fn read_header(input: &mut impl Read) -> Result<Header, SnapshotError> {
    let mut magic = [0u8; 16];
    input.read_exact(&mut magic)?;
    let version = u32::from_le_bytes(read_array(input)?);
    let known = [
        FORMAT_VERSION,
        FORMAT_VERSION_WHOLE,
        FORMAT_VERSION_BLAKE3,
        FORMAT_VERSION_UNSPLIT,
    ];
    if &magic != MAGIC || !known.contains(&version) {
        return Err(SnapshotError::Format((&magic == MAGIC).then_some(version)));
    }
    let seq = u64::from_le_bytes(read_array(input)?);
    let hash: [u8; 32] = read_array(input)?;
    let last_ms = i64::from_le_bytes(read_array(input)?);
    let sum = Checksum::of_version(version);
    let (rows, histories) = match version {
        FORMAT_VERSION => read_chunked_refs(input, sum)?,
        _ => {
            let mut frozen_ref = || -> std::io::Result<FrozenRef> {
                let bytes = u64::from_le_bytes(read_array(input)?);
                let mut digest = [0u8; 32];
                input.read_exact(&mut digest[..sum.digest_bytes()])?;
                let chunks = None;
                Ok(FrozenRef {
                    bytes,
                    sum,
                    digest,
                    chunks,
                })
            };
            (frozen_ref()?, frozen_ref()?)
        }
    };
    Ok(Header {
        version,
        head: Anchor { seq, hash },
        last_ms,
        rows,
        histories,
    })
}

/// Both frozen files' lengths, then each one's chunk digests (format 7). The digests are read
/// one by one, not allocated from a length that a damaged header could make absurd: the file
/// ends first.
fn read_chunked_refs(
    input: &mut impl Read,
    sum: Checksum,
) -> std::io::Result<(FrozenRef, FrozenRef)> {
    let rows = u64::from_le_bytes(read_array(input)?);
    let histories = u64::from_le_bytes(read_array(input)?);
    let mut sums_of = |bytes: u64| -> std::io::Result<FrozenRef> {
        let mut sums = Vec::new();
        for _ in 0..checked::chunks_in(bytes) {
            sums.push(read_array(input)?);
        }
        Ok(FrozenRef {
            bytes,
            sum,
            digest: [0; 32],
            chunks: Some(sums.into()),
        })
    };
    Ok((sums_of(rows)?, sums_of(histories)?))
}

/// What a snapshot holds after its header.
struct Body {
    state: State,
    history_parts: Vec<HistoryParts>,
    keys: Vec<StoredKey>,
    tree: TreeParts,
}

/// A snapshot's body after the state's people: the state's second part, then the rest.
struct AfterPeopleBody(Body);

impl<Context> Decode<Context> for AfterPeopleBody {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(AfterPeopleBody(Body {
            state: State::decode_after_people(d)?,
            history_parts: Decode::decode(d)?,
            keys: Decode::decode(d)?,
            tree: Decode::decode(d)?,
        }))
    }
}

/// Reads a snapshot file and checks its own checksum (not yet against the chain).
pub(super) fn read(path: &Path) -> Result<Snapshot, SnapshotError> {
    let mut file = std::fs::File::open(path)?;
    let header = read_header(&mut BufReader::new(&file))?;
    file.rewind()?;
    let body = match header.version {
        FORMAT_VERSION_UNSPLIT => read_unsplit(file)?,
        _ => read_split(&file, header.rows.sum, header.bytes())?,
    };
    checked(header, body)
}

/// Decodes a snapshot (format 5 to 7) whose checksum is `sum` and whose header has
/// `header_bytes`, with its state's two parts side by side, and hashes it on a third thread: at
/// a million people each part is a second of one core.
fn read_split(
    file: &std::fs::File,
    sum: Checksum,
    header_bytes: u64,
) -> Result<Body, SnapshotError> {
    // SAFETY: a snapshot is written under another name, fsynced and renamed into place
    // (`Store::write_snapshot`), and never written again; removing it leaves the mapping whole.
    // Someone editing the file by hand could change it, which the checksum below finds.
    let map = unsafe { memmap2::Mmap::map(file) }?;
    let hashed = (map.len() as u64)
        .checked_sub(trailer_bytes(sum))
        .filter(|&h| h >= header_bytes + SPLIT_BYTES)
        .ok_or(SnapshotError::Checksum)?;
    let split_at = hashed - SPLIT_BYTES;
    let bytes = |from: u64, to: u64| &map[from as usize..to as usize];
    let split = u64::from_le_bytes(bytes(split_at, hashed).try_into().expect("8 bytes"));
    if !(header_bytes..=split_at).contains(&split) {
        return Err(SnapshotError::Decode(
            "its state's parts are out of place".into(),
        ));
    }
    let (digest, people, rest) = std::thread::scope(|scope| {
        let hashing = scope.spawn(|| {
            let mut hasher = sum.hasher();
            hasher.update(bytes(0, hashed));
            hasher.finish()
        });
        let people = scope.spawn(|| decode_exact::<DecodedPeople>(bytes(header_bytes, split)));
        let rest = decode_exact::<AfterPeopleBody>(bytes(split, split_at));
        let joined = "decoding a snapshot does not panic";
        (
            hashing.join().expect(joined),
            people.join().expect(joined),
            rest,
        )
    });
    let trailer = bytes(hashed, map.len() as u64);
    if trailer[..8] != hashed.to_le_bytes() || trailer[8..] != digest[..sum.digest_bytes()] {
        return Err(SnapshotError::Checksum);
    }
    let AfterPeopleBody(body) = rest?;
    Ok(Body {
        state: body.state.with_people(people?),
        ..body
    })
}

/// `bytes` decoded as one `T`, which must end where they end.
fn decode_exact<T: Decode<()>>(bytes: &[u8]) -> Result<T, SnapshotError> {
    let (value, read) = bincode::decode_from_slice(bytes, CANONICAL)
        .map_err(|e| SnapshotError::Decode(e.to_string()))?;
    match read == bytes.len() {
        true => Ok(value),
        false => Err(SnapshotError::Decode(
            "a part does not end where the snapshot says".into(),
        )),
    }
}

/// Decodes a snapshot of format 4, one part after the other on this thread, hashing it as it
/// is read.
fn read_unsplit(file: std::fs::File) -> Result<Body, SnapshotError> {
    let sum = Checksum::Blake3;
    let hashed = file
        .metadata()?
        .len()
        .checked_sub(trailer_bytes(sum))
        .ok_or(SnapshotError::Checksum)?;
    // Hashed below the buffer (large slices), and only up to the trailer the buffer reads too.
    let mut input = BufReader::with_capacity(1 << 20, Hashing::up_to(file, sum, hashed));
    read_header(&mut input)?;
    let decode_error = |e: bincode::error::DecodeError| SnapshotError::Decode(e.to_string());
    // Decoded from the `BufReader` itself so that bincode peeks at buffered bytes for each
    // integer; through a plain `Read` every varint was a byte-wise `read_exact`, a third of the
    // CPU time of opening.
    let people: DecodedPeople =
        bincode::decode_from_reader(&mut input, CANONICAL).map_err(decode_error)?;
    let AfterPeopleBody(body) =
        bincode::decode_from_reader(&mut input, CANONICAL).map_err(decode_error)?;
    // What is left must be exactly the trailer: the body ends where its encoding ends.
    let mut trailer = Vec::with_capacity(trailer_bytes(sum) as usize);
    input.read_to_end(&mut trailer)?;
    let (len, want, _) = input.into_inner().finish();
    if trailer.len() as u64 != trailer_bytes(sum)
        || trailer[..8] != len.to_le_bytes()
        || trailer[8..] != want
    {
        return Err(SnapshotError::Checksum);
    }
    Ok(Body {
        state: body.state.with_people(people),
        ..body
    })
}

/// A decoded snapshot checked for what it says of itself: its tree fits its size, and its
/// state, tree and frozen rows agree on how many records and rows it holds.
fn checked(header: Header, body: Body) -> Result<Snapshot, SnapshotError> {
    let Header {
        head: Anchor { seq, hash },
        last_ms,
        rows,
        histories,
        ..
    } = header;
    let Body {
        state,
        history_parts,
        keys,
        tree,
    } = body;
    let tree = TreeBuilder::from_parts(tree).ok_or_else(|| {
        SnapshotError::Decode("the Merkle tree's parts do not fit its size".into())
    })?;
    if (state.payment_table().len() * FROZEN_ROW_BYTES) as u64 != rows.bytes {
        return Err(SnapshotError::Decode(format!(
            "the snapshot names {} bytes of payment rows but its state holds {} rows",
            rows.bytes,
            state.payment_table().len()
        )));
    }
    if state.applied() != seq + 1 || tree.size() != seq + 1 {
        return Err(SnapshotError::Decode(format!(
            "the snapshot names record {seq} but holds {} records of state and {} leaves",
            state.applied(),
            tree.size()
        )));
    }
    let idempotency = keys
        .into_iter()
        .map(|(k, (digest, salt, first_seq, count, hash))| {
            let receipt = Receipt {
                first_seq,
                count,
                hash,
                replayed: false,
            };
            (
                k,
                IdempotencyEntry {
                    digest,
                    salt,
                    receipt,
                },
            )
        })
        .collect();
    Ok(Snapshot {
        head: Anchor { seq, hash },
        rows,
        histories,
        history_parts,
        mapped: Mapped::default(),
        last_ms,
        state,
        idempotency,
        tree,
    })
}

fn read_array<const N: usize>(input: &mut impl Read) -> std::io::Result<[u8; N]> {
    let mut b = [0u8; N];
    input.read_exact(&mut b)?;
    Ok(b)
}

/// The canonical bytes of a state (what a snapshot holds of it, the bytes of every payment
/// row and every person's history, frozen or not), for comparing a snapshot with a replay.
pub(super) fn state_digest(state: &State) -> [u8; 32] {
    let hashing = Hashing::new(std::io::sink(), Checksum::Blake3);
    let mut out = BufWriter::with_capacity(1 << 20, hashing);
    bincode::encode_into_std_write(state, &mut out, CANONICAL).expect("a sink cannot fail");
    for row in state.payment_table().iter() {
        out.write_all(&row.frozen_bytes())
            .expect("a sink cannot fail");
    }
    for id in 1..=state.beneficiary_count() as u64 {
        let seqs = state.history(BeneficiaryId(id)).unwrap_or_default();
        for seq in seqs {
            out.write_all(&seq.to_le_bytes())
                .expect("a sink cannot fail");
        }
    }
    let hashing = out
        .into_inner()
        .map_err(|e| e.into_error())
        .expect("a sink cannot fail");
    hashing.finish().1
}

/// Counts and hashes what passes through, in either direction (reading, only up to a limit).
struct Hashing<T> {
    inner: T,
    hasher: Hasher,
    len: u64,
    limit: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T, sum: Checksum) -> Hashing<T> {
        Hashing::up_to(inner, sum, u64::MAX)
    }

    fn up_to(inner: T, sum: Checksum, limit: u64) -> Hashing<T> {
        Hashing {
            inner,
            hasher: sum.hasher(),
            len: 0,
            limit,
        }
    }

    /// What passed through: its length, its digest (as `Hasher::finish`), and the inner end.
    fn finish(self) -> (u64, [u8; 32], T) {
        (self.len, self.hasher.finish(), self.inner)
    }
}

impl<T: Write> Write for Hashing<T> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<T: Read> Read for Hashing<T> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let hashed = (n as u64).min(self.limit - self.len) as usize;
        self.hasher.update(&buf[..hashed]);
        self.len += hashed as u64;
        Ok(n)
    }
}

/// A snapshot read, and the frozen files its header names hashed, not yet checked against the
/// chain.
pub(super) struct Candidate {
    path: PathBuf,
    snap: Result<Snapshot, SnapshotError>,
    hashed: [Hashed; 2],
}

/// The header of the snapshot at `path`: what it reflects and the frozen bytes it names.
fn read_named(path: &Path) -> Result<Header, SnapshotError> {
    read_header(&mut BufReader::new(std::fs::File::open(path)?))
}

/// Decodes the snapshot at `path` on other threads while this one runs `beside`.
fn read_beside<R>(path: &Path, beside: impl FnOnce() -> R) -> (Result<Snapshot, SnapshotError>, R) {
    std::thread::scope(|scope| {
        let decoding = scope.spawn(|| store::opening_step("snapshot decoded", || read(path)));
        let beside = beside();
        let snap = decoding.join().expect("decoding a snapshot does not panic");
        (snap, beside)
    })
}

/// Reads the snapshot at `path` while the frozen files (hundreds of megabytes at a million
/// people) its header names are hashed; the decoded snapshot must name the same.
fn read_candidate(store: &Store, path: &Path) -> Result<Candidate, SnapshotError> {
    let named = read_named(path)?;
    let (snap, hashed) = read_beside(path, || hash_named(store, named.rows, named.histories));
    Ok(Candidate {
        path: path.to_path_buf(),
        snap,
        hashed,
    })
}

/// Opens the store of the data directory `dir` while other threads decode its newest snapshot,
/// and hashes the frozen files that snapshot names once the store is open, so that sled's own
/// opening no longer comes before the decoding.
///
/// Decoding before the store is open, and so before this process holds the data directory's
/// lock, is safe because a snapshot file never changes once it has its name (written under
/// another name, synced and renamed, `Store::write_snapshot`; a removal leaves the open file
/// whole), and because what was read is used only if the store, once open, still lists it and
/// it fits the chain (`newest_fitting`). The frozen files can be written by whoever holds the
/// lock, so they are hashed only under it.
pub(super) fn open_beside_newest(dir: &Path) -> Result<(Store, Option<Candidate>), StoreError> {
    let newest = store::snapshots_in(dir)
        .into_iter()
        .find(|(records, _)| *records > 0);
    // Without a readable header there is nothing to start early (`newest_fitting` reads the
    // snapshot again and passes it over).
    let readable = newest.and_then(|(_, path)| {
        let named = read_named(&path).ok()?;
        Some((path, named))
    });
    let Some((path, named)) = readable else {
        return Ok((Store::open(dir)?, None));
    };
    let (snap, (store, hashed)) = read_beside(&path, || {
        let store = Store::open(dir);
        let hashed = store
            .as_ref()
            .ok()
            .map(|store| hash_named(store, named.rows, named.histories));
        (store, hashed)
    });
    let candidate = hashed.map(|hashed| Candidate { path, snap, hashed });
    Ok((store?, candidate))
}

/// The newest snapshot that fits the chain whose head is `anchor`, with the bytes of the
/// record it reflects (the verifier continues from that record). `early` is a snapshot read
/// before (`open_beside_newest`), used if it is the first one listed here. Snapshots that do
/// not fit are passed over with a warning: opening then replays more, and still succeeds.
pub(super) fn newest_fitting(
    store: &Store,
    anchor: Option<Anchor>,
    mut early: Option<Candidate>,
) -> Option<(Snapshot, Vec<u8>)> {
    let head = anchor?;
    for (records, path) in store.snapshots() {
        // Taken on the first snapshot listed either way, so that two decoded states are never
        // in memory at once.
        let read_before = early.take().filter(|c| c.path == path);
        if records == 0 || records > head.seq + 1 {
            continue;
        }
        let fitting = match read_before {
            Some(c) => fits(store, c, head),
            None => read_and_fit(store, &path, head),
        };
        match fitting {
            Ok(found) => return Some(found),
            Err(reason) => {
                tracing::warn!(snapshot = %path.display(), %reason, "snapshot passed over")
            }
        }
    }
    None
}

/// Reads the snapshot at `path` and checks it against the store (`fits`).
fn read_and_fit(store: &Store, path: &Path, head: Anchor) -> Result<(Snapshot, Vec<u8>), String> {
    let candidate = read_candidate(store, path).map_err(|e| e.to_string())?;
    fits(store, candidate, head)
}

/// Checks a snapshot read against the store whose head is `head`: its record is on the chain
/// with its hash, it ends the chain or a block starts right after it, its Merkle tree has the
/// stored tiles' root, and the frozen files hold the bytes it names (format 7: as long as it
/// says, each chunk checked when first read; before: their digests match).
fn fits(store: &Store, candidate: Candidate, head: Anchor) -> Result<(Snapshot, Vec<u8>), String> {
    let Candidate { snap, hashed, .. } = candidate;
    let mut snap = snap.map_err(|e| e.to_string())?;
    let seq = snap.head.seq;
    let last = match super::read::records(store, seq, seq + 1).next() {
        Some(Ok(r)) => r.bytes,
        Some(Err(e)) => return Err(e.to_string()),
        None => return Err(format!("record {seq} is not in the store")),
    };
    if crate::chain::record::record_hash(&last) != snap.head.hash {
        return Err(format!("record {seq} on the chain has another hash"));
    }
    if head.seq != seq {
        // `blocks_from` gives the block holding the next record, which must start with it.
        let next = store.blocks_from(seq + 1).next();
        let block = next.ok_or_else(|| format!("record {} is not in the store", seq + 1))?;
        if block.map_err(|e| e.to_string())?.first_seq != seq + 1 {
            return Err(format!("record {seq} does not end a block"));
        }
    }
    let stored = super::tree::root(store, seq + 1, seq + 1).map_err(|e| e.to_string())?;
    if stored != snap.tree.root() {
        return Err("its Merkle tree differs from the stored tiles".into());
    }
    attach_frozen(store, &mut snap, hashed).map_err(|e| e.to_string())?;
    Ok((snap, last))
}

/// Below this many records since the last snapshot, closing a ledger or releasing a batch takes none
/// (small ledgers and tests open fast without one).
const SNAPSHOT_ON_CLOSE_RECORDS_MIN: u64 = 10_000;

/// When the writer takes snapshots: every `every` records appended, and after a shorter tail
/// on closing the ledger or once a batch was released (so that a paid month's payment lines
/// leave memory, `domain::state::PaymentTable`, however small the ledger). `every == 0` takes
/// none.
pub(super) struct Schedule {
    every: u64,
    last: u64,
    batch_released: bool,
}

impl Schedule {
    pub(super) fn new(every: u64, last: u64) -> Schedule {
        Schedule {
            every,
            last,
            batch_released: false,
        }
    }

    pub(super) fn batch_released(&mut self) {
        self.batch_released = true;
    }

    pub(super) fn due(&self, records: u64, closing: bool) -> bool {
        let tail = records.saturating_sub(self.last);
        let wanted = match closing || self.batch_released {
            true => self.every.min(SNAPSHOT_ON_CLOSE_RECORDS_MIN),
            false => self.every,
        };
        self.every > 0 && tail > 0 && tail >= wanted
    }

    pub(super) fn taken(&mut self, records: u64) {
        self.last = records;
        self.batch_released = false;
    }
}

/// Writes a snapshot of the shared state once every record applied so far is durable. A
/// failure is logged and costs only a longer replay at the next opening.
pub(super) fn take(
    shared: &super::Shared,
    head: Anchor,
    last_ms: i64,
    idempotency: &IdempotencyIndex,
    tree: TreeParts,
) {
    if !shared.wait_durable(head.seq + 1) {
        return;
    }
    let state = shared.state.read().expect("state lock");
    debug_assert_eq!(state.applied(), head.seq + 1);
    let snap = SnapshotOf {
        head,
        last_ms,
        state: &state,
        idempotency,
        tree,
    };
    let started = std::time::Instant::now();
    let mapped = shared.frozen.lock().expect("frozen lock").clone();
    let written = write(&shared.store, &snap, &mapped);
    drop(state);
    match written {
        Ok((path, frozen)) => {
            tracing::info!(
                snapshot = %path.display(),
                records = head.seq + 1,
                ms = started.elapsed().as_millis() as u64,
                "state snapshot written"
            );
            // A failure keeps the rows in memory: costlier, never wrong.
            if let Err(reason) = freeze(shared, &frozen) {
                tracing::warn!(%reason, "payment rows or histories kept in memory");
            }
        }
        Err(e) => tracing::warn!(error = %e, "state snapshot not written"),
    }
}

/// What `chitra verify` found of one snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotCheck {
    pub path: std::path::PathBuf,
    /// The records the snapshot says it reflects.
    pub records: u64,
    pub outcome: SnapshotOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Its state is exactly the state a replay of the chain gives.
    Matches,
    /// Its state differs from a replay of the chain: it was altered (opening would have
    /// trusted it; remove it and open again).
    Differs,
    /// It cannot be read or does not fit the chain; opening passes it over.
    Unusable(String),
}

/// Checks every snapshot, oldest first, against one replay of the chain (of a store whose
/// chain was verified already).
pub(super) fn check_all(store: &Store) -> Result<Vec<SnapshotCheck>, super::open::OpenError> {
    let Some(head) = store.head_anchor()? else {
        return Ok(Vec::new());
    };
    let mut snapshots = store.snapshots();
    snapshots.reverse();
    let mut state = State::new();
    let mut out = Vec::new();
    for (records, path) in snapshots {
        let read = read_and_fit(store, &path, head);
        let read = read.and_then(|(snap, _)| chunks_hold(&snap).map(|()| snap));
        let outcome = match read {
            Err(reason) => SnapshotOutcome::Unusable(reason),
            // Oldest first, each at a block boundary (`fits`): the replay only moves forward.
            Ok(snap) => {
                super::open::replay_until(store, &mut state, records)?;
                match state_digest(&state) == state_digest(&snap.state) {
                    true => SnapshotOutcome::Matches,
                    false => SnapshotOutcome::Differs,
                }
            }
        };
        out.push(SnapshotCheck {
            path,
            records,
            outcome,
        });
    }
    Ok(out)
}

/// Checks every chunk a snapshot of format 7 names through the maps its state reads, now
/// instead of on first read (the reason names the file and the first chunk whose bytes are not
/// the ones it froze): `chitra verify` reports a damaged frozen file instead of stopping on it,
/// and its comparison with the replay then reads the chunks without hashing them again.
fn chunks_hold(snap: &Snapshot) -> Result<(), String> {
    let files = [
        (
            store::Frozen::PaymentRows,
            &snap.mapped.rows,
            "payment rows",
        ),
        (
            store::Frozen::Histories,
            &snap.mapped.histories,
            "histories",
        ),
    ];
    for (file, mapped, name) in files {
        if let Some(bytes) = mapped.as_deref().and_then(CheckedFrozen::first_damaged) {
            return Err(format!(
                "what it froze ({name}): bytes {}..{} of {file:?} are not the ones it froze",
                bytes.start, bytes.end
            ));
        }
    }
    Ok(())
}
