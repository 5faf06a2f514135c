//! `CitizenIndex`: each person's ID by their citizen ID. A snapshot holds it sorted by citizen
//! ID, and opening keeps it that way, as one sorted list searched by halves: decoding it is then
//! a copy, where building a hash map of a million people was a tenth of a start's CPU (an
//! insert at a random place of a 50 MB table, each a cache miss), and the list takes half the
//! memory. What changes after opening goes into a small map beside it, which lookups read
//! first; a snapshot writes the two merged, in the same bytes a sorted map would give.

use std::collections::HashMap;

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use crate::domain::types::{BeneficiaryId, CitizenId};

#[derive(Debug, Default, Clone)]
pub struct CitizenIndex {
    /// As the snapshot held it: ascending by citizen ID, each once.
    sorted: Vec<(CitizenId, BeneficiaryId)>,
    /// Since then: each citizen ID added or moved (`Some`), or removed from `sorted` (`None`).
    /// foldhash rather than SipHash: one insert per enrolment on the write path and on every
    /// replay; its per-process random seed still keeps chosen IDs from colliding on purpose.
    changed: HashMap<CitizenId, Option<BeneficiaryId>, foldhash::fast::RandomState>,
}

impl CitizenIndex {
    pub fn get(&self, citizen: &CitizenId) -> Option<BeneficiaryId> {
        match self.changed.get(citizen) {
            Some(changed) => *changed,
            None => self.in_sorted(citizen),
        }
    }

    fn in_sorted(&self, citizen: &CitizenId) -> Option<BeneficiaryId> {
        let at = self.sorted.binary_search_by(|(c, _)| c.cmp(citizen)).ok()?;
        Some(self.sorted[at].1)
    }

    /// Maps `citizen` to `person`; returns whom it mapped to before, if anyone.
    pub fn insert(&mut self, citizen: CitizenId, person: BeneficiaryId) -> Option<BeneficiaryId> {
        let before = self.get(&citizen);
        self.changed.insert(citizen, Some(person));
        before
    }

    pub fn remove(&mut self, citizen: &CitizenId) {
        match self.in_sorted(citizen) {
            Some(_) => self.changed.insert(*citizen, None),
            None => self.changed.remove(citizen),
        };
    }

    /// Every entry, ascending by citizen ID.
    fn entries(&self) -> Vec<(CitizenId, BeneficiaryId)> {
        let mut added: Vec<_> = (self.changed.iter())
            .filter_map(|(c, p)| Some((*c, (*p)?)))
            .collect();
        added.sort_unstable_by_key(|(c, _)| *c);
        let kept = (self.sorted.iter()).filter(|(c, _)| !self.changed.contains_key(c));
        let mut out = Vec::with_capacity(self.sorted.len() + added.len());
        let mut added = added.into_iter().peekable();
        for &(c, p) in kept {
            while let Some(a) = added.next_if(|(a, _)| *a < c) {
                out.push(a);
            }
            out.push((c, p));
        }
        out.extend(added);
        out
    }
}

/// A sequence of `(citizen ID, person)` ascending by citizen ID: what the state's encoding wrote
/// when this was a hash map written sorted (`encoding::sorted_map`), so snapshots keep their bytes.
impl Encode for CitizenIndex {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.entries().encode(e)
    }
}

impl<Context> Decode<Context> for CitizenIndex {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Self, DecodeError> {
        let sorted: Vec<(CitizenId, BeneficiaryId)> = Decode::decode(d)?;
        // Searched by halves, so it must be ascending, and each citizen ID once.
        if sorted.windows(2).any(|w| w[0].0 >= w[1].0) {
            return Err(DecodeError::Other(
                "the citizen-ID index is not in ascending order",
            ));
        }
        Ok(CitizenIndex {
            sorted,
            changed: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::encoding::CANONICAL;

    fn citizen(n: u64) -> CitizenId {
        CitizenId::parse(&format!("001{n:09}")).unwrap()
    }

    fn decoded(index: &CitizenIndex) -> CitizenIndex {
        let bytes = bincode::encode_to_vec(index, CANONICAL).unwrap();
        bincode::decode_from_slice(&bytes, CANONICAL).unwrap().0
    }

    /// Given an index read from a snapshot, when people are added, moved and removed, then
    /// lookups see the changes, and its encoding is the sorted map of what it holds.
    #[test]
    fn changes_after_decoding_read_back_and_encode_as_a_sorted_map() {
        let mut first = CitizenIndex::default();
        for n in [5, 1, 9, 3] {
            assert_eq!(first.insert(citizen(n), BeneficiaryId(n)), None);
        }
        let mut index = decoded(&first);
        assert_eq!(index.get(&citizen(9)), Some(BeneficiaryId(9)));
        assert_eq!(index.insert(citizen(7), BeneficiaryId(70)), None);
        assert_eq!(index.insert(citizen(0), BeneficiaryId(10)), None);
        assert_eq!(
            index.insert(citizen(3), BeneficiaryId(30)),
            Some(BeneficiaryId(3))
        );
        index.remove(&citizen(5));
        index.remove(&citizen(7));
        index.remove(&citizen(8));
        assert_eq!(index.get(&citizen(5)), None);
        assert_eq!(index.get(&citizen(7)), None);
        assert_eq!(index.get(&citizen(3)), Some(BeneficiaryId(30)));
        assert_eq!(index.insert(citizen(5), BeneficiaryId(50)), None);

        let want: HashMap<CitizenId, BeneficiaryId> = [(0, 10), (1, 1), (3, 30), (5, 50), (9, 9)]
            .map(|(c, p)| (citizen(c), BeneficiaryId(p)))
            .into();
        let as_map = crate::domain::encoding::sorted_map(&want);
        assert_eq!(
            bincode::encode_to_vec(&index, CANONICAL).unwrap(),
            bincode::encode_to_vec(&as_map, CANONICAL).unwrap()
        );
        let again = decoded(&index);
        for (c, p) in &want {
            assert_eq!(again.get(c), Some(*p));
        }
        assert_eq!(again.get(&citizen(7)), None);
    }

    #[test]
    fn an_index_out_of_order_does_not_decode() {
        for pairs in [[(3, 3), (1, 1)], [(2, 2), (2, 5)]] {
            let pairs = pairs.map(|(c, p)| (citizen(c), BeneficiaryId(p)));
            let bytes = bincode::encode_to_vec(pairs.to_vec(), CANONICAL).unwrap();
            let read: Result<(CitizenIndex, usize), _> =
                bincode::decode_from_slice(&bytes, CANONICAL);
            assert!(read.is_err());
        }
    }
}
