//! `due`: every line due to one person for one month, as known at a sequence number, across
//! programmes (the combination rules cross them), before anything already paid is considered.
//!
//! Life-cycle on top of `lifecycle::terms_at`: a monthly entitlement is due through the month
//! of death and not after (BTXH: ND 20/2021 Art 8(3), the month of death is paid in full; NCC:
//! ND 131/2021 Art 125, survivors start the month after, so the deceased's own allowance runs
//! through the month of death). One-offs are due once, in their month; those caused by a death
//! are priced at the rates of the month of death.

use crate::domain::types::Month;

use super::active::Active;
use super::catalogue;
use super::lifecycle::terms_at;
use super::rates::{At, RateBook};
use super::scheme::SchemeCode;
use super::{btxh, ncc, DueLine, Person, RuleError};

/// Everything due to `person` for `month` as known at `known_at` (only records with seq <
/// `known_at` count), itemised; lines in entitlement order. Amounts are never negative, and
/// nothing is due for a month before the person's birth.
pub fn due(
    person: &Person<'_>,
    rates: &RateBook<'_>,
    month: Month,
    known_at: u64,
) -> Result<Vec<DueLine>, RuleError> {
    // Nobody is owed anything for a month before they were born, whatever a decision says.
    if person.birth_date.is_some_and(|b| month < b.month()) {
        return Ok(Vec::new());
    }
    let at = At {
        month,
        known_at,
        province: person.province,
    };
    let mut lines = monthly_lines(person, rates, at)?;
    lines.extend(one_off_lines(person, rates, at)?);
    lines.sort_by_key(|l| l.entitlement);
    Ok(lines)
}

/// The entitlements in force in `at.month`: monthly ones (not after the month of death) or
/// one-offs of that month.
fn active<'a>(person: &Person<'a>, at: At, one_off: bool) -> Result<Vec<Active<'a>>, RuleError> {
    let died = person.date_of_death.map(|d| d.month());
    let mut out = Vec::new();
    for &ent in person.entitlements {
        let Some(terms) = terms_at(ent, at.month, at.known_at) else {
            continue;
        };
        let scheme = catalogue::scheme(terms.scheme).ok_or_else(|| RuleError::UnknownScheme {
            entitlement: ent.id(),
            scheme: terms.scheme.to_owned(),
        })?;
        if scheme.one_off != one_off || (!one_off && died.is_some_and(|d| at.month > d)) {
            continue;
        }
        out.push(Active { ent, terms, scheme });
    }
    out.sort_by_key(|a| a.ent.id());
    Ok(out)
}

fn monthly_lines(
    person: &Person<'_>,
    rates: &RateBook<'_>,
    at: At,
) -> Result<Vec<DueLine>, RuleError> {
    let act = active(person, at, false)?;
    if act.is_empty() {
        return Ok(Vec::new());
    }
    let (own, rest) = btxh::monthly(&act, person.birth_date, rates, at)?.settle();
    let pension = btxh::pension(&act, rates, at)?;
    let mut lines = combine_pension(own, pension);
    lines.extend(rest);
    lines.extend(ncc::monthly(&act, rates, at)?);
    Ok(lines)
}

/// The social pension or the person's own BTXH allowance, whichever is higher, not both (ND
/// 176/2025; RULES.md §1.5). On a tie the BTXH allowance stays: moving a person between
/// programmes needs a decision, not a rounding accident. The per-child allowance is the
/// children's and is not part of the comparison.
fn combine_pension(own: Option<DueLine>, pension: Option<DueLine>) -> Vec<DueLine> {
    match (own, pension) {
        (Some(o), Some(p)) if p.amount > o.amount => vec![p],
        (Some(o), _) => vec![o],
        (None, p) => p.into_iter().collect(),
    }
}

/// The funeral benefits of which only the highest is paid.
const FUNERAL_SCHEMES: [SchemeCode; 3] = [
    SchemeCode::FuneralSupport,
    SchemeCode::FacilityDeath,
    SchemeCode::Funeral,
];

fn one_off_lines(
    person: &Person<'_>,
    rates: &RateBook<'_>,
    at: At,
) -> Result<Vec<DueLine>, RuleError> {
    let act = active(person, at, true)?;
    let priced_at = person.date_of_death.map_or(at.month, |d| d.month());
    let mut lines = Vec::new();
    for a in &act {
        let line = match a.scheme.id {
            SchemeCode::FuneralSupport | SchemeCode::FacilityDeath => {
                Some(btxh::funeral_support(a, rates, at, priced_at)?)
            }
            SchemeCode::Funeral => Some(ncc::funeral(a, rates, at, priced_at)?),
            SchemeCode::DeathLumpSum => {
                let at_death = monthly_lines(person, rates, at.in_month(priced_at))?;
                ncc::death_lump_sum(a, &at_death, at)
            }
            SchemeCode::ConvalescenceHome | SchemeCode::ConvalescenceCentre => {
                Some(ncc::convalescence(a, rates, at)?)
            }
            other => {
                return Err(RuleError::UnknownScheme {
                    entitlement: a.ent.id(),
                    scheme: other.code().to_owned(),
                })
            }
        };
        lines.extend(line);
    }
    keep_highest_funeral(&mut lines);
    Ok(lines)
}

/// Only the highest funeral benefit is paid (ND 20/2021 Art 11; RULES.md §2.5: "only one
/// funeral allowance is paid even if the person qualifies several ways"). Ties: the earlier.
fn keep_highest_funeral(lines: &mut Vec<DueLine>) {
    let is_funeral = |l: &DueLine| {
        FUNERAL_SCHEMES
            .iter()
            .any(|s| s.code() == l.scheme.as_str())
    };
    let best = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| is_funeral(l))
        .max_by(|x, y| x.1.amount.cmp(&y.1.amount).then(y.0.cmp(&x.0)))
        .map(|(i, _)| i);
    let mut i = 0;
    lines.retain(|l| {
        i += 1;
        !is_funeral(l) || best == Some(i - 1)
    });
}
