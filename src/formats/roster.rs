//! The roster CSV import format (`docs/roster-csv.md`): one row per beneficiary with their
//! identity, commune, payment route and one entitlement decision.
//!
//! This module owns the format in both directions: `parse_roster`, a pure all-or-nothing
//! parser of a whole file into `Enrol` commands (and, for a carer's or foster household's row,
//! the grant to the person it cares for: `PayeeRow`), and `RosterWriter`, which writes the same
//! format; plus the scheme catalogue the format is checked against and the compact `params`
//! syntax. The parser reads no clock (the caller passes today's date) and does no IO.
//!
//! All or nothing: a file is accepted only when every row is good. Otherwise the parser still
//! reads every row and reports every problem with its line and column, so that a case officer
//! can fix the whole file in one pass. Error messages never show a citizen ID or an account
//! number in full, nor echo a birth date or name.

use std::collections::HashMap;
use std::fmt;
use std::io;

use crate::domain::command::{Enrol, ImportRoster, NewEntitlement, PayeeRow, RouteRequest};
use crate::domain::decide::{citizen_id_warnings, TEXT_CHARS_MAX};
use crate::domain::event::{Decision, EnrolmentWarning, EntitlementKind, SchemeParam};
use crate::domain::rules::catalogue::{self, Injury, Params};
use crate::domain::types::{
    AccountNumber, BankBin, BeneficiaryId, CitizenId, CommuneCode, Date, Month, Programme, Sex,
};
use crate::formats::reference::admin::CommuneError;
use crate::formats::reference::banks::UnknownBin;
use crate::formats::reference::Reference;

/// The largest roster file accepted, in bytes (a province's whole caseload is ~10^5 rows of
/// ~300 bytes).
pub const ROSTER_BYTES_MAX: usize = 128 * 1024 * 1024;
/// The most data rows accepted in one roster file: what one import command may carry.
pub use crate::domain::decide::ROSTER_ROWS_MAX;
/// The largest `martyrs=` count (3 or more share one rate; more than 10 is a typing error).
pub const MARTYRS_MAX: u8 = 10;
/// The largest `children=` count of the single-parent allowance.
pub const CHILDREN_MAX: u8 = 12;
/// How much of an unrecognised value an error message repeats, in characters.
const ECHO_CHARS_MAX: usize = 40;

/// The columns of a roster, in file order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Column {
    CitizenId,
    FullName,
    BirthDate,
    Sex,
    AddressLine,
    CommuneCode,
    Programme,
    Scheme,
    Params,
    DecisionNumber,
    DecisionDate,
    DecisionSigner,
    EffectiveMonth,
    Route,
    BankBin,
    AccountNumber,
    AccountHolder,
    PayPoint,
    CaredFor,
}

/// The columns of a roster written before `cared_for` existed: a header of these alone is
/// still accepted (its rows carry no payee).
pub const COLUMNS_WITHOUT_PAYEES: usize = 18;

impl Column {
    pub const ALL: [Column; 19] = [
        Column::CitizenId,
        Column::FullName,
        Column::BirthDate,
        Column::Sex,
        Column::AddressLine,
        Column::CommuneCode,
        Column::Programme,
        Column::Scheme,
        Column::Params,
        Column::DecisionNumber,
        Column::DecisionDate,
        Column::DecisionSigner,
        Column::EffectiveMonth,
        Column::Route,
        Column::BankBin,
        Column::AccountNumber,
        Column::AccountHolder,
        Column::PayPoint,
        Column::CaredFor,
    ];

    /// The column's name in the header row.
    pub fn name(self) -> &'static str {
        match self {
            Column::CitizenId => "citizen_id",
            Column::FullName => "full_name",
            Column::BirthDate => "birth_date",
            Column::Sex => "sex",
            Column::AddressLine => "address_line",
            Column::CommuneCode => "commune_code",
            Column::Programme => "programme",
            Column::Scheme => "scheme",
            Column::Params => "params",
            Column::DecisionNumber => "decision_number",
            Column::DecisionDate => "decision_date",
            Column::DecisionSigner => "decision_signer",
            Column::EffectiveMonth => "effective_month",
            Column::Route => "route",
            Column::BankBin => "bank_bin",
            Column::AccountNumber => "account_number",
            Column::AccountHolder => "account_holder",
            Column::PayPoint => "pay_point",
            Column::CaredFor => "cared_for",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The header row exactly as it must appear (and as `RosterWriter` writes it).
pub fn header_line() -> String {
    Column::ALL.map(Column::name).join(",")
}

// ---------------------------------------------------------------------------------------------
// Scheme catalogue

/// A scheme as the roster checks it: the one catalogue of the rules (`domain::rules::catalogue`).
pub type SchemeSpec = catalogue::Scheme;

/// The schemes a roster row may carry, derived from the catalogue: every monthly scheme (a
/// carer's or foster household's row names the person cared for in `cared_for`).
pub fn schemes() -> impl Iterator<Item = &'static SchemeSpec> {
    catalogue::SCHEMES.iter().filter(|s| s.in_roster())
}

/// The catalogue entry of a scheme code, whether or not a roster may carry it.
pub fn scheme(code: &str) -> Option<&'static SchemeSpec> {
    catalogue::scheme(code)
}

// ---------------------------------------------------------------------------------------------
// The params syntax: `key` or `key=value` items separated by `;`

/// Why a `params` value is malformed or does not fit its scheme.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamsError {
    #[error("unknown parameter {key:?}")]
    UnknownKey { key: String },
    #[error("parameter {key} is given twice")]
    Duplicate { key: &'static str },
    #[error("parameter {key} takes no value")]
    UnexpectedValue { key: &'static str },
    #[error("parameter {key} needs a value, e.g. {key}=2")]
    MissingValue { key: &'static str },
    #[error("parameter {key}: {value:?} is not a whole number in range")]
    NotANumber { key: &'static str, value: String },
    #[error("scheme {scheme} needs parameter {key}")]
    Required {
        scheme: &'static str,
        key: &'static str,
    },
    #[error("scheme {scheme} does not take parameter {key}")]
    NotAllowed {
        scheme: &'static str,
        key: &'static str,
    },
    #[error("parameter {key}={value} is outside {min}-{max}")]
    OutOfRange {
        key: &'static str,
        value: u32,
        min: u32,
        max: u32,
    },
    #[error("especially_severe needs an injury_rate of at least 81")]
    EspeciallySevereBelow81,
}

/// The `params` key of a parameter.
pub fn param_key(p: &SchemeParam) -> &'static str {
    match p {
        SchemeParam::InjuryRatePct(_) => "injury_rate",
        SchemeParam::EspeciallySevere => "especially_severe",
        SchemeParam::Children(_) => "children",
        SchemeParam::SeniorityUnits(_) => "seniority_units",
        SchemeParam::Martyrs(_) => "martyrs",
        SchemeParam::LivingAlone => "living_alone",
        SchemeParam::CarerOf(_) => "carer_of",
        SchemeParam::PoorHousehold => "poor_household",
        SchemeParam::DifficultArea => "difficult_area",
        SchemeParam::Studying => "studying",
        SchemeParam::HasPension => "has_pension",
        SchemeParam::InFacility => "in_facility",
        SchemeParam::Pregnant => "pregnant",
    }
}

/// Writes parameters in the `params` syntax, in the given order.
pub fn format_params(params: &[SchemeParam]) -> String {
    let item = |p: &SchemeParam| match p {
        SchemeParam::InjuryRatePct(v) | SchemeParam::Children(v) | SchemeParam::Martyrs(v) => {
            format!("{}={v}", param_key(p))
        }
        SchemeParam::SeniorityUnits(v) => format!("{}={v}", param_key(p)),
        SchemeParam::CarerOf(b) => format!("{}={b}", param_key(p)),
        _ => param_key(p).to_owned(),
    };
    params.iter().map(item).collect::<Vec<_>>().join(";")
}

/// Parses the `params` syntax. Spaces around items are ignored, and so are empty items.
pub fn parse_params(text: &str) -> Result<Vec<SchemeParam>, ParamsError> {
    let mut out: Vec<SchemeParam> = Vec::new();
    for item in text.split(';').map(str::trim).filter(|i| !i.is_empty()) {
        let (key, value) = match item.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (item, None),
        };
        let param = param(key, value)?;
        if out.iter().any(|p| param_key(p) == param_key(&param)) {
            return Err(ParamsError::Duplicate {
                key: param_key(&param),
            });
        }
        out.push(param);
    }
    Ok(out)
}

fn param(key: &str, value: Option<&str>) -> Result<SchemeParam, ParamsError> {
    let flag = |p: SchemeParam| match value {
        None => Ok(p),
        Some(_) => Err(ParamsError::UnexpectedValue { key: param_key(&p) }),
    };
    match key {
        "injury_rate" => number(value, "injury_rate").map(SchemeParam::InjuryRatePct),
        "children" => number(value, "children").map(SchemeParam::Children),
        "martyrs" => number(value, "martyrs").map(SchemeParam::Martyrs),
        "seniority_units" => number(value, "seniority_units").map(SchemeParam::SeniorityUnits),
        "carer_of" => {
            let v = value.ok_or(ParamsError::MissingValue { key: "carer_of" })?;
            BeneficiaryId::parse(v)
                .map(SchemeParam::CarerOf)
                .map_err(|_| ParamsError::NotANumber {
                    key: "carer_of",
                    value: echo(v),
                })
        }
        "especially_severe" => flag(SchemeParam::EspeciallySevere),
        "living_alone" => flag(SchemeParam::LivingAlone),
        "poor_household" => flag(SchemeParam::PoorHousehold),
        "difficult_area" => flag(SchemeParam::DifficultArea),
        "studying" => flag(SchemeParam::Studying),
        "has_pension" => flag(SchemeParam::HasPension),
        "in_facility" => flag(SchemeParam::InFacility),
        "pregnant" => flag(SchemeParam::Pregnant),
        _ => Err(ParamsError::UnknownKey { key: echo(key) }),
    }
}

fn number<T: std::str::FromStr>(value: Option<&str>, key: &'static str) -> Result<T, ParamsError> {
    let v = value.ok_or(ParamsError::MissingValue { key })?;
    if !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParamsError::NotANumber {
            key,
            value: echo(v),
        });
    }
    v.parse().map_err(|_| ParamsError::NotANumber {
        key,
        value: echo(v),
    })
}

/// Checks parameters against what their scheme requires and allows, as the catalogue says
/// (the same `Params` that `rules::validate` checks a decision against), plus the roster's
/// own ranges for counts. `carer_of` is never accepted in a roster.
pub fn check_params(spec: &SchemeSpec, params: &[SchemeParam]) -> Result<(), ParamsError> {
    let not_allowed = |p: &SchemeParam| ParamsError::NotAllowed {
        scheme: spec.code(),
        key: param_key(p),
    };
    let allowed = spec.params;
    let rate = params.iter().find_map(|p| match p {
        SchemeParam::InjuryRatePct(v) => Some(*v),
        _ => None,
    });
    for p in params {
        match p {
            SchemeParam::InjuryRatePct(v) => match allowed.injury {
                Injury::Required(min, max) | Injury::Optional(min, max) => {
                    in_range("injury_rate", *v, min, max)?
                }
                Injury::None => return Err(not_allowed(p)),
            },
            SchemeParam::EspeciallySevere if !allowed.especially_severe => {
                return Err(not_allowed(p))
            }
            SchemeParam::EspeciallySevere if rate.is_some_and(|r| r < 81) => {
                return Err(ParamsError::EspeciallySevereBelow81)
            }
            SchemeParam::EspeciallySevere => {}
            SchemeParam::Children(n) if allowed.children || allowed.parent => {
                in_range("children", *n, 1, CHILDREN_MAX)?
            }
            SchemeParam::Martyrs(n) if allowed.martyrs => in_range("martyrs", *n, 1, MARTYRS_MAX)?,
            SchemeParam::SeniorityUnits(_) if allowed.seniority => {}
            SchemeParam::LivingAlone if allowed.living_alone => {}
            SchemeParam::Pregnant if allowed.parent => {}
            SchemeParam::PoorHousehold
            | SchemeParam::DifficultArea
            | SchemeParam::Studying
            | SchemeParam::HasPension
            | SchemeParam::InFacility
                if Params::social_flags(spec.programme) =>
            {
                catalogue::check_param(spec, p).map_err(|_| not_allowed(p))?
            }
            _ => return Err(not_allowed(p)),
        }
    }
    required(spec, params)
}

fn in_range(key: &'static str, value: u8, min: u8, max: u8) -> Result<(), ParamsError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(ParamsError::OutOfRange {
        key,
        value: value.into(),
        min: min.into(),
        max: max.into(),
    })
}

fn required(spec: &SchemeSpec, params: &[SchemeParam]) -> Result<(), ParamsError> {
    let has = |key: &str| params.iter().any(|p| param_key(p) == key);
    let needs = [
        (
            matches!(spec.params.injury, Injury::Required(..)),
            "injury_rate",
        ),
        (spec.params.children, "children"),
        (spec.params.martyrs, "martyrs"),
        (
            spec.params.parent && !has("pregnant"),
            "children", // or pregnant: either one
        ),
    ];
    match needs.into_iter().find(|(needed, key)| *needed && !has(key)) {
        Some((_, key)) => Err(ParamsError::Required {
            scheme: spec.code(),
            key,
        }),
        None => Ok(()),
    }
}

/// At most `ECHO_CHARS_MAX` characters of an unrecognised value, for an error message.
fn echo(text: &str) -> String {
    let mut out: String = text.chars().take(ECHO_CHARS_MAX).collect();
    if text.chars().count() > ECHO_CHARS_MAX {
        out.push('…');
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Errors and warnings

/// What is wrong with a file, a row or a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("the file is {bytes} bytes; roster_bytes_max is {max} bytes")]
    FileTooLarge { bytes: usize, max: usize },
    #[error("more than {max} rows (roster_rows_max); split the roster")]
    TooManyRows { max: usize },
    #[error("the file is empty; its first line must be the header")]
    NoHeader,
    #[error("the header must be exactly `{}`", header_line())]
    BadHeader,
    #[error("the file has a header but no rows")]
    NoRows,
    #[error("the row has {found} columns; every row has {expected}")]
    WrongColumnCount { found: usize, expected: usize },
    #[error("is not valid UTF-8; save the roster as UTF-8 CSV")]
    NotUtf8,
    #[error("unreadable CSV: {reason}")]
    Csv { reason: String },
    #[error("is required")]
    Missing,
    #[error("is longer than {max} characters")]
    TooLong { max: usize },
    #[error("contains control characters")]
    ControlCharacters,
    /// What the ledger refuses in any free text (`domain::text`): noncharacters,
    /// bidirectional controls, line separators, nothing visible.
    #[error("{0}")]
    Text(crate::domain::text::TextProblem),
    #[error("{reason}")]
    Invalid { reason: String },
    #[error("is later than today ({today})")]
    InFuture { today: Date },
    #[error("is before the month of birth")]
    BeforeBirth,
    #[error("citizen ID {masked} already appears on line {first_line}")]
    DuplicateCitizenId { masked: String, first_line: u64 },
    #[error(transparent)]
    Commune(#[from] CommuneError),
    #[error(transparent)]
    UnknownBank(#[from] UnknownBin),
    #[error("unknown programme {found:?}; expected NCC, BTXH or HTXH")]
    UnknownProgramme { found: String },
    #[error("unknown scheme {found:?} (see docs/roster-csv.md for the scheme codes)")]
    UnknownScheme { found: String },
    #[error(
        "scheme {scheme} cannot be enrolled from a roster: it is {}",
        not_in_roster(scheme)
    )]
    NotInRoster {
        scheme: &'static str,
        clause: &'static str,
    },
    #[error("scheme {scheme} belongs to programme {belongs}, not {given}")]
    SchemeNotInProgramme {
        scheme: &'static str,
        belongs: Programme,
        given: Programme,
    },
    #[error(transparent)]
    Params(#[from] ParamsError),
    #[error("unknown route {found:?}; expected bank or cash")]
    UnknownRoute { found: String },
    #[error("must be empty for a cash route")]
    NotForCash,
    #[error("must be empty for a bank route")]
    NotForBank,
    #[error("scheme {scheme} is paid to the household caring for a person: name that person's citizen ID in cared_for")]
    CaredForMissing { scheme: &'static str },
    #[error("only a carer's or foster household's row names a person cared for; scheme {scheme} does not")]
    CaredForNotTaken { scheme: &'static str },
    #[error("is the row's own citizen ID; name the person cared for")]
    CaresForSelf,
}

/// Why a catalogue scheme is not carried by a roster row.
fn not_in_roster(code: &str) -> &'static str {
    match scheme(code) {
        Some(s) if s.one_off => "paid once: grant it as a one-off entitlement",
        _ => "not a monthly scheme a roster carries",
    }
}

/// One problem, where it is: `line` 1 is the header, 0 means the whole file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {problem}", place(*.line, *.column))]
pub struct RosterError {
    pub line: u64,
    pub column: Option<Column>,
    pub problem: Problem,
}

fn place(line: u64, column: Option<Column>) -> String {
    match (line, column) {
        (0, _) => "file".to_owned(),
        (l, None) => format!("line {l}"),
        (l, Some(c)) => format!("line {l}, column {c}"),
    }
}

/// A check that did not hold but does not block the import; it is shown to the officer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterWarning {
    pub line: u64,
    pub column: Column,
    pub warning: EnrolmentWarning,
}

impl fmt::Display for RosterWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = match &self.warning {
            EnrolmentWarning::CitizenIdPrefixUnknown { prefix } => {
                format!("the citizen ID prefix {prefix} is not a known province code")
            }
            EnrolmentWarning::CitizenIdCenturyDisagrees => {
                "the citizen ID's century digit disagrees with the birth year".to_owned()
            }
            EnrolmentWarning::CitizenIdSexDisagrees => {
                "the citizen ID's sex digit disagrees with the sex".to_owned()
            }
            EnrolmentWarning::CitizenIdYearDisagrees => {
                "the citizen ID's year digits disagree with the birth year".to_owned()
            }
            EnrolmentWarning::CommuneCodeMapped { from } => {
                format!("pre-2025 commune code {from} was mapped to its 2025 successor by name")
            }
        };
        write!(f, "{}: {text}", place(self.line, Some(self.column)))
    }
}

/// The whole file was refused. `errors` is never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("roster refused: {} problem(s); the first: {}", .errors.len(), .errors[0])]
pub struct RosterRejected {
    pub errors: Vec<RosterError>,
    pub warnings: Vec<RosterWarning>,
}

/// One accepted row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RosterRow {
    pub line: u64,
    pub enrol: Enrol,
    /// A carer's or foster household's row: the grant to the person it cares for (the row's
    /// own `enrol` then carries no entitlement).
    pub payee: Option<PayeeRow>,
}

/// An accepted roster: every row as an `Enrol` command, with the warnings to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roster {
    pub rows: Vec<RosterRow>,
    pub warnings: Vec<RosterWarning>,
}

impl Roster {
    pub fn enrolments(&self) -> impl Iterator<Item = &Enrol> {
        self.rows.iter().map(|r| &r.enrol)
    }

    pub fn into_enrolments(self) -> Vec<Enrol> {
        self.rows.into_iter().map(|r| r.enrol).collect()
    }

    /// The one command that imports the whole roster.
    pub fn into_command(self) -> ImportRoster {
        let mut payees = Vec::new();
        let rows = self
            .rows
            .into_iter()
            .map(|r| {
                payees.extend(r.payee);
                (r.line, r.enrol)
            })
            .collect();
        ImportRoster { rows, payees }
    }
}

// ---------------------------------------------------------------------------------------------
// The parser

/// The limits a parse enforces (the named constants, smaller in tests).
#[derive(Debug, Clone, Copy)]
struct Limits {
    bytes_max: usize,
    rows_max: usize,
}

const LIMITS: Limits = Limits {
    bytes_max: ROSTER_BYTES_MAX,
    rows_max: ROSTER_ROWS_MAX,
};

/// Parses a whole roster file. `today` bounds birth and decision dates.
pub fn parse_roster(
    bytes: &[u8],
    reference: &Reference,
    today: Date,
) -> Result<Roster, RosterRejected> {
    parse_with_limits(bytes, reference, today, LIMITS)
}

fn parse_with_limits(
    bytes: &[u8],
    reference: &Reference,
    today: Date,
    limits: Limits,
) -> Result<Roster, RosterRejected> {
    let mut file = FileParser {
        reference,
        today,
        columns: Column::ALL.len(),
        errors: Vec::new(),
        warnings: Vec::new(),
        rows: Vec::new(),
        seen: HashMap::new(),
    };
    file.run(bytes, limits);
    file.finish()
}

struct FileParser<'r> {
    reference: &'r Reference,
    today: Date,
    /// Columns of the header (every row has as many): all, or those before `cared_for`.
    columns: usize,
    errors: Vec<RosterError>,
    warnings: Vec<RosterWarning>,
    rows: Vec<RosterRow>,
    /// First line of each citizen ID, to report duplicates.
    seen: HashMap<CitizenId, u64>,
}

impl FileParser<'_> {
    fn error(&mut self, line: u64, column: Option<Column>, problem: Problem) {
        self.errors.push(RosterError {
            line,
            column,
            problem,
        });
    }

    fn run(&mut self, bytes: &[u8], limits: Limits) {
        if bytes.len() > limits.bytes_max {
            let problem = Problem::FileTooLarge {
                bytes: bytes.len(),
                max: limits.bytes_max,
            };
            return self.error(0, None, problem);
        }
        // Spreadsheet programs often start UTF-8 CSV with a byte-order mark.
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        let mut lines = LineCounter::new(bytes);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes);
        let mut records = reader.byte_records();
        match records.next() {
            None => return self.error(1, None, Problem::NoHeader),
            Some(Err(e)) => return self.csv_error(&e, &mut lines),
            Some(Ok(header)) => match header_columns(&header) {
                Some(n) => self.columns = n,
                None => return self.error(lines.of(&header), None, Problem::BadHeader),
            },
        }
        let mut rows = 0usize;
        for record in records {
            let record = match record {
                Ok(r) => r,
                // The reader cannot resynchronise after a CSV-level error; stop there.
                Err(e) => return self.csv_error(&e, &mut lines),
            };
            let line = lines.of(&record);
            if record.iter().all(|f| f.trim_ascii().is_empty()) {
                continue;
            }
            rows += 1;
            if rows > limits.rows_max {
                let problem = Problem::TooManyRows {
                    max: limits.rows_max,
                };
                return self.error(line, None, problem);
            }
            self.row(line, &record);
        }
        if rows == 0 {
            self.error(2, None, Problem::NoRows);
        }
    }

    fn csv_error(&mut self, e: &csv::Error, lines: &mut LineCounter<'_>) {
        let line = e.position().map_or(0, |p| lines.at(p.byte()));
        let reason = e.to_string();
        self.error(line, None, Problem::Csv { reason });
    }

    fn row(&mut self, line: u64, record: &csv::ByteRecord) {
        if record.len() != self.columns {
            let problem = Problem::WrongColumnCount {
                found: record.len(),
                expected: self.columns,
            };
            return self.error(line, None, problem);
        }
        // A header without `cared_for` leaves it empty.
        let mut fields = [""; Column::ALL.len()];
        let mut utf8 = true;
        for (i, raw) in record.iter().enumerate() {
            match std::str::from_utf8(raw) {
                Ok(text) => fields[i] = text.trim(),
                Err(_) => {
                    utf8 = false;
                    self.error(line, Some(Column::ALL[i]), Problem::NotUtf8);
                }
            }
        }
        if !utf8 {
            return;
        }
        let mut row = RowParser {
            line,
            fields,
            reference: self.reference,
            today: self.today,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
        let parsed = row.enrol(&mut self.seen);
        // Fields are read in dependency order; report them in column order.
        row.errors.sort_by_key(|e| e.column.map(Column::index));
        row.warnings.sort_by_key(|w| w.column.index());
        self.errors.append(&mut row.errors);
        self.warnings.append(&mut row.warnings);
        if let Some((enrol, payee)) = parsed {
            self.rows.push(RosterRow { line, enrol, payee });
        }
    }

    fn finish(self) -> Result<Roster, RosterRejected> {
        if self.errors.is_empty() {
            Ok(Roster {
                rows: self.rows,
                warnings: self.warnings,
            })
        } else {
            Err(RosterRejected {
                errors: self.errors,
                warnings: self.warnings,
            })
        }
    }
}

/// Line numbers of records, counted here because the csv crate's own count skips blank lines
/// and counts CRLF oddly. Offsets must be asked for in increasing order.
struct LineCounter<'b> {
    bytes: &'b [u8],
    /// Bytes before `pos` are counted: `line` is the line `pos` is on.
    pos: usize,
    line: u64,
}

impl<'b> LineCounter<'b> {
    fn new(bytes: &'b [u8]) -> LineCounter<'b> {
        LineCounter {
            bytes,
            pos: 0,
            line: 1,
        }
    }

    fn of(&mut self, record: &csv::ByteRecord) -> u64 {
        record.position().map_or(0, |p| self.at(p.byte()))
    }

    /// The line of the record the reader reports at `offset`. The reader reports where the
    /// previous record's terminator ended, so skip line breaks (blank lines) to its first byte.
    fn at(&mut self, offset: u64) -> u64 {
        let mut start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.pos {
            // A line ends with LF, CRLF or a lone CR, as the csv reader ends a record: a file
            // whose header ends with a lone CR has its first row on line 2 here too.
            let chunk = &self.bytes[self.pos..start];
            let breaks = chunk
                .iter()
                .enumerate()
                .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && chunk.get(i + 1) != Some(&b'\n')))
                .count();
            self.line += breaks as u64;
            self.pos = start;
        }
        self.line
    }
}

/// The number of columns of a good header (every column, or those before `cared_for`), or
/// `None`.
fn header_columns(header: &csv::ByteRecord) -> Option<usize> {
    let n = header.len();
    let names_match = header
        .iter()
        .zip(Column::ALL)
        .all(|(found, c)| found.trim_ascii() == c.name().as_bytes());
    (names_match && (n == Column::ALL.len() || n == COLUMNS_WITHOUT_PAYEES)).then_some(n)
}

/// Reads one row's fields. Every field method records its own errors and returns `None` when
/// the field is bad, so that one pass reports every bad field of the row.
struct RowParser<'a> {
    line: u64,
    fields: [&'a str; Column::ALL.len()],
    reference: &'a Reference,
    today: Date,
    errors: Vec<RosterError>,
    warnings: Vec<RosterWarning>,
}

/// The parts of a row before they are assembled into an `Enrol`.
struct Parts {
    citizen_id: Option<CitizenId>,
    full_name: Option<String>,
    birth_date: Option<Date>,
    sex: Option<Sex>,
    address_line: Option<String>,
    commune: Option<CommuneCode>,
    programme: Option<Programme>,
    scheme: Option<&'static SchemeSpec>,
    params: Option<Vec<SchemeParam>>,
    decision: Option<Decision>,
    effective_from: Option<Month>,
    route: Option<RouteRequest>,
    /// `Some(None)`: a row paid to its own person.
    cared_for: Option<Option<CitizenId>>,
}

impl<'a> RowParser<'a> {
    fn enrol(&mut self, seen: &mut HashMap<CitizenId, u64>) -> Option<(Enrol, Option<PayeeRow>)> {
        let citizen_id = self.citizen_id(seen);
        let full_name = self.text(Column::FullName, true);
        let birth_date = self.birth_date();
        let sex = self.sex();
        self.citizen_id_structure(citizen_id, birth_date, sex);
        let address_line = self.text(Column::AddressLine, false);
        let commune = self.commune(Column::CommuneCode);
        let programme = self.programme();
        let scheme = self.scheme(programme);
        let parts = Parts {
            citizen_id,
            full_name,
            birth_date,
            sex,
            address_line,
            commune,
            programme,
            scheme,
            params: self.params(scheme),
            decision: self.decision(),
            effective_from: self.effective_month(birth_date),
            route: self.route(commune),
            cared_for: self.cared_for(scheme, citizen_id),
        };
        if !self.errors.is_empty() {
            return None;
        }
        assemble(parts, self.line)
    }

    /// Structural checks of the ID against birth date and sex: warnings (see `CCCD.md`).
    fn citizen_id_structure(
        &mut self,
        id: Option<CitizenId>,
        birth: Option<Date>,
        sex: Option<Sex>,
    ) {
        if let (Some(id), Some(birth), Some(sex)) = (id, birth, sex) {
            for w in citizen_id_warnings(&id, birth, sex) {
                self.warn(Column::CitizenId, w);
            }
        }
    }

    fn error(&mut self, column: Column, problem: Problem) {
        self.errors.push(RosterError {
            line: self.line,
            column: Some(column),
            problem,
        });
    }

    fn warn(&mut self, column: Column, warning: EnrolmentWarning) {
        self.warnings.push(RosterWarning {
            line: self.line,
            column,
            warning,
        });
    }

    fn get(&self, column: Column) -> &'a str {
        self.fields[column.index()]
    }

    /// The field's text, or `None` with a `Missing` error when it is empty.
    fn required(&mut self, column: Column) -> Option<&'a str> {
        let text = self.get(column);
        if text.is_empty() {
            self.error(column, Problem::Missing);
            return None;
        }
        Some(text)
    }

    /// A free-text field, within the ledger's text limits.
    fn text(&mut self, column: Column, required: bool) -> Option<String> {
        let text = if required {
            self.required(column)?
        } else {
            self.get(column)
        };
        // The ledger's own validator, so a row the parser passes is one `decide` accepts and
        // every payment file can carry.
        use crate::domain::text::{check, TextProblem};
        let problem = match check(text, usize::from(required)) {
            Ok(()) => return Some(text.to_owned()),
            Err(TextProblem::TooLong) => Problem::TooLong {
                max: TEXT_CHARS_MAX,
            },
            Err(TextProblem::Control) => Problem::ControlCharacters,
            Err(other) => Problem::Text(other),
        };
        self.error(column, problem);
        None
    }

    fn invalid<T>(&mut self, column: Column, reason: impl Into<String>) -> Option<T> {
        self.error(
            column,
            Problem::Invalid {
                reason: reason.into(),
            },
        );
        None
    }

    fn citizen_id(&mut self, seen: &mut HashMap<CitizenId, u64>) -> Option<CitizenId> {
        let text = self.required(Column::CitizenId)?;
        // The parse error says what is wrong without repeating the number.
        let id = match CitizenId::parse(text) {
            Ok(id) => id,
            Err(e) => return self.invalid(Column::CitizenId, e.reason),
        };
        if let Some(&first_line) = seen.get(&id) {
            let masked = id.masked();
            self.error(
                Column::CitizenId,
                Problem::DuplicateCitizenId { masked, first_line },
            );
        } else {
            seen.insert(id, self.line);
        }
        if let Some(w) = self.reference.citizen_id_prefix_warning(&id) {
            self.warn(Column::CitizenId, w);
        }
        Some(id)
    }

    fn birth_date(&mut self) -> Option<Date> {
        let text = self.required(Column::BirthDate)?;
        // Personal data: the message does not repeat the value.
        let Ok(date) = Date::parse(text) else {
            return self.invalid(
                Column::BirthDate,
                "is not a real date in the form YYYY-MM-DD",
            );
        };
        self.not_future(Column::BirthDate, date)
    }

    fn not_future(&mut self, column: Column, date: Date) -> Option<Date> {
        if date > self.today {
            self.error(column, Problem::InFuture { today: self.today });
            return None;
        }
        Some(date)
    }

    fn sex(&mut self) -> Option<Sex> {
        let text = self.required(Column::Sex)?;
        match Sex::parse(text) {
            Ok(sex) => Some(sex),
            Err(_) => self.invalid(Column::Sex, "must be M or F"),
        }
    }

    /// A 2025 or pre-2025 commune code, as its 2025 code.
    fn commune(&mut self, column: Column) -> Option<CommuneCode> {
        let text = self.required(column)?;
        let code = match CommuneCode::parse(text) {
            Ok(code) => code,
            Err(e) => return self.invalid(column, e.to_string()),
        };
        match self.reference.resolve_commune(code) {
            Ok(resolved) => {
                if let Some(w) = resolved.warning {
                    self.warn(column, w);
                }
                Some(resolved.code)
            }
            Err(e) => {
                self.error(column, e.into());
                None
            }
        }
    }

    fn programme(&mut self) -> Option<Programme> {
        let text = self.required(Column::Programme)?;
        match Programme::parse(text) {
            Ok(p) => Some(p),
            Err(_) => {
                self.error(
                    Column::Programme,
                    Problem::UnknownProgramme { found: echo(text) },
                );
                None
            }
        }
    }

    fn scheme(&mut self, programme: Option<Programme>) -> Option<&'static SchemeSpec> {
        let text = self.required(Column::Scheme)?;
        let Some(spec) = scheme(text) else {
            self.error(Column::Scheme, Problem::UnknownScheme { found: echo(text) });
            return None;
        };
        match programme {
            Some(given) if given != spec.programme => {
                let problem = Problem::SchemeNotInProgramme {
                    scheme: spec.code(),
                    belongs: spec.programme,
                    given,
                };
                self.error(Column::Scheme, problem);
                None
            }
            _ if !spec.in_roster() => {
                let problem = Problem::NotInRoster {
                    scheme: spec.code(),
                    clause: spec.clause,
                };
                self.error(Column::Scheme, problem);
                None
            }
            _ => Some(spec),
        }
    }

    fn params(&mut self, spec: Option<&SchemeSpec>) -> Option<Vec<SchemeParam>> {
        let checked = parse_params(self.get(Column::Params)).and_then(|params| {
            spec.map_or(Ok(()), |s| check_params(s, &params))?;
            Ok(params)
        });
        match checked {
            Ok(params) => Some(params),
            Err(e) => {
                self.error(Column::Params, e.into());
                None
            }
        }
    }

    fn decision(&mut self) -> Option<Decision> {
        let number = self.text(Column::DecisionNumber, true);
        let date = self.decision_date();
        let signer = self.text(Column::DecisionSigner, true);
        Some(Decision {
            number: number?,
            date: date?,
            signer: signer?,
        })
    }

    fn decision_date(&mut self) -> Option<Date> {
        let text = self.required(Column::DecisionDate)?;
        match Date::parse(text) {
            Ok(date) => self.not_future(Column::DecisionDate, date),
            Err(e) => self.invalid(Column::DecisionDate, e.to_string()),
        }
    }

    fn effective_month(&mut self, birth: Option<Date>) -> Option<Month> {
        let text = self.required(Column::EffectiveMonth)?;
        let month = match Month::parse(text) {
            Ok(m) => m,
            Err(e) => return self.invalid(Column::EffectiveMonth, e.to_string()),
        };
        if birth.is_some_and(|b| month < b.month()) {
            self.error(Column::EffectiveMonth, Problem::BeforeBirth);
            return None;
        }
        Some(month)
    }

    fn route(&mut self, commune: Option<CommuneCode>) -> Option<RouteRequest> {
        let text = self.required(Column::Route)?;
        match text.to_ascii_lowercase().as_str() {
            "bank" => self.bank_route(),
            "cash" => self.cash_route(commune),
            _ => {
                self.error(Column::Route, Problem::UnknownRoute { found: echo(text) });
                None
            }
        }
    }

    fn bank_route(&mut self) -> Option<RouteRequest> {
        let bin = self.bank_bin();
        let account_number = self.account_number();
        let holder_name = self.text(Column::AccountHolder, true);
        if !self.get(Column::PayPoint).is_empty() {
            self.error(Column::PayPoint, Problem::NotForBank);
        }
        Some(RouteRequest::Bank {
            bin: bin?,
            account_number: account_number?,
            holder_name: holder_name?,
        })
    }

    fn bank_bin(&mut self) -> Option<BankBin> {
        let text = self.required(Column::BankBin)?;
        let bin = match BankBin::parse(text) {
            Ok(bin) => bin,
            Err(e) => return self.invalid(Column::BankBin, e.to_string()),
        };
        match self.reference.bank(bin) {
            Ok(_) => Some(bin),
            Err(e) => {
                self.error(Column::BankBin, e.into());
                None
            }
        }
    }

    fn account_number(&mut self) -> Option<AccountNumber> {
        let text = self.required(Column::AccountNumber)?;
        // The parse error says what is wrong without repeating the number.
        match AccountNumber::parse(text) {
            Ok(account) => Some(account),
            Err(e) => self.invalid(Column::AccountNumber, e.reason),
        }
    }

    /// The person a carer's or foster household's row cares for: required on a payee scheme,
    /// empty on any other. Whether that person is in the roster or enrolled is decided with the
    /// import (`decide::import_roster`), which names this line and column when not.
    fn cared_for(
        &mut self,
        spec: Option<&SchemeSpec>,
        own: Option<CitizenId>,
    ) -> Option<Option<CitizenId>> {
        let text = self.get(Column::CaredFor);
        let payee_scheme = spec.map(|s| (s.code(), s.params.payee_required));
        match (payee_scheme, text.is_empty()) {
            // The scheme is bad: its own error says so.
            (None, _) => return None,
            (Some((_, false)), true) => return Some(None),
            (Some((scheme, true)), true) => {
                self.error(Column::CaredFor, Problem::CaredForMissing { scheme });
                return None;
            }
            (Some((scheme, false)), false) => {
                self.error(Column::CaredFor, Problem::CaredForNotTaken { scheme });
                return None;
            }
            (Some((_, true)), false) => {}
        }
        // The parse error says what is wrong without repeating the number.
        let id = match CitizenId::parse(text) {
            Ok(id) => id,
            Err(e) => return self.invalid(Column::CaredFor, e.reason),
        };
        if own == Some(id) {
            self.error(Column::CaredFor, Problem::CaresForSelf);
            return None;
        }
        Some(Some(id))
    }

    fn cash_route(&mut self, commune: Option<CommuneCode>) -> Option<RouteRequest> {
        for column in [
            Column::BankBin,
            Column::AccountNumber,
            Column::AccountHolder,
        ] {
            if !self.get(column).is_empty() {
                self.error(column, Problem::NotForCash);
            }
        }
        let pay_point = if self.get(Column::PayPoint).is_empty() {
            commune?
        } else {
            self.commune(Column::PayPoint)?
        };
        Some(RouteRequest::Cash { pay_point })
    }
}

/// Builds the command from a row whose every part parsed: the person's enrolment with their
/// entitlement, or for a carer's or foster household's row, the household's enrolment and the
/// grant to the person it cares for.
fn assemble(p: Parts, line: u64) -> Option<(Enrol, Option<PayeeRow>)> {
    let programme = p.programme?;
    let decision = p.decision?;
    let entitlement = NewEntitlement {
        programme,
        scheme: p.scheme?.code().to_owned(),
        params: p.params?,
        kind: EntitlementKind::Monthly,
        effective_from: p.effective_from?,
        decision: decision.clone(),
        payee: None,
    };
    let (entitlements, payee) = match p.cared_for? {
        None => (vec![entitlement], None),
        Some(cared_for) => (
            Vec::new(),
            Some(PayeeRow {
                line,
                cared_for,
                entitlement,
            }),
        ),
    };
    let enrol = Enrol {
        citizen_id: p.citizen_id?,
        full_name: p.full_name?,
        birth_date: p.birth_date?,
        sex: p.sex?,
        address_line: p.address_line?,
        commune: p.commune?,
        programme,
        // A roster row's one decision both enrols the person and grants the entitlement.
        decision: Some(decision),
        route: Some(p.route?),
        entitlements,
    };
    Some((enrol, payee))
}

// ---------------------------------------------------------------------------------------------
// The writer

/// Why an `Enrol` could not be written as a roster row.
#[derive(Debug, thiserror::Error)]
pub enum RosterWriteError {
    #[error("writing the roster: {0}")]
    Csv(#[from] csv::Error),
    #[error("writing the roster: {0}")]
    Io(#[from] io::Error),
    #[error("a roster row cannot hold this enrolment: {0}")]
    NotRepresentable(&'static str),
}

/// Writes enrolments in the roster format: the header, then one row per `Enrol`.
pub struct RosterWriter<W: io::Write> {
    csv: csv::Writer<W>,
}

impl<W: io::Write> RosterWriter<W> {
    /// Starts a roster on `w` by writing the header.
    pub fn new(w: W) -> Result<RosterWriter<W>, RosterWriteError> {
        let mut csv = csv::WriterBuilder::new().has_headers(false).from_writer(w);
        csv.write_record(Column::ALL.map(Column::name))?;
        Ok(RosterWriter { csv })
    }

    /// Writes one enrolment. It must have a route, exactly one monthly entitlement with no
    /// separate payee, and no enrolment decision other than the entitlement's.
    pub fn write(&mut self, e: &Enrol) -> Result<(), RosterWriteError> {
        let row = row_of(e)?;
        self.csv.write_record(&row)?;
        Ok(())
    }

    /// Writes one row as the parser reads it back: a person's, or a carer's or foster
    /// household's (its `payee`), whose `cared_for` column names the person it cares for.
    pub fn write_row(&mut self, r: &RosterRow) -> Result<(), RosterWriteError> {
        let Some(payee) = &r.payee else {
            return self.write(&r.enrol);
        };
        let with_grant = Enrol {
            entitlements: vec![payee.entitlement.clone()],
            ..r.enrol.clone()
        };
        let mut row = row_of(&with_grant)?;
        row[Column::ALL.len() - 1] = payee.cared_for.expose().to_owned();
        self.csv.write_record(&row)?;
        Ok(())
    }

    /// Flushes and returns the underlying writer.
    pub fn finish(self) -> Result<W, RosterWriteError> {
        self.csv
            .into_inner()
            .map_err(|e| RosterWriteError::Io(e.into_error()))
    }
}

fn row_of(e: &Enrol) -> Result<[String; Column::ALL.len()], RosterWriteError> {
    let not = RosterWriteError::NotRepresentable;
    let [ent] = e.entitlements.as_slice() else {
        return Err(not("a row has exactly one entitlement"));
    };
    if ent.kind != EntitlementKind::Monthly || ent.payee.is_some() || ent.programme != e.programme {
        return Err(not(
            "a row's entitlement is monthly, paid to the person, in the row's programme",
        ));
    }
    if e.decision.as_ref().is_some_and(|d| d != &ent.decision) {
        return Err(not("a row has one decision"));
    }
    let route = e.route.as_ref().ok_or(not("a row has a payment route"))?;
    let (route_name, bin, account, holder, pay_point) = match route {
        RouteRequest::Bank {
            bin,
            account_number,
            holder_name,
        } => (
            "bank",
            bin.to_string(),
            account_number.expose().to_owned(),
            holder_name.clone(),
            String::new(),
        ),
        RouteRequest::Cash { pay_point } => (
            "cash",
            String::new(),
            String::new(),
            String::new(),
            pay_point.to_string(),
        ),
    };
    Ok([
        e.citizen_id.expose().to_owned(),
        e.full_name.clone(),
        e.birth_date.to_string(),
        match e.sex {
            Sex::Male => "M".to_owned(),
            Sex::Female => "F".to_owned(),
        },
        e.address_line.clone(),
        e.commune.to_string(),
        e.programme.code().to_owned(),
        ent.scheme.clone(),
        format_params(&ent.params),
        ent.decision.number.clone(),
        ent.decision.date.to_string(),
        ent.decision.signer.clone(),
        ent.effective_from.to_string(),
        route_name.to_owned(),
        bin,
        account,
        holder,
        pay_point,
        // An `Enrol` names no person cared for (that is a `PayeeRow` of the import).
        String::new(),
    ])
}

#[cfg(test)]
mod tests;
