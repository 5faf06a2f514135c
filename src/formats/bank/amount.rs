//! Reading VND amounts from files: whole dong only, strictly positive, never through a float.

use crate::domain::types::Vnd;

/// The most digits an ISO 20022 amount may have (`totalDigits` 18).
pub const AMOUNT_DIGITS_MAX: usize = 18;

/// Why an amount text is not a whole, positive number of dong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountProblem {
    /// Has a decimal point. VND has no minor unit (ISO 4217 exponent 0), so even `100.00` is
    /// refused: a file that writes decimals for VND was produced by something that got the
    /// currency wrong.
    #[error("has decimals; VND has no minor unit")]
    Fractional,
    #[error("is negative")]
    Negative,
    #[error("is zero")]
    Zero,
    #[error("has more than 18 digits")]
    TooLarge,
    #[error("is not a number")]
    NotANumber,
}

/// Parses `[0-9]+` as a positive whole amount of dong.
pub fn parse_vnd(text: &str) -> Result<Vnd, AmountProblem> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let numeric = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !numeric(whole)
        || fraction.is_some_and(|f| !numeric(f))
        || (whole.is_empty() && fraction.is_none_or(str::is_empty))
    {
        return Err(AmountProblem::NotANumber);
    }
    if negative && body.bytes().any(|b| b.is_ascii_digit() && b != b'0') {
        return Err(AmountProblem::Negative);
    }
    if fraction.is_some() {
        return Err(AmountProblem::Fractional);
    }
    let significant = whole.trim_start_matches('0');
    if significant.len() > AMOUNT_DIGITS_MAX {
        return Err(AmountProblem::TooLarge);
    }
    if significant.is_empty() {
        return Err(AmountProblem::Zero);
    }
    let value: i64 = significant.parse().map_err(|_| AmountProblem::TooLarge)?;
    Ok(Vnd(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_positive_dong_only() {
        assert_eq!(parse_vnd("1500000"), Ok(Vnd(1_500_000)));
        assert_eq!(parse_vnd("0001"), Ok(Vnd(1)));
        assert_eq!(parse_vnd("2460000.5"), Err(AmountProblem::Fractional));
        assert_eq!(parse_vnd("2460000.00"), Err(AmountProblem::Fractional));
        assert_eq!(parse_vnd("-5"), Err(AmountProblem::Negative));
        assert_eq!(parse_vnd("-5.5"), Err(AmountProblem::Negative));
        assert_eq!(parse_vnd("0"), Err(AmountProblem::Zero));
        assert_eq!(parse_vnd("-0"), Err(AmountProblem::Zero));
        assert_eq!(
            parse_vnd("1234567890123456789"),
            Err(AmountProblem::TooLarge)
        );
        assert_eq!(
            parse_vnd("999999999999999999"),
            Ok(Vnd(999_999_999_999_999_999))
        );
        for bad in ["", "-", ".", "1e6", "1,000", " 1", "0x10", "١٢"] {
            assert_eq!(parse_vnd(bad), Err(AmountProblem::NotANumber), "{bad:?}");
        }
    }
}
