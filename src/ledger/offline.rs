//! A data directory read without the writer: what `chitra verify`, `export` and `status` use
//! so they need not replay the chain, and the one way code outside `ledger/` reaches a store
//! it has not opened as a ledger. It sees the chain exactly as opening would (up to the head
//! anchor; an interrupted group is reported, never read as part of the chain).

use std::io::Write;
use std::path::Path;

use super::archive::{ArchiveError, ExportSummary};
use super::verify::{ChainView, Extent, Report, VerifyError};
use crate::chain::Anchor;
use crate::store::{Store, StoreError};

/// The store of a data directory, opened without a writer.
pub struct Offline {
    pub(super) store: Store,
}

#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error("no ledger in {0} (use --data-dir or CHITRA_DATA_DIR)")]
    NoLedger(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Offline {
    /// Opens the store of `dir`, refusing a directory that holds no ledger.
    pub fn open(dir: &Path) -> Result<Offline, OfflineError> {
        if super::is_empty_dir(dir) {
            return Err(OfflineError::NoLedger(dir.display().to_string()));
        }
        Ok(Offline {
            store: Store::open(dir)?,
        })
    }

    /// The chain as a reader sees it: its head anchor and any interrupted group.
    pub fn view(&self) -> Result<ChainView, StoreError> {
        ChainView::of(&self.store, Extent::Store)
    }

    /// Verifies the whole chain (`ledger::verify::verify_store`) and, when it verifies, records
    /// when and how many records (`now_ms` by the caller's clock).
    pub fn verify(
        &self,
        trusted: Option<Anchor>,
        now_ms: i64,
        progress: impl FnMut(u64),
    ) -> Result<Report, VerifyError> {
        let report = super::verify::verify_store(&self.store, trusted, progress)?;
        self.store
            .record_verified(now_ms, report.verified.records)?;
        Ok(report)
    }

    /// The records the newest snapshot of the state reflects, if there is one (whether opening
    /// can use it is checked when opening).
    pub fn newest_snapshot(&self) -> Option<u64> {
        self.store.snapshots().first().map(|(records, _)| *records)
    }

    /// Checks every snapshot of the state against a replay of the chain (`snapshot`); run it
    /// after `verify`, which checks the chain itself.
    pub fn check_snapshots(&self) -> Result<Vec<super::SnapshotCheck>, super::OpenError> {
        super::snapshot::check_all(&self.store)
    }

    /// Checks the report index against the chain (`report_index::check`); run it after
    /// `verify`, which checks the chain itself.
    pub fn check_report_index(
        &self,
    ) -> Result<super::report_index::IndexCheck, super::read::ReadError> {
        super::report_index::check(&self.store, self.store.dir(), || Ok(self.view()?.records()))
    }

    /// Where the report index lives.
    pub fn report_index_path(&self) -> std::path::PathBuf {
        self.store
            .dir()
            .join(super::report_index::REPORT_INDEX_FILE)
    }

    /// Writes the chain (and its personal data) to files, as `ledger::archive::export`.
    pub fn export(
        &self,
        chain_path: &Path,
        personal_path: Option<&Path>,
    ) -> Result<ExportSummary, ArchiveError> {
        super::archive::export(&self.store, chain_path, personal_path)
    }

    /// Writes the chain to any writer, as `ledger::archive::export_chain`.
    pub fn export_to<W: Write>(
        &self,
        chain: W,
        personal: Option<&mut dyn Write>,
    ) -> Result<(ExportSummary, W), ArchiveError> {
        super::archive::export_chain(&self.store, Extent::Store, chain, personal)
    }

    pub fn last_verified(&self) -> Result<Option<(i64, u64)>, StoreError> {
        self.store.last_verified()
    }

    pub fn size_on_disk(&self) -> u64 {
        self.store.size_on_disk()
    }
}
