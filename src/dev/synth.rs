//! Synthetic beneficiaries for benchmarks, demos and tests, made realistic from the reference
//! data: the real 2025 communes of one province, real banks weighted the way social payments
//! are made, about 15% paid in cash at the commune pay point, a mix of NCC, BTXH and HTXH
//! schemes with ages, parameters and effective months that fit each scheme, and citizen IDs
//! with the published structure (so enrolment raises no warnings).
//!
//! Deterministic from (seed, index): the same person comes out every time, and any slice of a
//! large population can be made without making the rest. `person` is on the append benchmark's
//! hot path (a million calls), so everything derived from the reference data is computed once
//! per province and each person costs a few small string formats.

use std::io;
use std::sync::OnceLock;

use crate::domain::command::{Enrol, NewEntitlement, PayeeRow, RouteRequest};
use crate::domain::event::{Decision, EntitlementKind, SchemeParam};
use crate::domain::types::{
    days_in_month, AccountNumber, BankBin, CitizenId, CommuneCode, Date, Month, Programme,
    ProvinceCode, Sex,
};
use crate::formats::reference::Reference;
use crate::formats::roster::{RosterRow, RosterWriteError, RosterWriter};

/// The province `person` draws from: Hà Nội.
pub const DEFAULT_PROVINCE: &str = "01";

/// The ten banks synthetic people are paid through, by NAPAS BIN: Agribank, VBSP, Vietcombank,
/// BIDV, VietinBank, LPBank (formerly LienVietPostBank), MB, Techcombank, Sacombank, VPBank.
pub const BANK_BINS: &[u32] = &[
    970405, 999888, 970436, 970418, 970415, 970449, 970422, 970407, 970403, 970432,
];

/// Per bank of `BANK_BINS`: its weight (percent of bank-paid people) and the length of its
/// account numbers. The state-owned banks and VBSP carry most social payments.
const BANK_MIX: [(u32, u32, u32); 10] = [
    (970405, 30, 13),
    (999888, 15, 14),
    (970436, 12, 10),
    (970418, 12, 12),
    (970415, 12, 12),
    (970449, 7, 12),
    (970422, 4, 13),
    (970407, 3, 14),
    (970403, 3, 12),
    (970432, 2, 9),
];

/// Percent of people paid in cash at their commune's pay point.
const CASH_PCT: u64 = 15;

/// Percent of people with especially severe disability whose household caring for them is
/// paid the care allowance (ND 20/2021 Art 20(2)(c)), and of children without support living
/// with a foster household (Art 20(2)(d)); `Province::roster_rows`.
const CARER_PCT: u64 = 30;
const FOSTER_PCT: u64 = 25;

/// The month ages are counted at and the last effective month generated.
const AS_OF: (u16, u8) = (2025, 12);
/// The first effective month generated: decisions of the two years before `AS_OF`.
const FIRST_EFFECTIVE: (u16, u8) = (2024, 1);
/// The social pension exists from 2025-07 (ND 176/2025).
const SOCIAL_PENSION_FROM: (u16, u8) = (2025, 7);
/// Since 2025-07 the commune chairman signs BTXH decisions (two-level government).
const COMMUNE_DECISIONS_FROM: (u16, u8) = (2025, 7);
/// Since 2025-03 the Department of Home Affairs handles NCC (ND 25/2025).
const HOME_AFFAIRS_FROM: (u16, u8) = (2025, 3);

/// Serial numbers (the last six ID digits) per block of people.
const SERIALS: u64 = 1_000_000;

const FAMILY: [(&str, u32); 16] = [
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 40),
    ("Huỳnh", 20),
    ("Phan", 45),
    ("Vũ", 30),
    ("Võ", 15),
    ("Đặng", 20),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
];
const MIDDLE_M: [&str; 10] = [
    "Văn", "Văn", "Văn", "Hữu", "Đức", "Minh", "Quang", "Xuân", "Công", "Đình",
];
const MIDDLE_F: [&str; 10] = [
    "Thị", "Thị", "Thị", "Thị", "Ngọc", "Thu", "Thanh", "Kim", "Bích", "Hồng",
];
const GIVEN_M: [&str; 24] = [
    "An", "Bình", "Cường", "Dũng", "Hải", "Hùng", "Khánh", "Long", "Nam", "Phúc", "Quân", "Sơn",
    "Thành", "Tuấn", "Việt", "Hòa", "Thắng", "Lợi", "Tiến", "Trung", "Kiên", "Hiếu", "Tâm",
    "Phong",
];
const GIVEN_F: [&str; 24] = [
    "Anh", "Châu", "Dung", "Hà", "Hằng", "Hoa", "Hương", "Lan", "Linh", "Mai", "Nga", "Nhung",
    "Phương", "Thảo", "Yến", "Loan", "Huệ", "Tuyết", "Xuân", "Liên", "Thủy", "Vân", "Oanh", "Hạnh",
];
const HAMLETS: [&str; 10] = [
    "Đông",
    "Đoài",
    "Nam",
    "Bắc",
    "Trung",
    "Thượng",
    "Hạ",
    "Chùa",
    "Mới",
    "Cầu",
];

/// How a scheme's parameters are drawn.
#[derive(Clone, Copy)]
enum Params {
    None,
    /// Injury rate from weighted bands; `especially_severe` for some rates of 81 or more.
    Injury {
        bands: &'static [(u8, u8, u32)],
        especially_severe: bool,
    },
    Martyrs,
    Children,
    /// A survivor living alone now and then.
    SometimesAlone,
    /// A disabled mother: children under 36 months, or pregnant (ND 20/2021 Art 20(2)(a)).
    Parent,
}

/// One scheme's share of the caseload and the shape of its people.
struct Profile {
    scheme: &'static str,
    programme: Programme,
    /// Share per 10,000 people.
    weight: u32,
    male_pct: u64,
    /// Age bands at `AS_OF`: from and to (inclusive) years, weight.
    ages: &'static [(u8, u8, u32)],
    /// The age in months from which the scheme applies, and before which it ends.
    qualifies: (u32, Option<u32>),
    params: Params,
}

const INVALID_RATES: &[(u8, u8, u32)] = &[(21, 40, 45), (41, 60, 28), (61, 80, 15), (81, 100, 12)];
const SICK_RATES: &[(u8, u8, u32)] = &[(41, 60, 50), (61, 80, 30), (81, 100, 20)];
const ORANGE_RATES: &[(u8, u8, u32)] = &[(21, 40, 30), (41, 60, 30), (61, 80, 25), (81, 100, 15)];

const fn years(y: u32) -> u32 {
    y * 12
}

const fn btxh(
    scheme: &'static str,
    weight: u32,
    male_pct: u64,
    ages: &'static [(u8, u8, u32)],
    qualifies: (u32, Option<u32>),
) -> Profile {
    Profile {
        scheme,
        programme: Programme::Btxh,
        weight,
        male_pct,
        ages,
        qualifies,
        params: Params::None,
    }
}

const fn ncc(
    scheme: &'static str,
    weight: u32,
    male_pct: u64,
    ages: &'static [(u8, u8, u32)],
    params: Params,
) -> Profile {
    Profile {
        scheme,
        programme: Programme::Ncc,
        weight,
        male_pct,
        ages,
        qualifies: (0, None),
        params,
    }
}

/// The caseload mix: about 62% BTXH, 29% NCC and 9% social pension, in line with Hà Nội's
/// ~203,000 social-protection entries and ~78,900 meritorious-person files. Children's schemes
/// get children (a month old at least), the elderly schemes people past their threshold age,
/// heroic mothers the very old.
const PROFILES: [Profile; 38] = [
    btxh(
        "btxh.child_no_support",
        200,
        50,
        &[(0, 3, 30), (4, 15, 70)],
        (1, Some(years(16))),
    ),
    btxh(
        "btxh.youth_studying",
        100,
        50,
        &[(16, 21, 1)],
        (years(16), Some(years(22))),
    ),
    btxh(
        "btxh.child_hiv_poor",
        40,
        50,
        &[(0, 15, 1)],
        (1, Some(years(16))),
    ),
    Profile {
        params: Params::Children,
        ..btxh(
            "btxh.single_parent_poor",
            300,
            12,
            &[(22, 50, 1)],
            (years(18), None),
        )
    },
    btxh(
        "btxh.elderly_poor_alone",
        350,
        35,
        &[(60, 79, 65), (80, 98, 35)],
        (years(60), None),
    ),
    btxh(
        "btxh.elderly_75_difficult_area",
        100,
        40,
        &[(75, 79, 1)],
        (years(75), Some(years(80))),
    ),
    btxh(
        "btxh.elderly_80_no_pension",
        2100,
        38,
        &[(80, 84, 45), (85, 89, 30), (90, 94, 17), (95, 102, 8)],
        (years(80), None),
    ),
    btxh(
        "btxh.elderly_poor_community_care",
        60,
        35,
        &[(60, 95, 1)],
        (years(60), None),
    ),
    btxh(
        "btxh.disability_especially_severe",
        900,
        52,
        &[(2, 15, 15), (16, 59, 45), (60, 95, 40)],
        (1, None),
    ),
    btxh(
        "btxh.disability_severe",
        1600,
        52,
        &[(2, 15, 10), (16, 59, 50), (60, 95, 40)],
        (1, None),
    ),
    btxh(
        "btxh.child_under3_difficult_area",
        50,
        50,
        &[(0, 2, 1)],
        (1, Some(years(3))),
    ),
    btxh("btxh.hiv_poor", 100, 65, &[(20, 60, 1)], (years(16), None)),
    Profile {
        programme: Programme::Htxh,
        ..btxh(
            "htxh.social_pension",
            900,
            42,
            &[(75, 79, 40), (80, 89, 45), (90, 100, 15)],
            (years(75), None),
        )
    },
    ncc(
        "ncc.martyr_relative",
        850,
        25,
        &[(65, 79, 30), (80, 89, 45), (90, 100, 25)],
        Params::Martyrs,
    ),
    ncc("ncc.heroic_mother", 50, 0, &[(95, 108, 1)], Params::None),
    ncc("ncc.hero", 50, 92, &[(70, 95, 1)], Params::None),
    ncc(
        "ncc.war_invalid",
        800,
        95,
        &[(55, 69, 30), (70, 79, 40), (80, 95, 30)],
        Params::Injury {
            bands: INVALID_RATES,
            especially_severe: true,
        },
    ),
    ncc(
        "ncc.war_invalid_b",
        150,
        95,
        &[(65, 95, 1)],
        Params::Injury {
            bands: INVALID_RATES,
            especially_severe: false,
        },
    ),
    ncc(
        "ncc.sick_soldier",
        200,
        95,
        &[(60, 95, 1)],
        Params::Injury {
            bands: SICK_RATES,
            especially_severe: false,
        },
    ),
    ncc(
        "ncc.agent_orange",
        450,
        90,
        &[(55, 90, 1)],
        Params::Injury {
            bands: ORANGE_RATES,
            especially_severe: false,
        },
    ),
    ncc("ncc.imprisoned", 100, 70, &[(70, 100, 1)], Params::None),
    ncc(
        "ncc.resistance_helper",
        150,
        60,
        &[(75, 100, 1)],
        Params::None,
    ),
    ncc(
        "ncc.invalid_survivor",
        50,
        15,
        &[(50, 95, 1)],
        Params::SometimesAlone,
    ),
    // The rest of the catalogue's roster schemes, rarer (350 per 10,000 in all).
    Profile {
        params: Params::Parent,
        ..btxh(
            "btxh.disabled_parent",
            30,
            0,
            &[(18, 42, 1)],
            (years(18), None),
        )
    },
    btxh(
        "btxh.facility_care",
        40,
        55,
        &[(0, 15, 40), (60, 95, 60)],
        (1, None),
    ),
    ncc(
        "ncc.activist_pre1945",
        10,
        70,
        &[(98, 105, 1)],
        Params::None,
    ),
    ncc(
        "ncc.activist_pre_uprising",
        10,
        70,
        &[(95, 102, 1)],
        Params::None,
    ),
    ncc(
        "ncc.survivor_pre1945",
        10,
        20,
        &[(70, 95, 1)],
        Params::SometimesAlone,
    ),
    ncc(
        "ncc.survivor_pre_uprising",
        10,
        20,
        &[(70, 95, 1)],
        Params::SometimesAlone,
    ),
    ncc(
        "ncc.martyr_spouse_remarried",
        20,
        10,
        &[(70, 95, 1)],
        Params::None,
    ),
    ncc(
        "ncc.heroic_mother_carer",
        20,
        30,
        &[(45, 75, 1)],
        Params::None,
    ),
    ncc(
        "ncc.war_invalid_carer",
        60,
        30,
        &[(45, 80, 1)],
        Params::None,
    ),
    ncc(
        "ncc.sick_soldier_carer",
        20,
        30,
        &[(45, 80, 1)],
        Params::None,
    ),
    ncc(
        "ncc.agent_orange_carer",
        40,
        30,
        &[(40, 75, 1)],
        Params::None,
    ),
    ncc(
        "ncc.agent_orange_child",
        40,
        55,
        &[(25, 55, 1)],
        Params::Injury {
            bands: &[(61, 80, 60), (81, 100, 40)],
            especially_severe: false,
        },
    ),
    ncc("ncc.medal_pre1945", 10, 60, &[(95, 105, 1)], Params::None),
    ncc("ncc.education", 20, 60, &[(70, 95, 1)], Params::None),
    ncc(
        "ncc.education_reduced",
        10,
        60,
        &[(70, 95, 1)],
        Params::None,
    ),
];

/// The scheme codes the generator uses, in its table's order.
pub fn schemes() -> impl Iterator<Item = &'static str> {
    PROFILES.iter().map(|p| p.scheme)
}

/// Why a province cannot be generated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SynthError {
    #[error("{0} is not one of the 34 province codes of 2025 (e.g. 01 Hà Nội, 79 Hồ Chí Minh)")]
    UnknownProvince(ProvinceCode),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CommuneKind {
    Ward,
    Rural,
    SpecialZone,
}

/// A commune and what its people's records need from the reference data.
#[derive(Debug, Clone)]
struct SynthCommune {
    code: CommuneCode,
    kind: CommuneKind,
    /// Citizen-ID prefix: the pre-2025 province where its people's births were registered.
    prefix: u16,
    /// Signer of BTXH decisions before 2025-07 (the district chairman) and after (the commune's).
    district_signer: String,
    commune_signer: String,
}

/// A province chosen for generation, with everything the generator needs precomputed.
#[derive(Debug, Clone)]
pub struct Province {
    code: ProvinceCode,
    name: String,
    /// Southern provinces call hamlets "ấp".
    southern: bool,
    communes: Vec<SynthCommune>,
    /// Valid citizen-ID prefixes of other provinces, for people past the first million.
    other_prefixes: Vec<u16>,
}

impl Province {
    /// Selects a 2025 province from the reference data.
    pub fn select(reference: &Reference, code: ProvinceCode) -> Result<Province, SynthError> {
        let p = reference
            .admin
            .province_2025(code)
            .ok_or(SynthError::UnknownProvince(code))?;
        let fallback = fallback_prefix(reference, code);
        let communes: Vec<SynthCommune> = p
            .communes
            .iter()
            .map(|&c| commune(reference, c, fallback))
            .collect();
        let other_prefixes = reference
            .cccd
            .iter()
            .filter_map(|row| row.prefix.parse::<u16>().ok())
            .filter(|prefix| communes.iter().all(|c| c.prefix != *prefix))
            .collect();
        Ok(Province {
            code,
            name: p.name.clone(),
            southern: code.value() >= 75,
            communes,
            other_prefixes,
        })
    }

    /// Hà Nội from the embedded reference data, built once.
    pub fn hanoi() -> &'static Province {
        static HANOI: OnceLock<Province> = OnceLock::new();
        HANOI.get_or_init(|| {
            let code = ProvinceCode::parse(DEFAULT_PROVINCE).expect("valid province code");
            Province::select(Reference::embedded(), code).expect("Hà Nội is a 2025 province")
        })
    }

    pub fn code(&self) -> ProvinceCode {
        self.code
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn commune_count(&self) -> usize {
        self.communes.len()
    }

    /// How many people the generator can make with distinct citizen IDs for one seed.
    pub fn unique_persons(&self) -> u64 {
        (1 + self.other_prefixes.len() as u64) * SERIALS
    }

    /// The enrolment, with its route and one entitlement, of synthetic person `i`.
    pub fn person(&self, seed: u64, i: u64) -> Enrol {
        Draw {
            seed,
            i,
            as_of: AS_OF,
        }
        .enrol(self)
    }

    /// Person `i` as the province's files stood in `as_of`: born by then, old enough for
    /// their scheme then, with a decision effective by then (from 2024-01; the social pension
    /// from 2025-07). A ledger started in `as_of` takes them on without paying anyone for a
    /// month before their birth.
    pub fn person_as_of(&self, seed: u64, i: u64, as_of: Month) -> Enrol {
        Draw {
            seed,
            i,
            as_of: (as_of.year(), as_of.month()),
        }
        .enrol(self)
    }

    /// Persons `0..n`.
    pub fn persons(&self, seed: u64, n: u64) -> impl Iterator<Item = Enrol> + '_ {
        (0..n).map(move |i| self.person(seed, i))
    }

    /// The first `rows` rows of a synthetic roster: persons `0, 1, ...` as the province's files
    /// stood in `as_of` (`person_as_of`), each followed by the household caring for them when
    /// they have one (the last person's is left out when it would be row `rows + 1`): for about `CARER_PCT`% of the people with especially severe disability, the
    /// household caring for them (a parent or spouse, same family name and address; the care
    /// allowance, Art 20(2)(c)), and for about `FOSTER_PCT`% of the children without support, a
    /// foster household (Art 20(2)(d)). A household's row enrols it with the person's decision
    /// and grants the person the allowance paid to it (`cared_for`), as the roster parser reads
    /// it back; `line` is the file's (the header is line 1). Households draw their citizen IDs
    /// from the top of the serial range, so they are distinct from the persons'; a roster of
    /// more than half a million rows (two files' worth, `roster_rows_max`) has none.
    pub fn roster_rows(
        &self,
        seed: u64,
        rows: u64,
        as_of: Month,
    ) -> impl Iterator<Item = RosterRow> + '_ {
        let as_of = (as_of.year(), as_of.month());
        let mut line = 1;
        // Past half a million rows, persons would take the serials households draw from.
        let households = rows <= SERIALS / 2;
        (0..)
            .flat_map(move |i| {
                let person = Draw { seed, i, as_of }.enrol(self);
                let household = households
                    .then(|| self.household(seed, i, as_of, &person))
                    .flatten();
                line += 1;
                let mut rows = vec![RosterRow {
                    line,
                    enrol: person,
                    payee: None,
                }];
                if let Some((enrol, entitlement, cared_for)) = household {
                    line += 1;
                    rows.push(RosterRow {
                        line,
                        enrol,
                        payee: Some(PayeeRow {
                            line,
                            cared_for,
                            entitlement,
                        }),
                    });
                }
                rows
            })
            .take(usize::try_from(rows).unwrap_or(usize::MAX))
    }

    /// The household caring for person `i` (`roster_rows`), if they have one.
    fn household(
        &self,
        seed: u64,
        i: u64,
        as_of: (u16, u8),
        person: &Enrol,
    ) -> Option<(Enrol, NewEntitlement, CitizenId)> {
        let [ent] = person.entitlements.as_slice() else {
            return None;
        };
        let draw = Draw { seed, i, as_of }.below(field::HOUSEHOLD, 100);
        let scheme = match ent.scheme.as_str() {
            "btxh.disability_especially_severe" if draw < CARER_PCT => "btxh.care_allowance",
            "btxh.child_no_support" if draw < FOSTER_PCT => "btxh.foster_household",
            _ => return None,
        };
        let commune = self.communes.iter().find(|c| c.code == person.commune)?;
        let h = Draw {
            seed,
            i: SERIALS - 1 - i,
            as_of,
        };
        let (enrol, entitlement) = h.household(self, commune, person, ent, scheme);
        Some((enrol, entitlement, person.citizen_id))
    }

    /// The citizen-ID prefix of person `i`: their commune's for the first million; past that,
    /// another province's per million, so IDs stay unique (see `unique_persons`).
    fn prefix(&self, commune: &SynthCommune, i: u64) -> u16 {
        match i / SERIALS {
            0 => commune.prefix,
            block => {
                let others = &self.other_prefixes;
                others
                    .get(((block - 1) % others.len() as u64) as usize)
                    .copied()
                    .unwrap_or(commune.prefix)
            }
        }
    }
}

/// The prefix for a commune whose pre-2025 origin is unknown (new special zones): the
/// 2025 province's own code when it was a pre-2025 province, else its first predecessor's.
fn fallback_prefix(reference: &Reference, code: ProvinceCode) -> u16 {
    let mut rows = reference.cccd.of_2025_province(code);
    let first = rows.next().map(|r| r.prefix.clone());
    let own = reference
        .cccd
        .for_pre2025_province(code)
        .filter(|r| r.province_2025 == code);
    own.map(|r| r.prefix.clone())
        .or(first)
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
}

fn commune(reference: &Reference, code: CommuneCode, fallback: u16) -> SynthCommune {
    let name = reference
        .admin
        .commune_2025(code)
        .map_or_else(String::new, |c| c.name.clone());
    let kind = if name.starts_with("Phường") {
        CommuneKind::Ward
    } else if name.starts_with("Đặc khu") {
        CommuneKind::SpecialZone
    } else {
        CommuneKind::Rural
    };
    let origin = reference.admin.predecessor(code);
    let prefix = origin
        .and_then(|o| reference.cccd.for_pre2025_province(o.province))
        .and_then(|row| row.prefix.parse().ok())
        .unwrap_or(fallback);
    let district = origin.and_then(|o| reference.admin.district_pre2025(o.district));
    SynthCommune {
        code,
        kind,
        prefix,
        district_signer: district.map_or_else(
            || "Chủ tịch UBND cấp huyện".to_owned(),
            |d| format!("Chủ tịch UBND {}", d.name),
        ),
        commune_signer: format!("Chủ tịch UBND {name}"),
    }
}

/// The enrolment of synthetic person `i` of Hà Nội. Same signature and determinism as ever:
/// the append benchmark calls it a million times.
pub fn person(seed: u64, i: u64) -> Enrol {
    Province::hanoi().person(seed, i)
}

/// The answers of a check of these people against the population database, as the database
/// would give them (docs/identity-check-csv.md): most match; about 4 in 100 differ in the name
/// (a diacritic lost when the roster was typed); 2 in 100 are not found; 1 in 100 is reported
/// dead, on a day of the month before `answered_on`. Deterministic in `seed` and the IDs.
pub fn identity_answers(
    seed: u64,
    people: &[Enrol],
    answered_on: Date,
) -> Vec<crate::domain::identity::AnswerRow> {
    use crate::domain::identity::{AnswerRow, FieldCheck::*};
    people
        .iter()
        .map(|e| {
            let mut h = blake3::Hasher::new();
            h.update(b"identity-answer");
            h.update(&seed.to_le_bytes());
            h.update(e.citizen_id.expose().as_bytes());
            let bytes = h.finalize();
            let r = u64::from_le_bytes(bytes.as_bytes()[..8].try_into().expect("8 bytes"));
            let matched = AnswerRow {
                citizen_id: e.citizen_id,
                found: true,
                full_name: Matched,
                birth_date: Matched,
                sex: Matched,
                died_on: None,
            };
            match r % 100 {
                0..=3 => AnswerRow {
                    full_name: Differs,
                    ..matched
                },
                4..=5 => AnswerRow {
                    found: false,
                    full_name: NotFound,
                    birth_date: NotFound,
                    sex: NotFound,
                    ..matched
                },
                6 => {
                    let before = answered_on.month().prev();
                    let day = 1 + (r / 100 % 28) as u8;
                    let died = Date::new(before.year(), before.month(), day).expect("a day");
                    AnswerRow {
                        died_on: Some(died),
                        ..matched
                    }
                }
                _ => matched,
            }
        })
        .collect()
}

/// Person `i` of Hà Nội as of `as_of` (see `Province::person_as_of`).
pub fn person_as_of(seed: u64, i: u64, as_of: Month) -> Enrol {
    Province::hanoi().person_as_of(seed, i, as_of)
}

/// Writes `n` rows of `province`'s synthetic roster: its persons, with the households caring
/// for some of them (`Province::roster_rows`), in the documented CSV format
/// (`docs/roster-csv.md`).
pub fn write_roster_csv<W: io::Write>(
    w: W,
    seed: u64,
    n: u64,
    province: &Province,
) -> Result<(), RosterWriteError> {
    let mut writer = RosterWriter::new(w)?;
    for row in province.roster_rows(seed, n, month_at(month_index(AS_OF))) {
        writer.write_row(&row)?;
    }
    writer.finish()?;
    Ok(())
}

/// The random draws of one person: field `k` is `mix(seed, i, k)`, so fields are independent
/// and adding a field never changes the others.
#[derive(Clone, Copy)]
struct Draw {
    seed: u64,
    i: u64,
    /// The month ages are counted at and the last effective month drawn.
    as_of: (u16, u8),
}

/// Field numbers of the draws.
mod field {
    pub const PROFILE: u64 = 1;
    pub const SEX: u64 = 2;
    pub const AGE_BAND: u64 = 3;
    pub const AGE_YEARS: u64 = 4;
    pub const AGE_MONTHS: u64 = 5;
    pub const BIRTH_DAY: u64 = 6;
    pub const COMMUNE: u64 = 7;
    pub const FAMILY: u64 = 8;
    pub const MIDDLE: u64 = 9;
    pub const GIVEN: u64 = 10;
    pub const ADDRESS: u64 = 11;
    pub const ADDRESS_2: u64 = 12;
    pub const CASH: u64 = 13;
    pub const BANK: u64 = 14;
    pub const ACCOUNT: u64 = 15;
    pub const ACCOUNT_2: u64 = 16;
    pub const GUARDIAN_NAME: [u64; 3] = [17, 25, 26];
    pub const EFFECTIVE: u64 = 18;
    pub const DECISION_DAY: u64 = 19;
    pub const DECISION_NO: u64 = 20;
    pub const PARAM: u64 = 21;
    pub const PARAM_2: u64 = 22;
    pub const PARAM_3: u64 = 23;
    pub const GUARDIAN_SEX: u64 = 24;
    /// Whether the person has a household paid for their care (`Province::roster_rows`).
    pub const HOUSEHOLD: u64 = 27;
}

impl Draw {
    fn r(self, field: u64) -> u64 {
        mix(self.seed, self.i, field)
    }

    fn below(self, field: u64, n: u64) -> u64 {
        self.r(field) % n
    }

    fn enrol(self, province: &Province) -> Enrol {
        let profile = weighted(&PROFILES, |p| p.weight, self.r(field::PROFILE));
        let sex = if self.below(field::SEX, 100) < profile.male_pct {
            Sex::Male
        } else {
            Sex::Female
        };
        let birth_date = self.birth_date(profile);
        let commune =
            &province.communes[self.below(field::COMMUNE, province.communes.len() as u64) as usize];
        let full_name = self.name(sex, [field::FAMILY, field::MIDDLE, field::GIVEN]);
        let effective_from = self.effective_month(profile, birth_date);
        let decision = self.decision(profile, commune, effective_from);
        let route = self.route(commune, &full_name, birth_date);
        Enrol {
            citizen_id: self.citizen_id(province, commune, birth_date, sex),
            full_name,
            birth_date,
            sex,
            address_line: self.address(province, commune),
            commune: commune.code,
            programme: profile.programme,
            decision: Some(decision.clone()),
            route: Some(route),
            entitlements: vec![NewEntitlement {
                programme: profile.programme,
                scheme: profile.scheme.to_owned(),
                params: self.params(profile.params),
                kind: EntitlementKind::Monthly,
                effective_from,
                decision,
                payee: None,
            }],
        }
    }

    /// A household paid for the care of `person` under `scheme` (its draws are its own: `self`
    /// is not the person's draw): an adult of 30 to 65 in the person's commune; a carer is
    /// family (the person's family name and address), a foster household is not.
    fn household(
        self,
        province: &Province,
        commune: &SynthCommune,
        person: &Enrol,
        ent: &NewEntitlement,
        scheme: &str,
    ) -> (Enrol, NewEntitlement) {
        // Most carers and foster parents are women.
        let sex = match self.below(field::SEX, 100) < 30 {
            true => Sex::Male,
            false => Sex::Female,
        };
        let age = 30 + self.below(field::AGE_YEARS, 36) as u16;
        let birth_date = Date::new(
            self.as_of.0 - age,
            1 + self.below(field::AGE_MONTHS, 12) as u8,
            1 + self.below(field::BIRTH_DAY, 28) as u8,
        )
        .expect("a day of 1 to 28 is in every month");
        let mut full_name = self.name(sex, [field::FAMILY, field::MIDDLE, field::GIVEN]);
        let family = scheme == "btxh.care_allowance";
        let address_line = match family {
            true => {
                let theirs = person.full_name.split(' ').next().unwrap_or_default();
                let rest = full_name.split_once(' ').map_or("", |(_, r)| r);
                full_name = format!("{theirs} {rest}");
                person.address_line.clone()
            }
            false => self.address(province, commune),
        };
        let entitlement = NewEntitlement {
            programme: Programme::Btxh,
            scheme: scheme.to_owned(),
            params: Vec::new(),
            kind: EntitlementKind::Monthly,
            effective_from: ent.effective_from,
            decision: ent.decision.clone(),
            payee: None,
        };
        let enrol = Enrol {
            citizen_id: self.citizen_id(province, commune, birth_date, sex),
            route: Some(self.route(commune, &full_name, birth_date)),
            full_name,
            birth_date,
            sex,
            address_line,
            commune: commune.code,
            programme: Programme::Btxh,
            decision: Some(ent.decision.clone()),
            entitlements: Vec::new(),
        };
        (enrol, entitlement)
    }

    /// A birth date whose age at `AS_OF` is in one of the profile's bands and qualifies.
    fn birth_date(self, profile: &Profile) -> Date {
        let (from, to, _) = *weighted(profile.ages, |a| a.2, self.r(field::AGE_BAND));
        let years = u32::from(from) + self.below(field::AGE_YEARS, u64::from(to - from) + 1) as u32;
        let months = years * 12 + self.below(field::AGE_MONTHS, 12) as u32;
        let age = months.max(profile.qualifies.0);
        let month = month_at(month_index(self.as_of) - age);
        let day = 1 + self.below(field::BIRTH_DAY, u64::from(days_in_month(month))) as u8;
        Date::new(month.year(), month.month(), day).expect("a day of the month")
    }

    /// A month from which the scheme applies to this person, within the generated window.
    fn effective_month(self, profile: &Profile, birth: Date) -> Month {
        let first = match profile.programme {
            Programme::Htxh => SOCIAL_PENSION_FROM,
            _ => FIRST_EFFECTIVE,
        };
        let birth = month_index((birth.year(), birth.month_number()));
        let (min_age, max_age) = profile.qualifies;
        let lo = month_index(first).max(birth + min_age);
        let hi = max_age.map_or(month_index(self.as_of), |max| {
            month_index(self.as_of).min(birth + max - 1)
        });
        month_at(lo + self.below(field::EFFECTIVE, u64::from(hi.saturating_sub(lo)) + 1) as u32)
    }

    /// The decision: numbered and signed as the office in charge at the time would have.
    fn decision(self, profile: &Profile, commune: &SynthCommune, effective: Month) -> Decision {
        let at = |ym| effective >= month_at(month_index(ym));
        let (office, signer) = match profile.programme {
            Programme::Ncc if at(HOME_AFFAIRS_FROM) => ("SNV", "Giám đốc Sở Nội vụ".to_owned()),
            Programme::Ncc => (
                "SLĐTBXH",
                "Giám đốc Sở Lao động - Thương binh và Xã hội".to_owned(),
            ),
            _ if at(COMMUNE_DECISIONS_FROM) => ("UBND", commune.commune_signer.clone()),
            _ => ("UBND", commune.district_signer.clone()),
        };
        let day = 1 + self.below(field::DECISION_DAY, 28) as u8;
        Decision {
            number: format!("{}/QĐ-{office}", 1 + self.below(field::DECISION_NO, 9999)),
            date: Date::new(effective.year(), effective.month(), day).expect("days 1-28 exist"),
            signer,
        }
    }

    fn params(self, params: Params) -> Vec<SchemeParam> {
        match params {
            Params::None => Vec::new(),
            Params::Injury {
                bands,
                especially_severe,
            } => {
                let (from, to, _) = *weighted(bands, |b| b.2, self.r(field::PARAM));
                let rate = from + self.below(field::PARAM_2, u64::from(to - from) + 1) as u8;
                let mut out = vec![SchemeParam::InjuryRatePct(rate)];
                if especially_severe && rate >= 81 && self.below(field::PARAM_3, 100) < 30 {
                    out.push(SchemeParam::EspeciallySevere);
                }
                out
            }
            Params::Martyrs => {
                let martyrs = weighted(
                    &[(1u8, 85u32), (2, 12), (3, 3)],
                    |m| m.1,
                    self.r(field::PARAM),
                )
                .0;
                let mut out = vec![SchemeParam::Martyrs(martyrs)];
                out.extend(self.sometimes_alone());
                out
            }
            Params::Children => {
                let children = weighted(
                    &[(1u8, 55u32), (2, 35), (3, 10)],
                    |c| c.1,
                    self.r(field::PARAM),
                )
                .0;
                vec![SchemeParam::Children(children)]
            }
            Params::SometimesAlone => self.sometimes_alone().into_iter().collect(),
            Params::Parent => match self.below(field::PARAM, 100) {
                0..=74 => vec![SchemeParam::Children(1)],
                75..=84 => vec![SchemeParam::Children(2)],
                85..=94 => vec![SchemeParam::Pregnant],
                _ => vec![SchemeParam::Pregnant, SchemeParam::Children(1)],
            },
        }
    }

    fn sometimes_alone(self) -> Option<SchemeParam> {
        (self.below(field::PARAM_3, 100) < 20).then_some(SchemeParam::LivingAlone)
    }

    /// A name from three draws: family, middle and given name.
    fn name(self, sex: Sex, [family, middle, given]: [u64; 3]) -> String {
        let (middle_names, given_names) = match sex {
            Sex::Male => (&MIDDLE_M, &GIVEN_M),
            Sex::Female => (&MIDDLE_F, &GIVEN_F),
        };
        let family = weighted(&FAMILY, |f| f.1, self.r(family)).0;
        let middle = pick(middle_names, self.r(middle));
        let given = pick(given_names, self.r(given));
        format!("{family} {middle} {given}")
    }

    fn address(self, province: &Province, commune: &SynthCommune) -> String {
        let a = self.r(field::ADDRESS);
        let b = self.r(field::ADDRESS_2);
        match commune.kind {
            CommuneKind::Ward if a % 2 == 0 => {
                format!("Số {}, ngõ {}", 1 + b % 150, 1 + a / 2 % 300)
            }
            CommuneKind::Ward => format!("Tổ dân phố {}", 1 + b % 40),
            CommuneKind::SpecialZone => format!("Khu {}", 1 + b % 12),
            CommuneKind::Rural if province.southern => format!("Ấp {}", 1 + b % 15),
            CommuneKind::Rural if a % 3 == 0 => format!("Xóm {}", 1 + b % 20),
            CommuneKind::Rural => format!("Thôn {}", pick(&HAMLETS, b)),
        }
    }

    /// Cash at the commune's pay point for `CASH_PCT`% of people; otherwise a bank account,
    /// held by a guardian for a child.
    fn route(self, commune: &SynthCommune, full_name: &str, birth: Date) -> RouteRequest {
        if self.below(field::CASH, 100) < CASH_PCT {
            return RouteRequest::Cash {
                pay_point: commune.code,
            };
        }
        let (bin, _, digits) = *weighted(&BANK_MIX, |b| b.1, self.r(field::BANK));
        let rest = self.below(field::ACCOUNT_2, 10u64.pow(digits - 1));
        let number = format!(
            "{}{rest:0width$}",
            1 + self.below(field::ACCOUNT, 9),
            width = (digits - 1) as usize
        );
        let child =
            month_index(self.as_of) - month_index((birth.year(), birth.month_number())) < years(16);
        let holder = if child {
            let sex = if self.below(field::GUARDIAN_SEX, 4) == 0 {
                Sex::Male
            } else {
                Sex::Female
            };
            self.name(sex, field::GUARDIAN_NAME)
        } else {
            full_name.to_owned()
        };
        RouteRequest::Bank {
            bin: BankBin::parse(&bin.to_string()).expect("a listed BIN"),
            account_number: AccountNumber::parse(&number).expect("9-14 digits"),
            holder_name: ascii_upper(&holder),
        }
    }

    /// `PPP G YY NNNNNN`: birth-registration province, century and sex, year, and a serial that
    /// is a bijection of `i` within each million, so IDs are unique (see `unique_persons`).
    fn citizen_id(
        self,
        province: &Province,
        commune: &SynthCommune,
        birth: Date,
        sex: Sex,
    ) -> CitizenId {
        let year = birth.year();
        let century_sex = (year - 1900) / 100 * 2 + u16::from(sex == Sex::Female);
        let (a, c) = serial_permutation(self.seed);
        let serial = (a * (self.i % SERIALS) + c) % SERIALS;
        let prefix = province.prefix(commune, self.i);
        let text = format!("{prefix:03}{century_sex}{:02}{serial:06}", year % 100);
        CitizenId::parse(&text).expect("12 digits by construction")
    }
}

/// Multiplier and offset of an affine bijection on `0..SERIALS`: the multiplier is odd and not a
/// multiple of 5, so it is coprime to 10^6.
fn serial_permutation(seed: u64) -> (u64, u64) {
    let mut a = (mix(seed, 0, 0) % (SERIALS / 2)) * 2 + 1;
    if a % 5 == 0 {
        a += 2;
    }
    (a, mix(seed, 0, 1) % SERIALS)
}

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

/// The item whose cumulative weight range holds `r` modulo the total weight.
fn weighted<T>(items: &[T], weight: impl Fn(&T) -> u32, r: u64) -> &T {
    let total: u64 = items.iter().map(|x| u64::from(weight(x))).sum();
    let mut at = r % total;
    for item in items {
        let w = u64::from(weight(item));
        if at < w {
            return item;
        }
        at -= w;
    }
    unreachable!("`at` is below the total weight")
}

/// Months since January of year 0.
fn month_index((year, month): (u16, u8)) -> u32 {
    u32::from(year) * 12 + u32::from(month) - 1
}

fn month_at(index: u32) -> Month {
    Month::new((index / 12) as u16, (index % 12) as u8 + 1).expect("a month of 1900-2999")
}

/// Upper-case ASCII without diacritics, the way Vietnamese banks hold account names.
fn ascii_upper(text: &str) -> String {
    text.chars()
        .flat_map(char::to_lowercase)
        .map(fold_vietnamese)
        .collect::<String>()
        .to_ascii_uppercase()
}

fn fold_vietnamese(c: char) -> char {
    match c {
        'à' | 'á' | 'ả' | 'ã' | 'ạ' | 'ă' | 'ằ' | 'ắ' | 'ẳ' | 'ẵ' | 'ặ' | 'â' | 'ầ' | 'ấ' | 'ẩ'
        | 'ẫ' | 'ậ' => 'a',
        'è' | 'é' | 'ẻ' | 'ẽ' | 'ẹ' | 'ê' | 'ề' | 'ế' | 'ể' | 'ễ' | 'ệ' => 'e',
        'ì' | 'í' | 'ỉ' | 'ĩ' | 'ị' => 'i',
        'ò' | 'ó' | 'ỏ' | 'õ' | 'ọ' | 'ô' | 'ồ' | 'ố' | 'ổ' | 'ỗ' | 'ộ' | 'ơ' | 'ờ' | 'ớ' | 'ở'
        | 'ỡ' | 'ợ' => 'o',
        'ù' | 'ú' | 'ủ' | 'ũ' | 'ụ' | 'ư' | 'ừ' | 'ứ' | 'ử' | 'ữ' | 'ự' => 'u',
        'ỳ' | 'ý' | 'ỷ' | 'ỹ' | 'ỵ' => 'y',
        'đ' => 'd',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::decide::citizen_id_warnings;

    #[test]
    fn the_same_person_comes_out_every_time() {
        assert_eq!(person(7, 12_345), person(7, 12_345));
        assert_ne!(person(7, 12_345), person(8, 12_345));
    }

    #[test]
    fn citizen_ids_are_structured_and_unique_across_the_million_boundary() {
        let p = Province::hanoi();
        let mut ids = std::collections::HashSet::new();
        for i in (0..5_000).chain(SERIALS - 5_000..SERIALS + 5_000) {
            let e = p.person(3, i);
            assert!(citizen_id_warnings(&e.citizen_id, e.birth_date, e.sex).is_empty());
            assert!(ids.insert(e.citizen_id), "duplicate at {i}");
        }
        assert_eq!(p.person(3, 0).citizen_id.province_prefix(), "001");
        assert_ne!(p.person(3, SERIALS).citizen_id.province_prefix(), "001");
        assert!(p.unique_persons() >= 60 * SERIALS);
    }

    #[test]
    fn serial_permutations_are_bijections() {
        for seed in [0, 1, 42, u64::MAX] {
            let (a, _) = serial_permutation(seed);
            assert!(a % 2 == 1 && a % 5 != 0);
        }
    }

    #[test]
    fn ages_fit_schemes() {
        let p = Province::hanoi();
        for i in 0..3_000 {
            let e = p.person(11, i);
            let ent = &e.entitlements[0];
            let age_at_start = ent.effective_from.year() as i32 - e.birth_date.year() as i32;
            match ent.scheme.as_str() {
                "btxh.child_under3_difficult_area" => assert!(age_at_start <= 3),
                "btxh.child_no_support" | "btxh.child_hiv_poor" => assert!(age_at_start <= 16),
                "btxh.elderly_80_no_pension" => assert!(age_at_start >= 80),
                "htxh.social_pension" => assert!(age_at_start >= 75),
                "ncc.heroic_mother" => assert!(e.birth_date.year() <= 1931 && e.sex == Sex::Female),
                _ => {}
            }
            assert!(ent.effective_from >= e.birth_date.month());
            assert!(ent.decision.date.month() == ent.effective_from);
        }
    }

    #[test]
    fn account_names_lose_their_diacritics() {
        assert_eq!(ascii_upper("Nguyễn Thị Đào"), "NGUYEN THI DAO");
        assert_eq!(ascii_upper("Lưu Quốc Việt"), "LUU QUOC VIET");
    }

    #[test]
    fn unknown_provinces_are_refused() {
        let code = ProvinceCode::parse("02").unwrap();
        assert_eq!(
            Province::select(Reference::embedded(), code).unwrap_err(),
            SynthError::UnknownProvince(code)
        );
    }
}
