//! Blocks: how consecutive records are packed into one stored value, and how the personal-data
//! attachments of those records are packed beside them. Packing many records into one value is
//! what lets a group commit write a few large values instead of millions of small ones.
//!
//! Layout (all integers little-endian), normative in `docs/chain-format.md`:
//! - record block: `u32 count`, then `count` times `u32 length, record bytes`;
//! - personal block: `u32 count`, then `count` times `u64 seq, 16-byte salt, u32 length, bytes`.

use super::record::PERSONAL_SALT_BYTES;

/// A block must hold at least one record and at most this many.
pub const BLOCK_RECORDS_MAX: usize = 1 << 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("block is malformed: {0}")]
pub struct BlockError(pub String);

/// Builds a record block.
#[derive(Default)]
pub struct BlockWriter {
    buf: Vec<u8>,
    count: u32,
}

impl BlockWriter {
    pub fn new() -> BlockWriter {
        BlockWriter {
            buf: vec![0; 4],
            count: 0,
        }
    }

    pub fn count(&self) -> usize {
        self.count as usize
    }

    pub fn bytes_len(&self) -> usize {
        self.buf.len()
    }

    /// Appends a record produced by `fill`, which writes the record's bytes into the buffer;
    /// returns the byte range of the record inside the block so the caller can hash it in place.
    pub fn push_with(&mut self, fill: impl FnOnce(&mut Vec<u8>)) -> std::ops::Range<usize> {
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        let start = self.buf.len();
        fill(&mut self.buf);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..start].copy_from_slice(&len.to_le_bytes());
        self.count += 1;
        start..self.buf.len()
    }

    pub fn bytes(&self) -> &[u8] {
        &self.buf
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf[..4].copy_from_slice(&self.count.to_le_bytes());
        self.buf
    }
}

/// Iterates over the records of a block, yielding each record's bytes.
pub fn records(block: &[u8]) -> Result<Vec<&[u8]>, BlockError> {
    let mut out = Vec::new();
    for_each_record(block, |r| out.push(r))?;
    Ok(out)
}

/// Calls `f` with each record's bytes, in order.
pub fn for_each_record<'a>(block: &'a [u8], mut f: impl FnMut(&'a [u8])) -> Result<(), BlockError> {
    let count = read_u32(block, 0).ok_or_else(|| BlockError("no record count".into()))? as usize;
    if count == 0 || count > BLOCK_RECORDS_MAX {
        return Err(BlockError(format!("record count {count} out of range")));
    }
    let mut at = 4;
    for i in 0..count {
        let len = read_u32(block, at)
            .ok_or_else(|| BlockError(format!("record {i}: length runs past the end")))?
            as usize;
        at += 4;
        let end = at
            .checked_add(len)
            .filter(|&e| e <= block.len())
            .ok_or_else(|| BlockError(format!("record {i}: {len} bytes run past the end")))?;
        f(&block[at..end]);
        at = end;
    }
    if at != block.len() {
        return Err(BlockError(format!(
            "{} bytes after the last record",
            block.len() - at
        )));
    }
    Ok(())
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let slice = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes(slice.try_into().expect("4 bytes")))
}

/// One personal-data attachment as stored: the record it belongs to, its salt and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonalEntry {
    pub seq: u64,
    pub salt: [u8; PERSONAL_SALT_BYTES],
    pub bytes: Vec<u8>,
}

pub fn encode_personal_block(entries: &[PersonalEntry]) -> Vec<u8> {
    let total: usize = entries.iter().map(|e| 28 + e.bytes.len()).sum();
    let mut out = Vec::with_capacity(4 + total);
    out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
    for e in entries {
        out.extend_from_slice(&e.seq.to_le_bytes());
        out.extend_from_slice(&e.salt);
        out.extend_from_slice(&(e.bytes.len() as u32).to_le_bytes());
        out.extend_from_slice(&e.bytes);
    }
    out
}

pub fn decode_personal_block(bytes: &[u8]) -> Result<Vec<PersonalEntry>, BlockError> {
    let count = read_u32(bytes, 0).ok_or_else(|| BlockError("no entry count".into()))? as usize;
    if count > BLOCK_RECORDS_MAX {
        return Err(BlockError(format!("entry count {count} out of range")));
    }
    let mut out = Vec::with_capacity(count);
    let mut at = 4;
    for i in 0..count {
        let head = bytes
            .get(at..at + 28)
            .ok_or_else(|| BlockError(format!("personal entry {i}: header runs past the end")))?;
        let seq = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        let salt = head[8..24].try_into().expect("16 bytes");
        let len = u32::from_le_bytes(head[24..28].try_into().expect("4 bytes")) as usize;
        at += 28;
        let body = bytes
            .get(at..at + len)
            .ok_or_else(|| BlockError(format!("personal entry {i}: body runs past the end")))?;
        at += len;
        out.push(PersonalEntry {
            seq,
            salt,
            bytes: body.to_vec(),
        });
    }
    if at != bytes.len() {
        return Err(BlockError(format!(
            "{} bytes after the last entry",
            bytes.len() - at
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_block_round_trips() {
        let mut w = BlockWriter::new();
        w.push_with(|b| b.extend_from_slice(b"first"));
        let r = w.push_with(|b| b.extend_from_slice(b"second record"));
        assert_eq!(&w.bytes()[r], b"second record");
        let block = w.finish();
        assert_eq!(
            records(&block).unwrap(),
            vec![&b"first"[..], &b"second record"[..]]
        );
    }

    #[test]
    fn malformed_blocks_are_errors() {
        assert!(records(&[]).is_err());
        assert!(records(&[0, 0, 0, 0]).is_err());
        assert!(records(&[1, 0, 0, 0, 9, 0, 0, 0, 1]).is_err());
        let mut w = BlockWriter::new();
        w.push_with(|b| b.push(1));
        let mut block = w.finish();
        block.push(0);
        assert!(records(&block).is_err());
    }

    #[test]
    fn personal_block_round_trips() {
        let entries = vec![
            PersonalEntry {
                seq: 3,
                salt: [1; 16],
                bytes: b"abc".to_vec(),
            },
            PersonalEntry {
                seq: 9,
                salt: [2; 16],
                bytes: vec![],
            },
        ];
        let bytes = encode_personal_block(&entries);
        assert_eq!(decode_personal_block(&bytes).unwrap(), entries);
        assert!(decode_personal_block(&bytes[..bytes.len() - 1]).is_err());
    }
}
