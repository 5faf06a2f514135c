//! The configuration the demo and the benchmarks write for their synthetic province: its
//! paying departments named after the province as the 2025 reorganisation assigns them (NCC to
//! the Department of Home Affairs, BTXH to the Department of Health, the social pension to a
//! commune), with placeholder budget-unit codes. Development-only: a real ledger's
//! `chitra.toml` is written by its operator.

use crate::app::config::Settings;
use crate::domain::types::ProvinceCode;
use crate::formats::reference::Reference;

/// The NAPAS BIN of the bank holding the departments' funding accounts (BIDV), and the
/// commune's (Agribank).
const DEPARTMENT_BANK_BIN: &str = "970418";
const COMMUNE_BANK_BIN: &str = "970405";

/// `chitra.toml` for the synthetic province `code`.
pub fn demo_config(code: ProvinceCode) -> String {
    let reference = Reference::embedded();
    let province = reference.admin.province_2025(code);
    let name = province.map(|p| lower_first(&p.name)).unwrap_or_default();
    let commune = province
        .and_then(|p| p.communes.first())
        .and_then(|c| reference.admin.commune_2025(*c))
        .map(|c| c.name.clone())
        .unwrap_or_else(|| "xã".to_owned());
    format!(
        "# Written by `chitra demo` for its synthetic province; budget-unit codes and\n\
         # funding accounts are placeholders.\n\
         province = \"{code}\"\n\n\
         [departments.ncc]\n\
         name = \"Sở Nội vụ {name}\"\n\
         budget_unit_code = \"DVQHNS-NCC-{code}\"\n\
         funding_bank = \"{DEPARTMENT_BANK_BIN}\"\n\
         funding_account = \"3761000000001\"\n\n\
         [departments.btxh]\n\
         name = \"Sở Y tế {name}\"\n\
         budget_unit_code = \"DVQHNS-BTXH-{code}\"\n\
         funding_bank = \"{DEPARTMENT_BANK_BIN}\"\n\
         funding_account = \"3761000000002\"\n\n\
         [departments.htxh]\n\
         name = \"UBND {commune}\"\n\
         budget_unit_code = \"DVQHNS-HTXH-{code}\"\n\
         funding_bank = \"{COMMUNE_BANK_BIN}\"\n"
    )
}

/// The settings of `demo_config(code)`.
pub fn demo_settings(code: ProvinceCode) -> Settings {
    Settings::parse(&demo_config(code), "the demo configuration")
        .expect("the demo configuration is valid")
}

/// "Thành phố Hà Nội" → "thành phố Hà Nội", as the name reads inside a department's name.
fn lower_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_gets_a_valid_configuration() {
        for p in Reference::embedded().admin.provinces_2025() {
            let s = demo_settings(p.code);
            assert_eq!(s.province, Some(p.code));
            assert_eq!(s.departments.len(), 3, "{}", p.name);
        }
        let hanoi = demo_settings(ProvinceCode::parse("01").unwrap());
        let ncc = &hanoi.departments[&crate::domain::types::Programme::Ncc];
        assert_eq!(ncc.name, "Sở Nội vụ thành phố Hà Nội");
    }
}
