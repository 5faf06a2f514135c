//! Export files: the chain as stored (byte-exact records) and, in a separate file, the personal
//! data attachments, so an auditor can verify the chain without ever seeing personal data.
//!
//! Chain export: magic `CHITRAX1`, then one frame per record (`u32 LE length`, record bytes),
//! then a trailer (`u32 LE 0xFFFFFFFF`, `u64 LE record count`, 32-byte head hash, zero for an
//! empty chain). Personal export: magic `CHITRAP1`, then entries (`u64 LE seq`, 16-byte salt,
//! `u32 LE length`, bytes) to the end of the file.

use std::io::{self, Read, Write};

use super::block::PersonalEntry;
use super::record::{Hash, PAYLOAD_BYTES_MAX};
use super::verify::Anchor;

pub const CHAIN_EXPORT_MAGIC: &[u8; 8] = b"CHITRAX1";
pub const PERSONAL_EXPORT_MAGIC: &[u8; 8] = b"CHITRAP1";
const TRAILER_MARK: u32 = u32::MAX;
/// No valid record is longer than its largest payload plus a generous header allowance.
pub const RECORD_BYTES_MAX: usize = PAYLOAD_BYTES_MAX + 4096;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("not a chitra chain export (bad magic)")]
    BadMagic,
    #[error("frame {index}: length {len} is out of range")]
    BadLength { index: u64, len: u32 },
    #[error("the file ends inside frame {index}")]
    TruncatedFrame { index: u64 },
    #[error("the file has no trailer: it was cut short after {frames} records")]
    NoTrailer { frames: u64 },
    #[error("{0} bytes follow the trailer")]
    AfterTrailer(usize),
    #[error(transparent)]
    Io(#[from] io::Error),
}

pub struct ChainExportWriter<W: Write> {
    out: W,
    count: u64,
    head: Hash,
}

impl<W: Write> ChainExportWriter<W> {
    pub fn new(mut out: W) -> io::Result<ChainExportWriter<W>> {
        out.write_all(CHAIN_EXPORT_MAGIC)?;
        Ok(ChainExportWriter {
            out,
            count: 0,
            head: [0; 32],
        })
    }

    pub fn record(&mut self, bytes: &[u8], hash: Hash) -> io::Result<()> {
        self.out.write_all(&(bytes.len() as u32).to_le_bytes())?;
        self.out.write_all(bytes)?;
        self.count += 1;
        self.head = hash;
        Ok(())
    }

    pub fn finish(mut self) -> io::Result<W> {
        self.out.write_all(&TRAILER_MARK.to_le_bytes())?;
        self.out.write_all(&self.count.to_le_bytes())?;
        self.out.write_all(&self.head)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Reads the frames of a chain export one at a time.
pub struct ChainExportReader<R: Read> {
    input: R,
    frames: u64,
    trailer: Option<(u64, Hash)>,
}

impl<R: Read> ChainExportReader<R> {
    pub fn new(mut input: R) -> Result<ChainExportReader<R>, ExportError> {
        let mut magic = [0u8; 8];
        input
            .read_exact(&mut magic)
            .map_err(|_| ExportError::BadMagic)?;
        if &magic != CHAIN_EXPORT_MAGIC {
            return Err(ExportError::BadMagic);
        }
        Ok(ChainExportReader {
            input,
            frames: 0,
            trailer: None,
        })
    }

    /// Reads the next record into `buf`; `Ok(false)` after the trailer. A file that ends
    /// anywhere before the end of the trailer (inside a frame length, a frame, the trailer mark
    /// or the trailer) is `NoTrailer` or `TruncatedFrame`, never a bare end-of-file error, so
    /// that verification reports it as truncated (`docs/chain-format.md` §6).
    pub fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<bool, ExportError> {
        if self.trailer.is_some() {
            return Ok(false);
        }
        let mut len_bytes = [0u8; 4];
        if read_up_to(&mut self.input, &mut len_bytes)? < len_bytes.len() {
            return Err(ExportError::NoTrailer {
                frames: self.frames,
            });
        }
        let len = u32::from_le_bytes(len_bytes);
        if len == TRAILER_MARK {
            return self.read_trailer().map(|_| false);
        }
        if len == 0 || len as usize > RECORD_BYTES_MAX {
            return Err(ExportError::BadLength {
                index: self.frames,
                len,
            });
        }
        buf.clear();
        buf.resize(len as usize, 0);
        if read_up_to(&mut self.input, buf)? < buf.len() {
            return Err(ExportError::TruncatedFrame { index: self.frames });
        }
        self.frames += 1;
        Ok(true)
    }

    fn read_trailer(&mut self) -> Result<(), ExportError> {
        let mut rest = [0u8; 40];
        if read_up_to(&mut self.input, &mut rest)? < rest.len() {
            return Err(ExportError::NoTrailer {
                frames: self.frames,
            });
        }
        let count = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
        let head: Hash = rest[8..].try_into().expect("32 bytes");
        let mut extra = Vec::new();
        self.input.read_to_end(&mut extra)?;
        if !extra.is_empty() {
            return Err(ExportError::AfterTrailer(extra.len()));
        }
        self.trailer = Some((count, head));
        Ok(())
    }

    /// The trailer as an anchor for the verifier (after the last record was read). A trailer
    /// whose count disagrees with the frames is reported as an anchor at its stated head, so
    /// that the verifier names the first missing or surplus sequence number.
    pub fn anchor(&self) -> Option<Anchor> {
        match self.trailer {
            Some((0, _)) | None => None,
            Some((count, hash)) => Some(Anchor {
                seq: count - 1,
                hash,
            }),
        }
    }

    /// The trailer's record count and head hash, once read.
    pub fn trailer(&self) -> Option<(u64, Hash)> {
        self.trailer
    }
}

/// Fills `buf` as far as the input goes; returns how many bytes were read (fewer than
/// `buf.len()` only at the end of the input).
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

pub fn write_personal_export(mut out: impl Write, entries: &[PersonalEntry]) -> io::Result<()> {
    out.write_all(PERSONAL_EXPORT_MAGIC)?;
    for e in entries {
        write_personal_entry(&mut out, e)?;
    }
    out.flush()
}

pub fn write_personal_entry(out: &mut impl Write, e: &PersonalEntry) -> io::Result<()> {
    out.write_all(&e.seq.to_le_bytes())?;
    out.write_all(&e.salt)?;
    out.write_all(&(e.bytes.len() as u32).to_le_bytes())?;
    out.write_all(&e.bytes)
}

/// A personal-data export as read: its entries in file order, and where it stops making sense
/// if it does (`docs/chain-format.md` §6: a file cut inside an entry is *personal data
/// malformed*, reported after the chain and after the entries before it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonalExport {
    pub entries: Vec<PersonalEntry>,
    /// The seq a malformed entry is reported at: the entry's own once its 8-byte seq was read,
    /// otherwise the seq after the last complete entry's (0 when there is none).
    pub malformed_at: Option<u64>,
}

/// Reads a personal-data export. Only a file that is not one (bad magic) or cannot be read is
/// an error; a damaged entry ends the reading and is recorded in `malformed_at`.
pub fn read_personal_export(mut input: impl Read) -> Result<PersonalExport, ExportError> {
    let mut magic = [0u8; 8];
    if read_up_to(&mut input, &mut magic)? < magic.len() || &magic != PERSONAL_EXPORT_MAGIC {
        return Err(ExportError::BadMagic);
    }
    let mut out = PersonalExport::default();
    let mut head = [0u8; 28];
    loop {
        let got = read_up_to(&mut input, &mut head)?;
        if got == 0 {
            return Ok(out);
        }
        if got < 8 {
            out.malformed_at = Some(out.entries.last().map_or(0, |e| e.seq + 1));
            return Ok(out);
        }
        let seq = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
        let len = u32::from_le_bytes(head[24..28].try_into().expect("4 bytes")) as usize;
        let mut bytes = vec![0u8; len.min(PAYLOAD_BYTES_MAX)];
        if got < head.len() || len > PAYLOAD_BYTES_MAX || read_up_to(&mut input, &mut bytes)? < len
        {
            out.malformed_at = Some(seq);
            return Ok(out);
        }
        out.entries.push(PersonalEntry {
            seq,
            salt: head[8..24].try_into().expect("16 bytes"),
            bytes,
        });
    }
}
