//! Bank status and reconciliation. Every line of a status report becomes a settled or returned
//! event, or a typed reconciliation break; nothing is silently ignored. A report already
//! ingested (same file digest) appends nothing. A "beneficiary deceased" return (MD07) holds the
//! person for review, which keeps them out of the next batch until a decision clears the hold.

use std::collections::HashMap;

use crate::domain::command::{IngestStatusReport, Rejection, ReportedLine, ReportedOutcome};
use crate::domain::decide::Emitted;
use crate::domain::event::*;
use crate::domain::state::{BatchStatus, Payment, PaymentStatus, State};
use crate::domain::types::{BatchId, PaymentId};

use super::{channel, emit};

/// The ISO 20022 reason code for "end customer deceased".
pub const REASON_DECEASED: &str = "MD07";

/// The most lines one status report may carry.
pub const STATUS_REPORT_LINES_MAX: usize = 2_000_000;

pub fn ingest(state: &State, c: IngestStatusReport) -> Result<Vec<Emitted>, Rejection> {
    if state.has_status_report(&c.digest) {
        return Ok(Vec::new());
    }
    if c.lines.len() > STATUS_REPORT_LINES_MAX {
        return Err(Rejection::invalid(
            "lines",
            format!("more than {STATUS_REPORT_LINES_MAX} lines"),
        ));
    }
    let mut out = Vec::with_capacity(c.lines.len() + 1);
    out.push(emit(Event::StatusReportIngested(StatusReportIngested {
        digest: c.digest,
        channel: c.channel,
        format: c.format,
        message_id: c.message_id,
        lines: c.lines.len() as u64,
    })));
    // Outcomes decided earlier in this same report, so a payment reported twice is caught.
    let mut seen: HashMap<PaymentId, &ReportedOutcome> = HashMap::new();
    for line in &c.lines {
        line_events(state, c.channel, c.digest, line, &mut seen, &mut out);
    }
    Ok(out)
}

fn line_events<'a>(
    state: &State,
    report_channel: Channel,
    report: Digest,
    line: &'a ReportedLine,
    seen: &mut HashMap<PaymentId, &'a ReportedOutcome>,
    out: &mut Vec<Emitted>,
) {
    let brk = |batch: Option<BatchId>, kind: BreakKind| {
        emit(Event::ReconciliationBreakRecorded(
            ReconciliationBreakRecorded {
                batch,
                report,
                kind,
            },
        ))
    };
    let found = PaymentId::parse(&line.end_to_end_id)
        .ok()
        .and_then(|id| state.payment(id).map(|p| (id, p)));
    let Some((id, p)) = found else {
        out.push(brk(
            None,
            BreakKind::UnknownEndToEndId {
                end_to_end_id: line.end_to_end_id.chars().take(35).collect(),
            },
        ));
        return;
    };
    let batch = Some(p.scheduled.batch);
    if let Some(kind) = mismatch(state, report_channel, id, p, line) {
        out.push(brk(batch, kind));
        return;
    }
    if let Some(earlier) = seen.insert(id, &line.outcome) {
        if earlier != &line.outcome {
            out.push(brk(batch, BreakKind::ConflictingStatus { payment: id }));
        }
        return;
    }
    match (&line.outcome, p.status) {
        (ReportedOutcome::Pending, _) => {}
        (ReportedOutcome::Settled, PaymentStatus::Scheduled) => {
            out.push(emit(Event::PaymentSettled(PaymentSettled {
                payment: id,
                report,
            })));
        }
        (ReportedOutcome::Rejected { reason_code }, PaymentStatus::Scheduled) => {
            returned(state, id, p, reason_code, report, out);
        }
        // Reported again, the same way, in another file: nothing new.
        (ReportedOutcome::Settled, PaymentStatus::Settled) => {}
        (ReportedOutcome::Rejected { reason_code }, PaymentStatus::Returned)
            if p.return_reason.as_deref() == Some(reason_code) => {}
        _ => out.push(brk(batch, BreakKind::ConflictingStatus { payment: id })),
    }
}

/// A line that does not fit the payment it names.
fn mismatch(
    state: &State,
    report_channel: Channel,
    id: PaymentId,
    p: &Payment,
    line: &ReportedLine,
) -> Option<BreakKind> {
    let released = state
        .batch(p.scheduled.batch)
        .is_some_and(|b| matches!(b.status, BatchStatus::Released | BatchStatus::Closed));
    if !released || p.status == PaymentStatus::Cancelled {
        return Some(BreakKind::NotReleased { payment: id });
    }
    let payment_channel = channel(&p.scheduled.route);
    if payment_channel != report_channel {
        return Some(BreakKind::WrongBank {
            payment: id,
            payment_bank: payment_channel,
        });
    }
    match line.amount {
        Some(reported) if reported != p.scheduled.amount => Some(BreakKind::AmountMismatch {
            payment: id,
            expected: p.scheduled.amount,
            reported,
        }),
        _ => None,
    }
}

fn returned(
    state: &State,
    id: PaymentId,
    p: &Payment,
    reason: &str,
    report: Digest,
    out: &mut Vec<Emitted>,
) {
    out.push(emit(Event::PaymentReturned(PaymentReturned {
        payment: id,
        reason_code: reason.to_owned(),
        report,
    })));
    let who = p.scheduled.beneficiary;
    let already_held = state.beneficiary(who).is_some_and(|b| b.hold.is_some());
    if reason == REASON_DECEASED && !already_held {
        out.push(emit(Event::BeneficiaryHeldForReview(
            BeneficiaryHeldForReview {
                beneficiary: who,
                reason: HoldReason::DeceasedReturn { payment: id },
            },
        )));
    }
}

/// Where a released batch stands: what went out, what the banks confirmed or returned, what is
/// still outstanding, and the breaks. `released = settled + returned + outstanding` always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Reconciliation {
    pub released: ControlTotals,
    pub settled: ControlTotals,
    pub returned: ControlTotals,
    pub outstanding: ControlTotals,
    pub breaks: u64,
    pub breaks_open: u64,
}

pub fn reconciliation(state: &State, batch: BatchId) -> Option<Reconciliation> {
    let b = state.batch(batch)?;
    let mut r = Reconciliation::default();
    let released = matches!(b.status, BatchStatus::Released | BatchStatus::Closed);
    for p in b.payments.iter().filter_map(|id| state.payment(*id)) {
        if !released {
            continue;
        }
        let amount = p.scheduled.amount;
        r.released.add(amount);
        match p.status {
            PaymentStatus::Settled => r.settled.add(amount),
            PaymentStatus::Returned => r.returned.add(amount),
            PaymentStatus::Scheduled => r.outstanding.add(amount),
            PaymentStatus::Cancelled => {}
        }
    }
    for brk in state
        .breaks()
        .iter()
        .filter(|x| x.recorded.batch == Some(batch))
    {
        r.breaks += 1;
        r.breaks_open += u64::from(brk.resolved.is_none());
    }
    debug_assert_eq!(
        r.released.sum,
        r.settled.sum + r.returned.sum + r.outstanding.sum,
        "reconciliation must add up"
    );
    Some(r)
}
