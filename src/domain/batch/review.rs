//! The review a checker reads before approving: control totals by bank, commune and scheme;
//! what changed since last month, person by person, with the reason; and anomalies worth a
//! human look. A projection of the state; it changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use crate::domain::event::{Channel, ControlTotals, ItemKind, PaymentScheduled, Route};
use crate::domain::rules::lifecycle::latest_terms;
use crate::domain::state::{BatchStatus, PaymentStatus, State};
use crate::domain::types::{
    AccountNumber, BankBin, BatchId, BeneficiaryId, CommuneCode, PaymentId, Vnd,
};

use super::channel;

/// A payment this many times last month's (and at least `JUMP_VND_MIN` more) is flagged.
pub const JUMP_FACTOR: i64 = 3;
pub const JUMP_VND_MIN: Vnd = Vnd(1_000_000);

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub batch: BatchId,
    pub totals: ControlTotals,
    pub by_channel: Vec<(Channel, ControlTotals)>,
    pub by_commune: Vec<(CommuneCode, ControlTotals)>,
    /// By scheme, summing item amounts (a payment may span schemes).
    pub by_scheme: Vec<(String, ControlTotals)>,
    /// Regular, arrears, recovery and one-off items, summed.
    pub by_kind: Vec<(ItemKind, ControlTotals)>,
    pub previous_totals: ControlTotals,
    pub changes: Vec<Change>,
    pub anomalies: Vec<Anomaly>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub beneficiary: BeneficiaryId,
    pub previous: Vnd,
    pub current: Vnd,
    pub reasons: Vec<Reason>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Reason {
    /// Paid this month, not last month: a new entitlement.
    NewEntitlement,
    /// Paid again after last month's payment was returned.
    ReturnedLastMonth {
        reason_code: String,
    },
    /// Paid last month, not this month.
    Stopped {
        why: String,
    },
    /// The regular amount differs (a new rate schedule or an adjusted decision).
    RateChange {
        from: Vnd,
        to: Vnd,
    },
    Arrears {
        amount: Vnd,
    },
    Recovery {
        amount: Vnd,
    },
    RouteChanged,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "anomaly", rename_all = "snake_case")]
pub enum Anomaly {
    AmountFarAboveLastMonth {
        beneficiary: BeneficiaryId,
        previous: Vnd,
        current: Vnd,
    },
    /// One bank account receives for several people (masked account number).
    SharedAccount {
        account: String,
        beneficiaries: Vec<BeneficiaryId>,
    },
    /// The route changed since last month's payment, just before money goes to it.
    RouteChangedBeforePayment { beneficiary: BeneficiaryId },
}

/// What last month paid each recipient, and how it ended.
struct Previous {
    amount: Vnd,
    route: Route,
    regular: Vnd,
    returned: Option<String>,
}

pub fn review(state: &State, batch: BatchId) -> Option<Review> {
    let mut b = Builder::new(state, batch)?;
    while !b.step(state, usize::MAX) {}
    Some(b.finish(state))
}

/// A review built a few lines at a time, so that a caller can let go of the state between
/// steps (a million-line batch would otherwise keep the writer waiting for the whole walk):
/// `new`, then `step` until it says every line is read, then `finish`, each with the state as
/// it is then. The lines are the batch's and last month's, which do not change while the batch
/// stays at one computation (the caller checks that between steps); people's communes,
/// accounts and schemes are read as they are when their line is read.
pub struct Builder {
    batch: BatchId,
    /// Last month's released batches of the programme, and how far into them the walk is.
    previous_batches: Vec<BatchId>,
    previous_at: (usize, usize),
    /// How many of the batch's own lines have been read.
    current_at: usize,
    previous: HashMap<BeneficiaryId, Previous>,
    totals: ControlTotals,
    by_channel: BTreeMap<Channel, ControlTotals>,
    by_commune: BTreeMap<CommuneCode, ControlTotals>,
    by_scheme: BTreeMap<String, ControlTotals>,
    by_kind: [ControlTotals; KINDS.len()],
    seen: HashSet<BeneficiaryId>,
    changes: Vec<Change>,
    /// Anomalies found line by line (after the shared accounts in the review).
    line_anomalies: Vec<Anomaly>,
    accounts: HashMap<(BankBin, AccountNumber), Vec<BeneficiaryId>>,
}

const KINDS: [ItemKind; 4] = [
    ItemKind::Regular,
    ItemKind::Arrears,
    ItemKind::Recovery,
    ItemKind::OneOff,
];

impl Builder {
    /// `None` when the batch does not exist.
    pub fn new(state: &State, batch: BatchId) -> Option<Builder> {
        let b = state.batch(batch)?;
        let previous_batches = state
            .batches_of(b.opened.programme, b.opened.month.prev())
            .iter()
            .copied()
            .filter(|id| {
                state.batch(*id).is_some_and(|prev| {
                    matches!(prev.status, BatchStatus::Released | BatchStatus::Closed)
                })
            })
            .collect();
        Some(Builder {
            batch,
            previous_batches,
            previous_at: (0, 0),
            current_at: 0,
            previous: HashMap::new(),
            totals: ControlTotals::default(),
            by_channel: BTreeMap::new(),
            by_commune: BTreeMap::new(),
            by_scheme: BTreeMap::new(),
            by_kind: Default::default(),
            seen: HashSet::new(),
            changes: Vec::new(),
            line_anomalies: Vec::new(),
            accounts: HashMap::new(),
        })
    }

    /// Reads up to `lines` more lines (last month's first, then the batch's own): `true` once
    /// every line has been read.
    pub fn step(&mut self, state: &State, lines: usize) -> bool {
        let mut budget = lines;
        while budget > 0 && self.previous_at.0 < self.previous_batches.len() {
            let Some(prev) = state.batch(self.previous_batches[self.previous_at.0]) else {
                self.previous_at = (self.previous_at.0 + 1, 0);
                continue;
            };
            let ids: Vec<PaymentId> = prev
                .payments
                .iter()
                .skip(self.previous_at.1)
                .take(budget)
                .collect();
            budget -= ids.len();
            if ids.is_empty() {
                self.previous_at = (self.previous_at.0 + 1, 0);
                continue;
            }
            self.previous_at.1 += ids.len();
            for id in ids {
                self.add_previous(state, id);
            }
        }
        if budget == 0 {
            return false;
        }
        let Some(b) = state.batch(self.batch) else {
            return true;
        };
        let ids: Vec<PaymentId> = b
            .payments
            .iter()
            .skip(self.current_at)
            .take(budget)
            .collect();
        self.current_at += ids.len();
        for id in ids.iter().copied() {
            if let Some(p) = state.scheduled(id) {
                self.add_current(state, &p);
            }
        }
        ids.len() < budget
    }

    fn add_previous(&mut self, state: &State, id: PaymentId) {
        let Some(p) = state.scheduled(id) else {
            return;
        };
        let returned = state
            .payment(id)
            .is_some_and(|row| row.status == PaymentStatus::Returned);
        let regular = p
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Regular)
            .map(|i| i.amount)
            .sum();
        let entry = self.previous.entry(p.beneficiary).or_insert(Previous {
            amount: Vnd::ZERO,
            route: p.route,
            regular: Vnd::ZERO,
            returned: None,
        });
        entry.amount = entry.amount + p.amount;
        entry.regular = entry.regular + regular;
        if returned {
            entry.returned = state.return_reason(id).map(str::to_owned);
        }
    }

    fn add_current(&mut self, state: &State, p: &PaymentScheduled) {
        self.totals.add(p.amount);
        self.by_channel
            .entry(channel(&p.route))
            .or_default()
            .add(p.amount);
        let person = state.beneficiary(p.beneficiary);
        let commune = person.map_or(CommuneCode::parse("00000").expect("valid"), |b| b.commune);
        self.by_commune.entry(commune).or_default().add(p.amount);
        for item in &p.items {
            let scheme = state
                .entitlement(item.entitlement)
                .map_or("?".to_owned(), |e| latest_terms(e).scheme.to_owned());
            self.by_scheme.entry(scheme).or_default().add(item.amount);
            if let Some(k) = KINDS.iter().position(|k| *k == item.kind) {
                self.by_kind[k].add(item.amount);
            }
        }
        if let Route::Bank { bin } = p.route {
            let account = person
                .and_then(|b| b.account.as_ref())
                .and_then(|a| a.known())
                .map(|a| a.account_number.clone());
            if let Some(account) = account {
                self.accounts
                    .entry((bin, account))
                    .or_default()
                    .push(p.beneficiary);
            }
        }
        self.seen.insert(p.beneficiary);
        let prev = self.previous.get(&p.beneficiary);
        let (change, anomalies) = change_of(p, prev);
        self.changes.extend(change);
        self.line_anomalies.extend(anomalies);
    }

    /// The review, once `step` has read every line.
    pub fn finish(self, state: &State) -> Review {
        let mut stopped: Vec<_> = self
            .previous
            .iter()
            .filter(|(b, _)| !self.seen.contains(*b))
            .collect();
        stopped.sort_by_key(|(b, _)| **b);
        let mut changes = self.changes;
        for (b, prev) in stopped {
            changes.push(Change {
                beneficiary: *b,
                previous: prev.amount,
                current: Vnd::ZERO,
                reasons: vec![Reason::Stopped {
                    why: why_stopped(state, *b),
                }],
            });
        }
        let mut anomalies = shared_accounts(self.accounts);
        anomalies.extend(self.line_anomalies);
        Review {
            batch: self.batch,
            totals: self.totals,
            by_channel: self.by_channel.into_iter().collect(),
            by_commune: self.by_commune.into_iter().collect(),
            by_scheme: self.by_scheme.into_iter().collect(),
            by_kind: KINDS.iter().copied().zip(self.by_kind).collect(),
            previous_totals: self
                .previous
                .values()
                .fold(ControlTotals::default(), |mut t, p| {
                    t.add(p.amount);
                    t
                }),
            changes,
            anomalies,
        }
    }
}

/// What changed for one line since last month (`None` when nothing did), and the anomalies
/// it shows.
fn change_of(p: &PaymentScheduled, prev: Option<&Previous>) -> (Option<Change>, Vec<Anomaly>) {
    let mut reasons = Vec::new();
    let mut anomalies = Vec::new();
    let sum_of = |k: ItemKind| -> Vnd {
        p.items
            .iter()
            .filter(|i| i.kind == k)
            .map(|i| i.amount)
            .sum()
    };
    let regular = sum_of(ItemKind::Regular);
    match prev {
        None => reasons.push(Reason::NewEntitlement),
        Some(prev) => {
            if let Some(code) = &prev.returned {
                reasons.push(Reason::ReturnedLastMonth {
                    reason_code: code.clone(),
                });
            }
            if prev.regular != regular && prev.regular != Vnd::ZERO && regular != Vnd::ZERO {
                reasons.push(Reason::RateChange {
                    from: prev.regular,
                    to: regular,
                });
            }
            if prev.route != p.route {
                reasons.push(Reason::RouteChanged);
                anomalies.push(Anomaly::RouteChangedBeforePayment {
                    beneficiary: p.beneficiary,
                });
            }
            let jump = prev.amount.0 * JUMP_FACTOR;
            if p.amount.0 > jump && p.amount - prev.amount >= JUMP_VND_MIN {
                anomalies.push(Anomaly::AmountFarAboveLastMonth {
                    beneficiary: p.beneficiary,
                    previous: prev.amount,
                    current: p.amount,
                });
            }
        }
    }
    let arrears = sum_of(ItemKind::Arrears);
    if arrears != Vnd::ZERO {
        reasons.push(Reason::Arrears { amount: arrears });
    }
    let recovery = sum_of(ItemKind::Recovery);
    if recovery != Vnd::ZERO {
        reasons.push(Reason::Recovery { amount: recovery });
    }
    let changed = prev.is_none_or(|x| x.amount != p.amount) || !reasons.is_empty();
    let change = changed.then(|| Change {
        beneficiary: p.beneficiary,
        previous: prev.map_or(Vnd::ZERO, |x| x.amount),
        current: p.amount,
        reasons,
    });
    (change, anomalies)
}

fn why_stopped(state: &State, id: BeneficiaryId) -> String {
    let Some(b) = state.beneficiary(id) else {
        return "unknown beneficiary".into();
    };
    if let Some(d) = b.date_of_death {
        return format!("died {d}");
    }
    if b.hold.is_some() {
        return "held for review".into();
    }
    if b.route.is_none() {
        return "no payment route".into();
    }
    let ended = b
        .entitlements
        .iter()
        .filter_map(|e| state.entitlement(*e))
        .filter_map(|e| e.terminated())
        .map(|t| t.last_month)
        .max();
    match ended {
        Some(m) => format!("entitlement ended after {m}"),
        None => "nothing due this month".into(),
    }
}

/// Several recipients paid into one account.
fn shared_accounts(
    by_account: HashMap<(BankBin, AccountNumber), Vec<BeneficiaryId>>,
) -> Vec<Anomaly> {
    let mut out: Vec<(BeneficiaryId, Anomaly)> = by_account
        .into_iter()
        .filter(|(_, who)| who.len() > 1)
        .map(|((bin, account), mut who)| {
            who.sort();
            let first = who[0];
            let anomaly = Anomaly::SharedAccount {
                account: format!("{bin}/{}", account.masked()),
                beneficiaries: who,
            };
            (first, anomaly)
        })
        .collect();
    out.sort_by_key(|(first, _)| *first);
    out.into_iter().map(|(_, a)| a).collect()
}
