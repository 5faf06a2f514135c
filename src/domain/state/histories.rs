//! `FrozenHistories`: each person's record history up to the last snapshot, out of the
//! process's own memory.
//!
//! A person is touched about twice a month, so their history grows with every month paid. At
//! each snapshot the ledger appends, for every person touched since the last one, one entry to
//! the histories file (`docs/chain-format.md` §11) and maps it; the person then keeps only the
//! offset of their newest entry, and the entries form a list back to their first. Reading a
//! history walks that list (one entry per snapshot that found the person changed). The domain
//! reads the mapped bytes a range at a time (`FrozenBytes`); it does no IO of its own.

use super::payments::FrozenRows;
use super::rows::{deltas_from, History};

/// An entry's fixed part: the previous entry (`frozen_at` form, 0: none), the seq its deltas
/// count from, and the number of delta bytes (all little-endian).
pub const HISTORY_ENTRY_HEADER_BYTES: usize = 20;

#[derive(Default, Clone)]
pub struct FrozenHistories {
    bytes: Option<FrozenRows>,
}

impl std::fmt::Debug for FrozenHistories {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FrozenHistories({} bytes)", self.len())
    }
}

/// One entry as the file holds it.
pub fn encode_entry(previous: u64, base: u64, deltas: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&previous.to_le_bytes());
    out.extend_from_slice(&base.to_le_bytes());
    out.extend_from_slice(&(deltas.len() as u32).to_le_bytes());
    out.extend_from_slice(deltas);
}

impl FrozenHistories {
    pub fn new(bytes: FrozenRows) -> FrozenHistories {
        FrozenHistories { bytes: Some(bytes) }
    }

    /// The frozen bytes.
    pub fn len(&self) -> u64 {
        self.bytes.as_ref().map_or(0, |b| b.len() as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes in `start..start + n`, if they lie within the frozen ones.
    fn read(&self, start: usize, n: usize) -> Option<&[u8]> {
        let end = start.checked_add(n)?;
        let bytes = self.bytes.as_ref()?;
        (end <= bytes.len()).then(|| bytes.read(start..end))
    }

    /// The entry at `at` (`frozen_at` form): the previous one, the seq it counts from and its
    /// deltas; `None` if the bytes there are not an entry.
    pub fn entry(&self, at: u64) -> Option<(u64, u64, &[u8])> {
        let start = usize::try_from(at.checked_sub(1)?).ok()?;
        let header = self.read(start, HISTORY_ENTRY_HEADER_BYTES)?;
        let u64_at = |i: usize| u64::from_le_bytes(header[i..i + 8].try_into().expect("8 bytes"));
        let n = u32::from_le_bytes(header[16..20].try_into().expect("4 bytes")) as usize;
        let body = start + HISTORY_ENTRY_HEADER_BYTES;
        let deltas = self.read(body, n)?;
        // Each entry points back: a list that did not would loop.
        let previous = u64_at(0);
        (previous < at).then_some((previous, u64_at(8), deltas))
    }

    /// Whether an entry's fixed part at `at` (`frozen_at` form) lies within the bytes: a check
    /// that reads none of them. Opening checks each person's newest entry this way: reading
    /// them all would fault in most of the file (their entries lie wherever the snapshot that
    /// last found them changed put them), and each is checked against the snapshot's digests
    /// when it is read (`FrozenBytes`).
    pub fn reaches(&self, at: u64) -> bool {
        at.checked_sub(1)
            .and_then(|start| start.checked_add(HISTORY_ENTRY_HEADER_BYTES as u64))
            .is_some_and(|end| end <= self.len())
    }

    /// The seqs of the entries from the first to the one at `at`, oldest first. The bytes read
    /// are the ones the snapshot froze (`FrozenBytes` checks them against its digests), so an
    /// entry that does not read is a broken invariant.
    pub fn seqs(&self, mut at: u64) -> Vec<u64> {
        let mut entries = Vec::new();
        while at != 0 {
            let (previous, base, deltas) = self.entry(at).expect("a frozen history entry reads");
            entries.push((base, deltas));
            at = previous;
        }
        entries
            .into_iter()
            .rev()
            .flat_map(|(base, deltas)| deltas_from(base, deltas))
            .collect()
    }

    /// Whether the entry at `at` holds exactly what `h` has in memory (an assertion on the
    /// write path before `h` lets go of it).
    pub fn holds(&self, at: u64, h: &History) -> bool {
        let (base, deltas) = h.unfrozen();
        self.entry(at) == Some((h.frozen_at(), base, deltas))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Given histories growing over three snapshots, when each snapshot freezes what changed
    /// (as the ledger does), then every history reads back whole: frozen entries and the tail.
    #[test]
    fn histories_frozen_at_each_snapshot_read_back_whole() {
        let mut people = vec![History::default(); 4];
        let mut want: Vec<Vec<u64>> = vec![Vec::new(); 4];
        let mut file = Vec::new();
        let mut frozen = FrozenHistories::default();
        let mut seq = 0u64;
        for round in 0..3u64 {
            for (i, (h, w)) in people.iter_mut().zip(&mut want).enumerate() {
                // Person 3 is touched only in the first round; the others each round.
                if i == 3 && round > 0 {
                    continue;
                }
                for _ in 0..=i {
                    seq += 1 + 1_000_000 * round;
                    h.push(seq);
                    w.push(seq);
                }
            }
            // The snapshot: append an entry for each person with entries in memory.
            let mut placed = Vec::new();
            for (i, h) in people.iter().enumerate() {
                let (base, deltas) = h.unfrozen();
                if !deltas.is_empty() {
                    placed.push((i, file.len() as u64 + 1));
                    encode_entry(h.frozen_at(), base, deltas, &mut file);
                }
            }
            frozen = FrozenHistories::new(Arc::new(file.clone()));
            for &(i, at) in &placed {
                assert!(frozen.holds(at, &people[i]));
                people[i].froze(at);
            }
            assert_eq!(placed.len(), if round == 0 { 4 } else { 3 });
        }
        // One more entry after the last snapshot stays in memory.
        people[0].push(seq + 5);
        want[0].push(seq + 5);
        for (h, w) in people.iter().zip(&want) {
            let mut got = frozen.seqs(h.frozen_at());
            got.extend(h.tail());
            assert_eq!(&got, w);
            assert_eq!(h.len(), w.len());
        }
        assert!(
            frozen.entry(file.len() as u64 + 7).is_none(),
            "beyond the bytes"
        );
        for h in &people {
            assert!(frozen.reaches(h.frozen_at()));
        }
        let end = file.len() as u64 + 1;
        assert!(!frozen.reaches(0), "0 is no entry");
        assert!(!frozen.reaches(end - HISTORY_ENTRY_HEADER_BYTES as u64 + 1));
        assert!(frozen.reaches(end - HISTORY_ENTRY_HEADER_BYTES as u64));
    }
}
