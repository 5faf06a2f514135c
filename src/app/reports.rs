//! The department's figures (issue 12): per province, commune and programme, as of a chosen
//! date, computed from the chain: people enrolled, standardised (all required fields valid),
//! verified against the population database, held and why; payments by bank account versus
//! cash, count and amount, month by month; and how many moved from cash to an account.
//!
//! "As of a date" is the chain up to the last record written on that day (Vietnam time): the
//! report finds that record (`known_at`) and counts what the records before it say. What the
//! state keeps with its sequence numbers (enrolments, identity checks, releases) is read from
//! the state; what it keeps only as it is now (a person's commune, enrolment warnings and
//! route, a hold for review, a recorded death, an erasure, a return) comes from one pass over
//! the records before `known_at` (`AsOf`), so that the state grows no per-person history.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::calendar::{self, CalendarStatus, DeadlineKind};
use crate::domain::event::{Channel, ControlTotals, Event, Route};
use crate::domain::identity::{hold_reason, IdentityOutcome};
use crate::domain::state::{BatchStatus, State};
use crate::domain::types::{
    BatchId, BeneficiaryId, CommuneCode, Date, Month, PaymentId, Programme, ProvinceCode,
};
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
    /// Whose payment route by then is a bank account.
    pub route_bank: u64,
    /// Whose payment route by then is cash at a pay point.
    pub route_cash: u64,
}

/// One of the people figures: its name in the JSON (`PeopleFigures`' field), the words the
/// text output uses for it, its column heading in the per-commune table, and its value. The
/// text and the JSON both derive from `PEOPLE_FIGURES`, so a figure cannot be in one and not
/// the other (`tests/figures_text.rs`).
pub struct PeopleFigure {
    pub key: &'static str,
    pub label: &'static str,
    pub column: &'static str,
    /// Said as "N of <enrolled>" (a share of the people enrolled).
    pub of_enrolled: bool,
    pub value: fn(&PeopleFigures) -> u64,
}

/// Every people figure, in the order reports list them.
pub const PEOPLE_FIGURES: [PeopleFigure; 7] = [
    PeopleFigure {
        key: "enrolled",
        label: "enrolled",
        column: "enrolled",
        of_enrolled: false,
        value: |f| f.enrolled,
    },
    PeopleFigure {
        key: "standardised",
        label: "standardised",
        column: "standardised",
        of_enrolled: true,
        value: |f| f.standardised,
    },
    PeopleFigure {
        key: "verified",
        label: "verified against the population database",
        column: "verified",
        of_enrolled: true,
        value: |f| f.verified,
    },
    PeopleFigure {
        key: "held",
        label: "held from the next batch",
        column: "held",
        of_enrolled: false,
        value: |f| f.held.values().sum(),
    },
    PeopleFigure {
        key: "moved_to_account",
        label: "moved from cash to an account",
        column: "moved",
        of_enrolled: false,
        value: |f| f.moved_to_account,
    },
    PeopleFigure {
        key: "route_bank",
        label: "paid to a bank account",
        column: "bank",
        of_enrolled: true,
        value: |f| f.route_bank,
    },
    PeopleFigure {
        key: "route_cash",
        label: "paid in cash at a pay point",
        column: "cash",
        of_enrolled: true,
        value: |f| f.route_cash,
    },
];

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
    /// next month (`domain::calendar`), by the day asked for.
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
    let mut as_of_pass = AsOf::read(ledger, known)?;
    let enrolled = ledger.read(|st| {
        st.beneficiaries()
            .iter()
            .filter(|b| b.enrolled_seq < known)
            .count()
    })?;
    if as_of_pass.people() != enrolled {
        // The index missed an enrolment (a damaged file that still checks): the whole chain
        // says what the figures are.
        as_of_pass = AsOf::read_whole_chain(ledger, known)?;
    }
    let mut f = ledger.read(|st| compute(st, known, &as_of_pass, Reference::embedded()))?;
    f.as_of = as_of;
    let today = crate::ledger::local_date(ledger.now_ms());
    // Only reports recorded by then can have come in late by then.
    let calendars = calendar_known_at(ledger, &PROGRAMMES, today, known)?;
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
    calendar_known_at(ledger, programmes, today, u64::MAX)
}

/// The calendar as `calendar` gives it, where only records before `known_at` are dated: a
/// release or report recorded later has no day, and is never judged late.
pub fn calendar_known_at(
    ledger: &Ledger,
    programmes: &[Programme],
    today: Date,
    known_at: u64,
) -> Result<Vec<CalendarStatus>, ReportError> {
    let seqs: Vec<u64> = ledger.read(|st| {
        programmes
            .iter()
            .flat_map(|p| calendar::records_to_date(st, *p))
            .collect()
    })?;
    let mut days = HashMap::new();
    for seq in seqs.into_iter().filter(|s| *s < known_at) {
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

/// What the chain says about the people up to a point, for the figures the state keeps only
/// as they are now: a person's commune, enrolment warnings, payment route (and whether it moved
/// from cash to an account), hold for review, recorded death and erasure, and which payments
/// were returned. One pass over the records (`AsOf::read`); the state keeps no per-person
/// history of these, and a report's pass is transient: one small entry per person enrolled by
/// then, and one per payment returned by then.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AsOf {
    /// Indexed by `BeneficiaryId - 1` (ids are assigned in enrolment order).
    people: Vec<PersonAsOf>,
    returned: HashSet<PaymentId>,
}

/// One person as the records up to the point say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PersonAsOf {
    pub commune: CommuneCode,
    /// An enrolment warning outstanding (citizen-ID structure, commune mapping).
    pub warned: bool,
    pub route: Option<Route>,
    /// Had a cash route, then a bank route.
    pub moved_to_account: bool,
    pub held_for_review: bool,
    pub dead: bool,
    pub erased: bool,
}

impl AsOf {
    /// The records with `seq < known_at` that the pass reads, found through the ledger's
    /// report index (`ledger::report_index`): the time grows with the people and what happened
    /// to them, not with the payment lines and settlements of every month paid.
    pub fn read(ledger: &Ledger, known_at: u64) -> Result<AsOf, ReportError> {
        let seqs = ledger.report_seqs(known_at)?;
        let mut out = AsOf::default();
        ledger.events_at(&seqs, |_, e| out.see(e))?;
        Ok(out)
    }

    /// The same pass over every record with `seq < known_at`, without the index: what
    /// `read` must equal (`tests/reports_index.rs`), and the benchmark's before.
    pub fn read_whole_chain(ledger: &Ledger, known_at: u64) -> Result<AsOf, ReportError> {
        let mut out = AsOf::default();
        for r in ledger.events(0, known_at) {
            out.see(&r?.event);
        }
        Ok(out)
    }

    /// People enrolled by the point.
    pub fn people(&self) -> usize {
        self.people.len()
    }

    /// Takes in the next record's event, in chain order.
    pub fn see(&mut self, event: &Event) {
        if let Event::BeneficiaryEnrolled(e) = event {
            // Ids are assigned in enrolment order, so a pass from the first record pushes each
            // person at their index.
            if (e.beneficiary.0 as usize).wrapping_sub(1) == self.people.len() {
                self.people.push(PersonAsOf {
                    commune: e.commune,
                    warned: !e.warnings.is_empty(),
                    route: e.route,
                    moved_to_account: false,
                    held_for_review: false,
                    dead: false,
                    erased: false,
                });
            }
            return;
        }
        if let Event::PaymentReturned(e) = event {
            self.returned.insert(e.payment);
            return;
        }
        let who = match event {
            Event::BeneficiaryDetailsCorrected(e) => e.beneficiary,
            Event::PaymentRouteSet(e) => e.beneficiary,
            Event::BeneficiaryHeldForReview(e) => e.beneficiary,
            Event::BeneficiaryReviewCleared(e) => e.beneficiary,
            Event::BeneficiaryDeathRecorded(e) => e.beneficiary,
            Event::PersonalDataErased(e) => e.beneficiary,
            _ => return,
        };
        let Some(p) = self.people.get_mut((who.0 as usize).wrapping_sub(1)) else {
            return;
        };
        match event {
            Event::BeneficiaryDetailsCorrected(e) => {
                p.commune = e.commune.unwrap_or(p.commune);
                p.warned = !e.warnings.is_empty();
            }
            Event::PaymentRouteSet(e) => {
                if matches!(p.route, Some(Route::Cash { .. }))
                    && matches!(e.route, Route::Bank { .. })
                {
                    p.moved_to_account = true;
                }
                p.route = Some(e.route);
            }
            Event::BeneficiaryHeldForReview(_) => p.held_for_review = true,
            Event::BeneficiaryReviewCleared(_) => p.held_for_review = false,
            Event::BeneficiaryDeathRecorded(_) => p.dead = true,
            Event::PersonalDataErased(_) => p.erased = true,
            _ => {}
        }
    }

    /// The person as of the point, if enrolled by then.
    pub fn person(&self, who: BeneficiaryId) -> Option<&PersonAsOf> {
        self.people.get((who.0 as usize).wrapping_sub(1))
    }

    /// Whether the payment was returned by then.
    pub fn returned(&self, payment: PaymentId) -> bool {
        self.returned.contains(&payment)
    }
}

/// The figures over a state, counting only records with a sequence number below `known_at`;
/// `as_of` is the pass over those same records.
pub fn compute(state: &State, known_at: u64, as_of: &AsOf, reference: &Reference) -> Figures {
    let mut rows: BTreeMap<(CommuneCode, Programme), PeopleFigures> = BTreeMap::new();
    let mut totals = PeopleFigures::default();
    for b in state.beneficiaries().iter() {
        if b.enrolled_seq >= known_at {
            continue;
        }
        // Not in the pass: it covered fewer records than `known_at` (not counted, rather than
        // counted with today's facts).
        let Some(p) = as_of.person(b.id) else {
            continue;
        };
        let row = rows.entry((p.commune, b.programme)).or_default();
        let mut add = |f: &dyn Fn(&mut PeopleFigures)| {
            f(row);
            f(&mut totals);
        };
        add(&|f| f.enrolled += 1);
        if !p.erased && !p.warned && p.route.is_some() {
            add(&|f| f.standardised += 1);
        }
        let check = state.identity().as_known_at(b.id, known_at);
        if check.is_some_and(|c| c.outcome == IdentityOutcome::Verified) {
            add(&|f| f.verified += 1);
        }
        if p.moved_to_account {
            add(&|f| f.moved_to_account += 1);
        }
        match p.route {
            Some(Route::Bank { .. }) => add(&|f| f.route_bank += 1),
            Some(Route::Cash { .. }) => add(&|f| f.route_cash += 1),
            None => {}
        }
        let mode = state.identity().mode_known_at(b.programme, known_at);
        let why = if p.held_for_review {
            Some("held for review".to_owned())
        } else {
            check
                .and_then(|c| hold_reason(c, mode, p.dead))
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
        payments: payments(state, known_at, as_of),
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

/// Payments of released batches (released before `known_at`), by month, programme and channel;
/// returned: by a return recorded before `known_at`.
fn payments(state: &State, known_at: u64, as_of: &AsOf) -> Vec<PaymentFigures> {
    let mut by: BTreeMap<(Month, Programme), PaymentFigures> = BTreeMap::new();
    let mut returned: HashMap<BatchId, ControlTotals> = HashMap::new();
    for p in as_of.returned.iter().filter_map(|id| state.payment(*id)) {
        returned.entry(p.batch()).or_default().add(p.amount);
    }
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
        // Paid by channel from the batch's running totals (`state::BatchTotals`); returned as
        // of the day from the returns recorded by then.
        for (channel, t) in &b.totals.channels {
            let into = match channel {
                Channel::Bank(_) => &mut row.bank,
                Channel::Cash => &mut row.cash,
            };
            *into = plus(*into, t.all());
        }
        if let Some(r) = returned.get(&b.opened.batch) {
            row.returned = plus(row.returned, *r);
        }
    }
    by.into_values().collect()
}

fn plus(a: ControlTotals, b: ControlTotals) -> ControlTotals {
    ControlTotals {
        count: a.count + b.count,
        sum: a.sum + b.sum,
    }
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
