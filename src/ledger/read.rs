//! Reading the chain back: records by sequence range, in order, as a stream. Records come out
//! exactly as stored (with their hashes), so what a reader hands on can be verified by anyone.

use crate::chain::block::for_each_record;
use crate::chain::record::{parse_record, record_hash};
use crate::chain::Hash;
use crate::store::{Store, StoreError};

/// One stored record and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub hash: Hash,
}

/// Records with `from <= seq < to`, in order. Stops at the first store error or malformed
/// record (which `chitra verify` would report).
pub fn records(
    store: &Store,
    from: u64,
    to: u64,
) -> impl Iterator<Item = Result<StoredRecord, StoreError>> + '_ {
    store
        .blocks_from(from)
        .map(move |block| {
            let block = block?;
            let mut out = Vec::new();
            let mut bad = None;
            for_each_record(&block.records, |r| match parse_record(r) {
                Ok(view) if (from..to).contains(&view.header.seq) => out.push(Ok(StoredRecord {
                    seq: view.header.seq,
                    bytes: r.to_vec(),
                    hash: record_hash(r),
                })),
                Ok(_) => {}
                Err(e) if bad.is_none() => bad = Some(StoreError::Corrupt(e.to_string())),
                Err(_) => {}
            })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(e) = bad {
                out.push(Err(e));
            }
            Ok((block.first_seq, out))
        })
        .take_while(move |b| !matches!(b, Ok((first, _)) if *first >= to))
        .flat_map(|b| match b {
            Ok((_, records)) => records,
            Err(e) => vec![Err(e)],
        })
}
