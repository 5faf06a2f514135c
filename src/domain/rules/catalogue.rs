//! The scheme catalogue: every scheme code the rules understand, its programme, whether it is
//! monthly or one-off, which decision parameters it takes, and `validate`, which checks an
//! entitlement decision against it before anything is recorded.
//!
//! Scheme codes are a contract (the roster generator and stored events use them): codes may be
//! added, never renamed.

use crate::domain::command::Rejection;
use crate::domain::event::{EntitlementKind, SchemeParam};
use crate::domain::types::Programme;

/// How a scheme uses the injury (or disability) rate parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Injury {
    /// The scheme takes no rate.
    None,
    /// A rate in `lo..=hi` must be given.
    Required(u8, u8),
    /// A rate may be given (for the record); if given it must be in `lo..=hi`.
    Optional(u8, u8),
}

/// The parameters a scheme takes; anything else is refused, so a typo in a roster cannot
/// silently change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub injury: Injury,
    pub especially_severe: bool,
    /// `Children(n)`, required.
    pub children: bool,
    /// `SeniorityUnits(n)`, optional (given = full-time activist).
    pub seniority: bool,
    /// `Martyrs(n)`, required.
    pub martyrs: bool,
    pub living_alone: bool,
    /// A carer scheme: `CarerOf` allowed.
    pub carer: bool,
}

const NONE: Params = Params {
    injury: Injury::None,
    especially_severe: false,
    children: false,
    seniority: false,
    martyrs: false,
    living_alone: false,
    carer: false,
};

const SURVIVOR: Params = Params {
    living_alone: true,
    ..NONE
};

const fn injured(lo: u8) -> Params {
    Params {
        injury: Injury::Required(lo, 100),
        especially_severe: true,
        ..NONE
    }
}

const fn carer(especially_severe: bool) -> Params {
    Params {
        injury: Injury::Optional(81, 100),
        especially_severe,
        carer: true,
        ..NONE
    }
}

/// One scheme of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scheme {
    pub code: &'static str,
    pub programme: Programme,
    pub one_off: bool,
    pub params: Params,
    /// The clause that defines the group and its amount.
    pub clause: &'static str,
}

const fn monthly(
    code: &'static str,
    programme: Programme,
    params: Params,
    clause: &'static str,
) -> Scheme {
    Scheme {
        code,
        programme,
        one_off: false,
        params,
        clause,
    }
}

const fn one_off(code: &'static str, programme: Programme, clause: &'static str) -> Scheme {
    Scheme {
        code,
        programme,
        one_off: true,
        params: NONE,
        clause,
    }
}

use Programme::{Btxh, Htxh, Ncc};

/// Every scheme, in a stable order.
pub const SCHEMES: &[Scheme] = &[
    monthly(
        "btxh.child_no_support",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(1), 6(1)(a)",
    ),
    monthly(
        "btxh.youth_studying",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(2), 6(1)(a)",
    ),
    monthly(
        "btxh.child_hiv_poor",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(3), 6(1)(b)",
    ),
    monthly(
        "btxh.single_parent_poor",
        Btxh,
        Params {
            children: true,
            ..NONE
        },
        "ND 20/2021 Art 5(4), 6(1)(c), 6(2)",
    ),
    monthly(
        "btxh.elderly_poor_alone",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(a), 6(1)(d)",
    ),
    monthly(
        "btxh.elderly_75_difficult_area",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(b), 6(1)(đ)",
    ),
    monthly(
        "btxh.elderly_80_no_pension",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(c), 6(1)(đ)",
    ),
    monthly(
        "btxh.elderly_poor_community_care",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(d), 6(1)(đ)",
    ),
    monthly(
        "btxh.disability_especially_severe",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(6), 6(1)(e)",
    ),
    monthly(
        "btxh.disability_severe",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(6), 6(1)(e)",
    ),
    monthly(
        "btxh.child_under3_difficult_area",
        Btxh,
        NONE,
        "ND 20/2021 Art 5(7), 6(1)(g)",
    ),
    monthly("btxh.hiv_poor", Btxh, NONE, "ND 20/2021 Art 5(8), 6(1)(h)"),
    one_off("btxh.funeral_support", Btxh, "ND 20/2021 Art 11"),
    monthly(
        "htxh.social_pension",
        Htxh,
        NONE,
        "ND 176/2025; SI Law 2024",
    ),
    monthly(
        "ncc.activist_pre1945",
        Ncc,
        Params {
            seniority: true,
            ..NONE
        },
        "ND 75/2021 Annex I 1.1",
    ),
    monthly(
        "ncc.activist_pre_uprising",
        Ncc,
        NONE,
        "ND 75/2021 Annex I 2.1",
    ),
    monthly(
        "ncc.survivor_pre1945",
        Ncc,
        SURVIVOR,
        "ND 75/2021 Annex I 1.2",
    ),
    monthly(
        "ncc.survivor_pre_uprising",
        Ncc,
        SURVIVOR,
        "ND 75/2021 Annex I 2.2",
    ),
    monthly(
        "ncc.martyr_relative",
        Ncc,
        Params {
            martyrs: true,
            living_alone: true,
            ..NONE
        },
        "ND 75/2021 Annex I 3.1-3.4",
    ),
    monthly(
        "ncc.martyr_spouse_remarried",
        Ncc,
        NONE,
        "ND 75/2021 Annex I 3.5",
    ),
    monthly("ncc.heroic_mother", Ncc, NONE, "ND 75/2021 Annex I 4"),
    monthly(
        "ncc.heroic_mother_carer",
        Ncc,
        carer(false),
        "ND 75/2021 Annex I 4",
    ),
    monthly("ncc.hero", Ncc, NONE, "ND 75/2021 Annex I 5"),
    monthly(
        "ncc.war_invalid",
        Ncc,
        injured(21),
        "ND 75/2021 Annex I 6.1, Annex II",
    ),
    monthly(
        "ncc.war_invalid_b",
        Ncc,
        injured(21),
        "ND 75/2021 Annex I 6.1, Annex III",
    ),
    monthly(
        "ncc.war_invalid_carer",
        Ncc,
        carer(true),
        "ND 75/2021 Annex I 6.1",
    ),
    monthly(
        "ncc.invalid_survivor",
        Ncc,
        SURVIVOR,
        "ND 75/2021 Annex I 6.2, 7.2, 8.2",
    ),
    monthly(
        "ncc.sick_soldier",
        Ncc,
        injured(41),
        "ND 75/2021 Annex I 7.1",
    ),
    monthly(
        "ncc.sick_soldier_carer",
        Ncc,
        carer(true),
        "ND 75/2021 Annex I 7.1",
    ),
    monthly(
        "ncc.agent_orange",
        Ncc,
        injured(21),
        "ND 75/2021 Annex I 8.1",
    ),
    monthly(
        "ncc.agent_orange_carer",
        Ncc,
        carer(false),
        "ND 75/2021 Annex I 8.1",
    ),
    monthly(
        "ncc.agent_orange_child",
        Ncc,
        Params {
            injury: Injury::Required(61, 100),
            ..NONE
        },
        "ND 75/2021 Annex I 8.2",
    ),
    monthly("ncc.imprisoned", Ncc, NONE, "ND 75/2021 Annex I 9"),
    monthly("ncc.medal_pre1945", Ncc, NONE, "ND 75/2021 Annex I 10.1"),
    monthly(
        "ncc.resistance_helper",
        Ncc,
        NONE,
        "ND 75/2021 Annex I 10.2",
    ),
    monthly("ncc.education", Ncc, NONE, "ND 75/2021 Annex I 11.1"),
    monthly(
        "ncc.education_reduced",
        Ncc,
        NONE,
        "ND 75/2021 Annex I 11.2",
    ),
    one_off("ncc.death_lump_sum", Ncc, "ND 131/2021 Art 121(2)"),
    one_off(
        "ncc.funeral",
        Ncc,
        "Ordinance 02/2020 Art 6(4); ND 75/2021 Art 13(1); SI Law 2014 Art 66",
    ),
    one_off(
        "ncc.convalescence_home",
        Ncc,
        "ND 75/2021 Annex IV; ND 55/2023, 77/2024 Art 3(2)",
    ),
    one_off(
        "ncc.convalescence_centre",
        Ncc,
        "ND 75/2021 Annex IV; ND 55/2023, 77/2024 Art 3(2)",
    ),
];

/// The scheme with this code, if the catalogue has it.
pub fn scheme(code: &str) -> Option<&'static Scheme> {
    SCHEMES.iter().find(|s| s.code == code)
}

/// The name of a parameter kind, as messages and the JSON form spell it.
pub fn param_name(p: &SchemeParam) -> &'static str {
    match p {
        SchemeParam::InjuryRatePct(_) => "InjuryRatePct",
        SchemeParam::EspeciallySevere => "EspeciallySevere",
        SchemeParam::Children(_) => "Children",
        SchemeParam::SeniorityUnits(_) => "SeniorityUnits",
        SchemeParam::Martyrs(_) => "Martyrs",
        SchemeParam::LivingAlone => "LivingAlone",
        SchemeParam::CarerOf(_) => "CarerOf",
        SchemeParam::PoorHousehold => "PoorHousehold",
        SchemeParam::DifficultArea => "DifficultArea",
        SchemeParam::Studying => "Studying",
        SchemeParam::HasPension => "HasPension",
        SchemeParam::InFacility => "InFacility",
    }
}

/// Checks that an entitlement decision names a known scheme of its programme, with the right
/// kind and parameters. Every message says what was wrong and what is expected.
pub fn validate(
    programme: Programme,
    scheme_code: &str,
    params: &[SchemeParam],
    kind: EntitlementKind,
) -> Result<(), Rejection> {
    let s = scheme(scheme_code).ok_or_else(|| unknown_scheme(programme, scheme_code))?;
    if s.programme != programme {
        return Err(Rejection::invalid(
            "scheme",
            format!("{} is a {} scheme, not {programme}", s.code, s.programme),
        ));
    }
    match (s.one_off, kind) {
        (true, EntitlementKind::Monthly) => {
            return Err(Rejection::invalid(
                "kind",
                format!("{} is paid once: kind must be one_off", s.code),
            ))
        }
        (false, EntitlementKind::OneOff { .. }) => {
            return Err(Rejection::invalid(
                "kind",
                format!("{} is paid monthly: kind must be monthly", s.code),
            ))
        }
        _ => {}
    }
    validate_params(s, params)
}

fn unknown_scheme(programme: Programme, code: &str) -> Rejection {
    let known: Vec<&str> = SCHEMES
        .iter()
        .filter(|s| s.programme == programme)
        .map(|s| s.code)
        .collect();
    Rejection::invalid(
        "scheme",
        format!(
            "unknown scheme {code:?}; {programme} schemes are: {}",
            known.join(", ")
        ),
    )
}

fn validate_params(s: &Scheme, params: &[SchemeParam]) -> Result<(), Rejection> {
    let invalid = |reason: String| Rejection::invalid("params", reason);
    for (i, p) in params.iter().enumerate() {
        let name = param_name(p);
        if params[..i].iter().any(|q| param_name(q) == name) {
            return Err(invalid(format!("{name} is given twice")));
        }
        check_param(s, p).map_err(invalid)?;
    }
    let has = |name: &str| params.iter().any(|p| param_name(p) == name);
    if let Injury::Required(lo, hi) = s.params.injury {
        if !has("InjuryRatePct") {
            return Err(invalid(format!(
                "{} needs the injury rate: InjuryRatePct({lo}-{hi})",
                s.code
            )));
        }
    }
    if s.params.children && !has("Children") {
        return Err(invalid(format!(
            "{} needs the number of children: Children(n)",
            s.code
        )));
    }
    if s.params.martyrs && !has("Martyrs") {
        return Err(invalid(format!(
            "{} needs the number of martyrs: Martyrs(n)",
            s.code
        )));
    }
    let rate = params.iter().find_map(|p| match p {
        SchemeParam::InjuryRatePct(r) => Some(*r),
        _ => None,
    });
    if has("EspeciallySevere") && rate.is_some_and(|r| r < 81) {
        return Err(invalid(format!(
            "EspeciallySevere applies only from an injury rate of 81% ({} has {}%)",
            s.code,
            rate.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Whether one parameter fits the scheme; the reason if not.
fn check_param(s: &Scheme, p: &SchemeParam) -> Result<(), String> {
    let spec = s.params;
    let not_for = || format!("{} does not apply to {}", param_name(p), s.code);
    match *p {
        SchemeParam::InjuryRatePct(r) => match spec.injury {
            Injury::None => Err(not_for()),
            Injury::Required(lo, hi) | Injury::Optional(lo, hi) if !(lo..=hi).contains(&r) => {
                Err(injury_out_of_range(s.code, r, lo, hi))
            }
            _ => Ok(()),
        },
        SchemeParam::EspeciallySevere if !spec.especially_severe => Err(not_for()),
        SchemeParam::Children(_) if !spec.children => Err(not_for()),
        SchemeParam::Children(0) => Err("Children must be at least 1".into()),
        SchemeParam::SeniorityUnits(_) if !spec.seniority => Err(not_for()),
        SchemeParam::Martyrs(_) if !spec.martyrs => Err(not_for()),
        SchemeParam::Martyrs(0) => Err("Martyrs must be at least 1".into()),
        SchemeParam::LivingAlone if !spec.living_alone => Err(not_for()),
        SchemeParam::CarerOf(_) if !spec.carer => Err(not_for()),
        SchemeParam::HasPension if matches!(s.code, "btxh.elderly_80_no_pension") => {
            Err(format!("{} is for people without a pension (ND 20/2021 Art 5(5)(c))", s.code))
        }
        SchemeParam::InFacility if s.programme == Programme::Btxh && !s.one_off => Err(format!(
            "care in a social-protection facility replaces the monthly allowance {} (ND 20/2021 Art 25(5))",
            s.code
        )),
        _ => Ok(()),
    }
}

fn injury_out_of_range(code: &str, rate: u8, lo: u8, hi: u8) -> String {
    let mut msg = format!("injury rate {rate}% is out of range for {code} ({lo}-{hi}%)");
    if rate < 21 && lo == 21 {
        msg.push_str("; rates of 5-20% get a one-off payment (Annex VI), not a monthly allowance");
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::types::Month;

    fn check(programme: Programme, code: &str, params: &[SchemeParam]) -> Result<(), String> {
        validate(programme, code, params, EntitlementKind::Monthly).map_err(|e| e.to_string())
    }

    #[test]
    fn codes_are_unique_and_namespaced() {
        for (i, s) in SCHEMES.iter().enumerate() {
            assert!(
                SCHEMES[..i].iter().all(|t| t.code != s.code),
                "{} twice",
                s.code
            );
            let prefix = format!("{}.", s.programme.code().to_ascii_lowercase());
            assert!(s.code.starts_with(&prefix), "{}", s.code);
        }
    }

    #[test]
    fn accepts_the_contracted_codes() {
        use SchemeParam::*;
        let ok: &[(Programme, &str, Vec<SchemeParam>)] = &[
            (Btxh, "btxh.single_parent_poor", vec![Children(2)]),
            (Btxh, "btxh.disability_severe", vec![PoorHousehold]),
            (Htxh, "htxh.social_pension", vec![]),
            (Ncc, "ncc.activist_pre1945", vec![SeniorityUnits(3)]),
            (Ncc, "ncc.martyr_relative", vec![Martyrs(2), LivingAlone]),
            (
                Ncc,
                "ncc.war_invalid",
                vec![InjuryRatePct(85), EspeciallySevere],
            ),
            (Ncc, "ncc.war_invalid_b", vec![InjuryRatePct(21)]),
            (Ncc, "ncc.sick_soldier", vec![InjuryRatePct(41)]),
            (Ncc, "ncc.agent_orange", vec![InjuryRatePct(100)]),
            (Ncc, "ncc.war_invalid_carer", vec![EspeciallySevere]),
        ];
        for (p, code, params) in ok {
            assert_eq!(check(*p, code, params), Ok(()), "{code}");
        }
        let one_off = EntitlementKind::OneOff {
            month: Month::parse("2024-08").unwrap(),
        };
        assert!(validate(Btxh, "btxh.funeral_support", &[], one_off).is_ok());
        for code in ["ncc.death_lump_sum", "ncc.funeral"] {
            assert!(validate(Ncc, code, &[], one_off).is_ok());
        }
    }

    #[test]
    fn refuses_with_clear_messages() {
        use SchemeParam::*;
        let cases: &[(Programme, &str, Vec<SchemeParam>, &str)] = &[
            (
                Ncc,
                "ncc.war_invalids",
                vec![],
                "unknown scheme \"ncc.war_invalids\"; NCC schemes are: ncc.activist_pre1945",
            ),
            (
                Btxh,
                "ncc.hero",
                vec![],
                "ncc.hero is a NCC scheme, not BTXH",
            ),
            (
                Ncc,
                "ncc.war_invalid",
                vec![],
                "ncc.war_invalid needs the injury rate: InjuryRatePct(21-100)",
            ),
            (
                Ncc,
                "ncc.war_invalid",
                vec![InjuryRatePct(15)],
                "injury rate 15% is out of range for ncc.war_invalid (21-100%); rates of 5-20%",
            ),
            (
                Ncc,
                "ncc.sick_soldier",
                vec![InjuryRatePct(40)],
                "injury rate 40% is out of range for ncc.sick_soldier (41-100%)",
            ),
            (
                Ncc,
                "ncc.war_invalid",
                vec![InjuryRatePct(61), EspeciallySevere],
                "EspeciallySevere applies only from an injury rate of 81%",
            ),
            (
                Ncc,
                "ncc.war_invalid",
                vec![InjuryRatePct(61), InjuryRatePct(62)],
                "InjuryRatePct is given twice",
            ),
            (
                Ncc,
                "ncc.hero",
                vec![Children(1)],
                "Children does not apply to ncc.hero",
            ),
            (
                Ncc,
                "ncc.martyr_relative",
                vec![],
                "needs the number of martyrs",
            ),
            (
                Ncc,
                "ncc.martyr_relative",
                vec![Martyrs(0)],
                "Martyrs must be at least 1",
            ),
            (
                Btxh,
                "btxh.single_parent_poor",
                vec![],
                "needs the number of children",
            ),
            (
                Btxh,
                "btxh.elderly_80_no_pension",
                vec![HasPension],
                "without a pension",
            ),
            (
                Btxh,
                "btxh.hiv_poor",
                vec![InFacility],
                "replaces the monthly allowance",
            ),
        ];
        for (p, code, params, expected) in cases {
            let got = check(*p, code, params).unwrap_err();
            assert!(got.contains(expected), "{code}: {got}");
        }
        let e = validate(Ncc, "ncc.funeral", &[], EntitlementKind::Monthly).unwrap_err();
        assert!(e.to_string().contains("kind must be one_off"), "{e}");
    }
}
