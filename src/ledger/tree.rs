//! The Merkle tree kept beside the chain (`chain::merkle`, `docs/proofs.md`) as the ledger
//! owns it: rebuilt from the records when a ledger opens and checked against the tiles in the
//! store (a ledger whose tiles disagree with its records does not open; tiles that are missing,
//! as in a ledger written before the tree existed or imported from an export, are written), and
//! proofs served from the stored tiles without reading any record but the one proved.

use crate::chain::block::for_each_record;
use crate::chain::merkle::{
    check_consistency, leaf_hash, root_from_inclusion, tile_bytes, tile_hashes, Hash, ProofError,
    Prover, TileId, TileSource, TreeBuilder, TILE_WIDTH,
};
use crate::store::{Store, StoreError};

/// Tiles written at a time while opening repairs a tree (each up to 8 KiB).
const REPAIR_TILES_PER_WRITE_MAX: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error(
        "the Merkle tree's tile {level}/{index} in the store does not match the records \
         (the hash of leaf {leaf} differs at tile level {level}): the tiles were altered"
    )]
    Mismatch { level: u8, index: u64, leaf: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tree rebuilt from the records while a ledger opens, checked tile by tile against the
/// store as each tile fills. The first disagreement is kept, not returned at once, so that
/// damage to the records themselves is reported by the chain verifier, which names the record.
pub(super) struct TreeCheck<'a> {
    store: &'a Store,
    builder: TreeBuilder,
    repairs: Vec<(TileId, Vec<u8>)>,
    repaired: bool,
    fault: Option<TreeError>,
}

impl<'a> TreeCheck<'a> {
    /// Continues from a tree (empty, or one a snapshot kept); only the leaves added after it are rebuilt, and
    /// the tiles they fill checked.
    pub(super) fn resume(store: &'a Store, builder: TreeBuilder) -> TreeCheck<'a> {
        TreeCheck {
            store,
            builder,
            repairs: Vec::new(),
            repaired: false,
            fault: None,
        }
    }

    /// Adds a block's records (already accepted by the chain verifier) as leaves.
    pub(super) fn push_block(&mut self, records: &[u8]) {
        let builder = &mut self.builder;
        // The verifier walked this block first; a malformed one never gets here.
        let _ = for_each_record(records, |bytes| builder.push_record(bytes));
        for (id, hashes) in self.builder.take_finished() {
            if let Err(e) = self.check(id, &hashes) {
                self.fault.get_or_insert(e);
            }
        }
    }

    fn check(&mut self, id: TileId, hashes: &[Hash]) -> Result<(), TreeError> {
        if self.fault.is_some() {
            return Ok(());
        }
        let want = tile_bytes(hashes);
        let have = self.store.tile(id)?;
        let have = have.as_deref().unwrap_or_default();
        let common = have.len().min(want.len());
        if let Some(at) = (0..common / 32).find(|i| have[i * 32..][..32] != want[i * 32..][..32]) {
            let first_leaf =
                (id.index * TILE_WIDTH as u64 + at as u64) << (8 * u32::from(id.level));
            return Err(TreeError::Mismatch {
                level: id.level,
                index: id.index,
                leaf: first_leaf,
            });
        }
        // A tile longer than the tree is what a group cut short by a crash left: harmless, it
        // is rewritten as the tree grows over it. A missing or shorter one is written now.
        if have.len() < want.len() {
            self.repairs.push((id, want));
            if self.repairs.len() >= REPAIR_TILES_PER_WRITE_MAX {
                self.store.put_tiles(&std::mem::take(&mut self.repairs))?;
                self.repaired = true;
            }
        }
        Ok(())
    }

    /// The rebuilt tree, once its last (partial) tiles are checked too and any repairs are
    /// durable; or the first disagreement between the tiles and the records.
    pub(super) fn finish(mut self) -> Result<TreeBuilder, TreeError> {
        for (id, hashes) in self.builder.partial_tiles() {
            if let Err(e) = self.check(id, &hashes) {
                self.fault.get_or_insert(e);
            }
        }
        if let Some(fault) = self.fault {
            return Err(fault);
        }
        if !self.repairs.is_empty() {
            self.store.put_tiles(&self.repairs)?;
            self.repaired = true;
        }
        if self.repaired {
            self.store.flush_tiles()?;
        }
        Ok(self.builder)
    }
}

/// The stored tiles, as a prover reads them.
struct StoreTiles<'a>(&'a Store);

impl TileSource for StoreTiles<'_> {
    type Error = StoreError;
    fn tile(&mut self, id: TileId, width: usize) -> Result<Vec<Hash>, StoreError> {
        let missing = || {
            StoreError::Corrupt(format!(
                "the Merkle tree's tile {}/{} lacks hashes a proof needs (reopen the ledger to \
                 rebuild it)",
                id.level, id.index
            ))
        };
        let bytes = self.0.tile(id)?.ok_or_else(missing)?;
        let hashes = tile_hashes(&bytes).ok_or_else(missing)?;
        match hashes.len() >= width {
            true => Ok(hashes),
            false => Err(missing()),
        }
    }
}

/// Why a proof could not be given.
#[derive(Debug, thiserror::Error)]
pub enum ProveError {
    /// The proof asked for does not exist (a record at or beyond the tree size, a size beyond
    /// what is durable, sizes in the wrong order).
    #[error("{0}")]
    OutOfRange(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored tiles gave a proof that does not verify: they were altered after opening.
    #[error("the stored tree gives a proof that does not verify ({0}): the tiles were altered")]
    Unsound(&'static str),
}

impl From<ProofError<StoreError>> for ProveError {
    fn from(e: ProofError<StoreError>) -> ProveError {
        match e {
            ProofError::OutOfRange(m) => ProveError::OutOfRange(m),
            ProofError::Source(e) => ProveError::Store(e),
        }
    }
}

/// That record `index` is leaf `index` of the tree of `size` leaves whose root is `root`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    pub index: u64,
    pub size: u64,
    /// The record's stored bytes: the leaf is `SHA-256(0x00 ‖ record)`.
    pub record: Vec<u8>,
    /// From the leaf's sibling up to a child of the root (RFC 6962 §2.1.1).
    pub hashes: Vec<Hash>,
    pub root: Hash,
}

/// That the tree of `old` leaves (root `old_root`) is a prefix of the tree of `new` leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    pub old: u64,
    pub new: u64,
    pub old_root: Hash,
    pub new_root: Hash,
    /// RFC 6962 §2.1.2 `PROOF(old, D[new])`.
    pub hashes: Vec<Hash>,
}

fn check_size(size: u64, records: u64) -> Result<(), ProveError> {
    match size <= records {
        true => Ok(()),
        false => Err(ProveError::OutOfRange(format!(
            "the tree has {records} durable records, not {size}"
        ))),
    }
}

/// The root of the tree of the first `size` of `records` durable records.
pub(super) fn root(store: &Store, size: u64, records: u64) -> Result<Hash, ProveError> {
    check_size(size, records)?;
    Ok(Prover::new(StoreTiles(store)).root(size)?)
}

/// The inclusion proof of the record `record` (its stored bytes) at `index` in the tree of
/// `size` leaves, checked before it is handed out.
pub(super) fn inclusion(
    store: &Store,
    index: u64,
    size: u64,
    records: u64,
    record: Vec<u8>,
) -> Result<InclusionProof, ProveError> {
    check_size(size, records)?;
    let mut prover = Prover::new(StoreTiles(store));
    let hashes = prover.inclusion(index, size)?;
    let root = prover.root(size)?;
    let led_to = root_from_inclusion(index, size, &leaf_hash(&record), &hashes)
        .map_err(ProveError::Unsound)?;
    if led_to != root {
        return Err(ProveError::Unsound("the proof does not lead to the root"));
    }
    Ok(InclusionProof {
        index,
        size,
        record,
        hashes,
        root,
    })
}

/// The consistency proof from the tree of `old` leaves to the tree of `new` leaves, checked
/// before it is handed out.
pub(super) fn consistency(
    store: &Store,
    old: u64,
    new: u64,
    records: u64,
) -> Result<ConsistencyProof, ProveError> {
    check_size(new, records)?;
    let mut prover = Prover::new(StoreTiles(store));
    let hashes = prover.consistency(old, new)?;
    let old_root = prover.root(old)?;
    let new_root = prover.root(new)?;
    check_consistency(old, new, &old_root, &new_root, &hashes).map_err(ProveError::Unsound)?;
    Ok(ConsistencyProof {
        old,
        new,
        old_root,
        new_root,
        hashes,
    })
}

/// The stored bytes of record `seq`, which must be below `size` (the tree's size, at most the
/// durable records).
fn record_bytes(store: &Store, seq: u64, size: u64) -> Result<Vec<u8>, ProveError> {
    if seq >= size {
        return Err(ProveError::OutOfRange(format!(
            "there is no record {seq} in a tree of {size} records"
        )));
    }
    match super::read::records(store, seq, seq + 1).next() {
        Some(r) => Ok(r?.bytes),
        None => Err(ProveError::Store(StoreError::Corrupt(format!(
            "record {seq} is missing from the store"
        )))),
    }
}

/// The tree over a chain of `records` records, as proofs read it (a size defaults to all of
/// them): from a running ledger (`Ledger::tree`, its durable records) or a data directory read
/// without the writer (`Offline::tree`, the records up to its head anchor).
pub struct TreeReader<'a> {
    store: &'a Store,
    records: u64,
}

impl TreeReader<'_> {
    /// The first `width` hashes of a stored tile, as published (`chitra publish`).
    pub fn tile(&self, id: TileId, width: usize) -> Result<Vec<u8>, ProveError> {
        let hashes = StoreTiles(self.store).tile(id, width)?;
        Ok(tile_bytes(&hashes[..width]))
    }

    /// The records the tree holds.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The size and root of the tree of the first `size` records.
    pub fn root(&self, size: Option<u64>) -> Result<(u64, Hash), ProveError> {
        let size = size.unwrap_or(self.records);
        Ok((size, root(self.store, size, self.records)?))
    }

    /// The inclusion proof of record `seq` in the tree of `size` records.
    pub fn inclusion(&self, seq: u64, size: Option<u64>) -> Result<InclusionProof, ProveError> {
        let size = size.unwrap_or(self.records);
        let record = record_bytes(self.store, seq, size.min(self.records))?;
        inclusion(self.store, seq, size, self.records, record)
    }

    /// The consistency proof from the tree of `old` records to the tree of `new` records.
    pub fn consistency(&self, old: u64, new: Option<u64>) -> Result<ConsistencyProof, ProveError> {
        consistency(self.store, old, new.unwrap_or(self.records), self.records)
    }
}

impl super::Ledger {
    /// The Merkle tree over the durable records, for roots and proofs.
    pub fn tree(&self) -> TreeReader<'_> {
        TreeReader {
            store: &self.shared.store,
            records: self.durable_records(),
        }
    }
}

impl super::Offline {
    /// The Merkle tree over the chain up to its head anchor, for roots and proofs.
    pub fn tree(&self) -> Result<TreeReader<'_>, StoreError> {
        Ok(TreeReader {
            store: &self.store,
            records: self.view()?.records(),
        })
    }
}

/// The host part of the origin line a ledger names itself by unless configured otherwise
/// (`docs/proofs.md` §3.1): the default origin is `chitra.example/<data directory's name>`.
pub const DEFAULT_ORIGIN_HOST: &str = "chitra.example";

/// The default origin line of the ledger in `dir`.
pub fn default_origin(dir: &std::path::Path) -> String {
    let name = dir
        .canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "ledger".into());
    format!("{DEFAULT_ORIGIN_HOST}/{name}")
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// A C2SP tlog-checkpoint body: the origin line, the size in decimal and the root in base64,
/// each ending in a newline.
pub fn checkpoint_body(origin: &str, size: u64, root: &Hash) -> String {
    format!("{origin}\n{size}\n{}\n", b64(root))
}

impl InclusionProof {
    /// The proof in the layout of C2SP tlog-proof, with the checkpoint body of its tree
    /// (`docs/proofs.md` §3.1).
    pub fn to_text(&self, origin: &str) -> String {
        self.to_text_with(&checkpoint_body(origin, self.size, &self.root))
    }

    /// The proof followed by `checkpoint`, the (signed) checkpoint of its tree.
    pub fn to_text_with(&self, checkpoint: &str) -> String {
        let mut out = format!("c2sp.org/tlog-proof@v1\nindex {}\n", self.index);
        for h in &self.hashes {
            out.push_str(&b64(h));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(checkpoint);
        out
    }
}

impl ConsistencyProof {
    /// Parses the text form of `to_text` (a witness is handed it); says what is wrong.
    pub fn parse_text(text: &str) -> Result<ConsistencyProof, String> {
        use base64::Engine as _;
        let b64 = |s: &str| -> Result<Hash, String> {
            base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .and_then(|h| <Hash>::try_from(h).ok())
                .ok_or_else(|| format!("{s:?} is not a base64 SHA-256 hash"))
        };
        let sized = |line: Option<&str>, tag: &str| -> Result<(u64, Hash), String> {
            let rest = line
                .and_then(|l| l.strip_prefix(tag))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or_else(|| format!("expected a line `{tag} SIZE ROOT`"))?;
            let (size, root) = rest
                .split_once(' ')
                .ok_or_else(|| format!("expected a line `{tag} SIZE ROOT`"))?;
            let size = size
                .parse()
                .map_err(|_| format!("{size:?} is not a size"))?;
            Ok((size, b64(root)?))
        };
        let mut lines = text.lines();
        if lines.next() != Some("c2sp.org/chitra-consistency@v1") {
            return Err("not a c2sp.org/chitra-consistency@v1 proof".into());
        }
        let (old, old_root) = sized(lines.next(), "old")?;
        let (new, new_root) = sized(lines.next(), "new")?;
        let hashes = lines
            .filter(|l| !l.is_empty())
            .map(b64)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ConsistencyProof {
            old,
            new,
            old_root,
            new_root,
            hashes,
        })
    }

    /// The two sizes and roots and the proof's hashes (`docs/proofs.md` §3.1).
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "c2sp.org/chitra-consistency@v1\nold {} {}\nnew {} {}\n",
            self.old,
            b64(&self.old_root),
            self.new,
            b64(&self.new_root)
        );
        for h in &self.hashes {
            out.push_str(&b64(h));
            out.push('\n');
        }
        out
    }
}

impl super::Offline {
    /// The root of the tree of the first `size` records, hashed from the records themselves
    /// rather than read from the tiles: what `chitra verify --checkpoint` compares with a kept
    /// checkpoint.
    pub fn root_from_records(&self, size: u64) -> Result<Hash, ProveError> {
        check_size(size, self.view()?.records())?;
        let mut builder = TreeBuilder::new();
        for r in super::read::records(&self.store, 0, size) {
            builder.push_record(&r?.bytes);
            // Only the root is wanted: drop the tiles as they fill.
            builder.take_finished();
        }
        match builder.size() == size {
            true => Ok(builder.root()),
            false => Err(ProveError::Store(StoreError::Corrupt(format!(
                "only {} of the first {size} records could be read",
                builder.size()
            )))),
        }
    }
}
