//! Reading the ledger back, typed: records by sequence range as stored (bytes and hash, so what
//! a reader hands on can be verified by anyone), the same records decoded (`Recorded`: seq,
//! hash, time, principal, key and event), a person's history, the receipt of an earlier request,
//! payment-file bytes, and the state as the writer has applied it (`Unconfirmed` until durable).
//! Nothing outside `ledger/` touches the store or parses a record; an undecodable record is an
//! error here, never skipped.

use super::{IdempotencyKey, Ledger, Receipt, SubmitError};
use crate::chain::block::for_each_record;
use crate::chain::record::{parse_record, record_hash};
use crate::chain::Hash;
use crate::domain::event::Event;
use crate::domain::types::{BeneficiaryId, Principal};
use crate::store::{Store, StoreError};

/// One durable record as a reader sees it: where it is, its hash, when and by whom it was
/// recorded, the idempotency key it was appended under, and its event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub seq: u64,
    pub hash: Hash,
    pub recorded_at_ms: i64,
    pub principal: String,
    pub idempotency_key: Option<Vec<u8>>,
    pub event: Event,
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored record that does not parse or decode: damage or a bug, never to be skipped.
    #[error("record {seq} cannot be read: {reason}")]
    Undecodable { seq: u64, reason: String },
    /// The writer stopped before what was asked for became durable.
    #[error(transparent)]
    Unavailable(#[from] SubmitError),
}

/// A value read from the state as the writer had applied it, with the number of records that
/// state reflected. It is not to be shown to anyone before those records are durable.
#[must_use = "wait for it to be durable, or say why it need not be"]
pub struct Unconfirmed<T> {
    pub(super) value: T,
    pub(super) applied: u64,
}

impl<T> Unconfirmed<T> {
    /// Blocks until the records the value reflects are durable, then gives it.
    pub fn wait(self, ledger: &Ledger) -> Result<T, SubmitError> {
        ledger.wait_durable(self.applied)?;
        Ok(self.value)
    }

    /// The value, for building a command that the writer checks again against the state it
    /// decides on (a batch computation): never for showing to a person.
    pub fn into_basis(self) -> T {
        self.value
    }

    /// The value and the records it reflects, for a caller that waits asynchronously (the HTTP
    /// reader waits on `Ledger::durable_watch` before it answers).
    pub fn into_parts(self) -> (T, u64) {
        (self.value, self.applied)
    }
}

impl Ledger {
    /// Durable records with `from <= seq < to`, decoded, in order.
    pub fn events(
        &self,
        from: u64,
        to: u64,
    ) -> impl Iterator<Item = Result<Recorded, ReadError>> + '_ {
        self.records(from, to).map(|r| decode(r?))
    }

    /// The durable record at `seq`, decoded.
    pub fn event(&self, seq: u64) -> Result<Option<Recorded>, ReadError> {
        self.events(seq, seq + 1).next().transpose()
    }

    /// Every record that touches a beneficiary, in order (none for an unknown person).
    pub fn history(&self, who: BeneficiaryId) -> Result<Vec<Recorded>, ReadError> {
        let seqs = self.read(|s| s.history(who))?;
        seqs.unwrap_or_default()
            .into_iter()
            .map(|seq| {
                self.event(seq)?.ok_or(ReadError::Undecodable {
                    seq,
                    reason: "a record of the person's history is missing".into(),
                })
            })
            .collect()
    }

    /// The first durable record in `from..to` whose event satisfies `pred`.
    pub fn find_event(
        &self,
        from: u64,
        to: u64,
        pred: impl Fn(&Event) -> bool,
    ) -> Result<Option<Recorded>, ReadError> {
        for r in self.events(from, to) {
            let r = r?;
            if pred(&r.event) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }

    /// The receipt of the `count` records from `first_seq`, as a replay, when `who` appended
    /// them under `key`: how a retried request is answered with what the first attempt did.
    pub fn receipt_of(
        &self,
        first_seq: u64,
        count: u32,
        who: &Principal,
        key: &IdempotencyKey,
    ) -> Result<Option<Receipt>, ReadError> {
        let Some(first) = self.event(first_seq)? else {
            return Ok(None);
        };
        let ours = first.principal == who.as_str()
            && first.idempotency_key.as_deref() == Some(key.as_bytes());
        if !ours || count == 0 {
            return Ok(None);
        }
        let last = first_seq + u64::from(count) - 1;
        let hash = match last == first_seq {
            true => first.hash,
            false => {
                self.records(last, last + 1)
                    .next()
                    .transpose()?
                    .ok_or(ReadError::Undecodable {
                        seq: last,
                        reason: "the last record of the receipt is missing".into(),
                    })?
                    .hash
            }
        };
        Ok(Some(Receipt {
            first_seq,
            count,
            hash,
            replayed: true,
        }))
    }

    /// Keeps payment files' bytes under their blake3 digests, durably, before any record names
    /// them.
    pub fn keep_files(&self, files: &[(&Hash, &[u8])]) -> Result<(), StoreError> {
        self.shared.store.put_files(files)
    }

    /// Starts a payment file written straight into the store (`store::FileWriter`): kept
    /// under its digest by `FileWriter::keep`, its name durable once `sync_files` returns.
    pub fn new_file(&self) -> Result<super::FileWriter, StoreError> {
        self.shared.store.new_file()
    }

    /// Makes the names of the payment files kept so far durable.
    pub fn sync_files(&self) -> Result<(), StoreError> {
        self.shared.store.sync_files()
    }

    /// A kept payment file's bytes (the caller checks them against the recorded digest).
    pub fn file_bytes(&self, digest: &Hash) -> Result<Option<Vec<u8>>, StoreError> {
        self.shared.store.get_file(digest)
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> u64 {
        self.shared.store.size_on_disk()
    }

    /// Verifies the chain up to the durable head (later records are still being written) and,
    /// when it verifies, records when and how many records.
    pub fn verify(
        &self,
        trusted: Option<crate::chain::Anchor>,
        progress: impl FnMut(u64),
    ) -> Result<super::verify::Report, super::verify::VerifyError> {
        let extent = super::verify::Extent::UpTo(self.head()?.last);
        let report = super::verify::verify_chain(&self.shared.store, extent, trusted, progress)?;
        let now = (self.shared.clock)();
        self.shared
            .store
            .record_verified(now, report.verified.records)?;
        Ok(report)
    }

    /// Writes the chain up to the durable head in the export format, verifying it as it goes
    /// (`ledger::archive::export_chain`).
    pub fn export_to<W: std::io::Write>(
        &self,
        chain: W,
        personal: Option<&mut dyn std::io::Write>,
    ) -> Result<(super::archive::ExportSummary, W), super::archive::ArchiveError> {
        let extent = super::archive::Extent::UpTo(self.head()?.last);
        super::archive::export_chain(&self.shared.store, extent, chain, personal)
    }

    /// When the chain was last verified, and how many records that covered.
    pub fn last_verified(&self) -> Result<Option<(i64, u64)>, StoreError> {
        self.shared.store.last_verified()
    }
}

/// A stored record, parsed and its event decoded.
fn decode(r: StoredRecord) -> Result<Recorded, ReadError> {
    let bad = |reason: String| ReadError::Undecodable { seq: r.seq, reason };
    let view = parse_record(&r.bytes).map_err(|e| bad(e.to_string()))?;
    let event = super::codec::decode_event(view.header.payload_version, view.payload)
        .map_err(|e| bad(e.to_string()))?;
    Ok(Recorded {
        seq: r.seq,
        hash: r.hash,
        recorded_at_ms: view.header.recorded_at_ms,
        principal: view.header.principal.to_owned(),
        idempotency_key: view.header.idempotency.map(|i| i.key.to_vec()),
        event,
    })
}

/// One stored record and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub seq: u64,
    pub bytes: Vec<u8>,
    pub hash: Hash,
}

/// Records with `from <= seq < to`, in order. Stops at the first store error or malformed
/// record (which `chitra verify` would report).
pub fn records(
    store: &Store,
    from: u64,
    to: u64,
) -> impl Iterator<Item = Result<StoredRecord, StoreError>> + '_ {
    store
        .blocks_from(from)
        .map(move |block| {
            let block = block?;
            let mut out = Vec::new();
            let mut bad = None;
            for_each_record(&block.records, |r| match parse_record(r) {
                Ok(view) if (from..to).contains(&view.header.seq) => out.push(Ok(StoredRecord {
                    seq: view.header.seq,
                    bytes: r.to_vec(),
                    hash: record_hash(r),
                })),
                Ok(_) => {}
                Err(e) if bad.is_none() => bad = Some(StoreError::Corrupt(e.to_string())),
                Err(_) => {}
            })
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
            if let Some(e) = bad {
                out.push(Err(e));
            }
            Ok((block.first_seq, out))
        })
        .take_while(move |b| !matches!(b, Ok((first, _)) if *first >= to))
        .flat_map(|b| match b {
            Ok((_, records)) => records,
            Err(e) => vec![Err(e)],
        })
}
