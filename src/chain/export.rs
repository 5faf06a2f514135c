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

    /// Reads the next record into `buf`; `Ok(false)` after the trailer.
    pub fn next_record(&mut self, buf: &mut Vec<u8>) -> Result<bool, ExportError> {
        if self.trailer.is_some() {
            return Ok(false);
        }
        let mut len_bytes = [0u8; 4];
        if !read_full_or_eof(&mut self.input, &mut len_bytes)? {
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
        self.input
            .read_exact(buf)
            .map_err(|_| ExportError::TruncatedFrame { index: self.frames })?;
        self.frames += 1;
        Ok(true)
    }

    fn read_trailer(&mut self) -> Result<(), ExportError> {
        let mut rest = [0u8; 40];
        self.input
            .read_exact(&mut rest)
            .map_err(|_| ExportError::NoTrailer {
                frames: self.frames,
            })?;
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

fn read_full_or_eof(input: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
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

pub fn read_personal_export(mut input: impl Read) -> Result<Vec<PersonalEntry>, ExportError> {
    let mut magic = [0u8; 8];
    input
        .read_exact(&mut magic)
        .map_err(|_| ExportError::BadMagic)?;
    if &magic != PERSONAL_EXPORT_MAGIC {
        return Err(ExportError::BadMagic);
    }
    let mut out = Vec::new();
    let mut head = [0u8; 28];
    loop {
        if !read_full_or_eof(&mut input, &mut head)? {
            return Ok(out);
        }
        let len = u32::from_le_bytes(head[24..28].try_into().expect("4 bytes"));
        if len as usize > PAYLOAD_BYTES_MAX {
            return Err(ExportError::BadLength {
                index: out.len() as u64,
                len,
            });
        }
        let mut bytes = vec![0u8; len as usize];
        input
            .read_exact(&mut bytes)
            .map_err(|_| ExportError::TruncatedFrame {
                index: out.len() as u64,
            })?;
        out.push(PersonalEntry {
            seq: u64::from_le_bytes(head[..8].try_into().expect("8 bytes")),
            salt: head[8..24].try_into().expect("16 bytes"),
            bytes,
        });
    }
}
