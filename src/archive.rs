//! Export and import of a whole ledger: the chain as stored, byte for byte, and the personal
//! data in a separate file. Import refuses anything that does not verify and reproduces the
//! exporter's head hash.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use crate::chain::block::{decode_personal_block, for_each_record, BlockWriter, PersonalEntry};
use crate::chain::export::{
    read_personal_export, write_personal_entry, ChainExportReader, ChainExportWriter,
    PERSONAL_EXPORT_MAGIC,
};
use crate::chain::record::{parse_record, record_hash};
use crate::chain::Anchor;
use crate::ledger::BLOCK_BYTES_MAX;
use crate::store::{PendingBlock, Store};

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
    DoesNotVerify(crate::verify::VerifyError),
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
}

/// Writes the store's chain to `chain_path` and, if given, its personal data to `personal_path`.
pub fn export(
    store: &Store,
    chain_path: &Path,
    personal_path: Option<&Path>,
) -> Result<ExportSummary, ArchiveError> {
    let file = File::create(chain_path).map_err(file_error(chain_path))?;
    let mut chain = ChainExportWriter::new(BufWriter::new(file))?;
    let mut personal = match personal_path {
        Some(p) => {
            let mut w = BufWriter::new(File::create(p).map_err(file_error(p))?);
            std::io::Write::write_all(&mut w, PERSONAL_EXPORT_MAGIC)?;
            Some(w)
        }
        None => None,
    };
    let mut summary = ExportSummary {
        records: 0,
        personal_entries: 0,
        head: None,
    };
    for block in store.blocks() {
        let block = block?;
        let mut failed = None;
        for_each_record(&block.records, |r| {
            if failed.is_none() {
                let hash = record_hash(r);
                if let Err(e) = chain.record(r, hash) {
                    failed = Some(e);
                }
                let seq = parse_record(r)
                    .map(|v| v.header.seq)
                    .unwrap_or(summary.records);
                summary.head = Some(Anchor { seq, hash });
                summary.records += 1;
            }
        })?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        if let (Some(w), Some(p)) = (personal.as_mut(), &block.personal) {
            for e in decode_personal_block(p)? {
                write_personal_entry(w, &e)?;
                summary.personal_entries += 1;
            }
        }
    }
    chain.finish()?;
    if let Some(mut w) = personal {
        std::io::Write::flush(&mut w)?;
    }
    Ok(summary)
}

/// Imports an export into an empty store after verifying it completely.
pub fn import(
    store: &Store,
    chain_path: &Path,
    personal_path: Option<&Path>,
) -> Result<ExportSummary, ArchiveError> {
    if !store.is_empty()? {
        return Err(ArchiveError::NotEmpty);
    }
    let personal = match personal_path {
        Some(p) => read_personal_export(BufReader::new(File::open(p).map_err(file_error(p))?))?,
        None => Vec::new(),
    };
    let open = || -> Result<BufReader<File>, ArchiveError> {
        Ok(BufReader::new(
            File::open(chain_path).map_err(file_error(chain_path))?,
        ))
    };
    let report = crate::verify::verify_export(open()?, Some(&personal), None, |_| {})
        .map_err(ArchiveError::DoesNotVerify)?;
    let mut by_seq: BTreeMap<u64, PersonalEntry> =
        personal.into_iter().map(|e| (e.seq, e)).collect();
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
    })
}
