//! The review a checker reads before approving: control totals by bank, commune and scheme;
//! what changed since last month, person by person, with the reason; and anomalies worth a
//! human look. A projection of the state; it changes nothing.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::domain::event::{Channel, ControlTotals, ItemKind, PaymentScheduled, Route};
use crate::domain::rules::lifecycle::latest_terms;
use crate::domain::state::{BatchStatus, PaymentStatus, State};
use crate::domain::types::{AccountNumber, BatchId, BeneficiaryId, CommuneCode, Vnd};

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
    let b = state.batch(batch)?;
    let lines: Vec<PaymentScheduled> = b
        .payments
        .iter()
        .filter_map(|id| state.scheduled(id))
        .collect();
    let current: Vec<&PaymentScheduled> = lines.iter().collect();
    let previous = previous_month(state, batch);
    let mut r = Review {
        batch,
        totals: super::totals(current.iter().copied()),
        by_channel: group(&current, |p| channel(&p.route)),
        by_commune: group(&current, |p| {
            state
                .beneficiary(p.beneficiary)
                .map_or(CommuneCode::parse("00000").expect("valid"), |b| b.commune)
        }),
        by_scheme: by_scheme(state, &current),
        by_kind: by_kind(&current),
        previous_totals: previous
            .values()
            .fold(ControlTotals::default(), |mut t, p| {
                t.add(p.amount);
                t
            }),
        changes: Vec::new(),
        anomalies: shared_accounts(state, &current),
    };
    changes(state, &current, &previous, &mut r);
    Some(r)
}

fn group<K: Ord>(
    payments: &[&PaymentScheduled],
    key: impl Fn(&PaymentScheduled) -> K,
) -> Vec<(K, ControlTotals)> {
    let mut map = BTreeMap::<K, ControlTotals>::new();
    for p in payments {
        map.entry(key(p)).or_default().add(p.amount);
    }
    map.into_iter().collect()
}

fn by_scheme(state: &State, payments: &[&PaymentScheduled]) -> Vec<(String, ControlTotals)> {
    let mut map = BTreeMap::<String, ControlTotals>::new();
    for item in payments.iter().flat_map(|p| &p.items) {
        let scheme = state
            .entitlement(item.entitlement)
            .map_or("?".to_owned(), |e| latest_terms(e).scheme.to_owned());
        map.entry(scheme).or_default().add(item.amount);
    }
    map.into_iter().collect()
}

fn by_kind(payments: &[&PaymentScheduled]) -> Vec<(ItemKind, ControlTotals)> {
    let kinds = [
        ItemKind::Regular,
        ItemKind::Arrears,
        ItemKind::Recovery,
        ItemKind::OneOff,
    ];
    kinds
        .iter()
        .map(|k| {
            let mut t = ControlTotals::default();
            for item in payments
                .iter()
                .flat_map(|p| &p.items)
                .filter(|i| i.kind == *k)
            {
                t.add(item.amount);
            }
            (*k, t)
        })
        .collect()
}

/// Last month's released payments of the same programme, by recipient.
fn previous_month(state: &State, batch: BatchId) -> HashMap<BeneficiaryId, Previous> {
    let b = state.batch(batch).expect("caller checked the batch");
    let mut out = HashMap::new();
    let ids = state.batches_of(b.opened.programme, b.opened.month.prev());
    for prev in ids.iter().filter_map(|id| state.batch(*id)) {
        if !matches!(prev.status, BatchStatus::Released | BatchStatus::Closed) {
            continue;
        }
        for (id, p) in state.payments_of(prev) {
            let regular = state
                .items(p)
                .filter(|i| i.kind == ItemKind::Regular)
                .map(|i| i.amount)
                .sum();
            let entry = out.entry(p.beneficiary()).or_insert(Previous {
                amount: Vnd::ZERO,
                route: p.route,
                regular: Vnd::ZERO,
                returned: None,
            });
            entry.amount = entry.amount + p.amount;
            entry.regular = entry.regular + regular;
            if p.status == PaymentStatus::Returned {
                entry.returned = state.return_reason(id).map(str::to_owned);
            }
        }
    }
    out
}

fn changes(
    state: &State,
    current: &[&PaymentScheduled],
    previous: &HashMap<BeneficiaryId, Previous>,
    r: &mut Review,
) {
    let mut seen = std::collections::HashSet::new();
    for p in current {
        seen.insert(p.beneficiary);
        let prev = previous.get(&p.beneficiary);
        let mut reasons = Vec::new();
        let regular: Vnd = p
            .items
            .iter()
            .filter(|i| i.kind == ItemKind::Regular)
            .map(|i| i.amount)
            .sum();
        let sum_of = |k: ItemKind| -> Vnd {
            p.items
                .iter()
                .filter(|i| i.kind == k)
                .map(|i| i.amount)
                .sum()
        };
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
                    r.anomalies.push(Anomaly::RouteChangedBeforePayment {
                        beneficiary: p.beneficiary,
                    });
                }
                let jump = prev.amount.0 * JUMP_FACTOR;
                if p.amount.0 > jump && p.amount - prev.amount >= JUMP_VND_MIN {
                    r.anomalies.push(Anomaly::AmountFarAboveLastMonth {
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
        if changed {
            r.changes.push(Change {
                beneficiary: p.beneficiary,
                previous: prev.map_or(Vnd::ZERO, |x| x.amount),
                current: p.amount,
                reasons,
            });
        }
    }
    let mut stopped: Vec<_> = previous
        .iter()
        .filter(|(b, _)| !seen.contains(*b))
        .collect();
    stopped.sort_by_key(|(b, _)| **b);
    for (b, prev) in stopped {
        r.changes.push(Change {
            beneficiary: *b,
            previous: prev.amount,
            current: Vnd::ZERO,
            reasons: vec![Reason::Stopped {
                why: why_stopped(state, *b),
            }],
        });
    }
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
fn shared_accounts(state: &State, payments: &[&PaymentScheduled]) -> Vec<Anomaly> {
    let mut by_account: HashMap<
        (crate::domain::types::BankBin, &AccountNumber),
        Vec<BeneficiaryId>,
    > = HashMap::new();
    for p in payments {
        let Route::Bank { bin } = p.route else {
            continue;
        };
        let account = state
            .beneficiary(p.beneficiary)
            .and_then(|b| b.account.as_ref())
            .and_then(|a| a.known())
            .map(|a| &a.account_number);
        if let Some(account) = account {
            by_account
                .entry((bin, account))
                .or_default()
                .push(p.beneficiary);
        }
    }
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
