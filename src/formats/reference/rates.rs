//! Loads rate schedules from the versioned CSV files of `ledger-data/rates/` (format in
//! `ledger-data/rates/README.md`) into `RateScheduleEnacted` events, ready to be recorded.
//!
//! The loader is strict on purpose: real money is computed from these numbers, so anything it
//! does not understand is an error naming the file, line and column, never a guess. Amounts
//! are whole dong written as plain digits; coefficients are decimals with at most three
//! fractional digits, held as thousandths. No floats anywhere.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::domain::event::{RateEntry, RateScheduleEnacted, RateValue};
use crate::domain::types::{Date, Month, Programme, ProvinceCode, Vnd};

/// Why a rate file could not be loaded, with where in which file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RatesError {
    pub file: PathBuf,
    /// 1-based line, when the problem is on a line.
    pub line: Option<u64>,
    /// 1-based CSV column (field) and its name, when the problem is in one field.
    pub column: Option<(usize, &'static str)>,
    pub message: String,
}

impl fmt::Display for RatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some((column, name)) = self.column {
            write!(f, ": column {column} ({name})")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// How much the caller trusts: provisional (confidence `L`) schedules are refused unless asked
/// for, so that reported-but-unverified decrees never reach a payment by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LoadOptions {
    pub allow_provisional: bool,
}

/// The confidence a schedule's source carries (RULES.md legend).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    High,
    Medium,
    Low,
}

/// The entries header line that separates the metadata section from the rates.
pub const ENTRIES_HEADER: [&str; 4] = ["key", "unit", "value", "note"];

const META_COLUMNS: [&str; 2] = ["field", "value"];

/// Loads every `*.csv` directly in `dir` (not sub-folders: `provisional/` stays out), refusing
/// provisional schedules. Sorted by `enacted_on`, then id: the order to record them in.
pub fn load_dir(dir: &Path) -> Result<Vec<RateScheduleEnacted>, RatesError> {
    load_dir_with(dir, LoadOptions::default())
}

pub fn load_dir_with(
    dir: &Path,
    options: LoadOptions,
) -> Result<Vec<RateScheduleEnacted>, RatesError> {
    let file_error = |message: String| RatesError {
        file: dir.to_path_buf(),
        line: None,
        column: None,
        message,
    };
    let listing = std::fs::read_dir(dir).map_err(|e| file_error(format!("cannot list: {e}")))?;
    let mut paths = Vec::new();
    for entry in listing {
        let path = entry
            .map_err(|e| file_error(format!("cannot list: {e}")))?
            .path();
        if path.is_file() && path.extension().is_some_and(|x| x == "csv") {
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Vec::with_capacity(paths.len());
    let mut ids = HashSet::new();
    for path in paths {
        let schedule = load_file_with(&path, options)?;
        if !ids.insert(schedule.schedule.clone()) {
            return Err(RatesError {
                file: path,
                line: None,
                column: None,
                message: format!(
                    "schedule {} is defined twice in {}",
                    schedule.schedule,
                    dir.display()
                ),
            });
        }
        out.push(schedule);
    }
    out.sort_by(|a, b| (a.enacted_on, &a.schedule).cmp(&(b.enacted_on, &b.schedule)));
    Ok(out)
}

/// The enacted schedule files of `ledger-data/rates/`, compiled into the binary so that `rates
/// load` and the demo work from any directory. A test checks this list against the folder.
const EMBEDDED: [(&str, &[u8]); 9] = [
    (
        "btxh-nd20-2021",
        include_bytes!("../../../ledger-data/rates/btxh-nd20-2021.csv"),
    ),
    (
        "btxh-nd20-2021-art20-25",
        include_bytes!("../../../ledger-data/rates/btxh-nd20-2021-art20-25.csv"),
    ),
    (
        "btxh-nd76-2024",
        include_bytes!("../../../ledger-data/rates/btxh-nd76-2024.csv"),
    ),
    (
        "htxh-nd176-2025",
        include_bytes!("../../../ledger-data/rates/htxh-nd176-2025.csv"),
    ),
    (
        "ncc-base-salary-nd24-2023",
        include_bytes!("../../../ledger-data/rates/ncc-base-salary-nd24-2023.csv"),
    ),
    (
        "ncc-base-salary-nd73-2024",
        include_bytes!("../../../ledger-data/rates/ncc-base-salary-nd73-2024.csv"),
    ),
    (
        "ncc-nd55-2023",
        include_bytes!("../../../ledger-data/rates/ncc-nd55-2023.csv"),
    ),
    (
        "ncc-nd75-2021",
        include_bytes!("../../../ledger-data/rates/ncc-nd75-2021.csv"),
    ),
    (
        "ncc-nd77-2024",
        include_bytes!("../../../ledger-data/rates/ncc-nd77-2024.csv"),
    ),
];

/// The schedules compiled into the binary, in the order to record them (as `load_dir`).
pub fn embedded() -> Result<Vec<RateScheduleEnacted>, RatesError> {
    let mut out = EMBEDDED
        .iter()
        .map(|(stem, bytes)| {
            let path = Path::new("ledger-data/rates").join(format!("{stem}.csv"));
            parse(&path, stem, bytes, LoadOptions::default())
        })
        .collect::<Result<Vec<_>, _>>()?;
    out.sort_by(|a, b| (a.enacted_on, &a.schedule).cmp(&(b.enacted_on, &b.schedule)));
    Ok(out)
}

/// Loads one schedule file, refusing a provisional one.
pub fn load_file(path: &Path) -> Result<RateScheduleEnacted, RatesError> {
    load_file_with(path, LoadOptions::default())
}

pub fn load_file_with(
    path: &Path,
    options: LoadOptions,
) -> Result<RateScheduleEnacted, RatesError> {
    let bytes = std::fs::read(path).map_err(|e| RatesError {
        file: path.to_path_buf(),
        line: None,
        column: None,
        message: format!("cannot read: {e}"),
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    parse(path, stem, &bytes, options)
}

/// Parses the bytes of one schedule file; `stem` is the file name without `.csv`, which must
/// equal the schedule id so a file can never silently carry another schedule.
pub fn parse(
    path: &Path,
    stem: &str,
    bytes: &[u8],
    options: LoadOptions,
) -> Result<RateScheduleEnacted, RatesError> {
    let mut parser = Parser::new(path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .comment(Some(b'#'))
        .from_reader(bytes);
    for record in reader.records() {
        let record = record.map_err(|e| parser.csv_error(e))?;
        parser.line = record.position().map_or(0, csv::Position::line);
        parser.row(&record)?;
    }
    parser.finish(stem, bytes, options)
}

/// Metadata collected from the first section of a file.
#[derive(Default)]
struct Meta {
    schedule: Option<String>,
    programme: Option<Programme>,
    instrument: Option<String>,
    applies_from: Option<Month>,
    enacted_on: Option<Date>,
    province: Option<Option<ProvinceCode>>,
    confidence: Option<Confidence>,
    source: Option<String>,
}

struct Parser<'p> {
    path: &'p Path,
    line: u64,
    meta: Meta,
    in_entries: bool,
    entries: Vec<RateEntry>,
    keys: HashSet<String>,
}

impl<'p> Parser<'p> {
    fn new(path: &'p Path) -> Parser<'p> {
        Parser {
            path,
            line: 0,
            meta: Meta::default(),
            in_entries: false,
            entries: Vec::new(),
            keys: HashSet::new(),
        }
    }

    fn error(
        &self,
        column: Option<(usize, &'static str)>,
        message: impl Into<String>,
    ) -> RatesError {
        RatesError {
            file: self.path.to_path_buf(),
            line: (self.line > 0).then_some(self.line),
            column,
            message: message.into(),
        }
    }

    fn csv_error(&self, e: csv::Error) -> RatesError {
        let line = e.position().map(csv::Position::line);
        RatesError {
            file: self.path.to_path_buf(),
            line,
            column: None,
            message: format!("not valid CSV: {e}"),
        }
    }

    fn row(&mut self, record: &csv::StringRecord) -> Result<(), RatesError> {
        if record.iter().all(|f| f.trim().is_empty()) {
            return Ok(());
        }
        if self.in_entries {
            return self.entry(record);
        }
        if record.iter().eq(ENTRIES_HEADER.iter().copied()) {
            self.in_entries = true;
            return Ok(());
        }
        self.meta_row(record)
    }

    fn meta_row(&mut self, record: &csv::StringRecord) -> Result<(), RatesError> {
        if record.len() != 2 {
            return Err(self.error(
                None,
                format!(
                    "expected `field,value` (metadata) or the header `{}`; got {} columns",
                    ENTRIES_HEADER.join(","),
                    record.len()
                ),
            ));
        }
        let (name, value) = (&record[0], record[1].trim());
        let name_col = Some((1, META_COLUMNS[0]));
        let value_col = Some((2, META_COLUMNS[1]));
        let bad = |parser: &Self, e: String| parser.error(value_col, e);
        let duplicate = match name {
            "schedule" => self
                .meta
                .schedule
                .replace(self.schedule_id(value)?)
                .is_some(),
            "programme" => {
                let p = Programme::parse(value).map_err(|e| bad(self, e.to_string()))?;
                self.meta.programme.replace(p).is_some()
            }
            "instrument" => self
                .meta
                .instrument
                .replace(self.required_text(value)?)
                .is_some(),
            "applies_from" => {
                let m = Month::parse(value).map_err(|e| bad(self, e.to_string()))?;
                self.meta.applies_from.replace(m).is_some()
            }
            "enacted_on" => {
                let d = Date::parse(value).map_err(|e| bad(self, e.to_string()))?;
                self.meta.enacted_on.replace(d).is_some()
            }
            "province" => {
                let p = match value {
                    "" => None,
                    v => Some(ProvinceCode::parse(v).map_err(|e| bad(self, e.to_string()))?),
                };
                self.meta.province.replace(p).is_some()
            }
            "confidence" => {
                let c = match value {
                    "H" => Confidence::High,
                    "M" => Confidence::Medium,
                    "L" => Confidence::Low,
                    other => return Err(bad(self, format!("{other:?} is not H, M or L"))),
                };
                self.meta.confidence.replace(c).is_some()
            }
            "source" => self.meta.source.replace(value.to_owned()).is_some(),
            other => {
                return Err(self.error(
                    name_col,
                    format!(
                    "unknown metadata field {other:?} (expected schedule, programme, instrument, \
                         applies_from, enacted_on, province, confidence or source)"
                ),
                ))
            }
        };
        if duplicate {
            return Err(self.error(name_col, format!("metadata field {name:?} given twice")));
        }
        Ok(())
    }

    fn schedule_id(&self, value: &str) -> Result<String, RatesError> {
        let ok = !value.is_empty()
            && value.len() <= 64
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(self.error(
                Some((2, "value")),
                format!("schedule id {value:?} must be 1-64 of a-z, 0-9 and -"),
            ));
        }
        Ok(value.to_owned())
    }

    fn required_text(&self, value: &str) -> Result<String, RatesError> {
        if value.is_empty() {
            return Err(self.error(Some((2, "value")), "must not be empty"));
        }
        Ok(value.to_owned())
    }

    fn entry(&mut self, record: &csv::StringRecord) -> Result<(), RatesError> {
        if record.len() != ENTRIES_HEADER.len() {
            return Err(self.error(
                None,
                format!(
                    "expected 4 columns ({}), got {}",
                    ENTRIES_HEADER.join(","),
                    record.len()
                ),
            ));
        }
        let key = self.entry_key(record[0].trim())?;
        let value = match record[1].trim() {
            "amount" => RateValue::Amount(self.amount(record[2].trim())?),
            "coefficient" => RateValue::CoefficientMilli(self.coefficient(record[2].trim())?),
            other => {
                return Err(self.error(
                    Some((2, "unit")),
                    format!("unit {other:?} is not `amount` or `coefficient`"),
                ))
            }
        };
        self.entries.push(RateEntry { key, value });
        Ok(())
    }

    fn entry_key(&mut self, key: &str) -> Result<String, RatesError> {
        let column = Some((1, "key"));
        let Some(programme) = self.meta.programme else {
            return Err(self.error(column, "the programme must be given before the entries"));
        };
        let prefix = format!("{}.", programme.code().to_ascii_lowercase());
        let ok = key.len() > prefix.len()
            && key.len() <= 80
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b));
        if !ok || !key.starts_with(&prefix) {
            return Err(self.error(
                column,
                format!("key {key:?} must start with {prefix:?} and use only a-z, 0-9, . and _"),
            ));
        }
        if !self.keys.insert(key.to_owned()) {
            return Err(self.error(column, format!("key {key:?} appears twice")));
        }
        Ok(key.to_owned())
    }

    fn amount(&self, text: &str) -> Result<Vnd, RatesError> {
        let column = Some((3, "value"));
        if text.is_empty() || text.len() > 15 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.error(
                column,
                format!(
                    "amount {text:?} must be whole dong in plain digits (no separators, no sign)"
                ),
            ));
        }
        let v: i64 = text
            .parse()
            .map_err(|_| self.error(column, format!("amount {text:?} is too large")))?;
        Ok(Vnd(v))
    }

    fn coefficient(&self, text: &str) -> Result<u32, RatesError> {
        parse_coefficient_milli(text).map_err(|reason| self.error(Some((3, "value")), reason))
    }

    fn finish(
        self,
        stem: &str,
        bytes: &[u8],
        options: LoadOptions,
    ) -> Result<RateScheduleEnacted, RatesError> {
        let missing = |what: &str| RatesError {
            file: self.path.to_path_buf(),
            line: None,
            column: None,
            message: format!("metadata field {what:?} is missing"),
        };
        let file_error = |message: String| RatesError {
            file: self.path.to_path_buf(),
            line: None,
            column: None,
            message,
        };
        let schedule = self
            .meta
            .schedule
            .clone()
            .ok_or_else(|| missing("schedule"))?;
        if schedule != stem {
            return Err(file_error(format!(
                "schedule id {schedule:?} differs from the file name {stem:?}"
            )));
        }
        let confidence = self.meta.confidence.ok_or_else(|| missing("confidence"))?;
        if confidence == Confidence::Low && !options.allow_provisional {
            return Err(file_error(
                "is provisional (confidence L): not loaded unless provisional schedules are allowed".into(),
            ));
        }
        if !self.in_entries {
            return Err(file_error(format!(
                "the header `{}` is missing",
                ENTRIES_HEADER.join(",")
            )));
        }
        if self.entries.is_empty() {
            return Err(file_error("has no rate entries".into()));
        }
        Ok(RateScheduleEnacted {
            schedule,
            programme: self.meta.programme.ok_or_else(|| missing("programme"))?,
            instrument: self
                .meta
                .instrument
                .clone()
                .ok_or_else(|| missing("instrument"))?,
            applies_from: self
                .meta
                .applies_from
                .ok_or_else(|| missing("applies_from"))?,
            enacted_on: self.meta.enacted_on.ok_or_else(|| missing("enacted_on"))?,
            province: self.meta.province.flatten(),
            entries: self.entries,
            source_digest: *blake3::hash(bytes).as_bytes(),
        })
    }
}

/// Parses a decimal coefficient such as `2.5` or `20` into thousandths (2500, 20000), exactly.
pub fn parse_coefficient_milli(text: &str) -> Result<u32, String> {
    let bad = || format!("coefficient {text:?} must be a positive decimal with at most 3 decimals");
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || whole.len() > 6 || frac.len() > 3 || !digits(whole) || !digits(frac) {
        return Err(bad());
    }
    if text.ends_with('.') {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let mut milli: u32 = 0;
    for (i, b) in frac.bytes().enumerate() {
        milli += u32::from(b - b'0') * 10u32.pow(2 - i as u32);
    }
    let value = whole * 1000 + milli;
    if value == 0 {
        return Err(bad());
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<RateScheduleEnacted, RatesError> {
        parse(
            Path::new("x/t-1.csv"),
            "t-1",
            text.as_bytes(),
            LoadOptions::default(),
        )
    }

    const HEAD: &str = "schedule,t-1\nprogramme,BTXH\ninstrument,ND 1\napplies_from,2024-07\n\
                        enacted_on,2024-07-01\nprovince,\nconfidence,H\nkey,unit,value,note\n";

    #[test]
    fn coefficients_are_exact_thousandths() {
        assert_eq!(parse_coefficient_milli("2.5"), Ok(2500));
        assert_eq!(parse_coefficient_milli("20"), Ok(20_000));
        assert_eq!(parse_coefficient_milli("0.9"), Ok(900));
        assert_eq!(parse_coefficient_milli("1.125"), Ok(1125));
        for bad in ["", "0", "1.2345", "-1", "1.", ".5", "1,5", "1e3"] {
            assert!(parse_coefficient_milli(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parses_a_small_schedule() {
        let s = parse_text(&format!(
            "# comment\n{HEAD}btxh.base,amount,500000,\"a, b\"\n"
        ))
        .unwrap();
        assert_eq!(s.entries.len(), 1);
        assert_eq!(s.entries[0].value, RateValue::Amount(Vnd(500_000)));
        assert_eq!(s.province, None);
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let e = parse_text(&format!("{HEAD}btxh.base,amount,500.000,note\n")).unwrap_err();
        assert_eq!(e.line, Some(9));
        assert_eq!(e.column, Some((3, "value")));
        let shown = e.to_string();
        assert!(
            shown.starts_with("x/t-1.csv:9: column 3 (value): amount \"500.000\""),
            "{shown}"
        );

        let e = parse_text(&format!("{HEAD}ncc.base,amount,1,note\n")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(9), Some((1, "key"))));
        let e = parse_text(&format!("{HEAD}btxh.base,percent,1,note\n")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(9), Some((2, "unit"))));
        let e = parse_text(&format!(
            "{HEAD}btxh.base,amount,1,n\nbtxh.base,amount,2,n\n"
        ))
        .unwrap_err();
        assert!(e.to_string().contains("appears twice"), "{e}");
        let e = parse_text(&HEAD.replace("2024-07\n", "2024-7\n")).unwrap_err();
        assert_eq!((e.line, e.column), (Some(4), Some((2, "value"))));
    }

    #[test]
    fn refuses_mismatched_ids_missing_fields_and_provisional() {
        let e = parse(
            Path::new("t-2.csv"),
            "t-2",
            format!("{HEAD}btxh.base,amount,1,\n").as_bytes(),
            LoadOptions::default(),
        )
        .unwrap_err();
        assert!(e.message.contains("differs from the file name"), "{e}");
        let e = parse_text(&format!(
            "{}btxh.base,amount,1,\n",
            HEAD.replace("confidence,H\n", "")
        ))
        .unwrap_err();
        assert!(e.message.contains("\"confidence\" is missing"), "{e}");
        let low = format!(
            "{}btxh.base,amount,1,\n",
            HEAD.replace("confidence,H", "confidence,L")
        );
        assert!(parse_text(&low)
            .unwrap_err()
            .message
            .contains("provisional"));
        let allowed = parse(
            Path::new("t-1.csv"),
            "t-1",
            low.as_bytes(),
            LoadOptions {
                allow_provisional: true,
            },
        );
        assert!(allowed.is_ok());
        assert!(parse_text(HEAD)
            .unwrap_err()
            .message
            .contains("no rate entries"));
    }

    #[test]
    fn digest_is_blake3_of_the_bytes() {
        let text = format!("{HEAD}btxh.base,amount,1,\n");
        let s = parse_text(&text).unwrap();
        assert_eq!(s.source_digest, *blake3::hash(text.as_bytes()).as_bytes());
    }
}
