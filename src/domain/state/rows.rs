//! Compact rows for what grows with every month paid: a payment line, a batch's payment ids,
//! an entitlement's paid months and a person's record history. Each month adds a line per
//! person, so the bytes of these rows, not of the caseload, set the ledger's memory after a few
//! years; each type here keeps the state's meaning with the fewest bytes it can (issue 10).

use bincode::{Decode, Encode};
use smallvec::SmallVec;

use crate::domain::event::{ItemKind, PaymentItem, PaymentScheduled, Route};
use crate::domain::types::{BatchId, BeneficiaryId, EntitlementId, Month, PaymentId, Vnd};

/// A batch's payments: one computation schedules them in one command, so their ids are a
/// contiguous run (`domain::batch::compute_batch` numbers them from the next free id).
#[derive(Encode, Decode, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PaymentIds {
    first: u64,
    count: u64,
}

impl PaymentIds {
    /// Adds the next payment; `Err` if it does not follow the batch's last one.
    pub fn push(&mut self, id: PaymentId) -> Result<(), String> {
        if self.count == 0 {
            self.first = id.0;
        } else if id.0 != self.first + self.count {
            return Err(format!(
                "payment {id} does not follow its batch's payments {}..={}",
                self.first,
                self.first + self.count - 1
            ));
        }
        self.count += 1;
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    pub fn first(&self) -> Option<PaymentId> {
        (self.count > 0).then_some(PaymentId(self.first))
    }

    pub fn contains(&self, id: PaymentId) -> bool {
        (self.first..self.first + self.count).contains(&id.0)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = PaymentId> + Clone {
        (self.first..self.first + self.count).map(PaymentId)
    }
}

/// The sequence numbers of the records that touch one person, in order, as varint deltas:
/// a person is touched about twice a month, a few million records apart, so each entry takes
/// three or four bytes instead of eight. Entries up to the last snapshot are frozen in the
/// histories file the ledger maps (`histories`); only the entries since are in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// The entries since the last freeze, the first a delta from `base`.
    deltas: Vec<u8>,
    /// The last frozen entry (0 when none is frozen).
    base: u64,
    last: u64,
    len: u32,
    /// 1 + the byte offset of this person's newest entry in the frozen histories; 0: none.
    frozen_at: u64,
}

/// What a snapshot encodes of a history in the state itself: only what does not depend on
/// which entries are frozen, so that a replayed state and a snapshot's encode alike. The rest
/// (`HistoryParts`) is written beside it.
impl Encode for History {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.len.encode(e)?;
        self.last.encode(e)
    }
}

impl<Context> Decode<Context> for History {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        Ok(History {
            len: Decode::decode(d)?,
            last: Decode::decode(d)?,
            ..History::default()
        })
    }
}

bincode::impl_borrow_decode!(History);

/// Where a history's entries are: the newest frozen entry (`History::frozen_at`), the last
/// frozen seq, and the varint deltas since.
pub type HistoryParts = (u64, u64, Vec<u8>);

impl History {
    /// Appends `seq` unless it is already the last entry; seqs only grow.
    pub fn push(&mut self, seq: u64) {
        if self.len > 0 && seq <= self.last {
            debug_assert_eq!(seq, self.last, "history goes forward");
            return;
        }
        let base = if self.len == 0 { 0 } else { self.last };
        push_varint(&mut self.deltas, seq - base);
        self.last = seq;
        self.len += 1;
    }

    pub fn last(&self) -> Option<u64> {
        (self.len > 0).then_some(self.last)
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries in memory (those since the last freeze).
    pub fn tail(&self) -> impl Iterator<Item = u64> + '_ {
        deltas_from(self.base, &self.deltas)
    }

    pub(super) fn frozen_at(&self) -> u64 {
        self.frozen_at
    }

    /// The entries in memory as a frozen entry holds them: the seq they count from and their
    /// deltas.
    pub(super) fn unfrozen(&self) -> (u64, &[u8]) {
        (self.base, &self.deltas)
    }

    pub(super) fn parts(&self) -> HistoryParts {
        (self.frozen_at, self.base, self.deltas.clone())
    }

    pub(super) fn set_parts(&mut self, (frozen_at, base, deltas): HistoryParts) {
        self.frozen_at = frozen_at;
        self.base = base;
        self.deltas = deltas;
    }

    /// The entries in memory now sit in a frozen entry at `frozen_at`.
    pub(super) fn froze(&mut self, frozen_at: u64) {
        self.frozen_at = frozen_at;
        self.base = self.last;
        self.deltas = Vec::new();
    }
}

fn push_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// The seqs `deltas` (varints) count from `base`.
pub(super) fn deltas_from(base: u64, deltas: &[u8]) -> impl Iterator<Item = u64> + '_ {
    let mut bytes = deltas.iter();
    let mut at = base;
    std::iter::from_fn(move || {
        let mut delta = 0u64;
        let mut shift = 0;
        loop {
            let b = *bytes.next()?;
            delta |= u64::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
        at += delta;
        Some(at)
    })
}

/// Net amount paid per source month, as runs of consecutive months with the same amount: a
/// person paid the same every month has one run however many years they are paid, and one
/// more for each rate change they were paid across.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PaidMonths {
    /// (first month, last month, amount per month), in month order, not overlapping, never a
    /// zero amount, and two touching runs never have the same amount (they would be one).
    /// Up to `PAID_RUNS_INLINE` runs sit in the entitlement itself: a heap list of two runs
    /// cost 16 bytes more per person than one, so each rate change a caseload was paid across
    /// added about 16 MB a million people to the memory a ledger opens with (issue 10).
    runs: SmallVec<[PaidRun; PAID_RUNS_INLINE]>,
}

type PaidRun = (Month, Month, Vnd);

/// Runs an entitlement holds without a heap list: a steady payment and one rate change.
const PAID_RUNS_INLINE: usize = 2;

/// Encoded as the plain list of runs (`Vec<(Month, Month, Vnd)>`, as before the runs were held
/// inline), so a snapshot's bytes do not depend on where the runs sit in memory.
impl Encode for PaidMonths {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.runs.as_slice().encode(e)
    }
}

impl<Context> Decode<Context> for PaidMonths {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let len = u64::decode(d)?;
        let len = usize::try_from(len)
            .map_err(|_| bincode::error::DecodeError::OutsideUsizeRange(len))?;
        d.claim_container_read::<PaidRun>(len)?;
        let mut runs = SmallVec::with_capacity(len);
        for _ in 0..len {
            d.unclaim_bytes_read(std::mem::size_of::<PaidRun>());
            runs.push(PaidRun::decode(d)?);
        }
        Ok(PaidMonths { runs })
    }
}

bincode::impl_borrow_decode!(PaidMonths);

impl PaidMonths {
    pub fn get(&self, month: Month) -> Vnd {
        self.run_at(month).map_or(Vnd::ZERO, |i| self.runs[i].2)
    }

    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Every month with its amount, in month order.
    pub fn iter(&self) -> impl Iterator<Item = (Month, Vnd)> + '_ {
        self.runs.iter().flat_map(|&(first, last, amount)| {
            (0..=first.months_until(last) as u32).map(move |k| (first.plus(k), amount))
        })
    }

    pub fn add(&mut self, month: Month, amount: Vnd) {
        let now = self.get(month) + amount;
        self.set(month, now);
    }

    fn run_at(&self, month: Month) -> Option<usize> {
        let i = self.runs.partition_point(|(_, last, _)| *last < month);
        (i < self.runs.len() && self.runs[i].0 <= month).then_some(i)
    }

    fn set(&mut self, month: Month, amount: Vnd) {
        // The common case, each month paid as the one before: the last run grows in place
        // (the general path below would insert a run and merge it, for a moment one run more
        // than an entitlement holds in itself).
        if let Some(last) = self.runs.last_mut() {
            if last.1.next() == month && last.2 == amount && amount != Vnd::ZERO {
                last.1 = month;
                return;
            }
        }
        let mut at = self.runs.partition_point(|(_, last, _)| *last < month);
        if let Some(i) = self.run_at(month) {
            let (first, last, old) = self.runs.remove(i);
            if month < last {
                self.runs.insert(i, (month.next(), last, old));
            }
            if first < month {
                self.runs.insert(i, (first, month.prev(), old));
                at = i + 1;
            } else {
                at = i;
            }
        }
        if amount != Vnd::ZERO {
            self.runs.insert(at, (month, month, amount));
            self.merge_around(at);
        }
        // A change splits a run before the merge joins it again, which can move the runs to
        // the heap for a moment; bring them back once they fit.
        if self.runs.spilled() && self.runs.len() <= PAID_RUNS_INLINE {
            self.runs.shrink_to_fit();
        }
    }

    /// Joins the run at `i` with its neighbours when they touch and pay the same.
    fn merge_around(&mut self, mut i: usize) {
        if i > 0 {
            let (a, b) = (self.runs[i - 1], self.runs[i]);
            if a.1.next() == b.0 && a.2 == b.2 {
                self.runs[i - 1].1 = b.1;
                self.runs.remove(i);
                i -= 1;
            }
        }
        if i + 1 < self.runs.len() {
            let (a, b) = (self.runs[i], self.runs[i + 1]);
            if a.1.next() == b.0 && a.2 == b.2 {
                self.runs[i].1 = b.1;
                self.runs.remove(i + 1);
            }
        }
    }
}

/// What payment items cite and carry beyond their row: the rule names (`ncc.annex2.61@ncc-nd77-2024`,
/// a few hundred distinct names cited by millions of items, so each item keeps a number into
/// this table) and the item lists of the few payments that pay more than one item (arrears,
/// recoveries), so that a row of the common one-item payment holds no pointer.
/// The lists sit one after another in one table, not each in its own allocation: a rate change
/// paid as arrears gives a million people a list at once, and a pointer and length per list
/// (16 bytes) and an item's padding (8 of its 32) were a third of what these lists cost.
/// Only the names and lists are encoded (as a list of lists); the name index is rebuilt from
/// them.
#[derive(Debug, Clone, Default)]
pub struct ItemTable {
    names: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    /// Every list's items, each list after the one before.
    items: Vec<Item>,
    /// Where each list ends in `items`: list `i` is `items[ends[i - 1]..ends[i]]`.
    ends: Vec<u32>,
}

impl Encode for ItemTable {
    fn encode<E: bincode::enc::Encoder>(
        &self,
        e: &mut E,
    ) -> Result<(), bincode::error::EncodeError> {
        self.names.encode(e)?;
        (self.ends.len() as u64).encode(e)?;
        (0..self.ends.len()).try_for_each(|i| self.list_at(i).encode(e))
    }
}

impl<Context> Decode<Context> for ItemTable {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        d: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let names: Vec<String> = Decode::decode(d)?;
        let index = names.iter().cloned().zip(0u32..).collect();
        let mut table = ItemTable {
            names,
            index,
            ..ItemTable::default()
        };
        let lists = u64::decode(d)?;
        let lists = usize::try_from(lists)
            .map_err(|_| bincode::error::DecodeError::OutsideUsizeRange(lists))?;
        d.claim_container_read::<u32>(lists)?;
        table.ends.reserve_exact(lists);
        for _ in 0..lists {
            d.unclaim_bytes_read(std::mem::size_of::<u32>());
            let list: Vec<Item> = Decode::decode(d)?;
            table
                .push_list(&list)
                .map_err(bincode::error::DecodeError::OtherString)?;
        }
        // A ledger opens with no room to spare: the items' list grew by doubling.
        table.items.shrink_to_fit();
        Ok(table)
    }
}

impl ItemTable {
    fn intern(&mut self, name: &str) -> u32 {
        if let Some(i) = self.index.get(name) {
            return *i;
        }
        let i = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.index.insert(name.to_owned(), i);
        i
    }

    pub fn name(&self, i: u32) -> &str {
        self.names.get(i as usize).map_or("?", String::as_str)
    }

    fn list(&self, i: u32) -> &[Item] {
        match i as usize {
            i if i < self.ends.len() => self.list_at(i),
            _ => &[],
        }
    }

    fn list_at(&self, i: usize) -> &[Item] {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
        &self.items[start..self.ends[i] as usize]
    }

    /// Adds a list after the others and returns its number.
    fn push_list(&mut self, list: &[Item]) -> Result<u32, String> {
        let number = narrow(self.ends.len() as u64, "item list")?;
        let end = narrow((self.items.len() + list.len()) as u64, "payment item")?;
        self.items.extend_from_slice(list);
        self.ends.push(end);
        Ok(number)
    }
}

/// One item of a payment that pays several, as the state keeps it. The entitlement is held in
/// 32 bits, as a payment row holds the one item's (`Payment`); it encodes as the 64-bit id
/// did, bincode's variable-length integers being the same for both.
#[derive(Encode, Decode, Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    entitlement: u32,
    amount: Vnd,
    source_month: Month,
    rule: u32,
    kind: ItemKind,
}

/// A payment item as readers see it, with its rule's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemView<'a> {
    pub entitlement: EntitlementId,
    pub source_month: Month,
    pub kind: ItemKind,
    pub amount: Vnd,
    pub rule: &'a str,
}

impl ItemView<'_> {
    pub fn to_item(self) -> PaymentItem {
        PaymentItem {
            entitlement: self.entitlement,
            source_month: self.source_month,
            kind: self.kind,
            amount: self.amount,
            rule: self.rule.to_owned(),
        }
    }
}

#[derive(Encode, Decode, Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    Scheduled,
    Settled,
    Returned,
    /// The batch was cancelled before release; the payment never went out.
    Cancelled,
}

/// A payment row's bytes, at most: one row per person and month paid, so this sets how much
/// memory each month adds (issue 10). Checked when the crate compiles.
pub const PAYMENT_ROW_BYTES_MAX: usize = 40;
const _: () = assert!(std::mem::size_of::<Payment>() <= PAYMENT_ROW_BYTES_MAX);

/// One payment line and what became of it. Ids are held in 32 bits (`apply` refuses an id
/// beyond that rather than cut it), and the one item of the common payment is held in the row
/// itself with the payment's amount as its amount; a payment with any other shape keeps its
/// items in the `ItemTable`'s lists and the row names the list. The item's fields sit in the
/// row itself, not in a nested struct, so that no padding is paid twice.
#[derive(Encode, Decode, Debug, Clone, Copy, PartialEq, Eq)]
pub struct Payment {
    pub amount: Vnd,
    pub route: Route,
    pub status: PaymentStatus,
    batch: u32,
    beneficiary: u32,
    /// The entitlement of the one item, or (when `listed`) the index of the item list.
    entitlement_or_list: u32,
    source_month: Month,
    rule: u32,
    kind: ItemKind,
    listed: bool,
}

/// A frozen row's bytes (`docs/chain-format.md` §10): everything of a payment line but its
/// status, which can still change after its batch closed (a late return) and so stays in memory.
pub const FROZEN_ROW_BYTES: usize = 41;

/// Fixed-width little-endian integers, so that row `i` starts at `i * FROZEN_ROW_BYTES`.
const FROZEN: bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Fixint,
> = bincode::config::standard().with_fixed_int_encoding();

type FrozenFields = (Vnd, Route, u32, u32, u32, Month, u32, ItemKind, bool);

/// An id in the 32 bits a row holds; the ledger numbers from one, so only a chain of four
/// billion people or batches could fail this, and it fails loudly.
fn narrow(id: u64, what: &str) -> Result<u32, String> {
    u32::try_from(id).map_err(|_| format!("{what} {id} is beyond what a payment row holds"))
}

impl Payment {
    pub(super) fn new(e: &PaymentScheduled, table: &mut ItemTable) -> Result<Payment, String> {
        let mut row = Payment {
            amount: e.amount,
            route: e.route,
            status: PaymentStatus::Scheduled,
            batch: narrow(e.batch.0, "batch")?,
            beneficiary: narrow(e.beneficiary.0, "beneficiary")?,
            entitlement_or_list: 0,
            source_month: Month::EARLIEST,
            rule: 0,
            kind: ItemKind::Regular,
            listed: false,
        };
        match e.items.as_slice() {
            [one] if one.amount == e.amount => {
                row.entitlement_or_list = narrow(one.entitlement.0, "entitlement")?;
                row.source_month = one.source_month;
                row.rule = table.intern(&one.rule);
                row.kind = one.kind;
            }
            items => {
                let list = items
                    .iter()
                    .map(|i| {
                        Ok(Item {
                            entitlement: narrow(i.entitlement.0, "entitlement")?,
                            amount: i.amount,
                            source_month: i.source_month,
                            rule: table.intern(&i.rule),
                            kind: i.kind,
                        })
                    })
                    .collect::<Result<Vec<Item>, String>>()?;
                row.entitlement_or_list = table.push_list(&list)?;
                row.listed = true;
            }
        }
        Ok(row)
    }

    pub fn batch(&self) -> BatchId {
        BatchId(u64::from(self.batch))
    }

    /// The row as a frozen file holds it (without its status).
    pub fn frozen_bytes(&self) -> [u8; FROZEN_ROW_BYTES] {
        let fields: FrozenFields = (
            self.amount,
            self.route,
            self.batch,
            self.beneficiary,
            self.entitlement_or_list,
            self.source_month,
            self.rule,
            self.kind,
            self.listed,
        );
        let mut out = [0u8; FROZEN_ROW_BYTES];
        let n = bincode::encode_into_slice(fields, &mut out, FROZEN).expect("a row fits its bytes");
        debug_assert_eq!(n, FROZEN_ROW_BYTES);
        out
    }

    /// A row read back from a frozen file, with its status kept in memory. The file was checked
    /// against its digest before it was mapped, so bytes that do not decode are a broken
    /// invariant, not bad input.
    pub fn from_frozen(bytes: &[u8], status: PaymentStatus) -> Payment {
        let (fields, n): (FrozenFields, usize) =
            bincode::decode_from_slice(bytes, FROZEN).expect("a frozen row decodes");
        assert_eq!(
            n, FROZEN_ROW_BYTES,
            "a frozen row is {FROZEN_ROW_BYTES} bytes"
        );
        let (
            amount,
            route,
            batch,
            beneficiary,
            entitlement_or_list,
            source_month,
            rule,
            kind,
            listed,
        ) = fields;
        Payment {
            amount,
            route,
            status,
            batch,
            beneficiary,
            entitlement_or_list,
            source_month,
            rule,
            kind,
            listed,
        }
    }

    pub fn beneficiary(&self) -> BeneficiaryId {
        BeneficiaryId(u64::from(self.beneficiary))
    }

    pub(super) fn items(self, table: &ItemTable) -> impl Iterator<Item = ItemView<'_>> {
        let one = (!self.listed).then(|| ItemView {
            entitlement: EntitlementId(u64::from(self.entitlement_or_list)),
            source_month: self.source_month,
            kind: self.kind,
            amount: self.amount,
            rule: table.name(self.rule),
        });
        let list = if self.listed {
            table.list(self.entitlement_or_list)
        } else {
            &[]
        };
        one.into_iter().chain(list.iter().map(move |i| ItemView {
            entitlement: EntitlementId(u64::from(i.entitlement)),
            source_month: i.source_month,
            kind: i.kind,
            amount: i.amount,
            rule: table.name(i.rule),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(k: u32) -> Month {
        Month::new(2024, 1).unwrap().plus(k)
    }

    fn naive(ops: &[(u32, i64)]) -> Vec<(Month, Vnd)> {
        let mut map = std::collections::BTreeMap::new();
        for &(k, v) in ops {
            *map.entry(m(k)).or_insert(0) += v;
        }
        map.into_iter()
            .filter(|(_, v)| *v != 0)
            .map(|(k, v)| (k, Vnd(v)))
            .collect()
    }

    #[test]
    fn paid_months_agree_with_a_plain_map_and_stay_one_run_for_a_steady_payment() {
        let mut steady = PaidMonths::default();
        for k in 0..24 {
            steady.add(m(k), Vnd(500_000));
        }
        assert_eq!(steady.runs.len(), 1);
        assert_eq!(steady.iter().count(), 24);

        // Arrears into a past month, a rate change, a return, a cancelled month in the middle.
        let ops = [
            (0, 500_000),
            (1, 500_000),
            (2, 500_000),
            (3, 700_000),
            (4, 700_000),
            (1, 200_000),
            (2, -500_000),
            (5, 700_000),
            (2, 500_000),
            (1, -200_000),
            (9, 100),
            (4, -700_000),
            (4, 700_000),
        ];
        let mut p = PaidMonths::default();
        for (n, &(k, v)) in ops.iter().enumerate() {
            p.add(m(k), Vnd(v));
            let want = naive(&ops[..=n]);
            assert_eq!(p.iter().collect::<Vec<_>>(), want, "after op {n}");
            for &(month, amount) in &want {
                assert_eq!(p.get(month), amount);
            }
            for w in p.runs.windows(2) {
                assert!(w[0].1 < w[1].0, "runs overlap: {:?}", p.runs);
                assert!(!(w[0].1.next() == w[1].0 && w[0].2 == w[1].2), "unmerged");
            }
        }
        assert_eq!(p.runs.len(), 3, "{:?}", p.runs);
    }

    /// Given a person paid across a rate change, when a month is returned and paid again as
    /// arrears (its run split, then joined), then the two runs still sit in the entitlement
    /// itself, and they encode as the plain list of runs and decode back.
    #[test]
    fn paid_months_across_a_rate_change_hold_no_heap_list() {
        let mut p = PaidMonths::default();
        for k in 0..24 {
            p.add(m(k), Vnd(if k < 18 { 500_000 } else { 700_000 }));
        }
        p.add(m(5), Vnd(-500_000));
        assert_eq!(p.runs.len(), 3);
        assert!(p.runs.spilled());
        p.add(m(5), Vnd(500_000));
        assert_eq!(p.runs.len(), 2);
        assert!(!p.runs.spilled(), "{:?}", p.runs);

        let bytes = bincode::encode_to_vec(&p, crate::domain::encoding::CANONICAL).unwrap();
        let plain: Vec<_> = p.runs.to_vec();
        assert_eq!(
            bytes,
            bincode::encode_to_vec(&plain, crate::domain::encoding::CANONICAL).unwrap()
        );
        let (back, _): (PaidMonths, _) =
            bincode::decode_from_slice(&bytes, crate::domain::encoding::CANONICAL).unwrap();
        assert_eq!(back, p);
        assert!(!back.runs.spilled());
    }

    #[test]
    fn history_keeps_every_seq_in_order_in_few_bytes() {
        let mut h = History::default();
        let seqs = [0u64, 1, 127, 128, 3_000_000, 3_000_001, 70_000_000_000];
        for s in seqs {
            h.push(s);
            h.push(s);
        }
        assert_eq!(h.tail().collect::<Vec<_>>(), seqs);
        assert_eq!(h.last(), Some(70_000_000_000));
        assert_eq!(h.len(), seqs.len());
        assert!(h.deltas.len() < seqs.len() * 8 / 2);
    }

    #[test]
    fn payment_ids_refuse_a_gap() {
        let mut ids = PaymentIds::default();
        ids.push(PaymentId(7)).unwrap();
        ids.push(PaymentId(8)).unwrap();
        assert!(ids.push(PaymentId(10)).is_err());
        assert_eq!(ids.iter().collect::<Vec<_>>(), [PaymentId(7), PaymentId(8)]);
        assert!(ids.contains(PaymentId(8)) && !ids.contains(PaymentId(9)));
    }

    fn item(entitlement: u64, k: u32, amount: i64, rule: &str, kind: ItemKind) -> PaymentItem {
        PaymentItem {
            entitlement: EntitlementId(entitlement),
            source_month: m(k),
            kind,
            amount: Vnd(amount),
            rule: rule.to_owned(),
        }
    }

    fn scheduled(items: Vec<PaymentItem>, amount: i64) -> PaymentScheduled {
        PaymentScheduled {
            payment: crate::domain::types::PaymentId(9),
            batch: BatchId(3),
            beneficiary: BeneficiaryId(70_000),
            route: Route::Cash {
                pay_point: crate::domain::types::CommuneCode::parse("00004").unwrap(),
            },
            amount: Vnd(amount),
            items,
        }
    }

    /// Every shape of payment reads back as its record stated it: the common one-item payment
    /// held in the row, and the others (several items, an item whose amount is not the
    /// payment's, no item at all) through the table's lists.
    #[test]
    fn a_payment_row_reads_back_its_items_whatever_their_shape() {
        let mut table = ItemTable::default();
        let r = "ncc.annex2.61@ncc-nd77-2024";
        let shapes = [
            (vec![item(5, 0, 2_789_000, r, ItemKind::Regular)], 2_789_000),
            (
                vec![
                    item(5, 6, 2_789_000, r, ItemKind::Regular),
                    item(5, 0, 734_000, "btxh.art6@btxh-nd20", ItemKind::Arrears),
                    item(6, 1, -100_000, r, ItemKind::Recovery),
                ],
                3_423_000,
            ),
            (vec![item(5, 0, 500_000, r, ItemKind::OneOff)], 400_000),
            (vec![], 0),
        ];
        let rows: Vec<Payment> = shapes
            .iter()
            .map(|(items, amount)| Payment::new(&scheduled(items.clone(), *amount), &mut table))
            .collect::<Result<_, _>>()
            .unwrap();
        for (row, (items, amount)) in rows.iter().zip(&shapes) {
            let back: Vec<PaymentItem> = row.items(&table).map(ItemView::to_item).collect();
            assert_eq!(&back, items);
            assert_eq!(row.amount, Vnd(*amount));
            assert_eq!(
                (row.batch(), row.beneficiary()),
                (BatchId(3), BeneficiaryId(70_000))
            );
        }
        assert!(!rows[0].listed && rows[1].listed && rows[2].listed && rows[3].listed);
        assert_eq!(
            table.ends.len(),
            3,
            "only payments not of the common shape use a list"
        );
        assert_eq!(table.names.len(), 2, "rule names are kept once");
    }

    /// Given payments whose items sit in lists (several items, one that is not the payment's
    /// amount, none), when the table is encoded, then its bytes are those of the names and a
    /// list of lists of items with 64-bit entitlements, as the table encoded before its lists
    /// shared one allocation; and it decodes back to rows that read the same items.
    #[test]
    fn the_item_lists_encode_as_a_list_of_lists_and_decode_back() {
        use crate::domain::encoding::CANONICAL;
        let mut table = ItemTable::default();
        let (a, b) = ("ncc.annex2.61@ncc-nd77-2024", "btxh.art6@btxh-nd20");
        let payments = [
            vec![
                item(5, 6, 2_789_000, a, ItemKind::Regular),
                item(4_000_000_000, 0, 734_000, b, ItemKind::Arrears),
            ],
            vec![],
            vec![item(7, 2, 500_000, b, ItemKind::OneOff)],
            vec![
                item(8, 1, -100_000, a, ItemKind::Recovery),
                item(8, 2, 300, b, ItemKind::Regular),
                item(9, 3, 1, a, ItemKind::Arrears),
            ],
        ];
        let rows: Vec<Payment> = payments
            .iter()
            .map(|items| Payment::new(&scheduled(items.clone(), 1), &mut table).unwrap())
            .collect();
        let names = vec![a.to_string(), b.to_string()];
        let rule = |r: &str| names.iter().position(|n| n == r).unwrap() as u32;
        // An item as it was held before: its entitlement in 64 bits.
        type PlainItem = (u64, Vnd, Month, u32, ItemKind);
        let plain: Vec<Vec<PlainItem>> = payments
            .iter()
            .map(|items| {
                items
                    .iter()
                    .map(|i| {
                        (
                            i.entitlement.0,
                            i.amount,
                            i.source_month,
                            rule(&i.rule),
                            i.kind,
                        )
                    })
                    .collect()
            })
            .collect();
        let bytes = bincode::encode_to_vec(&table, CANONICAL).unwrap();
        assert_eq!(
            bytes,
            bincode::encode_to_vec((&names, &plain), CANONICAL).unwrap()
        );
        let (back, _): (ItemTable, _) = bincode::decode_from_slice(&bytes, CANONICAL).unwrap();
        for (row, items) in rows.iter().zip(&payments) {
            let read: Vec<PaymentItem> = row.items(&back).map(ItemView::to_item).collect();
            assert_eq!(&read, items);
        }
        assert_eq!(back.list(99), &[] as &[Item], "no such list reads as none");
    }

    #[test]
    fn a_payment_row_refuses_an_id_it_cannot_hold() {
        let mut e = scheduled(vec![], 0);
        e.beneficiary = BeneficiaryId(u64::from(u32::MAX) + 1);
        let err = Payment::new(&e, &mut ItemTable::default()).unwrap_err();
        assert!(err.contains("beneficiary 4294967296"), "{err}");
        // An item in a list holds its entitlement in 32 bits too.
        let mut table = ItemTable::default();
        let beyond = u64::from(u32::MAX) + 1;
        let listed = vec![
            item(1, 0, 100, "r", ItemKind::Regular),
            item(beyond, 1, 100, "r", ItemKind::Arrears),
        ];
        let err = Payment::new(&scheduled(listed, 200), &mut table).unwrap_err();
        assert!(err.contains("entitlement 4294967296"), "{err}");
        assert!(
            table.ends.is_empty() && table.items.is_empty(),
            "no list was kept"
        );
    }
}
