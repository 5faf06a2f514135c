//! Export and import of a whole ledger: the chain as stored, byte for byte, and the personal
//! data in a separate file. One implementation of each workflow, which the CLI and the HTTP API
//! both call:
//!
//! - Export walks the chain through the verifier (`verify::walk_chain`) and writes the trailer
//!   only once every record, the head anchor and the personal data checked out, so it refuses
//!   whatever `chitra verify` would report (a cut tail, a forged one, any damage) and never
//!   writes out a group whose writing was interrupted. Files appear only when complete.
//! - Import is all or nothing: it verifies the export, checks an expected head, builds the
//!   store in a sibling directory, opens it as a ledger (which replays every event), and only
//!   then moves it into place.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::chain::block::{decode_personal_block, BlockWriter, PersonalEntry};
use crate::chain::export::{
    read_personal_export, write_personal_entry, ChainExportReader, ChainExportWriter,
    PERSONAL_EXPORT_MAGIC,
};
use crate::chain::record::{parse_record, record_hash};
use crate::chain::Anchor;
use crate::ledger::verify::{walk_chain, ChainBlock, ChainView, Interrupted, VerifyError};
use crate::ledger::BLOCK_BYTES_MAX;
use crate::store::{PendingBlock, Store};

pub use crate::ledger::verify::Extent;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    #[error("the data directory already holds a ledger; import only into an empty one")]
    NotEmpty,
    #[error("the export does not verify, nothing was imported: {0}")]
    DoesNotVerify(VerifyError),
    #[error(
        "the chain does not verify, nothing was exported: {0} (`chitra verify` reports the same)"
    )]
    ChainDoesNotVerify(VerifyError),
    #[error("the export's head is {}, not the expected {expected}; nothing was imported", found.map_or("none (an empty chain)".to_owned(), |a| a.to_string()))]
    HeadDiffers {
        expected: Anchor,
        found: Option<Anchor>,
    },
    #[error("the imported chain does not open, nothing was imported: {0}")]
    DoesNotOpen(crate::ledger::OpenError),
    #[error(transparent)]
    Export(#[from] crate::chain::export::ExportError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Block(#[from] crate::chain::block::BlockError),
    #[error(transparent)]
    Record(#[from] crate::chain::record::FormatError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Walking the chain for an export: damage is a refusal; a store that cannot be read is not.
impl From<VerifyError> for ArchiveError {
    fn from(e: VerifyError) -> ArchiveError {
        match e {
            VerifyError::Store(e) => ArchiveError::Store(e),
            VerifyError::Export(e) => ArchiveError::Export(e),
            e => ArchiveError::ChainDoesNotVerify(e),
        }
    }
}

fn file_error(path: &Path) -> impl FnOnce(std::io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::File {
        path: path.display().to_string(),
        source,
    }
}

/// Blocks written per flush during import.
const IMPORT_GROUP_BLOCKS: usize = 64;

#[derive(Debug, Clone, Copy)]
pub struct ExportSummary {
    pub records: u64,
    pub personal_entries: u64,
    pub head: Option<Anchor>,
    /// A store's interrupted group, left out of the export (it is not part of the chain).
    pub interrupted: Option<Interrupted>,
}

/// Writes the chain of `extent` to `chain` in the export format, and its personal data to
/// `personal` if given, checking everything `chitra verify` checks on the way. The trailer is
/// written last, only when all of it verified: on an error the output has no trailer, so no
/// verifier accepts it.
pub fn export_chain<W: Write>(
    store: &Store,
    extent: Extent,
    chain: W,
    mut personal: Option<&mut dyn Write>,
) -> Result<(ExportSummary, W), ArchiveError> {
    let view = ChainView::of(store, extent)?;
    let mut out = ChainExportWriter::new(chain)?;
    if let Some(w) = personal.as_mut() {
        w.write_all(PERSONAL_EXPORT_MAGIC)?;
    }
    let mut personal_entries = 0u64;
    let end = view.records();
    let report = walk_chain(
        store,
        &view,
        None,
        |_| {},
        |b: &ChainBlock<'_>| {
            for (r, h) in b.records.iter().zip(b.hashes) {
                out.record(r, *h)?;
            }
            if let (Some(w), Some(p)) = (personal.as_mut(), &b.stored.personal) {
                for e in decode_personal_block(p)?.iter().filter(|e| e.seq < end) {
                    write_personal_entry(w, e)?;
                    personal_entries += 1;
                }
            }
            Ok::<(), ArchiveError>(())
        },
    )?;
    let chain = out.finish()?;
    if let Some(w) = personal {
        w.flush()?;
    }
    let summary = ExportSummary {
        records: report.verified.records,
        personal_entries,
        head: report.verified.head,
        interrupted: report.interrupted,
    };
    Ok((summary, chain))
}

/// Writes the store's chain to `chain_path` and, if given, its personal data to
/// `personal_path`: the files appear (complete and synced) only if the chain verifies.
pub fn export(
    store: &Store,
    chain_path: &Path,
    personal_path: Option<&Path>,
) -> Result<ExportSummary, ArchiveError> {
    let (chain_part, chain_out) = Partial::create(chain_path)?;
    let (personal_part, mut personal_out) = match personal_path.map(Partial::create) {
        Some(created) => {
            let (part, out) = created?;
            (Some(part), Some(out))
        }
        None => (None, None),
    };
    let (summary, chain_out) = export_chain(
        store,
        Extent::Store,
        chain_out,
        personal_out.as_mut().map(|w| w as &mut dyn Write),
    )?;
    chain_part.finish(chain_out)?;
    if let (Some(part), Some(out)) = (personal_part, personal_out) {
        part.finish(out)?;
    }
    Ok(summary)
}

/// An output file written under a temporary name beside its final one and renamed into place
/// once complete; dropped unfinished, it is removed.
struct Partial {
    path: PathBuf,
    tmp: PathBuf,
    done: bool,
}

impl Partial {
    fn create(path: &Path) -> Result<(Partial, BufWriter<File>), ArchiveError> {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".partial-{}", std::process::id()));
        let tmp = PathBuf::from(name);
        let file = File::create(&tmp).map_err(file_error(&tmp))?;
        let part = Partial {
            path: path.to_owned(),
            tmp,
            done: false,
        };
        Ok((part, BufWriter::new(file)))
    }

    fn finish(mut self, out: BufWriter<File>) -> Result<(), ArchiveError> {
        let file = out
            .into_inner()
            .map_err(|e| ArchiveError::Io(e.into_error()))?;
        file.sync_all().map_err(file_error(&self.tmp))?;
        std::fs::rename(&self.tmp, &self.path).map_err(file_error(&self.path))?;
        self.done = true;
        sync_parent(&self.path)
    }
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Makes a rename or a new entry in `path`'s directory durable.
fn sync_parent(path: &Path) -> Result<(), ArchiveError> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    File::open(parent)
        .and_then(|d| d.sync_all())
        .map_err(file_error(parent))
}

/// Imports an export into the data directory `dir`, all or nothing: verifies the export (and
/// its personal data), refuses it if its head is not `expect_head` (when given), builds the
/// ledger in a sibling directory, opens it there (which replays every event), and only then
/// renames it to `dir`. On any error `dir` is as it was (absent or empty).
pub fn import_dir(
    dir: &Path,
    chain_path: &Path,
    personal_path: Option<&Path>,
    expect_head: Option<Anchor>,
) -> Result<ExportSummary, ArchiveError> {
    if !crate::ledger::is_empty_dir(dir) {
        return Err(ArchiveError::NotEmpty);
    }
    let aside = Aside::create(dir)?;
    let store = Store::open(&aside.path)?;
    let summary = import_expecting(&store, chain_path, personal_path, expect_head)?;
    drop(store);
    let ledger = crate::ledger::Ledger::open(crate::ledger::Config::new(&aside.path))
        .map_err(ArchiveError::DoesNotOpen)?;
    let head = ledger.head()?.last;
    drop(ledger);
    if head != summary.head {
        // Replay reproduces what was written; anything else is a bug worth stopping for.
        return Err(ArchiveError::Store(crate::store::StoreError::Corrupt(
            format!(
                "the imported ledger's head {head:?} differs from the export's {:?}",
                summary.head
            ),
        )));
    }
    aside.move_to(dir)?;
    Ok(summary)
}

/// A directory beside the data directory (so the final rename stays on one file system) where
/// an import is built; removed unless it was moved into place.
struct Aside {
    path: PathBuf,
    moved: bool,
}

impl Aside {
    fn create(dir: &Path) -> Result<Aside, ArchiveError> {
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(file_error(&parent))?;
        let name = dir
            .file_name()
            .map_or("ledger".into(), |n| n.to_string_lossy().into_owned());
        for attempt in 0u32.. {
            let path = parent.join(format!(
                ".{name}.importing-{}-{attempt}",
                std::process::id()
            ));
            match std::fs::create_dir(&path) {
                Ok(()) => return Ok(Aside { path, moved: false }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {}
                Err(e) => return Err(file_error(&path)(e)),
            }
        }
        unreachable!("the loop returns")
    }

    /// Renames the built ledger to `dir` (rename(2) replaces an empty directory in one step)
    /// and makes the rename durable.
    fn move_to(mut self, dir: &Path) -> Result<(), ArchiveError> {
        std::fs::rename(&self.path, dir).map_err(file_error(dir))?;
        self.moved = true;
        sync_parent(dir)
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        if !self.moved {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// Loads an export into an empty store after verifying it completely. (`import_dir` is the
/// whole workflow; this is its step that fills a store.)
pub fn import(
    store: &Store,
    chain_path: &Path,
    personal_path: Option<&Path>,
) -> Result<ExportSummary, ArchiveError> {
    import_expecting(store, chain_path, personal_path, None)
}

/// `import`, refusing an export whose head is not `expect_head` (when given) before anything
/// is written.
fn import_expecting(
    store: &Store,
    chain_path: &Path,
    personal_path: Option<&Path>,
    expect_head: Option<Anchor>,
) -> Result<ExportSummary, ArchiveError> {
    if !store.is_empty()? {
        return Err(ArchiveError::NotEmpty);
    }
    let personal = match personal_path {
        Some(p) => read_personal_export(BufReader::new(File::open(p).map_err(file_error(p))?))?,
        None => Default::default(),
    };
    let open = || -> Result<BufReader<File>, ArchiveError> {
        Ok(BufReader::new(
            File::open(chain_path).map_err(file_error(chain_path))?,
        ))
    };
    let report = crate::ledger::verify::verify_export(open()?, Some(&personal), None, |_| {})
        .map_err(ArchiveError::DoesNotVerify)?;
    if let Some(expected) = expect_head {
        if report.verified.head != Some(expected) {
            return Err(ArchiveError::HeadDiffers {
                expected,
                found: report.verified.head,
            });
        }
    }
    let mut by_seq: BTreeMap<u64, PersonalEntry> =
        personal.entries.into_iter().map(|e| (e.seq, e)).collect();
    let mut reader = ChainExportReader::new(open()?)?;
    let mut buf = Vec::new();
    let mut pending = Vec::new();
    let mut block = BlockWriter::new();
    let mut block_first = 0;
    let mut block_personal = Vec::new();
    let mut head = None;
    while reader.next_record(&mut buf)? {
        let seq = parse_record(&buf)?.header.seq;
        if block.count() == 0 {
            block_first = seq;
        }
        block.push_with(|b| b.extend_from_slice(&buf));
        head = Some(Anchor {
            seq,
            hash: record_hash(&buf),
        });
        if let Some(e) = by_seq.remove(&seq) {
            block_personal.push(e);
        }
        if block.bytes_len() >= BLOCK_BYTES_MAX {
            pending.push(PendingBlock {
                first_seq: block_first,
                records: std::mem::take(&mut block).finish(),
                personal: std::mem::take(&mut block_personal),
            });
            block = BlockWriter::new();
            if pending.len() >= IMPORT_GROUP_BLOCKS {
                store.append_group(
                    std::mem::take(&mut pending),
                    head.expect("a record was read"),
                )?;
            }
        }
    }
    if block.count() > 0 {
        pending.push(PendingBlock {
            first_seq: block_first,
            records: block.finish(),
            personal: block_personal,
        });
    }
    if let (false, Some(h)) = (pending.is_empty(), head) {
        store.append_group(pending, h)?;
    }
    Ok(ExportSummary {
        records: report.verified.records,
        personal_entries: report.personal_entries,
        head: report.verified.head,
        interrupted: None,
    })
}
