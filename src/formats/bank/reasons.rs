//! ISO 20022 `ExternalStatusReason1Code`, from the embedded copy of the ISO External Code Sets
//! (`ledger-data/reference/iso20022/external_status_reason_code.json`, byte-identical to
//! `reference/iso20022/codesets/`). A rejection whose reason is not in this list is refused.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

const STATUS_REASON_JSON: &str =
    include_str!("../../../ledger-data/reference/iso20022/external_status_reason_code.json");

#[derive(Deserialize)]
struct CodeSet {
    codes: HashMap<String, String>,
}

fn codes() -> &'static HashMap<String, String> {
    static CODES: OnceLock<HashMap<String, String>> = OnceLock::new();
    CODES.get_or_init(|| {
        serde_json::from_str::<CodeSet>(STATUS_REASON_JSON)
            .expect("embedded status reason code set is valid JSON")
            .codes
    })
}

/// Whether `code` is an ISO external status reason code (AC01, AC04, MD07, ...).
pub fn is_status_reason(code: &str) -> bool {
    codes().contains_key(code)
}

/// The code set's description of a reason code.
pub fn reason_description(code: &str) -> Option<&'static str> {
    codes().get(code).map(String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_the_benefit_relevant_reasons() {
        for code in ["AC01", "AC04", "AC06", "AM04", "BE01", "MD07", "NARR"] {
            assert!(is_status_reason(code), "{code}");
        }
        assert!(!is_status_reason("ZZ99"));
        assert!(!is_status_reason("ac04"));
        assert!(reason_description("MD07")
            .unwrap()
            .to_lowercase()
            .contains("deceased"));
    }
}
