//! The social-assistance amounts of ND 20/2021 beyond the Art 6(1) monthly allowance (RULES.md
//! §1.3), each with its article, through the pure harness: decisions through `decide` and
//! `apply`, rates from `ledger-data/rates/`, amounts asked of `rules::due` (the function a
//! batch computes with) and, for the payee schemes, paid by a real batch to the household.
//!
//! Bases: 360,000 until 2024-06 (ND 20/2021 Art 4(2)), 500,000 from 2024-07 (ND 76/2024).

mod common;

use chitra::domain::command::*;
use chitra::domain::event::SchemeParam::{self, *};
use chitra::domain::types::*;
use chitra::domain::{Command, Rejection};
use common::fixtures::{cash, d, enrolment, m, monthly, one_off};
use common::given::{due, World};

/// A citizen ID whose century/sex digit and year digits agree with the birth date (female).
fn citizen_id(birth: &str, serial: u32) -> String {
    let year: u32 = birth[..4].parse().unwrap();
    let century = if year >= 2000 { 3 } else { 1 };
    format!("001{century}{:02}{serial:06}", year % 100)
}

/// Enrols a person born on `birth`, paid in cash, with these entitlements; their id.
fn person(w: &mut World, birth: &str, serial: u32, ents: Vec<NewEntitlement>) -> BeneficiaryId {
    let id = citizen_id(birth, serial);
    w.enrol(enrolment(&id, "Nguyễn Thị Lan", birth, Some(cash()), ents))
}

/// A monthly decision paid to `payee`, the household that cares for the person.
fn paid_to(
    scheme: &str,
    params: Vec<SchemeParam>,
    from: &str,
    payee: BeneficiaryId,
) -> NewEntitlement {
    NewEntitlement {
        payee: Some(payee),
        ..monthly(scheme, params, from)
    }
}

/// (scheme, amount, clause) of every line due to `who` in `month`, as now known.
fn lines(w: &World, who: BeneficiaryId, month: &str) -> Vec<(String, i64, &'static str)> {
    due(w.state(), who, m(month), w.records())
        .unwrap()
        .into_iter()
        .map(|l| (l.scheme, l.amount.0, l.clause))
        .collect()
}

fn amounts(w: &World, who: BeneficiaryId, month: &str) -> Vec<(String, i64)> {
    lines(w, who, month)
        .into_iter()
        .map(|(s, a, _)| (s, a))
        .collect()
}

fn l(scheme: &str, amount: i64) -> (String, i64) {
    (scheme.to_owned(), amount)
}

#[test]
fn care_allowance_is_one_base_paid_to_the_caring_household_art_20_2_c() {
    let mut w = World::with_all_schedules();
    let carer = person(&mut w, "1970-04-02", 1, vec![]);
    let disabled = person(
        &mut w,
        "1990-05-10",
        2,
        vec![monthly(
            "btxh.disability_especially_severe",
            vec![],
            "2024-06",
        )],
    );
    w.grant(
        disabled,
        paid_to("btxh.care_allowance", vec![], "2024-06", carer),
    );
    assert_eq!(
        lines(&w, disabled, "2024-06"),
        vec![
            (
                "btxh.disability_especially_severe".into(),
                720_000,
                "ND 20/2021 Art 5(6), 6(1)(e)"
            ),
            (
                "btxh.care_allowance".into(),
                360_000,
                "ND 20/2021 Art 20(2)(c)"
            ),
        ]
    );
    assert_eq!(
        amounts(&w, disabled, "2024-07"),
        vec![
            l("btxh.disability_especially_severe", 1_000_000),
            l("btxh.care_allowance", 500_000),
        ]
    );
    // A batch pays the care allowance to the household, the allowance to the person.
    let (june, _) = w.pay(Programme::Btxh, m("2024-06"));
    assert_eq!(w.payment_of(june, carer).unwrap().amount, Vnd(360_000));
    let (batch, _) = w.pay(Programme::Btxh, m("2024-07"));
    assert_eq!(w.payment_of(batch, carer).unwrap().amount, Vnd(500_000));
    assert_eq!(
        w.payment_of(batch, disabled).unwrap().amount,
        Vnd(1_000_000)
    );
}

#[test]
fn a_carer_or_foster_allowance_without_its_household_is_refused() {
    let mut w = World::with_all_schedules();
    let disabled = person(&mut w, "1990-05-10", 2, vec![]);
    for scheme in [
        "btxh.care_allowance",
        "btxh.foster_household",
        "btxh.community_foster_care",
    ] {
        let refused = w
            .try_run(Command::GrantEntitlement(GrantEntitlement {
                beneficiary: disabled,
                entitlement: monthly(scheme, vec![], "2024-07"),
            }))
            .unwrap_err();
        assert!(
            matches!(&refused, Rejection::Invalid { field, .. } if field == "payee"),
            "{scheme}: {refused}"
        );
        assert!(
            refused.to_string().contains("name it as payee"),
            "{refused}"
        );
    }
}

#[test]
fn a_disabled_parent_is_paid_1_5_or_2_0_in_addition_art_20_2_a_b() {
    let cases: [(&[SchemeParam], i64, i64); 4] = [
        // 1.5: pregnant, or raising one child under 36 months.
        (&[Pregnant], 540_000, 750_000),
        (&[Children(1)], 540_000, 750_000),
        // 2.0: pregnant and raising one, or raising two or more.
        (&[Pregnant, Children(1)], 720_000, 1_000_000),
        (&[Children(2)], 720_000, 1_000_000),
    ];
    for (i, (params, at_360, at_500)) in cases.into_iter().enumerate() {
        let mut w = World::with_all_schedules();
        let mother = person(
            &mut w,
            "1995-02-20",
            10 + i as u32,
            vec![
                monthly("btxh.disability_severe", vec![], "2024-06"),
                monthly("btxh.disabled_parent", params.to_vec(), "2024-06"),
            ],
        );
        // Paid in addition to the person's own allowance (Art 20(2)(b)): 1.5 × base.
        assert_eq!(
            lines(&w, mother, "2024-06"),
            vec![
                (
                    "btxh.disability_severe".into(),
                    540_000,
                    "ND 20/2021 Art 5(6), 6(1)(e)"
                ),
                (
                    "btxh.disabled_parent".into(),
                    at_360,
                    "ND 20/2021 Art 20(2)(a)-(b)"
                ),
            ],
            "{params:?}"
        );
        assert_eq!(
            amounts(&w, mother, "2024-07"),
            vec![
                l("btxh.disability_severe", 750_000),
                l("btxh.disabled_parent", at_500)
            ],
            "{params:?}"
        );
    }
}

#[test]
fn a_disabled_parent_needs_a_pregnancy_or_a_child() {
    let mut w = World::with_all_schedules();
    let mother = person(&mut w, "1995-02-20", 3, vec![]);
    let refused = w
        .try_run(Command::GrantEntitlement(GrantEntitlement {
            beneficiary: mother,
            entitlement: monthly("btxh.disabled_parent", vec![], "2024-07"),
        }))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("needs Pregnant and/or Children"),
        "{refused}"
    );
}

#[test]
fn a_foster_household_is_paid_2_5_per_child_and_1_5_per_adult_art_20_2_d() {
    let mut w = World::with_all_schedules();
    let household = person(&mut w, "1975-01-01", 4, vec![]);
    // A child turning 16 in March 2025: a child through the birthday month.
    let child = person(&mut w, "2009-03-15", 5, vec![]);
    w.grant(
        child,
        paid_to("btxh.foster_household", vec![], "2024-06", household),
    );
    let adult = person(&mut w, "1985-07-01", 6, vec![]);
    w.grant(
        adult,
        paid_to("btxh.foster_household", vec![], "2024-06", household),
    );
    assert_eq!(
        lines(&w, child, "2024-06"),
        vec![(
            "btxh.foster_household".into(),
            900_000,
            "ND 20/2021 Art 20(2)(d)"
        )]
    );
    assert_eq!(
        amounts(&w, child, "2024-07"),
        vec![l("btxh.foster_household", 1_250_000)]
    );
    assert_eq!(
        amounts(&w, child, "2025-03"),
        vec![l("btxh.foster_household", 1_250_000)]
    );
    assert_eq!(
        amounts(&w, child, "2025-04"),
        vec![l("btxh.foster_household", 750_000)]
    );
    assert_eq!(
        amounts(&w, adult, "2024-07"),
        vec![l("btxh.foster_household", 750_000)]
    );
    // Both are paid to the household: 1,250,000 + 750,000.
    w.pay(Programme::Btxh, m("2024-06"));
    let (batch, _) = w.pay(Programme::Btxh, m("2024-07"));
    assert_eq!(
        w.payment_of(batch, household).unwrap().amount,
        Vnd(2_000_000)
    );
}

#[test]
fn community_foster_care_is_2_5_under_4_then_1_5_art_20_1() {
    let mut w = World::with_all_schedules();
    let household = person(&mut w, "1980-01-01", 7, vec![]);
    let child = person(&mut w, "2022-09-10", 8, vec![]);
    w.grant(
        child,
        paid_to("btxh.community_foster_care", vec![], "2024-07", household),
    );
    assert_eq!(
        lines(&w, child, "2024-07"),
        vec![(
            "btxh.community_foster_care".into(),
            1_250_000,
            "ND 20/2021 Art 20(1)"
        )]
    );
    // Turning 4 in September 2026: 1.5 from the birthday month.
    assert_eq!(
        amounts(&w, child, "2026-08"),
        vec![l("btxh.community_foster_care", 1_250_000)]
    );
    assert_eq!(
        amounts(&w, child, "2026-09"),
        vec![l("btxh.community_foster_care", 750_000)]
    );
    // A 5(5)(d) elderly person cared for in the community: 1.5.
    let elderly = person(&mut w, "1940-02-02", 9, vec![]);
    w.grant(
        elderly,
        paid_to("btxh.community_foster_care", vec![], "2024-07", household),
    );
    assert_eq!(
        amounts(&w, elderly, "2024-07"),
        vec![l("btxh.community_foster_care", 750_000)]
    );
}

#[test]
fn a_facility_pays_5_0_under_4_and_4_0_after_and_replaces_the_allowance_art_25_1_5() {
    let mut w = World::with_all_schedules();
    let child = person(
        &mut w,
        "2021-05-20",
        11,
        vec![
            monthly("btxh.child_no_support", vec![], "2024-06"),
            monthly("btxh.facility_care", vec![InFacility], "2024-06"),
        ],
    );
    // Only the facility's amount: it replaces the monthly allowance (Art 25(5)).
    assert_eq!(
        lines(&w, child, "2024-06"),
        vec![(
            "btxh.facility_care".into(),
            1_800_000,
            "ND 20/2021 Art 25(1), 25(5)"
        )]
    );
    assert_eq!(
        amounts(&w, child, "2024-07"),
        vec![l("btxh.facility_care", 2_500_000)]
    );
    // Four in May 2025.
    assert_eq!(
        amounts(&w, child, "2025-04"),
        vec![l("btxh.facility_care", 2_500_000)]
    );
    assert_eq!(
        amounts(&w, child, "2025-05"),
        vec![l("btxh.facility_care", 2_000_000)]
    );
    let elderly = person(
        &mut w,
        "1938-01-01",
        12,
        vec![monthly("btxh.facility_care", vec![], "2024-07")],
    );
    assert_eq!(
        amounts(&w, elderly, "2024-07"),
        vec![l("btxh.facility_care", 2_000_000)]
    );
}

#[test]
fn a_flag_of_facility_care_on_a_monthly_allowance_points_to_the_facility_scheme() {
    let mut w = World::with_all_schedules();
    let p = person(&mut w, "1960-01-01", 13, vec![]);
    let refused = w
        .try_run(Command::GrantEntitlement(GrantEntitlement {
            beneficiary: p,
            entitlement: monthly("btxh.disability_severe", vec![InFacility], "2024-07"),
        }))
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("grant btxh.facility_care instead"),
        "{refused}"
    );
}

#[test]
fn death_in_a_facility_is_50_times_the_base_and_the_only_funeral_benefit_art_25_3() {
    for (died, base_month, amount) in [
        ("2024-05-12", "2024-05", 18_000_000),
        ("2024-08-03", "2024-08", 25_000_000),
    ] {
        let mut w = World::with_all_schedules();
        let p = person(
            &mut w,
            "1936-06-06",
            14,
            vec![monthly("btxh.facility_care", vec![], "2024-01")],
        );
        w.run(Command::RecordDeath(RecordDeath {
            beneficiary: p,
            date_of_death: d(died),
            decision: None,
        }));
        w.grant(p, one_off("btxh.facility_death", base_month));
        w.grant(p, one_off("btxh.funeral_support", base_month));
        let got = lines(&w, p, base_month);
        // The month of death is paid in full; of the two funeral benefits only the highest
        // (ND 20/2021 Art 11).
        let monthly = if base_month == "2024-05" {
            1_440_000
        } else {
            2_000_000
        };
        assert_eq!(
            got,
            vec![
                (
                    "btxh.facility_care".into(),
                    monthly,
                    "ND 20/2021 Art 25(1), 25(5)"
                ),
                ("btxh.facility_death".into(), amount, "ND 20/2021 Art 25(3)"),
            ],
            "{died}"
        );
        let next = m(base_month).next();
        assert_eq!(amounts(&w, p, &next.to_string()), vec![], "{died}");
    }
}
