//! The state's snapshot encoding: every field in declaration order, hash maps and sets written
//! sorted by key, so that one state always encodes to the same bytes and a snapshot can be
//! compared with a replay of the chain (`ledger::snapshot`). The destructuring below fails to
//! compile when a field is added to `State`, so that no field is silently left out.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hash};

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use super::State;
use crate::domain::encoding::{decode_map as map, sorted_map};

/// A state's encoding in two parts, one after the other: its people (`People`: the
/// beneficiaries and their citizen-ID index, about half of the time it takes to decode a state
/// of a million people) and the rest (`AfterPeople`). A snapshot records where the first ends,
/// so that opening decodes the two beside each other (`ledger::snapshot`).
impl Encode for State {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        People(self).encode(e)?;
        AfterPeople(self).encode(e)
    }
}

impl<Context> Decode<Context> for State {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Self, DecodeError> {
        let people = DecodedPeople::decode(d)?;
        Ok(State::decode_after_people(d)?.with_people(people))
    }
}

/// The first part of a state's encoding: its people.
pub struct People<'a>(pub &'a State);

/// The second part of a state's encoding: everything after its people.
pub struct AfterPeople<'a>(pub &'a State);

/// The first part of a state's encoding, decoded on its own.
pub struct DecodedPeople {
    beneficiaries: super::Slab<super::Beneficiary>,
    by_citizen: super::citizens::CitizenIndex,
}

impl Encode for People<'_> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.0.beneficiaries.encode(e)?;
        self.0.by_citizen.encode(e)
    }
}

impl<Context> Decode<Context> for DecodedPeople {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Self, DecodeError> {
        Ok(DecodedPeople {
            beneficiaries: Decode::decode(d)?,
            by_citizen: Decode::decode(d)?,
        })
    }
}

impl State {
    /// Decodes the second part of a state's encoding (`AfterPeople`): a state with no people
    /// until `with_people` gives it the first part.
    pub fn decode_after_people<Context, D: Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<State, DecodeError> {
        Ok(State {
            beneficiaries: Default::default(),
            by_citizen: Default::default(),
            entitlements: Decode::decode(d)?,
            schedules: Decode::decode(d)?,
            schedule_ids: set(d)?,
            batches: Decode::decode(d)?,
            payments: Decode::decode(d)?,
            item_table: Decode::decode(d)?,
            frozen_histories: Default::default(),
            return_reasons: Decode::decode(d)?,
            files: Decode::decode(d)?,
            status_reports: set(d)?,
            status_report_ids: map(d)?,
            breaks: Decode::decode(d)?,
            batches_by_month: map(d)?,
            checkpoints: Decode::decode(d)?,
            erased_records: Decode::decode(d)?,
            identity: Decode::decode(d)?,
            allocations: Decode::decode(d)?,
            applied: Decode::decode(d)?,
            money_seq: Decode::decode(d)?,
        })
    }

    /// Joins the two parts of a decoded state.
    pub fn with_people(self, people: DecodedPeople) -> State {
        State {
            beneficiaries: people.beneficiaries,
            by_citizen: people.by_citizen,
            ..self
        }
    }
}

impl Encode for AfterPeople<'_> {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let State {
            // The first part (`People`).
            beneficiaries: _,
            by_citizen: _,
            entitlements,
            schedules,
            schedule_ids,
            batches,
            payments,
            item_table,
            // Beside the state: the ledger writes each history's parts after it.
            frozen_histories: _,
            return_reasons,
            files,
            status_reports,
            status_report_ids,
            breaks,
            batches_by_month,
            checkpoints,
            erased_records,
            identity,
            allocations,
            applied,
            money_seq,
        } = self.0;
        entitlements.encode(e)?;
        schedules.encode(e)?;
        sorted_set(schedule_ids).encode(e)?;
        batches.encode(e)?;
        payments.encode(e)?;
        item_table.encode(e)?;
        return_reasons.encode(e)?;
        files.encode(e)?;
        sorted_set(status_reports).encode(e)?;
        sorted_map(status_report_ids).encode(e)?;
        breaks.encode(e)?;
        sorted_map(batches_by_month).encode(e)?;
        checkpoints.encode(e)?;
        erased_records.encode(e)?;
        identity.encode(e)?;
        allocations.encode(e)?;
        applied.encode(e)?;
        money_seq.encode(e)
    }
}

fn sorted_set<K: Ord, S>(m: &HashSet<K, S>) -> Vec<&K> {
    let mut v: Vec<_> = m.iter().collect();
    v.sort_unstable();
    v
}

fn set<Context, D, K, S>(d: &mut D) -> Result<HashSet<K, S>, DecodeError>
where
    D: Decoder<Context = Context>,
    K: Decode<Context> + Eq + Hash,
    S: BuildHasher + Default,
{
    let entries: Vec<K> = Decode::decode(d)?;
    Ok(entries.into_iter().collect())
}
