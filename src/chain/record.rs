//! The stored record: its exact byte layout (version 1), how it is hashed, and how it is read
//! back without copying. `docs/chain-format.md` is the normative description; this module and
//! that document must say the same thing, and the golden vectors in `ledger-data/golden/` keep
//! them honest.

use thiserror::Error;

/// A blake3 digest.
pub type Hash = [u8; 32];

/// The hash every chain starts from: record 0 links to 32 zero bytes.
pub const GENESIS_PREV_HASH: Hash = [0u8; 32];

/// The record layout written by this version of chitra.
pub const RECORD_FORMAT_V1: u8 = 1;

/// blake3 `derive_key` context for record hashes. Fixed forever for format 1.
pub const RECORD_HASH_CONTEXT: &str = "chitra 2026-11-22 chain record v1";

/// blake3 `derive_key` context for commitments to personal data.
pub const PERSONAL_COMMITMENT_CONTEXT: &str = "chitra 2026-11-22 personal data commitment v1";

/// Bytes of the salt that blinds each personal-data commitment.
pub const PERSONAL_SALT_BYTES: usize = 16;

/// The longest idempotency key a record can carry.
pub const IDEMPOTENCY_KEY_BYTES_MAX: usize = 128;

/// The longest principal a record can carry: the domain's limit, which `Principal::parse`
/// enforces, defined once there (the header's length byte could hold more).
pub use crate::domain::types::PRINCIPAL_BYTES_MAX;

/// The largest payload a record can carry (a payment line with many arrears items is a few KiB).
pub const PAYLOAD_BYTES_MAX: usize = 1 << 20;

const FLAG_IDEMPOTENCY: u8 = 0b01;
const FLAG_PERSONAL: u8 = 0b10;
const FIXED_HEADER_BYTES: usize = 53;

/// What a record says about itself, apart from its payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader<'a> {
    pub seq: u64,
    pub prev_hash: Hash,
    /// Milliseconds since the Unix epoch, UTC, as the writer's clock read it.
    pub recorded_at_ms: i64,
    pub principal: &'a str,
    pub idempotency: Option<Idempotency<'a>>,
    pub personal_commitment: Option<Hash>,
    pub payload_version: u16,
}

/// An idempotency key and the digest of the request that first used it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Idempotency<'a> {
    pub key: &'a [u8],
    pub request_digest: Hash,
}

/// A parsed view of one stored record, borrowing the stored bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordView<'a> {
    pub bytes: &'a [u8],
    pub header: RecordHeader<'a>,
    pub payload: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatError {
    #[error("record is {0} bytes, shorter than its fixed header")]
    TooShort(usize),
    #[error("unknown record format {0}")]
    UnknownFormat(u8),
    #[error("unknown flag bits {0:#04x}")]
    UnknownFlags(u8),
    #[error("{field} runs past the end of the record")]
    Truncated { field: &'static str },
    #[error("{field} is out of range: {detail}")]
    OutOfRange { field: &'static str, detail: String },
    #[error("{0} bytes follow the payload")]
    TrailingBytes(usize),
}

/// Appends the bytes of one record to `out`.
///
/// Panics if a precondition the caller's types already guarantee is broken (an over-long
/// principal or key): those are programming errors, not input errors.
pub fn encode_record(out: &mut Vec<u8>, header: &RecordHeader<'_>, payload: &[u8]) {
    assert!(!header.principal.is_empty() && header.principal.len() <= PRINCIPAL_BYTES_MAX);
    assert!(payload.len() <= PAYLOAD_BYTES_MAX);
    let mut flags = 0;
    if header.idempotency.is_some() {
        flags |= FLAG_IDEMPOTENCY;
    }
    if header.personal_commitment.is_some() {
        flags |= FLAG_PERSONAL;
    }
    out.push(RECORD_FORMAT_V1);
    out.push(flags);
    out.extend_from_slice(&header.payload_version.to_le_bytes());
    out.extend_from_slice(&header.seq.to_le_bytes());
    out.extend_from_slice(&header.prev_hash);
    out.extend_from_slice(&header.recorded_at_ms.to_le_bytes());
    out.push(header.principal.len() as u8);
    out.extend_from_slice(header.principal.as_bytes());
    if let Some(idem) = &header.idempotency {
        assert!(!idem.key.is_empty() && idem.key.len() <= IDEMPOTENCY_KEY_BYTES_MAX);
        out.push(idem.key.len() as u8);
        out.extend_from_slice(idem.key);
        out.extend_from_slice(&idem.request_digest);
    }
    if let Some(commitment) = &header.personal_commitment {
        out.extend_from_slice(commitment);
    }
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

/// Hashers with their derive-key context already absorbed: cloning one is cheaper than deriving
/// the context key again for each of millions of records.
static RECORD_HASHER: std::sync::LazyLock<blake3::Hasher> =
    std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key(RECORD_HASH_CONTEXT));
static COMMITMENT_HASHER: std::sync::LazyLock<blake3::Hasher> =
    std::sync::LazyLock::new(|| blake3::Hasher::new_derive_key(PERSONAL_COMMITMENT_CONTEXT));

/// The record's hash: blake3 in derive-key mode over exactly the stored bytes.
pub fn record_hash(bytes: &[u8]) -> Hash {
    let mut hasher = RECORD_HASHER.clone();
    hasher.update(bytes);
    *hasher.finalize().as_bytes()
}

/// The commitment the chain stores for a personal-data attachment.
pub fn personal_commitment(salt: &[u8; PERSONAL_SALT_BYTES], personal_bytes: &[u8]) -> Hash {
    let mut hasher = COMMITMENT_HASHER.clone();
    hasher.update(salt);
    hasher.update(personal_bytes);
    *hasher.finalize().as_bytes()
}

struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], FormatError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or(FormatError::Truncated { field })?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn hash(&mut self, field: &'static str) -> Result<Hash, FormatError> {
        Ok(self.take(32, field)?.try_into().expect("took 32 bytes"))
    }

    fn u8(&mut self, field: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, field)?[0])
    }
}

/// Parses one record occupying all of `bytes`.
pub fn parse_record(bytes: &[u8]) -> Result<RecordView<'_>, FormatError> {
    if bytes.len() < FIXED_HEADER_BYTES {
        return Err(FormatError::TooShort(bytes.len()));
    }
    if bytes[0] != RECORD_FORMAT_V1 {
        return Err(FormatError::UnknownFormat(bytes[0]));
    }
    let flags = bytes[1];
    if flags & !(FLAG_IDEMPOTENCY | FLAG_PERSONAL) != 0 {
        return Err(FormatError::UnknownFlags(flags));
    }
    let le_u64 = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let payload_version = u16::from_le_bytes([bytes[2], bytes[3]]);
    let seq = le_u64(4);
    let prev_hash: Hash = bytes[12..44].try_into().expect("32 bytes");
    let recorded_at_ms = le_u64(44) as i64;
    let mut cur = Cursor { bytes, at: 52 };
    let principal_len = cur.u8("principal length")? as usize;
    if principal_len == 0 || principal_len > PRINCIPAL_BYTES_MAX {
        return Err(FormatError::OutOfRange {
            field: "principal length",
            detail: format!("{principal_len} is not 1-{PRINCIPAL_BYTES_MAX}"),
        });
    }
    let principal = std::str::from_utf8(cur.take(principal_len, "principal")?).map_err(|_| {
        FormatError::OutOfRange {
            field: "principal",
            detail: "not UTF-8".into(),
        }
    })?;
    let idempotency = if flags & FLAG_IDEMPOTENCY != 0 {
        let key_len = cur.u8("idempotency key length")? as usize;
        if key_len == 0 || key_len > IDEMPOTENCY_KEY_BYTES_MAX {
            return Err(FormatError::OutOfRange {
                field: "idempotency key length",
                detail: format!("{key_len} is not 1-{IDEMPOTENCY_KEY_BYTES_MAX}"),
            });
        }
        let key = cur.take(key_len, "idempotency key")?;
        if !key.iter().all(u8::is_ascii_graphic) {
            return Err(FormatError::OutOfRange {
                field: "idempotency key",
                detail: "not visible ASCII (0x21-0x7E)".into(),
            });
        }
        let request_digest = cur.hash("request digest")?;
        Some(Idempotency {
            key,
            request_digest,
        })
    } else {
        None
    };
    let personal_commitment = if flags & FLAG_PERSONAL != 0 {
        Some(cur.hash("personal-data commitment")?)
    } else {
        None
    };
    let len_bytes = cur.take(4, "payload length")?;
    let payload_len = u32::from_le_bytes(len_bytes.try_into().expect("4 bytes")) as usize;
    if payload_len > PAYLOAD_BYTES_MAX {
        return Err(FormatError::OutOfRange {
            field: "payload length",
            detail: format!("{payload_len} exceeds {PAYLOAD_BYTES_MAX}"),
        });
    }
    let payload = cur.take(payload_len, "payload")?;
    if cur.at != bytes.len() {
        return Err(FormatError::TrailingBytes(bytes.len() - cur.at));
    }
    Ok(RecordView {
        bytes,
        header: RecordHeader {
            seq,
            prev_hash,
            recorded_at_ms,
            principal,
            idempotency,
            personal_commitment,
            payload_version,
        },
        payload,
    })
}

/// Lower-case hex of a hash, the form the CLI, the API and the spec print.
pub fn hex(hash: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(hash.len() * 2);
    for b in hash {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// Parses lower- or upper-case hex of exactly 32 bytes.
pub fn parse_hash_hex(text: &str) -> Option<Hash> {
    let text = text.trim();
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, chunk) in text.as_bytes().chunks(2).enumerate() {
        let s = std::str::from_utf8(chunk).ok()?;
        out[i] = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(principal: &str) -> RecordHeader<'_> {
        RecordHeader {
            seq: 7,
            prev_hash: [9; 32],
            recorded_at_ms: 1_700_000_000_123,
            principal,
            idempotency: None,
            personal_commitment: None,
            payload_version: 1,
        }
    }

    #[test]
    fn round_trips_all_optional_fields() {
        let key = b"req-1";
        let mut h = header("officer:lan");
        h.idempotency = Some(Idempotency {
            key,
            request_digest: [3; 32],
        });
        h.personal_commitment = Some([4; 32]);
        let mut out = Vec::new();
        encode_record(&mut out, &h, b"payload");
        let view = parse_record(&out).unwrap();
        assert_eq!(view.header, h);
        assert_eq!(view.payload, b"payload");
        assert_eq!(out.len(), 53 + 11 + 1 + 5 + 32 + 32 + 4 + 7);
    }

    #[test]
    fn rejects_trailing_and_truncated_bytes() {
        let mut out = Vec::new();
        encode_record(&mut out, &header("a"), b"xyz");
        let mut longer = out.clone();
        longer.push(0);
        assert_eq!(parse_record(&longer), Err(FormatError::TrailingBytes(1)));
        assert!(matches!(
            parse_record(&out[..out.len() - 1]),
            Err(FormatError::Truncated { .. })
        ));
    }

    #[test]
    fn hex_round_trips() {
        let h = record_hash(b"abc");
        assert_eq!(parse_hash_hex(&hex(&h)), Some(h));
    }
}
