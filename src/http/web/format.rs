//! How the dashboard writes numbers, money and dates: the Vietnamese way in both languages,
//! because the amounts and dates are Vietnamese documents' (`1.250.000 ₫`, `25/07/2024`,
//! `07/2024`).

use crate::domain::event::Channel;
use crate::domain::types::{Date, Month, Vnd, VIETNAM_OFFSET_MINUTES};

/// A whole number with dots between thousands: `1.250.000`.
pub fn number(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// An amount of dong: `1.250.000 ₫`.
pub fn vnd(amount: Vnd) -> String {
    format!("{} ₫", number(amount.0))
}

/// A date: `25/07/2024`.
pub fn date(d: Date) -> String {
    format!("{:02}/{:02}/{:04}", d.day(), d.month_number(), d.year())
}

/// A month: `07/2024`.
pub fn month(m: Month) -> String {
    format!("{:02}/{:04}", m.month(), m.year())
}

/// A Unix-millisecond time in Vietnam's time: `25/07/2024 14:05`.
pub fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000) + i64::from(VIETNAM_OFFSET_MINUTES) * 60;
    let day = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let rem = secs.rem_euclid(86_400);
    format!("{} {:02}:{:02}", date(day), rem / 3600, rem % 3600 / 60)
}

/// Where money goes: a bank by its short name, or cash.
pub fn channel(c: Channel, cash: &str) -> String {
    match c {
        Channel::Bank(bin) => crate::formats::reference::Reference::embedded()
            .bank(bin)
            .map_or_else(|_| bin.to_string(), |b| format!("{} ({bin})", b.short_name)),
        Channel::Cash => cash.to_owned(),
    }
}

/// A value of the domain (a status, a break's kind) in plain words, from its serialised form:
/// `amount_mismatch payment 12 expected 100000 reported 90000`.
pub fn words<T: serde::Serialize>(value: &T) -> String {
    fn flat(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    out.push(k.replace('_', " "));
                    flat(v, out);
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|i| flat(i, out)),
            serde_json::Value::String(s) => out.push(s.replace('_', " ")),
            serde_json::Value::Null => {}
            other => out.push(other.to_string()),
        }
    }
    let mut out = Vec::new();
    flat(&serde_json::to_value(value).unwrap_or_default(), &mut out);
    out.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_are_written_the_vietnamese_way() {
        assert_eq!(vnd(Vnd(1_250_000)), "1.250.000 ₫");
        assert_eq!(vnd(Vnd(0)), "0 ₫");
        assert_eq!(vnd(Vnd(-360_000)), "-360.000 ₫");
        assert_eq!(number(999), "999");
        assert_eq!(number(1_000), "1.000");
        assert_eq!(date(Date::parse("2024-07-25").unwrap()), "25/07/2024");
        assert_eq!(month(Month::parse("2024-07").unwrap()), "07/2024");
    }
}
