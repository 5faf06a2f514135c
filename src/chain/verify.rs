//! Verification of a sequence of records: hashes, links, sequence numbers and the head anchor.
//! It names the first bad sequence number and what is wrong with it, using one record of
//! look-ahead to tell an altered record from a forged link (see `docs/chain-format.md`,
//! "Verifying").
//!
//! The verifier is fed records in stored order with their hashes already computed, so callers
//! can hash in parallel and check links sequentially.

use std::collections::VecDeque;
use std::fmt;

use super::record::{hex, parse_record, FormatError, Hash, GENESIS_PREV_HASH};

/// The last record as someone outside the data trusts it to be: the store's head marker, an
/// export's trailer, or a signed checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub seq: u64,
    pub hash: Hash,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The record's bytes do not parse.
    Malformed(FormatError),
    /// The block holding the record does not parse (its framing is damaged).
    MalformedBlock(String),
    /// The record's content changed after it was linked: its hash no longer matches the link
    /// stored in the next record (or the head anchor).
    ContentAltered,
    /// The record's previous-hash field does not match the record before it.
    LinkBroken,
    /// The sequence number is missing: the record was removed.
    Missing,
    /// Records appear out of order (swapped or moved).
    OutOfOrder { found: u64 },
    /// A record with this sequence number appears twice.
    Duplicate,
    /// A record was inserted here: the next record links past it to its predecessor.
    Inserted,
    /// The chain ends before the anchor's sequence number: its tail was cut off.
    Truncated { anchor_seq: u64 },
    /// The chain holds records after the anchor (the anchor is stale or the tail was forged).
    BeyondAnchor { anchor_seq: u64 },
}

/// The first thing wrong with a chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub seq: u64,
    pub kind: FaultKind,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seq = self.seq;
        match &self.kind {
            FaultKind::Malformed(e) => write!(f, "seq {seq}: record is malformed: {e}"),
            FaultKind::MalformedBlock(e) => {
                write!(f, "seq {seq}: the block holding it is malformed: {e}")
            }
            FaultKind::ContentAltered => write!(
                f,
                "seq {seq}: content altered (its hash no longer matches the link that follows it)"
            ),
            FaultKind::LinkBroken => write!(
                f,
                "seq {seq}: link broken (its previous-hash does not match record {})",
                seq.wrapping_sub(1)
            ),
            FaultKind::Missing => write!(f, "seq {seq}: missing (gap in the sequence)"),
            FaultKind::OutOfOrder { found } => {
                write!(
                    f,
                    "seq {seq}: out of order (found seq {found} in its place)"
                )
            }
            FaultKind::Duplicate => write!(f, "seq {seq}: appears twice (a record was inserted)"),
            FaultKind::Inserted => write!(
                f,
                "seq {seq}: inserted (the next record links past it to its predecessor)"
            ),
            FaultKind::Truncated { anchor_seq } => write!(
                f,
                "seq {seq}: missing (tail truncated: the head anchor is at seq {anchor_seq})"
            ),
            FaultKind::BeyondAnchor { anchor_seq } => {
                write!(f, "seq {seq}: beyond the head anchor at seq {anchor_seq}")
            }
        }
    }
}

impl std::error::Error for Fault {}

/// What a verified chain consists of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    pub records: u64,
    /// The last record, or `None` for an empty chain.
    pub head: Option<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    seq: u64,
    prev: Hash,
    hash: Hash,
}

/// Streaming verifier. Feed every record in stored order, then call `finish`.
pub struct Verifier {
    expected: u64,
    last: Option<Entry>,
    window: VecDeque<Entry>,
    anchor: Option<Anchor>,
    fault: Option<Fault>,
}

impl Verifier {
    pub fn new(anchor: Option<Anchor>) -> Verifier {
        Verifier {
            expected: 0,
            last: None,
            window: VecDeque::with_capacity(2),
            anchor,
            fault: None,
        }
    }

    /// Sets the anchor before `finish`, for inputs whose anchor comes last (an export trailer).
    pub fn set_anchor(&mut self, anchor: Option<Anchor>) {
        self.anchor = anchor;
    }

    /// The sequence number the next record must have.
    pub fn next_seq(&self) -> u64 {
        self.expected + self.window.len() as u64
    }

    /// The first fault found so far.
    pub fn fault(&self) -> Option<&Fault> {
        self.fault.as_ref()
    }

    /// Feeds one record's bytes and its hash (`record_hash(bytes)`). Returns the fault once
    /// one is known; later records are ignored.
    pub fn push(&mut self, bytes: &[u8], hash: Hash) -> Result<(), Fault> {
        if let Some(f) = &self.fault {
            return Err(f.clone());
        }
        let pending = self.window.len() as u64;
        match parse_record(bytes) {
            Ok(view) => self.window.push_back(Entry {
                seq: view.header.seq,
                prev: view.header.prev_hash,
                hash,
            }),
            Err(e) => {
                return self.fail(self.expected + pending, FaultKind::Malformed(e));
            }
        }
        if self.window.len() == 2 {
            let next = self.window[1];
            let cur = self.window.pop_front().expect("window holds two");
            self.check(cur, Some(next))?;
        }
        Ok(())
    }

    /// Feeds every record of a stored block, hashing each.
    pub fn push_block(&mut self, block: &[u8]) -> Result<(), Fault> {
        let mut pushed = Ok(());
        let walked = super::block::for_each_record(block, |r| {
            if pushed.is_ok() {
                pushed = self.push(r, super::record::record_hash(r));
            }
        });
        pushed?;
        if let Err(e) = walked {
            return self.fail(self.next_seq(), FaultKind::MalformedBlock(e.0));
        }
        Ok(())
    }

    /// Checks the last record and the anchor.
    pub fn finish(mut self) -> Result<Verified, Fault> {
        if let Some(f) = self.fault.take() {
            return Err(f);
        }
        if let Some(cur) = self.window.pop_front() {
            self.check(cur, None)?;
        }
        let head = self.last.map(|e| Anchor {
            seq: e.seq,
            hash: e.hash,
        });
        if let Some(anchor) = self.anchor {
            match head {
                None => {
                    return Err(Fault {
                        seq: 0,
                        kind: FaultKind::Truncated {
                            anchor_seq: anchor.seq,
                        },
                    })
                }
                Some(h) if h.seq < anchor.seq => {
                    return Err(Fault {
                        seq: h.seq + 1,
                        kind: FaultKind::Truncated {
                            anchor_seq: anchor.seq,
                        },
                    })
                }
                Some(h) if h.seq > anchor.seq => {
                    return Err(Fault {
                        seq: anchor.seq + 1,
                        kind: FaultKind::BeyondAnchor {
                            anchor_seq: anchor.seq,
                        },
                    })
                }
                Some(h) if h.hash != anchor.hash => {
                    return Err(Fault {
                        seq: h.seq,
                        kind: FaultKind::ContentAltered,
                    })
                }
                Some(_) => {}
            }
        }
        Ok(Verified {
            records: self.expected,
            head,
        })
    }

    fn fail(&mut self, seq: u64, kind: FaultKind) -> Result<(), Fault> {
        let fault = Fault { seq, kind };
        self.fault = Some(fault.clone());
        Err(fault)
    }

    fn check(&mut self, cur: Entry, next: Option<Entry>) -> Result<(), Fault> {
        let expected = self.expected;
        if cur.seq != expected {
            let swapped = next.is_some_and(|n| n.seq == expected);
            return if cur.seq + 1 == expected {
                self.fail(cur.seq, FaultKind::Duplicate)
            } else if cur.seq < expected || swapped {
                self.fail(expected, FaultKind::OutOfOrder { found: cur.seq })
            } else {
                self.fail(expected, FaultKind::Missing)
            };
        }
        let want_prev = self.last.map_or(GENESIS_PREV_HASH, |e| e.hash);
        if cur.prev != want_prev {
            return self.classify_link_mismatch(cur, next);
        }
        self.last = Some(cur);
        self.expected += 1;
        Ok(())
    }

    /// `cur` does not link to `last`. Either `last` was altered after `cur` linked to it, or
    /// `cur`'s link was forged, or `last` was inserted between `cur` and its true predecessor.
    fn classify_link_mismatch(&mut self, cur: Entry, next: Option<Entry>) -> Result<(), Fault> {
        let Some(last) = self.last else {
            return self.fail(cur.seq, FaultKind::LinkBroken);
        };
        if cur.prev == last.prev {
            return self.fail(last.seq, FaultKind::Inserted);
        }
        let cur_trusted = match next {
            Some(n) => n.prev == cur.hash,
            None => self
                .anchor
                .is_some_and(|a| a.seq == cur.seq && a.hash == cur.hash),
        };
        if cur_trusted || next.is_none() {
            // `cur` is vouched for by its successor (or is the last record, where an altered
            // predecessor is the likelier story): the predecessor changed.
            self.fail(last.seq, FaultKind::ContentAltered)
        } else {
            self.fail(cur.seq, FaultKind::LinkBroken)
        }
    }
}

/// Verifies a whole in-memory sequence of records (used by tests and small exports).
pub fn verify_all<'a>(
    records: impl IntoIterator<Item = &'a [u8]>,
    anchor: Option<Anchor>,
) -> Result<Verified, Fault> {
    let mut v = Verifier::new(anchor);
    for r in records {
        v.push(r, super::record::record_hash(r))?;
    }
    v.finish()
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} hash {}", self.seq, hex(&self.hash))
    }
}
