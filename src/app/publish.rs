//! `chitra publish DIR` (`docs/proofs.md` §8): the tree's tiles and its checkpoint laid out as
//! C2SP tlog-tiles (`checkpoint`, `tile/<L>/<N>`, partial tiles `tile/<L>/<N>.p/<W>`), so that
//! any static web server or object store can serve proofs to many readers.

use std::path::Path;

use crate::chain::merkle::TileId;
use crate::ledger::Offline;

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Offline(#[from] crate::ledger::offline::OfflineError),
    #[error(transparent)]
    Store(#[from] crate::ledger::StoreError),
    #[error(transparent)]
    Prove(#[from] crate::ledger::tree::ProveError),
    #[error(transparent)]
    Key(#[from] crate::ledger::keys::KeyError),
}

/// What was published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub size: u64,
    pub tiles: usize,
    /// Whether the checkpoint carries witnesses' cosignatures.
    pub cosigned: bool,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), PublishError> {
    let io = |source| PublishError::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

/// Writes the tiles of the data directory `dir`'s tree and its checkpoint (the kept cosigned
/// one of that size if any, else signed with the ledger's key, else the bare body) under `out`.
/// The checkpoint is written last, so a reader never sees a checkpoint whose tiles are missing.
pub fn publish(dir: &Path, out: &Path) -> Result<Published, PublishError> {
    let offline = Offline::open(dir)?;
    let tree = offline.tree()?;
    let (size, root) = tree.root(None)?;
    let all = TileId::all(size);
    for (id, width) in &all {
        write(&out.join(id.path(*width)), &tree.tile(*id, *width)?)?;
    }
    let cosigned = crate::app::witness::cosigned_for(dir, size, size)
        .ok()
        .flatten()
        .map(|(_, note)| note);
    let checkpoint = match &cosigned {
        Some(note) => note.clone(),
        None => crate::ledger::keys::checkpoint_text(dir, None, size, &root)?,
    };
    write(&out.join("checkpoint"), checkpoint.as_bytes())?;
    Ok(Published {
        size,
        tiles: all.len(),
        cosigned: cosigned.is_some(),
    })
}
