//! What people read: a beneficiary with entitlements and history, what is due for a month and
//! why, a batch with its totals and reconciliation, the files of a batch. Built from the
//! state (and, for history, from the stored records), shared by the command line and the API so
//! both say the same thing.

use serde::Serialize;

use crate::chain::hex;
use crate::domain::batch::{reconciliation, Reconciliation};
use crate::domain::event::*;
use crate::domain::rules::{self, DueLine, Person, RateBook};
use crate::domain::state::{
    BatchStatus, Beneficiary, EntitlementChange, PaymentStatus, PersonalState, State,
};
use crate::domain::types::*;
use crate::ledger::{Ledger, ReadError, Recorded};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BeneficiaryView {
    pub id: BeneficiaryId,
    pub programme: Programme,
    pub commune: CommuneCode,
    /// `None` once the personal data was erased.
    pub identity: Option<Identity>,
    pub route: Option<Route>,
    /// Masked: the last three characters of the account number only.
    pub account: Option<String>,
    pub warnings: Vec<EnrolmentWarning>,
    pub date_of_death: Option<Date>,
    pub held_for_review: Option<HoldReason>,
    pub entitlements: Vec<EntitlementView>,
    pub history: Vec<HistoryEntry>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntitlementView {
    pub id: EntitlementId,
    pub programme: Programme,
    pub scheme: String,
    pub params: Vec<SchemeParam>,
    pub kind: EntitlementKind,
    pub effective_from: Month,
    pub decision: Decision,
    pub payee: Option<BeneficiaryId>,
    pub changes: Vec<ChangeView>,
    /// Months paid (or on their way), with the net amount.
    pub paid: Vec<(Month, Vnd)>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub seq: u64,
    pub change: String,
    pub from: Month,
    pub decision: String,
}

/// One record that touches a beneficiary.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryEntry {
    pub seq: u64,
    pub recorded_at_ms: i64,
    pub principal: String,
    pub hash: String,
    pub event: Event,
}

/// A beneficiary with every record that touches them. A record of the history that cannot be
/// read is an error: an audit trail never skips what it cannot decode.
pub fn beneficiary(
    ledger: &Ledger,
    id: BeneficiaryId,
) -> Result<Option<BeneficiaryView>, ReadError> {
    let Some(mut view) = ledger.read(|s| s.beneficiary(id).map(|b| profile(s, b)))? else {
        return Ok(None);
    };
    view.history = ledger
        .history(id)?
        .into_iter()
        .map(HistoryEntry::from)
        .collect();
    Ok(Some(view))
}

/// A beneficiary from the state alone, without the history (which needs the store).
pub fn profile(state: &State, b: &Beneficiary) -> BeneficiaryView {
    BeneficiaryView {
        id: b.id,
        programme: b.programme,
        commune: b.commune,
        identity: b.identity.known().cloned(),
        route: b.route,
        account: b.account.as_ref().map(|a| match a {
            PersonalState::Known(a) => a.account_number.masked(),
            PersonalState::Erased => "(erased)".into(),
        }),
        warnings: b.warnings.to_vec(),
        date_of_death: b.date_of_death,
        held_for_review: b.hold.as_deref().cloned(),
        entitlements: b
            .entitlements
            .iter()
            .filter_map(|e| state.entitlement(*e))
            .map(|e| EntitlementView {
                id: e.id(),
                programme: e.grant.programme,
                scheme: e.grant.scheme.clone(),
                params: e.grant.params.clone(),
                kind: e.grant.kind,
                effective_from: e.grant.effective_from,
                decision: e.grant.decision.clone(),
                payee: e.grant.payee,
                changes: e.changes.iter().map(|(seq, c)| change(*seq, c)).collect(),
                paid: e.paid.iter().collect(),
            })
            .collect(),
        history: Vec::new(),
    }
}

fn change(seq: u64, c: &EntitlementChange) -> ChangeView {
    let (change, from, decision) = match c {
        EntitlementChange::Adjusted(a) => ("adjusted", a.effective_from, &a.decision),
        EntitlementChange::Suspended(s) => ("suspended", s.from, &s.decision),
        EntitlementChange::Resumed(r) => ("resumed", r.from, &r.decision),
        EntitlementChange::Terminated(t) => ("terminated after", t.last_month, &t.decision),
    };
    ChangeView {
        seq,
        change: change.into(),
        from,
        decision: decision.number.clone(),
    }
}

impl From<Recorded> for HistoryEntry {
    fn from(r: Recorded) -> HistoryEntry {
        HistoryEntry {
            seq: r.seq,
            recorded_at_ms: r.recorded_at_ms,
            principal: r.principal,
            hash: hex(&r.hash),
            event: r.event,
        }
    }
}

/// What is due to a beneficiary for a month as the ledger knows it now, line by line with the
/// rule, the rate schedule, the legal clause and the decision; and what the next payment of that
/// month would be once what was already paid is taken into account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DueView {
    pub beneficiary: BeneficiaryId,
    pub month: Month,
    pub lines: Vec<DueLine>,
    pub total: Vnd,
    /// Per programme: arrears, recoveries and the regular month, net of what was paid.
    pub payments: Vec<PaymentDueView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PaymentDueView {
    pub programme: Programme,
    pub lines: Vec<DueLine>,
    pub amount: Vnd,
    pub outstanding_recovery: Vnd,
}

pub fn due(state: &State, id: BeneficiaryId, month: Month) -> Result<DueView, String> {
    let b = state
        .beneficiary(id)
        .ok_or_else(|| format!("no beneficiary {id}"))?;
    let ents = rules::entitlements_of(state, b);
    let person = Person::of(b, &ents);
    let rates = RateBook::new(state.schedules());
    let known_at = state.applied();
    let lines = rules::due(&person, &rates, month, known_at).map_err(|e| e.to_string())?;
    let mut programmes: Vec<Programme> = ents.iter().map(|e| e.grant.programme).collect();
    programmes.sort();
    programmes.dedup();
    let paid = ents
        .iter()
        .flat_map(|e| e.paid.iter().map(move |(m, v)| ((e.id(), m), v)))
        .collect();
    let mut payments = Vec::new();
    for p in programmes {
        let d = rules::payment_due(&person, &rates, p, month, known_at, &paid)
            .map_err(|e| e.to_string())?;
        payments.push(PaymentDueView {
            programme: p,
            lines: d.lines,
            amount: d.amount,
            outstanding_recovery: d.outstanding_recovery,
        });
    }
    Ok(DueView {
        beneficiary: id,
        month,
        total: lines.iter().map(|l| l.amount).sum(),
        lines,
        payments,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BatchView {
    pub id: BatchId,
    pub programme: Programme,
    pub month: Month,
    pub kind: BatchKind,
    pub funding_account: String,
    pub status: BatchStatus,
    pub opened_by: String,
    pub computed_by: Option<String>,
    pub approved_by: Option<String>,
    pub released_by: Option<String>,
    pub basis_seq: Option<u64>,
    pub content_hash: Option<String>,
    pub totals: Option<ControlTotals>,
    pub by_channel: Vec<(Channel, ControlTotals)>,
    pub reconciliation: Option<Reconciliation>,
    pub files: Vec<FileView>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FileView {
    pub id: FileId,
    pub batch: BatchId,
    pub name: String,
    pub channel: Channel,
    pub pay_point: Option<CommuneCode>,
    pub format: FileFormat,
    pub blake3: String,
    pub bytes: u64,
    pub totals: ControlTotals,
    pub downloads: u32,
}

pub fn batch(state: &State, id: BatchId) -> Option<BatchView> {
    let b = state.batch(id)?;
    let released = matches!(b.status, BatchStatus::Released | BatchStatus::Closed);
    Some(BatchView {
        id,
        programme: b.opened.programme,
        month: b.opened.month,
        kind: b.opened.kind,
        funding_account: b.opened.funding_account.clone(),
        status: b.status,
        opened_by: b.opened_by.clone(),
        computed_by: b.computed_by.clone(),
        approved_by: b.approved_by.clone(),
        released_by: b.released_by.clone(),
        basis_seq: b.computed.as_ref().map(|c| c.basis_seq),
        content_hash: b.computed.as_ref().map(|c| hex(&c.content_hash)),
        totals: b.computed.as_ref().map(|c| c.totals),
        by_channel: b
            .computed
            .as_ref()
            .map_or_else(Vec::new, |c| c.by_channel.clone()),
        reconciliation: released.then(|| reconciliation(state, id)).flatten(),
        files: b.files.iter().filter_map(|f| file(state, *f)).collect(),
    })
}

pub fn file(state: &State, id: FileId) -> Option<FileView> {
    let f = state.file(id)?;
    let i = &f.issued;
    Some(FileView {
        id,
        batch: i.batch,
        name: i.name.clone(),
        channel: i.channel,
        pay_point: i.pay_point,
        format: i.format,
        blake3: hex(&i.digest),
        bytes: i.bytes,
        totals: i.totals,
        downloads: f.downloads,
    })
}

/// Totals paid in a month (released or closed batches), by programme, scheme, commune and bank.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct Payout {
    pub month: Option<Month>,
    pub totals: ControlTotals,
    pub by_programme: Vec<(Programme, ControlTotals)>,
    pub by_channel: Vec<(Channel, ControlTotals)>,
    pub by_commune: Vec<(CommuneCode, ControlTotals)>,
    pub by_scheme: Vec<(String, ControlTotals)>,
    pub returned: ControlTotals,
}

pub fn payout(state: &State, from: Month, to: Month) -> Payout {
    use std::collections::BTreeMap;
    let mut by_programme = BTreeMap::new();
    let mut by_channel = BTreeMap::new();
    let mut by_commune = BTreeMap::new();
    let mut by_scheme: BTreeMap<String, ControlTotals> = BTreeMap::new();
    let mut out = Payout {
        month: (from == to).then_some(from),
        ..Payout::default()
    };
    for b in state.batches() {
        let released = matches!(b.status, BatchStatus::Released | BatchStatus::Closed);
        if !released || b.opened.month < from || b.opened.month > to {
            continue;
        }
        for p in b.payments.iter().filter_map(|id| state.payment(id)) {
            let s = p;
            if p.status == PaymentStatus::Returned {
                out.returned.add(s.amount);
                continue;
            }
            out.totals.add(s.amount);
            add(&mut by_programme, b.opened.programme, s.amount);
            add(
                &mut by_channel,
                crate::domain::batch::channel(&s.route),
                s.amount,
            );
            if let Some(who) = state.beneficiary(s.beneficiary()) {
                add(&mut by_commune, who.commune, s.amount);
            }
            for item in state.items(s) {
                let scheme = state
                    .entitlement(item.entitlement)
                    .map_or("?".to_owned(), |e| {
                        rules::lifecycle::latest_terms(e).scheme.to_owned()
                    });
                by_scheme.entry(scheme).or_default().add(item.amount);
            }
        }
    }
    out.by_programme = by_programme.into_iter().collect();
    out.by_channel = by_channel.into_iter().collect();
    out.by_commune = by_commune.into_iter().collect();
    out.by_scheme = by_scheme.into_iter().collect();
    out
}

fn add<K: Ord>(map: &mut std::collections::BTreeMap<K, ControlTotals>, key: K, amount: Vnd) {
    map.entry(key).or_default().add(amount);
}

/// A reconciliation break as people read it (CLI `batch breaks`, `GET /v1/breaks`).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BreakView {
    pub seq: u64,
    pub batch: Option<BatchId>,
    pub report: String,
    pub kind: crate::domain::event::BreakKind,
    pub resolved: Option<String>,
}

impl BreakView {
    pub fn of(b: &crate::domain::state::Break) -> BreakView {
        BreakView {
            seq: b.seq,
            batch: b.recorded.batch,
            report: crate::chain::hex(&b.recorded.report),
            kind: b.recorded.kind.clone(),
            resolved: b.resolved.clone(),
        }
    }
}
