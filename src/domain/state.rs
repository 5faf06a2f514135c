//! The ledger's state: what the log says now, rebuilt by `apply` from every event in order.
//! `apply` is total over events that `decide` produced; an event that cannot apply means the
//! log and the code disagree, and is reported as an `Inconsistency` rather than ignored.

mod citizens;
mod codec;
mod histories;
mod payments;
mod returns;
mod rows;
mod totals;

pub use codec::{AfterPeople, DecodedPeople, People};
pub use histories::FrozenHistories;
pub use payments::{FrozenBytes, FrozenRows, PaymentTable};
pub use rows::{
    History, HistoryParts, ItemView, PaidMonths, Payment, PaymentIds, PaymentStatus,
    FROZEN_ROW_BYTES,
};

use std::collections::{HashMap, HashSet};

use super::event::*;
use super::slab::Slab;
use super::types::{
    BatchId, BeneficiaryId, CitizenId, CommuneCode, Date, EntitlementId, FileId, Month, PaymentId,
    Programme, Vnd,
};
use citizens::CitizenIndex;
pub use totals::{BatchTotals, ByStatus};

/// A personal-data attachment as the state receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attachment {
    None,
    Present(PersonalData),
    /// The record had personal data, but it was erased from the personal-data store.
    Erased,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event at seq {seq} does not apply: {reason}")]
pub struct Inconsistency {
    pub seq: u64,
    pub reason: String,
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone, PartialEq, Eq)]
pub enum PersonalState<T> {
    Known(T),
    Erased,
}

impl<T> PersonalState<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            PersonalState::Known(t) => Some(t),
            PersonalState::Erased => None,
        }
    }
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct Beneficiary {
    pub id: BeneficiaryId,
    pub programme: Programme,
    pub commune: CommuneCode,
    pub identity: PersonalState<Identity>,
    pub route: Option<Route>,
    pub account: Option<PersonalState<BankAccountDetails>>,
    // The lists below are boxed slices and the hold is boxed: a person is kept for every
    // month of every year, most have one entitlement, one personal record and no hold, and a
    // `Vec` costs 8 bytes more in place and rounds its first push up to room for four; a
    // million people are 64 MB less.
    pub entitlements: Box<[EntitlementId]>,
    pub warnings: Box<[EnrolmentWarning]>,
    pub date_of_death: Option<Date>,
    pub hold: Option<Box<HoldReason>>,
    pub enrolled_seq: u64,
    /// The record that last changed what a payment file says about this person: the route,
    /// the account, or the identity (a cash list names the person). A release checks that none
    /// of this changed after its batch was computed.
    pub route_seq: u64,
    /// Records that touch this person, in order (for `beneficiary show`).
    pub history: History,
    /// Records whose personal-data attachment is about this person (for erasure).
    pub personal_records: Box<[u64]>,
}

/// A change to an entitlement, with the sequence number at which the ledger learnt it, so the
/// rules can ask "as known at seq S".
#[derive(bincode::Encode, bincode::Decode, Debug, Clone, PartialEq, Eq)]
pub enum EntitlementChange {
    Adjusted(EntitlementAdjusted),
    Suspended(EntitlementSuspended),
    Resumed(EntitlementResumed),
    Terminated(EntitlementTerminated),
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct Entitlement {
    pub grant: EntitlementGranted,
    pub granted_seq: u64,
    pub changes: Vec<(u64, EntitlementChange)>,
    /// Net amount of every payment item that went out or may still go out (scheduled or
    /// settled; not cancelled, not returned), per source month, in month order. This is what
    /// the rules compare with what is due to find arrears and recoveries, and what stops a
    /// month from being paid twice.
    pub paid: PaidMonths,
}

impl Entitlement {
    pub fn id(&self) -> EntitlementId {
        self.grant.entitlement
    }

    /// Net amount paid (or on its way) for a source month.
    pub fn paid_in(&self, month: Month) -> Vnd {
        self.paid.get(month)
    }

    pub fn terminated(&self) -> Option<&EntitlementTerminated> {
        self.changes.iter().rev().find_map(|(_, c)| match c {
            EntitlementChange::Terminated(t) => Some(t),
            _ => None,
        })
    }
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct RateSchedule {
    pub enacted: RateScheduleEnacted,
    pub seq: u64,
}

#[derive(
    bincode::Encode,
    bincode::Decode,
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    serde::Serialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    Open,
    Computed,
    Approved,
    Released,
    Cancelled,
    Closed,
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct Batch {
    pub opened: BatchOpened,
    pub opened_by: String,
    pub status: BatchStatus,
    pub computed: Option<BatchComputed>,
    pub computed_by: Option<String>,
    pub approved: Option<BatchApproved>,
    pub approved_by: Option<String>,
    pub released_by: Option<String>,
    /// The record that released the batch (its time dates the payment files).
    pub released_seq: Option<u64>,
    pub payments: PaymentIds,
    pub files: Vec<FileId>,
    /// Sequence number of the batch's last event, for "what changed since".
    pub last_seq: u64,
    /// Per channel, the record that last gave one of its payments its first bank status
    /// (settled or returned): when that channel's payment report came in (`domain::calendar`
    /// dates it and judges it late or not). A return after a settlement is not counted.
    pub reported: Vec<(Channel, u64)>,
    /// Running counts and sums of the batch's payments by channel and status (`totals`).
    pub totals: BatchTotals,
}

/// A reconciliation break and whether it was explained.
#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct Break {
    pub seq: u64,
    pub recorded: ReconciliationBreakRecorded,
    pub resolved: Option<String>,
}

#[derive(bincode::Encode, bincode::Decode, Debug, Clone)]
pub struct IssuedFile {
    pub issued: PaymentFileIssued,
    pub downloads: u32,
}

/// Everything the log says, as of its last applied record.
#[derive(Debug, Default)]
pub struct State {
    beneficiaries: Slab<Beneficiary>,
    /// Each person's ID by their citizen ID.
    by_citizen: CitizenIndex,
    entitlements: Slab<Entitlement>,
    schedules: Vec<RateSchedule>,
    schedule_ids: HashSet<String>,
    batches: Vec<Batch>,
    payments: PaymentTable,
    /// The rule names payment items cite, each kept once, and the item lists of payments with
    /// more than one item (`rows::ItemTable`).
    item_table: rows::ItemTable,
    /// Each person's history up to the last snapshot (the ledger's histories file, mapped).
    frozen_histories: FrozenHistories,
    /// Why each returned payment came back (few payments are returned, so not a field of each).
    return_reasons: returns::ReturnReasons,
    files: Vec<IssuedFile>,
    status_reports: HashSet<Digest>,
    /// Each ingested report by its bank (channel) and its own message id.
    status_report_ids: HashMap<(Channel, String), Digest>,
    breaks: Vec<Break>,
    /// Regular and supplementary batches of each programme and month, in opening order.
    batches_by_month: HashMap<(Programme, Month), Vec<BatchId>>,
    checkpoints: Vec<(u64, CheckpointRecorded)>,
    /// Records whose personal data an erasure event removed (the store must not hold them).
    erased_records: Vec<u64>,
    /// Identity checks against the population database: settings and each person's latest.
    identity: super::identity::IdentityChecks,
    /// The Treasury's allocations, in the order recorded (`domain::funds`).
    allocations: Vec<FundsAllocated>,
    /// Records applied so far; the next record's sequence number.
    applied: u64,
    /// The last record that could change what a batch computes (entitlements, rates, people,
    /// routes, holds, payments): a computation that saw this value at its start and at its end
    /// saw one consistent state even if it let the writer run in between.
    money_seq: u64,
}

impl State {
    pub fn new() -> State {
        State::default()
    }

    /// Number of records applied (the next sequence number).
    pub fn applied(&self) -> u64 {
        self.applied
    }

    /// See the field: changes whenever something a batch computation reads changes.
    pub fn money_seq(&self) -> u64 {
        self.money_seq
    }

    pub fn beneficiary_count(&self) -> usize {
        self.beneficiaries.len()
    }

    pub fn beneficiary(&self, id: BeneficiaryId) -> Option<&Beneficiary> {
        let index = id.0.checked_sub(1)? as usize;
        self.beneficiaries.get(index)
    }

    pub fn beneficiaries(&self) -> &Slab<Beneficiary> {
        &self.beneficiaries
    }

    /// Identity checks: each programme's setting and each person's latest answer.
    pub fn identity(&self) -> &super::identity::IdentityChecks {
        &self.identity
    }

    /// The Treasury's allocations, in the order recorded.
    pub fn allocations(&self) -> &[FundsAllocated] {
        &self.allocations
    }

    pub fn by_citizen(&self, id: &CitizenId) -> Option<BeneficiaryId> {
        self.by_citizen.get(id)
    }

    pub fn next_beneficiary_id(&self) -> BeneficiaryId {
        BeneficiaryId(self.beneficiaries.len() as u64 + 1)
    }

    pub fn entitlement(&self, id: EntitlementId) -> Option<&Entitlement> {
        let index = id.0.checked_sub(1)? as usize;
        self.entitlements.get(index)
    }

    pub fn entitlements(&self) -> &Slab<Entitlement> {
        &self.entitlements
    }

    pub fn next_entitlement_id(&self) -> EntitlementId {
        EntitlementId(self.entitlements.len() as u64 + 1)
    }

    pub fn schedules(&self) -> &[RateSchedule] {
        &self.schedules
    }

    pub fn has_schedule(&self, id: &str) -> bool {
        self.schedule_ids.contains(id)
    }

    pub fn batch(&self, id: BatchId) -> Option<&Batch> {
        let index = id.0.checked_sub(1)? as usize;
        self.batches.get(index)
    }

    pub fn batches(&self) -> &[Batch] {
        &self.batches
    }

    pub fn next_batch_id(&self) -> BatchId {
        BatchId(self.batches.len() as u64 + 1)
    }

    pub fn payment(&self, id: PaymentId) -> Option<Payment> {
        let index = id.0.checked_sub(1)? as usize;
        self.payments.get(index)
    }

    /// A payment's items with the names of their rules.
    pub fn items(&self, p: Payment) -> impl Iterator<Item = ItemView<'_>> {
        p.items(&self.item_table)
    }

    /// The bank's reason code for a returned payment.
    pub fn return_reason(&self, id: PaymentId) -> Option<&str> {
        self.return_reasons.get(id)
    }

    /// A payment line as its `payment_scheduled` record stated it.
    pub fn scheduled(&self, id: PaymentId) -> Option<PaymentScheduled> {
        let p = self.payment(id)?;
        Some(PaymentScheduled {
            payment: id,
            batch: p.batch(),
            beneficiary: p.beneficiary(),
            route: p.route,
            amount: p.amount,
            items: self.items(p).map(ItemView::to_item).collect(),
        })
    }

    /// The payments of a batch with their ids.
    pub fn payments_of<'a>(&'a self, b: &Batch) -> impl Iterator<Item = (PaymentId, Payment)> + 'a {
        b.payments
            .iter()
            .filter_map(move |id| self.payment(id).map(|p| (id, p)))
    }

    /// Every payment line, for the ledger to write the rows of a snapshot.
    pub fn payment_table(&self) -> &PaymentTable {
        &self.payments
    }

    /// Attaches the bytes of the rows a snapshot froze (`PaymentTable::attach`).
    pub fn attach_payment_rows(&mut self, bytes: FrozenRows) -> Result<(), String> {
        self.payments.attach(bytes)
    }

    /// Every record that touches a person, in order: the frozen entries, then those since.
    pub fn history(&self, who: BeneficiaryId) -> Option<Vec<u64>> {
        let h = &self.beneficiary(who)?.history;
        let mut seqs = self.frozen_histories.seqs(h.frozen_at());
        seqs.extend(h.tail());
        debug_assert_eq!(seqs.len(), h.len(), "a history reads back whole");
        Some(seqs)
    }

    /// The bytes of the frozen histories.
    pub fn frozen_histories_len(&self) -> u64 {
        self.frozen_histories.len()
    }

    /// Each person (by index) with history entries in memory, and the frozen entry that would
    /// hold them, appended at the end of the frozen bytes.
    pub fn unfrozen_histories(&self) -> impl Iterator<Item = (usize, Vec<u8>)> + '_ {
        self.beneficiaries.iter().enumerate().filter_map(|(i, b)| {
            let (base, deltas) = b.history.unfrozen();
            (!deltas.is_empty()).then(|| {
                let mut entry = Vec::new();
                histories::encode_entry(b.history.frozen_at(), base, deltas, &mut entry);
                (i, entry)
            })
        })
    }

    /// Where each person's history is (`rows::HistoryParts`), as it will be once the entries
    /// `placed` (person index, `frozen_at`; in index order) are frozen: what a snapshot keeps.
    pub fn history_parts_after<'a>(
        &'a self,
        placed: &'a [(usize, u64)],
    ) -> impl Iterator<Item = HistoryParts> + 'a {
        let mut placed = placed.iter().peekable();
        self.beneficiaries.iter().enumerate().map(move |(i, b)| {
            match placed.next_if(|(p, _)| *p == i) {
                Some(&(_, at)) => (at, b.history.last().unwrap_or(0), Vec::new()),
                None => b.history.parts(),
            }
        })
    }

    /// Lets go of the history entries `placed` (person index, `frozen_at`) now in `bytes`,
    /// each checked to hold exactly what the person has in memory; on a mismatch nothing
    /// changes.
    pub fn freeze_histories(
        &mut self,
        bytes: FrozenRows,
        placed: &[(usize, u64)],
    ) -> Result<(), String> {
        let frozen = FrozenHistories::new(bytes);
        for &(i, at) in placed {
            let b = self.beneficiaries.get(i).ok_or("no such person")?;
            if !frozen.holds(at, &b.history) {
                return Err(format!(
                    "the frozen history of beneficiary {} differs",
                    i + 1
                ));
            }
        }
        for &(i, at) in placed {
            let b = self.beneficiaries.get_mut(i).expect("checked above");
            b.history.froze(at);
        }
        self.frozen_histories = frozen;
        Ok(())
    }

    /// Attaches what a snapshot kept of the histories: the frozen bytes and each person's
    /// parts, in person order. Every part must point into the bytes: a bounds check that
    /// reads none of them (`FrozenHistories::reaches`), so opening makes no page of the file
    /// resident.
    pub fn attach_histories(
        &mut self,
        bytes: Option<FrozenRows>,
        parts: Vec<HistoryParts>,
    ) -> Result<(), String> {
        if parts.len() != self.beneficiaries.len() {
            return Err(format!(
                "{} histories for {} people",
                parts.len(),
                self.beneficiaries.len()
            ));
        }
        let frozen = bytes.map(FrozenHistories::new).unwrap_or_default();
        for (i, p) in parts.into_iter().enumerate() {
            if p.0 != 0 && !frozen.reaches(p.0) {
                return Err(format!(
                    "the history of beneficiary {} is not in the file",
                    i + 1
                ));
            }
            let b = self.beneficiaries.get_mut(i).expect("counted above");
            b.history.set_parts(p);
        }
        self.frozen_histories = frozen;
        Ok(())
    }

    /// Moves the payment lines that `bytes` hold out of memory (`PaymentTable::freeze`).
    pub fn freeze_payment_rows(&mut self, bytes: FrozenRows) -> Result<(), String> {
        self.payments.freeze(bytes)
    }

    pub fn next_payment_id(&self) -> PaymentId {
        PaymentId(self.payments.len() as u64 + 1)
    }

    pub fn file(&self, id: FileId) -> Option<&IssuedFile> {
        let index = id.0.checked_sub(1)? as usize;
        self.files.get(index)
    }

    pub fn files(&self) -> &[IssuedFile] {
        &self.files
    }

    pub fn next_file_id(&self) -> FileId {
        FileId(self.files.len() as u64 + 1)
    }

    pub fn has_status_report(&self, digest: &Digest) -> bool {
        self.status_reports.contains(digest)
    }

    /// The digest of the report a bank sent under `message_id`, if one was ingested.
    pub fn status_report_id(&self, channel: Channel, message_id: &str) -> Option<&Digest> {
        self.status_report_ids
            .get(&(channel, message_id.to_owned()))
    }

    pub fn breaks(&self) -> &[Break] {
        &self.breaks
    }

    /// The batches of a programme and month, in opening order.
    pub fn batches_of(&self, programme: Programme, month: Month) -> &[BatchId] {
        self.batches_by_month
            .get(&(programme, month))
            .map_or(&[], Vec::as_slice)
    }

    pub fn checkpoints(&self) -> &[(u64, CheckpointRecorded)] {
        &self.checkpoints
    }

    pub fn erased_records(&self) -> &[u64] {
        &self.erased_records
    }

    /// Applies the event recorded at `seq` by `principal`.
    pub fn apply(
        &mut self,
        seq: u64,
        principal: &str,
        event: Event,
        attachment: Attachment,
    ) -> Result<(), Inconsistency> {
        if seq != self.applied {
            return Err(inconsistent(seq, format!("expected seq {}", self.applied)));
        }
        if affects_money(&event) {
            self.money_seq = seq;
        }
        self.apply_event(seq, principal, event, attachment)
            .map_err(|reason| inconsistent(seq, reason))?;
        self.applied += 1;
        Ok(())
    }

    /// Applies one event by what it is about: a person, an entitlement, a batch, the banks'
    /// answers, or the chain itself.
    fn apply_event(
        &mut self,
        seq: u64,
        principal: &str,
        event: Event,
        attachment: Attachment,
    ) -> Result<(), String> {
        match event {
            Event::BeneficiaryEnrolled(e) => self.enrolled(seq, *e, attachment),
            Event::BeneficiaryDetailsCorrected(e) => self.details_corrected(seq, e, attachment),
            Event::PaymentRouteSet(e) => self.route_set(seq, e, attachment),
            Event::BeneficiaryDeathRecorded(e) => {
                self.beneficiary_mut(e.beneficiary, seq)?.date_of_death = Some(e.date_of_death);
                Ok(())
            }
            Event::BeneficiaryHeldForReview(e) => {
                self.beneficiary_mut(e.beneficiary, seq)?.hold = Some(Box::new(e.reason));
                Ok(())
            }
            Event::BeneficiaryReviewCleared(e) => {
                self.beneficiary_mut(e.beneficiary, seq)?.hold = None;
                Ok(())
            }
            Event::IdentityCheckRecorded(e) => {
                for a in &e.answers {
                    self.beneficiary_mut(a.beneficiary, seq)?;
                }
                self.identity.recorded(seq, *e);
                Ok(())
            }
            Event::FundsAllocated(e) => {
                self.allocations.push(*e);
                Ok(())
            }
            Event::IdentityCheckModeSet(e) => {
                self.identity.mode_set(seq, e);
                Ok(())
            }
            Event::PersonalDataErased(e) => self.personal_data_erased(seq, e),
            Event::RateScheduleEnacted(e) => self.schedule_enacted(seq, *e),
            Event::EntitlementGranted(e) => self.granted(seq, *e),
            Event::EntitlementAdjusted(e) => {
                self.entitlement_changed(seq, e.entitlement, EntitlementChange::Adjusted(*e))
            }
            Event::EntitlementSuspended(e) => {
                self.entitlement_changed(seq, e.entitlement, EntitlementChange::Suspended(*e))
            }
            Event::EntitlementResumed(e) => {
                self.entitlement_changed(seq, e.entitlement, EntitlementChange::Resumed(*e))
            }
            Event::EntitlementTerminated(e) => {
                self.entitlement_changed(seq, e.entitlement, EntitlementChange::Terminated(*e))
            }
            Event::BatchOpened(e) => self.batch_opened(seq, principal, e),
            Event::PaymentScheduled(e) => self.payment_scheduled(seq, e),
            Event::BatchComputed(e) => {
                let b = self.batch_mut(e.batch, seq)?;
                b.status = BatchStatus::Computed;
                b.computed = Some(*e);
                b.computed_by = Some(principal.to_owned());
                Ok(())
            }
            Event::BatchApproved(e) => {
                let b = self.batch_mut(e.batch, seq)?;
                b.status = BatchStatus::Approved;
                b.approved = Some(e);
                b.approved_by = Some(principal.to_owned());
                Ok(())
            }
            Event::BatchReleased(e) => {
                let b = self.batch_mut(e.batch, seq)?;
                b.status = BatchStatus::Released;
                b.released_by = Some(principal.to_owned());
                b.released_seq = Some(seq);
                Ok(())
            }
            Event::BatchCancelled(e) => self.batch_cancelled(e.batch, seq),
            Event::BatchClosed(e) => {
                self.batch_mut(e.batch, seq)?.status = BatchStatus::Closed;
                Ok(())
            }
            other => self.apply_bank_event(seq, other),
        }
    }

    /// Payment files, their downloads, and what the banks answered: settlements, returns and
    /// the breaks that did not reconcile; and checkpoints of the chain.
    fn apply_bank_event(&mut self, seq: u64, event: Event) -> Result<(), String> {
        match event {
            Event::PaymentFileIssued(e) => {
                expect_next(e.file.0, self.files.len(), "file")?;
                self.batch_mut(e.batch, seq)?.files.push(e.file);
                self.files.push(IssuedFile {
                    issued: *e,
                    downloads: 0,
                });
                Ok(())
            }
            Event::PaymentFileDownloaded(e) => {
                let index = (e.file.0 as usize).wrapping_sub(1);
                let f = self
                    .files
                    .get_mut(index)
                    .ok_or_else(|| format!("no file {}", e.file))?;
                f.downloads += 1;
                Ok(())
            }
            Event::StatusReportIngested(e) => {
                self.status_reports.insert(e.digest);
                self.status_report_ids
                    .insert((e.channel, e.message_id), e.digest);
                Ok(())
            }
            Event::PaymentSettled(e) => {
                self.reported(e.payment, seq)?;
                self.count_status(e.payment, PaymentStatus::Settled)?;
                let who = self.set_status(e.payment, PaymentStatus::Settled)?;
                self.beneficiary_mut(who, seq)?;
                Ok(())
            }
            Event::PaymentReturned(e) => {
                self.reported(e.payment, seq)?;
                self.count_status(e.payment, PaymentStatus::Returned)?;
                let who = self.set_status(e.payment, PaymentStatus::Returned)?;
                self.return_reasons.insert(e.payment, e.reason_code);
                self.beneficiary_mut(who, seq)?;
                self.unclaim(e.payment)
            }
            Event::ReconciliationBreakRecorded(e) => {
                self.breaks.push(Break {
                    seq,
                    recorded: *e,
                    resolved: None,
                });
                Ok(())
            }
            Event::ReconciliationBreakResolved(e) => {
                let b = self
                    .breaks
                    .iter_mut()
                    .find(|b| b.seq == e.break_seq)
                    .ok_or_else(|| format!("no break recorded at seq {}", e.break_seq))?;
                b.resolved = Some(e.note);
                Ok(())
            }
            Event::CheckpointRecorded(e) => {
                self.checkpoints.push((seq, *e));
                Ok(())
            }
            other => Err(format!(
                "{} is not an event of the banks",
                event_name(&other)
            )),
        }
    }

    fn schedule_enacted(&mut self, seq: u64, e: RateScheduleEnacted) -> Result<(), String> {
        if !self.schedule_ids.insert(e.schedule.clone()) {
            return Err(format!("rate schedule {} enacted twice", e.schedule));
        }
        self.schedules.push(RateSchedule { enacted: e, seq });
        Ok(())
    }

    fn batch_opened(&mut self, seq: u64, principal: &str, e: BatchOpened) -> Result<(), String> {
        expect_next(e.batch.0, self.batches.len(), "batch")?;
        self.batches_by_month
            .entry((e.programme, e.month))
            .or_default()
            .push(e.batch);
        self.batches.push(Batch {
            opened: e,
            opened_by: principal.to_owned(),
            status: BatchStatus::Open,
            computed: None,
            computed_by: None,
            approved: None,
            approved_by: None,
            released_by: None,
            released_seq: None,
            payments: PaymentIds::default(),
            files: Vec::new(),
            last_seq: seq,
            reported: Vec::new(),
            totals: BatchTotals::default(),
        });
        Ok(())
    }

    fn personal_data_erased(&mut self, seq: u64, e: PersonalDataErased) -> Result<(), String> {
        let b = self.beneficiary_mut(e.beneficiary, seq)?;
        let citizen = b.identity.known().map(|i| i.citizen_id);
        if let Some(citizen) = citizen {
            self.by_citizen.remove(&citizen);
        }
        let b = self.beneficiary_mut(e.beneficiary, seq)?;
        b.identity = PersonalState::Erased;
        if b.account.is_some() {
            b.account = Some(PersonalState::Erased);
        }
        self.erased_records.extend_from_slice(&e.records);
        Ok(())
    }

    fn enrolled(
        &mut self,
        seq: u64,
        e: BeneficiaryEnrolled,
        attachment: Attachment,
    ) -> Result<(), String> {
        expect_next(e.beneficiary.0, self.beneficiaries.len(), "beneficiary")?;
        let (identity, account) = match attachment {
            Attachment::Present(PersonalData {
                identity: Some(identity),
                account,
            }) => {
                if let Some(existing) = self.by_citizen.insert(identity.citizen_id, e.beneficiary) {
                    return Err(format!(
                        "citizen ID {} already enrolled as {existing}",
                        identity.citizen_id
                    ));
                }
                (
                    PersonalState::Known(identity),
                    account.map(PersonalState::Known),
                )
            }
            Attachment::Erased => (PersonalState::Erased, Some(PersonalState::Erased)),
            other => {
                return Err(format!(
                    "enrolment needs an identity attachment, got {other:?}"
                ))
            }
        };
        let account = route_account(e.route, account)?;
        self.beneficiaries.push(Beneficiary {
            id: e.beneficiary,
            programme: e.programme,
            commune: e.commune,
            identity,
            route: e.route,
            account,
            entitlements: Box::default(),
            warnings: e.warnings.into(),
            date_of_death: None,
            hold: None,
            enrolled_seq: seq,
            route_seq: seq,
            history: {
                let mut h = History::default();
                h.push(seq);
                h
            },
            personal_records: Box::new([seq]),
        });
        Ok(())
    }

    fn details_corrected(
        &mut self,
        seq: u64,
        e: BeneficiaryDetailsCorrected,
        attachment: Attachment,
    ) -> Result<(), String> {
        // The next identity check confirms what the officer corrected.
        self.identity.corrected(e.beneficiary);
        let b = self.beneficiary_mut(e.beneficiary, seq)?;
        if let Some(c) = e.commune {
            b.commune = c;
        }
        b.warnings = e.warnings.into();
        let (old, new) = match attachment {
            Attachment::Present(PersonalData {
                identity: Some(identity),
                account: None,
            }) => {
                push(&mut b.personal_records, seq);
                b.route_seq = seq;
                let old = b.identity.known().map(|i| i.citizen_id);
                let new = identity.citizen_id;
                b.identity = PersonalState::Known(identity);
                (old, Some(new))
            }
            Attachment::Erased => {
                b.identity = PersonalState::Erased;
                (None, None)
            }
            Attachment::None => (None, None),
            Attachment::Present(other) => return Err(format!("unexpected attachment {other:?}")),
        };
        if let (Some(old), Some(new)) = (old, new) {
            if old != new {
                self.by_citizen.remove(&old);
                self.by_citizen.insert(new, e.beneficiary);
            }
        }
        Ok(())
    }

    fn route_set(
        &mut self,
        seq: u64,
        e: PaymentRouteSet,
        attachment: Attachment,
    ) -> Result<(), String> {
        let account = match attachment {
            Attachment::Present(PersonalData {
                identity: None,
                account,
            }) => account.map(PersonalState::Known),
            Attachment::Erased => Some(PersonalState::Erased),
            Attachment::None => None,
            Attachment::Present(other) => return Err(format!("unexpected attachment {other:?}")),
        };
        let account = route_account(Some(e.route), account)?;
        let b = self.beneficiary_mut(e.beneficiary, seq)?;
        if account.is_some() {
            push(&mut b.personal_records, seq);
        }
        b.route = Some(e.route);
        b.account = account;
        b.route_seq = seq;
        Ok(())
    }

    fn granted(&mut self, seq: u64, e: EntitlementGranted) -> Result<(), String> {
        expect_next(e.entitlement.0, self.entitlements.len(), "entitlement")?;
        push(
            &mut self.beneficiary_mut(e.beneficiary, seq)?.entitlements,
            e.entitlement,
        );
        self.entitlements.push(Entitlement {
            grant: e,
            granted_seq: seq,
            changes: Vec::new(),
            paid: PaidMonths::default(),
        });
        Ok(())
    }

    fn entitlement_changed(
        &mut self,
        seq: u64,
        id: EntitlementId,
        change: EntitlementChange,
    ) -> Result<(), String> {
        let index = (id.0 as usize).wrapping_sub(1);
        let ent = self
            .entitlements
            .get_mut(index)
            .ok_or_else(|| format!("no entitlement {id}"))?;
        ent.changes.push((seq, change));
        let beneficiary = ent.grant.beneficiary;
        self.beneficiary_mut(beneficiary, seq)?;
        Ok(())
    }

    fn payment_scheduled(&mut self, seq: u64, e: PaymentScheduled) -> Result<(), String> {
        expect_next(e.payment.0, self.payments.len(), "payment")?;
        let batch = self.batch_mut(e.batch, seq)?;
        batch.payments.push(e.payment)?;
        batch.totals.scheduled(&e);
        self.beneficiary_mut(e.beneficiary, seq)?;
        for item in &e.items {
            let index = (item.entitlement.0 as usize).wrapping_sub(1);
            let ent = self
                .entitlements
                .get_mut(index)
                .ok_or_else(|| format!("no entitlement {}", item.entitlement))?;
            ent.paid.add(item.source_month, item.amount);
        }
        self.payments.push(Payment::new(&e, &mut self.item_table)?);
        Ok(())
    }

    /// Takes back what a payment claimed, when it is cancelled or returned, so that the month
    /// becomes due again.
    fn unclaim(&mut self, id: PaymentId) -> Result<(), String> {
        let p = self.payment(id).ok_or_else(|| format!("no payment {id}"))?;
        let claims: Vec<(EntitlementId, Month, Vnd)> = self
            .items(p)
            .map(|i| (i.entitlement, i.source_month, i.amount))
            .collect();
        for (entitlement, month, amount) in claims {
            let index = (entitlement.0 as usize).wrapping_sub(1);
            let ent = self
                .entitlements
                .get_mut(index)
                .ok_or_else(|| format!("no entitlement {entitlement}"))?;
            ent.paid.add(month, Vnd::ZERO - amount);
        }
        Ok(())
    }

    fn batch_cancelled(&mut self, id: BatchId, seq: u64) -> Result<(), String> {
        let b = self.batch_mut(id, seq)?;
        b.status = BatchStatus::Cancelled;
        let payments = b.payments;
        for p in payments.iter() {
            self.count_status(p, PaymentStatus::Cancelled)?;
            let who = self.set_status(p, PaymentStatus::Cancelled)?;
            self.beneficiary_mut(who, seq)?;
            self.unclaim(p)?;
        }
        Ok(())
    }

    /// Looks a beneficiary up for change and notes that record `seq` touches them.
    fn beneficiary_mut(&mut self, id: BeneficiaryId, seq: u64) -> Result<&mut Beneficiary, String> {
        let index = (id.0 as usize).wrapping_sub(1);
        let b = self
            .beneficiaries
            .get_mut(index)
            .ok_or_else(|| format!("no beneficiary {id}"))?;
        b.history.push(seq);
        Ok(b)
    }

    /// Looks a batch up for change and notes that record `seq` touches it.
    fn batch_mut(&mut self, id: BatchId, seq: u64) -> Result<&mut Batch, String> {
        let index = (id.0 as usize).wrapping_sub(1);
        let b = self
            .batches
            .get_mut(index)
            .ok_or_else(|| format!("no batch {id}"))?;
        b.last_seq = seq;
        Ok(b)
    }

    /// Notes that record `seq` gives a payment a bank status; its first one dates the report
    /// of the payment's channel in its batch (`Batch::reported`).
    fn reported(&mut self, id: PaymentId, seq: u64) -> Result<(), String> {
        let p = self.payment(id).ok_or_else(|| format!("no payment {id}"))?;
        if p.status != PaymentStatus::Scheduled {
            return Ok(());
        }
        let channel = match p.route {
            Route::Bank { bin } => Channel::Bank(bin),
            Route::Cash { .. } => Channel::Cash,
        };
        let batch = p.batch();
        let b = self
            .batches
            .get_mut((batch.0 as usize).wrapping_sub(1))
            .ok_or_else(|| format!("no batch {batch}"))?;
        match b.reported.iter_mut().find(|(c, _)| *c == channel) {
            Some((_, at)) => *at = seq,
            None => b.reported.push((channel, seq)),
        }
        Ok(())
    }

    /// Gives a payment its new status; returns whom it pays.
    fn set_status(
        &mut self,
        id: PaymentId,
        status: PaymentStatus,
    ) -> Result<BeneficiaryId, String> {
        let index = (id.0 as usize).wrapping_sub(1);
        self.payments.set_status(index, status)?;
        let p = self.payment(id).ok_or_else(|| format!("no payment {id}"))?;
        Ok(p.beneficiary())
    }
}

/// A bank route needs account details (possibly erased); a cash route has none.
fn route_account(
    route: Option<Route>,
    account: Option<PersonalState<BankAccountDetails>>,
) -> Result<Option<PersonalState<BankAccountDetails>>, String> {
    match (route, account) {
        (Some(Route::Bank { .. }), Some(a)) => Ok(Some(a)),
        (Some(Route::Cash { .. }) | None, None | Some(PersonalState::Erased)) => Ok(None),
        (route, account) => Err(format!(
            "route {route:?} does not match account details present: {}",
            account.is_some()
        )),
    }
}

/// Whether an event can change what a batch computation reads. Files, bank settlements, breaks
/// and the batch steps after computing do not.
fn affects_money(event: &Event) -> bool {
    !matches!(
        event,
        Event::CheckpointRecorded(_)
            | Event::PaymentFileIssued(_)
            | Event::PaymentFileDownloaded(_)
            | Event::StatusReportIngested(_)
            | Event::PaymentSettled(_)
            | Event::ReconciliationBreakRecorded(_)
            | Event::ReconciliationBreakResolved(_)
            | Event::BatchOpened(_)
            | Event::BatchApproved(_)
            | Event::BatchReleased(_)
            | Event::BatchClosed(_)
    )
}

/// The event's type, for a message.
fn event_name(event: &Event) -> String {
    format!("{event:?}")
        .split(['(', ' ', '{'])
        .next()
        .unwrap_or_default()
        .to_owned()
}

fn inconsistent(seq: u64, reason: String) -> Inconsistency {
    Inconsistency { seq, reason }
}

fn expect_next(id: u64, len: usize, what: &str) -> Result<(), String> {
    if id != len as u64 + 1 {
        return Err(format!("{what} id {id} is not the next ({})", len + 1));
    }
    Ok(())
}

/// Appends to a boxed slice (rare: a second entitlement or account; see `Beneficiary`).
fn push<T: Copy>(list: &mut Box<[T]>, item: T) {
    *list = list.iter().copied().chain([item]).collect();
}
