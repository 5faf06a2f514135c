//! A small witness (`chitra witness`, `docs/proofs.md` §7): it keeps its own state file (its
//! cosigner key and, per ledger, the last checkpoint it cosigned) and cosigns a new checkpoint
//! of a ledger only when the ledger's key signed it and the tree extends the one it cosigned
//! before, by a consistency proof. Two different trees of one size signed by the ledger are a
//! split view: it refuses and hands back evidence (both signed notes and what they show) that
//! a person can give an auditor. `split_view_evidence` is shared with `chitra verify
//! --checkpoint`, which finds the same thing against a kept checkpoint.

use std::collections::BTreeMap;
use std::path::Path;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::chain::cosign::{Cosigner, CosignerKey};
use crate::chain::merkle::check_consistency;
use crate::chain::note::{self, Checkpoint, NoteError, VerifierKey};
use crate::ledger::tree::ConsistencyProof;

/// Largest witness state file read (it holds one line per ledger witnessed).
pub const WITNESS_STATE_BYTES_MAX: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum WitnessError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} already holds a witness; a witness keeps its key and what it saw")]
    Exists(String),
    #[error("{path}: not a witness state file: {why}")]
    BadState { path: String, why: String },
    #[error("REFUSED: {0}")]
    Refused(String),
    /// The ledger signed two different trees of one size: `evidence` says so with both notes.
    #[error("REFUSED: split view: the ledger signed two different trees of {size} records")]
    SplitView { size: u64, evidence: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// What a witness remembers of one ledger: the last checkpoint it cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seen {
    pub size: u64,
    /// base64, as in the checkpoint.
    pub root: String,
    /// The ledger's signed note, as given.
    pub checkpoint: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    /// The cosigner key, `PRIVATE+KEY+…` (the file is owner-readable only).
    key: String,
    /// By the ledger's origin line.
    logs: BTreeMap<String, Seen>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WitnessError + '_ {
    move |source| WitnessError::Io {
        path: path.display().to_string(),
        source,
    }
}

fn load(path: &Path) -> Result<(Cosigner, StateFile), WitnessError> {
    let bad = |why: String| WitnessError::BadState {
        path: path.display().to_string(),
        why,
    };
    let len = std::fs::metadata(path).map_err(io(path))?.len();
    if len > WITNESS_STATE_BYTES_MAX {
        return Err(bad(format!("larger than {WITNESS_STATE_BYTES_MAX} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(io(path))?;
    let state: StateFile = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    let cosigner = Cosigner::parse(&state.key).map_err(|e| bad(e.to_string()))?;
    Ok((cosigner, state))
}

/// Writes the state beside itself and renames it over the old one, so a crash leaves either.
fn save(path: &Path, state: &StateFile, create: bool) -> Result<(), WitnessError> {
    use std::io::Write as _;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).map_err(io(&tmp))?;
    let text = serde_json::to_string_pretty(state).expect("serialisable");
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io(&tmp))?;
    if create && path.exists() {
        let _ = std::fs::remove_file(&tmp);
        return Err(WitnessError::Exists(path.display().to_string()));
    }
    std::fs::rename(&tmp, path).map_err(io(path))
}

/// Makes a witness named `name` with a new key in the state file `path` (refused if it exists).
pub fn init(path: &Path, name: &str) -> Result<CosignerKey, WitnessError> {
    use rand::Rng as _;
    if path.exists() {
        return Err(WitnessError::Exists(path.display().to_string()));
    }
    let seed: [u8; 32] = rand::rngs::OsRng.gen();
    let cosigner = Cosigner::new(name, &seed)?;
    let state = StateFile {
        key: cosigner.to_private_text(),
        logs: BTreeMap::new(),
    };
    save(path, &state, true)?;
    Ok(cosigner.verifier())
}

/// The witness's public key.
pub fn show(path: &Path) -> Result<CosignerKey, WitnessError> {
    Ok(load(path)?.0.verifier())
}

/// The evidence of a split view: two notes signed by `key` for the same size with different
/// roots, and what that means, in a form a person can read and anyone can re-check.
pub fn split_view_evidence(key: &VerifierKey, first: &str, second: &str, size: u64) -> String {
    format!(
        "chitra split-view evidence v1\n\n\
         The ledger {name} signed two different Merkle trees of the same size, {size} records.\n\
         A ledger that only appends has exactly one tree of each size, so it showed different\n\
         histories to different people. Both notes below are checkpoints (docs/proofs.md §4)\n\
         whose Ed25519 signatures verify with the ledger's key:\n\n    {key}\n\n\
         Give this file to the State Audit: the two signatures are the proof.\n\n\
         --- first checkpoint ---\n{first}\
         --- second checkpoint ---\n{second}",
        name = key.name
    )
}

/// What the witness is asked to cosign.
pub struct CosignRequest<'a> {
    /// The ledger's verifier key, as configured for this witness.
    pub ledger_key: &'a VerifierKey,
    /// The ledger's signed checkpoint.
    pub checkpoint: &'a str,
    /// The consistency proof from the last checkpoint this witness cosigned (text form of
    /// `docs/proofs.md` §3.1); not needed for the first one or the same size again.
    pub proof: Option<&'a str>,
    /// Seconds since the Epoch, for the cosignature's timestamp.
    pub now_secs: u64,
}

/// Cosigns `req.checkpoint` if it extends what this witness cosigned before: the note with the
/// witness's cosignature line added. The state then remembers it.
pub fn cosign(path: &Path, req: CosignRequest<'_>) -> Result<String, WitnessError> {
    let (cosigner, mut state) = load(path)?;
    let text = note::open(req.checkpoint, req.ledger_key)
        .map_err(|e| WitnessError::Refused(format!("the checkpoint: {e}")))?;
    let cp = Checkpoint::parse(text)?;
    if cp.origin != req.ledger_key.name {
        return Err(WitnessError::Refused(format!(
            "the checkpoint's origin {:?} is not the ledger key's name {:?}",
            cp.origin, req.ledger_key.name
        )));
    }
    if let Some(seen) = state.logs.get(&cp.origin) {
        check_extends(seen, &cp, req.ledger_key, req.checkpoint, req.proof)?;
    }
    let line = cosigner.cosign(text, req.now_secs);
    state.logs.insert(
        cp.origin.clone(),
        Seen {
            size: cp.size,
            root: B64.encode(cp.root),
            checkpoint: req.checkpoint.to_owned(),
        },
    );
    save(path, &state, false)?;
    Ok(format!("{}{line}", req.checkpoint))
}

/// Whether `cp` (signed as `note`) extends `seen`: the same tree again, or a larger one with a
/// consistency proof from it.
fn check_extends(
    seen: &Seen,
    cp: &Checkpoint,
    key: &VerifierKey,
    note: &str,
    proof: Option<&str>,
) -> Result<(), WitnessError> {
    let seen_root = B64
        .decode(&seen.root)
        .ok()
        .and_then(|r| <[u8; 32]>::try_from(r).ok());
    let Some(seen_root) = seen_root else {
        return Err(WitnessError::BadState {
            path: "the witness state".into(),
            why: format!("the root of {} is not base64 of 32 bytes", cp.origin),
        });
    };
    if cp.size < seen.size {
        return Err(WitnessError::Refused(format!(
            "the checkpoint of {} records is older than the one of {} records this witness \
             cosigned",
            cp.size, seen.size
        )));
    }
    if cp.size == seen.size {
        return match cp.root == seen_root {
            true => Ok(()),
            false => Err(WitnessError::SplitView {
                size: cp.size,
                evidence: split_view_evidence(key, &seen.checkpoint, note, cp.size),
            }),
        };
    }
    let proof = proof.ok_or_else(|| {
        WitnessError::Refused(format!(
            "a consistency proof from {} records is needed (`chitra proof consistency {} {}`)",
            seen.size, seen.size, cp.size
        ))
    })?;
    let p = ConsistencyProof::parse_text(proof)
        .map_err(|why| WitnessError::Refused(format!("the consistency proof: {why}")))?;
    if (p.old, p.new) != (seen.size, cp.size) {
        return Err(WitnessError::Refused(format!(
            "the consistency proof is from {} to {} records, not from {} to {}",
            p.old, p.new, seen.size, cp.size
        )));
    }
    check_consistency(seen.size, cp.size, &seen_root, &cp.root, &p.hashes).map_err(|why| {
        WitnessError::Refused(format!(
            "the checkpoint of {} records does not extend the one of {} records this witness \
             cosigned ({why})",
            cp.size, seen.size
        ))
    })
}

/// Where a ledger keeps the checkpoints its witnesses cosigned, inside its data directory: one
/// file per tree size. They are not in the chain (they arrive after the checkpoint was recorded
/// and add nothing the chain needs to verify); they are public and re-checkable, and what
/// receipts and published checkpoints carry so that a reader can require a witness.
pub const COSIGNED_DIR: &str = "cosigned";

fn cosigned_path(dir: &Path, size: u64) -> std::path::PathBuf {
    dir.join(COSIGNED_DIR).join(format!("{size}.checkpoint"))
}

/// Keeps a checkpoint the ledger signed and configured witnesses cosigned (`chitra witness
/// attach`); the size and the witnesses whose cosignatures verified. A cosignature that does
/// not verify, or none by a configured witness, is refused.
pub fn attach(
    dir: &Path,
    settings: &crate::app::config::Settings,
    cosigned: &str,
) -> Result<(u64, Vec<String>), WitnessError> {
    let key = crate::ledger::keys::require(dir)
        .map_err(|e| WitnessError::Refused(e.to_string()))?
        .verifier();
    let text = note::open(cosigned, &key)
        .map_err(|e| WitnessError::Refused(format!("the checkpoint: {e}")))?;
    let cp = Checkpoint::parse(text)?;
    let mut by = Vec::new();
    for (name, wkey) in &settings.witnesses {
        match crate::chain::cosign::verify_cosignature(cosigned, wkey) {
            Ok(_) => by.push(name.clone()),
            Err(NoteError::NotSigned(_)) => {}
            Err(e) => return Err(WitnessError::Refused(e.to_string())),
        }
    }
    if by.is_empty() {
        return Err(WitnessError::Refused(
            "the checkpoint carries no cosignature by a witness configured in chitra.toml \
             ([witnesses])"
                .into(),
        ));
    }
    let path = cosigned_path(dir, cp.size);
    std::fs::create_dir_all(dir.join(COSIGNED_DIR)).map_err(io(dir))?;
    std::fs::write(&path, cosigned).map_err(io(&path))?;
    Ok((cp.size, by))
}

/// The cosigned checkpoints kept in the data directory `dir`: each file's size and name
/// (`<size>.checkpoint`); none when there is no `cosigned/` folder.
pub fn cosigned_files(dir: &Path) -> Result<Vec<(u64, String)>, WitnessError> {
    let folder = dir.join(COSIGNED_DIR);
    let entries = match std::fs::read_dir(&folder) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(&folder)(e)),
    };
    let mut found = Vec::new();
    for entry in entries {
        let name = entry.map_err(io(&folder))?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(size) = name
            .strip_suffix(".checkpoint")
            .and_then(|n| n.parse::<u64>().ok())
        {
            found.push((size, name.to_owned()));
        }
    }
    Ok(found)
}

/// The kept cosigned checkpoint of `size` records, if any.
pub fn cosigned_of(dir: &Path, size: u64) -> Result<Option<String>, WitnessError> {
    let path = cosigned_path(dir, size);
    match std::fs::read_to_string(&path) {
        Ok(note) => Ok(Some(note)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path)(e)),
    }
}

/// The cosigned checkpoint of the largest size in `min_size..=max_size` the ledger keeps, if
/// any: what a receipt carries.
pub fn cosigned_for(
    dir: &Path,
    min_size: u64,
    max_size: u64,
) -> Result<Option<(u64, String)>, WitnessError> {
    let best = cosigned_files(dir)?
        .into_iter()
        .map(|(size, _)| size)
        .filter(|size| (min_size..=max_size).contains(size))
        .max();
    match best {
        None => Ok(None),
        Some(size) => Ok(cosigned_of(dir, size)?.map(|note| (size, note))),
    }
}
