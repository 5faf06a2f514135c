//! Free text the ledger accepts: names, addresses, account holders, decision numbers, reasons.
//! One validator, used by `decide` (so by every interface: CLI, roster, HTTP) and by every
//! payment-file writer (`files::text`), so that whatever the ledger accepts a payment file can
//! carry, and a release never fails on a name that enrolment let in.
//!
//! Refused, because no bank file may carry them or because they make text lie about itself:
//! control characters (C0, DEL, C1), Unicode noncharacters (U+FDD0..U+FDEF and the last two
//! code points of every plane), bidirectional controls (which can make a name display as
//! another), line and paragraph separators, and text with no visible character at all (only
//! spaces and zero-width characters). Text that merely looks like a spreadsheet formula (`=`,
//! `+`, `-`, `@` first) is accepted here: the CSV writers neutralise it instead.

/// The longest free-text field accepted (names, reasons, decision numbers), in characters.
pub const TEXT_CHARS_MAX: usize = 200;

/// What is wrong with a piece of free text. The caller names the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextProblem {
    #[error("must not be empty")]
    Empty,
    #[error("is longer than {TEXT_CHARS_MAX} characters")]
    TooLong,
    #[error("contains control characters")]
    Control,
    #[error("contains a Unicode noncharacter")]
    Noncharacter,
    #[error("contains a bidirectional control character")]
    Bidi,
    #[error("contains a line or paragraph separator")]
    LineSeparator,
    #[error("has no visible character")]
    Invisible,
}

/// Checks one field: at least `min_chars` characters (0 for optional text such as an address
/// line), at most `TEXT_CHARS_MAX`, and nothing of the kinds listed in the module comment. A
/// required field (`min_chars >= 1`) must also show something.
pub fn check(value: &str, min_chars: usize) -> Result<(), TextProblem> {
    if value.chars().take(min_chars).count() < min_chars {
        return Err(TextProblem::Empty);
    }
    // Byte length bounds the character count from above, so most values skip the count.
    if value.len() > TEXT_CHARS_MAX && value.chars().count() > TEXT_CHARS_MAX {
        return Err(TextProblem::TooLong);
    }
    // Names are checked millions of times on the write path: plain ASCII text without
    // control characters is fine as it is.
    if value.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return visible(value, min_chars);
    }
    for c in value.chars() {
        if let Some(problem) = char_problem(c) {
            return Err(problem);
        }
    }
    visible(value, min_chars)
}

fn visible(value: &str, min_chars: usize) -> Result<(), TextProblem> {
    if min_chars > 0 && value.chars().all(|c| c.is_whitespace() || is_zero_width(c)) {
        return Err(TextProblem::Invisible);
    }
    Ok(())
}

/// Why a single character may not appear in ledger text, if it may not.
pub fn char_problem(c: char) -> Option<TextProblem> {
    match c {
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Some(TextProblem::Control),
        '\u{2028}' | '\u{2029}' => Some(TextProblem::LineSeparator),
        '\u{061c}'
        | '\u{200e}'
        | '\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}' => Some(TextProblem::Bidi),
        c if is_noncharacter(c) => Some(TextProblem::Noncharacter),
        _ => None,
    }
}

/// The 66 noncharacters of Unicode: U+FDD0..U+FDEF and U+nFFFE, U+nFFFF of every plane.
fn is_noncharacter(c: char) -> bool {
    let u = u32::from(c);
    (0xfdd0..=0xfdef).contains(&u) || (u & 0xfffe) == 0xfffe
}

/// Characters that take no space: a name made only of these (and spaces) shows nothing.
fn is_zero_width(c: char) -> bool {
    matches!(
        c,
        '\u{00ad}' | '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vietnamese_names_and_addresses_pass() {
        for ok in [
            "Nguyễn Thị Hoa",
            "Số 12 ngõ 34, phố Kim Mã",
            "TRAN VAN AN",
            "Nguyễn Văn A (con)",
            "=Hoa", // neutralised by the CSV writers, not refused
            "@dmin",
        ] {
            assert_eq!(check(ok, 1), Ok(()), "{ok:?}");
        }
        assert_eq!(check("", 0), Ok(()));
    }

    #[test]
    fn what_no_bank_file_may_carry_is_refused() {
        let cases = [
            ("", TextProblem::Empty),
            ("a\tb", TextProblem::Control),
            ("a\u{7f}b", TextProblem::Control),
            ("a\u{85}b", TextProblem::Control),
            ("a\u{2028}b", TextProblem::LineSeparator),
            ("a\u{2029}b", TextProblem::LineSeparator),
            ("a\u{202e}b", TextProblem::Bidi),
            ("a\u{2067}b", TextProblem::Bidi),
            ("a\u{200f}b", TextProblem::Bidi),
            ("a\u{fdd0}b", TextProblem::Noncharacter),
            ("a\u{fffe}b", TextProblem::Noncharacter),
            ("a\u{1ffff}b", TextProblem::Noncharacter),
            ("\u{200b}\u{200b}", TextProblem::Invisible),
            (" \u{feff} ", TextProblem::Invisible),
            ("   ", TextProblem::Invisible),
        ];
        for (text, problem) in cases {
            assert_eq!(check(text, 1), Err(problem), "{text:?}");
        }
        assert_eq!(check(&"x".repeat(201), 1), Err(TextProblem::TooLong));
        assert_eq!(check(&"ễ".repeat(200), 1), Ok(()));
    }
}
