//! The report index: the sequence numbers of the records the department's figures read
//! (`app::reports::AsOf`: enrolments, detail corrections, route changes, holds for review and
//! their clearing, deaths, erasures and returns), so that a report reads those records and not
//! every payment line and settlement ever appended. Its time grows with the people and what
//! happened to them, not with the months paid.
//!
//! The index is derived data, kept in one file beside the store (`<data dir>/report-index`,
//! format in docs/chain-format.md): a header naming the chain (the hash of record 0), then
//! frames, each saying "records `first..end` were looked at, and these of them are wanted",
//! with a check. The committer writes a group's frame only after the group is durable
//! (`Pending`), so a frame never describes a record a crash could take back. Nothing trusts
//! the file further than that: a frame lost, torn or never written (a crash, a chain imported
//! or restored, a ledger older than the index) leaves a gap in what the frames cover, and the
//! next report reads the records of the gap (headers only) and writes its frame; a missing or
//! foreign file is rebuilt from the chain. Deleting the file is always safe.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::codec;
use super::read::ReadError;
use super::Ledger;
use crate::chain::block::for_each_record;
use crate::chain::record::{parse_record, record_hash};
use crate::chain::Hash;
use crate::domain::event::Event;
use crate::store::{PendingBlock, Store, StoreError};

/// The index's file, in the data directory.
pub const REPORT_INDEX_FILE: &str = "report-index";
/// The first bytes of the file: its format.
const MAGIC: &[u8; 8] = b"chrpix01";
/// The magic and the hash of record 0.
const HEADER_BYTES: usize = 8 + 32;
/// A frame: first (u64), end (u64), count (u32), the seqs (u64 each), then its check.
const FRAME_FIXED_BYTES: usize = 8 + 8 + 4;
const FRAME_CHECK_BYTES: usize = 8;
/// The next wanted record is read by stepping through the blocks after the current one when
/// it is at most this many records on; further, by seeking its block.
const STEP_RECORDS_MAX: u64 = 512;

/// One appender at a time in this process (the committer and reports catching up a gap); a
/// data directory has one process (the store's lock).
static APPEND: Mutex<()> = Mutex::new(());

/// Whether the figures' pass reads this event. `wanted_payload` says the same of a stored
/// payload without decoding it (`tests/reports_index.rs` checks the two agree on every event
/// of the golden fixtures).
pub fn wanted(event: &Event) -> bool {
    matches!(
        event,
        Event::BeneficiaryEnrolled(_)
            | Event::BeneficiaryDetailsCorrected(_)
            | Event::PaymentRouteSet(_)
            | Event::BeneficiaryDeathRecorded(_)
            | Event::BeneficiaryHeldForReview(_)
            | Event::BeneficiaryReviewCleared(_)
            | Event::PaymentReturned(_)
            | Event::PersonalDataErased(_)
    )
}

/// The bincode variant numbers (the first payload byte in version 1) of the events `wanted`
/// names, in `domain::Event`'s order.
const WANTED_TAGS: [u8; 8] = [0, 1, 2, 3, 4, 5, 23, 26];

/// Whether a stored payload is of a kind the figures read, from its first byte. A payload of
/// another version is taken as wanted: the reader decodes it and passes over what it does not
/// need, so too many seqs cost time, never a wrong figure.
pub fn wanted_payload(version: u16, payload: &[u8]) -> bool {
    match (version, payload.first()) {
        // bincode writes a variant number below 251 as that one byte.
        (1, Some(&tag)) if tag < 251 => WANTED_TAGS.contains(&tag),
        _ => true,
    }
}

/// A range of records looked at, and the wanted ones among them.
#[derive(Debug, Default)]
struct Frame {
    first: u64,
    end: u64,
    seqs: Vec<u64>,
}

/// Notes what the committer writes; the frame goes to the file once the group is durable.
#[derive(Debug, Default)]
pub(super) struct Pending {
    frame: Option<Frame>,
    /// The hash of record 0, when this group holds it (the file's header names the chain).
    genesis: Option<Hash>,
}

impl Pending {
    /// Notes the records of blocks about to be written (a group, or part of one).
    pub(super) fn note(&mut self, blocks: &[PendingBlock]) {
        for b in blocks {
            // A block that does not parse is written anyway and fails verification; the gap it
            // leaves here is read again (and refused) by the next report.
            let _ = for_each_record(&b.records, |r| {
                let Ok(view) = parse_record(r) else { return };
                let seq = view.header.seq;
                if seq == 0 {
                    self.genesis = Some(record_hash(r));
                }
                let f = self.frame.get_or_insert_with(|| Frame {
                    first: seq,
                    end: seq,
                    seqs: Vec::new(),
                });
                f.end = seq + 1;
                if wanted_payload(view.header.payload_version, view.payload) {
                    f.seqs.push(seq);
                }
            });
        }
    }

    /// Appends the noted frame, now that its records are durable. A failure is not the chain's:
    /// the frame is a gap the next report fills.
    pub(super) fn durable(&mut self, dir: &Path) {
        let Pending { frame, genesis } = std::mem::take(self);
        if let Some(frame) = frame {
            let _ = append(&dir.join(REPORT_INDEX_FILE), genesis.as_ref(), &frame);
        }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn frame_bytes(frame: &Frame) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_FIXED_BYTES + 8 * frame.seqs.len() + 8);
    out.extend_from_slice(&frame.first.to_le_bytes());
    out.extend_from_slice(&frame.end.to_le_bytes());
    out.extend_from_slice(&(frame.seqs.len() as u32).to_le_bytes());
    for s in &frame.seqs {
        out.extend_from_slice(&s.to_le_bytes());
    }
    let check = blake3::hash(&out);
    out.extend_from_slice(&check.as_bytes()[..FRAME_CHECK_BYTES]);
    out
}

/// Appends one frame. With `genesis`, a missing file is created with its header first; without
/// it, a missing file stays missing (the next report builds it from the chain).
fn append(path: &Path, genesis: Option<&Hash>, frame: &Frame) -> Result<(), StoreError> {
    let _one = APPEND.lock().unwrap_or_else(|e| e.into_inner());
    let mut bytes = Vec::new();
    if !path.exists() {
        let Some(g) = genesis else { return Ok(()) };
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(g);
    }
    bytes.extend_from_slice(&frame_bytes(frame));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(io(path))?;
    file.write_all(&bytes).map_err(io(path))
}

/// The frames of the file whose header names the chain starting with `genesis`; a torn or
/// damaged tail is cut off, and a missing or foreign file is started again.
fn load(path: &Path, genesis: &Hash) -> Result<Vec<Frame>, StoreError> {
    let _one = APPEND.lock().unwrap_or_else(|e| e.into_inner());
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(io(path)(e)),
    };
    let ours = bytes.len() >= HEADER_BYTES
        && &bytes[..8] == MAGIC
        && bytes[8..HEADER_BYTES] == genesis[..];
    if !ours {
        let mut header = MAGIC.to_vec();
        header.extend_from_slice(genesis);
        std::fs::write(path, header).map_err(io(path))?;
        return Ok(Vec::new());
    }
    let (frames, good) = parse_frames(&bytes[HEADER_BYTES..]);
    if HEADER_BYTES + good < bytes.len() {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io(path))?;
        file.set_len((HEADER_BYTES + good) as u64)
            .map_err(io(path))?;
    }
    Ok(frames)
}

/// The frames that parse and check, and how many bytes they take.
fn parse_frames(bytes: &[u8]) -> (Vec<Frame>, usize) {
    let le_u64 = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().expect("8"));
    let mut frames = Vec::new();
    let mut at = 0;
    while bytes.len() - at >= FRAME_FIXED_BYTES + FRAME_CHECK_BYTES {
        let b = &bytes[at..];
        let n = u32::from_le_bytes(b[16..20].try_into().expect("4")) as usize;
        let Some(body) = n
            .checked_mul(8)
            .and_then(|s| s.checked_add(FRAME_FIXED_BYTES))
            .filter(|body| body + FRAME_CHECK_BYTES <= b.len())
        else {
            break;
        };
        if blake3::hash(&b[..body]).as_bytes()[..FRAME_CHECK_BYTES]
            != b[body..body + FRAME_CHECK_BYTES]
        {
            break;
        }
        frames.push(Frame {
            first: le_u64(b, 0),
            end: le_u64(b, 8),
            seqs: (0..n)
                .map(|i| le_u64(b, FRAME_FIXED_BYTES + 8 * i))
                .collect(),
        });
        at += body + FRAME_CHECK_BYTES;
    }
    (frames, at)
}

/// The parts of `0..to` no frame covers.
fn gaps(frames: &[Frame], to: u64) -> Vec<(u64, u64)> {
    let mut covered: Vec<(u64, u64)> = frames.iter().map(|f| (f.first, f.end)).collect();
    covered.sort_unstable();
    let mut out = Vec::new();
    let mut next = 0;
    for (first, end) in covered {
        if first > next {
            out.push((next, first.min(to)));
        }
        next = next.max(end);
        if next >= to {
            break;
        }
    }
    if next < to {
        out.push((next, to));
    }
    out.retain(|(a, b)| a < b);
    out
}

/// The wanted records of `from..end`, from their headers and first payload byte.
fn scan(store: &Store, from: u64, end: u64) -> Result<Frame, ReadError> {
    let mut frame = Frame {
        first: from,
        end,
        seqs: Vec::new(),
    };
    for block in store.blocks_from(from) {
        let block = block?;
        if block.first_seq >= end {
            break;
        }
        let mut bad = None;
        for_each_record(&block.records, |r| match parse_record(r) {
            Ok(v) if (from..end).contains(&v.header.seq) => {
                if wanted_payload(v.header.payload_version, v.payload) {
                    frame.seqs.push(v.header.seq);
                }
            }
            Ok(_) => {}
            Err(e) => bad = bad.take().or(Some(e.to_string())),
        })
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if let Some(reason) = bad {
            return Err(ReadError::Undecodable {
                seq: block.first_seq,
                reason,
            });
        }
    }
    Ok(frame)
}

/// What `chitra verify` finds of the report index, which it checks as it checks snapshots:
/// derived data that a report trusts, so someone who can write the data directory could make
/// the figures leave out a hold or a route change with a frame that still checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexCheck {
    /// No index file (the next report builds one).
    Absent,
    /// Not this chain's index, or not an index at all (the next report starts it again).
    Foreign,
    /// Every frame lists exactly the wanted records of the range it covers.
    Matches { frames: usize, records: u64 },
    /// A frame lists other records than the chain's wanted ones in its range.
    Differs { first: u64, end: u64 },
    /// Frames cover records up to `end` but the chain holds `head`: records that were durable
    /// when their frame was written are gone.
    BeyondHead { end: u64, head: u64 },
}

impl IndexCheck {
    /// The finding when the index shows tampering, worded once for `chitra verify` and the
    /// auditors' page: the seq it points at and why, naming the index as `path`.
    pub fn tampering(&self, path: &str) -> Option<(u64, String)> {
        match *self {
            IndexCheck::Differs { first, end } => Some((
                first,
                format!(
                    "the report index lists other records than the chain's for records {first}..{end}; remove {path} (the next report rebuilds it)"
                ),
            )),
            IndexCheck::BeyondHead { end, head } => Some((
                head,
                format!(
                    "the report index covers {end} records but the chain holds {head}: records that were acknowledged are gone"
                ),
            )),
            _ => None,
        }
    }
}

/// Checks every frame of the index file in `dir` against the chain in `store`, reading only:
/// a torn tail is left for the next report to cut. `head_records` gives the records of the
/// chain; it is asked after the file is read, so that a frame the committer appends meanwhile
/// (only ever for records already durable) is not taken for one beyond the head.
pub fn check(
    store: &Store,
    dir: &Path,
    head_records: impl FnOnce() -> Result<u64, ReadError>,
) -> Result<IndexCheck, ReadError> {
    let path = dir.join(REPORT_INDEX_FILE);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexCheck::Absent),
        Err(e) => return Err(io(&path)(e).into()),
    };
    let head = head_records()?;
    let genesis = match crate::ledger::read::records(store, 0, 1)
        .next()
        .transpose()?
    {
        Some(r) => r.hash,
        None => return Ok(IndexCheck::Foreign),
    };
    if bytes.len() < HEADER_BYTES || &bytes[..8] != MAGIC || bytes[8..HEADER_BYTES] != genesis[..] {
        return Ok(IndexCheck::Foreign);
    }
    let (frames, _) = parse_frames(&bytes[HEADER_BYTES..]);
    // A frame is written only once its records are durable, so one past the head means
    // records that were acknowledged are gone (a cut tail).
    if let Some(end) = frames.iter().map(|f| f.end).max().filter(|end| *end > head) {
        return Ok(IndexCheck::BeyondHead { end, head });
    }
    let mut records = 0;
    for f in &frames {
        let mut claimed = f.seqs.clone();
        claimed.sort_unstable();
        if f.end < f.first || scan(store, f.first, f.end)?.seqs != claimed {
            return Ok(IndexCheck::Differs {
                first: f.first,
                end: f.end,
            });
        }
        records += f.end - f.first;
    }
    Ok(IndexCheck::Matches {
        frames: frames.len(),
        records,
    })
}

/// A block being read: its first seq, its bytes and the byte range of each of its records.
type Block = (u64, crate::store::StoredBytes, Vec<(usize, usize)>);

impl Ledger {
    fn report_index_path(&self) -> PathBuf {
        self.shared.dir.join(REPORT_INDEX_FILE)
    }

    /// The sequence numbers below `known_at` (and below the durable head) of the records the
    /// figures read (`wanted`), in order, from the report index; the parts of the chain the
    /// index does not cover yet are read (headers only) and added to it first.
    pub fn report_seqs(&self, known_at: u64) -> Result<Vec<u64>, ReadError> {
        let durable = self.durable_records();
        let to = known_at.min(durable);
        let Some(first) = self.records(0, 1).next().transpose()? else {
            return Ok(Vec::new());
        };
        let path = self.report_index_path();
        let mut frames = load(&path, &first.hash)?;
        // Catch up to the durable head, not only to `to`: a later report need not.
        for (from, end) in gaps(&frames, durable) {
            let frame = self.scan(from, end)?;
            append(&path, Some(&first.hash), &frame)?;
            frames.push(frame);
        }
        let mut seqs: Vec<u64> = frames
            .into_iter()
            .flat_map(|f| f.seqs)
            .filter(|s| *s < to)
            .collect();
        seqs.sort_unstable();
        seqs.dedup();
        Ok(seqs)
    }

    /// Checks the index against the chain (`check`), as `chitra verify` does.
    pub fn check_report_index(&self) -> Result<IndexCheck, ReadError> {
        check(&self.shared.store, &self.shared.dir, || {
            Ok(self.durable_records())
        })
    }

    /// The wanted records of `from..end` (`scan`).
    fn scan(&self, from: u64, end: u64) -> Result<Frame, ReadError> {
        scan(&self.shared.store, from, end)
    }

    /// Calls `f` with the event of each record in `seqs` (ascending, all durable), reading each
    /// block once: the next block when the next seq is near, its own block when it is far.
    pub fn events_at(&self, seqs: &[u64], mut f: impl FnMut(u64, &Event)) -> Result<(), ReadError> {
        let store = &self.shared.store;
        let Some(&start) = seqs.first() else {
            return Ok(());
        };
        let mut blocks = store.blocks_from(start);
        let mut current: Option<Block> = None;
        for &seq in seqs {
            loop {
                if let Some((first, bytes, ranges)) = &current {
                    let end = first + ranges.len() as u64;
                    if (*first..end).contains(&seq) {
                        let (a, b) = ranges[(seq - first) as usize];
                        let bad = |reason: String| ReadError::Undecodable { seq, reason };
                        let view = parse_record(&bytes[a..b]).map_err(|e| bad(e.to_string()))?;
                        if view.header.seq != seq {
                            return Err(bad(format!("found record {}", view.header.seq)));
                        }
                        let event = codec::decode_event(view.header.payload_version, view.payload)
                            .map_err(|e| bad(e.to_string()))?;
                        f(seq, &event);
                        break;
                    }
                    if seq < *first || seq >= end + STEP_RECORDS_MAX {
                        blocks = store.blocks_from(seq);
                    }
                }
                let block = blocks.next().transpose()?.ok_or(ReadError::Undecodable {
                    seq,
                    reason: "no block holds the record".into(),
                })?;
                let base = block.records.as_ptr() as usize;
                let mut ranges = Vec::new();
                for_each_record(&block.records, |r| {
                    let a = r.as_ptr() as usize - base;
                    ranges.push((a, a + r.len()));
                })
                .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                current = Some((block.first_seq, block.records, ranges));
            }
        }
        Ok(())
    }
}
