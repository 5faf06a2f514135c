//! `PaymentTable`: every payment line, those of the past kept out of the process's own memory.
//!
//! A line is written once (`payment_scheduled`) and afterwards only its status changes (settled,
//! returned, cancelled), also long after its batch closed. So the table is a frozen prefix —
//! rows in bytes the ledger maps from a file it wrote with a snapshot and checks against the
//! snapshot's digests (`ledger::snapshot`, `docs/chain-format.md` §10) — plus two bits of
//! status per frozen row in memory, plus the rows scheduled since, in memory. Memory then grows
//! by a quarter of a byte per person-month, not by a whole row, and the kernel pages old rows in
//! and out as they are read. The domain reads the bytes a range at a time (`FrozenBytes`); it
//! does no IO of its own.

use std::ops::Range;
use std::sync::Arc;

use super::rows::{Payment, PaymentStatus, FROZEN_ROW_BYTES};
use crate::domain::slab::Slab;

/// Bytes the ledger froze beside a snapshot, read a range at a time: a memory map in the ledger,
/// which checks each part against the snapshot's digests before it hands out its bytes (so a
/// range read is never a byte nobody checked), a `Vec` in tests.
pub trait FrozenBytes: Send + Sync {
    fn len(&self) -> usize;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes in `range`, which lies within `len`.
    fn read(&self, range: Range<usize>) -> &[u8];
}

impl FrozenBytes for Vec<u8> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn read(&self, range: Range<usize>) -> &[u8] {
        &self[range]
    }
}

/// The bytes of the frozen rows: row `i` at `i * FROZEN_ROW_BYTES`.
pub type FrozenRows = Arc<dyn FrozenBytes>;

#[derive(Default, Clone)]
pub struct PaymentTable {
    frozen: Option<FrozenRows>,
    /// The status of each frozen row, in row order; its length is the number of frozen rows.
    statuses: Statuses,
    /// The rows after the frozen ones.
    tail: Slab<Payment>,
}

impl std::fmt::Debug for PaymentTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentTable")
            .field("frozen", &self.statuses.len())
            .field("in_memory", &self.tail.len())
            .finish()
    }
}

impl PaymentTable {
    pub fn len(&self) -> usize {
        self.statuses.len() + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Rows held in the frozen bytes.
    pub fn frozen_len(&self) -> usize {
        self.statuses.len()
    }

    pub fn get(&self, index: usize) -> Option<Payment> {
        match index.checked_sub(self.frozen_len()) {
            Some(t) => self.tail.get(t).copied(),
            None => {
                let bytes = self.frozen.as_ref().expect("frozen rows are attached");
                let at = index * FROZEN_ROW_BYTES;
                let row = bytes.read(at..at + FROZEN_ROW_BYTES);
                Some(Payment::from_frozen(row, self.statuses.get(index)?))
            }
        }
    }

    pub fn push(&mut self, row: Payment) {
        self.tail.push(row);
    }

    pub fn set_status(&mut self, index: usize, status: PaymentStatus) -> Result<(), String> {
        let set = match index.checked_sub(self.frozen_len()) {
            Some(t) => self.tail.get_mut(t).map(|p| p.status = status),
            None => self.statuses.set(index, status),
        };
        set.ok_or_else(|| format!("no payment {}", index + 1))
    }

    /// Every row in order.
    pub fn iter(&self) -> impl Iterator<Item = Payment> + '_ {
        (0..self.len()).map(|i| self.get(i).expect("a row below len"))
    }

    /// Every status in row order (what a snapshot keeps of each row besides its bytes).
    pub fn statuses(&self) -> impl Iterator<Item = PaymentStatus> + '_ {
        let frozen = self.statuses.iter();
        frozen.chain(self.tail.iter().map(|p| p.status))
    }

    /// A table of `statuses.len()` rows whose bytes are still to be attached (`attach`): what a
    /// snapshot decodes to.
    fn detached(statuses: Statuses) -> PaymentTable {
        PaymentTable {
            frozen: None,
            statuses,
            tail: Slab::default(),
        }
    }

    /// Whether rows are frozen but their bytes are not attached yet.
    pub fn is_detached(&self) -> bool {
        self.frozen.is_none() && self.frozen_len() > 0
    }

    /// Attaches the bytes of a detached table's rows: exactly its rows, no more, no fewer.
    pub fn attach(&mut self, bytes: FrozenRows) -> Result<(), String> {
        let rows = byte_rows(&bytes)?;
        if self.frozen.is_some() || !self.tail.is_empty() || rows != self.frozen_len() {
            return Err(format!(
                "{rows} frozen rows do not fit a table of {} rows awaiting its bytes",
                self.frozen_len()
            ));
        }
        self.frozen = Some(bytes);
        Ok(())
    }

    /// Moves the first rows in memory out to `bytes`, which hold every row up to some point at
    /// or beyond the frozen ones (written by the ledger from this table). Each row moved must
    /// read back from the bytes exactly as it is in memory, or nothing changes: an assertion on
    /// the write path, since a wrong byte here would be a wrong payment line later.
    pub fn freeze(&mut self, bytes: FrozenRows) -> Result<(), String> {
        let rows = byte_rows(&bytes)?;
        let moving = rows
            .checked_sub(self.frozen_len())
            .filter(|&n| n <= self.tail.len())
            .ok_or_else(|| {
                format!(
                    "{rows} frozen rows do not fit a table of {} frozen and {} in memory",
                    self.frozen_len(),
                    self.tail.len()
                )
            })?;
        let frozen_len = self.frozen_len();
        for (t, row) in self.tail.iter().take(moving).enumerate() {
            let at = (frozen_len + t) * FROZEN_ROW_BYTES;
            if bytes.read(at..at + FROZEN_ROW_BYTES) != row.frozen_bytes() {
                return Err(format!(
                    "frozen row {} differs from the state's",
                    frozen_len + t + 1
                ));
            }
        }
        let mut rest = Slab::default();
        for (t, row) in self.tail.iter().enumerate() {
            match t < moving {
                true => self.statuses.push(row.status),
                false => rest.push(*row),
            }
        }
        self.tail = rest;
        self.frozen = Some(bytes);
        Ok(())
    }
}

/// The statuses of the frozen rows, four to a byte (there are four): a status byte a
/// person-month was most of what memory still gained with every month paid (issue 10).
#[derive(Default, Clone)]
struct Statuses {
    packed: Slab<u8>,
    len: usize,
}

impl Statuses {
    const PER_BYTE: usize = 4;

    fn len(&self) -> usize {
        self.len
    }

    fn get(&self, index: usize) -> Option<PaymentStatus> {
        let byte = *self
            .packed
            .get(index / Self::PER_BYTE)
            .filter(|_| index < self.len)?;
        Some(status_of(byte >> Statuses::shift(index)))
    }

    fn set(&mut self, index: usize, status: PaymentStatus) -> Option<()> {
        if index >= self.len {
            return None;
        }
        let byte = self.packed.get_mut(index / Self::PER_BYTE)?;
        let shift = Statuses::shift(index);
        *byte = (*byte & !(0b11 << shift)) | (code_of(status) << shift);
        Some(())
    }

    fn push(&mut self, status: PaymentStatus) {
        if self.len % Self::PER_BYTE == 0 {
            self.packed.push(0);
        }
        self.len += 1;
        self.set(self.len - 1, status).expect("room was just made");
    }

    fn iter(&self) -> impl Iterator<Item = PaymentStatus> + '_ {
        (0..self.len).map(|i| self.get(i).expect("below len"))
    }

    fn shift(index: usize) -> u32 {
        2 * (index % Self::PER_BYTE) as u32
    }
}

fn code_of(status: PaymentStatus) -> u8 {
    match status {
        PaymentStatus::Scheduled => 0,
        PaymentStatus::Settled => 1,
        PaymentStatus::Returned => 2,
        PaymentStatus::Cancelled => 3,
    }
}

fn status_of(code: u8) -> PaymentStatus {
    match code & 0b11 {
        0 => PaymentStatus::Scheduled,
        1 => PaymentStatus::Settled,
        2 => PaymentStatus::Returned,
        _ => PaymentStatus::Cancelled,
    }
}

fn byte_rows(bytes: &FrozenRows) -> Result<usize, String> {
    let len = bytes.len();
    match len % FROZEN_ROW_BYTES {
        0 => Ok(len / FROZEN_ROW_BYTES),
        _ => Err(format!(
            "{len} bytes are not whole rows of {FROZEN_ROW_BYTES}"
        )),
    }
}

/// A snapshot's part of the table: the number of rows and each one's status (the rows' bytes
/// are written beside the snapshot, `ledger::snapshot`). Decodes to a detached table.
impl bincode::Encode for PaymentTable {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        (self.len() as u64).encode(e)?;
        self.statuses().try_for_each(|s| s.encode(e))
    }
}

impl<Context> bincode::Decode<Context> for PaymentTable {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let rows: u64 = bincode::Decode::decode(d)?;
        let mut statuses = Statuses::default();
        for _ in 0..rows {
            statuses.push(bincode::Decode::decode(d)?);
        }
        Ok(PaymentTable::detached(statuses))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::event::{ItemKind, PaymentItem, PaymentScheduled, Route};
    use crate::domain::state::rows::ItemTable;
    use crate::domain::types::{
        BankBin, BatchId, BeneficiaryId, CommuneCode, EntitlementId, Month, PaymentId, Vnd,
    };

    /// Rows of every route and shape: bank and cash, one item, several (arrears, a recovery).
    fn rows(n: u64, table: &mut ItemTable) -> Vec<Payment> {
        let month = Month::new(2024, 6).unwrap();
        (1..=n)
            .map(|i| {
                let route = match i % 3 {
                    0 => Route::Cash {
                        pay_point: CommuneCode::parse("00004").unwrap(),
                    },
                    _ => Route::Bank {
                        bin: BankBin::parse("970436").unwrap(),
                    },
                };
                let item = |k: u32, amount: i64, kind| PaymentItem {
                    entitlement: EntitlementId(i),
                    source_month: month.plus(k),
                    kind,
                    amount: Vnd(amount),
                    rule: format!("rule-{}", i % 4),
                };
                let items = match i % 5 {
                    0 => vec![
                        item(2, 500_000, ItemKind::Regular),
                        item(0, 200_000, ItemKind::Arrears),
                        item(1, -50_000, ItemKind::Recovery),
                    ],
                    _ => vec![item(2, 360_000 + i as i64, ItemKind::Regular)],
                };
                let amount = items.iter().map(|x| x.amount.0).sum();
                let e = PaymentScheduled {
                    payment: PaymentId(i),
                    batch: BatchId(1 + i / 4),
                    beneficiary: BeneficiaryId(i * 7),
                    route,
                    amount: Vnd(amount),
                    items,
                };
                Payment::new(&e, table).unwrap()
            })
            .collect()
    }

    fn bytes_of(rows: &[Payment]) -> FrozenRows {
        Arc::new(
            rows.iter()
                .flat_map(|r| r.frozen_bytes())
                .collect::<Vec<u8>>(),
        )
    }

    fn table_of(rows: &[Payment]) -> PaymentTable {
        let mut t = PaymentTable::default();
        rows.iter().for_each(|r| t.push(*r));
        t
    }

    const SETTLED: PaymentStatus = PaymentStatus::Settled;
    const RETURNED: PaymentStatus = PaymentStatus::Returned;

    /// Given rows in memory, when the first ones are frozen in two steps and statuses change
    /// before and after, then every row reads back as it would have in memory.
    #[test]
    fn rows_frozen_in_steps_read_back_as_in_memory_with_their_later_statuses() {
        let mut names = ItemTable::default();
        let rows = rows(40, &mut names);
        let mut table = table_of(&rows);
        let mut want = table_of(&rows);
        for t in [&mut table, &mut want] {
            t.set_status(3, SETTLED).unwrap();
        }
        table.freeze(bytes_of(&rows[..10])).unwrap();
        assert_eq!((table.frozen_len(), table.len()), (10, 40));
        for t in [&mut table, &mut want] {
            t.set_status(4, RETURNED).unwrap();
            t.set_status(25, SETTLED).unwrap();
        }
        table.freeze(bytes_of(&rows[..32])).unwrap();
        assert_eq!((table.frozen_len(), table.len()), (32, 40));
        for t in [&mut table, &mut want] {
            t.set_status(30, RETURNED).unwrap();
            t.set_status(39, SETTLED).unwrap();
        }
        assert_eq!(
            table.iter().collect::<Vec<_>>(),
            want.iter().collect::<Vec<_>>()
        );
        assert_eq!(table.get(4).unwrap().status, RETURNED);
        assert_eq!(table.get(40), None);
        assert!(table.set_status(40, SETTLED).is_err());
        // The items read back too, through the same item table.
        let back: Vec<_> = table
            .get(4)
            .unwrap()
            .items(&names)
            .map(|i| i.to_item())
            .collect();
        let mem: Vec<_> = rows[4].items(&names).map(|i| i.to_item()).collect();
        assert_eq!((back.len(), back), (3, mem));
    }

    /// Bytes that are not the table's rows are refused and change nothing.
    #[test]
    fn freezing_refuses_bytes_that_are_not_the_tables_rows() {
        let mut names = ItemTable::default();
        let rows = rows(12, &mut names);
        let mut table = table_of(&rows);
        let mut other = rows[..6].to_vec();
        other[5].amount = Vnd(1);
        let err = table.freeze(bytes_of(&other)).unwrap_err();
        assert!(err.contains("frozen row 6 differs"), "{err}");
        assert_eq!(table.frozen_len(), 0);
        table.freeze(bytes_of(&rows)).unwrap();
        let mut table = table_of(&rows);
        let mut more = rows.clone();
        more.extend(rows.iter().take(1));
        assert!(
            table.freeze(bytes_of(&more)).is_err(),
            "more rows than the table"
        );
        assert!(
            table.freeze(Arc::new(vec![0u8; 5])).is_err(),
            "not whole rows"
        );
        assert_eq!((table.frozen_len(), table.len()), (0, 12));
    }

    /// Given statuses packed four to a byte across several slab chunks, when some change,
    /// then each reads back as a plain list of them says, and none exists past the end.
    #[test]
    fn packed_statuses_read_back_as_a_list() {
        let all = [
            PaymentStatus::Scheduled,
            PaymentStatus::Settled,
            PaymentStatus::Returned,
            PaymentStatus::Cancelled,
        ];
        let n = 4096 * 4 + 7;
        let mut want: Vec<PaymentStatus> = (0..n).map(|i| all[(i * 7 + i / 5) % 4]).collect();
        let mut packed = Statuses::default();
        want.iter().for_each(|&s| packed.push(s));
        for i in (0..n).step_by(3) {
            want[i] = all[(i / 3) % 4];
            packed.set(i, want[i]).unwrap();
        }
        assert_eq!(packed.len(), n);
        assert_eq!(packed.iter().collect::<Vec<_>>(), want);
        assert_eq!(packed.get(n), None);
        assert_eq!(packed.set(n, PaymentStatus::Settled), None);
        assert_eq!(packed.get(n - 1), Some(want[n - 1]));
    }

    /// A snapshot's part (count and statuses) decodes to a detached table that takes exactly
    /// its rows' bytes.
    #[test]
    fn a_detached_table_takes_exactly_its_rows() {
        let mut names = ItemTable::default();
        let rows = rows(9, &mut names);
        let mut table = table_of(&rows);
        table.set_status(2, RETURNED).unwrap();
        let config = crate::domain::encoding::CANONICAL;
        let encoded = bincode::encode_to_vec(&table, config).unwrap();
        let (mut back, _): (PaymentTable, usize) =
            bincode::decode_from_slice(&encoded, config).unwrap();
        assert!(back.is_detached());
        assert!(back.attach(bytes_of(&rows[..8])).is_err());
        back.attach(bytes_of(&rows)).unwrap();
        assert_eq!(
            back.iter().collect::<Vec<_>>(),
            table.iter().collect::<Vec<_>>()
        );
        assert!(!back.is_detached());
    }
}
