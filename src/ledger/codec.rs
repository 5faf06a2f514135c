//! Payload encoding: how an `Event` becomes the payload bytes of a record, and how every
//! payload version ever written becomes an `Event` again; likewise for personal-data
//! attachments.
//!
//! Version 1 is bincode 2 (`config::standard()`: little-endian, variable-length integers) of
//! `domain::Event`. When a later version changes the shape of an event, the version-1 enum is
//! frozen here as `v1::Event` and `decode_event` upcasts it; golden fixtures of every version
//! live in `ledger-data/golden/` and must keep decoding.

use bincode::config::{self, Configuration};

use crate::domain::event::{Event, PersonalData};

/// The payload version this build writes.
pub const PAYLOAD_VERSION_CURRENT: u16 = 1;

/// The personal-data encoding this build writes (first byte of every attachment).
pub const PERSONAL_VERSION_CURRENT: u8 = 1;

const CONFIG: Configuration = crate::domain::encoding::CANONICAL;

/// The most memory one decoded payload may claim, in bytes. bincode preallocates a list from
/// its length prefix; without a limit, a damaged or hostile length would ask for petabytes.
pub const DECODE_CLAIM_BYTES_MAX: usize = 16 << 20;

const DECODE_CONFIG: Configuration<
    config::LittleEndian,
    config::Varint,
    config::Limit<DECODE_CLAIM_BYTES_MAX>,
> = config::standard().with_limit::<DECODE_CLAIM_BYTES_MAX>();

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    #[error("unknown payload version {0}")]
    UnknownVersion(u16),
    #[error("unknown personal-data version {0}")]
    UnknownPersonalVersion(u8),
    #[error("payload does not decode: {0}")]
    Decode(String),
    #[error("{0} bytes follow the payload")]
    TrailingBytes(usize),
}

/// Appends the current-version payload of `event` to `out`.
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    bincode::encode_into_std_write(event, out, CONFIG).expect("writing to a Vec cannot fail");
}

pub fn event_bytes(event: &Event) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    encode_event(event, &mut out);
    out
}

/// Decodes a payload of any version this build knows.
pub fn decode_event(version: u16, payload: &[u8]) -> Result<Event, CodecError> {
    match version {
        1 => decode_exact(payload),
        other => Err(CodecError::UnknownVersion(other)),
    }
}

pub fn encode_personal(data: &PersonalData, out: &mut Vec<u8>) {
    out.push(PERSONAL_VERSION_CURRENT);
    bincode::encode_into_std_write(data, out, CONFIG).expect("writing to a Vec cannot fail");
}

pub fn decode_personal(bytes: &[u8]) -> Result<PersonalData, CodecError> {
    match bytes.split_first() {
        Some((1, rest)) => decode_exact(rest),
        Some((v, _)) => Err(CodecError::UnknownPersonalVersion(*v)),
        None => Err(CodecError::Decode("empty personal data".into())),
    }
}

pub use crate::domain::encoding::{encode_into as encode_value, to_bytes as canonical_bytes};

fn decode_exact<T: bincode::Decode<()>>(bytes: &[u8]) -> Result<T, CodecError> {
    let (value, used) = bincode::decode_from_slice(bytes, DECODE_CONFIG)
        .map_err(|e| CodecError::Decode(e.to_string()))?;
    if used != bytes.len() {
        return Err(CodecError::TrailingBytes(bytes.len() - used));
    }
    Ok(value)
}
