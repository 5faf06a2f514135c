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
pub mod reconcile;
pub mod review;

use std::collections::HashSet;

use super::command::*;
use super::decide::{Context, Emitted};
use super::event::*;
use super::state::{Batch, BatchStatus, State};
use super::types::{BatchId, Vnd};

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
        crate::codec::encode_value(p, &mut buf);
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

pub fn open(state: &State, c: OpenBatch) -> Result<Vec<Emitted>, Rejection> {
    if c.funding_account.trim().is_empty() || c.funding_account.len() > 64 {
        return Err(Rejection::invalid(
            "funding_account",
            "must be 1-64 characters",
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
        funding_account: c.funding_account,
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
    let mut claimed = HashSet::new();
    let mut recipients = HashSet::new();
    let mut scheduled = Vec::with_capacity(c.payments.len());
    for (id, p) in (state.next_payment_id().0..).zip(c.payments) {
        check_payment(state, b, &p, &mut claimed, &mut recipients)?;
        scheduled.push(PaymentScheduled {
            payment: super::types::PaymentId(id),
            batch: c.batch,
            beneficiary: p.beneficiary,
            route: p.route,
            amount: p.amount,
            items: p.items,
        });
    }
    let computed = BatchComputed {
        batch: c.batch,
        basis_seq: c.basis_seq,
        content_hash: content_hash(&scheduled),
        totals: totals(&scheduled),
        by_channel: by_channel(&scheduled),
    };
    let mut out: Vec<Emitted> = scheduled
        .into_iter()
        .map(|p| emit(Event::PaymentScheduled(p)))
        .collect();
    out.push(emit(Event::BatchComputed(computed)));
    Ok(out)
}

fn check_payment(
    state: &State,
    batch: &Batch,
    p: &NewPayment,
    claimed: &mut HashSet<(super::types::EntitlementId, super::types::Month)>,
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
        check_item(state, batch, who, item, claimed).or_else(&bad)?;
        if matches!(item.kind, ItemKind::Regular | ItemKind::OneOff) {
            mine.insert((item.entitlement, item.source_month));
        }
    }
    claimed.extend(mine);
    Ok(())
}

/// One item: its entitlement belongs to the batch's programme and pays this recipient, its
/// month is not after the batch's, and a regular or one-off month is not claimed already.
fn check_item(
    state: &State,
    batch: &Batch,
    who: super::types::BeneficiaryId,
    item: &PaymentItem,
    claimed: &HashSet<(super::types::EntitlementId, super::types::Month)>,
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
        if e.paid_in(item.source_month) != Vnd::ZERO || claimed.contains(&key) {
            return Err(format!(
                "{} {} is already paid (no month is paid twice)",
                e.id(),
                item.source_month
            ));
        }
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

fn by_channel(payments: &[PaymentScheduled]) -> Vec<(Channel, ControlTotals)> {
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
    if b.computed_by.as_deref() == Some(ctx.principal) {
        return Err(Rejection::NotAllowed {
            reason: format!(
                "{} computed {}; a different person must approve it",
                ctx.principal, c.batch
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
    Ok(vec![emit(Event::BatchApproved(BatchApproved {
        batch: c.batch,
        content_hash: c.content_hash,
        totals: c.totals,
    }))])
}

pub fn release(state: &State, c: ReleaseBatch) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    in_status(b, &[BatchStatus::Approved], "release")?;
    let computed = b.computed.as_ref().expect("an approved batch was computed");
    let approved = b
        .approved
        .as_ref()
        .expect("an approved batch has its approval");
    if approved.content_hash != computed.content_hash || approved.totals != computed.totals {
        return Err(Rejection::conflict(format!(
            "{} changed after its approval",
            c.batch
        )));
    }
    unchanged_since_computed(state, b, computed.basis_seq)?;
    Ok(vec![emit(Event::BatchReleased(BatchReleased {
        batch: c.batch,
        content_hash: computed.content_hash,
    }))])
}

/// Money must not go to a route or account that changed after the computation, nor to a person
/// held for review since: the batch is cancelled and computed again instead.
fn unchanged_since_computed(state: &State, b: &Batch, basis_seq: u64) -> Result<(), Rejection> {
    for p in b.payments.iter().filter_map(|id| state.payment(*id)) {
        let who = p.scheduled.beneficiary;
        let person = state
            .beneficiary(who)
            .expect("a payment's beneficiary exists");
        let batch = b.opened.batch;
        if person.route_seq >= basis_seq || person.route != Some(p.scheduled.route) {
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
    let allowed = [
        BatchStatus::Open,
        BatchStatus::Computed,
        BatchStatus::Approved,
    ];
    in_status(b, &allowed, "cancel (only before release)")?;
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

pub fn issue_file(state: &State, c: IssuePaymentFile) -> Result<Vec<Emitted>, Rejection> {
    let b = known_batch(state, c.batch)?;
    in_status(
        b,
        &[BatchStatus::Released, BatchStatus::Closed],
        "issue files for",
    )?;
    let same = b.files.iter().filter_map(|f| state.file(*f)).find(|f| {
        let i = &f.issued;
        i.channel == c.channel && i.pay_point == c.pay_point && i.format == c.format
    });
    if let Some(existing) = same {
        return if existing.issued.digest == c.digest {
            Ok(Vec::new())
        } else {
            Err(Rejection::conflict(format!(
                "{} was already issued for this bank and format with other content",
                existing.issued.file
            )))
        };
    }
    Ok(vec![emit(Event::PaymentFileIssued(PaymentFileIssued {
        file: state.next_file_id(),
        batch: c.batch,
        channel: c.channel,
        pay_point: c.pay_point,
        format: c.format,
        name: c.name,
        digest: c.digest,
        bytes: c.bytes,
        totals: c.totals,
    }))])
}

pub fn record_download(state: &State, c: RecordFileDownload) -> Result<Vec<Emitted>, Rejection> {
    let f = state
        .file(c.file)
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
