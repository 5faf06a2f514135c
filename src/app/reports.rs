//! The department's figures (issue 12): per province, commune and programme, as of a chosen
//! date, computed from the chain: people enrolled, standardised (all required fields valid),
//! verified against the population database, held and why; payments by bank account versus
//! cash, count and amount, month by month; and how many moved from cash to an account.
//!
//! "As of a date" is the chain up to the last record written on that day (Vietnam time): the
//! report finds that record (`known_at`) and counts what the records before it say. Three
//! figures read the current state where the state keeps no history, and say so in
//! docs/rules.md: a person's enrolment warnings and route (for "standardised"), a hold for
//! review, and whether a paid payment was later returned.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::calendar::{self, CalendarStatus, DeadlineKind};
use crate::domain::event::{ControlTotals, Event, Route};
use crate::domain::identity::{hold_reason, IdentityOutcome};
use crate::domain::state::{BatchStatus, PaymentStatus, State};
use crate::domain::types::{BeneficiaryId, CommuneCode, Date, Month, Programme, ProvinceCode};
use crate::formats::reference::Reference;
use crate::ledger::{Ledger, ReadError, StoreError, SubmitError};

/// Why the figures could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

/// The people of one province, commune and programme.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeopleFigures {
    pub enrolled: u64,
    /// Identity present (not erased), no enrolment warning outstanding, a payment route.
    pub standardised: u64,
    /// Latest answer of the population database: every field matched, alive.
    pub verified: u64,
    /// Left out of the next batch, by reason.
    pub held: BTreeMap<String, u64>,
    /// Enrolled for cash and later given a bank account.
    pub moved_to_account: u64,
}

/// One row of the people figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PeopleRow {
    /// `None` when the commune is not in the 2025 reference data.
    pub province: Option<ProvinceCode>,
    pub commune: CommuneCode,
    pub programme: Programme,
    #[serde(flatten)]
    pub figures: PeopleFigures,
}

/// Payments of one month and programme, by channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PaymentFigures {
    pub month: Month,
    pub programme: Programme,
    pub bank: ControlTotals,
    pub cash: ControlTotals,
    /// Of those, returned by the bank or the pay point.
    pub returned: ControlTotals,
    /// The payment report of the month came in (from some channel) after the 20th of the
    /// next month (`domain::calendar`; judged on the chain as it is now).
    pub report_late: bool,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Figures {
    /// The day asked for (`None`: everything recorded so far).
    pub as_of: Option<Date>,
    /// Records with a lower sequence number were counted.
    pub known_at: u64,
    pub people: Vec<PeopleRow>,
    pub totals: PeopleFigures,
    pub payments: Vec<PaymentFigures>,
}

/// The first record written after `as_of` (Vietnam time): records before it are "as of" that
/// day. Record times never decrease along the chain, so a binary search finds it.
pub fn known_at(ledger: &Ledger, as_of: Date) -> Result<u64, ReportError> {
    let (mut lo, mut hi) = (0u64, ledger.head()?.records);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let day = match ledger.event(mid)? {
            Some(r) => crate::ledger::local_date(r.recorded_at_ms),
            None => break,
        };
        if day <= as_of {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

/// The figures as of `as_of` (or now), read from the ledger.
pub fn figures(ledger: &Ledger, as_of: Option<Date>) -> Result<Figures, ReportError> {
    let head = ledger.head()?.records;
    let known = match as_of {
        Some(d) => known_at(ledger, d)?,
        None => head,
    };
    let mut routes = RouteChanges::default();
    for r in ledger.events(0, known) {
        routes.see(&r?.event);
    }
    let mut f = ledger.read(|st| compute(st, known, &routes.moved, Reference::embedded()))?;
    f.as_of = as_of;
    let today = crate::ledger::local_date(ledger.now_ms());
    let calendars = calendar(ledger, &PROGRAMMES, today)?;
    for row in &mut f.payments {
        row.report_late = calendars.iter().any(|c| {
            c.late.iter().any(|d| {
                d.kind == DeadlineKind::PaymentReport
                    && (d.programme, d.month) == (row.programme, row.month)
            })
        });
    }
    Ok(f)
}

/// Every programme, in the order reports list them.
pub const PROGRAMMES: [Programme; 3] = [Programme::Ncc, Programme::Btxh, Programme::Htxh];

/// The calendar of these programmes as of `today` (`domain::calendar::status`), each deadline
/// dated by the time of the record that met it.
pub fn calendar(
    ledger: &Ledger,
    programmes: &[Programme],
    today: Date,
) -> Result<Vec<CalendarStatus>, ReportError> {
    let seqs: Vec<u64> = ledger.read(|st| {
        programmes
            .iter()
            .flat_map(|p| calendar::records_to_date(st, *p))
            .collect()
    })?;
    let mut days = HashMap::new();
    for seq in seqs {
        if let Some(r) = ledger.event(seq)? {
            days.insert(seq, crate::ledger::local_date(r.recorded_at_ms));
        }
    }
    let day_of = |seq: u64| days.get(&seq).copied();
    Ok(ledger.read(|st| {
        programmes
            .iter()
            .map(|p| calendar::status(st, *p, today, &day_of))
            .collect()
    })?)
}

/// Who moved from cash to a bank account, from the route events in chain order.
#[derive(Debug, Default)]
pub struct RouteChanges {
    route: HashMap<BeneficiaryId, Route>,
    pub moved: HashSet<BeneficiaryId>,
}

impl RouteChanges {
    pub fn see(&mut self, event: &Event) {
        let (who, new) = match event {
            Event::BeneficiaryEnrolled(e) => match e.route {
                Some(r) => (e.beneficiary, r),
                None => return,
            },
            Event::PaymentRouteSet(e) => (e.beneficiary, e.route),
            _ => return,
        };
        let before = self.route.insert(who, new);
        if matches!(before, Some(Route::Cash { .. })) && matches!(new, Route::Bank { .. }) {
            self.moved.insert(who);
        }
    }
}

/// The figures over a state, counting only records with a sequence number below `known_at`.
pub fn compute(
    state: &State,
    known_at: u64,
    moved: &HashSet<BeneficiaryId>,
    reference: &Reference,
) -> Figures {
    let mut rows: BTreeMap<(CommuneCode, Programme), PeopleFigures> = BTreeMap::new();
    let mut totals = PeopleFigures::default();
    for b in state.beneficiaries().iter() {
        if b.enrolled_seq >= known_at {
            continue;
        }
        let row = rows.entry((b.commune, b.programme)).or_default();
        let mut add = |f: &dyn Fn(&mut PeopleFigures)| {
            f(row);
            f(&mut totals);
        };
        add(&|f| f.enrolled += 1);
        if b.identity.known().is_some() && b.warnings.is_empty() && b.route.is_some() {
            add(&|f| f.standardised += 1);
        }
        let check = state.identity().as_known_at(b.id, known_at);
        if check.is_some_and(|c| c.outcome == IdentityOutcome::Verified) {
            add(&|f| f.verified += 1);
        }
        if moved.contains(&b.id) {
            add(&|f| f.moved_to_account += 1);
        }
        let mode = state.identity().mode_known_at(b.programme, known_at);
        let why = if b.hold.is_some() {
            Some("held for review".to_owned())
        } else {
            check
                .and_then(|c| hold_reason(c, mode, b.date_of_death.is_some()))
                .map(|r| reason_kind(&r))
        };
        if let Some(why) = why {
            add(&|f| *f.held.entry(why.clone()).or_default() += 1);
        }
    }
    let people = rows
        .into_iter()
        .map(|((commune, programme), figures)| PeopleRow {
            province: reference.admin.commune_2025(commune).map(|c| c.province),
            commune,
            programme,
            figures,
        })
        .collect();
    Figures {
        as_of: None,
        known_at,
        people,
        totals,
        payments: payments(state, known_at),
    }
}

/// The kind of an identity hold, without the check's reference, for counting.
fn reason_kind(reason: &str) -> String {
    if reason.contains("reports a death") {
        "reported dead by the population database"
    } else if reason.contains("not found") {
        "not found in the population database"
    } else {
        "differs from the population database"
    }
    .to_owned()
}

/// Payments of released batches (released before `known_at`), by month, programme and channel.
fn payments(state: &State, known_at: u64) -> Vec<PaymentFigures> {
    let mut by: BTreeMap<(Month, Programme), PaymentFigures> = BTreeMap::new();
    for b in state.batches() {
        let released = b.released_seq.is_some_and(|s| s < known_at);
        if !released || b.status == BatchStatus::Cancelled {
            continue;
        }
        let (month, programme) = (b.opened.month, b.opened.programme);
        let row = by.entry((month, programme)).or_insert(PaymentFigures {
            month,
            programme,
            bank: ControlTotals::default(),
            cash: ControlTotals::default(),
            returned: ControlTotals::default(),
            report_late: false,
        });
        for p in b.payments.iter().filter_map(|id| state.payment(id)) {
            let amount = p.amount;
            match p.route {
                Route::Bank { .. } => row.bank.add(amount),
                Route::Cash { .. } => row.cash.add(amount),
            }
            if p.status == PaymentStatus::Returned {
                row.returned.add(amount);
            }
        }
    }
    by.into_values().collect()
}

/// How the people answered in one identity check fell (each person's latest answer, when it is
/// this check's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CheckOutcomes {
    pub verified: u64,
    pub differs: u64,
    pub not_found: u64,
    pub reported_dead: u64,
}

/// The outcomes of the check recorded under `reference`.
pub fn check_outcomes(state: &State, reference: &str) -> CheckOutcomes {
    let mut out = CheckOutcomes::default();
    for b in state.beneficiaries().iter() {
        let Some(c) = state.identity().latest(b.id) else {
            continue;
        };
        if c.reference != reference {
            continue;
        }
        *match c.outcome {
            IdentityOutcome::Verified => &mut out.verified,
            IdentityOutcome::Differs { .. } => &mut out.differs,
            IdentityOutcome::NotFound => &mut out.not_found,
            IdentityOutcome::Deceased { .. } => &mut out.reported_dead,
        } += 1;
    }
    out
}
