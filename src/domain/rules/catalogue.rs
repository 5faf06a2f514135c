//! The scheme catalogue: the one list of schemes, from which the rules, the roster format
//! (`formats::roster`), the HTTP API and docs/rules.md derive. Every `SchemeCode` has its
//! programme, whether it is monthly or one-off, which decision parameters it takes, whether
//! it is paid to a payee other than the person, and its clause; `validate` checks an
//! entitlement decision against it before anything is recorded.
//!
//! Scheme codes are a contract (rosters and stored events use them): codes may be added,
//! never renamed.

use crate::domain::command::Rejection;
use crate::domain::event::{EntitlementKind, SchemeParam};
use crate::domain::types::Programme;

pub use super::scheme::{SchemeCode, UnknownScheme};

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
    /// A disabled parent (ND 20/2021 Art 20(2)(a)): `Pregnant` and/or `Children(n)` (children
    /// under 36 months), at least one.
    pub parent: bool,
    /// Paid to a household other than the person (a carer or foster household): the
    /// entitlement must name its payee, the person cared for is the subject.
    pub payee_required: bool,
}

impl Params {
    /// Whether the social-assistance flags (`PoorHousehold`, `DifficultArea`, `Studying`,
    /// `HasPension`, `InFacility`) are allowed: on every scheme except NCC's.
    pub const fn social_flags(programme: Programme) -> bool {
        !matches!(programme, Programme::Ncc)
    }
}

const NONE: Params = Params {
    injury: Injury::None,
    especially_severe: false,
    children: false,
    seniority: false,
    martyrs: false,
    living_alone: false,
    carer: false,
    parent: false,
    payee_required: false,
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
    pub id: SchemeCode,
    pub programme: Programme,
    pub one_off: bool,
    pub params: Params,
    /// The clause that defines the group and its amount.
    pub clause: &'static str,
}

impl Scheme {
    /// The stable string code.
    pub const fn code(&self) -> &'static str {
        self.id.code()
    }

    /// Whether a roster row can carry this scheme: every monthly scheme (the row of a scheme
    /// paid to another household is that household's, naming the person cared for in its
    /// `cared_for` column).
    pub const fn in_roster(&self) -> bool {
        !self.one_off
    }
}

const fn monthly(
    id: SchemeCode,
    programme: Programme,
    params: Params,
    clause: &'static str,
) -> Scheme {
    Scheme {
        id,
        programme,
        one_off: false,
        params,
        clause,
    }
}

const fn one_off(id: SchemeCode, programme: Programme, clause: &'static str) -> Scheme {
    Scheme {
        id,
        programme,
        one_off: true,
        params: NONE,
        clause,
    }
}

use Programme::{Btxh, Htxh, Ncc};
use SchemeCode::*;

/// Every scheme, in the order of `SchemeCode` (a test checks it).
pub const SCHEMES: &[Scheme] = &[
    monthly(ChildNoSupport, Btxh, NONE, "ND 20/2021 Art 5(1), 6(1)(a)"),
    monthly(YouthStudying, Btxh, NONE, "ND 20/2021 Art 5(2), 6(1)(a)"),
    monthly(ChildHivPoor, Btxh, NONE, "ND 20/2021 Art 5(3), 6(1)(b)"),
    monthly(
        SingleParentPoor,
        Btxh,
        Params {
            children: true,
            ..NONE
        },
        "ND 20/2021 Art 5(4), 6(1)(c), 6(2)",
    ),
    monthly(
        ElderlyPoorAlone,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(a), 6(1)(d)",
    ),
    monthly(
        Elderly75DifficultArea,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(b), 6(1)(đ)",
    ),
    monthly(
        Elderly80NoPension,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(c), 6(1)(đ)",
    ),
    monthly(
        ElderlyPoorCommunityCare,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(5)(d), 6(1)(đ)",
    ),
    monthly(
        DisabilityEspeciallySevere,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(6), 6(1)(e)",
    ),
    monthly(DisabilitySevere, Btxh, NONE, "ND 20/2021 Art 5(6), 6(1)(e)"),
    monthly(
        ChildUnder3DifficultArea,
        Btxh,
        NONE,
        "ND 20/2021 Art 5(7), 6(1)(g)",
    ),
    monthly(HivPoor, Btxh, NONE, "ND 20/2021 Art 5(8), 6(1)(h)"),
    one_off(FuneralSupport, Btxh, "ND 20/2021 Art 11"),
    monthly(
        CareAllowance,
        Btxh,
        Params {
            payee_required: true,
            ..NONE
        },
        "ND 20/2021 Art 20(2)(c)",
    ),
    monthly(
        DisabledParent,
        Btxh,
        Params {
            parent: true,
            ..NONE
        },
        "ND 20/2021 Art 20(2)(a)-(b)",
    ),
    monthly(
        FosterHousehold,
        Btxh,
        Params {
            payee_required: true,
            ..NONE
        },
        "ND 20/2021 Art 20(2)(d)",
    ),
    monthly(
        CommunityFosterCare,
        Btxh,
        Params {
            payee_required: true,
            ..NONE
        },
        "ND 20/2021 Art 20(1)",
    ),
    monthly(FacilityCare, Btxh, NONE, "ND 20/2021 Art 25(1), 25(5)"),
    one_off(FacilityDeath, Btxh, "ND 20/2021 Art 25(3)"),
    monthly(SocialPension, Htxh, NONE, "ND 176/2025; SI Law 2024"),
    monthly(
        ActivistPre1945,
        Ncc,
        Params {
            seniority: true,
            ..NONE
        },
        "ND 75/2021 Annex I 1.1",
    ),
    monthly(ActivistPreUprising, Ncc, NONE, "ND 75/2021 Annex I 2.1"),
    monthly(SurvivorPre1945, Ncc, SURVIVOR, "ND 75/2021 Annex I 1.2"),
    monthly(SurvivorPreUprising, Ncc, SURVIVOR, "ND 75/2021 Annex I 2.2"),
    monthly(
        MartyrRelative,
        Ncc,
        Params {
            martyrs: true,
            living_alone: true,
            ..NONE
        },
        "ND 75/2021 Annex I 3.1-3.4",
    ),
    monthly(MartyrSpouseRemarried, Ncc, NONE, "ND 75/2021 Annex I 3.5"),
    monthly(HeroicMother, Ncc, NONE, "ND 75/2021 Annex I 4"),
    monthly(HeroicMotherCarer, Ncc, carer(false), "ND 75/2021 Annex I 4"),
    monthly(Hero, Ncc, NONE, "ND 75/2021 Annex I 5"),
    monthly(
        WarInvalid,
        Ncc,
        injured(21),
        "ND 75/2021 Annex I 6.1, Annex II",
    ),
    monthly(
        WarInvalidB,
        Ncc,
        injured(21),
        "ND 75/2021 Annex I 6.1, Annex III",
    ),
    monthly(WarInvalidCarer, Ncc, carer(true), "ND 75/2021 Annex I 6.1"),
    monthly(
        InvalidSurvivor,
        Ncc,
        SURVIVOR,
        "ND 75/2021 Annex I 6.2, 7.2, 8.2",
    ),
    monthly(SickSoldier, Ncc, injured(41), "ND 75/2021 Annex I 7.1"),
    monthly(SickSoldierCarer, Ncc, carer(true), "ND 75/2021 Annex I 7.1"),
    monthly(AgentOrange, Ncc, injured(21), "ND 75/2021 Annex I 8.1"),
    monthly(
        AgentOrangeCarer,
        Ncc,
        carer(false),
        "ND 75/2021 Annex I 8.1",
    ),
    monthly(
        AgentOrangeChild,
        Ncc,
        Params {
            injury: Injury::Required(61, 100),
            ..NONE
        },
        "ND 75/2021 Annex I 8.2",
    ),
    monthly(Imprisoned, Ncc, NONE, "ND 75/2021 Annex I 9"),
    monthly(MedalPre1945, Ncc, NONE, "ND 75/2021 Annex I 10.1"),
    monthly(ResistanceHelper, Ncc, NONE, "ND 75/2021 Annex I 10.2"),
    monthly(Education, Ncc, NONE, "ND 75/2021 Annex I 11.1"),
    monthly(EducationReduced, Ncc, NONE, "ND 75/2021 Annex I 11.2"),
    one_off(DeathLumpSum, Ncc, "ND 131/2021 Art 121(2)"),
    one_off(
        Funeral,
        Ncc,
        "Ordinance 02/2020 Art 6(4); ND 75/2021 Art 13(1); SI Law 2014 Art 66",
    ),
    one_off(
        ConvalescenceHome,
        Ncc,
        "ND 75/2021 Annex IV; ND 55/2023, 77/2024 Art 3(2)",
    ),
    one_off(
        ConvalescenceCentre,
        Ncc,
        "ND 75/2021 Annex IV; ND 55/2023, 77/2024 Art 3(2)",
    ),
];

impl SchemeCode {
    /// Its entry in the catalogue.
    pub fn scheme(self) -> &'static Scheme {
        &SCHEMES[self as usize]
    }
}

/// The scheme with this code, if the catalogue has it.
pub fn scheme(code: &str) -> Option<&'static Scheme> {
    SchemeCode::parse(code).ok().map(SchemeCode::scheme)
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
        SchemeParam::Pregnant => "Pregnant",
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
            format!("{} is a {} scheme, not {programme}", s.code(), s.programme),
        ));
    }
    match (s.one_off, kind) {
        (true, EntitlementKind::Monthly) => {
            return Err(Rejection::invalid(
                "kind",
                format!("{} is paid once: kind must be one_off", s.code()),
            ))
        }
        (false, EntitlementKind::OneOff { .. }) => {
            return Err(Rejection::invalid(
                "kind",
                format!("{} is paid monthly: kind must be monthly", s.code()),
            ))
        }
        _ => {}
    }
    validate_params(s, params)
}

/// Checks the payee of an entitlement decision against its scheme: a carer or foster
/// household's allowance (ND 20/2021 Art 20(1), 20(2)(c)-(d)) is paid to that household, so the
/// decision must name it; the person cared for is the entitlement's subject.
pub fn validate_payee(scheme_code: &str, has_payee: bool) -> Result<(), Rejection> {
    match scheme(scheme_code) {
        Some(s) if s.params.payee_required && !has_payee => Err(Rejection::invalid(
            "payee",
            format!(
                "{} is paid to the household that cares for the person: name it as payee ({})",
                s.code(),
                s.clause
            ),
        )),
        _ => Ok(()),
    }
}

fn unknown_scheme(programme: Programme, code: &str) -> Rejection {
    let known: Vec<&str> = SCHEMES
        .iter()
        .filter(|s| s.programme == programme)
        .map(|s| s.code())
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
                s.code()
            )));
        }
    }
    if s.params.children && !has("Children") {
        return Err(invalid(format!(
            "{} needs the number of children: Children(n)",
            s.code()
        )));
    }
    if s.params.parent && !has("Pregnant") && !has("Children") {
        return Err(invalid(format!(
            "{} needs Pregnant and/or Children(n) (children under 36 months) (ND 20/2021 Art 20(2)(a))",
            s.code()
        )));
    }
    if s.params.martyrs && !has("Martyrs") {
        return Err(invalid(format!(
            "{} needs the number of martyrs: Martyrs(n)",
            s.code()
        )));
    }
    let rate = params.iter().find_map(|p| match p {
        SchemeParam::InjuryRatePct(r) => Some(*r),
        _ => None,
    });
    if has("EspeciallySevere") && rate.is_some_and(|r| r < 81) {
        return Err(invalid(format!(
            "EspeciallySevere applies only from an injury rate of 81% ({} has {}%)",
            s.code(),
            rate.unwrap_or_default()
        )));
    }
    Ok(())
}

/// Whether one parameter fits the scheme; the reason if not. The roster format checks its
/// parameters with this too.
pub fn check_param(s: &Scheme, p: &SchemeParam) -> Result<(), String> {
    let spec = s.params;
    let not_for = || format!("{} does not apply to {}", param_name(p), s.code());
    match *p {
        SchemeParam::InjuryRatePct(r) => match spec.injury {
            Injury::None => Err(not_for()),
            Injury::Required(lo, hi) | Injury::Optional(lo, hi) if !(lo..=hi).contains(&r) => {
                Err(injury_out_of_range(s.code(), r, lo, hi))
            }
            _ => Ok(()),
        },
        SchemeParam::EspeciallySevere if !spec.especially_severe => Err(not_for()),
        SchemeParam::Children(0) => Err("Children must be at least 1".into()),
        SchemeParam::SeniorityUnits(_) if !spec.seniority => Err(not_for()),
        SchemeParam::Martyrs(_) if !spec.martyrs => Err(not_for()),
        SchemeParam::Martyrs(0) => Err("Martyrs must be at least 1".into()),
        SchemeParam::LivingAlone if !spec.living_alone => Err(not_for()),
        SchemeParam::CarerOf(_) if !spec.carer => Err(not_for()),
        SchemeParam::HasPension if s.id == Elderly80NoPension => {
            Err(format!("{} is for people without a pension (ND 20/2021 Art 5(5)(c))", s.code()))
        }
        SchemeParam::PoorHousehold
        | SchemeParam::DifficultArea
        | SchemeParam::Studying
        | SchemeParam::HasPension
        | SchemeParam::InFacility
            if !Params::social_flags(s.programme) =>
        {
            Err(not_for())
        }
        SchemeParam::Children(_) if !spec.children && !spec.parent => Err(not_for()),
        SchemeParam::Pregnant if !spec.parent => Err(not_for()),
        SchemeParam::InFacility
            if s.programme == Programme::Btxh && !s.one_off && s.id != FacilityCare =>
        {
            Err(format!(
                "care in a social-protection facility replaces the monthly allowance {}: grant btxh.facility_care instead (ND 20/2021 Art 25(5))",
                s.code()
            ))
        }
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
    fn the_catalogue_follows_the_scheme_codes() {
        assert_eq!(SCHEMES.len(), SchemeCode::ALL.len());
        for (s, id) in SCHEMES.iter().zip(SchemeCode::ALL) {
            assert_eq!(s.id, *id);
            assert_eq!(id.scheme().id, *id);
        }
    }

    #[test]
    fn codes_are_unique_and_namespaced() {
        for (i, s) in SCHEMES.iter().enumerate() {
            assert!(
                SCHEMES[..i].iter().all(|t| t.id != s.id),
                "{} twice",
                s.code()
            );
            let prefix = format!("{}.", s.programme.code().to_ascii_lowercase());
            assert!(s.code().starts_with(&prefix), "{}", s.code());
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
