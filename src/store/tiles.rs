//! The Merkle tree's tiles (`chain::merkle`, `docs/proofs.md`) in the store: one value per
//! tile, its hashes concatenated (32 bytes each), under the key `t` + level (u8) + index (u64
//! big-endian). A tile not yet full is stored with the hashes it has and rewritten as it grows.
//! Tiles are derived from the records: opening a ledger checks them against the records and
//! writes any that are missing, so they never need to be written with the blocks atomically.

use sled::Batch;

use super::{Store, StoreError, StoredBytes};
use crate::chain::merkle::TileId;

fn tile_key(id: TileId) -> [u8; 10] {
    let mut k = [0u8; 10];
    k[0] = b't';
    k[1] = id.level;
    k[2..].copy_from_slice(&id.index.to_be_bytes());
    k
}

impl Store {
    /// Writes tiles (each with all its hashes so far) without flushing: the flush of the group
    /// they belong to makes them durable with it.
    pub fn put_tiles(&self, tiles: &[(TileId, Vec<u8>)]) -> Result<(), StoreError> {
        if tiles.is_empty() {
            return Ok(());
        }
        let mut batch = Batch::default();
        for (id, bytes) in tiles {
            batch.insert(&tile_key(*id), bytes.as_slice());
        }
        self.log.apply_batch(batch)?;
        Ok(())
    }

    /// Makes tiles written by `put_tiles` durable on their own (the repair opening does).
    pub fn flush_tiles(&self) -> Result<(), StoreError> {
        self.flush()
    }

    /// A stored tile's bytes, if any.
    pub fn tile(&self, id: TileId) -> Result<Option<StoredBytes>, StoreError> {
        Ok(self.log.get(tile_key(id))?)
    }
}
