//! Chain export files for the tests, taken apart and put together by their framing
//! (`docs/chain-format.md` §3.2), as a tamperer editing a file would.

use chitra::chain::export::{ChainExportReader, CHAIN_EXPORT_MAGIC};
use chitra::chain::record::record_hash;

/// The records of an export, in order (the export must be well framed).
pub fn records(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut reader = ChainExportReader::new(bytes).unwrap();
    let mut out = Vec::new();
    let mut buf = Vec::new();
    while reader.next_record(&mut buf).unwrap() {
        out.push(buf.clone());
    }
    out
}

/// The magic and one frame per record, without a trailer.
pub fn frames(records: &[Vec<u8>]) -> Vec<u8> {
    let mut out = CHAIN_EXPORT_MAGIC.to_vec();
    for r in records {
        out.extend_from_slice(&(r.len() as u32).to_le_bytes());
        out.extend_from_slice(r);
    }
    out
}

/// An export of `records` with the trailer given (it need not match them).
pub fn with_trailer(records: &[Vec<u8>], count: u64, head: [u8; 32]) -> Vec<u8> {
    let mut out = frames(records);
    out.extend_from_slice(&u32::MAX.to_le_bytes());
    out.extend_from_slice(&count.to_le_bytes());
    out.extend_from_slice(&head);
    out
}

/// An export of `records` whose trailer matches them.
pub fn export(records: &[Vec<u8>]) -> Vec<u8> {
    let head = records.last().map_or([0; 32], |r| record_hash(r));
    with_trailer(records, records.len() as u64, head)
}

/// Record `seq` of an export with its last byte flipped, in a block of its own: what someone
/// with access to the store puts back in place of the record's block (which must hold that
/// record alone) to alter it under a running server.
pub fn altered_block(export: &[u8], seq: u64) -> chitra::store::PendingBlock {
    let mut record = records(export)[seq as usize].clone();
    let last = record.len() - 1;
    record[last] ^= 0x01;
    let mut block = chitra::chain::block::BlockWriter::new();
    block.push_with(|b| b.extend_from_slice(&record));
    chitra::store::PendingBlock {
        first_seq: seq,
        records: block.finish(),
        personal: vec![],
    }
}
