//! Verification of a sequence of records: hashes, links, sequence numbers, time order and the
//! head anchor. It names the first bad sequence number and what is wrong with it, using one
//! record of look-ahead to tell an altered record from a forged link (normative description:
//! `docs/chain-format.md` §6; `tools/verify_export.py` implements the same rules independently).
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

impl Anchor {
    /// Parses `SEQ:HEX`, the form `chitra status` prints and auditors write down.
    pub fn parse(text: &str) -> Option<Anchor> {
        let (seq, hash) = text.trim().split_once(':')?;
        Some(Anchor {
            seq: seq.parse().ok()?,
            hash: super::record::parse_hash_hex(hash)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FaultKind {
    /// The record's bytes do not parse.
    Malformed(FormatError),
    /// The framing around the record (its block in the store, its frame or the trailer in an
    /// export) is damaged.
    MalformedFraming(String),
    /// The record's content changed after it was linked: its hash no longer matches the link
    /// stored in the next record (or the head anchor).
    ContentAltered,
    /// The record's previous-hash field does not match the record before it.
    LinkBroken,
    /// The sequence number is missing: the record was removed.
    Missing,
    /// Records appear out of order (swapped or moved).
    OutOfOrder { found: u64 },
    /// A record with this sequence number appears twice (one of them was inserted).
    Duplicate,
    /// This record was inserted: the next record links past it to its predecessor.
    Inserted,
    /// The record's time is earlier than its predecessor's; the writer never does that.
    TimeReversed,
    /// The chain ends before the anchor says it does (`None`: an export without its trailer).
    Truncated { anchor_seq: Option<u64> },
    /// The chain holds records after the anchor (the anchor is stale or the tail was forged);
    /// `None`: the anchor says the chain is empty (an export trailer counting 0 records, or a
    /// store without a head anchor).
    BeyondAnchor { anchor_seq: Option<u64> },
    /// The record at a trusted head kept elsewhere (`--expect-head`) has another hash: the
    /// history up to it was rewritten consistently, which only an outside anchor can reveal.
    DiffersFromTrustedHead,
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
        let prev = seq.wrapping_sub(1);
        match &self.kind {
            FaultKind::Malformed(e) => write!(f, "seq {seq}: malformed record ({e})"),
            FaultKind::MalformedFraming(e) => write!(f, "seq {seq}: malformed framing ({e})"),
            FaultKind::ContentAltered => write!(
                f,
                "seq {seq}: content altered (its hash no longer matches the link that follows it)"
            ),
            FaultKind::LinkBroken => write!(
                f,
                "seq {seq}: link broken (its previous-hash does not match record {prev})"
            ),
            FaultKind::Missing => write!(f, "seq {seq}: missing (gap in the sequence)"),
            FaultKind::OutOfOrder { found } => {
                write!(
                    f,
                    "seq {seq}: out of order (found seq {found} in its place)"
                )
            }
            FaultKind::Duplicate => write!(
                f,
                "seq {seq}: duplicate (appears twice: a record was inserted)"
            ),
            FaultKind::Inserted => write!(
                f,
                "seq {seq}: inserted (the next record links past it to its predecessor)"
            ),
            FaultKind::TimeReversed => {
                write!(
                    f,
                    "seq {seq}: time runs backwards (recorded before record {prev})"
                )
            }
            FaultKind::Truncated {
                anchor_seq: Some(a),
            } => write!(
                f,
                "seq {seq}: truncated (the chain ends here but its anchor is at seq {a})"
            ),
            FaultKind::Truncated { anchor_seq: None } => {
                write!(
                    f,
                    "seq {seq}: truncated (the export ends without its trailer)"
                )
            }
            FaultKind::BeyondAnchor {
                anchor_seq: Some(a),
            } => write!(f, "seq {seq}: beyond the anchor (the anchor is at seq {a})"),
            FaultKind::BeyondAnchor { anchor_seq: None } => write!(
                f,
                "seq {seq}: beyond the anchor (the anchor says the chain is empty)"
            ),
            FaultKind::DiffersFromTrustedHead => write!(
                f,
                "seq {seq}: differs from the trusted head (the history up to it was rewritten)"
            ),
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
    recorded_at_ms: i64,
}

impl Entry {
    /// Stands in for a successor that exists but cannot be read: it vouches for nothing.
    const UNREADABLE: Entry = Entry {
        seq: u64::MAX,
        prev: [0xff; 32],
        hash: [0xff; 32],
        recorded_at_ms: i64::MAX,
    };
}

/// Streaming verifier. Feed every record in stored order, then call `finish`.
pub struct Verifier {
    expected: u64,
    last: Option<Entry>,
    window: VecDeque<Entry>,
    anchor: Option<Anchor>,
    trusted: Option<Anchor>,
    fault: Option<Fault>,
}

impl Verifier {
    pub fn new(anchor: Option<Anchor>) -> Verifier {
        Verifier {
            expected: 0,
            last: None,
            window: VecDeque::with_capacity(2),
            anchor,
            trusted: None,
            fault: None,
        }
    }

    /// A verifier that continues after `last`, a record verified earlier (the record a snapshot
    /// of the state reflects): the next record must have the next seq and link to it.
    pub fn resume(anchor: Option<Anchor>, last: &[u8]) -> Result<Verifier, Fault> {
        let mut v = Verifier::new(anchor);
        let view = parse_record(last).map_err(|e| Fault {
            seq: 0,
            kind: FaultKind::Malformed(e),
        })?;
        let h = &view.header;
        v.expected = h.seq + 1;
        v.last = Some(Entry {
            seq: h.seq,
            prev: h.prev_hash,
            hash: super::record::record_hash(last),
            recorded_at_ms: h.recorded_at_ms,
        });
        Ok(v)
    }

    /// Also requires the record at `trusted.seq` to have `trusted.hash`: a head an auditor
    /// kept from an earlier look. Records after it are fine (the chain grew since).
    pub fn expect_head(&mut self, trusted: Option<Anchor>) {
        self.trusted = trusted;
    }

    /// Sets the anchor before `finish`, for inputs whose anchor comes last (an export trailer).
    pub fn set_anchor(&mut self, anchor: Option<Anchor>) {
        self.anchor = anchor;
    }

    /// The sequence number the next record must have.
    pub fn next_seq(&self) -> u64 {
        self.expected + self.window.len() as u64
    }

    /// Feeds one record's bytes and its hash (`record_hash(bytes)`). Returns the fault once
    /// one is known; later records are ignored.
    pub fn push(&mut self, bytes: &[u8], hash: Hash) -> Result<(), Fault> {
        if let Some(f) = &self.fault {
            return Err(f.clone());
        }
        let view = match parse_record(bytes) {
            Ok(view) => view,
            Err(e) => {
                // The pending record is judged first, with a successor that vouches for nothing.
                if let Some(cur) = self.window.pop_front() {
                    self.check(cur, Some(Entry::UNREADABLE))?;
                }
                return self.fail(self.expected, FaultKind::Malformed(e));
            }
        };
        self.window.push_back(Entry {
            seq: view.header.seq,
            prev: view.header.prev_hash,
            hash,
            recorded_at_ms: view.header.recorded_at_ms,
        });
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
        match walked {
            Err(e) => Err(self.framing(e.0)),
            Ok(()) => Ok(()),
        }
    }

    /// The fault for damaged framing where the next record should start, after judging the
    /// record still pending (whose successor cannot be read).
    pub fn framing(&mut self, reason: String) -> Fault {
        self.end_with(Some(Entry::UNREADABLE), FaultKind::MalformedFraming(reason))
    }

    /// The fault for an export that ends without its trailer.
    pub fn cut_short(&mut self) -> Fault {
        self.end_with(None, FaultKind::Truncated { anchor_seq: None })
    }

    fn end_with(&mut self, successor: Option<Entry>, kind: FaultKind) -> Fault {
        if let Some(f) = &self.fault {
            return f.clone();
        }
        if let Some(cur) = self.window.pop_front() {
            if let Err(f) = self.check(cur, successor) {
                return f;
            }
        }
        let fault = Fault {
            seq: self.expected,
            kind,
        };
        self.fault = Some(fault.clone());
        fault
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
        if let Some(t) = self.trusted {
            if head.is_none_or(|h| h.seq < t.seq) {
                let seq = head.map_or(0, |h| h.seq + 1);
                return Err(Fault {
                    seq,
                    kind: FaultKind::Truncated {
                        anchor_seq: Some(t.seq),
                    },
                });
            }
        }
        if let Some(anchor) = self.anchor {
            let fault = |seq, kind| Err(Fault { seq, kind });
            match head {
                None => {
                    return fault(
                        0,
                        FaultKind::Truncated {
                            anchor_seq: Some(anchor.seq),
                        },
                    )
                }
                Some(h) if h.seq < anchor.seq => {
                    return fault(
                        h.seq + 1,
                        FaultKind::Truncated {
                            anchor_seq: Some(anchor.seq),
                        },
                    )
                }
                Some(h) if h.seq > anchor.seq => {
                    return fault(
                        anchor.seq + 1,
                        FaultKind::BeyondAnchor {
                            anchor_seq: Some(anchor.seq),
                        },
                    )
                }
                Some(h) if h.hash != anchor.hash => return fault(h.seq, FaultKind::ContentAltered),
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
        if self
            .last
            .is_some_and(|l| cur.recorded_at_ms < l.recorded_at_ms)
        {
            return self.fail(cur.seq, FaultKind::TimeReversed);
        }
        if self
            .trusted
            .is_some_and(|t| t.seq == cur.seq && t.hash != cur.hash)
        {
            return self.fail(cur.seq, FaultKind::DiffersFromTrustedHead);
        }
        self.last = Some(cur);
        self.expected += 1;
        Ok(())
    }

    /// `cur` does not link to `last`. Either `last` was inserted between `cur` and its true
    /// predecessor, or `last` was altered after `cur` linked to it, or `cur`'s link was forged.
    fn classify_link_mismatch(&mut self, cur: Entry, next: Option<Entry>) -> Result<(), Fault> {
        let Some(last) = self.last else {
            // Record 0 must link to 32 zero bytes (the genesis rule).
            return self.fail(cur.seq, FaultKind::LinkBroken);
        };
        if cur.prev == last.prev {
            return self.fail(last.seq, FaultKind::Inserted);
        }
        let vouched = match next {
            Some(n) => n.prev == cur.hash,
            // The last record has no successor; an altered predecessor is the likelier story.
            None => true,
        };
        if vouched {
            self.fail(last.seq, FaultKind::ContentAltered)
        } else {
            self.fail(cur.seq, FaultKind::LinkBroken)
        }
    }
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.seq, hex(&self.hash))
    }
}
