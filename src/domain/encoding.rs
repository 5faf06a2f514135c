//! The canonical encoding of domain values: bincode 2 with `config::standard()` (little-endian,
//! variable-length integers). Record payloads (`ledger::codec`), request digests and batch
//! content hashes all use it, so it is defined once, here, where `decide` (which hashes a batch's
//! content) can use it without reaching up into the ledger.

use bincode::config::{self, Configuration};

/// The one bincode configuration of every stored or hashed encoding.
pub const CANONICAL: Configuration = config::standard();

/// Appends the canonical encoding of `value` to `out`.
pub fn encode_into<T: bincode::Encode>(value: &T, out: &mut Vec<u8>) {
    bincode::encode_into_std_write(value, out, CANONICAL).expect("writing to a Vec cannot fail");
}

/// The canonical bytes of `value`.
pub fn to_bytes<T: bincode::Encode>(value: &T) -> Vec<u8> {
    bincode::encode_to_vec(value, CANONICAL).expect("encoding to a Vec cannot fail")
}
