//! An entitlement in force in the month being computed, with its terms and scheme: what the
//! programme rules (`btxh`, `ncc`) price and `due` combines. Apart from `due` so that `due` can
//! call the programme rules without the rules reaching back into `due`.

use crate::domain::event::ItemKind;
use crate::domain::state::Entitlement;
use crate::domain::types::{Month, Vnd};

use super::catalogue::Scheme;
use super::lifecycle::Terms;
use super::{DueLine, RuleError};

/// An entitlement in force in the month being computed, with its terms and scheme.
pub(crate) struct Active<'a> {
    pub ent: &'a Entitlement,
    pub terms: Terms<'a>,
    pub scheme: &'static Scheme,
}

impl Active<'_> {
    pub fn line(
        &self,
        amount: Vnd,
        kind: ItemKind,
        month: Month,
        rule: String,
        schedule: &str,
    ) -> DueLine {
        DueLine {
            entitlement: self.ent.id(),
            programme: self.scheme.programme,
            scheme: self.scheme.code().to_owned(),
            source_month: month,
            kind,
            amount,
            rule,
            clause: self.scheme.clause,
            schedule: schedule.to_owned(),
            decision: self.terms.decision.to_owned(),
        }
    }

    pub fn missing(&self, param: &'static str) -> RuleError {
        RuleError::MissingParam {
            entitlement: self.ent.id(),
            scheme: self.scheme.code().to_owned(),
            param,
        }
    }
}
