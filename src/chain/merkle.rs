//! The Merkle tree over the chain (`docs/proofs.md`): RFC 6962 / RFC 9162 hashing with SHA-256,
//! so that any standard transparency-log verifier can check a chitra proof. Leaf `i` is the
//! record with seq `i`, hashed over exactly its stored bytes (`SHA-256(0x00 ‖ record)`); an
//! inner node is `SHA-256(0x01 ‖ left ‖ right)`. The chain itself stays blake3; this tree sits
//! beside it.
//!
//! It owns, as pure functions over hashes: the tree as it grows one leaf at a time
//! (`TreeBuilder`, kept by the writer and by every verifier that walks the chain), the C2SP
//! tlog-tiles cut of the tree into tiles of 256 hashes, level by level (`TileId`), inclusion and
//! consistency proofs computed from tiles (`Prover`, over any `TileSource`), and their
//! verification by the algorithms of RFC 9162 §2.1.3.2 and §2.1.4.2.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

/// A SHA-256 digest: a leaf hash, a node hash or a root.
pub type Hash = [u8; 32];

/// Hashes per full tile (C2SP tlog-tiles: a tile is a subtree of height 8).
pub const TILE_WIDTH: usize = 256;
/// Tree levels per tile level.
pub const TILE_HEIGHT: u32 = 8;
/// Tile levels a tree of up to 2^64 leaves needs (64 / 8).
pub const TILE_LEVELS: u8 = 8;

/// `SHA-256(0x00 ‖ data)`: the hash of a leaf (a record's stored bytes).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// `SHA-256(0x01 ‖ left ‖ right)`: the hash of an inner node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: `SHA-256("")` (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The largest power of two strictly below `n` (`n >= 2`): where RFC 6962 splits a tree.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// One tile: `level` 0 holds leaf hashes; an entry of level `l > 0` is the root of a full tile
/// of level `l - 1` (the root of `256^l` consecutive leaves). Tile `index` of a level holds that
/// level's entries `index·256 .. index·256 + 256`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TileId {
    pub level: u8,
    pub index: u64,
}

impl TileId {
    /// Entries of a tile level in a tree of `size` leaves: `⌊size / 256^level⌋`.
    pub fn level_entries(size: u64, level: u8) -> u64 {
        match u32::from(level) * TILE_HEIGHT {
            shift if shift >= 64 => 0,
            shift => size >> shift,
        }
    }

    /// How many of this tile's hashes exist in a tree of `size` leaves (0 to 256; below 256 it
    /// is a partial tile).
    pub fn width_at(&self, size: u64) -> usize {
        let entries = TileId::level_entries(size, self.level);
        let start = self.index.saturating_mul(TILE_WIDTH as u64);
        entries.saturating_sub(start).min(TILE_WIDTH as u64) as usize
    }

    /// Every tile, full or partial, of a tree of `size` leaves, level by level.
    pub fn all(size: u64) -> Vec<(TileId, usize)> {
        let mut out = Vec::new();
        for level in 0..TILE_LEVELS {
            let entries = TileId::level_entries(size, level);
            if entries == 0 {
                break;
            }
            for index in 0..entries.div_ceil(TILE_WIDTH as u64) {
                let id = TileId { level, index };
                out.push((id, id.width_at(size)));
            }
        }
        out
    }

    /// The tile's path below a C2SP tlog-tiles prefix: `tile/<L>/<N>[.p/<W>]`, the index in
    /// zero-padded groups of three digits, all but the last prefixed with `x`
    /// (`tile/0/x001/x234/067`).
    pub fn path(&self, width: usize) -> String {
        let mut groups = Vec::new();
        let mut n = self.index;
        loop {
            groups.push(n % 1000);
            n /= 1000;
            if n == 0 {
                break;
            }
        }
        let mut path = format!("tile/{}", self.level);
        for (i, g) in groups.iter().enumerate().rev() {
            match i {
                0 => path.push_str(&format!("/{g:03}")),
                _ => path.push_str(&format!("/x{g:03}")),
            }
        }
        if width < TILE_WIDTH {
            path.push_str(&format!(".p/{width}"));
        }
        path
    }
}

/// The tree as it grows one leaf at a time: its size, the roots of its perfect subtrees (the
/// right edge, from which the root is folded in `O(log n)`), and its tiles as they fill. Adding
/// a leaf costs one leaf hash and, amortised, one node hash.
#[derive(Debug, Clone, Default)]
pub struct TreeBuilder {
    size: u64,
    /// Roots of the perfect subtrees that make up the tree, largest (leftmost) first: one per
    /// bit set in `size`.
    frontier: Vec<Hash>,
    /// Per tile level, the entries of its rightmost tile not yet full.
    partial: Vec<Vec<Hash>>,
    /// Tile levels whose rightmost tile changed since the last `drain_tiles`.
    touched: u8,
    /// Tiles that became full since the last `drain_tiles`.
    finished: Vec<(TileId, Vec<Hash>)>,
}

/// A `TreeBuilder` at rest: its size, the roots of its perfect subtrees (largest first) and
/// the entries of each level's rightmost tile not yet full.
#[derive(Debug, Clone, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct TreeParts {
    pub size: u64,
    pub frontier: Vec<Hash>,
    pub partial: Vec<Vec<Hash>>,
}

impl TreeBuilder {
    pub fn new() -> TreeBuilder {
        TreeBuilder::default()
    }

    /// Leaves so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the record `data` as the next leaf.
    pub fn push_record(&mut self, data: &[u8]) {
        self.push(leaf_hash(data));
    }

    /// Adds a leaf by its hash.
    pub fn push(&mut self, leaf: Hash) {
        self.add_entry(0, leaf);
        let mut node = leaf;
        let mut height = 0u32;
        let mut s = self.size;
        while s & 1 == 1 {
            let left = self
                .frontier
                .pop()
                .expect("a bit of size is a frontier subtree");
            node = node_hash(&left, &node);
            height += 1;
            s >>= 1;
            if height % TILE_HEIGHT == 0 {
                self.add_entry((height / TILE_HEIGHT) as u8, node);
            }
        }
        self.frontier.push(node);
        self.size += 1;
    }

    fn add_entry(&mut self, level: u8, hash: Hash) {
        let l = usize::from(level);
        if self.partial.len() <= l {
            self.partial.resize_with(l + 1, Vec::new);
        }
        let tile = &mut self.partial[l];
        tile.push(hash);
        self.touched |= 1 << level;
        if tile.len() == TILE_WIDTH {
            // The entries before this tile's were all in full tiles already finished.
            let done = std::mem::take(tile);
            let entries = TileId::level_entries(self.size + 1, level);
            let index = entries / TILE_WIDTH as u64 - 1;
            self.finished.push((TileId { level, index }, done));
        }
    }

    /// The root of the tree as it stands (`SHA-256("")` when empty).
    pub fn root(&self) -> Hash {
        let mut it = self.frontier.iter().rev();
        let Some(last) = it.next() else {
            return empty_root();
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The tiles that changed since the last call, each with all its hashes so far: tiles
    /// that became full, and the rightmost (partial) tile of each level that grew.
    pub fn drain_tiles(&mut self) -> Vec<(TileId, Vec<Hash>)> {
        let mut out = std::mem::take(&mut self.finished);
        for (level, tile) in self.partial.iter().enumerate() {
            if self.touched & (1 << level) != 0 && !tile.is_empty() {
                let index = TileId::level_entries(self.size, level as u8) / TILE_WIDTH as u64;
                out.push((
                    TileId {
                        level: level as u8,
                        index,
                    },
                    tile.clone(),
                ));
            }
        }
        self.touched = 0;
        out
    }

    /// The tiles that became full since the last call (and not yet drained): what a check of
    /// stored tiles compares as the tree grows, without copying the partial tiles each time.
    pub fn take_finished(&mut self) -> Vec<(TileId, Vec<Hash>)> {
        std::mem::take(&mut self.finished)
    }

    /// What the builder is, without its pending tiles (a snapshot of the ledger keeps this).
    pub fn parts(&self) -> TreeParts {
        TreeParts {
            size: self.size,
            frontier: self.frontier.clone(),
            partial: self.partial.clone(),
        }
    }

    /// A builder continuing from `parts`, or `None` if they cannot describe a tree (a frontier
    /// subtree per bit of the size, each partial tile as long as the size implies).
    pub fn from_parts(parts: TreeParts) -> Option<TreeBuilder> {
        let TreeParts {
            size,
            frontier,
            partial,
        } = parts;
        let frontier_ok = frontier.len() == size.count_ones() as usize;
        let partial_ok = partial.iter().enumerate().all(|(level, tile)| {
            u8::try_from(level).is_ok_and(|l| {
                TileId::level_entries(size, l) % TILE_WIDTH as u64 == tile.len() as u64
            })
        });
        (frontier_ok && partial_ok).then(|| TreeBuilder {
            size,
            frontier,
            partial,
            touched: 0,
            finished: Vec::new(),
        })
    }

    /// The rightmost, not yet full tiles of every level (what `drain_tiles` would report for a
    /// tree rebuilt from scratch), without draining anything.
    pub fn partial_tiles(&self) -> Vec<(TileId, Vec<Hash>)> {
        self.partial
            .iter()
            .enumerate()
            .filter(|(_, t)| !t.is_empty())
            .map(|(level, t)| {
                let index = TileId::level_entries(self.size, level as u8) / TILE_WIDTH as u64;
                (
                    TileId {
                        level: level as u8,
                        index,
                    },
                    t.clone(),
                )
            })
            .collect()
    }
}

/// Hashes as stored in a tile: 32 bytes each, concatenated.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    hashes.concat()
}

/// The hashes of a tile's bytes; `None` when the length is not a whole number of hashes.
pub fn tile_hashes(bytes: &[u8]) -> Option<Vec<Hash>> {
    if bytes.len() % 32 != 0 {
        return None;
    }
    Some(
        bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect(),
    )
}

/// Where a prover reads tiles: the store, a directory of published tiles, or memory.
pub trait TileSource {
    type Error;
    /// At least the first `width` hashes of the tile, or an error when it has fewer.
    fn tile(&mut self, id: TileId, width: usize) -> Result<Vec<Hash>, Self::Error>;
}

/// What can go wrong computing a proof from tiles.
#[derive(Debug, thiserror::Error)]
pub enum ProofError<E> {
    /// The proof asked for does not exist (a leaf at or beyond the tree size, sizes in the
    /// wrong order, a tree larger than the tiles cover).
    #[error("{0}")]
    OutOfRange(String),
    #[error(transparent)]
    Source(E),
}

/// Computes roots and proofs of trees of any size up to what its tiles cover, reading each
/// tile once.
pub struct Prover<S: TileSource> {
    source: S,
    cache: HashMap<TileId, Vec<Hash>>,
}

impl<S: TileSource> Prover<S> {
    pub fn new(source: S) -> Prover<S> {
        Prover {
            source,
            cache: HashMap::new(),
        }
    }

    /// The hashes `from..to` of a tile level (all in one tile).
    fn entries(&mut self, level: u8, from: u64, to: u64) -> Result<Vec<Hash>, S::Error> {
        let index = from / TILE_WIDTH as u64;
        let id = TileId { level, index };
        let start = (from - index * TILE_WIDTH as u64) as usize;
        let end = (to - index * TILE_WIDTH as u64) as usize;
        let have = self.cache.get(&id).map_or(0, |t| t.len());
        if have < end {
            let tile = self.source.tile(id, end)?;
            self.cache.insert(id, tile);
        }
        Ok(self.cache[&id][start..end].to_vec())
    }

    /// The root of the perfect subtree of `2^height` leaves starting at leaf `first` (a multiple
    /// of `2^height`): read from its tile level and hashed up within the tile.
    fn perfect(&mut self, first: u64, height: u32) -> Result<Hash, S::Error> {
        let level = (height / TILE_HEIGHT) as u8;
        let within = height % TILE_HEIGHT;
        let from = first >> (u32::from(level) * TILE_HEIGHT);
        let mut hashes = self.entries(level, from, from + (1 << within))?;
        while hashes.len() > 1 {
            hashes = hashes
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(hashes[0])
    }

    /// `MTH(D[first .. first + n])` for a subtree of the RFC 6962 structure: `first` is a
    /// multiple of the largest power of two not above `n`.
    fn range(&mut self, first: u64, n: u64) -> Result<Hash, S::Error> {
        if n.is_power_of_two() {
            return self.perfect(first, n.trailing_zeros());
        }
        let k = split(n);
        let left = self.perfect(first, k.trailing_zeros())?;
        let right = self.range(first + k, n - k)?;
        Ok(node_hash(&left, &right))
    }

    /// The root of the tree of the first `size` leaves.
    pub fn root(&mut self, size: u64) -> Result<Hash, S::Error> {
        match size {
            0 => Ok(empty_root()),
            n => self.range(0, n),
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1
    /// `PATH`), the leaf's sibling first.
    pub fn inclusion(&mut self, index: u64, size: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
        if index >= size {
            return Err(ProofError::OutOfRange(format!(
                "leaf {index} is not in a tree of {size} leaves"
            )));
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out)
            .map_err(ProofError::Source)?;
        Ok(out)
    }

    fn path(&mut self, m: u64, first: u64, n: u64, out: &mut Vec<Hash>) -> Result<(), S::Error> {
        if n == 1 {
            return Ok(());
        }
        let k = split(n);
        if m < k {
            self.path(m, first, k, out)?;
            out.push(self.range(first + k, n - k)?);
        } else {
            self.path(m - k, first + k, n - k, out)?;
            out.push(self.perfect(first, k.trailing_zeros())?);
        }
        Ok(())
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (RFC
    /// 6962 §2.1.2 `PROOF`); empty when `old` is 0 or equals `new`.
    pub fn consistency(&mut self, old: u64, new: u64) -> Result<Vec<Hash>, ProofError<S::Error>> {
        if old > new {
            return Err(ProofError::OutOfRange(format!(
                "a tree of {old} leaves cannot be a prefix of one of {new}"
            )));
        }
        let mut out = Vec::new();
        if old > 0 && old < new {
            self.subproof(old, 0, new, true, &mut out)
                .map_err(ProofError::Source)?;
        }
        Ok(out)
    }

    fn subproof(
        &mut self,
        m: u64,
        first: u64,
        n: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), S::Error> {
        if m == n {
            if !whole {
                out.push(self.range(first, n)?);
            }
            return Ok(());
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, first, k, whole, out)?;
            out.push(self.range(first + k, n - k)?);
        } else {
            self.subproof(m - k, first + k, n - k, false, out)?;
            out.push(self.perfect(first, k.trailing_zeros())?);
        }
        Ok(())
    }
}

/// The root an inclusion proof leads to from `leaf` at `index` in a tree of `size` leaves
/// (RFC 9162 §2.1.3.2), or why it leads nowhere.
pub fn root_from_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, &'static str> {
    if index >= size {
        return Err("the leaf index is not below the tree size");
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err("the proof is longer than the tree is deep");
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err("the proof is shorter than the tree is deep");
    }
    Ok(r)
}

/// True when `proof` shows `leaf` at `index` in the tree of `size` leaves whose root is `root`.
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, proof: &[Hash], root: &Hash) -> bool {
    root_from_inclusion(index, size, leaf, proof).is_ok_and(|r| r == *root)
}

/// Checks a consistency proof from the tree of `old` leaves (root `old_root`) to the tree of
/// `new` leaves (root `new_root`), RFC 9162 §2.1.4.2; the reason when it does not hold.
pub fn check_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), &'static str> {
    if old > new {
        return Err("the old tree is larger than the new one");
    }
    if old == new {
        return match (proof.is_empty(), old_root == new_root) {
            (true, true) => Ok(()),
            (false, _) => Err("a proof between equal sizes must be empty"),
            (true, false) => Err("two different roots for the same tree size"),
        };
    }
    if old == 0 {
        return match proof.is_empty() {
            true => Ok(()),
            false => Err("a proof from the empty tree must be empty"),
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let Some((first, rest)) = path.split_first() else {
        return Err("the proof is empty");
    };
    let (mut f, mut s) = (old - 1, new - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if s == 0 {
            return Err("the proof is longer than the tree is deep");
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err("the proof is shorter than the tree is deep");
    }
    if fr != *old_root {
        return Err("the proof does not lead to the old root");
    }
    if sr != *new_root {
        return Err("the proof does not lead to the new root");
    }
    Ok(())
}

/// Tiles held in memory (tests, and a tree rebuilt from records).
#[derive(Debug, Clone, Default)]
pub struct MemoryTiles(pub HashMap<TileId, Vec<Hash>>);

impl MemoryTiles {
    /// Every tile of the tree of these leaves.
    pub fn of_leaves(leaves: &[Hash]) -> MemoryTiles {
        let mut b = TreeBuilder::new();
        for l in leaves {
            b.push(*l);
        }
        MemoryTiles(b.drain_tiles().into_iter().collect())
    }

    /// The root of the tree of its first `size` leaves.
    pub fn root_of(&self, size: u64) -> Result<Hash, String> {
        Prover::new(self.clone()).root(size)
    }
}

impl TileSource for MemoryTiles {
    type Error = String;
    fn tile(&mut self, id: TileId, width: usize) -> Result<Vec<Hash>, String> {
        match self.0.get(&id) {
            Some(t) if t.len() >= width => Ok(t.clone()),
            _ => Err(format!(
                "no tile {}/{} of {width} hashes",
                id.level, id.index
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6962 §2.1 `MTH`, straight from its definition.
    fn mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_le_bytes())).collect()
    }

    #[test]
    fn the_builder_and_the_tiles_give_the_rfc_root_at_every_size() {
        let all = leaves(700);
        let mut b = TreeBuilder::new();
        let mut tiles = MemoryTiles::default();
        for n in 0..=700usize {
            assert_eq!(b.root(), mth(&all[..n]), "size {n}");
            for (id, t) in b.drain_tiles() {
                tiles.0.insert(id, t);
            }
            assert_eq!(
                Prover::new(tiles.clone()).root(n as u64).unwrap(),
                mth(&all[..n])
            );
            if n < 700 {
                b.push(all[n]);
            }
        }
        // 700 leaves: two full level-0 tiles, one partial of 188, one level-1 tile of 2.
        let mut ids: Vec<_> = tiles.0.iter().map(|(id, t)| (*id, t.len())).collect();
        ids.sort();
        let expect = [
            (TileId { level: 0, index: 0 }, 256),
            (TileId { level: 0, index: 1 }, 256),
            (TileId { level: 0, index: 2 }, 188),
            (TileId { level: 1, index: 0 }, 2),
        ];
        assert_eq!(ids, expect);
        assert_eq!(TileId::all(700), expect.to_vec());
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        let t = |level, index| TileId { level, index };
        assert_eq!(t(0, 1_234_067).path(256), "tile/0/x001/x234/067");
        assert_eq!(t(1, 0).path(17), "tile/1/000.p/17");
        assert_eq!(t(2, 1000).path(256), "tile/2/x001/000");
        // The example of the spec: a tree of 70,000 leaves.
        let all = TileId::all(70_000);
        assert_eq!(
            all.iter()
                .filter(|(i, w)| i.level == 0 && *w == 256)
                .count(),
            273
        );
        assert!(all.contains(&(t(0, 273), 112)));
        assert!(all.contains(&(t(1, 0), 256)));
        assert!(all.contains(&(t(1, 1), 17)));
        assert!(all.contains(&(t(2, 0), 1)));
    }

    #[test]
    fn proofs_from_tiles_verify_and_tampering_does_not() {
        let all = leaves(300);
        let mut tiles = MemoryTiles::of_leaves(&all);
        let mut p = Prover::new(&mut tiles);
        for size in 1..=300u64 {
            let root = mth(&all[..size as usize]);
            for index in [0, size / 2, size - 1] {
                let proof = p.inclusion(index, size).unwrap();
                assert!(verify_inclusion(
                    index,
                    size,
                    &all[index as usize],
                    &proof,
                    &root
                ));
                assert!(!verify_inclusion(
                    index,
                    size,
                    &all[0].map(|b| !b),
                    &proof,
                    &root
                ));
                if let Some(first) = proof.first() {
                    let mut bad = proof.clone();
                    bad[0] = first.map(|b| b ^ 1);
                    assert!(!verify_inclusion(
                        index,
                        size,
                        &all[index as usize],
                        &bad,
                        &root
                    ));
                }
            }
            for old in [1, size / 3, size - 1, size] {
                let old = old.max(1);
                let proof = p.consistency(old, size).unwrap();
                let old_root = mth(&all[..old as usize]);
                assert_eq!(
                    check_consistency(old, size, &old_root, &root, &proof),
                    Ok(()),
                    "{old} -> {size}"
                );
                if old < size {
                    let wrong = mth(&all[1..old as usize + 1]);
                    assert!(check_consistency(old, size, &wrong, &root, &proof).is_err());
                }
            }
        }
    }

    impl<T: TileSource> TileSource for &mut T {
        type Error = T::Error;
        fn tile(&mut self, id: TileId, width: usize) -> Result<Vec<Hash>, T::Error> {
            (**self).tile(id, width)
        }
    }
}
