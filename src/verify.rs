//! Verifying a whole store or a whole export file: reads records in order, hashes them on all
//! cores, and feeds the sequential link check in `chain::verify`. Also checks every stored
//! personal-data attachment against the commitment its record holds.

use std::io::Read;
use std::time::{Duration, Instant};

use crate::chain::block::{decode_personal_block, for_each_record, PersonalEntry};
use crate::chain::export::{ChainExportReader, ExportError};
use crate::chain::record::{parse_record, personal_commitment, record_hash};
use crate::chain::{Fault, FaultKind, Hash, Verified, Verifier};
use crate::store::{Store, StoreError};

/// Records hashed together before their links are checked.
const CHUNK_RECORDS: usize = 32_768;

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("{0}")]
    Fault(Fault),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error("personal data of seq {seq}: {reason}")]
    Personal { seq: u64, reason: String },
}

impl From<Fault> for VerifyError {
    fn from(f: Fault) -> VerifyError {
        VerifyError::Fault(f)
    }
}

/// A verified chain and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Report {
    pub verified: Verified,
    pub personal_entries: u64,
    pub elapsed: Duration,
}

/// Hashes `records` using two threads (the machine's cores), preserving order.
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

/// Verifies everything in a store: records, links, head anchor and personal data.
/// `progress` is called with the number of records checked so far.
pub fn verify_store(store: &Store, mut progress: impl FnMut(u64)) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut v = Verifier::new(store.head_anchor()?);
    let mut pending: Vec<sled::IVec> = Vec::new();
    let mut pending_records = 0usize;
    let mut checked = 0u64;
    let mut personal_entries = 0u64;
    let flush = |v: &mut Verifier, pending: &mut Vec<sled::IVec>| -> Result<u64, VerifyError> {
        let mut records: Vec<&[u8]> = Vec::with_capacity(CHUNK_RECORDS + 1024);
        for block in pending.iter() {
            if let Err(e) = for_each_record(block, |r| records.push(r)) {
                push_chunk(v, &records)?;
                let f = Fault {
                    seq: v.next_seq(),
                    kind: FaultKind::MalformedBlock(e.0),
                };
                return Err(f.into());
            }
        }
        push_chunk(v, &records)?;
        let n = records.len() as u64;
        pending.clear();
        Ok(n)
    };
    for block in store.blocks() {
        let block = block?;
        if let Some(p) = &block.personal {
            personal_entries += check_personal(&block.records, p)?;
        }
        pending_records += (block.records.len() / 128).max(1);
        pending.push(block.records);
        if pending_records >= CHUNK_RECORDS {
            checked += flush(&mut v, &mut pending)?;
            pending_records = 0;
            progress(checked);
        }
    }
    checked += flush(&mut v, &mut pending)?;
    progress(checked);
    let verified = v.finish()?;
    Ok(Report {
        verified,
        personal_entries,
        elapsed: started.elapsed(),
    })
}

/// Every personal entry of a block must belong to a record of that block whose commitment it
/// matches. (Records whose commitment has no entry were erased, which is allowed.)
fn check_personal(records: &[u8], personal: &[u8]) -> Result<u64, VerifyError> {
    let entries = decode_personal_block(personal).map_err(|e| VerifyError::Personal {
        seq: 0,
        reason: e.to_string(),
    })?;
    let mut commitments = Vec::new();
    let _ = for_each_record(records, |r| {
        if let Ok(view) = parse_record(r) {
            if let Some(c) = view.header.personal_commitment {
                commitments.push((view.header.seq, c));
            }
        }
    });
    for e in &entries {
        check_entry(
            e,
            commitments
                .iter()
                .find(|(s, _)| *s == e.seq)
                .map(|(_, c)| c),
        )?;
    }
    Ok(entries.len() as u64)
}

fn check_entry(e: &PersonalEntry, commitment: Option<&Hash>) -> Result<(), VerifyError> {
    match commitment {
        None => Err(VerifyError::Personal {
            seq: e.seq,
            reason: "stored for a record that commits to no personal data".into(),
        }),
        Some(c) if *c != personal_commitment(&e.salt, &e.bytes) => Err(VerifyError::Personal {
            seq: e.seq,
            reason: "does not match the commitment in its record".into(),
        }),
        Some(_) => Ok(()),
    }
}

/// Verifies a chain export read from `input`, and its personal-data export if given.
pub fn verify_export(
    input: impl Read,
    personal: Option<&[PersonalEntry]>,
    mut progress: impl FnMut(u64),
) -> Result<Report, VerifyError> {
    let started = Instant::now();
    let mut reader = ChainExportReader::new(input)?;
    let mut v = Verifier::new(None);
    let mut buf = Vec::new();
    let mut chunk: Vec<Vec<u8>> = Vec::with_capacity(CHUNK_RECORDS);
    let mut checked = 0u64;
    let mut commitments: std::collections::HashMap<u64, Hash> = Default::default();
    loop {
        let more = reader.next_record(&mut buf)?;
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
        if !more {
            break;
        }
    }
    // The trailer is the anchor: it says how many records there were and the last one's hash.
    if reader.trailer_count() == Some(0) && checked > 0 {
        return Err(Fault {
            seq: 0,
            kind: FaultKind::BeyondAnchor { anchor_seq: 0 },
        }
        .into());
    }
    v.set_anchor(reader.anchor());
    let verified = v.finish()?;
    let mut personal_entries = 0;
    for e in personal.unwrap_or(&[]) {
        check_entry(e, commitments.get(&e.seq))?;
        personal_entries += 1;
    }
    Ok(Report {
        verified,
        personal_entries,
        elapsed: started.elapsed(),
    })
}
