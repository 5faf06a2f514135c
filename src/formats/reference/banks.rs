//! Banks by NAPAS BIN: name, short name and SWIFT/BIC, from `vn-banks.json` (a JSON conversion
//! of the VietQR bank list with VBSP added; see `ledger-data/reference/README.md`).
//!
//! Three BINs appear twice in the source, once for a bank that was renamed or taken over
//! (DongA → Vikki, LienVietPostBank → LPBank, OceanBank → MBV). The current bank owns the BIN;
//! the old one is kept as a former name so that an old roster's bank still reads sensibly.
//! The source marks LienVietPostBank and OceanBank `deprecated` but not DongA Bank, so
//! `UNMARKED_FORMER_KEYS` names it.
//! Records without a BIN (BIDC) cannot be paid through NAPAS and are left out.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::types::BankBin;

use super::ReferenceError;

/// The file name under the reference directory.
pub const FILE: &str = "vn-banks.json";

/// Source keys of banks that were succeeded by another bank on the same BIN although the
/// source does not mark them deprecated: DongA Bank became Vikki Bank (970406).
const UNMARKED_FORMER_KEYS: [&str; 1] = ["dongabank"];

/// A bank that can receive credit transfers by NAPAS BIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bank {
    pub bin: BankBin,
    /// Full Vietnamese name, e.g. "Ngân hàng TMCP Ngoại Thương Việt Nam".
    pub name: String,
    /// Short name, e.g. "Vietcombank".
    pub short_name: String,
    /// SWIFT/BIC as listed; 16 banks have none. See `bic()` for the checked form.
    pub swift_code: Option<String>,
    /// The source list's own stable key, e.g. `vietcombank`.
    pub key: String,
    /// Earlier banks that used the same BIN (deprecated in the source).
    pub former: Vec<FormerBank>,
}

/// A bank that once used a BIN now owned by another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormerBank {
    pub name: String,
    pub short_name: String,
}

impl Bank {
    /// The BIC for a payment file: the listed SWIFT code only when it is 8 or 11 characters and
    /// its country is Vietnam. The source lists `OCBKUS3M` (a US country code) for MBV, which
    /// would route a domestic payment abroad, so it is withheld here.
    pub fn bic(&self) -> Option<&str> {
        let code = self.swift_code.as_deref()?;
        let shaped =
            matches!(code.len(), 8 | 11) && code.bytes().all(|b| b.is_ascii_alphanumeric());
        (shaped && &code[4..6] == "VN").then_some(code)
    }
}

/// No bank has this BIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no bank has NAPAS BIN {bin}")]
pub struct UnknownBin {
    pub bin: BankBin,
}

/// The banks of the reference list, by BIN.
#[derive(Debug, Clone)]
pub struct Banks {
    by_bin: BTreeMap<BankBin, Bank>,
}

/// One record as the source file writes it (fields we do not use are ignored).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Record {
    key: String,
    name: String,
    short_name: String,
    #[serde(default)]
    bin: String,
    #[serde(default)]
    swift_code: Option<String>,
    #[serde(default)]
    deprecated: Option<bool>,
}

impl Banks {
    /// Parses the JSON text of `vn-banks.json`.
    pub fn parse(text: &str) -> Result<Banks, ReferenceError> {
        let records: Vec<Record> =
            serde_json::from_str(text).map_err(|e| ReferenceError::data(FILE, e.to_string()))?;
        let (current, former): (Vec<_>, Vec<_>) = records
            .into_iter()
            .filter(|r| !r.bin.is_empty())
            .partition(|r| {
                r.deprecated != Some(true) && !UNMARKED_FORMER_KEYS.contains(&r.key.as_str())
            });
        let mut by_bin = BTreeMap::new();
        for r in current {
            let bank = bank(r)?;
            if let Some(dup) = by_bin.insert(bank.bin, bank) {
                return Err(ReferenceError::data(
                    FILE,
                    format!("BIN {} listed twice", dup.bin),
                ));
            }
        }
        for r in former {
            let bin = parse_bin(&r.bin)?;
            let owner = by_bin.get_mut(&bin).ok_or_else(|| {
                ReferenceError::data(FILE, format!("deprecated BIN {bin} has no current bank"))
            })?;
            owner.former.push(FormerBank {
                name: r.name,
                short_name: r.short_name,
            });
        }
        Ok(Banks { by_bin })
    }

    pub fn get(&self, bin: BankBin) -> Option<&Bank> {
        self.by_bin.get(&bin)
    }

    /// The bank of a BIN, or why there is none.
    pub fn lookup(&self, bin: BankBin) -> Result<&Bank, UnknownBin> {
        self.get(bin).ok_or(UnknownBin { bin })
    }

    /// All banks in BIN order.
    pub fn iter(&self) -> impl Iterator<Item = &Bank> {
        self.by_bin.values()
    }

    pub fn len(&self) -> usize {
        self.by_bin.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_bin.is_empty()
    }
}

fn parse_bin(text: &str) -> Result<BankBin, ReferenceError> {
    BankBin::parse(text).map_err(|e| ReferenceError::data(FILE, e.to_string()))
}

fn bank(r: Record) -> Result<Bank, ReferenceError> {
    Ok(Bank {
        bin: parse_bin(&r.bin)?,
        name: r.name,
        short_name: r.short_name,
        swift_code: r.swift_code.filter(|s| !s.is_empty()),
        key: r.key,
        former: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::reference::Reference;

    fn bin(text: &str) -> BankBin {
        BankBin::parse(text).unwrap()
    }

    #[test]
    fn every_listed_bin_but_the_duplicates_is_a_bank() {
        let banks = &Reference::embedded().banks;
        // 63 records: BIDC has no BIN and three BINs are shared with a former bank.
        assert_eq!(banks.len(), 59);
        let vcb = banks.lookup(bin("970436")).unwrap();
        assert_eq!(vcb.short_name, "Vietcombank");
        assert_eq!(vcb.bic(), Some("BFTVVNVX"));
        let vbsp = banks.lookup(bin("999888")).unwrap();
        assert_eq!(vbsp.short_name, "VBSP");
        assert_eq!(vbsp.bic(), None);
    }

    #[test]
    fn a_renamed_bank_keeps_its_former_name() {
        let banks = &Reference::embedded().banks;
        let lpb = banks.lookup(bin("970449")).unwrap();
        assert_eq!(lpb.short_name, "LPBank");
        assert_eq!(lpb.former[0].short_name, "LienVietPostBank");
        let vikki = banks.lookup(bin("970406")).unwrap();
        assert_eq!(vikki.short_name, "Vikki Bank");
        assert_eq!(vikki.former[0].short_name, "DongA Bank");
    }

    #[test]
    fn a_foreign_country_code_is_not_used_as_a_bic() {
        let banks = &Reference::embedded().banks;
        let mbv = banks.lookup(bin("970414")).unwrap();
        assert_eq!(mbv.swift_code.as_deref(), Some("OCBKUS3M"));
        assert_eq!(mbv.bic(), None);
    }

    #[test]
    fn an_unknown_bin_is_an_error() {
        let banks = &Reference::embedded().banks;
        let err = banks.lookup(bin("123456")).unwrap_err();
        assert_eq!(err.to_string(), "no bank has NAPAS BIN 123456");
    }
}
