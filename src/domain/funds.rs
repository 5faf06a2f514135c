//! Funds per programme and period (issue 12): the State Treasury's allocations, recorded with
//! their decision, and what remains of them. A batch reserves its total against the allocation
//! covering its month when it is approved, and cannot be approved beyond what remains;
//! payments returned come back; a cancelled batch reserves nothing. Once a programme has an
//! allocation, every approval of that programme needs one covering its month; a programme
//! without any allocation is not tracked (the ledger learns of funds when they are recorded).

use serde::Serialize;

use super::command::Rejection;
use super::context::{Context, Emitted};
use super::event::{Event, FundsAllocated};
use super::state::{Batch, BatchStatus, PaymentStatus, State};
use super::types::{Month, Programme, Vnd};

/// One period of a programme's funds: allocated, reserved by approved batches, paid, returned,
/// and what remains.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FundsBalance {
    pub programme: Programme,
    pub from: Month,
    pub to: Month,
    /// The allocation decisions' numbers, in the order recorded.
    pub decisions: Vec<String>,
    pub allocated: Vnd,
    /// Totals of the batches approved (not cancelled) for months of the period.
    pub reserved: Vnd,
    /// Of those, in batches released.
    pub paid: Vnd,
    /// Payments returned (they come back to the allocation).
    pub returned: Vnd,
    /// allocated − reserved + returned.
    pub remaining: Vnd,
    /// Batches of the period approved but not yet closed: while any is open, paid and returned
    /// may still change (a bank's report or a return is still to come). With none, the period
    /// is closed and these are its final figures.
    pub batches_open: u32,
}

/// Every period of every programme, in the order first allocated.
pub fn balances(state: &State) -> Vec<FundsBalance> {
    let mut out: Vec<FundsBalance> = Vec::new();
    for a in state.allocations() {
        match out
            .iter_mut()
            .find(|b| b.programme == a.programme && b.from == a.from && b.to == a.to)
        {
            Some(b) => {
                b.allocated = b.allocated + a.amount;
                b.decisions.push(a.decision.number.clone());
            }
            None => out.push(FundsBalance {
                programme: a.programme,
                from: a.from,
                to: a.to,
                decisions: vec![a.decision.number.clone()],
                allocated: a.amount,
                reserved: Vnd::ZERO,
                paid: Vnd::ZERO,
                returned: Vnd::ZERO,
                remaining: Vnd::ZERO,
                batches_open: 0,
            }),
        }
    }
    for b in &mut out {
        let (programme, from, to) = (b.programme, b.from, b.to);
        let drawing = state
            .batches()
            .iter()
            .filter(|x| draws_on(x, programme, from, to));
        for batch in drawing {
            let total = batch.approved.as_ref().map_or(Vnd::ZERO, |a| a.totals.sum);
            b.reserved = b.reserved + total;
            if matches!(batch.status, BatchStatus::Released | BatchStatus::Closed) {
                b.paid = b.paid + total;
            }
            if batch.status != BatchStatus::Closed {
                b.batches_open += 1;
            }
            for p in batch.payments.iter().filter_map(|id| state.payment(id)) {
                if p.status == PaymentStatus::Returned {
                    b.returned = b.returned + p.amount;
                }
            }
        }
        b.paid = Vnd(b.paid.0 - b.returned.0);
        b.remaining = Vnd(b.allocated.0 - b.reserved.0 + b.returned.0);
    }
    out
}

/// The periods that overlap the months `from..=to`: the close of a period, per programme
/// (allocated, paid, returned, remaining, and whether any batch is still open).
pub fn period(state: &State, from: Month, to: Month) -> Vec<FundsBalance> {
    let mut out = balances(state);
    out.retain(|b| b.from <= to && from <= b.to);
    out
}

/// Whether a batch's approval reserves against this period.
fn draws_on(batch: &Batch, programme: Programme, from: Month, to: Month) -> bool {
    let o = &batch.opened;
    o.programme == programme
        && (from..=to).contains(&o.month)
        && batch.approved.is_some()
        && batch.status != BatchStatus::Cancelled
}

/// Refuses an approval of `total` for a batch of `programme` and `month` beyond what remains.
pub fn check_approval(
    state: &State,
    programme: Programme,
    month: Month,
    total: Vnd,
) -> Result<(), Rejection> {
    let all = balances(state);
    let mine: Vec<&FundsBalance> = all.iter().filter(|b| b.programme == programme).collect();
    if mine.is_empty() {
        return Ok(());
    }
    let Some(b) = mine.iter().find(|b| (b.from..=b.to).contains(&month)) else {
        return Err(Rejection::conflict(format!(
            "no {programme} allocation covers {month}: record the Treasury's allocation first"
        )));
    };
    if total > b.remaining {
        return Err(Rejection::conflict(format!(
            "the batch total {total} VND exceeds what remains of the {programme} allocation for {}..{}: {} VND",
            b.from, b.to, b.remaining
        )));
    }
    Ok(())
}

/// Records an allocation. Refused: a period that ends before it starts, no amount, a period
/// overlapping another period of the programme (top-ups name the same period).
pub fn allocate(
    state: &State,
    ctx: &Context<'_>,
    c: FundsAllocated,
) -> Result<Vec<Emitted>, Rejection> {
    if c.to < c.from {
        return Err(Rejection::invalid("to", "the period ends before it starts"));
    }
    if c.amount.0 <= 0 {
        return Err(Rejection::invalid("amount", "must be more than 0"));
    }
    for (field, value) in [
        ("decision.number", &c.decision.number),
        ("decision.signer", &c.decision.signer),
    ] {
        super::text::check(value, 1).map_err(|p| Rejection::invalid(field, p.to_string()))?;
    }
    if c.decision.date > ctx.today {
        return Err(Rejection::invalid("decision.date", "is in the future"));
    }
    let overlapping = state.allocations().iter().find(|a| {
        a.programme == c.programme
            && (a.from, a.to) != (c.from, c.to)
            && a.from <= c.to
            && c.from <= a.to
    });
    if let Some(a) = overlapping {
        return Err(Rejection::conflict(format!(
            "{}..{} overlaps the {} allocation for {}..{} (decision {}); a top-up names the same period",
            c.from, c.to, a.programme, a.from, a.to, a.decision.number
        )));
    }
    Ok(vec![Emitted::plain(Event::FundsAllocated(Box::new(c)))])
}
