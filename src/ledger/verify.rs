//! Verifying a whole store or a whole export file: reads records in order, hashes them on all
//! cores, and feeds the sequential checks of `chain::verify`. Also checks every stored
//! personal-data entry against the commitment its record holds.
//!
//! It also owns what a reader without the writer takes the chain to be (`ChainView`): the
//! records up to the head anchor, without a large group whose writing was interrupted (opening
//! discards it; readers leave it out and say so, never calling it tampering), or, for a running
//! ledger, the records up to its durable head. Export walks the chain through the same code
//! (`walk_chain`), so it refuses whatever `verify` would report.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use crate::chain::block::{decode_personal_block, for_each_record, PersonalEntry};
use crate::chain::export::{ChainExportReader, ExportError, PersonalExport};
use crate::chain::record::{parse_record, personal_commitment, record_hash};
use crate::chain::{Anchor, Fault, FaultKind, Hash, Verified, Verifier};
use crate::store::{Store, StoreError, StoredBlock};

/// Records hashed together before their links are checked.
const CHUNK_RECORDS: usize = 32_768;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Fault(Fault),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The input is not an export at all, or could not be read.
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("seq {seq}: personal data {problem}")]
    Personal { seq: u64, problem: PersonalProblem },
}

/// What is wrong with a personal-data entry (`docs/chain-format.md` §5.1), worded as §6 names
/// it (`seq N: personal data <kind> (<detail>)`, as `tools/verify_export.py` prints it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonalProblem {
    #[error("mismatch (it does not match the commitment in its record)")]
    Mismatch,
    #[error("without commitment (it is stored for a record that commits to none)")]
    WithoutCommitment,
    #[error("duplicate (it appears twice for the same record)")]
    Duplicate,
    #[error("malformed (the entry is cut short or too long)")]
    Malformed,
}

impl From<Fault> for VerifyError {
    fn from(f: Fault) -> VerifyError {
        VerifyError::Fault(f)
    }
}

impl VerifyError {
    /// True when the error is evidence of tampering (or damage), as opposed to a missing file
    /// or an input that is not a chitra export at all.
    pub fn is_tampering(&self) -> bool {
        matches!(self, VerifyError::Fault(_) | VerifyError::Personal { .. })
    }
}

/// Which records of a store make up the chain being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extent {
    /// Everything in a store that no writer is using (`chitra verify`, `export`, `status`),
    /// checked against its head anchor. A group whose writing was interrupted is left out, as
    /// opening the ledger discards it: it is not part of the chain, and not tampering either.
    Store,
    /// The chain up to a durable head of a running ledger (`Ledger::head`); records after it
    /// are still being written (or were never acknowledged) and are not read.
    UpTo(Option<Anchor>),
}

/// The blocks of a large group whose writing was interrupted (a crash before the group's head
/// anchor was written): nobody was told about them, so they are not part of the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupted {
    pub first_seq: u64,
    pub records: u64,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "an interrupted write of {} records beyond the head (from seq {}) was not \
             acknowledged and is not part of the chain; opening the ledger discards it",
            self.records, self.first_seq
        )
    }
}

/// The chain as a reader sees it in a store: the anchor it must end at, which blocks belong
/// to it, and the interrupted group left out, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainView {
    /// The last record of the chain, or `None` for an empty one.
    pub anchor: Option<Anchor>,
    pub interrupted: Option<Interrupted>,
    /// Blocks stored under this seq or later are not part of the chain.
    end_block: Option<u64>,
    /// At most this many records are read (a running ledger's blocks end at a durable head).
    records_max: Option<u64>,
}

impl ChainView {
    pub fn of(store: &Store, extent: Extent) -> Result<ChainView, StoreError> {
        match extent {
            Extent::UpTo(head) => {
                let end = head.map_or(0, |h| h.seq + 1);
                Ok(ChainView {
                    anchor: head,
                    interrupted: None,
                    end_block: Some(end),
                    records_max: Some(end),
                })
            }
            Extent::Store => {
                let pending = store.interrupted_group()?;
                let interrupted = match pending {
                    None => None,
                    Some(first_seq) => {
                        let mut records = 0u64;
                        for block in store.blocks_from(first_seq) {
                            let block = block?;
                            if block.first_seq >= first_seq {
                                // A block too damaged to count still counts as one record.
                                records += crate::chain::block::records(&block.records)
                                    .map_or(1, |r| r.len() as u64);
                            }
                        }
                        Some(Interrupted { first_seq, records })
                    }
                };
                Ok(ChainView {
                    anchor: store.head_anchor()?,
                    interrupted,
                    end_block: pending,
                    records_max: None,
                })
            }
        }
    }

    /// The number of records the anchor says the chain holds.
    pub fn records(&self) -> u64 {
        self.anchor.map_or(0, |a| a.seq + 1)
    }

    /// The chain's blocks, in order.
    pub fn blocks<'a>(
        &self,
        store: &'a Store,
    ) -> impl Iterator<Item = Result<StoredBlock, StoreError>> + 'a {
        let end = self.end_block.unwrap_or(u64::MAX);
        store
            .blocks()
            .take_while(move |b| !matches!(b, Ok(b) if b.first_seq >= end))
    }
}

/// A verified chain and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub verified: Verified,
    pub personal_entries: u64,
    /// A store's interrupted group, left out of the chain (`Extent::Store` only).
    pub interrupted: Option<Interrupted>,
    pub elapsed: Duration,
}

/// Hashes `records` on all cores, preserving order.
fn hash_all(records: &[&[u8]]) -> Vec<Hash> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(8);
    if records.len() < 1024 || threads == 1 {
        return records.iter().map(|r| record_hash(r)).collect();
    }
    let per = records.len().div_ceil(threads);
    let mut out = vec![[0u8; 32]; records.len()];
    std::thread::scope(|s| {
        for (recs, hashes) in records.chunks(per).zip(out.chunks_mut(per)) {
            s.spawn(move || {
                for (r, h) in recs.iter().zip(hashes.iter_mut()) {
                    *h = record_hash(r);
                }
            });
        }
    });
    out
}

/// Verifies a chunk of records with a verifier.
fn push_chunk(v: &mut Verifier, records: &[&[u8]]) -> Result<(), Fault> {
    let hashes = hash_all(records);
    for (r, h) in records.iter().zip(hashes) {
        v.push(r, h)?;
    }
    Ok(())
}

/// Verifies everything in a store that no writer is using: records, links, time order, the
/// head anchor and personal data; with `trusted`, also that the record at its seq has its
/// hash. `progress` is called with the number of records checked so far.
pub fn verify_store(
    store: &Store,
    trusted: Option<Anchor>,
    progress: impl FnMut(u64),
) -> Result<Report, VerifyError> {
    verify_chain(store, Extent::Store, trusted, progress)
}

/// Verifies the chain of `extent` in a store, as `verify_store` does.
pub fn verify_chain(
    store: &Store,
    extent: Extent,
    trusted: Option<Anchor>,
    progress: impl FnMut(u64),
) -> Result<Report, VerifyError> {
    let view = ChainView::of(store, extent)?;
    walk_chain(store, &view, trusted, progress, |_: &ChainBlock<'_>| {
        Ok::<(), VerifyError>(())
    })
}

/// One block of a chain being walked, after its records passed the sequential checks so far
/// (the last one is judged with the next block) and its personal data matched.
pub struct ChainBlock<'a> {
    pub stored: &'a StoredBlock,
    /// The block's records that belong to the chain, and their hashes.
    pub records: &'a [&'a [u8]],
    pub hashes: &'a [Hash],
}

/// Reads the chain of `view` in order (a reader thread fetches while this one checks), hashes
/// on all cores, runs the sequential checks, and hands each block to `sink` before the next.
/// Exporting writes the blocks out this way, so it refuses exactly what `verify` reports.
pub fn walk_chain<E: From<VerifyError>>(
    store: &Store,
    view: &ChainView,
    trusted: Option<Anchor>,
    mut progress: impl FnMut(u64),
    mut sink: impl FnMut(&ChainBlock<'_>) -> Result<(), E>,
) -> Result<Report, E> {
    let started = Instant::now();
    let mut v = Verifier::new(view.anchor);
    v.expect_head(trusted);
    let mut walk = Walk {
        checked: 0,
        personal_entries: 0,
        records_left: view.records_max.unwrap_or(u64::MAX),
    };
    std::thread::scope(|s| -> Result<(), E> {
        let (tx, rx) = crossbeam_channel::bounded::<Result<Vec<StoredBlock>, StoreError>>(2);
        s.spawn(move || {
            let mut pending = Vec::new();
            let mut pending_bytes = 0usize;
            for block in view.blocks(store) {
                let block = match block {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.send(Err(e));
                        return;
                    }
                };
                pending_bytes += block.records.len();
                pending.push(block);
                // About CHUNK_RECORDS records of ~150 bytes.
                if pending_bytes >= CHUNK_RECORDS * 150 {
                    if tx.send(Ok(std::mem::take(&mut pending))).is_err() {
                        return;
                    }
                    pending_bytes = 0;
                }
            }
            let _ = tx.send(Ok(pending));
        });
        // Leaving this loop early drops the receiver, which stops the reader thread.
        for chunk in rx {
            let chunk = chunk.map_err(VerifyError::from)?;
            walk.push_blocks(&mut v, &chunk, &mut sink)?;
            progress(walk.checked);
            if walk.records_left == 0 {
                break;
            }
        }
        Ok(())
    })?;
    let verified = v.finish().map_err(VerifyError::from)?;
    if view.anchor.is_none() && verified.records > 0 {
        // Records without any anchor: none of them was ever acknowledged.
        let fault = Fault {
            seq: 0,
            kind: FaultKind::BeyondAnchor { anchor_seq: None },
        };
        return Err(VerifyError::from(fault).into());
    }
    Ok(Report {
        verified,
        personal_entries: walk.personal_entries,
        interrupted: view.interrupted,
        elapsed: started.elapsed(),
    })
}

/// How far a walk over a store's chain has got.
struct Walk {
    checked: u64,
    personal_entries: u64,
    records_left: u64,
}

/// One block's records and their hashes, and how many personal entries it checked.
struct HashedBlock<'a> {
    records: Vec<&'a [u8]>,
    hashes: Vec<Hash>,
    framing: Option<String>,
    personal: Result<u64, VerifyError>,
}

impl Walk {
    /// Hashes the blocks (and checks their personal data) on all cores, then feeds the records
    /// to the sequential checks in order, and each block to `sink`.
    fn push_blocks<E: From<VerifyError>>(
        &mut self,
        v: &mut Verifier,
        blocks: &[StoredBlock],
        sink: &mut impl FnMut(&ChainBlock<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        let threads = std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .clamp(1, 8);
        let per = blocks.len().div_ceil(threads).max(1);
        let hashed: Vec<HashedBlock<'_>> = std::thread::scope(|s| {
            let handles: Vec<_> = blocks
                .chunks(per)
                .map(|chunk| s.spawn(move || chunk.iter().map(hash_block).collect::<Vec<_>>()))
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().expect("hashing thread"))
                .collect()
        });
        for (stored, mut h) in blocks.iter().zip(hashed) {
            if self.records_left == 0 {
                break;
            }
            let keep = h.records.len().min(self.records_left as usize);
            h.records.truncate(keep);
            h.hashes.truncate(keep);
            for (r, hash) in h.records.iter().zip(&h.hashes) {
                v.push(r, *hash).map_err(VerifyError::from)?;
            }
            self.checked += keep as u64;
            self.records_left -= keep as u64;
            if let Some(reason) = h.framing {
                return Err(VerifyError::from(v.framing(reason)).into());
            }
            self.personal_entries += h.personal?;
            sink(&ChainBlock {
                stored,
                records: &h.records,
                hashes: &h.hashes,
            })?;
        }
        Ok(())
    }
}

fn hash_block(block: &StoredBlock) -> HashedBlock<'_> {
    let mut records = Vec::with_capacity(64);
    let framing = for_each_record(&block.records, |r| records.push(r))
        .err()
        .map(|e| e.0);
    let hashes = records.iter().map(|r| record_hash(r)).collect();
    let personal = match &block.personal {
        Some(p) => check_personal_block(&block.records, p),
        None => Ok(0),
    };
    HashedBlock {
        records,
        hashes,
        framing,
        personal,
    }
}

/// Every personal entry of a block must belong to a record of that block whose commitment it
/// matches, once. (Records whose commitment has no entry were erased, which is allowed.)
pub fn check_personal_block(records: &[u8], personal: &[u8]) -> Result<u64, VerifyError> {
    let entries = decode_personal_block(personal).map_err(|_| VerifyError::Personal {
        seq: 0,
        problem: PersonalProblem::Malformed,
    })?;
    let mut commitments = HashMap::new();
    let _ = for_each_record(records, |r| {
        if let Ok(view) = parse_record(r) {
            if let Some(c) = view.header.personal_commitment {
                commitments.insert(view.header.seq, c);
            }
        }
    });
    check_entries(&entries, &commitments)?;
    Ok(entries.len() as u64)
}

fn check_entries(
    entries: &[PersonalEntry],
    commitments: &HashMap<u64, Hash>,
) -> Result<(), VerifyError> {
    let mut seen = HashSet::with_capacity(entries.len());
    for e in entries {
        let problem = if !seen.insert(e.seq) {
            Some(PersonalProblem::Duplicate)
        } else {
            match commitments.get(&e.seq) {
                None => Some(PersonalProblem::WithoutCommitment),
                Some(c) if *c != personal_commitment(&e.salt, &e.bytes) => {
                    Some(PersonalProblem::Mismatch)
                }
                Some(_) => None,
            }
        };
        if let Some(problem) = problem {
            return Err(VerifyError::Personal {
                seq: e.seq,
                problem,
            });
        }
    }
    Ok(())
}

/// Verifies a chain export read from `input`, and its personal-data export if given; with
/// `trusted`, also that the record at its seq has its hash.
pub fn verify_export(
    input: impl Read,
    personal: Option<&PersonalExport>,
    trusted: Option<Anchor>,
    mut progress: impl FnMut(u64),
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut reader = ChainExportReader::new(input)?;
    let mut v = Verifier::new(None);
    v.expect_head(trusted);
    let mut buf = Vec::new();
    let mut chunk: Vec<Vec<u8>> = Vec::with_capacity(CHUNK_RECORDS);
    let mut checked = 0u64;
    let mut commitments: HashMap<u64, Hash> = HashMap::new();
    loop {
        let next = reader.next_record(&mut buf);
        let more = matches!(next, Ok(true));
        if more {
            if personal.is_some() {
                if let Ok(view) = parse_record(&buf) {
                    if let Some(c) = view.header.personal_commitment {
                        commitments.insert(view.header.seq, c);
                    }
                }
            }
            chunk.push(std::mem::take(&mut buf));
        }
        if chunk.len() >= CHUNK_RECORDS || (!more && !chunk.is_empty()) {
            let slices: Vec<&[u8]> = chunk.iter().map(Vec::as_slice).collect();
            push_chunk(&mut v, &slices)?;
            checked += chunk.len() as u64;
            chunk.clear();
            progress(checked);
        }
        match next {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => return Err(framing_fault(&mut v, e)),
        }
    }
    // The trailer is the anchor: how many records there were and the last one's hash.
    let trailer = reader.trailer();
    if let Some((0, hash)) = trailer {
        if checked == 0 && hash != [0; 32] {
            let reason = "the trailer of an empty chain has a non-zero head hash";
            return Err(v.framing(reason.into()).into());
        }
    }
    v.set_anchor(reader.anchor());
    let verified = v.finish()?;
    if matches!(trailer, Some((0, _))) && checked > 0 {
        // The trailer says the chain is empty: every record is beyond it.
        let kind = FaultKind::BeyondAnchor { anchor_seq: None };
        return Err(Fault { seq: 0, kind }.into());
    }
    if let Some(p) = personal {
        check_entries(&p.entries, &commitments)?;
        if let Some(seq) = p.malformed_at {
            return Err(VerifyError::Personal {
                seq,
                problem: PersonalProblem::Malformed,
            });
        }
    }
    Ok(Report {
        verified,
        personal_entries: personal.map_or(0, |p| p.entries.len() as u64),
        interrupted: None,
        elapsed: started.elapsed(),
    })
}

/// Damage to an export's framing is reported like damage to a record: at the sequence number
/// where the next record should have started.
fn framing_fault(v: &mut Verifier, e: ExportError) -> VerifyError {
    match e {
        ExportError::NoTrailer { .. } | ExportError::TruncatedFrame { .. } => v.cut_short().into(),
        ExportError::BadLength { len, .. } => v
            .framing(format!("frame length {len} is out of range"))
            .into(),
        ExportError::AfterTrailer(n) => v.framing(format!("{n} bytes follow the trailer")).into(),
        other => other.into(),
    }
}
