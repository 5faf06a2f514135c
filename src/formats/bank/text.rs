//! Text that goes into files: normalising free text (names, remittance), checking identifiers,
//! truncating to ISO 20022 length limits, and escaping for XML and CSV.
//!
//! ISO 20022 `MaxNNText` limits count characters (Unicode scalar values), not bytes, and that
//! is what `xmllint` enforces, so every limit here counts `char`s.

use std::borrow::Cow;

/// `Max35Text`: MsgId, PmtInfId, EndToEndId, organisation and person `Othr/Id`.
pub const MAX35_CHARS: usize = 35;
/// `Max140Text`: party names (`Nm`) and unstructured remittance (`Ustrd`).
pub const MAX140_CHARS: usize = 140;
/// `Max105Text`: `StsRsnInf/AddtlInf` in status reports.
pub const MAX105_CHARS: usize = 105;

/// What is wrong with a piece of free text. The caller adds which field and line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Empty, or only whitespace (every `MaxNNText` has `minLength` 1).
    Empty,
    /// A character no file may carry: what XML 1.0 cannot hold, and what the ledger itself
    /// refuses in free text (`domain::text`: controls, noncharacters, bidirectional controls,
    /// line separators). The ledger never accepts such text, so a release never meets it.
    ForbiddenCharacter,
}

/// Free text made fit for a file: whitespace runs (including tabs and line breaks) collapsed
/// to one space, trimmed, and cut to `max_chars`. Returns the text and whether it was cut.
///
/// Cutting happens at a character boundary and never leaves a base letter without the
/// combining marks that followed it (decomposed Vietnamese puts tone marks in separate
/// code points, and "Nguyễn" cut to "Nguye" would name someone else): the cut moves back
/// before the whole letter instead.
pub fn normalize_free_text(
    raw: &str,
    max_chars: usize,
) -> Result<(Cow<'_, str>, bool), TextProblem> {
    if raw.chars().any(forbidden) {
        return Err(TextProblem::ForbiddenCharacter);
    }
    let collapsed = collapse_whitespace(raw);
    if collapsed.is_empty() || !collapsed.chars().any(|c| !c.is_whitespace()) {
        return Err(TextProblem::Empty);
    }
    match cut_index(&collapsed, max_chars) {
        None => Ok((collapsed, false)),
        Some(cut) => {
            let kept = collapsed[..cut].trim_end();
            if kept.is_empty() {
                return Err(TextProblem::Empty);
            }
            Ok((Cow::Owned(kept.to_owned()), true))
        }
    }
}

/// What no file carries. Whitespace controls are allowed here because they are collapsed to a
/// space; everything else the ledger's own validator refuses is refused (it covers XML 1.0's
/// exclusions: C0 controls, U+FFFE and U+FFFF; Rust strings cannot hold surrogates).
fn forbidden(c: char) -> bool {
    !matches!(c, '\t' | '\n' | '\r') && crate::domain::text::char_problem(c).is_some()
}

fn collapse_whitespace(raw: &str) -> Cow<'_, str> {
    let trimmed = raw.trim();
    let clean = !trimmed
        .as_bytes()
        .windows(2)
        .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
        && !trimmed.chars().any(|c| c.is_whitespace() && c != ' ');
    if clean {
        return Cow::Borrowed(trimmed);
    }
    let mut out = String::with_capacity(trimmed.len());
    for word in trimmed.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

/// The byte index to cut at so that at most `max_chars` characters remain, or `None` when
/// the text already fits.
fn cut_index(text: &str, max_chars: usize) -> Option<usize> {
    // Fast path: a text of at most `max_chars` bytes has at most that many characters.
    if text.len() <= max_chars {
        return None;
    }
    let (mut cut, _) = text.char_indices().nth(max_chars)?;
    // When the first character cut off is a combining mark, the kept text would end in a
    // letter stripped of (some of) its marks: move back until the cut falls before that
    // letter's base character, so the whole letter goes.
    while cut > 0 && text[cut..].chars().next().is_some_and(is_combining_mark) {
        cut = text[..cut].char_indices().next_back().map_or(0, |(i, _)| i);
    }
    Some(cut)
}

/// Combining diacritical marks (the blocks decomposed Vietnamese uses, and their extensions).
fn is_combining_mark(c: char) -> bool {
    matches!(c,
        '\u{0300}'..='\u{036F}'
        | '\u{1AB0}'..='\u{1AFF}'
        | '\u{1DC0}'..='\u{1DFF}'
        | '\u{20D0}'..='\u{20FF}'
        | '\u{FE20}'..='\u{FE2F}')
}

/// An identifier written into a file as is (MsgId, budget-unit code): 1..=`max_chars`
/// printable ASCII characters without spaces. Identifiers are never truncated, because a cut
/// identifier would silently stop matching.
pub fn check_identifier(text: &str, max_chars: usize) -> bool {
    !text.is_empty() && text.len() <= max_chars && text.bytes().all(|b| b.is_ascii_graphic())
}

/// Appends `text` to `out` as XML element content, escaped by quick-xml (`&`, `<` and `>`;
/// quotes need no escaping in element content, and `]]>` can never appear).
pub fn push_xml_escaped(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(quick_xml::escape::partial_escape(text).as_bytes());
}

/// A CSV cell of a file a person may open in a spreadsheet: a cell that starts with `=`, `+`,
/// `-`, `@`, a tab or a CR, which a spreadsheet would run as a formula, gets a leading
/// apostrophe (the OWASP "CSV injection" defence) instead of being refused; a name the ledger
/// accepted is never a reason for a release to fail.
pub fn neutral_cell(text: &str) -> Cow<'_, str> {
    match text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        true => Cow::Owned(format!("'{text}")),
        false => Cow::Borrowed(text),
    }
}

/// Appends a non-negative or negative integer in decimal without allocating.
pub fn push_i64(out: &mut Vec<u8>, value: i64) {
    if value < 0 {
        out.push(b'-');
    }
    push_u64(out, value.unsigned_abs());
}

pub fn push_u64(out: &mut Vec<u8>, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(raw: &str, max: usize) -> Result<(String, bool), TextProblem> {
        normalize_free_text(raw, max).map(|(t, cut)| (t.into_owned(), cut))
    }

    #[test]
    fn collapses_whitespace_and_keeps_short_text_borrowed() {
        assert_eq!(
            norm("  Nguyễn\tVăn \n An ", 140).unwrap(),
            ("Nguyễn Văn An".into(), false)
        );
        assert!(matches!(
            normalize_free_text("Trần Thị Bình", 140),
            Ok((Cow::Borrowed(_), false))
        ));
    }

    #[test]
    fn truncates_by_characters_not_bytes() {
        let name = "Đặng ".repeat(40);
        let (cut, was_cut) = norm(&name, 140).unwrap();
        assert!(was_cut);
        assert!(cut.chars().count() <= 140);
        assert!(!cut.ends_with(' '));
    }

    #[test]
    fn never_strands_a_letter_without_its_combining_marks() {
        // "Nguye" + U+0302 (circumflex) + U+0303 (tilde) + "n": decomposed "Nguyễn".
        let decomposed = "Nguye\u{0302}\u{0303}n";
        for max in 1..=8 {
            let (cut, _) = norm(decomposed, max).unwrap_or_default();
            let ends_with_bare_e = cut.ends_with('e');
            assert!(!ends_with_bare_e, "max {max}: {cut:?}");
            assert!(cut.chars().count() <= max);
        }
        assert_eq!(norm(decomposed, 7).unwrap().0, "Nguye\u{0302}\u{0303}");
        assert_eq!(norm(decomposed, 6).unwrap().0, "Nguy");
    }

    #[test]
    fn refuses_controls_and_empty_and_keeps_formulas_for_the_csv_writer() {
        for bad in [
            "A\u{0007}B",
            "A\u{202e}B",
            "A\u{2028}B",
            "A\u{fdd0}B",
            "A\u{ffff}B",
        ] {
            assert_eq!(
                norm(bad, 140),
                Err(TextProblem::ForbiddenCharacter),
                "{bad:?}"
            );
        }
        assert_eq!(norm(" \t ", 140), Err(TextProblem::Empty));
        assert_eq!(
            norm("=HYPERLINK(\"x\")", 140).unwrap().0,
            "=HYPERLINK(\"x\")"
        );
        assert_eq!(neutral_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        for formula in ["+1", "-1", "@SUM(A1)", "\tx"] {
            assert_eq!(neutral_cell(formula), format!("'{formula}"));
        }
        assert!(matches!(neutral_cell("Hoa"), Cow::Borrowed("Hoa")));
    }

    #[test]
    fn escapes_xml_and_csv() {
        let mut out = Vec::new();
        push_xml_escaped(&mut out, "Tom & Jerry <Co> \"x\" ]]>");
        assert_eq!(out, b"Tom &amp; Jerry &lt;Co&gt; \"x\" ]]&gt;");
        let mut n = Vec::new();
        push_i64(&mut n, -1_500_000);
        push_u64(&mut n, 0);
        assert_eq!(n, b"-15000000");
    }
}
