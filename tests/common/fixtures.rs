//! Domain values for the tests, each written once: principals, months and dates from text,
//! decisions, payment routes, enrolments with their entitlement decisions, and the real rate
//! schedules of `ledger-data/rates/`. Pure values: nothing here touches a ledger or a disk
//! except `schedules`, which reads the versioned rate files.

use std::path::Path;
use std::sync::OnceLock;

use chitra::domain::command::{Enrol, NewEntitlement, RouteRequest};
use chitra::domain::event::{Decision, EntitlementKind, RateScheduleEnacted, SchemeParam};
use chitra::domain::types::{
    AccountNumber, BankBin, CitizenId, CommuneCode, Date, Month, Principal, Programme, Sex,
};

/// A principal from its text (`officer:lan`, `bank:970436`).
pub fn p(name: &str) -> Principal {
    Principal::parse(name).unwrap_or_else(|e| panic!("{name:?}: {e}"))
}

pub fn m(s: &str) -> Month {
    Month::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

pub fn d(s: &str) -> Date {
    Date::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
}

/// The commune every fixture lives in (Phường Ba Đình, 2025 code).
pub const COMMUNE: &str = "00004";

pub fn commune() -> CommuneCode {
    CommuneCode::parse(COMMUNE).unwrap()
}

/// The funding account batches are opened on (the debtor account of every bank file).
pub const FUNDING_ACCOUNT: &str = "9527111222333";

/// A signed decision numbered `number`, dated before any month the tests pay.
pub fn decision(number: &str) -> Decision {
    Decision {
        number: number.into(),
        date: d("2020-01-01"),
        signer: "Chủ tịch UBND".into(),
    }
}

/// A bank route to `account` at the bank with NAPAS BIN `bin`.
pub fn bank(bin: &str, account: &str, holder: &str) -> RouteRequest {
    RouteRequest::Bank {
        bin: BankBin::parse(bin).unwrap(),
        account_number: AccountNumber::parse(account).unwrap(),
        holder_name: holder.into(),
    }
}

/// Cash at the fixtures' commune.
pub fn cash() -> RouteRequest {
    RouteRequest::Cash {
        pay_point: commune(),
    }
}

/// The programme a scheme code belongs to (`ncc.war_invalid` is NCC).
pub fn programme_of(scheme: &str) -> Programme {
    Programme::parse(scheme.split('.').next().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{scheme:?}: {e}"))
}

/// A monthly entitlement decision for `scheme` from `from`, numbered `1/QĐ`.
pub fn monthly(scheme: &str, params: Vec<SchemeParam>, from: &str) -> NewEntitlement {
    NewEntitlement {
        programme: programme_of(scheme),
        scheme: scheme.into(),
        params,
        kind: EntitlementKind::Monthly,
        effective_from: m(from),
        decision: decision("1/QĐ"),
        payee: None,
    }
}

/// A one-off decision for `scheme` paid for `month`.
pub fn one_off(scheme: &str, month: &str) -> NewEntitlement {
    NewEntitlement {
        kind: EntitlementKind::OneOff { month: m(month) },
        ..monthly(scheme, vec![], month)
    }
}

/// The usual entitlement of the batch tests: BTXH severe disability from June 2024.
pub fn severe_disability() -> NewEntitlement {
    monthly("btxh.disability_severe", vec![], "2024-06")
}

/// An enrolment of the person with this citizen ID (whose century digit gives the sex), in
/// the programme of the first entitlement (BTXH when there is none), paid by `route`.
pub fn enrolment(
    citizen_id: &str,
    name: &str,
    birth: &str,
    route: Option<RouteRequest>,
    entitlements: Vec<NewEntitlement>,
) -> Enrol {
    let citizen_id = CitizenId::parse(citizen_id).unwrap();
    Enrol {
        sex: if citizen_id.century_sex_digit() % 2 == 1 {
            Sex::Female
        } else {
            Sex::Male
        },
        citizen_id,
        full_name: name.into(),
        birth_date: d(birth),
        address_line: "Số 1 phố Huế".into(),
        commune: commune(),
        programme: entitlements
            .first()
            .map_or(Programme::Btxh, |e| e.programme),
        decision: None,
        route,
        entitlements,
    }
}

/// Synthetic person `i` of `seed` (`dev::synth`), moved to BTXH with one severe-disability
/// entitlement from June 2024 and the route synth gave them.
pub fn synthetic(seed: u64, i: u64) -> Enrol {
    let mut e = chitra::dev::synth::person(seed, i);
    e.programme = Programme::Btxh;
    e.entitlements = vec![severe_disability()];
    e
}

/// An amount as documents and messages write it: `1,234,000`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The rate schedules of `ledger-data/rates/`, in the order they were enacted.
pub fn schedules() -> Vec<RateScheduleEnacted> {
    loaded().to_vec()
}

/// The schedule with this id.
pub fn schedule(id: &str) -> RateScheduleEnacted {
    loaded()
        .iter()
        .find(|s| s.schedule == id)
        .unwrap_or_else(|| panic!("no schedule {id}"))
        .clone()
}

/// The rate files, read once per test process: property tests build thousands of worlds.
fn loaded() -> &'static [RateScheduleEnacted] {
    static LOADED: OnceLock<Vec<RateScheduleEnacted>> = OnceLock::new();
    LOADED.get_or_init(|| {
        chitra::formats::reference::rates::load_dir(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("ledger-data/rates"),
        )
        .expect("rate files load")
    })
}

/// Every schedule except the July 2024 ones (ND 76/2024, ND 77/2024), which the scenarios load
/// late, after July was paid.
pub const BEFORE_JULY_2024: &[&str] = &[
    "btxh-nd20-2021",
    "ncc-nd75-2021",
    "ncc-base-salary-nd24-2023",
    "ncc-nd55-2023",
];

pub const JULY_2024: &[&str] = &[
    "btxh-nd76-2024",
    "ncc-nd77-2024",
    "ncc-base-salary-nd73-2024",
];

/// The example configuration of `ledger-data/config/example.toml` (the illustrative province's
/// paying departments), which releases need to write payment files.
pub fn settings() -> chitra::app::config::Settings {
    static SETTINGS: OnceLock<chitra::app::config::Settings> = OnceLock::new();
    SETTINGS
        .get_or_init(|| {
            chitra::app::config::Settings::parse(
                include_str!("../../ledger-data/config/example.toml"),
                "ledger-data/config/example.toml",
            )
            .expect("the example configuration is valid")
        })
        .clone()
}
