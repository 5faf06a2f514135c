//! `IsoDateTime`: the ISO 8601 / `xs:dateTime` timestamps that files carry (`CreDtTm`).
//!
//! The module never reads a clock: a file's creation time is passed in by the caller, so the
//! same input always gives the same bytes.

use std::fmt;

use crate::domain::types::Date;

/// A civil date and time of day with an optional UTC offset, as `xs:dateTime` allows.
/// Files we write always carry an offset (Vietnam is `+07:00`); reports we read may omit it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct IsoDateTime {
    date: Date,
    hour: u8,
    minute: u8,
    second: u8,
    /// Fraction of a second in nanoseconds (0 when the text had none).
    nanos: u32,
    /// Offset from UTC in minutes; `None` when the text had no zone designator.
    offset_minutes: Option<i16>,
}

/// Why a timestamp could not be read or built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an ISO 8601 date-time (YYYY-MM-DDThh:mm:ss[.fff][Z|±hh:mm]): {reason}")]
pub struct DateTimeError {
    pub text: String,
    pub reason: &'static str,
}

/// Vietnam's offset from UTC (Indochina Time, no daylight saving), in minutes.
pub use crate::domain::types::VIETNAM_OFFSET_MINUTES;

impl IsoDateTime {
    /// A whole-second timestamp at a fixed offset (minutes east of UTC).
    pub fn new(
        date: Date,
        hour: u8,
        minute: u8,
        second: u8,
        offset_minutes: i16,
    ) -> Result<IsoDateTime, DateTimeError> {
        let bad = |reason| DateTimeError {
            text: format!("{date}T{hour:02}:{minute:02}:{second:02}"),
            reason,
        };
        if hour > 23 || minute > 59 || second > 59 {
            return Err(bad("time of day out of range"));
        }
        if offset_minutes.unsigned_abs() > 14 * 60 {
            return Err(bad("offset beyond ±14:00"));
        }
        Ok(IsoDateTime {
            date,
            hour,
            minute,
            second,
            nanos: 0,
            offset_minutes: Some(offset_minutes),
        })
    }

    /// Parses the `xs:dateTime` lexical form (years 1900-2999, as `Date` accepts).
    pub fn parse(text: &str) -> Result<IsoDateTime, DateTimeError> {
        let bad = |reason| DateTimeError {
            text: text.chars().take(64).collect(),
            reason,
        };
        let (date_text, rest) = text
            .split_once('T')
            .ok_or_else(|| bad("no 'T' separator"))?;
        let date = Date::parse(date_text).map_err(|_| bad("invalid date"))?;
        let b = rest.as_bytes();
        if b.len() < 8 || b[2] != b':' || b[5] != b':' {
            return Err(bad("time must be hh:mm:ss"));
        }
        let hour = two_digits(&b[0..2]).ok_or_else(|| bad("hour is not two digits"))?;
        let minute = two_digits(&b[3..5]).ok_or_else(|| bad("minute is not two digits"))?;
        let second = two_digits(&b[6..8]).ok_or_else(|| bad("second is not two digits"))?;
        let (nanos, zone) =
            parse_fraction(&rest[8..]).ok_or_else(|| bad("bad fraction of a second"))?;
        let offset_minutes = parse_zone(zone).ok_or_else(|| bad("bad zone (Z or ±hh:mm)"))?;
        let mut parsed = IsoDateTime::new(date, hour, minute, second, offset_minutes.unwrap_or(0))
            .map_err(|e| bad(e.reason))?;
        parsed.nanos = nanos;
        parsed.offset_minutes = offset_minutes;
        Ok(parsed)
    }

    pub fn date(&self) -> Date {
        self.date
    }

    pub fn offset_minutes(&self) -> Option<i16> {
        self.offset_minutes
    }
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [h @ b'0'..=b'9', l @ b'0'..=b'9'] => Some((h - b'0') * 10 + (l - b'0')),
        _ => None,
    }
}

/// Splits `.fffffffff` off the front; returns nanoseconds and the rest (the zone).
fn parse_fraction(text: &str) -> Option<(u32, &str)> {
    let Some(after_dot) = text.strip_prefix('.') else {
        return Some((0, text));
    };
    let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
    if digits == 0 || digits > 9 {
        return None;
    }
    let mut nanos: u32 = after_dot[..digits].parse().ok()?;
    for _ in digits..9 {
        nanos *= 10;
    }
    Some((nanos, &after_dot[digits..]))
}

/// `""` → no zone, `Z` → 0, `±hh:mm` → minutes. `None` when malformed.
fn parse_zone(zone: &str) -> Option<Option<i16>> {
    match zone.as_bytes() {
        [] => Some(None),
        [b'Z'] => Some(Some(0)),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] => {
            let h = two_digits(&[*h1, *h2])?;
            let m = two_digits(&[*m1, *m2])?;
            if h > 14 || m > 59 {
                return None;
            }
            let minutes = i16::from(h) * 60 + i16::from(m);
            Some(Some(if *sign == b'-' { -minutes } else { minutes }))
        }
        _ => None,
    }
}

impl fmt::Display for IsoDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}T{:02}:{:02}:{:02}",
            self.date, self.hour, self.minute, self.second
        )?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        match self.offset_minutes {
            None => Ok(()),
            Some(0) => f.write_str("Z"),
            Some(m) => {
                let sign = if m < 0 { '-' } else { '+' };
                let m = m.unsigned_abs();
                write!(f, "{sign}{:02}:{:02}", m / 60, m % 60)
            }
        }
    }
}

impl fmt::Debug for IsoDateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IsoDateTime({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_the_forms_files_use() {
        for text in [
            "2025-12-05T16:10:00+07:00",
            "2025-12-05T16:10:00Z",
            "2025-12-05T16:10:00",
            "2025-12-05T16:10:00.25-05:30",
        ] {
            assert_eq!(IsoDateTime::parse(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_timestamps() {
        for text in [
            "2025-12-05",
            "2025-12-05T25:00:00",
            "2025-13-05T10:00:00",
            "2025-12-05T10:00",
            "2025-12-05T10:00:00+7",
            "2025-12-05T10:00:00.",
            "2025-12-05T10:00:00+15:00",
            "2025-12-05T1a:00:00",
        ] {
            assert!(IsoDateTime::parse(text).is_err(), "{text}");
        }
    }
}
