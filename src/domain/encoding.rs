//! The canonical encoding of domain values: bincode 2 with `config::standard()` (little-endian,
//! variable-length integers). Record payloads (`ledger::codec`), request digests and batch
//! content hashes all use it, so it is defined once, here, where `decide` (which hashes a batch's
//! content) can use it without reaching up into the ledger.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

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

/// A map's entries sorted by key: how the state's snapshot encoding writes a hash map, so
/// one state has one encoding.
pub(crate) fn sorted_map<K: Ord, V, S>(m: &HashMap<K, V, S>) -> Vec<(&K, &V)> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_unstable_by(|a, b| a.0.cmp(b.0));
    v
}

/// A map as the snapshot encoding writes it (`sorted_map`), read back.
pub(crate) fn decode_map<Context, D, K, V, S>(
    d: &mut D,
) -> Result<HashMap<K, V, S>, bincode::error::DecodeError>
where
    D: bincode::de::Decoder<Context = Context>,
    K: bincode::Decode<Context> + Eq + Hash,
    V: bincode::Decode<Context>,
    S: BuildHasher + Default,
{
    let entries: Vec<(K, V)> = bincode::Decode::decode(d)?;
    Ok(entries.into_iter().collect())
}
