//! Bank status and reconciliation. Every line of a status report becomes a settled or returned
//! event, or a typed reconciliation break; nothing is silently ignored. A report already
//! ingested (same file digest) appends nothing; a report reusing an ingested message id with
//! other content is refused. A report can touch only payments of the bank whose file it
//! answers: any other line refuses the whole report. A "beneficiary deceased" return (MD07) holds the
//! person for review, which keeps them out of the next batch until a decision clears the hold.

use std::collections::HashMap;

use crate::domain::access::Role;
use crate::domain::command::{IngestStatusReport, Rejection, ReportedLine, ReportedOutcome};
use crate::domain::context::{Context, Emitted};
use crate::domain::event::*;
use crate::domain::state::{BatchStatus, IssuedFile, Payment, PaymentStatus, State};
use crate::domain::types::{BatchId, PaymentId};

use super::{emit, file_for};

/// The ISO 20022 reason code for "end customer deceased".
pub const REASON_DECEASED: &str = "MD07";

/// The most lines one status report may carry.
pub const STATUS_REPORT_LINES_MAX: usize = 2_000_000;

pub fn ingest(
    state: &State,
    ctx: &Context<'_>,
    c: IngestStatusReport,
) -> Result<Vec<Emitted>, Rejection> {
    let file = file_for(state, ctx.principal, c.file).ok_or(Rejection::UnknownReport)?;
    let channel = file.issued.channel;
    if state.has_status_report(&c.digest) {
        return Ok(Vec::new());
    }
    if state.status_report_id(channel, &c.message_id).is_some() {
        return Err(Rejection::conflict(format!(
            "status report {:?} was already ingested with other content; a corrected report \
             needs a new message id",
            c.message_id
        )));
    }
    if c.lines.len() > STATUS_REPORT_LINES_MAX {
        return Err(Rejection::invalid(
            "lines",
            format!("more than {STATUS_REPORT_LINES_MAX} lines"),
        ));
    }
    let lines = match (&c.file_rejected, c.lines.is_empty()) {
        (Some(reason), true) => whole_file_rejected(state, file, reason),
        _ => c.lines,
    };
    // Every line is checked before anything is decided: one line about a payment that is not
    // this bank's refuses the whole report, which then appends nothing.
    let targets = lines
        .iter()
        .enumerate()
        .map(|(i, line)| target(state, ctx, channel, i, line))
        .collect::<Result<Vec<_>, _>>()?;
    let mut out = Vec::with_capacity(lines.len() + 1);
    out.push(emit(Event::StatusReportIngested(Box::new(
        StatusReportIngested {
            digest: c.digest,
            channel,
            format: c.format,
            message_id: c.message_id,
            lines: lines.len() as u64,
        },
    ))));
    // Outcomes decided earlier in this same report, so a payment reported twice is caught.
    let mut seen: HashMap<PaymentId, &ReportedOutcome> = HashMap::new();
    for (line, found) in lines.iter().zip(targets) {
        line_events(state, c.digest, line, found, &mut seen, &mut out);
    }
    Ok(out)
}

/// A whole file rejected (`GrpSts` RJCT, no line listed): every payment it carried comes back
/// with the group's reason.
fn whole_file_rejected(state: &State, file: &IssuedFile, reason: &str) -> Vec<ReportedLine> {
    let Some(batch) = state.batch(file.issued.batch) else {
        return Vec::new();
    };
    batch
        .payments
        .iter()
        .filter_map(|id| state.payment(id).map(|p| (id, p)))
        .filter(|(_, p)| in_file(p, file))
        .map(|(id, _)| ReportedLine {
            end_to_end_id: id.to_string(),
            outcome: ReportedOutcome::Rejected {
                reason_code: reason.to_owned(),
            },
            amount: None,
        })
        .collect()
}

/// Whether a payment is one of the lines of a file.
fn in_file(p: &Payment, file: &IssuedFile) -> bool {
    match p.route {
        Route::Bank { bin } => file.issued.channel == Channel::Bank(bin),
        Route::Cash { pay_point } => {
            file.issued.channel == Channel::Cash && file.issued.pay_point == Some(pay_point)
        }
    }
}

/// What one line is about: one of the report's bank's payments, or (for a report not uploaded
/// by a bank) an id the ledger does not know, which becomes a break. A line about another
/// bank's payment refuses the report; a bank is told the same for an id that does not exist
/// or is not yet released, so it learns nothing about payments that are not its own.
fn target(
    state: &State,
    ctx: &Context<'_>,
    channel: Channel,
    index: usize,
    line: &ReportedLine,
) -> Result<Option<(PaymentId, Payment)>, Rejection> {
    let found = PaymentId::parse(&line.end_to_end_id)
        .ok()
        .and_then(|id| state.payment(id).map(|p| (id, p)));
    let ours = found.is_some_and(|(_, p)| super::channel(&p.route) == channel);
    let issued =
        found.is_some_and(|(_, p)| state.batch(p.batch()).is_some_and(|b| !b.files.is_empty()));
    let by_bank = ctx.principal.role() == Role::Bank;
    if (found.is_some() && !ours) || (by_bank && !(ours && issued)) {
        return Err(Rejection::invalid(
            format!("lines[{index}]"),
            format!(
                "{:?} is not a payment in a file issued to {}",
                line.end_to_end_id.chars().take(35).collect::<String>(),
                channel_name(channel)
            ),
        ));
    }
    Ok(found)
}

fn channel_name(channel: Channel) -> String {
    match channel {
        Channel::Bank(bin) => format!("bank {bin}"),
        Channel::Cash => "the cash pay points".to_owned(),
    }
}

fn line_events<'a>(
    state: &State,
    report: Digest,
    line: &'a ReportedLine,
    found: Option<(PaymentId, Payment)>,
    seen: &mut HashMap<PaymentId, &'a ReportedOutcome>,
    out: &mut Vec<Emitted>,
) {
    let brk = |batch: Option<BatchId>, kind: BreakKind| {
        emit(Event::ReconciliationBreakRecorded(Box::new(
            ReconciliationBreakRecorded {
                batch,
                report,
                kind,
            },
        )))
    };
    let Some((id, p)) = found else {
        out.push(brk(
            None,
            BreakKind::UnknownEndToEndId {
                end_to_end_id: line.end_to_end_id.chars().take(35).collect(),
            },
        ));
        return;
    };
    let batch = Some(p.batch());
    if let Some(kind) = mismatch(state, id, &p, line) {
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
        // A payment the bank settled and later sent back is returned: the money is not with
        // the person, and the month must become payable again.
        (
            ReportedOutcome::Rejected { reason_code },
            PaymentStatus::Scheduled | PaymentStatus::Settled,
        ) => {
            returned(state, id, &p, reason_code, report, out);
        }
        // Reported again, the same way, in another file: nothing new.
        (ReportedOutcome::Settled, PaymentStatus::Settled) => {}
        (ReportedOutcome::Rejected { reason_code }, PaymentStatus::Returned)
            if state.return_reason(id) == Some(reason_code.as_str()) => {}
        _ => out.push(brk(batch, BreakKind::ConflictingStatus { payment: id })),
    }
}

/// A line that does not fit the payment it names (the payment is the report's bank's).
fn mismatch(state: &State, id: PaymentId, p: &Payment, line: &ReportedLine) -> Option<BreakKind> {
    let released = state
        .batch(p.batch())
        .is_some_and(|b| matches!(b.status, BatchStatus::Released | BatchStatus::Closed));
    if !released || p.status == PaymentStatus::Cancelled {
        return Some(BreakKind::NotReleased { payment: id });
    }
    match line.amount {
        Some(reported) if reported != p.amount => Some(BreakKind::AmountMismatch {
            payment: id,
            expected: p.amount,
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
    let who = p.beneficiary();
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
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
    // From the batch's running totals (`state::totals`), which `apply` keeps in step with
    // every line's status: a walk over a million lines read each from the frozen rows and
    // took most of a batch page's time.
    if matches!(b.status, BatchStatus::Released | BatchStatus::Closed) {
        let o = b.totals.overall();
        r.released = o.all();
        r.settled = o.settled;
        r.returned = o.returned;
        r.outstanding = o.scheduled;
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
