//! Reference data read from versioned files at the edge (this module does IO; `domain` does
//! not): administrative units (2025 and pre-2025, with the mapping between them), banks by
//! NAPAS BIN, citizen-ID province prefixes, and rate schedules. Each loader turns files into the
//! domain's own types, so what the ledger records is exactly what the files say.
//!
//! The files live in `ledger-data/reference/` with their provenance (README there). `load`
//! reads them from a directory; `embedded` uses the copies compiled into the binary, so tests
//! and the command line need no path. Pure after loading: lookups do no IO.

pub mod admin;
pub mod banks;
pub mod cccd;
pub mod rates;

use std::path::Path;
use std::sync::OnceLock;

use crate::domain::event::EnrolmentWarning;
use crate::domain::types::{BankBin, CitizenId, CommuneCode};

use admin::{AdminUnits, CommuneError, ResolvedCommune};
use banks::{Bank, Banks, UnknownBin};
use cccd::CccdPrefixes;

/// A reference file could not be read or does not hold what it should.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    #[error("reference file {file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    #[error("reference file {file}: {reason}")]
    Data { file: &'static str, reason: String },
}

impl ReferenceError {
    pub(crate) fn data(file: &'static str, reason: impl Into<String>) -> ReferenceError {
        ReferenceError::Data {
            file,
            reason: reason.into(),
        }
    }
}

/// All reference data, loaded and cross-indexed.
#[derive(Debug, Clone)]
pub struct Reference {
    pub admin: AdminUnits,
    pub banks: Banks,
    pub cccd: CccdPrefixes,
}

/// The reference files, as compiled into the binary from `ledger-data/reference/`.
const EMBEDDED_ADMIN_2025: &str =
    include_str!("../../../ledger-data/reference/vn-admin-2025-34prov.thanglequoc-v4.2.0.json");
const EMBEDDED_ADMIN_PRE2025: &str =
    include_str!("../../../ledger-data/reference/vn-admin-pre2025-63prov.thanglequoc-v2.4.1.json");
const EMBEDDED_BANKS: &str = include_str!("../../../ledger-data/reference/vn-banks.json");
const EMBEDDED_CCCD: &str = include_str!("../../../ledger-data/reference/cccd-province-codes.csv");

impl Reference {
    /// Builds the reference from the texts of its four files.
    pub fn parse(
        admin_2025: &str,
        admin_pre2025: &str,
        banks: &str,
        cccd: &str,
    ) -> Result<Reference, ReferenceError> {
        Ok(Reference {
            admin: AdminUnits::parse(admin_2025, admin_pre2025)?,
            banks: Banks::parse(banks)?,
            cccd: CccdPrefixes::parse(cccd)?,
        })
    }

    /// Reads the four files (names as in `ledger-data/reference/`) from `dir`.
    pub fn load(dir: &Path) -> Result<Reference, ReferenceError> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|source| ReferenceError::Io {
                file: dir.join(name).display().to_string(),
                source,
            })
        };
        Reference::parse(
            &read(admin::FILE_2025)?,
            &read(admin::FILE_PRE2025)?,
            &read(banks::FILE)?,
            &read(cccd::FILE)?,
        )
    }

    /// The reference data compiled into the binary, parsed once on first use.
    pub fn embedded() -> &'static Reference {
        static EMBEDDED: OnceLock<Reference> = OnceLock::new();
        EMBEDDED.get_or_init(|| {
            Reference::parse(
                EMBEDDED_ADMIN_2025,
                EMBEDDED_ADMIN_PRE2025,
                EMBEDDED_BANKS,
                EMBEDDED_CCCD,
            )
            .expect("the embedded reference data is checked by the test suite")
        })
    }

    /// A 2025 or pre-2025 commune code as its 2025 code, with a warning when it was mapped.
    pub fn resolve_commune(&self, code: CommuneCode) -> Result<ResolvedCommune, CommuneError> {
        self.admin.resolve_commune(code)
    }

    /// The bank of a NAPAS BIN.
    pub fn bank(&self, bin: BankBin) -> Result<&Bank, UnknownBin> {
        self.banks.lookup(bin)
    }

    /// `CitizenIdPrefixUnknown` when the ID's first three digits are not a province code.
    pub fn citizen_id_prefix_warning(&self, id: &CitizenId) -> Option<EnrolmentWarning> {
        self.cccd.check(id)
    }
}

impl crate::domain::decide::Registry for Reference {
    fn resolve_commune(
        &self,
        code: CommuneCode,
    ) -> Result<(CommuneCode, Option<EnrolmentWarning>), String> {
        self.admin
            .resolve_commune(code)
            .map(|r| (r.code, r.warning))
            .map_err(|e| e.to_string())
    }

    fn check_bank(&self, bin: BankBin) -> Result<(), String> {
        self.banks
            .lookup(bin)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn citizen_id_prefix_warning(&self, id: &CitizenId) -> Option<EnrolmentWarning> {
        self.cccd.check(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_files_on_disk_load_like_the_embedded_copies() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/reference");
        let loaded = Reference::load(&dir).unwrap();
        let embedded = Reference::embedded();
        assert_eq!(
            loaded.admin.communes_2025_count(),
            embedded.admin.communes_2025_count()
        );
        assert_eq!(loaded.banks.len(), embedded.banks.len());
        assert_eq!(loaded.cccd.len(), embedded.cccd.len());
    }

    #[test]
    fn a_missing_directory_names_the_file() {
        let err = Reference::load(Path::new("/nonexistent-chitra-reference")).unwrap_err();
        assert!(err.to_string().contains(admin::FILE_2025), "{err}");
    }

    #[test]
    fn the_validation_api_answers() {
        let r = Reference::embedded();
        let commune = CommuneCode::parse("00016").unwrap();
        assert_eq!(
            r.resolve_commune(commune).unwrap().warning,
            Some(EnrolmentWarning::CommuneCodeMapped { from: commune })
        );
        assert!(r.bank(BankBin::parse("970405").unwrap()).is_ok());
        assert!(r.bank(BankBin::parse("970000").unwrap()).is_err());
        let id = CitizenId::parse("099052012345").unwrap();
        assert!(r.citizen_id_prefix_warning(&id).is_some());
    }
}
