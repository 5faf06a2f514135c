//! Administrative units: the 34 provinces and 3,321 communes of the two-level system in force
//! since 2025-07-01, the 63 provinces, 696 districts and 10,035 communes before it, and the
//! mapping from a pre-2025 commune code to its 2025 successor as far as the data allows.
//!
//! # What the pre-2025 → 2025 mapping can and cannot do
//!
//! The two source datasets list units; neither says which old commune went into which new
//! one. Two facts in the data carry a mapping:
//!
//! 1. **Same code** (3,315 codes): a 2025 commune usually kept the code of one of the old
//!    communes merged into it, so a code present in both datasets names an old commune and its
//!    successor at once. Every such pair lies in the same province after the merge, which is
//!    what that reading predicts. Such a code is simply a valid 2025 code: it resolves to itself
//!    and raises no warning.
//! 2. **Same name in the same old district** (695 codes): an old commune whose code vanished
//!    but whose name (ignoring the type word "Xã"/"Phường"/"Thị trấn", case and old/new tone
//!    placement) is carried by exactly one 2025 commune whose code came from the same old
//!    district (or is new). Example: Phường Ngọc Hà (00016, Quận Ba Đình) → Phường Ngọc Hà
//!    (00008). This is a best guess and is flagged: the resolution carries
//!    `EnrolmentWarning::CommuneCodeMapped`.
//!
//! Everything else cannot be mapped from this data: **6,025 old codes** whose commune was merged
//! under another commune's code and name (for example Phường Phúc Xá, 00001). Their successor
//! province is known (the merge moved whole provinces), their successor commune is not, and an
//! old commune split between several new ones has no single successor at all. Resolving such a
//! code is an error that names the old commune and the 2025 province and asks for the 2025 code;
//! the published commune-level mappings (dvhcvn/20250701 `mapping/`) are LLM-assisted and were
//! not taken into the reference data (see `reference/SOURCES.md` §3).
//!
//! Codes of 2025 and pre-2025 units share one five-digit space: `00004` is Phường Ba Đình now
//! and was Phường Trúc Bạch before. A code is therefore read as a 2025 code first.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde::Deserialize;

use crate::domain::event::EnrolmentWarning;
use crate::domain::types::{CommuneCode, ProvinceCode};

use super::ReferenceError;

/// The 2025 dataset's file name under the reference directory.
pub const FILE_2025: &str = "vn-admin-2025-34prov.thanglequoc-v4.2.0.json";
/// The pre-2025 dataset's file name under the reference directory.
pub const FILE_PRE2025: &str = "vn-admin-pre2025-63prov.thanglequoc-v2.4.1.json";

/// A 3-digit GSO district code (districts were abolished on 2025-07-01).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DistrictCode(u16);

impl DistrictCode {
    pub fn parse(text: &str) -> Result<DistrictCode, String> {
        if text.len() != 3 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("district code {text:?} is not 3 digits"));
        }
        text.parse().map(DistrictCode).map_err(|e| e.to_string())
    }

    pub fn value(self) -> u16 {
        self.0
    }
}

impl fmt::Display for DistrictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:03}", self.0)
    }
}

impl fmt::Debug for DistrictCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DistrictCode({self})")
    }
}

/// A province of the 2025 two-level system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province2025 {
    pub code: ProvinceCode,
    pub name: String,
    /// Its communes (xã, phường, đặc khu) in code order.
    pub communes: Vec<CommuneCode>,
}

/// A commune-level unit of the 2025 system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commune2025 {
    pub code: CommuneCode,
    /// With its type word, e.g. "Phường Ba Đình", "Xã Sóc Sơn", "Đặc khu Côn Đảo".
    pub name: String,
    pub province: ProvinceCode,
}

impl Commune2025 {
    /// An urban ward (phường) rather than a rural commune or special zone.
    pub fn is_ward(&self) -> bool {
        self.name.starts_with("Phường")
    }
}

/// A province before 2025-07-01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvincePre2025 {
    pub code: ProvinceCode,
    pub name: String,
    pub districts: Vec<DistrictCode>,
    /// The 2025 province it merged into (derived from its same-code communes).
    pub successor: ProvinceCode,
}

/// A district before 2025-07-01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistrictPre2025 {
    pub code: DistrictCode,
    pub name: String,
    pub province: ProvinceCode,
    /// Empty for five island districts that had no communes (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa,
    /// Lý Sơn, Côn Đảo); they are special zones (đặc khu) with new codes since 2025.
    pub communes: Vec<CommuneCode>,
}

/// A commune-level unit before 2025-07-01.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunePre2025 {
    pub code: CommuneCode,
    pub name: String,
    pub district: DistrictCode,
    pub province: ProvinceCode,
    /// Its 2025 successor, where the data gives one (see the module documentation).
    pub successor: Option<Successor>,
}

/// The 2025 commune an old commune is mapped to, and on what evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Successor {
    pub code: CommuneCode,
    pub basis: SuccessorBasis,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SuccessorBasis {
    /// The 2025 commune kept this commune's code.
    SameCode,
    /// The only 2025 commune of the same old district bearing this commune's name.
    SameNameInDistrict,
}

/// A commune code resolved to the 2025 system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedCommune {
    /// The 2025 code.
    pub code: CommuneCode,
    /// `CommuneCodeMapped` when a pre-2025 code was mapped to a different 2025 code.
    pub warning: Option<EnrolmentWarning>,
}

/// Why a commune code cannot be resolved to a 2025 commune.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommuneError {
    #[error("commune code {code} is neither a 2025 nor a pre-2025 commune code")]
    Unknown { code: CommuneCode },
    #[error(
        "pre-2025 commune code {code} ({name}, {district}) was merged on 2025-07-01 into a \
         commune of {province_2025} that the reference data does not name; give its 2025 code"
    )]
    NotMapped {
        code: CommuneCode,
        name: String,
        district: String,
        province_2025: String,
    },
}

/// Counts of how pre-2025 codes map (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MappingSummary {
    pub same_code: usize,
    pub same_name_in_district: usize,
    pub unmapped: usize,
}

/// Both systems of administrative units and the mapping between them.
#[derive(Debug, Clone)]
pub struct AdminUnits {
    provinces_2025: BTreeMap<ProvinceCode, Province2025>,
    communes_2025: HashMap<CommuneCode, Commune2025>,
    provinces_pre2025: BTreeMap<ProvinceCode, ProvincePre2025>,
    districts_pre2025: BTreeMap<DistrictCode, DistrictPre2025>,
    communes_pre2025: HashMap<CommuneCode, CommunePre2025>,
}

impl AdminUnits {
    /// Builds the units from the JSON text of the two datasets and derives the mapping.
    pub fn parse(json_2025: &str, json_pre2025: &str) -> Result<AdminUnits, ReferenceError> {
        let mut units = AdminUnits {
            provinces_2025: BTreeMap::new(),
            communes_2025: HashMap::new(),
            provinces_pre2025: BTreeMap::new(),
            districts_pre2025: BTreeMap::new(),
            communes_pre2025: HashMap::new(),
        };
        units.load_2025(json_2025)?;
        units.load_pre2025(json_pre2025)?;
        units.derive_successor_provinces()?;
        units.derive_successors();
        Ok(units)
    }

    /// Resolves a 2025 or pre-2025 commune code to its 2025 commune.
    pub fn resolve_commune(&self, code: CommuneCode) -> Result<ResolvedCommune, CommuneError> {
        if self.communes_2025.contains_key(&code) {
            return Ok(ResolvedCommune {
                code,
                warning: None,
            });
        }
        let old = self
            .communes_pre2025
            .get(&code)
            .ok_or(CommuneError::Unknown { code })?;
        match old.successor {
            Some(s) => Ok(ResolvedCommune {
                code: s.code,
                warning: Some(EnrolmentWarning::CommuneCodeMapped { from: code }),
            }),
            None => Err(self.not_mapped(old)),
        }
    }

    fn not_mapped(&self, old: &CommunePre2025) -> CommuneError {
        let district = &self.districts_pre2025[&old.district];
        let successor = self.provinces_pre2025[&old.province].successor;
        CommuneError::NotMapped {
            code: old.code,
            name: old.name.clone(),
            district: district.name.clone(),
            province_2025: self.provinces_2025[&successor].name.clone(),
        }
    }

    pub fn province_2025(&self, code: ProvinceCode) -> Option<&Province2025> {
        self.provinces_2025.get(&code)
    }

    /// The 34 provinces in code order.
    pub fn provinces_2025(&self) -> impl Iterator<Item = &Province2025> {
        self.provinces_2025.values()
    }

    pub fn commune_2025(&self, code: CommuneCode) -> Option<&Commune2025> {
        self.communes_2025.get(&code)
    }

    pub fn province_pre2025(&self, code: ProvinceCode) -> Option<&ProvincePre2025> {
        self.provinces_pre2025.get(&code)
    }

    /// The 63 pre-2025 provinces in code order.
    pub fn provinces_pre2025(&self) -> impl Iterator<Item = &ProvincePre2025> {
        self.provinces_pre2025.values()
    }

    pub fn district_pre2025(&self, code: DistrictCode) -> Option<&DistrictPre2025> {
        self.districts_pre2025.get(&code)
    }

    pub fn commune_pre2025(&self, code: CommuneCode) -> Option<&CommunePre2025> {
        self.communes_pre2025.get(&code)
    }

    /// The pre-2025 commune a 2025 commune's code came from, or else one mapped to it by name:
    /// where its people's birth registrations (and so their citizen-ID prefixes) were made.
    pub fn predecessor(&self, code: CommuneCode) -> Option<&CommunePre2025> {
        self.communes_pre2025.get(&code).or_else(|| {
            self.communes_pre2025
                .values()
                .filter(|c| c.successor.is_some_and(|s| s.code == code))
                .min_by_key(|c| c.code)
        })
    }

    pub fn communes_2025_count(&self) -> usize {
        self.communes_2025.len()
    }

    pub fn communes_pre2025_count(&self) -> usize {
        self.communes_pre2025.len()
    }

    /// How many pre-2025 codes map, and on what basis.
    pub fn mapping_summary(&self) -> MappingSummary {
        let mut out = MappingSummary::default();
        for c in self.communes_pre2025.values() {
            match c.successor.map(|s| s.basis) {
                Some(SuccessorBasis::SameCode) => out.same_code += 1,
                Some(SuccessorBasis::SameNameInDistrict) => out.same_name_in_district += 1,
                None => out.unmapped += 1,
            }
        }
        out
    }

    fn load_2025(&mut self, text: &str) -> Result<(), ReferenceError> {
        let bad = |reason: String| ReferenceError::data(FILE_2025, reason);
        let provinces: Vec<Json2025Province> =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        for p in provinces {
            let code = ProvinceCode::parse(&p.code).map_err(|e| bad(e.to_string()))?;
            let mut communes = Vec::with_capacity(p.wards.len());
            for w in p.wards {
                let commune = Commune2025 {
                    code: CommuneCode::parse(&w.code).map_err(|e| bad(e.to_string()))?,
                    name: w.full_name,
                    province: code,
                };
                if w.province_code != p.code {
                    return Err(bad(format!(
                        "commune {} is listed under another province",
                        commune.code
                    )));
                }
                communes.push(commune.code);
                if let Some(dup) = self.communes_2025.insert(commune.code, commune) {
                    return Err(bad(format!("commune code {} listed twice", dup.code)));
                }
            }
            communes.sort();
            let province = Province2025 {
                code,
                name: p.full_name,
                communes,
            };
            if self.provinces_2025.insert(code, province).is_some() {
                return Err(bad(format!("province {code} listed twice")));
            }
        }
        Ok(())
    }

    fn load_pre2025(&mut self, text: &str) -> Result<(), ReferenceError> {
        let bad = |reason: String| ReferenceError::data(FILE_PRE2025, reason);
        let provinces: Vec<JsonPreProvince> =
            serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        for p in provinces {
            let code = ProvinceCode::parse(&p.code).map_err(|e| bad(e.to_string()))?;
            let mut districts = Vec::with_capacity(p.district.len());
            for d in p.district {
                if d.province_code != p.code {
                    return Err(bad(format!(
                        "district {} is listed under another province",
                        d.code
                    )));
                }
                districts.push(self.load_district(code, d).map_err(bad)?);
            }
            let province = ProvincePre2025 {
                code,
                name: p.full_name,
                districts,
                // Set by `derive_successor_provinces`.
                successor: code,
            };
            if self.provinces_pre2025.insert(code, province).is_some() {
                return Err(bad(format!("province {code} listed twice")));
            }
        }
        Ok(())
    }

    fn load_district(
        &mut self,
        province: ProvinceCode,
        d: JsonPreDistrict,
    ) -> Result<DistrictCode, String> {
        let code = DistrictCode::parse(&d.code)?;
        let mut communes = Vec::new();
        for w in d.ward.unwrap_or_default() {
            if w.district_code != d.code {
                return Err(format!(
                    "commune {} is listed under another district",
                    w.code
                ));
            }
            let commune = CommunePre2025 {
                code: CommuneCode::parse(&w.code).map_err(|e| e.to_string())?,
                name: w.full_name,
                district: code,
                province,
                successor: None,
            };
            communes.push(commune.code);
            if let Some(dup) = self.communes_pre2025.insert(commune.code, commune) {
                return Err(format!("commune code {} listed twice", dup.code));
            }
        }
        let district = DistrictPre2025 {
            code,
            name: d.full_name,
            province,
            communes,
        };
        if self.districts_pre2025.insert(code, district).is_some() {
            return Err(format!("district {code} listed twice"));
        }
        Ok(code)
    }

    /// Each old province's 2025 province is the province of its same-code communes; the data
    /// must agree on exactly one (no pre-2025 province was split in the 2025 merge).
    fn derive_successor_provinces(&mut self) -> Result<(), ReferenceError> {
        let mut found: BTreeMap<ProvinceCode, ProvinceCode> = BTreeMap::new();
        for old in self.communes_pre2025.values() {
            let Some(new) = self.communes_2025.get(&old.code) else {
                continue;
            };
            if let Some(prev) = found.insert(old.province, new.province) {
                if prev != new.province {
                    return Err(ReferenceError::data(
                        FILE_2025,
                        format!(
                            "pre-2025 province {} maps to both {prev} and {}",
                            old.province, new.province
                        ),
                    ));
                }
            }
        }
        for p in self.provinces_pre2025.values_mut() {
            p.successor = *found.get(&p.code).ok_or_else(|| {
                ReferenceError::data(
                    FILE_2025,
                    format!("pre-2025 province {} has no 2025 successor", p.code),
                )
            })?;
        }
        Ok(())
    }

    /// Fills `CommunePre2025::successor` by the two rules of the module documentation.
    fn derive_successors(&mut self) {
        let by_name = self.names_2025();
        let mut successors = Vec::with_capacity(self.communes_pre2025.len());
        for old in self.communes_pre2025.values() {
            let successor = if self.communes_2025.contains_key(&old.code) {
                Some(Successor {
                    code: old.code,
                    basis: SuccessorBasis::SameCode,
                })
            } else {
                self.name_heir(old, &by_name).map(|code| Successor {
                    code,
                    basis: SuccessorBasis::SameNameInDistrict,
                })
            };
            successors.push((old.code, successor));
        }
        for (code, successor) in successors {
            if let Some(c) = self.communes_pre2025.get_mut(&code) {
                c.successor = successor;
            }
        }
    }

    /// 2025 communes by (province, base name).
    fn names_2025(&self) -> HashMap<(ProvinceCode, String), Vec<CommuneCode>> {
        let mut by_name: HashMap<_, Vec<_>> = HashMap::new();
        for c in self.communes_2025.values() {
            by_name
                .entry((c.province, base_name(&c.name)))
                .or_default()
                .push(c.code);
        }
        by_name
    }

    /// The one 2025 commune of the same old district (or with a new code) that bears `old`'s name.
    fn name_heir(
        &self,
        old: &CommunePre2025,
        by_name: &HashMap<(ProvinceCode, String), Vec<CommuneCode>>,
    ) -> Option<CommuneCode> {
        let province = self.provinces_pre2025[&old.province].successor;
        let candidates = by_name.get(&(province, base_name(&old.name)))?;
        let mut same_district = candidates.iter().filter(|code| {
            self.communes_pre2025
                .get(code)
                .is_none_or(|origin| origin.district == old.district)
        });
        match (same_district.next(), same_district.next()) {
            (Some(&only), None) => Some(only),
            _ => None,
        }
    }
}

/// A unit's name without its type word, in lower case, with tone marks placed the modern way
/// ("hoà" → "hòa"), so that the old and new datasets' spellings compare equal.
fn base_name(full_name: &str) -> String {
    const TYPE_WORDS: [&str; 4] = ["thị trấn ", "phường ", "đặc khu ", "xã "];
    const TONES: [(&str, &str); 15] = [
        ("oà", "òa"),
        ("oá", "óa"),
        ("oả", "ỏa"),
        ("oã", "õa"),
        ("oạ", "ọa"),
        ("oè", "òe"),
        ("oé", "óe"),
        ("oẻ", "ỏe"),
        ("oẽ", "õe"),
        ("oẹ", "ọe"),
        ("uỳ", "ùy"),
        ("uý", "úy"),
        ("uỷ", "ủy"),
        ("uỹ", "ũy"),
        ("uỵ", "ụy"),
    ];
    let lower = full_name
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let mut name = TYPE_WORDS
        .iter()
        .find_map(|w| lower.strip_prefix(w))
        .unwrap_or(&lower)
        .to_owned();
    for (old, new) in TONES {
        if name.contains(old) {
            name = name.replace(old, new);
        }
    }
    name
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Json2025Province {
    code: String,
    full_name: String,
    wards: Vec<Json2025Ward>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Json2025Ward {
    code: String,
    full_name: String,
    province_code: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonPreProvince {
    code: String,
    full_name: String,
    district: Vec<JsonPreDistrict>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonPreDistrict {
    code: String,
    full_name: String,
    province_code: String,
    ward: Option<Vec<JsonPreWard>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct JsonPreWard {
    code: String,
    full_name: String,
    district_code: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::formats::reference::Reference;

    fn code(text: &str) -> CommuneCode {
        CommuneCode::parse(text).unwrap()
    }

    fn admin() -> &'static AdminUnits {
        &Reference::embedded().admin
    }

    #[test]
    fn both_systems_are_complete() {
        let a = admin();
        assert_eq!(a.provinces_2025().count(), 34);
        assert_eq!(a.communes_2025_count(), 3321);
        assert_eq!(a.provinces_pre2025().count(), 63);
        assert_eq!(
            a.provinces_pre2025()
                .map(|p| p.districts.len())
                .sum::<usize>(),
            696
        );
        assert_eq!(a.communes_pre2025_count(), 10_035);
        let hanoi = a.province_2025(ProvinceCode::parse("01").unwrap()).unwrap();
        assert_eq!(hanoi.name, "Thành phố Hà Nội");
        assert_eq!(hanoi.communes.len(), 126);
    }

    #[test]
    fn the_mapping_covers_what_the_data_supports() {
        let summary = admin().mapping_summary();
        assert_eq!(
            summary,
            MappingSummary {
                same_code: 3315,
                same_name_in_district: 695,
                unmapped: 6025,
            }
        );
    }

    #[test]
    fn successor_provinces_agree_with_the_cccd_table() {
        let r = Reference::embedded();
        for p in r.admin.provinces_pre2025() {
            let row = r
                .cccd
                .for_pre2025_province(p.code)
                .expect("every province has a prefix");
            assert_eq!(row.province_2025, p.successor, "{}", p.name);
        }
    }

    #[test]
    fn a_2025_code_resolves_to_itself() {
        let r = admin().resolve_commune(code("00004")).unwrap();
        assert_eq!(
            r,
            ResolvedCommune {
                code: code("00004"),
                warning: None
            }
        );
        assert_eq!(
            admin().commune_2025(code("00004")).unwrap().name,
            "Phường Ba Đình"
        );
        assert_eq!(
            admin().commune_pre2025(code("00004")).unwrap().name,
            "Phường Trúc Bạch"
        );
    }

    #[test]
    fn a_renamed_heir_is_mapped_with_a_warning() {
        let r = admin().resolve_commune(code("00016")).unwrap();
        assert_eq!(r.code, code("00008"));
        assert_eq!(
            r.warning,
            Some(EnrolmentWarning::CommuneCodeMapped {
                from: code("00016")
            })
        );
        // A town that became a commune with a brand-new code.
        let ba_che = admin().resolve_commune(code("06970")).unwrap();
        assert_eq!(admin().commune_2025(ba_che.code).unwrap().name, "Xã Ba Chẽ");
    }

    #[test]
    fn a_name_in_another_district_is_not_an_heir() {
        // Phường Chương Dương (Hoàn Kiếm) shares its name with Xã Chương Dương in the former
        // Thường Tín district; that is not its successor.
        let err = admin().resolve_commune(code("00067")).unwrap_err();
        assert!(matches!(err, CommuneError::NotMapped { .. }), "{err}");
    }

    #[test]
    fn unmappable_and_unknown_codes_are_errors() {
        let err = admin().resolve_commune(code("00001")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "pre-2025 commune code 00001 (Phường Phúc Xá, Quận Ba Đình) was merged on 2025-07-01 \
             into a commune of Thành phố Hà Nội that the reference data does not name; give its 2025 code"
        );
        let err = admin().resolve_commune(code("99999")).unwrap_err();
        assert_eq!(
            err,
            CommuneError::Unknown {
                code: code("99999")
            }
        );
    }

    #[test]
    fn predecessors_give_the_old_province() {
        let a = admin();
        assert_eq!(
            a.predecessor(code("00004")).unwrap().province.to_string(),
            "01"
        );
        // Special zone Côn Đảo has a new code and no old commune: nobody maps to it.
        assert!(a.predecessor(code("26732")).is_none());
        assert_eq!(
            a.predecessor(code("06978")).unwrap().name,
            "Thị trấn Ba Chẽ"
        );
    }

    #[test]
    fn base_names_ignore_type_case_and_tone_placement() {
        assert_eq!(
            base_name("Phường Trung Hoà"),
            base_name("phường  Trung Hòa")
        );
        assert_eq!(base_name("Thị trấn Ba Chẽ"), base_name("Xã Ba Chẽ"));
        assert_ne!(base_name("Xã Ba Chẽ"), base_name("Xã Ba Chế"));
    }
}
