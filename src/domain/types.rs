//! Value types of the domain: money, months, dates, identifiers and codes.
//!
//! Every type here is parsed once, at the edge, and is valid by construction afterwards:
//! a `CitizenId` always holds exactly twelve ASCII digits, a `Month` is always a real calendar
//! month, a `Vnd` is always whole dong. None of them do IO or read a clock.

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

/// An amount of Vietnamese dong. VND has no minor unit (ISO 4217 exponent 0), so every amount is
/// a whole number of dong. Signed, because a recovery line is negative.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Encode,
    Decode,
    Serialize,
    Deserialize,
)]
#[serde(transparent)]
pub struct Vnd(pub i64);

impl Vnd {
    pub const ZERO: Vnd = Vnd(0);

    pub fn checked_add(self, other: Vnd) -> Option<Vnd> {
        self.0.checked_add(other.0).map(Vnd)
    }

    pub fn checked_sub(self, other: Vnd) -> Option<Vnd> {
        self.0.checked_sub(other.0).map(Vnd)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }
}

impl std::ops::Add for Vnd {
    type Output = Vnd;
    fn add(self, other: Vnd) -> Vnd {
        Vnd(self.0 + other.0)
    }
}

impl std::ops::Sub for Vnd {
    type Output = Vnd;
    fn sub(self, other: Vnd) -> Vnd {
        Vnd(self.0 - other.0)
    }
}

impl std::iter::Sum for Vnd {
    fn sum<I: Iterator<Item = Vnd>>(iter: I) -> Vnd {
        Vnd(iter.map(|v| v.0).sum())
    }
}

impl fmt::Display for Vnd {
    /// Groups thousands with commas, the way the rules reference writes plain figures.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
        if self.0 < 0 {
            out.push('-');
        }
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(ch);
        }
        f.pad(&out)
    }
}

/// Why a value from outside could not be parsed. The message names the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {reason}")]
pub struct ParseError {
    pub what: &'static str,
    pub reason: String,
}

fn parse_error(what: &'static str, reason: impl Into<String>) -> ParseError {
    ParseError {
        what,
        reason: reason.into(),
    }
}

/// A calendar month, the unit in which benefits are due and paid.
/// Stored as the number of months since January of year 0, so months order and subtract
/// as integers.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Month(u32);

impl Month {
    /// January 1900, the earliest month `new` accepts.
    pub const EARLIEST: Month = Month(1900 * 12);

    pub fn new(year: u16, month: u8) -> Result<Month, ParseError> {
        if !(1..=12).contains(&month) {
            return Err(parse_error("month", format!("month {month} is not 1-12")));
        }
        if !(1900..=2999).contains(&year) {
            return Err(parse_error(
                "month",
                format!("year {year} is not 1900-2999"),
            ));
        }
        Ok(Month(u32::from(year) * 12 + u32::from(month) - 1))
    }

    pub fn year(self) -> u16 {
        (self.0 / 12) as u16
    }

    /// 1 = January.
    pub fn month(self) -> u8 {
        (self.0 % 12) as u8 + 1
    }

    pub fn next(self) -> Month {
        Month(self.0 + 1)
    }

    pub fn prev(self) -> Month {
        Month(self.0 - 1)
    }

    /// Months from `self` to `later`; negative when `later` is earlier.
    pub fn months_until(self, later: Month) -> i64 {
        i64::from(later.0) - i64::from(self.0)
    }

    pub fn plus(self, months: u32) -> Month {
        Month(self.0 + months)
    }

    pub fn first_day(self) -> Date {
        Date {
            year: self.year(),
            month: self.month(),
            day: 1,
        }
    }

    pub fn parse(text: &str) -> Result<Month, ParseError> {
        let bad = || parse_error("month", format!("{text:?} is not YYYY-MM"));
        let (y, m) = text.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year: u16 = y.parse().map_err(|_| bad())?;
        let month: u8 = m.parse().map_err(|_| bad())?;
        Month::new(year, month)
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

impl fmt::Debug for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Month({self})")
    }
}

impl TryFrom<String> for Month {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Month, ParseError> {
        Month::parse(&text)
    }
}

impl From<Month> for String {
    fn from(m: Month) -> String {
        m.to_string()
    }
}

/// A civil date (no time zone: decisions, births and deaths are dated in local days).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Vietnam's civil time is UTC+7 all year (no daylight saving): decisions, batches and payment
/// files are dated in it. Defined once, here.
pub const VIETNAM_OFFSET_MINUTES: i16 = 7 * 60;

impl Date {
    pub fn new(year: u16, month: u8, day: u8) -> Result<Date, ParseError> {
        let m = Month::new(year, month)?;
        if day == 0 || day > days_in_month(m) {
            return Err(parse_error(
                "date",
                format!("{year:04}-{month:02} has no day {day}"),
            ));
        }
        Ok(Date { year, month, day })
    }

    pub fn parse(text: &str) -> Result<Date, ParseError> {
        let bad = || parse_error("date", format!("{text:?} is not YYYY-MM-DD"));
        let parts: Vec<&str> = text.split('-').collect();
        if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
            return Err(bad());
        }
        let year = parts[0].parse().map_err(|_| bad())?;
        let month = parts[1].parse().map_err(|_| bad())?;
        let day = parts[2].parse().map_err(|_| bad())?;
        Date::new(year, month, day)
    }

    pub fn year(self) -> u16 {
        self.year
    }

    pub fn month_number(self) -> u8 {
        self.month
    }

    pub fn day(self) -> u8 {
        self.day
    }

    /// The month this date falls in.
    pub fn month(self) -> Month {
        Month(u32::from(self.year) * 12 + u32::from(self.month) - 1)
    }

    /// Days since 1970-01-01 (negative before), by the civil-from-days algorithm.
    pub fn days_since_epoch(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as u16;
        Date { year, month, day }
    }
}

/// Days in a calendar month, with Gregorian leap years.
pub fn days_in_month(m: Month) -> u8 {
    match m.month() {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ => {
            let y = m.year();
            if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 {
                29
            } else {
                28
            }
        }
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl TryFrom<String> for Date {
    type Error = ParseError;
    fn try_from(text: String) -> Result<Date, ParseError> {
        Date::parse(&text)
    }
}

impl From<Date> for String {
    fn from(d: Date) -> String {
        d.to_string()
    }
}

/// The 12-digit Vietnamese citizen identification number (CCCD / personal ID number).
/// The only hard rule is "exactly 12 ASCII digits"; structural disagreements with the birth
/// date are warnings (see `reference/vn/CCCD.md`). `Debug` and `Display` mask the middle digits
/// so that a citizen ID never reaches a log in full; `expose()` is the one way to the full number.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct CitizenId([u8; 12]);

impl CitizenId {
    pub fn parse(text: &str) -> Result<CitizenId, ParseError> {
        let bytes = text.as_bytes();
        if bytes.len() != 12 {
            return Err(parse_error(
                "citizen ID",
                format!(
                    "must be exactly 12 digits, got {} characters",
                    text.chars().count()
                ),
            ));
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(parse_error(
                "citizen ID",
                "must contain only the digits 0-9",
            ));
        }
        let mut digits = [0u8; 12];
        digits.copy_from_slice(bytes);
        Ok(CitizenId(digits))
    }

    /// The full number. Use only where the full number is the point (payment files, the
    /// personal-data store), never in logs.
    pub fn expose(&self) -> &str {
        std::str::from_utf8(&self.0).expect("citizen ID holds ASCII digits by construction")
    }

    /// The three-digit province-of-birth-registration prefix.
    pub fn province_prefix(&self) -> &str {
        &self.expose()[..3]
    }

    /// The century-and-sex digit (4th): even male, odd female; century = 20 + digit / 2.
    pub fn century_sex_digit(&self) -> u8 {
        self.0[3] - b'0'
    }

    /// The last two digits of the birth year (5th and 6th).
    pub fn year_digits(&self) -> u8 {
        (self.0[4] - b'0') * 10 + (self.0[5] - b'0')
    }

    /// Masked form for display and logs: the province prefix and last three digits only.
    pub fn masked(&self) -> String {
        let s = self.expose();
        format!("{}******{}", &s[..3], &s[9..])
    }
}

impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({})", self.masked())
    }
}

impl fmt::Display for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for CitizenId {
    /// Serialises the full number: JSON output of personal data is itself personal data and is
    /// served only to roles allowed to see it.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.expose())
    }
}

impl<'de> Deserialize<'de> for CitizenId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<CitizenId, D::Error> {
        let text = String::deserialize(d)?;
        CitizenId::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// A bank account number as the bank knows it (Vietnamese accounts are not IBANs).
/// Masked in `Debug`/`Display` like a citizen ID.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct AccountNumber(String);

/// The longest account number accepted (ISO 20022 `Othr/Id` is Max34Text).
pub const ACCOUNT_NUMBER_CHARS_MAX: usize = 34;

impl AccountNumber {
    pub fn parse(text: &str) -> Result<AccountNumber, ParseError> {
        let text = text.trim();
        if text.len() < 4 || text.len() > ACCOUNT_NUMBER_CHARS_MAX {
            return Err(parse_error(
                "account number",
                format!("must be 4-{ACCOUNT_NUMBER_CHARS_MAX} characters"),
            ));
        }
        if !text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(parse_error(
                "account number",
                "must be letters and digits only",
            ));
        }
        Ok(AccountNumber(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        let tail: String = self
            .0
            .chars()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("****{tail}")
    }
}

impl fmt::Debug for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountNumber({})", self.masked())
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for AccountNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AccountNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AccountNumber, D::Error> {
        let text = String::deserialize(d)?;
        AccountNumber::parse(&text).map_err(serde::de::Error::custom)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($prefix, "{}"), self.0)
            }
        }

        impl $name {
            /// Parses the displayed form (`
            #[doc = $prefix]
            /// 42`) or a bare number.
            pub fn parse(text: &str) -> Result<$name, ParseError> {
                let digits = text.strip_prefix($prefix).unwrap_or(text);
                digits.parse().map($name).map_err(|_| {
                    parse_error(stringify!($name), format!("{text:?} is not {}<number>", $prefix))
                })
            }
        }
    };
}

id_type!(
    /// The ledger's own number for a beneficiary, assigned at enrolment. Unlike the citizen ID it
    /// is not personal data, so events refer to people by it.
    BeneficiaryId,
    "B"
);
id_type!(
    /// One entitlement decision line (a person may hold several).
    EntitlementId,
    "E"
);
id_type!(
    /// A disbursement batch (one programme, one month; supplementary batches get their own id).
    BatchId,
    "BATCH"
);
id_type!(
    /// One payment line of a batch; its display form is the ISO 20022 EndToEndId.
    PaymentId,
    "P"
);
id_type!(
    /// A payment file issued for a batch.
    FileId,
    "F"
);

/// The three benefit programmes, each with its own funding account, rate tables and staff.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Programme {
    /// Preferential allowances for people with meritorious services (người có công).
    #[serde(rename = "NCC")]
    Ncc,
    /// Monthly social assistance (bảo trợ xã hội).
    #[serde(rename = "BTXH")]
    Btxh,
    /// Social pension (trợ cấp hưu trí xã hội), from 2025-07-01.
    #[serde(rename = "HTXH")]
    Htxh,
}

impl Programme {
    pub const ALL: [Programme; 3] = [Programme::Ncc, Programme::Btxh, Programme::Htxh];

    pub fn code(self) -> &'static str {
        match self {
            Programme::Ncc => "NCC",
            Programme::Btxh => "BTXH",
            Programme::Htxh => "HTXH",
        }
    }

    pub fn parse(text: &str) -> Result<Programme, ParseError> {
        match text.trim().to_ascii_uppercase().as_str() {
            "NCC" => Ok(Programme::Ncc),
            "BTXH" => Ok(Programme::Btxh),
            "HTXH" => Ok(Programme::Htxh),
            _ => Err(parse_error(
                "programme",
                format!("{text:?} is not NCC, BTXH or HTXH"),
            )),
        }
    }
}

impl fmt::Display for Programme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
pub enum Sex {
    #[serde(rename = "M")]
    Male,
    #[serde(rename = "F")]
    Female,
}

impl Sex {
    pub fn parse(text: &str) -> Result<Sex, ParseError> {
        match text.trim() {
            "M" | "m" | "Nam" | "nam" => Ok(Sex::Male),
            "F" | "f" | "Nữ" | "nữ" => Ok(Sex::Female),
            _ => Err(parse_error("sex", format!("{text:?} is not M or F"))),
        }
    }
}

/// A NAPAS bank identification number (6 digits, e.g. 970436 Vietcombank).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct BankBin(u32);

impl BankBin {
    pub fn parse(text: &str) -> Result<BankBin, ParseError> {
        let t = text.trim();
        if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(parse_error("bank BIN", format!("{text:?} is not 6 digits")));
        }
        Ok(BankBin(t.parse().expect("six ASCII digits parse")))
    }

    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for BankBin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for BankBin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BankBin({self})")
    }
}

impl TryFrom<String> for BankBin {
    type Error = ParseError;
    fn try_from(t: String) -> Result<BankBin, ParseError> {
        BankBin::parse(&t)
    }
}

impl From<BankBin> for String {
    fn from(b: BankBin) -> String {
        b.to_string()
    }
}

/// An official commune-level administrative unit code (5 digits, GSO), the 2025 code once
/// mapped. Pre-2025 codes are accepted at the edge and mapped by the reference data.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct CommuneCode(u32);

impl CommuneCode {
    pub fn parse(text: &str) -> Result<CommuneCode, ParseError> {
        let t = text.trim();
        if t.len() != 5 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(parse_error(
                "commune code",
                format!("{text:?} is not 5 digits"),
            ));
        }
        Ok(CommuneCode(t.parse().expect("five ASCII digits parse")))
    }

    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for CommuneCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:05}", self.0)
    }
}

impl fmt::Debug for CommuneCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommuneCode({self})")
    }
}

impl TryFrom<String> for CommuneCode {
    type Error = ParseError;
    fn try_from(t: String) -> Result<CommuneCode, ParseError> {
        CommuneCode::parse(&t)
    }
}

impl From<CommuneCode> for String {
    fn from(c: CommuneCode) -> String {
        c.to_string()
    }
}

/// A 2-digit GSO province code (2025 codes once mapped).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct ProvinceCode(u8);

impl ProvinceCode {
    pub fn parse(text: &str) -> Result<ProvinceCode, ParseError> {
        let t = text.trim();
        if t.len() != 2 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(parse_error(
                "province code",
                format!("{text:?} is not 2 digits"),
            ));
        }
        Ok(ProvinceCode(t.parse().expect("two ASCII digits parse")))
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}", self.0)
    }
}

impl fmt::Debug for ProvinceCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ProvinceCode({self})")
    }
}

impl TryFrom<String> for ProvinceCode {
    type Error = ParseError;
    fn try_from(t: String) -> Result<ProvinceCode, ParseError> {
        ProvinceCode::parse(&t)
    }
}

impl From<ProvinceCode> for String {
    fn from(c: ProvinceCode) -> String {
        c.to_string()
    }
}

/// What a principal may do. See the routes table in `docs/http.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Enrolment, corrections, routes and entitlement decisions.
    Officer,
    /// Batches up to compute.
    Maker,
    /// Approve, release, close.
    Checker,
    /// Reads everything, verifies and exports; writes nothing.
    Auditor,
    /// One bank: its own files and its own payments' status.
    Bank,
    /// Tokens, rate schedules and erasure after the retention period.
    Admin,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Officer,
        Role::Maker,
        Role::Checker,
        Role::Auditor,
        Role::Bank,
        Role::Admin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Maker => "maker",
            Role::Checker => "checker",
            Role::Auditor => "auditor",
            Role::Bank => "bank",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Result<Role, String> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == text)
            .ok_or_else(|| {
                format!("{text:?} is not a role (officer, maker, checker, auditor, bank, admin)")
            })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Who acts: a person (or a bank's system) in one role, written `role:name` (`maker:hoa`,
/// `checker:tuan`); a bank's is `bank:<BIN>` or `bank:<BIN>:<name>`, so every record a bank
/// appends names the bank. Parsed once at the edge; `decide` asks it for the role (what may be
/// done) and the person (four eyes). Bounded so the record header stays small.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Principal {
    text: String,
    role: Role,
}

/// The longest principal name a record can carry (the header stores its length in one byte).
pub const PRINCIPAL_BYTES_MAX: usize = 64;

impl Principal {
    pub fn parse(text: &str) -> Result<Principal, ParseError> {
        if text.is_empty() || text.len() > PRINCIPAL_BYTES_MAX {
            return Err(parse_error(
                "principal",
                format!("must be 1-{PRINCIPAL_BYTES_MAX} bytes"),
            ));
        }
        if !text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:@".contains(&b))
        {
            return Err(parse_error(
                "principal",
                "may contain only letters, digits and - _ . : @",
            ));
        }
        let (role, name) = text.split_once(':').ok_or_else(|| {
            parse_error(
                "principal",
                format!("{text:?} is not ROLE:NAME (e.g. maker:hoa, bank:970436)"),
            )
        })?;
        let role = Role::parse(role).map_err(|e| parse_error("principal", e))?;
        if name.is_empty() || name.ends_with(':') {
            return Err(parse_error("principal", "the name after the role is empty"));
        }
        if role == Role::Bank {
            let bin = name.split(':').next().unwrap_or_default();
            BankBin::parse(bin).map_err(|_| {
                parse_error(
                    "principal",
                    format!("a bank acts as bank:<BIN>[:<name>]; {bin:?} is not a NAPAS BIN"),
                )
            })?;
        }
        Ok(Principal {
            text: text.to_owned(),
            role,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// The person behind the role: `hoa` for both `maker:hoa` and `checker:hoa`.
    pub fn person(&self) -> &str {
        person_of(&self.text)
    }

    /// The bank a `bank:` principal acts for.
    pub fn bank_bin(&self) -> Option<BankBin> {
        if self.role != Role::Bank {
            return None;
        }
        BankBin::parse(self.person().split(':').next()?).ok()
    }
}

/// The person of a principal as recorded in the chain (records keep the text). Records older
/// than roles may name no role; then the whole text is the person.
pub fn person_of(principal: &str) -> &str {
    principal.split_once(':').map_or(principal, |(_, p)| p)
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({})", self.text)
    }
}

impl TryFrom<String> for Principal {
    type Error = ParseError;
    fn try_from(t: String) -> Result<Principal, ParseError> {
        Principal::parse(&t)
    }
}

impl From<Principal> for String {
    fn from(p: Principal) -> String {
        p.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citizen_id_requires_twelve_digits() {
        assert!(CitizenId::parse("001052012345").is_ok());
        assert!(CitizenId::parse("00105201234").is_err());
        assert!(CitizenId::parse("0010520123456").is_err());
        assert!(CitizenId::parse("00105201234a").is_err());
        assert!(CitizenId::parse("００１052012345").is_err());
    }

    #[test]
    fn citizen_id_never_formats_in_full() {
        let id = CitizenId::parse("001052012345").unwrap();
        assert_eq!(format!("{id}"), "001******345");
        assert!(!format!("{id:?}").contains("001052012345"));
        assert_eq!(id.century_sex_digit(), 0);
        assert_eq!(id.year_digits(), 52);
    }

    #[test]
    fn month_arithmetic_and_parsing() {
        let m = Month::parse("2024-12").unwrap();
        assert_eq!(m.next().to_string(), "2025-01");
        assert_eq!(
            Month::parse("2024-01").unwrap().prev().to_string(),
            "2023-12"
        );
        assert_eq!(Month::parse("2024-06").unwrap().months_until(m), 6);
        assert!(Month::parse("2024-13").is_err());
        assert!(Month::parse("2024-1").is_err());
    }

    #[test]
    fn dates_validate_and_count_days() {
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2023-02-29").is_err());
        assert_eq!(Date::parse("1970-01-01").unwrap().days_since_epoch(), 0);
        let d = Date::parse("2026-11-22").unwrap();
        assert_eq!(Date::from_days_since_epoch(d.days_since_epoch()), d);
    }

    #[test]
    fn vnd_displays_with_thousands() {
        assert_eq!(Vnd(2_789_000).to_string(), "2,789,000");
        assert_eq!(Vnd(-500).to_string(), "-500");
        assert_eq!(Vnd(0).to_string(), "0");
    }
}
