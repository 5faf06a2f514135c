//! Citizen-ID (CCCD) province prefixes: the 63 valid three-digit prefixes, each the code of a
//! pre-2025 province where births were registered, and the 2025 province it merged into.
//!
//! Loaded from `cccd-province-codes.csv` (see `ledger-data/reference/README.md`). A prefix not
//! in the table is a warning, never an error: since Luật Căn cước 2023 the structure rules are no
//! longer published, so only "exactly 12 digits" is a hard rule (`reference/vn/CCCD.md`).

use std::collections::BTreeMap;

use crate::domain::event::EnrolmentWarning;
use crate::domain::types::{CitizenId, ProvinceCode};

use super::ReferenceError;

/// The file name under the reference directory.
pub const FILE: &str = "cccd-province-codes.csv";

/// One row of the prefix table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CccdPrefix {
    /// Three digits, `0` + the pre-2025 GSO province code.
    pub prefix: String,
    pub province_pre2025: ProvinceCode,
    pub province_pre2025_name: String,
    /// The 2025 province the pre-2025 one merged into (for display; IDs never change).
    pub province_2025: ProvinceCode,
    pub province_2025_name: String,
}

/// The table of known prefixes.
#[derive(Debug, Clone)]
pub struct CccdPrefixes {
    by_prefix: BTreeMap<String, CccdPrefix>,
}

const HEADER: [&str; 5] = [
    "cccd_prefix",
    "gso_code_pre2025",
    "province_pre2025",
    "gso_code_2025",
    "province_2025",
];

impl CccdPrefixes {
    /// Parses the CSV text of `cccd-province-codes.csv`.
    pub fn parse(text: &str) -> Result<CccdPrefixes, ReferenceError> {
        let bad = |reason: String| ReferenceError::data(FILE, reason);
        let mut reader = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header = reader.headers().map_err(|e| bad(e.to_string()))?;
        if header.iter().ne(HEADER) {
            return Err(bad(format!("header is not {}", HEADER.join(","))));
        }
        let mut by_prefix = BTreeMap::new();
        for record in reader.records() {
            let record = record.map_err(|e| bad(e.to_string()))?;
            let row =
                row(&record).map_err(|reason| bad(format!("line {}: {reason}", line(&record))))?;
            if by_prefix.insert(row.prefix.clone(), row).is_some() {
                return Err(bad(format!("line {}: duplicate prefix", line(&record))));
            }
        }
        Ok(CccdPrefixes { by_prefix })
    }

    pub fn get(&self, prefix: &str) -> Option<&CccdPrefix> {
        self.by_prefix.get(prefix)
    }

    pub fn is_known(&self, prefix: &str) -> bool {
        self.by_prefix.contains_key(prefix)
    }

    /// The warning to record when the citizen ID's prefix is not a known province code.
    pub fn check(&self, id: &CitizenId) -> Option<EnrolmentWarning> {
        let prefix = id.province_prefix();
        (!self.is_known(prefix)).then(|| EnrolmentWarning::CitizenIdPrefixUnknown {
            prefix: prefix.to_owned(),
        })
    }

    /// The prefix of a pre-2025 province.
    pub fn for_pre2025_province(&self, province: ProvinceCode) -> Option<&CccdPrefix> {
        self.by_prefix
            .values()
            .find(|p| p.province_pre2025 == province)
    }

    /// The prefixes whose pre-2025 province merged into this 2025 province.
    pub fn of_2025_province(&self, province: ProvinceCode) -> impl Iterator<Item = &CccdPrefix> {
        self.by_prefix
            .values()
            .filter(move |p| p.province_2025 == province)
    }

    /// All prefixes in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = &CccdPrefix> {
        self.by_prefix.values()
    }

    pub fn len(&self) -> usize {
        self.by_prefix.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_prefix.is_empty()
    }
}

fn line(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, csv::Position::line)
}

fn row(record: &csv::StringRecord) -> Result<CccdPrefix, String> {
    if record.len() != HEADER.len() {
        return Err(format!(
            "{} columns, expected {}",
            record.len(),
            HEADER.len()
        ));
    }
    let prefix = record[0].to_owned();
    let province_pre2025 = ProvinceCode::parse(&record[1]).map_err(|e| e.to_string())?;
    if prefix.len() != 3 || prefix != format!("0{province_pre2025}") {
        return Err(format!(
            "prefix {prefix:?} is not 0 + the pre-2025 province code"
        ));
    }
    Ok(CccdPrefix {
        prefix,
        province_pre2025,
        province_pre2025_name: record[2].to_owned(),
        province_2025: ProvinceCode::parse(&record[3]).map_err(|e| e.to_string())?,
        province_2025_name: record[4].to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::reference::Reference;

    #[test]
    fn the_table_has_63_prefixes_into_34_provinces() {
        let cccd = &Reference::embedded().cccd;
        assert_eq!(cccd.len(), 63);
        let merged: std::collections::BTreeSet<_> = cccd.iter().map(|p| p.province_2025).collect();
        assert_eq!(merged.len(), 34);
        let ha_nam = cccd.get("035").expect("Hà Nam stays a valid prefix");
        assert_eq!(ha_nam.province_2025.to_string(), "37");
        assert_eq!(cccd.of_2025_province(ha_nam.province_2025).count(), 3);
    }

    #[test]
    fn unknown_prefix_is_a_warning() {
        let cccd = &Reference::embedded().cccd;
        let known = CitizenId::parse("001052012345").unwrap();
        assert_eq!(cccd.check(&known), None);
        let unknown = CitizenId::parse("003052012345").unwrap();
        assert_eq!(
            cccd.check(&unknown),
            Some(EnrolmentWarning::CitizenIdPrefixUnknown {
                prefix: "003".into()
            })
        );
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert!(CccdPrefixes::parse("a,b\n").is_err());
        let dup = "cccd_prefix,gso_code_pre2025,province_pre2025,gso_code_2025,province_2025\n\
                   001,01,A,01,A\n001,01,A,01,A\n";
        assert!(CccdPrefixes::parse(dup).is_err());
        let wrong = "cccd_prefix,gso_code_pre2025,province_pre2025,gso_code_2025,province_2025\n\
                     002,01,A,01,A\n";
        assert!(CccdPrefixes::parse(wrong).is_err());
    }
}
