//! NCC preferential allowances (Ordinance 02/2020; ND 75/2021 as amended by ND 55/2023 and
//! ND 77/2024): the amount of each category from Annex I/II/III, and how categories combine.
//!
//! - Categories add: each category's allowance and supplement is paid (Ordinance Art 6(3)).
//! - War invalids by exact injury rate from Annex II (III for category B); at 81% or more a
//!   supplement, which the especially-severe supplement replaces (Annex I 6.1, 7.1, 8.1: the
//!   two are alternatives, not additive).
//! - Relative of 1 / 2 / 3 or more martyrs: Annex I 3.1 / 3.2 / 3.3 (not n × 3.1).
//! - Survivor allowances: at most two (Art 6(5)); extra care allowance: at most one (Art 6(6));
//!   carer allowance: only the single highest (Art 6(3)).
//! - Amounts derived from the standard level are rounded to the thousand (ND 55/2023, ND
//!   77/2024 Art 3(2)), half up (docs/rules.md).

use crate::domain::event::{ItemKind, SchemeParam};
use crate::domain::types::{Month, Programme, Vnd};

use super::scheme::SchemeCode;

use super::active::Active;
use super::rates::{scale, At, Rate, RateBook};
use super::{DueLine, RuleError};

/// What part of a category's payment a component is; the combination rules act on parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Part {
    Allowance,
    Supplement,
    ExtraCare,
    Carer,
}

/// One amount of one entitlement, with the rate it came from.
pub(super) struct Component<'r> {
    pub part: Part,
    pub amount: Vnd,
    pub rate: Rate<'r>,
    /// Suffix of the rule string (e.g. ` × 3 units`).
    pub times: String,
}

const SURVIVOR_SCHEMES: [SchemeCode; 3] = [
    SchemeCode::SurvivorPre1945,
    SchemeCode::SurvivorPreUprising,
    SchemeCode::InvalidSurvivor,
];

/// Survivor allowances a person may receive at once (Ordinance 02/2020 Art 6(5)).
const SURVIVOR_ALLOWANCES_MAX: usize = 2;

/// The NCC monthly lines of a person for `at.month`, after the combination rules.
pub(super) fn monthly(
    active: &[Active<'_>],
    rates: &RateBook<'_>,
    at: At,
) -> Result<Vec<DueLine>, RuleError> {
    let mut per_ent = Vec::new();
    for a in active
        .iter()
        .filter(|a| a.scheme.programme == Programme::Ncc && !a.scheme.one_off)
    {
        per_ent.push((a, components(a, rates, at)?));
    }
    cap_survivors(&mut per_ent);
    keep_one_extra_care(&mut per_ent);
    keep_highest_carer(&mut per_ent);
    let mut lines = Vec::new();
    for (a, comps) in per_ent {
        for c in comps {
            let rule = format!("{}{}", c.rate.cite(), c.times);
            lines.push(a.line(c.amount, ItemKind::Regular, at.month, rule, c.rate.schedule));
        }
    }
    Ok(lines)
}

fn total(comps: &[Component<'_>], part: Option<Part>) -> Vnd {
    comps
        .iter()
        .filter(|c| part.is_none_or(|p| c.part == p))
        .map(|c| c.amount)
        .sum()
}

/// Keeps the two highest survivor allowances (ties: the earlier entitlement), drops the rest.
fn cap_survivors(per_ent: &mut Vec<(&Active<'_>, Vec<Component<'_>>)>) {
    let mut survivors: Vec<(Vnd, usize)> = per_ent
        .iter()
        .enumerate()
        .filter(|(_, (a, _))| SURVIVOR_SCHEMES.contains(&a.scheme.id))
        .map(|(i, (_, comps))| (total(comps, Some(Part::Allowance)), i))
        .collect();
    survivors.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
    let dropped: Vec<usize> = survivors
        .iter()
        .skip(SURVIVOR_ALLOWANCES_MAX)
        .map(|s| s.1)
        .collect();
    let mut i = 0;
    per_ent.retain(|_| {
        i += 1;
        !dropped.contains(&(i - 1))
    });
}

/// Only one extra care allowance (tuất nuôi dưỡng), on the earliest entitlement carrying one.
fn keep_one_extra_care(per_ent: &mut [(&Active<'_>, Vec<Component<'_>>)]) {
    let mut seen = false;
    for (_, comps) in per_ent.iter_mut() {
        comps.retain(|c| {
            let keep = c.part != Part::ExtraCare || !seen;
            seen |= c.part == Part::ExtraCare;
            keep
        });
    }
}

/// Only the single highest carer allowance (ties: the earlier entitlement).
fn keep_highest_carer(per_ent: &mut Vec<(&Active<'_>, Vec<Component<'_>>)>) {
    let best = per_ent
        .iter()
        .enumerate()
        .filter(|(_, (_, comps))| comps.iter().any(|c| c.part == Part::Carer))
        .max_by(|x, y| {
            total(&x.1 .1, Some(Part::Carer))
                .cmp(&total(&y.1 .1, Some(Part::Carer)))
                .then(y.0.cmp(&x.0))
        })
        .map(|(i, _)| i);
    let mut i = 0;
    per_ent.retain(|(_, comps)| {
        i += 1;
        !comps.iter().any(|c| c.part == Part::Carer) || best == Some(i - 1)
    });
}

fn injury(a: &Active<'_>) -> Result<u8, RuleError> {
    a.terms
        .params
        .iter()
        .find_map(|p| match p {
            SchemeParam::InjuryRatePct(r) => Some(*r),
            _ => None,
        })
        .ok_or_else(|| a.missing("InjuryRatePct"))
}

fn has(a: &Active<'_>, wanted: &SchemeParam) -> bool {
    a.terms.params.contains(wanted)
}

/// The components of one NCC monthly entitlement, before the cross-entitlement rules.
pub(super) fn components<'r>(
    a: &Active<'_>,
    rates: &RateBook<'r>,
    at: At,
) -> Result<Vec<Component<'r>>, RuleError> {
    let mut out = Vec::new();
    let mut add = |part, key: &str, times: u32| -> Result<(), RuleError> {
        let (amount, rate) = rates.amount(key, at)?;
        let amount = Vnd(amount
            .0
            .checked_mul(i64::from(times))
            .ok_or(RuleError::Overflow)?);
        let times = if times == 1 {
            String::new()
        } else {
            format!(" × {times}")
        };
        out.push(Component {
            part,
            amount,
            rate,
            times,
        });
        Ok(())
    };
    use Part::*;
    match a.scheme.id {
        SchemeCode::ActivistPre1945 => match seniority(a) {
            Some(units) => {
                add(Allowance, "ncc.annex1.1.1.full_time", 1)?;
                if units > 0 {
                    add(Supplement, "ncc.annex1.1.1.seniority_unit", units)?;
                }
            }
            None => add(Allowance, "ncc.annex1.1.1.not_full_time", 1)?,
        },
        SchemeCode::ActivistPreUprising => add(Allowance, "ncc.annex1.2.1", 1)?,
        SchemeCode::SurvivorPre1945 => add(Allowance, "ncc.annex1.1.2", 1)?,
        SchemeCode::SurvivorPreUprising => add(Allowance, "ncc.annex1.2.2", 1)?,
        SchemeCode::MartyrRelative => add(Allowance, martyrs_key(a)?, 1)?,
        SchemeCode::MartyrSpouseRemarried => add(Allowance, "ncc.annex1.3.5", 1)?,
        SchemeCode::HeroicMother => {
            add(Allowance, "ncc.annex1.4.allowance", 1)?;
            add(Supplement, "ncc.annex1.4.supplement", 1)?;
        }
        SchemeCode::HeroicMotherCarer => add(Carer, "ncc.annex1.4.carer", 1)?,
        SchemeCode::Hero => add(Allowance, "ncc.annex1.5", 1)?,
        SchemeCode::WarInvalid
        | SchemeCode::WarInvalidB
        | SchemeCode::SickSoldier
        | SchemeCode::AgentOrange => {
            let (allowance, section) = injured_keys(a)?;
            add(Allowance, &allowance, 1)?;
            if injury(a)? >= 81 {
                let which = if has(a, &SchemeParam::EspeciallySevere) {
                    "especially_severe"
                } else {
                    "81"
                };
                add(
                    Supplement,
                    &format!("ncc.annex1.{section}.supplement_{which}"),
                    1,
                )?;
            }
        }
        SchemeCode::WarInvalidCarer | SchemeCode::SickSoldierCarer => {
            let section = if a.scheme.id == SchemeCode::WarInvalidCarer {
                "6.1"
            } else {
                "7.1"
            };
            let which = if has(a, &SchemeParam::EspeciallySevere) {
                "especially_severe"
            } else {
                "81"
            };
            add(Carer, &format!("ncc.annex1.{section}.carer_{which}"), 1)?;
        }
        SchemeCode::AgentOrangeCarer => add(Carer, "ncc.annex1.8.1.carer_81", 1)?,
        SchemeCode::InvalidSurvivor => add(Allowance, "ncc.annex1.6.2", 1)?,
        SchemeCode::AgentOrangeChild => {
            let key = if injury(a)? >= 81 {
                "ncc.annex1.8.2.81_100"
            } else {
                "ncc.annex1.8.2.61_80"
            };
            add(Allowance, key, 1)?;
        }
        SchemeCode::Imprisoned => add(Allowance, "ncc.annex1.9", 1)?,
        SchemeCode::MedalPre1945 => add(Allowance, "ncc.annex1.10.1", 1)?,
        SchemeCode::ResistanceHelper => add(Allowance, "ncc.annex1.10.2", 1)?,
        SchemeCode::Education => add(Allowance, "ncc.annex1.11.1", 1)?,
        SchemeCode::EducationReduced => add(Allowance, "ncc.annex1.11.2", 1)?,
        other => {
            return Err(RuleError::UnknownScheme {
                entitlement: a.ent.id(),
                scheme: other.code().to_owned(),
            })
        }
    }
    if a.scheme.params.living_alone && has(a, &SchemeParam::LivingAlone) {
        add(ExtraCare, "ncc.annex1.extra_care", 1)?;
    }
    Ok(out)
}

fn seniority(a: &Active<'_>) -> Option<u32> {
    a.terms.params.iter().find_map(|p| match p {
        SchemeParam::SeniorityUnits(n) => Some(u32::from(*n)),
        _ => None,
    })
}

fn martyrs_key(a: &Active<'_>) -> Result<&'static str, RuleError> {
    let n = a.terms.params.iter().find_map(|p| match p {
        SchemeParam::Martyrs(n) => Some(*n),
        _ => None,
    });
    Ok(match n.ok_or_else(|| a.missing("Martyrs"))? {
        0 | 1 => "ncc.annex1.3.1",
        2 => "ncc.annex1.3.2",
        _ => "ncc.annex1.3.3",
    })
}

/// The allowance key for an injury rate, and the Annex I section of its supplement.
fn injured_keys(a: &Active<'_>) -> Result<(String, &'static str), RuleError> {
    let r = injury(a)?;
    let key = match a.scheme.id {
        SchemeCode::WarInvalid => (format!("ncc.annex2.{r}"), "6.1"),
        SchemeCode::WarInvalidB => (format!("ncc.annex3.{r}"), "6.1"),
        SchemeCode::SickSoldier => (format!("ncc.annex1.7.1.{}", sick_soldier_band(r)), "7.1"),
        _ => (format!("ncc.annex1.8.1.{}", agent_orange_band(r)), "8.1"),
    };
    Ok(key)
}

fn sick_soldier_band(r: u8) -> &'static str {
    match r {
        0..=50 => "41_50",
        51..=60 => "51_60",
        61..=70 => "61_70",
        71..=80 => "71_80",
        81..=90 => "81_90",
        _ => "91_100",
    }
}

fn agent_orange_band(r: u8) -> &'static str {
    match r {
        0..=40 => "21_40",
        41..=60 => "41_60",
        61..=80 => "61_80",
        _ => "81_100",
    }
}

/// The three-month death lump sum: 3 × the monthly allowance and supplement excluding the carer
/// allowance (ND 131/2021 Art 121(2)), from the lines due in `priced_at` (the month of death).
pub(super) fn death_lump_sum(
    a: &Active<'_>,
    monthly_at_death: &[DueLine],
    at: At,
) -> Option<DueLine> {
    let basis: Vec<&DueLine> = monthly_at_death
        .iter()
        .filter(|l| l.scheme.starts_with("ncc.") && !l.scheme.ends_with("_carer"))
        .collect();
    let month_total: Vnd = basis.iter().map(|l| l.amount).sum();
    if month_total == Vnd::ZERO {
        return None;
    }
    let parts: Vec<&str> = basis.iter().map(|l| l.rule.as_str()).collect();
    let rule = format!("3 × ({})", super::cite_all(parts, " + "));
    let schedule = basis.first().map_or("", |l| l.schedule.as_str());
    Some(a.line(
        Vnd(month_total.0 * 3),
        ItemKind::OneOff,
        at.month,
        rule,
        schedule,
    ))
}

/// The funeral allowance: 10 × the base salary in force in the month of death (Ordinance
/// 02/2020 Art 6(4); ND 75/2021 Art 13(1); SI Law 2014 Art 66).
pub(super) fn funeral(
    a: &Active<'_>,
    rates: &RateBook<'_>,
    at: At,
    priced_at: Month,
) -> Result<DueLine, RuleError> {
    let priced = at.in_month(priced_at);
    let (multiple, multiple_rate) =
        rates.coefficient("ncc.funeral.base_salary_multiple", priced)?;
    let (salary, salary_rate) = rates.amount("ncc.base_salary", priced)?;
    let rule = format!("{} × {}", salary_rate.cite(), multiple_rate.cite());
    Ok(a.line(
        scale(salary, multiple, 1)?,
        ItemKind::OneOff,
        at.month,
        rule,
        salary_rate.schedule,
    ))
}

/// Convalescence (Annex IV): coefficient × standard, rounded to the thousand (Art 3(2)).
pub(super) fn convalescence(
    a: &Active<'_>,
    rates: &RateBook<'_>,
    at: At,
) -> Result<DueLine, RuleError> {
    let key = if a.scheme.id == SchemeCode::ConvalescenceHome {
        "ncc.annex4.convalescence_home"
    } else {
        "ncc.annex4.convalescence_centre"
    };
    let (coef, coef_rate) = rates.coefficient(key, at)?;
    let (standard, standard_rate) = rates.amount("ncc.standard", at)?;
    let rule = format!(
        "{} × {}, rounded to the thousand",
        standard_rate.cite(),
        coef_rate.cite()
    );
    Ok(a.line(
        scale(standard, coef, 1000)?,
        ItemKind::OneOff,
        at.month,
        rule,
        coef_rate.schedule,
    ))
}
