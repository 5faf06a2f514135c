//! The ledger's checkpoint signing key, kept in the data directory as one file
//! (`checkpoint.key`, readable by its owner only) in the text form of `chain::note`: made once
//! by `chitra key init`, shown as a note verifier key by `chitra key show`, and used to sign
//! checkpoints of the Merkle tree (`docs/proofs.md` §4).

use std::path::{Path, PathBuf};

use rand::Rng as _;

use crate::chain::note::{NoteError, NoteSigner};

/// The key's file, inside the data directory.
pub const KEY_FILE: &str = "checkpoint.key";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0} already holds a key; a ledger keeps its key (remove the file by hand to replace it, and tell everyone who trusts the old one)")]
    Exists(String),
    #[error("no checkpoint key in {0} (make one with `chitra key init`)")]
    Missing(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Bad { path: String, source: NoteError },
}

fn key_path(dir: &Path) -> PathBuf {
    dir.join(KEY_FILE)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Makes the ledger's key, named `name`, from the operating system's randomness; refuses when
/// the data directory already has one.
pub fn init(dir: &Path, name: &str) -> Result<NoteSigner, KeyError> {
    use std::io::Write as _;
    let path = key_path(dir);
    let seed: [u8; 32] = rand::rngs::OsRng.gen();
    let signer = NoteSigner::new(name, &seed).map_err(|source| KeyError::Bad {
        path: path.display().to_string(),
        source,
    })?;
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => KeyError::Exists(path.display().to_string()),
        _ => io(&path)(e),
    })?;
    file.write_all(format!("{}\n", signer.to_private_text()).as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&path))?;
    Ok(signer)
}

/// The ledger's key, if it has one.
pub fn load(dir: &Path) -> Result<Option<NoteSigner>, KeyError> {
    let path = key_path(dir);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    NoteSigner::parse(&text)
        .map(Some)
        .map_err(|source| KeyError::Bad {
            path: path.display().to_string(),
            source,
        })
}

/// The ledger's key, which must exist.
pub fn require(dir: &Path) -> Result<NoteSigner, KeyError> {
    load(dir)?.ok_or_else(|| KeyError::Missing(dir.display().to_string()))
}

/// The checkpoint of the tree of `size` records with root `root`: signed with the ledger's key
/// when it has one (the key's name is then the origin line), else the bare body under `origin`
/// or the default origin (`docs/proofs.md` §4).
pub fn checkpoint_text(
    dir: &Path,
    origin: Option<&str>,
    size: u64,
    root: &crate::chain::merkle::Hash,
) -> Result<String, KeyError> {
    use crate::ledger::tree::{checkpoint_body, default_origin};
    Ok(match load(dir)? {
        Some(signer) => signer.sign(&checkpoint_body(signer.name(), size, root)),
        None => checkpoint_body(
            &origin.map_or_else(|| default_origin(dir), str::to_owned),
            size,
            root,
        ),
    })
}
