//! Synthetic beneficiaries for benchmarks and tests: deterministic from a seed and an index,
//! so the same person comes out every time and any slice of a large population can be made
//! without making the rest. Citizen IDs follow the published structure (province prefix,
//! century-and-sex digit, birth year) so enrolment raises no warnings for them.

use crate::domain::command::{Enrol, NewEntitlement, RouteRequest};
use crate::domain::event::{Decision, EntitlementKind, SchemeParam};
use crate::domain::types::{
    AccountNumber, BankBin, CitizenId, CommuneCode, Date, Month, Programme, Sex,
};

const FAMILY: &[&str] = &[
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ",
    "Hồ", "Ngô", "Dương", "Lý",
];
const MIDDLE_M: &[&str] = &["Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân"];
const MIDDLE_F: &[&str] = &["Thị", "Ngọc", "Thu", "Thanh", "Kim", "Bích"];
const GIVEN_M: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân", "Sơn",
    "Thành", "Tuấn", "Việt",
];
const GIVEN_F: &[&str] = &[
    "Anh", "Châu", "Dung", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Nhung",
    "Phương", "Thảo", "Yến",
];

/// Hanoi wards (2025 codes) used when no reference data is loaded.
const COMMUNES: &[u32] = &[
    4, 8, 25, 70, 82, 91, 97, 103, 118, 127, 136, 145, 160, 166, 175, 190, 199, 226, 229, 235,
];

/// Ten banks by NAPAS BIN: Vietcombank, Agribank, BIDV, VietinBank, VBSP, Techcombank, MB,
/// ACB, Sacombank, VPBank.
pub const BANK_BINS: &[u32] = &[
    970436, 970405, 970418, 970415, 999888, 970407, 970422, 970416, 970403, 970432,
];

/// A small fast deterministic mixer (splitmix64) so each field of person `i` is independent.
fn mix(seed: u64, i: u64, field: u64) -> u64 {
    let mut z =
        seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ field.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick<T: Copy>(items: &[T], r: u64) -> T {
    items[(r % items.len() as u64) as usize]
}

/// The enrolment (with one entitlement) of synthetic person number `i`.
pub fn person(seed: u64, i: u64) -> Enrol {
    let r = |field| mix(seed, i, field);
    let sex = if r(1) % 2 == 0 {
        Sex::Male
    } else {
        Sex::Female
    };
    let year = 1930 + (r(2) % 90) as u16;
    let birth_date =
        Date::new(year, 1 + (r(3) % 12) as u8, 1 + (r(4) % 28) as u8).expect("valid date");
    let century_sex = ((year - 1900) / 100) as u64 * 2 + u64::from(sex == Sex::Female);
    // Six trailing digits from the index keep IDs unique for up to 10^6 people per seed and
    // year; the seed shifts the province prefix so several seeds do not collide.
    let serial = i % 1_000_000;
    let prefix = 1 + ((i / 1_000_000 + seed) % 96);
    let id = format!("{prefix:03}{century_sex}{:02}{serial:06}", year % 100);
    let citizen_id = CitizenId::parse(&id).expect("synthetic ID is 12 digits");
    let (middle, given) = match sex {
        Sex::Male => (MIDDLE_M, GIVEN_M),
        Sex::Female => (MIDDLE_F, GIVEN_F),
    };
    let full_name = format!(
        "{} {} {}",
        pick(FAMILY, r(5)),
        pick(middle, r(6)),
        pick(given, r(7))
    );
    let commune = CommuneCode::parse(&format!("{:05}", pick(COMMUNES, r(8)))).expect("valid code");
    let route = if r(9) % 100 < 15 {
        RouteRequest::Cash { pay_point: commune }
    } else {
        RouteRequest::Bank {
            bin: BankBin::parse(&pick(BANK_BINS, r(10)).to_string()).expect("valid BIN"),
            account_number: AccountNumber::parse(&format!("{:012}", r(11) % 1_000_000_000_000))
                .expect("valid account"),
            holder_name: full_name.to_uppercase(),
        }
    };
    let ncc = r(12) % 3 == 0;
    let (programme, scheme, params) = if ncc {
        (
            Programme::Ncc,
            "ncc.war_invalid",
            vec![SchemeParam::InjuryRatePct(21 + (r(13) % 80) as u8)],
        )
    } else {
        (Programme::Btxh, "btxh.disability_severe", vec![])
    };
    let effective_from = Month::new(2024, 1 + (r(14) % 6) as u8).expect("valid month");
    Enrol {
        citizen_id,
        full_name,
        birth_date,
        sex,
        address_line: format!("Số {} ngõ {}", 1 + r(15) % 200, 1 + r(16) % 90),
        commune,
        programme,
        decision: None,
        route: Some(route),
        entitlements: vec![NewEntitlement {
            programme,
            scheme: scheme.into(),
            params,
            kind: EntitlementKind::Monthly,
            effective_from,
            decision: Decision {
                number: format!("{}/QĐ-UBND", 100 + i % 9000),
                date: effective_from.first_day(),
                signer: "Chủ tịch UBND".into(),
            },
            payee: None,
        }],
    }
}
