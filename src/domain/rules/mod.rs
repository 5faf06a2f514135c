//! The benefit rules: what is due to a person for a month, as known at a sequence number, and
//! what a payment month owes once what was already paid is taken into account (arrears and
//! recovery). Also the scheme catalogue that validates entitlement decisions.
//!
//! Pure, like all of `domain`: no IO, no clock. Inputs are plain borrowed values (`Person`,
//! `RateBook`, a map of what was paid), so a batch, a review screen or a test can ask the same
//! question of the same function. Every amount is whole dong (coefficients are exact decimals,
//! `rates::scale`); every line names the rule, the rate entries and schedules, and the
//! decision behind it.
//! Sources and interpretations: `docs/rules.md`.

mod active;
mod arrears;
mod btxh;
pub mod catalogue;
mod due;
pub mod lifecycle;
mod ncc;
pub mod rates;
pub mod scheme;

use std::fmt;

use crate::domain::event::{ItemKind, PaymentItem};
use crate::domain::state::{Beneficiary, Entitlement, State};
use crate::domain::types::{Date, EntitlementId, Month, Programme, ProvinceCode, Vnd};

pub use arrears::{payment_due, Paid, PaymentDue};
pub use catalogue::{validate, validate_payee, Scheme, SCHEMES};
pub use due::due;
pub use rates::{At, Rate, RateBook};
pub use scheme::SchemeCode;

/// The facts about one person that the rules read, borrowed from wherever they live.
#[derive(Debug, Clone, Copy)]
pub struct Person<'a> {
    /// Needed by age-banded schemes; `None` when the personal data was erased.
    pub birth_date: Option<Date>,
    /// As currently known (the ledger does not yet keep when a death was learnt).
    pub date_of_death: Option<Date>,
    /// For provincial rate schedules; `None` uses national rates only.
    pub province: Option<ProvinceCode>,
    /// Every entitlement of the person, all programmes (combination rules cross them).
    pub entitlements: &'a [&'a Entitlement],
}

impl<'a> Person<'a> {
    /// The facts of a beneficiary in the ledger's state; `entitlements` from `entitlements_of`.
    pub fn of(b: &Beneficiary, entitlements: &'a [&'a Entitlement]) -> Person<'a> {
        Person {
            birth_date: b.identity.known().map(|i| i.birth_date),
            date_of_death: b.date_of_death,
            province: None,
            entitlements,
        }
    }
}

/// The entitlements of a beneficiary, from the state.
pub fn entitlements_of<'s>(state: &'s State, b: &Beneficiary) -> Vec<&'s Entitlement> {
    b.entitlements
        .iter()
        .filter_map(|id| state.entitlement(*id))
        .collect()
}

/// One itemised line of what is due: for which entitlement and month, what kind, how much, and
/// why (rule, rate entries with their schedules, clause, decision).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct DueLine {
    pub entitlement: EntitlementId,
    pub programme: Programme,
    pub scheme: String,
    pub source_month: Month,
    pub kind: ItemKind,
    pub amount: Vnd,
    /// The rate entries behind the amount, e.g. `ncc.annex2.61@ncc-nd77-2024`, or for a
    /// difference `… − paid 3,174,000`.
    pub rule: String,
    /// The legal clause of the rule, e.g. `ND 75/2021 Annex I 6.1, Annex II`.
    pub clause: &'static str,
    /// The schedule of the amount's main rate (for BTXH, the base level's).
    pub schedule: String,
    /// Number of the decision that set the entitlement's terms.
    pub decision: String,
}

impl DueLine {
    /// The payment item a batch records for this line.
    pub fn item(&self) -> PaymentItem {
        PaymentItem {
            entitlement: self.entitlement,
            source_month: self.source_month,
            kind: self.kind,
            amount: self.amount,
            rule: self.rule.clone(),
        }
    }
}

/// Why the rules could not compute an amount. The batch lists the person as not computable
/// rather than paying a guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("no rate {key} is recorded for {month}")]
    NoRate { key: String, month: Month },
    #[error("rate {key} in schedule {schedule} is not an {expected}")]
    WrongUnit {
        key: String,
        schedule: String,
        expected: String,
    },
    #[error("{entitlement}: unknown scheme {scheme:?}")]
    UnknownScheme {
        entitlement: EntitlementId,
        scheme: String,
    },
    #[error("{entitlement}: {scheme} needs {param}")]
    MissingParam {
        entitlement: EntitlementId,
        scheme: String,
        param: &'static str,
    },
    #[error("{entitlement}: {scheme} depends on age, but the birth date is not known")]
    BirthDateUnknown {
        entitlement: EntitlementId,
        scheme: String,
    },
    #[error("amount out of range")]
    Overflow,
}

/// Joins rule citations for a line made of several rates.
fn cite_all<'r>(parts: impl IntoIterator<Item = &'r str>, sep: &str) -> String {
    parts.into_iter().collect::<Vec<_>>().join(sep)
}

impl fmt::Display for DueLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {:?} {} [{}] ({}; decision {})",
            self.entitlement,
            self.scheme,
            self.source_month,
            self.kind,
            self.amount,
            self.rule,
            self.clause,
            self.decision
        )
    }
}
