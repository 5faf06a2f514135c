//! Monthly disbursement batches: the life-cycle decisions (open, compute, approve, release,
//! cancel, close), the payment-file and status-report commands, and the projections finance
//! staff read (control totals, review, reconciliation).
//!
//! The invariant this module exists for: **no entitlement is ever paid twice for the same
//! month.** Every payment item claims its (entitlement, source month) in
//! `Entitlement::paid`; a regular or one-off item for a month that is already claimed is
//! refused whatever is retried or re-run; only a cancellation (before release) or a recorded
//! return gives the claim back.

pub mod compute;
pub mod left_out;
pub mod reconcile;
pub mod review;

use std::collections::{BTreeMap, HashMap, HashSet};

use super::access::Role;
use super::command::*;
use super::context::{Context, Emitted};
use super::event::*;
use super::rules::RateBook;
use super::state::{Batch, BatchStatus, Entitlement, State};
use super::types::{
    person_of, AccountNumber, BatchId, CommuneCode, EntitlementId, FileId, Month, Principal, Vnd,
};

pub use compute::{compute, BatchPlan};
pub use reconcile::{reconciliation, Reconciliation};

/// blake3 `derive_key` context of a batch's content hash.
pub const BATCH_CONTENT_CONTEXT: &str = "chitra 2026-11-22 batch content v1";

/// The content hash of a batch: blake3 (derive-key mode) over its payment lines in order, each
/// encoded as its `payment_scheduled` event body is stored (the record payload without its
/// leading variant byte). Anyone holding the chain can recompute it (`docs/batches.md`).
pub fn content_hash<'a>(payments: impl IntoIterator<Item = &'a PaymentScheduled>) -> Digest {
    let mut h = blake3::Hasher::new_derive_key(BATCH_CONTENT_CONTEXT);
    let mut buf = Vec::with_capacity(256);
    for p in payments {
        buf.clear();
        super::encoding::encode_into(p, &mut buf);
        h.update(&buf);
    }
    *h.finalize().as_bytes()
}

fn emit(event: Event) -> Emitted {
    Emitted {
        event,
        personal: None,
    }
}

fn known_batch(state: &State, id: BatchId) -> Result<&Batch, Rejection> {
    state
        .batch(id)
        .ok_or_else(|| Rejection::invalid("batch", format!("no batch {id}")))
}

fn in_status(b: &Batch, allowed: &[BatchStatus], doing: &str) -> Result<(), Rejection> {
    if allowed.contains(&b.status) {
        return Ok(());
    }
    Err(Rejection::conflict(format!(
        "cannot {doing} {}: it is {:?}",
        b.opened.batch, b.status
    )))
}

pub fn open(state: &State, ctx: &Context<'_>, c: OpenBatch) -> Result<Vec<Emitted>, Rejection> {
    // The funding account is the debtor account of every bank file: refuse here what a file
    // could not carry, not at release.
    let funding_account = AccountNumber::parse(&c.funding_account)
        .map_err(|e| Rejection::invalid("funding_account", e.reason))?;
    // A list is drawn up at most a month ahead (for month M by the 25th of M-1); a batch for a
    // later month would pay from decisions and rates nobody has made yet.
    let latest = ctx.today.month().next();
    if c.month > latest {
        return Err(Rejection::invalid(
            "month",
            format!(
                "{} is too far ahead: a batch can be opened for {latest} at the latest",
                c.month
            ),
        ));
    }
    let live = |id: &BatchId| {
        state
            .batch(*id)
            .is_some_and(|b| b.status != BatchStatus::Cancelled)
    };
    let same_month = state.batches_of(c.programme, c.month);
    match c.kind {
        BatchKind::Regular => {
            if let Some(id) = same_month.iter().find(|id| {
                live(id)
                    && state
                        .batch(**id)
                        .is_some_and(|b| b.opened.kind == BatchKind::Regular)
            }) {
                return Err(Rejection::conflict(format!(
                    "{} {} already has regular batch {id}; cancel it or open a supplementary batch",
                    c.programme, c.month
                )));
            }
        }
        BatchKind::Supplementary { of } => {
            let base = known_batch(state, of)?;
            let released = matches!(base.status, BatchStatus::Released | BatchStatus::Closed);
            if base.opened.programme != c.programme || base.opened.month != c.month || !released {
                return Err(Rejection::conflict(format!(
                    "a supplementary batch needs the released regular batch of {} {}",
                    c.programme, c.month
                )));
            }
            if let Some(id) = same_month.iter().find(|id| {
                state.batch(**id).is_some_and(|b| {
                    matches!(
                        b.status,
                        BatchStatus::Open | BatchStatus::Computed | BatchStatus::Approved
                    )
                })
            }) {
                return Err(Rejection::conflict(format!(
                    "{id} is still in progress for this month"
                )));
            }
        }
    }
    Ok(vec![emit(Event::BatchOpened(BatchOpened {
        batch: state.next_batch_id(),
        programme: c.programme,
        month: c.month,
        funding_account: funding_account.expose().to_owned(),
        kind: c.kind,
    }))])
}

/// Checks every computed payment against the invariant and appends them with the batch's
/// content hash and control totals.
pub fn compute_batch(state: &State, c: ComputeBatch) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    in_status(b, &[BatchStatus::Open], "compute")?;
    if c.basis_seq > state.applied() {
        return Err(Rejection::invalid(
            "basis_seq",
            "is beyond the end of the chain",
        ));
    }
    let mut claims = Claims::new(state, c.basis_seq);
    let mut recipients = HashSet::new();
    // The lines go straight into the events: a national batch is a million of them, and one
    // copy in memory is enough. Sized for the `BatchComputed` too (a push beyond a full vector
    // doubles it).
    let mut out: Vec<Emitted> = Vec::with_capacity(c.payments.len() + 1);
    // The lines' own vector shrinks as the events' grows.
    let lines = crate::domain::drain::ShrinkingDrain::new(c.payments);
    for (id, p) in (state.next_payment_id().0..).zip(lines) {
        check_payment(state, b, &p, &mut claims, &mut recipients)?;
        out.push(emit(Event::PaymentScheduled(PaymentScheduled {
            payment: super::types::PaymentId(id),
            batch: c.batch,
            beneficiary: p.beneficiary,
            route: p.route,
            amount: p.amount,
            items: p.items,
        })));
    }
    let scheduled = || {
        out.iter().filter_map(|e| match &e.event {
            Event::PaymentScheduled(p) => Some(p),
            _ => None,
        })
    };
    let computed = BatchComputed {
        batch: c.batch,
        basis_seq: c.basis_seq,
        content_hash: content_hash(scheduled()),
        totals: totals(scheduled()),
        by_channel: by_channel(scheduled()),
    };
    out.push(emit(Event::BatchComputed(Box::new(computed))));
    Ok(out)
}

/// What a batch's lines claim, as they are checked: the regular and one-off months claimed, and
/// the arrears added per entitlement and month, which together with what was paid before must
/// never exceed what is due for that month (as known at the computation's basis).
struct Claims<'s> {
    claimed: HashSet<(EntitlementId, Month)>,
    arrears: HashMap<(EntitlementId, Month), Vnd>,
    rates: RateBook<'s>,
    basis: u64,
}

impl<'s> Claims<'s> {
    fn new(state: &'s State, basis: u64) -> Claims<'s> {
        Claims {
            claimed: HashSet::new(),
            arrears: HashMap::new(),
            rates: RateBook::new(state.schedules()),
            basis,
        }
    }

    /// An arrears item pays a month's difference: what was paid for the month, the arrears of
    /// this batch so far and this item must not exceed what is due for it. Arrears are the only
    /// lines the state's claims cannot bound by themselves, so they are priced again here.
    fn check_arrears(
        &mut self,
        state: &State,
        e: &Entitlement,
        item: &PaymentItem,
    ) -> Result<(), String> {
        let month = item.source_month;
        let subject = state
            .beneficiary(e.grant.beneficiary)
            .ok_or_else(|| format!("no beneficiary {}", e.grant.beneficiary))?;
        let ents = super::rules::entitlements_of(state, subject);
        let person = super::rules::Person::of(subject, &ents);
        let due: Vnd = super::rules::due(&person, &self.rates, month, self.basis)
            .map_err(|err| format!("arrears of {} {month} cannot be checked: {err}", e.id()))?
            .iter()
            .filter(|l| l.entitlement == e.id())
            .map(|l| l.amount)
            .sum();
        let added = self.arrears.entry((e.id(), month)).or_insert(Vnd::ZERO);
        let after = e.paid_in(month) + *added + item.amount;
        if after > due {
            return Err(format!(
                "{} {month}: {after} would be paid but {due} is due (arrears pay a difference once)",
                e.id()
            ));
        }
        *added = *added + item.amount;
        Ok(())
    }
}

fn check_payment(
    state: &State,
    batch: &Batch,
    p: &NewPayment,
    claims: &mut Claims<'_>,
    recipients: &mut HashSet<super::types::BeneficiaryId>,
) -> Result<(), Rejection> {
    let who = p.beneficiary;
    let bad = |reason: String| Err(Rejection::conflict(format!("payment to {who}: {reason}")));
    let Some(b) = state.beneficiary(who) else {
        return bad("no such beneficiary".into());
    };
    if !recipients.insert(who) {
        return bad("appears twice in the batch".into());
    }
    if b.hold.is_some() {
        return bad("is held for review".into());
    }
    if b.identity.known().is_none() {
        return bad("personal data was erased".into());
    }
    if b.route != Some(p.route) {
        return bad("the payment route changed since the computation; compute again".into());
    }
    if p.amount.0 <= 0 || p.items.iter().map(|i| i.amount).sum::<Vnd>() != p.amount {
        return bad(format!(
            "amount {} is not the positive sum of its items",
            p.amount
        ));
    }
    // Several items may pay one entitlement's month (an allowance and its supplement); what
    // must not happen is two payments claiming it.
    let mut mine = HashSet::new();
    for item in &p.items {
        check_item(state, batch, who, item, claims).or_else(&bad)?;
        if matches!(item.kind, ItemKind::Regular | ItemKind::OneOff) {
            mine.insert((item.entitlement, item.source_month));
        }
    }
    claims.claimed.extend(mine);
    Ok(())
}

/// One item: its entitlement belongs to the batch's programme and pays this recipient, its
/// month is not after the batch's, a regular or one-off month is not claimed already, and
/// arrears never take a month beyond what is due.
fn check_item(
    state: &State,
    batch: &Batch,
    who: super::types::BeneficiaryId,
    item: &PaymentItem,
    claims: &mut Claims<'_>,
) -> Result<(), String> {
    let Some(e) = state.entitlement(item.entitlement) else {
        return Err(format!("no entitlement {}", item.entitlement));
    };
    if e.grant.programme != batch.opened.programme {
        return Err(format!(
            "{} is not a {} entitlement",
            e.id(),
            batch.opened.programme
        ));
    }
    if e.grant.payee.unwrap_or(e.grant.beneficiary) != who {
        return Err(format!("{} is not paid to this beneficiary", e.id()));
    }
    if item.source_month > batch.opened.month {
        return Err(format!(
            "{} pays {} ahead of the batch month",
            e.id(),
            item.source_month
        ));
    }
    let sign_ok = match item.kind {
        ItemKind::Recovery => item.amount.is_negative(),
        _ => item.amount.0 > 0,
    };
    if !sign_ok {
        return Err(format!(
            "{:?} item of {} has the wrong sign",
            item.kind, item.amount
        ));
    }
    if matches!(item.kind, ItemKind::Regular | ItemKind::OneOff) {
        let key = (e.id(), item.source_month);
        if e.paid_in(item.source_month) != Vnd::ZERO || claims.claimed.contains(&key) {
            return Err(format!(
                "{} {} is already paid (no month is paid twice)",
                e.id(),
                item.source_month
            ));
        }
    }
    if item.kind == ItemKind::Arrears {
        claims.check_arrears(state, e, item)?;
    }
    Ok(())
}

pub fn totals<'a>(payments: impl IntoIterator<Item = &'a PaymentScheduled>) -> ControlTotals {
    let mut t = ControlTotals::default();
    for p in payments {
        t.add(p.amount);
    }
    t
}

/// Where a route's money goes.
pub fn channel(route: &Route) -> Channel {
    match route {
        Route::Bank { bin } => Channel::Bank(*bin),
        Route::Cash { .. } => Channel::Cash,
    }
}

fn by_channel<'a>(
    payments: impl IntoIterator<Item = &'a PaymentScheduled>,
) -> Vec<(Channel, ControlTotals)> {
    let mut map = std::collections::BTreeMap::<Channel, ControlTotals>::new();
    for p in payments {
        map.entry(channel(&p.route)).or_default().add(p.amount);
    }
    map.into_iter().collect()
}

pub fn approve(
    state: &State,
    ctx: &Context<'_>,
    c: ApproveBatch,
) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    in_status(b, &[BatchStatus::Computed], "approve")?;
    if computed_by_same_person(b, ctx) {
        return Err(Rejection::NotAllowed {
            reason: format!(
                "{} computed {} (as {}); a different person must approve it",
                ctx.principal.person(),
                c.batch,
                b.computed_by.as_deref().unwrap_or_default()
            ),
        });
    }
    let computed = b
        .computed
        .as_ref()
        .expect("a computed batch has its computation");
    if computed.content_hash != c.content_hash || computed.totals != c.totals {
        return Err(Rejection::conflict(format!(
            "{} is not the content you reviewed (its hash or totals differ); review it again",
            c.batch
        )));
    }
    // The approval reserves the total against the programme's allocation (`domain::funds`).
    let (programme, month) = (b.opened.programme, b.opened.month);
    super::funds::check_approval(state, programme, month, c.totals.sum)?;
    Ok(vec![emit(Event::BatchApproved(BatchApproved {
        batch: c.batch,
        content_hash: c.content_hash,
        totals: c.totals,
    }))])
}

/// Four eyes compares persons: `maker:hoa` and `checker:hoa` are the same person.
fn computed_by_same_person(b: &Batch, ctx: &Context<'_>) -> bool {
    b.computed_by
        .as_deref()
        .is_some_and(|maker| person_of(maker) == ctx.principal.person())
}

/// Releases the batch and records every one of its payment files, in one step. The files must
/// carry exactly what was approved: one pain.001 and one CSV per bank and one cash list per
/// pay point, each with the control totals of its share of the batch.
pub fn release(
    state: &State,
    ctx: &Context<'_>,
    c: ReleaseBatch,
) -> Result<Vec<Emitted>, Rejection> {
    let b = releasable(state, c.batch)?;
    if computed_by_same_person(b, ctx) {
        return Err(Rejection::NotAllowed {
            reason: format!(
                "{} computed {}; a different person must release it",
                ctx.principal.person(),
                c.batch
            ),
        });
    }
    let computed = b.computed.as_ref().expect("an approved batch was computed");
    files_cover_the_batch(state, b, &c.files)?;
    let mut out = Vec::with_capacity(1 + c.files.len());
    out.push(emit(Event::BatchReleased(BatchReleased {
        batch: c.batch,
        content_hash: computed.content_hash,
    })));
    let first = state.next_file_id().0;
    for (id, f) in (first..).zip(c.files) {
        out.push(emit(Event::PaymentFileIssued(Box::new(
            PaymentFileIssued {
                file: FileId(id),
                batch: c.batch,
                channel: f.channel,
                pay_point: f.pay_point,
                format: f.format,
                name: f.name,
                digest: f.digest,
                bytes: f.bytes,
                totals: f.totals,
            },
        ))));
    }
    Ok(out)
}

/// Where one file's lines go: a bank with a format, or a pay point's cash list.
type FileSlot = (Channel, Option<CommuneCode>, FileFormat);

/// The files a release needs, each with the totals it must carry: per bank a pain.001 and a
/// CSV of the same lines, per pay point a cash list.
fn expected_files(state: &State, b: &Batch) -> BTreeMap<FileSlot, ControlTotals> {
    let mut out = BTreeMap::new();
    for p in b.payments.iter().filter_map(|id| state.payment(id)) {
        let slots: &[FileSlot] = &match p.route {
            Route::Bank { bin } => [
                (Channel::Bank(bin), None, FileFormat::Pain001V09),
                (Channel::Bank(bin), None, FileFormat::Csv),
            ],
            Route::Cash { pay_point } => [
                (Channel::Cash, Some(pay_point), FileFormat::CashList),
                (Channel::Cash, Some(pay_point), FileFormat::CashList),
            ],
        };
        let distinct = if slots[0] == slots[1] { 1 } else { 2 };
        for slot in &slots[..distinct] {
            out.entry(*slot)
                .or_insert_with(ControlTotals::default)
                .add(p.amount);
        }
    }
    out
}

fn files_cover_the_batch(
    state: &State,
    b: &Batch,
    files: &[NewPaymentFile],
) -> Result<(), Rejection> {
    let mut expected = expected_files(state, b);
    let mut names = HashSet::new();
    for f in files {
        let slot = (f.channel, f.pay_point, f.format);
        let bad = |reason: String| Err(Rejection::invalid("files", reason));
        if f.name.is_empty() || !names.insert(f.name.as_str()) {
            return bad(format!("file name {:?} is empty or repeated", f.name));
        }
        match expected.remove(&slot) {
            None => return bad(format!("{} is not a file this batch needs", f.name)),
            Some(t) if t != f.totals => {
                return bad(format!(
                    "{} carries {} payments of {} VND; its share of the batch is {} of {} VND",
                    f.name, f.totals.count, f.totals.sum, t.count, t.sum
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(((channel, pay_point, format), _)) = expected.into_iter().next() {
        return Err(Rejection::invalid(
            "files",
            format!("the {format:?} file for {channel:?} {pay_point:?} is missing"),
        ));
    }
    Ok(())
}

/// The batch, when it may be released now: approved, its approval still covering what was
/// computed, and no payee's route, account or identity changed (nor a hold placed) since the
/// computation. The workflow asks this before building files; `release` asks it again.
pub fn releasable(state: &State, batch: BatchId) -> Result<&Batch, Rejection> {
    let b = known_batch(state, batch)?;
    in_status(b, &[BatchStatus::Approved], "release")?;
    let computed = b.computed.as_ref().expect("an approved batch was computed");
    let approved = b
        .approved
        .as_ref()
        .expect("an approved batch has its approval");
    if approved.content_hash != computed.content_hash || approved.totals != computed.totals {
        return Err(Rejection::conflict(format!(
            "{batch} changed after its approval"
        )));
    }
    unchanged_since_computed(state, b, computed.basis_seq)?;
    Ok(b)
}

/// Money must not go to a route or account that changed after the computation, nor to a person
/// held for review since: the batch is cancelled and computed again instead.
fn unchanged_since_computed(state: &State, b: &Batch, basis_seq: u64) -> Result<(), Rejection> {
    for p in b.payments.iter().filter_map(|id| state.payment(id)) {
        let who = p.beneficiary();
        let person = state
            .beneficiary(who)
            .expect("a payment's beneficiary exists");
        let batch = b.opened.batch;
        if person.route_seq >= basis_seq || person.route != Some(p.route) {
            return Err(Rejection::conflict(format!(
                "{who}'s payment route changed after {batch} was computed; cancel it and compute again"
            )));
        }
        if person.hold.is_some() {
            return Err(Rejection::conflict(format!(
                "{who} was held for review after {batch} was computed; cancel it and compute again"
            )));
        }
    }
    Ok(())
}

pub fn cancel(state: &State, c: CancelBatch) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    // A batch recorded as released without any file (possible before release and its files
    // became one step) never reached a bank, so it may still be cancelled.
    if !(b.status == BatchStatus::Released && b.files.is_empty()) {
        let allowed = [
            BatchStatus::Open,
            BatchStatus::Computed,
            BatchStatus::Approved,
        ];
        in_status(b, &allowed, "cancel (only before release)")?;
    }
    if c.reason.trim().is_empty() {
        return Err(Rejection::invalid("reason", "must not be empty"));
    }
    Ok(vec![emit(Event::BatchCancelled(BatchCancelled {
        batch: c.batch,
        reason: c.reason,
    }))])
}

pub fn close(state: &State, c: CloseBatch) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    in_status(b, &[BatchStatus::Released], "close")?;
    let r = reconciliation(state, c.batch).expect("the batch exists");
    if r.outstanding.count > 0 || r.breaks_open > 0 {
        return Err(Rejection::conflict(format!(
            "{} cannot close: {} payments ({} VND) have no bank status yet and {} breaks are unexplained",
            c.batch, r.outstanding.count, r.outstanding.sum, r.breaks_open
        )));
    }
    Ok(vec![emit(Event::BatchClosed(BatchClosed {
        batch: c.batch,
        released: r.released,
        settled: r.settled,
        returned: r.returned,
    }))])
}

pub fn record_download(
    state: &State,
    ctx: &Context<'_>,
    c: RecordFileDownload,
) -> Result<Vec<Emitted>, Rejection> {
    let f = file_for(state, ctx.principal, c.file)
        .ok_or_else(|| Rejection::invalid("file", format!("no file {}", c.file)))?;
    if f.issued.digest != c.digest {
        return Err(Rejection::conflict(format!(
            "{} as stored does not match its issued hash; do not send it",
            c.file
        )));
    }
    Ok(vec![emit(Event::PaymentFileDownloaded(
        PaymentFileDownloaded {
            file: c.file,
            digest: c.digest,
        },
    ))])
}

/// A payment file, if `who` may see it (a bank sees only its own).
pub fn file_for<'s>(
    state: &'s State,
    who: &Principal,
    file: FileId,
) -> Option<&'s crate::domain::state::IssuedFile> {
    state
        .file(file)
        .filter(|f| visible_to(who, f.issued.channel))
}

/// A bank sees only what goes through it; everyone else who may act on files sees them all.
pub fn visible_to(who: &Principal, channel: Channel) -> bool {
    match who.role() {
        Role::Bank => who.bank_bin().map(Channel::Bank) == Some(channel),
        _ => true,
    }
}

pub fn resolve_break(state: &State, c: ResolveBreak) -> Result<Vec<Emitted>, Rejection> {
    let b = state
        .breaks()
        .iter()
        .find(|b| b.seq == c.break_seq)
        .ok_or_else(|| {
            Rejection::invalid("break_seq", format!("no break at seq {}", c.break_seq))
        })?;
    if b.resolved.is_some() {
        return Err(Rejection::conflict(format!(
            "the break at seq {} is already resolved",
            c.break_seq
        )));
    }
    if c.note.trim().is_empty() {
        return Err(Rejection::invalid(
            "note",
            "say how the break was explained",
        ));
    }
    Ok(vec![emit(Event::ReconciliationBreakResolved(
        ReconciliationBreakResolved {
            break_seq: c.break_seq,
            note: c.note,
        },
    ))])
}

/// The payment files a release of `batch` must carry: where each goes (a bank, or a pay
/// point's cash list), its format, and the control totals of its share of the batch, in a
/// stable order. Empty for a batch with no payments. A caller that writes no bytes (the tests'
/// pure harness) builds its `ReleaseBatch` from this; `release` checks the files against the
/// same list.
pub fn files_needed(
    state: &State,
    batch: &Batch,
) -> Vec<(Channel, Option<CommuneCode>, FileFormat, ControlTotals)> {
    expected_files(state, batch)
        .into_iter()
        .map(|((channel, pay_point, format), totals)| (channel, pay_point, format, totals))
        .collect()
}
