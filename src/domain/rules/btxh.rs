//! BTXH monthly social assistance (ND 20/2021 as amended by ND 76/2024) and the HTXH social
//! pension (ND 176/2025): base × coefficient, age bands, and the combination rules.
//!
//! - Amount = base level × coefficient (Art 6(1)); coefficients are multiples of 0.5, so with
//!   the national bases every amount is whole thousands and no rounding arises (RULES.md §1.1).
//! - Only the single highest coefficient is paid (Art 6(2)), except the single parent's
//!   per-child allowance (5(4)), which is paid in addition.
//! - The social pension and a BTXH monthly allowance: the higher of the two, not both (ND
//!   176/2025, RULES.md §1.5); see `due::combine_pension`.
//!
//! Age (interpretation, docs/rules.md): a coefficient band changes in the month of the birthday
//! (Art 8: "from the month the beneficiary becomes eligible for the adjustment", read with Art
//! 8(1), under which 5(5)(b)/(c) start "from the month they turn 75/80"); eligibility that ends
//! at an age is paid through the month of that birthday (Art 8(3): termination takes effect the
//! month after eligibility is lost).

use crate::domain::event::{ItemKind, SchemeParam};
use crate::domain::types::{Date, Month, Programme, Vnd};

use super::scheme::SchemeCode;

use super::active::Active;
use super::rates::{scale, At, RateBook};
use super::{DueLine, RuleError};

/// Completed years of age on the last day of `month` (a birthday in `month` counts).
pub fn age_at_end(birth: Date, month: Month) -> i32 {
    let years = i32::from(month.year()) - i32::from(birth.year());
    if month.month() < birth.month_number() {
        years - 1
    } else {
        years
    }
}

/// The coefficient band of a scheme in a month, or `None` when the person is outside the
/// scheme's ages that month (nothing due).
fn band(
    scheme: SchemeCode,
    params: &[SchemeParam],
    birth: Option<Date>,
    month: Month,
) -> Result<Option<&'static str>, &'static str> {
    let ages =
        |birth: Option<Date>| birth.map(|b| (age_at_end(b, month), age_at_end(b, month.prev())));
    let needs_age = || ages(birth).ok_or("birth date");
    // `now` = age at the end of the month; `before` = at the end of the month before, so
    // `before < n` means "has not turned n before this month" (paid through the birthday month).
    use SchemeCode::*;
    let band = match scheme {
        ChildNoSupport | ChildHivPoor => {
            let (now, before) = needs_age()?;
            (before < 16).then_some(if now < 4 { "under_4" } else { "4_to_16" })
        }
        YouthStudying => {
            let (now, before) = needs_age()?;
            (now >= 16 && before < 22).then_some("16_to_22")
        }
        ChildUnder3DifficultArea => {
            let (_, before) = needs_age()?;
            (before < 3).then_some("under_3")
        }
        ElderlyPoorAlone => {
            let (now, _) = needs_age()?;
            (now >= 60).then_some(if now < 80 { "60_to_80" } else { "80_plus" })
        }
        Elderly75DifficultArea => (needs_age()?.0 >= 75).then_some("75_to_80"),
        Elderly80NoPension => (needs_age()?.0 >= 80).then_some("80_plus"),
        DisabilityEspeciallySevere | DisabilitySevere => {
            let (now, _) = needs_age()?;
            Some(if !(16..60).contains(&now) {
                "child_or_elderly"
            } else {
                "adult"
            })
        }
        // Art 20(2)(a): 1.5 when pregnant or raising one child under 36 months; 2.0 when
        // pregnant and raising one, or raising two or more.
        DisabledParent => {
            let pregnant = params.contains(&SchemeParam::Pregnant);
            let children = params.iter().find_map(|p| match p {
                SchemeParam::Children(n) => Some(*n),
                _ => None,
            });
            let count = u32::from(pregnant) + u32::from(children.unwrap_or(0));
            Some(if count >= 2 { "two" } else { "one" })
        }
        // Art 20(2)(d): per adult 1.5, per child 2.5; a child through the month of turning 16.
        FosterHousehold => {
            let (_, before) = needs_age()?;
            Some(if before < 16 { "child" } else { "adult" })
        }
        // Art 20(1): a 5(1) child, 2.5 under 4 and 1.5 to 16; a 5(5)(d) elderly person 1.5.
        CommunityFosterCare => {
            let (now, before) = needs_age()?;
            if now < 4 {
                Some("under_4")
            } else if before < 16 {
                Some("4_to_16")
            } else if now >= 60 {
                Some("elderly")
            } else {
                None
            }
        }
        // Art 25(1): 5.0 under 4, 4.0 from 4.
        FacilityCare => {
            let (now, _) = needs_age()?;
            Some(if now < 4 { "under_4" } else { "4_plus" })
        }
        _ => Some("any"),
    };
    Ok(band)
}

/// A BTXH monthly allowance line before the combination rules pick among them.
pub(super) struct Candidate {
    pub coefficient_milli: u32,
    pub line: DueLine,
}

/// The person's own BTXH allowance (the highest coefficient), the per-child allowances, the
/// allowances of Art 20 paid in addition (care allowance, disabled parent, foster and community
/// foster care) and care in a social-protection facility, which replaces them all (Art 25(5)).
pub(super) struct BtxhDue {
    pub own: Option<Candidate>,
    pub per_child: Vec<DueLine>,
    pub additional: Vec<DueLine>,
    pub facility: Option<DueLine>,
}

impl BtxhDue {
    /// The BTXH monthly lines after Art 25(5): in a facility, only the facility's amount; else
    /// the own allowance (to be compared with the social pension by the caller), and the rest.
    pub fn settle(self) -> (Option<DueLine>, Vec<DueLine>) {
        match self.facility {
            Some(f) => (Some(f), Vec::new()),
            None => {
                let mut rest = self.per_child;
                rest.extend(self.additional);
                (self.own.map(|c| c.line), rest)
            }
        }
    }
}

/// Schemes of ND 20/2021 Art 20 paid in addition to the person's own allowance, each its own
/// line (not part of the Art 6(2) highest-coefficient choice).
const ADDITIONAL: [SchemeCode; 4] = [
    SchemeCode::CareAllowance,
    SchemeCode::DisabledParent,
    SchemeCode::FosterHousehold,
    SchemeCode::CommunityFosterCare,
];

pub(super) fn monthly(
    active: &[Active<'_>],
    birth: Option<Date>,
    rates: &RateBook<'_>,
    at: At,
) -> Result<BtxhDue, RuleError> {
    let mut out = BtxhDue {
        own: None,
        per_child: Vec::new(),
        additional: Vec::new(),
        facility: None,
    };
    for a in active
        .iter()
        .filter(|a| a.scheme.programme == Programme::Btxh && !a.scheme.one_off)
    {
        let Some(c) = candidate(a, birth, rates, at)? else {
            continue;
        };
        if a.scheme.id == SchemeCode::SingleParentPoor {
            out.per_child.push(c.line);
        } else if ADDITIONAL.contains(&a.scheme.id) {
            out.additional.push(c.line);
        } else if a.scheme.id == SchemeCode::FacilityCare {
            // Two facility decisions in force at once: the earlier (one place of care).
            if out.facility.is_none() {
                out.facility = Some(c.line);
            }
        } else if out
            .own
            .as_ref()
            .is_none_or(|best| c.coefficient_milli > best.coefficient_milli)
        {
            // Strictly greater: on a tie the earlier entitlement (lower id) stays.
            out.own = Some(c);
        }
    }
    Ok(out)
}

fn candidate(
    a: &Active<'_>,
    birth: Option<Date>,
    rates: &RateBook<'_>,
    at: At,
) -> Result<Option<Candidate>, RuleError> {
    let code = a.scheme.code();
    let band = band(a.scheme.id, a.terms.params, birth, at.month).map_err(|_| {
        RuleError::BirthDateUnknown {
            entitlement: a.ent.id(),
            scheme: code.to_owned(),
        }
    })?;
    let Some(band) = band else {
        return Ok(None);
    };
    let group = &code["btxh.".len()..];
    let (coef, coef_rate) = rates.coefficient(&format!("btxh.coef.{group}.{band}"), at)?;
    let (base, base_rate) = rates.amount("btxh.base", at)?;
    let (multiplier, per) = children(a)?;
    let milli = coef.checked_mul(multiplier).ok_or(RuleError::Overflow)?;
    let rule = format!("{} × {}{per}", base_rate.cite(), coef_rate.cite());
    Ok(Some(Candidate {
        coefficient_milli: milli,
        line: a.line(
            scale(base, milli, 1)?,
            ItemKind::Regular,
            at.month,
            rule,
            base_rate.schedule,
        ),
    }))
}

/// The per-child multiplier of the single-parent allowance (1 for every other scheme).
fn children(a: &Active<'_>) -> Result<(u32, String), RuleError> {
    if a.scheme.id != SchemeCode::SingleParentPoor {
        return Ok((1, String::new()));
    }
    let n = a.terms.params.iter().find_map(|p| match p {
        SchemeParam::Children(n) => Some(u32::from(*n)),
        _ => None,
    });
    let n = n.ok_or_else(|| a.missing("Children"))?;
    Ok((n, format!(" × {n} children")))
}

/// The social pension line of the first HTXH entitlement in force (one pension per person).
pub(super) fn pension(
    active: &[Active<'_>],
    rates: &RateBook<'_>,
    at: At,
) -> Result<Option<DueLine>, RuleError> {
    let Some(a) = active
        .iter()
        .find(|a| a.scheme.id == SchemeCode::SocialPension)
    else {
        return Ok(None);
    };
    let (amount, rate) = rates.amount("htxh.social_pension", at)?;
    Ok(Some(a.line(
        amount,
        ItemKind::Regular,
        at.month,
        rate.cite(),
        rate.schedule,
    )))
}

/// BTXH funeral support: 20 × base (Art 11), or on a death in a social-protection facility
/// 50 × base (Art 25(3)), at the base in force in `priced_at`.
pub(super) fn funeral_support(
    a: &Active<'_>,
    rates: &RateBook<'_>,
    at: At,
    priced_at: Month,
) -> Result<DueLine, RuleError> {
    let priced = at.in_month(priced_at);
    let key = format!("btxh.coef.{}.any", &a.scheme.code()["btxh.".len()..]);
    let (coef, coef_rate) = rates.coefficient(&key, priced)?;
    let (base, base_rate) = rates.amount("btxh.base", priced)?;
    let amount: Vnd = scale(base, coef, 1)?;
    let rule = format!("{} × {}", base_rate.cite(), coef_rate.cite());
    Ok(a.line(amount, ItemKind::OneOff, at.month, rule, base_rate.schedule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn m(s: &str) -> Month {
        Month::parse(s).unwrap()
    }

    #[test]
    fn age_counts_the_birthday_month() {
        assert_eq!(age_at_end(d("2020-03-31"), m("2024-02")), 3);
        assert_eq!(age_at_end(d("2020-03-31"), m("2024-03")), 4);
        assert_eq!(age_at_end(d("2020-02-29"), m("2024-02")), 4);
    }

    #[test]
    fn bands_follow_the_birthday_month() {
        let child = Some(d("2020-03-15"));
        assert_eq!(
            band(SchemeCode::ChildNoSupport, &[], child, m("2024-02")),
            Ok(Some("under_4"))
        );
        assert_eq!(
            band(SchemeCode::ChildNoSupport, &[], child, m("2024-03")),
            Ok(Some("4_to_16"))
        );
        assert_eq!(
            band(SchemeCode::ChildNoSupport, &[], child, m("2036-03")),
            Ok(Some("4_to_16")),
            "paid through the 16th birthday month"
        );
        assert_eq!(
            band(SchemeCode::ChildNoSupport, &[], child, m("2036-04")),
            Ok(None)
        );
        let adult = Some(d("1964-08-01"));
        assert_eq!(
            band(SchemeCode::DisabilitySevere, &[], adult, m("2024-07")),
            Ok(Some("adult"))
        );
        assert_eq!(
            band(SchemeCode::DisabilitySevere, &[], adult, m("2024-08")),
            Ok(Some("child_or_elderly"))
        );
        assert_eq!(
            band(
                SchemeCode::Elderly80NoPension,
                &[],
                Some(d("1944-09-10")),
                m("2024-08")
            ),
            Ok(None)
        );
        assert_eq!(
            band(
                SchemeCode::Elderly80NoPension,
                &[],
                Some(d("1944-09-10")),
                m("2024-09")
            ),
            Ok(Some("80_plus"))
        );
        assert_eq!(
            band(SchemeCode::HivPoor, &[], None, m("2024-09")),
            Ok(Some("any"))
        );
        assert!(band(SchemeCode::DisabilitySevere, &[], None, m("2024-09")).is_err());
    }
}
