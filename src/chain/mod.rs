//! The chain format: records, blocks, export files and verification, as pure functions over
//! bytes. This module knows nothing about sled, events or the writer; a verifier built from
//! `docs/chain-format.md` alone must agree with it byte for byte.

pub mod block;
pub mod cosign;
pub mod export;
pub mod merkle;
pub mod note;
pub mod record;
pub mod verify;

pub use record::{hex, record_hash, Hash, RecordHeader, RecordView};
pub use verify::{Anchor, Fault, FaultKind, Verified, Verifier};
