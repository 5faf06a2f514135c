//! Live backup and restore of a whole data directory. A backup is taken from a running ledger
//! without stopping its writer: the chain and personal data are exported up to the durable
//! head (verified as they are written), then every payment file the state knows is copied (its
//! bytes were kept before any record named it, so every file a backed-up record names is
//! there), then the configuration, the tokens, the checkpoint key and the checkpoints witnesses
//! cosigned (`cosigned/`, those the backed-up chain covers); a manifest with every file's
//! blake3 and the head is written last, so a backup without a manifest is incomplete and
//! refused. A restore checks the manifest, imports the chain all or nothing into an empty
//! directory expecting the manifest's head, keeps the payment files, and copies the
//! configuration, tokens, key and cosigned checkpoints. The Merkle tree's tiles are not carried:
//! opening the restored ledger writes them from the records (`ledger::tree`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::config::{DataDir, CONFIG_FILE, TOKENS_FILE};
use super::witness::{cosigned_files, WitnessError, COSIGNED_DIR};
use crate::chain::{hex, Anchor};
use crate::domain::types::FileId;
use crate::ledger::Ledger;

/// The manifest's name in a backup directory.
pub const MANIFEST_FILE: &str = "manifest.json";
/// The manifest's format line: a reader refuses any other.
pub const BACKUP_FORMAT: &str = "chitra-backup/1";
const CHAIN_FILE: &str = "chain.export";
const PERSONAL_FILE: &str = "chain.export.personal";
const FILES_DIR: &str = "files";
/// Payment files kept per store write during a restore.
const RESTORE_FILES_PER_STEP: usize = 16;
/// The data directory's own files a backup carries besides the chain: the configuration, the
/// API's tokens (hashed) and the checkpoint signing key (so a restored ledger signs with the
/// same key its verifiers know; a backup is as secret as the data directory).
const DATA_DIR_FILES: [&str; 3] = [CONFIG_FILE, TOKENS_FILE, crate::ledger::keys::KEY_FILE];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{0} is not empty; a backup is written only into a new or empty directory")]
    NotEmpty(String),
    #[error("{0} has no {MANIFEST_FILE}: it is not a complete backup")]
    NoManifest(String),
    #[error("{MANIFEST_FILE} cannot be read: {0}")]
    BadManifest(String),
    #[error("{path} does not match the manifest: {reason}")]
    Altered { path: String, reason: String },
    #[error(transparent)]
    Archive(#[from] crate::ledger::archive::ArchiveError),
    #[error(transparent)]
    Store(#[from] crate::ledger::StoreError),
    #[error(transparent)]
    Read(#[from] crate::ledger::SubmitError),
    #[error(transparent)]
    Open(#[from] crate::ledger::OpenError),
    #[error(transparent)]
    Cosigned(#[from] WitnessError),
    #[error("the restored ledger's head is {found}, not the backup's {expected}")]
    HeadDiffers { expected: String, found: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// What a backup holds, written last into it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub created_unix_ms: i64,
    /// The last record backed up, as `SEQ:HASH`; none for an empty chain.
    pub head: Option<String>,
    pub records: u64,
    pub payment_files: u64,
    pub entries: Vec<ManifestEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestEntry {
    /// Relative to the backup directory, `/`-separated.
    pub path: String,
    pub bytes: u64,
    pub blake3: String,
}

/// Backs up `ledger` (whose data directory is `data`) into `out`, new or empty.
pub fn backup(ledger: &Ledger, data: &DataDir, out: &Path) -> Result<Manifest, BackupError> {
    if !crate::ledger::is_empty_dir(out) {
        return Err(BackupError::NotEmpty(out.display().to_string()));
    }
    std::fs::create_dir_all(out.join(FILES_DIR)).map_err(io(out))?;
    let chain_path = out.join(CHAIN_FILE);
    let personal_path = out.join(PERSONAL_FILE);
    let chain = std::fs::File::create(&chain_path).map_err(io(&chain_path))?;
    let mut personal = std::fs::File::create(&personal_path).map_err(io(&personal_path))?;
    let (summary, chain) = ledger.export_to(std::io::BufWriter::new(chain), Some(&mut personal))?;
    finish(
        chain
            .into_inner()
            .map_err(|e| io(&chain_path)(e.into_error()))?,
        &chain_path,
    )?;
    finish(personal, &personal_path)?;
    // Read after the export, so every file a backed-up record names is listed (files only
    // grow, and their bytes are kept before the release record).
    let digests = ledger.read(|s| {
        (1..=s.files().len() as u64)
            .filter_map(|n| s.file(FileId(n)).map(|f| f.issued.digest))
            .collect::<Vec<_>>()
    })?;
    for digest in &digests {
        let bytes = ledger
            .file_bytes(digest)?
            .ok_or_else(|| BackupError::Altered {
                path: hex(digest),
                reason: "a payment file the chain names is missing from the store".into(),
            })?;
        let path = out.join(FILES_DIR).join(hex(digest));
        std::fs::write(&path, &bytes).map_err(io(&path))?;
    }
    for name in DATA_DIR_FILES {
        let from = data.path().join(name);
        if from.is_file() {
            let to = out.join(name);
            std::fs::copy(&from, &to).map_err(io(&to))?;
        }
    }
    // A checkpoint cosigned after the export (of more records than it holds) stays out: the
    // restored ledger could not prove anything in its tree.
    copy_cosigned(data.path(), out, |size| size <= summary.records)?;
    let manifest = Manifest {
        format: BACKUP_FORMAT.to_owned(),
        created_unix_ms: ledger.now_ms(),
        head: summary.head.map(|a| a.to_string()),
        records: summary.records,
        payment_files: digests.len() as u64,
        entries: entries(out)?,
    };
    let path = out.join(MANIFEST_FILE);
    let text = serde_json::to_vec_pretty(&manifest).expect("a manifest serializes");
    let mut f = std::fs::File::create(&path).map_err(io(&path))?;
    f.write_all(&text).map_err(io(&path))?;
    finish(f, &path)?;
    sync_dir(out)?;
    Ok(manifest)
}

/// Copies the cosigned checkpoints of the data directory `from` whose size is `wanted` into
/// the data directory (or backup) `to`.
fn copy_cosigned(from: &Path, to: &Path, wanted: impl Fn(u64) -> bool) -> Result<(), BackupError> {
    let files = cosigned_files(from)?;
    let (from, to) = (from.join(COSIGNED_DIR), to.join(COSIGNED_DIR));
    for (_, name) in files.iter().filter(|(size, _)| wanted(*size)) {
        std::fs::create_dir_all(&to).map_err(io(&to))?;
        let dst = to.join(name);
        std::fs::copy(from.join(name), &dst).map_err(io(&dst))?;
    }
    Ok(())
}

/// Flushes a written file to stable storage.
fn finish(file: std::fs::File, path: &Path) -> Result<(), BackupError> {
    file.sync_all().map_err(io(path))
}

fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    for d in [dir.join(FILES_DIR), dir.to_owned()] {
        std::fs::File::open(&d)
            .and_then(|f| f.sync_all())
            .map_err(io(&d))?;
    }
    Ok(())
}

/// Every file of the backup but the manifest, with its size and blake3, in path order.
fn entries(dir: &Path) -> Result<Vec<ManifestEntry>, BackupError> {
    let mut paths = vec![PathBuf::from(CHAIN_FILE), PathBuf::from(PERSONAL_FILE)];
    for name in DATA_DIR_FILES {
        if dir.join(name).is_file() {
            paths.push(PathBuf::from(name));
        }
    }
    let files = dir.join(FILES_DIR);
    for entry in std::fs::read_dir(&files).map_err(io(&files))? {
        let entry = entry.map_err(io(&files))?;
        paths.push(Path::new(FILES_DIR).join(entry.file_name()));
    }
    for (_, name) in cosigned_files(dir)? {
        paths.push(Path::new(COSIGNED_DIR).join(name));
    }
    paths.sort();
    paths
        .iter()
        .map(|rel| {
            let path = dir.join(rel);
            // Streamed: a chain export can be larger than memory.
            let file = std::fs::File::open(&path).map_err(io(&path))?;
            let mut hasher = blake3::Hasher::new();
            let bytes = std::io::copy(&mut std::io::BufReader::new(file), &mut hasher)
                .map_err(io(&path))?;
            Ok(ManifestEntry {
                path: rel.to_string_lossy().replace('\\', "/"),
                bytes,
                blake3: hasher.finalize().to_hex().to_string(),
            })
        })
        .collect()
}

/// Reads a backup's manifest and checks every file it lists (and that it lists every file).
pub fn check(dir: &Path) -> Result<Manifest, BackupError> {
    let path = dir.join(MANIFEST_FILE);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(BackupError::NoManifest(dir.display().to_string()))
        }
        Err(e) => return Err(io(&path)(e)),
    };
    let manifest: Manifest =
        serde_json::from_slice(&text).map_err(|e| BackupError::BadManifest(e.to_string()))?;
    if manifest.format != BACKUP_FORMAT {
        return Err(BackupError::BadManifest(format!(
            "format {:?}, expected {BACKUP_FORMAT:?}",
            manifest.format
        )));
    }
    let found = entries(dir)?;
    for want in &manifest.entries {
        let got = found.iter().find(|e| e.path == want.path);
        let reason = match got {
            None => "missing".to_owned(),
            Some(g) if g.bytes != want.bytes => {
                format!("{} bytes, expected {}", g.bytes, want.bytes)
            }
            Some(g) if g.blake3 != want.blake3 => "its blake3 differs".to_owned(),
            Some(_) => continue,
        };
        return Err(BackupError::Altered {
            path: want.path.clone(),
            reason,
        });
    }
    if let Some(extra) = found
        .iter()
        .find(|g| !manifest.entries.iter().any(|w| w.path == g.path))
    {
        return Err(BackupError::Altered {
            path: extra.path.clone(),
            reason: "not in the manifest".into(),
        });
    }
    Ok(manifest)
}

/// Restores the backup in `from` into `to` (absent or empty): the same head, every payment
/// file, the configuration, the tokens, the checkpoint key and the cosigned checkpoints. On any
/// error before the chain is imported, `to` is
/// untouched; the import itself is all or nothing.
pub fn restore(from: &Path, to: &Path) -> Result<Manifest, BackupError> {
    let manifest = check(from)?;
    if !crate::ledger::is_empty_dir(to) {
        return Err(BackupError::NotEmpty(to.display().to_string()));
    }
    let head =
        match &manifest.head {
            Some(text) => Some(Anchor::parse(text).ok_or_else(|| {
                BackupError::BadManifest(format!("head {text:?} is not SEQ:HASH"))
            })?),
            None => None,
        };
    let personal = from.join(PERSONAL_FILE);
    crate::ledger::archive::import_dir(to, &from.join(CHAIN_FILE), Some(&personal), head)?;
    let ledger = Ledger::open(crate::ledger::Config::new(to))?;
    let names: Vec<&str> = manifest
        .entries
        .iter()
        .filter_map(|e| e.path.strip_prefix("files/"))
        .collect();
    // A few files at a time, so that memory does not grow with the months kept.
    for chunk in names.chunks(RESTORE_FILES_PER_STEP) {
        let files = chunk
            .iter()
            .map(|name| {
                let path = from.join(FILES_DIR).join(name);
                let bytes = std::fs::read(&path).map_err(io(&path))?;
                Ok((*blake3::hash(&bytes).as_bytes(), bytes))
            })
            .collect::<Result<Vec<(crate::chain::Hash, Vec<u8>)>, BackupError>>()?;
        let refs: Vec<(&crate::chain::Hash, &[u8])> =
            files.iter().map(|(h, b)| (h, b.as_slice())).collect();
        ledger.keep_files(&refs)?;
    }
    let found = ledger.head()?.last;
    drop(ledger);
    if found != head {
        return Err(BackupError::HeadDiffers {
            expected: manifest.head.clone().unwrap_or_else(|| "none".into()),
            found: found.map_or("none".into(), |a| a.to_string()),
        });
    }
    for name in DATA_DIR_FILES {
        let src = from.join(name);
        if src.is_file() {
            let dst = to.join(name);
            std::fs::copy(&src, &dst).map_err(io(&dst))?;
        }
    }
    copy_cosigned(from, to, |_| true)?;
    Ok(manifest)
}
