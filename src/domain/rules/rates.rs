//! Bitemporal rate selection and the integer arithmetic on rates (scaling by a coefficient in
//! thousandths, rounding to the thousand).
//!
//! Selection (RULES.md §5, "parameter sets should be date-effective, with an effective_from and an
//! enacted_on"; ND 131/2021 Art 183(2): arrears use "the rate in force in each period"): for a
//! key, month M, as known at sequence number S, take the schedules recorded before S (seq < S)
//! that contain the key, and of those the one with the latest `applies_from` <= M. A schedule of
//! the person's province beats a national one (ND 20/2021 Art 4(3): provinces may set higher
//! levels); among equal `applies_from`, the later-recorded one wins (a correction).

use std::collections::HashMap;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::domain::event::{RateScheduleEnacted, RateValue};
use crate::domain::state::RateSchedule;
use crate::domain::types::{Month, ProvinceCode, Vnd};

use super::RuleError;

/// One rate as selected, with where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate<'a> {
    pub key: &'a str,
    pub value: RateValue,
    pub schedule: &'a str,
    pub instrument: &'a str,
}

impl Rate<'_> {
    /// `key@schedule`, the form rule strings cite.
    pub fn cite(&self) -> String {
        format!("{}@{}", self.key, self.schedule)
    }
}

#[derive(Debug, Clone, Copy)]
struct Candidate<'a> {
    key: &'a str,
    applies_from: Month,
    seq: u64,
    province: Option<ProvinceCode>,
    value: RateValue,
    schedule: &'a RateScheduleEnacted,
}

/// An index of recorded schedules by rate key, built once per batch and borrowed by every
/// computation. Candidates are kept newest first, so a lookup stops at the first that fits.
#[derive(Debug, Clone, Default)]
pub struct RateBook<'a> {
    by_key: HashMap<&'a str, Vec<Candidate<'a>>>,
}

impl<'a> RateBook<'a> {
    /// From the state's schedules (each with the sequence number it was recorded at).
    pub fn new(schedules: &'a [RateSchedule]) -> RateBook<'a> {
        RateBook::from_recorded(schedules.iter().map(|s| (&s.enacted, s.seq)))
    }

    /// From (schedule, sequence number it was recorded at) pairs.
    pub fn from_recorded(
        recorded: impl IntoIterator<Item = (&'a RateScheduleEnacted, u64)>,
    ) -> RateBook<'a> {
        let mut by_key: HashMap<&'a str, Vec<Candidate<'a>>> = HashMap::new();
        for (schedule, seq) in recorded {
            for entry in &schedule.entries {
                by_key
                    .entry(entry.key.as_str())
                    .or_default()
                    .push(Candidate {
                        key: entry.key.as_str(),
                        applies_from: schedule.applies_from,
                        seq,
                        province: schedule.province,
                        value: entry.value,
                        schedule,
                    });
            }
        }
        for list in by_key.values_mut() {
            list.sort_by_key(|c| std::cmp::Reverse((c.applies_from, c.seq)));
        }
        RateBook { by_key }
    }

    /// The rate of `key` for `month` as known at `known_at`, for a person in `province`.
    pub fn find(
        &self,
        key: &str,
        month: Month,
        known_at: u64,
        province: Option<ProvinceCode>,
    ) -> Option<Rate<'a>> {
        let list = self.by_key.get(key)?;
        let fits = |c: &&Candidate<'a>| c.seq < known_at && c.applies_from <= month;
        let provincial =
            province.and_then(|p| list.iter().filter(fits).find(|c| c.province == Some(p)));
        let chosen =
            provincial.or_else(|| list.iter().filter(fits).find(|c| c.province.is_none()))?;
        Some(Rate {
            key: chosen.key,
            value: chosen.value,
            schedule: &chosen.schedule.schedule,
            instrument: &chosen.schedule.instrument,
        })
    }
}

/// The context of one lookup: which month, as known when, for which province.
#[derive(Debug, Clone, Copy)]
pub struct At {
    pub month: Month,
    pub known_at: u64,
    pub province: Option<ProvinceCode>,
}

impl At {
    /// The same question about another month: a one-off priced at the rates of the month that
    /// caused it (a death), as known now.
    pub fn in_month(self, month: Month) -> At {
        At { month, ..self }
    }
}

impl<'a> RateBook<'a> {
    pub fn rate(&self, key: &str, at: At) -> Result<Rate<'a>, RuleError> {
        self.find(key, at.month, at.known_at, at.province)
            .ok_or_else(|| RuleError::NoRate {
                key: key.to_owned(),
                month: at.month,
            })
    }

    /// An `amount` rate, refusing a coefficient under that key.
    pub fn amount(&self, key: &str, at: At) -> Result<(Vnd, Rate<'a>), RuleError> {
        let rate = self.rate(key, at)?;
        match rate.value {
            RateValue::Amount(v) => Ok((v, rate)),
            RateValue::CoefficientMilli(_) => Err(wrong_unit(&rate, "amount")),
        }
    }

    /// A `coefficient` rate in thousandths, refusing an amount under that key.
    pub fn coefficient(&self, key: &str, at: At) -> Result<(u32, Rate<'a>), RuleError> {
        let rate = self.rate(key, at)?;
        match rate.value {
            RateValue::CoefficientMilli(c) => Ok((c, rate)),
            RateValue::Amount(_) => Err(wrong_unit(&rate, "coefficient")),
        }
    }
}

fn wrong_unit(rate: &Rate<'_>, expected: &str) -> RuleError {
    RuleError::WrongUnit {
        key: rate.key.to_owned(),
        schedule: rate.schedule.to_owned(),
        expected: expected.to_owned(),
    }
}

/// A coefficient recorded in thousandths (`RateValue::CoefficientMilli`, the stored form) as
/// the exact decimal it is: 2500 is 2.5.
pub fn coefficient(milli: u32) -> Decimal {
    Decimal::new(i64::from(milli), 3)
}

/// `amount × coefficient`, rounded half up to a multiple of `unit` dong (1 = whole dong, 1000 =
/// the thousand). Exact decimal arithmetic (`rust_decimal`); money goes in and comes out as
/// whole dong. Amounts are never negative here, so half up is half away from zero.
pub fn scale(amount: Vnd, milli: u32, unit: i64) -> Result<Vnd, RuleError> {
    let exact = Decimal::from(amount.0)
        .checked_mul(coefficient(milli))
        .ok_or(RuleError::Overflow)?;
    let units = exact
        .checked_div(Decimal::from(unit))
        .ok_or(RuleError::Overflow)?
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let rounded = units
        .checked_mul(Decimal::from(unit))
        .ok_or(RuleError::Overflow)?;
    i64::try_from(rounded)
        .map(Vnd)
        .map_err(|_| RuleError::Overflow)
}

/// Rounds to the thousand dong, half up (ND 55/2023 and ND 77/2024 Art 3(2): amounts derived
/// from the standard "are rounded to the thousand đồng"; the direction at exactly 500 is not
/// stated, see docs/rules.md).
pub fn round_thousand(amount: Vnd) -> Result<Vnd, RuleError> {
    scale(amount, 1000, 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The decimal computation equals the integer one it replaced (i128, half up), on the
    /// amounts and coefficients the rules meet and on every rounding boundary around them.
    #[test]
    fn scale_is_the_exact_half_up_product() {
        let integer = |amount: i64, milli: u32, unit: i64| {
            let den = 1000 * i128::from(unit);
            let product = i128::from(amount) * i128::from(milli);
            ((product + den / 2).div_euclid(den) * i128::from(unit)) as i64
        };
        for amount in [
            0, 1, 499, 500, 360_000, 500_000, 1_624_000, 2_055_000, 2_789_000,
        ] {
            for milli in [
                500, 900, 1000, 1500, 1800, 2000, 2500, 3000, 4000, 5000, 20_000, 50_000,
            ] {
                for unit in [1, 1000] {
                    for a in [amount, amount + 1, amount + 333, amount + 555] {
                        assert_eq!(
                            scale(Vnd(a), milli, unit),
                            Ok(Vnd(integer(a, milli, unit))),
                            "{a} × {milli}‰ to {unit}"
                        );
                    }
                }
            }
        }
        // RULES §3.3: 0.9 × 2,055,000 = 1,849,500, half up to 1,850,000.
        assert_eq!(scale(Vnd(2_055_000), 900, 1000), Ok(Vnd(1_850_000)));
        assert_eq!(coefficient(2500).to_string(), "2.500");
    }
    use crate::domain::event::RateEntry;
    use crate::domain::types::Date;

    fn schedule(id: &str, applies: &str, province: Option<&str>, base: i64) -> RateScheduleEnacted {
        RateScheduleEnacted {
            schedule: id.into(),
            programme: crate::domain::types::Programme::Btxh,
            instrument: id.to_uppercase(),
            applies_from: Month::parse(applies).unwrap(),
            enacted_on: Date::parse("2024-01-01").unwrap(),
            province: province.map(|p| ProvinceCode::parse(p).unwrap()),
            entries: vec![RateEntry {
                key: "btxh.base".into(),
                value: RateValue::Amount(Vnd(base)),
            }],
            source_digest: [0; 32],
        }
    }

    #[test]
    fn picks_latest_applicable_as_known() {
        let a = schedule("a", "2021-07", None, 360_000);
        let b = schedule("b", "2024-07", None, 500_000);
        let hn = schedule("hn", "2024-01", Some("01"), 450_000);
        let book = RateBook::from_recorded([(&a, 1), (&b, 10), (&hn, 5)]);
        let m = |s| Month::parse(s).unwrap();
        let at = |month, known_at| {
            book.find("btxh.base", m(month), known_at, None)
                .map(|r| r.schedule)
        };
        assert_eq!(at("2024-06", 100), Some("a"));
        assert_eq!(at("2024-07", 100), Some("b"));
        assert_eq!(at("2024-07", 10), Some("a"), "b is not known before seq 10");
        assert_eq!(at("2021-06", 100), None);
        assert_eq!(at("2024-07", 1), None);
        let hanoi = Some(ProvinceCode::parse("01").unwrap());
        assert_eq!(
            book.find("btxh.base", m("2024-08"), 100, hanoi)
                .unwrap()
                .schedule,
            "hn"
        );
        assert_eq!(
            book.find("btxh.base", m("2023-12"), 100, hanoi)
                .unwrap()
                .schedule,
            "a"
        );
    }

    #[test]
    fn a_later_record_with_the_same_start_wins() {
        let a = schedule("a", "2024-07", None, 500_000);
        let fix = schedule("fix", "2024-07", None, 510_000);
        let book = RateBook::from_recorded([(&a, 1), (&fix, 2)]);
        let r = book
            .find("btxh.base", Month::parse("2024-09").unwrap(), 3, None)
            .unwrap();
        assert_eq!(
            (r.schedule, r.value),
            ("fix", RateValue::Amount(Vnd(510_000)))
        );
    }

    #[test]
    fn scaling_is_exact_and_rounds_half_up() {
        assert_eq!(scale(Vnd(500_000), 2500, 1).unwrap(), Vnd(1_250_000));
        assert_eq!(
            scale(Vnd(2_055_000), 900, 1000).unwrap(),
            Vnd(1_850_000),
            "1,849,500 rounds up"
        );
        assert_eq!(scale(Vnd(2_789_000), 900, 1000).unwrap(), Vnd(2_510_000));
        assert_eq!(scale(Vnd(2_789_000), 1800, 1000).unwrap(), Vnd(5_020_000));
        assert_eq!(round_thousand(Vnd(1_499)).unwrap(), Vnd(1_000));
        assert_eq!(round_thousand(Vnd(1_500)).unwrap(), Vnd(2_000));
    }
}
