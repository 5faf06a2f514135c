//! The NAPAS BIN → BIC table, from `ledger-data/reference/vn-banks.json` embedded at build time.
//!
//! The table is reference data, not configuration: the file is a byte-identical copy of
//! `reference/vn/vn-banks.json` (see its `SOURCES.md`), so it is compiled in and never read at
//! run time. A BIN without a usable BIC is still payable: the file then names the creditor
//! agent by its NAPAS BIN alone (`ClrSysMmbId`).

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

use crate::domain::types::BankBin;

const VN_BANKS_JSON: &str = include_str!("../../../ledger-data/reference/vn-banks.json");

#[derive(Deserialize)]
struct BankRecord {
    bin: String,
    #[serde(rename = "swiftCode")]
    swift_code: Option<String>,
    #[serde(default)]
    deprecated: Option<serde_json::Value>,
}

/// One bank as the files need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankInfo {
    pub bin: BankBin,
    /// The BIC (`BICFI`), when the reference data has a valid Vietnamese one.
    pub bic: Option<String>,
}

fn table() -> &'static HashMap<BankBin, Option<String>> {
    static TABLE: OnceLock<HashMap<BankBin, Option<String>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let records: Vec<BankRecord> =
            serde_json::from_str(VN_BANKS_JSON).expect("embedded vn-banks.json is valid JSON");
        let mut map = HashMap::new();
        // Deprecated records (banks renamed or merged) share their BIN with the current bank;
        // the current record wins, so read them first and let later inserts overwrite.
        let (old, current): (Vec<_>, Vec<_>) =
            records.into_iter().partition(|r| r.deprecated.is_some());
        for record in old.into_iter().chain(current) {
            let Ok(bin) = BankBin::parse(&record.bin) else {
                continue; // BIDC has no BIN
            };
            map.insert(bin, record.swift_code.filter(|s| is_vietnamese_bic(s)));
        }
        map
    })
}

/// A BICFI (`[A-Z0-9]{4}[A-Z]{2}[A-Z0-9]{2}([A-Z0-9]{3})?`, the XSD's pattern) whose country
/// code is VN. The country check drops the upstream `OCBKUS3M` for 970414, which is known to
/// be wrong (see `SOURCES.md`): a wrong BIC is worse than none, because the bank routes by it.
pub fn is_vietnamese_bic(bic: &str) -> bool {
    is_bicfi(bic) && &bic[4..6] == "VN"
}

/// The XSD's `BICFIDec2014Identifier` pattern.
pub fn is_bicfi(bic: &str) -> bool {
    let b = bic.as_bytes();
    let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
    (b.len() == 8 || b.len() == 11)
        && b[..4].iter().all(alnum)
        && b[4..6].iter().all(u8::is_ascii_uppercase)
        && b[6..].iter().all(alnum)
}

/// The bank with this NAPAS BIN, if the reference data knows it.
pub fn lookup(bin: BankBin) -> Option<BankInfo> {
    table().get(&bin).map(|bic| BankInfo {
        bin,
        bic: bic.clone(),
    })
}

/// The BIC for a BIN, when known and valid.
pub fn bic_for(bin: BankBin) -> Option<&'static str> {
    table().get(&bin).and_then(|b| b.as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(text: &str) -> BankBin {
        BankBin::parse(text).unwrap()
    }

    #[test]
    fn knows_the_sample_banks() {
        assert_eq!(bic_for(bin("970436")), Some("BFTVVNVX"));
        assert_eq!(bic_for(bin("970405")), Some("VBAAVNVX"));
        assert_eq!(bic_for(bin("970415")), Some("ICBVVNVX"));
    }

    #[test]
    fn drops_missing_and_foreign_bics_but_keeps_the_bank() {
        // VBSP: in the table, no SWIFT code.
        assert_eq!(lookup(bin("999888")).unwrap().bic, None);
        // MBV / OceanBank: upstream BIC has a US country code.
        assert_eq!(lookup(bin("970414")).unwrap().bic, None);
        assert!(lookup(bin("123456")).is_none());
    }

    #[test]
    fn current_record_wins_over_deprecated_one() {
        assert_eq!(bic_for(bin("970449")), Some("LVBKVNVX"));
    }

    #[test]
    fn bicfi_pattern() {
        assert!(is_bicfi("BFTVVNVX"));
        assert!(is_bicfi("BFTVVNVX123"));
        assert!(!is_bicfi("VBAAVN"));
        assert!(!is_bicfi("bftvvnvx"));
        assert!(!is_bicfi("BFTV1NVX"));
    }
}
