//! The answer file of an identity check against the National Population Database (Project
//! 06), `docs/identity-check-csv.md`: one row per citizen ID asked, saying whether the
//! database knows it, per field whether it matched, and whether the person is alive.
//!
//! Pure and all or nothing, like the roster: a file is accepted only when every row is good;
//! otherwise every problem is reported with its line and column. Messages never show a
//! citizen ID in full.

use std::collections::HashMap;

use crate::domain::checks::IDENTITY_CHECK_ROWS_MAX;
use crate::domain::identity::{AnswerRow, FieldCheck};
use crate::domain::types::{CitizenId, Date};

/// The largest answer file accepted, in bytes (a province's caseload of ~10^5 rows of ~60
/// bytes, with room).
pub const IDENTITY_CHECK_BYTES_MAX: usize = 64 * 1024 * 1024;

/// The header row, exactly.
pub const HEADER: &str = "citizen_id,found,full_name,birth_date,sex,vital,date_of_death";

const COLUMNS: [&str; 7] = [
    "citizen_id",
    "found",
    "full_name",
    "birth_date",
    "sex",
    "vital",
    "date_of_death",
];

/// One problem of an answer file, where it is (`line` 0: the whole file).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {reason}", place(*.line, .column))]
pub struct AnswerError {
    pub line: u64,
    pub column: Option<&'static str>,
    pub reason: String,
}

fn place(line: u64, column: &Option<&'static str>) -> String {
    match (line, column) {
        (0, _) => "file".to_owned(),
        (l, None) => format!("line {l}"),
        (l, Some(c)) => format!("line {l}, column {c}"),
    }
}

/// The file was refused; `errors` is never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("answer file refused: {} problem(s); the first: {}", .errors.len(), .errors[0])]
pub struct AnswersRejected {
    pub errors: Vec<AnswerError>,
}

/// The problems found so far.
struct Errs(Vec<AnswerError>);

impl Errs {
    fn add(&mut self, line: u64, column: Option<&'static str>, reason: String) {
        self.0.push(AnswerError {
            line,
            column,
            reason,
        });
    }
}

/// Parses a whole answer file into the rows of a `RecordIdentityCheck` command.
pub fn parse_answers(bytes: &[u8]) -> Result<Vec<AnswerRow>, AnswersRejected> {
    let mut errs = Errs(Vec::new());
    if bytes.len() > IDENTITY_CHECK_BYTES_MAX {
        errs.add(
            0,
            None,
            format!(
                "the file is {} bytes; identity_check_bytes_max is {IDENTITY_CHECK_BYTES_MAX}",
                bytes.len()
            ),
        );
        return Err(AnswersRejected { errors: errs.0 });
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes);
    let mut records = reader.records();
    match records.next() {
        Some(Ok(h)) if h.iter().map(str::trim).eq(COLUMNS) => {}
        Some(Err(e)) => errs.add(1, None, format!("unreadable CSV: {e}")),
        _ => errs.add(1, None, format!("the header must be exactly `{HEADER}`")),
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<CitizenId, u64> = HashMap::new();
    if !errs.0.is_empty() {
        return Err(AnswersRejected { errors: errs.0 });
    }
    for record in records {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                errs.add(
                    line,
                    None,
                    format!("unreadable CSV (save it as UTF-8): {e}"),
                );
                break;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() >= IDENTITY_CHECK_ROWS_MAX {
            errs.add(
                line,
                None,
                format!("more than {IDENTITY_CHECK_ROWS_MAX} answers (identity_check_rows_max)"),
            );
            break;
        }
        if record.len() != COLUMNS.len() {
            errs.add(
                line,
                None,
                format!("the row has {} columns; every row has 7", record.len()),
            );
            continue;
        }
        let f: Vec<&str> = record.iter().map(str::trim).collect();
        let before = errs.0.len();
        let citizen_id = match CitizenId::parse(f[0]) {
            Ok(id) => {
                if let Some(first) = seen.insert(id, line) {
                    errs.add(
                        line,
                        Some("citizen_id"),
                        format!(
                            "citizen ID {} already answered on line {first}",
                            id.masked()
                        ),
                    );
                }
                Some(id)
            }
            Err(e) => {
                errs.add(line, Some("citizen_id"), e.reason.to_string());
                None
            }
        };
        let found = match f[1] {
            "yes" => Some(true),
            "no" => Some(false),
            _ => {
                errs.add(line, Some("found"), "must be yes or no".into());
                None
            }
        };
        let field = |errs: &mut Errs, i: usize| -> Option<FieldCheck> {
            match (found, f[i]) {
                (Some(false), "" | "not_found") => Some(FieldCheck::NotFound),
                (Some(false), _) => {
                    errs.add(
                        line,
                        Some(COLUMNS[i]),
                        "must be empty when found is no".into(),
                    );
                    None
                }
                (_, "matched") => Some(FieldCheck::Matched),
                (_, "differs") => Some(FieldCheck::Differs),
                (_, "not_found") => Some(FieldCheck::NotFound),
                _ => {
                    errs.add(
                        line,
                        Some(COLUMNS[i]),
                        "must be matched, differs or not_found".into(),
                    );
                    None
                }
            }
        };
        let (full_name, birth_date, sex) = (
            field(&mut errs, 2),
            field(&mut errs, 3),
            field(&mut errs, 4),
        );
        let died_on = match (f[5], f[6]) {
            ("alive" | "unknown" | "", "") => Some(None),
            ("dead", date) => match Date::parse(date) {
                Ok(d) => Some(Some(d)),
                Err(_) => {
                    errs.add(
                        line,
                        Some("date_of_death"),
                        "a death needs its date as YYYY-MM-DD".into(),
                    );
                    None
                }
            },
            ("alive" | "unknown" | "", _) => {
                errs.add(
                    line,
                    Some("date_of_death"),
                    "must be empty unless vital is dead".into(),
                );
                None
            }
            _ => {
                errs.add(line, Some("vital"), "must be alive, dead or unknown".into());
                None
            }
        };
        if errs.0.len() > before {
            continue;
        }
        if let (
            Some(citizen_id),
            Some(found),
            Some(full_name),
            Some(birth_date),
            Some(sex),
            Some(died_on),
        ) = (citizen_id, found, full_name, birth_date, sex, died_on)
        {
            rows.push(AnswerRow {
                citizen_id,
                found,
                full_name,
                birth_date,
                sex,
                died_on,
            });
        }
    }
    if errs.0.is_empty() && rows.is_empty() {
        errs.add(2, None, "the file has a header but no answers".into());
    }
    if errs.0.is_empty() {
        Ok(rows)
    } else {
        Err(AnswersRejected { errors: errs.0 })
    }
}

/// Writes answers in the same format (synthetic answer files, tests).
pub fn write_answers(rows: &[AnswerRow]) -> String {
    let check = |c: FieldCheck| match c {
        FieldCheck::Matched => "matched",
        FieldCheck::Differs => "differs",
        FieldCheck::NotFound => "not_found",
    };
    let mut out = format!("{HEADER}\n");
    for r in rows {
        let (vital, died) = match r.died_on {
            Some(d) => ("dead", d.to_string()),
            None if r.found => ("alive", String::new()),
            None => ("unknown", String::new()),
        };
        let fields = if r.found {
            format!(
                "yes,{},{},{}",
                check(r.full_name),
                check(r.birth_date),
                check(r.sex)
            )
        } else {
            "no,,,".to_owned()
        };
        out.push_str(&format!(
            "{},{fields},{vital},{died}\n",
            r.citizen_id.expose()
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_file_round_trips_and_bad_rows_are_all_reported() {
        let text = format!(
            "{HEADER}\n001089012345,yes,matched,matched,matched,alive,\n001089012346,yes,differs,matched,matched,alive,\n001089012347,no,,,,unknown,\n001089012348,yes,matched,matched,matched,dead,2025-10-03\n"
        );
        let rows = parse_answers(text.as_bytes()).unwrap();
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[1].full_name, FieldCheck::Differs);
        assert!(!rows[2].found);
        assert_eq!(rows[2].sex, FieldCheck::NotFound);
        assert_eq!(rows[3].died_on, Some(Date::parse("2025-10-03").unwrap()));
        assert_eq!(write_answers(&rows), text);

        let bad = format!(
            "{HEADER}\n001089012345,maybe,matched,matched,matched,alive,\n001089012345,yes,same,matched,matched,alive,\n00108901234,no,matched,,,,\n001089012349,yes,matched,matched,matched,dead,\n001089012350,yes,matched,matched,matched,alive,2025-01-01\n"
        );
        let e = parse_answers(bad.as_bytes()).unwrap_err();
        let text: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
        let expected = [
            "line 2, column found: must be yes or no",
            "line 3, column citizen_id: citizen ID",
            "line 3, column full_name: must be matched, differs or not_found",
            "line 4, column citizen_id:",
            "line 4, column full_name: must be empty when found is no",
            "line 5, column date_of_death: a death needs its date",
            "line 6, column date_of_death: must be empty unless vital is dead",
        ];
        assert_eq!(text.len(), expected.len(), "{text:#?}");
        for (got, want) in text.iter().zip(expected) {
            assert!(got.starts_with(want), "{got} / {want}");
        }
        // Never a whole citizen ID in a message.
        assert!(
            text.iter().all(|t| !t.contains("001089012345")),
            "{text:#?}"
        );
        assert!(parse_answers(b"citizen_id\n").is_err());
        assert!(parse_answers(format!("{HEADER}\n").as_bytes()).is_err());
    }
}
