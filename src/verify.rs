//! Verifying a whole store or a whole export file: reads records in order, hashes them on all
//! cores, and feeds the sequential checks of `chain::verify`. Also checks every stored
//! personal-data entry against the commitment its record holds.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::time::{Duration, Instant};

use crate::chain::block::{decode_personal_block, for_each_record, PersonalEntry};
use crate::chain::export::{ChainExportReader, ExportError};
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

/// What is wrong with a personal-data entry (`docs/chain-format.md` §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PersonalProblem {
    #[error("does not match the commitment in its record")]
    Mismatch,
    #[error("is stored for a record that commits to none")]
    WithoutCommitment,
    #[error("appears twice for the same record")]
    Duplicate,
    #[error("is malformed")]
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

/// A verified chain and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub verified: Verified,
    pub personal_entries: u64,
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

/// Verifies everything in a store: records, links, time order, the head anchor and personal
/// data; with `trusted`, also that the record at its seq has its hash. `progress` is called
/// with the number of records checked so far.
pub fn verify_store(
    store: &Store,
    trusted: Option<Anchor>,
    mut progress: impl FnMut(u64),
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut v = Verifier::new(store.head_anchor()?);
    v.expect_head(trusted);
    let mut checked = 0u64;
    let mut personal_entries = 0u64;
    // A reader thread fetches the next chunk of blocks while this one is hashed and checked.
    std::thread::scope(|s| -> Result<(), VerifyError> {
        let (tx, rx) = crossbeam_channel::bounded::<Result<Vec<StoredBlock>, StoreError>>(2);
        s.spawn(move || {
            let mut pending = Vec::new();
            let mut pending_bytes = 0usize;
            for block in store.blocks() {
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
        for chunk in rx {
            let (records, personal) = push_blocks(&mut v, &chunk?)?;
            checked += records;
            personal_entries += personal;
            progress(checked);
        }
        Ok(())
    })?;
    let verified = v.finish()?;
    Ok(Report {
        verified,
        personal_entries,
        elapsed: started.elapsed(),
    })
}

/// One block's records and their hashes, and how many personal entries it checked.
struct HashedBlock<'a> {
    records: Vec<&'a [u8]>,
    hashes: Vec<Hash>,
    framing: Option<String>,
    personal: Result<u64, VerifyError>,
}

/// Hashes the blocks (and checks their personal data) on all cores, then feeds the records to
/// the sequential checks in order.
fn push_blocks(v: &mut Verifier, blocks: &[StoredBlock]) -> Result<(u64, u64), VerifyError> {
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
    let (mut records, mut personal) = (0u64, 0u64);
    for h in hashed {
        for (r, hash) in h.records.iter().zip(h.hashes) {
            v.push(r, hash)?;
        }
        records += h.records.len() as u64;
        if let Some(reason) = h.framing {
            return Err(v.framing(reason).into());
        }
        personal += h.personal?;
    }
    Ok((records, personal))
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
    personal: Option<&[PersonalEntry]>,
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
    match reader.trailer() {
        Some((0, hash)) if checked == 0 && hash != [0; 32] => {
            let reason = "the trailer of an empty chain has a non-zero head hash";
            return Err(v.framing(reason.into()).into());
        }
        Some((0, _)) if checked > 0 => {
            return Err(Fault {
                seq: 0,
                kind: FaultKind::BeyondAnchor { anchor_seq: 0 },
            }
            .into())
        }
        _ => {}
    }
    v.set_anchor(reader.anchor());
    let verified = v.finish()?;
    if let Some(entries) = personal {
        check_entries(entries, &commitments)?;
    }
    Ok(Report {
        verified,
        personal_entries: personal.map_or(0, |p| p.len() as u64),
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
