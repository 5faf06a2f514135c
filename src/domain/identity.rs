//! Identity checks against the National Population Database (Project 06): the events that
//! record a check's answers and each programme's setting, the outcome of one answer, and the
//! projection of the latest check of every person, which says who a batch must hold and why.
//!
//! Events carry no personal data: an answer names the person by `BeneficiaryId` (the citizen
//! ID of the answer file is resolved when the check is recorded) and says, per field, whether
//! the database matched, differed or had nothing; a reported death carries its date, as
//! `BeneficiaryDeathRecorded` does.
//!
//! Rules (docs/rules.md, "Identity checks"):
//! - a person whose identity differs or is not found is held from the next batch when their
//!   programme's setting is `Hold` (the default), and only shown when it is `WarnOnly`;
//! - a death reported by the database holds the person whatever the setting, until an officer
//!   records the death (which ends the entitlements) or a later check finds them alive;
//! - a later answer replaces the earlier one: a matching answer clears the hold;
//! - an officer's correction of the person's details is remembered as awaiting confirmation by
//!   the next check; it does not clear the hold by itself.

use std::collections::{BTreeMap, HashMap};

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::types::{BeneficiaryId, CitizenId, Date, Programme};

/// What the database said of one field.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum FieldCheck {
    Matched,
    Differs,
    NotFound,
}

/// One person's answer of a check.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityAnswer {
    pub beneficiary: BeneficiaryId,
    /// Whether the database knows the citizen ID at all (`Matched` or `NotFound`).
    pub citizen_id: FieldCheck,
    pub full_name: FieldCheck,
    pub birth_date: FieldCheck,
    pub sex: FieldCheck,
    /// The date of death the database reports, if it reports one.
    pub died_on: Option<Date>,
}

/// A check's answer file, recorded: every answer about an enrolled person.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityCheckRecorded {
    /// The check's reference (the request's number or the answer file's name).
    pub reference: String,
    /// The day the database answered.
    pub answered_on: Date,
    /// blake3 of the answer file's bytes.
    pub source_digest: [u8; 32],
    pub answers: Vec<IdentityAnswer>,
    /// Answers whose citizen ID names nobody enrolled (counted, not recorded).
    pub unmatched: u32,
}

/// One row of an answer file as a command carries it: the person by citizen ID (personal data,
/// resolved by `decide` and never recorded).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct AnswerRow {
    pub citizen_id: CitizenId,
    pub found: bool,
    pub full_name: FieldCheck,
    pub birth_date: FieldCheck,
    pub sex: FieldCheck,
    pub died_on: Option<Date>,
}

/// The command: record a check's answer file.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RecordIdentityCheck {
    pub reference: String,
    pub answered_on: Date,
    pub source_digest: [u8; 32],
    pub rows: Vec<AnswerRow>,
}

/// What a batch does with a person whose identity is not confirmed.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    Encode,
    Decode,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IdentityCheckMode {
    /// Leave the person out of batches until a matching answer.
    #[default]
    Hold,
    /// Pay, and show the finding.
    WarnOnly,
}

/// A programme's setting, recorded.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IdentityCheckModeSet {
    pub programme: Programme,
    pub mode: IdentityCheckMode,
}

/// What one answer means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdentityOutcome {
    /// Known, every field matched, alive.
    Verified,
    /// Known, but these fields differ (or are missing) in the database.
    Differs { fields: Vec<&'static str> },
    /// The database does not know the citizen ID.
    NotFound,
    /// The database reports the person dead.
    Deceased { died_on: Date },
}

/// The fields an answer can report as differing (the names `outcome` gives them).
const CHECKED_FIELDS: [&str; 3] = ["full_name", "birth_date", "sex"];

/// Snapshot encoding (`state::codec`); field names decode back to `CHECKED_FIELDS`.
impl Encode for IdentityOutcome {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        match self {
            IdentityOutcome::Verified => 0u8.encode(e),
            IdentityOutcome::Differs { fields } => {
                1u8.encode(e)?;
                fields.encode(e)
            }
            IdentityOutcome::NotFound => 2u8.encode(e),
            IdentityOutcome::Deceased { died_on } => {
                3u8.encode(e)?;
                died_on.encode(e)
            }
        }
    }
}

impl<Context> Decode<Context> for IdentityOutcome {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let unknown = |what: String| bincode::error::DecodeError::OtherString(what);
        Ok(match u8::decode(d)? {
            0 => IdentityOutcome::Verified,
            1 => {
                let names: Vec<String> = Decode::decode(d)?;
                let fields = names
                    .iter()
                    .map(|n| {
                        CHECKED_FIELDS
                            .into_iter()
                            .find(|f| f == n)
                            .ok_or_else(|| unknown(format!("unknown identity field {n}")))
                    })
                    .collect::<Result<_, _>>()?;
                IdentityOutcome::Differs { fields }
            }
            2 => IdentityOutcome::NotFound,
            3 => IdentityOutcome::Deceased {
                died_on: Decode::decode(d)?,
            },
            tag => return Err(unknown(format!("unknown identity outcome {tag}"))),
        })
    }
}

bincode::impl_borrow_decode!(IdentityOutcome);

impl IdentityAnswer {
    pub fn outcome(&self) -> IdentityOutcome {
        if let Some(died_on) = self.died_on {
            return IdentityOutcome::Deceased { died_on };
        }
        if self.citizen_id != FieldCheck::Matched {
            return IdentityOutcome::NotFound;
        }
        let fields: Vec<&'static str> = CHECKED_FIELDS
            .into_iter()
            .zip([self.full_name, self.birth_date, self.sex])
            .filter(|(_, c)| *c != FieldCheck::Matched)
            .map(|(name, _)| name)
            .collect();
        if fields.is_empty() {
            IdentityOutcome::Verified
        } else {
            IdentityOutcome::Differs { fields }
        }
    }
}

/// The latest check of one person.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PersonCheck {
    pub seq: u64,
    pub reference: String,
    pub answered_on: Date,
    pub outcome: IdentityOutcome,
    /// An officer corrected the person's details after this answer: the next check confirms.
    pub corrected_after: bool,
}

/// Why a batch leaves a person out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityHold {
    pub beneficiary: BeneficiaryId,
    pub reason: String,
}

/// The projection: every programme's setting and every person's latest check. Owned data only.
#[derive(Debug, Default, Clone)]
pub struct IdentityChecks {
    modes: BTreeMap<Programme, IdentityCheckMode>,
    /// Every answer about each person, oldest first (reports ask "as of").
    by_person: HashMap<BeneficiaryId, Vec<PersonCheck>>,
    checks: Vec<(u64, String)>,
    mode_history: Vec<(u64, IdentityCheckModeSet)>,
}

/// Snapshot encoding (`state::codec`): the per-person map sorted, so the bytes are stable.
impl Encode for IdentityChecks {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        let IdentityChecks {
            modes,
            by_person,
            checks,
            mode_history,
        } = self;
        modes.encode(e)?;
        super::encoding::sorted_map(by_person).encode(e)?;
        checks.encode(e)?;
        mode_history.encode(e)
    }
}

impl<Context> Decode<Context> for IdentityChecks {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(IdentityChecks {
            modes: Decode::decode(d)?,
            by_person: super::encoding::decode_map(d)?,
            checks: Decode::decode(d)?,
            mode_history: Decode::decode(d)?,
        })
    }
}

impl IdentityChecks {
    pub fn mode(&self, programme: Programme) -> IdentityCheckMode {
        self.modes.get(&programme).copied().unwrap_or_default()
    }

    pub fn latest(&self, who: BeneficiaryId) -> Option<&PersonCheck> {
        self.by_person.get(&who)?.last()
    }

    /// The latest answer recorded before `known_at` (records with a lower sequence number).
    pub fn as_known_at(&self, who: BeneficiaryId, known_at: u64) -> Option<&PersonCheck> {
        self.by_person
            .get(&who)?
            .iter()
            .rev()
            .find(|c| c.seq < known_at)
    }

    /// The mode of a programme as known at a sequence number.
    pub fn mode_known_at(&self, programme: Programme, known_at: u64) -> IdentityCheckMode {
        self.mode_history
            .iter()
            .rev()
            .find(|(seq, e)| *seq < known_at && e.programme == programme)
            .map_or_else(IdentityCheckMode::default, |(_, e)| e.mode)
    }

    /// Every check recorded: its sequence number and reference.
    pub fn checks(&self) -> &[(u64, String)] {
        &self.checks
    }

    /// Whether a check with this reference was recorded already.
    pub fn has_reference(&self, reference: &str) -> bool {
        self.checks.iter().any(|(_, r)| r == reference)
    }

    /// Why a batch of `programme` must leave the person out, if it must. `dead` is whether the
    /// ledger already recorded the death (then the entitlements end and no hold is needed).
    pub fn hold_reason(
        &self,
        who: BeneficiaryId,
        programme: Programme,
        dead: bool,
    ) -> Option<String> {
        let check = self.latest(who)?;
        hold_reason(check, self.mode(programme), dead)
    }

    pub fn mode_set(&mut self, seq: u64, e: IdentityCheckModeSet) {
        self.modes.insert(e.programme, e.mode);
        self.mode_history.push((seq, e));
    }

    pub fn recorded(&mut self, seq: u64, e: IdentityCheckRecorded) {
        for a in &e.answers {
            self.by_person
                .entry(a.beneficiary)
                .or_default()
                .push(PersonCheck {
                    seq,
                    reference: e.reference.clone(),
                    answered_on: e.answered_on,
                    outcome: a.outcome(),
                    corrected_after: false,
                });
        }
        self.checks.push((seq, e.reference));
    }

    /// An officer corrected the person's details.
    pub fn corrected(&mut self, who: BeneficiaryId) {
        if let Some(c) = self.by_person.get_mut(&who).and_then(|v| v.last_mut()) {
            c.corrected_after = c.outcome != IdentityOutcome::Verified;
        }
    }
}

/// Why a batch must leave out a person with this latest check under this setting, if it must.
pub fn hold_reason(check: &PersonCheck, mode: IdentityCheckMode, dead: bool) -> Option<String> {
    let reason = match &check.outcome {
            IdentityOutcome::Verified => return None,
            IdentityOutcome::Deceased { .. } if dead => return None,
            IdentityOutcome::Deceased { died_on } => format!(
                "the population database reports a death on {died_on} (check {}); an officer must confirm it",
                check.reference
            ),
            _ if mode == IdentityCheckMode::WarnOnly => return None,
            IdentityOutcome::NotFound => format!(
                "citizen ID not found in the population database (check {})",
                check.reference
            ),
            IdentityOutcome::Differs { fields } => format!(
                "{} differ from the population database (check {})",
                fields.join(", "),
                check.reference
            ),
        };
    Some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(id: u64) -> IdentityAnswer {
        IdentityAnswer {
            beneficiary: BeneficiaryId(id),
            citizen_id: FieldCheck::Matched,
            full_name: FieldCheck::Matched,
            birth_date: FieldCheck::Matched,
            sex: FieldCheck::Matched,
            died_on: None,
        }
    }

    fn check(answers: Vec<IdentityAnswer>) -> IdentityCheckRecorded {
        IdentityCheckRecorded {
            reference: "C1".into(),
            answered_on: Date::parse("2025-11-20").unwrap(),
            source_digest: [0; 32],
            answers,
            unmatched: 0,
        }
    }

    #[test]
    fn outcomes_and_holds() {
        let dead = Date::parse("2025-10-03").unwrap();
        let mut c = IdentityChecks::default();
        let differs = IdentityAnswer {
            full_name: FieldCheck::Differs,
            ..answer(2)
        };
        let unknown = IdentityAnswer {
            citizen_id: FieldCheck::NotFound,
            full_name: FieldCheck::NotFound,
            birth_date: FieldCheck::NotFound,
            sex: FieldCheck::NotFound,
            ..answer(3)
        };
        let deceased = IdentityAnswer {
            died_on: Some(dead),
            ..answer(4)
        };
        c.recorded(7, check(vec![answer(1), differs, unknown, deceased]));
        let btxh = Programme::Btxh;
        assert_eq!(c.hold_reason(BeneficiaryId(1), btxh, false), None);
        assert_eq!(
            c.hold_reason(BeneficiaryId(2), btxh, false).unwrap(),
            "full_name differ from the population database (check C1)"
        );
        assert!(c
            .hold_reason(BeneficiaryId(3), btxh, false)
            .unwrap()
            .contains("not found"));
        assert!(c
            .hold_reason(BeneficiaryId(4), btxh, false)
            .unwrap()
            .contains("death on 2025-10-03"));
        assert_eq!(c.hold_reason(BeneficiaryId(4), btxh, true), None);
        assert_eq!(c.hold_reason(BeneficiaryId(9), btxh, false), None);
        // Warn only: differences pass, a reported death still holds.
        c.mode_set(
            8,
            IdentityCheckModeSet {
                programme: btxh,
                mode: IdentityCheckMode::WarnOnly,
            },
        );
        assert_eq!(c.hold_reason(BeneficiaryId(2), btxh, false), None);
        assert!(c.hold_reason(BeneficiaryId(4), btxh, false).is_some());
        assert!(c
            .hold_reason(BeneficiaryId(2), Programme::Ncc, false)
            .is_some());
        // A correction awaits the next check, which clears the hold when it matches.
        c.corrected(BeneficiaryId(2));
        assert!(c.latest(BeneficiaryId(2)).unwrap().corrected_after);
        c.recorded(9, check(vec![answer(2)]));
        assert_eq!(c.hold_reason(BeneficiaryId(2), Programme::Ncc, false), None);
        assert!(!c.latest(BeneficiaryId(2)).unwrap().corrected_after);
    }
}
