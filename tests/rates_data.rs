//! Every rate in `ledger-data/rates/` equals the reference data it was built from: the CSVs of
//! `ledger-data/reference/rates/` (parsed here; copies of the project's reference tables), and for the three multiples that are only in the
//! text, the quoted clause of RULES.md. Every entry of every file must be checked by one of
//! them, so no rate can be invented.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chitra::domain::event::{RateScheduleEnacted, RateValue};
use chitra::domain::types::{Date, Month};
use chitra::formats::reference::rates::{
    load_dir, load_dir_with, parse_coefficient_milli, LoadOptions,
};

fn reference_dir() -> PathBuf {
    let rates = Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/reference/rates");
    assert!(
        rates.is_dir(),
        "reference rates not found at {} (they are vendored in the repository)",
        rates.display()
    );
    rates
}

fn rows(name: &str) -> Vec<BTreeMap<String, String>> {
    let path = reference_dir().join(name);
    let mut reader =
        csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The loaded schedules, with the set of (schedule, key) pairs not yet checked.
struct Data {
    schedules: BTreeMap<String, RateScheduleEnacted>,
    unchecked: BTreeSet<(String, String)>,
}

impl Data {
    fn load(schedules: Vec<RateScheduleEnacted>) -> Data {
        let unchecked = schedules
            .iter()
            .flat_map(|s| {
                s.entries
                    .iter()
                    .map(|e| (s.schedule.clone(), e.key.clone()))
            })
            .collect();
        let schedules = schedules
            .into_iter()
            .map(|s| (s.schedule.clone(), s))
            .collect();
        Data {
            schedules,
            unchecked,
        }
    }

    fn value(&mut self, schedule: &str, key: &str) -> RateValue {
        let s = self
            .schedules
            .get(schedule)
            .unwrap_or_else(|| panic!("no schedule {schedule}"));
        let e = s
            .entries
            .iter()
            .find(|e| e.key == key)
            .unwrap_or_else(|| panic!("{schedule} has no {key}"));
        self.unchecked
            .remove(&(schedule.to_owned(), key.to_owned()));
        e.value
    }

    fn expect_amount(&mut self, schedule: &str, key: &str, text: &str) {
        let amount: i64 = text
            .parse()
            .unwrap_or_else(|_| panic!("reference amount {text:?}"));
        match self.value(schedule, key) {
            RateValue::Amount(v) => assert_eq!(v.0, amount, "{schedule} {key}"),
            other => panic!("{schedule} {key} is {other:?}, expected an amount"),
        }
    }

    fn expect_coefficient(&mut self, schedule: &str, key: &str, text: &str) {
        let milli = parse_coefficient_milli(text).unwrap();
        assert_eq!(
            self.value(schedule, key),
            RateValue::CoefficientMilli(milli),
            "{schedule} {key}"
        );
    }

    fn expect_dates(&self, schedule: &str, applies_from: &str, in_force: &str) {
        let s = &self.schedules[schedule];
        assert_eq!(
            s.applies_from,
            Month::parse(&applies_from[..7]).unwrap(),
            "{schedule} applies_from"
        );
        assert_eq!(
            s.enacted_on,
            Date::parse(in_force).unwrap(),
            "{schedule} enacted_on"
        );
    }
}

fn rates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates")
}

/// Which schedule holds each reference row of base-levels.csv (by instrument), and its key.
fn base_level_target(program: &str, instrument: &str) -> Option<(&'static str, &'static str)> {
    Some(match (program, instrument) {
        ("BTXH", "ND 20/2021/ND-CP") => ("btxh-nd20-2021", "btxh.base"),
        ("BTXH", "ND 76/2024/ND-CP") => ("btxh-nd76-2024", "btxh.base"),
        ("BTXH", "ND 335/2026/ND-CP (reported)") => ("btxh-nd335-2026", "btxh.base"),
        ("NCC", "ND 75/2021/ND-CP") => ("ncc-nd75-2021", "ncc.standard"),
        ("NCC", "ND 55/2023/ND-CP") => ("ncc-nd55-2023", "ncc.standard"),
        ("NCC", "ND 77/2024/ND-CP") => ("ncc-nd77-2024", "ncc.standard"),
        ("HTXH", "ND 176/2025/ND-CP") => ("htxh-nd176-2025", "htxh.social_pension"),
        ("HTXH", "ND 335/2026/ND-CP (reported)") => ("htxh-nd335-2026", "htxh.social_pension"),
        ("BASE_SALARY", "ND 24/2023/ND-CP") => ("ncc-base-salary-nd24-2023", "ncc.base_salary"),
        ("BASE_SALARY", "ND 73/2024/ND-CP") => ("ncc-base-salary-nd73-2024", "ncc.base_salary"),
        _ => return None,
    })
}

/// The keys of each row of ncc-annex1.csv, in its order; `a+b` and `a/b` cells hold two values.
const ANNEX1_KEYS: &[&[&str]] = &[
    &["ncc.annex1.1.1.full_time", "ncc.annex1.1.1.seniority_unit"],
    &["ncc.annex1.1.1.not_full_time"],
    &["ncc.annex1.1.2"],
    &["ncc.annex1.extra_care"],
    &["ncc.annex1.2.1"],
    &["ncc.annex1.2.2"],
    &["ncc.annex1.3.1"],
    &["ncc.annex1.3.2"],
    &["ncc.annex1.3.3"],
    &["ncc.annex1.3.5"],
    &["ncc.annex1.4.allowance", "ncc.annex1.4.supplement"],
    &["ncc.annex1.4.carer"],
    &["ncc.annex1.5"],
    &[],
    &[],
    &["ncc.annex1.6.1.supplement_81"],
    &["ncc.annex1.6.1.supplement_especially_severe"],
    &["ncc.annex1.6.1.carer_81"],
    &["ncc.annex1.6.1.carer_especially_severe"],
    &["ncc.annex1.6.2"],
    &["ncc.annex1.7.1.41_50"],
    &["ncc.annex1.7.1.51_60"],
    &["ncc.annex1.7.1.61_70"],
    &["ncc.annex1.7.1.71_80"],
    &["ncc.annex1.7.1.81_90"],
    &["ncc.annex1.7.1.91_100"],
    &[
        "ncc.annex1.7.1.supplement_81",
        "ncc.annex1.7.1.supplement_especially_severe",
    ],
    &[
        "ncc.annex1.7.1.carer_81",
        "ncc.annex1.7.1.carer_especially_severe",
    ],
    &["ncc.annex1.8.1.21_40"],
    &["ncc.annex1.8.1.41_60"],
    &["ncc.annex1.8.1.61_80"],
    &["ncc.annex1.8.1.81_100"],
    &[
        "ncc.annex1.8.1.supplement_81",
        "ncc.annex1.8.1.supplement_especially_severe",
    ],
    &["ncc.annex1.8.1.carer_81"],
    &["ncc.annex1.8.2.61_80"],
    &["ncc.annex1.8.2.81_100"],
    &["ncc.annex1.9"],
    &["ncc.annex1.10.1"],
    &["ncc.annex1.10.2"],
    &["ncc.annex1.11.1"],
    &["ncc.annex1.11.2"],
];

const NCC_DECREES: [(&str, &str); 3] = [
    ("ncc-nd75-2021", "nd75_2021_from_2021-07-01"),
    ("ncc-nd55-2023", "nd55_2023_from_2023-07-01"),
    ("ncc-nd77-2024", "nd77_2024_from_2024-07-01"),
];

fn check_base_levels(data: &mut Data, include_low: bool) {
    for r in rows("base-levels.csv") {
        if r["confidence"] == "L" && !include_low {
            continue;
        }
        let Some((schedule, key)) = base_level_target(&r["program"], &r["instrument"]) else {
            assert!(
                r["applies_from"].is_empty() || r["confidence"] == "L",
                "reference row {r:?} has no schedule"
            );
            continue;
        };
        data.expect_amount(schedule, key, &r["amount_vnd"]);
        let in_force = if r["in_force_from"].is_empty() {
            &r["applies_from"]
        } else {
            &r["in_force_from"]
        };
        data.expect_dates(schedule, &r["applies_from"], in_force);
    }
}

fn check_annex1(data: &mut Data) {
    let annex1 = rows("ncc-annex1.csv");
    assert_eq!(
        annex1.len(),
        ANNEX1_KEYS.len(),
        "ncc-annex1.csv changed shape"
    );
    for (row, keys) in annex1.iter().zip(ANNEX1_KEYS) {
        for (schedule, column) in NCC_DECREES {
            let cell = row[column].replace("/unit", "");
            if keys.is_empty() {
                assert!(cell.starts_with("Annex"), "{cell}");
                continue;
            }
            let values: Vec<&str> = cell.split(['+', '/']).collect();
            assert_eq!(values.len(), keys.len(), "{row:?}");
            for (key, value) in keys.iter().zip(values) {
                data.expect_amount(schedule, key, value);
            }
        }
    }
}

fn check_annex2_3(data: &mut Data) {
    let war = rows("war-invalid-rates.csv");
    assert_eq!(war.len(), 160);
    for r in war {
        let annex = match r["table"].as_str() {
            "war_invalid" => "ncc.annex2",
            "war_invalid_B" => "ncc.annex3",
            other => panic!("unknown table {other}"),
        };
        for (schedule, column) in NCC_DECREES {
            data.expect_amount(schedule, &format!("{annex}.{}", r["rate_pct"]), &r[column]);
        }
    }
}

fn check_coefficients(data: &mut Data) {
    for r in rows("btxh-coefficients.csv") {
        let key = format!("btxh.coef.{}.{}", r["group"], r["age_band"]);
        data.expect_coefficient("btxh-nd20-2021", &key, &r["coefficient"]);
    }
    // Multiples stated only in the text of RULES.md:
    // §1.3 "Funeral support ... (Art 11) | at least 20 × base".
    data.expect_coefficient("btxh-nd20-2021", "btxh.coef.funeral_support.any", "20");
    // §2.5 "That rate is 10 × base salary in the month of death (SI Law 2014 Art 66)".
    data.expect_coefficient(
        "ncc-base-salary-nd24-2023",
        "ncc.funeral.base_salary_multiple",
        "10",
    );
    // §1.3, each row quoted: "Community foster care of a 5(1) child (Art 20(1)) | 2.5 under
    // 4; 1.5 aged 4–<16 (also 1.5 for a 5(5)(d) elderly person)"; "pregnant or raising one
    // child under 36 months (Art 20(2)(a)) | 1.5 (2.0 if pregnant *and* raising ..., or raising
    // two or more ...)"; "Care allowance ... (Art 20(2)(c)) | 1.0 per disabled person"; "Foster
    // household ... (Art 20(2)(d)) | 1.5 per adult; 2.5 per child"; "Living in a
    // social-protection facility (Art 25(1)) | 5.0 under 4; 4.0 aged 4 or older"; "Death in a
    // facility (Art 25(3)) | at least 50 × base".
    for (key, text) in [
        ("community_foster_care.under_4", "2.5"),
        ("community_foster_care.4_to_16", "1.5"),
        ("community_foster_care.elderly", "1.5"),
        ("disabled_parent.one", "1.5"),
        ("disabled_parent.two", "2.0"),
        ("care_allowance.any", "1.0"),
        ("foster_household.adult", "1.5"),
        ("foster_household.child", "2.5"),
        ("facility_care.under_4", "5.0"),
        ("facility_care.4_plus", "4.0"),
        ("facility_death.any", "50"),
    ] {
        let key = format!("btxh.coef.{key}");
        data.expect_coefficient("btxh-nd20-2021-art20-25", &key, text);
    }
    // §2.4 "Convalescence at home ... 0.9 × standard" and "in a centre | 1.8 × standard".
    data.expect_coefficient("ncc-nd77-2024", "ncc.annex4.convalescence_home", "0.9");
    data.expect_coefficient("ncc-nd77-2024", "ncc.annex4.convalescence_centre", "1.8");
}

#[test]
fn every_default_rate_equals_the_reference_data() {
    let mut data = Data::load(load_dir(&rates_dir()).expect("default rate files load"));
    assert_eq!(data.schedules.len(), 9);
    check_base_levels(&mut data, false);
    check_annex1(&mut data);
    check_annex2_3(&mut data);
    check_coefficients(&mut data);
    assert!(
        data.unchecked.is_empty(),
        "rates not traced to the reference: {:?}",
        data.unchecked
    );
}

#[test]
fn provisional_rates_are_kept_apart_and_equal_the_reference() {
    let schedules = load_dir_with(
        &rates_dir().join("provisional"),
        LoadOptions {
            allow_provisional: true,
        },
    )
    .unwrap();
    let mut data = Data::load(schedules);
    for r in rows("base-levels.csv")
        .iter()
        .filter(|r| r["confidence"] == "L")
    {
        if let Some((schedule, key)) = base_level_target(&r["program"], &r["instrument"]) {
            data.expect_amount(schedule, key, &r["amount_vnd"]);
        }
    }
    assert!(data.unchecked.is_empty(), "{:?}", data.unchecked);
    let refused = load_dir(&rates_dir().join("provisional")).unwrap_err();
    assert!(refused.message.contains("provisional"), "{refused}");
}

#[test]
fn load_order_is_by_enactment_and_digests_are_of_the_files() {
    let schedules = load_dir(&rates_dir()).unwrap();
    let order: Vec<&str> = schedules.iter().map(|s| s.schedule.as_str()).collect();
    assert_eq!(
        order,
        [
            "btxh-nd20-2021",
            "btxh-nd20-2021-art20-25",
            "ncc-nd75-2021",
            "ncc-base-salary-nd24-2023",
            "ncc-nd55-2023",
            "btxh-nd76-2024",
            "ncc-base-salary-nd73-2024",
            "ncc-nd77-2024",
            "htxh-nd176-2025",
        ]
    );
    for s in &schedules {
        let bytes = std::fs::read(rates_dir().join(format!("{}.csv", s.schedule))).unwrap();
        assert_eq!(s.source_digest, *blake3::hash(&bytes).as_bytes());
    }
}

/// The schedules compiled into the binary (`rates load` without a folder, the demo) are
/// exactly the enacted files of `ledger-data/rates/`: adding a file without embedding it, or
/// editing one, is caught here.
#[test]
fn the_embedded_schedules_are_the_rate_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates");
    let from_files = chitra::formats::reference::rates::load_dir(&dir).unwrap();
    let embedded = chitra::formats::reference::rates::embedded().unwrap();
    assert_eq!(embedded, from_files);
}
